"""Step ``staffing``: the people the plan needs (capacity and hires, workload, funnel, pay)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain import calendar, seasonality, staffing
from salesmodel.errors import InputError, ParamsError
from salesmodel.io import orderlines
from salesmodel.pipeline._base import Context, StepResult, collect_notes
from salesmodel.pipeline.key_figures import hires_pay, pay_at_plan
from salesmodel.sample import reference_tables
from salesmodel.schema.vocabulary import word

NEEDS: tuple[str, ...] = ("targets",)
PARAMS: tuple[str, ...] = ("data", "calendar", "targets", "staffing")


def as_of(ctx: Context) -> pd.Timestamp:
    """The staffing plan starts after the last day of the history."""
    return pd.Timestamp(ctx.history().days["date"].max())


def productivity(ctx: Context) -> tuple[float, str]:
    """The company's mature monthly volume per rep and where it comes from (params, or history calibrated to replay it)."""
    sp = ctx.params.staffing
    if sp.productivity:
        return float(sp.productivity), "params"
    return calibration(ctx).company, "history"


def _cached(ctx: Context, key: str, make: Any) -> Any:
    """One value per context (the step, the explorer and the pay plan share it)."""
    store = ctx.__dict__.setdefault("_staffing_cache", {})
    if key not in store:
        store[key] = make()
    return store[key]


def rep_sales_by_month(ctx: Context) -> pd.DataFrame:
    """``rep_id, region_id, month, amount``: each rep's book (the customer's current rep) by month, last year."""
    return _cached(ctx, "rep_sales", lambda: _rep_sales_by_month(ctx))


def _rep_sales_by_month(ctx: Context) -> pd.DataFrame:
    inputs = ctx.inputs
    sales, customers, reps = ctx.history().months, inputs["customers"], inputs["reps"]
    window = replay_months(ctx)
    dates = pd.to_datetime(sales["date"])
    code = (dates.dt.year.to_numpy() - 1970) * 12 + dates.dt.month.to_numpy() - 1
    keep = (code >= window[0].ordinal) & (code <= window[-1].ordinal)
    rep = sales["customer_id"].to_numpy()[keep]
    rep = pd.Series(rep).map(customers.set_index("customer_id")["rep_id"]).to_numpy()
    df = pd.DataFrame({"rep_id": rep, "code": code[keep], "amount": sales["amount"].to_numpy()[keep]})
    df = df.groupby(["rep_id", "code"], as_index=False, sort=True)["amount"].sum()
    df["month"] = pd.PeriodIndex.from_ordinals(df.pop("code").to_numpy(), freq="M")
    df["region_id"] = df["rep_id"].map(reps.set_index("rep_id")["region_id"])
    return df[["rep_id", "region_id", "month", "amount"]]


def replay_months(ctx: Context) -> pd.PeriodIndex:
    """Last year: the 12 complete months of history ending at its last day."""
    return staffing.replay_window(as_of(ctx))


def replay_season(ctx: Context) -> pd.Series | None:
    """The season of the replay window (Spring Festival aligned to the window's last year)."""
    return _cached(ctx, "replay_season", lambda: _replay_season(ctx))


def _replay_season(ctx: Context) -> pd.Series | None:
    if not ctx.params.staffing.seasonal_capacity:
        return None
    indices = seasonality.seasonal_indices(ctx.history().days[["date", "amount"]], spring_festival=True,
                                           plan_year=int(replay_months(ctx)[-1].year))
    return indices.set_index("period_of_cycle")["index"]


def calibration(ctx: Context) -> staffing.Calibration:
    """Each rep's and region's productivity calibrated on last year (see :func:`salesmodel.domain.staffing.calibrate_productivity`)."""
    return _cached(ctx, "calibration", lambda: _calibration(ctx))


def _calibration(ctx: Context) -> staffing.Calibration:
    sp = ctx.params.staffing
    cal = staffing.calibrate_productivity(rep_sales_by_month(ctx), ctx.inputs["reps"], months=replay_months(ctx),
                                          ramp=list(sp.ramp), season=replay_season(ctx), shrink_months=sp.shrink_months,
                                          roles=[sp.hire_role])
    if sp.productivity:  # the params' volume for every rep: the replay shows what it implies
        cal.reps["productivity"] = float(sp.productivity)
        cal.reps["source"] = "params"
        cal.regions["productivity"] = float(sp.productivity)
        cal.regions["calibration"] = float("nan")
        cal.company = float(sp.productivity)
    return cal


