"""From the company's inputs to the plan tables: units, total, cascade, phasing.

The notebooks stay thin by calling :func:`build_plan`, which strings the core
verbs together the way a year-start plan is made:

1. :func:`plan_units`: one row per active customer with its place in the
   organisation (region, province and rep from the rep's record) and the share
   bases: ``last_year`` (the last twelve full months of history before the plan
   year: the calendar year before it when complete, otherwise the latest twelve
   months), ``potential`` and ``forecast`` (the baseline forecast of the
   customer's region for the plan year, shared within the region by last year).
2. :func:`company_total`: a given total, or growth over the baseline forecast
   (over last year when there is no baseline).
3. :func:`~salesmodel.domain.targets.allocation.cascade` region -> province -> rep -> customer.
4. Phasing: each customer's target over the plan year's dekads, weighted by the
   company's seasonal month shares (:func:`seasonal_month_weights`) times each
   dekad's share of its month's working days; every other plan table (rep x
   month, rep x quarter ...) is a sum of that one, so all of them agree exactly.
5. Achievability per region, province and rep, from the baseline forecast when
   it has the unit's grain, else from a seasonal-naive forecast of the unit's
   own history (:func:`naive_forecast`, seasonal naive with drift), scaled so each region's units add up to
   the region's baseline when there is one.

Everything is pure: DataFrames in, DataFrames out.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from salesmodel.domain import seasonality
from salesmodel.domain.constraints import LEVELS, PHASING, PHASING_BLEND, TIME_GRAINS, check, param_error, validate
from salesmodel.domain.targets.achievability import achievability
from salesmodel.domain.targets.allocation import _round_grouped, cascade
from salesmodel.domain.targets.chance import momentum
from salesmodel.domain.targets.mix import controlled_round, mix_shares, split_by_mix, split_weights
from salesmodel.domain.targets.phasing import split_over_time
from salesmodel.errors import InputError, ParamsError, short_list

__all__ = [
    "LEVEL_COLUMNS",
    "Plan",
    "baseline_total",
    "build_plan",
    "baseline_month_weights",
    "company_total",
    "dekad_weights",
    "phasing_weights",
    "monthly_history",
    "naive_forecast",
    "plan_units",
    "rollup",
    "seasonal_month_weights",
]

#: Organisation level name (as in params) -> the column naming a unit of it.
LEVEL_COLUMNS: dict[str, str] = {
    "region": "region_id",
    "province": "province_id",
    "rep": "rep_id",
    "customer": "customer_id",
}
_NESTED_GRAINS = TIME_GRAINS.values

def _require(df: pd.DataFrame, cols: Sequence[str], table: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"the {table} table has no column {short_list(missing)} (columns: {short_list(list(df.columns))}).")


def monthly_history(sales: pd.DataFrame, customers: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """Sales per customer and month with the customer's rep, province and region.

    Province and region are the rep's (the organisation the target flows
    through). Returns ``month`` (first day), ``customer_id``, ``rep_id``,
    ``province_id``, ``region_id``, ``amount``.
    """
    _require(sales, ["date", "customer_id", "amount"], "sales")
    _require(customers, ["customer_id", "rep_id"], "customers")
    _require(reps, ["rep_id", "province_id", "region_id"], "reps")
    month = pd.to_datetime(sales["date"]).to_numpy().astype("datetime64[M]").astype("datetime64[ns]")
    m = (pd.DataFrame({"month": month, "customer_id": sales["customer_id"].to_numpy(), "amount": sales["amount"].to_numpy(dtype=float)})
         .groupby(["month", "customer_id"], sort=True)["amount"].sum().reset_index())
    org = customers[["customer_id", "rep_id"]].merge(reps[["rep_id", "province_id", "region_id"]], on="rep_id", how="left")
    m = m.merge(org, on="customer_id", how="left")
    lost = m["rep_id"].isna() | m["region_id"].isna()
    if lost.any():
        raise InputError(
            f"sales: customers {short_list(sorted(m.loc[lost, 'customer_id'].unique()))} have no rep (or their rep no "
            "province/region) in customers/reps; every customer with sales needs one."
        )
    return m[["month", "customer_id", "rep_id", "province_id", "region_id", "amount"]]


def _last_twelve_months(monthly: pd.DataFrame, plan_year: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last month of the twelve full months before the plan year."""
    before = monthly.loc[monthly["month"] < pd.Timestamp(year=plan_year, month=1, day=1), "month"]
    if before.empty:
        raise InputError(f"the sales history has no month before the plan year {plan_year}; there is no last year to plan from.")
    last = min(before.max(), pd.Timestamp(year=plan_year - 1, month=12, day=1))
    return last - pd.DateOffset(months=11), last


