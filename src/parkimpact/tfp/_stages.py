r"""The two stages of proxy-variable estimators, on plain arrays.

First stage (Olley and Pakes 1996; Levinsohn and Petrin 2003; Ackerberg,
Caves and Frazer 2015): regress output on a polynomial that absorbs
productivity,

.. math:: y_{it} = \phi(x_{it}, m_{it}) + \varepsilon_{it},

and keep :math:`\hat\phi`. Second stage: for candidate coefficients
:math:`\theta`, productivity is :math:`\omega_{it}(\theta) = \hat\phi_{it} -
x_{it}'\theta`; its law of motion :math:`\omega_{it} = g(\omega_{i,t-1}) +
\xi_{it}` is *concentrated out* by least squares of
:math:`\omega(\theta)` on the basis :math:`P(\omega_{t-1}(\theta))`, so that
:math:`\xi(\theta) = M_{P}\,\omega(\theta)` with :math:`M_P` the residual
maker. :class:`ConcentratedCriterion` turns that into a least-squares problem
:math:`Q(\theta) = \lVert r(\theta) \rVert^2` with an analytic Jacobian:

* GMM (ACF): :math:`r = R^{-\top} Z'\xi / \sqrt{N}` with :math:`Z'Z = R'R`, so
  :math:`Q = (Z'\xi)' W (Z'\xi)` with :math:`W = (Z'Z)^{-1}/N` (R ``prodest``);
* NLS (OP/LP, ``prodest``'s second stage): :math:`r = e + \xi` with
  :math:`e` the first-stage residual, so :math:`Q = \sum (y - x'\beta - g)^2`.

With :math:`A = -X + g'(\omega_{t-1})\,X_{t-1}` and
:math:`E_{bj} = -\sum_i \partial_\omega P_{ib}\,\xi_i X_{t-1,ij}`, the
derivative of the concentrated residual is

.. math:: \partial\xi/\partial\theta' = M_P A - P (P'P)^{-1} E .

Lags use the previous row of the same firm when it is the previous year
(:func:`lag_positions`): a gap in a firm's years breaks the lag, as in
``prodest``'s ``lagPanel``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from math import comb
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg

from parkimpact.errors import IdentificationError, ParkImpactWarning
from parkimpact.tfp._polynomial import MotionBasis

__all__ = [
    "lag_positions",
    "take_lag",
    "least_squares_fit",
    "LinearFit",
    "exit_indicator",
    "survival_probability",
    "ConcentratedCriterion",
    "motion_series",
    "ProxyWarning",
    "check_monotone",
]


def lag_positions(unit: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Position of each row's previous year (same unit, ``time - 1``), or -1.

    Rows must be grouped by unit with time increasing within a unit (a
    :class:`~parkimpact.FirmPanel` is sorted that way, and a cluster-bootstrap
    sample keeps each drawn firm's rows together and in order).
    """
    n = len(unit)
    previous = np.full(n, -1, dtype=np.int64)
    if n > 1:
        same = (unit[1:] == unit[:-1]) & (time[1:] == time[:-1] + 1)
        previous[1:][same] = np.flatnonzero(same)
    return previous


