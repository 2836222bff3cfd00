"""The history at a glance: totals by year and dimension, same period last year,
the monthly pattern. Pure aggregation over the validated input tables.

>>> geo = attach_geography(sales, customers, provinces)      # doctest: +SKIP
>>> totals_by(geo, "region_id")                              # doctest: +SKIP
   year region_id       amount   units  orders  customers
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.errors import InputError, short_list

__all__ = [
    "attach_geography",
    "monthly_pattern",
    "names_fall_back",
    "sales_by_month_region",
    "same_period_last_year",
    "same_period_table",
    "totals_by",
    "unit_names",
]

_MEASURES = ["amount", "units"]


def _keys(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{what}: missing column(s) {short_list(missing)}; have {short_list(list(df.columns))}")


def attach_geography(sales: pd.DataFrame, customers: pd.DataFrame, provinces: pd.DataFrame) -> pd.DataFrame:
    """Sales lines with each customer's ``province_id`` and ``region_id`` added.

    Raises InputError naming the customers of sales lines that are not in
    ``customers`` (the inputs are validated, so this is a safety net).
    """
    _require(sales, ["date", "customer_id", "amount", "units"], "sales")
    _require(customers, ["customer_id", "province_id"], "customers")
    _require(provinces, ["province_id", "region_id"], "provinces")
    province_of = customers.set_index("customer_id")["province_id"]
    region_of = provinces.set_index("province_id")["region_id"]
    province = sales["customer_id"].map(province_of).rename("province_id")
    unknown = sales.loc[province.isna(), "customer_id"].unique()
    if len(unknown):
        raise InputError(f"sales: customer_id not found in customers: {short_list(list(unknown))}")
    region = province.map(region_of).rename("region_id")
    # The order lines' columns are shared, not copied (millions of lines); the two new ones are added.
    kept = sales.drop(columns=["province_id", "region_id"]) if {"province_id", "region_id"} & set(sales.columns) else sales
    return pd.concat([kept, province, region], axis=1, copy=False)


def totals_by(sales: pd.DataFrame, by: str | Sequence[str] | None = None, *, period: str = "year") -> pd.DataFrame:
    """Amount, units, order lines and active customers per ``period`` and ``by``.

    Parameters
    ----------
    sales : DataFrame
        Sales lines (``date``, ``customer_id``, ``amount``, ``units`` and the ``by`` columns), or
        the lines summed by month with a ``lines`` column (counted as that many order lines).
    by : str or list of str, optional
        Dimension columns, e.g. ``"region_id"`` or ``["product", "channel"]``.
    period : {"year", "month"}, default="year"
        ``year`` gives an int ``year`` column; ``month`` a ``month`` column
        holding each month's first day.

    Examples
    --------
    >>> totals_by(sales, "product")  # doctest: +SKIP
       year product      amount  units  orders  customers
    0  2023       A  1234567.89   4567    8901        230
    """
    keys = _keys(by)
    _require(sales, ["date", "customer_id", *_MEASURES, *keys], "sales")
    if period == "year":
        time_key = sales["date"].dt.year.rename("year")
    elif period == "month":
        time_key = sales["date"].dt.to_period("M").dt.start_time.rename("month")
    else:
        raise param_error("period", "totals_by", "'year' or 'month'", period)
    group = [time_key, *[sales[k] for k in keys]]
    grouped = sales.groupby(group, sort=True, observed=True)
    out = grouped[_MEASURES].sum()
    # rows already summed from order lines (a ``lines`` column) count as the lines they hold
    out["orders"] = grouped["lines"].sum() if "lines" in sales.columns else grouped.size()
    out["customers"] = grouped["customer_id"].nunique()
    out = out.reset_index()
    out["amount"] = out["amount"].round(2)
    return out


def same_period_last_year(
    sales: pd.DataFrame, by: str | Sequence[str] | None = None, *, as_of: date | str | None = None
) -> pd.DataFrame:
    """Year to date against the same dates last year (去年同期), per ``by``.

    This year's period runs from 1 January to ``as_of`` (default: the last
    date with sales); last year's from 1 January to the same day a year
    earlier (29 February becomes 28 February).

    Returns one row per key with ``period_start``, ``period_end``,
    ``last_start``, ``last_end``, ``amount``, ``amount_last_year``,
    ``growth`` (NaN where last year had no sales) and the same for units.

    Examples
    --------
    >>> same_period_last_year(sales, "region_id", as_of="2026-10-31")  # doctest: +SKIP
    """
    keys = _keys(by)
    _require(sales, ["date", *_MEASURES, *keys], "sales")
    if len(sales) == 0:
        raise InputError("sales: no rows, so there is no period to compare")
    end = pd.Timestamp(as_of) if as_of is not None else sales["date"].max().normalize()
    start = pd.Timestamp(year=end.year, month=1, day=1)
    last_end = end - pd.DateOffset(years=1)
    last_start = start - pd.DateOffset(years=1)
    this = sales[(sales["date"] >= start) & (sales["date"] <= end)]
    last = sales[(sales["date"] >= last_start) & (sales["date"] <= last_end)]

    def agg(frame: pd.DataFrame) -> pd.DataFrame:
        if keys:
            return frame.groupby(keys, observed=True)[_MEASURES].sum()
        return pd.DataFrame([frame[_MEASURES].sum()], index=pd.Index(["total"], name="scope"))

    a, b = agg(this), agg(last)
    out = a.join(b, how="outer", rsuffix="_last_year").fillna(0.0)
    for m in _MEASURES:
        base = out[f"{m}_last_year"]
        out[f"{m}_growth"] = np.where(base > 0, out[m] / base.where(base > 0, 1) - 1, np.nan)
    out["units"] = out["units"].astype("int64")
    out["units_last_year"] = out["units_last_year"].astype("int64")
    out["amount"] = out["amount"].round(2)
    out["amount_last_year"] = out["amount_last_year"].round(2)
    out = out.reset_index()
    out.insert(len(keys) if keys else 1, "period_start", start)
    out.insert(out.columns.get_loc("period_start") + 1, "period_end", end)
    out.insert(out.columns.get_loc("period_end") + 1, "last_start", last_start)
    out.insert(out.columns.get_loc("last_start") + 1, "last_end", last_end)
    return out.rename(columns={"amount_growth": "growth"})


def same_period_table(
    sales: pd.DataFrame,
    dimensions: Sequence[str] = ("region_id", "product", "channel"),
    *,
    as_of: date | str | None = None,
) -> pd.DataFrame:
    """Same period last year for the company and each dimension, as one long table.

    Columns ``dimension`` ("total" or the column name), ``key`` (the value,
    "total" for the company row), then those of :func:`same_period_last_year`.

    Examples
    --------
    >>> same_period_table(geo, ["region_id", "product"])  # doctest: +SKIP
      dimension    key  period_start ... amount  amount_last_year  growth ...
    0     total  total    2026-01-01 ...
    """
    parts = [same_period_last_year(sales, as_of=as_of).rename(columns={"scope": "key"}).assign(dimension="total")]
    for dim in dimensions:
        part = same_period_last_year(sales, dim, as_of=as_of).rename(columns={dim: "key"})
        parts.append(part.assign(dimension=dim, key=part["key"].astype(str)))
    out = pd.concat(parts, ignore_index=True)
    return out[["dimension", "key", *[c for c in out.columns if c not in ("dimension", "key")]]]


def monthly_pattern(sales: pd.DataFrame) -> pd.DataFrame:
    """Sales per calendar month of each year, with a seasonal index.

    ``index`` is the month's amount over the average month of its year (only
    months with sales count, so a year still in progress is comparable):
    1.2 means 20% above an average month.
    """
    _require(sales, ["date", *_MEASURES], "sales")
    grouped = sales.groupby([sales["date"].dt.year.rename("year"), sales["date"].dt.month.rename("month")])
    out = grouped[_MEASURES].sum().reset_index()
    out["amount"] = out["amount"].round(2)
    mean = out.groupby("year")["amount"].transform("mean")
    out["index"] = np.where(mean > 0, out["amount"] / mean.where(mean > 0, 1), np.nan)
    return out


def sales_by_month_region(sales: pd.DataFrame) -> pd.DataFrame:
    """Monthly amount and units per region (``month`` = the month's first day)."""
    return totals_by(sales, "region_id", period="month")


def unit_names(table: pd.DataFrame, id_column: str, language: str = "en") -> pd.Series:
    """Display names of units (regions, provinces, the company) by id, in ``language`` where the
    table has a ``name_<language>`` for the unit, else the English name (``name_en``, else ``name``).

    >>> unit_names(provinces, "province_id", "zh")["GD"]  # doctest: +SKIP
    '广东'
    """
    fallback = next((c for c in ("name_en", "name") if c in table.columns), None)
    _require(table, [id_column, fallback or "name_en"], "names table")
    units = table.drop_duplicates(id_column).set_index(id_column)
    names = units[fallback]
    wanted = f"name_{language}"
    if wanted in units.columns and wanted != fallback:
        own = units[wanted].where(units[wanted].astype("string").str.strip().fillna("") != "")
        names = own.fillna(names)
    return names


def names_fall_back(table: pd.DataFrame, language: str) -> bool:
    """True when some unit of ``table`` has no name in ``language`` (it shows its English name)."""
    wanted = f"name_{language}"
    if wanted == "name_en" or "name_en" not in table.columns:  # the English name is the fallback itself
        return False
    if wanted not in table.columns:
        return True
    return bool((table[wanted].astype("string").str.strip().fillna("") == "").any())
