r"""Descriptive KPI values: tenants against non-tenants, raw, at three levels.

For park :math:`p` (or all parks) and a KPI with firm-year numerator
:math:`a` and denominator :math:`b` (see :mod:`parkimpact.scorecard.kpis`):

- *tenants*: :math:`\sum a / \sum b` over the park's tenant firm-years (in a
  park from the entry year to the exit year), or over its entrants in their
  entry year for entrant KPIs;
- *non-tenants*: the same ratio over the firm-years of never-tenant firms in
  the calendar years the tenants' rows cover (so a cohort is compared with
  the same years);
- levels: ``park`` (all years), ``park_year`` (one calendar year) and
  ``park_cohort`` (the tenants entering in one year, over their tenant years).

``n_tenants`` counts the tenant firms with a value. Rows missing either part
of the ratio are left out of both sums.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from parkimpact.report.tidy import KPI_COLUMNS
from parkimpact.scorecard._measures import ALL_PARKS, Measures
from parkimpact.scorecard.kpis import KPI

__all__ = [
    "ALL_PARKS",
    "KPI_COLUMNS",
    "comparator_scale",
    "descriptive_rows",
    "not_available_rows",
    "park_labels",
]


def park_labels(measures: Measures) -> list[str]:
    """The parks found among tenants, sorted, then ``"all"``."""
    parks = pd.unique(measures.frame["_park"].dropna())
    return [*sorted(str(p) for p in parks), ALL_PARKS]


def _in_park(frame: pd.DataFrame, park: str) -> np.ndarray:
    if park == ALL_PARKS:
        return frame["_park"].notna().to_numpy()
    return (frame["_park"] == park).to_numpy()


def _parts(frame: pd.DataFrame, kpi: KPI) -> tuple[np.ndarray, np.ndarray]:
    num = frame[kpi.numerator].to_numpy(dtype="float64")
    den = (
        np.ones(len(frame))
        if kpi.denominator is None
        else frame[kpi.denominator].to_numpy(dtype="float64")
    )
    valid = np.isfinite(num) & np.isfinite(den)
    return np.where(valid, num, np.nan), np.where(valid, den, np.nan)


def _level(
    kpi: KPI,
    park: str,
    level: str,
    groups: pd.DataFrame,
    comp_num: pd.Series,
    comp_den: pd.Series,
    key: str | None,
) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        tenants = groups["num"].to_numpy() / groups["den"].to_numpy()
        others = comp_num.to_numpy() / comp_den.to_numpy()
    keys = groups.index.to_numpy(dtype="float64") if key else np.full(len(groups), np.nan)
    return pd.DataFrame(
        {
            "kpi": kpi.name,
            "version": kpi.version,
            "park": park,
            "level": level,
            "year": keys if key == "_year" else np.nan,
            "cohort": keys if key == "_entry" else np.nan,
            "tenants": tenants,
            "non_tenants": others,
            "n_tenants": groups["n_units"].to_numpy(dtype="int64"),
        }
    )


def _one_kpi(frame: pd.DataFrame, kpi: KPI, park: str) -> pd.DataFrame:
    num, den = _parts(frame, kpi)
    valid = np.isfinite(num)
    rows = frame["_entrant"] if kpi.population == "entrants" else frame["_tenant"]
    pop = rows.to_numpy() & _in_park(frame, park) & valid
    parts = pd.DataFrame(
        {
            "_year": frame["_year"].to_numpy(),
            "_entry": frame["_entry"].to_numpy(),
            "unit": frame["_unit"].to_numpy(),
            "num": num,
            "den": den,
        }
    )
    comp = parts.loc[frame["_never"].to_numpy() & valid].groupby("_year")[["num", "den"]].sum()
    tenants = parts.loc[pop]
    if tenants.empty:
        return pd.DataFrame()
    agg = {"num": ("num", "sum"), "den": ("den", "sum"), "n_units": ("unit", "nunique")}
    total = tenants.assign(_all=0).groupby("_all").agg(**agg)
    covered = comp.reindex(np.unique(tenants["_year"])).sum()
    by_year = tenants.groupby("_year").agg(**agg)
    year_comp = comp.reindex(by_year.index)
    by_cohort = tenants.groupby("_entry").agg(**agg)
    pairs = tenants[["_entry", "_year"]].drop_duplicates()
    pairs = pairs.join(comp, on="_year").groupby("_entry")[["num", "den"]].sum(min_count=1)
    pairs = pairs.reindex(by_cohort.index)
    return pd.concat(
        [
            _level(
                kpi,
                park,
                "park",
                total,
                pd.Series([covered["num"]]),
                pd.Series([covered["den"]]),
                None,
            ),
            _level(kpi, park, "park_year", by_year, year_comp["num"], year_comp["den"], "_year"),
            _level(kpi, park, "park_cohort", by_cohort, pairs["num"], pairs["den"], "_entry"),
        ],
        ignore_index=True,
    )


def not_available_rows(kpi: KPI, parks: Sequence[str], missing: Sequence[str]) -> list[dict]:
    """One ``not available`` row per park naming the missing columns."""
    listed = ", ".join(repr(c) for c in missing)
    return [
        {
            "kpi": kpi.name,
            "version": kpi.version,
            "park": park,
            "level": "park",
            "year": np.nan,
            "cohort": np.nan,
            "tenants": np.nan,
            "non_tenants": np.nan,
            "n_tenants": 0,
            "method": "",
            "status": "not available",
            "note": f"missing column(s) {listed} in the panel; map them with columns={{...}}",
        }
        for park in parks
    ]


def descriptive_rows(measures: Measures, kpis: Sequence[KPI], parks: Sequence[str]) -> pd.DataFrame:
    """Tenant and non-tenant values of the firm-year and entrant KPIs for every park and level.

    KPIs whose columns are missing give ``not available`` rows naming them;
    the others give ``descriptive only`` rows, which the causal step may
    upgrade to ``estimated``.
    """
    frame = measures.frame
    pieces: list[pd.DataFrame] = []
    for kpi in kpis:
        if kpi.population not in ("tenant_years", "entrants"):
            continue
        if kpi.name in measures.missing:
            pieces.append(pd.DataFrame(not_available_rows(kpi, parks, measures.missing[kpi.name])))
            continue
        for park in parks:
            found = _one_kpi(frame, kpi, park)
            if len(found):
                pieces.append(
                    found.assign(method="descriptive", status="descriptive only", note="")
                )
    columns = [c for c in KPI_COLUMNS if c not in ("effect", "std_error", "conf_low", "conf_high")]
    if not pieces:
        return pd.DataFrame(columns=columns)
    return pd.concat(pieces, ignore_index=True)[columns]


def comparator_scale(measures: Measures, kpi: KPI) -> float:
    """Standard deviation of the KPI's firm-year measure over never-tenant firm-years."""
    if kpi.numerator is None or kpi.numerator not in measures.frame:
        return np.nan
    num, den = _parts(measures.frame, kpi)
    with np.errstate(divide="ignore", invalid="ignore"):  # zero denominators are dropped below
        values = num / den
    values = values[measures.frame["_never"].to_numpy() & np.isfinite(values)]
    return float(np.std(values, ddof=1)) if values.size > 1 else np.nan
