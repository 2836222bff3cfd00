"""Capacity: the fewest hires, month by month, so that ramped capacity meets each
month's target given attrition and hiring lead time (an integer programme solved by
HiGHS through ``scipy.optimize.milp``); :func:`project_capacity` for a given schedule.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.staffing._checks import (
    _bad,
    _check_int,
    _check_positive,
    _check_ramp,
    _check_rate,
    _require_columns,
)
from salesmodel.domain.staffing._solver import _apply_company_cap, _blocked_positions, _problem, _slack, _solve_all
from salesmodel.errors import InputError, short_list

__all__ = ["capacity_plan", "project_capacity"]


# ---------------------------------------------------------------------------
# capacity_plan
# ---------------------------------------------------------------------------


def _kernel(ramp: np.ndarray, survival: float, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Expected people and ramped FTE of one hire j = 0, 1, ... months after starting."""
    j = np.arange(horizon)
    stay = survival**j
    ramped = np.where(j < ramp.size, ramp[np.minimum(j, ramp.size - 1)], 1.0)
    return stay, stay * ramped


def _existing_fte(start_headcount: float, start_tenure: Any, ramp: np.ndarray, survival: float, horizon: int,
                  start_weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Expected headcount and ramped FTE of the staff already on the payroll.

    ``start_weight`` (one number per person): each person's volume relative to the team's
    productivity (a calibrated rep above or below the region's level); default 1."""
    j = np.arange(horizon)
    stay = survival**j
    heads = start_headcount * stay
    weight = None if start_weight is None else np.atleast_1d(np.asarray(start_weight, dtype=float))
    if start_tenure is None and weight is None:
        return heads, heads.copy()
    if start_tenure is None:
        tenure = np.full(weight.size, float(ramp.size))
    else:
        tenure = np.atleast_1d(np.asarray(start_tenure, dtype=float))
    if tenure.size == 1:
        tenure = np.full(round(start_headcount), tenure[0])
    # month t is the (tenure + t + 1)-th month of a person with `tenure` completed months
    k = (tenure[:, None] + j[None, :]).astype(int)
    ramped = np.where(k < ramp.size, ramp[np.minimum(k, ramp.size - 1)], 1.0)
    if weight is not None:
        ramped = ramped * weight[:, None]
    return heads, ramped.sum(axis=0) * stay


def project_capacity(
    hires_starting: Sequence[float],
    *,
    productivity: float,
    ramp: Sequence[float],
    attrition: float,
    start_headcount: float,
    attainment: float = 1.0,
    start_tenure: Any = None,
) -> pd.DataFrame:
    """Expected headcount, leavers, ramped FTE and capacity for a given hiring schedule.

    ``hires_starting[t]`` people start at the beginning of month t. Used by
    :func:`capacity_plan` to report the schedule it chose; useful on its own to
    test a schedule by hand.

    Examples
    --------
    >>> project_capacity([0, 1, 0], productivity=100, ramp=[0.5, 1.0], attrition=0.0,
    ...                  start_headcount=2)["capacity"].tolist()
    [200.0, 250.0, 300.0]
    """
    func = "project_capacity"
    ramp_arr = _check_ramp(ramp, func)
    attrition = _check_rate(attrition, "attrition", func)
    productivity = _check_positive(productivity, "productivity", func)
    hires = np.asarray(hires_starting, dtype=float)
    if hires.ndim != 1 or (hires < 0).any() or not np.isfinite(hires).all():
        raise _bad("hires_starting", func, "a list of non-negative numbers", list(hires_starting))
    survival = (1.0 - attrition) ** (1.0 / 12.0)
    return _project(hires, productivity * attainment, ramp_arr, survival, float(start_headcount), start_tenure)


def _project(hires: np.ndarray, unit: float, ramp: np.ndarray, survival: float, start_headcount: float, start_tenure: Any) -> pd.DataFrame:
    return pd.DataFrame(_project_arrays(hires, unit, ramp, survival, start_headcount, start_tenure))


def _project_arrays(hires: np.ndarray, unit: float | np.ndarray, ramp: np.ndarray, survival: float, start_headcount: float,
                    start_tenure: Any, existing: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    horizon = hires.size
    stay, fte_kernel = _kernel(ramp, survival, horizon)
    heads0, fte0 = existing if existing is not None else _existing_fte(start_headcount, start_tenure, ramp, survival, horizon)
    heads = heads0 + np.convolve(hires, stay)[:horizon]
    fte = fte0 + np.convolve(hires, fte_kernel)[:horizon]
    return {
        "headcount_start": heads,
        "hires_starting": hires,
        "leavers_expected": heads * (1.0 - survival),
        "headcount_end": heads * survival,
        "ramped_fte": fte,
        "capacity": fte * unit,
    }




def _month_labels(index: pd.Index, where: str) -> tuple[pd.Index, np.ndarray | None]:
    """Months as a sorted monthly PeriodIndex (checked consecutive) and the sort order.

    Labels that are not dates are kept as given, in the given order (order None).
    """
    if isinstance(index, pd.PeriodIndex):
        months = index.asfreq("M")
    elif isinstance(index, pd.DatetimeIndex):
        months = index.to_period("M")
    else:
        try:
            months = pd.PeriodIndex(pd.to_datetime(index.astype(str), format="mixed"), freq="M")
        except (ValueError, TypeError):
            return index, None
    if months.has_duplicates:
        dup = months[months.duplicated()].astype(str).unique()
        raise InputError(f"{where}: each month must appear once; repeated: {short_list(list(dup))}.")
    order = np.argsort(months.asi8, kind="stable")
    months = months[order]
    if len(months) > 1 and (np.diff(months.asi8) != 1).any():
        full = pd.period_range(months[0], months[-1], freq="M")
        missing = full.difference(months).astype(str)
        raise InputError(f"{where}: months must be consecutive; missing {short_list(list(missing))}.")
    return months, order


def _team_weight(start_weight: Any, team: Any, heads0: float) -> Any:
    """A team's relative volume of each current person (checked), or None."""
    if start_weight is None:
        return None
    weight = _per_team(start_weight, team, "start_weight")
    wt = np.atleast_1d(np.asarray(weight, dtype=float))
    if wt.size != round(heads0) or (wt < 0).any() or not np.isfinite(wt).all():
        raise _bad("start_weight", "capacity_plan", f"one relative volume >= 0 per person ({heads0:g})", weight)
    return wt


def _per_team(value: Any, team: Any, name: str) -> Any:
    if isinstance(value, (Mapping, pd.Series)):
        if team not in value:
            raise _bad(name, "capacity_plan", f"a number or a mapping with an entry for every team (missing team {team!r})", type(value).__name__)
        return value[team]
    return value


def capacity_plan(
    targets: pd.Series | pd.DataFrame,
    *,
    productivity: float | Mapping[Any, float],
    ramp: Sequence[float],
    attrition: float,
    hire_lead_months: int,
    start_headcount: float | Mapping[Any, float],
    max_hires_per_month: int | Mapping[Any, int] | None = None,
    attainment: float = 1.0,
    start_tenure: Any = None,
    seasonality: Mapping[int, float] | pd.Series | None = None,
    min_reach: float,
    start_weight: Any = None,
    blocked_months: Sequence[Any] = (),
    max_starts_per_month: int | None = None,
    team_col: str = "team",
    month_col: str = "month",
    target_col: str = "target",
) -> pd.DataFrame:
    """The fewest hires, month by month, so that ramped capacity meets the targets.

    How many people start each month is an integer programme: the least total
    shortfall first (only possible when hiring is limited), then the fewest
    hires. It is solved exactly: a quick schedule (greedy, or the LP solution
    rounded down and completed) is accepted when its count equals the LP
    relaxation's bound rounded up - a certificate of optimality - and otherwise
    HiGHS solves the team's programme (``scipy.optimize.milp``). Ties are then
    broken towards later starts: each hire moves to the latest month that keeps
    every month met (fewer months on payroll; a deterministic pass, not a
    proven minimum of payroll). ``attrs["teams"][team]["method"]`` says which
    route settled each team.

    Months that cannot be met - before the first hire can start, or because of
    the hiring limit - are reported with ``shortfall=True`` and the amount,
    instead of failing.

    Parameters
    ----------
    targets : Series or DataFrame
        Monthly targets. A Series indexed by month (PeriodIndex, DatetimeIndex,
        or labels such as ``"2027-01"``), or a long table with columns
        ``team_col``, ``month_col``, ``target_col`` solved team by team.
        Months must be consecutive; a target of 0 means no requirement.
    productivity : float or mapping team -> float
        A mature rep's standard monthly volume (标准销售业务量), same unit as targets.
    ramp : list of float
        Fraction of productivity a new hire delivers in months 1, 2, 3, ...;
        non-decreasing, ending at 1 (e.g. ``[0.25, 0.5, 0.75, 1.0]``).
    attrition : float
        Annual attrition rate in [0, 1], applied monthly as survival
        ``(1 - attrition) ** (1/12)``; leavers are expected (fractional) people.
    hire_lead_months : int
        Months from the hiring decision to the start date. A hire decided in
        month t starts in month t + lead; nobody decided in the plan can start
        before month ``lead`` (0-based).
    start_headcount : float or mapping team -> float
        People on the payroll at the start of the first month.
    max_hires_per_month : int, mapping or None, default=None
        Most hires that can start in one month.
    attainment : float, default=1.0
        Share of the standard volume a fully ramped rep actually delivers.
    start_tenure : None, int or list of int (or mapping team -> those), default=None
        Completed months of service of the current staff; None means all mature.
    seasonality : mapping or Series month of year (1-12) -> index, optional
        A rep's volume moves with the season: in month m a mature rep delivers
        ``productivity x seasonality[m]`` (indices averaging 1, e.g. from
        :func:`salesmodel.domain.seasonality.seasonal_indices`). Without it, a peak
        month's target must be met by headcount alone. Needs month labels.
    min_reach : float in [0, 1]
        Required, no default: a policy whose one default lives in the params schema
        (``staffing.min_reach``), so the function and a run cannot disagree. Months that a hire decided at the first possible moment would reach at
        less than this fraction of a mature rep's volume are not hired for (with
        ramp 25/50/75/100% and ``min_reach=0.5``, the first month hires can start
        is best effort: meeting it would take four starters per missing rep).
        Such months are still reported, short or not. 0: every month a hire can
        reach is met.
    start_weight : None, list of float (or mapping team -> list), default=None
        Each current person's volume relative to ``productivity`` (one number per person,
        in the order of ``start_tenure``), e.g. calibrated reps above or below their
        region's level; None: every one at ``productivity``. ``ramped_fte`` is then in
        units of the team's productivity.
    blocked_months : list of months, default=()
        Months in which nobody starts (e.g. the Spring Festival month): the plan starts
        people before or after them. Month labels of the targets (e.g. "2027-02").
    max_starts_per_month : int or None, default=None
        Most hires starting in one month across all teams (the company's limit; a team's own
        is ``max_hires_per_month``).
    team_col, month_col, target_col : str
        Column names of a long ``targets`` table.

    Returns
    -------
    DataFrame
        One row per (team and) month: ``month, target, headcount_start,
        hires_decided, hires_starting, leavers_expected, headcount_end,
        ramped_fte, capacity, gap, cumulative_gap, shortfall, shortfall_amount``
        (``gap = capacity - target``). ``attrs`` holds ``status`` ("optimal",
        or "shortfall" when some month cannot be met), ``objective`` and
        ``total_hires``, and per team the same in ``attrs["teams"]``.

    Examples
    --------
    >>> t = pd.Series([1000.0] * 6, index=pd.period_range("2027-01", periods=6, freq="M"))
    >>> plan = capacity_plan(t, productivity=100, ramp=[0.5, 1.0], attrition=0.0,
    ...                      hire_lead_months=1, start_headcount=9, min_reach=0.0)
    >>> plan["hires_starting"].tolist(), plan.attrs["total_hires"]
    ([0, 2, 0, 0, 0, 0], 2)
    """
    func = "capacity_plan"
    ramp_arr = _check_ramp(ramp, func)
    attrition = _check_rate(attrition, "attrition", func)
    attainment = _check_rate(attainment, "attainment", func, low=0.0, high=2.0)
    if attainment <= 0:
        raise _bad("attainment", func, "a number in (0, 2]", attainment)
    lead = _check_int(hire_lead_months, "hire_lead_months", func)
    survival = (1.0 - attrition) ** (1.0 / 12.0)
    min_reach = _check_rate(min_reach, "min_reach", func)
    season = None
    if seasonality is not None:
        raw = pd.Series(seasonality, dtype=float) if not isinstance(seasonality, pd.Series) else seasonality.astype(float)
        season = np.ones(13)
        try:
            keys = raw.index.astype(int)
        except (TypeError, ValueError):
            keys = None
        if keys is None or set(keys) != set(range(1, 13)) or not (raw > 0).all() or not np.isfinite(raw).all():
            raise _bad("seasonality", func, "an index above 0 for each month of the year 1-12", raw.to_dict())
        season[keys] = raw.to_numpy()

    if isinstance(targets, pd.DataFrame):
        _require_columns(targets, [team_col, month_col, target_col], "the targets table", func)
        groups = [(team, g.set_index(month_col)[target_col]) for team, g in targets.groupby(team_col, sort=True)]
        if not groups:
            raise InputError(f"the targets table passed to {func} has no rows.")
        by_team = True
    elif isinstance(targets, pd.Series):
        groups = [(None, targets)]
        by_team = False
    else:
        raise _bad("targets", func, "a monthly Series or a long DataFrame (team, month, target)", type(targets).__name__)

    prepared = []
    kernels: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for team, series in groups:
        where = f"targets of team {team!r}" if by_team else "targets"
        values = pd.to_numeric(pd.Series(series.to_numpy()), errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            shown = [f"{m}: {v}" for m, v in zip(series.index[bad].astype(str), np.asarray(series)[bad])]
            raise InputError(
                f"The 'targets' parameter of {func} must hold non-negative numbers ({where}). "
                f"Got {short_list(shown)} instead."
            )
        months, order = _month_labels(series.index, where)
        if order is not None:
            values = values[order]
        horizon = values.size
        p = _check_positive(_per_team(productivity, team, "productivity"), "productivity", func)
        heads0 = float(_per_team(start_headcount, team, "start_headcount"))
        if not heads0 >= 0:
            raise _bad("start_headcount", func, "a number >= 0", heads0)
        cap = _check_int(_per_team(max_hires_per_month, team, "max_hires_per_month") if max_hires_per_month is not None else None,
                         "max_hires_per_month", func, allow_none=True)
        tenure = _per_team(start_tenure, team, "start_tenure") if start_tenure is not None else None
        if tenure is not None:
            ten = np.atleast_1d(np.asarray(tenure, dtype=float))
            if (ten < 0).any() or (ten.size > 1 and ten.size != round(heads0)):
                raise _bad("start_tenure", func, f"months of service >= 0, one number or one per person ({heads0:g})", tenure)
        if horizon not in kernels:
            kernels[horizon] = _kernel(ramp_arr, survival, horizon)
        weight = _team_weight(start_weight, team, heads0)
        existing = _existing_fte(heads0, tenure, ramp_arr, survival, horizon, weight)
        unit = np.full(horizon, p * attainment)
        if season is not None:
            if not isinstance(months, pd.PeriodIndex):
                raise _bad("seasonality", func, "used with month labels (the targets' months are not dates)", list(months[:3]))
            unit = unit * season[months.month]
        ramp_at = np.where(np.arange(horizon) < ramp_arr.size, ramp_arr[np.minimum(np.arange(horizon), ramp_arr.size - 1)], 1.0)
        blocked = _blocked_positions(months, blocked_months, where)
        problem = _problem(values / unit, existing[1], kernels[horizon][1], lead, cap, ramp_at, min_reach, blocked)
        prepared.append((team, months, values, unit, heads0, tenure, existing, problem))

    _solve_all([item[-1] for item in prepared])
    _apply_company_cap([item[-1] for item in prepared], _check_int(max_starts_per_month, "max_starts_per_month", func,
                                                                    allow_none=True), by_team)

    columns: dict[str, list] = {c: [] for c in (
        "month", "target", "headcount_start", "hires_decided", "hires_starting", "leavers_expected",
        "headcount_end", "ramped_fte", "capacity", "gap", "cumulative_gap", "shortfall", "shortfall_amount")}
    team_values, teams_info = [], {}
    for team, months, values, unit, heads0, tenure, existing, problem in prepared:
        horizon = values.size
        hires = np.zeros(horizon)
        hires[problem.starts] = problem.hires
        proj = _project_arrays(hires, unit, ramp_arr, survival, heads0, tenure, existing)
        gap = proj["capacity"] - values
        short = proj["ramped_fte"] < problem.need - _slack(problem.need)
        decided = np.zeros(horizon)
        decided[: max(horizon - lead, 0)] = hires[lead:]
        columns["month"].append(np.asarray(months, dtype=object) if not isinstance(months, pd.PeriodIndex) else months)
        columns["target"].append(values)
        columns["headcount_start"].append(proj["headcount_start"])
        columns["hires_decided"].append(decided.astype(np.int64))
        columns["hires_starting"].append(hires.astype(np.int64))
        for col in ("leavers_expected", "headcount_end", "ramped_fte", "capacity"):
            columns[col].append(proj[col])
        columns["gap"].append(gap)
        columns["cumulative_gap"].append(np.cumsum(gap))
        columns["shortfall"].append(short)
        columns["shortfall_amount"].append(np.where(short, -gap, 0.0))
        team_values.append(np.repeat(np.array([team], dtype=object), horizon))
        total = int(hires.sum())
        teams_info[team] = {
            "status": "shortfall" if short.any() else "optimal",
            "objective": float(total),
            "total_hires": total,
            "months_on_payroll": int((hires * (horizon - np.arange(horizon))).sum()),
            "short_months": [str(m) for m in np.asarray(months)[short]],
            "method": problem.method,
        }

    data = {}
    if by_team:
        data[team_col] = np.concatenate(team_values)
    for col, parts in columns.items():
        if col == "month" and all(isinstance(x, pd.PeriodIndex) for x in parts):
            data[col] = pd.PeriodIndex.from_ordinals(np.concatenate([x.asi8 for x in parts]), freq="M")
        elif col == "month":
            data[col] = np.concatenate([np.asarray(x, dtype=object) for x in parts])
        else:
            data[col] = np.concatenate(parts)
    result = pd.DataFrame(data)
    statuses = {info["status"] for info in teams_info.values()}
    result.attrs["status"] = "shortfall" if "shortfall" in statuses else "optimal"
    result.attrs["objective"] = float(sum(info["objective"] for info in teams_info.values()))
    result.attrs["total_hires"] = int(sum(info["total_hires"] for info in teams_info.values()))
    result.attrs["short_months"] = [m for info in teams_info.values() for m in info["short_months"]]
    if by_team:
        result.attrs["teams"] = {str(k): v for k, v in teams_info.items()}
    else:
        result.attrs["method"] = teams_info[None]["method"]
    return result
