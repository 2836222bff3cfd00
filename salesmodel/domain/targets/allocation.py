"""Allocation: sharing a total among units by a basis, within bounds, with exact
rounding (largest remainder); :func:`decompose` for one level, :func:`cascade`
through several. The checking and rounding helpers here are shared by the other
targets modules and by tracking.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import STRETCH, check, param_error
from salesmodel.errors import InfeasibleError, InputError, ParamsError, short_list

__all__ = ["cascade", "decompose", "largest_remainder"]


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
def _as_list(keys: str | Sequence[str] | None) -> list[str]:
    if keys is None:
        return []
    if isinstance(keys, str):
        return [keys]
    return list(keys)


def _unit_labels(units: pd.DataFrame, keys: list[str], mask: np.ndarray) -> list[str]:
    """Readable names of the units selected by ``mask`` (for messages)."""
    rows = units.loc[mask]
    if keys:
        if len(keys) == 1:
            return [str(v) for v in rows[keys[0]].tolist()]
        return ["/".join(str(x) for x in t) for t in rows[keys].itertuples(index=False)]
    return [f"row {i}" for i in rows.index.tolist()]


def _check_keys(units: pd.DataFrame, keys: list[str], func: str, table: str = "units") -> None:
    missing = [k for k in keys if k not in units.columns]
    if missing:
        raise InputError(
            f"{func}: the {table} table has no column {short_list(missing)} "
            f"(columns: {short_list(list(units.columns))}); 'keys' must name columns of it."
        )
    if keys:
        dup = units.duplicated(keys, keep=False).to_numpy()
    else:
        dup = units.index.duplicated(keep=False)
    if dup.any():
        raise InputError(
            f"{func}: the {table} table has duplicate unit keys {short_list(sorted(set(_unit_labels(units, keys, dup))))} "
            f"in {short_list(keys) if keys else 'its index'}; each unit must appear once."
        )


def _numeric_column(units: pd.DataFrame, col: str, func: str, role: str, keys: list[str],
                    *, allow_nan: bool = False) -> np.ndarray:
    if col not in units.columns:
        raise InputError(
            f"{func}: the units table has no {role} column '{col}' (columns: {short_list(list(units.columns))})."
        )
    try:
        values = pd.to_numeric(units[col], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{func}: the {role} column '{col}' must be numeric.") from None
    bad_nan = np.isnan(values)
    if bad_nan.any() and not allow_nan:
        raise InputError(
            f"{func}: the {role} column '{col}' has missing (NaN) values for "
            f"{short_list(_unit_labels(units, keys, bad_nan))}; fill them (0 if the unit has none)."
        )
    neg = values < 0
    if neg.any():
        raise InputError(
            f"{func}: the {role} column '{col}' has negative values for "
            f"{short_list(_unit_labels(units, keys, neg))}; expected values >= 0."
        )
    return values


def _group_sum(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(group, weights=values, minlength=n_groups)


def _check_round_to(round_to: float | None, func: str) -> None:
    if round_to is not None and (not np.isfinite(round_to) or round_to <= 0):
        raise param_error("round_to", func, "a positive number or None", round_to)


def _to_quanta(value: np.ndarray | float, unit: float) -> np.ndarray:
    """Whole number of rounding steps in ``value`` (values must be multiples)."""
    return np.rint(np.asarray(value, dtype=float) / unit).astype(np.int64)


def _is_multiple(value: np.ndarray | float, unit: float) -> np.ndarray:
    """Whether values are whole multiples of ``unit`` (up to float noise)."""
    q = np.asarray(value, dtype=float) / unit
    return np.abs(q - np.rint(q)) <= 1e-9 * np.maximum(1.0, np.abs(q)) + 1e-7


# ---------------------------------------------------------------------------
# Exact rounding (largest remainder), grouped
# ---------------------------------------------------------------------------
def _round_grouped(values: np.ndarray, group: np.ndarray, totals_q: np.ndarray, unit: float) -> np.ndarray:
    """Round ``values`` to multiples of ``unit`` so each group adds up to ``totals_q`` steps.

    Largest remainder: floor every value, then give one more step to the values
    with the largest fractional parts (ties: the earlier row). Vectorised over
    groups with one lexsort.
    """
    n = values.size
    if n == 0:
        return values.copy()
    q = values / unit
    base = np.floor(q + 1e-9)
    frac = np.clip(q - base, 0.0, None)
    n_groups = totals_q.size
    short = totals_q - np.rint(_group_sum(base, group, n_groups)).astype(np.int64)
    order = np.lexsort((np.arange(n), -frac, group))
    g_sorted = group[order]
    sizes = np.bincount(group, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = np.arange(n) - starts[g_sorted]
    k = short[g_sorted]
    step = np.zeros(n)
    # Normal case: a few rows get one more step. If float noise left a group one
    # step over, the rows with the smallest fractional parts give one back.
    step[order] = np.where(k >= 0, (rank < k).astype(float),
                           -(rank >= sizes[g_sorted] + k).astype(float))
    if (np.abs(short) > sizes).any():
        bad = np.flatnonzero(np.abs(short) > sizes)
        raise InfeasibleError(
            f"cannot round: groups {short_list(bad.tolist())} need more rounding steps than they have units "
            "(the values do not add up to their totals)."
        )
    return (base + step) * unit


def largest_remainder(values: Sequence[float] | np.ndarray | pd.Series, total: float, round_to: float = 1.0) -> np.ndarray:
    """Round ``values`` to multiples of ``round_to`` so they add up to ``total`` exactly.

    The values are first scaled to ``total``; each gets the multiple just below
    it and the largest fractional parts get one step more (ties: larger
    fractional part first, then order).

    Examples
    --------
    >>> largest_remainder([1, 1, 1], 100).tolist()
    [34.0, 33.0, 33.0]
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or (v < 0).any() or not np.isfinite(v).all():
        raise InputError("largest_remainder: values must be a flat list of finite numbers >= 0.")
    _check_round_to(round_to, "largest_remainder")
    if not _is_multiple(total, round_to):
        raise param_error("total", "largest_remainder", f"a multiple of round_to={round_to:g}", total)
    s = v.sum()
    if s <= 0:
        raise InputError("largest_remainder: the values add up to 0; there is nothing to share by.")
    scaled = v / s * total
    return _round_grouped(scaled, np.zeros(v.size, dtype=np.int64), _to_quanta([total], round_to), round_to)


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


