"""Step ``territory``: balanced, compact, contiguous territories proposed against today's."""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain import territory
from salesmodel.domain.constraints import within_tolerance
from salesmodel.errors import InputError, ParamsError, short_list
from salesmodel.pipeline import cluster
from salesmodel.pipeline._base import Context, StepResult, collect_notes
from salesmodel.pipeline.handover import handover, last_year_sales, targets_after_handover, vacancy_holders
from salesmodel.schema import tables as declared

# from this many accounts the regions' territory designs run in a pool of processes (below, starting
# the processes costs more than it saves); the plan does not depend on it
PARALLEL_FROM = 20_000

NEEDS: tuple[str, ...] = ("staffing",)
PARAMS: tuple[str, ...] = ("data", "territory", "staffing", "calendar", "seed")


def units(ctx: Context) -> pd.DataFrame:
    """Active customers as territory units, with the workload the staffing step computed."""
    tp = ctx.params.territory
    per_customer = ctx.table("workload_customer").groupby("customer_id")[tp.workload_measure].sum()
    return territory.customer_units(ctx.inputs["customers"], ctx.inputs["reps"], workload=per_customer)


def number_of_territories(ctx: Context) -> int:
    reps = ctx.inputs["reps"]
    return ctx.params.territory.k or int(reps["leave_date"].isna().sum())


def design_arguments(ctx: Context, table: pd.DataFrame) -> dict[str, Any]:
    """Every argument of :func:`salesmodel.domain.territory.design` but the units (the explorer calls this too)."""
    tp = ctx.params.territory
    graph = territory.adjacency(table, method=tp.graph, prune_factor=tp.prune_factor, neighbours=tp.neighbours)
    return {
        "k": number_of_territories(ctx), "adjacency": graph, "balance_on": dict(tp.balance_on),
        "current": table.set_index("unit_id")["current"],
        "max_disruption": None if tp.max_disruption == "auto" else tp.max_disruption,
        "contiguous": tp.contiguous, "method": tp.method, "time_limit": tp.time_limit, "seed": ctx.params.seed,
        "max_sweeps": tp.max_sweeps, "anneal_steps": tp.anneal_steps, "construction": tp.construction,
    }


def unconstrained(table: pd.DataFrame, arguments: dict[str, Any]) -> territory.TerritoryPlan:
    """The best balance with no disruption limit (named after today's territories): the top
    of the frontier, and the start the frontier's points send moves back from."""
    return territory.design(table, **dict(arguments, max_disruption=None))


def frontier(ctx: Context, table: pd.DataFrame, arguments: dict[str, Any],
             free: territory.TerritoryPlan | None = None) -> tuple[pd.DataFrame, dict]:
    """The disruption-balance frontier from today's territories: count-bounded searches per
    limit in ``territory.frontier``, from the unconstrained plan ``free`` (moves beyond the
    limit sent back) and from the point before."""
    tp = ctx.params.territory
    if not arguments["current"].notna().any():  # nobody holds a territory today: nothing to move from
        columns = [c.name for c in declared.TABLES["territory_frontier"].columns
                   if c.required or c.name in {f"max_{m}_dev" for m in tp.balance_on}]
        return pd.DataFrame(columns=[c for c in columns if c != "chosen"]), {}
    args = {key: v for key, v in arguments.items() if key not in ("max_disruption", "current", "max_sweeps", "anneal_steps")}
    steps = tp.frontier_anneal_steps or max(1, 40 * len(table))
    return territory.frontier(table, current=arguments["current"], limits=list(tp.frontier), unconstrained=free,
                              max_sweeps=tp.frontier_sweeps, anneal_steps=steps, **args)


def proposal(table: pd.DataFrame, arguments: dict[str, Any], plans: dict[float, territory.TerritoryPlan],
             free: territory.TerritoryPlan | None) -> territory.TerritoryPlan:
    """The plan under a fixed ``max_disruption``: the full search, started from the frontier's
    plan at that limit when there is one, else from the unconstrained plan."""
    limit = arguments["max_disruption"]
    if limit is None and free is not None:
        return free
    start = plans.get(limit) if limit is not None else None
    start = start or (free if arguments["current"].notna().any() else None)
    if start is None:
        return territory.design(table, **arguments)
    return territory.design(table, **arguments, start=start.assignment[["unit_id", "territory"]])


