"""The benchmark harness: case registry, per-run subprocess measurement and summaries.

Every measurement runs in a fresh Python process (``benchmarks/worker.py``), so
that its peak resident memory belongs to that run alone. The process

1. simulates the case's data from a fixed seed (not timed);
2. optionally warms both sides up on a small data set (not timed; pyfixest and
   diff-diff compile or cache on first use);
3. prepares the side (imports, estimator objects; not timed);
4. times ``inner`` calls of the side's work: wall time with
   :func:`time.perf_counter`, CPU time as user + system time of the process
   (all its threads) plus that of its finished child processes (joblib/loky
   workers are shut down before the clock stops, so that the operating system
   has accounted their CPU time to the process);
5. reports the medians, its peak RSS (``ru_maxrss``, which includes the data),
   the RSS once the data were built and, for cases that start worker processes,
   the largest worker's RSS and that of the whole process tree (polled every
   0.2 s), and the side's point estimates, computed after the clock stopped.

A case compares the parkimpact side with each peer on the same data; sides are
alternated across repeats (round ``r`` starts with side ``r mod n``) so that a
change in machine load falls on all of them alike.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER = HERE / "worker.py"

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Side:
    """One implementation of a case's work.

    ``setup(data, params)`` imports what it needs and returns the callable that
    is timed; ``estimates(value)`` turns that callable's return value into named
    point estimates (computed after the clock stopped).
    """

    name: str
    package: str
    setup: Callable[[Any, Params], Callable[[], Any]]
    estimates: Callable[[Any], dict[str, float]]


@dataclass(frozen=True)
class Goal:
    """A performance goal: a ratio to one peer (on CPU time) or a wall-time limit."""

    text: str
    limit: float
    peer: str | None = None
    metric: Literal["cpu", "wall"] = "cpu"
    strict: bool = False

    def met(self, value: float) -> bool:
        return value < self.limit if self.strict else value <= self.limit


@dataclass(frozen=True)
class Case:
    """A benchmark case: seeded data, the parkimpact side first, then its peers."""

    name: str
    title: str
    simulate: Callable[[Params], Any]
    sides: tuple[Side, ...]
    sizes: Mapping[str, Params]
    describe: Callable[[Params, int], str]
    rows: Callable[[Any], int]
    goal: Goal | None = None
    warmup: Params | None = None
    max_repeats: int | None = None
    inner: int = 1
    profile: Params = field(default_factory=dict)
    parallel: bool = False
    note: str = ""

    def side(self, name: str) -> Side:
        for side in self.sides:
            if side.name == name:
                return side
        raise KeyError(f"case {self.name!r} has no side {name!r}; sides: {self.side_names}")

    @property
    def side_names(self) -> list[str]:
        return [side.name for side in self.sides]


REGISTRY: dict[str, Case] = {}


def register(case: Case) -> Case:
    """Add a case to the registry (names are unique)."""
    if case.name in REGISTRY:
        raise ValueError(f"case name must be unique; got {case.name!r} twice.")
    REGISTRY[case.name] = case
    return case


# ------------------------------------------------------------------ the worker side
def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _stop_workers() -> None:
    """Shut joblib's reusable loky workers down so that their CPU time is accounted."""
    try:
        from joblib.externals.loky import get_reusable_executor
    except ImportError:  # pragma: no cover - joblib is a dependency of scikit-learn
        return
    get_reusable_executor().shutdown(wait=True)


class TreeSampler:
    """Polls the RSS of this process's children (joblib workers) in a background thread.

    ``ru_maxrss`` of the children cannot be used: a worker started by fork and
    exec inherits the high-water mark of its parent at the fork.
    """

    def __init__(self, interval: float = 0.2) -> None:
        import threading

        self.interval = interval
        self.peak_child = 0
        self.peak_tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                sizes = [c.memory_info().rss for c in me.children(recursive=True)]
            except psutil.Error:
                sizes = []
            self.peak_child = max(self.peak_child, max(sizes, default=0))
            self.peak_tree = max(self.peak_tree, me.memory_info().rss + sum(sizes))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _frame_bytes(data: Any) -> float:
    frame = getattr(data, "data", data)  # a FirmPanel holds its frame in .data
    usage = getattr(frame, "memory_usage", None)
    if usage is None:
        return float("nan")
    return float(usage(deep=True).sum())


