"""Territories around reps: each territory belongs to a rep with a home base, travel is
measured from that base, and a proposal starts from today's assignment and improves balance
with few, short moves (Zoltners & Sinha: realign a limited share at a time).

The search is a deterministic greedy descent over candidate (account or area, rep) pairs:
a pair exists only when the rep's base lies within ``max_distance_km`` (road km) of every
account of the area; a move takes an area from its rep to another, lowering the sum of
squared deviations (over tolerance) of each rep's potential and workload from the mean
territory, with a penalty for the travel it adds. Moves are chosen by balance gained per
share moved, within a budget on both the share of potential and the share of accounts
that change rep; the search stops when no move helps or after a count of moves (never on
the clock), so the same inputs give the same plan on any machine.

>>> import pandas as pd
>>> units = pd.DataFrame({"unit_id": ["a", "b", "c", "d"], "lat": [30.0, 30.1, 30.2, 30.3],
...                       "lon": [120.0] * 4, "potential": [1.0, 1.0, 1.0, 1.0],
...                       "workload": [1.0, 1.0, 1.0, 1.0], "current": ["R1", "R1", "R1", "R2"]})
>>> bases = pd.DataFrame({"rep_id": ["R1", "R2"], "base_lat": [30.0, 30.3], "base_lon": [120.0, 120.0]})
>>> res = rep_design(units, bases, balance_on={"potential": 0.1, "workload": 0.1}, max_distance_km=100)
>>> res.assignment.tolist(), res.moved_accounts
(['R1', 'R1', 'R2', 'R2'], 1)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from salesmodel.domain.territory._graph import _make_graph
from salesmodel.domain.territory._units import EARTH_RADIUS_KM
from salesmodel.errors import InputError, ParamsError, short_list

KEEP_WHOLE = ("none", "city", "province")
_EPS = 1e-12


def great_circle_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Haversine distance in km between points (broadcasting numpy arrays of degrees)."""
    p1, l1, p2, l2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(1.0, h)))


def base_distances(units: pd.DataFrame, bases: pd.DataFrame, road_factor: float = 1.3) -> np.ndarray:
    """Road km (great circle x ``road_factor``) from every unit (rows) to every rep's base (columns)."""
    lat = units["lat"].to_numpy(dtype=float)[:, None]
    lon = units["lon"].to_numpy(dtype=float)[:, None]
    blat = bases["base_lat"].to_numpy(dtype=float)[None, :]
    blon = bases["base_lon"].to_numpy(dtype=float)[None, :]
    return great_circle_km(lat, lon, blat, blon) * float(road_factor)


