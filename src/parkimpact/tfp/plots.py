"""Plots of production-function results: TFP in and out of parks, coefficients across estimators.

matplotlib and seaborn are imported inside the functions, so importing
:mod:`parkimpact.tfp` does not load them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from parkimpact.data.panel import FirmPanel
from parkimpact.tfp.results import GroupedProductionFunctionResult, ProductionFunctionResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_tfp_distribution", "plot_coefficients", "tfp_by_park_status"]

Result = ProductionFunctionResult | GroupedProductionFunctionResult


def tfp_by_park_status(
    result: Result, panel: FirmPanel, *, with_shock: bool = False
) -> pd.DataFrame:
    """Rows of ``panel`` with their TFP and ``status`` ("in park" after entry, else "outside").

    Raises
    ------
    ValueError
        If the panel has no entry role.
    """
    if panel.roles.entry is None:
        raise ValueError(
            "panel must declare the entry role to split TFP by park status; got none. Build it "
            "with FirmPanel(..., entry='entry_year')."
        )
    augmented = result.augment(panel, column="tfp", with_shock=with_shock)
    status = np.where(augmented.in_park().to_numpy() == 1, "in park", "outside")
    frame = pd.DataFrame({"tfp": augmented.data["tfp"].to_numpy(), "status": status})
    return frame.dropna(subset=["tfp"]).reset_index(drop=True)


def plot_tfp_distribution(
    result: Result,
    panel: FirmPanel,
    *,
    kind: Literal["kde", "ecdf"] = "kde",
    with_shock: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Distribution of log TFP of firm-years in a park (after entry) and outside.

    Parameters
    ----------
    result : ProductionFunctionResult or GroupedProductionFunctionResult
        A fitted production function.
    panel : FirmPanel
        The panel (with an entry role) whose rows are split.
    kind : {"kde", "ecdf"}, default "kde"
        Kernel density or empirical distribution function.
    with_shock : bool, default False
        Plot :math:`\\hat\\omega + \\hat\\varepsilon` instead of :math:`\\hat\\omega`.
    ax : matplotlib.axes.Axes or None
        Axes to draw on; a new figure when None.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if kind not in ("kde", "ecdf"):
        raise ValueError(f"kind must be 'kde' or 'ecdf'; got {kind!r}. Pick one of those.")
    frame = tfp_by_park_status(result, panel, with_shock=with_shock)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    order = ["outside", "in park"]
    palette = dict(zip(order, sns.color_palette("colorblind", 2), strict=True))
    plot = sns.kdeplot if kind == "kde" else sns.ecdfplot
    kwargs = {"common_norm": False} if kind == "kde" else {}
    plot(data=frame, x="tfp", hue="status", hue_order=order, palette=palette, ax=ax, **kwargs)
    ax.set_xlabel("log TFP" + (" (with shock)" if with_shock else ""))
    ax.set_ylabel("density" if kind == "kde" else "share of firm-years")
    ax.set_title(f"{result.method}: TFP in and outside science parks")
    return ax


def plot_coefficients(
    results: Mapping[str, Result],
    *,
    terms: Sequence[str] | None = None,
    level: float = 0.95,
    ax: Axes | None = None,
) -> Axes:
    """Elasticities with confidence intervals, one colour per estimator.

    Parameters
    ----------
    results : Mapping[str, result]
        Label -> fitted result (e.g. ``{"OLS": ols, "ACF": acf}``).
    terms : sequence of str or None
        Coefficients to show (default: those of the first result).
    level : float, default 0.95
        Confidence level of the intervals (none drawn without SEs).
    ax : matplotlib.axes.Axes or None
        Axes to draw on; a new figure when None.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if not results:
        raise ValueError("results must hold at least one fitted result; got none.")
    tidy = {label: r.tidy(level=level) for label, r in results.items()}
    shown = list(terms) if terms is not None else list(next(iter(tidy.values()))["term"])
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.6 + 0.5 * len(shown) * max(len(results), 2) / 2))
    colours = sns.color_palette("colorblind", len(results))
    width = 0.8 / len(results)
    for j, ((label, frame), colour) in enumerate(zip(tidy.items(), colours, strict=True)):
        frame = frame.set_index("term").reindex(shown)
        position = np.arange(len(shown)) - 0.4 + width * (j + 0.5)
        error = np.vstack(
            [frame["estimate"] - frame["conf_low"], frame["conf_high"] - frame["estimate"]]
        ).astype(float)
        ax.errorbar(
            frame["estimate"],
            position,
            xerr=np.nan_to_num(error),
            fmt="o",
            color=colour,
            label=label,
            capsize=3,
        )
    ax.set_yticks(np.arange(len(shown)), shown)
    ax.invert_yaxis()
    ax.set_xlabel(f"elasticity ({100 * level:g}% CI)")
    ax.legend(frameon=False)
    ax.set_title("Production-function coefficients by estimator")
    return ax
