"""Tracking: actuals against the phased plan.

- :func:`achievement_rate`: actual over target (with carried-over shortfalls).
- :func:`pacing`: where each unit stands at a date against its target to date,
  the run rate needed for the rest of the period and a projection.
- :func:`period_report`: target against actual by week, dekad or month (example G).
- :func:`declining_customers`: customers selling less than a year before.
- :func:`stock_cover`: days of stock on hand against the daily plan, and an order plan by
  month that brings the cover into a band (DOMAIN example I; 3-5 days at a store).
- :func:`out_of_band_first`: the order readers see the store-products in (most urgent first).

Pure: DataFrames and plain values in, DataFrames out.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.domain.targets.phasing import _check_periods
from salesmodel.domain.targets.rounding import _as_list
from salesmodel.errors import InputError, short_list

__all__ = ["achievement_rate", "declining_customers", "out_of_band_first", "pacing", "period_report", "stock_cover"]


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
        raise param_error("carried_over", "achievement_rate", "a number >= 0", carried_over)
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
    baseline: str | None = None,
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
        ``phased_share_to_date``, ``projection`` (with ``baseline``, a column of ``plan``
        holding each row's baseline amount: actual to date + the baseline of the time
        left; without it, actual to date / phased share, the year at the pace so far,
        which makes ``projected_achievement`` equal ``achievement``), ``baseline_rest``
        (the baseline of the time left, with ``baseline``), ``run_rate_projection`` (the
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
        raise param_error("as_of", func, f"on or after the plan's first day {plan_start.date()}", str(as_of.date()))
    frac = _elapsed_fraction(p["start"], p["end"], as_of)
    p["_to_date"] = p[target].to_numpy(dtype=float) * frac
    if baseline is not None:
        if baseline not in p.columns:
            raise InputError(f"{func}: the plan table has no baseline column '{baseline}'.")
        p["_base_rest"] = p[baseline].to_numpy(dtype=float) * (1.0 - frac)
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
            agg = {"target_full": (target, "sum"), "target_to_date": ("_to_date", "sum")}
            if baseline is not None:
                agg["baseline_rest"] = ("_base_rest", "sum")
            gp = p.groupby(cols, sort=True, observed=True).agg(**agg)
            ga = a.groupby(cols, sort=True, observed=True)[amount].sum().rename("actual_to_date")
            merged = gp.join(ga, how="outer").reset_index()
        else:
            merged = pd.DataFrame({"target_full": [p[target].sum()], "target_to_date": [p["_to_date"].sum()],
                                   "actual_to_date": [a[amount].sum()]})
            if baseline is not None:
                merged["baseline_rest"] = p["_base_rest"].sum()
        merged = merged.fillna({"target_full": 0.0, "target_to_date": 0.0, "actual_to_date": 0.0, "baseline_rest": 0.0})
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
        if baseline is not None:
            out["projection"] = ad + out["baseline_rest"].to_numpy(dtype=float)
        else:
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


# ---------------------------------------------------------------------------
# Stock: days of cover and an order plan
# ---------------------------------------------------------------------------
def _daily_plan(plan: pd.DataFrame, keys: list[str], target: str) -> pd.DataFrame:
    """The plan spread evenly over the days of each of its rows: keys, day, amount."""
    p = plan.groupby([*keys, "start", "end"], sort=False, observed=True)[target].sum().reset_index()
    start, end = pd.to_datetime(p["start"]), pd.to_datetime(p["end"])
    ndays = ((end - start).dt.days + 1).to_numpy()
    rep = np.repeat(np.arange(len(p)), ndays)
    offs = np.arange(rep.size) - np.repeat(np.cumsum(ndays) - ndays, ndays)
    out = pd.DataFrame({k: p[k].to_numpy()[rep] for k in keys})
    out["day"] = start.to_numpy()[rep] + offs.astype("timedelta64[D]")
    out["amount"] = (p[target].to_numpy(dtype=float) / ndays)[rep]
    return out


def stock_cover(
    stock: pd.DataFrame,
    plan: pd.DataFrame,
    sales: pd.DataFrame,
    *,
    floor_days: float = 3.0,
    ceiling_days: float = 5.0,
    months: int = 3,
    key: str = "customer_id",
    target: str = "target",
    company: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Days of cover of the stock on hand against the daily plan, and an order plan by month.

    ``stock`` holds counts (``date`` at the end of the day, ``key``, ``product``, ``units``); the
    latest count of each store and product is used. ``plan`` is each store's phased plan in money
    (``key``, ``start``, ``end``, ``target``, any grain). ``sales`` is the history (``date``,
    ``key``, ``product``, ``amount``, ``units``): all of it, or only the stores' lines when
    ``company`` gives the company's sales by day and product (``date``, ``product``, ``amount``,
    ``units``; default: ``sales`` summed).

    For the ``months`` calendar months after a count (the first from the day after it), a store's
    plan is split to products by its sales mix in the same month a year earlier (DOMAIN example I),
    else its last twelve months' mix, else the company's mix that month; money becomes units at the
    store's own price of the product over the last twelve months (else the company's). The cover is
    the units on hand over the first month's daily units; ``status`` is ``below`` the floor,
    ``above`` the ceiling, ``in_band``, or ``no_plan`` (nothing of the product planned at the store).
    Each month's order brings the closing stock to the middle of
    the band, in days of the next month's rate: ``order = max(0, ceil(plan units + wanted closing -
    opening))``.

    Returns ``(cover, orders)``: one row per store and product (``date``, ``on_hand``,
    ``plan_units``, ``daily_units``, ``days_of_cover``, ``status``, ``price``), and one row per store,
    product and month (``period``, ``start``, ``end``, ``plan_amount``, ``mix_share``, ``plan_units``,
    ``opening_units``, ``order_units``, ``closing_units``, ``closing_days``).

    Examples
    --------
    >>> stock = pd.DataFrame({"date": pd.to_datetime(["2027-10-31"]), "customer_id": ["s"],
    ...                       "product": ["A"], "units": [10]})
    >>> plan = pd.DataFrame({"customer_id": ["s"], "start": pd.to_datetime(["2027-11-01"]),
    ...                      "end": pd.to_datetime(["2027-11-30"]), "target": [60_000.0]})
    >>> sales = pd.DataFrame({"date": pd.to_datetime(["2026-11-10"]), "customer_id": ["s"],
    ...                       "product": ["A"], "amount": [2_000.0], "units": [1]})
    >>> cover, orders = stock_cover(stock, plan, sales, months=1)
    >>> cover[["plan_units", "days_of_cover", "status"]].values.tolist()   # 30 units a month: 1 a day
    [[30.0, 10.0, 'above']]
    >>> orders[["plan_units", "order_units", "closing_units"]].values.tolist()  # close at 4 days
    [[30.0, 24.0, 4.0]]
    """
    func = "stock_cover"
    if not (isinstance(floor_days, (int, float)) and isinstance(ceiling_days, (int, float))
            and 0 <= floor_days <= ceiling_days):
        raise param_error("floor_days", func, "a number of days >= 0, at most ceiling_days", floor_days)
    if not (isinstance(months, int) and 1 <= months <= 24):
        raise param_error("months", func, "a whole number of months from 1 to 24", months)
    if company is None:
        company = sales[["date", "product", "amount", "units"]]
    for name, frame, need in (("stock", stock, ["date", key, "product", "units"]),
                              ("plan", plan, [key, "start", "end", target]),
                              ("sales", sales, ["date", key, "product", "amount", "units"]),
                              ("company", company, ["date", "product", "amount", "units"])):
        missing = [c for c in need if c not in frame.columns]
        if missing:
            raise InputError(f"{func}: the {name} table has no column {short_list(missing)}.")
    counts = stock.assign(date=pd.to_datetime(stock["date"])).sort_values("date", kind="stable")
    counts = counts.groupby([key, "product"], as_index=False, sort=True).last()
    if counts.empty:
        raise InputError(f"{func}: no stock counts to check.")
    stores = counts.groupby(key, sort=True)["date"].max().rename("count_day").reset_index()
    products = sorted(set(company["product"]) | set(counts["product"]))
    # The months after each store's count: the first from the day after it, the others whole.
    first = stores["count_day"] + pd.Timedelta(days=1)
    wins = stores.loc[stores.index.repeat(months)].reset_index(drop=True)
    wins["i"] = np.tile(np.arange(months), len(stores))
    month = first.dt.to_period("M").repeat(months).reset_index(drop=True) + wins["i"].to_numpy()
    wins["start"] = np.where(wins["i"] == 0, (wins["count_day"] + pd.Timedelta(days=1)).to_numpy(),
                             month.dt.start_time.to_numpy())
    wins["end"] = month.dt.end_time.dt.normalize().to_numpy()
    wins["period"] = month.astype(str).to_numpy()
    wins["days"] = (wins["end"] - wins["start"]).dt.days + 1
    wins["last_year"], wins["month"] = wins["start"].dt.year - 1, wins["start"].dt.month
    # The plan of each window, from the plan spread over its days.
    daily = _daily_plan(plan[plan[key].isin(set(stores[key]))], [key], target).merge(stores, on=key)
    daily = daily[daily["day"] > daily["count_day"]]
    after = daily["count_day"] + pd.Timedelta(days=1)
    daily["i"] = (daily["day"].dt.year - after.dt.year) * 12 + daily["day"].dt.month - after.dt.month
    amount = daily[daily["i"] < months].groupby([key, "i"])["amount"].sum().rename("amount")
    wins = wins.merge(amount, on=[key, "i"], how="left").fillna({"amount": 0.0})
    # The product mix of each window: the store's same month a year earlier, else its last twelve
    # months, else the company's same month a year earlier, else even.
    # the history is millions of lines: only the stores' own are taken out of it
    own = sales[key].isin(set(stores[key])).to_numpy()
    dates = pd.to_datetime(sales.loc[own, "date"])
    own_sales = (sales.loc[own, [key, "product", "amount", "units"]]
                 .assign(date=dates, year=dates.dt.year, month=dates.dt.month).merge(stores, on=key))
    own_month = own_sales.groupby([key, "year", "month", "product"])["amount"].sum()
    recent = own_sales[(own_sales["date"] > own_sales["count_day"] - pd.Timedelta(days=365))
                       & (own_sales["date"] <= own_sales["count_day"])]
    own_year = recent.groupby([key, "product"])[["amount", "units"]].sum()
    company_days = pd.to_datetime(company["date"])
    company_month = company["amount"].groupby([company_days.dt.year.rename("year"), company_days.dt.month.rename("month"),
                                               company["product"]]).sum()
    grid = wins.loc[wins.index.repeat(len(products)), [key, "i", "last_year", "month", "count_day"]].reset_index(drop=True)
    grid["product"] = np.tile(products, len(wins))
    sources = [
        own_month.reindex(pd.MultiIndex.from_frame(grid[[key, "last_year", "month", "product"]])).to_numpy(),
        own_year["amount"].reindex(pd.MultiIndex.from_frame(grid[[key, "product"]])).to_numpy(),
        company_month.reindex(pd.MultiIndex.from_frame(grid[["last_year", "month", "product"]])).to_numpy(),
        np.ones(len(grid)),
    ]
    window = grid.groupby([key, "i"], sort=False).ngroup().to_numpy()
    mix = np.full(len(grid), np.nan)
    for values in sources:
        values = np.nan_to_num(values.astype(float))
        total = np.bincount(window, weights=values)[window]
        take = np.isnan(mix) & (total > 0)
        mix[take] = values[take] / total[take]
    grid["mix_share"] = mix
    # Each store's price of a unit over the twelve months before its count, else the company's.
    price = (own_year["amount"] / own_year["units"].where(own_year["units"] > 0)).rename("price")
    company_price = []
    for day in stores["count_day"].unique():
        window_sales = company.loc[((company_days > day - pd.Timedelta(days=365)) & (company_days <= day)).to_numpy(),
                                   ["product", "amount", "units"]]
        by = window_sales.groupby("product")[["amount", "units"]].sum()
        company_price.append((by["amount"] / by["units"].where(by["units"] > 0)).rename("company_price").to_frame()
                             .assign(count_day=day).reset_index())
    company_price = pd.concat(company_price, ignore_index=True)
    rows = counts[[key, "product", "date", "units"]].rename(columns={"units": "on_hand"})
    rows = rows.merge(wins[[key, "i", "period", "start", "end", "days", "amount"]], on=key)
    rows = rows.merge(grid[[key, "i", "product", "mix_share", "count_day"]], on=[key, "i", "product"], how="left")
    rows = rows.merge(price.reset_index(), on=[key, "product"], how="left")
    rows = rows.merge(company_price, on=["count_day", "product"], how="left")
    rows["price"] = rows["price"].fillna(rows["company_price"])
    rows["plan_amount"] = rows["amount"] * rows["mix_share"]
    rows["plan_units"] = np.where(rows["price"] > 0, rows["plan_amount"] / rows["price"].where(rows["price"] > 0), np.nan)
    rows["daily_units"] = rows["plan_units"] / rows["days"]
    rows = rows.sort_values([key, "product", "i"]).reset_index(drop=True)
    # The order plan, month by month for every store-product at once.
    middle = (floor_days + ceiling_days) / 2.0
    need = rows["plan_units"].to_numpy(dtype=float).reshape(-1, months)
    rate = rows["daily_units"].to_numpy(dtype=float).reshape(-1, months)
    next_rate = np.concatenate([rate[:, 1:], rate[:, -1:]], axis=1)
    opening = np.zeros_like(need)
    order = np.zeros_like(need)
    closing = np.zeros_like(need)
    stock_now = rows["on_hand"].to_numpy(dtype=float).reshape(-1, months)[:, 0]
    for i in range(months):
        opening[:, i] = stock_now
        with np.errstate(invalid="ignore"):
            order[:, i] = np.maximum(0.0, np.ceil(need[:, i] + middle * next_rate[:, i] - stock_now - 1e-9))
        closing[:, i] = stock_now + order[:, i] - need[:, i]
        stock_now = closing[:, i]
    rows["opening_units"], rows["order_units"], rows["closing_units"] = opening.ravel(), order.ravel(), closing.ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        rows["closing_days"] = np.where(next_rate.ravel() > 0, closing.ravel() / np.where(next_rate.ravel() > 0,
                                                                                           next_rate.ravel(), 1.0), np.nan)
    cover = rows[rows["i"] == 0][[key, "product", "date", "on_hand", "plan_units", "daily_units", "price"]].copy()
    planned = (cover["daily_units"] > 0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        cover["days_of_cover"] = np.where(planned, cover["on_hand"] / cover["daily_units"].where(planned, 1.0), np.nan)
    cover["status"] = np.select([~planned, cover["days_of_cover"] < floor_days - 1e-9,
                                 cover["days_of_cover"] > ceiling_days + 1e-9], ["no_plan", "below", "above"], "in_band")
    cover["on_hand"] = cover["on_hand"].astype(float)
    orders = rows[[key, "product", "period", "start", "end", "plan_amount", "mix_share", "plan_units",
                   "opening_units", "order_units", "closing_units", "closing_days"]]
    return cover.reset_index(drop=True), orders.reset_index(drop=True)


def out_of_band_first(cover: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`stock_cover` table in the order readers act on them.

    Below the floor first, the ones selling the most units a day first (they run out
    fastest); then above the ceiling, the most days of cover first; then the rest, by
    store and product. The rows are kept as they are, only reordered.

    >>> cover = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "product": "A",
    ...                       "daily_units": [1.0, 2.0, 1.0, 3.0], "days_of_cover": [2.0, 1.0, 9.0, 4.0],
    ...                       "status": ["below", "below", "above", "in_band"]})
    >>> out_of_band_first(cover)["customer_id"].tolist()
    ['b', 'a', 'c', 'd']
    """
    out_of_band = cover["status"].map({"below": 0, "above": 1}).fillna(2)
    urgency = (-cover["daily_units"].astype(float)).where(cover["status"] == "below",
                                                            -cover["days_of_cover"].astype(float))
    order = cover.assign(_out=out_of_band, _urgency=urgency)
    order = order.sort_values(["_out", "_urgency", "customer_id", "product"], kind="stable")
    return order.drop(columns=["_out", "_urgency"])


def pacing_by_mix(customer_pace: pd.DataFrame, mix: pd.DataFrame, actuals: pd.DataFrame, *,
                  dimensions: Sequence[str] = ("product", "channel"), amount: str = "amount") -> pd.DataFrame:
    """Achievement to date by product and by channel.

    ``customer_pace`` is pacing's customer rows (``customer_id``, ``target_to_date``); ``mix``
    the customers' targets by product and channel (``targets_customer_mix``); ``actuals`` the
    sales to date with the ``dimensions`` columns. Each customer's target to date is shared
    by its own mix (its product x channel targets over its year), so the products' (and the
    channels') targets to date add up to the company's. Returns ``dimension``, ``key``,
    ``target_full``, ``target_to_date``, ``actual_to_date``, ``achievement``.
    """
    m = mix.copy()
    year = m.groupby("customer_id")["target"].transform("sum")
    share = np.where(year > 0, m["target"] / year.where(year > 0, 1.0), 0.0)
    to_date = customer_pace.set_index(customer_pace["customer_id"].astype(str))["target_to_date"]
    m["_to_date"] = m["customer_id"].astype(str).map(to_date).fillna(0.0).to_numpy() * share
    rows = []
    for dim in dimensions:
        if dim not in m.columns:
            continue
        plan = m.groupby(dim, observed=True).agg(target_full=("target", "sum"), target_to_date=("_to_date", "sum"))
        actual = (actuals.groupby(dim, observed=True)[amount].sum() if dim in actuals.columns
                  else pd.Series(dtype=float))
        part = plan.join(actual.rename("actual_to_date"), how="outer").fillna(0.0).reset_index()
        part = part.rename(columns={dim: "key"})
        part.insert(0, "dimension", dim)
        rows.append(part)
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["dimension", "key", "target_full", "target_to_date", "actual_to_date"])
    out["key"] = out["key"].astype(str)
    td = out["target_to_date"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["achievement"] = np.where(td > 0, out["actual_to_date"].to_numpy(dtype=float) / np.where(td > 0, td, 1.0), np.nan)
    return out[["dimension", "key", "target_full", "target_to_date", "actual_to_date", "achievement"]]
