"""Territories designed part by part: a company whose accounts can only ever move between
reps of the same part (a region, when ``keep_whole`` keeps accounts in their province) is
designed one part at a time, each part on its own (and so in parallel), against the
company's mean territory. The parts are exact: an account whose rep today, allowed reps or
lock lie in two parts joins those parts into one.

The disruption limit holds in each part (so in the whole); each part keeps as many of its
accounts within the company's travel quantiles (median, p95) as today (so the company's do not
get worse); the result does not depend on the order or the place (process, worker) the parts run in.

>>> import pandas as pd
>>> units = pd.DataFrame({"unit_id": list("abcdwxyz"), "lat": [30.0, 30.1, 30.2, 30.3, 40.0, 40.1, 40.2, 40.3],
...                       "lon": [120.0] * 8, "potential": [1.0] * 8, "workload": [1.0] * 8,
...                       "current": ["R1", "R1", "R1", "R2", "R3", "R3", "R3", "R4"]})
>>> bases = pd.DataFrame({"rep_id": ["R1", "R2", "R3", "R4"], "base_lat": [30.0, 30.3, 40.0, 40.3],
...                       "base_lon": [120.0] * 4})
>>> res = rep_design_in_parts(units, bases, base_part=["S", "S", "N", "N"], balance_on={"potential": 0.1},
...                           max_distance_km=100)
>>> res.assignment.tolist(), res.moved_accounts
(['R1', 'R1', 'R2', 'R2', 'R3', 'R3', 'R4', 'R4'], 2)
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.territory._graph import Graph, _make_graph
from salesmodel.domain.territory._reps import RepDesign, check_rep_inputs, km_at, quantile_edges, reach_blocks, rep_frontier

__all__ = ["design_parts", "rep_design_in_parts", "rep_frontier_in_parts"]


def design_parts(units: pd.DataFrame, bases: pd.DataFrame, base_part: Sequence[Any], *, max_distance_km: float,
                 road_factor: float = 1.3, keep_whole: str = "none",
                 locks: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The part of every unit and of every base: a unit's reps' part (``base_part`` gives each
    base's), parts that share an account (its rep today, a rep it may move to, or the rep it is
    locked to) joined into one (labelled by the smallest of them), so no move can cross two parts."""
    labels = [str(p) for p in base_part]
    names = sorted(set(labels))
    parent = {p: p for p in names}

    def root(p: str) -> str:
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    rix = {r: i for i, r in enumerate(bases["rep_id"])}
    code = np.array([names.index(p) for p in labels], dtype=np.int64)
    current = units["current"].to_numpy(dtype=object) if "current" in units.columns else np.array([None] * len(units))
    ids = units["unit_id"].to_numpy(dtype=object)
    # per unit, the parts of the reps it may go to (block by block: never every unit against every rep)
    reach = np.zeros((len(units), len(names)), dtype=bool)
    for at, reps, km in reach_blocks(units, bases, road_factor=road_factor, keep_whole=keep_whole):
        allowed = km <= max_distance_km + 1e-9
        for k in np.unique(code[reps]):
            reach[at, k] = allowed[:, code[reps] == k].any(axis=1)
    first = np.full(len(units), None, dtype=object)
    for i in range(len(units)):
        parts = set(np.flatnonzero(reach[i]).tolist())
        for r in (current[i], (locks or {}).get(ids[i])):
            if isinstance(r, str) and r in rix:
                parts.add(int(code[rix[r]]))
        touched = sorted({root(names[k]) for k in parts})
        for other in touched[1:]:
            parent[root(other)] = root(touched[0])
        first[i] = touched[0] if touched else None
    return (np.array([root(p) if p is not None else None for p in first], dtype=object),
            np.array([root(p) for p in labels], dtype=object))


def _subgraph(graph: Graph, keep: np.ndarray) -> Graph:
    """The graph on the units ``keep`` (unit ids, in the order the part lists them)."""
    pos = {u: i for i, u in enumerate(graph.units)}
    nodes = np.array([pos[u] for u in keep], dtype=np.int64)
    new = np.full(len(graph.units), -1, dtype=np.int64)
    new[nodes] = np.arange(len(nodes))
    e = new[graph.edges] if len(graph.edges) else np.zeros((0, 2), dtype=np.int64)
    e = e[(e >= 0).all(axis=1)] if len(e) else e
    return _make_graph(np.asarray(keep, dtype=object), e, graph.method)


def _design_part(task: tuple[pd.DataFrame, pd.DataFrame, dict]) -> list[RepDesign]:
    """One part's designs under each limit (module level, so a process pool or a Dask worker can run it)."""
    units, bases, kwargs = task
    return rep_frontier(units, bases, **kwargs)


def rep_design_in_parts(units: pd.DataFrame, bases: pd.DataFrame, *, max_disruption: float | None = None,
                        **kwargs: Any) -> RepDesign:
    """:func:`~salesmodel.domain.territory.rep_design` run on each part of the company on its own
    (``base_part``: each base's part, e.g. its region; see :func:`design_parts`; None: one part),
    against the company's mean territory, the results put back in the units' order; the arguments
    are :func:`rep_frontier_in_parts`' with one limit, ``max_disruption``."""
    return rep_frontier_in_parts(units, bases, limits=[max_disruption], **kwargs)[0]


