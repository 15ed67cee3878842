"""Tests of the Ackerberg-Caves-Frazer (2015) Monte Carlo simulator.

The identification facts checked here follow from the design (see the docstring
of :func:`parkimpact.datasets.simulate_acf`): with Leontief materials chosen from
planned labour, ``m = beta_l l* + beta_k k + omega``, so

- DGP1 (no optimisation error): ``y - m = eps``. Given ``(k, m)``, labour still
  varies through the wage and the productivity news between ``t - b`` and ``t``,
  with residual variance ``sigma_w^2 + (1 - rho) sigma_omega^2 = 0.037``, but
  that variation carries no information on output: the Levinsohn-Petrin first
  stage puts a labour coefficient of zero (the failure ACF report for LP).
- DGP2 (``b = 0``, no wage variation): ``l* = m + const``, so labour given
  ``(k, m)`` varies only through the optimisation error (variance 0.37^2) and
  the first stage recovers ``beta_l = 0.6``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from parkimpact.datasets import AcfSimulation, simulate_acf
from parkimpact.datasets import acf as acf_module

COLUMNS = ["firm_id", "year", "y", "l", "k", "m", "i", "omega", "eps"]


@pytest.fixture(scope="module")
def panels() -> dict[int, AcfSimulation]:
    """ACF's sample size, 1,000 firms x 10 years, for each design."""
    return {dgp: simulate_acf(dgp, 1000, 10, seed=20150) for dgp in (1, 2, 3)}


