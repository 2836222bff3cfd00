"""Exact territory design: a p-median MILP with balance, contiguity and a disruption
limit, solved by HiGHS through ``scipy.optimize.milp``.

Variables (n units, every unit a candidate centre):

* ``x[i, j]`` in {0, 1}: unit i belongs to the territory centred on unit j;
  ``x[j, j]`` says j is a centre. Each unit in one territory, only to open centres,
  exactly k centres, and for each measure ``(1 - tol) mean x[j, j] <= sum_i m_i x[i, j]
  <= (1 + tol) mean x[j, j]``.
* With a current assignment and a disruption limit: ``l[j, t]`` in {0, 1} gives centre j
  the current label t (each label at most once) and ``u[i, j]`` in [0, 1] marks unit i
  staying with its current label through centre j; the kept measure is at least
  ``(1 - max_disruption)`` of the measure that has a current territory.

Objective: sum of weight_i x distance(i, j) x x[i, j].

Contiguity, two exact formulations:

* ``"cuts"`` (default): every non-centre member touches another member,
  ``x[i, j] <= sum over neighbours v of x[v, j]``; then the MILP is solved, pieces of a
  territory cut off from its centre are found, and for each such piece S the cut
  ``x[i, j] <= sum over v in the border of S of x[v, j]`` (i in S) is added, until
  the optimum is contiguous. Each cut is valid for every contiguous plan, so the last
  optimum is the proven optimum of the full problem.
* ``"flow"``: a rooted flow (Shirabe-style): centre j sends one unit of flow to each
  other member of its territory along arcs leaving only members
  (``f[j, (u, v)] <= (size - 1) x[u, j]``). One solve, a weaker relaxation.

On the 31 provinces into 5 regions at ±2% the cuts prove the optimum about ten times
faster than the flow (benchmarks/territory.py).
"""
from __future__ import annotations

import time

import numpy as np
from scipy import sparse
from scipy.optimize import LinearConstraint, milp
from scipy.sparse import csgraph

from salesmodel.domain.territory._graph import Graph
from salesmodel.domain.territory._units import Units


class _Rows:
    """Accumulates sparse constraint rows."""

    def __init__(self) -> None:
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lb: list[np.ndarray] = []
        self.ub: list[np.ndarray] = []
        self.count = 0

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, lb, ub) -> None:
        self.r.append(np.asarray(rows, dtype=np.int64) + self.count)
        self.c.append(np.asarray(cols, dtype=np.int64))
        self.v.append(np.asarray(vals, dtype=float))
        self.lb.append(np.broadcast_to(np.asarray(lb, dtype=float), (n_rows,)))
        self.ub.append(np.broadcast_to(np.asarray(ub, dtype=float), (n_rows,)))
        self.count += n_rows

    def constraint(self, n_vars: int) -> LinearConstraint:
        a = sparse.csr_array(
            (np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))), shape=(self.count, n_vars)
        )
        return LinearConstraint(a, np.concatenate(self.lb), np.concatenate(self.ub))


def _largest_territory(units: Units, k: int) -> int:
    """Most units a territory can hold: n - k + 1, or fewer when a measure's upper
    tolerance caps how many of the smallest units fit."""
    n = units.n
    cap = n - k + 1
    for c in range(units.measures.shape[1]):
        values = np.sort(units.measures[:, c])
        total = values.sum()
        if total <= 0:
            continue
        upper = (1 + units.tolerances[c]) * total / k
        cap = min(cap, int(np.searchsorted(np.cumsum(values), upper * (1 + 1e-12), side="right")))
    return max(cap, 1)


