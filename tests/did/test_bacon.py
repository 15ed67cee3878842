"""Tests of the Goodman-Bacon decomposition: identities, hand 2x2s, paper weights, bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from parkimpact import FirmPanel
from parkimpact.did import TwoWayFE
from parkimpact.did.bacon import BaconDecomposition, BaconResult
from parkimpact.errors import IdentificationError, PanelStructureError
from parkimpact.report import TIDY_COLUMNS

SEED = 20240923


def simulate(seed: int = SEED, n_firms: int = 120, always: bool = True) -> pd.DataFrame:
    """Balanced 2008-2017 panel: cohorts 2011, 2013, 2016, never and (optionally) always treated.

    Effects grow with time since entry and differ by cohort, so the 2x2s differ.
    """
    rng = np.random.default_rng(seed)
    years = np.arange(2008, 2018)
    choices = [2011.0, 2013.0, 2016.0, np.nan] + ([2005.0] if always else [])
    cohort = rng.choice(choices, size=n_firms)
    frame = pd.DataFrame(
        {"firm": np.repeat(np.arange(n_firms), len(years)), "year": np.tile(years, n_firms)}
    )
    frame["entry"] = np.repeat(cohort, len(years))
    since = (frame["year"] - frame["entry"]).to_numpy()
    treated = np.nan_to_num(since, nan=-1.0) >= 0
    slope = 0.02 * (frame["entry"].fillna(2000).to_numpy() - 2000)
    effect = np.where(treated, 0.5 + slope * np.nan_to_num(since), 0.0)
    alpha = np.repeat(rng.normal(size=n_firms), len(years))
    trend = np.tile(rng.normal(scale=0.3, size=len(years)), n_firms)
    frame["y"] = alpha + trend + effect + rng.normal(scale=0.5, size=len(frame))
    frame["d"] = treated.astype(int)
    return frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    data = simulate()
    assert len(data) == 1200
    assert data["y"].sum() == pytest.approx(780.1608041467443, rel=1e-12)
    return data


@pytest.fixture(scope="module")
def panel(frame: pd.DataFrame) -> FirmPanel:
    return FirmPanel(frame, unit="firm", time="year", entry="entry")


@pytest.fixture(scope="module")
def result(panel: FirmPanel) -> BaconResult:
    return BaconDecomposition("y").fit(panel)


# ---------------------------------------------------------------------------
# identities
# ---------------------------------------------------------------------------
def test_weighted_sum_equals_twfe(result: BaconResult) -> None:
    frame = result.comparisons
    assert frame["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (frame["weight"] > 0).all()
    assert np.sum(frame["weight"] * frame["estimate"]) == pytest.approx(result.twfe, abs=1e-10)


def test_twfe_equals_the_regression_estimator(panel: FirmPanel, result: BaconResult) -> None:
    fit = TwoWayFE("y", vcov="iid").fit(panel)
    assert result.twfe == pytest.approx(float(fit.params["in_park"]), rel=1e-9)


def test_all_comparison_types_present(result: BaconResult) -> None:
    by_type = result.summary_by_type()
    assert list(by_type.index) == [
        "Earlier vs Later Treated",
        "Later vs Earlier Treated",
        "Treated vs Untreated",
        "Later vs Always Treated",
    ]
    assert by_type["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    weighted = np.sum(by_type["weight"] * by_type["estimate"])
    assert weighted == pytest.approx(result.twfe, abs=1e-10)
    # 3 timing groups: 3 earlier/later pairs x 2 directions, 3 vs never, 3 vs always
    assert by_type["n_comparisons"].tolist() == [3, 3, 3, 3]


def test_without_never_treated(frame: pd.DataFrame) -> None:
    data = frame[frame["entry"].notna()]
    result = BaconDecomposition("y").fit(FirmPanel(data, unit="firm", time="year", entry="entry"))
    assert "Treated vs Untreated" not in result.summary_by_type().index
    assert result.weighted_sum == pytest.approx(result.twfe, abs=1e-10)


def test_explicit_column_equals_derived_treatment(panel: FirmPanel, result: BaconResult) -> None:
    explicit = BaconDecomposition("y", treatment="d").fit(panel)
    pd.testing.assert_frame_equal(explicit.comparisons, result.comparisons)
    assert explicit.twfe == pytest.approx(result.twfe, rel=1e-12)


# ---------------------------------------------------------------------------
# hand 2x2s and the paper's weights
# ---------------------------------------------------------------------------
def _mean(frame: pd.DataFrame, cohort: float, years: range) -> float:
    rows = frame["year"].isin(years)
    rows &= frame["entry"].isna() if np.isnan(cohort) else frame["entry"] == cohort
    return float(frame.loc[rows, "y"].mean())


def test_estimates_are_hand_2x2s(frame: pd.DataFrame, result: BaconResult) -> None:
    rows = result.comparisons.set_index(["treated", "control"])["estimate"]
    nan = float("nan")
    # earlier (2011) vs later (2013) before 2013: pre 2008-2010, post 2011-2012
    hand = (_mean(frame, 2011, range(2011, 2013)) - _mean(frame, 2011, range(2008, 2011))) - (
        _mean(frame, 2013, range(2011, 2013)) - _mean(frame, 2013, range(2008, 2011))
    )
    assert rows[("2011", "2013")] == pytest.approx(hand, abs=1e-12)
    # later (2016) vs earlier (2013) after 2013: pre 2013-2015, post 2016-2017
    hand = (_mean(frame, 2016, range(2016, 2018)) - _mean(frame, 2016, range(2013, 2016))) - (
        _mean(frame, 2013, range(2016, 2018)) - _mean(frame, 2013, range(2013, 2016))
    )
    assert rows[("2016", "2013")] == pytest.approx(hand, abs=1e-12)
    # treated vs never treated over all years
    hand = (_mean(frame, 2013, range(2013, 2018)) - _mean(frame, 2013, range(2008, 2013))) - (
        _mean(frame, nan, range(2013, 2018)) - _mean(frame, nan, range(2008, 2013))
    )
    assert rows[("2013", "never treated")] == pytest.approx(hand, abs=1e-12)


def test_weights_of_goodman_bacon_figure_2() -> None:
    """Goodman-Bacon (2021), Figure 2: T = 100, one unit each treated at 34, 85 and never.

    The paper reports weights .365 (early vs U), .222 (late vs U), .278 (early vs late) and
    .135 (late vs early); the R package bacondecomp tests the same four numbers
    (tests/testthat/test_bacon_weights.R). Weights depend on timing only, so any outcome works.
    """
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"unit": np.repeat([1, 2, 3], 100), "t": np.tile(np.arange(1, 101), 3)})
    frame["entry"] = np.repeat([np.nan, 34.0, 85.0], 100)
    frame["y"] = rng.normal(size=300)
    result = BaconDecomposition("y").fit(FirmPanel(frame, unit="unit", time="t", entry="entry"))
    weights = result.comparisons.set_index(["treated", "control"])["weight"].round(3)
    assert weights[("34", "never treated")] == 0.365
    assert weights[("85", "never treated")] == 0.222
    assert weights[("34", "85")] == 0.278
    assert weights[("85", "34")] == 0.135


def test_invariant_to_firm_order_and_labels(frame: pd.DataFrame, result: BaconResult) -> None:
    shuffled = frame.sample(frac=1.0, random_state=3).assign(firm=lambda f: f["firm"] * 7 + 1000)
    other = BaconDecomposition("y").fit(
        FirmPanel(shuffled, unit="firm", time="year", entry="entry")
    )
    pd.testing.assert_frame_equal(other.comparisons, result.comparisons, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# results protocol
# ---------------------------------------------------------------------------
def test_tidy_summary_and_plot(result: BaconResult) -> None:
    tidy = result.tidy()
    assert set(TIDY_COLUMNS) <= set(tidy.columns)
    assert list(tidy.columns[:5]) == ["term", "type", "treated", "control", "weight"]
    assert tidy["std_error"].isna().all()
    text = result.summary()
    assert "TWFE coefficient" in text and "Goodman-Bacon" in text
    assert "BaconResult" in repr(result)
    ax = result.plot()
    assert ax.get_xlabel() == "weight"
    plt.close("all")


def test_fit_does_not_mutate(panel: FirmPanel) -> None:
    before = panel.fingerprint()
    estimator = BaconDecomposition("y")
    estimator.fit(panel)
    assert panel.fingerprint() == before
    assert estimator == BaconDecomposition("y")


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_unbalanced_panel_raises(frame: pd.DataFrame) -> None:
    panel = FirmPanel(frame.iloc[1:], unit="firm", time="year", entry="entry")
    with pytest.raises(PanelStructureError, match=r"must be balanced.*panel\.balance\(\)"):
        BaconDecomposition("y").fit(panel)


def test_missing_outcome_raises(frame: pd.DataFrame) -> None:
    data = frame.assign(y=frame["y"].where(frame.index != 5))
    panel = FirmPanel(data, unit="firm", time="year", entry="entry")
    with pytest.raises(PanelStructureError, match=r"observed in every firm-year; got 1 missing"):
        BaconDecomposition("y").fit(panel)


def test_fractional_treatment_raises(frame: pd.DataFrame) -> None:
    data = frame.assign(share=frame["d"] * 0.5)
    panel = FirmPanel(data, unit="firm", time="year")
    with pytest.raises(ValueError, match=r"treatment 'share' must be 0 or 1; got \d+ other"):
        BaconDecomposition("y", treatment="share").fit(panel)


def test_reversing_treatment_raises(frame: pd.DataFrame) -> None:
    data = frame.assign(d=np.where((frame["firm"] == frame["firm"].iloc[0]), 0, frame["d"]))
    data.loc[(data["firm"] == data["firm"].iloc[0]) & (data["year"] == 2009), "d"] = 1
    panel = FirmPanel(data, unit="firm", time="year")
    with pytest.raises(ValueError, match=r"must be absorbing .* got reversals for 1 firm"):
        BaconDecomposition("y", treatment="d").fit(panel)


def test_single_timing_group_raises(frame: pd.DataFrame) -> None:
    data = frame[frame["entry"] == 2011.0]
    panel = FirmPanel(data, unit="firm", time="year", entry="entry")
    with pytest.raises(IdentificationError, match="single timing group"):
        BaconDecomposition("y").fit(panel)


def test_treatment_not_derivable_raises(frame: pd.DataFrame) -> None:
    panel = FirmPanel(frame, unit="firm", time="year")
    with pytest.raises(ValueError, match="must be a column of the panel or derivable"):
        BaconDecomposition("y").fit(panel)


def test_bad_settings_raise() -> None:
    with pytest.raises(TypeError, match="outcome must be a column name"):
        BaconDecomposition(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="panel must be a parkimpact FirmPanel"):
        BaconDecomposition("y").fit(pd.DataFrame())  # type: ignore[arg-type]
