"""The firm-year panel in DuckDB: joins, age, R&D capital and FirmPanel's entry and exit rules.

:func:`assemble` writes the SELECT that joins cleaned financials, tenant firms
and zero-filled patent counts and computes ``age``, sorted by firm and year.
``rd_capital`` is computed from that sorted stream by the pandas engine's own
:func:`~parkimpact.data.rd_capital.perpetual_inventory` (a grouped vectorised
pass), so both engines give it bit for bit. :func:`to_frame` brings the panel
into pandas; :func:`entry_checks` and :func:`exit_policy` apply in SQL what
:class:`~parkimpact.FirmPanel` would, for panels written to Parquet.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from parkimpact.data._duckdb_financials import Financials, units
from parkimpact.data._duckdb_firms import FirmTable, PatentTable
from parkimpact.data._duckdb_read import Session, quote
from parkimpact.data.adapters import _ordered
from parkimpact.data.drops import DropReport
from parkimpact.data.panel import FirmPanel
from parkimpact.data.rd_capital import perpetual_inventory
from parkimpact.errors import DataFormatError, PanelNoteWarning, PanelStructureError

__all__ = [
    "Assembled",
    "assemble",
    "to_frame",
    "fix_dtypes",
    "check_rd",
    "empty_panel",
    "entry_checks",
    "exit_policy",
]

_STR = pd.StringDtype(na_value=np.nan)


@dataclass(frozen=True)
class Assembled:
    """The panel as SQL plus what is computed from its sorted rows.

    ``select`` and ``source`` form ``SELECT {select} FROM {source}``, whose
    columns are ``columns`` without ``rd_capital``; ``rd_capital`` tells whether
    the perpetual-inventory stock is added (at its place in ``columns``) with
    ``delta`` and ``growth``. ``fin`` and ``tenants`` are the relations of the
    financial rows and of the tenant firms (None without a usable register).
    """

    select: str
    source: str
    columns: tuple[str, ...]
    dtypes: Mapping[str, Any]
    rd_capital: bool
    delta: float
    growth: float
    fin: str
    tenants: str | None

    def sql(self, where: str = "true") -> str:
        """The panel's rows satisfying ``where``, in firm and year order."""
        return f"SELECT {self.select} FROM {self.source} WHERE {where} ORDER BY f.firm_id, f.year"

    def with_rd_capital(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add ``rd_capital`` to sorted rows of complete firms, at its column position."""
        if not self.rd_capital:
            return frame
        stock = perpetual_inventory(
            frame["firm_id"],
            frame["year"],
            frame["rd"],
            depreciation=self.delta,
            growth=self.growth,
        )
        frame.insert(self.columns.index("rd_capital"), "rd_capital", stock)
        return frame


def fix_dtypes(frame: pd.DataFrame, dtypes: Mapping[str, Any]) -> pd.DataFrame:
    """Give id columns the pandas engine's dtypes (integers with gaps become float)."""
    for col, dtype in dtypes.items():
        if col not in frame:
            continue
        if isinstance(dtype, np.dtype) and dtype.kind in "iub" and frame[col].isna().any():
            dtype = np.dtype(object) if dtype.kind == "b" else np.dtype("float64")
        if frame[col].dtype != dtype:
            frame[col] = frame[col].astype(dtype)
    return frame


def assemble(
    fin: Financials,
    ten: FirmTable | None,
    pats: PatentTable | None,
    *,
    delta: float,
    growth: float,
) -> Assembled:
    """The panel's SELECT in the pandas engine's column order."""
    cols = [*fin.columns, "_row"]
    exprs = {c: f"f.{quote(c)}" for c in fin.columns}
    added = ["park", "entry_year", "exit_year", *(pats.outcomes if pats else ())]
    clash = [c for c in added if c in cols]
    if clash:
        raise DataFormatError(
            f"financials must not have columns named {clash} with engine='duckdb'; got them "
            "among the financial columns. Leave them out of the mapping or rename them."
        )
    cols += ["park", "entry_year", "exit_year"]
    tenants = ten.relation if ten is not None and ten.joinable else None
    if tenants is None:
        exprs |= {
            "park": "NULL::VARCHAR",
            "entry_year": "NULL::DOUBLE",
            "exit_year": "NULL::DOUBLE",
        }
    else:
        exprs |= {c: f"t.{c}" for c in ("park", "entry_year", "exit_year")}
    if pats is not None:
        cols += list(pats.outcomes)
        zero = "coalesce(p.{}, 0.0)" if pats.joinable else "0.0"
        exprs |= {o: zero.format(o) for o in pats.outcomes}
    if "founded" in cols:
        cols += [] if "age" in cols else ["age"]
        exprs["age"] = "f.year - f.founded"
    ordered = _ordered(pd.Index(cols))
    rd_capital = "rd" in cols and "rd_capital" not in cols
    if rd_capital:
        ordered = _ordered(pd.Index([*ordered, "rd_capital"]))
    source = f"{fin.relation} f"
    if tenants is not None:
        source += f" LEFT JOIN {tenants} t ON t.firm_id = f.firm_id"
    if pats is not None and pats.joinable:
        source += f" LEFT JOIN {pats.relation} p ON p.firm_id = f.firm_id AND p.year = f.year"
    final = tuple(c for c in ordered if c != "_row")
    select = ", ".join(f"{exprs[c]} AS {quote(c)}" for c in final if c != "rd_capital")
    dtypes = {"firm_id": fin.dtypes["firm_id"], "year": np.dtype("int64")}
    if "industry" in fin.dtypes:
        dtypes["industry"] = fin.dtypes["industry"]
    dtypes["park"] = _STR if ten is None else ten.park_dtype
    return Assembled(
        select, source, final, dtypes, rd_capital, delta, growth, fin.relation, tenants
    )


def to_frame(session: Session, panel: Assembled) -> pd.DataFrame:
    """The assembled panel as a pandas DataFrame with the pandas engine's dtypes.

    ``rd_capital`` is added to the Arrow table before the one conversion to
    pandas, so that the frame's float columns share one block.
    """
    import pyarrow as pa

    table = session.arrow(panel.sql())
    if panel.rd_capital:
        stock = perpetual_inventory(
            table.column("firm_id").to_numpy(zero_copy_only=False),
            table.column("year").to_numpy(zero_copy_only=False),
            table.column("rd").to_numpy(zero_copy_only=False),
            depreciation=panel.delta,
            growth=panel.growth,
        )
        table = table.add_column(panel.columns.index("rd_capital"), "rd_capital", pa.array(stock))
    return fix_dtypes(table.to_pandas(), panel.dtypes)


def check_rd(session: Session, panel: Assembled) -> None:
    """The perpetual inventory's checks (settings, negative spending) before streaming."""
    if not panel.rd_capital:
        return
    perpetual_inventory([], [], [], depreciation=panel.delta, growth=panel.growth)
    n_negative = session.one(f"SELECT count(*) FILTER (WHERE rd < 0) FROM {panel.fin}")[0]
    if n_negative:
        raise ValueError(
            f"R&D spending must be non-negative; got {int(n_negative)} negative value(s). "
            "Correct the source or set them to missing."
        )


def empty_panel(session: Session, panel: Assembled, report: DropReport, exits: str) -> None:
    """Let FirmPanel raise its own error for a panel without rows."""
    frame = fix_dtypes(session.arrow(panel.sql("false")).to_pandas(), panel.dtypes)
    FirmPanel(
        panel.with_rd_capital(frame),
        unit="firm_id",
        time="year",
        entry="entry_year",
        exit="exit_year",
        park="park",
        industry="industry" if "industry" in frame else None,
        exits=exits,  # type: ignore[arg-type]
        drops=report,
    )


def entry_checks(session: Session, panel: Assembled) -> tuple[int, int, list[str]]:
    """FirmPanel's checks of entry years (codes 0 and inf) and its notes on the window.

    Returns the first and last year and the notes.
    """
    t_min, t_max = session.one(f"SELECT min(year), max(year) FROM {panel.fin}")
    if panel.tenants is None:
        return t_min, t_max, []
    zero, inf, before, after = session.one(
        "SELECT count(*) FILTER (WHERE entry_year = 0), count(*) FILTER (WHERE isinf(entry_year)), "
        f"count(*) FILTER (WHERE entry_year <= {int(t_min)}), "
        f"count(*) FILTER (WHERE entry_year > {int(t_max)}) FROM {panel.tenants}"
    )
    for n, code in ((zero, "0"), (inf, "inf")):
        if n:
            raise PanelStructureError(
                f"entry_year must be missing for never-treated firms; got {code} for {int(n)} "
                f"firms. Use never_treated_value={code} to recode."
            )
    notes = []
    if before:
        notes.append(
            f"{int(before)} firm(s) entered a park in or before the first year {t_min} "
            "(treated throughout the sample; staggered DiD cannot use them as a cohort)"
        )
    if after:
        notes.append(
            f"{int(after)} firm(s) entered after the last year {t_max} "
            "(untreated within the sample)"
        )
    return t_min, t_max, notes


def exit_policy(
    session: Session, panel: Assembled, t_max: int, exits: str, report: DropReport
) -> tuple[str, DropReport, list[str]]:
    """FirmPanel's exit policy; returns the SQL condition of the rows it keeps."""
    if panel.tenants is None:
        return "true", report, []
    n_firms = session.one(
        f"SELECT count(*) FILTER (WHERE exit_year < {int(t_max)}) FROM {panel.tenants}"
    )[0]
    if not n_firms:
        return "true", report, []
    if exits == "error":
        raise PanelStructureError(
            f"exit_year must be missing or after the last year for an absorbing treatment; "
            f"got park exits inside the sample for {int(n_firms)} firms. Choose exits='censor' "
            "(drop years after exit) or exits='keep_treated' (intention-to-treat)."
        )
    if exits == "keep_treated":
        note = (
            f"{int(n_firms)} firm(s) left their park; kept as treated after exit "
            "(intention-to-treat)"
        )
        warnings.warn(note, PanelNoteWarning, stacklevel=5)
        return "true", report, [note]
    after = "coalesce(f.year > t.exit_year, false)"
    gone = session.arrow(
        f"SELECT f.firm_id, f.year FROM {panel.fin} f JOIN {panel.tenants} t "
        f"ON t.firm_id = f.firm_id WHERE {after} ORDER BY f.firm_id, f.year"
    )
    report = report.record(
        "panel",
        "exits",
        "year after park exit (exits='censor')",
        unit=units(gone.column("firm_id"), panel.dtypes["firm_id"]),
        time=gone.column("year").to_numpy().astype("float64"),
    )
    note = f"{int(n_firms)} firm(s) left their park; their years after exit were censored"
    return f"NOT {after}", report, [note]
