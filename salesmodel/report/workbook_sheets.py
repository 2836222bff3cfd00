"""The plan workbook's sheets beyond the plain tables: the plan pivots with their totals and comments,
the region × customer print pages, the data tables with names, the hand-over list, the budget, the stock,
the commitments and the staffing plan."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from salesmodel.domain.tracking import out_of_band_first
from salesmodel.pipeline.edits import Formula, column_total, row_total
from salesmodel.report import month_label
from salesmodel.report.workbook_cells import (
    MONEY_FORMAT,
    TOTAL_FILL,
    TOTAL_FONT,
    append_row,
    autosize,
    code_text,
    column_header,
    money_value,
    period_text,
    put,
    style_header,
    text_width,
    unit_text,
    write_frame,
    write_totalled,
)
from salesmodel.schema import tables as declared
from salesmodel.schema.tables import MONEY_UNITS
from salesmodel.schema.vocabulary import has_word, word


def write_pivot(
    ws,
    pivot: pd.DataFrame,
    *,
    label_cols: list[str],
    money_unit: str,
    language: str,
) -> list[str]:
    """Write a unit x period pivot with a SUM total column and a SUM total row; returns the header written."""
    scale = MONEY_UNITS[money_unit]
    fmt = MONEY_FORMAT[money_unit]
    periods = [c for c in pivot.columns if c not in label_cols]
    header = ([column_header(c, language) for c in label_cols] + [period_text(p, language) for p in periods]
              + [f"{word('total', language)} ({unit_text(money_unit, language)})"])
    append_row(ws, header)
    style_header(ws, len(header))
    first_value_col = len(label_cols) + 1
    last_value_col = len(label_cols) + len(periods)
    n_rows = len(pivot)
    values = pivot[periods].to_numpy(dtype=float) / scale
    labels = pivot[label_cols].astype(object).where(pivot[label_cols].notna(), "").to_numpy()
    for i in range(n_rows):
        r = i + 2
        row: list[Any] = [str(x) for x in labels[i]]
        row += [float(v) for v in values[i]]
        row.append(row_total(first_value_col, last_value_col, r))
        append_row(ws, row)
    total_row = n_rows + 2
    put(ws.cell(row=total_row, column=1), word("total", language))
    for col in range(first_value_col, last_value_col + 2):
        put(ws.cell(row=total_row, column=col), column_total(col, total_row))
    for col in range(1, last_value_col + 2):
        cell = ws.cell(row=total_row, column=col)
        cell.font = TOTAL_FONT
        cell.fill = TOTAL_FILL
    for row in ws.iter_rows(min_row=2, max_row=total_row, min_col=first_value_col, max_col=last_value_col + 1):
        for cell in row:
            cell.number_format = fmt
    ws.freeze_panes = ws.cell(row=2, column=first_value_col)
    # label columns as wide as their names (a CJK character takes two), so the sheet prints at >= 8 pt
    widths = {i + 1: text_width(labels[:, i]) for i in range(len(label_cols))}
    autosize(ws, {**widths, last_value_col + 1: 13}, default=10)
    ws.print_title_cols = f"A:{get_column_letter(len(label_cols))}"
    return header[: len(label_cols) + len(periods)]


def comment_cells(ws, units: pd.Series, periods: list[str], first_col: int, adjustments: pd.DataFrame,
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


def region_customer_sheet(ws, dekads: pd.DataFrame, data_title: str, data_rows: dict[str, int],
                           data_columns: dict[str, int], *, names: Mapping[str, str], rep_names: Mapping[str, str],
                           money_unit: str, language: str) -> int:
    """One region's customer plan by month, the largest customers first, each month the SUM of the
    customer's dekads on the data sheet ``data_title`` (nothing recomputed); the region's total first.
    Returns the number of customers."""
    fmt = MONEY_FORMAT[money_unit]
    dekads = dekads.assign(customer_id=dekads["customer_id"].astype(str), rep_id=dekads["rep_id"].astype(str))
    months = sorted({str(p)[:7] for p in dekads["period"]})
    order = (dekads.groupby("customer_id", sort=True)["target"].sum().sort_values(ascending=False, kind="stable"))
    rep_of = dekads.drop_duplicates("customer_id").set_index("customer_id")["rep_id"]
    header = ([column_header("customer_id", language), column_header("customer_name", language),
               column_header("rep_name", language)] + [period_text(m, language) for m in months]
              + [f"{word('total', language)} ({unit_text(money_unit, language)})"])
    append_row(ws, header)
    style_header(ws, len(header))
    quoted = data_title.replace("'", "''")
    first, last = 4, 3 + len(months)
    n = len(order)
    put(ws.cell(row=2, column=1), word("total", language))
    for col in range(first, last + 2):
        letter = get_column_letter(col)
        put(ws.cell(row=2, column=col), Formula(f"=SUM({letter}3:{letter}{n + 2})"))
    for col in range(1, last + 2):
        ws.cell(row=2, column=col).font = TOTAL_FONT
        ws.cell(row=2, column=col).fill = TOTAL_FILL
    for i, customer in enumerate(order.index):
        r = i + 3
        data_row = data_rows[str(customer)]
        row: list[Any] = [str(customer), str(names.get(str(customer), "")), str(rep_names.get(str(rep_of[customer]), ""))]
        for m in months:
            cols = sorted(c for p, c in data_columns.items() if p.startswith(m))
            row.append(Formula(f"=SUM('{quoted}'!{get_column_letter(cols[0])}{data_row}:"
                               f"{get_column_letter(cols[-1])}{data_row})"))
        row.append(row_total(first, last, r))
        append_row(ws, row)
    for row in ws.iter_rows(min_row=2, max_row=n + 2, min_col=first, max_col=last + 1):
        for cell in row:
            cell.number_format = fmt
    ws.freeze_panes = ws.cell(row=2, column=first)
    autosize(ws, {1: 10, 2: 24, 3: 10, last + 1: 13}, default=10)
    return n


def largest_customers(plan: pd.DataFrame, most: int) -> list[str] | None:
    """The ``most`` customers with the largest plan (ties by id), or None when the plan has no more than that."""
    totals = plan.assign(customer_id=plan["customer_id"].astype(str)).groupby("customer_id", sort=True)["target"].sum()
    if len(totals) <= most:
        return None
    return list(totals.sort_values(ascending=False, kind="stable").index[:most])


def fold_other_customers(plan: pd.DataFrame, kept: Sequence[str], label: Callable[[str, int], str]) -> pd.DataFrame:
    """The customer x period plan with the customers not ``kept`` summed into one row per region and period,
    named by ``label(region_id, count)``: every total of the plan is unchanged."""
    is_kept = plan["customer_id"].astype(str).isin(set(kept)).to_numpy()
    rest = plan.loc[~is_kept]
    counts = rest.groupby("region_id", sort=True, observed=True)["customer_id"].nunique()
    summed = {"target": ("target", "sum")}
    summed.update({c: (c, "min" if c == "start" else "max") for c in ("start", "end") if c in plan.columns})
    folded = rest.groupby(["region_id", "period"], sort=True, as_index=False, observed=True).agg(**summed)
    folded["customer_id"] = [label(str(r), int(counts[r])) for r in folded["region_id"]]
    for c in plan.columns:
        if c not in folded.columns:
            folded[c] = ""
    return pd.concat([plan.loc[is_kept], folded[list(plan.columns)]], ignore_index=True)


# Tables a page shows only in part# Tables a page shows only in part: the workbook holds them whole, as data sheets (the page names the sheet)
DATA_TABLES = ("targets_person", "targets_rep", "targets_province", "targets_customer", "territory_beyond_limit")


ID_NAMES = {"region_id": "region", "province_id": "province", "rep_id": "rep_name", "customer_id": "customer_name"}


def names_of(labels: Mapping[str, pd.DataFrame] | None, key: str, column: str) -> dict[str, str]:
    frame = (labels or {}).get(key)
    if frame is None or column not in frame.columns:
        return {}
    return {str(k): str(v) for k, v in frame[column].dropna().items()}


def named_places(df: pd.DataFrame, labels: Mapping[str, pd.DataFrame] | None) -> pd.DataFrame:
    """Regions and provinces by their names in the reader's language, not their codes (C, SH)."""
    df = df.copy()
    for col, (table, column) in (("region_id", ("budget", "region")), ("province_id", ("provinces", "province"))):
        names = names_of(labels, table, column)
        if col in df.columns and names:
            df[col] = df[col].map(lambda v, n=names: n.get(str(v), v))
    return df


