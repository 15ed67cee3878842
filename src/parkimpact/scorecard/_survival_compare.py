r"""Survival of tenants against weighted not-yet-treated firms, stacked by entry cohort.

For each entry cohort :math:`g` of a park the *tenants* are its firms entering
in :math:`g`, followed from :math:`g` (duration 0). The *comparison* firms are
every firm alive and not yet in any park in :math:`r = \max(g, Y_0)`
(:math:`Y_0` the panel's first year), followed from :math:`g` as well and
censored when they enter a park (at duration :math:`e - g`: they survived to
their entry year untreated). Both groups are left-truncated at
:math:`r - g` when the cohort entered before the panel starts. Choosing
comparisons by their status in :math:`g` (and not by "never entered", which
depends on the future) avoids crediting the park with the survival that later
entry requires.

Comparison spells get the propensity odds :math:`\hat e_i / (1 - \hat e_i)`
of a logit of being a tenant on firm-level covariates, fitted on all stacks of
the park, normalised within each stack to sum to its number of tenants, so
each cohort is compared with firms alike in covariates and calendar time.
The survival KPI at horizon :math:`H` is

.. math:: \hat\Delta(H) = \hat S_{tenants}(H) - \hat S^{w}_{comparison}(H),

an estimate of the average effect of entry on :math:`H`-year survival of the
tenants when closure is independent of entry given the covariates and
calendar time. Its standard error comes from a Bayesian bootstrap over firms
(exponential weights shared by all of a firm's spells, in both groups and
every stack; the propensity model is not refitted), or, with
``n_bootstrap=0``, from :math:`\sqrt{se_1^2 + se_0^2}` (which ignores that a
comparison firm serves in several stacks). The comparison curve's pointwise
intervals treat the weights, rescaled to Kish's effective sample size, as
frequencies. ``at_risk`` counts distinct firms.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parkimpact.errors import ConvergenceError, IdentificationError
from parkimpact.matching.propensity import PropensityScore
from parkimpact.scorecard._measures import ALL_PARKS
from parkimpact.scorecard.survival import SurvivalCurve, kaplan_meier

__all__ = ["SurvivalSettings", "stacked_spells", "survival_outputs", "km_at", "CURVE_COLUMNS"]

CURVE_COLUMNS = ("park", "cohort", "group", "time", "survival", "conf_low", "conf_high", "at_risk")
_METHOD = "Kaplan-Meier, tenants vs propensity-weighted not-yet-treated firms"


@dataclass(frozen=True)
class SurvivalSettings:
    """Horizon, curve length, threshold, inference and seed of the survival comparison."""

    horizon: int
    curve_years: int
    min_tenants: int
    level: float
    n_bootstrap: int
    seed: int


def stacked_spells(firms: pd.DataFrame, park: str, first: int, last: int) -> pd.DataFrame:
    """Tenant and comparison spells of every cohort of ``park`` (see the module notes).

    ``firms`` is :func:`~parkimpact.scorecard.survival.firm_spells`. Columns:
    ``unit``, ``stack`` (cohort), ``treated``, ``entry_time``, ``time``,
    ``status``; spells without time at risk are left out.
    """
    entry = firms["entry"].to_numpy(dtype="float64")
    mine = firms["park"].notna() if park == ALL_PARKS else firms["park"] == park
    tenants = mine.to_numpy() & (entry <= last)
    pieces = []
    for g in np.unique(entry[tenants]):
        ref = max(g, first)
        alive = (firms["first"] <= ref) & (firms["last"] >= ref)
        control = alive.to_numpy() & ~(entry <= g)
        for rows, treated in ((tenants & (entry == g), True), (control, False)):
            sub = firms.loc[rows]
            time = (sub["last"] - g + sub["closed"].astype(int)).to_numpy(dtype="float64")
            status = sub["closed"].to_numpy(dtype="float64")
            if not treated:
                later = sub["entry"].to_numpy(dtype="float64")
                enters = later <= sub["last"].to_numpy()
                time = np.where(enters, later - g, time)
                status = np.where(enters, 0.0, status)
            pieces.append(
                pd.DataFrame(
                    {
                        "unit": sub.index.to_numpy(),
                        "stack": g,
                        "treated": treated,
                        "entry_time": np.maximum(sub["first"].to_numpy() - g, ref - g).astype(
                            "float64"
                        ),
                        "time": time,
                        "status": status,
                    }
                )
            )
    if not pieces:
        return pd.DataFrame(columns=["unit", "stack", "treated", "entry_time", "time", "status"])
    spells = pd.concat(pieces, ignore_index=True)
    return spells.loc[spells["time"] > spells["entry_time"]].reset_index(drop=True)


def comparison_weights(spells: pd.DataFrame, covariates: pd.DataFrame) -> tuple[np.ndarray, str]:
    """Tenant weight 1; comparison odds normalised within stack to the stack's tenant count."""
    treated = spells["treated"].to_numpy(dtype=bool)
    odds, note = np.ones(len(spells)), ""
    if len(covariates.columns):
        x = covariates.reindex(spells["unit"].to_numpy()).reset_index(drop=True)
        varying = [c for c in x.columns if x[c].nunique(dropna=True) > 1]
        frame = x[varying].assign(_treated=treated.astype(int))
        complete = frame.notna().all(axis=1).to_numpy()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = PropensityScore(varying).fit(frame.loc[complete], "_treated")
            score = np.full(len(spells), np.nan)
            score[complete] = fit.scores.to_numpy()
            odds = score / (1.0 - score)
        except (IdentificationError, ConvergenceError, ValueError) as exc:
            note = f"propensity model failed ({exc}); comparison unweighted"
    odds = np.where(np.isfinite(odds), odds, 0.0)
    stack = spells["stack"].to_numpy()
    weights = np.where(treated, 1.0, odds)
    frame = pd.DataFrame({"stack": stack, "treated": treated, "w": weights})
    sums = frame.groupby(["stack", "treated"])["w"].sum().unstack(fill_value=0.0)
    factor = (sums.get(True, 0.0) / sums.get(False, np.nan)).reindex(stack).to_numpy()
    weights = np.where(treated, 1.0, weights * np.nan_to_num(factor, nan=0.0))
    return weights, note


