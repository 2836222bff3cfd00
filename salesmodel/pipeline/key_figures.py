"""The plan in its headline numbers: the ``key_figures`` and ``flagged_units`` tables of the summary step.

Reads the tables a run's steps declared (``targets_total``, ``achievability``, ``capacity_plan``,
``pay_cost``, ``territory_summary``, ``budget_total``, ``stock_cover``, ``targets_commitments``,
``chance_curve``, ``targets_bounds``, ``pacing``) and condenses them. Every figure is traceable to
one table and one column; a figure whose table the run did not produce is ``None`` and is said to be
missing, never invented. The hires' part of the plan (:func:`hires_part`) is read here too.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from salesmodel.domain.targets.achievability import achievability

__all__ = [
    "FIGURE_SOURCES",
    "FIGURE_UNITS",
    "FLAG_TOP",
    "HiresPart",
    "hires_pay",
    "KeyFigures",
    "MONTH_CORRELATION",
    "company_probability",
    "flagged_units",
    "hires_part",
    "key_figures",
    "money_at_risk",
    "pay_at_plan",
]


# Where each figure comes from: (table, column, how) — shown in the report's notes and
# written into the ``key_figures`` table beside each value.
FIGURE_SOURCES: dict[str, str] = {
    "total_target": "targets_total.target",
    "last_year": "targets_total.last_year",
    "growth_over_last_year": "total_target / last_year - 1",
    "baseline": "achievability.baseline (company row, else sum of regions)",
    "growth_over_baseline": "total_target / baseline - 1",
    "probability_of_meeting": "P(company sales >= target) from the company-level series of baseline_forecast_levels "
                              "(the reconciled total, so the correlation between units is the history's own); its "
                              "months are combined with correlation 0.5 between months (as achievability)",
    "units_at_risk": "flagged_units (reps below the achievability threshold, the five with most money at risk)",
    "headcount_needed": "capacity_plan.people_end (whole people, last month, summed over teams)",
    "hires": "capacity_plan.hires_starting (sum)",
    "staffing_shortfall_months": "capacity_plan.shortfall (count of team-months)",
    "pay_cost": "pay_cost.expected_pay (100% scenario, every person on the plan, month by month, summed)",
    "cost_share": "pay_cost.total_pay / pay_cost.target (100% scenario, summed over reps)",
    "territory_max_deviation": "territory_summary.max_*_dev (proposed, largest)",
    "budget": "budget_total.budget (sum over categories)",
    "budget_asked": "budget_total.asked (sum over categories, before the caps)",
    "budget_share_of_target": "budget / budget_total.target",
    "stock_below": "stock_cover.status (count of store-products below the floor)",
    "stock_above": "stock_cover.status (count of store-products above the ceiling)",
    "commitment_gap": "targets_commitments.gap (sum over reps: commitment - top-down target)",
    "target_at_half": "chance_curve.target of the company's median point (the target met with a 50% chance)",
    "customers_at_bound": "targets_bounds.at_upper + at_lower (sum over regions)",
    "share_at_bound": "customers_at_bound / targets_bounds.customers",
    "money_share_at_bound": "targets_bounds.target_at_bound / targets_bounds.target",
    "actual_to_date": "pacing.actual_to_date (company)",
    "target_to_date": "pacing.target_to_date (company)",
    "achievement_to_date": "pacing.achievement (company)",
    "projection": "pacing.projection (company: actual to date + the baseline of the time left)",
    "run_rate_projection": "pacing.run_rate_projection (company: the straight line)",
}
FIGURE_UNITS: dict[str, str] = {
    "total_target": "yuan", "last_year": "yuan", "growth_over_last_year": "share", "baseline": "yuan",
    "growth_over_baseline": "share", "probability_of_meeting": "probability", "units_at_risk": "count",
    "headcount_needed": "people", "hires": "people", "staffing_shortfall_months": "count", "pay_cost": "yuan",
    "cost_share": "share", "territory_max_deviation": "share", "budget": "yuan", "budget_asked": "yuan",
    "budget_share_of_target": "share", "stock_below": "count", "stock_above": "count", "commitment_gap": "yuan",
    "target_at_half": "yuan", "customers_at_bound": "count", "share_at_bound": "share", "money_share_at_bound": "share",
    "actual_to_date": "yuan", "target_to_date": "yuan", "achievement_to_date": "share", "projection": "yuan",
    "run_rate_projection": "yuan",
}
_COUNTS = ("units_at_risk", "staffing_shortfall_months", "stock_below", "stock_above", "customers_at_bound")


@dataclass(frozen=True)
class KeyFigures:
    """Headline numbers of one run; ``None`` where the run lacks the table."""

    total_target: float | None
    last_year: float | None
    growth_over_last_year: float | None
    baseline: float | None
    growth_over_baseline: float | None
    probability_of_meeting: float | None
    units_at_risk: int | None
    headcount_needed: float | None
    hires: float | None
    staffing_shortfall_months: int | None
    pay_cost: float | None
    cost_share: float | None
    territory_max_deviation: float | None
    budget: float | None = None
    budget_asked: float | None = None
    budget_share_of_target: float | None = None
    stock_below: int | None = None
    stock_above: int | None = None
    commitment_gap: float | None = None
    target_at_half: float | None = None
    customers_at_bound: int | None = None
    share_at_bound: float | None = None
    money_share_at_bound: float | None = None
    actual_to_date: float | None = None
    target_to_date: float | None = None
    achievement_to_date: float | None = None
    projection: float | None = None
    run_rate_projection: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def as_table(self) -> pd.DataFrame:
        """The ``key_figures`` table: figure, value, unit, source."""
        return pd.DataFrame({
            "figure": list(FIGURE_SOURCES),
            "value": [np.nan if getattr(self, k) is None else float(getattr(self, k)) for k in FIGURE_SOURCES],
            "unit": [FIGURE_UNITS[k] for k in FIGURE_SOURCES],
            "source": list(FIGURE_SOURCES.values()),
        })

    @classmethod
    def from_table(cls, table: pd.DataFrame | None) -> KeyFigures:
        """Read the ``key_figures`` table a run's summary step wrote (missing figures are None)."""
        values = {} if table is None else dict(zip(table["figure"], table["value"]))

        def get(k: str) -> Any:
            v = values.get(k)
            if v is None or pd.isna(v):
                return None
            return int(v) if k in _COUNTS else float(v)

        return cls(**{k: get(k) for k in FIGURE_SOURCES})


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return float(num) / float(den) - 1.0


