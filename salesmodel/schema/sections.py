"""The sections of a scenario's parameters, one pydantic model each (data, calendar, forecast, targets,
staffing, territory, tracking, budget, report): every key with its default, its description and its
range, the ranges taken from :mod:`salesmodel.domain.constraints` where the core shares them.

Each section class belongs to the module it configures; keep each section's fields documented.
The scenario that holds them, and loading it from YAML, are :mod:`salesmodel.schema.params`'s.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from salesmodel.domain import staffing
from salesmodel.domain.constraints import (
    ACHIEVABILITY_THRESHOLD,
    CHANCE,
    DESIGN,
    LEVELS,
    MIX_OWN_WEIGHT,
    PHASING,
    PHASING_BLEND,
    ROUND_TO,
    STRETCH,
    TIME_GRAINS,
    TOLERANCE,
)
from salesmodel.domain.forecast.models import FORECAST
from salesmodel.paths import shorten
from salesmodel.schema.vocabulary import DEFAULT_MONEY_UNIT, FALLBACK_LANGUAGE, LANGUAGES

# The languages a description may be given in (report.language's)
DESCRIPTION_LANGUAGES = LANGUAGES


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class DataParams(_Section):
    """Where the company's input tables are."""

    dir: Path = Field(Path("../data/demo"), description="Folder holding the input files (relative to the params file).")
    sales: str = Field("sales.parquet", description="Daily sales history: date, customer_id, product, channel, amount, units.")
    customers: str = Field("customers.csv", description="Customers with their rep, province, coordinates and tier.")
    reps: str = Field("reps.csv", description="Sales reps with their province and region.")
    org: str = Field("org.csv", description="The organisation: company, regions, provinces as a parent-child table.")
    provinces: str = Field("provinces.csv", description="Provinces with capital coordinates and population.")
    adjacency: str = Field("province_adjacency.csv", description="Pairs of provinces that share a border.")
    locks: str | None = Field(None, description="Optional: locked targets (level, unit_id, target, reason): units whose target the company fixes; the others share the rest.")
    commitments: str | None = Field(None, description="Optional: the reps' own commitments (rep_id, amount, note), reconciled with the top-down targets by targets.commitments.")
    actuals: str | None = Field(None, description="Optional: the plan year's sales to date (the sales history's columns); tracking then follows the plan year.")
    stock: str | None = Field(None, description="Optional: stock on hand (date, customer_id, product, units); tracking then reports days of cover and an order plan.")
    territory_locks: str | None = Field(None, description="Optional: key accounts that stay with a named rep (customer_id, rep_id); the territory step never moves them elsewhere.")
    sql_url: str | None = Field(None, description="SQLAlchemy URL; when set, each table is read from the database table of the same key name.")
    history_start: date | None = Field(None, description="Declared first date of the sales history: earlier sales dates are an input error (default: no check).")
    history_end: date | None = Field(None, description="Declared last date of the sales history: later sales dates are an input error (default: no check).")

    @model_validator(mode="after")
    def _history_in_order(self) -> DataParams:
        if self.history_start is not None and self.history_end is not None and self.history_start > self.history_end:
            raise ValueError(
                f"data.history_start ({self.history_start}) is after data.history_end ({self.history_end}); "
                "the history must start before it ends"
            )
        return self


class CalendarParams(_Section):
    """The planning calendar."""

    country: str = Field("CN", description="Country code for public holidays and make-up working days (the holidays package).")
    plan_year: int = Field(2027, ge=1990, le=2100, description="The year being planned.")
    holiday_overrides: Path | None = Field(None, description="CSV of company overrides: date, kind (holiday|workday), name.")


