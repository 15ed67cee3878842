r"""Matching on panels: stacked propensity-score matching followed by event-time DiD.

:class:`PSMDiD` builds, for each entry cohort :math:`g`, a cross-section of
the firms entering in :math:`g` and of the never-treated firms at the base
year :math:`b = g - 1`: covariates at :math:`b`, the outcome level
:math:`y_{b}` and its pre-entry trend :math:`y_{b} - y_{b-L}`. Treated firms
are matched to never-treated firms within the cohort (and exactly within
industry) by :class:`~parkimpact.matching.NearestNeighborMatch`. The matched
firms' years :math:`g + a, \dots, g + b` form one *stack*; stacks are
appended and the event study

.. math:: y_{ist} = \alpha_{is} + \lambda_{st}
          + \sum_{e \ne r} \beta_e 1[t - g_s = e,\ i \text{ treated}] + u_{ist}

is fitted with the matching weights, firm-by-stack and stack-by-year fixed
effects and standard errors clustered by firm (a control can serve in several
stacks). Because every stack compares one cohort with clean controls, the
:math:`\beta_e` are convex averages of cohort-specific effects (no forbidden
comparisons; Cengiz et al. 2019).

:func:`firm_ipw_weights` gives firm-level inverse-probability (odds) weights
for the ATT, to pass as ``weights`` to :class:`~parkimpact.did.EventStudy` or
:class:`~parkimpact.did.TwoWayFE`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, asdict, dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from parkimpact._version import __version__
from parkimpact.data.drops import DropReport
from parkimpact.data.panel import FirmPanel
from parkimpact.did import EventStudy
from parkimpact.did.regression_results import EventStudyResult
from parkimpact.errors import DroppedRowsWarning, IdentificationError
from parkimpact.matching._data import check_int, check_names
from parkimpact.matching.balance import BalanceResult, balance_table
from parkimpact.matching.nearest import NearestNeighborMatch
from parkimpact.matching.propensity import PropensityScore
from parkimpact.matching.results import MatchResult
from parkimpact.report.tidy import ModelInfo, ResultBase, make_tidy

__all__ = ["PSMDiD", "PSMDiDResult", "firm_ipw_weights"]

_TREAT = "_treated"


def _role(panel: FirmPanel, name: str) -> str:
    return panel.roles.declared().get(name, name)


_SOURCE = "matching"
"""Source of the base-year rows of the cohort cross-sections in the drop report."""


@dataclass(eq=False)
class _Cohorts:
    """Running state of :meth:`PSMDiD.fit`: matched cohorts, stacks and base-year drops.

    Every base-year row of a cohort cross-section is counted in ``rows_in``; it
    is either kept (used by the matching, in ``sections``) or recorded in
    ``report`` with a reason. Treated firms left without a match stay in
    ``sections`` with weight 0 and are recorded too (they leave the estimate).
    """

    matched: dict[int, MatchResult] = field(default_factory=dict)
    stacks: list[pd.DataFrame] = field(default_factory=list)
    sections: list[pd.DataFrame] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report: DropReport = field(default_factory=DropReport)
    rows_in: int = 0

    def record(self, reason: str, units: Sequence[object], base_year: int) -> None:
        units = np.asarray(units, dtype=object)
        self.report = self.report.record(
            _SOURCE,
            "PSMDiD",
            reason,
            unit=units,
            time=np.full(len(units), float(base_year)),
            warn=False,
        )

    def add_rows(self, section: pd.DataFrame, reasons: pd.Series, base_year: int) -> None:
        """Count a cross-section and record its incomplete rows."""
        self.rows_in += len(section)
        incomplete = reasons.dropna()
        for reason in pd.unique(incomplete):
            self.record(str(reason), incomplete.index[incomplete == reason], base_year)

    def add_matcher_drops(self, drops: DropReport, base_year: int) -> None:
        """Carry the rows a cohort's matcher dropped, with its reasons."""
        frame = drops.frame
        for reason in pd.unique(frame["reason"]):
            units = frame.loc[frame["reason"] == reason, "unit"]
            self.record(str(reason).replace("focal unit", "treated firm"), units, base_year)

    def skip(self, complete: pd.DataFrame, g: int, why: str) -> None:
        """Note a cohort that cannot be matched and record its complete rows."""
        self.notes.append(f"cohort {g}: {why}; skipped")
        self.record("cohort not matched (see the result's notes)", complete.index, g - 1)

    def finish(self) -> DropReport:
        """The drop report with its accounting; warns once if rows were dropped."""
        n = len(self.report)
        report = self.report.with_rows_in(_SOURCE, self.rows_in).with_kept(
            _SOURCE, self.rows_in - n
        )
        if n:
            detail = "; ".join(f"{r.reason}: {r.rows}" for r in report.counts().itertuples())
            self.notes.append(f"{n} base-year row(s) dropped from the matching (see .drops)")
            warnings.warn(
                f"{n} of {self.rows_in} base-year row(s) dropped from the PSMDiD matching "
                f"({detail}). See the drop report (.drops, source 'matching') for the rows.",
                DroppedRowsWarning,
                stacklevel=3,
            )
        return report


