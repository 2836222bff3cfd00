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
import warnings
from datetime import date, timedelta
from functools import cache, lru_cache
from typing import Any, NamedTuple

import holidays
import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.errors import InputError, ParamsError, short_list

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
LANGUAGES: tuple[str, ...] = ("en", "zh", "es")

# Countries whose government publishes each year's holidays with make-up working
# days: a year without make-up days in the library is only the library's estimate.
_YEARLY_NOTICE = frozenset({"CN"})
# How far back to look for make-up days when deciding whether a country moves
# working days at all (see holiday_calendar_status).
_LOOKBACK_YEARS = 15
_FIRST_DATE = date(1900, 1, 1)
_LAST_DATE = date(2199, 12, 31)

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

_HOLIDAY_LANGUAGE = {"en": "en_US", "zh": "zh_CN", "es": "es"}



class CalendarWarning(UserWarning):
    """The holiday calendar for a year is estimated, unconfirmed or unsupported."""


class Period(NamedTuple):
    """One period parsed from its label."""

    grain: str
    start: pd.Timestamp
    end: pd.Timestamp


# --------------------------------------------------------------------------- checks


def _check_grain(grain: Any, func: str) -> str:
    if isinstance(grain, str) and grain in GRAINS:
        return grain
    hint = difflib.get_close_matches(str(grain), GRAINS, n=1)
    extra = f" (did you mean '{hint[0]}'?)" if hint else ""
    raise param_error("grain", func, f"one of {short_list(GRAINS)}", grain, after=extra)


def _check_language(language: Any, func: str) -> str:
    if isinstance(language, str) and language in LANGUAGES:
        return language
    raise param_error("language", func, f"one of {short_list(LANGUAGES)}", language)


def _check_date(value: Any, name: str, func: str) -> np.datetime64:
    bad = param_error(name, func, f"a date such as '2027-01-01' between {_FIRST_DATE} and {_LAST_DATE}", value)
    if value is None or isinstance(value, bool):
        raise bad
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise bad from None
    if ts is pd.NaT or ts != ts.normalize() or not (_FIRST_DATE <= ts.date() <= _LAST_DATE):
        raise bad
    return np.datetime64(ts.date(), "D")


def _check_range(start: Any, end: Any, func: str) -> tuple[np.datetime64, np.datetime64]:
    d0 = _check_date(start, "start", func)
    d1 = _check_date(end, "end", func)
    if d1 < d0:
        raise param_error("end", func, f"on or after 'start' ({d0})", shown=f"{d1}")
    return d0, d1


@cache
def _supported_codes() -> frozenset[str]:
    return frozenset(holidays.list_supported_countries(include_aliases=True))


@cache
def _country_class(code: str) -> type:
    return type(holidays.country_holidays(code))


def _check_country(country: Any, func: str) -> str:
    """The canonical ISO code of a country the holidays package knows ('CHN' -> 'CN')."""
    code = country.strip().upper() if isinstance(country, str) else None
    if code is None or code not in _supported_codes():
        hint = difflib.get_close_matches(str(country).upper(), sorted(_supported_codes()), n=1)
        extra = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise param_error("country", func, "a country code known to the holidays package, such as 'CN', 'US' or 'ES'", country, after=extra)
    return _country_class(code).country


def _check_year(year: Any, func: str, lo: int = 1900, hi: int = 2199) -> int:
    if isinstance(year, (int, np.integer)) and not isinstance(year, bool) and lo <= year <= hi:
        return int(year)
    raise param_error("year", func, f"a whole year from {lo} to {hi}", year)


# ------------------------------------------------------------------------ overrides

_OVERRIDE_KINDS = ("holiday", "workday")


