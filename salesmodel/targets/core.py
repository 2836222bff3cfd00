"""Targets: exact, explainable decomposition down the organisation and the calendar.

The verbs (all pure: DataFrames and plain values in, DataFrames or small result
objects out):

- :func:`decompose` shares a total among units by a basis (or a blend of bases),
  within growth bounds, floors and locked values, with exact rounding.
- :func:`cascade` repeats that top-down through several levels
  (region -> province -> rep -> customer), every parent equal to the sum of its
  children.
- :func:`split_over_time` phases each unit's target over a period table
  (quarters, months, dekads, weeks, days), exact per unit and per period.
- :func:`rake` fits a table to several margins at once (iterative proportional
  fitting).
- :func:`reconcile` sets reps' own commitments beside the top-down targets.
- :func:`achievability` gives the chance of meeting each target from the
  baseline forecast and its intervals.
- :func:`pacing`, :func:`period_report`, :func:`achievement_rate` and
  :func:`declining_customers` track actuals against the phased plan.

How a share becomes a number
----------------------------
1. Each basis column is normalised to shares within its parent (``share_<col>``),
   the shares are blended by the weights (``blended_share``), and the total to
   share is ``total x stretch`` less the locked targets.
2. ``target_before_bounds = blended_share x free total``.
3. Bounds: every unit gets a lower bound ``max(reference x (1 + lo), floor, 0)``
   and an upper bound ``reference x (1 + hi)`` (never below the lower one: a floor
   wins over a growth cap). The solution is the *proportional one subject to the
   bounds*: ``target_i = clip(lambda x before_i, lower_i, upper_i)`` with the one
   ``lambda`` that makes the parts add up to the total (water-filling). What a cap
   cuts therefore goes to the uncapped units in proportion to their basis, and a
   unit is never moved past a bound it does not touch. ``lambda`` is found exactly
   from the breakpoints of the piecewise-linear sum (no iteration). A request
   outside ``[sum of lower bounds, sum of upper bounds]`` raises
   :class:`~salesmodel.errors.InfeasibleError` with that range. Units whose
   reference is zero or missing (new customers) are not growth-bounded; a unit
   whose basis is zero stays on its lower bound (its upper bound counts as its
   lower one in the feasible range).
4. Rounding to ``round_to`` by largest remainder: every unit gets the multiple
   just below its exact target, and the units with the largest fractional parts
   get one more step until the parts add up (ties: larger fractional part first,
   then the order of the units). The total itself must be a multiple of
   ``round_to``; when it is not, it is rounded to the nearest multiple first, a
   warning says so, and ``df.attrs["total"]`` holds the total actually shared.
   After rounding a unit may sit up to one rounding step outside a bound.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from salesmodel.errors import InfeasibleError, InputError, ParamsError, short_list

__all__ = [
    "RakeResult",
    "achievability",
    "achievement_rate",
    "cascade",
    "declining_customers",
    "decompose",
    "largest_remainder",
    "pacing",
    "period_report",
    "rake",
    "reconcile",
    "split_over_time",
    "weekday_weights",
]

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
def _param_error(name: str, func: str, expected: str, got: Any) -> ParamsError:
    return ParamsError(f"The '{name}' parameter of {func} must be {expected}. Got {got!r} instead.")


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
        raise _param_error("round_to", func, "a positive number or None", round_to)


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
        raise ParamsError(
            f"The 'total' parameter of largest_remainder must be a multiple of round_to={round_to:g}. Got {total!r} instead."
        )
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


# ---------------------------------------------------------------------------
# The shared core of decompose and cascade
# ---------------------------------------------------------------------------
def _normalise_basis(basis: str | Mapping[str, float] | None, even: bool, func: str) -> dict[str, float]:
    if basis is None:
        if not even:
            raise _param_error("basis", func, "a column name or a blend {column: weight} (or even=True for an even split)", None)
        return {}
    if isinstance(basis, str):
        return {basis: 1.0}
    if isinstance(basis, Mapping):
        if not basis:
            raise _param_error("basis", func, "a non-empty blend {column: weight}", dict(basis))
        weights = {str(k): float(v) for k, v in basis.items()}
        if any((not np.isfinite(w)) or w < 0 for w in weights.values()):
            raise _param_error("basis", func, "a blend whose weights are all >= 0", dict(basis))
        total = sum(weights.values())
        if abs(total - 1.0) > 1e-9:
            raise _param_error("basis", func, f"a blend whose weights sum to 1 (they sum to {total:.6g})", dict(basis))
        return weights
    raise _param_error("basis", func, "a column name or a blend {column: weight}", basis)


def _check_bounds(growth_bounds: Any, func: str) -> tuple[float, float] | None:
    if growth_bounds is None:
        return None
    try:
        lo, hi = (float(x) for x in growth_bounds)
    except (TypeError, ValueError):
        raise _param_error("growth_bounds", func, "a pair (lowest, highest) growth such as (-0.1, 0.4)", growth_bounds) from None
    if not (lo > -1 and hi >= lo) or math.isnan(lo) or math.isnan(hi):
        raise _param_error("growth_bounds", func, "a pair (lo, hi) with -1 < lo <= hi", growth_bounds)
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
) -> _Core:
    """Share each group's total among its rows (the engine of decompose and cascade)."""
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
            feasible=(float(locked_sum[bad[0]]), math.inf),
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
    # A unit with no basis gets no share: it sits on its lower bound.
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
                feasible=(float(lo_total), float(hi_total)),
            )
        raise InfeasibleError(
            f"{func}: the total {group_totals[i]:,.2f}{where} cannot be met within the growth bounds "
            f"{bounds if bounds is not None else ''} and floors: the feasible range of totals is "
            f"[{lo_total:,.2f}, {hi_total:,.2f}] (the sum of the units' lowest targets, reference x (1 + lo) or the floor, "
            f"to the sum of their highest, reference x (1 + hi); a unit with a zero basis stays at its lowest).",
            feasible=(float(lo_total), float(hi_total)),
        )

    exact = _fill(before, lo, hi, group, free_total)
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
    return _Core(shares, blended, before, target, bound, target - exact, exact)


