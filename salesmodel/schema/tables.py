"""Declared output tables: every table a pipeline step writes, with its columns.

A declaration says what a table is (one line), which step writes it, and for
each column its kind (text, number, integer, bool, date), its unit (yuan,
units, hours, share, probability, people, ...) and its meaning. Views read
declared columns only: the summary, the workbook, the comparison and the
explorers never guess a column name, and :func:`check` rejects a table that
does not match its declaration before it is saved.

A column name may end in ``*`` to declare a family (``yhat_lo_*`` covers
``yhat_lo_80`` and ``yhat_lo_95``); ``required=False`` marks columns that
depend on the params (e.g. the forecast grain).

>>> spec = TABLES["targets_region"]
>>> spec.column("target").unit
'yuan'
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

import pandas as pd

from salesmodel.errors import RunError
from salesmodel.schema.vocabulary import has_word

__all__ = ["MONEY_UNITS", "PROBLEMS", "TABLES", "Column", "Table", "TableError", "check", "columns_with_unit"]

KINDS = ("text", "number", "integer", "bool", "date")
UNITS = ("yuan", "units", "hours", "share", "probability", "people", "count", "months", "days", "km", "index", "score")
# The units money in yuan is shown in (params report.money_unit), each as its number of yuan.
MONEY_UNITS: dict[str, float] = {"yuan": 1.0, "thousand": 1e3, "wan": 1e4, "million": 1e6, "yi": 1e8}


class TableError(RunError):
    """A step wrote a table that is not declared, or lacks a declared column (a developer error).

    Carries ``table``, ``column`` and ``problem`` (one of :data:`PROBLEMS`); callers read those.
    """

    def __init__(self, message: str, *, table: str | None = None, column: str | None = None,
                 problem: str | None = None) -> None:
        super().__init__(message)
        self.table, self.column, self.problem = table, column, problem


#: What :func:`check` can find wrong with a table.
PROBLEMS = ("undeclared_table", "undeclared_column", "missing_column", "wrong_kind")


@dataclass(frozen=True)
class Column:
    """One declared column."""

    name: str
    kind: str
    unit: str | None
    meaning: str
    required: bool = True

    @property
    def word(self) -> str | None:
        """The vocabulary key of the column's header, when the catalogue has one."""
        base = self.name.rstrip("*").rstrip("_")
        return base if has_word(base) else None

    def matches(self, column: str) -> bool:
        return fnmatch.fnmatchcase(column, self.name) if self.name.endswith("*") else column == self.name


@dataclass(frozen=True)
class Table:
    """One declared table."""

    name: str
    step: str
    meaning: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.matches(name):
                return col
        raise TableError(f"table '{self.name}' declares no column '{name}' (salesmodel/schema/tables.py)",
                         table=self.name, column=name, problem="undeclared_column")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(spec: str, meaning: str = "", *, required: bool = True) -> Column:
    """``"name:kind:unit"`` -> Column (unit may be empty)."""
    name, kind, unit = (spec.split(":") + ["", ""])[:3]
    if kind not in KINDS:
        raise ValueError(f"column {name}: kind {kind!r} is not one of {KINDS}")
    if unit and unit not in UNITS:
        raise ValueError(f"column {name}: unit {unit!r} is not one of {UNITS}")
    return Column(name, kind, unit or None, meaning, required)


def _opt(spec: str, meaning: str = "") -> Column:
    return _c(spec, meaning, required=False)


TABLES: dict[str, Table] = {}


def _declare(name: str, step: str, meaning: str, *columns: Column) -> None:
    TABLES[name] = Table(name, step, meaning, tuple(columns))