def plan_units(
    sales: pd.DataFrame,
    customers: pd.DataFrame,
    reps: pd.DataFrame,
    *,
    plan_year: int,
    baseline: pd.DataFrame | None = None,
    monthly: pd.DataFrame | None = None,
    momentum_months: int | None = None,
) -> pd.DataFrame:
    """One row per customer active at the start of the plan year, with its bases.

    With ``momentum_months`` a ``momentum`` basis is added
    (:func:`salesmodel.domain.targets.chance.momentum`: last year plus the year-on-year change of
    the last ``momentum_months`` months at an annual rate).

    Columns: ``region_id, province_id, rep_id, customer_id, last_year,
    potential, forecast``. Only history before the plan year is used, so a plan
    for a past year is made as it would have been made then. ``attrs`` records
    the last-year window and where ``forecast`` came from.
    """
    _require(customers, ["customer_id", "rep_id", "potential"], "customers")
    monthly = monthly_history(sales, customers, reps) if monthly is None else monthly
    start = pd.Timestamp(year=plan_year, month=1, day=1)
    hist = monthly.loc[monthly["month"] < start]
    ly_first, ly_last = _last_twelve_months(hist, plan_year)
    ly = hist.loc[(hist["month"] >= ly_first) & (hist["month"] <= ly_last)].groupby("customer_id")["amount"].sum()
    c = customers.copy()
    active = pd.Series(True, index=c.index)
    if "churn_date" in c:
        churn = pd.to_datetime(c["churn_date"])
        active &= churn.isna() | (churn >= start)
    if "first_order_date" in c:
        first = pd.to_datetime(c["first_order_date"])
        active &= first.isna() | (first < start)
    c = c.loc[active, ["customer_id", "rep_id", "potential"]].merge(reps[["rep_id", "province_id", "region_id"]], on="rep_id", how="left")
    if c["region_id"].isna().any():
        bad = c.loc[c["region_id"].isna(), "rep_id"].unique()
        raise InputError(f"customers: reps {short_list(sorted(bad))} are not in the reps table (or have no region).")
    units = c[["region_id", "province_id", "rep_id", "customer_id"]].copy()
    units["last_year"] = ly.reindex(units["customer_id"]).fillna(0.0).to_numpy()
    units["potential"] = pd.to_numeric(c["potential"], errors="coerce").fillna(0.0).clip(lower=0).to_numpy()
    region_fc = _baseline_by(baseline, plan_year, "region_id")
    if region_fc is not None:
        within = units.groupby("region_id")["last_year"].transform("sum")
        pot = units.groupby("region_id")["potential"].transform("sum")
        share = np.where(within > 0, units["last_year"] / within.where(within > 0, 1.0), units["potential"] / pot.where(pot > 0, 1.0))
        units["forecast"] = units["region_id"].map(region_fc).fillna(0.0).to_numpy() * share
        source = "baseline forecast by region, shared within the region by last year"
    else:
        units["forecast"] = units["last_year"]
        source = "last year (no baseline forecast by region)"
    if momentum_months is not None:
        units["momentum"] = units["customer_id"].map(momentum(hist, "customer_id", plan_year, int(momentum_months))
                                                     ).fillna(0.0).to_numpy(dtype=float)
    units = units.sort_values(["region_id", "province_id", "rep_id", "customer_id"]).reset_index(drop=True)
    # attrs are saved with the table: plain strings only.
    # The books' last year: every sale in the window, customers gone before the plan year included.
    units.attrs.update(last_year_first=f"{ly_first:%Y-%m}", last_year_last=f"{ly_last:%Y-%m}", forecast_source=source,
                       last_year_books=repr(float(ly.sum())))
    return units


def _baseline_column(baseline: pd.DataFrame, key: str) -> str | None:
    for name in (key, key.removesuffix("_id")):
        if name in baseline.columns:
            return name
    return None


def _baseline_by(baseline: pd.DataFrame | None, plan_year: int, key: str) -> pd.Series | None:
    """The baseline's plan-year total per unit of ``key`` (None when it lacks that grain)."""
    if baseline is None or baseline.empty:
        return None
    col = _baseline_column(baseline, key)
    if col is None or "yhat" not in baseline.columns or "ds" not in baseline.columns:
        return None
    b = baseline.loc[pd.to_datetime(baseline["ds"]).dt.year == plan_year]
    if b.empty:
        return None
    return b.groupby(col)["yhat"].sum()


def baseline_total(baseline: pd.DataFrame | None, plan_year: int) -> float | None:
    """The baseline forecast's total for the plan year (None when absent)."""
    if baseline is None or baseline.empty or "yhat" not in baseline.columns or "ds" not in baseline.columns:
        return None
    b = baseline.loc[pd.to_datetime(baseline["ds"]).dt.year == plan_year]
    if b.empty:
        return None
    # A reconciled baseline may hold several levels: count the bottom level only.
    for col in ("level",):
        if col in b.columns:
            b = b.loc[b[col] == b[col].iloc[-1]]
    return float(b["yhat"].sum())


def company_total(
    units: pd.DataFrame,
    *,
    total: float | None = None,
    growth: float = 0.12,
    growth_over: str = "baseline",
    baseline: float | None = None,
    round_to: float | None = None,
) -> dict[str, Any]:
    """The company total for the plan year and where it came from.

    A given ``total`` wins; otherwise ``(1 + growth) x base`` where the base is
    the baseline forecast's plan-year total (``growth_over="baseline"``) or last
    year's sales (``"last_year"``, and the fallback, with a warning, when there
    is no baseline). Rounded to ``round_to``.
    """
    if growth_over not in ("baseline", "last_year"):
        raise param_error("growth_over", "company_total", "'baseline' or 'last_year'", growth_over)
    last_year = float(units["last_year"].sum())
    if total is not None:
        value, base, source = float(total), None, "given"
    elif growth_over == "baseline" and baseline is not None:
        value, base, source = (1 + growth) * baseline, baseline, "baseline"
    else:
        if growth_over == "baseline":
            warnings.warn("company_total: there is no baseline forecast; the growth is applied to last year instead.", stacklevel=2)
        value, base, source = (1 + growth) * last_year, last_year, "last_year"
    if round_to:
        value = float(np.rint(value / round_to) * round_to)
    return {"total": value, "base": base, "base_source": source, "last_year": last_year, "growth": growth}


