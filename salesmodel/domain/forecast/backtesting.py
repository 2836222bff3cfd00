"""The verbs: baseline forecasts and rolling-origin backtests."""
from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error, validate
from salesmodel.domain.forecast.combination import _recombine, _series_weights, trend_groups
from salesmodel.domain.forecast.engine import check_engine, dask_session
from salesmodel.domain.forecast.fitting import _fit_raw, _Plan, _route
from salesmodel.domain.forecast.intervals import _apply_intervals, _calibrate, _scales
from salesmodel.domain.forecast.models import DEFAULT_CALIBRATION_SAMPLE, DEFAULT_COMBINE, DEFAULT_SHRINKAGE, FORECAST, MIN_OBS, _check_models
from salesmodel.domain.forecast.series import (
    _check_common,
    _resolve_jobs,
    _short_ids,
    check_series,
    detect_season_length,
)
from salesmodel.errors import InputError, short_list


def _truncate(df: pd.DataFrame, offset: int, h: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop each series' last ``offset`` periods; the next ``h`` of them are the test."""
    rev = df.groupby("unique_id", sort=False).cumcount(ascending=False).to_numpy()
    train = df[rev >= offset]
    test = df[(rev < offset) & (rev >= offset - h)]
    keep = train.groupby("unique_id", sort=False).size()
    keep = keep.index[keep >= 1]
    return train[train["unique_id"].isin(keep)], test[test["unique_id"].isin(keep)]


def _window(df: pd.DataFrame, offset: int, h: int, freq: str, plan: _Plan, ids: np.ndarray | None = None,
            specs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Raw forecasts from the origin ``offset`` periods before each series' end, with actuals and scales.

    ``specs``: AutoETS structures chosen at a later origin, refitted here instead of searched."""
    if ids is not None:
        df = df[df["unique_id"].isin(ids)]
    train, test = _truncate(df, offset, h)
    if train.empty or test.empty:
        return pd.DataFrame()
    fc = _fit_raw(train, h, freq, plan, specs)
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



def _warn_failed(fc: pd.DataFrame, who: str) -> None:
    failed = fc.loc[fc["failed"], ["unique_id", "model"]].drop_duplicates("unique_id")
    if len(failed):
        warnings.warn(
            f"{who}: the models failed for {len(failed)} series {_short_ids.repr(failed['unique_id'].tolist())}; "
            f"they were forecast by the remaining models or the last value (see the 'model' column).",
            RuntimeWarning,
            stacklevel=3,
        )


def _prepare(df, h, freq, season_length, models, level, n_jobs, fill_gaps, intermittent_threshold, who,
             combine=DEFAULT_COMBINE, shrinkage=DEFAULT_SHRINKAGE, engine="local", scheduler=None, plan_year=None):
    levels = _check_common(h, level, who)
    names, combine = _check_models(models, who, combine)
    validate(who, FORECAST, intermittent_threshold=intermittent_threshold, shrinkage=shrinkage, season_length=season_length)
    check_engine(engine, scheduler, who)
    data = check_series(df, freq, fill_gaps=fill_gaps, who=who)
    if season_length is None:
        sl = detect_season_length(data, freq)
    else:
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
    if plan_year is not None:
        _check_reaches(data, h, freq, plan_year, who)
    _warn_inputs(data, who)
    plan = _Plan(sl, names, combine, float(intermittent_threshold), _resolve_jobs(n_jobs, data["unique_id"].nunique()),
                 float(shrinkage), engine)
    return data, plan, levels


def _check_reaches(data: pd.DataFrame, h: int, freq: str, plan_year: int, who: str) -> None:
    """Raise when ``h`` periods after a series' last date do not reach the end of ``plan_year``."""
    if not isinstance(plan_year, (int, np.integer)) or isinstance(plan_year, bool):
        raise param_error("plan_year", who, "a year such as 2027 or None", plan_year)
    last = data.groupby("unique_id", sort=True)["ds"].max()
    plan_end = pd.Timestamp(int(plan_year), 12, 31)
    ends = pd.Series([pd.date_range(d, periods=h + 1, freq=freq)[-1] for d in last], index=last.index)
    short = ends.index[ends < pd.date_range(plan_end - pd.offsets.YearBegin(1), plan_end, freq=freq)[-1]].tolist()
    if short:
        need = len(pd.date_range(last[short].min(), plan_end, freq=freq)) - 1
        raise param_error("h", who, f"at least {need}, so the forecast reaches the end of the plan year {plan_year}", h,
                          after=f" for {len(short)} series {_short_ids.repr(short)} (their history ends {last[short].min():%Y-%m-%d})")


def _warn_inputs(data: pd.DataFrame, who: str) -> None:
    """One warning per kind of series the models cannot serve as asked, naming the series
    and what is done instead (nothing is dropped)."""
    g = data.groupby("unique_id", sort=True)["y"]
    n = g.size()
    zeros = g.apply(lambda s: bool((s == 0).all()))
    short = n.index[(n < MIN_OBS) & ~zeros].tolist()
    if short:
        warnings.warn(
            f"{who}: {len(short)} series have fewer than {MIN_OBS} periods of history {_short_ids.repr(short)}; "
            "too short for any model: the last value is their forecast (model 'Naive').",
            RuntimeWarning,
            stacklevel=3,
        )
    all_zero = zeros.index[zeros].tolist()
    if all_zero:
        warnings.warn(
            f"{who}: {len(all_zero)} series have only zero sales {_short_ids.repr(all_zero)}; "
            "their forecast is zero (model 'Naive').",
            RuntimeWarning,
            stacklevel=3,
        )
    neg = g.min()
    negative = neg.index[neg < 0].tolist()
    if negative:
        warnings.warn(
            f"{who}: {len(negative)} series have negative sales (returns exceeding sales) {_short_ids.repr(negative)}; "
            "models that need positive values (multiplicative ETS, intermittent models) are not chosen for them "
            "and forecasts below zero are set to zero.",
            RuntimeWarning,
            stacklevel=3,
        )


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
    calibration_sample: int | None = DEFAULT_CALIBRATION_SAMPLE,
    intermittent_threshold: float = 0.3,
    calendar_factors: pd.DataFrame | None = None,
    combine: str = DEFAULT_COMBINE,
    shrinkage: float = DEFAULT_SHRINKAGE,
    engine: str = "local",
    scheduler: str | None = None,
    plan_year: int | None = None,
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
        The model pool for seasonal series (names in ``MODEL_NAMES``; may start with
        ``"weighted"``, ``"mean"`` or ``"median"``, overriding ``combine``). Default: ``DEFAULT_MODELS``.
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
    calibration_sample : int or None, default=2000
        At most this many series of each family are refitted at the earlier origin for the
        weights and the calibration (evenly spread over the sorted ids); the others get the
        family's average weights. None: all. Below the limit every series has its own weights.
    intermittent_threshold : float, default=0.3
        Share of zero periods above which a series is intermittent.
    calendar_factors : DataFrame, optional
        ``ds, factor``: how a moving holiday scales each period (e.g. the Spring Festival,
        from :func:`salesmodel.domain.seasonality.spring_festival_period_factors`). The history is
        divided by it before fitting and the forecasts (and intervals) multiplied by it, so a
        festival that moved between January and February does not blur the season.
    combine : {"weighted", "mean", "median"}, default="weighted"
        How each family's models are combined. ``weighted``: each series weighs the models
        by the inverse of their scaled errors on its own latest backtest window (the forecast
        made ``h`` periods before its end) times their weights in its trend group (series of
        similar trend strength, weighed by the group's errors on the same window).
    shrinkage : float, default=0.0
        Share of the trend group's weights in the weighted combination (0 to 1; 1: every
        series of a group takes the group's weights).
    engine : {"local", "dask"}, default="local"
        Fit on this machine (``n_jobs`` processes) or on a Dask cluster through
        statsforecast's distributed backend; the result is the same.
    scheduler : str, optional
        The Dask scheduler's address (``engine="dask"``); default: the active Dask client.
    plan_year : int, optional
        Raise :class:`ParamsError` naming the series when ``h`` periods do not reach the end
        of this year.

    Returns
    -------
    DataFrame
        ``unique_id, ds, yhat, yhat_lo_<l>, yhat_hi_<l>`` (for each level), ``model``;
        never below zero. With ``return_components``: ``comp_<model>``, ``weight_<model>`` and
        (weighted combinations) ``trend_group``, the series' band of ``TREND_BANDS``.

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
        raise param_error("calibration_windows", who, "a positive integer", calibration_windows)
    data, plan, levels = _prepare(df, h, freq, season_length, models, level, n_jobs, fill_gaps, intermittent_threshold, who,
                                  combine, shrinkage, engine, scheduler, plan_year)
    factor = _factor_map(calendar_factors, who)
    if factor is not None:
        data["y"] = data["y"] / data["ds"].map(factor).fillna(1.0).to_numpy()
    with dask_session(engine, scheduler, who):
        out = _baseline_from(data, h, freq, plan, levels, return_components, calibration_windows, cache={}, who=who,
                             calibration_sample=calibration_sample)
    return _unadjust(out, factor)


def _unadjust(out: pd.DataFrame, factor: pd.Series | None) -> pd.DataFrame:
    """Forecasts made on the calendar-adjusted history, put back on the real calendar."""
    if factor is None:
        return out
    out = out.copy()
    f = out["ds"].map(factor).fillna(1.0).to_numpy()
    for c in [c for c in out.columns if c in ("y", "yhat") or c.startswith(("yhat_", "comp_"))]:
        out[c] = out[c].to_numpy(float) * f
    return out


def _factor_map(calendar_factors: pd.DataFrame | None, who: str) -> pd.Series | None:
    if calendar_factors is None:
        return None
    if not isinstance(calendar_factors, pd.DataFrame) or not {"ds", "factor"} <= set(calendar_factors.columns):
        raise param_error("calendar_factors", who, "a DataFrame with columns ds and factor", shown=f"{type(calendar_factors).__name__}")
    f = calendar_factors.assign(ds=pd.to_datetime(calendar_factors["ds"])).drop_duplicates("ds").set_index("ds")["factor"].astype(float)
    bad = ~(np.isfinite(f.to_numpy()) & (f.to_numpy() > 0))
    if bad.any():
        raise param_error("calendar_factors", who, "positive factors", f[bad].head(3).tolist(), shown=short_list(f[bad].head(3).tolist()))
    return f


def _baseline_from(data, h, freq, plan, levels, return_components, calibration_windows, cache, who, offset=0, calibration_sample=None):
    """Forecast from ``offset`` periods before each end: each series weighs its models by their
    errors on the window just before (the forecast from ``offset + h``), and the intervals are
    calibrated on the errors of the combination on ``calibration_windows`` windows further back."""
    if offset:
        train, _ = _truncate(data, offset, h)
    else:
        train = data
    fc = _cached_window(cache, data, offset, h, freq, plan)
    if offset:
        fc = fc.drop(columns=["y", "scale", "cutoff", "offset", "step"], errors="ignore")
    fams = _route(train, plan)
    # Large families backtest a sample; its series' weights average into the family's.
    sample = _calibration_ids(fams, calibration_sample)
    cal = []
    weights: dict[str, pd.DataFrame] = {}
    groups = trend_groups(train, plan.season_length) if plan.combine == "weighted" else None
    for j in range(1, calibration_windows + 1):
        # The windows refit the AutoETS structures chosen at this origin (a search costs ~10 fits).
        w = _cached_window(cache, data, offset + j * h, h, freq, plan, sample, specs_from=offset)
        if w.empty:
            continue
        if j == 1:
            weights = _series_weights(w, plan, groups, fams)
        w = _recombine(w, plan, weights)
        w = w.assign(family_final=w["unique_id"].map(fams).to_numpy())
        w = w[w["family_final"].notna()]
        cal.append(w)
    fc = _recombine(fc, plan, weights)
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
        comps = sorted(c for c in fc.columns if c.startswith("comp_"))
        for fam, fam_w in weights.items():
            for n in fam_w.columns:
                col = f"weight_{n}"
                if f"comp_{n}" not in fc.columns:  # the family served no series at this origin
                    continue
                if col not in fc.columns:
                    fc[col] = np.nan
                rows = (fc["family"] == fam).to_numpy() & fc[f"comp_{n}"].notna().to_numpy()
                fc.loc[rows, col] = fc.loc[rows, "unique_id"].map(fam_w[n]).fillna(fam_w[n].mean()).to_numpy()
        cols += comps + sorted(c for c in fc.columns if c.startswith("weight_"))
        if groups is not None:
            fc["trend_group"] = fc["unique_id"].map(groups).to_numpy()
            cols += ["trend_group"]
    return fc[cols].reset_index(drop=True)


def _cached_window(cache: dict, data, offset, h, freq, plan, ids: np.ndarray | None = None,
                   specs_from: int | None = None) -> pd.DataFrame:
    """Raw window forecasts, computed once per origin (and per origin whose AutoETS structures
    it refits, ``specs_from``); a full window also serves a sampled request."""
    specs = None
    if specs_from is not None:
        origin = cache.get((specs_from, None))
        spec_cols = [c for c in origin[0].columns if c.startswith("spec_")] if origin is not None else []
        if spec_cols:
            specs = origin[0].drop_duplicates("unique_id").set_index("unique_id")[spec_cols]
    key = (offset, specs_from if specs is not None else None)
    hit = cache.get(key)
    if hit is not None and (hit[1] or ids is not None):
        return hit[0]
    if offset == 0:
        cache[key] = (_fit_raw(data, h, freq, plan), True)
    else:
        cache[key] = (_window(data, offset, h, freq, plan, ids, specs), ids is None)
    return cache[key][0]


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
    calibration_sample: int | None = DEFAULT_CALIBRATION_SAMPLE,
    intermittent_threshold: float = 0.3,
    calendar_factors: pd.DataFrame | None = None,
    combine: str = DEFAULT_COMBINE,
    shrinkage: float = DEFAULT_SHRINKAGE,
    engine: str = "local",
    scheduler: str | None = None,
) -> BacktestResult:
    """Rolling-origin evaluation of :func:`baseline` per series and overall.

    Window ``k`` (0 = the latest) forecasts ``h`` periods from ``h + k * step_size``
    periods before each series' end, with intervals calibrated only on errors known
    at that origin (windows further back), exactly as :func:`baseline` does. The keywords
    are those of :func:`baseline`.

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
    step = _check_windows(n_windows, step_size, h, who)
    data, plan, levels = _prepare(df, h, freq, season_length, models, level, n_jobs, fill_gaps, intermittent_threshold, who,
                                  combine, shrinkage, engine, scheduler)
    factor = _factor_map(calendar_factors, who)
    raw = data.copy()
    if factor is not None:
        data["y"] = data["y"] / data["ds"].map(factor).fillna(1.0).to_numpy()
    with dask_session(engine, scheduler, who):
        return _backtest_from(data, raw, h, n_windows, step, freq, plan, levels, calibration_windows, {}, who,
                              calibration_sample, factor)


def _check_windows(n_windows: int, step_size: int | None, h: int, who: str) -> int:
    if not isinstance(n_windows, (int, np.integer)) or isinstance(n_windows, bool) or n_windows < 1:
        raise param_error("n_windows", who, "a positive integer", n_windows)
    step = h if step_size is None else step_size
    if not isinstance(step, (int, np.integer)) or step < 1:
        raise param_error("step_size", who, "a positive integer or None", step_size)
    return int(step)


def _backtest_from(data, raw, h, n_windows, step, freq, plan, levels, calibration_windows, cache, who, calibration_sample, factor):
    rows = []
    for k in range(n_windows):
        offset = h + k * step
        w = _cached_window(cache, data, offset, h, freq, plan)
        if w.empty:
            continue
        fc = _baseline_from(data, h, freq, plan, levels, False, calibration_windows, cache, who, offset=offset,
                            calibration_sample=calibration_sample)
        fc = fc.merge(w[["unique_id", "ds", "y", "cutoff", "family"]], on=["unique_id", "ds"], how="inner")
        # MASE is scaled by the history as it was (not calendar-adjusted), so runs with and
        # without calendar factors are scored alike.
        train, _ = _truncate(raw, offset, h)
        fc["scale"] = fc["unique_id"].map(_scales(train, plan.season_length)).to_numpy(float)
        fc["window"] = k
        rows.append(fc)
    if not rows:
        raise InputError(f"{who}: no series is longer than h={h} periods; nothing can be backtested.")
    fcs = _unadjust(pd.concat(rows, ignore_index=True), factor)
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


def baseline_and_backtest(
    df: pd.DataFrame,
    *,
    h: int,
    freq: str,
    n_windows: int = 2,
    backtest_h: int | None = None,
    season_length: int | None = None,
    models: Sequence[str] | None = None,
    level: Iterable[int] = (80, 95),
    n_jobs: int | None = None,
    fill_gaps: bool = False,
    return_components: bool = False,
    calibration_windows: int = 1,
    intermittent_threshold: float = 0.3,
    calendar_factors: pd.DataFrame | None = None,
    combine: str = DEFAULT_COMBINE,
    shrinkage: float = DEFAULT_SHRINKAGE,
    engine: str = "local",
    scheduler: str | None = None,
    plan_year: int | None = None,
    calibration_sample: int | None = DEFAULT_CALIBRATION_SAMPLE,
) -> tuple[pd.DataFrame, BacktestResult]:
    """:func:`baseline` and :func:`backtest` of the same series in one pass: each model is
    fitted once per series and origin, and a fit serves every place it is needed (the
    forecast's weights and calibration are the backtest's latest windows).

    ``backtest_h`` (default ``min(h, 12)``) is the backtest's horizon and window step; the
    fits are shared when it equals ``h`` (otherwise the two run as separate calls would).
    The other keywords are those of :func:`baseline`.

    Returns
    -------
    (forecast, backtest)
        What :func:`baseline` and :func:`backtest` return for the same arguments.

    Examples
    --------
    >>> ds = pd.date_range("2018-01-01", periods=72, freq="MS")
    >>> y = 100 + 20 * np.sin(2 * np.pi * np.arange(72) / 12)
    >>> fc, bt = baseline_and_backtest(pd.DataFrame({"unique_id": "a", "ds": ds, "y": y}), h=6, freq="MS")
    >>> len(fc), bt.summary()["smape"] < 1
    (6, True)
    """
    who = "baseline_and_backtest"
    bh = (min(h, 12) if backtest_h is None else backtest_h)
    if not isinstance(calibration_windows, (int, np.integer)) or calibration_windows < 1:
        raise param_error("calibration_windows", who, "a positive integer", calibration_windows)
    step = _check_windows(n_windows, None, bh, who)
    data, plan, levels = _prepare(df, h, freq, season_length, models, level, n_jobs, fill_gaps, intermittent_threshold, who,
                                  combine, shrinkage, engine, scheduler, plan_year)
    _check_common(bh, levels, who)
    factor = _factor_map(calendar_factors, who)
    raw = data.copy()
    if factor is not None:
        data["y"] = data["y"] / data["ds"].map(factor).fillna(1.0).to_numpy()
    cache: dict = {}
    with dask_session(engine, scheduler, who):
        fc = _baseline_from(data, h, freq, plan, levels, return_components, calibration_windows,
                            cache if bh == h else {}, who, calibration_sample=calibration_sample)
        bt = _backtest_from(data, raw, bh, n_windows, step, freq, plan, levels, calibration_windows,
                            cache if bh == h else {}, who, calibration_sample, factor)
    return _unadjust(fc, factor), bt