class ForecastParams(_Section):
    """The baseline forecast (notebook 01)."""

    grain: list[str] = Field(["region", "product"], min_length=1, description="Key columns of the series forecast: region, province, rep, customer, product, channel (e.g. [region, product] or [customer, product]).")
    freq: Literal["MS", "QS"] = Field("MS", description="Series frequency: month start (MS) or quarter start (QS).")
    horizon: int = Field(12, ge=1, le=120, description="Periods ahead to forecast; at least through the end of the plan year.")
    models: list[str] | None = Field(None, description="The model pool for seasonal series (names in salesmodel.domain.forecast.MODEL_NAMES; default: AutoETS, AutoETSLog, AutoCES, Theta, SeasonalNaive).")
    combine: Literal[FORECAST["combine"].values] = Field("weighted", description="How a series' models are combined: weighted by the inverse of each model's error (MASE and sMAPE) on the series' own latest backtest window times the model's weight among series of similar trend strength; or their mean or median.")
    shrinkage: float = Field(0.0, **FORECAST["shrinkage"].field_bounds(), description="Share of the trend group's weights in the weighted combination (0: each series' own backtest times its group's weights; 1: the group's weights only).")
    calibration_sample: int | None = Field(2000, ge=30, description="At most this many series of each model family are backtested for the weights and the interval calibration (evenly spread); the others take the family's average weights. Empty: every series.")
    level: list[int] = Field([80, 95], min_length=1, description="Prediction interval levels in percent.")
    n_windows: int = Field(2, ge=1, le=12, description="Rolling-origin backtest windows.")
    reconcile: Literal["none", "bottom_up", "wls_struct", "mint_shrink"] = Field("mint_shrink", description="How levels are made to add up.")
    top_n_charts: int = Field(6, ge=0, le=50, description="Fan charts for this many of the largest series.")
    spring_festival: bool = Field(True, description="Take the Spring Festival's moving effect out of the monthly history before forecasting and put it back for the forecast months (needs daily sales; China only). On by default: on the demo company's backtest it cut the January/February sMAPE from 27.9 to 17.0 (benchmarks/results/forecast_spring_festival.md).")
    engine: Literal["local", "dask"] = Field("local", description="Where the models are fitted: this machine, or a Dask cluster through statsforecast's distributed backend (same result; needs salesmodel[distributed]).")
    scheduler: str | None = Field(None, description="Address of the Dask scheduler for engine 'dask' (e.g. tcp://host:8786); empty: the Dask client already active in the session.")
    n_jobs: int | None = Field(None, ge=-1, description="Processes on this machine for engine 'local' (-1 or empty: all cores for 200 series or more).")

    @model_validator(mode="after")
    def _scheduler_needs_dask(self) -> ForecastParams:
        if self.scheduler is not None and self.engine != "dask":
            raise ValueError("forecast.scheduler is set but forecast.engine is not 'dask'; set engine: dask or remove the scheduler")
        if self.n_jobs == 0:
            raise ValueError("forecast.n_jobs must be a positive number of processes, -1 (all cores) or empty")
        return self


class CommitmentParams(_Section):
    """How the reps' own commitments (``data.commitments``) meet the top-down targets.

    The targets of the ``within`` level are kept (the company's figure is never moved by a
    rep); inside each of its units the reps' targets follow the policy, rescaled so they add up
    exactly to it, and the levels between are their reps' sums. Example::

        targets:
          commitments: {policy: bottom_up, bounds: [-0.05, 0.10], within: region}
    """

    policy: Literal["top_down", "bottom_up", "blend"] = Field("top_down", description="top_down: the targets stay, the gap is shown; bottom_up: each rep's commitment, held within bounds of the top-down target; blend: (1 - weight) x top-down + weight x commitment, within the same bounds.")
    weight: float = Field(0.5, ge=0, le=1, description="For 'blend': weight of the commitment (0: top-down only, 1: commitments only).")
    bounds: tuple[float, float] = Field((-0.10, 0.10), description="For 'bottom_up' and 'blend': lowest and highest change a commitment may make to the top-down target (-0.10 = 10% below).")
    within: Literal["company", "region", "province"] = Field("region", description="The level whose targets the commitments never move (reps' targets shift only inside each of its units).")

    @model_validator(mode="after")
    def _bounds_in_order(self) -> CommitmentParams:
        lo, hi = self.bounds
        if not -1 < lo <= 0 <= hi:
            raise ValueError(f"targets.commitments.bounds must be [low, high] with -1 < low <= 0 <= high; got {list(self.bounds)}")
        return self


class TotalByChance(_Section):
    """The company target set by its chance of being met: ``targets.total: {chance: 0.6}``."""

    chance: float = Field(..., **CHANCE.field_bounds(), description="The chance of meeting the company target if sales follow the baseline forecast (strictly between 0 and 1); the target is the amount met with this chance.")


