r"""Firm survival after park entry: spells, Kaplan-Meier curves with left truncation.

Durations are counted in whole years from an origin (a tenant's entry year).
A firm observed in years :math:`o, \dots, L` with origin :math:`g`:

- is known alive at duration :math:`a = \max(o - g, 0)`; when :math:`a > 0`
  (it entered before the panel starts, or was founded before it) it enters
  the risk set late: it is *left-truncated* and counts among those at risk
  only for durations after :math:`a` (delayed entry);
- *closes* at duration :math:`T = L - g + 1` when :math:`L` is before the
  panel's last year :math:`Y` (it is not there in :math:`L + 1`), or when a
  closure column says it closed in :math:`L`;
- is *right-censored* at :math:`C = Y - g` when it is still observed in the
  last year (alive at the end of the panel).

The Kaplan-Meier (product-limit) estimator with delayed entry is

.. math::

    \hat S(t) = \prod_{u \le t}\Big(1 - \frac{d_u}{n_u}\Big), \qquad
    n_u = \sum_i w_i\, 1[a_i < u \le T_i], \quad
    d_u = \sum_i w_i\, 1[T_i = u,\ \delta_i = 1],

with frequency weights :math:`w_i` (1 unweighted): a firm is at risk at
duration :math:`u` if it entered the risk set before :math:`u` and had not
closed or been censored before :math:`u`; censoring at :math:`u` counts as
surviving :math:`u`. Pointwise intervals use Greenwood's variance
(Tsiatis' with weights, as statsmodels' ``SurvfuncRight``) on the log-log
scale, :math:`\hat S^{\exp(\mp z\, \hat\sigma / |\ln \hat S|)}`,
:math:`\hat\sigma = \widehat{se}(\hat S)/\hat S`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from parkimpact.data.panel import FirmPanel
from parkimpact.data.validation import examples
from parkimpact.errors import PanelStructureError

__all__ = ["SurvivalCurve", "kaplan_meier", "firm_spells"]


@dataclass(frozen=True, eq=False)
class SurvivalCurve:
    """A fitted Kaplan-Meier curve.

    Attributes
    ----------
    time : numpy.ndarray
        Durations with at least one closure, increasing.
    survival, std_error : numpy.ndarray
        :math:`\\hat S` just after each of ``time`` and its standard error.
    max_time : float
        Largest observed duration: the curve is not estimated beyond it.
    level : float
        Confidence level of the pointwise intervals.
    n_uninformative : int
        Spells censored at their entry duration (no time at risk), left out.
    entry, exit, ids : numpy.ndarray
        Entry and exit durations of the spells used, and their firm ids
        (:meth:`at_risk` counts distinct firms).
    """

    time: np.ndarray
    survival: np.ndarray
    std_error: np.ndarray
    max_time: float
    level: float
    n_uninformative: int = 0
    entry: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    exit: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    ids: np.ndarray | None = field(default=None, repr=False)

    def at(self, t: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Survival and its standard error at durations ``t`` (NaN beyond ``max_time``)."""
        points = np.atleast_1d(np.asarray(t, dtype="float64"))
        idx = np.searchsorted(self.time, points, side="right") - 1
        surv = (
            np.where(idx >= 0, self.survival[np.maximum(idx, 0)], 1.0)
            if self.time.size
            else (np.ones(points.shape))
        )
        se = (
            np.where(idx >= 0, self.std_error[np.maximum(idx, 0)], 0.0)
            if self.time.size
            else (np.zeros(points.shape))
        )
        beyond = points > self.max_time
        return np.where(beyond, np.nan, surv), np.where(beyond, np.nan, se)

    def at_risk(self, t: ArrayLike) -> np.ndarray:
        """Firms at risk at each duration (``entry < t <= exit``; at 0: ``entry == 0``).

        Counts distinct ``ids`` when given (a firm with several spells counts
        once), spells otherwise; unweighted.
        """
        points = np.atleast_1d(np.asarray(t, dtype="float64"))
        counts = []
        for u in points:
            rows = (self.entry < u) & (u <= self.exit) if u > 0 else self.entry <= 0
            counts.append(int(rows.sum()) if self.ids is None else np.unique(self.ids[rows]).size)
        return np.asarray(counts, dtype="int64")

    def frame(self, grid: ArrayLike) -> pd.DataFrame:
        """``time``, ``survival``, ``conf_low``, ``conf_high``, ``at_risk`` on ``grid``."""
        points = np.atleast_1d(np.asarray(grid, dtype="float64"))
        surv, se = self.at(points)
        low, high = loglog_interval(surv, se, self.level)
        return pd.DataFrame(
            {
                "time": points,
                "survival": surv,
                "conf_low": low,
                "conf_high": high,
                "at_risk": self.at_risk(points),
            }
        )


