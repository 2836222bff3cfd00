"""The model pool, routing of each series to a model family, and fitting with statsforecast."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.domain.forecast.engine import dask_frame

#: The model pool for seasonal series. Each series weighs the pool by its own backtest and by
#: how the pool did on series of similar trend strength (see ``DEFAULT_COMBINE``): a fixed mean
#: tuned on one competition did not carry over to another (benchmarks/results/forecast_competitions.md
#: has every set and every single model). SeasonalNaive and AutoETS on the log scale (which
#: abstains on series with zeros or negatives) are weak alone but steady where the season is
#: stable and the trend is not: they brought Tourism from MASE 1.49 / 1.52 to 1.41 / 1.48, and the
#: trend-strength groups keep them out of trending series (M3). AutoETS searches additive or
#: damped trends only. Mirrors params.ForecastParams.models.
DEFAULT_MODELS: tuple[str, ...] = ("AutoETS", "AutoETSLog", "AutoCES", "Theta", "SeasonalNaive")
#: How the models of a family are combined: "weighted" (each series weighs a model by the
#: inverse of its error on the series' own latest backtest window, times the model's weight in
#: the series' trend group, see ``_series_weights``), "mean" or "median". Mirrors
#: params.ForecastParams.combine.
DEFAULT_COMBINE = "weighted"
#: Share of the group's weights in a weighted combination (0: each series' own backtest times its
#: group's weights; 1: the group's weights only). Mirrors params.ForecastParams.shrinkage.
DEFAULT_SHRINKAGE = 0.0
#: Series are grouped by the strength of their trend (1 - var(remainder) / var(trend +
#: remainder), from a classical decomposition) at these bounds: below 0.8 the season and the
#: noise dominate, above 0.95 the trend does. Each group weighs the pool by its backtest.
TREND_BANDS: tuple[float, ...] = (0.8, 0.95)
#: A group's weight of a model is the inverse of its mean relative backtest error to this
#: power: sharp enough to leave out a model that is clearly worse in the group (SeasonalNaive on
#: trending series) and no sharper (powers 1, 2, 4 and 8 were compared on four competitions).
GROUP_POWER = 4.0
#: Models that abstain (NaN) on series they cannot take, without counting as a failure.
ABSTAINING: frozenset[str] = frozenset({"AutoETSLog"})
#: At most this many series of a family are backtested for the weights and the interval
#: calibration; the others take the family's average weights. Mirrors
#: params.ForecastParams.calibration_sample.
DEFAULT_CALIBRATION_SAMPLE = 2000
#: How a combination may be combined.
COMBINES: tuple[str, ...] = ("weighted", "mean", "median")
#: Models for series too short for a seasonal model.
NONSEASONAL_MODELS: tuple[str, ...] = ("AutoETS", "Theta")
#: Models for intermittent series.
INTERMITTENT_MODELS: tuple[str, ...] = ("CrostonOptimized", "ADIDA", "TSB")
#: Fewer observations than this: the last value is the forecast.
MIN_OBS = 4
#: The interval pool of a family must hold this many scaled errors per horizon step,
#: otherwise the steps are pooled together (errors scaled by sqrt(step)).
MIN_POOL_PER_STEP = 100




def _model_factory(name: str, season_length: int):
    """A fresh statsforecast model for a name (imported lazily: statsmodels is slow to import)."""
    from statsforecast import models as m

    sl = max(int(season_length), 1)
    makers = {
        # ETS search restricted to additive trends (damped or not) and _ETS_STRUCTURES:
        # several times faster than the full search and as accurate on M3 (benchmarks/results).
        "AutoETS": lambda: _SearchETS(sl) if sl > 1 else m.AutoETS(season_length=1, model="ZZN"),
        "AutoETSFull": lambda: m.AutoETS(season_length=sl, alias="AutoETSFull"),
        "AutoETSLog": lambda: _LogSearchETS(sl),
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
    "AutoETS", "AutoETSFull", "AutoETSLog", "DynamicOptimizedTheta", "DynamicTheta", "OptimizedTheta", "Theta",
    "AutoCES", "AutoARIMA", "SeasonalNaive", "Naive", "HistoricAverage",
    "SimpleExponentialSmoothingOptimized", "CrostonOptimized", "CrostonClassic", "ADIDA", "IMAPA", "TSB",
)


# AutoETS's structure as a number, so it can travel through statsforecast's forecast frame
# (on both engines) as one extra forecast step: error x trend x season x damped.
_ETS_ERROR, _ETS_TREND, _ETS_SEASON = "AM", "NAM", "NAM"
#: The structures AutoETS searches for a seasonal series, in statsforecast's order (each
#: damped or not; the trend additive, as before: "ZAZ").
_ETS_STRUCTURES: tuple[str, ...] = ("AAN", "AAA", "MAN", "MAA", "MAM")
#: From this season length on, multiplicative errors with an additive season ("MAA") are left
#: out: at 12 they are the two costliest fits of the search (38% of its time on M3 monthly) and
#: the combination scored as well without them (M3 monthly sMAPE 13.47 against 13.49, Tourism
#: monthly MASE 1.486 both); at 4 they are cheap and helped (Tourism quarterly 1.522 against 1.530).
_ETS_SKIP_MAA_FROM = 12


_LOG_ETS_STRUCTURES: tuple[str, ...] = ("AAN", "AAA")


def _ets_structures(season_length: int) -> tuple[str, ...]:
    if season_length >= _ETS_SKIP_MAA_FROM:
        return tuple(s for s in _ETS_STRUCTURES if s != "MAA")
    return _ETS_STRUCTURES


def _ets_code(components: Sequence[str]) -> float:
    e, t, s, d = components[:4]
    return float(((_ETS_ERROR.index(e) * 3 + _ETS_TREND.index(t)) * 3 + _ETS_SEASON.index(s)) * 2 + (d == "D"))


def _ets_spec(code: float) -> tuple[str, bool]:
    """(model string, damped) of a structure code."""
    c = int(code)
    d, c = c % 2, c // 2
    s, c = c % 3, c // 3
    t, e = c % 3, c // 3
    return _ETS_ERROR[e] + _ETS_TREND[t] + _ETS_SEASON[s], bool(d)


class _SearchETS:
    """AutoETS's search over ``_ETS_STRUCTURES`` whose forecast carries the chosen structure
    as one more step (``h + 1``): the structure is searched once per series, at the latest
    origin, and only refitted at the backtest origins that weigh the models and calibrate the
    intervals (grouped by structure in ``_sf_forecast``), about a tenth of a search's cost."""

    uses_exog = False
    log = False  # fitted on the series itself (True: on its logarithm)

    def __init__(self, season_length: int, alias: str = "AutoETS", report_spec: bool = False) -> None:
        self.season_length = season_length
        self.alias = alias
        self.report_spec = report_spec

    def new(self) -> _SearchETS:
        return _SearchETS(self.season_length, self.alias, self.report_spec)

    def structures(self) -> tuple[str, ...]:
        return _ets_structures(self.season_length)

    def __repr__(self) -> str:
        return self.alias

    def forecast(self, y, h, X=None, X_future=None, level=None, fitted=False):
        from statsforecast.ets import _PHI_LOWER, _PHI_UPPER, ets_f, forecast_ets

        y = np.asarray(y, float)
        best, best_ic = None, np.inf
        # statsforecast's own search, structure by structure in its order (each damped, then
        # not; the smallest AICc wins). Its fits tighten the parameter bounds in place for the
        # fits after them: sharing one pair of bound arrays keeps exactly that behaviour (with
        # fresh bounds per structure AutoETS alone scored 0.4 sMAPE worse on M3 monthly).
        lower = np.array([1e-4, 1e-4, 1e-4, _PHI_LOWER])
        upper = np.array([0.9999, 0.9999, 0.9999, _PHI_UPPER])
        for spec in self.structures():
            try:
                fit = ets_f(y, self.season_length, model=spec, lower=lower, upper=upper)
            except Exception:  # a structure the series cannot take (too short, values <= 0)
                continue
            ic = fit["aicc"]
            if not np.isnan(ic) and ic < best_ic:
                best, best_ic = fit, ic
        if best is None:
            raise ValueError("no ETS structure could be fitted")
        if not self.report_spec:
            return {"mean": np.asarray(forecast_ets(best, h=h)["mean"], float)}
        mean = np.asarray(forecast_ets(best, h=h - 1)["mean"], float)
        return {"mean": np.append(mean, _ets_code(best["components"]))}

    def fit(self, y, X=None):
        self._y = y
        return self

    def predict(self, h, X=None, level=None):
        return self.forecast(self._y, h)


