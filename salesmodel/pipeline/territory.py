"""Step ``territory``: balanced, compact, contiguous territories proposed against today's."""
from __future__ import annotations

from typing import Any

import pandas as pd

from salesmodel import tables as declared
from salesmodel import territory
from salesmodel.pipeline._base import Context, StepResult, collect_notes

NEEDS: tuple[str, ...] = ("staffing",)
PARAMS: tuple[str, ...] = ("data", "territory", "staffing", "seed")


def units(ctx: Context) -> pd.DataFrame:
    """Active customers as territory units, with the workload the staffing step computed."""
    tp = ctx.params.territory
    per_customer = ctx.table("workload_customer").groupby("customer_id")[tp.workload_measure].sum()
    return territory.customer_units(ctx.inputs["customers"], ctx.inputs["reps"], workload=per_customer)


def number_of_territories(ctx: Context) -> int:
    reps = ctx.inputs["reps"]
    return ctx.params.territory.k or int(reps["leave_date"].isna().sum())


def design_arguments(ctx: Context, table: pd.DataFrame) -> dict[str, Any]:
    """Every argument of :func:`salesmodel.territory.design` but the units (the explorer calls this too)."""
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
    row["within_tolerance"] = bool(all(row[f"max_{m}_dev"] <= tol + 1e-9 for m, tol in balance_on.items()))
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

