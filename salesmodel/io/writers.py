"""Writing result tables: deterministic Parquet and spreadsheet-safe CSV, atomically."""
from __future__ import annotations

import csv
import hashlib
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.errors import ParamsError, short_list

_UNSAFE = re.compile(r"[^\w.\-]+")


def safe_name(name: str) -> str:
    """A file-name stem that stays inside its folder: word characters (any
    script), '.', '-'; everything else becomes '_'; no leading dots.

    >>> safe_name("../targets/华东 2027")
    'targets_华东_2027'
    """
    if not isinstance(name, str):
        raise ParamsError(f"The 'name' parameter must be a string. Got {type(name).__name__} instead.")
    cleaned = _UNSAFE.sub("_", name)
    cleaned = re.sub(r"\.{2,}", ".", cleaned).strip("._")
    if not cleaned:
        raise ParamsError(f"The 'name' parameter must contain letters or digits. Got {name!r} instead.")
    return cleaned[:150]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a table is as readable as any file the user writes
    try:
        write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _table_for_disk(df: pd.DataFrame, name: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise param_error("df", "write_table", "a DataFrame", shown=f"{type(df).__name__}")
    index = df.index
    if not isinstance(index, pd.RangeIndex) and any(n is not None for n in index.names):
        df = df.reset_index()  # a named index holds keys (e.g. after groupby): keep them as columns
    bad = [c for c in df.columns if not isinstance(c, str)]
    if bad:
        raise param_error("df", "write_table", f"a table with text column names (table '{name}')", bad, shown=short_list(bad))
    dupes = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dupes:
        raise param_error("df", "write_table", f"a table with unique column names (table '{name}')", dupes,
                          shown=f"{short_list(dupes)} more than once")
    if isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1:
        return df
    out = df.copy(deep=False)  # the index is not written: a fresh one, without copying the columns
    out.index = pd.RangeIndex(len(out))
    return out


# Rows per Parquet row group (pyarrow's default): a large table is converted and written a row group at a
# time, the same file as one conversion would give, without a second full copy of it in memory.
ROW_GROUP = 1024 * 1024


def content_sha256(parts: Iterable[pd.DataFrame]) -> str:
    """sha256 of a table's validated content given in consecutive parts (or whole, as one part): column
    names, dtypes and every value in order. Text held as categories hashes as the text it is.

    >>> a = pd.DataFrame({"x": [1, 2, 3]})
    >>> content_sha256([a]) == content_sha256([a.iloc[:1], a.iloc[1:]])
    True
    """
    digest = ContentHash()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


class ContentHash:
    """:func:`content_sha256` taken part by part, as the parts are read."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._started = False

    def update(self, part: pd.DataFrame) -> None:
        import json

        if not self._started:
            dtypes = [[str(c), str(t.categories.dtype if isinstance(t, pd.CategoricalDtype) else t)]
                      for c, t in part.dtypes.items()]
            self._digest.update(json.dumps(dtypes).encode("utf-8"))
            self._started = True
        self._digest.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "use_dictionary": True, "write_statistics": True,
                   "version": "2.6", "store_schema": True}


def parquet_writer(path: Path, like: pd.DataFrame):
    """A Parquet writer of frames shaped like ``like`` with :func:`write_table`'s settings (for a table
    written in parts, each part a row group or more)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.ParquetWriter(path, pa.Schema.from_pandas(like, preserve_index=False), **PARQUET_OPTIONS)


