r"""Group-time cells of the Callaway-Sant'Anna estimator, built from a wide firm x year panel.

The long panel is pivoted once into firm-by-year arrays (outcome, covariates,
an observed mask) with one row per firm. A cell :math:`(g, t)` then only needs
column arithmetic: the outcome change :math:`Y_{\cdot t} - Y_{\cdot b}` between
year :math:`t` and its base year :math:`b`, the members (cohort :math:`g` and
the comparison firms, observed in both years) and the covariates of the
earlier of the two years.

Base years (as R ``did`` 2.x): a post-entry cell (:math:`t \ge g`) compares
with :math:`b = g - 1 - \delta` (the last sample year before
:math:`g - \delta`, :math:`\delta` the anticipation); a pre-entry cell
compares with the previous sample year under ``base_period="varying"`` and
with :math:`g - 1 - \delta` under ``"universal"`` (which also reports the
reference cell :math:`t = b` itself as 0).

Comparison firms: never-treated firms (no entry, or entry after the last
sample year plus the anticipation) or, for ``"not_yet_treated"``, also firms
with entry :math:`> \max(t, b) + \delta` other than cohort :math:`g`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["WidePanel", "CellSpec", "CellMembers", "to_wide", "plan_cells", "cell_members"]


@dataclass(frozen=True, eq=False)
class WidePanel:
    """A firm x year panel as arrays, one row per firm.

    Attributes
    ----------
    unit_ids : numpy.ndarray
        Firm identifiers in sorted order, shape ``(n,)``.
    years : numpy.ndarray
        Sorted sample years, shape ``(T,)``.
    cohort : numpy.ndarray
        Entry cohort of each firm (float; NaN for never-treated firms).
    outcome : numpy.ndarray
        Outcome, shape ``(n, T)``; NaN where the firm is not observed.
    observed : numpy.ndarray
        Boolean ``(n, T)``: the firm has a row with an outcome in that year.
    covariates : numpy.ndarray or None
        Covariates, shape ``(n, T, k)``.
    weights : numpy.ndarray
        Firm-level sampling weights, shape ``(n,)``.
    clusters : numpy.ndarray or None
        Firm-level cluster labels.
    groups : numpy.ndarray or None
        Firm-level subgroup labels (heterogeneity ``by``).
    """

    unit_ids: np.ndarray
    years: np.ndarray
    cohort: np.ndarray
    outcome: np.ndarray
    observed: np.ndarray
    covariates: np.ndarray | None
    weights: np.ndarray
    clusters: np.ndarray | None
    groups: np.ndarray | None

    @property
    def n_units(self) -> int:
        """Number of firms."""
        return int(self.unit_ids.shape[0])

    @property
    def balanced(self) -> bool:
        """Whether every firm is observed in every year."""
        return bool(self.observed.all())

    def subset(self, rows: np.ndarray) -> WidePanel:
        """The firms at positions ``rows`` (same years)."""

        def take(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows]

        return WidePanel(
            self.unit_ids[rows],
            self.years,
            self.cohort[rows],
            self.outcome[rows],
            self.observed[rows],
            take(self.covariates),
            self.weights[rows],
            take(self.clusters),
            take(self.groups),
        )


@dataclass(frozen=True)
class CellSpec:
    """One group-time cell: cohort, year, base year and comparison rule.

    Attributes
    ----------
    cohort, year, base : int
        Entry cohort :math:`g`, year :math:`t` and base year :math:`b`.
    t_index, base_index : int
        Positions of :math:`t` and :math:`b` in the sample years.
    post : bool
        :math:`t \\ge g`.
    reference : bool
        The universal base cell :math:`t = b` (estimate 0 by construction).
    cutoff : float
        Comparison firms have entry after this year (``inf``: never-treated only).
    """

    cohort: int
    year: int
    base: int
    t_index: int
    base_index: int
    post: bool
    reference: bool
    cutoff: float

    @property
    def early_index(self) -> int:
        """Position of the earlier of the two years (its covariates are used)."""
        return min(self.t_index, self.base_index)


def _first_rows(codes: np.ndarray, n: int) -> np.ndarray:
    """Position of each firm's first row."""
    first = np.full(n, codes.shape[0], dtype=np.intp)
    np.minimum.at(first, codes, np.arange(codes.shape[0], dtype=np.intp))
    return first


