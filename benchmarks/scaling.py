"""Scaling curves: CPU time and peak memory of parkimpact against the number of rows.

For CS-DR (analytic SEs), TWFE and the ACF point estimate, each size runs in a
fresh process (parkimpact and the estimator's modules are imported before the
starting RSS is read). Memory is reported as the peak RSS above that start,
which holds the simulated data and everything the estimator allocates. A size
is skipped when the peak extrapolated linearly from the previous size would
exceed 75% of the memory available at that moment, or when its CPU time
extrapolated from the previous two sizes would exceed ``BUDGET_S``.

The observed complexity exponent is the slope of log(CPU) on log(rows), fitted
on the sizes of at least 150,000 rows (below that, fixed costs dominate; on all
sizes when fewer than two reach it), and the same for the peak memory above the
start.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from harness import measure

FULL_ROWS = (15_000, 150_000, 1_500_000, 15_000_000)
QUICK_ROWS = (15_000, 150_000)
SLOPE_FROM = 150_000
BUDGET_S = 900.0
"""CPU seconds a size may be predicted to take before it is skipped."""
MEMORY_PROFILE_ROWS = 1_500_000
"""Size of the allocation-site profile (the largest measured size up to this one)."""
PRELOAD = ("parkimpact", "parkimpact.did", "parkimpact.tfp", "parkimpact.datasets")


def _params(estimator: str, rows: int) -> dict[str, Any]:
    if estimator == "acf":
        return {"rows": rows, "boot": 0, "jobs": 1}
    return {"firms": rows // 15, "years": 15}


ESTIMATORS: Mapping[str, str] = {
    "cs_analytic": "CS-DR, analytic SEs",
    "twfe": "TWFE (firm and year FE)",
    "acf": "ACF point estimate",
}


def _point(record: Mapping[str, Any]) -> dict[str, Any]:
    rows = int(record["rows"])
    above = record["peak_rss_mb"] - record["rss_start_mb"]
    data = record["rss_data_mb"] - record["rss_start_mb"]
    return {
        "rows": rows,
        "cpu_s": record["cpu_s"],
        "wall_s": record["wall_s"],
        "peak_rss_mb": record["peak_rss_mb"],
        "peak_above_start_mb": above,
        "data_rss_mb": data,
        "frame_bytes_per_row": record["data_mb"] * 2**20 / rows,
        "peak_bytes_per_row": above * 2**20 / rows,
    }


def slope(points: Sequence[Mapping[str, Any]], key: str) -> float | None:
    """Least-squares slope of log(key) on log(rows) over the points from SLOPE_FROM rows
    (over all points when fewer than two reach it)."""
    used = [p for p in points if p["rows"] >= SLOPE_FROM and p.get(key, 0) > 0]
    if len(used) < 2:
        used = [p for p in points if p.get(key, 0) > 0]
    if len(used) < 2:
        return None
    x = np.log([p["rows"] for p in used])
    y = np.log([p[key] for p in used])
    return float(np.polyfit(x, y, 1)[0])


def _fits(points: Sequence[Mapping[str, Any]], rows: int, budget: float) -> tuple[bool, str]:
    """Whether the next size fits in the memory available and in the CPU-time budget.

    Memory is extrapolated linearly from the last size, CPU time with the exponent
    of the last two sizes (at least 1).
    """
    if not points:
        return True, ""
    last = points[-1]
    factor = rows / last["rows"]
    predicted = last["peak_above_start_mb"] * factor
    available = psutil.virtual_memory().available / 2**20
    if predicted > 0.75 * available:
        return False, (
            f"skipped: predicted peak {predicted / 1024:.1f} GiB > 75% of the "
            f"{available / 1024:.1f} GiB available"
        )
    exponent = 1.0
    if len(points) >= 2:
        exponent = max(1.0, slope(points[-2:], "cpu_s") or 1.0)
    seconds = last["cpu_s"] * factor**exponent
    if seconds > budget:
        return False, (
            f"skipped: predicted {seconds / 60:.0f} CPU minutes (exponent {exponent:.2f}) > "
            f"the budget of {budget / 60:.0f} per size"
        )
    return True, ""


def run_scaling(
    sizes: Sequence[int],
    *,
    repeats: int,
    memory_profile: bool,
    log: Any,
    budget: float = BUDGET_S,
) -> dict[str, Any]:
    """Measure every estimator at every size; returns points, slopes and memory profiles."""
    curves: dict[str, Any] = {}
    for name, label in ESTIMATORS.items():
        points: list[dict[str, Any]] = []
        skipped: list[str] = []
        for rows in sizes:
            ok, why = _fits(points, rows, budget)
            if not ok:
                skipped.append(f"{rows:,} rows: {why}")
                log(f"scaling {name} {rows:,}: {why}")
                continue
            runs = []
            for _ in range(repeats if rows <= SLOPE_FROM else 1):
                record = measure(name, "parkimpact", _params(name, rows), preload=PRELOAD)
                if record["status"] != "ok":
                    skipped.append(f"{rows:,} rows: {record['status']}")
                    break
                runs.append(_point(record))
            if runs:
                points.append(_median_point(runs))
                log(f"scaling {name} {rows:,}: {points[-1]}")
        memory = None
        target = max((p["rows"] for p in points if p["rows"] <= MEMORY_PROFILE_ROWS), default=0)
        if memory_profile and target:
            record = measure(
                name, "parkimpact", _params(name, target), memory_profile=True, preload=PRELOAD
            )
            memory = record.get("memory", {"error": record["status"]}) | {"rows": target}
        curves[name] = {
            "label": label,
            "points": points,
            "skipped": skipped,
            "cpu_slope": slope(points, "cpu_s"),
            "memory_slope": slope(points, "peak_above_start_mb"),
            "memory_profile": memory,
        }
    return curves


def _median_point(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: float(np.median([r[k] for r in runs])) for k in runs[0]} | {
        "rows": runs[0]["rows"],
        "repeats": len(runs),
    }


def plot(curves: Mapping[str, Any], path: Path) -> None:
    """Log-log plot of CPU seconds and peak memory above the start against rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for curve in curves.values():
        points = curve["points"]
        if not points:
            continue
        rows = [p["rows"] for p in points]
        for ax, key, fitted in (
            (axes[0], "cpu_s", curve["cpu_slope"]),
            (axes[1], "peak_above_start_mb", curve["memory_slope"]),
        ):
            exponent = "" if fitted is None else f" (slope {fitted:.2f})"
            ax.plot(rows, [p[key] for p in points], marker="o", label=curve["label"] + exponent)
    lo = min((p["rows"] for c in curves.values() for p in c["points"]), default=1)
    hi = max((p["rows"] for c in curves.values() for p in c["points"]), default=10)
    for ax, title, unit in (
        (axes[0], "CPU time", "CPU seconds"),
        (axes[1], "Peak memory above the start", "MiB"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("rows (firm-years)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        if hi > lo:
            ref = np.array([lo, hi], dtype=float)
            base = ax.get_ylim()[0] * 2
            ax.plot(ref, base * ref / lo, color="grey", lw=0.8, ls="--", label="slope 1")
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def fmt_slope(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.2f}"
