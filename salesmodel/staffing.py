"""Staffing: the people a plan needs.

Five verbs, all pure (DataFrames and plain values in, DataFrames out):

- :func:`capacity_plan` - the fewest hires, month by month, so that ramped
  capacity meets each month's target given attrition and hiring lead time
  (an integer programme solved by HiGHS through ``scipy.optimize.milp``).
- :func:`tier_customers` - VIP / first / second / other tiers by last year's
  sales (share of revenue, ABC style, or rank).
- :func:`workload` - visits per month from each customer's tier and type,
  then hours and full-time equivalents (FTE) per rep, territory, role or region.
- :func:`funnel` - a 4S-dealership funnel: deliveries <- orders <- signed
  drafts <- opportunities <- leads by source (example F of DOMAIN.md), backward
  from a delivery target or forward from the leads available.
- :func:`pay` - a pay plan's cost: base salary split into weighted, pro-rated
  components (example H) plus commission with a threshold, accelerators and a cap.

Helpers that derive defaults from history: :func:`mature_productivity`,
:func:`current_staff`, :func:`monthly_targets_from_history`.

Conventions
-----------
Attrition is an annual rate applied monthly: the monthly survival is
``(1 - attrition) ** (1 / 12)``, so 20% a year is 1.842% a month. Leavers are
*expected* values (fractional people). Hires start on the first day of a month
and work the whole month; leavers leave at the end of a month, so a month is
worked by the people present at its start (including that month's starters).
A hire in their k-th month (k = 1 in the start month) delivers ``ramp[k-1]`` of
a mature rep's productivity, and all of it once the ramp list is exhausted.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from salesmodel.errors import InputError, ParamsError, short_list

__all__ = [
    "DEFAULT_VISIT_STANDARDS",
    "EXAMPLE_F_SOURCES",
    "EXAMPLE_F_STAGES",
    "PayPlan",
    "TierScheme",
    "capacity_plan",
    "current_staff",
    "default_visit_standards",
    "funnel",
    "mature_productivity",
    "monthly_orders_from_history",
    "monthly_targets_from_history",
    "pay",
    "project_capacity",
    "tier_customers",
    "travel_minutes_per_visit",
    "with_lead_in",
    "workload",
]

# ---------------------------------------------------------------------------
# checks shared by the verbs (one message template)
# ---------------------------------------------------------------------------


def _bad(param: str, func: str, expected: str, got: Any, kind: type = ParamsError) -> Exception:
    return kind(f"The '{param}' parameter of {func} must be {expected}. Got {got!r} instead.")


def _check_rate(value: Any, param: str, func: str, *, low: float = 0.0, high: float = 1.0) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise _bad(param, func, f"a number in [{low:g}, {high:g}]", value) from None
    if not (low <= v <= high) or math.isnan(v):
        raise _bad(param, func, f"a number in [{low:g}, {high:g}]", value)
    return v


def _check_positive(value: Any, param: str, func: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise _bad(param, func, "a positive number", value) from None
    if not v > 0 or not math.isfinite(v):
        raise _bad(param, func, "a positive number", value)
    return v


def _check_int(value: Any, param: str, func: str, *, low: int = 0, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        if isinstance(value, float) and value.is_integer() and value >= low:
            return int(value)
        what = f"an integer >= {low}" + (" or None" if allow_none else "")
        raise _bad(param, func, what, value)
    return int(value)


def _check_ramp(ramp: Any, func: str) -> np.ndarray:
    expected = "a non-empty, non-decreasing list of fractions in [0, 1] that ends at 1"
    try:
        arr = np.asarray(list(ramp), dtype=float)
    except (TypeError, ValueError):
        raise _bad("ramp", func, expected, ramp) from None
    if (
        arr.ndim != 1
        or arr.size == 0
        or np.isnan(arr).any()
        or (arr < 0).any()
        or (arr > 1).any()
        or (np.diff(arr) < 0).any()
        or arr[-1] != 1.0
    ):
        raise _bad("ramp", func, expected, list(ramp))
    return arr


def _require_columns(df: pd.DataFrame, cols: Sequence[str], table: str, func: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(
            f"{table} passed to {func} lacks the column(s) {short_list(missing)}; "
            f"it has {short_list(list(df.columns))}."
        )


# ---------------------------------------------------------------------------
# capacity_plan
# ---------------------------------------------------------------------------


def _kernel(ramp: np.ndarray, survival: float, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Expected people and ramped FTE of one hire j = 0, 1, ... months after starting."""
    j = np.arange(horizon)
    stay = survival**j
    ramped = np.where(j < ramp.size, ramp[np.minimum(j, ramp.size - 1)], 1.0)
    return stay, stay * ramped


