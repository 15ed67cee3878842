"""Plots of panels and results (the only module family that imports matplotlib/seaborn)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from parkimpact.data.panel import FirmPanel

__all__ = ["plot_entry_cohorts"]


def plot_entry_cohorts(panel: FirmPanel, ax: Axes | None = None) -> Axes:
    """Stacked bars of firms entering a park by entry year, one colour per park.

    Parameters
    ----------
    panel
        A panel with ``entry`` (and optionally ``park``) roles.
    ax
        Axes to draw on; a new figure is made when None.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    roles = panel.roles
    if roles.entry is None:
        raise ValueError(
            "plot_entry_cohorts needs the panel's entry role; got none. Build the panel with "
            "entry=..."
        )
    data = panel.data
    firms = data.groupby(roles.unit, sort=False).first()
    firms = firms.loc[firms[roles.entry].notna()]
    park = firms[roles.park] if roles.park else pd.Series("park", index=firms.index)
    counts = pd.crosstab(firms[roles.entry].astype("int64"), park.fillna("unknown"))
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    colours = sns.color_palette("colorblind", n_colors=max(counts.shape[1], 1))
    bottom = np.zeros(len(counts))
    for colour, name in zip(colours, counts.columns, strict=False):
        ax.bar(counts.index, counts[name].to_numpy(), bottom=bottom, color=colour, label=str(name))
        bottom += counts[name].to_numpy()
    first, last = int(panel.years.min()), int(panel.years.max())
    ax.axvspan(
        counts.index.min() - 0.5, first - 0.5, color="0.9", zorder=0, label="before the sample"
    )
    ax.set_xlim(min(counts.index.min(), first) - 0.5, max(counts.index.max(), last) + 0.5)
    ax.set_xlabel("year of first park entry (cohort)")
    ax.set_ylabel("firms")
    ax.set_title("Entry cohorts by year and park")
    ax.legend(frameon=False)
    return ax
