"""What reports share: fonts that draw Chinese, labels in three languages,
money in 元 or 万元, and the offline HTML a run gives leadership.

Notebooks call :func:`setup_fonts` once, then draw with matplotlib; labels
come from :func:`label` so one notebook serves en, zh and es readers.
"""
from __future__ import annotations

import copy
import html
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salesmodel.errors import ParamsError
from salesmodel.pipeline.run_folder import ADJUSTMENTS
from salesmodel.schema.tables import MONEY_UNITS
from salesmodel.schema.vocabulary import DEFAULT_MONEY_UNIT, HTML_LANG, LANGUAGES, WORDS, number_style, word

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "CJK_FAMILY",
    "LABELS",
    "LANGUAGES",
    "TEMPLATES_DIR",
    "display_table",
    "export_html",
    "edited_banner",
    "format_money",
    "format_number",
    "heading",
    "label",
    "money_formatter",
    "money_pivot",
    "money_scale",
    "money_unit_label",
    "month_label",
    "dekad_label",
    "resolve_money_unit",
    "setup_fonts",
]

CJK_FAMILY = "Noto Sans CJK SC"
TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
OFFLINE_TEMPLATE = "offline"

# Every word comes from the one catalogue (salesmodel.schema.vocabulary).
LABELS = WORDS


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ParamsError(
            f"The 'language' parameter must be one of {', '.join(LANGUAGES)}. Got {language!r} instead."
        )
    return language


def label(key: str, language: str = "en") -> str:
    """The word for ``key`` in ``language`` (en, zh or es), from :mod:`salesmodel.schema.vocabulary`.

    >>> label("region", "zh")
    '大区'
    """
    _check_language(language)
    return word(key, language)


_font_state: dict[str, Any] = {"registered": False}


def setup_fonts() -> str:
    """Make matplotlib draw Chinese with Noto Sans CJK and set a clean chart style.

    Registers the font shipped by the ``noto-cjk-sans-otc`` package (never a
    font that merely happens to be installed), puts "Noto Sans CJK SC" first in
    the sans-serif list, and keeps DejaVu Sans behind it for Latin glyphs it
    lacks. Safe to call many times. Returns the family name.

    >>> setup_fonts()  # doctest: +SKIP
    'Noto Sans CJK SC'
    """
    import matplotlib as mpl
    from matplotlib import font_manager

    if not _font_state["registered"]:
        from noto_cjk_sans_otc import FONT_PATH

        font_manager.fontManager.addfont(str(FONT_PATH))
        _font_state["registered"] = True
    fallbacks = [f for f in mpl.rcParams["font.sans-serif"] if f != CJK_FAMILY]
    mpl.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [CJK_FAMILY, *fallbacks],
            "axes.unicode_minus": False,  # the CJK font has no U+2212 minus
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "axes.grid.axis": "y",
            "grid.alpha": 0.3,
            "axes.titleweight": "normal",
            "axes.titlesize": 12,
            "axes.labelsize": 10,
            "legend.frameon": False,
            "figure.figsize": (9, 4.5),
            "figure.dpi": 100,
            "savefig.bbox": "tight",
        }
    )
    return CJK_FAMILY


# decimals of an amount in each unit, the same in tables, sentences and cards of a page
MONEY_DECIMALS = {"yuan": 0, "thousand": 0, "wan": 1, "million": 1, "yi": 2}
_DECIMALS = MONEY_DECIMALS


def format_number(value: float, decimals: int = 0, language: str = "en", *, sign: bool = False) -> str:
    """A number in the reader's style: '1,615.2' (en, zh), '1.615,2' (es); a value that rounds to
    zero is 0, never -0.

    >>> format_number(1615.23, 1, "es")
    '1.615,2'
    >>> format_number(-0.04, 1, "en")
    '0.0'
    """
    rounded = round(float(value), decimals) + 0.0
    text = f"{rounded:{'+' if sign else ''},.{decimals}f}"
    return number_style(text, language)


