"""The targets page's drawing: what its notebook shows, from the step's tables."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.report import (
    MONEY_DECIMALS,
    month_label,
)
from salesmodel.report.page_base import PageBase, _number_format
from salesmodel.schema.vocabulary import has_word


class TargetsPage(PageBase):
    """The targets page."""

    def targets_total(self, total: pd.DataFrame) -> Any:
        """The company figure: last year, base, task, stretch and target, one line each."""
        t = total.iloc[0]
        first = month_label(t.last_year_first, self.lang, with_year=True)
        last = month_label(t.last_year_last, self.lang, with_year=True)
        base_word = self.w("baseline") if t.base_source == "baseline" else self.w("last_year")
        rows = [
            (self.w("last_year_window").format(first=first, last=last), t.last_year / self.scale),
            (base_word, t.base / self.scale),
            (self.w("task"), t.task / self.scale),
            (f"{self.w('target')} ({self.w('stretch')} {t.stretch:g})", t.target / self.scale),
        ]
        if pd.isna(t.base):  # a total given (an amount, or by its chance): no base it grew from, no empty row
            rows.pop(1)
        out = pd.DataFrame(rows, columns=[self.w("plan"), self.w("amount")])
        decimals = MONEY_DECIMALS[self.unit]  # the page's unit and the reader's separators
        styler = out.style.format({self.w("amount"): _number_format(f"{{:,.{decimals}f}}", decimals, self.lang)},
                                  na_rep="–").hide(axis="index")
        return styler.set_caption(self.caption(money=True))

    def target_explanation(self, name: str, df: pd.DataFrame, key: str, rows: int = 20) -> Any:
        columns = [key, "last_year", "potential", "forecast", "blended_share", "target_before_bounds",
                   "bound_applied", "rounding_adjustment", "target", "growth"]
        if "chance" in df.columns:  # equal chance: forecast + z x spread, the parent's one chance (issue 24)
            columns[4] = "chance"
        return self.table(name, df, columns=columns, rows=rows)

    def last_year_target_chart(self, df: pd.DataFrame, key: str, plan_year: int) -> Any:
        import matplotlib.pyplot as plt

        names = self.names_for(key)
        x = np.arange(len(df))
        fig, ax = plt.subplots(figsize=(9, 4))
        ax.bar(x - 0.2, df["last_year"], 0.4, label=self.w("last_year"))
        ax.bar(x + 0.2, df["target"], 0.4, label=self.w("target"))
        ax.set_xticks(x, [names.get(k, k) for k in df[key]])
        ax.legend(title=self.w("amounts_in").format(unit=self.money).rstrip("。."))
        self.money_axis(ax)
        ax.set_ylabel(self.money)
        ax.set_title(f"{self.header(key)}: {self.w('last_year')} / {self.w('target')} {plan_year}")
        ax.legend()
        return fig

    def rep_target_charts(self, reps: pd.DataFrame, customers: pd.DataFrame, bounds: Sequence[float] | None) -> Any:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
        axes[0].scatter(reps["potential"] / self.scale, reps["target"] / self.scale)
        axes[0].set_xlabel(f"{self.w('potential')} ({self.money})")
        axes[0].set_ylabel(f"{self.w('target')} ({self.money})")
        axes[0].set_title(f"{self.w('rep')}: {self.w('target')} / {self.w('potential')}")
        axes[1].scatter(reps["forecast"] / self.scale, reps["target"] / self.scale)
        lim = max(reps["forecast"].max(), reps["target"].max()) / self.scale
        axes[1].plot([0, lim], [0, lim], color="grey", lw=1)
        axes[1].set_xlabel(f"{self.w('baseline')} ({self.money})")
        axes[1].set_ylabel(f"{self.w('target')} ({self.money})")
        axes[1].set_title(f"{self.w('rep')}: {self.w('target')} / {self.w('baseline')}")
        for ax in axes[:2]:
            self.scaled_axis(ax)
            self.scaled_axis(ax, "x")
        growth = customers["growth"].dropna()
        axes[2].hist(growth * 100, bins=30)
        for b in bounds or ():
            axes[2].axvline(b * 100, color="grey", ls="--", lw=1)
        axes[2].set_xlabel(self.w("growth") + " (%)")
        axes[2].set_title(self.w("spread_of_growth"))
        fig.tight_layout()
        return fig

    def bounds_count(self, customers: pd.DataFrame) -> Any:
        counts = customers["bound_applied"].value_counts()
        out = pd.DataFrame({self.w("bound_applied"): [self.w(k) if has_word(k) else k for k in counts.index],
                            self.w("customers"): counts.to_numpy()})
        return out.style.format({self.w("customers"): _number_format("{:,.0f}", 0, self.lang)}).hide(axis="index")

    def achievability_table(self, ach: pd.DataFrame, rows: int = 15) -> Any:
        shown = ach.sort_values(["probability", "unit_id"]).head(rows)
        names = {"company": {}, "region": self.region_names, "province": self.province_names, "rep": self.rep_names,
                 "customer": self.customer_names}
        shown = shown.assign(unit_id=[self.w("code_total") if level == "company" else names.get(level, {}).get(u, u)
                                      for level, u in zip(shown["level"], shown["unit_id"])])
        return self.table("achievability", shown, columns=["level", "unit_id", "target", "baseline", "growth_asked",
                                                            "probability", "flag"])

    def rep_month_table(self, plan_rep_month: pd.DataFrame, rows: int = 15) -> Any:
        """The first reps of 月销售计划表 (name, region, months, total); the whole sheet is in the workbook."""
        wide = plan_rep_month.pivot(index="rep_id", columns="period", values="target") / self.scale
        wide.columns = [month_label(c, self.lang) for c in wide.columns]
        wide[self.w("total")] = wide.sum(axis=1)
        reps = self.ws.input("reps").set_index("rep_id")
        regions = self.region_names
        total = len(wide)
        wide = wide.head(rows)
        front = pd.DataFrame({self.w("rep"): [self.rep_names.get(r, r) for r in wide.index],
                              self.w("region"): [regions.get(reps["region_id"].get(r), "") for r in wide.index]},
                             index=wide.index)
        out = pd.concat([front, wide], axis=1).reset_index(drop=True)
        decimals = MONEY_DECIMALS[self.unit]
        fmt = {c: _number_format(f"{{:,.{decimals}f}}", decimals, self.lang) for c in wide.columns}
        return out.style.format(fmt).hide(axis="index").set_caption(
            self.caption(money=True, shown=len(out), total=total, where="workbook"))

    def company_month_chart(self, months: pd.DataFrame, plan_year: int) -> Any:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 4))
        x = pd.to_datetime(months["start"]).dt.month
        ax.bar(x, months["target"], label=f"{self.w('plan')} {plan_year}")
        ax.plot(x, months["last_year"], color="black", marker="o", lw=1, label=self.w("last_year"))
        if "baseline" in months and months["baseline"].notna().any():
            ax.plot(x, months["baseline"], color="#C55A11", marker="s", lw=1, label=self.w("baseline"))
        ax.set_xticks(range(1, 13), [month_label(m, self.lang) for m in range(1, 13)])
        ax.set_ylabel(self.money)
        self.money_axis(ax)
        ax.legend()
        ax.set_title(f"{self.w('plan')} {plan_year} / {self.w('month')}")
        return fig