# ---- shared column groups -------------------------------------------------------
_SALES_MEASURES = (
    _c("amount:number:yuan", "sales in the period"),
    _c("units:integer:units", "units sold"),
    _c("orders:integer:count", "order lines"),
    _c("customers:integer:count", "customers who bought"),
)
_TARGET_EXPLAINED = (
    _c("last_year:number:yuan", "sales in the twelve months before the plan year"),
    _c("potential:number:yuan", "market potential"),
    _c("forecast:number:yuan", "baseline forecast for the plan year"),
    _c("parent_target:number:yuan", "the target of the unit above"),
    _opt("share_last_year:number:share", "share of the parent by last year (when in the level's blend)"),
    _opt("share_potential:number:share", "share of the parent by potential (when in the level's blend)"),
    _opt("share_forecast:number:share", "share of the parent by forecast (when in the level's blend)"),
    _opt("momentum:number:yuan", "last year plus the year-on-year change of the recent months at an annual rate (targets.momentum_months)"),
    _opt("share_momentum:number:share", "share of the parent by momentum (when in the level's blend)"),
    _opt("allocation:text", "equal_chance: every unit of the parent asked the same chance (target_before_bounds = baseline + z x spread)"),
    _opt("chance:number:probability", "equal chance: the chance the parent's split asks of each unit of the finest equal-chance level "
                                       "below it, before bounds and rounding (achievability.probability: the unit's own)"),
    _c("blended_share:number:share", "the share used: the basis weights applied to the shares"),
    _c("target_before_bounds:number:yuan", "blended share x parent target"),
    _c("bound_applied:text", "none, lower, upper, floor or locked: the bound or lock that set the target"),
    _opt("bound_adjustment:number:yuan", "what the growth bound or the lock moved the unit by (0 when none)"),
    _opt("redistribution:number:yuan", "what the unit received from siblings held at a bound or locked (0 when bounded)"),
    _c("rounding_adjustment:number:yuan", "what rounding added or took"),
    _c("target:number:yuan", "the target (adds up exactly to the parent)"),
    _c("share:number:share", "target / parent target"),
    _c("growth:number:share", "target / last year - 1"),
    _opt("task:number:yuan", "the assigned task's share (the target / stretch, exact at every level)"),
)
_PERIOD = (_c("period:text", "period label"), _c("start:date", "first day"), _c("end:date", "last day (inclusive)"))

# ---- overview ---------------------------------------------------------------------
_declare("sales_by_year", "overview", "Sales by calendar year", _c("year:integer"), *_SALES_MEASURES,
         _c("full_year:bool", "whether the history covers the whole year"))
for _dim in ("region_id", "product", "channel"):
    _declare(f"sales_by_{_dim.removesuffix('_id')}_year", "overview", f"Sales by {_dim.removesuffix('_id')} and year",
             _c("year:integer"), _c(f"{_dim}:text"), *_SALES_MEASURES, _c("full_year:bool"))
_declare("sales_by_province_year", "overview", "Sales by province and year", _c("year:integer"), _c("region_id:text"),
         _c("province_id:text"), *_SALES_MEASURES, _c("full_year:bool"))
_declare("same_period_last_year", "overview", "Year to date against the same period last year",
         _c("dimension:text"), _c("key:text"), _c("period_start:date"), _c("period_end:date"), _c("last_start:date"),
         _c("last_end:date"), _c("amount:number:yuan"), _c("units:integer:units"), _c("amount_last_year:number:yuan"),
         _c("units_last_year:integer:units"), _c("growth:number:share"), _c("units_growth:number:share"))
_declare("monthly_pattern", "overview", "Sales by month of each year, with the seasonal index",
         _c("year:integer"), _c("month:integer"), _c("amount:number:yuan"), _c("units:integer:units"),
         _c("index:number:index", "month / mean month of the year"))
_declare("sales_by_month_region", "overview", "Monthly sales by region", _c("month:date"), _c("region_id:text"),
         *_SALES_MEASURES)

# ---- forecast ---------------------------------------------------------------------
_GRAIN = tuple(_opt(f"{g}:text") for g in ("region_id", "province_id", "rep_id", "customer_id", "product", "channel"))
_INTERVALS = (_c("yhat_lo_*:number:yuan", "lower end of the prediction interval"),
              _c("yhat_hi_*:number:yuan", "upper end of the prediction interval"))
_declare("forecast_history", "forecast", "Monthly history of every forecast series (all levels)",
         _c("unique_id:text"), _c("ds:date"), _c("y:number:yuan"), _c("level:text"))
_declare("spring_festival_factors", "forecast", "Spring Festival calendar factors by period",
         _c("ds:date"), _c("factor:number:index"))
_declare("backtest", "forecast", "Rolling-origin backtest accuracy per series",
         _c("unique_id:text"), _c("model:text"), _c("family:text"), _c("n_windows:integer:count"),
         _c("smape:number:score"), _c("mase:number:score"), _c("coverage_*:number:share"), _c("level:text"))
_declare("backtest_summary", "forecast", "Backtest accuracy by level of the hierarchy",
         _c("level:text"), _c("series:integer:count"), _c("smape:number:score"), _c("mase:number:score"),
         _c("coverage_*:number:share"))
