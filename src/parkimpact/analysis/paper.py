"""Building the paper: copy analysis outputs into ``paper/generated/`` and compile it.

The paper (``paper/main.tex``) ``\\input``s tables and includes figures from
``paper/generated/``. :func:`build_paper` fills that folder by *copying* the
``tables/*.tex`` and ``figures/*.png`` files of finished analysis output
folders (by default ``output/hsinchu_style`` and every
``output/replications/<case>``), then compiles the paper with ``latexmk``
(or ``pdflatex`` twice) when TeX is installed. Nothing is estimated here:
rebuilding the paper never refits a model, so a paper built from a verified
output folder shows exactly the numbers of that run.

Safeguards:

* ``generated/`` is emptied first, so no file of an earlier build survives;
* when an output folder has a ``manifest.json``, every copied file must have
  the hash the manifest records (a file edited after its run is refused);
* two output folders may not provide the same file name with different
  contents (the paper could not tell which one it shows).

``generated/SOURCES.txt`` lists every copied file with its origin and SHA-256.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from parkimpact.analysis.config import find_project_root
from parkimpact.analysis.manifest import MANIFEST_NAME, sha256_file
from parkimpact.errors import ParkImpactError

__all__ = [
    "PaperError",
    "CopiedFile",
    "CompileResult",
    "PaperBuild",
    "DEFAULT_OUTPUT",
    "REPLICATIONS",
    "COPIED_PATTERNS",
    "TEX_INSTALL_HINT",
    "default_output_dirs",
    "copy_outputs",
    "compile_paper",
    "build_paper",
]

#: The flagship analysis folder, relative to the project root.
DEFAULT_OUTPUT = Path("output") / "hsinchu_style"
#: Folder whose sub-folders hold one replication case each, relative to the project root.
REPLICATIONS = Path("output") / "replications"
#: What is copied from an output folder: sub-folder -> file pattern.
COPIED_PATTERNS: tuple[tuple[str, str], ...] = (("tables", "*.tex"), ("figures", "*.png"))
#: Name of the folder inside the paper folder that receives the copies.
GENERATED = "generated"
#: Main file of the paper.
MAIN = "main.tex"
#: How to install the TeX the paper needs on Debian or Ubuntu.
TEX_INSTALL_HINT = (
    "apt-get update && apt-get install -y --no-install-recommends "
    "texlive-latex-base texlive-latex-recommended latexmk"
)
_TIMEOUT = 600
_LOG_LINES = 40

Status = Literal["compiled", "failed", "no_tex", "not_requested"]


class PaperError(ParkImpactError):
    """The paper's inputs cannot be assembled (missing, edited or clashing outputs)."""


@dataclass(frozen=True)
class CopiedFile:
    """One file copied into ``generated/``.

    Attributes
    ----------
    source
        The file in the analysis output folder.
    target
        Its copy in the paper's ``generated/`` folder.
    sha256
        SHA-256 of its bytes.
    verified
        True when the output folder's manifest records this hash, None when
        the folder has no manifest or the manifest does not list the file.
    """

    source: Path
    target: Path
    sha256: str
    verified: bool | None


@dataclass(frozen=True)
class CompileResult:
    """How compiling went.

    Attributes
    ----------
    status
        ``"compiled"`` (the PDF exists), ``"failed"`` (TeX reported an error),
        ``"no_tex"`` (neither latexmk nor pdflatex is installed) or
        ``"not_requested"``.
    pdf
        The PDF when compiled.
    commands
        The commands that were run, in order.
    message
        What to tell the user: the PDF path, the end of the TeX log on
        failure, or how to install TeX.
    """

    status: Status
    pdf: Path | None
    commands: tuple[tuple[str, ...], ...]
    message: str


@dataclass(frozen=True)
class PaperBuild:
    """The result of :func:`build_paper`."""

    paper_dir: Path
    output_dirs: tuple[Path, ...]
    copied: tuple[CopiedFile, ...]
    compiled: CompileResult

    @property
    def generated(self) -> Path:
        """The folder holding the copied tables and figures."""
        return self.paper_dir / GENERATED

    def summary(self) -> str:
        """Readable lines: what was copied from where, then the compile outcome."""
        lines = []
        for folder in self.output_dirs:
            n = sum(1 for c in self.copied if c.source.is_relative_to(folder))
            lines.append(f"copied {n} file(s) from {folder}")
        lines.append(f"into {self.generated}")
        lines.append(self.compiled.message)
        return "\n".join(lines)


