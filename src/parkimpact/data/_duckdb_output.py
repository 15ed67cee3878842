"""Writing a built panel to Parquet without holding it in memory.

DuckDB sorts the joined panel by firm and year (out of core) and hands it over
in Arrow batches. Each batch, less the rows of its last firm (carried into the
next batch so that no firm is split), gets ``rd_capital`` from
:func:`~parkimpact.data.rd_capital.perpetual_inventory` and ``log_<x>`` from
:func:`numpy.log` exactly as :class:`~parkimpact.FirmPanel` computes them, and
is appended to the Parquet file with :mod:`pyarrow.parquet`. Memory stays at a
few batches whatever the panel's size.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parkimpact.data._duckdb_panel import (
    Assembled,
    check_rd,
    empty_panel,
    entry_checks,
    exit_policy,
)
from parkimpact.data._duckdb_read import Session
from parkimpact.data.drops import DropReport
from parkimpact.data.rd_capital import perpetual_inventory
from parkimpact.data.sources import warn_drops, warn_notes
from parkimpact.data.validation import examples, numeric_column
from parkimpact.errors import DataFormatError

__all__ = ["Written", "write_panel"]

_BATCH = 65_536  # rows per Arrow batch: the Python side holds a few batches


@dataclass(frozen=True)
class Written:
    """What :func:`write_panel` produced: the file's columns, drops, notes and counts."""

    path: Path
    columns: tuple[str, ...]
    drops: DropReport
    notes: tuple[str, ...]
    n_obs: int
    n_units: int


@dataclass
class _LogTally:
    """Non-positive values met so far, per log column (FirmPanel.log's bookkeeping)."""

    columns: Sequence[str]
    zeros: str
    counts: list[int] = field(default_factory=list)
    shown: list[list[float]] = field(default_factory=list)
    dropped: list[list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.columns)
        self.shown = [[] for _ in self.columns]
        self.dropped = [[] for _ in self.columns]

    def keep(self, values: list[np.ndarray], firm: np.ndarray, year: np.ndarray) -> np.ndarray:
        """Count non-positive values of a chunk; the rows to keep (``zeros='drop'``)."""
        keep = np.ones(len(firm), dtype=bool)
        for i, v in enumerate(values):
            bad = (v <= 0) & keep if self.zeros == "drop" else v <= 0
            self.counts[i] += int(bad.sum())
            if self.zeros == "error" and bad.any() and len(self.shown[i]) < 3:
                seen = self.shown[i] + [float(x) for x in pd.unique(v[bad])[:3]]
                self.shown[i] = list(dict.fromkeys(seen))[:3]  # first distinct, in panel order
            if self.zeros == "drop" and bad.any():
                self.dropped[i].append((firm[bad], year[bad]))
                keep &= ~bad
        return keep

    def raise_first(self) -> None:
        """FirmPanel.log's error for the first log column with non-positive values."""
        for col, n, shown in zip(self.columns, self.counts, self.shown, strict=True):
            if n:
                raise ValueError(
                    f"{col} must be positive before taking logs; got {n} row(s) <= 0 "
                    f"(e.g. {examples(np.asarray(shown))}). Use zeros='drop' to drop and report "
                    "them, zeros='nan' to leave their log missing, or transform first (e.g. log1p)."
                )

    def apply(self, report: DropReport, dtype: Any) -> tuple[DropReport, list[str]]:
        """Record the dropped rows (one reason per column) or the notes of ``zeros='nan'``."""
        if self.zeros == "nan":
            notes = [
                f"log_{c}: {n} non-positive value(s) left missing"
                for c, n in zip(self.columns, self.counts, strict=True)
                if n
            ]
            return report, notes
        for col, parts in zip(self.columns, self.dropped, strict=True):
            if parts:
                unit = pd.Series(np.concatenate([p[0] for p in parts])).astype(dtype).to_numpy()
                time = np.concatenate([p[1] for p in parts]).astype("float64")
                report = report.record(
                    "panel", "log", f"non-positive {col} before log", unit=unit, time=time
                )
        return report, []


def _values(table: Any, column: str, computed: dict[str, np.ndarray]) -> np.ndarray:
    """A column of a chunk as float, read like ``numeric_column`` reads a panel column."""
    import pyarrow as pa

    if column in computed:
        return computed[column]
    array = table.column(column)
    if pa.types.is_floating(array.type) or pa.types.is_integer(array.type):
        return array.to_numpy(zero_copy_only=False).astype("float64")
    return numeric_column(pd.DataFrame({column: array.to_pandas()}), column, "panel")[0]


