"""Financials in DuckDB: bad cells, integer years, duplicate firm-years and deflation.

Mirrors ``_clean_financials`` and :func:`parkimpact.data.sources.deflate` of
the pandas engine step by step: the same checks in the same order, the same
error messages, and the same drop-report rows (source, step, reason, keys, row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from parkimpact.data._duckdb_parse import Parsed, parse_id, parse_number, raw_missing, ref
from parkimpact.data._duckdb_read import Session, Table, quote
from parkimpact.data.drops import DropReport
from parkimpact.data.schema import FINANCIAL_MONEY
from parkimpact.data.sources import deflate
from parkimpact.data.validation import examples, numeric_column
from parkimpact.errors import DataFormatError, PanelStructureError

__all__ = ["Financials", "clean_financials", "deflate_financials", "record_rows", "units"]

_TEXT_COLUMNS = ("firm_id", "industry")


@dataclass(frozen=True)
class Financials:
    """Cleaned financials in DuckDB.

    ``relation`` has ``_row``, ``firm_id``, ``year`` (BIGINT), ``industry`` (if
    given) and every other column as DOUBLE, one row per firm-year;
    ``columns`` lists the canonical columns in the pandas engine's order;
    ``dtypes`` holds the pandas dtypes of ``firm_id`` and ``industry``;
    ``family`` says whether firm ids compare as numbers or as text.
    """

    relation: str
    columns: tuple[str, ...]
    dtypes: Mapping[str, Any]
    family: str


def units(values: Any, dtype: Any) -> np.ndarray:
    """Key values from DuckDB as the pandas engine holds them (``Series.to_numpy()``)."""
    series = values.to_pandas() if hasattr(values, "to_pandas") else pd.Series(values)
    if isinstance(dtype, np.dtype) and dtype.kind in "iub" and series.isna().any():
        dtype = np.dtype(object) if dtype.kind == "b" else np.dtype("float64")
    return series.astype(dtype).to_numpy()


def record_rows(
    session: Session,
    report: DropReport,
    sql: str,
    reasons: Mapping[int, tuple[str, str, bool]],
    source: str,
    dtype: Any,
) -> DropReport:
    """Record dropped rows of ``sql`` (columns ``code, unit, time, row``) by reason code.

    ``reasons`` maps a code to ``(step, reason, with_time)`` in the pandas
    engine's recording order; rows keep the order of ``sql``.
    """
    table = session.arrow(sql)
    if table.num_rows == 0:
        return report
    codes = table.column("code").to_numpy()
    unit = units(table.column("unit"), dtype)
    time = table.column("time").to_numpy(zero_copy_only=False).astype("float64")
    row = table.column("row").to_numpy(zero_copy_only=False).astype("float64")
    for code, (step, reason, with_time) in reasons.items():
        mask = codes == code
        if mask.any():
            report = report.record(
                source,
                step,
                reason,
                unit=unit[mask],
                time=time[mask] if with_time else None,
                row=row[mask],
                warn=False,
            )
    return report


def _from(table: Table, parsed: Sequence[Parsed]) -> str:
    joins = " ".join(j for p in parsed for j in p.joins)
    return f"{table.view} s {joins}"


def clean_financials(
    session: Session, fin: Table, bad_values: str, duplicates: str
) -> tuple[Financials, DropReport]:
    """Drop rows without keys or with text in numbers, check years, handle duplicates."""
    fin.require(["firm_id", "year"])
    report = DropReport().with_rows_in("financials", fin.n_rows)
    names = fin.names()
    numeric = [c for c in names if c not in _TEXT_COLUMNS]
    ids = {c: parse_id(session, fin, c) for c in names if c in _TEXT_COLUMNS}
    nums = {c: parse_number(session, fin, c) for c in numeric}
    source = _from(fin, [*ids.values(), *nums.values()])
    missing = f"({raw_missing(fin, 'firm_id', 's')} OR {raw_missing(fin, 'year', 's')})"
    code = " ".join(f"WHEN {p.bad} THEN {i + 1}" for i, p in enumerate(nums.values()))
    select = [f"{p.value} AS {quote(c)}" for c, p in ids.items()]
    select += [f"{p.value} AS {quote(c)}" for c, p in nums.items()]
    parsed = session.name("fin_parsed")
    # Text cells are parsed once and stored; typed columns are cheaper to re-read than to store.
    text = any(fin.columns[c].text_stored or fin.columns[c].kind == "text" for c in numeric)
    session.run(
        f"CREATE {'TABLE' if text else 'VIEW'} {parsed} AS SELECT s._row, {', '.join(select)}, "
        f"CASE WHEN {missing} THEN 0 {code} END AS __code FROM {source}"
    )
    if bad_values == "error":
        _raise_bad_cells(session, fin, source, missing, nums)
    reasons = {0: ("read", "missing firm_id or year", False)}
    reasons |= {i + 1: ("read", f"text in numeric column {c}", False) for i, c in enumerate(nums)}
    dtypes = {c: fin.columns[c].dtype for c in ids}
    report = record_rows(
        session,
        report,
        f"SELECT __code AS code, firm_id AS unit, NULL::DOUBLE AS time, _row AS row "
        f"FROM {parsed} WHERE __code IS NOT NULL ORDER BY __code, _row",
        reasons,
        "financials",
        dtypes["firm_id"],
    )
    kept = session.name("fin_kept")
    session.run(f"CREATE VIEW {kept} AS SELECT * FROM {parsed} WHERE __code IS NULL")
    _check_years(session, kept)
    relation, report = _duplicates(session, kept, names, duplicates, report, dtypes["firm_id"])
    family = ids["firm_id"].family
    return Financials(relation, tuple(names), dtypes, family), report


def _raise_bad_cells(
    session: Session, fin: Table, source: str, missing: str, nums: Mapping[str, Parsed]
) -> None:
    if not nums:
        return
    counts = session.one(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE NOT {missing} AND {p.bad})" for p in nums.values())
        + f" FROM {source}"
    )
    for (col, p), n in zip(nums.items(), counts, strict=True):
        if n:
            raw = ref("s", col)
            shown = session.rows(
                f"SELECT {raw} FROM {source} WHERE NOT {missing} AND {p.bad} "
                f"GROUP BY {raw} ORDER BY min(s._row) LIMIT 3"
            )
            raise DataFormatError(
                f"financials column {col!r} must be numeric; got text in {int(n)} row(s) "
                f"(e.g. {examples(r[0] for r in shown)}). Clean the source (e.g. remove thousands "
                "separators), or pass bad_values='drop' to drop and report those rows."
            )


def _check_years(session: Session, kept: str) -> None:
    n_missing, n_fraction = session.one(
        "SELECT count(*) FILTER (WHERE year IS NULL), "
        f"count(*) FILTER (WHERE year <> round(year)) FROM {kept}"
    )
    if n_missing:
        raise PanelStructureError(
            f"financials column 'year' must not be missing; got {int(n_missing)} missing "
            "row(s). Drop or fill them before building the panel."
        )
    if n_fraction:
        shown = session.rows(
            f"SELECT year FROM {kept} WHERE year <> round(year) GROUP BY year "
            "ORDER BY min(_row) LIMIT 3"
        )
        raise PanelStructureError(
            f"financials column 'year' must hold integer years; got {int(n_fraction)} "
            f"non-integer value(s) (e.g. {examples(r[0] for r in shown)}). "
            "Aggregate to annual data or round deliberately before building the panel."
        )


def _duplicates(
    session: Session, kept: str, names: Sequence[str], policy: str, report: DropReport, dtype: Any
) -> tuple[str, DropReport]:
    dups = session.name("fin_dups")
    session.run(
        f"CREATE TABLE {dups} AS SELECT firm_id, CAST(year AS BIGINT) AS year, "
        f"min(_row) AS first_row, count(*) AS n FROM {kept} GROUP BY ALL HAVING count(*) > 1"
    )
    n_keys, n_rows = session.one(f"SELECT count(*), coalesce(sum(n), 0) FROM {dups}")
    cols = ", ".join(
        "CAST(k.year AS BIGINT) AS year" if c == "year" else f"k.{quote(c)}" for c in names
    )
    relation = session.name("fin_clean")
    if n_keys and policy == "error":
        shown = session.rows(f"SELECT firm_id, year FROM {dups} ORDER BY first_row LIMIT 3")
        keys = pd.DataFrame(shown, columns=["firm_id", "year"]).astype({"firm_id": dtype})
        text = "; ".join(f"(firm_id={r[0]!r}, year={r[1]!r})" for r in keys.itertuples(index=False))
        raise PanelStructureError(
            f"financials must have one row per (firm_id, year); got {int(n_rows)} rows sharing "
            f"{int(n_keys)} duplicated key(s), e.g. {text}. Remove or aggregate the duplicates "
            "(build_panel(..., duplicates='drop') keeps the first and reports the rest)."
        )
    if not n_keys:
        session.run(f"CREATE VIEW {relation} AS SELECT k._row, {cols} FROM {kept} k")
        return relation, report
    later = f"JOIN {dups} d ON k.firm_id = d.firm_id AND k.year = d.year AND k._row <> d.first_row"
    report = record_rows(
        session,
        report,
        f"SELECT 0 AS code, k.firm_id AS unit, k.year AS time, k._row AS row FROM {kept} k "
        f"{later} ORDER BY k._row",
        {0: ("duplicates", "repeated firm-year (kept the first)", True)},
        "financials",
        dtype,
    )
    session.run(
        f"CREATE VIEW {relation} AS SELECT k._row, {cols} FROM {kept} k "
        f"ANTI JOIN (SELECT k._row FROM {kept} k {later}) x ON k._row = x._row"
    )
    return relation, report


def _empty_frame(fin: Financials) -> pd.DataFrame:
    """A zero-row frame with the pandas engine's columns and dtypes (for its checks)."""
    data = {}
    for col in (*fin.columns, "_row"):
        dtype = fin.dtypes.get(col, "int64" if col == "year" else "float64")
        data[col] = pd.Series([], dtype=dtype)
    return pd.DataFrame(data)


