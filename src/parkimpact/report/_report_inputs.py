"""Reading the files an analysis run wrote, for the run report.

The report is built only from these files: nothing is estimated again. Each
known file is optional (a section without its file says so in the report),
but a file that is present must have the columns its writer promises; a file
that does not is a broken output and raises :class:`ReportInputError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from parkimpact.errors import ParkImpactError
from parkimpact.report.tidy import KPI_COLUMNS

__all__ = [
    "ReportInputError",
    "MissingOutputsError",
    "CSV_FILES",
    "TEXT_FILES",
    "RunOutputs",
    "read_outputs",
    "sha256_bytes",
]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MANIFEST = "manifest.json"
_PARTIAL = ".partial"

#: Every CSV file the report reads: key -> (path in the output folder, required columns).
CSV_FILES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "headline": ("tables/headline.csv", ("outcome", "estimand", "estimate")),
    "estimates": ("study/estimates.csv", ("outcome", "estimand", "estimate")),
    "tidy": ("study/tidy.csv", ("term", "estimate", "std_error")),
    "event_study": ("tables/event_study.csv", ("outcome", "event_time", "estimate")),
    "contrasts": ("tables/contrasts.csv", ("outcome", "design", "estimate", "std_error")),
    "descriptive": ("tables/descriptive_in_vs_out.csv", ("variable",)),
    "row_accounting": (
        "data/row_accounting.csv",
        ("source", "rows_in", "rows_kept", "rows_dropped"),
    ),
    "drop_summary": ("data/drop_summary.csv", ("source", "step", "reason", "rows")),
    "study_drops": ("study/drop_summary.csv", ("source", "step", "reason", "rows")),
    "dropped_rows": ("data/dropped_rows.csv", ("source", "step", "reason")),
    "cohorts": ("data/cohorts.csv", ("cohort", "n_firms", "n_obs")),
    "kpis": ("scorecard/kpis.csv", KPI_COLUMNS),
    "definitions": ("scorecard/definitions.csv", ("kpi", "version", "formula", "unit", "source")),
    "survival_curves": (
        "scorecard/survival_curves.csv",
        ("park", "cohort", "group", "time", "survival", "conf_low", "conf_high", "at_risk"),
    ),
    "survival_model": (
        "scorecard/survival_model.csv",
        ("term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"),
    ),
    "truth_check": (
        "scorecard/truth_check.csv",
        ("kpi", "park", "estimate", "conf_low", "conf_high", "truth", "inside"),
    ),
}

#: Text files the report reads: key -> path in the output folder.
TEXT_FILES: Mapping[str, str] = {
    "summary": "study/summary.txt",
    "panel": "panel_description.txt",
}


class ReportInputError(ParkImpactError, ValueError):
    """An output file the report reads is present but cannot be used as written."""


class MissingOutputsError(ReportInputError, FileNotFoundError):
    """The output folder is missing or holds none of the files the report reads."""


def sha256_bytes(data: bytes) -> str:
    """SHA-256 of ``data`` as hex digits."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class RunOutputs:
    """The files of one output folder that the report uses.

    Attributes
    ----------
    root : Path
        The output folder.
    name : str
        Name of the analysis (from the run information, else the folder name).
    frames : Mapping[str, pandas.DataFrame]
        CSV files by key of :data:`CSV_FILES` (only those present).
    texts : Mapping[str, str]
        Text files by key of :data:`TEXT_FILES` (only those present).
    figures : Mapping[str, bytes]
        PNG files under ``figures/`` by path relative to ``root``, sorted.
    run_info : Mapping[str, Any]
        The manifest (or the mapping given in its place); empty without one.
    sources : tuple of (str, str)
        Every file read, as (path relative to ``root``, SHA-256), sorted.
    """

    root: Path
    name: str
    frames: Mapping[str, pd.DataFrame]
    texts: Mapping[str, str]
    figures: Mapping[str, bytes]
    run_info: Mapping[str, Any]
    sources: tuple[tuple[str, str], ...]

    def frame(self, key: str) -> pd.DataFrame | None:
        """The frame of ``key`` or None when its file is absent."""
        return self.frames.get(key)

    def figure(self, relative: str) -> bytes | None:
        """The bytes of a figure or None when it is absent."""
        return self.figures.get(relative)

    @property
    def simulated(self) -> bool:
        """True when any table carries the simulator's truth."""
        for key in ("headline", "estimates", "truth_check"):
            frame = self.frames.get(key)
            if frame is not None and "truth" in frame and frame["truth"].notna().any():
                return True
        return False


