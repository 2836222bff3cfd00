"""Rules that hold across a run's tables: one plan, one set of numbers.

Each rule names two sides, each a table and what is taken from it; the two must
agree (within half a cent for money). Rules are data: :data:`RULES` is a list,
and :func:`check` applies every rule whose tables the run has. A broken rule
names both tables, the rule and the difference.

>>> broken = check(tables)          # doctest: +SKIP
>>> [b.message for b in broken]     # doctest: +SKIP
[]
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesmodel.errors import SalesmodelError
from salesmodel.schema import tables as declared

__all__ = ["RULES", "Broken", "Rule", "Side", "check"]

Tables = Mapping[str, pd.DataFrame]
MONEY_TOLERANCE = 0.005  # half a cent: every money figure is rounded to a cent or coarser
SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Side:
    """One side of a rule: a table and what is taken from it (a number, or a Series by key)."""

    table: str
    what: str
    value: Callable[..., float | pd.Series | None]
    needs: tuple[str, ...] = ()  # further tables the value reads, passed after the table (by the same names)


@dataclass(frozen=True)
class Rule:
    name: str
    left: Side
    right: Side
    tolerance: float = MONEY_TOLERANCE


@dataclass(frozen=True)
class Broken:
    rule: str
    left: str
    right: str
    difference: str

    @property
    def message(self) -> str:
        return f"{self.rule}: {self.left} and {self.right} disagree ({self.difference})"


def _sum(column: str, where: Callable[[pd.DataFrame], pd.Series] | None = None) -> Callable[[pd.DataFrame], float]:
    def value(df: pd.DataFrame) -> float:
        part = df[where(df)] if where is not None else df
        return float(part[column].astype(float).sum())

    return value


def _by(keys: list[str], column: str) -> Callable[[pd.DataFrame], pd.Series]:
    def value(df: pd.DataFrame) -> pd.Series:
        return df.groupby(keys, observed=True)[column].sum().astype(float)

    return value


def _figure(name: str) -> Callable[[pd.DataFrame], float]:
    def value(df: pd.DataFrame) -> float:
        return float(df.loc[df["figure"] == name, "value"].iloc[0])

    return value


def _first(column: str) -> Callable[[pd.DataFrame], float]:
    return lambda df: float(df[column].iloc[0])


def _in_year(df: pd.DataFrame) -> pd.Series:
    return ~df["lead_in"].astype(bool)


def _pay_at_plan(df: pd.DataFrame) -> pd.DataFrame:
    scenario = "100%" if "100%" in set(df["scenario"]) else df["scenario"].iloc[0]
    return df[df["scenario"] == scenario]


def _max_dev(df: pd.DataFrame) -> float:
    proposed = df[df["plan"] == "proposed"]
    cols = [c for c in proposed.columns if c.endswith("_dev")]
    return float(np.nanmax(np.abs(proposed[cols].to_numpy(dtype=float))))


def _max_dev_summary(df: pd.DataFrame) -> float:
    proposed = df[df["plan"] == "proposed"]
    cols = [c for c in proposed.columns if c.startswith("max_") and c.endswith("_dev")]
    return float(np.nanmax(np.abs(proposed[cols].to_numpy(dtype=float))))


def _chosen_frontier(df: pd.DataFrame) -> pd.Series | None:
    """max_<measure>_dev, moved_share and moved_units of the frontier point the proposal used (max_disruption: auto)."""
    chosen = df[df["chosen"].astype(bool)]
    if chosen.empty:
        return None
    cols = [c for c in chosen.columns if c.startswith("max_") and c.endswith("_dev")] + ["moved_share", "moved_units"]
    return chosen.iloc[0][cols].astype(float)


def _proposed_devs(df: pd.DataFrame) -> pd.Series:
    proposed = df[df["plan"] == "proposed"]
    cols = [c for c in proposed.columns if c.startswith("max_") and c.endswith("_dev")] + ["moved_share", "moved_units"]
    return proposed.iloc[0][cols].astype(float)


def _pairs(df: pd.DataFrame, column: str) -> pd.Series:
    """1.0 per ``customer_id -> column`` pair: two sides agree when they hold the same pairs."""
    keys = df["customer_id"].astype(str) + " -> " + df[column].astype(str)
    return pd.Series(1.0, index=pd.Index(keys.tolist()))


def _row(column: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: df[column].astype(float).reset_index(drop=True)


def _ledger(df: pd.DataFrame) -> pd.Series:
    parts = ["target_before_bounds", "bound_adjustment", "redistribution", "rounding_adjustment"]
    return df[parts].astype(float).sum(axis=1).reset_index(drop=True)


def _level_baseline(level: str) -> Callable[[pd.DataFrame], pd.Series]:
    def value(df: pd.DataFrame) -> pd.Series:
        part = df[df["level"] == level]
        return part.set_index(part["unit_id"].astype(str))["baseline"].astype(float).rename_axis(f"{level}_id")

    return value


def _one_per_series(df: pd.DataFrame) -> pd.Series:
    ids = pd.unique(df["unique_id"])
    return pd.Series(1.0, index=pd.Index(ids, name="unique_id")).sort_index()


COMPANY = Side("targets_total", "the company target", _first("target"))

# ---- staffing: the replay of last year, whole people, the hires ----------------------
REPLAY_TOLERANCE = 0.03  # the capacity model over last year meets each region's sales within 3%


def _replay_ratio(df: pd.DataFrame) -> pd.Series | None:
    """Modelled over actual sales of last year by region; None when the params set the productivity."""
    if df["calibration"].isna().all():
        return None
    g = df.groupby("region_id")[["modelled", "actual"]].sum()
    return (g["modelled"] / g["actual"].where(g["actual"] != 0)).fillna(1.0)


def _ones_by_region(df: pd.DataFrame) -> pd.Series | None:
    if df["calibration"].isna().all():
        return None
    return pd.Series(1.0, index=pd.Index(sorted(pd.unique(df["region_id"])), name="region_id"))


def _people_carried(df: pd.DataFrame) -> pd.Series:
    """Each month's whole people at the start: last month's end plus the month's starters (the first month as given)."""
    d = df.sort_values(["region_id", "month"], kind="mergesort")
    prev = d.groupby("region_id")["people_end"].shift(1).to_numpy(dtype=float)
    start = d["people_start"].to_numpy(dtype=float)
    carried = np.where(np.isnan(prev), start, prev + d["hires_starting"].to_numpy(dtype=float))
    return pd.Series(carried, index=pd.MultiIndex.from_frame(d[["region_id", "month"]]))