class TargetsParams(_Section):
    """Target setting and decomposition (notebook 02)."""

    total: float | TotalByChance | None = Field(None, description="Company total for the plan year: an amount, or {chance: 0.6} (the target met with that chance, from the company's baseline forecast); when empty, growth over the base is used.")
    allocation: Literal["basis", "equal_chance"] | dict[str, Literal["basis", "equal_chance"]] = Field("basis", description="How each level's parent target is shared: 'basis' (by the basis blend) or 'equal_chance' (every unit of the level the same chance of meeting its target, given its own baseline and spread; within the growth bounds); one word for every level that has a baseline (region, province, rep), or per level, e.g. {region: equal_chance, province: equal_chance, rep: equal_chance}. The finest equal-chance level's chance is the common one (the levels above share by its units' spreads); a level shared by basis between them gives each of its units' children their own chance.")
    momentum_months: int = Field(6, ge=1, le=120, description="The 'momentum' basis: last year plus the year-on-year change of the last this-many months, at an annual rate (needs this many months plus twelve of history).")
    bound_risk_share: float = Field(0.10, ge=0, le=1, description="When more than this share of customers (or of the target) sits at a growth bound, the leadership page lists it as a risk.")

    @field_validator("total", mode="before")
    @classmethod
    def _total_amount_or_chance(cls, v: Any) -> Any:
        if v is None or isinstance(v, TotalByChance):
            return v
        if isinstance(v, dict):
            if set(v) != {"chance"}:
                raise ValueError(f"targets.total as a mapping takes one key, chance (e.g. {{chance: 0.6}}); got keys {sorted(v)}")
            p = v["chance"]
            if not CHANCE.satisfied(p):
                raise ValueError(f"targets.total.chance is {p!r}; feasible: a chance strictly between 0 and 1 (e.g. 0.6)")
            return TotalByChance(chance=float(p))
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v) > 0:
            raise ValueError(f"targets.total is {v!r}; feasible: an amount above 0, or {{chance: p}} with 0 < p < 1")
        return float(v)
    growth: float = Field(0.12, gt=-1, description="Growth over the base when no total is given (0.12 = +12%).")
    growth_over: Literal["baseline", "last_year"] = Field("baseline", description="What the growth is applied to.")
    stretch: float = Field(1.0, **STRETCH.field_bounds(), description="Over-assignment: the parts add up to total x stretch.")
    basis: dict[str, float] = Field({"last_year": 0.5, "potential": 0.2, "forecast": 0.3}, description="Blend of share bases (weights sum to 1).")
    growth_bounds: tuple[float, float] | None = Field((-0.10, 0.40), description="Lowest and highest growth asked of any unit over last year.")
    levels: list[Literal[LEVELS.values]] = Field(["region", "province", "rep", "customer"], description="Organisation levels, top down (including rep, ending with customer).")
    time_grains: list[Literal[TIME_GRAINS.values]] = Field(["quarter", "month", "dekad"], description="Calendar grains to phase targets over (year, half, quarter, month, dekad).")
    round_to: float = Field(100, **ROUND_TO.field_bounds(), description="Rounding unit of targets (1 for whole units, 100 for money).")
    achievability_threshold: float = Field(0.3, **ACHIEVABILITY_THRESHOLD.field_bounds(), description="Flag units whose chance of meeting the target is below this.")
    level_basis: dict[str, dict[str, float]] = Field({}, description="Per-level basis blends overriding 'basis', e.g. {customer: {last_year: 0.7, potential: 0.3}}.")
    plan_round_to: float = Field(1, **ROUND_TO.field_bounds(), description="Rounding unit of the phased plan per period (must divide round_to).")
    product_split: dict[str, float] | None = Field(None, description="The company's split by product, as weights (e.g. {A: 3.0, B: 4.0, C: 3.0}, scaled to the target); default: what the customers' own mixes add up to.")
    channel_split: dict[str, float] | None = Field(None, description="The company's split by channel, as weights (e.g. {online: 3, offline: 4, partner: 3}); default: what the customers' own mixes add up to.")
    mix_own_weight: float = Field(0.7, **MIX_OWN_WEIGHT.field_bounds(), description="Weight of a customer's own product x channel mix in the last twelve months against its segment's (customers without sales take the segment's).")
    phasing: Literal[PHASING.values] = Field("baseline", description="Months' shares of the targets: the baseline forecast's month shape by region with the Spring Festival on the plan year's date (growth asked level across months), last year's seasonal shares, or a blend.")
    phasing_blend: float = Field(0.5, **PHASING_BLEND.field_bounds(), description="For phasing 'blend': weight of the baseline's shape (the rest is last year's).")
    phasing_spring_festival: bool = Field(True, description="With baseline phasing, move the Spring Festival from where the history had it to the plan year's date (China; needs daily sales).")
    overrides: dict[str, dict[str, float]] = Field({}, description="Fixed targets by level and unit, e.g. {region: {E: 3000000}} (a region's or province's total set by the company, a locked customer); the other units share the rest.")
    mix_segment: str | None = Field("customer_type", description="Column of the customers table whose groups give the segment mix (empty: the company's mix).")
    commitments: CommitmentParams = Field(default_factory=CommitmentParams, description="How the reps' own commitments (data.commitments) are reconciled with the top-down targets.")
    # Excluded from dumps: once loaded, the blends already sum to 1, so the recorded params (and the
    # keyword arguments steps build from them) carry the scaled weights, not the switch.
    normalise: bool = Field(False, exclude=True, description="Scale the weights of 'basis' and 'level_basis' blends to sum to 1; without it, weights that do not sum to 1 are an error.")

    @field_validator("levels")
    @classmethod
    def _levels_in_order(cls, v: list[str]) -> list[str]:
        if not LEVELS.satisfied(v):
            raise ValueError(f"must be {LEVELS.describe()}; got {v}")
        return v

    @model_validator(mode="after")
    def _blends_sum_to_one(self) -> TargetsParams:
        blends = {"targets.basis": self.basis, **{f"targets.level_basis.{k}": v for k, v in self.level_basis.items()}}
        scaled: dict[str, dict[str, float]] = {}
        for where, blend in blends.items():
            if not blend:
                raise ValueError(f"{where} is empty; give at least one basis with its weight")
            negative = {k: v for k, v in blend.items() if not v >= 0}
            if negative:
                raise ValueError(f"{where} weights must be >= 0; got {shorten(negative)}")
            total = sum(blend.values())
            if total <= 0:
                raise ValueError(f"{where} weights sum to 0; give at least one positive weight")
            if abs(total - 1.0) > 1e-9:
                if not self.normalise:
                    raise ValueError(
                        f"{where} weights sum to {total:.6g}, not 1 ({shorten(dict(blend))}); make them sum to 1, "
                        "or set targets.normalise: true to scale them"
                    )
                scaled[where] = {k: v / total for k, v in blend.items()}
        if isinstance(self.allocation, dict):
            chance_levels = [lv for lv in self.levels if lv in ("region", "province", "rep")]
            for lv, how in self.allocation.items():
                if lv not in self.levels:
                    raise ValueError(f"targets.allocation.{lv}: '{lv}' is not a level of the plan; feasible levels: "
                                     f"{', '.join(self.levels)}")
                if how == "equal_chance" and lv not in chance_levels:
                    raise ValueError(f"targets.allocation.{lv} is equal_chance, but the {lv} level has no baseline with "
                                     f"a spread to judge a chance by; feasible levels for equal_chance: "
                                     f"{', '.join(chance_levels)}")
        if "targets.basis" in scaled:
            self.basis = scaled["targets.basis"]
        for key in list(self.level_basis):
            if f"targets.level_basis.{key}" in scaled:
                self.level_basis[key] = scaled[f"targets.level_basis.{key}"]
        return self