_declare("baseline_forecast_levels", "forecast", "Baseline forecast of every series of the hierarchy",
         _c("unique_id:text"), _c("ds:date"), _c("yhat:number:yuan"), *_INTERVALS, _c("model:text"), _c("level:text"), *_GRAIN)
_declare("forecast_weights", "forecast", "How each series' baseline was combined: the models that served it and their weights",
         _c("unique_id:text"), _c("served_by:text", "the label of the combination (or the single model) that served the series"),
         _c("model:text"), _c("weight:number:share", "the weight applied (a model that failed or abstained has none; a series' weights add up to 1)"),
         _opt("trend_group:integer",
              "the series' trend-strength band (0: below 0.8, 1: 0.8 to 0.95, 2: above); its backtest set the group weights"),
         _c("level:text"))
_declare("baseline_forecast", "forecast", "Baseline forecast at the grain (bottom series)",
         *_GRAIN, _c("unique_id:text"), _c("ds:date"), _c("yhat:number:yuan"), *_INTERVALS, _c("model:text"))

# ---- targets ----------------------------------------------------------------------
_declare("targets_total", "targets", "The company figure: last year, base, task, stretch and target",
         _c("last_year:number:yuan", "all sales in the last-year window (the books: churned customers included)"),
         _opt("last_year_active:number:yuan", "of which customers still active at the start of the plan year (the planned ones)"),
         _opt("last_year_churned:number:yuan", "of which customers gone before the plan year"),
         _c("last_year_first:text"), _c("last_year_last:text"),
         _c("base:number:yuan"), _c("base_source:text"), _c("task:number:yuan"), _c("stretch:number:index"),
         _c("target:number:yuan"), _c("forecast_source:text"))
_ORG = {"region": ("region_id",), "province": ("region_id", "province_id"),
        "rep": ("region_id", "province_id", "rep_id"), "customer": ("region_id", "province_id", "rep_id", "customer_id")}
for _lv, _keys in _ORG.items():
    _declare(f"targets_{_lv}", "targets", f"Targets by {_lv}, with how each was derived",
             *(_c(f"{k}:text") for k in _keys), *_TARGET_EXPLAINED)
_declare("plan_rep_month", "targets", "Each rep's target by month of the plan year", _c("rep_id:text"), *_PERIOD,
         _c("target:number:yuan"))
_declare("plan_company_month", "targets", "The company's target by month against the same month last year",
         *_PERIOD, _c("target:number:yuan"), _c("last_year:number:yuan"), _opt("baseline:number:yuan"),
         _opt("baseline_festival:number:yuan", "the baseline with the Spring Festival moved to the plan year's date (same year total)"),
         _opt("year_before:number:yuan", "the same month a year before: its sales, or the baseline forecast where the history does not hold it"),
         _opt("year_before_source:text", "actual (the month's sales) or baseline (the forecast: the month is not in the history)"),
         _opt("growth_over_year_before:number:share", "target / year_before - 1"))
_declare("plan_customer_dekad", "targets", "Each customer's target by ten-day period (旬)",
         _c("region_id:text"), _c("province_id:text"), _c("rep_id:text"), _c("customer_id:text"), *_PERIOD,
         _c("target:number:yuan"))
_declare("targets_customer_mix", "targets", "Each customer's target by product and channel (every margin exact)",
         _c("region_id:text"), _c("province_id:text"), _c("rep_id:text"), _c("customer_id:text"), _c("product:text"),
         _c("channel:text"), _c("last_year:number:yuan", "the customer's sales of the product in the channel last year"),
         _c("mix_share:number:share", "the customer's blended mix (own and segment's) before the company splits"),
         _c("target:number:yuan", "the target (customers, products and channels all add up exactly)"),
         _c("growth:number:share", "target / last year - 1"), _opt("task:number:yuan", "the assigned task's share"))
_declare("targets_region_mix", "targets", "Targets by region, product and channel",
         _c("region_id:text"), _c("product:text"), _c("channel:text"), _c("last_year:number:yuan"),
         _c("target:number:yuan"), _c("growth:number:share"), _opt("task:number:yuan", "the assigned task's share"))
_declare("plan_rep_product_month", "targets", "Each rep's target by product and month",
         _c("rep_id:text"), _c("product:text"), *_PERIOD, _c("target:number:yuan"))
