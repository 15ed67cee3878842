r"""Fixed-length confidence intervals under the smoothness restriction :math:`\Delta^{SD}(M)`.

Notation (Rambachan and Roth 2023): the event-study coefficients are
:math:`\hat\beta = (\hat\beta_{pre}, \hat\beta_{post}) \sim N(\beta, \Sigma)`
with :math:`\beta_{pre} = \delta_{pre}` and :math:`\beta_{post} = \tau +
\delta_{post}`; pre-periods are :math:`t = -\underline T, \dots, -1`, post
periods :math:`t = 1, \dots, \bar T` and the reference period :math:`t = 0` has
:math:`\delta_0 = 0`. The target is :math:`\theta = l'\tau`. The smoothness
restriction bounds every second difference of the trend,

.. math:: \Delta^{SD}(M) = \{\delta : |\delta_{t+1} - 2\delta_t + \delta_{t-1}| \le M\}.

The fixed-length confidence interval (FLCI) of Armstrong and Kolesár (2018)
uses an affine estimator :math:`\hat\theta = v'\hat\beta_{pre} + l'\hat\beta_{post}`
and the interval :math:`\hat\theta \pm \chi`, with
:math:`\chi = \sigma_v\, cv_\alpha(\bar b_v / \sigma_v)`, where
:math:`\sigma_v` is the standard deviation of :math:`\hat\theta`,
:math:`\bar b_v` its worst-case bias over :math:`\Delta^{SD}(M)` and
:math:`cv_\alpha(t)` the :math:`1-\alpha` quantile of :math:`|N(t, 1)|`. The
vector :math:`v` minimises :math:`\chi`.

Worst-case bias in closed form: write :math:`\delta` through the slope
:math:`s = \delta_1` and the second differences :math:`u_k \in [-M, M]`
(:math:`k = -\underline T + 1, \dots, \bar T - 1`). The bias
:math:`v'\delta_{pre} + l'\delta_{post}` is bounded only if its slope
coefficient vanishes, :math:`\sum_{\tau=1}^{\underline T} \tau\, v_{-\tau} =
\kappa := \sum_{t=1}^{\bar T} t\, l_t`, and then

.. math:: \bar b_v = M \Big(\sum_{k=1}^{\bar T - 1} \big|\textstyle\sum_{t>k} (t-k) l_t\big|
          + \sum_{j=0}^{\underline T - 1} |w_j|\Big), \qquad
          w_j = \sum_{\tau > j} (\tau - j)\, v_{-\tau},

with :math:`w_0 = \kappa`. In the coordinates :math:`w_1, \dots,
w_{\underline T - 1}` the half-length is a convex function (the perspective
of the convex :math:`cv_\alpha`, composed with a norm and an L1 norm); it is
minimised by SLSQP with the L1 norm split into positive and negative parts.
This replaces the grid over :math:`\sigma_v` of the R package HonestDiD by a
direct minimisation of the same objective, and its simulated folded-normal
quantiles by exact ones.

References
----------
Armstrong, T. B. and Kolesár, M. (2018). Optimal inference in a class of
regression models. *Econometrica*, 86(2), 655-683.

Rambachan, A. and Roth, J. (2023). A more credible approach to parallel
trends. *Review of Economic Studies*, 90(5), 2555-2591.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from parkimpact.errors import ConvergenceError

__all__ = ["FLCI", "flci", "folded_normal_quantile", "identified_set_sd"]


@dataclass(frozen=True)
class FLCI:
    """An optimal fixed-length confidence interval.

    Parameters
    ----------
    conf_low, conf_high : float
        The interval :math:`\\hat\\theta \\mp \\chi`.
    center : float
        The affine estimate :math:`\\hat\\theta`.
    half_length : float
        :math:`\\chi`.
    max_bias : float
        Worst-case bias of the estimator over :math:`\\Delta^{SD}(M)`.
    std_error : float
        Standard deviation of the estimator.
    weights : numpy.ndarray
        The estimator's weights on all coefficients (pre-periods, then ``l``).
    """

    conf_low: float
    conf_high: float
    center: float
    half_length: float
    max_bias: float
    std_error: float
    weights: np.ndarray


def folded_normal_quantile(p: float, mean: float) -> float:
    """The ``p`` quantile of :math:`|N(\\text{mean}, 1)|` (exact, by root finding)."""
    shift = abs(float(mean))

    def excess(c: float) -> float:
        return float(stats.norm.cdf(c - shift) - stats.norm.cdf(-c - shift) - p)

    return float(optimize.brentq(excess, 0.0, shift + 10.0, xtol=1e-14, rtol=1e-14))


def _quantile_slope(c: float, shift: float) -> float:
    """Derivative of the folded-normal quantile with respect to the mean (implicit)."""
    left, right = stats.norm.pdf(c - shift), stats.norm.pdf(c + shift)
    return float((left - right) / (left + right))


def _bias_map(n_pre: int) -> np.ndarray:
    """Matrix P with w = P v, v ordered tau = 1..n_pre (tau periods before the reference)."""
    j = np.arange(n_pre)[:, None]
    tau = np.arange(1, n_pre + 1)[None, :]
    return np.where(tau > j, tau - j, 0).astype(float)


def _post_bias_constant(l_vec: np.ndarray) -> float:
    """Sum over k = 1..T-1 of |sum_{t>k} (t - k) l_t| (the post-period part of the bias)."""
    n_post = len(l_vec)
    t = np.arange(1, n_post + 1)
    k = np.arange(1, n_post)[:, None]
    return float(np.sum(np.abs(np.where(t > k, t - k, 0) @ l_vec)))


@dataclass(frozen=True)
class _Problem:
    """The affine map from free coordinates z to coefficient weights a = base + slope z."""

    base: np.ndarray
    slope: np.ndarray
    sigma: np.ndarray
    bias_constant: float  # post part + |kappa|, per unit of M

    def std(self, z: np.ndarray) -> float:
        a = self.base + self.slope @ z
        return float(np.sqrt(a @ self.sigma @ a))


def _problem(sigma: np.ndarray, n_pre: int, l_vec: np.ndarray) -> _Problem:
    kappa = float(np.arange(1, len(l_vec) + 1) @ l_vec)
    inverse = np.linalg.inv(_bias_map(n_pre))  # v (tau order) = inverse @ w
    to_beta = np.eye(n_pre)[::-1]  # beta_pre is ordered t = -n_pre..-1, i.e. tau descending
    base = np.concatenate([to_beta @ inverse[:, 0] * kappa, l_vec])
    slope = np.vstack([to_beta @ inverse[:, 1:], np.zeros((len(l_vec), n_pre - 1))])
    return _Problem(base, slope, sigma, _post_bias_constant(l_vec) + abs(kappa))


def _minimum_variance(problem: _Problem) -> np.ndarray:
    """Free coordinates minimising the estimator's variance (the M = 0 optimum)."""
    if problem.slope.shape[1] == 0:
        return np.zeros(0)
    gram = problem.slope.T @ problem.sigma @ problem.slope
    return np.linalg.lstsq(gram, -problem.slope.T @ problem.sigma @ problem.base, rcond=None)[0]


