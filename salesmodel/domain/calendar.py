"""The planning calendar: period tables, working days and holidays.

Time in salesmodel is a *period table*: one row per period with a stable
``period`` label and inclusive ``start`` and ``end`` dates, so years, quarters,
months, dekads (旬), weeks and days all have the same shape.

Grains and their ``period`` labels (stable: others store and join on them)::

    year        2027
    half        2027-H1, 2027-H2
    quarter     2027-Q1 ... 2027-Q4
    month       2027-01 ... 2027-12
    dekad       2027-01-D1 (days 1-10), 2027-01-D2 (11-20), 2027-01-D3 (21-end)
    iso_week    2027-W00 ... 2027-W53      (ISO 8601 weeks, Monday first, cut at 1 January:
                                            a label never names days of two years; the first
                                            days of a year that ISO counts in the year before
                                            are week 00, its last days that ISO counts in the
                                            year after are week 53)
    month_week  2027-01-W1 ... 2027-01-W6  (Monday-to-Sunday weeks cut at month ends:
                                            W1 runs from the 1st to the first Sunday)
    day         2027-01-05

Working days come from the ``holidays`` package: public holidays, the weekend of
the country, and China's make-up working days (调休, weekend days that are
worked). A company can add its own holidays and working days (``overrides``).
When the installed library only estimates a year (China publishes each year's
schedule late in the year before), a :class:`CalendarWarning` says so.

Everything here is pure: dates and small tables in, DataFrames out. The holiday
lookup is cached per (country, years, language).
"""
from __future__ import annotations

import difflib
import re
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import holidays
import numpy as np
import pandas as pd

from salesmodel.domain.constraints import Interval, check, param_error
from salesmodel.domain.holiday_calendar import (
    _FIRST_DATE,
    _LAST_DATE,
    LANGUAGES,
    YEAR,
    CalendarWarning,
    _check_country,
    _check_range,
    _daily,
    _prepare_overrides,
    holiday_calendar_status,
    holiday_status_table,
    validate_overrides,
    working_days,
)
from salesmodel.errors import InputError, short_list

__all__ = [
    "GRAINS",
    "LANGUAGES",
    "CalendarWarning",
    "Period",
    "assign_period",
    "holiday_calendar_status",
    "holiday_status_table",
    "parse_period",
    "periods",
    "plan_year_periods",
    "spring_festival",
    "validate_overrides",
    "working_days",
]


GRAINS: tuple[str, ...] = ("year", "half", "quarter", "month", "dekad", "iso_week", "month_week", "day")


# Parent columns of each grain, in order (only those that mean something for it).
_PARENTS: dict[str, tuple[str, ...]] = {
    "year": ("year",),
    "half": ("year", "half"),
    "quarter": ("year", "half", "quarter"),
    "month": ("year", "half", "quarter", "month"),
    "dekad": ("year", "half", "quarter", "month", "dekad"),
    "iso_week": ("year", "week"),
    "month_week": ("year", "half", "quarter", "month", "week"),
    "day": ("year", "half", "quarter", "month", "dekad", "weekday"),
}


class Period(NamedTuple):
    """One period parsed from its label."""

    grain: str
    start: pd.Timestamp
    end: pd.Timestamp


def _check_grain(grain: Any, func: str) -> str:
    if isinstance(grain, str) and grain in GRAINS:
        return grain
    hint = difflib.get_close_matches(str(grain), GRAINS, n=1)
    extra = f" (did you mean '{hint[0]}'?)" if hint else ""
    raise param_error("grain", func, f"one of {short_list(GRAINS)}", grain, after=extra)


