r"""Checking a scorecard's causal KPIs against a simulation's known effects.

A simulation (:func:`parkimpact.datasets.simulate_parks`) records, for every
treated firm-year, the exact effect of the parks on its outcomes
(``truth.firm_effects``: employment, log value added, log output,
:math:`\ln(1 + R\&D)`, PhDs, patents, citations, average wage). The untreated
value of each KPI component is the observed value minus its effect (e.g.
:math:`L^0 = L - \Delta L`, :math:`VA^0 = VA\, e^{-\Delta \ln VA}`,
:math:`WB^0 = (WB/L - \Delta w) L^0`), so each KPI's firm-year measure can be
evaluated in both worlds with the *observed* benchmarks (wage medians and
citation means, which untreated rows fix). The true KPI effect of park
:math:`p` is then the Callaway-Sant'Anna simple aggregation of the cell means,

.. math:: \theta_p = \frac{\sum_{g > Y_0}\sum_{t \ge g} N_g\, \overline{\Delta m}_{gt}}
                         {\sum_{g > Y_0}\sum_{t \ge g} N_g},

over the park's cohorts entering after the first panel year :math:`Y_0`.
The survival truth is the mean of :math:`S^1_i(H) - S^0_i(H)` over the park's
tenants (``truth.survival``) and the closure-hazard truth is
:math:`\ln\theta` (``closure_hazard_ratio``). KPIs built on columns without
a recorded effect (TFP estimated from the data, R&D staff) have no truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parkimpact.data.panel import FirmPanel
from parkimpact.scorecard._measures import ALL_PARKS, build_measures
from parkimpact.scorecard.kpis import KPIS
from parkimpact.scorecard.result import ScorecardResult

__all__ = ["ScorecardTruth", "truth_check", "TRUTH_COLUMNS"]

TRUTH_COLUMNS = (
    "kpi",
    "park",
    "level",
    "estimate",
    "std_error",
    "conf_low",
    "conf_high",
    "truth",
    "inside",
)

#: Canonical component -> (effect column, how the untreated value is recovered).
_COMPONENTS: Mapping[str, tuple[str, str]] = {
    "employment": ("employment", "level"),
    "value_added": ("log_value_added", "log"),
    "output": ("log_output", "log"),
    "rd": ("log_rd", "log1p"),
    "phd": ("phd", "level"),
    "patents": ("patents", "level"),
    "citations": ("citations", "level"),
    "wage_bill": ("wage", "wage"),
}


@dataclass(frozen=True, eq=False)
class ScorecardTruth:
    """The known effects a scorecard can be checked against.

    Attributes
    ----------
    firm_effects : pandas.DataFrame
        ``firm_id``, ``year``, ``cohort`` and one effect column per outcome.
    survival : pandas.DataFrame or None
        ``firm_id``, ``park``, ``cohort``, ``horizon``, ``survival_observed``,
        ``survival_untreated``.
    closure_hazard_ratio : float or None
        True hazard ratio of closure after entry.
    """

    firm_effects: pd.DataFrame = field(repr=False)
    survival: pd.DataFrame | None = field(default=None, repr=False)
    closure_hazard_ratio: float | None = None

    @classmethod
    def from_folder(cls, folder: str | Path) -> ScorecardTruth:
        """Read ``firm_effects.csv`` (and ``survival.csv``, ``elasticities.csv`` if present)."""
        root = Path(folder)
        path = root / "firm_effects.csv"
        if not path.is_file():
            raise FileNotFoundError(
                f"truth folder must hold firm_effects.csv; got none in {root}. Write it with "
                "ParkSimulation.write_sources."
            )
        survival = root / "survival.csv"
        ratio = None
        elastic = root / "elasticities.csv"
        if elastic.is_file():
            table = pd.read_csv(elastic).set_index("parameter")["value"]
            if "closure_hazard_ratio" in table:
                ratio = float(table["closure_hazard_ratio"])
        return cls(pd.read_csv(path), pd.read_csv(survival) if survival.is_file() else None, ratio)

    @classmethod
    def coerce(cls, truth: Any) -> ScorecardTruth:
        """A ScorecardTruth from itself, a truth folder, or an object with ``firm_effects``."""
        if isinstance(truth, ScorecardTruth):
            return truth
        if isinstance(truth, str | Path):
            return cls.from_folder(truth)
        if not hasattr(truth, "firm_effects"):
            raise TypeError(
                f"truth must be a ScorecardTruth, a truth folder or a simulation truth with "
                f"firm_effects; got {type(truth).__name__}. Pass sim.truth or its folder."
            )
        elastic = getattr(truth, "elasticities", None) or {}
        ratio = elastic.get("closure_hazard_ratio") if isinstance(elastic, Mapping) else None
        survival = getattr(truth, "survival", None)
        survival = survival if isinstance(survival, pd.DataFrame) and len(survival) else None
        if survival is None:
            survival = _survival_beside(getattr(truth, "files", None))
        return cls(truth.firm_effects, survival, None if ratio is None else float(ratio))


def _survival_beside(files: object) -> pd.DataFrame | None:
    """``survival.csv`` in the folder of a loaded truth's files, if there is one."""
    if not isinstance(files, Mapping):
        return None
    for path in files.values():
        candidate = Path(path).parent / "survival.csv"
        if candidate.is_file():
            return pd.read_csv(candidate)
    return None


