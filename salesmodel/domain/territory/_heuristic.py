"""Heuristic territory design for thousands of units.

1. Start. Seeds: given, or weighted k-means++ on the coordinates, spread over the
   graph's parts in proportion to their size. Then a balanced location-allocation LP
   (HiGHS): units go, fractionally, to the seeds at least weighted distance with every
   territory within 60% of each tolerance; candidates are each unit's 12 nearest
   centres and each centre's nearest units up to three territories' worth, so a
   centre in a sparse area can still fill its share. Split units are rounded, largest
   first, to the territory furthest below its share; two Lloyd rounds re-solve the LP
   from the territories' medoids. Pieces of a territory cut off from its main piece
   then join, whole, the touching territory whose balance they help most. (If the
   LP finds nothing in time: balanced region growing on the graph, where the
   territory with the smallest load takes its nearest unassigned neighbour.)
   With a current assignment and a disruption limit the start is the current
   assignment instead (merged or split to k territories, fragments repaired), or a
   given plan (a warm start). A start that moves more than the limit allows has its
   moved units sent back to today's territories, those costing the least balance per
   unit of disruption first, from the borders inwards; if that cannot fit the limit,
   the search starts from today's territories.
2. Local search on a penalty: balance (a quadratic pull to the mean plus a heavy
   charge beyond the tolerance, per measure, in units of the tolerance), compactness
   (weighted distance to the territories' medoids) and moved potential. Greedy sweeps
   of boundary moves (a unit joins a neighbouring territory); when they stall with a
   tolerance broken, swaps, then simulated annealing over moves, pulls and swaps of
   neighbouring units (half the steps start in a territory that breaks a tolerance),
   stopping as soon as every tolerance holds; then greedy sweeps again, and a last
   compactness polish that may not break a tolerance. A move is allowed only if the
   territory it leaves stays connected (a depth-first search inside that territory
   from one former neighbour of the unit until it has reached the others) and if it
   keeps the disruption within its limit.

Deterministic for a given seed at any machine load: every random choice draws from
``numpy.random.default_rng(seed)`` and every phase stops on a count, never on the clock:
a greedy descent after ``max_sweeps`` sweeps (or when no move improves), the annealing
after ``anneal_steps`` steps (or when every tolerance holds; its temperature follows the
step count) and the start's LP when HiGHS solves it. The time limit is only a safety
stop; when it is what ended a phase, the result reports ``stopped_by="time_limit"``
and may differ on a rerun.
"""
from __future__ import annotations

import heapq
import math
import time
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from salesmodel.domain.territory._graph import Graph
from salesmodel.domain.territory._plan import medoid, medoids, territory_parts
from salesmodel.domain.territory._units import Units

# Penalty weights: balance inside the tolerance (pull to the mean), beyond it (linear
# and quadratic, in units of the tolerance), compactness, and disruption.
# Phase 1 pulls every territory firmly towards the mean (slack for its neighbours);
# phase 2 polishes compactness with a light pull.
_PHASES = ({"soft": 1.0, "compact": 0.2, "hard": 20.0}, {"soft": 0.02, "compact": 1.0, "hard": 1000.0})
_MOVED = 0.5
# Largest units x territories for which distances to the centres are kept in a matrix.
_CACHED_DISTANCES = 8_000_000
# The start's LP aims this much inside each tolerance, over this many nearest centres.
_LP_TIGHTEN = 0.6
_LP_CANDIDATES = 12
# Annealing length when not given: steps per unit, capped.
_ANNEAL_STEPS_PER_UNIT = 3000
_ANNEAL_MAX_STEPS = 40_000_000


def default_anneal_steps(n: int) -> int:
    """Annealing steps for ``n`` units when none are given."""
    return int(min(_ANNEAL_STEPS_PER_UNIT * n, _ANNEAL_MAX_STEPS))