def resolve_money_unit(unit: str, language: str = "en") -> str:
    """'auto' → the reader's unit (万元 in zh, thousands of yuan in en and es); others are checked and kept."""
    if unit == "auto":
        return DEFAULT_MONEY_UNIT[_check_language(language)]
    money_scale(unit)
    return unit


def money_scale(unit: str) -> float:
    """Divisor that turns yuan into the display unit ('yuan' → 1, 'wan' → 10,000, 'yi' → 10⁸ ...)."""
    if unit not in MONEY_UNITS:
        raise ParamsError(f"The 'unit' parameter must be one of {', '.join(MONEY_UNITS)}. Got {unit!r} instead.")
    return MONEY_UNITS[unit]


def money_unit_label(unit: str, language: str = "en") -> str:
    """The unit's name for axis titles: '万元', 'thousand yuan', '亿元', '元' ..."""
    money_scale(unit)
    return label(unit, language)


def format_money(value: float, unit: str = "wan", language: str = "en", *, decimals: int | None = None) -> str:
    """Format an amount in yuan for a report: ``format_money(1234567, "wan", "zh")`` → '123.46 万元'.

    ``decimals`` defaults to 0 for 元 and thousands, 1 for 万元 and millions, 2 for 亿元 (``MONEY_DECIMALS``). NaN shows as '–'.

    >>> format_money(1234567, "wan", "zh")
    '123.5 万元'
    >>> format_money(1234567.4, "yuan", "en")
    '1,234,567 yuan'
    >>> format_money(1_590_179_200, "yi", "zh")
    '15.90 亿元'
    """
    scale = money_scale(unit)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if decimals is None:
        decimals = _DECIMALS[unit]
    return f"{format_number(value / scale, decimals, language)} {money_unit_label(unit, language)}"


def money_formatter(unit: str = "wan", language: str = "en"):
    """A matplotlib tick formatter showing yuan amounts in the display unit (no unit text), with
    the reader's thousands separators."""
    from matplotlib.ticker import FuncFormatter

    scale = money_scale(unit)
    return FuncFormatter(lambda v, _pos: format_number(v / scale, 0 if abs(v / scale) >= 10 or v == 0 else 1, language))


def month_label(month: Any, language: str = "en", *, with_year: bool = False) -> str:
    """A month for readers: 3 → 'Mar' / '3月' / 'mar'; '2027-03' → 'Mar 2027' / '2027年3月' with ``with_year``.

    >>> month_label("2027-03", "zh", with_year=True)
    '2027年3月'
    """
    text = str(month)
    year = None
    if "-" in text:
        year, text = text.split("-")[:2]
    names = word("month_names", language).split(",")
    name = names[int(text) - 1]
    if with_year and year is not None:
        return word("month_year", language).format(month=name, year=year)
    return name


def dekad_label(period: str, language: str = "en", *, with_year: bool = False) -> str:
    """'2027-01-D1' → '1月上旬' / 'Jan, 1st dekad' / 'ene, 1.ª decena'."""
    year, month, dek = str(period).split("-")
    part = word(("first_dekad", "second_dekad", "third_dekad")[int(dek[-1]) - 1], language)
    m = month_label(f"{year}-{month}", language, with_year=with_year)
    return word("month_and_part", language).format(month=m, part=part)


def _column_label(column: str, language: str, unit: str | None) -> str:
    key = column.removesuffix("_id")
    text = label(key, language) if key in LABELS else column
    return f"{text} ({money_unit_label(unit, language)})" if unit else text


