"""The demo company: contract, reference data, realism of the history, writing."""

from __future__ import annotations

import itertools

import holidays
import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_COMPANY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesmodel.errors import ParamsError
from salesmodel.sample import FILE_NAMES, make_company, reference_tables, write_company

CONTRACT = {
    "sales": {
        "date": "datetime64[ns]",
        "customer_id": "object",
        "product": "object",
        "channel": "object",
        "amount": "float64",
        "units": "int64",
    },
    "customers": {
        "customer_id": "object",
        "customer_name": "object",
        "rep_id": "object",
        "province_id": "object",
        "city_zh": "object",
        "city_en": "object",
        "lat": "float64",
        "lon": "float64",
        "tier": "object",
        "customer_type": "object",
        "potential": "float64",
        "first_order_date": "datetime64[ns]",
        "churn_date": "datetime64[ns]",
    },
    "reps": {
        "rep_id": "object",
        "rep_name": "object",
        "province_id": "object",
        "region_id": "object",
        "role": "object",
        "hire_date": "datetime64[ns]",
        "leave_date": "datetime64[ns]",
    },
    "org": {
        "unit_id": "object",
        "parent_id": "object",
        "level": "object",
        "name_en": "object",
        "name_zh": "object",
    },
    "provinces": {
        "province_id": "object",
        "name_zh": "object",
        "name_en": "object",
        "region_id": "object",
        "capital_zh": "object",
        "capital_en": "object",
        "lat": "float64",
        "lon": "float64",
        "population": "int64",
    },
    "adjacency": {"province_a": "object", "province_b": "object"},
}
PROVINCE_IDS = [
    "BJ",
    "TJ",
    "HE",
    "SX",
    "NM",
    "LN",
    "JL",
    "HL",
    "SH",
    "JS",
    "ZJ",
    "AH",
    "FJ",
    "JX",
    "SD",
    "HA",
    "HB",
    "HN",
    "GD",
    "GX",
    "HI",
    "CQ",
    "SC",
    "GZ",
    "YN",
    "XZ",
    "SN",
    "GS",
    "QH",
    "NX",
    "XJ",
]
REGION_OF = {
    "NE": "LN JL HL",
    "N": "BJ TJ HE SX NM SN GS QH NX XJ",
    "E": "SH JS ZJ AH FJ JX SD",
    "S": "GD GX HI",
    "C": "HA HB HN CQ SC GZ YN XZ",
}


def _sales_with(company, *cols):
    sales = company["sales"]
    cust = company["customers"].set_index("customer_id")
    out = sales.copy()
    for col in cols:
        out[col] = sales["customer_id"].map(cust[col])
    return out


def _spring_festivals(years):
    cn = holidays.China(years=years, language="en_US")
    days = [d for d, name in cn.items() if name == "Chinese New Year (Spring Festival)"]
    return sorted({min(d for d in days if d.year == y) for y in years})


# --- contract -----------------------------------------------------------------


def test_same_seed_gives_identical_tables_and_another_seed_differs(small_company):
    again = make_company(**SMALL_COMPANY)
    assert sorted(again) == sorted(CONTRACT)
    for key in CONTRACT:
        pd.testing.assert_frame_equal(small_company[key], again[key], check_exact=True)
    other = make_company(**{**SMALL_COMPANY, "seed": SMALL_COMPANY["seed"] + 1})
    assert not other["sales"]["amount"].equals(small_company["sales"]["amount"])


@pytest.mark.parametrize("key", sorted(CONTRACT))
def test_contract_columns_come_first_with_their_types(small_company, key):
    df = small_company[key]
    expected = CONTRACT[key]
    assert list(df.columns[: len(expected)]) == list(expected)
    assert {c: str(df[c].dtype) for c in expected} == expected
    assert len(df) > 0


def test_sales_values_follow_the_contract(small_company):
    sales = small_company["sales"]
    assert set(sales["product"]) == {"A", "B", "C"}
    assert set(sales["channel"]) == {"online", "offline", "partner"}
    assert (sales["amount"] > 0).all() and (sales["units"] >= 1).all()
    cents = sales["amount"].to_numpy() * 100
    assert np.allclose(cents, np.round(cents), atol=1e-6)  # whole cents
    assert (sales["date"] == sales["date"].dt.normalize()).all()
    assert sales["date"].min() >= pd.Timestamp(SMALL_COMPANY["start"])
    assert sales["date"].max() <= pd.Timestamp(SMALL_COMPANY["end"])
    assert not sales.duplicated(["date", "customer_id", "product", "channel"]).any()
    assert sales["date"].is_monotonic_increasing


