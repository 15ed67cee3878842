"""Survival, event-study and data-quality sections of the run report."""

from __future__ import annotations

import math

import pandas as pd

from parkimpact.report._report_doc import Block, Bullets, Figure, Heading, Paragraph, Section, Table
from parkimpact.report._report_format import (
    as_bool,
    as_float,
    digits_for,
    fmt,
    fmt_count,
    fmt_interval,
    fmt_percent,
    fmt_signed,
    outcome_info,
    text,
)
from parkimpact.report._report_inputs import CSV_FILES, RunOutputs
from parkimpact.report._report_summary import missing_note

__all__ = ["survival_section", "event_section", "data_section", "EVENT_FIGURES", "HORIZONS"]

#: Years after the start of follow-up at which survival is tabulated.
HORIZONS = (1, 3, 5, 10)
#: Event-study figures, in the order tried: the combined page, then one per outcome.
EVENT_FIGURES = ("figures/event_studies.png",)
_TIDY = ("term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high")
_CONTRAST_LABELS = {
    "mean_never": "Never in a park (mean)",
    "n_never": "N never",
    "mean_pre": "Tenants before entry (mean)",
    "n_pre": "N before",
    "mean_post": "Tenants after entry (mean)",
    "n_post": "N after",
}


# ---------------------------------------------------------------------------
# survival
# ---------------------------------------------------------------------------


def _survival_at(curve: pd.DataFrame, horizon: float) -> str:
    """Survival (with its interval) at ``horizon`` on a step curve sorted by time."""
    times = curve["time"].map(as_float)
    if times.isna().all() or horizon > times.max():
        return ""
    before = curve.loc[times <= horizon]
    if before.empty:
        return fmt(1.0, 2)
    last = before.iloc[-1]
    interval = fmt_interval(last["conf_low"], last["conf_high"], 2)
    value = fmt(last["survival"], 2)
    return f"{value} ({interval})" if interval else value


def _survival_table(curves: pd.DataFrame) -> Table:
    keys = ["park", "cohort", "group"]
    labelled = curves.assign(**{k: curves[k].map(text) for k in keys})
    order = list(dict.fromkeys(labelled[keys].itertuples(index=False, name=None)))
    longest = labelled["time"].map(as_float).max()
    horizons = [h for h in HORIZONS if not math.isnan(longest) and h <= longest] or [HORIZONS[0]]
    rows = []
    for park, cohort, group in order:
        curve = labelled.loc[
            (labelled["park"] == park)
            & (labelled["cohort"] == cohort)
            & (labelled["group"] == group)
        ]
        curve = curve.assign(_t=curve["time"].map(as_float)).sort_values("_t", kind="mergesort")
        start = fmt_count(curve["at_risk"].iloc[0]) if len(curve) else ""
        rows.append(
            (park, cohort or "all", group, start, *(_survival_at(curve, h) for h in horizons))
        )
    header = ("Park", "Cohort", "Group", "Firms at start") + tuple(
        f"After {h} year{'s' if h > 1 else ''}" for h in horizons
    )
    return Table(
        "Share of firms still active, tenants and comparison firms",
        header,
        tuple(rows),
        align="lllr" + "r" * len(horizons),
        notes=(
            "Kaplan-Meier-type survival shares with 95% pointwise intervals in brackets; "
            "a blank cell means the curve ends before that horizon.",
        ),
        group_first=True,
    )


def _tidy_table(frame: pd.DataFrame, caption: str) -> Table:
    extras = [c for c in frame.columns if c not in _TIDY]
    numeric = {c for c in extras if pd.api.types.is_float_dtype(frame[c])}
    rows = []
    for _, row in frame.iterrows():
        d = digits_for([row["estimate"], row["conf_low"], row["conf_high"]])
        rows.append(
            (
                text(row["term"]),
                *(fmt(row[c]) if c in numeric else text(row[c]) for c in extras),
                fmt(row["estimate"], d),
                fmt(row["std_error"], d),
                fmt_interval(row["conf_low"], row["conf_high"], d),
                fmt(row["p_value"], 3),
            )
        )
    header = ("Term", *extras, "Estimate", "SE", "95% CI", "p-value")
    return Table(caption, header, tuple(rows), align="l" + "l" * len(extras) + "rrrr")


