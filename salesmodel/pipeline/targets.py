"""Step ``targets``: the company target split down the organisation and the calendar."""
from __future__ import annotations

import pandas as pd

from salesmodel import calendar, targets
from salesmodel.pipeline._base import Context, StepResult, collect_notes

NEEDS: tuple[str, ...] = ("forecast",)
PARAMS: tuple[str, ...] = ("data", "calendar", "targets")


def plan_arguments(ctx: Context) -> dict:
    """The arguments of :func:`salesmodel.targets.build_plan` for this scenario (the only place they are made)."""
    tp = ctx.params.targets
    baseline = ctx.tables.get("baseline_forecast")
    args = {"plan_year": ctx.params.calendar.plan_year, "baseline": baseline, **tp.model_dump()}
    # The festival is moved only where it exists (China) and when the baseline did not already move it.
    args["phasing_spring_festival"] = bool(tp.phasing_spring_festival and ctx.params.calendar.country == "CN"
                                           and not ctx.params.forecast.spring_festival)
    return args


def allocation_units(ctx: Context) -> pd.DataFrame:
    """The customers with last year, potential and forecast that the allocation shares by."""
    from salesmodel.targets.plan import plan_units

    return plan_units(ctx.inputs["sales"], ctx.inputs["customers"], ctx.inputs["reps"],
                      plan_year=ctx.params.calendar.plan_year, baseline=ctx.tables.get("baseline_forecast"))


def allocation_arguments(ctx: Context) -> dict:
    """The arguments of :func:`salesmodel.targets.plan.allocate` that :func:`build_plan` passes for this scenario."""
    args = plan_arguments(ctx)
    keep = ("plan_year", "baseline", "total", "growth", "growth_over", "stretch", "basis", "level_basis",
            "growth_bounds", "levels", "round_to", "overrides")
    return {k: args[k] for k in keep}


def build(ctx: Context, result: StepResult) -> targets.Plan:
    """The plan object (the explorers call this too, so both see the same numbers)."""
    with collect_notes(result):
        dekads = calendar.plan_year_periods(ctx.params.calendar.plan_year, "dekad", country=ctx.params.calendar.country)
        return targets.build_plan(ctx.inputs["sales"], ctx.inputs["customers"], ctx.inputs["reps"], dekads,
                                  **plan_arguments(ctx))


def _company_month(plan: targets.Plan, sales: pd.DataFrame, baseline: pd.DataFrame | None) -> pd.DataFrame:
    first, last = plan.units.attrs["last_year_first"], plan.units.attrs["last_year_last"]
    months = plan.plan_rep_month.groupby(["period", "start", "end"], as_index=False)["target"].sum()
    in_window = sales[(sales["date"] >= pd.Period(first, "M").start_time) & (sales["date"] <= pd.Period(last, "M").end_time)]
    by_month = in_window.groupby(in_window["date"].dt.month)["amount"].sum()
    months["last_year"] = months["start"].dt.month.map(by_month).fillna(0.0).astype(float)
    if baseline is not None:
        base = baseline.assign(period=pd.to_datetime(baseline["ds"]).dt.strftime("%Y-%m")).groupby("period")["yhat"].sum()
        months["baseline"] = months["period"].astype(str).map(base).astype(float)
        if plan.festival_factor is not None:
            # The baseline with the Spring Festival moved to the plan year's date (same year total).
            moved = months["baseline"] * months["start"].dt.month.map(plan.festival_factor).fillna(1.0).to_numpy()
            months["baseline_festival"] = moved * (months["baseline"].sum() / moved.sum() if moved.sum() > 0 else 1.0)
    return months


