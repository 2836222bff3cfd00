import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.comments import Comment

from salesmodel.errors import InputError
from salesmodel.workbook import apply_edits, build_workbook, read_edits


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


def test_import_edits_writes_a_new_folder_and_leaves_the_run_untouched(tmp_path):
    import json

    from salesmodel.workbook import import_edits

    plan = _plan()
    run = _fake_run(tmp_path, plan)
    before = sorted(p.name for p in run.rglob("*"))
    book = build_workbook({"plan_rep_month": plan}, tmp_path / "plan.xlsx", money_unit="wan", run_id=run.name)
    wb = load_workbook(book)
    wb.worksheets[0]["D4"] = 9.0  # R3 February, in 万元
    wb.worksheets[0]["D4"].comment = Comment("Key account delays its order", "Zhang Min")
    wb.save(tmp_path / "edited.xlsx")

    folder = import_edits(run, tmp_path / "edited.xlsx")
    assert folder.parent == tmp_path / "outputs" / "edits" and folder.name.startswith(run.name)
    assert sorted(p.name for p in run.rglob("*")) == before
    adjusted = pd.read_parquet(folder / "plan_rep_month.parquet")
    assert adjusted["target"].sum() == plan["target"].sum()
    feb = adjusted[(adjusted.rep_id == "R3") & (adjusted.period == "2027-02")]["target"].item()
    assert feb == 90_000.0
    adj = pd.read_parquet(folder / "adjustments.parquet")
    assert adj["comment"].tolist() == ["Key account delays its order"]
    record = json.loads((folder / "manifest.json").read_text())
    assert record["source_run_id"] == run.name and record["adjustments"] == 1
    assert set(record["outputs"]) == {"plan_rep_month.parquet", "plan_rep_month.csv", "adjustments.parquet", "adjustments.csv"}


def test_import_of_an_unchanged_workbook_is_refused(tmp_path):
    from salesmodel.workbook import import_edits

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
    assert main(["import-edits", str(run), str(tmp_path / "edited.xlsx")]) == 0
    assert "re-balanced plan" in capsys.readouterr().out
