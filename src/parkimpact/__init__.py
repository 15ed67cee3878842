"""parkimpact: econometric evaluation of science, technology and innovation parks."""

from parkimpact._version import __version__
from parkimpact.data import DropReport, FirmPanel, build_panel
from parkimpact.study import ImpactStudy, StudyResult

__all__ = ["__version__", "DropReport", "FirmPanel", "ImpactStudy", "StudyResult", "build_panel"]
