"""Tests of EventStudy: pyfixest references, the tidy frame, binning, the uniform band, plots."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from parkimpact import FirmPanel
from parkimpact.did import EventStudy, EventStudyResult, TwoWayFE
from parkimpact.errors import DroppedRowsWarning, IdentificationError
from parkimpact.report import TIDY_COLUMNS

SEED = 20240611


def simulate(seed: int = SEED, n_firms: int = 200, n_years: int = 10) -> pd.DataFrame:
    """Staggered entry (2013, 2015, 2017, never), two covariates, 8% of rows missing.

    The same generator as in test_regression.py; it produced the pyfixest numbers below.
    """
    rng = np.random.default_rng(seed)
    years = np.arange(2010, 2010 + n_years)
    cohort = rng.choice([2013.0, 2015.0, 2017.0, np.nan], size=n_firms, p=[0.2, 0.2, 0.2, 0.4])
    frame = pd.DataFrame(
        {"firm_id": np.repeat(np.arange(1, n_firms + 1), n_years), "year": np.tile(years, n_firms)}
    )
    frame["entry_year"] = np.repeat(cohort, n_years)
    alpha = np.repeat(rng.normal(size=n_firms), n_years)
    lam = np.tile(rng.normal(scale=0.5, size=n_years), n_firms)
    frame["x1"] = rng.normal(size=len(frame)) + 0.3 * alpha
    frame["x2"] = rng.gamma(2.0, size=len(frame))
    since = (frame["year"] - frame["entry_year"]).to_numpy()
    treated = (np.nan_to_num(since) >= 0) & ~np.isnan(since)
    effect = np.where(treated, 0.3 + 0.05 * np.nan_to_num(since), 0.0)
    noise = rng.normal(size=len(frame))
    frame["y"] = alpha + lam + 0.5 * frame["x1"] - 0.2 * frame["x2"] + effect + noise
    frame["w"] = np.repeat(rng.uniform(0.5, 2.0, size=n_firms), n_years)
    keep = rng.random(len(frame)) > 0.08
    return frame[keep].reset_index(drop=True)


def event_dummies(frame: pd.DataFrame, first: int, last: int, reference: int) -> pd.DataFrame:
    """Binned event-time dummies built by hand, named ev_m4 ... ev_p3 (as given to pyfixest)."""
    since = frame["year"] - frame["entry_year"]
    columns = {}
    for e in range(first, last + 1):
        if e == reference:
            continue
        name = f"ev_m{-e}" if e < 0 else f"ev_p{e}"
        flag = since <= e if e == first else since >= e if e == last else since == e
        columns[name] = flag.astype(float)
    return frame.assign(**columns)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    data = simulate()
    assert len(data) == 1826
    assert data["y"].sum() == pytest.approx(-679.2684215082154, rel=1e-12)
    return data


@pytest.fixture(scope="module")
def panel(frame: pd.DataFrame) -> FirmPanel:
    return FirmPanel(frame, unit="firm_id", time="year", entry="entry_year")


@pytest.fixture(scope="module")
def result(panel: FirmPanel) -> EventStudyResult:
    return EventStudy("y", window=(-4, 3), covariates=["x1"]).fit(panel)


# ---------------------------------------------------------------------------
# pyfixest reference numbers
# ---------------------------------------------------------------------------
# Source: pyfixest 0.60.0 on simulate() with the dummies of event_dummies(frame, -4, 3, -1):
#   pyfixest.feols("y ~ ev_m4 + ev_m3 + ev_m2 + ev_p0 + ev_p1 + ev_p2 + ev_p3 + x1"
#                  " | firm_id + year", data=frame, vcov=VCOV)
# (ev_m4 = 1[t - entry <= -4], ev_p3 = 1[t - entry >= 3]). Order: the seven event times
# -4, -3, -2, 0, 1, 2, 3, then x1. pyfixest reports K = 18 for CRV1 (8 slopes + 10 years).
# Tolerances: coefficients 1e-8 relative, standard errors 1e-6 relative.
ES_PARAMS = [
    0.05116507643559091,
    -0.14307430051341946,
    -0.08725009855715106,
    0.32314691709080556,
    0.2083795527970072,
    0.2735958773084918,
    0.5161186919198402,
    0.4719357482662306,
]
ES_SE = {
    "cluster": [  # vcov={"CRV1": "firm_id"}
        0.15234509433073032,
        0.14640306886925306,
        0.15803594731536597,
        0.16630535632848165,
        0.15060180872754295,
        0.1626501066947798,
        0.1530532574940834,
        0.024591562890033815,
    ],
    "iid": [  # vcov="iid"
        0.14888179682336042,
        0.14652977144589618,
        0.16338028226144163,
        0.16126033598618747,
        0.1454956536827218,
        0.161641394147669,
        0.15112789606946067,
        0.025502498941919156,
    ],
}
ES_TERMS = [
    "event_time[<=-4]",
    "event_time[-3]",
    "event_time[-2]",
    "event_time[0]",
    "event_time[1]",
    "event_time[2]",
    "event_time[>=3]",
    "x1",
]


@pytest.mark.reference
@pytest.mark.parametrize("vcov", ["cluster", "iid"])
def test_matches_stored_pyfixest_numbers(panel: FirmPanel, vcov: str) -> None:
    fitted = EventStudy("y", window=(-4, 3), covariates=["x1"], vcov=vcov).fit(panel)  # type: ignore[arg-type]
    assert list(fitted.params.index) == ES_TERMS
    np.testing.assert_allclose(fitted.params, ES_PARAMS, rtol=1e-8)
    np.testing.assert_allclose(fitted.std_errors, ES_SE[vcov], rtol=1e-6)


@pytest.mark.reference
def test_matches_live_pyfixest(frame: pd.DataFrame, result: EventStudyResult) -> None:
    pyfixest = pytest.importorskip("pyfixest", reason="live comparison needs pyfixest")
    data = event_dummies(frame, -4, 3, -1)
    names = [c for c in data.columns if c.startswith("ev_")]
    model = pyfixest.feols(
        f"y ~ {' + '.join(names)} + x1 | firm_id + year", data=data, vcov={"CRV1": "firm_id"}
    )
    np.testing.assert_allclose(result.params, model.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(result.std_errors, model.se().to_numpy(), rtol=1e-6)


def test_event_study_equals_twfe_on_hand_made_dummies(
    frame: pd.DataFrame, result: EventStudyResult
) -> None:
    data = event_dummies(frame, -4, 3, -1)
    names = [c for c in data.columns if c.startswith("ev_")]
    twfe = TwoWayFE("y", treatment=names, covariates=["x1"]).fit(
        FirmPanel(data, unit="firm_id", time="year")
    )
    np.testing.assert_allclose(result.params.to_numpy(), twfe.params.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(result.vcov.to_numpy(), twfe.vcov.to_numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------
# the tidy frame and the uniform band
# ---------------------------------------------------------------------------
def test_tidy_has_event_time_and_the_reference_row(result: EventStudyResult) -> None:
    tidy = result.tidy()
    assert list(tidy.columns) == ["term", "event_time", "reference", *TIDY_COLUMNS[1:]]
    events = tidy[tidy["event_time"].notna()]
    assert events["event_time"].tolist() == [-4, -3, -2, -1, 0, 1, 2, 3]
    reference = tidy[tidy["reference"]]
    assert len(reference) == 1
    row = reference.iloc[0]
    assert row["term"] == "event_time[-1]" and row["event_time"] == -1
    assert row["estimate"] == 0.0 and np.isnan(row["std_error"]) and np.isnan(row["p_value"])
    assert tidy.iloc[-1]["term"] == "x1" and np.isnan(tidy.iloc[-1]["event_time"])
    assert result.conf_int().shape == (9, 2)
    assert "reference period" in result.summary()


def test_uniform_band_is_seeded_and_wider_than_pointwise(panel, result) -> None:
    again = EventStudy("y", window=(-4, 3), covariates=["x1"]).fit(panel)
    assert again.uniform_critical_value == result.uniform_critical_value
    other_seed = EventStudy("y", window=(-4, 3), covariates=["x1"], seed=7).fit(panel)
    assert other_seed.uniform_critical_value != result.uniform_critical_value
    assert other_seed.uniform_critical_value == pytest.approx(
        result.uniform_critical_value, rel=0.03
    )
    from scipy import stats

    pointwise = stats.norm.isf(0.025)
    bonferroni = stats.norm.isf(0.025 / 7)
    assert pointwise < result.uniform_critical_value < bonferroni
    band = result.uniform_band()
    assert band["event_time"].tolist() == [-4, -3, -2, 0, 1, 2, 3]
    assert (band["conf_high"] - band["conf_low"] > 0).all()
    assert result.uniform_band(0.9)["critical_value"].iloc[0] < result.uniform_critical_value
    assert len(result.max_t_draws) == 10_000


def test_with_vcov_resimulates_the_band(result: EventStudyResult) -> None:
    iid = result.with_vcov("iid")
    assert isinstance(iid, EventStudyResult)
    np.testing.assert_allclose(iid.std_errors, ES_SE["iid"], rtol=1e-6)
    assert iid.uniform_critical_value != result.uniform_critical_value
    assert result.vcov_type == "cluster"


def test_plot_draws_both_bands(result: EventStudyResult) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    returned = result.plot(ax=ax)
    assert returned is ax
    assert ax.get_xlabel() == "years since park entry"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["pre-entry", "post-entry"]
    plt.close(fig)


# ---------------------------------------------------------------------------
# binning, drops and bad input
# ---------------------------------------------------------------------------
def test_without_binning_rows_outside_the_window_are_dropped(frame, panel) -> None:
    since = frame["year"] - frame["entry_year"]
    outside = int(((since < -2) | (since > 2)).sum())
    with pytest.warns(DroppedRowsWarning, match=r"outside window \[-2, 2\]"):
        fitted = EventStudy("y", window=(-2, 2), bin_endpoints=False).fit(panel)
    counts = fitted.drops.counts().set_index("reason")["rows"]
    assert counts["event time outside window [-2, 2] (bin_endpoints=False)"] == outside
    assert fitted.nobs == len(frame) - outside
    assert list(fitted.params.index) == [f"event_time[{e}]" for e in (-2, 0, 1, 2)]


def test_no_entry_role(frame: pd.DataFrame) -> None:
    panel = FirmPanel(frame, unit="firm_id", time="year")
    with pytest.raises(ValueError, match=r"panel role 'entry' must be declared for an event"):
        EventStudy("y").fit(panel)


def test_window_must_contain_the_reference() -> None:
    with pytest.raises(ValueError, match=r"window must contain the reference period -1"):
        EventStudy("y", window=(0, 4))
    with pytest.raises(ValueError, match=r"window must have first < last"):
        EventStudy("y", window=(3, -3))
    with pytest.raises(TypeError, match=r"window must be a pair of integers"):
        EventStudy("y", window=(-2.5, 3))  # type: ignore[arg-type]


def test_unobserved_event_time_in_the_window(panel: FirmPanel) -> None:
    since = panel.event_time()
    assert since.max() == 6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        with pytest.raises(IdentificationError, match=r"event time\(s\) \[7, 8, 9\] \(observed"):
            EventStudy("y", window=(-3, 9), bin_endpoints=False).fit(panel)


def test_all_event_times_without_never_treated_firms_are_collinear(frame) -> None:
    # every event time -7..6 has a dummy except -1: relative time is then a linear
    # combination of calendar time and the entry year (firm effects)
    treated = frame[frame["entry_year"].notna()]
    panel = FirmPanel(treated, unit="firm_id", time="year", entry="entry_year")
    with pytest.raises(IdentificationError, match=r"must be linearly independent .* collinear"):
        EventStudy("y", window=(-7, 6), bin_endpoints=False).fit(panel)
    # binned endpoints restore identification
    assert EventStudy("y", window=(-3, 2)).fit(panel).nobs == len(treated)


# ---------------------------------------------------------------------------
# teaching: TWFE under staggered adoption with dynamic, heterogeneous effects
# ---------------------------------------------------------------------------
def dynamic_panel(seed: int, cohorts: list[float], n_firms: int = 400) -> pd.DataFrame:
    """Effects grow with time since entry, and earlier cohorts have larger effects."""
    rng = np.random.default_rng(seed)
    years = np.arange(2000, 2012)
    entry = rng.choice(np.array(cohorts), size=n_firms)
    data = pd.DataFrame(
        {
            "firm": np.repeat(np.arange(n_firms), len(years)),
            "year": np.tile(years, n_firms),
            "entry": np.repeat(entry, len(years)),
        }
    )
    since = (data["year"] - data["entry"]).to_numpy()
    latest = np.nanmax(entry)
    size = np.where(np.isnan(since), 0.0, 1.0 + 0.25 * (latest - data["entry"].to_numpy()))
    data["effect"] = np.where(since >= 0, size * (0.5 + 0.3 * np.nan_to_num(since)), 0.0)
    firm_effect = np.repeat(rng.normal(size=n_firms), len(years))
    year_effect = np.tile(rng.normal(size=len(years)), n_firms)
    noise = rng.normal(scale=0.5, size=len(data))
    data["y"] = firm_effect + year_effect + data["effect"] + noise
    return data


def test_twfe_is_biased_under_staggered_heterogeneous_effects() -> None:
    data = dynamic_panel(1, [2003.0, 2006.0, 2009.0])
    panel = FirmPanel(data, unit="firm", time="year", entry="entry")
    fitted = TwoWayFE("y").fit(panel)
    truth = data.loc[data["year"] >= data["entry"], "effect"].mean()  # ATT over treated years
    bias = fitted.params["in_park"] - truth
    assert abs(bias) > 5 * fitted.std_errors["in_park"]
    assert fitted.params["in_park"] < truth / 2  # forbidden comparisons pull it far down


def test_event_study_recovers_dynamic_effects_of_a_single_cohort() -> None:
    data = dynamic_panel(2, [2006.0, np.nan])
    panel = FirmPanel(data, unit="firm", time="year", entry="entry")
    fitted = EventStudy("y", window=(-6, 5)).fit(panel)
    truth = data[data["entry"] == 2006].groupby(data["year"] - 2006)["effect"].mean()
    tidy = fitted.tidy()
    tidy = tidy[~tidy["reference"]]
    z = (tidy["estimate"] - tidy["event_time"].map(truth)) / tidy["std_error"]
    assert (np.abs(z) < 3).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a single cohort needs no drop, no warning
        EventStudy("y", window=(-6, 5)).fit(panel)


def test_firms_treated_before_their_first_year_enter(frame: pd.DataFrame) -> None:
    early = frame[frame["firm_id"] <= 5].assign(firm_id=lambda d: d["firm_id"] + 1000)
    early = early.assign(entry_year=2005.0)  # entered five years before the panel starts
    data = pd.concat([frame, early], ignore_index=True)
    panel = FirmPanel(data, unit="firm_id", time="year", entry="entry_year")
    fitted = EventStudy("y", window=(-4, 3), covariates=["x1"]).fit(panel)
    assert fitted.nobs == len(data) and len(fitted.drops) == 0
    # all their years fall in the binned upper endpoint (event time >= 3)
    assert panel.event_time()[data["firm_id"] > 1000].min() == 5
