"""The flagship study (analyses/hsinchu_style.toml) on the committed example data.

The example data are simulated, so the true effects are known
(``data/example/truth``). The fast tests run the committed configuration
without the whole-pipeline bootstrap (about 30 s) and check that the truth
lies inside the conditional 95% intervals of the headline simple ATTs; the
slow test runs it exactly as committed (199 replications, about 2 minutes on 2
cores, twice with ``verify``) and checks the whole-pipeline intervals.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from parkimpact.analysis import load_config, run_analysis, verify_outputs
from parkimpact.analysis.runner import RunResult
from parkimpact.datasets import simulate_parks

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "analyses" / "hsinchu_style.toml"
HEADLINE = ["tfp", "log_rd", "phd", "patents"]
STUDY_FILES = {
    "study/estimates.csv",
    "study/tidy.csv",
    "study/summary.txt",
    "study/drop_summary.csv",
    *(
        f"tables/{name}.{ext}"
        for name in (
            "headline",
            "event_study",
            "heterogeneity",
            "contrasts",
            "tfp_production",
            "rd_elasticity",
        )
        for ext in ("csv", "tex", "md")
    ),
    "figures/event_studies.png",
    *(f"figures/event_study_{o}.png" for o in (*HEADLINE, "patents_cw")),
}


def _text(bootstrap: int | None) -> str:
    text = CONFIG.read_text(encoding="utf-8")
    if bootstrap is None:
        return text
    changed, count = re.subn(r"(?m)^bootstrap = \d+", f"bootstrap = {bootstrap}", text)
    assert count == 1, "the flagship configuration must set [study] bootstrap once"
    return changed


def _run(text: str, out: Path, root: Path = ROOT) -> RunResult:
    return run_analysis(load_config(text=text, root=root), output_dir=out, quiet=True)


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return _run(_text(0), tmp_path_factory.mktemp("flagship") / "out")


def _headline(run: RunResult) -> pd.DataFrame:
    return pd.read_csv(run.output_dir / "tables" / "headline.csv").set_index(
        ["outcome", "estimand"]
    )


def test_flagship_writes_study_outputs(fast: RunResult) -> None:
    written = {p.relative_to(fast.output_dir).as_posix() for p in fast.outputs}
    assert STUDY_FILES <= written
    assert "data/row_accounting.csv" in written  # the panel outputs stay
    assert "study/bootstrap_draws.csv" not in written  # no bootstrap in this run
    summary = (fast.output_dir / "study" / "summary.txt").read_text()
    assert "SE conditional" in summary


def test_truth_inside_conditional_intervals(fast: RunResult) -> None:
    head = _headline(fast)
    for outcome in HEADLINE:
        row = head.loc[(outcome, "simple")]
        assert row["ci_se_type"] == "conditional"
        assert row["conf_low"] <= row["truth"] <= row["conf_high"], outcome
    # the truth is read from data/example/truth; TFP effects in value-added units
    aggregates = pd.read_csv(ROOT / "data" / "example" / "truth" / "aggregates.csv")
    simple = aggregates.loc[aggregates["kind"] == "simple"].set_index("outcome")["att"]
    assert head.loc[("log_rd", "simple"), "truth"] == pytest.approx(simple["log_rd"])
    assert head.loc[("tfp", "simple"), "truth"] == pytest.approx(simple["tfp"] / (1 - 0.6))


def test_tables_show_truth_and_both_se_kinds(fast: RunResult) -> None:
    tables = fast.output_dir / "tables"
    headline = (tables / "headline.md").read_text()
    assert "| truth |" in headline and "SE whole-pipeline" in headline
    events = pd.read_csv(tables / "event_study.csv")
    post = events.loc[events["event_time"] >= 0]
    assert post["truth"].notna().all() and (events["event_time"].min(), post.event_time.max()) == (
        -5,
        10,
    )
    contrasts = pd.read_csv(tables / "contrasts.csv")
    assert set(contrasts["design"]) == {
        "naive",
        "twfe",
        "psm_did",
        "cs_dr",
        "cs_dr_more_covariates",
    }
    assert contrasts["truth"].notna().all()
    groups = pd.read_csv(tables / "heterogeneity.csv")
    assert set(groups["by"]) == {"size_class", "industry"} and groups["truth"].notna().all()
    rd = pd.read_csv(tables / "rd_elasticity.csv")
    assert rd["truth"].tolist() == pytest.approx([0.04, 0.04, 0.06])


def test_manifest_records_the_truth_files(fast: RunResult) -> None:
    manifest = pd.read_json(fast.manifest, typ="series")
    assert {"truth_aggregates", "truth_firm_effects", "mapping"} <= set(manifest["inputs"])


def test_no_truth_columns_without_a_truth_folder(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "analyses").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    simulate_parks(n_firms=300, seed=8).write_sources(root / "data" / "example")
    shutil.rmtree(root / "data" / "example" / "truth")
    text = _text(0).replace("bootstrap = 0", "bootstrap = 0\nevent_window = [-3, 4]", 1)
    text = re.sub(r"(?m)^event_window = \[-5, 10\]\n", "", text)
    run = _run(text, root / "output" / "study", root=root)
    head = _headline(run)
    assert "truth" not in head.columns and "truth_in_ci" not in head.columns
    assert not any(p.name.startswith("truth") for p in run.outputs)
    assert "Truth" not in (run.output_dir / "tables" / "contrasts.md").read_text()


@pytest.mark.slow
def test_committed_flagship_covers_the_truth_and_verifies(tmp_path: Path) -> None:
    run = _run(_text(None), tmp_path / "out")
    head = _headline(run)
    for outcome in HEADLINE:
        row = head.loc[(outcome, "simple")]
        assert row["ci_se_type"] == "whole_pipeline"
        assert row["conf_low"] <= row["truth"] <= row["conf_high"], outcome
    draws = pd.read_csv(run.output_dir / "study" / "bootstrap_draws.csv")
    assert len(draws) == int(re.search(r"(?m)^bootstrap = (\d+)", _text(None)).group(1))
    assert verify_outputs(run.output_dir) == []
