"""The result of :class:`~parkimpact.scorecard.Scorecard`: KPIs beside their counterfactuals.

:class:`ScorecardResult` is immutable; every accessor returns a copy.
``tidy()`` holds the estimated effects in the canonical tidy schema (term =
KPI, keys ``park``, ``level``, ``year``, ``cohort``) and feeds the forest
plot; ``kpis()`` is the full table, descriptive values and statuses
included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from parkimpact.report import render
from parkimpact.report.tidy import ModelInfo, ResultBase, make_tidy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ScorecardResult"]


@dataclass(frozen=True, eq=False, repr=False)
class ScorecardResult(ResultBase):
    """KPIs of every park with descriptive values, causal effects and survival.

    Attributes
    ----------
    kpi_table : pandas.DataFrame
        See :meth:`kpis`.
    definition_table : pandas.DataFrame
        See :meth:`definitions`.
    curves : pandas.DataFrame
        See :meth:`survival_curves`.
    hazard : pandas.DataFrame
        See :meth:`survival_model`.
    scales : Mapping[str, float]
        Standard deviation of each KPI's firm-year measure among never-tenant
        firm-years (the unit of the forest plot).
    spec : Mapping[str, Any]
        Settings, package version, panel fingerprint and seed.
    notes : tuple of str
        Notes on the data and the estimation.
    n_obs, n_units : int
        Firm-years and firms of the panel.
    """

    kpi_table: pd.DataFrame = field(repr=False)
    definition_table: pd.DataFrame = field(repr=False)
    curves: pd.DataFrame = field(repr=False)
    hazard: pd.DataFrame = field(repr=False)
    scales: Mapping[str, float] = field(repr=False)
    spec: Mapping[str, Any] = field(repr=False)
    notes: tuple[str, ...] = ()
    n_obs: int = 0
    n_units: int = 0

    def __repr__(self) -> str:
        counts = self.kpi_table["status"].value_counts().to_dict()
        return f"ScorecardResult({len(self.kpi_table)} KPI rows, {counts})"

    # ------------------------------------------------------------------ tables
    def kpis(self, level: str | None = None, park: str | None = None) -> pd.DataFrame:
        """The KPI table, optionally one level and/or one park.

        Columns: ``kpi``, ``version``, ``park``, ``level`` (``park``,
        ``park_year``, ``park_cohort``), ``year``, ``cohort``, ``tenants``
        and ``non_tenants`` (descriptive values), ``n_tenants``, ``effect``,
        ``std_error``, ``conf_low``, ``conf_high`` (the causal effect),
        ``method``, ``status`` (``estimated``, ``descriptive only``, ``not
        available``) and ``note`` (why, and what was used).
        """
        table = self.kpi_table
        if level is not None:
            table = table.loc[table["level"] == level]
        if park is not None:
            table = table.loc[table["park"] == park]
        return table.reset_index(drop=True).copy()

    def definitions(self) -> pd.DataFrame:
        """One row per KPI: ``kpi``, ``version``, ``formula``, ``unit``, ``source``."""
        return self.definition_table.copy()

    def survival_curves(self) -> pd.DataFrame:
        """Kaplan-Meier curves: ``park``, ``cohort`` (NaN: all cohorts), ``group``
        (``tenants``, ``comparison``), ``time`` (years since entry), ``survival``,
        ``conf_low``, ``conf_high``, ``at_risk`` (spells at risk, unweighted)."""
        return self.curves.copy()

    def survival_model(self) -> pd.DataFrame:
        """Tidy park effects on the closure hazard (see :mod:`parkimpact.scorecard._hazard`)."""
        return self.hazard.copy()

    def tidy(self) -> pd.DataFrame:
        """Estimated effects in the tidy schema: term = KPI, keys park, level, year, cohort.

        ``conf_low``/``conf_high`` are the stored intervals (for the cost KPIs
        the inverted ATT interval, not estimate -/+ z SE).
        """
        rows = self.kpi_table.loc[self.kpi_table["status"] == "estimated"]
        level = float(self.spec.get("settings", {}).get("level", 0.95))
        frame = make_tidy(
            rows["kpi"].tolist(),
            rows["effect"].to_numpy(dtype="float64"),
            rows["std_error"].to_numpy(dtype="float64"),
            level=level,
            keys={k: rows[k].tolist() for k in ("park", "level", "year", "cohort")},
        )
        frame["conf_low"] = rows["conf_low"].to_numpy(dtype="float64")
        frame["conf_high"] = rows["conf_high"].to_numpy(dtype="float64")
        return frame

    def model_info(self) -> ModelInfo:
        """Counts and notes."""
        return ModelInfo(
            name="Park scorecard: KPIs and causal effects",
            n_obs=self.n_obs,
            n_units=self.n_units,
            se_type="CS-DR influence function (firm clusters); survival: firm bootstrap",
            notes=self.notes,
        )

    def summary(self) -> str:
        """Park-level KPIs: tenants, non-tenants, effect with CI, status."""
        table = self.kpis(level="park")
        level = float(self.spec.get("settings", {}).get("level", 0.95))
        cells = pd.DataFrame(
            {
                "kpi": table["kpi"],
                "park": table["park"],
                "tenants": [render.format_number(v, 4) for v in table["tenants"]],
                "non-tenants": [render.format_number(v, 4) for v in table["non_tenants"]],
                "effect": [render.format_number(v, 4) for v in table["effect"]],
                f"{100 * level:g}% CI": [
                    ""
                    if not np.isfinite(lo) or not np.isfinite(hi)
                    else f"[{render.format_number(lo, 4)}, {render.format_number(hi, 4)}]"
                    for lo, hi in zip(table["conf_low"], table["conf_high"], strict=True)
                ],
                "status": table["status"],
            },
            dtype=object,
        )
        counts = self.kpi_table["status"].value_counts()
        notes = [
            f"Firm-years: {render.format_count(self.n_obs)}; firms: "
            f"{render.format_count(self.n_units)}",
            "Rows by status: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
            *self.notes,
        ]
        return render.to_text(
            cells, title="Park scorecard (park level)", notes=notes, align="llrrrll"
        )

    def _repr_html_(self) -> str:
        table = self.kpis(level="park")[
            ["kpi", "park", "tenants", "non_tenants", "effect", "conf_low", "conf_high", "status"]
        ]
        return render.to_html(table.astype(object).fillna(""), title="Park scorecard")

    # ------------------------------------------------------------------ plots
    def plot_survival(
        self, park: str = "all", cohort: float | None = None, ax: Axes | None = None
    ) -> Axes:
        """Kaplan-Meier curves of tenants and the weighted comparison (see :mod:`.plots`)."""
        from parkimpact.scorecard.plots import plot_survival

        return plot_survival(self, park=park, cohort=cohort, ax=ax)

    def plot_effects(self, level: str = "park", ax: Axes | None = None) -> Axes:
        """Forest plot of the estimated effects with CIs (see :mod:`.plots`)."""
        from parkimpact.scorecard.plots import plot_effects

        return plot_effects(self, level=level, ax=ax)
