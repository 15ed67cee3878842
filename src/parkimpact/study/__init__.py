"""The park-impact study: TFP, DiD per outcome, heterogeneity and whole-pipeline inference.

:class:`ImpactStudy` composes the estimators of :mod:`parkimpact.tfp`,
:mod:`parkimpact.did` and :mod:`parkimpact.matching` through one
:class:`~parkimpact.FirmPanel` and returns a :class:`StudyResult` holding
every stage. Each reported number carries a conditional analytic SE and,
with ``bootstrap=B``, a whole-pipeline firm-cluster bootstrap SE that
includes the estimation of TFP and of the propensity scores
(:data:`SE_TYPES`).
"""

from parkimpact.study.estimator import ImpactStudy
from parkimpact.study.result import SE_TYPES, StudyResult

__all__ = ["ImpactStudy", "StudyResult", "SE_TYPES"]
