"""The drawing of each page: charts and readable tables from a step's declared tables.

Notebooks stay thin: a ``parameters`` cell, ``ws.step(...)``, then calls of the
functions here. Nothing here computes a plan figure; it selects, labels, scales
money to the reader's unit and draws. Units come from the table declarations
(:mod:`salesmodel.schema.tables`), words from :mod:`salesmodel.schema.vocabulary`.

>>> page = Page(open_run(params_file, run_dir))          # doctest: +SKIP
>>> show(page.table("targets_region", step.tables["targets_region"]))  # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import functools
import html as _html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain import overview
from salesmodel.report import (
    MONEY_DECIMALS,
    dekad_label,
    format_money,
    heading,
    money_formatter,
    money_scale,
    money_unit_label,
    month_label,
    setup_fonts,
)
from salesmodel.schema import tables as declared
from salesmodel.schema.vocabulary import has_word, word

__all__ = ["ComparisonPage", "Page", "show"]


def show(*items: Any) -> None:
    """Display tables, headings and figures in a notebook (figures are closed after showing)."""
    from IPython.display import display
    from matplotlib.figure import Figure

    for item in items:
        if item is None:
            continue
        display(item)
        if isinstance(item, Figure):
            import matplotlib.pyplot as plt

            plt.close(item)


def _month_date_formatter(language: str) -> Any:
    """Date ticks as '2026年3月' / 'Mar 2026'."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: month_label(mdates.num2date(v).strftime("%Y-%m"), language, with_year=True))


