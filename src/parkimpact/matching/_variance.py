r"""Inference for matching estimators.

Notation: the focal group :math:`F` (treated for the ATT, controls for the ATC)
has :math:`N_F` matched units; unit :math:`i \in F` has matched set
:math:`\mathcal J(i)` with weights :math:`w_{ij}` summing to one, and

.. math:: \hat\tau = \frac{s}{N_F} \sum_{i \in F} \Big(Y_i - \sum_{j} w_{ij} Y_j\Big),

with :math:`s = 1` for the ATT and :math:`s = -1` for the ATC. A unit
:math:`j` of the other group is used :math:`K(j) = \sum_i w_{ij}` times, and
:math:`K'(j) = \sum_i w_{ij}^2`.

*Abadie-Imbens (2006)*. The conditional variances :math:`\sigma^2(X_l)` are
estimated by matching each unit to its :math:`J` nearest neighbours in its own
group, :math:`\hat\sigma^2_l = \tfrac{J}{J+1}(Y_l - \bar Y_{\mathcal J_J(l)})^2`,
in the variables matched on: the Mahalanobis covariates, or the score itself
when matching on a (propensity) score, whose conditional variance
:math:`\mathrm{Var}(Y \mid p(X), W)` includes the variation of
:math:`E[Y \mid X, W]` within a level set of the score. The variance of the
population average effect is

.. math:: \hat V = \frac{1}{N_F^2}\Big[\sum_{i \in F}
   \big(Y_i - \hat Y_i - s\hat\tau\big)^2
   + \sum_{j \notin F} \big(K(j)^2 - K'(j)\big)\hat\sigma^2_j\Big],

that of the sample average effect (conditional on the covariates)
:math:`\hat V_S = N_F^{-2}[\sum_{i\in F}\hat\sigma^2_i + \sum_{j\notin F}
K(j)^2\hat\sigma^2_j]` (Abadie, Drukker, Herr and Imbens 2004, eqs. 10-11).

*Bias correction (Abadie-Imbens 2011)*. :math:`\hat\mu(x)` is the least-squares
fit of :math:`Y` on the bias-adjustment covariates among the used units of the
other group, weighted by :math:`K(j)` (as ``nnmatch``), and
:math:`\hat Y_i = \sum_j w_{ij}\{Y_j + \hat\mu(X_i) - \hat\mu(X_j)\}`.

*Abadie-Imbens (2016)*, ATT after matching on a propensity score
:math:`F(\tilde x'\theta)` estimated by maximum likelihood:

.. math:: N \hat V_{adj} = N \hat V - \hat c' \hat I_\theta^{-1} \hat c
   + \widehat{\partial\tau/\partial\theta}' \hat I_\theta^{-1}
   \widehat{\partial\tau/\partial\theta},

.. math:: \widehat{\partial\tau/\partial\theta} = \frac{1}{N\bar p}\sum_{l}
   f(\tilde x_l'\hat\theta)\,\tilde x_l\,(\hat\mu_1(X_l) - \hat\mu_0(X_l) - \hat\tau), \qquad
   \hat c = \frac{1}{N\bar p}\sum_l f(\tilde x_l'\hat\theta)\Big[
   \widehat{\mathrm{cov}}(\tilde x, Y \mid p_l, 1)
   + \frac{p_l}{1 - p_l}\widehat{\mathrm{cov}}(\tilde x, Y \mid p_l, 0)\Big],

where :math:`\hat\mu_1 - \hat\mu_0` is the matching estimate of each unit's
effect and the conditional covariances are sample covariances among the
:math:`L` units of each group nearest in the propensity score.

*Regression on the matched sample*. The weighted regression of :math:`Y` on
:math:`(1, D)` with the matching weights gives :math:`\hat\tau`; its
cluster-robust (CR1, HC1-type) variance with matched pairs as clusters is the
one MatchIt's documentation recommends after matching without replacement.
"""

from __future__ import annotations

