"""Defaults from history: a mature rep's productivity, the current staff, monthly
targets and orders from last year's sales, a lead-in before the plan year.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.staffing._checks import _bad, _require_columns
from salesmodel.errors import InputError

__all__ = ["current_staff", "mature_productivity", "monthly_orders_from_history", "monthly_targets_from_history", "with_lead_in"]


# ---------------------------------------------------------------------------
# defaults from history
# ---------------------------------------------------------------------------


def _rep_of_sales(sales: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    _require_columns(sales, ["date", "customer_id", "amount"], "the sales table", "mature_productivity")
    _require_columns(customers, ["customer_id", "rep_id"], "the customers table", "mature_productivity")
    rep = customers.set_index("customer_id")["rep_id"]
    df = pd.DataFrame({"month": pd.to_datetime(sales["date"]).dt.to_period("M"), "amount": sales["amount"].to_numpy()})
    df["rep_id"] = sales["customer_id"].map(rep).to_numpy()
    return df


def last_full_year(dates: pd.Series) -> int:
    """The last calendar year the dates cover to its end (their last day's year when it is 31 December).

    >>> last_full_year(pd.Series(pd.to_datetime(["2024-03-01", "2025-06-30"])))
    2024
    """
    last = pd.to_datetime(dates).max()
    return last.year if (last.month == 12 and last.day == 31) else last.year - 1


def mature_productivity(
    sales: pd.DataFrame,
    customers: pd.DataFrame,
    reps: pd.DataFrame,
    *,
    year: int | None = None,
    min_tenure_months: int = 12,
) -> float:
    """A mature rep's standard monthly volume (标准销售业务量) from history.

    For each rep with at least ``min_tenure_months`` of service at the start of
    a month of ``year`` (default: the last complete calendar year of the
    sales) and still employed at its end, the mean monthly sales of those
    months; the result is the median over reps. Sales reach a rep through the
    customer's current ``rep_id`` (the data holds no assignment history).
    """
    func = "mature_productivity"
    _require_columns(reps, ["rep_id", "hire_date"], "the reps table", func)
    df = _rep_of_sales(sales, customers)
    year = last_full_year(sales["date"]) if year is None else int(year)
    df = df[df["month"].dt.year == year]
    monthly = df.groupby(["rep_id", "month"], observed=True)["amount"].sum()
    months = pd.period_range(f"{year}-01", f"{year}-12", freq="M")
    r = reps.set_index("rep_id")
    grid = pd.MultiIndex.from_product([r.index, months], names=["rep_id", "month"])
    frame = monthly.reindex(grid, fill_value=0.0).rename("amount").reset_index()
    hire = pd.to_datetime(frame["rep_id"].map(r["hire_date"])).dt.to_period("M")
    leave_col = r["leave_date"] if "leave_date" in r else pd.Series(pd.NaT, index=r.index)
    leave = pd.to_datetime(frame["rep_id"].map(leave_col))
    tenure = (frame["month"].astype("int64") - hire.astype("int64"))
    month_end = frame["month"].dt.end_time.dt.normalize()
    ok = (tenure >= min_tenure_months) & (leave.isna() | (leave >= month_end))
    per_rep = frame[ok.to_numpy()].groupby("rep_id")["amount"].mean()
    per_rep = per_rep[per_rep > 0]
    if per_rep.empty:
        raise InputError(
            f"{func}: no rep had {min_tenure_months} months of service and sales in {year}; "
            "set staffing.productivity in the params instead."
        )
    return float(per_rep.median())


def current_staff(reps: pd.DataFrame, *, as_of: Any) -> pd.DataFrame:
    """Reps employed on ``as_of`` with their completed months of service (``tenure_months``)."""
    func = "current_staff"
    _require_columns(reps, ["rep_id", "hire_date"], "the reps table", func)
    as_of = pd.Timestamp(as_of)
    hire = pd.to_datetime(reps["hire_date"])
    leave = pd.to_datetime(reps["leave_date"]) if "leave_date" in reps else pd.Series(pd.NaT, index=reps.index)
    active = (hire <= as_of) & (leave.isna() | (leave > as_of))
    out = reps.loc[active].copy()
    h = hire[active]
    months = (as_of.year - h.dt.year) * 12 + (as_of.month - h.dt.month) - (as_of.day < h.dt.day).astype(int)
    out["tenure_months"] = months.clip(lower=0).astype(np.int64).to_numpy()
    return out.reset_index(drop=True)


def monthly_targets_from_history(
    sales: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    plan_year: int,
    growth: float,
    team_of_customer: pd.Series | None = None,
    year: int | None = None,
) -> pd.DataFrame:
    """Monthly targets per team as last year's same-month sales x (1 + growth).

    The fallback when no decomposed plan exists: ``team`` is the customer's
    team (``team_of_customer`` maps customer_id -> team; default the rep).
    Returns ``team, month, target`` for the 12 months of ``plan_year``.
    """
    func = "monthly_targets_from_history"
    if not growth > -1:
        raise _bad("growth", func, "a number above -1", growth)
    df = _rep_of_sales(sales, customers)
    if team_of_customer is not None:
        df["rep_id"] = sales["customer_id"].map(team_of_customer).to_numpy()
    year = last_full_year(sales["date"]) if year is None else int(year)
    df = df[df["month"].dt.year == year]
    if df.empty:
        raise InputError(f"{func}: no sales in {year} to base the targets on.")
    g = df.groupby(["rep_id", df["month"].dt.month])["amount"].sum() * (1.0 + growth)
    teams = sorted(df["rep_id"].dropna().unique())
    grid = pd.MultiIndex.from_product([teams, range(1, 13)], names=["team", "m"])
    g = g.rename_axis(["team", "m"]).reindex(grid, fill_value=0.0).reset_index(name="target")
    g["month"] = pd.PeriodIndex.from_fields(year=np.full(len(g), plan_year), month=g["m"].to_numpy(), freq="M")
    return g[["team", "month", "target"]]


def with_lead_in(
    targets: pd.DataFrame,
    first_month: Any,
    *,
    team_col: str = "team",
    month_col: str = "month",
    target_col: str = "target",
) -> pd.DataFrame:
    """Prepend months from ``first_month`` up to the plan's first month with target 0.

    A plan for next year is decided now: the months between today and the plan
    year carry no requirement here (target 0) but hires decided in them can start
    by the plan's first month, and attrition runs through them. Returns the long
    table with a ``lead_in`` flag column.
    """
    _require_columns(targets, [team_col, month_col, target_col], "the targets table", "with_lead_in")
    months = pd.PeriodIndex(pd.to_datetime(targets[month_col].astype(str), format="mixed"), freq="M")
    start = pd.Period(first_month, freq="M")
    out = targets.assign(**{month_col: months, "lead_in": False})
    if start >= months.min():
        return out
    extra = pd.period_range(start, months.min() - 1, freq="M")
    teams = pd.unique(targets[team_col])
    pad = pd.DataFrame({
        team_col: np.repeat(teams, len(extra)),
        month_col: np.tile(extra, len(teams)),
        target_col: 0.0,
        "lead_in": True,
    })
    return pd.concat([pad, out[[team_col, month_col, target_col, "lead_in"]]], ignore_index=True).sort_values(
        [team_col, month_col], kind="mergesort"
    ).reset_index(drop=True)


def monthly_orders_from_history(
    sales: pd.DataFrame,
    *,
    channel: str | None = None,
    growth: float = 0.0,
    year: int | None = None,
) -> float:
    """Average orders a month (one customer's purchases on one day) x (1 + growth).

    The default delivery target of the dealership funnel when none is given:
    last complete year's orders of ``channel`` (all channels when None).
    """
    func = "monthly_orders_from_history"
    _require_columns(sales, ["date", "customer_id"] + (["channel"] if channel else []), "the sales table", func)
    dates = pd.to_datetime(sales["date"])
    year = last_full_year(dates) if year is None else int(year)
    mask = dates.dt.year == year
    if channel is not None:
        mask &= sales["channel"] == channel
    if not mask.any():
        raise InputError(f"{func}: no sales{' in channel ' + repr(channel) if channel else ''} in {year}.")
    orders = pd.DataFrame({"c": sales.loc[mask, "customer_id"].to_numpy(), "d": dates[mask].to_numpy()}).drop_duplicates()
    return len(orders) / 12.0 * (1.0 + growth)