def test_small_tables_use_the_contract_vocabularies(small_company):
    c, r, o = small_company["customers"], small_company["reps"], small_company["org"]
    assert set(c["tier"]) == {"VIP", "first", "second", "other"}
    assert set(c["customer_type"]) <= {"wholesaler", "retailer", "supermarket", "online_store"}
    assert (c["potential"] > 0).all()
    assert c["customer_id"].is_unique and r["rep_id"].is_unique and o["unit_id"].is_unique
    assert c["customer_name"].is_unique and r["rep_name"].is_unique
    assert set(o["level"]) == {"company", "region", "province"}
    assert len(r) == SMALL_COMPANY["n_reps"] and len(c) == SMALL_COMPANY["n_customers"]


def test_every_reference_resolves(small_company):
    s, c, r = small_company["sales"], small_company["customers"], small_company["reps"]
    o, p, a = small_company["org"], small_company["provinces"], small_company["adjacency"]
    assert s["customer_id"].isin(c["customer_id"]).all()
    assert c["rep_id"].isin(r["rep_id"]).all()
    assert (
        c["province_id"].isin(p["province_id"]).all()
        and r["province_id"].isin(p["province_id"]).all()
    )
    # A customer belongs to its rep's province; a rep to its province's region.
    rep_province = c["rep_id"].map(r.set_index("rep_id")["province_id"])
    assert (rep_province == c["province_id"]).all()
    assert (r["region_id"] == r["province_id"].map(p.set_index("province_id")["region_id"])).all()
    parents = o.set_index("unit_id")["parent_id"]
    assert (
        o.loc[o["level"] == "company", "parent_id"].isna().all()
        and parents.notna().sum() == len(o) - 1
    )
    assert set(parents.dropna()) <= set(o["unit_id"])
    assert (parents[p["province_id"]].to_numpy() == p["region_id"].to_numpy()).all()
    assert set(a["province_a"]) | set(a["province_b"]) <= set(p["province_id"])


def test_reps_books_and_dates_are_consistent(small_company):
    c, r = small_company["customers"], small_company["reps"]
    book = c["rep_id"].value_counts()
    active = r[r["leave_date"].isna()]
    assert (book.reindex(active["rep_id"]).fillna(0) >= 1).all()  # every active rep serves someone
    assert not c["rep_id"].isin(r.loc[r["leave_date"].notna(), "rep_id"]).any()
    assert (r["hire_date"] < r["leave_date"].fillna(pd.Timestamp.max)).all()
    # With 12 reps not every province is staffed, but every region is.
    assert set(r["region_id"]) == set(REGION_OF)


# --- reference data -----------------------------------------------------------


def test_provinces_are_the_31_mainland_provinces_in_five_regions():
    p = reference_tables()["provinces"]
    assert sorted(p["province_id"]) == sorted(PROVINCE_IDS)
    for region, members in REGION_OF.items():
        assert sorted(p.loc[p["region_id"] == region, "province_id"]) == sorted(members.split())
    # 2020 census: 1,411,778,724 including 2,000,000 servicemen counted in no province.
    assert p["population"].sum() == 1_409_778_724
    assert p.set_index("province_id").loc["GD", "population"] == 126_012_510
    assert p.set_index("province_id").loc[
        "SC", ["name_zh", "capital_zh", "capital_en"]
    ].tolist() == ["四川", "成都", "Chengdu"]
    assert p["lat"].between(18, 54).all() and p["lon"].between(73, 135).all()
    assert p["name_zh"].is_unique and p["name_en"].is_unique


def test_cities_include_each_capital_at_its_coordinates():
    ref = reference_tables()
    capitals = ref["cities"][ref["cities"]["is_capital"] == 1].set_index("province_id")
    p = ref["provinces"].set_index("province_id")
    assert sorted(capitals.index) == sorted(PROVINCE_IDS)
    assert (capitals.loc[p.index, "city_zh"] == p["capital_zh"]).all()
    assert np.allclose(
        capitals.loc[p.index, ["lat", "lon"]].to_numpy(), p[["lat", "lon"]].to_numpy()
    )
    assert (ref["cities"].groupby("province_id").size()[["GD", "SD", "JS", "HA"]] >= 8).all()


