"""Event-study figures of the flagship: CS-DR dynamic effects with both bands and the truth.

One PNG per outcome (``figures/event_study_<outcome>.png``) and all outcomes
on one page (``figures/event_studies.png``): points are the dynamic
aggregation :math:`\\theta(e)`, error bars the conditional 95% intervals, the
shaded band the whole-pipeline bootstrap 95% interval (when bootstrapped) and,
for simulated data, the line the true :math:`\\theta(e)`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from parkimpact.analysis.flagship_tables import OUTCOME_LABELS
from parkimpact.analysis.outputs import OutputWriter

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["write_event_figures", "draw_event_study"]

_POINT = "#CC6677"
_BAND = "#4477AA"
_TRUTH = "0.15"


def draw_event_study(ax: Axes, rows: pd.DataFrame, outcome: str) -> Axes:
    """Draw one outcome's dynamic effects (rows of the study's estimates) on ``ax``."""
    rows = rows.sort_values("event_time")
    x = rows["event_time"].to_numpy(dtype=float)
    est = rows["estimate"].to_numpy(dtype=float)
    se = rows["std_error_conditional"].to_numpy(dtype=float)
    whole = rows["std_error_whole_pipeline"].to_numpy(dtype=float)
    if np.isfinite(whole).any():
        ax.fill_between(
            x,
            est - 1.96 * whole,
            est + 1.96 * whole,
            color=_BAND,
            alpha=0.2,
            linewidth=0,
            label="95% whole-pipeline",
        )
    ax.errorbar(
        x,
        est,
        yerr=1.96 * se,
        fmt="o",
        color=_POINT,
        capsize=2,
        markersize=4,
        label="estimate, 95% conditional",
    )
    if "truth" in rows and rows["truth"].notna().any():
        ax.plot(
            x,
            rows["truth"].to_numpy(dtype=float),
            color=_TRUTH,
            linewidth=1.2,
            linestyle="--",
            label="truth",
        )
    ax.axhline(0.0, color="0.5", linewidth=0.7)
    ax.axvline(-0.5, color="0.6", linestyle=":", linewidth=0.8)
    ax.set_title(OUTCOME_LABELS.get(outcome, outcome), fontsize=10, loc="left")
    ax.set_xlabel("years since park entry")
    return ax


def write_event_figures(out: OutputWriter, frame: pd.DataFrame) -> None:
    """Write the per-outcome and combined event-study figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dyn = frame.loc[(frame["estimand"] == "dynamic") & frame["by"].isna()]
    outcomes = list(dict.fromkeys(dyn["outcome"]))
    for outcome in outcomes:
        fig, ax = plt.subplots(figsize=(6.5, 3.8))
        draw_event_study(ax, dyn.loc[dyn["outcome"] == outcome], outcome)
        ax.set_ylabel("ATT")
        ax.legend(frameon=False, fontsize=8)
        fig.tight_layout()
        out.figure(f"figures/event_study_{outcome}.png", fig)
    if not outcomes:
        return
    n_cols = 2
    n_rows = math.ceil(len(outcomes) / n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(10, 3.2 * n_rows), squeeze=False)
    for ax, outcome in zip(axes.ravel(), outcomes, strict=False):
        draw_event_study(ax, dyn.loc[dyn["outcome"] == outcome], outcome)
    for ax in axes.ravel()[len(outcomes) :]:
        ax.set_visible(False)
    axes.ravel()[0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    out.figure("figures/event_studies.png", fig)
