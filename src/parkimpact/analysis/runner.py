"""Running an analysis configuration: stages, outputs and the manifest."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from parkimpact.analysis.config import AnalysisConfig, load_config
from parkimpact.analysis.manifest import (
    MANIFEST_NAME,
    Mismatch,
    compare_hashes,
    read_manifest,
    write_manifest,
)
from parkimpact.analysis.progress import Progress
from parkimpact.data import FirmPanel, build_panel, load_mapping
from parkimpact.data.describe import treated_contrast
from parkimpact.errors import ParkImpactWarning
from parkimpact.report import descriptive_table

__all__ = ["run_analysis", "verify_outputs", "RunResult", "OutputWriter"]

_DEFAULT_DESCRIBE = (
    "output",
    "value_added",
    "employment",
    "capital",
    "rd",
    "phd",
    "patents",
    "log_output",
)


@dataclass
class OutputWriter:
    """Writes files only inside ``root`` and remembers every file it wrote."""

    root: Path
    written: list[Path] = field(default_factory=list)

    def path(self, relative: str) -> Path:
        """A path inside the output folder (parents created)."""
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ValueError(f"outputs must stay inside {self.root}; got {relative!r}.")
        target.parent.mkdir(parents=True, exist_ok=True)
        self.written.append(target)
        return target

    def text(self, relative: str, content: str) -> Path:
        """Write UTF-8 text with LF line endings."""
        target = self.path(relative)
        target.write_text(
            content if content.endswith("\n") else content + "\n", encoding="utf-8", newline="\n"
        )
        return target

    def csv(self, relative: str, frame: pd.DataFrame) -> Path:
        """Write a CSV with floats at 10 significant digits."""
        target = self.path(relative)
        frame.to_csv(target, index=False, float_format="%.10g", lineterminator="\n")
        return target


@dataclass(frozen=True)
class RunResult:
    """What a run produced: the panel, the output folder and the files written."""

    panel: FirmPanel
    output_dir: Path
    outputs: tuple[Path, ...]
    manifest: Path


def _prepare_output(out_dir: Path) -> None:
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / MANIFEST_NAME).is_file():
            raise FileExistsError(
                f"output folder must be empty or a previous run's output; got {out_dir} with "
                "other files. Choose another --out folder."
            )
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)


def _build(config: AnalysisConfig) -> tuple[FirmPanel, dict[str, Path]]:
    data = config.section("data")
    mapping_path = config.resolve(data["mapping"])
    spec = load_mapping(mapping_path)
    inputs = {"mapping": mapping_path}
    for name in spec.files:
        path = spec.path(name)
        inputs[name] = config.resolve(path)  # type: ignore[arg-type]
    options = {k: data[k] for k in ("bad_values", "duplicates", "exits", "zeros") if k in data}
    if "logs" in data:
        options["logs"] = tuple(data["logs"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParkImpactWarning)  # everything lands in the report
        panel = build_panel(mapping=spec, **options)
    return panel, inputs


def _describe_outputs(panel: FirmPanel, config: AnalysisConfig, out: OutputWriter) -> None:
    out.text("panel_description.txt", panel.describe())
    out.csv("data/row_accounting.csv", panel.drops.accounting())
    out.csv("data/drop_summary.csv", panel.drops.counts())
    out.csv("data/dropped_rows.csv", panel.drops.to_frame())
    out.csv("data/cohorts.csv", panel.cohorts())
    wanted = config.section("describe").get("variables", _DEFAULT_DESCRIBE)
    variables = [v for v in wanted if v in panel.data.columns]
    contrast = treated_contrast(panel, variables)
    out.csv("tables/descriptive_in_vs_out.csv", contrast)
    shown = contrast.set_index("variable").rename(
        columns={
            "mean_never": "Never in a park",
            "mean_pre": "Tenants, before entry",
            "mean_post": "Tenants, after entry",
            "n_never": "N never",
            "n_pre": "N before",
            "n_post": "N after",
        }
    )
    table = descriptive_table(
        shown,
        title="Firms in and out of parks, before and after entry",
        notes=[
            "Means over firm-years; money in real terms (base-year prices).",
            "Tenants before entry: firm-years of future tenants before their entry year.",
        ],
    )
    table.save(out.path("tables/descriptive_in_vs_out.tex"))
    table.save(out.path("tables/descriptive_in_vs_out.md"))


def _figures(panel: FirmPanel, out: OutputWriter) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from parkimpact.report.plots import plot_entry_cohorts

    fig, ax = plt.subplots(figsize=(8, 4))
    plot_entry_cohorts(panel, ax=ax)
    fig.tight_layout()
    fig.savefig(out.path("figures/entry_cohorts.png"), dpi=120, metadata={"Software": None})
    plt.close(fig)


def run_analysis(
    config: AnalysisConfig | str | Path | None = None,
    *,
    output_dir: Path | None = None,
    quiet: bool = False,
) -> RunResult:
    """Run an analysis and write its outputs and ``manifest.json``.

    Parameters
    ----------
    config
        A configuration, its path, or None for ``analyses/hsinchu_style.toml``.
    output_dir
        Where to write (default: the configuration's ``[analysis] output``).
    quiet
        Suppress progress messages on stderr.
    """
    cfg = config if isinstance(config, AnalysisConfig) else load_config(config)
    out_dir = Path(output_dir).resolve() if output_dir is not None else cfg.output_dir()
    progress = Progress(4, quiet=quiet)
    progress.step("building the panel from the raw sources")
    panel, inputs = _build(cfg)
    _prepare_output(out_dir)
    out = OutputWriter(out_dir)
    progress.step("describing the panel and writing tables")
    _describe_outputs(panel, cfg, out)
    progress.step("drawing figures")
    _figures(panel, out)
    progress.step("writing the manifest")
    manifest = write_manifest(
        out_dir,
        out.written,
        config_text=cfg.source,
        config_name=cfg.name,
        project_root=cfg.root,
        seed=cfg.seed,
        inputs=inputs,
    )
    progress.close()
    return RunResult(panel, out_dir, tuple(out.written), manifest)


def verify_outputs(out_dir: Path, *, quiet: bool = True) -> list[Mismatch]:
    """Check an output folder against its manifest, then re-run its configuration.

    Returns every mismatch: files changed or missing in ``out_dir``, and outputs
    whose re-computed hash differs from the manifest. An empty list means the
    outputs are intact and reproducible.
    """
    manifest = read_manifest(out_dir)
    problems = compare_hashes(manifest["outputs"], Path(out_dir))
    root = Path(manifest["project_root"])
    if not root.is_dir():
        root = Path.cwd()
    config = load_config(text=manifest["config"], root=root)
    with tempfile.TemporaryDirectory(prefix="parkimpact-verify-") as tmp:
        rerun = run_analysis(config, output_dir=Path(tmp) / "out", quiet=quiet)
        fresh = compare_hashes(manifest["outputs"], rerun.output_dir)
    problems += [Mismatch(f"re-run: {m.path}", m.expected, m.found) for m in fresh]
    return problems
