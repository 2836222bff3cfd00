"""Hierarchies of series and reconciliation (bottom-up, WLS, MinT with shrinkage)."""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.domain.forecast.series import _node_id, _short_ids
from salesmodel.errors import InputError, short_list

# ----------------------------------------------------------------------------- reconciliation
#: Above this many nodes MinT uses a diagonal covariance (a dense one would not fit in memory).
MAX_DENSE_NODES = 2000


@dataclass
class Hierarchy:
    """Which bottom series add up to which aggregate.

    ``S`` is the (sparse) summing matrix, nodes × bottom series; ``nodes`` has one row per
    node (``unique_id``, ``level`` and the key columns that define it, empty where the
    level does not use them); ``bottom`` lists the bottom ``unique_id`` in column order of ``S``.
    """

    S: Any
    nodes: pd.DataFrame
    bottom: list[str]

    @property
    def is_bottom(self) -> np.ndarray:
        return self.nodes["level"].to_numpy() == self.nodes["level"].iloc[-1]




def hierarchy_from_frame(keys: pd.DataFrame, levels: Sequence[Sequence[str]]) -> Hierarchy:
    """Build a hierarchy from the key columns of the bottom series.

    Parameters
    ----------
    keys : DataFrame
        One row per bottom series with its key columns (e.g. region, province, rep,
        customer_id, product).
    levels : list of lists of column names
        Each level is a grouping of the bottom series, from the top (``[]`` is the company
        total) to the bottom (the columns that identify a bottom series). Crossed groupings
        (e.g. ``["product"]`` next to ``["region"]``) are allowed: every grouping is a level.

    Node ids are ``"total"`` or ``"col=value/col=value"``.

    Examples
    --------
    >>> keys = pd.DataFrame({"region": ["N", "N", "S"], "rep": ["a", "b", "c"]})
    >>> hier = hierarchy_from_frame(keys, [[], ["region"], ["region", "rep"]])
    >>> hier.nodes["unique_id"].tolist()
    ['total', 'region=N', 'region=S', 'region=N/rep=a', 'region=N/rep=b', 'region=S/rep=c']
    """
    from scipy import sparse

    levels = [list(lv) for lv in levels]
    if not levels:
        raise param_error("levels", "hierarchy_from_frame", "a list of at least the bottom level", [])
    cols = sorted({c for lv in levels for c in lv})
    missing = [c for c in cols if c not in keys.columns]
    if missing:
        raise InputError(f"hierarchy_from_frame: the keys table lacks column(s) {short_list(missing)} (has {short_list(list(keys.columns))}).")
    bottom_cols = levels[-1]
    k = keys[cols].drop_duplicates().sort_values(bottom_cols, kind="mergesort").reset_index(drop=True)
    dup = k.duplicated(bottom_cols, keep=False)
    if dup.any():
        ex = k.loc[dup, bottom_cols].head(3).to_dict("records")
        raise InputError(
            f"hierarchy_from_frame: the bottom level {bottom_cols} does not identify one series: rows such as {ex} "
            "belong to different groups of an upper level (e.g. a customer under two reps)."
        )
    n_b = len(k)
    bottom_ids = [_node_id(bottom_cols, r) for r in k[bottom_cols].itertuples(index=False)]
    rows, cols_idx, node_rows = [], [], []
    r0 = 0
    for lv in levels:
        if lv:
            codes, uniques = pd.MultiIndex.from_frame(k[lv]).factorize(sort=True)
            n_nodes = len(uniques)
            values = [tuple(u) if isinstance(u, tuple) else (u,) for u in uniques]
        else:
            codes, n_nodes, values = np.zeros(n_b, dtype=np.int64), 1, [()]
        rows.append(r0 + codes)
        cols_idx.append(np.arange(n_b))
        name = "/".join(lv) if lv else "total"
        for v in values:
            node = {"unique_id": _node_id(lv, v), "level": name}
            node.update(dict(zip(lv, v)))
            node_rows.append(node)
        r0 += n_nodes
    S = sparse.csr_matrix((np.ones(sum(len(r) for r in rows)), (np.concatenate(rows), np.concatenate(cols_idx))), shape=(r0, n_b))
    nodes = pd.DataFrame(node_rows, columns=["unique_id", "level", *cols])
    if nodes["unique_id"].duplicated().any():
        dups = nodes.loc[nodes["unique_id"].duplicated(), "unique_id"].tolist()
        raise param_error("levels", "hierarchy_from_frame", "levels each given once", dups,
                          shown=f"nodes {short_list(dups)} twice")
    return Hierarchy(S=S, nodes=nodes, bottom=bottom_ids)


