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
from salesmodel.domain.targets.filling import _fill, _fill_chance
from salesmodel.domain.targets.rounding import (
    _as_list,
    _check_keys,
    _check_round_to,
    _group_sum,
    _is_multiple,
    _numeric_column,
    _round_grouped,
    _to_quanta,
    _unit_labels,
    largest_remainder,
)
from salesmodel.errors import InfeasibleError, InputError, ParamsError, short_list

__all__ = ["cascade", "decompose", "largest_remainder"]


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
