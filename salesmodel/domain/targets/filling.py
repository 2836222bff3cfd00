"""Sharing a total within bounds: water-filling of each group's total over its units' floors and caps,
by their shares or at one common chance of meeting each target
(see :mod:`salesmodel.domain.targets.allocation`).
"""
from __future__ import annotations

import numpy as np

from salesmodel.domain.targets.rounding import _group_sum


# ---------------------------------------------------------------------------
# Proportional allocation within bounds (water-filling), grouped
# ---------------------------------------------------------------------------
def _group_cumsum(values: np.ndarray, g_sorted: np.ndarray, starts: np.ndarray) -> np.ndarray:
    cs = np.cumsum(values)
    before = np.concatenate(([0.0], cs))[starts[g_sorted]]
    return cs - before


def _fill(before: np.ndarray, lo: np.ndarray, hi: np.ndarray, group: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """``clip(lambda_g x before, lo, hi)`` with ``lambda_g`` such that each group sums to its total.

    The sum over a group is a continuous, non-decreasing, piecewise-linear
    function of lambda with breakpoints ``lo/before`` and ``hi/before``; walking
    the sorted breakpoints with cumulative sums finds the exact lambda of every
    group at once. Feasibility is checked by the caller.
    """
    n_groups = totals.size
    pos = before > 0
    idx = np.flatnonzero(pos)
    fin = idx[np.isfinite(hi[idx])]
    # Events: at lambda = lo/before a unit leaves its lower bound (constant -lo,
    # slope +before); at hi/before it reaches its upper bound (constant +hi, slope -before).
    ev_val = np.concatenate((lo[idx] / before[idx], hi[fin] / before[fin]))
    ev_grp = np.concatenate((group[idx], group[fin]))
    ev_dc = np.concatenate((-lo[idx], hi[fin]))
    ev_ds = np.concatenate((before[idx], -before[fin]))
    lam = np.zeros(n_groups)
    if ev_val.size:
        order = np.lexsort((ev_val, ev_grp))
        v, g, dc, ds = ev_val[order], ev_grp[order], ev_dc[order], ev_ds[order]
        sizes = np.bincount(g, minlength=n_groups)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        sum_lo = _group_sum(lo, group, n_groups)
        c = sum_lo[g] + _group_cumsum(dc, g, starts)
        s = _group_cumsum(ds, g, starts)
        f = c + s * v
        tgt = totals[g]
        reach = f >= tgt - 1e-12 * np.maximum(1.0, np.abs(tgt))
        # First event per group where the sum reaches the total.
        first = np.full(n_groups, -1, dtype=np.int64)
        hit = np.flatnonzero(reach)
        if hit.size:
            ug, at = np.unique(g[hit], return_index=True)
            first[ug] = hit[at]
        has_events = sizes > 0
        last = starts + sizes - 1
        for_groups = np.flatnonzero(has_events)
        e = first[for_groups]
        gs = for_groups
        # Case 1: reached at the group's first event -> every unit sits on its lower bound.
        at_first = e == starts[gs]
        # Case 2: reached at a later event -> linear between the previous event and this one.
        mid = (e > starts[gs])
        # Case 3: never reached -> beyond the last event, on the last slope.
        beyond = e < 0
        res = np.zeros(gs.size)
        res[at_first] = v[e[at_first]]
        if mid.any():
            p = e[mid] - 1
            slope = s[p]
            safe = np.where(slope > 0, slope, 1.0)
            lam_mid = np.where(slope > 0, (totals[gs[mid]] - c[p]) / safe, v[p])
            res[mid] = np.clip(lam_mid, v[p], v[e[mid]])
        if beyond.any():
            p = last[gs[beyond]]
            slope = s[p]
            safe = np.where(slope > 0, slope, 1.0)
            res[beyond] = np.where(slope > 0, (totals[gs[beyond]] - c[p]) / safe, v[p])
        lam[gs] = res
    return np.clip(lam[group] * before, lo, hi)


def _fill_chance(mean: np.ndarray, sd: np.ndarray, lo: np.ndarray, hi: np.ndarray, group: np.ndarray,
                 totals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``clip(mean + z_g x sd, lo, hi)`` with one ``z_g`` per group such that each group sums to its total.

    Every unit of a group is asked the same quantile of its own outcome (normal with its
    baseline ``mean`` and spread ``sd``), so each has the same chance of meeting its
    target, ``P = 1 - Phi(z_g)``, except those held at a bound. The group sum is
    continuous and non-decreasing in z: its root is found with Brent's method
    (``scipy.optimize.brentq``) and what float noise leaves is given to the free units by
    their spread. Groups with no spread share by their means (z scales them). Returns the
    exact targets, the targets before bounds (the same z for every unit, unclipped) and
    each row's ``z_g``. Feasibility is checked by the caller.
    """
    from scipy.optimize import brentq

    n_groups = totals.size
    exact = np.zeros(mean.size)
    before = np.zeros(mean.size)
    z_of = np.zeros(n_groups)
    for g in range(n_groups):
        rows = np.flatnonzero(group == g)
        if rows.size == 0:
            continue
        m, s, a, b = mean[rows], sd[rows], lo[rows], hi[rows]
        if not (s > 0).any():  # no spread: by the means (z is then a growth), else evenly
            s = m.copy() if (m > 0).any() else np.ones(rows.size)
        t = float(totals[g])
        z0 = (t - m.sum()) / s.sum()
        before[rows] = m + z0 * s

        def gap(z: float, m=m, s=s, a=a, b=b, t=t) -> float:
            return float(np.clip(m + z * s, a, b).sum() - t)

        lo_z, hi_z = z0 - 1.0, z0 + 1.0
        for _ in range(200):
            if gap(lo_z) <= 0:
                break
            lo_z -= 2 * (hi_z - lo_z)
        for _ in range(200):
            if gap(hi_z) >= 0:
                break
            hi_z += 2 * (hi_z - lo_z)
        z = brentq(gap, lo_z, hi_z, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500) if gap(lo_z) < 0 < gap(hi_z) \
            else (lo_z if gap(lo_z) == 0 else hi_z)
        x = np.clip(m + z * s, a, b)
        rest = t - x.sum()
        free = (x > a) & (x < b) & (s > 0)
        if rest != 0 and free.any():
            x[free] += rest * s[free] / s[free].sum()
        exact[rows] = x
        z_of[g] = z
    return exact, before, z_of[group]