def test_adjacency_is_the_true_border_list():
    a = reference_tables()["adjacency"]
    pairs = set(zip(a["province_a"], a["province_b"]))
    assert (a["province_a"] < a["province_b"]).all() and len(pairs) == len(a)
    assert {
        ("BJ", "TJ"),
        ("BJ", "HE"),
        ("HE", "TJ"),
        ("JS", "SH"),
        ("GD", "GX"),
        ("SC", "XZ"),
    } <= pairs
    assert not pairs & {("BJ", "SH"), ("GD", "ZJ"), ("HE", "JS"), ("BJ", "SD")}
    neighbours = {pid: set() for pid in PROVINCE_IDS}
    for x, y in pairs:
        neighbours[x].add(y)
        neighbours[y].add(x)
    # Inner Mongolia and Shaanxi border eight provinces; Hainan is an island (sea link to Guangdong only).
    assert neighbours["NM"] == {"GS", "HE", "HL", "JL", "LN", "NX", "SN", "SX"}
    assert neighbours["SN"] == {"CQ", "GS", "HA", "HB", "NM", "NX", "SC", "SX"}
    assert neighbours["HI"] == {"GD"}
    assert set(
        a.loc[a["kind"] == "sea", ["province_a", "province_b"]].itertuples(index=False, name=None)
    ) == {("GD", "HI")}
    assert len(a) == 69
    # The country and every region are connected on this graph.
    regions = dict(REGION_OF, all=" ".join(PROVINCE_IDS))
    for region, members in regions.items():
        members = set(members.split())
        seen, todo = set(), [min(members)]
        while todo:
            here = todo.pop()
            seen.add(here)
            todo += [n for n in neighbours[here] & members if n not in seen]
        assert seen == members, region


# --- realism of the history ---------------------------------------------------


def test_spring_festival_dip_on_the_lunar_dates_with_stocking_up_before(small_company):
    daily = small_company["sales"].groupby("date")["amount"].sum()
    daily = daily.reindex(
        pd.date_range(SMALL_COMPANY["start"], SMALL_COMPANY["end"]), fill_value=0.0
    )
    stocking, restart = 0.0, 0.0
    for new_year in _spring_festivals(range(2024, 2027)):
        day0 = pd.Timestamp(new_year)

        def days(first: int, last: int, day0: pd.Timestamp = day0) -> float:
            return daily[day0 + pd.Timedelta(days=first) : day0 + pd.Timedelta(days=last)].sum()

        festival, before, after = days(0, 6), days(-21, -15), days(28, 34)
        assert festival < 0.4 * min(before, after), new_year
        stocking += days(-21, -8)
        restart += days(28, 41)
    assert stocking > 1.15 * restart  # shops stock up for the holiday


def test_month_end_push_within_dekads(small_company):
    sales = small_company["sales"]
    dom = sales["date"].dt.day
    share_third = sales.loc[dom > 20, "amount"].sum() / sales["amount"].sum()
    assert share_third > 1 / 3 + 0.02
    per_day = sales.groupby(dom)["amount"].sum()
    assert per_day[[9, 10]].mean() > per_day[[4, 5, 6]].mean()  # dekad end above mid-dekad
    assert per_day[[27, 28]].mean() > per_day[[14, 15, 16]].mean()


def test_weekday_profile_differs_by_channel(small_company):
    sales = small_company["sales"]
    weekend = sales["date"].dt.weekday >= 5
    n_weekend = (
        pd.date_range(SMALL_COMPANY["start"], SMALL_COMPANY["end"]).weekday.isin([5, 6]).sum()
    )
    n_week = len(pd.date_range(SMALL_COMPANY["start"], SMALL_COMPANY["end"])) - n_weekend
    for channel, low, high in (("offline", 0.0, 0.6), ("online", 1.05, 3.0)):
        mine = sales["channel"] == channel
        ratio = (sales.loc[mine & weekend, "amount"].sum() / n_weekend) / (
            sales.loc[mine & ~weekend, "amount"].sum() / n_week
        )
        assert low < ratio < high, (channel, ratio)


