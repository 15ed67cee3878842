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
:func:`estimate_cell` applies them to an outcome change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from scipy.special import expit

from parkimpact.did._nuisance import (
    LogitFit,
    fit_ipt,
    fit_logit,
    independent_columns,
    solve_gram,
    weighted_gram,
)
from parkimpact.errors import IdentificationError

__all__ = [
    "Method",
    "METHODS",
    "CellNuisance",
    "prepare_cell",
    "estimate_cell",
    "estimate_cells_batch",
    "drdid",
]

Method = Literal["dr", "dr_improved", "ipw", "reg"]
METHODS: Final[tuple[str, ...]] = ("dr", "dr_improved", "ipw", "reg")

PS_CAP: Final[float] = 1.0 - 1e-6
"""Fitted probabilities are capped here to avoid dividing by zero (as ``DRDID``)."""
TRIM_LEVEL: Final[float] = 0.995
"""Comparison firms with a propensity score at or above this get weight 0 (dr, ipw)."""
OVERLAP_LEVEL: Final[float] = 0.999
"""A largest fitted probability at or above this triggers an overlap warning."""


@dataclass(frozen=True, eq=False)
class CellNuisance:
    """Nuisance fits of one set of firms, reusable for every outcome change on them.

    Attributes
    ----------
    method : str
        Estimator.
    x : numpy.ndarray
        Design ``(n, k)`` with linearly independent columns.
    d : numpy.ndarray
        Treatment indicator (floats).
    w : numpy.ndarray
        Weights normalised to mean one.
    ps : numpy.ndarray or None
        Propensity scores (capped) for the score-based methods.
    ps_x : numpy.ndarray or None
        Columns of the design used by the propensity model.
    ps_gram : numpy.ndarray or None
        :math:`X'\\mathrm{diag}(w p(1 - p))X` of the logit (``"dr"``, ``"ipw"``).
    ols_weights : numpy.ndarray or None
        Weights of the outcome regression (zero for treated firms).
    ols_gram : numpy.ndarray or None
        Weighted Gram matrix of the outcome regression.
    trim : numpy.ndarray
        Trimming indicator (0 for trimmed comparison firms).
    w_t, w_c : numpy.ndarray
        Weights of the treated mean and of the comparison mean
        (:math:`w D` and :math:`w\\,p(1 - D)/(1 - p)`, trimmed).
    ps_score : numpy.ndarray or None
        Logit scores :math:`w(D - p)` (``"dr"``, ``"ipw"``).
    ps_inverse : numpy.ndarray or None
        :math:`n (X'VX)^{-1}` of the logit (``"dr"``, ``"ipw"``).
    ols_dir_t, ols_dir_c : numpy.ndarray or None
        :math:`x_i'(X'WX/n)^{-1}\bar{(w_t x)}` and the same for ``w_c``: the
        outcome regression's estimation effect on the two means, per firm.
    max_score : float
        Largest fitted probability before capping (NaN without a propensity model).
    n_separated : int
        Comparison firms perfectly separated by the propensity model (weight 0).
    """

    method: str
    x: np.ndarray
    d: np.ndarray
    w: np.ndarray
    ps: np.ndarray | None
    ps_x: np.ndarray | None
    ps_gram: np.ndarray | None
    ols_weights: np.ndarray | None
    ols_gram: np.ndarray | None
    trim: np.ndarray
    w_t: np.ndarray
    w_c: np.ndarray
    ps_score: np.ndarray | None
    ps_inverse: np.ndarray | None
    ols_dir_t: np.ndarray | None
    ols_dir_c: np.ndarray | None
    max_score: float
    n_separated: int


def _check_logit(fit: LogitFit, context: str, names: list[str]) -> None:
    if fit.treated_at_one:
        raise IdentificationError(
            f"the propensity score of {context} must stay below 1 for treated firms; got "
            f"fitted probabilities of 1 (perfect separation) for {fit.treated_at_one} treated "
            f"firm(s) on covariates {names}: no comparison firm has their covariate values. "
            "Use fewer or coarser covariates, or method='reg'."
        )


def _ols_gram(x: np.ndarray, weights: np.ndarray, context: str, names: list[str]) -> np.ndarray:
    gram = weighted_gram(x, weights)
    if independent_columns(x, weights).size < x.shape[1]:
        raise IdentificationError(
            f"the outcome regression of {context} must have covariates that vary among the "
            f"comparison firms; got a singular design on covariates {names}. Use fewer or "
            "coarser covariates."
        )
    return gram


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
    names = [] if names is None else names
    d = d.astype(float)
    w = w / np.mean(w)
    x = x[:, independent_columns(x, w)]
    control = 1.0 - d
    ps = ps_x = ps_gram = ols_weights = ols_gram = None
    trim = np.ones_like(d)
    max_score, n_separated = float("nan"), 0
    if method != "reg":
        fit = fit_logit(x, d, w)
        _check_logit(fit, context, names)
        ps_x = x[:, fit.columns]
        max_score = float(np.max(fit.fitted))
        n_separated = int(fit.separated.sum())
        if method == "dr_improved":
            active = ~fit.separated
            gamma = fit_ipt(ps_x[active], d[active], w[active], fit.coef)
            ps = np.where(active, expit(ps_x @ gamma), 0.0)
            ps = np.minimum(ps, 1.0 - 1e-16)
        else:
            ps = np.minimum(fit.fitted, PS_CAP)
            ps_gram = weighted_gram(ps_x, ps * (1.0 - ps) * w)
            trim = np.where(d > 0, 1.0, (ps < TRIM_LEVEL).astype(float))
    if method in ("dr", "reg"):
        ols_weights = w * control
    elif method == "dr_improved":
        ols_weights = w * control * ps / (1.0 - ps)  # type: ignore[operator]
    if ols_weights is not None:
        ols_gram = _ols_gram(x, ols_weights, context, names)
    return _derived(
        method, x, d, w, ps, ps_x, ps_gram, ols_weights, ols_gram, trim, max_score, n_separated
    )


