"""PSMDiD on unbalanced panels: base-year rows with missing matching variables.

With ``trend_years=2`` a firm needs its outcome two years before the base year;
firms founded or first observed later, and whole early cohorts, cannot enter
the matching. They must be reported (rows in = rows kept + rows reported for
the base-year cross-sections) and must not break the weights.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from parkimpact import FirmPanel
from parkimpact.datasets import simulate_parks
from parkimpact.errors import DroppedRowsWarning
from parkimpact.matching import PSMDiD

from .conftest import stacked_panel

TREND_REASON = r"firm not observed 2 year\(s\) before the base year, too few pre-entry years"


def _fit(estimator: PSMDiD, panel: FirmPanel):
    """Fit and return the result with the DroppedRowsWarnings it issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = estimator.fit(panel)
    dropped = [w for w in caught if issubclass(w.category, DroppedRowsWarning)]
    return result, dropped


def _matching_drops(result) -> pd.DataFrame:
    frame = result.drops.to_frame()
    return frame.loc[frame["source"] == "matching"]


def _accounting(result) -> pd.Series:
    acc = result.drops.accounting().set_index("source")
    return acc.loc["matching"]


def _base_year_rows(panel: FirmPanel) -> set[tuple[object, int]]:
    """(firm, base year) of every cohort cross-section with a treated firm at its base year."""
    data, roles = panel.data, panel.roles
    expected: set[tuple[object, int]] = set()
    for g in pd.unique(data[roles.entry].dropna()):
        base = data.loc[data[roles.time] == g - 1]
        base = base.loc[(base[roles.entry] == g) | base[roles.entry].isna()]
        if (base[roles.entry] == g).any():
            expected |= {(u, int(g) - 1) for u in base[roles.unit]}
    return expected


# ---------------------------------------------------------------- simulated parks
@pytest.fixture(scope="module")
def parks_panel() -> FirmPanel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FirmPanel(
            simulate_parks(n_firms=600, seed=3).panel,
            unit="firm_id",
            time="year",
            entry="entry_year",
            exit="exit_year",
            exits="keep_treated",
        )


@pytest.fixture(scope="module")
def parks_fit(parks_panel):
    return _fit(PSMDiD("log_value_added"), parks_panel)


def test_default_settings_run_on_an_unbalanced_panel(parks_fit):
    result, _ = parks_fit
    assert np.isfinite(result.att)
    assert result.std_error > 0
    # base years 1995 and 1996: nobody is observed two years earlier
    assert {1996, 1997}.isdisjoint(result.cohorts)
    assert any(n.startswith("cohort 1996: no treated firm with complete") for n in result.notes)
    assert len(result.cohorts) >= 10


def test_trend_drops_are_reported_with_their_reason(parks_panel, parks_fit):
    result, _ = parks_fit
    drops = _matching_drops(result)
    assert len(drops) > 0
    assert drops["reason"].str.match(TREND_REASON).all()
    assert (drops["step"] == "PSMDiD").all()
    # each reported firm really lacks its outcome two years before the base year
    data = parks_panel.data
    observed = set(zip(data["firm_id"], data["year"], strict=True))
    assert all((u, t) in observed for u, t in zip(drops["unit"], drops["time"], strict=True))
    assert not any(
        (u, t - 2) in observed for u, t in zip(drops["unit"], drops["time"], strict=True)
    )
    # treated firms are among them (entry year = base year + 1)
    entry = data.groupby("firm_id")["entry_year"].first()
    treated = entry.reindex(drops["unit"]).to_numpy() == drops["time"].to_numpy() + 1
    assert treated.sum() > 0


def test_one_warning_names_the_count(parks_fit):
    result, dropped = parks_fit
    acc = _accounting(result)
    assert len(dropped) == 1
    message = str(dropped[0].message)
    assert message.startswith(f"{acc['rows_dropped']} of {acc['rows_in']} base-year row(s)")
    assert "too few pre-entry years" in message