class BudgetCategory(_Section):
    """One category of the sales expense budget: a share of the target or a fixed amount."""

    share: float | None = Field(None, ge=0, le=1, description="Share of the plan's target (0.02 = 2%).")
    amount: float | None = Field(None, ge=0, description="Fixed amount for the year, in yuan.")
    cap: float | None = Field(None, ge=0, description="Most the category may spend in the year, in yuan.")
    basis: Literal["target", "reps", "pay"] = Field("target", description="How it is split down: by the targets (regions, reps, months), evenly per rep and month (costs that follow headcount), or pay: the staffing pay plan of every person on the plan, hires included (its amount, unless an amount is given), split as the pay falls.")

    @model_validator(mode="after")
    def _one_of(self) -> BudgetCategory:
        if self.basis == "pay":
            if self.share is not None:
                raise ValueError(f"basis pay takes the staffing pay plan (or a fixed amount), not a share; got share {self.share}")
            return self
        if (self.share is None) == (self.amount is None):
            raise ValueError("give either a share of the target or a fixed amount (not both, not neither)")
        return self


class BudgetParams(_Section):
    """The sales expense budget (销售费用预算), decomposed with the targets (notebook 02).

    Example::

        budget:
          categories:
            activities: {share: 0.010}
            promotion:  {share: 0.015, cap: 20000000}
            people:     {amount: 36000000, basis: reps}
            travel:     {share: 0.004}
          cap_share: 0.06
    """

    categories: dict[str, BudgetCategory] = Field({}, description="Budget categories by name (e.g. activities, promotion, people, travel), each a share of the target or a fixed amount; empty: no budget.")
    cap_share: float | None = Field(None, gt=0, le=1, description="The whole budget at most this share of the target; categories are scaled down together to it.")
    round_to: float = Field(100, **ROUND_TO.field_bounds(), description="Rounding unit of the budget (every part adds up exactly).")

    @model_validator(mode="after")
    def _shares_within_the_target(self) -> BudgetParams:
        total = sum(c.share or 0.0 for c in self.categories.values())
        if total > 1 + 1e-12:
            shares = {k: c.share for k, c in self.categories.items() if c.share}
            raise ValueError(f"budget.categories: the shares of the target add up to {total:.1%}, over 100% "
                             f"({shorten(shares)}); feasible: shares adding up to at most 100%")
        return self


