"""The staffing page's drawing: what its notebook shows, from the step's tables."""
from __future__ import annotations

import contextlib
import html as _html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.pipeline.key_figures import hires_part, hires_pay
from salesmodel.report import (
    format_money,
    month_label,
)
from salesmodel.report.page_base import PageBase, _number_format
from salesmodel.schema.vocabulary import local_column


class StaffingPage(PageBase):
    """The staffing page."""

    def capacity_chart(self, plan: pd.DataFrame, plan_year: int) -> Any:
        import matplotlib.pyplot as plt

        in_year = plan[~plan["lead_in"]]
        company = in_year.groupby("month")[["target", "capacity"]].sum()
        company.index = [month_label(m, self.lang) for m in company.index]
        fig, ax = plt.subplots(figsize=(9, 3.5))
        ax.plot(company.index, company["target"], marker="o", label=self.w("target"))
        ax.plot(company.index, company["capacity"], marker="s", label=self.w("capacity"))
        self.money_axis(ax)
        ax.set_ylabel(self.money)
        ax.set_title(f"{self.w('capacity_title')}, {plan_year}")
        ax.tick_params(axis="x", rotation=45)
        ax.legend()
        fig.tight_layout()
        return fig

    def hiring_chart(self, plan: pd.DataFrame) -> Any:
        import matplotlib.pyplot as plt

        schedule = plan.pivot_table(index="month", columns="region_id", values="hires_starting", aggfunc="sum").fillna(0)
        names = self.region_names
        schedule.columns = [names.get(c, c) for c in schedule.columns]
        schedule.index = [month_label(m, self.lang, with_year=True) for m in schedule.index]
        fig, ax = plt.subplots(figsize=(9, 3.5))
        schedule.plot(kind="bar", stacked=True, ax=ax, width=0.8)
        ax.set_ylabel(self.w("hires_starting"))
        ax.set_xlabel(self.w("month"))
        ax.set_title(self.w("schedule_title"))
        fig.tight_layout()
        return fig

    def hires_by_region(self, plan: pd.DataFrame) -> Any:
        if "people_end" in plan:  # whole people: today's team, the hires, the people at the end of the plan
            out = plan.sort_values("month").groupby("region_id", as_index=False).agg(
                people_start=("people_start", "first"), hires_starting=("hires_starting", "sum"),
                leavers=("leavers", "sum"), people_end=("people_end", "last"),
                shortfall=("shortfall", "sum"), shortfall_amount=("shortfall_amount", "sum"))
            return self.table("capacity_plan", out)
        out = plan.groupby("region_id", as_index=False).agg(
            headcount_start=("headcount_start", "first"), hires_starting=("hires_starting", "sum"),
            shortfall=("shortfall", "sum"), shortfall_amount=("shortfall_amount", "sum"))
        return self.table("capacity_plan", out)

    def replay_chart(self, replayed: pd.DataFrame) -> Any:
        """Last year replayed: modelled (the capacity model with last year's team) against actual sales, by month,
        one panel per region."""
        import matplotlib.pyplot as plt

        names = self.region_names
        regions = sorted(pd.unique(replayed["region_id"]))
        fig, axes = plt.subplots(1, len(regions), figsize=(2.6 * len(regions) + 1, 3.2), sharey=False, squeeze=False)
        for ax, region in zip(axes[0], regions):
            part = replayed[replayed["region_id"] == region].sort_values("month")
            x = [month_label(m, self.lang) for m in part["month"]]
            ax.bar(x, part["actual"], color="#BFBFBF", label=self.w("actual"))
            ax.plot(x, part["modelled"], color="#1F4E79", marker="o", lw=1.5, label=self.w("col_modelled"))
            year = part[["modelled", "actual"]].sum()
            miss = round(year["modelled"] / year["actual"] - 1, 9) + 0.0 if year["actual"] else 0.0  # no "-0.0%"
            ax.set_title(f"{names.get(region, region)} ({miss:+.1%})", fontsize=10)
            ax.tick_params(axis="x", rotation=90, labelsize=7)
            self.money_axis(ax)
        axes[0][0].set_ylabel(self.money)
        axes[0][0].legend(fontsize=8)
        fig.suptitle(self.w("replay_title"))
        fig.tight_layout()
        return fig

    def replay_text(self, replayed: pd.DataFrame) -> Any:
        """How well the productivity replays last year, and each region's level (the hires')."""
        from IPython.display import HTML

        year = replayed.groupby("region_id")[["modelled", "actual"]].sum()
        miss = (year["modelled"] / year["actual"].where(year["actual"] != 0) - 1).fillna(0.0).round(9) + 0.0
        worst = miss.abs().idxmax() if len(miss) else None
        names = self.region_names
        worst_text = f"{names.get(worst, worst)} {miss[worst]:+.1%}" if worst is not None else "–"
        level = replayed.groupby("region_id")["productivity"].first()
        levels = "; ".join(f"{names.get(r, r)} {format_money(float(v), self.unit, self.lang)}" for r, v in level.items())
        return HTML(f"<p>{_html.escape(self.w('nb03_replay_text').format(worst=worst_text, levels=levels))}</p>")

    def hires_text(self, step: Any) -> Any:
        """How many hires, why (one sentence), and how they start around the no-start months."""
        from IPython.display import HTML

        hires = step.tables.get("staffing_hires")
        sp = self.ws.params.staffing
        n = 0 if hires is None else len(hires)
        reason = self.w("hires_reason").format(reps=step.facts.get("active_reps", "–"), attrition=sp.attrition)
        blocked = str(step.facts.get("blocked_months") or "")
        blocked_text = ", ".join(month_label(m, self.lang, with_year=True) for m in blocked.split(", ") if m) \
            or self.w("none_blocked")
        before = 0 if hires is None else int((hires["start_side"] == "before").sum())
        after = 0 if hires is None else int((hires["start_side"] == "after").sum())
        text = self.w("nb03_hires_text").format(hires=n, reason=reason, blocked=blocked_text, before=before, after=after)
        if n and "reason" in hires:
            replacing = int((hires["reason"] == "replacement").sum())
            text += " " + self.w("hires_split").format(replacements=replacing, growth=n - replacing)
        return HTML(f"<p>{_html.escape(text)}</p>")

    def hires_cost_text(self, pay_cost: pd.DataFrame) -> Any:
        """What the hires cost in pay this year (from their start, ramped, at 100% of target) and at full year."""
        from IPython.display import HTML

        if "kind" not in pay_cost:
            return None
        cost, full = hires_pay(pay_cost)
        text = self.w("hires_cost").format(cost=format_money(cost, self.unit, self.lang), year=self.ws.params.calendar.plan_year,
                                           full=format_money(full, self.unit, self.lang))
        return HTML(f"<p>{_html.escape(text)}</p>")

    def staffing_sentence(self, tables: Mapping[str, pd.DataFrame]) -> Any:
        """For leadership: the people at year end (whole people, as every page and sheet), the hires and why,
        and what the hires cost."""
        from IPython.display import HTML

        plan, hires = tables.get("capacity_plan"), tables.get("staffing_hires")
        if plan is None or hires is None or "people_end" not in plan:
            return None
        last = plan["month"].astype(str).max()
        people = int(plan.loc[plan["month"].astype(str) == last, "people_end"].sum())
        first = plan["month"].astype(str).min()
        today = int((plan.loc[plan["month"].astype(str) == first, "people_start"]
                     - plan.loc[plan["month"].astype(str) == first, "hires_starting"]).sum())
        sp = self.ws.params.staffing
        reason = self.w("hires_reason").format(reps=today, attrition=sp.attrition)
        text = self.w("tiles_hires").format(people=people, hires=len(hires))
        parts = [f"<p>{_html.escape(self.w('people_needed'))}: {_html.escape(text)}; {_html.escape(reason)}</p>"]
        cost = self.hires_cost_text(tables["pay_cost"]) if "pay_cost" in tables else None
        if cost is not None:
            parts.append(cost.data)
        part = hires_part(tables)
        if part is not None:  # the hires' part of the plan, from the territories
            text = self.w("lead_follow").format(hires=part.hires, quota=format_money(part.quota, self.unit, self.lang),
                                                share=f"{part.quota / part.plan:.1%}" if part.plan else "–",
                                                replacements=self.replacements_text(part))
            parts.append(f"<p>{_html.escape(text)}</p>")
        return HTML("".join(parts))

    def replacements_text(self, part: Any) -> str:
        """The sentence on the hires that replace expected leavers (empty when none do)."""
        return self.w("hires_replace").format(replacements=part.replacements) if part and part.replacements else ""

    def hires_table(self, hires: pd.DataFrame) -> Any:
        city = local_column("base_city", self.lang)
        return self.table("staffing_hires", hires, columns=["hire_id", "region_id", "role", "reason", "decision_month",
                                                            "start_month", "ramp", "productivity", city,
                                                            "blocked_month", "start_side"])

    def workload_chart(self, load: pd.DataFrame) -> Any:
        import matplotlib.pyplot as plt

        names = self.region_names
        fig, ax = plt.subplots(figsize=(8, 3.5))
        x = np.arange(len(load))
        ax.bar(x - 0.2, load["fte"], width=0.4, label=self.w("fte"))
        ax.bar(x + 0.2, load["headcount"], width=0.4, label=self.w("headcount"))
        ax.set_xticks(x, [f"{names.get(r, r)} / {self.code(ro)}" for r, ro in zip(load["region_id"], load["role"])],
                      rotation=45, ha="right")
        ax.set_title(self.w("workload_title"))
        ax.legend()
        fig.tight_layout()
        return fig

    def staffing_methods(self, step: Any) -> Any:
        """Which staffing methods ran and why (from the step's facts and the params), as a list."""
        from IPython.display import HTML

        facts, sp = step.facts, self.ws.params.staffing
        source = "params" if str(facts.get("productivity_source", "")) == "params" else "history"
        try:
            productivity = format_money(float(facts.get("productivity")), self.unit, self.lang)
        except (TypeError, ValueError):
            productivity = "–"
        items = [self.w("method_capacity").format(productivity=productivity, source=self.w(f"method_source_{source}")),
                 self.w("method_workload")]
        fp = sp.funnel
        if fp is not None and "funnel" in step.tables:
            deliveries = facts.get("funnel_deliveries", "–")
            with contextlib.suppress(TypeError, ValueError):
                deliveries = f"{float(deliveries):,.0f}"
            items.append(self.w("method_funnel_run").format(unit=fp.unit_of_sale, deliveries=deliveries))
        else:
            items.append(self.w("method_funnel_not_run"))
        items.append(self.w("method_pay").format(scenarios=" / ".join(f"{v:.0%}" for v in sp.pay_scenarios)))
        return HTML("<ul>" + "".join(f"<li>{_html.escape(t)}</li>" for t in items) + "</ul>")

    def funnel_applies(self) -> Any:
        from IPython.display import HTML

        fp = self.ws.params.staffing.funnel
        return HTML(f"<p>{_html.escape(self.w('funnel_applies').format(unit=fp.unit_of_sale if fp else ''))}</p>")

    def funnel_table(self, fun: pd.DataFrame) -> Any:
        rows = fun["stage"].map(self.code) + " / " + fun["source"].map(self.code)
        wide = fun.assign(row=rows).pivot(index="row", columns="scenario", values="whole").loc[list(dict.fromkeys(rows))]
        wide.columns = [self.code(c) for c in wide.columns]
        wide.index.name = f"{self.w('col_stage')} / {self.w('col_source')}"
        return wide.style.format(_number_format("{:,.0f}", 0, self.lang))

    def pay_chart(self, pay: pd.DataFrame) -> tuple[Any, Any]:
        import matplotlib.pyplot as plt

        totals = pay.groupby("scenario", sort=False)[["target", "sales", "base_pay", "commission", "total_pay"]].sum()
        totals["cost_share"] = totals["total_pay"] / totals["target"]
        fig, ax = plt.subplots(figsize=(6, 3))
        totals[["base_pay", "commission"]].rename(columns={"base_pay": self.w("base_pay"),
                                                           "commission": self.w("commission")}).plot(
            kind="bar", stacked=True, ax=ax)
        self.money_axis(ax)
        ax.set_ylabel(self.money)
        ax.set_xlabel(self.w("achievement"))
        ax.set_title(self.w("pay_title"))
        fig.tight_layout()
        shown = self.table("pay_cost", totals.reset_index(), columns=["scenario", "target", "sales", "base_pay",
                                                                        "commission", "total_pay", "cost_share"])
        return shown, fig
