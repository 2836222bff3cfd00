"""Territory design benchmark: the four goals of the territories issue, beside spopt.

    .venv/bin/python benchmarks/territory.py            # full run (about 15 minutes)
    .venv/bin/python benchmarks/territory.py --quick    # small sizes, a smoke test

Cases
1. The 31 provinces into 5 regions balanced on population (±10% and ±2%), contiguous
   over the province adjacency: exact MILP, proven optimum (gap) and run time.
2. The demo company's customers (make_company defaults, ~2,500 active) into 60
   territories, potential ±5% and workload ±10% (visit hours), contiguous: heuristic
   within 60 s; max deviations and compactness.
3. 20,000 synthetic customers into 200 territories (same tolerances), within 5 minutes.
4. max_disruption=0.1 from a perturbed current assignment (3,000 synthetic customers).
5. Territories around reps (method 'reps', issue 22): 20,000 synthetic customers and 200 reps
   with home bases, today's assignment lopsided; improved from today within 300 km road,
   at most 15% of potential and of accounts moved, median/p95 travel held (target < 2 min).
GerryChain (optional, the ``bench`` extra) partitions the strict-Delaunay case on potential
alone with its recursive spanning-tree method. spopt (optional; the ``bench`` extra) runs AZP with a balance objective (the sum of
squared relative deviations of the territories' totals) and region k-means on the same
units and graph, each time-boxed in a child process.

Writes benchmarks/results/territory.md (and .csv) with machine, versions and date.
"""
from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/ holds scripts named like standard modules (calendar.py): keep it off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import multiprocessing as mp
import os
import platform
import time
import warnings
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import scipy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from salesmodel.domain.territory import (
    adjacency,
    base_distances,
    customer_units,
    design,
    drivable,
    evaluate,
    rep_design,
    travel_overall,
)
from salesmodel.sample import make_company

RESULTS = ROOT / "benchmarks" / "results"
ROWS: list[dict] = []


GROUP = {"name": ""}


def record(case: str, tool: str, **values) -> None:
    row = {"group": GROUP["name"], "case": case, "tool": tool, **values}
    ROWS.append(row)
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
    print(f"[{case}] {tool}: {shown}", flush=True)


def max_devs(units: pd.DataFrame, labels: np.ndarray, measures: list[str]) -> dict[str, float]:
    out = {}
    k = len(np.unique(labels))
    for m in measures:
        totals = pd.Series(units[m].to_numpy()).groupby(labels).sum()
        out[f"max_{m}_dev"] = float((totals / (units[m].sum() / k) - 1).abs().max())
    return out


def plan_row(plan, measures) -> dict:
    row = {"status": plan.status, "feasible": plan.feasible, "seconds": round(plan.runtime, 2),
           "gap": plan.gap, "objective": round(plan.objective, 1),
           "compactness_km": round(float(plan.metrics["compactness"].mean()), 1),
           "contiguous": bool(plan.metrics["contiguous"].all())}
    for m in measures:
        row[f"max_{m}_dev"] = round(float(plan.metrics[f"{m}_dev"].abs().max()), 4)
    return row


# --- spopt, in a child process with a time box --------------------------------------------------


def _spopt_worker(kind, units, edges, measures, k, seed, queue):
    try:
        import geopandas as gpd
        import libpysal
        from spopt.region import AZP, RegionKMeansHeuristic
        from spopt.region.objective_function import ObjectiveFunction

        class Balance(ObjectiveFunction):
            """Sum over regions of squared relative deviations of each measure's total."""

            def __init__(self, means):
                self.means = means

            def __call__(self, labels, attr):
                total = 0.0
                for r in np.unique(labels):
                    total += float((((attr[labels == r].sum(0) - self.means) / self.means) ** 2).sum())
                return total

            def update(self, moving_area, recipient_region, labels, attr):
                donor = labels[moving_area]
                a = attr[labels == donor].sum(0)
                b = attr[labels == recipient_region].sum(0)
                x = attr[moving_area]
                def f(v):
                    return float((((v - self.means) / self.means) ** 2).sum())
                return f(a - x) + f(b + x) - f(a) - f(b)

        n = len(units)
        neighbours = {i: [] for i in range(n)}
        for a, b in edges:
            neighbours[int(a)].append(int(b))
            neighbours[int(b)].append(int(a))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = libpysal.weights.W(neighbours, silence_warnings=True)
            gdf = gpd.GeoDataFrame(units.copy(), geometry=gpd.points_from_xy(units["lon"], units["lat"]))
            t0 = time.perf_counter()
            if kind == "azp":
                means = units[measures].to_numpy().sum(0) / k
                model = AZP(gdf, w, measures, n_clusters=k, random_state=seed, objective_func=Balance(means))
            else:
                model = RegionKMeansHeuristic(units[measures].to_numpy(), k, w)
            model.solve()
            queue.put(("ok", np.asarray(model.labels_), time.perf_counter() - t0))
    except Exception as exc:  # noqa: BLE001 - report any failure of the comparison tool
        queue.put(("error", f"{type(exc).__name__}: {exc}", 0.0))


