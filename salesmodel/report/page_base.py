"""The reader every page shares: language, money unit, names, words and tables (one module per page builds on it)."""
from __future__ import annotations

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
    heading,
    money_formatter,
    money_scale,
    money_unit_label,
    month_label,
    setup_fonts,
)
from salesmodel.schema import tables as declared
from salesmodel.schema.vocabulary import FALLBACK_LANGUAGE, has_word, number_style, word

__all__ = ["PageBase", "show"]



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
        return number_style(text, language)

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


class PageBase:
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
            detail = detail.replace("tolerance", self.w("tolerance").lower())
            return self.w("note_territory").format(detail=detail)
        m = re.match(r"Productivity: the role (\S+) has no history to calibrate on", note)
        if m:
            return self.w("note_role_uncalibrated").format(role=self.code(m.group(1)))
        m = re.match(r"Productivity from the params does not replay last year: region (\S+) misses its sales by (\S+)\.", note)
        if m:
            return self.w("note_replay_off").format(region=self.region_names.get(m.group(1), m.group(1)), miss=m.group(2))
        return note if self.lang == FALLBACK_LANGUAGE else self.w("note_other")  # core notes are in English

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
