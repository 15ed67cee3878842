"""`build_panel`: raw firm financials, tenancy register and patents to a `FirmPanel`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.data.duckdb_engine import DuckDBEngine, PanelFile
from parkimpact.data.io import ColumnMapping, apply_mapping, load_mapping, read_table
from parkimpact.data.panel import ExitPolicy, FirmPanel, ZeroPolicy
from parkimpact.data.rd_capital import perpetual_inventory
from parkimpact.data.schema import DEFAULT_LOGS, FINANCIAL_MONEY, PATENT_OUTCOMES
from parkimpact.data.sources import (
    BadValues,
    deflate,
    patent_outcomes,
    tenancy_by_firm,
    warn_drops,
    warn_notes,
)
from parkimpact.data.validation import (
    check_unique_keys,
    examples,
    integer_years,
    numeric_column,
    require_columns,
)
from parkimpact.errors import DataFormatError

__all__ = ["build_panel", "load_sources", "Source", "Engine"]

Source = pd.DataFrame | str | Path
#: Engines of :func:`build_panel`: pandas in memory, or DuckDB out of core.
Engine = Literal["pandas", "duckdb"]
_ENGINES = ("pandas", "duckdb")
_TEXT_COLUMNS = ("firm_id", "industry")
_PANEL_ORDER = (
    "firm_id",
    "year",
    "industry",
    "park",
    "entry_year",
    "exit_year",
    "founded",
    "age",
    "founder_female",
    "founder_birth_year",
    *FINANCIAL_MONEY,
    "employment",
    "phd",
    "rd_capital",
    *PATENT_OUTCOMES,
)


def load_sources(
    mapping: ColumnMapping | Mapping[str, Any] | str | Path,
) -> dict[str, pd.DataFrame]:
    """Read every source file named in the mapping's ``[files]`` section."""
    spec = load_mapping(mapping)
    return {name: read_table(spec.path(name)) for name in spec.files}  # type: ignore[arg-type]


def _frame(source: Source | None, name: str, spec: ColumnMapping) -> pd.DataFrame | None:
    if source is None:
        path = spec.path(name)
        return None if path is None else read_table(path)
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, str | Path):
        return read_table(source)
    raise TypeError(f"{name} must be a DataFrame or a file path; got {type(source).__name__}.")


@overload
def build_panel(
    financials: Source | None = ...,
    tenancy: Source | None = ...,
    patents: Source | None = ...,
    deflators: Source | None = ...,
    *,
    mapping: ColumnMapping | Mapping[str, Any] | str | Path | None = ...,
    logs: Sequence[str] = ...,
    zeros: ZeroPolicy = ...,
    bad_values: BadValues = ...,
    duplicates: Literal["error", "drop"] = ...,
    exits: ExitPolicy = ...,
    rd_depreciation: float | None = ...,
    rd_growth: float | None = ...,
    index_base: float | None = ...,
    engine: Engine | DuckDBEngine = ...,
    output: None = ...,
) -> FirmPanel: ...


@overload
def build_panel(
    financials: Source | None = ...,
    tenancy: Source | None = ...,
    patents: Source | None = ...,
    deflators: Source | None = ...,
    *,
    mapping: ColumnMapping | Mapping[str, Any] | str | Path | None = ...,
    logs: Sequence[str] = ...,
    zeros: ZeroPolicy = ...,
    bad_values: BadValues = ...,
    duplicates: Literal["error", "drop"] = ...,
    exits: ExitPolicy = ...,
    rd_depreciation: float | None = ...,
    rd_growth: float | None = ...,
    index_base: float | None = ...,
    engine: Engine | DuckDBEngine = ...,
    output: str | Path,
) -> PanelFile: ...


