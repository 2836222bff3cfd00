"""Checks shared by the staffing verbs (one message template).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.errors import InputError, ParamsError, short_list

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
