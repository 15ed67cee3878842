"""FirmPanel: validation messages, immutability, derived columns and row accounting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parkimpact import FirmPanel
from parkimpact.errors import DroppedRowsWarning, PanelNoteWarning, PanelStructureError


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    # 3 firms x 2000-2002: firm 1 enters 2001, firm 2 never (coded 0), firm 3 enters 2002.
    return pd.DataFrame(
        {
            "firm": [1, 1, 1, 2, 2, 2, 3, 3, 3],
            "year": [2000, 2001, 2002] * 3,
            "entry": [2001] * 3 + [0] * 3 + [2002] * 3,
            "sales": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 8.0, 9.0],
        }
    )


def make(frame: pd.DataFrame, **kw: object) -> FirmPanel:
    return FirmPanel(frame, unit="firm", time="year", entry="entry", never_treated_value=0, **kw)


def test_roles_sizes_and_cohorts(frame: pd.DataFrame) -> None:
    panel = make(frame)
    assert (panel.n_obs, panel.n_units, panel.is_balanced) == (9, 3, True)
    assert panel.years.tolist() == [2000, 2001, 2002]
    cohorts = panel.cohorts()
    assert cohorts["cohort"].tolist()[:2] == [2001.0, 2002.0]
    assert np.isnan(cohorts["cohort"].iloc[2])
    assert cohorts["n_firms"].tolist() == [1, 1, 1]
    assert cohorts[["first_year", "last_year"]].iloc[0].tolist() == [2000, 2002]


def test_derived_columns(frame: pd.DataFrame) -> None:
    panel = make(frame)
    assert panel.in_park().tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 1]
    et = panel.event_time().to_numpy()
    np.testing.assert_array_equal(et[:3], [-1, 0, 1])
    assert np.isnan(et[3:6]).all()
    assert {"in_park", "event_time"} <= set(panel.with_derived().data.columns)
    assert "in_park" not in panel.data.columns  # the original is unchanged


def test_immutable(frame: pd.DataFrame) -> None:
    panel = make(frame)
    with pytest.raises(AttributeError, match="immutable"):
        panel.roles = None  # type: ignore[misc]
    data = panel.data
    data.loc[0, "sales"] = -99.0
    assert panel.data.loc[0, "sales"] == 1.0
    frame_copy = frame.copy()
    make(frame_copy).log(["sales"], zeros="nan")
    pd.testing.assert_frame_equal(frame_copy, frame)


def test_duplicates_named_with_count(frame: pd.DataFrame) -> None:
    dup = pd.concat([frame, frame.iloc[[0, 4]]], ignore_index=True)
    with pytest.raises(
        PanelStructureError, match=r"one row per \(firm, year\); got 4 rows sharing 2"
    ):
        make(dup)


def test_time_must_be_integer(frame: pd.DataFrame) -> None:
    bad = frame.assign(year=frame["year"] + 0.5)
    with pytest.raises(
        PanelStructureError, match="'year' must hold integer years; got 9 non-integer"
    ):
        make(bad)
    text = frame.assign(year=frame["year"].astype(str).str.replace("2001", "2001a"))
    with pytest.raises(PanelStructureError, match="got text in 3 row"):
        make(text)


def test_entry_zero_needs_recode(frame: pd.DataFrame) -> None:
    with pytest.raises(PanelStructureError, match="got 0 for 1 firms. Use never_treated_value=0"):
        FirmPanel(frame, unit="firm", time="year", entry="entry")
    inf = frame.assign(entry=frame["entry"].replace(0, np.inf))
    panel = FirmPanel(inf, unit="firm", time="year", entry="entry", never_treated_value=np.inf)
    assert panel.data["entry"].isna().sum() == 3


def test_entry_varying_within_firm(frame: pd.DataFrame) -> None:
    bad = frame.copy()
    bad.loc[1, "entry"] = 2002
    with pytest.raises(
        PanelStructureError, match="constant within each firm; got varying values for 1"
    ):
        make(bad)


def test_entry_outside_window_is_reported(frame: pd.DataFrame) -> None:
    early = frame.assign(entry=frame["entry"].replace(2002, 1990))
    panel = make(early)
    assert any("in or before the first year" in n for n in panel.notes)
    assert "in or before the first year" in panel.describe()


def test_exit_policies(frame: pd.DataFrame) -> None:
    with_exit = frame.assign(exit=[2001.0] * 3 + [np.nan] * 6)
    with pytest.raises(PanelStructureError, match="park exits inside the sample for 1 firms"):
        make(with_exit, exit="exit")
    with pytest.warns(PanelNoteWarning, match="kept as treated"):
        kept = make(with_exit, exit="exit", exits="keep_treated")
    assert kept.n_obs == 9 and kept.in_park().iloc[2] == 1
    with pytest.warns(DroppedRowsWarning, match="1 row"):
        censored = make(with_exit, exit="exit", exits="censor")
    assert censored.n_obs == 8
    assert censored.drops.counts()["reason"].tolist() == ["year after park exit (exits='censor')"]
    bad = frame.assign(exit=[2000.0] * 3 + [np.nan] * 6)
    with pytest.raises(PanelStructureError, match="entry after exit for 1 firm"):
        make(bad, exit="exit", exits="censor")


def test_log_zero_policies(frame: pd.DataFrame) -> None:
    panel = make(frame)
    with pytest.raises(ValueError, match="sales must be positive before taking logs; got 1 row"):
        panel.log(["sales"])
    with pytest.warns(DroppedRowsWarning):
        dropped = panel.log(["sales"], zeros="drop")
    assert dropped.n_obs == 8
    np.testing.assert_allclose(dropped.data["log_sales"], np.log(dropped.data["sales"]))
    kept = panel.log(["sales"], zeros="nan")
    assert kept.data["log_sales"].isna().sum() == 1 and kept.n_obs == 9


def test_balance_and_accounting(frame: pd.DataFrame) -> None:
    panel = make(frame.drop(index=[4]))
    with pytest.warns(DroppedRowsWarning, match="2 row"):
        balanced = panel.balance()
    assert balanced.n_units == 2 and balanced.is_balanced
    acc = balanced.drops.accounting().set_index("source")
    assert acc.loc["panel", "rows_in"] == 8 and acc.loc["panel", "rows_kept"] == 6
    assert acc["balanced"].all()


def test_bad_arguments(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="'exits' parameter of FirmPanel must be one of"):
        make(frame, exits="drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must have column"):
        FirmPanel(frame, unit="firm", time="yr")
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        FirmPanel(frame.to_numpy(), unit="firm", time="year")  # type: ignore[arg-type]
    with pytest.raises(PanelStructureError, match="weights column 'w' must be non-negative"):
        FirmPanel(frame.assign(w=-1.0), unit="firm", time="year", weights="w")


def test_fingerprint_stable(frame: pd.DataFrame) -> None:
    a, b = make(frame), make(frame.sample(frac=1.0, random_state=3))
    assert a.fingerprint() == b.fingerprint()  # row order does not matter: the panel sorts
    assert a.fingerprint() != make(frame.assign(sales=frame["sales"] + 1)).fingerprint()
