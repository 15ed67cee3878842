"""`parkimpact run` with a ``[scorecard]`` section: files, truth check, report and manifest."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from parkimpact.analysis import run_analysis
from parkimpact.datasets import simulate_parks

CONFIG = """
[analysis]
name = "cards"
seed = 11
output = "output/cards"

[data]
mapping = "data/example/mapping.toml"
exits = "keep_treated"
zeros = "drop"

[scorecard]
covariates = ["industry"]
costs = "data/example/costs.csv"
deflators = "data/example/deflators.csv"
price_index = "consumer_price"
price_year = 2016
min_tenants = 15
survival_bootstrap = 19
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("cards")
    (root / "pyproject.toml").write_text("[project]\nname = 'cards'\n")
    (root / "analyses").mkdir()
    (root / "analyses" / "cards.toml").write_text(CONFIG)
    simulate_parks(n_firms=400, seed=8).write_sources(root / "data" / "example")
    return run_analysis(root / "analyses" / "cards.toml", quiet=True)


def test_scorecard_files_are_in_the_manifest(run) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads(run.manifest.read_text())
    for name in (
        "scorecard/kpis.csv",
        "scorecard/definitions.csv",
        "scorecard/survival_curves.csv",
        "scorecard/survival_model.csv",
        "scorecard/truth_check.csv",
        "figures/scorecard_survival.png",
        "figures/scorecard_effects.png",
        "report/scorecard.html",
        "report/scorecard.md",
    ):
        assert name in manifest["outputs"], name
    assert {"scorecard_costs", "scorecard_deflators"} <= set(manifest["inputs"])


def test_cost_kpis_state_their_price_year(run) -> None:  # type: ignore[no-untyped-def]
    kpis = pd.read_csv(run.output_dir / "scorecard" / "kpis.csv")
    cost = kpis[kpis["kpi"].str.startswith("cost_per")]
    assert len(cost) > 0
    assert cost["note"].fillna("").str.contains("2016").any()


def test_report_shows_the_scorecard(run) -> None:  # type: ignore[no-untyped-def]
    html = (run.output_dir / "report" / "scorecard.html").read_text()
    kpis = pd.read_csv(run.output_dir / "scorecard" / "kpis.csv")
    assert "data:image/png;base64," in html
    assert kpis["kpi"].iloc[0] in html or kpis["kpi"].iloc[0].replace("_", " ") in html.lower()
