"""Raking: fitting a table to several margins at once (iterative proportional
fitting), then rounding it exactly.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.domain.targets.rounding import _check_round_to, _is_multiple, _round_grouped, _to_quanta
from salesmodel.errors import InputError, short_list

__all__ = ["RakeResult", "rake"]


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


def rake(  # noqa: C901 - frames and arrays, any number of margins, controlled rounding: one documented verb
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
        raise param_error("tol", func, "a positive number", tol)
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise param_error("max_iter", func, "an integer >= 1", max_iter)
    _check_round_to(round_to, func)
    if not margins:
        raise param_error("margins", func, "a non-empty dict of dimension(s) -> totals", margins)
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
                raise param_error("margins", func, f"keyed by axes 0..{arr.ndim - 1}", key)
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
            raise InputError(f"{func}: margin {key!r} asks for a positive total where the seed is all zero (cells "
                             f"{short_list(np.argwhere(bad).tolist())}).")

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
