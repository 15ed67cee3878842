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
  Separation along a design column or a reference category is found before
  iterating, and saturated designs (one categorical covariate) have a closed
  form; both give the limit the iteration reaches, without the iterations.
- :func:`fit_ipt` -- the inverse probability tilting propensity score of
  Graham, Pinto and Egel (2012) used by the improved DR estimator: it
  minimises :math:`\sum_i w_i\{-D_i x_i'\gamma + (1 - D_i) e^{x_i'\gamma}\}`,
  so that the tilted comparison weights :math:`e^{x'\gamma} = p/(1 - p)`
  reproduce the treated firms' covariate totals exactly.
- :func:`weighted_gram` and :func:`solve_gram` -- weighted least squares by
  the normal equations with a Cholesky factor (LAPACK called directly: on a
  handful of columns the argument checks of the SciPy wrappers cost more than
  the factorisation).
- :func:`independent_columns` and :func:`gram_columns` -- a maximal set of
  linearly independent columns of a design (covariates constant within a cell
  are dropped there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import linalg
from scipy.linalg.lapack import dpotrf as _potrf
from scipy.linalg.lapack import dpotrs as _potrs
from scipy.special import expit

__all__ = [
    "LogitFit",
    "fit_logit",
    "fit_ipt",
    "weighted_gram",
    "solve_gram",
    "independent_columns",
    "gram_columns",
    "SEPARATION_EPS",
]

SEPARATION_EPS: Final[float] = 1e-10
"""Fitted probabilities closer than this to 0 or 1 count as perfectly separated."""

_MAX_ITER: Final[int] = 100
_TOL: Final[float] = 1e-13
_COLLINEAR_TOL: Final[float] = 1e-10
_PROBE: Final[np.ndarray] = np.random.default_rng(20250105).uniform(0.5, 1.5, size=512)
"""Fixed weights of a linear probe that groups equal design rows (checked exactly after)."""


@dataclass(frozen=True, eq=False)
class LogitFit:
    """A fitted propensity score.

    Attributes
    ----------
    coef : numpy.ndarray
        Coefficients on the columns ``columns`` of the design (NaN for a
        closed-form fit asked not to compute them).
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
    """Solve ``gram @ b = rhs`` by Cholesky, falling back to least squares when singular.

    Calls LAPACK ``potrf``/``potrs`` directly: the same routines (and bits) as
    :func:`scipy.linalg.cho_factor` and :func:`scipy.linalg.cho_solve`
    without their argument checks, which cost more than the solve on the
    handful of columns of a cell's design.
    """
    factor, info = _potrf(gram, lower=0, clean=0)
    if info == 0:
        solution, info = _potrs(factor, rhs, lower=0)
        if info == 0:
            return solution
    return linalg.lstsq(gram, rhs, check_finite=False)[0]


def independent_columns(x: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Positions of a maximal set of linearly independent columns, earliest first.

    The columns :func:`gram_columns` keeps of the weighted Gram matrix
    :math:`X'\\mathrm{diag}(w)X`. A loop over the ``k`` columns at most, not
    over rows.
    """
    return gram_columns(weighted_gram(x, np.ones(x.shape[0]) if w is None else w))


def gram_columns(gram: np.ndarray) -> np.ndarray:
    """Columns of a Gram matrix :math:`G` that are linearly independent, earliest first.

    Greedy Gram-Schmidt: column ``j`` is kept when the share of its sum of
    squares not explained by the columns kept before it,
    :math:`(G_{jj} - g_j'G_K^{-1}g_j)/G_{jj}`, exceeds ``1e-10`` (all-zero
    columns are never kept). Those shares are the squared diagonal of the
    Cholesky factor of :math:`G` scaled to unit diagonal, so a factorisation
    of the candidate columns decides them in order; the first column that
    fails is dropped and the rest factorised again (one factorisation per
    dependent column).
    """
    total = gram.diagonal()
    candidates = (total > 0.0).nonzero()[0]
    while candidates.size:
        scale = 1.0 / np.sqrt(total[candidates])
        sub = gram[candidates][:, candidates] * np.outer(scale, scale)
        factor, info = _potrf(sub, lower=0, clean=0)
        factored = candidates.size if info == 0 else info - 1
        shares = factor.diagonal()[:factored] ** 2
        failed = (shares <= _COLLINEAR_TOL).nonzero()[0]
        if failed.size:
            first = int(failed[0])
        elif info == 0:
            return candidates
        else:
            first = factored
        candidates = np.delete(candidates, first)
    return candidates


def _deviance(sign: np.ndarray, index: np.ndarray, w: np.ndarray) -> float:
    """Logit deviance :math:`2\\sum_i w_i\\log(1 + e^{s_i x_i'\\gamma})`, :math:`s_i = 1 - 2D_i`."""
    return float(2.0 * (w @ np.logaddexp(0.0, sign * index)))


def _start(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> np.ndarray:
    coef = np.zeros(x.shape[1])
    if np.all(x[:, 0] == 1.0):
        share = float(np.clip(np.sum(w * d) / np.sum(w), 1e-12, 1.0 - 1e-12))
        coef[0] = np.log(share / (1.0 - share))
    return coef


def _newton(x: np.ndarray, d: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, bool, int]:
    """Weighted logit MLE by Newton-Raphson with step halving on the deviance."""
    coef = _start(x, d, w)
    sign = 1.0 - 2.0 * d
    index = x @ coef
    dev = _deviance(sign, index, w)
    for iteration in range(1, _MAX_ITER + 1):
        p = expit(index)
        score = (w * (d - p)) @ x
        step = solve_gram((x.T * (w * p * (1.0 - p))) @ x, score)
        new_dev = np.inf
        for _ in range(30):
            trial = coef + step
            trial_index = x @ trial
            new_dev = _deviance(sign, trial_index, w)
            if new_dev <= dev + 1e-12 * abs(dev):
                break
            step = step / 2.0
        coef, index = trial, trial_index
        change = dev - new_dev
        dev = new_dev
        if abs(change) <= _TOL * (abs(dev) + 1.0) or np.abs(step).max() < 1e-12:
            return coef, True, iteration
    return coef, False, _MAX_ITER


def _exclusive_complements(x: np.ndarray) -> np.ndarray:
    """Columns :math:`1 - \\sum_{j \\in S} x_j` for sets :math:`S` of mutually exclusive dummies.

    With an intercept first, 0/1 columns that are never 1 in the same row
    (the dummies of one categorical covariate, found greedily) have a
    complement that is itself a 0/1 linear combination of the design: the
    indicator of the reference category. Returns ``(n, 0)`` without an
    intercept or dummies.
    """
    if x.shape[1] < 2 or not (x[:, 0] == 1.0).all():
        return x[:, :0]
    binary = 1 + (((x[:, 1:] == 0.0) | (x[:, 1:] == 1.0)).all(axis=0)).nonzero()[0]
    if binary.size == 0:
        return x[:, :0]
    dummies = x[:, binary]
    together = ((dummies.T @ dummies) > 0.0).tolist()
    sets: list[list[int]] = []
    for j in range(binary.size):
        for members in sets:
            if not any(together[j][i] for i in members):
                members.append(j)
                break
        else:
            sets.append([j])
    membership = np.zeros((binary.size, len(sets)))
    for column, members in enumerate(sets):
        membership[members, column] = 1.0
    return 1.0 - dummies @ membership


def _separating_columns(
    directions: np.ndarray, d: np.ndarray, active: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows a single direction separates: ``(comparison rows, treated rows)``.

    If a linear combination :math:`c = Xv` of the design columns is zero on
    every active treated row and of one sign :math:`s` on every active row,
    the likelihood increases without bound along :math:`-sv`: the
    comparison rows with :math:`c \\ne 0` get probability 0 in the limit and
    the other rows do not depend on the step. The same with the roles
    swapped gives treated rows with probability 1. ``directions`` holds the
    combinations to try (columns of the design and the reference-category
    indicators of :func:`_exclusive_complements`): an industry (or the
    reference industry) without a treated firm in the cell is the usual case.
    """
    sub, treated = directions[active], d[active] > 0
    nonzero = sub != 0.0
    one_sign = (sub >= 0.0).all(axis=0) | (sub <= 0.0).all(axis=0)
    to_zero = one_sign & ~nonzero[treated].any(axis=0)
    to_one = one_sign & ~nonzero[~treated].any(axis=0)
    comparison = np.zeros(d.shape[0], dtype=bool)
    at_one = np.zeros(d.shape[0], dtype=bool)
    if to_zero.any():
        comparison[active] = ~treated & nonzero[:, to_zero].any(axis=1)
    if to_one.any():
        at_one[active] = treated & nonzero[:, to_one].any(axis=1)
    return comparison, at_one


def _distinct_rows(x: np.ndarray, rank: int) -> np.ndarray | None:
    """Index of each row's distinct value when the design is saturated (else None).

    Saturated: as many distinct rows as the rank of the design, so every
    distinct row has its own free parameter (one categorical covariate is
    the usual case). Rows are grouped by a fixed linear probe and the
    grouping is then checked exactly.
    """
    if x.shape[1] > _PROBE.shape[0] or x.shape[0] == 0:
        return None
    values, group = np.unique(x @ _PROBE[: x.shape[1]], return_inverse=True)
    if values.shape[0] != rank:
        return None
    first = np.empty(values.shape[0], dtype=np.intp)
    first[group[::-1]] = np.arange(group.shape[0] - 1, -1, -1)
    if not np.array_equal(x, x[first[group]]):
        return None
    return group.reshape(-1)


@dataclass(frozen=True, eq=False)
class _Support:
    """What separation and saturation depend on: design rows and treatment, not the weights.

    Attributes
    ----------
    group : numpy.ndarray or None
        Distinct-row index of every row when the whole design is saturated.
    active, at_one : numpy.ndarray
        Rows left after setting aside single-direction separations, and the
        treated rows set aside with probability 1 (see :func:`_set_aside`).
    group_active : numpy.ndarray or None
        Distinct-row index of the active rows when the design is saturated there.
    """

    group: np.ndarray | None
    active: np.ndarray
    at_one: np.ndarray
    group_active: np.ndarray | None


_SUPPORTS: dict[bytes, _Support] = {}
_MAX_SUPPORTS: Final[int] = 50_000


def _support(x: np.ndarray, d: np.ndarray) -> _Support:
    """The :class:`_Support` of ``(x, d)``, computed once per distinct design and treatment.

    Cells of a study share few distinct supports (the same covariate values
    and treatment status, with other counts), so they are kept; a support
    never depends on the weights, which keeps every fit the same whether or
    not its support was computed before.
    """
    x, d = np.asarray(x, dtype=float), np.asarray(d, dtype=float)
    key = np.asarray(x.shape, dtype=np.int64).tobytes() + x.tobytes() + d.tobytes()
    found = _SUPPORTS.get(key)
    if found is not None:
        return found
    ones = np.ones(d.shape[0])
    group = _distinct_rows(x, independent_columns(x, ones).size)
    active, at_one = np.ones(d.shape[0], dtype=bool), np.zeros(d.shape[0], dtype=bool)
    group_active = None
    if group is None:
        active, at_one = _set_aside(x, d)
        if not active.all() and active.any():
            sub = x[active]
            group_active = _distinct_rows(sub, independent_columns(sub, ones[active]).size)
    found = _Support(group, active, at_one, group_active)
    if len(_SUPPORTS) >= _MAX_SUPPORTS:
        _SUPPORTS.clear()
    _SUPPORTS[key] = found
    return found


def _closed_form(
    x: np.ndarray,
    d: np.ndarray,
    w: np.ndarray,
    columns: np.ndarray,
    active: np.ndarray,
    group: np.ndarray,
    coefficients: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Saturated fit on the active rows: ``(fitted, separated, columns, coef)``.

    The maximum likelihood probabilities are the weighted treated shares of
    each distinct row ``group``,
    :math:`\\hat p_r = \\sum_{i \\in r} w_i D_i / \\sum_{i \\in r} w_i`.
    Comparison rows of a distinct row without treated firms get probability
    0 (separated); the columns are then reduced as after any separation.
    """
    wa, da = w[active], d[active]
    treated = np.bincount(group, weights=wa * da)
    shares = (treated / np.bincount(group, weights=wa))[group]
    fitted = np.zeros(d.shape[0])
    fitted[active] = shares
    separated = active & (d == 0) & (fitted == 0.0)
    if separated.any():
        remaining = active & ~separated
        columns = columns[independent_columns(x[remaining][:, columns], w[remaining])]
    inside = (active & (fitted > 0.0) & (fitted < 1.0)).nonzero()[0]
    coef = np.zeros(columns.shape[0]) if coefficients else np.full(columns.shape[0], np.nan)
    if coefficients and inside.size:
        rows = x[inside][:, columns]
        logits = np.log(fitted[inside] / (1.0 - fitted[inside]))
        coef = solve_gram(rows.T @ rows, rows.T @ logits)
    return fitted, separated, columns, coef


def _set_aside(x: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows separated by single directions: ``(active rows, treated rows at one)``.

    Only the design and the treatment status matter (positive weights);
    when no comparison row is left, the remaining treated rows are at one too.
    """
    active = np.ones(d.shape[0], dtype=bool)
    at_one = np.zeros(d.shape[0], dtype=bool)
    directions = np.column_stack([x, _exclusive_complements(x)])
    # 0/1 directions stay one-signed on fewer rows: only setting treated rows aside can
    # reveal another separation through them
    binary = bool(((directions == 0.0) | (directions == 1.0)).all())
    for _ in range(2 * x.shape[1]):
        if not ((d[active] > 0).any() and (d[active] == 0).any()):
            break
        comparison, treated = _separating_columns(directions, d, active)
        if not (comparison.any() or treated.any()):
            break
        active &= ~(comparison | treated)
        at_one |= treated
        if binary and not treated.any():
            break
    if not (d[active] == 0).any():
        at_one |= active & (d > 0)
        active &= d == 0
    return active, at_one


def fit_logit(
    x: np.ndarray,
    d: np.ndarray,
    w: np.ndarray,
    counts: np.ndarray | None = None,
    *,
    coefficients: bool = True,
) -> LogitFit:
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
    refitting on the remaining rows. With positive weights, rows separated
    by a single direction (see :func:`_separating_columns`) are set aside
    before the first fit, which gives the same limit without iterating
    towards it; treated rows it sends to probability 1 are set aside too
    (reported in ``treated_at_one``). A saturated design (as many
    independent columns as distinct rows, e.g. one categorical covariate)
    has the closed-form solution of the weighted treated share of each
    distinct row.

    Parameters
    ----------
    x : numpy.ndarray
        Design ``(n, k)``; the first column should be the intercept.
    d : numpy.ndarray
        Treatment indicator (0/1 floats), shape ``(n,)``.
    w : numpy.ndarray
        Non-negative weights, shape ``(n,)``.
    counts : numpy.ndarray or None
        Firms each row stands for (rows grouped by covariate pattern and
        treatment); used to count ``treated_at_one``. None: one per row.
    coefficients : bool, default True
        Compute ``coef`` of a closed-form (saturated) fit; with False it is
        NaN there (the fitted probabilities are what the DiD needs).

    Returns
    -------
    LogitFit
    """
    n_firms = np.ones(d.shape[0]) if counts is None else counts
    active = np.ones(d.shape[0], dtype=bool)
    at_one = np.zeros(d.shape[0], dtype=bool)
    columns = np.arange(x.shape[1])
    if (w > 0.0).all():
        support = _support(x, d)
        group = support.group
        if group is None:
            active, at_one = support.active.copy(), support.at_one.copy()
            if not ((d[active] > 0).any() and (d[active] == 0).any()):
                return _unidentified(columns, at_one, active, n_firms)
            if not active.all():
                columns = independent_columns(x[active], w[active])
            group = support.group_active
        if group is not None:
            fitted, separated, columns, coef = _closed_form(
                x, d, w, columns, active, group, coefficients
            )
            fitted[at_one] = 1.0
            return LogitFit(
                coef=coef,
                columns=columns,
                fitted=fitted,
                separated=separated | (~active & ~at_one),
                treated_at_one=int(n_firms[(d > 0) & (fitted >= 1.0)].sum()),
                converged=True,
                n_iter=0,
            )
    for _ in range(x.shape[1] + 2):
        sub = x[active][:, columns]
        coef, converged, n_iter = _newton(sub, d[active], w[active])
        fitted = np.zeros(d.shape[0])
        fitted[active] = expit(sub @ coef)
        newly = active & (d == 0) & (fitted < SEPARATION_EPS)
        if not newly.any():
            break
        active &= ~newly
        keep = independent_columns(x[active][:, columns], w[active])
        columns = columns[keep]
    fitted[at_one] = 1.0
    treated_at_one = (d > 0) & (fitted > 1.0 - SEPARATION_EPS)
    return LogitFit(
        coef=coef,
        columns=columns,
        fitted=fitted,
        separated=~active & ~at_one,
        treated_at_one=int(n_firms[treated_at_one].sum()),
        converged=converged,
        n_iter=n_iter,
    )


def _unidentified(
    columns: np.ndarray, at_one: np.ndarray, active: np.ndarray, n_firms: np.ndarray
) -> LogitFit:
    """The fit when setting separated rows aside leaves one treatment status only.

    Without comparison rows left, the remaining treated rows have probability
    1 in the limit as well (they are counted in ``at_one`` by the caller).
    """
    return LogitFit(
        coef=np.zeros(columns.shape[0]),
        columns=columns,
        fitted=at_one.astype(float),
        separated=~active & ~at_one,
        treated_at_one=int(np.sum(n_firms[at_one])),
        converged=False,
        n_iter=0,
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
        if abs(change) <= _TOL * (abs(value) + 1.0) or np.abs(step).max() < 1e-12:
            break
    return coef
