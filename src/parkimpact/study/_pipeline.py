"""The stages of a study after TFP, run on the original panel and on every resample.

:func:`run_effects` fits the DiD estimator on each outcome (and, with ``by``,
within each subgroup) and collects the reported numbers as rows
(:mod:`parkimpact.study._effects`). :class:`PipelineStatistic` is the
statistic of the whole-pipeline firm-cluster bootstrap: it rebuilds the panel
from a resampled frame, re-runs the TFP stage (warm-started), then
:func:`run_effects`, and returns the numbers in the order of the point
estimates. A block that cannot be estimated on a resample (for instance a
propensity score that separates treated firms) gives NaN for its numbers
only; the study reports how many draws each number lost.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from parkimpact.data.panel import FirmPanel
from parkimpact.did import AggregatedATT, CallawaySantAnna, GroupTimeATT
from parkimpact.did._cs_estimate import shared_nuisance_fits
from parkimpact.did.cs_results import thin_blas
from parkimpact.errors import ParkImpactError
from parkimpact.inference import ResampleResult
from parkimpact.matching import PSMDiD, PSMDiDResult
from parkimpact.study._effects import cs_rows, keep_rows, psm_rows, row_ids, subgroup_rows
from parkimpact.study._tfp import WarmTFP

__all__ = [
    "Plan",
    "EffectFits",
    "run_effects",
    "trim_pre_entry",
    "estimates_only",
    "not_identified_id",
    "split_diagnostics",
    "NOT_IDENTIFIED",
    "PipelineStatistic",
]

#: Failures of one block on a resample that cost its numbers that draw, not the run.
BLOCK_FAILURES = (ParkImpactError, ValueError, np.linalg.LinAlgError)
#: Estimand name of the bootstrap diagnostic counting cells not identified on a resample.
NOT_IDENTIFIED = "cells_not_identified"


@dataclass(frozen=True)
class Plan:
    """Resolved settings of the DiD stages of a study.

    Attributes
    ----------
    outcomes : tuple of str
        Outcome columns (the TFP column included when there is a TFP stage).
    did, by_did : CallawaySantAnna or PSMDiD
        Templates of the overall and subgroup fits (outcome replaced).
    covariates : tuple of str or None
        Covariates replacing the templates' (None: keep theirs).
    by : tuple of str
        Firm-level subgroup columns.
    count_outcomes : frozenset of str
        Outcomes with a proportional effect (CS only).
    window : (int, int)
        Event times of the dynamic aggregation.
    pre_entry_years : int or None
        Tenants' years kept before entry in the DiD stage (None: all).
    """

    outcomes: tuple[str, ...]
    did: CallawaySantAnna | PSMDiD
    by_did: CallawaySantAnna | PSMDiD
    covariates: tuple[str, ...] | None
    by: tuple[str, ...]
    count_outcomes: frozenset[str]
    window: tuple[int, int]
    pre_entry_years: int | None


@dataclass(frozen=True, eq=False)
class EffectFits:
    """What :func:`run_effects` produced on one panel.

    Attributes
    ----------
    rows : pandas.DataFrame
        Reported numbers with conditional SEs (:data:`~parkimpact.study._effects.ROW_COLUMNS`).
    fits : Mapping[str, GroupTimeATT or PSMDiDResult]
        Overall DiD fit of each outcome.
    aggregates : Mapping[tuple[str, str], AggregatedATT]
        ``(outcome, kind)`` -> aggregation (CS only).
    subgroups : Mapping[tuple[str, str], Any]
        ``(outcome, by)`` -> subgroup aggregation (CS) or per-subgroup fits (PSM-DiD).
    tests : pandas.DataFrame
        Wald tests of equal effects across subgroups (CS only).
    covariates_by : Mapping[str, tuple[str, ...] | None]
        Covariates used within the subgroups of each ``by`` column.
    failures : tuple of str
        Subgroup fits that could not be estimated, and why.
    not_identified : Mapping[str, int]
        Group-time cells left out of each Callaway-Sant'Anna fit because the
        covariates do not identify them (keys: the outcome, or
        ``"<outcome> by <column>"`` for subgroup fits; fits without such
        cells are not listed).
    """

    rows: pd.DataFrame
    fits: Mapping[str, GroupTimeATT | PSMDiDResult]
    aggregates: Mapping[tuple[str, str], AggregatedATT] = field(default_factory=dict)
    subgroups: Mapping[tuple[str, str], Any] = field(default_factory=dict)
    tests: pd.DataFrame = field(default_factory=pd.DataFrame)
    covariates_by: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    failures: tuple[str, ...] = ()
    not_identified: Mapping[str, int] = field(default_factory=dict)


def not_identified_id(outcome: str) -> str:
    """Id of the bootstrap diagnostic: cells of ``outcome`` not identified on a resample."""
    return f"{outcome}|{NOT_IDENTIFIED}|||"


def split_diagnostics(
    boot: ResampleResult, outcomes: tuple[str, ...]
) -> tuple[ResampleResult, pd.DataFrame]:
    """Separate the cells-not-identified diagnostics from the bootstrapped numbers.

    Returns the bootstrap of the numbers alone and a frame with one row per
    replication and one column per outcome: the group-time cells of that
    outcome not identified on the resample (NaN where its fit failed).
    """
    names = list(boot.names)
    keys = [not_identified_id(o) for o in outcomes]
    numbers = [j for j, name in enumerate(names) if name not in set(keys)]
    counts = pd.DataFrame(
        boot.estimates[:, [names.index(k) for k in keys]],
        columns=pd.Index(list(outcomes), name="outcome"),
    ).rename_axis("replication")
    estimates = boot.estimates[:, numbers]
    estimates.setflags(write=False)
    kept = replace(
        boot,
        estimates=estimates,
        point_estimates=boot.point_estimates[numbers],
        names=tuple(names[j] for j in numbers),
        std_errors=boot.std_errors[numbers],
    )
    return kept, counts


def _not_identified(fit: Any) -> int:
    """Cells a Callaway-Sant'Anna fit left out as not identified (0 for other fits)."""
    return len(fit.cells_not_identified) if isinstance(fit, GroupTimeATT) else 0


