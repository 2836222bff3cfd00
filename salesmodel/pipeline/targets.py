"""Step ``targets``: the company target split down the organisation and the calendar."""
from __future__ import annotations

import numpy as np
import pandas as pd

from salesmodel import io
from salesmodel.domain import calendar, targets
from salesmodel.domain.targets.budget import budget_totals, expense_budget
from salesmodel.domain.targets.chance import (
    CURVE_PROBABILITIES,
    chance_curve,
    chance_of,
    company_spread,
    momentum_months_available,
    target_for_chance,
)
from salesmodel.domain.targets.commitments import reconcile_commitments
from salesmodel.domain.targets.plan import allocate, monthly_history, plan_units
from salesmodel.domain.targets.rephase import rephase, split_within
from salesmodel.domain.targets.spreads import CHANCE_LEVELS
from salesmodel.errors import InfeasibleError, InputError, ParamsError, short_list
from salesmodel.pipeline import staffing as staffing_step
from salesmodel.pipeline._base import Context, History, StepResult, collect_notes
from salesmodel.pipeline.feasibility import check_locks
from salesmodel.schema.params import Scenario, TotalByChance

NEEDS: tuple[str, ...] = ("forecast",)
PARAMS: tuple[str, ...] = ("data", "calendar", "targets", "budget")


def params_sections(params: Scenario) -> tuple[str, ...]:
    """The params sections this step's tables depend on: ``PARAMS``, and ``staffing`` when a budget
    category's amount is the staffing pay plan (``basis: pay``)."""
    pay = any(c.basis == "pay" for c in params.budget.categories.values())
    return (*PARAMS, "staffing") if pay else PARAMS


_LEVEL_KEYS = {"region": "region_id", "province": "province_id", "rep": "rep_id", "customer": "customer_id"}


def _source(ctx: Context, kind: str) -> str:
    return io.input_sources(ctx.params.data).get(kind, kind)


def locked_targets(ctx: Context) -> dict[str, dict[str, float]]:
    """``targets.overrides`` with the locked targets of the ``locks`` input (``data.locks``) added.

    A unit fixed both in the params and in the file with different values is an input error.
    """
    merged = {lv: dict(v) for lv, v in ctx.params.targets.overrides.items() if v}
    locks = ctx.inputs.get("locks")
    if locks is None or not len(locks):
        return merged

    check_locks(ctx.params, dict(ctx.inputs), _source(ctx, "locks"))
    clash = []
    for i, row in enumerate(locks.itertuples(index=False)):
        have = merged.setdefault(row.level, {})
        if row.unit_id in have and abs(float(have[row.unit_id]) - float(row.target)) > 1e-6:
            clash.append((i + 1, row.level, row.unit_id, float(have[row.unit_id]), float(row.target)))
        have[row.unit_id] = float(row.target)
    if clash:
        shown = short_list([f"row {r} ({lv} {u}: {t:,.0f}, params {p:,.0f})" for r, lv, u, p, t in clash])
        raise InputError(f"{_source(ctx, 'locks')}: column 'target': {len(clash)} locked target(s) differ from "
                         f"targets.overrides for the same unit, at {shown}; expected one value per unit "
                         "(remove it from the params or from the file)")
    return merged