def _prepare_total(total: float, stretch: float, round_to: float | None, func: str) -> float:
    if isinstance(total, bool) or not isinstance(total, (int, float, np.integer, np.floating)) or not np.isfinite(total) or total < 0:
        raise _param_error("total", func, "a finite number >= 0", total)
    if isinstance(stretch, bool) or not isinstance(stretch, (int, float, np.integer, np.floating)) or not np.isfinite(stretch) or stretch <= 0:
        raise _param_error("stretch", func, "a positive number (1.25 = parts add up to 125% of the total)", stretch)
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
            raise _param_error(role, func, "a number >= 0 or a column name", spec)
        return np.full(len(units), float(spec))
    raise _param_error(role, func, "a number >= 0 or a column name", spec)


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
        raise _param_error("units", func, "a DataFrame with one row per unit", type(units).__name__)
    if len(units) == 0:
        raise InputError(f"{func}: the units table is empty; there is nobody to share the total among.")
    key_list = _as_list(keys)
    _check_keys(units, key_list, func)
    weights = _normalise_basis(basis, even, func)
    bounds = _check_bounds(growth_bounds, func)
    if bounds is not None and reference is None:
        raise _param_error("reference", func, "a column name when growth_bounds are given", None)
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
_LEVEL_OPTIONS = {"basis", "reference", "growth_bounds", "floor", "round_to", "even"}


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
        raise _param_error("levels", func, "a non-empty list of level columns, top down", levels)
    missing = [lv for lv in levels if lv not in units.columns]
    if missing:
        raise InputError(f"{func}: the units table has no level column {short_list(missing)} (columns: {short_list(list(units.columns))}).")
    if units[levels].isna().any().any():
        bad = [lv for lv in levels if units[lv].isna().any()]
        raise InputError(f"{func}: level columns {short_list(bad)} have missing values; every unit needs its place in each level.")
    options = dict(options or {})
    unknown_levels = [k for k in options if k not in levels]
    if unknown_levels:
        raise _param_error("options", func, f"keyed by levels {levels}", list(options))
    per_level = []
    for lv in levels:
        opt = {"basis": basis, "reference": reference, "growth_bounds": growth_bounds, "floor": floor, "round_to": round_to, "even": even}
        extra = dict(options.get(lv, {}))
        bad = set(extra) - _LEVEL_OPTIONS
        if bad:
            raise _param_error("options", func, f"per-level dicts with keys among {sorted(_LEVEL_OPTIONS)}", sorted(bad))
        opt.update(extra)
        opt["weights"] = _normalise_basis(opt["basis"], opt["even"], func)
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
        else:
            parent_path = levels[:depth]
            parent_idx = pd.MultiIndex.from_frame(table[parent_path])
            pt = parent_targets.reindex(parent_idx).to_numpy()
            codes, uniq = pd.factorize(parent_idx, sort=False)
            group = codes.astype(np.int64)
            totals = pd.Series(pt).groupby(codes).first().to_numpy()
            names = ["/".join(str(x) for x in (u if isinstance(u, tuple) else (u,))) for u in uniq]
        ref = _numeric_column(table, opt["reference"], func, "reference", path) if opt["reference"] is not None else None
        if opt["bounds"] is not None and ref is None:
            raise _param_error("reference", func, f"a column name when level '{lv}' has growth_bounds", None)
        flo = _column_or_scalar(table, opt["floor"], func, "floor", path, allow_nan=False)
        rnd = opt["round_to"]
        if rnd is not None and not _is_multiple(totals, rnd).all():
            raise ParamsError(f"{func}: the parent totals of level '{lv}' are not multiples of its round_to={rnd:g}.")
        core = _allocate(
            table, path, group, totals, weights=opt["weights"], even=opt["even"], reference=ref,
            bounds=opt["bounds"], floor=flo, locked=None, round_to=rnd, func=f"{func} (level '{lv}')", group_names=names,
            slack=float(per_level[depth - 1]["round_to"] or 0.0) if depth > 0 else 0.0,
        )
        out = table.copy()
        out["parent_target"] = totals[group]
        result[lv] = _explained(out, core, grand, ref)
        parent_targets = pd.Series(core.target, index=pd.MultiIndex.from_frame(table[path]))
    return result


# ---------------------------------------------------------------------------
# Phasing over time
# ---------------------------------------------------------------------------
_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _check_periods(periods: pd.DataFrame, func: str) -> pd.DataFrame:
    need = ["period", "start", "end"]
    if not isinstance(periods, pd.DataFrame) or any(c not in periods.columns for c in need):
        cols = list(periods.columns) if isinstance(periods, pd.DataFrame) else type(periods).__name__
        raise InputError(f"{func}: the periods table needs columns period, start, end (a calendar period table); got {cols}.")
    if periods["period"].duplicated().any():
        dup = periods.loc[periods["period"].duplicated(), "period"].tolist()
        raise InputError(f"{func}: the periods table has duplicate periods {short_list(dup)}.")
    p = periods.copy()
    p["start"] = pd.to_datetime(p["start"])
    p["end"] = pd.to_datetime(p["end"])
    if (p["end"] < p["start"]).any():
        raise InputError(f"{func}: periods {short_list(p.loc[p['end'] < p['start'], 'period'].tolist())} end before they start.")
    return p


def weekday_weights(periods: pd.DataFrame, profile: Sequence[float] | Mapping[str, float] | pd.Series,
                    *, working_days: pd.Series | None = None) -> pd.Series:
    """Weight of each period from a Monday-to-Sunday profile (DOMAIN example E).

    Each day weighs its weekday's value of ``profile`` (e.g. last weeks'
    takings per weekday); a period weighs the sum over its days. With
    ``working_days`` (a boolean Series indexed by date, e.g. from the
    calendar), days off weigh nothing.

    Examples
    --------
    >>> days = pd.DataFrame({"period": ["d1", "d2"], "start": pd.to_datetime(["2026-01-05", "2026-01-10"]),
    ...                      "end": pd.to_datetime(["2026-01-05", "2026-01-10"])})
    >>> weekday_weights(days, [1, 1, 1, 1, 1, 2, 2]).tolist()
    [1.0, 2.0]
    """
    func = "weekday_weights"
    p = _check_periods(periods, func)
    if isinstance(profile, Mapping) and not isinstance(profile, pd.Series):
        prof = [float(profile[d]) if d in profile else float("nan") for d in _WEEKDAYS]
    else:
        prof = [float(x) for x in np.asarray(profile, dtype=float).ravel()]
    if len(prof) != 7 or any((not np.isfinite(x)) or x < 0 for x in prof):
        raise _param_error("profile", func, "seven numbers >= 0, Monday to Sunday (or a dict mon..sun)", profile)
    prof_arr = np.asarray(prof)
    first, last = p["start"].min(), p["end"].max()
    days = pd.date_range(first, last, freq="D")
    w = prof_arr[days.dayofweek]
    if working_days is not None:
        wd = working_days.reindex(days).fillna(False).astype(bool).to_numpy()
        w = np.where(wd, w, 0.0)
    cum = np.concatenate(([0.0], np.cumsum(w)))
    s = ((p["start"] - first).dt.days).to_numpy()
    e = ((p["end"] - first).dt.days).to_numpy() + 1
    return pd.Series(cum[e] - cum[s], index=p["period"].to_numpy(), name="weight")


def _period_weight_vector(periods: pd.DataFrame, spec: Any, func: str) -> np.ndarray:
    """A weight per period from a spec (name, or Series/dict by period)."""
    if isinstance(spec, str):
        if spec == "even":
            return np.ones(len(periods))
        if spec in ("days", "working_days"):
            if spec == "days" and "days" not in periods.columns:
                return ((periods["end"] - periods["start"]).dt.days + 1).to_numpy(dtype=float)
            if spec not in periods.columns:
                raise InputError(f"{func}: weights='{spec}' needs a '{spec}' column in the periods table (a calendar period table has it).")
            return periods[spec].to_numpy(dtype=float)
        raise _param_error("weights", func, "'even', 'days', 'working_days', a Series by period, a per-unit table, or a list of these", spec)
    if isinstance(spec, Mapping):
        spec = pd.Series(spec, dtype=float)
    if isinstance(spec, pd.Series):
        missing = [p for p in periods["period"] if p not in spec.index]
        if missing:
            raise InputError(f"{func}: the weights have no value for periods {short_list(missing)}.")
        return spec.reindex(periods["period"].to_numpy()).to_numpy(dtype=float)
    raise _param_error("weights", func, "'even', 'days', 'working_days', a Series by period, a per-unit table, or a list of these", type(spec).__name__)