def solve_exact(
    units: Units,
    k: int,
    *,
    graph: Graph | None,
    contiguous: bool,
    current_codes: np.ndarray | None,
    n_labels: int,
    disruption_measure: np.ndarray | None,
    max_disruption: float | None,
    time_limit: float,
    fixed_centres: np.ndarray | None = None,
    formulation: str = "cuts",
) -> dict:
    """Solve the MILP; returns codes (territory per unit as centre index), status, bound, gap."""
    n = units.n
    dist = units.dist_matrix(np.arange(n), np.arange(n))
    nx = n * n

    def X(i, j):
        return np.asarray(i) * n + np.asarray(j)

    rows = _Rows()
    ii = np.repeat(np.arange(n), n)
    jj = np.tile(np.arange(n), n)
    off_diag = ii != jj

    # Each unit in exactly one territory.
    rows.add(ii, X(ii, jj), np.ones(nx), n, 1, 1)
    # Only to an open centre: x[i, j] - x[j, j] <= 0.
    oi, oj = ii[off_diag], jj[off_diag]
    m = len(oi)
    rows.add(np.concatenate([np.arange(m), np.arange(m)]), np.concatenate([X(oi, oj), X(oj, oj)]),
             np.concatenate([np.ones(m), -np.ones(m)]), m, -np.inf, 0)
    # Exactly k centres.
    diag = X(np.arange(n), np.arange(n))
    rows.add(np.zeros(n), diag, np.ones(n), 1, k, k)

    # Balance: L x[j, j] <= sum_i m_i x[i, j] <= U x[j, j] for each measure.
    for c in range(units.measures.shape[1]):
        values = units.measures[:, c]
        mean = values.sum() / k
        if mean <= 0:
            continue
        tol = units.tolerances[c]
        lo, hi = (1 - tol) * mean, (1 + tol) * mean
        for bound, sign_lb, sign_ub in ((hi, -np.inf, 0.0), (lo, 0.0, np.inf)):
            coef = values[ii].copy()
            on_diag = ii == jj
            coef[on_diag] -= bound
            rows.add(jj, X(ii, jj), coef, n, sign_lb, sign_ub)

    n_vars = nx
    flow_start = n_vars
    need_contiguity = contiguous and graph is not None and k < n
    if need_contiguity and formulation == "flow":
        arcs = np.vstack([graph.edges, graph.edges[:, ::-1]])
        n_arcs = len(arcs)
        n_vars += n * n_arcs
        big = _largest_territory(units, k) - 1
        j_of = np.repeat(np.arange(n), n_arcs)
        a_of = np.tile(np.arange(n_arcs), n)
        fidx = flow_start + j_of * n_arcs + a_of
        tail, head = arcs[a_of, 0], arcs[a_of, 1]
        # Flow leaves only nodes of the territory: f - big x[tail, j] <= 0.
        cnt = len(fidx)
        rows.add(np.concatenate([np.arange(cnt), np.arange(cnt)]), np.concatenate([fidx, X(tail, j_of)]),
                 np.concatenate([np.ones(cnt), -big * np.ones(cnt)]), cnt, -np.inf, 0)
        # Conservation at every non-centre node i of commodity j: in - out - x[i, j] = 0.
        node_row = j_of * n + head  # inflow at head
        node_row_out = j_of * n + tail
        r = np.concatenate([node_row, node_row_out, np.arange(n * n)])
        cidx = np.concatenate([fidx, fidx, X(np.tile(np.arange(n), n), np.repeat(np.arange(n), n))])
        vals = np.concatenate([np.ones(cnt), -np.ones(cnt), -np.ones(n * n)])
        # Row j*n + i is node i of commodity j; rows for i == j (the source) are dropped.
        keep_row = np.ones(n * n, dtype=bool)
        keep_row[np.arange(n) * n + np.arange(n)] = False
        new_index = np.cumsum(keep_row) - 1
        sel = keep_row[r]
        rows.add(new_index[r[sel]], cidx[sel], vals[sel], int(keep_row.sum()), 0, 0)

    label_start = n_vars
    use_disruption = current_codes is not None and max_disruption is not None and n_labels > 0
    if use_disruption:
        L = n_labels
        n_vars += n * L
        kept_start = n_vars
        n_vars += n * n

        def Lv(j, t):
            return label_start + np.asarray(j) * L + np.asarray(t)

        # A centre carries at most one label; only centres carry labels.
        jl = np.repeat(np.arange(n), L)
        tl = np.tile(np.arange(L), n)
        rows.add(np.concatenate([jl, np.arange(n)]), np.concatenate([Lv(jl, tl), diag]),
                 np.concatenate([np.ones(n * L), -np.ones(n)]), n, -np.inf, 0)
        # Each label used at most once.
        rows.add(tl, Lv(jl, tl), np.ones(n * L), L, -np.inf, 1)
        has = current_codes >= 0
        hi_, hj_ = ii[has[ii]], jj[has[ii]]
        uidx = kept_start + hi_ * n + hj_
        cntu = len(uidx)
        # Kept through j only if assigned to j and j carries i's current label.
        rows.add(np.concatenate([np.arange(cntu), np.arange(cntu)]), np.concatenate([uidx, X(hi_, hj_)]),
                 np.concatenate([np.ones(cntu), -np.ones(cntu)]), cntu, -np.inf, 0)
        rows.add(np.concatenate([np.arange(cntu), np.arange(cntu)]),
                 np.concatenate([uidx, Lv(hj_, current_codes[hi_])]),
                 np.concatenate([np.ones(cntu), -np.ones(cntu)]), cntu, -np.inf, 0)
        # Measure kept >= (1 - max_disruption) x measure with a current territory.
        base = disruption_measure[has].sum()
        rows.add(np.zeros(cntu), uidx, disruption_measure[hi_], 1, (1 - max_disruption) * base - 1e-9, np.inf)

    c = np.zeros(n_vars)
    c[:nx] = (units.weights[:, None] * dist).ravel()
    integrality = np.zeros(n_vars)
    integrality[:nx] = 1
    lower = np.zeros(n_vars)
    upper = np.full(n_vars, np.inf)
    upper[:nx] = 1
    if use_disruption:
        integrality[label_start:kept_start] = 1
        upper[label_start:] = 1
    if fixed_centres is not None:
        lower[diag[fixed_centres]] = 1
    t_end = time.perf_counter() + float(time_limit)
    use_cuts = need_contiguity and formulation == "cuts"
    if use_cuts:
        _neighbour_cuts(rows, graph, n)
    rounds = 0
    while True:
        rounds += 1
        left = t_end - time.perf_counter()
        res = milp(
            c,
            integrality=integrality,
            bounds=(lower, upper),
            constraints=rows.constraint(n_vars),
            options={"time_limit": max(left, 0.5), "disp": False, "mip_rel_gap": 1e-9},
        )
        if res.x is None or not use_cuts:
            break
        centre_of = np.argmax(res.x[:nx].reshape(n, n), axis=1)
        added = _separate(rows, graph, centre_of, n)
        if not added:
            break
        if time.perf_counter() >= t_end:
            # Out of time with a plan that is not contiguous: keep only its bound.
            out = {"status_code": 1, "message": "time limit", "codes": None, "labels": None,
                   "bound": getattr(res, "mip_dual_bound", None), "gap": None, "rounds": rounds}
            return out
    out = {"status_code": res.status, "message": res.message, "codes": None, "labels": None, "rounds": rounds}
    out["bound"] = getattr(res, "mip_dual_bound", None)
    out["gap"] = getattr(res, "mip_gap", None)
    if res.x is None:
        return out
    xv = res.x[:nx].reshape(n, n)
    centre_of = np.argmax(xv, axis=1)
    out["codes"] = centre_of
    out["milp_objective"] = float(res.fun)
    if use_disruption:
        lv = res.x[label_start:kept_start].reshape(n, n_labels)
        out["labels"] = {int(j): int(np.argmax(lv[j])) for j in np.unique(centre_of) if lv[j].max() > 0.5}
    return out