# ---------------------------------------------------------------------------
# The shared core of decompose and cascade
# ---------------------------------------------------------------------------
def _normalise_basis(basis: str | Mapping[str, float] | None, even: bool, func: str) -> dict[str, float]:
    if basis is None:
        if not even:
            raise param_error("basis", func, "a column name or a blend {column: weight} (or even=True for an even split)", None)
        return {}
    if isinstance(basis, str):
        return {basis: 1.0}
    if isinstance(basis, Mapping):
        if not basis:
            raise param_error("basis", func, "a non-empty blend {column: weight}", dict(basis))
        weights = {str(k): float(v) for k, v in basis.items()}
        if any((not np.isfinite(w)) or w < 0 for w in weights.values()):
            raise param_error("basis", func, "a blend whose weights are all >= 0", dict(basis))
        total = sum(weights.values())
        if abs(total - 1.0) > 1e-9:
            raise param_error("basis", func, f"a blend whose weights sum to 1 (they sum to {total:.6g})", dict(basis))
        return weights
    raise param_error("basis", func, "a column name or a blend {column: weight}", basis)


def _check_bounds(growth_bounds: Any, func: str) -> tuple[float, float] | None:
    if growth_bounds is None:
        return None
    try:
        lo, hi = (float(x) for x in growth_bounds)
    except (TypeError, ValueError):
        raise param_error("growth_bounds", func, "a pair (lowest, highest) growth such as (-0.1, 0.4)", growth_bounds) from None
    if not (lo > -1 and hi >= lo) or math.isnan(lo) or math.isnan(hi):
        raise param_error("growth_bounds", func, "a pair (lo, hi) with -1 < lo <= hi", growth_bounds)
    return lo, hi


