"""The territory page's drawing: what its notebook shows, from the step's tables."""
from __future__ import annotations

import html as _html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import within_tolerance
from salesmodel.pipeline.key_figures import hires_part
from salesmodel.pipeline.territory import pick
from salesmodel.report import (
    format_money,
    month_label,
)
from salesmodel.report.page_base import PageBase, _number_format
from salesmodel.schema.vocabulary import local_column


class TerritoryPage(PageBase):
    """The territory page."""

    def territory_summary(self, summary: pd.DataFrame) -> Any:
        return self.table("territory_summary", summary)

    _COMPARISON_FORMATS = {"share": "{:.1%}", "km": "{:,.0f}", "count": "{:,.0f}"}

    def territory_comparison(self, tables: Mapping[str, pd.DataFrame], params: Any = None) -> tuple:
        """Today and the proposal side by side, in measures people read (balance, travel, disruption),
        with the measures worse than today said in words; without the comparison table (territories
        redrawn from scratch), the summary table."""
        from IPython.display import HTML

        comp = tables.get("territory_comparison")
        if comp is None:
            return (self.territory_summary(tables["territory_summary"]),)

        def fmt(unit: str, value: float, signed: bool = False) -> str:
            # at the reader's precision and separators: a change that rounds to nothing is 0, never -0
            decimals = {"share": 3, "km": 0, "count": 0}.get(unit, 2)
            text = _number_format(self._COMPARISON_FORMATS.get(unit, "{:,.2f}"), decimals, self.lang)(value)
            return ("+" + text) if signed and round(float(value), decimals) > 0 else text
        shown = pd.DataFrame({
            self.header("measure"): comp["measure"].map(self.code),
            self.w("today"): [fmt(u, v) for u, v in zip(comp["unit"], comp["today"])],
            self.w("proposed"): [fmt(u, v) for u, v in zip(comp["unit"], comp["proposed"])],
            self.header("change"): [fmt(u, v, True) for u, v in zip(comp["unit"], comp["change"])],
            self.header("verdict"): comp["verdict"].map(self.code),
        })
        worse = [str(self.code(m)) for m in comp.loc[comp["verdict"] == "worse", "measure"]]
        words = self.w("nb04_worse").format(measures="; ".join(worse)) if worse else self.w("nb04_none_worse")
        metrics = tables.get("territory_metrics")
        if metrics is not None and params is not None:
            proposed = metrics[metrics["plan"] == "proposed"]
            reps, items = self.territory_names(), []
            city_col = local_column("base_city", self.lang)
            table = self.territory_bases()
            cities = table[city_col].dropna().to_dict() if city_col in table.columns else {}
            for m in params.balance_on:
                if f"{m}_dev" not in proposed.columns or proposed.empty:
                    continue
                row = proposed.loc[proposed[f"{m}_dev"].abs().idxmax()]
                items.append(f"{reps.get(row['territory'], row['territory'])} ({cities.get(row['territory'], row['centre'])}), "
                             f"{self.header(m)} "
                             f"{row[f'{m}_dev']:+.0%}")
            if items:
                words += " " + self.w("nb04_largest").format(items="; ".join(items))
        words = self.organisation_sentence(tables) + words
        beyond = tables.get("territory_beyond_limit")
        if beyond is not None and len(beyond) and params is not None:
            words += " " + self.w("nb04_beyond").format(n=len(beyond), km=float(params.max_distance_km))
        styler = shown.style.hide(axis="index").set_properties(subset=[self.header("measure")], **{"text-align": "left"})
        return HTML(f"<p>{_html.escape(words)}</p>"), styler

    def organisation_sentence(self, tables: Mapping[str, pd.DataFrame]) -> str:  # noqa: ARG002
        """Which organisation the territories were designed for (the territory step's facts), with a space
        after; empty when the run does not say (territories redrawn from scratch)."""
        try:
            facts = {k: str(v) for k, v in self.ws.step("territory").facts.items()}
        except Exception:  # noqa: BLE001 - a page without the territory step says nothing here
            return ""

        def whole(key: str) -> int:
            return int(float(facts.get(key, 0) or 0))
        if facts.get("organisation") == "planned" and "territory_hires" in facts:
            return self.w("nb04_organisation_planned").format(
                month=month_label(facts["organisation_month"], self.lang, with_year=True), reps=whole("territory_reps"),
                hires=whole("territory_hires"), given=whole("accounts_to_hires")) + " "
        if facts.get("organisation") == "today":
            return self.w("nb04_organisation_today").format(reps=whole("k")) + " "
        return ""

    def frontier_text(self, params: Any) -> Any:
        """What the frontier shows, for the method that made it."""
        return self.text("nb04_frontier_text_reps" if getattr(params, "method", "") == "reps" else "nb04_frontier_text")

    def handover_intro(self, tables: Mapping[str, pd.DataFrame]) -> Any:
        return self.text("nb04_handover_text_reps" if "territory_handover" in tables else "nb04_handover_text")

    def handover_table(self, tables: Mapping[str, pd.DataFrame], rows: int = 30) -> Any:
        """The hand-over list (each rep's accounts gained and lost, by money); without it, the moves."""
        hand = tables.get("territory_handover")
        if hand is None:
            return self.moves_table(tables["territory_moves"])
        reps = self.territory_names()
        once = hand[hand["direction"] == "gained"]  # each hand-over once: from one rep to the other
        return self.table("territory_handover", once, rows=rows,
                          columns=["customer_name", "from_rep", "to_rep", "last_year_sales", "potential", "distance_km"],
                          names={"from_rep": reps, "to_rep": reps})

    def follow_text(self, tables: Mapping[str, pd.DataFrame], facts: Mapping[str, Any]) -> Any:
        """Targets follow the accounts: what the hand-over moves, what the hires carry against what the
        staffing plan counts on from them, and who holds a hire's accounts until the hire is up to speed."""
        from IPython.display import HTML

        if "staffing_hires" not in tables:  # the staffing step's list says which hires are replacements
            tables = {**tables, "staffing_hires": self.planned_hires}
        people, part = tables.get("targets_person"), hires_part(tables)
        if people is None:
            return None
        money = lambda v: format_money(v, self.unit, self.lang)  # noqa: E731
        quota, counted, total = (part.quota, part.counted, part.plan) if part else (0.0, 0.0, float(people["target"].sum()))
        moved = int(tables["territory_assignment"]["moved"].sum()) if "territory_assignment" in tables else 0
        holder = self.w("holder_manager" if str(facts.get("vacancy_holders") or "") else "holder_today")
        text = self.w("nb04_follow_text").format(
            moved=f"{moved:,}", handed=money(-float(people["handed_over"].sum())), hires=part.hires if part else 0, quota=money(quota),
            share=f"{quota / total:.1%}" if total else "–", expected=money(counted),
            held=money(float(people["vacancy_held"].sum() + people["ramp_held"].sum())), holder=holder,
            replacements=self.w("hires_replace").format(replacements=part.replacements) if part and part.replacements else "")
        return HTML(f"<p>{_html.escape(text)}</p>")

    def follow_chart(self, people: pd.DataFrame) -> Any:
        """Each region's target split by who carries it: today's reps, held for hires, the hires' ramped quotas."""
        import matplotlib.pyplot as plt

        reps = people["kind"] == "rep"
        parts = pd.DataFrame({
            "follow_reps": (people[["first_allocation", "handed_over", "taken_over"]].sum(axis=1)).where(reps, 0.0),
            "follow_held": (people["vacancy_held"] + people["ramp_held"]).where(reps, 0.0),
            "follow_hires": people["ramped_quota"],
            "region_id": people["region_id"]}).groupby("region_id").sum() / self.scale
        parts = parts.loc[parts.sum(axis=1).sort_values().index]
        fig, ax = plt.subplots(figsize=(10, 0.6 * len(parts) + 1.6))
        left = np.zeros(len(parts))
        labels = [self.code(self.region_names.get(r, r)) for r in parts.index]
        for key, colour in (("follow_reps", "tab:blue"), ("follow_held", "tab:orange"), ("follow_hires", "tab:green")):
            ax.barh(labels, parts[key].to_numpy(), left=left, color=colour, label=self.w(key))
            left += parts[key].to_numpy()
        ax.set_title(f"{self.w('follow_chart_title')} ({self.money})")
        self.scaled_axis(ax, "x")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        return fig

    def follow_table(self, people: pd.DataFrame, rows: int = 20) -> Any:
        """The people whose target the hand-over changes most (largest change first), with the ledger."""
        order = (people["target"] - people["first_allocation"]).abs().sort_values(ascending=False, kind="stable").index
        return self.table("targets_person", people.loc[order], rows=rows,
                          columns=["person_id", "region_id", "first_allocation", "handed_over", "taken_over", "vacancy_held",
                                   "ramp_held", "ramped_quota", "target", "change", "accounts_end"],
                          names={"person_id": self.territory_names()}, where="targets_person")

    def balance_chart(self, metrics: pd.DataFrame, balance_on: Mapping[str, float]) -> Any:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(balance_on), 2, figsize=(10, 3.2 * len(balance_on)), squeeze=False, sharey="row")
        for row, (measure, tol) in enumerate(balance_on.items()):
            for col, plan in enumerate(("today", "proposed")):
                ax = axes[row, col]
                dev = metrics.loc[metrics["plan"] == plan, f"{measure}_dev"].sort_values().to_numpy() * 100
                ax.bar(range(len(dev)), dev, color=np.where(within_tolerance(np.abs(dev) / 100, tol), "tab:blue", "tab:red"))
                ax.axhspan(-tol * 100, tol * 100, color="tab:green", alpha=0.12)
                ax.set_title(f"{self.w(plan)}: {self.header(measure)}, {self.w('deviation')} (%)")
                ax.set_xticks([])
        fig.tight_layout()
        return fig

    def frontier_sentence(self, points: pd.DataFrame, params: Any) -> str:
        """Which disruption meets the tolerances (or comes closest) and which one the proposal uses."""
        limit = lambda v: self.w("no_limit") if v >= 1 else f"{v:.0%}"  # noqa: E731
        balance_on = dict(params.balance_on)
        ok = points[points["within_tolerance"]]

        def devs(point: pd.Series) -> str:
            return ", ".join(f"{self.header(m)} ±{point[f'max_{m}_dev']:.1%} / {tol:.0%}" for m, tol in balance_on.items()
                             if f"max_{m}_dev" in point)
        if len(ok):
            met = ok.sort_values("max_disruption").iloc[0]
            key = "frontier_meets_unlimited" if float(met["max_disruption"]) >= 1 else "frontier_meets"
            first = self.w(key).format(limit=limit(float(met["max_disruption"])), moved=f"{met['moved_share']:.0%}",
                                                    accounts=f"{int(met['moved_units']):,}", devs=devs(met))
        else:
            best = points[points["max_disruption"] == pick(points, balance_on)].iloc[0]
            first = self.w("frontier_none").format(limit=limit(float(best["max_disruption"])), devs=devs(best))
        if points["chosen"].any():
            second = self.w("frontier_picked").format(limit=limit(float(points.loc[points["chosen"], "max_disruption"].iloc[0])))
        elif params.max_disruption is None:
            second = self.w("frontier_fixed").format(limit=self.w("no_limit"))
        else:
            second = self.w("frontier_fixed").format(limit=limit(float(params.max_disruption)))
        return f"{first} {second}"

    def frontier_line(self, points: pd.DataFrame | None, params: Any) -> Any:
        """The leadership page's line on the frontier: the smallest disruption that meets the tolerances
        (or the closest) and the one the proposal uses."""
        from IPython.display import HTML

        if points is None or points.empty:
            return None
        return HTML(f"<p>{_html.escape(self.frontier_sentence(points, params))}</p>")

    def territory_frontier(self, points: pd.DataFrame, params: Any) -> Any:
        """The disruption-balance frontier: a sentence, the chart (largest deviation per measure against the
        share of potential moved, tolerances dashed, the chosen point ringed) and the table."""
        import matplotlib.pyplot as plt
        from IPython.display import HTML

        if points is None or points.empty:  # nobody holds a territory today: no frontier
            return None, None, None
        balance_on = dict(params.balance_on)
        fig, ax = plt.subplots(figsize=(8, 3.6))
        x = points["moved_share"].to_numpy() * 100
        for i, (m, tol) in enumerate(balance_on.items()):
            if f"max_{m}_dev" not in points:
                continue
            y = np.maximum(points[f"max_{m}_dev"].to_numpy() * 100, 0.1)  # a log axis: 0.1% stands for "none"
            colour = f"C{i}"
            ax.plot(x, y, marker="o", color=colour, label=self.header(m))
            ax.axhline(tol * 100, color=colour, ls="--", lw=0.9, label=f"{self.header(m)}: {self.w('frontier_tolerance')}")
            chosen = points["chosen"].to_numpy()
            if chosen.any():
                ax.scatter(x[chosen], y[chosen], s=160, facecolors="none", edgecolors="k", zorder=5)
        from matplotlib.ticker import FuncFormatter

        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel(self.w("frontier_x"))
        ax.set_ylabel(self.w("frontier_y"))
        ax.set_title(self.w("frontier_title"))
        ax.legend(fontsize=8)
        fig.tight_layout()
        table = self.table("territory_frontier", points, columns=[c for c in points.columns if c != "stopped_by"])
        return HTML(f"<p>{_html.escape(self.frontier_sentence(points, params))}</p>"), fig, table

    def moves_table(self, moves: pd.DataFrame, rows: int = 20) -> Any:
        reps = self.territory_names()
        city = local_column("city", self.lang)  # the moves table has the English name; the reader's if on file
        shown = moves.assign(from_territory=moves["from_territory"].map(lambda r: reps.get(r, r)),
                             to_territory=moves["to_territory"].map(lambda r: reps.get(r, r)))
        if city != "city_en" and city in self.ws.input("customers"):
            shown["city_en"] = shown["customer_id"].map(self.ws.input("customers").set_index("customer_id")[city])
        return self.table("territory_moves", shown.drop(columns=["customer_id"]), rows=rows)
