"""Baseline forecasts, rolling-origin backtests and hierarchical reconciliation.

The forecast layer works on the long format ``unique_id, ds, y`` (one row per
series and period). Each series is routed to a model family by what its
history allows:

* ``seasonal``: long enough for a seasonal model: the evidence-based default
  combination (see ``DEFAULT_MODELS`` and benchmarks/results/forecast_competitions.md);
* ``nonseasonal``: too short for a seasonal model: a non-seasonal combination;
* ``intermittent``: many zero periods: intermittent-demand models (Croston, ADIDA, TSB);
* ``too_short``: fewer than ``MIN_OBS`` observations, or all zeros: the last value;
* a series whose models all fail is served by the naive model and listed in one warning.

Prediction intervals are conformal: the combination is refitted at earlier
origins (rolling-origin backtests), its errors at each horizon step are scaled
by each series' in-sample seasonal-naive error and pooled per family, and the
empirical quantiles of the scaled errors give the intervals. Short series
borrow the pool of their family, so every series gets intervals.

Everything is deterministic: the same input gives bit-identical output.
"""
from __future__ import annotations

import math
import os
import reprlib
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.errors import InputError, ParamsError, short_list

__all__ = [
    "DEFAULT_MODELS",
    "MODEL_NAMES",
    "BacktestResult",
    "Hierarchy",
    "aggregate_levels",
    "backtest",
    "baseline",
    "check_series",
    "detect_season_length",
    "grain_columns",
    "grain_levels",
    "hierarchy_from_frame",
    "reconcile",
    "season_length_for",
    "series_from_sales",
    "word",
]

#: The default combination for seasonal series, chosen by the M3 and Tourism backtests
#: (benchmarks/results/forecast_candidates.md): the mean of these four was the most
#: accurate combination whose run time fits the budget (AutoETS searches additive or
#: damped trends only: the full search is 3x slower and no better in combination).
DEFAULT_MODELS: tuple[str, ...] = ("AutoETS", "DynamicOptimizedTheta", "AutoCES", "Theta")
#: How the default combination is combined ("mean" or "median").
DEFAULT_COMBINE = "mean"
#: Models for series too short for a seasonal model.
NONSEASONAL_MODELS: tuple[str, ...] = ("AutoETS", "Theta")
#: Models for intermittent series.
INTERMITTENT_MODELS: tuple[str, ...] = ("CrostonOptimized", "ADIDA", "TSB")
#: Fewer observations than this: the last value is the forecast.
MIN_OBS = 4
#: The interval pool of a family must hold this many scaled errors per horizon step,
#: otherwise the steps are pooled together (errors scaled by sqrt(step)).
MIN_POOL_PER_STEP = 100

_OUT_COLS = ["unique_id", "ds", "yhat"]
_short_ids = reprlib.Repr()
_short_ids.maxlist = 6
_short_ids.maxstring = 40
_short_ids.maxother = 40

_FREQ_SEASON = {
    "MS": 12, "M": 12, "ME": 12, "SMS": 24,
    "QS": 4, "Q": 4, "QE": 4, "BQS": 4, "BQ": 4,
    "W": 52, "D": 7, "B": 5, "h": 24, "H": 24,
    "YS": 1, "Y": 1, "YE": 1, "AS": 1, "A": 1,
}


def _model_factory(name: str, season_length: int):
    """A fresh statsforecast model for a name (imported lazily: statsmodels is slow to import)."""
    from statsforecast import models as m

    sl = max(int(season_length), 1)
    makers = {
        # ETS search restricted to additive or no trend ("ZAZ" lets the trend be damped):
        # 3x faster than the full search and as accurate on M3 (benchmarks/results).
        "AutoETS": lambda: m.AutoETS(season_length=sl, model="ZAZ" if sl > 1 else "ZZN"),
        "AutoETSFull": lambda: m.AutoETS(season_length=sl, alias="AutoETSFull"),
        "DynamicOptimizedTheta": lambda: m.DynamicOptimizedTheta(season_length=sl),
        "DynamicTheta": lambda: m.DynamicTheta(season_length=sl),
        "OptimizedTheta": lambda: m.OptimizedTheta(season_length=sl),
        "Theta": lambda: m.Theta(season_length=sl),
        "AutoCES": lambda: m.AutoCES(season_length=sl, model="Z" if sl > 1 else "N"),
        "AutoARIMA": lambda: m.AutoARIMA(season_length=sl),
        "SeasonalNaive": lambda: m.SeasonalNaive(season_length=sl),
        "Naive": lambda: m.Naive(),
        "HistoricAverage": lambda: m.HistoricAverage(),
        "SimpleExponentialSmoothingOptimized": lambda: m.SimpleExponentialSmoothingOptimized(),
        "CrostonOptimized": lambda: m.CrostonOptimized(),
        "CrostonClassic": lambda: m.CrostonClassic(),
        "ADIDA": lambda: m.ADIDA(),
        "IMAPA": lambda: m.IMAPA(),
        "TSB": lambda: m.TSB(alpha_d=0.1, alpha_p=0.1),
    }
    return makers[name]()


MODEL_NAMES: tuple[str, ...] = (
    "AutoETS", "AutoETSFull", "DynamicOptimizedTheta", "DynamicTheta", "OptimizedTheta", "Theta",
    "AutoCES", "AutoARIMA", "SeasonalNaive", "Naive", "HistoricAverage",
    "SimpleExponentialSmoothingOptimized", "CrostonOptimized", "CrostonClassic", "ADIDA", "IMAPA", "TSB",
)


class _Failed:
    """statsforecast fallback that marks a failed fit with NaN, so we can see and list it."""

    uses_exog = False
    alias = "_Failed"

    def new(self):
        return _Failed()

    def __repr__(self) -> str:
        return self.alias

    def forecast(self, y, h, X=None, X_future=None, level=None, fitted=False):
        return {"mean": np.full(h, np.nan)}

    def fit(self, y, X=None):
        return self

    def predict(self, h, X=None, level=None):
        return {"mean": np.full(h, np.nan)}


# ----------------------------------------------------------------------------- season length
def season_length_for(freq: str) -> int | None:
    """The usual season length of a pandas frequency: MS→12, QS→4, W→52, D→7 (None if unknown).

    >>> season_length_for("MS"), season_length_for("QS-JAN"), season_length_for("W-MON")
    (12, 4, 52)
    """
    if not isinstance(freq, str) or not freq:
        return None
    base = freq.split("-")[0]
    base = base.lstrip("0123456789") or base
    return _FREQ_SEASON.get(base)


def detect_season_length(
    df: pd.DataFrame, freq: str | None = None, *, candidates: Sequence[int] = (4, 7, 12, 24, 52), min_acf: float = 0.3
) -> int:
    """Season length from ``freq`` when known, else the lag with the strongest autocorrelation.

    The autocorrelation of the (differenced) series is averaged over all series,
    weighting each by its length; a candidate lag must reach ``min_acf`` and the
    series must cover two cycles, otherwise the data is taken as non-seasonal (1).
    """
    known = season_length_for(freq) if freq else None
    if known is not None:
        return known
    best, best_acf = 1, min_acf
    groups = [g.to_numpy(float) for _, g in df.sort_values(["unique_id", "ds"]).groupby("unique_id", sort=True)["y"]]
    for lag in candidates:
        num = den = 0.0
        for y in groups:
            y = y[np.isfinite(y)]
            if y.size < 2 * lag + 2:
                continue
            d = np.diff(y)
            d = d - d.mean()
            var = float(d @ d)
            if var <= 0:
                continue
            num += float(d[lag:] @ d[:-lag]) / var * d.size
            den += d.size
        if den and num / den > best_acf:
            best, best_acf = lag, num / den
    return best


