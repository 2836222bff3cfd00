"""Stock at the stores (issue 12): days of cover against the plan and an order plan; DOMAIN example I."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from conftest import write_params

from salesmodel import cli, io
from salesmodel.errors import InputError
from salesmodel.pipeline import run_step
from salesmodel.sample import make_company
from salesmodel.schema.params import load_params


def _example_i(tmp_path, small_company_dir, stock_dates=("2027-10-31",)):
    """A store whose November 2027 target is 400,000; last November it sold A 200,000 (100 units at 2,000),
    B 120,000 (400 at 300) and C 80,000 (1,600 at 50): a 50/30/20 mix. Its December target is 500,000."""
    sc = load_params(write_params(tmp_path / "p.yaml", small_company_dir, tracking={"order_months": 2}))
    inputs = dict(io.read_inputs(sc.data))
    store = inputs["customers"].iloc[0]
    rep = inputs["reps"].set_index("rep_id").loc[store["rep_id"]]
    sid = store["customer_id"]
    day = pd.Timestamp("2026-11-10")
    inputs["sales"] = pd.DataFrame({"date": [day] * 3, "customer_id": sid, "product": ["A", "B", "C"],
                                    "channel": "offline", "amount": [200_000.0, 120_000.0, 80_000.0],
                                    "units": [100, 400, 1_600]})
    inputs["actuals"] = pd.DataFrame({"date": [pd.Timestamp("2027-10-31")], "customer_id": sid, "product": "A",
                                      "channel": "offline", "amount": [0.0], "units": [0]})
    inputs["stock"] = pd.DataFrame({"date": pd.to_datetime(list(stock_dates) * 3)[:3], "customer_id": sid,
                                    "product": ["A", "B", "C"], "units": [10, 30, 400]})
    rows = [("2027-01-01", "2027-10-31", 3_000_000.0), ("2027-11-01", "2027-11-30", 400_000.0),
            ("2027-12-01", "2027-12-31", 500_000.0)]
    plan = pd.DataFrame(rows, columns=["start", "end", "target"])
    plan["start"], plan["end"] = pd.to_datetime(plan["start"]), pd.to_datetime(plan["end"])
    plan = plan.assign(period=plan["start"].dt.strftime("%Y-%m"), region_id=rep["region_id"],
                       province_id=rep["province_id"], rep_id=store["rep_id"], customer_id=sid)
    return sc, inputs, {"plan_customer_dekad": plan}, sid


def test_example_i_november_by_last_novembers_mix_against_the_end_of_october(tmp_path, small_company_dir):
    sc, inputs, tables, sid = _example_i(tmp_path, small_company_dir)
    result = run_step("tracking", sc, inputs, tables)
    orders = result.tables["stock_orders"].set_index(["product", "period"])
    nov = orders.xs("2027-11", level="period")
    # 400,000 by last November's mix: 200,000 / 120,000 / 80,000, i.e. 100 / 400 / 1,600 units
    assert nov["plan_amount"].tolist() == pytest.approx([200_000, 120_000, 80_000])
    assert nov["mix_share"].tolist() == pytest.approx([0.5, 0.3, 0.2])
    assert nov["plan_units"].tolist() == pytest.approx([100, 400, 1_600])
    cover = result.tables["stock_cover"].set_index("product")
    # on hand at the end of October: A 10 = 3.0 days (in the band), B 30 = 2.25 (below 3), C 400 = 7.5 (above 5)
    assert cover["days_of_cover"].tolist() == pytest.approx([3.0, 2.25, 7.5])
    assert cover["status"].tolist() == ["in_band", "below", "above"]
    assert (cover["customer_id"] == sid).all() and cover["price"].tolist() == pytest.approx([2_000, 300, 50])
    # November's order closes at 4 days of December's rate (A 125, B 500, C 2,000 units in 31 days):
    # A ceil(100 + 4 x 125/31 - 10) = 107, B ceil(400 + 4 x 500/31 - 30) = 435, C ceil(1,600 + 4 x 2,000/31 - 400) = 1,459
    assert nov["order_units"].tolist() == [107, 435, 1_459]
    assert nov["closing_units"].tolist() == pytest.approx([17, 65, 259])
    assert nov["closing_days"].tolist() == pytest.approx([17 * 31 / 125, 65 * 31 / 500, 259 * 31 / 2_000])
    dec = orders.xs("2027-12", level="period")
    assert dec["plan_units"].tolist() == pytest.approx([125, 500, 2_000])
    assert dec["opening_units"].tolist() == pytest.approx([17, 65, 259])
    assert result.facts["stock_below"] == 1 and result.facts["stock_above"] == 1


def test_counts_outside_the_plan_name_the_file(tmp_path, small_company_dir):
    sc, inputs, tables, _ = _example_i(tmp_path, small_company_dir, stock_dates=("2025-06-30",))
    with pytest.raises(InputError, match=r"column 'date': 3 count\(s\) outside the plan, at row\(s\) 1, 2, 3"):
        run_step("tracking", sc, inputs, tables)


@pytest.mark.parametrize("row, said", [
    ({"units": -4}, "column 'units'"),
    ({"product": "Z"}, "column 'product'"),
    ({"customer_id": "NOBODY"}, "column 'customer_id'"),
])
def test_bad_stock_counts_are_refused_with_exit_2(tmp_path, small_company_dir, capsys, row, said):
    data = tmp_path / "data"
    shutil.copytree(small_company_dir, data)
    stock = pd.DataFrame({"date": ["2026-12-31", "2026-12-31"], "customer_id": ["C00001", "C00002"],
                          "product": ["A", "B"], "units": [5, 6]})
    for col, value in row.items():
        stock.loc[1, col] = value
    stock.to_csv(data / "stock.csv", index=False)
    params = write_params(tmp_path / "p.yaml", data, data={"dir": str(data), "stock": "stock.csv"})
    assert cli.main(["validate", str(params)]) == 2
    err = capsys.readouterr().err
    assert "stock.csv" in err and said in err and "row 2" in err and "Traceback" not in err


def test_the_demo_counts_stock_at_one_store_in_eight():
    company = make_company(seed=7, n_customers=240, n_reps=12, actuals_to="2027-03-31")
    stock = company["stock"]
    assert set(stock["date"]) == {pd.Timestamp("2027-03-31")}
    stores = stock["customer_id"].nunique()
    assert 0 < stores <= company["actuals"]["customer_id"].nunique() // 8 + 1
    assert (stock["units"] >= 0).all() and set(stock["product"]) <= {"A", "B", "C"}
    assert not stock.duplicated(["date", "customer_id", "product"]).any()