def seasonal_month_weights(monthly: pd.DataFrame, plan_year: int, *, sales: pd.DataFrame | None = None, years: int = 3) -> pd.Series:
    """Each calendar month's share of the plan year.

    With daily ``sales``: the seasonal indices of :mod:`salesmodel.domain.seasonality`
    (ratio to moving average, the Spring Festival aligned on its real dates and
    re-applied as it falls in the plan year). Without them, or when the history
    is too short for that: the mean monthly share over up to ``years`` complete
    calendar years before the plan year (with none, the last twelve months).
    Returns a Series indexed 1..12 summing to 1.
    """
    start = pd.Timestamp(year=plan_year, month=1, day=1)
    if sales is not None:
        daily = sales.loc[pd.to_datetime(sales["date"]) < start, ["date", "amount"]]
        try:
            idx = seasonality.seasonal_indices(daily, date_col="date", value_col="amount", cycle="month",
                                               spring_festival=True, plan_year=plan_year)
            shares = idx.set_index("period_of_cycle")["share"].reindex(range(1, 13)).fillna(0.0)
            if shares.sum() > 0:
                return (shares / shares.sum()).rename("weight")
        except InputError as exc:
            warnings.warn(f"seasonal_month_weights: seasonal indices not available ({exc}); using mean monthly shares.", stacklevel=2)
    hist = monthly.loc[monthly["month"] < start]
    if hist.empty:
        raise InputError(f"the sales history has no month before {plan_year}; seasonal weights need history.")
    total = hist.groupby("month")["amount"].sum()
    idx = pd.DatetimeIndex(total.index)
    by_year = pd.DataFrame({"year": idx.year, "m": idx.month, "amount": total.to_numpy()})
    full = by_year.groupby("year")["m"].nunique()
    full_years = sorted(full[full == 12].index)[-years:]
    if full_years:
        t = by_year.loc[by_year["year"].isin(full_years)].pivot(index="year", columns="m", values="amount")
        shares = t.div(t.sum(axis=1), axis=0).mean(axis=0)
    else:
        first, last = _last_twelve_months(hist, plan_year)
        w = by_year.assign(month=idx).loc[lambda d: (d["month"] >= first) & (d["month"] <= last)]
        shares = w.groupby("m")["amount"].sum()
        shares = shares / shares.sum()
    shares = shares.reindex(range(1, 13)).fillna(0.0)
    return (shares / shares.sum()).rename("weight")


def baseline_month_weights(baseline: pd.DataFrame | None, plan_year: int, *, key: str | None = "region_id",
                           sales: pd.DataFrame | None = None, spring_festival: bool = True) -> pd.DataFrame | None:
    """Each unit's month shares of the plan year from the baseline forecast's month shape.

    The baseline's months are taken by ``key`` (a column of the baseline: one shape per
    region; None or absent: the company's). With ``spring_festival`` and daily ``sales``
    the festival is moved to the plan year's date: each month is scaled by the festival's
    factor in the plan year over its mean factor in the years of history the baseline
    learnt from (:func:`salesmodel.domain.seasonality.spring_festival_factors`), so a January
    that holds the festival in the plan year but did not on average is raised, and so on.
    Returns ``key`` (or ``_all``), ``month`` (1..12), ``baseline``, ``sf_factor``,
    ``weight`` (summing to 1 per unit); None without a baseline for the plan year.
    """
    if baseline is None or baseline.empty or "yhat" not in baseline.columns:
        return None
    b = baseline.loc[pd.to_datetime(baseline["ds"]).dt.year == plan_year].copy()
    if b.empty:
        return None
    col = _baseline_column(b, key) if key else None
    b["_unit"] = b[col].astype(str) if col else "company"
    b["month"] = pd.to_datetime(b["ds"]).dt.month
    shape = b.groupby(["_unit", "month"])["yhat"].sum().unstack("month").reindex(columns=range(1, 13)).fillna(0.0)
    factor = np.ones(12)
    if spring_festival and sales is not None and len(sales):
        daily = sales.loc[pd.to_datetime(sales["date"]) < pd.Timestamp(year=plan_year, month=1, day=1), ["date", "amount"]]
        try:
            effect = seasonality.spring_festival_effect(daily, date_col="date", value_col="amount")
            years = sorted(pd.to_datetime(daily["date"]).dt.year.unique())
            past = np.mean([seasonality.spring_festival_factors(effect, int(y))["factor"].to_numpy() for y in years], axis=0)
            plan = seasonality.spring_festival_factors(effect, plan_year)["factor"].to_numpy()
            factor = np.where(past > 0, plan / np.where(past > 0, past, 1.0), 1.0)
        except InputError as exc:
            warnings.warn(f"baseline_month_weights: the Spring Festival could not be measured ({exc}); "
                          "the baseline's shape is used as it is.", stacklevel=2)
    adjusted = shape.to_numpy() * factor[None, :]
    sums = adjusted.sum(axis=1, keepdims=True)
    weight = np.where(sums > 0, adjusted / np.where(sums > 0, sums, 1.0), 1.0 / 12)
    out = pd.DataFrame({key if col else "_all": np.repeat(shape.index.to_numpy(), 12),
                        "month": np.tile(np.arange(1, 13), len(shape)), "baseline": shape.to_numpy().ravel(),
                        "sf_factor": np.tile(factor, len(shape)), "weight": weight.ravel()})
    return out


def dekad_weights(dekads: pd.DataFrame, month_weights: pd.Series) -> pd.Series:
    """Weight of each dekad: its month's seasonal share x its share of the month's working days."""
    _require(dekads, ["period", "start", "working_days"], "dekad periods")
    month = pd.to_datetime(dekads["start"]).dt.month.to_numpy()
    wd = dekads["working_days"].to_numpy(dtype=float)
    month_wd = pd.Series(wd).groupby(month).transform("sum").to_numpy()
    within = np.where(month_wd > 0, wd / np.where(month_wd > 0, month_wd, 1.0), 1.0 / 3)
    return pd.Series(month_weights.reindex(month).to_numpy() * within, index=dekads["period"].to_numpy(), name="weight")