def _time_boxed(target, args, time_box):
    """Run a comparison tool's worker in a forked child; ((labels, seconds), "") or (None, why)."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    proc.join(time_box)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None, f"no result within {time_box:.0f} s"
    if queue.empty():
        return None, "no result"
    status, labels, seconds = queue.get()
    return ((labels, seconds), "") if status == "ok" else (None, labels)


def run_spopt(kind, units, graph, measures, k, seed, time_box):
    return _time_boxed(_spopt_worker, (kind, units, graph.edges, measures, k, seed), time_box)


def _gerrychain_worker(units, edges, measure, k, epsilon, seed, queue):
    """GerryChain's recursive spanning-tree partition (the redistricting method) on our graph."""
    try:
        import random

        import networkx as nx
        from gerrychain import Graph

        try:
            from gerrychain.partition import recursive_tree_part
        except ImportError:
            from gerrychain.tree import recursive_tree_part
        random.seed(seed)
        nxg = nx.Graph()
        nxg.add_nodes_from(range(len(units)))
        nxg.add_edges_from((int(a), int(b)) for a, b in edges)
        values = units[measure].to_numpy(dtype=float)
        for i in nxg.nodes:
            nxg.nodes[i][measure] = float(values[i])
        graph = Graph.from_networkx(nxg)
        t0 = time.perf_counter()
        parts = recursive_tree_part(graph, range(k), float(values.sum()) / k, measure, epsilon)
        labels = np.array([parts[i] for i in range(len(units))])
        queue.put(("ok", labels, time.perf_counter() - t0))
    except Exception as exc:  # noqa: BLE001 - report any failure of the comparison tool
        queue.put(("error", f"{type(exc).__name__}: {exc}", 0.0))


def run_gerrychain(units, graph, measure, k, epsilon, seed, time_box):
    return _time_boxed(_gerrychain_worker, (units, graph.edges, measure, k, epsilon, seed), time_box)


def gerrychain_available() -> str | None:
    try:
        from importlib.metadata import version

        import gerrychain  # noqa: F401

        return version("gerrychain")
    except Exception:  # noqa: BLE001
        return None


def spopt_available() -> str | None:
    try:
        import spopt

        return spopt.__version__
    except Exception:  # noqa: BLE001
        return None


# --- cases -------------------------------------------------------------------------------------


def case_provinces(company, spopt_version, quick):
    prov = company["provinces"].rename(columns={"province_id": "unit_id"})
    graph = adjacency(prov, method="given", edges=company["adjacency"][["province_a", "province_b"]])
    for tol in (0.10, 0.02):
        plan = design(prov, 5, adjacency=graph, balance_on={"population": tol}, method="exact", time_limit=120)
        record(f"provinces k=5 ±{tol:.0%}", "salesmodel exact", **plan_row(plan, ["population"]))
    if spopt_version:
        devs, times = [], []
        for seed in range(3 if quick else 10):
            res, why = run_spopt("azp", prov[["unit_id", "lat", "lon", "population"]], graph, ["population"], 5, seed, 120)
            if res is None:
                record("provinces k=5 ±2%", f"spopt AZP seed {seed}", note=why)
                continue
            labels, seconds = res
            devs.append(max_devs(prov, labels, ["population"])["max_population_dev"])
            times.append(seconds)
        if devs:
            record("provinces k=5 ±2%", f"spopt {spopt_version} AZP balance, {len(devs)} seeds",
                   best_max_population_dev=round(min(devs), 4), median_max_population_dev=round(float(np.median(devs)), 4),
                   seconds_per_run=round(float(np.mean(times)), 2))


