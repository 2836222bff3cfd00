"""Territories around reps: each territory belongs to a rep with a home base, travel is
measured from that base, and a proposal starts from today's assignment and improves balance
with few, short moves (Zoltners & Sinha: realign a limited share at a time).

The search is a deterministic greedy descent over candidate (account or area, rep) pairs:
a pair exists only when the rep's base lies within ``max_distance_km`` (road km) of every
account of the area and the rep is one of the area's ``nearest_reps`` nearest (or its rep today),
so the pairs grow with the accounts, not with accounts x reps; a move takes an area from its rep
to another, lowering the sum of squared deviations (over tolerance) of each rep's potential and
workload from the mean territory, with a penalty for the travel it adds. Moves are chosen by balance gained per
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.territory._descent import Descent, Pairs, State, contiguity
from salesmodel.domain.territory._graph import _make_graph
from salesmodel.domain.territory._units import EARTH_RADIUS_KM
from salesmodel.errors import InputError, ParamsError, short_list

KEEP_WHOLE = ("none", "city", "province")
# A group is offered to at most this many reps (the nearest within the distance limit, and its rep
# today): the search's pairs then grow with the accounts, not with accounts x reps.
NEAREST_REPS = 40
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


# Cells (accounts x reps) of road km held at once: distances are computed block by block, so a large
# company never holds a table of every account against every rep.
BLOCK_CELLS = 4_000_000


def km_at(units: pd.DataFrame, bases: pd.DataFrame, rep_index: Any, road_factor: float = 1.3) -> np.ndarray:
    """Road km from each unit to the base of the rep at ``rep_index`` (positions in ``bases``; NaN
    where negative): the same numbers as :func:`base_distances` gives, without the full table."""
    col = np.asarray(rep_index, dtype=np.int64)
    at = np.maximum(col, 0)
    km = great_circle_km(units["lat"].to_numpy(dtype=float), units["lon"].to_numpy(dtype=float),
                         bases["base_lat"].to_numpy(dtype=float)[at], bases["base_lon"].to_numpy(dtype=float)[at])
    return np.where(col >= 0, km * float(road_factor), np.nan)


def km_to(units: pd.DataFrame, bases: pd.DataFrame, rep_ids: Any, road_factor: float = 1.3) -> np.ndarray:
    """Road km from each unit to the base of the rep named for it (NaN where none or not in ``bases``).

    >>> import pandas as pd
    >>> units = pd.DataFrame({"lat": [30.0, 31.0], "lon": [120.0, 120.0]})
    >>> bases = pd.DataFrame({"rep_id": ["R1"], "base_lat": [30.0], "base_lon": [120.0]})
    >>> km_to(units, bases, ["R1", None], road_factor=1.0).round(1).tolist()
    [0.0, nan]
    """
    rix = {r: i for i, r in enumerate(bases["rep_id"])}
    return km_at(units, bases, [rix.get(r, -1) if isinstance(r, str) else -1 for r in rep_ids], road_factor)


def reach_blocks(units: pd.DataFrame, bases: pd.DataFrame, rows: Any = None, *, road_factor: float = 1.3,
                 keep_whole: str = "none", together: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The road km from the units ``rows`` (positions, default all) to the reps they may go to, in blocks
    of about :data:`BLOCK_CELLS` cells: ``(rows, reps, km)`` with ``km[i, j]`` from ``rows[i]`` to
    ``reps[j]``, the reps in ``bases``' order. With ``keep_whole: province`` a unit is measured only
    against its province's reps. ``together``: a code per row; rows of one code (in a run, as given)
    stay in one block. Every row is in exactly one block."""
    rows = np.arange(len(units)) if rows is None else np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return
    codes = np.arange(len(rows)) if together is None else np.asarray(together)
    lat, lon = units["lat"].to_numpy(dtype=float), units["lon"].to_numpy(dtype=float)
    blat, blon = bases["base_lat"].to_numpy(dtype=float), bases["base_lon"].to_numpy(dtype=float)
    if keep_whole == "province":
        both, _ = pd.factorize(np.concatenate([units["province_id"].to_numpy(dtype=object)[rows],
                                               bases["province_id"].to_numpy(dtype=object)]))
        mine, theirs = both[:len(rows)], both[len(rows):]
        order = np.argsort(mine, kind="stable")
        edges = _run_edges(mine[order])
        sets = [(order[a:b], np.flatnonzero(theirs == mine[order[a]])) for a, b in zip(edges[:-1], edges[1:])]
    else:
        sets = [(np.arange(len(rows)), np.arange(len(bases)))]
    for local, reps in sets:
        step = max(1, BLOCK_CELLS // max(len(reps), 1))
        edges = _run_edges(codes[local])
        start = 0
        while start < len(local):
            k = int(np.searchsorted(edges, start + step, side="right")) - 1
            end = int(edges[k]) if edges[k] > start else int(edges[np.searchsorted(edges, start, side="right")])
            at = rows[local[start:end]]
            km = great_circle_km(lat[at][:, None], lon[at][:, None], blat[reps][None, :],
                                 blon[reps][None, :]) * float(road_factor)
            yield at, reps, km
            start = end


def _run_edges(values: np.ndarray) -> np.ndarray:
    """Where each run of equal neighbouring values starts, and the end: ``[0, ..., len(values)]``."""
    return np.concatenate([[0], np.flatnonzero(values[1:] != values[:-1]) + 1, [len(values)]]).astype(np.int64)


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
        rows = np.flatnonzero(orphan)
        nearest = np.full(len(units), np.inf)
        by = keep_whole if keep_whole != "province" or "province_id" in bases.columns else "none"
        for at, _reps, km in reach_blocks(units, bases, rows, road_factor=road_factor, keep_whole=by):
            if km.shape[1]:
                nearest[at] = km.min(axis=1)
        nearest = nearest[rows]
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
    nearest_reps: int | None = NEAREST_REPS,
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
    nearest_reps : int or None, default=NEAREST_REPS
        An account (area) is offered to at most this many reps: the nearest based within
        ``max_distance_km`` (ties to the first rep), and its rep today. The search then grows with the
        accounts, not with accounts x reps (a rep 41st in line is never the one a director would
        send). None: every rep within the limit.
    """
    search, finish = _prepare(units, bases, balance_on=balance_on, max_distance_km=max_distance_km,
                              road_factor=road_factor, keep_whole=keep_whole, locked=locked, locks=locks,
                              travel_weight=travel_weight, hold_quantiles=hold_quantiles, graph=graph,
                              near_km=near_km, mean=mean, hold_km=hold_km, nearest_reps=nearest_reps)
    limit = math.inf if max_disruption is None else float(max_disruption)
    stopped, bound, _fork = search.run(limit, _max_moves(max_moves, len(units)))
    return finish(search.state, stopped, bound)


def rep_frontier(units: pd.DataFrame, bases: pd.DataFrame, *, limits: Any, max_moves: int | None = None,
                 **kwargs: Any) -> list[RepDesign]:
    """:func:`rep_design` under each disruption limit of ``limits`` (None: no limit), the same designs as
    one search per limit, found with less work: a search under a larger limit makes the same moves as
    under a smaller one until the smaller limit first changes a choice, so it resumes from there, and a
    design no limit changed is the design under every larger limit.

    >>> import pandas as pd
    >>> units = pd.DataFrame({"unit_id": ["a", "b", "c", "d"], "lat": [30.0, 30.1, 30.2, 30.3],
    ...                       "lon": [120.0] * 4, "potential": [1.0] * 4, "workload": [1.0] * 4,
    ...                       "current": ["R1", "R1", "R1", "R2"]})
    >>> bases = pd.DataFrame({"rep_id": ["R1", "R2"], "base_lat": [30.0, 30.3], "base_lon": [120.0, 120.0]})
    >>> [d.moved_accounts for d in rep_frontier(units, bases, limits=[0.0, None], balance_on={"potential": 0.1},
    ...                                         max_distance_km=100)]
    [0, 1]
    """
    search, finish = _prepare(units, bases, **kwargs)
    moves = _max_moves(max_moves, len(units))
    wanted = [math.inf if x is None else float(x) for x in limits]
    found: dict[float, RepDesign] = {}
    for limit in sorted(set(wanted)):
        stopped, bound, fork = search.run(limit, moves)
        found[limit] = finish(search.state, stopped, bound)
        if fork is None:  # the limit never changed a choice: every larger limit gives the same design
            for larger in (x for x in wanted if x > limit):
                found[larger] = found[limit]
            break
        search.state = fork  # where the larger limits part from this one
    return [found[x] for x in wanted]


def _max_moves(max_moves: int | None, n: int) -> int:
    return int(max_moves) if max_moves is not None else 4 * max(n, 1)


def _prepare(units: pd.DataFrame, bases: pd.DataFrame, *, balance_on: dict[str, float], max_distance_km: float,
             road_factor: float = 1.3, keep_whole: str = "none", locked: Any = None, locks: dict | None = None,
             travel_weight: float = 1.0, hold_quantiles: Any = (0.5, 0.95), graph: Any = None,
             near_km: float | None = None, mean: Any = None, hold_km: Any = None,
             nearest_reps: int | None = NEAREST_REPS) -> tuple[Descent, Any]:
    """The descent's starting point (bad input refused first), and how its final state becomes a design."""
    check_rep_inputs(units, bases, max_distance_km=max_distance_km, road_factor=road_factor,
                     keep_whole=keep_whole, locks=locks)
    if nearest_reps is not None and not (isinstance(nearest_reps, (int, np.integer)) and nearest_reps >= 1):
        raise ParamsError(f"The 'nearest_reps' parameter must be a whole number >= 1 or None. Got {nearest_reps!r} instead.")
    n = len(units)
    reps = bases["rep_id"].tolist()
    rix = {r: i for i, r in enumerate(reps)}
    R = len(reps)
    measures = list(balance_on)
    X = units[measures].to_numpy(dtype=float) if measures else np.zeros((n, 0))
    tol = np.array([max(float(balance_on[m]), 1e-6) for m in measures])
    cur_lab = units["current"].to_numpy(dtype=object) if "current" in units.columns else np.array([None] * n, dtype=object)
    cur = np.array([rix.get(c, -1) if isinstance(c, str) else -1 for c in cur_lab], dtype=np.int64)
    lab, lock_mask = _locked_start(units, cur, rix, locked, locks)
    has = cur >= 0
    allowed_now = has & (km_at(units, bases, cur, road_factor) <= max_distance_km + 1e-9)
    if keep_whole == "province":
        allowed_now &= units["province_id"].to_numpy() == bases["province_id"].to_numpy()[np.maximum(cur, 0)]
    beyond = units["unit_id"].to_numpy()[has & ~allowed_now].tolist()
    if mean is None:
        mean = X.sum(axis=0) / R if R else np.zeros(len(measures))
    mean = np.asarray(mean, dtype=float)
    mean = np.where(mean > 0, mean, 1.0)

    def score_rows(T: np.ndarray) -> np.ndarray:
        return (((T / mean - 1.0) / tol) ** 2).sum(axis=-1)

    T = np.zeros((R, len(measures)))
    # accounts with no rep today (their rep left): to the allowed rep that helps balance most
    for at, block_reps, km in reach_blocks(units, bases, np.flatnonzero(lab < 0), road_factor=road_factor,
                                           keep_whole=keep_whole):
        for i, row in zip(at, km):
            ok_here = np.flatnonzero(row <= max_distance_km + 1e-9)
            ok = block_reps[ok_here]
            delta = score_rows(T[ok] + X[i]) - score_rows(T[ok])
            travel = row[ok_here] / max_distance_km * travel_weight
            lab[i] = ok[np.lexsort((ok, np.round(delta + travel, 12)))[0]]
    np.add.at(T, lab, X)

    # groups that move together, with their measures
    g = _groups(units, keep_whole, cur_lab.astype(str), lock_mask)
    G = int(g.max()) + 1 if n else 0
    home = np.full(G, -1, dtype=np.int64)  # today's rep of the group (-1: none or mixed)
    home[g] = cur
    start = np.full(G, -1, dtype=np.int64)
    start[g] = lab
    glock = np.zeros(G, dtype=bool)
    np.logical_or.at(glock, g, lock_mask | (cur < 0))
    # today's travel quantiles: per group and candidate rep how many members lie within each
    edges: list[float] = []
    if hold_quantiles is not None and has.any():
        edges = sorted(set(hold_km) if hold_km is not None
                       else quantile_edges(km_at(units, bases, np.maximum(lab, 0), road_factor), hold_quantiles))
    pairs = candidate_pairs(units, bases, g=g, G=G, home=home, start=start, glock=glock, edges=edges,
                            max_distance_km=max_distance_km, road_factor=road_factor, keep_whole=keep_whole,
                            near_km=near_km if graph is not None else None, nearest_reps=nearest_reps)
    pot = units["potential"].to_numpy(dtype=float) if "potential" in units.columns else np.ones(n)
    pot_g = np.bincount(g, weights=np.where(has, pot, 0.0), minlength=G)
    cnt_g = np.bincount(g, weights=has.astype(float), minlength=G)
    total_pot = max(float(pot[has].sum()), _EPS)
    total_cnt = max(float(has.sum()), 1.0)
    search = Descent(X=X, tol=tol, mean=mean, T=T, g=g, home=home, start=start, pairs=pairs, pot_g=pot_g,
                     cnt_g=cnt_g, total_pot=total_pot, total_cnt=total_cnt, max_distance_km=max_distance_km,
                     travel_weight=travel_weight, lab=lab,
                     links=None if graph is None else contiguity(graph, units["unit_id"], g, n))

    def finish(state: State, stopped: str, bound: bool) -> RepDesign:
        assign = state.lab_g[g]
        final = np.array([reps[c] for c in assign], dtype=object)
        moved = has & (assign != cur)
        shares = {"units": float(moved.sum() / total_cnt) if has.any() else 0.0}
        for c, m in enumerate(measures):
            base = X[has, c].sum()
            shares[m] = float(X[moved, c].sum() / base) if base > 0 else 0.0
        return RepDesign(assignment=final, moved=moved, distance_km=km_at(units, bases, assign, road_factor),
                         beyond=beyond, moved_accounts=int(moved.sum()), moved_share=shares, stopped_by=stopped,
                         steps=state.steps, limit_bound=bound)

    return search, finish


def candidate_pairs(units: pd.DataFrame, bases: pd.DataFrame, *, g: np.ndarray, G: int, home: np.ndarray,
                    start: np.ndarray, glock: np.ndarray, edges: list[float], max_distance_km: float,
                    road_factor: float, keep_whole: str, near_km: float | None,
                    nearest_reps: int | None) -> Pairs:
    """The (group, rep) pairs a search may try: a rep based within ``max_distance_km`` of every member
    (in the group's province with ``keep_whole: province``), the ``nearest_reps`` nearest of them (ties
    to the first rep) and the group's rep today; none for a group that stays. Per pair: the members' km
    to the rep, how many lie within each of ``edges`` and whether all lie within ``near_km``; the same
    for each group at its ``start`` rep. Computed block by block, never as a table of every group
    against every rep."""
    order = np.argsort(g, kind="stable")  # a group's members together, in the units' order
    parts: list[tuple[np.ndarray, ...]] = []
    for at, block_reps, km in reach_blocks(units, bases, order, road_factor=road_factor, keep_whole=keep_whole,
                                           together=g[order]):
        own, inv = np.unique(g[at], return_inverse=True)  # the rows come in group order

        def per_group(values: np.ndarray, how: Any, first: Any, inv: np.ndarray = inv, G: int = len(own)) -> np.ndarray:
            if len(values) == G:  # one account a group (no keep_whole city): the rows are the groups
                return values
            out = np.full((G, values.shape[1]), first, dtype=values.dtype)
            how.at(out, inv, values)
            return out

        ok = per_group(km <= max_distance_km + 1e-9, np.logical_and, True) & ~glock[own][:, None]
        gkm = per_group(km, np.add, 0.0)
        keep = ok.copy()
        if nearest_reps is not None and keep.shape[1] > nearest_reps:
            far = np.where(ok, gkm, np.inf)
            kth = np.partition(far, nearest_reps - 1, axis=1)[:, nearest_reps - 1][:, None]
            keep = ok & (far < kth)
            tie = ok & (far == kth)
            keep |= tie & (np.cumsum(tie, axis=1) <= nearest_reps - keep.sum(axis=1)[:, None])
            mine = block_reps[None, :] == home[own][:, None]
            keep |= ok & mine  # the rep today: a move back is always possible
        lg, col = np.nonzero(keep)
        within = [per_group((km <= e + 1e-9).astype(float), np.add, 0.0)[lg, col] for e in edges]
        near = (per_group(km <= near_km + 1e-9, np.logical_and, True)[lg, col] if near_km is not None
                else np.zeros(len(lg), dtype=bool))
        parts.append((own[lg], block_reps[col], gkm[lg, col], near, *within))
    cols = [np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in range(4 + len(edges))]
    pg, pr = cols[0].astype(np.int64), cols[1].astype(np.int64)
    by = np.lexsort((pr, pg))
    # each group at its start rep: its members' km and how many lie within each edge
    km_start = km_at(units, bases, start[g], road_factor)
    start_km = np.zeros(G)
    np.add.at(start_km, g, km_start)
    start_within = np.zeros((len(edges), G))
    for e, edge in enumerate(edges):
        np.add.at(start_within[e], g, (km_start <= edge + 1e-9).astype(float))
    return Pairs(pg=pg[by], pr=pr[by], km=cols[2][by], near=cols[3][by].astype(bool),
                 within=[c[by] for c in cols[4:]], start_km=start_km, start_within=start_within)


def _locked_start(units: pd.DataFrame, cur: np.ndarray, rix: dict, locked: Any,
                  locks: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """Each account's rep at the start (today's, or the one a lock names; -1: none) and which stay put."""
    n = len(units)
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
    return lab, lock_mask


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
