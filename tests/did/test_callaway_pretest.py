"""The Callaway-Sant'Anna pre-test: which pre-entry cells its joint covariance can support."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from parkimpact.data.panel import FirmPanel
from parkimpact.did.callaway import CallawaySantAnna
from parkimpact.did.cs_results import PRETEST_FIRMS_PER_CELL, GroupTimeATT

YEARS = np.arange(2000, 2016)


def parallel_frame(cohorts: dict[int, int], n_never: int = 300, seed: int = 1) -> pd.DataFrame:
    """Balanced panel in which parallel trends hold: firm effects, year shocks, noise."""
    rng = np.random.default_rng(seed)
    entry = [np.nan] * n_never + [float(g) for g, size in cohorts.items() for _ in range(size)]
    n = len(entry)
    frame = pd.DataFrame(
        {
            "firm": np.repeat(np.arange(n), YEARS.size),
            "year": np.tile(YEARS, n),
            "entry": np.repeat(entry, YEARS.size),
        }
    )
    shock = rng.normal(scale=0.1, size=YEARS.size)
    frame["y"] = (
        np.repeat(rng.normal(size=n), YEARS.size)
        + shock[frame["year"].to_numpy() - YEARS[0]]
        + rng.normal(scale=0.2, size=len(frame))
    )
    return frame


def fit(frame: pd.DataFrame) -> GroupTimeATT:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = FirmPanel(frame, unit="firm", time="year", entry="entry")
        return CallawaySantAnna("y").fit(panel)


def pre_entry(result: GroupTimeATT) -> np.ndarray:
    cells = result.cells
    return np.flatnonzero(~cells["post"].to_numpy() & ~cells["reference"].to_numpy())


@pytest.fixture(scope="module")
def small_cohorts() -> GroupTimeATT:
    """Two cohorts of 33 and 28 firms among twelve cohorts of three firms, long pre-periods."""
    sizes = dict.fromkeys(range(2004, 2016), 3)
    sizes[2010] += 30
    sizes[2013] += 25
    return fit(parallel_frame(sizes))


def test_small_cohorts_no_longer_blow_up_the_pre_test(small_cohorts: GroupTimeATT) -> None:
    # Every pre-entry cell at once: cohorts of 3 firms with up to 11 pre-entry cells
    # leave directions of V with comparison-firm noise only, and W explodes
    # although parallel trends hold.
    everything = small_cohorts.influence.wald(pre_entry(small_cohorts))
    assert everything.statistic > 50 * everything.df
    test = small_cohorts.pretest
    assert test is not None
    assert test.df == 5
    assert test.statistic < 3 * test.df and test.p_value > 0.05


def test_each_cohort_enters_with_the_cells_closest_to_entry(small_cohorts: GroupTimeATT) -> None:
    cells = small_cohorts.pretest_cells
    assert cells is not None
    assert len(cells) == pre_entry(small_cohorts).size
    tested = cells.loc[cells["tested"]]
    chosen = set(zip(tested["cohort"], tested["event_time"], strict=True))
    # 33 firms support 3 cells and 28 firms 2, at 10 firms per cell.
    assert PRETEST_FIRMS_PER_CELL == 10
    assert chosen == {(2010, -1), (2010, -2), (2010, -3), (2013, -1), (2013, -2)}
    left = cells.loc[~cells["tested"]]
    assert (left["reason"] == "too few treated firms for a joint test").all()
    assert (tested["reason"] == "").all()
    np.testing.assert_allclose(
        cells["estimate"].to_numpy(), small_cohorts.att.to_numpy()[pre_entry(small_cohorts)]
    )
    by_hand = small_cohorts.influence.wald(
        [f"ATT({g},{g + e})" for g, e in zip(tested["cohort"], tested["event_time"], strict=True)]
    )
    assert small_cohorts.pretest is not None
    assert small_cohorts.pretest.statistic == pytest.approx(by_hand.statistic, rel=1e-12)


def test_summary_names_the_cells_left_out(small_cohorts: GroupTimeATT) -> None:
    text = small_cohorts.summary()
    assert "Pre-test (5 of 102 pre-entry ATT(g,t) = 0)" in text
    assert "Pre-test left out 97 cell(s) of 12 cohort(s) with too few treated firms" in text
    assert "see pretest_cells" in text


def test_large_cohorts_test_every_pre_entry_cell() -> None:
    result = fit(parallel_frame({2010: 100, 2013: 130}, n_never=200))
    cells = result.pretest_cells
    assert cells is not None and bool(cells["tested"].all())
    everything = result.influence.wald(pre_entry(result))
    assert result.pretest is not None
    assert result.pretest.df == everything.df == 9 + 12
    assert result.pretest.statistic == pytest.approx(everything.statistic, rel=1e-12)
    text = result.summary()
    assert "Pre-test (all pre-entry ATT(g,t) = 0)" in text
    assert "Pre-test left out" not in text


def test_no_pre_test_when_no_cohort_is_large_enough() -> None:
    result = fit(parallel_frame(dict.fromkeys(range(2004, 2016), 4), n_never=100))
    assert result.pretest is None
    cells = result.pretest_cells
    assert cells is not None and len(cells) > 0 and not cells["tested"].any()
    assert (
        f"Pre-test not computed, left out {len(cells)} cell(s) of 12 cohort(s)" in result.summary()
    )
    assert "Pre-test (" not in result.summary()


def test_pretest_threshold_is_a_setting() -> None:
    with pytest.raises(ValueError, match="pretest_min_treated must be a positive integer or None"):
        CallawaySantAnna("y", pretest_min_treated=0)


def test_none_tests_every_pre_entry_cell_as_r_does() -> None:
    sizes = dict.fromkeys(range(2004, 2016), 3)
    sizes[2010] += 30
    frame = parallel_frame(sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = FirmPanel(frame, unit="firm", time="year", entry="entry")
        every = CallawaySantAnna("y", pretest_min_treated=None).fit(panel)
    positive = np.isfinite(every.std_errors.to_numpy()[pre_entry(every)])
    assert every.pretest_cells["tested"].sum() == positive.sum()
    # with cohorts of three firms and long pre-periods the all-cell statistic explodes
    # under true parallel trends (mean of chi2(df) is df): the blow-up the default avoids
    assert every.pretest.statistic > 10 * every.pretest.df
