"""Checking a table against its schema: every failure collected, one clear InputError."""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.errors import InputError, ParamsError, short_list
from salesmodel.io import lookalike
from salesmodel.io.schemas import (
    _EXAMPLES,
    _KEEP_ROWS,
    ID_MAX_LENGTH,
    SCHEMAS,
    TEXT_MAX_LENGTH,
    Column,
    Reference,
    TableSchema,
    _Context,
    _Failure,
    _few,
    _num,
)


def _values(values: Iterable[Any]) -> str:
    """A few distinct example values, as a planner would type them, and how many more."""
    distinct = pd.unique(np.asarray(list(values) if not isinstance(values, pd.Series) else values.to_numpy(),
                                    dtype=object))
    return _few([_plain(v) for v in distinct[:_EXAMPLES]], len(distinct))


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
    if isinstance(s.dtype, pd.CategoricalDtype):
        # order lines read as categories stay categories: a small code a cell, never a pointer a cell
        # (values that differ only by spaces around them become one category)
        to_clean, categories = pd.factorize(clean, use_na_sentinel=True)
        values = pd.Series(pd.Categorical.from_codes(np.append(to_clean, -1)[codes].astype(to_clean.dtype),
                                                     categories=pd.Index(categories, dtype=object)), index=s.index)
    else:
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


def _by_category(s: pd.Series, coerce: Callable[[pd.Series], tuple[pd.Series, np.ndarray]],
                 empty: Any) -> tuple[pd.Series, np.ndarray]:
    """Coerce a categorical column (order lines read by DuckDB) on its distinct values only."""
    values, bad = coerce(pd.Series(np.asarray(s.cat.categories, dtype=object), dtype=object))
    codes = s.cat.codes.to_numpy()
    table = values.to_numpy()
    if (codes < 0).any():
        table = np.append(table.astype("float64") if table.dtype.kind in "iu" else table, empty)
    return pd.Series(table[codes], index=s.index), np.append(bad, False)[codes]


def _as_number(s: pd.Series, whole: bool) -> tuple[pd.Series, np.ndarray]:
    if isinstance(s.dtype, pd.CategoricalDtype):
        out, bad = _by_category(s, lambda c: _as_number(c, whole), np.nan)
        if whole and not out.isna().any():
            out = out.astype("int64")
        return out, bad
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
    if isinstance(s.dtype, pd.CategoricalDtype):
        return _by_category(s, _as_date, np.datetime64("NaT", "ns"))
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
    # code -1 (an empty cell) takes the NaT appended (a column of empty cells has no distinct value at all)
    out = np.append(days, np.datetime64("NaT", "ns"))[codes]
    bad = np.append(bad_u, False)[codes]
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


def _check_table(df: pd.DataFrame, schema: TableSchema, source: str,  # noqa: C901 - one pass over every check of a schema, in order
                 date_range: tuple[Any, Any] | None, *, own: bool = False) -> tuple[pd.DataFrame, list[_Failure], set[str]]:
    """Coerce ``df`` to its schema and collect every failure (lazy validation).

    Returns the coerced frame, the failures and the columns that are usable
    (present and correctly typed) for cross-table checks. With ``own`` the caller hands ``df``
    over: each raw column is let go once coerced (order lines: never two full copies).
    """
    lo, hi = _date_range(date_range)
    # A shallow copy with a fresh axis: reset_index would copy every column (millions of order lines).
    positional = isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1
    if not positional:
        df = df.reset_index(drop=True)
    elif not own:
        df = df.copy(deep=False)
    df.columns = [str(c) for c in df.columns]
    out: dict[str, pd.Series] = {}
    valid: set[str] = set()
    # Messages show key values of coerced, valid key columns as they become known.
    ctx = _Context(source, out, schema.key, valid)  # type: ignore[arg-type]
    failures: list[_Failure] = []

    if len(df) == 0:
        failures.append(ctx.fail("", "empty", [], expected=f"at least one data row ({schema.description})",
                                 found="no rows", problem="the table is empty"))

    present, read_columns = set(df.columns), list(df.columns)  # as read (own: raw columns go as they are coerced)
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
                found = "columns " + short_list(read_columns, 12)
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
        if own:  # the coerced column replaces the raw one (messages above quoted the raw values)
            del raw, df[col.name]

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

    failures.extend(_lookalike_failures(frame, schema, valid, ctx))

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


def _lookalike_failures(frame: pd.DataFrame, schema: TableSchema, valid: set[str], ctx: _Context) -> list[_Failure]:
    """Key ids that look like another key of the table, or that mix scripts (io/lookalike.py)."""
    failures: list[_Failure] = []
    for name in schema.key:
        if name not in valid or not _is_id(name):
            continue
        values = frame[name]
        distinct = values.dropna().unique()
        if all(isinstance(v, str) and v.isascii() for v in distinct):
            continue  # the usual case, decided without a skeleton
        positions = {v: np.flatnonzero((values == v).to_numpy()) for v in distinct if not str(v).isascii()}
        for group in lookalike.lookalike_groups(distinct):
            rows = np.sort(np.concatenate([np.flatnonzero((values == v).to_numpy()) for v in group]))
            failures.append(ctx.fail(
                name, "lookalike", rows, expected="ids that a reader can tell apart",
                found=", ".join(lookalike.describe(v) for v in group),
                problem=f"{len(group)} ids look the same on a page {ctx.at(rows)}"))
        for v, rows in positions.items():
            scripts = lookalike.mixed_scripts(str(v))
            if scripts:
                failures.append(ctx.fail(
                    name, "mixed_scripts", rows, expected="an id written in one script",
                    found=lookalike.describe(str(v)),
                    problem=f"an id mixes the {' and '.join(s.title() for s in scripts)} scripts {ctx.at(rows)}"))
    return failures


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
