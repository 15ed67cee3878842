"""R&D and the park: the Yang, Motohashi and Chen (2009) regression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parkimpact import FirmPanel
from parkimpact.datasets.parks import simulate_parks
from parkimpact.inference import WaldTest
from parkimpact.report import TIDY_COLUMNS
from parkimpact.tfp import RDParkElasticity, RDParkResult

# Truth of the synthetic panel below: R&D elasticity 0.05 outside parks, +0.02 for
# park firms (before entry), +0.03 after entry; capital 0.3.
TRUTH = {"log_capital": 0.3, "rd": 0.05, "rd_x_park": 0.02, "rd_x_post": 0.03}


@pytest.fixture(scope="module")
def synthetic() -> FirmPanel:
    rng = np.random.default_rng(8)
    firms, years = 1500, 10
    unit = np.repeat(np.arange(firms), years)
    year = np.tile(np.arange(2000, 2000 + years), firms)
    entry = np.where(rng.uniform(size=firms) < 0.3, rng.integers(2002, 2009, firms), np.nan)
    park = np.repeat(~np.isnan(entry), years).astype(float)
    post = (year >= np.repeat(entry, years)).astype(float)
    stock = np.expm1(rng.normal(3.0, 1.0, firms * years))
    r = np.log1p(stock)
    capital = rng.normal(4.0, 1.0, firms * years)
    effect = np.repeat(rng.normal(0, 0.5, firms), years)
    y = (
        1.0
        + 0.3 * capital
        + 0.05 * r
        + 0.02 * r * park
        + 0.03 * r * post
        + 0.1 * post
        + effect
        + 0.01 * (year - 2000)
        + rng.normal(0, 0.1, firms * years)
    )
    frame = pd.DataFrame(
        {
            "firm": unit,
            "year": year,
            "entry": np.repeat(entry, years),
            "log_output": y,
            "log_capital": capital,
            "rd_capital": stock,
        }
    )
    return FirmPanel(frame, unit="firm", time="year", entry="entry")


def test_recovers_the_r_and_d_elasticities_with_ses(synthetic: FirmPanel) -> None:
    result = RDParkElasticity(output="log_output", inputs="log_capital").fit(synthetic)
    for term, value in TRUTH.items():
        assert abs(result.params[term] - value) <= 3 * result.std_errors[term], term
    assert "park" not in result.params.index  # absorbed by the firm effects
    assert tuple(result.tidy().columns) == TIDY_COLUMNS
    elasticities = result.rd_elasticities().set_index("term")["estimate"]
    assert elasticities["park firms after entry"] == pytest.approx(
        result.params[["rd", "rd_x_park", "rd_x_post"]].sum()
    )
    test = result.test()
    assert isinstance(test, WaldTest) and test.df == 2 and test.p_value < 1e-6
    assert "Yang, Motohashi and Chen" in result.summary()


def test_pooled_version_reports_the_park_level(synthetic: FirmPanel) -> None:
    result = RDParkElasticity(output="log_output", inputs="log_capital", fixed_effects="none").fit(
        synthetic
    )
    assert {"park", "post"} <= set(result.params.index)
    assert isinstance(result, RDParkResult)


@pytest.mark.filterwarnings("ignore::parkimpact.errors.PanelNoteWarning")
def test_runs_on_the_simulated_park_economy() -> None:
    # Smoke test on the Taiwan-like economy. Note: there the naive regression is
    # confounded (R&D-intensity trends differ across firms), so rd_x_post is positive
    # even in the placebo world (effect_scale=0); use it descriptively.
    sim = simulate_parks(n_firms=400, seed=3)
    panel = FirmPanel(
        sim.panel,
        unit="firm_id",
        time="year",
        entry="entry_year",
        exit="exit_year",
        exits="keep_treated",
    )
    inputs = ("log_employment", "log_capital", "log_materials")
    result = RDParkElasticity(output="log_output", inputs=inputs).fit(panel)
    assert np.isfinite(result.std_errors).all()
    assert result.n_firms == panel.n_units
