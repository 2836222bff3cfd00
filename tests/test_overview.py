"""Overview aggregation: totals add up, same period last year uses the same dates."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmodel.domain import overview
from salesmodel.errors import InputError, ParamsError

CUSTOMERS = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "province_id": ["GD", "BJ", "GD"]})
PROVINCES = pd.DataFrame(
    {"province_id": ["GD", "BJ"], "region_id": ["S", "N"], "name_zh": ["广东", "北京"], "name_en": ["Guangdong", "Beijing"]}
)


def _sales(rows):
    df = pd.DataFrame(rows, columns=["date", "customer_id", "product", "channel", "amount", "units"])
    df["date"] = pd.to_datetime(df["date"])
    df["units"] = df["units"].astype("int64")
    return df


SALES = _sales(
    [
        ("2024-02-29", "c1", "A", "online", 100.0, 1),   # a leap day, two years back
        ("2025-01-10", "c1", "A", "online", 200.0, 2),
        ("2025-02-28", "c2", "B", "offline", 300.0, 3),
        ("2025-03-01", "c3", "A", "partner", 50.0, 1),    # after the comparison window
        ("2026-01-05", "c1", "A", "online", 260.0, 2),
        ("2026-02-28", "c2", "B", "offline", 330.0, 3),
    ]
)


def test_attach_geography_adds_province_and_region():
    geo = overview.attach_geography(SALES, CUSTOMERS, PROVINCES)
    assert list(geo["province_id"]) == ["GD", "GD", "BJ", "GD", "GD", "BJ"]
    assert list(geo["region_id"]) == ["S", "S", "N", "S", "S", "N"]
    assert len(geo) == len(SALES)


def test_attach_geography_names_unknown_customers():
    bad = SALES.assign(customer_id=["c1", "zz", "c2", "c3", "c1", "c2"])
    with pytest.raises(InputError, match="'zz'"):
        overview.attach_geography(bad, CUSTOMERS, PROVINCES)


def test_totals_by_year_and_dimension():
    geo = overview.attach_geography(SALES, CUSTOMERS, PROVINCES)
    by_year = overview.totals_by(geo)
    assert list(by_year["year"]) == [2024, 2025, 2026]
    assert list(by_year["amount"]) == [100.0, 550.0, 590.0]
    assert list(by_year["customers"]) == [1, 3, 2]
    by_region = overview.totals_by(geo, "region_id")
    row = by_region[(by_region["year"] == 2025) & (by_region["region_id"] == "S")].iloc[0]
    assert (row["amount"], row["units"], row["orders"], row["customers"]) == (250.0, 3, 2, 2)


def test_totals_by_month_uses_month_starts():
    out = overview.totals_by(SALES, "product", period="month")
    assert out["month"].dt.day.eq(1).all()
    assert out["amount"].sum() == pytest.approx(SALES["amount"].sum())


def test_totals_by_rejects_an_unknown_period():
    with pytest.raises(ParamsError, match="'period' parameter of totals_by must be 'year' or 'month'. Got 'week'"):
        overview.totals_by(SALES, period="week")


def test_same_period_last_year_compares_the_same_dates():
    out = overview.same_period_last_year(SALES)
    row = out.iloc[0]
    assert row["period_start"] == pd.Timestamp("2026-01-01")
    assert row["period_end"] == pd.Timestamp("2026-02-28")
    assert row["last_end"] == pd.Timestamp("2025-02-28")
    assert row["amount"] == 590.0
    assert row["amount_last_year"] == 500.0  # 1 March 2025 is outside
    assert row["growth"] == pytest.approx(0.18)


def test_same_period_from_a_leap_day_ends_on_28_february():
    out = overview.same_period_last_year(SALES, as_of="2024-02-29")
    assert out.iloc[0]["last_end"] == pd.Timestamp("2023-02-28")
    assert np.isnan(out.iloc[0]["growth"])  # nothing last year: no growth figure, not infinity


def test_same_period_by_region_has_one_row_per_region():
    geo = overview.attach_geography(SALES, CUSTOMERS, PROVINCES)
    out = overview.same_period_last_year(geo, "region_id").set_index("region_id")
    assert out.loc["S", "amount"] == 260.0 and out.loc["S", "amount_last_year"] == 200.0
    assert out.loc["N", "amount"] == 330.0 and out.loc["N", "amount_last_year"] == 300.0


def test_monthly_pattern_index_averages_one_per_year():
    out = overview.monthly_pattern(SALES)
    assert out.groupby("year")["index"].mean().round(12).eq(1.0).all()


def test_unit_names_follow_the_language():
    assert overview.unit_names(PROVINCES, "province_id", "zh")["GD"] == "广东"
    assert overview.unit_names(PROVINCES, "province_id", "en")["GD"] == "Guangdong"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.dates(min_value=pd.Timestamp("2023-01-01").date(), max_value=pd.Timestamp("2026-10-31").date()),
            st.sampled_from(["c1", "c2", "c3"]),
            st.sampled_from(["A", "B", "C"]),
            st.integers(0, 10_000_000),
            st.integers(0, 1000),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_totals_add_up_to_the_history(rows):
    sales = _sales([(d, c, p, "online", cents / 100, u) for d, c, p, cents, u in rows])
    geo = overview.attach_geography(sales, CUSTOMERS, PROVINCES)
    total_cents = sum(cents for *_, cents, _u in rows)
    for by in (None, "region_id", "product", ["province_id", "product"]):
        out = overview.totals_by(geo, by)
        assert round(out["amount"].sum() * 100) == total_cents
        assert out["units"].sum() == sum(u for *_, u in rows)
    monthly = overview.sales_by_month_region(geo)
    assert round(monthly["amount"].sum() * 100) == total_cents


def test_same_period_table_stacks_total_and_dimensions():
    geo = overview.attach_geography(SALES, CUSTOMERS, PROVINCES)
    out = overview.same_period_table(geo, ["region_id", "product"])
    assert list(out.columns[:2]) == ["dimension", "key"]
    assert list(out["dimension"].unique()) == ["total", "region_id", "product"]
    for dim in ("region_id", "product"):
        part = out[out["dimension"] == dim]
        assert part["amount"].sum() == pytest.approx(out.loc[out["dimension"] == "total", "amount"].iloc[0])
        assert part["amount_last_year"].sum() == pytest.approx(500.0)
    assert out.set_index(["dimension", "key"]).loc[("product", "B"), "growth"] == pytest.approx(0.1)
