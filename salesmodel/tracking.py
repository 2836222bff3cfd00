"""Tracking: actuals against the phased plan.

- :func:`achievement_rate`: actual over target (with carried-over shortfalls).
- :func:`pacing`: where each unit stands at a date against its target to date,
  the run rate needed for the rest of the period and a projection.
- :func:`period_report`: target against actual by week, dekad or month (example G).
- :func:`declining_customers`: customers selling less than a year before.

Pure: DataFrames and plain values in, DataFrames out.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.errors import InputError, short_list
from salesmodel.targets.allocation import _as_list, _param_error
from salesmodel.targets.phasing import _check_periods

__all__ = ["achievement_rate", "declining_customers", "pacing", "period_report"]


# ---------------------------------------------------------------------------
# Tracking
# ---------------------------------------------------------------------------
def achievement_rate(actual: float | np.ndarray, target: float | np.ndarray, *, carried_over: float | np.ndarray = 0) -> Any:
    """Achievement (达成率) of a target, counting orders carried into the period.

    Orders carried over from last month (月初遗留可交订单) are already in hand
    and cover part of the month's target, so what is asked of the month is
    ``target - carried_over`` and the achievement is
    ``actual / (target - carried_over)``. DOMAIN example G: a consultant with
    5 carried-over orders and a monthly target of 10 who wins 6 is at
    6 / (10 - 5) = 120%.

    Examples
    --------
    >>> round(achievement_rate(120, 130), 3)
    0.923
    >>> achievement_rate(6, 10, carried_over=5)
    1.2
    """
    net = np.asarray(target, dtype=float) - np.asarray(carried_over, dtype=float)
    if np.any(np.asarray(carried_over) < 0):
        raise _param_error("carried_over", "achievement_rate", "a number >= 0", carried_over)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(net > 0, np.asarray(actual, dtype=float) / np.where(net > 0, net, 1.0), np.nan)
    return float(rate) if np.ndim(rate) == 0 else rate


def _elapsed_fraction(start: pd.Series, end: pd.Series, as_of: pd.Timestamp) -> np.ndarray:
    days = (end - start).dt.days.to_numpy() + 1
    done = (as_of - start).dt.days.to_numpy() + 1
    return np.clip(done / days, 0.0, 1.0)


def _unit_id(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    if not cols:
        return pd.Series("company", index=frame.index)
    out = frame[cols[0]].astype(str)
    for c in cols[1:]:
        out = out + "/" + frame[c].astype(str)
    return out


def pacing(
    actuals: pd.DataFrame,
    plan: pd.DataFrame,
    as_of: Any,
    *,
    levels: Mapping[str, Sequence[str]],
    date: str = "date",
    amount: str = "amount",
    target: str = "target",
    working_days: str | None = "working_days",
    periods: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Progress against the phased plan, per unit at every level.

    Parameters
    ----------
    actuals : DataFrame
        Transactions (``date``, ``amount`` and the level columns).
    plan : DataFrame
        The phased plan: level columns, ``start``, ``end`` (a period per row,
        e.g. from :func:`split_over_time`), ``target``; optionally a
        ``working_days`` column per row for the daily rate.
    as_of : date
        Actuals up to and including this day count.
    levels : dict
        Level name -> the columns naming a unit of it, e.g.
        ``{"company": [], "region": ["region_id"], "rep": ["rep_id"]}``.
    periods : DataFrame, optional
        The plan's period table with ``working_days`` (from the calendar), for
        the working days left; otherwise a ``working_days`` column of the plan,
        otherwise calendar days.

    Returns
    -------
    DataFrame
        One row per level and unit: ``level``, ``unit_id``, ``target_full``
        (the plan's total), ``target_to_date`` (by the phasing: whole periods
        before ``as_of`` plus the elapsed days' part of the current period — not
        a straight line through the year), ``actual_to_date``, ``achievement``,
        ``phased_share_to_date``, ``projection`` (actual to date / phased share:
        a seasonally adjusted full-period estimate), ``run_rate_projection`` (the
        straight line: actual to date per elapsed day x the plan's days), ``projected_achievement``,
        ``gap_to_date`` (actual - target to date), ``remaining`` (target_full -
        actual, not below 0), ``remaining_days`` (working days left, when the
        plan has them, else calendar days), ``daily_rate_needed`` and ``rank``
        (1 = best achievement within the level).
    """
    func = "pacing"
    as_of = pd.Timestamp(as_of)
    for table, frame, need in (("actuals", actuals, [date, amount]), ("plan", plan, ["start", "end", target])):
        cols = need + sorted({c for v in levels.values() for c in v})
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise InputError(f"{func}: the {table} table has no column {short_list(missing)}.")
    p = plan.copy()
    p["start"] = pd.to_datetime(p["start"])
    p["end"] = pd.to_datetime(p["end"])
    plan_start, plan_end = p["start"].min(), p["end"].max()
    if not (plan_start <= as_of):
        raise _param_error("as_of", func, f"on or after the plan's first day {plan_start.date()}", str(as_of.date()))
    frac = _elapsed_fraction(p["start"], p["end"], as_of)
    p["_to_date"] = p[target].to_numpy(dtype=float) * frac
    # Working days left: the same for every unit, from the plan's own periods.
    if periods is not None:
        cal = _check_periods(periods, func)
        if working_days is None or working_days not in cal.columns:
            raise InputError(f"{func}: the periods table has no '{working_days}' column.")
        rem = cal[working_days].to_numpy(dtype=float)
    else:
        cal = p.drop_duplicates(["start", "end"])
        rem = (cal[working_days].to_numpy(dtype=float) if working_days is not None and working_days in p.columns
               else ((cal["end"] - cal["start"]).dt.days + 1).to_numpy(dtype=float))
    remaining_days = float((rem * (1 - _elapsed_fraction(cal["start"], cal["end"], as_of))).sum())
    a = actuals.loc[(pd.to_datetime(actuals[date]) >= plan_start) & (pd.to_datetime(actuals[date]) <= min(as_of, plan_end))]
    rows = []
    for name, cols in levels.items():
        cols = list(cols)
        if cols:
            gp = p.groupby(cols, sort=True, observed=True).agg(target_full=(target, "sum"), target_to_date=("_to_date", "sum"))
            ga = a.groupby(cols, sort=True, observed=True)[amount].sum().rename("actual_to_date")
            merged = gp.join(ga, how="outer").reset_index()
        else:
            merged = pd.DataFrame({"target_full": [p[target].sum()], "target_to_date": [p["_to_date"].sum()],
                                   "actual_to_date": [a[amount].sum()]})
        merged = merged.fillna({"target_full": 0.0, "target_to_date": 0.0, "actual_to_date": 0.0})
        merged.insert(0, "unit_id", _unit_id(merged, cols).to_numpy())
        merged.insert(0, "level", name)
        merged["remaining_days"] = remaining_days
        rows.append(merged)
    out = pd.concat(rows, ignore_index=True)
    tt, td, ad = out["target_full"].to_numpy(), out["target_to_date"].to_numpy(), out["actual_to_date"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["achievement"] = np.where(td > 0, ad / np.where(td > 0, td, 1.0), np.nan)
        share = np.where(tt > 0, td / np.where(tt > 0, tt, 1.0), np.nan)
        out["phased_share_to_date"] = share
        out["projection"] = np.where(share > 0, ad / np.where(share > 0, share, 1.0), np.nan)
        out["projected_achievement"] = np.where(tt > 0, out["projection"] / np.where(tt > 0, tt, 1.0), np.nan)
    elapsed = float((min(as_of, plan_end) - plan_start).days + 1)
    out["run_rate_projection"] = ad / elapsed * float((plan_end - plan_start).days + 1)
    out["gap_to_date"] = ad - td
    out["remaining"] = np.maximum(tt - ad, 0.0)
    rd = out["remaining_days"].to_numpy()
    out["daily_rate_needed"] = np.where(rd > 0, out["remaining"] / np.where(rd > 0, rd, 1.0), np.nan)
    out["rank"] = out.groupby("level")["achievement"].rank(ascending=False, method="min", na_option="bottom").astype(int)
    out.attrs["as_of"] = f"{as_of:%Y-%m-%d}"
    return out


def period_report(
    actuals: pd.DataFrame,
    plan: pd.DataFrame,
    periods: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    as_of: Any = None,
    date: str = "date",
    amount: str = "amount",
    target: str = "target",
) -> pd.DataFrame:
    """Target against actual per reporting period (weeks, dekads), example G.

    The plan (rows with ``start``, ``end``, ``target``, at any grain) is spread
    over its days evenly within each of its rows and summed into ``periods``, so a
    dekad plan gives week targets and vice versa. Periods starting after
    ``as_of`` are left out; the one holding ``as_of`` is compared to date.

    Returns ``by`` columns, ``period``, ``start``, ``end``, ``target``,
    ``actual``, ``achievement`` (actual / target).
    """
    func = "period_report"
    by = list(by)
    per = _check_periods(periods, func)
    as_of = pd.Timestamp(as_of) if as_of is not None else per["end"].max()
    pl = plan.copy()
    pl["start"] = pd.to_datetime(pl["start"])
    pl["end"] = pd.to_datetime(pl["end"])
    pl = pl.groupby(by + ["start", "end"], sort=False, observed=True)[target].sum().reset_index() if by else \
        pl.groupby(["start", "end"], sort=False)[target].sum().reset_index()
    ndays = ((pl["end"] - pl["start"]).dt.days + 1).to_numpy()
    rep = np.repeat(np.arange(len(pl)), ndays)
    offs = np.arange(rep.size) - np.repeat(np.cumsum(ndays) - ndays, ndays)
    daily = pd.DataFrame({c: pl[c].to_numpy()[rep] for c in by})
    daily["day"] = pl["start"].to_numpy()[rep] + offs.astype("timedelta64[D]")
    daily["t"] = (pl[target].to_numpy() / ndays)[rep]
    daily = daily.loc[daily["day"] <= as_of]
    per = per.loc[per["start"] <= as_of].sort_values("start").reset_index(drop=True)
    pos = np.searchsorted(per["start"].to_numpy(), daily["day"].to_numpy(), side="right") - 1
    inside = (pos >= 0) & (daily["day"].to_numpy() <= per["end"].to_numpy()[np.clip(pos, 0, None)])
    daily = daily.loc[inside].assign(period=per["period"].to_numpy()[pos[inside]])
    tgt = daily.groupby(by + ["period"], observed=True)["t"].sum().rename("target")
    act = actuals.assign(_d=pd.to_datetime(actuals[date]))
    act = act.loc[act["_d"] <= as_of]
    pos = np.searchsorted(per["start"].to_numpy(), act["_d"].to_numpy(), side="right") - 1
    inside = (pos >= 0) & (act["_d"].to_numpy() <= per["end"].to_numpy()[np.clip(pos, 0, None)])
    act = act.loc[inside].assign(period=per["period"].to_numpy()[pos[inside]])
    actual = act.groupby(by + ["period"], observed=True)[amount].sum().rename("actual")
    out = pd.concat([tgt, actual], axis=1).fillna(0.0).reset_index()
    out = out.merge(per[["period", "start", "end"]], on="period", how="left")
    out["achievement"] = np.where(out["target"] > 0, out["actual"] / out["target"].where(out["target"] > 0, 1.0), np.nan)
    return out.sort_values(by + ["start"]).reset_index(drop=True)[by + ["period", "start", "end", "target", "actual", "achievement"]]


def declining_customers(
    actuals: pd.DataFrame,
    as_of: Any,
    *,
    key: str | Sequence[str] = "customer_id",
    date: str = "date",
    amount: str = "amount",
    start: Any = None,
) -> pd.DataFrame:
    """Customers selling less than in the same period last year.

    Compares ``start .. as_of`` (default: 1 January of ``as_of``'s year) with
    the same dates a year earlier. Returns, per customer, ``this_year``,
    ``last_year``, ``change`` and ``growth``; only customers whose sales fell,
    worst change first.
    """
    key_list = _as_list(key)
    as_of = pd.Timestamp(as_of)
    start = pd.Timestamp(start) if start is not None else pd.Timestamp(year=as_of.year, month=1, day=1)
    ly_start, ly_end = start - pd.DateOffset(years=1), as_of - pd.DateOffset(years=1)
    d = pd.to_datetime(actuals[date])
    ty = actuals.loc[(d >= start) & (d <= as_of)].groupby(key_list)[amount].sum().rename("this_year")
    ly = actuals.loc[(d >= ly_start) & (d <= ly_end)].groupby(key_list)[amount].sum().rename("last_year")
    out = pd.concat([ty, ly], axis=1).fillna(0.0).reset_index()
    out["change"] = out["this_year"] - out["last_year"]
    out["growth"] = np.where(out["last_year"] > 0, out["change"] / out["last_year"].where(out["last_year"] > 0, 1.0), np.nan)
    out = out.loc[out["change"] < 0].sort_values(["change"] + key_list).reset_index(drop=True)
    return out
