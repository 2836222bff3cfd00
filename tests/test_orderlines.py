"""Order lines out of core (io/orderlines.py): the DuckDB read gives the pandas read's frame and
messages; the history summed by month and by day out of core equals the lines summed in memory; the streamed sample equals the in-memory one."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from salesmodel.errors import InputError
from salesmodel.io import orderlines
from salesmodel.io.readers import read_table
from salesmodel.io.schemas import SCHEMAS
from salesmodel.io.validation import _check_table
from salesmodel.sample import make_company, write_company

SMALL = {"seed": 5, "n_customers": 120, "n_reps": 6, "start": "2025-01-01", "end": "2025-12-31"}


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    out = tmp_path_factory.mktemp("company")
    paths = write_company(out, **SMALL, actuals_to="2026-02-28")
    return out, paths


def _pandas_read(path, kind):
    raw = pd.read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(
        path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    frame, failures, _ = _check_table(raw, SCHEMAS[kind], str(path), None)
    return frame, failures


@pytest.mark.parametrize("kind", ["sales", "actuals"])
def test_duckdb_read_equals_pandas_read(company, tmp_path, kind):
    out, paths = company
    expected, _ = _pandas_read(paths[kind], kind)
    csv = tmp_path / f"{kind}.csv"
    expected.to_csv(csv, index=False)
    for got, want in ((read_table(paths[kind], kind), expected), (read_table(csv, kind), _pandas_read(csv, kind)[0])):
        if kind == "sales":  # the history's text is held as sorted categories: the same values
            for name in ("customer_id", "product", "channel"):
                assert isinstance(got[name].dtype, pd.CategoricalDtype)
                assert got[name].cat.categories.is_monotonic_increasing
            got = orderlines.plain_text(got)
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_folder_of_parts_reads_as_one_file(company, tmp_path):
    _, paths = company
    whole = read_table(paths["sales"], "sales")
    folder = tmp_path / "sales"
    folder.mkdir()
    table = pq.read_table(paths["sales"])
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), folder / "part-000.parquet")
    pq.write_table(table.slice(half), folder / "part-001.parquet")
    pd.testing.assert_frame_equal(read_table(folder, "sales"), whole, check_exact=True)


def test_compact_frame_is_dictionary_encoded(company):
    _, paths = company
    raw = orderlines.read_compact(paths["sales"])
    assert isinstance(raw["customer_id"].dtype, pd.CategoricalDtype)
    assert raw["customer_id"].cat.categories.size <= SMALL["n_customers"]


def test_bad_order_lines_get_the_pandas_message(company, tmp_path):
    _, paths = company
    frame = pd.read_parquet(paths["sales"])
    frame.loc[[3, 7], "units"] = -1
    frame.loc[5, "product"] = "Z"
    frame.loc[9, "date"] = pd.NaT
    bad = tmp_path / "sales.parquet"
    frame.to_parquet(bad, index=False)
    _, failures = _pandas_read(bad, "sales")
    with pytest.raises(InputError) as caught:
        read_table(bad, "sales")
    assert [f.text for f in failures] and all(f.text in str(caught.value) for f in failures)
    assert "units" in str(caught.value) and "rows 4, 8" in str(caught.value)


def test_unreadable_csv_falls_back_to_the_pandas_message(tmp_path):
    bad = tmp_path / "sales.csv"
    bad.write_bytes(b"date,customer_id,product,channel,amount,units\n2025-01-01,C1,A,direct,1.5,\xff\n")
    with pytest.raises(InputError, match="not UTF-8"):
        read_table(bad, "sales")


def _buckets(sales: pd.DataFrame) -> pd.Series:
    """The month of each line, and whether it falls after the history's last day of the month."""
    last = sales["date"].max()
    month = sales["date"].dt.to_period("M").dt.start_time
    cut = (sales["date"].dt.day > last.day) & (last != last + pd.offsets.MonthEnd(0))
    return month + pd.to_timedelta(cut.astype(int), unit="D")


