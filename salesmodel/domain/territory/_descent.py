"""The greedy descent of :func:`~salesmodel.domain.territory.rep_design`, as an object whose
state can be copied: the search for a larger disruption limit makes the same moves as the
search for a smaller one until the smaller limit first changes a choice, so a frontier of
limits resumes each search from that point instead of starting again (the same plans).

The setup is what no move changes: the groups that move together, the candidate (group, rep)
pairs (:class:`Pairs`), their measures, distances and travel counts, the contiguity graph.
:class:`State` is what a move changes. Everything is held per pair or per group, never as a table of
every group against every rep, so a move costs the same in a region of any size.
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
    which = np.asarray(which, dtype=np.int64)
    lo = starts[which]
    size = starts[which + 1] - lo
    if not size.sum():
        return np.zeros(0, dtype=np.int64)
    return np.repeat(lo - np.cumsum(size) + size, size) + np.arange(int(size.sum()))


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (np.unique, without its hashing: a few thousand values a move)."""
    values = np.sort(values)
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if len(values) else values


@dataclass
class Pairs:
    """The candidate (group, rep) pairs of a search, sorted by group then rep: the members' road km to
    the rep (``km``), whether all lie within the near distance (``near``), how many lie within each held
    distance (``within``); and each group at its start rep (``start_km``, ``start_within``: held
    distances x groups)."""

    pg: np.ndarray
    pr: np.ndarray
    km: np.ndarray
    near: np.ndarray
    within: list[np.ndarray]
    start_km: np.ndarray
    start_within: np.ndarray


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
    """What a move changes: the reps' totals and scores, each group's rep (and its km and counts within
    the held distances there), the budgets used, and per candidate pair its gain, cost, neighbours held
    by its rep and whether it is worth trying (``prom``: the pairs worth trying, in order)."""

    T: np.ndarray
    f_rep: np.ndarray
    lab_g: np.ndarray
    at_km: np.ndarray
    at_within: np.ndarray
    a_arr: np.ndarray
    gain: np.ndarray
    delta: np.ndarray
    value: np.ndarray
    costs: np.ndarray  # per pair: potential, accounts moved away from home, accounts taken beyond each held km
    joins: np.ndarray
    blocked: np.ndarray
    promising: np.ndarray
    prom: np.ndarray
    splits: np.ndarray
    have: np.ndarray  # accounts within each held distance now
    nb: np.ndarray | None  # per pair: the group's neighbours (outside it) its rep holds
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
                 home: np.ndarray, start: np.ndarray, pairs: Pairs, pot_g: np.ndarray, cnt_g: np.ndarray,
                 total_pot: float, total_cnt: float, max_distance_km: float, travel_weight: float, lab: np.ndarray,
                 links: tuple[Any, np.ndarray, np.ndarray] | None) -> None:
        n, G = len(g), len(home)
        R = T.shape[0]
        self.R = R
        self.tol, self.mean, self.g, self.home = tol, mean, g, home
        self.total_pot, self.total_cnt = total_pot, total_cnt
        self.max_distance_km, self.travel_weight = max_distance_km, travel_weight
        XG = np.zeros((G, X.shape[1]))
        np.add.at(XG, g, X)
        self.XG = XG
        cost_g = pot_g / total_pot + cnt_g / total_cnt
        pg, pr = pairs.pg, pairs.pr
        self.pg, self.pr = pg, pr
        self.keys = pg * R + pr  # sorted: a (group, rep)'s pair is found by bisection
        self.within_p = pairs.within  # per pair: its members within each held distance at its rep
        self.Xp, self.dp, self.costp = XG[pg], pairs.km, cost_g[pg]
        self.potp, self.cntp, self.homep = pot_g[pg], cnt_g[pg], home[pg]
        self.g_pairs = np.searchsorted(pg, np.arange(G + 1))  # group x's pairs
        self.by_rep = np.argsort(pr, kind="stable")
        self.r_pairs = np.searchsorted(pr[self.by_rep], np.arange(R + 1))
        self.pot_g, self.cnt_g = pot_g, cnt_g
        adj, both, nb_start = links if links is not None else (None, None, None)
        self.adj, self.both, self.nb_start = adj, both, nb_start
        P = len(pg)
        nb = None
        if links is not None:
            nb = np.bincount(self.pair_of(g[both[:, 0]], lab[both[:, 1]]), minlength=P + 1)[:P].astype(float)
            self.nearp = pairs.near
            self.members = np.argsort(g, kind="stable")
            self.g_start = np.searchsorted(g[self.members], np.arange(G + 1))
            sym = (adj + adj.T).tocsr() if adj is not None else None
            self.neighbours = ([sym.indices[sym.indptr[i]:sym.indptr[i + 1]].tolist() for i in range(n)]
                               if sym is not None else [[] for _ in range(n)])
        self.contiguous = nb is not None
        self.single = np.bincount(g, minlength=G) == 1
        lab_g = start.copy()
        E = len(pairs.within)
        self.state = State(
            T=T, f_rep=self.score_rows(T), lab_g=lab_g, at_km=pairs.start_km.copy(),
            at_within=pairs.start_within.copy(), a_arr=lab_g[pg].copy(), gain=np.zeros(P), delta=np.zeros(P),
            value=np.zeros(P), costs=np.zeros((P, 2 + E)), joins=np.ones(P, dtype=bool),
            blocked=np.zeros(P, dtype=bool), promising=np.zeros(P, dtype=bool), prom=np.zeros(0, dtype=np.int64),
            splits=np.zeros(G, dtype=bool), have=pairs.start_within.sum(axis=1), nb=nb,
            moved_pot=float(pot_g[(lab_g != home) & (home >= 0)].sum()),
            moved_cnt=float(cnt_g[(lab_g != home) & (home >= 0)].sum()))
        self.need = self.state.have.copy()  # as many accounts within each held distance as today
        if self.contiguous:
            self.mark_cuts(range(R))
        self.refresh(np.arange(P))

    def pair_of(self, groups: np.ndarray, reps: np.ndarray) -> np.ndarray:
        """The pair of each (group, rep); ``len(pg)`` where there is none."""
        key = groups * self.R + reps
        at = np.searchsorted(self.keys, key)
        found = at < len(self.keys)
        found[found] = self.keys[at[found]] == key[found]
        return np.where(found, at, len(self.keys))

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
        """The pairs' gains, costs and travel counts after their reps' totals changed (``idx``: sorted,
        distinct). Only a pair that could be tried is worked out: the others are not read until a move
        refreshes them again."""
        s = self.state
        grp, b = self.pg[idx], self.pr[idx]
        a = s.a_arr[idx]
        live = (b != a) & ~s.splits[grp]
        if s.nb is not None:
            joins = (s.nb[idx] > 0) | self.nearp[idx]
            s.joins[idx] = joins
            live &= joins
        s.blocked[idx] = False
        every, before = idx, s.promising[idx]
        s.promising[idx] = False
        idx, grp, a, b = idx[live], grp[live], a[live], b[live]
        x = self.Xp[idx]
        gain = (self.score_rows(s.T[a] - x) - s.f_rep[a]) + (self.score_rows(s.T[b] + x) - s.f_rep[b])
        travel = np.maximum(0.0, self.dp[idx] - s.at_km[grp]) / self.max_distance_km * self.travel_weight
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
        for e, within in enumerate(self.within_p):
            cost[:, 2 + e] = s.at_within[e, grp] - within[idx]
        s.costs[idx] = cost
        s.promising[idx] = (gain < -1e-9) & (delta < -1e-9)
        after = s.promising[every]
        self._sync(bool((before & ~after).any()), every[after & ~before])

    def _sync(self, dropped: bool, added: np.ndarray) -> None:
        """``prom`` (sorted) after pairs stopped (``dropped``) or started (``added``, sorted) being worth trying."""
        s = self.state
        if dropped:
            s.prom = s.prom[s.promising[s.prom]]
        if len(added):
            s.prom = np.insert(s.prom, np.searchsorted(s.prom, added), added)

    def run(self, limit: float, max_moves: int) -> tuple[str, bool, State | None]:
        """Descend under ``limit`` (a share; inf: none) until no move helps or ``max_moves`` moves were made:
        how it stopped, whether the limit changed a choice, and the state just before it first did."""
        s = self.state
        stopped, bound, fork = "converged", False, None
        while True:
            if s.steps >= max_moves:
                stopped = "max_moves"
                break
            room = np.concatenate([[limit * self.total_pot - s.moved_pot, limit * self.total_cnt - s.moved_cnt],
                                   s.have - self.need]) + 1e-9
            watch = not bound and math.isfinite(limit)
            j, free = self._pick(room, watch)
            if watch and free != j:
                bound = True  # from here on a larger limit would search differently
                fork = s.copy()
            if j < 0:
                break
            if not self._keeps_pieces(j):
                continue
            self._move(j)
        return stopped, bound, fork

    def _pick(self, room: np.ndarray, watch: bool, levels: int = 3) -> tuple[int, int]:
        """The move the search makes within ``room`` (-1: none) and, with ``watch``, the move a search with
        no disruption limit would make (travel held only). The pairs worth trying are looked at from the
        best value down, a few values at a time (most often the best is allowed); past ``levels`` values
        all of them are checked at once. The same choices as checking all."""
        s = self.state
        sub = s.prom
        values = s.value[sub]
        j = free = None
        for _ in range(levels):
            if not len(values) or values.max() == -np.inf:
                return (-1 if j is None else j), (-1 if free is None else free)
            level = values == values.max()
            cand = sub[level]
            ok = s.costs[cand] <= room
            travel_ok = ok[:, 2:].all(axis=1)
            if free is None and travel_ok.any():
                free = _choose(cand[travel_ok], s.value, s.delta)
            both = travel_ok & ok[:, :2].all(axis=1)
            if j is None and both.any():
                j = _choose(cand[both], s.value, s.delta)
            if j is not None and (free is not None or not watch):
                return j, (-1 if free is None else free)
            values = np.where(level, -np.inf, values)
        ok = s.costs[sub] <= room
        travel_ok = ok[:, 2:].all(axis=1)
        rest = values > -np.inf  # the values not looked at yet
        if free is None:
            free = _choose(sub[travel_ok & rest], s.value, s.delta)
        if j is None:
            j = _choose(sub[travel_ok & ok[:, :2].all(axis=1) & rest], s.value, s.delta)
        return j, free

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
            self._sync(True, np.zeros(0, dtype=np.int64))
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
        for e, within in enumerate(self.within_p):
            s.have[e] += float(within[j] - s.at_within[e, grp])
            s.at_within[e, grp] = within[j]
        s.at_km[grp] = self.dp[j]
        s.a_arr[self.g_pairs[grp]:self.g_pairs[grp + 1]] = to
        if self.contiguous:
            self.mark_cuts((frm, to))
        # the pairs whose gain changed: moves of the two reps' groups, and moves to the two reps
        touched = [_spans(self.g_pairs, np.flatnonzero((s.lab_g == frm) | (s.lab_g == to))),
                   self.by_rep[self.r_pairs[frm]:self.r_pairs[frm + 1]],
                   self.by_rep[self.r_pairs[to]:self.r_pairs[to + 1]]]
        if s.nb is not None:  # the neighbours of the moved accounts now see it at its new rep
            both, nb_start = self.both, self.nb_start
            links = np.concatenate([both[nb_start[i]:nb_start[i + 1], 1]
                                    for i in self.members[self.g_start[grp]:self.g_start[grp + 1]]])
            near = g[links]
            for rep, step in ((frm, -1.0), (to, 1.0)):
                at = self.pair_of(near, np.full(len(near), rep))
                np.add.at(s.nb, at[at < len(self.pg)], step)
            touched.append(_spans(self.g_pairs, _distinct(near)))
        self.refresh(_distinct(np.concatenate(touched)))
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
