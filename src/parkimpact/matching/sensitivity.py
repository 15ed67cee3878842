r"""Rosenbaum bounds for matched pairs: the Wilcoxon signed-rank test over a grid of Gamma.

For :math:`n` matched pairs with non-zero outcome differences :math:`d_i`
(treated minus control), let :math:`T^+` be the sum of the ranks of
:math:`|d_i|` (average ranks for ties) over the positive differences. If
within a pair the odds of treatment may differ by at most a factor
:math:`\Gamma \ge 1` because of an unobserved confounder, the null distribution
of :math:`T^+` is bounded by those of sums of independent terms that are
positive with probability :math:`p^+ = \Gamma / (1 + \Gamma)` (upper bound) or
:math:`p^- = 1 / (1 + \Gamma)` (lower bound), with normal approximations

.. math:: \mathrm{E} = p \frac{n(n+1)}{2}, \qquad
          \mathrm{Var} = p(1-p) \frac{n(n+1)(2n+1)}{6}.

The reported one-sided p-values (alternative: positive effect) are
:math:`1 - \Phi((T^+ - \mathrm{E}) / \sqrt{\mathrm{Var}})` under :math:`p^+`
(the largest p-value compatible with :math:`\Gamma`) and :math:`p^-` (the
smallest). A finding is robust to hidden bias :math:`\Gamma` when the upper
p-value stays below the chosen level.

References
----------
Rosenbaum, P. R. (2002), *Observational Studies*, 2nd ed., Springer,
chapter 4. Keele, L. (2010), "An overview of rbounds: An R package for
Rosenbaum bounds sensitivity analysis with matched data".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["rosenbaum_bounds"]


def rosenbaum_bounds(
    differences: Sequence[float] | np.ndarray, gammas: Sequence[float] = (1.0, 1.5, 2.0, 3.0)
) -> pd.DataFrame:
    """Bounds on the one-sided Wilcoxon signed-rank p-value for each ``Gamma``.

    Parameters
    ----------
    differences : array_like
        Outcome differences within matched pairs (treated minus control).
    gammas : sequence of float
        Values :math:`\\Gamma \\ge 1` of the sensitivity parameter.

    Returns
    -------
    pandas.DataFrame
        Columns ``gamma``, ``t_statistic`` (:math:`T^+`), ``p_upper`` and
        ``p_lower``; at :math:`\\Gamma = 1` both equal the usual
        (normal-approximation) signed-rank p-value.

    Raises
    ------
    ValueError
        If a Gamma is below 1 or no difference is non-zero.
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d) & (d != 0)]
    grid = np.asarray(gammas, dtype=float)
    if grid.size == 0 or (grid < 1).any():
        raise ValueError(
            f"gammas must be values of at least 1; got {list(gammas)}. Use e.g. (1, 1.5, 2)."
        )
    if d.size == 0:
        raise ValueError(
            "differences must contain non-zero pair differences; got none. Check the outcome."
        )
    n = d.size
    ranks = stats.rankdata(np.abs(d))
    t_plus = float(ranks[d > 0].sum())
    total, squares = n * (n + 1) / 2.0, n * (n + 1) * (2 * n + 1) / 6.0
    rows = []
    for gamma in grid:
        out = {"gamma": float(gamma), "t_statistic": t_plus}
        for label, p in (("p_upper", gamma / (1 + gamma)), ("p_lower", 1 / (1 + gamma))):
            z = (t_plus - p * total) / np.sqrt(p * (1 - p) * squares)
            out[label] = float(stats.norm.sf(z))
        rows.append(out)
    return pd.DataFrame(rows)