def _chunk(
    table: Any, panel: Assembled, logs: Sequence[str], tally: _LogTally, schema: Any
) -> tuple[Any, int]:
    """rd_capital, the log policy and logs for complete firms; the Arrow table and its firms."""
    import pyarrow as pa

    firm = table.column("firm_id").to_numpy(zero_copy_only=False)
    year = table.column("year").to_numpy(zero_copy_only=False)
    computed: dict[str, np.ndarray] = {}
    if panel.rd_capital:
        rd = table.column("rd").to_numpy(zero_copy_only=False).astype("float64")
        computed["rd_capital"] = perpetual_inventory(
            firm, year, rd, depreciation=panel.delta, growth=panel.growth
        )
    values = [_values(table, c, computed) for c in logs]
    keep = tally.keep(values, firm, year)
    if not keep.all():
        table = table.filter(pa.array(keep))
        computed = {k: v[keep] for k, v in computed.items()}
        values = [v[keep] for v in values]
        firm = firm[keep]
    for col, v in zip(logs, values, strict=True):
        computed[f"log_{col}"] = np.log(v, out=np.full_like(v, np.nan), where=v > 0)
    arrays = [
        pa.array(computed[f.name], type=f.type, from_pandas=True)
        if f.name in computed
        else table.column(f.name)
        for f in schema
    ]
    n_units = int((firm[1:] != firm[:-1]).sum()) + 1 if len(firm) else 0
    return pa.Table.from_arrays(arrays, schema=schema), n_units


def _schema(reader_schema: Any, columns: Sequence[str]) -> Any:
    """The output schema: the SQL columns' types, float for rd_capital and the logs."""
    import pyarrow as pa

    types = {f.name: f.type for f in reader_schema}
    return pa.schema([(c, types.get(c, pa.float64())) for c in columns])


def _stream(
    session: Session,
    panel: Assembled,
    keep: str,
    logs: Sequence[str],
    columns: Sequence[str],
    tally: _LogTally,
    path: Path,
) -> tuple[int, int]:
    """Write the panel's rows to ``path``; returns firm-years and firms written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rel = session.con.sql(panel.sql(keep))
    reader = (getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader)(_BATCH)
    schema = _schema(reader.schema, columns)
    n_obs = n_units = 0
    carry = None
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in reader:
            table = pa.Table.from_batches([batch])
            table = table if carry is None else pa.concat_tables([carry, table])
            ids = table.column("firm_id").to_numpy(zero_copy_only=False)
            if len(ids) == 0:
                continue
            cut = len(ids) - int(np.argmax(ids[::-1] != ids[-1])) if (ids != ids[-1]).any() else 0
            carry = table.slice(cut)
            if cut:
                out, firms = _chunk(table.slice(0, cut), panel, logs, tally, schema)
                writer.write_table(out)
                n_obs, n_units = n_obs + out.num_rows, n_units + firms
        if carry is not None and carry.num_rows:
            out, firms = _chunk(carry, panel, logs, tally, schema)
            writer.write_table(out)
            n_obs, n_units = n_obs + out.num_rows, n_units + firms
    return n_obs, n_units


def write_panel(
    session: Session,
    panel: Assembled,
    report: DropReport,
    notes: Sequence[str],
    *,
    output: Path,
    logs: Sequence[str],
    zeros: str,
    exits: str,
    default_logs: Sequence[str],
) -> Written:
    """Apply FirmPanel's checks, exit policy and logs and write the panel to Parquet.

    The steps, errors, warnings and notes follow the pandas engine's order:
    R&D checks, drop warnings, FirmPanel's entry checks and exit policy, logs.
    """
    check_rd(session, panel)
    n_rows = int(session.one(f"SELECT count(*) FROM {panel.fin}")[0])
    report = report.with_kept("financials", n_rows)
    warn_notes(notes)
    warn_drops(report)
    if n_rows == 0:
        empty_panel(session, panel, report, exits)
    _, t_max, entry_notes = entry_checks(session, panel)
    report = report.with_rows_in("panel", n_rows)
    keep, report, exit_notes = exit_policy(session, panel, t_max, exits, report)
    present = [c for c in logs if c in panel.columns]
    absent = [c for c in logs if c not in present]
    if absent and tuple(logs) != tuple(default_logs):
        raise DataFormatError(
            f"logs must name panel columns; got {absent} that the sources do not provide. "
            "Map them in [financials] or leave them out of logs."
        )
    columns = list(panel.columns) + [f"log_{c}" for c in present if f"log_{c}" not in panel.columns]
    tally = _LogTally(present, zeros)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    try:
        n_obs, n_units = _stream(session, panel, keep, present, columns, tally, partial)
        if zeros == "error":
            tally.raise_first()
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    report, log_notes = tally.apply(report, panel.dtypes["firm_id"])
    report = report.with_kept("panel", n_obs)
    all_notes = (*notes, *entry_notes, *exit_notes, *log_notes)
    return Written(output, tuple(columns), report, all_notes, n_obs, n_units)