def _read_csv(path: Path, relative: str, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ReportInputError(
            f"{relative} must be a CSV file with a header row; got a file that cannot be "
            f"parsed ({exc}). Re-run the analysis to rewrite it."
        ) from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ReportInputError(
            f"{relative} must have the columns {list(required)}; got {len(missing)} missing: "
            f"{missing}. Re-run the analysis, or fix the program that wrote the file."
        )
    return frame


def _read_run_info(root: Path, run_info: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if run_info is not None:
        return run_info
    path = root / _MANIFEST
    if not path.is_file():
        return {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportInputError(
            f"{_MANIFEST} must be valid JSON; got an error at line {exc.lineno} in {path}. "
            "Re-run the analysis to rewrite it."
        ) from exc
    if not isinstance(loaded, dict):
        raise ReportInputError(
            f"{_MANIFEST} must hold a JSON object; got {type(loaded).__name__} in {path}."
        )
    return loaded


def _analysis_name(root: Path, run_info: Mapping[str, Any]) -> str:
    name = run_info.get("analysis")
    if isinstance(name, str) and name:
        return name
    folder = root.name
    return folder[: -len(_PARTIAL)] if folder.endswith(_PARTIAL) else folder


def _expected_files() -> str:
    paths = [p for p, _ in CSV_FILES.values()] + list(TEXT_FILES.values())
    return ", ".join(sorted(paths)) + ", figures/*.png"


def read_outputs(output_dir: Path, run_info: Mapping[str, Any] | None = None) -> RunOutputs:
    """Read every file the report uses from ``output_dir``.

    Parameters
    ----------
    output_dir : Path
        An analysis output folder (or its ``.partial`` staging folder).
    run_info : Mapping or None
        Manifest-shaped run information (``analysis``, ``seed``, ``config``,
        ``environment``, ``inputs``); None reads ``manifest.json`` if present.

    Returns
    -------
    RunOutputs
        The files found.

    Raises
    ------
    MissingOutputsError
        If ``output_dir`` is not a folder or holds none of the files read.
    ReportInputError
        If a present file lacks the columns its writer promises.
    """
    root = Path(output_dir)
    if not root.is_dir():
        raise MissingOutputsError(
            f"output_dir must be an existing analysis output folder; got {root}, which "
            f"{'is a file' if root.exists() else 'does not exist'}. "
            "Run 'parkimpact run' first, or pass the folder it wrote."
        )
    frames: dict[str, pd.DataFrame] = {}
    texts: dict[str, str] = {}
    sources: dict[str, str] = {}
    for key, (relative, required) in CSV_FILES.items():
        path = root / relative
        if path.is_file():
            frames[key] = _read_csv(path, relative, required)
            sources[relative] = sha256_bytes(path.read_bytes())
    for key, relative in TEXT_FILES.items():
        path = root / relative
        if path.is_file():
            raw = path.read_bytes()
            texts[key] = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
            sources[relative] = sha256_bytes(raw)
    figures: dict[str, bytes] = {}
    for path in sorted((root / "figures").glob("*.png")):
        raw = path.read_bytes()
        if raw.startswith(_PNG_SIGNATURE):
            relative = path.relative_to(root).as_posix()
            figures[relative] = raw
            sources[relative] = sha256_bytes(raw)
    if not sources:
        raise MissingOutputsError(
            f"output_dir must hold at least one analysis output; got none of the expected "
            f"files in {root} (looked for {_expected_files()}). Point the report at a folder "
            "written by 'parkimpact run'."
        )
    info = _read_run_info(root, run_info)
    return RunOutputs(
        root=root,
        name=_analysis_name(root, info),
        frames=frames,
        texts=texts,
        figures=figures,
        run_info=info,
        sources=tuple(sorted(sources.items())),
    )
