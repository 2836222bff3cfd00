"""The plan in five numbers, its main risks, and scenarios side by side.

Reads the tables a run's notebooks saved (``targets_region``, ``achievability``,
``capacity_plan``, ``workload``, ``pay_cost``, ``territory_metrics``, ``pacing``,
``budget_total``, ``stock_cover``, ``targets_commitments``) and condenses them for
leadership. Every figure is traceable to one table and one column; a figure whose
table the run did not produce is ``None`` and is said to be missing, never invented.
"""
from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain import overview
from salesmodel.errors import InputError, ParamsError
from salesmodel.schema.vocabulary import has_word, word

__all__ = [
    "KeyFigures",
    "key_figures",
    "risks",
    "risk_table",
    "unmet_requirements",
    "load_run_tables",
    "compare_runs",
    "compare_targets",
    "reference_name",
    "diff_params",
    "FIGURE_SOURCES",
    "FIGURE_UNITS",
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
STOCK_NAMED = 20


def company_probability(levels: pd.DataFrame | None, target: float | None, plan_year: int | None) -> tuple[float, float] | None:
    """The chance that the company meets ``target``, and the baseline, from the company-level forecast.

    The reconciled company series of ``baseline_forecast_levels`` (level ``total``) carries
    the whole company's spread, so units that move together are not treated as
    independent; its plan-year months are added up with :data:`MONTH_CORRELATION`
    between months, and the year's outcome is taken as normal (as
    :func:`salesmodel.domain.targets.achievability`, which computes it).
    """
    from salesmodel.domain.targets.achievability import achievability

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
    from scipy.stats import norm

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


RISK_COLUMNS = ["kind", "unit_id", "value", "probability", "money", "asked", "detail"]


# the hires' accounts may fall this far short of what the staffing plan counts on them selling before it is a risk
HIRE_ACCOUNTS_SHORT = 0.10


def pay_at_plan(pay: pd.DataFrame) -> pd.DataFrame:
    """The pay plan's rows at 100% of target (else its first scenario): what the budget and the pages read."""
    scenario = "100%" if "100%" in set(pay["scenario"]) else pay["scenario"].iloc[0]
    return pay[pay["scenario"] == scenario]


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


def risk_table(tables: Mapping[str, pd.DataFrame], figures: KeyFigures, *, top: int = 5,
               calendar_status: tuple[str, int, str] | None = None,
               unmet: pd.DataFrame | None = None, bound_share: float | None = None) -> pd.DataFrame:
    """Every risk the run's tables show, most money first, then the rest (the ``risks`` table).

    Kinds: ``growth`` (regions below the achievability threshold, by money at risk),
    ``shortfall`` (capacity short of the target, with its months and amount), ``unmet``
    (a requirement of the params the plan does not meet, e.g. a territory tolerance),
    ``territory`` (every tolerance met: the largest deviation), ``disruption`` (the share of
    potential and the accounts the proposal moves to other reps),
    ``calendar`` (the plan year's holidays are not officially announced), ``decline``
    (units asked to sell less than last year), ``budget`` (a cap cut the expense budget: the
    budget, what was asked, the categories or ``overall``), ``stock`` (store-products out of the
    stock band: how many below, the stores below most urgent first, how many above),
    ``commitments`` (the reps' commitments against their top-down targets: the gap, how many
    committed, the policy), ``none`` (no unit below the threshold).
    """
    rows: list[dict[str, Any]] = []
    nan = np.nan

    def add(kind: str, unit_id: str = "", value: float = nan, probability: float = nan, money: float = nan,
            asked: float = nan, detail: str = "") -> None:
        rows.append({"kind": kind, "unit_id": unit_id, "value": value, "probability": probability, "money": money,
                     "asked": asked, "detail": detail})

    ach = tables.get("achievability")
    if ach is not None and not ach.empty:
        flagged = ach[ach["flag"].astype(bool)].copy()
        coarse = flagged[flagged["level"].isin(["company", "region"])].copy()
        pick = coarse if not coarse.empty else flagged
        pick = pick.assign(money=money_at_risk(pick["target"], pick["baseline"], pick.get("baseline_sd", 0.0)))
        for row in pick.sort_values(["money", "unit_id"], ascending=[False, True]).head(top).itertuples(index=False):
            add("growth", str(row.unit_id), float(row.growth_asked), float(row.probability), float(row.money),
                detail=str(row.level))
        if flagged.empty:
            add("none")
    cap = tables.get("capacity_plan")
    if cap is not None and len(cap):
        lead_in = cap["lead_in"].astype(bool) if "lead_in" in cap else False
        short = cap[cap["shortfall"].astype(bool) & ~lead_in]
        if len(short):
            months = sorted(short["month"].astype(str).unique())
            add("shortfall", ",".join(sorted(short["region_id"].astype(str).unique())), float(len(short)),
                money=float(short["shortfall_amount"].sum()) if "shortfall_amount" in short else nan,
                detail=",".join(months))
    for row in (unmet if unmet is not None else pd.DataFrame(columns=["requirement"])).itertuples(index=False):
        add("unmet", value=float(row.achieved), asked=float(row.asked), detail=str(row.requirement))
    if (unmet is None or not len(unmet)) and figures.territory_max_deviation is not None:
        add("territory", value=figures.territory_max_deviation)
    terr = tables.get("territory_summary")
    if terr is not None and len(terr) and (terr["plan"] == "proposed").any():
        proposed = terr[terr["plan"] == "proposed"].iloc[0]
        if int(proposed["moved_units"]) > 0:
            add("disruption", value=float(proposed["moved_share"]), detail=str(int(proposed["moved_units"])))
    part = hires_part(tables)
    # the hires' accounts against what the staffing plan counts on them to sell: today's reps carry the difference
    if part is not None and part.counted > 0 and part.quota < (1 - HIRE_ACCOUNTS_SHORT) * part.counted:
        add("hires_accounts", value=part.quota, money=part.counted - part.quota, asked=part.counted,
            detail=str(part.hires))
    if calendar_status is not None:
        status, year, country = calendar_status
        if status in ("estimated", "unconfirmed", "unsupported"):
            add("calendar", value=float(year), detail=f"{country}:{status}")
    for level in ("region", "province"):
        t = tables.get(f"targets_{level}")
        if t is not None and len(t):
            down = t[t["growth"] < 0].sort_values("growth")
            if len(down):
                add("decline", ",".join(down[f"{level}_id"].astype(str)), float(len(down)),
                    money=float((down["last_year"] - down["target"]).sum()), detail=level)
    bt = tables.get("budget_total")
    if bt is not None and len(bt) and figures.budget is not None and (bt["capped"] != "none").any():
        capped = bt[bt["capped"] != "none"]
        overall = (capped["capped"] == "overall").any()
        add("budget", "" if overall else ",".join(capped["category"].astype(str)),
            value=np.nan if figures.budget_share_of_target is None else figures.budget_share_of_target,
            money=figures.budget, asked=np.nan if figures.budget_asked is None else figures.budget_asked,
            detail="overall" if overall else "category")
    cover = tables.get("stock_cover")
    if cover is not None and figures.stock_below is not None and (figures.stock_below or figures.stock_above):
        from salesmodel.domain.tracking import out_of_band_first

        below = out_of_band_first(cover)
        below = below.loc[below["status"] == "below", "customer_id"].astype(str).drop_duplicates()
        # the stores that run out first (the workbook's stock sheet lists every one)
        add("stock", ",".join(below.head(STOCK_NAMED)), float(figures.stock_below),
            detail=str(figures.stock_above or 0))
    commitments = tables.get("targets_commitments")
    if commitments is not None and len(commitments) and figures.commitment_gap is not None:
        committed = int(commitments["has_commitment"].astype(bool).sum())
        if committed:
            add("commitments", value=float(committed), money=figures.commitment_gap,
                detail=f"{commitments['policy'].iloc[0]}:{len(commitments)}")
    bounds = tables.get("targets_bounds")
    if bound_share is not None and bounds is not None and len(bounds) and figures.share_at_bound is not None:
        # the plan leans on its caps: more customers (or money) at a growth bound than targets.bound_risk_share
        money_share = figures.money_share_at_bound or 0.0
        if figures.share_at_bound > bound_share or money_share > bound_share:
            upper = int(bounds["at_upper"].sum())
            cust = tables.get("targets_customer")
            cap = (float(cust.loc[cust["bound_applied"] == "upper", "growth"].median())
                   if cust is not None and upper else float("nan"))
            add("bounds", value=float(figures.customers_at_bound or 0), probability=float(figures.share_at_bound),
                money=float(bounds["target_at_bound"].sum()), asked=money_share,
                detail=f"{upper}:{int(bounds['customers'].sum())}:{cap:.4f}")
    return pd.DataFrame(rows, columns=RISK_COLUMNS)


def _frontier_cost(points: pd.DataFrame | None, measure: str, tolerance: float) -> str:
    """What meeting a territory tolerance would cost, read from the frontier (empty without one)."""
    column = f"max_{measure}_dev"
    if points is None or points.empty or column not in points.columns:
        return ""
    ok = points[points[column] <= tolerance + 1e-9].sort_values("max_disruption")
    if len(ok):
        row = ok.iloc[0]
        return (f"; meeting it takes moving {row['moved_share']:.1%} of potential ({int(row['moved_units'])} accounts), "
                f"the frontier's limit {row['max_disruption']:.0%}")
    row = points.sort_values("max_disruption").iloc[-1]
    return (f"; no point of the frontier meets it: at its largest limit ({row['max_disruption']:.0%}, "
            f"{row['moved_share']:.1%} of potential and {int(row['moved_units'])} accounts moved) the largest "
            f"deviation is {row[column]:.1%}")


def unmet_requirements(tables: Mapping[str, pd.DataFrame], *, balance_on: Mapping[str, float],
                       max_hires_per_month: int | None, max_starts_per_month: int | None) -> pd.DataFrame:
    """Requirements the params asked for that the plan does not meet (the ``unmet_requirements`` table).

    Territory tolerances (``balance_on``: measure -> tolerance) that the proposed design breaks,
    and months the capacity plan leaves short when a hiring cap was given. Each row names the
    params key, what was asked and what was achieved. The summary step passes the params' values.
    """
    rows: list[dict[str, Any]] = []
    terr = tables.get("territory_summary")
    if terr is not None and not terr.empty:
        proposed = terr[terr["plan"] == "proposed"].iloc[0]
        for measure, tolerance in balance_on.items():
            achieved = float(proposed.get(f"max_{measure}_dev", np.nan))
            if achieved > tolerance + 1e-9:
                rows.append({"step": "territory", "requirement": f"territory.balance_on.{measure}",
                             "asked": float(tolerance), "achieved": achieved,
                             "message": f"territory balance on {measure}: the proposed territories are up to "
                                        f"{achieved:.1%} off the mean, the tolerance is ±{tolerance:.1%}"
                                        + _frontier_cost(tables.get("territory_frontier"), measure, tolerance)})
    cap = tables.get("capacity_plan")
    cap_limit = max_hires_per_month
    if cap is not None and cap_limit is not None:
        short = cap[cap["shortfall"].astype(bool) & ~cap["lead_in"].astype(bool)]
        if len(short):
            rows.append({"step": "staffing", "requirement": "staffing.max_hires_per_month", "asked": float(cap_limit),
                         "achieved": float(len(short)),
                         "message": f"capacity: with at most {cap_limit} hire(s) a month, {len(short)} team-month(s) of "
                                    f"the plan year stay short of the target (first {short['month'].min()})"})
    company_limit = max_starts_per_month
    if cap is not None and company_limit is not None and cap_limit is None:
        short = cap[cap["shortfall"].astype(bool) & ~cap["lead_in"].astype(bool)]
        if len(short):
            rows.append({"step": "staffing", "requirement": "staffing.max_starts_per_month", "asked": float(company_limit),
                         "achieved": float(len(short)),
                         "message": f"capacity: with at most {company_limit} start(s) a month in the company, {len(short)} "
                                    f"team-month(s) of the plan year stay short of the target (first {short['month'].min()})"})
    return pd.DataFrame(rows, columns=["step", "requirement", "asked", "achieved", "message"])


def risks(
    table: pd.DataFrame,
    *,
    language: str = "en",
    names: Mapping[str, str] | None = None,
    money_unit: str = "wan",
) -> list[str]:
    """The ``risks`` table in plain sentences of the reader's language.

    ``names`` maps unit ids (region, rep...) to the names readers know.
    """
    from salesmodel.report import format_money, month_label

    names = names or {}
    out: list[str] = []

    def money(v: Any) -> str:
        return format_money(float(v), money_unit, language, decimals=0 if money_unit in ("yuan", "thousand", "wan") else 1)

    def listed(ids: str, n: int = 6) -> str:
        items = [names.get(i, i) for i in str(ids).split(",") if i]
        sep = "、" if language == "zh" else ", "
        return sep.join(items[:n]) + ("…" if len(items) > n else "")

    for row in table.itertuples(index=False):
        template = word(f"risk_{row.kind}", language) if row.kind not in ("unmet", "budget") else ""
        if row.kind == "growth":
            out.append(template.format(unit=names.get(row.unit_id, row.unit_id), growth=row.value, prob=row.probability,
                                       money=money(getattr(row, "money", 0.0) or 0.0)))
        elif row.kind == "shortfall":
            months = [m for m in str(row.detail).split(",") if m]
            shown = [month_label(m, language, with_year=True) for m in months[:4]]
            sep = "、" if language == "zh" else ", "
            out.append(template.format(n=int(row.value), months=sep.join(shown) + ("…" if len(months) > 4 else ""),
                                       money=money(row.money), teams=listed(row.unit_id)))
        elif row.kind == "unmet":
            req = str(row.detail)
            if req.startswith("territory.balance_on."):
                measure = req.rsplit(".", 1)[1]
                measure = word(measure, language) if measure in ("potential", "workload") else word("last_year", language)
                out.append(word("risk_unmet_territory", language).format(measure=measure, achieved=row.value, asked=row.asked))
            else:
                out.append(word("risk_unmet_staffing", language).format(asked=row.asked, n=int(row.value)))
        elif row.kind == "territory":
            out.append(template.format(dev=row.value))
        elif row.kind == "disruption":
            out.append(template.format(share=row.value, n=int(row.detail)))
        elif row.kind == "hires_accounts":
            out.append(template.format(hires=int(row.detail), quota=money(row.value), counted=money(row.asked),
                                       gap=money(row.money)))
        elif row.kind == "calendar":
            country = str(row.detail).split(":")[0]
            country = word(f"code_{country}", language) if has_word(f"code_{country}") else country
            out.append(template.format(year=int(row.value), country=country))
        elif row.kind == "decline":
            out.append(template.format(n=int(row.value), units=listed(row.unit_id), money=money(row.money)))
        elif row.kind == "budget":
            cats = [word(f"code_{c}", language) if has_word(f"code_{c}") else c for c in str(row.unit_id).split(",") if c]
            out.append(word(f"risk_budget_{row.detail}", language).format(
                asked=money(row.asked), budget=money(row.money), share=row.value,
                units=("、" if language == "zh" else ", ").join(cats)))
        elif row.kind == "stock":
            above = int(row.detail or 0)
            if int(row.value):
                out.append(template.format(below=int(row.value), above=above, units=listed(row.unit_id, 5)))
            else:
                out.append(word("risk_stock_above", language).format(above=above))
        elif row.kind == "bounds":
            upper, total, cap = (str(row.detail).split(":") + ["", "", "nan"])[:3]
            out.append(template.format(n=int(row.value), upper=int(upper or 0), total=int(total or 0),
                                       share=row.probability, money_share=row.asked, cap=float(cap)))
        elif row.kind == "commitments":
            policy, _, reps = str(row.detail).partition(":")
            gap = float(row.money)
            signed = ("+" if gap > 0 else "−" if gap < 0 else "") + money(abs(gap))
            out.append(template.format(n=int(row.value), reps=int(reps or 0), gap=signed,
                                       policy=word(f"code_{policy}", language) if has_word(f"code_{policy}") else policy))
        else:
            out.append(template)
    return out


def load_run_tables(run_dir: str | Path, names: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The Parquet tables of a run folder (``tables/*.parquet``), by name."""
    tables_dir = Path(run_dir) / "tables"
    if not tables_dir.is_dir():
        raise InputError(f"{run_dir}: not a run folder (no tables/ inside)")
    wanted = set(names) if names else None
    return {
        p.stem: pd.read_parquet(p)
        for p in sorted(tables_dir.glob("*.parquet"))
        if wanted is None or p.stem in wanted
    }


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def _run_params(run_dir: Path) -> dict[str, Any]:
    manifest = run_dir / "manifest.json"
    if not manifest.is_file():
        raise InputError(f"{run_dir}: no manifest.json; not a finished run folder")
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return data


def reference_name(names: list[str], wanted: str | None = "") -> str:
    """The reference scenario of a comparison: the one named, else the first.

    >>> reference_name(["base", "high"], "")
    'base'
    """
    if not names:
        raise InputError("no scenario finished; there is nothing to compare")
    if not wanted:
        return names[0]
    if wanted not in names:
        raise ParamsError(f"The reference scenario must be one of the batch's scenarios: {', '.join(names)}. "
                          f"Got {wanted!r} instead.")
    return wanted


def _scenario_of(run_dir: Path) -> tuple[str, dict[str, Any]]:
    manifest = _run_params(run_dir)
    return str(manifest.get("params", {}).get("scenario", run_dir.name)), manifest


def compare_runs(run_dirs: list[str | Path], reference: str | None = "") -> pd.DataFrame:
    """One row per run: scenario, params hash, the key figures and their difference from the reference.

    The figures are read from each run's ``key_figures`` table (never recomputed); the
    reference is the scenario named, else the first. ``<figure>_vs_reference`` is the
    figure minus the reference's (money in yuan, people in people, shares in points of 1).
    """
    rows = []
    for rd in run_dirs:
        rd = Path(rd)
        scenario, manifest = _scenario_of(rd)
        # A run that saved no tables still ran: its figures are simply missing.
        kf = rd / "tables" / "key_figures.parquet"
        figures = KeyFigures.from_table(pd.read_parquet(kf) if kf.is_file() else None)
        rows.append({
            "scenario": scenario,
            "run_id": manifest.get("run_id", rd.name),
            "params_sha256": manifest.get("params_sha256"),
            **figures.as_dict(),
        })
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    ref = reference_name(list(out["scenario"]), reference)
    out.insert(1, "is_reference", out["scenario"] == ref)
    ref_row = out[out["is_reference"]].iloc[0]
    for figure in FIGURE_SOURCES:
        values = pd.to_numeric(out[figure], errors="coerce").astype(float)
        base = pd.to_numeric(pd.Series([ref_row[figure]]), errors="coerce").astype(float).iloc[0]
        out[figure] = values
        out[f"{figure}_vs_reference"] = values - base
    return out


# the declared table and key column each target comparison reads
TARGET_COMPARISONS: dict[str, tuple[str, str]] = {"region": ("targets_region", "region_id"),
                                                  "month": ("plan_company_month", "period")}


def compare_targets(run_dirs: list[str | Path], by: str, reference: str | None = "") -> pd.DataFrame:
    """Each scenario's target by region (``targets_region``) or by month (``plan_company_month``)
    against the reference scenario's: ``scenario, <key>, target, reference_target, difference,
    difference_share`` (difference / reference target). Read from the runs' tables, not recomputed.
    """
    if by not in TARGET_COMPARISONS:
        raise ParamsError(f"The 'by' parameter must be one of {', '.join(TARGET_COMPARISONS)}. Got {by!r} instead.")
    table, key = TARGET_COMPARISONS[by]
    frames = []
    for rd in run_dirs:
        rd = Path(rd)
        scenario, _ = _scenario_of(rd)
        path = rd / "tables" / f"{table}.parquet"
        if not path.is_file():
            continue
        t = pd.read_parquet(path, columns=[key, "target"])
        t[key] = t[key].astype(str)
        t.insert(0, "scenario", scenario)
        frames.append(t)
    cols = ["scenario", key, "target", "reference_target", "difference", "difference_share"]
    if not frames:
        return pd.DataFrame(columns=cols)
    long = pd.concat(frames, ignore_index=True)
    ref = reference_name(list(dict.fromkeys(long["scenario"])), reference)
    base = long[long["scenario"] == ref].set_index(key)["target"]
    long["reference_target"] = long[key].map(base).astype(float)
    long["difference"] = long["target"] - long["reference_target"]
    with np.errstate(divide="ignore", invalid="ignore"):
        long["difference_share"] = np.where(long["reference_target"] != 0,
                                            long["difference"] / long["reference_target"], np.nan)
    return long[cols]


def diff_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> pd.DataFrame:
    """The params that differ between two scenarios, one row per dotted key.

    >>> diff_params({"targets": {"growth": 0.1}}, {"targets": {"growth": 0.15}})
                  key    a     b
    0  targets.growth  0.1  0.15
    """
    fa: dict[str, Any] = {}
    fb: dict[str, Any] = {}
    _flatten("", dict(a), fa)
    _flatten("", dict(b), fb)
    keys = sorted(set(fa) | set(fb))
    rows = [(k, fa.get(k), fb.get(k)) for k in keys if fa.get(k) != fb.get(k)]
    return pd.DataFrame(rows, columns=["key", "a", "b"])


def headline_tiles(figures: KeyFigures, *, language: str = "en", money_unit: str = "wan"):
    """The plan in five numbers, drawn as tiles (a matplotlib Figure)."""
    import matplotlib.pyplot as plt

    from salesmodel.report import format_money

    missing = word("not_in_run", language)

    def pct(v: float | None) -> str:
        return missing if v is None else f"{0.0 if abs(v) < 5e-4 else v:+.1%}"  # no "-0.0%"

    people = missing
    if figures.headcount_needed is not None:
        people = word("tiles_hires", language).format(people=figures.headcount_needed, hires=figures.hires or 0)
    tiles = [
        (word("plan_total", language), missing if figures.total_target is None else format_money(figures.total_target, money_unit, language)),
        (word("vs_last_year", language), pct(figures.growth_over_last_year)),
        (word("vs_baseline", language), pct(figures.growth_over_baseline)),
        (word("chance_of_meeting_plan", language), missing if figures.probability_of_meeting is None else f"{figures.probability_of_meeting:.0%}"),
        (word("people_needed", language), people),
    ]
    fig, axes = plt.subplots(1, len(tiles), figsize=(3.0 * len(tiles), 1.9))
    for ax, (title, value) in zip(axes, tiles):
        ax.set_axis_off()
        ax.add_patch(plt.Rectangle((0.02, 0.04), 0.96, 0.92, transform=ax.transAxes, color="#EEF2F8", zorder=0))
        ax.text(0.5, 0.70, title, ha="center", va="center", fontsize=10, color="#44546A", transform=ax.transAxes, wrap=True)
        # a long value ("62, de ellas 21 contrataciones") wraps onto two lines instead of leaving its box
        lines = [value] if len(value) <= 20 else textwrap.wrap(value, width=max(12, len(value) // 2 + 3))
        size = 18 if len(value) < 14 else 13 if len(lines) == 1 else 12
        ax.text(0.5, 0.30 if len(lines) > 1 else 0.34, "\n".join(lines), ha="center", va="center", fontsize=size,
                color="#1F3864", transform=ax.transAxes, linespacing=1.2)
    fig.tight_layout()
    return fig


def provenance(scenario: Any, run_dir: str | Path) -> dict[str, Any]:
    """What a reader needs to trace this page: run id, params hash, data hashes, version.

    Computed while the run is still being built, so it does not need the manifest;
    ``salesmodel verify`` checks the same hashes afterwards.
    """
    import salesmodel
    from salesmodel.run import audit
    from salesmodel.schema.params import params_hash

    run_dir = Path(run_dir)
    run_id = run_dir.name.removeprefix(".building-").removeprefix("edits-")  # the name the folder will have
    inputs = {}
    for key, path in audit.input_files(scenario).items():
        inputs[key] = audit.sha256_file(path)[:16]
    git = audit.git_info() or {}
    return {
        "run_id": run_id,
        "scenario": scenario.scenario,
        "params_sha256": params_hash(scenario),
        "salesmodel": salesmodel.__version__,
        "git_commit": (git.get("commit") or "")[:12] or None,
        "inputs_sha256": inputs,
    }


# ---- batches -------------------------------------------------------------------------

_COMPARISON_COLUMNS = {
    "total_target": ("plan_total", "money"),
    "growth_over_last_year": ("vs_last_year", "pct"),
    "growth_over_baseline": ("vs_baseline", "pct"),
    "probability_of_meeting": ("chance_of_meeting_plan", "pct"),
    "headcount_needed": ("cmp_people", "people"),
    "hires": ("hires", "people"),
    "pay_cost": ("pay_cost", "money"),
    "cost_share": ("pay_share", "pct"),
    "territory_max_deviation": ("territory_balance", "pct"),
    "budget": ("kf_budget", "money"),
}
# Figures a plan may not have at all (no budget in any scenario): their row is left out, not shown empty.
_OPTIONAL_COMPARISON = ("budget",)


def read_batch_manifest(batch_dir: str | Path) -> dict[str, Any]:
    """The batch manifest written by :func:`salesmodel.run.batch.run_batch`."""
    path = Path(batch_dir) / "batch_manifest.json"
    if not path.is_file():
        raise InputError(f"{batch_dir}: not a batch folder (no batch_manifest.json)")
    return json.loads(path.read_text(encoding="utf-8"))


def batch_comparison(batch_dir: str | Path, by: str | None = None) -> pd.DataFrame:
    """The batch's comparison table (one row per scenario that finished); ``by="region"`` or
    ``"month"``: the target comparison by region or month (``comparison_region``, ``comparison_month``)."""
    name = "comparison" if by is None else f"comparison_{by}"
    path = Path(batch_dir) / f"{name}.parquet"
    if not path.is_file():
        return pd.DataFrame(columns=["scenario", *FIGURE_SOURCES])
    return pd.read_parquet(path)


def _reference_of(comparison: pd.DataFrame) -> str:
    if "is_reference" in comparison and comparison["is_reference"].any():
        return str(comparison.loc[comparison["is_reference"].astype(bool), "scenario"].iloc[0])
    return str(comparison["scenario"].iloc[0])


def _fmt_value(v: Any, kind: str, scale: float, *, signed: bool = False, growth: bool = False,
               language: str = "en", money_digits: int = 1) -> str:
    if v is None or pd.isna(v):
        return "–"
    text = _fmt_number(float(v), kind, scale, signed=signed, growth=growth, money_digits=money_digits)
    return text.translate(str.maketrans(",.", ".,")) if language == "es" else text  # es: 1.615,2


def _fmt_number(v: float, kind: str, scale: float, *, signed: bool, growth: bool, money_digits: int) -> str:
    if signed:  # no "-0": a difference that rounds to nothing is shown as 0
        digits = {"money": money_digits, "people": 0}.get(kind, 1)
        v = v / scale if kind == "money" else v * 100 if kind == "pct" else v
        v = round(v, digits) + 0.0
        if v == 0:
            return f"{0:.{digits}f}"
        return f"{v:+,.{digits}f}"
    if kind == "money":
        return f"{v / scale:,.{money_digits}f}"
    if kind == "people":
        return f"{v:,.0f}"
    v = 0.0 if round(v * 100, 1) == 0 else v  # a share that rounds to nothing: 0.0%, never -0.0%
    return f"{v:+.1%}" if growth else f"{v:.1%}"


_GRID_SETTING = re.compile(r"([a-z][a-z0-9_]*)=([^_]*)(?:_|$)")
# grid settings that are shares: shown as percentages
_SHARE_SETTINGS = {"growth", "max_disruption", "chance", "cap_share", "shrinkage", "potential", "workload"}


def scenario_label(name: str, language: str = "en") -> str:
    """A scenario's name as readers read it: a grid point's settings in words, not code.

    >>> scenario_label("sweep__growth=0.06_stretch=1.1")
    'sweep: growth 6%, stretch 1.1'
    """
    base, sep, point = str(name).partition("__")
    if not sep:
        return str(name)
    parts = []
    for key, value in _GRID_SETTING.findall(point):
        label = word(f"grid_{key}", language) if has_word(f"grid_{key}") else key.replace("_", " ")
        try:
            number = float(value)
        except ValueError:
            parts.append(f"{label} {value}")
            continue
        if key in _SHARE_SETTINGS and abs(number) <= 1:
            shown = f"{number:.0%}" if round(number * 100, 6) == round(number * 100) else f"{number:.1%}"
        else:
            shown = f"{number:g}"
        parts.append(f"{label} {shown.replace('.', ',') if language == 'es' else shown}")
    return f"{base}: {', '.join(parts)}" if parts else str(name)


def readable_comparison(comparison: pd.DataFrame, *, language: str = "en", money_unit: str = "wan") -> pd.DataFrame:
    """The comparison for reading: figures down (unit in the label), each scenario's value across,
    then each scenario's difference from the reference (money in the unit, people whole, shares in points)."""
    from salesmodel.report import MONEY_DECIMALS, money_scale, money_unit_label

    scale = money_scale(money_unit)
    digits = MONEY_DECIMALS[money_unit]  # the pages' decimals for the unit (thousands whole, 万元 one)
    ref = _reference_of(comparison)
    ref_label = f"{ref} ({word('cmp_reference', language)})"
    others = [sc for sc in comparison["scenario"] if sc != ref]
    rows = []
    for col, (key, kind) in _COMPARISON_COLUMNS.items():
        if col not in comparison or (col in _OPTIONAL_COMPARISON and comparison[col].isna().all()):
            continue
        name = word(key, language)
        row = {word("cmp_figure", language): f"{name} ({money_unit_label(money_unit, language)})" if kind == "money" else name}
        by_scenario = dict(zip(comparison["scenario"], comparison[col]))
        row[ref_label] = _fmt_value(by_scenario[ref], kind, scale, growth="growth" in col, language=language,
                                    money_digits=digits)
        for sc in others:
            row[sc] = _fmt_value(by_scenario[sc], kind, scale, growth="growth" in col, language=language,
                                 money_digits=digits)
        diff_col = f"{col}_vs_reference"
        diffs = dict(zip(comparison["scenario"], comparison[diff_col])) if diff_col in comparison else {}
        for sc in others:
            d = diffs.get(sc)
            text = _fmt_value(d, kind, scale, signed=True, language=language, money_digits=digits)
            if kind == "pct" and text != "–":
                text = f"{text} {word('cmp_points', language)}"
            row[word("cmp_vs_reference", language).format(scenario=sc)] = text
        rows.append(row)
    return pd.DataFrame(rows)


def readable_targets(table: pd.DataFrame, by: str, reference: str, *, language: str = "en", money_unit: str = "wan",
                     names: Mapping[Any, str] | None = None) -> pd.DataFrame:
    """A target comparison (:func:`compare_targets`) for reading: regions or months down, the reference's
    target, each scenario's target, its difference and the difference in percent; a total row last."""
    from salesmodel.report import MONEY_DECIMALS, money_scale, money_unit_label, month_label

    scale = money_scale(money_unit)
    key = TARGET_COMPARISONS[by][1]
    if table.empty:
        return pd.DataFrame()
    ref = reference
    scenarios = list(dict.fromkeys(table["scenario"]))
    if ref in scenarios:
        scenarios.remove(ref)
    unit = money_unit_label(money_unit, language)
    keys = list(dict.fromkeys(table[key]))
    wide = table.pivot_table(index=key, columns="scenario", values="target", aggfunc="sum", sort=False).reindex(keys)
    ref_target = table.drop_duplicates(key).set_index(key)["reference_target"].reindex(keys)
    label_of = (lambda k: month_label(k, language, with_year=True)) if by == "month" else \
        (lambda k: (names or {}).get(k, k))
    first = word("month" if by == "month" else "region", language)
    out = pd.DataFrame({first: [label_of(k) for k in keys] + [word("total", language)]})

    def money(values: pd.Series, signed: bool = False) -> list[str]:
        vals = list(values) + [float(np.nansum(values))]
        return [_fmt_value(v, "money", scale, signed=signed, language=language, money_digits=MONEY_DECIMALS[money_unit])
                for v in vals]

    out[f"{ref} ({word('cmp_reference', language)}, {unit})"] = money(ref_target)
    for sc in scenarios:
        values = wide[sc] if sc in wide else pd.Series(np.nan, index=keys)
        diff = values - ref_target
        out[f"{sc} ({unit})"] = money(values)
        out[word("cmp_vs_reference", language).format(scenario=sc) + f" ({unit})"] = money(diff, signed=True)
        total_ref = float(np.nansum(ref_target))
        shares = list(diff / ref_target.replace(0, np.nan)) + [float(np.nansum(diff)) / total_ref if total_ref else np.nan]
        out[word("cmp_vs_reference", language).format(scenario=sc) + " (%)"] = [
            "–" if pd.isna(v) else _fmt_value(v, "pct", 1.0, growth=round(v * 100, 1) != 0, language=language)  # 0.0%
            for v in shares]
    return out


def comparison_chart(comparison: pd.DataFrame, *, language: str = "en", money_unit: str = "wan"):
    """Small multiples: one bar chart per headline figure, scenarios side by side (the reference darker)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from salesmodel.report import format_number, money_scale, money_unit_label

    cols = [c for c in _COMPARISON_COLUMNS if c in comparison and comparison[c].notna().any()]
    n = max(1, len(cols))
    ncols = min(3, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 2.8 * nrows), squeeze=False)
    labels = comparison["scenario"].astype(str).str.replace(": ", "\n", regex=False).str.replace("__", "\n", regex=False)
    ref = _reference_of(comparison)
    colors = ["#1F3864" if sc == ref else "#8FAADC" for sc in comparison["scenario"]]
    for ax, col in zip(axes.ravel(), cols):
        key, kind = _COMPARISON_COLUMNS[col]
        values = pd.to_numeric(comparison[col], errors="coerce")
        suffix = ""
        if kind == "money":
            values = values / money_scale(money_unit)
            suffix = f" ({money_unit_label(money_unit, language)})"
        elif kind == "pct":
            values = values * 100
            suffix = " (%)"
        ax.bar(range(len(values)), values, color=colors)
        whole = kind == "people" or float(np.nanmax(np.abs(values))) >= 10 if values.notna().any() else True
        ax.yaxis.set_major_formatter(FuncFormatter(  # separators, never an offset such as "1e6"; one decimals rule an axis
            lambda v, _p, whole=whole: format_number(v, 0 if whole else 1, language)))
        ax.set_title(word(key, language) + suffix, fontsize=10)
        ax.set_xticks(range(len(values)), labels, fontsize=7, rotation=30, ha="right")
    for ax in axes.ravel()[len(cols):]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def target_difference_chart(by_month: pd.DataFrame, by_region: pd.DataFrame, *, language: str = "en",
                            money_unit: str = "wan", names: Mapping[Any, str] | None = None):
    """The target's difference from the reference: by month (a line per scenario) and by region (bars)."""
    import matplotlib.pyplot as plt

    from salesmodel.report import money_formatter, money_unit_label, month_label

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8))
    unit = money_unit_label(money_unit, language)
    for ax, table, by in ((left, by_month, "month"), (right, by_region, "region")):
        key = TARGET_COMPARISONS[by][1]
        scenarios = list(dict.fromkeys(table["scenario"])) if not table.empty else []
        others = [sc for sc in scenarios if (table.loc[table["scenario"] == sc, "difference"] != 0).any()]
        keys = list(dict.fromkeys(table[key])) if not table.empty else []
        labels = [month_label(k, language) if by == "month" else (names or {}).get(k, k) for k in keys]
        width = 0.8 / max(1, len(others))
        for i, sc in enumerate(others):
            diff = table[table["scenario"] == sc].set_index(key)["difference"].reindex(keys)
            if by == "month":
                ax.plot(range(len(keys)), diff.to_numpy(), marker="o", label=sc)
            else:
                ax.bar(np.arange(len(keys)) + (i - (len(others) - 1) / 2) * width, diff.to_numpy(), width=width, label=sc)
        ax.axhline(0, color="#44546A", linewidth=0.8)
        ax.set_xticks(range(len(keys)), labels, fontsize=8)
        ax.yaxis.set_major_formatter(money_formatter(money_unit, language))
        ax.set_ylabel(unit)
        ax.set_title(f"{word('cmp_by_month' if by == 'month' else 'cmp_by_region', language)}: "
                     f"{word('cmp_difference', language).lower() if language != 'zh' else word('cmp_difference', language)}",
                     fontsize=10)
        if others:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def readable_params_diff(a: Mapping[str, Any], b: Mapping[str, Any], name_a: str, name_b: str, *,
                         language: str = "en", money_unit: str = "thousand",
                         names: Mapping[Any, str] | None = None) -> pd.DataFrame:
    """The settings that differ between two scenarios, in words: each setting's label from the vocabulary
    (never its params key), its values in the reader's style (shares as percentages, money in the page's
    unit, choices in words), nothing cut; a description given per language in the reader's."""
    from salesmodel.report.settings import setting_label, setting_value, setting_values
    from salesmodel.schema.params import description_text

    def readable(params: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in params.items() if k != "scenario"}
        if "description" in out:
            out["description"] = description_text(out["description"], language)[0]
        return out

    rows = setting_values(readable(a), readable(b))
    opts = {"money_unit": money_unit, "names": names}
    return pd.DataFrame({word("cmp_setting", language): [setting_label(k, language, names) for k, _, _ in rows],
                         name_a: [setting_value(k, v, language, **opts) for k, v, _ in rows],
                         name_b: [setting_value(k, v, language, **opts) for k, _, v in rows]})


def region_names(run_dir: str | Path, language: str = "en") -> dict[Any, str]:
    """Region id → name in the reader's language, from a run's copy of the org input (ids if it has none)."""
    path = Path(run_dir) / "inputs" / "org.parquet"
    if not path.is_file():
        return {}
    org = pd.read_parquet(path)
    if not {"name_en", "name"} & set(org.columns):
        return {}
    return {str(k): v for k, v in overview.unit_names(org, "unit_id", language).items()}


def scenario_params(batch_dir: str | Path, name: str) -> dict[str, Any]:
    """The resolved params of one scenario of a batch."""
    import yaml

    manifest = read_batch_manifest(batch_dir)
    for s in manifest["scenarios"]:
        if s["name"] == name:
            return yaml.safe_load(Path(s["params_file"]).read_text(encoding="utf-8"))
    raise InputError(f"{batch_dir}: no scenario named {name!r}; scenarios: {[s['name'] for s in manifest['scenarios']]}")


def pick_pair(manifest: Mapping[str, Any], a: str = "", b: str = "") -> tuple[str, str]:
    """Two scenario names for a params diff: the ones asked for, else the first and last."""
    names = [s["name"] for s in manifest["scenarios"]]
    if not names:
        raise InputError("the batch has no scenarios")
    return (a or names[0], b or names[-1])