# ----------------------------------------------------------------------------- input checks
def _check_frame(df: pd.DataFrame, who: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ParamsError(f"The 'df' parameter of {who} must be a pandas DataFrame. Got {type(df).__name__} instead.")
    missing = [c for c in ("unique_id", "ds", "y") if c not in df.columns]
    if missing:
        raise InputError(
            f"{who}: the series table lacks column(s) {short_list(missing)}; expected the long format "
            f"unique_id, ds, y (got columns {short_list(list(df.columns))})."
        )
    out = df[["unique_id", "ds", "y"]].copy()
    if not pd.api.types.is_datetime64_any_dtype(out["ds"]):
        try:
            out["ds"] = pd.to_datetime(out["ds"])
        except (TypeError, ValueError):
            raise InputError(f"{who}: column 'ds' must hold dates; got values such as {short_list(out['ds'].head(3).tolist())}.") from None
    if not pd.api.types.is_numeric_dtype(out["y"]):
        raise InputError(f"{who}: column 'y' must be numeric; got dtype {out['y'].dtype}.")
    out["y"] = out["y"].astype("float64")
    if out["unique_id"].isna().any():
        raise InputError(f"{who}: column 'unique_id' has {int(out['unique_id'].isna().sum())} empty value(s).")
    if out["ds"].isna().any():
        bad = out.loc[out["ds"].isna(), "unique_id"].unique()
        raise InputError(f"{who}: column 'ds' has empty dates in series {short_list(bad)}.")
    dup = out.duplicated(["unique_id", "ds"], keep=False)
    if dup.any():
        ex = out.loc[dup, ["unique_id", "ds"]].drop_duplicates().head(5)
        pairs = [f"{u} {d:%Y-%m-%d}" for u, d in ex.itertuples(index=False)]
        raise InputError(
            f"{who}: {int(dup.sum())} rows repeat a (unique_id, ds) pair, e.g. {short_list(pairs)}; "
            "expected one row per series and period (aggregate first)."
        )
    return out.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)


def check_series(df: pd.DataFrame, freq: str, *, fill_gaps: bool = False, who: str = "forecast") -> pd.DataFrame:
    """Validate the long frame and make each series a complete run of periods.

    Dates must sit on the ``freq`` grid (e.g. month starts for ``"MS"``).
    Missing periods inside a series raise :class:`InputError` listing the series and
    dates, unless ``fill_gaps`` is true, in which case they are filled with zeros.
    Returns a copy sorted by ``unique_id, ds``.
    """
    out = _check_frame(df, who)
    if out.empty:
        raise InputError(f"{who}: the series table is empty; expected at least one row of unique_id, ds, y.")
    try:
        grid = pd.date_range(out["ds"].min(), out["ds"].max(), freq=freq)
    except (ValueError, TypeError):
        raise ParamsError(f"The 'freq' parameter of {who} must be a pandas frequency such as 'MS', 'QS', 'W-MON' or 'D'. Got {freq!r} instead.") from None
    pos = grid.get_indexer(out["ds"])
    if (pos < 0).any():
        bad = out.loc[pos < 0]
        ex = [f"{u} {d:%Y-%m-%d}" for u, d in bad[["unique_id", "ds"]].head(5).itertuples(index=False)]
        raise InputError(
            f"{who}: {len(bad)} date(s) in column 'ds' are not on the {freq!r} grid, e.g. {short_list(ex)}; "
            f"expected period starts of frequency {freq!r} (aggregate the data to that frequency first)."
        )
    out["_pos"] = pos
    g = out.groupby("unique_id", sort=False)["_pos"]
    span = g.transform("max") - g.transform("min") + 1
    count = g.transform("size")
    gappy = out.loc[span != count, "unique_id"].unique()
    if len(gappy):
        if not fill_gaps:
            missing_rows = []
            for uid in gappy[:5]:
                have = out.loc[out["unique_id"] == uid, "_pos"].to_numpy()
                full = np.arange(have.min(), have.max() + 1)
                miss = np.setdiff1d(full, have)
                missing_rows.append(f"{uid!r}: {short_list([f'{d:%Y-%m-%d}' for d in grid[miss]], 4)}")
            raise InputError(
                f"{who}: {len(gappy)} series have missing periods: {'; '.join(missing_rows)}"
                + (f" (and {len(gappy) - 5} more series)" if len(gappy) > 5 else "")
                + ". Expected one row per period from each series' first to last date; "
                "pass fill_gaps=True to fill missing periods with zeros."
            )
        lo = out.groupby("unique_id", sort=True)["_pos"].agg(["min", "max"])
        lengths = (lo["max"] - lo["min"] + 1).to_numpy()
        ids = np.repeat(lo.index.to_numpy(), lengths)
        starts = np.repeat(lo["min"].to_numpy(), lengths)
        offs = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        full = pd.DataFrame({"unique_id": ids, "_pos": starts + offs})
        full = full.merge(out[["unique_id", "_pos", "y"]], on=["unique_id", "_pos"], how="left")
        full["y"] = full["y"].fillna(0.0)
        full["ds"] = grid[full["_pos"].to_numpy()]
        out = full
    return out[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)


def _check_common(h: int, level: Iterable[int], who: str) -> tuple[int, ...]:
    if not isinstance(h, (int, np.integer)) or isinstance(h, bool) or h < 1:
        raise ParamsError(f"The 'h' parameter of {who} must be a positive integer. Got {h!r} instead.")
    levels = tuple(int(v) for v in level)
    if any(not 0 < v < 100 for v in levels):
        raise ParamsError(f"The 'level' parameter of {who} must hold percentages strictly between 0 and 100. Got {list(level)!r} instead.")
    return tuple(sorted(set(levels)))


def _check_models(models: Sequence[str] | None, who: str) -> tuple[tuple[str, ...], str]:
    if models is None:
        return DEFAULT_MODELS, DEFAULT_COMBINE
    if isinstance(models, str):
        models = [models]
    models = list(models)
    combine = DEFAULT_COMBINE
    if models and models[0] in ("mean", "median"):
        combine, models = models[0], models[1:]
    unknown = [m for m in models if m not in MODEL_NAMES]
    if not models or unknown:
        raise ParamsError(
            f"The 'models' parameter of {who} must be a list of model names from {', '.join(MODEL_NAMES)} "
            f"(optionally starting with 'mean' or 'median'). Got {models!r} instead."
        )
    if len(set(models)) != len(models):
        raise ParamsError(f"The 'models' parameter of {who} must not repeat a model. Got {models!r} instead.")
    return tuple(models), combine


def _resolve_jobs(n_jobs: int | None, n_series: int) -> int:
    if n_jobs is None:
        # Process start-up costs more than it saves on small batches.
        return 1 if n_series < 200 else max(os.cpu_count() or 1, 1)
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise ParamsError(f"The 'n_jobs' parameter must be a positive integer, -1 (all cores) or None. Got {n_jobs!r} instead.")
    return max(os.cpu_count() or 1, 1) if n_jobs == -1 else int(n_jobs)


# ----------------------------------------------------------------------------- routing and fitting
@dataclass(frozen=True)
class _Plan:
    season_length: int
    models: tuple[str, ...]
    combine: str
    intermittent_threshold: float
    n_jobs: int