def test_online_promotions_618_and_double_11(small_company):
    sales = small_company["sales"]
    online = sales[sales["channel"] == "online"].groupby("date")["amount"].sum()
    years = (2023, 2024, 2025)
    double_11 = sum(online[f"{y}-11-11"] for y in years)
    september = sum(online[f"{y}-09-01" : f"{y}-09-30"].mean() for y in years)
    assert double_11 > 2 * september
    peak_618 = sum(online[f"{y}-06-16" : f"{y}-06-18"].mean() for y in years)
    may = sum(online[f"{y}-05-01" : f"{y}-05-31"].mean() for y in years)
    assert peak_618 > 1.5 * may


def test_orders_are_sparse(small_company):
    sales = small_company["sales"]
    month = sales["date"].dt.to_period("M")
    order_days = sales.groupby(["customer_id", month])["date"].nunique()
    rows = sales.groupby(["customer_id", month]).size()
    assert 2 <= order_days.median() <= 10  # a few orders a month
    assert rows.median() <= 25
    days = len(pd.date_range(SMALL_COMPANY["start"], SMALL_COMPANY["end"]))
    assert len(sales) < 0.1 * SMALL_COMPANY["n_customers"] * days * 9


def test_new_churned_and_declining_customers(small_company):
    sales, c = small_company["sales"], small_company["customers"]
    start = pd.Timestamp(SMALL_COMPANY["start"])
    first = sales.groupby("customer_id")["date"].min()
    last = sales.groupby("customer_id")["date"].max()
    new = c[c["first_order_date"] >= start].set_index("customer_id")
    assert 0.1 < len(new) / len(c) < 0.4
    assert (first[new.index] == new["first_order_date"]).all()
    churned = c[c["churn_date"].notna()].set_index("customer_id")
    assert 0.05 < len(churned) / len(c) < 0.3
    assert (last.reindex(churned.index) < churned["churn_date"]).all()
    assert (churned["churn_date"] > churned["first_order_date"]).all()
    # Some active long-standing customers buy clearly less in the last year than in the first.
    year = sales.assign(y=sales["date"].dt.year).pivot_table(
        index="customer_id", columns="y", values="amount", aggfunc="sum"
    )
    steady = c[(c["first_order_date"] < start) & c["churn_date"].isna()]["customer_id"]
    change = (
        year.loc[year.index.isin(steady), 2025] / year.loc[year.index.isin(steady), 2023]
    ).dropna()
    assert (change < 0.7).sum() >= 3 and (change > 1.0).sum() > len(change) / 3


def test_tiers_follow_last_twelve_months_sales(small_company):
    sales, c = small_company["sales"], small_company["customers"]
    cutoff = pd.Timestamp(SMALL_COMPANY["end"]) - pd.Timedelta(days=364)
    value = (
        sales[sales["date"] >= cutoff]
        .groupby("customer_id")["amount"]
        .sum()
        .reindex(c["customer_id"])
        .fillna(0)
    )
    value.index = c.index
    order = ["VIP", "first", "second", "other"]
    for upper, lower in itertools.pairwise(order):
        assert value[c["tier"] == upper].min() >= value[c["tier"] == lower].max()
    assert (c["tier"] == "VIP").sum() == round(0.05 * len(c))