def to_wide(
    frame: pd.DataFrame,
    *,
    unit: str,
    time: str,
    entry: str,
    outcome: str,
    covariates: Sequence[str],
    weights: str | None,
    cluster: str | None,
    by: str | None,
) -> WidePanel:
    """Pivot a long panel (no missing outcome or covariate) into a :class:`WidePanel`.

    Firm-level columns (entry, weights, cluster, by) are read from each firm's
    first row; the caller has checked they are constant within firms.
    """
    codes, ids = pd.factorize(frame[unit], sort=True)
    ids = np.asarray(ids)
    years = np.sort(pd.unique(frame[time].to_numpy()))
    t_index = np.searchsorted(years, frame[time].to_numpy())
    n, n_years = ids.shape[0], years.shape[0]
    y = np.full((n, n_years), np.nan)
    y[codes, t_index] = frame[outcome].to_numpy(dtype=float)
    observed = np.zeros((n, n_years), dtype=bool)
    observed[codes, t_index] = True
    x = None
    if covariates:
        x = np.full((n, n_years, len(covariates)), np.nan)
        x[codes, t_index, :] = frame[list(covariates)].to_numpy(dtype=float)
    first = _first_rows(codes, n)

    def firm_values(column: str | None) -> np.ndarray | None:
        return None if column is None else frame[column].to_numpy()[first]

    return WidePanel(
        unit_ids=ids,
        years=years.astype(np.int64),
        cohort=frame[entry].to_numpy(dtype=float)[first],
        outcome=y,
        observed=observed,
        covariates=x,
        weights=np.ones(n) if weights is None else frame[weights].to_numpy(dtype=float)[first],
        clusters=firm_values(cluster),
        groups=firm_values(by),
    )


def _base_index(years: np.ndarray, cohort: int, anticipation: int) -> int:
    """Position of the last year ``y`` with ``y + anticipation < cohort`` (-1 if none)."""
    return int(np.searchsorted(years, cohort - anticipation, side="left")) - 1


def plan_cells(
    cohorts: np.ndarray,
    years: np.ndarray,
    *,
    base_period: str,
    anticipation: int,
    control_group: str,
) -> list[CellSpec]:
    """All cells in R ``did`` order (cohort, then year), for cohorts with a base year.

    Under ``base_period="varying"`` the first year has no cell; under
    ``"universal"`` every year has one.
    """
    cells = []
    start = 1 if base_period == "varying" else 0
    for g in cohorts:
        g = int(g)
        fixed = _base_index(years, g, anticipation)
        if fixed < 0:
            continue
        for ti in range(start, years.shape[0]):
            t = int(years[ti])
            post = t >= g
            bi = fixed if (post or base_period == "universal") else ti - 1
            later = max(t, int(years[bi]))
            cutoff = np.inf if control_group == "never_treated" else float(later + anticipation)
            cells.append(
                CellSpec(
                    g,
                    t,
                    int(years[bi]),
                    ti,
                    bi,
                    post,
                    base_period == "universal" and ti == bi,
                    cutoff,
                )
            )
    return cells


class CellMembers:
    """The members of every cell of one panel (firm masks computed once per cohort).

    Members of cell :math:`(g, t)` are the firms of cohort :math:`g` and the
    comparison firms, observed in both the year and the base year.
    """

    def __init__(self, wide: WidePanel) -> None:
        self.wide = wide
        self.never = np.isnan(wide.cohort)
        self._eligible: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = {}

    def _masks(self, cell: CellSpec) -> tuple[np.ndarray, np.ndarray]:
        key = (cell.cohort, cell.cutoff)
        if key not in self._eligible:
            cohort = self.wide.cohort
            treated = cohort == cell.cohort
            if np.isinf(cell.cutoff):
                control = self.never
            else:
                with np.errstate(invalid="ignore"):
                    control = self.never | ((cohort > cell.cutoff) & ~treated)
            self._eligible[key] = (treated, treated | control)
        return self._eligible[key]

    def __call__(self, cell: CellSpec) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, treated)``: positions of the cell's firms and a boolean treated flag."""
        treated, eligible = self._masks(cell)
        observed = self.wide.observed
        rows = (eligible & observed[:, cell.t_index] & observed[:, cell.base_index]).nonzero()[0]
        return rows, treated[rows]


def cell_members(wide: WidePanel, cell: CellSpec) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the cell's firms and their treatment indicator (see :class:`CellMembers`).

    Returns
    -------
    tuple of numpy.ndarray
        ``(rows, treated)``: firm positions and a boolean treated flag.
    """
    return CellMembers(wide)(cell)
