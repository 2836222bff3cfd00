"""Reading input tables from CSV, Parquet, Excel or SQL, validated on the way in."""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.errors import InputError, short_list
from salesmodel.io import orderlines
from salesmodel.io.schemas import _FILE_SUFFIXES, KINDS, OPTIONAL_KINDS, SCHEMAS, _Failure
from salesmodel.io.validation import _check_table, _cross_failures, _failures_frame, _message, _raise, _schema
from salesmodel.io.writers import ROW_GROUP, ContentHash, parquet_writer


def _is_url(source: Any) -> bool:
    return isinstance(source, str) and "://" in source


def _engine(url: str):
    import sqlalchemy as sa

    try:
        u = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise InputError(f"{url}: not a valid SQLAlchemy database URL "
                         "(expected e.g. sqlite:///plan.db or postgresql://user@host/db)") from None
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    shown = u.render_as_string(hide_password=True)
    in_file = u.drivername.startswith("sqlite") and u.database not in (None, "", ":memory:")
    if in_file and not Path(u.database).is_file():  # sqlite would silently create an empty file
        raise InputError(f"{shown}: database file '{u.database}' not found")
    try:
        engine = sa.create_engine(u)
    except sa.exc.NoSuchModuleError:
        raise InputError(f"{shown}: unknown database type '{u.drivername}' (expected e.g. "
                         "sqlite:///plan.db or postgresql://user@host/db)") from None
    except ModuleNotFoundError as exc:
        raise InputError(f"{shown}: the database driver '{exc.name}' is not installed "
                         "(for PostgreSQL: pip install 'salesmodel[postgres]')") from None
    return engine, shown


def _read_sql(url: str, table: str, kind: str) -> tuple[pd.DataFrame, str]:
    import sqlalchemy as sa

    engine, shown = _engine(url)
    schema_name, _, name = table.rpartition(".")
    label = f"{shown} table '{table}'"
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names(schema=schema_name or None)
            if name not in names:
                hint = difflib.get_close_matches(name, names, n=1)
                more = f"; did you mean '{hint[0]}'?" if hint else f"; tables there: {short_list(sorted(names), 12) or 'none'}"
                raise InputError(f"{label}: table not found (expected {SCHEMAS[kind].description}){more}")
            df = pd.read_sql_table(name, conn, schema=schema_name or None)
    except InputError:
        raise
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise InputError(f"{label}: cannot read the database: {reason}") from None
    finally:
        engine.dispose()
    return df, label


# An Excel workbook is a zip archive: its members' sizes are read from the archive's directory and
# checked before any of it is inflated, so a small file that inflates to gigabytes is refused at once.
WORKBOOK_MAX_BYTES = 1 << 30          # all members together, inflated
WORKBOOK_MAX_RATIO = 100              # a member larger than 16 MB may not inflate more than this
_RATIO_FROM_BYTES = 16 << 20