class _Clock:
    """The safety stop: a deadline checked between steps, remembering whether it was hit
    (then the result depends on the machine's speed and may not replay)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.hit = False

    def out(self, deadline: float | None = None) -> bool:
        if time.perf_counter() >= (self.deadline if deadline is None else deadline):
            self.hit = True
        return self.hit

    def left(self) -> float:
        return self.deadline - time.perf_counter()
# Share of annealing steps that swap two neighbours instead of moving one unit.
_SWAP_SHARE = 0.5


class _State:
    def __init__(self, units: Units, graph: Graph, k: int, labels: np.ndarray) -> None:
        self.u = units
        self.k = k
        self.nb = [a.tolist() for a in graph.neighbours]
        self.nbset = [set(a) for a in self.nb]
        self.lab = labels.astype(np.int64).tolist()
        q = units.measures.shape[1]
        self.q = q
        self.meas = units.measures.tolist()
        means = units.measures.sum(0) / k
        tol = np.maximum(units.tolerances, 1e-3)
        # Balance works in units of the tolerance: dev = (total - mean) / (tol * mean).
        self.scale = [float(1.0 / (tol[c] * means[c])) if means[c] > 0 else 0.0 for c in range(q)]
        self.means = means.tolist()
        self.loads = np.zeros((k, q))
        np.add.at(self.loads, labels, units.measures)
        self.loads = self.loads.tolist()
        self.size = np.bincount(labels, minlength=k).tolist()
        self.w = units.weights.tolist()
        pts = units.points
        self.px = pts.tolist()
        self.sphere = units.kind == "latlon"
        # Compactness normalised so that an average unit at a typical distance costs ~1/n_t.
        self.members = [set() for _ in range(k)]
        for i, t in enumerate(self.lab):
            self.members[t].add(i)
        self.centres = medoids(units, labels, k).tolist()
        d0 = self._all_distances(labels)
        wsum = float(units.weights.sum()) or 1.0
        typical = float((units.weights * d0).sum() / wsum) or 1.0
        self.compact_unit = k / (wsum * typical)
        self.meas_np = np.asarray(units.measures, dtype=float)
        self.means_np = np.asarray(means, dtype=float)
        self.scale_np = np.asarray(self.scale, dtype=float)
        self.cd = None
        self._centre_distances()
        self.set_phase(_PHASES[0])

    def set_phase(self, phase: dict) -> None:
        """Switch the penalty weights; each territory's cached balance penalty follows."""
        self.soft, self.hard = phase["soft"], phase["hard"]
        self.compact_scale = phase["compact"] * self.compact_unit
        self.pen = [self.bal(self.loads[t]) for t in range(self.k)]

    def _centre_distances(self) -> None:
        # Distances from every unit to every territory's centre, kept while the centres
        # hold (a sweep or an annealing run): the hot loops then read them instead of
        # computing haversines. Left out when the matrix would be large.
        if self.u.n * self.k > _CACHED_DISTANCES:
            self.cd = None
            return
        if self.cd is None:
            self.cd = np.empty((self.u.n, self.k))
            self._cd_centres = [-1] * self.k
        for t, c in enumerate(self.centres):
            if self._cd_centres[t] != c:  # only the columns whose centre moved
                self.cd[:, t] = self.u.dist(c, slice(None))
                self._cd_centres[t] = c

    def to_centre(self, i: int, t: int) -> float:
        """Distance from unit ``i`` to territory ``t``'s centre."""
        if self.cd is not None:
            return self.cd.item(i, t)
        return self.dist(i, self.centres[t])

    def bal_rows(self, loads: np.ndarray) -> np.ndarray:
        """:meth:`bal` of each row of a (rows x measures) array of territory loads."""
        d = (loads - self.means_np) * self.scale_np
        e = np.maximum(np.abs(d) - 1.0, 0.0)
        return (self.soft * d * d + self.hard * (e + e * e)).sum(axis=1)

    def _all_distances(self, labels: np.ndarray) -> np.ndarray:
        d = np.empty(self.u.n)
        cen = np.asarray(self.centres)
        for t in range(self.k):
            members = np.flatnonzero(labels == t)
            if len(members):
                d[members] = self.u.dist(cen[t], members)
        return d

    def dist(self, i: int, j: int) -> float:
        a, b = self.px[i], self.px[j]
        if self.sphere:
            ch = math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2)
            return 2.0 * 6371.0088 * math.asin(min(1.0, ch / 2.0))
        return math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2)

    def bal(self, loads: list) -> float:
        p = 0.0
        soft, hard = self.soft, self.hard
        for x, mean, scale in zip(loads, self.means, self.scale):  # the hottest loop: no indexing
            d = (x - mean) * scale
            e = abs(d) - 1.0
            p += soft * d * d
            if e > 0:
                p += hard * (e + e * e)
        return p

    def excess(self, loads: list) -> float:
        """How far a territory is beyond its tolerances, summed over measures."""
        out = 0.0
        for c in range(self.q):
            e = abs(loads[c] - self.means[c]) * self.scale[c] - 1.0
            if e > 0:
                out += e
        return out

    def total_excess(self) -> float:
        return sum(self.excess(self.loads[t]) for t in range(self.k))

    def reset(self, labels: np.ndarray) -> None:
        """Replace the assignment (loads, sizes and members follow)."""
        self.lab[:] = labels.tolist()
        loads = np.zeros((self.k, self.q))
        np.add.at(loads, labels, self.u.measures)
        self.loads = loads.tolist()
        self.size = np.bincount(labels, minlength=self.k).tolist()
        self.members = [set() for _ in range(self.k)]
        for i, t in enumerate(self.lab):
            self.members[t].add(i)
        self.pen = [self.bal(self.loads[t]) for t in range(self.k)]

    def violation(self) -> float:
        worst = 0.0
        for t in range(self.k):
            for c in range(self.q):
                worst = max(worst, abs(self.loads[t][c] - self.means[c]) * self.scale[c] - 1.0)
        return worst

    def refresh_centres(self) -> None:
        self.centres = medoids(self.u, np.asarray(self.lab), self.k).tolist()
        self._centre_distances()

    def connected_without(self, i: int, t: int) -> bool:
        lab, nb = self.lab, self.nb
        targets = [v for v in nb[i] if lab[v] == t]
        if len(targets) <= 1:
            return True
        # Most often i's neighbours in t touch each other directly: then t stays connected
        # without i, and the search through the whole territory is not needed.
        nbset = self.nbset
        reached, frontier = {targets[0]}, [targets[0]]
        rest = set(targets[1:])
        while frontier and rest:
            here = nbset[frontier.pop()]
            joined = [w for w in rest if w in here]
            for w in joined:
                rest.discard(w)
                reached.add(w)
                frontier.append(w)
        if not rest:
            return True
        want = set(targets[1:])
        seen = {i, targets[0]}
        stack = [targets[0]]
        while stack:
            v = stack.pop()
            for w in nb[v]:
                if w not in seen and lab[w] == t:
                    if w in want:
                        want.discard(w)
                        if not want:
                            return True
                    seen.add(w)
                    stack.append(w)
        return False

    def apply(self, i: int, a: int, b: int) -> None:
        m = self.meas[i]
        la, lb = self.loads[a], self.loads[b]
        for c in range(self.q):
            la[c] -= m[c]
            lb[c] += m[c]
        self.lab[i] = b
        self.size[a] -= 1
        self.size[b] += 1
        self.members[a].discard(i)
        self.members[b].add(i)
        self.pen[a] = self.bal(la)
        self.pen[b] = self.bal(lb)


def _move_delta(s: _State, i: int, a: int, b: int, moved_cost: float) -> float:
    m = s.meas[i]
    na = [x - y for x, y in zip(s.loads[a], m)]
    nbl = [x + y for x, y in zip(s.loads[b], m)]
    d_bal = s.bal(na) + s.bal(nbl) - s.pen[a] - s.pen[b]
    d_cmp = s.w[i] * (s.to_centre(i, b) - s.to_centre(i, a)) * s.compact_scale
    return d_bal + d_cmp + moved_cost