def check_rep_inputs(
    units: pd.DataFrame,
    bases: pd.DataFrame,
    *,
    max_distance_km: float,
    road_factor: float = 1.3,
    keep_whole: str = "none",
    locks: dict | None = None,
    departed: Any = (),
) -> None:
    """Refuse bad input before any search, one message naming the rows.

    A rep without a base (missing or out-of-range ``base_lat``/``base_lon``); a
    ``max_distance_km`` under which an account without a rep today has no rep at all (the
    smallest number that works is given); a lock naming a departed or unknown rep or an
    unknown account; ``keep_whole: city`` with accounts lacking a city.
    """
    if keep_whole not in KEEP_WHOLE:
        raise ParamsError(f"The 'keep_whole' parameter must be one of {', '.join(KEEP_WHOLE)}. Got {keep_whole!r} instead.")
    if not (isinstance(max_distance_km, (int, float)) and max_distance_km > 0):
        raise ParamsError(f"The 'max_distance_km' parameter must be a number of km > 0. Got {max_distance_km!r} instead.")
    for col in ("base_lat", "base_lon"):
        if col not in bases.columns:
            raise InputError(f"reps: missing column '{col}' (each rep's home base) needed for territories")
    lat = pd.to_numeric(bases["base_lat"], errors="coerce")
    lon = pd.to_numeric(bases["base_lon"], errors="coerce")
    bad = bases.loc[lat.isna() | lon.isna() | ~lat.between(-90, 90) | ~lon.between(-180, 180), "rep_id"].tolist()
    if bad:
        raise InputError(f"reps: no valid home base (base_lat between -90 and 90, base_lon between -180 and 180) "
                         f"for rep_id {short_list(bad)}; give each active rep the latitude and longitude of their base")
    if keep_whole == "city":
        col = "city_en" if "city_en" in units.columns else "city"
        if col not in units.columns:
            raise InputError("customers: keep_whole 'city' needs a city column (city_en)")
        blank = units.loc[units[col].isna() | (units[col].astype(str).str.strip() == ""), "unit_id"].tolist()
        if blank:
            raise InputError(f"customers: keep_whole 'city' needs the city of every account; no city for customer_id "
                             f"{short_list(blank)}")
    if keep_whole == "province" and "province_id" not in units.columns:
        raise InputError("customers: keep_whole 'province' needs the column province_id")
    reps = set(bases["rep_id"])
    if locks:
        known = set(units["unit_id"])
        unknown = sorted(a for a in locks if a not in known)
        if unknown:
            raise InputError(f"territory locks: unknown (or churned) customer_id {short_list(unknown)}")
        gone = sorted(a for a, r in locks.items() if r not in reps)
        if gone:
            left = set(departed)
            why = "has left" if all(locks[a] in left for a in gone) else "is not an active rep"
            raise InputError(f"territory locks: the rep named for customer_id {short_list(gone)} "
                             f"({short_list(sorted({locks[a] for a in gone}))}) {why}; release or reassign those accounts")
    orphan = units["current"].isna().to_numpy() if "current" in units.columns else np.ones(len(units), bool)
    if locks:
        orphan &= ~units["unit_id"].isin(list(locks)).to_numpy()
    if orphan.any():
        dist = base_distances(units.loc[orphan], bases, road_factor)
        if keep_whole == "province" and "province_id" in bases.columns:
            same = units.loc[orphan, "province_id"].to_numpy()[:, None] == bases["province_id"].to_numpy()[None, :]
            dist = np.where(same, dist, np.inf)
        nearest = dist.min(axis=1)
        far = nearest > max_distance_km
        if far.any():
            ids = units.loc[orphan, "unit_id"].to_numpy()[far].tolist()
            need = nearest[far].max()
            if not np.isfinite(need):
                raise InputError(f"customers: no rep is based in the province of customer_id {short_list(ids)} "
                                 f"(keep_whole 'province'); add a rep there or use keep_whole 'city' or 'none'")
            raise InputError(f"territory.max_distance_km {max_distance_km:g}: customer_id {short_list(ids)} "
                             f"(no rep today) have no rep based within it; the smallest limit that works is "
                             f"{math.ceil(need):g} km")


@dataclass
class RepDesign:
    """What :func:`rep_design` returns.

    ``assignment``: the proposed rep of each unit (in the units' order); ``moved``: whether
    it differs from today's; ``distance_km``: road km to the proposed rep's base;
    ``beyond``: unit ids farther than the limit from their rep's base today that stay;
    ``stopped_by``: ``"converged"`` (no move helps) or ``"max_moves"`` (the count ended it);
    ``steps``: moves made (including moves back); ``limit_bound``: whether the disruption limit
    ever changed a choice of the search (if not, any larger limit gives this same design).
    """

    assignment: np.ndarray
    moved: np.ndarray
    distance_km: np.ndarray
    beyond: list
    moved_accounts: int
    moved_share: dict
    stopped_by: str
    steps: int
    notes: list = field(default_factory=list)
    limit_bound: bool = False


def _choose(sub: np.ndarray, value: np.ndarray, delta: np.ndarray) -> int:
    """The move the search makes among the pairs ``sub`` (-1: none): the best balance gained per share
    moved; among moves that cost nothing (moves back), the largest gain; else the first pair."""
    if not len(sub):
        return -1
    val = value[sub]
    best = val.max()
    cand = sub[val == best]
    return int(cand[np.argmin(delta[cand])]) if np.isinf(best) else int(cand[0])


def quantile_edges(km: np.ndarray, quantiles: Any) -> set[float]:
    """The distances a travel quantile interpolates between (two order statistics per quantile)."""
    ordered = np.sort(np.asarray(km, dtype=float))
    n = len(ordered)
    edges: set[float] = set()
    for q in quantiles:
        pos = float(q) * (n - 1)
        edges |= {float(ordered[math.floor(pos)]), float(ordered[math.ceil(pos)])}
    return edges


