"""The Excel plan workbook planners hand out, and reading their edits back.

One sheet per table: the rep x month plan (月销售计划表) with totals, the
customer x dekad plan, the reps' commitments against their top-down targets, the
sales expense budget by category and region, the staffing plan, the territory
assignment, the stock at the stores with the order plan, and the params used.
Headers are frozen, money is shown in 元 or 万元, and every total is an Excel
``SUM`` of its rows, so it stays a total when a planner edits.

Data stays data: every value that comes from the data (ids, names, labels,
params) is written as a text cell, never as a formula, and text beginning
with ``=``, ``+``, ``-``, ``@``, tab or carriage return is also marked with a
quote prefix (OWASP's advice for CSV/formula injection), so an id like
``=HYPERLINK(...)`` shows as text. Only the workbook's own totals are formulas.

``read_edits`` compares a planner's edited copy with the run's plan: changed
cells become recorded adjustments (with the cell comment and its author), and
``apply_edits`` re-balances the plan so each rep's annual total and the
company total still hold exactly.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from salesmodel.domain import overview
from salesmodel.errors import InputError, RunError
from salesmodel.io.readers import check_archive
from salesmodel.io.writers import FORMULA_START
from salesmodel.paths import child, is_run_id, shorten
from salesmodel.report import MONEY_UNITS
from salesmodel.schema.vocabulary import LANGUAGES, word

__all__ = [
    "MONEY_SCALE",
    "SHEETS",
    "Edits",
    "apply_edits",
    "build_workbook",
    "read_edits",
]

MONEY_SCALE = MONEY_UNITS  # the report's money units, one table of them
# The largest amount one plan cell may hold, in yuan (the input ceiling of salesmodel.io).
_MAX_CELL = 1e13
_MONEY_FORMAT = {"yuan": "#,##0", "thousand": "#,##0.0", "wan": "#,##0.00", "million": "#,##0.000", "yi": "#,##0.0000"}

# Sheet titles come from the vocabulary ("sheet_<table>"); the rep x month sheet keeps its Chinese
# name in every language because planners know it by that name.
SHEETS = ("plan_rep_month", "plan_customer_dekad", "commitments", "budget", "capacity_plan", "staffing_hires",
          "territory_assignment", "stock", "params", "adjustments")

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="305496")
_TOTAL_FONT = Font(bold=True)
_TOTAL_FILL = PatternFill("solid", fgColor="D9E1F2")

# Hidden marker cells so an edited copy can be matched to its run and pivot layout.
_META_SHEET = "_salesmodel"




class Formula(str):
    """A formula the workbook writes on purpose (its totals); every other text is written as text."""


def _put(cell, value: Any) -> None:
    """Set a cell; text from data is always text (never a formula), risky text gets a quote prefix."""
    cell.value = value
    if isinstance(value, str) and not isinstance(value, Formula):
        cell.data_type = "s"
        if value.startswith(FORMULA_START):
            cell.quotePrefix = True


def _append(ws, values: list[Any]) -> None:
    """``ws.append`` that keeps text from data as text (see :func:`_put`)."""
    # openpyxl keeps the last row it has a cell in; ws.max_row scans every cell (quadratic over a sheet)
    last = getattr(ws, "_current_row", None)
    last = ws.max_row if last is None else max(int(last), 1)
    row = last + 1 if last > 1 or ws.cell(row=1, column=1).value is not None else 1
    for col, value in enumerate(values, start=1):
        _put(ws.cell(row=row, column=col), value)


def _sheet_title(key: str, language: str) -> str:
    return word(f"sheet_{key}", language)[:31]


def _style_header(ws, n_cols: int, row: int = 1) -> None:
    ws.row_dimensions[row].height = 45  # room for three lines: "Target / (thousand / yuan)" wraps, never clips
    for col in range(1, n_cols + 1):
        cell = ws.cell(row=row, column=col)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _autosize(ws, widths: Mapping[int, int] | None = None, default: int = 12) -> None:
    for col in range(1, ws.max_column + 1):
        ws.column_dimensions[get_column_letter(col)].width = (widths or {}).get(col, default)


def _text_width(values: Any, lo: int = 7, hi: int = 24) -> int:
    """Column width (in characters) for ``values``: the longest, a CJK character counted twice."""
    longest = max((sum(2 if ord(c) > 0x2E80 else 1 for c in str(v)) for v in values), default=lo)
    return int(min(max(longest + 1, lo), hi))


def _period_text(period: str, language: str) -> str:
    """'2027-03' → '2027年3月' / 'Mar 2027'; '2027-01-D1' → '1月上旬' / 'Jan, 1st dekad'; others as they are."""
    from salesmodel.report import dekad_label, month_label

    try:
        parts = str(period).split("-")
        if len(parts) == 2:
            return month_label(period, language, with_year=True)
        if len(parts) == 3 and parts[2] in ("D1", "D2", "D3"):
            return dekad_label(period, language)
    except (ValueError, IndexError, KeyError):
        pass
    return str(period)


def _header_text(column: str, language: str) -> str:
    from salesmodel.schema.vocabulary import has_word, word

    for key in (f"col_{column}", column.removesuffix("_id"), column):
        if has_word(key):
            return word(key, language)
    return column


def _write_pivot(
    ws,
    pivot: pd.DataFrame,
    *,
    label_cols: list[str],
    money_unit: str,
    language: str,
) -> list[str]:
    """Write a unit x period pivot with a SUM total column and a SUM total row; returns the header written."""
    scale = MONEY_SCALE[money_unit]
    fmt = _MONEY_FORMAT[money_unit]
    periods = [c for c in pivot.columns if c not in label_cols]
    header = ([_header_text(c, language) for c in label_cols] + [_period_text(p, language) for p in periods]
              + [f"{word('total', language)} ({_unit_text(money_unit, language)})"])
    _append(ws, header)
    _style_header(ws, len(header))
    first_value_col = len(label_cols) + 1
    last_value_col = len(label_cols) + len(periods)
    n_rows = len(pivot)
    values = pivot[periods].to_numpy(dtype=float) / scale
    labels = pivot[label_cols].astype(object).where(pivot[label_cols].notna(), "").to_numpy()
    for i in range(n_rows):
        r = i + 2
        row: list[Any] = [str(x) for x in labels[i]]
        row += [float(v) for v in values[i]]
        row.append(_row_total(first_value_col, last_value_col, r))
        _append(ws, row)
    total_row = n_rows + 2
    _put(ws.cell(row=total_row, column=1), word("total", language))
    for col in range(first_value_col, last_value_col + 2):
        _put(ws.cell(row=total_row, column=col), _column_total(col, total_row))
    for col in range(1, last_value_col + 2):
        cell = ws.cell(row=total_row, column=col)
        cell.font = _TOTAL_FONT
        cell.fill = _TOTAL_FILL
    for row in ws.iter_rows(min_row=2, max_row=total_row, min_col=first_value_col, max_col=last_value_col + 1):
        for cell in row:
            cell.number_format = fmt
    ws.freeze_panes = ws.cell(row=2, column=first_value_col)
    # label columns as wide as their names (a CJK character takes two), so the sheet prints at >= 8 pt
    widths = {i + 1: _text_width(labels[:, i]) for i in range(len(label_cols))}
    _autosize(ws, {**widths, last_value_col + 1: 13}, default=10)
    ws.print_title_cols = f"A:{get_column_letter(len(label_cols))}"
    return header[: len(label_cols) + len(periods)]


def _unit_text(money_unit: str, language: str) -> str:

    return word(money_unit, language)


# Rows of a printed A4 landscape page at the scale a sheet prints (a header row repeated on each)
PRINTED_ROWS_PER_PAGE = 38
# The printed part of each region's customer plan: the largest customers, on this many pages
REGION_PRINTED_PAGES = 2


def _print_setup(ws, header_text: str, language: str, *, print_rows: int | None = None,
                 data_sheet: bool = False, title_row: int = 1) -> None:
    """Landscape A4, all columns on one page width, the header row repeated, title and unit in the page
    header (in a margin of its own, so it never covers the table).

    ``print_rows``: only the header and this many rows print (the rest of the sheet stays for reading).
    ``data_sheet``: a sheet kept for analysis, outside the printed plan: only its header row prints,
    under a page header that says so.
    """
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = f"{title_row}:{title_row}"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = 0.9
    ws.page_margins.bottom = 0.6
    ws.page_margins.header = 0.3
    ws.page_margins.footer = 0.25
    if data_sheet:  # one page: the sheet's first heading under a page header that says what the sheet is
        header_text = f"{word('wb_data_sheet', language).format(rows=max(ws.max_row - title_row, 0))} · {header_text}"
        ws.print_area = f"A1:B{title_row}"
        print_rows = None
    if print_rows is not None:
        last_row = min(ws.max_row, title_row + print_rows)
        ws.print_area = f"A1:{get_column_letter(max(ws.max_column, 1))}{max(last_row, title_row)}"
    ws.oddHeader.center.text = header_text.replace("&", "&&")
    ws.oddHeader.center.size = 9
    ws.oddFooter.right.text = "&P / &N"
    ws.oddFooter.right.size = 8


def _safe_sheet_title(title: str, wb) -> str:
    """A sheet title Excel accepts (at most 31 characters, none of []:*?/\\), unique in ``wb``."""
    clean = "".join(" " if c in "[]:*?/\\" else c for c in title).strip()[:31] or "Sheet"
    candidate, n = clean, 2
    while candidate in wb.sheetnames:
        candidate = f"{clean[:28]} {n}"
        n += 1
    return candidate


def _comment_cells(ws, units: pd.Series, periods: list[str], first_col: int, adjustments: pd.DataFrame,
                   unit_col: str, period_col: str) -> None:
    """The planner's comment (and its author) on each adjusted cell of a plan sheet."""
    from openpyxl.comments import Comment

    row_of = {str(u): i + 2 for i, u in enumerate(units)}
    col_of = {str(p): first_col + i + 1 for i, p in enumerate(periods)}
    for rec in adjustments.itertuples(index=False):
        unit, period = str(getattr(rec, unit_col)), str(getattr(rec, period_col))
        text = str(getattr(rec, "comment", "") or "").strip()
        if not text or unit not in row_of or period not in col_of:
            continue
        author = str(getattr(rec, "author", "") or "").strip() or "salesmodel"
        ws.cell(row=row_of[unit], column=col_of[period]).comment = Comment(text, author)


