"""The model pool, routing of each series to a model family, and fitting with statsforecast."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from salesmodel.domain.constraints import Constraint, Interval, Options, OrNone, check, param_error

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
#: The forecast's arguments that the params' forecast section shares (one range each).
FORECAST: dict[str, Constraint] = {
    "combine": Options(COMBINES),
    "shrinkage": Interval(float, 0.0, 1.0),
    "intermittent_threshold": Interval(float, 0.0, 1.0, closed="right"),
    "season_length": OrNone(Interval(int, 1, None)),
}


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
    check(combine, FORECAST["combine"], "combine", who)
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