def validate_overrides(overrides: pd.DataFrame, *, source: str = "holiday overrides") -> pd.DataFrame:
    """Check a company's holiday overrides and return them clean.

    Parameters
    ----------
    overrides : DataFrame
        Columns ``date`` (a day), ``kind`` (``holiday``: the company does not work;
        ``workday``: the company works, e.g. a make-up Saturday) and optionally ``name``
        (free text, may be empty). One row per date.
    source : str, default="holiday overrides"
        What to call the table in messages (io passes the file name).

    Returns
    -------
    DataFrame
        ``date`` (datetime64[ns]), ``kind``, ``name`` (str), sorted by date.

    Raises
    ------
    InputError
        Missing columns, dates that are not days, unknown kinds, or a date given twice.

    Examples
    --------
    >>> validate_overrides(pd.DataFrame({"date": ["2027-02-13"], "kind": ["workday"], "name": ["调休"]}))
            date     kind name
    0 2027-02-13  workday   调休
    """
    if not isinstance(overrides, pd.DataFrame):
        raise ParamsError(
            "The 'overrides' parameter must be a DataFrame with columns date, kind (holiday|workday), name. "
            f"Got {type(overrides).__name__} instead."
        )
    missing = [c for c in ("date", "kind") if c not in overrides.columns]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {short_list(missing)}; expected columns date, kind (holiday|workday) "
            f"and optionally name (found {short_list(list(map(str, overrides.columns)))})."
        )
    df = overrides.reindex(columns=["date", "kind", "name"]).reset_index(drop=True)
    raw_dates = df["date"]
    if pd.api.types.is_datetime64_any_dtype(raw_dates):
        dates = pd.to_datetime(raw_dates)
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)
    else:
        dates = pd.to_datetime(raw_dates, format="ISO8601", errors="coerce")
    bad = dates.isna() | (dates != dates.dt.normalize())
    if bad.any():
        rows = bad[bad].index
        raise InputError(
            f"{source}, column 'date': row(s) {short_list([r + 1 for r in rows])} are not days written "
            f"as YYYY-MM-DD (got {short_list(raw_dates[rows].tolist())}).",
            failures=pd.DataFrame({"file": source, "column": "date", "row": rows + 1, "value": raw_dates[rows]}),
        )
    kind = df["kind"].astype("string").str.strip().str.lower()
    bad = ~kind.isin(_OVERRIDE_KINDS).fillna(False).astype(bool)
    if bad.any():
        rows = bad[bad].index
        raise InputError(
            f"{source}, column 'kind': row(s) {short_list([r + 1 for r in rows])} must be 'holiday' or "
            f"'workday' (got {short_list(df['kind'][rows].tolist())}).",
            failures=pd.DataFrame({"file": source, "column": "kind", "row": rows + 1, "value": df["kind"][rows]}),
        )
    dup = dates.duplicated(keep=False)
    if dup.any():
        rows = dup[dup].index
        raise InputError(
            f"{source}, column 'date': each date may appear once; row(s) {short_list([r + 1 for r in rows])} "
            f"repeat {short_list(sorted({str(d.date()) for d in dates[rows]}))}."
        )
    name = df["name"].astype("string").fillna("").str.strip().astype(object)
    out = pd.DataFrame({"date": dates.astype("datetime64[ns]"), "kind": kind.astype(object), "name": name})
    return out.sort_values("date", kind="stable").reset_index(drop=True)


def _prepare_overrides(overrides: pd.DataFrame | None) -> pd.DataFrame | None:
    if overrides is None:
        return None
    return validate_overrides(overrides)


# -------------------------------------------------------------------- holiday lookup


class _LibraryDays(NamedTuple):
    holiday_days: np.ndarray  # int64 days since 1970-01-01, sorted
    holiday_names: tuple[str, ...]
    makeup_days: np.ndarray  # int64, weekend days that are worked (调休)
    weekend: tuple[int, ...]  # weekday numbers, 0 = Monday


@lru_cache(maxsize=256)
def _library_days(country: str, years: tuple[int, ...], language: str | None) -> _LibraryDays:
    """The holidays package's view of some years, cached (a lookup costs milliseconds)."""
    cal = holidays.country_holidays(country, years=years, language=language)
    items = sorted(cal.items())
    wanted = set(years)
    hol = np.array([np.datetime64(d, "D").astype(np.int64) for d, _ in items], dtype=np.int64)
    makeup = sorted(d for d in getattr(cal, "weekend_workdays", ()) if d.year in wanted)
    return _LibraryDays(
        holiday_days=hol,
        holiday_names=tuple(str(n) for _, n in items),
        makeup_days=np.array([np.datetime64(d, "D").astype(np.int64) for d in makeup], dtype=np.int64),
        weekend=tuple(sorted(cal.weekend)),
    )


def _holiday_language(country: str, language: str) -> str | None:
    supported = getattr(_country_class(country), "supported_languages", ()) or ()
    wanted = _HOLIDAY_LANGUAGE[language]
    if wanted in supported:
        return wanted
    return "en_US" if "en_US" in supported else None


def _status(year: int, country: str, overrides: pd.DataFrame | None) -> str:
    cls = _country_class(country)
    first = max(getattr(cls, "start_year", 1), 1)
    last = getattr(cls, "end_year", 2200)
    if not first <= year <= last:
        return "unsupported"
    lang = _holiday_language(country, "en")
    if _library_days(country, (year,), lang).makeup_days.size:
        return "official"
    if overrides is not None and ((overrides["kind"] == "workday") & (overrides["date"].dt.year == year)).any():
        return "overridden"
    if country in _YEARLY_NOTICE:
        return "estimated"
    window = tuple(range(max(first, year - _LOOKBACK_YEARS), year))
    if window and _library_days(country, window, lang).makeup_days.size:
        return "unconfirmed"
    return "rule_based"


