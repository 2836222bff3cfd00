"""Seasonal indices, same-period shares, dekad and weekday profiles, Spring Festival alignment.

Every function takes a tidy table of sales (a date column, a value column and optional
unit columns; order lines or any finer grain are summed) and returns a tidy profile:

    unit columns..., period_of_cycle, index, share, shrink_weight

``period_of_cycle`` is the month (1..12), quarter (1..4), dekad (1..3) or weekday
(0 = Monday .. 6); ``index`` has mean 1 over the cycle; ``share`` sums to 1 over the
cycle (``index / cycle length``); ``shrink_weight`` is the weight of the unit's own
profile against its group's (1 = its own history only, 0 = the group's profile).

The Spring Festival (春节) moves between January and February. Its effect is
estimated from daily data relative to the festival's real date, removed from the
history before indices are computed, and re-applied for the plan year
(:func:`spring_festival_effect`, :func:`remove_spring_festival`,
:func:`spring_festival_factors`; ``seasonal_indices(..., spring_festival=True)``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import check, param_error
from salesmodel.domain.sales_frame import CYCLES, SEASONAL_CYCLES, _as_cols, _prepare
from salesmodel.domain.spring_festival import (
    remove_spring_festival,
    spring_festival_dates,
    spring_festival_effect,
    spring_festival_factors,
    spring_festival_period_factors,
)
from salesmodel.errors import InputError, short_list

__all__ = [
    "CYCLES",
    "dekad_profile",
    "remove_spring_festival",
    "same_period_shares",
    "seasonal_indices",
    "spring_festival_dates",
    "spring_festival_effect",
    "spring_festival_factors",
    "spring_festival_period_factors",
    "weekday_profile",
]


_PROFILE_COLS = ["period_of_cycle", "index", "share", "shrink_weight"]


def _check_groups(unit_cols: list[str], group_cols: list[str], who: str) -> None:
    if group_cols and not unit_cols:
        raise param_error("group_cols", who, "given with 'unit_cols' (the units that shrink toward the groups)", group_cols,
                          after=" (unit_cols=None)")
    if group_cols and set(unit_cols) <= set(group_cols):
        raise param_error("group_cols", who, f"coarser than the units {unit_cols!r} (each group holds several units)", group_cols)


def _check_nesting(frame: pd.DataFrame, unit_cols: list[str], group_cols: list[str], who: str) -> None:
    extra = [c for c in group_cols if c not in unit_cols]
    if not extra:
        return
    n = frame.drop_duplicates([*unit_cols, *extra]).groupby(unit_cols, dropna=False).size()
    bad = n.index[n > 1].tolist()
    if bad:
        raise InputError(f"{who}: {len(bad)} unit(s) belong to more than one group of {group_cols}, e.g. {short_list(bad[:5])}; each unit must sit "
                         "in one group.")


# ----------------------------------------------------------------------------- the shrinkage core
@dataclass
class _Own:
    index: np.ndarray  # own index per period (mean 1), NaN where unknown
    noise: float  # variance of one cycle's ratio around the index (mean over periods)
    n: float  # cycles observed


def _shrink(units: list[tuple[Any, _Own]], group_index: np.ndarray) -> list[tuple[Any, np.ndarray, float]]:
    """Empirical-Bayes weights: w = tau² / (tau² + noise/n), tau² = spread of the units' true
    profiles around the group's, estimated by the method of moments."""
    known = [(k, o) for k, o in units if np.isfinite(o.index).all() and o.n > 0]
    pooled_noise = np.nanmean([o.noise for _, o in known if np.isfinite(o.noise)]) if known else np.nan
    if not np.isfinite(pooled_noise):
        pooled_noise = 0.0
    sampling = []
    dev = []
    for _, o in known:
        noise = o.noise if np.isfinite(o.noise) else pooled_noise
        sampling.append(noise / o.n)
        dev.append(float(np.mean((o.index - group_index) ** 2)))
    tau2 = max(float(np.mean(dev) - np.mean(sampling)), 1e-6) if known else 1e-6
    out = []
    for key, o in units:
        if not np.isfinite(o.index).all() or o.n <= 0:
            out.append((key, group_index.copy(), 0.0))
            continue
        if len(units) == 1:
            out.append((key, o.index, 1.0))
            continue
        noise = o.noise if np.isfinite(o.noise) else pooled_noise
        w = tau2 / (tau2 + noise / o.n)
        idx = w * o.index + (1 - w) * group_index
        out.append((key, idx / idx.mean(), float(w)))
    return out