def deflate_financials(
    session: Session,
    fin: Financials,
    deflators: pd.DataFrame,
    deflate_map: Mapping[str, str],
    index_base: float,
    report: DropReport,
) -> tuple[Financials, DropReport]:
    """Nominal to real on the year (x industry) price indices; unmatched rows are reported.

    The small deflator table is checked by the pandas engine's own
    :func:`~parkimpact.data.sources.deflate` (run on a zero-row frame, so every
    error reads the same) and joined to the financials in DuckDB.
    """
    import pyarrow as pa

    deflate(
        _empty_frame(fin),
        deflators,
        deflate_map,
        FINANCIAL_MONEY,
        DropReport(),
        index_base=index_base,
    )
    keys = ["year", "industry"] if "industry" in deflators.columns else ["year"]
    if not deflate_map:
        index_col = next(c for c in deflators.columns if c not in keys)
        deflate_map = {col: index_col for col in FINANCIAL_MONEY if col in fin.columns}
    needed = sorted(set(deflate_map.values()))
    prices = {
        f"__p{i}": numeric_column(deflators, c, "deflators")[0] / index_base
        for i, c in enumerate(needed)
    }
    table = {"year": pa.array(numeric_column(deflators, "year", "deflators")[0], from_pandas=True)}
    if "industry" in keys:
        industry = deflators["industry"]
        table["industry"] = (
            pa.array(industry.to_numpy(dtype="float64", na_value=np.nan), from_pandas=True)
            if _is_number(industry)
            else pa.array(industry.astype(object).where(industry.notna(), None), pa.string())
        )
    name = session.name("deflators")
    table |= {k: pa.array(v, from_pandas=True) for k, v in prices.items()}
    session.register(name, pa.table(table))
    on = "f.year = d.year" + (
        " AND f.industry IS NOT DISTINCT FROM d.industry" if "industry" in keys else ""
    )
    unmatched = " OR ".join(f"d.__p{i} IS NULL" for i in range(len(needed)))
    joined = f"{fin.relation} f LEFT JOIN {name} d ON {on}"
    report = record_rows(
        session,
        report,
        f"SELECT 0 AS code, f.firm_id AS unit, f.year AS time, f._row AS row FROM {joined} "
        f"WHERE {unmatched} ORDER BY f.firm_id, f.year",
        {0: ("deflate", f"no price index for the row's {' x '.join(keys)}", True)},
        "financials",
        fin.dtypes["firm_id"],
    )
    index = {v: f"d.__p{needed.index(v)}" for v in needed}
    cols = [
        f"f.{quote(c)} / {index[deflate_map[c]]} AS {quote(c)}"
        if c in deflate_map
        else f"f.{quote(c)}"
        for c in fin.columns
    ]
    relation = session.name("fin_real")
    session.run(
        f"CREATE VIEW {relation} AS SELECT f._row, {', '.join(cols)} FROM {joined} "
        f"WHERE NOT ({unmatched})"
    )
    return replace(fin, relation=relation), report


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )
