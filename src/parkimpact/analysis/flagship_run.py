"""The flagship park-impact study, steps 2-7 of the Hsinchu-style analysis.

After the panel and its drop report (step 1, :mod:`parkimpact.analysis.panel_stage`):

2. ACF TFP by industry with park entry in the law of motion (the TFP stage of
   :class:`~parkimpact.ImpactStudy`);
3. Callaway-Sant'Anna DR with never-treated comparison firms and pre-entry
   firm traits on TFP, log(1 + R&D), PhD employment, patents and
   citation-weighted patents (counts also as proportional effects), with
   conditional and whole-pipeline bootstrap SEs;
4. event studies (dynamic aggregation, figures with both bands);
5. heterogeneity by firm size class and industry;
6. the Yang-Motohashi-Chen R&D-elasticity test;
7. contrast columns: naive in-vs-out, TWFE, PSM-DiD (and a covariate-sensitivity
   CS-DR).

Outputs go through the :class:`~parkimpact.analysis.outputs.OutputWriter`;
the truth of a simulated project is read from ``truth/`` beside the mapping
file (:mod:`parkimpact.analysis.flagship_truth`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from parkimpact.analysis.config import AnalysisConfig
from parkimpact.analysis.flagship_config import read_settings
from parkimpact.analysis.flagship_contrasts import fit_contrasts, fit_rd_elasticity
from parkimpact.analysis.flagship_data import add_study_columns
from parkimpact.analysis.flagship_figures import write_event_figures
from parkimpact.analysis.flagship_tables import attach_truth, write_study_tables
from parkimpact.analysis.flagship_truth import find_truth, load_truth
from parkimpact.analysis.outputs import OutputWriter
from parkimpact.analysis.progress import Progress
from parkimpact.data import FirmPanel
from parkimpact.errors import ParkImpactWarning
from parkimpact.study import StudyResult

__all__ = ["FLAGSHIP_STEPS", "run_flagship"]

FLAGSHIP_STEPS = 4
"""Progress steps of :func:`run_flagship`."""


def run_flagship(
    config: AnalysisConfig, panel: FirmPanel, out: OutputWriter, progress: Progress
) -> tuple[StudyResult, dict[str, Path]]:
    """Run the flagship study on ``panel``; returns the result and the truth files read."""
    settings = read_settings(config)
    panel, firms = add_study_columns(panel, settings.traits)
    study = settings.build_study(list(panel.data.columns))
    folder = find_truth(config.resolve(config.section("data")["mapping"]))
    truth = load_truth(
        folder, value_added_tfp=settings.value_added_tfp, tfp_column=study.tfp_column
    )
    progress.step(f"fitting the study ({study.bootstrap} whole-pipeline bootstrap replications)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParkImpactWarning)
        result = study.fit(panel)
    progress.step("contrasts (naive, TWFE, PSM-DiD) and the R&D-elasticity test")
    full = panel if result.tfp is None else result.tfp.augment(panel, column=study.tfp_column)
    contrasts = fit_contrasts(full, study.all_outcomes, settings, trimmed=result.panel)
    rd = fit_rd_elasticity(panel, settings)
    progress.step("writing the study tables")
    frame = attach_truth(result.estimates, truth, panel, firms)
    frame = write_study_tables(out, result, frame, contrasts, rd, truth, settings.value_added_tfp)
    progress.step("drawing the event-study figures")
    write_event_figures(out, frame)
    return result, {} if truth is None else dict(truth.files)
