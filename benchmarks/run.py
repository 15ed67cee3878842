"""Run the parkimpact benchmarks against their peers and write RESULTS.md.

Usage::

    python benchmarks/run.py                      # every case and the scaling curves
    python benchmarks/run.py --quick              # small sizes (RESULTS-quick.md)
    python benchmarks/run.py --only flagship      # re-run some cases, keep the others
    python benchmarks/run.py --render             # re-render the Markdown from the JSON

Every measurement runs in a fresh subprocess (see :mod:`harness`). Results are
kept in a JSON file beside the Markdown (``results.json`` for ``RESULTS.md``);
``--only`` replaces the entries of the cases it runs and keeps the rest, and
the Markdown is always rendered from the whole JSON file.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cases
import scaling
from harness import ROOT, Case, LoadMeter, max_abs_difference, measure, rotations, summarize
from machine import describe

import report

HERE = Path(__file__).resolve().parent
SCALING = "scaling"


def _paths(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    default = HERE / ("RESULTS-quick.md" if args.quick else "RESULTS.md")
    out = Path(args.out).resolve() if args.out else default
    stem = out.stem.lower()
    return (
        out,
        out.with_name(stem + ".json"),
        out.with_name(stem.replace("results", "scaling") + ".png"),
    )


def _log(message: str) -> None:
    stamp = datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


def _compare(case: Case, sides: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """parkimpact / peer ratios, estimate differences and the goal of each peer row."""
    ours = sides["parkimpact"]
    goal = case.goal
    rows = []
    peers = case.side_names[1:] or [None]
    for peer in peers:
        other = sides.get(peer) if peer else None
        row: dict[str, Any] = {"peer": peer}
        if ours["status"] == "ok" and other is not None and other["status"] == "ok":
            row["cpu_ratio"] = ours["cpu_s"] / other["cpu_s"]
            row["wall_ratio"] = ours["wall_s"] / other["wall_s"]
            row["max_abs_diff"] = max_abs_difference(ours["estimates"], other["estimates"])
        if goal is not None and goal.peer == peer:
            value = None
            if goal.peer is None and ours["status"] == "ok":
                value = ours["wall_s"] if goal.metric == "wall" else ours["cpu_s"]
            elif goal.peer is not None:
                value = row.get("cpu_ratio" if goal.metric == "cpu" else "wall_ratio")
            row["goal"] = goal.text
            row["goal_limit"] = goal.limit
            row["goal_value"] = value
            row["met"] = None if value is None else goal.met(value)
        rows.append(row)
    return rows


def run_case(case: Case, mode: str, repeats: int, timeout: float) -> dict[str, Any]:
    """All repeats of all sides of one case, alternating the sides."""
    params = dict(case.sizes[mode])
    n = min(repeats, case.max_repeats or repeats)
    meter = LoadMeter()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in case.side_names}
    for r, order in enumerate(rotations(case.side_names, n)):
        for side in order:
            record = measure(
                case.name,
                side,
                params,
                inner=case.inner,
                warmup=case.warmup is not None,
                timeout=timeout,
            )
            runs[side].append(record)
            shown = {k: record.get(k) for k in ("status", "cpu_s", "wall_s", "peak_rss_mb")}
            _log(f"{case.name} [{r + 1}/{n}] {side}: {shown}")
    sides = {name: summarize(records) for name, records in runs.items()}
    rows = next((s["rows"] for s in sides.values() if s.get("rows")), 0)
    return {
        "title": case.title,
        "size": case.describe(params, rows),
        "params": params,
        "mode": mode,
        "repeats": n,
        "inner": case.inner,
        "note": case.note,
        "sides": sides,
        "runs": runs,
        "comparisons": _compare(case, sides),
        "load": meter.read(),
    }


def profile_case(case: Case, mode: str, timeout: float) -> dict[str, Any]:
    """cProfile of the parkimpact side (with the case's profiling settings)."""
    params = {**case.sizes[mode], **case.profile}
    record = measure(
        case.name,
        "parkimpact",
        params,
        profile=True,
        warmup=case.warmup is not None,
        timeout=timeout,
    )
    if record["status"] != "ok":
        return {"status": record["status"], "params": params}
    return {"status": "ok", "params": params, **record["profile"]}


def _unmet(entry: dict[str, Any]) -> bool:
    return any(row.get("met") is False for row in entry["comparisons"])


def _load(path: Path) -> dict[str, Any]:
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"runs": {}, "cases": {}, "scaling": None}


def _save(results: dict[str, Any], json_path: Path, out: Path, plot: Path) -> None:
    order = [n for n in cases.REGISTRY if n in results["cases"]]
    order += [n for n in results["cases"] if n not in cases.REGISTRY]
    results["cases"] = {n: results["cases"][n] for n in order}
    used = {e["run"] for e in results["cases"].values()}
    if results.get("scaling"):
        used.add(results["scaling"]["run"])
    results["runs"] = {k: v for k, v in results["runs"].items() if k in used}
    json_path.write_text(json.dumps(results, indent=1, default=float), encoding="utf-8")
    out.write_text(
        report.render(results, plot_name=plot.name, json_name=json_path.name), encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> None:
    names = [*cases.REGISTRY, SCALING]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for checking")
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME", help=str(names))
    parser.add_argument("--repeats", type=int, help="processes per side (default 3, quick 2)")
    parser.add_argument("--out", help="Markdown file (default benchmarks/RESULTS.md)")
    parser.add_argument(
        "--profile",
        choices=("auto", "all", "none"),
        default="auto",
        help="cProfile the parkimpact side of cases whose goal is not met (auto), all, none",
    )
    parser.add_argument("--timeout", type=float, default=7200.0, help="seconds per process")
    parser.add_argument("--render", action="store_true", help="only re-render the Markdown")
    args = parser.parse_args(argv)
    out, json_path, plot = _paths(args)
    results = _load(json_path)
    if args.render:
        _save(results, json_path, out, plot)
        return
    mode = "quick" if args.quick else "full"
    repeats = args.repeats or (2 if args.quick else 3)
    selected = args.only or names
    run_id = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    command = "python " + shlex.join(["benchmarks/run.py", *(argv or sys.argv[1:])])
    start = time.perf_counter()
    meter = LoadMeter()
    results["runs"][run_id] = {
        "command": command,
        "mode": mode,
        "machine": describe(ROOT),
        "selected": selected,
    }
    _log(f"{command}: {selected}")
    for name in selected:
        if name == SCALING:
            continue
        case = cases.REGISTRY[name]
        entry = run_case(case, mode, repeats, args.timeout)
        entry["run"] = run_id
        if args.profile == "all" or (args.profile == "auto" and _unmet(entry)):
            _log(f"{name}: profiling")
            entry["profile"] = profile_case(case, mode, args.timeout)
        results["cases"][name] = entry
        results["runs"][run_id]["elapsed_s"] = time.perf_counter() - start
        _save(results, json_path, out, plot)
    if SCALING in selected:
        sizes = scaling.QUICK_ROWS if args.quick else scaling.FULL_ROWS
        scale_meter = LoadMeter()
        curves = scaling.run_scaling(sizes, repeats=repeats, memory_profile=True, log=_log)
        results["scaling"] = {"run": run_id, "curves": curves, "load": scale_meter.read()}
        scaling.plot(curves, plot)
    results["runs"][run_id]["elapsed_s"] = time.perf_counter() - start
    results["runs"][run_id]["load"] = meter.read()
    _save(results, json_path, out, plot)
    _log(f"done in {time.perf_counter() - start:.0f} s: {out}")


if __name__ == "__main__":
    main()
