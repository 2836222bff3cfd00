"""The leadership page's drawing: what its notebook shows, from the step's tables."""
from __future__ import annotations

import html as _html
from typing import Any

import pandas as pd

from salesmodel.pipeline.key_figures import MONTH_CORRELATION, KeyFigures
from salesmodel.report import (
    format_money,
    month_label,
)
from salesmodel.report.charts import headline_tiles
from salesmodel.report.page_base import PageBase
from salesmodel.report.risks import risks as risk_sentences
from salesmodel.schema import tables as declared
from salesmodel.schema.vocabulary import has_word


class LeadershipPage(PageBase):
    """The leadership page."""

    def risks_list(self, risks: pd.DataFrame) -> Any:
        from IPython.display import HTML

        names = {**self.region_names, **self.province_names, **self.rep_names}
        if (risks["kind"] == "stock").any():  # the stores below the stock band, by the names readers know
            names.update(self.customer_names)
        sentences = risk_sentences(risks, language=self.lang, names=names, money_unit=self.unit)
        items = "".join(f"<li>{_html.escape(r)}</li>" for r in sentences)
        return HTML(f"<ul>{items}</ul>")

    def tiles(self, key_figures: pd.DataFrame) -> Any:
        return headline_tiles(KeyFigures.from_table(key_figures), language=self.lang, money_unit=self.unit)

    def probability_text(self, key_figures: pd.DataFrame) -> Any:
        """What the company-level chance means and how it was computed, in one paragraph."""
        from IPython.display import HTML

        f = KeyFigures.from_table(key_figures)
        if f.probability_of_meeting is None or f.total_target is None:
            return HTML(f"<p>{_html.escape(self.w('probability_missing'))}</p>")
        text = self.w("probability_sentence").format(
            prob=f.probability_of_meeting, target=format_money(f.total_target, self.unit, self.lang),
            baseline=format_money(f.baseline or float("nan"), self.unit, self.lang), rho=MONTH_CORRELATION)
        return HTML(f"<p>{_html.escape(text)}</p>")

    def plan_figures(self, key_figures: pd.DataFrame) -> Any:
        """The expense budget (against its cap), the stock at the stores against the band and the gap of the
        reps' commitments, as the ``key_figures`` table has them; None when the run has none of them."""
        from IPython.display import HTML

        f = KeyFigures.from_table(key_figures)
        sep = self.w("sep_clauses")
        rows: list[tuple[str, str]] = []
        if f.budget is not None:
            share = f.budget_share_of_target if f.budget_share_of_target is not None else float("nan")
            parts = [self.w("kf_budget_value").format(budget=format_money(f.budget, self.unit, self.lang), share=share)]
            cap = self.ws.params.budget.cap_share
            parts.append(self.w("kf_budget_cap").format(cap=cap) if cap is not None else self.w("kf_budget_no_cap"))
            asked = None if f.budget_asked is None else format_money(f.budget_asked, self.unit, self.lang)
            if asked is not None and asked != format_money(f.budget, self.unit, self.lang):  # a cap cut it
                parts.append(self.w("kf_budget_asked").format(asked=asked))
            rows.append((self.w("kf_budget"), sep.join(parts)))
        if f.stock_below is not None:
            tr = self.ws.params.tracking
            rows.append((self.w("kf_stock"), self.w("kf_stock_value").format(
                below=f.stock_below, above=f.stock_above or 0, floor=tr.stock_floor_days, ceiling=tr.stock_ceiling_days)))
        if f.commitment_gap is not None:
            gap = f.commitment_gap
            signed = ("+" if gap > 0 else "−" if gap < 0 else "") + format_money(abs(gap), self.unit, self.lang)
            rows.append((self.w("kf_commitments"), self.w("kf_commitments_value").format(gap=signed)))
        if not rows:
            return None
        body = "".join(f"<tr><th style='text-align:left;padding:4px 12px 4px 0'>{_html.escape(k)}</th>"
                       f"<td style='text-align:left;padding:4px 0'>{_html.escape(v)}</td></tr>" for k, v in rows)
        return HTML(f"<h4>{_html.escape(self.w('kf_heading'))}</h4><table>{body}</table>"
                    f"<p><small>{_html.escape(self.w('kf_where'))}</small></p>")

    def flags_table(self, flagged: pd.DataFrame, achievability: pd.DataFrame) -> Any:
        """The handful of units flagged for leadership, most money at risk first, and how many were below the threshold."""
        if not len(flagged):  # nobody below the threshold: say so rather than draw an empty table
            from IPython.display import HTML

            return HTML(f"<p>{_html.escape(self.w('risk_none'))}</p>")
        level = flagged["level"].iloc[0]
        below = int((achievability["flag"].astype(bool) & (achievability["level"] == level)).sum())
        cols = ["rank", "unit_id", "target", "baseline", "growth_asked", "probability", "money_at_risk"]
        styler = self.table("flagged_units", flagged, columns=cols, headers={"unit_id": self.w(f"code_{level}")},
                            names={"unit_id": {**self.region_names, **self.province_names, **self.rep_names}})
        threshold = self.ws.params.targets.achievability_threshold
        note = self.w("flags_count").format(shown=len(flagged), below=below, threshold=threshold)
        return styler.set_caption(f"{self.caption(money=True)} {note}")

    def region_target_chart(self, regions: pd.DataFrame) -> Any:
        import matplotlib.pyplot as plt

        names = self.region_names
        tr = regions.assign(region=regions["region_id"].map(lambda r: names.get(r, r))).sort_values("target")
        fig, ax = plt.subplots(figsize=(8, 3.2))
        window = ""
        if self.ws.has_table("targets_total"):
            tt = self.ws.table("targets_total").iloc[0]
            window = self.w("last_year_window").format(first=month_label(tt.last_year_first, self.lang, with_year=True),
                                                       last=month_label(tt.last_year_last, self.lang, with_year=True))
        ax.barh(tr["region"], tr["last_year"] / self.scale, color="#BFC9D9", label=window or self.w("last_year"))
        ax.barh(tr["region"], tr["target"] / self.scale, height=0.4, color="#2F5597", label=self.w("target"))
        ax.set_title(self.w("target_by_region"))
        ax.set_xlabel(self.money)
        self.scaled_axis(ax, "x")
        ax.legend(loc="lower right")
        return fig

    def plan_baseline_chart(self, months: pd.DataFrame, levels: pd.DataFrame | None) -> Any:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 3.2))
        x = [month_label(p, self.lang) for p in months["period"].astype(str)]
        ax.bar(x, months["target"] / self.scale, color="#2F5597", label=self.w("target"))
        if "baseline" in months and months["baseline"].notna().any():
            ax.plot(x, months["baseline"] / self.scale, color="#C55A11", marker="o",
                    label=self.w("baseline"))
        if levels is not None and "yhat_lo_80" in levels:
            total = levels[levels["level"] == "total"].assign(period=lambda d: pd.to_datetime(d["ds"]).dt.strftime("%Y-%m"))
            total = total[total["period"].isin(set(months["period"].astype(str)))]
            ax.fill_between([month_label(p, self.lang) for p in total["period"]], total["yhat_lo_80"] / self.scale,
                            total["yhat_hi_80"] / self.scale, color="#C55A11", alpha=0.15, label=self.w("interval_80"))
        ax.set_title(self.w("plan_by_month"))
        ax.set_ylabel(self.money)
        self.scaled_axis(ax)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
        return fig

    def capacity_target_chart(self, plan: pd.DataFrame) -> Any:
        import matplotlib.pyplot as plt

        monthly = plan[~plan["lead_in"]].groupby("month", as_index=False)[["target", "capacity"]].sum()
        monthly["month"] = monthly["month"].map(lambda m: month_label(m, self.lang))
        fig, ax = plt.subplots(figsize=(9, 3.0))
        ax.bar(monthly["month"], monthly["target"] / self.scale, color="#BFC9D9", label=self.w("target"))
        ax.plot(monthly["month"], monthly["capacity"] / self.scale, color="#2F5597", marker="o", label=self.w("capacity"))
        ax.set_title(self.w("capacity_vs_target"))
        ax.set_ylabel(self.money)
        self.scaled_axis(ax)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
        return fig

    def territory_balance_chart(self, metrics: pd.DataFrame) -> Any:
        """Each proposed territory's deviation from the mean, per balanced measure (declared ``*_dev`` columns)."""
        import matplotlib.pyplot as plt

        proposed = metrics[metrics["plan"] == "proposed"]
        measures = [c.name.removesuffix("_dev") for c in declared.TABLES["territory_metrics"].columns
                    if c.name.endswith("_dev") and c.name in proposed.columns and proposed[c.name].notna().any()]
        fig, ax = plt.subplots(figsize=(9, 3.0))
        for measure in measures:
            ax.plot(range(len(proposed)), proposed[f"{measure}_dev"].sort_values().to_numpy() * 100, marker=".",
                    label=self.header(measure))
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_ylabel("%")
        ax.set_title(self.w("territory_balance"))
        ax.legend()
        return fig

    def provenance(self) -> Any:
        from IPython.display import HTML

        prov = self.ws.provenance()
        rows = "".join(
            f"<tr><td>{_html.escape(k)}</td><td><code>{_html.escape(str(v))}</code></td></tr>"
            for k, v in [(self.w("prov_run"), prov["run_id"]), (self.w("prov_params"), prov["params_sha256"]),
                         (self.w("prov_version"), prov["salesmodel"]), (self.w("prov_git"), prov["git_commit"] or "–")]
            + [(self.w("prov_input").format(name=self.w(f"input_{k}") if has_word(f"input_{k}") else k), h)
               for k, h in prov["inputs_sha256"].items()]
        )
        said = ""
        if self.english_names:  # said once, at the foot of the page
            said = f"<p><small>{_html.escape(self.w('names_in_english'))}</small></p>"
        return HTML(f"<hr><h4>{_html.escape(self.w('provenance'))}</h4><table>{rows}</table>{said}")
