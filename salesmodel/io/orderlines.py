"""Order lines (the sales history, the actuals) read and aggregated out of core with DuckDB.

Millions of order lines hold a few thousand distinct ids: DuckDB scans the file (a Parquet
file, a folder of Parquet parts, or a CSV file) and hands over each text column dictionary
encoded (an ENUM: every distinct value once, a small integer code per row), numbers and
dates as numbers. The schema's checks then run on that compact frame, so the raw file is
never held as one Python string per cell. The validated sales history keeps its text as sorted
categories (:func:`compact_text`); the actuals as object columns whose cells share the distinct
strings (:func:`plain_text`). Every step reads the history summed once (:func:`history`: by
customer x product x channel x month, by day, by day and product), with the amounts summed as
exact decimals whatever order DuckDB adds them in.
"""
from __future__ import annotations

import csv
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ORDER_KINDS = ("sales", "actuals")
PART_SUFFIXES = (".parquet", ".pq")

# DuckDB types read as pandas reads them from the same file; any other type (decimals, time
# zones, nested values ...) is left to the pandas reader, whose messages name it.
_NUMBERS = {"DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER",
            "USMALLINT", "UTINYINT"}
_DATES = {"DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"}


def parts(path: Path) -> list[Path]:
    """The Parquet files of ``path``: itself, or a folder's parts in name order."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in PART_SUFFIXES)
    return [path]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source(path: Path) -> str | None:
    """The DuckDB table function over ``path``; None when it is not a readable kind of order lines."""
    if path.is_dir():
        files = parts(path)
        if not files:
            return None
        return "read_parquet([" + ", ".join(_quote(str(p)) for p in files) + "])"
    suffix = path.suffix.lower()
    if suffix in PART_SUFFIXES:
        return f"read_parquet({_quote(str(path))})"
    if suffix == ".csv":
        return (f"read_csv({_quote(str(path))}, all_varchar=true, header=true, delim=',', quote='\"', "
                "escape='\"', encoding='utf-8', strict_mode=true)")
    return None


def _names(path: Path) -> list[str] | None:
    """The column names as stored (DuckDB renames repeated names: those files go to pandas)."""
    if path.suffix.lower() == ".csv" and path.is_file():
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return next(csv.reader(fh), [])
    names = [pq.read_schema(p).names for p in parts(path)]
    return names[0] if names and all(n == names[0] for n in names) else None


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that keeps the rows' order and spills to disk when large (to the
    system's temporary folder: by default DuckDB would make a ``.tmp`` folder wherever the user stands)."""
    con = duckdb.connect(":memory:")
    con.execute("SET preserve_insertion_order = true")
    con.execute(f"SET temp_directory = {_quote(str(Path(tempfile.gettempdir()) / 'salesmodel-duckdb'))}")
    return con


def read_compact(path: Path) -> pd.DataFrame | None:
    """Order lines as a compact raw frame: text columns categorical, numbers and dates as stored.

    Returns None when DuckDB cannot read the file exactly as pandas would (an unusual type, a
    repeated column name, a malformed CSV); the caller then reads it the usual way and its
    message names the problem.

    >>> read_compact(Path("data/demo/sales.parquet")).dtypes["customer_id"]  # doctest: +SKIP
    CategoricalDtype(...)
    """
    opened = _open(path)
    if opened is None:
        return None
    con, plan = opened
    try:
        return _fetch(plan)
    except READ_ERRORS:
        return None
    finally:
        con.close()


# what reading a file DuckDB cannot read as pandas would raises: the pandas reader then names the problem
READ_ERRORS = (duckdb.Error, OSError, UnicodeDecodeError, pa.ArrowException, ValueError)