def calibration_table(ctx: Context) -> pd.DataFrame:
    """The replay of last year: region x month, modelled with last year's team against the actual sales."""
    sp = ctx.params.staffing
    cal = calibration(ctx)
    sales = rep_sales_by_month(ctx)
    out = staffing.replay(cal.reps, ctx.inputs["reps"], months=replay_months(ctx), ramp=list(sp.ramp),
                          season=replay_season(ctx), actual=sales)
    regions = cal.regions.set_index("region_id")
    out["productivity"] = out["region_id"].map(regions["productivity"]).astype(float)
    out["calibration"] = out["region_id"].map(regions["calibration"]).astype(float)
    return out


def hire_productivity(ctx: Context) -> dict[str, float]:
    """A hire's mature monthly volume per region: the region's calibrated level for the hires' role."""
    cal = calibration(ctx)
    factor = cal.role_factors.get(ctx.params.staffing.hire_role, 1.0)
    # a region without sales last year (a new one) takes the company's level
    return {str(r): (float(p) if np.isfinite(p) and p > 0 else cal.company) * factor
            for r, p in zip(cal.regions["region_id"], cal.regions["productivity"])}


def season(ctx: Context) -> pd.Series | None:
    """Monthly volume indices (Spring Festival aligned to the plan year), when capacity follows the season."""
    return _cached(ctx, "season", lambda: _season(ctx))


