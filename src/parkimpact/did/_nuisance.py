r"""Nuisance models of the 2x2 DiD estimators: logit, inverse probability tilting, weighted OLS.

All three work on small dense designs (a cell's firms by a few covariates) and
are written for speed: every iteration is a handful of matrix products on the
``(n, k)`` design.

- :func:`fit_logit` -- unpenalised weighted logit by Newton-Raphson with step
  halving. It detects *separation*: comparison firms whose fitted probability
  goes to 0 (their covariate values are never seen among treated firms) are
  set aside and the model is refitted on the rest, which is the limit of the
  likelihood maximisation (their weight in every ATT is then exactly 0);
  treated firms whose fitted probability goes to 1 mean that no comparison
  firm resembles them, which the caller reports as an identification failure.
- :func:`fit_ipt` -- the inverse probability tilting propensity score of
  Graham, Pinto and Egel (2012) used by the improved DR estimator: it
  minimises :math:`\sum_i w_i\{-D_i x_i'\gamma + (1 - D_i) e^{x_i'\gamma}\}`,
  so that the tilted comparison weights :math:`e^{x'\gamma} = p/(1 - p)`
  reproduce the treated firms' covariate totals exactly.
- :func:`weighted_gram` and :func:`solve_gram` -- weighted least squares by
  the normal equations with a Cholesky factor.
- :func:`independent_columns` -- a maximal set of linearly independent
  columns of a design (covariates constant within a cell are dropped there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import linalg
from scipy.special import expit

__all__ = [
    "LogitFit",
    "fit_logit",
    "fit_ipt",
    "weighted_gram",
    "solve_gram",
    "independent_columns",
    "SEPARATION_EPS",
]

SEPARATION_EPS: Final[float] = 1e-10
"""Fitted probabilities closer than this to 0 or 1 count as perfectly separated."""

_MAX_ITER: Final[int] = 100
_TOL: Final[float] = 1e-13
_COLLINEAR_TOL: Final[float] = 1e-10


@dataclass(frozen=True, eq=False)
class LogitFit:
    """A fitted propensity score.

    Attributes
    ----------
    coef : numpy.ndarray
        Coefficients on the columns ``columns`` of the design.
    columns : numpy.ndarray
        Positions of the design columns used (others were collinear once the
        separated comparison firms were set aside).
    fitted : numpy.ndarray
        Fitted probabilities of every row (exactly 0 for separated rows).
    separated : numpy.ndarray
        Boolean mask of the comparison rows with a fitted probability of 0.
    treated_at_one : int
        Number of treated rows with a fitted probability of 1 (the model
        separates them from every comparison firm).
    converged : bool
        Whether the last fit met the tolerance before the iteration limit.
    n_iter : int
        Newton iterations of the last fit.
    """

    coef: np.ndarray
    columns: np.ndarray
    fitted: np.ndarray
    separated: np.ndarray
    treated_at_one: int
    converged: bool
    n_iter: int


def weighted_gram(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Return :math:`X' \\mathrm{diag}(w) X` (symmetric, ``(k, k)``)."""
    gram = (x * w[:, None]).T @ x
    return 0.5 * (gram + gram.T)


