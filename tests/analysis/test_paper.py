"""`parkimpact paper`: copying analysis outputs into the paper, and compiling it when TeX exists."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from parkimpact.analysis import paper as paper_module  # noqa: E402
from parkimpact.analysis.paper import (  # noqa: E402
    PaperError,
    build_paper,
    compile_paper,
    copy_outputs,
    default_output_dirs,
)
from parkimpact.cli import NO_TEX_STATUS, main  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MAIN_TEX = REPO / "paper" / "main.tex"

TABLE = r"""\begin{table}[htbp]
\centering
\caption{A test table}
\begin{tabular}{lr}
\toprule
term & estimate \\
\midrule
att\_overall & 0.123 \\
\bottomrule
\end{tabular}
\end{table}
"""


def _png(path: Path) -> None:
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    fig.savefig(path, dpi=50)
    plt.close(fig)


def _output_folder(
    root: Path, tables: dict[str, str], figures: tuple[str, ...] = (), manifest: bool = True
) -> Path:
    """An analysis output folder with tables, figures and (optionally) its manifest."""
    (root / "tables").mkdir(parents=True)
    (root / "figures").mkdir()
    (root / "data").mkdir()
    (root / "data" / "ignored.csv").write_text("a,b\n1,2\n")
    for name, text in tables.items():
        (root / "tables" / f"{name}.tex").write_text(text)
        (root / "tables" / f"{name}.md").write_text("| not | copied |\n")
    for name in figures:
        _png(root / "figures" / f"{name}.png")
    if manifest:
        outputs = {
            p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }
        (root / "manifest.json").write_text(json.dumps({"outputs": outputs}))
    return root


def _paper_folder(root: Path, main_tex: str | None = None) -> Path:
    root.mkdir(parents=True)
    text = (
        main_tex
        if main_tex is not None
        else "\\documentclass{article}\\begin{document}x\\end{document}\n"
    )
    (root / "main.tex").write_text(text)
    return root


@pytest.fixture
def flagship(tmp_path: Path) -> Path:
    return _output_folder(
        tmp_path / "output" / "hsinchu_style",
        {"descriptive_in_vs_out": TABLE, "flagship_att": TABLE},
        ("entry_cohorts",),
    )


def test_copies_tables_and_figures_only(tmp_path: Path, flagship: Path) -> None:
    paper = _paper_folder(tmp_path / "paper")
    build = build_paper([flagship], paper, compile=False)
    generated = paper / "generated"
    assert sorted(p.name for p in (generated / "tables").iterdir()) == [
        "descriptive_in_vs_out.tex",
        "flagship_att.tex",
    ]
    assert [p.name for p in (generated / "figures").iterdir()] == ["entry_cohorts.png"]
    for copy in build.copied:
        assert copy.target.read_bytes() == copy.source.read_bytes()
        assert copy.verified is True
    assert build.compiled.status == "not_requested"
    sources = (generated / "SOURCES.txt").read_text()
    assert "tables/flagship_att.tex <-" in sources and "verified" in sources
    assert "copied 3 file(s)" in build.summary()


def test_generated_folder_is_rebuilt_from_scratch(tmp_path: Path, flagship: Path) -> None:
    paper = _paper_folder(tmp_path / "paper")
    stale = paper / "generated" / "tables" / "old_result.tex"
    stale.parent.mkdir(parents=True)
    stale.write_text("stale")
    build_paper([flagship], paper, compile=False)
    assert not stale.exists()
    assert (paper / "generated" / "tables" / "flagship_att.tex").is_file()


def test_default_folders_are_flagship_then_replications(tmp_path: Path, flagship: Path) -> None:
    for case in ("nsw", "mpdta"):
        _output_folder(tmp_path / "output" / "replications" / case, {f"replication_{case}": TABLE})
    assert default_output_dirs(tmp_path) == [
        flagship,
        tmp_path / "output" / "replications" / "mpdta",
        tmp_path / "output" / "replications" / "nsw",
    ]
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    paper = _paper_folder(tmp_path / "paper")
    build = build_paper(root=tmp_path, compile=False)
    assert build.paper_dir == paper.resolve()
    names = sorted(p.name for p in (paper / "generated" / "tables").iterdir())
    assert names == [
        "descriptive_in_vs_out.tex",
        "flagship_att.tex",
        "replication_mpdta.tex",
        "replication_nsw.tex",
    ]


def test_missing_output_folder_says_how_to_make_it(tmp_path: Path) -> None:
    paper = _paper_folder(tmp_path / "paper")
    with pytest.raises(PaperError, match="parkimpact run"):
        copy_outputs([tmp_path / "output" / "hsinchu_style"], paper)


def test_folder_without_tables_or_figures_is_refused(tmp_path: Path) -> None:
    paper = _paper_folder(tmp_path / "paper")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PaperError, match="tables or figures"):
        copy_outputs([tmp_path / "empty"], paper)


def test_file_edited_after_its_run_is_refused(tmp_path: Path, flagship: Path) -> None:
    paper = _paper_folder(tmp_path / "paper")
    (flagship / "tables" / "flagship_att.tex").write_text(TABLE.replace("0.123", "9.999"))
    with pytest.raises(PaperError, match="changed since"):
        build_paper([flagship], paper, compile=False)
    assert not (paper / "generated").exists()


def test_folder_without_manifest_is_copied_unverified(tmp_path: Path) -> None:
    out = _output_folder(tmp_path / "out", {"t": TABLE}, manifest=False)
    paper = _paper_folder(tmp_path / "paper")
    (copied,) = copy_outputs([out], paper)
    assert copied.verified is None
    assert "not in a manifest" in (paper / "generated" / "SOURCES.txt").read_text()


def test_same_name_from_two_folders_must_agree(tmp_path: Path) -> None:
    a = _output_folder(tmp_path / "a", {"table": TABLE})
    b = _output_folder(tmp_path / "b", {"table": TABLE.replace("0.123", "0.456")})
    same = _output_folder(tmp_path / "c", {"table": TABLE})
    paper = _paper_folder(tmp_path / "paper")
    assert len(copy_outputs([a, same], paper)) == 1
    with pytest.raises(PaperError, match="distinct"):
        copy_outputs([a, b], paper)


def test_never_refits(tmp_path: Path, flagship: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import parkimpact.analysis.runner as runner

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("building the paper must not run an analysis")

    monkeypatch.setattr(runner, "run_analysis", refuse)
    paper = _paper_folder(tmp_path / "paper")
    build_paper([flagship], paper, compile=False)


def test_without_tex_the_message_says_how_to_install(
    tmp_path: Path, flagship: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paper_module.shutil, "which", lambda name: None)
    paper = _paper_folder(tmp_path / "paper")
    build = build_paper([flagship], paper)
    assert build.compiled.status == "no_tex"
    assert "texlive-latex-base texlive-latex-recommended latexmk" in build.compiled.message
    assert (paper / "generated" / "tables" / "flagship_att.tex").is_file()


def test_latexmk_preferred_then_pdflatex_twice(tmp_path: Path) -> None:
    paper = _paper_folder(tmp_path / "paper")
    calls: list[list[str]] = []

    def run(command: list[str], **kwargs: object):  # type: ignore[no-untyped-def]
        calls.append(command)
        (paper / "main.pdf").write_bytes(b"%PDF-1.5\n")
        return paper_module.subprocess.CompletedProcess(command, 0, "", "")

    result = compile_paper(paper, which=lambda name: f"/usr/bin/{name}", run=run)
    assert result.status == "compiled"
    assert calls == [["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "main.tex"]]
    calls.clear()
    only_pdflatex = {"pdflatex": "/usr/bin/pdflatex"}.get
    result = compile_paper(paper, which=only_pdflatex, run=run)
    assert result.status == "compiled"
    assert calls == [["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main.tex"]] * 2


def test_tex_failure_shows_the_log(tmp_path: Path) -> None:
    paper = _paper_folder(tmp_path / "paper")
    (paper / "main.log").write_text("line 1\n! Undefined control sequence.\n")

    def run(command: list[str], **kwargs: object):  # type: ignore[no-untyped-def]
        return paper_module.subprocess.CompletedProcess(command, 1, "", "")

    result = compile_paper(paper, which=lambda name: "/usr/bin/latexmk", run=run)
    assert result.status == "failed"
    assert "Undefined control sequence" in result.message


def test_cli(tmp_path: Path, flagship: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paper = _paper_folder(tmp_path / "paper")
    args = ["paper", "--output", str(flagship), "--paper-dir", str(paper)]
    assert main([*args, "--no-compile"]) == 0
    assert (paper / "generated" / "figures" / "entry_cohorts.png").is_file()
    monkeypatch.setattr(paper_module.shutil, "which", lambda name: None)
    assert main(args) == NO_TEX_STATUS
    assert main(["paper", "--output", str(tmp_path / "nowhere"), "--paper-dir", str(paper)]) == 1


def test_paper_uses_guarded_inputs_only() -> None:
    text = MAIN_TEX.read_text()
    assert "\\IfFileExists{generated/tables/#2.tex}" in text
    assert "\\generatedtable{descriptive_in_vs_out}" in text
    assert "\\generatedfigure{entry_cohorts}" in text
    assert "\\input{generated/" not in text.replace("\\input{generated/tables/#2.tex}", "").replace(
        "\\input{generated/tables/replication_summary.tex}", ""
    )


TEX = shutil.which("latexmk") or shutil.which("pdflatex")


@pytest.mark.skipif(TEX is None, reason="TeX is not installed (neither latexmk nor pdflatex)")
@pytest.mark.parametrize("with_inputs", [True, False], ids=["with-inputs", "no-inputs"])
def test_paper_compiles(tmp_path: Path, with_inputs: bool) -> None:
    paper = _paper_folder(tmp_path / "paper", MAIN_TEX.read_text())
    if with_inputs:
        out = _output_folder(
            tmp_path / "output" / "hsinchu_style",
            {"descriptive_in_vs_out": TABLE, "flagship_att": TABLE},
            ("entry_cohorts", "event_study_tfp"),
        )
    else:  # a figure-only folder: every guarded table prints its note instead
        out = _output_folder(tmp_path / "output" / "hsinchu_style", {}, ("unused",))
    build = build_paper([out], paper)
    assert build.compiled.status == "compiled", build.compiled.message
    pdf = paper / "main.pdf"
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