def _people_start(df: pd.DataFrame) -> pd.Series:
    d = df.sort_values(["region_id", "month"], kind="mergesort")
    return pd.Series(d["people_start"].astype(float).to_numpy(), index=pd.MultiIndex.from_frame(d[["region_id", "month"]]))


def _year_end_people(df: pd.DataFrame) -> float:
    last = df["month"].astype(str).max()
    return float(df.loc[df["month"].astype(str) == last, "people_end"].sum())


def _hires_by_region_month(df: pd.DataFrame) -> pd.Series:
    d = df[df["hires_starting"] > 0]
    return d.groupby(["region_id", "month"])["hires_starting"].sum().astype(float)


def _hire_rows_by_region_month(df: pd.DataFrame) -> pd.Series:
    return df.groupby(["region_id", "start_month"]).size().astype(float).rename_axis(["region_id", "month"])


def _people_paid(kind: str) -> Callable[[pd.DataFrame], pd.Series]:
    def value(df: pd.DataFrame) -> pd.Series:
        part = _pay_at_plan(df)
        part = part[part["kind"] == kind] if "kind" in part else part
        return part.groupby("region_id")["rep_id"].nunique().astype(float)

    return value


def _fact(facts: pd.DataFrame, step: str, fact: str) -> str | None:
    hit = facts[(facts["step"] == step) & (facts["fact"] == fact)]
    return None if hit.empty else str(hit["value"].iloc[0])


def _planned_territories(summary: pd.DataFrame, facts: pd.DataFrame) -> float | None:
    """The proposal's number of territories when the territory step designed for the planned organisation."""
    if _fact(facts, "territory", "organisation") != "planned":
        return None
    return float(summary.loc[summary["plan"] == "proposed", "k"].iloc[0])


def _planned_headcount(staff: pd.DataFrame, hires: pd.DataFrame, facts: pd.DataFrame) -> float | None:
    """Today's active reps plus the new positions (hires of reason growth) starting by the month the
    territories were designed for (the plan year's end, run_facts organisation_month); a replacement
    takes over the territory of the person it replaces (expected leavers are not named)."""
    month = _fact(facts, "territory", "organisation_month")
    if _fact(facts, "territory", "organisation") != "planned" or month is None:
        return None
    if "reason" in hires:
        hires = hires[hires["reason"] == "growth"]
    starts = pd.PeriodIndex(hires["start_month"].astype(str), freq="M") if len(hires) else pd.PeriodIndex([], freq="M")
    return float(staff["headcount"].astype(float).sum() + (starts <= pd.Period(month, freq="M")).sum())