def _half_length(
    problem: _Problem, m: float, alpha: float, x: np.ndarray
) -> tuple[float, np.ndarray]:
    """Half-length and its gradient in x = (p, q), z = p - q, p, q >= 0."""
    n_free = problem.slope.shape[1]
    z = x[:n_free] - x[n_free:]
    a = problem.base + problem.slope @ z
    sd = float(np.sqrt(a @ problem.sigma @ a))
    bias = m * (problem.bias_constant + float(np.sum(x)))
    ratio = bias / sd
    c = folded_normal_quantile(1 - alpha, ratio)
    dc = _quantile_slope(c, ratio)
    d_sd = (c - ratio * dc) * (problem.slope.T @ problem.sigma @ a) / sd
    d_bias = dc * m
    grad = np.concatenate([d_sd + d_bias, -d_sd + d_bias])
    return sd * c, grad


def _optimal_free(problem: _Problem, m: float, alpha: float) -> np.ndarray:
    """Free coordinates z minimising the half-length (convex; SLSQP from two starts)."""
    n_free = problem.slope.shape[1]
    z_variance = _minimum_variance(problem)
    if n_free == 0 or m == 0:
        return z_variance
    best: tuple[float, np.ndarray] | None = None
    for start in (z_variance, np.zeros(n_free)):
        x0 = np.concatenate([np.clip(start, 0, None), np.clip(-start, 0, None)])
        solution = optimize.minimize(
            lambda x: _half_length(problem, m, alpha, x),
            x0,
            jac=True,
            method="SLSQP",
            bounds=[(0.0, None)] * (2 * n_free),
            options={"ftol": 1e-15, "maxiter": 500},
        )
        if not np.all(np.isfinite(solution.x)):
            continue
        value = _half_length(problem, m, alpha, solution.x)[0]
        if best is None or value < best[0]:
            best = (value, solution.x[:n_free] - solution.x[n_free:])
    if best is None:
        raise ConvergenceError(
            f"the FLCI optimisation must converge; got no finite solution for M = {m:g}. "
            "Check that sigma is positive definite."
        )
    return best[1]


