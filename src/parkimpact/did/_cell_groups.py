r"""Nuisance models of a cell fitted on groups of firms sharing covariates and treatment.

The 2x2 DiD estimators of :mod:`parkimpact.did.drdid` need a logit
propensity score, a weighted least-squares outcome regression and a few
derived matrices per cell. All of them are sums over firms of functions of
the firm's design row :math:`x_i`, treatment :math:`D_i` and weight
:math:`w_i`; firms with the same :math:`(x_i, D_i)` therefore enter only
through their summed weight. :func:`group_firms` forms these groups and
:func:`fit_groups` fits the models on them,

.. math::

    \sum_i w_i\,f(x_i, D_i) = \sum_{r} W_r\,f(x_r, D_r),
    \qquad W_r = \sum_{i \in r} w_i,

so that a cell of several hundred firms with categorical covariates is
fitted on a few dozen rows, with the same estimates. The fit depends on the
groups only (:meth:`CellGroups.key`), so cells and outcomes whose groups
coincide share one fit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy.special import expit

from parkimpact.did._nuisance import (
    fit_ipt,
    fit_logit,
    gram_columns,
    independent_columns,
    solve_gram,
    weighted_gram,
)

__all__ = [
    "CellGroups",
    "GroupNuisance",
    "group_firms",
    "fit_groups",
    "PS_CAP",
    "TRIM_LEVEL",
    "OVERLAP_LEVEL",
]

PS_CAP: Final[float] = 1.0 - 1e-6
"""Fitted probabilities are capped here to avoid dividing by zero (as ``DRDID``)."""
TRIM_LEVEL: Final[float] = 0.995
"""Comparison firms with a propensity score at or above this get weight 0 (dr, ipw)."""
OVERLAP_LEVEL: Final[float] = 0.999
"""A largest fitted probability at or above this triggers an overlap warning."""


@dataclass(frozen=True, eq=False)
class CellGroups:
    """A cell's firms grouped by covariate pattern and treatment status.

    The nuisance models depend on the firms only through these groups: the
    logit likelihood, the Gram matrices and the covariate totals are sums
    over firms, and firms of a group share their design row. Fitting on the
    :math:`m` groups (a few dozen with categorical covariates) instead of
    the :math:`n` firms gives the same estimates.

    Attributes
    ----------
    x : numpy.ndarray
        Design row of each group ``(m, k)``.
    d : numpy.ndarray
        Treatment indicator of each group (floats).
    w : numpy.ndarray
        Summed firm weights of each group (firm weights normalised to mean one).
    counts : numpy.ndarray
        Firms in each group.
    inverse : numpy.ndarray
        Group of each firm ``(n,)``.
    weights : numpy.ndarray
        Normalised weight of each firm ``(n,)``.
    """

    x: np.ndarray
    d: np.ndarray
    w: np.ndarray
    counts: np.ndarray
    inverse: np.ndarray
    weights: np.ndarray

    def key(self, method: str) -> bytes:
        """A digest of everything :func:`fit_groups` reads (equal digests, equal fits)."""
        digest = hashlib.blake2b(method.encode(), digest_size=20)
        digest.update(np.asarray(self.x.shape, dtype=np.int64).tobytes())
        for part in (self.x, self.d, self.w, self.counts):
            digest.update(np.ascontiguousarray(part).tobytes())
        return digest.digest()


def group_firms(
    patterns: np.ndarray, codes: np.ndarray, d: np.ndarray, w: np.ndarray
) -> CellGroups:
    """Group a cell's firms by covariate pattern and treatment status.

    Parameters
    ----------
    patterns : numpy.ndarray
        Distinct design rows ``(P, k)`` (intercept first).
    codes : numpy.ndarray
        Row of ``patterns`` of each firm, shape ``(n,)``.
    d : numpy.ndarray
        Treatment indicator of each firm.
    w : numpy.ndarray
        Non-negative firm weights (normalised here to mean one).
    """
    weights = w / np.mean(w)
    combined = codes.astype(np.intp) * 2 + (d > 0)
    counts = np.bincount(combined, minlength=2 * patterns.shape[0])
    labels = counts.nonzero()[0]
    position = np.cumsum(counts > 0) - 1
    inverse = position[combined]
    return CellGroups(
        x=patterns[labels // 2],
        d=(labels % 2).astype(float),
        w=np.bincount(inverse, weights=weights, minlength=labels.shape[0]),
        counts=counts[labels].astype(float),
        inverse=inverse,
        weights=weights,
    )


@dataclass(frozen=True, eq=False)
class GroupNuisance:
    """Nuisance fits of one cell on its groups of firms (see :class:`CellGroups`).

    Every per-firm quantity of the estimators of :mod:`parkimpact.did.drdid`
    is a group value here times the firm's weight. Nothing depends on the
    outcome, so one fit serves every outcome change on the same groups.

    Attributes
    ----------
    method : str
        Estimator.
    x : numpy.ndarray
        Design of each group with linearly independent columns ``(m, k)``.
    ps_columns : numpy.ndarray or None
        Columns of ``x`` used by the propensity model.
    ps : numpy.ndarray or None
        Propensity score of each group (capped).
    ps_gram, ps_inverse : numpy.ndarray or None
        :math:`X'\\mathrm{diag}(w p(1 - p))X` of the logit and ``n`` times its inverse.
    ols_factor : numpy.ndarray or None
        Outcome-regression weight per unit of firm weight.
    ols_gram : numpy.ndarray or None
        Weighted Gram matrix of the outcome regression.
    trim : numpy.ndarray
        Trimming indicator of each group.
    control_factor : numpy.ndarray
        Comparison-mean weight per unit of firm weight.
    treated_factor : numpy.ndarray
        Treated-mean weight per unit of firm weight (the trimmed indicator
        :math:`D`; for ``"dr_improved"`` the weight :math:`D - (1 - D)\\hat p/(1 - \\hat p)`
        of its single mean).
    mean_t, mean_c : float
        :math:`n^{-1}\\sum_i` of the treated and comparison weights.
    slope : numpy.ndarray
        Slope :math:`a_r` of each group's influence function in the outcome
        residual, :math:`\\psi_i = w_i\\{a_r(\\Delta Y_i - \\hat\\mu_r) + b_r\\}`
        (it includes the outcome regression's estimation effect, so it does
        not depend on the outcome).
    max_score : float
        Largest fitted probability before capping (NaN without a propensity model).
    n_separated : int
        Comparison firms perfectly separated by the propensity model.
    treated_at_one : int
        Treated firms the propensity model separates (fitted probability 1).
    singular : bool
        The outcome regression has no covariate variation among comparison firms.
    """

    method: str
    x: np.ndarray
    ps_columns: np.ndarray | None
    ps: np.ndarray | None
    ps_gram: np.ndarray | None
    ps_inverse: np.ndarray | None
    ols_factor: np.ndarray | None
    ols_gram: np.ndarray | None
    trim: np.ndarray
    control_factor: np.ndarray
    treated_factor: np.ndarray
    mean_t: float
    mean_c: float
    slope: np.ndarray
    max_score: float
    n_separated: int
    treated_at_one: int = 0
    singular: bool = False

    @property
    def ps_x(self) -> np.ndarray:
        """Columns of the design used by the propensity model."""
        return self.x[:, self.ps_columns]

    @property
    def identified(self) -> bool:
        """Whether the cell can be estimated (no treated firm separated, regression regular)."""
        return not (self.treated_at_one or self.singular)

    def failure(self, context: str, names: list[str]) -> str:
        """The identification failure as an error message (empty when identified)."""
        if self.treated_at_one:
            return (
                f"the propensity score of {context} must stay below 1 for treated firms; got "
                f"fitted probabilities of 1 (perfect separation) for {self.treated_at_one} "
                f"treated firm(s) on covariates {names}: no comparison firm has their "
                "covariate values. Use fewer or coarser covariates, or method='reg'."
            )
        if self.singular:
            return (
                f"the outcome regression of {context} must have covariates that vary among "
                f"the comparison firms; got a singular design on covariates {names}. Use fewer "
                "or coarser covariates."
            )
        return ""


@dataclass(frozen=True, eq=False)
class _Propensity:
    """The propensity model of a cell (``ps`` None for ``method="reg"``)."""

    ps: np.ndarray | None = None
    columns: np.ndarray | None = None
    gram: np.ndarray | None = None
    trim: np.ndarray | None = None
    max_score: float = float("nan")
    n_separated: int = 0
    at_one: int = 0


def _propensity(method: str, x: np.ndarray, groups: CellGroups) -> _Propensity:
    """Logit (or, for ``"dr_improved"``, inverse probability tilting) propensity score."""
    d, w = groups.d, groups.w
    fit = fit_logit(x, d, w, groups.counts, coefficients=method == "dr_improved")
    ps_x = x[:, fit.columns]
    common = {
        "columns": fit.columns,
        "max_score": float(fit.fitted.max()),
        "n_separated": int(np.sum(groups.counts[fit.separated])),
        "at_one": fit.treated_at_one,
    }
    if fit.treated_at_one:
        return _Propensity(np.minimum(fit.fitted, PS_CAP), **common)
    if method == "dr_improved":
        active = ~fit.separated
        gamma = fit_ipt(ps_x[active], d[active], w[active], fit.coef)
        ps = np.minimum(np.where(active, expit(ps_x @ gamma), 0.0), 1.0 - 1e-16)
        return _Propensity(ps, **common)
    ps = np.minimum(fit.fitted, PS_CAP)
    trim = np.where(d > 0, 1.0, (ps < TRIM_LEVEL).astype(float))
    return _Propensity(ps, gram=weighted_gram(ps_x, ps * (1.0 - ps) * w), trim=trim, **common)


def fit_groups(method: str, groups: CellGroups) -> GroupNuisance:
    """Fit the nuisance models of ``method`` on a cell's groups of firms (never raises).

    Collinear design columns (e.g. covariates constant among these firms)
    are dropped. An unidentified cell (treated firms separated, singular
    outcome regression) is returned with ``identified`` False.
    """
    x = groups.x[:, independent_columns(groups.x, groups.w)]
    d, w = groups.d, groups.w
    score = _Propensity() if method == "reg" else _propensity(method, x, groups)
    ols_factor = ols_gram = None
    if method in ("dr", "reg"):
        ols_factor = 1.0 - d
    elif method == "dr_improved" and not score.at_one:
        ols_factor = (1.0 - d) * score.ps / (1.0 - score.ps)  # type: ignore[operator]
    if ols_factor is not None:
        ols_gram = weighted_gram(x, ols_factor * w)
    singular = ols_gram is not None and gram_columns(ols_gram).size < x.shape[1]
    if score.at_one or singular:
        zeros = np.zeros_like(d)
        return GroupNuisance(
            method, x, score.columns, score.ps, None, None, None, None, np.ones_like(d),
            zeros, zeros, np.nan, np.nan, zeros, score.max_score, score.n_separated,
            score.at_one, singular,
        )  # fmt: skip
    return _derived(method, groups, x, score, ols_factor, ols_gram)


def _derived(
    method: str,
    groups: CellGroups,
    x: np.ndarray,
    score: _Propensity,
    ols_factor: np.ndarray | None,
    ols_gram: np.ndarray | None,
) -> GroupNuisance:
    """Add the quantities every outcome change on these firms reuses.

    Besides the inverse logit information and the comparison weights, this
    fixes each group's influence slope (see :class:`GroupNuisance`): with
    :math:`w^1, w^0` the treated and comparison weights and
    :math:`\\bar w^1, \\bar w^0` their means,
    :math:`a_r = w^1_r/\\bar w^1 - w^0_r/\\bar w^0` for IPW, minus
    :math:`m_r x_r'(\\beta_1/\\bar w^1 - \\beta_0/\\bar w^0)` for DR, where
    :math:`m_r` is the regression weight and
    :math:`\\beta_j = (X'MX/n)^{-1}\\overline{w^j x}`.
    """
    n = float(np.sum(groups.counts))
    d, w = groups.d, groups.w
    ps, trim = score.ps, np.ones_like(d) if score.trim is None else score.trim
    control = np.zeros_like(d)
    if method in ("dr", "ipw"):
        control = trim * ps * (1.0 - d) / (1.0 - ps)  # type: ignore[operator]
    treated = trim * d
    if method == "dr_improved":
        treated = d - (1.0 - d) * ps / (1.0 - ps)  # type: ignore[operator]
        mean_t, mean_c = float(d @ w) / n, float("nan")
        slope = treated / mean_t
    else:
        mean_t, mean_c = float(treated @ w) / n, float(control @ w) / n
        slope = treated / mean_t - (control / mean_c if method != "reg" else 0.0)
    ps_inverse = None
    if score.gram is not None:
        ps_inverse = n * solve_gram(score.gram, np.eye(score.gram.shape[0]))
    if method in ("dr", "reg"):
        effect = x @ solve_gram(ols_gram / n, ((treated * w) @ x) / n) / mean_t  # type: ignore[operator]
        if method == "dr":
            effect = effect - x @ solve_gram(ols_gram / n, ((control * w) @ x) / n) / mean_c  # type: ignore[operator]
        slope = slope - ols_factor * effect  # type: ignore[operator]
    return GroupNuisance(
        method,
        x,
        score.columns,
        ps,
        score.gram,
        ps_inverse,
        ols_factor,
        ols_gram,
        trim,
        control,
        treated,
        mean_t,
        mean_c,
        slope,
        score.max_score,
        score.n_separated,
    )
