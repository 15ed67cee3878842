"""Production functions and total factor productivity (TFP).

Estimators (keyword-only settings; ``fit(panel)`` returns a new immutable
result):

- :class:`OLS` and :class:`FixedEffects`: benchmarks with firm-clustered SEs;
- :class:`OlleyPakes` and :class:`LevinsohnPetrin`: control-function
  estimators in the R ``prodest`` 1.0.1 form, with exit correction;
- :class:`ACF`: Ackerberg-Caves-Frazer with a multi-start global search of
  the GMM criterion (Cobb-Douglas or translog, value added or gross output);
- :class:`Wooldridge`: the one-step IV and the system GMM of Wooldridge
  (2009), with analytic firm-clustered SEs;
- :class:`GNR`: Gandhi-Navarro-Rivers gross output (share regression and
  integration);
- :class:`KnowledgeCapital` and :class:`RDParkElasticity`: R&D capital in the
  production function and the Yang-Motohashi-Chen test of whether park firms
  turn R&D into output more efficiently.

Results (:class:`ProductionFunctionResult`) carry ``params``, ``std_errors``,
returns to scale, ``tfp`` aligned to panel rows, the first stage, the
criterion and every local minimum found, and ``augment(panel)`` hands TFP to
the impact estimators.
"""

from parkimpact.tfp._optimize import LocalSolution, MultipleOptimaWarning
from parkimpact.tfp._stages import ProxyWarning
from parkimpact.tfp.acf import ACF
from parkimpact.tfp.gnr import GNR
from parkimpact.tfp.ols import OLS, FixedEffects
from parkimpact.tfp.proxy import LevinsohnPetrin, OlleyPakes
from parkimpact.tfp.rd import KnowledgeCapital, RDParkElasticity, RDParkResult
from parkimpact.tfp.results import (
    FirstStageFit,
    GroupedProductionFunctionResult,
    OptimizerDiagnostics,
    ProductionFunctionResult,
)
from parkimpact.tfp.wooldridge import Wooldridge

__all__ = [
    "OLS",
    "FixedEffects",
    "ACF",
    "Wooldridge",
    "GNR",
    "KnowledgeCapital",
    "RDParkElasticity",
    "RDParkResult",
    "OlleyPakes",
    "LevinsohnPetrin",
    "ProductionFunctionResult",
    "GroupedProductionFunctionResult",
    "FirstStageFit",
    "OptimizerDiagnostics",
    "LocalSolution",
    "MultipleOptimaWarning",
    "ProxyWarning",
]
