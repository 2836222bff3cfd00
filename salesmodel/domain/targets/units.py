"""A plan's units and their bases: one row per active customer with its place in the organisation and
its share bases (last year, potential, the baseline forecast), the monthly history they come from, the
company total, and a seasonal-naive forecast for units the baseline does not reach
(see :mod:`salesmodel.domain.targets.plan`).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from salesmodel.domain.constraints import param_error
from salesmodel.domain.targets.chance import momentum
from salesmodel.errors import InputError, short_list

#: Organisation level name (as in params) -> the column naming a unit of it.
LEVEL_COLUMNS: dict[str, str] = {
    "region": "region_id",
    "province": "province_id",
    "rep": "rep_id",
    "customer": "customer_id",
}


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
