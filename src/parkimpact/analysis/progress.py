"""Progress on stderr: a bar on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Report named steps of a long job.

    On a terminal the current step is redrawn in place as a bar; otherwise one
    line is logged per step, plus a line at most every ``interval`` seconds for
    :meth:`tick` updates within a step. ``quiet=True`` prints nothing.
    """

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        quiet: bool = False,
        interval: float = 10.0,
    ) -> None:
        self.total = total
        self.stream = sys.stderr if stream is None else stream
        self.quiet = quiet
        self.interval = interval
        self.done = 0
        self.start = time.perf_counter()
        self._last = self.start
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def step(self, label: str) -> None:
        """Start the next step."""
        self.done += 1
        self._emit(label, force=True)

    def tick(self, label: str, fraction: float) -> None:
        """Progress within the current step (``fraction`` in [0, 1])."""
        self._emit(f"{label} {100 * fraction:5.1f}%", force=False)

    def close(self) -> None:
        """Finish the bar with a final line."""
        if not self.quiet:
            elapsed = time.perf_counter() - self.start
            end = "\n" if self._tty else ""
            self.stream.write(f"{end}[parkimpact] finished in {elapsed:.1f} s\n")
            self.stream.flush()

    def _emit(self, label: str, *, force: bool) -> None:
        if self.quiet:
            return
        now = time.perf_counter()
        if not force and not self._tty and now - self._last < self.interval:
            return
        self._last = now
        elapsed = now - self.start
        if self._tty:
            width = 24
            filled = int(width * min(self.done, self.total) / max(self.total, 1))
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(
                f"\r[{bar}] {self.done}/{self.total} {label[:50]:<50} {elapsed:6.1f}s"
            )
        else:
            self.stream.write(
                f"[parkimpact] step {self.done}/{self.total}: {label} ({elapsed:.1f} s)\n"
            )
        self.stream.flush()