def display_table(
    df: pd.DataFrame,
    language: str = "en",
    unit: str = "wan",
    *,
    money: Sequence[str] = ("amount", "amount_last_year"),
    percent: Sequence[str] = ("growth", "units_growth"),
    names: Mapping[str, Mapping[Any, str]] | None = None,
    index: str | None = None,
    decimals: int = 1,
) -> pd.DataFrame:
    """A copy of a tidy table for reading: money in the display unit, ids as names, labelled columns.

    Parameters
    ----------
    df : DataFrame
        A tidy table (raw yuan, ids, lower_snake_case columns).
    language : {"en", "zh", "es"}, default="en"
    unit : {"yuan", "wan"}, default="wan"
        Money columns are divided by 1 or 10,000 and their header says so.
    money, percent : list of str
        Columns shown as money, and as signed percentages ("+12.0%").
    names : dict, optional
        Column -> {id: display name}, e.g. ``{"region_id": region_names}``.
    index : str, optional
        Column to show as the row labels.

    Examples
    --------
    >>> display_table(by_year, "zh", "wan", index="year")  # doctest: +SKIP
    """
    import pandas as pd

    scale = money_scale(unit)
    out = df.copy()
    for column, mapping in (names or {}).items():
        if column in out:
            out[column] = out[column].map(lambda k, m=mapping: m.get(k, k))
    money_cols = [c for c in money if c in out]
    for column in money_cols:
        out[column] = (out[column] / scale).round(decimals)
    for column in [c for c in percent if c in out]:
        out[column] = out[column].map(lambda v: "–" if pd.isna(v) else f"{v:+.1%}")
    rename = {c: _column_label(str(c), language, unit if c in money_cols else None) for c in out.columns}
    out = out.rename(columns=rename)
    return out.set_index(rename[index]) if index else out


def money_pivot(
    table: pd.DataFrame,
    index: str,
    columns: str,
    language: str = "en",
    unit: str = "wan",
    *,
    values: str = "amount",
    names: Mapping[Any, str] | None = None,
    decimals: int = 1,
) -> pd.DataFrame:
    """A wide money table for reading, e.g. regions down, years across, in 万元.

    >>> money_pivot(region_year, "region_id", "year", "zh", names=region_names)  # doctest: +SKIP
    """
    wide = table.pivot_table(index=index, columns=columns, values=values, aggfunc="sum", fill_value=0.0)
    wide = (wide / money_scale(unit)).round(decimals)
    if names is not None:
        wide.index = wide.index.map(lambda k: names.get(k, k))
    wide.index.name = _column_label(index, language, None)
    wide.columns.name = f"{_column_label(columns, language, None)} ({money_unit_label(unit, language)})"
    return wide


def heading(text: str, level: int = 4) -> Any:
    """A small heading for notebook output; the text is escaped (it may come from data)."""
    from IPython.display import HTML

    level = min(max(int(level), 1), 6)
    return HTML(f"<h{level}>{html.escape(str(text))}</h{level}>")


