r"""Effects a study reports, read off the DiD results as rows of one long table.

Every reported number is one row with the keys ``outcome``, ``estimand``,
``by``, ``subgroup`` and ``event_time`` and its point estimate and
*conditional* standard error (the DiD estimator's own analytic SE, which
takes the TFP column and the covariates as given). The same functions run on
the original panel and on every bootstrap resample, so the row keys identify
the bootstrap draws of each number.

Estimands
---------
``simple``
    Callaway-Sant'Anna simple aggregation: the cohort-share weighted average
    of the post-entry :math:`ATT(g, t)` (with ``by``: within each subgroup).
``dynamic``
    The event-study aggregation :math:`\theta(e)` at each event time of the
    window.
``proportional``
    For count outcomes, the simple ATT relative to the treated firms'
    untreated mean,

    .. math::

        \rho = \frac{\theta}{\mu_1 - \theta}, \qquad
        \mu_1 = \sum_{(g,t)} a_{gt}\, \bar Y_{gt},

    with :math:`a_{gt}` the simple-aggregation weights and :math:`\bar Y_{gt}`
    the mean outcome of cohort :math:`g` in year :math:`t` over the firms the
    cell uses (observed in its base year). :math:`\mu_1 - \theta` estimates
    :math:`E[Y(0) \mid \text{treated}]` over the same firm-years, so
    :math:`\rho` is the proportional (percentage) effect, comparable across
    firms of very different size. Its conditional SE is the delta method on
    the influence functions of :math:`\theta` and :math:`\mu_1`:
    :math:`\psi_\rho = (\mu_1\psi_\theta - \theta\psi_{\mu})/(\mu_1 - \theta)^2`,
    :math:`\psi_{\mu,i} = \sum_t a_{g_it}(n/n_{g_it})(Y_{it} - \bar Y_{g_it})`
    (the cohort-share weights taken as given in :math:`\mu_1`).
``post_average``
    PSM-DiD: the average of the post-entry event-time effects of the
    matched, stacked event study.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from parkimpact.data.panel import FirmPanel
from parkimpact.did import AggregatedATT, GroupTimeATT
from parkimpact.matching import PSMDiDResult

__all__ = ["ROW_KEYS", "ROW_COLUMNS", "row_ids", "cs_rows", "psm_rows", "subgroup_rows"]

ROW_KEYS: tuple[str, ...] = ("outcome", "estimand", "by", "subgroup", "event_time")
"""Columns identifying a reported number."""
ROW_COLUMNS: tuple[str, ...] = (*ROW_KEYS, "term", "estimate", "std_error")


def row_ids(rows: pd.DataFrame) -> list[str]:
    """One text id per row, built from :data:`ROW_KEYS` (stable across resamples)."""
    parts = [rows[key].astype(object).where(rows[key].notna(), "").astype(str) for key in ROW_KEYS]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + "|" + part
    return joined.tolist()


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(ROW_COLUMNS))
    return frame.astype({"event_time": "float64", "estimate": "float64", "std_error": "float64"})


def _record(
    outcome: str, estimand: str, term: str, estimate: float, se: float, **keys: Any
) -> dict:
    return {
        "outcome": outcome,
        "estimand": estimand,
        "by": keys.get("by"),
        "subgroup": keys.get("subgroup"),
        "event_time": keys.get("event_time", np.nan),
        "term": term,
        "estimate": float(estimate),
        "std_error": float(se),
    }


def cs_rows(
    outcome: str,
    result: GroupTimeATT,
    *,
    window: tuple[int, int],
    proportional: FirmPanel | None = None,
) -> tuple[pd.DataFrame, dict[str, AggregatedATT]]:
    """Simple, dynamic and (for counts) proportional effects of one CS fit.

    Parameters
    ----------
    outcome : str
        Outcome name used in the rows.
    result : GroupTimeATT
        A fit without ``by``.
    window : (int, int)
        Event times of the dynamic aggregation.
    proportional : FirmPanel or None
        The panel the fit used; given for count outcomes to add the
        proportional effect.

    Returns
    -------
    rows : pandas.DataFrame
        Columns :data:`ROW_COLUMNS`.
    aggregates : dict
        ``{"simple": ..., "dynamic": ...}``.
    """
    simple = result.aggregate("simple")
    dynamic = result.aggregate("dynamic", min_e=window[0], max_e=window[1])
    records = [_record(outcome, "simple", "ATT", simple.estimate, simple.std_error)]
    if proportional is not None:
        ratio, se = proportional_effect(result, simple, proportional)
        records.append(_record(outcome, "proportional", "ATT / E[Y(0) | treated]", ratio, se))
    effects = dynamic.effects
    records += [
        _record(outcome, "dynamic", f"ATT(e={int(e)})", est, se, event_time=float(e))
        for e, est, se in zip(
            effects["event_time"], effects["estimate"], effects["std_error"], strict=True
        )
    ]
    return _frame(records), {"simple": simple, "dynamic": dynamic}


def psm_rows(outcome: str, result: PSMDiDResult) -> pd.DataFrame:
    """Post-entry average and event-time effects of a PSM-DiD fit."""
    tidy = result.tidy()
    is_att = (tidy["term"] == "ATT").to_numpy()
    event = tidy.loc[~is_att & tidy["event_time"].notna() & tidy["std_error"].notna()]
    records = [_record(outcome, "post_average", "ATT", result.att, result.std_error)]
    records += [
        _record(outcome, "dynamic", f"ATT(e={int(e)})", est, se, event_time=float(e))
        for e, est, se in zip(
            event["event_time"], event["estimate"], event["std_error"], strict=True
        )
    ]
    return _frame(records)


def subgroup_rows(
    outcome: str, by: str, overall: pd.DataFrame, estimand: str = "simple"
) -> pd.DataFrame:
    """Rows of subgroup effects from a frame indexed by subgroup (``estimate``, ``std_error``)."""
    records = [
        _record(outcome, estimand, "ATT", row.estimate, row.std_error, by=by, subgroup=str(label))
        for label, row in zip(overall.index, overall.itertuples(), strict=True)
    ]
    return _frame(records)


# ------------------------------------------------------------------ proportional effect
def _cell_rows(result: GroupTimeATT, simple: AggregatedATT, panel: FirmPanel) -> pd.DataFrame:
    """Treated firm-years of the post-entry cells, with their cell weight (base year observed)."""
    roles = panel.roles
    unit, time, entry = roles.unit, roles.time, str(roles.entry)
    weights = simple.weights.loc[simple.weights["term"] == "overall", ["cohort", "year", "weight"]]
    cells = result.cells[["cohort", "year", "base_year"]].merge(weights, on=["cohort", "year"])
    data = panel.data[[unit, time, entry, result.outcome]]
    data = data.loc[data[entry].notna() & data[result.outcome].notna()]
    rows = data.merge(cells, left_on=[entry, time], right_on=["cohort", "year"], how="inner")
    observed = pd.MultiIndex.from_arrays([data[unit].to_numpy(), data[time].to_numpy()])
    at_base = pd.MultiIndex.from_arrays(
        [rows[unit].to_numpy(), rows["base_year"].to_numpy().astype(np.int64)]
    ).isin(observed)
    return rows.loc[at_base & (rows["weight"] != 0)].rename(columns={unit: "_unit"})


def proportional_effect(
    result: GroupTimeATT, simple: AggregatedATT, panel: FirmPanel
) -> tuple[float, float]:
    """The proportional effect :math:`\\theta/(\\mu_1 - \\theta)` and its delta-method SE.

    See the module docstring for the formula. Firm-level (unclustered)
    variance, on the firms of the CS fit; NaN for a fit without inference
    (``inference="none"``).
    """
    rows = _cell_rows(result, simple, panel)
    y = rows[result.outcome].to_numpy(dtype=float)
    cell = rows.groupby(["cohort", "year"], sort=False)[result.outcome]
    mean = cell.transform("mean").to_numpy(dtype=float)
    size = cell.transform("size").to_numpy(dtype=float)
    weight = rows["weight"].to_numpy(dtype=float)
    first = ~rows.duplicated(["cohort", "year"]).to_numpy()
    mu1 = float(np.sum(weight[first] * mean[first]))
    inf = simple.influence
    if result.inference.kind == "none":
        theta = float(inf.estimates[0])
        return theta / (mu1 - theta), float("nan")
    n = inf.n_units
    contribution = (
        pd.Series(weight * (n / size) * (y - mean)).groupby(rows["_unit"].to_numpy()).sum()
    )
    psi_mu = contribution.reindex(inf.unit_ids, fill_value=0.0).to_numpy(dtype=float)
    theta = float(inf.estimates[0])
    psi_theta = inf.values[:, 0]
    denominator = mu1 - theta
    ratio = theta / denominator
    psi = (mu1 * psi_theta - theta * psi_mu) / denominator**2
    return ratio, float(np.sqrt(np.sum(psi**2)) / n)


def keep_rows(rows: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate row blocks (an empty table when there are none)."""
    blocks = [block for block in rows if len(block)]
    if not blocks:
        return _frame([])
    return pd.concat(blocks, ignore_index=True)
