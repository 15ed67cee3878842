"""The run report: built from an output folder's files only, self-contained and deterministic.

The fixtures write a small fake output folder with the files ``parkimpact run``
writes (tables, study estimates, drop report, figures, manifest) and the park
scorecard files (``scorecard/*.csv`` and its two figures), so every section can
be checked with and without the scorecard.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from parkimpact.cli import main  # noqa: E402
from parkimpact.errors import ParkImpactError  # noqa: E402
from parkimpact.report import (  # noqa: E402
    MissingOutputsError,
    ReportInputError,
    ReportPaths,
    build_report,
    render_report,
)

PARKS = ("Hsinchu", "Central Taiwan", "Southern Taiwan")
KPIS = ("rd_intensity", "patents_per_firm", "phd_employees", "survival_5y")
#: Text with markup characters, written into CSV cells to check escaping.
HOSTILE = '<script>alert("x")</script> & <img src=http://example.org/t.png>'

CONFIG = """\
[analysis]
name = "fake_run"
seed = 123

[data]
exits = "keep_treated"
bad_values = "drop"

[tfp]
estimator = "ACF"
by = "industry"

[did]
method = "dr"
control_group = "never_treated"
covariates = ["industry"]

[study]
outcomes = ["log_rd", "phd"]
bootstrap = 29
"""


def _png(title: str) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 2.6))
    ax.plot([0, 1, 2, 3], [0.0, 0.2, 0.15, 0.4], marker="o")
    ax.set_title(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _csv(root: Path, relative: str, frame: pd.DataFrame) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.10g", lineterminator="\n")


def _study_files(root: Path, simulated: bool) -> None:
    outcomes = ["tfp", "log_rd", "phd", "patents"]
    est = [0.12, 0.44, 1.2, 0.7]
    se = [0.04, 0.06, 0.26, 0.7]
    headline = pd.DataFrame(
        {
            "outcome": outcomes,
            "estimand": ["simple"] * 4,
            "estimate": est,
            "std_error_conditional": [s * 0.9 for s in se],
            "std_error_whole_pipeline": se,
            "conf_low": [e - 1.96 * s for e, s in zip(est, se, strict=True)],
            "conf_high": [e + 1.96 * s for e, s in zip(est, se, strict=True)],
            "ci_se_type": ["whole_pipeline"] * 4,
        }
    )
    if simulated:
        headline.insert(2, "truth", [0.14, 0.41, 1.18, 1.47])
        headline["truth_in_ci"] = [True, True, True, True]
    _csv(root, "tables/headline.csv", headline)
    tidy = pd.DataFrame(
        {
            "term": ["ATT"] * 8,
            "outcome": np.repeat(outcomes, 2),
            "estimand": "simple",
            "se_type": ["whole_pipeline", "conditional"] * 4,
            "estimate": np.repeat(est, 2),
            "std_error": [v for s in se for v in (s, 0.9 * s)],
            "statistic": 1.0,
            "p_value": 0.05,
            "conf_low": 0.0,
            "conf_high": 1.0,
        }
    )
    _csv(root, "study/tidy.csv", tidy)
    events = []
    for outcome in outcomes[:2]:
        for e in range(-3, 4):
            value = 0.0 if e < 0 else 0.05 * (e + 1)
            events.append((outcome, e, value, 0.02, 0.025, value - 0.05, value + 0.05))
    columns = ["outcome", "event_time", "estimate", "std_error_conditional"]
    columns += ["std_error_whole_pipeline", "conf_low", "conf_high"]
    _csv(root, "tables/event_study.csv", pd.DataFrame(events, columns=columns))
    contrasts = pd.DataFrame(
        {
            "outcome": ["tfp", "tfp"],
            "design": ["naive", "twfe"],
            "estimate": [0.2, 0.15],
            "std_error": [0.05, 0.03],
        }
    )
    _csv(root, "tables/contrasts.csv", contrasts)
    (root / "study" / "summary.txt").write_text(
        "SE conditional: analytic SE, conditional on the first stage (TFP taken as data)\n"
        "SE whole-pipeline: firm-cluster bootstrap of every stage (29 draws, seed 123)\n"
        "CI: estimate -/+ z * whole-pipeline SE\n",
        encoding="utf-8",
    )


def _data_files(root: Path) -> None:
    accounting = pd.DataFrame(
        {
            "source": ["financials", "tenancy", "panel"],
            "rows_in": [1000, 40, 980],
            "rows_kept": [980, 40, 980],
            "rows_dropped": [20, 0, 0],
            "balanced": [True, True, True],
        }
    )
    _csv(root, "data/row_accounting.csv", accounting)
    drops = pd.DataFrame(
        {
            "source": ["financials", "financials"],
            "step": ["read", "duplicates"],
            "reason": ["text in numeric column output", HOSTILE],
            "rows": [12, 8],
        }
    )
    _csv(root, "data/drop_summary.csv", drops)
    listed = pd.DataFrame(
        {
            "source": ["financials"] * 20,
            "step": ["read"] * 12 + ["duplicates"] * 8,
            "reason": ["text in numeric column output"] * 12 + [HOSTILE] * 8,
            "unit": range(20),
            "time": [2000] * 20,
            "row": range(20),
        }
    )
    _csv(root, "data/dropped_rows.csv", listed)
    cohorts = pd.DataFrame(
        {
            "cohort": [2001, 2005, np.nan],
            "n_firms": [10, 15, 75],
            "n_obs": [200, 280, 500],
            "first_year": [1995] * 3,
            "last_year": [2020] * 3,
            "never_treated": [False, False, True],
        }
    )
    _csv(root, "data/cohorts.csv", cohorts)
    (root / "panel_description.txt").write_text(
        "FirmPanel\n  note: 3 firm(s) left their park; kept as treated after exit\n",
        encoding="utf-8",
    )


def _scorecard_files(root: Path, simulated: bool) -> None:
    rows = []
    for p, park in enumerate(PARKS):
        for k, kpi in enumerate(KPIS):
            status = "descriptive only" if kpi == "survival_5y" else "estimated"
            if park == PARKS[2] and kpi == "patents_per_firm":
                status = "not available"
            effect = 0.1 * (k + 1) - 0.05 * p if status == "estimated" else np.nan
            note = (
                HOSTILE
                if (p, k) == (0, 0)
                else ("too few tenants" if status == "not available" else "")
            )
            rows.append(
                (
                    kpi,
                    1,
                    park,
                    "park",
                    np.nan,
                    np.nan,
                    1.0 + k,
                    0.8 + k,
                    20 + p,
                    effect,
                    0.04,
                    effect - 0.08,
                    effect + 0.08,
                    "CS-DR",
                    status,
                    note,
                )
            )
        for year in (2018, 2019):
            rows.append(
                (
                    "rd_intensity",
                    1,
                    park,
                    "park_year",
                    year,
                    np.nan,
                    1.1,
                    0.9,
                    18,
                    0.1,
                    0.05,
                    0.0,
                    0.2,
                    "CS-DR",
                    "estimated",
                    "",
                )
            )
        rows.append(
            (
                "rd_intensity",
                1,
                park,
                "park_cohort",
                np.nan,
                2005,
                1.2,
                0.9,
                7,
                0.15,
                0.06,
                0.03,
                0.27,
                "CS-DR",
                "estimated",
                "",
            )
        )
    columns = ["kpi", "version", "park", "level", "year", "cohort", "tenants", "non_tenants"]
    columns += ["n_tenants", "effect", "std_error", "conf_low", "conf_high", "method"]
    columns += ["status", "note"]
    _csv(root, "scorecard/kpis.csv", pd.DataFrame(rows, columns=columns))
    definitions = pd.DataFrame(
        {
            "kpi": list(KPIS),
            "version": [1] * 4,
            "formula": ["rd / output", "patents / firms", "phd", "share alive 5 years after entry"],
            "unit": ["share", "count", "persons", "share"],
            "source": ["financials", "patents", "financials", "tenancy"],
        }
    )
    _csv(root, "scorecard/definitions.csv", definitions)
    curves = []
    for park in PARKS[:2]:
        for group in ("tenants", "comparison"):
            for t in range(0, 8):
                s = (0.97 if group == "tenants" else 0.94) ** t
                curves.append((park, "all", group, t, s, s - 0.03, min(1.0, s + 0.03), 100 - 5 * t))
    columns = ["park", "cohort", "group", "time", "survival", "conf_low", "conf_high", "at_risk"]
    _csv(root, "scorecard/survival_curves.csv", pd.DataFrame(curves, columns=columns))
    model = pd.DataFrame(
        {
            "term": ["tenant"],
            "estimate": [-0.4],
            "std_error": [0.1],
            "statistic": [-4.0],
            "p_value": [0.0001],
            "conf_low": [-0.6],
            "conf_high": [-0.2],
            "model": ["cox"],
        }
    )
    _csv(root, "scorecard/survival_model.csv", model)
    if simulated:
        check = pd.DataFrame(
            {
                "kpi": ["rd_intensity", "rd_intensity"],
                "park": list(PARKS[:2]),
                "estimate": [0.1, 0.05],
                "conf_low": [0.02, -0.03],
                "conf_high": [0.18, 0.13],
                "truth": [0.12, 0.2],
                "inside": [True, False],
            }
        )
        _csv(root, "scorecard/truth_check.csv", check)
    (root / "figures" / "scorecard_survival.png").write_bytes(_png("survival"))
    (root / "figures" / "scorecard_effects.png").write_bytes(_png("effects by park"))


def write_fake_outputs(root: Path, *, scorecard: bool = True, simulated: bool = True) -> Path:
    """Write a small fake analysis output folder into ``root`` and return it."""
    (root / "figures").mkdir(parents=True, exist_ok=True)
    _study_files(root, simulated)
    _data_files(root)
    for name in ("event_studies", "event_study_tfp", "entry_cohorts", "extra_chart"):
        (root / "figures" / f"{name}.png").write_bytes(_png(name))
    if scorecard:
        _scorecard_files(root, simulated)
    manifest = {
        "analysis": "fake_run",
        "seed": 123,
        "config": CONFIG,
        "environment": {"python": "3.11.7", "packages": {"parkimpact": "0.1.0"}},
        "inputs": {"financials": {"path": "data/financials.csv", "sha256": "ab" * 32}},
        "outputs": {},
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_outputs(tmp_path_factory.mktemp("full") / "fake_run")


@pytest.fixture(scope="module")
def full_report(full: Path) -> tuple[str, str]:
    return render_report(full)


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_outputs(
        tmp_path_factory.mktemp("bare") / "fake_run", scorecard=False, simulated=False
    )


def _no_report(folder: str, names: list[str]) -> list[str]:
    """``shutil.copytree`` filter leaving out earlier reports."""
    return [n for n in names if n == "report"]


def _text_of(page: str) -> str:
    """Visible text of an HTML page (tags removed, entities decoded)."""
    body = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------


def test_build_report_writes_html_and_markdown_into_report_folder(full: Path) -> None:
    paths = build_report(full)
    assert isinstance(paths, ReportPaths)
    assert paths.html == full / "report" / "scorecard.html"
    assert paths.markdown == full / "report" / "scorecard.md"
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.files)


def test_report_is_byte_identical_across_builds_and_folders(full: Path, tmp_path: Path) -> None:
    first = build_report(full)
    copy = shutil.copytree(full, tmp_path / "elsewhere" / "fake_run", ignore=_no_report)
    second = build_report(copy)
    for one, two in zip(first.files, second.files, strict=True):
        assert (
            hashlib.sha256(one.read_bytes()).digest() == hashlib.sha256(two.read_bytes()).digest()
        )


def test_report_does_not_read_its_own_previous_output(full: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(full, tmp_path / "fake_run")
    first = build_report(copy).html.read_bytes()
    assert build_report(copy).html.read_bytes() == first


def test_staging_folder_without_manifest_uses_run_info(full: Path, tmp_path: Path) -> None:
    staging = shutil.copytree(full, tmp_path / "fake_run.partial")
    manifest = json.loads((staging / "manifest.json").read_text(encoding="utf-8"))
    (staging / "manifest.json").unlink()
    bare_page, _ = render_report(staging)
    assert "Analysis fake_run" in " ".join(_text_of(bare_page).split())
    assert "[did] control_group" not in bare_page
    staged = build_report(staging, run_info=manifest).html.read_bytes()
    finished = build_report(full, out=tmp_path / "finished" / "report").html.read_bytes()
    assert staged == finished


# ---------------------------------------------------------------------------
# self-contained and safe
# ---------------------------------------------------------------------------


def test_html_is_self_contained(full_report: tuple[str, str]) -> None:
    page, _ = full_report
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page
    targets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", page, flags=re.I)
    assert targets
    assert all(t.startswith(("data:image/png;base64,", "#")) for t in targets)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_csv_text_is_escaped_in_html_and_markdown(full_report: tuple[str, str]) -> None:
    page, markdown = full_report
    assert HOSTILE not in page
    assert html.escape(HOSTILE, quote=True) in page
    assert not re.search(r"(?<!\\)<(script|img)", markdown)
    assert "\\<script\\>" in markdown


def test_figures_are_embedded_with_alt_text_and_linked_in_markdown(
    full_report: tuple[str, str],
) -> None:
    page, markdown = full_report
    images = re.findall(r"<img [^>]*>", page)
    assert len(images) == 5  # effects, survival, event studies, cohorts, extra chart
    assert all(re.search(r'alt="[^"]{10,}"', tag) for tag in images)
    assert "../figures/scorecard_survival.png" in markdown
    assert "../figures/event_studies.png" in markdown
    assert "event_study_tfp.png" not in markdown  # duplicate of the combined figure


def test_tables_have_column_and_row_headers(full_report: tuple[str, str]) -> None:
    page, _ = full_report
    assert page.count("<caption>") == page.count("<table")
    assert page.count('<th scope="col"') > 20
    assert '<th scope="row"' in page


# ---------------------------------------------------------------------------
# content
# ---------------------------------------------------------------------------


def test_sections_in_order_in_both_formats(full_report: tuple[str, str]) -> None:
    page, markdown = full_report
    titles = [
        "Executive summary",
        "Key performance indicators",
        "Survival of tenant firms",
        "Effects over time (event studies)",
        "Data quality and the drop report",
        "Methods and caveats",
        "Appendix",
    ]
    for i, title in enumerate(titles, start=1):
        assert f">{i}. {html.escape(title)}</h2>" in page
        assert f"## {i}. {title}" in markdown


def test_summary_states_effects_in_plain_words(full_report: tuple[str, str]) -> None:
    text = " ".join(_text_of(full_report[0]).split())
    assert "0.440 log points higher for tenants (about +55.3%)" in text
    assert "Inconclusive: the 95% interval includes zero" in text
    assert "4 of 4 headline intervals contain the true effect" in text


def test_counterfactual_is_tenant_value_minus_effect(full_report: tuple[str, str]) -> None:
    _, markdown = full_report
    # Hsinchu, rd_intensity: tenants 1.0, effect 0.1 -> 0.900 without the park.
    line = next(
        ln for ln in markdown.splitlines() if ln.startswith("| Hsinchu | rd\\_intensity (v1)")
    )
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2:5] == ["1.000", "0.800", "0.900"]
    assert cells[5].startswith("+0.100 (0.020 to 0.180)")


def test_kpi_statuses_and_detail_rows(full_report: tuple[str, str]) -> None:
    page, markdown = full_report
    assert '<span class="badge badge-descriptive-only">descriptive only</span>' in page
    assert '<span class="badge badge-not-available">not available</span>' in page
    assert "1 of 21 indicator rows are marked 'not available'" in _text_of(page)
    assert "Indicators by park and year" in markdown
    assert "Indicators by park and cohort" in markdown


def test_survival_table_reads_step_curves_at_horizons(full_report: tuple[str, str]) -> None:
    _, markdown = full_report
    row = next(ln for ln in markdown.splitlines() if ln.startswith("| Hsinchu | all | tenants"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == "100"
    assert cells[4] == f"{0.97:.2f} ({0.94:.2f} to {1.0:.2f})"
    assert cells[6] == f"{0.97**5:.2f} ({0.97**5 - 0.03:.2f} to {0.97**5 + 0.03:.2f})"
    assert len(cells) == 7  # horizons 1, 3, 5; 10 years is beyond the curves' end (7 years)
    assert "After 10 years" not in markdown


def test_event_study_pretrend_table(full_report: tuple[str, str]) -> None:
    _, markdown = full_report
    row = next(
        ln
        for ln in markdown.splitlines()
        if ln.startswith("| Total factor productivity (log TFP) | 3 |")
    )
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:4] == ["3", "0", "0.000"]
    assert cells[4] == "+0.050 (0.000 to 0.100)"


def test_data_quality_section(full_report: tuple[str, str]) -> None:
    text = " ".join(_text_of(full_report[0]).split())
    assert "financials 20 of 1,000 (2.0%)" in text
    assert "data/dropped_rows.csv lists each of the 20 rows" in text
    assert "2 entry cohorts with 25 tenant firms; 75 firms were never in a park" in text
    assert "3 firm(s) left their park" in text


def test_methods_section_names_se_types_and_truth(full_report: tuple[str, str]) -> None:
    text = " ".join(_text_of(full_report[0]).split())
    assert "conditional on the first stage (TFP taken as data)" in text
    assert "whole-pipeline 4" in text and "conditional 4" in text
    assert "1 of 2 intervals contain the truth" in text
    assert "Few bootstrap replications." in text
    assert "[did] control_group" in text
    assert "Firms that left a park are still counted as tenants" in text


def test_missing_scorecard_and_real_data_are_stated(bare: Path) -> None:
    page, markdown = render_report(bare)
    text = " ".join(_text_of(page).split())
    assert "scorecard/kpis.csv was not found in this output folder" in text
    assert "scorecard/survival_curves.csv was not found" in text
    assert "figures/scorecard_survival.png was not found" in text
    assert "estimates cannot be compared with a truth" in text
    assert "Simulated data." not in text
    assert "> **Not available.**" in markdown


def test_only_some_files_still_renders(tmp_path: Path) -> None:
    root = tmp_path / "only_drops"
    _data_files(root)
    page, _ = render_report(root)
    text = " ".join(_text_of(page).split())
    assert "tables/headline.csv and study/estimates.csv were not found" in text
    assert "Row accounting" in text


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_missing_output_dir_raises(tmp_path: Path) -> None:
    with pytest.raises(
        MissingOutputsError, match="output_dir must be an existing .* does not exist"
    ):
        build_report(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):
        build_report(tmp_path / "nowhere")


def test_folder_without_outputs_raises_naming_expected_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(
        MissingOutputsError, match=r"got none of the expected files .*headline\.csv"
    ):
        build_report(tmp_path)


def test_scorecard_without_contract_columns_raises(full: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(full, tmp_path / "fake_run")
    kpis = pd.read_csv(copy / "scorecard" / "kpis.csv").drop(columns=["status"])
    kpis.to_csv(copy / "scorecard" / "kpis.csv", index=False)
    with pytest.raises(
        ReportInputError, match=r"scorecard/kpis.csv must have the columns .*'status'"
    ):
        render_report(copy)
    assert issubclass(ReportInputError, ParkImpactError)


def test_broken_manifest_raises(full: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(full, tmp_path / "fake_run")
    (copy / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReportInputError, match="manifest.json must be valid JSON"):
        render_report(copy)


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------


def test_cli_report_writes_files(
    full: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(full), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "scorecard.html").is_file()
    assert "scorecard.html" in capsys.readouterr().out


def test_cli_report_missing_folder_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "nowhere")]) == 1
    assert "output_dir must be an existing" in capsys.readouterr().err