def pick(points: pd.DataFrame, balance_on: dict[str, float]) -> float:
    """``max_disruption: auto``: the smallest limit whose plan meets every tolerance, else
    the limit whose plan comes closest (largest deviation over its tolerance; the smaller
    limit on ties)."""
    met = territory.smallest_meeting(points)
    if met is not None:
        return met
    ratio = pd.concat([points[f"max_{m}_dev"] / max(tol, 1e-9) for m, tol in balance_on.items()], axis=1).max(axis=1)
    best = points.assign(_r=ratio.round(9)).sort_values(["_r", "max_disruption"]).iloc[0]
    return float(best["max_disruption"])


def chosen_disruption(tables: dict[str, pd.DataFrame]) -> float | None:
    """The disruption limit the run's proposal used under ``max_disruption: auto``."""
    points = tables.get("territory_frontier")
    if points is None or not points["chosen"].any():
        return None
    return float(points.loc[points["chosen"], "max_disruption"].iloc[0])


def today(ctx: Context, table: pd.DataFrame) -> territory.TerritoryPlan:
    """Today's territories (customers of active reps), scored on the same measures."""
    tp = ctx.params.territory
    has_rep = table[table["current"].notna()].reset_index(drop=True)
    graph = territory.adjacency(has_rep, method=tp.graph, prune_factor=tp.prune_factor, neighbours=tp.neighbours)
    return territory.evaluate(has_rep, has_rep[["unit_id", "current"]].rename(columns={"current": "territory"}),
                              adjacency=graph, balance_on=dict(tp.balance_on), contiguous=tp.contiguous)


def _metrics(plan: territory.TerritoryPlan, label: str, measures: list[str]) -> pd.DataFrame:
    keep = ["territory", "centre", "units", *[c for m in measures for c in (m, f"{m}_dev")], "compactness", "contiguous", "parts"]
    m = plan.metrics[[c for c in keep if c in plan.metrics.columns]].copy()
    m["territory"] = m["territory"].astype(str)
    m["centre"] = m["centre"].astype(str)
    return m.assign(plan=label)[["plan", *m.columns]]


def _summary_row(plan: territory.TerritoryPlan, label: str, balance_on: dict[str, float]) -> dict[str, Any]:
    row: dict[str, Any] = {"plan": label, "k": int(plan.k), "method": plan.method, "status": plan.status,
                           "stopped_by": str(getattr(plan, "stopped_by", "") or "")}
    for m in balance_on:
        row[f"max_{m}_dev"] = float(plan.metrics[f"{m}_dev"].abs().max())
    row["within_tolerance"] = bool(all(within_tolerance(row[f"max_{m}_dev"], tol) for m, tol in balance_on.items()))
    moved = plan.disruption or {}
    row["moved_units"] = int(plan.assignment["moved"].sum()) if "moved" in plan.assignment else 0
    # the share max_disruption limits (the header reads "potential moved"): the first balanced measure
    first = next(iter(balance_on), "units")
    row["moved_share"] = float(moved.get(first, moved.get("units", 0.0)))
    row["objective"] = float(plan.objective)
    return row


def _blank(value: Any) -> Any:
    return "" if value is None else value


