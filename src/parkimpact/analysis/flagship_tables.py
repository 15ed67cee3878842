"""Tables of the flagship study: tidy CSVs plus LaTeX and Markdown through the report core.

Every table with an effect shows the true effect next to the estimate when the
project has a truth (simulated data; see
:mod:`parkimpact.analysis.flagship_truth`); on real data the truth columns are
omitted. Whole-pipeline SEs (firm-cluster bootstrap of every stage) and
conditional SEs (the DiD's analytic SE, TFP taken as data) are labelled
wherever they appear; intervals use the whole-pipeline SE when there is one.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from parkimpact.analysis.flagship_contrasts import Contrasts
from parkimpact.analysis.flagship_truth import Truth
from parkimpact.analysis.outputs import OutputWriter
from parkimpact.data import FirmPanel
from parkimpact.report import descriptive_table
from parkimpact.study import SE_TYPES, StudyResult
from parkimpact.tfp import RDParkResult

__all__ = ["OUTCOME_LABELS", "attach_truth", "write_study_tables"]

OUTCOME_LABELS: Mapping[str, str] = {
    "tfp": "TFP (log, ACF)",
    "log_rd": "log(1 + R&D)",
    "phd": "PhD employees",
    "patents": "Patent applications",
    "patents_cw": "Citation-weighted patents",
}
_DESIGNS = {
    "naive": "Naive in vs out",
    "twfe": "TWFE",
    "psm_did": "PSM-DiD",
    "cs_dr": "CS-DR (headline)",
    "cs_dr_more_covariates": "CS-DR, more covariates",
}


def _label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, outcome)


def _interval(frame: pd.DataFrame, level: float) -> pd.DataFrame:
    z = float(stats.norm.isf((1.0 - level) / 2.0))
    whole = frame["std_error_whole_pipeline"].to_numpy(dtype=float)
    chosen = np.where(np.isfinite(whole), whole, frame["std_error_conditional"].to_numpy())
    out = frame.assign(
        ci_se_type=np.where(np.isfinite(whole), "whole_pipeline", "conditional"),
        conf_low=frame["estimate"] - z * chosen,
        conf_high=frame["estimate"] + z * chosen,
    )
    if "truth" in out:
        inside = (out["truth"] >= out["conf_low"]) & (out["truth"] <= out["conf_high"])
        out["truth_in_ci"] = inside.where(out["truth"].notna())
    return out


def _firm_labels(panel: FirmPanel, firms: pd.DataFrame, by: str) -> Mapping[object, str]:
    if by in firms.columns:
        return firms[by].astype(str).to_dict()
    data = panel.data
    return data.groupby(panel.roles.unit)[by].first().astype(str).to_dict()


def attach_truth(
    estimates: pd.DataFrame, truth: Truth | None, panel: FirmPanel, firms: pd.DataFrame
) -> pd.DataFrame:
    """The study's estimates with a ``truth`` column (unchanged without a truth)."""
    if truth is None:
        return estimates
    values = np.full(len(estimates), np.nan)
    subgroup_truth: dict[tuple[str, str], pd.Series] = {}
    for i, row in enumerate(estimates.itertuples(index=False)):
        if not truth.has(row.outcome):
            continue
        if row.by is not None and isinstance(row.by, str):
            key = (row.outcome, row.by)
            if key not in subgroup_truth:
                labels = _firm_labels(panel, firms, row.by)
                subgroup_truth[key] = truth.subgroups(row.outcome, labels)
            values[i] = subgroup_truth[key].get(row.subgroup, np.nan)
        elif row.estimand == "simple":
            values[i] = truth.simple(row.outcome)
        elif row.estimand == "proportional":
            values[i] = truth.proportional(row.outcome, panel)
        elif row.estimand == "dynamic":
            values[i] = truth.dynamic(row.outcome).get(float(row.event_time), np.nan)
    return estimates.assign(truth=values)


def _save(out: OutputWriter, stem: str, frame: pd.DataFrame, shown: pd.DataFrame, **kw) -> None:
    out.csv(f"{stem}.csv", frame)
    out.table(stem, descriptive_table(shown, **kw))


def _se_notes(result: StudyResult) -> list[str]:
    notes = [f"SE conditional: {SE_TYPES['conditional']}."]
    if result.bootstrap is not None:
        boot = result.bootstrap
        notes.append(
            f"SE whole-pipeline: {SE_TYPES['whole_pipeline']} ({boot.n_boot} replications, "
            f"seed {boot.seed}). Intervals: estimate -/+ 1.96 whole-pipeline SE."
        )
    return notes


