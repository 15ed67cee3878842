"""Balance statistics, trimming, Rosenbaum bounds, plots and propensity models."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from parkimpact.errors import IdentificationError
from parkimpact.matching import (
    NearestNeighborMatch,
    PropensityScore,
    balance_table,
    crump_alpha,
    love_plot,
    overlap_plot,
    rosenbaum_bounds,
    trim_crump,
    trim_minmax,
)

matplotlib.use("Agg")


def test_smd_uses_treated_sd_before_weighting():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 0.0, 0.5, 1.0]})
    treated = np.array([True] * 4 + [False] * 3)
    table = balance_table(frame, treated, ["x"], np.ones(7)).table
    expected = (2.5 - 0.5) / np.std([1, 2, 3, 4], ddof=1)
    assert table.loc["x", "smd_before"] == pytest.approx(expected)
    assert table.loc["x", "variance_ratio_before"] == pytest.approx(
        np.var([1, 2, 3, 4], ddof=1) / np.var([0, 0.5, 1], ddof=1)
    )
    ks = stats.ks_2samp([1, 2, 3, 4], [0, 0.5, 1]).statistic
    assert table.loc["x", "ecdf_max_before"] == pytest.approx(ks)


def test_squares_and_interactions(sim):
    result = NearestNeighborMatch("d", covariates=["x1", "x2"]).fit(sim)
    terms = result.balance(squares=True, interactions=True).table.index
    assert {"distance", "x1", "x1^2", "x2^2", "x1*x2"} <= set(terms)


def test_matching_improves_balance(sim):
    table = NearestNeighborMatch("d", covariates=["x1", "x2"], replace=True).fit(sim).balance()
    smd = table.table
    assert (smd["smd_after"].abs() < smd["smd_before"].abs()).all()
    assert table.model_info().name.startswith("Covariate balance")


def test_trimming_records_drops_and_rejects_no_overlap():
    p = np.array([0.01, 0.2, 0.5, 0.8, 0.99, 0.3, 0.6, 0.05])
    d = np.array([1, 1, 1, 1, 1, 0, 0, 0], dtype=bool)
    result = trim_minmax(p, d)
    assert result.keep.tolist() == [
        False,
        False,
        True,
        False,
        False,
        True,
        True,
        True,
    ] or result.bounds == (0.05, 0.6)
    assert len(result.drops) == int((~result.keep).sum())
    with pytest.raises(IdentificationError, match="no overlap"):
        trim_minmax(np.array([0.9, 0.95, 0.1, 0.2]), np.array([1, 1, 0, 0], dtype=bool))
    with pytest.raises(IdentificationError, match="common support must keep"):
        trim_crump(np.array([0.9, 0.95, 0.1, 0.2]), np.array([1, 1, 0, 0], dtype=bool), alpha=0.3)


def test_crump_alpha_fixed_point():
    rng = np.random.default_rng(0)
    p = 1 / (1 + np.exp(-rng.normal(scale=2.5, size=20000)))
    alpha = crump_alpha(p)
    gamma = 1 / (alpha * (1 - alpha))
    g = 1 / (p * (1 - p))
    assert gamma == pytest.approx(2 * g[g <= gamma].mean(), rel=1e-2)
    assert crump_alpha(np.full(10, 0.5)) == 0.0


def test_rosenbaum_bounds_at_gamma_one_is_wilcoxon():
    rng = np.random.default_rng(5)
    gaps = rng.normal(0.3, 1.0, size=200)
    table = rosenbaum_bounds(gaps, (1.0, 2.0))
    reference = stats.wilcoxon(gaps, alternative="greater", method="approx", correction=False)
    assert table.loc[0, "p_upper"] == pytest.approx(reference.pvalue, rel=1e-6)
    assert table.loc[0, "p_lower"] == pytest.approx(table.loc[0, "p_upper"])
    assert table.loc[1, "p_upper"] > table.loc[0, "p_upper"] > table.loc[1, "p_lower"]
    with pytest.raises(ValueError, match="gammas must be values of at least 1"):
        rosenbaum_bounds(gaps, (0.5,))


def test_rosenbaum_bounds_from_match_result(sim):
    result = NearestNeighborMatch("d", outcome="y", covariates=["x1", "x2"]).fit(sim)
    table = result.rosenbaum_bounds((1.0, 1.5))
    assert table["p_upper"].is_monotonic_increasing


def test_plots_return_axes(sim):
    result = NearestNeighborMatch("d", covariates=["x1", "x2"]).fit(sim)
    assert love_plot(result.balance()).get_xlabel().startswith("absolute")
    assert overlap_plot(result).get_xlabel() == "propensity score"


def test_logit_matches_statsmodels_and_reports_overlap(sim):
    import statsmodels.api as sm

    fit = PropensityScore(["x1", "x2"]).fit(sim, "d")
    ref = sm.Logit(sim["d"], sm.add_constant(sim[["x1", "x2"]])).fit(disp=0)
    np.testing.assert_allclose(fit.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    assert fit.converged
    assert set(fit.overlap().index) == {"treated", "control"}
    probit = PropensityScore(["x1", "x2"], model="probit").fit(sim, "d")
    assert probit.converged and probit.model == "probit"


def test_separation_names_the_covariate(sim):
    data = sim.assign(leak=sim["d"] * 10.0 + sim["x1"] * 0.01)
    with pytest.raises(
        IdentificationError, match=r"separation\), driven by covariate\(s\) \['leak'\]"
    ):
        PropensityScore(["x2", "leak"]).fit(data, "d")
    with pytest.raises(IdentificationError, match="separation"):
        NearestNeighborMatch("d", covariates=["x2", "leak"]).fit(data)


def test_propensity_settings_are_checked():
    with pytest.raises(ValueError, match="model must be 'logit', 'probit'"):
        PropensityScore(["x"], model="cloglog")
    with pytest.raises(TypeError, match="covariates must be a sequence"):
        PropensityScore("x")  # type: ignore[arg-type]
