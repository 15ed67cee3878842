"""Results: the tidy protocol, TFP alignment and augment, groups, and equivalences."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from linearmodels.iv import IV2SLS
from tests.tfp.conftest import acf_panel, quiet_fit

from parkimpact import FirmPanel
from parkimpact.report import TIDY_COLUMNS, table
from parkimpact.tfp import (
    ACF,
    OLS,
    FixedEffects,
    GroupedProductionFunctionResult,
    LevinsohnPetrin,
    ProductionFunctionResult,
    Wooldridge,
)

KW = {"output": "y", "free": "l", "state": "k"}


@pytest.fixture(scope="module")
def panel() -> FirmPanel:
    return acf_panel(2, n_firms=500)


@pytest.fixture(scope="module")
def acf(panel: FirmPanel) -> ProductionFunctionResult:
    return quiet_fit(ACF(**KW, proxy="m"), panel)


def test_result_follows_the_tidy_protocol(acf: ProductionFunctionResult) -> None:
    frame = acf.tidy()
    assert tuple(frame.columns) == TIDY_COLUMNS
    assert list(frame["term"]) == ["l", "k"]
    assert "ACF production function" in acf.summary()
    assert "Local minima found" in acf.summary()
    assert list(acf.conf_int().columns) == ["conf_low", "conf_high"]
    assert "<table" in acf._repr_html_()
    assert "ACF" in repr(acf)
    assert "0.600" in table([acf]).to_text()


def test_result_is_immutable_and_records_its_settings(acf: ProductionFunctionResult) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        acf.params = acf.params  # type: ignore[misc]
    assert acf.settings["proxy"] == "m"
    with pytest.raises(TypeError, match="read-only"):
        acf.settings["proxy"] = "i"  # type: ignore[index]
    assert len(acf.fingerprint) == 64


def test_fit_leaves_estimator_and_panel_unchanged(panel: FirmPanel) -> None:
    estimator = ACF(**KW, proxy="m", n_grid=16)
    before, columns = panel.fingerprint(), list(panel.data.columns)
    quiet_fit(estimator, panel)
    assert panel.fingerprint() == before and list(panel.data.columns) == columns
    assert estimator == ACF(**KW, proxy="m", n_grid=16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        estimator.n_grid = 3  # type: ignore[misc]


def test_tfp_is_aligned_to_panel_rows_and_augment_adds_it(
    panel: FirmPanel, acf: ProductionFunctionResult
) -> None:
    assert len(acf.tfp) == panel.n_obs
    augmented = acf.augment(panel)
    assert augmented.data["tfp"].to_numpy() == pytest.approx(acf.tfp.to_numpy())
    shocked = acf.augment(panel, column="tfp_eps", with_shock=True)
    expected = panel.data["y"] - panel.data[["l", "k"]].to_numpy() @ acf.params.to_numpy()
    assert shocked.data["tfp_eps"].to_numpy() == pytest.approx(expected.to_numpy())
    assert acf.first_stage.r_squared > 0.9
    assert acf.law_of_motion.index[:2].tolist() == ["const", "omega"]


def test_augment_matches_on_firm_and_year() -> None:
    panel = acf_panel(2, n_firms=200)
    result = quiet_fit(OLS(**KW), panel)
    subset = FirmPanel(panel.data.iloc[::-3].reset_index(drop=True), unit="firm_id", time="year")
    augmented = result.augment(subset).data
    lookup = result.augment(panel).data.set_index(["firm_id", "year"])["tfp"]
    keys = pd.MultiIndex.from_frame(augmented[["firm_id", "year"]])
    assert augmented["tfp"].to_numpy() == pytest.approx(lookup.reindex(keys).to_numpy())


def test_optimizer_diagnostics_list_every_solution(acf: ProductionFunctionResult) -> None:
    frame = acf.optimizer.to_frame()
    assert list(frame.columns) == ["l", "k", "criterion", "n_starts"]
    assert frame.loc[0, "criterion"] == acf.criterion
    assert sum(p.converged for p in acf.optimizer.polishes) >= frame["n_starts"].sum()
    assert all(len(p.path) == p.evaluations for p in acf.optimizer.polishes)


def test_ols_and_fixed_effects_match_statsmodels(panel: FirmPanel) -> None:
    data = panel.data
    ols = quiet_fit(OLS(**KW), panel)
    reference = sm.OLS(data["y"], sm.add_constant(data[["l", "k"]])).fit(
        cov_type="cluster", cov_kwds={"groups": data["firm_id"]}
    )
    assert ols.params.to_numpy() == pytest.approx(reference.params[["l", "k"]].to_numpy())
    assert ols.std_errors.to_numpy() == pytest.approx(reference.bse[["l", "k"]].to_numpy())
    fe = quiet_fit(FixedEffects(**KW), panel)
    dummies = pd.get_dummies(data["firm_id"], dtype=float)
    lsdv = sm.OLS(data["y"], pd.concat([data[["l", "k"]], dummies], axis=1)).fit()
    assert fe.params.to_numpy() == pytest.approx(lsdv.params[["l", "k"]].to_numpy())
    assert fe.influence.n_units == 500


def test_wooldridge_iv_is_two_stage_least_squares(panel: FirmPanel) -> None:
    result = quiet_fit(Wooldridge(**KW, proxy="m"), panel)
    data = panel.data.sort_values(["firm_id", "year"]).reset_index(drop=True)
    lagged = data.groupby("firm_id")[["l", "k", "m"]].shift(1)
    frame = data.assign(
        l_lag=lagged["l"],
        k1=lagged["k"],
        m1=lagged["m"],
        kk1=lagged["k"] ** 2,
        km1=lagged["k"] * lagged["m"],
        mm1=lagged["m"] ** 2,
        const=1.0,
    ).dropna()
    exog = frame[["const", "k", "k1", "m1", "kk1", "km1", "mm1"]]
    reference = IV2SLS(frame["y"], exog, frame[["l"]], frame[["l_lag"]]).fit(
        cov_type="clustered", clusters=frame["firm_id"]
    )
    assert result.params["l"] == pytest.approx(reference.params["l"], rel=1e-8)
    assert result.params["k"] == pytest.approx(reference.params["k"], rel=1e-8)
    # same sandwich; linearmodels' clustered small-sample factor differs by (N-1)/(N-K)
    ratio = result.std_errors["l"] / reference.std_errors["l"]
    assert ratio == pytest.approx(1.0, abs=0.01)


def test_wooldridge_gmm_reports_hansen_j_and_analytic_ses() -> None:
    # ACF DGP2, 1,000 firms: the system GMM is consistent; truth within 3 analytic SEs
    result = quiet_fit(Wooldridge(**KW, proxy="m", method="gmm"), acf_panel(2))
    assert (np.abs(result.params.to_numpy() - [0.6, 0.4]) <= 3 * result.std_errors).all()
    assert (result.std_errors > 0).all() and result.se_type.startswith("analytic")
    assert any("Hansen J" in note for note in result.notes)
    assert result.influence.vcov(cluster=False).shape == (2, 2)


def test_by_industry_fits_one_production_function_per_group() -> None:
    data = acf_panel(2, n_firms=600).data
    data = data.assign(sector=np.where(data["firm_id"] % 2 == 0, "even", "odd"))
    panel = FirmPanel(data, unit="firm_id", time="year", industry="sector")
    result = quiet_fit(LevinsohnPetrin(**KW, proxy="m", by="industry"), panel)
    assert isinstance(result, GroupedProductionFunctionResult)
    assert set(result.results) == {"even", "odd"}
    assert result.params.index.names == ["sector", "term"]
    tidy = result.tidy()
    assert list(tidy.columns[:2]) == ["term", "sector"] and len(tidy) == 4
    assert result.tfp.notna().all()
    for group, fit in result.results.items():
        rows = (data["sector"] == group).to_numpy()
        assert result.tfp.to_numpy()[rows] == pytest.approx(fit.tfp.to_numpy()[rows])
    assert "by sector" in result.summary()
    assert result.augment(panel).data["tfp"].notna().all()


def test_in_park_is_derived_for_the_law_of_motion() -> None:
    data = acf_panel(2, n_firms=300).data
    entry = np.where(data["firm_id"] % 4 == 0, 6.0, np.nan)
    panel = FirmPanel(data.assign(entry=entry), unit="firm_id", time="year", entry="entry")
    result = quiet_fit(LevinsohnPetrin(**KW, proxy="m", law_of_motion_controls="in_park"), panel)
    assert "lag in_park" in result.law_of_motion.index
    assert abs(result.law_of_motion["lag in_park"]) < 0.05  # no park effect in this design
    assert "in_park" not in panel.data.columns
