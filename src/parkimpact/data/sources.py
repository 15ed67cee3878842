"""Turning the tenancy register, patent records and deflator tables into firm-level data.

Each function takes a source already renamed to canonical names
(:mod:`parkimpact.data.schema`) and a :class:`DropReport`, and returns its
result together with the report extended by every row it could not use.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.data.validation import check_unique_keys, examples, numeric_column, require_columns
from parkimpact.errors import (
    DataFormatError,
    DroppedRowsWarning,
    PanelNoteWarning,
    PanelStructureError,
)

__all__ = [
    "to_years",
    "tenancy_by_firm",
    "patent_outcomes",
    "deflate",
    "BadValues",
    "warn_drops",
    "warn_notes",
]

BadValues = Literal["error", "drop"]


def to_years(series: pd.Series, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Calendar years of dates given as ISO text, datetimes or integer years.

    Returns ``(years, bad)``: years as float (NaN when missing or unreadable) and
    a mask of non-empty cells that could not be read as a date or a year.
    """
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series.dt.year.to_numpy(dtype="float64", na_value=np.nan), np.zeros(
            len(series), bool
        )
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~np.isnan(values) & (values != np.round(values))
        return np.where(bad, np.nan, values), bad
    text = series.astype("string").str.strip()
    blank = text.isna() | text.eq("")
    as_year = pd.to_numeric(text.where(text.str.fullmatch(r"\d{4}", na=False)), errors="coerce")
    dates = pd.to_datetime(text.where(~blank & as_year.isna()), errors="coerce", format="ISO8601")
    years = as_year.fillna(dates.dt.year).to_numpy(dtype="float64", na_value=np.nan)
    bad = (~blank).to_numpy() & np.isnan(years)
    return years, bad


def _bad_cells(
    frame: pd.DataFrame,
    bad: np.ndarray,
    column: str,
    what: str,
    policy: BadValues,
    report: DropReport,
) -> tuple[pd.DataFrame, DropReport]:
    """Raise on unreadable cells, or drop their rows and report them."""
    if not bad.any():
        return frame, report
    if policy == "error":
        raise DataFormatError(
            f"{what} column {column!r} must hold numbers or dates; got text in {int(bad.sum())} "
            f"row(s) (e.g. {examples(frame.loc[bad, column])}). Clean the source, or pass "
            "bad_values='drop' to drop and report those rows."
        )
    report = report.record(
        what,
        "read",
        f"unreadable {column}",
        unit=frame.loc[bad, "firm_id"].to_numpy(),
        row=frame.loc[bad, "_row"].to_numpy(),
        warn=False,
    )
    return frame.loc[~bad], report


def _drop(
    frame: pd.DataFrame, mask: np.ndarray, what: str, step: str, reason: str, report: DropReport
) -> tuple[pd.DataFrame, DropReport]:
    if not mask.any():
        return frame, report
    gone = frame.loc[mask]
    time = gone["year"].to_numpy() if "year" in gone else None
    report = report.record(
        what,
        step,
        reason,
        unit=gone["firm_id"].to_numpy(),
        time=time,
        row=gone["_row"].to_numpy(),
        warn=False,
    )
    return frame.loc[~mask], report


def tenancy_by_firm(
    tenancy: pd.DataFrame, firms: pd.Index, report: DropReport, *, bad_values: BadValues = "error"
) -> tuple[pd.DataFrame, DropReport, list[str]]:
    """Entry cohort, park and exit year of each firm from its park spells.

    The first spell's entry year defines the cohort and its park the firm's park.
    Spells chain into one continuous tenancy when the next spell starts no later
    than the year after the previous one ended (moves between parks included);
    ``exit_year`` is the end of that first continuous tenancy (NaN while open).
    Spells after a break (re-entries) do not change the treatment and are noted.

    Returns ``(firm_table, report, notes)`` with ``firm_table`` indexed by
    ``firm_id`` and columns ``park``, ``entry_year``, ``exit_year``.
    """
    require_columns(tenancy, ["firm_id", "park", "entry_date"], "tenancy")
    frame = tenancy.assign(_row=np.arange(len(tenancy), dtype="float64"))
    if "exit_date" not in frame:
        frame["exit_date"] = np.nan
    report = report.with_rows_in("tenancy", len(frame))
    for col, out in (("entry_date", "entry_year"), ("exit_date", "exit_year")):
        years, bad = to_years(frame[col], "tenancy")
        frame[out] = years
        frame, report = _bad_cells(frame, bad, col, "tenancy", bad_values, report)
    frame, report = _drop(
        frame, frame["firm_id"].isna().to_numpy(), "tenancy", "tenancy", "missing firm_id", report
    )
    frame, report = _drop(
        frame,
        ~frame["firm_id"].isin(firms).to_numpy(),
        "tenancy",
        "tenancy",
        "firm not in financials",
        report,
    )
    frame, report = _drop(
        frame,
        np.isnan(frame["entry_year"].to_numpy()),
        "tenancy",
        "tenancy",
        "missing entry date",
        report,
    )
    frame, report = _drop(
        frame, frame["park"].isna().to_numpy(), "tenancy", "tenancy", "missing park", report
    )
    backwards = (frame["exit_year"] < frame["entry_year"]).to_numpy()
    if backwards.any():
        raise PanelStructureError(
            f"tenancy exit_date must be on or after entry_date; got entry after exit in "
            f"{int(backwards.sum())} spell(s) of "
            f"{frame.loc[backwards, 'firm_id'].nunique()} firm(s) "
            f"(e.g. firm {examples(frame.loc[backwards, 'firm_id'])}). Correct the register."
        )
    report = report.with_kept("tenancy", len(frame))
    firm_table, notes = _chain_spells(frame)
    return firm_table, report, notes


