"""Every Python example in README.md and docs/ runs.

The ```python blocks of each Markdown file are executed in order, in one namespace per file,
with the repository root as working directory (the examples read ``data/example/``). A block
preceded by a ``<!-- skip-test -->`` line is not run; keep that for examples that need data the
project does not ship.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from parkimpact.errors import ParkImpactWarning  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SKIP_MARK = "<!-- skip-test -->"
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    language: str
    code: str
    line: int  # 1-based line of the first code line
    skip: bool


def markdown_files() -> list[Path]:
    """README.md and every Markdown file under docs/, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def code_blocks(text: str) -> list[Block]:
    """Fenced blocks with their language, first code line and skip mark."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, language = match.groups()
        previous = next((s.strip() for s in reversed(lines[:i]) if s.strip()), "")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        blocks.append(Block(language.lower(), "\n".join(body) + "\n", i + 2, previous == SKIP_MARK))
        i = j + 1
    return blocks


def _id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_extractor_reads_fences_and_skip_marks() -> None:
    text = "\n".join(
        [
            "# Title",
            "```python",
            "x = 1",
            "```",
            "",
            SKIP_MARK,
            "",
            "```python",
            "raise SystemExit",
            "```",
            "```bash",
            "echo hi",
            "```",
            "   ```python",
            "   y = x + 1",
            "   ```",
        ]
    )
    blocks = code_blocks(text)
    assert [(b.language, b.skip, b.line) for b in blocks] == [
        ("python", False, 3),
        ("python", True, 9),
        ("bash", False, 12),
        ("python", False, 15),
    ]
    assert blocks[3].code == "y = x + 1\n"


@pytest.mark.parametrize("path", markdown_files(), ids=_id)
def test_python_examples_run(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = [b for b in code_blocks(path.read_text(encoding="utf-8")) if b.language == "python"]
    if path.parent.name == "methods" or path == ROOT / "README.md":
        assert blocks, f"{_id(path)} must show at least one Python example"
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    try:
        for block in blocks:
            if block.skip:
                continue
            # Pad with blank lines so that tracebacks point at the line in the Markdown file.
            source = "\n" * (block.line - 1) + block.code
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ParkImpactWarning)
                exec(compile(source, str(path), "exec"), namespace)  # noqa: S102
    finally:
        plt.close("all")


_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("path", markdown_files(), ids=_id)
def test_relative_links_point_to_files(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for target in _LINK.findall(text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        resolved = (path.parent / target.split("#", 1)[0]).resolve()
        assert resolved.exists(), f"{_id(path)} links to {target}, which does not exist"