def _truth_note(truth: Truth | None) -> list[str]:
    if truth is None:
        return []
    return [
        "Truth: the simulator's exact effect (data are simulated); TFP effects in value-added "
        "units (omega effect / (1 - materials elasticity)).",
    ]


def _headline(out: OutputWriter, frame: pd.DataFrame, result: StudyResult, truth) -> None:
    head = frame.loc[frame["estimand"].isin(["simple", "proportional", "post_average"])]
    head = head.loc[head["by"].isna()]
    columns = ["outcome", "estimand", *(["truth"] if truth else []), "estimate"]
    columns += ["std_error_conditional", "std_error_whole_pipeline", "conf_low", "conf_high"]
    columns += ["ci_se_type", *(["truth_in_ci"] if truth else [])]
    table = head[columns].reset_index(drop=True)
    shown = table.drop(columns=["ci_se_type"]).assign(outcome=table["outcome"].map(_label))
    shown = shown.rename(
        columns={
            "std_error_conditional": "SE conditional",
            "std_error_whole_pipeline": "SE whole-pipeline",
            "conf_low": "95% CI low",
            "conf_high": "95% CI high",
            "truth_in_ci": "truth in CI",
        }
    ).set_index(["outcome", "estimand"])
    notes = [
        "simple: Callaway-Sant'Anna DR ATT, never-treated comparison firms; proportional: "
        "ATT / E[Y(0)] of the tenants (count outcomes).",
        *_se_notes(result),
        *_truth_note(truth),
    ]
    _save(out, "tables/headline", table, shown, digits=4, title="Park effects", notes=notes)


def _event_study(out: OutputWriter, frame: pd.DataFrame, truth) -> None:
    dyn = frame.loc[(frame["estimand"] == "dynamic") & frame["by"].isna()]
    columns = ["outcome", "event_time", *(["truth"] if truth else []), "estimate"]
    columns += ["std_error_conditional", "std_error_whole_pipeline", "conf_low", "conf_high"]
    table = dyn[columns].reset_index(drop=True)
    values = ["estimate", *(["truth"] if truth else [])]
    wide = table.pivot(index="event_time", columns="outcome", values=values)
    wide = wide.swaplevel(axis=1)[[o for o in dict.fromkeys(table["outcome"])]]
    wide.index = wide.index.astype(int)
    wide.columns = [f"{_label(o)} / {v}" for o, v in wide.columns]
    notes = ["Dynamic aggregation of the CS-DR ATT(g,t); event time = years since entry."]
    _save(out, "tables/event_study", table, wide, digits=3, title="Event studies", notes=notes)


def _heterogeneity(out: OutputWriter, frame: pd.DataFrame, result: StudyResult, truth) -> None:
    sub = frame.loc[frame["by"].notna()]
    columns = ["outcome", "by", "subgroup", *(["truth"] if truth else []), "estimate"]
    columns += ["std_error_conditional", "conf_low", "conf_high"]
    table = sub[columns].reset_index(drop=True)
    tests = result.subgroup_tests.rename(columns={"p_value": "equality_p_value"})
    table = table.merge(tests[["outcome", "by", "equality_p_value"]], on=["outcome", "by"])
    shown = table.assign(outcome=table["outcome"].map(_label)).rename(
        columns={
            "std_error_conditional": "SE conditional",
            "conf_low": "95% CI low",
            "conf_high": "95% CI high",
            "equality_p_value": "p (equal)",
        }
    )
    shown = shown.set_index(["outcome", "by", "subgroup"])
    notes = [
        "Callaway-Sant'Anna within each subgroup (outcome-regression DiD: subgroup cohorts are "
        "too small for a propensity score); SEs conditional; p (equal): Wald test of equal "
        "effects across the subgroups.",
        *_truth_note(truth),
        *(n for n in result.notes if n.startswith("Subgroups:")),
    ]
    title = "Heterogeneity by firm size and industry"
    _save(out, "tables/heterogeneity", table, shown, digits=3, title=title, notes=notes)