def naive_forecast(monthly: pd.DataFrame, key: str | None, plan_year: int, *, level: Sequence[int] = (80, 95)) -> pd.DataFrame:
    """Seasonal-naive forecast with drift of each unit's months in the plan year, with intervals.

    ``yhat`` is the same month in the latest year of history, grown by the
    unit's growth over the last twelve months against the twelve before
    (clipped to -50%..+100%; none without two years of history) once per year
    back; the spread is the standard deviation of the unit's own year-over-year
    monthly changes around their mean (times the square root of the number of
    years back), so intervals widen for noisy units. Units with too little
    history borrow the median relative spread.
    Returns ``key, ds, yhat, yhat_lo_<level>, yhat_hi_<level>``.
    """
    hist = monthly.loc[monthly["month"] < pd.Timestamp(year=plan_year, month=1, day=1)]
    k = key or "_all"
    h = hist.assign(_all="company") if key is None else hist
    wide = h.groupby([k, "month"])["amount"].sum().unstack("month").fillna(0.0)
    months = pd.DatetimeIndex(wide.columns)
    full = pd.date_range(months.min(), months.max(), freq="MS")
    wide = wide.reindex(columns=full, fill_value=0.0)
    values = wide.to_numpy()
    diffs = values[:, 12:] - values[:, :-12] if values.shape[1] > 12 else np.empty((len(wide), 0))
    with np.errstate(invalid="ignore"):
        sd = diffs.std(axis=1, ddof=1) if diffs.shape[1] >= 2 else np.full(len(wide), np.nan)
    level_mean = np.maximum(values[:, -12:].mean(axis=1), 1e-9)
    rel = sd / level_mean
    fallback = np.nanmedian(rel) if np.isfinite(rel).any() else 0.25
    sd = np.where(np.isfinite(sd), sd, fallback * level_mean)
    if values.shape[1] >= 24:
        recent, before = values[:, -12:].sum(axis=1), values[:, -24:-12].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            drift = np.where((recent > 0) & (before > 0), recent / np.where(before > 0, before, 1.0) - 1.0, 0.0)
        drift = np.clip(drift, -0.5, 1.0)
    else:
        drift = np.zeros(len(wide))
    rows = []
    last = full.max()
    for m in range(1, 13):
        target_month = pd.Timestamp(year=plan_year, month=m, day=1)
        back = 1
        while pd.Timestamp(year=plan_year - back, month=m, day=1) > last:
            back += 1
        src = pd.Timestamp(year=plan_year - back, month=m, day=1)
        yhat = (wide[src].to_numpy() if src in wide.columns else np.zeros(len(wide))) * (1.0 + drift) ** back
        frame = pd.DataFrame({k: wide.index.to_numpy(), "ds": target_month, "yhat": yhat})
        for lv in level:
            z = stats.norm.ppf(0.5 + lv / 200)
            frame[f"yhat_lo_{lv}"] = np.maximum(yhat - z * sd * np.sqrt(back), 0.0)
            frame[f"yhat_hi_{lv}"] = yhat + z * sd * np.sqrt(back)
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


@dataclass
class Plan:
    """A year's plan: units, total, targets per level, phased plans, achievability."""

    plan_year: int
    units: pd.DataFrame
    total: dict[str, Any]
    targets: dict[str, pd.DataFrame]
    plan_customer_dekad: pd.DataFrame
    plan_rep_month: pd.DataFrame
    month_weights: pd.Series
    achievability: pd.DataFrame
    by_grain: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: Product and channel tables (empty when the sales have no product and channel).
    mix: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: How the months were phased: ``phasing`` and the Spring Festival factor by month (1..12)
    #: that moved the festival to the plan year's date (all 1 when not moved).
    phasing: str = "last_year"
    festival_factor: pd.Series | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables a run saves, by their contract names."""
        out = {f"targets_{lv}": t for lv, t in self.targets.items()}
        out["plan_rep_month"] = self.plan_rep_month
        out["plan_customer_dekad"] = self.plan_customer_dekad
        out["achievability"] = self.achievability
        out.update(self.mix)
        return out


def _grain_label(start: pd.Series, grain: str) -> pd.Series:
    s = pd.to_datetime(start)
    if grain == "year":
        return s.dt.year.astype(str)
    if grain == "half":
        return s.dt.year.astype(str) + "-H" + ((s.dt.month - 1) // 6 + 1).astype(str)
    if grain == "quarter":
        return s.dt.year.astype(str) + "-Q" + s.dt.quarter.astype(str)
    if grain == "month":
        return s.dt.strftime("%Y-%m")
    raise ParamsError(f"time grain {grain!r} cannot be summed from dekads; use one of {list(_NESTED_GRAINS)}.")


def rollup(plan: pd.DataFrame, by: Sequence[str], grain: str) -> pd.DataFrame:
    """Sum a dekad plan to coarser periods (year, half, quarter, month) per ``by``.

    Returns ``by``, ``period``, ``start``, ``end``, ``target``; exact because
    dekads nest in every coarser grain.
    """
    by = list(by)
    if grain == "dekad":
        g = plan.groupby(by + ["period"], observed=True, sort=False).agg(start=("start", "first"), end=("end", "first"), target=("target", "sum"))
        return g.reset_index().sort_values(by + ["start"]).reset_index(drop=True)
    per = plan[["period", "start", "end"]].drop_duplicates("period")
    lab = _grain_label(per["start"], grain)
    spans = per.assign(_g=lab.to_numpy()).groupby("_g").agg(start=("start", "min"), end=("end", "max"))
    mapping = pd.Series(lab.to_numpy(), index=per["period"].astype(str).to_numpy())
    p = plan[by + ["target"]].copy()
    p["period"] = mapping.reindex(plan["period"].astype(str).to_numpy()).to_numpy()
    out = p.groupby(by + ["period"], observed=True, sort=True)["target"].sum().reset_index()
    out = out.merge(spans, left_on="period", right_index=True, how="left")
    return out[by + ["period", "start", "end", "target"]]


def allocate(
    units: pd.DataFrame,
    *,
    plan_year: int,
    baseline: pd.DataFrame | None,
    total: float | None,
    growth: float,
    growth_over: str,
    stretch: float,
    basis: Mapping[str, float] | str,
    level_basis: Mapping[str, Mapping[str, float] | str] | None,
    growth_bounds: tuple[float, float] | None,
    levels: Sequence[str],
    round_to: float,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
    allocation: Mapping[str, str] | None = None,
    monthly: pd.DataFrame | None = None,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The company total and its split down the organisation levels (no calendar).

    :func:`build_plan` calls this; so does the targets explorer, which therefore
    shows the run's targets at unchanged settings. Returns the company figure
    (:func:`company_total`) and the targets of each level. ``overrides`` fixes units'
    targets by level (``{"region": {"E": 3_000_000}}``): locked, out of the sharing.
    """
    tot = company_total(units, total=total, growth=growth, growth_over=growth_over,
                        baseline=baseline_total(baseline, plan_year), round_to=round_to)
    cols = [LEVEL_COLUMNS[lv] for lv in levels]
    options = {LEVEL_COLUMNS[lv]: {"basis": dict(b) if isinstance(b, Mapping) else b} for lv, b in (level_basis or {}).items()}
    basis_arg = dict(basis) if isinstance(basis, Mapping) else basis
    chance_levels = [lv for lv in levels if (allocation or {}).get(lv, "basis") == "equal_chance"]
    bad = {lv: a for lv, a in (allocation or {}).items() if a not in ("basis", "equal_chance") or lv not in levels}
    if bad:
        raise ParamsError(f"targets.allocation must map levels among {list(levels)} to 'basis' or 'equal_chance'; "
                          f"got {dict(bad)}.")
    if chance_levels:
        if monthly is None:
            raise ParamsError("allocate: equal-chance allocation needs the monthly history (monthly=).")
        for lv, spread in level_spreads(units, chance_levels, monthly, baseline, plan_year).items():
            options.setdefault(LEVEL_COLUMNS[lv], {})["spread"] = spread
    targets = cascade(tot["total"], units, cols, basis=basis_arg, reference="last_year",
                      growth_bounds=tuple(growth_bounds) if growth_bounds is not None else None,
                      round_to=round_to, stretch=stretch, options=options,
                      locks=_level_locks(overrides, levels))
    return tot, {lv: targets[LEVEL_COLUMNS[lv]] for lv in levels}