def _derived(
    method: str,
    x: np.ndarray,
    d: np.ndarray,
    w: np.ndarray,
    ps: np.ndarray | None,
    ps_x: np.ndarray | None,
    ps_gram: np.ndarray | None,
    ols_weights: np.ndarray | None,
    ols_gram: np.ndarray | None,
    trim: np.ndarray,
    max_score: float,
    n_separated: int,
) -> CellNuisance:
    """Add the quantities every outcome change on these firms reuses."""
    n = d.shape[0]
    w_t = trim * w * d
    w_c = np.zeros_like(w)
    if method in ("dr", "ipw"):
        w_c = trim * w * ps * (1.0 - d) / (1.0 - ps)  # type: ignore[operator]
    ps_score = ps_inverse = ols_dir_t = ols_dir_c = None
    if ps_gram is not None:
        ps_score = w * (d - ps)  # type: ignore[operator]
        ps_inverse = n * solve_gram(ps_gram, np.eye(ps_gram.shape[0]))
    if method in ("dr", "reg"):
        ols_dir_t = x @ solve_gram(ols_gram / n, (w_t @ x) / n)  # type: ignore[operator]
        ols_dir_c = x @ solve_gram(ols_gram / n, (w_c @ x) / n)  # type: ignore[operator]
    return CellNuisance(
        method,
        x,
        d,
        w,
        ps,
        ps_x,
        ps_gram,
        ols_weights,
        ols_gram,
        trim,
        w_t,
        w_c,
        ps_score,
        ps_inverse,
        ols_dir_t,
        ols_dir_c,
        max_score,
        n_separated,
    )


Array = np.ndarray
Estimates = tuple[np.ndarray, np.ndarray]


def _outcome_fit(nu: CellNuisance, dy: Array) -> Array:
    beta = solve_gram(nu.ols_gram, nu.x.T @ (nu.ols_weights[:, None] * dy))  # type: ignore[arg-type, index]
    return nu.x @ beta


def _weighted(nu: CellNuisance, dy: Array, out: Array | None) -> Estimates:
    """DR (``out`` from the regression) or IPW (``out`` None) with their influence functions."""
    n = dy.shape[0]
    resid = dy if out is None else dy - out
    mean_t, mean_c = float(np.sum(nu.w_t)) / n, float(np.sum(nu.w_c)) / n
    eta_t = (nu.w_t @ resid) / (n * mean_t)
    eta_c = (nu.w_c @ resid) / (n * mean_c)
    inf_t = nu.w_t[:, None] * (resid - eta_t)
    inf_c = nu.w_c[:, None] * (resid - eta_c)
    derivative = (nu.ps_x.T @ inf_c) / n  # type: ignore[union-attr]
    inf_c += nu.ps_score[:, None] * (nu.ps_x @ (nu.ps_inverse @ derivative))  # type: ignore[index, operator]
    if nu.method == "dr":
        ols_resid = nu.ols_weights[:, None] * resid  # type: ignore[index]
        inf_t -= ols_resid * nu.ols_dir_t[:, None]  # type: ignore[index]
        inf_c -= ols_resid * nu.ols_dir_c[:, None]  # type: ignore[index]
    return eta_t - eta_c, inf_t / mean_t - inf_c / mean_c


def _regression(nu: CellNuisance, dy: Array) -> Estimates:
    n = dy.shape[0]
    out = _outcome_fit(nu, dy)
    mean_t = float(np.sum(nu.w_t)) / n
    eta_t = (nu.w_t @ dy) / (n * mean_t)
    eta_c = (nu.w_t @ out) / (n * mean_t)
    inf_t = nu.w_t[:, None] * (dy - eta_t)
    ols_term = (nu.ols_weights * nu.ols_dir_t)[:, None] * (dy - out)  # type: ignore[operator]
    inf_c = nu.w_t[:, None] * (out - eta_c) + ols_term
    return eta_t - eta_c, (inf_t - inf_c) / mean_t


def _improved(nu: CellNuisance, dy: Array) -> Estimates:
    out = _outcome_fit(nu, dy)
    odds = nu.ps / (1.0 - nu.ps)  # type: ignore[operator]
    summand = (nu.d - (1.0 - nu.d) * odds)[:, None] * (dy - out)
    mean_t = float(np.mean(nu.d * nu.w))
    att = (nu.w @ summand) / (dy.shape[0] * mean_t)
    return att, nu.w[:, None] * (summand - nu.d[:, None] * att) / mean_t


_ESTIMATORS: Final[dict[str, Callable[[CellNuisance, Array], Estimates]]] = {
    "dr": lambda nu, dy: _weighted(nu, dy, _outcome_fit(nu, dy)),
    "ipw": lambda nu, dy: _weighted(nu, dy, None),
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
