"""The demo company's daily sales history (block by block, so memory stays bounded), the plan year's
sales to date and a stock count (see :mod:`salesmodel.sample`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from salesmodel.sample._seasons import _calendar_multipliers, _promo_days
from salesmodel.sample._world import (
    _CHANNEL_GROWTH,
    _LIST_PRICE,
    _PARTNER_DISCOUNT,
    _PRICE_RISE,
    _PRODUCT_GROWTH,
    _PRODUCT_SEASON,
    _PROMO_DISCOUNT,
    _TYPE_DISCOUNT,
    CHANNELS,
    PRODUCTS,
)


def _plan_year_sales(seed: int, customers: pd.DataFrame, drivers: dict, start_ts: pd.Timestamp,
                     end_ts: pd.Timestamp, actuals_ts: pd.Timestamp) -> pd.DataFrame:
    """The plan year's sales to ``actuals_ts``: the history's customers carry on (the churned stay gone),
    drawn from the whole span with a random stream of their own, and cut to the plan year."""
    span = int((actuals_ts - start_ts).days) + 1
    carry = dict(drivers)
    gone = drivers["churn"]
    carry["churn_day"] = np.where(gone, drivers["churn_day"], span + 1)
    carry["decline_from"] = np.where(drivers["decline_from"] >= int((end_ts - start_ts).days) + 1, span + 1,
                                     drivers["decline_from"])
    blocks = _sales_blocks(np.random.default_rng([seed, 2027]), customers, carry, start_ts, actuals_ts)
    first = pd.Timestamp(year=end_ts.year + 1, month=1, day=1)
    # Only the plan year's lines are built (the history's part of the draws is skipped, not held).
    chunks = _sales_chunks(blocks, customers, start_ts, None, from_day=int((first - start_ts).days))
    return pd.concat(list(chunks), ignore_index=True)


def _stock_snapshot(seed: int, actuals: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Units on hand at the end of ``day`` at every eighth store with recent sales: 1 to 8 days of them."""
    recent = actuals[actuals["date"] > day - pd.Timedelta(days=30)]
    per_day = recent.groupby(["customer_id", "product"], sort=True)["units"].sum() / 30.0
    stores = sorted(per_day.index.get_level_values(0).unique())[::8]
    per_day = per_day[per_day.index.get_level_values(0).isin(stores)]
    days = np.random.default_rng([seed, 2028]).uniform(1.0, 8.0, len(per_day))
    units = np.maximum(0, np.round(per_day.to_numpy() * days)).astype(np.int64)
    out = per_day.reset_index()[["customer_id", "product"]]
    out.insert(0, "date", day)
    out["units"] = units
    return out


# Customers simulated at a time: bounds memory; fixed, so results do not depend on the machine.
_BLOCK = 512


def _make_sales(rng, customers, drivers, start_ts, end_ts) -> pd.DataFrame:
    """Daily order lines: one row per date x customer x product x channel."""
    blocks = _sales_blocks(rng, customers, drivers, start_ts, end_ts)
    return pd.concat(list(_sales_chunks(blocks, customers, start_ts, None)), ignore_index=True)