def _label(combine: str, names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{combine}({', '.join(names)})"


def _families(plan: _Plan) -> dict[str, tuple[tuple[str, ...], str, int]]:
    """family -> (model names, combine, season length used)."""
    sl = plan.season_length
    return {
        "seasonal": (plan.models, plan.combine, sl),
        "nonseasonal": (NONSEASONAL_MODELS, "mean", 1),
        "intermittent": (INTERMITTENT_MODELS, "mean", 1),
        "too_short": (("Naive",), "mean", 1),
    }


def _route(train: pd.DataFrame, plan: _Plan) -> pd.Series:
    """Family of each series (index unique_id) from its length and share of zero periods."""
    ids = train["unique_id"].to_numpy()
    is_zero = pd.Series((train["y"].to_numpy() == 0).astype(float))
    n = train.groupby("unique_id", sort=True).size()
    zero_share = is_zero.groupby(ids, sort=True).mean().reindex(n.index)
    all_zero = zero_share >= 1.0
    sl = plan.season_length
    fam = pd.Series("seasonal", index=n.index, dtype=object)
    if sl <= 1:
        fam[:] = "nonseasonal"
    else:
        fam[n < 2 * sl + 2] = "nonseasonal"
    fam[zero_share > plan.intermittent_threshold] = "intermittent"
    fam[(n < MIN_OBS) | all_zero] = "too_short"
    return fam


def _sf_forecast(train: pd.DataFrame, names: Sequence[str], sl: int, h: int, freq: str, n_jobs: int) -> pd.DataFrame:
    from statsforecast import StatsForecast

    models = [_model_factory(n, sl) for n in names]
    for name, model in zip(names, models):
        model.alias = name
    jobs = 1 if train["unique_id"].nunique() < 200 else n_jobs
    sf = StatsForecast(models=models, freq=freq, n_jobs=jobs, fallback_model=_Failed())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = sf.forecast(df=train, h=h)
    fc = fc.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)
    return fc


def _fit_raw(train: pd.DataFrame, h: int, freq: str, plan: _Plan) -> pd.DataFrame:
    """Point forecasts of every series: unique_id, ds, yhat, model, family, failed + component columns."""
    fams = _families(plan)
    route = _route(train, plan)
    parts = []
    for fam, (names, combine, sl) in fams.items():
        ids = route.index[route == fam]
        if len(ids) == 0:
            continue
        sub = train[train["unique_id"].isin(ids)]
        fc = _sf_forecast(sub, names, sl, h, freq, plan.n_jobs)
        comp = fc[list(names)].to_numpy(float)
        comp[~np.isfinite(comp)] = np.nan
        ok = ~np.isnan(comp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            yhat = np.nanmedian(comp, axis=1) if combine == "median" else np.nanmean(comp, axis=1)
        fc["yhat"] = yhat
        # A series is degraded when a component failed at any step; label what served it.
        per_series_ok = pd.DataFrame(ok, columns=list(names)).groupby(fc["unique_id"].to_numpy(), sort=False).all()
        code = per_series_ok.to_numpy() @ (1 << np.arange(len(names)))
        labels = {}
        for c in np.unique(code):
            used = [n for i, n in enumerate(names) if c >> i & 1]
            labels[c] = _label(combine, used) if used else ""
        full = (1 << len(names)) - 1
        fc["model"] = fc["unique_id"].map(pd.Series([labels[c] for c in code], index=per_series_ok.index))
        fc["failed"] = fc["unique_id"].map(pd.Series(code != full, index=per_series_ok.index)).astype(bool)
        fc["family"] = fam
        fc = fc.rename(columns={n: f"comp_{n}" for n in names})
        parts.append(fc)
    out = pd.concat(parts, ignore_index=True)
    # Series whose every component failed: the last value serves them.
    dead = out.loc[out["model"] == "", "unique_id"].unique()
    if len(dead):
        last = train[train["unique_id"].isin(dead)].groupby("unique_id", sort=True)["y"].agg(
            lambda s: float(s[np.isfinite(s)].iloc[-1]) if np.isfinite(s).any() else 0.0
        )
        mask = out["unique_id"].isin(dead)
        out.loc[mask, "yhat"] = out.loc[mask, "unique_id"].map(last).to_numpy()
        out.loc[mask, "model"] = "Naive (fallback)"
    out["yhat"] = out["yhat"].fillna(0.0)
    return out.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)


def _scales(train: pd.DataFrame, sl: int) -> pd.Series:
    """In-sample mean absolute seasonal-naive error of each series (the MASE scale).

    Lag 1 for series no longer than a season; a perfectly repeating series is scaled by its level.
    """
    y = train["y"].where(np.isfinite(train["y"]))
    g = y.groupby(train["unique_id"].to_numpy(), sort=True)
    n = g.count()
    d1 = (y - g.shift(1)).abs().groupby(train["unique_id"].to_numpy(), sort=True).mean()
    if sl > 1:
        ds = (y - g.shift(sl)).abs().groupby(train["unique_id"].to_numpy(), sort=True).mean()
        sc = ds.where(n > sl, d1)
    else:
        sc = d1
    level = y.abs().groupby(train["unique_id"].to_numpy(), sort=True).mean().fillna(0.0)
    sc = sc.fillna(0.0)
    sc = sc.where(sc > 1e-9 * level, level)
    return sc.where(sc > 0, 1.0).astype(float)


