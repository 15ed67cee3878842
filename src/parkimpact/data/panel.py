"""`FirmPanel`: the one firm-year panel container, with declared roles and row accounting."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.data.validation import (
    constant_within,
    examples,
    integer_years,
    key_order,
    numeric_column,
    require_columns,
    varies_within_sorted,
)
from parkimpact.errors import PanelNoteWarning, PanelStructureError

__all__ = ["FirmPanel", "PanelRoles", "ExitPolicy", "ZeroPolicy"]

ExitPolicy = Literal["error", "censor", "keep_treated"]
ZeroPolicy = Literal["error", "drop", "nan"]
_EXIT_POLICIES = ("error", "censor", "keep_treated")
_ZERO_POLICIES = ("error", "drop", "nan")


@dataclass(frozen=True)
class PanelRoles:
    """Which column plays which role. Only ``unit`` and ``time`` are required."""

    unit: str
    time: str
    entry: str | None = None
    exit: str | None = None
    park: str | None = None
    industry: str | None = None
    weights: str | None = None

    def declared(self) -> dict[str, str]:
        """Roles that name a column, as ``{role: column}``."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


class FirmPanel:
    """An immutable firm-year panel with declared roles and a drop report.

    Parameters
    ----------
    data
        One row per unit and year.
    unit, time
        Firm identifier and integer year columns.
    entry
        Year of first entry into a park; missing for never-treated firms. The
        treatment is ``in_park_it = 1[t >= entry_i]``.
    exit
        Year the firm left the park (missing while it stays).
    park, industry, weights
        Optional firm-level columns: the park entered, the industry code and a
        sampling weight (non-negative, constant within a firm).
    never_treated_value
        A code used for never-treated firms in ``entry`` (``0`` or ``inf``),
        recoded to missing. Without it a 0 in ``entry`` is an error.
    exits
        Policy for treatment reversal (firms whose ``exit`` year falls inside the
        sample): ``"error"`` raises; ``"censor"`` drops the firm's years after
        its exit year (recorded in the drop report); ``"keep_treated"`` keeps them
        and treats entry as absorbing (intention-to-treat).
    drops
        A drop report inherited from the step that built ``data``.
    notes
        Notes inherited from the step that built ``data`` (shown by ``describe``).

    Notes
    -----
    Every transformation returns a new panel; rows removed by any of them are
    recorded in :attr:`drops` so that rows in = rows kept + rows reported.
    """

    __slots__ = ("_data", "_roles", "_drops", "_notes", "_exits")

    _data: pd.DataFrame
    _roles: PanelRoles
    _drops: DropReport
    _notes: tuple[str, ...]
    _exits: ExitPolicy

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        unit: str,
        time: str,
        entry: str | None = None,
        exit: str | None = None,
        park: str | None = None,
        industry: str | None = None,
        weights: str | None = None,
        never_treated_value: float | None = None,
        exits: ExitPolicy = "error",
        drops: DropReport | None = None,
        notes: Sequence[str] = (),
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"data must be a pandas DataFrame; got {type(data).__name__}.")
        if exits not in _EXIT_POLICIES:
            raise ValueError(
                f"The 'exits' parameter of FirmPanel must be one of {_EXIT_POLICIES}. "
                f"Got {exits!r} instead."
            )
        if never_treated_value is not None and never_treated_value not in (0, np.inf):
            raise ValueError(
                "never_treated_value must be 0 or inf; got "
                f"{never_treated_value!r}. Recode other codes to missing before building."
            )
        roles = PanelRoles(unit, time, entry, exit, park, industry, weights)
        require_columns(data, list(roles.declared().values()), "data")
        if data.empty:
            dropped = (
                ""
                if drops is None or not len(drops)
                else (f" after {len(drops)} row(s) were dropped:\n{drops.summary()}\n")
            )
            raise PanelStructureError(
                f"data must have at least one row; got 0{dropped}. Check the sources and the "
                "drop report."
            )
        frame = data.copy()
        frame[time] = integer_years(frame, time, "time")
        if frame[unit].isna().any():
            raise PanelStructureError(
                f"unit column {unit!r} must not be missing; got {int(frame[unit].isna().sum())} "
                "missing row(s). Drop them or assign identifiers before building the panel."
            )
        order = key_order(frame, unit, time, "data")
        if order is not None:
            frame = frame.take(order).reset_index(drop=True)
        notes = [str(n) for n in notes]
        if entry is not None:
            frame[entry] = _entry_years(frame, roles, never_treated_value)
            notes += _entry_window_notes(frame, roles)
        if exit is not None:
            frame[exit] = _exit_years(frame, roles)
        if weights is not None:
            frame[weights] = _unit_weights(frame, roles)
        report = (DropReport() if drops is None else drops).with_rows_in("panel", len(frame))
        frame, report, exit_notes = _apply_exit_policy(frame, roles, exits, report)
        self._set(frame, roles, report, tuple(notes + exit_notes), exits)

    # ------------------------------------------------------------------ internals
    def _set(
        self,
        data: pd.DataFrame,
        roles: PanelRoles,
        drops: DropReport,
        notes: tuple[str, ...],
        exits: ExitPolicy,
    ) -> None:
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_roles", roles)
        object.__setattr__(self, "_drops", drops)
        object.__setattr__(self, "_notes", notes)
        object.__setattr__(self, "_exits", exits)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FirmPanel is immutable; its methods return new panels.")

    def _new(
        self,
        data: pd.DataFrame | None = None,
        drops: DropReport | None = None,
        notes: Sequence[str] = (),
    ) -> FirmPanel:
        panel = object.__new__(FirmPanel)
        panel._set(
            self._data if data is None else data.reset_index(drop=True),
            self._roles,
            self._drops if drops is None else drops,
            self._notes + tuple(notes),
            self._exits,
        )
        return panel

    # ------------------------------------------------------------------ access
    @property
    def data(self) -> pd.DataFrame:
        """The panel's rows (a copy-on-write copy: changing it does not change the panel)."""
        return self._data.copy(deep=False)

    @property
    def roles(self) -> PanelRoles:
        """Declared roles."""
        return self._roles

    @property
    def drops(self) -> DropReport:
        """Rows removed on the way to this panel, with reasons and per-source accounting."""
        return self._drops.with_kept("panel", self.n_obs)

    @property
    def notes(self) -> tuple[str, ...]:
        """Things about the panel worth reporting (entry outside the window, exits)."""
        return self._notes

    @property
    def exits(self) -> ExitPolicy:
        """The exit policy the panel was built with."""
        return self._exits

    def column(self, name: str) -> pd.Series:
        """One column (a copy), by column name or role name (``"unit"``, ``"entry"`` ...)."""
        col = self._roles.declared().get(name, name)
        require_columns(self._data, [col], "panel")
        return self._data[col].copy()

    def __len__(self) -> int:
        return len(self._data)

    @property
    def n_obs(self) -> int:
        """Number of firm-years."""
        return len(self._data)

    @property
    def n_units(self) -> int:
        """Number of firms."""
        return int(self._data[self._roles.unit].nunique())

    @property
    def years(self) -> np.ndarray:
        """Sorted distinct years."""
        return np.sort(self._data[self._roles.time].unique())

    @property
    def is_balanced(self) -> bool:
        """Whether every firm is observed in every year of the panel."""
        return self.n_obs == self.n_units * len(self.years)

    def fingerprint(self) -> str:
        """SHA-256 of the panel's rows and roles: equal data give equal fingerprints."""
        hashes = pd.util.hash_pandas_object(self._data, index=False).to_numpy()
        digest = hashlib.sha256(hashes.tobytes())
        digest.update(repr((list(self._data.columns), self._roles)).encode())
        return digest.hexdigest()

    # ------------------------------------------------------------- derived columns
    def in_park(self) -> pd.Series:
        """Treatment indicator ``1[t >= entry]`` (absorbing), aligned with :attr:`data`."""
        entry = self.require_role("entry")
        t = self._data[self._roles.time].to_numpy()
        flag = t >= self._data[entry].to_numpy()  # NaN entry compares False
        return pd.Series(flag.astype("int8"), index=self._data.index, name="in_park")

    def event_time(self) -> pd.Series:
        """Years since entry ``t - entry`` (NaN for never-treated firms)."""
        entry = self.require_role("entry")
        values = self._data[self._roles.time].to_numpy() - self._data[entry].to_numpy()
        return pd.Series(values.astype("float64"), index=self._data.index, name="event_time")

    def with_derived(self, *names: Literal["in_park", "event_time"]) -> FirmPanel:
        """A new panel with derived columns added (default: both)."""
        makers: dict[str, Callable[[], pd.Series]] = {
            "in_park": self.in_park,
            "event_time": self.event_time,
        }
        wanted = names or tuple(makers)
        unknown = [n for n in wanted if n not in makers]
        if unknown:
            raise ValueError(f"derived columns must be in {tuple(makers)}; got {unknown}.")
        data = self._data.copy()
        for name in wanted:
            data[name] = makers[name]()
        return self._new(data)

    def require_role(self, role: str, purpose: str = "this operation") -> str:
        """The column of ``role``, or a ValueError naming the role, the purpose and the fix."""
        column = getattr(self._roles, role)
        if column is None:
            raise ValueError(
                f"panel role {role!r} must be declared for {purpose}; got none. "
                f"Build the panel with FirmPanel(..., {role}='<column>')."
            )
        return column

    # ------------------------------------------------------------ transformations
    def assign(self, **columns: Any) -> FirmPanel:
        """A new panel with columns added or replaced (arrays, Series or callables of data)."""
        data = self._data.copy()
        protected = set(self._roles.declared().values()) & set(columns)
        if protected:
            raise ValueError(
                f"assign must not overwrite role columns; got {sorted(protected)}. "
                "Build a new FirmPanel to change roles."
            )
        for name, value in columns.items():
            data[name] = value(data) if callable(value) else value
        return self._new(data)

    def drop_rows(self, mask: np.ndarray | pd.Series, *, step: str, reason: str) -> FirmPanel:
        """A new panel without the rows where ``mask`` is true, recorded in the drop report."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.n_obs,):
            raise ValueError(f"mask must have one entry per row ({self.n_obs}); got {mask.shape}.")
        if not mask.any():
            return self
        gone = self._data.loc[mask]
        drops = self._drops.record(
            "panel",
            step,
            reason,
            unit=gone[self._roles.unit].to_numpy(),
            time=gone[self._roles.time].to_numpy(),
            warn=True,
        )
        return self._new(self._data.loc[~mask], drops)

    def dropna(self, columns: Sequence[str], *, step: str = "dropna") -> FirmPanel:
        """Drop rows with a missing value in any of ``columns``, one reason per column."""
        require_columns(self._data, list(columns), "panel")
        panel = self
        for col in columns:
            missing = panel._data[col].isna().to_numpy()
            panel = panel.drop_rows(missing, step=step, reason=f"missing {col}")
        return panel

    def log(
        self, columns: Sequence[str], *, zeros: ZeroPolicy = "error", prefix: str = "log_"
    ) -> FirmPanel:
        """Add ``prefix + column = ln(column)`` for each column.

        ``zeros`` handles non-positive values: ``"error"`` raises naming the
        column and count, ``"drop"`` drops those rows (reported), ``"nan"`` leaves
        the log missing (noted). Missing values stay missing.
        """
        if zeros not in _ZERO_POLICIES:
            raise ValueError(
                f"The 'zeros' parameter of log must be one of {_ZERO_POLICIES}. "
                f"Got {zeros!r} instead."
            )
        require_columns(self._data, list(columns), "panel")
        panel, notes = self, []
        for col in columns:
            values = numeric_column(panel._data, col, "panel")[0]
            bad = values <= 0
            if bad.any() and zeros == "error":
                raise ValueError(
                    f"{col} must be positive before taking logs; got {int(bad.sum())} row(s) <= 0 "
                    f"(e.g. {examples(values[bad])}). Use zeros='drop' to drop and report them, "
                    "zeros='nan' to leave their log missing, or transform first (e.g. log1p)."
                )
            if bad.any() and zeros == "drop":
                panel = panel.drop_rows(bad, step="log", reason=f"non-positive {col} before log")
            elif bad.any():
                notes.append(f"log_{col}: {int(bad.sum())} non-positive value(s) left missing")
        data = panel._data.copy()
        for col in columns:
            values = numeric_column(data, col, "panel")[0]
            data[prefix + col] = np.log(values, out=np.full_like(values, np.nan), where=values > 0)
        return panel._new(data, notes=notes)

    def balance(self) -> FirmPanel:
        """Keep the firms observed in every year of the panel; the others are reported."""
        unit = self._roles.unit
        counts = self._data.groupby(unit, sort=False)[unit].transform("size").to_numpy()
        return self.drop_rows(
            counts < len(self.years), step="balance", reason="firm not observed in every year"
        )

    def select_years(self, first: int | None = None, last: int | None = None) -> FirmPanel:
        """Keep years in ``[first, last]``; the others are reported."""
        t = self._data[self._roles.time].to_numpy()
        outside = np.zeros(len(t), dtype=bool)
        if first is not None:
            outside |= t < first
        if last is not None:
            outside |= t > last
        return self.drop_rows(
            outside, step="select_years", reason=f"year outside [{first}, {last}]"
        )

    # ---------------------------------------------------------------- describing
    def cohorts(self) -> pd.DataFrame:
        """Entry cohorts: size, rows, and first and last observed year (never-treated last)."""
        from parkimpact.data.describe import cohort_table

        return cohort_table(self)

    def describe(self) -> str:
        """A readable description: size, years, balance, cohorts, notes and drops."""
        from parkimpact.data.describe import describe_panel

        return describe_panel(self)

    def __repr__(self) -> str:
        return (
            f"FirmPanel({self.n_obs} firm-years, {self.n_units} firms, "
            f"{self.years.min() if self.n_obs else '-'}-{self.years.max() if self.n_obs else '-'}, "
            f"roles={self._roles.declared()})"
        )

    def replace_roles(self, **roles: str | None) -> FirmPanel:
        """A new panel with some roles renamed (columns must exist; no re-validation of values)."""
        new_roles = replace(self._roles, **roles)
        require_columns(self._data, list(new_roles.declared().values()), "panel")
        panel = self._new()
        object.__setattr__(panel, "_roles", new_roles)
        return panel


# ---------------------------------------------------------------------- helpers
def _entry_years(frame: pd.DataFrame, roles: PanelRoles, never_value: float | None) -> np.ndarray:
    entry = roles.entry
    values, bad = numeric_column(frame, entry, "entry")  # type: ignore[arg-type]
    if bad.any():
        raise PanelStructureError(
            f"entry column {entry!r} must hold years; got text in {int(bad.sum())} row(s) "
            f"(e.g. {examples(frame.loc[bad, entry])}). Convert it with pd.to_numeric."
        )
    if never_value is not None:
        values = np.where(values == never_value, np.nan, values)
    zeros = values == 0
    if zeros.any():
        n_firms = frame.loc[zeros, roles.unit].nunique()
        raise PanelStructureError(
            f"{entry} must be missing for never-treated firms; got 0 for {n_firms} firms. "
            "Use never_treated_value=0 to recode."
        )
    if np.isinf(values).any():
        n_firms = frame.loc[np.isinf(values), roles.unit].nunique()
        raise PanelStructureError(
            f"{entry} must be missing for never-treated firms; got inf for {n_firms} firms. "
            "Use never_treated_value=inf to recode."
        )
    finite = ~np.isnan(values)
    if (values[finite] != np.round(values[finite])).any():
        raise PanelStructureError(
            f"entry column {entry!r} must hold integer years; got fractional values "
            f"(e.g. {examples(values[finite][values[finite] != np.round(values[finite])])}). "
            "Convert entry dates to years first."
        )
    if varies_within_sorted(frame[roles.unit].to_numpy(), values):
        constant_within(
            frame.assign(**{entry: values}),
            roles.unit,
            entry,
            "entry",  # type: ignore[arg-type]
            hint="Entry is the year of FIRST entry; use the tenancy adapter to derive it from "
            "spells.",
        )
    return values


def _entry_window_notes(frame: pd.DataFrame, roles: PanelRoles) -> list[str]:
    t = frame[roles.time].to_numpy()
    firm_entry = frame.groupby(roles.unit, sort=False)[roles.entry].first()
    before = int((firm_entry <= t.min()).sum())
    after = int((firm_entry > t.max()).sum())
    notes = []
    if before:
        notes.append(
            f"{before} firm(s) entered a park in or before the first year {t.min()} "
            "(treated throughout the sample; staggered DiD cannot use them as a cohort)"
        )
    if after:
        notes.append(
            f"{after} firm(s) entered after the last year {t.max()} (untreated within the sample)"
        )
    return notes


def _exit_years(frame: pd.DataFrame, roles: PanelRoles) -> np.ndarray:
    exit_col = roles.exit
    values, bad = numeric_column(frame, exit_col, "exit")  # type: ignore[arg-type]
    if bad.any():
        raise PanelStructureError(
            f"exit column {exit_col!r} must hold years; got text in {int(bad.sum())} row(s). "
            "Convert it with pd.to_numeric."
        )
    if varies_within_sorted(frame[roles.unit].to_numpy(), values):
        constant_within(
            frame.assign(**{exit_col: values}),
            roles.unit,
            exit_col,
            "exit",  # type: ignore[arg-type]
            hint="Give the year the firm left its park, the same on every row of the firm.",
        )
    if roles.entry is None:
        if (~np.isnan(values)).any():
            raise PanelStructureError(
                f"exit column {exit_col!r} needs an entry column; got exits for "
                f"{frame.loc[~np.isnan(values), roles.unit].nunique()} firms and no entry role. "
                "Declare entry=... as well."
            )
        return values
    entry = frame[roles.entry].to_numpy()
    no_entry = ~np.isnan(values) & np.isnan(entry)
    late = values < entry
    for bad_rows, what in ((no_entry, "an exit but no entry"), (late, "entry after exit")):
        if bad_rows.any():
            n = frame.loc[bad_rows, roles.unit].nunique()
            raise PanelStructureError(
                f"{exit_col} must be on or after {roles.entry}; got {what} for {n} firm(s) "
                f"(e.g. {examples(frame.loc[bad_rows, roles.unit])}). Correct the tenancy dates."
            )
    return values


def _unit_weights(frame: pd.DataFrame, roles: PanelRoles) -> np.ndarray:
    col = roles.weights
    values, bad = numeric_column(frame, col, "weights")  # type: ignore[arg-type]
    invalid = bad | np.isnan(values) | (values < 0)
    if invalid.any():
        raise PanelStructureError(
            f"weights column {col!r} must be non-negative numbers; got {int(invalid.sum())} "
            "missing, negative or text value(s). Fix or drop those rows first."
        )
    if varies_within_sorted(frame[roles.unit].to_numpy(), values):
        constant_within(
            frame.assign(**{col: values}),
            roles.unit,
            col,
            "weights",  # type: ignore[arg-type]
            hint="Sampling weights are firm-level; use one weight per firm.",
        )
    return values


def _apply_exit_policy(
    frame: pd.DataFrame, roles: PanelRoles, policy: ExitPolicy, report: DropReport
) -> tuple[pd.DataFrame, DropReport, list[str]]:
    if roles.exit is None:
        return frame, report, []
    t = frame[roles.time].to_numpy()
    exit_year = frame[roles.exit].to_numpy()
    leavers = ~np.isnan(exit_year) & (exit_year < t.max())
    n_firms = int(frame.loc[leavers, roles.unit].nunique())
    if n_firms == 0:
        return frame, report, []
    if policy == "error":
        raise PanelStructureError(
            f"{roles.exit} must be missing or after the last year for an absorbing treatment; "
            f"got park exits inside the sample for {n_firms} firms. Choose exits='censor' "
            "(drop years after exit) or exits='keep_treated' (intention-to-treat)."
        )
    if policy == "keep_treated":
        note = f"{n_firms} firm(s) left their park; kept as treated after exit (intention-to-treat)"
        warnings.warn(note, PanelNoteWarning, stacklevel=4)
        return frame, report, [note]
    after = t > exit_year  # NaN exit compares False
    gone = frame.loc[after]
    report = report.record(
        "panel",
        "exits",
        "year after park exit (exits='censor')",
        unit=gone[roles.unit].to_numpy(),
        time=gone[roles.time].to_numpy(),
    )
    note = f"{n_firms} firm(s) left their park; their years after exit were censored"
    return frame.loc[~after].reset_index(drop=True), report, [note]
