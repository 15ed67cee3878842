"""Love plot and propensity overlap plot (matplotlib imported lazily).

Kept beside the matching estimators because they read their results; both
take an optional ``ax`` and return the axes, as the plots of
:mod:`parkimpact.report` do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from parkimpact.matching.balance import BalanceResult
    from parkimpact.matching.results import EffectResult

__all__ = ["love_plot", "overlap_plot"]


def love_plot(balance: BalanceResult, ax: Axes | None = None, threshold: float = 0.1) -> Axes:
    """Absolute standardised mean differences before and after adjustment.

    Parameters
    ----------
    balance : BalanceResult
        From ``result.balance()``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure when None.
    threshold : float, default 0.1
        Reference line of acceptable imbalance.
    """
    import matplotlib.pyplot as plt

    table = balance.table
    terms = list(table.index)[::-1]
    y = np.arange(len(terms))
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.35 * len(terms) + 1.5))
    ax.scatter(np.abs(table["smd_before"].to_numpy())[::-1], y, marker="o", label="before")
    ax.scatter(np.abs(table["smd_after"].to_numpy())[::-1], y, marker="s", label="after")
    ax.axvline(threshold, color="0.5", linestyle="--", linewidth=1)
    ax.set_yticks(y, terms)
    ax.set_xlabel("absolute standardised mean difference")
    ax.set_title(f"Covariate balance ({balance.estimand})")
    ax.legend(frameon=False)
    return ax


def overlap_plot(result: EffectResult, ax: Axes | None = None, bins: int = 30) -> Axes:
    """Histograms of the propensity score (distance) by treatment group.

    Parameters
    ----------
    result : EffectResult
        A matching or weighting result with scores.
    ax : matplotlib Axes, optional
    bins : int, default 30
    """
    import matplotlib.pyplot as plt

    if result.scores is None:
        raise ValueError(
            "result must carry propensity scores for an overlap plot; got none. Fit with a "
            "propensity score or distance."
        )
    p = result.scores.to_numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    edges = np.linspace(p.min(), p.max(), bins + 1)
    ax.hist(p[result.treated], bins=edges, alpha=0.6, density=True, label="treated")
    ax.hist(p[~result.treated], bins=edges, alpha=0.6, density=True, label="control")
    ax.set_xlabel("propensity score")
    ax.set_ylabel("density")
    ax.set_title("Propensity score overlap")
    ax.legend(frameon=False)
    return ax
