"""Tests of salesmodel.domain.calendar: period tables, working days, holidays, labels."""
from __future__ import annotations

import warnings
from datetime import date, timedelta

import holidays
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesmodel.domain import calendar as cal
from salesmodel.domain.calendar import CalendarWarning
from salesmodel.errors import InputError, ParamsError

DAY = pd.Timedelta(days=1)


@pytest.fixture(autouse=True)
def _calendar_warnings_are_errors():
    """An unexpected CalendarWarning fails the test; tests that expect one use pytest.warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalendarWarning)
        yield


def overrides(*rows):
    return pd.DataFrame(list(rows), columns=["date", "kind", "name"])


# Whether the installed holidays package already has China's 2027 notice (0.109 does not):
# asked of the library directly, so the tests stay right after an upgrade.
LIBRARY_HAS_CN_2027 = any(d.year == 2027 for d in holidays.country_holidays("CN", years=2027).weekend_workdays)
# A year no installed library can have an official schedule for.
FUTURE = 2035
# Make-up working days a company might be told for 2035 (illustrative, not official).
MAKEUP_FUTURE = overrides(("2035-02-03", "workday", "调休"), ("2035-02-04", "workday", "调休"))


# ---------------------------------------------------------------- counts and lengths


@pytest.mark.parametrize(
    "grain, n_2026, n_2028",
    [("year", 1, 1), ("half", 2, 2), ("quarter", 4, 4), ("month", 12, 12), ("dekad", 36, 36),
     ("day", 365, 366), ("iso_week", 53, 53), ("month_week", 63, 63)],
)
def test_number_of_periods_in_a_year(grain, n_2026, n_2028):
    assert len(cal.plan_year_periods(2026, grain)) == n_2026
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalendarWarning)
        assert len(cal.plan_year_periods(2028, grain)) == n_2028


def test_a_year_has_36_dekads_of_10_10_and_the_rest():
    t = cal.plan_year_periods(2026, "dekad")
    assert len(t) == 36
    assert t["period"].is_unique
    assert t["days"].sum() == 365
    assert set(t.loc[t["dekad"] < 3, "days"]) == {10}
    assert set(t.loc[t["dekad"] == 3, "days"]) == {8, 10, 11}
    assert t["start"].dt.day.tolist() == [1, 11, 21] * 12


@pytest.mark.parametrize("year, days", [(2027, 8), (2028, 9), (2000, 9), (2100, 8)])
def test_february_third_dekad_has_8_days_or_9_in_a_leap_year(year, days):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalendarWarning)
        t = cal.periods(f"{year}-02-01", f"{year}-02-28" if days == 8 else f"{year}-02-29", "dekad")
    d3 = t.set_index("period").loc[f"{year}-02-D3"]
    assert d3["days"] == days
    assert d3["start"] == pd.Timestamp(f"{year}-02-21")
    assert d3["end"] == pd.Timestamp(f"{year}-02-{20 + days}")
    assert not d3["is_partial"]
    assert cal.parse_period(f"{year}-02-D3").end == d3["end"]


def test_start_and_end_are_day_timestamps_in_ns():
    t = cal.plan_year_periods(2026, "month")
    assert str(t["start"].dtype) == "datetime64[ns]"
    assert str(t["end"].dtype) == "datetime64[ns]"
    assert (t["start"] == t["start"].dt.normalize()).all()
    assert t.columns[:6].tolist() == ["period", "start", "end", "days", "working_days", "is_partial"]
    assert "label" not in t.columns  # words for periods are the vocabulary's, not the calendar's


# --------------------------------------------------------------- China's working days


def test_china_february_2026_spring_festival():
    feb = cal.working_days("2026-02-01", "2026-02-28")
    assert int(feb["is_working_day"].sum()) == 16
    by_day = feb.set_index(feb["date"].dt.strftime("%m-%d"))
    # 调休: Saturdays 14 and 28 February are worked.
    for d in ("02-14", "02-28"):
        assert by_day.loc[d, "weekday"] == 5
        assert by_day.loc[d, "is_makeup_workday"]
        assert by_day.loc[d, "is_working_day"]
        assert not by_day.loc[d, "is_holiday"]
    # The festival: eve, three days, and the days off given for the make-up Saturdays.
    for d in ("02-16", "02-17", "02-18", "02-19", "02-20", "02-23"):
        assert by_day.loc[d, "is_holiday"]
        assert not by_day.loc[d, "is_working_day"]
    assert by_day.loc["02-17", "holiday_name"] == "Chinese New Year (Spring Festival)"
    assert by_day.loc["02-16", "holiday_name"] == "Chinese New Year's Eve"
    # A plain weekend in the break is neither a holiday nor a working day.
    assert not by_day.loc["02-21", "is_holiday"] and not by_day.loc["02-21", "is_working_day"]
    assert by_day["holiday_name"].isna().sum() == 28 - 6
    month = cal.periods("2026-02-01", "2026-02-28", "month")
    assert month["working_days"].tolist() == [16]
    assert cal.periods("2026-02-01", "2026-02-28", "dekad")["working_days"].tolist() == [7, 4, 5]


def test_china_working_days_agree_with_the_library_month_by_month():
    lib = holidays.country_holidays("CN", years=range(2023, 2027))
    t = cal.periods("2023-01-01", "2026-12-31", "month")
    expected = [lib.get_working_days_count(s.date(), e.date()) for s, e in zip(t["start"], t["end"])]
    assert t["working_days"].tolist() == expected


def test_holiday_names_follow_the_language():
    zh = cal.working_days("2026-02-17", "2026-02-17", language="zh")
    assert zh["holiday_name"].iloc[0] == "春节"
    es = cal.working_days("2026-01-06", "2026-01-06", country="ES", language="es")
    assert es["holiday_name"].iloc[0] == "Epifanía del Señor"


# -------------------------------------------------------------- estimated years, status


@pytest.mark.skipif(LIBRARY_HAS_CN_2027, reason="the installed holidays package has China's 2027 notice")
def test_2027_is_estimated_and_warns():
    assert cal.holiday_calendar_status(2026, "CN") == "official"
    assert cal.holiday_calendar_status(2027, "CN") == "estimated"
    with pytest.warns(CalendarWarning, match=r"CN 2027.*make-up working days"):
        cal.plan_year_periods(2027, "month")
    with pytest.warns(CalendarWarning, match="2027"):
        cal.working_days("2027-02-01", "2027-02-28")
    with pytest.warns(CalendarWarning, match="2027"):
        cal.periods("2026-12-01", "2027-01-31", "month")


def test_2027_follows_the_installed_library():
    status = cal.holiday_calendar_status(2027, "CN")
    assert status == ("official" if LIBRARY_HAS_CN_2027 else "estimated")
    assert cal.holiday_calendar_status(FUTURE, "CN") == "estimated"
    with pytest.warns(CalendarWarning, match=rf"CN {FUTURE} may be wrong"):
        cal.plan_year_periods(FUTURE, "dekad")


def test_warning_points_at_the_caller():
    with pytest.warns(CalendarWarning) as record:
        cal.plan_year_periods(FUTURE, "quarter")
    assert record[0].filename == __file__


def test_years_with_an_official_schedule_do_not_warn():
    # The autouse fixture turns any CalendarWarning into an error.
    cal.periods("2023-01-01", "2026-12-31", "dekad")
    cal.working_days("2001-01-01", "2026-12-31")


def test_status_of_other_countries_and_years():
    assert cal.holiday_calendar_status(2027, "US") == "rule_based"
    assert cal.holiday_calendar_status(1949, "CN") == "unsupported"
    assert cal.holiday_calendar_status(FUTURE, "CN", overrides=MAKEUP_FUTURE) == "overridden"
    # Russia moves working days in some years; a year without a decree is not confirmed.
    assert cal.holiday_calendar_status(2030, "RU") == "unconfirmed"
    table = cal.holiday_status_table(2024, 2026, country="CN")
    assert table["status"].tolist() == ["official"] * 3
    assert table["makeup_workdays"].tolist() == [8, 5, 6]
    future = cal.holiday_status_table(FUTURE, FUTURE, country="CN", overrides=MAKEUP_FUTURE)
    assert future["status"].tolist() == ["overridden"] and future["makeup_workdays"].tolist() == [2]
    assert set(table.columns) >= {"year", "country", "status", "holidays", "makeup_workdays", "holidays_version"}


# ------------------------------------------------------------------------- overrides


def test_overrides_make_a_holiday_and_a_workday():
    ov = overrides(
        ("2026-03-02", "holiday", "Company anniversary"),
        ("2026-03-07", "workday", "Stock-taking Saturday"),
        ("2026-04-06", "workday", ""),  # a public holiday the company works
    )
    plain = cal.working_days("2026-03-01", "2026-04-30").set_index("date")
    days = cal.working_days("2026-03-01", "2026-04-30", overrides=ov).set_index("date")
    assert plain.loc["2026-03-02", "is_working_day"] and not days.loc["2026-03-02", "is_working_day"]
    assert days.loc["2026-03-02", "is_holiday"] and days.loc["2026-03-02", "holiday_name"] == "Company anniversary"
    assert not plain.loc["2026-03-07", "is_working_day"] and days.loc["2026-03-07", "is_working_day"]
    assert days.loc["2026-03-07", "is_makeup_workday"]
    assert plain.loc["2026-04-06", "is_holiday"]
    assert days.loc["2026-04-06", "is_working_day"] and not days.loc["2026-04-06", "is_holiday"]
    assert pd.isna(days.loc["2026-04-06", "holiday_name"])
    assert days["overridden"].sum() == 3
    march = cal.periods("2026-03-01", "2026-03-31", "month", overrides=ov)["working_days"].iloc[0]
    assert march == cal.periods("2026-03-01", "2026-03-31", "month")["working_days"].iloc[0]  # -1 +1
    april = cal.periods("2026-04-01", "2026-04-30", "month", overrides=ov)["working_days"].iloc[0]
    assert april == cal.periods("2026-04-01", "2026-04-30", "month")["working_days"].iloc[0] + 1


def test_overrides_with_makeup_days_silence_the_warning():
    feb = cal.working_days(f"{FUTURE}-02-01", f"{FUTURE}-02-28", overrides=MAKEUP_FUTURE)  # no warning (fixture)
    assert feb.set_index("date").loc[f"{FUTURE}-02-03", "is_makeup_workday"]
    with pytest.warns(CalendarWarning):
        plain = cal.periods(f"{FUTURE}-02-01", f"{FUTURE}-02-28", "month")["working_days"].iloc[0]
    with_makeup = cal.periods(f"{FUTURE}-02-01", f"{FUTURE}-02-28", "month", overrides=MAKEUP_FUTURE)
    assert with_makeup["working_days"].iloc[0] == plain + 2
    # Company holidays alone do not make a year's schedule official.
    with pytest.warns(CalendarWarning):
        cal.plan_year_periods(FUTURE, "month", overrides=overrides((f"{FUTURE}-12-31", "holiday", "Year-end close")))


@pytest.mark.parametrize(
    "frame, match",
    [
        (pd.DataFrame({"date": ["2027-02-13"], "name": ["x"]}), r"missing column\(s\) 'kind'"),
        (overrides(("2027-02-30", "holiday", "x")), r"column 'date': row\(s\) 1 .*'2027-02-30'"),
        (overrides(("2027-02-13", "holiday", "x"), ("13/02/2027", "holiday", "y")), r"row\(s\) 2"),
        (overrides(("2027-02-13", "day off", "x")), r"column 'kind'.*'holiday' or 'workday'.*'day off'"),
        (overrides(("2027-02-13", "holiday", "x"), ("2027-02-13", "workday", "y")), r"once.*'2027-02-13'"),
    ],
)
def test_bad_overrides_are_named(frame, match):
    with pytest.raises(InputError, match=match):
        cal.working_days("2027-02-01", "2027-02-28", overrides=frame)


def test_validate_overrides_names_the_source_and_cleans():
    with pytest.raises(InputError, match=r"^holidays\.csv, column 'kind'"):
        cal.validate_overrides(overrides(("2027-01-01", "vacation", "")), source="holidays.csv")
    clean = cal.validate_overrides(overrides(("2027-03-01", " Holiday ", None), ("2027-02-01", "WORKDAY", "a")))
    assert clean["kind"].tolist() == ["workday", "holiday"]
    assert clean["name"].tolist() == ["a", ""]
    assert str(clean["date"].dtype) == "datetime64[ns]"
    unnamed = cal.validate_overrides(pd.DataFrame({"date": pd.to_datetime(["2027-01-04"]), "kind": ["holiday"]}))
    assert unnamed["name"].tolist() == [""]
    day = cal.working_days("2027-01-04", "2027-01-04", overrides=unnamed, country="US")
    assert day["holiday_name"].tolist() == ["Company holiday"] and not day["is_working_day"].any()
    with pytest.raises(ParamsError, match="'overrides' parameter"):
        cal.validate_overrides([("2027-01-01", "holiday", "x")])


# ------------------------------------------------------------------------ ISO weeks


@pytest.mark.parametrize("year, weeks", [(2015, 53), (2020, 53), (2026, 53), (2032, 53), (2024, 52), (2025, 52)])
def test_iso_week_53_years(year, weeks):
    """Inside a year the weeks are ISO's: Monday to Sunday, numbered as ISO numbers them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalendarWarning)
        first = max(date.fromisocalendar(year, 1, 1), date(year, 1, 1))
        last = min(date.fromisocalendar(year, weeks, 7), date(year, 12, 31))
        t = cal.periods(first, last, "iso_week", country="US")
    assert len(t) == weeks
    assert t["period"].iloc[-1] == f"{year}-W{weeks}"
    assert (t["days"].iloc[1:-1] == 7).all() and not t["is_partial"].any()
    assert (t["year"] == year).all()
    assert (t["start"].iloc[1:].dt.weekday == 0).all()