_declare("targets_commitments", "targets", "The reps' own commitments against their top-down targets, reconciled by the policy",
         _c("region_id:text"), _c("province_id:text"), _c("rep_id:text"),
         _c("top_down:number:yuan", "the rep's target from the top-down split (locks included)"),
         _c("commitment:number:yuan", "what the rep committed to (empty: no commitment)"),
         _c("has_commitment:bool", "whether the rep submitted a commitment"),
         _c("gap:number:yuan", "commitment - top-down target (0 without a commitment)"),
         _c("gap_pct:number:share", "gap / top-down target"),
         _c("wanted:number:yuan", "what the policy asks before the unit's total is kept (bounds applied)"),
         _c("target:number:yuan", "the reconciled target (each unit of targets.commitments.within keeps its total)"),
         _c("change:number:yuan", "reconciled target - top-down target"),
         _c("policy:text", "top_down, bottom_up or blend"), _c("note:text", "the rep's note"))
_declare("targets_locks", "targets", "The locked targets of the locks input and the plan's target of each locked unit",
         _c("level:text"), _c("unit_id:text"), _c("locked:number:yuan", "the target the file fixes"),
         _c("target:number:yuan", "the plan's target of the unit (equal to the lock)"), _c("reason:text"))
_declare("budget_total", "targets", "The sales expense budget by category: asked, capped, and the year's budget",
         _c("category:text"), _c("basis:text", "target (split by the targets) or reps (evenly per rep and month)"),
         _c("share:number:share", "share of the target asked (empty for a fixed amount)"),
         _c("amount:number:yuan", "fixed amount asked (empty for a share)"), _c("cap:number:yuan", "the category's cap"),
         _c("asked:number:yuan", "share x target or the amount, before the caps"),
         _c("capped:text", "none, category (its cap) or overall (budget.cap_share)"),
         _c("budget:number:yuan", "the category's budget for the year (categories add up exactly)"),
         _c("target:number:yuan", "the plan's target"), _c("share_of_target:number:share", "budget / target"),
         _opt("from_pay:bool", "the amount asked is the staffing pay plan (basis pay without an amount)"))
_declare("budget_region", "targets", "The sales expense budget by category and region",
         _c("category:text"), _c("region_id:text"), _c("target:number:yuan"),
         _c("budget:number:yuan", "the region's budget (regions add up exactly to the category)"),
         _c("share_of_target:number:share", "budget / target"))
_declare("budget_rep_month", "targets", "The sales expense budget by category, rep and month",
         _c("category:text"), _c("region_id:text"), _c("province_id:text"), _c("rep_id:text"), *_PERIOD,
         _c("target:number:yuan", "the rep's target of the month"),
         _c("budget:number:yuan", "the rep's budget of the month (months add up exactly to the rep)"))
_declare("achievability", "targets", "Chance that each unit meets its target, from the baseline forecast",
         _c("level:text"), _c("unit_id:text"), _c("target:number:yuan"), _c("baseline:number:yuan"),
         _c("baseline_sd:number:yuan"), _c("growth_asked:number:share"), _c("probability:number:probability"),
         _c("flag:bool", "below the achievability threshold"), _c("forecast_source:text"))

_declare("chance_curve", "targets", "The chance of meeting a target as a function of the target, for the company and each region",
         _c("level:text", "company or region"), _c("unit_id:text"),
         _c("point:text", "curve (a point of the curve), plan (the plan's target) or median (the target met with a 50% chance)"),
         _c("probability:number:probability", "the chance of meeting the target if sales follow the baseline forecast"),
         _c("target:number:yuan"), _c("baseline:number:yuan", "the baseline's mean for the plan year"),
         _c("baseline_sd:number:yuan", "the baseline's spread (months correlated as achievability)"),
         _c("last_year:number:yuan"), _c("growth_over_baseline:number:share"), _c("growth_over_last_year:number:share"))
_declare("targets_bounds", "targets", "How much of each region's plan sits at a growth bound (customers and money)",
         _c("region_id:text"), _c("customers:integer:count"), _c("at_upper:integer:count", "customers at the highest growth"),
         _c("at_lower:integer:count", "customers at the lowest growth"),
         _c("share_at_bound:number:share", "share of the region's customers at either bound"),
         _c("target:number:yuan"), _c("target_at_bound:number:yuan", "target of the customers at a bound"),
         _c("money_share_at_bound:number:share", "share of the region's target held by customers at a bound"))

# ---- staffing ---------------------------------------------------------------------
_declare("staff_now", "staffing", "Active reps by region and role at the end of the history",
         _c("region_id:text"), _c("role:text"), _c("headcount:integer:people"), _c("mean_tenure_months:number:months"))
