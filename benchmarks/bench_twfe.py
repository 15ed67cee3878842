"""Benchmark: TwoWayFE on a 1.5M-row panel, against pyfixest when it is installed.

The panel has 100,000 firms observed over 15 years (balanced, or unbalanced with
``--unbalanced``), five entry cohorts plus never-treated firms and two
covariates. Each estimator is timed ``--repeats`` times after a warm-up on a
small panel (pyfixest compiles its numba kernels on first use); the script
prints the median CPU and wall time, their ratio TwoWayFE / pyfixest, and the
peak memory of one more run of each, traced with :mod:`tracemalloc` (numpy
reports its buffers to it). Building the :class:`~parkimpact.FirmPanel` is not
timed.

Run: ``python benchmarks/bench_twfe.py [--firms 100000] [--years 15] [--unbalanced]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from parkimpact import FirmPanel
from parkimpact.did import TwoWayFE

SEED = 20240611


def simulate(n_firms: int, n_years: int, *, unbalanced: bool, seed: int = SEED) -> pd.DataFrame:
    """A staggered-adoption panel: five cohorts and never-treated firms, two covariates."""
    rng = np.random.default_rng(seed)
    years = np.arange(2005, 2005 + n_years)
    cohorts = np.array([2008, 2010, 2012, 2014, 2016, np.nan])
    entry = rng.choice(cohorts, size=n_firms, p=[0.12, 0.12, 0.12, 0.12, 0.12, 0.40])
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(years, n_firms)
    entry_rows = np.repeat(entry, n_years)
    alpha = np.repeat(rng.normal(size=n_firms), n_years)
    lam = np.tile(rng.normal(scale=0.3, size=n_years), n_firms)
    x1 = rng.normal(size=firm.size) + 0.5 * alpha
    x2 = rng.normal(size=firm.size)
    treated = (year >= entry_rows).astype(np.float64)
    y = alpha + lam + 0.2 * treated + 0.5 * x1 - 0.3 * x2 + rng.normal(size=firm.size)
    frame = pd.DataFrame(
        {
            "firm_id": firm,
            "year": year,
            "entry_year": entry_rows,
            "in_park": treated,
            "x1": x1,
            "x2": x2,
            "y": y,
        }
    )
    if unbalanced:
        frame = frame[rng.random(len(frame)) > 0.1].reset_index(drop=True)
    return frame


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median CPU and wall seconds of ``repeats`` calls."""
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu), statistics.median(wall)


def peak_memory(fn: Callable[[], Any]) -> float:
    """Peak traced memory (MiB) of one call."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--unbalanced", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    frame = simulate(args.firms, args.years, unbalanced=args.unbalanced)
    panel = FirmPanel(frame, unit="firm_id", time="year", entry="entry_year")
    estimator = TwoWayFE("y", covariates=["x1", "x2"], vcov="cluster")
    print(f"panel: {len(frame):,} rows, {args.firms:,} firms x {args.years} years")

    small = simulate(500, 6, unbalanced=True)
    estimator.fit(FirmPanel(small, unit="firm_id", time="year", entry="entry_year"))
    result = estimator.fit(panel)
    cpu, wall = timed(lambda: estimator.fit(panel), args.repeats)
    memory = peak_memory(lambda: estimator.fit(panel))
    print(f"TwoWayFE      : cpu {cpu:7.3f} s  wall {wall:7.3f} s  peak {memory:8.1f} MiB")
    print(result.tidy().to_string(index=False))

    try:
        import pyfixest
    except ImportError:
        print("pyfixest is not installed: no comparison")
        return
    formula = "y ~ in_park + x1 + x2 | firm_id + year"
    vcov = {"CRV1": "firm_id"}
    pyfixest.feols(formula, data=small, vcov=vcov)

    def run_pyfixest() -> Any:
        return pyfixest.feols(formula, data=frame, vcov=vcov)

    reference = run_pyfixest()
    py_cpu, py_wall = timed(run_pyfixest, args.repeats)
    py_memory = peak_memory(run_pyfixest)
    print(
        f"pyfixest {pyfixest.__version__:<5}: cpu {py_cpu:7.3f} s  wall {py_wall:7.3f} s  "
        f"peak {py_memory:8.1f} MiB"
    )
    gap = np.max(np.abs(result.params.to_numpy() / reference.coef().to_numpy() - 1))
    print(f"largest relative difference of the coefficients: {gap:.2e}")
    print(f"ratio TwoWayFE / pyfixest: cpu {cpu / py_cpu:.2f}  wall {wall / py_wall:.2f}")


if __name__ == "__main__":
    main()
