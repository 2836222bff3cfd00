"""Benchmark of salesmodel.domain.staffing: capacity_plan and workload at scale.

Run from the repository root: ``python benchmarks/staffing.py``. Prints a table and
writes it to ``benchmarks/results/staffing.md`` with the machine, versions and date.
Goals (issue 6): capacity_plan for 200 teams x 24 months under 5 s in total;
workload for 200,000 customers under 1 s.
"""
from __future__ import annotations

from pathlib import Path

# benchmarks/ holds calendar.py, which would shadow the standard library's calendar
# module (imported by pandas) when this script runs from here: keep the folder off the path.
HERE = Path(__file__).resolve().parent

import os
import platform
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import scipy
from bench_machine import cpu_model

from salesmodel.domain import staffing

RESULTS = HERE / "results" / "staffing.md"
TYPES = ["wholesaler", "retailer", "supermarket", "online_store"]
TIERS = ["VIP", "first", "second", "other"]


def best_of(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times)), out




def team_targets(n_teams: int, n_months: int, seed: int = 0) -> tuple[pd.DataFrame, dict, dict]:
    """Teams of 5-40 reps, targets growing 5-25% a year with a seasonal swing and noise."""
    rng = np.random.default_rng(seed)
    months = pd.period_range("2027-01", periods=n_months, freq="M")
    season = 1 + 0.15 * np.sin(2 * np.pi * (np.arange(n_months) - 2) / 12)
    rows, heads = [], {}
    for i in range(n_teams):
        team = f"T{i:03d}"
        h = int(rng.integers(5, 41))
        heads[team] = h
        growth = rng.uniform(0.05, 0.25)
        level = h * 100_000 * (1 + growth) ** (np.arange(n_months) / 12) * season * rng.uniform(0.95, 1.05, n_months)
        rows.append(pd.DataFrame({"team": team, "month": months, "target": level.round(-2)}))
    return pd.concat(rows, ignore_index=True), heads, {t: max(1, h // 5) for t, h in heads.items()}


def customers_frame(n: int, n_reps: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rep = rng.integers(0, n_reps, n)
    centre_lat, centre_lon = rng.uniform(22, 45, n_reps), rng.uniform(100, 125, n_reps)
    return pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in range(n)],
        "rep_id": [f"R{r:04d}" for r in rep],
        "region_id": np.array(["NE", "N", "E", "S", "C"])[rep % 5],
        "tier": rng.choice(TIERS, n, p=[0.05, 0.15, 0.3, 0.5]),
        "customer_type": rng.choice(TYPES, n, p=[0.2, 0.4, 0.25, 0.15]),
        "lat": centre_lat[rep] + rng.normal(0, 0.3, n),
        "lon": centre_lon[rep] + rng.normal(0, 0.3, n),
    })


def main() -> None:
    rows = []
    targets, heads, limits = team_targets(200, 24)
    common = {"productivity": 100_000, "ramp": [0.25, 0.5, 0.75, 1.0], "attrition": 0.2, "hire_lead_months": 2,
                  "start_headcount": heads}
    best, median, plan = best_of(lambda: staffing.capacity_plan(targets, min_reach=0.0, **common), 3)
    rows.append(("capacity_plan, 200 teams x 24 months, no hiring limit", best, median, "< 5 s",
                 f"{plan.attrs['total_hires']} hires, {int(plan['shortfall'].sum())} short team-months"))
    methods = pd.Series([v["method"] for v in plan.attrs["teams"].values()]).value_counts()
    rows[-1] = (*rows[-1][:4], rows[-1][4] + "; " + ", ".join(f"{n} teams {m}" for m, n in methods.items()))
    best, median, plan = best_of(lambda: staffing.capacity_plan(targets, max_hires_per_month=limits, min_reach=0.0, **common), 3)
    rows.append(("capacity_plan, 200 teams x 24 months, hiring limit per team", best, median, "< 5 s",
                 f"{plan.attrs['total_hires']} hires, {int(plan['shortfall'].sum())} short team-months"))

    season = {m: 1 + 0.15 * np.sin(2 * np.pi * (m - 3) / 12) for m in range(1, 13)}
    best, median, plan = best_of(lambda: staffing.capacity_plan(targets, seasonality=season, min_reach=0.5, **common), 3)
    rows.append(("capacity_plan, 200 teams x 24 months, seasonal capacity, min_reach 50%", best, median, "< 5 s",
                 f"{plan.attrs['total_hires']} hires, {int(plan['shortfall'].sum())} short team-months"))

    customers = customers_frame(200_000, 2_000)
    kw = {"minutes_per_visit": {"wholesaler": 40, "retailer": 20, "supermarket": 30, "online_store": 30},
              "hours_per_month": 174, "selling_share": 0.6}
    best, median, out = best_of(lambda: staffing.workload(customers, by="rep_id", travel_minutes=15, **kw), 5)
    rows.append(("workload, 200,000 customers by rep, constant travel", best, median, "< 1 s", f"{out['fte'].sum():,.0f} FTE"))
    best, median, out = best_of(lambda: staffing.workload(customers, by=["region_id", "rep_id"], travel_minutes="geometry", **kw), 5)
    rows.append(("workload, 200,000 customers by region and rep, travel from geometry", best, median, "< 1 s",
                 f"{out['fte'].sum():,.0f} FTE"))
    sales = pd.DataFrame({
        "date": pd.Timestamp("2025-01-01") + pd.to_timedelta(np.random.default_rng(1).integers(0, 365, 2_000_000), unit="D"),
        "customer_id": customers["customer_id"].to_numpy()[np.random.default_rng(2).integers(0, 200_000, 2_000_000)],
        "amount": np.random.default_rng(3).gamma(2.0, 500.0, 2_000_000).round(2),
    })
    best, median, out = best_of(lambda: staffing.tier_customers(sales), 3)
    rows.append(("tier_customers, 2,000,000 order lines, 200,000 customers", best, median, "-",
                 ", ".join(f"{k} {v}" for k, v in out["tier"].value_counts().items())))

    width = max(len(r[0]) for r in rows)
    lines = [f"| {'case'.ljust(width)} | best (s) | median (s) | goal | result |",
             f"|{'-' * (width + 2)}|---------:|-----------:|------|--------|"]
    lines += [f"| {n.ljust(width)} | {b:8.3f} | {m:10.3f} | {g} | {r} |" for n, b, m, g, r in rows]
    header = [
        "# Staffing benchmark",
        "",
        f"- date (UTC): {datetime.now(UTC):%Y-%m-%d %H:%M}",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}",
        "- note: the machine was shared with other jobs while this ran; figures are upper bounds",
        (f"- python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
         f"scipy {scipy.__version__} (HiGHS through scipy.optimize.milp)"),
        "- best and median of 3 runs (5 for workload)",
        "",
    ]
    text = "\n".join(header) + "\n" + "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
