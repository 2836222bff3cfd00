"""Does the Spring Festival alignment help the demo company's backtest? January/February errors.

    python benchmarks/forecast_spring_festival.py [--data DIR] [--grain region,product]

Builds the demo company (or reads DIR written by `salesmodel sample`), forms the
notebook's monthly series (the grain, each key alone and the company total), and
backtests the default baseline twice: without calendar factors and with the Spring
Festival's effect (``seasonality.spring_festival_effect`` on the daily sales) taken out
of the history and put back for the forecast months. Reports sMAPE and MASE over all
months and over January and February alone.

Writes benchmarks/results/forecast_spring_festival.md.
"""
from __future__ import annotations

import os
import sys

# benchmarks/ holds scripts named like stdlib modules (calendar.py): keep it off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import platform
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from salesmodel.domain import forecast, overview, seasonality
from salesmodel.sample import make_company

RESULTS = Path(_HERE) / "results"


def demo_sales(data: str | None) -> pd.DataFrame:
    if data:
        d = Path(data)
        sales, customers, provinces = (pd.read_parquet(d / "sales.parquet"), pd.read_csv(d / "customers.csv"),
                                       pd.read_csv(d / "provinces.csv"))
    else:
        c = make_company()
        sales, customers, provinces = c["sales"], c["customers"], c["provinces"]
    return overview.attach_geography(sales, customers, provinces)


def errors(bt: forecast.BacktestResult, months: list[int] | None) -> dict[str, float]:
    f = bt.forecasts
    if months:
        f = f[f["ds"].dt.month.isin(months)]
    y, p = f["y"].to_numpy(float), f["yhat"].to_numpy(float)
    den = np.abs(y) + np.abs(p)
    smape = np.where(den > 0, 200 * np.abs(y - p) / np.where(den > 0, den, 1), 0).mean()
    return {"smape": float(smape), "points": len(f)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--grain", default="region,product")
    args = ap.parse_args(argv)
    sales = demo_sales(args.data)
    grain = forecast.grain_columns(args.grain.split(","))
    series, keys = forecast.series_from_sales(sales, grain, freq="MS")
    hier = forecast.hierarchy_from_frame(keys, forecast.grain_levels(grain))
    allv = forecast.aggregate_levels(series, hier)
    daily = sales.groupby("date", as_index=False)["amount"].sum()
    effect = seasonality.spring_festival_effect(daily)
    factors = seasonality.spring_festival_period_factors(effect, range(series["ds"].min().year, series["ds"].max().year + 2))
    rows = []
    for label, fac in (("off", None), ("on (default)", factors)):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bt = forecast.backtest(allv, h=12, n_windows=2, freq="MS", calendar_factors=fac)
        s = bt.summary()
        jf, rest = errors(bt, [1, 2]), errors(bt, [m for m in range(3, 13)])
        f = bt.forecasts
        tot = f[(f["unique_id"] == "total") & f["ds"].dt.month.isin([1, 2])].sort_values("ds")
        rows.append({"spring festival": label, "series": int(s["series"]), "smape all months": s["smape"],
                     "mase all months": s["mase"], "smape Jan+Feb": jf["smape"], "smape Mar-Dec": rest["smape"],
                     "coverage_80": 100 * s["coverage_80"], "coverage_95": 100 * s["coverage_95"],
                     "company Jan/Feb error %": ", ".join(f"{d:%Y-%m} {100 * (p / a - 1):+.0f}" for d, a, p in
                                                          tot[["ds", "y", "yhat"]].itertuples(index=False)),
                     "seconds": time.perf_counter() - t0})
        print(rows[-1], flush=True)
    res = pd.DataFrame(rows)
    fac = factors[factors["ds"].dt.month.isin([1, 2])]
    lines = [
        "# Spring Festival alignment on the demo company's backtest",
        "",
        (f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, pandas {pd.__version__}; "
         f"run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f}."),
        "",
        (f"Series: {args.grain} and each key alone and the company total ({allv['unique_id'].nunique()} series, history "
         f"{series['ds'].min():%Y-%m} to {series['ds'].max():%Y-%m}); backtest of the default baseline, h = 12, 2 windows "
         "(forecasts of 2024-11..2025-10 and 2025-11..2026-10). MASE is scaled by the unadjusted history in both rows."),
        "",
        "| " + " | ".join(res.columns) + " |",
        "|" + "---|" * len(res.columns),
        *["| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in r) + " |" for r in res.itertuples(index=False)],
        "",
        "Monthly festival factors (1 = no effect): " + ", ".join(f"{d:%Y-%m} {v:.2f}" for d, v in fac.itertuples(index=False)),
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "forecast_spring_festival.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