import numpy as np

from parkimpact.matching._nn import Matches

__all__ = [
    "usage",
    "imputed",
    "neighbour_variance",
    "ai_variance",
    "bias_adjusted",
    "cluster_regression_se",
    "ai2016_variance",
]


def usage(matches: Matches, n: int) -> tuple[np.ndarray, np.ndarray]:
    """:math:`K(j)` and :math:`K'(j)` for every row (zero for unused rows)."""
    k = np.bincount(matches.control, weights=matches.weight, minlength=n)
    k2 = np.bincount(matches.control, weights=matches.weight**2, minlength=n)
    return k, k2


def imputed(values: np.ndarray, matches: Matches, n: int) -> np.ndarray:
    """:math:`\\sum_j w_{ij} v_j` for every row (NaN for rows without matches)."""
    total = np.bincount(
        matches.focal, weights=matches.weight * values[matches.control], minlength=n
    )
    has = np.bincount(matches.focal, minlength=n) > 0
    return np.where(has, total, np.nan)


def neighbour_variance(y: np.ndarray, z: np.ndarray, group: np.ndarray, j: int) -> np.ndarray:
    """:math:`\\hat\\sigma^2_l` from the ``j`` nearest same-group neighbours (k-d tree on ``z``)."""
    from scipy.spatial import cKDTree

    out = np.full(y.size, np.nan)
    for g in (True, False):
        rows = np.flatnonzero(group == g)
        if rows.size < 2:
            continue
        jj = min(j, rows.size - 1)
        _, idx = cKDTree(z[rows]).query(z[rows], k=jj + 1)
        idx = np.atleast_2d(idx).reshape(rows.size, jj + 1)
        own = np.arange(rows.size)[:, None]
        is_self = idx == own
        # drop self where found, otherwise the farthest of the jj + 1 neighbours
        drop = np.where(is_self.any(axis=1), np.argmax(is_self, axis=1), jj)
        keep = np.ones_like(idx, dtype=bool)
        keep[np.arange(rows.size), drop] = False
        neighbours = idx[keep].reshape(rows.size, jj)
        mean = y[rows][neighbours].mean(axis=1)
        out[rows] = jj / (jj + 1.0) * (y[rows] - mean) ** 2
    return out


def ai_variance(
    y: np.ndarray,
    y_hat: np.ndarray,
    focal_rows: np.ndarray,
    sigma2: np.ndarray,
    k: np.ndarray,
    k2: np.ndarray,
    other: np.ndarray,
    effect: float,
) -> tuple[float, float]:
    """Abadie-Imbens variances ``(population, sample)`` of a focal-group average effect.

    ``effect`` is the signed mean gap :math:`s\\hat\\tau`.
    """
    n_focal = focal_rows.size
    gap = y[focal_rows] - y_hat[focal_rows] - effect
    spill = ((k**2 - k2) * sigma2)[other].sum()
    population = (np.sum(gap**2) + spill) / n_focal**2
    sample = (np.sum(sigma2[focal_rows]) + np.sum((k**2 * sigma2)[other])) / n_focal**2
    return float(population), float(sample)


def bias_adjusted(
    y: np.ndarray, x: np.ndarray, matches: Matches, k: np.ndarray, other: np.ndarray
) -> np.ndarray:
    """Bias-corrected imputations.

    :math:`\\hat Y_i = \\sum_j w_{ij}\\{Y_j + \\hat\\mu(X_i) - \\hat\\mu(X_j)\\}`.
    """
    used = other & (k > 0)
    design = np.column_stack([np.ones(x.shape[0]), x])
    root = np.sqrt(k[used])
    beta, *_ = np.linalg.lstsq(design[used] * root[:, None], y[used] * root, rcond=None)
    fitted = design @ beta
    n = y.size
    base = imputed(y, matches, n)
    return base + fitted - imputed(fitted, matches, n)


