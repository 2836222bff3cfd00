"""Benchmark of salesmodel.domain.calendar: period tables and assign_period at scale.

Run from the repository root: ``python benchmarks/calendar.py``. Prints a table and
writes it to ``benchmarks/results/calendar.md`` with the machine, versions and date.
Goals (issue 3): a year at day grain and assign_period over 5 million dates each in
well under a second or two.
"""
import os
import platform
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import holidays
import numpy as np
import pandas as pd
from bench_machine import cpu_model

from salesmodel.domain import calendar as cal
from salesmodel.domain import holiday_calendar

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "calendar.md"
N_DATES = 5_000_000
REPEATS = 5


def best_of(fn, repeats=REPEATS):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))




def main() -> None:
    warnings.simplefilter("ignore", cal.CalendarWarning)
    rng = np.random.default_rng(0)
    dates = pd.Series(pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 1400, N_DATES), unit="D"))

    rows = []

    def cold_year_day():
        holiday_calendar._library_days.cache_clear()
        cal.plan_year_periods(2027, "day")

    rows.append(("plan_year_periods(2027, 'day'), holiday cache cold", *best_of(cold_year_day)))
    cal.plan_year_periods(2027, "day")
    rows.append(("plan_year_periods(2027, 'day'), cached", *best_of(lambda: cal.plan_year_periods(2027, "day"))))
    rows.append(("plan_year_periods(2027, 'dekad')",
                 *best_of(lambda: cal.plan_year_periods(2027, "dekad"))))
    rows.append(("periods 2000-2030 at day grain (11,323 rows)",
                 *best_of(lambda: cal.periods("2000-01-01", "2030-12-31", "day"))))
    def cold_working_days():
        holiday_calendar._library_days.cache_clear()
        cal.working_days("2000-01-01", "2030-12-31")

    rows.append(("working_days 2000-2030 (daily table), holiday cache cold", *best_of(cold_working_days)))
    rows.append(("working_days 2000-2030 (daily table), cached",
                 *best_of(lambda: cal.working_days("2000-01-01", "2030-12-31"))))
    for grain in ("dekad", "month", "iso_week", "day"):
        rows.append((f"assign_period({N_DATES:,} dates, '{grain}')", *best_of(lambda g=grain: cal.assign_period(dates, g))))
    rows.append((f"assign_period({N_DATES:,} dates, 'dekad', categorical=True)",
                 *best_of(lambda: cal.assign_period(dates, "dekad", categorical=True))))
    as_text = dates.dt.strftime("%Y-%m-%d")
    rows.append((f"assign_period({N_DATES:,} strings 'YYYY-MM-DD', 'month')",
                 *best_of(lambda: cal.assign_period(as_text, "month"), repeats=2)))

    width = max(len(r[0]) for r in rows)
    lines = [f"| {'case'.ljust(width)} | best (s) | median (s) |", f"|{'-' * (width + 2)}|---------:|-----------:|"]
    lines += [f"| {name.ljust(width)} | {best:8.3f} | {median:10.3f} |" for name, best, median in rows]
    table = "\n".join(lines)
    header = [
        "# Calendar benchmark",
        "",
        f"- date (UTC): {datetime.now(UTC):%Y-%m-%d %H:%M}",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}",
        "- note: the machine was shared with other jobs while this ran; figures are upper bounds",
        (f"- python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
         f"holidays {holidays.__version__}"),
        f"- best and median of {REPEATS} runs (2 for the string case)",
        "",
    ]
    text = "\n".join(header) + "\n" + table + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