def _profile(run: Callable[[], Any], top: int = 20) -> dict[str, Any]:
    """cProfile of one call: total seconds and the top functions by own and cumulative time."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    run()
    profiler.disable()
    total = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, function), (_, calls, own, cumulative, _) in stats.items():
        path = Path(filename)
        where = f"{path.parent.name}/{path.name}:{line}" if line else filename
        rows.append(
            {"function": f"{function} ({where})", "calls": calls, "own_s": own, "cum_s": cumulative}
        )
    return {
        "total_s": total,
        "by_own": sorted(rows, key=lambda r: -r["own_s"])[:top],
        "by_cumulative": sorted(rows, key=lambda r: -r["cum_s"])[:top],
    }


def _memory_profile(run: Callable[[], Any], rows: int, top: int = 10) -> dict[str, Any]:
    """Allocation sites of the largest traced heap seen while ``run`` works.

    :mod:`tracemalloc` traces Python objects and numpy buffers; a background
    thread reads the traced total every 0.02 s and snapshots the heap whenever it
    exceeds the largest total seen by 2%, so short-lived temporaries between two
    readings can be missed.
    """
    import threading
    import tracemalloc

    best: dict[str, Any] = {"total": 0, "snapshot": None}
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.02):
            current = tracemalloc.get_traced_memory()[0]
            if current > 1.02 * best["total"]:
                best["snapshot"] = tracemalloc.take_snapshot()
                best["total"] = current

    tracemalloc.start(1)
    base = tracemalloc.get_traced_memory()[0]
    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    run()
    stop.set()
    thread.join()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    sites = []
    if best["snapshot"] is not None:
        for stat in best["snapshot"].statistics("lineno")[:top]:
            frame = stat.traceback[0]
            where = f"{Path(frame.filename).parent.name}/{Path(frame.filename).name}:{frame.lineno}"
            sites.append(
                {"site": where, "mb": stat.size / 2**20, "bytes_per_row": stat.size / rows}
            )
    return {
        "traced_peak_above_start_mb": (peak - base) / 2**20,
        "snapshot_mb": best["total"] / 2**20,
        "sites": sites,
    }


def work(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Measure one side of one case in this process (called by ``worker.py``)."""
    import contextlib
    import gc
    import importlib
    import warnings

    warnings.simplefilter("ignore")
    for module in spec.get("preload", ()):
        importlib.import_module(module)
    rss_start = psutil.Process().memory_info().rss
    case = REGISTRY[spec["case"]]
    side = case.side(spec["side"])
    params = spec["params"]
    data = case.simulate(params)
    rows = case.rows(data)
    if spec.get("warmup") and case.warmup is not None:
        small = case.simulate(case.warmup)
        with contextlib.redirect_stdout(sys.stderr):
            side.setup(small, case.warmup)()
        del small
    run = side.setup(data, params)
    gc.collect()
    rss_data = psutil.Process().memory_info().rss
    if spec.get("profile"):
        with contextlib.redirect_stdout(sys.stderr):
            text = _profile(run)
        return {"profile": text, "rows": rows}
    if spec.get("memory_profile"):
        with contextlib.redirect_stdout(sys.stderr):
            return {"memory": _memory_profile(run, rows), "rows": rows}
    cpus, walls, value = [], [], None
    sampler = TreeSampler() if case.parallel else contextlib.nullcontext()
    with sampler:
        for _ in range(int(spec.get("inner", 1))):
            value = None
            gc.collect()
            _stop_workers()
            cpu0, wall0 = _cpu_seconds(), time.perf_counter()
            with contextlib.redirect_stdout(sys.stderr):
                value = run()
            wall = time.perf_counter() - wall0
            _stop_workers()
            cpus.append(_cpu_seconds() - cpu0)
            walls.append(wall)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tree = sampler.peak_tree / 2**20 if isinstance(sampler, TreeSampler) else peak
    return {
        "cpu_s": statistics.median(cpus),
        "wall_s": statistics.median(walls),
        "cpu_calls_s": cpus,
        "wall_calls_s": walls,
        "peak_rss_mb": peak,
        "rss_data_mb": rss_data / 2**20,
        "rss_start_mb": rss_start / 2**20,
        "peak_child_rss_mb": sampler.peak_child / 2**20 if isinstance(sampler, TreeSampler) else 0,
        "peak_tree_rss_mb": max(tree, peak),
        "data_mb": _frame_bytes(data) / 2**20,
        "rows": rows,
        "estimates": side.estimates(value),
    }