def _person_ledger(df: pd.DataFrame) -> pd.Series:
    parts = ["first_allocation", "handed_over", "taken_over", "vacancy_held", "ramp_held", "ramped_quota"]
    return df[parts].astype(float).sum(axis=1).reset_index(drop=True)


def _first_allocation(df: pd.DataFrame) -> pd.Series:
    part = df[df["first_allocation"].astype(float) != 0]
    return part.groupby(["person_id", "period"])["first_allocation"].sum().astype(float).rename_axis(["rep_id", "period"])


def _plan_rep_months(df: pd.DataFrame) -> pd.Series:
    part = df[df["target"].astype(float) != 0].assign(period=lambda d: d["period"].astype(str))
    return part.groupby(["rep_id", "period"])["target"].sum().astype(float)


def _people_with_targets(df: pd.DataFrame) -> float:
    return float(df["person_id"].nunique())


def _planned_people(summary: pd.DataFrame) -> float:
    return float(summary.loc[summary["plan"] == "proposed", "k"].iloc[0])


# targets follow the territories: the hand-over moves targets between people, never changes a total
FOLLOW_RULES: list[Rule] = [
    Rule("company target", COMPANY, Side("targets_person", "the sum of targets_person.target", _sum("target"))),
    Rule("company target", Side("plan_company_month", "plan_company_month.target by month", _by(["period"], "target")),
         Side("targets_person_month", "targets_person_month.target summed by month",
              lambda d: d.assign(period=d["period"].astype(str)).groupby("period")["target"].sum().astype(float))),
    Rule("ledger", Side("targets_person_month", "targets_person_month.target", _row("target")),
         Side("targets_person_month", "targets_person_month: first_allocation + handed_over + taken_over + vacancy_held + "
                                      "ramp_held + ramped_quota", _person_ledger)),
    Rule("ledger", Side("targets_person_month", "targets_person_month.first_allocation by rep and month", _first_allocation),
         Side("plan_rep_month", "plan_rep_month.target by rep and month", _plan_rep_months)),
    Rule("targets follow the territories", Side("targets_person", "people with a target (reps and hires)", _people_with_targets),
         Side("territory_summary", "territory_summary.k (proposed)", _planned_people), tolerance=0),
]

STAFFING_RULES: list[Rule] = [
    Rule("replay of last year", Side("staffing_calibration", "modelled / actual sales of last year by region", _replay_ratio),
         Side("staffing_calibration", "1 for every region", _ones_by_region), tolerance=REPLAY_TOLERANCE),
    Rule("one headcount", Side("capacity_plan", "capacity_plan.people_start by region and month", _people_start),
         Side("capacity_plan", "last month's people_end + hires_starting", _people_carried), tolerance=0),
    Rule("one headcount", Side("capacity_plan", "capacity_plan.people_end in the last month", _year_end_people),
         Side("key_figures", "key figure headcount_needed", _figure("headcount_needed")), tolerance=0),
    Rule("pay covers every person", Side("pay_cost", "today's reps paid, by region", _people_paid("rep")),
         Side("staff_now", "staff_now.headcount by region", _by(["region_id"], "headcount")), tolerance=0),
    Rule("pay covers every person", Side("pay_cost", "hires paid, by region", _people_paid("hire")),
         Side("staffing_hires", "staffing_hires rows by region", lambda d: d.groupby("region_id").size().astype(float)),
         tolerance=0),
    Rule("budget people line = pay plan",
         Side("budget_total", "budget_total.asked of the categories from the pay plan",
              lambda d: float(d.loc[d["from_pay"].astype(bool), "asked"].sum())
              if "from_pay" in d and d["from_pay"].astype(bool).any() else None),
         Side("pay_cost", "pay_cost.expected_pay at 100%", lambda d: float(_pay_at_plan(d)["expected_pay"].sum()))),
    Rule("hires are people", Side("capacity_plan", "capacity_plan.hires_starting by region and month", _hires_by_region_month),
         Side("staffing_hires", "staffing_hires rows by region and start month", _hire_rows_by_region_month), tolerance=0),
    # territory.organisation 'planned': one territory per rep today and per new position by the plan year's end
    Rule("territories = planned headcount",
         Side("territory_summary", "territory_summary.k (proposed), organisation 'planned'", _planned_territories,
              needs=("run_facts",)),
         Side("staff_now", "staff_now.headcount + staffing_hires of reason growth starting by run_facts organisation_month",
              _planned_headcount, needs=("staffing_hires", "run_facts")), tolerance=0),
]

