"""Pieces shared by the replication cases: published numbers, comparison frames, data files."""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import pandas as pd

from parkimpact.errors import ParkImpactWarning

__all__ = [
    "COLUMNS",
    "REFERENCE_ENV",
    "Tolerance",
    "Published",
    "CaseResult",
    "compare",
    "reference_data_dir",
    "reference_file",
    "frame_fingerprint",
    "package_version",
    "recording_warnings",
    "quietly",
]

#: Columns of every replication frame, in this order.
COLUMNS = (
    "quantity",
    "published",
    "computed",
    "difference",
    "tolerance",
    "within_tolerance",
    "source",
)

#: Environment variable naming the folder of the shared reference datasets.
REFERENCE_ENV = "PARKIMPACT_REFERENCE_DATA"

T = TypeVar("T")


@dataclass(frozen=True)
class Tolerance:
    """How far a computed value may lie from the published one, and why.

    Attributes
    ----------
    value
        Absolute tolerance, or relative to ``|published|`` when ``relative``;
        None when the case computes it from the data (a sampling-error band).
    reason
        Why this tolerance is the right one (rounding of the printed value,
        optimiser precision, sampling error).
    relative
        Whether ``value`` is relative to the published number.
    """

    value: float | None
    reason: str
    relative: bool = False

    def absolute(self, published: float) -> float | None:
        """The absolute tolerance around ``published`` (None: computed by the case)."""
        if self.value is None:
            return None
        return self.value * abs(published) if self.relative else self.value


@dataclass(frozen=True)
class Published:
    """A published number with its source and tolerance.

    Attributes
    ----------
    quantity
        What the number is (row label of the table).
    value
        The number as published.
    decimals
        Decimals printed in the source (sets the display of the row).
    tolerance
        Allowed distance of the computed value, with its reason.
    source
        Where the number is printed (paper, table and page, or tool, version
        and command).
    """

    quantity: str
    value: float
    decimals: int
    tolerance: Tolerance
    source: str


@dataclass(frozen=True)
class CaseResult:
    """A replication: the comparison frame and what it was computed from.

    Attributes
    ----------
    frame
        One row per published number, columns :data:`COLUMNS`.
    published
        The published numbers in the order of ``frame`` (for display).
    inputs
        Data files read (hashed in the manifest), by name.
    notes
        Data provenance, specification and anything left out, one line each.
    """

    frame: pd.DataFrame
    published: tuple[Published, ...]
    inputs: Mapping[str, Path] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def compare(
    published: Sequence[Published],
    computed: Mapping[str, float],
    *,
    tolerances: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The comparison frame of published and computed numbers.

    Parameters
    ----------
    published
        The published numbers.
    computed
        Computed value of every published quantity, by quantity.
    tolerances
        Absolute tolerances of the quantities whose :class:`Tolerance` has no
        fixed value (computed from the data).

    Raises
    ------
    ValueError
        If a quantity has no computed value or no tolerance.
    """
    tolerances = {} if tolerances is None else dict(tolerances)
    missing = [p.quantity for p in published if p.quantity not in computed]
    if missing:
        raise ValueError(
            f"computed must hold every published quantity; got none for {missing[:3]} "
            f"({len(missing)} in all). Compute them or drop them from the published list."
        )
    rows = []
    for item in published:
        tolerance = item.tolerance.absolute(item.value)
        if tolerance is None:
            if item.quantity not in tolerances:
                raise ValueError(
                    f"tolerances must hold the data-dependent tolerance of {item.quantity!r}; "
                    "got none. Pass it in tolerances."
                )
            tolerance = tolerances[item.quantity]
        value = float(computed[item.quantity])
        difference = value - item.value
        within = math.isfinite(difference) and abs(difference) <= tolerance * (1 + 1e-9) + 1e-15
        rows.append((item.quantity, item.value, value, difference, tolerance, within, item.source))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def reference_data_dir(root: Path) -> Path:
    """Folder of the shared reference datasets of the project at ``root``.

    ``$PARKIMPACT_REFERENCE_DATA`` if set, else ``<root>/../shared/reference-data``:
    the datasets are not part of the project and live beside its checkout.
    """
    env = os.environ.get(REFERENCE_ENV)
    return Path(env) if env else Path(root).parent / "shared" / "reference-data"


def reference_file(root: Path, name: str, sha256: str) -> Path:
    """Path of the shared reference dataset ``name``, checked against its SHA-256.

    Raises
    ------
    FileNotFoundError
        If the folder or the file is absent.
    ValueError
        If the file's SHA-256 differs from the one the published numbers refer to.
    """
    folder = reference_data_dir(root)
    path = folder / name
    how = (
        f"Place the shared reference-data folder beside the project, or set {REFERENCE_ENV} "
        f"to the folder holding {name}."
    )
    if not folder.is_dir():
        raise FileNotFoundError(
            f"reference data folder must exist; got no folder {folder} (looking for {name}). {how}"
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"reference dataset {name} must be in {folder}; got no such file. {how}"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise ValueError(
            f"{name} must have SHA-256 {sha256} (the file the published numbers refer to); got "
            f"{digest} at {path}. Restore the original file."
        )
    return path


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """First 16 hex digits of the SHA-256 of a frame's values (row order included)."""
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashes.tobytes()).hexdigest()[:16]


def package_version(name: str) -> str:
    """Installed version of a distribution, or ``"not installed"``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


@contextmanager
def recording_warnings(notes: list[str]) -> Iterator[None]:
    """Collect parkimpact warnings raised inside the block into ``notes`` (once each)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ParkImpactWarning)
        yield
    for item in caught:
        if not issubclass(item.category, ParkImpactWarning):
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
            continue
        line = f"{item.category.__name__}: {item.message}"
        if line not in notes:
            notes.append(line)


def quietly(fn: Callable[[], T], notes: list[str]) -> T:
    """Call ``fn``, recording its parkimpact warnings in ``notes``."""
    with recording_warnings(notes):
        return fn()