def _sales_blocks(rng, customers, drivers, start_ts, end_ts) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The order lines block of customers by block: (key, units, cents), each block sorted by key."""
    n = len(customers)
    days = np.arange(np.datetime64(start_ts.date(), "D"), np.datetime64(end_ts.date(), "D") + 1)
    ts = pd.DatetimeIndex(days)
    month0 = ts.month.to_numpy() - 1
    year_idx = (ts.year - ts.year.min()).to_numpy()
    cal = {
        "n_days": len(days),
        "month0": month0,
        "year_idx": year_idx,
        "month_idx": year_idx * 12 + month0,
        "t_years": (np.arange(len(days)) / 365.25).astype(np.float32),
        "chan_mult": _calendar_multipliers(days).astype(np.float32),  # (3, D)
        "season_all": (np.array([0.4, 0.4, 0.2]) @ _PRODUCT_SEASON).astype(np.float32)[
            month0
        ],  # (D,)
        "promo": _promo_days(days),
    }
    return [
        _sales_block(rng, drivers, np.arange(lo, min(lo + _BLOCK, n)), cal)
        for lo in range(0, n, _BLOCK)
    ]


def _sales_chunks(blocks, customers, start_ts, chunk_days: int | None, from_day: int = 0):
    """The order lines as frames of ``chunk_days`` days each (None: one frame), sorted by the key
    (date, customer, product, channel); the key is date-major, so each block holds each chunk's
    lines as one slice and the chunks together are the whole sorted table."""
    n = len(customers)
    ids = customers["customer_id"].to_numpy(dtype=object)
    last = max((int(b[0][-1]) // (9 * n) for b in blocks if len(b[0])), default=0)
    step = chunk_days or max(last + 1 - from_day, 1)
    for lo in range(from_day, max(last + 1, from_day + 1), step):
        bounds = [(np.searchsorted(b[0], lo * 9 * n), np.searchsorted(b[0], (lo + step) * 9 * n)) for b in blocks]
        key, units, cents = (np.concatenate([b[i][a:z] for b, (a, z) in zip(blocks, bounds)]) for i in range(3))
        order = np.argsort(key, kind="stable")
        key = key[order]
        # Decode the key (date, customer, product, channel) into small integer columns.
        chan = (key % 3).astype(np.int8)
        key //= 3
        prod = (key % 3).astype(np.int8)
        key //= 3
        cust = (key % n).astype(np.int32)
        day = (key // n).astype(np.int32)
        del key
        yield pd.DataFrame(
            {
                "date": (np.datetime64(start_ts.date(), "D") + day).astype("datetime64[ns]"),
                "customer_id": ids[cust],
                "product": np.array(PRODUCTS, dtype=object)[prod],
                "channel": np.array(CHANNELS, dtype=object)[chan],
                "amount": cents[order] / 100.0,
                "units": units[order].astype(np.int64),
            }
        )


def _sales_block(rng, drivers, rows, cal) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order lines of the customers ``rows``: (key, units, cents), one entry per key."""
    d = {k: v[rows] for k, v in drivers.items()}
    n_days, chan_mult, t_years = cal["n_days"], cal["chan_mult"], cal["t_years"]

    # Order rate per customer and day (rows x days, float32 to keep memory small).
    day = np.arange(n_days)[None, :]
    rate = (d["orders_per_month"] * 12 / 365.25).astype(np.float32)[:, None] * cal["season_all"][
        None, :
    ]
    rate *= np.exp(np.outer(d["growth"].astype(np.float32), t_years))
    rate *= d["channel_w"].astype(np.float32) @ chan_mult
    since_decline = np.clip(day - d["decline_from"][:, None], 0, None).astype(
        np.float32
    ) / np.float32(365.25)
    rate *= np.exp(d["decline_rate"].astype(np.float32)[:, None] * since_decline)
    # New customers ramp up over two months; churning ones fade over five months before leaving.
    ramp_up = np.clip(0.4 + 0.6 * (day - d["start_day"][:, None]) / 60.0, 0, 1).astype(np.float32)
    ramp_up[~d["new"]] = 1.0
    fade = np.clip(0.35 + 0.65 * (d["churn_day"][:, None] - day) / 150.0, 0.35, 1).astype(
        np.float32
    )
    fade[~d["churn"]] = 1.0
    active = (day >= d["start_day"][:, None]) & (day < d["churn_day"][:, None])
    rate *= np.where(active, ramp_up * fade, np.float32(0))
    n_months = int(cal["month_idx"].max()) + 1
    month_noise = np.exp(rng.normal(-0.016, 0.18, (len(rows), n_months))).astype(np.float32)
    rate *= month_noise[:, cal["month_idx"]]

    counts = rng.poisson(rate)
    # New customers place their first order on their first day.
    new = np.flatnonzero(d["new"])
    counts[new, d["start_day"][new]] = np.maximum(counts[new, d["start_day"][new]], 1)
    flat = np.flatnonzero(counts)
    flat = np.repeat(flat, counts.ravel()[flat])
    cust, dayi = np.divmod(flat, n_days)

    # Channel of each order: the customer's channels, weighted by the day's channel rates.
    p_chan = d["channel_w"][cust] * chan_mult.T[dayi]
    p_chan /= p_chan.sum(axis=1, keepdims=True)
    chan = (rng.random(len(cust))[:, None] > np.cumsum(p_chan, axis=1)[:, :2]).sum(axis=1)

    # Products in each order: the customer's usual lines, at least one.
    mix = d["mix"]
    include_p = np.clip(0.25 + 1.1 * mix, 0.1, 0.95)
    lines = rng.random((len(cust), 3)) < include_p[cust]
    none = np.flatnonzero(~lines.any(axis=1))
    fallback = (rng.random(len(none))[:, None] > np.cumsum(mix[cust[none]], axis=1)[:, :2]).sum(
        axis=1
    )
    lines[none, fallback] = True
    order_i, prod = np.nonzero(lines)
    cust, dayi, chan = cust[order_i], dayi[order_i], chan[order_i]

    # Order size: the customer's yearly value of the product spread over its orders,
    # with product seasonality and growth by product and channel.
    month0 = cal["month0"][dayi]
    line_value = (
        d["scale"][cust]
        * mix[cust, prod]
        / (d["orders_per_month"][cust] * 12 * include_p[cust, prod])
    )
    line_value *= _PRODUCT_SEASON[prod, month0] / cal["season_all"][dayi]
    line_value *= np.exp((_PRODUCT_GROWTH[prod] + _CHANNEL_GROWTH[chan]) * t_years[dayi])
    price = _LIST_PRICE[prod] * (1 + _PRICE_RISE[prod]) ** cal["year_idx"][dayi]
    price *= (1 - _TYPE_DISCOUNT[d["ctype"][cust]]) * np.where(
        chan == 2, 1 - _PARTNER_DISCOUNT, 1.0
    )
    price *= np.where((chan == 0) & cal["promo"][dayi], 1 - _PROMO_DISCOUNT, 1.0)
    price_cents = np.round(price * 100).astype(np.int64)
    units = np.maximum(
        1, np.round(line_value / price * rng.lognormal(-0.06, 0.35, len(cust)))
    ).astype(np.int64)

    # Two orders of a customer on one day for the same product and channel are one line.
    n_total = len(drivers["ctype"])
    key = ((dayi.astype(np.int64) * n_total + rows[cust]) * 3 + prod) * 3 + chan
    uniq, inverse = np.unique(key, return_inverse=True)
    units_sum = np.bincount(inverse, weights=units, minlength=len(uniq)).astype(np.int64)
    cents_sum = np.bincount(inverse, weights=units * price_cents, minlength=len(uniq)).astype(
        np.int64
    )
    return uniq, units_sum.astype(np.int32), cents_sum  # units held as int32 until written (20 bytes a line)
