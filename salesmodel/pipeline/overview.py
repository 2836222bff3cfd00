"""Step ``overview``: the history at a glance (sales by year, region, product, channel, month)."""
from __future__ import annotations

import pandas as pd

from salesmodel.domain import overview
from salesmodel.pipeline._base import Context, StepResult

NEEDS: tuple[str, ...] = ()
PARAMS: tuple[str, ...] = ("data",)


def _full_years(days: pd.DataFrame) -> set[int]:
    """Years the history covers from 1 January to 31 December."""
    first, last = days["date"].min(), days["date"].max()
    return {y for y in range(first.year, last.year + 1)
            if first <= pd.Timestamp(y, 1, 1) and last >= pd.Timestamp(y, 12, 31)}


def run(ctx: Context) -> StepResult:
    """Sales by year and dimension, year to date against last year, the monthly pattern."""
    result = StepResult("overview")
    inputs = ctx.inputs
    history = ctx.history()
    sales = overview.attach_geography(history.months, inputs["customers"], inputs["provinces"])
    full = _full_years(history.days)

    def with_full(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(full_year=df["year"].isin(full))

    result.add("sales_by_year", with_full(overview.totals_by(sales)))
    for dim in ("region_id", "product", "channel"):
        result.add(f"sales_by_{dim.removesuffix('_id')}_year", with_full(overview.totals_by(sales, dim)))
    result.add("sales_by_province_year", with_full(overview.totals_by(sales, ["region_id", "province_id"])))
    result.add("same_period_last_year", overview.same_period_table(sales, ["region_id", "product", "channel"]))
    result.add("monthly_pattern", overview.monthly_pattern(sales))
    result.add("sales_by_month_region", overview.sales_by_month_region(sales))
    result.facts.update(history_start=history.days["date"].min(), history_end=history.days["date"].max(),
                        full_years=",".join(str(y) for y in sorted(full)))
    return result
