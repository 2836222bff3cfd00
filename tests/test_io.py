"""Reading and validating inputs; writing tables deterministically."""
from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmodel import io
from salesmodel.errors import InputError, ParamsError
from salesmodel.io.orderlines import plain_text
from salesmodel.schema.params import DataParams

REGIONS = {
    "NE": ["LN", "JL", "HL"],
    "N": ["BJ", "TJ", "HE", "SX", "NM", "SN", "GS", "QH", "NX", "XJ"],
    "E": ["SH", "JS", "ZJ", "AH", "FJ", "JX", "SD"],
    "S": ["GD", "GX", "HI", "YN", "GZ"],
    "C": ["HA", "HB", "HN", "CQ", "SC", "XZ"],
}


def tiny_company() -> dict[str, pd.DataFrame]:
    """A valid company following the data contract, small enough to read by eye."""
    org = [("CO", None, "company", "Company", "公司")]
    provinces = []
    for region, provs in REGIONS.items():
        org.append((region, "CO", "region", f"Region {region}", f"大区{region}"))
        for i, p in enumerate(provs):
            org.append((p, region, "province", p.title(), p))
            provinces.append((p, p, p.title(), region, p, p.title(), 30.0 + i, 110.0 + i, 1_000_000 * (i + 1)))
    org = pd.DataFrame(org, columns=["unit_id", "parent_id", "level", "name_en", "name_zh"])
    provinces = pd.DataFrame(provinces, columns=["province_id", "name_zh", "name_en", "region_id",
                                                 "capital_zh", "capital_en", "lat", "lon", "population"])
    adjacency = pd.DataFrame({"province_a": ["BJ", "HE", "JS", "GD"], "province_b": ["TJ", "TJ", "SH", "GX"]})
    reps = pd.DataFrame({
        "rep_id": ["R01", "R02", "R03"],
        "rep_name": ["王伟", "李娜", "Zhang Min"],
        "province_id": ["BJ", "SH", "GD"],
        "region_id": ["N", "E", "S"],
        "role": ["account_manager"] * 3,
        "hire_date": pd.to_datetime(["2019-03-01", "2020-07-15", "2022-01-10"]),
        "leave_date": pd.to_datetime([None, None, "2025-06-30"]),
    })
    customers = pd.DataFrame({
        "customer_id": ["0001", "0002", "0003", "0004", "0005"],
        "customer_name": ["北京商贸", "上海超市", "广州网店", "天津批发", "<script>alert(1)</script>"],
        "rep_id": ["R01", "R02", "R03", "R01", "R02"],
        "province_id": ["BJ", "SH", "GD", "TJ", "JS"],
        "city_zh": ["北京", "上海", "广州", "天津", "南京"],
        "city_en": ["Beijing", "Shanghai", "Guangzhou", "Tianjin", "Nanjing"],
        "lat": [39.9, 31.2, 23.1, 39.1, 32.1],
        "lon": [116.4, 121.5, 113.3, 117.2, 118.8],
        "tier": ["VIP", "first", "second", "other", "first"],
        "customer_type": ["wholesaler", "supermarket", "online_store", "wholesaler", "retailer"],
        "potential": [1.2e6, 8.0e5, 3.0e5, 2.5e5, 1.0e5],
        "first_order_date": pd.to_datetime(["2023-01-03"] * 4 + ["2024-02-01"]),
        "churn_date": pd.to_datetime([None, None, None, "2025-12-31", None]),
    })
    days = pd.date_range("2023-01-02", periods=40, freq="9D")
    rng = np.random.default_rng(3)
    sales = pd.DataFrame({
        "date": np.repeat(days, 3),
        "customer_id": np.tile(["0001", "0002", "0003"], len(days)),
        "product": np.resize(["A", "B", "C", "A"], 3 * len(days)),
        "channel": np.resize(["online", "offline", "partner"], 3 * len(days)),
        "amount": np.round(rng.uniform(100, 5000, 3 * len(days)), 2),
        "units": rng.integers(1, 50, 3 * len(days)),
    })
    return {"sales": sales, "customers": customers, "reps": reps, "org": org,
            "provinces": provinces, "adjacency": adjacency}