RULES: list[Rule] = [
    # every series' forecast is a combination whose weights add up to 1
    Rule("forecast weights", Side("forecast_weights", "forecast_weights.weight summed by series", _by(["unique_id"], "weight")),
         Side("baseline_forecast_levels", "1 for every forecast series", _one_per_series), tolerance=1e-9),
    # the company target is the same everywhere
    *[Rule("company target", COMPANY, Side(t, f"the sum of {t}.target", _sum("target")))
      for t in ("targets_region", "targets_province", "targets_rep", "targets_customer", "plan_rep_month",
                "plan_customer_dekad", "plan_company_month")],
    Rule("company target", COMPANY, Side("capacity_plan", "capacity_plan.target in the plan year", _sum("target", _in_year))),
    Rule("company target", COMPANY, Side("achievability", "achievability.target of the regions",
                                         _sum("target", lambda d: d["level"] == "region"))),
    Rule("company target", COMPANY, Side("key_figures", "key figure total_target", _figure("total_target"))),
    Rule("last year", Side("targets_total", "last year", _first("last_year")),
         Side("key_figures", "key figure last_year", _figure("last_year"))),
    # every parent equals the sum of its children
    Rule("parent = sum of children", Side("targets_region", "targets_region.target by region", _by(["region_id"], "target")),
         Side("targets_province", "targets_province.target summed by region", _by(["region_id"], "target"))),
    Rule("parent = sum of children", Side("targets_province", "targets_province.target by province",
                                          _by(["province_id"], "target")),
         Side("targets_rep", "targets_rep.target summed by province", _by(["province_id"], "target"))),
    Rule("parent = sum of children", Side("targets_rep", "targets_rep.target by rep", _by(["rep_id"], "target")),
         Side("targets_customer", "targets_customer.target summed by rep", _by(["rep_id"], "target"))),
    Rule("parent = sum of children", Side("targets_rep", "targets_rep.target by rep", _by(["rep_id"], "target")),
         Side("plan_rep_month", "plan_rep_month.target summed by rep", _by(["rep_id"], "target"))),
    Rule("parent = sum of children", Side("targets_customer", "targets_customer.target by customer",
                                          _by(["customer_id"], "target")),
         Side("plan_customer_dekad", "plan_customer_dekad.target summed by customer", _by(["customer_id"], "target"))),
    Rule("parent = sum of children", Side("plan_company_month", "plan_company_month.target by month",
                                          _by(["period"], "target")),
         Side("plan_rep_month", "plan_rep_month.target summed by month", _by(["period"], "target"))),
    # products and channels: one table of customer x product x channel, every margin exact
    *[Rule("company target", COMPANY, Side(t, f"the sum of {t}.target", _sum("target")))
      for t in ("targets_customer_mix", "targets_region_mix", "plan_rep_product_month")],
    Rule("product and channel margins", Side("targets_customer", "targets_customer.target by customer",
                                             _by(["customer_id"], "target")),
         Side("targets_customer_mix", "targets_customer_mix.target summed by customer", _by(["customer_id"], "target"))),
    Rule("product and channel margins", Side("targets_region", "targets_region.target by region", _by(["region_id"], "target")),
         Side("targets_region_mix", "targets_region_mix.target summed by region", _by(["region_id"], "target"))),
    Rule("product and channel margins",
         Side("targets_region_mix", "targets_region_mix.target by region, product and channel",
              _by(["region_id", "product", "channel"], "target")),
         Side("targets_customer_mix", "targets_customer_mix.target summed by region, product and channel",
              _by(["region_id", "product", "channel"], "target"))),
    Rule("product and channel margins", Side("plan_rep_month", "plan_rep_month.target by rep and month",
                                             _by(["rep_id", "period"], "target")),
         Side("plan_rep_product_month", "plan_rep_product_month.target summed by rep and month",
              _by(["rep_id", "period"], "target"))),
    Rule("product and channel margins", Side("targets_customer_mix", "targets_customer_mix.target by rep and product",
                                             _by(["rep_id", "product"], "target")),
         Side("plan_rep_product_month", "plan_rep_product_month.target summed by rep and product",
              _by(["rep_id", "product"], "target"))),
    # the ledger rebuilds every unit's target; the task is split as exactly as the target
    *[Rule("ledger", Side(f"targets_{lv}", f"targets_{lv}.target", _row("target")),
           Side(f"targets_{lv}", f"targets_{lv}: target_before_bounds + bound_adjustment + redistribution + "
                                 "rounding_adjustment", _ledger))
      for lv in ("region", "province", "rep", "customer")],
    *[Rule("task", Side("targets_total", "the company task", _first("task")),
           Side(f"targets_{lv}", f"the sum of targets_{lv}.task", _sum("task"))) for lv in ("region", "province", "rep", "customer")],
    Rule("task", Side("targets_region", "targets_region.task by region", _by(["region_id"], "task")),
         Side("targets_province", "targets_province.task summed by region", _by(["region_id"], "task"))),
    Rule("task", Side("targets_province", "targets_province.task by province", _by(["province_id"], "task")),
         Side("targets_rep", "targets_rep.task summed by province", _by(["province_id"], "task"))),
    Rule("task", Side("targets_rep", "targets_rep.task by rep", _by(["rep_id"], "task")),
         Side("targets_customer", "targets_customer.task summed by rep", _by(["rep_id"], "task"))),
    # one baseline per unit: the chance of meeting is judged against the forecast the target was set against
    *[Rule("one baseline", Side(f"targets_{lv}", f"targets_{lv}.forecast by {lv}", _by([f"{lv}_id"], "forecast")),
           Side("achievability", f"achievability.baseline of the {lv}s", _level_baseline(lv)), tolerance=0.01)
      for lv in ("region", "province", "rep")],
    # levers: commitments keep the company's figure and are the reps' targets; locks hold
    Rule("commitments reconciled", Side("targets_commitments", "targets_commitments.target by rep", _by(["rep_id"], "target")),
         Side("targets_rep", "targets_rep.target by rep", _by(["rep_id"], "target"))),
    Rule("commitments reconciled", Side("targets_commitments", "the sum of targets_commitments.top_down", _sum("top_down")),
         Side("targets_commitments", "the sum of targets_commitments.target", _sum("target"))),
    Rule("locks hold", Side("targets_locks", "targets_locks.locked", _row("locked")),
         Side("targets_locks", "targets_locks.target", _row("target"))),
    # the budget: categories, regions, reps and months add up exactly; it follows the plan's targets
    Rule("budget adds up", Side("budget_total", "budget_total.budget by category", _by(["category"], "budget")),
         Side("budget_region", "budget_region.budget summed by category", _by(["category"], "budget"))),
    Rule("budget adds up", Side("budget_region", "budget_region.budget by category and region",
                                _by(["category", "region_id"], "budget")),
         Side("budget_rep_month", "budget_rep_month.budget summed by category and region",
              _by(["category", "region_id"], "budget"))),
    Rule("budget follows the plan", Side("budget_rep_month", "budget_rep_month.target by rep and month (one category)",
                                         lambda d: d[d["category"] == d["category"].iloc[0]]
                                         .groupby(["rep_id", "period"])["target"].sum()),
         Side("plan_rep_month", "plan_rep_month.target by rep and month", _by(["rep_id", "period"], "target"))),
    # one workload
    Rule("one workload", Side("workload_customer", "workload_customer.hours", _sum("hours")),
         Side("workload", "workload.hours", _sum("hours")), tolerance=1e-6),
    Rule("one workload", Side("workload_customer", "workload_customer (the measure territories balance) by customer",
                              lambda d: d.groupby("customer_id")["hours"].sum()),
         Side("territory_assignment", "territory_assignment.workload by customer",
              lambda d: d.set_index("customer_id")["workload"].astype(float)), tolerance=1e-6),
    # the summary's figures are the tables'
    Rule("summary = tables", Side("capacity_plan", "capacity_plan.hires_starting", _sum("hires_starting")),
         Side("key_figures", "key figure hires", _figure("hires")), tolerance=0),
    Rule("summary = tables", Side("pay_cost", "pay_cost.expected_pay at 100% (12 x total_pay for a month's table)",
                                  lambda d: float(_pay_at_plan(d)["expected_pay"].sum()) if "expected_pay" in d
                                  else 12.0 * float(_pay_at_plan(d)["total_pay"].sum())),
         Side("key_figures", "key figure pay_cost", _figure("pay_cost"))),
    Rule("summary = tables", Side("pay_cost", "pay_cost.total_pay / pay_cost.target at 100%",
                                  lambda d: float(_pay_at_plan(d)["total_pay"].sum() / _pay_at_plan(d)["target"].sum())),
         Side("key_figures", "key figure cost_share", _figure("cost_share")), tolerance=SHARE_TOLERANCE),
    Rule("summary = tables", Side("territory_metrics", "the largest proposed deviation in territory_metrics", _max_dev),
         Side("key_figures", "key figure territory_max_deviation", _figure("territory_max_deviation")),
         tolerance=SHARE_TOLERANCE),
    Rule("summary = tables", Side("budget_total", "budget_total.budget", _sum("budget")),
         Side("key_figures", "key figure budget", _figure("budget"))),
    Rule("summary = tables", Side("budget_total", "budget_total.asked", _sum("asked")),
         Side("key_figures", "key figure budget_asked", _figure("budget_asked"))),
    Rule("summary = tables", Side("budget_total", "budget_total.budget / budget_total.target",
                                  lambda d: float(d["budget"].sum() / d["target"].iloc[0])
                                  if d["target"].iloc[0] > 0 else float("nan")),
         Side("key_figures", "key figure budget_share_of_target", _figure("budget_share_of_target")),
         tolerance=SHARE_TOLERANCE),
    *[Rule("summary = tables", Side("stock_cover", f"stock_cover: store-products {status}",
                                    lambda d, s=status: float((d["status"] == s).sum())),
           Side("key_figures", f"key figure stock_{status}", _figure(f"stock_{status}")), tolerance=0)
      for status in ("below", "above")],
    Rule("summary = tables", Side("targets_commitments", "targets_commitments.gap", _sum("gap")),
         Side("key_figures", "key figure commitment_gap", _figure("commitment_gap"))),
    Rule("summary = tables", Side("territory_metrics", "the largest proposed deviation in territory_metrics", _max_dev),
         Side("territory_summary", "territory_summary.max_*_dev (proposed)", _max_dev_summary), tolerance=SHARE_TOLERANCE),
    # territories around reps: the side-by-side and the hand-over list are the assignment's
    Rule("one proposal", Side("territory_comparison", "territory_comparison: accounts moved",
                              lambda d: float(d.loc[d["measure"] == "accounts_moved", "proposed"].sum())),
         Side("territory_assignment", "territory_assignment: moved accounts", lambda d: float(d["moved"].astype(bool).sum())),
         tolerance=0),
    Rule("one proposal", Side("territory_handover", "territory_handover: accounts gained (customer -> new rep)",
                              lambda d: _pairs(d[d["direction"] == "gained"], "to_rep")),
         Side("territory_assignment", "territory_assignment: moved accounts (customer -> territory)",
              lambda d: _pairs(d[d["moved"].astype(bool)], "territory")), tolerance=0),
    # max_disruption: auto -- the proposal is the frontier's chosen point
    Rule("one proposal", Side("territory_frontier", "territory_frontier.max_*_dev and moved of the chosen point", _chosen_frontier),
         Side("territory_summary", "territory_summary.max_*_dev and moved (proposed)", _proposed_devs), tolerance=SHARE_TOLERANCE),
    *STAFFING_RULES,
    *FOLLOW_RULES,
]