def run(ctx: Context) -> StepResult:
    """Today's territories scored, a proposed design, the moves between them."""
    if ctx.params.territory.method == "reps":
        return run_reps(ctx)
    result = StepResult("territory")
    tp = ctx.params.territory
    table = units(ctx)
    balance_on = dict(tp.balance_on)
    now = today(ctx, table)
    arguments = design_arguments(ctx, table)
    auto = tp.max_disruption == "auto"
    with collect_notes(result):
        free = unconstrained(table, arguments) if arguments["current"].notna().any() else None
        points, plans = frontier(ctx, table, arguments, free)
        if auto and len(points):
            chosen = pick(points, balance_on)
            plan = plans[chosen]
            result.notes.extend(n for n in plan.notes if n.startswith("tolerances not met") and n not in result.notes)
        else:
            plan = proposal(table, arguments, plans, free)
            chosen = None if auto else tp.max_disruption
    points["chosen"] = (points["max_disruption"] - chosen).abs().lt(1e-12) if (auto and chosen is not None) else False
    result.add("territory_frontier", points)
    measures = list(balance_on)
    result.add("territory_metrics", pd.concat([_metrics(now, "today", measures), _metrics(plan, "proposed", measures)],
                                              ignore_index=True))
    result.add("territory_summary", pd.DataFrame([_summary_row(now, "today", balance_on),
                                                  _summary_row(plan, "proposed", balance_on)]))
    assignment = plan.assignment.rename(columns={"unit_id": "customer_id", "distance": "distance_to_centre"})
    assignment = assignment.merge(table[["unit_id", "potential", "workload"]].rename(columns={"unit_id": "customer_id"}),
                                  on="customer_id")
    for col in ("territory", "centre"):
        assignment[col] = assignment[col].astype(str)
    assignment["current"] = assignment["current"].astype("string")  # empty for accounts of reps who left
    assignment["moved"] = assignment["moved"].astype(bool)
    result.add("territory_assignment", assignment[["customer_id", "territory", "centre", "distance_to_centre",
                                                   "current", "moved", "potential", "workload"]])
    moves = plan.moves.merge(table[["unit_id", "customer_name", "province_id", "city_en", "tier", "potential", "workload"]],
                             on="unit_id")
    moves = moves.rename(columns={"unit_id": "customer_id", "current": "from_territory", "territory": "to_territory"})
    moves = moves[["customer_id", "customer_name", "province_id", "city_en", "tier", "potential", "workload",
                   "from_territory", "to_territory"]].astype({"from_territory": str, "to_territory": str})
    result.add("territory_moves", moves.sort_values(["potential", "customer_id"], ascending=[False, True]))
    result.facts.update(k=plan.k, customers=len(table), orphaned=int(table["current"].isna().sum()),
                        graph=tp.graph, edges=len(arguments["adjacency"].edges),
                        graph_parts=arguments["adjacency"].n_components, status=plan.status,
                        max_disruption=tp.max_disruption if tp.max_disruption is not None else "",
                        chosen_disruption=_blank(chosen),
                        smallest_disruption_meeting=_blank(territory.smallest_meeting(points)),
                        stopped_by=plan.stopped_by, replayable=plan.replayable)
    return result



# ---- method "reps": territories belong to reps with a home base ---------------------------------

def rep_bases(ctx: Context) -> pd.DataFrame:
    """The reps who hold a territory (active today), with their base, in rep_id order."""
    reps = ctx.inputs["reps"]
    active = reps[reps["leave_date"].isna()] if "leave_date" in reps.columns else reps
    cols = [c for c in ("rep_id", "rep_name", "province_id", "base_city_en", "base_city_zh", "base_lat", "base_lon")
            if c in active.columns]
    return active[cols].sort_values("rep_id").reset_index(drop=True)


def organisation_month(ctx: Context) -> str:
    """The month whose organisation ``territory.organisation: planned`` designs for: the plan year's end."""
    return f"{int(ctx.params.calendar.plan_year)}-12"


def planned_hires(ctx: Context) -> pd.DataFrame:
    """The new positions on the organisation at the plan year's end (staffing_hires of reason ``growth``
    starting by then), in id order. A replacement takes over the territory of the person it replaces
    (expected leavers are not named), so it adds no territory."""
    hires = ctx.table("staffing_hires")
    if hires is None or hires.empty:
        return pd.DataFrame(columns=["hire_id", "reason", "start_month", "province_id", "base_city_en", "base_city_zh",
                                     "base_lat", "base_lon"])
    end = pd.Period(organisation_month(ctx), freq="M")
    starts = pd.PeriodIndex(hires["start_month"].astype(str), freq="M")
    growth = (hires["reason"] == "growth").to_numpy() if "reason" in hires else True
    return hires[(starts <= end) & growth].sort_values("hire_id").reset_index(drop=True)


def design_bases(ctx: Context) -> pd.DataFrame:
    """The people territories are designed for, with their base, in rep_id order: today's active reps
    and, with ``territory.organisation: planned``, each planned hire (``rep_id`` = the hire id, the
    hire's proposed base city; ``rep_name`` empty: pages name a hire from the vocabulary)."""
    bases = rep_bases(ctx)
    if ctx.params.territory.organisation != "planned":
        return bases
    hires = planned_hires(ctx)
    if hires.empty:
        return bases
    lat = pd.to_numeric(hires["base_lat"], errors="coerce")
    lon = pd.to_numeric(hires["base_lon"], errors="coerce")
    bad = hires.loc[lat.isna() | lon.isna(), "hire_id"].astype(str).tolist()
    if bad:
        raise InputError(f"territory.organisation 'planned': no proposed base city (staffing_hires.base_lat/base_lon) "
                         f"for hire_id {short_list(bad)}; the hire's region has no city with accounts. Use "
                         f"territory.organisation 'today' or give the region accounts")
    new = pd.DataFrame({"rep_id": hires["hire_id"].astype(str), "rep_name": "",
                        "province_id": hires["province_id"].astype(str),
                        "base_city_en": hires["base_city_en"].astype(str), "base_city_zh": hires["base_city_zh"].astype(str),
                        "base_lat": lat.astype(float), "base_lon": lon.astype(float)})
    new = new[[c for c in bases.columns if c in new.columns]]
    return pd.concat([bases, new], ignore_index=True)