def estimates_only(plan: Plan) -> Plan:
    """The plan with Callaway-Sant'Anna templates that skip inference (resamples need none).

    A resample only contributes point estimates; the analytic standard errors,
    pre-tests and subgroup tests of its fits would be discarded.
    """

    def strip(template: CallawaySantAnna | PSMDiD) -> CallawaySantAnna | PSMDiD:
        if isinstance(template, CallawaySantAnna):
            return replace(template, inference="none")
        return template

    return replace(plan, did=strip(plan.did), by_did=strip(plan.by_did))


def trim_pre_entry(panel: FirmPanel, years: int | None) -> FirmPanel:
    """Drop tenants' firm-years more than ``years`` years before entry (reported)."""
    if years is None:
        return panel
    event = panel.event_time().to_numpy()
    return panel.drop_rows(
        event < -years,
        step="study",
        reason=f"more than {years} years before park entry (pre_entry_years={years})",
    )


def _configured(template: Any, outcome: str, covariates: tuple[str, ...] | None, **extra: Any):
    changes: dict[str, Any] = {"outcome": outcome, **extra}
    if covariates is not None:
        changes["covariates"] = (
            list(covariates) if isinstance(template, CallawaySantAnna) else (covariates)
        )
    return replace(template, **changes)


def _complete(panel: FirmPanel, columns: list[str]) -> FirmPanel:
    """Rows with every named column present (PSM-DiD matches on complete base years)."""
    return panel.dropna([c for c in columns if c in panel.data.columns], step="study")


def _overall(plan: Plan, panel: FirmPanel, outcome: str) -> tuple[pd.DataFrame, Any, dict]:
    estimator = _configured(plan.did, outcome, plan.covariates)
    if isinstance(estimator, PSMDiD):
        fit = estimator.fit(_complete(panel, [outcome, *estimator.covariates]))
        return psm_rows(outcome, fit), fit, {}
    fit = estimator.fit(panel)
    counts = panel if outcome in plan.count_outcomes else None
    rows, aggregates = cs_rows(outcome, fit, window=plan.window, proportional=counts)
    return rows, fit, aggregates


def within_covariates(
    panel: FirmPanel, covariates: tuple[str, ...] | None, by: str
) -> tuple[str, ...] | None:
    """Covariates that vary within every subgroup of ``by`` (the others are collinear there)."""
    if not covariates:
        return covariates
    spread = panel.data.groupby(by, sort=False)[list(covariates)].nunique()
    return tuple(c for c in covariates if bool((spread[c] > 1).all()))


def _psm_subgroups(estimator: PSMDiD, panel: FirmPanel, outcome: str, by: str) -> tuple:
    labels = sorted(pd.unique(panel.data[by].dropna().astype(str)))
    groups = panel.data[by].astype(str).to_numpy()
    fits, overall = {}, []
    for label in labels:
        sub = panel.drop_rows(groups != label, step="study", reason=f"{by} other than {label}")
        fits[label] = estimator.fit(_complete(sub, [outcome, *estimator.covariates]))
        overall.append((fits[label].att, fits[label].std_error))
    frame = pd.DataFrame(overall, index=labels, columns=["estimate", "std_error"])
    return subgroup_rows(outcome, by, frame, "post_average"), fits


def _subgroup(
    plan: Plan, panel: FirmPanel, outcome: str, by: str, covariates: tuple[str, ...] | None
) -> tuple[pd.DataFrame, Any, dict | None]:
    if isinstance(plan.by_did, PSMDiD):
        estimator = _configured(plan.by_did, outcome, covariates)
        rows, fits = _psm_subgroups(estimator, panel, outcome, by)
        return rows, fits, None
    estimator = _configured(plan.by_did, outcome, covariates, by=by)
    if covariates is not None and not covariates:
        estimator = replace(estimator, covariates=None)
    fit = estimator.fit(panel)
    simple = fit.aggregate("simple")
    test = simple.equality_test
    record = {"not_identified": _not_identified(fit)}
    if test is not None:
        record |= {"outcome": outcome, "by": by, "statistic": test.statistic, "df": test.df}
        record["p_value"] = test.p_value
    return subgroup_rows(outcome, by, simple.overall), simple, record