def aggregate_levels(df: pd.DataFrame, hierarchy: Hierarchy) -> pd.DataFrame:
    """Sum bottom series (long ``unique_id, ds, y`` with the hierarchy's bottom ids) to every node."""
    pos = pd.Series(np.arange(len(hierarchy.bottom)), index=hierarchy.bottom)
    unknown = ~df["unique_id"].isin(pos.index)
    if unknown.any():
        raise InputError(
            f"aggregate_levels: {int(df.loc[unknown, 'unique_id'].nunique())} series are not bottom series of the hierarchy, "
            f"e.g. {short_list(df.loc[unknown, 'unique_id'].unique()[:3])}."
        )
    wide = df.pivot(index="ds", columns="unique_id", values="y").reindex(columns=hierarchy.bottom).fillna(0.0)
    allv = (hierarchy.S @ wide.to_numpy().T).T
    out = pd.DataFrame(allv, index=wide.index, columns=hierarchy.nodes["unique_id"]).stack().rename("y").reset_index()
    out.columns = ["ds", "unique_id", "y"]
    return out[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)


def _shrunk_covariance(res: np.ndarray) -> np.ndarray:
    """Schäfer–Strimmer shrinkage of a residual covariance toward its diagonal (rows: time, cols: nodes)."""
    x = res - np.nanmean(res, axis=0)
    x = np.where(np.isfinite(x), x, 0.0)
    t = x.shape[0]
    sd = np.sqrt((x**2).sum(axis=0) / max(t - 1, 1))
    sd_safe = np.where(sd > 0, sd, 1.0)
    z = x / sd_safe
    corr = z.T @ z / max(t - 1, 1)
    # Variance of each correlation estimate (Schäfer & Strimmer 2005, eq. for Var(r_ij)).
    w2 = (z**2).T @ (z**2)
    var_r = t / max(t - 1, 1) ** 3 * (w2 - corr**2 * (t - 1) ** 2 / t)
    np.fill_diagonal(var_r, 0.0)
    off = corr.copy()
    np.fill_diagonal(off, 0.0)
    denom = float((off**2).sum())
    lam = 1.0 if denom <= 0 else float(min(max(var_r.sum() / denom, 0.0), 1.0))
    shrunk = (1 - lam) * corr
    np.fill_diagonal(shrunk, 1.0)
    cov = shrunk * np.outer(sd, sd)
    # A node without error variance still needs a positive weight.
    floor = max(float(np.median(sd[sd > 0]) ** 2) * 1e-6, 1e-12) if (sd > 0).any() else 1.0
    cov[np.diag_indices_from(cov)] = np.maximum(np.diag(cov), floor)
    return cov


