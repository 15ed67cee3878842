"""Difference-in-differences cases: Callaway-Sant'Anna DR and two-way fixed effects.

``cs_analytic`` / ``cs_bootstrap``
    Doubly robust ATT(g, t) with never-treated comparison firms and two
    time-invariant covariates, aggregated to the simple ATT and the event study;
    analytic SEs, or 999 multiplier-bootstrap draws. Peers: diff-diff and csdid.
``twfe``
    Two-way fixed effects (firm and year) with two covariates and SEs clustered
    by firm. Peer: pyfixest.

The parkimpact side is timed from the same DataFrame the peers get: building
the :class:`~parkimpact.FirmPanel` is part of its work.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from harness import Case, Goal, Params, Side, register

SEED = 20240611
COHORTS = (4, 6, 8, 10, 12)  # entry year offsets within the sample
YEARS = 15


# ---------------------------------------------------------------------------- data
def cs_panel(params: Params) -> pd.DataFrame:
    """Balanced panel: five entry cohorts, never-treated firms, two time-invariant covariates
    (one continuous, one binary) on which entry and the outcome trend depend."""
    n_firms, n_years = int(params["firms"]), int(params.get("years", YEARS))
    rng = np.random.default_rng(SEED)
    years = np.arange(2000, 2000 + n_years)
    x1 = rng.normal(size=n_firms)
    x2 = (rng.uniform(size=n_firms) < 0.4).astype(float)
    never = rng.uniform(size=n_firms) < 1.0 / (1.0 + np.exp(0.5 * x1 + 0.5 * x2))
    cohort = 2000 + np.asarray(COHORTS)[rng.integers(0, len(COHORTS), size=n_firms)]
    entry = np.where(never, 0, cohort)
    year = np.tile(years, n_firms)
    firm_entry = np.repeat(entry, n_years)
    treated = (firm_entry > 0) & (year >= firm_entry)
    trend = (year - 2000) * (0.02 + 0.03 * np.repeat(x1, n_years) + 0.02 * np.repeat(x2, n_years))
    y = (
        np.repeat(rng.normal(size=n_firms), n_years)
        + trend
        + treated * (0.1 + 0.02 * (year - firm_entry))
        + rng.normal(scale=0.5, size=n_firms * n_years)
    )
    return pd.DataFrame(
        {
            "firm": np.repeat(np.arange(n_firms), n_years),
            "year": year,
            "first_treat": firm_entry,
            "x1": np.repeat(x1, n_years),
            "x2": np.repeat(x2, n_years),
            "y": y,
        }
    )


def twfe_panel(params: Params) -> pd.DataFrame:
    """Staggered adoption: five cohorts and never-treated firms, two time-varying covariates."""
    n_firms, n_years = int(params["firms"]), int(params.get("years", YEARS))
    rng = np.random.default_rng(SEED)
    years = np.arange(2005, 2005 + n_years)
    cohorts = np.array([2008, 2010, 2012, 2014, 2016, np.nan])
    entry = rng.choice(cohorts, size=n_firms, p=[0.12, 0.12, 0.12, 0.12, 0.12, 0.40])
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(years, n_firms)
    entry_rows = np.repeat(entry, n_years)
    alpha = np.repeat(rng.normal(size=n_firms), n_years)
    lam = np.tile(rng.normal(scale=0.3, size=n_years), n_firms)
    x1 = rng.normal(size=firm.size) + 0.5 * alpha
    x2 = rng.normal(size=firm.size)
    treated = (year >= entry_rows).astype(np.float64)
    y = alpha + lam + 0.2 * treated + 0.5 * x1 - 0.3 * x2 + rng.normal(size=firm.size)
    return pd.DataFrame(
        {
            "firm_id": firm,
            "year": year,
            "entry_year": entry_rows,
            "in_park": treated,
            "x1": x1,
            "x2": x2,
            "y": y,
        }
    )


def _describe(params: Params, rows: int) -> str:
    text = f"{rows:,} rows ({int(params['firms']):,} firms x {int(params.get('years', YEARS))})"
    draws = int(params.get("draws", 0))
    return text + (f", {draws} draws" if draws else "")


# ------------------------------------------------------------------- CS sides
def _cs_parkimpact(data: pd.DataFrame, params: Params) -> Callable[[], Any]:
    from parkimpact.data.panel import FirmPanel
    from parkimpact.did.callaway import CallawaySantAnna

    draws = int(params.get("draws", 0))
    estimator = CallawaySantAnna(
        "y",
        covariates=["x1", "x2"],
        method="dr",
        control_group="never_treated",
        inference="bootstrap" if draws else "analytic",
        n_bootstrap=draws or 999,
        seed=1,
    )

    def run() -> Any:
        panel = FirmPanel(
            data, unit="firm", time="year", entry="first_treat", never_treated_value=0
        )
        result = estimator.fit(panel)
        return result.aggregate("simple"), result.aggregate("dynamic")

    return run


def _cs_parkimpact_estimates(value: Any) -> dict[str, float]:
    simple, dynamic = value
    frame = dynamic.tidy()
    e0 = frame.loc[frame["event_time"] == 0, "estimate"]
    return {
        "simple": float(simple.estimate),
        "dynamic": float(dynamic.estimate),
        "e0": float(e0.iloc[0]),
    }


def _cs_diff_diff(data: pd.DataFrame, params: Params) -> Callable[[], Any]:
    from diff_diff import CallawaySantAnna

    draws = int(params.get("draws", 0))
    estimator = CallawaySantAnna(
        estimation_method="dr", control_group="never_treated", n_bootstrap=draws, seed=1
    )

    def run() -> Any:
        return estimator.fit(
            data,
            outcome="y",
            unit="firm",
            time="year",
            first_treat="first_treat",
            covariates=["x1", "x2"],
            aggregate="event_study",
        )

    return run


def _cs_diff_diff_estimates(value: Any) -> dict[str, float]:
    return {
        "simple": float(value.overall_att),
        "e0": float(value.event_study_effects[0]["effect"]),
    }


def _cs_csdid(data: pd.DataFrame, params: Params) -> Callable[[], Any]:
    from csdid.att_gt import ATTgt

    draws = int(params.get("draws", 0))

    def run() -> Any:
        model = ATTgt(
            yname="y",
            gname="first_treat",
            idname="firm",
            tname="year",
            xformla="y~x1+x2",
            data=data,
            control_group="nevertreated",
            biters=draws or 999,
        )
        fitted = model.fit(est_method="dr", bstrap=bool(draws))
        with contextlib.redirect_stdout(io.StringIO()):  # aggte prints its table
            fitted.aggte(typec="simple")
            simple = dict(fitted.atte)
            fitted.aggte(typec="dynamic")
            dynamic = dict(fitted.atte)
        return simple, dynamic

    return run


def _cs_csdid_estimates(value: Any) -> dict[str, float]:
    simple, dynamic = value
    e0 = np.asarray(dynamic["att_egt"])[np.asarray(dynamic["egt"]) == 0]
    return {
        "simple": float(simple["overall_att"]),
        "dynamic": float(dynamic["overall_att"]),
        "e0": float(e0[0]),
    }


CS_SIDES = (
    Side("parkimpact", "parkimpact", _cs_parkimpact, _cs_parkimpact_estimates),
    Side("diff-diff", "diff-diff", _cs_diff_diff, _cs_diff_diff_estimates),
    Side("csdid", "csdid", _cs_csdid, _cs_csdid_estimates),
)


def _rows(data: pd.DataFrame) -> int:
    return len(data)


register(
    Case(
        name="cs_analytic",
        title="CS-DR, 2 covariates, analytic SEs",
        simulate=cs_panel,
        sides=CS_SIDES,
        sizes={"quick": {"firms": 10_000}, "full": {"firms": 100_000}},
        describe=_describe,
        rows=_rows,
        goal=Goal("<= 0.5x diff-diff (CPU)", 0.5, peer="diff-diff"),
        warmup={"firms": 500},
        note="ATT(g,t), simple and event-study aggregation; csdid shown for reference.",
    )
)

register(
    Case(
        name="cs_bootstrap",
        title="CS-DR, 2 covariates, 999 bootstrap draws",
        simulate=cs_panel,
        sides=(CS_SIDES[0], CS_SIDES[2], CS_SIDES[1]),
        sizes={
            "quick": {"firms": 10_000, "draws": 999},
            "full": {"firms": 100_000, "draws": 999},
        },
        describe=_describe,
        rows=_rows,
        goal=Goal("<= 0.25x csdid (CPU)", 0.25, peer="csdid"),
        warmup={"firms": 500, "draws": 999},
        note="Multiplier bootstrap of the ATT(g,t) and both aggregations; diff-diff shown "
        "for reference.",
    )
)


# ------------------------------------------------------------------ TWFE sides
def _twfe_parkimpact(data: pd.DataFrame, params: Params) -> Callable[[], Any]:
    from parkimpact import FirmPanel
    from parkimpact.did import TwoWayFE

    estimator = TwoWayFE("y", covariates=["x1", "x2"], vcov="cluster")

    def run() -> Any:
        panel = FirmPanel(data, unit="firm_id", time="year", entry="entry_year")
        return estimator.fit(panel)

    return run


def _twfe_pyfixest(data: pd.DataFrame, params: Params) -> Callable[[], Any]:
    import pyfixest

    def run() -> Any:
        return pyfixest.feols(
            "y ~ in_park + x1 + x2 | firm_id + year", data=data, vcov={"CRV1": "firm_id"}
        )

    return run


def _coefficients(values: pd.Series) -> dict[str, float]:
    return {str(name): float(value) for name, value in values.items()}


register(
    Case(
        name="twfe",
        title="TWFE, firm and year FE, clustered SEs",
        simulate=twfe_panel,
        sides=(
            Side("parkimpact", "parkimpact", _twfe_parkimpact, lambda r: _coefficients(r.params)),
            Side("pyfixest", "pyfixest", _twfe_pyfixest, lambda r: _coefficients(r.coef())),
        ),
        sizes={"quick": {"firms": 10_000}, "full": {"firms": 100_000}},
        describe=_describe,
        rows=_rows,
        goal=Goal("<= 1.0x pyfixest (CPU)", 1.0, peer="pyfixest"),
        warmup={"firms": 500},
        note="Coefficients of in_park, x1 and x2 with firm-clustered SEs.",
    )
)