class FunnelParams(_Section):
    """A business that sells through a lead funnel, e.g. a car dealership (staffing.funnel).

    Every key that describes the business is required: the funnel plans what the params
    say about how the business sells, never a default guessed for it. Example (a dealer)::

        staffing:
          funnel:
            unit_of_sale: vehicle
            channel: offline            # its orders a month are the deliveries (or monthly_deliveries: 120)
            sources:
              walk_in:  {to_opportunity: 0.15, mix: 0.5, showroom: true}
              phone:    {to_opportunity: 0.30, mix: 0.3, showroom: false}
              referral: {to_opportunity: 0.60, mix: 0.2, showroom: false}
            stages:                     # in funnel order
              - signed_draft: {low: 0.30, mid: 0.55, high: 0.80}
              - order: {low: 0.35, mid: 0.475, high: 0.60}
              - delivery: 0.95
    """

    unit_of_sale: str = Field(..., min_length=1, max_length=60, description="What one delivery is, e.g. 'vehicle' (shown on the staffing page).")
    channel: str | None = Field(None, description="Sales channel whose orders a month are the deliveries, x (1 + targets.growth); default: all sales. Ignored with monthly_deliveries.")
    monthly_deliveries: float | None = Field(None, ge=0, description="Deliveries a month the funnel works back from (instead of the channel's orders).")
    sources: dict[str, dict[str, float | bool]] = Field(..., description="Lead source -> to_opportunity rate, mix (share of opportunities, adding up to 1) and showroom flag.")
    stages: list[dict[str, float | dict[str, float]]] = Field(..., description="Stages after the opportunity, as a list in funnel order, each {stage: conversion} (one rate or per scenario, e.g. low/mid/high); the last is the delivery. A list, so the order survives any YAML tool and the params hash.")
    consultant_lead_capacity: float = Field(80.0, gt=0, description="Leads one sales consultant can work in a month.")

    @property
    def stage_rates(self) -> dict[str, float | dict[str, float]]:
        """The stages as an ordered mapping, as :func:`salesmodel.domain.staffing.funnel` takes them."""
        return {name: rate for item in self.stages for name, rate in item.items()}

    @model_validator(mode="after")
    def _consistent(self) -> FunnelParams:
        names = [name for item in self.stages for name in item]
        if any(len(item) != 1 for item in self.stages) or len(set(names)) != len(names):
            raise ValueError("stages must be a list of single {stage: rate} entries, each stage once, in funnel order "
                             f"(e.g. [{{signed_draft: 0.55}}, {{order: 0.475}}, {{delivery: 0.95}}]); got {self.stages}")
        staffing.funnel(1.0, stages=self.stage_rates, sources=self.sources)
        return self