def _region_customer_sheet(ws, dekads: pd.DataFrame, data_title: str, data_rows: dict[str, int],
                           data_columns: dict[str, int], *, names: Mapping[str, str], rep_names: Mapping[str, str],
                           money_unit: str, language: str) -> int:
    """One region's customer plan by month, the largest customers first, each month the SUM of the
    customer's dekads on the data sheet ``data_title`` (nothing recomputed); the region's total first.
    Returns the number of customers."""
    fmt = _MONEY_FORMAT[money_unit]
    dekads = dekads.assign(customer_id=dekads["customer_id"].astype(str), rep_id=dekads["rep_id"].astype(str))
    months = sorted({str(p)[:7] for p in dekads["period"]})
    order = (dekads.groupby("customer_id", sort=True)["target"].sum().sort_values(ascending=False, kind="stable"))
    rep_of = dekads.drop_duplicates("customer_id").set_index("customer_id")["rep_id"]
    header = ([_header_text("customer_id", language), _header_text("customer_name", language),
               _header_text("rep_name", language)] + [_period_text(m, language) for m in months]
              + [f"{word('total', language)} ({_unit_text(money_unit, language)})"])
    _append(ws, header)
    _style_header(ws, len(header))
    quoted = data_title.replace("'", "''")
    first, last = 4, 3 + len(months)
    n = len(order)
    _put(ws.cell(row=2, column=1), word("total", language))
    for col in range(first, last + 2):
        letter = get_column_letter(col)
        _put(ws.cell(row=2, column=col), Formula(f"=SUM({letter}3:{letter}{n + 2})"))
    for col in range(1, last + 2):
        ws.cell(row=2, column=col).font = _TOTAL_FONT
        ws.cell(row=2, column=col).fill = _TOTAL_FILL
    for i, customer in enumerate(order.index):
        r = i + 3
        data_row = data_rows[str(customer)]
        row: list[Any] = [str(customer), str(names.get(str(customer), "")), str(rep_names.get(str(rep_of[customer]), ""))]
        for m in months:
            cols = sorted(c for p, c in data_columns.items() if p.startswith(m))
            row.append(Formula(f"=SUM('{quoted}'!{get_column_letter(cols[0])}{data_row}:"
                               f"{get_column_letter(cols[-1])}{data_row})"))
        row.append(_row_total(first, last, r))
        _append(ws, row)
    for row in ws.iter_rows(min_row=2, max_row=n + 2, min_col=first, max_col=last + 1):
        for cell in row:
            cell.number_format = fmt
    ws.freeze_panes = ws.cell(row=2, column=first)
    _autosize(ws, {1: 10, 2: 24, 3: 10, last + 1: 13}, default=10)
    return n


def _row_total(first_col: int, last_col: int, row: int) -> Formula:
    return Formula(f"=SUM({get_column_letter(first_col)}{row}:{get_column_letter(last_col)}{row})")


def _column_total(col: int, total_row: int) -> Formula:
    letter = get_column_letter(col)
    return Formula(f"=SUM({letter}2:{letter}{total_row - 1})")


def _write_table(ws, df: pd.DataFrame, *, money_cols: list[str], money_unit: str, language: str = "en",
                 formats: Mapping[str, str] | None = None) -> None:
    scale = MONEY_SCALE[money_unit]
    fmt = _MONEY_FORMAT[money_unit]
    unit = _unit_text(money_unit, language)
    _append(ws, [f"{_header_text(str(c), language)} ({unit})" if c in money_cols else _header_text(str(c), language)
                 for c in df.columns])
    _style_header(ws, len(df.columns))
    out = df.copy()
    for col in money_cols:
        out[col] = out[col].astype(float) / scale
    for rec in out.itertuples(index=False):
        _append(ws, [_cell_value(v) for v in rec])
    for col_idx, col in enumerate(df.columns, start=1):
        col_fmt = fmt if col in money_cols else (formats or {}).get(col)
        if col_fmt:
            for (cell,) in ws.iter_rows(min_row=2, max_row=len(df) + 1, min_col=col_idx, max_col=col_idx):
                cell.number_format = col_fmt
        elif col_idx > 1 and df[col].dtype == object:  # text after a right-aligned number: a gap, not "233.07 SH"
            for (cell,) in ws.iter_rows(min_row=2, max_row=len(df) + 1, min_col=col_idx, max_col=col_idx):
                cell.alignment = Alignment(indent=1)
    ws.freeze_panes = "A2"
    _autosize(ws, default=14)


# Tables a page shows only in part: the workbook holds them whole, as data sheets (the page names the sheet)
DATA_TABLES = ("targets_person", "targets_rep", "targets_province", "targets_customer", "territory_beyond_limit")
_ID_NAMES = {"region_id": "region", "province_id": "province", "rep_id": "rep_name", "customer_id": "customer_name"}