def _curve_plan(column: str, level: str = "company") -> Callable[[pd.DataFrame], float | pd.Series | None]:
    """The plan's point on the chance curve: the company's value, or the regions' by region."""
    def value(df: pd.DataFrame) -> float | pd.Series | None:
        part = df[(df["level"] == level) & (df["point"] == "plan")]
        if part.empty:
            return None
        if level == "company":
            return float(part[column].iloc[0])
        return part.set_index(part["unit_id"].astype(str))[column].astype(float).rename_axis("unit_id")

    return value


def _curve_median(df: pd.DataFrame) -> float | None:
    part = df[(df["level"] == "company") & (df["point"] == "median")]
    return float(part["target"].iloc[0]) if len(part) else None


def _company_pace(column: str) -> Callable[[pd.DataFrame], float | None]:
    def value(df: pd.DataFrame) -> float | None:
        part = df[df["level"] == "company"]
        return float(part[column].iloc[0]) if len(part) else None

    return value


def _region_probability(df: pd.DataFrame) -> pd.Series:
    part = df[df["level"] == "region"]
    return part.set_index(part["unit_id"].astype(str))["probability"].astype(float).rename_axis("unit_id")


# the chance curve is the achievability's: the plan sits on it where the key figures and achievability say
RULES += [
    Rule("chance curve", Side("chance_curve", "the company's chance at the plan's target (chance_curve, point plan)",
                              _curve_plan("probability")),
         Side("key_figures", "key figure probability_of_meeting", _figure("probability_of_meeting")), tolerance=1e-9),
    Rule("chance curve", COMPANY, Side("chance_curve", "the company's plan point on the chance curve", _curve_plan("target"))),
    Rule("chance curve", Side("chance_curve", "each region's chance at its target (chance_curve, point plan)",
                              _curve_plan("probability", "region")),
         Side("achievability", "achievability.probability of the regions", _region_probability), tolerance=1e-9),
    Rule("chance curve", Side("chance_curve", "the company's target at a 50% chance", _curve_median),
         Side("key_figures", "key figure target_at_half", _figure("target_at_half"))),
    # products and channels to date add up to the company's target to date
    *[Rule("to date", Side("pacing", "pacing.target_to_date of the company", _company_pace("target_to_date")),
           Side("pacing_mix", f"pacing_mix.target_to_date summed over the {dim}s",
                lambda d, dim=dim: float(d.loc[d["dimension"] == dim, "target_to_date"].sum())
                if (d["dimension"] == dim).any() else None))
      for dim in ("product", "channel")],
    # where the company stands: the key figures (the leadership page) are pacing's company row
    *[Rule("to date", Side("pacing", f"pacing.{col} of the company", _company_pace(col)),
           Side("key_figures", f"key figure {figure}", _figure(figure)),
           tolerance=SHARE_TOLERANCE if col == "achievement" else MONEY_TOLERANCE)
      for col, figure in (("actual_to_date", "actual_to_date"), ("target_to_date", "target_to_date"),
                          ("achievement", "achievement_to_date"), ("projection", "projection"))],
]


