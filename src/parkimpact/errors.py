"""Exceptions and warnings raised by parkimpact.

Bad arguments raise the built-in :class:`ValueError` or :class:`TypeError`.
Failures that belong to the domain (a panel that is not a panel, an effect that
is not identified, an optimiser that did not converge, a data source that cannot
be read as declared) raise a subclass of :class:`ParkImpactError`, and every
one of those that is also a bad value subclasses :class:`ValueError` so that
generic handlers keep working.

Messages follow one form: ``<argument or column> must be <constraint>; got
<what was found, with a count or example>. <how to fix>.``
"""

from __future__ import annotations

__all__ = [
    "ParkImpactError",
    "PanelStructureError",
    "DataFormatError",
    "IdentificationError",
    "ConvergenceError",
    "ParkImpactWarning",
    "DroppedRowsWarning",
    "OverlapWarning",
    "SmallCohortWarning",
    "ConvergenceWarning",
    "PanelNoteWarning",
]


class ParkImpactError(Exception):
    """Base class of every domain error raised by parkimpact."""


class PanelStructureError(ParkImpactError, ValueError):
    """The data do not form the declared panel (duplicates, bad time, bad entry coding)."""


class DataFormatError(ParkImpactError, ValueError):
    """A source cannot be read as declared (file type, missing mapped column, text in numbers)."""


class IdentificationError(ParkImpactError, ValueError):
    """The requested effect is not identified by the data (no controls, no overlap, singular)."""


class ConvergenceError(ParkImpactError, RuntimeError):
    """An optimiser failed to converge."""


class ParkImpactWarning(UserWarning):
    """Base class of every warning issued by parkimpact."""


class DroppedRowsWarning(ParkImpactWarning):
    """Rows were removed; the drop report of the panel or result lists them with reasons."""


class OverlapWarning(ParkImpactWarning):
    """Propensity scores close to 0 or 1, or thin common support."""


class SmallCohortWarning(ParkImpactWarning):
    """An entry cohort has too few firms for reliable group-time estimates."""


class ConvergenceWarning(ParkImpactWarning):
    """An optimiser stopped at its iteration limit or reported a weak convergence."""


class PanelNoteWarning(ParkImpactWarning):
    """Something about the panel the user should know (entry outside the sample years, exits)."""
