r"""Multi-start minimisation of second-stage criteria, reporting every local minimum.

Proxy-variable criteria are not convex: the ACF criterion on the Chilean
plant panel of R ``prodest`` has a local minimum at (0.152, 0.156, 0.143) and
its global minimum at (0.646, 0.644, 0.251). Starting one optimiser from the
first-stage coefficients plus noise (``prodest``'s default) can stop at
either. :func:`search` therefore

1. evaluates the criterion on a grid over the parameter box (a full
   product grid for up to four parameters, a scrambled Sobol sample of the
   same size beyond), and
2. *polishes* the ``n_polish`` best grid points and every explicit start
   (the first-stage coefficients, a user start) with a trust-region
   least-squares solver (``scipy.optimize.least_squares``, analytic
   Jacobian),
3. groups the polished points into distinct local solutions, reports each
   with its criterion and the number of starts that reached it, and warns
   (:class:`MultipleOptimaWarning`) when the two best distinct solutions have
   nearly equal criteria (relative difference below ``tie_rtol``, or both
   numerically zero). The lowest criterion is reported, except among several
   numerically exact roots, where the root reached from the most starts (the
   widest basin of attraction) is reported: a just-identified ACF criterion
   can have several exact roots (on the ACF designs, a spurious one near
   :math:`\beta_l = 1, \beta_k = 0`).

If no polish converges, :class:`~parkimpact.errors.ConvergenceError` carries
the criterion path of the best attempt (``error.criterion_path``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from parkimpact.errors import (
    ConvergenceError,
    ConvergenceWarning,
    IdentificationError,
    ParkImpactError,
)

__all__ = [
    "MultipleOptimaWarning",
    "Polish",
    "LocalSolution",
    "SearchOutcome",
    "search",
    "grid_points",
    "second_stage",
]


class MultipleOptimaWarning(ConvergenceWarning):
    """Two distinct local minima of a criterion have nearly equal values."""


@dataclass(frozen=True)
class Polish:
    """One local optimisation: where it started, where it stopped and how."""

    label: str
    start: tuple[float, ...]
    params: tuple[float, ...]
    criterion: float
    converged: bool
    status: int
    evaluations: int
    path: tuple[float, ...]
    error: str = ""


@dataclass(frozen=True)
class LocalSolution:
    """A distinct local minimum found by the search.

    Attributes
    ----------
    params : tuple of float
        The minimiser.
    criterion : float
        The criterion value there.
    n_starts : int
        Number of polished starts that converged to it.
    labels : tuple of str
        Which starts reached it (``"grid 3"``, ``"first stage"``, ``"user"``).
    """

    params: tuple[float, ...]
    criterion: float
    n_starts: int
    labels: tuple[str, ...]


@dataclass(frozen=True)
class SearchOutcome:
    """Result of :func:`search`: the best point, the distinct solutions and every polish."""

    params: np.ndarray
    criterion: float
    solutions: tuple[LocalSolution, ...]
    polishes: tuple[Polish, ...]
    n_grid: int
    grid_best: float
    tie: bool


class _Problem:
    """Wrap residual and Jacobian functions, recording the criterion path."""

    def __init__(
        self,
        residuals: Callable[[np.ndarray], np.ndarray],
        jacobian: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        self.residuals_fn = residuals
        self.jacobian_fn = jacobian
        self.path: list[float] = []

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        r = self.residuals_fn(theta)
        self.path.append(float(r @ r))
        if not np.isfinite(r).all():
            raise FloatingPointError("non-finite criterion")
        return r

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        return self.jacobian_fn(theta)


def grid_points(box: np.ndarray, n_grid: int, seed: int = 0) -> np.ndarray:
    """Grid over the box ``(k, 2)``: a product grid for ``k <= 4``, else a Sobol sample."""
    k = box.shape[0]
    lower, upper = box[:, 0], box[:, 1]
    if k <= 4:
        per_dim = max(2, int(round(n_grid ** (1.0 / k))))
        axes = [np.linspace(lo, hi, per_dim) for lo, hi in zip(lower, upper, strict=True)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.column_stack([m.ravel() for m in mesh])
    sampler = stats.qmc.Sobol(d=k, scramble=True, seed=seed)
    unit = sampler.random(2 ** int(math.ceil(math.log2(max(n_grid, 2)))))[:n_grid]
    return stats.qmc.scale(unit, lower, upper)


def _safe_value(residuals: Callable[[np.ndarray], np.ndarray], theta: np.ndarray) -> float:
    try:
        r = residuals(theta)
    except (ParkImpactError, np.linalg.LinAlgError, FloatingPointError, ValueError):
        return math.inf
    value = float(r @ r)
    return value if math.isfinite(value) else math.inf


def _polish(problem: _Problem, label: str, start: np.ndarray, max_evaluations: int) -> Polish:
    problem.path = []
    try:
        fit = optimize.least_squares(
            problem.residuals,
            start,
            jac=problem.jacobian,
            method="trf",
            ftol=1e-12,
            xtol=1e-12,
            gtol=1e-12,
            max_nfev=max_evaluations,
        )
    except (ParkImpactError, np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
        return Polish(
            label,
            tuple(start),
            tuple(start),
            math.inf,
            False,
            -1,
            len(problem.path),
            tuple(problem.path),
            str(exc),
        )
    value = float(fit.fun @ fit.fun)
    converged = bool(fit.status > 0 and np.isfinite(fit.x).all() and math.isfinite(value))
    return Polish(
        label,
        tuple(map(float, start)),
        tuple(map(float, fit.x)),
        value,
        converged,
        int(fit.status),
        int(fit.nfev),
        tuple(problem.path),
    )


def _group(polishes: Sequence[Polish], distinct_tol: float) -> tuple[LocalSolution, ...]:
    found: list[list[Polish]] = []
    for polish in sorted((p for p in polishes if p.converged), key=lambda p: p.criterion):
        x = np.asarray(polish.params)
        for members in found:
            if np.max(np.abs(x - np.asarray(members[0].params))) <= distinct_tol:
                members.append(polish)
                break
        else:
            found.append([polish])
    return tuple(
        LocalSolution(m[0].params, m[0].criterion, len(m), tuple(p.label for p in m)) for m in found
    )


def _tied(a: LocalSolution, b: LocalSolution, atol: float, rtol: float) -> bool:
    return abs(b.criterion - a.criterion) <= rtol * max(abs(a.criterion), abs(b.criterion)) + atol


def _rank(
    solutions: tuple[LocalSolution, ...], scale: float, rtol: float
) -> tuple[tuple[LocalSolution, ...], bool]:
    """Order the solutions with the reported one first and say whether there is a tie.

    The lowest criterion is reported, except among several numerically exact
    roots (criteria below ``1e-9`` times the typical grid value), where the
    root reached from the most starts (the widest basin) is reported.
    """
    if len(solutions) < 2:
        return solutions, False
    atol = 1e-9 * max(scale, 1e-300)
    tied = [s for s in solutions if _tied(solutions[0], s, atol, rtol)]
    if len(tied) < 2:
        return solutions, False
    exact = [s for s in tied if s.criterion <= atol]
    if len(exact) < 2:
        return solutions, True
    chosen = max(exact, key=lambda s: (s.n_starts, -s.criterion))
    return (chosen, *[s for s in solutions if s is not chosen]), True


def search(
    residuals: Callable[[np.ndarray], np.ndarray],
    jacobian: Callable[[np.ndarray], np.ndarray],
    *,
    starts: Sequence[tuple[str, np.ndarray]],
    box: np.ndarray | None,
    n_grid: int,
    n_polish: int,
    max_evaluations: int,
    distinct_tol: float = 1e-4,
    tie_rtol: float = 0.01,
    what: str = "the second-stage criterion",
) -> SearchOutcome:
    """Multi-start search; see the module notes.

    Parameters
    ----------
    residuals, jacobian : callable
        :math:`r(\\theta)` with :math:`Q = \\lVert r \\rVert^2`, and its Jacobian.
    starts : sequence of (label, array)
        Explicit starting points, always polished.
    box : numpy.ndarray or None
        ``(k, 2)`` lower and upper bounds of the grid; ``None`` skips the grid
        (bootstrap replications polish the point estimate only).
    n_grid, n_polish : int
        Grid size and number of best grid points to polish.
    max_evaluations : int
        Residual evaluations allowed per polish.

    Raises
    ------
    ConvergenceError
        If no polish converges; ``criterion_path`` holds the best attempt's path.
    """
    problem = _Problem(residuals, jacobian)
    candidates = [(label, np.asarray(x, dtype=float)) for label, x in starts]
    grid_values = np.array([])
    if box is not None and n_grid > 0:
        grid = grid_points(box, n_grid)
        grid_values = np.array([_safe_value(residuals, point) for point in grid])
        finite = np.flatnonzero(np.isfinite(grid_values))
        best = finite[np.argsort(grid_values[finite], kind="stable")][:n_polish]
        candidates += [(f"grid {int(i)}", grid[i]) for i in best]
    polishes = tuple(_polish(problem, label, x, max_evaluations) for label, x in candidates)
    solutions = _group(polishes, distinct_tol)
    if not solutions:
        errors = [p.error for p in polishes if p.error]
        if len(errors) == len(polishes):
            raise IdentificationError(f"{what} cannot be evaluated: {errors[0]}")
        attempt = min(polishes, key=lambda p: (len(p.path) == 0, min(p.path, default=math.inf)))
        error = ConvergenceError(
            f"{what} must reach a local minimum from at least one start; got no convergence "
            f"from {len(polishes)} start(s) (best path ends at "
            f"{attempt.path[-1] if attempt.path else float('nan'):.6g} after "
            f"{attempt.evaluations} evaluations, status {attempt.status}). Raise "
            "max_evaluations, widen search_box or check the inputs for collinearity."
        )
        error.criterion_path = attempt.path  # type: ignore[attr-defined]
        raise error
    finite_grid = grid_values[np.isfinite(grid_values)]
    scale = float(np.median(finite_grid)) if finite_grid.size else solutions[0].criterion
    solutions, tie = _rank(solutions, scale, tie_rtol)
    if tie:
        a, b = solutions[0], solutions[1]
        warnings.warn(
            f"{what} has two distinct local minima with nearly equal values: "
            f"{np.round(a.params, 4).tolist()} ({a.criterion:.6g}) and "
            f"{np.round(b.params, 4).tolist()} ({b.criterion:.6g}); the estimate is "
            "not well identified. The first is reported (among exact roots, the one reached "
            "from the most starts); see result.optimizer.solutions.",
            MultipleOptimaWarning,
            stacklevel=4,
        )
    return SearchOutcome(
        params=np.asarray(solutions[0].params),
        criterion=solutions[0].criterion,
        solutions=solutions,
        polishes=polishes,
        n_grid=int(grid_values.size),
        grid_best=float(finite_grid.min()) if finite_grid.size else math.nan,
        tie=tie,
    )


def second_stage(
    residuals: Callable[[np.ndarray], np.ndarray],
    jacobian: Callable[[np.ndarray], np.ndarray],
    *,
    first: np.ndarray,
    user: Sequence[float] | None,
    box: np.ndarray,
    n_grid: int,
    n_polish: int,
    max_evaluations: int,
    multi_start: bool,
    names: Sequence[str],
) -> SearchOutcome:
    """Run :func:`search` from the first-stage start (and ``user``), or polish ``first`` only.

    ``multi_start=False`` (bootstrap replications) polishes ``first`` alone,
    which then holds the point estimate.
    """
    if not multi_start:
        return search(
            residuals,
            jacobian,
            starts=[("point estimate", first)],
            box=None,
            n_grid=0,
            n_polish=0,
            max_evaluations=max_evaluations,
        )
    starts: list[tuple[str, np.ndarray]] = [("first stage", np.asarray(first, dtype=float))]
    if user is not None:
        if len(user) != len(names):
            raise ValueError(
                f"start must have one value per second-stage coefficient ({', '.join(names)}); "
                f"got {len(user)} value(s). Pass {len(names)} values."
            )
        starts.append(("user", np.asarray(user, dtype=float)))
    return search(
        residuals,
        jacobian,
        starts=starts,
        box=box,
        n_grid=n_grid,
        n_polish=n_polish,
        max_evaluations=max_evaluations,
    )