class Page:
    """A notebook page's reader: language, money unit, and the names readers know ids by."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.lang = ws.params.report.language
        self.unit = ws.params.report.money_unit
        self.scale = money_scale(self.unit)
        self.money = money_unit_label(self.unit, self.lang)
        self.english_names: set[str] = set()  # inputs whose names this page showed in English (no name_<lang>)
        setup_fonts()

    # ---- words and names --------------------------------------------------------------
    def w(self, key: str) -> str:
        return word(key, self.lang)

    def _names(self, kind: str, id_col: str, name_col: str | None = None) -> dict[Any, str]:
        table = self.ws.input(kind)
        if kind == "org":
            table = table.rename(columns={"unit_id": id_col})
        if name_col is not None:
            return dict(zip(table[id_col], table[name_col]))
        if not {"name_en", "name"} & set(table.columns):
            return {}
        if overview.names_fall_back(table, self.lang):
            self.english_names.add(kind)
        return overview.unit_names(table, id_col, self.lang).to_dict()

    @property
    def region_names(self) -> dict[Any, str]:
        return self._names("org", "region_id")

    @property
    def province_names(self) -> dict[Any, str]:
        return self._names("provinces", "province_id")

    @property
    def rep_names(self) -> dict[Any, str]:
        return self._names("reps", "rep_id", "rep_name")

    @property
    def planned_hires(self) -> pd.DataFrame:
        """The run's planned hires (staffing_hires), empty when the run has none."""
        if hasattr(self.ws, "has_table") and self.ws.has_table("staffing_hires"):
            return self.ws.table("staffing_hires")
        return pd.DataFrame(columns=["hire_id", "start_month", "base_lat", "base_lon", "base_city_en", "base_city_zh"])

    def hire_names(self, short: bool = False) -> dict[str, str]:
        """A planned hire's territory in words: 'New hire H003 (starts Mar 2027)' (``short``: 'H003 (new)')."""
        key = "territory_hire_short" if short else "territory_hire"
        hires = self.planned_hires
        return {str(h): self.w(key).format(hire=h, month=month_label(str(m), self.lang, with_year=True))
                for h, m in zip(hires["hire_id"], hires["start_month"])}

    def territory_names(self, short: bool = False) -> dict[Any, str]:
        """Who holds a territory: a rep's name, or a planned hire in words (territory.organisation 'planned')."""
        return {**self.hire_names(short), **self.rep_names}

    def territory_bases(self) -> pd.DataFrame:
        """Each territory holder's base by rep_id: today's reps' and the planned hires' proposed ones."""
        cols = ["base_lat", "base_lon", "base_city_en", "base_city_zh"]
        reps = self.ws.input("reps").set_index("rep_id")
        hires = self.planned_hires.rename(columns={"hire_id": "rep_id"}).set_index("rep_id")
        frames = [f[[c for c in cols if c in f.columns]] for f in (reps, hires) if len(f)]
        out = pd.concat(frames) if frames else reps[[c for c in cols if c in reps.columns]]
        return out[~out.index.duplicated(keep="first")]

    @property
    def customer_names(self) -> dict[Any, str]:
        return self._names("customers", "customer_id", "customer_name")

    def names_for(self, column: str) -> dict[Any, str]:
        if column == "region_id":
            return self.region_names
        if column == "province_id":
            return self.province_names
        if column == "rep_id":
            return self.rep_names
        if column == "channel":
            return {c: self.w(c) for c in ("online", "offline", "partner")}
        return {}

    def code(self, value: Any) -> Any:
        """A code from the tables (role, level, method, status...) in the reader's words; other values as they are."""
        if isinstance(value, (bool, np.bool_)):
            return self.w(f"code_{str(bool(value)).lower()}")
        if isinstance(value, str) and has_word(f"code_{value}"):
            return self.w(f"code_{value}")
        return value

    def header(self, column: str, unit: str | None = None) -> str:
        column = str(column)
        keys = (column.removesuffix("_id"), f"col_{column}", column) if column.endswith("_id") else (f"col_{column}", column)
        for key in keys:
            if has_word(key):
                return self.w(key)
        return column.replace("_", " ")

    def text(self, key: str) -> Any:
        """A page's narrative from the vocabulary: '# ' / '## ' texts are headings, others a paragraph."""
        from IPython.display import HTML

        value = self.w(key)
        level = len(value) - len(value.lstrip("#"))
        if level:
            return HTML(f"<h{level}>{_html.escape(value[level:].strip())}</h{level}>")
        return HTML(f"<p>{_html.escape(value)}</p>")

    def caption(self, *, money: bool, shown: int | None = None, total: int | None = None,
                where: str | None = None) -> str:
        parts = [self.w("amounts_in").format(unit=self.money)] if money else []
        if shown is not None and total is not None and shown < total:
            if where == "workbook":
                place = self.w("where_workbook")
            elif has_word(f"sheet_{where}"):  # the workbook holds the table whole, on a sheet of its own
                place = self.w("where_sheet").format(sheet=self.w(f"sheet_{where}"))
            elif where in ("stock_cover", "stock_orders"):
                place = self.w("where_sheet").format(sheet=self.w("sheet_stock"))
            else:
                place = self.w("where_tables").format(name=where)
            parts.append(self.w("rows_shown").format(shown=shown, total=total, where=place))
        return " ".join(parts)

    # ---- tables -----------------------------------------------------------------------
    _NUMBER_FORMATS = {"people": "{:,.1f}", "count": "{:,.0f}", "hours": "{:,.0f}", "km": "{:,.1f}",
                       "days": "{:,.0f}", "months": "{:,.0f}", "index": "{:,.2f}", "score": "{:,.2f}",
                       "units": "{:,.0f}"}

    def table(self, name: str, df: pd.DataFrame, *, columns: Sequence[str] | None = None, index: str | None = None,
              rows: int | None = None, decimals: int | None = None, where: str | None = None,
              headers: Mapping[str, str] | None = None, names: Mapping[str, Mapping[Any, str]] | None = None) -> Any:
        """A declared table for reading: ids as names, codes in words, money in the reader's unit (stated in the
        caption), shares as percentages, dates as dates, no index; cut to ``rows`` with a note saying where the rest is."""
        spec = declared.TABLES[name]
        total_rows = len(df)
        out = df[list(columns)] if columns is not None else df.copy()
        if rows is not None:
            out = out.head(rows)
        out = out.copy()
        if decimals is None:
            decimals = MONEY_DECIMALS[self.unit]
        formats: dict[str, Any] = {}
        rename: dict[str, str] = {}
        has_money = False
        for column in out.columns:
            col = spec.column(str(column))
            mapping = (names or {}).get(str(column)) or self.names_for(str(column))
            if mapping:
                out[column] = out[column].map(lambda k, m=mapping: m.get(k, k))
            if col.unit == "yuan":
                out[column] = out[column].astype(float) / self.scale
                formats[column] = _number_format(f"{{:,.{decimals}f}}", decimals, self.lang)
                has_money = True
            elif col.unit in ("share", "probability"):
                formats[column] = "{:+.1%}" if "growth" in str(column) else "{:.1%}"
            elif col.kind == "date":
                out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
            elif col.kind == "bool" or col.kind == "text":
                out[column] = out[column].map(self.code)
            elif col.kind == "integer" and col.unit == "people":  # whole people
                formats[column] = "{:,.0f}"
            elif col.kind in ("number", "integer") and col.unit in self._NUMBER_FORMATS:
                formats[column] = self._NUMBER_FORMATS[col.unit]
            elif col.kind == "number":
                formats[column] = "{:,.2f}"
            rename[column] = (headers or {}).get(str(column)) or self.header(str(column), col.unit)
        formats = {c: f if callable(f) else _number_format(f, None, self.lang) for c, f in formats.items()}
        styler = out.style.format(formats, na_rep="–")
        styler = styler.relabel_index([rename[c] for c in out.columns], axis=1).hide(axis="index")
        caption = self.caption(money=has_money, shown=len(out), total=total_rows, where=where or name)
        return styler.set_caption(caption) if caption else styler

    def ytd_table(self, ytd: pd.DataFrame) -> Any:
        """This year so far against the same dates last year, the units by their names."""
        def name(dimension: str, key: Any) -> Any:  # each key through its own dimension's names
            if dimension == "product":
                return f"{self.header('product')} {key}"
            return self.code(self.names_for(dimension).get(key, key))

        shown = ytd.assign(key=[name(d, k) for d, k in zip(ytd["dimension"], ytd["key"])],
                           dimension=ytd["dimension"].map(lambda d: self.header(d) if d != "total" else self.w("code_total")))
        return self.table("same_period_last_year", shown, columns=["dimension", "key", "period_start", "period_end",
                                                                    "amount", "amount_last_year", "growth",
                                                                    "units_growth"])

    def heading(self, key_or_text: str, level: int = 4) -> Any:
        return heading(self.w(key_or_text) if has_word(key_or_text) else key_or_text, level)

    def description(self, level: int = 5) -> Any:
        """The scenario's description in the reader's language; when the params give it in other languages
        only, the one shown and a line naming its language (never another language without a word)."""
        from IPython.display import HTML

        text, lang = self.ws.params.description_in(self.lang)
        if not text:
            return None
        said = ""
        if lang is not None and lang != self.lang:
            said = (f"<p><small>{_html.escape(self.w('description_in_language').format(language=self.w(f'language_{lang}')))}"
                    "</small></p>")
        return HTML(f"<h{level}>{_html.escape(text)}</h{level}>{said}")

    def note_text(self, note: str) -> str:
        """A note of the core in the reader's words (calendar and territory notes are known; others point to run_facts)."""
        m = re.match(r"Working days for (\w+) ([\d, -]+) may be wrong", note)
        if m:
            return self.w("note_calendar").format(country=self.code(m.group(1)), years=m.group(2))
        m = re.match(r"tolerances not met by the best plan found: largest deviation (.*?); moved", note)
        if m:
            detail = re.sub(r"\b(potential|workload)\b", lambda g: self.w(g.group(1)), m.group(1))
            detail = detail.replace("tolerance", self.w("tolerance").lower() if self.lang != "zh" else "容差")
            return self.w("note_territory").format(detail=detail)
        m = re.match(r"Productivity: the role (\S+) has no history to calibrate on", note)
        if m:
            return self.w("note_role_uncalibrated").format(role=self.code(m.group(1)))
        m = re.match(r"Productivity from the params does not replay last year: region (\S+) misses its sales by (\S+)\.", note)
        if m:
            return self.w("note_replay_off").format(region=self.region_names.get(m.group(1), m.group(1)), miss=m.group(2))
        return note if self.lang == "en" else self.w("note_other")

    def notes(self, step: Any) -> Any:
        """The step's notes (warnings of the core) as a short list, or nothing."""
        if not step.notes:
            return None
        from IPython.display import HTML

        texts = list(dict.fromkeys(self.note_text(n) for n in step.notes))
        items = "".join(f"<li>{_html.escape(n)}</li>" for n in texts)
        return HTML(f"<p><b>{_html.escape(self.w('note'))}</b></p><ul>{items}</ul>")

    def money_axis(self, ax: Any, axis: str = "y") -> None:
        (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(money_formatter(self.unit, self.lang))

    def scaled_axis(self, ax: Any, axis: str = "y") -> None:
        """An axis of amounts already in the page's unit: the reader's separators, no offset."""
        (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(money_formatter("yuan", self.lang))

    # ---- overview ---------------------------------------------------------------------
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

    # ---- forecast ---------------------------------------------------------------------
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

    # ---- targets ----------------------------------------------------------------------
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

    # ---- staffing ---------------------------------------------------------------------
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
        return HTML(f"<p>{_html.escape(text)}</p>")

    def hires_cost_text(self, pay_cost: pd.DataFrame) -> Any:
        """What the hires cost in pay this year (from their start, ramped, at 100% of target) and at full year."""
        from IPython.display import HTML

        if "kind" not in pay_cost:
            return None
        scenario = "100%" if "100%" in set(pay_cost["scenario"]) else pay_cost["scenario"].iloc[0]
        hired = pay_cost[(pay_cost["scenario"] == scenario) & (pay_cost["kind"] == "hire")]
        cost = float(hired["expected_pay"].sum())
        ramped = hired[hired["ramp"] >= 1.0].groupby("rep_id")["total_pay"].mean().reindex(hired["rep_id"].unique())
        full = float(ramped.fillna(hired.groupby("rep_id")["total_pay"].last()).sum() * 12) if len(hired) else 0.0
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
        people = tables.get("targets_person")
        if people is not None and (people["kind"] == "hire").any():  # the hires' part of the plan, from the territories
            hired = people[people["kind"] == "hire"]
            quota, total = float(hired["ramped_quota"].sum()), float(people["target"].sum())
            text = self.w("lead_follow").format(hires=len(hired), quota=format_money(quota, self.unit, self.lang),
                                                share=f"{quota / total:.1%}" if total else "–")
            parts.append(f"<p>{_html.escape(text)}</p>")
        return HTML("".join(parts))

    def hires_table(self, hires: pd.DataFrame) -> Any:
        city = "base_city_zh" if self.lang == "zh" else "base_city_en"
        return self.table("staffing_hires", hires, columns=["hire_id", "region_id", "role", "decision_month",
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

    # ---- territory --------------------------------------------------------------------
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
            city_col = "base_city_zh" if self.lang == "zh" else "base_city_en"
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

        people = tables.get("targets_person")
        if people is None:
            return None
        money = lambda v: format_money(v, self.unit, self.lang)  # noqa: E731
        hires = people[people["kind"] == "hire"]
        quota = float(hires["ramped_quota"].sum())
        total = float(people["target"].sum())
        expected = 0.0
        pay = tables.get("pay_cost")
        if pay is not None and "kind" in pay:
            scenario = "100%" if "100%" in set(pay["scenario"]) else pay["scenario"].iloc[0]
            expected = float(pay.loc[(pay["scenario"] == scenario) & (pay["kind"] == "hire"), "target"].sum())
        moved = int(tables["territory_assignment"]["moved"].sum()) if "territory_assignment" in tables else 0
        holder = self.w("holder_manager" if str(facts.get("vacancy_holders") or "") else "holder_today")
        text = self.w("nb04_follow_text").format(
            moved=f"{moved:,}", handed=money(-float(people["handed_over"].sum())), hires=len(hires), quota=money(quota),
            share=f"{quota / total:.1%}" if total else "–", expected=money(expected),
            held=money(float(people["vacancy_held"].sum() + people["ramp_held"].sum())), holder=holder)
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

    def territory_map(self, assignment: pd.DataFrame, metrics: pd.DataFrame) -> Any:
        """The proposed territories on the map: neighbouring territories in different colours,
        each rep's name at the territory's centre, accounts that change territory marked,
        province outlines (China's, shipped in salesmodel/data) or else neighbours joined as
        in the adjacency table."""
        import matplotlib.patheffects as pe
        import matplotlib.pyplot as plt
        from matplotlib.patches import Polygon

        customers = self.ws.input("customers").set_index("customer_id")[["lat", "lon"]]
        provinces = self.ws.input("provinces").set_index("province_id")
        edges = self.ws.input("adjacency")
        names = self.province_names
        where = customers.reindex(assignment["customer_id"])
        fig, ax = plt.subplots(figsize=(10, 8))
        # frame the customers (far provinces without accounts would shrink them to a dot)
        lon_lo, lon_hi = where["lon"].min(), where["lon"].max()
        lat_lo, lat_hi = where["lat"].min(), where["lat"].max()
        pad_lon, pad_lat = 0.04 * (lon_hi - lon_lo) + 0.5, 0.04 * (lat_hi - lat_lo) + 0.5
        ax.set_xlim(lon_lo - pad_lon, lon_hi + pad_lon)
        ax.set_ylim(lat_lo - pad_lat, lat_hi + pad_lat)
        ax.set_aspect(1 / np.cos(np.radians((lat_lo + lat_hi) / 2)))  # a degree of longitude is shorter
        outlines = _province_outlines()
        if set(provinces.index) <= set(outlines):
            for pid in provinces.index:
                for ring in outlines[pid]:
                    ax.add_patch(Polygon(ring, closed=True, facecolor="0.97", edgecolor="0.75", lw=0.6, zorder=0))
        else:  # provinces the shipped outlines do not know: join neighbours as in the adjacency table
            for a, b in edges[["province_a", "province_b"]].itertuples(index=False):
                ax.plot([provinces.loc[a, "lon"], provinces.loc[b, "lon"]], [provinces.loc[a, "lat"], provinces.loc[b, "lat"]],
                        color="0.88", lw=0.8, zorder=1)
        for pid, row in provinces.iterrows():
            ax.annotate(names.get(pid, pid), (row["lon"], row["lat"]), fontsize=7, color="0.55", ha="center",
                        va="center", zorder=2, annotation_clip=True)
        territories = assignment["territory"].astype(str).to_numpy()
        proposed = metrics[metrics["plan"] == "proposed"]
        centres = customers.reindex(proposed["centre"])
        bases = self.territory_bases()
        around_reps = bool(centres["lat"].isna().all()) and {"base_lat", "base_lon"} <= set(bases.columns)
        if around_reps and "region_id" in provinces.columns:
            # the national view by region (each region's territories are on the region maps)
            region = assignment["customer_id"].map(self.ws.input("customers").set_index("customer_id")["province_id"]) \
                .map(provinces["region_id"]).astype(str).to_numpy()
            regions = sorted(set(region))
            region_names = self.region_names
            for i, r in enumerate(regions):
                here = region == r
                ax.scatter(where["lon"].to_numpy()[here], where["lat"].to_numpy()[here], s=14, zorder=3, linewidths=0,
                           c=_MAP_COLOURS[i % len(_MAP_COLOURS)], label=str(region_names.get(r, r)))
        else:
            colour_of = _neighbour_colours(where[["lon", "lat"]].to_numpy(), territories)
            ax.scatter(where["lon"], where["lat"], c=[colour_of[t] for t in territories], s=14, zorder=3, linewidths=0)
        moved = assignment["moved"].astype(bool).to_numpy()
        if moved.any():
            ax.scatter(where["lon"].to_numpy()[moved], where["lat"].to_numpy()[moved], s=1.5, c="k", linewidths=0,
                       zorder=4, label=f"{self.w('accounts_moved')} ({int(moved.sum()):,})")
        if around_reps:  # territories around reps: each rep's base
            centres = bases.reindex(proposed["territory"].astype(str))[["base_lat", "base_lon"]].set_axis(
                ["lat", "lon"], axis=1).apply(pd.to_numeric, errors="coerce")
            ax.scatter(centres["lon"], centres["lat"], marker="^", s=28, c="white", edgecolors="k", linewidths=0.8,
                       zorder=5, label=self.w("col_base_city"))
            proposed, centres = proposed.iloc[0:0], centres.iloc[0:0]  # names on the region maps, not over the provinces' here
        reps = self.territory_names(short=True)
        outline = [pe.withStroke(linewidth=2, foreground="white")]
        # rep names at the centres, largest territories first; a name that would sit on another is left
        # out (every territory is in the tables)
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        placed: list[tuple[float, float]] = []
        order = proposed.assign(lat=centres["lat"].to_numpy(), lon=centres["lon"].to_numpy())
        order = order.sort_values(["units", "territory"], ascending=[False, True])
        for territory, lat, lon in order[["territory", "lat", "lon"]].itertuples(index=False):
            fx, fy = (lon - x0) / (x1 - x0), (lat - y0) / (y1 - y0)
            if any(abs(fx - px) < 0.05 and abs(fy - py) < 0.018 for px, py in placed):
                continue
            placed.append((fx, fy))
            ax.annotate(reps.get(str(territory), str(territory)), (lon, lat), fontsize=6.5, ha="center", va="center",
                        zorder=5, path_effects=outline, annotation_clip=True)
        ax.set_xlabel(self.w("longitude"))
        ax.set_ylabel(self.w("latitude"))
        ax.set_title(f"{self.w('proposed_territories')} ({len(metrics[metrics['plan'] == 'proposed'])})")
        if around_reps:  # beside the map: it would cover accounts in the south-east
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, markerscale=1.5, frameon=False)
            fig.tight_layout()
        elif moved.any():
            ax.legend(loc="lower right", fontsize=8, markerscale=4)
        ax.grid(False)
        return fig

    def territory_region_maps(self, assignment: pd.DataFrame, metrics: pd.DataFrame) -> Any:  # noqa: ARG002
        """One map per region (small multiples): each territory's accounts in a colour that differs from its
        neighbours', each rep's base marked with the rep's name (above the mark; province names below their
        capitals, in grey), province outlines, accounts that change rep ringed in black without hiding them."""
        import math

        import matplotlib.patheffects as pe
        import matplotlib.pyplot as plt
        from matplotlib.patches import Polygon

        customers = self.ws.input("customers").set_index("customer_id")
        provinces = self.ws.input("provinces").set_index("province_id")
        reps = self.territory_bases()
        if not {"base_lat", "base_lon"} <= set(reps.columns) or "region_id" not in provinces.columns:
            return None
        bases = reps[["base_lat", "base_lon"]].apply(pd.to_numeric, errors="coerce")
        region_of = provinces["region_id"]
        a = assignment.join(customers[["lat", "lon", "province_id"]], on="customer_id")
        a["region"] = a["province_id"].map(region_of)
        regions = sorted(a["region"].dropna().unique().tolist())
        if not regions:
            return None
        cols = 3 if len(regions) > 4 else min(2, len(regions))
        rows = math.ceil(len(regions) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(5.4 * cols, 4.8 * rows), squeeze=False)
        outlines = _province_outlines()
        names, rep_names, region_names = self.province_names, self.territory_names(short=True), self.region_names
        outline = [pe.withStroke(linewidth=2.2, foreground="white")]
        for ax, region in zip(axes.flat, regions):
            part = a[a["region"] == region]
            lon_lo, lon_hi, lat_lo, lat_hi = part["lon"].min(), part["lon"].max(), part["lat"].min(), part["lat"].max()
            pad_lon, pad_lat = 0.06 * (lon_hi - lon_lo) + 0.4, 0.06 * (lat_hi - lat_lo) + 0.4
            ax.set_xlim(lon_lo - pad_lon, lon_hi + pad_lon)
            ax.set_ylim(lat_lo - pad_lat, lat_hi + pad_lat)
            ax.set_aspect(1 / np.cos(np.radians((lat_lo + lat_hi) / 2)))
            for pid in provinces.index:
                inside = region_of.get(pid) == region
                for ring in outlines.get(pid, []):
                    ax.add_patch(Polygon(ring, closed=True, facecolor="0.96" if inside else "0.99",
                                         edgecolor="0.6" if inside else "0.85", lw=0.6, zorder=0))
                if inside:
                    ax.annotate(names.get(pid, pid), (provinces.loc[pid, "lon"], provinces.loc[pid, "lat"]),
                                xytext=(0, -10), textcoords="offset points", fontsize=6.5, color="0.5", ha="center",
                                va="top", zorder=2, annotation_clip=True)  # no italic: CJK fonts have none
            territories = part["territory"].astype(str).to_numpy()
            colour_of = _neighbour_colours(part[["lon", "lat"]].to_numpy(), territories, spread=True)
            ax.scatter(part["lon"], part["lat"], c=[colour_of[t] for t in territories], s=12, zorder=3, linewidths=0)
            moved = part["moved"].astype(bool).to_numpy()
            if moved.any():
                ax.scatter(part["lon"].to_numpy()[moved], part["lat"].to_numpy()[moved], s=24, facecolors="none",
                           edgecolors="0.1", linewidths=0.45, zorder=4)
            here = bases.reindex(sorted(set(territories))).dropna()
            (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
            inside = here[(here["base_lon"].between(x0, x1)) & (here["base_lat"].between(y0, y1))]
            ax.scatter(inside["base_lon"], inside["base_lat"], marker="^", s=46,
                       c=[colour_of.get(r, "white") for r in inside.index], edgecolors="k", linewidths=0.8, zorder=5)
            placed: list[tuple[float, float]] = []
            for rep, row in inside.sort_index().iterrows():
                fx, fy = (row["base_lon"] - x0) / (x1 - x0), (row["base_lat"] - y0) / (y1 - y0)
                shift = sum(abs(fx - px) < 0.12 and abs(fy - py) < 0.04 for px, py in placed)
                placed.append((fx, fy))
                ax.annotate(rep_names.get(rep, rep), (row["base_lon"], row["base_lat"]), xytext=(0, 6 + 9 * shift),
                            textcoords="offset points", fontsize=7.5, ha="center", va="bottom", zorder=6,
                            path_effects=outline, annotation_clip=True)
            ax.set_title(f"{region_names.get(region, region)} ({len(set(territories))})", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in list(axes.flat)[len(regions):]:
            ax.set_visible(False)
        moved_n = int(a["moved"].astype(bool).sum())
        fig.suptitle(f"{self.w('proposed_territories')}: {self.w('region')} · ▲ {self.w('col_base_city')}"
                     + (f" · ○ {self.w('accounts_moved')} ({moved_n:,})" if moved_n else ""), fontsize=11)
        fig.tight_layout()
        return fig

    def balance_chart(self, metrics: pd.DataFrame, balance_on: Mapping[str, float]) -> Any:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(balance_on), 2, figsize=(10, 3.2 * len(balance_on)), squeeze=False, sharey="row")
        for row, (measure, tol) in enumerate(balance_on.items()):
            for col, plan in enumerate(("today", "proposed")):
                ax = axes[row, col]
                dev = metrics.loc[metrics["plan"] == plan, f"{measure}_dev"].sort_values().to_numpy() * 100
                ax.bar(range(len(dev)), dev, color=np.where(np.abs(dev) <= tol * 100 + 1e-9, "tab:blue", "tab:red"))
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
            from salesmodel.pipeline.territory import pick

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
        city = "city_zh" if self.lang == "zh" and "city_zh" in self.ws.input("customers") else None
        shown = moves.assign(from_territory=moves["from_territory"].map(lambda r: reps.get(r, r)),
                             to_territory=moves["to_territory"].map(lambda r: reps.get(r, r)))
        if city:
            shown["city_en"] = shown["customer_id"].map(self.ws.input("customers").set_index("customer_id")[city])
        return self.table("territory_moves", shown.drop(columns=["customer_id"]), rows=rows)

    # ---- tracking ---------------------------------------------------------------------
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

    # ---- leadership -------------------------------------------------------------------
    def risks_list(self, risks: pd.DataFrame) -> Any:
        from IPython.display import HTML

        from salesmodel.report.summary import risks as risk_sentences

        names = {**self.region_names, **self.province_names, **self.rep_names}
        if (risks["kind"] == "stock").any():  # the stores below the stock band, by the names readers know
            names.update(self.customer_names)
        sentences = risk_sentences(risks, language=self.lang, names=names, money_unit=self.unit)
        items = "".join(f"<li>{_html.escape(r)}</li>" for r in sentences)
        return HTML(f"<ul>{items}</ul>")

    def tiles(self, key_figures: pd.DataFrame) -> Any:
        from salesmodel.report.summary import KeyFigures, headline_tiles

        return headline_tiles(KeyFigures.from_table(key_figures), language=self.lang, money_unit=self.unit)

    def probability_text(self, key_figures: pd.DataFrame) -> Any:
        """What the company-level chance means and how it was computed, in one paragraph."""
        from IPython.display import HTML

        from salesmodel.report.summary import MONTH_CORRELATION, KeyFigures

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

        from salesmodel.report.summary import KeyFigures

        f = KeyFigures.from_table(key_figures)
        sep = ";" if self.lang == "zh" else "; "
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

        from salesmodel.report.summary import provenance

        prov = provenance(self.ws.params, self.ws.run_dir)
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


class ComparisonPage:
    """The scenario comparison of a batch: headline figures and targets against a reference, failures, settings.

    Everything shown comes from the batch's comparison tables (``summary.batch_comparison``),
    themselves read from each run's declared tables.
    """

    def __init__(self, batch_dir: Any, *, language: str, money_unit: str, reference: str = "",
                 scenario_a: str = "", scenario_b: str = "") -> None:
        from pathlib import Path

        from salesmodel.report import summary

        setup_fonts()
        self.lang, self.unit = language, money_unit
        self.batch = Path(batch_dir)
        self.manifest = summary.read_batch_manifest(self.batch)
        self.comparison = summary.batch_comparison(self.batch)
        self.reference = summary.reference_name(list(self.comparison["scenario"]),
                                                reference or self.manifest.get("reference") or "")
        ref_run = self.comparison.loc[self.comparison["scenario"] == self.reference, "run_id"].iloc[0]
        ref_dir = next(s["run_dir"] for s in self.manifest["scenarios"]
                       if s.get("run_dir") and Path(s["run_dir"]).name == ref_run)
        self.names = summary.region_names(ref_dir, language)
        self.scenario_a, self.scenario_b = scenario_a, scenario_b
        # what readers see: each scenario by its settings in words ("sweep: growth 6%"), never a code name
        self.label = {s["name"]: summary.scenario_label(s["name"], language) for s in self.manifest["scenarios"]}
        self.comparison = self._relabel(self.comparison)
        self.reference = self.label.get(self.reference, self.reference)

    def _relabel(self, table: pd.DataFrame) -> pd.DataFrame:
        if "scenario" not in table.columns:
            return table
        return table.assign(scenario=table["scenario"].map(lambda n: self.label.get(n, n)))

    def _w(self, key: str) -> str:
        return word(key, self.lang)

    @staticmethod
    def _plain(df: pd.DataFrame, caption: str = "") -> Any:
        styler = df.style.hide(axis="index")
        return styler.set_caption(caption) if caption else styler

    def headline(self) -> list[Any]:
        from salesmodel.report import summary

        scenarios = self.manifest["scenarios"]
        failed = sum(s["status"] not in ("ok", "unmet") for s in scenarios)
        counts = self._w("cmp_counts").format(n=len(scenarios), failed=failed, reference=self.reference)
        table = summary.readable_comparison(self.comparison, language=self.lang, money_unit=self.unit)
        return [heading(self._w("cmp_title"), 1), heading(self._w("cmp_intro"), 6), heading(counts, 4),
                heading(self._w("cmp_headline"), 3), self._plain(table, self._w("cmp_pay_share_note")),
                summary.comparison_chart(self.comparison, language=self.lang, money_unit=self.unit)]

    def targets(self) -> list[Any]:
        from salesmodel.report import summary

        by_region = self._relabel(summary.batch_comparison(self.batch, "region"))
        by_month = self._relabel(summary.batch_comparison(self.batch, "month"))
        opts = {"language": self.lang, "money_unit": self.unit}
        return [heading(self._w("cmp_by_region"), 3),
                self._plain(summary.readable_targets(by_region, "region", self.reference, names=self.names, **opts)),
                heading(self._w("cmp_by_month"), 3),
                self._plain(summary.readable_targets(by_month, "month", self.reference, **opts)),
                summary.target_difference_chart(by_month, by_region, names=self.names, **opts)]

    def failures(self) -> list[Any]:
        return [heading(self._w("cmp_failed").format(name=self.label.get(s["name"], s["name"]), error=s["error"]), 5)
                for s in self.manifest["scenarios"] if s["status"] not in ("ok", "unmet")]

    def settings(self) -> list[Any]:
        """The settings that differ between two scenarios (default: the reference and the last other one)."""
        from salesmodel.report import summary

        raw_of = {v: k for k, v in self.label.items()}
        a, b = summary.pick_pair(self.manifest, raw_of.get(self.scenario_a or self.reference, self.scenario_a or self.reference),
                                 raw_of.get(self.scenario_b, self.scenario_b))
        if a == b and len(self.manifest["scenarios"]) > 1:
            b = next(s["name"] for s in self.manifest["scenarios"] if s["name"] != a)
        diff = summary.readable_params_diff(summary.scenario_params(self.batch, a), summary.scenario_params(self.batch, b),
                                            self.label.get(a, a), self.label.get(b, b), language=self.lang,
                                            money_unit=self.unit, names=self.names)
        a, b = self.label.get(a, a), self.label.get(b, b)
        return [heading(self._w("cmp_params").format(a=a, b=b), 3),
                self._plain(diff) if len(diff) else heading(self._w("cmp_no_params"), 5)]


# Twelve colours that print apart; neighbours never share one when the territory graph allows.
_MAP_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                "#bcbd22", "#7f7f7f", "#393b79", "#637939")


def _number_format(fmt: str, decimals: int | None, language: str) -> Callable[[Any], str]:
    """``fmt`` for a number in the reader's separators (es: 1.615,2); with ``decimals``, a value that
    rounds to zero shows as 0, never as -0."""
    def show(value: Any) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return "–"
        if isinstance(value, str):
            return value
        number = float(value) if decimals is None else round(float(value), decimals) + 0.0
        text = fmt.format(number)
        if text.startswith("-") and not any(c in "123456789" for c in text):  # rounds to zero: no sign
            text = text[1:]
        return text.translate(str.maketrans(",.", ".,")) if language == "es" else text

    return show


def _neighbour_colours(points: np.ndarray, territories: np.ndarray, spread: bool = False) -> dict[str, str]:
    """A colour per territory such that territories with accounts close to each other differ:
    a greedy colouring (most neighbours first) of the graph joining territories whose accounts
    are within three median nearest-neighbour distances of each other."""
    from scipy.spatial import cKDTree

    names = sorted(set(territories.tolist()))
    if len(points) < 2:
        return {t: _MAP_COLOURS[0] for t in names}
    tree = cKDTree(points)
    nearest = tree.query(points, k=2)[0][:, 1]
    pairs = tree.query_pairs(r=3 * float(np.median(nearest)) + 1e-9, output_type="ndarray")
    touching: dict[str, set[str]] = {t: set() for t in names}
    for a, b in zip(territories[pairs[:, 0]], territories[pairs[:, 1]]):
        if a != b:
            touching[a].add(b)
            touching[b].add(a)
    colour: dict[str, str] = {}
    for t in sorted(names, key=lambda x: (-len(touching[x]), x)):
        used = {colour[n] for n in touching[t] if n in colour}
        free = [c for c in _MAP_COLOURS if c not in used]
        if spread and free:  # the free colour used least so far: far-apart territories differ too
            counts = {c: sum(v == c for v in colour.values()) for c in free}
            free = sorted(free, key=lambda c: (counts[c], _MAP_COLOURS.index(c)))
        # too many neighbours for the palette: the colour least used among them
        colour[t] = free[0] if free else min(_MAP_COLOURS, key=lambda c: sum(colour.get(n) == c for n in touching[t]))
    return colour


@functools.lru_cache(maxsize=1)
def _province_outlines() -> dict[str, list]:
    """Simplified outlines of China's provinces by province_id (tools/province_outlines.py)."""
    from importlib import resources

    path = resources.files("salesmodel") / "data" / "province_outlines.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["provinces"]