def _data_table_sheet(ws, name: str, df: pd.DataFrame, *, names: Mapping[str, Mapping[str, str]], money_unit: str,
                      language: str) -> None:
    """A declared table whole, as readers read it: a name beside each id, money in the workbook's unit,
    shares as percentages, codes in words; headers from the vocabulary."""
    from salesmodel.schema import tables as declared
    from salesmodel.schema.vocabulary import has_word

    spec = declared.TABLES[name]
    out = pd.DataFrame(index=df.index)
    money_cols, share_cols = [], []
    for column in df.columns:
        col = spec.column(str(column))
        values = df[column]
        if column in _ID_NAMES and names.get(column):
            mapping = names[column]
            if column in ("region_id", "province_id"):  # readers know regions and provinces by name only
                out[_ID_NAMES[column]] = values.astype(str).map(lambda k, m=mapping: m.get(k, k))
                continue
            out[column] = values.astype(str)
            out[_ID_NAMES[column]] = values.astype(str).map(lambda k, m=mapping: m.get(k, ""))
            continue
        if col.unit == "yuan":
            money_cols.append(column)
        elif col.unit in ("share", "probability"):
            share_cols.append(column)
        elif col.kind in ("text", "bool"):
            def code(v: Any) -> Any:
                key = f"code_{str(bool(v)).lower()}" if isinstance(v, (bool, np.bool_)) else f"code_{v}"
                return word(key, language) if has_word(key) else v

            values = values.map(code)
        out[column] = values
    _write_table(ws, out, money_cols=money_cols, money_unit=money_unit, language=language,
                 formats={c: "0.0%" for c in share_cols})


def _handover_sheet(ws, handover: pd.DataFrame, *, money_unit: str, language: str,
                    hires: pd.DataFrame | None = None) -> None:
    """The hand-over list: one row per account that changes rep (customer, from, to, last year's sales,
    potential, km to the new rep's base), largest last year's sales first, with totals. A planned hire
    (territory.organisation 'planned') reads 'New hire H003 (starts Mar 2027)'."""
    from salesmodel.report import month_label

    names = dict(zip(handover["rep_id"].astype(str), handover["rep_name"].astype(str)))
    if hires is not None and len(hires):
        labels = {str(h): word("territory_hire", language).format(hire=h, month=month_label(str(m), language, with_year=True))
                  for h, m in zip(hires["hire_id"], hires["start_month"])}

        def rep(r: str) -> str:
            return labels[r] if r in labels else (f"{names.get(r, '')} ({r})" if names.get(r) else r)
    else:
        def rep(r: str) -> str:
            return f"{names.get(r, '')} ({r})" if names.get(r) else r
    moves = handover[handover["direction"] == "gained"]
    scale = MONEY_SCALE[money_unit]
    unit = _unit_text(money_unit, language)
    header = [_header_text("customer_name", language), _header_text("customer_id", language),
              _header_text("from_rep", language), _header_text("to_rep", language),
              f"{_header_text('last_year_sales', language)} ({unit})", f"{_header_text('potential', language)} ({unit})",
              _header_text("distance_km", language)]
    rows = [[str(r.customer_name), str(r.customer_id), rep(str(r.from_rep)), rep(str(r.to_rep)),
             float(r.last_year_sales) / scale, float(r.potential) / scale, round(float(r.distance_km))]
            for r in moves.itertuples(index=False)]
    _write_totalled(ws, header, rows, sum_cols=[5, 6], formats={5: _MONEY_FORMAT[money_unit], 6: _MONEY_FORMAT[money_unit],
                                                                7: "#,##0"}, freeze_col=1, language=language)
    _autosize(ws, {1: 28, 2: 10, 3: 18, 4: 18, 5: 14, 6: 14, 7: 14})
    ws.row_dimensions[1].height = 32  # headers wrap on two lines


def _write_totalled(ws, header: list[str], rows: list[list[Any]], *, sum_cols: list[int],
                    formats: Mapping[int, str], freeze_col: int, language: str) -> int:
    """Write a header, the rows (text from data as text) and a total row of ``SUM`` formulas under ``sum_cols``
    (1-based); ``formats`` gives the number format per column. Returns the total row's number."""
    _append(ws, header)
    _style_header(ws, len(header))
    for row in rows:
        _append(ws, row)
    total_row = len(rows) + 2
    _put(ws.cell(row=total_row, column=1), word("total", language))
    for col in sum_cols:
        _put(ws.cell(row=total_row, column=col), _column_total(col, total_row))
    for col in range(1, len(header) + 1):
        cell = ws.cell(row=total_row, column=col)
        cell.font = _TOTAL_FONT
        cell.fill = _TOTAL_FILL
    for col, fmt in formats.items():
        for (cell,) in ws.iter_rows(min_row=2, max_row=total_row, min_col=col, max_col=col):
            cell.number_format = fmt
    ws.freeze_panes = ws.cell(row=2, column=freeze_col)
    return total_row


def _code_text(value: Any, language: str) -> str:
    """A code of the tables (status, basis, cap, category...) in the reader's words; other text as it is."""
    from salesmodel.schema.vocabulary import has_word

    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return word(f"code_{text}", language) if text and has_word(f"code_{text}") else text


def _names_of(labels: Mapping[str, pd.DataFrame] | None, key: str, column: str) -> dict[str, str]:
    frame = (labels or {}).get(key)
    if frame is None or column not in frame.columns:
        return {}
    return {str(k): str(v) for k, v in frame[column].dropna().items()}


def _named_places(df: pd.DataFrame, labels: Mapping[str, pd.DataFrame] | None) -> pd.DataFrame:
    """Regions and provinces by their names in the reader's language, not their codes (C, SH)."""
    df = df.copy()
    for col, (table, column) in (("region_id", ("budget", "region")), ("province_id", ("provinces", "province"))):
        names = _names_of(labels, table, column)
        if col in df.columns and names:
            df[col] = df[col].map(lambda v, n=names: n.get(str(v), v))
    return df


def _money(value: Any, scale: float) -> float | None:
    return None if value is None or pd.isna(value) else float(value) / scale


def _budget_sheet(ws, totals: pd.DataFrame, regions: pd.DataFrame | None, *, money_unit: str, language: str,
                  region_names: Mapping[str, str]) -> None:
    """Categories down, regions across (budget_region), the year's budget as the SUM of its regions, what was
    asked, the cap and the cap that applied, and the share of the target (budget_total); a SUM total row."""
    scale, fmt, unit = MONEY_SCALE[money_unit], _MONEY_FORMAT[money_unit], _unit_text(money_unit, language)
    ids = sorted(regions["region_id"].astype(str).unique()) if regions is not None and len(regions) else []
    cells = (regions.assign(region_id=regions["region_id"].astype(str), category=regions["category"].astype(str))
             .set_index(["category", "region_id"])["budget"] if ids else pd.Series(dtype=float))
    header = [_header_text("category", language), _header_text("basis", language),
              f"{_header_text('asked', language)} ({unit})", f"{_header_text('cap', language)} ({unit})",
              _header_text("capped", language), *[region_names.get(r, r) for r in ids],
              f"{_header_text('budget', language)} ({unit})", _header_text("share_of_target", language)]
    first_region, total_col = 6, 6 + len(ids)
    rows = []
    for i, rec in enumerate(totals.itertuples(index=False)):
        row: list[Any] = [_code_text(rec.category, language), _code_text(rec.basis, language),
                          _money(rec.asked, scale), _money(rec.cap, scale), _code_text(rec.capped, language)]
        if ids:
            row += [_money(cells.get((str(rec.category), r)), scale) for r in ids]
            row.append(_row_total(first_region, total_col - 1, i + 2))
        else:  # no regional split in the run: the category's year as the table has it
            row.append(_money(rec.budget, scale))
        row.append(None if pd.isna(rec.share_of_target) else float(rec.share_of_target))
        rows.append(row)
    money_cols = [3, 4, *range(first_region, total_col + 1)]
    _write_totalled(ws, header, rows, sum_cols=[3, *range(first_region, total_col + 2)],
                    formats={**{c: fmt for c in money_cols}, total_col + 1: "0.0%"}, freeze_col=2, language=language)
    _autosize(ws, {1: 18, 2: 14, 5: 18}, default=13)


