"""Reading and validating the company's input tables; writing result tables.

Every input table kind (``sales``, ``customers``, ``reps``, ``org``,
``provinces``, ``adjacency``, and the calendar's ``holiday_overrides``) has one
declared :class:`TableSchema`. :func:`validate_table` checks a frame against
its schema lazily: it collects *every* failure of the table, then raises one
:class:`~salesmodel.errors.InputError` whose message names the file, and for
each failure the column, the check, a few example rows and what was expected
versus found. The failures are also attached as a DataFrame
(``InputError.failures``) for programmatic use.

Rows in messages are data rows counted from 1 at the first row below the
header, as a planner sees them in a spreadsheet opened from the file (the
spreadsheet row number is one more, because of the header).

Sources: CSV, Parquet and Excel (``.xlsx``) files chosen by suffix, and SQL
tables through an SQLAlchemy URL (``sqlite:///plan.db``,
``postgresql://user@host/db``).
"""
from __future__ import annotations

import csv
import difflib
import hashlib
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from salesmodel.errors import InputError, ParamsError, short_list

__all__ = [
    "KINDS",
    "PROVINCE_IDS",
    "SCHEMAS",
    "Column",
    "Order",
    "Reference",
    "TableSchema",
    "check_references",
    "csv_safe",
    "file_sha256",
    "input_sources",
    "read_holiday_overrides",
    "read_inputs",
    "read_table",
    "safe_name",
    "table_rows",
    "validate_table",
    "write_table",
]

ColumnKind = Literal["str", "float", "int", "date"]

# The 31 mainland provinces: ISO 3166-2:CN codes without the "CN-" prefix.
PROVINCE_IDS = (
    "BJ", "TJ", "HE", "SX", "NM", "LN", "JL", "HL", "SH", "JS", "ZJ", "AH", "FJ", "JX", "SD", "HA",
    "HB", "HN", "GD", "GX", "HI", "CQ", "SC", "GZ", "YN", "XZ", "SN", "GS", "QH", "NX", "XJ",
)

# The input kinds read_inputs returns, in reading order.
KINDS = ("sales", "customers", "reps", "org", "provinces", "adjacency")

# Plausible ceilings: a value above one is a unit or export mistake, never a sale. They also
# make overflow impossible: a billion rows at the ceiling sum far below float64's limit
# (and units far below int64's).
AMOUNT_CEILING = 1e12  # yuan on one order line
POTENTIAL_CEILING = 1e13  # yuan of one customer's annual potential
UNITS_CEILING = 1_000_000_000  # units on one order line
POPULATION_CEILING = 10_000_000_000
# Ids (customer_id, rep_id, ...): printable text without control characters, at most this long;
# other text columns (names, cities) at most TEXT_MAX_LENGTH and without control characters.
ID_MAX_LENGTH = 64
TEXT_MAX_LENGTH = 200
_EXAMPLES = 5  # example rows / values shown per failure
_KEEP_ROWS = 1000  # rows kept per failure in InputError.failures
_FILE_SUFFIXES = (".csv", ".parquet", ".pq", ".xlsx", ".xlsm")