@dataclass
class _Core:
    shares: dict[str, np.ndarray]
    blended: np.ndarray
    before: np.ndarray
    target: np.ndarray
    bound: np.ndarray
    rounding: np.ndarray
    exact: np.ndarray
    #: Equal-chance allocation: the chance each row's group asks (NaN for shared by a basis).
    chance: np.ndarray | None = None


def _allocate(
    units: pd.DataFrame,
    keys: list[str],
    group: np.ndarray,
    group_totals: np.ndarray,
    *,
    weights: dict[str, float],
    even: bool,
    reference: np.ndarray | None,
    bounds: tuple[float, float] | None,
    floor: np.ndarray | None,
    locked: np.ndarray | None,
    round_to: float | None,
    func: str,
    group_names: list[str] | None = None,
    slack: float = 0.0,
    spread: tuple[np.ndarray, np.ndarray] | None = None,
    level: str | None = None,
    group_keys: list[dict[str, str]] | None = None,
) -> _Core:
    """Share each group's total among its rows (the engine of decompose and cascade).

    ``level`` and ``group_keys`` (each group's parent as ``{level column: id}``) are carried by
    an :class:`InfeasibleError` so callers can tell which units it concerns without reading its text.
    """
    n = len(units)
    n_groups = group_totals.size
    sizes = np.bincount(group, minlength=n_groups)
    shares: dict[str, np.ndarray] = {}
    blended = np.zeros(n)
    if not weights:  # even split
        blended = 1.0 / sizes[group]
    for col, w in weights.items():
        values = _numeric_column(units, col, func, "basis", keys)
        sums = _group_sum(values, group, n_groups)
        zero = (sums <= 0) & (sizes > 0)
        if zero.any():
            if not even:
                where = (f" within {short_list([group_names[i] for i in np.flatnonzero(zero)])}"
                         if group_names else "")
                raise InputError(
                    f"{func}: the basis column '{col}' is zero for every unit{where}; there is nothing to share by. "
                    "Use another basis, or even=True to split evenly where the basis is all zero."
                )
            share = np.where(zero[group], 1.0 / sizes[group], values / np.where(sums > 0, sums, 1.0)[group])
        else:
            share = values / sums[group]
        shares[col] = share
        blended = blended + w * share

    is_locked = np.zeros(n, dtype=bool) if locked is None else ~np.isnan(locked)
    locked_sum = _group_sum(np.where(is_locked, locked if locked is not None else 0.0, 0.0), group, n_groups)
    free_total = group_totals - locked_sum
    if (free_total < -1e-9 * np.maximum(1.0, group_totals)).any():
        bad = np.flatnonzero(free_total < 0)
        label = short_list([group_names[i] for i in bad]) if group_names else ""
        raise InfeasibleError(
            f"{func}: the locked targets add up to {locked_sum[bad[0]]:,.2f}, more than the total "
            f"{group_totals[bad[0]]:,.2f} {label}; the total must be at least the locked sum.",
            feasible=(float(locked_sum[bad[0]]), math.inf), level=level, locked=True,
            units=tuple(group_keys[i] for i in bad) if group_keys else (),
        )
    free = ~is_locked
    # Blended share among the free units only (locked ones are out of the sharing).
    free_blend_sum = _group_sum(np.where(free, blended, 0.0), group, n_groups)
    no_free_basis = (free_blend_sum <= 0) & (_group_sum(free.astype(float), group, n_groups) > 0)
    if no_free_basis.any() and not even:
        raise InputError(f"{func}: every unit that is not locked has a zero basis; there is nothing to share by.")
    free_share = np.where(free, np.where(no_free_basis[group], 1.0 / np.maximum(_group_sum(free.astype(float), group, n_groups)[group], 1),
                                         blended / np.where(free_blend_sum > 0, free_blend_sum, 1.0)[group]), 0.0)
    before = free_share * free_total[group]

    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    lo_kind = np.full(n, "lower", dtype=object)
    if bounds is not None and reference is not None:
        bounded = reference > 0
        lo = np.where(bounded, reference * (1 + bounds[0]), 0.0)
        hi = np.where(bounded, reference * (1 + bounds[1]), np.inf)
    if floor is not None:
        lo_kind = np.where(floor > lo, "floor", "lower")
        lo = np.maximum(lo, floor)
    hi = np.maximum(hi, lo)  # a floor wins over a growth cap
    # A unit with no basis gets no share: it sits on its lower bound (equal chance: every unit moves).
    if spread is None:
        hi = np.where(before > 0, hi, lo)
    lo = np.where(free, lo, 0.0)
    hi = np.where(free, hi, 0.0)

    sum_lo = _group_sum(lo, group, n_groups)
    sum_hi = _group_sum(hi, group, n_groups)
    if slack > 0:
        # A parent rounded just past its children's bounds (by less than one of
        # its rounding steps) stretches those bounds by that much, so the cascade
        # stays exact rather than failing on a rounding step.
        over = (free_total > sum_hi) & (free_total - sum_hi <= slack) & (sum_hi > 0)
        under = (free_total < sum_lo) & (sum_lo - free_total <= slack)
        if over.any():
            hi = np.where(over[group] & np.isfinite(hi), hi * (free_total / np.where(sum_hi > 0, sum_hi, 1.0))[group], hi)
            sum_hi = _group_sum(hi, group, n_groups)
        if under.any():
            lo = np.where(under[group], lo * (free_total / np.where(sum_lo > 0, sum_lo, 1.0))[group], lo)
            sum_lo = _group_sum(lo, group, n_groups)
    scale = np.maximum(1.0, np.abs(free_total))
    too_low = free_total < sum_lo - 1e-9 * scale
    too_high = free_total > sum_hi + 1e-9 * scale
    if too_low.any() or too_high.any():
        i = int(np.flatnonzero(too_low | too_high)[0])
        where = f" for {group_names[i]}" if group_names else ""
        lo_total, hi_total = sum_lo[i] + locked_sum[i], sum_hi[i] + locked_sum[i]
        if floor is not None and too_low[i] and bounds is None:
            raise InfeasibleError(
                f"{func}: the floors add up to {lo_total:,.2f}, above the total {group_totals[i]:,.2f}{where}; "
                f"lower the floors or raise the total to at least {lo_total:,.2f}.",
                feasible=(float(lo_total), float(hi_total)), level=level,
                units=(group_keys[i],) if group_keys else (),
            )
        raise InfeasibleError(
            f"{func}: the total {group_totals[i]:,.2f}{where} cannot be met within the growth bounds "
            f"{bounds if bounds is not None else ''} and floors: the feasible range of totals is "
            f"[{lo_total:,.2f}, {hi_total:,.2f}] (the sum of the units' lowest targets, reference x (1 + lo) or the floor, "
            f"to the sum of their highest, reference x (1 + hi); a unit with a zero basis stays at its lowest).",
            feasible=(float(lo_total), float(hi_total)), level=level,
            units=(group_keys[i],) if group_keys else (),
        )

    chance = None
    if spread is None:
        exact = _fill(before, lo, hi, group, free_total)
    else:
        from scipy import stats

        mean = np.where(free, spread[0], 0.0)
        sd = np.where(free, spread[1], 0.0)
        exact, before, z = _fill_chance(mean, sd, lo, hi, group, free_total)
        exact = np.where(free, exact, 0.0)
        before = np.where(free, before, 0.0)
        chance = np.where(free, stats.norm.sf(z), np.nan)
    tol = 1e-9 * np.maximum(1.0, np.abs(exact))
    bound = np.full(n, "none", dtype=object)
    at_lo = (exact <= lo + tol) & (np.abs(before - exact) > tol) & free
    at_hi = (exact >= hi - tol) & (np.abs(before - exact) > tol) & free & np.isfinite(hi)
    bound[at_lo] = lo_kind[at_lo]
    bound[at_hi] = "upper"
    if locked is not None:
        exact = np.where(is_locked, np.nan_to_num(locked), exact)
        bound[is_locked] = "locked"

    if round_to is None:
        target = exact
    else:
        if locked is not None and not _is_multiple(locked[is_locked], round_to).all():
            bad = is_locked & ~_is_multiple(np.nan_to_num(locked), round_to)
            raise InputError(
                f"{func}: locked targets must be multiples of round_to={round_to:g}; these are not: "
                f"{short_list(_unit_labels(units, keys, bad))}."
            )
        totals_q = _to_quanta(group_totals, round_to)
        target = _round_grouped(exact, group, totals_q, round_to)
        if locked is not None:
            # Locked values are multiples and are their own exact targets, so rounding keeps them.
            target = np.where(is_locked, np.nan_to_num(locked), target)
    return _Core(shares, blended, before, target, bound, target - exact, exact, chance)


