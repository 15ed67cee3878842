"""IPW, AIPW and entropy balancing: known truth, double robustness, balance."""

from __future__ import annotations

import numpy as np
import pytest

from parkimpact.errors import ConvergenceError
from parkimpact.matching import AIPW, IPW, EntropyBalancing, PropensityScore

TRUTH = 1.5


@pytest.mark.parametrize(
    "estimator",
    [
        IPW("d", "y", covariates=["x1", "x2"]),
        IPW("d", "y", covariates=["x1", "x2"], estimand="ATE"),
        AIPW("d", "y", covariates=["x1", "x2"]),
        AIPW("d", "y", covariates=["x1", "x2"], estimand="ATT"),
        EntropyBalancing("d", "y", covariates=["x1", "x2"]),
        EntropyBalancing("d", "y", covariates=["x1", "x2"], moments=2),
    ],
    ids=["ipw_att", "ipw_ate", "aipw_ate", "aipw_att", "eb", "eb2"],
)
def test_within_three_standard_errors(sim, estimator):
    result = estimator.fit(sim)
    assert abs(result.estimate - TRUTH) <= 3 * result.std_error
    assert 0 < result.std_error < 0.5
    assert result.tidy().loc[0, "term"] == estimator.estimand


def test_aipw_is_doubly_robust(sim):
    """Propensity model misspecified (x2 omitted), outcome model right: AIPW stays unbiased."""
    wrong = PropensityScore(["x1"])
    aipw = AIPW("d", "y", covariates=["x1"], outcome_covariates=["x1", "x2"], propensity=wrong)
    ipw = IPW("d", "y", covariates=["x1"], estimand="ATE", propensity=wrong)
    robust, naive = aipw.fit(sim), ipw.fit(sim)
    assert abs(robust.estimate - TRUTH) <= 3 * robust.std_error
    assert abs(naive.estimate - TRUTH) > 3 * naive.std_error


def test_ipw_weights_normalised_per_group(sim):
    result = IPW("d", "y", covariates=["x1", "x2"], estimand="ATE").fit(sim)
    w, d = result.weights.to_numpy(), result.treated
    assert w[d].sum() == pytest.approx(d.sum())
    assert w[~d].sum() == pytest.approx((~d).sum())


def test_entropy_balancing_equalises_means(sim):
    result = EntropyBalancing("d", "y", covariates=["x1", "x2"]).fit(sim)
    table = result.balance().table
    assert np.abs(table.loc[["x1", "x2"], "smd_after"]).max() < 1e-6


def test_entropy_balancing_reports_infeasible_targets(sim):
    data = sim.assign(x3=np.where(sim["d"] == 1, 5.0, sim["x1"].clip(-1, 1)))
    with pytest.raises(ConvergenceError, match="entropy balancing must reach the treated"):
        EntropyBalancing("d", "y", covariates=["x3"]).fit(data)


def test_classifier_propensity_is_cloned(sim):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000)
    result = IPW(
        "d", "y", covariates=["x1", "x2"], propensity=PropensityScore(["x1", "x2"], model=model)
    ).fit(sim)
    assert not hasattr(model, "coef_")
    assert any("known" in note for note in result.notes)
    assert abs(result.estimate - TRUTH) <= 3 * result.std_error


def test_clustered_influence_function(sim):
    data = sim.assign(g=np.arange(len(sim)) % 60)
    plain = IPW("d", "y", covariates=["x1", "x2"]).fit(data)
    clustered = IPW("d", "y", covariates=["x1", "x2"], cluster="g").fit(data)
    assert clustered.estimate == plain.estimate
    assert "clustered" in clustered.se_type
