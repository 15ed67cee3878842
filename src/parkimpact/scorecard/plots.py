"""Scorecard plots: Kaplan-Meier curves and a forest plot of the KPI effects.

Both take the result and an optional ``ax`` and return the axes (matplotlib
imported lazily), as the plots of :mod:`parkimpact.report` do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from parkimpact.scorecard.result import ScorecardResult

__all__ = ["plot_survival", "plot_effects"]

_COLOURS = {"tenants": "#0072B2", "comparison": "#D55E00"}
_LABELS = {"tenants": "tenants", "comparison": "comparison (weighted, not yet in a park)"}


def plot_survival(
    result: ScorecardResult,
    park: str = "all",
    cohort: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Step curves of survival after entry, tenants against the weighted comparison.

    Parameters
    ----------
    result : ScorecardResult
    park : str, default "all"
        Park label (``"all"``: every park pooled).
    cohort : float or None, default None
        Entry cohort (None: all cohorts of the park).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure when None.
    """
    import matplotlib.pyplot as plt

    curves = result.survival_curves()
    mine = curves.loc[curves["park"] == park]
    mine = mine.loc[mine["cohort"].isna()] if cohort is None else mine.loc[mine["cohort"] == cohort]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    if mine.empty:
        ax.text(
            0.5, 0.5, f"no survival curve for park {park!r}", ha="center", transform=ax.transAxes
        )
        return ax
    for group in ("tenants", "comparison"):
        part = mine.loc[mine["group"] == group].sort_values("time")
        t = part["time"].to_numpy(dtype=float)
        ax.step(t, part["survival"], where="post", color=_COLOURS[group], label=_LABELS[group])
        ax.fill_between(
            t,
            part["conf_low"].to_numpy(dtype=float),
            part["conf_high"].to_numpy(dtype=float),
            step="post",
            color=_COLOURS[group],
            alpha=0.15,
            linewidth=0,
        )
    ax.set_xlabel("years since park entry")
    ax.set_ylabel("share still active")
    title = "all parks" if park == "all" else park
    ax.set_title(f"Survival after entry: {title}" + ("" if cohort is None else f", {cohort:g}"))
    ax.legend(frameon=False, loc="lower left")
    return ax


def plot_effects(result: ScorecardResult, level: str = "park", ax: Axes | None = None) -> Axes:
    """Forest plot of the estimated KPI effects with their confidence intervals.

    Effects of different KPIs have different units, so each is divided by the
    standard deviation of its firm-year measure among never-tenant firm-years
    (survival and cost KPIs, which have none, are left out): the axis reads
    "effect in non-tenant standard deviations". One row per KPI, one marker
    per park.
    """
    import matplotlib.pyplot as plt

    tidy = result.tidy()
    tidy = tidy.loc[(tidy["level"] == level) & tidy["term"].isin(list(result.scales))]
    scale = tidy["term"].map(dict(result.scales)).to_numpy(dtype=float)
    ok = np.isfinite(scale) & (scale > 0)
    tidy, scale = tidy.loc[ok], scale[ok]
    kpis = list(dict.fromkeys(tidy["term"]))
    parks = list(dict.fromkeys(tidy["park"]))
    if ax is None:
        height = 0.45 * max(len(kpis), 1) * max(len(parks), 1) ** 0.5 + 1.5
        _, ax = plt.subplots(figsize=(7, height))
    if tidy.empty:
        ax.text(0.5, 0.5, "no estimated effects", ha="center", transform=ax.transAxes)
        return ax
    offsets = np.linspace(-0.3, 0.3, len(parks)) if len(parks) > 1 else np.zeros(1)
    colours = plt.get_cmap("tab10")
    for j, park in enumerate(parks):
        rows = (tidy["park"] == park).to_numpy()
        y = np.array([len(kpis) - 1 - kpis.index(k) for k in tidy.loc[rows, "term"]]) + offsets[j]
        est = tidy.loc[rows, "estimate"].to_numpy() / scale[rows]
        low = tidy.loc[rows, "conf_low"].to_numpy() / scale[rows]
        high = tidy.loc[rows, "conf_high"].to_numpy() / scale[rows]
        ax.errorbar(
            est,
            y,
            xerr=[est - low, high - est],
            fmt="o",
            color=colours(j % 10),
            capsize=2,
            label=str(park),
        )
    ax.axvline(0.0, color="0.5", linewidth=1, linestyle="--")
    ax.set_yticks(np.arange(len(kpis)), kpis[::-1])
    level = float(result.spec.get("settings", {}).get("level", 0.95))
    ax.set_xlabel(f"effect in non-tenant standard deviations ({100 * level:g}% CI)")
    ax.set_title("Causal effects of park entry on the KPIs")
    ax.legend(frameon=False, fontsize="small", title="park")
    return ax