def survival_section(outputs: RunOutputs) -> Section:
    """Section 3: survival curves of tenants and comparison firms, and the survival model."""
    blocks: list[Block] = [
        Paragraph(
            "How many firms are still active a given number of years after entering a park, "
            "compared with similar firms outside the parks. Survival differences are "
            "descriptive unless the survival model below reports an adjusted estimate."
        )
    ]
    figure = outputs.figure("figures/scorecard_survival.png")
    if figure is not None:
        blocks.append(
            Figure(
                "figures/scorecard_survival.png",
                figure,
                alt="Survival curves: share of tenant firms and comparison firms still active "
                "by years since the start of follow-up, with 95% bands.",
                caption="Survival of tenant firms and comparison firms.",
            )
        )
    else:
        blocks.append(missing_note("The survival chart", "figures/scorecard_survival.png"))
    curves = outputs.frame("survival_curves")
    if curves is None:
        blocks.append(missing_note("The survival table", CSV_FILES["survival_curves"][0]))
    elif curves.empty:
        blocks.append(Paragraph("No survival curve rows.", style="missing", label="Not available."))
    else:
        blocks.append(_survival_table(curves))
    blocks.append(Heading("Survival model"))
    model = outputs.frame("survival_model")
    if model is None:
        blocks.append(missing_note("The survival model", CSV_FILES["survival_model"][0]))
    else:
        blocks.append(_tidy_table(model, "Survival model estimates"))
    return Section("survival", "Survival of tenant firms", tuple(blocks))


# ---------------------------------------------------------------------------
# event studies
# ---------------------------------------------------------------------------


def _event_rows(outputs: RunOutputs) -> pd.DataFrame | None:
    frame = outputs.frame("event_study")
    if frame is not None:
        return frame
    estimates = outputs.frame("estimates")
    if estimates is None or "event_time" not in estimates:
        return None
    keep = (estimates["estimand"] == "dynamic") & estimates["event_time"].notna()
    if "by" in estimates:
        keep &= estimates["by"].isna()
    return estimates.loc[keep]


def _effect_at(rows: pd.DataFrame, when: float) -> str:
    hit = rows.loc[rows["_e"] == when]
    if hit.empty:
        return ""
    row = hit.iloc[0]
    d = digits_for([row["estimate"], row.get("conf_low"), row.get("conf_high")])
    interval = fmt_interval(row.get("conf_low"), row.get("conf_high"), d)
    value = fmt_signed(row["estimate"], d)
    return f"{value} ({interval})" if interval else value


def _pretrend_table(frame: pd.DataFrame) -> Table:
    frame = frame.assign(_e=frame["event_time"].map(as_float))
    has_ci = {"conf_low", "conf_high"} <= set(frame.columns)
    rows = []
    last_e = frame["_e"].max()
    for outcome in dict.fromkeys(frame["outcome"].map(text)):
        rows_o = frame.loc[frame["outcome"].map(text) == outcome].sort_values("_e")
        pre = rows_o.loc[rows_o["_e"] < 0]
        excluded = ""
        if has_ci:
            lows, highs = pre["conf_low"].map(as_float), pre["conf_high"].map(as_float)
            excluded = str(int(((lows > 0) | (highs < 0)).sum()))
        largest = pre["estimate"].map(as_float).abs().max() if len(pre) else math.nan
        rows.append(
            (
                outcome_info(outcome).label,
                str(len(pre)),
                excluded,
                fmt(largest),
                _effect_at(rows_o, 0.0),
                _effect_at(rows_o, last_e),
            )
        )
    return Table(
        "Event studies: checks before entry and effects after entry",
        (
            "Outcome",
            "Years before entry",
            "Pre-entry intervals excluding zero",
            "Largest pre-entry estimate (absolute)",
            "Effect in the entry year (95% CI)",
            "Effect at the end of the window (95% CI)"
            if math.isnan(last_e)
            else f"Effect {fmt(last_e, 0)} years after entry (95% CI)",
        ),
        tuple(rows),
        align="lrrrrr",
        notes=(
            "Before entry the estimates should be close to zero: a pre-entry interval that "
            "excludes zero warns that tenants and comparison firms were already drifting "
            "apart, which would bias the effect. With many pre-entry years, about one in "
            "twenty intervals excludes zero by chance.",
        ),
    )