def task_split(named: dict[str, pd.DataFrame], levels: Sequence[str], task: float, round_to: float | None) -> dict[str, pd.DataFrame]:
    """Add each unit's share of the assigned task (``task``) beside its stretched target.

    The task is shared down the same tree in proportion to the targets (so a unit's task is
    its target / stretch), rounded by largest remainder within each parent: every level's
    tasks add up exactly to the task, and each parent's task to its children's.
    """
    out: dict[str, pd.DataFrame] = {}
    parent_task: pd.Series | None = None
    cols = [LEVEL_COLUMNS[lv] for lv in levels]
    for depth, lv in enumerate(levels):
        t = named[lv].copy()
        path = cols[: depth + 1]
        target = t["target"].to_numpy(dtype=float)
        if depth == 0:
            group = np.zeros(len(t), dtype=np.int64)
            totals = np.array([float(task)])
        else:
            idx = pd.MultiIndex.from_frame(t[cols[:depth]])
            codes, uniq = pd.factorize(idx)
            group = codes.astype(np.int64)
            totals = parent_task.reindex(uniq).to_numpy(dtype=float)
        tsum = np.bincount(group, weights=target, minlength=totals.size)
        share = np.where(tsum[group] > 0, target / np.where(tsum[group] > 0, tsum[group], 1.0), 0.0)
        exact = share * totals[group]
        t["task"] = (_round_grouped(exact, group, np.rint(totals / round_to).astype(np.int64), round_to)
                     if round_to else exact)
        out[lv] = t
        parent_task = pd.Series(t["task"].to_numpy(), index=pd.MultiIndex.from_frame(t[path]))
    return out


def _level_locks(overrides: Mapping[str, Mapping[str, float]] | None, levels: Sequence[str]) -> dict | None:
    if not overrides:
        return None
    bad = [lv for lv in overrides if lv not in levels]
    if bad:
        raise ParamsError(f"targets.overrides must be keyed by the plan's levels {list(levels)}; got {short_list(bad)}.")
    return {LEVEL_COLUMNS[lv]: dict(v) for lv, v in overrides.items() if v}


