"""Panels with known truth for the TFP tests."""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd

from parkimpact import FirmPanel
from parkimpact.datasets import simulate_acf

GROSS_TRUTH = {"l": 0.25, "k": 0.15, "m": 0.55}


@lru_cache(maxsize=16)
def acf_panel(dgp: int, n_firms: int = 1000, seed: int = 0, n_years: int = 10) -> FirmPanel:
    """A panel from one of the ACF (2015) Monte Carlo designs (true l = 0.6, k = 0.4)."""
    sim = simulate_acf(dgp, n_firms=n_firms, n_years=n_years, seed=seed)
    return FirmPanel(sim.data, unit="firm_id", time="year")


@lru_cache(maxsize=4)
def gross_output_panel(n_firms: int = 800, n_years: int = 12, seed: int = 0) -> FirmPanel:
    r"""Cobb-Douglas gross output with a flexible input chosen from its first-order condition.

    :math:`y = 0.5 + 0.25 l + 0.15 k + 0.55 m + \omega + \varepsilon`,
    :math:`\omega_t = 0.2 + 0.8\omega_{t-1} + 0.1 d_{t-1} + \xi_t` (SD 0.1) with
    :math:`d` an i.i.d. Bernoulli(0.3) productivity shifter (column ``d``), capital and labour
    chosen a year ahead (AR(1) in logs shifted by last year's productivity),
    materials flexible with unit prices, so the nominal materials share of
    revenue is :math:`0.55\,E[e^\varepsilon] e^{-\varepsilon}`.
    """
    rng = np.random.default_rng(seed)
    burn = 20
    total = burn + n_years
    omega = np.zeros((n_firms, total))
    k = np.zeros((n_firms, total))
    lab = np.zeros((n_firms, total))
    omega[:, 0] = 1.0 + 0.17 * rng.standard_normal(n_firms)
    fixed = rng.normal(0, 0.5, n_firms)
    shifter = (rng.uniform(size=(n_firms, total)) < 0.3).astype(float)
    for t in range(1, total):
        omega[:, t] = (
            0.2
            + 0.8 * omega[:, t - 1]
            + 0.1 * shifter[:, t - 1]
            + 0.1 * rng.standard_normal(n_firms)
        )
        k[:, t] = (
            0.7 * k[:, t - 1]
            + 0.3 * (fixed + 2 * omega[:, t - 1])
            + 0.2 * rng.standard_normal(n_firms)
        )
        lab[:, t] = (
            0.6 * lab[:, t - 1]
            + 0.4 * (fixed + omega[:, t - 1])
            + 0.15 * rng.standard_normal(n_firms)
        )
    sl = slice(burn, total)
    omega, k, lab, shifter = omega[:, sl], k[:, sl], lab[:, sl], shifter[:, sl]
    sigma_eps = 0.1
    eps = sigma_eps * rng.standard_normal(omega.shape)
    b0, bl, bk, bm = 0.5, GROSS_TRUTH["l"], GROSS_TRUTH["k"], GROSS_TRUTH["m"]
    expected = np.exp(sigma_eps**2 / 2)
    m = (np.log(bm) + b0 + bl * lab + bk * k + omega + np.log(expected)) / (1 - bm)
    y = b0 + bl * lab + bk * k + bm * m + omega + eps
    frame = pd.DataFrame(
        {
            "firm": np.repeat(np.arange(n_firms), n_years),
            "year": np.tile(np.arange(2000, 2000 + n_years), n_firms),
            "y": y.ravel(),
            "l": lab.ravel(),
            "k": k.ravel(),
            "m": m.ravel(),
            "share": np.exp(m - y).ravel(),
            "d": shifter.ravel(),
            "omega": omega.ravel(),
        }
    )
    return FirmPanel(frame, unit="firm", time="year")


@lru_cache(maxsize=2)
def knowledge_panel(seed: int = 0) -> FirmPanel:
    """ACF DGP2 with an exogenous, predetermined knowledge stock of elasticity 0.05.

    ``rd_capital`` is :math:`K^R = e^{r} - 1` with :math:`r` a stationary AR(1)
    independent of productivity; ``y`` becomes :math:`y + 0.05 r`.
    """
    sim = simulate_acf(2, n_firms=1000, n_years=10, seed=seed)
    data = sim.data.copy()
    rng = np.random.default_rng(seed + 100)
    r = np.empty((1000, 10))
    r[:, 0] = 2.0 + 0.5 * rng.standard_normal(1000)
    for t in range(1, 10):
        r[:, t] = 0.4 + 0.8 * r[:, t - 1] + 0.3 * rng.standard_normal(1000)
    data["rd_capital"] = np.expm1(r.ravel())
    data["y"] = data["y"] + 0.05 * r.ravel()
    return FirmPanel(data, unit="firm_id", time="year")


def quiet_fit(estimator, panel):
    """Fit without the (expected) reports of rows without a lag."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(panel)