def _finest(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of the finest organisation level present in an achievability table."""
    order = ["customer", "rep", "province", "region", "company"]
    present = [lv for lv in order if lv in set(df["level"])]
    return df[df["level"] == present[0]] if present else df


# Correlation between the months of a unit's year when monthly spreads are added up (the
# achievability default of salesmodel.domain.targets): stated on the leadership page.
MONTH_CORRELATION = 0.5
# How many units the leadership page flags: the ones with most money at risk.
FLAG_TOP = 5
# How many stores below the stock band the risks table names (most urgent first).


def company_probability(levels: pd.DataFrame | None, target: float | None, plan_year: int | None) -> tuple[float, float] | None:
    """The chance that the company meets ``target``, and the baseline, from the company-level forecast.

    The reconciled company series of ``baseline_forecast_levels`` (level ``total``) carries
    the whole company's spread, so units that move together are not treated as
    independent; its plan-year months are added up with :data:`MONTH_CORRELATION`
    between months, and the year's outcome is taken as normal (as
    :func:`salesmodel.domain.targets.achievability`, which computes it).
    """
    if levels is None or target is None or plan_year is None or "level" not in levels:
        return None
    total = levels[(levels["level"] == "total") & (pd.to_datetime(levels["ds"]).dt.year == int(plan_year))]
    if total.empty or not [c for c in total.columns if c.startswith("yhat_lo_")]:
        return None
    fc = total.assign(unit="company")
    out = achievability(pd.DataFrame({"unit": ["company"], "target": [float(target)]}), fc, keys="unit",
                        correlation=MONTH_CORRELATION)
    return float(out["probability"].iloc[0]), float(out["baseline"].iloc[0])


def money_at_risk(target: Any, baseline: Any, sd: Any) -> np.ndarray:
    """Expected shortfall E[max(target - X, 0)] for X normal with the baseline's mean and spread."""
    t, m, s = (np.asarray(v, dtype=float) for v in (target, baseline, sd))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (t - m) / s, np.inf * np.sign(t - m))
        es = np.where(s > 0, (t - m) * norm.cdf(z) + s * norm.pdf(z), np.maximum(t - m, 0.0))
    return np.maximum(es, 0.0)