# ---------------------------------------------------------------------------
# Schemas, as data
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One declared column of an input table.

    Parameters
    ----------
    name : str
        Column name (lower_snake_case).
    kind : {"str", "float", "int", "date"}
        Text (ids stay text even when they look like numbers), a real number,
        a whole number, or a calendar day.
    required : bool, default=True
        The column must be present. An optional column that is absent is
        added, all empty.
    nullable : bool, default=False
        Empty cells are allowed.
    allowed : tuple of str, optional
        The only values allowed.
    min, max : float, optional
        Bounds (inclusive) of numbers.
    in_history : bool, default=False
        Dates must lie in the declared history range (``data.history_start``
        to ``data.history_end``).
    description : str
        Plain words for messages.
    """

    name: str
    kind: ColumnKind
    required: bool = True
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    in_history: bool = False
    description: str = ""

    def expected(self) -> str:
        """What a value of this column looks like, in plain words."""
        what = {
            "str": "text",
            "float": "a number",
            "int": "a whole number",
            "date": "a date like 2024-01-31 (YYYY-MM-DD)",
        }[self.kind]
        if self.allowed is not None:
            what = "one of " + ", ".join(self.allowed)
        if self.min is not None and self.max is not None:
            what += f" between {_num(self.min)} and {_num(self.max)}"
        elif self.min is not None:
            what += f" >= {_num(self.min)}"
        elif self.max is not None:
            what += f" <= {_num(self.max)}"
        return what


@dataclass(frozen=True)
class Reference:
    """Values of ``column`` must appear in ``table.target`` (rows of ``table``
    restricted to ``where = (column, value)`` when given)."""

    column: str
    table: str
    target: str
    where: tuple[str, str] | None = None


@dataclass(frozen=True)
class Order:
    """Where both are present, ``first <= second`` (``first < second`` when strict)."""

    first: str
    second: str
    strict: bool = False


@dataclass(frozen=True)
class TableSchema:
    """The declared shape of one kind of input table."""

    kind: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    orders: tuple[Order, ...] = ()
    # Extra whole-table checks: (frame, context) -> failures.
    checks: tuple[Callable[[pd.DataFrame, _Context], list[_Failure]], ...] = field(default=())

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _org_levels(df: pd.DataFrame, ctx: _Context) -> list[_Failure]:
    """One company at the root; regions under the company; provinces under regions."""
    out: list[_Failure] = []
    need = {"unit_id", "parent_id", "level"}
    if not need <= set(df.columns) or not {"unit_id", "level"} <= ctx.valid_columns:
        return out
    level = df["level"]
    parent = df["parent_id"]
    company = level.eq("company").to_numpy()
    if company.sum() != 1:
        rows = np.flatnonzero(company)
        out.append(ctx.fail(
            "level", "one_company", rows,
            expected="exactly one row with level 'company' (the root of the organisation)",
            found=f"{len(rows)} company rows",
            problem=f"{len(rows)} rows have level 'company'" + (" " + ctx.at(rows) if len(rows) else ""),
        ))
    root_with_parent = company & parent.notna().to_numpy()
    if root_with_parent.any():
        rows = np.flatnonzero(root_with_parent)
        out.append(ctx.fail(
            "parent_id", "company_parent", rows,
            expected="an empty parent_id for the company",
            found=short_list(parent.iloc[rows].unique(), _EXAMPLES),
            problem=f"the company row has a parent {ctx.at(rows)}",
        ))
    orphan = ~company & parent.isna().to_numpy()
    if orphan.any():
        rows = np.flatnonzero(orphan)
        out.append(ctx.fail(
            "parent_id", "required", rows,
            expected="a parent_id for every region and province",
            found="empty",
            problem=f"{len(rows)} units other than the company have no parent {ctx.at(rows)}",
        ))
    # Parent's level must be the level just above.
    above = {"region": "company", "province": "region"}
    parent_level = parent.map(pd.Series(level.to_numpy(), index=df["unit_id"].to_numpy()).groupby(level=0).first())
    wanted = level.map(above)
    wrong = (parent_level.notna() & wanted.notna() & (parent_level != wanted)).to_numpy()
    if wrong.any():
        rows = np.flatnonzero(wrong)
        pairs = [f"{lv} under {pl}" for lv, pl in zip(level.iloc[rows], parent_level.iloc[rows])]
        out.append(ctx.fail(
            "parent_id", "parent_level", rows,
            expected="a region's parent to be the company and a province's parent to be a region",
            found=short_list(dict.fromkeys(pairs), _EXAMPLES),
            problem=(f"{len(rows)} unit{'s hang' if len(rows) > 1 else ' hangs'} under the wrong level {ctx.at(rows)}"),
        ))
    return out


_PRODUCTS = ("A", "B", "C")
_CHANNELS = ("online", "offline", "partner")
_TIERS = ("VIP", "first", "second", "other")
_CUSTOMER_TYPES = ("wholesaler", "retailer", "supermarket", "online_store")
_LEVELS = ("company", "region", "province")
_REGION = ("level", "region")

SCHEMAS: dict[str, TableSchema] = {
    "sales": TableSchema(
        "sales",
        "the sales history (one row per order line)",
        (
            Column("date", "date", in_history=True, description="order day"),
            Column("customer_id", "str"),
            Column("product", "str", allowed=_PRODUCTS),
            Column("channel", "str", allowed=_CHANNELS),
            Column("amount", "float", min=0, max=AMOUNT_CEILING, description="sales in yuan"),
            Column("units", "int", min=0, max=UNITS_CEILING),
        ),
        references=(Reference("customer_id", "customers", "customer_id"),),
    ),
    "customers": TableSchema(
        "customers",
        "the customers",
        (
            Column("customer_id", "str"),
            Column("customer_name", "str"),
            Column("rep_id", "str"),
            Column("province_id", "str"),
            Column("city_zh", "str"),
            Column("city_en", "str"),
            Column("lat", "float", min=-90, max=90),
            Column("lon", "float", min=-180, max=180),
            Column("tier", "str", allowed=_TIERS),
            Column("customer_type", "str", allowed=_CUSTOMER_TYPES),
            Column("potential", "float", min=0, max=POTENTIAL_CEILING, description="annual market potential in yuan"),
            Column("first_order_date", "date"),
            Column("churn_date", "date", required=False, nullable=True, description="empty if active"),
        ),
        key=("customer_id",),
        references=(
            Reference("rep_id", "reps", "rep_id"),
            Reference("province_id", "provinces", "province_id"),
        ),
        orders=(Order("first_order_date", "churn_date"),),
    ),
    "reps": TableSchema(
        "reps",
        "the sales reps",
        (
            Column("rep_id", "str"),
            Column("rep_name", "str"),
            Column("province_id", "str"),
            Column("region_id", "str"),
            Column("role", "str"),
            Column("hire_date", "date"),
            Column("leave_date", "date", required=False, nullable=True, description="empty if active"),
        ),
        key=("rep_id",),
        references=(
            Reference("province_id", "provinces", "province_id"),
            Reference("region_id", "org", "unit_id", where=_REGION),
        ),
        orders=(Order("hire_date", "leave_date"),),
    ),
    "org": TableSchema(
        "org",
        "the organisation (company, regions, provinces)",
        (
            Column("unit_id", "str"),
            Column("parent_id", "str", nullable=True, description="empty for the company"),
            Column("level", "str", allowed=_LEVELS),
            Column("name_en", "str"),
            Column("name_zh", "str"),
        ),
        key=("unit_id",),
        references=(Reference("parent_id", "org", "unit_id"),),
        checks=(_org_levels,),
    ),
    "provinces": TableSchema(
        "provinces",
        "the provinces (geography)",
        (
            Column("province_id", "str", allowed=PROVINCE_IDS),
            Column("name_zh", "str"),
            Column("name_en", "str"),
            Column("region_id", "str"),
            Column("capital_zh", "str"),
            Column("capital_en", "str"),
            Column("lat", "float", min=-90, max=90),
            Column("lon", "float", min=-180, max=180),
            Column("population", "int", min=0, max=POPULATION_CEILING),
        ),
        key=("province_id",),
        references=(Reference("region_id", "org", "unit_id", where=_REGION),),
    ),
    "adjacency": TableSchema(
        "adjacency",
        "the province adjacency (one row per bordering pair)",
        (
            Column("province_a", "str"),
            Column("province_b", "str"),
        ),
        key=("province_a", "province_b"),
        references=(
            Reference("province_a", "provinces", "province_id"),
            Reference("province_b", "provinces", "province_id"),
        ),
        orders=(Order("province_a", "province_b", strict=True),),
    ),
    "holiday_overrides": TableSchema(
        "holiday_overrides",
        "the company's holiday overrides",
        (
            Column("date", "date"),
            Column("kind", "str", allowed=("holiday", "workday")),
            Column("name", "str", required=False, nullable=True),
        ),
        key=("date",),
    ),
}


# ---------------------------------------------------------------------------
# Failures and messages
# ---------------------------------------------------------------------------


@dataclass
class _Failure:
    file: str
    column: str
    check: str
    rows: np.ndarray  # 0-based positions
    expected: str
    found: str
    text: str


@dataclass
class _Context:
    """What a check needs to word its failure: the source's name and the key."""

    file: str
    frame: pd.DataFrame | Mapping[str, pd.Series]
    key: tuple[str, ...]
    valid_columns: set[str] = field(default_factory=set)

    def at(self, rows: np.ndarray) -> str:
        """'at rows 3, 7 (customer_id 'C3', 'C7')' for 0-based positions."""
        if len(rows) == 0:
            return ""
        shown = _few([int(r) + 1 for r in rows[:_EXAMPLES]], len(rows))
        word = "row" if len(rows) == 1 else "rows"
        text = f"at {word} {shown}"
        if self.key and set(self.key) <= self.valid_columns:
            cols = [self.frame[k].iloc[rows[:_EXAMPLES]].tolist() for k in self.key]
            if len(self.key) == 1:
                vals = [v for v in cols[0] if isinstance(v, str)]
            else:
                vals = ["/".join(map(str, t)) for t in zip(*cols)]
            if vals:
                text += f" ({'/'.join(self.key)} {short_list(vals, _EXAMPLES)})"
        return text

    def fail(self, column: str, check: str, rows: Iterable[int], *, expected: str, found: str,
             problem: str) -> _Failure:
        rows = np.asarray(rows, dtype=np.int64)
        where = f"column '{column}': " if column else ""
        text = f"{where}{problem}; expected {expected}"
        if found:
            text += f", found {found}"
        return _Failure(self.file, column, check, rows, expected, found, text)