def rep_arguments(ctx: Context, table: pd.DataFrame, bases: pd.DataFrame) -> dict[str, Any]:
    """Every argument of :func:`salesmodel.domain.territory.rep_design` but the units, the bases and
    the disruption limit; bad input is refused here, before any search."""
    tp = ctx.params.territory
    road = tp.road_factor if tp.road_factor is not None else ctx.params.staffing.travel_circuity
    reps = ctx.inputs["reps"]
    locks_table = ctx.inputs.get("territory_locks")
    locks = None
    if locks_table is not None and len(locks_table):
        locks = dict(zip(locks_table["customer_id"].astype(str), locks_table["rep_id"].astype(str)))
    if tp.k is not None and tp.k != len(bases):
        who = "active rep and planned hire" if tp.organisation == "planned" else "active rep"
        raise ParamsError(f"territory.k {tp.k}: method 'reps' makes one territory per {who} ({len(bases)}); "
                          f"leave k empty or use method 'heuristic'")
    departed = set(reps["rep_id"]) - set(bases["rep_id"])
    territory.check_rep_inputs(table, bases, max_distance_km=tp.max_distance_km, road_factor=road,
                               keep_whole=tp.keep_whole, locks=locks, departed=departed)
    locked = table["tier"].isin(list(tp.locked_tiers)).to_numpy() if "tier" in table.columns else None
    return {"base_part": base_regions(ctx, bases), "balance_on": dict(tp.balance_on), "max_distance_km": tp.max_distance_km,
            "road_factor": road,
            "keep_whole": tp.keep_whole, "locked": locked, "locks": locks, "travel_weight": tp.travel_weight,
            "hold_quantiles": (0.5, 0.95) if tp.hold_travel else None, "max_moves": tp.max_moves}


def base_regions(ctx: Context, bases: pd.DataFrame) -> list[str]:
    """The region of each base (today's reps from reps.csv, planned hires from staffing_hires): the parts
    territories are designed in, each on its own, when no account can move between them."""
    region = ctx.inputs["reps"].set_index("rep_id")["region_id"].astype(str).to_dict()
    hires = ctx.table("staffing_hires")
    if hires is not None and len(hires):
        region.update(zip(hires["hire_id"].astype(str), hires["region_id"].astype(str)))
    return [region.get(r, "") for r in bases["rep_id"]]


@contextmanager
def parts_runner(n_units: int) -> Iterator[Callable]:
    """How the regions' designs run: on the run's Dask cluster when it has one (``salesmodel run
    --scheduler``), else one after the other for a company the size of the demo, in a pool of processes
    (one per core) from PARALLEL_FROM accounts on; the plan is the same either way. Each region done is
    counted on a progress bar when the run shows progress."""
    place = cluster.current()
    workers = min(os.cpu_count() or 1, 4)
    with cluster.progress_bar("regions", "region") as bar:
        if place.client is not None:
            yield cluster.cluster_map(place.client, bar)
            return
        if n_units < PARALLEL_FROM or workers < 2:
            yield cluster.counted(map, bar)
            return
        # fork where the system has it: a child starts at once and never re-runs the caller's script
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method)) as pool:
            yield cluster.counted(pool.map, bar)


def drivable_graph(ctx: Context, table: pd.DataFrame, road: float) -> Any:
    """The customers' contiguity graph with only edges short enough to drive (territory.max_edge_km)."""
    tp = ctx.params.territory
    with warnings.catch_warnings():  # parts of the graph are reported in the metrics, not warned about
        warnings.simplefilter("ignore")
        graph = territory.adjacency(table, method=tp.graph, prune_factor=tp.prune_factor, neighbours=tp.neighbours)
    return territory.drivable(graph, table, tp.max_edge_km, road)