def _season(ctx: Context) -> pd.Series | None:
    if not ctx.params.staffing.seasonal_capacity:
        return None
    indices = seasonality.seasonal_indices(ctx.history().days[["date", "amount"]], spring_festival=True,
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
    """Every argument of :func:`salesmodel.domain.staffing.capacity_plan` for this scenario.

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
    if by == "company":
        prod: float | dict[str, float] = productivity(ctx)[0]
        weight = None
    else:
        level = hire_productivity(ctx)
        missing = [t for t in teams if t not in level]
        if missing:
            raise InputError(f"staffing: region(s) {', '.join(map(str, missing))} have targets but no reps in the "
                             "last 12 months of history to calibrate productivity on; set staffing.productivity")
        prod = {t: level[t] for t in teams}
        rep_p = calibration(ctx).reps.set_index("rep_id")["productivity"]
        weight = {t: (staff.loc[staff["region_id"] == t, "rep_id"].map(rep_p).fillna(level[t]) / level[t]).tolist()
                  for t in teams}
    return {
        "monthly_targets": targets[["team", "month", "target", "lead_in"]],
        "productivity": prod,
        "ramp": list(sp.ramp),
        "attrition": sp.attrition,
        "hire_lead_months": sp.hire_lead_months,
        "start_headcount": headcount.to_dict(),
        "start_tenure": tenure,
        "start_weight": weight,
        "max_hires_per_month": sp.max_hires_per_month,
        "attainment": sp.attainment,
        "seasonality": season(ctx),
        "min_reach": sp.min_reach,
        "blocked_months": blocked_months(ctx, targets["month"]),
        "max_starts_per_month": sp.max_starts_per_month,
    }


def blocked_months(ctx: Context, months: pd.Series) -> list[str]:
    """Months of the plan in which nobody starts: staffing.no_start_months, or each year's Spring Festival month."""
    sp = ctx.params.staffing
    labels = pd.PeriodIndex(pd.to_datetime(months.astype(str), format="mixed"), freq="M").unique().sort_values()
    if sp.no_start_months is not None:
        blocked = [str(m) for m in labels if m.month in set(sp.no_start_months)]
    else:
        festival = {y: calendar.spring_festival(int(y)).month for y in sorted(set(labels.year))}
        blocked = [str(m) for m in labels if festival[m.year] == m.month]
    can_start = [str(m) for m in labels[sp.hire_lead_months:]]
    if can_start and set(can_start) <= set(blocked):
        raise ParamsError(f"staffing.no_start_months {sp.no_start_months!r} with staffing.hire_lead_months "
                          f"{sp.hire_lead_months} leaves no month in which a hire can start ({can_start[0]} to "
                          f"{can_start[-1]} are all blocked); feasible: open at least one of those months or "
                          "shorten the lead time")
    return blocked


def capacity(arguments: dict[str, Any]) -> pd.DataFrame:
    """The capacity plan from :func:`capacity_arguments` (lead-in months flagged)."""
    targets = arguments["monthly_targets"]
    kwargs = {k: v for k, v in arguments.items() if k != "monthly_targets"}
    plan = staffing.capacity_plan(targets[["team", "month", "target"]], **kwargs)
    status = plan.attrs.get("status")
    plan = plan.merge(targets[["team", "month", "lead_in"]], on=["team", "month"]).rename(columns={"team": "region_id"})
    plan["month"] = plan["month"].astype(str)
    plan = staffing.whole_headcount(plan)
    plan.attrs["status"] = status
    return plan


def hires_table(ctx: Context, plan: pd.DataFrame, arguments: dict[str, Any]) -> pd.DataFrame:
    """One row per planned hire, with a proposed base city where the region's accounts are, and whether it
    replaces an expected leaver or is a new position."""
    sp = ctx.params.staffing
    inputs = ctx.inputs
    per_region = plan.groupby("region_id")["hires_starting"].sum()
    staff = staffing.current_staff(inputs["reps"], as_of=as_of(ctx))
    cities = staffing.base_cities(city_demand(ctx), staff, per_region.to_dict())
    prod = arguments["productivity"]
    # the whole people each region is expected to lose over the plan (lead-in months included): replaced first
    leavers = plan.groupby("region_id")["leavers"].sum().astype(int).to_dict()
    return staffing.plan_hires(plan, ramp=list(sp.ramp), role=sp.hire_role, hire_lead_months=sp.hire_lead_months,
                               blocked_months=arguments.get("blocked_months", ()),
                               productivity=prod if isinstance(prod, dict) else None, cities=cities, leavers=leavers)


def city_demand(ctx: Context) -> pd.DataFrame:
    """Last year's sales of each region's active accounts by city, with the city's coordinates."""
    inputs = ctx.inputs
    customers, reps = inputs["customers"], inputs["reps"]
    sales = ctx.history().months
    window = replay_months(ctx)
    recent = sales[pd.to_datetime(sales["date"]).dt.to_period("M").isin(window)]
    amount = recent.groupby("customer_id")["amount"].sum()
    cust = customers[customers["churn_date"].isna()] if "churn_date" in customers else customers
    cust = cust.assign(amount=cust["customer_id"].map(amount).fillna(0.0),
                       region_id=cust["rep_id"].map(reps.set_index("rep_id")["region_id"]))
    by_city = cust.groupby(["region_id", "province_id", "city_zh", "city_en"], as_index=False).agg(
        amount=("amount", "sum"), lat=("lat", "mean"), lon=("lon", "mean"))
    ref = reference_tables()["cities"][["province_id", "city_en", "lat", "lon"]]
    by_city = by_city.merge(ref, on=["province_id", "city_en"], how="left", suffixes=("", "_ref"))
    by_city["lat"] = by_city["lat_ref"].fillna(by_city["lat"])
    by_city["lon"] = by_city["lon_ref"].fillna(by_city["lon"])
    return by_city.drop(columns=["lat_ref", "lon_ref"])


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
    tiers = staffing.tier_customers(ctx.history().months, by="last_year",
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


def plan_months(ctx: Context) -> pd.PeriodIndex:
    """The plan year's months."""
    year = int(ctx.params.calendar.plan_year)
    return pd.period_range(f"{year}-01", f"{year}-12", freq="M")


def people_on_plan(ctx: Context, hires: pd.DataFrame) -> pd.DataFrame:
    """Every person of the plan: today's reps (calibrated volume, tenure at the plan year's start) and the hires."""
    staff = staffing.current_staff(ctx.inputs["reps"], as_of=as_of(ctx))
    rep_p = calibration(ctx).reps.set_index("rep_id")["productivity"]
    level = hire_productivity(ctx)
    gap = int(plan_months(ctx)[0].ordinal - (as_of(ctx).to_period("M") + 1).ordinal)
    reps = pd.DataFrame({"person_id": staff["rep_id"], "kind": "rep", "region_id": staff["region_id"],
                         "productivity": staff["rep_id"].map(rep_p).fillna(staff["region_id"].map(level)).astype(float),
                         "start_month": None, "tenure_months": staff["tenure_months"] + max(gap, 0)})
    new = pd.DataFrame({"person_id": hires["hire_id"], "kind": "hire", "region_id": hires["region_id"],
                        "productivity": hires["productivity"].astype(float), "start_month": hires["start_month"],
                        "tenure_months": 0})
    return pd.concat([reps, new], ignore_index=True)


def pay_plan(ctx: Context, hires: pd.DataFrame) -> pd.DataFrame:
    """Pay of every person on the plan, month by month, at each achievement level of ``pay_scenarios``.

    Today's reps carry their plan_rep_month targets; a hire (or a month without a target) carries
    the ramped standard volume as target (a ramped quota). ``stay`` is the chance the person is still
    on the payroll (the attrition of the params from the month after the history), and
    ``expected_pay = total_pay x stay``: the cost the budget plans for.
    """
    sp = ctx.params.staffing
    months = plan_months(ctx)
    people = people_on_plan(ctx, hires)
    rows = staffing.people_months(people, months, ramp=list(sp.ramp), season=season(ctx))
    rows["kind"] = rows["person_id"].map(people.set_index("person_id")["kind"])
    prm = ctx.table("plan_rep_month")
    target = prm.groupby(["rep_id", prm["period"].astype(str)])["target"].sum()
    key = pd.MultiIndex.from_arrays([rows["person_id"], rows["month"]])
    planned = pd.Series(target.reindex(key).to_numpy(), index=rows.index)
    rows["standard"] = (rows["standard"] * sp.attainment).clip(lower=1.0)
    rows["target"] = planned.where(planned > 0, rows["standard"]).astype(float)
    survival = (1.0 - sp.attrition) ** (1.0 / 12.0)
    first = as_of(ctx).to_period("M") + 1
    elapsed = pd.PeriodIndex(rows["month"], freq="M").asi8 - first.ordinal
    start = rows["person_id"].map(people.set_index("person_id")["start_month"])
    since = np.where(start.isna(), elapsed,
                     pd.PeriodIndex(rows["month"], freq="M").asi8
                     - pd.PeriodIndex(start.fillna(str(first)).astype(str), freq="M").asi8)
    rows["stay"] = survival ** np.clip(since, 0, None)
    frames = []
    for level in sp.pay_scenarios:
        ach = rows.assign(sales=rows["target"] * level)
        frames.append(staffing.pay(ach, plan=sp.pay_plan).assign(scenario=f"{level:.0%}"))
    out = pd.concat(frames, ignore_index=True).rename(columns={"person_id": "rep_id"})
    out["expected_pay"] = out["total_pay"] * out["stay"]
    return out


def pay_plan_at_target(ctx: Context) -> pd.DataFrame:
    """The pay plan at 100% of target for the budget's people line: the capacity plan, its hires and their pay,
    as :func:`run` makes them (``rep_id, region_id, month, expected_pay``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the staffing step reports its own notes
        arguments = capacity_arguments(ctx)
        plan = capacity(arguments)
    pay = pay_plan(ctx, hires_table(ctx, plan, arguments))
    scenario = "100%" if "100%" in set(pay["scenario"]) else pay["scenario"].iloc[0]
    return pay.loc[pay["scenario"] == scenario, ["rep_id", "region_id", "month", "expected_pay"]].reset_index(drop=True)


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
    replayed = calibration_table(ctx)
    result.add("staffing_calibration", replayed)
    cal = calibration(ctx)
    result.add("staffing_productivity", cal.reps[["rep_id", "region_id", "role", "own_productivity", "own_months",
                                                  "productivity", "source"]])
    for role in cal.roles_without_history:
        result.notes.append(word("note_role_uncalibrated", "en").format(role=role))
    year = replayed.groupby("region_id")[["modelled", "actual"]].sum()
    miss = (year["modelled"] / year["actual"].where(year["actual"] != 0) - 1).fillna(0.0)
    worst = miss.abs().idxmax() if len(miss) else None
    if worst is not None and abs(miss[worst]) > sp.replay_tolerance:
        result.notes.append(word("note_replay_off", "en").format(region=worst, miss=f"{miss[worst]:+.1%}"))
    result.facts.update(replay_worst_region=str(worst), replay_worst_miss=float(miss[worst]) if worst is not None else 0.0,
                        replay_window=f"{replay_months(ctx)[0]}..{replay_months(ctx)[-1]}")
    hires = hires_table(ctx, plan, arguments)
    result.add("staffing_hires", hires)
    last = plan["month"].max()
    result.facts.update(headcount_end=int(plan.loc[plan["month"] == last, "people_end"].sum()),
                        blocked_months=", ".join(arguments.get("blocked_months") or []),
                        blocked_starts=int(plan.loc[plan["month"].isin(arguments.get("blocked_months") or []),
                                                    "hires_starting"].sum()))
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
            # the last full year's lines of the channel: all that the orders are counted on
            year = staffing.last_full_year(ctx.history().days["date"])
            lines = orderlines.take(inputs["sales"], ["date", "customer_id", "channel"], channel=fp.channel,
                                    periods=[(pd.Timestamp(year=year, month=1, day=1), pd.Timestamp(year=year, month=12, day=31))])
            deliveries = staffing.monthly_orders_from_history(lines, channel=fp.channel, year=year,
                                                              growth=ctx.params.targets.growth)
        result.add("funnel", staffing.funnel(round(deliveries), stages=fp.stage_rates, sources=fp.sources,
                                             consultant_lead_capacity=fp.consultant_lead_capacity))
        result.facts.update(funnel_run=True, funnel_unit=fp.unit_of_sale, funnel_channel=fp.channel or "",
                            funnel_deliveries=round(deliveries))
    pay_cost = pay_plan(ctx, hires)
    result.add("pay_cost", pay_cost)
    cost, full_year = hires_pay(pay_cost)
    result.facts.update(pay_plan=float(pay_at_plan(pay_cost)["expected_pay"].sum()), hires_pay=cost,
                        hires_pay_full_year=full_year)
    return result
