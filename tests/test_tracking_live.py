"""Tracking the plan year (issue 12): the plan year's sales to date against this run's phased plan."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from conftest import write_params

from salesmodel import io
from salesmodel.errors import InputError
from salesmodel.pipeline import run_step
from salesmodel.sample import make_company
from salesmodel.schema.params import load_params


def _plan(customer: str, rep: str, province: str, region: str) -> pd.DataFrame:
    """One customer's plan for 2027: 30 on 1-3 January, 130 in ISO week 1 (4-10 January), 10 a day after."""
    rows = [("2027-01-01", "2027-01-03", 30.0), ("2027-01-04", "2027-01-10", 130.0), ("2027-01-11", "2027-12-31", 3550.0)]
    plan = pd.DataFrame(rows, columns=["start", "end", "target"])
    plan["start"], plan["end"] = pd.to_datetime(plan["start"]), pd.to_datetime(plan["end"])
    plan["period"] = plan["start"].dt.strftime("%Y-%m-%d")
    return plan.assign(region_id=region, province_id=province, rep_id=rep, customer_id=customer)


@pytest.fixture(scope="module")
def live_company(tmp_path_factory, small_company_dir):
    data = tmp_path_factory.mktemp("live")
    shutil.copytree(small_company_dir, data, dirs_exist_ok=True)
    return data


def test_example_g_week_one_through_the_step(tmp_path, live_company):
    """DOMAIN example G: week 1 target 130, actual 120 -> 92%; the rep and its region are 10 behind to date."""
    customers = pd.read_csv(live_company / "customers.csv")
    reps = pd.read_csv(live_company / "reps.csv").set_index("rep_id")
    cust = customers.iloc[0]
    rep = reps.loc[cust["rep_id"]]
    sales = [("2027-01-02", 30.0), ("2027-01-05", 70.0), ("2027-01-08", 50.0), ("2027-01-12", 999.0)]
    actuals = pd.DataFrame({"date": [d for d, _ in sales], "customer_id": cust["customer_id"], "product": "A",
                            "channel": "offline", "amount": [a for _, a in sales], "units": 1})
    actuals.to_csv(live_company / "actuals.csv", index=False)
    params = write_params(tmp_path / "p.yaml", live_company, data={"dir": str(live_company), "actuals": "actuals.csv"},
                          tracking={"as_of": "2027-01-10"})
    sc = load_params(params)
    plan = _plan(cust["customer_id"], cust["rep_id"], rep["province_id"], rep["region_id"])
    tables = {"plan_customer_dekad": plan[["region_id", "province_id", "rep_id", "customer_id", "period", "start", "end",
                                           "target"]]}
    result = run_step("tracking", sc, io.read_inputs(sc.data), tables)
    assert result.facts["mode"] == "plan_year" and result.facts["as_of"] == pd.Timestamp("2027-01-10")
    report = result.tables["period_report"]
    week = report[(report["grain"] == "iso_week") & (report["rep_id"] == "") & (report["start"] == "2027-01-04")].iloc[0]
    assert week["period"] == "2027-W01"
    assert week["target"] == pytest.approx(130.0) and week["actual"] == 120.0
    assert round(week["achievement"], 2) == 0.92
    # 1-3 January, which ISO counts in 2026-W53, are the plan year's own week 00: 30 planned, 30 sold
    w00 = report[(report["grain"] == "iso_week") & (report["rep_id"] == "")].iloc[0]
    assert (w00["period"], w00["target"], w00["actual"]) == ("2027-W00", pytest.approx(30.0), 30.0)
    # the 旬 and the month: 1-10 January holds the first two rows (160) and 150 sold
    for grain, label in (("dekad", "2027-01-D1"), ("month", "2027-01")):
        row = report[(report["grain"] == grain) & (report["rep_id"] == "")].iloc[0]
        assert row["period"] == label and row["target"] == pytest.approx(160.0) and row["actual"] == 150.0
    # pacing: target to date 160, actual 150 (the sale of 12 January is after as_of), achievement 93.75%
    pace = result.tables["pacing"].set_index(["level", "unit_id"])
    for key in (("rep", cust["rep_id"]), ("region", rep["region_id"]), ("company", "company")):
        row = pace.loc[key]
        assert row["target_to_date"] == pytest.approx(160.0) and row["actual_to_date"] == 150.0
        assert row["achievement"] == pytest.approx(0.9375) and row["gap_to_date"] == pytest.approx(-10.0)
        # seasonal projection: 150 / (160 / 3,710) = 3,478.125; the straight line: 150 / 10 days x 365 = 5,475
        assert row["projection"] == pytest.approx(3478.125) and row["run_rate_projection"] == pytest.approx(5475.0)
    assert result.tables["pacing"].loc[lambda d: d["level"] == "company", "target_full"].item() == pytest.approx(3710.0)


