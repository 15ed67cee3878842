"""`StudyResult`: every stage of a study and its numbers with two kinds of standard error."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from parkimpact._version import __version__
from parkimpact.data.panel import FirmPanel
from parkimpact.inference import ResampleResult
from parkimpact.report import descriptive_table, make_tidy
from parkimpact.report.tidy import ModelInfo, ResultBase
from parkimpact.study._effects import ROW_KEYS, row_ids

if TYPE_CHECKING:
    from parkimpact.study._pipeline import EffectFits, Plan
    from parkimpact.study.estimator import ImpactStudy

__all__ = ["StudyResult", "SE_TYPES", "assemble"]

SE_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "whole_pipeline": (
            "whole-pipeline firm-cluster bootstrap: firms resampled with replacement, the "
            "production function, TFP, propensity scores, outcome regressions and every "
            "aggregation re-estimated in each replication"
        ),
        "conditional": (
            "analytic (influence function) SE of the DiD estimator, clustered by firm: includes "
            "the DiD's own propensity-score and outcome-regression estimation but is "
            "conditional on the first stage (TFP taken as data)"
        ),
    }
)
"""The ``se_type`` values of :meth:`StudyResult.tidy` and what they mean."""

_HEADLINE = ("simple", "proportional", "post_average")


@dataclass(frozen=True, eq=False, repr=False)
class StudyResult(ResultBase):
    """Every stage of an :class:`~parkimpact.ImpactStudy` and the numbers it reports.

    Attributes
    ----------
    estimates : pandas.DataFrame
        One row per reported number: ``outcome``, ``estimand``, ``by``,
        ``subgroup``, ``event_time``, ``term``, ``estimate``,
        ``std_error_conditional``, ``std_error_whole_pipeline`` (NaN when
        not bootstrapped) and ``n_failed`` (bootstrap draws lost to a failed
        block).
    tfp : production-function result or None
        The TFP stage (:class:`~parkimpact.tfp.ProductionFunctionResult` or
        the grouped result with ``by``).
    panel : FirmPanel
        The estimation panel: the input panel with the TFP column, after
        ``pre_entry_years`` trimming (its drop report lists every row
        removed on the way).
    did : Mapping[str, GroupTimeATT or PSMDiDResult]
        The DiD fit of each outcome.
    aggregates : Mapping[tuple[str, str], AggregatedATT]
        ``(outcome, "simple" | "dynamic")`` aggregations (CS).
    subgroups : Mapping[tuple[str, str], Any]
        ``(outcome, by)`` subgroup fits.
    subgroup_tests : pandas.DataFrame
        Wald tests of equal effects across subgroups (``outcome``, ``by``,
        ``statistic``, ``df``, ``p_value``).
    covariates_by : Mapping[str, tuple[str, ...] | None]
        Covariates used within the subgroups of each ``by`` column.
    bootstrap : ResampleResult or None
        The whole-pipeline bootstrap draws (columns: row ids of the
        bootstrapped numbers).
    bootstrap_not_identified : pandas.DataFrame or None
        Per replication (rows) and outcome (columns), the group-time cells
        not identified by the covariates on that resample and therefore left
        out of its aggregates (NaN where the outcome's fit failed).
    settings : Mapping[str, Any]
        The study's settings (estimators shown by their repr).
    level : float
        Confidence level.
    fingerprint : str
        Fingerprint of the estimation panel (:attr:`panel`).
    notes : tuple of str
        Lines shown under the summary.
    """

    estimates: pd.DataFrame
    tfp: Any = field(repr=False)
    panel: FirmPanel = field(repr=False)
    did: Mapping[str, Any] = field(repr=False)
    aggregates: Mapping[tuple[str, str], Any] = field(repr=False)
    subgroups: Mapping[tuple[str, str], Any] = field(repr=False)
    subgroup_tests: pd.DataFrame = field(repr=False)
    covariates_by: Mapping[str, tuple[str, ...] | None] = field(repr=False)
    bootstrap: ResampleResult | None = field(repr=False)
    settings: Mapping[str, Any] = field(repr=False)
    level: float = 0.95
    fingerprint: str = ""
    notes: tuple[str, ...] = ()
    bootstrap_not_identified: pd.DataFrame | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        outcomes = list(dict.fromkeys(self.estimates["outcome"]))
        draws = 0 if self.bootstrap is None else self.bootstrap.n_boot
        return f"StudyResult(outcomes={outcomes}, numbers={len(self.estimates)}, bootstrap={draws})"

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Outcomes in the order of the study."""
        return tuple(dict.fromkeys(self.estimates["outcome"]))

    def tidy(self, se: Literal["both", "whole_pipeline", "conditional"] = "both") -> pd.DataFrame:
        """One row per number and kind of SE.

        Parameters
        ----------
        se : {"both", "whole_pipeline", "conditional"}, default "both"
            Which standard errors to list; with ``"both"`` every number has a
            ``whole_pipeline`` row (when bootstrapped) followed by its
            ``conditional`` row.

        Returns
        -------
        pandas.DataFrame
            ``term``, the keys ``outcome``, ``estimand``, ``by``,
            ``subgroup``, ``event_time`` and ``se_type``, then ``estimate``,
            ``std_error``, ``statistic``, ``p_value``, ``conf_low``,
            ``conf_high`` (normal intervals at :attr:`level`). See
            :data:`SE_TYPES` for the meaning of ``se_type``.
        """
        if se not in ("both", "whole_pipeline", "conditional"):
            raise ValueError(
                f"se must be 'both', 'whole_pipeline' or 'conditional'; got {se!r}. Pick one."
            )
        frame = self.estimates
        kinds = ["whole_pipeline", "conditional"] if se == "both" else [se]
        if self.bootstrap is None:
            kinds = [k for k in kinds if k == "conditional"]
        parts = []
        for kind in kinds:
            errors = frame[f"std_error_{kind}"].to_numpy(dtype=float)
            keep = np.isfinite(errors) | (kind == "conditional")
            part = frame.loc[keep].assign(se_type=kind, _order=np.flatnonzero(keep), _kind=kind)
            parts.append(part)
        joined = pd.concat(parts).sort_values(["_order", "_kind"], ascending=[True, False])
        keys = {key: joined[key].tolist() for key in (*ROW_KEYS, "se_type")}
        errors = np.where(
            joined["se_type"] == "conditional",
            joined["std_error_conditional"],
            joined["std_error_whole_pipeline"],
        )
        return make_tidy(
            joined["term"].tolist(), joined["estimate"], errors, level=self.level, keys=keys
        )

    def headline(self) -> pd.DataFrame:
        """The overall effects (simple, proportional, post-entry average) with both SEs."""
        frame = self.estimates
        keep = frame["estimand"].isin(_HEADLINE) & frame["by"].isna()
        return frame.loc[keep].reset_index(drop=True)

    def model_info(self) -> ModelInfo:
        """Counts and inference facts for summaries and tables."""
        boot = self.bootstrap
        se_type = SE_TYPES["conditional"]
        if boot is not None:
            se_type = f"{SE_TYPES['whole_pipeline']} ({boot.n_boot} draws, seed {boot.seed})"
        return ModelInfo(
            name="Park-impact study: TFP -> DiD per outcome -> heterogeneity",
            n_obs=self.panel.n_obs,
            n_units=self.panel.n_units,
            n_clusters=None if boot is None else boot.n_clusters,
            cluster="firm",
            se_type=se_type,
            notes=self.notes,
        )

    def summary(self) -> str:
        """Text summary: the headline effects with both SEs, then the stages and notes."""
        head = self.headline()
        z = _critical(self.level)
        shown = pd.DataFrame(
            {
                "outcome": head["outcome"],
                "estimand": head["estimand"],
                "estimate": head["estimate"],
                "SE conditional": head["std_error_conditional"],
                "SE whole-pipeline": head["std_error_whole_pipeline"],
            }
        )
        best = head["std_error_whole_pipeline"].fillna(head["std_error_conditional"])
        shown[f"{100 * self.level:g}% CI low"] = head["estimate"] - z * best
        shown[f"{100 * self.level:g}% CI high"] = head["estimate"] + z * best
        info = self.model_info()
        lines = [
            f"Firm-years: {info.n_obs}; firms: {info.n_units}",
            f"TFP stage: {self.settings.get('tfp')}",
            f"DiD stage: {self.settings.get('did')}",
            f"DiD covariates (the study's, applied to every outcome): "
            f"{list(self.settings.get('covariates') or ())}",
            f"SE conditional: {SE_TYPES['conditional']}",
        ]
        if self.bootstrap is not None:
            lines.append(f"SE whole-pipeline: {info.se_type}")
            lines.append("CI: estimate -/+ z * whole-pipeline SE")
        table = descriptive_table(
            shown.set_index(["outcome", "estimand"]),
            digits=4,
            title=info.name,
            notes=[*lines, *self.notes],
        )
        return table.to_text()


def _critical(level: float) -> float:
    from scipy import stats

    return float(stats.norm.isf((1.0 - level) / 2.0))


def _bootstrap_columns(rows: pd.DataFrame, boot: ResampleResult | None) -> pd.DataFrame:
    out = rows.rename(columns={"std_error": "std_error_conditional"})
    out["std_error_whole_pipeline"] = np.nan
    out["n_failed"] = 0
    if boot is None:
        return out
    position = {name: j for j, name in enumerate(boot.names)}
    ids = row_ids(rows)
    columns = np.array([position.get(i, -1) for i in ids])
    have = columns >= 0
    draws = boot.estimates[:, columns[have]]
    out.loc[have, "std_error_whole_pipeline"] = boot.std_errors[columns[have]]
    out.loc[have, "n_failed"] = np.isnan(draws).sum(axis=0)
    return out


def _bootstrap_notes(
    boot: ResampleResult, frame: pd.DataFrame, not_identified: pd.DataFrame | None
) -> list[str]:
    """Draws lost by each number, and resamples on which cells were not identified."""
    notes = []
    lost = frame.loc[frame["n_failed"] > 0]
    if len(lost):
        headline = lost.loc[lost["estimand"].isin(_HEADLINE) & lost["by"].isna()]
        named = ", ".join(f"{r.outcome} {r.estimand} ({r.n_failed})" for r in headline.itertuples())
        notes.append(
            f"Bootstrap: {len(lost)} number(s) could not be computed on some resamples (at most "
            f"{int(lost['n_failed'].max())} of {boot.n_boot} draws"
            + (f"; headline effects: {named}" if named else "")
            + "); their whole-pipeline SEs use the remaining draws."
        )
    if boot.n_failed:
        notes.append(f"Bootstrap: {boot.n_failed} replication(s) failed entirely.")
    for outcome, counts in ({} if not_identified is None else not_identified).items():
        hit = counts.fillna(0.0).to_numpy() > 0
        if hit.any():
            notes.append(
                f"Bootstrap: on {int(hit.sum())} of {boot.n_boot} resamples up to "
                f"{int(counts.max())} group-time cell(s) of {outcome} were not identified by "
                "the covariates (propensity score separating treated firms) and left out of its "
                "aggregates there."
            )
    return notes


def _notes(
    plan: Plan,
    fits: EffectFits,
    boot: ResampleResult | None,
    frame: pd.DataFrame,
    not_identified: pd.DataFrame | None,
) -> list:
    notes = [f"Subgroups: {failure}" for failure in fits.failures]
    for by, used in fits.covariates_by.items():
        left = sorted(set(plan.covariates or ()) - set(used or ()))
        if left:
            notes.append(f"Subgroups by {by}: covariates constant within them left out: {left}")
    for key, count in fits.not_identified.items():
        notes.append(
            f"DiD: {count} group-time cell(s) of {key} not identified by the covariates "
            "(propensity score separating treated firms, or a singular outcome regression) are "
            "left out of its aggregations (listed in cells_not_identified of the fit)."
        )
    if boot is not None:
        notes += _bootstrap_notes(boot, frame, not_identified)
    if plan.pre_entry_years is not None:
        notes.append(
            f"Tenants' years more than {plan.pre_entry_years} before entry are not used by the DiD."
        )
    return notes


def assemble(
    study: ImpactStudy,
    plan: Plan,
    tfp_result: Any,
    panel: FirmPanel,
    fits: EffectFits,
    boot: ResampleResult | None,
    not_identified: pd.DataFrame | None = None,
) -> StudyResult:
    """Build the :class:`StudyResult` of a fitted study."""
    frame = _bootstrap_columns(fits.rows, boot)
    settings = {
        "outcomes": plan.outcomes,
        "tfp": repr(study.tfp) if study.tfp is not None else None,
        "did": repr(replace(plan.did, outcome="<outcome>")),
        "by_did": repr(replace(plan.by_did, outcome="<outcome>")),
        "covariates": plan.covariates,
        "by": plan.by,
        "count_outcomes": tuple(sorted(plan.count_outcomes)),
        "event_window": plan.window,
        "pre_entry_years": plan.pre_entry_years,
        "bootstrap": study.bootstrap,
        "seed": None if boot is None else boot.seed,
        "parkimpact_version": __version__,
    }
    return StudyResult(
        estimates=frame,
        tfp=tfp_result,
        panel=panel,
        did=MappingProxyType(dict(fits.fits)),
        aggregates=MappingProxyType(dict(fits.aggregates)),
        subgroups=MappingProxyType(dict(fits.subgroups)),
        subgroup_tests=fits.tests,
        covariates_by=MappingProxyType(dict(fits.covariates_by)),
        bootstrap=boot,
        settings=MappingProxyType(settings),
        level=float(study.level),
        fingerprint=panel.fingerprint(),
        notes=tuple(_notes(plan, fits, boot, frame, not_identified)),
        bootstrap_not_identified=not_identified,
    )