def holiday_calendar_status(year: int, country: str = "CN", *, overrides: pd.DataFrame | None = None) -> str:
    """How far the installed ``holidays`` package can be trusted for a year.

    Returns one of:

    - ``"official"``: the library holds the government's schedule for the year,
      with its make-up working days (China 2001-2026 in holidays 0.109).
    - ``"rule_based"``: the country's holidays follow fixed rules and it does not
      move working days (no make-up days in the 15 years before); the dates are reliable.
    - ``"estimated"``: the country publishes a yearly schedule with make-up days
      (China) and the library has none for the year: dates are estimated from the
      lunar calendar and a weekend rule, make-up days are missing.
    - ``"unconfirmed"``: the country sometimes moves working days (make-up days in
      recent years) but the library has none for this year: either there are none or
      the decree is not in the library yet.
    - ``"overridden"``: not official in the library, but the company's overrides give
      make-up working days for the year.
    - ``"unsupported"``: the year is outside the range the library covers for the country.

    Functions that compute working days warn (:class:`CalendarWarning`) for
    estimated, unconfirmed and unsupported years.

    Examples
    --------
    >>> holiday_calendar_status(2026, "CN")
    'official'
    >>> holiday_calendar_status(2035, "CN")  # 2027 too, with holidays 0.109
    'estimated'
    >>> holiday_calendar_status(2027, "US")
    'rule_based'
    """
    func = "holiday_calendar_status"
    year = _check_year(year, func)
    code = _check_country(country, func)
    return _status(year, code, _prepare_overrides(overrides))


