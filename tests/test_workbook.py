import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.comments import Comment

from salesmodel.errors import InputError
from salesmodel.pipeline.edits import apply_edits, read_edits
from salesmodel.report.workbook import build_workbook


def _plan():
    months = [f"2027-{m:02d}" for m in range(1, 13)]
    rows = []
    for rep, base in (("R1", 100_000.0), ("R2", 50_000.0), ("R3", 80_000.0)):
        for i, m in enumerate(months):
            rows.append({"rep_id": rep, "rep_name": f"Rep {rep}", "period": m, "target": base + 1000.0 * i})
    return pd.DataFrame(rows)


def test_workbook_has_frozen_headers_sum_totals_and_money_unit(tmp_path):
    plan = _plan()
    path = build_workbook({"plan_rep_month": plan}, tmp_path / "plan.xlsx", params={"scenario": "t"}, money_unit="wan", language="zh")
    wb = load_workbook(path)
    ws = wb["月销售计划表"]
    assert ws.freeze_panes == "C2"  # rep_id and rep_name stay visible
    assert ws["C2"].value == pytest.approx(10.0)  # 100,000 yuan shown as 10 万元
    assert ws["C2"].number_format == "#,##0.00"
    # Row total and column totals are formulas, so they stay totals after edits.
    assert ws.cell(row=2, column=15).value == "=SUM(C2:N2)"
    assert ws.cell(row=5, column=1).value == "合计"
    assert ws.cell(row=5, column=3).value == "=SUM(C2:C4)"
    assert "参数" in wb.sheetnames and wb["_salesmodel"].sheet_state == "hidden"


def test_edits_are_recorded_with_comment_and_rebalanced(tmp_path):
    plan = _plan()
    path = build_workbook({"plan_rep_month": plan}, tmp_path / "plan.xlsx", money_unit="yuan")
    wb = load_workbook(path)
    ws = wb["月销售计划表 rep x month"]
    ws["C2"] = 130_000  # R1, January
    ws["C2"].comment = Comment("New distributor opens in January", "Li Wei")
    wb.save(tmp_path / "edited.xlsx")

    edits = read_edits(tmp_path / "edited.xlsx", plan)
    adj = edits.adjustments
    assert len(adj) == 1
    row = adj.iloc[0]
    assert (row.rep_id, row.period, row.old, row.new) == ("R1", "2027-01", 100_000.0, 130_000.0)
    assert row.comment == "New distributor opens in January" and row.author == "Li Wei"

    balanced = apply_edits(plan, edits, round_to=1)
    by_rep_before = plan.groupby("rep_id")["target"].sum()
    by_rep_after = balanced.groupby("rep_id")["target"].sum()
    pd.testing.assert_series_equal(by_rep_before, by_rep_after)
    jan = balanced[(balanced.rep_id == "R1") & (balanced.period == "2027-01")]["target"].item()
    assert jan == 130_000.0
    # Other reps untouched.
    pd.testing.assert_frame_equal(
        plan[plan.rep_id != "R1"].reset_index(drop=True),
        balanced[balanced.rep_id != "R1"].drop(columns="edited").reset_index(drop=True),
    )


def test_editing_a_whole_row_moves_the_difference_to_other_reps(tmp_path):
    plan = _plan()
    path = build_workbook({"plan_rep_month": plan}, tmp_path / "plan.xlsx", money_unit="yuan")
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    for col in range(3, 15):
        ws.cell(row=3, column=col).value = 65_000  # R2 raised in every month
    wb.save(tmp_path / "edited.xlsx")
    edits = read_edits(tmp_path / "edited.xlsx", plan)
    balanced = apply_edits(plan, edits, round_to=1)
    assert balanced["target"].sum() == pytest.approx(plan["target"].sum(), abs=1e-6)
    assert balanced.loc[balanced.rep_id == "R2", "target"].sum() == 780_000
    assert (balanced.loc[balanced.rep_id != "R2", "target"] < plan.loc[plan.rep_id != "R2", "target"]).all()


def test_text_in_a_plan_cell_is_a_clear_error(tmp_path):
    plan = _plan()
    path = build_workbook({"plan_rep_month": plan}, tmp_path / "plan.xlsx", money_unit="yuan")
    wb = load_workbook(path)
    wb.worksheets[0]["D3"] = "about 50k"
    wb.save(tmp_path / "edited.xlsx")
    with pytest.raises(InputError, match=r"D3 \('about 50k'\)"):
        read_edits(tmp_path / "edited.xlsx", plan)


