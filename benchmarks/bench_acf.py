"""Benchmark: ACF point estimate plus a 50-replication firm bootstrap at 100k and 1M firm-years.

The panels come from the ACF (2015) DGP1 design (``simulate_acf``, materials
proxy, 10 years per firm; 10,000 and 100,000 firms). For each size the script
times

* the point estimate alone (multi-start search: grid plus polishes), and
* the point estimate with ``n_boot`` firm-cluster bootstrap replications (each
  replication re-runs both stages on resampled firms and polishes from the
  point estimate),

and reports wall time, CPU time of the main process *and* of the joblib
worker processes (the workers are shut down after each run so that the
operating system accounts their CPU time to ``RUSAGE_CHILDREN``), and peak
resident memory of the main process and of the largest worker. Simulating the
panel and building the :class:`~parkimpact.FirmPanel` are not timed.

Goals (issue 4): the 1M-row run under 2 minutes wall on 2 cores; the 100k-row
run at most 17 CPU seconds (0.1 x R prodest's 172 CPU seconds).

Run: ``python benchmarks/bench_acf.py [--sizes 100000 1000000] [--boot 50] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings
from collections.abc import Callable
from typing import Any

from joblib.externals.loky import get_reusable_executor

from parkimpact import FirmPanel
from parkimpact.datasets import simulate_acf
from parkimpact.tfp import ACF

SEED = 20240611


def _children() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measured(fn: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """Run ``fn``; return its value and wall, main CPU, worker CPU and peak memory (MiB)."""
    get_reusable_executor().shutdown(wait=True)
    child_cpu0, _ = _children()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    value = fn()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    get_reusable_executor().shutdown(wait=True)  # workers exit: their CPU becomes visible
    child_cpu1, child_rss = _children()
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return value, {
        "wall": wall,
        "cpu_main": cpu,
        "cpu_workers": child_cpu1 - child_cpu0,
        "peak_main_mib": self_rss,
        "peak_worker_mib": child_rss,
    }


def report(label: str, stats: dict[str, float]) -> None:
    total = stats["cpu_main"] + stats["cpu_workers"]
    print(
        f"  {label:<22} wall {stats['wall']:7.2f} s  cpu {total:7.2f} s "
        f"(main {stats['cpu_main']:.2f} + workers {stats['cpu_workers']:.2f})  "
        f"peak RSS main {stats['peak_main_mib']:.0f} MiB, worker {stats['peak_worker_mib']:.0f} MiB"
    )


def run(n_rows: int, n_boot: int, n_jobs: int) -> None:
    n_firms = n_rows // 10
    sim = simulate_acf(1, n_firms=n_firms, n_years=10, seed=SEED)
    panel = FirmPanel(sim.data, unit="firm_id", time="year")
    print(f"ACF DGP1, materials proxy: {len(sim.data):,} firm-years ({n_firms:,} firms x 10)")
    base = {"output": "y", "free": "l", "state": "k", "proxy": "m"}
    point, stats = measured(lambda: ACF(**base).fit(panel))
    report("point estimate", stats)
    estimator = ACF(**base, n_boot=n_boot, seed=SEED, n_jobs=n_jobs)
    result, stats = measured(lambda: estimator.fit(panel))
    report(f"+ {n_boot} bootstrap ({n_jobs} job{'s' if n_jobs > 1 else ''})", stats)
    print(result.tidy()[["term", "estimate", "std_error"]].to_string(index=False))
    print(
        f"  local minima found: {len(point.optimizer.solutions)}; "
        f"bootstrap failures: {result.bootstrap.n_failed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--boot", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    for n_rows in args.sizes:
        run(n_rows, args.boot, args.jobs)


if __name__ == "__main__":
    main()