def _stock_sheet(ws, cover: pd.DataFrame, orders: pd.DataFrame | None, *, language: str,
                 customer_names: Mapping[str, str]) -> None:
    """One row per store and product, below the band first (as the tracking page orders them): its count, days
    of cover and status, then the units to order in each month of the order plan (stock_orders), a SUM total."""
    from salesmodel.domain.tracking import out_of_band_first

    cover = out_of_band_first(cover)
    periods: list[str] = []
    order_units: dict[tuple[str, str, str], float] = {}
    if orders is not None and len(orders):
        periods = sorted(orders["period"].astype(str).unique())
        for rec in orders[["customer_id", "product", "period", "order_units"]].itertuples(index=False):
            key = (str(rec.customer_id), str(rec.product), str(rec.period))
            order_units[key] = order_units.get(key, 0.0) + float(rec.order_units)
    header = [_header_text("customer_id", language), _header_text("customer_name", language),
              _header_text("rep_id", language), _header_text("product", language), _header_text("status", language),
              _header_text("on_hand", language), _header_text("days_of_cover", language),
              *[word("stock_order_month", language).format(month=_period_text(p, language)) for p in periods],
              word("stock_order_total", language)]
    first_month, total_col = 8, 8 + len(periods)
    rows = []
    for i, rec in enumerate(cover.itertuples(index=False)):
        store, product = str(rec.customer_id), str(rec.product)
        rep = getattr(rec, "rep_id", None)
        row: list[Any] = [store, customer_names.get(store, ""), "" if rep is None or pd.isna(rep) else str(rep), product,
                          _code_text(rec.status, language), float(rec.on_hand),
                          None if pd.isna(rec.days_of_cover) else float(rec.days_of_cover)]
        row += [order_units.get((store, product, p)) for p in periods]
        row.append(_row_total(first_month, total_col - 1, i + 2) if periods else None)
        rows.append(row)
    units = {c: "#,##0" for c in (6, *range(first_month, total_col + 1))}
    _write_totalled(ws, header, rows, sum_cols=list(range(first_month, total_col + 1)) if periods else [],
                    formats={**units, 7: "0.0"}, freeze_col=3, language=language)
    _autosize(ws, {1: 12, 2: 22, 3: 10, 4: 9, 5: 16}, default=12)
    ws.print_title_cols = "A:B"


def _commitments_sheet(ws, commitments: pd.DataFrame, *, money_unit: str, language: str,
                       rep_names: Mapping[str, str], region_names: Mapping[str, str]) -> None:
    """Each rep's top-down target, commitment, gap and reconciled target (targets_commitments), the largest
    gap first as on the targets page, with a SUM total row."""
    scale, fmt, unit = MONEY_SCALE[money_unit], _MONEY_FORMAT[money_unit], _unit_text(money_unit, language)
    shown = commitments.assign(_gap=commitments["gap"].astype(float).abs())
    shown = shown.sort_values(["_gap", "rep_id"], ascending=[False, True], kind="stable")
    header = [_header_text("region_id", language), _header_text("rep_id", language),
              _header_text("rep_name", language),
              *[f"{_header_text(c, language)} ({unit})" for c in ("top_down", "commitment", "gap")],
              _header_text("gap_pct", language), f"{word('col_reconciled_target', language)} ({unit})",
              f"{_header_text('change', language)} ({unit})", _header_text("note", language)]
    rows = []
    for rec in shown.itertuples(index=False):
        region, rep = str(rec.region_id), str(rec.rep_id)
        rows.append([region_names.get(region, region), rep, rep_names.get(rep, ""), _money(rec.top_down, scale),
                     _money(rec.commitment, scale), _money(rec.gap, scale),
                     None if pd.isna(rec.gap_pct) else float(rec.gap_pct), _money(rec.target, scale),
                     _money(rec.change, scale), "" if rec.note is None or pd.isna(rec.note) else str(rec.note)])
    _write_totalled(ws, header, rows, sum_cols=[4, 5, 6, 8, 9],
                    formats={**{c: fmt for c in (4, 5, 6, 8, 9)}, 7: "0.0%"}, freeze_col=4, language=language)
    _autosize(ws, {1: 14, 2: 12, 3: 16, 10: 40}, default=14)


def _cell_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (pd.Timestamp,)):
        return v.to_pydatetime().date() if v == v.normalize() else v.to_pydatetime()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (list, dict, tuple)):
        return json.dumps(v, ensure_ascii=False, default=str)
    if pd.isna(v) if not isinstance(v, (str, bytes)) else False:
        return None
    return v


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        if isinstance(value, (list, tuple)):
            text = ", ".join(str(v) for v in value)
        elif value is None:
            text = ""
        else:
            text = str(value)
        out.append((prefix, text))


def plan_labels(inputs: Mapping[str, pd.DataFrame], language: str = "en") -> dict[str, pd.DataFrame]:
    """Names beside the ids: rep → name, region, province; customer → name, rep; region → name (``budget``)."""
    out: dict[str, pd.DataFrame] = {}
    reps, org, provinces, customers = (inputs.get(k) for k in ("reps", "org", "provinces", "customers"))
    if org is not None and "unit_id" in org:
        out["budget"] = pd.DataFrame({"region": overview.unit_names(org, "unit_id", language)})
    if provinces is not None and "province_id" in provinces:
        out["provinces"] = pd.DataFrame({"province": overview.unit_names(provinces, "province_id", language)})
    if reps is not None:
        r = reps.set_index("rep_id")
        frame = pd.DataFrame({"rep_name": r["rep_name"]})
        if org is not None:
            frame["region"] = r["region_id"].map(overview.unit_names(org, "unit_id", language))
        if provinces is not None:
            frame["province"] = r["province_id"].map(overview.unit_names(provinces, "province_id", language))
        out["plan_rep_month"] = frame
        if customers is not None:
            c = customers.set_index("customer_id")
            out["plan_customer_dekad"] = pd.DataFrame({"customer_name": c["customer_name"],
                                                       "rep_name": c["rep_id"].map(r["rep_name"])})
    return out


def company_name(inputs: Mapping[str, pd.DataFrame], language: str = "en") -> str:
    org = inputs.get("org")
    if org is None or "level" not in org:
        return ""
    top = org[org["level"] == "company"]
    if not len(top) or not {"name_en", "name"} & set(org.columns):
        return ""
    return str(overview.unit_names(top, "unit_id", language).iloc[0])


def _staffing_sheet(cap: pd.DataFrame, language: str) -> pd.DataFrame:
    """The capacity plan for people: whole people (the table's own integers, so every total equals the
    table's), the lead-in months marked, a company total per month."""
    whole = "people_end" in cap.columns
    if whole:
        keep = ["region_id", "month", "target", "people_start", "hires_starting", "leavers", "people_end",
                "capacity", "gap", "shortfall"]
    else:
        keep = ["region_id", "month", "target", "headcount_start", "hires_starting", "leavers_expected", "headcount_end",
                "capacity", "gap", "shortfall"]
    out = cap[[c for c in keep if c in cap.columns]].copy()
    if not whole:
        for c in ("headcount_start", "headcount_end"):
            if c in out:
                out[c] = out[c].round().astype("int64")
        if "leavers_expected" in out:
            out["leavers_expected"] = out["leavers_expected"].round(1)
    if "shortfall" in out:

        out["shortfall"] = out["shortfall"].map(lambda b: word(f"code_{str(bool(b)).lower()}", language))
    sums = [c for c in ("target", "hires_starting", "capacity", "gap", "people_start", "leavers", "people_end") if c in out]
    total = out.groupby("month", as_index=False)[sums].sum()
    if not whole:
        for c in ("headcount_start", "headcount_end", "leavers_expected"):
            if c in out:
                total[c] = out.groupby("month")[c].sum().to_numpy()
    total["region_id"] = word("total", language)
    total["shortfall"] = ""
    return pd.concat([out, total[out.columns]], ignore_index=True)


