"""The expense budget, the stock at the stores and the reps' commitments, as leaders read them: sheets of the
workbook whose totals are the tables' (Excel SUM formulas of the cells), and figures on the leadership page."""
from __future__ import annotations

import html
import re
import shutil
import zipfile

import pandas as pd
import pytest
from conftest import write_params
from openpyxl import load_workbook
from openpyxl.utils import range_boundaries

from salesmodel import io
from salesmodel.pipeline import run_step
from salesmodel.pipeline.key_figures import KeyFigures
from salesmodel.report import format_money, money_scale
from salesmodel.report.risks import risks as risk_sentences
from salesmodel.report.workbook import SHEETS, build_workbook, plan_labels
from salesmodel.schema import consistency
from salesmodel.schema.params import load_params
from salesmodel.schema.vocabulary import word

HOSTILE = '=HYPERLINK("x")'
BUDGET = {"categories": {"activities": {"share": 0.03}, "promotion": {"share": 0.03, "cap": 5_000_000},
                         "people": {"amount": 200_000, "basis": "reps"}},
          "cap_share": 0.05}


@pytest.fixture(scope="module")
def run(tmp_path_factory, small_company_dir):
    """The targets, tracking and summary steps of the small company with a budget whose overall cap bites,
    stock counts at six stores (empty shelves and full ones) and three reps' commitments."""
    data = tmp_path_factory.mktemp("budget-stock")
    shutil.copytree(small_company_dir, data, dirs_exist_ok=True)
    customers = pd.read_csv(data / "customers.csv")
    stores = customers["customer_id"].head(6).tolist()
    pd.DataFrame({"date": "2027-03-31", "customer_id": [s for s in stores for _ in "ABC"],
                  "product": ["A", "B", "C"] * len(stores),
                  "units": [0, 0, 0, 100_000, 100_000, 100_000] + [5] * 3 * (len(stores) - 2)}
                 ).to_csv(data / "stock.csv", index=False)
    pd.DataFrame({"rep_id": ["R003", "R004", "R011"], "amount": [1_000_000.0, 5_000_000.0, 100_000.0],
                  "note": [HOSTILE, None, "lost a key account"]}).to_csv(data / "commitments.csv", index=False)
    params = write_params(data / "params.yaml", data,
                          data={"dir": str(data), "stock": "stock.csv", "commitments": "commitments.csv"},
                          targets={"growth_over": "last_year", "commitments": {"policy": "top_down"}},
                          tracking={"order_months": 2}, budget=BUDGET, report={"language": "en", "money_unit": "wan"})
    sc = load_params(params)
    inputs = io.read_inputs(sc.data)
    tables: dict[str, pd.DataFrame] = {}
    for step in ("targets", "tracking", "summary"):
        tables.update(run_step(step, sc, inputs, tables).tables)
    return sc, inputs, tables