def _num(x: float) -> str:
    if float(x).is_integer():
        return f"{int(x):,}" if abs(x) >= 1e6 else str(int(x))
    return repr(float(x))


def _values(values: Iterable[Any]) -> str:
    """A few distinct example values, as a planner would type them, and how many more."""
    distinct = pd.unique(np.asarray(list(values) if not isinstance(values, pd.Series) else values.to_numpy(),
                                    dtype=object))
    return _few([_plain(v) for v in distinct[:_EXAMPLES]], len(distinct))


def _few(shown: list[Any], total: int) -> str:
    """``short_list`` of the first few of ``total`` things, saying how many more."""
    text = short_list(shown, _EXAMPLES)
    return text + (f" (and {total - len(shown)} more)" if total > len(shown) else "")


def _plain(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d") if v == v.normalize() else v.isoformat(sep=" ")
    if isinstance(v, np.generic):
        return v.item()
    return v


def _failures_frame(failures: list[_Failure]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file": [f.file for f in failures],
            "column": [f.column for f in failures],
            "check": [f.check for f in failures],
            "rows": [[int(r) + 1 for r in f.rows[:_KEEP_ROWS]] for f in failures],
            "count": [len(f.rows) for f in failures],
            "expected": [f.expected for f in failures],
            "found": [f.found for f in failures],
        },
        columns=["file", "column", "check", "rows", "count", "expected", "found"],
    )


def _message(failures: list[_Failure]) -> str:
    by_file: dict[str, list[_Failure]] = {}
    for f in failures:
        by_file.setdefault(f.file, []).append(f)
    parts = []
    for file, fs in by_file.items():
        n = len(fs)
        head = f"{file}: {n} problem{'s' if n > 1 else ''}"
        if any(len(f.rows) for f in fs):
            head += (" (rows counted from 1 in the order the database returned them)" if "://" in file
                     else " (rows are data rows counted from 1, the header not counted)")
        parts.append(head + ":\n" + "\n".join(f"  - {f.text}" for f in fs))
    if len(by_file) > 1:
        total = len(failures)
        return f"{total} problems in {len(by_file)} input tables:\n" + "\n".join(parts)
    return parts[0]


