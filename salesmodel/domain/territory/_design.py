"""design and evaluate: the two verbs planners call."""
from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from salesmodel.domain.constraints import DESIGN, param_error, validate
from salesmodel.domain.territory._exact import solve_exact
from salesmodel.domain.territory._feasible import check_feasible
from salesmodel.domain.territory._graph import Graph, graph_for
from salesmodel.domain.territory._heuristic import solve_heuristic
from salesmodel.domain.territory._plan import TerritoryPlan, score
from salesmodel.domain.territory._units import DEFAULT_BALANCE, Units, check_k, labels_for, prepare_units
from salesmodel.errors import InfeasibleError, InputError, short_list

# "auto" uses the exact MILP up to this size (units, territories); above it the heuristic.
AUTO_EXACT_UNITS = 80


AUTO_EXACT_K = 8


def _new_names(k: int, taken: set) -> list[str]:
    width = max(2, len(str(k)))
    out, i = [], 1
    while len(out) < k:
        name = f"T{i:0{width}d}"
        if name not in taken:
            out.append(name)
        i += 1
    return out


def _name_territories(
    units: Units, codes: np.ndarray, current: np.ndarray | None, cur_order: list, measure: np.ndarray
) -> np.ndarray:
    """Labels per unit: the current territory a new one overlaps most (by the disruption
    measure), else new names T01, T02, ... in the order of first appearance."""
    uniq, codes = np.unique(codes, return_inverse=True)
    k = len(uniq)
    names: list[Any] = [None] * k
    if current is not None and cur_order:
        lookup = {lab: c for c, lab in enumerate(cur_order)}
        overlap = np.zeros((k, len(cur_order)))
        for i in range(units.n):
            if current[i] is not None:
                overlap[codes[i], lookup[current[i]]] += measure[i] + 1e-9
        rows, cols = linear_sum_assignment(-overlap)
        for r, c in zip(rows, cols):
            if overlap[r, c] > 0:
                names[r] = cur_order[c]
        _name_by_nearness(units, codes, current, cur_order, names)
    first_seen = np.argsort([np.flatnonzero(codes == t)[0] for t in range(k)], kind="stable")
    fresh = iter(_new_names(k, set(cur_order)))
    for t in first_seen:
        if names[t] is None:
            names[t] = next(fresh)
    return np.array([names[c] for c in codes], dtype=object)


def _name_by_nearness(units: Units, codes: np.ndarray, current: np.ndarray, cur_order: list, names: list) -> None:
    """Territories that share nothing with a current one still take a current name (a rep
    who holds a territory today) while any is left: the nearest by centroid, so each of
    today's reps keeps a territory when the number of territories allows."""
    unnamed = [t for t, name in enumerate(names) if name is None]
    left = [lab for lab in cur_order if lab not in set(names)]
    if not unnamed or not left:
        return
    plane = units.plane
    here = np.array([plane[codes == t].mean(axis=0) for t in unnamed])
    cur = np.array([lab if lab is not None else "" for lab in current], dtype=object)
    there = np.array([plane[cur == lab].mean(axis=0) if (cur == lab).any() else np.full(plane.shape[1], np.inf)
                      for lab in left])
    cost = np.sqrt(((here[:, None, :] - there[None, :, :]) ** 2).sum(axis=2))
    cost[~np.isfinite(cost)] = 1e18
    rows, cols = linear_sum_assignment(cost)
    for r, c in zip(rows, cols):
        names[unnamed[r]] = left[c]


def _label_order(labels: np.ndarray) -> list:
    return sorted(pd.unique(labels).tolist(), key=lambda v: (str(type(v)), v))


def _check_common(method, time_limit, seed, contiguous, max_disruption, current, func):
    validate(func, DESIGN, method=method, time_limit=time_limit, seed=seed, contiguous=contiguous, max_disruption=max_disruption)
    if max_disruption is not None and current is None:
        raise param_error("max_disruption", func, "None unless 'current' (today's assignment) is given to measure changes against",
                          max_disruption, after=" (current=None)")