def test_iso_weeks_are_cut_at_the_new_year_so_no_label_spans_two_years():
    """ISO's 2026-W53 runs from 28 December 2026 to 3 January 2027: 2026's table has 28-31 December as
    2026-W53, 2027's has 1-3 January as 2027-W00; the 2025-12-29 Monday starts ISO's 2026-W01, so
    29-31 December 2025 are 2025-W53 (2025 has 52 ISO weeks) and 2026-W01 is 1-4 January."""
    t26, t27 = cal.plan_year_periods(2026, "iso_week"), cal.plan_year_periods(2027, "iso_week", country="US")
    assert t26["period"].iloc[0] == "2026-W01" and t26["start"].iloc[0] == pd.Timestamp("2026-01-01")
    assert t26["days"].iloc[0] == 4
    last = t26.iloc[-1]
    assert last["period"] == "2026-W53" and last["days"] == 4 and last["end"] == pd.Timestamp("2026-12-31")
    assert t27["period"].iloc[0] == "2027-W00" and t27["days"].iloc[0] == 3 and t27["period"].iloc[1] == "2027-W01"
    assert not set(t26["period"]) & set(t27["period"])
    assert cal.parse_period("2026-W53") == ("iso_week", pd.Timestamp("2026-12-28"), pd.Timestamp("2026-12-31"))
    assert cal.parse_period("2027-W00") == ("iso_week", pd.Timestamp("2027-01-01"), pd.Timestamp("2027-01-03"))
    assert cal.parse_period("2025-W53") == ("iso_week", pd.Timestamp("2025-12-29"), pd.Timestamp("2025-12-31"))
    for label in ("2026-W00", "2027-W53"):  # 2026 starts on a Thursday (ISO week 1); 2027 has 52 weeks and ends on a Friday
        with pytest.raises(ParamsError):
            cal.parse_period(label)
    # a range across the new year: the week is cut in two, each part labelled by its own year
    span = cal.periods("2026-12-28", "2027-01-03", "iso_week", country="US")
    assert span["period"].tolist() == ["2026-W53", "2027-W00"] and span["days"].tolist() == [4, 3]


