"""The heuristic's starts: seeds (k-means++), the balanced location-allocation LP and its rounding,
region growing, spanning-tree bisection, fragment repair, and warm starts from today's territories
within a disruption budget (see :mod:`salesmodel.domain.territory._heuristic`).
"""
from __future__ import annotations

import heapq
import math
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from salesmodel.domain.territory._graph import Graph
from salesmodel.domain.territory._plan import medoid, medoids
from salesmodel.domain.territory._search import _MOVED, _Clock, _State
from salesmodel.domain.territory._units import Units

# The start's LP aims this much inside each tolerance, over this many nearest centres.
_LP_TIGHTEN = 0.6


_LP_CANDIDATES = 12


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