def holiday_status_table(
    start_year: int, end_year: int, *, country: str = "CN", overrides: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per year: ``year``, ``country``, ``status`` (see :func:`holiday_calendar_status`),
    ``holidays`` and ``makeup_workdays`` (counted after overrides), ``holidays_version``."""
    func = "holiday_status_table"
    y0 = _check_year(start_year, func)
    y1 = _check_year(end_year, func)
    if y1 < y0:
        raise param_error("end_year", func, f"on or after 'start_year' ({y0})", shown=f"{y1}")
    code = _check_country(country, func)
    ov = _prepare_overrides(overrides)
    daily = _daily(np.datetime64(f"{y0}-01-01"), np.datetime64(f"{y1}-12-31"), code, ov, "en", warn_stacklevel=None)
    years = daily["date"].dt.year
    agg = daily.groupby(years).agg(holidays=("is_holiday", "sum"), makeup_workdays=("is_makeup_workday", "sum"))
    return pd.DataFrame({
        "year": agg.index.astype(np.int64),
        "country": code,
        "status": [_status(int(y), code, ov) for y in agg.index],
        "holidays": agg["holidays"].to_numpy(np.int64),
        "makeup_workdays": agg["makeup_workdays"].to_numpy(np.int64),
        "holidays_version": holidays.__version__,
    })


_STATUS_TEXT = {
    "estimated": (
        "the official holiday notice is not in the installed holidays package ({version}): public holidays "
        "are estimated from rules and the make-up working days (调休) are missing"
    ),
    "unconfirmed": (
        "the installed holidays package ({version}) has no make-up working days there, although the "
        "country moved working days in recent years: the decree may not be in the library yet"
    ),
    "unsupported": "the installed holidays package ({version}) does not cover these years: every weekday counts as working",
}


def _year_spans(years: list[int]) -> str:
    """'2027' or '2027-2029' or '1990-1999, 2027' for a sorted list of years."""
    spans: list[list[int]] = []
    for y in years:
        if spans and y == spans[-1][1] + 1:
            spans[-1][1] = y
        else:
            spans.append([y, y])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _warn_years(d0: np.datetime64, d1: np.datetime64, country: str, overrides: pd.DataFrame | None, stacklevel: int) -> None:
    """One CalendarWarning per kind of doubt, naming the years concerned."""
    doubtful: dict[str, list[int]] = {}
    for year in range(int(str(d0)[:4]), int(str(d1)[:4]) + 1):
        status = _status(year, country, overrides)
        if status in _STATUS_TEXT:
            doubtful.setdefault(status, []).append(year)
    for status, years in doubtful.items():
        reason = _STATUS_TEXT[status].format(version=holidays.__version__)
        warnings.warn(
            f"Working days for {country} {_year_spans(years)} may be wrong: {reason}. Give the company's holiday "
            f"overrides (date, kind holiday|workday, name) with the official schedule, or update the holidays package.",
            CalendarWarning,
            stacklevel=stacklevel + 1,
        )


# ------------------------------------------------------------------------ daily flags


def _daily(
    d0: np.datetime64,
    d1: np.datetime64,
    country: str,
    overrides: pd.DataFrame | None,
    language: str,
    *,
    warn_stacklevel: int | None,
    names: bool = True,
) -> pd.DataFrame:
    """The daily working-day table over [d0, d1] (both included)."""
    if warn_stacklevel is not None:
        _warn_years(d0, d1, country, overrides, warn_stacklevel + 1)
    lo = d0.astype(np.int64)
    hi = d1.astype(np.int64)
    days = np.arange(lo, hi + 1, dtype=np.int64)
    n = days.size
    years = tuple(range(int(str(d0)[:4]), int(str(d1)[:4]) + 1))
    lib = _library_days(country, years, _holiday_language(country, language))

    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    is_weekend = np.isin(weekday, lib.weekend)
    is_holiday = np.zeros(n, dtype=bool)
    is_makeup = np.zeros(n, dtype=bool)
    overridden = np.zeros(n, dtype=bool)
    holiday_name = np.full(n, None, dtype=object)

    inside = (lib.holiday_days >= lo) & (lib.holiday_days <= hi)
    pos = lib.holiday_days[inside] - lo
    is_holiday[pos] = True
    if names:
        holiday_name[pos] = np.asarray(lib.holiday_names, dtype=object)[inside]
    md = lib.makeup_days[(lib.makeup_days >= lo) & (lib.makeup_days <= hi)]
    is_makeup[md - lo] = True

    if overrides is not None and len(overrides):
        ov_days = overrides["date"].to_numpy("datetime64[D]").astype(np.int64)
        keep = (ov_days >= lo) & (ov_days <= hi)
        pos = ov_days[keep] - lo
        kinds = overrides["kind"].to_numpy(object)[keep]
        labels = overrides["name"].to_numpy(object)[keep]
        off = kinds == "holiday"
        overridden[pos] = True
        is_holiday[pos[off]] = True
        is_makeup[pos[off]] = False
        holiday_name[pos[off]] = [s if s else "Company holiday" for s in labels[off]]
        on = pos[~off]
        is_holiday[on] = False
        holiday_name[on] = None
        is_makeup[on] = is_weekend[on]

    is_working = (~is_weekend | is_makeup) & ~is_holiday
    return pd.DataFrame({
        "date": days.astype("datetime64[D]").astype("datetime64[ns]"),
        "weekday": weekday,
        "is_weekend": is_weekend,
        "is_holiday": is_holiday,
        "holiday_name": holiday_name,
        "is_makeup_workday": is_makeup,
        "is_working_day": is_working,
        "overridden": overridden,
    })


def working_days(
    start: Any,
    end: Any,
    *,
    country: str = "CN",
    overrides: pd.DataFrame | None = None,
    language: str = "en",
) -> pd.DataFrame:
    """The daily calendar between two dates (both included).

    Parameters
    ----------
    start, end : date-like
        First and last day, e.g. ``"2026-02-01"``.
    country : str, default="CN"
        Country code known to the ``holidays`` package ("CN", "US", "ES", ...).
    overrides : DataFrame, optional
        Company holidays and working days (see :func:`validate_overrides`); they win
        over the library.
    language : {"en", "zh", "es"}, default="en"
        Language of ``holiday_name`` (English when the library has no translation).

    Returns
    -------
    DataFrame
        ``date`` (datetime64[ns]), ``weekday`` (0 = Monday), ``is_weekend``,
        ``is_holiday`` (public or company holiday), ``holiday_name`` (None on other
        days), ``is_makeup_workday`` (a weekend day that is worked, 调休),
        ``is_working_day``, ``overridden`` (the company's override decided the day).

    Warns
    -----
    CalendarWarning
        For each year whose schedule the library only estimates (see
        :func:`holiday_calendar_status`), unless overrides give its make-up days.

    Examples
    --------
    >>> feb = working_days("2026-02-01", "2026-02-28")
    >>> int(feb["is_working_day"].sum())
    16
    >>> feb.loc[feb["is_makeup_workday"], "date"].dt.strftime("%m-%d").tolist()
    ['02-14', '02-28']
    """
    func = "working_days"
    d0, d1 = _check_range(start, end, func)
    code = _check_country(country, func)
    lang = _check_language(language, func)
    return _daily(d0, d1, code, _prepare_overrides(overrides), lang, warn_stacklevel=2)


# ------------------------------------------------------------------------ components


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


# -------------------------------------------------------------------------- periods


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
    year = _check_year(year, "plan_year_periods")
    return _periods(
        f"{year}-01-01", f"{year}-12-31", grain, country, overrides, "plan_year_periods", stacklevel=3
    )


# -------------------------------------------------------------------- assign_period


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


# ---------------------------------------------------------------------- parse_period

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


# -------------------------------------------------------------------- spring festival


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
    return _spring_festival(_check_year(year, "spring_festival", 1950, 2100))