def design(
    units: pd.DataFrame,
    k: int,
    *,
    adjacency: Graph | None = None,
    balance_on: dict[str, float] | None = DEFAULT_BALANCE,
    seeds: list | None = None,
    current: Any = None,
    max_disruption: float | None = None,
    contiguous: bool = True,
    method: str = "auto",
    time_limit: float = 60,
    seed: int = 0,
    disruption_on: str | None = None,
    max_sweeps: int = 100,
    anneal_steps: int | None = None,
    start: Any = None,
    construction: str = "grow",
) -> TerritoryPlan:
    """Group units into ``k`` balanced, compact, contiguous territories.

    Parameters
    ----------
    units : DataFrame
        One row per basic unit (customer, city, province): ``unit_id``, ``lat``/``lon``
        (degrees; distances are haversine km) or ``x``/``y``, and the measure columns
        named in ``balance_on``.
    k : int
        Number of territories, 1 <= k <= number of units.
    adjacency : Graph, optional
        Contiguity graph from :func:`adjacency`; default: Delaunay on the coordinates.
    balance_on : dict, default={"potential": 0.05, "workload": 0.10}
        Measure column -> tolerance: every territory's total within ±tolerance of the
        mean territory (total / k).
    seeds : list of unit ids, optional
        ``k`` units to start the territories from (heuristic; exact: they are forced to be
        centres).
    current : Series, dict or DataFrame, optional
        Today's territory of each unit (Series indexed by unit_id, or a table with
        ``unit_id`` and ``territory``); units without one are left out of the disruption.
        New territories take the current names they overlap most.
    max_disruption : float, optional
        Largest share of ``disruption_on`` (default: the first measure in
        ``balance_on``) that may change territory against ``current``.
    contiguous : bool, default=True
        Every territory connected in the graph.
    method : {"auto", "exact", "heuristic"}, default="auto"
        ``"exact"``: MILP on HiGHS, proven optimum or best found with its gap within
        ``time_limit``. ``"heuristic"``: region growing plus local search, for
        thousands of units. ``"auto"``: exact up to 80 units and 8 territories.
    time_limit : float, default=60
        Safety stop in seconds. Searches end on counts (``max_sweeps``,
        ``anneal_steps``) or a proven optimum, so the plan is the same at any machine
        load; only when this limit is what stopped a search does the plan depend on the
        machine's speed (then ``plan.stopped_by == "time_limit"``, ``plan.replayable``
        is False and a note says so).
    seed : int, default=0
        Seed of every random choice; the same seed gives the same plan.
    disruption_on : str, optional
        ``"units"`` or a measure name: what ``max_disruption`` counts.
    max_sweeps : int, default=100
        Heuristic: most sweeps of boundary moves in each greedy descent (a descent
        usually stalls after a few dozen).
    anneal_steps : int, optional
        Heuristic: steps of the simulated annealing when greedy moves stall with a
        tolerance broken; default 3000 per unit, at most 40 million.
    start : Series, dict or DataFrame, optional
        Heuristic with ``max_disruption``: a plan made against the same ``current`` and
        ``k`` (e.g. at a smaller limit) to start the search from (a warm start).
    construction : {"grow", "tree"}, default="grow"
        Heuristic start without a disruption limit: ``"grow"`` (k-means++ seeds, a balancing
        LP, fragments repaired) or ``"tree"`` (recursive bisection along random spanning
        trees: contiguous and balanced on every measure by construction, for strict graphs).

    Returns
    -------
    TerritoryPlan

    Raises
    ------
    InfeasibleError
        When a simple argument (a unit larger than a territory's share, fewer units with
        a measure than territories, disconnected parts) or the solver shows that no plan
        meets the request; the message names the measure and the smallest feasible tolerance.

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"unit_id": list("abcdefgh"), "x": [0, 1, 2, 3] * 2,
    ...                       "y": [0] * 4 + [1] * 4, "potential": [1.0] * 8})
    >>> plan = design(units, 2, balance_on={"potential": 0.0}, method="exact")
    >>> plan.status, sorted(plan.metrics["units"])
    ('optimal', [4, 4])
    """
    t0 = time.perf_counter()
    u = prepare_units(units, balance_on, func="design")
    k = check_k(k, u.n, "design")
    _check_common(method, time_limit, seed, contiguous, max_disruption, current, "design")
    validate("design", DESIGN, max_sweeps=max_sweeps, anneal_steps=anneal_steps, construction=construction)
    if disruption_on is None:
        disruption_on = u.measure_names[0] if u.measure_names else "units"
    if disruption_on != "units" and disruption_on not in u.measure_names:
        raise param_error("disruption_on", "design", f"'units' or one of the balanced measures {short_list(u.measure_names)}", disruption_on)
    graph = graph_for(u, adjacency, "design")
    seed_idx = None
    if seeds is not None:
        seeds = list(seeds)
        pos = u.position
        unknown = [s for s in seeds if s not in pos]
        if unknown:
            raise InputError(f"seeds: unit ids not among the units: {short_list(unknown)}")
        if len(set(seeds)) != len(seeds) or len(seeds) != k:
            raise param_error("seeds", "design", f"a list of {k} different unit ids (one per territory)", seeds,
                              shown=f"{len(seeds)} ids ({len(set(seeds))} different)")
        seed_idx = [pos[s] for s in seeds]
    cur_labels = None
    cur_order: list = []
    cur_codes = None
    if current is not None:
        cur_labels = labels_for(u, current, name="current", func="design", allow_missing=True)
        cur_order = _label_order(np.array([c for c in cur_labels if c is not None], dtype=object))
        lookup = {lab: c for c, lab in enumerate(cur_order)}
        cur_codes = np.array([-1 if c is None else lookup[c] for c in cur_labels], dtype=np.int64)
    dmeasure = np.ones(u.n) if disruption_on == "units" else u.measures[:, u.measure_names.index(disruption_on)]

    check_feasible(u, k, graph, contiguous)

    notes: list[str] = []
    stopped_by = "converged"
    chosen = method
    if method == "auto":
        chosen = "exact" if (u.n <= AUTO_EXACT_UNITS and k <= AUTO_EXACT_K) else "heuristic"
    status, bound, gap, codes = None, None, None, None
    if chosen == "exact":
        res = solve_exact(
            u, k, graph=graph, contiguous=contiguous, current_codes=cur_codes, n_labels=len(cur_order),
            disruption_measure=dmeasure, max_disruption=max_disruption, time_limit=time_limit,
            fixed_centres=None if seed_idx is None else np.asarray(seed_idx),
        )
        if res["status_code"] == 2:
            raise InfeasibleError(
                f"No plan meets every requirement (the solver proved it): {k} territories, tolerances "
                f"{ {m: float(t) for m, t in zip(u.measure_names, u.tolerances)} }"
                + (", contiguous" if contiguous else "")
                + (f", at most {max_disruption:.0%} of {disruption_on} moved" if max_disruption is not None else "")
                + ". Widen a tolerance or the disruption limit, or change k."
            )
        if res["codes"] is None:
            notes.append(f"the exact solver found no plan within {time_limit:g} s ({res['message']}); heuristic used")
            warnings.warn(notes[-1], stacklevel=2)
            chosen = "heuristic"
            # which method ran depended on the clock
            stopped_by = "time_limit" if res["status_code"] == 1 else stopped_by
        else:
            codes = res["codes"]
            status = "optimal" if res["status_code"] == 0 else "time_limit"
            stopped_by = "optimal" if res["status_code"] == 0 else "time_limit"
            if stopped_by == "time_limit":
                notes.append(f"the exact solver stopped at the time limit ({time_limit:g} s) before proving the "
                             f"optimum: the plan depends on the machine's speed and may not replay")
            bound = None if res["bound"] is None or not np.isfinite(res["bound"]) else float(res["bound"])
            if res["labels"] is not None:
                taken = set(cur_order)
                fresh = iter(_new_names(k, taken))
                by_centre = {j: cur_order[t] for j, t in res["labels"].items()}
                centres_seen = list(dict.fromkeys(codes.tolist()))
                mapping = {j: by_centre.get(j) or next(fresh) for j in centres_seen}
                labels = np.array([mapping[j] for j in codes], dtype=object)
            else:
                labels = _name_territories(u, codes, cur_labels, cur_order, dmeasure)
    if chosen == "heuristic":
        remaining = max(1.0, time_limit - (time.perf_counter() - t0))
        budget = max_disruption is not None
        start_labels = None
        if start is not None:
            start_labels = labels_for(u, start, name="start", func="design", allow_missing=False)

        def name_of(codes_named: list) -> list:
            fresh_names = iter(_new_names(k, set(cur_order)))
            return [cur_order[c] if c >= 0 else next(fresh_names) for c in codes_named]
        res_h = solve_heuristic(
            u, k, graph=graph, contiguous=contiguous, seeds=seed_idx,
            current_codes=cur_codes if budget else None, disruption_measure=dmeasure if budget else None,
            max_disruption=max_disruption, time_limit=remaining, seed=int(seed),
            max_sweeps=int(max_sweeps), anneal_steps=None if anneal_steps is None else int(anneal_steps),
            start_labels=start_labels, name_of=name_of, construction=construction,
        )
        notes += res_h["notes"]
        if stopped_by != "time_limit":
            stopped_by = res_h["stopped_by"]
        codes = res_h["codes"]
        if budget:
            names = name_of(res_h["names"])
            labels = np.array([names[c] for c in codes], dtype=object)
        else:
            labels = _name_territories(u, codes, cur_labels, cur_order, dmeasure)
        status = "heuristic"

    scored = score(
        u, labels, graph=graph, contiguous=contiguous, current=cur_labels,
        max_disruption=max_disruption, disruption_on=disruption_on, label_order=_label_order(labels),
    )
    objective = scored["objective"]
    gap = None
    if bound is not None:
        gap = max(0.0, (objective - bound) / objective) if objective > 0 else 0.0
        if gap < 1e-9:
            gap = 0.0
    if status == "optimal" and scored["feasible"]:
        final = "optimal"
    elif scored["feasible"]:
        final = "feasible"
    else:
        final = "tolerance_not_met"
        devs = {m: float(scored["metrics"][f"{m}_dev"].abs().max()) for m in u.measure_names}
        msg = ", ".join(f"{m} {devs[m]:.1%} (tolerance {t:.1%})" for m, t in zip(u.measure_names, u.tolerances))
        extra = ""
        if scored["disruption"] is not None and max_disruption is not None:
            extra = f"; moved {scored['disruption'][disruption_on]:.1%} of {disruption_on} (limit {max_disruption:.1%})"
        if contiguous and not scored["metrics"]["contiguous"].all():
            extra += f"; {int((~scored['metrics']['contiguous'].astype(bool)).sum())} territories not contiguous"
        notes.append(f"tolerances not met by the best plan found: largest deviation {msg}{extra}")
        warnings.warn(notes[-1], stacklevel=2)
    return TerritoryPlan(
        assignment=scored["assignment"],
        metrics=scored["metrics"],
        objective=objective,
        status=final,
        bound=bound,
        gap=gap,
        feasible=bool(scored["feasible"]),
        disruption=scored["disruption"],
        runtime=time.perf_counter() - t0,
        method=chosen,
        k=k,
        balance_on={m: float(t) for m, t in zip(u.measure_names, u.tolerances)},
        contiguous_required=bool(contiguous),
        max_disruption=max_disruption,
        notes=notes,
        stopped_by=stopped_by,
    )


