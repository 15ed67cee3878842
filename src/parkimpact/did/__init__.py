"""Difference-in-differences and panel regressions around park entry.

- :class:`TwoWayFE` -- static two-way fixed effects regression.
- :class:`EventStudy` -- leads and lags of entry with a uniform (sup-t) band.
- :class:`FirstDifference` -- first-difference regression over consecutive years.
- :class:`CallawaySantAnna` -- staggered group-time ATT with doubly robust 2x2s
  (Callaway & Sant'Anna 2021; Sant'Anna & Zhao 2020), aggregated on influence functions.
- :class:`BaconDecomposition` -- Goodman-Bacon decomposition of the static TWFE.
- :class:`SunAbraham` -- interaction-weighted event study.
- :class:`HonestDiD` -- sensitivity to violations of parallel trends (Rambachan-Roth).
"""

from parkimpact.did._cs_estimate import SeparatedCellsWarning
from parkimpact.did.bacon import BaconDecomposition, BaconResult
from parkimpact.did.callaway import CallawaySantAnna, CellsWithoutControlsWarning
from parkimpact.did.cs_results import AggregatedATT, GroupTimeATT
from parkimpact.did.drdid import drdid
from parkimpact.did.event_study import EventStudy
from parkimpact.did.honest import HonestDiD, HonestDiDResult, honest_ci
from parkimpact.did.regression import FirstDifference, TwoWayFE
from parkimpact.did.regression_results import (
    EventStudyResult,
    FirstDifferenceResult,
    RegressionResult,
    TwoWayFEResult,
)
from parkimpact.did.sun_abraham import SunAbraham, SunAbrahamResult

__all__ = [
    "AggregatedATT",
    "CallawaySantAnna",
    "CellsWithoutControlsWarning",
    "GroupTimeATT",
    "SeparatedCellsWarning",
    "drdid",
    "BaconDecomposition",
    "BaconResult",
    "HonestDiD",
    "HonestDiDResult",
    "honest_ci",
    "SunAbraham",
    "SunAbrahamResult",
    "EventStudy",
    "EventStudyResult",
    "FirstDifference",
    "FirstDifferenceResult",
    "RegressionResult",
    "TwoWayFE",
    "TwoWayFEResult",
]
