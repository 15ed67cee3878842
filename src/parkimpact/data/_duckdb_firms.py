"""Tenancy spells and patent records in DuckDB: firm entry/exit and firm-year patent counts.

Mirrors :func:`parkimpact.data.sources.tenancy_by_firm` and
:func:`parkimpact.data.sources.patent_outcomes`: the same drops in the same
order with the same reasons, the same errors and notes. Spells are chained with
window functions; patents are summed by firm-year with a grouped aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parkimpact.data._duckdb_financials import Financials, record_rows
from parkimpact.data._duckdb_parse import Parsed, parse_id, parse_number, parse_year, ref
from parkimpact.data._duckdb_read import Session, Table
from parkimpact.data.drops import DropReport
from parkimpact.data.sources import tenancy_notes
from parkimpact.data.validation import examples
from parkimpact.errors import DataFormatError, PanelStructureError

__all__ = ["FirmTable", "PatentTable", "tenancy_firms", "patent_sums"]

_NO_ROW = (
    "no panel row for the firm in the filing year (outside its years, or that row was dropped)"
)


@dataclass(frozen=True)
class FirmTable:
    """One row per tenant firm: ``firm_id, park, entry_year, exit_year``; park's pandas dtype.

    ``joinable`` is false when the register's firm ids are of another kind than
    the financials' (text against numbers): then no firm matches.
    """

    relation: str
    park_dtype: Any
    joinable: bool = True


@dataclass(frozen=True)
class PatentTable:
    """Patent outcomes by firm-year (``firm_id, year`` and ``outcomes``), before zero-filling.

    ``joinable`` is false when no patent's firm id can match a financial one.
    """

    relation: str
    outcomes: tuple[str, ...]
    joinable: bool = True


def _match(parsed: Parsed, fin: Financials, left: str, right: str) -> str:
    """Join condition on firm ids; ids of another kind (text against numbers) never match."""
    return f"{left} = {right}" if parsed.family == fin.family else "false"


def _as_read(table: Table, column: str, values: Sequence[Any]) -> list[Any]:
    """Example cells as the pandas engine holds them (numbers in a numeric CSV column)."""
    col = table.columns[column]
    if col.text_stored and col.kind in ("int", "float"):
        return [float(v) for v in values]
    return list(values)


def _raise_unreadable(
    session: Session, table: Table, source: str, column: str, bad: str, n: int, nan: bool = False
) -> None:
    if nan:  # the pandas engine shows the cells after conversion, i.e. NaN
        shown = "nan"
    else:
        raw = ref("s", column)
        rows = session.rows(
            f"SELECT {raw} FROM {source} WHERE {bad} GROUP BY {raw} ORDER BY min(s._row) LIMIT 3"
        )
        shown = examples(_as_read(table, column, [r[0] for r in rows]))
    raise DataFormatError(
        f"{table.what} column {column!r} must hold numbers or dates; got text in {n} row(s) "
        f"(e.g. {shown}). Clean the source, or pass bad_values='drop' to drop and report those "
        "rows."
    )


def _codes(session: Session, relation: str, n: int) -> list[int]:
    counts = session.one(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE __code = {i})" for i in range(n))
        + f" FROM {relation}"
    )
    return [int(c) for c in counts]


def tenancy_firms(
    session: Session,
    ten: Table,
    fin: Financials,
    firms: str,
    report: DropReport,
    bad_values: str,
) -> tuple[FirmTable, DropReport, list[str]]:
    """Entry cohort, park and exit year of each firm from its park spells."""
    ten.require(["firm_id", "park", "entry_date"])
    report = report.with_rows_in("tenancy", ten.n_rows)
    fid, park = parse_id(session, ten, "firm_id"), parse_id(session, ten, "park")
    entry = parse_year(session, ten, "entry_date")
    leave = (
        parse_year(session, ten, "exit_date")
        if "exit_date" in ten.columns
        else Parsed("NULL::DOUBLE", "false")
    )
    has_time = "year" in ten.columns
    time = parse_number(session, ten, "year") if has_time else Parsed("NULL::DOUBLE", "false")
    joins = " ".join(j for p in (fid, park, entry, leave, time) for j in p.joins)
    source = f"{ten.view} s {joins}"
    parsed = session.name("ten_parsed")
    session.run(
        f"CREATE TABLE {parsed} AS SELECT s._row, {fid.value} AS firm_id, {park.value} AS park, "
        f"{entry.value} AS entry_year, {leave.value} AS exit_year, {time.value} AS __time, "
        f"CASE WHEN {entry.bad} THEN 0 WHEN {leave.bad} THEN 1 WHEN {fid.value} IS NULL THEN 2 "
        f"WHEN f.firm_id IS NULL THEN 3 WHEN {entry.value} IS NULL THEN 4 "
        f"WHEN {park.value} IS NULL THEN 5 END AS __code "
        f"FROM {source} LEFT JOIN {firms} f ON {_match(fid, fin, 'f.firm_id', fid.value)}"
    )
    if bad_values == "error":
        n_entry, n_exit = _codes(session, parsed, 2)
        if n_entry:
            _raise_unreadable(session, ten, source, "entry_date", entry.bad, n_entry)
        if n_exit:
            _raise_unreadable(session, ten, source, "exit_date", leave.bad, n_exit)
    step = "tenancy"
    reasons = {
        0: ("read", "unreadable entry_date", False),
        1: ("read", "unreadable exit_date", False),
        2: (step, "missing firm_id", has_time),
        3: (step, "firm not in financials", has_time),
        4: (step, "missing entry date", has_time),
        5: (step, "missing park", has_time),
    }
    report = record_rows(
        session,
        report,
        f"SELECT __code AS code, firm_id AS unit, __time AS time, _row AS row FROM {parsed} "
        "WHERE __code IS NOT NULL ORDER BY __code, _row",
        reasons,
        "tenancy",
        ten.columns["firm_id"].dtype,
    )
    kept = session.name("ten_kept")
    session.run(f"CREATE VIEW {kept} AS SELECT * FROM {parsed} WHERE __code IS NULL")
    n_kept = _check_spells(session, kept)
    report = report.with_kept("tenancy", n_kept)
    relation, notes = _chain_spells(session, kept)
    joinable = fid.family == fin.family
    return FirmTable(relation, ten.columns["park"].dtype, joinable), report, notes


def _check_spells(session: Session, kept: str) -> int:
    """Raise when a spell ends before it starts; the number of spells kept."""
    n_back, n_firms, n_kept = session.one(
        "SELECT count(*) FILTER (WHERE exit_year < entry_year), "
        f"count(DISTINCT firm_id) FILTER (WHERE exit_year < entry_year), count(*) FROM {kept}"
    )
    if n_back:
        rows = session.rows(
            f"SELECT firm_id FROM {kept} WHERE exit_year < entry_year GROUP BY firm_id "
            "ORDER BY min(_row) LIMIT 3"
        )
        raise PanelStructureError(
            f"tenancy exit_date must be on or after entry_date; got entry after exit in "
            f"{int(n_back)} spell(s) of {int(n_firms)} firm(s) "
            f"(e.g. firm {examples(r[0] for r in rows)}). Correct the register."
        )
    return int(n_kept)


def _chain_spells(session: Session, kept: str) -> tuple[str, list[str]]:
    """First continuous tenancy of each firm (spells starting by the year after the last ended)."""
    spells = session.name("ten_chain")
    order = "PARTITION BY firm_id ORDER BY entry_year, exit_year NULLS LAST, _row"
    session.run(
        f"CREATE TABLE {spells} AS WITH s AS ("
        f"SELECT firm_id, park, entry_year, exit_year, row_number() OVER ({order}) AS k, "
        f"lag(exit_year) OVER ({order}) AS prev_exit FROM {kept}), "
        "c AS (SELECT *, (k = 1 OR prev_exit IS NULL OR entry_year <= prev_exit + 1) AS cont "
        "FROM s) "
        "SELECT *, bool_and(cont) OVER (PARTITION BY firm_id ORDER BY k "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS in_first FROM c"
    )
    table = session.name("ten_firms")
    session.run(
        f"CREATE TABLE {table} AS SELECT firm_id, arg_min(park, k) AS park, "
        "arg_min(entry_year, k) AS entry_year, "
        "CASE WHEN bool_or(exit_year IS NULL) THEN NULL ELSE max(exit_year) END AS exit_year, "
        f"count(DISTINCT park) > 1 AS moved FROM {spells} WHERE in_first GROUP BY firm_id"
    )
    moves = int(session.one(f"SELECT count(*) FILTER (WHERE moved) FROM {table}")[0])
    reentries = int(
        session.one(f"SELECT count(DISTINCT firm_id) FROM {spells} WHERE NOT in_first")[0]
    )
    return table, tenancy_notes(moves, reentries)


def patent_sums(
    session: Session,
    pat: Table,
    fin: Financials,
    firms: str,
    report: DropReport,
    bad_values: str,
) -> tuple[PatentTable, DropReport, list[str]]:
    """Firm-year patent counts, citations, citation-weighted counts and claims."""
    pat.require(["firm_id", "application_date"])
    report = report.with_rows_in("patents", pat.n_rows)
    fid = parse_id(session, pat, "firm_id")
    date = parse_year(session, pat, "application_date")
    extra = [c for c in ("forward_citations", "claims") if c in pat.columns]
    nums = {c: parse_number(session, pat, c) for c in extra}
    blank = Parsed("NULL::DOUBLE", "false")
    cit, claims = nums.get("forward_citations", blank), nums.get("claims", blank)
    joins = " ".join(j for p in (fid, date, cit, claims) for j in p.joins)
    source = f"{pat.view} s {joins}"
    parsed = session.name("pat_parsed")
    session.run(
        f"CREATE TABLE {parsed} AS SELECT s._row, {fid.value} AS firm_id, {date.value} AS year, "
        f"{cit.value} AS cit, {claims.value} AS claims, "
        f"CASE WHEN {date.bad} THEN 0 WHEN {cit.bad} THEN 1 WHEN {claims.bad} THEN 2 "
        f"WHEN {fid.value} IS NULL THEN 3 WHEN f.firm_id IS NULL THEN 4 "
        f"WHEN {date.value} IS NULL THEN 5 WHEN k.year IS NULL THEN 6 END AS __code "
        f"FROM {source} LEFT JOIN {firms} f ON {_match(fid, fin, 'f.firm_id', fid.value)} "
        f"LEFT JOIN (SELECT firm_id, year FROM {fin.relation}) k "
        f"ON {_match(fid, fin, 'k.firm_id', fid.value)} AND k.year = {date.value}"
    )
    if bad_values == "error":
        counts = _codes(session, parsed, 3)
        for i, (column, p) in enumerate(
            (("application_date", date), ("forward_citations", cit), ("claims", claims))
        ):
            if counts[i]:
                _raise_unreadable(session, pat, source, column, p.bad, counts[i], nan=i > 0)
    notes = _patent_notes(session, parsed, nums)
    step = "patents"
    report = record_rows(
        session,
        report,
        f"SELECT __code AS code, firm_id AS unit, year AS time, _row AS row FROM {parsed} "
        "WHERE __code IS NOT NULL ORDER BY __code, _row",
        {
            0: ("read", "unreadable application_date", False),
            1: ("read", "unreadable forward_citations", False),
            2: ("read", "unreadable claims", False),
            3: (step, "missing firm_id", True),
            4: (step, "firm not in financials", True),
            5: (step, "missing application date", True),
            6: (step, _NO_ROW, True),
        },
        "patents",
        pat.columns["firm_id"].dtype,
    )
    n_kept = session.one(f"SELECT count(*) FROM {parsed} WHERE __code IS NULL")[0]
    report = report.with_kept("patents", int(n_kept))
    relation, outcomes = _sum_patents(session, parsed, with_claims="claims" in nums)
    return PatentTable(relation, outcomes, fid.family == fin.family), report, notes


def _patent_notes(session: Session, parsed: str, nums: Mapping[str, Parsed]) -> list[str]:
    """Patents without citations or claims once their bad cells are gone (counted as 0)."""
    notes = []
    for code, col, name in ((1, "forward_citations", "cit"), (2, "claims", "claims")):
        if col in nums:
            n = session.one(
                "SELECT count(*) FILTER "
                f"(WHERE (__code IS NULL OR __code > {code}) AND {name} IS NULL) FROM {parsed}"
            )[0]
            if n:
                notes.append(f"{int(n)} patent(s) without {col}; counted as 0")
    return notes


def _sum_patents(
    session: Session, parsed: str, *, with_claims: bool
) -> tuple[str, tuple[str, ...]]:
    """Kept patents summed by firm-year: counts, citations, citation-weighted counts, claims."""
    sums = {
        "patents": "count(*)::DOUBLE",
        "citations": "sum(coalesce(cit, 0.0))",
        "patents_cw": "sum(1.0 + coalesce(cit, 0.0))",
    }
    if with_claims:
        sums["claims"] = "sum(coalesce(claims, 0.0))"
    relation = session.name("pat_sums")
    session.run(
        f"CREATE TABLE {relation} AS SELECT firm_id, CAST(year AS BIGINT) AS year, "
        + ", ".join(f"{expr} AS {name}" for name, expr in sums.items())
        + f" FROM {parsed} WHERE __code IS NULL GROUP BY ALL"
    )
    return relation, tuple(sums)