# ----------------------------------------------------------------------------- inputs
def default_output_dirs(root: Path) -> list[Path]:
    """The flagship output folder and every replication folder that exists under ``root``."""
    folders = [root / DEFAULT_OUTPUT]
    replications = root / REPLICATIONS
    if replications.is_dir():
        folders += sorted(p for p in replications.iterdir() if p.is_dir())
    return folders


def _manifest_hashes(folder: Path) -> dict[str, str] | None:
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        outputs = json.loads(path.read_text(encoding="utf-8"))["outputs"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PaperError(
            f"{path} must be an analysis manifest with an 'outputs' section; got an unreadable "
            f"file ({exc}). Re-run the analysis to rewrite it."
        ) from None
    return {str(k): str(v) for k, v in dict(outputs).items()}


def _sources(folder: Path) -> list[tuple[str, Path]]:
    """``(sub-folder, file)`` pairs to copy from one output folder, in sorted order."""
    found = []
    for sub, pattern in COPIED_PATTERNS:
        directory = folder / sub
        if directory.is_dir():
            found += [(sub, p) for p in sorted(directory.glob(pattern)) if p.is_file()]
    return found


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise PaperError(
            f"output folder {folder} must exist; got nothing there. Run `parkimpact run` (or "
            "the replication's configuration) first, or name another folder with --output."
        )
    if not _sources(folder):
        patterns = ", ".join(f"{sub}/{pattern}" for sub, pattern in COPIED_PATTERNS)
        raise PaperError(
            f"output folder {folder} must hold tables or figures ({patterns}); got none. Is it "
            "an analysis output folder?"
        )


def _reset(generated: Path) -> None:
    if generated.is_symlink() or generated.is_file():
        generated.unlink()
    elif generated.is_dir():
        shutil.rmtree(generated)
    for sub, _ in COPIED_PATTERNS:
        (generated / sub).mkdir(parents=True)


def copy_outputs(output_dirs: Sequence[Path], paper_dir: Path) -> list[CopiedFile]:
    """Empty ``paper_dir/generated`` and copy the tables and figures of ``output_dirs`` into it.

    Parameters
    ----------
    output_dirs
        Finished analysis output folders (each with ``tables/`` and/or
        ``figures/``).
    paper_dir
        The paper folder; ``generated/tables`` and ``generated/figures`` are
        (re)created inside it.

    Returns
    -------
    list of CopiedFile
        The copies, in the order of ``output_dirs`` and then file name.

    Raises
    ------
    PaperError
        If a folder is missing or holds no tables or figures, a file differs
        from the hash its folder's manifest records, or two folders provide
        the same file name with different contents. Nothing is copied then.
    """
    folders = [Path(f).resolve() for f in output_dirs]
    if not folders:
        raise PaperError("output_dirs must name at least one output folder; got none.")
    plan: dict[Path, tuple[Path, str, bool | None]] = {}
    generated = Path(paper_dir).resolve() / GENERATED
    for folder in folders:
        _check_folder(folder)
        recorded = _manifest_hashes(folder)
        for sub, source in _sources(folder):
            digest = sha256_file(source)
            relative = source.relative_to(folder).as_posix()
            verified = None
            if recorded is not None and relative in recorded:
                if recorded[relative] != digest:
                    raise PaperError(
                        f"{source} must be the file its run wrote (manifest SHA-256 "
                        f"{recorded[relative][:12]}...); got {digest[:12]}... (changed since). "
                        f"Re-run the analysis, or check it with `parkimpact verify {folder}`."
                    )
                verified = True
            target = generated / sub / source.name
            if target in plan and plan[target][1] != digest:
                raise PaperError(
                    f"{sub}/{source.name} must come from one output folder; got different files "
                    f"in {plan[target][0].parent.parent} and {folder}. Give the outputs distinct "
                    "names (e.g. replication_<case>.tex)."
                )
            plan.setdefault(target, (source, digest, verified))
    _reset(generated)
    copied = []
    for target, (source, digest, verified) in plan.items():
        shutil.copyfile(source, target)
        copied.append(CopiedFile(source, target, digest, verified))
    lines = [
        "# Files copied into this folder by `parkimpact paper` (never edit them here).",
        "# target <- source  sha256  manifest",
    ]
    for c in copied:
        state = {True: "verified", None: "not in a manifest"}[c.verified]
        lines.append(f"{c.target.relative_to(generated)} <- {c.source}  {c.sha256}  {state}")
    (generated / "SOURCES.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return copied


# ----------------------------------------------------------------------------- compiling
Runner = Callable[..., subprocess.CompletedProcess]


def _tail(text: str, n: int = _LOG_LINES) -> str:
    return "\n".join(text.splitlines()[-n:])


def compile_paper(
    paper_dir: Path,
    *,
    main: str = MAIN,
    which: Callable[[str], str | None] | None = None,
    run: Runner | None = None,
) -> CompileResult:
    """Compile ``paper_dir/main`` with latexmk, else pdflatex twice, else explain.

    Commands run inside ``paper_dir``:
    ``latexmk -pdf -interaction=nonstopmode -halt-on-error main.tex`` when
    latexmk is installed, otherwise
    ``pdflatex -interaction=nonstopmode -halt-on-error main.tex`` twice (for
    cross-references). Without either, nothing runs and the result says how
    to install TeX (:data:`TEX_INSTALL_HINT`).

    Parameters
    ----------
    paper_dir
        Folder holding ``main``.
    main
        The main TeX file.
    which, run
        Replacements of :func:`shutil.which` and :func:`subprocess.run` (tests);
        None uses those.
    """
    which = shutil.which if which is None else which
    run = subprocess.run if run is None else run
    paper_dir = Path(paper_dir).resolve()
    if not (paper_dir / main).is_file():
        raise PaperError(
            f"{paper_dir / main} must exist to compile the paper; got no such file. "
            "Pass --paper-dir with the folder holding main.tex."
        )
    if which("latexmk"):
        commands = [("latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", main)]
    elif which("pdflatex"):
        once = ("pdflatex", "-interaction=nonstopmode", "-halt-on-error", main)
        commands = [once, once]
    else:
        return CompileResult(
            "no_tex",
            None,
            (),
            "TeX is not installed (neither latexmk nor pdflatex was found), so the paper was "
            f"not compiled; its inputs are in place. Install TeX with:\n  {TEX_INSTALL_HINT}\n"
            "then run `parkimpact paper` again.",
        )
    pdf = paper_dir / (Path(main).stem + ".pdf")
    done: list[tuple[str, ...]] = []
    for command in commands:
        done.append(command)
        try:
            proc = run(
                list(command),
                cwd=paper_dir,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return CompileResult(
                "failed",
                None,
                tuple(done),
                f"{command[0]} must finish within {_TIMEOUT} s; it did not. Check "
                f"{paper_dir / (Path(main).stem + '.log')}.",
            )
        if proc.returncode != 0:
            log = paper_dir / (Path(main).stem + ".log")
            detail = log.read_text(errors="replace") if log.is_file() else proc.stdout
            return CompileResult(
                "failed",
                None,
                tuple(done),
                f"{' '.join(command)} failed (exit status {proc.returncode}); the end of the "
                f"log:\n{_tail(detail)}",
            )
    if not pdf.is_file():
        return CompileResult(
            "failed", None, tuple(done), f"TeX reported success but {pdf} was not written."
        )
    return CompileResult("compiled", pdf, tuple(done), f"compiled {pdf}")


# ----------------------------------------------------------------------------- both
def build_paper(
    output_dirs: Sequence[str | Path] | None = None,
    paper_dir: str | Path | None = None,
    *,
    compile: bool = True,
    root: Path | None = None,
) -> PaperBuild:
    """Copy the analysis outputs into the paper and compile it; never refits a model.

    Parameters
    ----------
    output_dirs
        Output folders to copy from; None means ``output/hsinchu_style`` and
        every folder under ``output/replications/`` of the project root.
    paper_dir
        The paper folder (default ``paper`` under the project root).
    compile
        Compile after copying (see :func:`compile_paper`).
    root
        Project root for the defaults; None finds it from the working
        directory (the nearest folder with ``pyproject.toml`` or ``.git``).

    Returns
    -------
    PaperBuild
        What was copied and how compiling went (``compiled.status``).

    Raises
    ------
    PaperError
        See :func:`copy_outputs`; also when the paper folder has no ``main.tex``.
    """
    if root is None and (output_dirs is None or paper_dir is None):
        root = find_project_root(Path.cwd())
    folders = (
        default_output_dirs(root)  # type: ignore[arg-type]
        if output_dirs is None
        else [Path(f) for f in output_dirs]
    )
    paper = Path(paper_dir) if paper_dir is not None else root / "paper"  # type: ignore[operator]
    paper = paper.resolve()
    if not (paper / MAIN).is_file():
        raise PaperError(
            f"paper folder {paper} must hold {MAIN}; got no such file. Pass --paper-dir with "
            "the folder of the paper."
        )
    copied = copy_outputs(folders, paper)
    result = (
        compile_paper(paper)
        if compile
        else CompileResult("not_requested", None, (), "not compiled (--no-compile)")
    )
    return PaperBuild(paper, tuple(f.resolve() for f in folders), tuple(copied), result)