def run_effects(
    plan: Plan, panel: FirmPanel, *, subgroups: bool = True, strict: bool = True
) -> EffectFits:
    """Fit every outcome (and subgroup) on ``panel``; collect the rows.

    A subgroup fit that cannot be estimated leaves its rows out (the reason
    is kept in ``failures``); so does an overall fit with ``strict=False``
    (resamples), which otherwise raises. The Callaway-Sant'Anna fits share
    their propensity-score and outcome-regression fits wherever the firms,
    covariates and weights of a cell coincide (see
    :func:`~parkimpact.did._cs_estimate.shared_nuisance_fits`).
    """
    with shared_nuisance_fits(), thin_blas():
        return _run_effects(plan, panel, subgroups=subgroups, strict=strict)


def _run_effects(plan: Plan, panel: FirmPanel, *, subgroups: bool, strict: bool) -> EffectFits:
    blocks, fits, aggregates, groups, tests, failures = [], {}, {}, {}, [], []
    lost: dict[str, int] = {}
    for outcome in plan.outcomes:
        try:
            rows, fit, aggs = _overall(plan, panel, outcome)
        except BLOCK_FAILURES:
            if strict:
                raise
            continue
        blocks.append(rows)
        fits[outcome] = fit
        lost[outcome] = _not_identified(fit)
        aggregates.update({(outcome, kind): agg for kind, agg in aggs.items()})
    covariates_by = {by: within_covariates(panel, plan.covariates, by) for by in plan.by}
    for by in plan.by if subgroups else ():
        for outcome in plan.outcomes:
            try:
                rows, fit, test = _subgroup(plan, panel, outcome, by, covariates_by[by])
            except BLOCK_FAILURES as error:
                failures.append(f"{outcome} by {by} not estimated: {str(error)[:200]}")
                continue
            blocks.append(rows)
            groups[(outcome, by)] = fit
            if test is not None:
                lost[f"{outcome} by {by}"] = test.pop("not_identified")
                if test:
                    tests.append(test)
    return EffectFits(
        rows=keep_rows(blocks),
        fits=fits,
        aggregates=aggregates,
        subgroups=groups,
        tests=pd.DataFrame(tests, columns=["outcome", "by", "statistic", "df", "p_value"]),
        covariates_by=covariates_by,
        failures=tuple(failures),
        not_identified={key: count for key, count in lost.items() if count},
    )


@dataclass(frozen=True, eq=False)
class PipelineStatistic:
    """The whole pipeline as a statistic of a resampled firm-year frame.

    Attributes
    ----------
    plan : Plan
        DiD settings.
    tfp : WarmTFP or None
        The warm TFP stage.
    roles : Mapping[str, str]
        Panel roles to rebuild the panel (``unit``, ``time``, ``entry`` ...).
    exits : str
        Exit policy of the panel.
    ids : tuple of str
        Row ids of the point estimates; the statistic returns their values
        in this order (NaN where a block failed), followed by one diagnostic
        per outcome (:func:`not_identified_id`): the number of its group-time
        cells not identified on the resample (NaN where its fit failed;
        separated again by :func:`split_diagnostics`).
    subgroups : bool
        Re-run the subgroup fits too.
    """

    plan: Plan
    tfp: WarmTFP | None
    roles: Mapping[str, str]
    exits: str
    ids: tuple[str, ...]
    subgroups: bool

    def __call__(self, frame: pd.DataFrame) -> pd.Series:
        """Estimates of every bootstrapped number on ``frame``."""
        with warnings.catch_warnings(), thin_blas():
            warnings.simplefilter("ignore")
            panel = FirmPanel(frame, **self.roles, exits=self.exits)  # type: ignore[arg-type]
            if self.tfp is not None:
                try:
                    panel = self.tfp(panel)
                except BLOCK_FAILURES:
                    panel = panel.assign(**{self.tfp.column: np.nan})
            panel = trim_pre_entry(panel, self.plan.pre_entry_years)
            fits = run_effects(self.plan, panel, subgroups=self.subgroups, strict=False)
        rows = fits.rows
        values = pd.Series(rows["estimate"].to_numpy(), index=row_ids(rows))
        values = values[~values.index.duplicated()]
        diagnostics = pd.Series(
            [
                float(fits.not_identified.get(o, 0)) if o in fits.fits else np.nan
                for o in self.plan.outcomes
            ],
            index=[not_identified_id(o) for o in self.plan.outcomes],
        )
        return pd.concat([values.reindex(list(self.ids)), diagnostics])
