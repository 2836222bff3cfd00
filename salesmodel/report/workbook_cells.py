"""Writing the plan workbook's cells: text that stays text, styles, headers in words, print setup,
money in the reader's unit, and plain tables with ``SUM`` totals (the sheets of :mod:`workbook_sheets`
and :mod:`workbook` are built from these)."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from salesmodel.io.writers import FORMULA_START
from salesmodel.pipeline.edits import Formula, column_total
from salesmodel.report import dekad_label, month_label
from salesmodel.schema.tables import MONEY_UNITS
from salesmodel.schema.vocabulary import has_word, word

MONEY_FORMAT = {"yuan": "#,##0", "thousand": "#,##0.0", "wan": "#,##0.00", "million": "#,##0.000", "yi": "#,##0.0000"}


HEADER_FONT = Font(bold=True, color="FFFFFF")


HEADER_FILL = PatternFill("solid", fgColor="305496")


TOTAL_FONT = Font(bold=True)


TOTAL_FILL = PatternFill("solid", fgColor="D9E1F2")


def put(cell, value: Any) -> None:
    """Set a cell; text from data is always text (never a formula), risky text gets a quote prefix."""
    cell.value = value
    if isinstance(value, str) and not isinstance(value, Formula):
        cell.data_type = "s"
        if value.startswith(FORMULA_START):
            cell.quotePrefix = True


def append_row(ws, values: list[Any]) -> None:
    """``ws.append`` that keeps text from data as text (see :func:`put`)."""
    # openpyxl keeps the last row it has a cell in; ws.max_row scans every cell (quadratic over a sheet)
    last = getattr(ws, "_current_row", None)
    last = ws.max_row if last is None else max(int(last), 1)
    row = last + 1 if last > 1 or ws.cell(row=1, column=1).value is not None else 1
    for col, value in enumerate(values, start=1):
        put(ws.cell(row=row, column=col), value)


def note_row(ws, text: str | None) -> None:
    """A note to the right of a sheet's header (seen when the sheet opens, whatever its length), in italics;
    nothing without one."""
    if not text:
        return
    cell = ws.cell(row=1, column=ws.max_column + 2)
    put(cell, text)
    cell.font = Font(italic=True)


def sheet_title(key: str, language: str) -> str:
    return word(f"sheet_{key}", language)[:31]


def style_header(ws, n_cols: int, row: int = 1) -> None:
    ws.row_dimensions[row].height = 45  # room for three lines: "Target / (thousand / yuan)" wraps, never clips
    for col in range(1, n_cols + 1):
        cell = ws.cell(row=row, column=col)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def autosize(ws, widths: Mapping[int, int] | None = None, default: int = 12) -> None:
    for col in range(1, ws.max_column + 1):
        ws.column_dimensions[get_column_letter(col)].width = (widths or {}).get(col, default)


def text_width(values: Any, lo: int = 7, hi: int = 24) -> int:
    """Column width (in characters) for ``values``: the longest, a CJK character counted twice."""
    longest = max((sum(2 if ord(c) > 0x2E80 else 1 for c in str(v)) for v in values), default=lo)
    return int(min(max(longest + 1, lo), hi))


def period_text(period: str, language: str) -> str:
    """'2027-03' → '2027年3月' / 'Mar 2027'; '2027-01-D1' → '1月上旬' / 'Jan, 1st dekad'; others as they are."""
    try:
        parts = str(period).split("-")
        if len(parts) == 2:
            return month_label(period, language, with_year=True)
        if len(parts) == 3 and parts[2] in ("D1", "D2", "D3"):
            return dekad_label(period, language)
    except (ValueError, IndexError, KeyError):
        pass
    return str(period)


def column_header(column: str, language: str) -> str:
    for key in (f"col_{column}", column.removesuffix("_id"), column):
        if has_word(key):
            return word(key, language)
    return column


def unit_text(money_unit: str, language: str) -> str:

    return word(money_unit, language)


# Rows of a printed A4 landscape page at the scale a sheet prints (a header row repeated on each)
PRINTED_ROWS_PER_PAGE = 38


# The printed part of each region's customer plan: the largest customers, on this many pages
REGION_PRINTED_PAGES = 2


def print_setup(ws, header_text: str, language: str, *, print_rows: int | None = None,
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


def safe_sheet_title(title: str, wb) -> str:
    """A sheet title Excel accepts (at most 31 characters, none of []:*?/\\), unique in ``wb``."""
    clean = "".join(" " if c in "[]:*?/\\" else c for c in title).strip()[:31] or "Sheet"
    candidate, n = clean, 2
    while candidate in wb.sheetnames:
        candidate = f"{clean[:28]} {n}"
        n += 1
    return candidate


def write_frame(ws, df: pd.DataFrame, *, money_cols: list[str], money_unit: str, language: str = "en",
                 formats: Mapping[str, str] | None = None) -> None:
    scale = MONEY_UNITS[money_unit]
    fmt = MONEY_FORMAT[money_unit]
    unit = unit_text(money_unit, language)
    append_row(ws, [f"{column_header(str(c), language)} ({unit})" if c in money_cols else column_header(str(c), language)
                 for c in df.columns])
    style_header(ws, len(df.columns))
    out = df.copy()
    for col in money_cols:
        out[col] = out[col].astype(float) / scale
    for rec in out.itertuples(index=False):
        append_row(ws, [cell_value(v) for v in rec])
    for col_idx, col in enumerate(df.columns, start=1):
        col_fmt = fmt if col in money_cols else (formats or {}).get(col)
        if col_fmt:
            for (cell,) in ws.iter_rows(min_row=2, max_row=len(df) + 1, min_col=col_idx, max_col=col_idx):
                cell.number_format = col_fmt
        elif col_idx > 1 and df[col].dtype == object:  # text after a right-aligned number: a gap, not "233.07 SH"
            for (cell,) in ws.iter_rows(min_row=2, max_row=len(df) + 1, min_col=col_idx, max_col=col_idx):
                cell.alignment = Alignment(indent=1)
    ws.freeze_panes = "A2"
    autosize(ws, default=14)


def write_totalled(ws, header: list[str], rows: list[list[Any]], *, sum_cols: list[int],
                    formats: Mapping[int, str], freeze_col: int, language: str) -> int:
    """Write a header, the rows (text from data as text) and a total row of ``SUM`` formulas under ``sum_cols``
    (1-based); ``formats`` gives the number format per column. Returns the total row's number."""
    append_row(ws, header)
    style_header(ws, len(header))
    for row in rows:
        append_row(ws, row)
    total_row = len(rows) + 2
    put(ws.cell(row=total_row, column=1), word("total", language))
    for col in sum_cols:
        put(ws.cell(row=total_row, column=col), column_total(col, total_row))
    for col in range(1, len(header) + 1):
        cell = ws.cell(row=total_row, column=col)
        cell.font = TOTAL_FONT
        cell.fill = TOTAL_FILL
    for col, fmt in formats.items():
        for (cell,) in ws.iter_rows(min_row=2, max_row=total_row, min_col=col, max_col=col):
            cell.number_format = fmt
    ws.freeze_panes = ws.cell(row=2, column=freeze_col)
    return total_row


def code_text(value: Any, language: str) -> str:
    """A code of the tables (status, basis, cap, category...) in the reader's words; other text as it is."""
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return word(f"code_{text}", language) if text and has_word(f"code_{text}") else text


def money_value(value: Any, scale: float) -> float | None:
    return None if value is None or pd.isna(value) else float(value) / scale


def cell_value(v: Any) -> Any:
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


def flatten_params(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            flatten_params(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        if isinstance(value, (list, tuple)):
            text = ", ".join(str(v) for v in value)
        elif value is None:
            text = ""
        else:
            text = str(value)
        out.append((prefix, text))