def _pivot_plan(plan: pd.DataFrame, unit_cols: list[str], period_col: str, value_col: str) -> pd.DataFrame:
    missing = [c for c in [*unit_cols, period_col, value_col] if c not in plan.columns]
    if missing:
        raise InputError(
            f"plan table: columns {missing} not found; expected {[*unit_cols, period_col, value_col]}, "
            f"found {list(plan.columns)}"
        )
    wide = plan.pivot_table(index=unit_cols, columns=period_col, values=value_col, aggfunc="sum", sort=True, observed=True)
    wide = wide.fillna(0.0)
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index()


def build_workbook(
    tables: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    params: Mapping[str, Any] | None = None,
    run_id: str = "",
    language: str = "en",
    money_unit: str = "wan",
    rep_month: tuple[list[str], str, str] = (["rep_id"], "period", "target"),
    customer_dekad: tuple[list[str], str, str] = (["customer_id"], "period", "target"),
    labels: Mapping[str, pd.DataFrame] | None = None,
    title: Mapping[str, Any] | None = None,
    adjustments: pd.DataFrame | None = None,
) -> Path:
    """Write the plan workbook from a run's tables; returns the path.

    ``tables`` may hold ``plan_rep_month``, ``plan_customer_dekad``, ``capacity_plan``,
    ``territory_assignment``, ``targets_commitments`` (a sheet when a rep committed),
    ``budget_total`` with ``budget_region``, and ``stock_cover`` with ``stock_orders``; sheets are
    written for those present, each read as its table has it (nothing recomputed: totals are
    Excel ``SUM`` formulas of the cells above or beside them). ``rep_month`` and
    ``customer_dekad`` name the unit columns, the period column and the value column
    of the two plan tables. ``labels`` gives, per plan table, a frame indexed by its unit id
    with the names readers know (rep name, region, province; customer name, rep), shown
    beside the ids (``budget``: region → name, for the budget and commitments sheets);
    ``title`` (company, scenario, plan_year) goes in every printed page's
    header with the money unit and the run id. ``adjustments`` (an edited plan's, as ``import_edits``
    records them) keep each planner's comment on the cell it explains, and list on a sheet of their own.

    Examples
    --------
    >>> plan = pd.DataFrame({"rep_id": ["R1", "R1"], "period": ["2027-01", "2027-02"],
    ...                      "target": [100_000.0, 120_000.0]})
    >>> build_workbook({"plan_rep_month": plan}, "plan.xlsx")  # doctest: +SKIP
    """
    if money_unit not in MONEY_SCALE:
        raise InputError(f"The 'money_unit' parameter of build_workbook must be one of {sorted(MONEY_SCALE)}. Got {money_unit!r} instead.")
    language = language if language in LANGUAGES else "en"
    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    meta: dict[str, Any] = {"run_id": run_id, "money_unit": money_unit, "language": language, "sheets": {}}
    t = dict(title or {})
    unit_line = word("amounts_in_unit", language).format(
        u=_unit_text(money_unit, language))
    page_header = " · ".join(str(x) for x in (t.get("company"), t.get("scenario"), t.get("plan_year"), unit_line,
                                               run_id) if x)

    printed_sheets: list[str] = []  # the region customer plans, printed right after the rep x month plan
    for key, (unit_cols, period_col, value_col) in (
        ("plan_rep_month", rep_month),
        ("plan_customer_dekad", customer_dekad),
    ):
        plan = tables.get(key)
        if plan is None or plan.empty:
            continue
        wide = _pivot_plan(plan, unit_cols, period_col, value_col)
        label_cols = list(unit_cols)
        extra_labels = (labels or {}).get(key)
        if extra_labels is not None and len(unit_cols) == 1:
            for col in extra_labels.columns:
                names = {str(k): str(v) for k, v in extra_labels[col].dropna().items()}
                wide.insert(len(label_cols), col, [names.get(str(k), "") for k in wide[unit_cols[0]]])
                label_cols.append(col)
        # Readers want names beside ids when the plan carries them.
        for extra in ("rep_name", "customer_name", "region_id", "province_id"):
            if extra in plan.columns and extra not in label_cols:
                names = plan.drop_duplicates(unit_cols).set_index(unit_cols)[extra]
                wide.insert(len(label_cols), extra, wide.set_index(unit_cols).index.map(names))
                label_cols.append(extra)
        ws = wb.create_sheet(_sheet_title(key, language))
        shown_header = _write_pivot(ws, wide, label_cols=label_cols, money_unit=money_unit, language=language)
        # the customer x dekad table is data for analysis; what prints is each region's customer plan by month
        _print_setup(ws, page_header, language, data_sheet=key == "plan_customer_dekad")
        if key == "plan_customer_dekad" and "region_id" in plan.columns and len(unit_cols) == 1:
            periods = [c for c in wide.columns if c not in label_cols]
            data_rows = {str(u): i + 2 for i, u in enumerate(wide[unit_cols[0]])}
            data_columns = {str(p): len(label_cols) + i + 1 for i, p in enumerate(periods)}
            region_names = _names_of(labels, "budget", "region")
            customer_names = _names_of(labels, "plan_customer_dekad", "customer_name")
            rep_names = _names_of(labels, "plan_rep_month", "rep_name")
            for region, rows in plan.groupby("region_id", sort=True):
                name = region_names.get(str(region), str(region))
                title = _safe_sheet_title(word("wb_region_customers", language).format(region=name), wb)
                rws = wb.create_sheet(title)
                n = _region_customer_sheet(rws, rows, ws.title, data_rows, data_columns, names=customer_names,
                                           rep_names=rep_names, money_unit=money_unit, language=language)
                printed = min(n + 1, REGION_PRINTED_PAGES * PRINTED_ROWS_PER_PAGE - 1)
                note = word("wb_printed_largest", language).format(shown=printed - 1, total=n) if printed - 1 < n else ""
                _print_setup(rws, " · ".join(x for x in (rws.title, page_header, note) if x), language,
                             print_rows=printed)
                printed_sheets.append(rws.title)
        if key == "plan_rep_month" and adjustments is not None and len(adjustments) and len(unit_cols) == 1:
            _comment_cells(ws, wide[unit_cols[0]], [c for c in wide.columns if c not in label_cols],
                           len(label_cols), adjustments, unit_cols[0], period_col)
        meta["sheets"][key] = {
            "header": shown_header,
            "title": ws.title,
            "unit_cols": list(unit_cols),
            "label_cols": label_cols,
            "period_col": period_col,
            "value_col": value_col,
            "periods": [c for c in wide.columns if c not in label_cols],
        }

    region_names = _names_of(labels, "budget", "region")
    commitments = tables.get("targets_commitments")
    if commitments is not None and len(commitments) and commitments["has_commitment"].astype(bool).any():
        ws = wb.create_sheet(_sheet_title("commitments", language))
        _commitments_sheet(ws, commitments, money_unit=money_unit, language=language,
                           rep_names=_names_of(labels, "plan_rep_month", "rep_name"), region_names=region_names)
        _print_setup(ws, page_header, language)
    budget = tables.get("budget_total")
    if budget is not None and len(budget):
        ws = wb.create_sheet(_sheet_title("budget", language))
        _budget_sheet(ws, budget, tables.get("budget_region"), money_unit=money_unit, language=language,
                      region_names=region_names)
        _print_setup(ws, page_header, language)

    money_like = {"target", "capacity", "gap", "cumulative_gap", "potential", "amount", "last_year"}
    for key in ("capacity_plan", "staffing_hires", "territory_assignment"):
        df = tables.get(key)
        if df is None or df.empty:
            continue
        if key == "territory_assignment" and tables.get("territory_handover") is not None:
            ws = wb.create_sheet(_sheet_title("territory_handover", language))  # replaces the raw territories
            _handover_sheet(ws, tables["territory_handover"], money_unit=money_unit, language=language,
                            hires=tables.get("staffing_hires"))
            _print_setup(ws, page_header, language)
            ws.page_setup.orientation = "portrait"  # seven narrow columns: more rows a page
            continue
        ws = wb.create_sheet(_sheet_title(key, language))
        if key == "capacity_plan":
            df = _named_places(_staffing_sheet(df, language), labels)  # regions by name, not code (C, E)
        if key == "staffing_hires":  # the planned hires, one row per person, codes in the reader's words
            city = "base_city_zh" if language == "zh" else "base_city_en"
            df = _named_places(df[["hire_id", "region_id", "role", "decision_month", "start_month", "ramp", "productivity",
                                   "province_id", city, "blocked_month", "start_side"]], labels)
            for c in ("role", "start_side"):
                df[c] = df[c].map(lambda v: _code_text(v, language))
            money_like = money_like | {"productivity"}
        people = {c: "#,##0" for c in ("headcount_start", "hires_decided", "hires_starting", "headcount_end",
                                        "people_start", "leavers", "people_end")}
        people.update({c: "#,##0.0" for c in ("leavers_expected", "ramped_fte")})
        _write_table(ws, df, money_cols=[c for c in df.columns if c in money_like], money_unit=money_unit,
                     language=language, formats=people)
        _print_setup(ws, page_header, language, data_sheet=key == "territory_assignment")

    id_names = {"region_id": _names_of(labels, "budget", "region"),
                "province_id": _names_of(labels, "provinces", "province"),
                "rep_id": _names_of(labels, "plan_rep_month", "rep_name"),
                "customer_id": _names_of(labels, "plan_customer_dekad", "customer_name")}
    for key in DATA_TABLES:
        df = tables.get(key)
        if df is None or df.empty:
            continue
        if key == "targets_person":  # a planned hire is named in words, as on the pages
            from salesmodel.report import month_label

            hire = df["kind"] == "hire"
            df = df.assign(person_name=[
                word("territory_hire", language).format(hire=h, month=month_label(str(m), language, with_year=True))
                if is_hire else name for h, m, name, is_hire in zip(df["person_id"], df["start_month"], df["person_name"], hire)])
        ws = wb.create_sheet(_sheet_title(key, language))
        _data_table_sheet(ws, key, df, names=id_names, money_unit=money_unit, language=language)
        _print_setup(ws, page_header, language, data_sheet=True)

    cover = tables.get("stock_cover")
    if cover is not None and len(cover):
        ws = wb.create_sheet(_sheet_title("stock", language))
        _stock_sheet(ws, cover, tables.get("stock_orders"), language=language,
                     customer_names=_names_of(labels, "plan_customer_dekad", "customer_name"))
        # the stores below the band come first: those print (two pages); the rest of the sheet is for reading
        _print_setup(ws, page_header.replace(unit_line, word("wb_units_sheet", language)), language,
                     print_rows=2 * PRINTED_ROWS_PER_PAGE)

    if adjustments is not None and len(adjustments):
        ws = wb.create_sheet(_sheet_title("adjustments", language))
        shown = adjustments[[c for c in ("rep_id", "period", "old", "new", "delta", "comment", "author")
                             if c in adjustments.columns]]
        _write_table(ws, shown, money_cols=[c for c in ("old", "new", "delta") if c in shown.columns],
                     money_unit=money_unit, language=language)
        _print_setup(ws, page_header, language)

    ws = wb.create_sheet(_sheet_title("params", language))
    _append(ws, [word("setting", language), word("value", language)])
    _style_header(ws, 2)
    rows: list[tuple[str, str]] = []
    _flatten("", dict(params or {}), rows)
    for k, v in rows:
        _append(ws, [k, v])
    ws.freeze_panes = "A2"
    _autosize(ws, {1: 36, 2: 60})
    _print_setup(ws, page_header, language, data_sheet=True)

    # Printing the workbook gives the plan as it is handed out: the rep x month plan, each region's
    # customers, then the budget, staffing and the rest; data sheets (printing one page each) last.
    data_titles = {_sheet_title(k, language) for k in ("plan_customer_dekad", *DATA_TABLES, "territory_assignment", "params")}
    front = [w for w in wb._sheets if w.title == _sheet_title("plan_rep_month", language)]
    regions = [w for w in wb._sheets if w.title in printed_sheets]
    rest = [w for w in wb._sheets if w not in front and w not in regions and w.title not in data_titles]
    wb._sheets = front + regions + rest + [w for w in wb._sheets if w.title in data_titles]

    meta_ws = wb.create_sheet(_META_SHEET)
    _put(meta_ws["A1"], json.dumps(meta, ensure_ascii=False))
    meta_ws.sheet_state = "hidden"

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class Edits:
    """Cells a planner changed in a handed-out workbook."""

    sheet: str
    adjustments: pd.DataFrame  # unit cols, period, old, new, delta, comment, author


