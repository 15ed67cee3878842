r"""Closure truth and public costs of the park economy.

*Survival truth.* Closure is drawn once per firm-year from uniform draws shared
by both worlds (:func:`~parkimpact.datasets._parks_firms.draw_deaths`). In the
observed world a tenant's hazard from the year after its first entry
:math:`g_i` on is multiplied by :math:`\theta = r^{s}` (``hazard_ratio``
:math:`r` to the power ``effect_scale`` :math:`s`). For every tenant of an
in-window cohort the table gives, at horizons :math:`h = 1, \dots, 10` years
after entry, the expected survival in both worlds,

.. math::

    S^{d}_i(h) = \prod_{t = g_i + 1}^{g_i + h} \{1 - p^{d}_{it}\}, \qquad
    p^{1}_{it} = 1 - e^{-h_{it}\theta}, \quad p^{0}_{it} = 1 - e^{-h_{it}},

with :math:`h_{it}` the closure intensity of
:func:`~parkimpact.datasets._parks_firms.closure_hazard` (calendar factor 1
after ``last_year``), and whether it is alive :math:`h` years after entry in
each world (missing when :math:`g_i + h` is after ``last_year``). The mean of
:math:`S^1_i(h) - S^0_i(h)` over a park's tenants is the true effect on
:math:`h`-year survival of its tenants (ATT); :math:`\ln\theta` is the true
park effect on the log closure hazard.

*Public costs.* Each open park costs a base amount a year plus a service cost
per tenant firm alive in it (``PARK_BASE_COST``, ``COST_PER_TENANT``, 2016
NT$ million), reported in nominal terms (consumer prices, price year = year).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from parkimpact.datasets import _parks_config as cfg
from parkimpact.datasets._parks_economy import Economy
from parkimpact.datasets._parks_firms import closure_hazard
from parkimpact.datasets._parks_tenancy import park_of_year

__all__ = ["survival_truth", "park_costs", "SURVIVAL_COLUMNS", "COST_COLUMNS"]

SURVIVAL_COLUMNS = (
    "firm_id",
    "park",
    "cohort",
    "horizon",
    "survival_observed",
    "survival_untreated",
    "alive_observed",
    "alive_untreated",
)
COST_COLUMNS = ("park", "year", "amount", "currency", "price_year")


def survival_truth(econ: Economy) -> pd.DataFrame:
    """Expected and realised survival after entry of in-window tenants in both worlds.

    One row per tenant (cohorts after ``first_year``) and horizon; see the
    module notes. Sorted by ``firm_id`` then ``horizon``.
    """
    s, spells = econ.settings, econ.spells
    entry = spells.entry
    idx = np.flatnonzero((entry > s.first_year) & (entry <= s.last_year))
    horizons = np.asarray(cfg.SURVIVAL_HORIZONS, dtype="int64")
    if idx.size == 0:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in SURVIVAL_COLUMNS})
    years = np.arange(s.first_year, s.last_year + horizons.max() + 1)
    rows = (entry[idx] - s.first_year)[:, None] + horizons[None, :]
    cols = np.broadcast_to(idx[:, None], rows.shape)
    ratio = s.closure_hazard_ratio
    untreated = closure_hazard(econ.firms, econ.covariates, years)
    observed = closure_hazard(econ.firms, econ.covariates, years, entry=entry, hazard_ratio=ratio)
    target = entry[idx][:, None] + horizons[None, :]
    window = target <= s.last_year
    alive1 = np.where(window, econ.last_obs[idx][:, None] >= target, np.nan)
    alive0 = np.where(window, econ.last_obs_untreated[idx][:, None] >= target, np.nan)
    n_h = horizons.size
    frame = pd.DataFrame(
        {
            "firm_id": np.repeat(econ.firms.firm_id[idx], n_h),
            "park": np.repeat(np.asarray(cfg.PARKS)[spells.park1[idx]], n_h),
            "cohort": np.repeat(entry[idx], n_h).astype("int64"),
            "horizon": np.tile(horizons, idx.size),
            "survival_observed": np.cumprod(1.0 - observed[rows, cols], axis=1).ravel(),
            "survival_untreated": np.cumprod(1.0 - untreated[rows, cols], axis=1).ravel(),
            "alive_observed": alive1.ravel(),
            "alive_untreated": alive0.ravel(),
        }
    )
    return frame.astype({"park": "str"})


def park_costs(econ: Economy) -> pd.DataFrame:
    """Yearly public cost of each open park in the sample years (nominal NT$ million).

    Real cost ``PARK_BASE_COST[p] + COST_PER_TENANT * tenants_pt`` (2016 prices),
    with ``tenants_pt`` the firms alive and in park ``p`` in year ``t``, times
    the consumer price index / 100. ``currency`` is ``"TWD"``, ``price_year``
    the year itself (current prices).
    """
    s, firms = econ.settings, econ.firms
    years = np.arange(s.first_year, s.last_year + 1)
    park_now = park_of_year(econ.spells, years)
    alive = (years[:, None] >= firms.first_obs[None, :]) & (
        years[:, None] <= econ.last_obs[None, :]
    )
    consumer = np.exp(econ.prices.log_consumer[years - s.start_year])
    pieces = []
    for p, (name, opening) in enumerate(zip(cfg.PARKS, cfg.PARK_OPENING, strict=True)):
        tenants = ((park_now == p) & alive).sum(axis=1)
        real = cfg.PARK_BASE_COST[p] + cfg.COST_PER_TENANT * tenants
        keep = years >= opening
        pieces.append(
            pd.DataFrame(
                {
                    "park": name,
                    "year": years[keep].astype("int64"),
                    "amount": (real * consumer)[keep],
                    "currency": cfg.COST_CURRENCY,
                    "price_year": years[keep].astype("int64"),
                }
            )
        )
    return pd.concat(pieces, ignore_index=True).astype({"park": "str", "currency": "str"})
