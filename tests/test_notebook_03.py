"""Notebook 03 (staffing) runs through papermill on the small company and saves its tables."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import execute_notebook, write_params

from salesmodel.domain.staffing import EXAMPLE_F_SOURCES, EXAMPLE_F_STAGES

STAGES_LIST = [{k: v} for k, v in EXAMPLE_F_STAGES.items()]  # a list: YAML tools may sort a mapping's keys


@pytest.fixture(scope="module")
def staffing_run(tmp_path_factory, small_company_dir):
    tmp = tmp_path_factory.mktemp("nb03")
    params = write_params(tmp / "params.yaml", small_company_dir,
                          staffing={"hire_lead_months": 1, "max_hires_per_month": 3,
                                    "funnel": {"unit_of_sale": "vehicle", "channel": "offline",
                                               "sources": EXAMPLE_F_SOURCES, "stages": STAGES_LIST}},
                          report={"language": "zh"})
    run_dir = tmp / "run"
    execute_notebook("03_staffing.ipynb", params, run_dir)
    return run_dir


def _table(run_dir, name):
    return pd.read_parquet(run_dir / "tables" / f"{name}.parquet")


def test_capacity_plan_table(staffing_run, small_company):
    plan = _table(staffing_run, "capacity_plan")
    reps = small_company["reps"]
    assert set(plan["region_id"]) <= set(reps["region_id"])
    year = plan[~plan["lead_in"]]
    assert year["month"].str.startswith("2027-").all()
    assert year.groupby("region_id").size().eq(12).all()
    # lead-in months (Nov-Dec 2026) carry no target
    assert (plan.loc[plan["lead_in"], "target"] == 0).all()
    assert (plan["hires_starting"] <= 3).all()
    # the hiring limit or the lead time is the only reason a month falls short
    met = plan[~plan["shortfall"]]
    assert (met["capacity"] >= met["target"] * (1 - 1e-9)).all()
    last = plan.groupby("region_id")["cumulative_gap"].last().to_numpy()
    assert last == pytest.approx(plan.groupby("region_id")["gap"].sum().to_numpy())


def test_the_funnel_runs_only_for_a_business_that_sells_that_way(tmp_path, small_company_dir):
    """Default params (a distributor): no funnel table, and the staffing page says why, in the reader's language."""
    import json

    params = write_params(tmp_path / "params.yaml", small_company_dir, report={"language": "en"})
    run_dir = tmp_path / "run"
    executed = execute_notebook("03_staffing.ipynb", params, run_dir)
    assert not (run_dir / "tables" / "funnel.parquet").exists()
    facts = pd.read_parquet(run_dir / "tables" / "run_facts.parquet")
    assert facts.query("step == 'staffing' and fact == 'funnel_run'")["value"].tolist() == ["False"]
    text = json.dumps(json.loads(executed.read_text(encoding="utf-8")), ensure_ascii=False)
    assert "Dealership funnel: not run" in text and "Capacity and hires" in text
    assert "Funnel: from deliveries back to leads" not in text


def test_workload_funnel_and_pay_tables(staffing_run, small_company):
    load = _table(staffing_run, "workload")
    active = small_company["reps"]["leave_date"].isna().sum()
    assert load["headcount"].sum() == active
    assert (load["fte"] > 0).any()
    assert load["fte_gap"].to_numpy() == pytest.approx((load["headcount"] - load["fte"]).to_numpy())
    fun = _table(staffing_run, "funnel")
    assert set(fun["scenario"]) == {"low", "mid", "high"}
    assert {"lead", "showroom_traffic", "opportunity", "signed_draft", "order", "delivery", "consultants"} <= set(fun["stage"])
    deliveries = fun.query("stage == 'delivery'")["whole"]
    assert deliveries.nunique() == 1 and deliveries.iloc[0] > 0
    facts = _table(staffing_run, "run_facts").query("step == 'staffing'").set_index("fact")["value"]
    assert facts["funnel_run"] == "True" and facts["funnel_unit"] == "vehicle" and facts["funnel_channel"] == "offline"
    pay_cost = _table(staffing_run, "pay_cost")
    assert set(pay_cost["scenario"]) == {"80%", "100%", "120%"}
    by = pay_cost.groupby("scenario")["total_pay"].sum()
    assert by["80%"] < by["100%"] < by["120%"]


def test_notebook_uses_the_plan_of_the_targets_notebook(tmp_path, small_company_dir, small_company):
    """The plan_rep_month table of the targets step drives the capacity plan and the pay cost."""

    reps = small_company["reps"]
    active = reps.loc[reps["leave_date"].isna(), "rep_id"].tolist()
    months = pd.period_range("2027-01", periods=12, freq="M")
    plan = pd.DataFrame([
        {"rep_id": r, "period": str(m), "start": m.start_time, "end": m.end_time.normalize(), "target": 500_000.0 + 1000 * i}
        for i, r in enumerate(active) for m in months
    ])
    from salesmodel.io import read_inputs
    from salesmodel.pipeline import run_step
    from salesmodel.schema.params import load_params

    params = load_params(write_params(tmp_path / "params.yaml", small_company_dir, staffing={"seasonal_capacity": False}))
    result = run_step("staffing", params, read_inputs(params.data), {"plan_rep_month": plan})
    cap = result.tables["capacity_plan"]
    year = cap[~cap["lead_in"]]
    region = reps.set_index("rep_id")["region_id"]
    expected = plan.assign(region_id=plan["rep_id"].map(region)).groupby(["region_id", "period"])["target"].sum()
    got = year.set_index(["region_id", "month"])["target"]
    assert got.sort_index().to_numpy() == pytest.approx(expected.sort_index().to_numpy())
    pay_cost = result.tables["pay_cost"]
    at_plan = pay_cost[pay_cost["scenario"] == "100%"]
    # today's reps carry their plan_rep_month target month by month; every hire is paid too
    reps_paid = at_plan[at_plan["kind"] == "rep"].set_index(["rep_id", "month"])["target"]
    assert reps_paid.to_dict() == pytest.approx(plan.set_index(["rep_id", "period"])["target"].to_dict())
    hires = result.tables["staffing_hires"]
    assert set(at_plan.loc[at_plan["kind"] == "hire", "rep_id"]) == set(hires["hire_id"])


