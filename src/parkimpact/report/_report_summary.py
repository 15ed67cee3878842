"""The executive summary and the KPI scorecard sections of the run report."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pandas as pd

from parkimpact.report._report_doc import (
    Block,
    Bullets,
    Cards,
    Figure,
    Heading,
    Paragraph,
    Section,
    Table,
)
from parkimpact.report._report_format import (
    as_bool,
    as_float,
    config_settings,
    digits_for,
    effect_card,
    effect_sentence,
    fmt,
    fmt_count,
    fmt_interval,
    fmt_percent,
    fmt_signed,
    setting,
    text,
)
from parkimpact.report._report_inputs import CSV_FILES, RunOutputs

__all__ = [
    "missing_note",
    "headline_rows",
    "summary_section",
    "kpi_section",
    "kpi_detail_blocks",
    "LEVEL_LABELS",
]

#: How the ``level`` values of ``scorecard/kpis.csv`` are named in the report.
LEVEL_LABELS = {"park": "Park", "park_year": "Park and year", "park_cohort": "Park and cohort"}
_ESTIMANDS = ("simple", "proportional")
_WHERE = {"year": "Year", "cohort": "Entry cohort"}


def missing_note(what: str, *paths: str) -> Paragraph:
    """A clear 'not available' note naming the files that were not found."""
    files = " and ".join(paths)
    verb = "was" if len(paths) == 1 else "were"
    return Paragraph(
        f"{what} cannot be shown: {files} {verb} not found in this output folder.",
        style="missing",
        label="Not available.",
    )


def headline_rows(outputs: RunOutputs) -> pd.DataFrame | None:
    """Headline effects: ``tables/headline.csv`` or the overall rows of the estimates."""
    headline = outputs.frame("headline")
    if headline is not None:
        return headline
    estimates = outputs.frame("estimates")
    if estimates is None:
        return None
    keep = estimates["estimand"].isin(_ESTIMANDS)
    for column in ("by", "event_time"):
        if column in estimates:
            keep &= estimates[column].isna()
    return estimates.loc[keep].reset_index(drop=True)


def _park_rows(kpis: pd.DataFrame) -> pd.DataFrame:
    return kpis.loc[kpis["level"].astype(str) == "park"]


def _grouped_by_park(rows: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """Rows grouped by park, parks in order of first appearance, rows in file order."""
    parks = list(dict.fromkeys(rows["park"].map(text)))
    for park in parks:
        yield park, rows.loc[rows["park"].map(text) == park]


def _kpi_name(row: pd.Series) -> str:
    version = text(row["version"])
    return f"{text(row['kpi'])} (v{version})" if version else text(row["kpi"])


def _reading(row: pd.Series) -> str:
    status = text(row["status"]).lower()
    if status != "estimated":
        return status or "not stated"
    low, high = as_float(row["conf_low"]), as_float(row["conf_high"])
    if math.isnan(low) or math.isnan(high):
        return "estimated, no interval"
    if low > 0:
        return "higher; interval excludes zero"
    if high < 0:
        return "lower; interval excludes zero"
    return "inconclusive; interval includes zero"


def _counterfactual_table(kpis: pd.DataFrame) -> Table:
    rows = []
    for park, group in _grouped_by_park(_park_rows(kpis)):
        for _, row in group.iterrows():
            values = [row[c] for c in ("tenants", "non_tenants", "effect", "conf_low", "conf_high")]
            d = digits_for(values)
            estimated = text(row["status"]).lower() == "estimated"
            tenants, effect = as_float(row["tenants"]), as_float(row["effect"])
            without = tenants - effect if estimated else math.nan
            interval = fmt_interval(row["conf_low"], row["conf_high"], d)
            effect_text = fmt_signed(effect, d) if estimated else ""
            if effect_text and interval:
                effect_text = f"{effect_text} ({interval})"
            rows.append(
                (
                    park,
                    _kpi_name(row),
                    fmt(tenants, d),
                    fmt(row["non_tenants"], d),
                    fmt(without, d),
                    effect_text,
                    _reading(row),
                )
            )
    return Table(
        caption="Key indicators per park: observed values and the estimated counterfactual",
        header=(
            "Park",
            "KPI",
            "Tenants (observed)",
            "Non-tenants (observed)",
            "Tenants without the park (estimated)",
            "Effect (95% CI)",
            "Reading",
        ),
        rows=tuple(rows),
        align="llrrrrl",
        notes=(
            "Tenants without the park = observed tenant value minus the estimated causal "
            "effect; shown only where the effect is estimated. The non-tenant value is a "
            "plain average of other firms and is not a counterfactual.",
        ),
        group_first=True,
    )


def _headline_blocks(outputs: RunOutputs) -> list[Block]:
    rows = headline_rows(outputs)
    if rows is None or rows.empty:
        return [missing_note("Headline effects", "tables/headline.csv", "study/estimates.csv")]
    cards, sentences = [], []
    for _, row in rows.iterrows():
        outcome, estimand = text(row["outcome"]), text(row["estimand"])
        cards.append(effect_card(outcome, estimand, row.to_dict()))
        sentences.append((None, effect_sentence(outcome, estimand, row.to_dict())))
    blocks: list[Block] = [
        Heading("Headline effects of park entry"),
        Cards(tuple(cards)),
        Paragraph("In plain words:"),
        Bullets(tuple(sentences)),
    ]
    ci_types = sorted({text(v) for v in rows.get("ci_se_type", pd.Series(dtype=object))} - {""})
    if ci_types:
        blocks.append(
            Paragraph(
                "Intervals are 95% confidence intervals from the "
                f"{' and '.join(t.replace('_', '-') for t in ci_types)} standard errors; "
                "section 6 explains what each standard error accounts for.",
                style="note",
            )
        )
    return blocks


def _design_sentence(outputs: RunOutputs) -> str:
    settings = config_settings(outputs)
    control = setting(settings, "did", "control_group")
    comparison = {
        "never_treated": "similar firms that were never in a park",
        "not_yet_treated": "similar firms not yet in a park",
    }.get(str(control), "similar firms outside the parks")
    return (
        "Effects are average effects on park tenants: the difference between tenants' "
        "outcomes after entry and the outcomes the same firms are estimated to have had "
        f"without entering a park, judged against {comparison}."
    )


def _quality_sentence(outputs: RunOutputs) -> Paragraph | None:
    accounting = outputs.frame("row_accounting")
    if accounting is None or accounting.empty:
        return None
    parts = []
    for _, row in accounting.iterrows():
        rows_in, dropped = as_float(row["rows_in"]), as_float(row["rows_dropped"])
        if dropped > 0:
            share = fmt_percent(dropped / rows_in if rows_in else math.nan)
            parts.append(
                f"{text(row['source'])} {fmt_count(dropped)} of {fmt_count(rows_in)} ({share})"
            )
    dropped_text = "; ".join(parts) if parts else "none"
    balanced = accounting.get("balanced")
    flags = [] if balanced is None else [as_bool(v) for v in balanced]
    adds_up = (
        " Rows read, kept and dropped add up at every stage."
        if flags and all(f is True for f in flags)
        else " At least one stage does not add up; see section 5."
        if any(f is False for f in flags)
        else ""
    )
    return Paragraph(
        f"Rows dropped with a recorded reason: {dropped_text}.{adds_up} Section 5 lists "
        "the reasons.",
        label="Data quality.",
    )


def _truth_sentence(outputs: RunOutputs) -> Paragraph | None:
    rows = headline_rows(outputs)
    if rows is None or "truth_in_ci" not in rows or not outputs.simulated:
        return None
    flags = [b for b in rows["truth_in_ci"].map(as_bool) if b is not None]
    if not flags:
        return None
    return Paragraph(
        f"The data are simulated, so the true effects are known: {sum(flags)} of "
        f"{len(flags)} headline intervals contain the true effect (section 6).",
        label="Simulated data.",
        style="warning",
    )


def summary_section(outputs: RunOutputs) -> Section:
    """Section 1: what was found, in plain words, with the per-park counterfactual."""
    blocks: list[Block] = [
        Paragraph(
            f"This report summarises the analysis '{outputs.name}' from the files the run "
            f"wrote ({len(outputs.sources)} files, listed with their SHA-256 hashes in the "
            "appendix). No model was re-estimated to produce it. " + _design_sentence(outputs),
            style="lead",
        )
    ]
    truth = _truth_sentence(outputs)
    if truth is not None:
        blocks.append(truth)
    blocks += _headline_blocks(outputs)
    blocks.append(Heading("Parks at a glance"))
    kpis = outputs.frame("kpis")
    if kpis is None:
        blocks.append(missing_note("The park scorecard", CSV_FILES["kpis"][0]))
    elif _park_rows(kpis).empty:
        blocks.append(
            Paragraph(
                "scorecard/kpis.csv holds no park-level rows.",
                style="missing",
                label="Not available.",
            )
        )
    else:
        blocks.append(_counterfactual_table(kpis))
    quality = _quality_sentence(outputs)
    if quality is not None:
        blocks.append(quality)
    return Section("summary", "Executive summary", tuple(blocks))


def _kpi_table(rows: pd.DataFrame, caption: str, *, where: str | None = None) -> Table:
    """KPI rows; ``where`` names the column (``year`` or ``cohort``) that sets them apart."""
    body = []
    for _, row in rows.iterrows():
        d = digits_for([row[c] for c in ("tenants", "non_tenants", "effect")])
        cell = [text(row[where])] if where else []
        body.append(
            (
                text(row["park"]),
                _kpi_name(row),
                *cell,
                fmt_count(row["n_tenants"]),
                fmt(row["tenants"], d),
                fmt(row["non_tenants"], d),
                fmt_signed(row["effect"], d),
                fmt_interval(row["conf_low"], row["conf_high"], d),
                text(row["method"]),
                text(row["status"]),
                text(row["note"]),
            )
        )
    header = ["Park", "KPI"] + ([_WHERE[where]] if where else [])
    header += [
        "Tenant firms",
        "Tenants",
        "Non-tenants",
        "Effect",
        "95% CI",
        "Method",
        "Status",
        "Note",
    ]
    status = header.index("Status")
    align = "ll" + ("l" if where else "") + "rrrrrlll"
    return Table(
        caption,
        tuple(header),
        tuple(body),
        align=align,
        status_column=status,
        group_first=True,
    )


def _definitions_table(definitions: pd.DataFrame) -> Table:
    rows = tuple(
        tuple(text(r[c]) for c in ("kpi", "version", "formula", "unit", "source"))
        for _, r in definitions.iterrows()
    )
    return Table(
        "Definitions of the key performance indicators",
        ("KPI", "Version", "Formula", "Unit", "Source"),
        rows,
        align="lllll",
    )


def kpi_section(outputs: RunOutputs) -> Section:
    """Section 2: the KPI table (descriptive values, causal effect, status) and definitions."""
    blocks: list[Block] = [
        Paragraph(
            "For each park and indicator: the average among tenant firms and among other "
            "firms (descriptive; the gap between them mixes the park's effect with the "
            "differences between firms that choose to enter), and the causal effect of park "
            "entry estimated against a counterfactual, with its 95% confidence interval. "
            "Status says which of the two an indicator supports."
        )
    ]
    kpis = outputs.frame("kpis")
    if kpis is None:
        blocks.append(missing_note("The KPI table", CSV_FILES["kpis"][0]))
    else:
        park = _park_rows(kpis)
        if park.empty:
            blocks.append(Paragraph("No park-level rows.", style="missing", label="Not available."))
        else:
            blocks.append(_kpi_table(park, "Key performance indicators by park"))
        others = len(kpis) - len(park)
        if others:
            blocks.append(
                Paragraph(
                    f"{others} further rows by year or entry cohort are listed in the appendix.",
                    style="note",
                )
            )
        statuses = kpis["status"].map(text)
        absent = [s for s in statuses if s.lower() == "not available"]
        if absent:
            blocks.append(
                Paragraph(
                    f"{len(absent)} of {len(kpis)} indicator rows are marked 'not available'; "
                    "their notes give the reason.",
                    style="note",
                )
            )
    figure = outputs.figure("figures/scorecard_effects.png")
    if figure is not None:
        blocks.append(
            Figure(
                "figures/scorecard_effects.png",
                figure,
                alt="Chart of the estimated effect of park entry on each key indicator, by "
                "park, with 95% confidence intervals.",
                caption="Estimated effects on the key indicators by park, with 95% intervals.",
            )
        )
    else:
        blocks.append(missing_note("The effects chart", "figures/scorecard_effects.png"))
    blocks.append(Heading("Indicator definitions"))
    definitions = outputs.frame("definitions")
    if definitions is None:
        blocks.append(missing_note("The indicator definitions", CSV_FILES["definitions"][0]))
    else:
        blocks.append(_definitions_table(definitions))
    return Section("kpis", "Key performance indicators", tuple(blocks))


def kpi_detail_blocks(outputs: RunOutputs) -> list[Block]:
    """Appendix tables of the KPI rows by year and by entry cohort (empty if none)."""
    kpis = outputs.frame("kpis")
    if kpis is None:
        return []
    blocks: list[Block] = []
    for level, where in (("park_year", "year"), ("park_cohort", "cohort")):
        rows = kpis.loc[kpis["level"].astype(str) == level]
        if rows.empty:
            continue
        label = LEVEL_LABELS[level].lower()
        blocks.append(Heading(f"Indicators by {label}"))
        blocks.append(_kpi_table(rows, f"Key performance indicators by {label}", where=where))
    other = kpis.loc[~kpis["level"].astype(str).isin(list(LEVEL_LABELS))]
    if not other.empty:
        levels = sorted({text(v) for v in other["level"]})
        blocks.append(
            Paragraph(
                f"{len(other)} rows with an unknown level ({', '.join(levels)}) are not shown; "
                "levels must be one of park, park_year, park_cohort.",
                style="warning",
            )
        )
    return blocks