def event_section(outputs: RunOutputs) -> Section:
    """Section 4: dynamic effects by years since entry, with the pre-entry check."""
    blocks: list[Block] = [
        Paragraph(
            "The effect of park entry year by year, from several years before entry to "
            "several years after. Points left of the dotted line (before entry) test the "
            "assumption that tenants and comparison firms would have moved in parallel "
            "without the park."
        )
    ]
    shown = [p for p in EVENT_FIGURES if outputs.figure(p) is not None]
    if not shown:
        shown = [p for p in outputs.figures if p.startswith("figures/event_study_")]
    frame = _event_rows(outputs)
    outcomes = (
        ", ".join(outcome_info(o).label for o in dict.fromkeys(frame["outcome"].map(text)))
        if frame is not None
        else "the study outcomes"
    )
    for path in shown:
        blocks.append(
            Figure(
                path,
                outputs.figures[path],
                alt=f"Event-study charts of the estimated park effect on {outcomes} by years "
                "since park entry, with 95% confidence intervals and bands.",
                caption="Effects by years since park entry: points with conditional 95% "
                "intervals, shaded whole-pipeline 95% band and, for simulated data, the true "
                "effect as a dashed line.",
            )
        )
    if not shown:
        blocks.append(missing_note("The event-study figures", "figures/event_studies.png"))
    if frame is None or frame.empty:
        blocks.append(
            missing_note("The event-study table", "tables/event_study.csv", "study/estimates.csv")
        )
    else:
        blocks.append(_pretrend_table(frame))
    return Section("event-studies", "Effects over time (event studies)", tuple(blocks))


# ---------------------------------------------------------------------------
# data quality
# ---------------------------------------------------------------------------


def _accounting_table(accounting: pd.DataFrame) -> Table:
    rows = []
    for _, r in accounting.iterrows():
        rows_in, dropped = as_float(r["rows_in"]), as_float(r["rows_dropped"])
        balanced = as_bool(r.get("balanced"))
        check = {True: "yes", False: "NO: rows unaccounted for", None: ""}[balanced]
        rows.append(
            (
                text(r["source"]),
                fmt_count(rows_in),
                fmt_count(r["rows_kept"]),
                fmt_count(dropped),
                fmt_percent(dropped / rows_in if rows_in else math.nan),
                check,
            )
        )
    return Table(
        "Row accounting: rows read = rows kept + rows dropped, per data stage",
        ("Stage", "Rows read", "Rows kept", "Rows dropped", "Share dropped", "Adds up"),
        tuple(rows),
        align="lrrrrl",
    )


def _drops_table(drops: pd.DataFrame, path: str) -> Table:
    rows = tuple(
        (text(r["source"]), text(r["step"]), text(r["reason"]), fmt_count(r["rows"]))
        for _, r in drops.iterrows()
    )
    total = drops["rows"].map(as_float).sum()
    return Table(
        "Dropped rows by reason",
        ("Stage", "Step", "Reason", "Rows"),
        rows,
        align="lllr",
        notes=(f"{fmt_count(total)} rows in total; source: {path}.",),
    )


