"""The run report: one self-contained HTML page (and the same in Markdown) per output folder.

:func:`build_report` reads only the files an analysis run wrote into its output
folder (tables, the study's tidy estimates, the drop report, figures, the park
scorecard when present, and ``manifest.json`` when present) and writes

* ``report/scorecard.html`` -- a single page with inline CSS and figures
  embedded as ``data:`` URIs; it loads nothing (no scripts, fonts or style
  sheets from elsewhere, enforced by a Content-Security-Policy) and prints on
  A4;
* ``report/scorecard.md`` -- the same sections, tables and notes in Markdown,
  figures linked by relative path.

Nothing is estimated: the report shows exactly the numbers of the run. The
files are deterministic (no clock time, stable ordering), so equal outputs
give byte-identical reports and the report's hash can be recorded in the
manifest. The function works on a run's ``.partial`` staging folder before its
manifest exists; pass the manifest fields as ``run_info`` in that case.

Sections: executive summary, key performance indicators, survival of tenant
firms, event studies, data quality and the drop report, methods and caveats,
appendix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parkimpact._version import __version__
from parkimpact.report._report_doc import Document, Figure, Section, to_html, to_markdown
from parkimpact.report._report_format import as_bool, as_float, fmt_count, text
from parkimpact.report._report_inputs import (
    MissingOutputsError,
    ReportInputError,
    RunOutputs,
    read_outputs,
)
from parkimpact.report._report_methods import appendix_section, methods_section
from parkimpact.report._report_sections import data_section, event_section, survival_section
from parkimpact.report._report_summary import kpi_section, summary_section

__all__ = [
    "build_report",
    "render_report",
    "ReportPaths",
    "ReportInputError",
    "MissingOutputsError",
    "REPORT_DIR",
    "HTML_NAME",
    "MARKDOWN_NAME",
]

#: Folder inside the output folder that receives the report by default.
REPORT_DIR = "report"
#: File name of the HTML report.
HTML_NAME = "scorecard.html"
#: File name of the Markdown report.
MARKDOWN_NAME = "scorecard.md"


@dataclass(frozen=True)
class ReportPaths:
    """Where a report was written.

    Attributes
    ----------
    html : Path
        The self-contained HTML page.
    markdown : Path
        The Markdown version.
    """

    html: Path
    markdown: Path

    @property
    def files(self) -> tuple[Path, Path]:
        """Both files, HTML first."""
        return (self.html, self.markdown)


def _facts(outputs: RunOutputs) -> tuple[tuple[str, str], ...]:
    facts = [("Analysis", outputs.name)]
    seed = text(outputs.run_info.get("seed"))
    if seed:
        facts.append(("Seed", seed))
    cohorts = outputs.frame("cohorts")
    if cohorts is not None and not cohorts.empty:
        facts.append(("Firms", fmt_count(cohorts["n_firms"].map(as_float).sum())))
        facts.append(("Firm-years", fmt_count(cohorts["n_obs"].map(as_float).sum())))
        never = cohorts.get("never_treated")
        if never is not None:
            tenants = cohorts.loc[~never.map(as_bool).fillna(False).astype(bool), "n_firms"]
            facts.append(("Tenant firms", fmt_count(tenants.map(as_float).sum())))
    kpis = outputs.frame("kpis")
    if kpis is not None and not kpis.empty:
        parks = kpis["park"].map(text)
        # "all" is the pooled comparison across parks, not a park
        facts.append(("Parks", str(parks[parks != "all"].nunique())))
    facts.append(("Data", "simulated (true effects known)" if outputs.simulated else "as supplied"))
    return tuple(facts)


def _figures_in(sections: list[Section]) -> list[str]:
    return [b.path for s in sections for b in s.blocks if isinstance(b, Figure)]


def _document(outputs: RunOutputs, figure_base: str) -> Document:
    sections = [
        summary_section(outputs),
        kpi_section(outputs),
        survival_section(outputs),
        event_section(outputs),
        data_section(outputs),
        methods_section(outputs),
    ]
    sections.append(appendix_section(outputs, _figures_in(sections)))
    return Document(
        title="Science park impact report",
        subtitle=f"Effects of park entry on tenant firms: analysis '{outputs.name}'",
        facts=_facts(outputs),
        sections=tuple(sections),
        footer=(
            f"Built by parkimpact {__version__} from the files of the output folder of "
            f"'{outputs.name}' only; no model was re-estimated. The same files give the "
            "same report, byte for byte."
        ),
        figure_base=figure_base,
    )


def render_report(
    output_dir: str | os.PathLike[str],
    *,
    run_info: Mapping[str, Any] | None = None,
    figure_base: str = "..",
) -> tuple[str, str]:
    """Render the report of an output folder without writing it.

    Parameters
    ----------
    output_dir : str or PathLike
        The analysis output folder (or its ``.partial`` staging folder).
    run_info : Mapping or None
        Manifest-shaped run information (``analysis``, ``seed``, ``config``,
        ``environment``, ``inputs``). None reads ``output_dir/manifest.json``
        when it exists and shows no run information otherwise.
    figure_base : str, default ".."
        Path from the Markdown file to ``output_dir``, used in figure links.

    Returns
    -------
    tuple of str
        The HTML page and the Markdown text.

    Raises
    ------
    MissingOutputsError
        If ``output_dir`` does not exist or holds none of the files the
        report reads.
    ReportInputError
        If a file it reads lacks the columns its writer promises.
    """
    outputs = read_outputs(Path(output_dir), run_info)
    document = _document(outputs, figure_base)
    return to_html(document), to_markdown(document)


def _relative(target: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return target.resolve().as_posix()


def build_report(
    output_dir: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    run_info: Mapping[str, Any] | None = None,
) -> ReportPaths:
    """Write the HTML and Markdown report of an analysis output folder.

    Parameters
    ----------
    output_dir : str or PathLike
        The folder ``parkimpact run`` wrote (or its ``.partial`` staging
        folder during a run). Only its files are read; nothing is refitted.
    out : str, PathLike or None
        Folder for ``scorecard.html`` and ``scorecard.md`` (created if
        needed); default ``output_dir/report``.
    run_info : Mapping or None
        Manifest-shaped run information (``analysis``, ``seed``, ``config``,
        ``environment``, ``inputs``) for the methods section and appendix;
        None reads ``output_dir/manifest.json`` when it exists. A run that
        builds the report before writing its manifest passes the manifest's
        fields here, so that a later ``parkimpact report`` on the finished
        folder writes the same bytes.

    Returns
    -------
    ReportPaths
        The two files written.

    Raises
    ------
    MissingOutputsError
        If ``output_dir`` does not exist or holds none of the files the
        report reads.
    ReportInputError
        If a file it reads lacks the columns its writer promises.

    Examples
    --------
    >>> paths = build_report("output/hsinchu_style")  # doctest: +SKIP
    >>> paths.html.name
    'scorecard.html'
    """
    source = Path(output_dir)
    target = Path(out) if out is not None else source / REPORT_DIR
    html_text, markdown_text = render_report(
        source, run_info=run_info, figure_base=_relative(source, target)
    )
    target.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(target / HTML_NAME, target / MARKDOWN_NAME)
    paths.html.write_text(html_text, encoding="utf-8", newline="\n")
    paths.markdown.write_text(markdown_text, encoding="utf-8", newline="\n")
    return paths
