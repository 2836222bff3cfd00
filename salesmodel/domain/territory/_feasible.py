"""Requests no territory plan can meet, found before any search: one unit alone above a tolerance, too
few units with a measure, disconnected parts of the graph that cannot hold whole territories, and pieces
hanging on one unit (see :func:`salesmodel.domain.territory.design`).
"""
from __future__ import annotations

import math
import weakref

import numpy as np

from salesmodel.domain.constraints import largest_over_mean, within_tolerance
from salesmodel.domain.territory._graph import Graph, cut_pieces
from salesmodel.domain.territory._units import Units
from salesmodel.errors import InfeasibleError, short_list


def _fmt(x: float) -> str:
    return f"{x:,.6g}"


def check_feasible(units: Units, k: int, graph: Graph | None, contiguous: bool) -> None:
    """Raise InfeasibleError when a simple argument shows no plan can meet the request."""
    feasible: dict[str, float] = {}
    problems = []
    for c, name in enumerate(units.measure_names):
        values = units.measures[:, c]
        tol = units.tolerances[c]
        found = largest_over_mean(values, k)
        if found is None:
            continue
        largest, over, mean = found
        need = 0.0
        if not within_tolerance(over, tol):
            need = max(need, over)
            problems.append(
                f"unit {units.ids[largest]!r} alone has {name} {_fmt(values[largest])}, "
                f"{over:.1%} above the mean territory ({_fmt(mean)})"
            )
        positive = int((values > 0).sum())
        if positive < k and tol < 1:
            need = max(need, 1.0)
            problems.append(
                f"only {positive} units have any {name}, so some of the {k} territories would have none"
            )
        if need > 0:
            feasible[name] = math.ceil(need * 1000) / 1000
    if problems:
        smallest = ", ".join(f"{m} ±{v:.1%}" for m, v in feasible.items())
        raise InfeasibleError(
            "No plan can keep every territory within its tolerance: " + "; ".join(problems)
            + f". The smallest tolerance that could work: {smallest} (or use fewer territories).",
            feasible=feasible,
        )
    if contiguous and graph is not None and graph.n_components > 1:
        if graph.n_components > k:
            raise InfeasibleError(
                f"No contiguous plan has {k} territories: the contiguity graph has {graph.n_components} "
                f"disconnected parts (first units: {short_list([c[0] for c in graph.components])}) and "
                f"each needs its own territory. Use at least {graph.n_components} territories, add edges, "
                f"or pass contiguous=False.",
                feasible={"k": graph.n_components},
            )
        # Each part must hold a whole number of territories within every tolerance.
        pos = units.position
        lo_sum = hi_sum = 0
        for part in graph.components:
            idx = [pos[u] for u in part]
            lo, hi = 1, len(idx)
            for c, _name in enumerate(units.measure_names):
                total = units.measures[:, c].sum()
                if total <= 0:
                    continue
                mean, tol = total / k, units.tolerances[c]
                s = units.measures[idx, c].sum()
                lo = max(lo, math.ceil(s / ((1 + tol) * mean) - 1e-9))
                hi = min(hi, math.floor(s / ((1 - tol) * mean) + 1e-9))
            if lo > hi:
                raise InfeasibleError(
                    f"No contiguous plan fits the tolerances: the disconnected part of the graph with "
                    f"{len(idx)} units (first: {short_list(part[:3])}) cannot hold a whole number of "
                    f"territories within {short_list(units.measure_names)} tolerances. Add edges, widen the "
                    f"tolerances or pass contiguous=False.",
                )
            lo_sum, hi_sum = lo_sum + lo, hi_sum + hi
        if not lo_sum <= k <= hi_sum:
            raise InfeasibleError(
                f"No contiguous plan fits the tolerances: the graph's {graph.n_components} parts need between "
                f"{lo_sum} and {hi_sum} territories in all, not {k}.",
                feasible={"k": (lo_sum, hi_sum)},
            )
    if contiguous and graph is not None:
        _check_cut_pieces(units, k, graph)


def _piece_fits(sums: np.ndarray, at_cut: np.ndarray, means: np.ndarray, tols: np.ndarray) -> bool:
    """Whether a piece that hangs on one unit can be whole territories plus a remainder that
    joins the cut unit's territory, within every tolerance (one count of whole territories
    for all measures)."""
    lo, hi = 0, np.inf
    for c in range(len(means)):
        if means[c] <= 0:
            continue
        up, down = (1 + tols[c]) * means[c], (1 - tols[c]) * means[c]
        lo = max(lo, math.ceil((sums[c] - (up - at_cut[c])) / up - 1e-9))
        hi = min(hi, math.floor(sums[c] / down + 1e-9) if down > 0 else np.inf)
    return lo <= hi


# The frontier designs many times on one graph with the same measures: its pieces are found once.
_PIECES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _pieces_of(graph: Graph, measures: np.ndarray) -> list:
    key = measures.tobytes()
    known = _PIECES.get(graph)
    if known is None or known[0] != key:
        known = _PIECES[graph] = (key, cut_pieces(graph, measures))
    return known[1]


def _check_cut_pieces(units: Units, k: int, graph: Graph) -> None:
    """InfeasibleError when a piece of the graph that hangs on a single unit can neither form
    whole territories nor join that unit's territory within the tolerances (its units reach
    the rest only through that unit, so every territory there is inside the piece or holds it)."""
    means = units.measures.sum(axis=0) / k
    tols = np.asarray(units.tolerances, dtype=float)
    for v, first, sums, size in _pieces_of(graph, units.measures):
        if _piece_fits(sums, units.measures[v], means, tols):
            continue
        # the smallest widening of one tolerance that lets this piece fit
        options = {}
        for c, name in enumerate(units.measure_names):
            for tol in np.arange(round(tols[c], 3) + 0.001, 1.0, 0.001):
                if _piece_fits(sums, units.measures[v], means, np.where(np.arange(len(tols)) == c, tol, tols)):
                    options[name] = math.ceil(tol * 1000) / 1000
                    break
        shares = ", ".join(f"{name} {sums[c] / means[c]:.0%}" for c, name in enumerate(units.measure_names) if means[c] > 0)
        widen = " or ".join(f"{m} ±{t:.1%}" for m, t in options.items()) or "no tolerance below 100%"
        raise InfeasibleError(
            f"No contiguous plan fits the tolerances: {size} units (first: {short_list([units.ids[first]])}) reach the "
            f"rest of the graph only through unit {units.ids[v]!r}, and they hold {shares} of a mean territory: too much "
            f"to join that unit's territory, too little for whole territories of their own. The smallest tolerance that "
            f"could work: {widen}; or add edges, or pass contiguous=False.",
            feasible=options or None,
        )