def write_company(folder: Path, tables: dict[str, pd.DataFrame]) -> DataParams:
    """Write tables as the contract's files: sales Parquet, the rest CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {"sales": "sales.parquet", "customers": "customers.csv", "reps": "reps.csv",
             "org": "org.csv", "provinces": "provinces.csv", "adjacency": "province_adjacency.csv"}
    for kind, df in tables.items():
        path = folder / names[kind]
        if path.suffix == ".parquet":
            df.to_parquet(path, index=False)
        else:
            df.to_csv(path, index=False, date_format="%Y-%m-%d")
    return DataParams(dir=folder, **names)


def csv_of(tmp_path: Path, df: pd.DataFrame, name: str) -> Path:
    path = tmp_path / name
    df.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


def error_of(fn, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        fn(*args, **kwargs)
    return info.value


# --- valid input --------------------------------------------------------------------------------


def test_valid_company_reads_with_contract_dtypes(tmp_path):
    data = write_company(tmp_path, tiny_company())
    tables = io.read_inputs(data)
    assert sorted(tables) == sorted(io.KINDS)
    sales, customers = tables["sales"], tables["customers"]
    assert str(sales["date"].dtype) == "datetime64[ns]"
    assert sales["amount"].dtype == np.float64 and sales["units"].dtype == np.int64
    # ids stay text with their leading zeros even though they look numeric
    assert customers["customer_id"].tolist()[:2] == ["0001", "0002"]
    assert customers["churn_date"].isna().sum() == 4
    assert tables["org"]["parent_id"].isna().sum() == 1
    assert len(tables["provinces"]) == 31


def test_extra_columns_are_kept_after_declared_ones(tmp_path):
    reps = tiny_company()["reps"].assign(team="alpha")
    reps = reps[["team"] + [c for c in reps.columns if c != "team"]]
    out = io.read_table(csv_of(tmp_path, reps, "reps.csv"), "reps")
    assert list(out.columns) == [c.name for c in io.SCHEMAS["reps"].columns] + ["team"]
    assert out["team"].eq("alpha").all()


def test_optional_column_absent_is_added_empty(tmp_path):
    reps = tiny_company()["reps"].drop(columns="leave_date")
    out = io.read_table(csv_of(tmp_path, reps, "reps.csv"), "reps")
    assert out["leave_date"].isna().all() and str(out["leave_date"].dtype) == "datetime64[ns]"


def test_ids_from_parquet_integers_become_text(tmp_path):
    adj = pd.DataFrame({"province_a": ["BJ"], "province_b": ["TJ"]})
    overrides = pd.DataFrame({"date": ["2027-02-08"], "kind": ["workday"], "name": [123]})
    adj.to_parquet(tmp_path / "a.parquet")
    overrides.to_parquet(tmp_path / "h.parquet")
    assert io.read_table(tmp_path / "h.parquet", "holiday_overrides")["name"].tolist() == ["123"]


def test_text_cells_are_trimmed_and_empty_means_missing(tmp_path):
    path = tmp_path / "adj.csv"
    path.write_text("province_a,province_b\n BJ ,TJ\n", encoding="utf-8")
    assert io.read_table(path, "adjacency").iloc[0].tolist() == ["BJ", "TJ"]


# --- each kind of bad input, with its message ---------------------------------------------------


def test_misspelt_column_suggests_the_close_name(tmp_path):
    customers = tiny_company()["customers"].rename(columns={"customer_id": "custmer_id"})
    err = error_of(io.read_table, csv_of(tmp_path, customers, "customers.csv"), "customers")
    msg = str(err)
    assert "customers.csv" in msg
    assert "column 'customer_id' not found; the file has 'custmer_id': did you mean 'customer_id'? (expected text)" in msg
    row = err.failures.iloc[0]
    assert (row["column"], row["check"]) == ("customer_id", "missing_column")


def test_missing_column_lists_what_the_file_has(tmp_path):
    reps = tiny_company()["reps"].drop(columns=["role"])
    msg = str(error_of(io.read_table, csv_of(tmp_path, reps, "reps.csv"), "reps"))
    assert "column 'role' not found; expected a column 'role' holding text, found columns 'rep_id'," in msg
    assert "'rep_id'" in msg  # what the file has instead


def test_non_numeric_amount_names_rows_and_values(tmp_path):
    sales = tiny_company()["sales"].astype({"amount": object})
    sales.loc[[2, 6], "amount"] = ["abc", "1,200"]
    err = error_of(io.read_table, csv_of(tmp_path, sales, "sales.csv"), "sales")
    msg = str(err)
    assert "sales.csv" in msg
    assert "column 'amount': 2 values are not numbers at rows 3, 7" in msg
    assert "expected a number between 0 and 1,000,000,000,000" in msg and "found 'abc', '1,200'" in msg
    fail = err.failures.set_index("check").loc["dtype"]
    assert fail["rows"] == [3, 7] and fail["file"].endswith("sales.csv")


def test_fractional_units_are_not_whole_numbers(tmp_path):
    sales = tiny_company()["sales"].astype({"units": float})
    sales.loc[4, "units"] = 2.5
    msg = str(error_of(io.read_table, csv_of(tmp_path, sales, "sales.csv"), "sales"))
    assert "column 'units': 1 value is not a whole number at row 5" in msg and "found '2.5'" in msg


def test_unparseable_dates_name_rows_and_strings(tmp_path):
    sales = tiny_company()["sales"].astype({"date": object})
    sales.loc[0, "date"] = "2024-13-01"
    sales.loc[9, "date"] = "yesterday"
    sales.loc[10, "date"] = "2024-05"  # a month is not a day: never guessed
    msg = str(error_of(io.read_table, csv_of(tmp_path, sales, "sales.csv"), "sales"))
    assert "column 'date': 3 values are not dates at rows 1, 10, 11" in msg
    assert "'2024-13-01', 'yesterday', '2024-05'" in msg
    assert "expected a date like 2024-01-31 (YYYY-MM-DD)" in msg


def test_slash_dates_and_timestamps_are_days(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("date,kind,name\n2027/2/6,workday,调休\n2027-10-08 00:00:00,holiday,\n", encoding="utf-8")
    out = io.read_holiday_overrides(path)
    assert out["date"].tolist() == [pd.Timestamp("2027-02-06"), pd.Timestamp("2027-10-08")]
    assert out["name"].isna().tolist() == [False, True]


def test_empty_required_values(tmp_path):
    customers = tiny_company()["customers"]
    customers.loc[[1, 3], "rep_id"] = None
    msg = str(error_of(io.read_table, csv_of(tmp_path, customers, "customers.csv"), "customers"))
    assert ("column 'rep_id': 2 empty values at rows 2, 4 (customer_id '0002', '0004'); "
            "expected a value in every row") in msg


def test_nan_in_parquet_amount_is_a_missing_value(tmp_path):
    sales = tiny_company()["sales"]
    sales.loc[7, "amount"] = np.nan
    sales.to_parquet(tmp_path / "sales.parquet")
    msg = str(error_of(io.read_table, tmp_path / "sales.parquet", "sales"))
    assert "column 'amount': 1 empty value at row 8" in msg


def test_negative_sales_and_units(tmp_path):
    sales = tiny_company()["sales"]
    sales.loc[5, "amount"] = -120.5
    sales.loc[[1, 2], "units"] = -3
    err = error_of(io.read_table, csv_of(tmp_path, sales, "sales.csv"), "sales")
    msg = str(err)
    assert "column 'amount': 1 value below 0 at row 6; expected a number >= 0 (negative values are not allowed), found -120.5" in msg
    assert "column 'units': 2 values below 0 at rows 2, 3" in msg
    assert "2 problems" in msg  # lazy: both collected in one error


def test_values_outside_the_allowed_set(tmp_path):
    sales = tiny_company()["sales"]
    sales.loc[3, "product"] = "D"
    sales.loc[4, "channel"] = "Online"
    msg = str(error_of(io.read_table, csv_of(tmp_path, sales, "sales.csv"), "sales"))
    assert "column 'product': 1 value not allowed at row 4; expected one of A, B, C, found 'D'" in msg
    assert "column 'channel': 1 value not allowed at row 5; expected one of online, offline, partner, found 'Online'" in msg


def test_duplicate_keys_name_the_key_and_rows(tmp_path):
    customers = tiny_company()["customers"]
    customers.loc[4, "customer_id"] = "0002"
    err = error_of(io.read_table, csv_of(tmp_path, customers, "customers.csv"), "customers")
    assert "column 'customer_id': 1 duplicate key in 2 rows: '0002' at rows 2, 5; expected each customer_id once" in str(err)
    assert err.failures.iloc[0]["rows"] == [2, 5]


def test_duplicate_pairs_and_unordered_adjacency(tmp_path):
    adj = pd.DataFrame({"province_a": ["BJ", "BJ", "TJ"], "province_b": ["TJ", "TJ", "HE"]})
    msg = str(error_of(io.read_table, csv_of(tmp_path, adj, "province_adjacency.csv"), "adjacency"))
    assert "province_adjacency.csv" in msg
    assert "'BJ/TJ' at rows 1, 2" in msg
    assert "column 'province_b': 1 row with province_a not before province_b at row 3" in msg
    assert "expected province_a < province_b, found 'TJ vs HE'" in msg


def test_dates_outside_the_declared_history_range(tmp_path):
    sales = tiny_company()["sales"]
    path = csv_of(tmp_path, sales, "sales.csv")
    msg = str(error_of(io.read_table, path, "sales", date_range=("2023-01-10", None)))
    assert "column 'date': 3 dates outside the declared range at rows 1, 2, 3" in msg
    assert "dates within the declared history range 2023-01-10 to ... (data.history_start, data.history_end)" in msg
    assert "found dates from 2023-01-02 to 2023-01-02" in msg
    assert len(io.read_table(path, "sales", date_range=(date(2023, 1, 1), date(2023, 12, 31)))) == len(sales)


def test_churn_before_first_order(tmp_path):
    customers = tiny_company()["customers"]
    customers.loc[2, "churn_date"] = pd.Timestamp("2022-05-01")
    msg = str(error_of(io.read_table, csv_of(tmp_path, customers, "customers.csv"), "customers"))
    assert "column 'churn_date': 1 row with first_order_date after churn_date at row 3 (customer_id '0003')" in msg


def test_empty_table(tmp_path):
    path = tmp_path / "reps.csv"
    path.write_text(",".join(io.SCHEMAS["reps"].names) + "\n", encoding="utf-8")
    msg = str(error_of(io.read_table, path, "reps"))
    assert msg.startswith(f"{path}: 1 problem")
    assert "the table is empty; expected at least one data row (the sales reps)" in msg
    path.write_text("", encoding="utf-8")
    assert "the table is empty" in str(error_of(io.read_table, path, "reps"))


def test_org_tree_shape(tmp_path):
    org = tiny_company()["org"]
    org.loc[len(org)] = ["CO2", None, "company", "Second", "第二"]
    org.loc[org.unit_id == "BJ", "parent_id"] = "CO"  # a province straight under the company
    org.loc[org.unit_id == "TJ", "parent_id"] = "XX"
    msg = str(error_of(io.read_table, csv_of(tmp_path, org, "org.csv"), "org"))
    assert "column 'level': 2 rows have level 'company' at rows 1, 38 (unit_id 'CO', 'CO2')" in msg
    assert "1 unit hangs under the wrong level at row 7 (unit_id 'BJ')" in msg and "'province under company'" in msg
    assert "column 'parent_id': 1 unknown value in 1 row at row" in msg and "(unit_id 'TJ')" in msg
    assert "expected a unit_id listed in this table, found 'XX'" in msg


def test_every_failure_of_a_table_in_one_error(tmp_path):
    customers = tiny_company()["customers"].drop(columns="city_en").astype(object)
    customers.loc[0, "tier"] = "gold"
    customers.loc[1, "lat"] = "north"
    customers.loc[2, "potential"] = -1
    customers.loc[3, "first_order_date"] = "31/12/2023"
    err = error_of(io.read_table, csv_of(tmp_path, customers, "customers.csv"), "customers")
    assert str(err).startswith(f"{tmp_path / 'customers.csv'}: 5 problems")
    assert set(err.failures["check"]) == {"missing_column", "allowed", "dtype", "min", "date"}
    assert list(err.failures.columns) == ["file", "column", "check", "rows", "count", "expected", "found"]


# --- references between tables -----------------------------------------------------------------


def test_unknown_references_across_tables(tmp_path):
    t = tiny_company()
    t["customers"].loc[3, "rep_id"] = "R99"
    t["sales"].loc[[0, 5], "customer_id"] = "9999"
    t["reps"].loc[1, "province_id"] = "TW"
    t["adjacency"].loc[0, "province_b"] = "ZZ"
    t["provinces"].loc[0, "region_id"] = "BJ"  # a province, not a region
    err = error_of(io.read_inputs, write_company(tmp_path, t))
    msg = str(err)
    assert msg.startswith("5 problems in 5 input tables:")
    assert ("customers.csv: 1 problem (rows are data rows counted from 1, the header not counted):\n"
            "  - column 'rep_id': 1 unknown value in 1 row at row 4 (customer_id '0004'); "
            f"expected a rep_id listed in {tmp_path / 'reps.csv'}, found 'R99'") in msg
    assert "column 'customer_id': 1 unknown value in 2 rows at rows 1, 6" in msg
    assert f"expected a customer_id listed in {tmp_path / 'customers.csv'}, found '9999'" in msg
    assert "column 'province_id': 1 unknown value in 1 row at row 2 (rep_id 'R02')" in msg
    assert "province_adjacency.csv" in msg and "found 'ZZ'" in msg
    assert "expected a unit_id listed in" in msg and "(rows with level 'region'), found 'BJ'" in msg
    assert set(err.failures["check"]) == {"reference"}


def test_table_errors_and_reference_errors_together(tmp_path):
    t = tiny_company()
    t["reps"] = t["reps"].astype(object)
    t["reps"].loc[0, "hire_date"] = "soon"
    t["customers"].loc[0, "rep_id"] = "R77"
    msg = str(error_of(io.read_inputs, write_company(tmp_path, t)))
    assert "reps.csv" in msg and "1 value is not a date at row 1 (rep_id 'R01')" in msg and "'soon'" in msg
    assert "found 'R77'" in msg


def test_missing_file_is_named(tmp_path):
    data = write_company(tmp_path, tiny_company())
    (tmp_path / "reps.csv").unlink()
    msg = str(error_of(io.read_inputs, data))
    assert f"{tmp_path / 'reps.csv'}: file not found (expected the sales reps)" in msg


def test_unknown_suffix_and_unreadable_files(tmp_path):
    (tmp_path / "x.txt").write_text("a", encoding="utf-8")
    assert "cannot read '.txt' files" in str(error_of(io.read_table, tmp_path / "x.txt", "reps"))
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    msg = str(error_of(io.read_table, tmp_path / "bad.parquet", "sales"))
    assert msg.startswith(f"{tmp_path / 'bad.parquet'}: cannot read the file as .parquet")
    (tmp_path / "gbk.csv").write_bytes("province_a,province_b\n北京,TJ\n".encode("gbk"))
    assert "not UTF-8 text" in str(error_of(io.read_table, tmp_path / "gbk.csv", "adjacency"))


def test_unknown_kind_is_a_params_error():
    with pytest.raises(ParamsError, match="Did you mean 'customers'"):
        io.read_table("x.csv", "customer")


# --- Excel, Parquet, CSV round trips ------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_round_trip_by_suffix(tmp_path, suffix):
    customers = io.validate_table(tiny_company()["customers"], "customers")
    path = tmp_path / f"customers{suffix}"
    if suffix == ".csv":
        customers.to_csv(path, index=False)
    elif suffix == ".parquet":
        customers.to_parquet(path, index=False)
    else:
        customers.to_excel(path, index=False, sheet_name="customers")
    back = io.read_table(path, "customers")
    pd.testing.assert_frame_equal(back, customers)


def test_excel_sheet_choice_and_numeric_ids(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as xl:
        pd.DataFrame({"note": ["cover"]}).to_excel(xl, sheet_name="readme", index=False)
        pd.DataFrame({"date": [pd.Timestamp("2027-01-01")], "kind": ["holiday"], "name": [2027]}).to_excel(
            xl, sheet_name="overrides", index=False)
    out = io.read_table(path, "holiday_overrides", table="overrides")
    assert out["name"].tolist() == ["2027"]
    msg = str(error_of(io.read_table, path, "holiday_overrides", table="nope"))
    assert "sheet 'nope' not found" in msg and "'readme', 'overrides'" in msg
    # default: the first sheet, named in the message
    assert "book.xlsx sheet 'readme'" in str(error_of(io.read_table, path, "holiday_overrides"))


# --- SQL -----------------------------------------------------------------------------------------


def write_sql(url: str, tables: dict[str, pd.DataFrame]) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        for kind, df in tables.items():
            df.to_sql(kind, engine, index=False, if_exists="replace")
    finally:
        engine.dispose()


def test_sqlite_through_sqlalchemy(tmp_path):
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    company = tiny_company()
    write_sql(url, company)
    tables = io.read_inputs(DataParams(sql_url=url))
    expected = io.validate_table(company["sales"], "sales")
    assert isinstance(tables["sales"]["customer_id"].dtype, pd.CategoricalDtype)  # the history's text held compact
    pd.testing.assert_frame_equal(plain_text(tables["sales"].copy()), expected)
    assert tables["customers"]["customer_id"].tolist()[0] == "0001"
    bad = company["reps"].assign(rep_id=["R01", "R01", "R03"])
    write_sql(url, {"reps_2027": bad})
    msg = str(error_of(io.read_table, url, "reps", table="reps_2027"))
    assert msg.startswith(f"{url} table 'reps_2027': 1 problem")
    assert "'R01' at rows 1, 2" in msg
    assert "did you mean 'reps_2027'" in str(error_of(io.read_table, url, "reps", table="reps_2072"))


def test_sqlite_missing_database_is_not_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'nope.db'}"
    assert "database file" in str(error_of(io.read_table, url, "reps"))
    assert not (tmp_path / "nope.db").exists()


def test_bad_database_urls_and_hidden_passwords():
    msg = str(error_of(io.read_table, "oracle9://u@h/db", "reps"))
    assert "unknown database type 'oracle9'" in msg
    msg = str(error_of(io.read_table, "postgresql://planner:s3cret@127.0.0.1:1/db", "reps"))
    assert "s3cret" not in msg and "postgresql+psycopg://planner:***@127.0.0.1:1/db" in msg
    assert "cannot read the database" in msg


@pytest.fixture(scope="session")
def postgres_url():
    """A private PostgreSQL server for this test session (skipped only without binaries)."""
    import pg_server

    if pg_server.find_pg_bin() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl): install Debian's 'postgresql' package")
    server = pg_server.PostgresServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.mark.postgres
def test_postgresql_server_round_trip(postgres_url):
    company = tiny_company()
    write_sql(postgres_url, company)
    customers = io.read_table(postgres_url, "customers")
    pd.testing.assert_frame_equal(customers, io.validate_table(company["customers"], "customers"))
    tables = io.read_inputs(DataParams(sql_url=postgres_url))
    pd.testing.assert_frame_equal(plain_text(tables["sales"].copy()), io.validate_table(company["sales"], "sales"))
    assert tables["org"]["parent_id"].isna().sum() == 1


def _copy_rows(table, conn, keys, data_iter):
    """pandas.to_sql insertion method using PostgreSQL's COPY (fast for 100k+ rows)."""
    cols = ", ".join(f'"{k}"' for k in keys)
    name = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
    with conn.connection.cursor() as cur, cur.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
        for row in data_iter:
            copy.write_row(row)