def build_plan(
    sales: pd.DataFrame,
    customers: pd.DataFrame,
    reps: pd.DataFrame,
    dekads: pd.DataFrame,
    *,
    plan_year: int,
    total: float | None = None,
    growth: float = 0.12,
    growth_over: str = "baseline",
    stretch: float = 1.0,
    basis: Mapping[str, float] | str = "last_year",
    level_basis: Mapping[str, Mapping[str, float] | str] | None = None,
    growth_bounds: tuple[float, float] | None = None,
    levels: Sequence[str] = ("region", "province", "rep", "customer"),
    time_grains: Sequence[str] = ("quarter", "month", "dekad"),
    round_to: float = 100,
    plan_round_to: float = 1,
    achievability_threshold: float = 0.3,
    baseline: pd.DataFrame | None = None,
    monthly: pd.DataFrame | None = None,
    product_split: Mapping[str, float] | None = None,
    channel_split: Mapping[str, float] | None = None,
    mix_own_weight: float = 0.7,
    mix_segment: str | None = "customer_type",
    overrides: Mapping[str, Mapping[str, float]] | None = None,
    phasing: str = "baseline",
    phasing_blend: float = 0.5,
    phasing_spring_festival: bool = True,
    allocation: Mapping[str, str] | None = None,
    momentum_months: int | None = None,
) -> Plan:
    """Make a year's plan from the inputs (the names follow ``TargetsParams``).

    Parameters
    ----------
    sales, customers, reps : DataFrame
        The validated inputs (history before ``plan_year`` is used).
    dekads : DataFrame
        The plan year's dekad period table (``calendar.plan_year_periods(year, "dekad")``).
    total, growth, growth_over, stretch
        The company total (:func:`company_total`) and the over-assignment.
    basis, level_basis
        The share basis blend for every level, and per-level overrides
        (``{"customer": {"last_year": 0.7, "potential": 0.3}}``).
    growth_bounds
        Growth bounds over last year at every level.
    levels
        Organisation levels top down, among region, province, rep, customer;
        must include rep and end with customer.
    time_grains
        Grains of the rep plans in ``Plan.by_grain`` (year, half, quarter, month, dekad).
    round_to, plan_round_to
        Rounding of the targets and of the phased plan (must divide ``round_to``).
    phasing, phasing_blend, phasing_spring_festival
        The months' shares (:func:`phasing_weights`): ``"baseline"`` (the baseline
        forecast's month shape by region, the Spring Festival on the plan year's date),
        ``"last_year"`` (the company's seasonal month shares) or ``"blend"``
        (``phasing_blend`` x baseline + the rest x last year).
    product_split, channel_split, mix_own_weight, mix_segment
        Products and channels (:mod:`salesmodel.domain.targets.mix`): the company's split by
        product and by channel (weights; default: what the customers' mixes add up to),
        and how much of each customer's own mix is blended with its segment's.

    Returns
    -------
    Plan
        ``targets`` per level (tidy, with the explanation columns),
        ``plan_customer_dekad`` and ``plan_rep_month`` (long: ids, period,
        start, end, target), ``achievability`` and ``by_grain``. Every table adds
        up exactly: customers to reps to provinces to regions to the total, and
        dekads to months to the year.
    """
    levels = check(levels, LEVELS, "levels", "build_plan")
    time_grains = check(time_grains, TIME_GRAINS, "time_grains", "build_plan")
    if round_to % plan_round_to > 1e-9 * round_to and plan_round_to - round_to % plan_round_to > 1e-9 * round_to:
        raise param_error("plan_round_to", "build_plan", f"a divisor of round_to={round_to:g}", plan_round_to, shown=f"{plan_round_to:g}")
    if any(lv not in levels for lv in (level_basis or {})):
        raise param_error("level_basis", "build_plan", f"keyed by levels among {levels}", list(level_basis))
    monthly = monthly_history(sales, customers, reps) if monthly is None else monthly
    units = plan_units(sales, customers, reps, plan_year=plan_year, baseline=baseline, monthly=monthly,
                       momentum_months=momentum_months)
    tot, named = allocate(units, plan_year=plan_year, baseline=baseline, total=total, growth=growth,
                          growth_over=growth_over, stretch=stretch, basis=basis, level_basis=level_basis,
                          growth_bounds=growth_bounds, levels=levels, round_to=round_to, overrides=overrides,
                          allocation=allocation, monthly=monthly)
    cols = [LEVEL_COLUMNS[lv] for lv in levels]
    named = task_split(named, levels, tot["total"], round_to)

    month_w = seasonal_month_weights(monthly, plan_year, sales=sales)
    cust = named["customer"]
    weights, month_w = phasing_weights(cust, dekads, month_w, baseline, plan_year, sales=sales, phasing=phasing,
                                       phasing_blend=phasing_blend, spring_festival=phasing_spring_festival)
    festival = weights.attrs.get("festival_factor") if isinstance(weights, pd.DataFrame) else None
    used = phasing if isinstance(weights, pd.DataFrame) else "last_year"
    phased = split_over_time(cust[["customer_id", "target"]], dekads, weights, keys="customer_id", round_to=plan_round_to)
    m = len(dekads)
    for c in reversed(cols[:-1]):
        phased.insert(0, c, np.repeat(cust[c].to_numpy(), m))
    by_grain = {g: rollup(phased, ["rep_id"], g) for g in time_grains}
    rep_month = by_grain.get("month")
    if rep_month is None:
        rep_month = rollup(phased, ["rep_id"], "month")

    ach = _achievability_table(named, monthly, baseline, plan_year, achievability_threshold)
    mix: dict[str, pd.DataFrame] = {}
    if {"product", "channel"} <= set(sales.columns):
        mix = plan_mix(sales, customers, cust, cols, rep_month, first=units.attrs["last_year_first"],
                       last=units.attrs["last_year_last"], round_to=round_to, plan_round_to=plan_round_to,
                       product_split=product_split, channel_split=channel_split, own_weight=mix_own_weight,
                       segment=mix_segment)
    return Plan(plan_year, units, tot, named, phased, rep_month, month_w, ach, by_grain, mix, used, festival)


def phasing_weights(cust: pd.DataFrame, dekads: pd.DataFrame, month_w: pd.Series, baseline: pd.DataFrame | None,
                    plan_year: int, *, sales: pd.DataFrame | None, phasing: str, phasing_blend: float,
                    spring_festival: bool) -> tuple[pd.Series | pd.DataFrame, pd.Series]:
    """The dekad weights the customers' targets are phased by, and the company's month shares.

    ``last_year``: every customer by the company's seasonal month shares. ``baseline``:
    each customer by its region's baseline month shape (Spring Festival moved to the plan
    year); ``blend``: ``phasing_blend`` of that and the rest of last year's. Within a
    month, dekads weigh by working days. Without a baseline, last year's shares are used.
    """
    validate("build_plan", {"phasing": PHASING, "phasing_blend": PHASING_BLEND}, phasing=phasing, phasing_blend=phasing_blend)
    bw = None if phasing == "last_year" else baseline_month_weights(
        baseline, plan_year, key="region_id" if "region_id" in cust.columns else None, sales=sales,
        spring_festival=spring_festival)
    if bw is None:
        return dekad_weights(dekads, month_w), month_w
    key = "region_id" if "region_id" in bw.columns else "_all"
    a = phasing_blend if phasing == "blend" else 1.0
    bw = bw.assign(weight=a * bw["weight"] + (1 - a) * bw["month"].map(month_w).to_numpy())
    table = bw.pivot(index=key, columns="month", values="weight")
    if key == "region_id":
        missing = sorted(set(cust["region_id"].astype(str)) - set(table.index.astype(str)))
        company = table.mean(axis=0)
        for r in missing:  # a region the baseline lacks: the regions' mean shape
            table.loc[r] = company
    months = pd.to_datetime(dekads["start"]).dt.month.to_numpy()
    within = dekad_weights(dekads, pd.Series(1.0, index=range(1, 13))).to_numpy()
    per_region = table.reindex(columns=range(1, 13)).to_numpy()[:, months - 1] * within[None, :]
    units = cust["region_id"].astype(str).to_numpy() if key == "region_id" else np.array(["company"] * len(cust))
    row = pd.Index(table.index.astype(str)).get_indexer(units)
    w = pd.DataFrame({"customer_id": np.repeat(cust["customer_id"].to_numpy(), len(dekads)),
                      "period": np.tile(dekads["period"].to_numpy(), len(cust)),
                      "weight": per_region[row].ravel()})
    t = cust["target"].to_numpy(dtype=float)
    company = (per_region[row] * t[:, None]).sum(axis=0)
    month_share = pd.Series(company, index=months).groupby(level=0).sum()
    month_share = (month_share / month_share.sum()) if month_share.sum() > 0 else month_w
    w.attrs["festival_factor"] = bw.drop_duplicates("month").set_index("month")["sf_factor"].reindex(range(1, 13))
    return w, month_share.reindex(range(1, 13)).fillna(0.0).rename("weight")