def _untreated_data(
    panel: FirmPanel, columns: Mapping[str, str], effects: pd.DataFrame
) -> tuple[pd.DataFrame, set[str]]:
    """Panel rows with treated firm-years' components set to their untreated values."""
    data = panel.data.copy()
    roles = panel.roles
    keys = pd.MultiIndex.from_arrays([data[roles.unit].to_numpy(), data[roles.time].to_numpy()])
    table = effects.set_index(["firm_id", "year"])
    table = table.loc[~table.index.duplicated()].reindex(keys)
    known: set[str] = set()
    employment = columns["employment"]
    labour = data[employment].to_numpy(dtype="float64") if employment in data else None
    order = sorted(_COMPONENTS, key=lambda c: c == "wage_bill")  # wages need L^0 first
    new_labour = labour
    for name in order:
        effect_col, how = _COMPONENTS[name]
        col = columns[name]
        if col not in data or effect_col not in table:
            continue
        delta = np.nan_to_num(table[effect_col].to_numpy(dtype="float64"))
        value = data[col].to_numpy(dtype="float64")
        if how == "level":
            untreated = value - delta
        elif how == "log":
            untreated = value * np.exp(-delta)
        elif how == "log1p":
            untreated = np.expm1(np.log1p(value) - delta)
        else:
            if labour is None or new_labour is None:
                continue
            untreated = (value / labour - delta) * new_labour
        if name == "employment":
            new_labour = untreated
        data[col] = untreated
        known.add(name)
    return data, known


def _cs_truth(
    measure: np.ndarray, frame: pd.DataFrame, cohort: np.ndarray, park: str, first_year: int
) -> float:
    rows = np.isfinite(measure) & np.isfinite(cohort) & (cohort > first_year)
    if park != ALL_PARKS:
        rows &= (frame["_park"] == park).to_numpy()
    cells = pd.DataFrame(
        {
            "g": cohort[rows],
            "t": frame["_year"].to_numpy()[rows],
            "u": frame["_unit"].to_numpy()[rows],
            "d": measure[rows],
        }
    )
    if cells.empty:
        return np.nan
    sizes = cells.groupby("g")["u"].nunique()
    means = cells.groupby(["g", "t"])["d"].mean().reset_index()
    weights = sizes.reindex(means["g"]).to_numpy(dtype="float64")
    return float((means["d"] * weights).sum() / weights.sum())