def take_lag(values: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """``values`` of the previous year (NaN where there is none); works on 1-D and 2-D arrays."""
    out = np.asarray(values, dtype=float)[np.maximum(previous, 0)]
    out[previous < 0] = np.nan
    return out


@dataclass(frozen=True)
class LinearFit:
    """An ordinary least-squares fit: coefficients, fitted values, residuals and R-squared."""

    coef: np.ndarray
    fitted: np.ndarray
    resid: np.ndarray
    r_squared: float
    rank: int


def least_squares_fit(y: np.ndarray, design: np.ndarray, *, require_full_rank: bool) -> LinearFit:
    """Least squares of ``y`` on ``design`` (a column of ones is the caller's job).

    Uses a pivoted QR factorisation (LAPACK ``gelsy``). Fitted values are
    unique even when the design is rank deficient; coefficients are not, so
    ``require_full_rank=True`` raises :class:`IdentificationError` then.
    """
    coef, _, rank, _ = linalg.lstsq(design, y, lapack_driver="gelsy", check_finite=False)
    if require_full_rank and rank < design.shape[1]:
        raise IdentificationError(
            f"first-stage regressors must be linearly independent; got rank {rank} for "
            f"{design.shape[1]} columns. Remove inputs or controls that are collinear."
        )
    fitted = design @ coef
    resid = y - fitted
    centred = y - y.mean()
    total = float(centred @ centred)
    r_squared = 1.0 - float(resid @ resid) / total if total > 0 else float("nan")
    return LinearFit(coef, fitted, resid, r_squared, int(rank))


def exit_indicator(unit: np.ndarray, time: np.ndarray) -> np.ndarray:
    """1 in a firm's last observed year when that year is before the panel's last year.

    The ``prodest`` convention (``exit = TRUE``): a firm that is not observed in
    the final year is taken to have exited after its last observed year.
    """
    last_year = time.max()
    order_end = np.ones(len(unit), dtype=bool)
    order_end[:-1] = unit[1:] != unit[:-1]
    return (order_end & (time < last_year)).astype(float)


def survival_probability(exits: np.ndarray, lagged_terms: np.ndarray) -> np.ndarray:
    r"""Fitted probability of exit from a probit on lagged first-stage terms.

    Rows with missing lagged terms get NaN. The probit is
    :math:`\Pr(\chi_{it} = 1) = \Phi(\gamma_0 + h(k_{i,t-1}, m_{i,t-1})'\gamma)`
    with :math:`h` the first-stage polynomial (``prodest``'s ``exit = TRUE``).
    """
    import statsmodels.api as sm

    usable = np.isfinite(lagged_terms).all(axis=1)
    if exits[usable].min() == exits[usable].max():
        raise IdentificationError(
            "exit_correction needs both exiting and surviving firm-years with a previous year; "
            f"got only {'exits' if exits[usable].max() == 1 else 'survivors'}. Run without "
            "exit_correction or check the panel's years."
        )
    design = sm.add_constant(lagged_terms[usable], has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sm.Probit(exits[usable], design).fit(disp=0, maxiter=200)
    out = np.full(len(exits), np.nan)
    out[usable] = model.predict(design)
    return out


@dataclass(eq=False)
class ConcentratedCriterion:
    """Second-stage criterion with the law of motion concentrated out (see module notes).

    Parameters
    ----------
    kind : {"gmm", "nls"}
        ACF-type GMM on instruments, or ``prodest``'s OP/LP least squares.
    phi, phi_lag : numpy.ndarray
        First-stage prediction and its lag on the second-stage rows, ``(n,)``.
    inputs, inputs_lag : numpy.ndarray
        Regressors whose coefficients :math:`\\theta` are estimated, ``(n, k)``.
    basis : MotionBasis
        The law-of-motion basis.
    survival : numpy.ndarray or None
        Fitted exit probability (exit correction), ``(n,)``.
    extra : numpy.ndarray or None
        Fixed law-of-motion columns (lagged controls), ``(n, e)``.
    instruments : numpy.ndarray or None
        ``Z`` for ``kind="gmm"``, ``(n, q)``.
    first_stage_resid : numpy.ndarray or None
        ``e`` for ``kind="nls"``, ``(n,)``.
    """

    kind: Literal["gmm", "nls"]
    phi: np.ndarray
    phi_lag: np.ndarray
    inputs: np.ndarray
    inputs_lag: np.ndarray
    basis: MotionBasis
    survival: np.ndarray | None = None
    extra: np.ndarray | None = None
    instruments: np.ndarray | None = None
    first_stage_resid: np.ndarray | None = None
    _chol: np.ndarray | None = field(default=None, init=False, repr=False)
    _cache: tuple[bytes, dict[str, np.ndarray]] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.kind == "gmm":
            z = self.instruments
            if z is None:
                raise ValueError("instruments must be given for kind='gmm'; got None.")
            try:
                self._chol = linalg.cholesky(z.T @ z, lower=False)
            except linalg.LinAlgError as exc:
                raise IdentificationError(
                    "instruments must be linearly independent; got a singular Z'Z. Remove "
                    "collinear inputs or controls."
                ) from exc

    @property
    def n_obs(self) -> int:
        """Number of second-stage observations."""
        return int(self.phi.shape[0])

    @property
    def n_params(self) -> int:
        """Number of estimated coefficients :math:`k`."""
        return int(self.inputs.shape[1])

    def _pieces(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        key = np.asarray(theta, dtype=float).tobytes()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        omega = self.phi - self.inputs @ theta
        omega_lag = self.phi_lag - self.inputs_lag @ theta
        basis, slopes = self.basis.build(omega_lag, self.survival, self.extra)
        gram = basis.T @ basis
        try:
            factor = linalg.cho_factor(gram, check_finite=False)
        except linalg.LinAlgError as exc:
            raise IdentificationError(
                "the law-of-motion basis must have full rank; got a singular basis at "
                f"theta={np.round(theta, 4).tolist()}. Lower law_of_motion_degree."
            ) from exc
        coef = linalg.cho_solve(factor, basis.T @ omega, check_finite=False)
        xi = omega - basis @ coef
        pieces = {"basis": basis, "slopes": slopes, "factor_c": factor[0], "coef": coef, "xi": xi}
        pieces["lower"] = np.array(factor[1])
        pieces["omega_lag"] = omega_lag
        self._cache = (key, pieces)
        return pieces

    def innovations(self, theta: np.ndarray) -> np.ndarray:
        r"""The productivity innovations :math:`\xi(\theta)`."""
        return self._pieces(np.asarray(theta, dtype=float))["xi"]

    def motion_coefficients(self, theta: np.ndarray) -> np.ndarray:
        """Least-squares coefficients of the law of motion at ``theta``."""
        return self._pieces(np.asarray(theta, dtype=float))["coef"]

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        """The vector whose squared norm is the criterion."""
        xi = self._pieces(np.asarray(theta, dtype=float))["xi"]
        if self.kind == "nls":
            return self.first_stage_resid + xi  # type: ignore[operator]
        moments = self.instruments.T @ xi  # type: ignore[union-attr]
        return linalg.solve_triangular(self._chol, moments, trans="T") / np.sqrt(self.n_obs)

    def value(self, theta: np.ndarray) -> float:
        """Criterion :math:`Q(\\theta)`."""
        r = self.residuals(theta)
        return float(r @ r)

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """Jacobian of :meth:`residuals` in ``theta``."""
        p = self._pieces(np.asarray(theta, dtype=float))
        basis, slopes, coef, xi = p["basis"], p["slopes"], p["coef"], p["xi"]
        n_moving = slopes.shape[1]
        derivative = slopes @ coef[:n_moving]
        a = -self.inputs + derivative[:, None] * self.inputs_lag
        e = np.zeros((basis.shape[1], self.n_params))
        e[:n_moving] = -(slopes * xi[:, None]).T @ self.inputs_lag
        factor = (p["factor_c"], bool(p["lower"]))
        correction = linalg.cho_solve(factor, basis.T @ a + e, check_finite=False)
        if self.kind == "nls":
            return a - basis @ correction
        z = self.instruments
        dz = z.T @ a - (z.T @ basis) @ correction  # type: ignore[union-attr]
        return linalg.solve_triangular(self._chol, dz, trans="T") / np.sqrt(self.n_obs)


def motion_series(basis: MotionBasis, coef: np.ndarray, controls: tuple[str, ...]) -> pd.Series:
    r"""Law-of-motion coefficients as a Series.

    Without exit correction the centred power series is converted back to
    powers of :math:`\omega_{t-1}` (``const``, ``omega``, ``omega^2`` ...);
    with it, terms are reported in the centred variable
    :math:`\tilde\omega = \omega_{t-1} - c` and survival probability ``s``
    (the centre ``c`` is the ``centre`` entry). Lagged controls follow as
    ``lag <name>``.
    """

    n_moving = len(basis.exponents)
    moving, extra = coef[:n_moving], coef[n_moving:]
    if all(b == 0 for _, b in basis.exponents):
        degree = max(a for a, _ in basis.exponents)
        plain = np.zeros(degree + 1)
        for (a, _), value in zip(basis.exponents, moving, strict=True):
            for k in range(a + 1):
                plain[k] += value * comb(a, k) * (-basis.centre) ** (a - k)
        names = ["const"] + [f"omega^{k}" if k > 1 else "omega" for k in range(1, degree + 1)]
        values = list(plain)
    else:
        names = [_centred_name(a, b) for a, b in basis.exponents] + ["centre"]
        values = list(moving) + [basis.centre]
    names += [f"lag {name}" for name in controls]
    values += list(extra)
    return pd.Series(values, index=names, name="law_of_motion")


def _centred_name(a: int, b: int) -> str:
    parts = [
        p
        for p in (
            "" if a == 0 else ("omega_c" if a == 1 else f"omega_c^{a}"),
            "" if b == 0 else ("s" if b == 1 else f"s^{b}"),
        )
        if p
    ]
    return "*".join(parts) or "const"


class ProxyWarning(ParkImpactWarning):
    """The proxy does not look monotone enough in productivity to invert."""


def check_monotone(
    columns: dict[str, np.ndarray],
    proxy: str,
    degree: int,
    poly_coef: np.ndarray,
    *,
    tolerance: float = 0.10,
) -> float:
    r"""Share of rows where the fitted first stage decreases in the proxy; warn above ``tolerance``.

    The inversion :math:`\omega = h(k, m)` needs :math:`h` strictly increasing
    in the proxy :math:`m`. The derivative of the fitted polynomial
    :math:`\partial \hat\phi / \partial m` is evaluated at every row by a
    central difference.
    """
    from parkimpact.tfp._polynomial import polynomial_terms

    values = columns[proxy]
    step = 1e-4 * max(float(np.std(values)), 1e-8)
    ups = dict(columns, **{proxy: values + step})
    downs = dict(columns, **{proxy: values - step})
    slope = (polynomial_terms(ups, degree)[0] - polynomial_terms(downs, degree)[0]) @ poly_coef
    share = float(np.mean(slope <= 0))
    if share > tolerance:
        warnings.warn(
            f"proxy {proxy} must be increasing in productivity given the state to be inverted; "
            f"got a first-stage slope d phi / d {proxy} <= 0 for {share:.0%} of rows. The "
            "estimates may be unreliable: check the proxy (zeros, lumpy investment) or use "
            "another proxy.",
            ProxyWarning,
            stacklevel=6,
        )
    return share