def split_over_time(
    targets: pd.DataFrame,
    periods: pd.DataFrame,
    weights: Any = "working_days",
    *,
    keys: str | Sequence[str] | None = None,
    value: str = "target",
    round_to: float | None = None,
    period_totals: pd.Series | Mapping[Any, float] | None = None,
    fallback: Any = None,
    wide: bool = False,
) -> pd.DataFrame:
    """Phase each unit's target over a period table, exactly.

    Parameters
    ----------
    targets : DataFrame
        One row per unit: key columns and the ``value`` column.
    periods : DataFrame
        A calendar period table (``period, start, end``; ``days`` and
        ``working_days`` when those weights are used).
    weights : str, Series, DataFrame or list
        ``"even"``, ``"days"``, ``"working_days"``; a Series (or dict) of
        weights by period, e.g. seasonal indices or :func:`weekday_weights`;
        a long DataFrame ``keys + period + weight`` of per-unit weights (e.g.
        each customer's own same-period shares last year); or a list of these,
        multiplied (``["working_days", seasonal_index]``).
    round_to : float, optional
        Rounding step; every unit's target must be a multiple of it.
    period_totals : Series, optional
        Totals per period that must hold as well. The phased table is then
        raked to both margins and rounded with a maximum-flow controlled
        rounding, so both the unit and the period margins are exact.
    fallback : spec, optional
        Weights for units whose own (per-unit) weights are all zero;
        otherwise such units raise an error.
    wide : bool, default False
        Return a units x periods table instead of the long one.

    Returns
    -------
    DataFrame
        Long: key columns, ``period``, ``start``, ``end``, ``target``, one row
        per unit and period (units in their order, periods in theirs). The key
        and ``period`` columns are categoricals, cheap at millions of rows: group
        them with ``observed=True``. Each unit's rows add up to its target exactly
        (largest remainder per unit); the period totals are the column sums of
        that exact table (or equal ``period_totals`` when given).

    Examples
    --------
    >>> t = pd.DataFrame({"unit": ["a"], "target": [1_000_000.0]})
    >>> q = pd.DataFrame({"period": ["Q1", "Q2", "Q3", "Q4"],
    ...                   "start": pd.to_datetime(["2026-01-01", "2026-04-01", "2026-07-01", "2026-10-01"]),
    ...                   "end": pd.to_datetime(["2026-03-31", "2026-06-30", "2026-09-30", "2026-12-31"])})
    >>> split_over_time(t, q, {"Q1": 25, "Q2": 30, "Q3": 30, "Q4": 15}, keys="unit")["target"].tolist()
    [250000.0, 300000.0, 300000.0, 150000.0]
    """
    func = "split_over_time"
    key_list = _as_list(keys)
    _check_keys(targets, key_list, func, table="targets")
    p = _check_periods(periods, func)
    _check_round_to(round_to, func)
    tv = _numeric_column(targets, value, func, "target", key_list)
    n, m = len(targets), len(p)
    specs = weights if isinstance(weights, list) else [weights]
    vec = np.ones(m)
    unit_mat = None
    for spec in specs:
        if isinstance(spec, pd.DataFrame):
            um = _unit_weight_matrix(targets, key_list, p, spec, func)
            unit_mat = um if unit_mat is None else unit_mat * um
        else:
            v = _period_weight_vector(p, spec, func)
            if not np.isfinite(v).all() or (v < 0).any():
                raise InputError(f"{func}: period weights must be finite and >= 0; got {short_list(v.tolist())}.")
            vec = vec * v
    per_unit_used = unit_mat is not None
    # Same weights for every unit: one outer product, no n x m weight matrix.
    mat = unit_mat * vec[None, :] if per_unit_used else np.broadcast_to(vec, (n, m))
    row_sum = mat.sum(axis=1) if per_unit_used else np.full(n, vec.sum())
    zero_rows = row_sum <= 0
    if zero_rows.any():
        if fallback is not None:
            fb = _period_weight_vector(p, fallback, func)
            if fb.sum() <= 0:
                raise InputError(f"{func}: the fallback weights are all zero.")
            mat = np.array(mat)
            mat[zero_rows] = fb[None, :]
            row_sum = mat.sum(axis=1)
        elif per_unit_used or np.all(zero_rows):
            raise InputError(
                f"{func}: the weights are zero in every period for units {short_list(_unit_labels(targets, key_list, zero_rows))}; "
                "give them weights, or pass fallback='working_days' (or 'even')."
            )
        else:
            raise InputError(f"{func}: the weights are zero in every period.")
    exact = mat * (tv / row_sum)[:, None] if per_unit_used or zero_rows.any() else np.outer(tv / row_sum, vec)

    if period_totals is not None:
        pt = pd.Series(period_totals, dtype=float) if not isinstance(period_totals, pd.Series) else period_totals.astype(float)
        missing = [x for x in p["period"] if x not in pt.index]
        if missing:
            raise InputError(f"{func}: period_totals has no value for periods {short_list(missing)}.")
        col_t = pt.reindex(p["period"].to_numpy()).to_numpy()
        if abs(col_t.sum() - tv.sum()) > 1e-6 * max(1.0, abs(tv.sum())):
            raise InputError(
                f"{func}: period_totals add up to {col_t.sum():,.2f} but the unit targets add up to {tv.sum():,.2f}; "
                "both margins must have the same total."
            )
        fit = _ipf(exact, [((0,), tv), ((1,), col_t)], tol=1e-12, max_iter=5000)
        exact = fit.array
        if round_to is not None:
            exact = _controlled_round_2d(exact, tv, col_t, round_to, func)
        result = exact
    elif round_to is not None:
        if not _is_multiple(tv, round_to).all():
            bad = ~_is_multiple(tv, round_to)
            raise InputError(
                f"{func}: targets must be multiples of round_to={round_to:g} to be phased exactly; these are not: "
                f"{short_list(_unit_labels(targets, key_list, bad))}."
            )
        result = _round_rows(exact, _to_quanta(tv, round_to), round_to)
    else:
        result = exact

    if wide:
        cols = pd.Index(p["period"].to_numpy(), name="period")
        out = pd.DataFrame(result, columns=cols)
        if key_list:
            out.index = pd.MultiIndex.from_frame(targets[key_list]) if len(key_list) > 1 else pd.Index(targets[key_list[0]].to_numpy(), name=key_list[0])
        else:
            out.index = targets.index
        return out
    # Keys and periods as categoricals built from codes: no n x m copies of strings.
    data: dict[str, Any] = {}
    unit_codes = np.repeat(np.arange(n, dtype=np.int32), m)
    for k in key_list or [None]:
        col = targets[k] if k is not None else pd.Series(targets.index)
        cat, uniq = pd.factorize(col, sort=False)
        data[k or "unit"] = pd.Categorical.from_codes(cat[unit_codes], categories=uniq) if len(uniq) == n else np.repeat(col.to_numpy(), m)
    period_codes = np.tile(np.arange(m, dtype=np.int32), n)
    data["period"] = pd.Categorical.from_codes(period_codes, categories=pd.Index(p["period"].to_numpy()))
    data["start"] = p["start"].to_numpy()[period_codes]
    data["end"] = p["end"].to_numpy()[period_codes]
    data["target"] = result.ravel()
    return pd.DataFrame(data, copy=False)