def contiguity_arguments(ctx: Context, graph: Any) -> dict[str, Any]:
    """With territory.contiguous: a move joins a rep who holds a neighbour of the account (or is based within a drive)."""
    tp = ctx.params.territory
    return {"graph": graph, "near_km": tp.max_edge_km} if tp.contiguous else {}


def _spread(metrics: pd.DataFrame, measure: str) -> float:
    """Standard deviation of the territories' deviations from the mean territory."""
    return float(metrics[f"{measure}_dev"].std(ddof=0))


def rep_plans(table: pd.DataFrame, bases: pd.DataFrame, arguments: dict[str, Any], limits: list[float | None],
              balance_on: dict[str, float], graph: Any, territories: Any = None,
              runner: Callable = map) -> list[tuple[territory.TerritoryPlan, territory.RepDesign]]:
    """The rep-centred design under each limit of ``limits`` (None: no limit), region by region
    (``runner`` runs the regions), each scored as any plan; ``territories``: every territory, also
    those the design left empty (a planned hire's)."""
    designs = territory.rep_frontier_in_parts(table, bases, limits=limits, runner=runner, **arguments)
    return [(_scored(table, found, limit, balance_on, graph, territories), found)
            for limit, found in zip(limits, designs)]


def _scored(table: pd.DataFrame, found: territory.RepDesign, limit: float | None, balance_on: dict[str, float],
            graph: Any, territories: Any) -> territory.TerritoryPlan:
    plan = territory.evaluate(table, pd.Series(found.assignment, index=table["unit_id"]), adjacency=graph,
                              balance_on=balance_on, contiguous=False, current=table.set_index("unit_id")["current"],
                              max_disruption=limit, disruption_on=next(iter(balance_on), None), territories=territories)
    within = all(within_tolerance(plan.max_deviation()[m], t) for m, t in balance_on.items())
    notes = []
    if not within:
        devs = ", ".join(f"{m} {plan.max_deviation()[m]:.1%} (tolerance {t:.1%})" for m, t in balance_on.items())
        notes.append(f"tolerances not met by the best plan found: largest deviation {devs}; moved "
                     f"{found.moved_share.get(next(iter(balance_on), 'units'), 0.0):.1%} of potential"
                     + ("" if limit is None else f" (limit {limit:.1%})"))
    return dataclasses.replace(plan, method="reps", status="feasible" if within else "tolerance_not_met",
                               feasible=within, stopped_by=found.stopped_by, notes=notes, max_disruption=limit)


def knee(points: pd.DataFrame, measures: list[str], gain: float) -> float:
    """The frontier's knee: the smallest limit after which the mean spread of the balanced
    measures improves by less than ``gain`` per point (1%) of potential moved."""
    ordered = points.sort_values("max_disruption").reset_index(drop=True)
    spread = ordered[[f"spread_{m}" for m in measures]].mean(axis=1).to_numpy()
    moved = ordered["moved_share"].to_numpy()
    for i in range(len(ordered) - 1):
        step = (moved[i + 1] - moved[i]) * 100
        if step <= 1e-9 or (spread[i] - spread[i + 1]) / step < gain:
            return float(ordered.loc[i, "max_disruption"])
    return float(ordered["max_disruption"].iloc[-1])


def _frontier_row(plan: territory.TerritoryPlan, found: territory.RepDesign, limit: float,
                  table: pd.DataFrame, balance_on: dict[str, float]) -> dict[str, Any]:
    first = next(iter(balance_on), "units")
    row: dict[str, Any] = {"max_disruption": limit, "moved_share": float(found.moved_share.get(first, 0.0)),
                           "moved_units": int(found.moved_accounts)}
    for m in balance_on:
        row[f"max_{m}_dev"] = float(plan.metrics[f"{m}_dev"].abs().max())
    row["within_tolerance"] = bool(plan.feasible)
    row["status"] = plan.status
    row["stopped_by"] = str(plan.stopped_by)
    for m in balance_on:
        row[f"spread_{m}"] = _spread(plan.metrics, m)
    travel = territory.travel_overall(found.distance_km, table["workload"].to_numpy(dtype=float))
    row.update(median_km=travel["median_km"], p95_km=travel["p95_km"], weighted_mean_km=travel["weighted_mean_km"])
    return row


