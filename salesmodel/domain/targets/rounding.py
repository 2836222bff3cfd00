"""What every sharing verb of the targets shares: unit keys and their labels, numeric basis columns, and
rounding in whole quanta of ``round_to`` so every decomposition adds up exactly (largest remainder,
within groups) (see :mod:`salesmodel.domain.targets.allocation`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import ROUND_TO, check, param_error
from salesmodel.errors import InfeasibleError, InputError, short_list


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
    check(round_to, ROUND_TO, "round_to", func, allow_none=True)


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