def _ratio_profile(samples: np.ndarray) -> _Own:
    """Profile from cycles × periods values (ratio of sums); noise from each cycle's ratios."""
    m = samples.shape[1]
    totals = np.nansum(samples, axis=1)
    ok = (totals > 0) & np.isfinite(samples).all(axis=1)
    if not ok.any():
        return _Own(np.full(m, np.nan), np.nan, 0.0)
    s = samples[ok]
    idx = s.sum(axis=0) / s.sum() * m
    ratios = s / s.mean(axis=1, keepdims=True)
    noise = float(np.mean(np.var(ratios, axis=0, ddof=1))) if ok.sum() > 1 else np.nan
    return _Own(idx, noise, float(ok.sum()))


def _ma_profile(x: np.ndarray, pos: np.ndarray, m: int) -> _Own:
    """Classical ratio-to-moving-average: x / centred (2 x m) moving average, averaged per period."""
    n = x.size
    if n < m + 2 or m < 2:
        return _Own(np.full(m, np.nan), np.nan, 0.0)
    if m % 2 == 0:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        w = np.ones(m) / m
    cma = np.convolve(x, w, mode="valid")
    half = (w.size - 1) // 2
    xs, ps = x[half : half + cma.size], pos[half : half + cma.size]
    good = cma > 0
    ratio = np.full(cma.size, np.nan)
    ratio[good] = xs[good] / cma[good]
    return _per_period(ratio, ps, m)


def _stl_profile(x: np.ndarray, pos: np.ndarray, m: int) -> _Own:
    """STL (statsmodels, robust) on logs when all values are positive, else on levels."""
    from statsmodels.tsa.seasonal import STL

    n = x.size
    if n < 2 * m + 1 or m < 2:
        return _Own(np.full(m, np.nan), np.nan, 0.0)
    if (x > 0).all():
        res = STL(np.log(x), period=m, robust=True).fit()
        factor = np.exp(res.seasonal)
        noisy = np.exp(res.seasonal + res.resid)
    else:
        level = x.mean()
        if level <= 0:
            return _Own(np.full(m, np.nan), np.nan, 0.0)
        res = STL(x, period=m, robust=True).fit()
        factor = np.maximum(1 + res.seasonal / level, 0.0)
        noisy = np.maximum(1 + (res.seasonal + res.resid) / level, 0.0)
    own = _per_period(factor, pos, m)
    own.noise = _per_period(noisy, pos, m).noise
    return own


def _per_period(ratio: np.ndarray, pos: np.ndarray, m: int) -> _Own:
    idx = np.full(m, np.nan)
    var = np.full(m, np.nan)
    counts = np.zeros(m)
    for p in range(m):
        r = ratio[(pos == p) & np.isfinite(ratio)]
        counts[p] = r.size
        if r.size:
            idx[p] = r.mean()
        if r.size > 1:
            var[p] = r.var(ddof=1)
    if np.isnan(idx).any() or idx.sum() <= 0:
        return _Own(np.full(m, np.nan), np.nan, 0.0)
    idx = idx / idx.mean()
    return _Own(idx, float(np.nanmean(var)) if np.isfinite(var).any() else np.nan, float(counts.min()))