def _swap_delta(s: _State, i: int, v: int, a: int, b: int, moved_cost: float) -> float:
    mi, mv = s.meas[i], s.meas[v]
    la, lb = s.loads[a], s.loads[b]
    na = [la[c] - mi[c] + mv[c] for c in range(s.q)]
    nbl = [lb[c] + mi[c] - mv[c] for c in range(s.q)]
    d_bal = s.bal(na) + s.bal(nbl) - s.pen[a] - s.pen[b]
    d_cmp = (s.w[i] * (s.to_centre(i, b) - s.to_centre(i, a)) + s.w[v] * (s.to_centre(v, a) - s.to_centre(v, b))) * s.compact_scale
    return d_bal + d_cmp + moved_cost


def _try_swap(s: _State, i: int, v: int, a: int, b: int, contiguous: bool) -> bool:
    """Swap neighbours i (in a) and v (in b) if both territories stay connected."""
    if not contiguous:
        s.apply(i, a, b)
        s.apply(v, b, a)
        return True
    if s.size[a] <= 1 or not s.connected_without(i, a):
        return False
    s.apply(i, a, b)
    # v joins a: it must still touch a, and b (now holding i) must stay connected without it.
    if any(s.lab[w] == a for w in s.nb[v]) and s.connected_without(v, b):
        s.apply(v, b, a)
        return True
    s.apply(i, b, a)
    return False


def _kmeanspp(units: Units, candidates: np.ndarray, k: int, rng: np.random.Generator) -> list[int]:
    """Weighted k-means++ seeds among ``candidates`` (planar coordinates)."""
    pts = units.plane[candidates]
    w = units.weights[candidates] + 1e-9
    first = int(rng.choice(len(candidates), p=w / w.sum()))
    chosen = [first]
    d2 = np.sum((pts - pts[first]) ** 2, axis=1)
    for _ in range(1, k):
        p = w * d2
        if p.sum() <= 0:
            rest = np.setdiff1d(np.arange(len(candidates)), chosen)
            nxt = int(rest[0])
        else:
            nxt = int(rng.choice(len(candidates), p=p / p.sum()))
        chosen.append(nxt)
        d2 = np.minimum(d2, np.sum((pts - pts[nxt]) ** 2, axis=1))
    return candidates[chosen].tolist()


def _grow(units: Units, graph: Graph, labels: np.ndarray, k: int, anchors: list[int], active: set | None = None) -> np.ndarray:
    """Assign every unit with label -1 by balanced region growing.

    The territory with the smallest normalised load that still has an unassigned
    neighbour takes the one nearest its anchor unit. Units no territory can reach
    (another part of the graph) go to the nearest anchor.
    """
    labels = labels.copy()
    means = units.measures.sum(0) / k
    norm = np.divide(units.measures, means, out=np.zeros_like(units.measures), where=means > 0)
    unit_load = norm.mean(axis=1) if norm.shape[1] else np.ones(units.n)
    unit_load = unit_load + 1e-6  # zero-measure units still count a little
    load = np.bincount(labels[labels >= 0], weights=unit_load[labels >= 0], minlength=k)
    nb = graph.neighbours
    frontier: list[list] = [[] for _ in range(k)]
    assigned = np.flatnonzero(labels >= 0)
    for v in assigned:
        t = labels[v]
        if active is not None and t not in active:
            continue
        for w in nb[v]:
            if labels[w] < 0:
                heapq.heappush(frontier[t], (float(units.dist(anchors[t], w)), int(w)))
    heap = [(load[t], t) for t in range(k) if frontier[t]]
    heapq.heapify(heap)
    while heap:
        ld, t = heapq.heappop(heap)
        if ld != load[t]:
            continue
        f = frontier[t]
        while f and labels[f[0][1]] >= 0:
            heapq.heappop(f)
        if not f:
            continue
        _, v = heapq.heappop(f)
        labels[v] = t
        load[t] += unit_load[v]
        for w in nb[v]:
            if labels[w] < 0:
                heapq.heappush(f, (float(units.dist(anchors[t], w)), int(w)))
        heapq.heappush(heap, (load[t], t))
    rest = np.flatnonzero(labels < 0)
    if len(rest):
        anchor_idx = np.asarray(anchors)
        d = units.dist_matrix(rest, anchor_idx)
        labels[rest] = np.argmin(d, axis=1)
    return labels


def _seeded_start(
    units: Units, graph: Graph, k: int, seeds: list[int] | None, rng: np.random.Generator, contiguous: bool, clock: _Clock
) -> np.ndarray:
    n = units.n
    comp = np.full(n, 0)
    pos = {u: i for i, u in enumerate(units.ids)}
    for c, ids in enumerate(graph.components):
        comp[[pos[u] for u in ids]] = c
    if seeds is None:
        # Territories per part of the graph in proportion to its weight (largest remainder, >= 1).
        n_comp = graph.n_components
        share = np.array([units.weights[comp == c].sum() + 1e-9 * (comp == c).sum() for c in range(n_comp)])
        quota = share / share.sum() * k
        alloc = np.maximum(np.floor(quota).astype(int), 1)
        while alloc.sum() > k:
            c = int(np.argmax(alloc - quota + (alloc <= 1) * -1e9))
            alloc[c] -= 1
        while alloc.sum() < k:
            c = int(np.argmax(quota - alloc))
            alloc[c] += 1
        seeds = []
        for c in range(n_comp):
            if alloc[c]:
                seeds += _kmeanspp(units, np.flatnonzero(comp == c), int(alloc[c]), rng)
    labels = _lp_assign(units, k, np.asarray(seeds), clock=clock)
    if labels is not None:
        for _ in range(2):
            better = _lp_assign(units, k, medoids(units, labels, k), clock=clock)
            if better is None:
                break
            labels = better
        return _repair_fragments(units, graph, labels, k) if contiguous else labels
    labels = np.full(n, -1, dtype=np.int64)
    labels[seeds] = np.arange(k)
    labels = _grow(units, graph, labels, k, list(seeds))
    for _ in range(2):
        centres = medoids(units, labels, k).tolist()
        labels = np.full(n, -1, dtype=np.int64)
        labels[centres] = np.arange(k)
        labels = _grow(units, graph, labels, k, centres)
    return labels


