"""Step ``tracking``: actuals against the tracked year's plan (pacing, periods, declining customers)."""
from __future__ import annotations

import pandas as pd

from salesmodel import calendar, targets
from salesmodel.pipeline._base import Context, StepResult, collect_notes

NEEDS: tuple[str, ...] = ()
PARAMS: tuple[str, ...] = ("data", "calendar", "targets", "tracking")
LEVELS = {"company": [], "region": ["region_id"], "province": ["province_id"], "rep": ["rep_id"],
          "customer": ["customer_id"]}


def tracked_plan(ctx: Context, result: StepResult) -> tuple[targets.Plan, pd.DataFrame]:
    """The tracked year's plan: the targets settings with the tracking growth over the year before."""
    tr, tp = ctx.params.tracking, ctx.params.targets
    settings = tp.model_dump(exclude={"commitments"}) | {"total": None, "growth": tr.growth, "growth_over": "last_year"}
    with collect_notes(result):
        dekads = calendar.plan_year_periods(tr.plan_year, "dekad", country=ctx.params.calendar.country)
        plan = targets.build_plan(ctx.inputs["sales"], ctx.inputs["customers"], ctx.inputs["reps"], dekads,
                                  plan_year=tr.plan_year, **settings)
    return plan, dekads


def run(ctx: Context) -> StepResult:
    """Pacing at every level, target against actual by period, and customers buying less."""
    result = StepResult("tracking")
    tr, inputs = ctx.params.tracking, ctx.inputs
    as_of = pd.Timestamp(tr.as_of)
    plan, dekads = tracked_plan(ctx, result)
    cust = inputs["customers"][["customer_id", "rep_id"]].merge(
        inputs["reps"][["rep_id", "province_id", "region_id"]], on="rep_id")
    # only the tracked year's sales up to as_of count against its plan (a quarter of the history)
    sales = inputs["sales"]
    in_year = sales[(sales["date"] >= dekads["start"].min()) & (sales["date"] <= as_of)]
    actuals = in_year.merge(cust, on="customer_id", how="left")
    phased = plan.plan_customer_dekad
    result.add("pacing", targets.pacing(actuals, phased, as_of, levels=LEVELS, periods=dekads))
    reports = []
    for grain in tr.report_grains:
        with collect_notes(result):
            per = calendar.periods(f"{tr.plan_year}-01-01", as_of, grain, country=ctx.params.calendar.country)
        company = targets.period_report(actuals, phased, per, as_of=as_of).assign(rep_id="")
        by_rep = targets.period_report(actuals, phased, per, by=["rep_id"], as_of=as_of)
        reports += [company.assign(grain=grain), by_rep.assign(grain=grain)]
    report = pd.concat(reports, ignore_index=True)
    result.add("period_report", report[["grain", "rep_id", "period", "start", "end", "target", "actual", "achievement"]])
    down = targets.declining_customers(inputs["sales"], as_of, start=f"{tr.plan_year}-01-01")
    result.add("declining_customers", down[["customer_id", "this_year", "last_year", "change", "growth"]])
    total = plan.total
    result.facts.update(plan_year=tr.plan_year, as_of=as_of, growth=tr.growth,
                        plan_total=float(plan.plan_customer_dekad["target"].sum()),
                        last_year=float(total["last_year"]))
    return result
