"""Simulated data with known effects for the matching tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def selection_on_observables(n: int, seed: int, effect: float = 1.5) -> pd.DataFrame:
    """Treatment depends on x1, x2 through a logit; y = 1 + 2 x1 + x2 + effect * d + noise."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    e = 1.0 / (1.0 + np.exp(-(-0.5 + 0.8 * x1 - 0.5 * x2)))
    d = rng.random(n) < e
    y = 1.0 + 2.0 * x1 + x2 + effect * d + rng.normal(size=n)
    return pd.DataFrame({"d": d.astype(int), "x1": x1, "x2": x2, "y": y})


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return selection_on_observables(3000, seed=11)


def stacked_panel(n_firms: int = 600, seed: int = 3, effect: float = 0.3) -> pd.DataFrame:
    """Firm panel 2000-2012: entry cohorts 2005-2007 selected on size and growth."""
    rng = np.random.default_rng(seed)
    years = np.arange(2000, 2013)
    size = rng.normal(size=n_firms)
    growth = rng.normal(scale=0.05, size=n_firms)
    industry = rng.integers(0, 3, size=n_firms)
    score = -1.2 + 0.8 * size + 8.0 * growth
    enters = rng.random(n_firms) < 1.0 / (1.0 + np.exp(-score))
    entry = np.where(enters, rng.choice([2005, 2006, 2007], size=n_firms), np.nan)
    rows = []
    for i in range(n_firms):
        for t in years:
            treated = not np.isnan(entry[i]) and t >= entry[i]
            y = size[i] + growth[i] * (t - 2000) + 0.1 * industry[i] + effect * treated
            rows.append((i, t, entry[i], industry[i], size[i], y + rng.normal(scale=0.05)))
    return pd.DataFrame(rows, columns=["firm", "year", "entry", "industry", "size", "y"])