class StaffingParams(_Section):
    """Capacity, workload, funnel and pay (notebook 03)."""

    productivity: float | None = Field(None, gt=0, description="A mature rep's standard monthly sales volume; default: from history.")
    ramp: list[float] = Field([0.25, 0.5, 0.75, 1.0], description="Fraction of productivity in a new hire's months 1, 2, 3, ...")
    attrition: float = Field(0.20, ge=0, le=1, description="Annual attrition rate.")
    hire_lead_months: int = Field(2, ge=0, le=24, description="Months from the hiring decision to the start date.")
    max_hires_per_month: int | None = Field(None, ge=0, description="Most hires that can start in one month.")
    min_reach: float = Field(1.0, ge=0, le=1, description="Months that hires decided now could only reach below this fraction of a mature rep's volume are best effort, not hired for (1: months before a hire decided now is fully ramped); 0: meet every month a hire can reach.")
    attainment: float = Field(1.0, gt=0, le=2, description="Share of the standard volume a fully ramped rep delivers (1 = all of it).")
    mature_tenure_months: int = Field(12, ge=1, le=120, description="Months of service after which a rep counts as mature (for the default productivity).")
    seasonal_capacity: bool = Field(True, description="A rep's monthly volume follows the sales season (monthly indices from history, Spring Festival aligned to the plan year).")
    tier_method: Literal["share", "rank"] = Field("share", description="Customer tiers by cumulative share of revenue (ABC) or by rank (share of customers).")
    tier_cuts: dict[str, float] = Field({"VIP": 0.5, "first": 0.3, "second": 0.15}, description="Tier -> share (of revenue or of customers), top down; the rest are 'other'.")
    visit_standards: dict[str, dict[str, float]] | None = Field(None, description="customer_type -> tier -> visits a month; default: the seeds' standards (salesmodel.domain.staffing.DEFAULT_VISIT_STANDARDS).")
    minutes_per_visit: float | dict[str, float] = Field({"wholesaler": 40.0, "retailer": 20.0, "supermarket": 30.0, "online_store": 30.0}, description="Minutes at the customer per visit: one number or per customer_type.")
    travel: Literal["geometry", "none"] = Field("geometry", description="Travel time per visit from each rep's customer geography, or none.")
    travel_speed_kmh: float = Field(40.0, gt=0, description="Average road speed for travel estimates.")
    travel_circuity: float = Field(1.3, ge=1, description="Road distance over straight-line distance.")
    hours_per_month: float = Field(174.0, gt=0, description="Paid hours in a month (21.75 days x 8 hours).")
    selling_share: float = Field(0.6, gt=0, le=1, description="Share of paid hours spent with customers or travelling to them.")
    funnel: FunnelParams | None = Field(None, description="The dealership funnel (leads -> opportunities -> signed drafts -> orders -> deliveries, and the sales consultants the leads need), for a business that sells that way: a section naming the unit of sale, the lead sources and the conversion rates. Default: none, the funnel does not run (a distributor's channels do not sell through showroom leads).")
    pay_plan: dict[str, Any] = Field(
        {
            "base_salary": 5000.0,
            "weights": {"sales": 0.6, "records": 0.2, "market_analysis": 0.1, "satisfaction": 0.1},
            "records_standard": 30.0,
            "commission_rate": 0.01,
            "threshold": 0.8,
            "tiers": [[0.0, 1.0], [1.0, 1.5]],
            "cap": 1.5,
        },
        description="Monthly pay plan (example H base split; commission rate, threshold, (from, multiplier) tiers, cap); see salesmodel.domain.staffing.PayPlan.",
    )
    pay_scenarios: list[float] = Field([0.8, 1.0, 1.2], description="Achievements of target at which the pay cost is shown.")
    # productivity that replays the past (calibrated on the last 12 months of history)
    shrink_months: float = Field(12.0, ge=0, le=120, description="Credibility of a rep's own history: n mature months of it weigh n / (n + shrink_months) against the region's level (0: own history only).")
    replay_tolerance: float = Field(0.03, gt=0, le=0.5, description="How far the capacity model run over last year with last year's team may miss a region's sales (share).")
    # hiring rules: the planned hires are people
    hire_role: str = Field("account_manager", min_length=1, description="The role planned hires take (its productivity is calibrated on the reps of that role).")
    no_start_months: list[int] | None = Field(None, description="Months of the year (1-12) in which nobody starts; default: the Spring Festival month of each year (from the calendar); [] for none.")
    max_starts_per_month: int | None = Field(None, ge=0, description="Most hires that start in one month in the whole company (per region: max_hires_per_month).")

    @model_validator(mode="after")
    def _hiring_rules(self) -> StaffingParams:
        r = list(self.ramp)
        if not r or any(not 0 <= v <= 1 for v in r) or any(b < a for a, b in zip(r, r[1:])) or r[-1] != 1:
            raise ValueError(f"staffing.ramp: a new hire's share of a mature rep's volume in months 1, 2, ... must be "
                             f"between 0 and 1, never falling, and end at 1; got {r}")
        months = self.no_start_months or []
        bad = [m for m in months if not 1 <= int(m) <= 12]
        if bad:
            raise ValueError(f"staffing.no_start_months: months of the year are 1-12; got {bad}")
        if len(set(months)) >= 12:
            raise ValueError(f"staffing.no_start_months: {sorted(set(months))} blocks every month, so no hire can ever "
                             "start; feasible: leave at least one month open")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> StaffingParams:
        # the staffing module owns the rules; check them once, when the params load

        staffing.project_capacity([0], productivity=1.0, ramp=self.ramp, attrition=self.attrition, start_headcount=0)
        staffing.TierScheme(method=self.tier_method, cuts=self.tier_cuts)
        staffing.PayPlan.from_dict(self.pay_plan)
        return self


