"""The scorecard stage: file names, columns and byte-identical outputs for one seed."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from parkimpact.analysis.outputs import OutputWriter
from parkimpact.analysis.scorecard_stage import (
    DEFAULT_COVARIATES,
    SCORECARD_FILES,
    _with_traits,
    write_scorecard,
)
from parkimpact.data import FirmPanel
from parkimpact.datasets.parks import ParkSimulation, simulate_parks
from parkimpact.scorecard import CostTable, Scorecard

COLUMNS = {
    "scorecard/kpis.csv": [
        "kpi",
        "version",
        "park",
        "level",
        "year",
        "cohort",
        "tenants",
        "non_tenants",
        "n_tenants",
        "effect",
        "std_error",
        "conf_low",
        "conf_high",
        "method",
        "status",
        "note",
    ],
    "scorecard/definitions.csv": ["kpi", "version", "formula", "unit", "source"],
    "scorecard/survival_curves.csv": [
        "park",
        "cohort",
        "group",
        "time",
        "survival",
        "conf_low",
        "conf_high",
        "at_risk",
    ],
    "scorecard/truth_check.csv": [
        "kpi",
        "park",
        "level",
        "estimate",
        "std_error",
        "conf_low",
        "conf_high",
        "truth",
        "inside",
    ],
}


@pytest.fixture(scope="module")
def sim() -> ParkSimulation:
    return simulate_parks(n_firms=600, seed=7, hazard_ratio=0.6)


@pytest.fixture(scope="module")
def panel(sim: ParkSimulation) -> FirmPanel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FirmPanel(
            sim.panel,
            unit="firm_id",
            time="year",
            entry="entry_year",
            exit="exit_year",
            park="park",
            industry="industry",
            exits="keep_treated",
        )


def _run(panel: FirmPanel, sim: ParkSimulation, root: Path, truth: object) -> OutputWriter:
    writer = OutputWriter(root)
    deflators = sim.deflators[["year", "consumer_price"]]
    costs = CostTable(sim.costs, deflators=deflators, index="consumer_price", price_year=2016)
    scorecard = Scorecard(
        covariates=DEFAULT_COVARIATES,
        kpis=["employment", "patents", "survival", "sme_share_entrants", "cost_per_job"],
        by_park=False,
        n_bootstrap=29,
        seed=5,
    )
    write_scorecard(panel, writer, truth=truth, costs=costs, scorecard=scorecard)
    return writer


@pytest.fixture(scope="module")
def runs(
    panel: FirmPanel, sim: ParkSimulation, tmp_path_factory: pytest.TempPathFactory
) -> tuple[OutputWriter, OutputWriter]:
    first = _run(panel, sim, tmp_path_factory.mktemp("a"), sim.truth)
    second = _run(panel, sim, tmp_path_factory.mktemp("b"), sim.truth)
    return first, second


def test_files_and_columns(runs: tuple[OutputWriter, OutputWriter]) -> None:
    writer = runs[0]
    written = {p.relative_to(writer.root.resolve()).as_posix() for p in writer.written}
    assert written == {*SCORECARD_FILES, "scorecard/truth_check.csv"}
    for name, columns in COLUMNS.items():
        assert list(pd.read_csv(writer.root / name).columns) == columns, name
    model = pd.read_csv(writer.root / "scorecard/survival_model.csv")
    assert list(model.columns[:2]) == ["term", "park"]
    kpis = pd.read_csv(writer.root / "scorecard/kpis.csv")
    assert set(kpis["status"]) <= {"estimated", "descriptive only", "not available"}
    cost = kpis.loc[kpis["kpi"] == "cost_per_job"].iloc[0]
    assert "2016 prices" in cost["note"] and cost["n_tenants"] > 0


def test_same_seed_gives_identical_bytes(runs: tuple[OutputWriter, OutputWriter]) -> None:
    first, second = runs
    for path in first.written:
        relative = path.relative_to(first.root.resolve())
        assert path.read_bytes() == (second.root / relative).read_bytes(), relative


def test_no_truth_no_truth_file(panel: FirmPanel, sim: ParkSimulation, tmp_path: Path) -> None:
    writer = OutputWriter(tmp_path)
    scorecard = Scorecard(kpis=["sme_share_tenants"], causal=False)
    result = write_scorecard(panel, writer, scorecard=scorecard)
    names = {p.name for p in writer.written}
    assert "truth_check.csv" not in names and "kpis.csv" in names
    assert set(result.kpis()["kpi"]) == {"sme_share_tenants"}


def test_default_traits_are_added_from_the_panel(panel: FirmPanel) -> None:
    assert not {"size_class", "rd_intensive", "young"} & set(panel.data.columns)
    with_traits, found = _with_traits(panel, DEFAULT_COVARIATES)
    assert found == DEFAULT_COVARIATES
    assert {"size_class", "rd_intensive", "young"} <= set(with_traits.data.columns)
    bare = FirmPanel(
        panel.data[["firm_id", "year", "entry_year", "industry"]],
        unit="firm_id",
        time="year",
        entry="entry_year",
    )
    assert _with_traits(bare, DEFAULT_COVARIATES)[1] == ("industry",)
