"""The demo company's sales calendar: festivals on their real dates (the Spring Festival's stocking
up, dip and restart; the Mid-Autumn Festival), month-end pushes, weekends and holidays, and promotion
days (see :mod:`salesmodel.sample`).
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from salesmodel.errors import ParamsError
from salesmodel.sample._world import _MID_AUTUMN_NAME, _SF_NAME


def _festival_days(years: range) -> tuple[np.ndarray, np.ndarray, set[date], set[date]]:
    """Spring Festival and Mid-Autumn days, public holidays and make-up working days (China)."""
    import holidays

    cn = holidays.China(years=years, language="en_US")
    spring, autumn = {}, {}
    for day, name in cn.items():
        if name == _SF_NAME:
            spring[day.year] = min(day, spring.get(day.year, day))
        elif name == _MID_AUTUMN_NAME:
            autumn[day.year] = min(day, autumn.get(day.year, day))
    missing = [y for y in years if y not in spring]
    if missing:
        raise ParamsError(
            f"The holidays package has no Spring Festival date for {missing}; use an earlier end date."
        )
    return (
        np.array(sorted(spring.values()), dtype="datetime64[D]"),
        np.array(sorted(autumn.values()), dtype="datetime64[D]"),
        set(cn.keys()),
        set(cn.weekend_workdays),
    )


def _offset_to_nearest(days: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Days from each day to the nearest event day (negative = before it)."""
    diff = (days[:, None] - events[None, :]).astype(np.int64)
    pick = np.abs(diff).argmin(axis=1)
    return diff[np.arange(len(days)), pick]


def _spring_festival(offset: np.ndarray, online: bool) -> np.ndarray:
    """Order multiplier around the Spring Festival (offset 0 = lunar new year's day)."""
    if online:
        bands = [(-21, -8, 1.20), (-7, -1, 0.80), (0, 6, 0.35), (7, 13, 0.70), (14, 20, 0.90)]
    else:
        # Shops stock up for the holiday, close for it, and restart slowly until Lantern Festival.
        bands = [
            (-30, -22, 1.15),
            (-21, -8, 1.50),
            (-7, -3, 1.25),
            (-2, -1, 0.45),
            (0, 6, 0.06),
            (7, 9, 0.35),
            (10, 16, 0.65),
            (17, 24, 0.85),
        ]
    mult = np.ones(len(offset))
    for lo, hi, value in bands:
        mult[(offset >= lo) & (offset <= hi)] = value
    return mult


def _calendar_multipliers(days: np.ndarray) -> np.ndarray:
    """Order-rate multiplier per channel and day, shape (3, n_days), mean 1 per channel."""
    ts = pd.DatetimeIndex(days)
    years = range(int(ts.year.min()) - 1, int(ts.year.max()) + 2)
    spring, autumn, holiday_set, workday_set = _festival_days(years)
    sf_offset = _offset_to_nearest(days, spring)
    ma_offset = _offset_to_nearest(days, autumn)

    weekday = ts.weekday.to_numpy()
    dom = ts.day.to_numpy()
    month = ts.month.to_numpy()
    month_len = ts.days_in_month.to_numpy()
    as_date = ts.date
    is_holiday = np.fromiter((d in holiday_set for d in as_date), bool, len(days))
    is_makeup = np.fromiter((d in workday_set for d in as_date), bool, len(days))
    in_sf_window = (sf_offset >= -2) & (sf_offset <= 9)

    # Offline and partner trade is B2B: working days matter; online peaks at weekends.
    b2b_week = np.array([1.12, 1.05, 1.02, 1.00, 1.08, 0.42, 0.22])[weekday]
    b2b_week = np.where(is_makeup, 0.95, b2b_week)
    b2b_week = np.where(is_holiday & ~in_sf_window, 0.25, b2b_week)
    online_week = np.array([0.92, 0.90, 0.92, 0.95, 1.05, 1.20, 1.28])[weekday]
    online_week = np.where(is_holiday & ~in_sf_window, 1.10, online_week)

    # Push at the end of each dekad (旬), strongest at month end; the first days are quiet.
    dekad_end = np.where(dom <= 10, 10, np.where(dom <= 20, 20, month_len))
    to_end = dekad_end - dom
    third = dom > 20
    push = np.ones(len(days))
    push[(to_end == 0) & ~third] = 1.30
    push[(to_end == 1) & ~third] = 1.15
    for k, value in enumerate((1.90, 1.55, 1.30, 1.12)):
        push[(to_end == k) & third] = value
    push[dom <= 3] = 0.80
    online_push = 1 + (push - 1) * 0.4

    # Online promotions: 618 and Double 11 (with pre-sale), Double 12; a lull after each.
    promo = np.ones(len(days))
    june, octo, nov, dec = month == 6, month == 10, month == 11, month == 12
    promo[june & (dom <= 15)] = 1.35
    promo[june & (dom >= 16) & (dom <= 18)] = 2.60
    promo[june & (dom >= 19) & (dom <= 25)] = 0.75
    promo[octo & (dom >= 20)] = 1.50
    promo[nov & (dom <= 10)] = 1.70
    promo[nov & (dom == 11)] = 4.00
    promo[nov & (dom >= 12) & (dom <= 18)] = 0.75
    promo[dec & (dom >= 10) & (dom <= 12)] = 1.60

    # Gift stocking before Mid-Autumn (offline and partners), partners' quarter-end rebate push.
    mid_autumn = np.where((ma_offset >= -20) & (ma_offset <= -4), 1.25, 1.0)
    quarter_end = np.where((month % 3 == 0) & third, 1.25, 1.0)

    online = online_week * online_push * promo * _spring_festival(sf_offset, online=True)
    offline = b2b_week * push * mid_autumn * _spring_festival(sf_offset, online=False)
    partner = offline * quarter_end
    mult = np.vstack([online, offline, partner])
    return mult / mult.mean(axis=1, keepdims=True)


def _promo_days(days: np.ndarray) -> np.ndarray:
    """Days with the online promotion discount (618 and Double 11 sale periods)."""
    ts = pd.DatetimeIndex(days)
    month, dom = ts.month.to_numpy(), ts.day.to_numpy()
    return ((month == 6) & (dom <= 18)) | ((month == 11) & (dom <= 11))
