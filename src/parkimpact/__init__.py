"""parkimpact: econometric evaluation of science, technology and innovation parks."""

from parkimpact._version import __version__
from parkimpact.data import DropReport, FirmPanel, build_panel
from parkimpact.scorecard import Scorecard, ScorecardResult
from parkimpact.study import ImpactStudy, StudyResult

__all__ = [
    "__version__",
    "DropReport",
    "FirmPanel",
    "ImpactStudy",
    "Scorecard",
    "ScorecardResult",
    "StudyResult",
    "build_panel",
]