_declare("staffing_basis", "staffing", "What the capacity plan rests on: volume per rep and the monthly season",
         _c("month:integer"), _c("season_index:number:index"), _c("productivity:number:yuan"),
         _c("productivity_source:text"), _c("as_of:date"))
_declare("capacity_plan", "staffing", "Monthly target, capacity and the fewest hires per team",
         _c("region_id:text"), _c("month:text"), _c("target:number:yuan"),
         _c("headcount_start:number:people", "expected people (leavers as fractions: FTE, not whole people)"),
         _c("hires_decided:integer:people"), _c("hires_starting:integer:people"),
         _c("leavers_expected:number:people", "expected leavers (a fraction)"),
         _c("headcount_end:number:people", "expected people (FTE, not whole people)"),
         _c("ramped_fte:number:people", "full-time equivalents after the ramp, in units of the region's productivity"),
         _c("capacity:number:yuan"),
         _c("gap:number:yuan"), _c("cumulative_gap:number:yuan"), _c("shortfall:bool"),
         _c("shortfall_amount:number:yuan"), _c("lead_in:bool", "a month before the plan year"),
         _c("people_start:integer:people", "whole people at the start of the month (last month's end + starters)"),
         _c("leavers:integer:people", "expected leavers counted as whole people"),
         _c("people_end:integer:people", "whole people at the end of the month"))
_declare("staffing_calibration", "staffing",
         "Last year replayed: the capacity model with last year's team (hire and leave dates) against the actual sales",
         _c("region_id:text"), _c("month:text"), _c("fte:number:people", "ramped full-time equivalents employed"),
         _c("modelled:number:yuan", "what the team sells in the model"), _c("actual:number:yuan"),
         _c("difference:number:yuan", "modelled - actual"), _c("difference_share:number:share", "difference / actual"),
         _c("productivity:number:yuan", "the region's calibrated mature monthly volume of the hires' role (season index 1)"),
         _c("calibration:number:share", "factor applied to the reps' shrunk volumes so that they replay the region's sales"))
_declare("staffing_productivity", "staffing", "Each rep's calibrated mature monthly volume (season index 1)",
         _c("rep_id:text"), _c("region_id:text"), _c("role:text"),
         _c("own_productivity:number:yuan", "from the rep's own mature months"), _c("own_months:number:months"),
         _c("productivity:number:yuan", "own history shrunk towards the region's level, calibrated"), _c("source:text"))
_declare("staffing_hires", "staffing", "The planned hires, one row per person",
         _c("hire_id:text"), _c("region_id:text"), _c("role:text"),
         _c("reason:text", "replacement (of a person the region is expected to lose; takes over that territory) or "
            "growth (a new position: a territory of its own)"),
         _c("decision_month:text"), _c("start_month:text"),
         _c("ramp:text", "share of a mature rep's volume in months 1, 2, ... of service"),
         _c("productivity:number:yuan", "mature monthly volume (season index 1)"),
         _c("province_id:text"), _c("base_city_zh:text"), _c("base_city_en:text"), _c("base_lat:number"),
         _c("base_lon:number"), _c("blocked_month:text", "the no-start month this start was moved around (or empty)"),
         _c("start_side:text", "before or after the blocked month (or empty)"))
_declare("workload_customer", "staffing", "Monthly visit workload of each active customer (the workload territories balance)",
         _c("customer_id:text"), _c("rep_id:text"), _c("region_id:text"), _c("role:text"), _c("tier:text"),
         _c("visits:number:count"), _c("visit_hours:number:hours"), _c("travel_hours:number:hours"),
         _c("hours:number:hours"))
_declare("workload", "staffing", "Monthly workload against headcount by region and role",
         _c("region_id:text"), _c("role:text"), _c("customers:integer:count"), _c("visits:number:count"),
         _c("visit_hours:number:hours"), _c("travel_hours:number:hours"), _c("hours:number:hours"),
         _c("fte:number:people"), _c("headcount:integer:people"), _c("fte_gap:number:people"))
_declare("funnel", "staffing", "Leads needed at each stage of the funnel", _c("scenario:text"), _c("step:integer"),
         _c("stage:text"), _c("source:text"), _c("rate:number:share"), _c("needed:number:count"),
         _c("whole:integer:count"), _c("direction:text"))
