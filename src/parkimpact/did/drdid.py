r"""Two-group, two-period DiD estimators for panel data, with influence functions.

Every estimator works on one *cell*: :math:`n` firms observed in a base period
and a later (or earlier) period, with the outcome change
:math:`\Delta Y_i = Y_{it} - Y_{i,base}`, a treatment indicator :math:`D_i`
(the entry cohort) against comparison firms :math:`D_i = 0`, a design
:math:`x_i` (intercept and base-period covariates) and sampling weights
:math:`w_i` normalised to mean one. Each returns the ATT and its influence
function :math:`\psi_i`, scaled so that
:math:`\widehat{ATT} - ATT \approx n^{-1}\sum_i \psi_i`, the convention of
R's ``DRDID`` package, which these estimators reproduce.

Methods
-------
``"dr"`` -- locally efficient doubly robust DiD (Sant'Anna and Zhao 2020,
eq. 3.1, "traditional"): logit propensity score :math:`p(x)` by maximum
likelihood and a linear regression :math:`\mu(x) = x'\beta` of
:math:`\Delta Y` on comparison firms by weighted least squares,

.. math::

    \widehat{ATT} = \frac{\sum_i w^1_i(\Delta Y_i - \hat\mu(x_i))}{\sum_i w^1_i}
      - \frac{\sum_i w^0_i(\Delta Y_i - \hat\mu(x_i))}{\sum_i w^0_i},
    \quad w^1_i = w_i D_i,\ w^0_i = w_i \frac{\hat p(x_i)(1 - D_i)}{1 - \hat p(x_i)} .

The influence function includes the estimation effects of :math:`\hat\beta`
and of the logit coefficients.

``"dr_improved"`` -- the improved DR estimator (Sant'Anna and Zhao 2020,
Sect. 3.1): propensity score by inverse probability tilting and the outcome
regression weighted by :math:`\hat p/(1 - \hat p)`; the first-order conditions
of both make the estimation effects vanish, so
:math:`\psi_i = w_i\{(D_i - (1 - D_i)\hat p_i/(1 - \hat p_i))
(\Delta Y_i - \hat\mu_i) - D_i\widehat{ATT}\}/\overline{wD}`.

``"ipw"`` -- normalised (Hajek) inverse probability weighting (Abadie 2005,
normalised weights): the DR formula with :math:`\hat\mu \equiv 0`.

``"reg"`` -- outcome regression (Heckman, Ichimura and Todd 1997):
:math:`\widehat{ATT} = \sum_i w^1_i(\Delta Y_i - \hat\mu(x_i))/\sum_i w^1_i`.

As in ``DRDID``, fitted probabilities are capped at :math:`1 - 10^{-6}` and,
for ``"dr"`` and ``"ipw"``, comparison firms with :math:`\hat p \ge 0.995`
get weight 0 (trimming). Without covariates all four methods equal the
difference in mean outcome changes between cohort and comparison firms.

The work is split in two steps so that cells sharing firms, covariates and
weights (for instance every post-entry year of a cohort in a balanced panel)
fit the nuisance models once: :func:`prepare_cell` fits them and
:func:`estimate_cell` applies them to an outcome change. The fit itself runs
on the firms grouped by covariate values and treatment
(:mod:`parkimpact.did._cell_groups`), and :func:`expand` turns it into the
per-firm quantities; a cell whose treated firms are separated from every
comparison firm, or whose outcome regression is singular, raises
:class:`~parkimpact.errors.IdentificationError` here (Callaway-Sant'Anna
leaves such cells out instead).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from parkimpact.did._cell_groups import (
    OVERLAP_LEVEL,
    PS_CAP,
    TRIM_LEVEL,
    CellGroups,
    GroupNuisance,
    fit_groups,
    group_firms,
)
from parkimpact.did._nuisance import solve_gram
from parkimpact.errors import IdentificationError

__all__ = [
    "Method",
    "METHODS",
    "CellNuisance",
    "CellGroups",
    "GroupNuisance",
    "group_firms",
    "fit_groups",
    "expand",
    "PS_CAP",
    "TRIM_LEVEL",
    "OVERLAP_LEVEL",
    "prepare_cell",
    "estimate_cell",
    "estimate_cells_batch",
    "drdid",
]

Method = Literal["dr", "dr_improved", "ipw", "reg"]
METHODS: Final[tuple[str, ...]] = ("dr", "dr_improved", "ipw", "reg")


@dataclass(frozen=True, eq=False)
class CellNuisance:
    """Nuisance fits of one set of firms, reusable for every outcome change on them.

    The fits live on the firms' groups (:class:`~parkimpact.did._cell_groups.CellGroups`):
    every per-firm quantity of the estimators is a group value times the
    firm's weight, so an estimate needs the group sums of the outcome change
    and one pass over the firms for the influence function.

    Attributes
    ----------
    fit : GroupNuisance
        The nuisance models on the groups.
    groups : CellGroups
        The firms' groups, their group index and normalised weights.
    """

    fit: GroupNuisance
    groups: CellGroups

    @property
    def method(self) -> str:
        """Estimator."""
        return self.fit.method

    @property
    def x(self) -> np.ndarray:
        """Design of every firm ``(n, k)`` with linearly independent columns."""
        return self.fit.x[self.groups.inverse]

    @property
    def d(self) -> np.ndarray:
        """Treatment indicator of every firm (floats)."""
        return self.groups.d[self.groups.inverse]

    @property
    def w(self) -> np.ndarray:
        """Firm weights normalised to mean one."""
        return self.groups.weights

    @property
    def ps(self) -> np.ndarray | None:
        """Propensity score of every firm (capped; None for ``"reg"``)."""
        return None if self.fit.ps is None else self.fit.ps[self.groups.inverse]

    @property
    def ols_gram(self) -> np.ndarray | None:
        """Weighted Gram matrix of the outcome regression (None for ``"ipw"``)."""
        return self.fit.ols_gram

    @property
    def max_score(self) -> float:
        """Largest fitted probability before capping (NaN without a propensity model)."""
        return self.fit.max_score

    @property
    def n_separated(self) -> int:
        """Comparison firms perfectly separated by the propensity model (weight 0)."""
        return self.fit.n_separated


def expand(fit: GroupNuisance, groups: CellGroups) -> CellNuisance:
    """The nuisance quantities of an identified cell: its group fit with its firms."""
    return CellNuisance(fit, groups)


def prepare_cell(
    method: str,
    x: np.ndarray,
    d: np.ndarray,
    w: np.ndarray,
    *,
    context: str = "the cell",
    names: list[str] | None = None,
) -> CellNuisance:
    """Fit the nuisance models of ``method`` on one set of firms.

    Firms are grouped by design row and treatment (:func:`group_firms`) and
    the models fitted on the groups (:func:`fit_groups`).

    Parameters
    ----------
    method : {"dr", "dr_improved", "ipw", "reg"}
        Estimator.
    x : numpy.ndarray
        Design ``(n, k)`` whose first column is the intercept; collinear
        columns (e.g. covariates constant among these firms) are dropped.
    d : numpy.ndarray
        Treatment indicator, shape ``(n,)``.
    w : numpy.ndarray
        Non-negative sampling weights, shape ``(n,)`` (normalised here).
    context : str
        Description of the cell used in error messages.
    names : list of str or None
        Covariate names used in error messages.

    Raises
    ------
    IdentificationError
        If treated firms are perfectly separated from comparison firms, or the
        outcome regression has no variation among comparison firms.
    """
    patterns, codes = np.unique(np.asarray(x, dtype=float), axis=0, return_inverse=True)
    groups = group_firms(patterns, codes.reshape(-1), np.asarray(d, dtype=float), w)
    fit = fit_groups(method, groups)
    if not fit.identified:
        raise IdentificationError(fit.failure(context, [] if names is None else names))
    return expand(fit, groups)


Array = np.ndarray
Estimates = tuple[np.ndarray, np.ndarray]


def _group_sums(groups: CellGroups, values: Array) -> Array:
    r""":math:`\sum_{i \in r} w_i v_i` for every group :math:`r` and column of ``values``."""
    m, w = groups.d.shape[0], groups.weights
    if values.shape[1] == 1:
        return np.bincount(groups.inverse, weights=w * values[:, 0], minlength=m)[:, None]
    weighted = w[:, None] * values
    columns = [np.bincount(groups.inverse, weights=column, minlength=m) for column in weighted.T]
    return np.stack(columns, axis=1)


def _regression_means(fit: GroupNuisance, sums: Array) -> Array:
    r"""Outcome-regression predictions :math:`x_r'\hat\beta` of every group ``(m, c)``."""
    beta = solve_gram(fit.ols_gram, fit.x.T @ (fit.ols_factor[:, None] * sums))  # type: ignore[arg-type, index]
    return fit.x @ beta


def _influence(nu: CellNuisance, dy: Array, out: Array, b: Array) -> Array:
    r"""Influence functions :math:`\psi_i = w_i\{a_r(\Delta Y_i - \hat\mu_r) + b_r\}`.

    Firm :math:`i` belongs to group :math:`r`; the slopes :math:`a_r` are the
    fit's (:attr:`GroupNuisance.slope`), the levels ``b`` are ``(m, c)``.
    """
    inverse = nu.groups.inverse
    slope = nu.fit.slope[inverse][:, None]
    return nu.groups.weights[:, None] * (slope * (dy - out[inverse]) + b[inverse])


def _weighted(nu: CellNuisance, dy: Array, regression: bool) -> Estimates:
    r"""DR (with the outcome regression) or IPW (without), with their influence functions.

    With group sums :math:`S_r = \sum_{i \in r} w_i\Delta Y_i` and residual sums
    :math:`R_r = S_r - W_r\hat\mu_r`, the two means are
    :math:`\eta_t = \sum_r w^1_r R_r / \sum_r w^1_r W_r` (:math:`w^1_r` the
    trimmed treatment indicator) and :math:`\eta_c` likewise with the
    comparison weights :math:`w^0_r = \hat p_r(1 - D_r)/(1 - \hat p_r)`. The
    influence function's slope :math:`a_r` (with the outcome regression's
    estimation effect) is fixed by the fit; its level
    :math:`b_r = (w^0_r\eta_c - s_r)/\bar w^0 - w^1_r\eta_t/\bar w^1` adds the
    logit's estimation effect :math:`s_r = (D_r - \hat p_r)x_r'(X'VX/n)^{-1}
    n^{-1}\sum_{r'} x_{r'}w^0_{r'}(R_{r'} - W_{r'}\eta_c)`.
    """
    fit, groups = nu.fit, nu.groups
    n, w = groups.inverse.shape[0], groups.w
    sums = _group_sums(groups, dy)
    out = _regression_means(fit, sums) if regression else np.zeros_like(sums)
    resid = sums - w[:, None] * out
    treated, control = fit.treated_factor, fit.control_factor
    eta_t = (treated @ resid) / (n * fit.mean_t)
    eta_c = (control @ resid) / (n * fit.mean_c)
    ps_x = fit.ps_x
    derivative = ps_x.T @ (control[:, None] * (resid - w[:, None] * eta_c)) / n
    score = (groups.d - fit.ps)[:, None] * (ps_x @ (fit.ps_inverse @ derivative))  # type: ignore[operator]
    b = (control[:, None] * eta_c - score) / fit.mean_c - treated[:, None] * eta_t / fit.mean_t
    return eta_t - eta_c, _influence(nu, dy, out, b)


def _regression(nu: CellNuisance, dy: Array) -> Estimates:
    fit, groups = nu.fit, nu.groups
    n, w = groups.inverse.shape[0], groups.w
    sums = _group_sums(groups, dy)
    out = _regression_means(fit, sums)
    treated = fit.treated_factor
    eta_t = (treated @ sums) / (n * fit.mean_t)
    eta_c = (treated @ (w[:, None] * out)) / (n * fit.mean_t)
    return eta_t - eta_c, _influence(nu, dy, out, treated[:, None] * (eta_c - eta_t) / fit.mean_t)


def _improved(nu: CellNuisance, dy: Array) -> Estimates:
    fit, groups = nu.fit, nu.groups
    n, w = groups.inverse.shape[0], groups.w
    sums = _group_sums(groups, dy)
    out = _regression_means(fit, sums)
    att = (fit.treated_factor @ (sums - w[:, None] * out)) / (n * fit.mean_t)
    return att, _influence(nu, dy, out, -groups.d[:, None] * att / fit.mean_t)


_ESTIMATORS: Final[dict[str, Callable[[CellNuisance, Array], Estimates]]] = {
    "dr": lambda nu, dy: _weighted(nu, dy, True),
    "ipw": lambda nu, dy: _weighted(nu, dy, False),
    "reg": _regression,
    "dr_improved": _improved,
}


def estimate_cells_batch(nuisance: CellNuisance, dy: np.ndarray) -> Estimates:
    """Apply a prepared cell to several outcome changes at once.

    Parameters
    ----------
    nuisance : CellNuisance
        Output of :func:`prepare_cell` on the same firms.
    dy : numpy.ndarray
        Outcome changes, shape ``(n, m)``: one column per cell sharing these
        firms (e.g. every year of a cohort in a balanced panel).

    Returns
    -------
    tuple of numpy.ndarray
        ATTs ``(m,)`` and influence functions ``(n, m)``.
    """
    return _ESTIMATORS[nuisance.method](nuisance, dy)


def estimate_cell(nuisance: CellNuisance, dy: np.ndarray) -> tuple[float, np.ndarray]:
    """Apply a prepared cell to one outcome change.

    Parameters
    ----------
    nuisance : CellNuisance
        Output of :func:`prepare_cell` on the same firms.
    dy : numpy.ndarray
        Outcome change :math:`\\Delta Y_i` of those firms.

    Returns
    -------
    tuple of (float, numpy.ndarray)
        The ATT and its influence function :math:`\\psi_i` (mean-zero scaling:
        :math:`\\widehat{ATT} - ATT \\approx n^{-1}\\sum_i\\psi_i`).
    """
    att, psi = estimate_cells_batch(nuisance, dy[:, None])
    return float(att[0]), psi[:, 0]


def drdid(
    y1: np.ndarray,
    y0: np.ndarray,
    d: np.ndarray,
    x: np.ndarray | None = None,
    w: np.ndarray | None = None,
    *,
    method: Method = "dr",
) -> tuple[float, np.ndarray]:
    """Panel 2x2 DiD estimate of the ATT with its influence function.

    Parameters
    ----------
    y1, y0 : numpy.ndarray
        Outcomes in the later and the base period, shape ``(n,)``.
    d : numpy.ndarray
        1 for treated firms, 0 for comparison firms.
    x : numpy.ndarray or None
        Covariates ``(n, k)`` without intercept (one is added); None for none.
    w : numpy.ndarray or None
        Sampling weights (None: equal weights).
    method : {"dr", "dr_improved", "ipw", "reg"}, default "dr"
        Estimator (see the module notes).

    Returns
    -------
    tuple of (float, numpy.ndarray)
        ATT and influence function; its standard error is
        ``sqrt(sum(psi**2)) / n``.

    Raises
    ------
    ValueError
        If ``method`` is unknown or the arrays do not match.
    IdentificationError
        As :func:`prepare_cell`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}. Pick one of those.")
    dy = np.asarray(y1, dtype=float) - np.asarray(y0, dtype=float)
    n = dy.shape[0]
    treat = np.asarray(d, dtype=float)
    weights = np.ones(n) if w is None else np.asarray(w, dtype=float)
    ones = np.ones((n, 1))
    design = ones if x is None else np.column_stack([ones, np.asarray(x, dtype=float)])
    if treat.shape != (n,) or weights.shape != (n,) or design.shape[0] != n:
        raise ValueError(
            f"y1, y0, d, x and w must have one entry per firm ({n}); got shapes "
            f"{treat.shape}, {weights.shape}, {design.shape}. Align the arrays."
        )
    return estimate_cell(prepare_cell(method, design, treat, weights), dy)