def _workbook_meta(wb, edited_path: Path) -> dict[str, Any]:
    """The hidden marker of a plan workbook, checked; InputError when missing or damaged."""
    if _META_SHEET not in wb.sheetnames:
        raise InputError(f"{edited_path}: not a salesmodel plan workbook (the hidden '{_META_SHEET}' sheet is missing)")
    damaged = (f"{edited_path}: the hidden '{_META_SHEET}' sheet (cell A1) is damaged, so the workbook cannot be "
               "matched to its run; import the workbook as it was handed out, with only plan cells edited")
    raw = wb[_META_SHEET]["A1"].value
    try:
        meta = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or not isinstance(meta.get("sheets"), dict) or meta.get("money_unit") not in MONEY_SCALE:
        raise InputError(damaged)
    for info in meta["sheets"].values():
        if not (isinstance(info, dict) and isinstance(info.get("title"), str)
                and all(isinstance(info.get(k), list) for k in ("unit_cols", "label_cols", "periods"))
                and isinstance(info.get("period_col"), str) and isinstance(info.get("value_col"), str)):
            raise InputError(damaged)
    return meta


def _same_formula(value: Any, expected: str) -> bool:
    return isinstance(value, str) and value.replace(" ", "").upper() == expected.upper()


def read_edits(edited_path: str | Path, plan: pd.DataFrame, *, sheet: str = "plan_rep_month",
               run_id: str | None = None) -> Edits:
    """Compare an edited workbook's plan sheet with the run's plan table.

    Returns one row per changed cell with the old and new value (in yuan),
    the cell comment and its author. Labels are ignored. The layout must be as
    handed out: a deleted sheet, a damaged hidden marker, a workbook of another
    run (when ``run_id`` is given), deleted, added or repeated unit rows, and
    edits to total cells (totals are computed) are refused with InputError.
    """
    edited_path = Path(edited_path)
    check_archive(edited_path)
    try:
        wb = load_workbook(edited_path, data_only=False)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise InputError(f"{edited_path}: not a readable Excel workbook (.xlsx); save it from Excel as a workbook") from None
    meta = _workbook_meta(wb, edited_path)
    if run_id is not None and meta.get("run_id") != run_id:
        raise InputError(
            f"{edited_path}: this workbook belongs to run {shorten(meta.get('run_id') or '(none)')}, not to run "
            f"{shorten(run_id)}; import it against the run it came from"
        )
    info = meta["sheets"].get(sheet)
    if info is None:
        raise InputError(f"{edited_path}: the workbook has no '{sheet}' sheet; it has {sorted(meta['sheets'])}")
    if info["title"] not in wb.sheetnames:
        raise InputError(
            f"{edited_path}: the plan sheet '{shorten(info['title'], 40)}' was deleted or renamed; "
            "import the workbook with its sheets as handed out"
        )
    ws = wb[info["title"]]
    scale = MONEY_SCALE[meta["money_unit"]]
    unit_cols, label_cols, periods = info["unit_cols"], info["label_cols"], info["periods"]
    header = [c.value for c in ws[1]]
    expected_header = info.get("header") or (label_cols + periods)
    if header[: len(expected_header)] != expected_header:
        raise InputError(
            f"{edited_path}: sheet '{ws.title}' header changed; expected {shorten(expected_header[:6])}..., "
            f"found {shorten(header[:6])}...; edit values only, not the layout"
        )
    wide = _pivot_plan(plan, unit_cols, info["period_col"], info["value_col"]).set_index(unit_cols)
    n_units = len(wide)
    first_col, last_col = len(label_cols) + 1, len(label_cols) + len(periods)
    total_col = last_col + 1
    total_row = n_units + 2
    # Rows: the unit rows must be the plan's units, each once, above the total row.
    seen: dict[Any, int] = {}
    unknown: list[str] = []
    for r in range(2, total_row):
        key = tuple(str(ws.cell(row=r, column=i + 1).value) for i in range(len(unit_cols)))
        key_idx = key[0] if len(key) == 1 else key
        if key_idx in seen:
            raise InputError(f"{edited_path}: sheet '{ws.title}' rows {seen[key_idx]} and {r} are both unit "
                             f"{shorten(key_idx, 40)}; each unit has one row")
        seen[key_idx] = r
        if key_idx not in wide.index:
            unknown.append(f"row {r} ({shorten(key_idx, 40)})")
    missing = [k for k in wide.index if k not in seen]
    if missing:
        raise InputError(
            f"{edited_path}: sheet '{ws.title}': the rows of {len(missing)} unit(s) of the plan were deleted or "
            f"changed ({', '.join(shorten(k, 40) for k in missing[:5])}{' and more' if len(missing) > 5 else ''}); "
            "units cannot be removed in the workbook, only their month values edited"
        )
    if unknown:
        raise InputError(f"{edited_path}: sheet '{ws.title}': {', '.join(unknown[:5])} not in the plan; "
                         "rows cannot be added or renamed in the workbook")
    # Totals are computed: a total cell that is not its SUM formula any more was edited.
    edited_totals = [
        ws.cell(row=r, column=total_col).coordinate for r in range(2, total_row)
        if not _same_formula(ws.cell(row=r, column=total_col).value, _row_total(first_col, last_col, r))
    ] + [
        ws.cell(row=total_row, column=c).coordinate for c in range(first_col, total_col + 1)
        if not _same_formula(ws.cell(row=total_row, column=c).value, _column_total(c, total_row))
    ]
    if edited_totals:
        raise InputError(
            f"{edited_path}: sheet '{ws.title}': total cells {', '.join(edited_totals[:8])}"
            f"{' and more' if len(edited_totals) > 8 else ''} were edited; totals are computed from the months, "
            "so edit the month cells instead"
        )
    records = []
    bad_cells = []
    for key_idx, r in seen.items():
        key = key_idx if isinstance(key_idx, tuple) else (key_idx,)
        for j, period in enumerate(periods):
            cell = ws.cell(row=r, column=first_col + j)
            value = cell.value
            if isinstance(value, str) and value.startswith("="):
                bad_cells.append(f"{cell.coordinate} (a formula)")
                continue
            try:
                new = float(value) * scale if value is not None else 0.0
            except (TypeError, ValueError):
                bad_cells.append(f"{cell.coordinate} ({shorten(value, 30)})")
                continue
            if not np.isfinite(new) or new < 0 or new > _MAX_CELL:
                bad_cells.append(f"{cell.coordinate} (not a plausible amount: {shorten(value, 30)})")
                continue
            old = float(wide.at[key_idx, period])
            # Compare at the display precision so untouched cells never count as edits.
            if round(new / scale, 2) != round(old / scale, 2):
                comment = cell.comment.text.strip() if cell.comment else ""
                author = cell.comment.author if cell.comment else ""
                records.append((*key, period, old, new, new - old, comment, author or ""))
    if bad_cells:
        raise InputError(
            f"{edited_path}: sheet '{ws.title}': cells must hold non-negative numbers; "
            f"found {', '.join(bad_cells[:8])}{' and more' if len(bad_cells) > 8 else ''}"
        )
    adj = pd.DataFrame(records, columns=[*unit_cols, info["period_col"], "old", "new", "delta", "comment", "author"])
    return Edits(sheet=sheet, adjustments=adj)