class TerritoryParams(_Section):
    """Territory design (notebook 04)."""

    k: int | None = Field(None, ge=1, description="Number of territories (default: the number of active reps).")
    balance_on: dict[str, Annotated[float, Field(**TOLERANCE.field_bounds())]] = Field({"potential": 0.05, "workload": 0.10}, description="Measure -> tolerance around the mean share (each in [0, 1): 0.05 = within 5% of the mean).")
    max_disruption: float | Literal["auto"] | None = Field(0.15, description="Largest share of potential (and, with method 'reps', of accounts) that may change rep; 'auto': with method 'reps' the frontier's knee (the smallest limit after which balance improves by less than knee_gain per point of disruption), else the smallest limit on the frontier whose plan meets the tolerances (else the best-balanced one); empty: no limit.")
    frontier: list[float] = Field([0.0, 0.05, 0.10, 0.15, 0.20, 0.30, 0.40, 1.0], min_length=1, max_length=20, description="Disruption limits of the disruption-balance frontier (shares of potential; 1 = no limit).")
    frontier_sweeps: int = Field(8, **DESIGN["max_sweeps"].field_bounds(), description="Frontier: most sweeps of each greedy descent at each limit (a count, so the frontier replays).")
    frontier_anneal_steps: int | None = Field(None, **DESIGN["anneal_steps"].constraint.field_bounds(), description="Frontier: annealing steps at each limit; default 40 per customer.")
    method: Literal["reps", "auto", "exact", "heuristic"] = Field("reps", description="'reps': each territory is a rep's, started from today's and improved with few moves to reps based within max_distance_km (travel measured from each rep's base); 'exact' (MILP), 'heuristic' or 'auto' (chosen by size): territories redrawn from scratch around accounts.")
    organisation: Literal["planned", "today"] = Field("planned", description="Method 'reps': the organisation territories are designed for. 'planned': today's active reps plus every planned hire of staffing_hires starting by the plan year's end (the organisation at the plan year's end; expected leavers are not named), each hire a territory of its own (id H001...) based at the hire's proposed base city and starting with no accounts; accounts move to a hire under the same limits as any move (max_distance_km, keep_whole, locked tiers and locks) and count toward max_disruption (they are hand-overs too). 'today': today's active reps only.")
    vacancy_holders: dict[str, str] = Field({}, description="Method 'reps', organisation 'planned': region_id -> the province manager (rep_id) who holds the region's accounts given to a planned hire until the hire starts, and the part of them the hire's ramp leaves (targets follow the territories: targets_person). Regions not named: the rep who holds the account today keeps it until the hire starts and carries what the ramp leaves.")
    max_distance_km: float = Field(400.0, gt=0, description="Method 'reps': no account is proposed to a rep whose base is farther by road (km); accounts already farther today stay and are listed.")
    road_factor: float | None = Field(None, ge=1, description="Road km over great-circle km for travel from a rep's base; empty: staffing.travel_circuity.")
    travel_speed_kmh: float | None = Field(None, gt=0, description="Road speed for travel hours from a rep's base; empty: staffing.travel_speed_kmh.")
    keep_whole: Literal["none", "city", "province"] = Field("none", description="Method 'reps': 'city' moves the accounts a rep holds in a city together (a city is never split further); 'province' moves accounts only between reps based in their province (no account served from another province); 'none': account by account.")
    locked_tiers: list[str] = Field([], description="Method 'reps': customer tiers (customers' tier column) whose accounts stay with today's rep, e.g. [VIP].")
    max_edge_km: float | None = Field(150.0, gt=0, description="Method 'reps': two accounts are neighbours (for the contiguity the metrics report) only when the road between them is at most this long; empty: every edge of the graph.")
    hold_travel: bool = Field(True, description="Method 'reps': the median and p95 distance account -> rep's base may not get worse than today's.")
    travel_weight: float = Field(10.0, ge=0, description="Method 'reps': how much a move's added travel counts against the balance it buys (score units per max_distance_km of road added; 0: travel ignored within the limits).")
    knee_gain: float = Field(0.003, gt=0, description="max_disruption 'auto' with method 'reps': the frontier's knee is the smallest limit after which the spread of the territories' deviations (standard deviation, mean over the balanced measures) improves by less than this per point (1%) of potential moved.")
    max_moves: int | None = Field(None, ge=1, le=100_000_000, description="Method 'reps': most moves of the search (default 4 per account); a count, so the plan replays.")
    contiguous: bool = Field(True, description="Territories must be connected (method 'reps': an account moves only to a rep who holds one of its neighbours within max_edge_km, or whose base lies within max_edge_km, so no move starts a new piece of the territory it joins).")
    time_limit: float = Field(600, **DESIGN["time_limit"].field_bounds(), description="Safety stop in seconds. Searches end on counts (max_sweeps, anneal_steps) or a proven optimum, so a plan replays exactly at any machine load; when this limit is what stopped a search, the plan records stopped_by 'time_limit' and may not replay.")
    max_sweeps: int = Field(100, **DESIGN["max_sweeps"].field_bounds(), description="Heuristic: most sweeps of boundary moves in each greedy descent (a descent usually stalls after a few dozen). A count, so the same params give the same plan on any machine.")
    anneal_steps: int | None = Field(None, **DESIGN["anneal_steps"].constraint.field_bounds(), description="Heuristic: steps of the simulated annealing run when greedy moves stall with a tolerance broken; default 3000 per customer, at most 40 million.")
    construction: Literal["grow", "tree"] = Field("grow", description="Heuristic start without a disruption limit: 'grow' (seeds, a balancing LP, fragments repaired) or 'tree' (recursive bisection along random spanning trees: contiguous and balanced on every measure by construction; for strict graphs such as 'delaunay' with no pruning).")
    workload_measure: Literal["hours", "visits"] = Field("hours", description="The 'workload' balanced: monthly visit hours or visits of the visit standards (staffing).")
    prune_factor: float | None = Field(3.0, gt=0, description="Customer contiguity graph: drop Delaunay edges longer than this x the median edge (reconnecting parts); empty keeps all.")
    graph: Literal["delaunay", "knn"] = Field("knn", description="Contiguity between customers: 'delaunay' (contiguous areas on the map) or 'knn' (Delaunay plus each customer's nearest neighbours: looser, territories may share a town; balances clustered customers far better).")
    neighbours: int = Field(15, ge=1, le=100, description="For graph 'knn': nearest customers each customer is joined to.")

    @model_validator(mode="after")
    def _shares(self) -> TerritoryParams:
        md = self.max_disruption
        if md is not None and md != "auto" and not 0 <= md <= 1:
            raise ValueError(f"max_disruption must be a share between 0 and 1, 'auto' or empty; got {md!r}")
        bad = [x for x in self.frontier if not 0 <= x <= 1]
        if bad:
            raise ValueError(f"frontier: every disruption limit must be a share between 0 and 1; got {bad}")
        if not self.balance_on:  # a design with nothing to balance has nothing to improve or report
            raise ValueError("balance_on: name at least one measure to balance with its tolerance "
                             "(e.g. potential: 0.05, workload: 0.10); got none")
        return self