def km_at(
    horizon: int, entry: np.ndarray, time: np.ndarray, status: np.ndarray, weights: np.ndarray
) -> float:
    """Product-limit survival at an integer horizon for integer durations (weighted)."""
    surv = 1.0
    if not time.size or time.max() < horizon:
        return np.nan
    for u in range(1, horizon + 1):
        at_risk = weights[(entry < u) & (u <= time)].sum()
        events = weights[(time == u) & (status == 1)].sum()
        if at_risk > 0:
            surv *= 1.0 - events / at_risk
    return float(surv)


def _bootstrap_se(
    spells: pd.DataFrame, weights: np.ndarray, settings: SurvivalSettings, rng: np.random.Generator
) -> float:
    units, firm = np.unique(spells["unit"].to_numpy(), return_inverse=True)
    treated = spells["treated"].to_numpy(dtype=bool)
    stack = pd.factorize(spells["stack"])[0]
    a, t = spells["entry_time"].to_numpy(), spells["time"].to_numpy()
    d = spells["status"].to_numpy()
    draws = []
    for _ in range(settings.n_bootstrap):
        w = rng.exponential(size=units.size)[firm] * weights
        tsum = np.bincount(stack[treated], w[treated], minlength=stack.max() + 1)
        csum = np.bincount(stack[~treated], w[~treated], minlength=stack.max() + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(treated, w, w * np.nan_to_num(tsum / csum)[stack])
        h = settings.horizon
        draws.append(
            km_at(h, a[treated], t[treated], d[treated], w[treated])
            - km_at(h, a[~treated], t[~treated], d[~treated], w[~treated])
        )
    values = np.asarray(draws)
    values = values[np.isfinite(values)]
    return float(np.std(values, ddof=1)) if values.size > 1 else np.nan


def _curves(
    park: str, cohort: float, tenant: SurvivalCurve, comparison: SurvivalCurve, years: int
) -> pd.DataFrame:
    grid = np.arange(years + 1)
    parts = []
    for group, curve in (("tenants", tenant), ("comparison", comparison)):
        frame = curve.frame(grid)
        frame.insert(0, "group", group)
        parts.append(frame)
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "cohort", cohort)
    out.insert(0, "park", park)
    return out