def _cohort_blocks(outputs: RunOutputs) -> list[Block]:
    blocks: list[Block] = []
    cohorts = outputs.frame("cohorts")
    if cohorts is not None and not cohorts.empty:
        never = cohorts.get("never_treated", pd.Series(False, index=cohorts.index))
        is_never = never.map(as_bool).fillna(False).astype(bool)
        entry = cohorts.loc[~is_never]
        firms_never = cohorts.loc[is_never, "n_firms"].map(as_float).sum()
        tenants = entry["n_firms"].map(as_float).sum()
        blocks.append(
            Paragraph(
                f"{len(entry)} entry cohorts with {fmt_count(tenants)} tenant firms; "
                f"{fmt_count(firms_never)} firms were never in a park. "
                "Source: data/cohorts.csv."
            )
        )
    figure = outputs.figure("figures/entry_cohorts.png")
    if figure is not None:
        blocks.append(
            Figure(
                "figures/entry_cohorts.png",
                figure,
                alt="Bar chart of the number of firms entering a park in each year, by park.",
                caption="Park entries by year.",
            )
        )
    if not blocks:
        blocks.append(missing_note("The entry cohorts", "data/cohorts.csv"))
    notes = [
        line.strip()[len("note:") :].strip()
        for line in outputs.texts.get("panel", "").splitlines()
        if line.strip().startswith("note:")
    ]
    if notes:
        blocks.append(Paragraph("Notes on the panel (from panel_description.txt):"))
        blocks.append(Bullets(tuple((None, n) for n in notes)))
    return blocks


def _descriptive_table(frame: pd.DataFrame) -> Table:
    columns = [c for c in frame.columns if c != "variable"]
    rows = []
    for _, r in frame.iterrows():
        cells = [
            fmt_count(r[c]) if c.startswith("n_") else fmt(r[c], digits_for([r[c]]))
            for c in columns
        ]
        rows.append((text(r["variable"]), *cells))
    return Table(
        "Firms in and out of parks, before and after entry (descriptive)",
        ("Variable", *(_CONTRAST_LABELS.get(c, c) for c in columns)),
        tuple(rows),
        align="l" + "r" * len(columns),
        notes=("Means over firm-years; differences are descriptive, not causal.",),
    )


def data_section(outputs: RunOutputs) -> Section:
    """Section 5: row accounting, drop reasons and counts, cohorts and the panel notes."""
    blocks: list[Block] = [
        Paragraph(
            "Every row removed from the raw sources is recorded with its reason, and the "
            "rows read, kept and dropped must add up at every stage."
        )
    ]
    accounting = outputs.frame("row_accounting")
    if accounting is None:
        blocks.append(missing_note("The row accounting", CSV_FILES["row_accounting"][0]))
    else:
        blocks.append(_accounting_table(accounting))
    key = "study_drops" if outputs.frame("study_drops") is not None else "drop_summary"
    drops = outputs.frame(key)
    if drops is None:
        blocks.append(missing_note("The drop reasons", CSV_FILES["drop_summary"][0]))
    else:
        blocks.append(_drops_table(drops, CSV_FILES[key][0]))
    listed = outputs.frame("dropped_rows")
    if listed is not None:
        blocks.append(
            Paragraph(
                f"data/dropped_rows.csv lists each of the {fmt_count(len(listed))} rows dropped "
                "while building the panel, with its source, step, reason, firm, year and "
                "row number in the raw file.",
                style="note",
            )
        )
    else:
        blocks.append(missing_note("The row-level drop list", CSV_FILES["dropped_rows"][0]))
    blocks.append(Heading("Entry cohorts and panel notes"))
    blocks += _cohort_blocks(outputs)
    descriptive = outputs.frame("descriptive")
    if descriptive is not None and not descriptive.empty:
        blocks.append(Heading("Tenants and other firms compared"))
        blocks.append(_descriptive_table(descriptive))
    return Section("data-quality", "Data quality and the drop report", tuple(blocks))
