"""The heuristic's local search: the search state (assignment, loads, penalty), moves, swaps,
greedy sweeps and simulated annealing (see :mod:`salesmodel.domain.territory._heuristic`).
"""
from __future__ import annotations

import math
import time

import numpy as np

from salesmodel.domain.territory._graph import Graph
from salesmodel.domain.territory._plan import medoids
from salesmodel.domain.territory._units import Units

# Penalty weights: balance inside the tolerance (pull to the mean), beyond it (linear
# and quadratic, in units of the tolerance), compactness, and disruption.
# Phase 1 pulls every territory firmly towards the mean (slack for its neighbours);
# phase 2 polishes compactness with a light pull.
_PHASES = ({"soft": 1.0, "compact": 0.2, "hard": 20.0}, {"soft": 0.02, "compact": 1.0, "hard": 1000.0})


_MOVED = 0.5


# Largest units x territories for which distances to the centres are kept in a matrix.
_CACHED_DISTANCES = 8_000_000


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
