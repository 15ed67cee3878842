"""Tests of multi-model tables, descriptive tables and the renderers."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parkimpact.report import (
    ModelInfo,
    RegressionTable,
    ResultBase,
    descriptive_table,
    make_tidy,
    table,
)
from parkimpact.report.render import Raw, escape_latex, to_latex, to_text


@dataclass(frozen=True)
class FakeResult(ResultBase):
    """A result whose p-values are set directly, to test star thresholds."""

    frame: pd.DataFrame
    info: ModelInfo

    def tidy(self) -> pd.DataFrame:
        return self.frame.copy()

    def model_info(self) -> ModelInfo:
        return self.info


def tidy_with_p(terms: list[str], estimates: list[float], p_values: list[float]) -> pd.DataFrame:
    """A tidy frame with standard errors 0.1 and the given p-values."""
    frame = make_tidy(terms, estimates, [0.1] * len(terms))
    frame["p_value"] = p_values
    return frame


@pytest.fixture(scope="module")
def two_models() -> list[FakeResult]:
    first = FakeResult(
        tidy_with_p(["log_capital", "log_labor"], [0.31, -0.052], [0.049, 0.05]),
        ModelInfo(
            name="OLS",
            n_obs=1200,
            n_units=150,
            n_clusters=150,
            fixed_effects=("firm",),
            cluster="firm_id",
            se_type="cluster-robust (firm)",
        ),
    )
    second = FakeResult(
        tidy_with_p(["park", "log_capital"], [0.12, 0.28], [0.009, 0.01]),
        ModelInfo(
            name="TWFE",
            n_obs=1100,
            n_units=140,
            n_clusters=140,
            fixed_effects=("firm", "year"),
            cluster="firm_id",
            se_type="cluster-robust (firm)",
        ),
    )
    return [first, second]


def cell(result: RegressionTable, label: str, column: int, below: int = 0) -> str:
    """The cell of row ``label`` (or ``below`` rows under it) in model ``column``."""
    frame = result.frame
    position = frame.index[frame.iloc[:, 0] == label][0] + below
    return frame.iloc[position, column]


# ---------------------------------------------------------------------------
# layout
# ---------------------------------------------------------------------------


def test_stars_use_strict_less_than(two_models: list[FakeResult]) -> None:
    result = table(two_models)
    assert cell(result, "log_capital", 1) == "0.310**"  # p = 0.049
    assert cell(result, "log_labor", 1) == "-0.052*"  # p = 0.05
    assert cell(result, "park", 2) == "0.120***"  # p = 0.009
    assert cell(result, "log_capital", 2) == "0.280**"  # p = 0.01


def test_stars_thresholds_are_configurable() -> None:
    frame = tidy_with_p(["a", "b", "c"], [1.0, 2.0, 3.0], [0.2, 0.04, 0.001])
    result = table([frame], stars=(0.05, 0.001, 0.25))
    assert [cell(result, t, 1) for t in "abc"] == ["1.000*", "2.000**", "3.000**"]
    assert "* p<0.25, ** p<0.05, *** p<0.001" in result.to_text()
    plain = table([frame], stars=None)
    assert cell(plain, "c", 1) == "3.000"
    assert "p<" not in plain.to_text()


def test_standard_errors_sit_in_parentheses_below(two_models: list[FakeResult]) -> None:
    result = table(two_models)
    assert cell(result, "log_capital", 1, below=1) == "(0.100)"
    assert cell(result, "log_capital", 0, below=1) == ""
    inline = table(two_models, se_below=False, digits=2)
    assert cell(inline, "log_capital", 1) == "0.31** (0.10)"
    assert len(inline.frame) == len(result.frame) - 3


def test_terms_follow_first_appearance_or_the_given_order(two_models: list[FakeResult]) -> None:
    result = table(two_models)
    assert result.frame.iloc[:6:2, 0].tolist() == ["log_capital", "log_labor", "park"]
    chosen = table(two_models, terms=["park", "log_capital"], term_labels={"park": "Park tenant"})
    assert chosen.frame.iloc[:4:2, 0].tolist() == ["Park tenant", "log_capital"]
    assert "log_labor" not in chosen.frame.iloc[:, 0].tolist()


def test_missing_terms_are_blank(two_models: list[FakeResult]) -> None:
    result = table(two_models)
    assert cell(result, "park", 1) == "" and cell(result, "park", 1, below=1) == ""
    assert cell(result, "log_labor", 2) == ""


def test_footer_has_counts_fixed_effects_and_se_type(two_models: list[FakeResult]) -> None:
    result = table(two_models)
    assert cell(result, "Observations", 1) == "1200"
    assert cell(result, "Firms", 2) == "140"
    assert cell(result, "Clusters", 1) == "150"
    assert [cell(result, "Firm FE", k) for k in (1, 2)] == ["Yes", "Yes"]
    assert [cell(result, "Year FE", k) for k in (1, 2)] == ["No", "Yes"]
    assert cell(result, "SE", 1) == "cluster-robust (firm)"
    assert result.rules_before == (6,)


def test_bare_frames_get_minimal_footer() -> None:
    result = table([tidy_with_p(["a"], [1.0], [0.5])], model_names=["Only"])
    assert result.header == ("", "Only")
    labels = result.frame.iloc[:, 0].tolist()
    assert labels == ["a", ""]
    assert "Standard errors in parentheses." in result.to_text()


def test_notes_have_legend_cluster_note_and_user_notes(two_models: list[FakeResult]) -> None:
    text = table(two_models, notes="Deflated to 2015 prices.").to_text()
    tail = text.splitlines()[-3:]
    assert tail == [
        "* p<0.10, ** p<0.05, *** p<0.01",
        "Standard errors clustered by firm_id in parentheses.",
        "Deflated to 2015 prices.",
    ]
    mixed = [two_models[0], dataclasses.replace(two_models[1], info=ModelInfo(name="x"))]
    assert "clustered by firm_id in (1)." in table(mixed).to_text()


def test_family_keys_label_rows() -> None:
    frame = make_tidy(["att", "att"], [0.1, 0.2], [0.1, 0.1], keys={"event_time": [-1, 0]})
    result = table([frame])
    assert result.frame.iloc[::2, 0].tolist() == ["att (event_time=-1)", "att (event_time=0)"]
    # unique terms are labelled by the term alone; boolean flags never label a row
    flagged = make_tidy(
        ["e-1", "e0"],
        [0.1, 0.2],
        [0.1, 0.1],
        keys={"event_time": [-1, 0], "reference": [True, False]},
    )
    assert table([flagged]).frame.iloc[::2, 0].tolist() == ["e-1", "e0"]


def test_text_has_a_rule_under_the_header(two_models: list[FakeResult]) -> None:
    lines = table(two_models, title="Production").to_text().splitlines()
    assert lines[0] == "Production"
    assert set(lines[1]) == {"="} and set(lines[3]) == {"-"}
    assert re.fullmatch(r"\s+\(1\)\s+\(2\)", lines[2])


# ---------------------------------------------------------------------------
# output formats
# ---------------------------------------------------------------------------


def test_markdown_has_separator_row_and_escapes(two_models: list[FakeResult]) -> None:
    lines = table(two_models).to_markdown().splitlines()
    assert lines[0] == "|  | (1) | (2) |"
    assert lines[1] == "| :--- | :---: | :---: |"
    assert lines[2] == r"| log\_capital | 0.310\*\* | 0.280\*\* |"


def test_html_escapes_names_and_terms() -> None:
    frame = tidy_with_p(["x<y", "R&D"], [1.0, 2.0], [0.5, 0.5])
    page = table([frame], model_names=["<b>A</b>"], title="T & C").to_html()
    assert "&lt;b&gt;A&lt;/b&gt;" in page and "<b>" not in page
    assert "x&lt;y" in page and "R&amp;D" in page
    assert "<caption>T &amp; C</caption>" in page
    assert page.index("<thead>") < page.index("<tbody>") < page.index("<tfoot>")


def test_latex_escapes_specials_and_uses_booktabs(two_models: list[FakeResult]) -> None:
    tex = table(
        two_models, model_names=["R&D_1", "50%"], notes="Costs in $ #1 {a} ~ ^ \\"
    ).to_latex()
    assert r"log\_capital & 0.310$^{**}$ & 0.280$^{**}$ \\" in tex
    assert r"log\_labor & $-$0.052$^{*}$ &  \\" in tex
    assert r" & R\&D\_1 & 50\% \\" in tex
    assert r"Costs in \$ \#1 \{a\} \textasciitilde{} \textasciicircum{} \textbackslash{}" in tex
    assert r"$^{*}$ $p<0.10$, $^{**}$ $p<0.05$, $^{***}$ $p<0.01$" in tex
    order = [tex.index(r) for r in (r"\toprule", r"\midrule", r"\bottomrule", r"\end{tabular}")]
    assert order == sorted(order)
    assert tex.startswith(r"\begin{tabular}{lcc}")
    assert r"\begin{table}" not in tex


def test_latex_float_with_caption_and_label(two_models: list[FakeResult]) -> None:
    tex = table(two_models, title="TFP & parks").to_latex(label="tab:tfp")
    assert tex.startswith("\\begin{table}[htbp]\n\\centering\n\\caption{TFP \\& parks}\n")
    assert "\\label{tab:tfp}" in tex and tex.endswith("\\end{table}\n")


def test_escape_latex_and_raw_cells() -> None:
    assert escape_latex("log_capital") == r"log\_capital"
    assert escape_latex("a&b%c$d#e") == r"a\&b\%c\$d\#e"
    cells = pd.DataFrame({"x": [Raw("$\\beta$", text="beta"), "_"]}, dtype=object)
    assert "$\\beta$ \\\\\n\\_ \\\\" in to_latex(cells, align="l")
    assert "beta" in to_text(cells, align="l")


@pytest.mark.parametrize(
    ("suffix", "marker"),
    [(".tex", r"\toprule"), (".md", "| :--- |"), (".html", "<table"), (".txt", "====")],
)
def test_save_picks_format_from_extension(
    two_models: list[FakeResult], tmp_path: Path, suffix: str, marker: str
) -> None:
    path = table(two_models).save(tmp_path / f"table{suffix}")
    content = path.read_bytes()
    assert marker.encode() in content
    assert b"\r\n" not in content


def test_save_rejects_unknown_extension(two_models: list[FakeResult], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"path must end in one of .*; got 'table.pdf'"):
        table(two_models).save(tmp_path / "table.pdf")


def test_table_is_immutable(two_models: list[FakeResult]) -> None:
    result = table(two_models)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.title = "x"  # type: ignore[misc]
    frame = result.frame
    frame.iloc[0, 1] = "changed"
    assert result.frame.iloc[0, 1] == "0.310**"
    assert str(result) == result.to_text()
    assert result._repr_html_() == result.to_html()


# ---------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------


def test_table_rejects_bad_arguments(two_models: list[FakeResult]) -> None:
    with pytest.raises(ValueError, match=r"model_names must give one name per result \(2\)"):
        table(two_models, model_names=["a"])
    with pytest.raises(ValueError, match=r"terms must list terms present.*\['tfp'\]"):
        table(two_models, terms=["tfp"])
    with pytest.raises(ValueError, match="stars must be distinct p-value thresholds"):
        table(two_models, stars=(0.1, 1.5))
    with pytest.raises(ValueError, match="digits must be a non-negative integer; got 2.5"):
        table(two_models, digits=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got int at position 2"):
        table([two_models[0], 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="results must be a non-empty sequence"):
        table([])
    with pytest.raises(ValueError, match="frame must have the tidy columns"):
        table([pd.DataFrame({"term": ["a"], "estimate": [1.0]})])


def test_table_rejects_duplicate_terms() -> None:
    frame = make_tidy(["att", "att"], [0.1, 0.2], [0.1, 0.1])
    with pytest.raises(ValueError, match="terms must be unique within a model; got 'att' twice"):
        table(frame)


# ---------------------------------------------------------------------------
# descriptive tables
# ---------------------------------------------------------------------------


def test_descriptive_table_formats_numbers() -> None:
    frame = pd.DataFrame(
        {"tfp": [1.23456, -0.5], "firms": [120, 80], "flag": [True, False], "note": ["a_b", None]},
        index=pd.Index(["tenant", "control"], name="group"),
    )
    result = descriptive_table(frame, digits={"tfp": 2}, title="Means", notes="Source: panel.")
    assert result.header == ("group", "tfp", "firms", "flag", "note")
    assert result.frame.iloc[0].tolist() == ["tenant", "1.23", "120", "Yes", "a_b"]
    assert result.frame.iloc[1].tolist() == ["control", "-0.50", "80", "No", ""]
    assert result.align == "lrrrl"
    tex = result.to_latex()
    assert "control & $-$0.50 & 80 & No &  \\\\" in tex and "a\\_b" in tex
    assert "Source: panel." in result.to_markdown()
    without_index = descriptive_table(frame[["tfp"]], index=False, digits=1)
    assert without_index.frame.iloc[:, 0].tolist() == ["1.2", "-0.5"]


def test_descriptive_table_rejects_non_frames() -> None:
    with pytest.raises(TypeError, match="frame must be a pandas DataFrame; got ndarray"):
        descriptive_table(np.zeros((2, 2)))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# LaTeX compiles
# ---------------------------------------------------------------------------


def test_latex_compiles_with_pdflatex(two_models: list[FakeResult], tmp_path: Path) -> None:
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed; install a TeX distribution to run this check")
    regression = table(
        two_models,
        model_names=["OLS_1", "R&D 50%"],
        title="Parks & TFP_growth",
        notes=["Money in $ of 2015; #firms {all} ~ ^ \\ <>"],
    )
    descriptive = descriptive_table(pd.DataFrame({"mean_x": [1.0, -2.0]}, index=["a_1", "b%"]))
    body = regression.to_latex(label="tab:one") + regression.to_latex() + descriptive.to_latex()
    document = (
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
        f"{body}\\end{{document}}\n"
    )
    (tmp_path / "doc.tex").write_text(document, encoding="utf-8")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "doc.pdf").exists()


def test_dependent_variable_row_opens_the_table(two_models: list[FakeResult]) -> None:
    with_outcome = dataclasses.replace(
        two_models[0], info=dataclasses.replace(two_models[0].info, dependent="log_output")
    )
    result = table([with_outcome, two_models[1]])
    assert result.frame.iloc[0].tolist() == ["Dependent variable", "log_output", ""]
    assert result.rules_before == (1, 7)