def apply_edits(
    plan: pd.DataFrame,
    edits: Edits,
    *,
    unit_cols: list[str] = ("rep_id",),  # type: ignore[assignment]
    period_col: str = "period",
    value_col: str = "target",
    round_to: float = 1.0,
) -> pd.DataFrame:
    """Re-balance a plan after edits so each unit's total and the grand total hold.

    Edited cells are kept as typed. Within each edited unit, the unedited periods
    absorb the difference in proportion to their planned values. When every period
    of a unit was edited (so its total changed on purpose), the other units absorb
    the change in proportion to their totals, period by period. Results are rounded
    to ``round_to`` with largest remainders so the totals stay exact.
    """
    from salesmodel.domain.targets import decompose  # core function; imported late to keep this edge light

    unit_cols = list(unit_cols)
    out = plan.copy()
    key = out[unit_cols].astype(str).agg("|".join, axis=1)
    adj = edits.adjustments
    adj_key = adj[unit_cols].astype(str).agg("|".join, axis=1)
    edited = pd.Series(False, index=out.index)
    for (k, period), new in zip(zip(adj_key, adj[period_col].astype(str)), adj["new"]):
        mask = (key == k) & (out[period_col].astype(str) == period)
        out.loc[mask, value_col] = new
        edited |= mask
    out["edited"] = edited
    grand_total = float(plan[value_col].sum())
    changed_totals: dict[str, float] = {}
    for k in adj_key.unique():
        rows = key == k
        unit_total = float(plan.loc[rows, value_col].sum())
        free = rows & ~edited
        locked_sum = float(out.loc[rows & edited, value_col].sum())
        if free.any():
            remaining = unit_total - locked_sum
            if remaining < 0:
                raise InputError(
                    f"edits to unit {k!r} add up to {locked_sum:,.0f}, more than its total {unit_total:,.0f}; "
                    "lower an edited month or edit every month to change the total on purpose"
                )
            part = out.loc[free, [value_col]].copy()
            basis = part[value_col] if part[value_col].sum() > 0 else pd.Series(1.0, index=part.index)
            res = decompose(remaining, part.assign(basis=basis.to_numpy()), basis="basis", round_to=round_to)
            out.loc[free, value_col] = res["target"].to_numpy()
        else:
            changed_totals[k] = locked_sum - unit_total
    if changed_totals:
        others = ~key.isin(list(changed_totals)) & ~edited
        remaining = grand_total - float(out.loc[~others, value_col].sum())
        if remaining < 0 or not others.any():
            raise InputError(
                "edits raise the plan above its company total and no other unit can absorb it: "
                f"units changed {sorted(changed_totals)}"
            )
        part = out.loc[others, [value_col]].copy()
        res = decompose(remaining, part.assign(basis=part[value_col].to_numpy()), basis="basis", round_to=round_to)
        out.loc[others, value_col] = res["target"].to_numpy()
    return out


