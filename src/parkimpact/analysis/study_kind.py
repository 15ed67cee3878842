"""The ``study`` analysis kind: from raw park sources to the study outputs.

Without a ``[study]`` section the kind builds the panel, describes it and
draws the entry cohorts. With one it also runs the flagship park-impact study
(:mod:`parkimpact.analysis.flagship_run`): TFP, CS-DR per outcome with
whole-pipeline bootstrap SEs, event studies, heterogeneity, the R&D-elasticity
test and the contrast designs.
"""

from __future__ import annotations

from pathlib import Path

from parkimpact.analysis.config import AnalysisConfig
from parkimpact.analysis.flagship_config import FLAGSHIP_SECTIONS, has_flagship
from parkimpact.analysis.flagship_run import FLAGSHIP_STEPS, run_flagship
from parkimpact.analysis.flagship_truth import find_truth
from parkimpact.analysis.kinds import AnalysisOutcome, register
from parkimpact.analysis.outputs import OutputWriter
from parkimpact.analysis.panel_stage import (
    cohort_figure,
    describe_panel_outputs,
    panel_from_config,
)
from parkimpact.analysis.progress import Progress
from parkimpact.analysis.scorecard_stage import DEFAULT_COVARIATES, write_scorecard
from parkimpact.data import FirmPanel
from parkimpact.data.io import read_table
from parkimpact.scorecard import CostTable, Scorecard

__all__ = ["run_study"]

SECTIONS = {
    "data": {"mapping", "bad_values", "duplicates", "exits", "zeros", "logs"},
    "describe": {"variables"},
    "scorecard": {
        "covariates",
        "costs",
        "deflators",
        "price_index",
        "price_year",
        "currency",
        "min_tenants",
        "survival_bootstrap",
    },
    **FLAGSHIP_SECTIONS,
}


def _cost_table(config: AnalysisConfig) -> CostTable | None:
    """The ``[scorecard]`` cost table, restated in ``price_year`` prices by ``price_index``."""
    section = config.section("scorecard")
    if "costs" not in section:
        return None
    deflators = None
    index = str(section.get("price_index", "index"))
    if "deflators" in section:
        # one index per year (a year x industry table repeats the economy-wide index)
        deflators = read_table(config.resolve(section["deflators"]))
        deflators = deflators[["year", index]].drop_duplicates("year")
    return CostTable(
        read_table(config.resolve(section["costs"])),
        deflators=deflators,
        index=index,
        currency=section.get("currency"),
        price_year=section.get("price_year"),
    )


def _run_scorecard(
    config: AnalysisConfig, panel: FirmPanel, out: OutputWriter
) -> dict[str, Path]:
    """KPIs beside their counterfactuals (``[scorecard]``); returns the input files read."""
    section = config.section("scorecard")
    scorecard = Scorecard(
        covariates=tuple(section.get("covariates", DEFAULT_COVARIATES)),
        min_tenants=int(section.get("min_tenants", 20)),
        n_bootstrap=int(section.get("survival_bootstrap", 199)),
        seed=config.seed,
    )
    truth = find_truth(config.resolve(config.section("data")["mapping"]))
    write_scorecard(panel, out, truth=truth, scorecard=scorecard, costs=_cost_table(config))
    return {
        f"scorecard_{key}": config.resolve(section[key])
        for key in ("costs", "deflators")
        if key in section
    }


@register("study", steps=4 + FLAGSHIP_STEPS, sections=SECTIONS, report=True)
def run_study(config: AnalysisConfig, out: OutputWriter, progress: Progress) -> AnalysisOutcome:
    """Build the panel, describe it, draw the entry cohorts and run the study if configured."""
    progress.step("building the panel from the raw sources")
    panel, inputs = panel_from_config(config)
    progress.step("describing the panel and writing tables")
    describe_panel_outputs(panel, config, out)
    progress.step("drawing figures")
    cohort_figure(panel, out)
    summary = panel.describe()
    scorecard_panel = panel
    if has_flagship(config):
        result, truth_files = run_flagship(config, panel, out, progress)
        inputs = {**inputs, **truth_files}
        summary = f"{summary}\n\n{result.summary()}"
        # the study's production function gives every firm-year its TFP for the TFP KPIs
        scorecard_panel = result.tfp.augment(panel, column="tfp")
    if "scorecard" in config.settings:
        progress.step("the park scorecard: KPIs beside their counterfactuals, survival")
        inputs = {**inputs, **_run_scorecard(config, scorecard_panel, out)}
    return AnalysisOutcome(summary=summary, inputs=inputs, panel=panel)
