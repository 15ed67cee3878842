r"""Polynomial designs shared by the production-function estimators.

Two kinds of polynomial appear in proxy-variable estimators:

* the *first-stage* polynomial :math:`h(x_1, \dots, x_p)` of total degree
  :math:`d` that absorbs productivity, built by :func:`polynomial_terms` as all
  monomials :math:`x_1^{a_1} \cdots x_p^{a_p}` with
  :math:`1 \le \sum_j a_j \le d` (no constant: the regression adds it);
* the *law of motion* :math:`g(\omega_{t-1})`, a power series in lagged
  productivity (optionally interacted with a survival probability), built by
  :class:`MotionBasis` together with its derivative in :math:`\omega_{t-1}`,
  which the analytic gradients of the GMM criteria need.

With the R ``prodest`` 1.0.1 defaults (degree 2 in state and proxy, cubic law
of motion) the first-stage columns are :math:`k, m, k^2, km, m^2` and the law
of motion is :math:`(1, \omega, \omega^2, \omega^3)`. Every design is built
column by column from whole arrays; nothing loops over firms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np

__all__ = ["polynomial_terms", "translog_terms", "MotionBasis", "motion_basis"]


def polynomial_terms(
    columns: Mapping[str, np.ndarray], degree: int
) -> tuple[np.ndarray, tuple[str, ...]]:
    """All monomials of total degree 1..``degree`` of the given columns.

    Parameters
    ----------
    columns : Mapping[str, numpy.ndarray]
        Named one-dimensional arrays of equal length (order is kept).
    degree : int
        Highest total degree, at least 1.

    Returns
    -------
    design : numpy.ndarray
        Shape ``(n, m)``; first-degree terms first, then by degree in the
        lexicographic order of ``itertools.combinations_with_replacement``.
    names : tuple of str
        Term names such as ``"k"``, ``"k*m"``, ``"m^2"``.

    Examples
    --------
    >>> design, names = polynomial_terms({"k": np.array([1.0, 2.0]), "m": np.array([3.0, 4.0])}, 2)
    >>> names
    ('k', 'm', 'k^2', 'k*m', 'm^2')
    """
    keys = list(columns)
    arrays = [np.asarray(columns[key], dtype=float) for key in keys]
    out: list[np.ndarray] = []
    names: list[str] = []
    for order in range(1, degree + 1):
        for combo in combinations_with_replacement(range(len(keys)), order):
            term = arrays[combo[0]].copy()
            for index in combo[1:]:
                term *= arrays[index]
            out.append(term)
            names.append(_monomial_name([keys[i] for i in combo]))
    return np.column_stack(out), tuple(names)


def _monomial_name(parts: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for part in parts:
        counts[part] = counts.get(part, 0) + 1
    return "*".join(name if power == 1 else f"{name}^{power}" for name, power in counts.items())


def translog_terms(
    columns: Mapping[str, np.ndarray],
) -> tuple[np.ndarray, tuple[str, ...], tuple[tuple[str, str], ...]]:
    r"""Second-order translog terms :math:`x_j x_k / (1 + [j = k])`, :math:`j \le k`.

    Squares are halved so that the coefficient of ``"x^2"`` is the
    :math:`\beta_{jj}` of :math:`y = \sum_j \beta_j x_j + \tfrac12 \sum_{j,k}
    \beta_{jk} x_j x_k`.

    Returns
    -------
    design, names, pairs
        The terms, their names (``"l^2"``, ``"l*k"``) and the pair of inputs
        behind each one.
    """
    keys = list(columns)
    out, names, pairs = [], [], []
    for a, b in combinations_with_replacement(range(len(keys)), 2):
        left = np.asarray(columns[keys[a]], dtype=float)
        right = np.asarray(columns[keys[b]], dtype=float)
        out.append(left * right * (0.5 if a == b else 1.0))
        names.append(f"{keys[a]}^2" if a == b else f"{keys[a]}*{keys[b]}")
        pairs.append((keys[a], keys[b]))
    return np.column_stack(out), tuple(names), tuple(pairs)


@dataclass(frozen=True)
class MotionBasis:
    r"""Monomials :math:`(\omega - c)^a s^b` of the law of motion and fixed extra columns.

    Attributes
    ----------
    exponents : tuple of (int, int)
        ``(a, b)``: power of centred lagged productivity and of the survival
        probability ``s`` (``b = 0`` when there is no exit correction).
    centre : float
        Fixed centring constant :math:`c`; it does not change the span of the
        basis (the constant is in it) but keeps powers of large log levels
        well conditioned.
    n_extra : int
        Number of fixed columns appended (lagged law-of-motion controls).
    """

    exponents: tuple[tuple[int, int], ...]
    centre: float
    n_extra: int

    @property
    def size(self) -> int:
        """Number of columns of the basis."""
        return len(self.exponents) + self.n_extra

    def build(
        self, omega_lag: np.ndarray, survival: np.ndarray | None, extra: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The basis ``(n, size)`` and its derivative in ``omega_lag`` ``(n, len(exponents))``."""
        centred = omega_lag - self.centre
        powers = [np.ones_like(centred)]
        top = max(a for a, _ in self.exponents)
        for _ in range(top):
            powers.append(powers[-1] * centred)
        columns, slopes = [], []
        for a, b in self.exponents:
            weight = 1.0 if b == 0 or survival is None else survival**b
            columns.append(powers[a] * weight)
            slopes.append(a * powers[a - 1] * weight if a > 0 else np.zeros_like(centred))
        if self.n_extra and extra is not None:
            columns.extend(extra.T)
        return np.column_stack(columns), np.column_stack(slopes)


def motion_basis(degree: int, *, exit_terms: bool, centre: float, n_extra: int) -> MotionBasis:
    r"""The law-of-motion basis of R ``prodest``.

    Without exit correction: :math:`1, \omega, \dots, \omega^{degree}`. With
    it (Olley and Pakes 1996, in ``prodest``'s form): also
    :math:`s, s^2, s^3, s\omega, s^2\omega, s\omega^2` for the fitted
    survival (exit) probability :math:`s`.
    """
    exponents = [(a, 0) for a in range(degree + 1)]
    if exit_terms:
        exponents += [(0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (2, 1)]
    return MotionBasis(tuple(exponents), float(centre), int(n_extra))