def flci(
    betahat: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_vec: np.ndarray,
    m: float,
    alpha: float,
) -> FLCI:
    """The optimal FLCI for :math:`\\theta = l'\\tau` under :math:`\\Delta^{SD}(M)`.

    Parameters
    ----------
    betahat : numpy.ndarray
        Coefficients, pre-periods (earliest first) then post-periods.
    sigma : numpy.ndarray
        Their covariance.
    n_pre : int
        Number of pre-period coefficients (at least 1).
    l_vec : numpy.ndarray
        Weights of the post-period effects.
    m : float
        Bound :math:`M \\ge 0` on the second differences.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    FLCI
    """
    scale = float(np.sqrt(np.max(np.diag(sigma))))  # solve in units of the largest SE
    problem = _problem(sigma / scale**2, n_pre, l_vec)
    z = _optimal_free(problem, m / scale, alpha)
    weights = problem.base + problem.slope @ z
    sd = float(np.sqrt(weights @ sigma @ weights))
    bias = m * (problem.bias_constant + float(np.sum(np.abs(z))))
    half = sd * folded_normal_quantile(1 - alpha, bias / sd)
    center = float(weights @ betahat)
    return FLCI(center - half, center + half, center, half, bias, sd, weights)


def identified_set_sd(
    betahat: np.ndarray, n_pre: int, l_vec: np.ndarray, m: float
) -> tuple[float, float]:
    """Identified set of :math:`\\theta` under :math:`\\Delta^{SD}(M)`, treating betahat as beta.

    With :math:`\\delta_{pre} = \\beta_{pre}`, the post-period trend is free up
    to second differences in :math:`[-M, M]` starting from the last pre-period
    slope, so :math:`\\theta \\in l'\\beta_{post} + \\kappa\\beta_{-1} \\mp
    M(|\\kappa| + C)` with :math:`\\kappa = \\sum_t t\\, l_t` and :math:`C` the
    post-period bias constant. At :math:`M = 0` this is the linear
    extrapolation of the trend through :math:`\\beta_{-1}` and :math:`\\delta_0 = 0`.
    The set is empty (NaN, NaN) when the pre-period second differences exceed
    :math:`M`.
    """
    pre = np.concatenate([betahat[:n_pre], [0.0]])
    if n_pre >= 2 and np.any(np.abs(np.diff(pre, n=2)) > m + 1e-12):
        return float("nan"), float("nan")
    kappa = float(np.arange(1, len(l_vec) + 1) @ l_vec)
    center = float(l_vec @ betahat[n_pre:]) + kappa * float(betahat[n_pre - 1])
    width = m * (abs(kappa) + _post_bias_constant(l_vec))
    return center - width, center + width
