r"""Conditional and hybrid moment-inequality tests (Andrews, Roth and Pakes) for HonestDiD.

For a polyhedral restriction :math:`\Delta = \{\delta : A\delta \le d\}` the
null :math:`\theta = l'\tau` is the moment inequality

.. math:: E[\,Y(\theta) - X\tilde\tau\,] \le 0, \qquad
          Y(\theta) = A\hat\beta - d - A_{post}\tau_0\theta,\quad X = A_{post}N,

where :math:`\tau_0 = l/(l'l)`, the columns of :math:`N` span the null space
of :math:`l'` and :math:`\tilde\tau` is a nuisance parameter, with
:math:`\Sigma_Y = A\Sigma A'` and :math:`\sigma = \sqrt{\mathrm{diag}\,\Sigma_Y}`.
The statistic is

.. math:: \hat\eta = \min_{\eta, \tilde\tau}\ \eta \ \text{ s.t. }\
          Y - X\tilde\tau \le \eta\sigma
          \;=\; \max_{\lambda \in P} \lambda'Y,\qquad
          P = \{\lambda \ge 0 : \sigma'\lambda = 1,\ X'\lambda = 0\},

the second form being the dual linear program (ARP 2023, Section 3). The
vertices of :math:`P` do not depend on :math:`\theta`; they are enumerated
once (extreme rays of the cone :math:`\{\lambda \ge 0: X'\lambda = 0\}` by
the double-description method, scaled to :math:`\sigma'\lambda = 1`), so the
test is evaluated for a whole grid of :math:`\theta` with matrix products.

Conditional test. With :math:`\hat\gamma` the optimal vertex,
:math:`\sigma_B^2 = \hat\gamma'\Sigma_Y\hat\gamma`,
:math:`c = \Sigma_Y\hat\gamma/\sigma_B^2` and :math:`S = Y - c\,\hat\eta`
(independent of :math:`\hat\eta`), :math:`\hat\gamma` stays optimal iff
:math:`\lambda'S \le \hat\eta\,(1 - \lambda'c)` for every vertex, i.e.
:math:`\hat\eta \in [V^{lo}, V^{up}]` with

.. math:: V^{lo} = \max_{\lambda: 1 - \lambda'c > 0} \frac{\lambda'S}{1 - \lambda'c},\qquad
          V^{up} = \min_{\lambda: 1 - \lambda'c < 0} \frac{\lambda'S}{1 - \lambda'c}.

The test rejects when :math:`\hat\eta/\sigma_B` exceeds
:math:`\max\{0, q_{1-\alpha}\}`, :math:`q_{1-\alpha}` the quantile of a
standard normal truncated to :math:`[V^{lo}, V^{up}]/\sigma_B` (ARP 2023,
Proposition 5 and the dual approach of their Appendix). These are the same
truncation points the R package HonestDiD finds by bisection over LPs.

Conditional-least-favourable hybrid (ARP 2023, Section 3.3): reject when
:math:`\hat\eta` exceeds the :math:`1-\kappa` quantile :math:`c_{LF}` of
:math:`\max_{\lambda\in P}\lambda'\xi`, :math:`\xi \sim N(0, \Sigma_Y)` (by
simulation), otherwise run the conditional test at size
:math:`(\alpha - \kappa)/(1 - \kappa)` with :math:`V^{up}` replaced by
:math:`\min(V^{up}, c_{LF})`. HonestDiD uses :math:`\kappa = \alpha/10`.

References
----------
Andrews, I., Roth, J. and Pakes, A. (2023). Inference for linear conditional
moment inequalities. *Review of Economic Studies*, 90(6), 2763-2791.

Rambachan, A. and Roth, J. (2023). A more credible approach to parallel
trends. *Review of Economic Studies*, 90(5), 2555-2591.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, stats

from parkimpact.errors import IdentificationError

__all__ = [
    "MomentProblem",
    "moment_problem",
    "dual_vertices",
    "least_favorable_cv",
    "arp_accepts",
    "rm_constraints",
    "identified_set_rm",
    "rm_bound_scale",
]

_TOL = 1e-10
#: Upper bound on the number of rays kept by the double-description method.
MAX_RAYS = 200_000


@dataclass(frozen=True, eq=False)
class MomentProblem:
    """The moments of one polyhedron, ready to be tested over a grid of theta.

    Parameters
    ----------
    y0 : numpy.ndarray
        :math:`A\\hat\\beta - d` (moments at :math:`\\theta = 0`).
    slope : numpy.ndarray
        :math:`A_{post}\\tau_0` (so that :math:`Y(\\theta) = y_0 - \\text{slope}\\,\\theta`).
    sigma_y : numpy.ndarray
        :math:`\\Sigma_Y = A\\Sigma A'`.
    vertices : numpy.ndarray
        Vertices of the dual polytope :math:`P`, one per row.
    gram : numpy.ndarray
        :math:`\\Lambda\\Sigma_Y\\Lambda'` for the vertices :math:`\\Lambda`.
    matrix : numpy.ndarray
        The constraint matrix :math:`A` (to map simulation draws of :math:`\\hat\\beta`).
    """

    y0: np.ndarray
    slope: np.ndarray
    sigma_y: np.ndarray
    vertices: np.ndarray
    gram: np.ndarray
    matrix: np.ndarray


def moment_problem(
    a_matrix: np.ndarray,
    d_vector: np.ndarray,
    betahat: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_vec: np.ndarray,
) -> MomentProblem:
    """Build the :class:`MomentProblem` of the polyhedron ``A delta <= d`` and target ``l_vec``."""
    post = a_matrix[:, n_pre:]
    tau0 = l_vec / float(l_vec @ l_vec)
    nuisance = post @ linalg.null_space(l_vec[None, :])
    sigma_y = a_matrix @ sigma @ a_matrix.T
    sd = np.sqrt(np.clip(np.diag(sigma_y), 0.0, None))
    if not np.all(sd > _TOL * float(sd.max())):
        raise IdentificationError(
            "every moment of the restriction must have positive variance; got a moment with "
            "zero variance. Check that sigma is positive definite."
        )
    vertices = dual_vertices(nuisance, sd)
    return MomentProblem(
        y0=a_matrix @ betahat - d_vector,
        slope=post @ tau0,
        sigma_y=sigma_y,
        vertices=vertices,
        gram=vertices @ sigma_y @ vertices.T,
        matrix=a_matrix,
    )


# ---------------------------------------------------------------------------
# vertices of the dual polytope
# ---------------------------------------------------------------------------
def _adjacent_pairs(
    zeros: np.ndarray, positive: np.ndarray, negative: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (p, n) of rays that are adjacent (combinatorial test of the double description)."""
    pos, neg = np.meshgrid(positive, negative, indexing="ij")
    pos, neg = pos.ravel(), neg.ravel()
    common = zeros[pos] & zeros[neg]  # (pairs, m)
    # a third ray whose zero set contains the common zeros makes the pair non-adjacent
    covers = np.all(zeros[None, :, :] | ~common[:, None, :], axis=2)  # (pairs, rays)
    covers[np.arange(len(pos)), pos] = False
    covers[np.arange(len(pos)), neg] = False
    keep = ~covers.any(axis=1)
    return pos[keep], neg[keep]