def _kpi_row(
    park: str,
    level: str,
    cohort: float,
    n: int,
    values: tuple[float, float, float],
    se: float,
    note: str,
    settings: SurvivalSettings,
) -> dict[str, object]:
    from scipy import stats

    tenant, raw, weighted = values
    effect = tenant - weighted
    status, why = "estimated", note
    if n < settings.min_tenants:
        status, why = (
            "descriptive only",
            (f"too few tenants for a causal estimate: {n} (min_tenants={settings.min_tenants})"),
        )
    elif not np.isfinite(effect):
        status, why = "descriptive only", f"no spell followed {settings.horizon} years"
    z = stats.norm.ppf(0.5 + settings.level / 2.0)
    keep = status == "estimated"
    return {
        "kpi": "survival",
        "version": "1",
        "park": park,
        "level": level,
        "year": np.nan,
        "cohort": cohort,
        "tenants": tenant,
        "non_tenants": raw,
        "n_tenants": n,
        "effect": effect if keep else np.nan,
        "std_error": se if keep else np.nan,
        "conf_low": effect - z * se if keep else np.nan,
        "conf_high": effect + z * se if keep else np.nan,
        "method": _METHOD,
        "status": status,
        "note": why,
    }


def _group_curves(
    spells: pd.DataFrame, weights: np.ndarray, level: float
) -> tuple[SurvivalCurve, SurvivalCurve, SurvivalCurve]:
    tr = spells["treated"].to_numpy(dtype=bool)

    def fit(rows: np.ndarray, w: np.ndarray | None) -> SurvivalCurve:
        part = spells.loc[rows]
        return kaplan_meier(
            part["time"],
            part["status"],
            entry=part["entry_time"],
            weights=w,
            level=level,
            ids=part["unit"].to_numpy(),
        )

    return fit(tr, None), fit(~tr, None), fit(~tr, kish_scaled(weights[~tr]))


def kish_scaled(weights: np.ndarray) -> np.ndarray:
    r"""Weights rescaled to sum to Kish's effective sample size :math:`(\sum w)^2/\sum w^2`.

    A common factor leaves the weighted product-limit estimate unchanged; it
    sets the scale the frequency-weight variance formula reads as a count.
    """
    total, squares = weights.sum(), (weights**2).sum()
    return weights * (total / squares) if squares > 0 else weights


def _park_outputs(
    firms: pd.DataFrame,
    covariates: pd.DataFrame,
    park: str,
    years: tuple[int, int],
    settings: SurvivalSettings,
    rng: np.random.Generator,
) -> tuple[list, list]:
    spells = stacked_spells(firms, park, *years)
    if not spells["treated"].any():
        return [], []
    weights, note = comparison_weights(spells, covariates)
    h = settings.horizon
    curves, rows = [], []
    for cohort in [np.nan, *sorted(spells["stack"].unique())]:
        part = spells if np.isnan(cohort) else spells.loc[spells["stack"] == cohort]
        w = weights if np.isnan(cohort) else weights[(spells["stack"] == cohort).to_numpy()]
        n = int(part["treated"].sum())
        tenant, raw, weighted = _group_curves(part.reset_index(drop=True), w, settings.level)
        values = (tenant.at(h)[0][0], raw.at(h)[0][0], weighted.at(h)[0][0])
        se = float(np.hypot(tenant.at(h)[1][0], weighted.at(h)[1][0]))
        if np.isnan(cohort) and settings.n_bootstrap > 1 and n >= settings.min_tenants:
            se = _bootstrap_se(part.reset_index(drop=True), w, settings, rng)
        level = "park" if np.isnan(cohort) else "park_cohort"
        rows.append(_kpi_row(park, level, cohort, n, values, se, note, settings))
        if np.isnan(cohort) or n >= settings.min_tenants:
            curves.append(_curves(park, cohort, tenant, weighted, settings.curve_years))
    return curves, rows


def survival_outputs(
    firms: pd.DataFrame,
    covariates: pd.DataFrame,
    parks: Sequence[str],
    years: tuple[int, int],
    settings: SurvivalSettings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Survival curves of every park (and cohort with enough tenants) and the survival KPI rows."""
    curves, rows = [], []
    for index, park in enumerate(parks):
        rng = np.random.default_rng([settings.seed, index])
        found_curves, found_rows = _park_outputs(firms, covariates, park, years, settings, rng)
        curves += found_curves
        rows += found_rows
    curve_frame = (
        pd.concat(curves, ignore_index=True)
        if curves
        else pd.DataFrame(columns=list(CURVE_COLUMNS))
    )
    return curve_frame[list(CURVE_COLUMNS)], pd.DataFrame(rows)