def loglog_interval(
    surv: np.ndarray, se: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise log-log interval of a survival probability (degenerate at 0 and 1)."""
    z = stats.norm.ppf(0.5 + level / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(surv)
        sigma = se / (surv * np.abs(log_s))
        low = surv ** np.exp(z * sigma)
        high = surv ** np.exp(-z * sigma)
    degenerate = (surv >= 1.0) | (surv <= 0.0) | ~np.isfinite(sigma)
    low = np.where(degenerate, surv, low)
    high = np.where(degenerate, surv, high)
    return low, high


def _check_arrays(
    time: ArrayLike, status: ArrayLike, entry: ArrayLike | None, weights: ArrayLike | None
) -> tuple[np.ndarray, ...]:
    t = np.asarray(time, dtype="float64")
    d = np.asarray(status, dtype="float64")
    a = np.zeros_like(t) if entry is None else np.asarray(entry, dtype="float64")
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype="float64")
    if not (t.shape == d.shape == a.shape == w.shape) or t.ndim != 1:
        raise ValueError(
            f"time, status, entry and weights must be 1-d arrays of one length; got shapes "
            f"{t.shape}, {d.shape}, {a.shape}, {w.shape}. Pass one value per spell."
        )
    if not (np.isfinite(t).all() and np.isfinite(a).all()):
        raise ValueError(
            f"time and entry must be finite; got {int((~np.isfinite(t)).sum())} and "
            f"{int((~np.isfinite(a)).sum())} missing or infinite value(s). Drop those spells."
        )
    if not np.isin(d, (0.0, 1.0)).all():
        raise ValueError(
            f"status must be 0 (censored) or 1 (closed); got {examples(d[~np.isin(d, (0, 1))])}. "
            "Code closures as 1."
        )
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError("weights must be finite and non-negative; got others. Fix the weights.")
    return t, d, a, w


def kaplan_meier(
    time: ArrayLike,
    status: ArrayLike,
    *,
    entry: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    level: float = 0.95,
    ids: ArrayLike | None = None,
) -> SurvivalCurve:
    """Kaplan-Meier curve with delayed entry (left truncation) and frequency weights.

    Parameters
    ----------
    time : array_like
        Duration at closure (``status`` 1) or censoring (``status`` 0).
    status : array_like
        1 if the spell ends in a closure, 0 if censored.
    entry : array_like or None
        Duration at which the spell enters the risk set (0 without left
        truncation); the spell is at risk for durations in ``(entry, time]``.
    weights : array_like or None
        Non-negative frequency weights (e.g. inverse-probability odds).
    level : float, default 0.95
        Confidence level of the pointwise intervals.
    ids : array_like or None
        Firm id of each spell (for counting firms at risk).

    Returns
    -------
    SurvivalCurve

    Raises
    ------
    PanelStructureError
        If a spell enters after it ends (``entry > time``), or closes at its
        entry duration (a closure needs time at risk).
    ValueError
        For arrays of different lengths, missing times, a status other than
        0/1 or negative weights.

    Notes
    -----
    The product-limit estimate and its variance are statsmodels'
    ``SurvfuncRight`` (``entry=`` and ``freq_weights=``). Spells censored at
    their entry duration carry no time at risk and are left out (counted in
    ``n_uninformative``).
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    t, d, a, w = _check_arrays(time, status, entry, weights)
    late = a > t
    closed_at_entry = (a == t) & (d == 1)
    for bad, what in ((late, "entry after exit"), (closed_at_entry, "closure at the entry time")):
        if bad.any():
            raise PanelStructureError(
                f"entry must be before time for every spell; got {what} for {int(bad.sum())} "
                f"spell(s) (e.g. entry {examples(a[bad])}, time {examples(t[bad])}). Check the "
                "entry (first observed) and exit (closure) years."
            )
    keep = a < t
    t, d, a, w = t[keep], d[keep], a[keep], w[keep]
    units = None if ids is None else np.asarray(ids)[keep]
    max_time = float(t.max()) if t.size else 0.0
    if not t.size or not (d * w).sum():
        return SurvivalCurve(
            np.zeros(0), np.zeros(0), np.zeros(0), max_time, level, int((~keep).sum()), a, t, units
        )
    fit = SurvfuncRight(
        t, d, entry=a if (a > 0).any() else None, freq_weights=None if weights is None else w
    )
    return SurvivalCurve(
        np.asarray(fit.surv_times, dtype="float64"),
        np.asarray(fit.surv_prob, dtype="float64"),
        np.nan_to_num(np.asarray(fit.surv_prob_se, dtype="float64"), nan=0.0),
        max_time,
        level,
        int((~keep).sum()),
        a,
        t,
        units,
    )


def firm_spells(panel: FirmPanel, *, closure: str | None = None) -> pd.DataFrame:
    """One row per firm: first and last observed year, closure, park entry and park.

    Parameters
    ----------
    panel : FirmPanel
        Panel with an ``entry`` role (``park`` optional).
    closure : str or None
        Column with the year a firm closed (its last year of activity; missing
        while active). Without it a firm closes in its last observed year when
        that is before the panel's last year.

    Returns
    -------
    pandas.DataFrame
        Index: firm id; columns ``first``, ``last``, ``closed`` (bool),
        ``entry`` (NaN never), ``park``.

    Raises
    ------
    PanelStructureError
        If a firm enters a park after it closed (entry after exit), or the
        closure column places a closure before the firm's last observed year.
    """
    roles = panel.roles
    data = panel.data
    entry_col = panel.require_role("entry", "survival analysis")
    grouped = data.groupby(roles.unit, sort=True)
    firms = pd.DataFrame(
        {
            "first": grouped[roles.time].min(),
            "last": grouped[roles.time].max(),
            "entry": grouped[entry_col].first().astype("float64"),
        }
    )
    firms["park"] = (
        grouped[roles.park].first()
        if roles.park
        else np.where(firms["entry"].notna(), "park", None)
    )
    panel_last = int(data[roles.time].max())
    if closure is None:
        firms["closed"] = firms["last"] < panel_last
    else:
        year = grouped[closure].max().astype("float64")
        early = year < firms["last"]
        if early.any():
            raise PanelStructureError(
                f"{closure} must not be before the firm's last observed year; got "
                f"{int(early.sum())} firm(s) observed after closing (e.g. "
                f"{examples(firms.index[early])}). Correct the closure years."
            )
        firms["closed"] = year.notna() & (year <= panel_last)
    late = firms["closed"] & (firms["entry"] > firms["last"])
    if late.any():
        raise PanelStructureError(
            f"park entry must be on or before the firm's closure; got entry after exit for "
            f"{int(late.sum())} firm(s) (e.g. {examples(firms.index[late])}). Correct the "
            "tenancy or closure dates."
        )
    return firms