def _raise(failures: list[_Failure]) -> None:
    if failures:
        raise InputError(_message(failures), failures=_failures_frame(failures))


# ---------------------------------------------------------------------------
# Coercion: text, numbers, dates
# ---------------------------------------------------------------------------

_DATE_TEXT = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


def _cell_text(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return np.nan
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, float):
        if np.isnan(v):
            return np.nan
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (np.floating,)):
        return _cell_text(float(v))
    if isinstance(v, (pd.Timestamp,)):
        return _plain(v)
    return str(v)


def _as_text(s: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray, tuple]:
    """Text values (ids stay text even if they look numeric) and the bad-value mask.

    Works on the distinct values: millions of rows hold a few thousand ids.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    uniques = pd.Index(uniques)
    if uniques.dtype == object and pd.api.types.infer_dtype(uniques, skipna=True) in ("string", "empty"):
        clean = np.asarray(uniques.str.strip(), dtype=object)
    else:
        clean = np.array([_cell_text(v) for v in uniques], dtype=object)
    clean[clean == ""] = np.nan
    missing = np.append(pd.isna(clean), True)[codes]
    values = pd.Series(np.append(clean, np.nan)[codes], index=s.index, dtype=object)  # code -1: NaN
    return values, np.zeros(len(s), dtype=bool), missing, (codes, clean)


def _is_id(name: str) -> bool:
    return name.endswith("_id") or name in ("province_a", "province_b")


# Bidirectional overrides can make an id display as another one.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _odd_text(values: pd.Series, factor: tuple, *, is_id: bool) -> np.ndarray:
    """Mask of text that is too long or holds control characters (ids: anything not printable)."""
    codes, clean = factor
    limit = ID_MAX_LENGTH if is_id else TEXT_MAX_LENGTH
    bad_u = np.zeros(len(clean), dtype=bool)
    for i, v in enumerate(clean):
        if not isinstance(v, str):
            continue
        if len(v) > limit:
            bad_u[i] = True
        elif is_id:
            bad_u[i] = not v.isprintable() or any(c in _BIDI for c in v)
        else:
            bad_u[i] = any(ord(c) < 32 or 127 <= ord(c) < 160 or c in _BIDI for c in v)
    return (codes >= 0) & np.append(bad_u, False)[codes]


def _unknown(values: pd.Series, known: Iterable[Any], factor: tuple | None = None) -> np.ndarray:
    """Mask of present values not in ``known`` (hashing the distinct values only)."""
    codes, uniques = factor if factor is not None else pd.factorize(values, use_na_sentinel=True)
    uniques = pd.Index(uniques, dtype=object)
    bad_u = ~uniques.isin(list(known)) & uniques.notna()
    return (codes >= 0) & np.append(bad_u, False)[codes]


def _as_number(s: pd.Series, whole: bool) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(np.nan, index=s.index), s.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(s.dtype):
        out = pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index)
        given = out.notna().to_numpy()
    else:
        obj = s.astype(object)
        if pd.api.types.infer_dtype(obj, skipna=True) in ("string", "empty"):
            obj = obj.str.strip()
        given = (obj.notna() & obj.ne("")).to_numpy()
        out = pd.to_numeric(obj.where(given, np.nan), errors="coerce").astype("float64")
    v = out.to_numpy()
    with np.errstate(invalid="ignore"):
        bad = given & ~np.isfinite(v)
        if whole:
            bad |= given & np.isfinite(v) & (v != np.floor(v))
    out = out.where(~bad, np.nan)
    if whole and not out.isna().any():
        out = out.astype("int64")
    return out, bad


def _as_date(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        out = s.astype("datetime64[ns]").dt.normalize()
        return out, np.zeros(len(s), dtype=bool)
    # Parse each distinct value once: a few thousand days, millions of rows.
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    parsed = np.full(len(uniques), np.datetime64("NaT"), dtype="datetime64[ns]")
    given = np.ones(len(uniques), dtype=bool)
    texts, text_pos, other_pos = [], [], []
    for i, v in enumerate(uniques):
        if isinstance(v, str):
            t = v.strip()
            if not t:
                given[i] = False
            elif _DATE_TEXT.match(t):
                texts.append(t.replace("/", "-").replace(".", "-"))
                text_pos.append(i)
        elif isinstance(v, (date, pd.Timestamp, np.datetime64)):
            other_pos.append(i)
        elif v is pd.NaT or v is None:
            given[i] = False
    if texts:
        parsed[text_pos] = pd.to_datetime(pd.Series(texts), errors="coerce", format="ISO8601").to_numpy("datetime64[ns]")
    if other_pos:
        parsed[other_pos] = pd.to_datetime(pd.Series([uniques[i] for i in other_pos], dtype=object),
                                           errors="coerce").to_numpy("datetime64[ns]")
    days = pd.Series(parsed).dt.normalize().to_numpy()
    bad_u = given & np.isnat(days)
    out = np.where(codes >= 0, days[np.maximum(codes, 0)], np.datetime64("NaT"))
    bad = np.where(codes >= 0, bad_u[np.maximum(codes, 0)], False)
    return pd.Series(out.astype("datetime64[ns]"), index=s.index), bad


def _coerce(s: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray, np.ndarray, tuple | None]:
    """Values in the column's dtype, masks of bad and of missing cells, and the
    (codes, distinct values) of text columns for fast membership checks."""
    if col.kind == "str":
        return _as_text(s)
    if col.kind == "date":
        values, bad = _as_date(s)
        return values, bad, np.isnat(values.to_numpy()) & ~bad, None
    values, bad = _as_number(s, whole=col.kind == "int")
    missing = np.isnan(values.to_numpy(dtype="float64")) & ~bad
    return values, bad, missing, None


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _date_range(date_range: tuple[Any, Any] | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    if date_range is None:
        return None, None
    if not isinstance(date_range, (tuple, list)) or len(date_range) != 2:
        raise ParamsError(
            "The 'date_range' parameter must be a (start, end) pair of dates or None. "
            f"Got {date_range!r} instead."
        )
    lo, hi = (pd.Timestamp(d).normalize() if d is not None else None for d in date_range)
    if lo is not None and hi is not None and lo > hi:
        raise ParamsError(
            f"The 'date_range' parameter must have start <= end. Got {lo.date()} > {hi.date()} instead."
        )
    return lo, hi


def _check_table(df: pd.DataFrame, schema: TableSchema, source: str,
                 date_range: tuple[Any, Any] | None) -> tuple[pd.DataFrame, list[_Failure], set[str]]:
    """Coerce ``df`` to its schema and collect every failure (lazy validation).

    Returns the coerced frame, the failures and the columns that are usable
    (present and correctly typed) for cross-table checks.
    """
    lo, hi = _date_range(date_range)
    df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    out: dict[str, pd.Series] = {}
    valid: set[str] = set()
    # Messages show key values of coerced, valid key columns as they become known.
    ctx = _Context(source, out, schema.key, valid)  # type: ignore[arg-type]
    failures: list[_Failure] = []

    if len(df) == 0:
        failures.append(ctx.fail("", "empty", [], expected=f"at least one data row ({schema.description})",
                                 found="no rows", problem="the table is empty"))

    present = set(df.columns)
    dupe_names = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    for name in dupe_names:
        failures.append(ctx.fail(name, "duplicate_column", [], expected="each column once",
                                 found=f"{list(df.columns).count(name)} columns named '{name}'",
                                 problem="the column appears more than once"))
    unknown = [c for c in df.columns if c not in schema.names]
    for col in schema.columns:
        if col.name not in present:
            if not col.required:
                out[col.name] = pd.Series(
                    np.full(len(df), np.datetime64("NaT"), dtype="datetime64[ns]") if col.kind == "date"
                    else np.full(len(df), np.nan, dtype=object if col.kind == "str" else "float64"))
                valid.add(col.name)
                continue
            hint = difflib.get_close_matches(col.name, unknown, n=1, cutoff=0.6)
            if not hint:
                hint = [c for c in unknown if c.strip().lower() == col.name.lower()][:1]
            expected = f"a column '{col.name}' holding {col.expected()}"
            if hint:
                found = f"'{hint[0]}'"
                text = (f"column '{col.name}' not found; the file has '{hint[0]}': did you mean "
                        f"'{col.name}'? (expected {col.expected()})")
            else:
                found = "columns " + short_list(list(df.columns), 12)
                text = f"column '{col.name}' not found; expected {expected}, found {found}"
            failures.append(_Failure(source, col.name, "missing_column", np.zeros(0, dtype=np.int64),
                                     expected, found, text))
            continue
        if col.name in dupe_names:
            continue
        raw = df[col.name]
        values, bad, missing, factor = _coerce(raw, col)
        out[col.name] = values
        ok = True
        if bad.any():
            rows = np.flatnonzero(bad)
            one, many = {"float": ("a number", "numbers"), "int": ("a whole number", "whole numbers"),
                         "date": ("a date", "dates")}[col.kind]
            noun = f"values are not {many}" if len(rows) > 1 else f"value is not {one}"
            failures.append(ctx.fail(col.name, "date" if col.kind == "date" else "dtype", rows,
                                     expected=col.expected(), found=_values(raw.iloc[rows]),
                                     problem=f"{len(rows)} {noun} {ctx.at(rows)}"))
            ok = False
        if not col.nullable and missing.any():
            rows = np.flatnonzero(missing)
            failures.append(ctx.fail(col.name, "required", rows, expected="a value in every row",
                                     found="empty cells",
                                     problem=f"{len(rows)} empty value{'s' if len(rows) > 1 else ''} {ctx.at(rows)}"))
            ok = False
        if col.kind == "str" and factor is not None:
            odd = _odd_text(values, factor, is_id=_is_id(col.name))
            if odd.any():
                rows = np.flatnonzero(odd)
                limit = ID_MAX_LENGTH if _is_id(col.name) else TEXT_MAX_LENGTH
                what = "printable characters" if _is_id(col.name) else "characters"
                failures.append(ctx.fail(col.name, "text", rows,
                                         expected=f"text of at most {limit} {what} without control characters",
                                         found=_values(values.iloc[rows]),
                                         problem=f"{len(rows)} value{'s' if len(rows) > 1 else ''} too long or "
                                                 f"with control characters {ctx.at(rows)}"))
                ok = False
        if col.allowed is not None:
            wrong = _unknown(values, col.allowed, factor)
            if wrong.any():
                rows = np.flatnonzero(wrong)
                failures.append(ctx.fail(col.name, "allowed", rows, expected=col.expected(),
                                         found=_values(values.iloc[rows]),
                                         problem=f"{len(rows)} value{'s' if len(rows) > 1 else ''} not allowed {ctx.at(rows)}"))
                ok = False
        if col.min is not None or col.max is not None:
            v = values.to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                for check, mask, word in (
                    ("min", v < col.min if col.min is not None else None, f"below {_num(col.min or 0)}"),
                    ("max", v > col.max if col.max is not None else None, f"above {_num(col.max or 0)}"),
                ):
                    if mask is not None and mask.any():
                        rows = np.flatnonzero(mask)
                        extra = " (negative values are not allowed)" if check == "min" and col.min == 0 else ""
                        # A value below the floor is told the floor; one above the ceiling the ceiling.
                        bound = (f" >= {_num(col.min)}" if check == "min" else f" <= {_num(col.max)}")
                        expected = (col.expected() if col.min is None or col.max is None or col.allowed
                                    else {"float": "a number", "int": "a whole number"}.get(col.kind, "a value") + bound)
                        failures.append(ctx.fail(col.name, check, rows, expected=expected + extra,
                                                 found=_values(values.iloc[rows]),
                                                 problem=f"{len(rows)} value{'s' if len(rows) > 1 else ''} {word} {ctx.at(rows)}"))
                        ok = False
        if col.in_history and (lo is not None or hi is not None):
            outside = np.zeros(len(values), dtype=bool)
            if lo is not None:
                outside |= (values < lo).to_numpy()
            if hi is not None:
                outside |= (values > hi).to_numpy()
            if outside.any():
                rows = np.flatnonzero(outside)
                span = f"{lo.date() if lo is not None else '...'} to {hi.date() if hi is not None else '...'}"
                found_lo, found_hi = values.iloc[rows].min(), values.iloc[rows].max()
                failures.append(ctx.fail(
                    col.name, "date_range", rows,
                    expected=f"dates within the declared history range {span} (data.history_start, data.history_end)",
                    found=f"dates from {found_lo.date()} to {found_hi.date()}",
                    problem=f"{len(rows)} date{'s' if len(rows) > 1 else ''} outside the declared range {ctx.at(rows)}"))
                ok = False
        if ok:
            valid.add(col.name)

    # concat keeps each column's array (a dict would copy every block).
    for k, v in out.items():
        v.name = k  # our own series: naming in place avoids a copy
    frame = pd.concat(list(out.values()), axis=1, copy=False) if out else pd.DataFrame(index=df.index)
    for c in df.columns:  # extra columns are kept, after the declared ones
        if c not in frame.columns and c not in dupe_names:
            frame[c] = df[c]
    ctx.frame, ctx.valid_columns = frame, valid

    if schema.key and set(schema.key) <= valid:
        dup = frame.duplicated(list(schema.key), keep=False).to_numpy()
        if dup.any():
            rows = np.flatnonzero(dup)
            keys = frame.iloc[rows][list(schema.key)]
            shown = []
            for kv, grp in keys.groupby(list(schema.key), sort=False).groups.items():
                kv = kv if isinstance(kv, tuple) else (kv,)
                label = "/".join(str(_plain(x)) for x in kv)
                shown.append(f"'{label}' at rows {', '.join(str(int(frame.index.get_loc(i)) + 1) for i in grp[:4])}")
                if len(shown) == 3:
                    break
            n_keys = len(keys.drop_duplicates())
            more = f" (and {n_keys - 3} more keys)" if n_keys > 3 else ""
            key_name = "/".join(schema.key)
            failures.append(_Failure(
                source, key_name, "unique", rows, f"each {key_name} once",
                "; ".join(shown) + more,
                f"column '{key_name}': {n_keys} duplicate key{'s' if n_keys > 1 else ''} in {len(rows)} rows: "
                + "; ".join(shown) + more + f"; expected each {key_name} once"))

    for order in schema.orders:
        if {order.first, order.second} <= valid:
            a, b = frame[order.first], frame[order.second]
            both = (a.notna() & b.notna()).to_numpy()
            with np.errstate(invalid="ignore"):
                wrong = both & ((a >= b) if order.strict else (a > b)).to_numpy(dtype=bool, na_value=False)
            if wrong.any():
                rows = np.flatnonzero(wrong)
                rel = "<" if order.strict else "<="
                pairs = [f"{_plain(x)} vs {_plain(y)}" for x, y in zip(a.iloc[rows[:_EXAMPLES]], b.iloc[rows[:_EXAMPLES]])]
                failures.append(ctx.fail(
                    order.second, "order", rows, expected=f"{order.first} {rel} {order.second}",
                    found=short_list(pairs, _EXAMPLES),
                    problem=f"{len(rows)} row{'s' if len(rows) > 1 else ''} with {order.first} "
                            f"{'not before' if order.strict else 'after'} {order.second} {ctx.at(rows)}"))

    for ref in schema.references:
        if ref.table == schema.kind:
            failures.extend(_reference_failures(frame, ref, frame, source, source, ctx))

    for check in schema.checks:
        failures.extend(check(frame, ctx))
    return frame, failures, valid


def _reference_failures(frame: pd.DataFrame, ref: Reference, target: pd.DataFrame,
                        source: str, target_source: str, ctx: _Context) -> list[_Failure]:
    if ref.column not in ctx.valid_columns or ref.target not in target.columns:
        return []
    known = target
    if ref.where is not None and ref.where[0] in target.columns:
        known = target[target[ref.where[0]] == ref.where[1]]
    values = frame[ref.column]
    unknown = _unknown(values, known[ref.target].dropna().unique())
    if not unknown.any():
        return []
    rows = np.flatnonzero(unknown)
    bad = values.iloc[rows]
    n_values = bad.nunique()
    scope = f" (rows with {ref.where[0]} '{ref.where[1]}')" if ref.where else ""
    target_name = "this table" if target_source == source else target_source
    return [ctx.fail(
        ref.column, "reference", rows,
        expected=f"a {ref.target} listed in {target_name}{scope}",
        found=_values(bad),
        problem=f"{n_values} unknown value{'s' if n_values > 1 else ''} in {len(rows)} "
                f"row{'s' if len(rows) > 1 else ''} {ctx.at(rows)}")]


def validate_table(df: pd.DataFrame, kind: str, *, source: str | None = None,
                   date_range: tuple[Any, Any] | None = None) -> pd.DataFrame:
    """Check a frame against the schema of its kind; return it coerced.

    Every failure of the table is collected before raising one
    :class:`~salesmodel.errors.InputError` (with ``failures`` attached).
    Declared columns come first, with their dtypes (ids as text, dates as
    ``datetime64[ns]`` days); extra columns are kept after them.

    Parameters
    ----------
    df : DataFrame
        The table as read.
    kind : str
        One of ``SCHEMAS``: sales, customers, reps, org, provinces, adjacency,
        holiday_overrides.
    source : str, optional
        Name used in messages (the file); default ``"<kind> table"``.
    date_range : (start, end), optional
        Declared history range; dates of ``in_history`` columns outside it fail.

    Examples
    --------
    >>> import pandas as pd
    >>> adj = pd.DataFrame({"province_a": ["BJ"], "province_b": ["TJ"]})
    >>> validate_table(adj, "adjacency").shape
    (1, 2)
    """
    schema = _schema(kind)
    frame, failures, _ = _check_table(df, schema, source or f"{kind} table", date_range)
    _raise(failures)
    return frame


def _schema(kind: str) -> TableSchema:
    if kind not in SCHEMAS:
        hint = difflib.get_close_matches(str(kind), SCHEMAS, n=1)
        raise ParamsError(
            f"The 'kind' parameter must be one of {', '.join(SCHEMAS)}. Got {kind!r} instead."
            + (f" Did you mean '{hint[0]}'?" if hint else "")
        )
    return SCHEMAS[kind]


def _cross_failures(tables: Mapping[str, pd.DataFrame], sources: Mapping[str, str],
                    valid: Mapping[str, set[str]]) -> list[_Failure]:
    failures: list[_Failure] = []
    for kind, frame in tables.items():
        schema = SCHEMAS[kind]
        ctx = _Context(sources[kind], frame, schema.key, set(valid[kind]))
        for ref in schema.references:
            if ref.table == kind or ref.table not in tables:
                continue
            if ref.target not in valid.get(ref.table, set()):
                continue
            failures.extend(_reference_failures(frame, ref, tables[ref.table], sources[kind],
                                                sources[ref.table], ctx))
    return failures


def check_references(tables: Mapping[str, pd.DataFrame], sources: Mapping[str, str] | None = None) -> None:
    """Check references between validated tables (a customer's rep must be in reps, ...).

    ``tables`` maps kinds to frames as :func:`validate_table` returns them;
    references to a kind that is not given are skipped. Raises one
    :class:`~salesmodel.errors.InputError` listing every unknown key.

    Examples
    --------
    >>> import pandas as pd
    >>> prov = validate_table(pd.DataFrame({"province_id": ["BJ"], "name_zh": ["北京"],
    ...     "name_en": ["Beijing"], "region_id": ["N"], "capital_zh": ["北京"],
    ...     "capital_en": ["Beijing"], "lat": [39.9], "lon": [116.4], "population": [21_840_000]}),
    ...     "provinces")
    >>> adj = pd.DataFrame({"province_a": ["BJ"], "province_b": ["TJ"]})
    >>> check_references({"provinces": prov, "adjacency": adj})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    salesmodel.errors.InputError: adjacency table: 1 problem ...
    """
    sources = {k: (sources or {}).get(k, f"{k} table") for k in tables}
    for k in tables:
        _schema(k)
    valid = {k: set(df.columns) for k, df in tables.items()}
    _raise(_cross_failures(tables, sources, valid))


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


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


def _read_file(path: Path, kind: str, table: str | None) -> tuple[pd.DataFrame, str]:
    label = str(path)
    suffix = path.suffix.lower()
    if suffix not in _FILE_SUFFIXES:
        raise InputError(f"{label}: cannot read '{suffix or 'no suffix'}' files; expected a .csv, "
                         f".parquet or .xlsx file (or an SQLAlchemy URL) for {SCHEMAS[kind].description}")
    if not path.is_file():
        where = "a folder, not a file" if path.is_dir() else "file not found"
        raise InputError(f"{label}: {where} (expected {SCHEMAS[kind].description})")
    if table is not None and suffix not in (".xlsx", ".xlsm"):
        raise ParamsError(f"The 'table' parameter of read_table names an Excel sheet or an SQL table; "
                          f"'{path.name}' is a {suffix} file. Got {table!r} instead.")
    try:
        if suffix == ".csv":
            # Everything as text first: ids keep leading zeros, "NA" stays a name.
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                             encoding="utf-8-sig", skipinitialspace=False)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path, engine="pyarrow")
        else:
            import openpyxl  # noqa: F401 - fail here with a clear message if missing

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


def _read_raw(source: Any, kind: str, table: str | None) -> tuple[pd.DataFrame, str]:
    _schema(kind)
    if _is_url(source):
        return _read_sql(source, table or kind, kind)
    if hasattr(source, "connect") and hasattr(source, "dialect"):  # an SQLAlchemy Engine
        return _read_sql(source.url.render_as_string(hide_password=False), table or kind, kind)
    if not isinstance(source, (str, os.PathLike)):
        raise ParamsError("The 'source' parameter of read_table must be a file path or an SQLAlchemy "
                          f"URL. Got {type(source).__name__} instead.")
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
    frame, failures, _ = _check_table(df, SCHEMAS[kind], label, date_range)
    _raise(failures)
    return frame


def input_sources(data: Any) -> dict[str, str]:
    """Where each input kind is read from: file paths, or ``URL#table`` for SQL."""
    if data.sql_url:
        return {k: f"{data.sql_url}#{k}" for k in KINDS}
    return {k: str(Path(data.dir) / getattr(data, k)) for k in KINDS}


def read_inputs(data: Any) -> dict[str, pd.DataFrame]:
    """Read and validate the six input tables, then the references between them.

    Parameters
    ----------
    data : salesmodel.params.DataParams
        The ``data`` section of a scenario: a folder and file names, or an
        ``sql_url`` (each table then read from the database table named like
        its kind), and optionally the declared history range.

    Returns
    -------
    dict of str to DataFrame
        Keys sales, customers, reps, org, provinces, adjacency.

    Raises
    ------
    InputError
        One message for all problems of all tables (each part naming its file).

    Examples
    --------
    >>> from salesmodel.params import load_params
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
    for kind in KINDS:
        source = data.sql_url if data.sql_url else Path(data.dir) / getattr(data, kind)
        try:
            df, label = _read_raw(source, kind, None)
        except InputError as exc:
            read_errors.append(str(exc))
            continue
        frame, fs, ok_cols = _check_table(df, SCHEMAS[kind], label, date_range if kind == "sales" else None)
        tables[kind], sources[kind], valid[kind] = frame, label, ok_cols
        failures.extend(fs)
    failures.extend(_cross_failures(tables, sources, valid))
    if read_errors or failures:
        parts = read_errors + ([_message(failures)] if failures else [])
        message = parts[0] if len(parts) == 1 else "\n".join(parts)
        raise InputError(message, failures=_failures_frame(failures))
    return tables


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
        raise ParamsError(f"The 'df' parameter of write_table must be a DataFrame. Got {type(df).__name__} instead.")
    index = df.index
    if not isinstance(index, pd.RangeIndex) and any(n is not None for n in index.names):
        df = df.reset_index()  # a named index holds keys (e.g. after groupby): keep them as columns
    bad = [c for c in df.columns if not isinstance(c, str)]
    if bad:
        raise ParamsError(f"The 'df' parameter of write_table must have text column names "
                          f"(table '{name}'). Got {short_list(bad)} instead.")
    dupes = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dupes:
        raise ParamsError(f"The 'df' parameter of write_table must have unique column names "
                          f"(table '{name}'). Got {short_list(dupes)} more than once instead.")
    return df.reset_index(drop=True)


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
    import pyarrow as pa
    import pyarrow.parquet as pq

    stem = safe_name(name)
    if stem != name:
        warnings.warn(f"table name {name!r} written as {stem!r} (file names keep letters, digits, '_', '-', '.')",
                      stacklevel=2)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame = _table_for_disk(df, stem)
    try:
        arrow = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ParamsError(f"The 'df' parameter of write_table must have one type per column "
                          f"(table '{stem}'). Got {exc} instead.") from None
    pq_path, csv_path = out / f"{stem}.parquet", out / f"{stem}.csv"
    for p in (pq_path, csv_path):  # never outside out_dir
        if p.resolve().parent != out.resolve():
            raise ParamsError(f"The 'name' parameter of write_table must stay inside {out}. Got {name!r} instead.")
    _atomic_write(pq_path, lambda tmp: pq.write_table(
        arrow, tmp, compression="zstd", compression_level=3, use_dictionary=True,
        write_statistics=True, version="2.6", store_schema=True))
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
    text_cols = [c for c in df.columns if df[c].dtype == object or isinstance(df[c].dtype, pd.StringDtype)
                 or isinstance(df[c].dtype, pd.CategoricalDtype)]
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
