"""Tests of the influence-function container: covariances, combinations, Wald tests."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from parkimpact.inference import FewClustersWarning, InfluenceFunction


@pytest.fixture(scope="module")
def sample() -> dict[str, np.ndarray]:
    """Three correlated variables on 600 units in 40 clusters of unequal size."""
    rng = np.random.default_rng(20240601)
    n = 600
    clusters = rng.integers(0, 40, size=n)
    shock = rng.normal(size=40)[clusters]
    x = rng.normal(size=(n, 3)) + shock[:, None] * np.array([1.0, 0.5, 0.0])
    return {"x": x, "clusters": clusters}


@pytest.fixture(scope="module")
def means(sample: dict[str, np.ndarray]) -> InfluenceFunction:
    """Influence functions of the three sample means, clustered."""
    x = sample["x"]
    keys = pd.DataFrame({"cohort": [2005, 2005, 2007], "year": [2006, 2007, 2008]})
    return InfluenceFunction(
        x - x.mean(axis=0),
        x.mean(axis=0),
        ["a", "b", "c"],
        unit_ids=np.arange(x.shape[0]) + 1000,
        cluster_ids=sample["clusters"],
        keys=keys,
    )


def test_vcov_of_sample_mean_is_exact() -> None:
    x = np.random.default_rng(1).normal(size=257)
    inf = InfluenceFunction(x - x.mean(), [x.mean()], ["mean"])
    expected = np.var(x, ddof=1) * (x.size - 1) / x.size / x.size
    assert inf.vcov()[0, 0] == pytest.approx(expected, rel=1e-12, abs=0)
    assert inf.std_errors()[0] == pytest.approx(np.sqrt(expected), rel=1e-12)


def test_clustered_vcov_matches_hand_computation(
    means: InfluenceFunction, sample: dict[str, np.ndarray]
) -> None:
    frame = pd.DataFrame(means.values, columns=list(means.names))
    sums = frame.groupby(sample["clusters"]).sum().to_numpy()
    n_clusters, n = sums.shape[0], means.n_units
    expected = n_clusters / (n_clusters - 1) * sums.T @ sums / n**2
    np.testing.assert_allclose(means.vcov(cluster=True), expected, rtol=1e-12, atol=0)
    unclustered = means.values.T @ means.values / n**2
    np.testing.assert_allclose(means.vcov(cluster=False), unclustered, rtol=1e-12, atol=0)
    assert means.n_clusters == n_clusters == 40
    assert (means.n_units, means.k) == (600, 3)


def test_default_clusters_when_ids_given(means: InfluenceFunction) -> None:
    np.testing.assert_array_equal(means.vcov(), means.vcov(cluster=True))
    assert means.uses_clusters() and not means.uses_clusters(False)


def test_linear_combination_is_the_sandwich(means: InfluenceFunction) -> None:
    weights = np.array([[0.5, 1.0], [0.5, -1.0], [0.0, 2.0]])
    combined = means.linear_combination(weights, ["avg", "contrast"])
    for cluster in (False, True):
        sandwich = weights.T @ means.vcov(cluster) @ weights
        np.testing.assert_allclose(combined.vcov(cluster), sandwich, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(combined.estimates, means.estimates @ weights, rtol=1e-12)
    np.testing.assert_array_equal(combined.unit_ids, means.unit_ids)
    assert combined.names == ("avg", "contrast")
    single = means.linear_combination(np.ones(3) / 3, ["overall"], estimates=[0.25])
    assert single.k == 1 and single.estimates[0] == 0.25


def test_add_and_with_values(means: InfluenceFunction) -> None:
    extra = np.ones_like(means.values)
    added = means.add(extra)
    np.testing.assert_array_equal(added.values, means.values + 1.0)
    np.testing.assert_array_equal(added.estimates, means.estimates)
    order = np.random.default_rng(3).permutation(means.n_units)
    shuffled = InfluenceFunction(
        extra[order] * np.arange(means.n_units)[order, None],
        means.estimates,
        means.names,
        unit_ids=means.unit_ids[order],
    )
    aligned = means.add(shuffled)
    expected = means.values + np.arange(means.n_units)[:, None]
    np.testing.assert_allclose(aligned.values, expected, rtol=0, atol=1e-12)
    other = means.with_values(means.values[:, :1], [1.0], ["first"])
    np.testing.assert_array_equal(other.cluster_ids, means.cluster_ids)


def test_subset_by_position_name_and_mask(means: InfluenceFunction) -> None:
    by_position = means.subset([2, 0])
    by_name = means.subset(["c", "a"])
    assert by_position.names == by_name.names == ("c", "a")
    np.testing.assert_array_equal(by_position.values, by_name.values)
    by_mask = means.subset([True, False, True])
    assert by_mask.names == ("a", "c")
    assert by_mask.keys is not None and by_mask.keys["year"].tolist() == [2006, 2008]
    assert means.subset("b").names == ("b",) and means.subset(-1).names == ("c",)
    assert means.subset(slice(0, 2)).names == ("a", "b")


def test_tidy_carries_keys(means: InfluenceFunction) -> None:
    frame = means.tidy(level=0.9)
    assert list(frame.columns[:3]) == ["term", "cohort", "year"]
    np.testing.assert_allclose(frame["std_error"], means.std_errors(), rtol=1e-12)
    assert frame.attrs["level"] == 0.9


def test_row_order_does_not_change_variance(means: InfluenceFunction) -> None:
    order = np.random.default_rng(5).permutation(means.n_units)
    permuted = InfluenceFunction(
        means.values[order],
        means.estimates,
        means.names,
        unit_ids=means.unit_ids[order],
        cluster_ids=means.cluster_ids[order],
    )
    np.testing.assert_allclose(permuted.vcov(), means.vcov(), rtol=1e-12, atol=0)


def test_is_immutable(means: InfluenceFunction) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        means.values = np.zeros((2, 2))  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        means.values[0, 0] = 1.0


def test_wald_matches_chi_squared_by_hand(means: InfluenceFunction) -> None:
    null = np.array([0.1, 0.0, -0.1])
    gap = means.estimates - null
    statistic = float(gap @ np.linalg.solve(means.vcov(), gap))
    result = means.wald(null=null)
    assert result.statistic == pytest.approx(statistic, rel=1e-10)
    assert result.df == 3
    assert result.p_value == pytest.approx(stats.chi2.sf(statistic, 3), rel=1e-10)
    pair = means.wald(["a", "c"], cluster=False)
    chosen = [0, 2]
    matrix = means.vcov(cluster=False)[np.ix_(chosen, chosen)]
    by_hand = means.estimates[chosen] @ np.linalg.solve(matrix, means.estimates[chosen])
    assert pair.statistic == pytest.approx(by_hand, rel=1e-10) and pair.df == 2


def test_wald_with_singular_vcov_uses_the_rank(means: InfluenceFunction) -> None:
    weights = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    redundant = means.linear_combination(weights, ["a", "b", "a_plus_b"])
    singular = redundant.wald()
    regular = redundant.wald(["a", "b"])
    assert singular.df == 2
    assert singular.statistic == pytest.approx(regular.statistic, rel=1e-8)
    assert singular.p_value == pytest.approx(stats.chi2.sf(regular.statistic, 2), rel=1e-8)


def test_wald_skips_zero_variance_parameters(means: InfluenceFunction) -> None:
    values = np.column_stack([means.values[:, 0], np.zeros(means.n_units)])
    inf = means.with_values(values, [means.estimates[0], 0.0], ["a", "reference"])
    assert inf.wald().df == 1
    assert inf.wald().statistic == pytest.approx(inf.wald("a").statistic, rel=1e-12)


def test_few_clusters_warn() -> None:
    rng = np.random.default_rng(7)
    inf = InfluenceFunction(rng.normal(size=(100, 1)), [0.0], ["x"], cluster_ids=np.arange(100) % 8)
    with pytest.warns(FewClustersWarning, match="8 clusters is unreliable below 30"):
        inf.vcov()


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_non_finite_values_name_the_parameters() -> None:
    values = np.zeros((4, 3))
    values[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"must be finite; .* 1 parameter\(s\): \['gamma'\]"):
        InfluenceFunction(values, [0.0, 0.0, 0.0], ["alpha", "beta", "gamma"])
    with pytest.raises(ValueError, match=r"\['beta'\]"):
        InfluenceFunction(np.zeros((4, 3)), [0.0, np.inf, 0.0], ["alpha", "beta", "gamma"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": np.zeros((0, 2))}, "values must be a 2-D array"),
        ({"values": np.zeros((2, 2, 2))}, "values must be a 2-D array"),
        ({"values": [["a", "b"]] * 5}, "values must be a numeric array"),
        ({"estimates": [0.0]}, r"estimates must have one value per parameter \(2\); got 1"),
        ({"names": ["a"]}, r"names must have one name per parameter \(2\); got 1"),
        ({"names": ["a", "a"]}, "names must be unique; got 1 repeated, e.g. 'a'"),
        ({"unit_ids": [1, 2, 3]}, r"unit_ids must have one id per row of values \(5\)"),
        ({"unit_ids": [1, 1, 2, 3, 4]}, "unit_ids must be unique; got 1 repeated id"),
        ({"cluster_ids": [1, None, 2, 2, 1]}, "cluster_ids must not be missing; got 1"),
        ({"keys": pd.DataFrame({"year": [1]})}, r"keys must be a pandas DataFrame .* got 1 rows"),
    ],
)
def test_bad_construction(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"values": np.ones((5, 2)), "estimates": [0.0, 1.0]}
    arguments["names"] = ["a", "b"]
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        InfluenceFunction(**arguments)  # type: ignore[arg-type]


def test_cluster_errors() -> None:
    inf = InfluenceFunction(np.ones((5, 1)), [0.0], ["x"])
    with pytest.raises(ValueError, match="cluster must be False or None .* got True"):
        inf.vcov(cluster=True)
    one = InfluenceFunction(np.ones((5, 1)), [0.0], ["x"], cluster_ids=[3] * 5)
    with pytest.raises(ValueError, match="at least 2 distinct clusters .* got 1"):
        one.vcov()


def test_combination_errors(means: InfluenceFunction) -> None:
    with pytest.raises(
        ValueError, match=r"weights must be a finite array with one row per .*\(3\)"
    ):
        means.linear_combination(np.ones((2, 1)), ["x"])
    with pytest.raises(ValueError, match=r"weights must be a finite array"):
        means.linear_combination(np.array([1.0, np.nan, 0.0]), ["x"])
    with pytest.raises(ValueError, match=r"extra must have shape \(600, 3\); got \(600, 2\)"):
        means.add(np.zeros((600, 2)))
    stranger = InfluenceFunction(np.zeros((600, 3)), [0.0] * 3, ["a", "b", "c"])
    with pytest.raises(ValueError, match="extra must cover the same units"):
        means.add(stranger)


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        (["a", "zeta"], r"must name existing parameters; got unknown \['zeta'\]"),
        ([True, False], r"mask of length k \(3\); got length 2"),
        ([0, 3], r"positions in \[-3, 3\); got \[0, 3\]"),
        ([0.5], r"positions in \[-3, 3\)"),
        ([], "must pick at least one parameter"),
    ],
)
def test_selection_errors(means: InfluenceFunction, selection: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        means.subset(selection)  # type: ignore[arg-type]


def test_wald_errors(means: InfluenceFunction) -> None:
    with pytest.raises(ValueError, match=r"null must be a scalar or have one value .* \(2\)"):
        means.wald([0, 1], null=[0.0, 0.0, 0.0])
    zero = means.with_values(np.zeros((600, 1)), [0.0], ["reference"])
    with pytest.raises(ValueError, match="covariance of the selected parameters must be non-zero"):
        zero.wald()
