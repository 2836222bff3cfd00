"""Benchmark of salesmodel.sample: generating and writing the demo company.

Run from the repository root: ``python benchmarks/sample.py [--repeats 3]``.
Each size runs in a fresh process (so peak memory is that size's own); prints a
table and writes it to ``benchmarks/results/sample.md`` with machine, versions and date.
Goal (issue 3): the full-size company (3,000 customers, 60 reps, 2023-01-01 to
2026-10-31) in under 60 s, a few million rows at most.
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/ holds calendar.py, which would shadow the standard library's calendar
# module for pandas; keep this folder off the import path.
HERE = Path(__file__).resolve().parent

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from datetime import UTC, datetime

from bench_machine import cpu_model

RESULTS = HERE / "results" / "sample.md"
SIZES = [  # (label, n_customers, n_reps)
    ("tests (small)", 240, 12),
    ("demo (full)", 3000, 60),
    ("3x demo", 9000, 180),
]


def measure(n_customers: int, n_reps: int, repeats: int) -> dict:
    """Time make_company and write_company at one size (run inside a child process)."""
    import resource
    import tracemalloc

    from salesmodel.sample import make_company, write_company

    kwargs = {
        "seed": 42,
        "n_customers": n_customers,
        "n_reps": n_reps,
        "start": "2023-01-01",
        "end": "2026-10-31",
    }
    make_company(
        seed=0, n_customers=60, n_reps=6, start="2025-01-01", end="2025-06-30"
    )  # imports, caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        company = make_company(**kwargs)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    make_company(**kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        paths = write_company(tmp, **kwargs)
        write_s = time.perf_counter() - t0
        sizes = {key: path.stat().st_size for key, path in paths.items()}
    sales = company["sales"]
    per_month = sales.groupby(["customer_id", sales["date"].dt.to_period("M")])
    yearly = sales.groupby(sales["date"].dt.year)["amount"].sum()
    return {
        "make_best": min(times),
        "make_median": sorted(times)[len(times) // 2],
        "write": write_s,
        "peak_traced_mb": peak / 1e6,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": len(sales),
        "customers": len(company["customers"]),
        "reps": len(company["reps"]),
        "rows_per_customer_month": float(per_month.size().median()),
        "order_days_per_customer_month": float(per_month["date"].nunique().median()),
        "parquet_mb": sizes["sales"] / 1e6,
        "csv_kb": sum(v for k, v in sizes.items() if k != "sales") / 1e3,
        "yearly_million_yuan": {int(y): round(v / 1e6, 1) for y, v in yearly.items()},
    }




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one, args.repeats)))
        return

    import holidays
    import numpy as np
    import pandas as pd
    import pyarrow

    import salesmodel

    rows = []
    for label, n_customers, n_reps in SIZES:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(n_customers),
                str(n_reps),
                "--repeats",
                str(args.repeats),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=HERE.parent,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append((label, n_customers, n_reps, result))
        print(label, json.dumps(result), flush=True)

    lines = [
        "# Demo company generation (salesmodel.sample)",
        "",
        (
            f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {cpu_model()}, {os.cpu_count()} logical CPUs, "
            f"{platform.system()} {platform.release()}; shared with other jobs, so times are upper bounds."
        ),
        (
            f"Versions: salesmodel {salesmodel.__version__}, Python {platform.python_version()}, numpy {np.__version__}, "
            f"pandas {pd.__version__}, pyarrow {pyarrow.__version__}, holidays {holidays.__version__}."
        ),
        (
            f"History 2023-01-01 to 2026-10-31 (1,400 days), seed 42; make_company best and median of {args.repeats} runs; "
            "write_company = generate + write Parquet (zstd) and CSVs; each size in a fresh process."
        ),
        "Goal: full size in under 60 s, a few million rows at most.",
        "",
        (
            "| size | customers | reps | rows | make (best) s | make (median) s | write s | peak traced MB | max RSS MB "
            "| rows / customer-month (median) | order days / customer-month (median) | sales.parquet MB | CSVs kB |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, _customers, _reps, r in rows:
        lines.append(
            f"| {label} | {r['customers']:,} | {r['reps']} | {r['rows']:,} | {r['make_best']:.2f} | {r['make_median']:.2f} "
            f"| {r['write']:.2f} | {r['peak_traced_mb']:.0f} | {r['max_rss_mb']:.0f} | {r['rows_per_customer_month']:.0f} "
            f"| {r['order_days_per_customer_month']:.0f} | {r['parquet_mb']:.1f} | {r['csv_kb']:.0f} |"
        )
    full = next(r for label, _, _, r in rows if label.startswith("demo"))
    lines += [
        "",
        "Sales of the full-size company by year (million yuan; 2026 is January to October): "
        + ", ".join(f"{y}: {v:,.1f}" for y, v in full["yearly_million_yuan"].items())
        + ".",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
