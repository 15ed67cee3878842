"""Results of CallawaySantAnna: schema, immutability, subgroups, plots and the simulation truth."""

from __future__ import annotations

import dataclasses
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from parkimpact.data.panel import FirmPanel
from parkimpact.datasets.parks import simulate_parks
from parkimpact.did.callaway import CallawaySantAnna
from parkimpact.did.cs_results import AggregatedATT, GroupTimeATT
from parkimpact.report.tidy import TIDY_COLUMNS

matplotlib.use("Agg")


def make_frame(seed: int = 3, n_firms: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    years = np.arange(2005, 2013)
    entry = rng.choice([np.nan, 2007.0, 2009.0, 2011.0, 2016.0], size=n_firms)
    size = rng.choice(["small", "large"], size=n_firms)
    frame = pd.DataFrame(
        {
            "firm": np.repeat(np.arange(n_firms), years.size),
            "year": np.tile(years, n_firms),
            "entry": np.repeat(entry, years.size),
            "size": np.repeat(size, years.size),
            "x": np.repeat(rng.normal(size=n_firms), years.size),
        }
    )
    effect = np.where(frame["year"] >= frame["entry"].fillna(np.inf), 1.0, 0.0)
    effect *= np.where(frame["size"] == "small", 1.5, 0.5)
    frame["y"] = effect + 0.05 * frame["year"] + rng.normal(size=len(frame))
    return frame


@pytest.fixture(scope="module")
def panel() -> FirmPanel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FirmPanel(make_frame(), unit="firm", time="year", entry="entry")


@pytest.fixture(scope="module")
def result(panel: FirmPanel) -> GroupTimeATT:
    return CallawaySantAnna("y", covariates=["x"]).fit(panel)


def test_tidy_schema(result: GroupTimeATT) -> None:
    tidy = result.tidy()
    assert list(tidy.columns) == [
        "term",
        "cohort",
        "year",
        "event_time",
        *TIDY_COLUMNS[1:],
        "n_treated",
        "n_control",
        "post",
    ]
    assert tidy["term"].iloc[0] == "ATT(2007,2006)"
    assert (tidy["event_time"] == tidy["year"] - tidy["cohort"]).all()
    assert tidy.attrs["level"] == 0.95
    ci = result.conf_int(0.9)
    assert ci.index.names == ["term", "cohort", "year", "event_time"]
    assert (
        ci["conf_high"] - ci["conf_low"]
        < tidy["conf_high"].to_numpy() - tidy["conf_low"].to_numpy()
    ).all()


def test_late_entrants_are_never_treated(result: GroupTimeATT) -> None:
    assert 2016 not in set(result.cells["cohort"])
    assert any("never-treated within the sample" in note for note in result.notes)
    assert result.firms["cohort"].isna().sum() > 0


def test_summary_and_model_info(result: GroupTimeATT) -> None:
    text = result.summary()
    assert "Pre-test (all pre-entry ATT(g,t) = 0)" in text
    assert "n_treated" not in text
    assert "analytic influence function" in text
    assert "<table" in result._repr_html_()
    agg = result.aggregate("dynamic")
    assert "Callaway-Sant'Anna aggregated ATT (dynamic)" in agg.summary()
    first = agg.tidy().iloc[0]
    assert first["term"] == "overall" and np.isnan(first["event_time"])


def test_results_are_immutable_and_fit_does_not_mutate(panel: FirmPanel) -> None:
    estimator = CallawaySantAnna("y", covariates=["x"])
    before = panel.fingerprint()
    first = estimator.fit(panel)
    second = estimator.fit(panel)
    assert first is not second and panel.fingerprint() == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.att = first.att  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        estimator.method = "ipw"  # type: ignore[misc]
    assert first.spec["settings"]["covariates"] == ("x",)
    assert first.spec["estimator"] == "CallawaySantAnna"


def test_subgroups_and_equality_test(panel: FirmPanel) -> None:
    result = CallawaySantAnna("y", by="size").fit(panel)
    assert result.att.index.names == ["subgroup", "cohort", "year"]
    for label in ("large", "small"):
        alone = CallawaySantAnna("y").fit(
            FirmPanel(
                panel.data.loc[panel.data["size"] == label], unit="firm", time="year", entry="entry"
            )
        )
        np.testing.assert_allclose(
            result.att.loc[label].to_numpy(), alone.att.to_numpy(), atol=1e-12
        )
        np.testing.assert_allclose(
            result.std_errors.loc[label].to_numpy(), alone.std_errors.to_numpy(), rtol=1e-10
        )
        simple_alone = alone.aggregate("simple")
        simple = result.aggregate("simple").overall.loc[label]
        assert simple["estimate"] == pytest.approx(simple_alone.estimate, abs=1e-12)
        assert simple["std_error"] == pytest.approx(simple_alone.std_error, rel=1e-10)
    agg = result.aggregate("simple")
    test = agg.equality_test
    assert test is not None and test.df == 1
    gap = agg.overall["estimate"].diff().iloc[-1]
    se = np.sqrt((agg.overall["std_error"] ** 2).sum())
    assert test.statistic == pytest.approx((gap / se) ** 2, rel=1e-8)
    assert test.p_value < 0.05  # effects are 1.5 versus 0.5
    with pytest.raises(ValueError, match="Read them from .overall"):
        _ = agg.estimate


def test_plots(result: GroupTimeATT) -> None:
    import matplotlib.pyplot as plt

    axes = result.plot()
    assert len(axes) == 3
    ax = result.aggregate("dynamic").plot()
    assert ax.get_xlabel() == "years since entry"
    with pytest.raises(ValueError, match="ax must hold one matplotlib Axes per panel"):
        result.plot(ax=plt.subplots()[1])
    plt.close("all")


def test_bootstrap_plot_shows_uniform_band(panel: FirmPanel) -> None:
    import matplotlib.pyplot as plt

    boot = CallawaySantAnna("y", inference="bootstrap", seed=4, n_bootstrap=199).fit(panel)
    agg = boot.aggregate("dynamic")
    assert isinstance(agg, AggregatedATT)
    ax = agg.plot(uniform=True)
    assert len(ax.collections) > 0
    assert "multiplier bootstrap" in boot.se_type and "seed 4" in boot.se_type
    assert {"uniform_low", "uniform_high"} <= set(boot.tidy().columns)
    plt.close("all")


# ----------------------------------------------------------------- simulation truth
def test_simulation_recovers_true_aggregates() -> None:
    """CS-DR with the conditioning covariates lands within 3 SE of the true aggregates."""
    sim = simulate_parks(n_firms=3000, seed=2024)
    covariates = sim.truth.covariates.set_index("firm_id")
    dummies = pd.get_dummies(covariates, drop_first=True, dtype=float)
    frame = sim.panel.merge(dummies, left_on="firm_id", right_index=True, how="left")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = FirmPanel(
            frame,
            unit="firm_id",
            time="year",
            entry="entry_year",
            exit="exit_year",
            exits="keep_treated",
        )
        result = CallawaySantAnna("log_output", covariates=list(dummies.columns)).fit(panel)
    truth = sim.truth.aggregates.query("outcome == 'log_output'")
    for kind in ("simple", "dynamic"):
        agg = result.aggregate(kind)  # type: ignore[arg-type]
        true = truth.query("kind == @kind and key.isna()")["att"].iloc[0]
        assert abs(agg.estimate - true) <= 3 * agg.std_error, (kind, agg.estimate, true)
    dynamic = result.aggregate("dynamic").effects.set_index("event_time")
    true_e = truth.query("kind == 'dynamic'").dropna().set_index("key")["att"]
    z = (dynamic["estimate"] - true_e.reindex(dynamic.index)) / dynamic["std_error"]
    assert (z.abs() < 3.5).mean() > 0.95
    # without the covariates parallel trends fail and the estimate is off
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        naive = CallawaySantAnna("log_output").fit(panel).aggregate("simple")
    true_simple = truth.query("kind == 'simple'")["att"].iloc[0]
    assert abs(naive.estimate - true_simple) > 3 * naive.std_error


def test_shared_nuisance_fits_leave_every_number_unchanged(panel: FirmPanel) -> None:
    from parkimpact.did._cs_estimate import shared_nuisance_fits

    frame = make_frame().assign(y2=lambda f: 2.0 * f["y"] + f["x"], z=lambda f: f["x"] > 0)
    frame["z"] = frame["z"].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = FirmPanel(frame, unit="firm", time="year", entry="entry")
    estimators = [CallawaySantAnna(y, covariates=["x", "z"]) for y in ("y", "y2", "y")]
    alone = [e.fit(data) for e in estimators]
    with shared_nuisance_fits():
        shared = [e.fit(data) for e in estimators]
    for a, b in zip(alone, shared, strict=True):
        np.testing.assert_array_equal(a.att.to_numpy(), b.att.to_numpy())
        np.testing.assert_array_equal(a.influence.values, b.influence.values)


def test_inference_none_gives_the_estimates_only(panel: FirmPanel) -> None:
    full = CallawaySantAnna("y", covariates=["x"], by="size").fit(panel)
    bare = CallawaySantAnna("y", covariates=["x"], by="size", inference="none").fit(panel)
    np.testing.assert_array_equal(bare.att.to_numpy(), full.att.to_numpy())
    assert bare.std_errors.isna().all() and bare.pretest is None
    simple = bare.aggregate("simple")
    expected = full.aggregate("simple").overall
    np.testing.assert_array_equal(simple.overall["estimate"], expected["estimate"])
    assert simple.overall["std_error"].isna().all() and simple.equality_test is None
    assert "point estimates only" in bare.se_type
