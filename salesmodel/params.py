"""Scenario parameters: one pydantic schema, loaded safely from YAML.

Every field has a default and a description; unknown or misspelt keys are
rejected by name; file paths are resolved relative to the params file.

Each section class belongs to the module it configures (forecast, targets,
staffing, territory, tracking); keep each section's fields documented.
"""
from __future__ import annotations

import difflib
import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from salesmodel.errors import ParamsError

__all__ = [
    "DEFAULT_NOTEBOOKS",
    "Scenario",
    "load_params",
    "params_from_dict",
    "params_hash",
    "params_reference",
]

# Notebooks of a full run, in order (each is added here once it runs green).
DEFAULT_NOTEBOOKS = [
    "00_data_overview.ipynb",
    "01_baseline_forecast.ipynb",
    "02_targets.ipynb",
    "03_staffing.ipynb",
    "04_territories.ipynb",
    "05_tracking.ipynb",
    "10_leadership_summary.ipynb",
]


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
    sql_url: str | None = Field(None, description="SQLAlchemy URL; when set, each table is read from the database table of the same key name.")
    history_start: date | None = Field(None, description="Declared first date of the sales history: earlier sales dates are an input error (default: no check).")
    history_end: date | None = Field(None, description="Declared last date of the sales history: later sales dates are an input error (default: no check).")


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
    models: list[str] | None = Field(None, description="The model pool for seasonal series (names in salesmodel.forecast.MODEL_NAMES; default: AutoETS, DynamicOptimizedTheta, AutoCES, Theta).")
    combine: Literal["weighted", "mean", "median"] = Field("weighted", description="How a series' models are combined: weighted by the inverse of each model's error (MASE and sMAPE) on the series' own latest backtest window, shrunk toward equal weights; or their mean or median.")
    shrinkage: float = Field(0.25, ge=0, le=1, description="Share of equal weights in the weighted combination (0: backtest weights only; 1: the plain mean).")
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


class TargetsParams(_Section):
    """Target setting and decomposition (notebook 02)."""

    total: float | None = Field(None, gt=0, description="Company total for the plan year; when empty, growth over the base is used.")
    growth: float = Field(0.12, gt=-1, description="Growth over the base when no total is given (0.12 = +12%).")
    growth_over: Literal["baseline", "last_year"] = Field("baseline", description="What the growth is applied to.")
    stretch: float = Field(1.0, ge=1.0, le=3.0, description="Over-assignment: the parts add up to total x stretch.")
    basis: dict[str, float] = Field({"last_year": 0.5, "potential": 0.2, "forecast": 0.3}, description="Blend of share bases (weights sum to 1).")
    growth_bounds: tuple[float, float] | None = Field((-0.10, 0.40), description="Lowest and highest growth asked of any unit over last year.")
    levels: list[str] = Field(["region", "province", "rep", "customer"], description="Organisation levels, top down.")
    time_grains: list[str] = Field(["quarter", "month", "dekad"], description="Calendar grains to phase targets over.")
    round_to: float = Field(100, gt=0, description="Rounding unit of targets (1 for whole units, 100 for money).")
    achievability_threshold: float = Field(0.3, ge=0, le=1, description="Flag units whose chance of meeting the target is below this.")
    level_basis: dict[str, dict[str, float]] = Field({}, description="Per-level basis blends overriding 'basis', e.g. {customer: {last_year: 0.7, potential: 0.3}}.")
    plan_round_to: float = Field(1, gt=0, description="Rounding unit of the phased plan per period (must divide round_to).")


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
    visit_standards: dict[str, dict[str, float]] | None = Field(None, description="customer_type -> tier -> visits a month; default: the seeds' standards (salesmodel.staffing.DEFAULT_VISIT_STANDARDS).")
    minutes_per_visit: float | dict[str, float] = Field({"wholesaler": 40.0, "retailer": 20.0, "supermarket": 30.0, "online_store": 30.0}, description="Minutes at the customer per visit: one number or per customer_type.")
    travel: Literal["geometry", "none"] = Field("geometry", description="Travel time per visit from each rep's customer geography, or none.")
    travel_speed_kmh: float = Field(40.0, gt=0, description="Average road speed for travel estimates.")
    travel_circuity: float = Field(1.3, ge=1, description="Road distance over straight-line distance.")
    hours_per_month: float = Field(174.0, gt=0, description="Paid hours in a month (21.75 days x 8 hours).")
    selling_share: float = Field(0.6, gt=0, le=1, description="Share of paid hours spent with customers or travelling to them.")
    funnel_channel: str = Field("partner", description="Sales channel planned with the dealership funnel (example F).")
    funnel_sources: dict[str, dict[str, float | bool]] = Field(
        {
            "trade_in_repurchase": {"to_opportunity": 0.85, "mix": 0.15, "showroom": False},
            "walk_in": {"to_opportunity": 0.15, "mix": 0.30, "showroom": True},
            "phone": {"to_opportunity": 0.30, "mix": 0.15, "showroom": False},
            "web": {"to_opportunity": 0.05, "mix": 0.15, "showroom": False},
            "referral": {"to_opportunity": 0.60, "mix": 0.15, "showroom": False},
            "reactivated": {"to_opportunity": 0.70, "mix": 0.10, "showroom": False},
        },
        description="Lead source -> to_opportunity rate (example F), mix (share of opportunities; an assumption) and showroom flag.",
    )
    funnel_stages: dict[str, float | dict[str, float]] = Field(
        {"signed_draft": {"low": 0.30, "mid": 0.55, "high": 0.80}, "order": {"low": 0.35, "mid": 0.475, "high": 0.60}, "delivery": 0.95},
        description="Stages after the opportunity, in order, with their conversion (one rate or per scenario; example F's ranges).",
    )
    consultant_lead_capacity: float = Field(80.0, gt=0, description="Leads one sales consultant can work in a month.")
    funnel_monthly_deliveries: float | None = Field(None, ge=0, description="Deliveries a month the funnel works back from; default: the funnel channel's orders a month last year x (1 + targets.growth).")
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
        description="Monthly pay plan (example H base split; commission rate, threshold, (from, multiplier) tiers, cap); see salesmodel.staffing.PayPlan.",
    )
    pay_scenarios: list[float] = Field([0.8, 1.0, 1.2], description="Achievements of target at which the pay cost is shown.")

    @model_validator(mode="after")
    def _consistent(self) -> StaffingParams:
        # the staffing module owns the rules; check them once, when the params load
        from salesmodel import staffing

        staffing.project_capacity([0], productivity=1.0, ramp=self.ramp, attrition=self.attrition, start_headcount=0)
        staffing.TierScheme(method=self.tier_method, cuts=self.tier_cuts)
        staffing.PayPlan.from_dict(self.pay_plan)
        staffing.funnel(1.0, stages=self.funnel_stages, sources=self.funnel_sources)
        return self