def build_panel(
    financials: Source | None = None,
    tenancy: Source | None = None,
    patents: Source | None = None,
    deflators: Source | None = None,
    *,
    mapping: ColumnMapping | Mapping[str, Any] | str | Path | None = None,
    logs: Sequence[str] = DEFAULT_LOGS,
    zeros: ZeroPolicy = "error",
    bad_values: BadValues = "error",
    duplicates: Literal["error", "drop"] = "error",
    exits: ExitPolicy = "error",
    rd_depreciation: float | None = None,
    rd_growth: float | None = None,
    index_base: float | None = None,
    engine: Engine | DuckDBEngine = "pandas",
    output: str | Path | None = None,
) -> FirmPanel | PanelFile:
    """Build a firm-year :class:`~parkimpact.FirmPanel` from raw sources.

    Parameters
    ----------
    financials
        Firm-year rows (DataFrame or path to CSV/Parquet/``.dta``/Excel). When
        None, the file named in the mapping's ``[files]`` section is read. The
        DuckDB engine also takes a folder of Parquet or CSV part files
        (hive-style or not) or a glob such as ``"fin/*.parquet"``.
    tenancy
        Park register, one row per firm-park spell; defines ``entry_year``
        (first entry), ``park`` and ``exit_year``. Without it no firm is treated.
    patents
        One row per patent; gives zero-filled firm-year ``patents``,
        ``citations``, ``patents_cw`` and ``claims``.
    deflators
        Price indices by year (x industry); the mapping's ``[deflate]`` section
        says which index deflates which money variable: ``x / (P / index_base)``.
    mapping
        Canonical-to-source column names per source (dict or TOML file; see
        :mod:`parkimpact.data.schema`). An empty section means canonical names.
    logs
        Variables to add as ``log_<name>``; ``zeros`` says what to do with
        non-positive values (``"error"``, ``"drop"`` reported, ``"nan"``).
    bad_values
        Text in a numeric or date column: ``"error"`` (default) raises naming the
        column and count, ``"drop"`` drops and reports the rows.
    duplicates
        Repeated firm-years: ``"error"`` raises, ``"drop"`` keeps the first and
        reports the others.
    exits
        Treatment-reversal policy passed to :class:`~parkimpact.FirmPanel`.
    rd_depreciation, rd_growth
        Perpetual-inventory settings for ``rd_capital`` (defaults 0.15 and 0.05,
        or the mapping's ``[options]``).
    index_base
        Value of the price indices in their base year (default 100).
    engine
        ``"pandas"`` (default) builds in memory. ``"duckdb"`` (or a
        :class:`~parkimpact.data.DuckDBEngine` with a memory limit, scratch
        folder and threads) runs the relational steps out of core in DuckDB
        and gives the same panel, drop report, notes, warnings and errors. It
        needs the ``big`` extra (``pip install 'parkimpact[big]'``).
    output
        With ``engine="duckdb"``: write the panel to this Parquet file instead
        of building it in memory and return a
        :class:`~parkimpact.data.PanelFile` (read columns with
        ``.read(columns)`` or ``.to_panel(columns)``).

    Returns
    -------
    FirmPanel or PanelFile
        Roles ``unit="firm_id"``, ``time="year"``, ``entry="entry_year"``,
        ``exit="exit_year"``, ``park="park"``, ``industry="industry"``. Its drop
        report accounts for every row of every source:
        rows in = rows kept + rows reported. A :class:`PanelFile` when
        ``output`` is given.
    """
    spec = load_mapping(mapping)
    base, delta, growth = _settings(spec, index_base, rd_depreciation, rd_growth)
    for name, value in (("bad_values", bad_values), ("duplicates", duplicates)):
        if value not in ("error", "drop"):
            raise ValueError(
                f"The '{name}' parameter of build_panel must be one of ('error', 'drop'). "
                f"Got {value!r} instead."
            )
    duck = _duckdb_engine(engine, output, zeros, exits)
    sources = dict(financials=financials, tenancy=tenancy, patents=patents, deflators=deflators)
    if duck is None:
        frame, report, notes = _pandas_frame(
            spec, sources, bad_values, duplicates, base, delta, growth
        )
    else:
        from parkimpact.data.duckdb_engine import build_with_duckdb

        built = build_with_duckdb(
            sources,
            spec,
            engine=duck,
            bad_values=bad_values,
            duplicates=duplicates,
            index_base=base,
            delta=delta,
            growth=growth,
            output=output,
            logs=logs,
            zeros=zeros,
            exits=exits,
            default_logs=DEFAULT_LOGS,
        )
        if isinstance(built, PanelFile):
            return built
        frame, report, notes = built
    report = report.with_kept("financials", len(frame))
    warn_notes(notes)
    warn_drops(report)
    panel = FirmPanel(
        frame.drop(columns="_row", errors="ignore"),
        unit="firm_id",
        time="year",
        entry="entry_year",
        exit="exit_year",
        park="park",
        industry="industry" if "industry" in frame else None,
        exits=exits,
        drops=report,
        notes=notes,
    )
    present = [c for c in logs if c in panel.data.columns]
    absent = [c for c in logs if c not in present]
    if absent and tuple(logs) != DEFAULT_LOGS:
        raise DataFormatError(
            f"logs must name panel columns; got {absent} that the sources do not provide. "
            "Map them in [financials] or leave them out of logs."
        )
    return panel.log(present, zeros=zeros) if present else panel