def demo_units(quick):
    company = make_company(seed=42, n_customers=600 if quick else 3000, n_reps=12 if quick else 60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        units = customer_units(company["customers"], company["reps"])
    return company, units


def case_demo(units, spopt_version, quick):
    k = 12 if quick else 60
    balance = {"potential": 0.05, "workload": 0.10}
    graph = adjacency(units)
    case = f"demo {len(units)} customers k={k}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        today = evaluate(units[units["current"].notna()],
                         units.loc[units["current"].notna(), ["unit_id", "current"]].rename(columns={"current": "territory"}),
                         balance_on=balance)
        record(case, "today (rep_id)", **plan_row(today, list(balance)))
        plan = design(units, k, adjacency=graph, balance_on=balance, method="heuristic", time_limit=60, seed=0)
        record(case, "salesmodel heuristic, Delaunay graph", **plan_row(plan, list(balance)))
        knn = adjacency(units, method="knn", neighbours=15)
        plan = design(units, k, adjacency=knn, balance_on=balance, method="heuristic", time_limit=60, seed=0)
        record(case, "salesmodel heuristic, knn-15 graph", **plan_row(plan, list(balance)))
        # issue 17: strict Delaunay (prune nothing), potential ±5% and workload ±30%, both starts
        strict = adjacency(units, prune_factor=None)
        loose = {"potential": 0.05, "workload": 0.30}
        for construction in ("tree", "grow"):
            plan = design(units, k, adjacency=strict, balance_on=loose, method="heuristic", time_limit=120, seed=0,
                          construction=construction)
            record(f"{case} strict Delaunay ±5%/±30%", f"salesmodel heuristic, {construction} start",
                   **plan_row(plan, list(loose)))
    gerry = gerrychain_available()
    if gerry:  # one measure only (its population): potential ±5% on the same strict graph
        small = units[["unit_id", "lat", "lon", *balance]].reset_index(drop=True)
        res, why = run_gerrychain(small, strict, "potential", k, 0.05, 0, 300)
        if res is None:
            record(f"{case} strict Delaunay ±5%/±30%", f"GerryChain {gerry} recursive_tree_part (potential only)", note=why)
        else:
            labels, seconds = res
            scored = evaluate(small, pd.Series(labels.astype(str), index=small["unit_id"]), adjacency=strict,
                              balance_on=loose)
            record(f"{case} strict Delaunay ±5%/±30%", f"GerryChain {gerry} recursive_tree_part (potential only)",
                   **plan_row(scored, list(loose)) | {"seconds": round(seconds, 1)})
    if spopt_version:
        small = units[["unit_id", "lat", "lon", *balance]].reset_index(drop=True)
        for kind, box in (("azp", 180), ("kmeans", 180)):
            res, why = run_spopt(kind, small, graph, list(balance), k, 0, box)
            if res is None:
                record(case, f"spopt {kind}", note=why)
                continue
            labels, seconds = res
            codes = pd.Series(labels.astype(str))
            scored = evaluate(small, pd.Series(codes.to_numpy(), index=small["unit_id"]), adjacency=graph, balance_on=balance)
            record(case, f"spopt {spopt_version} {kind}", **plan_row(scored, list(balance)) | {"seconds": round(seconds, 1)})


