"""Methods and caveats, and the appendix (details, other figures, configuration, files)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from parkimpact.report._report_doc import (
    Block,
    Bullets,
    Code,
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
    fmt,
    fmt_interval,
    outcome_info,
    setting,
    text,
)
from parkimpact.report._report_inputs import CSV_FILES, RunOutputs
from parkimpact.report._report_summary import headline_rows, kpi_detail_blocks, missing_note

__all__ = ["methods_section", "appendix_section", "SE_DESCRIPTIONS", "SETTINGS_SHOWN"]

#: What each SE type of ``study/tidy.csv`` accounts for, when the summary does not say.
SE_DESCRIPTIONS: Mapping[str, str] = {
    "conditional": "Analytic (influence-function) SE of the effect estimator, clustered by "
    "firm. It includes the estimation of the effect's own propensity score and outcome "
    "regression but is conditional on the first stage: estimated productivity (TFP) is "
    "taken as if it were observed data.",
    "whole_pipeline": "Firm-cluster bootstrap of the whole pipeline: firms are resampled and "
    "every stage (production function, TFP, propensity scores, outcome regressions, "
    "aggregation) is re-estimated in each replication, so first-stage uncertainty is included.",
}

#: Configuration keys shown in the methods section: (section, key, label).
SETTINGS_SHOWN: tuple[tuple[str, str, str], ...] = (
    ("analysis", "seed", "Random seed"),
    ("data", "bad_values", "Cells with text in numeric columns"),
    ("data", "duplicates", "Repeated firm-years"),
    ("data", "exits", "Firms leaving a park"),
    ("tfp", "estimator", "Productivity (TFP) estimator"),
    ("tfp", "by", "TFP estimated separately by"),
    ("did", "method", "Effect estimator (Callaway-Sant'Anna)"),
    ("did", "control_group", "Comparison group"),
    ("did", "covariates", "Pre-entry covariates"),
    ("study", "outcomes", "Outcomes"),
    ("study", "event_window", "Event-study window (years)"),
    ("study", "pre_entry_years", "Years before entry used"),
    ("study", "bootstrap", "Whole-pipeline bootstrap replications"),
)
_PUBLICATION_BOOTSTRAP = 199
_DESIGNS = {
    "naive": "Naive in vs out",
    "twfe": "Two-way fixed effects",
    "psm_did": "Matching + DiD (PSM-DiD)",
    "cs_dr": "Callaway-Sant'Anna DR (headline)",
    "cs_dr_more_covariates": "Callaway-Sant'Anna DR, more covariates",
}


def _value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value).replace("_", " ") if isinstance(value, str) else str(value)


def _settings_table(settings: Mapping[str, Any]) -> Table | None:
    rows = []
    for section, key, label in SETTINGS_SHOWN:
        value = setting(settings, section, key)
        if value is not None:
            rows.append((label, _value(value), f"[{section}] {key}"))
    if not rows:
        return None
    return Table(
        "Settings of this run (from its configuration)",
        ("Setting", "Value", "Configuration key"),
        tuple(rows),
        align="llm",
    )


def _se_descriptions(summary: str) -> dict[str, str]:
    """``SE <type>: <text>`` lines of study/summary.txt, by SE type."""
    found = {}
    for line in summary.splitlines():
        head, sep, rest = line.partition(":")
        if sep and head.startswith("SE ") and rest.strip():
            found[head[3:].strip().replace("-", "_").replace(" ", "_")] = rest.strip()
    return found


def _se_blocks(outputs: RunOutputs) -> list[Block]:
    tidy = outputs.frame("tidy")
    if tidy is None:
        return [missing_note("The standard-error labels", CSV_FILES["tidy"][0])]
    if "se_type" not in tidy:
        return [
            Paragraph(
                "study/tidy.csv has no se_type column; every SE is of one kind, described "
                "in study/summary.txt.",
                style="note",
            )
        ]
    described = {**SE_DESCRIPTIONS, **_se_descriptions(outputs.texts.get("summary", ""))}
    counts = tidy["se_type"].map(text).value_counts()
    rows = tuple(
        (
            kind.replace("_", "-"),
            str(int(counts[kind])),
            described.get(kind, "Not described by the run."),
        )
        for kind in sorted(counts.index)
    )
    blocks: list[Block] = [
        Table(
            "Standard errors and what they are conditional on",
            ("SE type", "Estimates in study/tidy.csv", "What it accounts for"),
            rows,
            align="lrl",
        )
    ]
    ci_line = next(
        (
            ln[3:].strip()
            for ln in outputs.texts.get("summary", "").splitlines()
            if ln.startswith("CI:")
        ),
        "",
    )
    if ci_line:
        blocks.append(Paragraph(f"Confidence intervals: {ci_line}.", style="note"))
    return blocks


def _contrasts_table(contrasts: pd.DataFrame) -> Table:
    truth = "truth" in contrasts and contrasts["truth"].notna().any()
    names = contrasts["outcome"].map(text)
    rank = {name: i for i, name in enumerate(dict.fromkeys(names))}
    ordered = contrasts.iloc[names.map(rank).argsort(kind="stable")]
    rows = []
    for _, r in ordered.iterrows():
        d = digits_for([r["estimate"], r["std_error"]])
        cells = [
            outcome_info(text(r["outcome"])).label,
            _DESIGNS.get(text(r["design"]), text(r["design"])),
            fmt(r["estimate"], d),
            fmt(r["std_error"], d),
        ]
        if truth:
            cells.append(fmt(r["truth"], d))
        rows.append(tuple(cells))
    header = ("Outcome", "Design", "Estimate", "SE") + (("Truth",) if truth else ())
    return Table(
        "The same effects under other designs",
        header,
        tuple(rows),
        align="llrr" + ("r" if truth else ""),
        notes=(
            "Naive comparisons of tenants with other firms mix the park's effect with the "
            "differences between firms that choose to enter; the headline design removes "
            "fixed differences and compares like with like.",
        ),
        group_first=True,
    )


def _inside(value: object) -> str:
    return {True: "yes", False: "NO", None: ""}[as_bool(value)]


def _truth_blocks(outputs: RunOutputs) -> list[Block]:
    if not outputs.simulated:
        return [
            Paragraph(
                "The outputs carry no true effects (real data), so estimates cannot be "
                "compared with a truth. On simulated data this section compares every "
                "headline interval with the simulator's true effect."
            )
        ]
    blocks: list[Block] = [
        Paragraph(
            "The data are simulated with known effects. An interval that misses the truth "
            "is expected about one time in twenty; many misses would point to a problem.",
            style="warning",
            label="Simulated data.",
        )
    ]
    rows = headline_rows(outputs)
    if rows is not None and "truth" in rows:
        body = []
        for _, r in rows.iterrows():
            d = digits_for([r["truth"], r["estimate"]])
            body.append(
                (
                    outcome_info(text(r["outcome"])).label,
                    text(r["estimand"]),
                    fmt(r["truth"], d),
                    fmt(r["estimate"], d),
                    fmt_interval(r.get("conf_low"), r.get("conf_high"), d),
                    _inside(r.get("truth_in_ci")),
                )
            )
        blocks.append(
            Table(
                "Headline estimates against the true effects",
                ("Outcome", "Estimand", "Truth", "Estimate", "95% CI", "Truth inside"),
                tuple(body),
                align="llrrrl",
            )
        )
    check = outputs.frame("truth_check")
    if check is None:
        blocks.append(missing_note("The scorecard truth check", CSV_FILES["truth_check"][0]))
    else:
        body = []
        for _, r in check.iterrows():
            d = digits_for([r["truth"], r["estimate"]])
            body.append(
                (
                    text(r["kpi"]),
                    text(r["park"]),
                    fmt(r["truth"], d),
                    fmt(r["estimate"], d),
                    fmt_interval(r["conf_low"], r["conf_high"], d),
                    _inside(r["inside"]),
                )
            )
        flags = [b for b in check["inside"].map(as_bool) if b is not None]
        blocks.append(
            Table(
                "Scorecard indicators against the true effects",
                ("KPI", "Park", "Truth", "Estimate", "95% CI", "Truth inside"),
                tuple(body),
                align="llrrrl",
                notes=(f"{sum(flags)} of {len(flags)} intervals contain the truth.",),
            )
        )
    return blocks


def _caveats(outputs: RunOutputs, settings: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    items: list[tuple[str | None, str]] = [
        (
            "Parallel trends.",
            "Effects are causal only if tenants would have evolved like the comparison "
            "firms without the park; section 4 checks this before entry, but it cannot be "
            "proven after entry.",
        ),
        (
            "Selection.",
            "Firms choose to enter parks. Fixed differences between firms and the "
            "covariates listed above are accounted for; changing differences that are "
            "not measured are not.",
        ),
        (
            "Spillovers.",
            "If parks also help nearby firms outside them, the comparison firms gain too "
            "and the effects shown understate the total benefit.",
        ),
        (
            "Descriptive indicators.",
            "Indicators marked 'descriptive only' compare averages and do not measure "
            "what the park caused.",
        ),
    ]
    if setting(settings, "data", "exits") == "keep_treated":
        items.append(
            (
                "Exits.",
                "Firms that left a park are still counted as tenants (intention-to-treat), "
                "which measures the effect of entering rather than of staying.",
            )
        )
    bootstrap = as_float(setting(settings, "study", "bootstrap"))
    if bootstrap == bootstrap and bootstrap < _PUBLICATION_BOOTSTRAP:
        items.append(
            (
                "Few bootstrap replications.",
                f"The whole-pipeline bootstrap used {int(bootstrap)} replications, so its "
                "standard errors are themselves imprecise; use "
                f"{_PUBLICATION_BOOTSTRAP} or more for published figures.",
            )
        )
    return items


def methods_section(outputs: RunOutputs) -> Section:
    """Section 6: design and settings, standard errors, other designs, truth, caveats."""
    settings = config_settings(outputs)
    blocks: list[Block] = [
        Paragraph(
            "Productivity is estimated from a production function; the effect of park entry "
            "on each outcome is a staggered difference-in-differences (Callaway and "
            "Sant'Anna) that compares each entry cohort with comparison firms before and "
            "after entry and averages over cohorts and years."
        )
    ]
    table = _settings_table(settings)
    if table is not None:
        blocks.append(table)
    else:
        blocks.append(missing_note("The settings of the run", "manifest.json"))
    blocks.append(Heading("Standard errors"))
    blocks += _se_blocks(outputs)
    contrasts = outputs.frame("contrasts")
    if contrasts is not None and not contrasts.empty:
        blocks.append(Heading("Other designs"))
        blocks.append(_contrasts_table(contrasts))
    blocks.append(Heading("Comparison with the truth"))
    blocks += _truth_blocks(outputs)
    blocks.append(Heading("Caveats"))
    blocks.append(Bullets(tuple(_caveats(outputs, settings))))
    return Section("methods", "Methods and caveats", tuple(blocks))


def _environment_rows(run_info: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = [("Analysis", text(run_info.get("analysis"))), ("Seed", text(run_info.get("seed")))]
    env = run_info.get("environment")
    if isinstance(env, Mapping):
        rows.append(("Python", text(env.get("python"))))
        packages = env.get("packages")
        if isinstance(packages, Mapping):
            rows += [(name, text(v)) for name, v in sorted(packages.items())]
    return [(k, v) for k, v in rows if v]


def _files_blocks(outputs: RunOutputs) -> list[Block]:
    blocks: list[Block] = []
    env = _environment_rows(outputs.run_info)
    if env:
        blocks.append(Table("The run", ("Item", "Value"), tuple(env), align="ll"))
    inputs = outputs.run_info.get("inputs")
    if isinstance(inputs, Mapping) and inputs:
        rows = []
        for name, entry in sorted(inputs.items()):
            if isinstance(entry, Mapping):
                rows.append((name, text(entry.get("path")), text(entry.get("sha256"))))
        blocks.append(
            Table("Input files of the run", ("Input", "Path", "SHA-256"), tuple(rows), "llm")
        )
    blocks.append(
        Table(
            "Output files this report was built from",
            ("File", "SHA-256"),
            outputs.sources,
            align="lm",
            notes=("Paths are relative to the output folder.",),
        )
    )
    return blocks


def appendix_section(outputs: RunOutputs, shown: Sequence[str]) -> Section:
    """Section 7: KPI detail rows, figures not shown above, configuration and files."""
    blocks: list[Block] = kpi_detail_blocks(outputs)
    skip = set(shown)
    if "figures/event_studies.png" in skip:
        skip |= {p for p in outputs.figures if p.startswith("figures/event_study_")}
    others = [p for p in outputs.figures if p not in skip]
    if others:
        blocks.append(Heading("Further figures"))
        blocks += [
            Figure(p, outputs.figures[p], alt=f"Figure {p} of the analysis run.", caption=p)
            for p in others
        ]
    blocks.append(Heading("Run, inputs and files"))
    blocks += _files_blocks(outputs)
    config = outputs.run_info.get("config")
    if isinstance(config, str) and config.strip():
        blocks.append(Heading("Configuration of the run"))
        blocks.append(Code(config, "toml"))
    return Section("appendix", "Appendix", tuple(blocks))