@pytest.mark.parametrize("last_day", [None, "2025-10-15", "2025-02-28"])
def test_months_and_days_out_of_core_equal_the_lines_summed_in_memory(company, last_day):
    _, paths = company
    sales = orderlines.plain_text(read_table(paths["sales"], "sales"))
    source = paths["sales"]
    if last_day is not None:  # a history that ends inside a month: that month is cut after its day
        sales = sales[sales["date"] <= last_day].reset_index(drop=True)
        source = sales
    keys = ["customer_id", "product", "channel"]
    expected = (sales.assign(bucket=_buckets(sales)).groupby([*keys, "bucket"], sort=True)
                .agg(date=("date", "max"), amount=("amount", "sum"), units=("units", "sum"), lines=("units", "size"))
                .reset_index().drop(columns="bucket").sort_values(["date", *keys], kind="mergesort").reset_index(drop=True))
    for got in (orderlines.months(source), orderlines.months(sales)):  # over the file, over the frame
        assert got.columns.tolist() == [*keys, "date", "amount", "units", "lines"]
        pd.testing.assert_frame_equal(got.drop(columns="amount"), expected[got.columns.drop("amount")], check_dtype=False)
        np.testing.assert_allclose(got["amount"], expected["amount"], rtol=1e-12)  # exact decimals vs float sums
        assert got["date"].max() == sales["date"].max()  # the last day survives the summing
    days = orderlines.days(source)
    by_day = sales.groupby("date").agg(amount=("amount", "sum"), units=("units", "sum"), lines=("units", "size"))
    pd.testing.assert_frame_equal(days.set_index("date").drop(columns="amount"), by_day.drop(columns="amount"), check_dtype=False)
    np.testing.assert_allclose(days["amount"], by_day["amount"].to_numpy(), rtol=1e-12)


def test_windows_ending_on_the_last_day_sum_whole_months(company):
    """Year to date against the same days last year, on the months, equals it on the lines, also when
    the history ends inside a month (the month a year before is cut after the same day)."""
    from salesmodel.domain import overview

    _, paths = company
    full = orderlines.plain_text(read_table(paths["sales"], "sales"))
    for last_day in ("2025-10-15", "2025-06-30", "2025-12-31"):
        sales = full[full["date"] <= last_day].reset_index(drop=True)
        sales = pd.concat([sales.assign(date=sales["date"] - pd.DateOffset(years=1)), sales], ignore_index=True)
        lines = overview.same_period_last_year(sales, "product")
        summed = overview.same_period_last_year(orderlines.months(sales), "product")
        pd.testing.assert_frame_equal(summed, lines, rtol=1e-12)
        assert (overview.totals_by(orderlines.months(sales), "channel")["orders"].to_numpy()
                == overview.totals_by(sales, "channel")["orders"].to_numpy()).all()


def test_amounts_are_summed_exactly_whatever_the_order(company):
    _, paths = company
    sales = read_table(paths["sales"], "sales")
    shuffled = sales.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(orderlines.months(shuffled), orderlines.months(sales), check_exact=True)
    pd.testing.assert_frame_equal(orderlines.days(shuffled), orderlines.days(sales), check_exact=True)
    # the history held with its text as categories sums, and hashes, as the plain text
    from salesmodel.run.audit import frame_hash

    plain = orderlines.plain_text(sales.copy())
    assert isinstance(sales["customer_id"].dtype, pd.CategoricalDtype) and plain["customer_id"].dtype == object
    pd.testing.assert_frame_equal(orderlines.months(plain), orderlines.months(sales), check_exact=True)
    assert frame_hash(plain) == frame_hash(sales)


def test_streamed_sample_equals_the_in_memory_company(company):
    out, paths = company
    tables = make_company(**SMALL, actuals_to="2026-02-28")
    pd.testing.assert_frame_equal(pd.read_parquet(paths["sales"]), tables["sales"], check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(paths["actuals"]), tables["actuals"], check_exact=True)
    customers = pd.read_csv(paths["customers"], dtype=str, keep_default_na=False)
    expected = tables["customers"].to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n")
    assert paths["customers"].read_text(encoding="utf-8") == expected
    assert len(customers) == SMALL["n_customers"]