def _lp_assign(
    units: Units,
    k: int,
    centres: np.ndarray,
    *,
    clock: _Clock,
) -> np.ndarray | None:
    """Balanced location-allocation: the LP that assigns units (fractionally) to the
    given centres at least weighted distance, every territory within a tightened
    tolerance of each measure (elastic: a heavily charged slack keeps it feasible).
    Few units end up split (at most one per balance row); see _round_assignment.
    Returns None when HiGHS finds no solution (or the safety stop cuts it short)."""
    n = units.n
    c = min(_LP_CANDIDATES, k)
    dist = units.dist_matrix(np.arange(n), np.asarray(centres))
    # Candidates: each unit's nearest centres, and each centre's nearest units (enough
    # for about three territories), so even a centre in a sparse area can fill its share.
    near_c = np.argpartition(dist, c - 1, axis=1)[:, :c] if c < k else np.tile(np.arange(k), (n, 1))
    keys = [np.repeat(np.arange(n), near_c.shape[1]) * k + near_c.ravel()]
    means = units.measures.sum(0) / k
    r_min = min(n, math.ceil(3.0 * n / k))
    by_dist = np.argsort(dist, axis=0, kind="stable")
    for j in range(k):
        col = by_dist[:, j]
        r = r_min
        for m in range(units.measures.shape[1]):
            if means[m] > 0:
                cum = np.cumsum(units.measures[col, m])
                r = max(r, int(np.searchsorted(cum, 3.0 * means[m])) + 1)
        keys.append(col[: min(r, n)] * k + j)
    keys = np.unique(np.concatenate(keys))
    unit_of = keys // k
    terr_of = keys % k
    d = dist[unit_of, terr_of]
    nv = len(keys)
    q = units.measures.shape[1]
    n_slack = 2 * k * q
    n_vars = nv + n_slack + 1
    big = 100.0 * float((units.weights * dist.min(axis=1)).sum() + 1.0)
    cost = np.zeros(n_vars)
    cost[:nv] = units.weights[unit_of] * d
    cost[nv:] = big
    rows, cols, vals, lb, ub = [], [], [], [], []
    var = np.arange(nv)
    rows.append(unit_of)
    cols.append(var)
    vals.append(np.ones(nv))
    lb.append(np.ones(n))
    ub.append(np.ones(n))
    r0 = n
    for m in range(q):
        if means[m] <= 0:
            continue
        tol = _LP_TIGHTEN * units.tolerances[m]
        row_of = r0 + terr_of
        rows += [row_of, r0 + np.arange(k), r0 + np.arange(k)]
        s_lo = nv + (m * k + np.arange(k)) * 2
        cols += [var, s_lo, s_lo + 1]
        vals += [units.measures[unit_of, m], np.full(k, means[m]), np.full(k, -means[m])]
        lb.append(np.full(k, (1 - tol) * means[m]))
        ub.append(np.full(k, (1 + tol) * means[m]))
        r0 += k
    a = sparse.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r0, n_vars))
    if clock.out():
        return None
    res = milp(
        cost,
        constraints=LinearConstraint(a, np.concatenate(lb), np.concatenate(ub)),
        bounds=Bounds(np.zeros(n_vars), np.r_[np.ones(nv), np.full(n_slack + 1, np.inf)]),
        options={"time_limit": max(clock.left(), 0.1), "disp": False},
    )
    if res.status == 1:  # HiGHS stopped on the safety stop: whatever it returns depends on the clock
        clock.hit = True
        return None
    if res.x is None:
        return None
    x = res.x[:nv]
    return _round_assignment(units, k, unit_of, terr_of, x)


