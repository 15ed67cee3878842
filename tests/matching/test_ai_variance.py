"""Abadie-Imbens variances of propensity-score matching, checked against their targets.

No published number for the Abadie-Imbens (2016) adjustment is reachable without Stata
(``teffects psmatch`` on ``cattaneo2``), so the check is by simulation, with the truth
known in closed form:

- ``"ai"`` (Abadie-Imbens 2006) estimates the variance of matching on the *true* score,
- ``"ai2016"`` that of matching on the *estimated* logit score (Abadie and Imbens 2016,
  *Econometrica* 84(2), Theorem 2 for the ATET),

so over replications the mean of each squared SE is compared with the Monte Carlo
variance of the matching estimate on the true and on the estimated score, and the
``"ai2016"`` interval must cover the population ATT about 95% of the time.

Design: x1, x2 ~ N(0, 1); P(D = 1 | x) = logistic(-0.5 + 0.8 x1 - 0.5 x2);
Y = 1 + 2 x1 + x2 + D (1.5 + x1) + e, e ~ N(0, 1). The effect varies with x1, so the
ATT (1.5 + E[x1 | D = 1] = 1.5 + E[p(x) x1] / E[p(x)]) differs from the ATE and the
adjustment for the estimated score is large (about -22 / n here) and negative.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from parkimpact.matching import NearestNeighborMatch

INDEX = (-0.5, 0.8, -0.5)  # intercept and slopes of the true logit


def design(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    p = 1.0 / (1.0 + np.exp(-(INDEX[0] + INDEX[1] * x1 + INDEX[2] * x2)))
    d = rng.random(n) < p
    y = 1.0 + 2.0 * x1 + x2 + d * (1.5 + x1) + rng.normal(size=n)
    return pd.DataFrame({"d": d.astype(int), "x1": x1, "x2": x2, "y": y, "p": p})


def true_att() -> float:
    """1.5 + E[p(x) x1] / E[p(x)]: the index is normal, and x1 given the index is linear."""
    a, b1, b2 = INDEX
    scale = np.hypot(b1, b2)  # index ~ N(a, scale^2); E[x1 | index] = b1 (index - a) / scale^2
    dens = stats.norm(a, scale).pdf
    logistic = special.expit
    p_bar = integrate.quad(lambda t: logistic(t) * dens(t), -np.inf, np.inf)[0]
    cross = integrate.quad(
        lambda t: logistic(t) * b1 * (t - a) / scale**2 * dens(t), -np.inf, np.inf
    )[0]
    return 1.5 + cross / p_bar


def test_variance_does_not_depend_on_covariates_listed_when_matching_on_a_score():
    """Matching on a supplied score: the conditional variances are given the score, so
    listing covariates (used for balance only) leaves the standard errors unchanged."""
    data = design(1500, seed=2)
    bare = NearestNeighborMatch("d", outcome="y", distance="p", replace=True).fit(data)
    listed = NearestNeighborMatch(
        "d", outcome="y", distance="p", covariates=["x1", "x2"], replace=True
    ).fit(data)
    assert listed.std_errors == pytest.approx(bare.std_errors, rel=1e-12)


@pytest.mark.slow
def test_ai2016_coverage_and_variance_targets():
    """200 replications of n = 2000. Tolerances: coverage within [0.91, 0.985] (the
    binomial SD at 0.95 is 0.015); mean squared SE within 25% of the Monte Carlo
    variance (the variance of a variance estimate from 200 draws is about 10%)."""
    truth = true_att()
    on_estimate = NearestNeighborMatch(
        "d", outcome="y", covariates=["x1", "x2"], replace=True, se="ai2016"
    )
    on_truth = NearestNeighborMatch("d", outcome="y", distance="p", replace=True)
    estimated, known, se2016, se_ai, covered = [], [], [], [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rep in range(200):
            data = design(2000, seed=10_000 + rep)
            fit = on_estimate.fit(data)
            estimated.append(fit.estimate)
            se2016.append(fit.std_errors["ai2016"])
            covered += abs(fit.estimate - truth) <= 1.959964 * fit.std_errors["ai2016"]
            oracle = on_truth.fit(data)
            known.append(oracle.estimate)
            se_ai.append(oracle.std_errors["ai"])
    assert 0.91 <= covered / 200 <= 0.985
    ratio_2016 = np.mean(np.square(se2016)) / np.var(estimated, ddof=1)
    ratio_ai = np.mean(np.square(se_ai)) / np.var(known, ddof=1)
    assert 0.8 <= ratio_2016 <= 1.25, ratio_2016
    assert 0.8 <= ratio_ai <= 1.25, ratio_ai
    # the adjustment matters here: the true-score variance is far larger
    assert np.var(known, ddof=1) > 1.4 * np.var(estimated, ddof=1)