def flagged_units(tables: Mapping[str, pd.DataFrame], *, top: int = FLAG_TOP) -> pd.DataFrame:
    """The few units that matter: below the achievability threshold, most money at risk first (at most ``top``).

    Units are reps when the run has them (else the finest level); money at risk is the
    expected amount by which the unit misses its target if sales follow the baseline.
    """
    cols = ["level", "unit_id", "target", "baseline", "growth_asked", "probability", "money_at_risk", "rank"]
    ach = tables.get("achievability")
    if ach is None or ach.empty:
        return pd.DataFrame(columns=cols)
    level = "rep" if "rep" in set(ach["level"]) else _finest(ach)["level"].iloc[0]
    rows = ach[(ach["level"] == level) & ach["flag"].astype(bool)].copy()
    rows["money_at_risk"] = money_at_risk(rows["target"], rows["baseline"], rows.get("baseline_sd", 0.0))
    rows = rows.sort_values(["money_at_risk", "unit_id"], ascending=[False, True]).head(top)
    rows["rank"] = np.arange(1, len(rows) + 1, dtype="int64")
    return rows[cols].reset_index(drop=True)


def key_figures(tables: Mapping[str, pd.DataFrame], plan_year: int | None = None) -> KeyFigures:
    """Condense a run's declared tables into the headline numbers (the summary step calls this once).

    >>> t = {"targets_total": pd.DataFrame({"target": [110.0], "last_year": [100.0]})}
    >>> round(key_figures(t).growth_over_last_year, 3)
    0.1
    """
    total = last = baseline = prob = None
    at_risk = None
    tt = tables.get("targets_total")
    if tt is not None and len(tt):
        total, last = float(tt["target"].iloc[0]), float(tt["last_year"].iloc[0])
    ach = tables.get("achievability")
    if ach is not None and not ach.empty:
        company = ach[ach["level"] == "company"]
        regions = ach[ach["level"] == "region"]
        if len(company) == 1:
            baseline = float(company["baseline"].iloc[0])
            prob = float(company["probability"].iloc[0])
        elif not regions.empty:
            baseline = float(regions["baseline"].sum())
        at_risk = int(len(flagged_units(tables)))
    company_level = company_probability(tables.get("baseline_forecast_levels"), total, plan_year)
    if company_level is not None:
        prob, baseline = company_level
    cap = tables.get("capacity_plan")
    headcount = hires = None
    shortfall_months = None
    if cap is not None and not cap.empty:
        last_month = cap["month"].astype(str).max()
        whole = "people_end" if "people_end" in cap.columns else "headcount_end"
        headcount = float(cap.loc[cap["month"].astype(str) == last_month, whole].sum())
        hires = float(cap["hires_starting"].sum())
        shortfall_months = int(cap["shortfall"].astype(bool).sum())
    pay = tables.get("pay_cost")
    pay_total = cost_share = None
    if pay is not None and not pay.empty:
        at_plan = pay_at_plan(pay)
        # pay_cost is pay against target (a month of each, or month by month): the share needs no scaling
        pay_total = float(at_plan["expected_pay"].sum()) if "expected_pay" in at_plan else 12.0 * float(at_plan["total_pay"].sum())
        month_target = float(at_plan["target"].sum())
        cost_share = float(at_plan["total_pay"].sum()) / month_target if month_target else None
    terr = tables.get("territory_summary")
    max_dev = None
    if terr is not None and not terr.empty:
        proposed = terr[terr["plan"] == "proposed"]
        dev_cols = [c for c in proposed.columns if c.startswith("max_") and c.endswith("_dev")]
        values = proposed[dev_cols].to_numpy(dtype=float)
        if values.size and not np.isnan(values).all():
            max_dev = float(np.nanmax(np.abs(values)))
    budget = budget_asked = budget_share = None
    bt = tables.get("budget_total")
    if bt is not None and len(bt):
        budget, budget_asked = float(bt["budget"].sum()), float(bt["asked"].sum())
        plan_target = float(bt["target"].iloc[0])
        budget_share = budget / plan_target if plan_target > 0 else None
    stock_below = stock_above = None
    cover = tables.get("stock_cover")
    if cover is not None:
        stock_below, stock_above = int((cover["status"] == "below").sum()), int((cover["status"] == "above").sum())
    commitments = tables.get("targets_commitments")
    gap = float(commitments["gap"].sum()) if commitments is not None and len(commitments) else None
    return KeyFigures(
        total_target=total,
        last_year=last,
        growth_over_last_year=_ratio(total, last),
        baseline=baseline,
        growth_over_baseline=_ratio(total, baseline),
        probability_of_meeting=prob,
        units_at_risk=at_risk,
        headcount_needed=headcount,
        hires=hires,
        staffing_shortfall_months=shortfall_months,
        pay_cost=pay_total,
        cost_share=cost_share,
        territory_max_deviation=max_dev,
        budget=budget,
        budget_asked=budget_asked,
        budget_share_of_target=budget_share,
        stock_below=stock_below,
        stock_above=stock_above,
        commitment_gap=gap,
        **_chance_and_pace(tables),
    )