def rep_frontier_in_parts(units: pd.DataFrame, bases: pd.DataFrame, *, limits: Sequence[float | None],
                          base_part: Sequence[Any] | None = None, balance_on: dict[str, float],
                          max_distance_km: float, road_factor: float = 1.3, keep_whole: str = "none",
                          locked: Any = None, locks: dict | None = None, graph: Graph | None = None,
                          runner: Callable[[Callable, Iterable], Iterable] = map, **kwargs: Any) -> list[RepDesign]:
    """The company's design under each disruption limit of ``limits`` (None: no limit), each part of
    the company (``base_part``: each base's part, e.g. its region; see :func:`design_parts`; None: one
    part) designed on its own by :func:`~salesmodel.domain.territory.rep_frontier` against the company's
    mean territory, the results put back in the units' order.

    ``runner(function, tasks)`` runs the parts (default: one after the other; a process pool's
    ``map`` or a Dask client's gives the same plans; the largest part is handed out first). Each limit
    holds in each part, and each part keeps as many accounts within the company's ``hold_quantiles`` as
    today; ``max_moves`` counts each part's moves.
    """
    check_rep_inputs(units, bases, max_distance_km=max_distance_km, road_factor=road_factor,
                     keep_whole=keep_whole, locks=locks)
    if base_part is None:
        base_part = [""] * len(bases)
    part, base_of = design_parts(units, bases, base_part, max_distance_km=max_distance_km, road_factor=road_factor,
                                 keep_whole=keep_whole, locks=locks)
    measures = list(balance_on)
    n_reps = max(len(bases), 1)
    mean = (units[measures].to_numpy(dtype=float).sum(axis=0) / n_reps) if measures else None
    lock_mask = None
    if locked is not None:
        lock_mask = (np.asarray(locked, dtype=bool) if np.asarray(locked).dtype == bool
                     else units["unit_id"].isin(list(locked)).to_numpy())
    named = sorted({p for p in part if p is not None})
    hold_km = None
    if len(named) > 1 and kwargs.get("hold_quantiles", (0.5, 0.95)) is not None:
        hold_km = _company_hold_km(units, bases, locks, road_factor, kwargs.get("hold_quantiles", (0.5, 0.95)))
    rows = {name: np.flatnonzero(part == name) for name in named}
    # the largest part first: with two workers and five regions, the last to finish is not the largest
    todo = sorted(named, key=lambda name: (-len(rows[name]), name))
    tasks = []
    for name in todo:
        sub = units.iloc[rows[name]].reset_index(drop=True)
        ids = set(sub["unit_id"])
        tasks.append((sub, bases[base_of == name].reset_index(drop=True), dict(
            kwargs, limits=list(limits), balance_on=balance_on, max_distance_km=max_distance_km,
            road_factor=road_factor, keep_whole=keep_whole, mean=mean, hold_km=hold_km,
            locked=None if lock_mask is None else lock_mask[rows[name]],
            locks={k: v for k, v in (locks or {}).items() if k in ids} or None,
            graph=None if graph is None else _subgraph(graph, sub["unit_id"].to_numpy(dtype=object)))))
    known = dict(zip(todo, runner(_design_part, tasks)))
    return [_merge(units, bases, measures, [rows[name] for name in named], [known[name][k] for name in named])
            for k in range(len(limits))]


def _company_hold_km(units: pd.DataFrame, bases: pd.DataFrame, locks: dict | None, road_factor: float,
                     quantiles: Any) -> list[float] | None:
    """The company's travel quantiles, today: each part keeps as many accounts within them as today."""
    held_by = {**{u: r for u, r in zip(units["unit_id"], units.get("current", [None] * len(units)))},
               **(locks or {})}
    rix = {r: i for i, r in enumerate(bases["rep_id"])}
    at = np.array([rix.get(held_by.get(u), -1) if isinstance(held_by.get(u), str) else -1
                   for u in units["unit_id"]])
    if not (at >= 0).any():
        return None
    km = km_at(units, bases, at, road_factor)[at >= 0]
    return sorted(quantile_edges(km, quantiles))


def _merge(units: pd.DataFrame, bases: pd.DataFrame, measures: list[str], rows: list[np.ndarray],
           results: list[RepDesign]) -> RepDesign:
    n = len(units)
    assignment = np.empty(n, dtype=object)
    moved = np.zeros(n, dtype=bool)
    km = np.full(n, np.nan)
    beyond: set = set()
    for idx, res in zip(rows, results):
        assignment[idx] = res.assignment
        moved[idx] = res.moved
        km[idx] = res.distance_km
        beyond |= set(res.beyond)
    has = units["current"].isin(set(bases["rep_id"])).to_numpy() if "current" in units.columns else np.zeros(n, bool)
    shares = {"units": float(moved.sum() / has.sum()) if has.any() else 0.0}
    for m in measures:
        x = units[m].to_numpy(dtype=float)
        base = x[has].sum()
        shares[m] = float(x[moved].sum() / base) if base > 0 else 0.0
    return RepDesign(assignment=assignment, moved=moved, distance_km=km,
                     beyond=[u for u in units["unit_id"] if u in beyond], moved_accounts=int(moved.sum()),
                     moved_share=shares,
                     stopped_by="max_moves" if any(r.stopped_by == "max_moves" for r in results) else "converged",
                     steps=int(sum(r.steps for r in results)), limit_bound=any(r.limit_bound for r in results))