_declare("pay_cost", "staffing", "Pay of every person on the plan (today's reps and the hires), month by month, at several achievement levels",
         _c("rep_id:text", "the person: a rep (R...) or a planned hire (H...)"), _c("kind:text", "rep or hire"),
         _c("month:text"), _c("service_month:integer:months"), _c("ramp:number:share"),
         _c("stay:number:probability", "chance the person is still on the payroll (attrition)"),
         _c("expected_pay:number:yuan", "total_pay x stay: what the budget plans for"),
         _c("target:number:yuan", "the person's target of the month (a hire's: the ramped standard)"), _c("sales:number:yuan"),
         _c("standard:number:yuan"), _c("achievement:number:share"), _c("base_*:number:yuan"),
         _c("commission:number:yuan"), _c("total_pay:number:yuan", "pay a month"), _c("cost_share:number:share"),
         _c("scenario:text"), _c("region_id:text"))

# ---- territory ----------------------------------------------------------------------
_LEDGER_COLUMNS = (
    _c("first_allocation:number:yuan", "the target the targets step allocated to the person (today's accounts)"),
    _c("handed_over:number:yuan", "minus the targets of accounts the territories hand to someone else"),
    _c("taken_over:number:yuan", "the targets of accounts taken over from another rep"),
    _c("vacancy_held:number:yuan", "accounts given to a planned hire, held until the hire starts"),
    _c("ramp_held:number:yuan", "the part of a hire's accounts the hire's ramp leaves to the holder"),
    _c("ramped_quota:number:yuan", "a hire's ramped share of the accounts given to the hire"),
    _c("target:number:yuan", "the person's target: the sum of the ledger columns"))
_declare("targets_person_month", "territory", "Targets follow the territories: each person's target by month after the hand-over",
         _c("person_id:text", "a rep (R...) or a planned hire (H...)"), _c("kind:text", "rep or hire"), _c("region_id:text"),
         _c("period:text"), *_LEDGER_COLUMNS, _c("accounts:integer:count", "accounts the person carries (a part of) that month"))
_declare("targets_person", "territory", "Targets follow the territories: each person's target of the plan year and where it came from",
         _c("person_id:text", "a rep (R...) or a planned hire (H...)"), _c("person_name:text"), _c("kind:text", "rep or hire"),
         _c("region_id:text"), _c("role:text"), _c("start_month:text", "a hire's first month (empty for today's reps)"),
         *_LEDGER_COLUMNS, _c("change:number:share", "target / first allocation - 1 (empty for a hire)"),
         _c("accounts_end:integer:count", "accounts the person carries in the plan year's last month"))
_declare("territory_assignment", "territory", "The proposed territory of each active customer",
         _c("customer_id:text"), _c("territory:text"), _c("centre:text"), _c("distance_to_centre:number:km"),
         _c("current:text"), _c("moved:bool"), _c("potential:number:yuan"), _c("workload:number:hours"))
_declare("territory_metrics", "territory", "Balance of each territory, today and proposed",
         _c("plan:text", "today or proposed"), _c("territory:text"), _c("centre:text"), _c("units:integer:count"),
         _c("potential:number:yuan"), _c("potential_dev:number:share"), _opt("workload:number:hours"),
         _opt("workload_dev:number:share"), _opt("last_year:number:yuan"), _opt("last_year_dev:number:share"),
         _c("compactness:number:km"), _c("contiguous:bool"), _c("parts:integer:count"))
_declare("territory_summary", "territory", "The territory plan in one row each for today and proposed",
         _c("plan:text"), _c("k:integer:count"), _c("method:text"), _c("status:text"), _c("stopped_by:text"),
         _c("max_potential_dev:number:share"), _opt("max_workload_dev:number:share"),
         _opt("max_last_year_dev:number:share"), _c("within_tolerance:bool"), _c("moved_units:integer:count"),
         _c("moved_share:number:share"), _c("objective:number:score"))
_declare("territory_frontier", "territory",
         "The best balance found at each disruption limit, from today's territories (the disruption-balance frontier)",
         _c("max_disruption:number:share", "largest share of potential allowed to change territory (1 = no limit)"),
         _c("moved_share:number:share", "share of potential the plan moves"), _c("moved_units:integer:count"),
         _c("max_potential_dev:number:share"), _opt("max_workload_dev:number:share"),
         _opt("max_last_year_dev:number:share"), _c("within_tolerance:bool"), _c("status:text"),
         _c("stopped_by:text"), _opt("spread_*:number:share", "standard deviation of the territories' deviations"),
         _opt("median_km:number:km", "median road km account -> its rep's base (method reps)"),
         _opt("p95_km:number:km"), _opt("weighted_mean_km:number:km", "workload-weighted mean road km"),
         _c("chosen:bool", "the point the proposal uses"))