def run(ctx: Context) -> StepResult:
    """Targets by level with their explanation, the phased plan, achievability and the company figure."""
    result = StepResult("targets")
    plan = build(ctx, result)
    tp = ctx.params.targets
    t = plan.total
    top = plan.targets[tp.levels[0]]["target"].sum()
    result.add("targets_total", pd.DataFrame([{
        "last_year": float(plan.units.attrs.get("last_year_books", t["last_year"])),
        "last_year_active": float(t["last_year"]),
        "last_year_churned": float(plan.units.attrs.get("last_year_books", t["last_year"])) - float(t["last_year"]),
        "last_year_first": plan.units.attrs["last_year_first"],
        "last_year_last": plan.units.attrs["last_year_last"],
        "base": float(t["base"]) if t["base"] is not None else float("nan"), "base_source": str(t["base_source"]),
        "task": float(t["total"]), "stretch": float(tp.stretch), "target": float(top),
        "forecast_source": str(plan.units.attrs["forecast_source"]),
    }]))
    for name, table in plan.tables().items():
        result.add(name, table)
    result.add("plan_company_month", _company_month(plan, ctx.inputs["sales"], ctx.tables.get("baseline_forecast")))
    months = result.tables["plan_company_month"]
    result.facts.update(phasing=plan.phasing)
    for col in ("baseline", "baseline_festival"):
        if col in months.columns and (months[col] > 0).all():
            g = months["target"] / months[col] - 1.0
            # How unevenly the months ask for growth (largest minus smallest monthly growth asked).
            result.facts[f"growth_spread_over_{col}"] = float(g.max() - g.min())
    result.facts.update(plan_year=ctx.params.calendar.plan_year,
                        baseline_used=ctx.tables.get("baseline_forecast") is not None)
    return result


def rephased(ctx: Context, plan_rep_month: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The targets step's phased tables after the rep × month plan was edited (``salesmodel import-edits``).

    ``ctx.tables`` holds the step's tables as the run made them; ``plan_rep_month`` the edited plan
    (each rep's year unchanged). Each customer keeps its year and each rep × product its year, while
    their months add up to the edited rep × month cells; ten-day periods keep their shape inside a
    month; the company's months are the sum of the reps'. Annual targets, explanations and
    achievability (a unit's year against its baseline) do not change.
    """
    from salesmodel.targets.rephase import rephase, split_within

    unit = float(ctx.params.targets.plan_round_to)
    t = ctx.tables
    new = plan_rep_month[["rep_id", "period", "start", "end", "target"]].copy()
    rep_year = t["plan_rep_month"].groupby("rep_id", observed=True)["target"].sum()
    changed_year = new.groupby("rep_id", observed=True)["target"].sum().sub(rep_year).abs() > 1e-6
    if changed_year.any():
        from salesmodel.errors import InputError

        reps = ", ".join(map(str, changed_year[changed_year].index[:5]))
        raise InputError(f"the edited plan changes the year of rep(s) {reps}; an edit re-phases a rep's months, "
                         "its year comes from the allocation (change it with targets.overrides and run again)")
    totals = new.rename(columns={"period": "month"})[["rep_id", "month", "target"]]
    out: dict[str, pd.DataFrame] = {"plan_rep_month": new.reset_index(drop=True)}
    dekads = t["plan_customer_dekad"].copy()
    dekads["month"] = pd.to_datetime(dekads["start"]).dt.strftime("%Y-%m")
    cust_month = dekads.groupby(["rep_id", "customer_id", "month"], as_index=False, sort=False, observed=True)["target"].sum()
    cust_month = rephase(cust_month, totals, group="rep_id", item="customer_id", month="month", round_to=unit)
    dekads = split_within(dekads, cust_month, keys=["customer_id", "month"], round_to=unit)
    out["plan_customer_dekad"] = dekads.drop(columns="month")
    if "plan_rep_product_month" in t:
        prod = t["plan_rep_product_month"].rename(columns={"period": "month"})
        prod = rephase(prod, totals, group="rep_id", item="product", month="month", round_to=unit)
        out["plan_rep_product_month"] = prod.rename(columns={"month": "period"})
    months = t["plan_company_month"].copy()
    months["target"] = months["period"].astype(str).map(new.groupby("period", observed=True)["target"].sum()).astype(float)
    out["plan_company_month"] = months
    return out
