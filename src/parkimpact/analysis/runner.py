"""Running an analysis configuration: stages, outputs and the manifest."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from parkimpact.analysis.config import AnalysisConfig, load_config
from parkimpact.analysis.kinds import get_kind
from parkimpact.analysis.manifest import (
    MANIFEST_NAME,
    Mismatch,
    compare_hashes,
    read_manifest,
    run_record,
    write_manifest,
)
from parkimpact.analysis.outputs import OutputWriter
from parkimpact.analysis.progress import Progress
from parkimpact.data import FirmPanel

__all__ = ["run_analysis", "verify_outputs", "RunResult"]


@dataclass(frozen=True)
class RunResult:
    """What a run produced: its summary, panel (if any), output folder and files."""

    summary: str
    panel: FirmPanel | None
    output_dir: Path
    outputs: tuple[Path, ...]
    manifest: Path


def _replace_output(partial: Path, out_dir: Path) -> None:
    """Move a finished run into place; refuse to overwrite a folder that is not an output."""
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / MANIFEST_NAME).is_file():
            shutil.rmtree(partial)
            raise FileExistsError(
                f"output folder must be empty or a previous run's output; got {out_dir} with "
                "other files. Choose another --out folder."
            )
        shutil.rmtree(out_dir)
    elif out_dir.exists():
        out_dir.rmdir()
    partial.rename(out_dir)


def _write_report(partial: Path, out: OutputWriter, record: dict) -> None:
    """Build the HTML/Markdown report from the files written so far (never refits)."""
    from parkimpact.report import build_report

    paths = build_report(partial, run_info=record)
    for path in paths.files:
        out.path(path.relative_to(partial).as_posix())


def run_analysis(
    config: AnalysisConfig | str | Path | None = None,
    *,
    output_dir: Path | None = None,
    quiet: bool = False,
) -> RunResult:
    """Run an analysis and write its outputs and ``manifest.json``.

    Outputs are written to a sibling ``<output>.partial`` folder and moved into
    place only when the run succeeds, so a failed run never destroys the outputs
    of the previous one.

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
    kind = get_kind(cfg.kind)
    out_dir = Path(output_dir).resolve() if output_dir is not None else cfg.output_dir()
    partial = out_dir.with_name(out_dir.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    progress = Progress(kind.steps + 1 + int(kind.report), quiet=quiet)
    try:
        out = OutputWriter(partial)
        outcome = kind.run(cfg, out, progress)
        record = run_record(
            config_text=cfg.source,
            config_name=cfg.name,
            project_root=cfg.root,
            seed=cfg.seed,
            inputs=outcome.inputs,
        )
        if kind.report:
            progress.step("writing the report")
            _write_report(partial, out, record)
        progress.step("writing the manifest")
        write_manifest(partial, out.written, record)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _replace_output(partial, out_dir)
    progress.close()
    outputs = tuple(out_dir / p.relative_to(partial) for p in out.written)
    return RunResult(outcome.summary, outcome.panel, out_dir, outputs, out_dir / MANIFEST_NAME)


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
