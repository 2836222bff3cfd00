"""The Spring Festival's moving effect on sales: its dates, the daily effect around it measured from
history, and taking it out of (and putting it back into) monthly or period series so seasonal indices
and forecasts see the same calendar every year (see :mod:`salesmodel.domain.seasonality`).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from salesmodel.domain.calendar import spring_festival
from salesmodel.domain.constraints import check, param_error
from salesmodel.domain.sales_frame import CYCLES, SEASONAL_CYCLES, _prepare
from salesmodel.errors import InputError


# ----------------------------------------------------------------------------- Spring Festival
def spring_festival_dates(years: Sequence[int]) -> dict[int, date]:
    """The first day of the lunar new year for each year (from ``salesmodel.domain.calendar``)."""
    return {int(y): spring_festival(int(y)) for y in years}


def spring_festival_effect(
    daily: pd.DataFrame,
    *,
    date_col: str = "date",
    value_col: str = "amount",
    window: tuple[int, int] = (-35, 28),
    iterations: int = 20,
) -> pd.DataFrame:
    """The Spring Festival's effect on daily sales, by day relative to the festival.

    Daily sales are modelled as ``year level x month-of-year level x weekday level x
    day-of-month level x festival effect``, where the festival effect depends only on the
    day's distance from that year's festival (within ``window``, 1 outside it). Because the
    festival moves between January and February, the parts can be told apart; they are
    estimated by alternating averages (``iterations`` rounds). The weekday and day-of-month
    levels matter: without them a festival day is compared with an average day, and the
    weekly rhythm (and the month-end push) leaks into the effect as noise.

    The default window reaches five weeks before the festival (shops stock up early) and
    four weeks after it (trade restarts slowly until after the Lantern Festival).

    Returns
    -------
    DataFrame
        ``day_offset, effect, years`` (1 = no effect; years: festivals in the data).

    Examples
    --------
    >>> days = pd.date_range("2022-01-01", "2025-12-31", freq="D")
    >>> festive = np.zeros(days.size, bool)
    >>> for d in spring_festival_dates(range(2022, 2026)).values():  # a week at 20% of usual sales
    ...     festive |= (days >= pd.Timestamp(d)) & (days < pd.Timestamp(d) + pd.Timedelta(days=7))
    >>> daily = pd.DataFrame({"date": days, "amount": np.where(festive, 20.0, 100.0)})
    >>> e = spring_festival_effect(daily, window=(-7, 14)).set_index("day_offset")["effect"]
    >>> float(round(e[3], 2)), float(round(e[10], 2))
    (0.2, 1.0)
    """
    who = "spring_festival_effect"
    lo, hi = window
    if not (isinstance(lo, (int, np.integer)) and isinstance(hi, (int, np.integer)) and lo <= 0 <= hi):
        raise param_error("window", who, "(days before <= 0, days after >= 0)", window)
    frame = _prepare(daily, date_col, value_col, [], [], who)
    day = frame.groupby(frame[date_col].dt.normalize(), sort=True)[value_col].sum()
    if len(day) > 1 and (day.index.to_series().diff().dt.days.dropna() > 7).mean() > 0.5:
        raise InputError(f"{who}: daily sales are needed to measure the Spring Festival (the dates in '{date_col}' are weeks or months apart).")
    full = day.reindex(pd.date_range(day.index.min(), day.index.max(), freq="D"), fill_value=0.0)
    y = full.to_numpy(float)
    idx = full.index
    _, pos, in_win, years_in = _festival_offsets(idx, lo, hi)
    if years_in == 0:
        raise InputError(f"{who}: no Spring Festival window {window} lies wholly inside the data ({idx.min():%Y-%m-%d} to {idx.max():%Y-%m-%d}).")
    n_off = hi - lo + 1
    year = idx.year.to_numpy() - idx.year.min()
    month = idx.month.to_numpy() - 1
    wday = idx.dayofweek.to_numpy()
    # Day of month counted from the end for the last days, so the month-end push lines up.
    dom = np.where(idx.day.to_numpy() > 20, 30 + idx.day.to_numpy() - idx.days_in_month.to_numpy(), idx.day.to_numpy() - 1)
    effect = np.ones(n_off)
    parts = {"year": (year, np.ones(year.max() + 1)), "month": (month, np.ones(12)),
             "wday": (wday, np.ones(7)), "dom": (dom, np.ones(31))}

    def fitted(skip: str) -> np.ndarray:
        out = np.where(in_win, effect[pos], 1.0)
        for name, (code, lev) in parts.items():
            if name != skip:
                out = out * lev[code]
        return out

    for _ in range(int(iterations)):
        for name, (code, lev) in parts.items():
            base = fitted(name)
            ok = base > 0
            num = np.bincount(code[ok], y[ok], minlength=lev.size)
            den = np.bincount(code[ok], base[ok], minlength=lev.size)
            new = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
            if name != "year":
                new = new / new[new > 0].mean()  # the year level carries the scale
            parts[name] = (code, new)
        base = np.ones(y.size)
        for code, lev in parts.values():
            base = base * lev[code]
        ok = in_win & (base > 0)
        num = np.bincount(pos[ok], y[ok], minlength=n_off)
        den = np.bincount(pos[ok], base[ok], minlength=n_off)
        effect = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    effect = np.where(effect > 0, effect, 1e-3)  # a day with no sales at all still divides
    return pd.DataFrame({"day_offset": np.arange(lo, hi + 1), "effect": effect, "years": years_in})


def _festival_offsets(idx: pd.DatetimeIndex, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Each day's offset from the nearest festival within (lo, hi), its position in the
    window, whether it is inside one, and how many whole windows the days cover."""
    sf = spring_festival_dates(range(idx.min().year - 1, idx.max().year + 2))
    offset = np.full(idx.size, np.iinfo(np.int64).min)
    years_in = 0
    for d in sf.values():
        off = (idx - pd.Timestamp(d)).days.to_numpy()
        inside = (off >= lo) & (off <= hi)
        offset[inside] = off[inside]
        if pd.Timestamp(d) + pd.Timedelta(days=lo) >= idx.min() and pd.Timestamp(d) + pd.Timedelta(days=hi) <= idx.max():
            years_in += 1
    in_win = offset >= lo
    pos = np.where(in_win, offset - lo, 0)
    return offset, pos, in_win, years_in


