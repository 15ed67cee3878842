"""Kaplan-Meier with left truncation by hand, survival spells and their errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parkimpact.data import FirmPanel
from parkimpact.errors import PanelStructureError
from parkimpact.scorecard import firm_spells, kaplan_meier
from parkimpact.scorecard._survival_compare import comparison_weights, km_at, stacked_spells

# (entry, time, status): delayed entries at 1, 2 and 3
ENTRY = np.array([0.0, 0.0, 2.0, 1.0, 3.0])
TIME = np.array([3.0, 5.0, 4.0, 2.0, 6.0])
STATUS = np.array([1.0, 0.0, 1.0, 1.0, 0.0])


def test_product_limit_with_left_truncation_by_hand() -> None:
    curve = kaplan_meier(TIME, STATUS, entry=ENTRY)
    # at risk (entry < t <= time): t=2 -> spells 1, 2, 4; t=3 -> 1, 2, 3; t=4 -> 2, 3, 5
    s2 = 1 - 1 / 3
    s3 = s2 * (1 - 1 / 3)
    s4 = s3 * (1 - 1 / 3)
    surv, se = curve.at([0, 1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_allclose(surv[:7], [1, 1, s2, s3, s4, s4, s4], rtol=1e-12)
    assert np.isnan(surv[7])  # beyond the longest follow-up
    # Greenwood: var = S^2 sum d / (n (n - d))
    np.testing.assert_allclose(se[4], s4 * np.sqrt(3 * 1 / (3 * 2)), rtol=1e-12)
    np.testing.assert_array_equal(curve.at_risk([0, 1, 2, 3, 4, 5, 6]), [2, 2, 3, 3, 3, 2, 1])
    frame = curve.frame(np.arange(5))
    assert list(frame.columns) == ["time", "survival", "conf_low", "conf_high", "at_risk"]
    inside = frame["survival"].between(frame["conf_low"], frame["conf_high"])
    assert inside.all()


def test_ignoring_truncation_gives_another_answer() -> None:
    naive = kaplan_meier(TIME, STATUS)
    assert naive.at(4)[0][0] != pytest.approx(kaplan_meier(TIME, STATUS, entry=ENTRY).at(4)[0][0])


def test_weighted_curve_matches_the_integer_time_product_limit() -> None:
    rng = np.random.default_rng(3)
    entry = rng.integers(0, 3, 200).astype(float)
    time = entry + rng.integers(1, 8, 200)
    status = (rng.random(200) < 0.4).astype(float)
    weights = rng.exponential(size=200)
    curve = kaplan_meier(time, status, entry=entry, weights=weights)
    for h in (1, 3, 5):
        assert curve.at(h)[0][0] == pytest.approx(km_at(h, entry, time, status, weights), 1e-12)


def test_entry_after_exit_is_an_error() -> None:
    with pytest.raises(PanelStructureError, match=r"got entry after exit for 1 spell\(s\)"):
        kaplan_meier([3.0, 2.0], [1, 0], entry=[0.0, 4.0])
    with pytest.raises(PanelStructureError, match="closure at the entry time for 1 spell"):
        kaplan_meier([3.0, 2.0], [1, 1], entry=[0.0, 2.0])
    curve = kaplan_meier([3.0, 2.0], [1, 0], entry=[0.0, 2.0])
    assert curve.n_uninformative == 1
    with pytest.raises(ValueError, match="status must be 0"):
        kaplan_meier([3.0], [2])
    with pytest.raises(ValueError, match="1-d arrays of one length"):
        kaplan_meier([3.0, 1.0], [1])


def _panel(
    rows: list[tuple[int, int, float, str | None]], closure: dict | None = None
) -> FirmPanel:
    frame = pd.DataFrame(rows, columns=["firm", "year", "entry", "park"])
    if closure is not None:
        frame["closed_in"] = frame["firm"].map(closure)
    return FirmPanel(frame, unit="firm", time="year", entry="entry", park="park")


def _years(
    firm: int, first: int, last: int, entry: float = np.nan, park: str | None = None
) -> list[tuple[int, int, float, str | None]]:
    return [(firm, y, entry, park) for y in range(first, last + 1)]


def test_firm_spells_closure_and_censoring() -> None:
    panel = _panel(_years(1, 2000, 2005, 2002, "A") + _years(2, 2000, 2003) + _years(3, 2001, 2005))
    spells = firm_spells(panel)
    assert spells.loc[1, "closed"] == False  # noqa: E712 - alive in the last year
    assert spells.loc[2, "closed"] == True  # noqa: E712 - last seen 2003 < 2005
    assert (spells.loc[3, "first"], spells.loc[3, "last"]) == (2001, 2005)


def test_entry_after_closure_is_an_error() -> None:
    panel = _panel(_years(1, 2000, 2002, 2004, "A") + _years(2, 2000, 2005))
    with pytest.raises(PanelStructureError, match=r"entry after exit for 1 firm\(s\) \(e\.g\. 1\)"):
        firm_spells(panel)


def test_closure_column_before_the_last_year_is_an_error() -> None:
    panel = _panel(_years(1, 2000, 2004) + _years(2, 2000, 2005), closure={1: 2003, 2: np.nan})
    with pytest.raises(PanelStructureError, match="closed_in must not be before"):
        firm_spells(panel, closure="closed_in")
    ok = _panel(_years(1, 2000, 2004) + _years(2, 2000, 2005), closure={1: 2004, 2: np.nan})
    assert firm_spells(ok, closure="closed_in")["closed"].tolist() == [True, False]


def test_stacked_spells_truncation_and_censoring_at_entry() -> None:
    rows = (
        _years(1, 2000, 2006, 2002, "A")  # tenant, cohort 2002, censored at 2006
        + _years(2, 2000, 2003, 1998, "A")  # pre-sample tenant: delayed entry at 2, closes
        + _years(3, 2000, 2006)  # never a tenant
        + _years(4, 2000, 2006, 2004, "B")  # later tenant of another park
        + _years(5, 2003, 2006)  # founded after 2002: not a comparison for 2002
    )
    firms = firm_spells(_panel(rows))
    spells = stacked_spells(firms, "A", 2000, 2006).set_index(["stack", "unit"])
    assert spells.loc[(2002, 1), ["entry_time", "time", "status"]].tolist() == [0, 4, 0]
    assert spells.loc[(1998, 2), ["entry_time", "time", "status"]].tolist() == [2, 6, 1]
    # comparison of 2002: firm 3 to the end; firm 4 censored when it enters in 2004
    assert spells.loc[(2002, 3), ["time", "status"]].tolist() == [4, 0]
    assert spells.loc[(2002, 4), ["time", "status"]].tolist() == [2, 0]
    assert (2002, 5) not in spells.index
    # 1998 stack: firms alive in 2000 and not yet in a park, left-truncated at 2
    assert spells.loc[(1998, 3), ["entry_time", "time"]].tolist() == [2, 8]
    assert spells.loc[(1998, 1), "entry_time"] == 2 and not spells.loc[(1998, 1), "treated"]
    weights, note = comparison_weights(spells.reset_index(), pd.DataFrame())
    frame = spells.reset_index().assign(w=weights)
    sums = frame.groupby(["stack", "treated"])["w"].sum().unstack()
    np.testing.assert_allclose(sums[False], sums[True])  # comparison weight = tenant count
    assert note == ""
