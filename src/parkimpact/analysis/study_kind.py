"""The ``study`` analysis kind: from raw park sources to the study outputs.

Without a ``[study]`` section the kind builds the panel, describes it and
draws the entry cohorts. With one it also runs the flagship park-impact study
(:mod:`parkimpact.analysis.flagship_run`): TFP, CS-DR per outcome with
whole-pipeline bootstrap SEs, event studies, heterogeneity, the R&D-elasticity
test and the contrast designs.
"""

from __future__ import annotations

from parkimpact.analysis.config import AnalysisConfig
from parkimpact.analysis.flagship_config import FLAGSHIP_SECTIONS, has_flagship
from parkimpact.analysis.flagship_run import FLAGSHIP_STEPS, run_flagship
from parkimpact.analysis.kinds import AnalysisOutcome, register
from parkimpact.analysis.outputs import OutputWriter
from parkimpact.analysis.panel_stage import (
    cohort_figure,
    describe_panel_outputs,
    panel_from_config,
)
from parkimpact.analysis.progress import Progress

__all__ = ["run_study"]

SECTIONS = {
    "data": {"mapping", "bad_values", "duplicates", "exits", "zeros", "logs"},
    "describe": {"variables"},
    **FLAGSHIP_SECTIONS,
}


@register("study", steps=3 + FLAGSHIP_STEPS, sections=SECTIONS, report=True)
def run_study(config: AnalysisConfig, out: OutputWriter, progress: Progress) -> AnalysisOutcome:
    """Build the panel, describe it, draw the entry cohorts and run the study if configured."""
    progress.step("building the panel from the raw sources")
    panel, inputs = panel_from_config(config)
    progress.step("describing the panel and writing tables")
    describe_panel_outputs(panel, config, out)
    progress.step("drawing figures")
    cohort_figure(panel, out)
    summary = panel.describe()
    if has_flagship(config):
        result, truth_files = run_flagship(config, panel, out, progress)
        inputs = {**inputs, **truth_files}
        summary = f"{summary}\n\n{result.summary()}"
    return AnalysisOutcome(summary=summary, inputs=inputs, panel=panel)