def remove_spring_festival(
    data: pd.DataFrame, effect: pd.DataFrame, *, date_col: str = "date", value_col: str = "amount"
) -> pd.DataFrame:
    """Divide sales on the days around each year's festival by the effect: the history as if
    there were no festival (other columns kept)."""
    out = data.copy()
    dates = pd.to_datetime(out[date_col]).dt.normalize()
    sf = spring_festival_dates(range(dates.min().year, dates.max().year + 1))
    sf_day = dates.dt.year.map({y: pd.Timestamp(d) for y, d in sf.items()})
    # A date in late December may belong to next year's festival window.
    next_festival = spring_festival_dates(range(dates.min().year + 1, dates.max().year + 2))
    sf_next = (dates.dt.year + 1).map({y: pd.Timestamp(d) for y, d in next_festival.items()})
    off = (dates - sf_day).dt.days
    off_next = (dates - sf_next).dt.days
    eff = effect.set_index("day_offset")["effect"]
    lo, hi = int(eff.index.min()), int(eff.index.max())
    use_next = (off_next >= lo) & (off_next <= hi)
    off = off.where(~use_next, off_next)
    factor = off.map(eff).where((off >= lo) & (off <= hi)).fillna(1.0).to_numpy(float)
    out[value_col] = out[value_col].to_numpy(float) / factor
    return out


def spring_festival_factors(effect: pd.DataFrame, year: int, *, cycle: str = "month") -> pd.DataFrame:
    """How the festival scales each month (or quarter) of ``year``: the mean effect over the
    period's days (1 where the festival window does not reach)."""
    m = CYCLES[check(cycle, SEASONAL_CYCLES, "cycle", "spring_festival_factors")]
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    sf = pd.Timestamp(spring_festival_dates([year])[year])
    eff = effect.set_index("day_offset")["effect"]
    off = pd.Series((days - sf).days, index=days)
    f = off.map(eff).fillna(1.0)
    # Next year's festival window may reach back into December.
    sf_next = pd.Timestamp(spring_festival_dates([year + 1])[year + 1])
    off_next = pd.Series((days - sf_next).days, index=days)
    f = f.where(off_next.map(eff).isna(), off_next.map(eff))
    pos = (days.month - 1) if cycle == "month" else (days.quarter - 1)
    factor = f.groupby(np.asarray(pos)).mean().reindex(range(m)).to_numpy(float)
    return pd.DataFrame({"period_of_cycle": np.arange(1, m + 1), "factor": factor})


def spring_festival_period_factors(effect: pd.DataFrame, years: Sequence[int], *, cycle: str = "month") -> pd.DataFrame:
    """:func:`spring_festival_factors` for several years as ``ds`` (period start), ``factor``:
    the ``calendar_factors`` of :func:`salesmodel.domain.forecast.baseline`."""
    rows = []
    for y in sorted({int(v) for v in years}):
        f = spring_festival_factors(effect, y, cycle=cycle)
        step = 1 if cycle == "month" else 3
        starts = [pd.Timestamp(y, 1 + (p - 1) * step, 1) for p in f["period_of_cycle"]]
        rows.append(pd.DataFrame({"ds": starts, "factor": f["factor"].to_numpy()}))
    return pd.concat(rows, ignore_index=True)
