"""Step ``staffing``: the people the plan needs (capacity and hires, workload, funnel, pay)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from salesmodel import seasonality, staffing
from salesmodel.pipeline._base import Context, StepResult, collect_notes

NEEDS: tuple[str, ...] = ("targets",)
PARAMS: tuple[str, ...] = ("data", "calendar", "targets", "staffing")


def as_of(ctx: Context) -> pd.Timestamp:
    """The staffing plan starts after the last day of the history."""
    return pd.Timestamp(ctx.inputs["sales"]["date"].max())


def productivity(ctx: Context) -> tuple[float, str]:
    """A mature rep's monthly volume and where it comes from (params or history)."""
    sp = ctx.params.staffing
    if sp.productivity:
        return float(sp.productivity), "params"
    inputs = ctx.inputs
    return float(staffing.mature_productivity(inputs["sales"], inputs["customers"], inputs["reps"],
                                              min_tenure_months=sp.mature_tenure_months)), "history"


def season(ctx: Context) -> pd.Series | None:
    """Monthly volume indices (Spring Festival aligned to the plan year), when capacity follows the season."""
    if not ctx.params.staffing.seasonal_capacity:
        return None
    indices = seasonality.seasonal_indices(ctx.inputs["sales"], spring_festival=True,
                                           plan_year=ctx.params.calendar.plan_year)
    return indices.set_index("period_of_cycle")["index"]


def monthly_targets(ctx: Context) -> pd.DataFrame:
    """Each region's target by month (from the targets step) with the lead-in months before the plan year."""
    reps = ctx.inputs["reps"]
    region_of_rep = reps.set_index("rep_id")["region_id"]
    prm = ctx.table("plan_rep_month")
    by_region = prm.assign(team=prm["rep_id"].map(region_of_rep)).groupby(["team", "period"], as_index=False)["target"].sum()
    by_region = by_region.rename(columns={"period": "month"})
    return staffing.with_lead_in(by_region, as_of(ctx).to_period("M") + 1)


def capacity_arguments(ctx: Context, *, by: str = "region") -> dict[str, Any]:
    """Every argument of :func:`salesmodel.staffing.capacity_plan` for this scenario.

    The step and the staffing explorer both call this, so the explorer at unchanged
    settings shows the run's hires. ``by="company"`` plans one company-wide team.
    """
    sp = ctx.params.staffing
    staff = staffing.current_staff(ctx.inputs["reps"], as_of=as_of(ctx))
    targets = monthly_targets(ctx)
    if by == "company":
        months = targets.groupby("month", sort=True).agg(target=("target", "sum"), lead_in=("lead_in", "all"))
        targets = months.reset_index().assign(team="company")
        staff = staff.assign(region_id="company")
    teams = sorted(targets["team"].unique())
    headcount = staff.groupby("region_id").size().reindex(teams, fill_value=0)
    tenure = {t: staff.loc[staff["region_id"] == t, "tenure_months"].tolist() for t in teams}
    return {
        "monthly_targets": targets[["team", "month", "target", "lead_in"]],
        "productivity": productivity(ctx)[0],
        "ramp": list(sp.ramp),
        "attrition": sp.attrition,
        "hire_lead_months": sp.hire_lead_months,
        "start_headcount": headcount.to_dict(),
        "start_tenure": tenure,
        "max_hires_per_month": sp.max_hires_per_month,
        "attainment": sp.attainment,
        "seasonality": season(ctx),
        "min_reach": sp.min_reach,
    }


def capacity(arguments: dict[str, Any]) -> pd.DataFrame:
    """The capacity plan from :func:`capacity_arguments` (lead-in months flagged)."""
    targets = arguments["monthly_targets"]
    kwargs = {k: v for k, v in arguments.items() if k != "monthly_targets"}
    plan = staffing.capacity_plan(targets[["team", "month", "target"]], **kwargs)
    status = plan.attrs.get("status")
    plan = plan.merge(targets[["team", "month", "lead_in"]], on=["team", "month"]).rename(columns={"team": "region_id"})
    plan["month"] = plan["month"].astype(str)
    plan.attrs["status"] = status
    return plan


def workload_arguments(ctx: Context) -> dict[str, Any]:
    sp = ctx.params.staffing
    return {
        "visit_standards": sp.visit_standards, "minutes_per_visit": sp.minutes_per_visit,
        "travel_minutes": "geometry" if sp.travel == "geometry" else None, "hours_per_month": sp.hours_per_month,
        "selling_share": sp.selling_share, "territory": "rep_id", "speed_kmh": sp.travel_speed_kmh,
        "circuity": sp.travel_circuity,
    }


