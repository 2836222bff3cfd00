"""The Excel plan workbook planners hand out.

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

The sheets are written by :mod:`workbook_sheets` from the cells of :mod:`workbook_cells`; reading a
planner's edits back is :mod:`salesmodel.pipeline.edits` (which states the layout both sides keep),
and importing them as a new run :mod:`salesmodel.run.edits`.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook

from salesmodel.domain import overview
from salesmodel.errors import InputError
from salesmodel.pipeline.edits import META_SHEET, pivot_plan
from salesmodel.report import month_label
from salesmodel.report.workbook_cells import (
    PRINTED_ROWS_PER_PAGE,
    REGION_PRINTED_PAGES,
    append_row,
    autosize,
    code_text,
    flatten_params,
    note_row,
    print_setup,
    put,
    safe_sheet_title,
    sheet_title,
    style_header,
    unit_text,
    write_frame,
)
from salesmodel.report.workbook_sheets import (
    DATA_TABLES,
    budget_sheet,
    comment_cells,
    commitments_sheet,
    data_table_sheet,
    fold_other_customers,
    handover_sheet,
    largest_customers,
    named_places,
    names_of,
    region_customer_sheet,
    staffing_sheet,
    stock_sheet,
    write_pivot,
)
from salesmodel.schema.tables import MONEY_UNITS
from salesmodel.schema.vocabulary import LANGUAGES, local_column, word

__all__ = [
    "SHEETS",
    "build_workbook",
    "company_name",
    "plan_labels",
]

# Sheet titles come from the vocabulary ("sheet_<table>"); the rep x month sheet keeps its Chinese
# name in every language because planners know it by that name.
SHEETS = ("plan_rep_month", "plan_customer_dekad", "commitments", "budget", "capacity_plan", "staffing_hires",
          "territory_assignment", "stock", "params", "adjustments")


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


# customers listed one by one at most; the others summed by region (see build_workbook)
MOST_CUSTOMERS = 50_000


def _largest_customers(tables: Mapping[str, pd.DataFrame], most: int, labels: Mapping[str, pd.DataFrame] | None,
                       language: str) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The tables as the workbook shows them when the plan has more than ``most`` customers: the customer x
    dekad plan with the others summed by region, the customer tables (targets, territories) with the rows of
    the largest only; and per table the note that says so."""
    out = dict(tables)
    plan = tables.get("plan_customer_dekad")
    kept = largest_customers(plan, most) if plan is not None and "region_id" in plan.columns else None
    if kept is None:
        return out, {}
    total = plan["customer_id"].nunique()
    region_names = names_of(labels, "budget", "region")
    out["plan_customer_dekad"] = fold_other_customers(plan, kept, lambda region, n: word(
        "wb_other_customers", language).format(region=region_names.get(region, region), n=n))
    notes = {"plan_customer_dekad": word("wb_largest_customers", language).format(
        shown=len(kept), total=total, table="plan_customer_dekad")}
    chosen = set(kept)
    for key in (*DATA_TABLES, "territory_assignment"):
        df = tables.get(key)
        if df is not None and "customer_id" in df.columns and len(df) > most:
            out[key] = df[df["customer_id"].astype(str).isin(chosen).to_numpy()]
            notes[key] = word("wb_largest_rows", language).format(shown=len(kept), total=total, table=key)
    return out, notes


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
    most_customers: int = MOST_CUSTOMERS,
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
    A plan of more than ``most_customers`` customers lists the largest that many one by one; the others
    are summed into a row per region (every total unchanged), and each customer sheet says where the
    whole table is (the run folder's CSV): a workbook of hundreds of thousands of customer rows is
    neither read nor built in reasonable time.

    Examples
    --------
    >>> plan = pd.DataFrame({"rep_id": ["R1", "R1"], "period": ["2027-01", "2027-02"],
    ...                      "target": [100_000.0, 120_000.0]})
    >>> build_workbook({"plan_rep_month": plan}, "plan.xlsx")  # doctest: +SKIP
    """
    if money_unit not in MONEY_UNITS:
        raise InputError(f"The 'money_unit' parameter of build_workbook must be one of {sorted(MONEY_UNITS)}. Got {money_unit!r} instead.")
    language = language if language in LANGUAGES else "en"
    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    meta: dict[str, Any] = {"run_id": run_id, "money_unit": money_unit, "language": language, "sheets": {}}
    t = dict(title or {})
    unit_line = word("amounts_in_unit", language).format(
        u=unit_text(money_unit, language))
    page_header = " · ".join(str(x) for x in (t.get("company"), t.get("scenario"), t.get("plan_year"), unit_line,
                                               run_id) if x)

    printed_sheets: list[str] = []  # the region customer plans, printed right after the rep x month plan
    tables, folded_note = _largest_customers(tables, most_customers, labels, language)
    for key, (unit_cols, period_col, value_col) in (
        ("plan_rep_month", rep_month),
        ("plan_customer_dekad", customer_dekad),
    ):
        plan = tables.get(key)
        if plan is None or plan.empty:
            continue
        wide = pivot_plan(plan, unit_cols, period_col, value_col)
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
        ws = wb.create_sheet(sheet_title(key, language))
        shown_header = write_pivot(ws, wide, label_cols=label_cols, money_unit=money_unit, language=language)
        # the customer x dekad table is data for analysis; what prints is each region's customer plan by month
        print_setup(ws, page_header, language, data_sheet=key == "plan_customer_dekad")
        note_row(ws, folded_note.get(key))  # after the print area: a note for the screen (the rows say it on paper)
        if key == "plan_customer_dekad" and "region_id" in plan.columns and len(unit_cols) == 1:
            periods = [c for c in wide.columns if c not in label_cols]
            data_rows = {str(u): i + 2 for i, u in enumerate(wide[unit_cols[0]])}
            data_columns = {str(p): len(label_cols) + i + 1 for i, p in enumerate(periods)}
            region_names = names_of(labels, "budget", "region")
            customer_names = names_of(labels, "plan_customer_dekad", "customer_name")
            rep_names = names_of(labels, "plan_rep_month", "rep_name")
            for region, rows in plan.groupby("region_id", sort=True):
                name = region_names.get(str(region), str(region))
                title = safe_sheet_title(word("wb_region_customers", language).format(region=name), wb)
                rws = wb.create_sheet(title)
                n = region_customer_sheet(rws, rows, ws.title, data_rows, data_columns, names=customer_names,
                                           rep_names=rep_names, money_unit=money_unit, language=language)
                printed = min(n + 1, REGION_PRINTED_PAGES * PRINTED_ROWS_PER_PAGE - 1)
                note = word("wb_printed_largest", language).format(shown=printed - 1, total=n) if printed - 1 < n else ""
                print_setup(rws, " · ".join(x for x in (rws.title, page_header, note) if x), language,
                             print_rows=printed)
                note_row(rws, folded_note.get(key))
                printed_sheets.append(rws.title)
        if key == "plan_rep_month" and adjustments is not None and len(adjustments) and len(unit_cols) == 1:
            comment_cells(ws, wide[unit_cols[0]], [c for c in wide.columns if c not in label_cols],
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

    region_names = names_of(labels, "budget", "region")
    commitments = tables.get("targets_commitments")
    if commitments is not None and len(commitments) and commitments["has_commitment"].astype(bool).any():
        ws = wb.create_sheet(sheet_title("commitments", language))
        commitments_sheet(ws, commitments, money_unit=money_unit, language=language,
                           rep_names=names_of(labels, "plan_rep_month", "rep_name"), region_names=region_names)
        print_setup(ws, page_header, language)
    budget = tables.get("budget_total")
    if budget is not None and len(budget):
        ws = wb.create_sheet(sheet_title("budget", language))
        budget_sheet(ws, budget, tables.get("budget_region"), money_unit=money_unit, language=language,
                      region_names=region_names)
        print_setup(ws, page_header, language)

    money_like = {"target", "capacity", "gap", "cumulative_gap", "potential", "amount", "last_year"}
    for key in ("capacity_plan", "staffing_hires", "territory_assignment"):
        df = tables.get(key)
        if df is None or df.empty:
            continue
        if key == "territory_assignment" and tables.get("territory_handover") is not None:
            ws = wb.create_sheet(sheet_title("territory_handover", language))  # replaces the raw territories
            handover_sheet(ws, tables["territory_handover"], money_unit=money_unit, language=language,
                            hires=tables.get("staffing_hires"))
            print_setup(ws, page_header, language)
            ws.page_setup.orientation = "portrait"  # seven narrow columns: more rows a page
            continue
        ws = wb.create_sheet(sheet_title(key, language))
        if key == "capacity_plan":
            df = named_places(staffing_sheet(df, language), labels)  # regions by name, not code (C, E)
        if key == "staffing_hires":  # the planned hires, one row per person, codes in the reader's words
            city = local_column("base_city", language)
            df = named_places(df[["hire_id", "region_id", "role", "reason", "decision_month", "start_month", "ramp",
                                  "productivity", "province_id", city, "blocked_month", "start_side"]], labels)
            for c in ("role", "reason", "start_side"):
                df[c] = df[c].map(lambda v: code_text(v, language))
            money_like = money_like | {"productivity"}
        people = {c: "#,##0" for c in ("headcount_start", "hires_decided", "hires_starting", "headcount_end",
                                        "people_start", "leavers", "people_end")}
        people.update({c: "#,##0.0" for c in ("leavers_expected", "ramped_fte")})
        write_frame(ws, df, money_cols=[c for c in df.columns if c in money_like], money_unit=money_unit,
                     language=language, formats=people)
        print_setup(ws, page_header, language, data_sheet=key == "territory_assignment")
        note_row(ws, folded_note.get(key))

    id_names = {"region_id": names_of(labels, "budget", "region"),
                "province_id": names_of(labels, "provinces", "province"),
                "rep_id": names_of(labels, "plan_rep_month", "rep_name"),
                "customer_id": names_of(labels, "plan_customer_dekad", "customer_name")}
    for key in DATA_TABLES:
        df = tables.get(key)
        if df is None or df.empty:
            continue
        if key == "targets_person":  # a planned hire is named in words, as on the pages
            hire = df["kind"] == "hire"
            df = df.assign(person_name=[
                word("territory_hire", language).format(hire=h, month=month_label(str(m), language, with_year=True))
                if is_hire else name for h, m, name, is_hire in zip(df["person_id"], df["start_month"], df["person_name"], hire)])
        ws = wb.create_sheet(sheet_title(key, language))
        data_table_sheet(ws, key, df, names=id_names, money_unit=money_unit, language=language)
        print_setup(ws, page_header, language, data_sheet=True)
        note_row(ws, folded_note.get(key))

    cover = tables.get("stock_cover")
    if cover is not None and len(cover):
        ws = wb.create_sheet(sheet_title("stock", language))
        stock_sheet(ws, cover, tables.get("stock_orders"), language=language,
                     customer_names=names_of(labels, "plan_customer_dekad", "customer_name"))
        # the stores below the band come first: those print (two pages); the rest of the sheet is for reading
        print_setup(ws, page_header.replace(unit_line, word("wb_units_sheet", language)), language,
                     print_rows=2 * PRINTED_ROWS_PER_PAGE)

    if adjustments is not None and len(adjustments):
        ws = wb.create_sheet(sheet_title("adjustments", language))
        shown = adjustments[[c for c in ("rep_id", "period", "old", "new", "delta", "comment", "author")
                             if c in adjustments.columns]]
        write_frame(ws, shown, money_cols=[c for c in ("old", "new", "delta") if c in shown.columns],
                     money_unit=money_unit, language=language)
        print_setup(ws, page_header, language)

    ws = wb.create_sheet(sheet_title("params", language))
    append_row(ws, [word("setting", language), word("value", language)])
    style_header(ws, 2)
    rows: list[tuple[str, str]] = []
    flatten_params("", dict(params or {}), rows)
    for k, v in rows:
        append_row(ws, [k, v])
    ws.freeze_panes = "A2"
    autosize(ws, {1: 36, 2: 60})
    print_setup(ws, page_header, language, data_sheet=True)

    # Printing the workbook gives the plan as it is handed out: the rep x month plan, each region's
    # customers, then the budget, staffing and the rest; data sheets (printing one page each) last.
    data_titles = {sheet_title(k, language) for k in ("plan_customer_dekad", *DATA_TABLES, "territory_assignment", "params")}
    front = [w for w in wb._sheets if w.title == sheet_title("plan_rep_month", language)]
    regions = [w for w in wb._sheets if w.title in printed_sheets]
    rest = [w for w in wb._sheets if w not in front and w not in regions and w.title not in data_titles]
    wb._sheets = front + regions + rest + [w for w in wb._sheets if w.title in data_titles]

    meta_ws = wb.create_sheet(META_SHEET)
    put(meta_ws["A1"], json.dumps(meta, ensure_ascii=False))
    meta_ws.sheet_state = "hidden"

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    tmp.replace(path)
    return path