def data_table_sheet(ws, name: str, df: pd.DataFrame, *, names: Mapping[str, Mapping[str, str]], money_unit: str,
                      language: str) -> None:
    """A declared table whole, as readers read it: a name beside each id, money in the workbook's unit,
    shares as percentages, codes in words; headers from the vocabulary."""
    spec = declared.TABLES[name]
    out = pd.DataFrame(index=df.index)
    money_cols, share_cols = [], []
    for column in df.columns:
        col = spec.column(str(column))
        values = df[column]
        if column in ID_NAMES and names.get(column):
            mapping = names[column]
            if column in ("region_id", "province_id"):  # readers know regions and provinces by name only
                out[ID_NAMES[column]] = values.astype(str).map(lambda k, m=mapping: m.get(k, k))
                continue
            out[column] = values.astype(str)
            out[ID_NAMES[column]] = values.astype(str).map(lambda k, m=mapping: m.get(k, ""))
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
    write_frame(ws, out, money_cols=money_cols, money_unit=money_unit, language=language,
                 formats={c: "0.0%" for c in share_cols})


def handover_sheet(ws, handover: pd.DataFrame, *, money_unit: str, language: str,
                    hires: pd.DataFrame | None = None) -> None:
    """The hand-over list: one row per account that changes rep (customer, from, to, last year's sales,
    potential, km to the new rep's base), largest last year's sales first, with totals. A planned hire
    (territory.organisation 'planned') reads 'New hire H003 (starts Mar 2027)'."""
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
    scale = MONEY_UNITS[money_unit]
    unit = unit_text(money_unit, language)
    header = [column_header("customer_name", language), column_header("customer_id", language),
              column_header("from_rep", language), column_header("to_rep", language),
              f"{column_header('last_year_sales', language)} ({unit})", f"{column_header('potential', language)} ({unit})",
              column_header("distance_km", language)]
    rows = [[str(r.customer_name), str(r.customer_id), rep(str(r.from_rep)), rep(str(r.to_rep)),
             float(r.last_year_sales) / scale, float(r.potential) / scale, round(float(r.distance_km))]
            for r in moves.itertuples(index=False)]
    write_totalled(ws, header, rows, sum_cols=[5, 6], formats={5: MONEY_FORMAT[money_unit], 6: MONEY_FORMAT[money_unit],
                                                                7: "#,##0"}, freeze_col=1, language=language)
    autosize(ws, {1: 28, 2: 10, 3: 18, 4: 18, 5: 14, 6: 14, 7: 14})
    ws.row_dimensions[1].height = 32  # headers wrap on two lines