# ------------------------------------------------------------------ the parent side
def measure(
    case: str,
    side: str,
    params: Params,
    *,
    inner: int = 1,
    warmup: bool = False,
    profile: bool = False,
    memory_profile: bool = False,
    preload: Sequence[str] = (),
    timeout: float = 7200.0,
) -> dict[str, Any]:
    """Run one measurement in a fresh subprocess; returns its record (``status`` says how).

    ``profile`` returns a cProfile listing instead of timings, ``memory_profile``
    the allocation sites of the largest traced heap; ``preload`` names modules
    imported before the starting RSS is read.
    """
    spec = {
        "case": case,
        "side": side,
        "params": dict(params),
        "inner": inner,
        "warmup": warmup,
        "profile": profile,
        "memory_profile": memory_profile,
        "preload": list(preload),
    }
    with tempfile.TemporaryDirectory(prefix="parkimpact-bench-") as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, str(WORKER), json.dumps(spec), str(out)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
            )
        except subprocess.TimeoutExpired:
            return {"status": f"did not finish in {timeout:.0f} s"}
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        process_wall = time.perf_counter() - start
        if done.returncode != 0 or not out.is_file():
            lines = done.stderr.strip().splitlines() or ["no output"]
            return {"status": f"failed: {lines[-1][:300]}"}
        record = json.loads(out.read_text(encoding="utf-8"))
    record["status"] = "ok"
    record["process_wall_s"] = process_wall
    record["process_cpu_s"] = (after.ru_utime + after.ru_stime) - (
        before.ru_utime + before.ru_stime
    )
    return record


class LoadMeter:
    """CPU used on the machine by other work while a case runs, in cores on average.

    The machine's busy CPU time (all processes) minus the CPU time of this
    process and its children over the same interval, divided by the wall time.
    """

    def __init__(self) -> None:
        self._busy0 = self._busy()
        self._own0 = self._own()
        self._wall0 = time.perf_counter()
        self._load0 = os.getloadavg()[0]

    @staticmethod
    def _busy() -> float:
        times = psutil.cpu_times()
        return sum(times) - times.idle - getattr(times, "iowait", 0.0)

    @staticmethod
    def _own() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def read(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall0
        other = (self._busy() - self._busy0) - (self._own() - self._own0)
        return {
            "other_cores": max(other, 0.0) / max(wall, 1e-9),
            "loadavg_start": self._load0,
            "loadavg_end": os.getloadavg()[0],
            "elapsed_s": wall,
        }


def rotations(names: Sequence[str], repeats: int) -> list[list[str]]:
    """The side order of each repeat: round ``r`` starts with side ``r mod n``."""
    n = len(names)
    return [[names[(r + j) % n] for j in range(n)] for r in range(repeats)]


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the successful runs of one side."""
    ok = [r for r in runs if r.get("status") == "ok"]
    if not ok:
        return {"status": runs[-1].get("status", "not run") if runs else "not run", "n": 0}

    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in ok))

    first = ok[0]["estimates"]
    spread = max(
        (abs(r["estimates"].get(k, v) - v) for r in ok[1:] for k, v in first.items()),
        default=0.0,
    )
    return {
        "status": "ok",
        "n": len(ok),
        "cpu_s": median("cpu_s"),
        "wall_s": median("wall_s"),
        "cpu_min_s": min(r["cpu_s"] for r in ok),
        "cpu_max_s": max(r["cpu_s"] for r in ok),
        "wall_min_s": min(r["wall_s"] for r in ok),
        "wall_max_s": max(r["wall_s"] for r in ok),
        "peak_rss_mb": median("peak_rss_mb"),
        "rss_data_mb": median("rss_data_mb"),
        "peak_child_rss_mb": median("peak_child_rss_mb"),
        "peak_tree_rss_mb": median("peak_tree_rss_mb"),
        "data_mb": median("data_mb"),
        "rows": ok[0]["rows"],
        "estimates": first,
        "estimate_spread_across_repeats": spread,
    }


def max_abs_difference(a: Mapping[str, float], b: Mapping[str, float]) -> float | None:
    """Largest absolute difference over the estimates both sides report (None: none shared)."""
    common = sorted(set(a) & set(b))
    if not common:
        return None
    return max(abs(float(a[k]) - float(b[k])) for k in common)
