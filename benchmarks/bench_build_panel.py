"""Benchmark: ``build_panel`` on Parquet sources of up to 10M firm-years, pandas against DuckDB.

The generator writes the four sources of a synthetic park economy as folders of
Parquet part files, one part per chunk of firms, so that it never holds more
than one chunk in memory: ``financials/`` (firm-years over 2000-2019, each firm
observed for 10-20 consecutive years, so about 15 years on average; 0.2% of
money cells missing, 0.05% of rows repeated), ``tenancy/`` (a quarter of the
firms, some moving or leaving), ``patents/`` (Poisson(0.3) filings per
firm-year with citations and claims) and ``deflators.parquet`` (year x
industry), plus ``mapping.toml`` naming them.

Each build runs in a fresh Python process; the child reports its wall time and
its peak resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``,
which includes DuckDB's native memory), and the parent cross-checks the peak
with ``RUSAGE_CHILDREN``. Engines:

``pandas``
    ``build_panel(..., engine="pandas")`` on the sources read with
    ``pandas.read_parquet`` (the folders in sorted order); reading is timed.
``duckdb``
    ``engine=DuckDBEngine(...)``, the panel returned as a FirmPanel in memory.
``duckdb-file``
    ``engine=DuckDBEngine(...), output="panel.parquet"``: the panel is written
    to Parquet and never held in memory.

Run: ``python benchmarks/bench_build_panel.py --rows 10000000 --engines duckdb-file``
or ``python benchmarks/bench_build_panel.py --rows 100000 1000000`` (all engines).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240611
FIRST, LAST = 2000, 2019
INDUSTRIES = np.array(["IC", "PC", "OPTO", "TEL", "BIO", "PREC"])
PARKS = np.array(["Hsinchu", "Central", "Southern"])
MONEY = {
    "sales": 40.0,
    "value_added": 15.0,
    "fixed_assets": 20.0,
    "materials_cost": 20.0,
    "capex": 2.0,
    "rd_expense": 1.5,
    "wage_bill": 5.0,
}
MAPPING = """[files]
financials = "financials"
tenancy = "tenancy"
patents = "patents"
deflators = "deflators.parquet"

[financials]
firm_id = "company_id"
year = "fiscal_year"
industry = "industry_code"
founded = "year_founded"
output = "sales"
value_added = "value_added"
capital = "fixed_assets"
materials = "materials_cost"
investment = "capex"
rd = "rd_expense"
wage_bill = "wage_bill"
employment = "employees"
phd = "phd_staff"

[tenancy]
firm_id = "company_id"
park = "park_name"
entry_date = "move_in"
exit_date = "move_out"

[patents]
patent_id = "patent_no"
firm_id = "company_id"
application_date = "filing_date"
forward_citations = "forward_cites"
claims = "claims"

[deflators]
industry = "industry_code"

