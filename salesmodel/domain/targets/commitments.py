"""Commitments: reps' own bottom-up commitments beside the top-down targets.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.domain.targets.filling import _fill
from salesmodel.domain.targets.rounding import (
    _as_list,
    _check_keys,
    _check_round_to,
    _is_multiple,
    _numeric_column,
    _round_grouped,
    _to_quanta,
    _unit_labels,
)
from salesmodel.errors import InputError, short_list

__all__ = ["POLICIES", "reconcile", "reconcile_commitments"]

POLICIES = ("top_down", "bottom_up", "blend")


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
        raise param_error("weight", func, "a number between 0 (top-down only) and 1 (commitments only)", weight)
    _check_round_to(round_to, func)
    _check_keys(top_down, key_list, func, table="top-down")
    _check_keys(bottom_up, key_list, func, table="bottom-up")
    td = _numeric_column(top_down, target, func, "target", key_list)
    bu_vals = _numeric_column(bottom_up, commitment, func, "commitment", key_list, allow_nan=True)
    extra = bottom_up.merge(top_down[key_list], on=key_list, how="left", indicator=True)
    unknown = extra["_merge"] == "left_only"
    if unknown.any():
        raise InputError(f"{func}: commitments for units that have no top-down target: "
                         f"{short_list(_unit_labels(extra, key_list, unknown.to_numpy()))}.")
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


def reconcile_commitments(
    top_down: pd.DataFrame,
    commitments: pd.DataFrame,
    *,
    policy: str = "top_down",
    weight: float = 0.5,
    bounds: tuple[float, float] = (-0.10, 0.10),
    within: str | None = None,
    round_to: float = 100,
    locked: Sequence[str] = (),
    unit: str = "rep_id",
    lower: str | None = None,
    upper: str | None = None,
) -> pd.DataFrame:
    """Reconcile reps' commitments with their top-down targets inside each unit of ``within``.

    The targets of each ``within`` group (e.g. ``"region_id"``; None: the company) are kept.
    Each rep first gets what the policy wants:

    - ``top_down``: the top-down target (the gap is only shown);
    - ``bottom_up``: the commitment held within ``top_down x (1 + bounds)``;
    - ``blend``: ``(1 - weight) x top_down + weight x commitment``, held within the same bounds;

    reps without a commitment and ``locked`` reps want their top-down target. The reps that are
    not locked then share what their group's locked reps leave, in proportion to what they want,
    rounded by largest remainder so each group adds up exactly. ``lower`` and ``upper`` name
    columns of ``top_down`` with the least and most each unit can be given (e.g. what its
    customers' growth bounds allow): the sharing then stays inside them (water-filling).

    Returns one row per unit: the columns of ``top_down`` but ``target``, ``top_down``, ``commitment``
    (NaN when none), ``has_commitment``, ``gap`` (commitment - top_down, 0 without one),
    ``gap_pct``, ``wanted``, ``target`` and ``change`` (target - top_down).

    Examples
    --------
    >>> td = pd.DataFrame({"region_id": ["N", "N", "S"], "rep_id": ["a", "b", "c"],
    ...                    "target": [600.0, 400.0, 500.0]})
    >>> bu = pd.DataFrame({"rep_id": ["a", "c"], "amount": [500.0, 800.0]})
    >>> out = reconcile_commitments(td, bu, policy="bottom_up", bounds=(-0.1, 0.1),
    ...                             within="region_id", round_to=10)
    >>> out["target"].tolist()        # a: 500 held at 540; b 400; N keeps 1,000
    [570.0, 430.0, 500.0]
    >>> out["gap"].tolist()
    [-100.0, 0.0, 300.0]
    """
    func = "reconcile_commitments"
    if policy not in POLICIES:
        raise param_error("policy", func, f"one of {', '.join(POLICIES)}", policy)
    if not (isinstance(weight, (int, float)) and 0 <= weight <= 1):
        raise param_error("weight", func, "a number between 0 and 1", weight)
    lo, hi = bounds
    if not -1 < lo <= 0 <= hi:
        raise param_error("bounds", func, "(low, high) with -1 < low <= 0 <= high", bounds)
    _check_round_to(round_to, func)
    keys = [within] if within else []
    _check_keys(top_down, [*keys, unit], func, table="top-down")
    _check_keys(commitments, [unit], func, table="commitments")
    td = _numeric_column(top_down, "target", func, "target", [unit])
    out = top_down.drop(columns="target").reset_index(drop=True)
    out["top_down"] = td
    committed = commitments.drop_duplicates(unit, keep="last").set_index(unit)["amount"].astype(float)
    unknown = sorted(set(committed.index) - set(out[unit]))
    if unknown:
        raise InputError(f"{func}: commitments for {short_list(unknown)}, which have no top-down target.")
    c = out[unit].map(committed).to_numpy(dtype=float)
    has = ~np.isnan(c)
    out["commitment"] = c
    out["has_commitment"] = has
    out["gap"] = np.where(has, c - td, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["gap_pct"] = np.where(has & (td > 0), (c - td) / np.where(td > 0, td, 1.0), np.nan)
    if policy == "top_down":
        wanted = td.copy()
    elif policy == "bottom_up":
        wanted = np.where(has, np.clip(np.nan_to_num(c), td * (1 + lo), td * (1 + hi)), td)
    else:
        blend = (1 - weight) * td + weight * np.nan_to_num(c)
        wanted = np.where(has, np.clip(blend, td * (1 + lo), td * (1 + hi)), td)
    is_locked = out[unit].isin(set(locked)).to_numpy()
    wanted = np.where(is_locked, td, wanted)
    lo_b = (np.nan_to_num(_numeric_column(top_down, lower, func, "lower", [unit], allow_nan=True), nan=0.0)
            if lower else np.zeros(len(out)))
    hi_b = (np.nan_to_num(_numeric_column(top_down, upper, func, "upper", [unit], allow_nan=True), nan=np.inf)
            if upper else np.full(len(out), np.inf))
    lo_b, hi_b = np.minimum(lo_b, td), np.maximum(hi_b, td)  # the top-down target is always possible
    wanted = np.clip(wanted, lo_b, hi_b)
    out["wanted"] = wanted
    target = td.copy()
    group = (out.groupby(keys, sort=False, observed=True).ngroup().to_numpy() if keys
             else np.zeros(len(out), dtype=np.int64))
    for g in np.unique(group):
        free = (group == g) & ~is_locked
        if not free.any():
            continue
        free_total = float(td[group == g].sum() - td[(group == g) & is_locked].sum())
        if not _is_multiple(free_total, round_to):
            raise InputError(f"{func}: the top-down targets are not multiples of round_to={round_to:g}.")
        w = wanted[free]
        if w.sum() <= 0:
            continue
        scaled = _fill(w, lo_b[free], hi_b[free], np.zeros(free.sum(), dtype=np.int64), np.array([free_total]))
        target[free] = _round_grouped(scaled, np.zeros(free.sum(), dtype=np.int64), _to_quanta([free_total], round_to),
                                      round_to)
    out["target"] = target
    out["change"] = target - td
    return out
