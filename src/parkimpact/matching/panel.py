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
from parkimpact.errors import IdentificationError
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

        Raises
        ------
        ValueError
            If the panel has no entry role.
        IdentificationError
            If no cohort can be matched.
        """
        if not isinstance(panel, FirmPanel):
            raise TypeError(f"panel must be a FirmPanel; got {type(panel).__name__}.")
        if panel.roles.entry is None:
            raise ValueError(
                "panel role 'entry' must be declared for PSMDiD; got none. Build the panel "
                "with FirmPanel(..., entry='<entry year column>')."
            )
        exact = self.exact
        if exact is None:
            exact = () if panel.roles.industry is None else (panel.roles.industry,)
        data = panel.data
        cohorts = sorted(pd.unique(data[panel.roles.entry].dropna()))
        matched: dict[int, MatchResult] = {}
        stacks, sections, notes = [], [], []
        drops = DropReport()
        for g in cohorts:
            section, features = self._cross_section(panel, int(g), tuple(exact))
            if section is None or section[_TREAT].sum() == 0:
                notes.append(f"cohort {int(g)}: no treated firm observed at the base year; skipped")
                continue
            try:
                result = self._matcher(features, tuple(exact)).fit(section)
            except IdentificationError as exc:
                notes.append(f"cohort {int(g)}: not matched ({exc})")
                continue
            matched[int(g)] = result
            drops = drops.merge(result.drops)
            sections.append(section.assign(_weight=result.weights.to_numpy(), _cohort=int(g)))
            stacks.append(self._stack(panel, int(g), result))
        if not stacks:
            raise IdentificationError(
                f"at least one cohort must be matched; got none of {len(cohorts)} cohort(s): "
                f"{'; '.join(notes[:3])}. Check the base-year data and the covariates."
            )
        stacked = self._panel(panel, pd.concat(stacks, ignore_index=True))
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
            cohorts=MappingProxyType(matched),
            sections=pd.concat(sections),
            features=tuple(features),
            drops=drops,
            notes=tuple(notes),
            spec=MappingProxyType(
                {
                    "estimator": "PSMDiD",
                    "settings": MappingProxyType(asdict(self)),
                    "parkimpact_version": __version__,
                    "panel_fingerprint": panel.fingerprint(),
                }
            ),
        )

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
    ) -> tuple[pd.DataFrame | None, list[str]]:
        """Firms entering in ``g`` and never-treated firms at base year ``g - 1``."""
        data, unit, time = panel.data, panel.roles.unit, panel.roles.time
        entry = panel.roles.entry
        base = data.loc[data[time] == g - 1]
        base = base.loc[(base[entry] == g) | base[entry].isna()]
        if base.empty:
            return None, []
        columns = [unit, *self.covariates, *exact]
        section = base[list(dict.fromkeys(columns))].copy()
        section[_TREAT] = (base[entry] == g).astype(int).to_numpy()
        features = list(self.covariates)
        y = data.set_index([unit, time])[self.outcome]
        if self.match_on_level:
            section["_y_pre"] = base[self.outcome].to_numpy()
            features.append("_y_pre")
        if self.trend_years:
            keys = pd.MultiIndex.from_arrays([base[unit], base[time] - self.trend_years])
            earlier = y.reindex(keys).to_numpy()
            section["_y_trend"] = base[self.outcome].to_numpy() - earlier
            features.append("_y_trend")
        return section.set_index(unit, drop=False), features

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
        Stacked base-year cross-sections with matching weights (``_weight``).
    features : tuple of str
        Variables of the propensity score.
    drops : DropReport
        Firms dropped in the matchings.
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
