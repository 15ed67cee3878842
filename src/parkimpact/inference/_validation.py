"""Argument checks shared by the inference modules."""

from __future__ import annotations

from collections.abc import Collection
from numbers import Integral, Real

from scipy import stats

__all__ = ["check_int", "check_level", "check_choice", "check_n_jobs", "normal_critical"]


def check_int(value: object, name: str, minimum: int, fix: str) -> int:
    """Return ``value`` as an int after checking it is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}; got {value!r}. {fix}.")
    return int(value)


def check_level(level: object) -> float:
    """Return ``level`` as a float after checking it lies strictly between 0 and 1."""
    if isinstance(level, bool) or not isinstance(level, Real) or not 0.0 < float(level) < 1.0:
        raise ValueError(
            f"level must be a number strictly between 0 and 1; got {level!r}. "
            "Use e.g. level=0.95 for 95% intervals."
        )
    return float(level)


def check_choice(value: object, name: str, choices: Collection[str]) -> str:
    """Return ``value`` after checking it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}. Pick one of those.")
    return value


def check_n_jobs(n_jobs: object) -> int:
    """Return ``n_jobs`` after checking it is a non-zero integer (joblib convention)."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral) or int(n_jobs) == 0:
        raise ValueError(
            f"n_jobs must be a non-zero integer; got {n_jobs!r}. "
            "Use 1 for serial work, k > 1 for k workers or -1 for all cores."
        )
    return int(n_jobs)


def normal_critical(level: float) -> float:
    """Two-sided standard-normal critical value ``z_{(1 + level) / 2}``."""
    return float(stats.norm.ppf(0.5 + level / 2.0))