def _components(days: np.ndarray) -> dict[str, np.ndarray]:
    """Calendar parts of each day (int64 days since 1970-01-01), all vectorised."""
    d = days.astype("datetime64[D]")
    m0 = d.astype("datetime64[M]")
    month_index = m0.astype(np.int64)  # months since 1970-01
    year = month_index // 12 + 1970
    month = month_index % 12 + 1
    first = m0.astype("datetime64[D]").astype(np.int64)
    dom = days - first + 1
    dim = (m0 + 1).astype("datetime64[D]").astype(np.int64) - first
    weekday = (days + 3) % 7
    first_weekday = (first + 3) % 7
    thursday = days - weekday + 3
    iso_year = thursday.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    jan1 = (iso_year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    # The ISO week cut at 1 January, so its label's year is the year of its days: days ISO counts
    # in the year before are week 0, days it counts in the year after week 53 (such a year has 52).
    iso_week = np.where(iso_year < year, 0, np.where(iso_year > year, 53, (thursday - jan1) // 7 + 1))
    return {
        "day": days,
        "year": year,
        "month": month,
        "month_index": month_index,
        "half": (month - 1) // 6 + 1,
        "quarter": (month - 1) // 3 + 1,
        "dom": dom,
        "dim": dim,
        "dekad": np.minimum((dom - 1) // 10, 2) + 1,
        "weekday": weekday,
        "iso_year": year,
        "iso_week": iso_week,
        "month_week": (dom - 1 + first_weekday) // 7 + 1,
    }


def _keys(c: dict[str, np.ndarray], grain: str) -> np.ndarray:
    """An int64 per day, equal within a period and increasing with time."""
    if grain == "year":
        return c["year"]
    if grain == "half":
        return c["year"] * 2 + c["half"]
    if grain == "quarter":
        return c["year"] * 4 + c["quarter"]
    if grain == "month":
        return c["month_index"]
    if grain == "dekad":
        return c["month_index"] * 3 + c["dekad"]
    if grain == "iso_week":
        return c["iso_year"] * 100 + c["iso_week"]
    if grain == "month_week":
        return c["month_index"] * 10 + c["month_week"]
    return c["day"]


def _take(c: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in c.items()}


def _period_labels(c: dict[str, np.ndarray], grain: str) -> list[str]:
    y = c["year"].tolist()
    if grain == "year":
        return [str(a) for a in y]
    if grain == "half":
        return [f"{a}-H{b}" for a, b in zip(y, c["half"].tolist())]
    if grain == "quarter":
        return [f"{a}-Q{b}" for a, b in zip(y, c["quarter"].tolist())]
    if grain == "iso_week":
        return [f"{a}-W{b:02d}" for a, b in zip(c["iso_year"].tolist(), c["iso_week"].tolist())]
    m = c["month"].tolist()
    if grain == "month":
        return [f"{a}-{b:02d}" for a, b in zip(y, m)]
    if grain == "dekad":
        return [f"{a}-{b:02d}-D{k}" for a, b, k in zip(y, m, c["dekad"].tolist())]
    if grain == "month_week":
        return [f"{a}-{b:02d}-W{k}" for a, b, k in zip(y, m, c["month_week"].tolist())]
    return [f"{a}-{b:02d}-{k:02d}" for a, b, k in zip(y, m, c["dom"].tolist())]


def _tile(daily_working: np.ndarray, d0: np.datetime64, d1: np.datetime64, grain: str) -> pd.DataFrame:
    lo = d0.astype(np.int64)
    hi = d1.astype(np.int64)
    days = np.arange(lo, hi + 1, dtype=np.int64)
    comps = _components(days)
    key = _keys(comps, grain)
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:] - 1, days.size - 1]
    first = _take(comps, starts)
    # Only the first and last periods can be cut by the range.
    edge = _keys(_components(np.array([lo - 1, hi + 1], dtype=np.int64)), grain)
    partial = np.zeros(starts.size, dtype=bool)
    partial[0] |= edge[0] == key[0]
    partial[-1] |= edge[1] == key[-1]

    out = {
        "period": _period_labels(first, grain),
        "start": days[starts].astype("datetime64[D]").astype("datetime64[ns]"),
        "end": days[ends].astype("datetime64[D]").astype("datetime64[ns]"),
        "days": (ends - starts + 1).astype(np.int64),
        "working_days": np.add.reduceat(daily_working.astype(np.int64), starts),
        "is_partial": partial,
    }
    for col in _PARENTS[grain]:
        if grain == "iso_week":
            src = {"year": "iso_year", "week": "iso_week"}[col]
        else:
            src = "month_week" if col == "week" else col
        out[col] = first[src].astype(np.int64)
    return pd.DataFrame(out)


def periods(
    start: Any,
    end: Any,
    grain: str = "month",
    *,
    country: str = "CN",
    overrides: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The period table of one grain over a date range.

    Every period that intersects [start, end] gets one row. Periods at the edges are
    *clipped* to the range: ``start``/``end``, ``days`` and ``working_days`` count only
    the days inside it, and ``is_partial`` is True for a clipped period. So the rows
    tile the range exactly: no gaps, no overlaps, ``days`` sums to the range length.

    Parameters
    ----------
    start, end : date-like
        First and last day of the range (both included).
    grain : {"year", "half", "quarter", "month", "dekad", "iso_week", "month_week", "day"}
        See the module docstring for the ``period`` label of each.
    country : str, default="CN"
        Country whose public holidays and make-up working days count (``holidays`` package).
    overrides : DataFrame, optional
        Company holidays and working days (:func:`validate_overrides`).

    Returns
    -------
    DataFrame
        ``period``, ``start``, ``end`` (inclusive, datetime64[ns]), ``days``,
        ``working_days``, ``is_partial``, the parent columns that mean something for
        the grain (``year``, ``half``, ``quarter``, ``month``, ``dekad``; ``week`` for the
        week grains, where ``year`` is the ISO year for ``iso_week``; ``weekday`` for
        days, 0 = Monday). Words for the periods are the report's (the vocabulary), not the calendar's.

    Warns
    -----
    CalendarWarning
        When a year in the range has only an estimated holiday schedule.

    Examples
    --------
    >>> t = periods("2026-02-01", "2026-02-28", "dekad")
    >>> t[["period", "days", "working_days"]]
           period  days  working_days
    0  2026-02-D1    10             7
    1  2026-02-D2    10             4
    2  2026-02-D3     8             5
    """
    return _periods(start, end, grain, country, overrides, "periods", stacklevel=3)


def _periods(start: Any, end: Any, grain: Any, country: Any, overrides: Any, func: str, *, stacklevel: int) -> pd.DataFrame:
    g = _check_grain(grain, func)
    d0, d1 = _check_range(start, end, func)
    code = _check_country(country, func)
    daily = _daily(d0, d1, code, _prepare_overrides(overrides), "en", warn_stacklevel=stacklevel, names=False)
    return _tile(daily["is_working_day"].to_numpy(), d0, d1, g)


def plan_year_periods(
    year: int,
    grain: str = "month",
    *,
    country: str = "CN",
    overrides: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The period table of one calendar year (1 January to 31 December).

    The same as :func:`periods` from ``{year}-01-01`` to ``{year}-12-31``.
    ISO weeks are cut at 1 January (a label names days of one year only): a year's first days
    that ISO counts in the year before are its week 00, and its last days that ISO counts in the
    year after its week 53, so no label of one plan year's table appears in another's.

    Examples
    --------
    >>> len(plan_year_periods(2026, "dekad"))
    36
    """
    year = check(year, YEAR, "year", "plan_year_periods")
    return _periods(
        f"{year}-01-01", f"{year}-12-31", grain, country, overrides, "plan_year_periods", stacklevel=3
    )


def _to_days(dates: Any) -> tuple[np.ndarray, pd.Index | None]:
    index = dates.index if isinstance(dates, pd.Series) else None
    if isinstance(dates, (pd.Series, pd.Index)) and pd.api.types.is_datetime64_any_dtype(dates.dtype):
        values = pd.DatetimeIndex(dates)
        if values.tz is not None:
            values = values.tz_localize(None)
        arr = values.to_numpy()
    elif isinstance(dates, np.ndarray) and np.issubdtype(dates.dtype, np.datetime64):
        arr = dates
    else:
        arr = pd.to_datetime(pd.Series(np.asarray(dates, dtype=object) if not isinstance(dates, pd.Series) else dates),
                             format="ISO8601", errors="coerce").to_numpy()
    days = arr.astype("datetime64[D]")
    missing = np.isnat(days)
    if missing.any():
        raw = np.asarray(dates, dtype=object)[missing] if not isinstance(dates, pd.Series) else dates[missing].tolist()
        rows = np.flatnonzero(missing)
        raise InputError(
            f"assign_period: {int(missing.sum())} value(s) are not dates (positions {short_list(rows.tolist())}: "
            f"{short_list(list(raw))}); expected days such as '2027-01-05'."
        )
    return days.astype(np.int64), index


def assign_period(dates: Any, grain: str, *, categorical: bool = False) -> pd.Series:
    """The period label of each date (vectorised; millions of dates in well under a second).

    Parameters
    ----------
    dates : Series, DatetimeIndex, array or list of date-likes
        No missing values. A Series keeps its index.
    grain : str
        One of :data:`GRAINS`.
    categorical : bool, default=False
        Return an ordered Categorical (categories = the periods present, in time order)
        instead of strings: smaller and faster to group by.

    Returns
    -------
    Series
        Named ``period``, labels as in :func:`periods`.

    Examples
    --------
    >>> assign_period(pd.Series(pd.to_datetime(["2027-01-05", "2027-02-21"])), "dekad").tolist()
    ['2027-01-D1', '2027-02-D3']
    """
    g = _check_grain(grain, "assign_period")
    days, index = _to_days(dates)
    if days.size == 0:
        dtype = pd.CategoricalDtype([], ordered=True) if categorical else object
        return pd.Series([], dtype=dtype, name="period", index=index)
    lo, hi = int(days.min()), int(days.max())
    if not (pd.Timestamp(lo, unit="D").date() >= _FIRST_DATE and pd.Timestamp(hi, unit="D").date() <= _LAST_DATE):
        raise InputError(f"assign_period: dates must lie between {_FIRST_DATE} and {_LAST_DATE}.")
    span = np.arange(lo, hi + 1, dtype=np.int64)
    comps = _components(span)
    key = _keys(comps, g)
    new = np.r_[True, key[1:] != key[:-1]]
    code_of_day = np.cumsum(new) - 1
    labels = _period_labels(_take(comps, np.flatnonzero(new)), g)
    codes = code_of_day[days - lo]
    if categorical:
        values: Any = pd.Categorical.from_codes(codes, categories=labels, ordered=True)
    else:
        values = np.asarray(labels, dtype=object)[codes]
    return pd.Series(values, index=index, name="period")


_LABEL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("year", re.compile(r"(\d{4})")),
    ("half", re.compile(r"(\d{4})-H([12])")),
    ("quarter", re.compile(r"(\d{4})-Q([1-4])")),
    ("month", re.compile(r"(\d{4})-(\d{2})")),
    ("dekad", re.compile(r"(\d{4})-(\d{2})-D([123])")),
    ("iso_week", re.compile(r"(\d{4})-W(\d{2})")),
    ("month_week", re.compile(r"(\d{4})-(\d{2})-W([1-6])")),
    ("day", re.compile(r"(\d{4})-(\d{2})-(\d{2})")),
)


def parse_period(period: str) -> Period:
    """The grain and full (unclipped) bounds of a period label.

    Examples
    --------
    >>> parse_period("2028-02-D3")
    Period(grain='dekad', start=Timestamp('2028-02-21 00:00:00'), end=Timestamp('2028-02-29 00:00:00'))
    """
    bad = param_error(
        "period",
        "parse_period",
        "a period label such as '2027', '2027-H1', '2027-Q1', '2027-01', '2027-01-D1', '2027-W01', '2027-01-W1' or '2027-01-05'",
        period,
    )
    if not isinstance(period, str):
        raise bad
    for grain, pattern in _LABEL_PATTERNS:  # noqa: B007 - grain is read after the loop
        match = pattern.fullmatch(period.strip())
        if match:
            break
    else:
        raise bad
    parts = [int(p) for p in match.groups()]
    year = parts[0]
    if not _FIRST_DATE.year <= year <= _LAST_DATE.year:
        raise bad
    try:
        if grain == "year":
            start, end = date(year, 1, 1), date(year, 12, 31)
        elif grain == "half":
            start = date(year, 6 * parts[1] - 5, 1)
            end = date(year, 6, 30) if parts[1] == 1 else date(year, 12, 31)
        elif grain == "quarter":
            start = date(year, 3 * parts[1] - 2, 1)
            end = (pd.Timestamp(start) + pd.offsets.QuarterEnd(0)).date()
        elif grain == "iso_week":  # the ISO week cut to its label's year (week 00 and a 53rd of a 52-week year)
            week = parts[1]
            last = date(year, 12, 28).isocalendar()[1]  # weeks ISO gives the year
            if week == 0:
                start, end = date(year, 1, 1), date.fromisocalendar(year, 1, 1) - timedelta(days=1)
                if end < start:
                    raise ValueError("no week 00")
            elif week == last + 1 == 53:
                start, end = date.fromisocalendar(year + 1, 1, 1), date(year, 12, 31)
                if start > end:
                    raise ValueError("no week 53")
            else:
                start = max(date.fromisocalendar(year, week, 1), date(year, 1, 1))
                end = min(date.fromisocalendar(year, week, 7), date(year, 12, 31))
        else:
            first = date(year, parts[1], 1)
            month_end = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
            if grain == "month":
                start, end = first, month_end
            elif grain == "dekad":
                start = first.replace(day=10 * parts[2] - 9)
                end = month_end if parts[2] == 3 else first.replace(day=10 * parts[2])
            elif grain == "day":
                start = end = date(year, parts[1], parts[2])
            else:  # month_week: Monday weeks cut at the month's ends
                offset = first.weekday()
                start_day = max(1, 7 * (parts[2] - 1) - offset + 1)
                end_day = min(month_end.day, 7 * parts[2] - offset)
                if start_day > month_end.day:
                    raise ValueError("no such week")
                start, end = first.replace(day=start_day), first.replace(day=end_day)
    except ValueError:
        raise bad from None
    return Period(grain, pd.Timestamp(start), pd.Timestamp(end))


#: The years whose Spring Festival the holidays package dates.
FESTIVAL_YEAR = Interval(int, 1950, 2100, noun="a whole year")


@lru_cache(maxsize=256)
def _spring_festival(year: int) -> date:
    cal = holidays.China(years=year, language="en_US")
    return min(cal.get_named("Chinese New Year (Spring Festival)"))


def spring_festival(year: int) -> date:
    """The first day of the lunar new year (春节) in a year, 1950-2100.

    Examples
    --------
    >>> spring_festival(2027)
    datetime.date(2027, 2, 6)
    """
    return _spring_festival(check(year, FESTIVAL_YEAR, "year", "spring_festival"))
