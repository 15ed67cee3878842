"""Difference-in-differences and panel regressions around park entry.

- :class:`TwoWayFE` -- static two-way fixed effects regression.
- :class:`EventStudy` -- leads and lags of entry with a uniform (sup-t) band.
- :class:`FirstDifference` -- first-difference regression over consecutive years.
"""

from parkimpact.did.event_study import EventStudy
from parkimpact.did.regression import FirstDifference, TwoWayFE
from parkimpact.did.regression_results import (
    EventStudyResult,
    FirstDifferenceResult,
    RegressionResult,
    TwoWayFEResult,
)

__all__ = [
    "EventStudy",
    "EventStudyResult",
    "FirstDifference",
    "FirstDifferenceResult",
    "RegressionResult",
    "TwoWayFE",
    "TwoWayFEResult",
]
