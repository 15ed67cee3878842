"""Study columns of the flagship analysis: outcomes and pre-entry firm traits from the panel.

Outcomes added to the panel:

- ``log_rd`` = :math:`\\ln(1 + R)` with :math:`R` real R&D spending (firms
  with no R&D in a year stay in the sample);
- ``patents`` and ``patents_cw`` (patents plus their forward citations, a
  quality-weighted count) come from the patent adapter.

Firm traits are measured in each firm's *first observed year* (before any
in-sample park entry: a tenant enters at the earliest the year after it is
first observed, and cohorts entering in the first sample year are not used by
the staggered DiD). Each is one value per firm, repeated on its rows:

=====================  ======================================================
trait                  definition (first observed year)
=====================  ======================================================
``industry``           industry code (categorical: dummies ``industry_<code>``,
                       the first code in sorted order is the reference)
``size_class``         ``small`` / ``medium`` / ``large`` by employment cuts
                       (``size_cuts``, default 50 and 200 employees; dummies
                       ``size_class_<label>``, ``small`` the reference)
``log_employment0``    log employment
``rd_intensity0``      real R&D / real output
``rd_intensive``       1 if ``rd_intensity0 >= rd_intensity_cut`` (0.04)
``age0``               firm age in years
``young``              1 if ``age0 < young_age`` (5)
``founder_female``     founder is a woman (0/1)
``founder_age``        founder's age at founding
=====================  ======================================================

A value missing in the first year (a blank cell) is taken from the firm's
first year where it is observed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parkimpact.data import FirmPanel

__all__ = ["TraitSettings", "TRAITS", "add_study_columns", "trait_columns"]

TRAITS: tuple[str, ...] = (
    "industry",
    "size_class",
    "log_employment0",
    "rd_intensity0",
    "rd_intensive",
    "age0",
    "young",
    "founder_female",
    "founder_age",
)
"""Firm traits the flagship can condition on (see the module docstring)."""

_CATEGORICAL = ("industry", "size_class")
_SIZE_LABELS = ("small", "medium", "large")


@dataclass(frozen=True)
class TraitSettings:
    """Cut-offs of the categorical traits."""

    size_cuts: tuple[float, float] = (50.0, 200.0)
    rd_intensity_cut: float = 0.04
    young_age: float = 5.0


def _first_observed(panel: FirmPanel, values: pd.DataFrame) -> pd.DataFrame:
    """First non-missing value of each column per firm, in year order."""
    unit, time = panel.roles.unit, panel.roles.time
    ordered = values.assign(_unit=panel.data[unit].to_numpy(), _time=panel.data[time].to_numpy())
    ordered = ordered.sort_values(["_unit", "_time"], kind="stable")
    return ordered.drop(columns="_time").groupby("_unit", sort=True).first()


def _firm_traits(panel: FirmPanel, settings: TraitSettings) -> pd.DataFrame:
    data = panel.data
    industry = panel.roles.industry or "industry"
    raw = pd.DataFrame(
        {
            "industry": data[industry].astype(str),
            "employment": data["employment"].to_numpy(dtype=float),
            "rd_intensity0": (data["rd"] / data["output"]).to_numpy(dtype=float),
            "age0": data["age"].to_numpy(dtype=float),
            "founder_female": data["founder_female"].to_numpy(dtype=float),
            "founder_age": (data["founded"] - data["founder_birth_year"]).to_numpy(dtype=float),
        },
        index=data.index,
    )
    firms = _first_observed(panel, raw)
    low, high = settings.size_cuts
    employment = firms["employment"].to_numpy()
    size = np.where(employment < low, 0, np.where(employment < high, 1, 2))
    firms["size_class"] = np.asarray(_SIZE_LABELS)[size]
    firms["log_employment0"] = np.log(employment)
    firms["rd_intensive"] = (firms["rd_intensity0"] >= settings.rd_intensity_cut).astype(float)
    firms["young"] = (firms["age0"] < settings.young_age).astype(float)
    return firms.drop(columns="employment")


def _dummies(values: pd.Series, name: str, reference: str) -> pd.DataFrame:
    levels = [v for v in sorted(pd.unique(values.dropna())) if v != reference]
    return pd.DataFrame(
        {f"{name}_{level}": (values == level).astype(float) for level in levels}, index=values.index
    )


def add_study_columns(panel: FirmPanel, settings: TraitSettings) -> tuple[FirmPanel, pd.DataFrame]:
    """The panel with ``log_rd``, every trait and the dummies of the categorical traits.

    Returns
    -------
    panel : FirmPanel
        New panel with the columns added (traits repeated on every firm-year).
    firms : pandas.DataFrame
        One row per firm (index: firm id) with the traits.
    """
    firms = _firm_traits(panel, settings)
    columns = firms.copy()
    for name in _CATEGORICAL:
        values = firms[name]
        reference = "small" if name == "size_class" else sorted(pd.unique(values.dropna()))[0]
        columns = columns.join(_dummies(values, name, reference))
    columns = columns.drop(columns="industry")
    units = panel.data[panel.roles.unit].to_numpy()
    added = {c: columns[c].reindex(units).to_numpy() for c in columns.columns}
    rd = panel.data["rd"].to_numpy(dtype=float)
    added["log_rd"] = np.log1p(rd, out=np.full_like(rd, np.nan), where=rd > -1)
    return panel.assign(**added), firms


def trait_columns(traits: Sequence[str], panel_columns: Sequence[str]) -> list[str]:
    """Covariate columns of the named traits (categorical traits as their dummies)."""
    unknown = sorted(set(traits) - set(TRAITS))
    if unknown:
        raise ValueError(
            f"covariate traits must be among {list(TRAITS)}; got {unknown}. "
            "See parkimpact.analysis.flagship_data for their definitions."
        )
    columns: list[str] = []
    for trait in traits:
        if trait in _CATEGORICAL:
            columns += [c for c in panel_columns if c.startswith(f"{trait}_")]
        else:
            columns.append(trait)
    return columns


def subgroup_labels(firms: pd.DataFrame, by: str) -> Mapping[object, str]:
    """Firm id -> subgroup label of a categorical trait."""
    return firms[by].astype(str).to_dict()
