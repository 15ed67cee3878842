"""The scorecard stage of an analysis: KPIs, survival and their truth check, written to files.

Files (inside the output folder, through :class:`~parkimpact.analysis.outputs.OutputWriter`):

=====================================  ==================================================
``scorecard/kpis.csv``                 :meth:`ScorecardResult.kpis` (every park, level)
``scorecard/definitions.csv``          ``kpi, version, formula, unit, source``
``scorecard/survival_curves.csv``      Kaplan-Meier curves, tenants and comparison
``scorecard/survival_model.csv``       park effects on the closure hazard (tidy)
``scorecard/truth_check.csv``          causal KPIs beside the truth (simulated data only)
``figures/scorecard_survival.png``     survival curves, one panel per park
``figures/scorecard_effects.png``      forest plot of the park-level effects
=====================================  ==================================================

The same panel, settings and seed give byte-identical files.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from parkimpact.analysis.outputs import OutputWriter
from parkimpact.data.panel import FirmPanel
from parkimpact.errors import ParkImpactWarning
from parkimpact.scorecard import CostTable, Scorecard, ScorecardResult, truth_check

__all__ = ["write_scorecard", "DEFAULT_COVARIATES", "SCORECARD_FILES"]

DEFAULT_COVARIATES: tuple[str, ...] = ("industry", "size_class", "rd_intensive", "young")
"""Firm traits (first observed year) the causal comparisons condition on by default."""

SCORECARD_FILES: tuple[str, ...] = (
    "scorecard/kpis.csv",
    "scorecard/definitions.csv",
    "scorecard/survival_curves.csv",
    "scorecard/survival_model.csv",
    "figures/scorecard_survival.png",
    "figures/scorecard_effects.png",
)
"""Files every run writes (``scorecard/truth_check.csv`` too when a truth is given)."""

_TRAIT_INPUTS = (
    "employment",
    "rd",
    "output",
    "age",
    "founder_female",
    "founded",
    "founder_birth_year",
)


def _with_traits(panel: FirmPanel, wanted: Sequence[str]) -> tuple[FirmPanel, tuple[str, ...]]:
    """The panel with the flagship's first-year traits added when they are missing."""
    from parkimpact.analysis.flagship_data import TraitSettings, add_study_columns

    columns = set(panel.data.columns)
    if not set(wanted) <= columns and set(_TRAIT_INPUTS) <= columns:
        panel, _ = add_study_columns(panel, TraitSettings())
        columns = set(panel.data.columns)
    return panel, tuple(c for c in wanted if c in columns)


def _survival_figure(result: ScorecardResult, out: OutputWriter) -> None:
    import matplotlib.pyplot as plt

    parks = list(dict.fromkeys(result.survival_curves()["park"])) or ["all"]
    n = len(parks)
    cols = min(n, 2)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 3.8 * rows), squeeze=False)
    for ax, park in zip(axes.ravel(), parks, strict=False):
        result.plot_survival(park=park, ax=ax)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    out.figure("figures/scorecard_survival.png", fig)


def _effects_figure(result: ScorecardResult, out: OutputWriter) -> None:
    import matplotlib.pyplot as plt

    kpis = result.tidy()
    n_rows = max(1, kpis.loc[kpis["level"] == "park", "term"].nunique())
    fig, ax = plt.subplots(figsize=(8, 0.6 * n_rows + 2.0))
    result.plot_effects(level="park", ax=ax)
    fig.tight_layout()
    out.figure("figures/scorecard_effects.png", fig)


def write_scorecard(
    panel: FirmPanel,
    writer: OutputWriter,
    *,
    truth: Any = None,
    seed: int = 0,
    covariates: Sequence[str] | None = None,
    costs: CostTable | pd.DataFrame | None = None,
    scorecard: Scorecard | None = None,
) -> ScorecardResult:
    """Fit the park scorecard on ``panel`` and write its tables and figures.

    Parameters
    ----------
    panel : FirmPanel
        The analysis panel (``entry`` role; ``park``, ``industry`` roles used
        when declared).
    writer : OutputWriter
        Writes inside the output folder.
    truth : ScorecardTruth, path, simulation truth or None
        Known effects (simulated data): adds ``scorecard/truth_check.csv``.
    seed : int, default 0
        Seed of the survival bootstrap.
    covariates : sequence of str or None
        Firm traits the causal comparisons condition on; None uses
        :data:`DEFAULT_COVARIATES` (added from the panel as the flagship
        defines them when missing; those that cannot be built are skipped).
    costs : CostTable or pandas.DataFrame or None
        Public cost table of the parks (cost KPIs are "not available" without).
    scorecard : Scorecard or None
        A configured scorecard; when given, ``covariates`` and ``seed`` are
        ignored (its own are used).

    Returns
    -------
    ScorecardResult
    """
    import matplotlib

    matplotlib.use("Agg")
    if scorecard is None:
        panel, found = _with_traits(
            panel, DEFAULT_COVARIATES if covariates is None else tuple(covariates)
        )
        scorecard = Scorecard(covariates=found, seed=int(seed))
    else:
        panel, _ = _with_traits(panel, scorecard.covariates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParkImpactWarning)  # outcomes carry their notes
        result = scorecard.fit(panel, costs=costs)
        checked = None if truth is None else truth_check(result, panel, truth, scorecard)
    writer.csv("scorecard/kpis.csv", result.kpis())
    writer.csv("scorecard/definitions.csv", result.definitions())
    writer.csv("scorecard/survival_curves.csv", result.survival_curves())
    writer.csv("scorecard/survival_model.csv", result.survival_model())
    if checked is not None:
        writer.csv("scorecard/truth_check.csv", checked)
    _survival_figure(result, writer)
    _effects_figure(result, writer)
    return result
