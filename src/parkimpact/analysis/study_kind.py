"""The ``study`` analysis kind: from raw park sources to the study outputs."""

from __future__ import annotations

from parkimpact.analysis.config import AnalysisConfig
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
}


@register("study", steps=3, sections=SECTIONS)
def run_study(config: AnalysisConfig, out: OutputWriter, progress: Progress) -> AnalysisOutcome:
    """Build the panel, describe it and draw the entry cohorts."""
    progress.step("building the panel from the raw sources")
    panel, inputs = panel_from_config(config)
    progress.step("describing the panel and writing tables")
    describe_panel_outputs(panel, config, out)
    progress.step("drawing figures")
    cohort_figure(panel, out)
    return AnalysisOutcome(summary=panel.describe(), inputs=inputs, panel=panel)