def budget_sheet(ws, totals: pd.DataFrame, regions: pd.DataFrame | None, *, money_unit: str, language: str,
                  region_names: Mapping[str, str]) -> None:
    """Categories down, regions across (budget_region), the year's budget as the SUM of its regions, what was
    asked, the cap and the cap that applied, and the share of the target (budget_total); a SUM total row."""
    scale, fmt, unit = MONEY_UNITS[money_unit], MONEY_FORMAT[money_unit], unit_text(money_unit, language)
    ids = sorted(regions["region_id"].astype(str).unique()) if regions is not None and len(regions) else []
    cells = (regions.assign(region_id=regions["region_id"].astype(str), category=regions["category"].astype(str))
             .set_index(["category", "region_id"])["budget"] if ids else pd.Series(dtype=float))
    header = [column_header("category", language), column_header("basis", language),
              f"{column_header('asked', language)} ({unit})", f"{column_header('cap', language)} ({unit})",
              column_header("capped", language), *[region_names.get(r, r) for r in ids],
              f"{column_header('budget', language)} ({unit})", column_header("share_of_target", language)]
    first_region, total_col = 6, 6 + len(ids)
    rows = []
    for i, rec in enumerate(totals.itertuples(index=False)):
        row: list[Any] = [code_text(rec.category, language), code_text(rec.basis, language),
                          money_value(rec.asked, scale), money_value(rec.cap, scale), code_text(rec.capped, language)]
        if ids:
            row += [money_value(cells.get((str(rec.category), r)), scale) for r in ids]
            row.append(row_total(first_region, total_col - 1, i + 2))
        else:  # no regional split in the run: the category's year as the table has it
            row.append(money_value(rec.budget, scale))
        row.append(None if pd.isna(rec.share_of_target) else float(rec.share_of_target))
        rows.append(row)
    money_cols = [3, 4, *range(first_region, total_col + 1)]
    write_totalled(ws, header, rows, sum_cols=[3, *range(first_region, total_col + 2)],
                    formats={**{c: fmt for c in money_cols}, total_col + 1: "0.0%"}, freeze_col=2, language=language)
    autosize(ws, {1: 18, 2: 14, 5: 18}, default=13)


