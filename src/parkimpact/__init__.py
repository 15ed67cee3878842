"""parkimpact: econometric evaluation of science, technology and innovation parks."""

from parkimpact._version import __version__
from parkimpact.data import DropReport, FirmPanel, build_panel

__all__ = ["__version__", "DropReport", "FirmPanel", "build_panel"]