@dataclass(frozen=True)
class PSMDiD:
    """Stacked propensity-score matching within entry cohort, then event-time DiD.

    Parameters
    ----------
    outcome : str
        Outcome column (e.g. log TFP).
    covariates : sequence of str, default ()
        Firm covariates, measured in the year before entry.
    trend_years : int, default 2
        :math:`L` of the pre-entry outcome trend :math:`y_{g-1} - y_{g-1-L}`
        used in the propensity score (0: no trend).
    match_on_level : bool, default True
        Also use the pre-entry outcome level :math:`y_{g-1}`.
    exact : sequence of str or None, default None
        Exact-matching columns (firm-level, at the base year); None means the
        panel's industry role when declared.
    k, replace, caliper, caliper_scale
        As in :class:`~parkimpact.matching.NearestNeighborMatch`.
    window : tuple of int, default (-4, 4)
        Event times kept in each stack.
    reference : int, default -1
        Omitted event time.
    seed : int, default 0
        Seed of the event study's sup-t band.
    """

    outcome: str
    _: KW_ONLY
    covariates: Sequence[str] = ()
    trend_years: int = 2
    match_on_level: bool = True
    exact: Sequence[str] | None = None
    k: int = 1
    replace: bool = False
    caliper: float | None = None
    caliper_scale: str = "ps_sd"
    window: tuple[int, int] = (-4, 4)
    reference: int = -1
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariates", check_names(self.covariates, "covariates"))
        if self.exact is not None:
            object.__setattr__(self, "exact", check_names(self.exact, "exact"))
        check_int(self.trend_years, "trend_years", 0)
        check_int(self.k, "k", 1)
        if not self.covariates and not self.match_on_level and self.trend_years == 0:
            raise ValueError(
                "covariates, match_on_level or trend_years must give something to match on; got "
                "none. Pass covariates or keep match_on_level=True."
            )
        first, last = self.window
        if not first <= self.reference <= last or first >= last:
            raise ValueError(
                f"window must contain the reference period {self.reference} with first < last; "
                f"got {self.window}. Use e.g. window=(-4, 4), reference=-1."
            )

    def fit(self, panel: FirmPanel) -> PSMDiDResult:
        """Match within every cohort, stack and estimate the event study.

        Base-year rows that cannot enter a matching (a missing matching
        variable, too few pre-entry years for the outcome trend, a cohort that
        cannot be matched) and treated firms left without a match are recorded
        in the result's ``drops`` under source ``"matching"`` with their reasons
        and base year, and one :class:`~parkimpact.errors.DroppedRowsWarning`
        gives their count.

        Raises
        ------
        ValueError
            If the panel has no entry role.
        IdentificationError
            If no cohort can be matched.
        """
        if not isinstance(panel, FirmPanel):
            raise TypeError(f"panel must be a FirmPanel; got {type(panel).__name__}.")
        panel.require_role("entry", "PSMDiD")
        exact = self.exact
        if exact is None:
            exact = () if panel.roles.industry is None else (panel.roles.industry,)
        cohorts = sorted(pd.unique(panel.data[panel.roles.entry].dropna()))
        run = _Cohorts()
        for g in cohorts:
            self._fit_cohort(panel, int(g), tuple(exact), run)
        if not run.stacks:
            raise IdentificationError(
                f"at least one cohort must be matched; got none of {len(cohorts)} cohort(s): "
                f"{'; '.join(run.notes[:3])}. Check the base-year data and the covariates."
            )
        drops = run.finish()
        stacked = self._panel(panel, pd.concat(run.stacks, ignore_index=True))
        study = EventStudy(
            self.outcome,
            window=self.window,
            reference=self.reference,
            bin_endpoints=False,
            weights="_match_weight",
            fixed_effects=("unit", "_stack_time"),
            cluster="_firm",
            seed=self.seed,
        ).fit(stacked)
        return PSMDiDResult(
            event_study=study,
            cohorts=MappingProxyType(run.matched),
            sections=pd.concat(run.sections),
            features=tuple(run.features),
            drops=panel.drops.merge(drops),
            notes=tuple(run.notes),
            spec=MappingProxyType(
                {
                    "estimator": "PSMDiD",
                    "settings": MappingProxyType(asdict(self)),
                    "parkimpact_version": __version__,
                    "panel_fingerprint": panel.fingerprint(),
                }
            ),
        )

    def _fit_cohort(self, panel: FirmPanel, g: int, exact: tuple[str, ...], run: _Cohorts) -> None:
        """Match cohort ``g`` and add its section, stack, drops and notes to ``run``."""
        section, features, reasons = self._cross_section(panel, g, exact)
        if section is None or section[_TREAT].sum() == 0:
            run.notes.append(f"cohort {g}: no treated firm observed at the base year; skipped")
            return
        run.add_rows(section, reasons, g - 1)
        complete = section.loc[reasons.isna().to_numpy()]
        groups = complete[_TREAT].value_counts()
        if groups.get(1, 0) == 0 or groups.get(0, 0) == 0:
            who = "treated" if groups.get(1, 0) == 0 else "never-treated"
            run.skip(
                complete, g, f"no {who} firm with complete matching variables at the base year"
            )
            return
        try:
            with warnings.catch_warnings():
                # the matcher's drops are recorded in run (with reasons) and warned about once
                warnings.simplefilter("ignore", DroppedRowsWarning)
                result = self._matcher(features, exact).fit(complete)
        except IdentificationError as exc:
            run.skip(complete, g, f"not matched ({exc})")
            return
        run.add_matcher_drops(result.drops, g - 1)
        weights = result.weights
        # the matcher's kept rows, aligned by unit id (its weights carry the unit index)
        kept = complete.loc[weights.index].assign(_weight=weights.to_numpy(), _cohort=g)
        run.matched[g] = result
        run.features = features
        run.sections.append(kept)
        run.stacks.append(self._stack(panel, g, result))

    def _matcher(self, features: Sequence[str], exact: tuple[str, ...]) -> NearestNeighborMatch:
        return NearestNeighborMatch(
            _TREAT,
            covariates=features,
            exact=exact,
            k=self.k,
            replace=self.replace,
            caliper=self.caliper,
            caliper_scale=self.caliper_scale,  # type: ignore[arg-type]
        )

    def _cross_section(
        self, panel: FirmPanel, g: int, exact: tuple[str, ...]
    ) -> tuple[pd.DataFrame | None, list[str], pd.Series]:
        """Firms entering in ``g`` and never-treated firms at base year ``g - 1``.

        Returns the cross-section (index: unit id), the matching variables and,
        per row, why it cannot enter the matching (missing for complete rows).
        """
        data, unit, time = panel.data, panel.roles.unit, panel.roles.time
        entry = panel.roles.entry
        base = data.loc[data[time] == g - 1]
        base = base.loc[(base[entry] == g) | base[entry].isna()]
        if base.empty:
            return None, [], pd.Series(dtype=object)
        columns = [unit, *self.covariates, *exact]
        section = base[list(dict.fromkeys(columns))].copy()
        section[_TREAT] = (base[entry] == g).astype(int).to_numpy()
        features = list(self.covariates)
        y = data.set_index([unit, time])[self.outcome]
        level = base[self.outcome].to_numpy()
        observed = np.ones(len(base), dtype=bool)
        if self.match_on_level:
            section["_y_pre"] = level
            features.append("_y_pre")
        if self.trend_years:
            keys = pd.MultiIndex.from_arrays([base[unit], base[time] - self.trend_years])
            observed = keys.isin(y.index)
            section["_y_trend"] = level - y.reindex(keys).to_numpy()
            features.append("_y_trend")
        section = section.set_index(unit, drop=False)
        return section, features, self._drop_reasons(section, level, observed, exact)

    def _drop_reasons(
        self, section: pd.DataFrame, level: np.ndarray, observed: np.ndarray, exact: Sequence[str]
    ) -> pd.Series:
        """First reason (in the matcher's column order) why each base-year row is incomplete."""
        lag, outcome = self.trend_years, self.outcome
        checks = [(section[c].isna(), f"missing {c} at the base year") for c in self.covariates]
        if self.match_on_level or lag:
            checks.append((pd.isna(level), f"missing {outcome} at the base year"))
        if lag:
            why = f"too few pre-entry years for the outcome trend with trend_years={lag}"
            checks.append(
                (~observed, f"firm not observed {lag} year(s) before the base year, {why}")
            )
            checks.append(
                (
                    section["_y_trend"].isna(),
                    f"missing {outcome} {lag} year(s) before the base year",
                )
            )
        checks.extend((section[c].isna(), f"missing {c} at the base year") for c in exact)
        reasons = np.full(len(section), None, dtype=object)
        for missing, reason in checks:
            reasons[np.asarray(missing, dtype=bool) & pd.isna(reasons)] = reason
        return pd.Series(reasons, index=section.index, name="reason")

    def _stack(self, panel: FirmPanel, g: int, result: MatchResult) -> pd.DataFrame:
        data, unit, time = panel.data, panel.roles.unit, panel.roles.time
        weights = result.weights[result.weights > 0]
        first, last = self.window
        rows = data.loc[
            data[unit].isin(weights.index) & data[time].between(g + first, g + last)
        ].copy()
        treated = rows[panel.roles.entry].to_numpy() == g
        rows["_firm"] = rows[unit]
        rows["_stack_unit"] = f"{g}:" + rows[unit].astype(str)
        rows["_stack_time"] = f"{g}:" + rows[time].astype(str)
        rows["_stack_entry"] = np.where(treated, float(g), np.nan)
        rows["_match_weight"] = weights.reindex(rows[unit]).to_numpy()
        return rows

    def _panel(self, panel: FirmPanel, stacked: pd.DataFrame) -> FirmPanel:
        roles = panel.roles
        keep = [c for c in stacked.columns if c not in (roles.unit, roles.entry, roles.exit)]
        return FirmPanel(stacked[keep], unit="_stack_unit", time=roles.time, entry="_stack_entry")


