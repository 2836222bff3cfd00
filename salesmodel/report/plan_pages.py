"""Drawing for the plan a sales director issues (issue 12): products and channels, task and
target, the ledger of every target, the months against the baseline, last year of the books.

``PlanPage`` is one of the parts :class:`~salesmodel.report.pages.Page` is made of; it reads the
targets step's declared tables and derives nothing.
"""
from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from salesmodel.domain.tracking import out_of_band_first
from salesmodel.report import MONEY_DECIMALS, month_label
from salesmodel.report.page_base import PageBase, _number_format

__all__ = ["PlanPage"]


class PlanPage(PageBase):
    """The targets page's product, channel, task, ledger and season parts."""

    def levers(self, tables: Mapping[str, pd.DataFrame]) -> list[Any]:
        """The planner's levers this plan used: locked targets and the reps' commitments (or a line saying none)."""
        parts: list[Any] = []
        if "targets_locks" in tables:
            parts.append(self.locks_table(tables["targets_locks"]))
        if "targets_commitments" in tables:
            parts += [self.commitments_sentence(tables["targets_commitments"]),
                      self.commitments_table(tables["targets_commitments"])]
        return parts or [self.text("nb02_no_levers")]

    def budget_parts(self, tables: Mapping[str, pd.DataFrame]) -> list[Any]:
        """The expense budget by category and by region (or a line saying the params ask for none)."""
        if "budget_total" not in tables:
            return [self.text("nb02_no_budget")]
        return [self.budget_table(tables["budget_total"]), self.budget_region_table(tables["budget_region"])]

    def mix_table(self, region_mix: pd.DataFrame, by: str = "product") -> Any:
        """Targets by region (rows) and product or channel (columns), with totals: every margin exact."""
        wide = region_mix.pivot_table(index="region_id", columns=by, values="target", aggfunc="sum") / self.scale
        names = self.region_names
        wide.index = [names.get(r, r) for r in wide.index]
        if by == "channel":
            wide.columns = [self.names_for("channel").get(c, c) for c in wide.columns]
        else:
            wide.columns = [f"{self.header('product')} {c}" for c in wide.columns]
        wide.columns.name = None
        wide.index.name = self.header("region_id")
        wide[self.w("total")] = wide.sum(axis=1)
        wide.loc[self.w("total")] = wide.sum(axis=0)
        decimals = MONEY_DECIMALS[self.unit]
        return wide.style.format(_number_format(f"{{:,.{decimals}f}}", decimals, self.lang)).set_caption(
            f"{self.w('target')} ({self.money}) / {self.header(by)}")

    def task_target_table(self, name: str, df: pd.DataFrame, key: str, rows: int = 40) -> Any:
        """The assigned task and the stretched target side by side."""
        columns = [key, "last_year", "forecast", "task", "target", "growth"]
        return self.table(name, df, columns=[c for c in columns if c in df.columns], rows=rows)

    def ledger_table(self, name: str, df: pd.DataFrame, key: str, rows: int = 20) -> Any:
        """Why each target is what it is: parent share + bound + redistribution + rounding = target.

        The units the bounds or locks moved most come first.
        """
        columns = [key, "last_year", "target_before_bounds", "bound_applied", "bound_adjustment", "redistribution",
                   "rounding_adjustment", "target"]
        shown = df.assign(_moved=df["bound_adjustment"].abs()).sort_values(["_moved", key], ascending=[False, True])
        return self.table(name, shown.drop(columns="_moved"), columns=columns, rows=rows)

    def month_growth_table(self, months: pd.DataFrame) -> Any:
        """Each month's target against the baseline (and the baseline with the festival on the plan year's date)."""
        out = months.copy()
        cols = ["period", "target", "last_year"]
        for base in ("baseline", "baseline_festival"):
            if base in out.columns:
                out[f"growth_over_{base}"] = out["target"] / out[base] - 1.0
                cols += [base]
        shown = out[cols].copy()
        shown["period"] = shown["period"].map(lambda p: month_label(p, self.lang, with_year=True))
        shown[cols[1:]] = shown[cols[1:]] / self.scale
        decimals = MONEY_DECIMALS[self.unit]
        fmt = {c: _number_format(f"{{:,.{decimals}f}}", decimals, self.lang) for c in cols[1:]}
        for base in ("baseline", "baseline_festival"):
            if f"growth_over_{base}" in out.columns:
                shown[f"{self.w('growth')} / {self.header(base)}"] = out[f"growth_over_{base}"]
                fmt[f"{self.w('growth')} / {self.header(base)}"] = _number_format("{:+.1%}", 3, self.lang)
        shown = shown.rename(columns={c: self.header(c) for c in cols})
        styler = shown.style.format({self.header(c) if c in cols else c: f for c, f in fmt.items()}).hide(axis="index")
        return styler.set_caption(self.caption(money=True))

    def last_year_table(self, total: pd.DataFrame) -> Any:
        """Last year as the books have it: all sales in the window, the churned customers shown apart."""
        t = total.iloc[0]
        window = (f"{month_label(t.last_year_first, self.lang, with_year=True)} – "
                  f"{month_label(t.last_year_last, self.lang, with_year=True)}")
        rows = [(f"{self.w('last_year')} ({window})", t.last_year / self.scale)]
        for col in ("last_year_active", "last_year_churned"):
            if col in total.columns:
                rows.append((self.header(col), float(t[col]) / self.scale))
        out = pd.DataFrame(rows, columns=["", self.money])
        decimals = MONEY_DECIMALS[self.unit]
        return out.style.format({self.money: _number_format(f"{{:,.{decimals}f}}", decimals, self.lang)}).hide(axis="index")

    def commitments_table(self, commitments: pd.DataFrame, rows: int = 40) -> Any:
        """Each rep's commitment against the top-down target and the reconciled target, largest gap first.

        The reps' notes are text from the data: shown escaped.
        """
        shown = commitments.assign(_gap=commitments["gap"].abs(), note=commitments["note"].map(
            lambda n: html.escape(n) if isinstance(n, str) else ""))
        shown = shown.sort_values(["_gap", "rep_id"], ascending=[False, True]).drop(columns="_gap")
        columns = ["region_id", "rep_id", "top_down", "commitment", "gap", "gap_pct", "target", "change", "note"]
        return self.table("targets_commitments", shown, columns=columns, rows=rows)

    def commitments_sentence(self, commitments: pd.DataFrame) -> Any:
        """One sentence: how many reps committed, the sum of their gaps and the policy that set the targets."""
        from IPython.display import HTML

        has = commitments[commitments["has_commitment"].astype(bool)]
        text = self.w("commitments_sentence").format(
            n=len(has), reps=len(commitments), gap=f"{has['gap'].sum() / self.scale:+,.1f} {self.money}",
            policy=self.code(str(commitments["policy"].iloc[0])) if len(commitments) else "")
        return HTML(f"<p>{html.escape(text)}</p>")

    def locks_table(self, locks: pd.DataFrame) -> Any:
        """The locked targets of the locks input beside the plan's targets of those units (equal)."""
        names = {**self.region_names, **self.province_names, **self.rep_names, **self.customer_names}
        shown = locks.assign(unit_id=locks["unit_id"].map(lambda u: html.escape(str(names.get(u, u)))),
                             reason=locks["reason"].map(lambda r: html.escape(r) if isinstance(r, str) else ""))
        return self.table("targets_locks", shown, columns=["level", "unit_id", "locked", "target", "reason"])

    def budget_table(self, totals: pd.DataFrame) -> Any:
        """The budget by category: what was asked, the cap that applied, the year's budget and its share of the target."""
        shown = totals.assign(category=totals["category"].map(lambda c: html.escape(str(self.code(c)))))
        return self.table("budget_total", shown, columns=["category", "basis", "share", "amount", "cap", "asked",
                                                          "capped", "budget", "share_of_target"])

    def budget_region_table(self, region: pd.DataFrame) -> Any:
        """The budget by region (rows) and category (columns), with totals: every margin exact."""
        wide = region.pivot_table(index="region_id", columns="category", values="budget", aggfunc="sum") / self.scale
        names = self.region_names
        wide.index = [html.escape(str(names.get(r, r))) for r in wide.index]
        wide.columns = [html.escape(str(self.code(c))) for c in wide.columns]
        wide[self.w("total")] = wide.sum(axis=1)
        wide.loc[self.w("total")] = wide.sum(axis=0)
        return wide.style.format("{:,.1f}").set_caption(f"{self.header('budget')} ({self.money})")

    def stock_intro(self, floor: float, ceiling: float) -> Any:
        """The stock section's paragraph, with the band of the params."""
        from IPython.display import HTML

        return HTML(f"<p>{html.escape(self.w('nb05_stock_text').format(floor=floor, ceiling=ceiling))}</p>")

    def stock_sentence(self, cover: pd.DataFrame, floor: float, ceiling: float) -> Any:
        """How many store-products are below the floor, above the ceiling and in the band."""
        from IPython.display import HTML

        counts = cover["status"].value_counts()
        text = self.w("stock_sentence").format(below=int(counts.get("below", 0)), above=int(counts.get("above", 0)),
                                               inside=int(counts.get("in_band", 0)), floor=floor, ceiling=ceiling)
        return HTML(f"<p>{html.escape(text)}</p>")

    def stock_table(self, cover: pd.DataFrame, rows: int = 20) -> Any:
        """The store-products out of the band first, those short of the most units a day's sales
        first (most days of cover first above the ceiling), with their reps and customers' names."""
        # below the floor: by units a day of plan (what runs out fastest); above: by days of cover
        order = out_of_band_first(cover)
        names = self.customer_names
        order = order.assign(customer_id=order["customer_id"].map(lambda c: html.escape(str(names.get(c, c)))))
        return self.table("stock_cover", order, columns=["customer_id", "rep_id", "product", "on_hand", "daily_units",
                                                         "days_of_cover", "status"], rows=rows)

    def order_table(self, orders: pd.DataFrame, cover: pd.DataFrame, rows: int = 24) -> Any:
        """The order plan of the store-products out of the band, month by month."""
        out = cover.loc[cover["status"].isin(["below", "above"]), ["customer_id", "product"]]
        part = orders.merge(out, on=["customer_id", "product"])
        names = self.customer_names
        part = part.assign(customer_id=part["customer_id"].map(lambda c: html.escape(str(names.get(c, c)))))
        return self.table("stock_orders", part, columns=["customer_id", "product", "period", "plan_amount", "plan_units",
                                                         "opening_units", "order_units", "closing_units", "closing_days"],
                          rows=rows)
