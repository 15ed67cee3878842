"""`Scorecard`: the configuration of a park scorecard and its ``fit``.

The estimator only stores settings (validated once, in ``__post_init__``);
``fit`` computes every KPI of :mod:`parkimpact.scorecard.kpis` for every park
(and all parks pooled) at the park, park-year and park-cohort levels, their
causal effects where the data allow, the survival curves and closure-hazard
model, and the cost KPIs, and returns an immutable
:class:`~parkimpact.scorecard.result.ScorecardResult`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from numbers import Integral, Real
from types import MappingProxyType
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from parkimpact._version import __version__
from parkimpact.data.panel import FirmPanel
from parkimpact.did.cs_results import thin_blas
from parkimpact.report.tidy import make_tidy
from parkimpact.scorecard import _descriptive as desc
from parkimpact.scorecard._causal import CausalSettings, ParkEffect, causal_rows
from parkimpact.scorecard._hazard import HazardLink, closure_model
from parkimpact.scorecard._measures import Measures, MeasureSettings, build_measures
from parkimpact.scorecard._survival_compare import SurvivalSettings, survival_outputs
from parkimpact.scorecard.cost import CostTable, cost_rows
from parkimpact.scorecard.kpis import COLUMNS, KPI, KPIS, kpi_definitions
from parkimpact.scorecard.result import ScorecardResult
from parkimpact.scorecard.survival import firm_spells

__all__ = ["Scorecard", "firm_covariates"]

Method = Literal["dr", "dr_improved", "ipw", "reg"]
_LEVELS = {"park": 0, "park_year": 1, "park_cohort": 2}
_INTEGERS = {
    "min_tenants": 1,
    "citation_window": 0,
    "startup_years": 0,
    "sme_employees": 1,
    "youth_age": 1,
    "survival_horizon": 1,
    "curve_years": 1,
    "n_bootstrap": 0,
    "seed": 0,
}


def firm_covariates(panel: FirmPanel, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric firm-level covariates from each firm's first observed value.

    Numeric columns are kept; other columns become indicators of their levels
    (first sorted level omitted), named ``column[level]``. Index: firm id.
    """
    roles = panel.roles
    data = panel.data.sort_values([roles.unit, roles.time], kind="stable")
    grouped = data.groupby(roles.unit, sort=True)
    out = pd.DataFrame(index=pd.Index(grouped.size().index, name=roles.unit))
    for name in covariates:
        first = grouped[name].first()
        if pd.api.types.is_numeric_dtype(first.dtype) or pd.api.types.is_bool_dtype(first.dtype):
            out[name] = first.astype("float64")
            continue
        levels = sorted(str(v) for v in pd.unique(first.dropna()))
        text = first.astype(object).where(first.notna(), None)
        for level in levels[1:]:
            out[f"{name}[{level}]"] = np.where(
                text.isna(), np.nan, (text.astype(str) == level).astype(float)
            )
    return out