def _neighbour_cuts(rows: _Rows, graph: Graph, n: int) -> None:
    """A member that is not the centre touches another member of its territory:
    x[i, j] <= sum over neighbours v of i of x[v, j], for all i != j."""
    deg = np.array([len(nb) for nb in graph.neighbours])
    ii = np.repeat(np.arange(n), n)
    jj = np.tile(np.arange(n), n)
    keep = ii != jj
    ii, jj = ii[keep], jj[keep]
    m = len(ii)
    r_nb = np.repeat(np.arange(m), deg[ii])
    v_nb = np.concatenate([graph.neighbours[i] for i in ii]) if m else np.zeros(0, dtype=np.int64)
    j_nb = np.repeat(jj, deg[ii])
    rows.add(np.concatenate([np.arange(m), r_nb]), np.concatenate([ii * n + jj, v_nb * n + j_nb]),
             np.concatenate([np.ones(m), -np.ones(len(r_nb))]), m, -np.inf, 0)


def _separate(rows: _Rows, graph: Graph, centre_of: np.ndarray, n: int) -> int:
    """Cuts for pieces of a territory cut off from its centre.

    For a piece S of territory j without j, every i in S needs a path to j, which
    must leave S through a unit of its border N(S): x[i, j] <= sum over v in N(S) of x[v, j].
    Returns the number of cuts added.
    """
    e = graph.edges
    same = centre_of[e[:, 0]] == centre_of[e[:, 1]]
    kept = e[same]
    m = sparse.csr_array((np.ones(len(kept)), (kept[:, 0], kept[:, 1])), shape=(n, n))
    _, comp = csgraph.connected_components(m, directed=False)
    added = 0
    for j in np.unique(centre_of):
        members = np.flatnonzero(centre_of == j)
        for piece in np.unique(comp[members]):
            if piece == comp[j]:
                continue
            inside = members[comp[members] == piece]
            in_set = np.zeros(n, dtype=bool)
            in_set[inside] = True
            border = np.unique(np.concatenate([graph.neighbours[i] for i in inside]))
            border = border[~in_set[border]]
            for i in inside:
                cols = np.concatenate([[i * n + j], border * n + j])
                vals = np.concatenate([[1.0], -np.ones(len(border))])
                rows.add(np.zeros(len(cols)), cols, vals, 1, -np.inf, 0)
                added += 1
    return added