def _duckdb_engine(
    engine: object, output: str | Path | None, zeros: str, exits: str
) -> DuckDBEngine | None:
    """The DuckDB settings for ``engine`` (None for pandas); checks ``output`` and policies."""
    if isinstance(engine, DuckDBEngine):
        chosen: DuckDBEngine | None = engine
    elif isinstance(engine, str) and engine in _ENGINES:
        chosen = DuckDBEngine() if engine == "duckdb" else None
    else:
        raise ValueError(
            f"The 'engine' parameter of build_panel must be one of {_ENGINES} or a DuckDBEngine. "
            f"Got {engine!r} instead."
        )
    if chosen is None and output is not None:
        raise ValueError(
            f"output needs engine='duckdb'; got output={str(output)!r} with engine='pandas'. "
            "Pass engine='duckdb', or build in memory and save panel.data yourself."
        )
    if output is not None:
        for name, value, allowed, owner in (
            ("zeros", zeros, ("error", "drop", "nan"), "log"),
            ("exits", exits, ("error", "censor", "keep_treated"), "FirmPanel"),
        ):
            if value not in allowed:
                raise ValueError(
                    f"The '{name}' parameter of {owner} must be one of {allowed}. "
                    f"Got {value!r} instead."
                )
    if chosen is not None:
        from parkimpact.data.duckdb_engine import require_duckdb

        require_duckdb()
    return chosen


def _pandas_frame(
    spec: ColumnMapping,
    sources: Mapping[str, Source | None],
    bad_values: BadValues,
    duplicates: str,
    index_base: float,
    delta: float,
    growth: float,
) -> tuple[pd.DataFrame, DropReport, list[str]]:
    """The panel's rows, drop report and notes built in memory with pandas."""
    financials, tenancy = sources["financials"], sources["tenancy"]
    patents, deflators = sources["patents"], sources["deflators"]
    raw = _frame(financials, "financials", spec)
    if raw is None:
        raise ValueError(
            "financials must be given as a DataFrame or path, or named in the mapping's [files] "
            "section; got neither."
        )
    frame, report = _clean_financials(
        apply_mapping(raw, spec.financials, "financials"), bad_values, duplicates
    )
    notes: list[str] = []
    defl = _frame(deflators, "deflators", spec)
    if defl is not None:
        defl = apply_mapping(defl, spec.deflators, "deflators", keep_unmapped=True)
        frame, report = deflate(
            frame, defl, spec.deflate, FINANCIAL_MONEY, report, index_base=index_base
        )
    elif spec.deflate:
        raise ValueError(
            "deflators must be given when the mapping has a [deflate] section; got none. "
            "Pass deflators=... or name the file in [files]."
        )
    frame, report = _add_firm_columns(frame, spec, tenancy, patents, bad_values, report, notes)
    if "rd" in frame and "rd_capital" not in frame:  # a mapped stock is kept as given
        frame["rd_capital"] = perpetual_inventory(
            frame["firm_id"], frame["year"], frame["rd"], depreciation=delta, growth=growth
        )
        frame = frame[_ordered(frame.columns)]
    return frame, report, notes


def _settings(
    spec: ColumnMapping,
    index_base: float | None,
    rd_depreciation: float | None,
    rd_growth: float | None,
) -> tuple[float, float, float]:
    """Index base and perpetual-inventory settings: arguments win over [options]."""
    opts = dict(spec.options)
    chosen = (
        index_base if index_base is not None else opts.get("index_base", 100.0),
        rd_depreciation if rd_depreciation is not None else opts.get("rd_depreciation", 0.15),
        rd_growth if rd_growth is not None else opts.get("rd_growth", 0.05),
    )
    return float(chosen[0]), float(chosen[1]), float(chosen[2])


