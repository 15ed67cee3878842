r"""Firm-year measures behind the KPIs, and the tenancy flags of every row.

Each KPI of :mod:`parkimpact.scorecard.kpis` averages one of the columns built
here. Definitions (firm :math:`i`, year :math:`t`, employment :math:`L`):

- ``labour_productivity`` :math:`VA_{it} / L_{it}`; ``tfp_level``
  :math:`tfp_{it}`; ``tfp_growth`` :math:`tfp_{it} - tfp_{i,t-1}` (consecutive
  years only); ``employment`` :math:`L_{it}`; ``net_job_creation``
  :math:`L_{it} - L_{i,t-1}` (consecutive years only).
- ``high_wage_jobs`` :math:`L_{it}\,1[w_{it} \ge m\, \tilde w_{ct}]` with
  :math:`w = WB / L` the firm's average wage and :math:`\tilde w_{ct}` the
  employment-weighted median of :math:`w` over the *untreated* firm-years
  (never-tenants and future tenants before entry) of the firm's benchmark cell
  :math:`c` (industry or region) and year. Untreated rows are the same with or
  without parks, so the benchmark is not moved by the parks themselves.
  Without employee-level wages this counts jobs in high-wage firms.
- ``wage_premium`` :math:`\ln w_{it}`; ``rd_intensity`` :math:`R_{it}/Y_{it}`;
  ``phd_share`` :math:`PhD_{it}/L_{it}`; ``rd_staff_share``; ``patents``.
- ``quality_weighted_patents`` :math:`C_{it} / \bar c_{kt}` with
  :math:`\bar c_{kt} = \sum C / \sum P` over all firm-years of technology cell
  :math:`k` and application year :math:`t` (the mean citations per patent of
  the cell), for application years :math:`t \le T - W` only (complete citation
  windows of :math:`W` years); ``patents_complete`` the patents of those years.
- ``startup`` :math:`1[t - \text{founded}_i \le N]` (in the entry year for
  entrants), ``incubator``, ``sme`` :math:`1[L_{it} < S]`, ``women_led``,
  ``youth_led`` :math:`1[t - \text{birth year} < A]`.

Row flags: ``_tenant`` (in a park: entry year to exit year, both included),
``_never`` (never a tenant), ``_untreated`` (never, or before entry) and
``_entrant`` (the tenant's entry year).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from parkimpact.data.panel import FirmPanel
from parkimpact.data.validation import examples, numeric_column
from parkimpact.errors import DataFormatError
from parkimpact.scorecard.kpis import KPIS

__all__ = ["MeasureSettings", "Measures", "build_measures", "resolve_columns", "ALL_PARKS"]

ALL_PARKS = "all"
"""Park label of the rows pooling every park."""

#: Canonical columns each measure needs.
NEEDS: Mapping[str, tuple[str, ...]] = {
    "labour_productivity": ("value_added", "employment"),
    "tfp_level": ("tfp",),
    "tfp_growth": ("tfp",),
    "employment": ("employment",),
    "net_job_creation": ("employment",),
    "high_wage_jobs": ("employment", "wage_bill"),
    "wage_premium": ("wage_bill", "employment"),
    "rd_intensity": ("rd", "output"),
    "phd_share": ("phd", "employment"),
    "rd_staff_share": ("rd_staff", "employment"),
    "patents": ("patents",),
    "quality_weighted_patents": ("patents", "citations"),
    "patents_complete": ("patents", "citations"),
    "startup": ("founded",),
    "incubator": ("incubator",),
    "sme": ("employment",),
    "women_led": ("founder_female",),
    "youth_led": ("founder_birth_year",),
}


@dataclass(frozen=True)
class MeasureSettings:
    """Thresholds and cells of the measures (see the module notes)."""

    high_wage_multiple: float = 1.5
    wage_cell: str | None = None
    technology_cell: str | None = None
    citation_window: int = 5
    startup_years: int = 5
    sme_employees: int = 250
    youth_age: int = 35


@dataclass(frozen=True, eq=False)
class Measures:
    """Firm-year measures with keys and tenancy flags, plus the benchmarks used."""

    frame: pd.DataFrame
    columns: Mapping[str, str]
    missing: Mapping[str, tuple[str, ...]]
    wage_benchmark: pd.Series | None = field(default=None, repr=False)
    citation_benchmark: pd.Series | None = field(default=None, repr=False)


def resolve_columns(data: pd.DataFrame, columns: Mapping[str, str]) -> dict[str, str]:
    """Canonical name -> data column for the canonical columns present in ``data``."""
    return {name: col for name, col in columns.items() if col in data.columns}


def _numeric(data: pd.DataFrame, column: str) -> np.ndarray:
    values, bad = numeric_column(data, column, column)
    if bad.any():
        raise DataFormatError(
            f"column {column!r} must be numeric; got text in {int(bad.sum())} row(s) "
            f"(e.g. {examples(data.loc[bad, column])}). Convert it with pd.to_numeric."
        )
    return values


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    out[ok] = num[ok] / den[ok]
    return out


def _lag_difference(values: np.ndarray, unit: np.ndarray, year: np.ndarray) -> np.ndarray:
    """:math:`x_{it} - x_{i,t-1}` for rows whose previous row is the firm's previous year."""
    same = np.r_[False, (unit[1:] == unit[:-1]) & (year[1:] == year[:-1] + 1)]
    out = np.full(values.shape, np.nan)
    out[1:] = values[1:] - values[:-1]
    return np.where(same, out, np.nan)