def _chance_and_pace(tables: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """The target at 50% (chance_curve), the customers at a growth bound (targets_bounds) and where the
    company stands to date (pacing), as the key figures carry them."""
    out: dict[str, Any] = {}
    curve = tables.get("chance_curve")
    if curve is not None:
        median = curve[(curve["level"] == "company") & (curve["point"] == "median")]
        if len(median):
            out["target_at_half"] = float(median["target"].iloc[0])
    bounds = tables.get("targets_bounds")
    if bounds is not None and len(bounds):
        at = int(bounds["at_upper"].sum() + bounds["at_lower"].sum())
        n, money = int(bounds["customers"].sum()), float(bounds["target"].sum())
        out.update(customers_at_bound=at, share_at_bound=at / n if n else None,
                   money_share_at_bound=float(bounds["target_at_bound"].sum()) / money if money else None)
    pace = tables.get("pacing")
    if pace is not None and (pace["level"] == "company").any():
        row = pace[pace["level"] == "company"].iloc[0]
        for k, col in (("actual_to_date", "actual_to_date"), ("target_to_date", "target_to_date"),
                       ("achievement_to_date", "achievement"), ("projection", "projection"),
                       ("run_rate_projection", "run_rate_projection")):
            v = row[col]
            out[k] = None if pd.isna(v) else float(v)
    return out


def pay_at_plan(pay: pd.DataFrame) -> pd.DataFrame:
    """The pay plan's rows at 100% of target (else its first scenario): what the budget and the pages read."""
    scenario = "100%" if "100%" in set(pay["scenario"]) else pay["scenario"].iloc[0]
    return pay[pay["scenario"] == scenario]


def hires_pay(pay: pd.DataFrame) -> tuple[float, float]:
    """What the hires cost in pay at 100% of target: this year (from their start, ramped, expected) and at
    full year (a fully ramped month's pay, the mean of the hire's ramped months, else their last, x 12)."""
    at_plan = pay_at_plan(pay)
    hired = at_plan[at_plan["kind"] == "hire"]
    if not len(hired):
        return 0.0, 0.0
    per_hire = hired[hired["ramp"] >= 1.0].groupby("rep_id")["total_pay"].mean().reindex(hired["rep_id"].unique())
    per_hire = per_hire.fillna(hired.groupby("rep_id")["total_pay"].last())
    return float(hired["expected_pay"].sum()), float(per_hire.sum() * 12)


@dataclass(frozen=True)
class HiresPart:
    """The planned hires' part of the plan: the new positions' ramped quotas from the territories, what
    the staffing plan counts on them selling (their ramped standard in the pay plan), the plan, and the
    hires that replace people the regions are expected to lose (they take over those territories)."""

    hires: int
    quota: float
    counted: float
    plan: float
    replacements: int = 0


def hires_part(tables: Mapping[str, pd.DataFrame]) -> HiresPart | None:
    """The hires' part of the plan from ``targets_person``, ``staffing_hires`` and ``pay_cost`` (None without
    planned hires): ``hires`` are the new positions the territories were designed for."""
    people, pay, listed = tables.get("targets_person"), tables.get("pay_cost"), tables.get("staffing_hires")
    replacements = int((listed["reason"] == "replacement").sum()) if listed is not None and "reason" in listed else 0
    if people is None or not ((people["kind"] == "hire").any() or replacements):
        return None
    hired = people[people["kind"] == "hire"]
    counted = 0.0
    if pay is not None and len(pay) and "kind" in pay:
        at_plan = pay_at_plan(pay)
        counted = float(at_plan.loc[at_plan["rep_id"].isin(set(hired["person_id"])), "target"].sum())
    return HiresPart(hires=len(hired), quota=float(hired["ramped_quota"].sum()), counted=counted,
                     plan=float(people["target"].sum()), replacements=replacements)
