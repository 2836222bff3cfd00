"""Months' and dekads' shares of a plan year's targets: the company's seasonal month shares, the
baseline forecast's month shape (Spring Festival on the plan year's date), working-day dekad weights,
and the phasing that blends them (see :mod:`salesmodel.domain.targets.plan`).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from salesmodel.domain import seasonality
from salesmodel.domain.constraints import PHASING, PHASING_BLEND, validate
from salesmodel.domain.targets.units import _baseline_column, _last_twelve_months, _require
from salesmodel.errors import InputError


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
