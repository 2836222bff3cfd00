"""The overview page's drawing: what its notebook shows, from the step's tables."""
from __future__ import annotations

from typing import Any

import pandas as pd

from salesmodel.report import (
    MONEY_DECIMALS,
    month_label,
)
from salesmodel.report.page_base import PageBase, _month_date_formatter, _number_format


class OverviewPage(PageBase):
    """The overview page."""

    def money_pivot(self, df: pd.DataFrame, index: str, columns: str = "year", values: str = "amount") -> Any:
        wide = df.pivot_table(index=index, columns=columns, values=values, aggfunc="sum", fill_value=0.0) / self.scale
        names = self.names_for(index)
        wide.index = [self.code(names.get(k, k)) for k in wide.index]
        if columns == "year":
            wide.columns = [self.year_label(y) for y in wide.columns]
        wide.index.name = self.header(index)
        decimals = MONEY_DECIMALS[self.unit]
        styler = wide.style.format(_number_format(f"{{:,.{decimals}f}}", decimals, self.lang))
        return styler.set_caption(self.caption(money=True))

    def _partial_years(self) -> dict[int, str]:
        """Partial years of the history and their last month, from the overview's facts."""
        if getattr(self, "_partial", None) is not None:
            return self._partial
        self._partial: dict[int, str] = {}
        if not self.ws.has_table("run_facts"):
            return self._partial
        facts = self.ws.table("run_facts")
        f = dict(zip(facts.loc[facts["step"] == "overview", "fact"], facts.loc[facts["step"] == "overview", "value"]))
        full = {int(y) for y in str(f.get("full_years", "")).split(",") if y.strip()}
        first, last = str(f.get("history_start", "")), str(f.get("history_end", ""))
        if not first or not last:
            return {}
        for y in range(int(first[:4]), int(last[:4]) + 1):
            if y not in full:
                self._partial[y] = month_label(last[:7] if y == int(last[:4]) else f"{y}-12", self.lang)
        return self._partial

    def year_label(self, year: Any) -> str:
        """'2026* (to Oct)' for a partial year of the history, '2025' for a full one."""
        partial = self._partial_years()
        y = int(year)
        return self.w("partial_year_of").format(year=y, last=partial[y]) if y in partial else str(y)

    def years_table(self, df: pd.DataFrame) -> Any:
        """Sales by year with partial years marked (the overview's first table)."""
        shown = df.drop(columns=["full_year"]).assign(year=df["year"].map(self.year_label))
        return self.table("sales_by_year", shown)

    def monthly_pattern_chart(self, pattern: pd.DataFrame) -> Any:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 4))
        for year, rows in pattern.groupby("year"):
            partial = int(year) in self._partial_years()
            ax.plot(rows["month"], rows["amount"], marker="o", ls="--" if partial else "-", label=self.year_label(year))
        ax.set_xticks(range(1, 13), [month_label(m, self.lang) for m in range(1, 13)])
        ax.set_xlabel(self.w("month"))
        ax.set_ylabel(f"{self.w('sales')} ({self.money})")
        self.money_axis(ax)
        ax.set_title(self.w("monthly_pattern"))
        ax.legend(title=self.w("year"))
        return fig

    def region_province_chart(self, by_month_region: pd.DataFrame, province_year: pd.DataFrame) -> Any:
        import matplotlib.pyplot as plt

        full = province_year.loc[province_year["full_year"], "year"]
        year = int(full.max()) if len(full) else int(province_year["year"].max())
        latest = province_year[province_year["year"] == year].sort_values("amount")
        regions = sorted(by_month_region["region_id"].unique())
        colour = dict(zip(regions, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
        names = self.region_names
        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 7), gridspec_kw={"width_ratios": [1, 2]})
        for region, rows in by_month_region.groupby("region_id"):
            left.plot(rows["month"], rows["amount"], color=colour[region], label=names.get(region, region))
        self.money_axis(left)
        left.set_title(f"{self.w('sales_by_region')} ({self.money})")
        left.legend(title=self.w("region"))
        left.tick_params(axis="x", rotation=45)
        left.xaxis.set_major_formatter(_month_date_formatter(self.lang))
        provinces = self.province_names
        right.barh(latest["province_id"].map(lambda p: provinces.get(p, p)), latest["amount"],
                   color=latest["region_id"].map(colour))
        self.money_axis(right, "x")
        right.set_title(f"{self.w('sales_by_province')} {self.year_label(year)} ({self.money})")
        right.tick_params(axis="y", labelsize=8)
        fig.tight_layout()
        return fig