def weighted_median(values: pd.Series, weights: pd.Series, keys: list[pd.Series]) -> pd.Series:
    """Weighted median of ``values`` within groups of ``keys`` (lower median at ties)."""
    frame = pd.DataFrame({"v": values, "w": weights})
    for j, key in enumerate(keys):
        frame[f"k{j}"] = key.to_numpy()
    frame = frame.dropna()
    frame = frame.loc[frame["w"] > 0]
    names = [f"k{j}" for j in range(len(keys))]
    frame = frame.sort_values([*names, "v"], kind="stable")
    grouped = frame.groupby(names, sort=False)["w"]
    share = grouped.cumsum() / grouped.transform("sum")
    chosen = frame.loc[share >= 0.5].groupby(names, sort=True)["v"].first()
    return chosen


def _flags(panel: FirmPanel) -> pd.DataFrame:
    data, roles = panel.data, panel.roles
    year = data[roles.time].to_numpy()
    entry = data[roles.entry].to_numpy(dtype="float64")  # type: ignore[index]
    in_park = year >= entry  # NaN compares False
    if roles.exit is not None:
        exit_year = data[roles.exit].to_numpy(dtype="float64")
        in_park &= ~(year > exit_year)
    park = (
        data[roles.park].astype(object).where(data[roles.park].notna(), None)
        if roles.park is not None
        else pd.Series(np.where(np.isnan(entry), None, "park"), index=data.index, dtype=object)
    )
    return pd.DataFrame(
        {
            "_unit": data[roles.unit].to_numpy(),
            "_year": year,
            "_entry": entry,
            "_park": np.where(np.isnan(entry), None, park.to_numpy(dtype=object)),
            "_tenant": in_park,
            "_never": np.isnan(entry),
            "_untreated": np.isnan(entry) | (year < entry),
            "_entrant": year == entry,
        },
        index=data.index,
    )