def _chain_spells(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    spells = frame.sort_values(["firm_id", "entry_year", "exit_year"], kind="stable")
    by_firm = spells.groupby("firm_id", sort=False)
    prev_exit = by_firm["exit_year"].shift()
    first = by_firm.cumcount().to_numpy() == 0
    prev_open = prev_exit.isna().to_numpy() & ~first
    continues = first | prev_open | (spells["entry_year"].to_numpy() <= prev_exit.to_numpy() + 1)
    in_first = pd.Series(continues, index=spells.index).groupby(spells["firm_id"]).cummin()
    chain = spells.loc[in_first.to_numpy()]
    grouped = chain.groupby("firm_id", sort=True)
    open_ = chain["exit_year"].isna().groupby(chain["firm_id"], sort=True).any()
    table = pd.DataFrame(
        {
            "park": grouped["park"].first(),
            "entry_year": grouped["entry_year"].first(),
            "exit_year": grouped["exit_year"].max().where(~open_),
        }
    )
    moves = int((grouped["park"].nunique() > 1).sum())
    reentries = int(spells.loc[~in_first.to_numpy(), "firm_id"].nunique())
    return table, tenancy_notes(moves, reentries)


def tenancy_notes(moves: int, reentries: int) -> list[str]:
    """Notes on firms that moved between parks or re-entered (both build engines)."""
    notes = []
    if moves:
        notes.append(f"{moves} firm(s) moved between parks within one continuous tenancy")
    if reentries:
        notes.append(
            f"{reentries} firm(s) re-entered a park after leaving; the first tenancy defines "
            "entry and exit"
        )
    return notes


def patent_outcomes(
    patents: pd.DataFrame,
    keys: pd.DataFrame,
    report: DropReport,
    *,
    bad_values: BadValues = "error",
) -> tuple[pd.DataFrame, DropReport, list[str]]:
    """Firm-year patent counts from one row per patent, zero-filled on ``keys``.

    Outcomes: ``patents`` (applications filed in the year), ``citations`` (their
    forward citations), ``patents_cw`` (citation-weighted count
    :math:`\\sum_j (1 + c_j)`, Trajtenberg 1990) and ``claims`` when given.
    Patents of firms not in the financials, without a date, or filed in a year
    with no firm-year row are dropped and reported.
    """
    require_columns(patents, ["firm_id", "application_date"], "patents")
    frame = patents.assign(_row=np.arange(len(patents), dtype="float64"))
    report = report.with_rows_in("patents", len(frame))
    years, bad = to_years(frame["application_date"], "patents")
    frame["year"] = years
    frame, report = _bad_cells(frame, bad, "application_date", "patents", bad_values, report)
    notes: list[str] = []
    for col in ("forward_citations", "claims"):
        if col not in frame:
            continue
        values, bad = numeric_column(frame, col, "patents")
        frame[col] = values
        frame, report = _bad_cells(frame, bad, col, "patents", bad_values, report)
        n_missing = int(frame[col].isna().sum())
        if n_missing:
            notes.append(f"{n_missing} patent(s) without {col}; counted as 0")
    frame, report = _drop(
        frame, frame["firm_id"].isna().to_numpy(), "patents", "patents", "missing firm_id", report
    )
    known = frame["firm_id"].isin(keys["firm_id"]).to_numpy()
    frame, report = _drop(frame, ~known, "patents", "patents", "firm not in financials", report)
    frame, report = _drop(
        frame,
        np.isnan(frame["year"].to_numpy()),
        "patents",
        "patents",
        "missing application date",
        report,
    )
    matched = pd.MultiIndex.from_frame(frame[["firm_id", "year"]].astype({"year": "int64"}))
    inside = matched.isin(pd.MultiIndex.from_frame(keys[["firm_id", "year"]]))
    frame, report = _drop(
        frame,
        ~inside,
        "patents",
        "patents",
        "no panel row for the firm in the filing year (outside its years, or that row was dropped)",
        report,
    )
    report = report.with_kept("patents", len(frame))
    frame = frame.assign(
        year=frame["year"].astype("int64"),
        patents=1.0,
        citations=frame.get("forward_citations", pd.Series(0.0, index=frame.index)).fillna(0.0),
    )
    frame["patents_cw"] = 1.0 + frame["citations"]
    outcomes = ["patents", "citations", "patents_cw"] + (["claims"] if "claims" in frame else [])
    if "claims" in frame:
        frame["claims"] = frame["claims"].fillna(0.0)
    sums = frame.groupby(["firm_id", "year"], sort=False)[outcomes].sum()
    out = keys[["firm_id", "year"]].merge(sums.reset_index(), on=["firm_id", "year"], how="left")
    out[outcomes] = out[outcomes].fillna(0.0)
    return out, report, notes


def deflate(
    frame: pd.DataFrame,
    deflators: pd.DataFrame,
    deflate_map: Mapping[str, str],
    money: Sequence[str],
    report: DropReport,
    *,
    index_base: float = 100.0,
) -> tuple[pd.DataFrame, DropReport]:
    """Nominal to real: ``x_real = x / (P / index_base)`` with ``P`` matched on year (x industry).

    ``deflate_map`` maps a money column to its price-index column. An empty map
    with a single index column deflates every money column present by it.
    Financial rows without a matching index are dropped and reported.
    """
    require_columns(deflators, ["year"], "deflators")
    keys = ["year", "industry"] if "industry" in deflators.columns else ["year"]
    index_cols = [c for c in deflators.columns if c not in keys]
    if not deflate_map:
        if len(index_cols) != 1:
            raise ValueError(
                "deflate must name the index of each money variable when the deflator table has "
                f"several indices; got indices {index_cols} and no [deflate] mapping. Add one."
            )
        deflate_map = {col: index_cols[0] for col in money if col in frame}
    missing = sorted({v for v in deflate_map.values() if v not in deflators.columns})
    if missing:
        raise DataFormatError(
            f"deflators must have the price-index column(s) {missing} named in [deflate]; got "
            f"columns {list(deflators.columns)}. Fix the mapping."
        )
    table = deflators[keys + sorted(set(deflate_map.values()))].copy()
    table["year"] = numeric_column(table, "year", "deflators")[0]
    check_unique_keys(table, keys, "deflators")
    for col in sorted(set(deflate_map.values())):
        values, bad = numeric_column(table, col, "deflators")
        if bad.any() or (values <= 0).any() or np.isnan(values).any():
            raise DataFormatError(
                f"deflators column {col!r} must hold positive numbers; got "
                f"{int(bad.sum() + (values <= 0).sum() + np.isnan(values).sum())} bad value(s). "
                "Fill or correct the price index."
            )
        table[col] = values / index_base
    merged = frame.merge(table, on=keys, how="left", suffixes=("", "_price"))
    needed = sorted(set(deflate_map.values()))
    unmatched = merged[[c if c not in frame else f"{c}_price" for c in needed]].isna().any(axis=1)
    merged, report = _drop(
        merged,
        unmatched.to_numpy(),
        "financials",
        "deflate",
        f"no price index for the row's {' x '.join(keys)}",
        report,
    )
    for var, col in deflate_map.items():
        if var in merged:
            idx = f"{col}_price" if col in frame else col
            merged[var] = merged[var] / merged[idx]
    drop_cols = [c if c not in frame else f"{c}_price" for c in needed]
    return merged.drop(columns=drop_cols), report


def warn_notes(notes: Sequence[str]) -> None:
    """Issue each note as a :class:`PanelNoteWarning`."""
    for note in notes:
        warnings.warn(note, PanelNoteWarning, stacklevel=3)


def warn_drops(report: DropReport) -> None:
    """One :class:`DroppedRowsWarning` summarising a report's rows by source."""
    if not len(report):
        return
    by_source = report.frame.groupby("source", sort=False).size()
    parts = ", ".join(f"{src} {n}" for src, n in by_source.items())
    warnings.warn(
        f"{len(report)} source row(s) dropped while building the panel ({parts}); "
        "see panel.drops.summary() for the reasons and panel.drops.to_frame() for the rows.",
        DroppedRowsWarning,
        stacklevel=3,
    )