def _groups(units: pd.DataFrame, keep_whole: str, cur: np.ndarray, locked: np.ndarray) -> np.ndarray:
    """Group code per unit: the areas that move together (cities with ``keep_whole: city``)."""
    n = len(units)
    if keep_whole != "city":
        return np.arange(n)
    col = "city_en" if "city_en" in units.columns else "city"
    prov = units["province_id"].astype(str).to_numpy() if "province_id" in units.columns else np.array([""] * n)
    key = pd.Series([f"{p}\x1f{c}\x1f{r}" for p, c, r in zip(prov, units[col].astype(str), cur)])
    codes, _ = pd.factorize(key, sort=True)
    return codes.astype(np.int64)


def _spans(starts: np.ndarray, which: np.ndarray) -> np.ndarray:
    """The indices ``starts[x]`` to ``starts[x + 1]`` of every ``x`` in ``which``, one array."""
    spans = [np.arange(starts[x], starts[x + 1]) for x in which]
    return np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)


def rep_design(
    units: pd.DataFrame,
    bases: pd.DataFrame,
    *,
    balance_on: dict[str, float],
    max_distance_km: float,
    road_factor: float = 1.3,
    keep_whole: str = "none",
    locked: Any = None,
    locks: dict | None = None,
    max_disruption: float | None = None,
    travel_weight: float = 1.0,
    hold_quantiles: Any = (0.5, 0.95),
    graph: Any = None,
    near_km: float | None = None,
    max_moves: int | None = None,
    mean: Any = None,
    hold_km: Any = None,
) -> RepDesign:
    """Improve today's assignment towards balance with few, short moves.

    Parameters
    ----------
    units : DataFrame
        One row per account: ``unit_id``, ``lat``, ``lon``, the measures of ``balance_on``,
        ``current`` (today's rep, empty when none), and ``province_id`` / ``city_en`` for
        ``keep_whole``.
    bases : DataFrame
        One row per rep who holds a territory: ``rep_id``, ``base_lat``, ``base_lon``
        (``province_id`` for ``keep_whole: province``).
    balance_on : dict
        Measure -> tolerance (share of the mean territory).
    max_distance_km : float
        No account is proposed to a rep whose base is farther (road km); accounts already
        farther today stay with their rep.
    road_factor : float
        Road km over great-circle km.
    keep_whole : {"none", "city", "province"}
        ``city``: the accounts a rep holds in a city move together; ``province``: accounts
        move only between reps based in their province (no account served from another one).
    locked : array of bool or collection of unit ids, optional
        Accounts that stay with today's rep (key accounts).
    locks : dict, optional
        Account -> rep it must have (applied before the search, counted as moves when the
        rep differs from today's).
    max_disruption : float, optional
        Largest share of potential, and of accounts, that may change rep (None: no limit).
    travel_weight : float
        Penalty, in units of the balance score, for each ``max_distance_km`` of road
        travel a move adds (0: travel ignored within the limit).
    hold_quantiles : sequence of float, default=(0.5, 0.95)
        Quantiles of the distance account -> rep's base that may not get worse than today's
        (median and p95): a move that takes accounts past one of today's quantiles is made
        only while as many accounts as today stay within it (moves that bring accounts back
        within make room). Empty: only ``max_distance_km`` limits travel.
    graph : Graph, optional
        Which accounts are neighbours (e.g. :func:`drivable`, in the units' order): an account
        (area) then goes only to a rep who already holds one of its neighbours, or whose base
        lies within ``near_km`` of it, and never leaves the territory it comes from in more
        pieces: a move neither starts a new piece nor splits one.
    near_km : float, optional
        With ``graph``: road km from a rep's base within which an account joins the rep's
        home piece (default: no such exception).
    max_moves : int, optional
        Most moves of the descent (default: 4 x the number of accounts); a count, so the
        plan replays.
    mean : sequence of float, optional
        The mean territory on each measure of ``balance_on`` that deviations are measured
        against (default: these units' totals over these reps); a part of a company designed
        on its own (:func:`rep_design_in_parts`) is measured against the company's.
    hold_km : sequence of float, optional
        The distances ``hold_quantiles`` hold, given instead of taken from these units: a part
        of a company keeps as many of its accounts within the company's quantiles as today,
        so the company's median and p95 do not get worse either.
    """
    check_rep_inputs(units, bases, max_distance_km=max_distance_km, road_factor=road_factor,
                     keep_whole=keep_whole, locks=locks)
    n = len(units)
    reps = bases["rep_id"].tolist()
    rix = {r: i for i, r in enumerate(reps)}
    R = len(reps)
    measures = list(balance_on)
    X = units[measures].to_numpy(dtype=float) if measures else np.zeros((n, 0))
    tol = np.array([max(float(balance_on[m]), 1e-6) for m in measures])
    cur_lab = units["current"].to_numpy(dtype=object) if "current" in units.columns else np.array([None] * n, dtype=object)
    cur = np.array([rix.get(c, -1) if isinstance(c, str) else -1 for c in cur_lab], dtype=np.int64)
    dist = base_distances(units, bases, road_factor)
    allowed = dist <= max_distance_km + 1e-9
    if keep_whole == "province":
        allowed &= units["province_id"].to_numpy()[:, None] == bases["province_id"].to_numpy()[None, :]
    lock_mask = np.zeros(n, dtype=bool)
    if locked is not None:
        if isinstance(locked, (np.ndarray, pd.Series)) and np.asarray(locked).dtype == bool:
            lock_mask = np.asarray(locked, dtype=bool).copy()
        else:
            lock_mask = units["unit_id"].isin(list(locked)).to_numpy()
    lab = cur.copy()
    if locks:
        ids = units["unit_id"].to_numpy()
        for i in np.flatnonzero(units["unit_id"].isin(list(locks)).to_numpy()):
            lab[i] = rix[locks[ids[i]]]
            lock_mask[i] = True
    lock_mask &= lab >= 0
    has = cur >= 0
    beyond = units["unit_id"].to_numpy()[has & ~allowed[np.arange(n), np.maximum(cur, 0)]].tolist()

    if mean is None:
        mean = X.sum(axis=0) / R if R else np.zeros(len(measures))
    mean = np.asarray(mean, dtype=float)
    mean = np.where(mean > 0, mean, 1.0)

    def score_rows(T: np.ndarray) -> np.ndarray:
        return (((T / mean - 1.0) / tol) ** 2).sum(axis=-1)

    T = np.zeros((R, len(measures)))
    # accounts with no rep today (their rep left): to the allowed rep that helps balance most
    for i in np.flatnonzero(lab < 0):
        ok = np.flatnonzero(allowed[i])
        delta = score_rows(T[ok] + X[i]) - score_rows(T[ok])
        travel = dist[i, ok] / max_distance_km * travel_weight
        lab[i] = ok[np.lexsort((ok, np.round(delta + travel, 12)))[0]]
    np.add.at(T, lab, X)

    # groups that move together, with their measures, costs and distances
    g = _groups(units, keep_whole, cur_lab.astype(str), lock_mask)
    G = int(g.max()) + 1 if n else 0
    XG = np.zeros((G, len(measures)))
    np.add.at(XG, g, X)
    home = np.full(G, -1, dtype=np.int64)  # today's rep of the group (-1: none or mixed)
    home[g] = cur
    start = np.full(G, -1, dtype=np.int64)
    start[g] = lab
    glock = np.zeros(G, dtype=bool)
    np.logical_or.at(glock, g, lock_mask | (cur < 0))
    gallowed = np.ones((G, R), dtype=bool)
    np.logical_and.at(gallowed, g, allowed)
    gdist = np.zeros((G, R))
    np.add.at(gdist, g, dist)
    # today's travel quantiles, and per (group, rep) how many members lie within each
    held = []
    if hold_quantiles is not None and has.any():
        edges = set(hold_km) if hold_km is not None else quantile_edges(dist[np.arange(n), np.maximum(lab, 0)],
                                                                          hold_quantiles)
        for edge in sorted(edges):
            within = np.zeros((G, R))
            np.add.at(within, g, (dist <= edge + 1e-9).astype(float))
            now = float(within[np.arange(G), start].sum())
            held.append([within, now, now])  # per pair counts, accounts within today, within now
    pot = units["potential"].to_numpy(dtype=float) if "potential" in units.columns else np.ones(n)
    pot_g = np.bincount(g, weights=np.where(has, pot, 0.0), minlength=G)
    cnt_g = np.bincount(g, weights=has.astype(float), minlength=G)
    total_pot = max(float(pot[has].sum()), _EPS)
    total_cnt = max(float(has.sum()), 1.0)
    cost_g = pot_g / total_pot + cnt_g / total_cnt

    pg, pr = np.nonzero(gallowed & ~glock[:, None])  # candidate (group, rep) pairs within the limit
    # contiguity: per group and rep, the neighbours (outside the group) the rep holds
    nb_g = adj = None
    if graph is not None:
        e = graph.edges
        pos = {u: i for i, u in enumerate(units["unit_id"])}
        order = np.array([pos[u] for u in graph.units], dtype=np.int64)
        ends = np.column_stack([order[e[:, 0]], order[e[:, 1]]]) if len(e) else np.zeros((0, 2), dtype=np.int64)
        adj = sparse.csr_array((np.ones(len(ends)), (ends[:, 0], ends[:, 1])), shape=(n, n)) if len(ends) else None
        ends = ends[g[ends[:, 0]] != g[ends[:, 1]]]
        both = np.concatenate([ends, ends[:, ::-1]])  # (account, neighbour) both ways
        order_nb = np.argsort(both[:, 0], kind="stable")
        both = both[order_nb]
        nb_start = np.searchsorted(both[:, 0], np.arange(n + 1))
        nb_g = np.zeros((G, R))
        np.add.at(nb_g, (g[both[:, 0]], lab[both[:, 1]]), 1.0)
        near = np.ones((G, R), dtype=bool)
        np.logical_and.at(near, g, dist <= (near_km if near_km is not None else -1.0) + 1e-9)
        nearp = near[pg, pr]
        members = np.argsort(g, kind="stable")
        g_start = np.searchsorted(g[members], np.arange(G + 1))
    lab_g = start.copy()
    moved_pot = float(pot_g[(lab_g != home) & (home >= 0)].sum())
    moved_cnt = float(cnt_g[(lab_g != home) & (home >= 0)].sum())
    limit = np.inf if max_disruption is None else float(max_disruption)
    steps = 0
    stopped = "converged"
    bound = False  # whether the disruption limit ever changed a choice of the search
    max_moves = int(max_moves) if max_moves is not None else 4 * max(n, 1)
    Xp = XG[pg]
    dp = gdist[pg, pr]
    costp = cost_g[pg]
    potp, cntp = pot_g[pg], cnt_g[pg]
    homep = home[pg]
    P = len(pg)
    a_arr = lab_g[pg].copy()
    f_rep = score_rows(T)
    gain, delta, value = (np.zeros(P) for _ in range(3))
    # what a move of each pair costs against each running budget, one row per pair (one gather checks them
    # all): potential and accounts moved away from home, and accounts taken out of each held travel distance
    costs = np.zeros((P, 2 + len(held)))
    dpot, dcnt = costs[:, 0], costs[:, 1]
    joins = np.ones(P, dtype=bool)
    blocked = np.zeros(P, dtype=bool)  # the move would split the territory it leaves (until that one changes)
    dwithin_out = [costs[:, 2 + e] for e in range(len(held))]  # accounts the move takes beyond the distance
    # the pairs whose move improves the balance and may be made as far as the pair itself goes (the budget
    # and the travel quantiles, which every move changes, are checked on these only): each move then costs
    # the pairs it touches, not all of them (the same moves, in the same order, as a scan of every pair)
    promising = np.zeros(P, dtype=bool)
    g_pairs = np.searchsorted(pg, np.arange(G + 1))  # pg is sorted (np.nonzero): group x's pairs are a range
    by_rep = np.argsort(pr, kind="stable")
    r_pairs = np.searchsorted(pr[by_rep], np.arange(R + 1))

    def refresh(idx: np.ndarray) -> None:
        """The pairs' gains, costs and travel counts after their reps' totals changed."""
        a, b, x = a_arr[idx], pr[idx], Xp[idx]
        gain[idx] = (score_rows(T[a] - x) - f_rep[a]) + (score_rows(T[b] + x) - f_rep[b])
        travel = np.maximum(0.0, dp[idx] - gdist[pg[idx], a]) / max_distance_km * travel_weight
        delta[idx] = gain[idx] + travel
        away_now, away_new = a != homep[idx], b != homep[idx]
        dpot[idx] = np.where(away_new, potp[idx], 0.0) - np.where(away_now, potp[idx], 0.0)
        dcnt[idx] = np.where(away_new, cntp[idx], 0.0) - np.where(away_now, cntp[idx], 0.0)
        dcost = np.where(away_new, costp[idx], 0.0) - np.where(away_now, costp[idx], 0.0)
        # balance gained per share moved; moves that cost nothing (moves back) first
        value[idx] = np.where(dcost > 1e-15, -delta[idx] / np.maximum(dcost, 1e-15), np.inf)
        for e, (within, _need, _have) in enumerate(held):
            dwithin_out[e][idx] = within[pg[idx], a] - within[pg[idx], b]
        if nb_g is not None:
            joins[idx] = (nb_g[pg[idx], b] > 0) | nearp[idx]
        blocked[idx] = False
        promising[idx] = joins[idx] & (b != a) & (gain[idx] < -1e-9) & (delta[idx] < -1e-9)

    refresh(np.arange(P))
    while True:
        if steps >= max_moves:
            stopped = "max_moves"
            break
        sub = np.flatnonzero(promising)
        room = np.array([limit * total_pot - moved_pot, limit * total_cnt - moved_cnt,
                         *[have - need for _within, need, have in held]]) + 1e-9
        ok = costs[sub] <= room
        travel_ok = ok[:, 2:].all(axis=1)
        free = sub[travel_ok]  # what a search with no disruption limit could choose here
        sub = sub[travel_ok & ok[:, :2].all(axis=1)]
        j = _choose(sub, value, delta)
        if not bound and np.isfinite(limit) and _choose(free, value, delta) != j:
            bound = True  # from here on a larger limit would search differently
        if j < 0:
            break
        grp, to, frm = pg[j], pr[j], a_arr[j]
        if adj is not None:  # no move leaves its territory in more pieces than before
            mem = np.flatnonzero(lab_g[g] == frm)
            rest = mem[g[mem] != grp]
            if len(rest) and _pieces(adj, rest) > _pieces(adj, mem):
                blocked[j] = True
                promising[j] = False
                continue
        T[frm] -= XG[grp]
        T[to] += XG[grp]
        f_rep[[frm, to]] = score_rows(T[[frm, to]])
        lab_g[grp] = to
        moved_pot += float(dpot[j])
        moved_cnt += float(dcnt[j])
        for h in held:
            h[2] += float(h[0][grp, to] - h[0][grp, frm])
        a_arr[g_pairs[grp]:g_pairs[grp + 1]] = to
        # the pairs whose gain changed: moves of the two reps' groups, and moves to the two reps
        parts = [_spans(g_pairs, np.flatnonzero((lab_g == frm) | (lab_g == to))),
                 by_rep[r_pairs[frm]:r_pairs[frm + 1]], by_rep[r_pairs[to]:r_pairs[to + 1]]]
        if nb_g is not None:  # the neighbours of the moved accounts now see it at its new rep
            links = np.concatenate([both[nb_start[i]:nb_start[i + 1], 1] for i in members[g_start[grp]:g_start[grp + 1]]])
            np.add.at(nb_g, (g[links], np.full(len(links), frm)), -1.0)
            np.add.at(nb_g, (g[links], np.full(len(links), to)), 1.0)
            parts.append(_spans(g_pairs, np.unique(g[links])))
        refresh(np.unique(np.concatenate(parts)))
        steps += 1
    assign = lab_g[g]
    final = np.array([reps[c] for c in assign], dtype=object)
    moved = has & (assign != cur)
    shares = {"units": float(moved.sum() / total_cnt) if has.any() else 0.0}
    for c, m in enumerate(measures):
        base = X[has, c].sum()
        shares[m] = float(X[moved, c].sum() / base) if base > 0 else 0.0
    return RepDesign(assignment=final, moved=moved, distance_km=dist[np.arange(n), assign], beyond=beyond,
                     moved_accounts=int(moved.sum()), moved_share=shares, stopped_by=stopped, steps=steps,
                     limit_bound=bound)


