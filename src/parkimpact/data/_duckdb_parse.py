"""Numbers, years and ids of source columns as SQL, with pandas' reading rules.

Common cells are converted in SQL: decimal numbers (``-12.5``, ``3e4``),
four-digit years and ISO dates (``2001-03-01``). Every other distinct text of a
column (``"n/a"``, ``"12,345.6"``, ``" 7"``, ``"2001/03/01"``) is converted
once by the pandas engine's own functions (:func:`numeric_column`,
:func:`to_years`) and joined back, so both engines read every cell alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from parkimpact.data._duckdb_read import Session, Table, literal, quote
from parkimpact.data.sources import to_years
from parkimpact.data.validation import numeric_column
from parkimpact.errors import DataFormatError

__all__ = ["Parsed", "parse_number", "parse_year", "parse_id", "raw_missing", "ref"]

_FAST_NUMBER = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
_TRUE = "('True', 'TRUE', 'true')"
_FALSE = "('False', 'FALSE', 'false')"


@dataclass(frozen=True)
class Parsed:
    """SQL for a converted column: its value, a never-null bad-cell flag, and lookup joins.

    ``family`` is ``"number"``, ``"text"`` or ``"bool"`` (which values compare).
    """

    value: str
    bad: str
    joins: tuple[str, ...] = ()
    family: str = "number"


def ref(alias: str, column: str) -> str:
    """``alias."column"``."""
    return f"{alias}.{quote(column)}"


def _nan_null(expr: str) -> str:
    return f"CASE WHEN isnan({expr}) THEN NULL ELSE {expr} END"


def raw_missing(table: Table, column: str, alias: str) -> str:
    """SQL for "the cell as read is missing" (pandas ``isna``: NULL, or NaN in a float column)."""
    col, x = table.columns[column], ref(alias, column)
    if col.kind == "float" and not col.text_stored:
        return f"({x} IS NULL OR isnan(CAST({x} AS DOUBLE)))"
    return f"({x} IS NULL)"


def _lookup(
    session: Session,
    table: Table,
    column: str,
    skip: str,
    parse: Any,
    stand_in: str | None = None,
) -> str | None:
    """Convert with pandas the distinct texts of a column that ``skip`` does not match.

    ``skip`` and ``stand_in`` are SQL templates in ``{x}``. Texts matched by
    ``stand_in`` are converted in SQL, but pandas converts them together with
    the others, so one of them stands in (as ``'2000-01-01'``) for pandas to see
    the same mix (dates with and without a time zone, which it refuses).
    Returns the name of the registered lookup table, or None when it is empty.
    """
    import pyarrow as pa

    x = ref("s", column)
    raw = (
        x
        if stand_in is None
        else f"CASE WHEN {stand_in.format(x=x)} THEN '2000-01-01' ELSE {x} END"
    )
    rows = session.arrow(
        f"SELECT DISTINCT {raw} AS raw FROM {table.view} s "
        f"WHERE {x} IS NOT NULL AND NOT coalesce({skip.format(x=x)}, false)"
    )
    if rows.num_rows == 0:
        return None
    texts = pd.Series(rows.column("raw").to_pylist(), dtype="str")
    values, bad = parse(texts)
    name = session.name("lookup")
    session.register(
        name,
        pa.table(
            {
                "raw": pa.array(texts.astype(object), pa.string()),
                "val": pa.array(np.asarray(values, dtype="float64"), from_pandas=True),
                "bad": pa.array(np.asarray(bad, dtype=bool)),
            }
        ),
    )
    return name


def _text_number(session: Session, table: Table, column: str, alias: str, what: str) -> Parsed:
    fast = (
        f"(regexp_full_match({{x}}, {literal(_FAST_NUMBER)}) "
        "AND isfinite(TRY_CAST({x} AS DOUBLE)))"
    )

    def parse(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        return numeric_column(pd.DataFrame({"x": raw}), "x", what)

    name = _lookup(session, table, column, fast, parse)
    x = ref(alias, column)
    other = "NULL" if name is None else f"{name}.val"
    value = (
        f"CASE WHEN {x} IS NULL THEN NULL WHEN {fast.format(x=x)} THEN TRY_CAST({x} AS DOUBLE) "
        f"ELSE {other} END"
    )
    if name is None:
        return Parsed(value, "false")
    join = f"LEFT JOIN {name} ON {name}.raw = {x}"
    return Parsed(value, f"coalesce({name}.bad, false)", (join,))


def _unsupported(table: Table, column: str, purpose: str) -> DataFormatError:
    col = table.columns[column]
    return DataFormatError(
        f"{table.what} column {column!r} must hold {purpose} for engine='duckdb'; got DuckDB "
        f"type {col.sql_type}. Store it as numbers or ISO date text, or use engine='pandas'."
    )


def parse_number(session: Session, table: Table, column: str, alias: str = "s") -> Parsed:
    """A column as float, and the mask of text cells that are not numbers (``numeric_column``)."""
    col, x = table.columns[column], ref(alias, column)
    if col.text_stored and col.kind == "bool":
        value = f"CASE WHEN {x} IN {_TRUE} THEN 1.0 WHEN {x} IN {_FALSE} THEN 0.0 END"
        return Parsed(value, "false")
    if col.text_stored or col.kind == "text":
        return _text_number(session, table, column, alias, table.what)
    if col.kind in ("int", "bool"):
        return Parsed(f"CAST({x} AS DOUBLE)", "false")
    if col.kind == "float":
        return Parsed(_nan_null(f"CAST({x} AS DOUBLE)"), "false")
    raise _unsupported(table, column, "numbers")


def parse_year(session: Session, table: Table, column: str, alias: str = "s") -> Parsed:
    """Calendar years of a date column and its unreadable cells (``to_years``)."""
    col, x = table.columns[column], ref(alias, column)
    if col.kind == "date" and not col.text_stored:
        return Parsed(f"CAST(year({x}) AS DOUBLE)", "false")
    if col.kind == "text":
        return _text_year(session, table, column, alias)
    if col.kind not in ("int", "float", "bool"):
        raise _unsupported(table, column, "dates or years")
    number = parse_number(session, table, column, alias)
    fractional = f"({number.value} IS NOT NULL AND {number.value} <> round({number.value}))"
    value = f"CASE WHEN {fractional} THEN NULL ELSE {number.value} END"
    return Parsed(value, f"coalesce({fractional}, false)", number.joins)


def _text_year(session: Session, table: Table, column: str, alias: str) -> Parsed:
    four = "regexp_full_match({x}, '[0-9]{{4}}')"
    iso = (
        "(regexp_full_match({x}, '[12][0-9]{{3}}-[0-9]{{2}}-[0-9]{{2}}') "
        "AND TRY_CAST({x} AS DATE) IS NOT NULL)"
    )

    def parse(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        return to_years(raw, table.what)

    # Four-digit years are read apart by pandas too; ISO dates are read in SQL.
    name = _lookup(session, table, column, four, parse, stand_in=iso)
    x = ref(alias, column)
    other = "NULL" if name is None else f"{name}.val"
    value = (
        f"CASE WHEN {x} IS NULL THEN NULL WHEN {four.format(x=x)} THEN CAST({x} AS DOUBLE) "
        f"WHEN {iso.format(x=x)} THEN CAST(left({x}, 4) AS DOUBLE) ELSE {other} END"
    )
    if name is None:
        return Parsed(value, "false")
    join = f"LEFT JOIN {name} ON {name}.raw = {x}"
    return Parsed(value, f"coalesce({name}.bad, false)", (join,))


def parse_id(session: Session, table: Table, column: str, alias: str = "s") -> Parsed:
    """An id-like column (firm id, industry, park) typed as the pandas engine reads it."""
    col, x = table.columns[column], ref(alias, column)
    dtype = col.dtype
    if col.text_stored:
        if col.kind == "int" and not col.has_null:
            return Parsed(f"CAST(trim({x}) AS BIGINT)", "false")
        if col.kind in ("int", "float"):
            number = _text_number(session, table, column, alias, table.what)
            return Parsed(number.value, "false", number.joins)
        if col.kind == "bool":
            value = f"CASE WHEN {x} IN {_TRUE} THEN true WHEN {x} IN {_FALSE} THEN false END"
            return Parsed(value, "false", family="bool")
        return Parsed(x, "false", family="text")
    if col.kind == "int":
        is_float = isinstance(dtype, np.dtype) and dtype.kind == "f"
        return Parsed(f"CAST({x} AS DOUBLE)" if is_float else x, "false")
    if col.kind == "float":
        return Parsed(_nan_null(f"CAST({x} AS DOUBLE)"), "false")
    if col.kind == "bool":
        return Parsed(x, "false", family="bool")
    if col.kind == "text":
        return Parsed(x, "false", family="text")
    raise _unsupported(table, column, "ids, codes or names")