def test_growth_differs_by_region_and_customers_sit_near_cities():
    company = make_company(
        seed=3, n_customers=1500, n_reps=40, start="2023-01-01", end="2025-12-31"
    )
    sales = _sales_with(company, "province_id")
    sales["region"] = sales["province_id"].map(
        company["provinces"].set_index("province_id")["region_id"]
    )
    year = sales.pivot_table(
        index="region", columns=sales["date"].dt.year, values="amount", aggfunc="sum"
    )
    growth = year[2025] / year[2023]
    assert growth["C"] > growth["NE"] + 0.1
    c = company["customers"]
    cities = reference_tables()["cities"].set_index(["province_id", "city_zh"])
    home = cities.loc[list(zip(c["province_id"], c["city_zh"]))]
    assert (np.abs(home["lat"].to_numpy() - c["lat"].to_numpy()) < 0.7).all()
    # Reps go where the market is: Guangdong has the most, every province at least one.
    reps = company["reps"]["province_id"].value_counts()
    assert reps.idxmax() in {"GD", "JS"} and len(reps) == 31


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(n_reps=st.integers(5, 45), extra=st.integers(0, 120), seed=st.integers(0, 10_000))
def test_any_small_company_is_consistent(n_reps, extra, seed):
    company = make_company(
        seed=seed, n_customers=n_reps + extra, n_reps=n_reps, start="2025-07-01", end="2025-12-31"
    )
    c, r = company["customers"], company["reps"]
    assert len(c) == n_reps + extra and len(r) == n_reps
    assert c["rep_id"].isin(r.loc[r["leave_date"].isna(), "rep_id"]).all()
    assert (c["rep_id"].map(r.set_index("rep_id")["province_id"]) == c["province_id"]).all()
    assert company["sales"]["customer_id"].isin(c["customer_id"]).all()
    assert set(r["region_id"]) == set(REGION_OF)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"n_reps": 3}, "The 'n_reps' parameter of make_company must be an int in [5, 20000]"),
        (
            {"n_reps": 20, "n_customers": 10},
            "The 'n_customers' parameter of make_company must be an int in [n_reps",
        ),
        ({"seed": -1}, "The 'seed' parameter"),
        ({"start": "someday"}, "The 'start' parameter of make_company must be a date"),
        (
            {"start": "2025-01-01", "end": "2025-02-01"},
            "The 'end' parameter of make_company must be at least 90 days",
        ),
    ],
)
def test_bad_arguments_raise_one_clear_message(kwargs, fragment):
    with pytest.raises(ParamsError) as err:
        make_company(**kwargs)
    assert fragment in str(err.value) and "Got" in str(err.value)


# --- writing ------------------------------------------------------------------


def test_write_company_round_trip(small_company, small_company_dir):
    files = sorted(p.name for p in small_company_dir.iterdir())
    assert files == sorted(FILE_NAMES.values())
    sales = pd.read_parquet(small_company_dir / "sales.parquet")
    pd.testing.assert_frame_equal(sales, small_company["sales"], check_exact=True)
    dates = {"customers": ["first_order_date", "churn_date"], "reps": ["hire_date", "leave_date"]}
    for key in ("customers", "reps", "org", "provinces", "adjacency"):
        back = pd.read_csv(
            small_company_dir / FILE_NAMES[key], encoding="utf-8", parse_dates=dates.get(key, False)
        )
        pd.testing.assert_frame_equal(back, small_company[key], check_dtype=False)
    text = (small_company_dir / "customers.csv").read_text(encoding="utf-8")
    assert "\ufeff" not in text and small_company["customers"]["customer_name"].iloc[0] in text


def test_write_company_paths_and_io_accepts_them(small_company_dir):
    from salesmodel import io
    from salesmodel.schema.params import DataParams

    tables = io.read_inputs(DataParams(dir=small_company_dir))
    assert set(tables) == set(CONTRACT)
    assert len(tables["provinces"]) == 31


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken(self, path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"PAR1 half")
        raise OSError("disk full")

    import pyarrow.parquet as pq

    def broken_stream(self, table, *args, **kwargs):  # the sales are streamed through a ParquetWriter
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    monkeypatch.setattr(pq.ParquetWriter, "write_table", broken_stream)
    with pytest.raises(OSError, match="disk full"):
        write_company(
            tmp_path / "out", seed=1, n_customers=60, n_reps=6, start="2025-01-01", end="2025-06-30"
        )
    assert list((tmp_path / "out").iterdir()) == []


def test_write_company_replaces_older_files(tmp_path):
    kwargs = {"n_customers": 60, "n_reps": 6, "start": "2025-01-01", "end": "2025-06-30"}
    write_company(tmp_path, seed=1, **kwargs)
    paths = write_company(tmp_path, seed=2, **kwargs)
    assert set(paths) == set(CONTRACT) and all(p.parent == tmp_path for p in paths.values())
    again = make_company(seed=2, **kwargs)["sales"]
    pd.testing.assert_frame_equal(pd.read_parquet(paths["sales"]), again)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILE_NAMES.values())
