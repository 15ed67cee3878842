"""Panels larger than memory: ``build_panel(..., engine="duckdb")``.

The DuckDB engine runs every relational step of :func:`~parkimpact.build_panel`
inside DuckDB, out of core: reading Parquet files, folders (hive-style or part
files) and CSV files, converting bad cells, finding duplicate firm-years,
joining the deflators, chaining tenancy spells into entry and exit years,
counting and zero-filling patents by firm-year, and sorting the panel. DuckDB
keeps to ``memory_limit`` and spills to ``temp_directory``. The perpetual-
inventory R&D stock and the logs are computed from the sorted rows, batch by
batch, by the pandas engine's own functions.

The result is the pandas engine's, row for row: the same panel (columns,
dtypes, order, values), the same drop report, notes, warnings and errors. With
``output=`` the panel is written to a Parquet file and :class:`PanelFile` is
returned, so that the panel never has to fit in memory; read the columns you
need with :meth:`PanelFile.read` or :meth:`PanelFile.to_panel`.

See ``docs/big_panels.md`` for the memory model and measured times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.data.io import ColumnMapping, apply_mapping, read_table
from parkimpact.data.panel import ExitPolicy, FirmPanel, PanelRoles

if TYPE_CHECKING:
    from parkimpact.data._duckdb_firms import FirmTable, PatentTable
    from parkimpact.data._duckdb_panel import Assembled
    from parkimpact.data._duckdb_read import Session

__all__ = ["DuckDBEngine", "PanelFile", "require_duckdb", "build_with_duckdb"]

Source = pd.DataFrame | str | Path


@dataclass(frozen=True)
class DuckDBEngine:
    """Settings of the DuckDB engine of :func:`~parkimpact.build_panel`.

    ``engine="duckdb"`` is ``engine=DuckDBEngine()``.

    Parameters
    ----------
    memory_limit
        DuckDB's memory limit (``"400MB"``, ``"2GB"``). DuckDB spills sorts,
        joins, aggregates and window functions to disk beyond it. The build's
        peak resident memory is about this plus 350-460 MB (the interpreter
        with parkimpact's imports, Arrow batches, the drop report).
    temp_directory
        Folder for DuckDB's scratch database and spill files (default: the
        system's temporary folder). A fresh sub-folder is made and removed after
        the build.
    threads
        DuckDB worker threads (default: one per core).
    """

    memory_limit: str = "400MB"
    temp_directory: str | Path | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.memory_limit, str) or not self.memory_limit.strip():
            raise ValueError(
                f"memory_limit must be a size such as '1GB'; got {self.memory_limit!r}."
            )
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"threads must be a positive integer or None; got {self.threads!r}.")


def require_duckdb() -> None:
    """Raise ImportError naming the ``big`` extra when DuckDB or PyArrow is missing."""
    for module in ("duckdb", "pyarrow"):
        try:
            __import__(module)
        except ImportError as exc:
            raise ImportError(
                f"build_panel(..., engine='duckdb') needs the optional 'big' extra; got {exc}. "
                "Install it with: pip install 'parkimpact[big]'."
            ) from exc


@dataclass(frozen=True, eq=False)
class PanelFile:
    """A firm-year panel written to Parquet by ``build_panel(..., output=path)``.

    Holds what :class:`~parkimpact.FirmPanel` holds except the rows: the roles,
    the drop report, the notes and counts. The rows are read on demand.

    Attributes
    ----------
    path
        The Parquet file (rows sorted by firm and year).
    roles
        Column roles, as in the panel the pandas engine builds.
    drops
        Every dropped source row with its reason; rows in = kept + reported.
    notes
        The panel's notes (tenancy, patents, entry window, exits, logs).
    exits
        The exit policy the panel was built with.
    n_obs, n_units
        Number of firm-years and of firms.
    columns
        The file's columns in order.
    dtypes
        pandas dtypes of the id columns (``firm_id``, ``industry``, ``park``).
    """

    path: Path
    roles: PanelRoles
    drops: DropReport
    notes: tuple[str, ...]
    exits: ExitPolicy
    n_obs: int
    n_units: int
    columns: tuple[str, ...]
    dtypes: Mapping[str, Any] = field(default_factory=dict)

    def read(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Rows of the panel, only ``columns`` (default: all), with the pandas engine's dtypes."""
        from parkimpact.data._duckdb_panel import fix_dtypes

        wanted = list(self.columns) if columns is None else list(columns)
        unknown = [c for c in wanted if c not in self.columns]
        if unknown:
            raise ValueError(
                f"columns must be columns of the panel file; got {unknown}. "
                f"Available: {list(self.columns)}."
            )
        frame = pd.read_parquet(self.path, columns=wanted)
        return fix_dtypes(frame, self.dtypes)

    def to_panel(self, columns: Sequence[str] | None = None) -> FirmPanel:
        """A :class:`~parkimpact.FirmPanel` of ``columns`` plus the role columns.

        The rows were checked when the file was written, so they are not
        validated again; the panel equals the one ``engine="pandas"`` builds
        restricted to these columns.
        """
        roles = set(self.roles.declared().values())
        wanted = None if columns is None else set(columns) | roles
        chosen = [c for c in self.columns if wanted is None or c in wanted]
        panel = object.__new__(FirmPanel)
        panel._set(self.read(chosen), self.roles, self.drops, self.notes, self.exits)
        return panel

    def __repr__(self) -> str:
        return (
            f"PanelFile({str(self.path)!r}, {self.n_obs} firm-years, {self.n_units} firms, "
            f"{len(self.columns)} columns, {len(self.drops)} dropped rows)"
        )


def _source(source: Source | None, name: str, spec: ColumnMapping) -> Source | None:
    if source is None:
        return spec.path(name)
    if isinstance(source, pd.DataFrame | str | Path):
        return source
    raise TypeError(f"{name} must be a DataFrame or a file path; got {type(source).__name__}.")


def _small_table(session: Session, source: Source, what: str) -> pd.DataFrame:
    """A small source (the deflators) as pandas reads it; folders and globs through DuckDB."""
    from parkimpact.data._duckdb_read import open_source, source_files

    if isinstance(source, pd.DataFrame):
        return source
    files, _, _ = source_files(source, what)
    if len(files) == 1:
        return read_table(files[0])
    table = open_source(session, source, what, {})
    return session.frame(f"SELECT * EXCLUDE (_row) FROM {table.view} ORDER BY _row")


def _relations(
    session: Session,
    sources: Mapping[str, Source | None],
    spec: ColumnMapping,
    *,
    bad_values: str,
    duplicates: str,
    index_base: float,
    delta: float,
    growth: float,
) -> tuple[Assembled, DropReport, list[str]]:
    """Every relational step, in the pandas engine's order; the panel's SELECT, drops, notes."""
    from parkimpact.data._duckdb_financials import clean_financials, deflate_financials
    from parkimpact.data._duckdb_firms import patent_sums, tenancy_firms
    from parkimpact.data._duckdb_panel import assemble
    from parkimpact.data._duckdb_read import open_source

    fin_source = _source(sources.get("financials"), "financials", spec)
    if fin_source is None:
        raise ValueError(
            "financials must be given as a DataFrame or path, or named in the mapping's [files] "
            "section; got neither."
        )
    table = open_source(
        session, fin_source, "financials", spec.financials, id_columns=("firm_id", "industry")
    )
    fin, report = clean_financials(session, table, bad_values, duplicates)
    defl_source = _source(sources.get("deflators"), "deflators", spec)
    if defl_source is not None:
        defl = _small_table(session, defl_source, "deflators")
        defl = apply_mapping(defl, spec.deflators, "deflators", keep_unmapped=True)
        fin, report = deflate_financials(session, fin, defl, spec.deflate, index_base, report)
    elif spec.deflate:
        raise ValueError(
            "deflators must be given when the mapping has a [deflate] section; got none. "
            "Pass deflators=... or name the file in [files]."
        )
    firms = session.name("firms")
    session.run(f"CREATE TABLE {firms} AS SELECT DISTINCT firm_id FROM {fin.relation}")
    notes: list[str] = []
    ten_table: FirmTable | None = None
    pats: PatentTable | None = None
    ten_source = _source(sources.get("tenancy"), "tenancy", spec)
    if ten_source is not None:
        ten = open_source(
            session, ten_source, "tenancy", spec.tenancy, id_columns=("firm_id", "park")
        )
        ten_table, report, ten_notes = tenancy_firms(session, ten, fin, firms, report, bad_values)
        notes += ten_notes
    pat_source = _source(sources.get("patents"), "patents", spec)
    if pat_source is not None:
        pat = open_source(session, pat_source, "patents", spec.patents, id_columns=("firm_id",))
        pats, report, pat_notes = patent_sums(session, pat, fin, firms, report, bad_values)
        notes += pat_notes
    return assemble(fin, ten_table, pats, delta=delta, growth=growth), report, notes


def build_with_duckdb(
    sources: Mapping[str, Source | None],
    spec: ColumnMapping,
    *,
    engine: DuckDBEngine,
    bad_values: str,
    duplicates: str,
    index_base: float,
    delta: float,
    growth: float,
    output: str | Path | None,
    logs: Sequence[str],
    zeros: str,
    exits: str,
    default_logs: Sequence[str],
) -> tuple[pd.DataFrame, DropReport, list[str]] | PanelFile:
    """Run :func:`~parkimpact.build_panel` in DuckDB.

    Returns the panel's frame, drop report and notes (for ``FirmPanel``), or,
    with ``output``, the :class:`PanelFile` written there.
    """
    require_duckdb()
    from parkimpact.data._duckdb_output import write_panel
    from parkimpact.data._duckdb_panel import to_frame
    from parkimpact.data._duckdb_read import Session

    session = Session(engine.memory_limit, engine.temp_directory, engine.threads)
    try:
        panel, report, notes = _relations(
            session,
            sources,
            spec,
            bad_values=bad_values,
            duplicates=duplicates,
            index_base=index_base,
            delta=delta,
            growth=growth,
        )
        if output is None:
            return to_frame(session, panel), report, notes
        written = write_panel(
            session,
            panel,
            report,
            notes,
            output=Path(output),
            logs=logs,
            zeros=zeros,
            exits=exits,
            default_logs=default_logs,
        )
    finally:
        session.close()
    industry = "industry" if "industry" in written.columns else None
    return PanelFile(
        path=written.path,
        roles=PanelRoles("firm_id", "year", "entry_year", "exit_year", "park", industry),
        drops=written.drops,
        notes=written.notes,
        exits=exits,  # type: ignore[arg-type]
        n_obs=written.n_obs,
        n_units=written.n_units,
        columns=written.columns,
        dtypes=dict(panel.dtypes),
    )