def check_archive(path: Path, *, max_bytes: int = WORKBOOK_MAX_BYTES, max_ratio: float = WORKBOOK_MAX_RATIO) -> None:
    """Refuse an .xlsx whose members would inflate beyond ``max_bytes`` in all, or a large member
    compressed more than ``max_ratio`` times (a zip bomb); nothing is inflated to decide.

    >>> check_archive(Path("plan.xlsx"))  # doctest: +SKIP
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        return  # not an archive at all: the reader says so in its own words
    total = sum(m.file_size for m in members)
    mb = 1 << 20
    if total > max_bytes:
        raise InputError(f"{path}: the workbook would inflate to {total / mb:,.0f} MB "
                         f"({path.stat().st_size / mb:,.1f} MB on disk); the most accepted is {max_bytes / mb:,.0f} MB")
    for m in members:
        if m.file_size > _RATIO_FROM_BYTES and m.file_size > max_ratio * max(m.compress_size, 1):
            raise InputError(f"{path}: the workbook's part '{m.filename}' would inflate from "
                             f"{m.compress_size / mb:,.1f} MB to {m.file_size / mb:,.0f} MB "
                             f"({m.file_size / max(m.compress_size, 1):,.0f} times); a worksheet inflates at most "
                             f"{max_ratio:g} times")


def _read_file(path: Path, kind: str, table: str | None) -> tuple[pd.DataFrame, str]:
    label = str(path)
    suffix = path.suffix.lower()
    if kind in orderlines.ORDER_KINDS and table is None and (path.is_file() or (path.is_dir() and orderlines.parts(path))):
        compact = orderlines.read_compact(path)  # out of core; None: read below, which names the problem
        if compact is not None:
            return compact, label
        if path.is_dir():
            return _read_parts(path, kind), label
    if suffix not in _FILE_SUFFIXES:
        raise InputError(f"{label}: cannot read '{suffix or 'no suffix'}' files; expected a .csv, "
                         f".parquet or .xlsx file (or an SQLAlchemy URL) for {SCHEMAS[kind].description}")
    if not path.is_file():
        where = "a folder, not a file" if path.is_dir() else "file not found"
        raise InputError(f"{label}: {where} (expected {SCHEMAS[kind].description})")
    if table is not None and suffix not in (".xlsx", ".xlsm"):
        raise param_error("table", "read_table", f"None for a {suffix} file (it names an Excel sheet or an SQL table)", table,
                          after=f" ('{path.name}')")
    try:
        if suffix == ".csv":
            # Everything as text first: ids keep leading zeros, "NA" stays a name.
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                             encoding="utf-8-sig", skipinitialspace=False)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path, engine="pyarrow")
        else:
            import openpyxl  # noqa: F401 - fail here with a clear message if missing

            check_archive(path)
            sheets = pd.ExcelFile(path, engine="openpyxl")
            sheet: str | int = 0
            if table is not None:
                if table not in sheets.sheet_names:
                    raise InputError(f"{label}: sheet '{table}' not found; sheets: "
                                     f"{short_list(sheets.sheet_names)}")
                sheet = table
            elif kind in sheets.sheet_names:
                sheet = kind
            df = sheets.parse(sheet, dtype=object)
            label = f"{label} sheet '{sheet if isinstance(sheet, str) else sheets.sheet_names[0]}'"
    except InputError:
        raise
    except UnicodeDecodeError as exc:
        raise InputError(f"{label}: not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} at "
                         f"position {exc.start}); save it as 'CSV UTF-8'") from None
    except pd.errors.EmptyDataError:
        df = pd.DataFrame()
    except Exception as exc:  # noqa: BLE001 - parser errors of pandas, pyarrow, openpyxl, zip
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{label}: cannot read the file as {suffix}: {reason}") from None
    return df, label


def _read_parts(path: Path, kind: str) -> pd.DataFrame:
    """A folder of Parquet parts that DuckDB would not read as pandas does: pandas reads it."""
    try:
        return pd.concat([pd.read_parquet(p, engine="pyarrow") for p in orderlines.parts(path)], ignore_index=True)
    except Exception as exc:  # noqa: BLE001 - parser errors of pyarrow
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read the folder's Parquet parts: {reason}") from None


def _read_raw(source: Any, kind: str, table: str | None) -> tuple[pd.DataFrame, str]:
    _schema(kind)
    if _is_url(source):
        return _read_sql(source, table or kind, kind)
    if hasattr(source, "connect") and hasattr(source, "dialect"):  # an SQLAlchemy Engine
        return _read_sql(source.url.render_as_string(hide_password=False), table or kind, kind)
    if not isinstance(source, (str, os.PathLike)):
        raise param_error("source", "read_table", "a file path or an SQLAlchemy URL", shown=f"{type(source).__name__}")
    return _read_file(Path(source), kind, table)


def read_table(source: str | os.PathLike, kind: str, *, table: str | None = None,
               date_range: tuple[Any, Any] | None = None) -> pd.DataFrame:
    """Read one input table and validate it against the schema of its kind.

    Parameters
    ----------
    source : path or str
        A ``.csv`` (UTF-8), ``.parquet`` or ``.xlsx`` file, chosen by suffix,
        or an SQLAlchemy URL (``sqlite:///plan.db``, ``postgresql://user@host/db``;
        ``postgresql://`` uses the psycopg driver).
    kind : str
        Table kind: sales, customers, reps, org, provinces, adjacency,
        holiday_overrides.
    table : str, optional
        SQL table name (default: the kind; ``schema.table`` works) or Excel
        sheet (default: the sheet named like the kind, else the first).
    date_range : (start, end), optional
        Declared history range: sales dates outside it are errors.

    Returns
    -------
    DataFrame
        Declared columns first, coerced (ids as text, dates as days), then
        any extra columns as read.

    Raises
    ------
    InputError
        The file is missing or unreadable, or the table breaks its schema;
        the message lists every failure with rows and expected values.

    Examples
    --------
    >>> reps = read_table("data/demo/reps.csv", "reps")  # doctest: +SKIP
    >>> sales = read_table("sqlite:///plan.db", "sales", table="sales_2026")  # doctest: +SKIP
    """
    df, label = _read_raw(source, kind, table)
    frame, failures, _ = _check_table(df, SCHEMAS[kind], label, date_range, own=True)
    del df
    _raise(failures)
    return _held(frame, kind)


def _held(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A validated table as the plan holds it: the sales history's text as sorted categories (millions
    of lines, a few thousand ids), every other table's as plain text."""
    if kind == "sales":
        text = [c.name for c in SCHEMAS[kind].columns if c.kind == "str" and c.name in frame.columns]
        return orderlines.compact_text(frame, text)
    return orderlines.plain_text(frame)


#: a sales history of this many order lines or more is validated part by part and kept on disk, never whole in memory
STREAM_FROM_LINES = 20_000_000
STREAM_PART_LINES = 8 * ROW_GROUP


def read_stored(path: Path, date_range: tuple[Any, Any] | None = None) -> orderlines.StoredLines | None:
    """The sales history at ``path`` validated part by part: each part checked against the schema, written
    (as validated) to a temporary Parquet file in parts of whole row groups and hashed as it goes; then
    summed by DuckDB over that file. The lines are never all in memory. None when a part breaks the schema
    or DuckDB cannot read the file: the caller reads it whole, and the message lists every row.

    >>> held = read_stored(Path("data/big/sales.parquet"))  # doctest: +SKIP
    >>> orderlines.history(held).months.columns.tolist()  # doctest: +SKIP
    ['customer_id', 'product', 'channel', 'date', 'amount', 'units', 'lines']
    """
    import shutil
    import tempfile
    import weakref

    import pyarrow as pa

    parts = orderlines.read_batches(path, STREAM_PART_LINES)
    if parts is None:
        return None
    schema = SCHEMAS["sales"]
    text = [c.name for c in schema.columns if c.kind == "str"]
    folder = Path(tempfile.mkdtemp(prefix="salesmodel-lines-"))
    target = folder / "sales.parquet"
    digest, rows, writer, known = ContentHash(), 0, None, None
    try:
        for raw in parts:
            if not set(text) <= set(raw.columns):
                return None
            if known is None:  # every part with the same categories: the file's distinct values, cleaned as read
                known = {c: _clean_categories(raw[c]) for c in text}
            part, failures, _ = _check_table(raw, schema, str(path), date_range, own=True)
            del raw
            if failures:
                return None
            part = _held(part, "sales")
            for c in text:
                part[c] = part[c].cat.set_categories(known[c])
            if writer is None:
                writer = parquet_writer(target, part)
            for lo in range(0, len(part), ROW_GROUP):
                writer.write_table(pa.Table.from_pandas(part.iloc[lo:lo + ROW_GROUP], schema=writer.schema,
                                                        preserve_index=False))
            digest.update(part)
            rows += len(part)
        if writer is None:
            return None
        writer.close()
        writer = None
        held = orderlines.StoredLines(target, rows, orderlines.file_history(target), digest.hexdigest())
        weakref.finalize(held, shutil.rmtree, folder, True)  # the temporary copy goes with its last handle
        folder = None  # the handle owns it now
        return held
    except orderlines.READ_ERRORS:  # e.g. a malformed CSV row half-way: the whole read names it
        return None
    finally:
        if writer is not None:
            writer.close()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _clean_categories(raw: pd.Series) -> pd.Index:
    """A text column's distinct values as validation leaves them (trimmed, empty ones gone), sorted."""
    values = pd.Index(raw.cat.categories, dtype=object).str.strip()
    return pd.Index(sorted(set(values[values != ""])), dtype=object)


def input_sources(data: Any) -> dict[str, str]:
    """Where each input kind is read from: file paths, or ``URL#table`` for SQL."""
    if data.sql_url:
        return {k: f"{data.sql_url}#{getattr(data, k, None) or k}" for k in _kinds(data)}
    return {k: str(Path(data.dir) / getattr(data, k)) for k in _kinds(data)}


def _kinds(data: Any) -> tuple[str, ...]:
    """The six required kinds and the optional ones the params name a file (or SQL table) for."""
    return KINDS + tuple(k for k in OPTIONAL_KINDS if getattr(data, k, None))


def read_inputs(data: Any) -> dict[str, pd.DataFrame | orderlines.StoredLines]:
    """Read and validate the six input tables (and the optional ones the params name), then the
    references between them.

    Optional kinds (``data.locks``, ``data.commitments``, ``data.actuals``, ``data.stock``) are
    read only when the params give a file name (with ``sql_url``: the SQL table's name).

    Parameters
    ----------
    data : salesmodel.schema.params.DataParams
        The ``data`` section of a scenario: a folder and file names, or an
        ``sql_url`` (each table then read from the database table named like
        its kind), and optionally the declared history range.

    Returns
    -------
    dict of str to DataFrame
        Keys sales, customers, reps, org, provinces, adjacency, and each optional kind read. A sales
        history of ``STREAM_FROM_LINES`` lines or more is a :class:`~salesmodel.io.orderlines.StoredLines`
        (validated part by part, never whole in memory).

    Raises
    ------
    InputError
        One message for all problems of all tables (each part naming its file).

    Examples
    --------
    >>> from salesmodel.schema.params import load_params
    >>> tables = read_inputs(load_params("params/default.yaml").data)  # doctest: +SKIP
    >>> sorted(tables)  # doctest: +SKIP
    ['adjacency', 'customers', 'org', 'provinces', 'reps', 'sales']
    """
    date_range = (getattr(data, "history_start", None), getattr(data, "history_end", None))
    if date_range == (None, None):
        date_range = None
    tables: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    valid: dict[str, set[str]] = {}
    failures: list[_Failure] = []
    read_errors: list[str] = []
    for kind in _kinds(data):
        optional = kind in OPTIONAL_KINDS
        source = data.sql_url if data.sql_url else Path(data.dir) / getattr(data, kind)
        if kind == "sales" and not data.sql_url and (orderlines.count_lines(source) or 0) >= STREAM_FROM_LINES:
            held = read_stored(source, date_range)
            if held is not None:  # valid: checked against the other tables below on its distinct ids
                tables[kind], sources[kind], valid[kind] = held, str(source), set(SCHEMAS[kind].names)
                continue
        try:
            df, label = _read_raw(source, kind, getattr(data, kind) if optional and data.sql_url else None)
        except InputError as exc:
            read_errors.append(str(exc))
            continue
        frame, fs, ok_cols = _check_table(df, SCHEMAS[kind], label, date_range if kind == "sales" else None, own=True)
        del df
        frame = _held(frame, kind)
        if kind == "sales" and not fs:
            orderlines.history(frame)  # every step reads the history summed: summed once, now
        tables[kind], sources[kind], valid[kind] = frame, label, ok_cols
        failures.extend(fs)
    failures.extend(_cross_failures(_standing_in(tables), sources, valid))
    if isinstance(tables.get("sales"), orderlines.StoredLines) and any(f.file == sources["sales"] for f in failures):
        # an unknown id in lines kept on disk: read them whole, for the message with every row
        frame, _, _ = _check_table(_read_raw(Path(sources["sales"]), "sales", None)[0], SCHEMAS["sales"],
                                   sources["sales"], date_range, own=True)
        tables["sales"] = _held(frame, "sales")
        failures = [f for f in failures if f.file != sources["sales"]] + [
            f for f in _cross_failures(tables, sources, valid) if f.file == sources["sales"]]
    if read_errors or failures:
        parts = read_errors + ([_message(failures)] if failures else [])
        message = parts[0] if len(parts) == 1 else "\n".join(parts)
        raise InputError(message, failures=_failures_frame(failures))
    return tables


def _standing_in(tables: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The tables for the checks between them: lines kept on disk by their distinct customers."""
    out = {}
    for kind, table in tables.items():
        if isinstance(table, orderlines.StoredLines):
            ids = orderlines.history(table).months["customer_id"].astype(str).unique()
            table = pd.DataFrame({"customer_id": pd.Series(ids, dtype=object)})
        out[kind] = table
    return out


def read_holiday_overrides(path: str | os.PathLike) -> pd.DataFrame:
    """Read the company's holiday overrides: ``date``, ``kind`` (holiday|workday), ``name``.

    Each date may appear once. Returns the table sorted by date.

    Examples
    --------
    >>> overrides = read_holiday_overrides("params/holidays.csv")  # doctest: +SKIP
    """
    df = read_table(path, "holiday_overrides")
    return df.sort_values("date", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# Writing and hashing
# ---------------------------------------------------------------------------