def commitments_table(ctx: Context, overrides: dict[str, dict[str, float]] | None = None,
                      levels: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame | None:
    """The reps' commitments (``data.commitments``) against their top-down targets, by the policy of
    ``targets.commitments`` (:func:`salesmodel.domain.targets.commitments.reconcile_commitments`); None without them.

    ``levels`` are the top-down targets by level (``rep`` and ``customer``) when already made (with
    policy top_down, the plan's own); without them the cascade runs here on the unreconciled arguments.
    """
    bottom_up = ctx.inputs.get("commitments")
    if bottom_up is None:
        return None

    cp = ctx.params.targets.commitments
    overrides = locked_targets(ctx) if overrides is None else overrides
    if levels is None:
        args = _allocation_only(plan_arguments(ctx, reconciled=False))
        args["overrides"] = overrides
        _, levels = _locks_hold(ctx, lambda: allocate(allocation_units(ctx), **args))
    reps = levels["rep"][["region_id", "province_id", "rep_id", "target"]]
    known = set(reps["rep_id"].astype(str))
    unknown = ~bottom_up["rep_id"].astype(str).isin(known)
    if unknown.any():
        rows = [i + 1 for i in unknown.to_numpy().nonzero()[0]]
        raise InputError(f"{_source(ctx, 'commitments')}: column 'rep_id': {int(unknown.sum())} commitment(s) for reps "
                         f"without customers in the plan, at row(s) {short_list(rows)} "
                         f"(rep_id {short_list(bottom_up.loc[unknown, 'rep_id'].tolist())}); expected a rep of the plan "
                         f"({short_list(sorted(known))})")
    within = None if cp.within == "company" else _LEVEL_KEYS[cp.within]
    between = {"company": ("region", "province"), "region": ("province",), "province": ()}[cp.within]
    locked_between = [lv for lv in between if overrides.get(lv)]
    if locked_between and cp.policy != "top_down":
        raise ParamsError(f"targets.commitments.within is '{cp.within}', but {' and '.join(locked_between)} targets are "
                          f"locked below it; commitments would move them. Set targets.commitments.within: "
                          f"{locked_between[-1]} (or unlock them)")
    reps = reps.merge(_rep_range(levels["rep"], levels["customer"], ctx.params.targets.growth_bounds), on="rep_id")
    out = reconcile_commitments(reps, bottom_up, policy=cp.policy, weight=cp.weight, bounds=tuple(cp.bounds),
                                within=within, round_to=float(ctx.params.targets.round_to),
                                locked=[str(k) for k in overrides.get("rep", {})], lower="_lower", upper="_upper")
    out = out.drop(columns=["_lower", "_upper"])
    notes = bottom_up.set_index("rep_id")["note"] if "note" in bottom_up else pd.Series(dtype=object)
    out["note"] = out["rep_id"].map(notes).astype(object)
    out["policy"] = cp.policy
    return out[["region_id", "province_id", "rep_id", "top_down", "commitment", "has_commitment", "gap", "gap_pct",
                "wanted", "target", "change", "policy", "note"]]


def _rep_range(reps: pd.DataFrame, customers: pd.DataFrame, bounds: tuple[float, float] | None) -> pd.DataFrame:
    """The least and most each rep's target can be while the growth bounds hold for the rep and for each of
    its customers (locked customers fixed; a customer without last year's sales is not bounded)."""
    import numpy as np

    if bounds is None:
        return reps[["rep_id"]].assign(_lower=0.0, _upper=np.inf)
    lo, hi = bounds
    ly = customers["last_year"].to_numpy(dtype=float)
    locked = (customers["bound_applied"] == "locked").to_numpy()
    target = customers["target"].to_numpy(dtype=float)
    c_lo = np.where(locked, target, np.where(ly > 0, ly * (1 + lo), 0.0))
    c_hi = np.where(locked, target, np.where(ly > 0, ly * (1 + hi), np.inf))
    children = pd.DataFrame({"rep_id": customers["rep_id"].to_numpy(), "lo": c_lo, "hi": c_hi}).groupby("rep_id").sum()
    r_ly = reps.set_index("rep_id")["last_year"].astype(float)
    own_lo = np.where(r_ly > 0, r_ly * (1 + lo), 0.0)
    own_hi = np.where(r_ly > 0, r_ly * (1 + hi), np.inf)
    out = pd.DataFrame({"rep_id": r_ly.index, "_lower": np.maximum(own_lo, children["lo"].reindex(r_ly.index).fillna(0.0)),
                        "_upper": np.minimum(own_hi, children["hi"].reindex(r_ly.index).fillna(np.inf))})
    return out.reset_index(drop=True)


def _moves_targets(ctx: Context) -> bool:
    """Whether the reps' commitments move targets (given, and a policy other than top_down)."""
    return ctx.params.targets.commitments.policy != "top_down" and "commitments" in ctx.inputs


def _reconciled_overrides(ctx: Context, overrides: dict[str, dict[str, float]],
                          table: pd.DataFrame | None = None) -> dict[str, dict[str, float]]:
    """The locks that make the cascade give each rep its reconciled target (levels between ``within``
    and the reps locked at their reps' sums); ``table`` is the commitments table when already made."""
    if not _moves_targets(ctx):
        return overrides
    table = commitments_table(ctx, overrides) if table is None else table
    out = {lv: dict(v) for lv, v in overrides.items()}
    out["rep"] = {**dict(zip(table["rep_id"].astype(str), table["target"].astype(float))), **out.get("rep", {})}
    within = ctx.params.targets.commitments.within
    for lv in {"company": ("region", "province"), "region": ("province",), "province": ()}[within]:
        sums = table.groupby(_LEVEL_KEYS[lv], observed=True)["target"].sum()
        out[lv] = {str(k): float(v) for k, v in sums.items()}
    return out


def _locks_hold(ctx: Context, make):
    """Call ``make``; when locked or reconciled targets cannot all hold with the total, say which file and rows.

    The rows are found from the error's data (the level and the parent units it concerns, whether
    locks caused it), never from its text; the error raised carries them in ``rows``.
    """
    try:
        return make()
    except InfeasibleError as exc:
        data = {"feasible": exc.feasible, "level": exc.level, "units": exc.units, "locked": exc.locked}
        bottom_up = ctx.inputs.get("commitments")
        if bottom_up is not None and ctx.params.targets.commitments.policy != "top_down":
            reps = {u["rep_id"] for u in exc.units if "rep_id" in u}
            hit = [i + 1 for i, r in enumerate(bottom_up["rep_id"].astype(str)) if r in reps]
            if hit:
                raise InfeasibleError(
                    f"{_source(ctx, 'commitments')}: the reconciled targets of the commitment(s) at row(s) "
                    f"{short_list(hit)} cannot hold (targets.commitments.policy {ctx.params.targets.commitments.policy}): "
                    f"{exc}; narrow targets.commitments.bounds or use policy top_down", rows=tuple(hit), **data) from None
        locks = ctx.inputs.get("locks")
        if locks is None or not len(locks):
            if ctx.params.targets.overrides and exc.locked:
                raise InfeasibleError(f"targets.overrides: the fixed targets cannot all hold with the plan's total: {exc}",
                                      **data) from None
            raise
        level = next((lv for lv, col in _LEVEL_KEYS.items() if col == exc.level), None)
        rows = [i + 1 for i, lv in enumerate(locks["level"]) if level is None or lv == level] or list(range(1, len(locks) + 1))
        raise InfeasibleError(f"{_source(ctx, 'locks')}: the locked targets at row(s) {short_list(rows)} "
                              f"cannot all hold with the plan's total: {exc}", rows=tuple(rows), **data) from None


def _allocation_only(args: dict) -> dict:
    keep = ("plan_year", "baseline", "total", "growth", "growth_over", "stretch", "basis", "level_basis",
            "growth_bounds", "levels", "round_to", "overrides", "allocation", "monthly")
    return {k: args[k] for k in keep}


def plan_arguments(ctx: Context, *, reconciled: bool = True, commitments: pd.DataFrame | None = None) -> dict:
    """The arguments of :func:`salesmodel.domain.targets.build_plan` for this scenario (the only place they are made).

    ``overrides`` holds the params' overrides, the ``locks`` input and, when the reps' commitments
    move targets (``targets.commitments.policy`` other than top_down), the reconciled reps' targets
    (from ``commitments``, the commitments table, when it is already made). A past year's plan
    remade by the tracking step gets its arguments here too, from :func:`as_made_in`'s context.
    """
    tp = ctx.params.targets
    baseline = ctx.tables.get("baseline_forecast")
    own = {"commitments", "total", "allocation", "momentum_months", "bound_risk_share"}
    args = {"plan_year": ctx.params.calendar.plan_year, "baseline": baseline, **tp.model_dump(exclude=own)}
    args["allocation"] = allocation_levels(ctx)
    args["momentum_months"] = momentum_window(ctx)
    args["monthly"] = _monthly(ctx) if "equal_chance" in args["allocation"].values() else None
    args["total"] = company_amount(ctx)
    args["overrides"] = locked_targets(ctx)
    if reconciled:
        args["overrides"] = _reconciled_overrides(ctx, args["overrides"], commitments)
    # The festival is moved only where it exists (China) and when the baseline did not already move it.
    args["phasing_spring_festival"] = bool(tp.phasing_spring_festival and ctx.params.calendar.country == "CN"
                                           and not ctx.params.forecast.spring_festival)
    return args


def allocation_units(ctx: Context) -> pd.DataFrame:
    """The customers with last year, potential and forecast that the allocation shares by."""
    return plan_units(ctx.history().months, ctx.inputs["customers"], ctx.inputs["reps"],
                      plan_year=ctx.params.calendar.plan_year, baseline=ctx.tables.get("baseline_forecast"),
                      momentum_months=momentum_window(ctx))


def _monthly(ctx: Context) -> pd.DataFrame:
    return monthly_history(ctx.history().months, ctx.inputs["customers"], ctx.inputs["reps"])


def allocation_levels(ctx: Context) -> dict[str, str]:
    """``targets.allocation`` as {level: basis | equal_chance}; equal chance only where units have a baseline.

    One word applies to every level with a baseline (region, province, rep); the customers
    are shared by their basis. Naming equal_chance for a level without one is a params error.
    """
    tp = ctx.params.targets
    if isinstance(tp.allocation, str):
        return {lv: (tp.allocation if lv in CHANCE_LEVELS else "basis") for lv in tp.levels}
    for lv, how in tp.allocation.items():
        if lv not in tp.levels:
            raise ParamsError(f"targets.allocation.{lv}: '{lv}' is not a level of the plan; feasible levels: "
                              f"{', '.join(tp.levels)}")
        if how == "equal_chance" and lv not in CHANCE_LEVELS:
            feasible = [x for x in tp.levels if x in CHANCE_LEVELS]
            raise ParamsError(f"targets.allocation.{lv} is equal_chance, but the {lv} level has no baseline with a "
                              f"spread to judge a chance by; feasible levels for equal_chance: {', '.join(feasible)}")
    return {lv: tp.allocation.get(lv, "basis") for lv in tp.levels}


def momentum_window(ctx: Context) -> int | None:
    """``targets.momentum_months`` when a basis uses momentum (else None); too long for the history is a params error."""
    tp = ctx.params.targets
    blends = [tp.basis, *tp.level_basis.values()]
    if not any("momentum" in b for b in blends):
        return None
    start = pd.Timestamp(year=ctx.params.calendar.plan_year, month=1, day=1)
    dates = ctx.history().months["date"]
    dates = dates[dates < start]
    months = pd.DataFrame({"month": dates.dt.to_period("M").dt.to_timestamp()})
    available = momentum_months_available(months)
    if tp.momentum_months > available:
        raise ParamsError(f"targets.momentum_months is {tp.momentum_months}: the window and the same months a year "
                          f"before need {tp.momentum_months + 12} months of history, and the history before the plan "
                          f"year has {available + 12}; feasible: 1 to {available}")
    return int(tp.momentum_months)


def company_amount(ctx: Context) -> float | None:
    """The company task of ``targets.total``: the amount, or the one met with ``{chance: p}`` (None: by growth).

    With a chance the company target is the amount met with that chance by the company's
    baseline (:func:`salesmodel.domain.targets.chance.company_spread`), rounded to ``round_to``; the
    task is that target / stretch. A chance whose target breaks the growth bounds over last
    year of every unit is a params error naming the feasible chances.
    """
    tp = ctx.params.targets
    if not isinstance(tp.total, TotalByChance):
        return tp.total
    p = tp.total.chance
    spread = company_spread(ctx.tables.get("baseline_forecast_levels"), ctx.params.calendar.plan_year)
    if spread is None:
        raise ParamsError(f"targets.total.chance is {p:g}, but the baseline forecast has no company series with "
                          "intervals to judge a chance by; give targets.total as an amount or use targets.growth")
    mu, sd = spread
    unit = float(tp.round_to)
    target = float(np.rint(float(target_for_chance(p, mu, sd)) / unit) * unit)
    if tp.growth_bounds is not None:
        ly = float(allocation_units(ctx)["last_year"].sum())
        lo, hi = ly * (1 + tp.growth_bounds[0]), ly * (1 + tp.growth_bounds[1])
        if not lo <= target <= hi:
            p_lo, p_hi = float(chance_of(hi, mu, sd)), float(chance_of(lo, mu, sd))
            raise ParamsError(f"targets.total.chance is {p:g}: its target {target:,.0f} breaks the growth bounds "
                              f"{list(tp.growth_bounds)} over last year of every unit (company totals "
                              f"{lo:,.0f} to {hi:,.0f}); feasible: a chance from {p_lo:.3f} to {p_hi:.3f}")
    return target / float(tp.stretch)


def allocation_arguments(ctx: Context) -> dict:
    """The arguments of :func:`salesmodel.domain.targets.plan.allocate` that :func:`build_plan` passes for this scenario."""
    return _allocation_only(plan_arguments(ctx))


def build(ctx: Context, result: StepResult) -> targets.Plan:
    """The plan object (the explorers and the tracking step's remade past-year plan call this too,
    so all see the numbers the step makes from the same settings)."""
    return _plan_and_commitments(ctx, result, table=False)[0]


def _plan_and_commitments(ctx: Context, result: StepResult, *, table: bool = True) -> tuple[targets.Plan, pd.DataFrame | None]:
    """The plan and the commitments table (None without commitments, or when ``table`` is False and
    the commitments do not move targets), with the cascade run once (policy top_down: the commitments
    are set against the plan's own targets) or twice (other policies: the top-down targets the
    commitments are reconciled with, then the reconciled plan)."""
    with collect_notes(result):
        dekads = calendar.plan_year_periods(ctx.params.calendar.plan_year, "dekad", country=ctx.params.calendar.country)
        commitments = commitments_table(ctx, locked_targets(ctx)) if _moves_targets(ctx) else None
        args = plan_arguments(ctx, commitments=commitments)
        history = ctx.history()
        plan = _locks_hold(ctx, lambda: targets.build_plan(history.months, ctx.inputs["customers"], ctx.inputs["reps"],
                                                           dekads, daily=history.days, **args))
    if table and commitments is None and "commitments" in ctx.inputs:
        commitments = commitments_table(ctx, args["overrides"], levels=plan.targets)
    return plan, commitments


def as_made_in(ctx: Context, year: int, *, growth: float) -> Context:
    """The targets step's context for a plan of ``year`` remade as it would have been made at its start.

    The same params with the plan year ``year``, the company total ``growth`` over the year before
    (no amount, no chance), every level shared by its basis (equal chance and a baseline phasing
    would need a baseline forecast made before that year; none is, so there is no baseline table);
    the inputs the targets step reads, the sales history cut at the start of ``year``, all but the
    reps' commitments (the plan year's own numbers, ``data.commitments``: a rep who joined since had
    none then). :func:`plan_arguments` and :func:`build` on it give the plan the targets step makes
    with these settings: the Spring Festival setting, the overrides and the locks included.
    """
    p = ctx.params
    params = p.model_copy(update={
        "calendar": p.calendar.model_copy(update={"plan_year": int(year)}),
        "targets": p.targets.model_copy(update={"total": None, "growth": float(growth), "growth_over": "last_year",
                                                "allocation": "basis"}),
    })
    start = pd.Timestamp(year=int(year), month=1, day=1)
    inputs = {k: v for k, v in ctx.inputs.items() if k in ("customers", "reps", "locks")}
    history = ctx.history()
    before = History(*(part[part["date"] < start].reset_index(drop=True)
                       for part in (history.months, history.days, history.product_days)))
    return Context(params=params, inputs=inputs, tables={}, summed=before)


def _year_before(months: pd.DataFrame, sales: pd.DataFrame, levels: pd.DataFrame | None) -> pd.DataFrame:
    """Each plan month beside the same month a year before: its sales when the history holds the whole
    month, else the company's baseline forecast for it (``year_before_source``: actual or baseline)."""
    start = pd.to_datetime(months["start"])
    before = start - pd.DateOffset(years=1)
    month = pd.to_datetime(sales["date"]).dt.to_period("M").dt.to_timestamp()
    actual = sales.groupby(month)["amount"].sum()
    last_day = pd.to_datetime(sales["date"]).max()
    complete = (before + pd.offsets.MonthEnd(0)) <= last_day
    value = pd.Series(before.map(actual).to_numpy(dtype=float), index=months.index)
    source = pd.Series(np.where(complete, "actual", "none"), index=months.index, dtype=object)
    if levels is not None and "level" in levels.columns:
        total = levels[levels["level"] == "total"]
        fc = total.groupby(pd.to_datetime(total["ds"]))["yhat"].sum()
        use = ~complete & before.isin(fc.index)
        value[use.to_numpy()] = before[use].map(fc).to_numpy(dtype=float)
        source[use.to_numpy()] = "baseline"
    value[(source == "none").to_numpy()] = np.nan
    out = months.copy()
    out["year_before"] = value.to_numpy()
    out["year_before_source"] = source.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["growth_over_year_before"] = np.where(out["year_before"] > 0, out["target"] / out["year_before"] - 1.0, np.nan)
    return out


def _company_month(plan: targets.Plan, sales: pd.DataFrame, baseline: pd.DataFrame | None,
                   levels: pd.DataFrame | None = None) -> pd.DataFrame:
    first, last = plan.units.attrs["last_year_first"], plan.units.attrs["last_year_last"]
    months = plan.plan_rep_month.groupby(["period", "start", "end"], as_index=False)["target"].sum()
    in_window = sales[(sales["date"] >= pd.Period(first, "M").start_time) & (sales["date"] <= pd.Period(last, "M").end_time)]
    by_month = in_window.groupby(in_window["date"].dt.month)["amount"].sum()
    months["last_year"] = months["start"].dt.month.map(by_month).fillna(0.0).astype(float)
    months = _year_before(months, sales, levels)
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
    plan, commitments = _plan_and_commitments(ctx, result)
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
    result.add("plan_company_month", _company_month(plan, ctx.history().months, ctx.tables.get("baseline_forecast"),
                                                    ctx.tables.get("baseline_forecast_levels")))
    curve = chance_curve_table(ctx, plan, float(top))
    if curve is not None:
        result.add("chance_curve", curve)
        plan_point = curve[(curve["level"] == "company") & (curve["point"] == "plan")]
        if len(plan_point):
            result.facts.update(company_chance=float(plan_point["probability"].iloc[0]),
                                target_at_half=float(curve[(curve["level"] == "company")
                                                           & (curve["point"] == "median")]["target"].iloc[0]))
    result.add("targets_bounds", bounds_table(plan.targets["customer"]))
    if commitments is not None:
        result.add("targets_commitments", commitments)
        result.facts.update(commitment_policy=ctx.params.targets.commitments.policy,
                            commitments=int(commitments["has_commitment"].sum()),
                            commitment_gap=float(commitments["gap"].sum()))
    locks = ctx.inputs.get("locks")
    if locks is not None:
        result.add("targets_locks", _locks_table(locks, plan))
    for name, table in budget_tables(ctx, float(top), plan.targets["rep"], plan.plan_rep_month).items():
        result.add(name, table)
    if "budget_total" in result.tables:
        result.facts.update(budget=float(result.tables["budget_total"]["budget"].sum()))
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


def chance_curve_table(ctx: Context, plan: targets.Plan, target: float) -> pd.DataFrame | None:
    """The chance curve of the company (its reconciled baseline series) and of each region (as achievability)."""
    rows = []
    spread = company_spread(ctx.tables.get("baseline_forecast_levels"), ctx.params.calendar.plan_year)
    if spread is not None:
        rows.append({"level": "company", "unit_id": "company", "baseline": spread[0], "baseline_sd": spread[1],
                     "target": target,
                     # the books' last year, as targets_total and the key figures have it
                     "last_year": float(plan.units.attrs.get("last_year_books", plan.total["last_year"]))})
    ach = plan.achievability[plan.achievability["level"] == "region"]
    ly = plan.targets["region"].groupby("region_id")["last_year"].sum()
    for r in ach.itertuples(index=False):
        rows.append({"level": "region", "unit_id": r.unit_id, "baseline": r.baseline, "baseline_sd": r.baseline_sd,
                     "target": r.target, "last_year": float(ly.get(r.unit_id, np.nan))})
    if not rows:
        return None
    tp = ctx.params.targets
    extra = (tp.total.chance,) if isinstance(tp.total, TotalByChance) else ()

    probabilities = sorted(set(CURVE_PROBABILITIES) | set(extra))
    return chance_curve(pd.DataFrame(rows), probabilities=probabilities)


def bounds_table(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers and money at a growth bound, by region (``targets_bounds``)."""
    c = customers.assign(_up=customers["bound_applied"] == "upper",
                         _low=customers["bound_applied"].isin(["lower", "floor"]))
    c["_at"] = c["_up"] | c["_low"]
    c["_money"] = np.where(c["_at"], c["target"], 0.0)
    g = c.groupby("region_id", observed=True)
    out = pd.DataFrame({"customers": g.size(), "at_upper": g["_up"].sum(), "at_lower": g["_low"].sum(),
                        "target": g["target"].sum(), "target_at_bound": g["_money"].sum()}).reset_index()
    out["region_id"] = out["region_id"].astype(str)
    for col in ("customers", "at_upper", "at_lower"):
        out[col] = out[col].astype("int64")
    out["share_at_bound"] = (out["at_upper"] + out["at_lower"]) / out["customers"].where(out["customers"] > 0)
    out["money_share_at_bound"] = out["target_at_bound"] / out["target"].where(out["target"] > 0)
    return out[["region_id", "customers", "at_upper", "at_lower", "share_at_bound", "target", "target_at_bound",
                "money_share_at_bound"]]


def _pay_plan_for_budget(ctx: Context, plan_rep_month: pd.DataFrame) -> pd.DataFrame:
    """The staffing pay plan at 100% of target (expected pay of every person on the plan, hires included),
    by person and month: the same functions as the staffing step on the same plan, so its pay_cost agrees."""
    sctx = Context(params=ctx.params, inputs=ctx.inputs, tables={**ctx.tables, "plan_rep_month": plan_rep_month})
    pay = staffing_step.pay_plan_at_target(sctx)
    return pay.rename(columns={"month": "period", "expected_pay": "amount"})[["rep_id", "region_id", "period", "amount"]]


def budget_tables(ctx: Context, target: float, targets_rep: pd.DataFrame,
                  plan_rep_month: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The sales expense budget of ``budget`` (params) by category, region and rep x month; none without categories."""
    bp = ctx.params.budget
    if not bp.categories:
        return {}

    cats = {k: c.model_dump() for k, c in bp.categories.items()}
    pay = None
    if any(c["basis"] == "pay" for c in cats.values()):  # the people line is the staffing pay plan (hires included)
        pay = _pay_plan_for_budget(ctx, plan_rep_month)
        for c in cats.values():
            c["from_pay"] = c["basis"] == "pay" and c.get("amount") is None
            if c["from_pay"]:
                c["amount"] = float(pay["amount"].sum())
    totals = budget_totals(target, cats, cap_share=bp.cap_share, round_to=float(bp.round_to))
    cells = expense_budget(plan_rep_month, targets_rep, totals, round_to=float(bp.round_to), pay=pay)
    totals = totals.assign(target=target, share_of_target=totals["budget"] / target if target > 0 else float("nan"))
    if pay is not None:
        totals["from_pay"] = totals["category"].map(lambda k: bool(cats[k].get("from_pay"))).astype(bool)
    region = cells.groupby(["category", "region_id"], as_index=False, sort=False)[["target", "budget"]].sum()
    region["share_of_target"] = region["budget"] / region["target"].where(region["target"] > 0)
    return {"budget_total": totals, "budget_region": region, "budget_rep_month": cells}


def _locks_table(locks: pd.DataFrame, plan: targets.Plan) -> pd.DataFrame:
    """The locks input against the plan: each locked unit's target as the plan has it (equal, by construction)."""
    rows = []
    for row in locks.itertuples(index=False):
        table = plan.targets.get(row.level)
        got = float("nan")
        if table is not None:
            hit = table.loc[table[_LEVEL_KEYS[row.level]].astype(str) == str(row.unit_id), "target"]
            got = float(hit.sum()) if len(hit) else float("nan")
        rows.append({"level": row.level, "unit_id": str(row.unit_id), "locked": float(row.target), "target": got,
                     "reason": row.reason if isinstance(row.reason, str) else ""})
    return pd.DataFrame(rows, columns=["level", "unit_id", "locked", "target", "reason"])


def rephased(ctx: Context, plan_rep_month: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The targets step's phased tables after the rep × month plan was edited (``salesmodel import-edits``).

    ``ctx.tables`` holds the step's tables as the run made them; ``plan_rep_month`` the edited plan
    (each rep's year unchanged). Each customer keeps its year and each rep × product its year, while
    their months add up to the edited rep × month cells; ten-day periods keep their shape inside a
    month; the company's months are the sum of the reps'. Annual targets, explanations and
    achievability (a unit's year against its baseline) do not change.
    """
    unit = float(ctx.params.targets.plan_round_to)
    t = ctx.tables
    new = plan_rep_month[["rep_id", "period", "start", "end", "target"]].copy()
    rep_year = t["plan_rep_month"].groupby("rep_id", observed=True)["target"].sum()
    changed_year = new.groupby("rep_id", observed=True)["target"].sum().sub(rep_year).abs() > 1e-6
    if changed_year.any():
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
    if "year_before" in months.columns:
        with np.errstate(divide="ignore", invalid="ignore"):
            months["growth_over_year_before"] = np.where(months["year_before"] > 0,
                                                         months["target"] / months["year_before"] - 1.0, np.nan)
    out["plan_company_month"] = months
    if "targets_total" in t and "targets_rep" in t:
        out.update(budget_tables(ctx, float(t["targets_total"]["target"].iloc[0]), t["targets_rep"], out["plan_rep_month"]))
    return out