def synthetic(n, seed=0):
    """Customers in town clusters over eastern China, demo-like potential and visit hours."""
    rng = np.random.default_rng(seed)
    towns = max(5, n // 40)
    centres = np.column_stack([rng.uniform(22, 42, towns), rng.uniform(104, 122, towns)])
    which = rng.integers(0, towns, n)
    pts = centres[which] + rng.normal(0, 0.12, (n, 2))
    tier = rng.choice(["VIP", "first", "second", "other"], n, p=[0.05, 0.15, 0.3, 0.5])
    potential = (rng.lognormal(13, 0.8, n) * np.select([tier == "VIP", tier == "first"], [4, 2], 1)).round(-2)
    workload = np.select([tier == "VIP", tier == "first", tier == "second"], [12.0, 6.0, 3.0], 1.5)
    return pd.DataFrame({"unit_id": [f"S{i:05d}" for i in range(n)], "lat": pts[:, 0], "lon": pts[:, 1],
                         "potential": potential, "workload": workload})


def case_large(quick):
    n, k, limit = (4000, 40, 60) if quick else (20000, 200, 290)
    units = synthetic(n, seed=1)
    t0 = time.perf_counter()
    graph = adjacency(units)
    graph_s = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = design(units, k, adjacency=graph, method="heuristic", time_limit=limit, seed=0)
    record(f"synthetic {n} units k={k}", "salesmodel heuristic", **plan_row(plan, ["potential", "workload"]),
           graph_seconds=round(graph_s, 2))
    # issue 17: strict Delaunay (prune nothing), potential ±5%, spanning-tree start
    strict = adjacency(units, prune_factor=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = design(units, k, adjacency=strict, balance_on={"potential": 0.05}, method="heuristic", time_limit=limit,
                      seed=0, construction="tree")
    record(f"synthetic {n} units k={k} strict Delaunay ±5%", "salesmodel heuristic, tree start",
           **plan_row(plan, ["potential"]))


def perturb(units, graph, assignment, share, seed):
    """Move boundary units to a neighbouring territory until ``share`` of potential moved."""
    rng = np.random.default_rng(seed)
    lab = assignment.set_index("unit_id").loc[units["unit_id"], "territory"].to_numpy().copy()
    pot = units["potential"].to_numpy()
    target, moved = share * pot.sum(), 0.0
    for i in rng.permutation(len(units)):
        if moved >= target:
            break
        other = [lab[j] for j in graph.neighbours[i] if lab[j] != lab[i]]
        if other:
            lab[i] = other[0]
            moved += pot[i]
    return pd.Series(lab, index=units["unit_id"].to_numpy())


def case_disruption(quick):
    n, k = (1500, 15) if quick else (3000, 60)
    units = synthetic(n, seed=2)
    graph = adjacency(units)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = design(units, k, adjacency=graph, method="heuristic", time_limit=60, seed=0)
    current = perturb(units, graph, base.assignment, 0.08, seed=1)
    before = evaluate(units, current, adjacency=graph)
    case = f"disruption {n} units k={k}"
    record(case, "perturbed current", **plan_row(before, ["potential", "workload"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = design(units, k, adjacency=graph, current=current, max_disruption=0.1, method="heuristic",
                      time_limit=60, seed=0)
    record(case, "salesmodel heuristic max_disruption=0.1", **plan_row(plan, ["potential", "workload"]),
           moved_potential=round(plan.disruption["potential"], 4), moved_units=round(plan.disruption["units"], 4))


def case_reps(quick):
    """Method 'reps' at scale: bases at town centres, today's rep the nearest base for most
    accounts and a crowded few for the rest (so today is unbalanced), then few, short moves."""
    n, k = (4000, 40) if quick else (20000, 200)
    units = synthetic(n, seed=3)
    rng = np.random.default_rng(3)
    towns = units[["lat", "lon"]].to_numpy()[rng.choice(n, k, replace=False)]
    bases = pd.DataFrame({"rep_id": [f"R{i:03d}" for i in range(k)], "base_lat": towns[:, 0], "base_lon": towns[:, 1]})
    dist = base_distances(units, bases, 1.3)
    nearest = dist.argmin(axis=1)
    busy = rng.random(n) < 0.3  # 30% of accounts held by their second-nearest rep
    second = np.argsort(dist, axis=1)[:, 1]
    current = np.where(busy, second, nearest)
    units["current"] = bases["rep_id"].to_numpy()[current]
    today = travel_overall(dist[np.arange(n), current], units["workload"])
    bal = {"potential": 0.05, "workload": 0.30}
    case = f"reps {n} units k={k}"
    record(case, "today", median_km=round(today["median_km"], 1), p95_km=round(today["p95_km"], 1),
           **max_devs(units, units["current"].to_numpy(), list(bal)))
    t0 = time.perf_counter()
    res = rep_design(units, bases, balance_on=bal, max_distance_km=300, max_disruption=0.15, travel_weight=10)
    seconds = time.perf_counter() - t0
    after = travel_overall(res.distance_km, units["workload"])
    record(case, "salesmodel reps, 300 km, 15%", seconds=round(seconds, 2), stopped_by=res.stopped_by, moves=res.steps,
           moved_units=round(res.moved_share["units"], 4), moved_potential=round(res.moved_share["potential"], 4),
           median_km=round(after["median_km"], 1), p95_km=round(after["p95_km"], 1),
           **max_devs(units, res.assignment, list(bal)))
    # with contiguity: a move joins a rep holding a neighbour within 150 road km (or based within it)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = drivable(adjacency(units, method="knn", neighbours=15), units, 150, 1.3)
    graph_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = rep_design(units, bases, balance_on=bal, max_distance_km=300, max_disruption=0.15, travel_weight=10,
                     graph=graph, near_km=150)
    seconds = time.perf_counter() - t0
    after = travel_overall(res.distance_km, units["workload"])
    record(case, "salesmodel reps, 300 km, 15%, contiguous moves", seconds=round(seconds, 2),
           graph_seconds=round(graph_s, 2), stopped_by=res.stopped_by, moves=res.steps,
           moved_units=round(res.moved_share["units"], 4), moved_potential=round(res.moved_share["potential"], 4),
           median_km=round(after["median_km"], 1), p95_km=round(after["p95_km"], 1),
           **max_devs(units, res.assignment, list(bal)))


def write_results(started, spopt_version, quick):
    RESULTS.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(ROWS)
    name = "territory_quick" if quick else "territory"
    old = RESULTS / f"{name}.csv"
    if old.is_file():
        # A partial run (--only) replaces its own cases and keeps the others.
        kept = pd.read_csv(old)
        if "group" in kept.columns:
            table = pd.concat([kept[~kept["group"].isin(table["group"])], table], ignore_index=True)
        order = {g: i for i, g in enumerate(["provinces", "demo", "large", "disruption", "reps"])}
        table = table.sort_values("group", key=lambda g: g.map(order), kind="stable")
    table.to_csv(RESULTS / f"{name}.csv", index=False)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    header = [
        f"# Territory benchmark ({'quick' if quick else 'full'})",
        "",
        (f"- date: {started:%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, {os.cpu_count()} cores, "
         f"{platform.system()} {platform.release()}; Python {platform.python_version()}"),
        (f"- numpy {np.__version__}, scipy {scipy.__version__} (HiGHS through scipy.optimize.milp), "
         f"pandas {pd.__version__}, spopt {spopt_version or 'not installed'}"),
        (f"- the machine was shared with other jobs (load average at the end: {load[0]:.1f} on "
         f"{os.cpu_count()} cores): times are upper bounds"),
        "- deviations are the largest |territory total / mean territory - 1|; compactness is the",
        "  measure-weighted mean distance to the territory centre (km); spopt AZP runs with a",
        "  balance objective (sum of squared relative deviations); spopt results are scored by",
        "  salesmodel.domain.territory.evaluate on the same units and graph",
        "",
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(header) + render(table) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS / (name + '.md')}")


def render(table: pd.DataFrame) -> str:
    """A narrow Markdown table: case, tool, status, seconds, then the other figures."""
    fixed = ["case", "tool", "status", "seconds"]
    lines = ["| case | tool | status | seconds | figures |", "|---|---|---|---:|---|"]
    for _, row in table.iterrows():
        figures = []
        for col, value in row.items():
            if col in fixed or col == "group" or pd.isna(value):
                continue
            if isinstance(value, float) and ("dev" in col or col.startswith("moved") or col == "gap"):
                value = f"{value:.2%}"
            figures.append(f"{col} {value}")
        cells = [str(row.get(c, "")) if not pd.isna(row.get(c, np.nan)) else "" for c in fixed]
        lines.append("| " + " | ".join(cells + ["; ".join(figures)]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--only", nargs="*", default=None, help="cases: provinces demo large disruption reps")
    parser.add_argument("--render", action="store_true", help="rewrite the .md from the saved .csv only")
    args = parser.parse_args()
    if args.render:
        name = "territory_quick" if args.quick else "territory"
        md = RESULTS / f"{name}.md"
        head = ""
        if md.is_file():
            lines = md.read_text(encoding="utf-8").splitlines()
            kept = [ln for ln in lines[: next((i for i, ln in enumerate(lines) if ln.startswith("|")), len(lines))]]
            head = "\n".join(kept).rstrip() + "\n\n"
        md.write_text(head + render(pd.read_csv(RESULTS / f"{name}.csv")) + "\n", encoding="utf-8")
        return
    started = datetime.now(UTC)
    spopt_version = spopt_available()
    cases = args.only or ["provinces", "demo", "large", "disruption"]
    company, units = demo_units(args.quick)
    runs = {
        "provinces": lambda: case_provinces(company, spopt_version, args.quick),
        "demo": lambda: case_demo(units, spopt_version, args.quick),
        "large": lambda: case_large(args.quick),
        "disruption": lambda: case_disruption(args.quick),
        "reps": lambda: case_reps(args.quick),
    }
    for name in cases:
        GROUP["name"] = name
        runs[name]()
    write_results(started, spopt_version, args.quick)


if __name__ == "__main__":
    main()
