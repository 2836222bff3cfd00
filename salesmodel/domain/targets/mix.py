"""Products and channels in the plan: each customer's target split by product and
by channel, with every margin exact after rounding.

1. :func:`mix_shares`: each customer's product x channel mix over a window of
   history (its own recent mix blended with its segment's; a customer without
   history takes its segment's).
2. :func:`split_by_mix`: the customers' targets times their mix, raked
   (iterative proportional fitting) so that the company's product totals and
   channel totals hold (given splits, or what the mixes add up to), then
   rounded by *controlled rounding*: the company product x channel table, the
   customer x product table and each product's customer x channel table are
   rounded in turn as transportation problems (a maximum flow over the cells'
   floor/ceiling choices), so every customer total, every product total, every
   channel total and therefore every region x product x channel sum is exact,
   not only the first margin.
3. :func:`controlled_round`: that rounding, for any table whose cells each
   belong to one row and one column (sparse), kept public for other two-way
   tables (rep x product x month).

Pure: DataFrames in, DataFrames out.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import MIX_OWN_WEIGHT, check
from salesmodel.domain.targets.allocation import largest_remainder
from salesmodel.domain.targets.raking import _ipf
from salesmodel.domain.targets.rounding import _is_multiple, _to_quanta
from salesmodel.errors import InfeasibleError, InputError, ParamsError, short_list

__all__ = ["controlled_round", "mix_shares", "split_by_mix", "split_weights"]


def controlled_round(values: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                     row_totals: np.ndarray, col_totals: np.ndarray, *, unit: float = 1.0,
                     what: str = "table") -> np.ndarray:
    """Round cells to multiples of ``unit`` keeping every row and every column total exactly.

    ``values`` are the cells' exact values; ``rows``/``cols`` their row and column codes
    (0..n-1, 0..m-1); ``row_totals``/``col_totals`` the totals to keep (multiples of
    ``unit``, each equal to the sum of its cells' exact values up to float noise). Each
    cell goes to the multiple just below or just above its exact value; which go up is
    a maximum flow (source -> row -> cell's column -> sink), which has a full solution
    whenever the margins are consistent (the fractional parts are a feasible flow).

    Examples
    --------
    >>> v = np.array([0.5, 0.5, 0.5, 0.5])
    >>> controlled_round(v, np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([1, 1]), np.array([1, 1])).tolist()
    [1.0, 0.0, 0.0, 1.0]
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    values = np.asarray(values, dtype=float)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if not (_is_multiple(row_totals, unit).all() and _is_multiple(col_totals, unit).all()):
        raise InputError(f"{what}: the totals to keep must be multiples of the rounding unit {unit:g}.")
    n, m = len(row_totals), len(col_totals)
    q = np.maximum(values, 0.0) / unit
    base = np.floor(q + 1e-7)
    frac = q - base
    row_need = _to_quanta(row_totals, unit) - np.rint(np.bincount(rows, weights=base, minlength=n)).astype(np.int64)
    col_need = _to_quanta(col_totals, unit) - np.rint(np.bincount(cols, weights=base, minlength=m)).astype(np.int64)
    if (row_need < 0).any() or (col_need < 0).any() or row_need.sum() != col_need.sum():
        raise InfeasibleError(f"{what}: the cells' floors exceed a total to keep; the margins are not consistent.")
    cand = np.flatnonzero(frac > 1e-7)
    src, sink = n + m, n + m + 1
    heads = np.concatenate((np.full(n, src), rows[cand], n + np.arange(m)))
    tails = np.concatenate((np.arange(n), n + cols[cand], np.full(m, sink)))
    caps = np.concatenate((row_need, np.ones(cand.size, dtype=np.int64), col_need)).astype(np.int32)
    # Parallel cells between the same row and column are merged by csr; keep them apart by
    # routing each candidate through its own node when a row/column pair repeats.
    pair = rows[cand] * m + cols[cand]
    if np.unique(pair).size != pair.size:
        k = cand.size
        mid = n + m + 2 + np.arange(k)
        heads = np.concatenate((np.full(n, src), rows[cand], mid, n + np.arange(m)))
        tails = np.concatenate((np.arange(n), mid, n + cols[cand], np.full(m, sink)))
        caps = np.concatenate((row_need, np.ones(2 * k, dtype=np.int64), col_need)).astype(np.int32)
        size = n + m + 2 + k
    else:
        mid = None
        size = n + m + 2
    graph = csr_matrix((caps, (heads, tails)), shape=(size, size))
    flow = maximum_flow(graph, src, sink)
    if flow.flow_value != int(row_need.sum()):
        raise InfeasibleError(f"{what}: could not round to every row and column total exactly.")
    f = flow.flow.tocsr()
    out = base.copy()
    if mid is None:
        used = np.asarray(f[rows[cand], n + cols[cand]]).ravel() > 0
    else:
        used = np.asarray(f[rows[cand], mid]).ravel() > 0
    out[cand[used]] += 1
    return out * unit


def split_weights(weights: Mapping[str, float] | None, keys: list[str], what: str) -> pd.Series | None:
    """A given split (weights by key, scaled to sum to 1), checked against the keys the history has."""
    if not weights:
        return None
    w = pd.Series({str(k): float(v) for k, v in weights.items()}, dtype=float)
    unknown = sorted(set(w.index) - set(keys))
    if unknown:
        raise ParamsError(f"targets.{what} names {short_list(unknown)}, which the sales history does not have "
                          f"(it has {short_list(keys)}).")
    if (w < 0).any() or w.sum() <= 0:
        raise ParamsError(f"targets.{what} weights must be >= 0 and not all zero; got {dict(w)}.")
    return (w / w.sum()).reindex(keys).fillna(0.0)


def mix_shares(sales: pd.DataFrame, customers: pd.DataFrame, *, first: str, last: str,
               own_weight: float = 0.7, segment: str | None = "customer_type") -> pd.DataFrame:
    """Each customer's share of its sales by product and channel.

    ``first``/``last`` are the window's first and last months (``YYYY-MM``). The
    customer's own mix in the window is blended with its segment's (``segment``, a
    column of ``customers``; none: the company's): ``own_weight x own + (1 - own_weight)
    x segment``; customers without sales in the window take their segment's mix.
    Returns ``customer_id, product, channel, own_share, segment_share, share`` for every
    customer x product x channel the window has (shares of a customer sum to 1).
    """
    own_weight = check(own_weight, MIX_OWN_WEIGHT, "own_weight", "mix_shares")
    # the window's days, compared as dates (formatting 1.7 M dates as text took seconds)
    dates = pd.to_datetime(sales["date"])
    in_window = (dates >= pd.Period(first, "M").start_time) & (dates <= pd.Period(last, "M").end_time)
    win = sales.loc[in_window, ["customer_id", "product", "channel", "amount"]]
    if win.empty:
        raise InputError(f"sales: no sales between {first} and {last}; there is no product and channel mix to plan by.")
    products = sorted(win["product"].astype(str).unique())
    channels = sorted(win["channel"].astype(str).unique())
    cust = customers[["customer_id"]].copy()
    seg_col = segment if segment and segment in customers.columns else None
    cust["_segment"] = customers[seg_col].astype(str).to_numpy() if seg_col else "all"
    grid = pd.MultiIndex.from_product([cust["customer_id"], products, channels], names=["customer_id", "product", "channel"])
    own = (win.assign(product=win["product"].astype(str), channel=win["channel"].astype(str))
           .groupby(["customer_id", "product", "channel"])["amount"].sum().reindex(grid, fill_value=0.0))
    frame = own.rename("amount").reset_index()
    frame["amount"] = frame["amount"].clip(lower=0.0)
    frame = frame.merge(cust, on="customer_id", how="left")
    seg = frame.groupby(["_segment", "product", "channel"])["amount"].sum()
    seg = seg / seg.groupby(level=0).transform("sum").replace(0.0, np.nan)
    company = frame.groupby(["product", "channel"])["amount"].sum()
    company = company / company.sum()
    frame["segment_share"] = seg.reindex(pd.MultiIndex.from_frame(frame[["_segment", "product", "channel"]])).to_numpy()
    fallback = company.reindex(pd.MultiIndex.from_frame(frame[["product", "channel"]])).to_numpy()
    frame["segment_share"] = np.where(np.isnan(frame["segment_share"]), fallback, frame["segment_share"])
    tot = frame.groupby("customer_id")["amount"].transform("sum")
    frame["own_share"] = np.where(tot > 0, frame["amount"] / tot.where(tot > 0, 1.0), np.nan)
    w = np.where(tot > 0, own_weight, 0.0)
    frame["share"] = w * np.nan_to_num(frame["own_share"]) + (1 - w) * frame["segment_share"]
    frame["last_year"] = frame["amount"]
    return frame[["customer_id", "product", "channel", "last_year", "own_share", "segment_share", "share"]]


def split_by_mix(targets: pd.DataFrame, shares: pd.DataFrame, *, round_to: float,
                 product_split: pd.Series | None = None, channel_split: pd.Series | None = None,
                 value: str = "target") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split each customer's target by product and channel, every margin exact.

    ``targets``: one row per customer (``customer_id`` and ``value``, multiples of
    ``round_to``). ``shares``: :func:`mix_shares`. ``product_split``/``channel_split``:
    the company's split (shares summing to 1); default: what the customers' mixes add up
    to. Returns the customer x product x channel table (``targets``' columns, product,
    channel, ``mix_share``, ``value``) and the company's product x channel table.
    The customers' totals, the product totals and the channel totals all hold exactly.
    """
    if not len(targets):
        raise InputError("split_by_mix: there are no customer targets to split.")
    products = sorted(shares["product"].unique())
    channels = sorted(shares["channel"].unique())
    cust = pd.Index(targets["customer_id"])
    n, p, c = len(cust), len(products), len(channels)
    s = np.zeros((n, p, c))
    r = cust.get_indexer(shares["customer_id"])
    keep = r >= 0
    pi = pd.Index(products).get_indexer(shares["product"])
    ci = pd.Index(channels).get_indexer(shares["channel"])
    s[r[keep], pi[keep], ci[keep]] = shares["share"].to_numpy(dtype=float)[keep]
    missing = s.reshape(n, -1).sum(axis=1) <= 0
    if missing.any():
        raise InputError(f"split_by_mix: customers {short_list(list(cust[missing]))} have no product and channel mix.")
    s /= s.sum(axis=(1, 2), keepdims=True)
    t = targets[value].to_numpy(dtype=float)
    if not _is_multiple(t, round_to).all():
        raise InputError(f"split_by_mix: the customer targets must be multiples of round_to={round_to:g}.")
    grand = float(t.sum())
    x = t[:, None, None] * s

    def margin(given: pd.Series | None, axis: tuple[int, int], keys: list[str]) -> np.ndarray:
        natural = x.sum(axis=axis)
        base = natural if given is None else given.reindex(keys).fillna(0.0).to_numpy() * grand
        if grand <= 0:
            return np.zeros(len(keys))
        return largest_remainder(base, grand, round_to)

    prod_t = margin(product_split, (0, 2), products)
    chan_t = margin(channel_split, (0, 1), channels)
    for name, tot, keys, axis in (("product", prod_t, products, (0, 2)), ("channel", chan_t, channels, (0, 1))):
        impossible = (tot > 0) & (x.sum(axis=axis) <= 0)
        if impossible.any():
            raise InputError(f"targets.{name}_split gives a share to {short_list([k for k, b in zip(keys, impossible) if b])}, "
                             "which no customer sold in the window; there is no customer to carry it.")
    if grand > 0:
        fit = _ipf(x, [((0,), t), ((1,), prod_t), ((2,), chan_t)], 1e-12, 5000)
        x = fit.array
    # Controlled rounding, stage by stage, so every margin stays exact.
    pc = x.sum(axis=0)
    pr, pcol = np.divmod(np.arange(p * c), c)
    pc_int = controlled_round(pc.ravel(), pr, pcol, prod_t, chan_t, unit=round_to,
                              what="the company's product x channel split").reshape(p, c)
    cp = x.sum(axis=2)
    cr, ccol = np.divmod(np.arange(n * p), p)
    cp_int = controlled_round(cp.ravel(), cr, ccol, t, prod_t, unit=round_to,
                              what="the customer x product split").reshape(n, p)
    if grand > 0:
        fit2 = _ipf(np.where(x > 0, x, 0.0) + 1e-12 * (cp_int[:, :, None] > 0),
                    [((0, 1), cp_int), ((1, 2), pc_int)], 1e-12, 5000)
        x = fit2.array
    cells = np.arange(n * p * c)
    ci_, rest = np.divmod(cells, p * c)
    pi_, chi = np.divmod(rest, c)
    final = controlled_round(x.ravel(), ci_ * p + pi_, pi_ * c + chi, cp_int.ravel(), pc_int.ravel(), unit=round_to,
                             what="the customer x product x channel split").reshape(n, p, c)
    long = targets.loc[np.repeat(np.arange(n), p * c)].reset_index(drop=True)
    long = long.drop(columns=[value])
    long["product"] = np.tile(np.repeat(products, c), n)
    long["channel"] = np.tile(channels, n * p)
    long["mix_share"] = s.ravel()
    long[value] = final.ravel()
    company = pd.DataFrame({"product": np.repeat(products, c), "channel": np.tile(channels, p), value: pc_int.ravel()})
    return long, company
