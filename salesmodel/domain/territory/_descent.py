"""The greedy descent of :func:`~salesmodel.domain.territory.rep_design`, as an object whose
state can be copied: the search for a larger disruption limit makes the same moves as the
search for a smaller one until the smaller limit first changes a choice, so a frontier of
limits resumes each search from that point instead of starting again (the same plans).

The setup (:class:`Pairs`) is what no move changes: the groups that move together, the
candidate (group, rep) pairs within the distance limit, their measures, distances and travel
counts, the contiguity graph. :class:`State` is what a move changes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph


def _choose(sub: np.ndarray, value: np.ndarray, delta: np.ndarray) -> int:
    """The move the search makes among the pairs ``sub`` (-1: none): the best balance gained per share
    moved; among moves that cost nothing (moves back), the largest gain; else the first pair."""
    if not len(sub):
        return -1
    val = value[sub]
    best = val.max()
    cand = sub[val == best]
    return int(cand[np.argmin(delta[cand])]) if np.isinf(best) else int(cand[0])


def _spans(starts: np.ndarray, which: np.ndarray) -> np.ndarray:
    """The indices ``starts[x]`` to ``starts[x + 1]`` of every ``x`` in ``which``, one array."""
    spans = [np.arange(starts[x], starts[x + 1]) for x in which]
    return np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)


def pieces(adj: Any, members: np.ndarray) -> int:
    """Connected pieces of the accounts ``members`` in the graph ``adj``."""
    return int(csgraph.connected_components(adj[members][:, members], directed=False)[0])


def cut_accounts(members: list[int], neighbours: list[list[int]]) -> list[int]:
    """The accounts of a territory (``members``) whose removal leaves it in more pieces: its cut
    vertices (Tarjan's low-link search, iterative, over the neighbours that are members)."""
    inside = set(members)
    disc: dict[int, int] = {}
    low: dict[int, int] = {}
    cuts: list[int] = []
    clock = 0
    for root in members:
        if root in disc:
            continue
        disc[root] = low[root] = clock
        clock += 1
        children = 0
        stack = [(root, -1, iter(neighbours[root]))]
        while stack:
            v, parent, rest = stack[-1]
            for w in rest:
                if w not in inside:
                    continue
                if w not in disc:
                    disc[w] = low[w] = clock
                    clock += 1
                    stack.append((w, v, iter(neighbours[w])))
                    break
                if w != parent and disc[w] < low[v]:
                    low[v] = disc[w]
            else:
                stack.pop()
                if parent < 0:
                    continue
                low[parent] = min(low[parent], low[v])
                if parent == root:
                    children += 1
                elif low[v] >= disc[parent]:
                    cuts.append(parent)
        if children >= 2:
            cuts.append(root)
    return cuts


@dataclass
class State:
    """What a move changes: the reps' totals and scores, each group's rep, the budgets used, and per
    candidate pair its gain, cost and whether it is worth trying."""

    T: np.ndarray
    f_rep: np.ndarray
    lab_g: np.ndarray
    a_arr: np.ndarray
    gain: np.ndarray
    delta: np.ndarray
    value: np.ndarray
    costs: np.ndarray  # per pair: potential, accounts moved away from home, accounts taken beyond each held km
    joins: np.ndarray
    blocked: np.ndarray
    promising: np.ndarray
    splits: np.ndarray
    have: np.ndarray  # accounts within each held distance now
    nb_g: np.ndarray | None
    moved_pot: float = 0.0
    moved_cnt: float = 0.0
    steps: int = 0

    def copy(self) -> State:
        return State(**{f.name: (v.copy() if isinstance(v := getattr(self, f.name), np.ndarray) else v)
                        for f in fields(self)})


class Descent:
    """The candidate pairs of a design and the moves among them.

    ``run(limit)`` descends from the current state under a disruption limit and returns the state
    at the first step the limit changed a choice (None if it never did): a search under any larger
    limit makes the same moves up to there.
    """

    def __init__(self, *, X: np.ndarray, tol: np.ndarray, mean: np.ndarray, T: np.ndarray, g: np.ndarray,
                 home: np.ndarray, start: np.ndarray, glock: np.ndarray, gallowed: np.ndarray, gdist: np.ndarray,
                 held: list[tuple[np.ndarray, float, float]], pot_g: np.ndarray, cnt_g: np.ndarray,
                 total_pot: float, total_cnt: float, max_distance_km: float, travel_weight: float, lab: np.ndarray,
                 links: tuple[Any, np.ndarray, np.ndarray] | None, dist: np.ndarray, near_km: float | None) -> None:
        n, G = len(g), len(home)
        R = T.shape[0]
        self.tol, self.mean, self.g, self.home = tol, mean, g, home
        self.total_pot, self.total_cnt = total_pot, total_cnt
        self.max_distance_km, self.travel_weight = max_distance_km, travel_weight
        XG = np.zeros((G, X.shape[1]))
        np.add.at(XG, g, X)
        self.XG, self.gdist = XG, gdist
        self.within = [w for w, _need, _have in held]
        self.need = np.array([need for _w, need, _have in held], dtype=float)
        cost_g = pot_g / total_pot + cnt_g / total_cnt
        pg, pr = np.nonzero(gallowed & ~glock[:, None])  # candidate (group, rep) pairs within the limit
        self.pg, self.pr = pg, pr
        self.within_p = [w[pg, pr] for w in self.within]  # per pair: its members within each distance at its rep
        self.Xp, self.dp, self.costp = XG[pg], gdist[pg, pr], cost_g[pg]
        self.potp, self.cntp, self.homep = pot_g[pg], cnt_g[pg], home[pg]
        self.g_pairs = np.searchsorted(pg, np.arange(G + 1))  # pg is sorted (np.nonzero): group x's pairs
        self.by_rep = np.argsort(pr, kind="stable")
        self.r_pairs = np.searchsorted(pr[self.by_rep], np.arange(R + 1))
        self.pot_g, self.cnt_g = pot_g, cnt_g
        adj, both, nb_start = links if links is not None else (None, None, None)
        self.adj, self.both, self.nb_start = adj, both, nb_start
        P = len(pg)
        nb_g = None
        if links is not None:
            nb_g = np.zeros((G, R))
            np.add.at(nb_g, (g[both[:, 0]], lab[both[:, 1]]), 1.0)
            near = np.ones((G, R), dtype=bool)
            np.logical_and.at(near, g, dist <= (near_km if near_km is not None else -1.0) + 1e-9)
            self.nearp = near[pg, pr]
            self.members = np.argsort(g, kind="stable")
            self.g_start = np.searchsorted(g[self.members], np.arange(G + 1))
            sym = (adj + adj.T).tocsr() if adj is not None else None
            self.neighbours = ([sym.indices[sym.indptr[i]:sym.indptr[i + 1]].tolist() for i in range(n)]
                               if sym is not None else [[] for _ in range(n)])
        self.contiguous = nb_g is not None
        self.single = np.bincount(g, minlength=G) == 1
        lab_g = start.copy()
        self.state = State(
            T=T, f_rep=self.score_rows(T), lab_g=lab_g, a_arr=lab_g[pg].copy(), gain=np.zeros(P), delta=np.zeros(P),
            value=np.zeros(P), costs=np.zeros((P, 2 + len(held))), joins=np.ones(P, dtype=bool),
            blocked=np.zeros(P, dtype=bool), promising=np.zeros(P, dtype=bool), splits=np.zeros(G, dtype=bool),
            have=np.array([have for _w, _need, have in held], dtype=float), nb_g=nb_g,
            moved_pot=float(pot_g[(lab_g != home) & (home >= 0)].sum()),
            moved_cnt=float(cnt_g[(lab_g != home) & (home >= 0)].sum()))
        if self.contiguous:
            self.mark_cuts(range(R))
        self.refresh(np.arange(P))

    def score_rows(self, T: np.ndarray) -> np.ndarray:
        return (((T / self.mean - 1.0) / self.tol) ** 2).sum(axis=-1)

    def mark_cuts(self, reps: Any) -> None:
        """A one-account group whose account holds its territory together (a cut vertex) leaves it in more
        pieces whatever rep it goes to: none of its moves is promising until that territory changes."""
        s = self.state
        held_by = s.lab_g[self.g]
        for rep in reps:
            mine = np.flatnonzero(held_by == rep)
            s.splits[self.g[mine]] = False
            cut = np.asarray(cut_accounts(mine.tolist(), self.neighbours), dtype=np.int64)
            s.splits[self.g[cut[self.single[self.g[cut]]]]] = True

    def refresh(self, idx: np.ndarray) -> None:
        """The pairs' gains, costs and travel counts after their reps' totals changed."""
        s = self.state
        grp = self.pg[idx]
        a, b, x = s.a_arr[idx], self.pr[idx], self.Xp[idx]
        gain = (self.score_rows(s.T[a] - x) - s.f_rep[a]) + (self.score_rows(s.T[b] + x) - s.f_rep[b])
        travel = np.maximum(0.0, self.dp[idx] - self.gdist[grp, a]) / self.max_distance_km * self.travel_weight
        delta = gain + travel
        s.gain[idx], s.delta[idx] = gain, delta
        homep = self.homep[idx]
        away_now, away_new = a != homep, b != homep
        potp, cntp, costp = self.potp[idx], self.cntp[idx], self.costp[idx]
        cost = np.empty((len(idx), s.costs.shape[1]))
        cost[:, 0] = np.where(away_new, potp, 0.0) - np.where(away_now, potp, 0.0)
        cost[:, 1] = np.where(away_new, cntp, 0.0) - np.where(away_now, cntp, 0.0)
        dcost = np.where(away_new, costp, 0.0) - np.where(away_now, costp, 0.0)
        # balance gained per share moved; moves that cost nothing (moves back) first
        s.value[idx] = np.where(dcost > 1e-15, -delta / np.maximum(dcost, 1e-15), np.inf)
        for e, within in enumerate(self.within):
            cost[:, 2 + e] = within[grp, a] - self.within_p[e][idx]
        s.costs[idx] = cost
        ok = (b != a) & (gain < -1e-9) & (delta < -1e-9) & ~s.splits[grp]
        if s.nb_g is not None:
            joins = (s.nb_g[grp, b] > 0) | self.nearp[idx]
            s.joins[idx] = joins
            ok &= joins
        s.blocked[idx] = False
        s.promising[idx] = ok

    def run(self, limit: float, max_moves: int) -> tuple[str, bool, State | None]:
        """Descend under ``limit`` (a share; inf: none) until no move helps or ``max_moves`` moves were made:
        how it stopped, whether the limit changed a choice, and the state just before it first did."""
        s = self.state
        stopped, bound, fork = "converged", False, None
        while True:
            if s.steps >= max_moves:
                stopped = "max_moves"
                break
            sub = np.flatnonzero(s.promising)
            room = np.concatenate([[limit * self.total_pot - s.moved_pot, limit * self.total_cnt - s.moved_cnt],
                                   s.have - self.need]) + 1e-9
            ok = s.costs[sub] <= room
            travel_ok = ok[:, 2:].all(axis=1)
            free = sub[travel_ok]  # what a search with no disruption limit could choose here
            sub = sub[travel_ok & ok[:, :2].all(axis=1)]
            j = _choose(sub, s.value, s.delta)
            if not bound and math.isfinite(limit) and _choose(free, s.value, s.delta) != j:
                bound = True  # from here on a larger limit would search differently
                fork = s.copy()
            if j < 0:
                break
            if not self._keeps_pieces(j):
                continue
            self._move(j)
        return stopped, bound, fork

    def _keeps_pieces(self, j: int) -> bool:
        """Whether taking pair ``j``'s group (of several accounts) away leaves its territory in no more
        pieces; if not, none of the group's moves is tried until that territory changes."""
        s, grp = self.state, self.pg[j]
        if self.adj is None or self.single[grp]:
            return True
        frm = s.a_arr[j]
        mem = np.flatnonzero(s.lab_g[self.g] == frm)
        rest = mem[self.g[mem] != grp]
        if len(rest) and pieces(self.adj, rest) > pieces(self.adj, mem):
            s.blocked[self.g_pairs[grp]:self.g_pairs[grp + 1]] = True
            s.promising[self.g_pairs[grp]:self.g_pairs[grp + 1]] = False
            return False
        return True

    def _move(self, j: int) -> None:
        s, g = self.state, self.g
        grp, to, frm = self.pg[j], self.pr[j], s.a_arr[j]
        s.T[frm] -= self.XG[grp]
        s.T[to] += self.XG[grp]
        s.f_rep[[frm, to]] = self.score_rows(s.T[[frm, to]])
        s.lab_g[grp] = to
        s.moved_pot += float(s.costs[j, 0])
        s.moved_cnt += float(s.costs[j, 1])
        for e, within in enumerate(self.within):
            s.have[e] += float(within[grp, to] - within[grp, frm])
        s.a_arr[self.g_pairs[grp]:self.g_pairs[grp + 1]] = to
        if self.contiguous:
            self.mark_cuts((frm, to))
        # the pairs whose gain changed: moves of the two reps' groups, and moves to the two reps
        touched = np.zeros(len(self.pg), dtype=bool)
        touched[_spans(self.g_pairs, np.flatnonzero((s.lab_g == frm) | (s.lab_g == to)))] = True
        touched[self.by_rep[self.r_pairs[frm]:self.r_pairs[frm + 1]]] = True
        touched[self.by_rep[self.r_pairs[to]:self.r_pairs[to + 1]]] = True
        if s.nb_g is not None:  # the neighbours of the moved accounts now see it at its new rep
            both, nb_start = self.both, self.nb_start
            links = np.concatenate([both[nb_start[i]:nb_start[i + 1], 1]
                                    for i in self.members[self.g_start[grp]:self.g_start[grp + 1]]])
            np.add.at(s.nb_g, (g[links], np.full(len(links), frm)), -1.0)
            np.add.at(s.nb_g, (g[links], np.full(len(links), to)), 1.0)
            touched[_spans(self.g_pairs, np.unique(g[links]))] = True
        self.refresh(np.flatnonzero(touched))
        s.steps += 1


def contiguity(graph: Any, units_order: Any, g: np.ndarray, n: int) -> tuple[Any, Any, Any]:
    """The accounts' graph as a sparse matrix in the units' order, and each account's neighbours outside
    its group (both ways, sorted by account, with where each account's list starts)."""
    e = graph.edges
    pos = {u: i for i, u in enumerate(units_order)}
    order = np.array([pos[u] for u in graph.units], dtype=np.int64)
    ends = np.column_stack([order[e[:, 0]], order[e[:, 1]]]) if len(e) else np.zeros((0, 2), dtype=np.int64)
    adj = sparse.csr_array((np.ones(len(ends)), (ends[:, 0], ends[:, 1])), shape=(n, n)) if len(ends) else None
    ends = ends[g[ends[:, 0]] != g[ends[:, 1]]]
    both = np.concatenate([ends, ends[:, ::-1]])  # (account, neighbour) both ways
    both = both[np.argsort(both[:, 0], kind="stable")]
    return adj, both, np.searchsorted(both[:, 0], np.arange(n + 1))
