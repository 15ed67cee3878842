"""Benchmark of parkimpact's Callaway-Sant'Anna estimator against diff-diff and csdid.

The panel: ``--firms`` firms (default 100,000) x ``--years`` years (default
15) = 1.5M firm-years, five entry cohorts plus never-treated firms, two
time-invariant covariates (one continuous, one binary) on which entry and the
outcome trend depend. Each task (tool x setting) runs in its own subprocess,
``--repeats`` times, after one untimed warm-up; the subprocess reports the
median wall and CPU time (``time.process_time``: all threads of the process)
and its peak resident memory above the memory held once the data are built.

Settings: doubly robust ATT(g,t) with the simple and dynamic aggregations,
analytic standard errors (``analytic``) or 999 multiplier-bootstrap draws
(``bootstrap``). Tools that are not installed or exceed ``--timeout`` seconds
are reported as such.

Usage::

    python benchmarks/bench_cs.py                  # full size
    python benchmarks/bench_cs.py --firms 20000    # quicker
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

COHORTS = (4, 6, 8, 10, 12)  # entry year offsets within the sample
TOOLS = ("parkimpact", "diff-diff", "csdid")
SETTINGS = ("analytic", "bootstrap")


def make_panel(n_firms: int, n_years: int, seed: int = 0) -> pd.DataFrame:
    """Balanced panel with five cohorts, never-treated firms and two covariates."""
    rng = np.random.default_rng(seed)
    years = np.arange(2000, 2000 + n_years)
    x1 = rng.normal(size=n_firms)
    x2 = (rng.uniform(size=n_firms) < 0.4).astype(float)
    score = 0.5 * x1 + 0.5 * x2
    never = rng.uniform(size=n_firms) < 1.0 / (1.0 + np.exp(score))
    cohort = 2000 + np.asarray(COHORTS)[rng.integers(0, len(COHORTS), size=n_firms)]
    entry = np.where(never, 0, cohort)
    year = np.tile(years, n_firms)
    firm_entry = np.repeat(entry, n_years)
    treated = (firm_entry > 0) & (year >= firm_entry)
    trend = (year - 2000) * (0.02 + 0.03 * np.repeat(x1, n_years) + 0.02 * np.repeat(x2, n_years))
    y = (
        np.repeat(rng.normal(size=n_firms), n_years)
        + trend
        + treated * (0.1 + 0.02 * (year - firm_entry))
        + rng.normal(scale=0.5, size=n_firms * n_years)
    )
    return pd.DataFrame(
        {
            "firm": np.repeat(np.arange(n_firms), n_years),
            "year": year,
            "first_treat": firm_entry,
            "x1": np.repeat(x1, n_years),
            "x2": np.repeat(x2, n_years),
            "y": y,
        }
    )


# ----------------------------------------------------------------------- runners
def _parkimpact(data: pd.DataFrame, setting: str) -> Callable[[], Any]:
    from parkimpact.data.panel import FirmPanel
    from parkimpact.did.callaway import CallawaySantAnna

    panel = FirmPanel(data, unit="firm", time="year", entry="first_treat", never_treated_value=0)
    estimator = CallawaySantAnna(
        "y",
        covariates=["x1", "x2"],
        inference="bootstrap" if setting == "bootstrap" else "analytic",
        n_bootstrap=999,
        seed=1,
    )

    def run() -> Any:
        result = estimator.fit(panel)
        return result.aggregate("simple").estimate, result.aggregate("dynamic").estimate

    return run


def _diff_diff(data: pd.DataFrame, setting: str) -> Callable[[], Any]:
    from diff_diff import CallawaySantAnna

    estimator = CallawaySantAnna(
        estimation_method="dr", n_bootstrap=999 if setting == "bootstrap" else 0, seed=1
    )

    def run() -> Any:
        result = estimator.fit(
            data,
            outcome="y",
            unit="firm",
            time="year",
            first_treat="first_treat",
            covariates=["x1", "x2"],
            aggregate="event_study",
        )
        return result.overall_att

    return run


def _csdid(data: pd.DataFrame, setting: str) -> Callable[[], Any]:
    from csdid.att_gt import ATTgt

    def run() -> Any:
        model = ATTgt(
            yname="y",
            gname="first_treat",
            idname="firm",
            tname="year",
            xformla="y~x1+x2",
            data=data,
            biters=999,
        )
        fitted = model.fit(est_method="dr", bstrap=setting == "bootstrap")
        fitted.aggte(typec="simple")
        fitted.aggte(typec="dynamic")
        return None

    return run


RUNNERS = {"parkimpact": _parkimpact, "diff-diff": _diff_diff, "csdid": _csdid}


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def worker(tool: str, setting: str, firms: int, years: int, repeats: int) -> dict[str, Any]:
    """Run one task in this process and return its timings and memory."""
    warnings.simplefilter("ignore")
    data = make_panel(firms, years)
    run = RUNNERS[tool](data, setting)
    base = _rss_mb()
    run()  # warm-up (imports, caches)
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "tool": tool,
        "setting": setting,
        "wall_median_s": statistics.median(walls),
        "cpu_median_s": statistics.median(cpus),
        "peak_rss_mb": peak,
        "peak_above_data_mb": peak - base,
        "status": "ok",
    }


def _run_task(args: argparse.Namespace, tool: str, setting: str) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        tool,
        setting,
        "--firms",
        str(args.firms),
        "--years",
        str(args.years),
        "--repeats",
        str(args.repeats),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"tool": tool, "setting": setting, "status": f"did not finish in {args.timeout}s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"tool": tool, "setting": setting, "status": f"failed: {last[:120]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(rows: list[dict[str, Any]]) -> str:
    frame = pd.DataFrame(rows)
    lines = [frame.to_string(index=False, float_format=lambda v: f"{v:.2f}")]
    ok = frame.loc[frame["status"] == "ok"].set_index(["setting", "tool"])
    for setting in SETTINGS:
        if (setting, "parkimpact") not in ok.index:
            continue
        ours = ok.loc[(setting, "parkimpact")]
        for tool in TOOLS[1:]:
            if (setting, tool) in ok.index:
                other = ok.loc[(setting, tool)]
                cpu = ours["cpu_median_s"] / other["cpu_median_s"]
                wall = ours["wall_median_s"] / other["wall_median_s"]
                memory = ours["peak_above_data_mb"] / max(other["peak_above_data_mb"], 1e-9)
                lines.append(
                    f"{setting}: parkimpact / {tool}: CPU {cpu:.3f}x, wall {wall:.3f}x, "
                    f"peak memory above data {memory:.2f}x"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    parser.add_argument("--worker", nargs=2, metavar=("TOOL", "SETTING"))
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.firms, args.years, args.repeats)))
        return
    print(f"panel: {args.firms} firms x {args.years} years = {args.firms * args.years} rows")
    rows = []
    for setting in args.settings:
        for tool in args.tools:
            rows.append(_run_task(args, tool, setting))
            print(rows[-1], flush=True)
    print(_report(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