@dataclass(frozen=True, eq=False, repr=False)
class PSMDiDResult(ResultBase):
    """Result of :class:`PSMDiD`.

    Attributes
    ----------
    event_study : EventStudyResult
        The weighted stacked event study.
    cohorts : Mapping[int, MatchResult]
        The matching of each cohort.
    sections : pandas.DataFrame
        Stacked base-year cross-sections of the matched cohorts: the rows each
        matching used (complete matching variables), with their matching
        weights (``_weight``, aligned by unit id) and ``_cohort``; treated
        firms left without a match have weight 0 (and are in ``drops``).
    features : tuple of str
        Variables of the propensity score.
    drops : DropReport
        The panel's drop report plus, under source ``"matching"``, the
        base-year rows of the cohort cross-sections that did not enter the
        estimate (missing matching variables, too few pre-entry years for the
        trend, unmatched cohorts, treated firms without a match), with their
        reason and base year; for that source rows in = rows kept + rows
        reported.
    notes : tuple of str
        Skipped cohorts and other notes.
    spec : Mapping[str, Any]
    """

    event_study: EventStudyResult
    cohorts: Mapping[int, MatchResult]
    sections: pd.DataFrame
    features: tuple[str, ...]
    drops: DropReport
    notes: tuple[str, ...] = ()
    spec: Mapping[str, Any] = field(default_factory=dict)

    def _post_terms(self) -> list[str]:
        return [t for t, e in self.event_study.event_terms.items() if e >= 0]

    @property
    def att(self) -> float:
        """Average of the post-entry event-time effects (event times 0 to the window end)."""
        return float(self.event_study.params[self._post_terms()].mean())

    @property
    def std_error(self) -> float:
        """Standard error of :attr:`att` from the event study's covariance."""
        terms = self._post_terms()
        w = np.full(len(terms), 1.0 / len(terms))
        v = self.event_study.vcov.loc[terms, terms].to_numpy()
        return float(np.sqrt(w @ v @ w))

    def tidy(self) -> pd.DataFrame:
        """Event-time effects (key ``event_time``) and the post-entry average ``ATT``."""
        study = self.event_study.tidy()
        att = make_tidy(
            ["ATT"],
            [self.att],
            [self.std_error],
            df=self.event_study.df_resid if "df" in study.attrs else None,
        )
        att.insert(1, "event_time", np.nan)
        if "event_time" not in study.columns:
            study.insert(
                1,
                "event_time",
                [self.event_study.event_terms.get(t, np.nan) for t in study["term"]],
            )
        out = pd.concat([study, att], ignore_index=True)
        out.attrs.update(study.attrs)
        return out

    def model_info(self) -> ModelInfo:
        """Facts of the event study plus the matched cohorts."""
        info = self.event_study.model_info()
        return ModelInfo(
            name="PSM-DiD: stacked matching by entry cohort, weighted event study",
            n_obs=info.n_obs,
            n_units=info.n_units,
            n_clusters=info.n_clusters,
            fixed_effects=("firm x stack", "stack x year"),
            cluster="firm",
            se_type=info.se_type,
            dependent=info.dependent,
            notes=(f"cohorts matched: {sorted(self.cohorts)}", *self.notes),
        )

    def balance(self, *, squares: bool = False, interactions: bool = False) -> BalanceResult:
        """Balance of the matching variables over all stacks (base-year cross-sections)."""
        frame = self.sections
        return balance_table(
            frame,
            frame[_TREAT].to_numpy() == 1,
            list(self.features),
            frame["_weight"].to_numpy(),
            squares=squares,
            interactions=interactions,
        )