def test_actuals_outside_the_plan_year_are_refused(tmp_path, live_company):
    bad = pd.DataFrame({"date": ["2027-01-05", "2026-12-30"], "customer_id": "C00001", "product": "A",
                        "channel": "offline", "amount": 10.0, "units": 1})
    bad.to_csv(live_company / "bad_actuals.csv", index=False)
    sc = load_params(write_params(tmp_path / "p.yaml", live_company,
                                  data={"dir": str(live_company), "actuals": "bad_actuals.csv"}))
    with pytest.raises(InputError, match=r"bad_actuals.csv: column 'date': 1 sale\(s\) outside the plan year 2027, "
                                         r"at row\(s\) 2"):
        run_step("tracking", sc, io.read_inputs(sc.data), {"plan_customer_dekad": pd.DataFrame()})


def test_actuals_for_unknown_customers_name_the_file(tmp_path, live_company):
    bad = pd.DataFrame({"date": ["2027-01-05"], "customer_id": "NOBODY", "product": "A", "channel": "offline",
                        "amount": 10.0, "units": 1})
    bad.to_csv(live_company / "unknown.csv", index=False)
    data = load_params(write_params(tmp_path / "p.yaml", live_company,
                                    data={"dir": str(live_company), "actuals": "unknown.csv"})).data
    with pytest.raises(InputError, match=r"(?s)unknown.csv.*customer_id.*row 1.*NOBODY"):
        io.read_inputs(data)


def test_the_demo_writes_plan_year_actuals_without_changing_its_history():
    plain = make_company(seed=7, n_customers=240, n_reps=12)
    live = make_company(seed=7, n_customers=240, n_reps=12, actuals_to="2027-03-31")
    assert live["sales"].equals(plain["sales"]) and live["customers"].equals(plain["customers"])
    actuals = live["actuals"]
    assert actuals["date"].min() == pd.Timestamp("2027-01-01") and actuals["date"].max() == pd.Timestamp("2027-03-31")
    churned = set(plain["customers"].loc[plain["customers"]["churn_date"].notna(), "customer_id"])
    assert not churned & set(actuals["customer_id"])
    q1_last = plain["sales"].loc[plain["sales"]["date"].between("2026-01-01", "2026-03-31"), "amount"].sum()
    assert 0.9 < actuals["amount"].sum() / q1_last < 1.4  # the same business going on, not a new one


def test_tracking_notebook_shows_the_plan_year_live(tmp_path, small_company_dir):
    """The demo's actuals (January to March of the plan year) against the run's own plan in notebook 05."""
    import nbformat
    from conftest import SMALL_COMPANY, execute_notebook

    data = tmp_path / "data"
    shutil.copytree(small_company_dir, data)
    demo = make_company(**SMALL_COMPANY, actuals_to="2027-03-31")
    actuals = demo["actuals"]
    actuals.to_parquet(data / "actuals.parquet", index=False)
    demo["stock"].to_csv(data / "stock.csv", index=False, date_format="%Y-%m-%d")
    params = write_params(tmp_path / "p.yaml", data,
                          data={"dir": str(data), "actuals": "actuals.parquet", "stock": "stock.csv"},
                          forecast={"n_windows": 1, "calibration_sample": 30})
    run = tmp_path / "run"
    out = execute_notebook("05_tracking.ipynb", params, run)
    pace = pd.read_parquet(run / "tables" / "pacing.parquet")
    company = pace.loc[pace["level"] == "company"].iloc[0]
    plan = pd.read_parquet(run / "tables" / "plan_customer_dekad.parquet")
    assert company["target_full"] == pytest.approx(plan["target"].sum())  # this run's plan, not a remade one
    assert company["actual_to_date"] == pytest.approx(actuals["amount"].sum())
    q1 = plan.loc[plan["end"] <= "2027-03-31", "target"].sum()
    assert company["target_to_date"] == pytest.approx(q1)
    report = pd.read_parquet(run / "tables" / "period_report.parquet")
    assert set(report["grain"]) >= {"dekad", "iso_week", "month"}
    months = report[(report["grain"] == "month") & (report["rep_id"] == "")]
    assert months["period"].tolist() == ["2027-01", "2027-02", "2027-03"]
    text = "".join(str(o.get("data", {}).get("text/html", "")) for c in nbformat.read(out, 4).cells
                   for o in c.get("outputs", []))
    assert "Projection at the run rate" in text and "sales to date against this run" in text
    cover = pd.read_parquet(run / "tables" / "stock_cover.parquet")
    assert len(cover) == len(demo["stock"]) and set(cover["status"]) <= {"below", "above", "in_band", "no_plan"}
    assert pd.read_parquet(run / "tables" / "stock_orders.parquet")["period"].unique().tolist() == ["2027-04", "2027-05",
                                                                                                   "2027-06"]
    assert "Days of cover" in text and "Stock at the stores" in text
    # the pace by dekad drawn for the reader: a chart right after the reports' heading
    cells = nbformat.read(out, 4).cells
    reports = next(c for c in cells if c.cell_type == "code" and "period_chart" in c.source)
    assert any("image/png" in o.get("data", {}) for o in reports.get("outputs", []))