def stock_sheet(ws, cover: pd.DataFrame, orders: pd.DataFrame | None, *, language: str,
                 customer_names: Mapping[str, str]) -> None:
    """One row per store and product, below the band first (as the tracking page orders them): its count, days
    of cover and status, then the units to order in each month of the order plan (stock_orders), a SUM total."""
    cover = out_of_band_first(cover)
    periods: list[str] = []
    order_units: dict[tuple[str, str, str], float] = {}
    if orders is not None and len(orders):
        periods = sorted(orders["period"].astype(str).unique())
        for rec in orders[["customer_id", "product", "period", "order_units"]].itertuples(index=False):
            key = (str(rec.customer_id), str(rec.product), str(rec.period))
            order_units[key] = order_units.get(key, 0.0) + float(rec.order_units)
    header = [column_header("customer_id", language), column_header("customer_name", language),
              column_header("rep_id", language), column_header("product", language), column_header("status", language),
              column_header("on_hand", language), column_header("days_of_cover", language),
              *[word("stock_order_month", language).format(month=period_text(p, language)) for p in periods],
              word("stock_order_total", language)]
    first_month, total_col = 8, 8 + len(periods)
    rows = []
    for i, rec in enumerate(cover.itertuples(index=False)):
        store, product = str(rec.customer_id), str(rec.product)
        rep = getattr(rec, "rep_id", None)
        row: list[Any] = [store, customer_names.get(store, ""), "" if rep is None or pd.isna(rep) else str(rep), product,
                          code_text(rec.status, language), float(rec.on_hand),
                          None if pd.isna(rec.days_of_cover) else float(rec.days_of_cover)]
        row += [order_units.get((store, product, p)) for p in periods]
        row.append(row_total(first_month, total_col - 1, i + 2) if periods else None)
        rows.append(row)
    units = {c: "#,##0" for c in (6, *range(first_month, total_col + 1))}
    write_totalled(ws, header, rows, sum_cols=list(range(first_month, total_col + 1)) if periods else [],
                    formats={**units, 7: "0.0"}, freeze_col=3, language=language)
    autosize(ws, {1: 12, 2: 22, 3: 10, 4: 9, 5: 16}, default=12)
    ws.print_title_cols = "A:B"


def commitments_sheet(ws, commitments: pd.DataFrame, *, money_unit: str, language: str,
                       rep_names: Mapping[str, str], region_names: Mapping[str, str]) -> None:
    """Each rep's top-down target, commitment, gap and reconciled target (targets_commitments), the largest
    gap first as on the targets page, with a SUM total row."""
    scale, fmt, unit = MONEY_UNITS[money_unit], MONEY_FORMAT[money_unit], unit_text(money_unit, language)
    shown = commitments.assign(_gap=commitments["gap"].astype(float).abs())
    shown = shown.sort_values(["_gap", "rep_id"], ascending=[False, True], kind="stable")
    header = [column_header("region_id", language), column_header("rep_id", language),
              column_header("rep_name", language),
              *[f"{column_header(c, language)} ({unit})" for c in ("top_down", "commitment", "gap")],
              column_header("gap_pct", language), f"{word('col_reconciled_target', language)} ({unit})",
              f"{column_header('change', language)} ({unit})", column_header("note", language)]
    rows = []
    for rec in shown.itertuples(index=False):
        region, rep = str(rec.region_id), str(rec.rep_id)
        rows.append([region_names.get(region, region), rep, rep_names.get(rep, ""), money_value(rec.top_down, scale),
                     money_value(rec.commitment, scale), money_value(rec.gap, scale),
                     None if pd.isna(rec.gap_pct) else float(rec.gap_pct), money_value(rec.target, scale),
                     money_value(rec.change, scale), "" if rec.note is None or pd.isna(rec.note) else str(rec.note)])
    write_totalled(ws, header, rows, sum_cols=[4, 5, 6, 8, 9],
                    formats={**{c: fmt for c in (4, 5, 6, 8, 9)}, 7: "0.0%"}, freeze_col=4, language=language)
    autosize(ws, {1: 14, 2: 12, 3: 16, 10: 40}, default=14)


def staffing_sheet(cap: pd.DataFrame, language: str) -> pd.DataFrame:
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