def active_customers(ctx: Context) -> pd.DataFrame:
    """Active customers with the tier their last year's sales give them and their rep's role and region."""
    sp = ctx.params.staffing
    customers, reps = ctx.inputs["customers"], ctx.inputs["reps"]
    tiers = staffing.tier_customers(ctx.inputs["sales"], by="last_year",
                                    scheme={"method": sp.tier_method, "cuts": sp.tier_cuts},
                                    customers=customers["customer_id"])
    cust = customers.rename(columns={"tier": "tier_on_file"}).merge(tiers[["customer_id", "tier"]], on="customer_id", how="left")
    cust = cust.merge(reps[["rep_id", "role", "region_id"]], on="rep_id", how="left")
    return cust[cust["churn_date"].isna()] if "churn_date" in cust.columns else cust


def customer_workload(ctx: Context) -> pd.DataFrame:
    """Monthly visits and hours of each active customer: the one workload staffing and territories use."""
    active = active_customers(ctx)
    per = staffing.workload(active, by=["customer_id", "rep_id", "region_id", "role", "tier"], **workload_arguments(ctx))
    return per[["customer_id", "rep_id", "region_id", "role", "tier", "visits", "visit_hours", "travel_hours", "hours"]]


def _pay_cost(ctx: Context, staff: pd.DataFrame, standard: float) -> pd.DataFrame:
    sp = ctx.params.staffing
    reps = ctx.inputs["reps"]
    monthly_target = ctx.table("plan_rep_month").groupby("rep_id")["target"].sum() / 12
    monthly_target = monthly_target[monthly_target.index.isin(staff["rep_id"]) & (monthly_target > 0)]
    frames = []
    for level in sp.pay_scenarios:
        ach = pd.DataFrame({"rep_id": monthly_target.index, "target": monthly_target.to_numpy()})
        ach["sales"] = ach["target"] * level
        ach["standard"] = standard
        frames.append(staffing.pay(ach, plan=sp.pay_plan).assign(scenario=f"{level:.0%}"))
    pay_cost = pd.concat(frames, ignore_index=True)
    pay_cost["region_id"] = pay_cost["rep_id"].map(reps.set_index("rep_id")["region_id"])
    return pay_cost


def run(ctx: Context) -> StepResult:
    """Capacity and hires, workload against headcount, the dealership funnel and pay cost."""
    result = StepResult("staffing")
    sp, inputs = ctx.params.staffing, ctx.inputs
    staff = staffing.current_staff(inputs["reps"], as_of=as_of(ctx))
    standard, source = productivity(ctx)
    result.add("staff_now", staff.groupby(["region_id", "role"], as_index=False).agg(
        headcount=("rep_id", "size"), mean_tenure_months=("tenure_months", "mean")))
    with collect_notes(result):
        arguments = capacity_arguments(ctx)
        plan = capacity(arguments)
    months = pd.DataFrame({"month": range(1, 13)})
    idx = arguments["seasonality"]
    months["season_index"] = months["month"].map(idx).astype(float) if idx is not None else 1.0
    result.add("staffing_basis", months.assign(productivity=standard, productivity_source=source, as_of=as_of(ctx)))
    result.add("capacity_plan", plan)
    result.facts.update(solver_status=plan.attrs.get("status"), hires=int(plan["hires_starting"].sum()),
                        productivity=standard, productivity_source=source, active_reps=len(staff))

    per_customer = customer_workload(ctx)
    result.add("workload_customer", per_customer)
    load = staffing.workload(active_customers(ctx), by=["region_id", "role"], **workload_arguments(ctx))
    load = load[["region_id", "role", "customers", "visits", "visit_hours", "travel_hours", "hours", "fte"]]
    current = staff.groupby(["region_id", "role"]).size().rename("headcount").reset_index()
    load = load.merge(current, on=["region_id", "role"], how="outer").fillna(
        {"headcount": 0, "fte": 0.0, "customers": 0, "visits": 0.0, "visit_hours": 0.0, "travel_hours": 0.0, "hours": 0.0})
    load = load.astype({"headcount": "int64", "customers": "int64"})
    load["fte_gap"] = load["headcount"] - load["fte"]
    result.add("workload", load)

    fp = sp.funnel
    if fp is None:
        # A method belongs where it applies: the funnel runs only for a business the params describe as selling
        # through leads (staffing.funnel), never by default on a distributor's channel.
        result.facts.update(funnel_run=False)
    else:
        deliveries = fp.monthly_deliveries
        if deliveries is None:
            deliveries = staffing.monthly_orders_from_history(inputs["sales"], channel=fp.channel,
                                                              growth=ctx.params.targets.growth)
        result.add("funnel", staffing.funnel(round(deliveries), stages=fp.stage_rates, sources=fp.sources,
                                             consultant_lead_capacity=fp.consultant_lead_capacity))
        result.facts.update(funnel_run=True, funnel_unit=fp.unit_of_sale, funnel_channel=fp.channel or "",
                            funnel_deliveries=round(deliveries))
    result.add("pay_cost", _pay_cost(ctx, staff, standard))
    return result
