"""Row accounting: every removed row is recorded with its source, step and reason.

The invariant the package keeps, for each source table: ``rows in = rows kept +
rows reported``. A :class:`DropReport` is immutable; recording drops returns a
new report. It travels with :class:`parkimpact.FirmPanel` and with every result
computed from a panel.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from parkimpact.errors import DroppedRowsWarning

__all__ = ["DropReport", "DROP_COLUMNS"]

#: Columns of :meth:`DropReport.to_frame`. ``row`` is the 0-based position of the
#: row in its source table as read (NaN for rows created inside the package).
DROP_COLUMNS: tuple[str, ...] = ("source", "step", "reason", "unit", "time", "row")


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": pd.Series(dtype=object),
            "step": pd.Series(dtype=object),
            "reason": pd.Series(dtype=object),
            "unit": pd.Series(dtype=object),
            "time": pd.Series(dtype="float64"),
            "row": pd.Series(dtype="float64"),
        }
    )


@dataclass(frozen=True, eq=False)
class DropReport:
    """Immutable record of removed rows and of the row counts of each source.

    Parameters
    ----------
    frame
        One row per removed row with columns :data:`DROP_COLUMNS`.
    rows_in
        Number of rows read per source (``{"financials": 5230, ...}``).

    Notes
    -----
    ``accounting()`` checks ``rows_in == rows_kept + rows_dropped`` for each
    source once the kept counts are known (``with_kept``).
    """

    frame: pd.DataFrame = field(default_factory=_empty_frame)
    rows_in: tuple[tuple[str, int], ...] = ()
    rows_kept: tuple[tuple[str, int], ...] = ()

    # ------------------------------------------------------------------ building
    def record(
        self,
        source: str,
        step: str,
        reason: str,
        *,
        unit: Iterable[object] | None = None,
        time: Iterable[float] | None = None,
        row: Iterable[float] | None = None,
        warn: bool = True,
    ) -> DropReport:
        """Return a new report with rows added under one ``(source, step, reason)``.

        Give the dropped rows by ``unit`` and ``time`` keys and/or by ``row``
        position in the source; arrays must have equal length. Issues a
        :class:`~parkimpact.errors.DroppedRowsWarning` naming the count and reason
        unless ``warn=False``.
        """
        arrays = {k: v for k, v in (("unit", unit), ("time", time), ("row", row)) if v is not None}
        if not arrays:
            raise ValueError("record needs unit/time keys or row positions; got neither.")
        lengths = {k: len(np.asarray(v, dtype=object)) for k, v in arrays.items()}
        n = next(iter(lengths.values()))
        if len(set(lengths.values())) != 1:
            raise ValueError(f"unit, time and row must have equal lengths; got {lengths}.")
        if n == 0:
            return self
        new = pd.DataFrame(
            {
                "source": [source] * n,
                "step": [step] * n,
                "reason": [reason] * n,
                "unit": np.asarray(unit, dtype=object) if unit is not None else [None] * n,
                "time": np.asarray(time, dtype="float64") if time is not None else np.nan,
                "row": np.asarray(row, dtype="float64") if row is not None else np.nan,
            }
        )
        frame = new if self.frame.empty else pd.concat([self.frame, new], ignore_index=True)
        if warn:
            warnings.warn(
                f"{n} row(s) of {source} dropped at step '{step}': {reason}. "
                "See the drop report (.drops) for the rows.",
                DroppedRowsWarning,
                stacklevel=3,
            )
        return DropReport(frame=frame, rows_in=self.rows_in, rows_kept=self.rows_kept)

    def with_rows_in(self, source: str, n: int) -> DropReport:
        """Return a new report that knows ``n`` rows were read from ``source``."""
        counts = dict(self.rows_in)
        counts[source] = int(n)
        return DropReport(frame=self.frame, rows_in=tuple(counts.items()), rows_kept=self.rows_kept)

    def with_kept(self, source: str, n: int) -> DropReport:
        """Return a new report that knows ``n`` rows of ``source`` were kept."""
        counts = dict(self.rows_kept)
        counts[source] = int(n)
        return DropReport(frame=self.frame, rows_in=self.rows_in, rows_kept=tuple(counts.items()))

    def merge(self, other: DropReport) -> DropReport:
        """Combine two reports (rows appended, counts of ``other`` win on conflict)."""
        frames = [f for f in (self.frame, other.frame) if not f.empty]
        frame = pd.concat(frames, ignore_index=True) if frames else _empty_frame()
        rows_in = dict(self.rows_in) | dict(other.rows_in)
        kept = dict(self.rows_kept) | dict(other.rows_kept)
        return DropReport(
            frame=frame, rows_in=tuple(rows_in.items()), rows_kept=tuple(kept.items())
        )

    # ----------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self.frame)

    def to_frame(self) -> pd.DataFrame:
        """The dropped rows, one per line, with columns :data:`DROP_COLUMNS`."""
        return self.frame.copy()

    def counts(self) -> pd.DataFrame:
        """Number of dropped rows by source, step and reason (in order of first record)."""
        if self.frame.empty:
            return pd.DataFrame(columns=["source", "step", "reason", "rows"])
        grouped = self.frame.groupby(["source", "step", "reason"], sort=False).size()
        return grouped.rename("rows").reset_index()

    def accounting(self) -> pd.DataFrame:
        """Rows in, kept and dropped for each source, and whether they add up."""
        dropped = self.frame.groupby("source", sort=False).size() if len(self) else pd.Series()
        sources = list(dict(self.rows_in)) + [
            s for s in dict(self.rows_kept) if s not in dict(self.rows_in)
        ]
        rows = []
        for source in sources:
            n_in = dict(self.rows_in).get(source)
            n_kept = dict(self.rows_kept).get(source)
            n_drop = int(dropped.get(source, 0))
            ok = n_in is not None and n_kept is not None and n_in == n_kept + n_drop
            rows.append((source, n_in, n_kept, n_drop, ok))
        return pd.DataFrame(
            rows, columns=["source", "rows_in", "rows_kept", "rows_dropped", "balanced"]
        )

    def summary(self) -> str:
        """Readable text: accounting per source, then counts by step and reason."""
        lines = ["Drop report"]
        acc = self.accounting()
        if not acc.empty:
            lines.append("  rows in = rows kept + rows dropped:")
            for rec in acc.itertuples(index=False):
                flag = "ok" if rec.balanced else "DOES NOT ADD UP"
                lines.append(
                    f"    {rec.source:<12} {rec.rows_in} = {rec.rows_kept} + "
                    f"{rec.rows_dropped}  [{flag}]"
                )
        counts = self.counts()
        if counts.empty:
            lines.append("  no rows dropped")
        for rec in counts.itertuples(index=False):
            lines.append(f"  {rec.rows:>7}  {rec.source}/{rec.step}: {rec.reason}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"DropReport({len(self)} dropped rows)"
