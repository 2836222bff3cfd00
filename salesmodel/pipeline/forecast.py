"""Step ``forecast``: the baseline forecast of the hierarchy, its backtest and its intervals."""
from __future__ import annotations

import pandas as pd

from salesmodel.domain import forecast, overview, seasonality
from salesmodel.errors import InputError
from salesmodel.pipeline import cluster
from salesmodel.pipeline._base import Context, StepResult, collect_notes

NEEDS: tuple[str, ...] = ()
PARAMS: tuple[str, ...] = ("data", "calendar", "forecast")


def horizon(last_history: pd.Timestamp, plan_year: int, freq: str, at_least: int) -> int:
    """Periods to forecast: at least ``at_least``, and always through the end of the plan year."""
    step = {"MS": 1, "QS": 3}[freq]
    to_plan_end = (plan_year - last_history.year) * 12 + 12 - last_history.month
    return max(at_least, -(-to_plan_end // step))


def run(ctx: Context) -> StepResult:
    """Backtest, forecast and (optionally) reconcile the sales hierarchy of the params' grain."""
    result = StepResult("forecast")
    fp, plan_year, inputs = ctx.params.forecast, ctx.params.calendar.plan_year, ctx.inputs
    history = ctx.history()
    sales = overview.attach_geography(history.months, inputs["customers"], inputs["provinces"])
    sales["rep_id"] = sales["customer_id"].map(inputs["customers"].set_index("customer_id")["rep_id"])
    grain = forecast.grain_columns(fp.grain)
    series, keys = forecast.series_from_sales(sales, grain, freq=fp.freq)
    hierarchy = forecast.hierarchy_from_frame(keys, forecast.grain_levels(grain))
    all_levels = forecast.aggregate_levels(series, hierarchy)
    level_of = hierarchy.nodes.set_index("unique_id")["level"]
    h = horizon(series["ds"].max(), plan_year, fp.freq, fp.horizon)
    result.facts.update(grain=", ".join(grain), series_at_grain=len(keys), series_with_totals=hierarchy.S.shape[0],
                        history_start=series["ds"].min(), history_end=series["ds"].max(), horizon=h)

    factors = None
    if fp.spring_festival and ctx.params.calendar.country == "CN":
        daily = history.days[["date", "amount"]]
        try:
            effect = seasonality.spring_festival_effect(daily, date_col="date", value_col="amount")
            years = range(series["ds"].min().year, plan_year + 2)
            factors = seasonality.spring_festival_period_factors(
                effect, years, cycle="month" if fp.freq == "MS" else "quarter")
            result.add("spring_festival_factors", factors[["ds", "factor"]])
        except InputError as exc:
            result.notes.append(f"no Spring Festival adjustment: {exc}")
    result.facts["spring_festival"] = factors is not None
    del sales

    # on the run's Dask cluster (salesmodel run --scheduler) statsforecast fits the series on its workers
    engine, scheduler = ("dask", None) if cluster.current().client is not None else (fp.engine, fp.scheduler)
    with collect_notes(result):
        # backtest (up to a year ahead) and forecast in one call, with every forecast setting of the params
        fc, bt = forecast.baseline_and_backtest(
            all_levels, h=h, backtest_h=min(h, 12), freq=fp.freq, n_windows=fp.n_windows, models=fp.models,
            level=fp.level, calendar_factors=factors, combine=fp.combine, shrinkage=fp.shrinkage,
            calibration_sample=fp.calibration_sample, engine=engine, scheduler=scheduler, n_jobs=fp.n_jobs,
            plan_year=plan_year, return_components=True)
    # How each series was combined (for an auditor: the models and the weights applied); the
    # components themselves stay out of the forecast tables.
    weights = forecast.combination_weights(fc)
    result.add("forecast_weights", weights.assign(level=weights["unique_id"].map(level_of)))
    fc = fc[[c for c in fc.columns if not c.startswith(("comp_", "weight_")) and c != "trend_group"]]
    per_series = bt.per_series.assign(level=bt.per_series["unique_id"].map(level_of))
    result.add("backtest", per_series)
    points = bt.forecasts.assign(level=bt.forecasts["unique_id"].map(level_of))
    summary = per_series.groupby("level", sort=False).agg(
        series=("unique_id", "size"), smape=("smape", "mean"), mase=("mase", "mean"))
    for lv in sorted(fp.level):
        inside = (points["y"] >= points[f"yhat_lo_{lv}"]) & (points["y"] <= points[f"yhat_hi_{lv}"])
        summary[f"coverage_{lv}"] = inside.groupby(points["level"]).mean()
    result.add("backtest_summary", summary.reset_index())

    if fp.reconcile != "none":
        fc = forecast.reconcile(fc, hierarchy, fp.reconcile, residuals=bt.forecasts)
    else:
        fc = fc.assign(level=fc["unique_id"].map(level_of))
    fc = fc.join(hierarchy.nodes.set_index("unique_id")[grain], on="unique_id")
    result.add("baseline_forecast_levels", fc)
    interval_cols = [c for c in fc.columns if c.startswith("yhat_")]
    bottom = fc[fc["unique_id"].isin(hierarchy.bottom)]
    result.add("baseline_forecast", bottom[grain + ["unique_id", "ds", "yhat", *interval_cols, "model"]])
    result.add("forecast_history", all_levels[["unique_id", "ds", "y"]].assign(level=all_levels["unique_id"].map(level_of)))
    return result
