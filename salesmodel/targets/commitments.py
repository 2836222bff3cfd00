"""Commitments: reps' own bottom-up commitments beside the top-down targets.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesmodel.errors import InputError, short_list
from salesmodel.targets.allocation import (
    _as_list,
    _check_keys,
    _check_round_to,
    _is_multiple,
    _numeric_column,
    _param_error,
    _round_grouped,
    _to_quanta,
    _unit_labels,
)

__all__ = ["reconcile"]


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