def _open(path: Path) -> tuple[duckdb.DuckDBPyConnection, tuple] | None:
    """A connection and the scan of ``path`` (:func:`_scan`); None when DuckDB cannot read it as pandas would."""
    source = _source(path)
    if source is None:
        return None
    con = None
    try:
        names = _names(path)
        if names is None or len(set(names)) != len(names):
            return None
        con = connect()
        plan = _scan(con, source, names)
    except READ_ERRORS:
        plan = None
    if plan is None:
        if con is not None:
            con.close()
        return None
    return con, plan


_BATCH = 1 << 20  # rows fetched at a time


def read_batches(path: Path, rows: int) -> Iterator[pd.DataFrame] | None:
    """Order lines as compact raw frames of ``rows`` lines at a time (the last one shorter), each as
    :func:`read_compact` reads the whole file: text columns categorical, with the same categories in
    every frame (all the file's distinct values), numbers and dates as stored. None when DuckDB cannot read
    the file as pandas would (see :func:`read_compact`); the frames are read as they are asked for.

    >>> sum(len(f) for f in read_batches(Path("data/demo/sales.parquet"), 1 << 20))  # doctest: +SKIP
    1791420
    """
    opened = _open(path)
    if opened is None:
        return None
    con, plan = opened

    def frames() -> Iterator[pd.DataFrame]:
        try:
            described, rel, given, n = plan
            reader = (getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader)(_BATCH)
            dictionaries: dict[str, list] = {}
            held: list[dict[str, np.ndarray]] = []
            count = 0
            for batch in reader:
                held.append(_batch_values(batch, given, n, dictionaries))
                count += batch.num_rows
                while count >= rows:
                    part, held, count = _split(held, rows, count)
                    yield _frame(described, part, dictionaries)
            if count or not n:
                yield _frame(described, _split(held, count, count)[0] if held else {}, dictionaries)
        finally:
            con.close()

    return frames()


def _split(held: list[dict[str, np.ndarray]], rows: int, count: int) -> tuple[dict[str, np.ndarray], list, int]:
    """The first ``rows`` rows of the held batches as one array a column, and the rest."""
    joined = {name: np.concatenate([h[name] for h in held]) for name in held[0]}
    part = {name: values[:rows] for name, values in joined.items()}
    rest = {name: values[rows:] for name, values in joined.items()}
    return part, ([rest] if count > rows else []), count - rows


def _frame(described: list, arrays: dict[str, np.ndarray], dictionaries: dict[str, list]) -> pd.DataFrame:
    """One frame of order lines from a column's values (a text column's codes into ``dictionaries``)."""
    columns = []
    for name, kind, *_ in described:
        if kind == "VARCHAR":
            codes = arrays.get(name, np.empty(0, dtype=np.int32))
            values = pd.Categorical.from_codes(codes, categories=pd.Index(dictionaries.get(name, []), dtype=object))
        else:
            values = arrays.get(name, np.empty(0, dtype="float64"))
        columns.append(pd.Series(values, name=name))
    return pd.concat(columns, axis=1, copy=False) if columns else pd.DataFrame()


def _scan(con: duckdb.DuckDBPyConnection, source: str, names: list[str]) -> tuple | None:
    """What the file holds and the query that reads it compactly (text as ENUM codes): the columns as
    DuckDB describes them, the relation, each column's non-null count and the number of rows."""
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    if [row[0] for row in described] != names:
        return None
    select, counted = [], []
    for i, (name, kind, *_) in enumerate(described):
        col = '"' + name.replace('"', '""') + '"'
        if kind == "VARCHAR":
            con.execute(f"CREATE TYPE e{i} AS ENUM (SELECT DISTINCT {col} FROM {source} WHERE {col} IS NOT NULL)")
            select.append(f"{col}::e{i} AS {col}")
        elif kind in _NUMBERS or kind in _DATES:
            select.append(col)
        else:
            return None
        counted.append(f"count({col})")
    n, *given = con.execute(f"SELECT count(*), {', '.join(counted)} FROM {source}").fetchall()[0]
    return described, con.sql(f"SELECT {', '.join(select)} FROM {source}"), given, n