@pytest.mark.postgres
def test_small_company_through_postgresql(postgres_url, small_company):
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS plan2027")
        for kind, df in small_company.items():
            df.to_sql(kind, engine, schema="plan2027", index=False, if_exists="replace",
                      method=_copy_rows, chunksize=50_000)
    finally:
        engine.dispose()
    sales = io.read_table(postgres_url, "sales", table="plan2027.sales",
                          date_range=("2023-01-01", "2026-10-31"))
    assert len(sales) == len(small_company["sales"]) > 100_000
    pd.testing.assert_frame_equal(plain_text(sales), io.validate_table(small_company["sales"], "sales"))
    # the whole company, including the references between tables
    write_sql(postgres_url, {k: v for k, v in small_company.items() if k != "sales"})
    with sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://")).begin() as conn:
        conn.exec_driver_sql('DROP TABLE IF EXISTS sales; CREATE TABLE sales AS SELECT * FROM plan2027.sales')
    tables = io.read_inputs(DataParams(sql_url=postgres_url))
    for kind, df in small_company.items():
        pd.testing.assert_frame_equal(plain_text(tables[kind].copy()), io.validate_table(df, kind), obj=kind)


@pytest.mark.postgres
def test_postgresql_bad_table_message(postgres_url):
    sales = tiny_company()["sales"]
    sales.loc[2, "amount"] = -5.0
    write_sql(postgres_url, {"sales_bad": sales})
    err = error_of(io.read_table, postgres_url, "sales", table="sales_bad")
    assert str(err).startswith(f"{postgres_url.replace('postgresql://', 'postgresql+psycopg://')} table 'sales_bad'")
    assert "column 'amount': 1 value below 0 at row 3" in str(err)
    msg = str(error_of(io.read_table, postgres_url.rsplit("/", 1)[0] + "/no_such_db", "sales"))
    assert "cannot read the database" in msg and "no_such_db" in msg