def cluster_regression_se(
    y: np.ndarray, treated: np.ndarray, weights: np.ndarray, clusters: np.ndarray
) -> tuple[float, float, int]:
    """Weighted regression of ``y`` on ``(1, D)``: coefficient of ``D``, CR1 SE, clusters.

    .. math:: \\hat V = \\frac{G}{G-1}\\frac{N-1}{N-2} (X'WX)^{-1}
              \\Big(\\sum_g S_g S_g'\\Big) (X'WX)^{-1}, \\quad
              S_g = \\sum_{l \\in g} w_l x_l \\hat e_l

    (``sandwich::vcovCL`` with type ``"HC1"``). Rows with zero weight are ignored.
    """
    use = weights > 0
    y, d, w, g = y[use], treated[use].astype(float), weights[use], clusters[use]
    x = np.column_stack([np.ones(y.size), d])
    bread = np.linalg.inv((x * w[:, None]).T @ x)
    beta = bread @ ((x * w[:, None]).T @ y)
    resid = y - x @ beta
    _, codes = np.unique(g, return_inverse=True)
    n_clusters = int(codes.max()) + 1
    scores = np.zeros((n_clusters, 2))
    np.add.at(scores, codes, x * (w * resid)[:, None])
    meat = scores.T @ scores
    factor = n_clusters / max(n_clusters - 1, 1) * (y.size - 1) / max(y.size - 2, 1)
    vcov = factor * bread @ meat @ bread
    return float(beta[1]), float(np.sqrt(max(vcov[1, 1], 0.0))), n_clusters


def _local_covariance(
    p: np.ndarray, x: np.ndarray, y: np.ndarray, group: np.ndarray, at: np.ndarray, n_near: int
) -> np.ndarray:
    """Sample covariance of (x, y) among the ``n_near`` units of ``group`` nearest in ``p``."""
    from scipy.spatial import cKDTree

    rows = np.flatnonzero(group)
    near = min(n_near, rows.size)
    _, idx = cKDTree(p[rows][:, None]).query(p[at][:, None], k=near)
    idx = rows[np.atleast_2d(idx).reshape(at.size, near)]
    xs, ys = x[idx], y[idx]  # (m, L, q), (m, L)
    xc = xs - xs.mean(axis=1, keepdims=True)
    yc = ys - ys.mean(axis=1, keepdims=True)
    return np.einsum("mlq,ml->mq", xc, yc) / max(near - 1, 1)


def ai2016_variance(
    variance: float,
    n_focal: int,
    effect: float,
    unit_effects: np.ndarray,
    y: np.ndarray,
    treated: np.ndarray,
    scores: np.ndarray,
    density: np.ndarray,
    design: np.ndarray,
    information: np.ndarray,
    n_near: int = 4,
) -> float:
    """Abadie-Imbens (2016) variance of the ATT after matching on an estimated score.

    ``variance`` is the Abadie-Imbens (2006) population variance, ``unit_effects``
    the matching estimate of :math:`\\mu_1(X_l) - \\mu_0(X_l)` for every unit,
    ``density`` :math:`f(\\tilde x_l'\\hat\\theta)` and ``information`` the
    per-observation information matrix of the propensity model.
    """
    n = y.size
    p_bar = treated.mean()
    every = np.arange(n)
    cov1 = _local_covariance(scores, design, y, treated, every, n_near)
    cov0 = _local_covariance(scores, design, y, ~treated, every, n_near)
    odds = scores / (1.0 - scores)
    c = (density[:, None] * (cov1 + odds[:, None] * cov0)).sum(axis=0) / (n * p_bar)
    gradient = (density[:, None] * design * (unit_effects - effect)[:, None]).sum(axis=0)
    gradient /= n * p_bar
    inverse = np.linalg.pinv(information)
    adjustment = (gradient @ inverse @ gradient - c @ inverse @ c) / n
    # rescale: variance is in units of the focal-group mean, the adjustment per n units
    return float(max(variance + adjustment, 0.0))