def _existing_fte(start_headcount: float, start_tenure: Any, ramp: np.ndarray, survival: float, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Expected headcount and ramped FTE of the staff already on the payroll."""
    j = np.arange(horizon)
    stay = survival**j
    heads = start_headcount * stay
    if start_tenure is None:
        return heads, heads.copy()
    tenure = np.atleast_1d(np.asarray(start_tenure, dtype=float))
    if tenure.size == 1:
        tenure = np.full(round(start_headcount), tenure[0])
    # month t is the (tenure + t + 1)-th month of a person with `tenure` completed months
    k = (tenure[:, None] + j[None, :]).astype(int)
    ramped = np.where(k < ramp.size, ramp[np.minimum(k, ramp.size - 1)], 1.0).sum(axis=0)
    return heads, ramped * stay


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


# A month counts as met when its FTE falls short of the need by at most this share of
# the need (of 1 FTE for needs below 1). Float error in the survival powers and the
# convolutions is ~1e-13 of the need, far below it; a ten-millionth of a month's need is
# below anything a planner can see (under one yuan in ten million). Every step (which
# months are constraints, greedy, LP bound, integer programme, tidying, the shortfall
# flag) uses this one rule, so they cannot disagree on a month at the edge, e.g. when a
# tiny attrition leaves whole hires a hair under an integer need.
_REL_TOL = 1e-7


def _slack(need: np.ndarray) -> np.ndarray:
    """How far below ``need`` (FTE) a month may stay and still count as met."""
    return _REL_TOL * np.maximum(1.0, need)


@dataclass
class _Problem:
    """One team's hiring problem in FTE: cover ``need`` with ``existing`` plus hires."""

    need: np.ndarray  # FTE each month must reach (target / (productivity x attainment))
    existing: np.ndarray  # FTE of the current staff, month by month
    a: np.ndarray  # a[t, s]: FTE in month t of one hire starting in month starts[s]
    starts: np.ndarray  # months a hire decided within the plan can start (lead .. T-1)
    rows: np.ndarray  # months that fall short without hires and that some hire can reach
    cap: int | None  # most starts in one month
    hires: np.ndarray | None = None  # per start month, once solved
    method: str = ""


def _problem(need: np.ndarray, existing: np.ndarray, fte_kernel: np.ndarray, lead: int, cap: int | None,
             ramp_at: np.ndarray | None = None, min_reach: float = 0.0) -> _Problem:
    """Set up one team. A month is a constraint when it falls short without hires and a
    hire decided at the first possible moment would deliver at least ``min_reach`` of a
    mature rep's volume in it (``ramp_at[j]``: ramp fraction j months after starting)."""
    horizon = need.size
    starts = np.arange(lead, horizon)
    lag = np.arange(horizon)[:, None] - starts[None, :]
    a = np.where(lag >= 0, fte_kernel[np.clip(lag, 0, horizon - 1)], 0.0)
    reach = a.max(axis=1) if starts.size else np.zeros(horizon)
    rows = (need - existing > _slack(need)) & (reach > 0)
    if min_reach > 0 and ramp_at is not None:
        longest = np.arange(horizon) - lead
        rows &= (longest >= 0) & (ramp_at[np.clip(longest, 0, horizon - 1)] >= min_reach - 1e-12)
    return _Problem(need, existing, a, starts, rows, cap)


def _greedy(p: _Problem, start: np.ndarray | None = None) -> np.ndarray:
    """Month by month, cover a shortfall with hires at the start that helps that month most
    (on top of ``start``, e.g. the LP solution rounded down)."""
    x = np.zeros(p.starts.size) if start is None else start.astype(float).copy()
    fte = p.existing + p.a @ x
    for t in np.nonzero(p.rows)[0]:
        deficit = p.need[t] - fte[t]
        slack = _REL_TOL * max(1.0, p.need[t])
        if deficit <= slack:
            continue
        col = p.a[t]
        best = col.max()
        s = int(np.nonzero(col >= best * (1 - 1e-12))[0][-1])  # the latest of the best
        k = math.ceil((deficit - slack) / best)
        x[s] += k
        fte += k * p.a[:, s]
    return x


def _tidy(p: _Problem, x: np.ndarray) -> np.ndarray:
    """Drop hires no month needs, then move each hire to the latest start that keeps
    every month where it was (met months met, short months no shorter).

    Deterministic, and it never changes a month's status: it only lowers the count
    (when a solution had a spare hire) and the months on payroll.
    """
    x = x.copy()
    fte = p.existing + p.a @ x
    # met months stay met (within the slack); short months get no shorter than the slack
    floor = np.where(fte >= p.need - _slack(p.need), p.need, fte) - _slack(p.need)
    n = x.size
    for s in range(n - 1, -1, -1):
        while x[s] > 0 and ((fte - p.a[:, s]) >= floor).all():
            x[s] -= 1
            fte = fte - p.a[:, s]
    for s in range(n - 2, -1, -1):
        while x[s] > 0:
            cand = fte[:, None] - p.a[:, [s]] + p.a[:, s + 1 :]
            ok = (cand >= floor[:, None]).all(axis=0)
            if p.cap is not None:
                ok &= x[s + 1 :] < p.cap
            if not ok.any():
                break
            j = int(np.nonzero(ok)[0][-1])
            x[s] -= 1
            x[s + 1 + j] += 1
            fte = cand[:, j]
    return x


def _milp_fewest(p: _Problem) -> np.ndarray | None:
    """The fewest hires by integer programme; with a hiring limit, the least total
    shortfall first (slack variables), then the fewest hires."""
    a_rows = p.a[p.rows]
    b = (p.need - p.existing - _slack(p.need))[p.rows]
    n, m = p.starts.size, a_rows.shape[0]
    if p.cap is None:
        res = milp(np.ones(n), constraints=LinearConstraint(a_rows, lb=b), integrality=np.ones(n), bounds=Bounds(0, np.inf))
        return None if res.x is None else np.round(res.x)
    a_full = np.hstack([a_rows, np.eye(m)])
    upper = np.concatenate([np.full(n, float(p.cap)), np.full(m, np.inf)])
    integrality = np.concatenate([np.ones(n), np.zeros(m)])
    slack = np.concatenate([np.zeros(n), np.ones(m)])
    r1 = milp(slack, constraints=LinearConstraint(a_full, lb=b), integrality=integrality, bounds=Bounds(0, upper))
    if r1.x is None:
        return None
    keep = LinearConstraint(slack[None, :], ub=float(r1.fun) + 1e-7 * max(1.0, float(r1.fun)))
    hires = np.concatenate([np.ones(n), np.zeros(m)])
    r2 = milp(hires, constraints=[LinearConstraint(a_full, lb=b), keep], integrality=integrality, bounds=Bounds(0, upper))
    return None if r2.x is None else np.round(r2.x[:n])


def _lp_bounds(problems: list[_Problem]) -> list[np.ndarray] | None:
    """The LP relaxation of "fewest hires" for many teams in one call (block-diagonal)."""
    from scipy.sparse import block_diag, csr_matrix

    blocks = [csr_matrix(p.a[p.rows]) for p in problems]
    b = np.concatenate([(p.need - p.existing - _slack(p.need))[p.rows] for p in problems])
    sizes = [p.starts.size for p in problems]
    res = linprog(np.ones(sum(sizes)), A_ub=-block_diag(blocks, format="csr"), b_ub=-b, bounds=(0, None), method="highs")
    if res.status != 0:
        return None
    return np.split(res.x, np.cumsum(sizes)[:-1])


def _solve_all(problems: list[_Problem]) -> None:
    """Solve every team: exact fewest hires, then the latest starts.

    Without a hiring limit, two quick schedules (greedy, and the LP solution rounded
    down then completed greedily) are tidied and the better one is checked against
    the LP bound of all teams (one LP); when its count equals the bound rounded up it
    is proven optimal, otherwise the team's integer programme is solved by HiGHS.
    The same check settles a team with a hiring limit when the schedule keeps to the
    limit; other limited teams go to the integer programme (least shortfall first).
    """
    open_ = [p for p in problems if p.rows.any()]
    for p in problems:
        if not p.rows.any():
            p.hires, p.method = np.zeros(p.starts.size), "no hire needed"
    if not open_:
        return
    relaxed = _lp_bounds(open_)
    for i, p in enumerate(open_):
        x = _tidy(p, _greedy(p))
        if relaxed is not None:
            rounded = _tidy(p, _greedy(p, np.floor(relaxed[i] + 1e-9)))
            if rounded.sum() < x.sum():
                x = rounded
        within_cap = p.cap is None or x.max(initial=0) <= p.cap
        # the LP bound ignores the hiring limit, so it also bounds a limited plan that meets every month
        if relaxed is not None and within_cap and x.sum() <= math.ceil(relaxed[i].sum() - 1e-6):
            p.hires, p.method = x, "greedy, proven by the LP bound"
            continue
        exact = _milp_fewest(p)
        if exact is not None and p.cap is None:
            # HiGHS accepts a row up to its feasibility tolerance (~1e-6 FTE) below the bound:
            # complete any month its answer leaves short by our rule
            exact = _greedy(p, exact)
        if exact is not None and (p.cap is not None or exact.sum() <= x.sum()):
            p.hires, p.method = _tidy(p, exact), "milp"
        else:
            p.hires, p.method = (x, "greedy (solver failed)") if within_cap else (np.minimum(x, p.cap), "greedy (solver failed)")


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
    min_reach: float = 0.0,
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
        :func:`salesmodel.seasonality.seasonal_indices`). Without it, a peak
        month's target must be met by headcount alone. Needs month labels.
    min_reach : float in [0, 1], default=0
        Months that a hire decided at the first possible moment would reach at
        less than this fraction of a mature rep's volume are not hired for (with
        ramp 25/50/75/100% and ``min_reach=0.5``, the first month hires can start
        is best effort: meeting it would take four starters per missing rep).
        Such months are still reported, short or not. 0: every month a hire can
        reach is met.
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
    ...                      hire_lead_months=1, start_headcount=9)
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
        existing = _existing_fte(heads0, tenure, ramp_arr, survival, horizon)
        unit = np.full(horizon, p * attainment)
        if season is not None:
            if not isinstance(months, pd.PeriodIndex):
                raise _bad("seasonality", func, "used with month labels (the targets' months are not dates)", list(months[:3]))
            unit = unit * season[months.month]
        ramp_at = np.where(np.arange(horizon) < ramp_arr.size, ramp_arr[np.minimum(np.arange(horizon), ramp_arr.size - 1)], 1.0)
        problem = _problem(values / unit, existing[1], kernels[horizon][1], lead, cap, ramp_at, min_reach)
        prepared.append((team, months, values, unit, heads0, tenure, existing, problem))

    _solve_all([item[-1] for item in prepared])

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