def _round_assignment(units: Units, k: int, unit_of: np.ndarray, terr_of: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Whole units from the LP's shares: units the LP did not split keep their
    territory; the split ones, largest first, go to whichever of their territories is
    left furthest below its share (in tolerance units, over every measure)."""
    n = units.n
    order = np.lexsort((-x, unit_of))
    first = np.ones(len(order), dtype=bool)
    first[1:] = unit_of[order][1:] != unit_of[order][:-1]
    best = order[first]
    labels = terr_of[best].astype(np.int64)
    split = np.flatnonzero(x[best] < 1 - 1e-6)
    if len(split) == 0:
        return labels
    means = units.measures.sum(0) / k
    scale = np.divide(1.0, np.maximum(units.tolerances, 1e-3) * means, out=np.zeros_like(means), where=means > 0)
    whole = np.ones(n, dtype=bool)
    whole[split] = False
    loads = np.zeros((k, units.measures.shape[1]))
    np.add.at(loads, labels[whole], units.measures[whole])
    size = units.measures[split] @ scale
    for i in split[np.argsort(-size, kind="stable")]:
        options = terr_of[(unit_of == i) & (x > 1e-6)]
        after = (loads[options] + units.measures[i] - means) * scale
        worst = np.abs(after).max(axis=1)
        t = options[int(np.argmin(worst))]
        labels[i] = t
        loads[t] += units.measures[i]
    return labels


def _repair_fragments(units: Units, graph: Graph, labels: np.ndarray, k: int) -> np.ndarray:
    """Keep each territory's largest connected piece; re-grow the cut-off pieces."""
    labels = labels.copy()
    e = graph.edges
    same = labels[e[:, 0]] == labels[e[:, 1]]
    from scipy import sparse
    from scipy.sparse import csgraph

    kept = e[same]
    m = sparse.csr_array((np.ones(len(kept)), (kept[:, 0], kept[:, 1])), shape=(units.n, units.n))
    _, comp = csgraph.connected_components(m, directed=False)
    weight = units.weights + 1e-9
    main = {}
    for t in range(k):
        members = np.flatnonzero(labels == t)
        if len(members) == 0:
            continue
        sums = {}
        for v in members:
            sums[comp[v]] = sums.get(comp[v], 0.0) + weight[v]
        main[t] = max(sums, key=lambda c: (sums[c], -c))
    drop = np.array([labels[v] < 0 or comp[v] != main.get(labels[v]) for v in range(units.n)])
    if not drop.any():
        return labels
    labels[drop] = -1
    # Each cut-off piece joins, whole, the touching territory whose balance it helps most
    # (smallest pieces first); pieces touching no territory yet wait for their neighbours.
    means = units.measures.sum(0) / k
    scale = np.divide(1.0, np.maximum(units.tolerances, 1e-3) * means, out=np.zeros_like(means), where=means > 0)
    loads = np.zeros((k, units.measures.shape[1]))
    np.add.at(loads, labels[~drop], units.measures[~drop])
    pieces: dict[int, list[int]] = {}
    for v in np.flatnonzero(drop):
        pieces.setdefault(int(comp[v]), []).append(int(v))
    pending = sorted(pieces.values(), key=lambda p: (len(p), p[0]))
    nb = graph.neighbours
    while pending:
        waiting = []
        for piece in pending:
            touching = sorted({int(labels[w]) for v in piece for w in nb[v] if labels[w] >= 0})
            if not touching:
                waiting.append(piece)
                continue
            add = units.measures[piece].sum(0)
            before = (((loads[touching] - means) * scale) ** 2).sum(1)
            after = (((loads[touching] + add - means) * scale) ** 2).sum(1)
            t = touching[int(np.argmin(after - before))]
            labels[piece] = t
            loads[t] += add
        if len(waiting) == len(pending):
            break
        pending = waiting
    if (labels < 0).any():
        labels = _grow(units, graph, labels, k, medoids(units, labels, k).tolist())
    return labels


def solve_heuristic(
    units: Units,
    k: int,
    *,
    graph: Graph,
    contiguous: bool,
    seeds: list[int] | None,
    current_codes: np.ndarray | None,
    disruption_measure: np.ndarray | None,
    max_disruption: float | None,
    time_limit: float,
    seed: int,
    max_sweeps: int,
    anneal_steps: int | None,
    start_labels: np.ndarray | None = None,
    name_of: Any = None,
    construction: str = "grow",
) -> dict:
    """Returns codes (0..k-1 per unit), notes and ``stopped_by``: ``"converged"`` (every
    phase ended on its own), ``"max_sweeps"`` or ``"anneal_steps"`` (a count ended a
    phase; same result on any machine) or ``"time_limit"`` (the safety stop did; may not
    replay)."""
    t0 = time.perf_counter()
    clock = _Clock(t0 + time_limit)
    counts_hit: list[str] = []
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    budget_on = current_codes is not None and max_disruption is not None
    names = list(range(k))
    if budget_on:
        labels = np.where(current_codes >= 0, current_codes, -1).astype(np.int64)
        n_now = int(current_codes.max()) + 1 if (current_codes >= 0).any() else 0
        names = list(range(n_now))
        if n_now > k:
            labels, names = _merge_smallest(units, graph, labels, names, k)
            notes.append(f"merged {n_now - k} of the current territories into their neighbours")
        kk = len(names)
        if contiguous:
            labels = _repair_fragments(units, graph, labels, kk)
        elif (labels < 0).any():
            anchors = medoids(units, labels, kk).tolist()
            labels = _grow(units, graph, labels, kk, anchors)
        if kk < k:
            labels = _split_largest(units, graph, labels, kk, k)
            names += [-1] * (k - kk)
            notes.append(f"split {k - kk} of the current territories to make {k}")
        warm = _warm_labels(start_labels, name_of, names, k, current_codes)
        today_labels = labels
        if warm is not None:
            labels = warm
            notes.append("started from a given plan")
    else:
        labels = _fresh_start(units, graph, k, seeds=seeds, rng=rng, contiguous=contiguous, clock=clock,
                              construction=construction, start_labels=start_labels, notes=notes)
    if contiguous:
        parts = territory_parts(graph, labels, k)
        if (parts > 1).any():
            notes.append("the start could not make every territory contiguous (the graph has disconnected parts)")
    s = _State(units, graph, k, labels)

    dm = disruption_measure.tolist() if budget_on else None
    cur = current_codes.tolist() if budget_on else None
    budget, moved, moved_scale = (_disruption_budget(s, cur, dm, max_disruption, contiguous, notes, today_labels)
                                  if budget_on else (0.0, 0.0, 0.0))

    def moved_change(i: int, a: int, b: int) -> float:
        if not budget_on or cur[i] < 0:
            return 0.0
        if cur[i] == a:
            return dm[i]
        if cur[i] == b:
            return -dm[i]
        return 0.0

    sweeps = 0
    state = {"moved": moved}

    def descend(phase: dict) -> None:
        nonlocal sweeps
        s.set_phase(phase)
        stalled_swaps = False
        # A count of sweeps ends the descent (moves only lower the penalty, so it also
        # ends by itself when no move improves); the clock only as a safety stop.
        for _ in range(max_sweeps):
            if clock.out():
                return
            sweeps += 1
            improved, state["moved"] = _sweep(
                s, rng, contiguous, moved_change, budget_on, budget, state["moved"], moved_scale, clock
            )
            s.refresh_centres()
            if improved:
                stalled_swaps = False
                continue
            if s.violation() <= 1e-9 or stalled_swaps:
                return
            # Single moves are stuck with a tolerance broken: try swaps across borders.
            done, extra = _swap_pass(s, rng, contiguous, moved_change, budget_on, budget, state["moved"], clock)
            state["moved"] += extra
            stalled_swaps = done == 0
        counts_hit.append("max_sweeps")

    descend(_PHASES[0])
    if s.violation() > 1e-9 and not clock.out():
        # Greedy moves are stuck: anneal on the balance penalty until the tolerances hold.
        # The safety stop leaves a fifth of the time left for the polish after it.
        steps = default_anneal_steps(units.n) if anneal_steps is None else int(anneal_steps)
        sa_end = time.perf_counter() + 0.8 * clock.left()
        state["moved"], accepted, finished = _anneal(
            s, rng, contiguous, moved_change, budget_on, budget, state["moved"], moved_scale, steps, clock, sa_end
        )
        if finished:
            counts_hit.append("anneal_steps")
        notes.append(f"annealing: {accepted} moves accepted")
        descend(_PHASES[0])
    descend(_PHASES[1])
    if clock.hit:
        stopped_by = "time_limit"
        notes.append(f"the safety time limit ({time_limit:g} s) stopped the search: the plan depends on the "
                     f"machine's speed and may not replay; raise time_limit or lower max_sweeps/anneal_steps")
    else:
        stopped_by = counts_hit[0] if counts_hit else "converged"
    notes.append(f"local search: {sweeps} sweeps")
    return {"codes": np.asarray(s.lab, dtype=np.int64), "names": names, "notes": notes, "stopped_by": stopped_by}


def _fresh_start(units: Units, graph: Graph, k: int, *, seeds: list[int] | None, rng: np.random.Generator,
                 contiguous: bool, clock: _Clock, construction: str, start_labels: np.ndarray | None,
                 notes: list[str]) -> np.ndarray:
    """The start without a disruption limit: a given plan of k territories, else a tree or a
    seeded construction."""
    if start_labels is not None:
        uniq, codes = np.unique(np.asarray(start_labels).astype(str), return_inverse=True)
        if len(uniq) == k:
            notes.append("started from a given plan")
            return codes.astype(np.int64)
    if construction == "tree" and contiguous and seeds is None:
        labels = _tree_start(units, graph, k, rng)
        if labels is not None:
            notes.append("start: recursive bisection along random spanning trees")
            return labels
    return _seeded_start(units, graph, k, seeds, rng, contiguous, clock)


def _disruption_budget(s: _State, cur: list, dm: list, max_disruption: float, contiguous: bool,
                       notes: list[str], today_labels: np.ndarray) -> tuple[float, float, float]:
    """The disruption budget, what the start moves already, and the penalty scale of moving.
    A start beyond the budget is sent back towards today's territories; if that cannot fit
    it, the search starts from today's territories (``today_labels``) instead."""
    n, k = s.u.n, s.k
    base = float(np.asarray(dm, dtype=float)[np.asarray(cur) >= 0].sum())
    budget = max_disruption * base
    moved = float(sum(dm[i] for i in range(n) if cur[i] >= 0 and cur[i] != s.lab[i]))
    moved_scale = _MOVED * k / base if base > 0 else 0.0
    if moved > budget + 1e-9:
        # A start that moves more than the limit (the unconstrained plan): send moved
        # units back to their territories of today until it fits.
        given = list(s.lab)
        moved = _revert_to_budget(s, cur, dm, budget, moved, contiguous)
        if moved <= budget + 1e-9 or given == today_labels.tolist():
            notes.append("moves of the start beyond the disruption limit sent back to today's territories")
        else:
            s.reset(today_labels)
            s.refresh_centres()
            moved = float(sum(dm[i] for i in range(n) if cur[i] >= 0 and cur[i] != s.lab[i]))
            notes.append("the start's moves could not be sent back within the disruption limit: started from today's territories")
    return budget, moved, moved_scale


def _revert_to_budget(s: _State, cur: list, dm: list, budget: float, moved: float, contiguous: bool) -> float:
    """Send moved units back to today's territory, those that cost the least balance per
    unit of disruption first, until the plan moves at most ``budget``. A unit goes back only
    where it touches its territory of today and leaves its plan territory connected, so the
    moves peel off from the borders inwards. Returns the disruption left."""
    lab, nb, q = s.lab, s.nb, s.q
    while moved > budget + 1e-9:
        ranked = []
        for i in range(s.u.n):
            a, c = lab[i], cur[i]
            if c < 0 or c == a or dm[i] <= 0 or not any(lab[v] == c for v in nb[i]):
                continue
            m = s.meas[i]
            harm = (s.bal([s.loads[a][x] - m[x] for x in range(q)]) + s.bal([s.loads[c][x] + m[x] for x in range(q)])
                    - s.pen[a] - s.pen[c])
            ranked.append((harm / dm[i], i))
        ranked.sort()
        # A quarter of the candidates per pass, then re-rank on the changed loads.
        sent, quota = 0, max(1, len(ranked) // 4)
        for _, i in ranked:
            if moved <= budget + 1e-9 or sent >= quota:
                break
            a, c = lab[i], cur[i]
            if a == c or s.size[a] <= 1 or not any(lab[v] == c for v in nb[i]):
                continue
            if contiguous and not s.connected_without(i, a):
                continue
            s.apply(i, a, c)
            moved -= dm[i]
            sent += 1
        if sent == 0:
            break
    s.refresh_centres()
    return moved


def _warm_labels(start_labels: np.ndarray | None, name_of: Any, names: list, k: int,
                 current_codes: np.ndarray | None = None) -> np.ndarray | None:
    """A warm start's codes: a plan of k territories named after the current ones. A start
    territory with a new name takes the free current name it shares the most units with
    (the first such name on ties), so a plan that created territories can still start."""
    if start_labels is None or name_of is None:
        return None
    lookup = {lab: c for c, lab in enumerate(name_of(names))}
    distinct = list(dict.fromkeys(start_labels.tolist()))
    if len(lookup) != k or len(distinct) != k:
        return None
    unknown = [lab for lab in distinct if lab not in lookup]
    free = sorted(set(range(k)) - {lookup[lab] for lab in distinct if lab in lookup})
    for lab in unknown:
        if current_codes is not None:
            members = current_codes[start_labels == lab]
            overlap = [int((members == names[c]).sum()) if names[c] >= 0 else 0 for c in free]
            lookup[lab] = free.pop(int(np.argmax(overlap)))
        else:
            lookup[lab] = free.pop(0)
    return np.array([lookup[lab] for lab in start_labels], dtype=np.int64)


def _unit_loads(units: Units, k: int) -> np.ndarray:
    means = units.measures.sum(0) / k
    norm = np.divide(units.measures, means, out=np.zeros_like(units.measures), where=means > 0)
    return (norm.mean(axis=1) if norm.shape[1] else np.ones(units.n)) + 1e-6


def _merge_smallest(units: Units, graph: Graph, labels: np.ndarray, names: list, k: int) -> tuple[np.ndarray, list]:
    """Merge the lightest territory into its lightest neighbour until k remain."""
    labels = labels.copy()
    unit_load = _unit_loads(units, k)
    e = graph.edges
    while len(set(labels[labels >= 0].tolist())) > k:
        alive = sorted(set(labels[labels >= 0].tolist()))
        load = {t: unit_load[labels == t].sum() for t in alive}
        t = min(alive, key=lambda c: (load[c], c))
        la, lb = labels[e[:, 0]], labels[e[:, 1]]
        touching = set(lb[(la == t) & (lb >= 0) & (lb != t)].tolist()) | set(la[(lb == t) & (la >= 0) & (la != t)].tolist())
        if not touching:
            touching = set(alive) - {t}
        into = min(touching, key=lambda c: (load[c], c))
        labels[labels == t] = into
    alive = sorted(set(labels[labels >= 0].tolist()))
    remap = np.full(max(alive) + 1, -1)
    remap[alive] = np.arange(len(alive))
    labels = np.where(labels >= 0, remap[np.maximum(labels, 0)], -1)
    return labels, [names[t] for t in alive]


def _split_largest(units: Units, graph: Graph, labels: np.ndarray, k_now: int, k: int) -> np.ndarray:
    """Split the heaviest territory in two by growing from its medoid and its farthest
    member, until there are k territories."""
    labels = labels.copy()
    unit_load = _unit_loads(units, k)
    for new in range(k_now, k):
        load = np.bincount(labels, weights=unit_load, minlength=k)
        sizes = np.bincount(labels, minlength=k)
        t = int(np.argmax(np.where(sizes >= 2, load, -1)))
        members = np.flatnonzero(labels == t)
        centre = medoid(units, members)
        far = int(members[np.argmax(units.dist(centre, members))])
        labels[members] = -1
        labels[centre], labels[far] = t, new
        anchors = [centre] * k
        anchors[new] = far
        labels = _grow(units, graph, labels, k, anchors, active={t, new})
    return labels


def _anneal(s, rng, contiguous, moved_change, budget_on, budget, moved, moved_scale, steps: int, clock: _Clock,
            end: float) -> tuple[float, int, bool]:
    """Simulated annealing over boundary moves; keeps the plan with the least excess
    over the tolerances and stops as soon as that excess is zero, else after ``steps``
    steps (then the third value is True), or at the safety stop ``end``."""
    s.set_phase(_PHASES[0])
    lab, nb = s.lab, s.nb
    n = s.u.n
    excess = s.total_excess()
    best = (excess, list(lab), moved)
    t_hi, t_lo = 2.0, 0.02
    accepted = 0
    batch = 4096
    done = 0
    # The temperature follows the step count (not the clock), so a seed gives the same
    # plan on any machine unless the safety stop cuts the annealing short.
    while done < steps:
        if best[0] <= 1e-12 or clock.out(end):
            break
        temp = t_hi * (t_lo / t_hi) ** (done / steps)
        done += batch
        # Half the steps start from a unit of a territory that breaks a tolerance.
        hot_terr = [s.excess(s.loads[t]) > 0 for t in range(s.k)]
        hot = [i for i in range(n) if hot_terr[lab[i]]]
        picks = rng.integers(0, n, batch).tolist()
        if hot:
            hot_picks = rng.integers(0, len(hot), batch).tolist()
            from_hot = (rng.random(batch) < 0.5).tolist()
        which = rng.random(batch).tolist()
        coins = rng.random(batch).tolist()
        kinds = (rng.random(batch) < _SWAP_SHARE).tolist()
        pulls = (rng.random(batch) < 0.5).tolist()
        for x in range(batch):
            i = hot[hot_picks[x]] if hot and from_hot[x] else picks[x]
            a = lab[i]
            nbs = nb[i]
            if not nbs:
                continue
            v = nbs[int(which[x] * len(nbs))]
            b = lab[v]
            if b == a:
                continue
            if pulls[x] and not kinds[x]:
                # Pull the neighbour into i's territory instead of pushing i out.
                i, v, a, b = v, i, b, a
            if kinds[x]:
                # Swap i and its neighbour v across the border: potential and workload can
                # be traded without changing either territory's size much.
                mv = moved_change(i, a, b) + moved_change(v, b, a)
                if budget_on and mv > 0 and moved + mv > budget + 1e-9:
                    continue
                d = _swap_delta(s, i, v, a, b, mv * moved_scale)
                if d > 0 and coins[x] >= math.exp(-d / temp):
                    continue
                before = s.excess(s.loads[a]) + s.excess(s.loads[b])
                if not _try_swap(s, i, v, a, b, contiguous):
                    continue
            else:
                if s.size[a] <= 1:
                    continue
                mv = moved_change(i, a, b)
                if budget_on and mv > 0 and moved + mv > budget + 1e-9:
                    continue
                d = _move_delta(s, i, a, b, mv * moved_scale)
                if d > 0 and coins[x] >= math.exp(-d / temp):
                    continue
                if contiguous and not s.connected_without(i, a):
                    continue
                before = s.excess(s.loads[a]) + s.excess(s.loads[b])
                s.apply(i, a, b)
            excess += s.excess(s.loads[a]) + s.excess(s.loads[b]) - before
            moved += mv
            accepted += 1
            if excess < best[0] - 1e-12:
                best = (excess, list(lab), moved)
                if excess <= 1e-12:
                    break
    finished = done >= steps and best[0] > 1e-12 and not clock.hit
    if best[1] != lab:
        s.reset(np.asarray(best[1], dtype=np.int64))
    s.refresh_centres()
    return best[2], accepted, finished


def _sweep(s, rng, contiguous, moved_change, budget_on, budget, moved, moved_scale, clock: _Clock) -> tuple[int, float]:
    """One pass of boundary moves in random order; returns moves made and moved measure."""
    improved = 0
    lab, nb = s.lab, s.nb
    boundary = [i for i in range(s.u.n) if any(lab[v] != lab[i] for v in nb[i])]
    order = rng.permutation(len(boundary))
    for step, idx in enumerate(order):
        if step % 2000 == 0 and clock.out():
            break
        i = boundary[idx]
        a = lab[i]
        if s.size[a] <= 1:
            continue
        best_b, best_d, best_mv = -1, -1e-12, 0.0
        for b in {lab[v] for v in nb[i]}:
            if b == a:
                continue
            mv = moved_change(i, a, b)
            if budget_on and mv > 0 and moved + mv > budget + 1e-9:
                continue
            d = _move_delta(s, i, a, b, mv * moved_scale)
            if d < best_d:
                best_b, best_d, best_mv = b, d, mv
        if best_b < 0:
            continue
        if contiguous and not s.connected_without(i, a):
            continue
        s.apply(i, a, best_b)
        moved += best_mv
        improved += 1
    return improved, moved


def _swap_pass(s, rng, contiguous, moved_change, budget_on, budget, moved_now: float, clock: _Clock) -> tuple[int, float]:
    """Swap a boundary unit of a territory breaking a tolerance with one of a neighbour."""
    lab, nb = s.lab, s.nb
    bad = set()
    for t in range(s.k):
        for c in range(s.q):
            if abs(s.loads[t][c] - s.means[c]) * s.scale[c] > 1.0 + 1e-12:
                bad.add(t)
    done, moved_total = 0, 0.0
    boundary = [i for i in range(s.u.n) if lab[i] in bad and any(lab[v] != lab[i] for v in nb[i])]
    for idx in rng.permutation(len(boundary)):
        if clock.out():
            break
        i = boundary[idx]
        a = lab[i]
        for b in sorted({lab[v] for v in nb[i]} - {a}):
            # Every member j of b at once: the balance change of swapping i and j.
            others = np.fromiter(s.members[b], dtype=np.int64, count=len(s.members[b]))
            shift = s.meas_np[others] - s.meas_np[i]
            d = (s.bal_rows(np.asarray(s.loads[a]) + shift) + s.bal_rows(np.asarray(s.loads[b]) - shift)
                 - s.pen[a] - s.pen[b])
            best = int(np.argmin(d)) if len(d) else -1
            if best < 0 or not d[best] < -1e-9:
                continue
            j = int(others[best])
            mv = moved_change(i, a, b) + moved_change(j, b, a)
            if budget_on and moved_now + moved_total + mv > budget + 1e-9:
                continue
            # j must touch a once i has joined b's side, and both territories must stay connected.
            s.apply(i, a, b)
            ok = any(lab[v] == a for v in nb[j])
            if ok:
                s.apply(j, b, a)
                ok = not contiguous or (_territory_connected(s, a) and _territory_connected(s, b))
                if not ok:
                    s.apply(j, a, b)
            if not ok:
                s.apply(i, b, a)
                continue
            done += 1
            moved_total += mv
            break
    return done, moved_total


def _territory_connected(s: _State, t: int) -> bool:
    members = s.members[t]
    if not members:
        return True
    start = next(iter(members))
    seen = {start}
    stack = [start]
    lab, nb = s.lab, s.nb
    while stack:
        v = stack.pop()
        for w in nb[v]:
            if w not in seen and lab[w] == t:
                seen.add(w)
                stack.append(w)
    return len(seen) == len(members)


def _tree_start(units: Units, graph: Graph, k: int, rng: np.random.Generator, tries: int = 24) -> np.ndarray | None:
    """Balanced contiguous territories by recursive bisection along random spanning trees
    (the family of GerryChain's ``recursive_tree_part``; our own code): draw a random spanning
    tree of the part, cut the edge whose subtree comes closest to its share of every measure
    (``k1 / kk`` of the part, deviations in units of each tolerance), split the rest the same
    way. Every part stays connected by construction. None when the graph is not connected."""
    from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

    if graph.n_components != 1:
        return None
    means = units.measures.sum(0) / k
    norm = np.divide(units.measures, means, out=np.zeros_like(units.measures), where=means > 0)
    if not norm.shape[1]:
        norm = np.ones((units.n, 1))
    tol = np.maximum(np.asarray(units.tolerances, dtype=float) if len(units.tolerances) else np.ones(1), 1e-3)
    labels = np.full(units.n, -1, dtype=np.int64)
    adj = sparse.csr_array(graph.matrix)
    next_label = 0
    stack = [(np.arange(units.n), k)]
    while stack:
        nodes, kk = stack.pop()
        if kk == 1 or len(nodes) == 1:
            labels[nodes] = next_label
            next_label += 1
            continue
        k1 = kk // 2
        sub = adj[nodes][:, nodes].tocoo()
        keep = sub.row < sub.col
        rows, cols = sub.row[keep], sub.col[keep]
        total = norm[nodes].sum(0)
        target = total * k1 / kk
        best = (np.inf, None, None, None)
        for _ in range(tries):
            w = sparse.csr_array((rng.random(len(rows)) + 1e-3, (rows, cols)), shape=(len(nodes), len(nodes)))
            tree = minimum_spanning_tree(w)
            tree = tree + tree.T
            order, parent = breadth_first_order(tree, 0, directed=False, return_predecessors=True)
            if len(order) != len(nodes):
                return None
            sums = norm[nodes].copy()
            for v in order[:0:-1]:  # leaves first; the root (order[0]) collects everything
                sums[parent[v]] += sums[v]
            score = (np.abs(sums - target) / tol).max(axis=1)
            score[order[0]] = np.inf
            v = int(np.argmin(score))
            if score[v] < best[0]:
                best = (float(score[v]), v, order, parent)
            if best[0] <= 0.5:
                break
        _, v, order, parent = best
        inside = np.zeros(len(nodes), dtype=bool)
        inside[v] = True
        for u in order:
            if u != v and parent[u] >= 0 and inside[parent[u]]:
                inside[u] = True
        stack.append((nodes[~inside], kk - k1))
        stack.append((nodes[inside], k1))
    return labels
