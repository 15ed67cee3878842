"""Tests of SunAbraham: hand 2x2 equivalences, aggregation, variance, known truth, bad input."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from parkimpact import FirmPanel
from parkimpact.did.sun_abraham import SunAbraham, SunAbrahamResult
from parkimpact.errors import DroppedRowsWarning, IdentificationError
from parkimpact.report import TIDY_COLUMNS

SEED = 20240924
COHORTS = (2012.0, 2014.0, 2016.0)


def simulate(seed: int = SEED, n_firms: int = 300) -> pd.DataFrame:
    """Balanced 2009-2018 panel, cohorts 2012/2014/2016 and never treated; effects by cohort."""
    rng = np.random.default_rng(seed)
    years = np.arange(2009, 2019)
    cohort = rng.choice([*COHORTS, np.nan], size=n_firms, p=[0.2, 0.2, 0.2, 0.4])
    frame = pd.DataFrame(
        {"firm": np.repeat(np.arange(n_firms), len(years)), "year": np.tile(years, n_firms)}
    )
    frame["entry"] = np.repeat(cohort, len(years))
    since = (frame["year"] - frame["entry"]).to_numpy()
    treated = np.nan_to_num(since, nan=-1.0) >= 0
    size = np.nan_to_num(frame["entry"].to_numpy() - 2010.0)
    frame["truth"] = np.where(treated, 0.2 + 0.1 * np.nan_to_num(since) + 0.05 * size, 0.0)
    alpha = np.repeat(rng.normal(size=n_firms), len(years))
    trend = np.tile(rng.normal(scale=0.3, size=len(years)), n_firms)
    frame["x"] = rng.normal(size=len(frame))
    noise = rng.normal(scale=0.5, size=len(frame))
    frame["y"] = alpha + trend + 0.3 * frame["x"] + frame["truth"] + noise
    frame["y_nox"] = frame["y"] - 0.3 * frame["x"]
    return frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    data = simulate()
    assert len(data) == 3000
    assert data["y"].sum() == pytest.approx(440.9385716589861, rel=1e-12)
    return data


@pytest.fixture(scope="module")
def panel(frame: pd.DataFrame) -> FirmPanel:
    return FirmPanel(frame, unit="firm", time="year", entry="entry")


@pytest.fixture(scope="module")
def result(panel: FirmPanel) -> SunAbrahamResult:
    return SunAbraham("y_nox").fit(panel)


def _cell(frame: pd.DataFrame, cohort: float, year: int) -> float:
    rows = frame["year"] == year
    rows &= frame["entry"].isna() if np.isnan(cohort) else frame["entry"] == cohort
    return float(frame.loc[rows, "y_nox"].mean())


def _hand_2x2(frame: pd.DataFrame, cohort: float, event: int, control: float) -> float:
    base, year = int(cohort) - 1, int(cohort) + event
    treated = _cell(frame, cohort, year) - _cell(frame, cohort, base)
    return treated - (_cell(frame, control, year) - _cell(frame, control, base))


# ---------------------------------------------------------------------------
# equivalences
# ---------------------------------------------------------------------------
def test_catt_equals_hand_2x2_against_never_treated(
    frame: pd.DataFrame, result: SunAbrahamResult
) -> None:
    catt = result.catt
    assert len(catt) == sum(9 for _ in COHORTS)  # 10 years minus the reference
    hand = [
        _hand_2x2(frame, g, e, np.nan) for g, e in zip(catt.cohort, catt.event_time, strict=True)
    ]
    np.testing.assert_allclose(catt["estimate"], hand, rtol=0, atol=1e-10)


def test_catt_equals_hand_2x2_against_last_treated(frame: pd.DataFrame, panel: FirmPanel) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        result = SunAbraham("y_nox", control="last_treated").fit(panel)
    assert result.control == "cohort 2016"
    catt = result.catt
    assert set(catt.cohort) == {2012, 2014}
    assert (catt.cohort + catt.event_time).max() == 2015  # years from 2016 on are dropped
    hand = [
        _hand_2x2(frame, g, e, 2016.0) for g, e in zip(catt.cohort, catt.event_time, strict=True)
    ]
    np.testing.assert_allclose(catt["estimate"], hand, rtol=0, atol=1e-10)
    reasons = set(result.drops.to_frame()["reason"])
    assert any("compares with the last cohort" in r for r in reasons)
    assert any("on or after the control cohort's entry (2016)" in r for r in reasons)


def test_aggregation_weights_are_cohort_shares(
    frame: pd.DataFrame, result: SunAbrahamResult
) -> None:
    catt = result.catt
    sums = catt.groupby("event_time")["weight"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    firms = frame.drop_duplicates("firm")["entry"].value_counts()
    expected = catt["cohort"].map(lambda g: firms[float(g)]) / catt.groupby("event_time")[
        "cohort"
    ].transform(lambda gs: sum(firms[float(g)] for g in gs))
    np.testing.assert_allclose(catt["weight"], expected, atol=1e-12)
    manual = (catt["weight"] * catt["estimate"]).groupby(catt["event_time"]).sum()
    np.testing.assert_allclose(result.att.loc[manual.index], manual, atol=1e-12)


def test_variance_of_fixed_and_estimated_weights(
    panel: FirmPanel, result: SunAbrahamResult
) -> None:
    fixed = SunAbraham("y_nox", weights_variance="fixed").fit(panel)
    catt = fixed.catt
    weights = np.zeros((len(fixed.att), len(catt)))
    rows = np.searchsorted(fixed.att.index.to_numpy(), catt["event_time"].to_numpy())
    weights[rows, np.arange(len(catt))] = catt["weight"]
    expected = weights @ fixed.catt_vcov.to_numpy() @ weights.T
    np.testing.assert_allclose(fixed.vcov.to_numpy(), expected, rtol=1e-12, atol=1e-15)
    extra = result.vcov.to_numpy() - fixed.vcov.to_numpy()
    assert np.linalg.eigvalsh(extra).min() > -1e-14  # the share term is a covariance
    # event times with a single cohort have a known weight of one: nothing to add
    n_cohorts = catt.groupby("event_time")["cohort"].size().to_numpy()
    assert (n_cohorts == 1).any() and (n_cohorts > 1).any()
    assert (np.diag(extra)[n_cohorts > 1] > 0).all()
    np.testing.assert_array_equal(np.diag(extra)[n_cohorts == 1], 0.0)


def test_known_truth_within_three_standard_errors(frame: pd.DataFrame, panel: FirmPanel) -> None:
    result = SunAbraham("y", covariates=["x"]).fit(panel)
    assert result.covariate_params["x"] == pytest.approx(0.3, abs=3 * 0.02)
    post = frame[frame["entry"].notna() & (frame["year"] >= frame["entry"])]
    truth = post.groupby(post["year"] - post["entry"])["truth"].mean()
    z = (result.att.loc[truth.index] - truth.to_numpy()) / result.std_errors.loc[truth.index]
    assert np.abs(z).max() < 3.0
    pre = result.att.loc[result.att.index < -1]
    assert np.abs(pre / result.std_errors.loc[pre.index]).max() < 3.0


def test_window_drops_and_reports(panel: FirmPanel) -> None:
    with pytest.warns(DroppedRowsWarning):
        result = SunAbraham("y_nox", window=(-3, 2)).fit(panel)
    assert result.att.index.tolist() == [-3, -2, 0, 1, 2]
    assert len(result.drops) > 0


def test_invariant_to_firm_order(frame: pd.DataFrame, result: SunAbrahamResult) -> None:
    shuffled = frame.sample(frac=1.0, random_state=5).assign(firm=lambda f: f["firm"] + 10_000)
    other = SunAbraham("y_nox").fit(FirmPanel(shuffled, unit="firm", time="year", entry="entry"))
    np.testing.assert_allclose(other.att, result.att, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(other.vcov, result.vcov, rtol=1e-8, atol=1e-14)


# ---------------------------------------------------------------------------
# results protocol
# ---------------------------------------------------------------------------
def test_tidy_cohort_tidy_summary_plot(result: SunAbrahamResult) -> None:
    tidy = result.tidy()
    assert set(TIDY_COLUMNS) <= set(tidy.columns)
    assert tidy["event_time"].tolist() == list(range(-7, 7))  # 2016 in 2009 .. 2012 in 2018
    reference = tidy[tidy["reference"]]
    assert reference["estimate"].tolist() == [0.0] and reference["std_error"].isna().all()
    cohort = result.cohort_tidy()
    assert {"cohort", "event_time", "weight"} <= set(cohort.columns)
    assert len(cohort) == len(result.catt)
    assert "Sun-Abraham" in result.summary() and "SunAbrahamResult" in repr(result)
    betahat, sigma, times = result.event_study_inputs()
    assert betahat.shape == (13,) and sigma.shape == (13, 13) and -1 not in times
    ax = result.plot()
    assert ax.get_xlabel() == "years since park entry"
    plt.close("all")


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_bad_settings_raise() -> None:
    with pytest.raises(ValueError, match="'control' parameter of SunAbraham must be one of"):
        SunAbraham("y", control="not_yet_treated")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'weights_variance' parameter"):
        SunAbraham("y", weights_variance="bootstrap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reference must be a negative integer"):
        SunAbraham("y", reference=0)
    with pytest.raises(ValueError, match="window must satisfy first < last and contain"):
        SunAbraham("y", window=(0, 3))
    with pytest.raises(TypeError, match="window must be a pair of integers"):
        SunAbraham("y", window=(-2.5, 3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'vcov' parameter of SunAbraham"):
        SunAbraham("y", vcov="robust")  # type: ignore[arg-type]


def test_missing_entry_role_raises(frame: pd.DataFrame) -> None:
    panel = FirmPanel(frame, unit="firm", time="year")
    with pytest.raises(ValueError, match="panel role 'entry' must be declared"):
        SunAbraham("y").fit(panel)


def test_no_never_treated_raises(frame: pd.DataFrame) -> None:
    panel = FirmPanel(frame[frame["entry"].notna()], unit="firm", time="year", entry="entry")
    with pytest.raises(IdentificationError, match="needs firms untreated throughout the sample"):
        SunAbraham("y").fit(panel)


def test_last_treated_needs_two_cohorts(frame: pd.DataFrame) -> None:
    data = frame[frame["entry"].isna() | (frame["entry"] == 2014.0)]
    panel = FirmPanel(data, unit="firm", time="year", entry="entry")
    with pytest.raises(IdentificationError, match="at least two entry cohorts"):
        SunAbraham("y", control="last_treated").fit(panel)


def test_cohort_without_reference_year_is_dropped(frame: pd.DataFrame) -> None:
    data = frame.assign(entry=frame["entry"].replace(2012.0, 2009.0))
    panel = FirmPanel(data, unit="firm", time="year", entry="entry")
    with pytest.warns(DroppedRowsWarning):
        result = SunAbraham("y_nox").fit(panel)
    assert 2009 not in set(result.catt.cohort)