def plan_mix(sales: pd.DataFrame, customers: pd.DataFrame, cust: pd.DataFrame, cols: Sequence[str],
             rep_month: pd.DataFrame, *, first: str, last: str, round_to: float, plan_round_to: float,
             product_split: Mapping[str, float] | None, channel_split: Mapping[str, float] | None,
             own_weight: float, segment: str | None) -> dict[str, pd.DataFrame]:
    """The product and channel tables of a plan, every margin exact.

    ``targets_customer_mix`` (customer x product x channel), ``targets_region_mix``
    (region x product x channel) and ``plan_rep_product_month`` (rep x product x month,
    adding up to ``plan_rep_month`` by month and to the customers' product targets by rep).
    """
    cols = list(cols)
    ids = set(cust["customer_id"])
    shares = mix_shares(sales.loc[sales["customer_id"].isin(ids)], customers.loc[customers["customer_id"].isin(ids)],
                        first=first, last=last, own_weight=own_weight, segment=segment)
    products = sorted(shares["product"].unique())
    channels = sorted(shares["channel"].unique())
    long, _company = split_by_mix(cust[cols + ["target"]].reset_index(drop=True), shares, round_to=round_to,
                                  product_split=split_weights(product_split, products, "product_split"),
                                  channel_split=split_weights(channel_split, channels, "channel_split"))
    ly = shares.set_index(["customer_id", "product", "channel"])["last_year"]
    long["last_year"] = ly.reindex(pd.MultiIndex.from_frame(long[["customer_id", "product", "channel"]])).fillna(0.0).to_numpy()
    long = long[cols + ["product", "channel", "last_year", "mix_share", "target"]]
    top = [c for c in cols if c == "region_id"] or []
    region = long.groupby(top + ["product", "channel"], as_index=False)[["last_year", "target"]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        for t in (long, region):
            t["growth"] = np.where(t["last_year"] > 0, t["target"] / t["last_year"].where(t["last_year"] > 0, 1.0) - 1.0, np.nan)
    out = {"targets_customer_mix": long, "targets_region_mix": region}
    out["plan_rep_product_month"] = _rep_product_month(long, rep_month, plan_round_to)
    return out


def _rep_product_month(long: pd.DataFrame, rep_month: pd.DataFrame, unit: float) -> pd.DataFrame:
    """Rep x product x month: each rep's months shared by its product targets, rounded so both margins hold."""
    rp = long.groupby(["rep_id", "product"], sort=True)["target"].sum()
    rm = rep_month.set_index(["rep_id", "period"])["target"]
    reps = rp.index.get_level_values(0).unique()
    products = sorted(long["product"].unique())
    periods = rep_month.drop_duplicates("period").sort_values("start")
    grid = pd.MultiIndex.from_product([reps, products, periods["period"]], names=["rep_id", "product", "period"])
    frame = grid.to_frame(index=False)
    rp_v = rp.reindex(pd.MultiIndex.from_frame(frame[["rep_id", "product"]])).fillna(0.0).to_numpy()
    rm_v = rm.reindex(pd.MultiIndex.from_frame(frame[["rep_id", "period"]])).fillna(0.0).to_numpy()
    rep_total = frame["rep_id"].map(rp.groupby(level=0).sum()).to_numpy()
    exact = np.where(rep_total > 0, rp_v * rm_v / np.where(rep_total > 0, rep_total, 1.0), 0.0)
    row_codes, row_keys = pd.factorize(pd.MultiIndex.from_frame(frame[["rep_id", "product"]]))
    col_codes, col_keys = pd.factorize(pd.MultiIndex.from_frame(frame[["rep_id", "period"]]))
    row_tot = rp.reindex(row_keys).fillna(0.0).to_numpy()
    col_tot = rm.reindex(col_keys).fillna(0.0).to_numpy()
    frame["target"] = controlled_round(exact, row_codes, col_codes, row_tot, col_tot, unit=unit,
                                       what="the rep x product x month plan")
    frame = frame.merge(periods[["period", "start", "end"]], on="period", how="left")
    return frame[["rep_id", "product", "period", "start", "end", "target"]]


def _unit_forecast(table: pd.DataFrame, lv: str, monthly: pd.DataFrame, baseline: pd.DataFrame | None,
                   plan_year: int) -> tuple[pd.DataFrame, str]:
    """The monthly forecast (with intervals) of each unit of level ``lv`` that its chance is judged on.

    ``table`` holds the level's units (its id column, ``region_id`` below the regions, and
    ``forecast``: the baseline the target is set against). The baseline forecast when it
    has the unit's grain, else a seasonal-naive forecast of the unit's own history scaled
    so each region's units add up to the region's baseline; then scaled to each unit's
    ``forecast`` (one baseline per unit). Returns the forecast and where it came from.
    """
    col = LEVEL_COLUMNS[lv]
    ids = set(table[col])
    fc, source = None, "seasonal naive"
    if baseline is not None and _baseline_column(baseline, col) is not None and any(
            c.startswith("yhat_lo_") for c in baseline.columns):
        bcol = _baseline_column(baseline, col)
        fc = baseline.loc[pd.to_datetime(baseline["ds"]).dt.year == plan_year].rename(columns={bcol: col})
        fc = fc if not fc.empty and ids <= set(fc[col]) else None
        source = "baseline forecast"
    if fc is None:
        fc = naive_forecast(monthly, col, plan_year)
        source = "seasonal naive"
        region_base = _baseline_by(baseline, plan_year, "region_id")
        if region_base is not None and "region_id" in table.columns:
            # Lower levels: the naive forecast scaled so each region's units add
            # up to the region's baseline (a coherent top-down baseline).
            region_of = (pd.Series(table[col].to_numpy(), index=table[col].to_numpy()) if col == "region_id"
                         else table.drop_duplicates(col).set_index(col)["region_id"])
            fc_region = fc[col].map(region_of)
            naive_sum = fc.groupby(fc_region)["yhat"].sum()
            factor = (region_base / naive_sum).replace([np.inf, -np.inf], np.nan).fillna(1.0)
            f = fc_region.map(factor).fillna(1.0).to_numpy()
            for c in [c for c in fc.columns if c.startswith("yhat")]:
                fc[c] = fc[c].to_numpy() * f
            source = "seasonal naive scaled to the baseline by region"
    # One baseline per unit: the forecast the target was set against (targets_<level>.forecast);
    # the forecast's months give its shape and spread.
    if "forecast" in table.columns:
        want = table.groupby(col)["forecast"].sum()
        have = fc.groupby(col)["yhat"].sum()
        scale = (want / have.reindex(want.index)).replace([np.inf, -np.inf], np.nan)
        f = fc[col].map(scale).to_numpy(dtype=float)
        ok = np.isfinite(f)
        fc = fc.loc[ok].copy()
        for c in [c for c in fc.columns if c.startswith("yhat")]:
            fc[c] = fc[c].to_numpy() * f[ok]
        if np.nanmax(np.abs(scale.to_numpy(dtype=float) - 1.0), initial=0.0) > 1e-9:
            source = f"{source}, scaled to the unit's forecast"
    return fc, source


#: Levels whose units have a baseline with a spread (the achievability levels); equal chance needs one.
CHANCE_LEVELS = ("region", "province", "rep")


def level_spreads(units: pd.DataFrame, levels: Sequence[str], monthly: pd.DataFrame, baseline: pd.DataFrame | None,
                  plan_year: int) -> dict[str, pd.DataFrame]:
    """Each unit's baseline mean and spread for the given levels, as achievability judges them.

    ``units`` are the plan's customers (:func:`plan_units`); returns, per level, a table
    indexed by the unit id with ``mean`` and ``sd`` (the year's outcome, months correlated as
    :func:`~salesmodel.domain.targets.achievability.achievability` adds them). The finest level
    given keeps its own spread; each level above it takes the sum of its finest units'
    spreads, so equal-chance shares at every level give all the finest units one chance.
    """
    out: dict[str, pd.DataFrame] = {}
    levels = [lv for lv in CHANCE_LEVELS if lv in levels] + [lv for lv in levels if lv not in CHANCE_LEVELS]
    for lv in levels:
        if lv not in CHANCE_LEVELS:
            raise ParamsError(f"equal chance needs a baseline with a spread for each unit; level '{lv}' has none "
                              f"(levels with one: {', '.join(CHANCE_LEVELS)}).")
        col = LEVEL_COLUMNS[lv]
        keep = list(dict.fromkeys(c for c in ("region_id", col) if c in units.columns))
        table = units.groupby(keep, as_index=False, sort=True)["forecast"].sum()
        fc, _ = _unit_forecast(table, lv, monthly, baseline, plan_year)
        a = achievability(table[[col]].assign(target=0.0).drop_duplicates(col), fc, keys=col)
        out[lv] = pd.DataFrame({"mean": a["baseline"].to_numpy(), "sd": a["baseline_sd"].to_numpy()},
                               index=pd.Index(a[col].astype(str).to_numpy(), name=col))
    # One chance for the finest equal-chance level: a level above it shares by the sum of its
    # finest units' spreads, so one z, and the same chance, reaches every finest unit (its own
    # chance, with the diversification of its units, is then higher or lower than theirs).
    finest = levels[-1]
    fcol = LEVEL_COLUMNS[finest]
    pairs = units.drop_duplicates(fcol)
    for lv in levels[:-1]:
        col = LEVEL_COLUMNS[lv]
        sd = pairs[fcol].astype(str).map(out[finest]["sd"]).groupby(pairs[col].astype(str).to_numpy()).sum()
        out[lv]["sd"] = sd.reindex(out[lv].index).to_numpy(dtype=float)
    return out


def _achievability_table(named: dict[str, pd.DataFrame], monthly: pd.DataFrame, baseline: pd.DataFrame | None,
                         plan_year: int, threshold: float) -> pd.DataFrame:
    rows = []
    for lv in ("region", "province", "rep"):
        if lv not in named:
            continue
        col = LEVEL_COLUMNS[lv]
        t = named[lv].groupby(col, as_index=False)["target"].sum()
        fc, source = _unit_forecast(named[lv], lv, monthly, baseline, plan_year)
        a = achievability(t, fc, keys=col, threshold=threshold)
        a.insert(0, "unit_id", a.pop(col).astype(str))
        a.insert(0, "level", lv)
        a["forecast_source"] = source
        rows.append(a)
    return pd.concat(rows, ignore_index=True)
