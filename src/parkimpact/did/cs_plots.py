"""Plots of Callaway-Sant'Anna results: group-time panels and event-study plots.

Both read the results' ``tidy()`` frames only; matplotlib is imported lazily.
Pre-entry effects are drawn in one colour and post-entry effects in another;
pointwise confidence intervals are error bars and, when the result used the
multiplier bootstrap, the uniform (sup-t) band is shaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from parkimpact.did.cs_results import AggregatedATT, GroupTimeATT

__all__ = ["plot_group_time", "plot_aggregate", "PRE_COLOUR", "POST_COLOUR"]

PRE_COLOUR = "#4477AA"
"""Colour of pre-entry effects."""
POST_COLOUR = "#CC6677"
"""Colour of post-entry effects."""


def _axes_for(ax: Axes | np.ndarray | None, n: int) -> np.ndarray:
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes as AxesType

    if ax is None:
        _, axes = plt.subplots(n, 1, figsize=(7, 2.2 * n + 0.6), sharex=True, squeeze=False)
        return axes[:, 0]
    axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
    if axes.size != n or not all(isinstance(a, AxesType) for a in axes):
        raise ValueError(
            f"ax must hold one matplotlib Axes per panel ({n}); got {axes.size}. Pass None "
            "to make a new figure, or e.g. plt.subplots(n, 1)[1]."
        )
    return axes


def _draw(ax: Axes, x: np.ndarray, frame: pd.DataFrame, post: np.ndarray, band: bool) -> None:
    est = frame["estimate"].to_numpy(dtype=float)
    low = frame["conf_low"].to_numpy(dtype=float)
    high = frame["conf_high"].to_numpy(dtype=float)
    for mask, colour, label in (
        (~post, PRE_COLOUR, "pre-entry"),
        (post, POST_COLOUR, "post-entry"),
    ):
        if not mask.any():
            continue
        if band and "uniform_low" in frame:
            ax.fill_between(
                x[mask],
                frame["uniform_low"].to_numpy(dtype=float)[mask],
                frame["uniform_high"].to_numpy(dtype=float)[mask],
                color=colour,
                alpha=0.15,
                step="mid",
                linewidth=0,
            )
        ax.errorbar(
            x[mask],
            est[mask],
            yerr=np.vstack([est[mask] - low[mask], high[mask] - est[mask]]),
            fmt="o",
            color=colour,
            capsize=3,
            label=label,
        )
    ax.axhline(0.0, color="0.4", linewidth=0.8)


def plot_group_time(result: GroupTimeATT, ax: Axes | np.ndarray | None = None) -> np.ndarray:
    """One panel per cohort (and subgroup) with ATT(g, t) by year.

    Parameters
    ----------
    result : GroupTimeATT
        Fitted group-time effects.
    ax : Axes, array of Axes or None
        One Axes per panel; None makes a new figure.

    Returns
    -------
    numpy.ndarray
        The Axes, one per panel.

    Raises
    ------
    ValueError
        If ``ax`` does not hold one Axes per panel.
    """
    frame = result.tidy()
    by = ["subgroup", "cohort"] if "subgroup" in frame else ["cohort"]
    groups = list(frame.groupby(by, sort=False))
    axes = _axes_for(ax, len(groups))
    uniform = "uniform_low" in frame
    for axis, (key, part) in zip(axes, groups, strict=True):
        years = part["year"].to_numpy(dtype=float)
        _draw(axis, years, part, part["post"].to_numpy(dtype=bool), uniform)
        label = ", ".join(f"{k} {v}" for k, v in zip(by, np.atleast_1d(key), strict=True))
        axis.set_title(label, fontsize=10, loc="left")
        axis.set_ylabel("ATT(g,t)")
    axes[0].legend(frameon=False, fontsize=8)
    axes[-1].set_xlabel("year")
    return axes


def plot_aggregate(agg: AggregatedATT, ax: Axes | None = None, uniform: bool = True) -> Axes:
    """Per-key effects of an aggregation; an event-study plot for ``kind="dynamic"``.

    Parameters
    ----------
    agg : AggregatedATT
        Aggregated effects.
    ax : Axes or None
        Axes to draw on; None makes a new figure.
    uniform : bool, default True
        Shade the uniform band (bootstrap results only).

    Returns
    -------
    Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    frame = agg.tidy()
    effects = frame.loc[frame["term"] != "overall"]
    if agg.key is None:
        effects = frame
        x_all = np.zeros(len(frame))
    else:
        x_all = effects[agg.key].to_numpy(dtype=float)
    subgroups = effects["subgroup"].unique() if "subgroup" in effects else [None]
    width = 0.6 / max(len(subgroups), 1)
    for j, label in enumerate(subgroups):
        mask = np.ones(len(effects), bool) if label is None else (effects["subgroup"] == label)
        mask = np.asarray(mask)
        part = effects.loc[mask]
        shift = (j - (len(subgroups) - 1) / 2.0) * width
        post = part[agg.key].to_numpy() >= 0 if agg.kind == "dynamic" else np.ones(len(part), bool)
        _draw(ax, x_all[mask] + shift, part, post, uniform)
    if agg.kind == "dynamic":
        ax.axvline(-0.5, color="0.6", linestyle="--", linewidth=0.8)
    ax.set_xlabel(
        {"dynamic": "years since entry", "group": "cohort", "calendar": "year"}.get(agg.kind, "")
    )
    ax.set_ylabel("ATT")
    ax.set_title(f"Callaway-Sant'Anna {agg.kind} aggregation", fontsize=10, loc="left")
    return ax