@dataclass(frozen=True, kw_only=True)
class Scorecard:
    """A park scorecard: KPIs beside their counterfactuals.

    Parameters
    ----------
    covariates : sequence of str, default ()
        Firm columns the causal comparisons condition on, taken in each
        firm's first observed year (text columns become indicators).
    kpis : sequence of str or None, default None
        KPIs to compute (all of :data:`~parkimpact.scorecard.kpis.KPIS` by
        default).
    columns : Mapping[str, str] or None, default None
        Canonical name -> panel column, for columns named differently from
        :data:`~parkimpact.scorecard.kpis.COLUMNS`.
    min_tenants : int, default 20
        Treated firms a park, cohort or year needs for a causal estimate.
    method : {"dr", "dr_improved", "ipw", "reg"}, default "dr"
        2x2 estimator of :class:`~parkimpact.did.CallawaySantAnna`.
    causal : bool, default True
        Estimate causal effects (False: descriptive values only).
    by_park : bool, default True
        Report every park and all parks pooled (False: only all parks pooled,
        one estimation per KPI instead of one per park and the pool).
    high_wage_multiple : float, default 1.5
        A job is high-wage when its firm's average wage is at least this
        multiple of the benchmark median.
    wage_cell, technology_cell : str or None, default None
        Benchmark cells of the wage median and of the citation means (e.g. a
        region or technology column); None uses the panel's industry role
        (the whole economy without one).
    citation_window : int, default 5
        Years of citations a patent needs: later application years are left
        out of the quality KPIs.
    startup_years : int, default 5
        An entrant is a start-up when founded at most this many years before
        entry.
    sme_employees : int, default 250
        SMEs have fewer employees than this.
    youth_age : int, default 35
        A firm is youth-led when its founder is younger than this.
    survival_horizon : int, default 5
        Horizon of the survival KPI (years after entry).
    curve_years : int, default 10
        Length of the survival curves.
    closure : str or None, default None
        Column with the closure year; None: a firm closes in its last observed
        year when that is before the panel's last year.
    hazard_link : {"cloglog", "logit"}, default "cloglog"
        Link of the closure hazard model.
    n_bootstrap : int, default 199
        Bootstrap draws of the survival effect's SE (0: analytic).
    seed : int, default 0
        Seed of the bootstrap.
    level : float, default 0.95
        Confidence level.
    """

    covariates: Sequence[str] = ()
    kpis: Sequence[str] | None = None
    columns: Mapping[str, str] | None = None
    min_tenants: int = 20
    method: Method = "dr"
    causal: bool = True
    by_park: bool = True
    high_wage_multiple: float = 1.5
    wage_cell: str | None = None
    technology_cell: str | None = None
    citation_window: int = 5
    startup_years: int = 5
    sme_employees: int = 250
    youth_age: int = 35
    survival_horizon: int = 5
    curve_years: int = 10
    closure: str | None = None
    hazard_link: HazardLink = "cloglog"
    n_bootstrap: int = 199
    seed: int = 0
    level: float = 0.95

    def __post_init__(self) -> None:
        if isinstance(self.covariates, str):
            raise TypeError(
                f"covariates must be a sequence of column names; got the string "
                f"{self.covariates!r}. Wrap it in a list."
            )
        object.__setattr__(self, "covariates", tuple(self.covariates))
        if self.kpis is not None:
            unknown = [k for k in self.kpis if k not in KPIS]
            if unknown or isinstance(self.kpis, str):
                raise ValueError(
                    f"kpis must be names from parkimpact.scorecard.KPIS; got unknown "
                    f"{unknown or [self.kpis]}. Known: {list(KPIS)}."
                )
            object.__setattr__(self, "kpis", tuple(self.kpis))
        unknown_cols = sorted(set(self.columns or {}) - set(COLUMNS))
        if unknown_cols:
            raise ValueError(
                f"columns must map canonical names {list(COLUMNS)}; got unknown "
                f"{unknown_cols}. Use the canonical name as the key."
            )
        self._check_choices()
        self._check_numbers()

    def _check_choices(self) -> None:
        for name, value, literal in (
            ("method", self.method, Method),
            ("hazard_link", self.hazard_link, HazardLink),
        ):
            if value not in get_args(literal):
                raise ValueError(
                    f"The '{name}' parameter of Scorecard must be one of {get_args(literal)}. "
                    f"Got {value!r} instead."
                )

    def _check_numbers(self) -> None:
        for name, low in _INTEGERS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
                raise ValueError(f"{name} must be an integer of at least {low}; got {value!r}.")
        multiple = self.high_wage_multiple
        if isinstance(multiple, bool) or not isinstance(multiple, Real) or not multiple > 0:
            raise ValueError(f"high_wage_multiple must be a positive number; got {multiple!r}.")
        level = self.level
        if isinstance(level, bool) or not isinstance(level, Real) or not 0.0 < level < 1.0:
            raise ValueError(
                f"level must be a number strictly between 0 and 1; got {level!r}. "
                "Use e.g. level=0.95."
            )

    # ------------------------------------------------------------------ helpers
    def _columns(self) -> dict[str, str]:
        return {name: (self.columns or {}).get(name, name) for name in COLUMNS}

    def _measure_settings(self, panel: FirmPanel) -> MeasureSettings:
        industry = panel.roles.industry
        return MeasureSettings(
            high_wage_multiple=float(self.high_wage_multiple),
            wage_cell=self.wage_cell or industry,
            technology_cell=self.technology_cell or industry,
            citation_window=int(self.citation_window),
            startup_years=int(self.startup_years),
            sme_employees=int(self.sme_employees),
            youth_age=int(self.youth_age),
        )

    def formula_settings(self, panel: FirmPanel, texts: Mapping[str, str]) -> dict[str, object]:
        """Values of the formula placeholders of the KPI definitions."""
        measure = self._measure_settings(panel)
        values: dict[str, object] = dict(asdict(self))
        values.update(
            wage_cell=measure.wage_cell or "economy-wide",
            technology_cell=measure.technology_cell or "economy-wide",
        )
        values.update(texts)
        return values

    def _chosen(self) -> list[KPI]:
        return [k for k in KPIS.values() if self.kpis is None or k.name in self.kpis]

    # ------------------------------------------------------------------ fit
    def fit(
        self, panel: FirmPanel, *, costs: CostTable | pd.DataFrame | None = None
    ) -> ScorecardResult:
        """Compute the scorecard.

        Parameters
        ----------
        panel : FirmPanel
            Firm-year panel with an ``entry`` role (``park``, ``industry`` and
            ``exit`` roles used when declared).
        costs : CostTable or pandas.DataFrame or None
            Public cost table (a DataFrame is read as ``CostTable(data=...)``);
            without it the cost KPIs are ``not available``.

        Returns
        -------
        ScorecardResult

        Raises
        ------
        TypeError
            If ``panel`` is not a FirmPanel.
        ValueError
            If the panel has no entry role or a covariate column is missing.
        PanelStructureError
            If a firm enters a park after it closed.
        DataFormatError
            Non-numeric KPI columns; a cost table in another currency or price
            year that cannot be restated.
        """
        if not isinstance(panel, FirmPanel):
            raise TypeError(f"panel must be a FirmPanel; got {type(panel).__name__}.")
        panel.require_role("entry", "the scorecard")
        missing = [c for c in self.covariates if c not in panel.data.columns]
        if missing:
            raise ValueError(
                f"covariates must be panel columns; got {missing} missing. Add them to the "
                "panel (e.g. with panel.assign) or drop them from covariates."
            )
        if isinstance(costs, pd.DataFrame):
            costs = CostTable(data=costs)
        with thin_blas():
            return self._fit(panel, costs)

    def _fit(self, panel: FirmPanel, costs: CostTable | None) -> ScorecardResult:
        measures = build_measures(panel, self._columns(), self._measure_settings(panel))
        by_park = self.by_park and panel.roles.park is not None
        parks = desc.park_labels(measures) if by_park else [desc.ALL_PARKS]
        covariates = firm_covariates(panel, self.covariates)
        chosen = self._chosen()
        table, effects = self._kpi_rows(measures, covariates, chosen, parks)
        curves, hazard, survival_rows = self._survival(panel, covariates, chosen, parks)
        texts: Mapping[str, str] = {"currency_text": "currency", "price_year_text": "prices"}
        pieces = [table, survival_rows]
        if any(k.population == "cost" for k in chosen):
            found, texts = cost_rows(costs, effects, parks)
            wanted = {k.name for k in chosen}
            pieces.append(pd.DataFrame([r for r in found if r["kpi"] in wanted]))
        table = pd.concat([p for p in pieces if len(p)], ignore_index=True)
        return ScorecardResult(
            kpi_table=_order(table, chosen, parks),
            definition_table=kpi_definitions(
                self.formula_settings(panel, texts), [k.name for k in chosen]
            ),
            curves=curves,
            hazard=hazard,
            scales=MappingProxyType(
                {
                    k.name: desc.comparator_scale(measures, k)
                    for k in chosen
                    if k.numerator is not None
                }
            ),
            spec=self._spec(panel),
            notes=tuple(self._notes(panel, measures)),
            n_obs=panel.n_obs,
            n_units=panel.n_units,
        )

    def _kpi_rows(
        self, measures: Measures, covariates: pd.DataFrame, chosen: list[KPI], parks: list[str]
    ) -> tuple[pd.DataFrame, dict[tuple[str, str], ParkEffect]]:
        descriptive = desc.descriptive_rows(measures, chosen, parks)
        needed = list(chosen)
        names = {k.name for k in chosen}
        for name in ("employment", "patents"):  # the cost KPIs need their ATTs
            if name not in names and any(k.population == "cost" for k in chosen):
                needed.append(KPIS[name])
        effects: dict[tuple[str, str], ParkEffect] = {}
        causal = pd.DataFrame()
        if self.causal:
            settings = CausalSettings(
                tuple(covariates.columns), self.method, int(self.min_tenants), float(self.level)
            )
            causal, effects = causal_rows(measures, covariates, needed, parks, settings)
            causal = causal.loc[causal["kpi"].isin(names)] if len(causal) else causal
        first_year = int(measures.frame["_year"].min())
        return _combine(descriptive, causal, chosen, self.causal, first_year), effects

    def _survival(
        self, panel: FirmPanel, covariates: pd.DataFrame, chosen: list[KPI], parks: list[str]
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        from parkimpact.scorecard._survival_compare import CURVE_COLUMNS

        empty_curves = pd.DataFrame(columns=list(CURVE_COLUMNS))
        if "survival" not in {k.name for k in chosen}:
            return empty_curves, pd.DataFrame(), pd.DataFrame()
        firms = firm_spells(panel, closure=self.closure)
        years = (int(panel.years.min()), int(panel.years.max()))
        settings = SurvivalSettings(
            int(self.survival_horizon),
            int(self.curve_years),
            int(self.min_tenants),
            float(self.level),
            int(self.n_bootstrap) if self.causal else 0,
            int(self.seed),
        )
        curves, rows = survival_outputs(firms, covariates, parks, years, settings)
        rows_in = pd.DataFrame(
            {
                "_unit": panel.data[panel.roles.unit].to_numpy(),
                "_year": panel.data[panel.roles.time].to_numpy(),
            }
        )
        founded = self._columns()["founded"]
        if founded in panel.data.columns:
            rows_in["_founded"] = panel.data[founded].to_numpy(dtype="float64")
        from statsmodels.tools.sm_exceptions import PerfectSeparationError

        try:
            hazard = closure_model(
                rows_in, firms, covariates, parks, link=self.hazard_link, level=float(self.level)
            )
        except (ValueError, np.linalg.LinAlgError, PerfectSeparationError) as exc:
            hazard = make_tidy(["in_park"], [np.nan], [np.nan], keys={"park": [desc.ALL_PARKS]})
            hazard["note"] = f"closure hazard model not estimable: {exc}"
        return curves, hazard, rows

    def _spec(self, panel: FirmPanel) -> Mapping[str, Any]:
        settings = asdict(self)
        settings["columns"] = dict(self.columns or {})
        return MappingProxyType(
            {
                "estimator": "Scorecard",
                "settings": MappingProxyType(settings),
                "parkimpact_version": __version__,
                "panel_fingerprint": panel.fingerprint(),
                "seed": int(self.seed),
            }
        )

    def _notes(self, panel: FirmPanel, measures: Measures) -> list[str]:
        notes = [
            "tenants: firm-years in a park (entry year to exit year); non-tenants: firm-years "
            "of never-tenant firms in the same calendar years",
            "causal effects: park entry as an absorbing treatment (intention to treat)",
        ]
        if self.closure is None:
            notes.append(
                f"closure: a firm last observed before {int(panel.years.max())} is taken as "
                "closed in its last observed year"
            )
        unavailable = sorted(set(measures.missing) & {k.name for k in self._chosen()})
        if unavailable:
            notes.append(f"not available (missing columns): {', '.join(unavailable)}")
        return notes


def _no_causal_note(
    kpi: KPI, causal: bool, level: str, cohort: float, first_year: int, park_note: str | None
) -> str:
    if kpi.causal is None:
        return kpi.caveat or "composition KPI: no counterfactual estimate"
    if not causal:
        return "causal estimation switched off (causal=False)"
    if park_note:
        return f"no causal estimate for the park: {park_note}"
    if level == "park_cohort" and cohort <= first_year:
        return "cohort entered in or before the first panel year: no pre-entry year for the DiD"
    return "no estimable group-time effect for this cell"


def _combine(
    descriptive: pd.DataFrame, causal: pd.DataFrame, chosen: list[KPI], on: bool, first_year: int
) -> pd.DataFrame:
    keys = ["kpi", "park", "level", "year", "cohort"]
    base = descriptive.copy()
    if len(causal):
        right = causal.rename(columns={c: f"{c}_c" for c in ("method", "status", "note")})
        for frame in (base, right):
            frame[["year", "cohort"]] = frame[["year", "cohort"]].fillna(-1.0)
        base = base.merge(right, on=keys, how="outer")
        base[["year", "cohort"]] = base[["year", "cohort"]].replace(-1.0, np.nan)
        has = base["status_c"].notna() & (base["status"] != "not available")
        for c in ("method", "status", "note"):
            base[c] = np.where(has, base[f"{c}_c"], base[c])
        base["n_tenants"] = base["n_tenants"].fillna(base["n_treated"])
        base = base.drop(columns=[*(f"{c}_c" for c in ("method", "status", "note")), "n_treated"])
        base["method"] = np.where(base["status"] == "estimated", base["method"], "descriptive")
        base.loc[base["status"] == "not available", "method"] = ""
    for c in ("effect", "std_error", "conf_low", "conf_high"):
        if c not in base:
            base[c] = np.nan
    kpis = {k.name: k for k in chosen}
    version = base["kpi"].map(lambda n: kpis[n].version)
    base["version"] = version
    failed = base.loc[
        (base["level"] == "park")
        & (base["status"] == "descriptive only")
        & (base["note"].fillna("") != "")
    ]
    park_notes = {(r.kpi, r.park): r.note for r in failed.itertuples()}
    lacking = (base["status"] == "descriptive only") & (base["note"].fillna("") == "")
    base.loc[lacking, "note"] = [
        _no_causal_note(
            kpis[r.kpi], on, r.level, r.cohort, first_year, park_notes.get((r.kpi, r.park))
        )
        for r in base.loc[lacking].itertuples()
    ]
    base["n_tenants"] = base["n_tenants"].fillna(0).astype("int64")
    return base


def _order(table: pd.DataFrame, chosen: list[KPI], parks: list[str]) -> pd.DataFrame:
    rank_kpi = {k.name: i for i, k in enumerate(chosen)}
    rank_park = {p: i for i, p in enumerate(parks)}
    table = table.assign(
        _k=table["kpi"].map(rank_kpi),
        _p=table["park"].map(rank_park),
        _l=table["level"].map(_LEVELS),
    ).sort_values(["_k", "_p", "_l", "year", "cohort"], kind="stable", na_position="first")
    table = table.drop(columns=["_k", "_p", "_l"]).reset_index(drop=True)
    table["note"] = table["note"].fillna("")
    table["method"] = table["method"].fillna("")
    return table[list(desc.KPI_COLUMNS)]