class TerritoryParams(_Section):
    """Territory design (notebook 04)."""

    k: int | None = Field(None, ge=1, description="Number of territories (default: the number of active reps).")
    balance_on: dict[str, float] = Field({"potential": 0.05, "workload": 0.10}, description="Measure -> tolerance around the mean share.")
    max_disruption: float | None = Field(0.10, ge=0, le=1, description="Largest share of potential that may change territory.")
    method: Literal["auto", "exact", "heuristic"] = Field("auto", description="Exact MILP, heuristic, or chosen by size.")
    contiguous: bool = Field(True, description="Territories must be connected.")
    time_limit: float = Field(60, gt=0, description="Seconds the solver may use.")
    workload_measure: Literal["hours", "visits"] = Field("hours", description="The 'workload' balanced: monthly visit hours or visits of the visit standards (staffing).")
    prune_factor: float | None = Field(3.0, gt=0, description="Customer contiguity graph: drop Delaunay edges longer than this x the median edge (reconnecting parts); empty keeps all.")
    graph: Literal["delaunay", "knn"] = Field("knn", description="Contiguity between customers: 'delaunay' (contiguous areas on the map) or 'knn' (Delaunay plus each customer's nearest neighbours: looser, territories may share a town; balances clustered customers far better).")
    neighbours: int = Field(15, ge=1, le=100, description="For graph 'knn': nearest customers each customer is joined to.")


class TrackingParams(_Section):
    """Tracking actuals against a plan (notebook 05)."""

    plan_year: int = Field(2026, description="The year whose plan is tracked (made from the years before it).")
    as_of: date = Field(date(2026, 10, 31), description="Actuals up to and including this date.")
    growth: float = Field(0.10, gt=-1, description="Growth over the year before that the tracked plan asked (the plan is remade with the targets settings).")
    report_grains: list[Literal["iso_week", "month_week", "dekad", "month"]] = Field(["iso_week", "dekad"], description="Period reports of target against actual (example G).")
    top_n: int = Field(10, ge=1, le=200, description="Rows shown in the rankings and the declining-customers list.")


class ReportParams(_Section):
    """How reports look."""

    language: Literal["en", "zh", "es"] = Field("en", description="Language of labels in reports: en, zh or es.")
    money_unit: Literal["yuan", "wan"] = Field("wan", description="Show money in 元 (yuan) or 万元 (wan, 10,000 yuan).")