# --- writing -----------------------------------------------------------------------------------


def test_write_table_is_byte_identical_and_round_trips(tmp_path):
    df = pd.DataFrame({
        "region": ["华东", "North", None],
        "value": [0.1 + 0.2, 1e-7, np.nan],
        "units": np.array([1, 2, 3], dtype="int64"),
        "day": pd.to_datetime(["2027-01-01", "2027-01-11", "2027-01-21"]),
    })
    a = io.write_table(df, tmp_path / "a", "t")
    b = io.write_table(df.copy(), tmp_path / "b", "t")
    assert [p.name for p in a] == ["t.parquet", "t.csv"]
    for pa_, pb in zip(a, b):
        assert pa_.read_bytes() == pb.read_bytes()
        assert io.file_sha256(pa_) == hashlib.sha256(pa_.read_bytes()).hexdigest()
    pd.testing.assert_frame_equal(pd.read_parquet(a[0]), df)
    text = a[1].read_text(encoding="utf-8")
    assert text.splitlines()[:2] == ["region,value,units,day", "华东,0.30000000000000004,1,2027-01-01"]
    assert "\r" not in text
    assert io.table_rows(a[0]) == 3 and io.table_rows(a[1]) == 3
    assert not list((tmp_path / "a").glob(".*tmp"))  # no temp files left