def test_large_table_written_by_row_groups_is_the_one_shot_file(company, tmp_path, monkeypatch):
    import pyarrow as pa

    from salesmodel.io import writers

    _, paths = company
    sales = read_table(paths["sales"], "sales")
    writers.write_table(sales, tmp_path / "whole", "sales", with_csv=False)
    monkeypatch.setattr(writers, "ROW_GROUP", 1000)  # many row groups
    writers.write_table(sales, tmp_path / "parts", "sales", with_csv=False)
    parts = pq.ParquetFile(tmp_path / "parts" / "sales.parquet")
    assert parts.metadata.num_row_groups == -(-len(sales) // 1000)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "parts" / "sales.parquet"), sales, check_exact=True)
    one_shot = pa.Table.from_pandas(sales, preserve_index=False)
    pq.write_table(one_shot, tmp_path / "one.parquet", compression="zstd", compression_level=3, use_dictionary=True,
                   write_statistics=True, version="2.6", store_schema=True, row_group_size=1000)
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "parts" / "sales.parquet").read_bytes()


def test_duckdb_spills_to_the_temporary_folder_not_where_the_user_stands(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.chdir(tmp_path)
    con = orderlines.connect()
    try:
        where = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        con.execute("SET memory_limit = '40MB'")  # small enough that grouping millions of keys spills
        con.execute("SELECT count(*) FROM (SELECT x % 3000000 AS g, count(*) FROM range(6000000) t(x) GROUP BY g)").fetchall()
    finally:
        con.close()
    assert where.startswith(tempfile.gettempdir())
    assert not (tmp_path / ".tmp").exists()


def test_lines_taken_from_the_stored_copy_equal_those_taken_from_the_frame(company, tmp_path):
    """A run's steps hold the history's sums and the path of its copy: the windows a step reads line by
    line (days, stores, a channel) are the same rows, in the same order, with the same types."""
    from salesmodel import io

    _, paths = company
    sales = read_table(paths["sales"], "sales")
    io.write_table(sales, tmp_path, "sales", with_csv=False)
    held = orderlines.stored(sales, tmp_path / "sales.parquet")
    assert len(held) == len(sales) and orderlines.history(held) is orderlines.history(sales)
    day = pd.Timestamp
    stores = sorted(set(sales["customer_id"].astype(str)))[::7]
    channel = str(sales["channel"].astype(str).iloc[0])
    asks = [
        {},
        {"periods": [(day("2025-03-01"), day("2025-03-31")), (day("2025-11-20"), day("2025-12-02"))]},
        {"periods": [(day("2025-06-15"), None)], "customers": stores},
        {"periods": [(day("2025-01-01"), day("2025-12-31"))], "channel": channel},
        {"customers": []},
        {"periods": []},
    ]
    for ask in asks:
        for columns in (None, ["date", "customer_id", "amount"]):
            want = orderlines.take(sales, columns, **ask)
            got = orderlines.take(held, columns, **ask)
            pd.testing.assert_frame_equal(got, want, check_exact=True)
            if ask.get("customers") == [] or ask.get("periods") == []:
                assert got.empty
            elif ask:
                assert 0 < len(got) < len(sales)
    assert set(orderlines.take(held, ["customer_id"], customers=stores)["customer_id"]) == set(stores)


@pytest.fixture
def in_parts(monkeypatch):
    """Order lines validated part by part from any size, in parts of two row groups of 500 lines."""
    from salesmodel.io import readers, writers

    monkeypatch.setattr(readers, "STREAM_FROM_LINES", 0)
    monkeypatch.setattr(readers, "STREAM_PART_LINES", 1000)
    monkeypatch.setattr(readers, "ROW_GROUP", 500)
    monkeypatch.setattr(writers, "ROW_GROUP", 500)


def _params_data(folder, **more):
    from salesmodel.schema.params import params_from_dict

    return params_from_dict({"data": {"dir": str(folder), **more}}).data


def test_lines_validated_part_by_part_are_the_lines_validated_whole(company, tmp_path, in_parts):
    """A history too large to hold is validated part by part, written as validated and hashed as it goes:
    the same content hash, the same file as the whole frame written, the same sums."""
    from salesmodel import io
    from salesmodel.run.audit import frame_hash

    out, paths = company
    whole = read_table(paths["sales"], "sales")
    assert len(whole) > 3000  # several parts
    held = io.read_inputs(_params_data(out))["sales"]
    assert isinstance(held, orderlines.StoredLines) and len(held) == len(whole)
    assert held.content_sha256 == frame_hash(whole) == frame_hash(held)
    io.write_table(whole, tmp_path, "sales", with_csv=False)
    assert held.path.read_bytes() == (tmp_path / "sales.parquet").read_bytes()  # the run folder's copy, exactly
    sums, want = orderlines.history(held), orderlines.history(whole)
    for name in ("months", "days", "product_days"):
        pd.testing.assert_frame_equal(getattr(sums, name), getattr(want, name), check_exact=True, obj=name)
    # a replay holds the run folder's copy the same way: read a row group at a time, the same hash and sums
    from salesmodel.pipeline.run_folder import read_run_inputs

    (tmp_path / "inputs").mkdir()
    (tmp_path / "sales.parquet").rename(tmp_path / "inputs" / "sales.parquet")
    again = read_run_inputs(tmp_path)["sales"]
    assert isinstance(again, orderlines.StoredLines) and again.content_sha256 == held.content_sha256
    assert len(again) == len(whole)
    pd.testing.assert_frame_equal(orderlines.history(again).months, want.months, check_exact=True)
    folder = held.path.parent
    del held
    import gc

    gc.collect()
    assert not folder.exists()  # the temporary copy goes with its last handle


def test_a_bad_part_gets_the_message_of_the_whole_file(company, tmp_path, in_parts):
    """A broken line, or an id no customer has, in a history read part by part: the message is the one
    the whole file gets, every row counted in the file."""
    import shutil

    from salesmodel import io
    from salesmodel.io import readers

    out, paths = company
    lines = pd.read_parquet(paths["sales"])
    for name, broken in (("negative", {"amount": -5.0}), ("unknown", {"customer_id": "C-NOBODY"})):
        folder = tmp_path / name
        shutil.copytree(out, folder)
        bad = lines.copy()
        for column, value in broken.items():
            bad.loc[[7, 2500], column] = value
        bad.to_parquet(folder / paths["sales"].name, index=False)
        with pytest.raises(InputError) as streamed:
            io.read_inputs(_params_data(folder))
        readers.STREAM_FROM_LINES = 10 ** 12  # read whole (monkeypatch restores it)
        with pytest.raises(InputError) as whole:
            io.read_inputs(_params_data(folder))
        readers.STREAM_FROM_LINES = 0
        assert str(streamed.value) == str(whole.value)
        assert "8, 2501" in str(streamed.value) or "rows 8 and 2501" in str(streamed.value) or "2501" in str(streamed.value)


def test_a_malformed_csv_read_part_by_part_gets_the_message_of_the_whole_file(company, tmp_path, in_parts):
    import shutil

    from salesmodel import io
    from salesmodel.io import readers

    out, paths = company
    folder = tmp_path / "csv"
    shutil.copytree(out, folder)
    pd.read_parquet(paths["sales"]).to_csv(folder / "sales.csv", index=False)
    with (folder / "sales.csv").open("a", encoding="utf-8") as fh:
        fh.write('2025-12-31,"C00001,A,offline,1.0,1\n')  # a quote never closed, on the last line
    with pytest.raises(InputError) as streamed:
        io.read_inputs(_params_data(folder, sales="sales.csv"))
    readers.STREAM_FROM_LINES = 10 ** 12
    with pytest.raises(InputError) as whole:
        io.read_inputs(_params_data(folder, sales="sales.csv"))
    assert str(streamed.value) == str(whole.value) and "sales.csv" in str(streamed.value)
