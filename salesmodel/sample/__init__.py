"""The demo company: a deterministic distributor in mainland China.

A distributor sells product lines A, B and C through the online, offline and
partner channels. Five regions hold the 31 provinces (real names, capitals,
2020-census populations and land borders, embedded in ``salesmodel/data``);
about 60 reps serve about 3,000 customers placed near real cities. The daily
history has what a planner expects to see: growth that differs by region,
product and channel; monthly seasonality per product; the Spring Festival on
its real lunar dates (stocking up before it, a deep dip during it, a slow
restart after it); a month-end push within each dekad (旬); fewer offline
orders at weekends and on public holidays (make-up working days count as
working days); 618 and Double 11 for online; new, churned and declining
customers; noise. Orders are sparse: a customer orders a few times a month.

Regions (documented choice): NE = Liaoning, Jilin, Heilongjiang;
N = Beijing, Tianjin, Hebei, Shanxi, Inner Mongolia and the north-west
(Shaanxi, Gansu, Qinghai, Ningxia, Xinjiang); E = Shanghai, Jiangsu, Zhejiang,
Anhui, Fujian, Jiangxi, Shandong; S = Guangdong, Guangxi, Hainan;
C = Henan, Hubei, Hunan and the south-west (Chongqing, Sichuan, Guizhou,
Yunnan, Xizang). Every region is one connected block on the border graph.

Adjacency: land borders only, plus one ``sea`` link Guangdong–Hainan (the
Qiongzhou Strait ferry) so that the island province is not cut off; the
``kind`` column says which.

Same seed, same arguments: identical tables.

Examples
--------
>>> from salesmodel.sample import make_company
>>> company = make_company(seed=1, n_customers=200, n_reps=10)
>>> sorted(company)
['adjacency', 'customers', 'org', 'provinces', 'reps', 'sales']
>>> len(company["provinces"])
31
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.sample._people import _build_org, _finish_customers, _make_customers, _make_reps, _sales_summary
from salesmodel.sample._sales import _plan_year_sales, _sales_blocks, _sales_chunks, _stock_snapshot
from salesmodel.sample._world import (
    CHANNELS,
    FILE_NAMES,
    MAX_REPS,
    OPTIONAL_FILE_NAMES,
    PRODUCTS,
    REGIONS,
    estimated_peak_bytes,
    reference_tables,
)

__all__ = [
    "CHANNELS",
    "FILE_NAMES",
    "MAX_REPS",
    "OPTIONAL_FILE_NAMES",
    "PRODUCTS",
    "REGIONS",
    "estimated_peak_bytes",
    "make_company",
    "reference_tables",
    "write_company",
]


def _check_args(
    seed: Any, n_customers: Any, n_reps: Any, start: Any, end: Any
) -> tuple[pd.Timestamp, pd.Timestamp]:
    def is_int(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if not is_int(seed) or seed < 0:
        raise param_error("seed", "make_company", "an int >= 0", seed)
    if not is_int(n_reps) or not 5 <= n_reps <= MAX_REPS:
        raise param_error("n_reps", "make_company", f"an int in [5, {MAX_REPS}] (at least one rep per region)", n_reps)
    if not is_int(n_customers) or not n_reps <= n_customers <= 1_000_000:
        raise param_error("n_customers", "make_company", f"an int in [n_reps, 1000000] = [{n_reps}, 1000000]", n_customers)
    stamps = []
    for name, value in (("start", start), ("end", end)):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise param_error(name, "make_company", "a date such as '2023-01-01'", value) from None
        if stamp is pd.NaT or stamp != stamp.normalize():
            raise param_error(name, "make_company", "a date such as '2023-01-01' (a day, no time)", value)
        stamps.append(stamp)
    start_ts, end_ts = stamps
    if (end_ts - start_ts).days < 90:
        raise param_error("end", "make_company", f"at least 90 days after start ({start_ts.date()})", end)
    return start_ts, end_ts


def make_company(
    *,
    seed: int = 42,
    n_customers: int = 3000,
    n_reps: int = 60,
    start: str | date = "2023-01-01",
    end: str | date = "2026-10-31",
    actuals_to: str | date | None = None,
) -> dict[str, pd.DataFrame]:
    """Generate the demo company's tables, deterministically from ``seed``.

    Parameters
    ----------
    seed : int, default=42
        Seed of the one random generator used.
    n_customers : int, default=3000
        Customers (at least ``n_reps``).
    n_reps : int, default=60
        Sales reps, including a few who left during the history (their
        customers were handed to colleagues). With fewer than 31 reps some
        provinces have no rep and no customers.
    start, end : str or date, default="2023-01-01", "2026-10-31"
        First and last day of the sales history (at least 90 days apart).
    actuals_to : str or date, optional
        Also write the plan year's sales (the year after ``end``) from 1 January to this day
        (key ``actuals``, the sales table's columns): the same customers going on as in the
        history, drawn from their own random stream, so the history is the same with or without.
        Also a stock count at the end of that day (key ``stock``: date, customer_id, product,
        units) at one store in eight, between one and eight days of its recent sales.

    Returns
    -------
    dict of str to DataFrame
        ``sales`` (one row per order line: date, customer_id, product,
        channel, amount, units; unique on the first four), ``customers``,
        ``reps``, ``org``, ``provinces`` and ``adjacency``, with the columns of
        the data contract (plus ``gdp_per_capita`` in provinces, ``kind`` in
        adjacency and the rep's base city in reps).

    Examples
    --------
    >>> company = make_company(seed=3, n_customers=150, n_reps=8, start="2025-01-01", end="2025-12-31")
    >>> sales = company["sales"]
    >>> bool(sales["customer_id"].isin(company["customers"]["customer_id"]).all())
    True
    >>> sorted(sales["product"].unique())
    ['A', 'B', 'C']
    """
    tables, blocks, customers, drivers = _draw(seed, n_customers, n_reps, start, end, actuals_to)
    start_ts, end_ts, actuals_ts = tables.pop("_span")
    sales = pd.concat(list(_sales_chunks(blocks, customers, start_ts, None)), ignore_index=True)
    del blocks
    extra = _plan_year(seed, customers, drivers, start_ts, end_ts, actuals_ts)
    return {**extra, "sales": sales, "customers": _finish_customers(customers, drivers, sales, start_ts, end_ts),
            **tables}


def _plan_year(seed: int, customers: pd.DataFrame, drivers: dict, start_ts: pd.Timestamp, end_ts: pd.Timestamp,
               actuals_ts: pd.Timestamp | None) -> dict[str, pd.DataFrame]:
    """The plan year's sales to date and the stock count (their own random streams: drawn in any order)."""
    if actuals_ts is None:
        return {}
    actuals = _plan_year_sales(seed, customers, drivers, start_ts, end_ts, actuals_ts)
    return {"actuals": actuals, "stock": _stock_snapshot(seed, actuals, actuals_ts)}


def _draw(seed: int, n_customers: int, n_reps: int, start: Any, end: Any, actuals_to: Any) -> tuple[dict, list, pd.DataFrame, dict]:
    """Every table but the customers (finished from the sales) and the sales (as blocks of keys);
    the random draws in the one order that makes the company."""
    start_ts, end_ts = _check_args(seed, n_customers, n_reps, start, end)
    actuals_ts = _check_actuals_to(actuals_to, end_ts)
    rng = np.random.default_rng(seed)
    ref = reference_tables()
    provinces, cities = ref["provinces"], ref["cities"]
    adjacency = ref["adjacency"].sort_values(["province_a", "province_b"], ignore_index=True)

    gdp = provinces["gdp_per_capita"].to_numpy(float)
    # Market size: people times spending power (GDP per head, damped).
    market = provinces["population"].to_numpy(float) * (gdp / np.median(gdp)) ** 0.8

    reps = _make_reps(rng, provinces, cities, market, n_reps, end_ts)
    customers, drivers = _make_customers(
        rng, provinces, cities, market, reps, n_customers, start_ts, end_ts
    )
    blocks = _sales_blocks(rng, customers, drivers, start_ts, end_ts)
    tables = {
        "reps": reps.drop(columns=["_active"]),
        "org": _build_org(provinces),
        "provinces": provinces.reset_index(drop=True),
        "adjacency": adjacency,
        "_span": (start_ts, end_ts, actuals_ts),
    }
    return tables, blocks, customers, drivers


def _check_actuals_to(actuals_to: Any, end_ts: pd.Timestamp) -> pd.Timestamp | None:
    if actuals_to is None:
        return None
    try:
        stamp = pd.Timestamp(actuals_to)
    except (ValueError, TypeError):
        stamp = pd.NaT
    first = pd.Timestamp(year=end_ts.year + 1, month=1, day=1)
    if stamp is pd.NaT or stamp != stamp.normalize() or not first <= stamp <= first + pd.DateOffset(years=1, days=-1):
        raise param_error(
            "actuals_to",
            "make_company",
            f"a day of the plan year {first.year} (the year after the history's end {end_ts.date()})",
            actuals_to,
        )
    return stamp


def write_company(out_dir: str | os.PathLike, **kwargs: Any) -> dict[str, Path]:
    """Generate the demo company and write it to ``out_dir``.

    Sales go to Parquet, the small tables to UTF-8 CSV with ISO dates (empty
    for no date). Everything is generated first and each file is written under
    a temporary name and renamed, so a failure leaves no partial file.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created if missing; files of the same names are replaced).
    **kwargs
        The keyword arguments of :func:`make_company`.

    Returns
    -------
    dict of str to Path
        Where each table was written, by key (sales, customers, ...).

    Examples
    --------
    >>> import tempfile
    >>> paths = write_company(tempfile.mkdtemp(), seed=1, n_customers=100, n_reps=6,
    ...                       start="2025-01-01", end="2025-06-30")
    >>> paths["sales"].name
    'sales.parquet'
    """
    defaults = {"seed": 42, "n_customers": 3000, "n_reps": 60, "start": "2023-01-01", "end": "2026-10-31",
                "actuals_to": None}
    unknown = sorted(set(kwargs) - set(defaults))
    if unknown:
        raise TypeError(f"write_company() got an unexpected keyword argument '{unknown[0]}'")
    seed = {**defaults, **kwargs}["seed"]
    tables, blocks, customers, drivers = _draw(**{**defaults, **kwargs})
    start_ts, end_ts, actuals_ts = tables.pop("_span")
    optional = ("actuals", "stock") if actuals_ts is not None else ()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    temps: list[Path] = []
    try:
        names = {**FILE_NAMES, **{k: v for k, v in OPTIONAL_FILE_NAMES.items() if k in optional}}
        for key, name in names.items():
            final = out / name
            tmp = out / f".{name}.{os.getpid()}.tmp"
            temps.append(tmp)
            if key == "sales":  # streamed a month at a time; customers are finished from its summary
                summary = _sales_summary(_write_parquet_chunks(
                    tmp, _sales_chunks(blocks, customers, start_ts, _CHUNK_DAYS)), end_ts)
                del blocks
                tables["customers"] = _finish_customers(customers, drivers, summary, start_ts, end_ts)
                written[key] = final
                continue
            if key == "actuals":  # drawn once the history's lines are written and let go
                tables.update(_plan_year(seed, customers, drivers, start_ts, end_ts, actuals_ts))
            if name.endswith(".parquet"):
                tables[key].to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")
            else:
                tables[key].to_csv(
                    tmp, index=False, encoding="utf-8", date_format="%Y-%m-%d", lineterminator="\n"
                )
            written[key] = final
        for key, tmp in zip(names, temps):
            os.replace(tmp, written[key])
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
    return written


# Days of order lines built and written at a time, and rows per Parquet row group (pyarrow's default:
# the streamed file is the one ``DataFrame.to_parquet`` writes, byte for byte).
_CHUNK_DAYS = 31
_ROW_GROUP = 1024 * 1024


def _write_parquet_chunks(path: Path, chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Write the frames ``chunks`` as one Parquet file in row groups of ``_ROW_GROUP`` rows, yielding
    each frame once it is buffered (so a summary is taken in the same pass)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    pending: list[pa.Table] = []
    rows = 0
    try:
        for chunk in chunks:
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            pending.append(table)
            rows += len(table)
            while rows >= _ROW_GROUP:
                whole = pa.concat_tables(pending)
                writer.write_table(whole.slice(0, _ROW_GROUP))
                pending, rows = [whole.slice(_ROW_GROUP)], rows - _ROW_GROUP
            yield chunk
        if writer is not None and rows:
            writer.write_table(pa.concat_tables(pending))
    finally:
        if writer is not None:
            writer.close()