def _contrasts(out: OutputWriter, frame: pd.DataFrame, contrasts: Contrasts, truth) -> None:
    head = frame.loc[(frame["estimand"] == "simple") & frame["by"].isna()]
    cs = head[["outcome", "estimate", "std_error_conditional"]].rename(
        columns={"std_error_conditional": "std_error"}
    )
    table = pd.concat([contrasts.table, cs.assign(design="cs_dr")], ignore_index=True)
    if truth is not None:
        last = contrasts.psm_window[1]
        table["truth"] = [
            truth.window_average(o, last) if d == "psm_did" else truth.simple(o)
            for o, d in zip(table["outcome"], table["design"], strict=True)
        ]
    cells = table.assign(
        cell=[_cell(e, s) for e, s in zip(table.estimate, table.std_error, strict=True)]
    )
    wide = cells.pivot(index="outcome", columns="design", values="cell")
    wide = wide.reindex(index=list(dict.fromkeys(head["outcome"])), columns=list(_DESIGNS))
    wide.columns = [_DESIGNS[c] for c in wide.columns]
    if truth is not None:
        wide.insert(0, "Truth (simple ATT)", [truth.simple(o) for o in wide.index])
    wide.index = [_label(o) for o in wide.index]
    wide.index.name = "outcome"
    notes = [
        "Estimate (SE); each design's own SEs (conditional on TFP for the TFP outcome). "
        f"PSM-DiD estimates the mean effect over event times 0..{contrasts.psm_window[1]}"
        + ("" if truth is None else " (its truth is in the CSV column truth)")
        + f". More covariates: {', '.join(contrasts.sensitivity_covariates)}.",
        *contrasts.notes,
    ]
    title = "Contrasts: naive, TWFE, PSM-DiD and CS-DR"
    _save(out, "tables/contrasts", table, wide, digits=4, title=title, notes=notes)


def _cell(estimate: float, se: float) -> str:
    if not np.isfinite(estimate):
        return ""
    return f"{estimate:.3f} ({se:.3f})"


def _tfp_table(out: OutputWriter, result: StudyResult, truth: Truth | None, va: bool) -> None:
    tfp = result.tfp
    if tfp is None:
        return
    parts = getattr(tfp, "results", {"all": tfp})
    rows = []
    for group, fit in parts.items():
        row = {"group": group, **fit.params.to_dict(), "returns_to_scale": fit.returns_to_scale}
        motion = fit.law_of_motion if fit.law_of_motion is not None else pd.Series(dtype=float)
        row["lag in_park (law of motion)"] = motion.get("lag in_park", np.nan)
        rows.append(row | {"n_obs": fit.n_obs, "n_firms": fit.n_firms})
    table = pd.DataFrame(rows)
    notes = ["ACF by industry; productivity's law of motion includes last year's park status."]
    if truth is not None:
        e = truth.elasticities
        scale = 1.0 / (1.0 - e["materials"]) if va else 1.0
        kind = "value-added elasticities beta / (1 - beta_m)" if va else "elasticities"
        notes.append(
            f"Truth ({kind}): labour {e['labour'] * scale:.3f}, capital {e['capital'] * scale:.3f}."
        )
    title = "Production functions (TFP stage)"
    _save(
        out,
        "tables/tfp_production",
        table,
        table.set_index("group"),
        digits=3,
        title=title,
        notes=notes,
    )


def _rd_table(out: OutputWriter, rd: RDParkResult, truth: Truth | None) -> None:
    table = rd.rd_elasticities()[["term", "estimate", "std_error", "conf_low", "conf_high"]]
    if truth is not None:
        table.insert(1, "truth", truth.rd_elasticities().reindex(table["term"]).to_numpy())
    test = rd.test()
    notes = [
        "Yang, Motohashi and Chen (2009): output elasticity of log(1 + R&D capital) with firm "
        "and year effects; SEs clustered by firm.",
        f"Wald test of equal elasticities: W = {test.statistic:.2f}, df = {test.df}, "
        f"p = {test.p_value:.4f}.",
    ]
    title = "R&D elasticity in and out of parks"
    shown = table.rename(
        columns={"std_error": "SE", "conf_low": "95% CI low", "conf_high": "95% CI high"}
    )
    _save(
        out,
        "tables/rd_elasticity",
        table,
        shown.set_index("term"),
        digits=4,
        title=title,
        notes=notes,
    )


def write_study_tables(
    out: OutputWriter,
    result: StudyResult,
    frame: pd.DataFrame,
    contrasts: Contrasts,
    rd: RDParkResult,
    truth: Truth | None,
    value_added: bool,
) -> pd.DataFrame:
    """Write every study table; returns the estimates with truth and intervals."""
    full = _interval(frame, result.level)
    out.csv("study/estimates.csv", full)
    tidy = result.tidy()
    out.csv("study/tidy.csv", tidy)
    out.text("study/summary.txt", result.summary())
    out.csv("study/drop_summary.csv", result.panel.drops.counts())
    if result.bootstrap is not None:
        boot = result.bootstrap
        draws = pd.DataFrame(boot.estimates, columns=list(boot.names))
        out.csv("study/bootstrap_draws.csv", draws.rename_axis("replication").reset_index())
    _headline(out, full, result, truth)
    _event_study(out, full, truth)
    _heterogeneity(out, full, result, truth)
    _contrasts(out, full, contrasts, truth)
    _tfp_table(out, result, truth, value_added)
    _rd_table(out, rd, truth)
    return full