def _batch_values(batch: pa.RecordBatch, given: list[int], n: int, dictionaries: dict[str, list]) -> dict[str, np.ndarray]:
    """One Arrow batch as a NumPy array a column: a text column's codes (-1: empty), numbers and dates as
    pandas reads them (whole numbers with gaps as floats)."""
    out = {}
    for j, (name, column) in enumerate(zip(batch.schema.names, batch.columns)):
        if pa.types.is_dictionary(column.type):
            dictionaries.setdefault(name, column.dictionary.to_pylist())
            values = np.asarray(pc.fill_null(column.indices, 0), dtype=np.int32)
            values[np.asarray(column.is_null())] = -1
        else:
            values = column.to_pandas(date_as_object=False).to_numpy()
            if given[j] < n and values.dtype.kind in "iu":  # integers with gaps: as pandas reads them
                values = values.astype("float64")
        out[name] = values
    return out


def _fetch(plan: tuple) -> pd.DataFrame:
    """The rows of a scan (:func:`_scan`) batch by batch into arrays sized once (never a second full copy)."""
    described, rel, given, n = plan
    reader = (getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader)(_BATCH)  # DuckDB 2 / DuckDB 1
    arrays: dict[str, np.ndarray] = {}
    dictionaries: dict[str, list] = {}
    pos = 0
    for batch in reader:
        for name, values in _batch_values(batch, given, n, dictionaries).items():
            if name not in arrays:
                arrays[name] = np.empty(n, dtype=values.dtype)
            arrays[name][pos:pos + batch.num_rows] = values
        pos += batch.num_rows
    return _frame(described, arrays, dictionaries)


def compact_text(frame: pd.DataFrame, text: Sequence[str]) -> pd.DataFrame:
    """The ``text`` columns as categories in sorted order (the same frame): how the sales history is held.

    Millions of lines hold a few thousand ids: a category code a cell (1 to 4 bytes) instead of
    a pointer (8). Sorted categories sort, group and compare like the text itself, and the
    content hash (:func:`salesmodel.run.audit.frame_hash`) is the plain text's.
    """
    for name in text:
        column = frame[name]
        if not isinstance(column.dtype, pd.CategoricalDtype):
            frame[name] = column.astype("category")
        elif not column.cat.categories.is_monotonic_increasing:
            frame[name] = column.cat.reorder_categories(column.cat.categories.sort_values())
    return frame


def plain_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns (extra columns kept as read) back to object text sharing the distinct strings."""
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].astype(object)
    return frame


# ---------------------------------------------------------------------------
# Aggregations
# ---------------------------------------------------------------------------

# The history as the plan reads it: every order line in exactly one bucket of its customer,
# product, channel and month. A month is cut in two after the history's last day of the month
# (unless that day ends its month), so that any window ending on the last day (year to date,
# the twelve months up to it) or on a month's edge sums whole buckets. Each bucket is dated by
# its last day with sales, so the history's first and last days are those of the order lines.
# Amounts are summed as decimals (to a millionth of a yuan): exact, whatever order the engine adds them in.
_MONTHS_QUERY = """
WITH lines AS (SELECT CAST("date" AS TIMESTAMP) AS day, customer_id, product, channel, amount, units FROM {source}),
     edge AS (SELECT max(day) AS last FROM lines)
SELECT customer_id, product, channel, max(day) AS "date",
       CAST(sum(CAST(amount AS DECIMAL(38, 6))) AS DOUBLE) AS amount,
       CAST(sum(units) AS BIGINT) AS units, count(*) AS lines
