"""Sources for the DuckDB engine: a session, and Parquet, CSV or DataFrame sources as views.

Every source becomes a DuckDB view with the canonical column names of its
mapping section and ``_row``, the 0-based position of the row in the source as
the pandas engine reads it (files of a folder or glob are taken in sorted path
order). Each column carries its *kind*, the way pandas would read it (``int``,
``float``, ``bool``, ``text``, ``date``), which decides how
:mod:`parkimpact.data._duckdb_parse` turns it into numbers, years or ids, and
the pandas dtype the pandas engine would give it.
"""

from __future__ import annotations

import glob
import itertools
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from parkimpact.data.io import READERS, apply_mapping, read_table
from parkimpact.data.validation import require_columns
from parkimpact.errors import DataFormatError

__all__ = ["Session", "Column", "Table", "open_source", "source_files", "quote", "literal"]

Kind = Literal["int", "float", "bool", "text", "date", "other"]
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".txt")
_TRUE = ("True", "TRUE", "true")
_FALSE = ("False", "FALSE", "false")
#: A CSV cell pandas reads as an integer / as a float (surrounding spaces allowed).
_CSV_INT = r" *[+-]?[0-9]{1,18} *"
_CSV_FLOAT = r" *[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)? *"
_CSV_SPECIAL = ("inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")


