"""The sales table a seasonal computation reads (dates parsed, values finite, the columns it needs),
and the cycles seasonal profiles are measured over (see :mod:`salesmodel.domain.seasonality`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import Options, param_error
from salesmodel.errors import InputError, short_list

#: Periods per cycle for each supported cycle.
CYCLES = {"month": 12, "quarter": 4, "dekad": 3, "weekday": 7}


# ----------------------------------------------------------------------------- checks
def _as_cols(cols: str | Sequence[str] | None) -> list[str]:
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def _prepare(data: pd.DataFrame, date_col: str, value_col: str, unit_cols: list[str], group_cols: list[str], who: str) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise param_error("data", who, "a pandas DataFrame", shown=f"{type(data).__name__}")
    need = [date_col, value_col, *unit_cols, *[c for c in group_cols if c not in unit_cols]]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise InputError(f"{who}: the sales table lacks column(s) {short_list(missing)} (has {short_list(list(data.columns))}).")
    out = data[list(dict.fromkeys(need))].copy()
    if not pd.api.types.is_datetime64_any_dtype(out[date_col]):
        try:
            out[date_col] = pd.to_datetime(out[date_col])
        except (TypeError, ValueError):
            raise InputError(f"{who}: column '{date_col}' must hold dates.") from None
    if out[date_col].isna().any():
        raise InputError(f"{who}: column '{date_col}' has {int(out[date_col].isna().sum())} empty date(s).")
    if not pd.api.types.is_numeric_dtype(out[value_col]):
        raise InputError(f"{who}: column '{value_col}' must be numeric; got dtype {out[value_col].dtype}.")
    bad = ~np.isfinite(out[value_col].to_numpy(float))
    if bad.any():
        raise InputError(f"{who}: column '{value_col}' has {int(bad.sum())} missing or infinite value(s), e.g. in rows "
                         f"{short_list(out.index[bad][:5].tolist())}.")
    if out.empty:
        raise InputError(f"{who}: the sales table is empty.")
    return out


#: The cycles seasonal indices and Spring Festival factors are measured over.
SEASONAL_CYCLES = Options(("month", "quarter"))