def solve_gram(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``gram @ b = rhs`` by Cholesky, falling back to least squares when singular."""
    try:
        factor = linalg.cho_factor(gram, check_finite=False)
        return linalg.cho_solve(factor, rhs, check_finite=False)
    except linalg.LinAlgError:
        return linalg.lstsq(gram, rhs, check_finite=False)[0]


def independent_columns(x: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Positions of a maximal set of linearly independent columns, earliest first.

    Greedy Gram-Schmidt on the weighted Gram matrix: column ``j`` is kept when
    the share of its (weighted) sum of squares not explained by the columns
    kept before it exceeds ``1e-10``. A loop over the ``k`` columns, not over
    rows.
    """
    weights = np.ones(x.shape[0]) if w is None else w
    gram = weighted_gram(x, weights)
    kept: list[int] = []
    for j in range(x.shape[1]):
        total = gram[j, j]
        if total <= 0.0:
            continue
        if kept:
            sub = gram[np.ix_(kept, kept)]
            cross = gram[kept, j]
            explained = float(cross @ np.linalg.solve(sub, cross))
        else:
            explained = 0.0
        if total - explained > _COLLINEAR_TOL * total:
            kept.append(j)
    return np.asarray(kept, dtype=np.intp)


def _deviance(d: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(d > 0, np.log(p), np.log1p(-p))
    terms = np.where(np.isfinite(terms), terms, -745.0)
    return float(-2.0 * np.sum(w * terms))


def _start(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> np.ndarray:
    coef = np.zeros(x.shape[1])
    if np.all(x[:, 0] == 1.0):
        share = float(np.clip(np.sum(w * d) / np.sum(w), 1e-12, 1.0 - 1e-12))
        coef[0] = np.log(share / (1.0 - share))
    return coef


def _newton(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, bool, int]:
    """Weighted logit MLE by Newton-Raphson with step halving on the deviance."""
    coef = _start(x, d, w)
    p = expit(x @ coef)
    dev = _deviance(d, p, w)
    for iteration in range(1, _MAX_ITER + 1):
        score = x.T @ (w * (d - p))
        hess = weighted_gram(x, w * p * (1.0 - p))
        step = solve_gram(hess, score)
        new_dev = np.inf
        for _ in range(30):
            trial = coef + step
            p_trial = expit(x @ trial)
            new_dev = _deviance(d, p_trial, w)
            if new_dev <= dev + 1e-12 * abs(dev):
                break
            step = step / 2.0
        coef, p = trial, p_trial
        change = dev - new_dev
        dev = new_dev
        if abs(change) <= _TOL * (abs(dev) + 1.0) or np.max(np.abs(step)) < 1e-12:
            return coef, True, iteration
    return coef, False, _MAX_ITER


def fit_logit(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> LogitFit:
    r"""Weighted logit of ``d`` on ``x`` by Newton-Raphson, with separation handling.

    Maximises :math:`\sum_i w_i\{D_i \log p_i + (1 - D_i)\log(1 - p_i)\}`,
    :math:`p_i = \Lambda(x_i'\gamma)`, by Newton steps
    :math:`\gamma \leftarrow \gamma + (X'VX)^{-1}X'W(D - p)`,
    :math:`V = \mathrm{diag}(w_i p_i(1 - p_i))`, halving a step until the
    deviance does not increase; it stops when the deviance changes by less
    than ``1e-13`` relative.

    Comparison rows whose fitted probability falls below
    :data:`SEPARATION_EPS` are perfectly separated (their covariates are
    never seen among treated rows): the likelihood has no maximum, only a
    limit in which they get probability 0. The fit returns that limit by
    setting them aside, dropping design columns that become collinear and
    refitting on the remaining rows.

    Parameters
    ----------
    x : numpy.ndarray
        Design ``(n, k)``; the first column should be the intercept.
    d : numpy.ndarray
        Treatment indicator (0/1 floats), shape ``(n,)``.
    w : numpy.ndarray
        Non-negative weights, shape ``(n,)``.

    Returns
    -------
    LogitFit
    """
    active = np.ones(d.shape[0], dtype=bool)
    columns = np.arange(x.shape[1])
    for _ in range(x.shape[1] + 2):
        sub = x[np.ix_(active, columns)]
        coef, converged, n_iter = _newton(sub, d[active], w[active])
        fitted = np.zeros(d.shape[0])
        fitted[active] = expit(sub @ coef)
        newly = active & (d == 0) & (fitted < SEPARATION_EPS)
        if not newly.any():
            break
        active &= ~newly
        keep = independent_columns(x[np.ix_(active, columns)], w[active])
        columns = columns[keep]
    treated_at_one = int(np.sum((d > 0) & (fitted > 1.0 - SEPARATION_EPS)))
    return LogitFit(
        coef=coef,
        columns=columns,
        fitted=fitted,
        separated=~active,
        treated_at_one=treated_at_one,
        converged=converged,
        n_iter=n_iter,
    )


def fit_ipt(x: np.ndarray, d: np.ndarray, w: np.ndarray, start: np.ndarray) -> np.ndarray:
    r"""Inverse probability tilting coefficients (Graham, Pinto and Egel 2012).

    Minimises the convex loss

    .. math:: L(\gamma) = \frac1n\sum_i w_i\{-D_i x_i'\gamma + (1 - D_i)\, e^{x_i'\gamma}\}

    by Newton steps with step halving, from ``start`` (the logit
    coefficients). At the minimum
    :math:`\sum_i w_i D_i x_i = \sum_i w_i (1 - D_i) e^{x_i'\gamma} x_i`:
    the comparison firms weighted by :math:`p/(1 - p) = e^{x'\gamma}`
    reproduce the treated firms' covariate totals.

    Parameters
    ----------
    x, d, w : numpy.ndarray
        Design ``(n, k)``, treatment indicator and weights.
    start : numpy.ndarray
        Starting coefficients ``(k,)``.

    Returns
    -------
    numpy.ndarray
        Coefficients ``(k,)``.
    """
    control = (1.0 - d) * w
    treated = d * w

    def loss(coef: np.ndarray) -> float:
        index = np.clip(x @ coef, -700.0, 700.0)
        return float(np.sum(-treated * index + control * np.exp(index)))

    coef = start.astype(float).copy()
    value = loss(coef)
    for _ in range(_MAX_ITER):
        tilt = np.exp(np.clip(x @ coef, -700.0, 700.0))
        grad = x.T @ (control * tilt - treated)
        hess = weighted_gram(x, control * tilt)
        step = -solve_gram(hess, grad)
        new_value = np.inf
        for _ in range(30):
            new_value = loss(coef + step)
            if new_value <= value + 1e-12 * abs(value):
                break
            step = step / 2.0
        coef = coef + step
        change = value - new_value
        value = new_value
        if abs(change) <= _TOL * (abs(value) + 1.0) or np.max(np.abs(step)) < 1e-12:
            break
    return coef
