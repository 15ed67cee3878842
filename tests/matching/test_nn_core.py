"""The sorted-search core: stable order, insertion points, pair order and weights.

Each fast path is compared with the plain computation it replaces, on inputs built to
reach it (no ties, a few ties, ties the tie sample misses, heavy ties).
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.matching.test_nearest import as_sets, literal_matchit

from parkimpact.matching._nn import Matches, _stable_sort, greedy_sorted, stable_argsort
from parkimpact.matching._nn_result import matching_weights, unmatched_focal


def _values(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "continuous" or n == 0:
        return rng.beta(2, 6, n)
    if kind == "few_ties":
        v = rng.random(n)
        v[rng.integers(0, n, 20)] = v[rng.integers(0, n, 20)]
        return v
    if kind == "heavy_ties":
        return np.round(rng.random(n), 2)
    # ties only among values the strided sample skips, more than 1/64 of them
    v = rng.random(n)
    v[1::2] = v[1::2].round(2)
    v[:: max(1, n // 2048)] = np.linspace(2.0, 3.0, v[:: max(1, n // 2048)].size)
    return v


@pytest.mark.parametrize("kind", ["continuous", "few_ties", "heavy_ties", "hidden_ties"])
@pytest.mark.parametrize("n", [0, 1, 5, 3000, 50_000])
def test_stable_argsort_equals_numpy_stable_sort(kind, n):
    values = _values(kind, n, seed=n)
    np.testing.assert_array_equal(stable_argsort(values), np.argsort(values, kind="stable"))
    order, ordered = _stable_sort(values)
    np.testing.assert_array_equal(ordered, values[order])


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("decimals", [1, 2])
def test_many_ties_with_focal_units_equal_literal_rules(replace, k, decimals):
    """More than 64 focal units tie with controls (the merged insertion path) and long
    runs of used controls (the union-find paths)."""
    rng = np.random.default_rng(decimals)
    n = 1500
    d = np.round(rng.random(n), decimals)
    focal = rng.random(n) < 0.35
    order = np.flatnonzero(focal)[np.argsort(-d[focal], kind="stable")]
    got = greedy_sorted(d, focal, k=k, replace=replace, order=order)
    assert as_sets(got) == literal_matchit(d, focal, k, replace, order)


@pytest.mark.parametrize("replace", [False, True])
def test_caliper_on_the_logit_equals_literal_rules(replace):
    rng = np.random.default_rng(5)
    n = 400
    d = np.clip(np.round(rng.beta(2, 4, n), 3), 1e-3, 1 - 1e-3)
    logit = np.log(d) - np.log1p(-d)
    focal = rng.random(n) < 0.3
    order = np.flatnonzero(focal)[np.argsort(-d[focal], kind="stable")]
    got = greedy_sorted(
        d, focal, k=2, replace=replace, order=order, caliper_axis=logit, caliper=0.05
    )
    want = literal_matchit(d, focal, 2, replace, order, axis=logit, caliper=0.05)
    assert as_sets(got) == want


def test_from_pairs_orders_pairs_and_splits_weights():
    focal = np.array([7, 3, 7, 3, 9])
    control = np.array([1, 2, 4, 5, 6])
    rank = np.array([1, 0, 0, 1, 0])
    m = Matches.from_pairs(focal, control, rank)
    np.testing.assert_array_equal(m.focal, [3, 3, 7, 7, 9])
    np.testing.assert_array_equal(m.control, [2, 5, 4, 1, 6])
    np.testing.assert_array_equal(m.rank, [0, 1, 0, 1, 0])
    np.testing.assert_allclose(m.weight, [0.5, 0.5, 0.5, 0.5, 1.0])
    empty = Matches.from_pairs(*(np.empty(0, dtype=np.intp),) * 3)
    assert empty.weight.size == 0


def test_weights_and_unmatched_units():
    focal = np.array([True, True, True, False, False, False])
    m = Matches.from_pairs(np.array([0, 0, 1]), np.array([3, 4, 3]), np.array([0, 1, 0]))
    weights = matching_weights(m, focal)
    # K(3) = 1.5, K(4) = 0.5, rescaled to sum to the 2 used controls
    np.testing.assert_allclose(weights, [1, 1, 0, 1.5, 0.5, 0])
    np.testing.assert_array_equal(unmatched_focal(m, focal), [2])
