"""The forecast page's drawing: what its notebook shows, from the step's tables."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.report import (
    MONEY_DECIMALS,
    month_label,
)
from salesmodel.report.page_base import PageBase, _number_format


class ForecastPage(PageBase):
    """The forecast page."""

    def forecast_charts(self, history: pd.DataFrame, levels: pd.DataFrame, top_n: int, intervals: Sequence[int]) -> Any:
        """History and forecast with intervals for the largest series and every series of the first level."""
        import matplotlib.pyplot as plt

        size = history.groupby("unique_id")["y"].sum().sort_values(ascending=False)
        first_level = next((lv for lv in history["level"].drop_duplicates() if lv != "total"), "total")
        chosen = list(dict.fromkeys(list(size.index[:top_n])
                                    + sorted(history.loc[history["level"] == first_level, "unique_id"].unique())))
        if not chosen:
            return None
        ncol = 3
        nrow = -(-len(chosen) // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(14, 3.2 * nrow), squeeze=False, sharex=True)
        hi, lo = max(intervals), min(intervals)
        for ax, uid in zip(axes.ravel(), chosen):
            hist = history[history["unique_id"] == uid].tail(36)
            f = levels[levels["unique_id"] == uid]
            ax.plot(hist["ds"], hist["y"] / self.scale, color="black", lw=1, label=self.w("history"))
            ax.fill_between(f["ds"], f[f"yhat_lo_{hi}"] / self.scale, f[f"yhat_hi_{hi}"] / self.scale,
                            color="tab:blue", alpha=0.15, label=f"{hi}%")
            ax.fill_between(f["ds"], f[f"yhat_lo_{lo}"] / self.scale, f[f"yhat_hi_{lo}"] / self.scale,
                            color="tab:blue", alpha=0.3, label=f"{lo}%")
            ax.plot(f["ds"], f["yhat"] / self.scale, color="tab:blue", lw=1.5, label=self.w("forecast"))
            ax.set_title(self.series_name(uid), fontsize=9)
            ax.tick_params(labelsize=8)
            self.scaled_axis(ax)
        for ax in axes.ravel()[len(chosen):]:
            ax.set_visible(False)
        axes[0, 0].legend(fontsize=7)
        fig.supylabel(self.money)
        fig.tight_layout()
        return fig

    def series_name(self, uid: Any) -> str:
        """A forecast series id ('E/A', 'total') in names readers know."""
        if str(uid) == "total":
            return self.w("code_total")
        names = {**self.region_names, **self.province_names}
        parts = []
        for part in re.split(r"[/|]", str(uid)):
            column, _, key = part.rpartition("=")  # 'region_id=E/product=B': the key of each level
            mapping = self.names_for(column) if column else names
            shown = mapping.get(key, key)
            parts.append(str(self.code(shown)) if column != "product" else f"{self.header('product')} {shown}")
        return " / ".join(parts)

    def spring_festival_text(self, facts: Mapping[str, Any]) -> Any:
        """Whether the forecast step took the Spring Festival out and put it back (its fact, not the params' wish:
        off outside China or when the festival could not be measured)."""
        return self.text("nb01_sf_on" if str(facts.get("spring_festival")) == "True" else "nb01_sf_off")

    def plan_year_baseline(self, forecast: pd.DataFrame, plan_year: int) -> tuple[Any, Any]:
        """The plan year's baseline by month and first grain key: a table and a stacked bar chart."""
        import matplotlib.pyplot as plt

        in_year = forecast[pd.to_datetime(forecast["ds"]).dt.year == plan_year]
        key = next(c for c in ("region_id", "province_id", "rep_id", "customer_id", "product", "channel")
                   if c in in_year.columns)
        names = self.names_for(key)
        wide = in_year.pivot_table(index=key, columns=pd.to_datetime(in_year["ds"]).dt.month, values="yhat",
                                   aggfunc="sum").fillna(0.0) / self.scale
        wide.index = [self.code(names.get(k, k)) for k in wide.index]
        fig, ax = plt.subplots(figsize=(10, 4))
        bottom = np.zeros(len(wide.columns))
        for name, row in wide.iterrows():
            ax.bar(wide.columns, row.to_numpy(), bottom=bottom, label=str(name))
            bottom += row.to_numpy()
        ax.set_xticks(list(wide.columns), [month_label(m, self.lang) for m in wide.columns])
        self.scaled_axis(ax)  # separators, as every other money axis
        ax.set_ylabel(self.money)
        ax.set_title(f"{self.w('baseline')} {plan_year}")
        # beside the bars, not over January's
        ax.legend(title=self.header(key), fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        shown = wide.copy()
        shown.columns = [month_label(m, self.lang) for m in shown.columns]
        shown[self.w("total")] = shown.sum(axis=1)
        shown.loc[self.w("total")] = shown.sum(axis=0)
        shown.index.name = self.header(key)
        decimals = MONEY_DECIMALS[self.unit]
        return shown.style.format(_number_format(f"{{:,.{decimals}f}}", decimals, self.lang)).set_caption(self.caption(money=True)), fig
