"""Seeds for reproducible resampling.

Every random procedure of parkimpact takes ``seed`` as an integer, a
:class:`numpy.random.SeedSequence` or ``None`` and turns it into a
:class:`~numpy.random.SeedSequence` with :func:`as_seed_sequence`. Work that
may run in parallel is split into independent child streams with
:func:`spawn`: child ``j`` always drives the same piece of work (a block of
multiplier draws, one cluster-bootstrap replication), so the numbers do not
depend on the number of workers, the backend or the order in which the pieces
finish. :func:`recorded_seed` gives the value a result stores so that the run
can be repeated exactly, including when ``seed=None`` drew fresh entropy.

A :class:`numpy.random.Generator` is refused: its state is a single stream
that advances as it is used, so the same generator gives different numbers on
a second call, and it cannot be split into per-piece child streams without
consuming it. Pass an integer, or ``rng.bit_generator.seed_seq`` to derive the
streams from the generator's own seed.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

__all__ = ["SeedLike", "as_seed_sequence", "spawn", "recorded_seed"]

SeedLike = int | np.integer | np.random.SeedSequence | None
"""Accepted types of ``seed`` arguments."""


def as_seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """Turn a ``seed`` argument into a :class:`numpy.random.SeedSequence`.

    Parameters
    ----------
    seed : int, numpy.random.SeedSequence or None
        A non-negative integer; a seed sequence (copied, so the caller's object
        is never advanced and passing it twice gives the same streams); or
        ``None`` for fresh operating-system entropy, which the returned
        sequence carries in ``entropy`` so it can be recorded and reused.

    Returns
    -------
    numpy.random.SeedSequence
        A sequence owned by the caller of this function.

    Raises
    ------
    TypeError
        If ``seed`` is a :class:`numpy.random.Generator`, a legacy
        ``RandomState``, a boolean or any other type.
    ValueError
        If ``seed`` is a negative integer.

    Examples
    --------
    >>> as_seed_sequence(42).entropy
    42
    """
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(
            seed.entropy,
            spawn_key=seed.spawn_key,
            pool_size=seed.pool_size,
            n_children_spawned=seed.n_children_spawned,
        )
    if isinstance(seed, np.random.Generator | np.random.RandomState):
        raise TypeError(
            f"seed must be an int, a numpy.random.SeedSequence or None; got a "
            f"{type(seed).__name__}. A generator is one stream that advances as it is used "
            "and cannot be split into the per-block child streams that make results "
            "independent of n_jobs; pass an integer seed, or rng.bit_generator.seed_seq."
        )
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(
            f"seed must be an int, a numpy.random.SeedSequence or None; got "
            f"{type(seed).__name__} {seed!r}. Pass a non-negative integer such as seed=42."
        )
    if int(seed) < 0:
        raise ValueError(
            f"seed must be a non-negative integer; got {int(seed)}. Pass e.g. seed={-int(seed)}."
        )
    return np.random.SeedSequence(int(seed))


def spawn(seed: SeedLike, n: int) -> list[np.random.SeedSequence]:
    """Return ``n`` independent child seed sequences of ``seed``.

    The children are those that ``as_seed_sequence(seed).spawn(n)`` gives:
    child ``j`` has spawn key ``seed.spawn_key + (c + j,)`` with ``c`` the
    number of children the given sequence had already spawned. The caller's
    sequence is not advanced.

    Parameters
    ----------
    seed : int, numpy.random.SeedSequence or None
        See :func:`as_seed_sequence`.
    n : int
        Number of children, at least 0.

    Returns
    -------
    list of numpy.random.SeedSequence
        The children in order.

    Raises
    ------
    TypeError, ValueError
        As :func:`as_seed_sequence`, or if ``n`` is not a non-negative integer.
    """
    if isinstance(n, bool) or not isinstance(n, Integral) or int(n) < 0:
        raise ValueError(
            f"n must be a non-negative integer; got {n!r}. Pass the number of child streams."
        )
    return as_seed_sequence(seed).spawn(int(n))


def recorded_seed(sequence: np.random.SeedSequence) -> int | np.random.SeedSequence:
    """Return the value to store so that ``sequence`` can be rebuilt exactly.

    Parameters
    ----------
    sequence : numpy.random.SeedSequence
        The sequence a procedure drew from (see :func:`as_seed_sequence`).

    Returns
    -------
    int or numpy.random.SeedSequence
        The integer entropy when ``SeedSequence(entropy)`` reproduces the
        sequence (an integer seed or fresh entropy from ``seed=None``);
        otherwise a copy of the sequence itself (a spawned child, a custom
        pool size or entropy given as several words). Either value passed back
        as ``seed`` repeats the run.
    """
    plain = (
        isinstance(sequence.entropy, Integral)
        and sequence.spawn_key == ()
        and sequence.pool_size == 4
        and sequence.n_children_spawned == 0
    )
    if plain:
        return int(sequence.entropy)
    return as_seed_sequence(sequence)
