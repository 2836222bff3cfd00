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

import time
from typing import Any

import numpy as np

from salesmodel.domain.territory._graph import Graph
from salesmodel.domain.territory._plan import medoids, territory_parts
from salesmodel.domain.territory._search import _PHASES, _anneal, _Clock, _State, _swap_pass, _sweep
from salesmodel.domain.territory._start import (
    _disruption_budget,
    _fresh_start,
    _grow,
    _merge_smallest,
    _repair_fragments,
    _split_largest,
    _warm_labels,
)
from salesmodel.domain.territory._units import Units

# Annealing length when not given: steps per unit, capped.
_ANNEAL_STEPS_PER_UNIT = 3000


_ANNEAL_MAX_STEPS = 40_000_000


def default_anneal_steps(n: int) -> int:
    """Annealing steps for ``n`` units when none are given."""
    return int(min(_ANNEAL_STEPS_PER_UNIT * n, _ANNEAL_MAX_STEPS))


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
