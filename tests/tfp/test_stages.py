"""Building blocks: lags, polynomials, the concentrated criterion and its Jacobian."""

from __future__ import annotations

import numpy as np
import pytest

from parkimpact.tfp._polynomial import motion_basis, polynomial_terms, translog_terms
from parkimpact.tfp._stages import (
    ConcentratedCriterion,
    exit_indicator,
    lag_positions,
    least_squares_fit,
    motion_series,
    take_lag,
)


def test_lags_follow_consecutive_years_within_a_firm() -> None:
    unit = np.array([1, 1, 1, 2, 2, 3])
    time = np.array([2000, 2001, 2003, 2001, 2002, 2000])
    previous = lag_positions(unit, time)
    assert previous.tolist() == [-1, 0, -1, -1, 3, -1]  # the gap 2001 -> 2003 breaks the lag
    lagged = take_lag(np.arange(6.0), previous)
    assert np.isnan(lagged[[0, 2, 3, 5]]).all()
    assert lagged[[1, 4]].tolist() == [0.0, 3.0]


def test_lags_work_with_text_ids() -> None:
    unit = np.array(["a", "a", "b"], dtype=object)
    assert lag_positions(unit, np.array([1, 2, 3])).tolist() == [-1, 0, -1]


def test_polynomial_terms_are_all_monomials_up_to_the_degree() -> None:
    k, m = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    design, names = polynomial_terms({"k": k, "m": m}, 3)
    assert names == ("k", "m", "k^2", "k*m", "m^2", "k^3", "k^2*m", "k*m^2", "m^3")
    assert design[:, 6].tolist() == (k * k * m).tolist()


def test_translog_halves_the_squares() -> None:
    design, names, pairs = translog_terms({"l": np.array([2.0]), "k": np.array([3.0])})
    assert names == ("l^2", "l*k", "k^2")
    assert design.ravel().tolist() == [2.0, 6.0, 4.5]
    assert pairs[1] == ("l", "k")


def test_exit_indicator_marks_last_years_before_the_panel_end() -> None:
    unit = np.array([1, 1, 2, 2, 3])
    time = np.array([2000, 2001, 2000, 2002, 2001])
    assert exit_indicator(unit, time).tolist() == [0, 1, 0, 0, 1]


def test_motion_basis_slopes_are_derivatives() -> None:
    rng = np.random.default_rng(0)
    omega, survival = rng.normal(size=50), rng.uniform(0.1, 0.9, 50)
    basis = motion_basis(3, exit_terms=True, centre=0.3, n_extra=0)
    values, slopes = basis.build(omega, survival, None)
    step = 1e-6
    up, _ = basis.build(omega + step, survival, None)
    down, _ = basis.build(omega - step, survival, None)
    assert slopes == pytest.approx((up - down)[:, : slopes.shape[1]] / (2 * step), abs=1e-6)
    assert values.shape == (50, 10)


def _criterion(kind: str, exit_terms: bool) -> ConcentratedCriterion:
    rng = np.random.default_rng(1)
    n = 400
    inputs = rng.normal(size=(n, 2))
    inputs_lag = rng.normal(size=(n, 2))
    phi, phi_lag = rng.normal(size=n) + inputs @ [0.5, 0.3], rng.normal(size=n)
    basis = motion_basis(3, exit_terms=exit_terms, centre=0.1, n_extra=1)
    return ConcentratedCriterion(
        kind,
        phi,
        phi_lag,
        inputs,
        inputs_lag,
        basis,
        survival=rng.uniform(0.05, 0.5, n) if exit_terms else None,
        extra=rng.normal(size=(n, 1)),
        instruments=rng.normal(size=(n, 3)) + inputs_lag[:, :1] if kind == "gmm" else None,
        first_stage_resid=rng.normal(size=n) if kind == "nls" else None,
    )


@pytest.mark.parametrize(("kind", "exit_terms"), [("gmm", False), ("nls", False), ("nls", True)])
def test_analytic_jacobian_matches_finite_differences(kind: str, exit_terms: bool) -> None:
    criterion = _criterion(kind, exit_terms)
    theta = np.array([0.4, 0.2])
    numeric = np.column_stack(
        [
            (criterion.residuals(theta + h) - criterion.residuals(theta - h)) / 2e-6
            for h in np.eye(2) * 1e-6
        ]
    )
    assert criterion.jacobian(theta) == pytest.approx(numeric, rel=1e-5, abs=1e-7)


def test_gmm_criterion_has_the_prodest_scale() -> None:
    criterion = _criterion("gmm", False)
    theta = np.array([0.1, 0.7])
    xi = criterion.innovations(theta)
    z = criterion.instruments
    moments = z.T @ xi
    expected = moments @ np.linalg.inv(z.T @ z) @ moments / len(xi)
    assert criterion.value(theta) == pytest.approx(expected, rel=1e-10)


def test_law_of_motion_is_reported_in_powers_of_lagged_productivity() -> None:
    rng = np.random.default_rng(2)
    omega_lag = rng.normal(2.0, 0.5, 300)
    omega = 0.3 + 0.8 * omega_lag - 0.05 * omega_lag**2 + 0.1 * rng.normal(size=300)
    basis = motion_basis(3, exit_terms=False, centre=2.0, n_extra=0)
    values, _ = basis.build(omega_lag, None, None)
    coef = least_squares_fit(omega, values, require_full_rank=True).coef
    plain = np.column_stack([omega_lag**j for j in range(4)])
    direct = least_squares_fit(omega, plain, require_full_rank=True).coef
    series = motion_series(basis, coef, ())
    assert list(series.index) == ["const", "omega", "omega^2", "omega^3"]
    assert series.to_numpy() == pytest.approx(direct, rel=1e-8)