def firm_ipw_weights(
    panel: FirmPanel, covariates: Sequence[str], *, model: PropensityScore | None = None
) -> pd.Series:
    """Firm-level ATT odds weights for the DiD estimators.

    The propensity of ever entering a park is fitted on ``covariates`` in each
    firm's first observed year; treated firms get weight 1 and never-treated
    firms :math:`\\hat e / (1 - \\hat e)`, normalised to sum to their number.
    Assign the result to the panel (``panel.assign(ipw=...)``) and pass
    ``weights="ipw"`` to :class:`~parkimpact.did.EventStudy` or
    :class:`~parkimpact.did.TwoWayFE`.

    Returns
    -------
    pandas.Series
        One weight per row of ``panel.data`` (constant within firm); NaN for
        firms with missing covariates.
    """
    names = check_names(covariates, "covariates", allow_empty=False)
    if panel.roles.entry is None:
        raise ValueError("panel role 'entry' must be declared; got none. Declare entry=....")
    data, unit, time = panel.data, panel.roles.unit, panel.roles.time
    first = data.sort_values(time).groupby(unit, sort=False).first()
    first[_TREAT] = first[panel.roles.entry].notna().astype(int)
    fit = (model or PropensityScore(names)).fit(first, _TREAT)
    e = fit.scores
    treated = first.loc[e.index, _TREAT].to_numpy() == 1
    odds = (e / (1 - e)).to_numpy()
    w = np.where(treated, 1.0, odds * (~treated).sum() / odds[~treated].sum())
    per_firm = pd.Series(w, index=e.index)
    return pd.Series(per_firm.reindex(data[unit]).to_numpy(), index=data.index, name="ipw")