_declare("territory_moves", "territory", "Accounts that move to another territory",
         _c("customer_id:text"), _c("customer_name:text"), _c("province_id:text"), _c("city_en:text"), _c("tier:text"),
         _c("potential:number:yuan"), _c("workload:number:hours"), _c("from_territory:text"), _c("to_territory:text"))
_declare("territory_travel", "territory", "Travel from each rep's base to the rep's accounts, today and proposed",
         _c("plan:text", "today or proposed"), _c("territory:text", "the rep"), _c("rep_name:text"), _c("base_city:text"),
         _c("accounts:integer:count"), _c("median_km:number:km", "road km (great circle x road factor)"),
         _c("p95_km:number:km"), _c("max_km:number:km"), _c("weighted_mean_km:number:km", "workload-weighted"),
         _c("weighted_mean_hours:number:hours", "one way, at the travel speed"),
         _c("beyond_limit:integer:count", "accounts farther than territory.max_distance_km"))
_declare("territory_comparison", "territory", "Today and the proposal side by side, one measure a row (lower is better)",
         _c("measure:text"), _c("unit:text", "share, km or count"), _c("today:number"), _c("proposed:number"),
         _c("change:number", "proposed - today"), _c("verdict:text", "better, worse, same, or cost (disruption)"))
_declare("territory_handover", "territory", "The hand-over list: for each rep the accounts gained and lost, by money",
         _c("rep_id:text"), _c("rep_name:text"), _c("direction:text", "gained or lost"), _c("customer_id:text"),
         _c("customer_name:text"), _c("from_rep:text"), _c("to_rep:text"), _c("last_year_sales:number:yuan"),
         _c("potential:number:yuan"), _c("distance_km:number:km", "road km to the new rep's base"))
_declare("territory_beyond_limit", "territory", "Accounts farther than territory.max_distance_km from their rep's base today; they stay",
         _c("customer_id:text"), _c("customer_name:text"), _c("rep_id:text"), _c("distance_km:number:km"))

# ---- tracking ----------------------------------------------------------------------
_declare("pacing", "tracking", "Progress against the plan to date, at every level",
         _c("level:text"), _c("unit_id:text"), _c("target_full:number:yuan"), _c("target_to_date:number:yuan"),
         _c("actual_to_date:number:yuan"), _c("remaining_days:number:days"), _opt("region_id:text"),
         _opt("province_id:text"), _opt("rep_id:text"), _opt("customer_id:text"), _c("achievement:number:share"),
         _c("phased_share_to_date:number:share"), _c("projection:number:yuan", "the year-end projection: actual to date + the baseline of the time "
                                        "left (without a baseline: actual to date / phased share to date)"),
         _opt("baseline_rest:number:yuan", "the baseline forecast of the time left (each customer's baseline phased as its plan)"),
         _c("run_rate_projection:number:yuan", "actual to date per elapsed day x the plan's days: the straight line"),
         _c("projected_achievement:number:share"), _c("gap_to_date:number:yuan"), _c("remaining:number:yuan"),
         _c("daily_rate_needed:number:yuan"), _c("rank:integer"))
_declare("pacing_mix", "tracking", "Achievement to date by product and by channel (each customer's target to date shared by its mix)",
         _c("dimension:text", "product or channel"), _c("key:text"), _c("target_full:number:yuan"),
         _c("target_to_date:number:yuan"), _c("actual_to_date:number:yuan"), _c("achievement:number:share"))
_declare("period_report", "tracking", "Target against actual by period, company and per rep",
         _c("grain:text"), _c("rep_id:text", "empty for the company"), _c("period:text"), _c("start:date"),
         _c("end:date"), _c("target:number:yuan"), _c("actual:number:yuan"), _c("achievement:number:share"))
_declare("declining_customers", "tracking", "Customers buying less than the same period last year",
         _c("customer_id:text"), _c("this_year:number:yuan"), _c("last_year:number:yuan"), _c("change:number:yuan"),
         _c("growth:number:share"))