def evaluate(
    units: pd.DataFrame,
    assignment: Any,
    *,
    adjacency: Graph | None = None,
    balance_on: dict[str, float] | None = DEFAULT_BALANCE,
    contiguous: bool = True,
    current: Any = None,
    max_disruption: float | None = None,
    disruption_on: str | None = None,
    territories: Any = None,
) -> TerritoryPlan:
    """Score any assignment with the same metrics :func:`design` reports.

    Parameters
    ----------
    units : DataFrame
        As for :func:`design`.
    assignment : Series, dict or DataFrame
        Territory of every unit: a Series indexed by unit_id, or a table with
        ``unit_id`` and ``territory`` (e.g. ``plan.assignment`` or today's rep per customer).
    adjacency : Graph, optional
        For the contiguity flags; default: Delaunay on the coordinates.
    balance_on : dict
        Measures and tolerances the plan is judged against.
    contiguous : bool, default=True
        Whether ``feasible`` requires contiguous territories.
    current, max_disruption, disruption_on
        As for :func:`design`: the disruption of ``assignment`` against ``current``.
    territories : sequence, optional
        Every territory of the plan, also those holding no unit (e.g. a planned hire's the
        design gave nothing): they count in the mean territory and are reported with 0 units
        (deviation -100%, no centre). Default: the territories ``assignment`` names.

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"unit_id": list("abcd"), "x": [0, 1, 2, 3], "y": [0] * 4,
    ...                       "potential": [1.0, 1.0, 1.0, 1.0]})
    >>> plan = evaluate(units, {"a": "N", "b": "N", "c": "S", "d": "S"}, balance_on={"potential": 0.1})
    >>> plan.metrics[["territory", "potential", "contiguous"]].to_dict("list")
    {'territory': ['N', 'S'], 'potential': [2.0, 2.0], 'contiguous': [True, True]}
    """
    t0 = time.perf_counter()
    u = prepare_units(units, balance_on, func="evaluate")
    _check_common("auto", 1, 0, contiguous, max_disruption, current, "evaluate")
    labels = labels_for(u, assignment, name="assignment", func="evaluate", allow_missing=False)
    graph = graph_for(u, adjacency, "evaluate")
    if disruption_on is None:
        disruption_on = u.measure_names[0] if u.measure_names else "units"
    cur_labels = None
    if current is not None:
        cur_labels = labels_for(u, current, name="current", func="evaluate", allow_missing=True)
    scored = score(
        u, labels, graph=graph, contiguous=contiguous, current=cur_labels,
        max_disruption=max_disruption, disruption_on=disruption_on,
        label_order=_label_order(labels if territories is None else np.concatenate([labels, np.asarray(list(territories), dtype=object)])),
    )
    return TerritoryPlan(
        assignment=scored["assignment"],
        metrics=scored["metrics"],
        objective=scored["objective"],
        status="evaluated",
        bound=None,
        gap=None,
        feasible=bool(scored["feasible"]),
        disruption=scored["disruption"],
        runtime=time.perf_counter() - t0,
        method="evaluate",
        k=len(scored["metrics"]),
        balance_on={m: float(t) for m, t in zip(u.measure_names, u.tolerances)},
        contiguous_required=bool(contiguous),
        max_disruption=max_disruption,
        stopped_by="evaluated",
    )
