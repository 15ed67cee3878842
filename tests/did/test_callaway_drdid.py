"""The 2x2 DiD estimators and their nuisance models."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.special import expit

from parkimpact.did._nuisance import fit_ipt, fit_logit, independent_columns
from parkimpact.did.drdid import drdid, prepare_cell
from parkimpact.errors import IdentificationError


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    """A 2x2 panel where treatment depends on covariates and trends depend on them too."""
    rng = np.random.default_rng(42)
    n = 300
    x = rng.normal(size=(n, 2))
    d = (rng.uniform(size=n) < expit(-0.5 + 0.8 * x[:, 0] - 0.4 * x[:, 1])).astype(float)
    y0 = x @ np.array([1.0, -0.5]) + rng.normal(size=n)
    y1 = y0 + 0.3 + x @ np.array([0.5, 0.2]) + 1.0 * d + rng.normal(size=n)
    w = rng.uniform(0.5, 1.5, size=n)
    return {"x": x, "d": d, "y0": y0, "y1": y1, "w": w}


def test_logit_matches_statsmodels(data: dict[str, np.ndarray]) -> None:
    design = np.column_stack([np.ones(len(data["d"])), data["x"]])
    fit = fit_logit(design, data["d"], data["w"])
    reference = sm.GLM(
        data["d"], design, family=sm.families.Binomial(), freq_weights=data["w"]
    ).fit(tol=1e-14)
    np.testing.assert_allclose(fit.coef, reference.params, rtol=1e-8)
    assert fit.converged and not fit.separated.any() and fit.treated_at_one == 0


def test_logit_sets_separated_comparison_firms_to_zero() -> None:
    rng = np.random.default_rng(1)
    n = 200
    group = rng.integers(0, 3, size=n)
    d = (rng.uniform(size=n) < 0.4).astype(float)
    d[group == 2] = 0.0  # no treated firm in group 2: its comparison firms are separated
    design = np.column_stack([np.ones(n), group == 1, group == 2]).astype(float)
    fit = fit_logit(design, d, np.ones(n))
    assert fit.separated.sum() == (group == 2).sum()
    assert np.all(fit.fitted[group == 2] == 0.0)
    # the other firms get the cell shares of the reduced model
    for k in (0, 1):
        assert fit.fitted[group == k][0] == pytest.approx(d[group == k].mean(), rel=1e-9)


def test_ipt_balances_covariates(data: dict[str, np.ndarray]) -> None:
    design = np.column_stack([np.ones(len(data["d"])), data["x"]])
    start = fit_logit(design, data["d"], data["w"]).coef
    gamma = fit_ipt(design, data["d"], data["w"], start)
    odds = np.exp(design @ gamma)
    treated = (data["w"] * data["d"]) @ design
    tilted = (data["w"] * (1 - data["d"]) * odds) @ design
    np.testing.assert_allclose(tilted, treated, rtol=1e-9)


def test_independent_columns_drops_collinear() -> None:
    x = np.column_stack([np.ones(5), np.arange(5.0), 2 * np.arange(5.0), np.zeros(5)])
    assert independent_columns(x).tolist() == [0, 1]


@pytest.mark.parametrize("method", ["dr", "dr_improved", "ipw", "reg"])
def test_influence_function_is_the_empirical_derivative(
    data: dict[str, np.ndarray], method: str
) -> None:
    """n * d(estimate)/d(weight_i) equals psi_i at equal weights (sample influence function)."""
    n = len(data["d"])
    ones = np.ones(n)
    att, psi = drdid(data["y1"], data["y0"], data["d"], data["x"], ones, method=method)  # type: ignore[arg-type]
    assert abs(psi.mean()) < 1e-10
    step = 1e-5
    for i in (0, 7, 42, 123, 299):
        up, down = ones.copy(), ones.copy()
        up[i] += step
        down[i] -= step
        hi = drdid(data["y1"], data["y0"], data["d"], data["x"], up, method=method)[0]  # type: ignore[arg-type]
        lo = drdid(data["y1"], data["y0"], data["d"], data["x"], down, method=method)[0]  # type: ignore[arg-type]
        assert n * (hi - lo) / (2 * step) == pytest.approx(psi[i], rel=1e-5, abs=1e-7)


def test_doubly_robust_estimates_are_close(data: dict[str, np.ndarray]) -> None:
    values = {
        m: drdid(data["y1"], data["y0"], data["d"], data["x"], data["w"], method=m)[0]  # type: ignore[arg-type]
        for m in ("dr", "dr_improved", "ipw", "reg")
    }
    # the outcome model is correct here: all four recover the effect of 1.0
    for value in values.values():
        assert value == pytest.approx(1.0, abs=0.35)
    assert values["dr"] == pytest.approx(values["dr_improved"], abs=0.05)


def test_without_covariates_all_methods_equal_difference_in_means(
    data: dict[str, np.ndarray],
) -> None:
    dy = data["y1"] - data["y0"]
    d = data["d"].astype(bool)
    expected = dy[d].mean() - dy[~d].mean()
    for method in ("dr", "dr_improved", "ipw", "reg"):
        att, psi = drdid(data["y1"], data["y0"], data["d"], method=method)  # type: ignore[arg-type]
        assert att == pytest.approx(expected, abs=1e-12)
        se = np.sqrt(np.sum(psi**2)) / len(dy)
        classic = np.sqrt(dy[d].var() / d.sum() + dy[~d].var() / (~d).sum())
        assert se == pytest.approx(classic, rel=1e-10)


def test_perfectly_separated_treated_firms_raise() -> None:
    n = 60
    x = np.column_stack([np.ones(n), np.r_[np.ones(20), np.zeros(40)]])
    d = np.r_[np.ones(25), np.zeros(35)]
    with pytest.raises(IdentificationError, match=r"perfect separation.*\['rd'\]"):
        prepare_cell("dr", x, d, np.ones(n), context="cell (cohort 2005, year 2006)", names=["rd"])


def test_regression_needs_covariate_variation_among_comparisons() -> None:
    n = 40
    flag = np.r_[np.ones(5), np.zeros(35)]
    x = np.column_stack([np.ones(n), flag])
    d = np.r_[np.ones(10), np.zeros(30)]
    with pytest.raises(IdentificationError, match="must have covariates that vary among"):
        prepare_cell("reg", x, d, np.ones(n), names=["flag"])


def test_drdid_rejects_bad_arguments(data: dict[str, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        drdid(data["y1"], data["y0"], data["d"], method="ols")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must have one entry per firm"):
        drdid(data["y1"], data["y0"], data["d"][:10])


def _categorical_design(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Intercept, three industry dummies (reference industry 0) and a size dummy."""
    industry = rng.integers(0, 4, size=n)
    size = rng.integers(0, 2, size=n)
    design = np.column_stack([np.ones(n), *[(industry == k) for k in (1, 2, 3)], size])
    return design.astype(float), industry


