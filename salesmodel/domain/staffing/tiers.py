"""Tiers: VIP / first / second / other customers by last year's sales (share of
revenue, ABC style, or rank).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.staffing._checks import _bad, _check_rate, _require_columns
from salesmodel.errors import InputError, short_list

__all__ = ["TIERS", "TierScheme", "tier_customers"]


# ---------------------------------------------------------------------------
# tier_customers
# ---------------------------------------------------------------------------

TIERS = ("VIP", "first", "second", "other")


@dataclass(frozen=True)
class TierScheme:
    """How customers are tiered by sales.

    ``method="share"`` (ABC): walking down customers by sales, a customer is in
    the first tier whose cumulative revenue share *before* it is below the
    tier's cumulative bound; so with ``cuts={"VIP": 0.5, "first": 0.3,
    "second": 0.15}`` the VIP tier holds the customers making the top 50% of
    revenue (the one crossing 50% included), first the next 30%, second the
    next 15%, and the rest (and customers without sales) are "other".
    ``method="rank"``: the cuts are shares of the number of customers
    (0.05 = the top 5% by sales).
    """

    method: str = "share"
    cuts: Mapping[str, float] = field(default_factory=lambda: {"VIP": 0.5, "first": 0.3, "second": 0.15})

    def __post_init__(self) -> None:
        func = "tier_customers"
        if self.method not in ("share", "rank"):
            raise _bad("scheme.method", func, "'share' or 'rank'", self.method)
        if not isinstance(self.cuts, Mapping) or not self.cuts:
            raise _bad("scheme.cuts", func, "a mapping of tier name to share", self.cuts)
        for name, v in self.cuts.items():
            _check_rate(v, f"scheme.cuts[{name!r}]", func)
        if sum(self.cuts.values()) > 1 + 1e-9:
            raise _bad("scheme.cuts", func, "shares that add up to at most 1", dict(self.cuts))


def tier_customers(
    sales: pd.DataFrame,
    *,
    by: str | int = "last_year",
    scheme: TierScheme | Mapping[str, Any] | None = None,
    customers: Sequence[str] | pd.Series | None = None,
    rest: str = "other",
    date_col: str = "date",
    customer_col: str = "customer_id",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """VIP / first / second / other tiers by last year's sales.

    Parameters
    ----------
    sales : DataFrame
        Order lines with ``date``, ``customer_id``, ``amount``.
    by : {"last_year", "last_12_months", "all"} or int, default="last_year"
        Which sales count: the last complete calendar year in the data (the
        latest year if none is complete), the 12 months up to the last date,
        everything, or a given calendar year.
    scheme : TierScheme or mapping, default=TierScheme()
        ``{"method": "share" | "rank", "cuts": {"VIP": 0.5, ...}}``.
    customers : list of ids, optional
        Every customer to tier; those without sales in the window are ``rest``.

    Returns
    -------
    DataFrame
        ``customer_id, sales, share, cumulative_share, rank, tier``, sorted by
        sales descending then customer id (ties are broken by id, so the
        result is deterministic).

    Examples
    --------
    >>> s = pd.DataFrame({"date": pd.to_datetime(["2026-01-05"] * 4), "customer_id": list("abcd"),
    ...                   "amount": [60.0, 25.0, 10.0, 5.0]})
    >>> tier_customers(s, by="all")["tier"].tolist()
    ['VIP', 'first', 'second', 'other']
    """
    func = "tier_customers"
    _require_columns(sales, [date_col, customer_col, amount_col], "the sales table", func)
    if scheme is None:
        scheme = TierScheme()
    elif isinstance(scheme, Mapping):
        scheme = TierScheme(**scheme)
    dates = pd.to_datetime(sales[date_col])
    if isinstance(by, (int, np.integer)) and not isinstance(by, bool):
        mask = dates.dt.year == int(by)
    elif by == "all":
        mask = pd.Series(True, index=sales.index)
    elif by == "last_12_months":
        last = dates.max()
        mask = dates > last - pd.DateOffset(months=12)
    elif by == "last_year":
        last = dates.max()
        year = last.year if (last.month == 12 and last.day == 31) else last.year - 1
        if not (dates.dt.year == year).any():
            year = last.year
        mask = dates.dt.year == year
    else:
        raise _bad("by", func, "'last_year', 'last_12_months', 'all' or a year", by)
    amounts = pd.to_numeric(sales.loc[mask, amount_col], errors="coerce")
    if amounts.isna().any() or (amounts < 0).any():
        rows = amounts.index[amounts.isna() | (amounts < 0)]
        raise InputError(f"the sales table passed to {func}: column '{amount_col}' must hold numbers >= 0; rows {short_list(list(rows))}.")
    totals = amounts.groupby(sales.loc[mask, customer_col]).sum()
    if customers is not None:
        totals = totals.reindex(pd.Index(pd.unique(np.asarray(customers)), name=customer_col).union(totals.index), fill_value=0.0)
    df = totals.rename("sales").rename_axis(customer_col).reset_index()
    df = df.sort_values(["sales", customer_col], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    grand = df["sales"].sum()
    df["share"] = df["sales"] / grand if grand > 0 else 0.0
    before = df["share"].cumsum() - df["share"]
    df["cumulative_share"] = df["share"].cumsum()
    df["rank"] = np.arange(1, len(df) + 1)
    tier = np.full(len(df), rest, dtype=object)
    assigned = np.zeros(len(df), dtype=bool)
    bound = 0.0
    position = (df["rank"].to_numpy() - 1) / max(len(df), 1)
    for name, cut in scheme.cuts.items():
        bound += cut
        if scheme.method == "share":
            hit = (before.to_numpy() < bound - 1e-12) & (df["sales"].to_numpy() > 0)
        else:
            hit = (position < bound - 1e-12) & (df["sales"].to_numpy() > 0)
        take = hit & ~assigned
        tier[take] = name
        assigned |= take
    df["tier"] = tier
    return df