def test_period_chart_has_a_pair_of_bars_per_dekad_and_the_achievement_line():
    import matplotlib

    matplotlib.use("Agg")
    from salesmodel.report.pages import Page

    report = pd.DataFrame({"grain": ["dekad"] * 3 + ["month"], "rep_id": [""] * 4,
                           "period": ["2027-01-D1", "2027-01-D2", "2027-01-D3", "2027-01"],
                           "target": [100.0, 200.0, 300.0, 600.0], "actual": [90.0, 210.0, 240.0, 540.0],
                           "achievement": [0.9, 1.05, 0.8, 0.9]})
    page = Page.__new__(Page)  # the chart needs only the words and the money unit
    page.lang, page.unit, page.money = "en", "yuan", "yuan"
    fig = page.period_chart(report, "dekad")
    bars = [p.get_height() for p in fig.axes[0].patches]
    assert bars == [100.0, 200.0, 300.0, 90.0, 210.0, 240.0]
    assert list(fig.axes[1].lines[0].get_ydata()) == pytest.approx([90.0, 105.0, 80.0])
    assert page.period_chart(report, "iso_week") is None


def test_steps_read_the_same_lines_from_the_run_folders_copy(tmp_path, small_company_dir):
    """A run holds the sales history as its sums and its copy on disk (orderlines.StoredLines): the
    steps that read lines (the funnel's orders, the same days a year before, the stocked stores'
    lines, the tracked year of the history) give the tables they give from the frame."""
    from conftest import SMALL_COMPANY

    from salesmodel.domain.staffing import EXAMPLE_F_SOURCES, EXAMPLE_F_STAGES
    from salesmodel.io import orderlines
    from salesmodel.pipeline import run_plan

    data = tmp_path / "data"
    shutil.copytree(small_company_dir, data)
    demo = make_company(**SMALL_COMPANY, actuals_to="2027-03-31")
    demo["actuals"].to_parquet(data / "actuals.parquet", index=False)
    demo["stock"].to_csv(data / "stock.csv", index=False, date_format="%Y-%m-%d")
    funnel = {"unit_of_sale": "vehicle", "channel": "offline", "sources": EXAMPLE_F_SOURCES,
              "stages": [{k: v} for k, v in EXAMPLE_F_STAGES.items()]}
    live = {"dir": str(data), "actuals": "actuals.parquet", "stock": "stock.csv"}
    for data_section in (live, {"dir": str(data)}):
        sc = load_params(write_params(tmp_path / "p.yaml", data, data=data_section, staffing={"funnel": funnel},
                                      forecast={"n_windows": 1, "calibration_sample": 30}))
        inputs = io.read_inputs(sc.data)
        plan = run_plan(sc, inputs, upto="targets")
        copy = tmp_path / "copy"
        io.write_table(inputs["sales"], copy, "sales", with_csv=False)
        held = {**inputs, "sales": orderlines.stored(inputs["sales"], copy / "sales.parquet")}
        for step in ("staffing", "tracking"):
            want = run_step(step, sc, inputs, plan.tables)
            got = run_step(step, sc, held, plan.tables)
            assert set(got.tables) == set(want.tables)
            for name, table in want.tables.items():
                pd.testing.assert_frame_equal(got.tables[name], table, check_exact=True, obj=name)
            if step == "staffing":
                assert got.facts["funnel_deliveries"] == want.facts["funnel_deliveries"] > 0
        assert ("stock_cover" in want.tables) == (data_section is live)