def _prepare_total(total: float, stretch: float, round_to: float | None, func: str) -> float:
    if isinstance(total, bool) or not isinstance(total, (int, float, np.integer, np.floating)) or not np.isfinite(total) or total < 0:
        raise param_error("total", func, "a finite number >= 0", total)
    stretch = check(stretch, STRETCH, "stretch", func)
    _check_round_to(round_to, func)
    grand = float(total) * float(stretch)
    if round_to is not None and not _is_multiple(grand, round_to):
        rounded = float(np.rint(grand / round_to) * round_to)
        warnings.warn(
            f"{func}: total x stretch = {grand:,.4f} is not a multiple of round_to={round_to:g}; "
            f"{rounded:,.2f} is shared instead.",
            stacklevel=3,
        )
        grand = rounded
    return grand


def _column_or_scalar(units: pd.DataFrame, spec: Any, func: str, role: str, keys: list[str], *, allow_nan: bool) -> np.ndarray | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        return _numeric_column(units, spec, func, role, keys, allow_nan=allow_nan)
    if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool):
        if not np.isfinite(spec) or spec < 0:
            raise param_error(role, func, "a number >= 0 or a column name", spec)
        return np.full(len(units), float(spec))
    raise param_error(role, func, "a number >= 0 or a column name", spec)