def _log_or_none(y) -> np.ndarray | None:
    """log(y) of a series the log-scale models can take (every value finite and positive), else None."""
    y = np.asarray(y, float)
    return np.log(y) if np.isfinite(y).all() and (y > 0).all() else None


class _LogSearchETS(_SearchETS):
    """AutoETS on the logarithm of a positive series, back on the original scale (the median
    of the log-scale forecast): a multiplicative trend and season without their unstable fits.
    It abstains (NaN) on a series with a zero or a negative value."""

    log = True

    def __init__(self, season_length: int, alias: str = "AutoETSLog", report_spec: bool = False) -> None:
        super().__init__(season_length, alias, report_spec)

    def new(self) -> _LogSearchETS:
        return _LogSearchETS(self.season_length, self.alias, self.report_spec)

    def structures(self) -> tuple[str, ...]:
        # On the log scale a multiplicative trend or season is additive: additive errors and
        # seasons only (log values may be zero or negative, where multiplicative fits fail).
        return _LOG_ETS_STRUCTURES

    def forecast(self, y, h, X=None, X_future=None, level=None, fitted=False):
        logged = _log_or_none(y)
        if logged is None:
            return {"mean": np.full(h, np.nan)}
        if self.season_length <= 1:
            from statsforecast.models import AutoETS

            return {"mean": np.exp(np.asarray(AutoETS(season_length=1, model="ZZN").forecast(logged, h)["mean"], float))}
        out = np.asarray(_SearchETS.forecast(self, logged, h)["mean"], float)
        if self.report_spec:  # the last step is the structure's code, not a log value
            return {"mean": np.append(np.exp(out[:-1]), out[-1])}
        return {"mean": np.exp(out)}


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


