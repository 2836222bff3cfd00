"""Baseline forecast at scale: ~30,000 customer x product monthly series of the demo company.

    python benchmarks/forecast_scale.py [--series 30000] [--n-jobs 2] [--customers 10000] [--dask-workers 2]
        [--skip-reconcile]

The series come from ``salesmodel.sample.make_company`` (customer x product, monthly
sums of the order lines); when one company has fewer series than asked, more
companies with other seeds are added. Reports the time of ``forecast.baseline``
(12 months, 80/95 intervals, default models) and the peak resident memory of the
process and its workers (sampled every 0.2 s with psutil).

With ``--dask-workers N`` the same forecast also runs with ``engine="dask"`` on a
``distributed.LocalCluster`` of N single-threaded worker processes, and the two results
are compared (largest relative difference of ``yhat``).

Writes benchmarks/results/forecast_scale.md. Goals: 30,000 series in <= 3 minutes on 2 quiet
cores and < 4 GB.
"""
from __future__ import annotations

import os
import sys

# benchmarks/ holds scripts named like stdlib modules (calendar.py): keep it off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import platform
import threading
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(_HERE).parent))
import contextlib

from salesmodel.domain import forecast as F
from salesmodel.sample import make_company

RESULTS = Path(_HERE) / "results"


class PeakRSS:
    """Peak resident memory of this process plus its children, sampled in a thread."""

    def __init__(self, every: float = 0.2) -> None:
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._proc = psutil.Process()

    def _sample(self) -> int:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            time.sleep(self.every)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def demo_series(n_series: int, customers: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customer x product monthly series and their keys (customer, product, rep, province, region)."""
    frames, key_frames, have, seed = [], [], 0, 42
    while have < n_series:
        c = make_company(seed=seed, n_customers=customers, n_reps=max(customers // 50, 10))
        series, keys = F.series_from_sales(c["sales"], ["customer_id", "product"], freq="MS")
        cust = c["customers"].set_index("customer_id")
        region_of = c["provinces"].set_index("province_id")["region_id"]
        keys["rep_id"] = f"c{seed}/" + keys["customer_id"].map(cust["rep_id"])
        keys["province_id"] = keys["customer_id"].map(cust["province_id"])
        keys["region_id"] = keys["province_id"].map(region_of)
        keys["customer_id"] = f"c{seed}/" + keys["customer_id"]
        frames.append(series.assign(unique_id=f"c{seed}/" + series["unique_id"]))
        key_frames.append(keys.assign(unique_id=f"c{seed}/" + keys["unique_id"]))
        have += len(keys)
        seed += 1
    df = pd.concat(frames, ignore_index=True)
    keys = pd.concat(key_frames, ignore_index=True)
    keep = np.sort(keys["unique_id"].to_numpy())[:n_series]
    return df[df["unique_id"].isin(keep)].reset_index(drop=True), keys[keys["unique_id"].isin(keep)].reset_index(drop=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=30_000)
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--dask-workers", type=int, default=0, help="also run on a LocalCluster of this many workers")
    ap.add_argument("--skip-reconcile", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    df, keys = demo_series(args.series, args.customers)
    t_data = time.perf_counter() - t0
    n = df["unique_id"].nunique()
    lengths = df.groupby("unique_id").size()
    zero_share = (df["y"] == 0).groupby(df["unique_id"]).mean()
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = F.baseline(df, h=12, freq="MS", n_jobs=args.n_jobs)
        secs = time.perf_counter() - t0
    families = fc.groupby("unique_id")["model"].first().value_counts()
    dask_line = ""
    if args.dask_workers:
        from distributed import LocalCluster

        with LocalCluster(n_workers=args.dask_workers, threads_per_worker=1, dashboard_address=None) as cluster:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fc_dask = F.baseline(df, h=12, freq="MS", engine="dask", scheduler=cluster.scheduler_address)
            d_secs = time.perf_counter() - t0
        a, b = fc["yhat"].to_numpy(), fc_dask["yhat"].to_numpy()
        diff = float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1.0)))
        dask_line = (f"Dask engine (statsforecast's fugue backend) on a LocalCluster of {args.dask_workers} single-threaded "
                     f"workers: {d_secs:.1f} s against {secs:.1f} s locally with n_jobs={args.n_jobs}; largest relative "
                     f"difference of yhat {diff:.1e}; same model label for every series: "
                     f"{bool((fc['model'].to_numpy() == fc_dask['model'].to_numpy()).all())}.")
        print(dask_line, flush=True)
    if args.skip_reconcile:
        lines = [f"# Baseline forecast at scale: {n:,} series", "",
                 f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f}.", "",
                 f"Local: {secs:.1f} s, peak RSS {mem.peak / 1e9:.2f} GB (n_jobs={args.n_jobs}).", "", dask_line, ""]
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"forecast_scale_{n}.md").write_text("\n".join(lines), encoding="utf-8")
        print("\n".join(lines))
        return 0

    # Reconciliation over customer -> rep -> province -> region -> company and by product.
    levels = [[], ["region_id"], ["province_id"], ["rep_id"], ["product"], ["region_id", "product"], ["customer_id", "product"]]
    hier = F.hierarchy_from_frame(keys, levels)
    bottom_id = dict(zip(keys["unique_id"], [F._node_id(levels[-1], v) for v in keys[levels[-1]].itertuples(index=False)]))
    bottom_hist = df.assign(unique_id=df["unique_id"].map(bottom_id))
    with PeakRSS() as mem_rec:
        t0 = time.perf_counter()
        agg_hist = F.aggregate_levels(bottom_hist, hier)
        agg_hist = agg_hist[~agg_hist["unique_id"].isin(hier.bottom)]
        agg_hist = agg_hist[agg_hist.groupby("unique_id")["y"].transform(lambda s: s.cumsum() > 0)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            agg_fc = F.baseline(agg_hist, h=12, freq="MS", n_jobs=args.n_jobs)
        t_agg = time.perf_counter() - t0
        all_fc = pd.concat([agg_fc, fc.assign(unique_id=fc["unique_id"].map(bottom_id))], ignore_index=True)
        rec_times = {}
        for method in ("bottom_up", "wls_struct"):
            t0 = time.perf_counter()
            rec = F.reconcile(all_fc, hier, method)
            rec_times[method] = time.perf_counter() - t0
        wide = rec.pivot(index="ds", columns="unique_id", values="yhat")
        gap = float(np.abs(wide["total"] - wide[hier.bottom].sum(axis=1)).max())
    import statsforecast

    lines = [
        "# Baseline forecast at scale (demo company, customer x product, monthly)",
        "",
        (f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
         f"statsforecast {statsforecast.__version__}, pandas {pd.__version__}, numpy {np.__version__}; "
         f"run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC."),
        "The machine was shared with other work during the run: times are upper bounds.",
        "",
        "Goal: 30,000 series in <= 3 minutes on 2 quiet cores and < 4 GB.",
        "",
        "| series | months per series (median) | share of zero months (median) | n_jobs | seconds | peak RSS (GB, with workers) | data build (s) |",
        "|---|---|---|---|---|---|---|",
        f"| {n:,} | {int(lengths.median())} | {zero_share.median():.2f} | {args.n_jobs} | {secs:.1f} | {mem.peak / 1e9:.2f} | {t_data:.1f} |",
        "",
        f"Reconciliation: {hier.S.shape[0]:,} nodes ({hier.S.shape[0] - hier.S.shape[1]:,} aggregates over customer -> rep -> "
        f"province -> region -> company and product); forecasting the aggregates {t_agg:.1f} s; "
        + ", ".join(f"{m} {t:.1f} s" for m, t in rec_times.items())
        + f"; largest total-vs-sum-of-leaves gap after reconciliation {gap:.2e}; peak RSS {mem_rec.peak / 1e9:.2f} GB.",
        "",
        "Series served by each model:",
        "",
        "| model | series |",
        "|---|---|",
        *[f"| {m} | {c:,} |" for m, c in families.items()],
        "",
        dask_line,
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "forecast_scale.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