# ----------------------------------------------------------------------------- period bookkeeping
def _period_frame(dates: pd.Series, cycle: str) -> tuple[pd.Series, pd.Series]:
    """(period key sortable, position within cycle 0-based) for month/quarter/dekad/weekday."""
    if cycle == "month":
        return dates.dt.year * 12 + dates.dt.month - 1, dates.dt.month - 1
    if cycle == "quarter":
        return dates.dt.year * 4 + dates.dt.quarter - 1, dates.dt.quarter - 1
    if cycle == "dekad":
        d = np.minimum((dates.dt.day - 1) // 10, 2)
        return (dates.dt.year * 12 + dates.dt.month - 1) * 3 + d, d
    return (dates - pd.Timestamp("1970-01-05")).dt.days, dates.dt.dayofweek


def _unit_series(data: pd.DataFrame, date_col: str, value_col: str, keys: list[str], cycle: str) -> pd.DataFrame:
    """Totals per unit and period over the full span of the data (missing periods are zero)."""
    key, _ = _period_frame(data[date_col], cycle)
    frame = data.assign(_key=key.to_numpy())
    grouped = frame.groupby([*keys, "_key"], sort=True, dropna=False)[value_col].sum().rename("value").reset_index()
    span = np.arange(int(key.min()), int(key.max()) + 1)
    units = grouped[keys].drop_duplicates() if keys else pd.DataFrame(index=[0])
    full = units.merge(pd.DataFrame({"_key": span}), how="cross") if keys else pd.DataFrame({"_key": span})
    full = full.merge(grouped, on=[*keys, "_key"], how="left").fillna({"value": 0.0})
    m = CYCLES[cycle]
    if cycle == "weekday":
        full["_pos"] = (full["_key"] % 7).astype(int)
        full["_cycle"] = full["_key"] // 7
    else:
        full["_pos"] = (full["_key"] % m).astype(int)
        full["_cycle"] = full["_key"] // m
    return full


def _tidy(rows: list[tuple[Any, np.ndarray, float]], keys: list[str], m: int, start: int) -> pd.DataFrame:
    out = []
    for key, idx, w in rows:
        key = key if isinstance(key, tuple) else (key,)
        base = dict(zip(keys, key))
        for p in range(m):
            out.append({**base, "period_of_cycle": p + start, "index": float(idx[p]), "share": float(idx[p] / m), "shrink_weight": float(w)})
    return pd.DataFrame(out, columns=[*keys, *_PROFILE_COLS])


# ----------------------------------------------------------------------------- public: indices
def seasonal_indices(
    data: pd.DataFrame,
    *,
    date_col: str = "date",
    value_col: str = "amount",
    unit_cols: str | Sequence[str] | None = None,
    group_cols: str | Sequence[str] | None = None,
    cycle: str = "month",
    method: str = "ratio_to_ma",
    shrink: bool = True,
    spring_festival: bool = False,
    plan_year: int | None = None,
    festival_window: tuple[int, int] = (-35, 28),
) -> pd.DataFrame:
    """Seasonal indices per unit (mean 1 over the cycle), shrunk toward the group's profile.

    Parameters
    ----------
    data : DataFrame
        Sales: a date column, a value column and the unit (and group) columns;
        any grain finer than the cycle (order lines, days, months) is summed.
    unit_cols, group_cols : str or list of str, optional
        The units (e.g. ``["province"]``) and the groups they shrink toward
        (e.g. ``["region"]``; default: all units together). No units: one profile.
    cycle : {"month", "quarter"}, default="month"
    method : {"ratio_to_ma", "stl"}, default="ratio_to_ma"
        Classical ratio to the centred moving average, or STL (statsmodels, robust).
    shrink : bool, default=True
        Blend each unit's profile with its group's by an empirical-Bayes weight
        (``shrink_weight``): short or noisy histories lean on the group.
    spring_festival : bool, default=False
        Align the history on the Spring Festival's real dates (needs daily data), then
        re-apply the festival as it falls in ``plan_year``.
    plan_year : int, optional
        Required with ``spring_festival``.
    festival_window : (int, int), default=(-35, 28)
        Days around the festival whose sales it moves.

    Returns
    -------
    DataFrame
        ``unit columns..., period_of_cycle, index, share, shrink_weight``.

    Examples
    --------
    >>> ds = pd.date_range("2021-01-01", periods=48, freq="MS")
    >>> y = 100 * (1 + 0.3 * (ds.month == 12))
    >>> idx = seasonal_indices(pd.DataFrame({"date": ds, "amount": y}))
    >>> float(round(idx["index"].mean(), 6)), float(round(idx.loc[11, "index"] / idx.loc[0, "index"], 2))
    (1.0, 1.3)
    """
    who = "seasonal_indices"
    m = CYCLES[check(cycle, SEASONAL_CYCLES, "cycle", who)]
    if method not in ("ratio_to_ma", "stl"):
        raise param_error("method", who, "'ratio_to_ma' or 'stl'", method)
    units_k, groups_k = _as_cols(unit_cols), _as_cols(group_cols)
    _check_groups(units_k, groups_k, who)
    frame = _prepare(data, date_col, value_col, units_k, groups_k, who)
    _check_nesting(frame, units_k, groups_k, who)
    factors = None
    if spring_festival:
        if plan_year is None:
            raise param_error("plan_year", who, "given when spring_festival=True", shown="None")
        total = frame.groupby(date_col, sort=True)[value_col].sum().reset_index()
        effect = spring_festival_effect(total, date_col=date_col, value_col=value_col, window=festival_window)
        frame = remove_spring_festival(frame, effect, date_col=date_col, value_col=value_col)
        factors = spring_festival_factors(effect, plan_year, cycle=cycle)["factor"].to_numpy()
    profile = _MA if method == "ratio_to_ma" else _STL

    def own_profile(part: pd.DataFrame) -> _Own:
        x, pos = part["value"].to_numpy(float), part["_pos"].to_numpy()
        # A unit's history runs from its first to its last period with sales.
        nz = np.flatnonzero(x != 0)
        if nz.size == 0:
            return _Own(np.full(m, np.nan), np.nan, 0.0)
        return profile(x[nz[0] : nz[-1] + 1], pos[nz[0] : nz[-1] + 1], m)

    if not units_k:
        series = _unit_series(frame, date_col, value_col, [], cycle)
        own = own_profile(series)
        if not np.isfinite(own.index).all():
            raise InputError(f"{who}: too little history for {cycle} indices by {method}: need at least "
                             f"{m + 2 if method == 'ratio_to_ma' else 2 * m + 1} {cycle}s with sales.")
        rows = [((), _apply(own.index, factors), 1.0)]
        return _tidy(rows, [], m, 1)
    series = _unit_series(frame, date_col, value_col, list(dict.fromkeys([*groups_k, *units_k])), cycle)
    rows = []
    by_group = series.groupby(groups_k, sort=True, dropna=False) if groups_k else [((), series)]
    for _, part in by_group:
        total = part.groupby("_key", sort=True).agg(value=("value", "sum"), _pos=("_pos", "first")).reset_index()
        group_own = own_profile(total)
        group_index = group_own.index if np.isfinite(group_own.index).all() else np.ones(m)
        owns = [(key, own_profile(u)) for key, u in part.groupby(units_k, sort=True, dropna=False)]
        if shrink:
            shrunk = _shrink(owns, group_index)
        else:
            shrunk = [(k, o.index if np.isfinite(o.index).all() else group_index, 1.0 if np.isfinite(o.index).all() else 0.0) for k, o in owns]
        rows += [(k, _apply(idx, factors), w) for k, idx, w in shrunk]
    out = _tidy(rows, units_k, m, 1)
    return out.sort_values([*units_k, "period_of_cycle"], kind="mergesort").reset_index(drop=True)


def _MA(x, pos, m):
    return _ma_profile(x, pos, m)


def _STL(x, pos, m):
    return _stl_profile(x, pos, m)


def _apply(index: np.ndarray, factors: np.ndarray | None) -> np.ndarray:
    if factors is None:
        return index
    out = index * factors
    return out / out.mean()


def same_period_shares(
    data: pd.DataFrame,
    *,
    date_col: str = "date",
    value_col: str = "amount",
    unit_cols: str | Sequence[str] | None = None,
    cycle: str = "month",
    years: int | Sequence[int] = 1,
) -> pd.DataFrame:
    """Each period's share of its year (去年同期), from the last complete year or several.

    Parameters
    ----------
    years : int or list of int, default=1
        The number of most recent complete years to average (each year's shares weigh
        the same), or the years themselves.

    Returns
    -------
    DataFrame
        ``unit columns..., period_of_cycle, index, share, shrink_weight, years`` where
        ``years`` lists the years used (e.g. ``"2024,2025"``); a unit without sales in
        those years gets even shares.

    Examples
    --------
    >>> ds = pd.date_range("2024-01-01", "2025-12-31", freq="D")
    >>> s = same_period_shares(pd.DataFrame({"date": ds, "amount": 1.0}))
    >>> float(round(s.loc[1, "share"] * 365, 6))  # February 2025 has 28 days
    28.0
    """
    who = "same_period_shares"
    m = CYCLES[check(cycle, SEASONAL_CYCLES, "cycle", who)]
    units_k = _as_cols(unit_cols)
    frame = _prepare(data, date_col, value_col, units_k, [], who)
    first, last = frame[date_col].min(), frame[date_col].max()
    # A year counts when the data's span covers it entirely.
    # Month-stamped data covers December with its first day; daily data needs the 31st.
    last_day = (12, 1) if (frame[date_col].dt.day == 1).all() else (12, 31)
    complete = [y for y in range(first.year, last.year + 1) if first <= pd.Timestamp(y, 1, 1) and last >= pd.Timestamp(y, *last_day)]
    if isinstance(years, (int, np.integer)) and not isinstance(years, bool):
        if years < 1:
            raise param_error("years", who, "a positive integer or a list of years", years)
        chosen = complete[-int(years):]
    else:
        chosen = sorted(int(y) for y in years)
        missing = [y for y in chosen if y not in complete]
        if missing:
            raise InputError(f"{who}: the data does not cover the whole of year(s) {short_list(missing)}; complete years are "
                             f"{short_list(complete) or 'none'}.")
    if not chosen:
        raise InputError(f"{who}: no complete year in the data ({first:%Y-%m-%d} to {last:%Y-%m-%d}); same-period shares need at least one whole "
                         "year.")
    frame = frame[frame[date_col].dt.year.isin(chosen)]
    series = _unit_series(frame, date_col, value_col, units_k, cycle)
    series["_year"] = series["_cycle"]
    rows = []
    groups = series.groupby(units_k, sort=True, dropna=False) if units_k else [((), series)]
    for key, part in groups:
        mat = part.pivot_table(index="_year", columns="_pos", values="value", aggfunc="sum").reindex(columns=range(m)).fillna(0.0)
        mat = mat.loc[mat.index.isin(chosen)].to_numpy(float)
        tot = mat.sum(axis=1, keepdims=True)
        yearly = mat[tot[:, 0] > 0] / tot[tot[:, 0] > 0]
        share = yearly.mean(axis=0) if len(yearly) else np.full(m, 1.0 / m)
        rows.append((key, share * m, 1.0))
    out = _tidy(rows, units_k, m, 1)
    out["years"] = ",".join(str(y) for y in chosen)
    return out


def _profile_by_cycle(data, date_col, value_col, unit_cols, group_cols, cycle, shrink, who, start) -> pd.DataFrame:
    m = CYCLES[cycle]
    units_k, groups_k = _as_cols(unit_cols), _as_cols(group_cols)
    _check_groups(units_k, groups_k, who)
    frame = _prepare(data, date_col, value_col, units_k, groups_k, who)
    _check_nesting(frame, units_k, groups_k, who)
    keys = list(dict.fromkeys([*groups_k, *units_k]))
    series = _unit_series(frame, date_col, value_col, keys, cycle)
    # Only whole cycles (whole weeks or months) count: a partial one would bias the shares.
    if cycle == "weekday":
        counts = series.groupby("_cycle")["_pos"].nunique()
        whole = counts.index[counts == 7]
        series = series[series["_cycle"].isin(whole)]
        if series.empty:
            raise InputError(f"{who}: the data covers no whole week (Monday to Sunday).")

    def own(part: pd.DataFrame) -> _Own:
        mat = part.pivot_table(index="_cycle", columns="_pos", values="value", aggfunc="sum").reindex(columns=range(m)).fillna(0.0)
        return _ratio_profile(mat.to_numpy(float))

    if not units_k:
        o = own(series)
        if not np.isfinite(o.index).all():
            raise InputError(f"{who}: no sales in the data; a profile needs some.")
        return _tidy([((), o.index, 1.0)], [], m, start)
    rows = []
    by_group = series.groupby(groups_k, sort=True, dropna=False) if groups_k else [((), series)]
    for _, part in by_group:
        g = own(part)
        gi = g.index if np.isfinite(g.index).all() else np.ones(m)
        owns = [(k, own(u)) for k, u in part.groupby(units_k, sort=True, dropna=False)]
        if shrink:
            rows += _shrink(owns, gi)
        else:
            rows += [(k, o.index if np.isfinite(o.index).all() else gi, 1.0 if np.isfinite(o.index).all() else 0.0) for k, o in owns]
    out = _tidy(rows, units_k, m, start)
    return out.sort_values([*units_k, "period_of_cycle"], kind="mergesort").reset_index(drop=True)


def dekad_profile(
    data: pd.DataFrame,
    *,
    date_col: str = "date",
    value_col: str = "amount",
    unit_cols: str | Sequence[str] | None = None,
    group_cols: str | Sequence[str] | None = None,
    shrink: bool = True,
) -> pd.DataFrame:
    """Share of a month's sales in each dekad (旬: days 1-10, 11-20, 21-end), from daily data.

    The month-end push shows as a third-dekad share above 1/3. Shares are ratios of sums
    over all months; units shrink toward their group as in :func:`seasonal_indices`.

    Examples
    --------
    >>> ds = pd.date_range("2025-01-01", "2025-12-31", freq="D")
    >>> p = dekad_profile(pd.DataFrame({"date": ds, "amount": np.where(ds.day > 20, 2.0, 1.0)}))
    >>> bool(p.loc[2, "share"] > 0.5)
    True
    """
    return _profile_by_cycle(data, date_col, value_col, unit_cols, group_cols, "dekad", shrink, "dekad_profile", 1)


def weekday_profile(
    data: pd.DataFrame,
    *,
    date_col: str = "date",
    value_col: str = "amount",
    unit_cols: str | Sequence[str] | None = None,
    group_cols: str | Sequence[str] | None = None,
    weeks: int | None = None,
    shrink: bool = True,
) -> pd.DataFrame:
    """Share of a week's sales on each weekday (0 = Monday .. 6 = Sunday), from whole weeks.

    ``weeks`` keeps only the most recent whole weeks (DOMAIN example E uses three).

    Examples
    --------
    Example E: three weeks' takings by weekday, 87,000 in all.

    >>> takings = [9654, 9687, 11654, 10625, 11687, 17110, 16583]
    >>> ds = pd.date_range("2026-11-02", periods=7, freq="D")  # a Monday
    >>> p = weekday_profile(pd.DataFrame({"date": ds, "amount": takings}))
    >>> float(round(p.loc[5, "share"], 4))  # Saturday: 17,110 / 87,000
    0.1967
    """
    if weeks is not None:
        if not isinstance(weeks, (int, np.integer)) or weeks < 1:
            raise param_error("weeks", "weekday_profile", "a positive integer or None", weeks)
        d = pd.to_datetime(data[date_col])
        last = d.max()
        last_sunday = last - pd.Timedelta(days=(last.dayofweek + 1) % 7)
        first_monday = last_sunday - pd.Timedelta(days=7 * weeks - 1)
        data = data[(d >= first_monday) & (d <= last_sunday)]
    return _profile_by_cycle(data, date_col, value_col, unit_cols, group_cols, "weekday", shrink, "weekday_profile", 0)
