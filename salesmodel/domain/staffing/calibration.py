"""Calibration: productivity that replays the past.

A productivity assumption is credible only if, applied to last year's actual team (with
its hire and leave dates), it reproduces last year's sales. :func:`team_months` lays the
team out month by month (share of the month employed, month of service, ramp fraction);
:func:`calibrate_productivity` estimates each rep's mature monthly volume (at season index
1) per role and region from history, shrinks a rep's own history towards the region's
level and calibrates each region so the replay meets its sales; :func:`replay` runs the
capacity model over the window with the actual team.

Model: in month m, rep i sells ``p_i x employed(i, m) x ramp(k(i, m)) x season(m)``, where
``k`` is the month of service (1 in the hire month) and ``employed`` the share of the
month's days on the payroll. Sales reach a rep through the customer's current rep (the data
hold no assignment history), so a region's sales are what its team sold, while a rep who
left has no book of their own: leavers, and reps without enough mature months, take the
region's level.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.staffing._checks import _bad, _check_ramp, _require_columns
from salesmodel.errors import InputError

__all__ = ["Calibration", "calibrate_productivity", "replay", "replay_window", "team_months"]


def replay_window(last_day: Any, months: int = 12) -> pd.PeriodIndex:
    """The ``months`` complete months of history ending at ``last_day`` (its month when it is the month's last day)."""
    last = pd.Timestamp(last_day)
    end = last.to_period("M") if last == last.to_period("M").end_time.normalize() else last.to_period("M") - 1
    return pd.period_range(end - (months - 1), end, freq="M")


def team_months(reps: pd.DataFrame, months: pd.PeriodIndex, ramp: Sequence[float]) -> pd.DataFrame:
    """Each rep employed in ``months``: share of the month employed, month of service, ramp fraction.

    ``reps`` needs ``rep_id, hire_date`` (``leave_date`` optional: the last day worked).
    Returns ``rep_id, month, employed, service_month, ramp`` for the rep-months with
    ``employed > 0``; ``fte = employed x ramp`` is the ramped full-time equivalent.
    """
    func = "team_months"
    _require_columns(reps, ["rep_id", "hire_date"], "the reps table", func)
    ramp_arr = _check_ramp(ramp, func)
    hire = pd.to_datetime(reps["hire_date"]).to_numpy(dtype="datetime64[D]")
    leave_raw = pd.to_datetime(reps["leave_date"]) if "leave_date" in reps else pd.Series(pd.NaT, index=reps.index)
    leave = leave_raw.to_numpy(dtype="datetime64[D]")
    starts = months.start_time.to_numpy(dtype="datetime64[D]")
    ends = months.end_time.normalize().to_numpy(dtype="datetime64[D]")
    days = (ends - starts).astype(int) + 1
    first = np.maximum(starts[None, :], hire[:, None])
    last = np.where(np.isnat(leave)[:, None], ends[None, :], np.minimum(ends[None, :], leave[:, None]))
    worked = np.clip((last - first).astype(int) + 1, 0, None)
    employed = worked / days[None, :]
    hire_month = pd.PeriodIndex(pd.to_datetime(reps["hire_date"]), freq="M").asi8
    service = months.asi8[None, :] - hire_month[:, None] + 1
    ramped = np.where(service <= ramp_arr.size, ramp_arr[np.clip(service - 1, 0, ramp_arr.size - 1)], 1.0)
    i, j = np.nonzero(employed > 0)
    return pd.DataFrame({
        "rep_id": reps["rep_id"].to_numpy()[i],
        "month": months[j],
        "employed": employed[i, j],
        "service_month": service[i, j].astype(np.int64),
        "ramp": ramped[i, j],
    })


@dataclass
class Calibration:
    """What :func:`calibrate_productivity` returns.

    ``reps``: one row per rep of the window (``rep_id, region_id, role, own_productivity,
    own_months, productivity, source``: "own" when the rep's history counts, "region"
    otherwise); ``regions``: ``region_id, productivity`` (the base role's mature volume: the
    region's sales over its season-, ramp- and role-weighted FTE-months, so the whole team at
    this level replays the region exactly; the hires' productivity), ``calibration`` (the
    factor applied to the reps' shrunk volumes so that they replay the region's sales too);
    ``role_factors``: role -> volume relative to ``base_role``;
    ``roles_without_history``: roles of the team (or asked for) with no history, assumed at
    the base role's level.
    """

    reps: pd.DataFrame
    regions: pd.DataFrame
    role_factors: dict[str, float]
    roles_without_history: list[str] = field(default_factory=list)
    window: pd.PeriodIndex | None = None
    company: float = float("nan")  # the company's base-role level: its sales over its weighted FTE-months


def _season_of(months: pd.PeriodIndex, season: Mapping[int, float] | pd.Series | None) -> np.ndarray:
    if season is None:
        return np.ones(len(months))
    s = pd.Series(season, dtype=float)
    s.index = s.index.astype(int)
    if set(s.index) != set(range(1, 13)) or not (s > 0).all():
        raise _bad("season", "calibrate_productivity", "an index above 0 for each month of the year 1-12", s.to_dict())
    return s.reindex(months.month).to_numpy(dtype=float)


def calibrate_productivity(
    sales: pd.DataFrame,
    reps: pd.DataFrame,
    *,
    months: pd.PeriodIndex,
    ramp: Sequence[float],
    season: Mapping[int, float] | pd.Series | None = None,
    shrink_months: float = 12.0,
    base_role: str = "account_manager",
    roles: Sequence[str] = (),
) -> Calibration:
    """Each rep's mature monthly volume (at season index 1), calibrated on the window.

    Parameters
    ----------
    sales : DataFrame
        ``rep_id, month (Period or label), amount``: what each rep's book sold each month
        (any grain finer than rep-month is summed); months outside ``months`` are ignored.
    reps : DataFrame
        ``rep_id, region_id, role, hire_date`` and optionally ``leave_date``.
    months : PeriodIndex
        The window, e.g. :func:`replay_window` of the history's last day.
    ramp : list of fractions
        A new rep's share of a mature rep's volume in months 1, 2, ... of service.
    season : mapping month of year -> index, optional
        The sales season (indices averaging 1); volumes are per season index 1.
    shrink_months : float, default 12
        Credibility of a rep's own history: own mature months n weigh n / (n + shrink_months)
        against the region's level (0: own history only).
    base_role : str
        The role the region's level and the hires refer to (factor 1).
    roles : list of str
        Further roles the caller needs a factor for (e.g. the hires' role).

    Steps: (1) a region's level = its sales / its season- and ramp-weighted FTE-months;
    (2) role factors = each role's sales over what its reps would have sold at their
    region's level (company-wide), relative to ``base_role``; (3) a rep's own level from
    the months in which they were mature (ramp 1), shrunk towards region level x role factor;
    (4) each region calibrated: its reps' volumes scaled so the replay equals its sales.
    """
    func = "calibrate_productivity"
    _require_columns(sales, ["rep_id", "month", "amount"], "the sales table", func)
    _require_columns(reps, ["rep_id", "region_id", "role", "hire_date"], "the reps table", func)
    if not shrink_months >= 0:
        raise _bad("shrink_months", func, "a number >= 0", shrink_months)
    tm = team_months(reps, months, ramp)
    if tm.empty:
        raise InputError(f"{func}: nobody was employed in {months[0]}..{months[-1]}; no history to calibrate on.")
    info = reps.set_index("rep_id")[["region_id", "role"]]
    tm = tm.join(info, on="rep_id")
    tm["season"] = _season_of(pd.PeriodIndex(tm["month"]), season)
    tm["w"] = tm["employed"] * tm["ramp"] * tm["season"]
    s = sales.assign(month=pd.PeriodIndex(pd.to_datetime(sales["month"].astype(str), format="mixed"), freq="M")
                     if not isinstance(sales["month"].dtype, pd.PeriodDtype) else sales["month"])
    s = s[s["month"].isin(months)]
    rep_sales = s.groupby("rep_id")["amount"].sum()
    region_of = info["region_id"]
    region_sales = rep_sales.groupby(rep_sales.index.map(region_of)).sum()
    w_rep = tm.groupby("rep_id")["w"].sum()
    w_region = tm.groupby("region_id")["w"].sum()
    level0 = (region_sales.reindex(w_region.index).fillna(0.0) / w_region).rename("level")

    # own history: the months a rep still holding their book was mature (ramp 1), whole months
    active_end = tm.groupby("rep_id")["month"].max() == months[-1]
    mature = tm[(tm["ramp"] >= 1.0) & tm["rep_id"].map(active_end).fillna(False).astype(bool)]
    own_w = mature.groupby("rep_id")["w"].sum()
    own_n = mature.groupby("rep_id")["employed"].sum()
    s_rep_month = s.groupby(["rep_id", "month"])["amount"].sum()
    own_sales = s_rep_month.reindex(pd.MultiIndex.from_frame(mature[["rep_id", "month"]])).fillna(0.0)
    own_sales = own_sales.groupby(level=0).sum()
    has_own = own_n[(own_n >= 1.0) & (own_sales.reindex(own_n.index).fillna(0.0) > 0)].index

    # role factors: each role's own sales over its reps' region level (company-wide)
    expected = own_w.reindex(has_own) * own_w.reindex(has_own).index.map(region_of).map(level0).to_numpy()
    got = own_sales.reindex(has_own)
    role_of = info["role"]
    by_role = pd.DataFrame({"got": got, "expected": expected, "role": has_own.map(role_of)}).groupby("role")[["got", "expected"]].sum()
    raw = (by_role["got"] / by_role["expected"]).replace([np.inf, -np.inf], np.nan).dropna()
    base = raw.get(base_role, np.nan)
    if not np.isfinite(base) or base <= 0:
        base = 1.0
    factors = {str(r): float(v / base) for r, v in raw.items() if v > 0}
    factors[base_role] = 1.0
    wanted = sorted(set(info["role"].astype(str)) | set(map(str, roles)))
    without = [r for r in wanted if r not in factors]
    for r in without:
        factors[r] = 1.0

    # (1) again, with the role factors: the base role's level per region
    tm["f"] = tm["role"].astype(str).map(factors)
    w_region_f = (tm["w"] * tm["f"]).groupby(tm["region_id"]).sum()
    level = (region_sales.reindex(w_region_f.index).fillna(0.0) / w_region_f)

    # (3) shrink own history towards region level x role factor
    rows = pd.DataFrame({"rep_id": w_rep.index})
    rows["region_id"] = rows["rep_id"].map(region_of)
    rows["role"] = rows["rep_id"].map(role_of).astype(str)
    prior = rows["region_id"].map(level).to_numpy() * rows["role"].map(factors).to_numpy()
    n = rows["rep_id"].map(own_n).where(rows["rep_id"].isin(has_own), 0.0).fillna(0.0).to_numpy(dtype=float)
    own = (rows["rep_id"].map(own_sales) / rows["rep_id"].map(own_w)).where(rows["rep_id"].isin(has_own)).to_numpy(dtype=float)
    weight = n / (n + shrink_months) if shrink_months > 0 else (n > 0).astype(float)
    shrunk = np.where(n > 0, weight * np.nan_to_num(own) + (1 - weight) * prior, prior)

    # (4) calibrate each region: the replay meets its sales
    modelled = pd.Series(shrunk * rows["rep_id"].map(w_rep).to_numpy()).groupby(rows["region_id"].to_numpy()).sum()
    factor = (region_sales.reindex(modelled.index).fillna(0.0) / modelled).replace([np.inf, -np.inf], np.nan).fillna(1.0)
    rows["own_productivity"] = own
    rows["own_months"] = n
    rows["productivity"] = shrunk * rows["region_id"].map(factor).to_numpy()
    rows["source"] = np.where(n > 0, "own", "region")
    # the region's level replays the region exactly by itself (sales over weighted FTE-months): it is the
    # hires' volume; the factor only re-levels the reps' shrunk volumes so that they replay it too
    regions = pd.DataFrame({"region_id": level.index, "productivity": level.to_numpy(dtype=float),
                            "calibration": factor.reindex(level.index).to_numpy()})
    fte_months = (region_sales.reindex(level.index).fillna(0.0) / regions.set_index("region_id")["productivity"]).sum()
    company = float(region_sales.sum() / fte_months) if fte_months > 0 else float("nan")
    return Calibration(reps=rows.sort_values("rep_id", kind="mergesort").reset_index(drop=True),
                       regions=regions.reset_index(drop=True), role_factors=factors,
                       roles_without_history=without, window=months, company=company)


def replay(
    productivity: pd.DataFrame,
    reps: pd.DataFrame,
    *,
    months: pd.PeriodIndex,
    ramp: Sequence[float],
    season: Mapping[int, float] | pd.Series | None = None,
    actual: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The capacity model over ``months`` with the actual team: modelled sales per region and month.

    ``productivity``: ``rep_id, productivity`` (mature volume at season index 1, e.g.
    :attr:`Calibration.reps`); ``reps``: ``rep_id, region_id, hire_date[, leave_date]``;
    ``actual``: ``region_id, month, amount`` to compare with. Returns ``region_id, month,
    fte, modelled, actual, difference`` (modelled - actual) and ``difference_share``
    (over actual).
    """
    func = "replay"
    _require_columns(productivity, ["rep_id", "productivity"], "the productivity table", func)
    _require_columns(reps, ["rep_id", "region_id", "hire_date"], "the reps table", func)
    tm = team_months(reps, months, ramp)
    tm["region_id"] = tm["rep_id"].map(reps.set_index("rep_id")["region_id"])
    p = productivity.set_index("rep_id")["productivity"]
    missing = sorted(set(tm["rep_id"]) - set(p.index))
    if missing:
        raise InputError(f"{func}: no productivity for rep(s) {', '.join(map(str, missing[:5]))} of the team.")
    tm["fte"] = tm["employed"] * tm["ramp"]
    tm["modelled"] = tm["fte"] * _season_of(pd.PeriodIndex(tm["month"]), season) * tm["rep_id"].map(p).to_numpy()
    regions = sorted(pd.unique(reps["region_id"].dropna()))
    grid = pd.MultiIndex.from_product([regions, months], names=["region_id", "month"])
    out = tm.groupby(["region_id", "month"])[["fte", "modelled"]].sum().reindex(grid, fill_value=0.0)
    if actual is not None:
        _require_columns(actual, ["region_id", "month", "amount"], "the actual sales table", func)
        a = actual.assign(month=pd.PeriodIndex(pd.to_datetime(actual["month"].astype(str), format="mixed"), freq="M")
                          if not isinstance(actual["month"].dtype, pd.PeriodDtype) else actual["month"])
        out["actual"] = a.groupby(["region_id", "month"])["amount"].sum().reindex(grid, fill_value=0.0)
    else:
        out["actual"] = np.nan
    out["difference"] = out["modelled"] - out["actual"]
    out["difference_share"] = out["difference"] / out["actual"].where(out["actual"] != 0)
    out = out.reset_index()
    out["month"] = out["month"].astype(str)
    return out
