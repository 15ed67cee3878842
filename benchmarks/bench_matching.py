"""Benchmark: 1:1 nearest-neighbour matching on a supplied propensity score.

Workloads (as in the matching specification): with replacement, and without
replacement with a caliper of 0.2 standard deviations of the score, at
(treated, controls) = (1k, 10k), (10k, 100k), (100k, 1M).

Compared:

* ``baseline`` -- a plain numpy sorted-search matcher written here: with
  replacement, ``searchsorted`` and a comparison of the two neighbours;
  without replacement, greedy matching in descending score order with a
  "next available control" union-find over the sorted controls.
* ``core`` -- :func:`parkimpact.matching._nn.greedy_sorted` (MatchIt rules:
  stable data-order tie-breaking, both-side search, caliper per side).
* ``baseline_unstable`` -- the same with NumPy's default (unstable) sort:
  faster, but ties are not broken in data order, so not MatchIt's matches when
  scores tie. Shown because parkimpact sorts with
  :func:`parkimpact.matching._nn.stable_argsort` (the unstable sort plus a
  repair of tied runs), which gains most of that speed while keeping the
  stable order: ``fit`` is measured against both.
* ``fit`` -- :class:`parkimpact.matching.NearestNeighborMatch` ``.fit`` end to
  end (input checks, drop report, weights; the matched-set table and
  subclasses are built when first read, so they are not timed).
* ``sklearn`` -- ``sklearn.neighbors.NearestNeighbors`` (with replacement only;
  it has no matching without replacement).

psmpy and DoWhy are skipped: they are not installed in the project
environment and both fit their own propensity model, so they cannot take a
supplied score. Peak memory is measured with :mod:`tracemalloc` (numpy
allocations included) and reported per unit.

Timing: after one untimed call per method (which also records the peak memory),
every method is called ``--repeats`` times (default 7), interleaved and rotating
the starting method each round, so that changes in machine load affect all
methods alike; the table reports the median (and min/max) seconds and the ratio
of medians to the baseline.

Run: ``python benchmarks/bench_matching.py [--sizes small|large|all] [--repeats 7]``
(``large``: the (10k, 100k) and (100k, 1M) workloads).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from parkimpact.matching import NearestNeighborMatch
from parkimpact.matching._nn import greedy_sorted

SIZES = [(1_000, 10_000), (10_000, 100_000), (100_000, 1_000_000)]


def make_scores(n1: int, n0: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.beta(3, 5, n1), rng.beta(2, 6, n0)])
    treated = np.zeros(n1 + n0, dtype=bool)
    treated[:n1] = True
    return p, treated


def baseline_with_replacement(
    p: np.ndarray, treated: np.ndarray, kind: str = "stable"
) -> np.ndarray:
    controls = np.flatnonzero(~treated)
    order = np.argsort(p[controls], kind=kind)
    values = p[controls][order]
    q = p[treated]
    right = np.clip(np.searchsorted(values, q), 0, values.size - 1)
    left = np.clip(right - 1, 0, values.size - 1)
    take_left = np.abs(q - values[left]) <= np.abs(values[right] - q)
    return controls[order][np.where(take_left, left, right)]


def baseline_without_replacement(
    p: np.ndarray, treated: np.ndarray, caliper: float, kind: str = "stable"
) -> np.ndarray:
    controls = np.flatnonzero(~treated)
    order = np.argsort(p[controls], kind=kind)
    values = p[controls][order]
    units = np.flatnonzero(treated)
    units = units[np.argsort(-p[units], kind=kind)]
    ins = np.searchsorted(values, p[units]).tolist()
    vals = values.tolist()
    qs = p[units].tolist()
    m = values.size
    left = list(range(m + 1))
    right = list(range(m + 1))
    out = [-1] * len(units)
    for t in range(len(units)):
        j = ins[t]
        while left[j] != j:
            left[j] = left[left[j]]
            j = left[j]
        lj = j - 1
        j = ins[t]
        while right[j] != j:
            right[j] = right[right[j]]
            j = right[j]
        rj = j if j < m else -1
        q = qs[t]
        if lj >= 0 and q - vals[lj] > caliper:
            lj = -1
        if rj >= 0 and vals[rj] - q > caliper:
            rj = -1
        if lj >= 0 and (rj < 0 or q - vals[lj] <= vals[rj] - q):
            c = lj
        elif rj >= 0:
            c = rj
        else:
            continue
        left[c + 1] = c
        right[c] = c + 1
        out[t] = c
    return np.asarray(out)


def sklearn_with_replacement(p: np.ndarray, treated: np.ndarray) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=1).fit(p[~treated][:, None])
    return nn.kneighbors(p[treated][:, None], return_distance=False)[:, 0]


def peak_bytes(fn: Callable[[], object]) -> float:
    """Peak traced allocation of one call (numpy buffers included)."""
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return float(peak)


def timed(fn: Callable[[], object]) -> float:
    """Seconds of one call, after a garbage collection, with the collector paused."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def alternate(methods: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Time every method ``repeats`` times, interleaved: round r starts at method r mod m,
    so that drifts in machine load fall on all methods alike."""
    names = list(methods)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for j in range(len(names)):
            name = names[(r + j) % len(names)]
            times[name].append(timed(methods[name]))
    return times


def _cases(
    p: np.ndarray, treated: np.ndarray, order: np.ndarray, caliper: float, frame: pd.DataFrame
) -> dict[str, dict[str, Callable[[], object]]]:
    """The timed calls of one size."""
    return {
        "with replacement": {
            "baseline": lambda: baseline_with_replacement(p, treated),
            "baseline_unstable": lambda: baseline_with_replacement(p, treated, "quicksort"),
            "core": lambda: greedy_sorted(p, treated, k=1, replace=True, order=order),
            "fit": lambda: NearestNeighborMatch("t", distance="p", replace=True).fit(frame),
            "sklearn": lambda: sklearn_with_replacement(p, treated),
        },
        "without replacement, caliper 0.2 SD": {
            "baseline": lambda: baseline_without_replacement(p, treated, caliper),
            "baseline_unstable": lambda: baseline_without_replacement(
                p, treated, caliper, "quicksort"
            ),
            "core": lambda: greedy_sorted(
                p, treated, k=1, replace=False, order=order, caliper=caliper
            ),
            "fit": lambda: NearestNeighborMatch("t", distance="p", caliper=0.2).fit(frame),
        },
    }


def run(sizes: list[tuple[int, int]], repeats: int) -> pd.DataFrame:
    rows = []
    for n1, n0 in sizes:
        p, treated = make_scores(n1, n0)
        order = np.flatnonzero(treated)[np.argsort(-p[treated], kind="stable")]
        caliper = 0.2 * float(np.std(p, ddof=1))
        frame = pd.DataFrame({"t": treated.astype(np.int8), "p": p})
        cases = _cases(p, treated, order, caliper, frame)
        for workload, methods in cases.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                peaks = {name: peak_bytes(fn) for name, fn in methods.items()}  # also warms up
                times = alternate(methods, repeats)
            base = float(np.median(times["baseline"]))
            for name, seconds in times.items():
                median = float(np.median(seconds))
                rows.append(
                    {
                        "treated": n1,
                        "controls": n0,
                        "workload": workload,
                        "method": name,
                        "median_s": round(median, 4),
                        "min_s": round(min(seconds), 4),
                        "max_s": round(max(seconds), 4),
                        "ratio_to_baseline": round(median / base, 2),
                        "peak_bytes_per_unit": round(peaks[name] / (n1 + n0), 1),
                    }
                )
                print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", choices=["small", "large", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per method")
    args = parser.parse_args()
    sizes = {"small": SIZES[:1], "large": SIZES[1:], "all": SIZES}[args.sizes]
    table = run(sizes, max(args.repeats, 1))
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
