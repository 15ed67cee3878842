"""Causal KPIs on simulated parks against the known truth; statuses, tidy frame and plots."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from parkimpact.analysis.flagship_data import TraitSettings, add_study_columns
from parkimpact.data import FirmPanel
from parkimpact.datasets.parks import ParkSimulation, simulate_parks
from parkimpact.scorecard import Scorecard, ScorecardResult, ScorecardTruth, truth_check

matplotlib.use("Agg")

COVARIATES = ["industry", "size_class", "rd_intensive", "young"]
KPIS = [
    "employment",
    "wage_premium",
    "patents",
    "labour_productivity",
    "rd_intensity",
    "survival",
    "women_led_share_tenants",
]


def _panel(sim: ParkSimulation) -> FirmPanel:
    panel = FirmPanel(
        sim.panel, unit="firm_id", time="year", entry="entry_year", park="park", industry="industry"
    )
    return add_study_columns(panel, TraitSettings())[0]


@pytest.fixture(scope="module")
def sim() -> ParkSimulation:
    return simulate_parks(n_firms=1500, seed=1, hazard_ratio=0.6)


@pytest.fixture(scope="module")
def panel(sim: ParkSimulation) -> FirmPanel:
    return _panel(sim)


@pytest.fixture(scope="module")
def scorecard() -> Scorecard:
    return Scorecard(covariates=COVARIATES, kpis=KPIS, by_park=False, n_bootstrap=99, seed=4)


@pytest.fixture(scope="module")
def result(panel: FirmPanel, scorecard: Scorecard) -> ScorecardResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scorecard.fit(panel)


def test_causal_kpis_within_three_se_of_the_truth(
    result: ScorecardResult, panel: FirmPanel, sim: ParkSimulation, scorecard: Scorecard
) -> None:
    checked = truth_check(result, panel, sim.truth, scorecard)
    assert list(checked.columns) == [
        "kpi",
        "park",
        "level",
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
        "truth",
        "inside",
    ]
    assert set(checked["kpi"]) == {
        "employment",
        "wage_premium",
        "patents",
        "labour_productivity",
        "rd_intensity",
        "survival",
        "closure_hazard",
    }
    z = (checked["estimate"] - checked["truth"]) / checked["std_error"]
    assert (z.abs() <= 3).all(), checked.assign(z=z)
    hazard = checked.loc[checked["kpi"] == "closure_hazard"].iloc[0]
    assert hazard["truth"] == pytest.approx(np.log(0.6))
    # the truth of the patent KPI is the simulator's simple ATT restricted to its firms
    patents = checked.loc[checked["kpi"] == "patents", "truth"].iloc[0]
    simple = sim.truth.aggregates.query("outcome == 'patents' and kind == 'simple'")["att"]
    assert patents == pytest.approx(float(simple.iloc[0]), rel=1e-9)


def test_truth_from_a_folder_equals_truth_from_memory(
    result: ScorecardResult,
    panel: FirmPanel,
    sim: ParkSimulation,
    scorecard: Scorecard,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("sources")
    sim.write_sources(root)
    from_folder = truth_check(result, panel, root / "truth", scorecard)
    from_memory = truth_check(result, panel, ScorecardTruth.coerce(sim.truth), scorecard)
    pd.testing.assert_frame_equal(from_folder, from_memory, rtol=1e-12)


def test_statuses_levels_and_methods(result: ScorecardResult) -> None:
    table = result.kpis()
    park = table.loc[table["level"] == "park"].set_index("kpi")
    assert park.loc["employment", "status"] == "estimated"
    assert park.loc["employment", "method"].startswith("CS-DR ATT vs never-treated")
    assert park.loc["survival", "method"].startswith("Kaplan-Meier")
    assert park.loc["women_led_share_tenants", "status"] == "descriptive only"
    cohorts = table.loc[(table["kpi"] == "employment") & (table["level"] == "park_cohort")]
    small = cohorts.loc[cohorts["n_tenants"] < 20]
    assert (small["status"] == "descriptive only").all()
    reasons = small["note"].str.contains("too few treated firms|first panel year")
    assert reasons.all()
    years = table.loc[(table["kpi"] == "patents") & (table["level"] == "park_year")]
    assert (years["status"] == "estimated").sum() > 10
    estimated = table.loc[table["status"] == "estimated"]
    assert estimated[["effect", "std_error", "conf_low", "conf_high"]].notna().all().all()


def test_too_few_tenants_gives_descriptive_only_with_the_reason() -> None:
    small = _panel(simulate_parks(n_firms=300, seed=2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = Scorecard(kpis=["employment", "survival"], min_tenants=10_000, n_bootstrap=0).fit(
            small
        )
    years = result.kpis(level="park_year")
    years = years.loc[years["kpi"] == "employment", "note"]
    assert years.str.startswith("no causal estimate for the park: too few tenants").all()
    table = result.kpis(level="park")
    assert set(table["status"]) == {"descriptive only"}
    employment = table.loc[table["kpi"] == "employment", "note"]
    assert employment.str.contains(r"too few tenants for a causal estimate: \d+ firm").all()
    assert employment.str.contains("min_tenants=10000").all()
    assert table["tenants"].notna().all() and table["effect"].isna().all()


def test_tidy_summary_and_plots(result: ScorecardResult) -> None:
    import matplotlib.pyplot as plt

    tidy = result.tidy()
    assert list(tidy.columns[:5]) == ["term", "park", "level", "year", "cohort"]
    assert {"estimate", "std_error", "p_value", "conf_low", "conf_high"} <= set(tidy.columns)
    assert len(tidy) == (result.kpis()["status"] == "estimated").sum()
    text = result.summary()
    assert "Park scorecard (park level)" in text and "employment" in text
    assert "ScorecardResult(" in repr(result)
    fig, axes = plt.subplots(1, 2)
    assert result.plot_survival(ax=axes[0]) is axes[0]
    assert result.plot_effects(ax=axes[1]) is axes[1]
    plt.close(fig)


def test_survival_outputs(result: ScorecardResult) -> None:
    curves = result.survival_curves()
    assert list(curves.columns) == [
        "park",
        "cohort",
        "group",
        "time",
        "survival",
        "conf_low",
        "conf_high",
        "at_risk",
    ]
    pooled = curves.loc[curves["cohort"].isna()]
    assert set(pooled["group"]) == {"tenants", "comparison"}
    start = pooled.loc[pooled["time"] == 0, "survival"]
    assert (start == 1.0).all()
    assert (pooled.groupby("group")["survival"].apply(lambda s: s.is_monotonic_decreasing)).all()
    model = result.survival_model()
    assert list(model.columns[:2]) == ["term", "park"]
    assert {"hazard_ratio", "n_events", "n_tenants", "link"} <= set(model.columns)
    assert model.loc[0, "hazard_ratio"] == pytest.approx(np.exp(model.loc[0, "estimate"]))


def test_immutability(result: ScorecardResult) -> None:
    table = result.kpis()
    table.loc[0, "tenants"] = -1.0
    assert result.kpis().loc[0, "tenants"] != -1.0
    with pytest.raises(AttributeError):
        result.notes = ()  # type: ignore[misc]