@pytest.mark.parametrize("grain", ["year", "half", "quarter", "month", "dekad", "iso_week", "month_week", "day"])
def test_every_grain_labels_each_year_apart(grain):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalendarWarning)
        years = [cal.plan_year_periods(y, grain) for y in range(2024, 2030)]
    for year, table in zip(range(2024, 2030), years):
        assert table["period"].str.startswith(str(year)).all() and table["period"].is_unique
        for label, start, end in zip(table["period"], table["start"], table["end"]):
            whole = cal.parse_period(label)
            assert whole.start.year == whole.end.year == year and (whole.start, whole.end) == (start, end)
    labels = pd.concat([t["period"] for t in years])
    assert labels.is_unique


def test_month_weeks_run_monday_to_sunday_within_the_month():
    t = cal.plan_year_periods(2026, "month_week")
    days = pd.Series(pd.date_range("2026-01-01", "2026-12-31"))
    monday = days - pd.to_timedelta(days.dt.weekday, unit="D")
    assert len(t) == pd.DataFrame({"m": days.dt.month, "w": monday}).drop_duplicates().shape[0]
    firsts = t["start"].dt.day == 1
    assert (t.loc[~firsts, "start"].dt.weekday == 0).all()
    month_ends = t["end"] == t["end"] + pd.offsets.MonthEnd(0)
    assert (t.loc[~month_ends, "end"].dt.weekday == 6).all()
    feb = t[t["month"] == 2]  # 2026-02-01 is a Sunday: W1 is one day
    assert feb["period"].tolist()[:2] == ["2026-02-W1", "2026-02-W2"]
    assert feb["days"].tolist() == [1, 7, 7, 7, 6]


