r"""Causal KPI effects: Callaway-Sant'Anna doubly robust ATTs by park.

For park :math:`p` the sample is its tenants and the never-tenant firms
(tenants of other parks are left out). The firm-year measure of a KPI is the
outcome of :class:`~parkimpact.did.CallawaySantAnna` with never-treated
controls and the doubly robust 2x2 (``method="dr"`` by default), covariates
measured in each firm's first observed year. Its group-time effects are
aggregated on their influence functions:

- ``park``: the simple aggregation
  :math:`\theta = \sum_{g}\sum_{t \ge g} N_g ATT(g,t) / \sum_g\sum_{t\ge g} N_g`;
- ``park_cohort``: the group aggregation :math:`\theta(g)`, the mean of
  :math:`ATT(g, t)` over the cohort's post-entry years;
- ``park_year``: the calendar aggregation :math:`\theta(t)`, the
  cohort-size weighted mean of :math:`ATT(g, t)` over cohorts treated in
  :math:`t`.

Treatment is park entry, absorbing (intention to treat: years after a
tenant leaves stay treated). A park, cohort or year with fewer than
``min_tenants`` treated firms gets no effect (status ``descriptive only``,
with the count in the note), and so does a park whose estimation fails.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parkimpact.data.panel import FirmPanel
from parkimpact.did import CallawaySantAnna
from parkimpact.errors import ParkImpactError
from parkimpact.scorecard._measures import ALL_PARKS, Measures
from parkimpact.scorecard.kpis import KPI

__all__ = ["CausalSettings", "ParkEffect", "causal_rows"]

_METHOD = "CS-{method} ATT vs never-treated firms ({kind} aggregation)"


@dataclass(frozen=True)
class CausalSettings:
    """How the ATTs are estimated."""

    covariates: tuple[str, ...]
    method: str
    min_tenants: int
    level: float


@dataclass(frozen=True)
class ParkEffect:
    """The simple ATT of one KPI in one park, with what the cost KPIs need."""

    estimate: float
    std_error: float
    conf_low: float
    conf_high: float
    n_firms: int
    n_firm_years: int


def _sample(measures: Measures, covariates: pd.DataFrame, park: str, outcome: str) -> pd.DataFrame:
    frame = measures.frame
    firm_park = frame["_park"]
    keep = frame["_never"].to_numpy() | (
        firm_park.notna().to_numpy() if park == ALL_PARKS else (firm_park == park).to_numpy()
    )
    rows = frame.loc[keep, ["_unit", "_year", "_entry", outcome]].rename(columns={outcome: "_y"})
    if len(covariates.columns):
        values = covariates.reindex(rows["_unit"].to_numpy())
        for name in covariates.columns:
            rows[name] = values[name].to_numpy()
    return rows.reset_index(drop=True)


def _usable_tenants(rows: pd.DataFrame) -> int:
    first, last = rows["_year"].min(), rows["_year"].max()
    entry = rows.groupby("_unit", sort=False)["_entry"].first()
    return int(((entry > first) & (entry <= last)).sum())


def _warning_note(caught: Sequence[warnings.WarningMessage]) -> str:
    counts = Counter(type(w.message).__name__ for w in caught)
    if not counts:
        return ""
    return "estimation warnings: " + ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))


def _fit(rows: pd.DataFrame, settings: CausalSettings) -> tuple[object, str]:
    panel = FirmPanel(rows, unit="_unit", time="_year", entry="_entry")
    estimator = CallawaySantAnna(
        "_y",
        covariates=list(settings.covariates) or None,
        control_group="never_treated",
        method=settings.method,  # type: ignore[arg-type]
        level=settings.level,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = estimator.fit(panel)
        aggregates = {kind: result.aggregate(kind) for kind in ("simple", "group", "calendar")}
    return (result, aggregates), _warning_note(caught)


def _effect_rows(
    kpi: KPI, park: str, fitted: tuple, note: str, settings: CausalSettings, n_firm_years: int
) -> tuple[list[dict[str, object]], ParkEffect]:
    result, aggregates = fitted
    firms = result.firms
    cohorts = firms["cohort"].dropna()
    cells = result.cells
    post = cells.loc[cells["post"].astype(bool)]
    per_year = post.groupby("year")["n_treated"].sum()
    per_cohort = cohorts.value_counts()
    out = []
    for kind, level, key in (
        ("simple", "park", None),
        ("group", "park_cohort", "cohort"),
        ("calendar", "park_year", "year"),
    ):
        tidy = aggregates[kind].tidy()
        tidy = (
            tidy.loc[tidy["term"] == "overall"]
            if key is None
            else tidy.loc[tidy["term"] != "overall"]
        )
        for row in tidy.itertuples(index=False):
            value = None if key is None else getattr(row, key)
            if key is None:
                count = int(cohorts.size)
            elif key == "cohort":
                count = int(per_cohort.get(value, 0))
            else:
                count = int(per_year.get(value, 0))
            out.append(_causal_row(kpi, park, level, key, value, row, count, kind, note, settings))
    overall = aggregates["simple"].tidy().iloc[0]
    effect = ParkEffect(
        float(overall["estimate"]),
        float(overall["std_error"]),
        float(overall["conf_low"]),
        float(overall["conf_high"]),
        int(cohorts.size),
        n_firm_years,
    )
    return out, effect


def _causal_row(
    kpi: KPI,
    park: str,
    level: str,
    key: str | None,
    value: object,
    row: object,
    count: int,
    kind: str,
    note: str,
    settings: CausalSettings,
) -> dict[str, object]:
    enough = count >= settings.min_tenants
    base = {
        "kpi": kpi.name,
        "park": park,
        "level": level,
        "year": float(value) if key == "year" else np.nan,  # type: ignore[arg-type]
        "cohort": float(value) if key == "cohort" else np.nan,  # type: ignore[arg-type]
        "method": _METHOD.format(method=settings.method.upper(), kind=kind),
        "n_treated": count,
    }
    if not enough:
        return base | {
            "effect": np.nan,
            "std_error": np.nan,
            "conf_low": np.nan,
            "conf_high": np.nan,
            "status": "descriptive only",
            "note": f"too few treated firms for a causal estimate: {count} "
            f"(min_tenants={settings.min_tenants})",
        }
    return base | {
        "note": "; ".join(n for n in (f"{count} treated firms", note) if n),
        "effect": float(row.estimate),  # type: ignore[attr-defined]
        "std_error": float(row.std_error),  # type: ignore[attr-defined]
        "conf_low": float(row.conf_low),  # type: ignore[attr-defined]
        "conf_high": float(row.conf_high),  # type: ignore[attr-defined]
        "status": "estimated",
    }


def _park_failure(kpi: KPI, park: str, reason: str, settings: CausalSettings) -> dict[str, object]:
    return {
        "kpi": kpi.name,
        "park": park,
        "level": "park",
        "year": np.nan,
        "cohort": np.nan,
        "method": _METHOD.format(method=settings.method.upper(), kind="simple"),
        "n_treated": 0,
        "effect": np.nan,
        "std_error": np.nan,
        "conf_low": np.nan,
        "conf_high": np.nan,
        "status": "descriptive only",
        "note": reason,
    }


def _post_firm_years(rows: pd.DataFrame) -> int:
    """Tenant firm-years at or after entry with an observed outcome (cohorts the DiD can use)."""
    first = rows["_year"].min()
    post = (rows["_year"] >= rows["_entry"]) & (rows["_entry"] > first) & rows["_y"].notna()
    return int(post.sum())


def causal_rows(
    measures: Measures,
    covariates: pd.DataFrame,
    kpis: Sequence[KPI],
    parks: Sequence[str],
    settings: CausalSettings,
) -> tuple[pd.DataFrame, dict[tuple[str, str], ParkEffect]]:
    """Causal rows of every ``"cs"`` KPI for every park, and the park-level simple ATTs."""
    rows: list[dict[str, object]] = []
    effects: dict[tuple[str, str], ParkEffect] = {}
    for kpi in kpis:
        if kpi.causal != "cs" or kpi.name in measures.missing:
            continue
        for park in parks:
            sample = _sample(measures, covariates, park, kpi.numerator)  # type: ignore[arg-type]
            n_usable = _usable_tenants(sample)
            if n_usable < settings.min_tenants:
                rows.append(
                    _park_failure(
                        kpi,
                        park,
                        f"too few tenants for a causal estimate: {n_usable} firm(s) entering after "
                        f"the first panel year (min_tenants={settings.min_tenants})",
                        settings,
                    )
                )
                continue
            try:
                fitted, note = _fit(sample, settings)
            except (ParkImpactError, ValueError, np.linalg.LinAlgError) as exc:
                rows.append(_park_failure(kpi, park, f"estimation failed: {exc}", settings))
                continue
            found, effect = _effect_rows(
                kpi, park, fitted, note, settings, _post_firm_years(sample)
            )
            rows += found
            effects[(kpi.name, park)] = effect
    return pd.DataFrame(rows), effects