def test_rows_in_equal_rows_kept_plus_rows_reported(parks_panel, parks_fit):
    result, _ = parks_fit
    acc = _accounting(result)
    drops = _matching_drops(result)
    assert bool(acc["balanced"])
    expected = _base_year_rows(parks_panel)
    kept = set(zip(result.sections.index, result.sections["_cohort"].to_numpy() - 1, strict=True))
    reported = set(zip(drops["unit"], drops["time"].astype(int), strict=True))
    assert acc["rows_in"] == len(expected)
    assert acc["rows_kept"] == len(kept) == len(result.sections)
    assert acc["rows_dropped"] == len(reported) == len(drops)
    assert kept.isdisjoint(reported)
    assert kept | reported == expected


def test_section_weights_align_with_the_matchings_by_unit(parks_fit):
    result, _ = parks_fit
    for g, matching in result.cohorts.items():
        section = result.sections.loc[result.sections["_cohort"] == g]
        assert section.notna().all().all()
        np.testing.assert_array_equal(
            section["_weight"].to_numpy(), matching.weights.reindex(section.index).to_numpy()
        )


def test_panel_drops_travel_with_the_result(parks_panel, parks_fit):
    result, _ = parks_fit
    acc = result.drops.accounting().set_index("source")
    assert acc.loc["panel", "rows_in"] == parks_panel.drops.accounting().iloc[0]["rows_in"]


# ----------------------------------------------------- known effect, unbalanced
def unbalanced_panel(seed: int = 5) -> pd.DataFrame:
    """``stacked_panel`` (effect 0.3) with late first years and missing sizes."""
    data = stacked_panel(n_firms=800, seed=seed, effect=0.3)
    rng = np.random.default_rng(seed)
    first = pd.Series(rng.choice(np.arange(2000, 2006), size=800), index=np.arange(800))
    late = rng.random(800) < 0.4
    start = np.where(late, first.to_numpy(), 2000)[data["firm"].to_numpy()]
    data = data.loc[data["year"].to_numpy() >= start].reset_index(drop=True)
    blank = rng.random(len(data)) < 0.03
    data.loc[blank, "size"] = np.nan
    return data


@pytest.fixture(scope="module")
def effect_panel() -> FirmPanel:
    return FirmPanel(unbalanced_panel(), unit="firm", time="year", entry="entry")


@pytest.fixture(scope="module")
def effect_fit(effect_panel):
    return _fit(PSMDiD("y", covariates=["size"]), effect_panel)


def test_known_effect_within_three_standard_errors(effect_fit):
    result, dropped = effect_fit
    assert len(dropped) == 1
    assert set(result.cohorts) == {2005, 2006, 2007}
    assert abs(result.att - 0.3) <= 3 * result.std_error


def test_every_reason_is_reported_and_rows_add_up(effect_panel, effect_fit):
    result, _ = effect_fit
    counts = _matching_drops(result).groupby("reason").size()
    assert counts.filter(regex=TREND_REASON).sum() > 0
    assert counts.get("missing size at the base year", 0) > 0
    acc = _accounting(result)
    assert bool(acc["balanced"])
    assert acc["rows_in"] == len(_base_year_rows(effect_panel))
    assert acc["rows_kept"] == len(result.sections)


def test_treated_firms_without_a_match_are_reported(effect_panel):
    estimator = PSMDiD("y", covariates=["size"], caliper=0.002)
    result, dropped = _fit(estimator, effect_panel)
    drops = _matching_drops(result)
    unmatched = drops.loc[drops["reason"].str.startswith("treated firm without a match")]
    assert len(unmatched) > 0
    assert len(dropped) == 1
    acc = _accounting(result)
    assert bool(acc["balanced"])
    # unmatched treated firms stay in the sections with weight 0 (before-matching balance)
    assert acc["rows_kept"] == len(result.sections) - len(unmatched)
    sections = result.sections.set_index("_cohort", append=True)
    keys = list(zip(unmatched["unit"], unmatched["time"].astype(int) + 1, strict=True))
    assert (sections.loc[keys, "_weight"] == 0).all()


def test_balanced_panel_drops_nothing():
    panel = FirmPanel(stacked_panel(n_firms=300), unit="firm", time="year", entry="entry")
    result, dropped = _fit(PSMDiD("y", covariates=["size"]), panel)
    assert dropped == []
    assert _matching_drops(result).empty
    acc = _accounting(result)
    assert acc["rows_in"] == acc["rows_kept"] == len(result.sections)