[deflate]
output = "output_price"
value_added = "output_price"
materials = "input_price"
capital = "capital_price"
investment = "capital_price"
rd = "consumer_price"
wage_bill = "consumer_price"
"""


# ---------------------------------------------------------------------- generator
def _dates(rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    days = rng.integers(1, 29, size=years.size)
    months = rng.integers(1, 13, size=years.size)
    return np.char.add(
        np.char.add(years.astype("U4"), "-"),
        np.char.add(
            np.char.add(np.char.zfill(months.astype("U2"), 2), "-"),
            np.char.zfill(days.astype("U2"), 2),
        ),
    )


def _financials(rng: np.random.Generator, ids: np.ndarray) -> pd.DataFrame:
    n = ids.size
    length = rng.integers(10, 21, size=n)
    start = FIRST + rng.integers(0, LAST - FIRST + 2 - length)
    firm = np.repeat(ids, length)
    year = np.repeat(start, length) + (
        np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    )
    size = np.repeat(rng.lognormal(0.0, 1.0, size=n), length)
    frame = pd.DataFrame(
        {
            "company_id": firm,
            "fiscal_year": year,
            "industry_code": np.repeat(rng.choice(INDUSTRIES, size=n), length),
            "year_founded": np.repeat(start - rng.integers(0, 15, size=n), length),
        }
    )
    for name, scale in MONEY.items():
        values = scale * size * rng.lognormal(0.0, 0.3, size=firm.size)
        values[rng.random(firm.size) < 0.002] = np.nan
        frame[name] = values
    frame["employees"] = np.ceil(10 * size * rng.lognormal(0.0, 0.2, size=firm.size))
    frame["phd_staff"] = np.floor(frame["employees"].to_numpy() * rng.random(firm.size) * 0.1)
    repeat = rng.random(len(frame)) < 0.0005
    return pd.concat([frame, frame[repeat]]).sort_index(kind="stable").reset_index(drop=True)


def _tenancy(rng: np.random.Generator, fin: pd.DataFrame) -> pd.DataFrame:
    spans = fin.groupby("company_id", sort=False)["fiscal_year"].agg(["min", "max"])
    tenants = spans[rng.random(len(spans)) < 0.25]
    entry = rng.integers(tenants["min"] - 3, tenants["max"] + 1)
    leaves = rng.random(len(tenants)) < 0.1
    exit_year = np.minimum(entry + rng.integers(0, 6, size=len(tenants)), LAST)
    first = pd.DataFrame(
        {
            "company_id": tenants.index.to_numpy(),
            "park_name": rng.choice(PARKS, size=len(tenants)),
            "move_in": _dates(rng, entry),
            "move_out": np.where(leaves, _dates(rng, exit_year), None),
        }
    )
    movers = rng.random(len(tenants)) < 0.03
    second = pd.DataFrame(
        {
            "company_id": tenants.index.to_numpy()[movers],
            "park_name": rng.choice(PARKS, size=int(movers.sum())),
            "move_in": _dates(rng, np.minimum(entry[movers] + 2, LAST)),
            "move_out": None,
        }
    )
    return pd.concat([first, second], ignore_index=True)


def _patents(rng: np.random.Generator, fin: pd.DataFrame, offset: int) -> pd.DataFrame:
    counts = rng.poisson(0.3, size=len(fin))
    firm = np.repeat(fin["company_id"].to_numpy(), counts)
    year = np.repeat(fin["fiscal_year"].to_numpy(), counts)
    return pd.DataFrame(
        {
            "patent_no": offset + np.arange(firm.size, dtype="int64"),
            "company_id": firm,
            "filing_date": _dates(rng, year),
            "forward_cites": rng.poisson(2.0, size=firm.size),
            "claims": rng.integers(1, 30, size=firm.size),
        }
    )


def _deflators(rng: np.random.Generator) -> pd.DataFrame:
    years = np.arange(FIRST - 1, LAST + 2)
    rows = [(y, ind) for y in years for ind in INDUSTRIES]
    frame = pd.DataFrame(rows, columns=["year", "industry_code"])
    trend = (frame["year"].to_numpy() - 2016) * 0.015
    for name in ("output_price", "input_price", "capital_price", "consumer_price"):
        frame[name] = 100.0 * np.exp(trend + rng.normal(0.0, 0.02, size=len(frame)))
    return frame


def generate(root: Path, rows: int, chunk_firms: int = 50_000, seed: int = SEED) -> dict[str, int]:
    """Write the sources of about ``rows`` firm-years under ``root``; returns row counts."""
    if root.exists():
        shutil.rmtree(root)
    for name in ("financials", "tenancy", "patents"):
        (root / name).mkdir(parents=True)
    n_firms = max(1, round(rows / 15.0))
    counts = {"financials": 0, "tenancy": 0, "patents": 0}
    seeds = np.random.SeedSequence(seed).spawn(n_firms // chunk_firms + 2)
    for part, lo in enumerate(range(0, n_firms, chunk_firms)):
        rng = np.random.default_rng(seeds[part])
        ids = 10_000_000 + np.arange(lo, min(lo + chunk_firms, n_firms), dtype="int64")
        fin = _financials(rng, ids)
        tables = {
            "financials": fin,
            "tenancy": _tenancy(rng, fin),
            "patents": _patents(rng, fin, offset=counts["patents"]),
        }
        for name, table in tables.items():
            table.to_parquet(root / name / f"part-{part:05d}.parquet", index=False)
            counts[name] += len(table)
    _deflators(np.random.default_rng(seeds[-1])).to_parquet(root / "deflators.parquet", index=False)
    (root / "mapping.toml").write_text(MAPPING)
    return counts


# ------------------------------------------------------------------------- builds
POLICIES = {"bad_values": "drop", "duplicates": "drop", "exits": "keep_treated", "zeros": "nan"}


def child(root: Path, engine: str, memory_limit: str, threads: int, out: Path) -> dict[str, object]:
    """One build in this process; returns wall time, peak RSS and panel size."""
    import warnings

    from parkimpact import build_panel
    from parkimpact.data import DuckDBEngine
    from parkimpact.errors import ParkImpactWarning

    warnings.simplefilter("ignore", ParkImpactWarning)
    start = time.perf_counter()
    mapping = root / "mapping.toml"
    if engine == "pandas":
        sources = {
            name: pd.read_parquet(root / name) for name in ("financials", "tenancy", "patents")
        }
        panel = build_panel(**sources, mapping=mapping, **POLICIES)
        n_obs, n_drops = panel.n_obs, len(panel.drops)
    else:
        settings = DuckDBEngine(
            memory_limit=memory_limit, threads=threads, temp_directory=out.parent
        )
        output = out if engine == "duckdb-file" else None
        built = build_panel(mapping=mapping, engine=settings, output=output, **POLICIES)
        n_obs, n_drops = built.n_obs, len(built.drops)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "engine": engine,
        "wall_s": wall,
        "peak_rss_mb": peak_mb,
        "n_obs": n_obs,
        "drops": n_drops,
    }


def run_child(
    root: Path, engine: str, memory_limit: str, threads: int, out: Path
) -> dict[str, object]:
    """Run :func:`child` in a fresh interpreter and collect its report."""
    cmd = [
        sys.executable,
        __file__,
        "--child",
        str(root),
        engine,
        memory_limit,
        str(threads),
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"build failed ({engine}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["children_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", default=["pandas", "duckdb", "duckdb-file"])
    parser.add_argument("--memory-limit", default="400MB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", nargs=5, metavar=("ROOT", "ENGINE", "MEM", "THREADS", "OUT"))
    args = parser.parse_args()
    if args.child:
        root, engine, memory, threads, out = args.child
        print(json.dumps(child(Path(root), engine, memory, int(threads), Path(out))))
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-build-panel-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {os.cpu_count()} cores; DuckDB memory_limit {args.memory_limit}, "
        f"{args.threads} threads; work folder {work}"
    )
    for rows in args.rows:
        root = work / f"sources_{rows}"
        start = time.perf_counter()
        counts = generate(root, rows)
        print(
            f"\n{rows:,} firm-years requested: generated {counts} in "
            f"{time.perf_counter() - start:.1f}s"
        )
        for engine in args.engines:
            out = work / f"panel_{rows}_{engine}.parquet"
            report = run_child(root, engine, args.memory_limit, args.threads, out)
            print(
                f"  {engine:<12} {report['wall_s']:8.1f} s  "
                f"peak RSS {report['peak_rss_mb']:7.0f} MB"
                f"  panel {report['n_obs']:,} firm-years, {report['drops']:,} dropped rows"
            )
            if out.exists():
                print(f"  {'':<12} output {out.stat().st_size / 2**20:.0f} MB on disk")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