def test_a_foreign_workbook_is_rejected(tmp_path):
    from openpyxl import Workbook

    Workbook().save(tmp_path / "other.xlsx")
    with pytest.raises(InputError, match="not a salesmodel plan workbook"):
        read_edits(tmp_path / "other.xlsx", _plan())


def _fake_run(tmp_path, plan):
    import json

    run = tmp_path / "outputs" / "runs" / "20270101T000000Z-test-abcdef01"
    (run / "tables").mkdir(parents=True)
    plan.to_parquet(run / "tables" / "plan_rep_month.parquet", index=False)
    (run / "manifest.json").write_text(json.dumps({"run_id": run.name, "params": {}, "params_sha256": "f" * 64, "outputs": {}}))
    return run


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, small_company_dir):
    """A run of the small company (one page) to edit."""
    from conftest import write_params

    from salesmodel.run.runner import run_scenario

    base = tmp_path_factory.mktemp("edits-run")
    params = write_params(base / "params.yaml", small_company_dir, notebooks=["02_targets.ipynb"],
                          report={"language": "zh", "money_unit": "wan"})
    return run_scenario(params, base / "outputs", progress=False, notebook_workers=1).run_dir


def test_import_edits_flows_through_to_a_folder_that_verifies(real_run, tmp_path, capsys):
    import json

    from salesmodel.pipeline.run_folder import load_run_tables
    from salesmodel.run.verify import verify
    from salesmodel.schema import consistency
    from salesmodel.schema.vocabulary import word

    run = real_run
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
    source = load_run_tables(run)
    wb = load_workbook(run / "plan.xlsx")
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    jan, mar = header.index("2027年1月") + 1, header.index("2027年3月") + 1
    old_jan = ws.cell(row=2, column=jan).value
    new_jan = round(old_jan + 12.34, 2)
    ws.cell(row=2, column=jan).value = new_jan  # the first rep's January, in 万元
    ws.cell(row=2, column=jan).comment = Comment("New distributor opens in January", "Li Wei")
    ws.cell(row=3, column=mar).value = 0  # the second rep's March moves to its other months
    wb.save(tmp_path / "edited.xlsx")

    from salesmodel.cli import main

    assert main(["import-edits", str(run), str(tmp_path / "edited.xlsx"), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    (folder,) = [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]
    # said in the run's language (its params: zh), from the vocabulary
    assert word("cli_edits_done", "zh").format(folder=folder) in out
    assert f"salesmodel verify {folder}" in out
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == before  # the run is untouched
    assert folder.parent == tmp_path / "out"  # --out DIR: DIR/<id>
    report = verify(folder, rerun=True)  # --rerun replays the plan and the recorded adjustments, table-exact
    assert report.ok and report.rerun, report.problems
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["edited_from"]["run_id"] == run.name and manifest["edited_from"]["adjustments"] == 2
    assert manifest["params_sha256"] == json.loads((run / "manifest.json").read_text())["params_sha256"]
    tables = load_run_tables(folder)
    assert consistency.check(tables) == []
    plan, dekads = tables["plan_rep_month"], tables["plan_customer_dekad"]
    rep1, rep2 = ws.cell(row=2, column=1).value, ws.cell(row=3, column=1).value
    cell = plan.set_index(["rep_id", "period"])["target"]
    assert cell[(rep1, "2027-01")] == round(new_jan * 10_000)
    assert cell[(rep2, "2027-03")] == 0
    # customer x 旬 and rep x month tie, cell by cell; every customer and rep keeps its year
    by_month = dekads.assign(period=pd.to_datetime(dekads["start"]).dt.strftime("%Y-%m")) \
        .groupby(["rep_id", "period"], observed=True)["target"].sum()
    assert (by_month == cell.reindex(by_month.index)).all() and len(by_month) == len(cell)
    pd.testing.assert_series_equal(dekads.groupby("customer_id", observed=True)["target"].sum(),
                                   source["plan_customer_dekad"].groupby("customer_id", observed=True)["target"].sum())
    pd.testing.assert_series_equal(plan.groupby("rep_id")["target"].sum(),
                                   source["plan_rep_month"].groupby("rep_id")["target"].sum())
    # what depends on the months was run again: the company's months, staffing, the summary
    months = tables["plan_company_month"].set_index("period")["target"]
    assert (months != source["plan_company_month"].set_index("period")["target"]).any()
    assert months.sum() == source["plan_company_month"]["target"].sum()
    assert not tables["capacity_plan"].equals(source["capacity_plan"])
    adj = pd.read_parquet(folder / "adjustments.parquet")
    assert adj["comment"].tolist() == ["New distributor opens in January", ""]
    # a new workbook and new pages, from the edited tables
    new_book = load_workbook(folder / "plan.xlsx")
    assert new_book.worksheets[0].cell(row=2, column=jan).value == pytest.approx(new_jan)
    assert (folder / "html" / "02_targets.html").is_file()
    # the edited plan says so: the planner's comment stays on its cell, the adjustments are listed,
    # and every page opens with where the plan came from
    kept = new_book.worksheets[0].cell(row=2, column=jan).comment
    assert kept is not None and kept.text.startswith("New distributor opens in January") and kept.author == "Li Wei"
    assert "调整记录" in new_book.sheetnames
    for page in (folder / "html").glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "edited-banner" in text and run.name in text and "Li Wei" in text, page.name
    meta = json.loads(new_book["_salesmodel"]["A1"].value)
    assert meta["run_id"] == folder.name


def test_an_edit_that_changes_a_reps_year_is_refused(real_run, tmp_path, capsys):
    from salesmodel.run.edits import import_edits

    wb = load_workbook(real_run / "plan.xlsx")
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    months = [i + 1 for i, h in enumerate(header) if isinstance(h, str) and h.startswith("2027年")]
    for col in months:
        ws.cell(row=2, column=col).value = 1.0
    wb.save(tmp_path / "edited.xlsx")
    with pytest.raises(InputError, match=r"every month of rep .* expected the same year"):
        import_edits(real_run, tmp_path / "edited.xlsx", tmp_path / "out")
    from salesmodel.cli import main

    assert main(["import-edits", str(real_run), str(tmp_path / "edited.xlsx"), "--out", str(tmp_path / "out")]) == 2
    assert "sheet '" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or [p.name for p in (tmp_path / "out").iterdir()] in ([], [".staging"])
    assert not any((tmp_path / "out" / ".staging").glob("*")) if (tmp_path / "out" / ".staging").exists() else True


def test_import_of_an_unchanged_workbook_is_refused(tmp_path):
    from salesmodel.run.edits import import_edits

    plan = _plan()
    run = _fake_run(tmp_path, plan)
    book = build_workbook({"plan_rep_month": plan}, tmp_path / "plan.xlsx", run_id=run.name)
    with pytest.raises(InputError, match="no month cell of the plan was changed"):
        import_edits(run, book)
    assert not (tmp_path / "outputs" / "edits").exists() or not any((tmp_path / "outputs" / "edits").iterdir())


def test_cli_import_edits_exit_codes(tmp_path, capsys):
    from salesmodel.cli import main

    plan = _plan()
    run = _fake_run(tmp_path, plan)
    book = build_workbook({"plan_rep_month": plan}, tmp_path / "plan.xlsx", run_id=run.name)
    assert main(["import-edits", str(run), str(book)]) == 2  # nothing changed: a planner's mistake
    assert "no month cell of the plan was changed" in capsys.readouterr().err
    wb = load_workbook(book)
    wb.worksheets[0]["C2"] = 12.0
    wb.save(tmp_path / "edited.xlsx")
    # a folder without the run's params and inputs cannot let the edits flow through
    assert main(["import-edits", str(run), str(tmp_path / "edited.xlsx")]) == 2
    assert "keeps no params.yaml" in capsys.readouterr().err


def _evaluate(wb, sheet: str, formula_or_value):
    """A cell as Excel reads it: a SUM over a range of this or another sheet, summed; a number as it is."""
    import re

    from openpyxl.utils.cell import range_boundaries

    v = formula_or_value
    if not (isinstance(v, str) and v.startswith("=SUM(")):
        return 0.0 if v is None else float(v)
    m = re.fullmatch(r"=SUM\((?:'((?:[^']|'')+)'!)?([A-Z]+\d+:[A-Z]+\d+)\)", v)
    target = m.group(1).replace("''", "'") if m.group(1) else sheet
    lo_col, lo_row, hi_col, hi_row = range_boundaries(m.group(2))
    ws = wb[target]
    return sum(_evaluate(wb, target, c.value) for row in ws.iter_rows(min_row=lo_row, max_row=hi_row,
                                                                       min_col=lo_col, max_col=hi_col) for c in row)


def test_each_region_prints_its_customers_by_month_summed_from_the_dekads(tmp_path):
    rows = []
    for region, customers in (("E", ["C1", "C2", "C3"]), ("N", ["C4"])):
        for c in customers:
            for m in (1, 2):
                for d in ("D1", "D2", "D3"):
                    rows.append({"region_id": region, "rep_id": f"R{region}", "customer_id": c,
                                 "period": f"2027-{m:02d}-{d}", "target": 1000.0 * int(c[1:]) + 10 * m})
    dekads = pd.DataFrame(rows)
    labels = {"budget": pd.DataFrame({"region": {"E": "East", "N": "North"}}),
              "plan_customer_dekad": pd.DataFrame({"customer_name": {"C1": "Uno", "C2": "Dos", "C3": "Tres", "C4": "Cuatro"}})}
    path = build_workbook({"plan_rep_month": _plan(), "plan_customer_dekad": dekads}, tmp_path / "plan.xlsx",
                          money_unit="yuan", language="en", labels=labels)
    wb = load_workbook(path)
    assert wb.sheetnames[:3] == ["月销售计划表 rep x month", "Customers East", "Customers North"]
    assert wb.sheetnames.index("Customer x dekad") > wb.sheetnames.index("Customers North")  # data sheets last
    east = wb["Customers East"]
    assert [east.cell(row=r, column=2).value for r in (3, 4, 5)] == ["Tres", "Dos", "Uno"]  # largest first
    jan = _evaluate(wb, east.title, east.cell(row=2, column=4).value)  # the region's total row, January
    assert jan == dekads.query("region_id == 'E' and period.str.startswith('2027-01')")["target"].sum()
    total = _evaluate(wb, east.title, east.cell(row=2, column=6).value)
    assert total == dekads.query("region_id == 'E'")["target"].sum()
    assert wb["Customer x dekad"].print_area == "'Customer x dekad'!$A$1:$B$1"  # a data sheet prints one heading


def test_a_plan_of_more_customers_than_the_workbook_lists_sums_the_others_by_region(tmp_path):
    """A national company's workbook lists its largest customers one by one and sums the others into a
    row per region: every total is the plan's, and each customer sheet says where the whole table is."""
    rows = []
    for region, customers in (("E", ["C1", "C2", "C3", "C5"]), ("N", ["C4", "C6"])):
        for c in customers:
            for m in (1, 2):
                rows.append({"region_id": region, "province_id": f"P{region}", "rep_id": f"R{region}", "customer_id": c,
                             "period": f"2027-{m:02d}-D1", "target": 1000.0 * int(c[1:]) + 10 * m})
    dekads = pd.DataFrame(rows)
    targets = pd.DataFrame({"customer_id": [f"C{i}" for i in range(1, 7)], "target": [1.0 * i for i in range(1, 7)]})
    labels = {"budget": pd.DataFrame({"region": {"E": "East", "N": "North"}})}
    path = build_workbook({"plan_rep_month": _plan(), "plan_customer_dekad": dekads, "territory_assignment": targets},
                          tmp_path / "plan.xlsx", money_unit="yuan", language="en", labels=labels, most_customers=3)
    wb = load_workbook(path)
    data = wb["Customer x dekad"]
    listed = [data.cell(row=r, column=1).value for r in range(2, data.max_row)]
    assert sorted(listed) == ["C4", "C5", "C6", "Other customers of East (3)"]  # the three largest; C1-C3 summed
    first = next(c.column for c in data[2] if isinstance(c.value, (int, float)))
    for i, month in enumerate(("2027-01", "2027-02")):
        cells = [data.cell(row=r, column=first + i).value for r in range(2, 2 + len(listed))]
        assert sum(cells) == pytest.approx(dekads.loc[dekads["period"].str.startswith(month), "target"].sum())
    note = "The 3 largest of 6 customers are listed one by one, the others summed by region"
    assert any(str(c.value or "").startswith(note) for c in data[1])
    east = wb["Customers East"]
    total = _evaluate(wb, east.title, east.cell(row=2, column=6).value)
    assert total == pytest.approx(dekads.query("region_id == 'E'")["target"].sum())  # the region's whole plan
    assert any("tables/plan_customer_dekad.csv" in str(c.value or "") for c in east[1])
    assert east.print_area == f"'{east.title}'!$A$1:$F${east.max_row}"  # the note is for the screen, not printed
    # the plan's unit: 6 customers listed whole when the workbook may list them all
    whole = load_workbook(build_workbook({"plan_customer_dekad": dekads}, tmp_path / "whole.xlsx", money_unit="yuan"))
    assert whole["Customer x dekad"].max_row == 6 + 2
