"""Step ``tracking``: actuals against a plan (pacing, periods, declining customers).

Two modes, by the inputs:

- with the plan year's sales to date (``data.actuals``): the plan year is tracked against this
  run's own phased plan (the targets step's ``plan_customer_dekad``), to the actuals' last day
  (or ``tracking.as_of`` when it lies in the plan year), by dekad (旬), ISO week and month;
- without them: a year of the history (``tracking.plan_year``) is tracked against its plan
  remade with the targets settings, as it would have been made at the start of that year.
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from salesmodel import io
from salesmodel.domain import calendar, targets, tracking
from salesmodel.domain.tracking import pacing_by_mix
from salesmodel.domain.tracking import stock_cover as targets_stock_cover
from salesmodel.errors import InputError, short_list
from salesmodel.io import orderlines
from salesmodel.pipeline import targets as targets_step
from salesmodel.pipeline._base import Context, StepResult, collect_notes

NEEDS: tuple[str, ...] = ("targets",)
PARAMS: tuple[str, ...] = ("data", "calendar", "targets", "tracking")
LEVELS = {"company": [], "region": ["region_id"], "province": ["province_id"], "rep": ["rep_id"],
          "customer": ["customer_id"]}
#: Grains of the plan year's live view (旬, week, month), beside tracking.report_grains.
LIVE_GRAINS = ("dekad", "iso_week", "month")


def tracked_plan(ctx: Context, result: StepResult) -> tuple[targets.Plan, pd.DataFrame]:
    """The tracked year's plan: made by the targets step (:func:`salesmodel.pipeline.targets.build`, its
    arguments by :func:`~salesmodel.pipeline.targets.plan_arguments`) from the same settings, for the
    tracked year, with the tracking growth over the year before and the history before that year."""
    tr = ctx.params.tracking
    past = targets_step.as_made_in(ctx, tr.plan_year, growth=tr.growth)
    plan = targets_step.build(past, result)
    with collect_notes(result):
        dekads = calendar.plan_year_periods(tr.plan_year, "dekad", country=ctx.params.calendar.country)
    return plan, dekads


def plan_year_actuals(ctx: Context) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The ``actuals`` input checked to lie in the plan year, and the day tracked to.

    The day is ``tracking.as_of`` when it lies in the plan year, else the actuals' last day.
    """
    year = ctx.params.calendar.plan_year
    actuals = ctx.inputs["actuals"]
    outside = (actuals["date"].dt.year != year).to_numpy()
    if outside.any():
        rows = [int(i) + 1 for i in outside.nonzero()[0]]
        source = io.input_sources(ctx.params.data).get("actuals", "the actuals")
        found = short_list(sorted({f"{d:%Y-%m-%d}" for d in actuals.loc[outside, "date"].head(50)}))
        raise InputError(f"{source}: column 'date': {len(rows)} sale(s) outside the plan year {year}, at row(s) "
                         f"{short_list(rows)}; expected dates from {year}-01-01 to {year}-12-31 (the plan year's "
                         f"sales to date; earlier years belong in the sales history), found {found}")
    as_of = pd.Timestamp(ctx.params.tracking.as_of)
    if as_of.year != year:
        as_of = actuals["date"].max()
    return actuals, as_of


