"""Fixed-effect codes, singleton detection and the within transformation.

The within transformation removes from each column its projection on the
fixed-effect dummies. With one fixed effect it is one pass of group-mean
subtraction; with several it is computed by alternating projections (the
method of alternating projections, Gaure 2013): demean by each fixed effect in
turn until a further sweep would change no value by more than ``tol`` times the
column's within scale, every second sweep followed by an Irons-Tuck
extrapolation step (as fixest does) that shortens the slow convergence of
poorly connected panels. Group means are weighted sums computed with
:func:`numpy.bincount` on precomputed integer codes, so every pass is
vectorised over observations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parkimpact.errors import ConvergenceError

__all__ = ["FixedEffects", "Demeaned", "demean"]

#: Default convergence tolerance of the alternating projections (relative).
DEFAULT_TOL = 1e-10
#: Default cap on the number of sweeps over all fixed effects.
DEFAULT_MAX_ITER = 10_000


@dataclass(frozen=True, eq=False)
class FixedEffects:
    """Integer-coded fixed effects of an estimation sample.

    Parameters
    ----------
    names : tuple of str
        Column names of the fixed effects, e.g. ``("firm_id", "year")``.
    codes : tuple of numpy.ndarray
        One array of codes ``0 .. n_groups - 1`` (``intp``) per fixed effect.
    n_groups : tuple of int
        Number of levels of each fixed effect.
    """

    names: tuple[str, ...]
    codes: tuple[np.ndarray, ...]
    n_groups: tuple[int, ...]

    @classmethod
    def from_columns(cls, frame: pd.DataFrame, columns: Sequence[str]) -> FixedEffects:
        """Code the columns of ``frame`` (missing values must have been dropped)."""
        codes, sizes = [], []
        for column in columns:
            code, levels = pd.factorize(frame[column], sort=False)
            codes.append(np.ascontiguousarray(code, dtype=np.intp))
            sizes.append(len(levels))
        return cls(tuple(columns), tuple(codes), tuple(sizes))

    @property
    def n_obs(self) -> int:
        """Number of observations coded (0 when there is no fixed effect)."""
        return len(self.codes[0]) if self.codes else 0

    def singletons(self) -> np.ndarray:
        """Rows in a group of size one of any fixed effect, found iteratively.

        Dropping a singleton can create new singletons in another fixed effect,
        so groups are recounted until none is left (as fixest and reghdfe do).

        Returns
        -------
        numpy.ndarray of bool
            ``True`` for the rows to drop.
        """
        drop = np.zeros(self.n_obs, dtype=bool)
        while self.codes:
            found = np.zeros(self.n_obs, dtype=bool)
            for code, size in zip(self.codes, self.n_groups, strict=True):
                counts = np.bincount(code[~drop], minlength=size)
                found |= (counts[code] == 1) & ~drop
            if not found.any():
                break
            drop |= found
        return drop

    def n_params(self, nested_in: np.ndarray | None = None) -> int:
        """Number of fixed-effect parameters counted in small-sample factors.

        All levels of all fixed effects count, minus one reference level per
        fixed effect after the first: ``sum(L_f) - (F - 1)``. Given cluster
        codes, the fixed effects whose every level lies inside a single cluster
        (nested in the cluster) are discarded except for one parameter each,
        the fixest ``"nonnested"`` count (fixest >= 0.13, formerly
        ``fixef.K = "nested"``).

        Parameters
        ----------
        nested_in : numpy.ndarray or None
            Integer cluster codes, one per observation.

        Returns
        -------
        int
        """
        if not self.codes:
            return 0
        total = sum(self.n_groups) - (len(self.codes) - 1)
        if nested_in is None:
            return int(total)
        for code, size in zip(self.codes, self.n_groups, strict=True):
            if is_nested(code, size, nested_in):
                total -= size - 1
        return int(total)

    def demean(
        self,
        matrix: np.ndarray,
        weights: np.ndarray | None = None,
        *,
        tol: float = DEFAULT_TOL,
        max_iter: int = DEFAULT_MAX_ITER,
    ) -> Demeaned:
        """Within-transform the columns of ``matrix``; see :func:`demean`."""
        return demean(matrix, self, weights, tol=tol, max_iter=max_iter)


def is_nested(code: np.ndarray, size: int, clusters: np.ndarray) -> bool:
    """Whether every level of ``code`` falls inside exactly one cluster."""
    cluster_of = np.empty(size, dtype=clusters.dtype)
    cluster_of[code] = clusters  # one of the clusters of each level; any will do
    return bool(np.array_equal(cluster_of[code], clusters))


@dataclass(frozen=True, eq=False)
class Demeaned:
    """Result of the within transformation.

    Parameters
    ----------
    values : numpy.ndarray
        The transformed matrix (Fortran order, float64).
    iterations : tuple of int
        Sweeps used for each column.
    """

    values: np.ndarray
    iterations: tuple[int, ...]


def demean(
    matrix: np.ndarray,
    fixed_effects: FixedEffects,
    weights: np.ndarray | None = None,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> Demeaned:
    r"""Subtract from each column its (weighted) projection on the fixed effects.

    For fixed effects :math:`f = 1, \dots, F` with levels :math:`g`, one sweep
    applies, for each :math:`f` in turn,

    .. math:: x_i \leftarrow x_i - \frac{\sum_{j: g_f(j) = g_f(i)} w_j x_j}
                                         {\sum_{j: g_f(j) = g_f(i)} w_j}.

    With one fixed effect one sweep is exact. With several, sweeps repeat until
    the group means of the first fixed effect (the largest change the next
    sweep would make) are all below ``tol`` times the column's within scale
    (its largest absolute value after the first sweep); every second sweep is
    followed by an Irons-Tuck extrapolation. A balanced panel with unit and
    time effects converges after one sweep.

    Parameters
    ----------
    matrix : numpy.ndarray
        ``(n, k)`` or ``(n,)`` array; it is copied, never modified.
    fixed_effects : FixedEffects
        The coded fixed effects (no fixed effect returns a copy).
    weights : numpy.ndarray or None
        Non-negative observation weights; every group needs a positive total.
    tol : float, default 1e-10
        Relative convergence tolerance.
    max_iter : int, default 10000
        Maximum number of sweeps per column.

    Returns
    -------
    Demeaned

    Raises
    ------
    ConvergenceError
        If a column has not converged after ``max_iter`` sweeps.
    """
    source = np.asarray(matrix, dtype=np.float64)
    values = np.array(source[:, None] if source.ndim == 1 else source, order="F", copy=True)
    if not fixed_effects.codes:
        return Demeaned(values, (0,) * values.shape[1])
    inverse_totals = []
    for code, size in zip(fixed_effects.codes, fixed_effects.n_groups, strict=True):
        totals = np.bincount(code, weights=weights, minlength=size).astype(np.float64)
        inverse_totals.append(1.0 / totals)
    iterations = tuple(
        _demean_column(values[:, j], fixed_effects, inverse_totals, weights, tol, max_iter)
        for j in range(values.shape[1])
    )
    return Demeaned(values, iterations)


def _demean_column(
    column: np.ndarray,
    fixed_effects: FixedEffects,
    inverse_totals: list[np.ndarray],
    weights: np.ndarray | None,
    tol: float,
    max_iter: int,
) -> int:
    r"""Demean one column in place; return the number of sweeps.

    Sweeps come in pairs followed by an Irons-Tuck extrapolation
    :math:`x \leftarrow T^2x - c\,(T^2x - Tx)` with
    :math:`c = \langle \Delta T x, \Delta^2 x\rangle / \|\Delta^2 x\|^2`, an affine
    combination of iterates that stays in :math:`x_0 + \operatorname{span}(D)`, so
    the fixed point (all group means zero) is unchanged; it only shortens the
    slow convergence of poorly connected panels.
    """
    pairs = list(zip(fixed_effects.codes, inverse_totals, strict=True))
    _sweep(column, pairs, weights)
    if len(pairs) == 1:
        return 1
    scale = max(float(np.max(np.abs(column))), np.finfo(float).tiny)
    sweeps = 1
    while sweeps < max_iter:
        start = column.copy()
        sweeps += 1
        if _sweep(column, pairs, weights) <= tol * scale:
            return sweeps - 1
        once = column.copy()
        sweeps += 1
        if _sweep(column, pairs, weights) <= tol * scale:
            return sweeps - 1
        step = column - once
        curvature = step - (once - start)
        norm = float(curvature @ curvature)
        if norm > 0.0:
            column -= (float(step @ curvature) / norm) * step
    raise ConvergenceError(
        f"the within transformation must converge within max_iter={max_iter} sweeps; got "
        f"no convergence at tol={tol:g}. The fixed effects may be poorly connected; raise "
        "max_iter or check the panel for isolated groups."
    )


def _sweep(
    column: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray | None
) -> float:
    """Demean ``column`` in place by each fixed effect in turn.

    Returns the largest absolute group mean of the first fixed effect before
    the sweep: the largest change the sweep makes to any value through that
    fixed effect, and zero exactly at the fixed point.
    """
    largest = 0.0
    for position, (code, inverse) in enumerate(pairs):
        sums = np.bincount(
            code, weights=column if weights is None else column * weights, minlength=len(inverse)
        )
        means = sums * inverse
        if position == 0:
            largest = float(np.max(np.abs(means)))
        column -= np.take(means, code)
    return largest
