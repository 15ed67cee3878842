"""The ``replication`` analysis kind: one published table, recomputed and compared.

Configuration::

    [analysis]
    name = "replication_mpdta"
    kind = "replication"
    output = "output/replications/mpdta"

    [replication]
    case = "mpdta"   # or "jtrain", "ezunem", "nsw", "prodest_chile"

Outputs: ``tables/replication_<case>.csv`` (columns :data:`COLUMNS`, full
precision), the same table as ``.tex`` and ``.md`` (values at the printed
precision of the source, sources as numbered notes) and
``replication_<case>.txt``, a text summary with the data provenance and the
reason of every tolerance.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Mapping
from types import ModuleType

import pandas as pd

from parkimpact.analysis.config import AnalysisConfig
from parkimpact.analysis.kinds import AnalysisOutcome, register
from parkimpact.analysis.outputs import OutputWriter
from parkimpact.analysis.progress import Progress
from parkimpact.analysis.replications._common import COLUMNS, CaseResult, Published
from parkimpact.report import RegressionTable, descriptive_table
from parkimpact.report.render import number_cell

__all__ = ["CASES", "SECTIONS", "run_replication", "replicate", "case_module", "display_table"]

#: Case name -> module of :mod:`parkimpact.analysis.replications` that computes it.
CASES: Mapping[str, str] = {
    "mpdta": "mpdta",
    "jtrain": "jtrain",
    "ezunem": "ezunem",
    "nsw": "nsw",
    "prodest_chile": "prodest_chile",
}

SECTIONS = {"replication": {"case"}}

_HEADER = {
    "published": "Published",
    "computed": "Computed",
    "difference": "Difference",
    "tolerance": "Tolerance",
    "within_tolerance": "Within",
    "source": "Source",
}


def case_module(case: object) -> ModuleType:
    """The module of a case (imported on demand, so one case needs only its own estimators).

    Raises
    ------
    ValueError
        If ``case`` is not one of :data:`CASES`.
    """
    if not isinstance(case, str) or case not in CASES:
        raise ValueError(
            f"[replication] case must be one of {sorted(CASES)}; got {case!r}. "
            'Set e.g. case = "mpdta" in the [replication] section.'
        )
    return importlib.import_module(f"parkimpact.analysis.replications.{CASES[case]}")


def replicate(config: AnalysisConfig) -> tuple[str, CaseResult]:
    """Run the case of ``config``; return its title and result."""
    module = case_module(config.section("replication").get("case"))
    return str(module.TITLE), module.replicate(config)


def _small(value: float, decimals: int) -> str:
    """A difference or tolerance: fixed decimals, or scientific when it would print as 0."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return ""
    if abs(value) >= 10.0 ** -(decimals + 2):
        return f"{value:.{decimals + 2}f}"
    return f"{value:.1e}"


def _source_keys(frame: pd.DataFrame) -> dict[str, int]:
    keys: dict[str, int] = {}
    for source in frame["source"]:
        keys.setdefault(source, len(keys) + 1)
    return keys


def display_table(title: str, result: CaseResult) -> RegressionTable:
    """The comparison at the printed precision of each published number.

    Published values show the decimals printed in the source, computed values
    two more; sources are numbered and listed under the table.
    """
    frame = result.frame
    keys = _source_keys(frame)
    rows = []
    for item, row in zip(result.published, frame.itertuples(index=False), strict=True):
        rows.append(_display_row(item, row, keys))
    shown = pd.DataFrame(rows, columns=list(COLUMNS)).set_index("quantity")
    shown = shown.rename(columns=_HEADER)
    shown.index.name = "Quantity"
    notes = [
        "Difference = computed - published; tolerances are absolute.",
        *(f"[{k}] {source}." for source, k in keys.items()),
    ]
    table = descriptive_table(shown, title=title, notes=notes)
    signed = tuple(
        tuple(
            number_cell(c) if 1 <= j <= 4 and isinstance(c, str) and _is_number(c) else c
            for j, c in enumerate(cells)
        )
        for cells in table.rows
    )
    return dataclasses.replace(table, rows=signed, align="lrrrrcc")


def _display_row(item: Published, row: tuple, keys: Mapping[str, int]) -> tuple:
    decimals = item.decimals
    computed_decimals = decimals + 2 if decimals or not float(row[2]).is_integer() else 0
    return (
        item.quantity,
        f"{item.value:.{decimals}f}",
        f"{row[2]:.{computed_decimals}f}" if math.isfinite(row[2]) else "",
        _small(float(row[3]), decimals),
        _small(float(row[4]), decimals),
        bool(row[5]),
        f"[{keys[row[6]]}]",
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def summary_text(case: str, title: str, result: CaseResult, table: RegressionTable) -> str:
    """Verdict, the table as text, the tolerance reasons and the notes of a case."""
    frame = result.frame
    within = int(frame["within_tolerance"].sum())
    ratio = (frame["difference"].abs() / frame["tolerance"]).where(frame["tolerance"] > 0, 0.0)
    worst = int(ratio.fillna(float("inf")).to_numpy().argmax())
    largest = int(frame["difference"].abs().fillna(float("inf")).to_numpy().argmax())
    lines = [
        f"Replication {case}: {title}",
        f"{within} of {len(frame)} rows within tolerance"
        + ("." if within == len(frame) else "; NOT REPLICATED: see the rows marked No."),
        f"Largest |difference|: {abs(frame['difference'].iloc[largest]):.3g} "
        f"({frame['quantity'].iloc[largest]}); largest |difference| / tolerance: "
        f"{ratio.iloc[worst]:.3g} ({frame['quantity'].iloc[worst]}).",
        "",
        table.to_text(),
        "",
        "Tolerances:",
    ]
    reasons: dict[str, int] = {}
    for item in result.published:
        reasons[item.tolerance.reason] = reasons.get(item.tolerance.reason, 0) + 1
    lines += [
        f"- {reason} ({count} row{'s' if count > 1 else ''})" for reason, count in reasons.items()
    ]
    if result.notes:
        lines += ["", "Notes:", *(f"- {note}" for note in result.notes)]
    return "\n".join(lines) + "\n"


@register("replication", steps=2, sections=SECTIONS)
def run_replication(
    config: AnalysisConfig, out: OutputWriter, progress: Progress
) -> AnalysisOutcome:
    """Recompute one published table and write the comparison."""
    case = config.section("replication").get("case")
    case_module(case)  # check the name before any work
    progress.step(f"replicating {case}")
    title, result = replicate(config)
    progress.step("writing the comparison table")
    stem = f"tables/replication_{case}"
    out.csv(f"{stem}.csv", result.frame)
    table = display_table(title, result)
    out.table(stem, table)
    summary = summary_text(str(case), title, result, table)
    out.text(f"replication_{case}.txt", summary)
    return AnalysisOutcome(summary=summary, inputs=dict(result.inputs))