def decompose(
    total: float,
    units: pd.DataFrame,
    *,
    basis: str | Mapping[str, float] | None,
    reference: str | None = None,
    growth_bounds: tuple[float, float] | None = None,
    floor: float | str | None = None,
    locked: str | None = None,
    round_to: float | None = None,
    stretch: float = 1.0,
    keys: str | Sequence[str] | None = None,
    even: bool = False,
) -> pd.DataFrame:
    """Share a total among units, exactly and explainably.

    Parameters
    ----------
    total : float
        The total to share (the assigned task). The parts add up to
        ``total x stretch``.
    units : DataFrame
        One row per unit, with key columns and numeric basis columns.
    basis : str or dict or None
        A column to share on, or a blend ``{"last_year": 0.5, "potential": 0.5}``
        whose weights sum to 1; each column is normalised to shares first.
        ``None`` with ``even=True`` splits evenly.
    reference : str, optional
        Column the growth is measured against (usually last year).
    growth_bounds : (float, float), optional
        Lowest and highest growth over ``reference`` any unit may be asked.
    floor : float or str, optional
        Minimum target per unit (a number, or a column).
    locked : str, optional
        Column of fixed targets (NaN = not locked); they are taken out of the
        total first and kept.
    round_to : float, optional
        Rounding step (1 for cars, 100 for money); the parts still add up exactly.
    stretch : float, default 1.0
        Over-assignment factor (1.25: a 5.6 M task gives 7.0 M of targets).
    keys : str or list of str, optional
        Columns naming the unit (must be unique); default: the index.
    even : bool, default False
        Split evenly where the basis is all zero (otherwise an error).

    Returns
    -------
    DataFrame
        ``units`` with ``share_<col>`` per basis column, ``blended_share``,
        ``target_before_bounds``, ``bound_applied`` (none, lower, upper, floor,
        locked), ``rounding_adjustment``, ``target``, ``share`` and ``growth``
        (when a reference is given). ``attrs["total"]`` is the total shared.

    Examples
    --------
    >>> units = pd.DataFrame({"region": ["NE", "N"], "last_year": [300.0, 700.0]})
    >>> decompose(1000, units, basis="last_year", keys="region", round_to=1)["target"].tolist()
    [300.0, 700.0]
    """
    func = "decompose"
    if not isinstance(units, pd.DataFrame):
        raise param_error("units", func, "a DataFrame with one row per unit", type(units).__name__)
    if len(units) == 0:
        raise InputError(f"{func}: the units table is empty; there is nobody to share the total among.")
    key_list = _as_list(keys)
    _check_keys(units, key_list, func)
    weights = _normalise_basis(basis, even, func)
    bounds = _check_bounds(growth_bounds, func)
    if bounds is not None and reference is None:
        raise param_error("reference", func, "a column name when growth_bounds are given", None)
    grand = _prepare_total(total, stretch, round_to, func)
    ref = _numeric_column(units, reference, func, "reference", key_list) if reference is not None else None
    floor_v = _column_or_scalar(units, floor, func, "floor", key_list, allow_nan=False)
    locked_v = None
    if locked is not None:
        locked_v = _numeric_column(units, locked, func, "locked", key_list, allow_nan=True)

    n = len(units)
    core = _allocate(
        units, key_list, np.zeros(n, dtype=np.int64), np.array([grand]),
        weights=weights, even=even, reference=ref, bounds=bounds, floor=floor_v,
        locked=locked_v, round_to=round_to, func=func,
    )
    return _explained(units.copy(), core, grand, ref)