FROM lines, edge
GROUP BY customer_id, product, channel, date_trunc('month', day), (day(day) > day(last) AND last <> last_day(last))
ORDER BY "date", CAST(customer_id AS VARCHAR), CAST(product AS VARCHAR), CAST(channel AS VARCHAR)
"""
_DAYS_QUERY = """
SELECT CAST("date" AS TIMESTAMP) AS "date", CAST(sum(CAST(amount AS DECIMAL(38, 6))) AS DOUBLE) AS amount,
       CAST(sum(units) AS BIGINT) AS units, count(*) AS lines
FROM {source} GROUP BY 1 ORDER BY 1
"""
_PRODUCT_DAYS_QUERY = """
SELECT CAST("date" AS TIMESTAMP) AS "date", product, CAST(sum(CAST(amount AS DECIMAL(38, 6))) AS DOUBLE) AS amount,
       CAST(sum(units) AS BIGINT) AS units, count(*) AS lines
FROM {source} GROUP BY 1, 2 ORDER BY 1, CAST(product AS VARCHAR)
"""


# what DuckDB may hold while it sums; past it, it spills to a temporary folder
_SUM_MEMORY = "512MB"


def _query(lines: pd.DataFrame | Path, *templates: str) -> list[pd.DataFrame]:
    """Each query of ``templates`` over the order lines (a frame or files), on one connection."""
    con = connect()
    try:
        con.execute(f"SET memory_limit = '{_SUM_MEMORY}'")
        if isinstance(lines, pd.DataFrame):
            # text as categories: DuckDB scans their codes instead of one Python string a cell
            columns = {name: (lines[name].astype("category") if lines[name].dtype == object else lines[name])
                       for name in ("date", "customer_id", "product", "channel", "amount", "units")}
            con.register("order_lines", pd.DataFrame(columns, copy=False))
            source = "order_lines"
        else:
            source = _source(Path(lines))
            if source is None:
                raise ValueError(f"{lines}: not a Parquet file, a folder of Parquet parts or a CSV file")
            source = _as_enums(con, source)
        outs = [con.execute(template.format(source=source)).df() for template in templates]
    finally:
        con.close()
    for out in outs:
        for name in out.columns:
            if name == "date":
                out[name] = out[name].astype("datetime64[ns]")
            elif name in ("units", "lines"):
                out[name] = out[name].astype("int64")
            elif not pd.api.types.is_numeric_dtype(out[name]):
                out[name] = out[name].astype(object)  # text as the order lines hold it
    return outs


def _as_enums(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """``source`` with its text keys as ENUMs of their distinct values, as a frame's categories are scanned:
    sums grouped by a small code (not by text) fit DuckDB's memory, and come back as categories sharing
    each distinct string (at 100x the demo, 42 M sums by month: 9 GB as one string a cell)."""
    columns = []
    for i, name in enumerate(("customer_id", "product", "channel")):
        con.execute(f'CREATE TYPE k{i} AS ENUM (SELECT DISTINCT CAST("{name}" AS VARCHAR) FROM {source} '
                    f'WHERE "{name}" IS NOT NULL)')
        columns.append(f'CAST("{name}" AS k{i}) AS "{name}"')
    return f'(SELECT "date", {", ".join(columns)}, amount, units FROM {source})'


def months(lines: pd.DataFrame | Path) -> pd.DataFrame:
    """Order lines summed by customer, product, channel and month: ``date`` (the bucket's last day
    with sales), ``customer_id, product, channel, amount, units, lines``.

    The month of the history's last day of the month is cut after that day (see above), so
    windows that end on the last day or on a month's edge sum whole rows. Any step that
    reads months, years or a year to date reads these rows instead of the order lines;
    ``lines`` counts the order lines summed.

    >>> months(Path("data/demo/sales.parquet")).columns.tolist()  # doctest: +SKIP
    ['customer_id', 'product', 'channel', 'date', 'amount', 'units', 'lines']
    """
    return _query(lines, _MONTHS_QUERY)[0]


def days(lines: pd.DataFrame | Path) -> pd.DataFrame:
    """The company's sales by day (``date, amount, units, lines``): what the Spring Festival and
    the seasonal indices are measured on.

    >>> days(Path("data/demo/sales.parquet")).columns.tolist()  # doctest: +SKIP
    ['date', 'amount', 'units', 'lines']
    """
    return _query(lines, _DAYS_QUERY)[0]


def product_days(lines: pd.DataFrame | Path) -> pd.DataFrame:
    """The company's sales by day and product (``date, product, amount, units, lines``): the
    company's mix and prices that a store's stock plan falls back on.

    >>> product_days(Path("data/demo/sales.parquet")).columns.tolist()  # doctest: +SKIP
    ['date', 'product', 'amount', 'units', 'lines']
    """
    return _query(lines, _PRODUCT_DAYS_QUERY)[0]


@dataclass(frozen=True)
class History:
    """Order lines summed once for every step: :func:`months`, :func:`days` and :func:`product_days`."""

    months: pd.DataFrame
    days: pd.DataFrame
    product_days: pd.DataFrame


# one History per order-lines frame (the reader sums it while the text is still compact), dropped with the frame
_HISTORIES: dict[int, tuple[weakref.ref, History]] = {}


def history(lines: pd.DataFrame | StoredLines) -> History:
    """The :class:`History` of an order-lines frame, summed the first time it is asked for (of a
    :class:`StoredLines`, the sums it holds).

    >>> history(sales).months is history(sales).months  # doctest: +SKIP
    True
    """
    if isinstance(lines, StoredLines):
        return lines.sums
    key = id(lines)
    held = _HISTORIES.get(key)
    if held is not None and held[0]() is lines:
        return held[1]
    made = History(*_query(lines, _MONTHS_QUERY, _DAYS_QUERY, _PRODUCT_DAYS_QUERY))

    def forget(ref: weakref.ref) -> None:
        if key in _HISTORIES and _HISTORIES[key][0] is ref:
            del _HISTORIES[key]

    _HISTORIES[key] = (weakref.ref(lines, forget), made)
    return made


@dataclass(frozen=True, eq=False)
class StoredLines:
    """Order lines kept in a Parquet file (a run folder's validated copy) with their sums: what a run's
    steps hold instead of the lines. :func:`history` gives the sums; :func:`take` reads the few lines a
    step compares line by line (a window of days, some stores) from the file, row group by row group.

    >>> held = StoredLines(Path("run/inputs/sales.parquet"), rows=len(sales), sums=history(sales))  # doctest: +SKIP
    >>> history(held) is held.sums  # doctest: +SKIP
    True
    """

    path: Path
    rows: int
    sums: History
    #: the lines' content hash (``salesmodel.io.writers.content_sha256``) when they were validated part by part
    content_sha256: str = ""

    def __len__(self) -> int:
        return self.rows

    def moved(self, path: Path) -> StoredLines:
        """The same lines once their file is moved to ``path`` (a run folder's copy)."""
        return StoredLines(Path(path), self.rows, self.sums, self.content_sha256)


def stored(lines: pd.DataFrame, path: Path) -> StoredLines:
    """``lines`` as held once written to ``path`` (their exact Parquet copy): the file and the sums."""
    return StoredLines(Path(path), len(lines), history(lines))


def stored_file(path: Path) -> StoredLines:
    """Order lines already validated and written (a run folder's copy) held as that file, its sums and its
    content hash, read one row group at a time: what a replay reads instead of the whole lines.

    >>> stored_file(Path("run/inputs/sales.parquet")).content_sha256  # doctest: +SKIP
    'b4f31bf9...'
    """
    from salesmodel.io.writers import ContentHash

    digest, rows = ContentHash(), 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=_BATCH):
        part = batch.to_pandas()
        digest.update(part)
        rows += len(part)
    return StoredLines(Path(path), rows, file_history(Path(path)), digest.hexdigest())


def file_history(path: Path) -> History:
    """The :class:`History` of order lines in a file (or a folder of parts), summed by DuckDB over it.

    >>> file_history(Path("run/inputs/sales.parquet")).days.columns.tolist()  # doctest: +SKIP
    ['date', 'amount', 'units', 'lines']
    """
    return History(*_query(Path(path), _MONTHS_QUERY, _DAYS_QUERY, _PRODUCT_DAYS_QUERY))


Lines = pd.DataFrame | StoredLines

# One period of :func:`take`: the days from ``start`` to ``end``, both included (no ``end``: every day after)
Period = tuple[pd.Timestamp, pd.Timestamp | None]


def take(lines: Lines, columns: Sequence[str] | None = None, *, periods: Sequence[Period] | None = None,
         customers: Sequence[str] | set[str] | None = None, channel: str | None = None) -> pd.DataFrame:
    """The order lines dated in any of ``periods`` (each ``(start, end)``, both days included), of
    ``customers`` and of ``channel`` (each filter only when given; a period without an end runs on), in the order they were read, their
    text as plain text. The same rows whether ``lines`` is a frame or a :class:`StoredLines`.

    >>> take(sales, ["customer_id", "amount"], periods=[(pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-31"))])  # doctest: +SKIP
    """
    if isinstance(lines, StoredLines):
        return _take_stored(lines, columns, periods, customers, channel)
    mask = np.ones(len(lines), dtype=bool)
    if periods is not None:
        days = lines["date"]
        within = np.zeros(len(lines), dtype=bool)
        for start, end in periods:
            one = (days >= pd.Timestamp(start)).to_numpy()
            if end is not None:
                one &= (days <= pd.Timestamp(end)).to_numpy()
            within |= one
        mask &= within
    if customers is not None:
        mask &= lines["customer_id"].isin(list(customers)).to_numpy()
    if channel is not None:
        mask &= (lines["channel"] == channel).to_numpy()
    chosen = lines.loc[mask, list(columns) if columns is not None else lines.columns]
    return plain_text(chosen.reset_index(drop=True))


def _take_stored(lines: StoredLines, columns: Sequence[str] | None, periods: Sequence[Period] | None,
                 customers: Sequence[str] | set[str] | None, channel: str | None) -> pd.DataFrame:
    import pyarrow.dataset as ds

    source = ds.dataset(lines.path, format="parquet")
    day_type = source.schema.field("date").type
    keep = None

    def both(a, b):
        return b if a is None else a & b

    if periods is not None:
        within = None
        for start, end in periods:
            one = ds.field("date") >= pa.scalar(pd.Timestamp(start)).cast(day_type)
            if end is not None:
                one = one & (ds.field("date") <= pa.scalar(pd.Timestamp(end)).cast(day_type))
            within = one if within is None else within | one
        keep = both(keep, within if within is not None else ds.scalar(False))
    if customers is not None:
        keep = both(keep, ds.field("customer_id").isin(pa.array(sorted(customers), type=pa.string())))
    if channel is not None:
        keep = both(keep, ds.field("channel") == channel)
    table = source.to_table(columns=list(columns) if columns is not None else None, filter=keep, use_threads=False)
    return plain_text(table.to_pandas())


def count_lines(path: Path) -> int | None:
    """How many order lines ``path`` holds, without reading them: a Parquet file's (or folder's parts')
    metadata, a CSV file's size over the mean length of its first lines; None for other sources."""
    path = Path(path)
    try:
        if path.is_dir() or path.suffix.lower() in PART_SUFFIXES:
            return sum(pq.ParquetFile(p).metadata.num_rows for p in parts(path))
        if path.suffix.lower() == ".csv":
            size = path.stat().st_size
            with path.open("rb") as fh:
                head = fh.read(1 << 20)
            lines = head.count(b"\n")
            return int(size / (len(head) / lines)) if lines else 0
    except (OSError, pa.ArrowException):
        return None  # unreadable: the reader names the problem
    return None
