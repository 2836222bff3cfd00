"""The tracking page's drawing: what its notebook shows, from the step's tables."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesmodel.report import (
    dekad_label,
)
from salesmodel.report.page_base import PageBase


class TrackingPage(PageBase):
    """The tracking page."""

    def pacing_table(self, pace: pd.DataFrame, level: str, rows: int) -> Any:
        part = pace[pace["level"] == level].sort_values("rank").head(rows)
        part = part.rename(columns={"unit_id": f"{level}_id"}) if level in ("region", "rep") else part
        key = f"{level}_id" if level in ("region", "rep") else "unit_id"
        cols = [key, "target_to_date", "actual_to_date", "achievement", "projection", "run_rate_projection",
                "projected_achievement", "gap_to_date", "daily_rate_needed", "rank"]
        part = part.loc[:, ~part.columns.duplicated()]
        return self.table("pacing", part, columns=[c for c in cols if c in part.columns])

    def achievement_chart(self, pace: pd.DataFrame, as_of: str) -> Any:
        import matplotlib.pyplot as plt

        reps = pace[pace["level"] == "rep"].sort_values("achievement")
        names = self.rep_names
        fig, ax = plt.subplots(figsize=(9, max(3, 0.3 * len(reps))))
        ax.barh(reps["unit_id"].map(lambda r: names.get(r, r)), reps["achievement"] * 100)
        ax.axvline(100, color="grey", lw=1)
        ax.set_xlabel(self.w("achievement") + " (%)")
        ax.set_title(f"{self.w('rep')}: {self.w('achievement')} ({as_of})")
        return fig

    def period_chart(self, report: pd.DataFrame, grain: str = "dekad") -> Any:
        """The company's target and actual by period (bars) with the achievement (line, right axis),
        so a reader sees the pace at a glance; None when the report has no such period."""
        import matplotlib.pyplot as plt

        part = report[(report["grain"] == grain) & (report["rep_id"] == "")]
        if part.empty:
            return None
        labels = [dekad_label(p, self.lang, with_year=False) if grain == "dekad" else str(p) for p in part["period"]]
        x = np.arange(len(part))
        fig, ax = plt.subplots(figsize=(9, 3.6))
        ax.bar(x - 0.2, part["target"], width=0.4, color="0.75", label=self.header("target"))
        ax.bar(x + 0.2, part["actual"], width=0.4, color="#2b5797", label=self.header("actual"))
        self.money_axis(ax)
        ax.set_ylabel(self.money)
        ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
        right = ax.twinx()
        right.plot(x, part["achievement"] * 100, color="#e07b00", marker="o", label=self.header("achievement"))
        right.axhline(100, color="#e07b00", lw=0.8, ls="--")
        right.set_ylabel(self.header("achievement") + " (%)")
        right.grid(False)
        handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
        ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="upper left")
        ax.set_title(f"{self.w('company')}: {self.header('target')} / {self.header('actual')} ({self.w(grain)})")
        fig.tight_layout()
        return fig

    def period_table(self, report: pd.DataFrame, grain: str, rows: int) -> Any:
        part = report[(report["grain"] == grain) & (report["rep_id"] == "")].tail(rows)
        if grain == "dekad":
            part = part.assign(period=part["period"].map(lambda p: dekad_label(p, self.lang, with_year=True)))
        return self.table("period_report", part, columns=["period", "start", "end", "target", "actual", "achievement"])

    def declining_table(self, down: pd.DataFrame, rows: int) -> Any:
        customers = self.ws.input("customers").set_index("customer_id")
        part = down.head(rows).copy()
        part["customer_id"] = part["customer_id"].map(lambda c: f"{c} {customers['customer_name'].get(c, '')}".strip())
        return self.table("declining_customers", part)