# ---------------------------------------------------------------------------
# Cascade through levels
# ---------------------------------------------------------------------------
_LEVEL_OPTIONS = {"basis", "reference", "growth_bounds", "floor", "round_to", "even", "spread"}


def cascade(
    total: float,
    units: pd.DataFrame,
    levels: Sequence[str],
    *,
    basis: str | Mapping[str, float] | None = None,
    reference: str | None = None,
    growth_bounds: tuple[float, float] | None = None,
    floor: float | None = None,
    round_to: float | None = None,
    stretch: float = 1.0,
    even: bool = False,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    locks: Mapping[str, Mapping[Any, float]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Decompose a total top-down through several levels of one hierarchy.

    ``units`` is one table at the lowest grain (e.g. one row per customer)
    holding a column per level (``region_id, province_id, rep_id,
    customer_id``) and the numeric basis / reference columns; rows sharing the
    same lowest-level path are summed into one node. At each level the
    numeric columns are summed to that level, and each parent's (already
    rounded) target is shared among its children with that level's options, so
    every parent equals the sum of its children exactly.

    Parameters
    ----------
    levels : list of str
        Level columns, top down. A node is identified by its path (all level
        columns down to it), so a rep who serves two provinces is two nodes.
    basis, reference, growth_bounds, floor, round_to, even
        Defaults for every level (see :func:`decompose`).
    options : dict, optional
        Per-level overrides, ``{"rep_id": {"basis": "potential", "growth_bounds": None}}``.
        Keys: basis, reference, growth_bounds, floor, round_to, even. Each
        level's ``round_to`` must divide its parent level's. When rounding put
        a parent at most one of its rounding steps past what its children's
        bounds allow, those children's bounds are stretched by that much.
    locks : dict, optional
        Fixed targets by level: ``{"region_id": {"E": 3_000_000}}`` (an override of a
        region's total, a locked customer). A locked node keeps its value (a multiple of
        its level's ``round_to``) and is taken out of the sharing; its siblings share
        the rest of the parent. Unknown nodes are an input error.

    Returns
    -------
    dict of DataFrame
        One tidy table per level, keyed by the level name, in order: the level
        columns down to it, the summed numeric columns, ``parent_target`` and the
        explanation columns of :func:`decompose`.

    Examples
    --------
    >>> u = pd.DataFrame({"region": ["E", "E", "S"], "rep": ["a", "b", "c"], "ly": [1.0, 3.0, 4.0]})
    >>> out = cascade(800, u, ["region", "rep"], basis="ly", round_to=1)
    >>> out["rep"]["target"].tolist()
    [100.0, 300.0, 400.0]
    """
    func = "cascade"
    levels = list(levels)
    if not levels:
        raise param_error("levels", func, "a non-empty list of level columns, top down", levels)
    missing = [lv for lv in levels if lv not in units.columns]
    if missing:
        raise InputError(f"{func}: the units table has no level column {short_list(missing)} (columns: {short_list(list(units.columns))}).")
    if units[levels].isna().any().any():
        bad = [lv for lv in levels if units[lv].isna().any()]
        raise InputError(f"{func}: level columns {short_list(bad)} have missing values; every unit needs its place in each level.")
    options = dict(options or {})
    unknown_levels = [k for k in options if k not in levels]
    if unknown_levels:
        raise param_error("options", func, f"keyed by levels {levels}", list(options))
    per_level = []
    for lv in levels:
        opt = {"basis": basis, "reference": reference, "growth_bounds": growth_bounds, "floor": floor, "round_to": round_to, "even": even,
               "spread": None}
        extra = dict(options.get(lv, {}))
        bad = set(extra) - _LEVEL_OPTIONS
        if bad:
            raise param_error("options", func, f"per-level dicts with keys among {sorted(_LEVEL_OPTIONS)}", sorted(bad))
        opt.update(extra)
        # Equal chance (a ``spread``: each unit's baseline mean and sd) needs no basis.
        opt["weights"] = {} if opt["spread"] is not None else _normalise_basis(opt["basis"], opt["even"], func)
        opt["bounds"] = _check_bounds(opt["growth_bounds"], func)
        _check_round_to(opt["round_to"], func)
        per_level.append(opt)
    for up, down, lv in zip(per_level, per_level[1:], levels[1:]):
        if down["round_to"] is not None and up["round_to"] is not None and not _is_multiple(up["round_to"], down["round_to"]):
            raise ParamsError(
                f"The 'round_to' of level '{lv}' ({down['round_to']:g}) must divide the parent level's ({up['round_to']:g}), "
                "so that parents stay equal to the sum of their children."
            )
    if per_level[-1]["round_to"] is None and any(o["round_to"] is not None for o in per_level):
        raise ParamsError(f"The 'round_to' of the lowest level '{levels[-1]}' must be set when upper levels round.")
    grand = _prepare_total(total, stretch, per_level[0]["round_to"], func)
    locks = {k: dict(v) for k, v in (locks or {}).items() if v}
    bad_lock_levels = [k for k in locks if k not in levels]
    if bad_lock_levels:
        raise param_error("locks", func, f"keyed by levels {levels}", bad_lock_levels)
    for lv, fixed in locks.items():
        known = set(units[lv].astype(str))
        unknown = sorted(str(k) for k in fixed if str(k) not in known)
        if unknown:
            raise InputError(f"{func}: locked targets for {short_list(unknown)}, which are not units of level '{lv}' "
                             f"(it has {short_list(sorted(known))}).")

    numeric = [c for c in units.columns if c not in levels and pd.api.types.is_numeric_dtype(units[c])]
    result: dict[str, pd.DataFrame] = {}
    parent_targets: pd.Series | None = None
    for depth, (lv, opt) in enumerate(zip(levels, per_level)):
        path = levels[: depth + 1]
        table = units.groupby(path, sort=True, observed=True)[numeric].sum().reset_index()
        if depth == 0:
            group = np.zeros(len(table), dtype=np.int64)
            totals = np.array([grand])
            names = ["the company total"]
            keys: list[dict[str, str]] = [{}]
        else:
            parent_path = levels[:depth]
            parent_idx = pd.MultiIndex.from_frame(table[parent_path])
            pt = parent_targets.reindex(parent_idx).to_numpy()
            codes, uniq = pd.factorize(parent_idx, sort=False)
            group = codes.astype(np.int64)
            totals = pd.Series(pt).groupby(codes).first().to_numpy()
            names = ["/".join(str(x) for x in (u if isinstance(u, tuple) else (u,))) for u in uniq]
            keys = [dict(zip(parent_path, (str(x) for x in (u if isinstance(u, tuple) else (u,))))) for u in uniq]
        ref = _numeric_column(table, opt["reference"], func, "reference", path) if opt["reference"] is not None else None
        if opt["bounds"] is not None and ref is None:
            raise param_error("reference", func, f"a column name when level '{lv}' has growth_bounds", None)
        flo = _column_or_scalar(table, opt["floor"], func, "floor", path, allow_nan=False)
        rnd = opt["round_to"]
        if rnd is not None and not _is_multiple(totals, rnd).all():
            raise ParamsError(f"{func}: the parent totals of level '{lv}' are not multiples of its round_to={rnd:g}.")
        locked_v = None
        if lv in locks:
            fixed = {str(k): float(v) for k, v in locks[lv].items()}
            locked_v = table[lv].astype(str).map(fixed).to_numpy(dtype=float)
        spread = None
        if opt["spread"] is not None:
            sp = opt["spread"]
            ids = table[lv].astype(str)
            mean = ids.map(sp["mean"].rename(index=str)).to_numpy(dtype=float)
            sd = ids.map(sp["sd"].rename(index=str)).to_numpy(dtype=float)
            if np.isnan(mean).any() or np.isnan(sd).any():
                bad = ids[np.isnan(mean) | np.isnan(sd)].tolist()
                raise InputError(f"{func}: level '{lv}' is shared by equal chance, but {short_list(bad)} have no "
                                 "baseline mean and spread.")
            spread = (mean, np.maximum(sd, 0.0))
        core = _allocate(
            table, path, group, totals, weights=opt["weights"], even=opt["even"], reference=ref,
            bounds=opt["bounds"], floor=flo, locked=locked_v, round_to=rnd, func=f"{func} (level '{lv}')", group_names=names,
            slack=float(per_level[depth - 1]["round_to"] or 0.0) if depth > 0 else 0.0, spread=spread,
            level=lv, group_keys=keys,
        )
        out = table.copy()
        out["parent_target"] = totals[group]
        result[lv] = _explained(out, core, grand, ref)
        parent_targets = pd.Series(core.target, index=pd.MultiIndex.from_frame(table[path]))
    return result



def _explained(out: pd.DataFrame, core, grand: float, ref) -> pd.DataFrame:
    """Add the target and the columns that explain it (shares, bounds, rounding, growth)."""
    for col, share in core.shares.items():
        out[f"share_{col}"] = share
    out["blended_share"] = core.blended
    out["target_before_bounds"] = core.before
    out["bound_applied"] = core.bound
    # The ledger: target = target_before_bounds + bound_adjustment + redistribution + rounding_adjustment.
    moved = core.exact - core.before
    bounded = np.asarray(core.bound, dtype=object) != "none"
    out["bound_adjustment"] = np.where(bounded, moved, 0.0)
    out["redistribution"] = np.where(bounded, 0.0, moved)
    out["rounding_adjustment"] = core.rounding
    if core.chance is not None:
        # Equal chance: target_before_bounds is baseline + z x spread with the parent's one z.
        out["allocation"] = "equal_chance"
        out["chance"] = core.chance
    out["target"] = core.target
    out["share"] = core.target / grand if grand > 0 else 0.0
    if ref is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            out["growth"] = np.where(ref > 0, core.target / np.where(ref > 0, ref, 1.0) - 1.0, np.nan)
    out.attrs["total"] = grand
    return out
