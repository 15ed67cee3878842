"""Tests of the multiplier bootstrap on influence functions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from parkimpact.inference import (
    FewClustersWarning,
    InfluenceFunction,
    multiplier_bootstrap,
    multiplier_weights,
)


@pytest.fixture(scope="module")
def large() -> InfluenceFunction:
    """Means of three correlated variables on 20,000 units."""
    rng = np.random.default_rng(1729)
    common = rng.normal(size=20_000)
    x = np.column_stack(
        [common + rng.normal(size=20_000), 2.0 * rng.standard_t(5, size=20_000), common]
    )
    return InfluenceFunction(x - x.mean(axis=0), x.mean(axis=0), ["a", "b", "c"])


@pytest.fixture(scope="module")
def clustered() -> InfluenceFunction:
    """Means of two variables on 4,000 units in 400 clusters."""
    rng = np.random.default_rng(31)
    clusters = rng.integers(0, 400, size=4_000)
    x = rng.normal(size=(4_000, 2)) + rng.normal(size=(400, 2))[clusters]
    return InfluenceFunction(x - x.mean(axis=0), x.mean(axis=0), ["a", "b"], cluster_ids=clusters)


@pytest.mark.parametrize("weights", ["rademacher", "mammen", "webb"])
def test_bootstrap_se_matches_analytic(large: InfluenceFunction, weights: str) -> None:
    result = multiplier_bootstrap(large, n_boot=1999, weights=weights, seed=11)  # type: ignore[arg-type]
    analytic = large.std_errors()
    np.testing.assert_allclose(result.std_errors, analytic, rtol=0.10)
    np.testing.assert_allclose(result.std_errors_sd, analytic, rtol=0.10)
    assert result.draws.shape == (1999, 3)
    assert result.n_clusters == 20_000 and not result.clustered


def test_clustered_bootstrap_se_matches_analytic(clustered: InfluenceFunction) -> None:
    result = multiplier_bootstrap(clustered, n_boot=1999, seed=5)
    assert result.clustered and result.n_clusters == 400
    np.testing.assert_allclose(result.std_errors, clustered.std_errors(), rtol=0.10)
    unit_level = multiplier_bootstrap(clustered, n_boot=1999, seed=5, cluster=False)
    np.testing.assert_allclose(unit_level.std_errors, clustered.std_errors(False), rtol=0.10)


def test_sup_t_between_pointwise_and_bonferroni(large: InfluenceFunction) -> None:
    result = multiplier_bootstrap(large, n_boot=1999, seed=2, level=0.95)
    bonferroni = stats.norm.ppf(1.0 - 0.05 / (2 * large.k))
    assert result.pointwise_critical == pytest.approx(stats.norm.ppf(0.975), rel=1e-12)
    assert result.pointwise_critical < result.critical_value < bonferroni
    pointwise = result.conf_int()
    band = result.conf_int(uniform=True)
    assert (band[:, 0] < pointwise[:, 0]).all() and (band[:, 1] > pointwise[:, 1]).all()
    narrower = result.conf_int(level=0.8, uniform=True)
    assert (narrower[:, 1] - narrower[:, 0] < band[:, 1] - band[:, 0]).all()
    frame = result.tidy(uniform=True)
    np.testing.assert_allclose(frame[["conf_low", "conf_high"]].to_numpy(), band, rtol=1e-12)
    assert result.vcov().shape == (3, 3)


def test_same_seed_bit_identical_for_any_n_jobs(large: InfluenceFunction) -> None:
    one = multiplier_bootstrap(large, n_boot=1000, seed=99, block_size=100, n_jobs=1)
    two = multiplier_bootstrap(large, n_boot=1000, seed=99, block_size=100, n_jobs=2)
    assert np.array_equal(one.draws, two.draws)
    assert np.array_equal(one.std_errors, two.std_errors)
    assert one.critical_value == two.critical_value
    other = multiplier_bootstrap(large, n_boot=1000, seed=100, block_size=100)
    assert not np.array_equal(one.draws, other.draws)


def test_fresh_entropy_is_recorded_and_reproduces(clustered: InfluenceFunction) -> None:
    first = multiplier_bootstrap(clustered, n_boot=300, seed=None)
    assert isinstance(first.seed, int)
    again = multiplier_bootstrap(clustered, n_boot=300, seed=first.seed)
    assert np.array_equal(first.draws, again.draws)
    sequence = np.random.SeedSequence(8).spawn(1)[0]
    a = multiplier_bootstrap(clustered, n_boot=300, seed=sequence)
    b = multiplier_bootstrap(clustered, n_boot=300, seed=sequence)
    assert np.array_equal(a.draws, b.draws)
    assert isinstance(a.seed, np.random.SeedSequence)
    assert np.array_equal(multiplier_bootstrap(clustered, n_boot=300, seed=a.seed).draws, a.draws)


def test_weight_moments() -> None:
    rng = np.random.default_rng(2718)
    for weights in ("rademacher", "mammen", "webb"):
        draws = multiplier_weights(rng, 2_000_000, weights)  # type: ignore[arg-type]
        assert abs(draws.mean()) < 0.003, weights
        assert draws.var() == pytest.approx(1.0, abs=0.003), weights
    mammen = multiplier_weights(rng, 2_000_000, "mammen")
    assert np.mean(mammen**3) == pytest.approx(1.0, abs=0.01)
    webb = multiplier_weights(rng, 60_000, "webb")
    support = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    np.testing.assert_array_equal(np.unique(webb), support)


def test_degenerate_parameter_gets_nan_se(large: InfluenceFunction) -> None:
    values = np.column_stack([large.values[:, 0], np.zeros(large.n_units)])
    inf = large.with_values(values, [large.estimates[0], 0.0], ["a", "reference"])
    result = multiplier_bootstrap(inf, n_boot=499, seed=3)
    assert np.isfinite(result.std_errors[0]) and np.isnan(result.std_errors[1])
    assert result.std_errors_sd[1] == 0.0
    single = multiplier_bootstrap(inf.subset("a"), n_boot=499, seed=3)
    assert result.critical_value == pytest.approx(single.critical_value, rel=1e-12)
    assert np.isnan(result.conf_int()[1]).all()


def test_few_clusters_warn_unless_webb() -> None:
    rng = np.random.default_rng(4)
    inf = InfluenceFunction(rng.normal(size=(80, 1)), [0.0], ["x"], cluster_ids=np.arange(80) % 8)
    with pytest.warns(FewClustersWarning, match="8 clusters and rademacher weights has only 256"):
        multiplier_bootstrap(inf, n_boot=99, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        multiplier_bootstrap(inf, n_boot=99, seed=1, weights="webb")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"weights": "normal"},
            ValueError,
            "weights must be one of 'rademacher', 'mammen', 'webb'",
        ),
        ({"n_boot": 1}, ValueError, "n_boot must be an integer of at least 2; got 1"),
        ({"block_size": 0}, ValueError, "block_size must be an integer of at least 1; got 0"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be a non-zero integer; got 0"),
        ({"level": 1.5}, ValueError, "level must be a number strictly between 0 and 1"),
        ({"cluster": True}, ValueError, "cluster must be False or None"),
        ({"seed": np.random.default_rng(1)}, TypeError, "seed must be an int, .* got a Generator"),
    ],
)
def test_bad_arguments(
    large: InfluenceFunction, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        multiplier_bootstrap(large, **kwargs)  # type: ignore[arg-type]


def test_rejects_non_influence_function() -> None:
    with pytest.raises(TypeError, match="inf must be an InfluenceFunction; got ndarray"):
        multiplier_bootstrap(np.zeros((5, 1)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="weights must be one of"):
        multiplier_weights(np.random.default_rng(0), 3, "gaussian")  # type: ignore[arg-type]
