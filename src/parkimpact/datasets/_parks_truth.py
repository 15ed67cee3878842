r"""Known truth of the park economy: individual effects, ATT(g, t) and their aggregations.

Individual effects are differences between the observed world and the
untreated world simulated with the same draws, so they are exact. Group-time
effects are cell means of the individual effects; aggregations use the weights
of Callaway and Sant'Anna (2021, J. Econometrics 225(2)), with cohort sizes
:math:`N_g` (firms in the entry cohort) as weights:

.. math::

    \theta_{simple} &= \frac{\sum_{g}\sum_{t \ge g} N_g ATT(g,t)}
                            {\sum_{g}\sum_{t \ge g} N_g}, \qquad
    \theta_{dyn}(e) = \frac{\sum_g N_g ATT(g, g+e)}{\sum_g N_g}, \\
    \theta_{grp}(g) &= \frac{1}{|\{t \ge g\}|}\sum_{t \ge g} ATT(g,t), \qquad
    \theta_{cal}(t) = \frac{\sum_{g \le t} N_g ATT(g,t)}{\sum_{g \le t} N_g},

each sum running over the cells observed in the sample. Overall: the mean of
:math:`\theta_{dyn}(e)` over :math:`e \ge 0`, the :math:`N_g`-weighted mean of
:math:`\theta_{grp}(g)`, and the mean of :math:`\theta_{cal}(t)` over years.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from parkimpact.datasets import _parks_config as cfg

__all__ = ["ParkTruth", "firm_effects", "att_gt", "aggregate", "elasticities"]


@dataclass(frozen=True, eq=False)
class ParkTruth:
    """The true parameters and treatment effects of a simulated park economy.

    Attributes
    ----------
    elasticities : Mapping[str, float]
        Production and R&D parameters (``labour`` 0.25, ``capital`` 0.10,
        ``materials`` 0.60, ``rho`` 0.8, ``rd_capital`` 0.04,
        ``rd_capital_in_park`` ...); see :func:`elasticities`.
    firm_effects : pandas.DataFrame
        One row per treated firm-year at or after entry: ``firm_id``, ``year``,
        ``cohort`` (entry year of the first spell), ``event_time`` and one
        column per outcome with :math:`Y_{it}(1) - Y_{it}(0)`.
    att_gt : pandas.DataFrame
        ``outcome``, ``cohort``, ``year``, ``event_time``, ``att``, ``n_firms``:
        one row per (cohort, year) cell observed in the sample, for cohorts
        entering after ``first_year`` (pre-entry cells have ``att`` 0).
    aggregates : pandas.DataFrame
        ``outcome``, ``kind`` (simple, dynamic, group, calendar), ``key``
        (event time, cohort or year; NaN for the overall number) and ``att``.
    cohorts : pandas.DataFrame
        ``cohort`` and ``n_firms`` (firms in the cohort), in-window cohorts.
    covariates : pandas.DataFrame
        The conditioning covariates: ``firm_id``, ``industry``, ``size_class``,
        ``rd_type``, ``age_group``, measured in the firm's first observed year
        (in the untreated world, which differs from the panel only for firms
        already in a park before ``first_year``).
    description : str
        A readable summary of the design.
    survival : pandas.DataFrame
        Survival after entry of the tenants of in-window cohorts in both
        worlds: ``firm_id``, ``park`` (first park), ``cohort``, ``horizon``
        (1-10 years), ``survival_observed`` / ``survival_untreated`` (expected
        survival from the closure hazards) and ``alive_observed`` /
        ``alive_untreated`` (realised, missing after ``last_year``); see
        :mod:`parkimpact.datasets._parks_survival`.
    """

    elasticities: Mapping[str, float]
    firm_effects: pd.DataFrame = field(repr=False)
    att_gt: pd.DataFrame = field(repr=False)
    aggregates: pd.DataFrame = field(repr=False)
    cohorts: pd.DataFrame = field(repr=False)
    covariates: pd.DataFrame = field(repr=False)
    description: str = field(repr=False)
    survival: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def elasticities(effect_scale: float, closure_hazard_ratio: float = 1.0) -> dict[str, float]:
    """True production-function and R&D parameters and the park's closure hazard ratio."""
    return {
        "constant": cfg.B0,
        "labour": cfg.BETA_L,
        "capital": cfg.BETA_K,
        "materials": cfg.BETA_M,
        "rho": cfg.RHO,
        "sigma_xi": cfg.SIGMA_XI,
        "sigma_eps": cfg.SIGMA_EPS,
        "rd_capital": cfg.RD_ELASTICITY,
        "rd_capital_in_park": cfg.RD_ELASTICITY + cfg.RD_PARK_BONUS * effect_scale,
        "tfp_shift": cfg.TFP_SHIFT * effect_scale,
        "capital_depreciation": cfg.DEPRECIATION,
        "rd_depreciation": cfg.RD_DEPRECIATION,
        "rd_growth": cfg.RD_GROWTH,
        "closure_hazard_ratio": closure_hazard_ratio,
    }