def test_logit_on_a_saturated_design_is_the_cell_share() -> None:
    rng = np.random.default_rng(5)
    n = 400
    industry = rng.integers(0, 4, size=n)
    d = (rng.uniform(size=n) < 0.2 + 0.1 * industry).astype(float)
    w = rng.uniform(0.5, 2.0, size=n)
    design = np.column_stack([np.ones(n), *[(industry == k) for k in (1, 2, 3)]]).astype(float)
    fit = fit_logit(design, d, w)
    reference = sm.GLM(d, design, family=sm.families.Binomial(), freq_weights=w).fit(tol=1e-14)
    np.testing.assert_allclose(fit.fitted, reference.fittedvalues, rtol=1e-10)
    np.testing.assert_allclose(fit.coef, reference.params, rtol=1e-8)
    for k in range(4):
        share = np.sum((w * d)[industry == k]) / np.sum(w[industry == k])
        assert fit.fitted[industry == k][0] == pytest.approx(share, rel=1e-12)


def test_separated_reference_category_is_set_aside_without_iterating() -> None:
    # no treated firm in the reference industry: its comparison firms are separated through
    # the intercept and all industry dummies together, not by a single column
    rng = np.random.default_rng(8)
    n = 300
    design, industry = _categorical_design(rng, n)
    d = (rng.uniform(size=n) < 0.3).astype(float)
    d[industry == 0] = 0.0
    fit = fit_logit(design, d, np.ones(n))
    assert fit.n_iter < 30
    np.testing.assert_array_equal(fit.separated, industry == 0)
    assert np.all(fit.fitted[industry == 0] == 0.0)
    keep = industry != 0
    reduced = design[keep][:, 1:]  # the dummies of industries 1-3 span the intercept there
    reference = sm.GLM(d[keep], reduced, family=sm.families.Binomial()).fit(tol=1e-14)
    np.testing.assert_allclose(fit.fitted[keep], reference.fittedvalues, rtol=1e-9)


def test_grouped_firms_give_the_firm_level_fit() -> None:
    # fitting on groups of firms with equal covariates and treatment (summed weights) is the
    # firm-level fit: compare the nuisance models with a hand-built firm-level logit and OLS
    rng = np.random.default_rng(13)
    n = 250
    design, _ = _categorical_design(rng, n)
    d = (rng.uniform(size=n) < 0.35).astype(float)
    w = rng.uniform(0.5, 1.5, size=n)
    nu = prepare_cell("dr", design, d, w)
    reference = sm.GLM(d, design, family=sm.families.Binomial(), freq_weights=w / w.mean())
    np.testing.assert_allclose(nu.ps, reference.fit(tol=1e-14).fittedvalues, rtol=1e-9)
    control = (1 - d) * w / w.mean()
    gram = (design * control[:, None]).T @ design
    np.testing.assert_allclose(nu.ols_gram, gram, rtol=1e-12)
    assert nu.x.shape == design.shape and np.array_equal(nu.d, d)


def test_logit_matches_the_iterative_limit_on_random_categorical_designs() -> None:
    """Setting separated rows aside up front gives the fit of the plain Newton iteration."""
    rng = np.random.default_rng(21)
    for _ in range(60):
        n = int(rng.integers(15, 60))
        design, _ = _categorical_design(rng, n)
        design = design[:, independent_columns(design)]
        d = (rng.uniform(size=n) < rng.uniform(0.1, 0.4)).astype(float)
        if d.sum() in (0, n):
            continue
        fit = fit_logit(design, d, np.ones(n))
        # zero-weight rows switch the shortcuts off: the plain Newton iteration decides
        weights = np.ones(n + 1)
        weights[-1] = 0.0
        plain = fit_logit(np.vstack([design, design[:1]]), np.r_[d, 0.0], weights)
        assert fit.treated_at_one == plain.treated_at_one
        if fit.treated_at_one:
            continue
        np.testing.assert_array_equal(fit.separated, plain.separated[:n])
        np.testing.assert_allclose(fit.fitted, plain.fitted[:n], atol=1e-10)
