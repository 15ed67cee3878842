"""Writing analysis outputs: files only inside the output folder, reproducible bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from parkimpact.report import RegressionTable

__all__ = ["OutputWriter"]


@dataclass
class OutputWriter:
    """Writes files only inside ``root`` and remembers every file it wrote.

    CSVs carry floats at 10 significant digits, text is UTF-8 with LF line
    endings and PNGs carry no software or date stamp, so equal numbers give equal
    bytes (and equal hashes in the manifest).
    """

    root: Path
    written: list[Path] = field(default_factory=list)

    def path(self, relative: str) -> Path:
        """A path inside the output folder (parents created)."""
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ValueError(f"outputs must stay inside {self.root}; got {relative!r}.")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target not in self.written:
            self.written.append(target)
        return target

    def text(self, relative: str, content: str) -> Path:
        """Write UTF-8 text with LF line endings."""
        target = self.path(relative)
        body = content if content.endswith("\n") else content + "\n"
        target.write_text(body, encoding="utf-8", newline="\n")
        return target

    def csv(self, relative: str, frame: pd.DataFrame) -> Path:
        """Write a CSV with floats at 10 significant digits."""
        target = self.path(relative)
        frame.to_csv(target, index=False, float_format="%.10g", lineterminator="\n")
        return target

    def table(self, stem: str, table: RegressionTable) -> list[Path]:
        """Write a table as ``<stem>.tex`` and ``<stem>.md``."""
        return [table.save(self.path(f"{stem}{suffix}")) for suffix in (".tex", ".md")]

    def figure(self, relative: str, fig: Figure, *, dpi: int = 120) -> Path:
        """Save a matplotlib figure as PNG without metadata stamps, then close it."""
        import matplotlib.pyplot as plt

        target = self.path(relative)
        fig.savefig(target, dpi=dpi, metadata={"Software": None})
        plt.close(fig)
        return target