def _clean_financials(
    frame: pd.DataFrame, bad_values: BadValues, duplicates: str
) -> tuple[pd.DataFrame, DropReport]:
    require_columns(frame, ["firm_id", "year"], "financials")
    report = DropReport().with_rows_in("financials", len(frame))
    frame = frame.assign(_row=np.arange(len(frame), dtype="float64"))
    missing_key = frame["firm_id"].isna().to_numpy() | frame["year"].isna().to_numpy()
    if missing_key.any():
        gone = frame.loc[missing_key]
        report = report.record(
            "financials",
            "read",
            "missing firm_id or year",
            unit=gone["firm_id"].to_numpy(),
            row=gone["_row"].to_numpy(),
            warn=False,
        )
        frame = frame.loc[~missing_key]
    numeric = [c for c in frame.columns if c not in _TEXT_COLUMNS and c != "_row"]
    for col in numeric:
        values, bad = numeric_column(frame, col, "financials")
        if bad.any() and bad_values == "error":
            raise DataFormatError(
                f"financials column {col!r} must be numeric; got text in {int(bad.sum())} row(s) "
                f"(e.g. {examples(frame.loc[bad, col])}). Clean the source (e.g. remove thousands "
                "separators), or pass bad_values='drop' to drop and report those rows."
            )
        if bad.any():
            gone = frame.loc[bad]
            report = report.record(
                "financials",
                "read",
                f"text in numeric column {col}",
                unit=gone["firm_id"].to_numpy(),
                row=gone["_row"].to_numpy(),
                warn=False,
            )
        frame = frame.loc[~bad].assign(**{col: values[~bad]})
    frame["year"] = integer_years(frame, "year", "financials")
    frame, report = _financial_duplicates(frame, duplicates, report)
    return frame.sort_values(["firm_id", "year"], kind="stable"), report


def _financial_duplicates(
    frame: pd.DataFrame, policy: str, report: DropReport
) -> tuple[pd.DataFrame, DropReport]:
    if policy == "error":
        check_unique_keys(frame, ["firm_id", "year"], "financials")
        return frame, report
    dup = frame.duplicated(["firm_id", "year"], keep="first").to_numpy()
    if dup.any():
        gone = frame.loc[dup]
        report = report.record(
            "financials",
            "duplicates",
            "repeated firm-year (kept the first)",
            unit=gone["firm_id"].to_numpy(),
            time=gone["year"].to_numpy(),
            row=gone["_row"].to_numpy(),
            warn=False,
        )
    return frame.loc[~dup], report


def _add_firm_columns(
    frame: pd.DataFrame,
    spec: ColumnMapping,
    tenancy: Source | None,
    patents: Source | None,
    bad_values: BadValues,
    report: DropReport,
    notes: list[str],
) -> tuple[pd.DataFrame, DropReport]:
    """Attach tenancy, patents and age; ``notes`` is extended in place."""
    firms = pd.Index(frame["firm_id"].unique())
    ten = _frame(tenancy, "tenancy", spec)
    if ten is not None:
        table, report, ten_notes = tenancy_by_firm(
            apply_mapping(ten, spec.tenancy, "tenancy"), firms, report, bad_values=bad_values
        )
        notes += ten_notes
        frame = frame.merge(table, left_on="firm_id", right_index=True, how="left")
    else:
        frame = frame.assign(
            park=pd.Series(pd.NA, index=frame.index, dtype="str"),
            entry_year=np.nan,
            exit_year=np.nan,
        )
    pat = _frame(patents, "patents", spec)
    if pat is not None:
        counts, report, pat_notes = patent_outcomes(
            apply_mapping(pat, spec.patents, "patents"),
            frame[["firm_id", "year"]],
            report,
            bad_values=bad_values,
        )
        notes += pat_notes
        frame = frame.merge(counts, on=["firm_id", "year"], how="left")
    if "founded" in frame:
        frame["age"] = frame["year"] - frame["founded"]
    return frame[_ordered(frame.columns)].reset_index(drop=True), report


def _ordered(columns: pd.Index) -> list[str]:
    """Columns in the panel's canonical order, unknown ones last in their own order."""
    return [c for c in _PANEL_ORDER if c in columns] + [c for c in columns if c not in _PANEL_ORDER]