# ---------------------------------------------------------------------------
# tier_customers
# ---------------------------------------------------------------------------

TIERS = ("VIP", "first", "second", "other")


@dataclass(frozen=True)
class TierScheme:
    """How customers are tiered by sales.

    ``method="share"`` (ABC): walking down customers by sales, a customer is in
    the first tier whose cumulative revenue share *before* it is below the
    tier's cumulative bound; so with ``cuts={"VIP": 0.5, "first": 0.3,
    "second": 0.15}`` the VIP tier holds the customers making the top 50% of
    revenue (the one crossing 50% included), first the next 30%, second the
    next 15%, and the rest (and customers without sales) are "other".
    ``method="rank"``: the cuts are shares of the number of customers
    (0.05 = the top 5% by sales).
    """

    method: str = "share"
    cuts: Mapping[str, float] = field(default_factory=lambda: {"VIP": 0.5, "first": 0.3, "second": 0.15})

    def __post_init__(self) -> None:
        func = "tier_customers"
        if self.method not in ("share", "rank"):
            raise _bad("scheme.method", func, "'share' or 'rank'", self.method)
        if not isinstance(self.cuts, Mapping) or not self.cuts:
            raise _bad("scheme.cuts", func, "a mapping of tier name to share", self.cuts)
        for name, v in self.cuts.items():
            _check_rate(v, f"scheme.cuts[{name!r}]", func)
        if sum(self.cuts.values()) > 1 + 1e-9:
            raise _bad("scheme.cuts", func, "shares that add up to at most 1", dict(self.cuts))


