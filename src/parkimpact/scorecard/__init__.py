"""The park scorecard: KPIs of evaluation units beside their counterfactuals.

- :class:`Scorecard` -- configuration; ``fit(panel, costs=...)`` returns a
  :class:`ScorecardResult` (KPI table, definitions, survival curves, closure
  hazard model, plots).
- :data:`KPIS` / :class:`KPI` -- the registry: each KPI defined once with its
  version, formula, unit, required columns and source.
- :func:`kaplan_meier`, :func:`firm_spells` -- product-limit survival with
  delayed entry (left truncation), right censoring and weights.
- :class:`CostTable` -- public cost by park and year, restated at one price
  year.
- :class:`ScorecardTruth`, :func:`truth_check` -- the causal KPIs against a
  simulation's known effects.
"""

from parkimpact.scorecard.cost import CostTable
from parkimpact.scorecard.estimator import Scorecard, firm_covariates
from parkimpact.scorecard.kpis import COLUMNS, KPI, KPIS, get_kpi, kpi_definitions
from parkimpact.scorecard.result import ScorecardResult
from parkimpact.scorecard.survival import SurvivalCurve, firm_spells, kaplan_meier
from parkimpact.scorecard.truth import ScorecardTruth, truth_check

__all__ = [
    "COLUMNS",
    "CostTable",
    "KPI",
    "KPIS",
    "Scorecard",
    "ScorecardResult",
    "ScorecardTruth",
    "SurvivalCurve",
    "firm_covariates",
    "firm_spells",
    "get_kpi",
    "kaplan_meier",
    "kpi_definitions",
    "truth_check",
]
