"""Render the benchmark results (the JSON written by ``run.py``) as Markdown.

The causes of unmet goals are written by hand in ``benchmarks/findings.md``
(one ``## <case>`` section each, with a ``<!-- run: <run id> -->`` line naming
the run it was written for); the renderer adds them to the gap of their case
and flags a section written for an earlier run than the one shown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scaling import fmt_slope

HERE = Path(__file__).resolve().parent
FINDINGS = HERE / "findings.md"


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def _diff(value: Any) -> str:
    return "—" if value is None else f"{value:.1e}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _memory(side: Mapping[str, Any]) -> str:
    if side.get("status") != "ok":
        return "—"
    text = _num(side["peak_rss_mb"], 0)
    if side.get("peak_child_rss_mb"):
        text += f" (tree {_num(side['peak_tree_rss_mb'], 0)})"
    return text


def _times(side: Mapping[str, Any] | None) -> tuple[str, str]:
    if side is None:
        return "—", "—"
    if side.get("status") != "ok":
        return side.get("status", "not run"), "—"
    return _num(side["cpu_s"], 3), _num(side["wall_s"], 3)


def _met(row: Mapping[str, Any]) -> str:
    if "goal" not in row:
        return "(reference)" if row.get("peer") else ""
    return {True: "**yes**", False: "**no**", None: "not measured"}[row.get("met")]


def goals_table(results: Mapping[str, Any]) -> list[str]:
    header = [
        "case",
        "size",
        "parkimpact CPU s",
        "parkimpact wall s",
        "peer",
        "peer CPU s",
        "peer wall s",
        "ratio CPU (wall)",
        "peak RSS MiB parkimpact",
        "peak RSS MiB peer",
        "max abs diff of estimates",
        "goal",
        "met",
    ]
    rows = []
    for name, entry in results["cases"].items():
        ours = entry["sides"]["parkimpact"]
        for i, comparison in enumerate(entry["comparisons"]):
            peer = comparison["peer"]
            other = entry["sides"].get(peer) if peer else None
            cpu, wall = _times(ours) if i == 0 else ("″", "″")
            ratio = "—"
            if "cpu_ratio" in comparison:
                ratio = f"{comparison['cpu_ratio']:.3f} ({comparison['wall_ratio']:.2f})"
            goal = comparison.get("goal", "")
            if goal and comparison.get("goal_value") is not None and not peer:
                goal += f" (measured {_num(comparison['goal_value'], 1)} s)"
            rows.append(
                [
                    f"`{name}`" if i == 0 else "",
                    entry["size"] if i == 0 else "",
                    cpu,
                    wall,
                    peer or "—",
                    *_times(other),
                    ratio,
                    _memory(ours) if i == 0 else "″",
                    _memory(other) if other else "—",
                    _diff(comparison.get("max_abs_diff")),
                    goal,
                    _met(comparison),
                ]
            )
    return _table(header, rows)


def detail_table(results: Mapping[str, Any]) -> list[str]:
    header = [
        "case",
        "side",
        "processes",
        "CPU s median (min–max)",
        "wall s median (min–max)",
        "RSS with data MiB",
        "peak RSS MiB",
        "largest worker MiB",
        "estimates (first process)",
    ]
    rows = []
    for name, entry in results["cases"].items():
        for side, s in entry["sides"].items():
            if s.get("status") != "ok":
                rows.append([f"`{name}`", side, "0", s.get("status", ""), "", "", "", "", ""])
                continue
            estimates = ", ".join(f"{k} {v:.6g}" for k, v in list(s["estimates"].items())[:4])
            rows.append(
                [
                    f"`{name}`",
                    side,
                    str(s["n"]),
                    f"{_num(s['cpu_s'], 3)} ({_num(s['cpu_min_s'], 3)}–{_num(s['cpu_max_s'], 3)})",
                    f"{_num(s['wall_s'], 3)} ({_num(s['wall_min_s'], 3)}–"
                    f"{_num(s['wall_max_s'], 3)})",
                    _num(s["rss_data_mb"], 0),
                    _num(s["peak_rss_mb"], 0),
                    _num(s["peak_child_rss_mb"], 0) if s.get("peak_child_rss_mb") else "—",
                    estimates,
                ]
            )
    return _table(header, rows)


def machine_section(results: Mapping[str, Any]) -> list[str]:
    runs = results["runs"]
    if not runs:
        return []
    latest = runs[max(runs)]["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in latest["packages"].items())
    lines = [
        "## Machine",
        "",
        f"- CPU: {latest['cpu']}, {latest['logical_cores']} logical cores "
        f"({latest['physical_cores']} physical, {latest['usable_cores']} usable by the benchmark)",
        f"- Memory: {latest['memory_gib']:.1f} GiB",
        f"- OS: {latest['os']}",
        f"- Python: {latest['python']}; BLAS: {latest['blas']}",
        f"- Packages: {packages}",
        "",
        "## Runs",
        "",
        "Other load: CPU used by other processes on the machine while the run was going, in "
        "cores on average (the machine's busy time minus the benchmark's own).",
        "",
    ]
    rows = []
    for run_id, run in sorted(runs.items()):
        load = run.get("load", {})
        cases = [n for n, e in results["cases"].items() if e["run"] == run_id]
        if results.get("scaling") and results["scaling"]["run"] == run_id:
            cases.append("scaling")
        rows.append(
            [
                run_id,
                f"`{run['command']}`",
                run["machine"].get("commit", ""),
                ", ".join(cases),
                _num(run.get("elapsed_s"), 0) + " s",
                _num(load.get("other_cores"), 2) if load else "—",
                f"{_num(load.get('loadavg_start'))} → {_num(load.get('loadavg_end'))}"
                if load
                else "—",
            ]
        )
    lines += _table(
        [
            "run (UTC)",
            "command",
            "parkimpact commit",
            "cases shown from it",
            "elapsed",
            "other load",
            "load average",
        ],
        rows,
    )
    loaded = [
        f"`{n}` ({e['load']['other_cores']:.2f} cores)"
        for n, e in results["cases"].items()
        if e["load"]["other_cores"] > 0.25
    ]
    if loaded:
        lines += [
            "",
            "**The machine was loaded by other work** while these cases ran (other processes "
            "used on average): "
            + ", ".join(loaded)
            + ". Wall times suffer most; CPU times and their ratios less so.",
        ]
    return lines + [""]


def scaling_section(results: Mapping[str, Any], plot_name: str) -> list[str]:
    block = results.get("scaling")
    if not block:
        return []
    curves = block["curves"]
    lines = [
        "## Scaling",
        "",
        "parkimpact only, one process per size (the median of the repeats up to 150,000 rows). "
        "Memory is the peak RSS above the RSS once parkimpact was imported: it holds the "
        "simulated data and everything the estimator allocates. The slope is the least-squares "
        "slope of log(CPU) or log(memory) on log(rows) from 150,000 rows up (all sizes when "
        "fewer than two reach it): the observed complexity exponent, 1 = linear. A size is "
        "skipped when its extrapolated memory exceeds 75% of the memory available or its "
        "extrapolated CPU time the budget per size.",
        "",
        f"![scaling]({plot_name})",
        "",
    ]
    header = [
        "estimator",
        "rows",
        "CPU s",
        "wall s",
        "peak above start MiB",
        "data MiB",
        "frame bytes/row",
        "peak bytes/row",
    ]
    rows = []
    for curve in curves.values():
        for p in curve["points"]:
            rows.append(
                [
                    curve["label"],
                    f"{p['rows']:,}",
                    _num(p["cpu_s"], 3),
                    _num(p["wall_s"], 3),
                    _num(p["peak_above_start_mb"], 0),
                    _num(p["data_rss_mb"], 0),
                    _num(p["frame_bytes_per_row"], 0),
                    _num(p["peak_bytes_per_row"], 0),
                ]
            )
    lines += _table(header, rows)
    lines += ["", "Fitted exponents:", ""]
    lines += _table(
        ["estimator", "CPU slope", "memory slope", "not measured"],
        [
            [
                c["label"],
                fmt_slope(c["cpu_slope"]),
                fmt_slope(c["memory_slope"]),
                "; ".join(c["skipped"]) or "—",
            ]
            for c in curves.values()
        ],
    )
    lines += ["", "### What dominates memory", ""]
    lines += [
        "Allocation sites of the largest heap traced (tracemalloc, numpy buffers included; "
        "allocations made while the estimator ran, so the input frame is not among them) at "
        "the size shown:",
        "",
    ]
    for curve in curves.values():
        memory = curve.get("memory_profile")
        if not memory or "sites" not in memory:
            continue
        lines += [
            f"**{curve['label']}** ({memory['rows']:,} rows): traced peak "
            f"{_num(memory['traced_peak_above_start_mb'], 0)} MiB, largest snapshot "
            f"{_num(memory['snapshot_mb'], 0)} MiB.",
            "",
        ]
        lines += _table(
            ["allocation site", "MiB", "bytes/row"],
            [
                [f"`{s['site']}`", _num(s["mb"], 1), _num(s["bytes_per_row"], 1)]
                for s in memory["sites"][:8]
            ],
        )
        lines.append("")
    findings = _findings().get("scaling")
    if findings:
        run, body = findings
        if run and run != block["run"]:
            lines += [f"*(Written for the run of {run}; figures may differ.)*", ""]
        lines += [body, ""]
    return lines


def _findings() -> dict[str, tuple[str | None, str]]:
    if not FINDINGS.is_file():
        return {}
    text = FINDINGS.read_text(encoding="utf-8")
    sections: dict[str, tuple[str | None, str]] = {}
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        name, _, body = block.partition("\n")
        match = re.search(r"<!--\s*run:\s*(\S+)\s*-->", body)
        body = re.sub(r"<!--.*?-->\n?", "", body).strip()
        sections[name.strip()] = (match.group(1) if match else None, body)
    return sections


def _profile_lines(profile: Mapping[str, Any]) -> list[str]:
    if profile.get("status") != "ok":
        return [f"Profile: {profile.get('status')}", ""]
    settings = ", ".join(f"{k}={v}" for k, v in profile["params"].items())
    lines = [
        f"cProfile of the parkimpact side ({settings}; main process only), "
        f"{profile['total_s']:.1f} s under the profiler:",
        "",
    ]
    for key, title in (("by_own", "own"), ("by_cumulative", "cumulative")):
        lines += [f"Top functions by {title} time:", ""]
        lines += _table(
            ["function", "calls", "own s", "cumulative s"],
            [
                [f"`{r['function']}`", str(r["calls"]), _num(r["own_s"], 3), _num(r["cum_s"], 3)]
                for r in profile[key][:12]
            ],
        )
        lines.append("")
    return lines


def gaps_section(results: Mapping[str, Any]) -> list[str]:
    findings = _findings()
    lines = ["## Goals not met", ""]
    count = 0
    for name, entry in results["cases"].items():
        for row in entry["comparisons"]:
            if row.get("met") is not False:
                continue
            count += 1
            value, goal = row["goal_value"], row["goal"]
            if row["peer"]:
                gap = (
                    f"CPU ratio {value:.3f}x against the goal {goal}: parkimpact must become "
                    f"{value / row['goal_limit']:.2f}x faster on this work."
                )
            else:
                gap = (
                    f"{value:.0f} s wall against the goal {goal}: "
                    f"{value / row['goal_limit']:.2f}x too slow."
                )
            lines += [f"### `{name}` — {entry['title']}", "", f"Gap: {gap}", ""]
            if name in findings:
                run, body = findings[name]
                if run and run != entry["run"]:
                    lines += [f"*(Analysis written for the run of {run}; figures may differ.)*", ""]
                lines += [body, ""]
            if entry.get("profile"):
                lines += _profile_lines(entry["profile"])
    if not count:
        lines += ["Every goal measured was met.", ""]
    notes = [
        (name, entry)
        for name, entry in results["cases"].items()
        if name in findings and not any(r.get("met") is False for r in entry["comparisons"])
    ]
    if notes:
        lines += ["## Notes on goals met", ""]
    for name, entry in notes:
        run, body = findings[name]
        lines += [f"### `{name}` — {entry['title']}", ""]
        if run and run != entry["run"]:
            lines += [f"*(Written for the run of {run}; figures may differ.)*", ""]
        lines += [body, ""]
    return lines


def render(results: Mapping[str, Any], *, plot_name: str, json_name: str) -> str:
    """The whole RESULTS.md."""
    modes = sorted({e["mode"] for e in results["cases"].values()})
    lines = [
        "# parkimpact benchmarks",
        "",
        f"Generated by `benchmarks/run.py` from `{json_name}`; do not edit by hand (causes of "
        "unmet goals: `benchmarks/findings.md`). "
        "Every measurement is a fresh process; parkimpact and its peers get the same "
        "seeded data and alternate across repeats; CPU = user + system time of the process "
        "and its workers during the timed call; figures are medians over the processes. "
        "Ratios are parkimpact / peer; goals on ratios use CPU time. Peak RSS includes the "
        "interpreter, imports and the data; `tree` adds the joblib workers (polled).",
        "",
        f"Sizes: {', '.join(modes) or 'none'}.",
        "",
    ]
    lines += machine_section(results)
    lines += ["## Goals", ""]
    lines += goals_table(results)
    lines += [""]
    notes = [f"- `{n}`: {e['note']}" for n, e in results["cases"].items() if e.get("note")]
    lines += notes + [""]
    lines += gaps_section(results)
    lines += scaling_section(results, plot_name)
    lines += ["## All measurements", ""]
    lines += detail_table(results)
    lines += [""]
    return "\n".join(lines)