def _base_label(bases: pd.DataFrame) -> dict[str, str]:
    city = bases["base_city_en"] if "base_city_en" in bases.columns else bases["rep_id"]
    return dict(zip(bases["rep_id"], city.astype(str)))


def _travel(table: pd.DataFrame, labels: Any, bases: pd.DataFrame, plan_label: str, ctx: Context,
            road: float) -> pd.DataFrame:
    tp = ctx.params.territory
    speed = tp.travel_speed_kmh if tp.travel_speed_kmh is not None else ctx.params.staffing.travel_speed_kmh
    t = territory.travel_table(table, labels, bases, road_factor=road, speed_kmh=speed,
                               max_distance_km=tp.max_distance_km)
    names = dict(zip(bases["rep_id"], bases["rep_name"].astype(str))) if "rep_name" in bases.columns else {}
    t.insert(0, "plan", plan_label)
    t.insert(2, "rep_name", t["territory"].map(names).fillna("").astype(str))
    t.insert(3, "base_city", t["territory"].map(_base_label(bases)).fillna("").astype(str))
    return t


def comparison(now: territory.TerritoryPlan, plan: territory.TerritoryPlan, km_now: Any, km_new: Any,
               table: pd.DataFrame, labels: Any, bases: pd.DataFrame, limit_km: float,
               balance_on: dict[str, float]) -> pd.DataFrame:
    """Today and the proposal side by side, one row per measure (lower is better for all)."""

    w = table["workload"].to_numpy(dtype=float)
    t_now, t_new = territory.travel_overall(km_now, w), territory.travel_overall(km_new, w)
    prov = dict(zip(bases["rep_id"], bases["province_id"])) if "province_id" in bases.columns else {}
    cur = table["current"].to_numpy(dtype=object)
    lab = np.asarray(labels, dtype=object)
    province = table["province_id"].to_numpy(dtype=object) if "province_id" in table.columns else None
    moved = np.array([c is not None and isinstance(c, str) and c != x for c, x in zip(cur, lab)])
    has = np.array([isinstance(c, str) for c in cur])
    pot = table["potential"].to_numpy(dtype=float)
    rows: list[tuple[str, str, float, float]] = []
    for m in balance_on:
        rows.append((f"max_{m}_dev", "share", float(now.metrics[f"{m}_dev"].abs().max()),
                     float(plan.metrics[f"{m}_dev"].abs().max())))
        rows.append((f"spread_{m}", "share", _spread(now.metrics, m), _spread(plan.metrics, m)))
    rows += [("median_km", "km", t_now["median_km"], t_new["median_km"]),
             ("p95_km", "km", t_now["p95_km"], t_new["p95_km"]),
             ("weighted_mean_km", "km", t_now["weighted_mean_km"], t_new["weighted_mean_km"]),
             ("beyond_limit", "count", float((np.asarray(km_now) > limit_km + 1e-9).sum()),
              float((np.asarray(km_new) > limit_km + 1e-9).sum()))]
    if province is not None and prov:
        rows.append(("cross_province", "count",
                     float(sum(isinstance(c, str) and prov.get(c) != p for c, p in zip(cur, province))),
                     float(sum(prov.get(x) != p for x, p in zip(lab, province)))))
    if "parts" in now.metrics.columns and "parts" in plan.metrics.columns:
        rows.append(("split_territories", "count", float((now.metrics["parts"].astype(float) > 1).sum()),
                     float((plan.metrics["parts"].astype(float) > 1).sum())))
    affected = set(cur[moved]) | set(lab[moved])
    rows += [("accounts_moved", "count", 0.0, float(moved.sum())),
             ("potential_moved", "share", 0.0, float(pot[moved].sum() / pot[has].sum()) if pot[has].sum() > 0 else 0.0),
             ("reps_affected", "count", 0.0, float(len(affected)))]
    out = pd.DataFrame(rows, columns=["measure", "unit", "today", "proposed"])
    out["change"] = out["proposed"] - out["today"]
    # a change that does not show at the precision a reader sees (whole km and accounts, a tenth of a
    # percent) is no change: "same", not "better" by a thousandth of a kilometre
    shown = out["unit"].map({"km": 0.5, "count": 0.5, "share": 0.0005}).astype(float)
    scale = shown.fillna(np.maximum(out["today"].abs(), 1.0) * 1e-9)
    disruption = out["measure"].isin(["accounts_moved", "potential_moved", "reps_affected"])
    out["verdict"] = np.where(out["change"].abs() <= scale, "same",
                              np.where(out["change"] < 0, "better", np.where(disruption, "cost", "worse")))
    return out