class Scenario(BaseModel):
    """One planning scenario: everything a run needs besides the data."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    scenario: str = Field("default", min_length=1, max_length=80, description="Scenario name (used, sanitised, in the run folder name).")
    description: str = Field("", description="Free text shown in reports.")
    seed: int = Field(0, ge=0, description="Seed for every random step.")
    data: DataParams = Field(default_factory=DataParams)
    calendar: CalendarParams = Field(default_factory=CalendarParams)
    forecast: ForecastParams = Field(default_factory=ForecastParams)
    targets: TargetsParams = Field(default_factory=TargetsParams)
    staffing: StaffingParams = Field(default_factory=StaffingParams)
    territory: TerritoryParams = Field(default_factory=TerritoryParams)
    tracking: TrackingParams = Field(default_factory=TrackingParams)
    report: ReportParams = Field(default_factory=ReportParams)
    notebooks: list[str] = Field(default_factory=lambda: list(DEFAULT_NOTEBOOKS), description="Notebooks to run, in order.")

    @field_validator("scenario")
    @classmethod
    def _printable(cls, v: str) -> str:
        if not v.strip() or any(ord(c) < 32 for c in v):
            raise ValueError("must be a printable, non-blank name")
        return v

    def to_jsonable(self) -> dict[str, Any]:
        """Plain JSON-able dict (paths as strings, dates ISO)."""
        return json.loads(self.model_dump_json())


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names valid at a location, for 'did you mean' hints."""
    current: Any = model
    for part in loc[:-1]:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
    return list(getattr(current, "model_fields", {}))


def _explain(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            known = _known_keys(Scenario, loc)
            hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
            msg = f"unknown key '{where}'"
            msg += f" (did you mean '{hint[0]}'?)" if hint else f" (allowed here: {', '.join(known)})"
        else:
            got = err.get("input")
            msg = f"'{where}': {err['msg']}"
            if got is not None and not isinstance(got, dict):
                msg += f" (got {got!r})"
        lines.append("  - " + msg)
    return f"{source}: invalid parameters:\n" + "\n".join(lines)


def _resolve_paths(sc: Scenario, base: Path) -> Scenario:
    data = sc.data
    if not data.dir.is_absolute():
        data = data.model_copy(update={"dir": (base / data.dir).resolve()})
    cal = sc.calendar
    if cal.holiday_overrides is not None and not cal.holiday_overrides.is_absolute():
        cal = cal.model_copy(update={"holiday_overrides": (base / cal.holiday_overrides).resolve()})
    return sc.model_copy(update={"data": data, "calendar": cal})


def params_from_dict(raw: dict[str, Any] | None, *, base_dir: Path | str = ".", source: str = "params") -> Scenario:
    """Validate a params mapping; relative paths resolve against ``base_dir``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping of keys to values at the top level, got {type(raw).__name__}")
    try:
        sc = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(_explain(exc, source)) from None
    return _resolve_paths(sc, Path(base_dir))


def load_params(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load a scenario from YAML (safe loader) and validate it.

    ``overrides`` is a nested mapping merged over the file's content
    (used by batch grids).

    >>> sc = load_params("params/default.yaml")  # doctest: +SKIP
    >>> sc.calendar.plan_year
    2027
    """
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParamsError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if overrides:
        raw = _deep_merge(raw or {}, overrides)
    return params_from_dict(raw, base_dir=path.resolve().parent, source=str(path))


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def params_hash(sc: Scenario) -> str:
    """sha256 of the resolved params as canonical JSON."""
    blob = json.dumps(sc.to_jsonable(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def params_reference() -> str:
    """Every params key with its type, default and description, as Markdown.

    Generated from the schema, so it is always current::

        python -c "from salesmodel.params import params_reference; print(params_reference())"
    """
    from pydantic_core import PydanticUndefined

    def default_of(field: Any) -> str:
        if field.default_factory is not None:
            value = field.default_factory()
        elif field.default is PydanticUndefined:
            return "(required)"
        else:
            value = field.default
        if isinstance(value, BaseModel):
            return "(section)"
        return json.dumps(value, default=str, ensure_ascii=False)

    def type_of(field: Any) -> str:
        text = str(field.annotation).replace("typing.", "").replace("pathlib.", "").replace("datetime.", "")
        return text.replace("<class '", "").replace("'>", "").replace("|", "or")

    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                lines.append(f"| **{prefix}{name}** | section | | {(ann.__doc__ or '').strip()} |")
                walk(ann, f"{prefix}{name}.")
            else:
                desc = (field.description or "").replace("|", "\\|")
                lines.append(f"| `{prefix}{name}` | {type_of(field)} | `{default_of(field)}` | {desc} |")

    walk(Scenario, "")
    return "\n".join(lines) + "\n"