def _check_models(models: Sequence[str] | None, who: str, combine: str = DEFAULT_COMBINE) -> tuple[tuple[str, ...], str]:
    if combine not in COMBINES:
        raise param_error("combine", who, f"one of {', '.join(COMBINES)}", combine)
    if models is None:
        return DEFAULT_MODELS, combine
    if isinstance(models, str):
        models = [models]
    models = list(models)
    if models and models[0] in COMBINES:
        combine, models = models[0], models[1:]
    unknown = [m for m in models if m not in MODEL_NAMES]
    if not models or unknown:
        raise param_error(
            "models",
            who,
            f"a list of model names from {', '.join(MODEL_NAMES)} (optionally starting with 'weighted', 'mean' or 'median')",
            models,
        )
    if len(set(models)) != len(models):
        raise param_error("models", who, "model names each given once", models)
    return tuple(models), combine


# ----------------------------------------------------------------------------- routing and fitting
@dataclass(frozen=True)
class _Plan:
    season_length: int
    models: tuple[str, ...]
    combine: str
    intermittent_threshold: float
    n_jobs: int
    shrinkage: float = DEFAULT_SHRINKAGE
    engine: str = "local"


def _label(combine: str, names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{combine}({', '.join(names)})"


def _families(plan: _Plan) -> dict[str, tuple[tuple[str, ...], str, int]]:
    """family -> (model names, combine, season length used)."""
    sl = plan.season_length
    return {
        "seasonal": (plan.models, plan.combine, sl),
        "nonseasonal": (NONSEASONAL_MODELS, plan.combine, 1),
        "intermittent": (INTERMITTENT_MODELS, plan.combine, 1),
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


#: Models that search ETS structures: searched once per series at the forecast origin (the
#: structure travels in a ``spec_<name>`` column), refitted at the backtest origins.
_SEARCHERS: dict[str, type[_SearchETS]] = {"AutoETS": _SearchETS, "AutoETSLog": _LogSearchETS}


def _searchers(names: Sequence[str], sl: int) -> list[str]:
    """The family's models that search seasonal ETS structures (the costly searches worth reusing)."""
    return [n for n in names if n in _SEARCHERS] if sl > 1 else []


def _sf_forecast(train: pd.DataFrame, names: Sequence[str], sl: int, h: int, freq: str, n_jobs: int, engine: str = "local",
                 specs: pd.DataFrame | None = None) -> pd.DataFrame:
    """statsforecast's forecast of each model for every series, on this machine or on Dask.

    Each model of the family that searches ETS structures gets a ``spec_<model>`` column (the
    structure chosen for each series) when ``specs`` is None; given ``specs`` (unique_id x
    ``spec_<model>`` structure codes, from a later origin), those models refit each series'
    structure instead of searching (series without one search as usual).
    """
    searchers = _searchers(names, sl)
    if not searchers:
        return _sf_call(train, names, sl, h, freq, n_jobs, engine)
    if specs is None:
        reporting = {n: _SEARCHERS[n](sl, report_spec=True) for n in searchers}
        fc = _sf_call(train, names, sl, h + 1, freq, n_jobs, engine, reporting)
        last = fc.groupby("unique_id", sort=False).cumcount(ascending=False).to_numpy() == 0
        codes = fc.loc[last].set_index("unique_id")
        fc = fc.loc[~last].reset_index(drop=True)
        for n in searchers:
            fc[f"spec_{n}"] = fc["unique_id"].map(codes[n]).to_numpy(float)
        return fc
    others = [n for n in names if n not in searchers]
    out = _sf_call(train, others, sl, h, freq, n_jobs, engine) if others else None
    ids = train["unique_id"].to_numpy()
    for n in searchers:
        col = f"spec_{n}"
        code = pd.Series(ids).map(specs[col]).to_numpy(float) if col in specs.columns else np.full(len(ids), np.nan)
        parts = []
        for c in pd.unique(code[np.isfinite(code)]).tolist() + ([np.nan] if (~np.isfinite(code)).any() else []):
            rows = np.isnan(code) if np.isnan(c) else code == c
            # Series without a structure (no search at the later origin, or it failed there) search here.
            model = _SEARCHERS[n](sl) if np.isnan(c) else _FixedETS(c, sl, log=_SEARCHERS[n].log)
            parts.append(_sf_call(train[rows], [n], sl, h, freq, n_jobs, engine, {n: model}))
        fitted = pd.concat(parts, ignore_index=True)[["unique_id", "ds", n]]
        out = fitted if out is None else out.merge(fitted, on=["unique_id", "ds"], how="left")
    return out.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)[["unique_id", "ds", *names]]


class _FixedETS:
    """One ETS structure (a structure code), fitted as statsforecast's AutoETS fits it; on the
    log scale (abstaining on series with values <= 0) for AutoETSLog."""

    uses_exog = False

    def __init__(self, code: float, season_length: int, log: bool = False, alias: str = "AutoETS") -> None:
        self.code, self.season_length, self.log, self.alias = code, season_length, log, alias

    def new(self) -> _FixedETS:
        return _FixedETS(self.code, self.season_length, self.log, self.alias)

    def __repr__(self) -> str:
        return self.alias

    def forecast(self, y, h, X=None, X_future=None, level=None, fitted=False):
        from statsforecast.models import AutoETS

        y = _log_or_none(y) if self.log else np.asarray(y, float)
        if y is None:
            return {"mean": np.full(h, np.nan)}
        spec, damped = _ets_spec(self.code)
        mean = np.asarray(AutoETS(season_length=self.season_length, model=spec, damped=damped).forecast(y, h)["mean"], float)
        return {"mean": np.exp(mean) if self.log else mean}

    def fit(self, y, X=None):
        self._y = y
        return self

    def predict(self, h, X=None, level=None):
        return self.forecast(self._y, h)


def _sf_call(train: pd.DataFrame, names: Sequence[str], sl: int, h: int, freq: str, n_jobs: int, engine: str,
             replace: dict | None = None) -> pd.DataFrame:
    from statsforecast import StatsForecast

    models = [(replace or {}).get(n) or _model_factory(n, sl) for n in names]
    for name, model in zip(names, models):
        model.alias = name
    n_series = train["unique_id"].nunique()
    jobs = 1 if n_series < 200 or engine == "dask" else n_jobs
    sf = StatsForecast(models=models, freq=freq, n_jobs=jobs, fallback_model=_Failed())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if engine == "dask":
            # statsforecast's own distributed backend (fugue on Dask): each series is fitted
            # on a worker exactly as it would be here, so the result is the same.
            fc = sf.forecast(df=dask_frame(train), h=h).compute()
            fc["ds"] = pd.to_datetime(fc["ds"])
            fc["unique_id"] = fc["unique_id"].astype(train["unique_id"].dtype)  # Dask hands back strings
            for name in names:  # and nullable floats (Float32 for some models): plain float64 here
                fc[name] = pd.array(fc[name], dtype="Float64").to_numpy(dtype=float, na_value=np.nan)
        else:
            fc = sf.forecast(df=train, h=h)
    fc = fc.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)
    return fc


