"""Diagnostic plots of the staggered-adoption tools (matplotlib is imported lazily).

- :func:`plot_bacon` -- 2x2 estimates against their weights, by comparison type
  (Goodman-Bacon 2021, Figure 6 style);
- :func:`plot_event_time_effects` -- event-time effects with pointwise
  intervals, in the style of :meth:`parkimpact.did.EventStudyResult.plot`;
- :func:`plot_sensitivity` -- robust confidence intervals against M with the
  original interval (Rambachan and Roth 2023, Figures 4-6 style).

Every function takes a result (or tidy frame) and an optional ``ax`` and
returns the axes it drew on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from parkimpact.did._honest_result import HonestDiDResult
    from parkimpact.did.bacon import BaconResult

__all__ = ["plot_bacon", "plot_event_time_effects", "plot_sensitivity"]

_TYPE_STYLES = {
    "Earlier vs Later Treated": ("tab:blue", "o"),
    "Later vs Earlier Treated": ("tab:red", "^"),
    "Treated vs Untreated": ("tab:green", "s"),
    "Later vs Always Treated": ("tab:purple", "D"),
}


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=size)
    return new_ax


def plot_bacon(result: BaconResult, ax: Axes | None = None) -> Axes:
    """Scatter of the 2x2 estimates (y) against their weights (x), by comparison type.

    A dashed horizontal line marks the TWFE coefficient (the weighted mean of
    the points) and a grey line zero.

    Parameters
    ----------
    result : BaconResult
        A fitted decomposition.
    ax : matplotlib.axes.Axes or None
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (7, 4))
    frame = result.comparisons
    for kind, part in frame.groupby("type", sort=False):
        colour, marker = _TYPE_STYLES.get(str(kind), ("tab:grey", "x"))
        ax.scatter(part["weight"], part["estimate"], color=colour, marker=marker, label=str(kind))
    ax.axhline(0.0, color="grey", linewidth=1)
    ax.axhline(
        result.twfe, color="black", linestyle="--", linewidth=1, label=f"TWFE = {result.twfe:.3f}"
    )
    ax.set_xlabel("weight")
    ax.set_ylabel("2x2 DiD estimate")
    ax.set_title(f"Goodman-Bacon decomposition of the TWFE estimate ({result.dependent})")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_event_time_effects(
    frame: pd.DataFrame,
    *,
    reference: int = -1,
    ylabel: str = "effect",
    title: str = "Event study",
    ax: Axes | None = None,
) -> Axes:
    """Event-time effects with pointwise intervals (pre-entry blue, post-entry red).

    Parameters
    ----------
    frame : pandas.DataFrame
        A tidy frame with ``event_time`` and ``reference`` keys (rows with a
        missing event time, e.g. covariates, are skipped).
    reference : int, default -1
        The reference period, drawn as an open marker at zero.
    ylabel, title : str
        Axis label and title.
    ax : matplotlib.axes.Axes or None
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (7, 4))
    frame = frame[frame["event_time"].notna() & ~frame["reference"].astype(bool)]
    post = (frame["event_time"] >= 0).to_numpy()
    for is_post, colour, marker, label in (
        (False, "tab:blue", "o", "pre-entry"),
        (True, "tab:red", "s", "post-entry"),
    ):
        part = frame[post == is_post]
        y = part["estimate"].to_numpy()
        errors = [y - part["conf_low"].to_numpy(), part["conf_high"].to_numpy() - y]
        ax.errorbar(
            part["event_time"], y, yerr=errors, fmt=marker, color=colour, capsize=3, label=label
        )
    ax.plot([reference], [0.0], marker="o", mfc="white", color="black", linestyle="")
    ax.axhline(0.0, color="grey", linestyle="--", linewidth=1)
    ax.axvline(-0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("years since park entry")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(frameon=False)
    return ax


def plot_sensitivity(result: HonestDiDResult, ax: Axes | None = None) -> Axes:
    """Robust confidence intervals against M, with the original interval on the left.

    Parameters
    ----------
    result : HonestDiDResult
        A fitted sensitivity analysis.
    ax : matplotlib.axes.Axes or None
        Axes to draw on; a new figure is made when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (7, 4))
    m = result.m_values
    step = float(np.min(np.diff(m))) if len(m) > 1 else max(float(m[0]), 1.0) / 2.0
    x_original = float(m[0]) - step
    low, high = result.original
    ax.vlines([x_original], [low], [high], color="tab:blue", linewidth=2, label="original")
    ax.plot([x_original], [result.estimate], marker="o", color="tab:blue", linestyle="")
    ax.vlines(
        m,
        result.conf_low,
        result.conf_high,
        color="tab:red",
        linewidth=2,
        label=f"{result.method} ({result.restriction})",
    )
    ax.plot(m, result.conf_low, marker="_", color="tab:red", linestyle="", markersize=10)
    ax.plot(m, result.conf_high, marker="_", color="tab:red", linestyle="", markersize=10)
    ax.axhline(0.0, color="grey", linestyle="--", linewidth=1)
    breakdown = result.breakdown_value
    if not np.isnan(breakdown):
        ax.axvline(
            breakdown,
            color="grey",
            linestyle=":",
            linewidth=1,
            label=f"breakdown {result.m_label} = {breakdown:g}",
        )
    ax.set_xticks([x_original, *m.tolist()], ["original", *[f"{v:g}" for v in m]])
    ax.set_xlabel(result.m_label)
    ax.set_ylabel(f"{100 * result.level:g}% confidence interval")
    ax.set_title("Sensitivity to violations of parallel trends", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    return ax