def _title_of(nb: Any) -> str | None:
    """The page's title: its first Markdown heading, else the first <h1> a cell showed (page.text)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("data", {}).get("text/html")
            text = "".join(text) if isinstance(text, list) else text
            m = re.search(r"<h1>(.*?)</h1>", text or "", re.S)
            if m:
                return html.unescape(m.group(1)).strip()
    return None


_SAFE_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "div",
        "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p",
        "pre", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "tr", "u", "ul",
    }
)
_SAFE_ATTRIBUTES = {
    "*": ["class", "id", "style", "title", "align"],
    "td": ["colspan", "rowspan"],
    "th": ["colspan", "rowspan", "scope"],
    "img": ["src", "alt", "width", "height"],
    "a": ["href", "title"],
}
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_UNSAFE_CSS = re.compile(r"url\(|@import|expression|javascript:|<", re.IGNORECASE)


def _clean_html(html: str) -> str:
    """Keep tables and text, drop scripts, handlers and anything that loads from elsewhere."""
    import bleach
    from bleach.css_sanitizer import CSSSanitizer

    styles = [m for m in _STYLE_BLOCK.findall(html) if not _UNSAFE_CSS.search(m)]
    body = _STYLE_BLOCK.sub("", html)
    cleaner = bleach.Cleaner(
        tags=_SAFE_TAGS,
        attributes=_SAFE_ATTRIBUTES,
        protocols={"data"},  # images inline only; links and sources elsewhere are dropped
        css_sanitizer=CSSSanitizer(),
        strip=True,
        strip_comments=True,
    )
    kept = "".join(f"<style>{css}</style>" for css in styles)
    return kept + cleaner.clean(body)


def _escape_markdown(text: str) -> str:
    """Markdown built from data may carry raw HTML: escape the tags it is not allowed."""
    import bleach
    from bleach.css_sanitizer import CSSSanitizer

    cleaner = bleach.Cleaner(
        tags=_SAFE_TAGS, attributes=_SAFE_ATTRIBUTES, protocols={"data"}, css_sanitizer=CSSSanitizer(), strip=False
    )
    return cleaner.clean(text)


def _sanitise_outputs(nb: Any) -> None:
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue  # warnings and progress bars are for the analyst, not for leadership
            data = out.get("data")
            if data is not None:
                for mime in [m for m in data if m in ("application/javascript", "application/vnd.jupyter.widget-view+json")]:
                    del data[mime]
                if "text/html" in data:
                    html = data["text/html"]
                    data["text/html"] = _clean_html(html if isinstance(html, str) else "".join(html))
                if "text/markdown" in data:
                    md = data["text/markdown"]
                    data["text/markdown"] = _escape_markdown(md if isinstance(md, str) else "".join(md))
                if not data:
                    continue
            outputs.append(out)
        cell.outputs = outputs




_BANNER_STYLE = ("background:#fff4ce;border:1px solid #e0b000;padding:8px 12px;margin:8px 0 12px 0;"
                 "font-size:14px")


def edited_banner(run_dir: str | Path, language: str = "en") -> str | None:
    """The line every page of an edited plan opens with (the run it was edited from, how many adjustments,
    by whom), from the folder's ``adjustments`` table; None for a plan that was not edited."""
    import pandas as pd

    path = Path(run_dir) / ADJUSTMENTS
    if not path.is_file():
        return None
    adj = pd.read_parquet(path)
    authors = sorted({str(a).strip() for a in adj.get("author", pd.Series(dtype=object)).dropna() if str(a).strip()})
    source = str(adj["source_run_id"].iloc[0]) if "source_run_id" in adj.columns and len(adj) else "–"
    who = ", ".join(authors) if authors else word("edited_by_unknown", language)
    return word("edited_banner", language).format(n=len(adj), who=who, run=source)


def export_html(notebook_path: str | Path, html_path: str | Path, *, language: str = "en",
                banner: str | None = None) -> Path:
    """Render an executed notebook as leadership HTML: no code, images embedded, offline.

    The page loads no script from anywhere (see templates/offline), hides code
    cells, prompts and the warnings printed to stderr, and escapes text that
    came from data: HTML and Markdown outputs are cleaned to an allow-list
    (tables, text, inline images), so a customer named
    ``<script>…</script>`` is shown as text and no output can run code or
    load anything from the network. ``language`` sets the page's ``lang``
    (zh lets browsers pick a Chinese font).

    >>> export_html("runs/x/notebooks/00_data_overview.ipynb", "runs/x/html/00_data_overview.html")  # doctest: +SKIP
    """
    import nbformat
    from nbconvert import HTMLExporter

    notebook_path = Path(notebook_path)
    html_path = Path(html_path)
    nb = nbformat.read(notebook_path, as_version=4)
    nb = copy.deepcopy(nb)
    _sanitise_outputs(nb)
    title = _title_of(nb)
    if title:
        nb.metadata["title"] = title
    nb.metadata.pop("widgets", None)  # widget state would pull in the CDN widget manager
    exporter = HTMLExporter(
        template_name=OFFLINE_TEMPLATE,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        language_code=HTML_LANG[_check_language(language)],
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook_path.stem}})
    # the template's CSS credits its sources in comments; drop them so the page names no address at all
    body = _STYLE_BLOCK.sub(lambda m: _CSS_COMMENT.sub("", m.group(0)), body)
    if banner:  # an edited plan says so at the top of every page
        body = body.replace("<main>", f"<main>\n<p class='edited-banner' style='{_BANNER_STYLE}'>{html.escape(banner)}</p>", 1)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path
