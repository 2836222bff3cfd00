"""DOMAIN.md worked examples A-J (targets and tracking) with their numbers.

F (funnel) and H (base pay) belong to staffing and are tested there.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesmodel.domain.targets import (
    cascade,
    decompose,
    rake,
    split_over_time,
    weekday_weights,
)
from salesmodel.domain.tracking import achievement_rate, period_report


def _periods(labels, starts, ends):
    return pd.DataFrame({"period": labels, "start": pd.to_datetime(starts), "end": pd.to_datetime(ends)})


QUARTERS = _periods(
    ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"],
    ["2027-01-01", "2027-04-01", "2027-07-01", "2027-10-01"],
    ["2027-03-31", "2027-06-30", "2027-09-30", "2027-12-31"],
)
MONTHS = pd.DataFrame({
    "period": [f"2027-{m:02d}" for m in range(1, 13)],
    "start": pd.date_range("2027-01-01", periods=12, freq="MS"),
    "end": pd.date_range("2027-01-31", periods=12, freq="ME"),
})
MONTHS["quarter"] = [f"2027-Q{(m - 1) // 3 + 1}" for m in range(1, 13)]


def test_a_even_split_year_quarter_month():
    year = pd.DataFrame({"unit": ["company"], "target": [10_000_000.0]})
    q = split_over_time(year, QUARTERS, "even", keys="unit", round_to=1)
    assert q["target"].tolist() == [2_500_000.0] * 4
    # Quarter -> month: each month weighs 1 inside its own quarter.
    month_w = MONTHS.rename(columns={"quarter": "unit"}).assign(weight=1.0)[["unit", "period", "weight"]]
    quarters = q.rename(columns={"unit": "company", "period": "unit"})[["unit", "target"]]
    m = split_over_time(quarters, MONTHS, month_w, keys="unit", round_to=1)
    m = m.loc[m["target"] > 0]
    # 2,500,000 / 3 = 833,333.33: largest remainder gives the first month of each
    # quarter the one extra yuan (equal fractions: the earlier period first).
    assert m["target"].tolist() == [833_334.0, 833_333.0, 833_333.0] * 4
    assert m["target"].sum() == 10_000_000
    assert (m.groupby("unit", observed=True)["target"].sum() == 2_500_000).all()


def test_a_straight_to_months_gives_the_extra_yuan_to_the_first_months():
    year = pd.DataFrame({"unit": ["company"], "target": [10_000_000.0]})
    m = split_over_time(year, MONTHS, "even", keys="unit", round_to=1)
    # 12 x 833,333 = 9,999,996: the 4 missing yuan go to January-April.
    assert m["target"].tolist() == [833_334.0] * 4 + [833_333.0] * 8
    assert m["target"].sum() == 10_000_000


def test_b_uneven_quarters_stationery_store():
    year = pd.DataFrame({"unit": ["store"], "target": [1_000_000.0]})
    seasonal = pd.Series({"2027-Q1": 25, "2027-Q2": 30, "2027-Q3": 30, "2027-Q4": 15})
    q = split_over_time(year, QUARTERS, seasonal, keys="unit", round_to=1)
    assert q["target"].tolist() == [250_000.0, 300_000.0, 300_000.0, 150_000.0]


REGIONS = pd.Series({"NE": 1.5e6, "N": 2.0e6, "E": 3.0e6, "S": 2.5e6, "C": 1.0e6})
PRODUCTS = pd.Series({"A": 3.0e6, "B": 4.0e6, "C": 3.0e6})
CHANNELS = pd.Series({"online": 3.0e6, "offline": 4.0e6, "partner": 3.0e6})


def test_c_region_product_channel_splits():
    regions = pd.DataFrame({"region": REGIONS.index, "basis": REGIONS.to_numpy()})
    out = decompose(10_000_000, regions, basis="basis", keys="region", round_to=100)
    assert out.set_index("region")["target"].to_dict() == {"NE": 1.5e6, "N": 2.0e6, "E": 3.0e6, "S": 2.5e6, "C": 1.0e6}
    products = pd.DataFrame({"product": PRODUCTS.index, "basis": [0.3, 0.4, 0.3]})
    assert decompose(10_000_000, products, basis="basis", keys="product", round_to=100)["target"].tolist() == [3e6, 4e6, 3e6]


def test_c_rake_all_three_splits_at_once():
    idx = pd.MultiIndex.from_product([REGIONS.index, PRODUCTS.index, CHANNELS.index], names=["region", "product", "channel"])
    rng = np.random.default_rng(3)
    seed = idx.to_frame(index=False).assign(value=rng.uniform(0.5, 2.0, len(idx)))
    res = rake(seed, {"region": REGIONS, "product": PRODUCTS, "channel": CHANNELS}, round_to=100)
    t = res.table
    assert res.converged
    assert t.groupby("region")["value"].sum().reindex(REGIONS.index).tolist() == REGIONS.tolist()  # first margin exact
    assert t["value"].sum() == 10_000_000
    for dim, margin in (("product", PRODUCTS), ("channel", CHANNELS)):
        got = t.groupby(dim)["value"].sum().reindex(margin.index)
        assert np.abs(got - margin).max() <= 100 * len(REGIONS)  # within a few rounding steps


def test_d_long_to_short():
    two_years = pd.DataFrame({"unit": ["u"], "target": [1_000_000.0]})
    years = _periods(["2027", "2028"], ["2027-01-01", "2028-01-01"], ["2027-12-31", "2028-12-31"])
    y = split_over_time(two_years, years, "even", keys="unit", round_to=1)
    assert y["target"].tolist() == [500_000.0, 500_000.0]
    q = split_over_time(y.iloc[[0]].rename(columns={"target": "target"}), QUARTERS, "even", keys="unit", round_to=1)
    assert q["target"].tolist() == [125_000.0] * 4


WEEKDAY_TAKINGS = [9_654, 9_687, 11_654, 10_625, 11_687, 17_110, 16_583]


def test_e_weekday_profile_daily_targets():
    assert sum(WEEKDAY_TAKINGS) == 87_000
    days = pd.date_range("2027-03-01", "2027-03-07")  # Monday..Sunday
    day_periods = _periods([d.strftime("%Y-%m-%d") for d in days], days, days)
    w = weekday_weights(day_periods, WEEKDAY_TAKINGS)
    week = pd.DataFrame({"unit": ["store"], "target": [87_000.0]})
    d = split_over_time(week, day_periods, w, keys="unit", round_to=1)
    assert d["target"].tolist() == [float(x) for x in WEEKDAY_TAKINGS]
    # A week target of 100,000 follows the same shares, exactly.
    d2 = split_over_time(week.assign(target=100_000.0), day_periods, w, keys="unit", round_to=1)
    assert d2["target"].sum() == 100_000
    assert d2["target"].iloc[5] == pytest.approx(100_000 * 17_110 / 87_000, abs=1)


def test_g_weekly_tracking_and_carried_over_orders():
    assert achievement_rate(120, 130) == pytest.approx(0.923, abs=5e-4)
    assert achievement_rate(100, 110) == pytest.approx(0.909, abs=5e-4)
    # Rule: carried-over orders are already in hand, so the month asks for
    # target - carried_over new orders: 6 / (10 - 5) = 120%.
    assert achievement_rate(6, 10, carried_over=5) == pytest.approx(1.20)
    # The same week figures through period_report: plan 130 a week, actual 120.
    weeks = _periods(["W1", "W2"], ["2027-03-01", "2027-03-08"], ["2027-03-07", "2027-03-14"])
    plan = weeks.assign(target=[130.0, 110.0])
    days = pd.date_range("2027-03-01", "2027-03-14")
    per_day = np.where(days < "2027-03-08", 120 / 7, 100 / 7)
    actuals = pd.DataFrame({"date": days, "amount": per_day})
    rep = period_report(actuals, plan, weeks)
    assert rep["target"].round(6).tolist() == [130.0, 110.0]
    assert rep["achievement"].round(3).tolist() == [0.923, 0.909]


def test_i_store_target_by_last_november_mix():
    mix = pd.DataFrame({"category": ["pens", "paper", "bags", "other"], "nov_last_year": [120_000.0, 90_000.0, 60_000.0, 30_000.0],
                        "stock_end_oct": [150_000.0, 40_000.0, 80_000.0, 20_000.0]})
    out = decompose(400_000, mix, basis="nov_last_year", keys="category", round_to=100)
    assert out["target"].tolist() == [160_000.0, 120_000.0, 80_000.0, 40_000.0]
    assert out["target"].sum() == 400_000
    # Checked against the stock on hand: categories whose stock is below the target.
    short = out.loc[out["stock_end_oct"] < out["target"], "category"].tolist()
    assert short == ["pens", "paper", "other"]


def test_j_task_vs_stretch_target():
    provinces = pd.DataFrame({"city": ["zz", "ly", "xx"], "last_year": [2.0, 1.5, 1.0]})
    out = decompose(5_600_000, provinces, basis="last_year", keys="city", round_to=100, stretch=1.25)
    assert out["target"].sum() == 7_000_000
    assert out.attrs["total"] == 7_000_000
    assert out["target"].tolist() == pytest.approx([3_111_100, 2_333_300, 1_555_600], abs=100)


def test_cascade_region_to_rep_is_exact():
    units = pd.DataFrame({
        "region": ["NE", "NE", "N", "E", "E", "E", "S", "C"],
        "rep": list("abcdefgh"),
        "last_year": [1.0, 0.5, 2.0, 1.0, 1.0, 1.0, 2.5, 1.0],
    })
    out = cascade(10_000_000, units, ["region", "rep"], basis="last_year", round_to=100)
    reg = out["region"].set_index("region")["target"]
    assert reg.to_dict() == {"C": 1.0e6, "E": 3.0e6, "N": 2.0e6, "NE": 1.5e6, "S": 2.5e6}
    reps = out["rep"]
    assert (reps.groupby("region")["target"].sum() == reg.reindex(reps.groupby("region").size().index)).all()