def test_one_organisation_replay_hires_and_whole_people(staffing_run):
    """The run replays last year within 3% per region, its hires are people (none in the Spring Festival
    month), whole people carry from month to month, pay covers every person, and the rules hold."""
    import glob

    from salesmodel.domain.calendar import spring_festival
    from salesmodel.schema import consistency

    replayed = _table(staffing_run, "staffing_calibration")
    year = replayed.groupby("region_id")[["modelled", "actual"]].sum()
    assert ((year["modelled"] / year["actual"] - 1).abs() <= 0.03).all()
    assert replayed["month"].nunique() == 12
    plan = _table(staffing_run, "capacity_plan")
    hires = _table(staffing_run, "staffing_hires")
    assert len(hires) == plan["hires_starting"].sum()
    assert hires["hire_id"].tolist() == [f"H{i + 1:03d}" for i in range(len(hires))]
    festival = f"2027-{spring_festival(2027).month:02d}"
    assert festival not in set(hires["start_month"])
    assert plan.loc[plan["month"] == festival, "hires_starting"].sum() == 0
    assert hires["base_city_en"].notna().all()
    assert plan[["people_start", "leavers", "people_end"]].dtypes.map(lambda d: d.kind).eq("i").all()
    tables = {p.split("/")[-1][:-8]: pd.read_parquet(p) for p in glob.glob(str(staffing_run / "tables" / "*.parquet"))}
    staffing_rules = {r.name for r in consistency.STAFFING_RULES}
    assert [b.message for b in consistency.check(tables) if b.rule in staffing_rules] == []
    pay_cost = tables["pay_cost"]
    assert set(pay_cost.loc[pay_cost["kind"] == "hire", "rep_id"]) == set(hires["hire_id"])


def test_workbook_staffing_sheet_totals_are_the_tables_whole_people(staffing_run):
    from salesmodel.report.workbook_sheets import staffing_sheet

    plan = _table(staffing_run, "capacity_plan")
    sheet = staffing_sheet(plan, "en")
    total = sheet[sheet["region_id"] == "Total"].set_index("month")
    assert total["people_end"].to_dict() == plan.groupby("month")["people_end"].sum().to_dict()
    ends = total["people_end"].to_numpy()
    starts = total["people_start"].to_numpy()
    assert (starts[1:] == ends[:-1] + total["hires_starting"].to_numpy()[1:]).all()


def test_a_hire_rule_no_month_can_satisfy_is_refused(tmp_path, small_company_dir):
    from salesmodel.errors import ParamsError
    from salesmodel.io import read_inputs
    from salesmodel.pipeline import run_plan
    from salesmodel.schema.params import load_params

    params = load_params(write_params(tmp_path / "params.yaml", small_company_dir,
                                      staffing={"hire_lead_months": 13, "no_start_months": [12]}))
    with pytest.raises(ParamsError, match=r"staffing.no_start_months \[12\] with staffing.hire_lead_months 13"):
        run_plan(params, read_inputs(params.data), upto="staffing")


def test_workbook_has_the_hires_one_row_each(staffing_run, tmp_path):
    import openpyxl

    from salesmodel.report.workbook import build_workbook
    from salesmodel.schema.vocabulary import word

    tables = {name: _table(staffing_run, name) for name in ("capacity_plan", "staffing_hires")}
    wb = openpyxl.load_workbook(build_workbook(tables, tmp_path / "plan.xlsx", language="zh"))
    sheet = wb[word("sheet_staffing_hires", "zh")]
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == tables["staffing_hires"]["hire_id"].tolist()


def _plan_for_active_reps(small_company):
    reps = small_company["reps"]
    active = reps.loc[reps["leave_date"].isna(), "rep_id"].tolist()
    months = pd.period_range("2027-01", periods=12, freq="M")
    return pd.DataFrame([{"rep_id": r, "period": str(m), "start": m.start_time, "end": m.end_time.normalize(),
                          "target": 900_000.0} for r in active for m in months])


@pytest.mark.parametrize(("staffing", "note"), [
    ({"hire_role": "key_account_manager"}, "the role key_account_manager has no history to calibrate on"),
    ({"productivity": 50_000.0}, "Productivity from the params does not replay last year"),
])
def test_staffing_says_what_it_assumed(tmp_path, small_company_dir, small_company, staffing, note):
    """A hires' role without history is a note naming it (the base role's level assumed), not a refusal; a
    productivity from the params that does not replay last year is said, and the replay rule is not applied."""
    from salesmodel.io import read_inputs
    from salesmodel.pipeline import run_step
    from salesmodel.schema import consistency
    from salesmodel.schema.params import load_params

    params = load_params(write_params(tmp_path / "params.yaml", small_company_dir, staffing=staffing))
    result = run_step("staffing", params, read_inputs(params.data), {"plan_rep_month": _plan_for_active_reps(small_company)})
    assert any(note in n for n in result.notes), result.notes
    broken = [b for b in consistency.check(result.tables) if b.rule == "replay of last year"]
    assert broken == []