def firm_effects(
    keys: pd.DataFrame, potential: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """Individual effects of treated firm-years at and after entry.

    ``keys`` has ``firm_id``, ``year`` and ``entry_year`` (float, NaN for
    never-tenants), one row per observed firm-year; ``potential`` maps each
    outcome to a (2, rows) array (row 0 untreated, row 1 observed).
    """
    entry = keys["entry_year"].to_numpy()
    year = keys["year"].to_numpy()
    treated = ~np.isnan(entry) & (year >= np.nan_to_num(entry, nan=np.inf))
    cohort = entry[treated].astype("int64")
    frame = pd.DataFrame(
        {
            "firm_id": keys["firm_id"].to_numpy()[treated],
            "year": year[treated].astype("int64"),
            "cohort": cohort,
            "event_time": year[treated].astype("int64") - cohort,
        }
    )
    for outcome in cfg.OUTCOMES:
        values = potential[outcome]
        frame[outcome] = (values[1] - values[0])[treated]
    return frame


def att_gt(
    keys: pd.DataFrame, potential: Mapping[str, np.ndarray], first_year: int, last_year: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cell means of the individual effects for in-window cohorts; and cohort sizes.

    Returns ``(att_gt, cohorts)``.
    """
    entry = keys["entry_year"].to_numpy()
    inside = ~np.isnan(entry) & (entry > first_year) & (entry <= last_year)
    cohort = entry[inside].astype("int64")
    year = keys["year"].to_numpy()[inside].astype("int64")
    firm = keys["firm_id"].to_numpy()[inside]
    cohorts = (
        pd.DataFrame({"cohort": cohort, "firm_id": firm})
        .groupby("cohort", sort=True)["firm_id"].nunique()
        .rename("n_firms").reset_index()
    )
    post = year >= cohort
    cells = pd.DataFrame({"cohort": cohort, "year": year})
    pieces = []
    for outcome in cfg.OUTCOMES:
        values = potential[outcome]
        effect = np.where(post, (values[1] - values[0])[inside], 0.0)
        grouped = cells.assign(att=effect).groupby(["cohort", "year"], sort=True)["att"]
        table = grouped.agg(["mean", "size"]).reset_index()
        pieces.append(
            pd.DataFrame(
                {
                    "outcome": outcome,
                    "cohort": table["cohort"].astype("int64"),
                    "year": table["year"].astype("int64"),
                    "event_time": (table["year"] - table["cohort"]).astype("int64"),
                    "att": table["mean"].where(table["year"] >= table["cohort"], 0.0),
                    "n_firms": table["size"].astype("int64"),
                }
            )
        )
    frame = pd.concat(pieces, ignore_index=True).astype({"outcome": "str"})
    return frame, cohorts


def _weighted(frame: pd.DataFrame, by: str) -> pd.Series:
    """Cohort-size-weighted mean of ``att`` within groups of ``by``."""
    num = (frame["att"] * frame["weight"]).groupby(frame[by], sort=True).sum()
    den = frame["weight"].groupby(frame[by], sort=True).sum()
    return num / den


def _rows(outcome: str, kind: str, series: pd.Series, overall: float) -> pd.DataFrame:
    keys = np.append(series.index.to_numpy(dtype="float64"), np.nan)
    values = np.append(series.to_numpy(dtype="float64"), overall)
    return pd.DataFrame({"outcome": outcome, "kind": kind, "key": keys, "att": values})


def aggregate(att: pd.DataFrame, cohorts: pd.DataFrame) -> pd.DataFrame:
    """Simple, dynamic, group and calendar aggregations of ``att_gt`` for every outcome.

    Dynamic effects are reported for every event time (negative ones are the
    zero pre-entry truth); the overall dynamic effect averages event times
    :math:`e \\ge 0`. ``key`` is NaN on the overall rows.
    """
    if att.empty:
        return pd.DataFrame(
            {"outcome": pd.Series(dtype="str"), "kind": pd.Series(dtype="str"),
             "key": pd.Series(dtype="float64"), "att": pd.Series(dtype="float64")}
        )
    sizes = cohorts.set_index("cohort")["n_firms"]
    pieces = []
    for outcome in cfg.OUTCOMES:
        cells = att.loc[att["outcome"] == outcome]
        cells = cells.assign(weight=sizes.reindex(cells["cohort"]).to_numpy(dtype="float64"))
        post = cells.loc[cells["event_time"] >= 0]
        simple = float((post["att"] * post["weight"]).sum() / post["weight"].sum())
        dynamic = _weighted(cells, "event_time")
        group = post.groupby("cohort", sort=True)["att"].mean()
        group_w = sizes.reindex(group.index).to_numpy(dtype="float64")
        group_overall = float(np.sum(group.to_numpy() * group_w) / group_w.sum())
        calendar = _weighted(post, "year")
        pieces += [
            _rows(outcome, "simple", pd.Series(dtype="float64"), simple),
            _rows(outcome, "dynamic", dynamic, float(dynamic[dynamic.index >= 0].mean())),
            _rows(outcome, "group", group, group_overall),
            _rows(outcome, "calendar", calendar, float(calendar.mean())),
        ]
    return pd.concat(pieces, ignore_index=True).astype({"outcome": "str", "kind": "str"})