def _ols(columns: list[np.ndarray], target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (constant first) and residuals of a least-squares fit."""
    design = np.column_stack([np.ones_like(target), *columns])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return coef, target - design @ coef


def _cubic(k: np.ndarray, m: np.ndarray) -> list[np.ndarray]:
    """All monomials of (k, m) up to degree three, without the constant."""
    return [k**a * m**b for a in range(4) for b in range(4 - a) if a + b > 0]


def test_same_arguments_give_identical_panels() -> None:
    first = simulate_acf(3, 50, 4, seed=7, measurement_error=0.1, burn_in=20)
    second = simulate_acf(3, 50, 4, seed=7, measurement_error=0.1, burn_in=20)
    pd.testing.assert_frame_equal(first.data, second.data)
    assert dict(first.truth) == dict(second.truth)
    other = simulate_acf(3, 50, 4, seed=8, measurement_error=0.1, burn_in=20)
    assert not np.allclose(first.data["y"], other.data["y"])


def test_seed_none_records_a_seed_that_reproduces_the_panel() -> None:
    fresh = simulate_acf(1, 20, 3, seed=None, burn_in=10)
    again = simulate_acf(1, 20, 3, seed=fresh.seed, burn_in=10)
    pd.testing.assert_frame_equal(fresh.data, again.data)


def test_measurement_error_changes_materials_only() -> None:
    clean = simulate_acf(1, 100, 5, seed=3, burn_in=20)
    noisy = simulate_acf(1, 100, 5, seed=3, burn_in=20, measurement_error=0.2)
    others = [c for c in COLUMNS if c != "m"]
    pd.testing.assert_frame_equal(clean.data[others], noisy.data[others])
    noise = noisy.data["m"] - clean.data["m"]
    assert noise.std() == pytest.approx(0.2, rel=0.1)


def test_shapes_and_layout(panels: dict[int, AcfSimulation]) -> None:
    sim = panels[1]
    assert list(sim.data.columns) == COLUMNS
    assert sim.data.shape == (10_000, 9)
    assert sim.data["firm_id"].nunique() == 1000
    assert sim.data.groupby("firm_id").size().eq(10).all()
    assert sim.data["year"].tolist()[:10] == list(range(1, 11))
    assert np.isfinite(sim.data.to_numpy(dtype=float)).all()
    assert sim.dgp == 1 and sim.seed == 20150
    truth = sim.truth
    assert (truth["beta_l"], truth["beta_k"], truth["rho"]) == (0.6, 0.4, 0.7)
    with pytest.raises(TypeError):
        truth["beta_l"] = 0.5  # type: ignore[index]


def test_design_settings_match_acf(panels: dict[int, AcfSimulation]) -> None:
    settings = {
        dgp: (sim.truth["sigma_wage"], sim.truth["labour_timing"], sim.truth["sigma_optimisation"])
        for dgp, sim in panels.items()
    }
    assert settings == {1: (0.1, 0.5, 0.0), 2: (0.0, 0.0, 0.37), 3: (0.1, 0.5, 0.37)}


@pytest.mark.parametrize("dgp", [1, 2, 3])
def test_infeasible_regression_recovers_truth(panels: dict[int, AcfSimulation], dgp: int) -> None:
    data = panels[dgp].data
    coef, _ = _ols(
        [data["l"].to_numpy(), data["k"].to_numpy()], (data["y"] - data["omega"]).to_numpy()
    )
    assert coef[1] == pytest.approx(0.6, abs=0.01)
    assert coef[2] == pytest.approx(0.4, abs=0.01)


@pytest.mark.parametrize("dgp", [1, 2, 3])
def test_productivity_and_shocks_have_the_stated_moments(
    panels: dict[int, AcfSimulation], dgp: int
) -> None:
    data = panels[dgp].data.sort_values(["firm_id", "year"])
    assert data["omega"].std() == pytest.approx(0.3, rel=0.05)
    assert data["eps"].std() == pytest.approx(0.1, rel=0.05)
    lagged = data.groupby("firm_id")["omega"].shift()
    keep = lagged.notna()
    coef, _ = _ols([lagged[keep].to_numpy()], data.loc[keep, "omega"].to_numpy())
    assert coef[1] == pytest.approx(0.7, abs=0.03)


@pytest.mark.parametrize("dgp", [1, 2, 3])
def test_ols_labour_coefficient_is_biased_upward(
    panels: dict[int, AcfSimulation], dgp: int
) -> None:
    data = panels[dgp].data
    coef, _ = _ols([data["l"].to_numpy(), data["k"].to_numpy()], data["y"].to_numpy())
    assert coef[1] > 0.6 + 0.15


def test_capital_follows_the_law_of_motion(panels: dict[int, AcfSimulation]) -> None:
    data = panels[2].data.sort_values(["firm_id", "year"])
    by_firm = data.groupby("firm_id")
    implied = np.log(0.8 * np.exp(by_firm["k"].shift()) + np.exp(by_firm["i"].shift()))
    keep = implied.notna()
    np.testing.assert_allclose(data.loc[keep, "k"], implied[keep], rtol=1e-10)


def test_labour_given_capital_and_materials(panels: dict[int, AcfSimulation]) -> None:
    """R^2 of l on a cubic in (k, m): high in DGP1, clearly lower in DGP2."""
    r_squared, residual_var = {}, {}
    for dgp in (1, 2):
        data = panels[dgp].data
        labour = data["l"].to_numpy()
        _, resid = _ols(_cubic(data["k"].to_numpy(), data["m"].to_numpy()), labour)
        residual_var[dgp] = resid.var()
        r_squared[dgp] = 1.0 - resid.var() / labour.var()
    # DGP1: var(wage) + var(omega news between t - b and t) = 0.01 + 0.3 * 0.09.
    assert residual_var[1] == pytest.approx(0.01 + 0.3 * 0.09, rel=0.1)
    # DGP2: the optimisation error alone, 0.37^2.
    assert residual_var[2] == pytest.approx(0.37**2, rel=0.1)
    assert r_squared[1] > 0.95
    assert r_squared[2] < 0.9
    assert r_squared[1] - r_squared[2] > 0.05


def test_levinsohn_petrin_first_stage(panels: dict[int, AcfSimulation]) -> None:
    """Labour coefficient of y on l and a cubic in (k, m): 0 in DGP1, beta_l in DGP2."""
    coefs = {}
    for dgp in (1, 2):
        data = panels[dgp].data
        columns = [data["l"].to_numpy(), *_cubic(data["k"].to_numpy(), data["m"].to_numpy())]
        coef, _ = _ols(columns, data["y"].to_numpy())
        coefs[dgp] = coef[1]
    assert coefs[1] == pytest.approx(0.0, abs=0.02)
    assert coefs[2] == pytest.approx(0.6, abs=0.02)


def test_materials_are_output_net_of_the_shock(panels: dict[int, AcfSimulation]) -> None:
    data = panels[1].data
    np.testing.assert_allclose(data["y"] - data["eps"], data["m"], atol=1e-12)
    within_sd = panels[1].truth["m_within_sd"]
    demeaned = data["m"] - data.groupby("firm_id")["m"].transform("mean")
    assert within_sd == pytest.approx(math.sqrt(np.mean(demeaned**2)), rel=1e-12)


@pytest.mark.parametrize(("timing", "sigma_w", "sigma_u"), [(0.5, 0.1, 0.0), (0.0, 0.0, 0.37)])
def test_investment_policy_equals_discounted_marginal_profit(
    timing: float, sigma_w: float, sigma_u: float
) -> None:
    """The closed form against a Monte Carlo of the expected marginal profits of capital."""
    a, g, c = acf_module._investment_weights(timing, sigma_w, sigma_u)
    omega0, wage0 = 0.25, -0.1
    closed_form = c @ np.exp(a * omega0 + g * wage0)
    rng = np.random.default_rng(11)
    draws, horizon, beta_l = 100_000, 40, 0.6
    rho_first, rho_second = 0.7 ** (1 - timing), 0.7**timing
    sd_first = math.sqrt((1 - rho_first**2) * 0.09)
    sd_second = math.sqrt((1 - rho_second**2) * 0.09)
    sd_wage = math.sqrt((1 - 0.3**2) * sigma_w**2)
    profit = beta_l ** (beta_l / (1 - beta_l)) * math.exp(beta_l**2 * sigma_u**2 / 2) - beta_l ** (
        1 / (1 - beta_l)
    ) * math.exp(sigma_u**2 / 2)
    omega, wage, total = np.full(draws, omega0), np.full(draws, wage0), 0.0
    for h in range(1, horizon + 1):
        omega_b = rho_first * omega + sd_first * rng.standard_normal(draws)
        omega = rho_second * omega_b + sd_second * rng.standard_normal(draws)
        wage = 0.3 * wage + sd_wage * rng.standard_normal(draws)
        exponent = (rho_second * omega_b + sd_second**2 / 2 - beta_l * wage) / (1 - beta_l)
        total += 0.95**h * 0.8 ** (h - 1) * profit * np.exp(exponent).mean()
    assert closed_form == pytest.approx(total, rel=2e-3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dgp": 4}, ValueError, r"dgp must be one of 1, 2 or 3; got 4\. Pass dgp=1, 2 or 3\."),
        ({"dgp": True}, ValueError, r"dgp must be one of 1, 2 or 3; got True"),
        ({"n_firms": 0}, ValueError, r"n_firms must be at least 1; got 0\. Pass n_firms>=1\."),
        ({"n_firms": 10.0}, TypeError, r"n_firms must be an integer; got float 10\.0"),
        ({"n_years": -2}, ValueError, r"n_years must be at least 1; got -2"),
        ({"burn_in": 0}, ValueError, r"burn_in must be at least 1; got 0"),
        ({"measurement_error": -0.1}, ValueError, r"measurement_error must be a finite number"),
        ({"measurement_error": float("nan")}, ValueError, r"finite number >= 0; got nan"),
        ({"measurement_error": "0.1"}, TypeError, r"measurement_error must be a real number"),
        ({"seed": -1}, ValueError, r"seed must be a non-negative integer or None; got -1"),
        ({"seed": 1.5}, TypeError, r"seed must be a non-negative integer or None; got float"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    arguments: dict[str, object] = {"n_firms": 5, "n_years": 2, "burn_in": 5, **kwargs}
    with pytest.raises(error, match=match):
        simulate_acf(**arguments)  # type: ignore[arg-type]
