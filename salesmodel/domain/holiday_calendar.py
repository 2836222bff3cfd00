"""Working days and holidays: public holidays and make-up working days from the ``holidays`` package,
a company's overrides, and whether the installed library knows a year's schedule or only estimates it.

The period tables built on them are :mod:`salesmodel.domain.calendar`'s. The holiday lookup is cached
per (country, years, language).
"""
from __future__ import annotations

import difflib
import warnings
from datetime import date
from functools import cache, lru_cache
from typing import Any, NamedTuple

import holidays
import numpy as np
import pandas as pd

from salesmodel.domain.constraints import Interval, Options, check, param_error
from salesmodel.errors import InputError, ParamsError, short_list

LANGUAGES: tuple[str, ...] = ("en", "zh", "es")
#: The languages holiday names are given in, and the years the calendar covers.
LANGUAGE = Options(LANGUAGES)
YEAR = Interval(int, 1900, 2199, noun="a whole year")


# Countries whose government publishes each year's holidays with make-up working
# days: a year without make-up days in the library is only the library's estimate.
_YEARLY_NOTICE = frozenset({"CN"})


# How far back to look for make-up days when deciding whether a country moves
# working days at all (see holiday_calendar_status).
_LOOKBACK_YEARS = 15


_FIRST_DATE = date(1900, 1, 1)


_LAST_DATE = date(2199, 12, 31)


# the library's names when it has none in the reader's language
_FALLBACK_LOCALE = "en_US"


class CalendarWarning(UserWarning):
    """The holiday calendar for a year is estimated, unconfirmed or unsupported."""


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
    """The holidays library's locale for names in ``language``: the country's own variant (zh_CN for CN),
    else the bare language (es), else its first regional variant (en_US), else American English."""
    supported = sorted(getattr(_country_class(country), "supported_languages", ()) or ())
    regional = [s for s in supported if s.split("_")[0] == language]
    for wanted in (f"{language}_{country}", language, *regional, _FALLBACK_LOCALE):
        if wanted in supported:
            return wanted
    return None


def _status(year: int, country: str, overrides: pd.DataFrame | None) -> str:
    cls = _country_class(country)
    first = max(getattr(cls, "start_year", 1), 1)
    last = getattr(cls, "end_year", 2200)
    if not first <= year <= last:
        return "unsupported"
    lang = _holiday_language(country, "en")  # the status needs any names: the library's default ones
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
    year = check(year, YEAR, "year", func)
    code = _check_country(country, func)
    return _status(year, code, _prepare_overrides(overrides))


def holiday_status_table(
    start_year: int, end_year: int, *, country: str = "CN", overrides: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per year: ``year``, ``country``, ``status`` (see :func:`holiday_calendar_status`),
    ``holidays`` and ``makeup_workdays`` (counted after overrides), ``holidays_version``."""
    func = "holiday_status_table"
    y0 = check(start_year, YEAR, "start_year", func)
    y1 = check(end_year, YEAR, "end_year", func)
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
    lang = check(language, LANGUAGE, "language", func)
    return _daily(d0, d1, code, _prepare_overrides(overrides), lang, warn_stacklevel=2)