def _truncate(df: pd.DataFrame, offset: int, h: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop each series' last ``offset`` periods; the next ``h`` of them are the test."""
    rev = df.groupby("unique_id", sort=False).cumcount(ascending=False).to_numpy()
    train = df[rev >= offset]
    test = df[(rev < offset) & (rev >= offset - h)]
    keep = train.groupby("unique_id", sort=False).size()
    keep = keep.index[keep >= 1]
    return train[train["unique_id"].isin(keep)], test[test["unique_id"].isin(keep)]


def _window(df: pd.DataFrame, offset: int, h: int, freq: str, plan: _Plan, ids: np.ndarray | None = None) -> pd.DataFrame:
    """Raw forecasts from the origin ``offset`` periods before each series' end, with actuals and scales."""
    if ids is not None:
        df = df[df["unique_id"].isin(ids)]
    train, test = _truncate(df, offset, h)
    if train.empty or test.empty:
        return pd.DataFrame()
    fc = _fit_raw(train, h, freq, plan)
    fc["step"] = fc.groupby("unique_id", sort=False).cumcount() + 1
    test = test.assign(step=test.groupby("unique_id", sort=False).cumcount() + 1)
    out = fc.merge(test[["unique_id", "step", "y"]], on=["unique_id", "step"], how="inner")
    out["ds"] = out["ds"].where(out["ds"].notna())
    sc = _scales(train, plan.season_length)
    out["scale"] = out["unique_id"].map(sc).to_numpy()
    cutoff = train.groupby("unique_id", sort=True)["ds"].max()
    out["cutoff"] = out["unique_id"].map(cutoff).to_numpy()
    out["offset"] = offset
    return out


def _conformal_quantile(values: np.ndarray, q: float) -> float:
    """Split-conformal quantile: the ceil((n+1) q)-th smallest value (the max when n is small)."""
    v = np.sort(values[np.isfinite(values)])
    if v.size == 0:
        return float("nan")
    k = min(math.ceil((v.size + 1) * q), v.size) - 1
    return float(v[max(k, 0)])


def _calibrate(windows: pd.DataFrame, h: int, levels: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Per family: array (len(levels), 2, h) of scaled-error quantiles (lower, upper) per step."""
    out: dict[str, np.ndarray] = {}
    if windows.empty:
        return out
    w = windows[np.isfinite(windows["y"]) & (windows["scale"] > 0)]
    err = ((w["y"] - w["yhat"]) / w["scale"]).to_numpy()
    fam_all = w["family_final"].to_numpy()
    steps = w["step"].to_numpy()

    def table(mask: np.ndarray) -> np.ndarray | None:
        e, st = err[mask], steps[mask]
        if e.size == 0:
            return None
        res = np.full((len(levels), 2, h), np.nan)
        per_step = np.bincount(st, minlength=h + 1)[1:]
        pooled = per_step.min() < MIN_POOL_PER_STEP
        for i, lv in enumerate(levels):
            a = (1 - lv / 100) / 2
            for k in range(1, h + 1):
                if pooled:
                    # Few errors per step: pool the steps, errors grow like sqrt(step).
                    z = e / np.sqrt(st)
                    lo, hi = -_conformal_quantile(-z, 1 - a), _conformal_quantile(z, 1 - a)
                    res[i, :, k - 1] = (lo * math.sqrt(k), hi * math.sqrt(k))
                else:
                    ek = e[st == k]
                    res[i, :, k - 1] = (-_conformal_quantile(-ek, 1 - a), _conformal_quantile(ek, 1 - a))
            # Intervals never narrow with the horizon, and always contain the point forecast.
            res[i, 0] = np.minimum.accumulate(np.minimum(res[i, 0], 0.0))
            res[i, 1] = np.maximum.accumulate(np.maximum(res[i, 1], 0.0))
        return res

    overall = table(np.ones(err.size, bool))
    for fam in sorted(set(fam_all)):
        mask = fam_all == fam
        t = table(mask) if mask.sum() >= 30 else None
        out[fam] = t if t is not None else overall
    out["_all"] = overall
    return out


def _apply_intervals(fc: pd.DataFrame, scales: pd.Series, q: dict[str, np.ndarray], levels: tuple[int, ...], h: int) -> pd.DataFrame:
    step = fc.groupby("unique_id", sort=False).cumcount().to_numpy()
    scale = fc["unique_id"].map(scales).to_numpy(float)
    yhat = fc["yhat"].to_numpy(float)
    fam = fc["family"].to_numpy()
    for i, lv in enumerate(levels):
        lo = np.full(len(fc), np.nan)
        hi = np.full(len(fc), np.nan)
        for f in np.unique(fam):
            table = q.get(f, q.get("_all"))
            m = fam == f
            if table is None:
                # No backtest was possible (every series too short): a naive random-walk band.
                z = _normal_z(lv)
                width = z * np.sqrt(step[m] + 1)
                lo[m], hi[m] = -width, width
            else:
                lo[m] = table[i, 0, np.minimum(step[m], h - 1)]
                hi[m] = table[i, 1, np.minimum(step[m], h - 1)]
        fc[f"yhat_lo_{lv}"] = np.maximum(yhat + lo * scale, 0.0)
        fc[f"yhat_hi_{lv}"] = np.maximum(yhat + hi * scale, 0.0)
    return fc


def _normal_z(level: int) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 200))


def _warn_failed(fc: pd.DataFrame, who: str) -> None:
    failed = fc.loc[fc["failed"], ["unique_id", "model"]].drop_duplicates("unique_id")
    if len(failed):
        warnings.warn(
            f"{who}: the models failed for {len(failed)} series {_short_ids.repr(failed['unique_id'].tolist())}; "
            f"they were forecast by the remaining models or the last value (see the 'model' column).",
            RuntimeWarning,
            stacklevel=3,
        )


def _prepare(df, h, freq, season_length, models, level, n_jobs, fill_gaps, intermittent_threshold, who):
    levels = _check_common(h, level, who)
    names, combine = _check_models(models, who)
    if not 0 < intermittent_threshold <= 1:
        raise ParamsError(f"The 'intermittent_threshold' parameter of {who} must be in (0, 1]. Got {intermittent_threshold!r} instead.")
    data = check_series(df, freq, fill_gaps=fill_gaps, who=who)
    if season_length is None:
        sl = detect_season_length(data, freq)
    else:
        if not isinstance(season_length, (int, np.integer)) or season_length < 1:
            raise ParamsError(f"The 'season_length' parameter of {who} must be a positive integer or None. Got {season_length!r} instead.")
        sl = int(season_length)
    finite = np.isfinite(data["y"].to_numpy())
    bad_ids = sorted(data.loc[~finite, "unique_id"].unique().tolist())
    if bad_ids:
        warnings.warn(
            f"{who}: {len(bad_ids)} series have missing or infinite values in 'y' "
            f"{_short_ids.repr(bad_ids)}; those periods were treated as zero.",
            RuntimeWarning,
            stacklevel=3,
        )
        data.loc[~np.isfinite(data["y"]), "y"] = 0.0
    plan = _Plan(sl, names, combine, float(intermittent_threshold), _resolve_jobs(n_jobs, data["unique_id"].nunique()))
    return data, plan, levels


def _final_families(data: pd.DataFrame, plan: _Plan) -> pd.Series:
    return _route(data, plan)


# ----------------------------------------------------------------------------- public verbs
def baseline(
    df: pd.DataFrame,
    *,
    h: int,
    freq: str,
    season_length: int | None = None,
    models: Sequence[str] | None = None,
    level: Iterable[int] = (80, 95),
    n_jobs: int | None = None,
    fill_gaps: bool = False,
    return_components: bool = False,
    calibration_windows: int = 1,
    calibration_sample: int | None = 500,
    intermittent_threshold: float = 0.3,
    calendar_factors: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Baseline forecast with calibrated prediction intervals for every series.

    Parameters
    ----------
    df : DataFrame
        Long format ``unique_id, ds, y``: one row per series and period.
    h : int
        Periods ahead.
    freq : str
        pandas frequency of ``ds`` (``"MS"``, ``"QS"``, ``"W-MON"``, ``"D"``).
    season_length : int, default=None
        Periods per season; detected from ``freq`` (MS→12, QS→4, W→52, D→7) or
        by autocorrelation when None.
    models : list of str, default=None
        Models to combine for seasonal series (names in ``MODEL_NAMES``; may start with
        ``"mean"`` or ``"median"``). Default: ``DEFAULT_MODELS`` combined by ``DEFAULT_COMBINE``.
    level : iterable of int, default=(80, 95)
        Prediction interval levels in percent.
    n_jobs : int, default=None
        Processes (None: all cores for batches of 200 series or more, else 1).
    fill_gaps : bool, default=False
        Fill missing periods with zeros instead of raising :class:`InputError`.
    return_components : bool, default=False
        Add a ``comp_<model>`` column per component model.
    calibration_windows : int, default=1
        Rolling-origin backtests (each ``h`` periods before the last) whose errors
        calibrate the intervals.
    calibration_sample : int or None, default=500
        At most this many series of each model family are refitted for calibration
        (evenly spread over the sorted ids); pooled quantiles need no more. None: all.
    intermittent_threshold : float, default=0.3
        Share of zero periods above which a series is intermittent.
    calendar_factors : DataFrame, optional
        ``ds, factor``: how a moving holiday scales each period (e.g. the Spring Festival,
        from :func:`salesmodel.seasonality.spring_festival_period_factors`). The history is
        divided by it before fitting and the forecasts (and intervals) multiplied by it, so a
        festival that moved between January and February does not blur the season.

    Returns
    -------
    DataFrame
        ``unique_id, ds, yhat, yhat_lo_<l>, yhat_hi_<l>`` (for each level), ``model``;
        never below zero.

    Examples
    --------
    >>> ds = pd.date_range("2020-01-01", periods=48, freq="MS")
    >>> y = 100 + 20 * np.sin(2 * np.pi * np.arange(48) / 12)
    >>> fc = baseline(pd.DataFrame({"unique_id": "a", "ds": ds, "y": y}), h=12, freq="MS")
    >>> list(fc.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['unique_id', 'ds', 'yhat', 'yhat_lo_80', 'yhat_hi_80', 'yhat_lo_95', 'yhat_hi_95', 'model']
    """
    who = "baseline"
    if not isinstance(calibration_windows, (int, np.integer)) or calibration_windows < 1:
        raise ParamsError(f"The 'calibration_windows' parameter of {who} must be a positive integer. Got {calibration_windows!r} instead.")
    data, plan, levels = _prepare(df, h, freq, season_length, models, level, n_jobs, fill_gaps, intermittent_threshold, who)
    factor = _factor_map(calendar_factors, who)
    if factor is not None:
        data["y"] = data["y"] / data["ds"].map(factor).fillna(1.0).to_numpy()
    out = _baseline_from(data, h, freq, plan, levels, return_components, calibration_windows, cache={}, who=who,
                         calibration_sample=calibration_sample)
    if factor is not None:
        f = out["ds"].map(factor).fillna(1.0).to_numpy()
        for c in [c for c in out.columns if c == "yhat" or c.startswith(("yhat_", "comp_"))]:
            out[c] = out[c].to_numpy(float) * f
    return out


def _factor_map(calendar_factors: pd.DataFrame | None, who: str) -> pd.Series | None:
    if calendar_factors is None:
        return None
    if not isinstance(calendar_factors, pd.DataFrame) or not {"ds", "factor"} <= set(calendar_factors.columns):
        raise ParamsError(f"The 'calendar_factors' parameter of {who} must be a DataFrame with columns ds and factor. Got {type(calendar_factors).__name__} instead.")
    f = calendar_factors.assign(ds=pd.to_datetime(calendar_factors["ds"])).drop_duplicates("ds").set_index("ds")["factor"].astype(float)
    bad = ~(np.isfinite(f.to_numpy()) & (f.to_numpy() > 0))
    if bad.any():
        raise ParamsError(f"The 'calendar_factors' parameter of {who} must hold positive factors. Got {short_list(f[bad].head(3).tolist())} instead.")
    return f


def _baseline_from(data, h, freq, plan, levels, return_components, calibration_windows, cache, who, offset=0, calibration_sample=None):
    """Forecast from ``offset`` periods before each end, calibrated on windows further back."""
    if offset:
        train, _ = _truncate(data, offset, h)
    else:
        train = data
    fc = _cached_window(cache, data, offset, h, freq, plan) if offset else _fit_raw(train, h, freq, plan)
    if offset:
        fc = fc.drop(columns=["y", "scale", "cutoff", "offset", "step"], errors="ignore")
    fams = _route(train, plan)
    sample = _calibration_ids(fams, calibration_sample)
    cal = []
    for j in range(1, calibration_windows + 1):
        w = _cached_window(cache, data, offset + j * h, h, freq, plan, sample)
        if not w.empty:
            w = w.assign(family_final=w["unique_id"].map(fams).to_numpy())
            w = w[w["family_final"].notna()]
            cal.append(w)
    windows = pd.concat(cal, ignore_index=True) if cal else pd.DataFrame()
    q = _calibrate(windows, h, levels)
    fc = _apply_intervals(fc, _scales(train, plan.season_length), q, levels, h)
    fc["yhat"] = np.maximum(fc["yhat"].to_numpy(float), 0.0)
    if offset == 0:
        _warn_failed(fc, who)
    cols = ["unique_id", "ds", "yhat"]
    for lv in levels:
        cols += [f"yhat_lo_{lv}", f"yhat_hi_{lv}"]
    cols += ["model"]
    if return_components:
        cols += sorted(c for c in fc.columns if c.startswith("comp_"))
    return fc[cols].reset_index(drop=True)


def _cached_window(cache: dict, data, offset, h, freq, plan, ids: np.ndarray | None = None) -> pd.DataFrame:
    """Raw window forecasts, computed once per origin; a full window also serves a sampled request."""
    hit = cache.get(offset)
    if hit is not None and (hit[1] or ids is not None):
        return hit[0]
    cache[offset] = (_window(data, offset, h, freq, plan, ids), ids is None)
    return cache[offset][0]


def _calibration_ids(fams: pd.Series, per_family: int | None) -> np.ndarray | None:
    """Series whose backtest errors calibrate the intervals: up to ``per_family`` of each
    family, evenly spread over the sorted ids (deterministic); None means all."""
    if per_family is None or (fams.value_counts() <= per_family).all():
        return None
    keep = []
    for fam in sorted(fams.unique()):
        ids = np.sort(fams.index[fams == fam].to_numpy())
        if len(ids) > per_family:
            ids = ids[np.unique(np.linspace(0, len(ids) - 1, per_family).round().astype(int))]
        keep.append(ids)
    return np.concatenate(keep)


@dataclass
class BacktestResult:
    """Rolling-origin backtest: ``forecasts`` (each window's rows), ``per_series`` and ``overall``.

    ``per_series``: unique_id, model, n_windows, smape, mase, coverage_<l>.
    ``overall``: one row per model family and one for all series ("all"): series, smape,
    mase (mean over series), coverage_<l> (share of all test points inside the interval).
    """

    forecasts: pd.DataFrame
    per_series: pd.DataFrame
    overall: pd.DataFrame
    levels: tuple[int, ...] = field(default=(80, 95))

    def summary(self) -> dict[str, float]:
        """The overall figures for all series as a plain dict."""
        row = self.overall.loc[self.overall["family"] == "all"].iloc[0]
        return {k: float(v) for k, v in row.items() if k != "family"}


def backtest(
    df: pd.DataFrame,
    *,
    h: int,
    n_windows: int = 2,
    step_size: int | None = None,
    freq: str,
    season_length: int | None = None,
    models: Sequence[str] | None = None,
    level: Iterable[int] = (80, 95),
    n_jobs: int | None = None,
    fill_gaps: bool = False,
    calibration_windows: int = 1,
    calibration_sample: int | None = 500,
    intermittent_threshold: float = 0.3,
    calendar_factors: pd.DataFrame | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation of :func:`baseline` per series and overall.

    Window ``k`` (0 = the latest) forecasts ``h`` periods from ``h + k * step_size``
    periods before each series' end, with intervals calibrated only on errors known
    at that origin (windows further back), exactly as :func:`baseline` does.

    Returns
    -------
    BacktestResult
        ``forecasts`` (unique_id, cutoff, ds, y, yhat, intervals, model, family),
        ``per_series`` (sMAPE, MASE, coverage, model) and ``overall``.

    Examples
    --------
    >>> ds = pd.date_range("2018-01-01", periods=72, freq="MS")
    >>> y = 100 + 20 * np.sin(2 * np.pi * np.arange(72) / 12)
    >>> bt = backtest(pd.DataFrame({"unique_id": "a", "ds": ds, "y": y}), h=6, n_windows=2, freq="MS")
    >>> bt.summary()["smape"] < 1
    True
    """
    who = "backtest"
    if not isinstance(n_windows, (int, np.integer)) or n_windows < 1:
        raise ParamsError(f"The 'n_windows' parameter of {who} must be a positive integer. Got {n_windows!r} instead.")
    step = h if step_size is None else step_size
    if not isinstance(step, (int, np.integer)) or step < 1:
        raise ParamsError(f"The 'step_size' parameter of {who} must be a positive integer or None. Got {step_size!r} instead.")
    data, plan, levels = _prepare(df, h, freq, season_length, models, level, n_jobs, fill_gaps, intermittent_threshold, who)
    factor = _factor_map(calendar_factors, who)
    if factor is not None:
        data["y"] = data["y"] / data["ds"].map(factor).fillna(1.0).to_numpy()
    cache: dict[int, pd.DataFrame] = {}
    rows = []
    for k in range(n_windows):
        offset = h + k * step
        w = _cached_window(cache, data, offset, h, freq, plan)
        if w.empty:
            continue
        fc = _baseline_from(data, h, freq, plan, levels, False, calibration_windows, cache, who, offset=offset,
                            calibration_sample=calibration_sample)
        fc = fc.merge(w[["unique_id", "ds", "y", "cutoff", "family", "scale"]], on=["unique_id", "ds"], how="inner")
        fc["window"] = k
        rows.append(fc)
    if not rows:
        raise InputError(f"{who}: no series is longer than h={h} periods; nothing can be backtested.")
    fcs = pd.concat(rows, ignore_index=True)
    if factor is not None:
        fac = fcs["ds"].map(factor).fillna(1.0).to_numpy()
        for c in [c for c in fcs.columns if c in ("y", "yhat") or c.startswith("yhat_")]:
            fcs[c] = fcs[c].to_numpy(float) * fac
        fcs["scale"] = fcs["scale"].to_numpy(float)  # errors stay scaled by the adjusted history
    y, f = fcs["y"].to_numpy(float), fcs["yhat"].to_numpy(float)
    den = np.abs(y) + np.abs(f)
    fcs["_smape"] = np.where(den > 0, 200 * np.abs(y - f) / np.where(den > 0, den, 1), 0.0)
    fcs["_ae_scaled"] = np.abs(y - f) / fcs["scale"].to_numpy(float)
    agg = {"model": ("model", "last"), "family": ("family", "last"), "n_windows": ("window", "nunique"),
           "smape": ("_smape", "mean"), "mase": ("_ae_scaled", "mean")}
    for lv in levels:
        tol = 1e-9 * (np.abs(y) + 1)  # float noise on zero-width intervals
        fcs[f"_in_{lv}"] = ((y >= fcs[f"yhat_lo_{lv}"] - tol) & (y <= fcs[f"yhat_hi_{lv}"] + tol)).astype(float)
        agg[f"coverage_{lv}"] = (f"_in_{lv}", "mean")
    per = fcs.groupby("unique_id", sort=True).agg(**agg).reset_index()
    overall = []
    for fam, part in [("all", fcs)] + list(fcs.groupby("family", sort=True)):
        ps = per[per["unique_id"].isin(part["unique_id"].unique())] if fam != "all" else per
        row = {"family": fam, "series": len(ps), "smape": ps["smape"].mean(), "mase": ps["mase"].mean()}
        for lv in levels:
            row[f"coverage_{lv}"] = part[f"_in_{lv}"].mean()
        overall.append(row)
    keep = ["unique_id", "window", "cutoff", "ds", "y", "yhat"]
    for lv in levels:
        keep += [f"yhat_lo_{lv}", f"yhat_hi_{lv}"]
    keep += ["model", "family"]
    return BacktestResult(fcs[keep], per, pd.DataFrame(overall), levels)

# ----------------------------------------------------------------------------- reconciliation
#: Above this many nodes MinT uses a diagonal covariance (a dense one would not fit in memory).
MAX_DENSE_NODES = 2000


@dataclass
class Hierarchy:
    """Which bottom series add up to which aggregate.

    ``S`` is the (sparse) summing matrix, nodes × bottom series; ``nodes`` has one row per
    node (``unique_id``, ``level`` and the key columns that define it, empty where the
    level does not use them); ``bottom`` lists the bottom ``unique_id`` in column order of ``S``.
    """

    S: Any
    nodes: pd.DataFrame
    bottom: list[str]

    @property
    def is_bottom(self) -> np.ndarray:
        return self.nodes["level"].to_numpy() == self.nodes["level"].iloc[-1]


def _node_id(cols: Sequence[str], values: Sequence[Any]) -> str:
    if not cols:
        return "total"
    return "/".join(f"{c}={v}" for c, v in zip(cols, values))


def hierarchy_from_frame(keys: pd.DataFrame, levels: Sequence[Sequence[str]]) -> Hierarchy:
    """Build a hierarchy from the key columns of the bottom series.

    Parameters
    ----------
    keys : DataFrame
        One row per bottom series with its key columns (e.g. region, province, rep,
        customer_id, product).
    levels : list of lists of column names
        Each level is a grouping of the bottom series, from the top (``[]`` is the company
        total) to the bottom (the columns that identify a bottom series). Crossed groupings
        (e.g. ``["product"]`` next to ``["region"]``) are allowed: every grouping is a level.

    Node ids are ``"total"`` or ``"col=value/col=value"``.

    Examples
    --------
    >>> keys = pd.DataFrame({"region": ["N", "N", "S"], "rep": ["a", "b", "c"]})
    >>> hier = hierarchy_from_frame(keys, [[], ["region"], ["region", "rep"]])
    >>> hier.nodes["unique_id"].tolist()
    ['total', 'region=N', 'region=S', 'region=N/rep=a', 'region=N/rep=b', 'region=S/rep=c']
    """
    from scipy import sparse

    levels = [list(lv) for lv in levels]
    if not levels:
        raise ParamsError("The 'levels' parameter of hierarchy_from_frame must list at least the bottom level. Got [] instead.")
    cols = sorted({c for lv in levels for c in lv})
    missing = [c for c in cols if c not in keys.columns]
    if missing:
        raise InputError(f"hierarchy_from_frame: the keys table lacks column(s) {short_list(missing)} (has {short_list(list(keys.columns))}).")
    bottom_cols = levels[-1]
    k = keys[cols].drop_duplicates().sort_values(bottom_cols, kind="mergesort").reset_index(drop=True)
    dup = k.duplicated(bottom_cols, keep=False)
    if dup.any():
        ex = k.loc[dup, bottom_cols].head(3).to_dict("records")
        raise InputError(
            f"hierarchy_from_frame: the bottom level {bottom_cols} does not identify one series: rows such as {ex} "
            "belong to different groups of an upper level (e.g. a customer under two reps)."
        )
    n_b = len(k)
    bottom_ids = [_node_id(bottom_cols, r) for r in k[bottom_cols].itertuples(index=False)]
    rows, cols_idx, node_rows = [], [], []
    r0 = 0
    for lv in levels:
        if lv:
            codes, uniques = pd.MultiIndex.from_frame(k[lv]).factorize(sort=True)
            n_nodes = len(uniques)
            values = [tuple(u) if isinstance(u, tuple) else (u,) for u in uniques]
        else:
            codes, n_nodes, values = np.zeros(n_b, dtype=np.int64), 1, [()]
        rows.append(r0 + codes)
        cols_idx.append(np.arange(n_b))
        name = "/".join(lv) if lv else "total"
        for v in values:
            node = {"unique_id": _node_id(lv, v), "level": name}
            node.update(dict(zip(lv, v)))
            node_rows.append(node)
        r0 += n_nodes
    S = sparse.csr_matrix((np.ones(sum(len(r) for r in rows)), (np.concatenate(rows), np.concatenate(cols_idx))), shape=(r0, n_b))
    nodes = pd.DataFrame(node_rows, columns=["unique_id", "level", *cols])
    if nodes["unique_id"].duplicated().any():
        dups = nodes.loc[nodes["unique_id"].duplicated(), "unique_id"].tolist()
        raise ParamsError(f"The 'levels' parameter of hierarchy_from_frame repeats a level: nodes {short_list(dups)} appear twice.")
    return Hierarchy(S=S, nodes=nodes, bottom=bottom_ids)


def aggregate_levels(df: pd.DataFrame, hierarchy: Hierarchy) -> pd.DataFrame:
    """Sum bottom series (long ``unique_id, ds, y`` with the hierarchy's bottom ids) to every node."""
    pos = pd.Series(np.arange(len(hierarchy.bottom)), index=hierarchy.bottom)
    unknown = ~df["unique_id"].isin(pos.index)
    if unknown.any():
        raise InputError(
            f"aggregate_levels: {int(df.loc[unknown, 'unique_id'].nunique())} series are not bottom series of the hierarchy, "
            f"e.g. {short_list(df.loc[unknown, 'unique_id'].unique()[:3])}."
        )
    wide = df.pivot(index="ds", columns="unique_id", values="y").reindex(columns=hierarchy.bottom).fillna(0.0)
    allv = (hierarchy.S @ wide.to_numpy().T).T
    out = pd.DataFrame(allv, index=wide.index, columns=hierarchy.nodes["unique_id"]).stack().rename("y").reset_index()
    out.columns = ["ds", "unique_id", "y"]
    return out[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)


def _shrunk_covariance(res: np.ndarray) -> np.ndarray:
    """Schäfer–Strimmer shrinkage of a residual covariance toward its diagonal (rows: time, cols: nodes)."""
    x = res - np.nanmean(res, axis=0)
    x = np.where(np.isfinite(x), x, 0.0)
    t = x.shape[0]
    sd = np.sqrt((x**2).sum(axis=0) / max(t - 1, 1))
    sd_safe = np.where(sd > 0, sd, 1.0)
    z = x / sd_safe
    corr = z.T @ z / max(t - 1, 1)
    # Variance of each correlation estimate (Schäfer & Strimmer 2005, eq. for Var(r_ij)).
    w2 = (z**2).T @ (z**2)
    var_r = t / max(t - 1, 1) ** 3 * (w2 - corr**2 * (t - 1) ** 2 / t)
    np.fill_diagonal(var_r, 0.0)
    off = corr.copy()
    np.fill_diagonal(off, 0.0)
    denom = float((off**2).sum())
    lam = 1.0 if denom <= 0 else float(min(max(var_r.sum() / denom, 0.0), 1.0))
    shrunk = (1 - lam) * corr
    np.fill_diagonal(shrunk, 1.0)
    cov = shrunk * np.outer(sd, sd)
    # A node without error variance still needs a positive weight.
    floor = max(float(np.median(sd[sd > 0]) ** 2) * 1e-6, 1e-12) if (sd > 0).any() else 1.0
    cov[np.diag_indices_from(cov)] = np.maximum(np.diag(cov), floor)
    return cov


def reconcile(
    forecasts: pd.DataFrame,
    hierarchy: Hierarchy,
    method: str = "mint_shrink",
    *,
    residuals: pd.DataFrame | None = None,
    value_col: str = "yhat",
) -> pd.DataFrame:
    """Make forecasts at every level of a hierarchy add up.

    Parameters
    ----------
    forecasts : DataFrame
        ``unique_id, ds, yhat`` (and optional interval columns ``yhat_lo_*``/``yhat_hi_*``)
        for every node of ``hierarchy`` (``bottom_up`` needs only the bottom nodes).
    hierarchy : Hierarchy
        From :func:`hierarchy_from_frame`.
    method : {"mint_shrink", "wls_struct", "bottom_up"}, default="mint_shrink"
        ``mint_shrink``: MinT with the Schäfer–Strimmer shrunk covariance of ``residuals``
        (diagonal above ``MAX_DENSE_NODES`` nodes); ``wls_struct``: weights by the number of
        bottom series under a node; ``bottom_up``: sums of the bottom forecasts.
    residuals : DataFrame, optional
        ``unique_id, ds, y, yhat`` (e.g. ``BacktestResult.forecasts``; a ``window`` column is
        respected) for every node; required by ``mint_shrink``.

    Returns
    -------
    DataFrame
        Same rows and columns as the forecasts of every node, with reconciled ``yhat``
        (never below zero: negative bottom values are set to zero and summed up again) and
        the intervals shifted by each node's change, clipped at zero; plus ``level``.
    """
    who = "reconcile"
    methods = ("mint_shrink", "wls_struct", "bottom_up")
    if method not in methods:
        raise ParamsError(f"The 'method' parameter of {who} must be one of {', '.join(methods)}. Got {method!r} instead.")
    nodes = hierarchy.nodes["unique_id"].tolist()
    need = hierarchy.bottom if method == "bottom_up" else nodes
    have = set(forecasts["unique_id"].unique())
    missing = [n for n in need if n not in have]
    if missing:
        raise InputError(f"{who}: forecasts are missing for {len(missing)} node(s) of the hierarchy, e.g. {short_list(missing[:5])}.")
    f = forecasts[forecasts["unique_id"].isin(need)]
    wide = f.pivot(index="ds", columns="unique_id", values=value_col)
    if wide.isna().any().any():
        raise InputError(f"{who}: the nodes' forecasts do not cover the same dates; expected every node forecast for every ds.")
    S = hierarchy.S
    is_bottom_node = pd.Series(False, index=nodes)
    is_bottom_node[hierarchy.bottom] = True
    if method == "bottom_up":
        b = wide[hierarchy.bottom].to_numpy(float)
    else:
        yhat = wide[nodes].to_numpy(float)  # periods × nodes
        if method == "wls_struct":
            w = np.asarray(S.sum(axis=1)).ravel()
            W = None
        else:
            if residuals is None:
                raise ParamsError(f"The 'residuals' parameter of {who} must be given for method='mint_shrink' (e.g. a backtest's forecasts). Got None instead.")
            r = residuals.assign(_e=residuals["y"] - residuals["yhat"])
            idx = ["window", "ds"] if "window" in r.columns else ["ds"]
            R = r.pivot_table(index=idx, columns="unique_id", values="_e", aggfunc="first").reindex(columns=nodes)
            lacking = R.columns[R.isna().all()].tolist()
            if len(lacking) == len(nodes):
                raise InputError(f"{who}: the residuals hold none of the hierarchy's nodes (expected unique_id values such as {short_list(nodes[:3])}).")
            if lacking:
                warnings.warn(
                    f"{who}: no residuals for {len(lacking)} node(s) {_short_ids.repr(lacking)} (history too short to backtest); "
                    "they get the largest error variance of any node, so their forecasts move most.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            missing_col = R.isna().all().to_numpy()
            R = R.to_numpy(float)
            if len(nodes) > MAX_DENSE_NODES:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    x = R - np.nanmean(R, axis=0)
                    w = np.nanmean(x**2, axis=0)
                w = np.where(np.isfinite(w), w, 0.0)
                w = np.where(w > 0, w, max(float(np.nanmedian(w[w > 0])) * 1e-6, 1e-12) if (w > 0).any() else 1.0)
                w[missing_col] = w[~missing_col].max()
                W = None
            else:
                W = _shrunk_covariance(np.where(missing_col[None, :], 0.0, R))
                big = np.diag(W)[~missing_col].max()
                W[missing_col, :] = 0.0
                W[:, missing_col] = 0.0
                W[missing_col, missing_col] = big
                w = None
        b = _mint_bottom(yhat, S, is_bottom_node.to_numpy(), W, w)
    b = np.maximum(b, 0.0)  # set-negative-to-zero, then sum up again: still adds up exactly
    allv = (S @ b.T).T
    rec = pd.DataFrame(allv, index=wide.index, columns=nodes).stack().rename("_rec").reset_index()
    rec.columns = ["ds", "unique_id", "_rec"]
    out = forecasts.merge(rec, on=["unique_id", "ds"], how="right")
    out["level"] = out["unique_id"].map(hierarchy.nodes.set_index("unique_id")["level"])
    shift = out["_rec"] - out[value_col].fillna(0.0)
    for c in [c for c in out.columns if c.startswith((f"{value_col}_lo_", f"{value_col}_hi_"))]:
        out[c] = np.maximum(out[c] + shift, 0.0)
    out[value_col] = out["_rec"]
    order = pd.Series(np.arange(len(nodes)), index=nodes)
    out = out.assign(_o=out["unique_id"].map(order)).sort_values(["_o", "ds"], kind="mergesort")
    return out.drop(columns=["_rec", "_o"]).reset_index(drop=True)


def _mint_bottom(yhat: np.ndarray, S, is_bottom: np.ndarray, W: np.ndarray | None, w: np.ndarray | None) -> np.ndarray:
    """Reconciled bottom forecasts by the constraint form of MinT/WLS.

    y~ = y^ - W C' (C W C')^-1 C y^, with C = [I, -S_agg] over (aggregates, bottom):
    only an (aggregates × aggregates) system is solved, so 30,000 leaves stay cheap.
    """
    from scipy import sparse

    agg = ~is_bottom
    S = sparse.csr_matrix(S)
    # Order nodes as aggregates then bottom, bottom in S's column order.
    bottom_rows = np.flatnonzero(is_bottom)
    # The bottom rows of S are an identity up to order: map columns to rows.
    col_of_row = S[bottom_rows].indices
    bottom_rows = bottom_rows[np.argsort(col_of_row)]
    agg_rows = np.flatnonzero(agg)
    if agg_rows.size == 0:
        return yhat[:, bottom_rows]
    S_agg = S[agg_rows]
    C = sparse.hstack([sparse.identity(agg_rows.size, format="csr"), -S_agg], format="csr")
    perm = np.concatenate([agg_rows, bottom_rows])
    y = yhat[:, perm].T  # nodes(perm) × periods
    if W is None:
        wp = w[perm]
        CW = C.multiply(wp[None, :]).tocsr()
        CWC = (CW @ C.T).toarray() if agg_rows.size <= MAX_DENSE_NODES else None
        WCt = CW.T
    else:
        Wp = W[np.ix_(perm, perm)]
        CW = C @ Wp
        CWC = np.asarray(CW @ C.T.toarray())
        WCt = CW.T
    resid = C @ y
    if W is None and agg_rows.size > MAX_DENSE_NODES:
        # Many aggregates (e.g. every customer over its products): a sparse solve.
        from scipy.sparse.linalg import splu

        lam = splu(sparse.csc_matrix(CW @ C.T)).solve(np.asarray(resid))
    else:
        try:
            lam = np.linalg.solve(CWC, resid)
        except np.linalg.LinAlgError:
            lam = np.linalg.lstsq(CWC, resid, rcond=None)[0]
    adj = y - np.asarray(WCt @ lam)
    return adj[agg_rows.size:].T


# ----------------------------------------------------------------------------- from sales lines to series
#: Grain names accepted in params and the sales column they mean.
GRAIN_ALIASES = {"region": "region_id", "province": "province_id", "rep": "rep_id", "customer": "customer_id"}


def grain_columns(grain: Sequence[str]) -> list[str]:
    """Sales columns of a grain given in params (``region`` → ``region_id``; others as given)."""
    if isinstance(grain, str):
        grain = [grain]
    cols = [GRAIN_ALIASES.get(g, g) for g in grain]
    if not cols or len(set(cols)) != len(cols):
        raise ParamsError(f"The 'grain' parameter must list distinct key columns, e.g. ['region', 'product']. Got {list(grain)!r} instead.")
    return cols


def grain_levels(cols: Sequence[str]) -> list[list[str]]:
    """Reconciliation levels for a grain: the total, each key alone, then the grain itself."""
    cols = list(cols)
    singles = [[c] for c in cols] if len(cols) > 1 else []
    return [[], *singles, cols]


def series_from_sales(
    sales: pd.DataFrame,
    keys: Sequence[str],
    *,
    freq: str = "MS",
    date_col: str = "date",
    value_col: str = "amount",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sum sales lines to one series per key combination and period.

    Each series runs from its first period with sales to the last period of the data
    (periods without sales are zero); a last period the data covers only in part is dropped,
    since a partial month would look like a collapse.

    Returns
    -------
    (series, keys)
        ``unique_id, ds, y`` and ``unique_id`` with the key columns (ids as in
        :func:`hierarchy_from_frame`: ``"col=value/col=value"``).
    """
    keys = list(keys)
    missing = [c for c in [date_col, value_col, *keys] if c not in sales.columns]
    if missing:
        raise InputError(f"series_from_sales: the sales table lacks column(s) {short_list(missing)} (has {short_list(list(sales.columns))}).")
    dates = pd.to_datetime(sales[date_col])
    if freq not in ("MS", "QS"):
        raise ParamsError(f"The 'freq' parameter of series_from_sales must be 'MS' or 'QS'. Got {freq!r} instead.")
    period = dates.dt.to_period("M" if freq == "MS" else "Q")
    start = period.dt.start_time
    frame = pd.DataFrame({**{k: sales[k].to_numpy() for k in keys}, "ds": start.to_numpy(), "y": sales[value_col].to_numpy(float)})
    last_period_end = period.max().end_time.normalize()
    grid_end = period.max().start_time if dates.max() >= last_period_end else (period.max() - 1).start_time
    frame = frame[frame["ds"] <= grid_end]
    g = frame.groupby([*keys, "ds"], sort=True)["y"].sum().reset_index()
    g["unique_id"] = [_node_id(keys, v) for v in g[keys].itertuples(index=False)] if keys else "total"
    first = g.groupby("unique_id", sort=True)["ds"].min()
    grid = pd.date_range(first.min(), grid_end, freq=freq)
    pos = pd.Series(np.arange(len(grid)), index=grid)
    n = len(grid) - first.map(pos).to_numpy()
    ids = np.repeat(first.index.to_numpy(), n)
    ds = grid[np.concatenate([np.arange(len(grid) - k, len(grid)) for k in n])]
    full = pd.DataFrame({"unique_id": ids, "ds": ds}).merge(g[["unique_id", "ds", "y"]], on=["unique_id", "ds"], how="left")
    full["y"] = full["y"].fillna(0.0)
    key_table = g.drop_duplicates("unique_id")[["unique_id", *keys]].sort_values("unique_id").reset_index(drop=True)
    return full.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True), key_table


#: Words this module's notebook needs beyond salesmodel.report's labels.
WORDS: dict[str, dict[str, str]] = {
    "backtest_accuracy": {"en": "Backtest accuracy", "zh": "回测准确度", "es": "Precisión en el backtest"},
    "coverage": {"en": "Interval coverage", "zh": "区间覆盖率", "es": "Cobertura del intervalo"},
    "model": {"en": "Model", "zh": "模型", "es": "Modelo"},
    "level": {"en": "Level", "zh": "层级", "es": "Nivel"},
    "history": {"en": "History", "zh": "历史", "es": "Historia"},
    "interval_80": {"en": "80% interval", "zh": "80% 区间", "es": "Intervalo 80%"},
    "interval_95": {"en": "95% interval", "zh": "95% 区间", "es": "Intervalo 95%"},
    "plan_year_baseline": {"en": "Plan-year baseline by month", "zh": "计划年度基线(按月)", "es": "Línea base del año del plan por mes"},
    "series": {"en": "Series", "zh": "序列数", "es": "Series"},
}


def word(key: str, language: str = "en") -> str:
    """A label of :data:`WORDS` in ``language`` (en, zh or es)."""
    entry = WORDS.get(key)
    if entry is None:
        raise KeyError(f"No forecast word {key!r}; add it to salesmodel.forecast.WORDS")
    return entry.get(language, entry["en"])