def tier_customers(
    sales: pd.DataFrame,
    *,
    by: str | int = "last_year",
    scheme: TierScheme | Mapping[str, Any] | None = None,
    customers: Sequence[str] | pd.Series | None = None,
    rest: str = "other",
    date_col: str = "date",
    customer_col: str = "customer_id",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """VIP / first / second / other tiers by last year's sales.

    Parameters
    ----------
    sales : DataFrame
        Order lines with ``date``, ``customer_id``, ``amount``.
    by : {"last_year", "last_12_months", "all"} or int, default="last_year"
        Which sales count: the last complete calendar year in the data (the
        latest year if none is complete), the 12 months up to the last date,
        everything, or a given calendar year.
    scheme : TierScheme or mapping, default=TierScheme()
        ``{"method": "share" | "rank", "cuts": {"VIP": 0.5, ...}}``.
    customers : list of ids, optional
        Every customer to tier; those without sales in the window are ``rest``.

    Returns
    -------
    DataFrame
        ``customer_id, sales, share, cumulative_share, rank, tier``, sorted by
        sales descending then customer id (ties are broken by id, so the
        result is deterministic).

    Examples
    --------
    >>> s = pd.DataFrame({"date": pd.to_datetime(["2026-01-05"] * 4), "customer_id": list("abcd"),
    ...                   "amount": [60.0, 25.0, 10.0, 5.0]})
    >>> tier_customers(s, by="all")["tier"].tolist()
    ['VIP', 'first', 'second', 'other']
    """
    func = "tier_customers"
    _require_columns(sales, [date_col, customer_col, amount_col], "the sales table", func)
    if scheme is None:
        scheme = TierScheme()
    elif isinstance(scheme, Mapping):
        scheme = TierScheme(**scheme)
    dates = pd.to_datetime(sales[date_col])
    if isinstance(by, (int, np.integer)) and not isinstance(by, bool):
        mask = dates.dt.year == int(by)
    elif by == "all":
        mask = pd.Series(True, index=sales.index)
    elif by == "last_12_months":
        last = dates.max()
        mask = dates > last - pd.DateOffset(months=12)
    elif by == "last_year":
        last = dates.max()
        year = last.year if (last.month == 12 and last.day == 31) else last.year - 1
        if not (dates.dt.year == year).any():
            year = last.year
        mask = dates.dt.year == year
    else:
        raise _bad("by", func, "'last_year', 'last_12_months', 'all' or a year", by)
    amounts = pd.to_numeric(sales.loc[mask, amount_col], errors="coerce")
    if amounts.isna().any() or (amounts < 0).any():
        rows = amounts.index[amounts.isna() | (amounts < 0)]
        raise InputError(f"the sales table passed to {func}: column '{amount_col}' must hold numbers >= 0; rows {short_list(list(rows))}.")
    totals = amounts.groupby(sales.loc[mask, customer_col]).sum()
    if customers is not None:
        totals = totals.reindex(pd.Index(pd.unique(np.asarray(customers)), name=customer_col).union(totals.index), fill_value=0.0)
    df = totals.rename("sales").rename_axis(customer_col).reset_index()
    df = df.sort_values(["sales", customer_col], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    grand = df["sales"].sum()
    df["share"] = df["sales"] / grand if grand > 0 else 0.0
    before = df["share"].cumsum() - df["share"]
    df["cumulative_share"] = df["share"].cumsum()
    df["rank"] = np.arange(1, len(df) + 1)
    tier = np.full(len(df), rest, dtype=object)
    assigned = np.zeros(len(df), dtype=bool)
    bound = 0.0
    position = (df["rank"].to_numpy() - 1) / max(len(df), 1)
    for name, cut in scheme.cuts.items():
        bound += cut
        if scheme.method == "share":
            hit = (before.to_numpy() < bound - 1e-12) & (df["sales"].to_numpy() > 0)
        else:
            hit = (position < bound - 1e-12) & (df["sales"].to_numpy() > 0)
        take = hit & ~assigned
        tier[take] = name
        assigned |= take
    df["tier"] = tier
    return df


# ---------------------------------------------------------------------------
# workload
# ---------------------------------------------------------------------------

#: Working days in an average month (21.75 = 261 working days / 12).
WORKDAYS_PER_MONTH = 21.75

_VISIT_ROWS = [
    # customer_type, tier, visits a month, the seed's words behind it
    ("wholesaler", "VIP", 15.0, "city sub-wholesalers every 1-2 days (城市市场分管二批商1-2天走访一次): 21.75/1.5"),
    ("wholesaler", "first", 6.0, "every 旬 plus a mid-旬 call (每旬8、9日走访所有的二批商) ~ twice a 旬"),
    ("wholesaler", "second", 4.5, "rural wholesalers 1-2 times a week (乡镇市场每周走访1-2次): 1 a week"),
    ("wholesaler", "other", 3.0, "once a 旬 (每旬走访)"),
    ("retailer", "VIP", 8.7, "city retailers every 2-3 days (零售商2-3天走访一次): 21.75/2.5"),
    ("retailer", "first", 4.35, "weekly"),
    ("retailer", "second", 2.0, "every other week (50-100 retailer visits a month per person)"),
    ("retailer", "other", 1.0, "monthly"),
    ("supermarket", "VIP", 21.75, "each store daily (每天对分管超市拜访一次)"),
    ("supermarket", "first", 8.7, "every 2-3 days"),
    ("supermarket", "second", 4.35, "weekly"),
    ("supermarket", "other", 2.0, "every other week"),
    ("online_store", "VIP", 1.0, "VIP customers visited monthly (VIP客户每月拜访一次)"),
    ("online_store", "first", 0.5, "first-level customers every two months (一级客户每两月拜访一次)"),
    ("online_store", "second", 0.25, "second-level as needed (根据实际状况另行安排): quarterly"),
    ("online_store", "other", 0.0, "no field visits"),
]

DEFAULT_VISIT_STANDARDS = pd.DataFrame(_VISIT_ROWS, columns=["customer_type", "tier", "visits_per_month", "basis"])
"""Visits per month by customer type and tier, from the seeds' standards (DOMAIN.md §3).

The field standards of the second-level account managers (city wholesalers
every 1-2 days, retailers every 2-3 days, rural outlets 1-2 times a week,
supermarkets daily) set the frequency for the top tier of each type; lower
tiers step down; online stores follow the key-account rule (VIP monthly,
first-level every two months, second-level as needed). The ``basis`` column
keeps the words each number comes from. Override per company.
"""


def default_visit_standards() -> pd.DataFrame:
    """A copy of :data:`DEFAULT_VISIT_STANDARDS` (customer_type, tier, visits_per_month, basis)."""
    return DEFAULT_VISIT_STANDARDS.copy()


def _standards_frame(visit_standards: Any, func: str) -> pd.DataFrame:
    if visit_standards is None:
        return DEFAULT_VISIT_STANDARDS
    if isinstance(visit_standards, pd.DataFrame):
        std = visit_standards
    elif isinstance(visit_standards, Mapping):
        rows = []
        for ctype, tiers in visit_standards.items():
            if not isinstance(tiers, Mapping):
                raise _bad("visit_standards", func, "a table or a mapping customer_type -> {tier: visits per month}", visit_standards)
            rows += [(ctype, t, v) for t, v in tiers.items()]
        std = pd.DataFrame(rows, columns=["customer_type", "tier", "visits_per_month"])
    else:
        raise _bad("visit_standards", func, "a table or a mapping customer_type -> {tier: visits per month}", type(visit_standards).__name__)
    _require_columns(std, ["customer_type", "tier", "visits_per_month"], "the visit standards", func)
    v = pd.to_numeric(std["visits_per_month"], errors="coerce")
    if v.isna().any() or (v < 0).any():
        raise _bad("visit_standards", func, "visits per month >= 0", list(std["visits_per_month"][v.isna() | (v < 0)]))
    keys = ["customer_type", "tier"] + (["role"] if "role" in std.columns else [])
    if std.duplicated(keys).any():
        raise _bad("visit_standards", func, f"one row per {'/'.join(keys)}", std.loc[std.duplicated(keys), keys].values.tolist()[:5])
    return std


def travel_minutes_per_visit(
    customers: pd.DataFrame,
    visits: pd.Series | np.ndarray,
    *,
    territory: str,
    speed_kmh: float = 40.0,
    circuity: float = 1.3,
    lat_col: str = "lat",
    lon_col: str = "lon",
) -> pd.Series:
    """Travel minutes per visit from each territory's geometry.

    Routes are planned, so a month's N visits in a territory form one tour
    through it; a tour through N stops spread over an area A is about
    ``0.7124 * sqrt(N * A)`` long (Beardwood-Halton-Hammersley), so a visit costs
    ``0.7124 * sqrt(A / N)`` km, times a road ``circuity``, at ``speed_kmh``.
    A is the territory's spread, ``12 * sd(x) * sd(y)`` in km (the area of a
    uniform rectangle with those standard deviations; robust to one far
    customer), at least 1 km2. Returns one value per customer (its territory's).

    Examples
    --------
    Four customers at the corners of a 0.9 x 1 degree box on the equator (sd 50.0 x
    55.6 km, A = 33,387 km2), 100 visits a month: 0.7124 x sqrt(333.9) x 1.3 = 16.9 km,
    25.4 minutes at 40 km/h.

    >>> c = pd.DataFrame({"rep_id": ["r"] * 4, "lat": [0.0, 0.0, 0.9, 0.9], "lon": [114.0, 115.0, 114.0, 115.0]})
    >>> round(float(travel_minutes_per_visit(c, [25.0] * 4, territory="rep_id").iloc[0]), 1)
    25.4
    """
    func = "travel_minutes_per_visit"
    _require_columns(customers, [territory, lat_col, lon_col], "the customers table", func)
    speed_kmh = _check_positive(speed_kmh, "speed_kmh", func)
    circuity = _check_positive(circuity, "circuity", func)
    lat = customers[lat_col].to_numpy(dtype=float)
    lon = customers[lon_col].to_numpy(dtype=float)
    if np.isnan(lat).any() or np.isnan(lon).any():
        rows = customers.index[np.isnan(lat) | np.isnan(lon)]
        raise InputError(f"the customers table passed to {func} lacks coordinates ({lat_col}, {lon_col}) in rows {short_list(list(rows))}.")
    frame = pd.DataFrame({"g": customers[territory].to_numpy(), "lat": lat, "lon": lon, "v": np.asarray(visits, dtype=float)})
    grouped = frame.groupby("g", sort=False)
    # degrees to km: 111.2 km a degree of latitude; longitude shrinks with the territory's latitude
    sd = grouped[["lat", "lon"]].std(ddof=0).fillna(0.0)
    mid = np.deg2rad(grouped["lat"].mean())
    area = np.maximum(12.0 * (sd["lat"] * 111.2) * (sd["lon"] * 111.2 * np.cos(mid)), 1.0)
    stops = np.maximum(grouped["v"].sum(), 1.0)
    km = 0.7124 * np.sqrt(area / stops) * circuity
    minutes = km / speed_kmh * 60.0
    return pd.Series(minutes.reindex(frame["g"]).to_numpy(), index=customers.index, name="travel_minutes")


def workload(
    customers: pd.DataFrame,
    *,
    visit_standards: pd.DataFrame | Mapping[str, Mapping[str, float]] | None = None,
    minutes_per_visit: float | Mapping[str, float] = 30.0,
    travel_minutes: float | str | pd.Series | None = None,
    hours_per_month: float = 174.0,
    selling_share: float = 0.6,
    by: str | Sequence[str] | None = "rep_id",
    territory: str = "rep_id",
    speed_kmh: float = 40.0,
    circuity: float = 1.3,
) -> pd.DataFrame:
    """Visits, hours and FTE a customer base needs, per rep, territory, role or region.

    visits per month come from each customer's ``tier`` and ``customer_type``
    (``visit_standards``; default :data:`DEFAULT_VISIT_STANDARDS`, the seeds'
    standards). hours = visits x (minutes per visit + travel minutes) / 60.
    FTE = hours / (hours_per_month x selling_share): the share of paid time a
    rep spends with customers or on the road.

    Parameters
    ----------
    customers : DataFrame
        ``tier``, ``customer_type`` and the ``by`` columns (merge the rep's role
        and region in first to group by them).
    visit_standards : table or mapping, optional
        ``customer_type, tier, visits_per_month`` (and optionally ``role``: one
        row per role that visits, for teams where several roles call on the
        same customer) or ``{customer_type: {tier: visits}}``.
    minutes_per_visit : float or mapping customer_type -> minutes, default=30
    travel_minutes : None, float, column name, Series, or "geometry"
        Travel per visit: none, a constant, a per-customer column or Series,
        or "geometry" to estimate it per ``territory`` from the customers'
        coordinates (:func:`travel_minutes_per_visit`).
    hours_per_month : float, default=174 (21.75 days x 8 hours)
    selling_share : float in (0, 1], default=0.6
    by : column name(s) or None, default="rep_id"
        Group the result; None gives one row per customer (and role).

    Returns
    -------
    DataFrame
        The ``by`` columns (and ``role`` when the standards have one), then
        ``customers, visits, visit_hours, travel_hours, hours, fte``.

    Examples
    --------
    >>> c = pd.DataFrame({"rep_id": ["r1", "r1"], "tier": ["VIP", "other"],
    ...                   "customer_type": ["online_store", "retailer"]})
    >>> workload(c, minutes_per_visit=60, hours_per_month=10, selling_share=0.5)["fte"].tolist()
    [0.4]
    """
    func = "workload"
    hours_per_month = _check_positive(hours_per_month, "hours_per_month", func)
    selling_share = _check_rate(selling_share, "selling_share", func)
    if selling_share <= 0:
        raise _bad("selling_share", func, "a number in (0, 1]", selling_share)
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    std = _standards_frame(visit_standards, func)
    has_role = "role" in std.columns
    # with roles in the standards, "role" comes from them; otherwise it is a customer column
    _require_columns(customers, ["tier", "customer_type", *[c for c in by_cols if c != "role" or not has_role]],
                     "the customers table", func)

    # join through integer codes: fast for hundreds of thousands of customers
    types = pd.Index(pd.unique(std["customer_type"]))
    tiers = pd.Index(pd.unique(std["tier"]))
    ti = types.get_indexer(customers["customer_type"])
    ri = tiers.get_indexer(customers["tier"])
    roles = pd.Index(pd.unique(std["role"])) if has_role else pd.Index([None])
    table = np.full((len(roles), len(types), len(tiers)), np.nan)
    table[
        roles.get_indexer(std["role"]) if has_role else np.zeros(len(std), dtype=int),
        types.get_indexer(std["customer_type"]),
        tiers.get_indexer(std["tier"]),
    ] = std["visits_per_month"].to_numpy(dtype=float)
    unknown = (ti < 0) | (ri < 0)
    if not unknown.any():
        visits = table[:, ti, ri]  # roles x customers
        unknown = np.isnan(visits).all(axis=0)
    if unknown.any():
        combos = customers.loc[unknown, ["customer_type", "tier"]].drop_duplicates().astype(str).agg("/".join, axis=1)
        raise InputError(
            f"the customers table passed to {func} has customer_type/tier pairs with no visit standard: "
            f"{short_list(list(combos))} ({int(unknown.sum())} customers); add them to visit_standards."
        )
    visits = np.nan_to_num(visits)

    if isinstance(minutes_per_visit, Mapping):
        mins = pd.Series(minutes_per_visit, dtype=float)
        miss = sorted(set(customers["customer_type"].unique()) - set(mins.index))
        if miss or (mins < 0).any():
            raise _bad("minutes_per_visit", func, "minutes >= 0 for every customer_type", dict(minutes_per_visit))
        minutes = customers["customer_type"].map(mins).to_numpy(dtype=float)
    else:
        minutes = np.full(len(customers), _check_rate(minutes_per_visit, "minutes_per_visit", func, high=1e4))

    all_visits = visits.sum(axis=0)
    if travel_minutes is None:
        travel = np.zeros(len(customers))
    elif isinstance(travel_minutes, str) and travel_minutes == "geometry":
        travel = travel_minutes_per_visit(customers, all_visits, territory=territory, speed_kmh=speed_kmh, circuity=circuity).to_numpy()
    elif isinstance(travel_minutes, str):
        _require_columns(customers, [travel_minutes], "the customers table", func)
        travel = pd.to_numeric(customers[travel_minutes], errors="coerce").to_numpy(dtype=float)
    elif isinstance(travel_minutes, pd.Series):
        travel = travel_minutes.reindex(customers.index).to_numpy(dtype=float)
    else:
        travel = np.full(len(customers), _check_rate(travel_minutes, "travel_minutes", func, high=1e4))
    if np.isnan(travel).any() or (travel < 0).any():
        raise InputError(f"travel minutes passed to {func} must be numbers >= 0 for every customer; rows {short_list(list(customers.index[np.isnan(travel) | (travel < 0)]))}.")

    n_roles = visits.shape[0]
    keep = {c: np.tile(customers[c].to_numpy(), n_roles) for c in by_cols if c != "role" or not has_role}
    rows = pd.DataFrame(keep)
    if has_role:
        rows["role"] = np.repeat(roles.to_numpy(), len(customers))
    flat = visits.reshape(-1)
    rows["customers"] = (flat > 0).astype(np.int64) if has_role else 1
    rows["visits"] = flat
    rows["visit_hours"] = flat * np.tile(minutes, n_roles) / 60.0
    rows["travel_hours"] = flat * np.tile(travel, n_roles) / 60.0
    if by is None:
        rows.insert(0, "customer_id", np.tile(customers["customer_id"].to_numpy(), n_roles) if "customer_id" in customers else np.tile(customers.index.to_numpy(), n_roles))
        out = rows
    else:
        keys = by_cols + (["role"] if has_role and "role" not in by_cols else [])
        out = rows.groupby(keys, sort=True, dropna=False)[["customers", "visits", "visit_hours", "travel_hours"]].sum().reset_index()
    out["hours"] = out["visit_hours"] + out["travel_hours"]
    out["fte"] = out["hours"] / (hours_per_month * selling_share)
    return out


# ---------------------------------------------------------------------------
# funnel
# ---------------------------------------------------------------------------

#: Example F's lead sources: conversion to an opportunity (商机) and, an
#: assumption of ours (the seed gives none), the mix of opportunities by source.
#: ``showroom`` marks sources that walk into the showroom (traffic).
EXAMPLE_F_SOURCES: dict[str, dict[str, Any]] = {
    "trade_in_repurchase": {"to_opportunity": 0.85, "mix": 0.15, "showroom": False},
    "walk_in": {"to_opportunity": 0.15, "mix": 0.30, "showroom": True},
    "phone": {"to_opportunity": 0.30, "mix": 0.15, "showroom": False},
    "web": {"to_opportunity": 0.05, "mix": 0.15, "showroom": False},
    "referral": {"to_opportunity": 0.60, "mix": 0.15, "showroom": False},
    "reactivated": {"to_opportunity": 0.70, "mix": 0.10, "showroom": False},
}

#: Example F's stages after the opportunity, with the seed's ranges as
#: low / mid / high scenarios (opportunity -> signed draft 30-80%,
#: draft -> order 35-60%, order -> delivery 95%).
EXAMPLE_F_STAGES: dict[str, Any] = {
    "signed_draft": {"low": 0.30, "mid": 0.55, "high": 0.80},
    "order": {"low": 0.35, "mid": 0.475, "high": 0.60},
    "delivery": 0.95,
}


def _ceil(x: np.ndarray | float) -> np.ndarray:
    # round up, but 12.0000000001 from float division stays 12
    return np.ceil(np.asarray(x, dtype=float) - 1e-9).astype(np.int64)


def funnel(
    target: float | Mapping[str, float],
    *,
    stages: Mapping[str, float | Mapping[str, float]] | None = None,
    sources: Mapping[str, Mapping[str, Any]] | pd.DataFrame | None = None,
    consultant_lead_capacity: float | None = None,
    direction: str = "backward",
) -> pd.DataFrame:
    """A sales funnel from leads by source to deliveries (example F), either way.

    Backward (``direction="backward"``, ``target`` = deliveries): deliveries
    <- orders <- signed drafts <- opportunities, then opportunities split by
    each source's ``mix`` and divided by its ``to_opportunity`` rate give the
    leads needed per source; showroom traffic is the leads of the sources
    marked ``showroom`` (walk-ins). Forward (``direction="forward"``,
    ``target`` = leads available per source): the deliveries to expect.

    ``needed`` is the exact expected number; ``whole`` rounds it to whole
    people, leads and cars: UP when working backward (you need at least that
    many) and DOWN when working forward (you can count on that many).

    Parameters
    ----------
    target : float or mapping source -> leads
        Deliveries (backward) or leads available by source (forward).
    stages : mapping, default=EXAMPLE_F_STAGES
        Stage -> conversion from the previous stage, in order after the
        opportunity; a rate or ``{scenario: rate}`` (e.g. low/mid/high). The
        last stage is the delivery.
    sources : mapping or table, default=EXAMPLE_F_SOURCES
        Source -> ``to_opportunity`` rate, ``mix`` (share of opportunities,
        adding up to 1; only needed backward) and ``showroom`` flag.
    consultant_lead_capacity : float, optional
        Leads one sales consultant can work in a month: adds the consultants
        needed (backward) or busy (forward).

    Returns
    -------
    DataFrame
        ``scenario, step, stage, source, rate, needed, whole`` (``source`` is
        "all" for the totals of a stage; ``rate`` converts this row into the
        next stage).

    Examples
    --------
    >>> f = funnel(100, stages={"signed_draft": 0.5, "order": 0.5, "delivery": 0.95},
    ...            sources={"walk_in": {"to_opportunity": 0.15, "mix": 1.0, "showroom": True}})
    >>> f.query("stage == 'lead' and source == 'all'")["whole"].item()
    2808
    """
    func = "funnel"
    if direction not in ("backward", "forward"):
        raise _bad("direction", func, "'backward' or 'forward'", direction)
    stages = dict(EXAMPLE_F_STAGES if stages is None else stages)
    if not stages:
        raise _bad("stages", func, "at least one stage after the opportunity", stages)
    if sources is None:
        sources = EXAMPLE_F_SOURCES
    if isinstance(sources, pd.DataFrame):
        _require_columns(sources, ["source", "to_opportunity"], "the sources table", func)
        sources = {r["source"]: r for r in sources.to_dict("records")}
    if not sources:
        raise _bad("sources", func, "at least one lead source", sources)
    src = pd.DataFrame(
        {
            "to_opportunity": [_check_rate(s.get("to_opportunity"), f"sources[{k!r}].to_opportunity", func) for k, s in sources.items()],
            "mix": [float(s.get("mix", np.nan)) for s in sources.values()],
            "showroom": [bool(s.get("showroom", False)) for s in sources.values()],
        },
        index=pd.Index(list(sources), name="source"),
    )
    # scenarios: the union of scenario names in the stages; a plain rate is in all of them
    names: list[str] = []
    for rate in stages.values():
        if isinstance(rate, Mapping):
            names += [n for n in rate if n not in names]
    scenarios = names or ["base"]
    rates: dict[str, list[float]] = {}
    for sc in scenarios:
        row = []
        for stage, rate in stages.items():
            if isinstance(rate, Mapping):
                if sc not in rate:
                    raise _bad(f"stages[{stage!r}]", func, f"a rate or a rate for every scenario ({', '.join(scenarios)})", dict(rate))
                rate = rate[sc]
            row.append(_check_rate(rate, f"stages[{stage!r}]", func))
        rates[sc] = row
    if consultant_lead_capacity is not None:
        consultant_lead_capacity = _check_positive(consultant_lead_capacity, "consultant_lead_capacity", func)

    stage_names = list(stages)
    records: list[tuple] = []
    if direction == "backward":
        deliveries = float(target) if not isinstance(target, Mapping) else math.nan
        if not (deliveries >= 0):
            raise _bad("target", func, "a number of deliveries >= 0 when direction='backward'", target)
        mix = src["mix"]
        if deliveries > 0:
            if mix.isna().any() or (mix < 0).any() or abs(mix.sum() - 1) > 1e-6:
                raise _bad("sources", func, "a 'mix' for every source: shares of opportunities >= 0 adding up to 1", mix.to_dict())
            zero = src.index[(mix > 0) & (src["to_opportunity"] == 0)]
            if len(zero):
                raise _bad("sources", func, "a to_opportunity rate above 0 for every source with a share of the mix", {k: 0.0 for k in zero})
        for sc in scenarios:
            r = rates[sc]
            if deliveries > 0 and min(r) == 0:
                zero_stage = stage_names[r.index(0)]
                raise _bad(f"stages[{zero_stage!r}]", func, "a rate above 0 on the path to a positive delivery target", 0.0)
            count = deliveries
            chain = [(stage_names[-1], "all", math.nan, count)]
            for i in range(len(stage_names) - 1, -1, -1):
                count = count / r[i] if count > 0 else 0.0
                chain.append((stage_names[i - 1] if i > 0 else "opportunity", "all", r[i], count))
            opportunities = count
            chain.reverse()
            step = 0
            opp_by = mix.fillna(0.0) * opportunities
            leads_by = (opp_by / src["to_opportunity"].where(src["to_opportunity"] > 0)).fillna(0.0)
            for s in src.index:
                records.append((sc, step, "lead", s, src.at[s, "to_opportunity"], leads_by[s]))
            records.append((sc, step, "lead", "all", math.nan, float(leads_by.sum())))
            step += 1
            records.append((sc, step, "showroom_traffic", "all", math.nan, float(leads_by[src["showroom"]].sum())))
            step += 1
            for s in src.index:
                records.append((sc, step, "opportunity", s, chain[0][2], opp_by[s]))
            for stage, source, rate, cnt in chain:
                records.append((sc, step, stage, source, rate, cnt))
                step += 1
            if consultant_lead_capacity is not None:
                records.append((sc, step, "consultants", "all", math.nan, float(leads_by.sum()) / consultant_lead_capacity))
    else:
        if not isinstance(target, Mapping):
            raise _bad("target", func, "a mapping source -> leads available when direction='forward'", target)
        unknown = sorted(set(target) - set(src.index))
        if unknown:
            raise _bad("target", func, f"leads for known sources ({', '.join(src.index)})", unknown)
        leads = pd.Series({s: float(target.get(s, 0.0)) for s in src.index})
        if (leads < 0).any() or leads.isna().any():
            raise _bad("target", func, "leads >= 0 for every source", dict(target))
        opp_by = leads * src["to_opportunity"]
        for sc in scenarios:
            r = rates[sc]
            step = 0
            for s in src.index:
                records.append((sc, step, "lead", s, src.at[s, "to_opportunity"], leads[s]))
            records.append((sc, step, "lead", "all", math.nan, float(leads.sum())))
            step += 1
            records.append((sc, step, "showroom_traffic", "all", math.nan, float(leads[src["showroom"]].sum())))
            step += 1
            count = float(opp_by.sum())
            for s in src.index:
                records.append((sc, step, "opportunity", s, r[0], opp_by[s]))
            records.append((sc, step, "opportunity", "all", r[0], count))
            for i, stage in enumerate(stage_names):
                step += 1
                count = count * r[i]
                records.append((sc, step, stage, "all", r[i + 1] if i + 1 < len(r) else math.nan, count))
            if consultant_lead_capacity is not None:
                records.append((sc, step + 1, "consultants", "all", math.nan, float(leads.sum()) / consultant_lead_capacity))
    out = pd.DataFrame(records, columns=["scenario", "step", "stage", "source", "rate", "needed"])
    if direction == "backward":
        out["whole"] = _ceil(out["needed"])
    else:
        out["whole"] = np.floor(out["needed"].to_numpy() + 1e-9).astype(np.int64)
        # consultants busy with the leads are still whole people: round up
        cons = out["stage"] == "consultants"
        out.loc[cons, "whole"] = _ceil(out.loc[cons, "needed"])
    # per-source rows are rounded one by one; their totals are the sums, so the table adds up
    for (sc, stage), rows in out[out["stage"].isin(["lead", "opportunity"])].groupby(["scenario", "stage"], sort=False):
        per = rows["source"] != "all"
        out.loc[rows.index[~per], "whole"] = int(rows.loc[per, "whole"].sum())
    walk = out["stage"] == "lead"
    for sc in out["scenario"].unique():
        shown = out.loc[walk & (out["scenario"] == sc) & out["source"].isin(src.index[src["showroom"]]), "whole"].sum()
        out.loc[(out["stage"] == "showroom_traffic") & (out["scenario"] == sc), "whole"] = int(shown)
    out["direction"] = direction
    return out


# ---------------------------------------------------------------------------
# pay
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PayPlan:
    """A monthly pay plan: base salary components (example H) plus commission.

    Base salary ``base_salary`` is split by ``weights``:

    - ``sales`` (60%): pro-rated by sales / standard volume, capped at 100%
      ("若完成销售业务量,则可获得全部底薪的60%;若没有完成...依据所完成的业务量占标准销售业务量
      的比例计算底薪": full share when the standard is met, proportional below;
      the seed pays nothing extra above it - that is the commission's job);
    - ``records`` (20%): customer records collected / standard, capped at 100%;
    - ``market_analysis`` (10%): a score in [0, 1] from the competitor analysis;
    - ``satisfaction`` (10%): all of it with no complaints ("考核标准为无投诉"),
      nothing otherwise.

    Commission: ``commission_rate`` x sales, paid only when achievement of the
    target reaches ``threshold``; each slice of achievement is paid at the
    multiplier of its tier (``tiers``: (from achievement, multiplier), so the
    defaults pay 1x on sales up to the target and 1.5x on sales above it), and
    sales above ``cap`` x target earn nothing more.
    """

    base_salary: float = 5000.0
    weights: Mapping[str, float] = field(
        default_factory=lambda: {"sales": 0.6, "records": 0.2, "market_analysis": 0.1, "satisfaction": 0.1}
    )
    records_standard: float = 30.0
    commission_rate: float = 0.01
    threshold: float = 0.8
    tiers: Sequence[tuple[float, float]] = ((0.0, 1.0), (1.0, 1.5))
    cap: float | None = 1.5

    def __post_init__(self) -> None:
        func = "pay"
        _check_rate(self.base_salary, "plan.base_salary", func, high=1e9)
        known = {"sales", "records", "market_analysis", "satisfaction"}
        if not isinstance(self.weights, Mapping) or set(self.weights) - known:
            raise _bad("plan.weights", func, f"a mapping with keys among {sorted(known)}", self.weights)
        for k, w in self.weights.items():
            _check_rate(w, f"plan.weights[{k!r}]", func)
        if abs(sum(self.weights.values()) - 1.0) > 1e-9:
            raise _bad("plan.weights", func, "weights adding up to 1", dict(self.weights))
        _check_positive(self.records_standard, "plan.records_standard", func)
        _check_rate(self.commission_rate, "plan.commission_rate", func)
        _check_rate(self.threshold, "plan.threshold", func, high=10.0)
        tiers = [tuple(map(float, t)) for t in self.tiers]
        if not tiers or tiers[0][0] != 0.0 or any(b[0] <= a[0] for a, b in itertools.pairwise(tiers)) or any(m < 0 for _, m in tiers):
            raise _bad("plan.tiers", func, "(from achievement, multiplier) pairs starting at 0, increasing, multipliers >= 0", list(self.tiers))
        if self.cap is not None:
            _check_positive(self.cap, "plan.cap", func)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> PayPlan:
        """Build from a params mapping (unknown keys are an error)."""
        raw = dict(raw or {})
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise _bad("plan", "pay", f"keys among {sorted(cls.__dataclass_fields__)}", sorted(unknown))
        if "tiers" in raw:
            raw["tiers"] = tuple(tuple(t) for t in raw["tiers"])
        return cls(**raw)


def pay(achievement: pd.DataFrame, *, plan: PayPlan | Mapping[str, Any] | None = None) -> pd.DataFrame:
    """A pay plan's monthly cost per rep, and cost of sales as a share of target.

    Parameters
    ----------
    achievement : DataFrame
        One row per rep (and month, if you like): ``sales`` (the month's
        volume), ``target`` (the rep's target; commission thresholds use
        sales / target), ``standard`` (the standard volume for the base; the
        target when missing), and optionally ``records`` (customer records
        collected; default the standard), ``market_analysis`` (score 0-1;
        default 1) and ``complaints`` (default 0). Other columns (rep_id ...)
        are kept.
    plan : PayPlan or mapping, default=PayPlan() (example H)

    Returns
    -------
    DataFrame
        The input columns plus ``achievement, base_sales, base_records,
        base_market_analysis, base_satisfaction, base_pay, commission,
        total_pay, cost_share`` (total pay / target). ``attrs["totals"]``
        holds the sums and the overall cost share.

    Examples
    --------
    >>> a = pd.DataFrame({"rep_id": ["r1"], "sales": [90_000.0], "target": [100_000.0]})
    >>> row = pay(a, plan={"base_salary": 5000}).iloc[0]
    >>> float(row["base_sales"]), float(row["commission"]), float(row["total_pay"])
    (2700.0, 900.0, 5600.0)
    """
    func = "pay"
    if plan is None:
        plan = PayPlan()
    elif isinstance(plan, Mapping):
        plan = PayPlan.from_dict(plan)
    _require_columns(achievement, ["sales", "target"], "the achievement table", func)
    out = achievement.copy()
    sales = pd.to_numeric(out["sales"], errors="coerce").to_numpy(dtype=float)
    target = pd.to_numeric(out["target"], errors="coerce").to_numpy(dtype=float)
    standard = pd.to_numeric(out["standard"], errors="coerce").to_numpy(dtype=float) if "standard" in out else target
    bad = np.isnan(sales) | (sales < 0) | np.isnan(target) | (target <= 0) | np.isnan(standard) | (standard <= 0)
    if bad.any():
        raise InputError(
            f"the achievement table passed to {func} needs sales >= 0 and target (and standard) > 0; "
            f"rows {short_list(list(out.index[bad]))}."
        )
    records = out["records"].to_numpy(dtype=float) if "records" in out else np.full(len(out), plan.records_standard)
    market = out["market_analysis"].to_numpy(dtype=float) if "market_analysis" in out else np.ones(len(out))
    complaints = out["complaints"].to_numpy(dtype=float) if "complaints" in out else np.zeros(len(out))
    if (records < 0).any() or (market < 0).any() or (market > 1).any() or (complaints < 0).any():
        raise InputError(f"the achievement table passed to {func}: records and complaints must be >= 0 and market_analysis in [0, 1].")
    w = {k: float(plan.weights.get(k, 0.0)) for k in ("sales", "records", "market_analysis", "satisfaction")}
    b = float(plan.base_salary)
    ach = sales / target
    out["achievement"] = ach
    out["base_sales"] = b * w["sales"] * np.minimum(sales / standard, 1.0)
    out["base_records"] = b * w["records"] * np.minimum(records / plan.records_standard, 1.0)
    out["base_market_analysis"] = b * w["market_analysis"] * market
    out["base_satisfaction"] = b * w["satisfaction"] * (complaints == 0)
    out["base_pay"] = out[["base_sales", "base_records", "base_market_analysis", "base_satisfaction"]].sum(axis=1)
    paid_ach = np.minimum(ach, plan.cap) if plan.cap is not None else ach
    starts = np.array([t[0] for t in plan.tiers] + [np.inf])
    mult = np.array([t[1] for t in plan.tiers])
    slices = np.clip(paid_ach[:, None] - starts[None, :-1], 0, None) - np.clip(paid_ach[:, None] - starts[None, 1:], 0, None)
    weighted = (slices * mult[None, :]).sum(axis=1)  # achievement-weighted multiplier
    out["commission"] = np.where(ach >= plan.threshold - 1e-12, plan.commission_rate * target * weighted, 0.0)
    out["total_pay"] = out["base_pay"] + out["commission"]
    out["cost_share"] = out["total_pay"] / target
    totals = {
        "reps": len(out),
        "sales": float(sales.sum()),
        "target": float(target.sum()),
        "base_pay": float(out["base_pay"].sum()),
        "commission": float(out["commission"].sum()),
        "total_pay": float(out["total_pay"].sum()),
    }
    totals["cost_share"] = totals["total_pay"] / totals["target"] if totals["target"] else math.nan
    out.attrs["totals"] = totals
    return out


# ---------------------------------------------------------------------------
# defaults from history
# ---------------------------------------------------------------------------


def _rep_of_sales(sales: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    _require_columns(sales, ["date", "customer_id", "amount"], "the sales table", "mature_productivity")
    _require_columns(customers, ["customer_id", "rep_id"], "the customers table", "mature_productivity")
    rep = customers.set_index("customer_id")["rep_id"]
    df = pd.DataFrame({"month": pd.to_datetime(sales["date"]).dt.to_period("M"), "amount": sales["amount"].to_numpy()})
    df["rep_id"] = sales["customer_id"].map(rep).to_numpy()
    return df


def _last_full_year(dates: pd.Series) -> int:
    last = pd.to_datetime(dates).max()
    return last.year if (last.month == 12 and last.day == 31) else last.year - 1


def mature_productivity(
    sales: pd.DataFrame,
    customers: pd.DataFrame,
    reps: pd.DataFrame,
    *,
    year: int | None = None,
    min_tenure_months: int = 12,
) -> float:
    """A mature rep's standard monthly volume (标准销售业务量) from history.

    For each rep with at least ``min_tenure_months`` of service at the start of
    a month of ``year`` (default: the last complete calendar year of the
    sales) and still employed at its end, the mean monthly sales of those
    months; the result is the median over reps. Sales reach a rep through the
    customer's current ``rep_id`` (the data holds no assignment history).
    """
    func = "mature_productivity"
    _require_columns(reps, ["rep_id", "hire_date"], "the reps table", func)
    df = _rep_of_sales(sales, customers)
    year = _last_full_year(sales["date"]) if year is None else int(year)
    df = df[df["month"].dt.year == year]
    monthly = df.groupby(["rep_id", "month"], observed=True)["amount"].sum()
    months = pd.period_range(f"{year}-01", f"{year}-12", freq="M")
    r = reps.set_index("rep_id")
    grid = pd.MultiIndex.from_product([r.index, months], names=["rep_id", "month"])
    frame = monthly.reindex(grid, fill_value=0.0).rename("amount").reset_index()
    hire = pd.to_datetime(frame["rep_id"].map(r["hire_date"])).dt.to_period("M")
    leave_col = r["leave_date"] if "leave_date" in r else pd.Series(pd.NaT, index=r.index)
    leave = pd.to_datetime(frame["rep_id"].map(leave_col))
    tenure = (frame["month"].astype("int64") - hire.astype("int64"))
    month_end = frame["month"].dt.end_time.dt.normalize()
    ok = (tenure >= min_tenure_months) & (leave.isna() | (leave >= month_end))
    per_rep = frame[ok.to_numpy()].groupby("rep_id")["amount"].mean()
    per_rep = per_rep[per_rep > 0]
    if per_rep.empty:
        raise InputError(
            f"{func}: no rep had {min_tenure_months} months of service and sales in {year}; "
            "set staffing.productivity in the params instead."
        )
    return float(per_rep.median())


def current_staff(reps: pd.DataFrame, *, as_of: Any) -> pd.DataFrame:
    """Reps employed on ``as_of`` with their completed months of service (``tenure_months``)."""
    func = "current_staff"
    _require_columns(reps, ["rep_id", "hire_date"], "the reps table", func)
    as_of = pd.Timestamp(as_of)
    hire = pd.to_datetime(reps["hire_date"])
    leave = pd.to_datetime(reps["leave_date"]) if "leave_date" in reps else pd.Series(pd.NaT, index=reps.index)
    active = (hire <= as_of) & (leave.isna() | (leave > as_of))
    out = reps.loc[active].copy()
    h = hire[active]
    months = (as_of.year - h.dt.year) * 12 + (as_of.month - h.dt.month) - (as_of.day < h.dt.day).astype(int)
    out["tenure_months"] = months.clip(lower=0).astype(np.int64).to_numpy()
    return out.reset_index(drop=True)


def monthly_targets_from_history(
    sales: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    plan_year: int,
    growth: float,
    team_of_customer: pd.Series | None = None,
    year: int | None = None,
) -> pd.DataFrame:
    """Monthly targets per team as last year's same-month sales x (1 + growth).

    The fallback when no decomposed plan exists: ``team`` is the customer's
    team (``team_of_customer`` maps customer_id -> team; default the rep).
    Returns ``team, month, target`` for the 12 months of ``plan_year``.
    """
    func = "monthly_targets_from_history"
    if not growth > -1:
        raise _bad("growth", func, "a number above -1", growth)
    df = _rep_of_sales(sales, customers)
    if team_of_customer is not None:
        df["rep_id"] = sales["customer_id"].map(team_of_customer).to_numpy()
    year = _last_full_year(sales["date"]) if year is None else int(year)
    df = df[df["month"].dt.year == year]
    if df.empty:
        raise InputError(f"{func}: no sales in {year} to base the targets on.")
    g = df.groupby(["rep_id", df["month"].dt.month])["amount"].sum() * (1.0 + growth)
    teams = sorted(df["rep_id"].dropna().unique())
    grid = pd.MultiIndex.from_product([teams, range(1, 13)], names=["team", "m"])
    g = g.rename_axis(["team", "m"]).reindex(grid, fill_value=0.0).reset_index(name="target")
    g["month"] = pd.PeriodIndex.from_fields(year=np.full(len(g), plan_year), month=g["m"].to_numpy(), freq="M")
    return g[["team", "month", "target"]]


def with_lead_in(
    targets: pd.DataFrame,
    first_month: Any,
    *,
    team_col: str = "team",
    month_col: str = "month",
    target_col: str = "target",
) -> pd.DataFrame:
    """Prepend months from ``first_month`` up to the plan's first month with target 0.

    A plan for next year is decided now: the months between today and the plan
    year carry no requirement here (target 0) but hires decided in them can start
    by the plan's first month, and attrition runs through them. Returns the long
    table with a ``lead_in`` flag column.
    """
    _require_columns(targets, [team_col, month_col, target_col], "the targets table", "with_lead_in")
    months = pd.PeriodIndex(pd.to_datetime(targets[month_col].astype(str), format="mixed"), freq="M")
    start = pd.Period(first_month, freq="M")
    out = targets.assign(**{month_col: months, "lead_in": False})
    if start >= months.min():
        return out
    extra = pd.period_range(start, months.min() - 1, freq="M")
    teams = pd.unique(targets[team_col])
    pad = pd.DataFrame({
        team_col: np.repeat(teams, len(extra)),
        month_col: np.tile(extra, len(teams)),
        target_col: 0.0,
        "lead_in": True,
    })
    return pd.concat([pad, out[[team_col, month_col, target_col, "lead_in"]]], ignore_index=True).sort_values(
        [team_col, month_col], kind="mergesort"
    ).reset_index(drop=True)


def monthly_orders_from_history(
    sales: pd.DataFrame,
    *,
    channel: str | None = None,
    growth: float = 0.0,
    year: int | None = None,
) -> float:
    """Average orders a month (one customer's purchases on one day) x (1 + growth).

    The default delivery target of the dealership funnel when none is given:
    last complete year's orders of ``channel`` (all channels when None).
    """
    func = "monthly_orders_from_history"
    _require_columns(sales, ["date", "customer_id"] + (["channel"] if channel else []), "the sales table", func)
    dates = pd.to_datetime(sales["date"])
    year = _last_full_year(dates) if year is None else int(year)
    mask = dates.dt.year == year
    if channel is not None:
        mask &= sales["channel"] == channel
    if not mask.any():
        raise InputError(f"{func}: no sales{' in channel ' + repr(channel) if channel else ''} in {year}.")
    orders = pd.DataFrame({"c": sales.loc[mask, "customer_id"].to_numpy(), "d": dates[mask].to_numpy()}).drop_duplicates()
    return len(orders) / 12.0 * (1.0 + growth)
