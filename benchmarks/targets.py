"""Benchmark of salesmodel.domain.targets against the goals of issue 5.

Run from the repository root: ``python benchmarks/targets.py [--repeats 3]``.
Each case runs in a fresh process (so its peak memory is its own); the script
prints a table and writes it to ``benchmarks/results/targets.md`` with machine,
versions and date.

Goals:
- ``decompose`` + ``split_over_time`` for 200,000 customers x 36 dekads: under 2 s
  and under 2 GB peak (growth bounds and a three-column blend, rounded to 100,
  phased by working days to whole yuan, long output table);
- ``rake`` of 1,000 x 50 x 12 to three margins: under 1 s;
- re-running a decomposition after a parameter change on the demo company
  (3,000 customers, the four-level cascade region -> province -> rep -> customer):
  under 100 ms.
"""
from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/ holds calendar.py, which would shadow the standard library's calendar.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import json
import os
import platform
import subprocess
import time
from datetime import UTC, datetime

RESULTS = HERE / "results" / "targets.md"
CASES = {
    "decompose_split_200k": ("decompose + split_over_time, 200,000 customers x 36 dekads", 2.0, 2000.0),
    "rake_1000x50x12": ("rake 1,000 x 50 x 12 to three margins", 1.0, None),
    "cascade_demo": ("cascade on the demo company after a parameter change", 0.1, None),
}


def _best(fn, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), sorted(times)[len(times) // 2]


def case_decompose_split(repeats: int) -> dict:
    import warnings

    import numpy as np
    import pandas as pd

    from salesmodel.domain.calendar import plan_year_periods
    from salesmodel.domain.targets import decompose, split_over_time

    rng = np.random.default_rng(0)
    n = 200_000
    units = pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in range(n)],
        "last_year": rng.gamma(2.0, 50_000, n).round(2),
        "potential": rng.gamma(2.0, 100_000, n).round(-2),
    })
    units["forecast"] = units["last_year"] * rng.uniform(0.9, 1.2, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dekads = plan_year_periods(2027, "dekad")
    total = float(np.round(units["last_year"].sum() * 1.12, -2))

    def run():
        d = decompose(total, units, basis={"last_year": 0.5, "potential": 0.2, "forecast": 0.3}, reference="last_year",
                      growth_bounds=(-0.1, 0.4), round_to=100, keys="customer_id")
        s = split_over_time(d[["customer_id", "target"]], dekads, "working_days", keys="customer_id", round_to=1)
        assert s["target"].sum() == total and len(s) == n * 36
        return s

    run()  # warm-up: imports, caches
    import resource

    best, median = _best(run, repeats)
    return {"best_s": best, "median_s": median, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "size": f"{n:,} x 36 = {n * 36:,} rows"}


def case_rake(repeats: int) -> dict:
    import numpy as np

    from salesmodel.domain.targets import rake

    rng = np.random.default_rng(1)
    seed = rng.uniform(0.1, 1.0, (1000, 50, 12))
    a, b, c = rng.uniform(1, 2, 1000), rng.uniform(1, 2, 50), rng.uniform(1, 2, 12)
    total = 1e9
    margins = {0: a / a.sum() * total, 1: b / b.sum() * total, 2: c / c.sum() * total}
    out = {}

    def run():
        res = rake(seed, margins, tol=1e-9)
        assert res.converged
        out.update(iterations=res.iterations, residual=res.max_residual)

    run()
    import resource

    best, median = _best(run, repeats)
    return {"best_s": best, "median_s": median, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "size": f"600,000 cells; {out['iterations']} sweeps, residual {out['residual']:.1e} of {total:.0e}"}


def case_cascade_demo(repeats: int) -> dict:
    import warnings

    from salesmodel.domain.targets import cascade, plan_units
    from salesmodel.sample import make_company

    company = make_company(seed=42, n_customers=3000, n_reps=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        units = plan_units(company["sales"], company["customers"], company["reps"], plan_year=2027)
    total = round(units["last_year"].sum() * 1.12, -2)
    levels = ["region_id", "province_id", "rep_id", "customer_id"]
    state = {"i": 0}

    def run():
        # A planner moves the blend and the bounds a little each time.
        state["i"] += 1
        w = 0.5 + 0.01 * (state["i"] % 10)
        out = cascade(total, units, levels, basis={"last_year": w, "potential": 1 - w}, reference="last_year",
                      growth_bounds=(-0.1, 0.4 + 0.01 * (state["i"] % 5)), round_to=100)
        assert out["customer_id"]["target"].sum() == total

    run()
    import resource

    best, median = _best(run, max(repeats, 5))
    return {"best_s": best, "median_s": median, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "size": f"{len(units):,} customers, 4 levels"}


RUNNERS = {"decompose_split_200k": case_decompose_split, "rake_1000x50x12": case_rake, "cascade_demo": case_cascade_demo}


def _versions() -> str:
    import numpy
    import pandas
    import scipy

    return f"Python {platform.python_version()}, numpy {numpy.__version__}, pandas {pandas.__version__}, scipy {scipy.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--case", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # child process: one case, JSON out
        print(json.dumps(RUNNERS[args.case](args.repeats)))
        return
    rows = []
    for key, (title, goal_s, goal_mb) in CASES.items():
        proc = subprocess.run([sys.executable, __file__, "--case", key, "--repeats", str(args.repeats)],
                              capture_output=True, text=True, check=True, env=os.environ.copy())
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        ok = r["best_s"] <= goal_s and (goal_mb is None or r["max_rss_mb"] <= goal_mb)
        rows.append((title, r["size"], r["best_s"], r["median_s"], r["max_rss_mb"],
                     f"< {goal_s:g} s" + (f", < {goal_mb / 1000:g} GB" if goal_mb else ""), "yes" if ok else "NO"))
    header = "| case | size | best s | median s | peak RSS MB | goal | met |\n|---|---|---:|---:|---:|---|---|\n"
    body = "".join(f"| {t} | {s} | {b:.3f} | {m:.3f} | {mb:,.0f} | {g} | {ok} |\n" for t, s, b, m, mb, g, ok in rows)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    text = (
        "# Benchmark: salesmodel.domain.targets\n\n"
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} with {os.cpu_count()} CPUs "
        f"(load average {load:.1f} at the end: the machine was shared with other work, so times are upper bounds); "
        f"{_versions()}. Best and median of {args.repeats} runs (at least 5 for the cascade), each case in a fresh "
        "process; peak RSS is the whole process's (Python, pandas and the inputs included).\n\n" + header + body
    )
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