def run_reps(ctx: Context) -> StepResult:
    """Method 'reps': today's territories, a proposal improved from them with few, short
    moves to reps based within reach, the frontier, travel and the hand-over list."""

    result = StepResult("territory")
    tp = ctx.params.territory
    vacancy_holders(ctx)  # refused before any search
    table = units(ctx)
    bases = design_bases(ctx)  # today's reps, and the planned hires with organisation 'planned'
    planned = tp.organisation == "planned"
    every = bases["rep_id"].tolist() if planned else None  # hires the design gives nothing still count
    arguments = rep_arguments(ctx, table, bases)  # refuses bad input before any search
    balance_on = dict(tp.balance_on)
    measures = list(balance_on)
    road = arguments["road_factor"]
    graph = drivable_graph(ctx, table, road)
    has_rep = table[table["current"].notna()].reset_index(drop=True)
    now_graph = drivable_graph(ctx, has_rep, road)
    # today's assignment; with organisation 'planned' on the planned organisation (the hires hold nothing
    # yet), so today and the proposal are measured against the same mean territory
    now = territory.evaluate(has_rep, has_rep[["unit_id", "current"]].rename(columns={"current": "territory"}),
                             adjacency=now_graph, balance_on=balance_on, contiguous=False, territories=every)
    contiguity = contiguity_arguments(ctx, graph)
    auto = tp.max_disruption == "auto"
    frontier = sorted({float(x) for x in tp.frontier})
    # the frontier's limits and the one asked for, in one search per region (limit 1 and none: no limit)
    fixed = [] if auto or tp.max_disruption is None else [float(tp.max_disruption)]
    limits = sorted({*frontier, *fixed})
    with collect_notes(result), parts_runner(len(table)) as runner:
        made = rep_plans(table, bases, {**arguments, **contiguity}, [None if x >= 1 else x for x in limits],
                         balance_on, graph, every, runner)
    plans = dict(zip(limits, made))
    points = pd.DataFrame([_frontier_row(*plans[x], x, table, balance_on) for x in frontier])
    if auto:
        chosen: float | None = knee(points, measures, tp.knee_gain)
    else:
        chosen = None if tp.max_disruption is None else float(tp.max_disruption)
    key = 1.0 if chosen is None else chosen
    if key in plans:
        plan, found = plans[key]
    else:  # no limit asked for (and none on the frontier): one search more
        with collect_notes(result), parts_runner(len(table)) as runner:
            ((plan, found),) = rep_plans(table, bases, {**arguments, **contiguity}, [chosen], balance_on, graph,
                                         every, runner)
    if plan.notes:
        note = plan.notes[0]
        meeting = territory.smallest_meeting(points)
        if meeting is not None:
            row = points[points["max_disruption"] == meeting].iloc[0]
            note += (f"; meeting every tolerance takes a limit of {meeting:.0%} (moves {row['moved_share']:.1%} of "
                     f"potential, {int(row['moved_units'])} accounts)")
        else:
            best = points.iloc[-1]
            devs = ", ".join(f"{m} {best[f'max_{m}_dev']:.1%}" for m in measures)
            note += (f"; no limit on the frontier meets them: with {best['max_disruption']:.0%} "
                     f"({best['moved_share']:.1%} of potential, {int(best['moved_units'])} accounts moved) "
                     f"the largest deviation is {devs}, within {tp.max_distance_km:g} km of each rep's base")
        result.notes.append(note)
    points["chosen"] = (points["max_disruption"] - key).abs().lt(1e-12) if auto else False
    result.add("territory_frontier", points)

    km_now = territory.km_to(table, bases, table["current"].to_numpy(dtype=object), road)
    has = ~np.isnan(km_now)
    labels = found.assignment
    km_new = found.distance_km
    base_city = _base_label(bases)

    def with_bases(p: territory.TerritoryPlan, label: str, labs: Any, sub: pd.DataFrame) -> pd.DataFrame:
        m = _metrics(p, label, measures)
        t = territory.travel_table(sub, labs, bases, road_factor=road, weight="workload").set_index("territory")
        m["centre"] = m["territory"].map(base_city).fillna("").astype(str)
        m["compactness"] = m["territory"].map(t["weighted_mean_km"]).astype(float).fillna(m["compactness"])
        return m

    today_sub = table[has].reset_index(drop=True)
    result.add("territory_metrics", pd.concat([with_bases(now, "today", today_sub["current"].to_numpy(), today_sub),
                                               with_bases(plan, "proposed", labels, table)], ignore_index=True))
    summary_now = _summary_row(now, "today", balance_on)
    summary_new = _summary_row(plan, "proposed", balance_on)
    summary_now["objective"] = float(territory.travel_overall(km_now[has], table["workload"].to_numpy()[has])["weighted_mean_km"])
    summary_new["objective"] = float(territory.travel_overall(km_new, table["workload"].to_numpy())["weighted_mean_km"])
    result.add("territory_summary", pd.DataFrame([summary_now, summary_new]))

    assignment = pd.DataFrame({"customer_id": table["unit_id"].astype(str), "territory": labels.astype(str)})
    assignment["centre"] = assignment["territory"].map(base_city).fillna("").astype(str)
    assignment["distance_to_centre"] = km_new
    assignment["current"] = table["current"].astype("string")
    assignment["moved"] = found.moved.astype(bool)
    assignment["potential"] = table["potential"].to_numpy(dtype=float)
    assignment["workload"] = table["workload"].to_numpy(dtype=float)
    result.add("territory_assignment", assignment)
    moves = table.loc[found.moved, ["unit_id", "customer_name", "province_id", "city_en", "tier", "potential",
                                    "workload", "current"]].rename(columns={"unit_id": "customer_id",
                                                                            "current": "from_territory"})
    moves["to_territory"] = labels[found.moved].astype(str)
    moves = moves.astype({"from_territory": str})
    result.add("territory_moves", moves.sort_values(["potential", "customer_id"], ascending=[False, True]))

    result.add("territory_travel", pd.concat([_travel(today_sub, today_sub["current"].to_numpy(), bases, "today", ctx, road),
                                              _travel(table, labels, bases, "proposed", ctx, road)], ignore_index=True))
    result.add("territory_comparison", comparison(now, plan, km_now[has], km_new, table, labels, bases,
                                                  tp.max_distance_km, balance_on))
    result.add("territory_handover", handover(table, labels, km_new, bases, last_year_sales(ctx)))
    beyond = table[table["unit_id"].isin(found.beyond)]
    result.add("territory_beyond_limit", pd.DataFrame({
        "customer_id": beyond["unit_id"].astype(str), "customer_name": beyond["customer_name"].astype(str),
        "rep_id": beyond["current"].astype(str),
        "distance_km": km_now[table["unit_id"].isin(found.beyond).to_numpy()]}).sort_values(
            ["distance_km", "customer_id"], ascending=[False, True]).reset_index(drop=True))
    hires = planned_hires(ctx) if tp.organisation == "planned" else planned_hires(ctx).iloc[0:0]
    months, people = targets_after_handover(ctx, assignment, bases, hires)
    result.add("targets_person_month", months)
    result.add("targets_person", people)
    result.facts.update(k=plan.k, customers=len(table), orphaned=int(table["current"].isna().sum()),
                        graph=tp.graph, edges=len(graph.edges), graph_parts=graph.n_components, status=plan.status,
                        max_disruption=tp.max_disruption if tp.max_disruption is not None else "",
                        chosen_disruption=_blank(chosen if auto else None),
                        smallest_disruption_meeting=_blank(territory.smallest_meeting(points)),
                        stopped_by=plan.stopped_by, replayable=plan.replayable, method="reps",
                        max_distance_km=tp.max_distance_km, keep_whole=tp.keep_whole, moves_made=found.steps,
                        organisation=tp.organisation,
                        vacancy_holders="; ".join(f"{r}: {m}" for r, m in sorted(tp.vacancy_holders.items())))
    if planned:  # the organisation designed for: today's active reps and the hires starting by the plan year's end
        hired = set(bases["rep_id"]) - set(rep_bases(ctx)["rep_id"])
        given = assignment.loc[assignment["territory"].isin(hired)]
        result.facts.update(organisation_month=organisation_month(ctx), territory_hires=len(hired),
                            territory_reps=len(bases) - len(hired), accounts_to_hires=len(given),
                            hires_given_accounts=int(given["territory"].nunique()))
    return result