def _kpi_truths(
    result: ScorecardResult, panel: FirmPanel, truth: ScorecardTruth, scorecard: Any
) -> dict[tuple[str, str], float]:
    columns = scorecard._columns()
    settings = scorecard._measure_settings(panel)
    observed = build_measures(panel, columns, settings)
    data, known = _untreated_data(panel, columns, truth.firm_effects)
    untreated = build_measures(
        panel,
        columns,
        settings,
        data=data,
        wage_benchmark=observed.wage_benchmark,
        citation_benchmark=observed.citation_benchmark,
    )
    effects = truth.firm_effects.drop_duplicates(["firm_id", "year"]).set_index(["firm_id", "year"])
    frame = observed.frame
    keys = pd.MultiIndex.from_arrays([frame["_unit"].to_numpy(), frame["_year"].to_numpy()])
    cohort = effects["cohort"].reindex(keys).to_numpy(dtype="float64")
    first_year = int(frame["_year"].min())
    out = {}
    for row in result.kpis(level="park").itertuples():
        kpi = KPIS[row.kpi]
        if kpi.causal != "cs" or row.status != "estimated" or kpi.numerator not in frame:
            continue
        if not set(kpi.requires) <= known:
            continue
        delta = frame[kpi.numerator].to_numpy(dtype="float64") - untreated.frame[
            kpi.numerator
        ].to_numpy(dtype="float64")
        out[(row.kpi, row.park)] = _cs_truth(delta, frame, cohort, row.park, first_year)
    return out


def _survival_truth(truth: ScorecardTruth, horizon: int, park: str) -> float:
    table = truth.survival
    if table is None or "horizon" not in table:
        return np.nan
    rows = table.loc[table["horizon"] == horizon]
    if park != ALL_PARKS:
        rows = rows.loc[rows["park"] == park]
    if rows.empty:
        return np.nan
    return float((rows["survival_observed"] - rows["survival_untreated"]).mean())


def truth_check(
    result: ScorecardResult, panel: FirmPanel, truth: Any, scorecard: Any
) -> pd.DataFrame:
    """Park-level causal KPIs beside their true values.

    Parameters
    ----------
    result : ScorecardResult
        A fitted scorecard.
    panel : FirmPanel
        The panel it was fitted on.
    truth : ScorecardTruth or path or simulation truth
        See :meth:`ScorecardTruth.coerce`.
    scorecard : Scorecard
        The scorecard that produced ``result`` (its column map and settings).

    Returns
    -------
    pandas.DataFrame
        ``kpi``, ``park``, ``level``, ``estimate``, ``std_error``,
        ``conf_low``, ``conf_high``, ``truth``, ``inside`` (the truth lies in
        the CI); ``closure_hazard`` rows compare the hazard model's log hazard
        ratio with the true one.
    """
    known = ScorecardTruth.coerce(truth)
    truths = _kpi_truths(result, panel, known, scorecard)
    rows = []
    for row in result.kpis(level="park").itertuples():
        if row.status != "estimated":
            continue
        if row.kpi == "survival":
            value = _survival_truth(known, int(scorecard.survival_horizon), row.park)
        else:
            value = truths.get((row.kpi, row.park), np.nan)
        if np.isfinite(value):
            rows.append(
                (
                    row.kpi,
                    row.park,
                    "park",
                    row.effect,
                    row.std_error,
                    row.conf_low,
                    row.conf_high,
                    value,
                )
            )
    hazard = result.survival_model()
    if known.closure_hazard_ratio is not None and "estimate" in hazard:
        for h in hazard.itertuples():
            if np.isfinite(h.estimate):
                rows.append(
                    (
                        "closure_hazard",
                        h.park,
                        "park",
                        h.estimate,
                        h.std_error,
                        h.conf_low,
                        h.conf_high,
                        float(np.log(known.closure_hazard_ratio)),
                    )
                )
    frame = pd.DataFrame(rows, columns=list(TRUTH_COLUMNS[:-1]))
    frame["inside"] = (frame["conf_low"] <= frame["truth"]) & (frame["truth"] <= frame["conf_high"])
    return frame