class TrackingParams(_Section):
    """Tracking actuals against a plan (notebook 05)."""

    plan_year: int = Field(2026, description="The year whose plan is tracked (made from the years before it).")
    as_of: date = Field(date(2026, 10, 31), description="Actuals up to and including this date (with data.actuals: when it lies in the plan year; otherwise the actuals' last day).")
    growth: float = Field(0.10, gt=-1, description="Growth over the year before that the tracked plan asked (the plan is remade with the targets settings).")
    report_grains: list[Literal["iso_week", "month_week", "dekad", "month"]] = Field(["iso_week", "dekad"], description="Period reports of target against actual (example G).")
    top_n: int = Field(10, ge=1, le=200, description="Rows shown in the rankings and the declining-customers list.")
    stock_floor_days: float = Field(3.0, ge=0, description="Stock at a store (data.stock) below this many days of the plan's sales is too low.")
    stock_ceiling_days: float = Field(5.0, ge=0, description="Stock above this many days of the plan's sales is too high.")
    order_months: int = Field(3, ge=1, le=24, description="Months of the order plan that brings each store's stock into the band (from the day after its count).")

    @model_validator(mode="after")
    def _band_in_order(self) -> TrackingParams:
        if self.stock_floor_days > self.stock_ceiling_days:
            raise ValueError(f"tracking.stock_floor_days ({self.stock_floor_days:g}) is above tracking.stock_ceiling_days "
                             f"({self.stock_ceiling_days:g}); the floor must be at most the ceiling")
        return self


class ReportParams(_Section):
    """How reports look."""

    language: Literal[LANGUAGES] = Field(FALLBACK_LANGUAGE, description="Language of labels in reports: en, zh or es.")
    money_unit: Literal["auto", "yuan", "thousand", "wan", "million", "yi"] = Field(
        "auto", description="Money unit of tables and charts: auto (万元 in zh, thousands of yuan in en and es), "
                            "yuan, thousand, wan (万元, 10,000 yuan), million or yi (亿元, 100 million yuan). "
                            "Headline figures use the next larger unit (亿 for 万, millions for thousands).")

    @model_validator(mode="after")
    def _resolve_money_unit(self) -> ReportParams:
        if self.money_unit == "auto":
            object.__setattr__(self, "money_unit", DEFAULT_MONEY_UNIT[self.language])
        return self