def reconcile(
    forecasts: pd.DataFrame,
    hierarchy: Hierarchy,
    method: str = "mint_shrink",
    *,
    residuals: pd.DataFrame | None = None,
    value_col: str = "yhat",
) -> pd.DataFrame:
    """Make forecasts at every level of a hierarchy add up.

    Parameters
    ----------
    forecasts : DataFrame
        ``unique_id, ds, yhat`` (and optional interval columns ``yhat_lo_*``/``yhat_hi_*``)
        for every node of ``hierarchy`` (``bottom_up`` needs only the bottom nodes).
    hierarchy : Hierarchy
        From :func:`hierarchy_from_frame`.
    method : {"mint_shrink", "wls_struct", "bottom_up"}, default="mint_shrink"
        ``mint_shrink``: MinT with the Schäfer–Strimmer shrunk covariance of ``residuals``
        (diagonal above ``MAX_DENSE_NODES`` nodes); ``wls_struct``: weights by the number of
        bottom series under a node; ``bottom_up``: sums of the bottom forecasts.
    residuals : DataFrame, optional
        ``unique_id, ds, y, yhat`` (e.g. ``BacktestResult.forecasts``; a ``window`` column is
        respected) for every node; required by ``mint_shrink``.

    Returns
    -------
    DataFrame
        Same rows and columns as the forecasts of every node, with reconciled ``yhat``
        (never below zero: negative bottom values are set to zero and summed up again) and
        the intervals shifted by each node's change, clipped at zero; plus ``level``.
    """
    who = "reconcile"
    methods = ("mint_shrink", "wls_struct", "bottom_up")
    if method not in methods:
        raise param_error("method", who, f"one of {', '.join(methods)}", method)
    nodes = hierarchy.nodes["unique_id"].tolist()
    need = hierarchy.bottom if method == "bottom_up" else nodes
    have = set(forecasts["unique_id"].unique())
    missing = [n for n in need if n not in have]
    if missing:
        raise InputError(f"{who}: forecasts are missing for {len(missing)} node(s) of the hierarchy, e.g. {short_list(missing[:5])}.")
    f = forecasts[forecasts["unique_id"].isin(need)]
    wide = f.pivot(index="ds", columns="unique_id", values=value_col)
    if wide.isna().any().any():
        raise InputError(f"{who}: the nodes' forecasts do not cover the same dates; expected every node forecast for every ds.")
    S = hierarchy.S
    is_bottom_node = pd.Series(False, index=nodes)
    is_bottom_node[hierarchy.bottom] = True
    if method == "bottom_up":
        b = wide[hierarchy.bottom].to_numpy(float)
    else:
        yhat = wide[nodes].to_numpy(float)  # periods × nodes
        if method == "wls_struct":
            w = np.asarray(S.sum(axis=1)).ravel()
            W = None
        else:
            if residuals is None:
                raise param_error("residuals", who, "given for method='mint_shrink' (e.g. a backtest's forecasts)", shown="None")
            r = residuals.assign(_e=residuals["y"] - residuals["yhat"])
            idx = ["window", "ds"] if "window" in r.columns else ["ds"]
            R = r.pivot_table(index=idx, columns="unique_id", values="_e", aggfunc="first").reindex(columns=nodes)
            lacking = R.columns[R.isna().all()].tolist()
            if len(lacking) == len(nodes):
                raise InputError(f"{who}: the residuals hold none of the hierarchy's nodes (expected unique_id values such as "
                                 f"{short_list(nodes[:3])}).")
            if lacking:
                warnings.warn(
                    f"{who}: no residuals for {len(lacking)} node(s) {_short_ids.repr(lacking)} (history too short to backtest); "
                    "they get the largest error variance of any node, so their forecasts move most.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            missing_col = R.isna().all().to_numpy()
            R = R.to_numpy(float)
            if len(nodes) > MAX_DENSE_NODES:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    x = R - np.nanmean(R, axis=0)
                    w = np.nanmean(x**2, axis=0)
                w = np.where(np.isfinite(w), w, 0.0)
                w = np.where(w > 0, w, max(float(np.nanmedian(w[w > 0])) * 1e-6, 1e-12) if (w > 0).any() else 1.0)
                w[missing_col] = w[~missing_col].max()
                W = None
            else:
                W = _shrunk_covariance(np.where(missing_col[None, :], 0.0, R))
                big = np.diag(W)[~missing_col].max()
                W[missing_col, :] = 0.0
                W[:, missing_col] = 0.0
                W[missing_col, missing_col] = big
                w = None
        b = _mint_bottom(yhat, S, is_bottom_node.to_numpy(), W, w)
    b = np.maximum(b, 0.0)  # set-negative-to-zero, then sum up again: still adds up exactly
    allv = (S @ b.T).T
    rec = pd.DataFrame(allv, index=wide.index, columns=nodes).stack().rename("_rec").reset_index()
    rec.columns = ["ds", "unique_id", "_rec"]
    out = forecasts.merge(rec, on=["unique_id", "ds"], how="right")
    out["level"] = out["unique_id"].map(hierarchy.nodes.set_index("unique_id")["level"])
    shift = out["_rec"] - out[value_col].fillna(0.0)
    for c in [c for c in out.columns if c.startswith((f"{value_col}_lo_", f"{value_col}_hi_"))]:
        out[c] = np.maximum(out[c] + shift, 0.0)
    out[value_col] = out["_rec"]
    order = pd.Series(np.arange(len(nodes)), index=nodes)
    out = out.assign(_o=out["unique_id"].map(order)).sort_values(["_o", "ds"], kind="mergesort")
    return out.drop(columns=["_rec", "_o"]).reset_index(drop=True)


def _mint_bottom(yhat: np.ndarray, S, is_bottom: np.ndarray, W: np.ndarray | None, w: np.ndarray | None) -> np.ndarray:
    """Reconciled bottom forecasts by the constraint form of MinT/WLS.

    y~ = y^ - W C' (C W C')^-1 C y^, with C = [I, -S_agg] over (aggregates, bottom):
    only an (aggregates × aggregates) system is solved, so 30,000 leaves stay cheap.
    """
    from scipy import sparse

    agg = ~is_bottom
    S = sparse.csr_matrix(S)
    # Order nodes as aggregates then bottom, bottom in S's column order.
    bottom_rows = np.flatnonzero(is_bottom)
    # The bottom rows of S are an identity up to order: map columns to rows.
    col_of_row = S[bottom_rows].indices
    bottom_rows = bottom_rows[np.argsort(col_of_row)]
    agg_rows = np.flatnonzero(agg)
    if agg_rows.size == 0:
        return yhat[:, bottom_rows]
    S_agg = S[agg_rows]
    C = sparse.hstack([sparse.identity(agg_rows.size, format="csr"), -S_agg], format="csr")
    perm = np.concatenate([agg_rows, bottom_rows])
    y = yhat[:, perm].T  # nodes(perm) × periods
    if W is None:
        wp = w[perm]
        CW = C.multiply(wp[None, :]).tocsr()
        CWC = (CW @ C.T).toarray() if agg_rows.size <= MAX_DENSE_NODES else None
        WCt = CW.T
    else:
        Wp = W[np.ix_(perm, perm)]
        CW = C @ Wp
        CWC = np.asarray(CW @ C.T.toarray())
        WCt = CW.T
    resid = C @ y
    if W is None and agg_rows.size > MAX_DENSE_NODES:
        # Many aggregates (e.g. every customer over its products): a sparse solve.
        from scipy.sparse.linalg import splu

        lam = splu(sparse.csc_matrix(CW @ C.T)).solve(np.asarray(resid))
    else:
        try:
            lam = np.linalg.solve(CWC, resid)
        except np.linalg.LinAlgError:
            lam = np.linalg.lstsq(CWC, resid, rcond=None)[0]
    adj = y - np.asarray(WCt @ lam)
    return adj[agg_rows.size:].T