def _cell(data: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series("all", index=data.index)
    if column not in data.columns:
        raise DataFormatError(
            f"benchmark cell column {column!r} must be in the panel; got columns "
            f"{list(data.columns)[:10]}. Pass an existing column or None (whole economy)."
        )
    return data[column].astype(str)


def _wage_measures(
    data: pd.DataFrame,
    col: Mapping[str, str],
    flags: pd.DataFrame,
    settings: MeasureSettings,
    out: dict[str, np.ndarray],
    benchmark: pd.Series | None,
) -> pd.Series | None:
    if not {"employment", "wage_bill"} <= set(col):
        return None
    labour = _numeric(data, col["employment"])
    wage = _ratio(_numeric(data, col["wage_bill"]), labour)
    out["wage_premium"] = np.log(wage, out=np.full(wage.shape, np.nan), where=wage > 0)
    cell = _cell(data, settings.wage_cell)
    if benchmark is None:
        untreated = flags["_untreated"].to_numpy()
        benchmark = weighted_median(
            pd.Series(np.where(untreated, wage, np.nan)),
            pd.Series(labour),
            [cell.reset_index(drop=True), flags["_year"].reset_index(drop=True)],
        )
    keys = pd.MultiIndex.from_arrays([cell.to_numpy(), flags["_year"].to_numpy()])
    median = benchmark.reindex(keys).to_numpy(dtype="float64")
    high = wage >= settings.high_wage_multiple * median
    out["high_wage_jobs"] = np.where(np.isfinite(wage) & np.isfinite(median), labour * high, np.nan)
    return benchmark


def _patent_measures(
    data: pd.DataFrame,
    col: Mapping[str, str],
    flags: pd.DataFrame,
    settings: MeasureSettings,
    out: dict[str, np.ndarray],
    benchmark: pd.Series | None,
) -> pd.Series | None:
    if not {"patents", "citations"} <= set(col):
        return None
    patents = _numeric(data, col["patents"])
    citations = _numeric(data, col["citations"])
    year = flags["_year"].to_numpy()
    complete = year <= year.max() - settings.citation_window
    cell = _cell(data, settings.technology_cell).to_numpy()
    if benchmark is None:
        frame = pd.DataFrame({"k": cell, "t": year, "c": citations, "p": patents}).loc[complete]
        sums = frame.dropna().groupby(["k", "t"], sort=True)[["c", "p"]].sum()
        benchmark = (sums["c"] / sums["p"]).where(sums["p"] > 0)
    cbar = benchmark.reindex(pd.MultiIndex.from_arrays([cell, year])).to_numpy(dtype="float64")
    usable = complete & np.isfinite(cbar) & (cbar > 0)
    out["quality_weighted_patents"] = np.where(
        usable, citations / np.where(usable, cbar, 1), np.nan
    )
    out["patents_complete"] = np.where(usable, patents, np.nan)
    return benchmark


def _simple_measures(
    data: pd.DataFrame,
    col: Mapping[str, str],
    flags: pd.DataFrame,
    settings: MeasureSettings,
    out: dict[str, np.ndarray],
) -> None:
    unit, year = flags["_unit"].to_numpy(), flags["_year"].to_numpy()
    get = {name: _numeric(data, c) for name, c in col.items()}
    if "employment" in get:
        labour = get["employment"]
        out["employment"] = labour
        out["net_job_creation"] = _lag_difference(labour, unit, year)
        out["sme"] = np.where(np.isnan(labour), np.nan, labour < settings.sme_employees)
        for name, num in (
            ("value_added", "labour_productivity"),
            ("phd", "phd_share"),
            ("rd_staff", "rd_staff_share"),
        ):
            if name in get:
                out[num] = _ratio(get[name], labour)
    if "tfp" in get:
        out["tfp_level"] = get["tfp"]
        out["tfp_growth"] = _lag_difference(get["tfp"], unit, year)
    if {"rd", "output"} <= set(get):
        out["rd_intensity"] = _ratio(get["rd"], get["output"])
    if "patents" in get:
        out["patents"] = get["patents"]
    if "founded" in get:
        age = year - get["founded"]
        out["startup"] = np.where(np.isnan(age), np.nan, age <= settings.startup_years)
    for name, target in (("incubator", "incubator"), ("founder_female", "women_led")):
        if name in get:
            out[target] = get[name]
    if "founder_birth_year" in get:
        founder_age = year - get["founder_birth_year"]
        out["youth_led"] = np.where(np.isnan(founder_age), np.nan, founder_age < settings.youth_age)


def build_measures(
    panel: FirmPanel,
    columns: Mapping[str, str],
    settings: MeasureSettings,
    *,
    wage_benchmark: pd.Series | None = None,
    citation_benchmark: pd.Series | None = None,
    data: pd.DataFrame | None = None,
) -> Measures:
    """Every firm-year measure the panel's columns allow, with row flags.

    Parameters
    ----------
    panel : FirmPanel
        Panel with ``entry`` role (``park``, ``exit`` optional).
    columns : Mapping[str, str]
        Canonical name -> panel column (see :data:`~parkimpact.scorecard.kpis.COLUMNS`).
    settings : MeasureSettings
        Thresholds and benchmark cells.
    wage_benchmark, citation_benchmark : pandas.Series or None
        Benchmarks to reuse (the high-wage median by cell and year, the mean
        citations per patent by technology cell and year) instead of computing
        them from ``data``; used to evaluate the measures on counterfactual data
        with the observed benchmarks.
    data : pandas.DataFrame or None
        Rows to use instead of ``panel.data`` (same index and keys).
    """
    rows = panel.data if data is None else data
    col = resolve_columns(rows, columns)
    flags = _flags(panel)
    out: dict[str, np.ndarray] = {}
    _simple_measures(rows, col, flags, settings, out)
    wage = _wage_measures(rows, col, flags, settings, out, wage_benchmark)
    cites = _patent_measures(rows, col, flags, settings, out, citation_benchmark)
    frame = pd.concat([flags, pd.DataFrame(out, index=rows.index)], axis=1)
    missing = {}
    for kpi in KPIS.values():
        absent = tuple(dict.fromkeys(columns.get(c, c) for c in kpi.requires if c not in col))
        if absent:
            missing[kpi.name] = absent
    return Measures(frame, col, missing, wage, cites)
