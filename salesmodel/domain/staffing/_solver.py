"""The capacity plan's integer programme: the fewest hires month by month that meet each month's
need (HiGHS through ``scipy.optimize.milp``, a greedy start and an LP bound), per team, under the
company's limit on starts per month and the months nobody starts in."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from salesmodel.domain.staffing._checks import _bad
from salesmodel.errors import InputError

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
    cap_by_start: np.ndarray | None = None  # a further limit per start month (the company's, less other teams')


def _blocked_positions(months: pd.Index, blocked: Sequence[Any], where: str) -> np.ndarray:
    """Positions of ``blocked`` months among the plan's months (months outside the plan are ignored)."""
    if not len(blocked):
        return np.zeros(0, dtype=int)
    labels = [str(m) for m in months]
    try:
        wanted = {str(pd.Period(m, freq="M")) for m in blocked}
    except (ValueError, TypeError):
        raise _bad("blocked_months", "capacity_plan", "months such as '2027-02'", list(blocked)) from None
    return np.array([i for i, m in enumerate(labels) if m in wanted], dtype=int)


def _problem(need: np.ndarray, existing: np.ndarray, fte_kernel: np.ndarray, lead: int, cap: int | None,
             ramp_at: np.ndarray | None = None, min_reach: float = 0.0, blocked: np.ndarray | None = None) -> _Problem:
    """Set up one team. A month is a constraint when it falls short without hires and a
    hire decided at the first possible moment would deliver at least ``min_reach`` of a
    mature rep's volume in it (``ramp_at[j]``: ramp fraction j months after starting)."""
    horizon = need.size
    starts = np.arange(lead, horizon)
    if blocked is not None and blocked.size:
        starts = np.setdiff1d(starts, blocked)
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
            if p.cap_by_start is not None:
                ok &= x[s + 1 :] < p.cap_by_start[s + 1 :]
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


def _company_limit(problems: list[_Problem], company_cap: int) -> None:
    """Keep the company's starts in each month at most ``company_cap`` (teams share their start months).

    When the teams' own plans already keep to it nothing changes. Otherwise one integer programme
    over all teams (HiGHS): the least total shortfall first, then the fewest hires, every team's own
    limit and the company's limit per month; then each team's hires move to the latest starts that
    keep every month where it was, within what the other teams leave of the company's limit.
    """
    starts = problems[0].starts
    if any(p.starts.size != starts.size or (p.starts != starts).any() for p in problems):
        raise InputError("capacity_plan: max_starts_per_month needs every team planned over the same months.")
    total = np.sum([p.hires for p in problems], axis=0)
    if (total <= company_cap).all():
        return
    from scipy.sparse import block_diag, csr_matrix, hstack, identity

    n = starts.size
    rows = [p.a[p.rows] for p in problems]
    b = np.concatenate([(p.need - p.existing - _slack(p.need))[p.rows] for p in problems])
    m = b.size
    k = len(problems)
    cover = hstack([block_diag([csr_matrix(r) for r in rows], format="csr"), identity(m, format="csr")], format="csr")
    company = hstack([csr_matrix(np.tile(np.eye(n), k)), csr_matrix((n, m))], format="csr")
    upper = np.concatenate([np.full(n, np.inf if p.cap is None else float(p.cap)) for p in problems] + [np.full(m, np.inf)])
    integrality = np.concatenate([np.ones(n * k), np.zeros(m)])
    slack = np.concatenate([np.zeros(n * k), np.ones(m)])
    constraints = [LinearConstraint(cover, lb=b), LinearConstraint(company, ub=float(company_cap))]
    r1 = milp(slack, constraints=constraints, integrality=integrality, bounds=Bounds(0, upper))
    if r1.x is None:
        raise InputError("capacity_plan: the solver found no plan within max_starts_per_month.")
    keep = LinearConstraint(csr_matrix(slack[None, :]), ub=float(r1.fun) + 1e-7 * max(1.0, float(r1.fun)))
    hires = np.concatenate([np.ones(n * k), np.zeros(m)])
    r2 = milp(hires, constraints=[*constraints, keep], integrality=integrality, bounds=Bounds(0, upper))
    x = np.round((r2.x if r2.x is not None else r1.x)[: n * k]).reshape(k, n)
    for i, p in enumerate(problems):
        others = x.sum(axis=0) - x[i]
        p.cap_by_start = np.maximum(company_cap - others, 0)
        x[i] = _tidy(p, x[i])
        p.hires, p.method = x[i], "milp (company limit)"


def _apply_company_cap(problems: list[_Problem], company_cap: int | None, by_team: bool) -> None:
    if company_cap is None:
        return
    if by_team:
        _company_limit(problems, company_cap)
        return
    only = problems[0]
    only.cap = company_cap if only.cap is None else min(only.cap, company_cap)
    _solve_all([only])