def stock_tables(ctx: Context, lines: Sequence[orderlines.Lines]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Days of cover of the stock counts (``data.stock``) against this run's plan, and the order plan.

    ``lines`` are the order lines of the history (and of the plan year to date): the stores' own
    lines from a year before the first count are taken out of them, the company's mix and prices come
    from their sums by day and product.

    The counts must lie from the day before the plan year to the day before its last (the order
    plan needs plan days after a count); other dates are an input error naming the file and rows.
    """
    tr = ctx.params.tracking
    stock = ctx.inputs["stock"]
    phased = ctx.table("plan_customer_dekad")
    start, end = pd.to_datetime(phased["start"]).min(), pd.to_datetime(phased["end"]).max()
    bad = ((stock["date"] < start - pd.Timedelta(days=1)) | (stock["date"] >= end)).to_numpy()
    if bad.any():
        rows = [int(i) + 1 for i in bad.nonzero()[0]]
        source = io.input_sources(ctx.params.data).get("stock", "the stock counts")
        raise InputError(f"{source}: column 'date': {len(rows)} count(s) outside the plan, at row(s) {short_list(rows)}; "
                         f"expected dates from {start - pd.Timedelta(days=1):%Y-%m-%d} to {end - pd.Timedelta(days=1):%Y-%m-%d} "
                         f"(the end of a day of the plan year {ctx.params.calendar.plan_year} or the day before it), "
                         f"found {short_list(sorted({f'{d:%Y-%m-%d}' for d in stock.loc[bad, 'date'].head(50)}))}")
    stores = set(stock["customer_id"])
    # the cover reads a store's lines in the twelve months before its count and in the months a year
    # before the months it plans: nothing older than a year before the first count's month
    first = stock["date"].min()
    since = min(first - pd.Timedelta(days=366), (first + pd.Timedelta(days=1)).to_period("M").start_time - pd.DateOffset(years=1))
    own = pd.concat([orderlines.take(f, ["date", "customer_id", "product", "amount", "units"], periods=[(since, None)],
                                     customers=stores) for f in lines], ignore_index=True)
    company = pd.concat([orderlines.history(f).product_days for f in lines], ignore_index=True)
    cover, orders = targets_stock_cover(stock, phased, own, floor_days=tr.stock_floor_days,
                                        ceiling_days=tr.stock_ceiling_days, months=tr.order_months, company=company)
    reps = ctx.inputs["customers"].set_index("customer_id")["rep_id"]
    cover.insert(1, "rep_id", cover["customer_id"].map(reps).astype(object))
    return cover, orders


def with_baseline(phased: pd.DataFrame, customers: pd.DataFrame | None) -> pd.DataFrame:
    """The phased plan with each row's baseline: the customer's baseline for the year (``forecast`` of
    targets_customer) phased as its plan, so the baseline of the time left is what the plan's shape leaves."""
    if customers is None or "forecast" not in customers.columns:
        return phased
    c = customers.set_index(customers["customer_id"].astype(str))
    ratio = (c["forecast"].astype(float) / c["target"].astype(float).where(c["target"] > 0)).fillna(0.0)
    out = phased.copy()
    out["baseline"] = out["target"].to_numpy(dtype=float) * out["customer_id"].astype(str).map(ratio).fillna(0.0).to_numpy()
    return out


def same_days(lines: Sequence[orderlines.Lines], start: pd.Timestamp, as_of: pd.Timestamp) -> pd.DataFrame:
    """The order lines (``customer_id, date, amount``) from ``start`` to ``as_of`` and on the same days a
    year before: all that :func:`salesmodel.domain.tracking.declining_customers` compares, taken out
    of the history instead of copying it."""
    start, as_of = pd.Timestamp(start), pd.Timestamp(as_of)
    ly_start, ly_end = start - pd.DateOffset(years=1), as_of - pd.DateOffset(years=1)
    return pd.concat([orderlines.take(f, ["customer_id", "date", "amount"], periods=[(ly_start, ly_end), (start, as_of)])
                      for f in lines], ignore_index=True)


def _customers(ctx: Context) -> pd.DataFrame:
    return ctx.inputs["customers"][["customer_id", "rep_id"]].merge(
        ctx.inputs["reps"][["rep_id", "province_id", "region_id"]], on="rep_id")


def run(ctx: Context) -> StepResult:
    """Pacing at every level, target against actual by period, and customers buying less."""
    result = StepResult("tracking")
    tr, inputs = ctx.params.tracking, ctx.inputs
    live = "actuals" in inputs
    if live:
        year = ctx.params.calendar.plan_year
        in_year, as_of = plan_year_actuals(ctx)
        in_year = in_year[in_year["date"] <= as_of]
        phased = ctx.table("plan_customer_dekad")
        with collect_notes(result):
            dekads = calendar.plan_year_periods(year, "dekad", country=ctx.params.calendar.country)
        lines = [inputs["sales"], inputs["actuals"]]
        grains = [*tr.report_grains, *(g for g in LIVE_GRAINS if g not in tr.report_grains)]
        last_year = float(ctx.table("targets_total")["last_year"].iloc[0]) if ctx.has("targets_total") else float("nan")
    else:
        year = tr.plan_year
        as_of = pd.Timestamp(tr.as_of)
        plan, dekads = tracked_plan(ctx, result)
        phased = plan.plan_customer_dekad
        sales = inputs["sales"]
        # only the tracked year's sales up to as_of count against its plan (a quarter of the history)
        in_year = orderlines.take(sales, periods=[(dekads["start"].min(), as_of)])
        lines = [sales]
        grains = list(tr.report_grains)
        last_year = float(plan.total["last_year"])
    actuals = in_year.merge(_customers(ctx), on="customer_id", how="left")
    customers = ctx.tables.get("targets_customer") if live else plan.targets["customer"]
    phased = with_baseline(phased, customers)
    pace = tracking.pacing(actuals, phased, as_of, levels=LEVELS, periods=dekads,
                          baseline="baseline" if "baseline" in phased.columns else None)
    result.add("pacing", pace)
    mix = ctx.tables.get("targets_customer_mix") if live else plan.mix.get("targets_customer_mix")
    if mix is not None:
        result.add("pacing_mix", pacing_by_mix(pace[pace["level"] == "customer"], mix, actuals))
    company = pace[pace["level"] == "company"].iloc[0]
    result.facts.update(achievement_to_date=float(company["achievement"]), actual_to_date=float(company["actual_to_date"]),
                        target_to_date=float(company["target_to_date"]), projection=float(company["projection"]),
                        run_rate_projection=float(company["run_rate_projection"]))
    reports = []
    for grain in grains:
        with collect_notes(result):
            per = calendar.periods(f"{year}-01-01", as_of, grain, country=ctx.params.calendar.country)
        company = tracking.period_report(actuals, phased, per, as_of=as_of).assign(rep_id="")
        by_rep = tracking.period_report(actuals, phased, per, by=["rep_id"], as_of=as_of)
        reports += [company.assign(grain=grain), by_rep.assign(grain=grain)]
    report = pd.concat(reports, ignore_index=True)
    result.add("period_report", report[["grain", "rep_id", "period", "start", "end", "target", "actual", "achievement"]])
    start = pd.Timestamp(year=year, month=1, day=1)
    down = tracking.declining_customers(same_days(lines, start, as_of), as_of, start=start)
    result.add("declining_customers", down[["customer_id", "this_year", "last_year", "change", "growth"]])
    if "stock" in inputs:
        cover, orders = stock_tables(ctx, lines)
        result.add("stock_cover", cover)
        result.add("stock_orders", orders)
        result.facts.update(stock_below=int((cover["status"] == "below").sum()),
                            stock_above=int((cover["status"] == "above").sum()))
    result.facts.update(mode="plan_year" if live else "history_year", plan_year=year, as_of=as_of,
                        growth=None if live else tr.growth, plan_total=float(phased["target"].sum()),
                        last_year=last_year)
    return result
