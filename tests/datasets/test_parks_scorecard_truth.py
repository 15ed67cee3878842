"""The simulator's truth for the scorecard: closure effect, survival, wages and park costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parkimpact.datasets import _parks_config as cfg
from parkimpact.datasets.parks import ParkSimulation, simulate_parks

FIRST, LAST = 1995, 2020


@pytest.fixture(scope="module")
def base() -> ParkSimulation:
    return simulate_parks(n_firms=800, seed=21)


@pytest.fixture(scope="module")
def protective() -> ParkSimulation:
    return simulate_parks(n_firms=800, seed=21, hazard_ratio=0.5)


def _last_year(sim: ParkSimulation) -> pd.Series:
    return sim.panel.groupby("firm_id")["year"].max()


def test_default_hazard_ratio_changes_nothing(base: ParkSimulation) -> None:
    explicit = simulate_parks(n_firms=800, seed=21, hazard_ratio=1.0)
    pd.testing.assert_frame_equal(base.panel, explicit.panel, check_exact=True)
    pd.testing.assert_frame_equal(base.tenancy, explicit.tenancy, check_exact=True)
    assert base.truth.elasticities["closure_hazard_ratio"] == 1.0
    survival = base.truth.survival
    np.testing.assert_array_equal(survival["survival_observed"], survival["survival_untreated"])
    window = survival["alive_observed"].notna()
    np.testing.assert_array_equal(
        survival.loc[window, "alive_observed"], survival.loc[window, "alive_untreated"]
    )


def test_protective_parks_only_lengthen_tenant_lives(
    base: ParkSimulation, protective: ParkSimulation
) -> None:
    before, after = _last_year(base), _last_year(protective)
    assert before.index.equals(after.index)
    assert (after >= before).all()
    entry = base.panel.groupby("firm_id")["entry_year"].first()
    changed = after != before
    assert changed.any() and entry[changed].notna().all()
    # untreated rows (never tenants, or before entry) are the same in both worlds
    untreated = base.panel["entry_year"].isna() | (base.panel["year"] < base.panel["entry_year"])
    keep = base.panel.loc[untreated, ["firm_id", "year", "employment", "patents"]]
    other = protective.panel.merge(keep[["firm_id", "year"]], on=["firm_id", "year"])
    pd.testing.assert_frame_equal(
        keep.reset_index(drop=True), other[keep.columns].reset_index(drop=True)
    )


def test_survival_truth_table(protective: ParkSimulation) -> None:
    table = protective.truth.survival
    assert list(table.columns) == [
        "firm_id",
        "park",
        "cohort",
        "horizon",
        "survival_observed",
        "survival_untreated",
        "alive_observed",
        "alive_untreated",
    ]
    assert set(table["horizon"]) == set(range(1, 11))
    assert (table["cohort"] > FIRST).all() and set(table["park"]) <= set(cfg.PARKS)
    assert (table["survival_observed"] >= table["survival_untreated"]).all()
    window = table["cohort"] + table["horizon"] <= LAST
    assert table.loc[window, "alive_observed"].notna().all()
    assert table.loc[~window, "alive_observed"].isna().all()
    # realised survival from the panel: observed in the year `horizon` years after entry
    last = _last_year(protective)
    five = table.loc[(table["horizon"] == 5) & window]
    alive = (last.reindex(five["firm_id"]).to_numpy() >= five["cohort"] + 5).astype(float)
    np.testing.assert_array_equal(five["alive_observed"].to_numpy(), alive)
    gap = (five["survival_observed"] - five["survival_untreated"]).mean()
    assert 0.005 < gap < 0.1


def test_expected_survival_follows_the_hazard(protective: ParkSimulation) -> None:
    table = protective.truth.survival.sort_values(["firm_id", "horizon"])
    first = table.groupby("firm_id").first()
    # with a constant proportional effect: -log S1(h) = theta * -log S0(h) for every firm
    ratio = np.log(first["survival_observed"]) / np.log(first["survival_untreated"])
    np.testing.assert_allclose(ratio, 0.5, rtol=1e-9)
    assert protective.truth.elasticities["closure_hazard_ratio"] == 0.5


def test_effect_scale_zero_removes_the_closure_effect(base: ParkSimulation) -> None:
    placebo = simulate_parks(n_firms=800, seed=21, hazard_ratio=0.5, effect_scale=0.0)
    assert placebo.truth.elasticities["closure_hazard_ratio"] == 1.0
    pd.testing.assert_series_equal(_last_year(placebo), _last_year(base))


def test_wage_truth_is_the_average_wage_effect(base: ParkSimulation) -> None:
    effects = base.truth.firm_effects
    assert "wage" in effects.columns
    agg = base.truth.aggregates
    assert set(agg.loc[agg["outcome"] == "wage", "kind"]) == {
        "simple",
        "dynamic",
        "group",
        "calendar",
    }
    simple = agg.loc[(agg["outcome"] == "wage") & (agg["kind"] == "simple"), "att"].iloc[0]
    assert simple > 0
    panel = base.panel.set_index(["firm_id", "year"])
    rows = effects.set_index(["firm_id", "year"])
    wage = (panel["wage_bill"] / panel["employment"]).reindex(rows.index)
    assert (wage - rows["wage"] > 0).all()  # the untreated average wage is positive


def test_park_costs(base: ParkSimulation) -> None:
    costs = base.costs
    assert list(costs.columns) == ["park", "year", "amount", "currency", "price_year"]
    assert (costs["currency"] == "TWD").all()
    assert (costs["year"] == costs["price_year"]).all()
    for park, opening in zip(cfg.PARKS, cfg.PARK_OPENING, strict=True):
        years = costs.loc[costs["park"] == park, "year"]
        assert years.min() == max(opening, FIRST) and years.max() == LAST
    consumer = base.deflators.drop_duplicates("year").set_index("year")["consumer_price"]
    real = costs["amount"] / (consumer.reindex(costs["year"]).to_numpy() / 100.0)
    base_cost = costs["park"].map(dict(zip(cfg.PARKS, cfg.PARK_BASE_COST, strict=True)))
    tenants = (real - base_cost) / cfg.COST_PER_TENANT
    np.testing.assert_allclose(tenants, np.round(tenants), atol=1e-8)
    assert (tenants >= 0).all()


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (0.0, ValueError, r"hazard_ratio must be in \(0, 10\]"),
        (11.0, ValueError, r"hazard_ratio must be in \[0, 10\]"),
        ("half", TypeError, "hazard_ratio must be a real number"),
    ],
)
def test_hazard_ratio_validation(value: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        simulate_parks(n_firms=60, hazard_ratio=value)  # type: ignore[arg-type]