def _compare(rule: Rule, left: float | pd.Series, right: float | pd.Series) -> str | None:
    if isinstance(left, pd.Series) or isinstance(right, pd.Series):
        a, b = pd.Series(left), pd.Series(right)
        keys = a.index.union(b.index)
        a, b = a.reindex(keys), b.reindex(keys)
        only = keys[a.isna() ^ b.isna()]
        diff = (a - b).abs()
        bad = diff[diff > rule.tolerance]
        if len(only):
            return f"{len(only)} key(s) on one side only, e.g. {', '.join(map(str, only[:3]))}"
        if len(bad):
            first = bad.index[0]
            return f"{len(bad)} key(s) differ, e.g. {first}: {a[first]:,.4f} against {b[first]:,.4f}"
        return None
    if np.isnan(left) and np.isnan(right):
        return None
    if not abs(left - right) <= rule.tolerance:
        return f"{left:,.4f} against {right:,.4f}, difference {left - right:,.4f}"
    return None


def check(tables: Tables) -> list[Broken]:
    """Apply every rule whose tables are present; return the broken ones (empty: all hold).

    Also checks every table against its declaration (columns, kinds) so units agree.
    """
    broken: list[Broken] = []
    for name, df in tables.items():
        if name in declared.TABLES:
            try:
                declared.check(name, df)
            except SalesmodelError as exc:
                broken.append(Broken("declared columns", name, "salesmodel/schema/tables.py", str(exc)))
    for rule in RULES:
        if any(t not in tables for side in (rule.left, rule.right) for t in (side.table, *side.needs)):
            continue
        try:
            left = rule.left.value(tables[rule.left.table], *(tables[t] for t in rule.left.needs))
            right = rule.right.value(tables[rule.right.table], *(tables[t] for t in rule.right.needs))
        except (KeyError, IndexError, ValueError) as exc:
            broken.append(Broken(rule.name, rule.left.what, rule.right.what, f"could not be read: {exc}"))
            continue
        if left is None or right is None:  # the rule does not apply to this run (e.g. no chosen frontier point)
            continue
        difference = _compare(rule, left, right)
        if difference is not None:
            broken.append(Broken(rule.name, f"{rule.left.what} ({rule.left.table})",
                                 f"{rule.right.what} ({rule.right.table})", difference))
    return broken
