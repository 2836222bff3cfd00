"""Drawing for targets people can meet: the chance curve, each unit's chance beside its target,
the growth bounds, the months against the year before, and where tracking stands.

Like :mod:`salesmodel.report.pages`, nothing here computes a plan figure: the tables
(``chance_curve``, ``achievability``, ``targets_bounds``, ``plan_company_month``, ``pacing``,
``key_figures``) hold them; this module selects, labels and draws.
"""
from __future__ import annotations

import html as _html
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.report import MONEY_DECIMALS, format_money, month_label
from salesmodel.report.page_base import _number_format
from salesmodel.report.tracking_page import TrackingPage

__all__ = ["ChancePage"]


def _p(text: str) -> Any:
    from IPython.display import HTML

    return HTML(f"<p>{_html.escape(text)}</p>")


def _no_negative_zero(values: pd.Series) -> pd.Series:
    """Growth within a twentieth of a point of zero shown as +0.0% (not -0.0%)."""
    return values.where(values.abs() >= 5e-4, 0.0)


class ChancePage(TrackingPage):
    """The chance, bounds and "where are we" views of pages 02, 05 and 10."""

    # ---- the chance curve ---------------------------------------------------------------
    def chance_sentence(self, curve: pd.DataFrame | None) -> Any:
        """Where the plan sits on the company's curve and the target met with a 50% chance."""
        if curve is None or not (curve["level"] == "company").any():
            return _p(self.w("probability_missing"))
        c = curve[curve["level"] == "company"]
        plan, half = c[c["point"] == "plan"].iloc[0], c[c["point"] == "median"].iloc[0]
        text = self.w("chance_sentence").format(
            target=format_money(plan["target"], self.unit, self.lang), growth=plan["growth_over_last_year"],
            prob=plan["probability"], half=format_money(half["target"], self.unit, self.lang),
            half_growth=half["growth_over_last_year"])
        total = self.ws.params.targets.total
        chance = getattr(total, "chance", None)
        if chance is not None:
            text = text + self.w("sep_words") + self.w("chance_params_sentence").format(p=chance)
        return _p(text)

    def chance_curve_chart(self, curve: pd.DataFrame | None) -> Any:
        """Chance against growth over last year: the company bold, each region thin; the plan as dots."""
        import matplotlib.pyplot as plt

        if curve is None or curve.empty:
            return None
        fig, ax = plt.subplots(figsize=(8.5, 4.2))
        names = {"company": self.w("company"), **self.region_names}
        units = [("company", "company")] + [("region", u) for u in sorted(curve.loc[curve["level"] == "region", "unit_id"].unique())]
        for i, (level, unit) in enumerate(units):
            part = curve[(curve["level"] == level) & (curve["unit_id"] == unit)]
            if part.empty:
                continue
            line = part[part["point"] == "curve"].sort_values("target")
            bold = level == "company"
            drawn = ax.plot(line["growth_over_last_year"] * 100, line["probability"] * 100, lw=2.6 if bold else 1.1,
                            color="#1F3864" if bold else f"C{i}", label=names.get(unit, unit), zorder=3 if bold else 2)
            plan = part[part["point"] == "plan"]
            ax.scatter(plan["growth_over_last_year"] * 100, plan["probability"] * 100, s=60 if bold else 28,
                       color=drawn[0].get_color(), edgecolor="white", zorder=4)
        company = curve[(curve["level"] == "company") & (curve["point"] == "median")]
        if len(company):
            x = float(company["growth_over_last_year"].iloc[0]) * 100
            ax.axvline(x, color="#1F3864", lw=0.9, ls="--")
            ax.annotate(f"{self.w('chance_half')}: {x:+.1f}%", (x, 3), fontsize=8, color="#1F3864",
                        xytext=(4, 0), textcoords="offset points")
            plan = curve[(curve["level"] == "company") & (curve["point"] == "plan")].iloc[0]
            ax.annotate(f"{self.w('chance_plan')}: {plan['probability']:.0%} ({plan['growth_over_last_year']:+.1%})",
                        (plan["growth_over_last_year"] * 100, plan["probability"] * 100), fontsize=9,
                        xytext=(8, 8), textcoords="offset points", color="#1F3864", fontweight="bold")
        ax.axhline(50, color="0.6", lw=0.6)
        ax.set_ylim(0, 100)
        ax.set_xlabel(self.w("chance_axis_growth"))
        ax.set_ylabel(self.w("chance_axis_chance"))
        ax.legend(fontsize=8, loc="upper right")
        fig.tight_layout()
        return fig

    def chance_points_table(self, curve: pd.DataFrame | None) -> Any:
        """The plan's point and the 50% point of the company and each region."""
        if curve is None or curve.empty:
            return None
        part = curve[curve["point"].isin(["plan", "median"])].copy()
        names = {"company": self.w("company"), **self.region_names}
        part["unit_id"] = part["unit_id"].map(lambda u: names.get(u, u))
        for col in ("growth_over_baseline", "growth_over_last_year"):
            part[col] = _no_negative_zero(part[col])
        return self.table("chance_curve", part, columns=["unit_id", "point", "target", "probability",
                                                         "growth_over_baseline", "growth_over_last_year"],
                          headers={"unit_id": self.w("chance_unit")})

    # ---- each unit's chance beside its target -------------------------------------------
    def unit_chance_table(self, targets: pd.DataFrame, achievability: pd.DataFrame, level: str, rows: int = 20) -> Any:
        """The level's units, lowest chance first: target, growth over last year and over the baseline, chance."""
        key = f"{level}_id"
        ach = achievability[achievability["level"] == level].set_index("unit_id")
        t = targets.copy()
        t["probability"] = t[key].astype(str).map(ach["probability"]).astype(float)
        t["growth_over_baseline"] = _no_negative_zero(t[key].astype(str).map(ach["growth_asked"]).astype(float))
        how = "equal_chance" if "allocation" in t.columns and (t["allocation"] == "equal_chance").any() else "basis"
        t = t.sort_values(["probability", key]).reset_index(drop=True)
        shown = pd.DataFrame({
            self.w(level): t[key].map(lambda u: self.names_for(key).get(u, u)).head(rows),
            self.w("target"): (t["target"] / self.scale).head(rows),
            self.w("growth_over_last_year"): t["growth"].head(rows),
            self.w("growth_over_baseline"): t["growth_over_baseline"].head(rows),
            self.w("chance"): t["probability"].head(rows),
            self.w("bound_applied"): t["bound_applied"].map(self.code).head(rows),
        })
        decimals = MONEY_DECIMALS[self.unit]
        fmt = {self.w("target"): _number_format(f"{{:,.{decimals}f}}", decimals, self.lang),
               self.w("growth_over_last_year"): _number_format("{:+.1%}", 3, self.lang),
               self.w("growth_over_baseline"): _number_format("{:+.1%}", 3, self.lang),
               self.w("chance"): _number_format("{:.1%}", None, self.lang)}
        p = t["probability"]
        spread = f" {self.w('chance')}: {p.min():.1%}–{p.max():.1%}." if p.notna().any() else ""
        caption = " ".join([self.caption(money=True, shown=len(shown), total=len(t), where=f"targets_{level}"),
                            self.w("chance_unit_table_caption").format(how=self.code(how)) + spread])
        return shown.style.format(fmt, na_rep="–").hide(axis="index").set_caption(caption)

    # ---- the growth bounds ---------------------------------------------------------------
    def bounds_table(self, bounds: pd.DataFrame) -> Any:
        total = pd.DataFrame([{"region_id": self.w("company"), "customers": int(bounds["customers"].sum()),
                               "at_upper": int(bounds["at_upper"].sum()), "at_lower": int(bounds["at_lower"].sum()),
                               "target": float(bounds["target"].sum()),
                               "target_at_bound": float(bounds["target_at_bound"].sum())}])
        total["share_at_bound"] = (total["at_upper"] + total["at_lower"]) / total["customers"]
        total["money_share_at_bound"] = total["target_at_bound"] / total["target"]
        out = pd.concat([bounds, total], ignore_index=True)
        return self.table("targets_bounds", out)

    # ---- months against the year before --------------------------------------------------
    def year_before_table(self, months: pd.DataFrame) -> Any:
        """Each month's target beside the same month a year before (sales, or the forecast, labelled),
        and January + February together."""
        if "year_before" not in months.columns:
            return None
        m = months.copy()
        jan_feb = m[pd.to_datetime(m["start"]).dt.month.isin([1, 2])]
        m["period"] = m["period"].map(lambda p: month_label(p, self.lang, with_year=True))
        if len(jan_feb) == 2:
            yb = float(jan_feb["year_before"].sum())
            src = "actual" if (jan_feb["year_before_source"] == "actual").all() else "baseline"
            row = {"period": self.w("jan_feb"), "target": float(jan_feb["target"].sum()), "year_before": yb,
                   "year_before_source": src,
                   "growth_over_year_before": float(jan_feb["target"].sum()) / yb - 1.0 if yb > 0 else np.nan}
            m = pd.concat([m, pd.DataFrame([row])], ignore_index=True)
        return self.table("plan_company_month", m, columns=["period", "target", "year_before", "year_before_source",
                                                            "growth_over_year_before"])

    # ---- tracking: where are we ----------------------------------------------------------
    def where_we_are(self, pace: pd.DataFrame | None, as_of: str) -> Any:
        """The company's achievement to date and its year-end projections, from ``pacing``."""
        if pace is None or not (pace["level"] == "company").any():
            return None
        c = pace[pace["level"] == "company"].iloc[0]
        money = lambda v: format_money(float(v), self.unit, self.lang)  # noqa: E731
        text = self.w("where_sentence").format(as_of=as_of, actual=money(c["actual_to_date"]),
                                               to_date=money(c["target_to_date"]), ach=c["achievement"])
        tt = float(c["target_full"])
        sep = self.w("sep_words")
        if float(c["remaining_days"]) > 0:
            text += sep + self.w("where_projection").format(
                proj=money(c["projection"]), proj_ach=float(c["projection"]) / tt if tt else np.nan,
                target=money(tt), run=money(c["run_rate_projection"]),
                run_ach=float(c["run_rate_projection"]) / tt if tt else np.nan)
        else:
            text += sep + self.w("where_year_over")
        return _p(text)

    def ranking_tables(self, pace: pd.DataFrame, level: str, rows: int) -> list[Any]:
        """The best and the worst ``rows`` units of a level by achievement, each captioned "N of M"."""
        part = pace[pace["level"] == level].sort_values(["rank", "unit_id"])
        m = len(part)
        n = min(rows, m)
        out = []
        for key, chunk in (("ranking_top", part.head(n)), ("ranking_bottom", part.tail(n).iloc[::-1])):
            if key == "ranking_bottom" and m <= rows:
                break  # every unit is in the first table
            styler = self.pacing_table(chunk, level, n)
            out.append(styler.set_caption(f"{self.w(key).format(n=n, m=m)}{self.w('sep_sentences')}{self.caption(money=True)}"))
        return out

    def pacing_mix_table(self, mix: pd.DataFrame | None) -> Any:
        """Achievement to date by product and by channel (``pacing_mix``)."""
        if mix is None or mix.empty:
            return None
        names = {c: self.w(c) for c in ("online", "offline", "partner")}
        shown = mix.assign(key=mix["key"].map(lambda k: self.code(names.get(k, k))))
        return self.table("pacing_mix", shown, columns=["dimension", "key", "target_full", "target_to_date",
                                                        "actual_to_date", "achievement"])
