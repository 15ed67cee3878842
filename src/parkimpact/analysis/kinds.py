"""Kinds of analysis a configuration can ask for (``[analysis] kind``).

A kind is a function ``(config, out, progress) -> AnalysisOutcome`` registered
with :func:`register`, together with the configuration sections (and their
keys) it reads. ``parkimpact run`` dispatches on ``[analysis] kind`` (default
``"study"``); every kind writes only through the :class:`OutputWriter` it is
given, and the runner adds the manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from parkimpact.analysis.config import AnalysisConfig
from parkimpact.analysis.outputs import OutputWriter
from parkimpact.analysis.progress import Progress
from parkimpact.data import FirmPanel

__all__ = ["AnalysisOutcome", "AnalysisKind", "register", "KINDS", "get_kind"]


@dataclass(frozen=True)
class AnalysisOutcome:
    """What an analysis kind hands back to the runner."""

    summary: str
    inputs: Mapping[str, Path] = field(default_factory=dict)
    panel: FirmPanel | None = None


Runner = Callable[[AnalysisConfig, OutputWriter, Progress], AnalysisOutcome]


@dataclass(frozen=True)
class AnalysisKind:
    """A registered kind: its runner, progress steps, sections and whether it gets a report.

    Kinds with ``report=True`` get the HTML/Markdown report
    (:func:`parkimpact.report.build_report`) written into their outputs before
    the manifest, so the report's hash is listed with the other outputs.
    """

    name: str
    run: Runner
    steps: int
    sections: Mapping[str, frozenset[str]]
    report: bool = False


KINDS: dict[str, AnalysisKind] = {}


def register(
    name: str,
    *,
    steps: int,
    sections: Mapping[str, set[str] | frozenset[str]],
    report: bool = False,
) -> Callable[[Runner], Runner]:
    """Decorator registering an analysis kind."""

    def wrap(func: Runner) -> Runner:
        KINDS[name] = AnalysisKind(
            name, func, steps, {k: frozenset(v) for k, v in sections.items()}, report
        )
        return func

    return wrap


def get_kind(name: str) -> AnalysisKind:
    """The registered kind ``name`` (the built-in kinds are loaded on first use)."""
    import parkimpact.analysis.replications  # noqa: F401  (registers "replication")
    import parkimpact.analysis.study_kind  # noqa: F401  (registers "study")

    if name not in KINDS:
        raise ValueError(
            f"[analysis] kind must be one of {sorted(KINDS)}; got {name!r}. Check the spelling."
        )
    return KINDS[name]