def test_write_table_keeps_named_index_and_drops_unnamed(tmp_path):
    df = pd.DataFrame({"region": ["E", "N", "E"], "x": [1.0, 2.0, 3.0]})
    grouped = df.groupby("region").sum()
    out = pd.read_parquet(io.write_table(grouped, tmp_path, "g")[0])
    assert out.to_dict("list") == {"region": ["E", "N"], "x": [4.0, 2.0]}
    filtered = df[df.region == "E"]
    out = pd.read_parquet(io.write_table(filtered, tmp_path, "f")[0])
    assert list(out.columns) == ["region", "x"] and len(out) == 2


def test_write_table_name_stays_inside_out_dir(tmp_path):
    out_dir = tmp_path / "tables"
    with pytest.warns(UserWarning, match="written as"):
        paths = io.write_table(pd.DataFrame({"x": [1]}), out_dir, "../../etc/passwd")
    assert all(p.parent == out_dir for p in paths)
    assert paths[0].name == "etc_passwd.parquet"
    with pytest.raises(ParamsError):
        io.write_table(pd.DataFrame({"x": [1]}), out_dir, "../..")
    with pytest.raises(ParamsError, match="text column names"):
        io.write_table(pd.DataFrame({0: [1]}), out_dir, "n")


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_safe_name_never_leaves_the_folder(name):
    try:
        stem = io.safe_name(name)
    except ParamsError:
        return
    assert "/" not in stem and "\\" not in stem and ".." not in stem and not stem.startswith(".")


