"""Phasing: each unit's target over a period table (quarters, months, dekads,
weeks, days), exact per unit and per period; weekday weights for daily plans.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.domain.targets.raking import _ipf
from salesmodel.domain.targets.rounding import _as_list, _check_keys, _check_round_to, _is_multiple, _numeric_column, _to_quanta, _unit_labels
from salesmodel.errors import InfeasibleError, InputError, short_list

__all__ = ["split_over_time", "weekday_weights"]

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
        raise param_error("profile", func, "seven numbers >= 0, Monday to Sunday (or a dict mon..sun)", profile)
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
        raise param_error("weights", func, "'even', 'days', 'working_days', a Series by period, a per-unit table, or a list of these", spec)
    if isinstance(spec, Mapping):
        spec = pd.Series(spec, dtype=float)
    if isinstance(spec, pd.Series):
        missing = [p for p in periods["period"] if p not in spec.index]
        if missing:
            raise InputError(f"{func}: the weights have no value for periods {short_list(missing)}.")
        return spec.reindex(periods["period"].to_numpy()).to_numpy(dtype=float)
    raise param_error("weights", func, "'even', 'days', 'working_days', a Series by period, a per-unit table, or a list of "
                                        "these", type(spec).__name__)


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
            if len(key_list) > 1:
                out.index = pd.MultiIndex.from_frame(targets[key_list])
            else:
                out.index = pd.Index(targets[key_list[0]].to_numpy(), name=key_list[0])
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
        raise param_error("keys", func, "given when weights is a per-unit table", None)
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
