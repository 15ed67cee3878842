"""Tests of TwoWayFE and FirstDifference: references, equivalences, invariances, bad input."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from parkimpact import FirmPanel
from parkimpact.did import FirstDifference, TwoWayFE, TwoWayFEResult
from parkimpact.errors import (
    DataFormatError,
    DroppedRowsWarning,
    IdentificationError,
    ParkImpactWarning,
)
from parkimpact.report import TIDY_COLUMNS

# ---------------------------------------------------------------------------
# simulated staggered panel (the same generator produced the pyfixest numbers)
# ---------------------------------------------------------------------------
SEED = 20240611


def simulate(seed: int = SEED, n_firms: int = 200, n_years: int = 10) -> pd.DataFrame:
    """Staggered entry (2013, 2015, 2017, never), two covariates, 8% of rows missing."""
    rng = np.random.default_rng(seed)
    years = np.arange(2010, 2010 + n_years)
    cohort = rng.choice([2013.0, 2015.0, 2017.0, np.nan], size=n_firms, p=[0.2, 0.2, 0.2, 0.4])
    frame = pd.DataFrame(
        {"firm_id": np.repeat(np.arange(1, n_firms + 1), n_years), "year": np.tile(years, n_firms)}
    )
    frame["entry_year"] = np.repeat(cohort, n_years)
    alpha = np.repeat(rng.normal(size=n_firms), n_years)
    lam = np.tile(rng.normal(scale=0.5, size=n_years), n_firms)
    frame["x1"] = rng.normal(size=len(frame)) + 0.3 * alpha
    frame["x2"] = rng.gamma(2.0, size=len(frame))
    since = (frame["year"] - frame["entry_year"]).to_numpy()
    treated = (np.nan_to_num(since) >= 0) & ~np.isnan(since)
    effect = np.where(treated, 0.3 + 0.05 * np.nan_to_num(since), 0.0)
    noise = rng.normal(size=len(frame))
    frame["y"] = alpha + lam + 0.5 * frame["x1"] - 0.2 * frame["x2"] + effect + noise
    frame["w"] = np.repeat(rng.uniform(0.5, 2.0, size=n_firms), n_years)
    keep = rng.random(len(frame)) > 0.08
    return frame[keep].reset_index(drop=True)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    data = simulate()
    # data fingerprint: guards the stored references against a change of the generator
    assert len(data) == 1826
    assert data["y"].sum() == pytest.approx(-679.2684215082154, rel=1e-12)
    return data


@pytest.fixture(scope="module")
def panel(frame: pd.DataFrame) -> FirmPanel:
    return FirmPanel(frame, unit="firm_id", time="year", entry="entry_year")


# ---------------------------------------------------------------------------
# pyfixest reference numbers
# ---------------------------------------------------------------------------
# Source: pyfixest 0.60.0 (numpy 2.4, pandas 3.1), on simulate() above with
#   frame["in_park"] = (frame.year >= frame.entry_year).astype(float)
#   pyfixest.feols("y ~ in_park + x1 + x2 | firm_id + year", data=frame, vcov=VCOV[, weights="w"])
# Coefficient order: in_park, x1, x2. pyfixest 0.60 reports the fixest K.fixef="nonnested" K
# (13 = 3 slopes + 10 year levels when clustering by firm; 203 when clustering by year) only
# when the fixed effects are listed as "firm_id + year"; listed as "year + firm_id" it flags
# both fixed effects as nested (K = 4). The numbers below follow fixest's documented count.
# Tolerances: coefficients 1e-8 relative (closed form; the within transformation stops at a
# relative change of 1e-10); standard errors 1e-6 relative.
PYFIXEST_REFERENCE = {
    "cluster": {  # vcov={"CRV1": "firm_id"}
        "params": [0.357866892051975, 0.4735549311954322, -0.2057199999523844],
        "se": [0.08627733738677482, 0.023903553637938904, 0.01627268914631139],
    },
    "hetero": {  # vcov="hetero"
        "params": [0.357866892051975, 0.4735549311954322, -0.2057199999523844],
        "se": [0.0849305553948378, 0.024010120209858467, 0.016839324474861018],
    },
    "iid": {  # vcov="iid"
        "params": [0.357866892051975, 0.4735549311954322, -0.2057199999523844],
        "se": [0.08610596518060186, 0.02452235307516887, 0.017831731856707667],
    },
    "cluster_weighted": {  # vcov={"CRV1": "firm_id"}, weights="w"
        "params": [0.3197638752251817, 0.47744870631181136, -0.1862854941960727],
        "se": [0.0908467549862273, 0.025547769302970053, 0.01677426977807124],
    },
    "hetero_weighted": {  # vcov="hetero", weights="w"
        "params": [0.31976387522518224, 0.47744870631181136, -0.18628549419607282],
        "se": [0.09272610472402723, 0.025841534740995743, 0.01760736810786566],
    },
    "firm_fe_only": {  # "y ~ in_park + x1 + x2 | firm_id", vcov={"CRV1": "firm_id"}; K = 4
        "params": [0.23454968572864238, 0.46920514262327406, -0.23524543653531046],
        "se": [0.06772805771336655, 0.029589253917080362, 0.020632727715779],
    },
    "cluster_year": {  # vcov={"CRV1": "year"}
        "params": [0.357866892051975, 0.4735549311954322, -0.2057199999523844],
        "se": [0.08005633984173394, 0.020057324892632154, 0.01652904191758896],
    },
}
PYFIXEST_SETTINGS = {
    "cluster": {"vcov": "cluster"},
    "hetero": {"vcov": "hetero"},
    "iid": {"vcov": "iid"},
    "cluster_weighted": {"vcov": "cluster", "weights": "w"},
    "hetero_weighted": {"vcov": "hetero", "weights": "w"},
    "firm_fe_only": {"vcov": "cluster", "fixed_effects": ["unit"]},
    "cluster_year": {"vcov": "cluster", "cluster": "year"},
}


@pytest.mark.reference
@pytest.mark.filterwarnings(
    "ignore:cluster 'year' has 10 clusters:parkimpact.errors.ParkImpactWarning"
)
@pytest.mark.parametrize("case", list(PYFIXEST_REFERENCE))
def test_matches_stored_pyfixest_numbers(panel: FirmPanel, case: str) -> None:
    result = TwoWayFE("y", covariates=["x1", "x2"], **PYFIXEST_SETTINGS[case]).fit(panel)
    reference = PYFIXEST_REFERENCE[case]
    assert list(result.params.index) == ["in_park", "x1", "x2"]
    np.testing.assert_allclose(result.params, reference["params"], rtol=1e-8)
    np.testing.assert_allclose(result.std_errors, reference["se"], rtol=1e-6)
    assert result.nobs == 1826


@pytest.mark.reference
@pytest.mark.parametrize(
    "case", ["cluster", "hetero", "iid", "cluster_weighted", "hetero_weighted", "firm_fe_only"]
)
def test_matches_live_pyfixest(frame: pd.DataFrame, panel: FirmPanel, case: str) -> None:
    pyfixest = pytest.importorskip("pyfixest", reason="live comparison needs pyfixest")
    data = frame.assign(in_park=(frame["year"] >= frame["entry_year"]).astype(float))
    settings = PYFIXEST_SETTINGS[case]
    vcov = {"CRV1": "firm_id"} if settings["vcov"] == "cluster" else settings["vcov"]
    fixed_effects = "firm_id" if "fixed_effects" in settings else "firm_id + year"
    model = pyfixest.feols(
        f"y ~ in_park + x1 + x2 | {fixed_effects}",
        data=data,
        vcov=vcov,
        weights=settings.get("weights"),
    )
    result = TwoWayFE("y", covariates=["x1", "x2"], **settings).fit(panel)
    np.testing.assert_allclose(result.params, model.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(result.std_errors, model.se().to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(result.pvalues, model.pvalue().to_numpy(), rtol=1e-5, atol=1e-12)


# ---------------------------------------------------------------------------
# equivalence: within = LSDV
# ---------------------------------------------------------------------------
def _lsdv(
    frame: pd.DataFrame, regressors: list[str]
) -> sm.regression.linear_model.RegressionResults:
    dummies = pd.get_dummies(frame[["firm_id", "year"]].astype(str), drop_first=True, dtype=float)
    design = sm.add_constant(pd.concat([frame[regressors], dummies], axis=1))
    return sm.OLS(frame["y"], design).fit()


def test_within_equals_lsdv_with_iid_errors(frame: pd.DataFrame, panel: FirmPanel) -> None:
    data = frame.assign(in_park=(frame["year"] >= frame["entry_year"]).astype(float))
    lsdv = _lsdv(data, ["in_park", "x1", "x2"])
    result = TwoWayFE("y", covariates=["x1", "x2"], vcov="iid").fit(panel)
    terms = ["in_park", "x1", "x2"]
    np.testing.assert_allclose(result.params, lsdv.params[terms], rtol=1e-8)
    np.testing.assert_allclose(result.std_errors, lsdv.bse[terms], rtol=1e-8)
    assert result.df_resid == lsdv.df_resid


def test_hetero_equals_lsdv_hc1(frame: pd.DataFrame, panel: FirmPanel) -> None:
    data = frame.assign(in_park=(frame["year"] >= frame["entry_year"]).astype(float))
    lsdv = _lsdv(data, ["in_park", "x1", "x2"]).get_robustcov_results("HC1")
    result = TwoWayFE("y", covariates=["x1", "x2"], vcov="hetero").fit(panel)
    np.testing.assert_allclose(result.std_errors, lsdv.bse[1:4], rtol=1e-7)


# ---------------------------------------------------------------------------
# invariances
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def baseline(panel: FirmPanel) -> TwoWayFEResult:
    return TwoWayFE("y", covariates=["x1", "x2"]).fit(panel)


def _fit(data: pd.DataFrame) -> TwoWayFEResult:
    return TwoWayFE("y", covariates=["x1", "x2"]).fit(
        FirmPanel(data, unit="firm_id", time="year", entry="entry_year")
    )


def test_permuting_rows_leaves_estimates_unchanged(frame, baseline) -> None:
    shuffled = frame.sample(frac=1.0, random_state=3)
    result = _fit(shuffled)
    np.testing.assert_allclose(result.params, baseline.params, rtol=1e-10)
    np.testing.assert_allclose(result.std_errors, baseline.std_errors, rtol=1e-10)


def test_relabelling_firms_leaves_estimates_unchanged(frame, baseline) -> None:
    rng = np.random.default_rng(11)
    labels = {k: f"firm-{v:05d}" for k, v in zip(range(1, 201), rng.permutation(200), strict=True)}
    result = _fit(frame.assign(firm_id=frame["firm_id"].map(labels)))
    np.testing.assert_allclose(result.params, baseline.params, rtol=1e-10)
    np.testing.assert_allclose(result.std_errors, baseline.std_errors, rtol=1e-10)


def test_adding_a_constant_and_scaling_the_outcome(frame, baseline) -> None:
    shifted = _fit(frame.assign(y=frame["y"] + 1000.0))
    np.testing.assert_allclose(shifted.params, baseline.params, rtol=1e-8)
    np.testing.assert_allclose(shifted.std_errors, baseline.std_errors, rtol=1e-7)
    scaled = _fit(frame.assign(y=frame["y"] * 3.0))
    np.testing.assert_allclose(scaled.params, 3.0 * baseline.params, rtol=1e-10)
    np.testing.assert_allclose(scaled.std_errors, 3.0 * baseline.std_errors, rtol=1e-10)


# ---------------------------------------------------------------------------
# results, drops and provenance
# ---------------------------------------------------------------------------
def test_result_is_immutable_and_fully_described(panel: FirmPanel, baseline) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        baseline.params = None  # type: ignore[misc]
    tidy = baseline.tidy()
    assert list(tidy.columns) == list(TIDY_COLUMNS)
    assert tidy.attrs["df"] == 199  # G - 1 for CRV1
    info = baseline.model_info()
    assert info.n_obs == 1826 and info.n_units == 200 and info.n_clusters == 200
    assert info.fixed_effects == ("firm_id", "year")
    assert info.cluster == "firm_id" and info.dependent == "y"
    assert info.se_type == "CRV1 clustered by firm_id (fixest small-sample correction)"
    assert baseline.spec["estimator"] == "TwoWayFE"
    assert baseline.spec["panel_fingerprint"] == panel.fingerprint()
    assert baseline.spec["settings"]["covariates"] == ["x1", "x2"]
    assert "parkimpact_version" in baseline.spec
    assert "Within R2" in baseline.summary()
    assert baseline.conf_int(0.9).shape == (3, 2)


def test_fit_changes_neither_estimator_nor_panel(panel: FirmPanel) -> None:
    estimator = TwoWayFE("y", covariates=("x1", "x2"), vcov="hetero")
    before = (panel.fingerprint(), dataclasses.asdict(estimator))
    first = estimator.fit(panel)
    assert estimator.fit(panel) is not first
    assert (panel.fingerprint(), dataclasses.asdict(estimator)) == before
    assert estimator.covariates == ("x1", "x2")


def test_missing_values_are_dropped_and_reported(frame: pd.DataFrame) -> None:
    data = frame.copy()
    data.loc[[0, 5, 9], "y"] = np.nan
    data.loc[[20], "x2"] = np.nan
    panel = FirmPanel(data, unit="firm_id", time="year", entry="entry_year")
    with pytest.warns(DroppedRowsWarning, match=r"missing (y|x2)"):
        result = TwoWayFE("y", covariates=["x1", "x2"]).fit(panel)
    counts = result.drops.counts().set_index("reason")["rows"]
    assert counts["missing y"] == 3 and counts["missing x2"] == 1
    accounting = result.drops.accounting().set_index("source").loc["panel"]
    assert accounting["balanced"] and accounting["rows_kept"] == result.nobs == 1822


def test_singletons_are_dropped_reported_and_change_nothing(frame, baseline) -> None:
    extra = pd.DataFrame(
        {
            "firm_id": [901, 902],
            "year": [2011, 2014],
            "entry_year": np.nan,
            "x1": 0.1,
            "x2": 1.0,
            "y": [5.0, -5.0],
            "w": 1.0,
        }
    )
    with pytest.warns(DroppedRowsWarning, match="singleton"):
        result = _fit(pd.concat([frame, extra], ignore_index=True))
    assert result.nobs == baseline.nobs
    assert result.drops.counts()["rows"].sum() == 2
    np.testing.assert_allclose(result.params, baseline.params, rtol=1e-10)
    np.testing.assert_allclose(result.std_errors, baseline.std_errors, rtol=1e-10)


def test_with_vcov_equals_a_refit(panel: FirmPanel, baseline) -> None:
    switched = baseline.with_vcov("hetero")
    refit = TwoWayFE("y", covariates=["x1", "x2"], vcov="hetero").fit(panel)
    np.testing.assert_allclose(switched.std_errors, refit.std_errors, rtol=1e-12)
    assert switched.se_type == refit.se_type and switched.n_clusters is None
    assert baseline.vcov_type == "cluster"  # the original is unchanged
    with pytest.warns(ParkImpactWarning, match="fewer than 30"):
        by_year = baseline.with_vcov("cluster", cluster="time")
    np.testing.assert_allclose(
        by_year.std_errors, PYFIXEST_REFERENCE["cluster_year"]["se"], rtol=1e-6
    )


def test_several_treatments_and_a_grant_column(frame: pd.DataFrame) -> None:
    rng = np.random.default_rng(2)
    data = frame.assign(grant=(rng.random(len(frame)) < 0.3).astype(int))
    panel = FirmPanel(data, unit="firm_id", time="year", entry="entry_year")
    result = TwoWayFE("y", treatment=["in_park", "grant"], covariates=["x1"]).fit(panel)
    assert list(result.params.index) == ["in_park", "grant", "x1"]
    only_grant = TwoWayFE("y", treatment="grant").fit(panel)
    assert list(only_grant.params.index) == ["grant"]


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_text_in_the_outcome_is_a_data_format_error(frame: pd.DataFrame) -> None:
    data = frame.astype({"y": object})
    data.loc[[3, 4, 8], "y"] = "n/a"
    panel = FirmPanel(data, unit="firm_id", time="year", entry="entry_year")
    with pytest.raises(DataFormatError, match=r"outcome 'y' must be numeric; got text in 3 cell"):
        TwoWayFE("y").fit(panel)


def test_all_zero_treatment_is_not_identified(frame: pd.DataFrame) -> None:
    panel = FirmPanel(frame.assign(grant=0), unit="firm_id", time="year")
    with pytest.raises(IdentificationError, match=r"treatment 'grant' must be non-zero .* got 0"):
        TwoWayFE("y", treatment="grant").fit(panel)


def test_covariate_absorbed_by_the_firm_effect_is_named(frame: pd.DataFrame) -> None:
    data = frame.assign(size_class=frame["firm_id"] % 3)
    panel = FirmPanel(data, unit="firm_id", time="year", entry="entry_year")
    with pytest.raises(IdentificationError, match=r"no remaining variation in 'size_class'"):
        TwoWayFE("y", covariates=["x1", "size_class"]).fit(panel)


def test_collinear_regressors_are_named(frame: pd.DataFrame) -> None:
    data = frame.assign(x3=2.0 * frame["x1"] - frame["x2"])
    panel = FirmPanel(data, unit="firm_id", time="year", entry="entry_year")
    with pytest.raises(IdentificationError, match=r"got 'x3' collinear with 'x1', 'x2'"):
        TwoWayFE("y", covariates=["x1", "x2", "x3"]).fit(panel)


def test_weights_must_be_non_negative_and_zero_weights_are_reported(frame) -> None:
    data = frame.assign(v=frame["w"])
    data.loc[[1, 2], "v"] = 0.0
    panel = FirmPanel(data, unit="firm_id", time="year", entry="entry_year")
    with pytest.warns(DroppedRowsWarning, match=r"zero weight \(v\)"):
        assert TwoWayFE("y", weights="v").fit(panel).nobs == 1824
    data.loc[[3], "v"] = -1.0
    negative = FirmPanel(data, unit="firm_id", time="year", entry="entry_year")
    with pytest.raises(DataFormatError, match=r"weights 'v' must be non-negative; got 1 negative"):
        TwoWayFE("y", weights="v").fit(negative)


def test_fewer_than_two_clusters(panel: FirmPanel) -> None:
    data = panel.data.assign(region=1)
    one = FirmPanel(data, unit="firm_id", time="year", entry="entry_year")
    with pytest.raises(IdentificationError, match=r"cluster 'region' must have at least 2"):
        TwoWayFE("y", cluster="region").fit(one)


def test_few_clusters_warn(panel: FirmPanel) -> None:
    data = panel.data.assign(region=panel.data["firm_id"] % 12)
    twelve = FirmPanel(data, unit="firm_id", time="year", entry="entry_year")
    with pytest.warns(ParkImpactWarning, match=r"has 12 clusters \(fewer than 30\)"):
        result = TwoWayFE("y", cluster="region").fit(twelve)
    assert result.n_clusters == 12 and result.df_resid == 11


def test_in_park_needs_an_entry_role(frame: pd.DataFrame) -> None:
    panel = FirmPanel(frame, unit="firm_id", time="year")
    with pytest.raises(ValueError, match=r"treatment 'in_park' must be a column .* entry role"):
        TwoWayFE("y").fit(panel)


def test_unknown_column_and_bad_settings(panel: FirmPanel) -> None:
    with pytest.raises(DataFormatError, match=r"covariate 'sales' must be a column"):
        TwoWayFE("y", covariates=["sales"]).fit(panel)
    with pytest.raises(ValueError, match=r"The 'vcov' parameter of TwoWayFE must be one of"):
        TwoWayFE("y", vcov="robust")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"covariates of TwoWayFE must be a column name"):
        TwoWayFE("y", covariates=[1, 2])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"panel must be a parkimpact FirmPanel"):
        TwoWayFE("y").fit(panel.data)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"regressors must be distinct"):
        TwoWayFE("y", covariates=["x1", "x1"]).fit(panel)


# ---------------------------------------------------------------------------
# FirstDifference
# ---------------------------------------------------------------------------
def test_first_difference_matches_statsmodels_and_reports_gaps(panel: FirmPanel) -> None:
    data = panel.data.sort_values(["firm_id", "year"])
    grouped = data.groupby("firm_id")
    consecutive = grouped["year"].diff() == 1
    diffs = pd.DataFrame(
        {
            "dy": grouped["y"].diff(),
            "dx1": grouped["x1"].diff(),
            "year": data["year"],
            "firm_id": data["firm_id"],
        }
    )[consecutive]
    years = pd.get_dummies(diffs["year"], prefix="year", drop_first=True, dtype=float)
    design = sm.add_constant(pd.concat([years, diffs[["dx1"]]], axis=1))
    reference = sm.OLS(diffs["dy"], design).fit(
        cov_type="cluster", cov_kwds={"groups": diffs["firm_id"]}
    )
    with pytest.warns(DroppedRowsWarning, match=r"gap"):
        result = FirstDifference("y", regressors=["x1"], vcov="cluster").fit(panel)
    np.testing.assert_allclose(result.params.to_numpy(), reference.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(result.std_errors.to_numpy(), reference.bse.to_numpy(), rtol=1e-8)
    assert result.nobs == len(diffs)
    assert result.params.index[0] == "intercept" and result.params.index[-1] == "x1"
    counts = result.drops.counts().set_index("reason")["rows"]
    first_year = counts.filter(like="first year").sum()
    gaps = counts.filter(like="gap").sum()
    assert first_year == 200 and first_year + gaps + len(diffs) == panel.n_obs
    with pytest.warns(DroppedRowsWarning, match=r"gap"):
        hetero = FirstDifference("y", regressors=["x1"], vcov="hetero").fit(panel)
    hc1 = sm.OLS(diffs["dy"], design).fit(cov_type="HC1")
    np.testing.assert_allclose(hetero.std_errors.to_numpy(), hc1.bse.to_numpy(), rtol=1e-8)


def test_first_difference_of_a_time_invariant_regressor(panel: FirmPanel) -> None:
    data = panel.data.assign(size_class=panel.data["firm_id"] % 3)
    constant = FirmPanel(data, unit="firm_id", time="year")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        with pytest.raises(IdentificationError, match=r"'size_class' equal to zero throughout"):
            FirstDifference("y", regressors=["size_class"]).fit(constant)
    with pytest.raises(ValueError, match=r"regressors must name at least one column"):
        FirstDifference("y", regressors=[])