def _write_parquet(frame: pd.DataFrame, path: Path, stem: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if len(frame) <= ROW_GROUP:
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, **PARQUET_OPTIONS)
            return
        with parquet_writer(path, frame) as writer:
            for lo in range(0, len(frame), ROW_GROUP):
                writer.write_table(pa.Table.from_pandas(frame.iloc[lo:lo + ROW_GROUP], schema=writer.schema,
                                                        preserve_index=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise param_error("df", "write_table", f"a table with one type per column (table '{stem}')", shown=str(exc)) from None


def write_table(df: pd.DataFrame, out_dir: str | os.PathLike, name: str, *, with_csv: bool = True) -> list[Path]:
    """Write a table as ``name.parquet`` and ``name.csv`` in ``out_dir``, atomically.

    The Parquet file is the exact copy of the table. The CSV is for people and
    spreadsheets: text cells beginning with ``=``, ``+``, ``-``, ``@``, tab or
    carriage return are written with a leading ``'`` so a spreadsheet never runs
    them as formulas (see :func:`csv_safe`).

    The files are deterministic: the same frame gives byte-identical files
    (no pandas index, fixed compression and metadata; CSV in UTF-8 with
    ``\\n`` line ends and floats written as their shortest exact form), so
    their sha256 can prove a result. A named index (e.g. after ``groupby``)
    is kept as columns; an unnamed one is dropped. ``name`` is made safe
    with :func:`safe_name` (a warning says so when it changes).

    Returns
    -------
    list of Path
        The Parquet and CSV paths.

    Examples
    --------
    >>> import pandas as pd, tempfile
    >>> paths = write_table(pd.DataFrame({"x": [1.5]}), tempfile.mkdtemp(), "t")
    >>> [p.name for p in paths]
    ['t.parquet', 't.csv']
    """
    stem = safe_name(name)
    if stem != name:
        warnings.warn(f"table name {name!r} written as {stem!r} (file names keep letters, digits, '_', '-', '.')",
                      stacklevel=2)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame = _table_for_disk(df, stem)
    pq_path, csv_path = out / f"{stem}.parquet", out / f"{stem}.csv"
    for p in (pq_path, csv_path):  # never outside out_dir
        if p.resolve().parent != out.resolve():
            raise param_error("name", "write_table", f"a name that stays inside {out}", name)
    _atomic_write(pq_path, lambda tmp: _write_parquet(frame, tmp, stem))
    if not with_csv:  # e.g. the inputs copy in a run folder: Parquet is the exact copy
        return [pq_path]
    _atomic_write(csv_path, lambda tmp: csv_safe(frame).to_csv(
        tmp, index=False, encoding="utf-8", lineterminator="\n", float_format=None,
        date_format=None, quoting=csv.QUOTE_MINIMAL))
    return [pq_path, csv_path]


# Text starting with these is run as a formula (or DDE) when a CSV is opened in a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _neutralise(value: Any) -> Any:
    if isinstance(value, str):
        if value.startswith(FORMULA_START):
            value = "'" + value
        if "\r" in value:
            # The CSV writer quotes fields holding "\n" but not a bare "\r", which readers take
            # for a new row: carriage returns become line breaks in the CSV copy.
            value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy for CSV where text cells beginning with ``=``, ``+``, ``-``, ``@``, tab or CR get a
    leading ``'`` (OWASP's advice against formula injection), and so do such column names.
    Carriage returns inside text become line breaks (quoted), so no value can start a new row.

    Numbers are untouched (a negative number is a number, not text). The Parquet file of the
    same table is the exact copy; the CSV is for opening in a spreadsheet.
    """
    out = df
    text_cols = [c for c in df.columns if df[c].dtype == object or isinstance(df[c].dtype, (pd.StringDtype, pd.CategoricalDtype))]
    for col in text_cols:
        values = df[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        # Look at the distinct values only: large tables repeat a few thousand ids.
        uniques = pd.unique(values.to_numpy(dtype=object))
        if any(isinstance(v, str) and (v.startswith(FORMULA_START) or "\r" in v) for v in uniques):
            if out is df:
                out = df.copy()
            out[col] = values.map(_neutralise)
    renamed = {c: _neutralise(c) for c in out.columns if isinstance(c, str) and c.startswith(FORMULA_START)}
    return out.rename(columns=renamed) if renamed else out


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, as hex (streamed: large files are fine)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_rows(path: str | os.PathLike) -> int | None:
    """Data rows of a table file (header not counted); None for files that are not tables.

    Parquet from its footer; CSV by parsing records (quoted line breaks are
    one row); Excel from the first sheet.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
            n = sum(1 for record in csv.reader(fh) if record)
        return max(n - 1, 0)
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        try:
            ws = wb.worksheets[0]
            return sum(1 for row in ws.iter_rows(min_row=2, values_only=True)
                       if any(v is not None for v in row))
        finally:
            wb.close()
    return None
