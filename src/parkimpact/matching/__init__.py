"""Matching and weighting for park evaluations.

- :class:`PropensityScore` -- unpenalised logit/probit or any scikit-learn classifier.
- :class:`NearestNeighborMatch` -- greedy k:1 matching with MatchIt 4.x semantics,
  sorted search in O(n log n), Abadie-Imbens inference and bias correction.
- :class:`KernelMatch`, :class:`RadiusMatch` -- psmatch2-style kernel and radius matching.
- :class:`IPW`, :class:`AIPW`, :class:`EntropyBalancing` -- weighting estimators.
- :func:`balance_table`, :func:`trim_minmax`, :func:`trim_crump` -- balance and common support.
- :func:`rosenbaum_bounds` -- sensitivity of matched-pair results to hidden bias.
- :class:`PSMDiD`, :func:`firm_ipw_weights` -- matching and weighting on firm panels.
"""

from parkimpact.matching.balance import (
    BalanceResult,
    TrimResult,
    balance_table,
    crump_alpha,
    trim_crump,
    trim_minmax,
)
from parkimpact.matching.kernel import KernelMatch, RadiusMatch
from parkimpact.matching.nearest import NearestNeighborMatch
from parkimpact.matching.panel import PSMDiD, PSMDiDResult, firm_ipw_weights
from parkimpact.matching.plots import love_plot, overlap_plot
from parkimpact.matching.propensity import PropensityResult, PropensityScore
from parkimpact.matching.results import EffectResult, MatchResult
from parkimpact.matching.sensitivity import rosenbaum_bounds
from parkimpact.matching.weighting import AIPW, IPW, EntropyBalancing

__all__ = [
    "PropensityScore",
    "PropensityResult",
    "NearestNeighborMatch",
    "KernelMatch",
    "RadiusMatch",
    "IPW",
    "AIPW",
    "EntropyBalancing",
    "EffectResult",
    "MatchResult",
    "BalanceResult",
    "TrimResult",
    "balance_table",
    "trim_minmax",
    "trim_crump",
    "crump_alpha",
    "rosenbaum_bounds",
    "love_plot",
    "overlap_plot",
    "PSMDiD",
    "PSMDiDResult",
    "firm_ipw_weights",
]