def _round_rows(exact: np.ndarray, totals_q: np.ndarray, unit: float) -> np.ndarray:
    """Largest remainder per row of a matrix (ties: larger fraction, then the earlier period).

    Works in place on one scratch copy: at 200,000 x 36 every temporary costs.
    """
    _n, m = exact.shape
    q = exact / unit
    q += 1e-9  # so 2.9999999997 counts as 3
    base = np.floor(q)
    q -= base  # q now holds the fractional parts (+1e-9, same order)
    short = totals_q - np.rint(base.sum(axis=1)).astype(np.int64)
    np.negative(q, out=q)
    order = np.argsort(q, axis=1, kind="stable")
    del q
    up = np.clip(short, 0, m)
    r, c = np.nonzero(np.arange(m)[None, :] < up[:, None])
    base[r, order[r, c]] += 1
    for row in np.flatnonzero(short < 0):  # float noise left a row one step over: rare
        k = int(-short[row])
        base[row, order[row, m - k:]] -= 1
    base *= unit
    return base


def _controlled_round_2d(exact: np.ndarray, row_t: np.ndarray, col_t: np.ndarray, unit: float, func: str) -> np.ndarray:
    """Round a matrix to multiples of ``unit`` keeping every row and column total.

    Each cell goes to the multiple just below or just above its exact value;
    which cells go up is a maximum flow (source -> row -> column -> sink) with
    the rows' and columns' missing steps as capacities, which always has a
    full solution when the margins are consistent multiples.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    if not (_is_multiple(row_t, unit).all() and _is_multiple(col_t, unit).all()):
        raise InputError(f"{func}: unit targets and period totals must be multiples of round_to={unit:g} to round exactly.")
    n, m = exact.shape
    q = exact / unit
    base = np.floor(q + 1e-9)
    frac = q - base
    row_need = _to_quanta(row_t, unit) - np.rint(base.sum(axis=1)).astype(np.int64)
    col_need = _to_quanta(col_t, unit) - np.rint(base.sum(axis=0)).astype(np.int64)
    cand_r, cand_c = np.nonzero(frac > 1e-9)
    src, sink = n + m, n + m + 1
    heads = np.concatenate((np.full(n, src), cand_r, n + np.arange(m)))
    tails = np.concatenate((np.arange(n), n + cand_c, np.full(m, sink)))
    caps = np.concatenate((np.maximum(row_need, 0), np.ones(cand_r.size, dtype=np.int64), np.maximum(col_need, 0)))
    graph = csr_matrix((caps.astype(np.int32), (heads, tails)), shape=(n + m + 2, n + m + 2))
    flow = maximum_flow(graph, src, sink)
    if flow.flow_value != int(np.maximum(row_need, 0).sum()):
        raise InfeasibleError(f"{func}: could not round the phased table to both margins exactly.")
    f = flow.flow.tocoo()
    up = (f.data > 0) & (f.row < n) & (f.col >= n) & (f.col < n + m)
    out = base.copy()
    out[f.row[up], f.col[up] - n] += 1
    return out * unit


def _unit_weight_matrix(targets: pd.DataFrame, keys: list[str], periods: pd.DataFrame, spec: pd.DataFrame, func: str) -> np.ndarray:
    if not keys:
        raise _param_error("keys", func, "given when weights is a per-unit table", None)
    need = keys + ["period", "weight"]
    missing = [c for c in need if c not in spec.columns]
    if missing:
        raise InputError(f"{func}: the per-unit weights table needs columns {need}; missing {short_list(missing)}.")
    w = pd.to_numeric(spec["weight"], errors="coerce")
    if w.isna().any() or (w < 0).any():
        raise InputError(f"{func}: the per-unit weights must be numbers >= 0 (found missing or negative ones).")
    unit_idx = pd.MultiIndex.from_frame(targets[keys])
    r = unit_idx.get_indexer(pd.MultiIndex.from_frame(spec[keys]))
    c = pd.Index(periods["period"]).get_indexer(spec["period"])
    keep = (r >= 0) & (c >= 0)
    mat = np.zeros((len(targets), len(periods)))
    np.add.at(mat, (r[keep], c[keep]), w.to_numpy()[keep])
    return mat


# ---------------------------------------------------------------------------
# Raking (iterative proportional fitting)
# ---------------------------------------------------------------------------
@dataclass
class RakeResult:
    """The raked table and how the fit went.

    ``table`` has the caller's shape (array, or the long DataFrame with the
    value column replaced); ``iterations`` is the number of full sweeps over
    the margins; ``max_residual`` the largest absolute difference between a
    fitted and a given margin cell; ``converged`` whether it is within
    ``tol x grand total``.
    """

    table: Any
    iterations: int
    max_residual: float
    converged: bool
    margins: dict[Any, Any] = field(default_factory=dict)


@dataclass
class _Fit:
    array: np.ndarray
    iterations: int
    max_residual: float
    converged: bool


def _ipf(arr: np.ndarray, margins: list[tuple[tuple[int, ...], np.ndarray]], tol: float, max_iter: int) -> _Fit:
    x = arr.astype(float).copy()
    nd = x.ndim
    grand = max(abs(float(margins[0][1].sum())), 1e-300)
    resid = math.inf
    it = 0
    for it in range(1, max_iter + 1):
        for axes, target in margins:
            other = tuple(a for a in range(nd) if a not in axes)
            current = x.sum(axis=other, keepdims=True)
            tshape = current.shape
            t = target.reshape(tshape)
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = np.where(current > 0, t / np.where(current > 0, current, 1.0), 0.0)
            x *= factor
        resid = max(float(np.max(np.abs(x.sum(axis=tuple(a for a in range(nd) if a not in axes)) - target.reshape(
            [x.shape[a] for a in axes])))) for axes, target in margins)
        if resid <= tol * grand:
            return _Fit(x, it, resid, True)
    return _Fit(x, it, resid, False)


def rake(
    seed: pd.DataFrame | np.ndarray,
    margins: Mapping[Any, Any],
    tol: float = 1e-9,
    max_iter: int = 1000,
    *,
    value: str = "value",
    round_to: float | None = None,
) -> RakeResult:
    """Fit a table to several margins at once (iterative proportional fitting).

    Parameters
    ----------
    seed : DataFrame or ndarray
        The starting table: an N-dimensional array, or a long DataFrame with
        one column per dimension and a ``value`` column (missing combinations
        count as 0).
    margins : dict
        Dimension(s) -> totals. For a DataFrame seed: a column name, or a tuple
        of column names, mapped to a Series indexed by the dimension's values
        (a MultiIndex for tuples). For an array: an axis int or tuple of axes,
        mapped to an array of the margin's shape.
    tol : float
        Converged when every margin cell is within ``tol x grand total``.
    round_to : float, optional
        Round the fitted table to multiples of ``round_to`` keeping the grand
        total and every cell of the *first* margin exact (largest remainder
        within each first-margin cell); the other margins then hold to within a
        few rounding steps (true controlled rounding of N dimensions is not
        attempted).

    Returns
    -------
    RakeResult
        ``table``, ``iterations``, ``max_residual``, ``converged``.

    Examples
    --------
    >>> seed = np.ones((2, 2))
    >>> res = rake(seed, {0: np.array([3.0, 7.0]), 1: np.array([4.0, 6.0])})
    >>> np.round(res.table, 6).tolist()
    [[1.2, 1.8], [2.8, 4.2]]
    """
    func = "rake"
    if not (isinstance(tol, (int, float)) and tol > 0):
        raise _param_error("tol", func, "a positive number", tol)
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise _param_error("max_iter", func, "an integer >= 1", max_iter)
    _check_round_to(round_to, func)
    if not margins:
        raise _param_error("margins", func, "a non-empty dict of dimension(s) -> totals", margins)
    frame_mode = isinstance(seed, pd.DataFrame)
    if frame_mode:
        dims: list[str] = []
        for key in margins:
            for d in (key if isinstance(key, tuple) else (key,)):
                if d not in seed.columns:
                    raise InputError(f"{func}: margin dimension '{d}' is not a column of the seed table (columns: {short_list(list(seed.columns))}).")
                if d not in dims:
                    dims.append(d)
        # Every column but the value is a dimension (in the seed's order).
        dims = [c for c in seed.columns if c != value]
        if value not in seed.columns:
            raise InputError(f"{func}: the seed table has no value column '{value}'.")
        vals = pd.to_numeric(seed[value], errors="coerce").to_numpy(dtype=float)
        if np.isnan(vals).any() or (vals < 0).any():
            raise InputError(f"{func}: the seed's '{value}' column must be numbers >= 0 (found missing or negative values).")
        if seed.duplicated(dims).any():
            raise InputError(f"{func}: the seed table has duplicate rows for the same {short_list(dims)}.")
        levels = []
        codes = []
        for d in dims:
            c, u = pd.factorize(seed[d], sort=True)
            levels.append(pd.Index(u, name=d))
            codes.append(c)
        arr = np.zeros([len(lv) for lv in levels])
        arr[tuple(codes)] = vals
        marg_list = []
        for key, target in margins.items():
            names = key if isinstance(key, tuple) else (key,)
            axes = tuple(dims.index(d) for d in names)
            t = target if isinstance(target, pd.Series) else pd.Series(target)
            if len(names) == 1:
                want = levels[axes[0]]
                vals_t = t.reindex(want)
                extra = [i for i in t.index if i not in set(want)]
            else:
                want = pd.MultiIndex.from_product([levels[a] for a in axes])
                vals_t = t.reindex(want)
                extra = [i for i in t.index if i not in set(want)]
            if extra:
                raise InputError(f"{func}: margin {key!r} has values {short_list(extra)} that do not appear in the seed.")
            marg_list.append((key, axes, np.nan_to_num(vals_t.to_numpy(dtype=float)).reshape([arr.shape[a] for a in axes])))
    else:
        arr = np.asarray(seed, dtype=float)
        if np.isnan(arr).any() or (arr < 0).any():
            raise InputError(f"{func}: the seed array must hold numbers >= 0 (found missing or negative values).")
        marg_list = []
        for key, target in margins.items():
            axes = key if isinstance(key, tuple) else (key,)
            if any((not isinstance(a, (int, np.integer))) or a < 0 or a >= arr.ndim for a in axes):
                raise _param_error("margins", func, f"keyed by axes 0..{arr.ndim - 1}", key)
            t = np.asarray(target, dtype=float)
            shape = tuple(arr.shape[a] for a in axes)
            if t.shape != shape:
                raise InputError(f"{func}: margin {key!r} has shape {t.shape}, expected {shape}.")
            marg_list.append((key, tuple(int(a) for a in axes), t))

    for key, _axes, t in marg_list:
        if np.isnan(t).any() or (t < 0).any():
            raise InputError(f"{func}: margin {key!r} has missing or negative totals.")
    totals = {key: float(t.sum()) for key, _a, t in marg_list}
    first_key = marg_list[0][0]
    grand = totals[first_key]
    off = [k for k, v in totals.items() if abs(v - grand) > 1e-9 * max(1.0, abs(grand))]
    if off:
        listing = ", ".join(f"{k!r}: {v:,.2f}" for k, v in totals.items())
        raise InputError(f"{func}: the margins do not add up to the same total ({listing}); margins {short_list([first_key] + off)} disagree.")
    # Margins sharing dimensions must agree on them.
    for i in range(len(marg_list)):
        for j in range(i + 1, len(marg_list)):
            ki, ai, ti = marg_list[i]
            kj, aj, tj = marg_list[j]
            shared = [a for a in ai if a in aj]
            if not shared:
                continue
            si = ti.sum(axis=tuple(n for n, a in enumerate(ai) if a not in shared))
            sj = tj.sum(axis=tuple(n for n, a in enumerate(aj) if a not in shared))
            order_i = [a for a in ai if a in shared]
            order_j = [a for a in aj if a in shared]
            sj = np.transpose(sj, [order_j.index(a) for a in order_i]) if sj.ndim > 1 else sj
            if not np.allclose(si, sj, rtol=1e-9, atol=1e-9 * max(1.0, abs(grand))):
                raise InputError(f"{func}: margins {ki!r} and {kj!r} disagree on their shared dimension(s).")
    # A margin cell > 0 whose seed slice is all zero can never be met.
    for key, axes, t in marg_list:
        other = tuple(a for a in range(arr.ndim) if a not in axes)
        s = arr.sum(axis=other)
        bad = (s <= 0) & (t > 0)
        if bad.any():
            raise InputError(f"{func}: margin {key!r} asks for a positive total where the seed is all zero (cells {short_list(np.argwhere(bad).tolist())}).")

    fit = _ipf(arr, [(a, t) for _k, a, t in marg_list], tol, max_iter)
    if not fit.converged:
        warnings.warn(f"rake: did not converge in {max_iter} sweeps (largest residual {fit.max_residual:.3g}).", stacklevel=2)
    x = fit.array
    if round_to is not None:
        key0, axes0, t0 = marg_list[0]
        if not _is_multiple(t0, round_to).all():
            raise InputError(f"{func}: to round, the first margin {key0!r} must hold multiples of round_to={round_to:g}.")
        perm = list(axes0) + [a for a in range(x.ndim) if a not in axes0]
        xt = np.transpose(x, perm)
        g_shape = xt.shape[: len(axes0)]
        flat = xt.reshape(int(np.prod(g_shape)), -1)
        group = np.repeat(np.arange(flat.shape[0]), flat.shape[1])
        rounded = _round_grouped(flat.ravel(), group, _to_quanta(t0.ravel(), round_to), round_to)
        x = np.transpose(rounded.reshape(xt.shape), np.argsort(perm))
    resid = max(float(np.max(np.abs(x.sum(axis=tuple(b for b in range(x.ndim) if b not in a)) - t))) for _k, a, t in marg_list)
    fitted_margins = {k: x.sum(axis=tuple(b for b in range(x.ndim) if b not in a)) for k, a, t in marg_list}
    if frame_mode:
        out = seed.copy()
        out[value] = x[tuple(codes)]
        # Cells the seed did not list stay zero (IPF keeps zeros), so the long table is complete.
        return RakeResult(out, fit.iterations, resid, fit.converged, fitted_margins)
    return RakeResult(x, fit.iterations, resid, fit.converged, fitted_margins)


# ---------------------------------------------------------------------------
# Reconciling top-down targets with bottom-up commitments
# ---------------------------------------------------------------------------
def reconcile(
    top_down: pd.DataFrame,
    bottom_up: pd.DataFrame,
    *,
    keys: str | Sequence[str],
    weight: float = 0.5,
    target: str = "target",
    commitment: str = "commitment",
    round_to: float | None = None,
) -> pd.DataFrame:
    """Set reps' own commitments beside the top-down targets and blend them.

    ``blend = (1 - weight) x top_down + weight x commitment``; the blend is then
    rescaled so the total still equals the top-down total, and rounded by
    largest remainder so it does exactly. Units without a commitment keep
    their top-down target as their commitment (``has_commitment`` is False).

    Returns one row per unit: ``top_down``, ``commitment``, ``gap``
    (commitment - top_down), ``gap_pct``, ``blend``, ``target`` (the
    reconciled target) and ``has_commitment``.

    Examples
    --------
    >>> td = pd.DataFrame({"rep": ["a", "b"], "target": [600.0, 400.0]})
    >>> bu = pd.DataFrame({"rep": ["a", "b"], "commitment": [500.0, 500.0]})
    >>> reconcile(td, bu, keys="rep", weight=0.5, round_to=1)["target"].tolist()
    [550.0, 450.0]
    """
    func = "reconcile"
    key_list = _as_list(keys)
    if not (isinstance(weight, (int, float)) and 0 <= weight <= 1):
        raise _param_error("weight", func, "a number between 0 (top-down only) and 1 (commitments only)", weight)
    _check_round_to(round_to, func)
    _check_keys(top_down, key_list, func, table="top-down")
    _check_keys(bottom_up, key_list, func, table="bottom-up")
    td = _numeric_column(top_down, target, func, "target", key_list)
    bu_vals = _numeric_column(bottom_up, commitment, func, "commitment", key_list, allow_nan=True)
    extra = bottom_up.merge(top_down[key_list], on=key_list, how="left", indicator=True)
    unknown = extra["_merge"] == "left_only"
    if unknown.any():
        raise InputError(f"{func}: commitments for units that have no top-down target: {short_list(_unit_labels(extra, key_list, unknown.to_numpy()))}.")
    bu = bottom_up[key_list].assign(_c=bu_vals)
    out = top_down[key_list].copy()
    out["top_down"] = td
    out = out.merge(bu, on=key_list, how="left")
    has = out["_c"].notna().to_numpy()
    out["commitment"] = np.where(has, out["_c"], td)
    out = out.drop(columns="_c")
    out["gap"] = out["commitment"] - out["top_down"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["gap_pct"] = np.where(td > 0, out["gap"] / np.where(td > 0, td, 1.0), np.nan)
    blend = (1 - weight) * td + weight * out["commitment"].to_numpy()
    out["blend"] = blend
    total = float(td.sum())
    scaled = blend / blend.sum() * total if blend.sum() > 0 else td.copy()
    if round_to is not None:
        if not _is_multiple(total, round_to):
            raise InputError(f"{func}: the top-down total {total:,.2f} is not a multiple of round_to={round_to:g}.")
        scaled = _round_grouped(scaled, np.zeros(len(scaled), dtype=np.int64), _to_quanta([total], round_to), round_to)
    out["target"] = scaled
    out["has_commitment"] = has
    return out


# ---------------------------------------------------------------------------
# Achievability
# ---------------------------------------------------------------------------
_Z = {80: stats.norm.ppf(0.9), 95: stats.norm.ppf(0.975), 90: stats.norm.ppf(0.95), 50: stats.norm.ppf(0.75)}


def _interval_columns(forecast: pd.DataFrame, mean: str) -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    for level in (50, 80, 90, 95):
        for lo, hi in ((f"{mean}-lo-{level}", f"{mean}-hi-{level}"), (f"{mean}_lo_{level}", f"{mean}_hi_{level}"),
                       (f"lo_{level}", f"hi_{level}"), (f"lo-{level}", f"hi-{level}")):
            if lo in forecast.columns and hi in forecast.columns:
                found[level] = (lo, hi)
                break
    return found


def achievability(
    targets: pd.DataFrame,
    forecast: pd.DataFrame,
    *,
    keys: str | Sequence[str],
    target: str = "target",
    mean: str = "yhat",
    threshold: float = 0.3,
    correlation: float = 0.5,
    distribution: str = "normal",
) -> pd.DataFrame:
    """The growth each target asks over the baseline and the chance of meeting it.

    ``forecast`` has one or more rows per unit (e.g. per month) with the
    baseline mean ``mean`` and interval columns (``yhat-lo-80``/``yhat-hi-80``,
    ``yhat_lo_95``..., or ``lo_80``/``hi_80``). Each row's spread is read from its
    intervals (sigma = width / (2 z), averaged over the levels given); rows are
    added up per unit with the given ``correlation`` between periods
    (0 = independent, 1 = fully correlated). The unit's outcome is taken as
    normal (or log-normal with the same mean and spread), and
    ``probability = P(outcome >= target)``; ``flag`` is True below ``threshold``.

    Returns the units with ``baseline``, ``baseline_sd``, ``target``,
    ``growth_asked`` (target / baseline - 1), ``probability`` and ``flag``.
    """
    func = "achievability"
    key_list = _as_list(keys)
    if not 0 <= threshold <= 1:
        raise _param_error("threshold", func, "a probability between 0 and 1", threshold)
    if not -1e-12 <= correlation <= 1:
        raise _param_error("correlation", func, "a number between 0 and 1", correlation)
    if distribution not in ("normal", "lognormal"):
        raise _param_error("distribution", func, "'normal' or 'lognormal'", distribution)
    _check_keys(targets, key_list, func, table="targets")
    for k in key_list:
        if k not in forecast.columns:
            raise InputError(f"{func}: the forecast has no key column '{k}'.")
    if mean not in forecast.columns:
        raise InputError(f"{func}: the forecast has no mean column '{mean}' (columns: {short_list(list(forecast.columns))}).")
    cols = _interval_columns(forecast, mean)
    if not cols:
        raise InputError(f"{func}: the forecast has no interval columns such as '{mean}-lo-80'/'{mean}-hi-80' or 'lo_80'/'hi_80'.")
    f = forecast[key_list].copy()
    f["_mean"] = forecast[mean].astype(float).to_numpy()
    sds = []
    for level, (lo, hi) in cols.items():
        sds.append((forecast[hi].astype(float) - forecast[lo].astype(float)).clip(lower=0).to_numpy() / (2 * _Z[level]))
    f["_sd"] = np.mean(sds, axis=0)
    g = f.groupby(key_list, sort=False)
    agg = pd.DataFrame({
        "baseline": g["_mean"].sum(),
        "_sd_sum": g["_sd"].sum(),
        "_sd_sq": g["_sd"].apply(lambda s: float((s ** 2).sum())),
    }).reset_index()
    agg["baseline_sd"] = np.sqrt((1 - correlation) * agg["_sd_sq"] + correlation * agg["_sd_sum"] ** 2)
    out = targets[key_list].copy()
    out["target"] = _numeric_column(targets, target, func, "target", key_list)
    out = out.merge(agg[key_list + ["baseline", "baseline_sd"]], on=key_list, how="left")
    no_fc = out["baseline"].isna()
    if no_fc.any():
        raise InputError(f"{func}: no forecast rows for units {short_list(_unit_labels(out, key_list, no_fc.to_numpy()))}.")
    mu = out["baseline"].to_numpy()
    sd = out["baseline_sd"].to_numpy()
    t = out["target"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["growth_asked"] = np.where(mu > 0, t / np.where(mu > 0, mu, 1.0) - 1.0, np.nan)
        if distribution == "normal":
            z = (t - mu) / np.where(sd > 0, sd, np.nan)
            p = stats.norm.sf(z)
        else:
            s2 = np.log1p((sd / np.where(mu > 0, mu, np.nan)) ** 2)
            m = np.log(np.where(mu > 0, mu, np.nan)) - s2 / 2
            p = stats.norm.sf((np.log(np.where(t > 0, t, np.nan)) - m) / np.sqrt(np.where(s2 > 0, s2, np.nan)))
            p = np.where(t <= 0, 1.0, p)
    # No spread: certain either way.
    p = np.where(sd > 0, p, (mu >= t).astype(float))
    out["probability"] = np.nan_to_num(p, nan=0.0)
    out["flag"] = out["probability"] < threshold
    return out


# ---------------------------------------------------------------------------
# Tracking
# ---------------------------------------------------------------------------
def achievement_rate(actual: float | np.ndarray, target: float | np.ndarray, *, carried_over: float | np.ndarray = 0) -> Any:
    """Achievement (达成率) of a target, counting orders carried into the period.

    Orders carried over from last month (月初遗留可交订单) are already in hand
    and cover part of the month's target, so what is asked of the month is
    ``target - carried_over`` and the achievement is
    ``actual / (target - carried_over)``. DOMAIN example G: a consultant with
    5 carried-over orders and a monthly target of 10 who wins 6 is at
    6 / (10 - 5) = 120%.

    Examples
    --------
    >>> round(achievement_rate(120, 130), 3)
    0.923
    >>> achievement_rate(6, 10, carried_over=5)
    1.2
    """
    net = np.asarray(target, dtype=float) - np.asarray(carried_over, dtype=float)
    if np.any(np.asarray(carried_over) < 0):
        raise _param_error("carried_over", "achievement_rate", "a number >= 0", carried_over)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(net > 0, np.asarray(actual, dtype=float) / np.where(net > 0, net, 1.0), np.nan)
    return float(rate) if np.ndim(rate) == 0 else rate


def _elapsed_fraction(start: pd.Series, end: pd.Series, as_of: pd.Timestamp) -> np.ndarray:
    days = (end - start).dt.days.to_numpy() + 1
    done = (as_of - start).dt.days.to_numpy() + 1
    return np.clip(done / days, 0.0, 1.0)


def _unit_id(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    if not cols:
        return pd.Series("company", index=frame.index)
    out = frame[cols[0]].astype(str)
    for c in cols[1:]:
        out = out + "/" + frame[c].astype(str)
    return out


def pacing(
    actuals: pd.DataFrame,
    plan: pd.DataFrame,
    as_of: Any,
    *,
    levels: Mapping[str, Sequence[str]],
    date: str = "date",
    amount: str = "amount",
    target: str = "target",
    working_days: str | None = "working_days",
    periods: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Progress against the phased plan, per unit at every level.

    Parameters
    ----------
    actuals : DataFrame
        Transactions (``date``, ``amount`` and the level columns).
    plan : DataFrame
        The phased plan: level columns, ``start``, ``end`` (a period per row,
        e.g. from :func:`split_over_time`), ``target``; optionally a
        ``working_days`` column per row for the daily rate.
    as_of : date
        Actuals up to and including this day count.
    levels : dict
        Level name -> the columns naming a unit of it, e.g.
        ``{"company": [], "region": ["region_id"], "rep": ["rep_id"]}``.
    periods : DataFrame, optional
        The plan's period table with ``working_days`` (from the calendar), for
        the working days left; otherwise a ``working_days`` column of the plan,
        otherwise calendar days.

    Returns
    -------
    DataFrame
        One row per level and unit: ``level``, ``unit_id``, ``target_full``
        (the plan's total), ``target_to_date`` (by the phasing: whole periods
        before ``as_of`` plus the elapsed days' part of the current period — not
        a straight line through the year), ``actual_to_date``, ``achievement``,
        ``phased_share_to_date``, ``projection`` (actual to date / phased share:
        a seasonally adjusted full-period estimate), ``projected_achievement``,
        ``gap_to_date`` (actual - target to date), ``remaining`` (target_full -
        actual, not below 0), ``remaining_days`` (working days left, when the
        plan has them, else calendar days), ``daily_rate_needed`` and ``rank``
        (1 = best achievement within the level).
    """
    func = "pacing"
    as_of = pd.Timestamp(as_of)
    for table, frame, need in (("actuals", actuals, [date, amount]), ("plan", plan, ["start", "end", target])):
        cols = need + sorted({c for v in levels.values() for c in v})
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise InputError(f"{func}: the {table} table has no column {short_list(missing)}.")
    p = plan.copy()
    p["start"] = pd.to_datetime(p["start"])
    p["end"] = pd.to_datetime(p["end"])
    plan_start, plan_end = p["start"].min(), p["end"].max()
    if not (plan_start <= as_of):
        raise _param_error("as_of", func, f"on or after the plan's first day {plan_start.date()}", str(as_of.date()))
    frac = _elapsed_fraction(p["start"], p["end"], as_of)
    p["_to_date"] = p[target].to_numpy(dtype=float) * frac
    # Working days left: the same for every unit, from the plan's own periods.
    if periods is not None:
        cal = _check_periods(periods, func)
        if working_days is None or working_days not in cal.columns:
            raise InputError(f"{func}: the periods table has no '{working_days}' column.")
        rem = cal[working_days].to_numpy(dtype=float)
    else:
        cal = p.drop_duplicates(["start", "end"])
        rem = (cal[working_days].to_numpy(dtype=float) if working_days is not None and working_days in p.columns
               else ((cal["end"] - cal["start"]).dt.days + 1).to_numpy(dtype=float))
    remaining_days = float((rem * (1 - _elapsed_fraction(cal["start"], cal["end"], as_of))).sum())
    a = actuals.loc[(pd.to_datetime(actuals[date]) >= plan_start) & (pd.to_datetime(actuals[date]) <= min(as_of, plan_end))]
    rows = []
    for name, cols in levels.items():
        cols = list(cols)
        if cols:
            gp = p.groupby(cols, sort=True, observed=True).agg(target_full=(target, "sum"), target_to_date=("_to_date", "sum"))
            ga = a.groupby(cols, sort=True, observed=True)[amount].sum().rename("actual_to_date")
            merged = gp.join(ga, how="outer").reset_index()
        else:
            merged = pd.DataFrame({"target_full": [p[target].sum()], "target_to_date": [p["_to_date"].sum()],
                                   "actual_to_date": [a[amount].sum()]})
        merged = merged.fillna({"target_full": 0.0, "target_to_date": 0.0, "actual_to_date": 0.0})
        merged.insert(0, "unit_id", _unit_id(merged, cols).to_numpy())
        merged.insert(0, "level", name)
        merged["remaining_days"] = remaining_days
        rows.append(merged)
    out = pd.concat(rows, ignore_index=True)
    tt, td, ad = out["target_full"].to_numpy(), out["target_to_date"].to_numpy(), out["actual_to_date"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["achievement"] = np.where(td > 0, ad / np.where(td > 0, td, 1.0), np.nan)
        share = np.where(tt > 0, td / np.where(tt > 0, tt, 1.0), np.nan)
        out["phased_share_to_date"] = share
        out["projection"] = np.where(share > 0, ad / np.where(share > 0, share, 1.0), np.nan)
        out["projected_achievement"] = np.where(tt > 0, out["projection"] / np.where(tt > 0, tt, 1.0), np.nan)
    out["gap_to_date"] = ad - td
    out["remaining"] = np.maximum(tt - ad, 0.0)
    rd = out["remaining_days"].to_numpy()
    out["daily_rate_needed"] = np.where(rd > 0, out["remaining"] / np.where(rd > 0, rd, 1.0), np.nan)
    out["rank"] = out.groupby("level")["achievement"].rank(ascending=False, method="min", na_option="bottom").astype(int)
    out.attrs["as_of"] = f"{as_of:%Y-%m-%d}"
    return out


def period_report(
    actuals: pd.DataFrame,
    plan: pd.DataFrame,
    periods: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    as_of: Any = None,
    date: str = "date",
    amount: str = "amount",
    target: str = "target",
) -> pd.DataFrame:
    """Target against actual per reporting period (weeks, dekads), example G.

    The plan (rows with ``start``, ``end``, ``target``, at any grain) is spread
    over its days evenly within each of its rows and summed into ``periods``, so a
    dekad plan gives week targets and vice versa. Periods starting after
    ``as_of`` are left out; the one holding ``as_of`` is compared to date.

    Returns ``by`` columns, ``period``, ``start``, ``end``, ``target``,
    ``actual``, ``achievement`` (actual / target).
    """
    func = "period_report"
    by = list(by)
    per = _check_periods(periods, func)
    as_of = pd.Timestamp(as_of) if as_of is not None else per["end"].max()
    pl = plan.copy()
    pl["start"] = pd.to_datetime(pl["start"])
    pl["end"] = pd.to_datetime(pl["end"])
    pl = pl.groupby(by + ["start", "end"], sort=False, observed=True)[target].sum().reset_index() if by else \
        pl.groupby(["start", "end"], sort=False)[target].sum().reset_index()
    ndays = ((pl["end"] - pl["start"]).dt.days + 1).to_numpy()
    rep = np.repeat(np.arange(len(pl)), ndays)
    offs = np.arange(rep.size) - np.repeat(np.cumsum(ndays) - ndays, ndays)
    daily = pd.DataFrame({c: pl[c].to_numpy()[rep] for c in by})
    daily["day"] = pl["start"].to_numpy()[rep] + offs.astype("timedelta64[D]")
    daily["t"] = (pl[target].to_numpy() / ndays)[rep]
    daily = daily.loc[daily["day"] <= as_of]
    per = per.loc[per["start"] <= as_of].sort_values("start").reset_index(drop=True)
    pos = np.searchsorted(per["start"].to_numpy(), daily["day"].to_numpy(), side="right") - 1
    inside = (pos >= 0) & (daily["day"].to_numpy() <= per["end"].to_numpy()[np.clip(pos, 0, None)])
    daily = daily.loc[inside].assign(period=per["period"].to_numpy()[pos[inside]])
    tgt = daily.groupby(by + ["period"], observed=True)["t"].sum().rename("target")
    act = actuals.assign(_d=pd.to_datetime(actuals[date]))
    act = act.loc[act["_d"] <= as_of]
    pos = np.searchsorted(per["start"].to_numpy(), act["_d"].to_numpy(), side="right") - 1
    inside = (pos >= 0) & (act["_d"].to_numpy() <= per["end"].to_numpy()[np.clip(pos, 0, None)])
    act = act.loc[inside].assign(period=per["period"].to_numpy()[pos[inside]])
    actual = act.groupby(by + ["period"], observed=True)[amount].sum().rename("actual")
    out = pd.concat([tgt, actual], axis=1).fillna(0.0).reset_index()
    out = out.merge(per[["period", "start", "end"]], on="period", how="left")
    out["achievement"] = np.where(out["target"] > 0, out["actual"] / out["target"].where(out["target"] > 0, 1.0), np.nan)
    return out.sort_values(by + ["start"]).reset_index(drop=True)[by + ["period", "start", "end", "target", "actual", "achievement"]]


def declining_customers(
    actuals: pd.DataFrame,
    as_of: Any,
    *,
    key: str | Sequence[str] = "customer_id",
    date: str = "date",
    amount: str = "amount",
    start: Any = None,
) -> pd.DataFrame:
    """Customers selling less than in the same period last year.

    Compares ``start .. as_of`` (default: 1 January of ``as_of``'s year) with
    the same dates a year earlier. Returns, per customer, ``this_year``,
    ``last_year``, ``change`` and ``growth``; only customers whose sales fell,
    worst change first.
    """
    key_list = _as_list(key)
    as_of = pd.Timestamp(as_of)
    start = pd.Timestamp(start) if start is not None else pd.Timestamp(year=as_of.year, month=1, day=1)
    ly_start, ly_end = start - pd.DateOffset(years=1), as_of - pd.DateOffset(years=1)
    d = pd.to_datetime(actuals[date])
    ty = actuals.loc[(d >= start) & (d <= as_of)].groupby(key_list)[amount].sum().rename("this_year")
    ly = actuals.loc[(d >= ly_start) & (d <= ly_end)].groupby(key_list)[amount].sum().rename("last_year")
    out = pd.concat([ty, ly], axis=1).fillna(0.0).reset_index()
    out["change"] = out["this_year"] - out["last_year"]
    out["growth"] = np.where(out["last_year"] > 0, out["change"] / out["last_year"].where(out["last_year"] > 0, 1.0), np.nan)
    out = out.loc[out["change"] < 0].sort_values(["change"] + key_list).reset_index(drop=True)
    return out


def _explained(out: pd.DataFrame, core, grand: float, ref) -> pd.DataFrame:
    """Add the target and the columns that explain it (shares, bounds, rounding, growth)."""
    for col, share in core.shares.items():
        out[f"share_{col}"] = share
    out["blended_share"] = core.blended
    out["target_before_bounds"] = core.before
    out["bound_applied"] = core.bound
    out["rounding_adjustment"] = core.rounding
    out["target"] = core.target
    out["share"] = core.target / grand if grand > 0 else 0.0
    if ref is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            out["growth"] = np.where(ref > 0, core.target / np.where(ref > 0, ref, 1.0) - 1.0, np.nan)
    out.attrs["total"] = grand
    return out