def test_table_rows_counts_quoted_line_breaks(tmp_path):
    path = tmp_path / "c.csv"
    pd.DataFrame({"a": ["one\ntwo", "three"]}).to_csv(path, index=False)
    assert io.table_rows(path) == 2
    assert io.table_rows(tmp_path / "params.yaml") is None


def test_holiday_overrides_checks(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("date,kind,name\n2027-02-06,workday,调休\n2027-02-06,holiday,x\n2027-03-01,day off,\n",
                    encoding="utf-8")
    msg = str(error_of(io.read_holiday_overrides, path))
    assert "column 'kind': 1 value not allowed at row 3 (date" not in msg  # dates are not text keys
    assert "column 'kind': 1 value not allowed at row 3; expected one of holiday, workday, found 'day off'" in msg
    assert "'2027-02-06' at rows 1, 2" in msg


def test_many_failures_show_a_few_examples_and_the_count(tmp_path):
    sales = tiny_company()["sales"]
    sales["amount"] = -sales["amount"]  # every row negative
    err = error_of(io.read_table, csv_of(tmp_path, sales, "sales.csv"), "sales")
    n = len(sales)
    assert f"column 'amount': {n} values below 0 at rows 1, 2, 3, 4, 5 (and {n - 5} more)" in str(err)
    assert err.failures.iloc[0]["count"] == n and err.failures.iloc[0]["rows"][:3] == [1, 2, 3]


CORRUPTIONS = {
    "amount": ("not a number", "dtype"),
    "units": (-1, "min"),
    "channel": ("fax", "allowed"),
    "date": ("2024-02-30", "date"),
    "customer_id": ("", "required"),
}


@settings(max_examples=20, deadline=None)
@given(row=st.integers(0, 119), column=st.sampled_from(sorted(CORRUPTIONS)))
def test_any_single_bad_cell_is_reported_at_its_row(tmp_path_factory, row, column):
    sales = tiny_company()["sales"].astype(object)
    value, check = CORRUPTIONS[column]
    sales.loc[row, column] = value
    path = csv_of(tmp_path_factory.mktemp("prop"), sales, "sales.csv")
    err = error_of(io.read_table, path, "sales")
    assert err.failures[["column", "check"]].values.tolist() == [[column, check]]
    assert err.failures.iloc[0]["rows"] == [row + 1]
    assert f"at row {row + 1}" in str(err)


def test_a_date_column_of_empty_cells_only_reads_as_no_dates(tmp_path, small_company_dir):
    """A team with no leavers: every leave_date empty is read as no date (it once raised IndexError)."""
    reps = pd.read_csv(small_company_dir / "reps.csv", dtype=str, keep_default_na=False)
    reps["leave_date"] = ""
    reps.to_csv(tmp_path / "reps.csv", index=False)
    read = io.read_table(tmp_path / "reps.csv", "reps")
    assert len(read) == len(reps) and read["leave_date"].isna().all()
    assert str(read["leave_date"].dtype) == "datetime64[ns]"