_declare("stock_cover", "tracking", "Stock on hand at each store against the plan's daily sales (days of cover)",
         _c("customer_id:text"), _c("rep_id:text"), _c("product:text"), _c("date:date", "day of the count (end of day)"),
         _c("on_hand:number:units", "units on hand"), _c("plan_units:number:units", "the plan's units in the month after the count"),
         _c("daily_units:number:units", "the plan's units a day in that month"),
         _c("days_of_cover:number:days", "on hand / the plan's units a day"),
         _c("status:text", "below the floor, above the ceiling, in_band or no_plan"),
         _c("price:number:yuan", "the store's price of a unit over the last twelve months"))
_declare("stock_orders", "tracking", "The order plan by store, product and month that brings stock into the band",
         _c("customer_id:text"), _c("product:text"), *_PERIOD,
         _c("plan_amount:number:yuan", "the store's plan of the month for the product (by last year's mix that month)"),
         _c("mix_share:number:share", "the product's share of the store's month"),
         _c("plan_units:number:units"), _c("opening_units:number:units"), _c("order_units:number:units"),
         _c("closing_units:number:units"), _c("closing_days:number:days", "closing stock in days of the next month's plan"))

# ---- summary ------------------------------------------------------------------------
_declare("key_figures", "summary", "The plan's headline figures, each traced to its table and column",
         _c("figure:text"), _c("value:number"), _c("unit:text"), _c("source:text"))
_declare("risks", "summary", "The plan's risks: the regions with most money at risk, then every other risk the tables show",
         _c("kind:text"), _c("unit_id:text", "unit ids, comma-separated"), _c("value:number"),
         _c("probability:number:probability"), _c("money:number:yuan", "money at risk or short"),
         _c("asked:number", "what the params asked (unmet requirements)"), _c("detail:text"))
_declare("flagged_units", "summary", "The few units flagged for leadership: below the achievability threshold, most money at risk",
         _c("level:text"), _c("unit_id:text"), _c("target:number:yuan"), _c("baseline:number:yuan"),
         _c("growth_asked:number:share"), _c("probability:number:probability"),
         _c("money_at_risk:number:yuan", "expected amount by which the target is missed if sales follow the baseline"),
         _c("rank:integer"))
_declare("unmet_requirements", "summary", "Requirements of the params the plan could not meet (the run exits 3)",
         _c("step:text"), _c("requirement:text", "the params key"), _c("asked:number"), _c("achieved:number"),
         _c("message:text", "one sentence for the terminal, in English"))
_declare("run_facts", "all", "Scalar facts each step records for its page (settings used, solver status, notes)",
         _c("step:text"), _c("fact:text"), _c("value:text"))


_KIND_CHECKS = {
    "text": lambda s: pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s)
    or isinstance(s.dtype, pd.CategoricalDtype),
    "number": lambda s: pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s),
    "integer": lambda s: pd.api.types.is_integer_dtype(s),
    "bool": lambda s: pd.api.types.is_bool_dtype(s),
    "date": lambda s: pd.api.types.is_datetime64_any_dtype(s),
}


def check(name: str, df: pd.DataFrame) -> Table:
    """Check ``df`` against the declaration of table ``name``; return the declaration.

    Raises :class:`TableError` naming the table and the column: an undeclared table,
    a missing required column, an undeclared column, or a column of the wrong kind.
    """
    spec = TABLES.get(name)
    if spec is None:
        raise TableError(f"table '{name}' is not declared in salesmodel/schema/tables.py; declare it before saving it",
                         table=name, problem="undeclared_table")
    missing = [c.name for c in spec.columns if c.required and not c.name.endswith("*") and c.name not in df.columns]
    if missing:
        raise TableError(f"table '{name}' lacks the declared column(s) {', '.join(missing)}", table=name, column=missing[0],
                         problem="missing_column")
    for column in df.columns:
        col = next((c for c in spec.columns if c.matches(str(column))), None)
        if col is None:
            raise TableError(f"table '{name}' has column '{column}', which salesmodel/schema/tables.py does not declare",
                             table=name, column=str(column), problem="undeclared_column")
        series = df[column]
        if len(series.dropna()) and not _KIND_CHECKS[col.kind](series):
            raise TableError(f"table '{name}', column '{column}': expected {col.kind}, got dtype {series.dtype}",
                             table=name, column=str(column), problem="wrong_kind")
    return spec


def columns_with_unit(name: str, unit: str, columns: list[str] | None = None) -> list[str]:
    """The columns of table ``name`` (or of ``columns``) declared with ``unit``."""
    spec = TABLES[name]
    names = columns if columns is not None else [c.name for c in spec.columns if not c.name.endswith("*")]
    return [c for c in names if any(col.matches(c) and col.unit == unit for col in spec.columns)]