def _formulas_in(path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [f for name in z.namelist() if name.startswith("xl/worksheets/") and name.endswith(".xml")
                for f in re.findall(r"<f>(.*?)</f>", z.read(name).decode("utf-8"))]


def _value(ws, cell) -> float:
    """A cell's number, a SUM formula evaluated by summing the cells it names (Excel's reading of it)."""
    v = cell.value
    if isinstance(v, str) and v.startswith("=SUM("):
        lo_col, lo_row, hi_col, hi_row = range_boundaries(v[5:-1])
        return sum(_value(ws, c) for row in ws.iter_rows(min_row=lo_row, max_row=hi_row, min_col=lo_col, max_col=hi_col)
                   for c in row)
    return 0.0 if v is None else float(v)


def _column(ws, header: str) -> int:
    found = [c.column for c in ws[1] if c.value == header]
    assert found, f"{ws.title}: no column {header!r} in {[c.value for c in ws[1]]}"
    return found[0]


@pytest.mark.parametrize(("language", "unit"), [("en", "yuan"), ("zh", "wan"), ("es", "thousand")])
def test_sheets_carry_the_tables_totals_exactly(run, tmp_path, language, unit):
    sc, inputs, tables = run
    path = build_workbook(tables, tmp_path / "plan.xlsx", language=language, money_unit=unit,
                          labels=plan_labels(inputs, language))
    assert {"budget", "stock", "commitments"} <= set(SHEETS)
    wb = load_workbook(path)
    for key in ("budget", "stock", "commitments"):
        assert word(f"sheet_{key}", language) in wb.sheetnames
    # every formula is a total (a region's customer month: the SUM of its dekads on the data sheet)
    assert all(re.fullmatch(r"SUM\((?:'[^']+'!)?[A-Z]+\d+:[A-Z]+\d+\)", f) for f in _formulas_in(path))
    scale, u = money_scale(unit), word(unit, language)

    def money(x: float) -> float:
        return round(x * scale, 2)

    # the budget: each category's year is the SUM of its regions, and equals budget_total.budget
    ws = wb[word("sheet_budget", language)]
    totals = tables["budget_total"]
    n = len(totals)
    col = _column(ws, f"{word('col_budget', language)} ({u})")
    assert [money(_value(ws, ws.cell(row=r, column=col))) for r in range(2, n + 2)] == totals["budget"].tolist()
    assert ws.cell(row=n + 2, column=1).value == word("total", language)
    assert money(_value(ws, ws.cell(row=n + 2, column=col))) == totals["budget"].sum()
    asked = _value(ws, ws.cell(row=n + 2, column=_column(ws, f"{word('col_asked', language)} ({u})")))
    assert asked * scale == pytest.approx(totals["asked"].sum(), rel=1e-12)
    share = _value(ws, ws.cell(row=n + 2, column=_column(ws, word("col_share_of_target", language))))
    assert share == pytest.approx(totals["budget"].sum() / totals["target"].iloc[0], abs=1e-12)
    by_region = tables["budget_region"].groupby("region_id")["budget"].sum()
    names = plan_labels(inputs, language)["budget"]["region"]
    for region, amount in by_region.items():
        assert money(_value(ws, ws.cell(row=n + 2, column=_column(ws, names[region])))) == amount
    assert ws.cell(row=2, column=1).value == word("code_activities", language)
    assert word("code_overall", language) in [ws.cell(row=r, column=5).value for r in range(2, n + 2)]

    # the stock: one row per store and product, below the band first; the orders add up to stock_orders
    ws = wb[word("sheet_stock", language)]
    cover, orders = tables["stock_cover"], tables["stock_orders"]
    rows = len(cover)
    status = [ws.cell(row=r, column=5).value for r in range(2, rows + 2)]
    order = {word("code_below", language): 0, word("code_above", language): 1}
    ranks = [order.get(s, 2) for s in status]
    assert ranks == sorted(ranks) and ranks[0] == 0 and status.count(word("code_below", language)) == \
        (cover["status"] == "below").sum()
    total = _column(ws, word("stock_order_total", language))
    assert _value(ws, ws.cell(row=rows + 2, column=total)) == orders["order_units"].sum()
    first = ws.cell(row=2, column=1).value, ws.cell(row=2, column=4).value
    planned = orders.set_index(["customer_id", "product"])["order_units"]
    assert _value(ws, ws.cell(row=2, column=total)) == planned.loc[[first]].sum()

    # the commitments: top-down, commitment, gap and reconciled target add up to targets_commitments
    ws = wb[word("sheet_commitments", language)]
    c = tables["targets_commitments"]
    for column, header in (("top_down", word("col_top_down", language)), ("gap", word("col_gap", language)),
                           ("commitment", word("col_commitment", language)),
                           ("target", word("col_reconciled_target", language))):
        cell = ws.cell(row=len(c) + 2, column=_column(ws, f"{header} ({u})"))
        assert money(_value(ws, cell)) == round(c[column].sum(), 2), column
    # printed like the other sheets: landscape, one page wide, the header on every page
    for key in ("budget", "stock", "commitments"):
        ws = wb[word(f"sheet_{key}", language)]
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
        assert ws.print_title_rows == "$1:$1" or ws.print_title_rows == "1:1"


def test_text_from_the_data_stays_text(run, tmp_path):
    sc, inputs, tables = run
    labels = plan_labels(inputs, "en")
    store = tables["stock_cover"]["customer_id"].iloc[0]
    labels["plan_customer_dekad"].loc[store, "customer_name"] = HOSTILE
    path = build_workbook(tables, tmp_path / "plan.xlsx", language="en", money_unit="wan", labels=labels)
    assert all(f.startswith("SUM(") for f in _formulas_in(path))
    wb = load_workbook(path)
    for key, column in (("stock", 2), ("commitments", 10)):
        ws = wb[word(f"sheet_{key}", "en")]
        cells = [c for (c,) in ws.iter_rows(min_col=column, max_col=column) if c.value == HOSTILE]
        assert cells, key
        assert all(c.data_type == "s" and c.quotePrefix for c in cells), key


def test_no_sheet_without_its_table(run, tmp_path):
    _, inputs, tables = run
    plain = {k: v for k, v in tables.items() if k not in ("budget_total", "stock_cover", "targets_commitments")}
    wb = load_workbook(build_workbook(plain, tmp_path / "plan.xlsx", labels=plan_labels(inputs)))
    assert not {word(f"sheet_{k}") for k in ("budget", "stock", "commitments")} & set(wb.sheetnames)


def test_key_figures_are_the_tables_and_the_rules_hold_them(run):
    _, _, tables = run
    f = KeyFigures.from_table(tables["key_figures"])
    totals = tables["budget_total"]
    assert f.budget == totals["budget"].sum() and f.budget_asked == totals["asked"].sum()
    assert f.budget_share_of_target == pytest.approx(totals["budget"].sum() / totals["target"].iloc[0])
    assert f.budget_share_of_target <= BUDGET["cap_share"] < totals["asked"].sum() / totals["target"].iloc[0]
    assert (f.stock_below, f.stock_above) == tuple((tables["stock_cover"]["status"] == s).sum() for s in ("below", "above"))
    assert f.stock_below > 0 and f.stock_above > 0
    assert f.commitment_gap == tables["targets_commitments"]["gap"].sum()
    assert consistency.check(tables) == []
    for figure in ("budget", "stock_below", "commitment_gap"):
        bad = tables["key_figures"].copy()
        bad.loc[bad["figure"] == figure, "value"] += 100
        broken = consistency.check({**tables, "key_figures": bad})
        assert [b.right for b in broken] == [f"key figure {figure} (key_figures)"], figure


def test_the_leadership_page_names_the_budget_the_stock_and_the_commitments(run):
    from salesmodel.report.pages import Page

    sc, inputs, tables = run

    class _Ws:  # what a Page reads of a workspace: params and inputs
        params = sc

        def input(self, kind):
            return inputs[kind]

    page = Page(_Ws())
    text = html.unescape(page.plan_figures(tables["key_figures"]).data)
    totals = tables["budget_total"]
    budget = totals["budget"].sum()
    assert format_money(budget, page.unit, "en") in text
    assert f"{budget / totals['target'].iloc[0]:.1%} of the target" in text
    assert "cap 5.0% of the target" in text
    assert f"the categories asked {format_money(totals['asked'].sum(), page.unit, 'en')}" in text
    cover = tables["stock_cover"]
    below, above = int((cover["status"] == "below").sum()), int((cover["status"] == "above").sum())
    assert f"{below} store-products below the band (3 days), {above} above it (5 days)" in text
    gap = tables["targets_commitments"]["gap"].sum()
    assert format_money(abs(gap), page.unit, "en") in text
    risks = html.unescape(page.risks_list(tables["risks"]).data)
    assert "the cap on the whole budget holds them to " + format_money(budget, page.unit, "en", decimals=0) in risks
    from salesmodel.domain.tracking import out_of_band_first

    first_below = out_of_band_first(cover)["customer_id"].iloc[0]  # the store that runs out fastest
    name = inputs["customers"].set_index("customer_id").loc[first_below, "customer_name"]
    assert f"{below} store-products hold less stock than the band's floor and {above} more" in risks
    assert f"Shortest first: {name}" in risks
    assert f"3 of {len(tables['targets_commitments'])} sales reps committed" in risks
    zh = " ".join(risk_sentences(tables["risks"], language="zh", money_unit="wan"))
    assert "总预算上限" in zh and "门店产品" in zh and "承诺" in zh