def dual_vertices(nuisance: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Vertices of :math:`\\{\\lambda \\ge 0: \\sigma'\\lambda = 1, X'\\lambda = 0\\}`.

    Extreme rays of the pointed cone :math:`\\{\\lambda \\ge 0: X'\\lambda = 0\\}`
    are found by the double-description method (Motzkin et al. 1953; Fukuda
    and Prodon 1996): starting from the unit vectors, each equality
    :math:`x_j'\\lambda = 0` keeps the rays on it and combines every adjacent
    pair from opposite sides. Rays are then scaled to :math:`\\sigma'\\lambda = 1`.
    """
    m = len(sd)
    rays = np.eye(m)
    for column in np.atleast_2d(nuisance.T):
        scale = max(float(np.max(np.abs(column))), 1.0)
        values = rays @ column
        values[np.abs(values) <= _TOL * scale] = 0.0
        zeros = np.abs(rays) <= _TOL
        pos, neg = _adjacent_pairs(zeros, np.flatnonzero(values > 0), np.flatnonzero(values < 0))
        combined = values[pos, None] * rays[neg] - values[neg, None] * rays[pos]
        rays = np.vstack([rays[values == 0], combined])
        rays = rays / np.max(np.abs(rays), axis=1, keepdims=True)
        rays[np.abs(rays) <= _TOL] = 0.0
        if len(rays) > MAX_RAYS:
            raise IdentificationError(
                f"the dual polytope must have at most {MAX_RAYS} vertices; got more. Use fewer "
                "post-periods (a narrower event window)."
            )
    if len(rays) == 0:
        raise IdentificationError(
            "the moment inequalities must admit a dual vertex; got none. The restriction leaves "
            "the target unconstrained."
        )
    rays = np.unique(np.round(rays, 12), axis=0)  # rays are scaled to max |entry| = 1
    return rays / (rays @ sd)[:, None]


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------
def least_favorable_cv(problem: MomentProblem, draws: np.ndarray, kappa: float) -> float:
    """The :math:`1-\\kappa` quantile of :math:`\\max_{\\lambda\\in P}\\lambda'\\xi`.

    ``draws`` are simulated :math:`\\hat\\beta - \\beta \\sim N(0, \\Sigma)`, one
    per row; :math:`\\xi = A(\\hat\\beta - \\beta)`.
    """
    xi = draws @ problem.matrix.T
    eta = np.max(xi @ problem.vertices.T, axis=1)
    return float(np.quantile(eta, 1.0 - kappa))


def _truncation(problem: MomentProblem, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """Statistic, its sd and the truncation bounds for every grid column of ``values``."""
    best = np.argmax(values, axis=0)
    columns = np.arange(values.shape[1])
    eta = values[best, columns]
    gram_best = problem.gram[best, best]
    ratio = problem.gram[:, best] / gram_best  # lambda_v' c for every vertex and column
    numerator = values - ratio * eta
    denominator = 1.0 - ratio
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = numerator / denominator
    lower = np.where(denominator > 1e-9, bound, -np.inf).max(axis=0)
    upper = np.where(denominator < -1e-9, bound, np.inf).min(axis=0)
    return eta, np.sqrt(np.clip(gram_best, 0.0, None)), lower, upper


def arp_accepts(
    problem: MomentProblem,
    thetas: np.ndarray,
    alpha: float,
    kappa: float = 0.0,
    lf_cv: float | None = None,
) -> np.ndarray:
    """Acceptance of :math:`\\theta` by the conditional (or hybrid) test, for each theta.

    Parameters
    ----------
    problem : MomentProblem
        The moments of one polyhedron.
    thetas : numpy.ndarray
        Values of the target to test.
    alpha : float
        Size of the test.
    kappa : float, default 0
        Size of the least-favourable first stage (0 with ``lf_cv=None``: the
        pure conditional test).
    lf_cv : float or None
        Least-favourable critical value :math:`c_{LF}` of the first stage.

    Returns
    -------
    numpy.ndarray of bool
    """
    thetas = np.atleast_1d(np.asarray(thetas, dtype=float))
    y = problem.y0[:, None] - problem.slope[:, None] * thetas[None, :]
    eta, sd_b, lower, upper = _truncation(problem, problem.vertices @ y)
    size = alpha
    first_stage = np.zeros(len(thetas), dtype=bool)
    if lf_cv is not None:
        first_stage = eta > lf_cv
        upper = np.minimum(upper, lf_cv)
        size = (alpha - kappa) / (1.0 - kappa)
    degenerate = sd_b < 1e-10
    safe_sd = np.where(degenerate, 1.0, sd_b)
    z, z_lo, z_up = eta / safe_sd, lower / safe_sd, upper / safe_sd
    z_lo = np.minimum(z_lo, z)  # guard against rounding; the truncation contains the statistic
    z_up = np.maximum(z_up, z)
    with np.errstate(invalid="ignore", over="ignore"):
        quantile = stats.truncnorm.ppf(1.0 - size, z_lo, z_up)
    quantile = np.where(z_up - z_lo < 1e-12, z_lo, quantile)
    reject = z > np.maximum(0.0, quantile)
    reject = np.where(degenerate, eta > 0, reject) | first_stage
    return ~reject


# ---------------------------------------------------------------------------
# relative magnitudes
# ---------------------------------------------------------------------------
def rm_constraints(n_pre: int, n_post: int, mbar: float) -> list[np.ndarray]:
    r"""Matrices :math:`A_{s,\pm}` of :math:`\Delta^{RM}_{s,\pm}(\bar M)` (post-period rows).

    :math:`\Delta^{RM}(\bar M)` is the union over pre-period first differences
    :math:`s \in \{-\underline T + 1, \dots, 0\}` and signs of the polyhedra
    :math:`\{|\delta_{t} - \delta_{t-1}| \le \pm\bar M(\delta_s - \delta_{s-1}),\ t = 1..\bar T\}`
    (:math:`d = 0`). Rows that involve pre-periods only (the pre-period
    difference :math:`s` being the largest) are left out, as HonestDiD does
    with ``postPeriodMomentsOnly``; the union of the relaxed polyhedra is still
    :math:`\Delta^{RM}(\bar M)`. Columns are :math:`\delta_{-\underline T}, \dots,
    \delta_{-1}, \delta_1, \dots, \delta_{\bar T}` (:math:`\delta_0 = 0` dropped).
    """
    width = n_pre + n_post + 1  # includes delta_0 at position n_pre
    first_diff = np.zeros((n_post, width))
    rows = np.arange(n_post)
    first_diff[rows, n_pre + rows] = -1.0
    first_diff[rows, n_pre + rows + 1] = 1.0
    matrices = []
    for s in range(-(n_pre - 1), 1):  # loops over pre-periods, not data
        reference = np.zeros(width)
        reference[n_pre + s - 1], reference[n_pre + s] = -1.0, 1.0
        for sign in (1.0, -1.0):
            bound = mbar * sign * reference
            full = np.vstack([first_diff - bound, -first_diff - bound])
            matrices.append(np.delete(full, n_pre, axis=1))
    return matrices


def identified_set_rm(
    betahat: np.ndarray, n_pre: int, l_vec: np.ndarray, mbar: float
) -> tuple[float, float]:
    r"""Identified set of :math:`\theta` under :math:`\Delta^{RM}(\bar M)` with beta = betahat.

    With :math:`D = \max_{s \le 0} |\beta_s - \beta_{s-1}|` (:math:`\beta_0 = 0`),
    every post-period first difference lies in :math:`[-\bar M D, \bar M D]`, so
    :math:`\theta \in l'\beta_{post} \mp \bar M D \sum_{k=1}^{\bar T}
    |\sum_{t \ge k} l_t|`.
    """
    pre = np.concatenate([betahat[:n_pre], [0.0]])
    largest = float(np.max(np.abs(np.diff(pre)))) if n_pre >= 1 else 0.0
    tail_sums = np.cumsum(l_vec[::-1])[::-1]
    width = mbar * largest * float(np.sum(np.abs(tail_sums)))
    center = float(l_vec @ betahat[n_pre:])
    return center - width, center + width


def rm_bound_scale(sigma: np.ndarray, n_pre: int, l_vec: np.ndarray, mbar: float) -> float:
    r"""A standard-error scale for the endpoints of the :math:`\Delta^{RM}(\bar M)` set.

    :math:`\sqrt{l'\Sigma_{post}l} + \bar M \sum_k |\sum_{t \ge k} l_t|
    \max_s \mathrm{sd}(\hat\beta_s - \hat\beta_{s-1})`: the sampling noise of
    :math:`l'\hat\beta_{post}` plus that of the largest pre-entry change, scaled
    as in :func:`identified_set_rm`. Used to size the default theta grid.
    """
    pre = sigma[:n_pre, :n_pre]
    diff = np.eye(n_pre, k=1) - np.eye(n_pre)  # pre-entry changes, the last one to beta_0 = 0
    sd_changes = np.sqrt(np.clip(np.diag(diff @ pre @ diff.T), 0.0, None))
    tail_sums = np.cumsum(l_vec[::-1])[::-1]
    post = float(np.sqrt(l_vec @ sigma[n_pre:, n_pre:] @ l_vec))
    return post + mbar * float(np.sum(np.abs(tail_sums))) * float(sd_changes.max())