def quote(name: str) -> str:
    """A SQL identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


class Session:
    """A DuckDB connection on a scratch database in its own temporary folder.

    Parameters
    ----------
    memory_limit
        DuckDB's ``memory_limit`` (e.g. ``"1GB"``); beyond it DuckDB spills to disk.
    temp_directory
        Folder under which the scratch database and spill files are created
        (default: the system's temporary folder). Removed on :meth:`close`.
    threads
        DuckDB worker threads (default: DuckDB's choice, the number of cores).
    """

    def __init__(
        self, memory_limit: str, temp_directory: str | Path | None, threads: int | None
    ) -> None:
        import duckdb

        parent = None if temp_directory is None else Path(temp_directory)
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="parkimpact-duckdb-", dir=parent))
        config: dict[str, Any] = {
            "memory_limit": memory_limit,
            "temp_directory": str(self.folder / "spill"),
            "preserve_insertion_order": True,
        }
        if threads is not None:
            config["threads"] = int(threads)
        try:
            self.con = duckdb.connect(str(self.folder / "build.duckdb"), config=config)
        except duckdb.Error as exc:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise ValueError(
                f"DuckDBEngine settings must be accepted by DuckDB; got memory_limit="
                f"{memory_limit!r}, threads={threads!r}: {exc}. Use a size such as '1GB'."
            ) from None
        self._names = itertools.count()
        # Views over Parquet scans carry poor cardinality estimates; every join here is
        # written with its small relation on the right, which is the side to hash.
        known = {r[0] for r in self.rows("SELECT name FROM duckdb_optimizers()")}
        off = [o for o in ("join_order", "build_side_probe_side") if o in known]
        if off:
            self.run(f"SET disabled_optimizers = '{','.join(off)}'")

    def name(self, prefix: str) -> str:
        """A fresh table or view name."""
        return f"{prefix}_{next(self._names)}"

    def run(self, sql: str) -> None:
        """Execute a statement whose result is not needed."""
        self.con.execute(sql).fetchall()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """All result rows as tuples (for small results)."""
        return self.con.execute(sql).fetchall()

    def one(self, sql: str) -> tuple[Any, ...]:
        """The single result row."""
        return self.rows(sql)[0]

    def arrow(self, sql: str) -> Any:
        """The result as a :class:`pyarrow.Table`."""
        rel = self.con.sql(sql)
        fetch = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
        return fetch()

    def frame(self, sql: str) -> pd.DataFrame:
        """The result as a pandas DataFrame (through Arrow)."""
        return self.arrow(sql).to_pandas()

    def register(self, name: str, table: Any) -> None:
        """Make a :class:`pyarrow.Table` queryable under ``name``."""
        self.con.register(name, table)

    def close(self) -> None:
        """Close the connection and remove the scratch folder."""
        try:
            self.con.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class Column:
    """A source column: its kind as pandas reads it and how DuckDB stores it.

    ``text_stored`` marks columns DuckDB holds as text although pandas would read
    them as numbers (CSV cells); ``dtype`` is the pandas dtype of the column as
    the pandas engine reads it, used for id columns and drop-report keys.
    """

    name: str
    sql_type: str
    kind: Kind
    text_stored: bool
    dtype: Any
    has_null: bool


@dataclass(frozen=True)
class Table:
    """A registered source: a view with canonical columns and ``_row``."""

    what: str
    view: str
    columns: Mapping[str, Column]
    n_rows: int

    def names(self) -> list[str]:
        """Canonical column names in source order."""
        return list(self.columns)

    def require(self, required: Sequence[str]) -> None:
        """Raise the pandas engine's error when a required column is absent."""
        require_columns(pd.DataFrame(columns=self.names()), list(required), self.what)


# ----------------------------------------------------------------- locating files
def source_files(path: Path | str, what: str) -> tuple[list[str], str, bool]:
    """Files of a source (a file, a folder of part files, or a glob), their format, hive.

    The last item says whether the folders below the source are hive-style
    (``key=value``), whose keys then become columns.
    """
    text = str(path)
    if any(ch in text for ch in "*?["):
        prefix = text[: min(text.index(ch) for ch in "*?[" if ch in text)]
        base = Path(prefix) if prefix.endswith(("/", "\\")) else Path(prefix).parent
        files = sorted(glob.glob(text, recursive=True))
    elif Path(text).is_dir():
        base = Path(text)
        files = sorted(
            str(p) for p in base.rglob("*") if p.is_file() and p.suffix.lower() in _PARQUET + _CSV
        )
    else:
        read_table_checks(text)
        return [str(Path(text).resolve())], _format(text), False
    if not files:
        raise FileNotFoundError(
            f"{what} must name an existing file, folder or glob of Parquet or CSV files; got "
            f"{text!r}, which matches no file. Check the path in [files] or the argument."
        )
    suffixes = {Path(f).suffix.lower() for f in files}
    if not (suffixes <= set(_PARQUET) or suffixes <= set(_CSV)):
        raise DataFormatError(
            f"{what} files must all be Parquet or all CSV; got suffixes {sorted(suffixes)}. "
            "Convert them to one format."
        )
    hive = any("=" in part for f in files for part in Path(f).relative_to(base).parent.parts)
    return [str(Path(f).resolve()) for f in files], _format(files[0]), hive


def _format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return "parquet" if suffix in _PARQUET else "csv" if suffix in _CSV else "pandas"


def read_table_checks(path: str) -> None:
    """The pandas engine's errors for a file that is missing or of an unknown type."""
    if Path(path).suffix.lower() not in READERS or not Path(path).is_file():
        read_table(path)  # raises DataFormatError or FileNotFoundError


# --------------------------------------------------------------------- raw sources
def _kind_of_type(sql_type: str) -> Kind:
    t = sql_type.upper()
    if t.strip('"') == "NULL":  # a column without any value reads as missing numbers
        return "float"
    if t in ("BOOLEAN",):
        return "bool"
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        return "float"
    if t.endswith("INT") or t in ("HUGEINT", "UHUGEINT", "BIGINT", "INTEGER", "SMALLINT"):
        return "int"
    if t == "VARCHAR":
        return "text"
    if t == "DATE" or (t.startswith("TIMESTAMP") and "TIME ZONE" not in t):
        return "date"
    return "other"


def _pandas_dtype(kind: Kind, sql_type: str, has_null: bool) -> Any:
    if sql_type.upper().strip('"') == "NULL":
        return np.dtype(object)
    if kind == "int":
        if has_null:
            return np.dtype("float64")
        t = sql_type.upper()
        mapping = {"TINYINT": "int8", "SMALLINT": "int16", "INTEGER": "int32", "UTINYINT": "uint8"}
        mapping |= {"USMALLINT": "uint16", "UINTEGER": "uint32", "UBIGINT": "uint64"}
        return np.dtype(mapping.get(t, "int64"))
    if kind == "float":
        return np.dtype("float32" if sql_type.upper() in ("FLOAT", "REAL") else "float64")
    if kind == "bool":
        return np.dtype(object) if has_null else np.dtype(bool)
    if kind == "text":
        return pd.StringDtype(na_value=np.nan)
    return np.dtype(object)


def _describe(session: Session, relation: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in session.rows(f"DESCRIBE SELECT * FROM {relation}")]


def _null_counts(session: Session, relation: str, names: Sequence[str]) -> dict[str, bool]:
    if not names:
        return {}
    parts = ", ".join(f"count(*) - count({quote(c)})" for c in names)
    counts = session.one(f"SELECT {parts} FROM {relation}")
    return {c: bool(n) for c, n in zip(names, counts, strict=True)}


def _parquet_raw(
    session: Session, files: list[str], what: str, hive: bool
) -> tuple[str, dict[str, Column], int]:
    listing = "[" + ", ".join(literal(f) for f in files) + "]"
    meta = session.rows(
        f"SELECT file_name, sum(num_rows) FROM parquet_file_metadata({listing}) GROUP BY file_name"
    )
    rows = {name: int(n) for name, n in meta}
    offsets = np.concatenate([[0], np.cumsum([rows[f] for f in files])[:-1]]).astype("int64")
    scan = (
        f"read_parquet({listing}, filename='__file', file_row_number=true, "
        f"hive_partitioning={str(hive).lower()}, union_by_name=true)"
    )
    view = session.name(f"raw_{what}")
    if len(files) == 1:
        session.run(
            f"CREATE VIEW {view} AS SELECT * EXCLUDE (__file, file_row_number), "
            f"file_row_number AS _row FROM {scan}"
        )
    else:
        off = session.name(f"offsets_{what}")
        session.register(off, _arrow_table({"__file": files, "__offset": offsets}))
        session.run(
            f"CREATE VIEW {view} AS SELECT p.* EXCLUDE (__file, file_row_number), "
            f"o.__offset + p.file_row_number AS _row FROM {scan} p JOIN {off} o USING (__file)"
        )
    described = [(n, t) for n, t in _describe(session, view) if n != "_row"]
    columns = {n: Column(n, t, _kind_of_type(t), False, None, False) for n, t in described}
    return view, columns, int(sum(rows.values()))


def _csv_raw(session: Session, files: list[str], what: str) -> tuple[str, dict[str, Column], int]:
    listing = "[" + ", ".join(literal(f) for f in files) + "]"
    table = session.name(f"csv_{what}")
    session.run(
        f"CREATE TABLE {table} AS SELECT * FROM read_csv({listing}, all_varchar=true, "
        "header=true, union_by_name=true)"
    )
    view = session.name(f"raw_{what}")
    session.run(f"CREATE VIEW {view} AS SELECT *, rowid AS _row FROM {table}")
    names = [n for n, _ in _describe(session, table)]
    checks = []
    for c in names:
        q = quote(c)
        special = ", ".join(literal(s) for s in _CSV_SPECIAL)
        checks += [
            f"count({q})",
            f"count(*) FILTER (WHERE regexp_full_match({q}, {literal(_CSV_INT)}))",
            f"count(*) FILTER (WHERE regexp_full_match({q}, {literal(_CSV_FLOAT)}) "
            f"OR lower(trim({q})) IN ({special}))",
            f"count(*) FILTER (WHERE {q} IN ({', '.join(literal(s) for s in _TRUE + _FALSE)}))",
        ]
    counts = session.one(f"SELECT count(*), {', '.join(checks)} FROM {table}") if names else (0,)
    n = int(counts[0])
    columns = {}
    for i, c in enumerate(names):
        nn, ni, nf, nb = counts[1 + 4 * i : 5 + 4 * i]
        kind: Kind = (
            "float"
            if nn == 0
            else "int"
            if ni == nn
            else "float"
            if nf == nn
            else "bool"
            if nb == nn
            else "text"
        )
        has_null = nn < n
        sql_type = {"int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN"}.get(kind, "VARCHAR")
        # pandas reads the columns of a CSV file without rows as object
        dtype = _pandas_dtype(kind, sql_type, has_null) if n else np.dtype(object)
        columns[c] = Column(c, "VARCHAR", kind, True, dtype, has_null)
    return view, columns, n


def _arrow_table(data: Mapping[str, Any]) -> Any:
    import pyarrow as pa

    return pa.table({k: pa.array(v, from_pandas=True) for k, v in data.items()})


def _frame_column(series: pd.Series) -> tuple[Any, Kind, bool]:
    """An Arrow array for a DataFrame column, its kind, and whether it is stored as text."""
    import pyarrow as pa

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        raise DataFormatError(
            f"column {series.name!r} must not be categorical for engine='duckdb'; got "
            f"{dtype}. Convert it with .astype(str) or use engine='pandas'."
        )
    if pd.api.types.is_bool_dtype(dtype):
        return pa.array(series, from_pandas=True), "bool", False
    if pd.api.types.is_integer_dtype(dtype):
        return pa.array(series, from_pandas=True), "int", False
    if pd.api.types.is_float_dtype(dtype):
        return (
            pa.array(series.to_numpy(dtype="float64", na_value=np.nan), from_pandas=True),
            "float",
            False,
        )
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            return pa.array(series.astype(str).where(series.notna(), None)), "other", False
        return pa.array(series, from_pandas=True), "date", False
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return (
            pa.array(series.astype(object).where(series.notna(), None), pa.string()),
            "text",
            False,
        )
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "integer" and not series.isna().any():
        return pa.array(series.astype("int64")), "int", False
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal", "empty"):
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return pa.array(values, from_pandas=True), "float", False
    if inferred == "boolean":
        return pa.array(series.astype(object).where(series.notna(), None)), "bool", False
    if inferred in ("date", "datetime", "datetime64"):
        return pa.array(pd.to_datetime(series), from_pandas=True), "date", False
    texts = [None if _missing(v) else v if isinstance(v, str) else repr(v) for v in series]
    return pa.array(texts, pa.string()), "text", False


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _frame_raw(
    session: Session, frame: pd.DataFrame, what: str
) -> tuple[str, dict[str, Column], int]:
    import pyarrow as pa

    arrays, columns = {}, {}
    for name in frame.columns:
        array, kind, text_stored = _frame_column(frame[name])
        arrays[str(name)] = array
        has_null = bool(frame[name].isna().any())
        columns[str(name)] = Column(
            str(name), str(array.type), kind, text_stored, frame[name].dtype, has_null
        )
    arrays["_row"] = pa.array(np.arange(len(frame), dtype="int64"))
    view = session.name(f"raw_{what}")
    session.register(view, pa.table(arrays))
    return view, columns, len(frame)


# ------------------------------------------------------------------------ mapping
def open_source(
    session: Session,
    source: pd.DataFrame | str | Path,
    what: str,
    section: Mapping[str, str],
    *,
    keep_unmapped: bool = False,
    id_columns: Sequence[str] = (),
) -> Table:
    """Register ``source`` as a view with canonical names (the mapping applied).

    Parquet and CSV files, folders and globs are scanned by DuckDB; a single
    Stata or Excel file is read by pandas first (those formats cannot be
    scanned out of core). ``id_columns`` (canonical names) get their null
    counts checked so that their pandas dtype is known.
    """
    if isinstance(source, pd.DataFrame):
        raw, columns, n_rows = _frame_raw(session, source, what)
    elif isinstance(source, str | Path):
        files, fmt, hive = source_files(source, what)
        if fmt == "parquet":
            raw, columns, n_rows = _parquet_raw(session, files, what, hive)
        elif fmt == "csv":
            raw, columns, n_rows = _csv_raw(session, files, what)
        else:
            raw, columns, n_rows = _frame_raw(session, read_table(files[0]), what)
    else:
        raise TypeError(f"{what} must be a DataFrame or a file path; got {type(source).__name__}.")
    renamed = apply_mapping(
        pd.DataFrame(columns=list(columns)), section, what, keep_unmapped=keep_unmapped
    )
    inverse = {v: k for k, v in section.items()}
    if not section:
        pairs = [(c, c) for c in columns]
    elif keep_unmapped:
        pairs = [(inverse.get(c, c), c) for c in columns]
    else:
        pairs = list(section.items())
    if [canon for canon, _ in pairs] != list(renamed.columns):  # pragma: no cover - defensive
        raise DataFormatError(
            f"mapping [{what}] could not be applied; got {list(renamed.columns)}."
        )
    view = session.name(what)
    select = ", ".join(f"{quote(src)} AS {quote(canon)}" for canon, src in pairs)
    session.run(f"CREATE VIEW {view} AS SELECT {select}, _row FROM {raw}")
    wanted = [src for canon, src in pairs if canon in id_columns]
    nulls = {
        c: columns[c].has_null
        for c in wanted
        if columns[c].text_stored or columns[c].dtype is not None
    }
    nulls |= _null_counts(session, raw, [c for c in wanted if c not in nulls])
    out = {}
    for canon, src in pairs:
        col = columns[src]
        has_null = nulls.get(src, col.has_null)
        dtype = (
            col.dtype if col.dtype is not None else _pandas_dtype(col.kind, col.sql_type, has_null)
        )
        out[canon] = Column(canon, col.sql_type, col.kind, col.text_stored, dtype, has_null)
    return Table(what, view, out, n_rows)