# ------------------------------------------------------------- tiling (hypothesis)

dates_2015_2026 = st.dates(min_value=date(2015, 1, 1), max_value=date(2026, 12, 31))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=dates_2015_2026, length=st.integers(0, 800), grain=st.sampled_from(cal.GRAINS))
def test_periods_tile_the_range(first, length, grain):
    last = min(first + timedelta(days=length), date(2026, 12, 31))
    t = cal.periods(first, last, grain)
    n_days = (last - first).days + 1
    assert t["start"].iloc[0] == pd.Timestamp(first)
    assert t["end"].iloc[-1] == pd.Timestamp(last)
    assert (t["start"].iloc[1:].to_numpy() == (t["end"].iloc[:-1] + DAY).to_numpy()).all()  # no gap, no overlap
    assert ((t["end"] - t["start"]).dt.days + 1 == t["days"]).all()
    assert t["days"].sum() == n_days
    assert t["period"].is_unique
    assert (t["working_days"] <= t["days"]).all()
    assert t["working_days"].sum() == cal.working_days(first, last)["is_working_day"].sum()
    assert not t["is_partial"].iloc[1:-1].any()
    # Each day's period (assign_period) is the row whose [start, end] holds it.
    days = pd.Series(pd.date_range(first, last, freq="D"))
    labels = cal.assign_period(days, grain)
    row = np.searchsorted(t["start"].to_numpy(), days.to_numpy(), side="right") - 1
    assert (labels.to_numpy() == t["period"].to_numpy()[row]).all()
    # Full periods parse back to their own bounds.
    for _, r in t[~t["is_partial"]].head(5).iterrows():
        assert cal.parse_period(r["period"]) == (grain, r["start"], r["end"])


