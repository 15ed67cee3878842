"""ImpactStudy on a small simulated park economy: stages, two kinds of SE, reproducibility."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from parkimpact import FirmPanel, ImpactStudy, StudyResult
from parkimpact.datasets import simulate_parks
from parkimpact.did import CallawaySantAnna, GroupTimeATT
from parkimpact.matching import PSMDiD
from parkimpact.report import validate_tidy
from parkimpact.study import SE_TYPES
from parkimpact.tfp import ACF, ProductionFunctionResult

INDUSTRY = ["ind_IC", "ind_OPTO", "ind_PC", "ind_PREC", "ind_TEL"]
TFP = ACF(
    output="log_value_added",
    free="log_employment",
    state="log_capital",
    proxy="log_materials",
    law_of_motion_controls=("in_park",),
    n_grid=16,
    n_polish=2,
)


@pytest.fixture(scope="module")
def panel() -> FirmPanel:
    sim = simulate_parks(n_firms=300, seed=3)
    data = sim.panel
    data = data.assign(
        log_rd=np.log1p(data["rd"]),
        size=np.where(data.groupby("firm_id")["employment"].transform("first") < 50, "s", "l"),
        **{c: (data["industry"] == c[4:]).astype(float) for c in INDUSTRY},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FirmPanel(
            data,
            unit="firm_id",
            time="year",
            entry="entry_year",
            exit="exit_year",
            industry="industry",
            exits="keep_treated",
        )


def _study(**changes: object) -> ImpactStudy:
    settings: dict[str, object] = {
        "outcomes": ["log_rd", "patents"],
        "tfp": TFP,
        "covariates": INDUSTRY,
        "count_outcomes": ["patents"],
        "event_window": (-3, 4),
        "pre_entry_years": 4,
        "seed": 11,
    }
    return ImpactStudy(**{**settings, **changes})  # type: ignore[arg-type]


def _fit(study: ImpactStudy, panel: FirmPanel) -> StudyResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return study.fit(panel)


@pytest.fixture(scope="module")
def point(panel: FirmPanel) -> StudyResult:
    return _fit(_study(by=["size"], by_did=CallawaySantAnna("y", method="reg")), panel)


def _boot_study(**changes: object) -> ImpactStudy:
    settings = {"outcomes": ["patents"], "bootstrap": 3, "n_jobs": 1, **changes}
    return _study(**settings)


@pytest.fixture(scope="module")
def booted(panel: FirmPanel) -> StudyResult:
    return _fit(_boot_study(), panel)


def test_every_stage_is_held(point: StudyResult) -> None:
    assert isinstance(point.tfp, ProductionFunctionResult)
    assert point.tfp.method == "ACF"
    assert "tfp" in point.panel.data.columns
    assert point.outcomes == ("tfp", "log_rd", "patents")
    assert all(isinstance(point.did[o], GroupTimeATT) for o in point.outcomes)
    assert {("tfp", "simple"), ("tfp", "dynamic")} <= set(point.aggregates)
    assert set(point.subgroups) == {(o, "size") for o in point.outcomes}
    assert set(point.subgroup_tests["outcome"]) == set(point.outcomes)
    rows = point.estimates
    assert set(rows["estimand"]) == {"simple", "proportional", "dynamic"}
    assert rows.loc[rows["estimand"] == "proportional", "outcome"].tolist() == ["patents"]
    assert sorted(rows.loc[rows["by"].notna(), "subgroup"].unique()) == ["l", "s"]
    dynamic = rows.loc[(rows["estimand"] == "dynamic") & (rows["outcome"] == "tfp")]
    assert dynamic["event_time"].between(-3, 4).all()
    # pre_entry_years: tenants' years more than 4 before entry are gone (and reported)
    event = point.panel.event_time().to_numpy()
    assert not (event < -4).any()
    assert "pre_entry_years=4" in point.panel.drops.counts().to_string()


def test_simple_att_is_the_cs_aggregation(point: StudyResult) -> None:
    for outcome in point.outcomes:
        simple = point.aggregates[(outcome, "simple")]
        row = point.headline().set_index(["outcome", "estimand"]).loc[(outcome, "simple")]
        assert row["estimate"] == simple.estimate
        assert row["std_error_conditional"] == simple.std_error


def test_without_bootstrap_only_conditional_ses(point: StudyResult) -> None:
    tidy = point.tidy()
    validate_tidy(tidy)
    assert set(tidy["se_type"]) == {"conditional"}
    assert len(tidy) == len(point.estimates)
    assert point.bootstrap is None
    assert "SE whole-pipeline" in point.summary()


def test_se_type_labels_and_values(booted: StudyResult) -> None:
    tidy = booted.tidy()
    validate_tidy(tidy)
    assert set(tidy["se_type"]) == set(SE_TYPES) == {"whole_pipeline", "conditional"}
    head = tidy.loc[(tidy["estimand"] == "simple") & (tidy["outcome"] == "tfp")]
    assert head["se_type"].tolist() == ["whole_pipeline", "conditional"]
    boot = booted.bootstrap
    assert boot is not None and boot.n_boot == 3
    j = boot.names.index("tfp|simple|||")
    assert head["std_error"].iloc[0] == pytest.approx(boot.std_errors[j])
    assert head["std_error"].iloc[1] == pytest.approx(
        booted.aggregates[("tfp", "simple")].std_error
    )
    only = booted.tidy(se="whole_pipeline")
    assert set(only["se_type"]) == {"whole_pipeline"}
    assert "whole-pipeline" in booted.summary() and "conditional" in booted.summary()
    with pytest.raises(ValueError, match="se must be 'both', 'whole_pipeline' or 'conditional'"):
        booted.tidy(se="analytic")  # type: ignore[arg-type]


def test_statistic_on_the_original_panel_reproduces_the_point(booted: StudyResult) -> None:
    # the warm re-fit of the production function and every DiD, run on the original firms,
    # must give the reported numbers (the bootstrap re-runs exactly this pipeline)
    boot = booted.bootstrap
    assert boot is not None
    point = booted.estimates.set_index(pd.Index(_ids(booted.estimates)))["estimate"]
    np.testing.assert_allclose(boot.point_estimates, point.loc[list(boot.names)], atol=1e-6)


def _ids(frame: pd.DataFrame) -> list[str]:
    from parkimpact.study._effects import row_ids

    return row_ids(frame)


def test_bootstrap_reproducible_for_any_n_jobs(panel: FirmPanel, booted: StudyResult) -> None:
    again = _fit(_boot_study(n_jobs=2), panel)
    assert booted.bootstrap is not None and again.bootstrap is not None
    np.testing.assert_array_equal(booted.bootstrap.estimates, again.bootstrap.estimates)
    pd.testing.assert_frame_equal(booted.tidy(), again.tidy())
    other = _fit(_boot_study(seed=12, bootstrap=2, backend="sequential"), panel)
    assert other.bootstrap is not None
    assert not np.array_equal(other.bootstrap.estimates, booted.bootstrap.estimates[:2])


def test_subgroups_in_the_bootstrap_without_tfp(panel: FirmPanel) -> None:
    study = ImpactStudy(
        outcomes=["patents"],
        by=["size"],
        by_did=CallawaySantAnna("y", method="reg"),
        bootstrap=2,
        bootstrap_subgroups=True,
        backend="sequential",
        seed=3,
    )
    result = _fit(study, panel)
    assert result.tfp is None and "tfp" not in result.outcomes
    groups = result.estimates.loc[result.estimates["by"] == "size"]
    assert len(groups) == 2 and groups["std_error_whole_pipeline"].notna().all()


def test_separated_cohort_is_left_out_and_counted_on_every_resample(panel: FirmPanel) -> None:
    # ``flag`` marks exactly the firms of one cohort: its propensity score separates them from
    # every comparison firm, on the panel and on every resample that draws them. The cohort's
    # cells are left out (not the whole fit), which the notes and the draws record.
    entry = panel.data["entry_year"]
    years = panel.data["year"]
    inside = entry.loc[(entry > years.min() + 1) & (entry <= years.max())]
    cohort = int(inside.value_counts().index[0])
    flagged = panel.assign(flag=(entry == cohort).to_numpy(dtype=float))
    study = ImpactStudy(
        outcomes=["patents"], covariates=["flag"], bootstrap=4, backend="sequential", seed=2
    )
    result = _fit(study, flagged)
    fit = result.did["patents"]
    assert set(fit.cells_not_identified["cohort"]) == {cohort}
    assert cohort not in set(fit.cells["cohort"])
    assert any("of patents not identified by the covariates" in n for n in result.notes)
    counts = result.bootstrap_not_identified
    assert counts is not None and list(counts.columns) == ["patents"] and len(counts) == 4
    assert (counts["patents"] > 0).sum() >= 2
    assert any("were not identified by the covariates" in n for n in result.notes)
    assert result.bootstrap is not None
    assert all("cells_not_identified" not in name for name in result.bootstrap.names)
    head = result.headline().iloc[0]
    assert np.isfinite(head["std_error_whole_pipeline"]) and head["n_failed"] == 0


def test_lost_headline_draws_are_counted_and_named(panel: FirmPanel) -> None:
    from parkimpact.study._pipeline import PipelineStatistic

    calls = {"n": 0}
    original = PipelineStatistic.__call__

    def flaky(self: PipelineStatistic, frame: pd.DataFrame) -> pd.Series:
        values = original(self, frame)
        calls["n"] += 1
        if calls["n"] in (2, 4):  # the first call is the original panel
            values[[i for i in values.index if i.startswith("patents|simple")]] = np.nan
        return values

    study = ImpactStudy(outcomes=["patents"], bootstrap=4, backend="sequential", seed=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PipelineStatistic, "__call__", flaky)
        result = _fit(study, panel)
    head = result.headline().set_index("estimand").loc["simple"]
    assert head["n_failed"] == 2 and np.isfinite(head["std_error_whole_pipeline"])
    assert any("headline effects: patents simple (2)" in n for n in result.notes)


def test_proportional_effect_is_scale_free(panel: FirmPanel) -> None:
    scaled = panel.assign(patents10=10.0 * panel.data["patents"].to_numpy())
    study = ImpactStudy(
        outcomes=["patents", "patents10"], count_outcomes=["patents", "patents10"], seed=1
    )
    rows = _fit(study, scaled).headline().set_index(["outcome", "estimand"])
    base, ten = rows.loc[("patents", "simple")], rows.loc[("patents10", "simple")]
    assert ten["estimate"] == pytest.approx(10 * base["estimate"])
    share, share10 = rows.loc[("patents", "proportional")], rows.loc[("patents10", "proportional")]
    assert share10["estimate"] == pytest.approx(share["estimate"])
    assert share10["std_error_conditional"] == pytest.approx(share["std_error_conditional"])
    assert 0 < share["std_error_conditional"] < 1


def test_psm_did_stage(panel: FirmPanel) -> None:
    study = ImpactStudy(
        outcomes=["log_rd"],
        did=PSMDiD("log_rd", covariates=["log_employment"], trend_years=0, window=(-2, 2)),
    )
    result = _fit(study, panel)
    assert set(result.estimates["estimand"]) == {"post_average", "dynamic"}
    row = result.headline().iloc[0]
    assert row["estimate"] == pytest.approx(result.did["log_rd"].att)


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"outcomes": []}, ValueError, "outcomes must name at least one column"),
        (
            {"outcomes": "log_rd", "count_outcomes": ["phd"]},
            ValueError,
            r"count_outcomes must be among the outcomes \['log_rd'\]; got \['phd'\]",
        ),
        ({"outcomes": ["y"], "bootstrap": 1}, ValueError, "bootstrap must be 0 or at least 2"),
        ({"outcomes": ["y"], "bootstrap": -3}, ValueError, "bootstrap must be an integer of at"),
        ({"outcomes": ["y"], "did": "dr"}, TypeError, "did must be a CallawaySantAnna, a PSMDiD"),
        ({"outcomes": ["y"], "tfp": "acf"}, TypeError, "tfp must be a parkimpact.tfp"),
        ({"outcomes": ["y"], "event_window": (3, 1)}, ValueError, "event_window must be two"),
        ({"outcomes": ["y"], "pre_entry_years": 0}, ValueError, "pre_entry_years must be an"),
        ({"outcomes": ["y"], "n_jobs": 0}, ValueError, "n_jobs must be a non-zero integer"),
        ({"outcomes": ["y", "y"]}, ValueError, "outcomes must not repeat a column"),
        ({"outcomes": [1]}, TypeError, "outcomes must be a sequence of column names"),
    ],
)
def test_bad_settings(changes: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        ImpactStudy(**changes)


def test_bad_panels(panel: FirmPanel) -> None:
    with pytest.raises(TypeError, match="panel must be a FirmPanel; got DataFrame"):
        ImpactStudy(outcomes=["log_rd"]).fit(panel.data)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"columns \['nope'\] must be in the panel"):
        ImpactStudy(outcomes=["nope"]).fit(panel)
    bare = FirmPanel(panel.data[["firm_id", "year", "log_rd"]], unit="firm_id", time="year")
    with pytest.raises(ValueError, match="panel must declare the entry role"):
        ImpactStudy(outcomes=["log_rd"]).fit(bare)
