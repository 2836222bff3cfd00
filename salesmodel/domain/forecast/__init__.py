"""Baseline forecasts, rolling-origin backtests and hierarchical reconciliation.

The forecast layer works on the long format ``unique_id, ds, y`` (one row per
series and period). Each series is routed to a model family by what its
history allows:

* ``seasonal``: long enough for a seasonal model: the model pool ``DEFAULT_MODELS``;
* ``nonseasonal``: too short for a seasonal model: a non-seasonal pool;
* ``intermittent``: many zero periods: intermittent-demand models (Croston, ADIDA, TSB);
* ``too_short``: fewer than ``MIN_OBS`` observations, or all zeros: the last value;
* a series whose models all fail is served by the naive model and listed in one warning.

Each series weighs the models of its family by the inverse of their errors on its own
latest backtest window (the forecast made ``h`` periods before its end), times their
weights among series of similar trend strength (``trend_groups``: a group weighs each
model by its mean error on the same window, so SeasonalNaive counts where the season is
stable and hardly where the trend is strong); ``combine="weighted"``. The evidence, on
four competitions, is in benchmarks/results/forecast_competitions.md. The ETS structures
(the costly searches of AutoETS and AutoETSLog) are chosen once per series, at the
forecast origin, and refitted at the backtest origins that weigh the models and
calibrate the intervals.

The package's modules: ``series`` (the long format, checks, series from sales lines),
``models`` (the pool, routing, combination), ``engine`` (local or Dask), ``intervals``
(conformal calibration), ``backtesting`` (the verbs ``baseline``, ``backtest``,
``baseline_and_backtest``) and ``reconciliation`` (hierarchies).

Prediction intervals are conformal: the combination is refitted at earlier
origins (rolling-origin backtests), its errors at each horizon step are scaled
by each series' in-sample seasonal-naive error and pooled per family, and the
empirical quantiles of the scaled errors give the intervals (per step, made non-narrowing
by an isotonic fit over the steps). Short series
borrow the pool of their family, so every series gets intervals.

Everything is deterministic: the same input gives bit-identical output.
"""
from __future__ import annotations

from salesmodel.domain.forecast.backtesting import (
    BacktestResult,
    backtest,
    baseline,
    baseline_and_backtest,
)
from salesmodel.domain.forecast.combination import combination_weights, trend_groups, trend_strength
from salesmodel.domain.forecast.engine import ENGINES
from salesmodel.domain.forecast.intervals import _scales
from salesmodel.domain.forecast.models import (
    COMBINES,
    DEFAULT_CALIBRATION_SAMPLE,
    DEFAULT_COMBINE,
    DEFAULT_MODELS,
    DEFAULT_SHRINKAGE,
    INTERMITTENT_MODELS,
    MIN_OBS,
    MIN_POOL_PER_STEP,
    MODEL_NAMES,
    NONSEASONAL_MODELS,
    TREND_BANDS,
    _model_factory,
)
from salesmodel.domain.forecast.reconciliation import (
    MAX_DENSE_NODES,
    Hierarchy,
    _mint_bottom,
    _shrunk_covariance,
    aggregate_levels,
    hierarchy_from_frame,
    reconcile,
)
from salesmodel.domain.forecast.series import (
    GRAIN_ALIASES,
    _node_id,
    check_series,
    detect_season_length,
    grain_columns,
    grain_levels,
    season_length_for,
    series_from_sales,
)

__all__ = [
    "COMBINES",
    "DEFAULT_CALIBRATION_SAMPLE",
    "DEFAULT_COMBINE",
    "DEFAULT_MODELS",
    "DEFAULT_SHRINKAGE",
    "ENGINES",
    "GRAIN_ALIASES",
    "INTERMITTENT_MODELS",
    "MAX_DENSE_NODES",
    "MIN_OBS",
    "MIN_POOL_PER_STEP",
    "MODEL_NAMES",
    "NONSEASONAL_MODELS",
    "TREND_BANDS",
    "BacktestResult",
    "Hierarchy",
    "aggregate_levels",
    "backtest",
    "baseline",
    "baseline_and_backtest",
    "check_series",
    "combination_weights",
    "detect_season_length",
    "grain_columns",
    "grain_levels",
    "hierarchy_from_frame",
    "reconcile",
    "season_length_for",
    "series_from_sales",
    "trend_groups",
    "trend_strength",
]
# Kept importable for tests and benchmarks that reach the helpers by their old place.
_PRIVATE = (_model_factory, _mint_bottom, _node_id, _scales, _shrunk_covariance)