def _fit_raw(train: pd.DataFrame, h: int, freq: str, plan: _Plan, specs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Point forecasts of every series: unique_id, ds, yhat, model, family, failed + component columns.

    A "weighted" combination is the mean here; :func:`_recombine` applies the weights.
    ``specs`` (unique_id x ``spec_<model>`` ETS structure codes) refits those structures
    instead of searching; without it, the structures chosen are in ``spec_<model>`` columns.
    """
    fams = _families(plan)
    route = _route(train, plan)
    parts = []
    for fam, (names, combine, sl) in fams.items():
        ids = route.index[route == fam]
        if len(ids) == 0:
            continue
        sub = train[train["unique_id"].isin(ids)]
        fc = _sf_forecast(sub, names, sl, h, freq, plan.n_jobs, plan.engine, specs)
        comp = fc[list(names)].to_numpy(float)
        comp[~np.isfinite(comp)] = np.nan
        ok = ~np.isnan(comp)
        fc["yhat"] = _combine(comp, fc["unique_id"].to_numpy(), names, combine, None)
        # A series is degraded when a component failed at any step; label what served it.
        per_series_ok = pd.DataFrame(ok, columns=list(names)).groupby(fc["unique_id"].to_numpy(), sort=False).all()
        code = per_series_ok.to_numpy() @ (1 << np.arange(len(names)))
        labels = {}
        for c in np.unique(code):
            used = [n for i, n in enumerate(names) if c >> i & 1]
            labels[c] = _label(combine, used) if used else ""
        # A model that abstains (AutoETSLog on a series with zeros) is no failure.
        must = sum(1 << i for i, n in enumerate(names) if n not in ABSTAINING)
        fc["model"] = fc["unique_id"].map(pd.Series([labels[c] for c in code], index=per_series_ok.index))
        fc["failed"] = fc["unique_id"].map(pd.Series((code & must) != must, index=per_series_ok.index)).astype(bool)
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


def _combine(comp: np.ndarray, ids: np.ndarray, names: Sequence[str], combine: str, weights: pd.DataFrame | None) -> np.ndarray:
    """Rows x models -> one forecast per row: weighted (per series), mean or median of the models that worked."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if combine == "median":
            return np.nanmedian(comp, axis=1)
        if combine == "mean" or weights is None or len(names) == 1:
            return np.nanmean(comp, axis=1)
        w = weights.reindex(columns=list(names))
        # A series without a window of its own (not sampled, or too short then) takes the
        # family's average weights.
        w = w.reindex(index=pd.unique(ids)).fillna(w.mean()).reindex(ids).to_numpy(float)
        w, tot = _served_weights(comp, w)
        out = np.nansum(np.where(np.isnan(comp), 0.0, comp) * w, axis=1) / np.where(tot > 0, tot, 1.0)
        return np.where(tot > 0, out, np.nanmean(comp, axis=1))


def _served_weights(comp: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Rows x models: the weights a weighted combination applies before it divides by their row
    total (also returned): a model with no forecast (failed, abstained, another family's) weighs 0,
    so the others share its weight; a missing weight counts 1. A row whose total is 0 is the mean
    of the models that served it (see :func:`_combine`)."""
    w = np.ones(comp.shape) if weights is None else np.where(np.isfinite(weights), weights, 1.0)
    w = np.where(np.isnan(comp), 0.0, w)
    return w, w.sum(axis=1)


def trend_strength(y: np.ndarray, season_length: int) -> float:
    """Strength of a series' trend, from 0 (none) to 1: ``1 - var(R) / var(T + R)`` of a
    classical additive decomposition (centred moving-average trend T, mean seasonal index,
    remainder R), over the periods where the centred average is defined; NaN when too short.

    >>> t = np.arange(48.0)
    >>> round(trend_strength(100 + 2 * t + 10 * np.sin(2 * np.pi * t / 12), 12), 3)
    1.0
    >>> trend_strength(np.tile([1.0, 5.0, 3.0, 2.0], 6), 4)
    0.0
    """
    y = np.asarray(y, float)
    m = max(int(season_length), 1)
    kernel = np.r_[0.5, np.ones(m - 1), 0.5] / m if m > 1 and m % 2 == 0 else np.ones(m) / m
    if len(y) < len(kernel) + 2 or not np.isfinite(y).all():
        return float("nan")
    trend = np.convolve(y, kernel, mode="valid")
    at = np.arange(len(trend)) + (len(kernel) - 1) // 2
    detrended = y[at] - trend
    pos = at % m
    season = np.bincount(pos, detrended, minlength=m) / np.maximum(np.bincount(pos, minlength=m), 1)
    rest = detrended - (season - season.mean())[pos]
    spread = np.var(trend + rest)
    return float(max(0.0, 1.0 - np.var(rest) / spread)) if spread > 0 else 0.0


def trend_groups(train: pd.DataFrame, season_length: int) -> pd.Series:
    """unique_id -> trend group (0, 1, ...: the band of ``TREND_BANDS`` its trend strength falls in)."""
    ids = train["unique_id"].to_numpy()
    y = train["y"].to_numpy(float)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    strength = np.array([trend_strength(y[a:b], season_length) for a, b in zip(starts, ends)])
    return pd.Series(np.digitize(np.nan_to_num(strength), TREND_BANDS), index=ids[starts])


def _series_weights(window: pd.DataFrame, plan: _Plan, groups: pd.Series | None = None,
                    route: pd.Series | None = None) -> dict[str, pd.DataFrame]:
    """Per family, unique_id x model weights from one backtest window's raw forecasts.

    A model's error on the window is its scaled mean absolute error (MASE) relative to the
    pool's average on that series, plus its sMAPE relative to the pool's average: a model is
    judged on level errors and on percentage errors alike, and neither measure's scale
    matters. A series' own weight of a model is the inverse of that error; its trend group's
    weight is the inverse of the group's mean error to the power ``GROUP_POWER`` (``groups``:
    unique_id -> group, from :func:`trend_groups`). A series weighs a model by the product of
    the two, mixed with the group's weights by ``plan.shrinkage``. Series of the family
    (``route``: unique_id -> family) without a window of their own take their group's weights.
    """
    out: dict[str, pd.DataFrame] = {}
    if window.empty or plan.combine != "weighted":
        return out
    for fam, (names, _, _) in _families(plan).items():
        w = window[window["family"] == fam]
        cols = [f"comp_{n}" for n in names]
        if w.empty or len(names) < 2 or not set(cols) <= set(w.columns):
            continue
        comp = w[cols].to_numpy(float)
        y = w["y"].to_numpy(float)[:, None]
        ids = w["unique_id"].to_numpy()
        scaled = np.abs(comp - y) / w["scale"].to_numpy(float)[:, None]
        den = np.abs(comp) + np.abs(y)
        pct = np.where(den > 0, 200 * np.abs(comp - y) / np.where(den > 0, den, 1.0), 0.0)
        pct = np.where(np.isnan(comp), np.nan, pct)
        mase = pd.DataFrame(scaled, columns=list(names)).groupby(ids, sort=True).mean()
        smape = pd.DataFrame(pct, columns=list(names)).groupby(ids, sort=True).mean()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rel = (mase.to_numpy() / np.maximum(np.nanmean(mase.to_numpy(), axis=1, keepdims=True), 1e-12)
                   + smape.to_numpy() / np.maximum(np.nanmean(smape.to_numpy(), axis=1, keepdims=True), 1e-12))
            # A model that failed or abstained on the window gets no weight from it.
            own = _normalised(np.where(np.isfinite(rel), 1.0 / np.maximum(rel, 1e-9), 0.0))
            group_of = (groups.reindex(mase.index) if groups is not None else pd.Series(0, index=mase.index)).fillna(-1)
            by_group = {}
            for g in np.unique(group_of.to_numpy()):
                in_g = group_of.to_numpy() == g
                by_group[g] = _normalised(1.0 / np.maximum(np.nanmean(np.where(np.isfinite(rel[in_g]), rel[in_g], np.nan), axis=0),
                                                            1e-9) ** GROUP_POWER)
            prior = np.stack([by_group[g] for g in group_of.to_numpy()])
            weights = (1 - plan.shrinkage) * _normalised(own * prior) + plan.shrinkage * prior
        frame = pd.DataFrame(weights, index=mase.index, columns=list(names))
        if route is not None and groups is not None:
            # Series without a window of their own (not sampled, too short then): their group's.
            rest = route.index[(route == fam).to_numpy() & ~route.index.isin(frame.index)]
            overall = frame.mean().to_numpy()
            fill = [by_group.get(g, overall) for g in groups.reindex(rest).fillna(-1).to_numpy()]
            if len(rest):
                frame = pd.concat([frame, pd.DataFrame(np.stack(fill), index=rest, columns=list(names))])
        out[fam] = frame
    return out


def combination_weights(fc: pd.DataFrame) -> pd.DataFrame:
    """How each series' forecast was combined, from a forecast with components
    (``baseline(..., return_components=True)``): one row per series and model that served it,
    ``unique_id, served_by, model, weight`` (+ ``trend_group`` when given). The weights are
    those applied (:func:`_served_weights`, as the combination applies them): a model that failed
    or abstained has none and the others share its weight, so a series' weights add up to 1 and
    ``sum(weight * comp_<model>)`` is its forecast before the floor at zero. A median combination
    (``combine="median"``) lists the models it took the median of, with equal shares.

    >>> ds = pd.date_range("2020-01-01", periods=48, freq="MS")
    >>> y = 100 + 20 * np.sin(2 * np.pi * np.arange(48) / 12)
    >>> from salesmodel.domain.forecast import baseline
    >>> fc = baseline(pd.DataFrame({"unique_id": "a", "ds": ds, "y": y}), h=6, freq="MS", return_components=True)
    >>> w = combination_weights(fc)
    >>> round(float(w["weight"].sum()), 12), sorted(w["model"]) == sorted(DEFAULT_MODELS)
    (1.0, True)
    """
    first = fc.drop_duplicates("unique_id").reset_index(drop=True)
    comps = [c for c in first.columns if c.startswith("comp_")]
    names = [c.removeprefix("comp_") for c in comps]
    comp = first[comps].to_numpy(float)
    served = ~np.isnan(comp)
    given = first.reindex(columns=[f"weight_{n}" for n in names]).to_numpy(float)  # none: a mean (or no window)
    w, tot = _served_weights(comp, given)
    w = np.where(tot[:, None] > 0, w / np.where(tot > 0, tot, 1.0)[:, None], served / np.maximum(served.sum(axis=1), 1)[:, None])
    rows, cols = np.nonzero(served)
    out = pd.DataFrame({"unique_id": first["unique_id"].to_numpy()[rows], "served_by": first["model"].to_numpy()[rows],
                        "model": np.asarray(names, dtype=object)[cols], "weight": w[rows, cols]})
    # A series no component served (the last value, or every model failed): its label, weight 1.
    bare = ~served.any(axis=1)
    if bare.any():
        out = pd.concat([out, pd.DataFrame({"unique_id": first.loc[bare, "unique_id"].to_numpy(),
                                            "served_by": first.loc[bare, "model"].to_numpy(),
                                            "model": first.loc[bare, "model"].to_numpy(), "weight": 1.0})], ignore_index=True)
    if "trend_group" in first.columns:
        out["trend_group"] = out["unique_id"].map(first.set_index("unique_id")["trend_group"]).astype("Int64")
    return out.sort_values(["unique_id", "model"], kind="mergesort").reset_index(drop=True)


def _normalised(w: np.ndarray) -> np.ndarray:
    """Rows (or a vector) scaled to sum to 1; all-zero or non-finite rows become equal weights."""
    w = np.where(np.isfinite(w), w, 0.0)
    tot = w.sum(axis=-1, keepdims=True)
    n = w.shape[-1]
    return np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 1.0 / n)


def _recombine(fc: pd.DataFrame, plan: _Plan, weights: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``fc`` (raw forecasts with comp_ columns) with ``yhat`` the weighted combination of each family."""
    if plan.combine != "weighted" or not weights:
        return fc
    fc = fc.copy()
    yhat = fc["yhat"].to_numpy(float).copy()
    fam_col = fc["family"].to_numpy()
    for fam, (names, _, _) in _families(plan).items():
        m = fam_col == fam
        cols = [f"comp_{n}" for n in names]
        if not m.any() or fam not in weights or not set(cols) <= set(fc.columns):
            continue
        comp = fc.loc[m, cols].to_numpy(float)
        comp[~np.isfinite(comp)] = np.nan
        new = _combine(comp, fc.loc[m, "unique_id"].to_numpy(), names, "weighted", weights[fam])
        # A series whose every model failed keeps its fallback value.
        yhat[m] = np.where(np.isfinite(new), new, yhat[m])
    fc["yhat"] = yhat
    return fc