def drivable(graph: Any, units: pd.DataFrame, max_edge_km: float | None, road_factor: float = 1.3) -> Any:
    """The contiguity graph with only the edges short enough to drive (road km at most
    ``max_edge_km``): two accounts are neighbours only then, so no edge spans a desert. None
    keeps every edge. Contiguity (a territory's ``parts``) is judged on this graph."""
    if max_edge_km is None or not len(graph.edges):
        return graph
    pos = {u: i for i, u in enumerate(units["unit_id"])}
    order = np.array([pos[u] for u in graph.units], dtype=np.int64)
    lat = units["lat"].to_numpy(dtype=float)[order]
    lon = units["lon"].to_numpy(dtype=float)[order]
    e = graph.edges
    km = great_circle_km(lat[e[:, 0]], lon[e[:, 0]], lat[e[:, 1]], lon[e[:, 1]]) * float(road_factor)
    return _make_graph(graph.units, e[km <= float(max_edge_km) + 1e-9], f"{graph.method}, edges <= {max_edge_km:g} km")


def _pieces(adj: Any, members: np.ndarray) -> int:
    """Connected pieces of the accounts ``members`` in the graph ``adj``."""
    return int(csgraph.connected_components(adj[members][:, members], directed=False)[0])


def travel_table(units: pd.DataFrame, labels: Any, bases: pd.DataFrame, *, road_factor: float = 1.3,
                 speed_kmh: float = 40.0, max_distance_km: float | None = None,
                 weight: str = "workload") -> pd.DataFrame:
    """Per territory (rep): accounts, median / p95 / max road km from the rep's base, the
    workload-weighted mean km and hours at ``speed_kmh``, and accounts beyond the limit."""
    labels = np.asarray(labels, dtype=object)
    reps = bases["rep_id"].tolist()
    rix = {r: i for i, r in enumerate(reps)}
    col = np.array([rix[r] for r in labels], dtype=np.int64)
    lat, lon = units["lat"].to_numpy(dtype=float), units["lon"].to_numpy(dtype=float)
    km = great_circle_km(lat, lon, bases["base_lat"].to_numpy(dtype=float)[col],
                         bases["base_lon"].to_numpy(dtype=float)[col]) * float(road_factor)
    w = units[weight].to_numpy(dtype=float) if weight in units.columns else np.ones(len(units))
    df = pd.DataFrame({"territory": labels, "km": km, "w": w})
    rows = []
    for rep, part in df.groupby("territory", sort=True):
        d = part["km"].to_numpy()
        ww = part["w"].to_numpy()
        wmean = float((d * ww).sum() / ww.sum()) if ww.sum() > 0 else float(d.mean())
        rows.append({"territory": str(rep), "accounts": len(d), "median_km": float(np.median(d)),
                     "p95_km": float(np.quantile(d, 0.95)), "max_km": float(d.max()), "weighted_mean_km": wmean,
                     "weighted_mean_hours": wmean / float(speed_kmh),
                     "beyond_limit": int((d > max_distance_km + 1e-9).sum()) if max_distance_km else 0})
    return pd.DataFrame(rows)


def travel_overall(km: Any, weight: Any = None) -> dict[str, float]:
    """Median, p95, max and weighted mean of road km over all accounts."""
    d = np.asarray(km, dtype=float)
    w = np.ones(len(d)) if weight is None else np.asarray(weight, dtype=float)
    return {"median_km": float(np.median(d)), "p95_km": float(np.quantile(d, 0.95)), "max_km": float(d.max()),
            "weighted_mean_km": float((d * w).sum() / w.sum()) if w.sum() > 0 else float(d.mean())}