# -------------------------------------------------------------------- assign_period


def test_assign_period_matches_pandas():
    rng = np.random.default_rng(3)
    d = pd.Series(pd.Timestamp("2019-06-01") + pd.to_timedelta(rng.integers(0, 3000, 5000), unit="D"))
    iso = d.dt.isocalendar()
    expected = {
        "year": d.dt.year.astype(str),
        "half": d.dt.year.astype(str) + "-H" + ((d.dt.month - 1) // 6 + 1).astype(str),
        "quarter": d.dt.year.astype(str) + "-Q" + d.dt.quarter.astype(str),
        "month": d.dt.strftime("%Y-%m"),
        "dekad": d.dt.strftime("%Y-%m") + "-D" + np.minimum((d.dt.day - 1) // 10 + 1, 3).astype(str),
        # ISO weeks cut at the new year: days ISO counts in the year before are week 00, after: 53
        "iso_week": d.dt.year.astype(str) + "-W" + pd.Series(np.where(iso["year"] < d.dt.year, 0, np.where(
            iso["year"] > d.dt.year, 53, iso["week"])), index=d.index).map("{:02d}".format),
        "day": d.dt.strftime("%Y-%m-%d"),
    }
    for grain, want in expected.items():
        assert cal.assign_period(d, grain).tolist() == want.tolist(), grain


def test_assign_period_keeps_the_index_and_accepts_many_forms():
    s = pd.Series(pd.to_datetime(["2027-01-05", "2027-02-21"]), index=[10, 20])
    out = cal.assign_period(s, "dekad")
    assert out.index.tolist() == [10, 20] and out.name == "period"
    assert out.tolist() == ["2027-01-D1", "2027-02-D3"]
    assert cal.assign_period(["2027-01-05", date(2027, 2, 21)], "dekad").tolist() == out.tolist()
    assert cal.assign_period(s.to_numpy().astype("datetime64[D]"), "month").tolist() == ["2027-01", "2027-02"]
    assert cal.assign_period(pd.DatetimeIndex(s), "quarter").tolist() == ["2027-Q1", "2027-Q1"]
    cat = cal.assign_period(s, "month", categorical=True)
    assert cat.dtype == "category" and cat.cat.ordered and list(cat.cat.categories) == ["2027-01", "2027-02"]
    assert len(cal.assign_period(pd.Series([], dtype="datetime64[ns]"), "day")) == 0


def test_assign_period_refuses_missing_dates():
    with pytest.raises(InputError, match=r"1 value\(s\) are not dates.*'not a date'"):
        cal.assign_period(["2027-01-05", "not a date"], "day")
    with pytest.raises(ParamsError, match="'grain' parameter of assign_period"):
        cal.assign_period(["2027-01-05"], "week")


# ----------------------------------------------------------------- spring festival


@pytest.mark.parametrize(
    "year, day",
    [(2023, date(2023, 1, 22)), (2024, date(2024, 2, 10)), (2025, date(2025, 1, 29)),
     (2026, date(2026, 2, 17)), (2027, date(2027, 2, 6)), (2028, date(2028, 1, 26))],
)
def test_spring_festival(year, day):
    assert cal.spring_festival(year) == day


# ------------------------------------------------------------------ other countries


def test_united_states_and_spain():
    us = cal.working_days("2026-07-01", "2026-07-31", country="US").set_index("date")
    assert not us.loc["2026-07-03", "is_working_day"]  # Independence Day observed (Friday)
    assert us["is_working_day"].sum() == 22
    assert not us["is_makeup_workday"].any()
    es = cal.periods("2026-01-01", "2026-01-31", "month", country="es")
    assert es["working_days"].iloc[0] == 20  # 22 weekdays less 1 and 6 January
    cal.plan_year_periods(2027, "month", country="US")  # rule-based: no warning
    # 'CHN' is China: 22 weekdays less 1-2 January plus Sunday 4 January (调休).
    assert cal.periods("2026-01-01", "2026-01-31", "month", country="CHN")["working_days"].iloc[0] == 21


# --------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: cal.periods("2027-01-01", "2027-12-31", "weekly"),
         r"The 'grain' parameter of periods must be one of 'year', .*Got 'weekly' instead"),
        (lambda: cal.periods("2026-01-01", "2026-12-31", "month", country="XX"),
         r"The 'country' parameter of periods must be a country code .*Got 'XX' instead"),
        (lambda: cal.periods("2026-02-01", "2026-01-01", "month"),
         r"The 'end' parameter of periods must be on or after 'start' \(2026-02-01\)\. Got 2026-01-01 instead"),
        (lambda: cal.periods("2026-13-01", "2026-12-31"), r"The 'start' parameter of periods must be a date"),
        (lambda: cal.working_days("2026-01-01", "2026-12-31", language="fr"), r"'language' parameter .*Got 'fr'"),
        (lambda: cal.working_days("2026-01-01", None), r"The 'end' parameter of working_days must be a date"),
        (lambda: cal.plan_year_periods(20270, "month"), r"'year' parameter of plan_year_periods"),
        (lambda: cal.spring_festival(1900), r"'year' parameter of spring_festival .*\[1950, 2100\]"),
        (lambda: cal.holiday_calendar_status(2027, "Chinaa"), r"'country' parameter of holiday_calendar_status"),
        (lambda: cal.parse_period("2027-02-D4"), r"'period' parameter of parse_period.*'2027-02-D4'"),
        (lambda: cal.parse_period("2027-02-W6"), r"'2027-02-W6'"),
    ],
)
def test_bad_arguments_raise_params_error(call, match):
    with pytest.raises(ParamsError, match=match):
        call()


def test_day_grain_has_weekday_and_working_flags():
    t = cal.periods("2026-02-09", "2026-02-15", "day")
    assert t["weekday"].tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert t["working_days"].tolist() == [1, 1, 1, 1, 1, 1, 0]  # Saturday the 14th is a make-up day
    assert t["period"].iloc[0] == "2026-02-09"


def test_one_warning_per_kind_of_doubt_naming_the_years():
    # Make-up days given for 2027-2034 leave 2000 and 2035 as the estimated years.
    given = overrides(*[(f"{y}-06-05", "workday", "") for y in range(2027, FUTURE)])
    with pytest.warns(CalendarWarning) as record:
        cal.periods("1948-01-01", f"{FUTURE}-12-31", "year", overrides=given)
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 2
    assert any("CN 1948-1949 may be wrong" in m and "does not cover" in m for m in messages)
    assert any(f"CN 1950-2000, {FUTURE} may be wrong" in m and "estimated" in m for m in messages)