def import_edits(
    run_dir: str | Path,
    edited_path: str | Path,
    out_dir: str | Path | None = None,
    *,
    pages: bool = True,
) -> Path:
    """Read a planner's edited workbook back against its run; write the edited plan as a new run folder.

    The edited rep × month cells are kept as typed (rounded to the plan's unit,
    ``targets.plan_round_to``) and each edited rep's other months absorb the change, so
    every rep keeps its year. Then the plan flows through
    (:func:`salesmodel.pipeline.run_edited`): the customer × 旬 and rep × product × month
    plans are re-phased to the edited months (each customer and product keeps its year),
    the company's months follow, and staffing, territories and the summary run again.
    The new folder ``<out_dir>/<run id>/`` (default ``<outputs>/edits/<run id>/``) is a run folder: ``params.yaml``, the
    inputs copy, every table, the ``adjustments`` (old, new, comment, author), a new
    ``plan.xlsx``, the pages (with ``pages``) and a ``manifest.json`` whose ``edited_from``
    links the run it came from and the edited workbook's sha256; ``salesmodel verify``
    checks it. It is built in ``<out_dir>/.staging`` and renamed, so it appears whole or
    not at all. The source run folder is never changed.

    A rep whose every month was edited to a different year is refused (its year comes from
    the allocation: change it with ``targets.overrides``), as are the workbook errors
    :func:`read_edits` names.
    """
    import hashlib
    import os
    import shutil
    from datetime import UTC, datetime

    from salesmodel.io import write_table
    from salesmodel.pipeline import run_edited
    from salesmodel.pipeline.run_folder import load_run_tables
    from salesmodel.run import audit
    from salesmodel.run.workspace import read_run_inputs, write_inputs
    from salesmodel.schema.params import load_params

    started = datetime.now(UTC)
    run_dir = Path(run_dir)
    manifest = audit.read_manifest(run_dir)
    run_id = manifest["run_id"]
    if not is_run_id(run_id):
        raise InputError(
            f"{run_dir / audit.MANIFEST}: run_id {shorten(run_id)} is not a run id salesmodel writes "
            "(expected <UTC time>-<scenario>-<8 hex>); the manifest was altered, so nothing was imported"
        )
    plan_path = run_dir / "tables" / "plan_rep_month.parquet"
    if not plan_path.is_file():
        raise InputError(f"{run_dir}: no plan_rep_month table in this run folder; give the run the workbook came from")
    plan = pd.read_parquet(plan_path)
    edits = read_edits(edited_path, plan, run_id=run_id)
    if edits.adjustments.empty:
        raise InputError(f"{edited_path}: no month cell of the plan was changed; nothing to import")
    params_file = run_dir / "params.yaml"
    inputs = read_run_inputs(run_dir)
    if not params_file.is_file() or inputs is None:
        raise InputError(f"{run_dir}: the run folder keeps no params.yaml or no inputs/ copy, so the edited plan "
                         "cannot flow through; give a folder written by `salesmodel run`")
    params = load_params(params_file)
    unit = float(params.targets.plan_round_to)
    adj = edits.adjustments.copy()
    adj["new"] = np.round(adj["new"] / unit) * unit
    adj["delta"] = adj["new"] - adj["old"]
    edits = Edits(sheet=edits.sheet, adjustments=adj)
    balanced = apply_edits(plan, edits, round_to=unit)
    year_before = plan.groupby("rep_id", observed=True)["target"].sum()
    year_after = balanced.groupby("rep_id", observed=True)["target"].sum()
    moved = year_after.sub(year_before).abs() > unit / 2
    if moved.any():
        rep = str(moved[moved].index[0])
        raise InputError(
            f"{edited_path}: sheet '{_sheet_title('plan_rep_month', params.report.language)}': every month of rep "
            f"{shorten(rep, 40)} was edited and its year became {year_after[rep]:,.0f} yuan instead of "
            f"{year_before[rep]:,.0f}; expected the same year (the workbook moves money between months; a rep's year "
            "comes from the allocation: change it with targets.overrides and run again)"
        )
    tables = load_run_tables(run_dir)
    result = run_edited(params, inputs, tables, balanced.drop(columns="edited"))
    workbook_sha = audit.sha256_file(edited_path)
    new_id = audit.make_run_id(f"{params.scenario}-edited",
                               hashlib.sha256(f"{run_id}|{workbook_sha}".encode()).hexdigest(), started)
    # --out DIR: the new run folder is DIR/<id>; by default it goes beside the runs, in <outputs>/edits/<id>
    base = Path(out_dir) if out_dir else run_dir.parent.parent
    try:
        edits_dir = base if out_dir else base / "edits"
        edits_dir.mkdir(parents=True, exist_ok=True)
        staging = base / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        n = 1
        name = new_id
        while (edits_dir / name).exists() or (staging / f"edits-{name}").exists():
            n += 1
            name = f"{new_id}-{n}"
        final = child(edits_dir, name, what="edits folder")
        building = child(staging, f"edits-{name}", what="staging folder")
    except OSError as exc:
        raise RunError(f"Cannot write the edits folder under {base}: {exc.strerror or exc}; nothing was written.") from None
    try:
        building.mkdir()
        shutil.copyfile(params_file, building / "params.yaml")
        write_inputs(building, inputs)
        for table_name, df in sorted(result.tables.items()):
            write_table(df, building / "tables", table_name)
        recorded = edits.adjustments.assign(source_run_id=run_id)  # the pages and workbook name the source run
        write_table(recorded, building, "adjustments")
        unmet = result.tables.get("unmet_requirements")
        if unmet is not None and len(unmet):
            items = [{k: (v if not isinstance(v, float) else round(v, 6)) for k, v in row.items()}
                     for row in unmet.to_dict(orient="records")]
            (building / audit.UNMET).write_text(json.dumps({"unmet": items}, indent=1, ensure_ascii=False),
                                                encoding="utf-8")
        lang = params.report.language
        build_workbook(result.tables, building / "plan.xlsx", params=params.to_jsonable(), run_id=name,
                       language=lang, money_unit=params.report.money_unit, labels=plan_labels(inputs, lang),
                       title={"company": company_name(inputs, lang), "scenario": params.scenario,
                              "plan_year": params.calendar.plan_year}, adjustments=recorded)
        nb_paths = _render_pages(manifest, params, building, final) if pages else []
        audit.write_manifest(
            building, run_id=name, scenario=params, inputs=inputs, notebooks=nb_paths, started=started,
            finished=datetime.now(UTC), holiday_status=(manifest.get("calendar") or {}).get("plan_year_status"),
            extra={"edited_from": {
                "run_id": run_id,
                "params_sha256": manifest.get("params_sha256"),
                "manifest_sha256": audit.sha256_file(run_dir / audit.MANIFEST),
                "edited_workbook": Path(edited_path).name,
                "edited_workbook_sha256": workbook_sha,
                "adjustments": int(len(edits.adjustments)),
                "steps_run_again": [s for s in result.steps if s != "targets"],
            }},
        )
        os.rename(building, final)
    except OSError as exc:
        raise RunError(f"Cannot write the edits folder {final}: {exc.strerror or exc}; nothing was kept.") from None
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return final


def _render_pages(manifest: Mapping[str, Any], params: Any, building: Path, final: Path) -> list[Path]:
    """Execute the source run's notebooks on the edited folder's tables (the pages read the tables)."""
    from salesmodel.run.runner import KERNEL, _execute_notebook, _kernel_environment, resolve_notebooks

    names = [nb["name"] for nb in manifest.get("notebooks", []) if isinstance(nb, dict) and nb.get("name")]
    if not names:
        return []
    nb_paths = resolve_notebooks(names)
    (building / "notebooks").mkdir(exist_ok=True)
    with _kernel_environment():
        for nb in nb_paths:
            outcome = _execute_notebook(str(nb), str(building / "notebooks" / nb.name), str(building / "params.yaml"),
                                        str(building), str(final), KERNEL, params.report.language)
            if not outcome["ok"]:
                raise RunError(f"Notebook {nb.name} failed on the edited plan in cell {outcome.get('cell_index')}: "
                               f"{outcome.get('ename')}: {outcome.get('evalue')}; nothing was written.")
    return nb_paths
