"""Analysis configurations: a TOML file whose paths stay inside the project."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["AnalysisConfig", "load_config", "find_project_root", "DEFAULT_CONFIG"]

#: The analysis ``parkimpact run`` performs when given no configuration.
DEFAULT_CONFIG = Path("analyses") / "hsinchu_style.toml"

_ANALYSIS_KEYS = frozenset({"name", "seed", "output", "kind"})


def find_project_root(start: Path) -> Path:
    """Nearest ancestor of ``start`` holding ``pyproject.toml`` or ``.git``; else ``start``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return start


@dataclass(frozen=True)
class AnalysisConfig:
    """A validated analysis configuration.

    Attributes
    ----------
    settings
        The TOML content, section by section.
    root
        The project folder; every path in the configuration resolves inside it.
    source
        The configuration text, kept so that a manifest can re-run it exactly.
    """

    settings: Mapping[str, Mapping[str, Any]]
    root: Path
    source: str
    path: Path | None = None
    _hash: str = field(default="", repr=False)

    @property
    def name(self) -> str:
        """Analysis name (``[analysis] name``)."""
        return str(self.settings["analysis"].get("name", "analysis"))

    @property
    def kind(self) -> str:
        """Analysis kind (``[analysis] kind``, default ``"study"``)."""
        return str(self.settings["analysis"].get("kind", "study"))

    @property
    def seed(self) -> int:
        """Seed of every random step (``[analysis] seed``)."""
        return int(self.settings["analysis"].get("seed", 0))

    @property
    def sha256(self) -> str:
        """SHA-256 of the configuration text."""
        return hashlib.sha256(self.source.encode()).hexdigest()

    def section(self, name: str) -> Mapping[str, Any]:
        """One section (empty if absent)."""
        return self.settings.get(name, {})

    def resolve(self, relative: str | Path) -> Path:
        """Resolve a path of the configuration inside the project root.

        Raises
        ------
        ValueError
            If the path points outside the project (absolute elsewhere, or ``..``).
        """
        path = Path(relative)
        full = (path if path.is_absolute() else self.root / path).resolve()
        if not full.is_relative_to(self.root):
            raise ValueError(
                f"paths in a configuration must stay inside the project {self.root}; got "
                f"{str(relative)!r}. Move the file into the project or use a relative path."
            )
        return full

    def output_dir(self) -> Path:
        """The output folder (``[analysis] output``, default ``output/<name>``)."""
        return self.resolve(self.settings["analysis"].get("output", f"output/{self.name}"))


def load_config(
    path: str | Path | None = None, *, text: str | None = None, root: Path | None = None
) -> AnalysisConfig:
    """Read and validate a configuration from a file, or from its text and project root."""
    if text is None:
        if path is None:
            path = Path.cwd() / DEFAULT_CONFIG
            if not path.is_file():
                raise FileNotFoundError(
                    f"parkimpact run needs a configuration; got none and found no {DEFAULT_CONFIG} "
                    "under the current folder. Run it from the project folder or pass CONFIG.toml."
                )
        path = Path(path)
        if path.suffix.lower() != ".toml" or not path.is_file():
            raise FileNotFoundError(f"configuration must be an existing .toml file; got {path}.")
        text = path.read_text(encoding="utf-8")
        root = find_project_root(path.parent) if root is None else root
    if root is None:
        raise ValueError("root must be given with text; got None.")
    settings = tomllib.loads(text)
    _validate(settings)
    return AnalysisConfig(
        settings=settings,
        root=root.resolve(),
        source=text,
        path=None if path is None else Path(path).resolve(),
    )


def _validate(settings: Mapping[str, Any]) -> None:
    from parkimpact.analysis.kinds import get_kind

    if "analysis" not in settings:
        raise ValueError(
            f"configuration must have an [analysis] section; got {sorted(settings)}. "
            "See analyses/hsinchu_style.toml for an example."
        )
    extra = sorted(set(settings["analysis"]) - _ANALYSIS_KEYS)
    if extra:
        raise ValueError(
            f"[analysis] keys must be among {sorted(_ANALYSIS_KEYS)}; got {extra}. "
            "Check the spelling."
        )
    kind = get_kind(str(settings["analysis"].get("kind", "study")))
    unknown = [s for s in settings if s != "analysis" and s not in kind.sections]
    if unknown:
        raise ValueError(
            f"configuration sections of a {kind.name!r} analysis must be among "
            f"{sorted(['analysis', *kind.sections])}; got {unknown}. Check the spelling."
        )
    for section, keys in kind.sections.items():
        extra = sorted(set(settings.get(section, {})) - keys)
        if extra:
            raise ValueError(
                f"[{section}] keys must be among {sorted(keys)}; got {extra}. Check the spelling."
            )
    if kind.name == "study" and "mapping" not in settings.get("data", {}):
        raise ValueError(
            '[data] must name the column mapping of the sources (mapping = "...toml"); got none.'
        )
