"""Tests of seed handling."""

from __future__ import annotations

import numpy as np
import pytest

from parkimpact.inference import as_seed_sequence, recorded_seed, spawn


def test_integer_and_fresh_seeds() -> None:
    assert as_seed_sequence(42).entropy == 42
    assert as_seed_sequence(np.int64(42)).entropy == 42
    first, second = as_seed_sequence(None), as_seed_sequence(None)
    assert first.entropy != second.entropy
    assert recorded_seed(first) == first.entropy


def test_seed_sequence_is_copied_not_advanced() -> None:
    parent = np.random.SeedSequence(5)
    children_a = spawn(parent, 3)
    children_b = spawn(parent, 3)
    assert parent.n_children_spawned == 0
    assert [c.spawn_key for c in children_a] == [(0,), (1,), (2,)]
    assert [c.generate_state(2).tolist() for c in children_a] == [
        c.generate_state(2).tolist() for c in children_b
    ]


def test_recorded_seed_rebuilds_children() -> None:
    child = np.random.SeedSequence(9).spawn(2)[1]
    record = recorded_seed(child)
    assert isinstance(record, np.random.SeedSequence)
    assert np.array_equal(
        as_seed_sequence(record).generate_state(4), as_seed_sequence(child).generate_state(4)
    )
    assert recorded_seed(np.random.SeedSequence(9)) == 9


@pytest.mark.parametrize(
    ("seed", "error", "message"),
    [
        (np.random.default_rng(0), TypeError, "got a Generator. A generator is one stream"),
        (np.random.RandomState(0), TypeError, "got a RandomState"),
        (True, TypeError, "got bool True"),
        (1.5, TypeError, "got float 1.5"),
        (-1, ValueError, "seed must be a non-negative integer; got -1"),
    ],
)
def test_bad_seeds(seed: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        as_seed_sequence(seed)  # type: ignore[arg-type]


def test_bad_spawn_count() -> None:
    with pytest.raises(ValueError, match="n must be a non-negative integer; got -2"):
        spawn(1, -2)
