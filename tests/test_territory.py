"""Territory design: known optima, properties, disruption, evaluate, bad input."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmodel.domain.territory import Graph, TerritoryPlan, adjacency, design, evaluate
from salesmodel.errors import InfeasibleError, InputError, ParamsError

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def grid(n_side: int, measure=None) -> pd.DataFrame:
    cells = [(x, y) for y in range(n_side) for x in range(n_side)]
    df = pd.DataFrame({"unit_id": [f"u{x}{y}" for x, y in cells], "x": [c[0] for c in cells], "y": [c[1] for c in cells]})
    df["potential"] = 1.0 if measure is None else measure
    return df


def grid_graph(units: pd.DataFrame) -> Graph:
    pos = {(x, y): u for u, x, y in units[["unit_id", "x", "y"]].itertuples(index=False)}
    edges = [(pos[(x, y)], pos[(x + 1, y)]) for (x, y) in pos if (x + 1, y) in pos]
    edges += [(pos[(x, y)], pos[(x, y + 1)]) for (x, y) in pos if (x, y + 1) in pos]
    return adjacency(units, method="given", edges=edges)


def brute_force_optimum(units: pd.DataFrame, k: int, tol: float) -> float:
    """Smallest weighted distance to centres over every partition of the grid into k
    connected parts within the tolerance (enumerated exhaustively)."""
    ids = units["unit_id"].tolist()
    xy = units[["x", "y"]].to_numpy(float)
    m = units["potential"].to_numpy(float)
    w = m / m.mean()
    n = len(ids)
    mean = m.sum() / k
    lo, hi = (1 - tol) * mean - 1e-9, (1 + tol) * mean + 1e-9
    nb = {i: [j for j in range(n) if abs(xy[i] - xy[j]).sum() == 1] for i in range(n)}
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    cost_cache: dict[frozenset, float] = {}

    def cost(part: frozenset) -> float:
        if part not in cost_cache:
            idx = list(part)
            cost_cache[part] = min(sum(w[i] * d[i, c] for i in idx) for c in idx)
        return cost_cache[part]

    def connected_parts(root: int, free: frozenset):
        seen, out = set(), []
        stack = [frozenset([root])]
        while stack:
            part = stack.pop()
            if part in seen:
                continue
            seen.add(part)
            total = m[list(part)].sum()
            if total > hi:
                continue
            if total >= lo:
                out.append(part)
            for i in part:
                for j in nb[i]:
                    if j in free and j not in part:
                        stack.append(part | {j})
        return out

    best = math.inf

    def search(free: frozenset, parts_left: int, acc: float) -> None:
        nonlocal best
        if acc >= best:
            return
        if not free:
            if parts_left == 0:
                best = acc
            return
        if parts_left == 0:
            return
        root = min(free)
        for part in connected_parts(root, free):
            search(free - part, parts_left - 1, acc + cost(part))

    search(frozenset(range(n)), k, 0.0)
    return best


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lat = rng.uniform(28, 34, n)
    lon = rng.uniform(110, 118, n)
    tier = rng.choice(["VIP", "first", "second", "other"], n, p=[0.05, 0.15, 0.3, 0.5])
    potential = rng.lognormal(12, 0.6, n).round(-2)
    workload = np.select([tier == "VIP", tier == "first", tier == "second"], [8.0, 4.0, 2.0], 1.0)
    return pd.DataFrame(
        {"unit_id": [f"C{i:04d}" for i in range(n)], "lat": lat, "lon": lon, "potential": potential, "workload": workload}
    )


@pytest.fixture(scope="module")
def provinces(small_company):
    prov = small_company["provinces"].rename(columns={"province_id": "unit_id"})
    graph = adjacency(prov, method="given", edges=small_company["adjacency"][["province_a", "province_b"]])
    return prov, graph


# ---------------------------------------------------------------------------
# known optima (exact method)
# ---------------------------------------------------------------------------


def test_grid_4x4_into_4_equal_parts_finds_t_tetromino_optimum():
    units = grid(4)
    graph = grid_graph(units)
    plan = design(units, 4, adjacency=graph, balance_on={"potential": 0.0}, method="exact")
    # By hand: a T-tetromino has its three arms at distance 1 from its centre (cost 3),
    # the best any 4-cell piece can do, and four T's tile the 4x4 square: 4 x 3 = 12.
    assert brute_force_optimum(units, 4, 0.0) == pytest.approx(12.0)
    assert plan.status == "optimal"
    assert plan.gap == 0.0
    assert plan.objective == pytest.approx(12.0)
    assert plan.bound == pytest.approx(12.0, rel=1e-6)
    assert sorted(plan.metrics["units"]) == [4, 4, 4, 4]
    assert plan.metrics["contiguous"].all()


def test_grid_with_uneven_measures_matches_brute_force():
    measure = [3, 1, 1, 2, 1, 4, 1, 1, 2, 1, 1, 3, 1, 1, 2, 1]
    units = grid(4, measure=[float(v) for v in measure])
    graph = grid_graph(units)
    plan = design(units, 4, adjacency=graph, balance_on={"potential": 0.25}, method="exact")
    expected = brute_force_optimum(units, 4, 0.25)
    assert plan.status == "optimal" and plan.gap == 0.0
    assert plan.objective == pytest.approx(expected, rel=1e-9)
    assert plan.feasible
    assert (plan.metrics["potential_dev"].abs() <= 0.25 + 1e-9).all()


def test_contiguity_changes_the_optimum_on_a_ring():
    # A chain a-b-c-d-e-f whose c and f sit far off the line: the only contiguous split
    # into 3 + 3 is {a,b,c}, {d,e,f} (cost 2 x (1 + sqrt 26)); grouping {a,b,d} and
    # {c,e,f} is cheaper but not contiguous.
    units = pd.DataFrame({"unit_id": list("abcdef"), "x": [0, 1, 2, 3, 4, 5], "y": [0, 0, 5, 0, 0, 5],
                          "potential": [1.0] * 6})
    chain = adjacency(units, method="given", edges=[("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("e", "f")])
    loose = design(units, 2, adjacency=chain, balance_on={"potential": 0.0}, contiguous=False, method="exact")
    tight = design(units, 2, adjacency=chain, balance_on={"potential": 0.0}, contiguous=True, method="exact")
    assert tight.objective > loose.objective + 1e-6
    assert tight.metrics["contiguous"].all()
    assert not loose.metrics["contiguous"].all()
    assert loose.status == tight.status == "optimal"


def test_provinces_into_five_regions_within_ten_percent(provinces):
    prov, graph = provinces
    plan = design(prov, 5, adjacency=graph, balance_on={"population": 0.10}, method="exact", time_limit=60)
    assert plan.status == "optimal" and plan.gap == 0.0
    assert plan.feasible
    assert plan.metrics["contiguous"].all()
    assert (plan.metrics["population_dev"].abs() <= 0.10 + 1e-9).all()
    assert plan.metrics["population"].sum() == prov["population"].sum()
    again = evaluate(prov, plan.assignment, adjacency=graph, balance_on={"population": 0.10})
    pd.testing.assert_frame_equal(plan.metrics, again.metrics)
    assert again.objective == pytest.approx(plan.objective)


def test_exact_keeps_disruption_within_limit():
    units = grid(4, measure=[float(v) for v in [3, 1, 1, 2, 1, 4, 1, 1, 2, 1, 1, 3, 1, 1, 2, 1]])
    graph = grid_graph(units)
    # Today: four horizontal rows, unbalanced against the column-wise measure.
    current = pd.Series([f"R{y}" for y in units["y"]], index=units["unit_id"])
    free = design(units, 4, adjacency=graph, balance_on={"potential": 0.25}, current=current, method="exact")
    held = design(units, 4, adjacency=graph, balance_on={"potential": 0.25}, current=current,
                  max_disruption=0.2, method="exact")
    assert held.disruption["potential"] <= 0.2 + 1e-9
    assert held.feasible and held.status == "optimal"
    assert held.objective >= free.objective - 1e-9
    # Territories keep the names of the current ones they continue.
    assert set(held.metrics["territory"]) <= {"R0", "R1", "R2", "R3"}
    moved = held.moves
    assert (moved["current"] != moved["territory"]).all()
    assert len(moved) == round(held.disruption["units"] * 16)


# ---------------------------------------------------------------------------
# heuristic: properties
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synth_plan():
    units = synthetic(400, seed=3)
    graph = adjacency(units)
    plan = design(units, 8, adjacency=graph, method="heuristic", time_limit=30, seed=5)
    return units, graph, plan


def test_heuristic_meets_tolerances_contiguously(synth_plan):
    units, _, plan = synth_plan
    assert plan.method == "heuristic"
    assert plan.feasible and plan.status == "feasible"
    assert plan.bound is None and plan.gap is None
    assert (plan.metrics["potential_dev"].abs() <= 0.05 + 1e-9).all()
    assert (plan.metrics["workload_dev"].abs() <= 0.10 + 1e-9).all()
    assert plan.metrics["contiguous"].all()
    # Every unit assigned exactly once.
    assert sorted(plan.assignment["unit_id"]) == sorted(units["unit_id"])
    assert plan.assignment["territory"].notna().all()
    assert plan.metrics["units"].sum() == len(units)
    assert plan.metrics["territory"].nunique() == 8


def test_evaluate_agrees_with_design(synth_plan):
    units, graph, plan = synth_plan
    again = evaluate(units, plan.assignment, adjacency=graph)
    pd.testing.assert_frame_equal(plan.metrics, again.metrics)
    pd.testing.assert_frame_equal(plan.assignment, again.assignment)
    assert again.objective == pytest.approx(plan.objective)
    assert again.feasible == plan.feasible


def test_same_seed_same_plan_and_seed_matters():
    units = synthetic(250, seed=1)
    graph = adjacency(units)
    a = design(units, 5, adjacency=graph, method="heuristic", time_limit=30, seed=11)
    b = design(units, 5, adjacency=graph, method="heuristic", time_limit=30, seed=11)
    pd.testing.assert_frame_equal(a.assignment, b.assignment)
    assert a.objective == b.objective


class _FastClock:
    """A machine a thousand times slower: every look at the clock finds 0.5 s more gone."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 0.5
        return self.now


def _tight_design(**kw):
    # 150 units at tight tolerances and a tight disruption limit: the greedy descents stall with
    # a tolerance broken, so the annealing runs too, and the counts (not convergence) end it
    units = synthetic(150, seed=4)
    graph = adjacency(units)
    current = pd.Series([f"R{i % 5}" for i in range(150)], index=units["unit_id"])
    base = design(units, 5, adjacency=graph, method="heuristic", seed=2, max_sweeps=3, anneal_steps=5_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return design(units, 5, adjacency=graph, current=base.assignment[["unit_id", "territory"]],
                      max_disruption=0.02, balance_on={"potential": 0.002, "workload": 0.01},
                      method="heuristic", seed=3, max_sweeps=4, anneal_steps=20_000, **kw), current


def test_counts_not_the_clock_end_the_search():
    quick, _ = _tight_design(time_limit=2)
    slow, _ = _tight_design(time_limit=1e6)
    assert quick.stopped_by in ("max_sweeps", "anneal_steps") and quick.replayable
    assert slow.stopped_by == quick.stopped_by
    assert quick.assignment.to_csv(index=False).encode() == slow.assignment.to_csv(index=False).encode()


def test_a_slow_machine_gives_the_same_plan_unless_the_safety_stop_hits(monkeypatch):
    from salesmodel.domain.territory import _design, _heuristic, _search

    reference, _ = _tight_design(time_limit=60)
    # a thousand times slower: same plan as long as the safety stop is far enough
    monkeypatch.setattr(_heuristic, "time", _FastClock())
    monkeypatch.setattr(_search, "time", _FastClock())
    monkeypatch.setattr(_design, "time", _FastClock())
    slow, _ = _tight_design(time_limit=1e9)
    assert slow.stopped_by == reference.stopped_by and slow.replayable
    pd.testing.assert_frame_equal(slow.assignment, reference.assignment)
    # when the safety stop is what ends the search, the plan says it may not replay
    cut, _ = _tight_design(time_limit=30)
    assert cut.stopped_by == "time_limit" and not cut.replayable
    assert any("may not replay" in n for n in cut.notes)
    assert cut.summary()["stopped_by"] == "time_limit"


def test_exact_stopped_by_its_time_limit_is_flagged(monkeypatch):
    from salesmodel.domain.territory import _design

    units = grid(4)
    proven = design(units, 4, adjacency=grid_graph(units), balance_on={"potential": 0.0}, method="exact")
    assert proven.stopped_by == "optimal" and proven.replayable
    real = _design.solve_exact

    def cut_short(*args, **kwargs):
        out = real(*args, **kwargs)
        out["status_code"] = 1  # what HiGHS reports when its time limit ends the search
        return out

    monkeypatch.setattr(_design, "solve_exact", cut_short)
    cut = design(units, 4, adjacency=grid_graph(units), balance_on={"potential": 0.0}, method="exact")
    assert cut.stopped_by == "time_limit" and not cut.replayable
    assert any("may not replay" in n for n in cut.notes)


def test_search_counts_are_checked():
    units = grid(3)
    with pytest.raises(ParamsError, match="'max_sweeps'"):
        design(units, 2, balance_on={"potential": 0.5}, max_sweeps=0)
    with pytest.raises(ParamsError, match="'anneal_steps'"):
        design(units, 2, balance_on={"potential": 0.5}, anneal_steps=2.5)


def test_heuristic_respects_disruption_limit_from_perturbed_current(synth_plan):
    units, graph, plan = synth_plan
    # Perturb today's plan: potential grows 30% in one territory, so it is over its share.
    grown = units.copy()
    first = plan.metrics["territory"].iloc[0]
    in_first = plan.assignment["territory"].eq(first).to_numpy()
    grown.loc[in_first, "potential"] *= 1.3
    current = plan.assignment[["unit_id", "territory"]]
    before = evaluate(grown, current, adjacency=graph)
    assert not before.feasible
    after = design(grown, 8, adjacency=graph, current=current, max_disruption=0.1, method="heuristic",
                   time_limit=30, seed=0)
    assert after.feasible
    assert after.disruption["potential"] <= 0.1 + 1e-9
    assert after.metrics["contiguous"].all()
    assert set(after.metrics["territory"]) == set(plan.metrics["territory"])


def test_not_contiguous_when_not_asked():
    units = synthetic(120, seed=2)
    plan = design(units, 4, contiguous=False, method="heuristic", time_limit=20,
                  balance_on={"potential": 0.05})
    assert plan.feasible
    assert plan.contiguous_required is False


@settings(max_examples=12, deadline=None)
@given(
    measure=st.lists(st.integers(min_value=0, max_value=5), min_size=25, max_size=25),
    k=st.integers(min_value=2, max_value=4),
    seed=st.integers(min_value=0, max_value=3),
)
def test_heuristic_properties_on_grids(measure, k, seed):
    values = [float(v) + 1.0 for v in measure]
    units = grid(5, measure=values)
    graph = grid_graph(units)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan = design(units, k, adjacency=graph, balance_on={"potential": 0.3}, method="heuristic",
                          time_limit=5, seed=seed)
    except InfeasibleError:
        assert max(values) > 1.3 * sum(values) / k
        return
    assert len(plan.assignment) == 25 and plan.assignment["unit_id"].is_unique
    assert plan.metrics["units"].sum() == 25 and (plan.metrics["units"] >= 1).all()
    assert plan.metrics["contiguous"].all()
    if plan.feasible:
        assert (plan.metrics["potential_dev"].abs() <= 0.3 + 1e-9).all()
    else:
        assert plan.status == "tolerance_not_met"


# ---------------------------------------------------------------------------
# adjacency
# ---------------------------------------------------------------------------


def test_delaunay_adjacency_of_a_square_and_pruning_keeps_it_connected():
    units = pd.DataFrame({"unit_id": list("abcd"), "x": [0, 1, 0, 1], "y": [0, 0, 1, 1]})
    g = adjacency(units)
    assert len(g.edges) == 5 and g.connected
    # Two far clusters: the long edges between them are pruned but one comes back.
    rng = np.random.default_rng(0)
    pts = np.vstack([rng.normal(0, 1, (30, 2)), rng.normal(100, 1, (30, 2))])
    far = pd.DataFrame({"unit_id": range(60), "x": pts[:, 0], "y": pts[:, 1]})
    g2 = adjacency(far, prune_factor=3.0)
    assert g2.connected and g2.pruned > 0 and g2.readded >= 1
    frame = g2.to_frame()
    between = ((frame["unit_a"] < 30) != (frame["unit_b"] < 30)).sum()
    assert between == 1


def test_delaunay_on_lat_lon_and_repeated_points():
    units = pd.DataFrame({"unit_id": ["a", "b", "c", "d", "e"], "lat": [30, 30, 31, 31, 31],
                          "lon": [110, 111, 110, 111, 111]})
    g = adjacency(units, prune_factor=None)
    assert g.connected
    assert set(map(tuple, g.to_frame().to_numpy())) >= {("a", "b"), ("a", "c")}


def test_given_edges_with_islands_are_reported():
    units = pd.DataFrame({"unit_id": list("abcd"), "x": [0, 1, 2, 3], "y": [0, 0, 0, 0], "potential": 1.0})
    with pytest.warns(UserWarning, match="2 disconnected parts"):
        g = adjacency(units, method="given", edges=pd.DataFrame({"a": ["a", "c"], "b": ["b", "d"]}))
    assert g.components == [["a", "b"], ["c", "d"]]
    with pytest.raises(InfeasibleError, match="3 disconnected parts"):
        with pytest.warns(UserWarning):
            g3 = adjacency(units, method="given", edges=[("a", "b")])
        design(units, 2, adjacency=g3, balance_on={"potential": 0.5})
    plan = design(units, 2, adjacency=g, balance_on={"potential": 0.0}, method="exact")
    assert plan.metrics["contiguous"].all()


# ---------------------------------------------------------------------------
# infeasible requests and bad input
# ---------------------------------------------------------------------------


def test_unit_larger_than_a_share_names_measure_and_smallest_tolerance():
    units = grid(3, measure=[10.0, 1, 1, 1, 1, 1, 1, 1, 1])
    with pytest.raises(InfeasibleError) as err:
        design(units, 3, balance_on={"potential": 0.05})
    msg = str(err.value)
    assert "potential" in msg and "'u00'" in msg
    # mean share 6, the unit has 10: 66.7% above the mean.
    assert err.value.feasible["potential"] == pytest.approx(0.667, abs=1e-3)
    assert "66.7%" in msg


def test_fewer_units_with_a_measure_than_territories():
    units = grid(3, measure=[1.0, 1.0, 0, 0, 0, 0, 0, 0, 0])
    with pytest.raises(InfeasibleError, match="only 2 units have any potential"):
        design(units, 3, balance_on={"potential": 0.5})


def test_solver_proves_infeasible():
    # Three exactly equal shares of 2 need {a}, {d} and {b, c}: fine on the chain
    # a-b-c-d, impossible on the chain a-b-d-c where b and c do not touch.
    units = pd.DataFrame({"unit_id": list("abcd"), "x": [0, 1, 2, 3], "y": [0] * 4, "potential": [2.0, 1.0, 1.0, 2.0]})
    chain = adjacency(units, method="given", edges=[("a", "b"), ("b", "c"), ("c", "d")])
    ok = design(units, 3, adjacency=chain, balance_on={"potential": 0.0}, method="exact")
    assert sorted(ok.metrics["units"]) == [1, 1, 2]
    # the cycle a-b-d-c-a has no unit that cuts it: only the solver can show it
    cycle = adjacency(units, method="given", edges=[("a", "b"), ("b", "d"), ("d", "c"), ("c", "a")])
    with pytest.raises(InfeasibleError, match="solver proved"):
        design(units, 3, adjacency=cycle, balance_on={"potential": 0.0}, method="exact")


def test_a_piece_that_hangs_on_one_unit_is_refused_before_any_search():
    # On the chain a-b-d-c, c reaches the rest only through d: c (half a territory) can neither
    # be a territory of its own nor join d's (d alone is a whole territory) at tolerance 0.
    units = pd.DataFrame({"unit_id": list("abcd"), "x": [0, 1, 2, 3], "y": [0] * 4, "potential": [2.0, 1.0, 1.0, 2.0]})
    other = adjacency(units, method="given", edges=[("a", "b"), ("b", "d"), ("d", "c")])
    for method in ("exact", "heuristic"):
        with pytest.raises(InfeasibleError, match=r"through unit 'd'.*potential ±50\.0%") as caught:
            design(units, 3, adjacency=other, balance_on={"potential": 0.0}, method=method)
        assert caught.value.feasible == {"potential": 0.5}
    # at ±50% the same piece fits (c joins d's territory: 3 of a mean of 2, +50%)
    design(units, 3, adjacency=other, balance_on={"potential": 0.5}, method="exact")


def test_cut_pieces_finds_the_pieces_hanging_on_one_unit():
    from salesmodel.domain.territory._graph import cut_pieces

    # a star centred on h (three leaves) joined to a triangle x-y-z: h and x cut the graph
    units = pd.DataFrame({"unit_id": list("hlmnxyz"), "x": range(7), "y": [0] * 7})
    g = adjacency(units, method="given", edges=[("h", "l"), ("h", "m"), ("h", "n"), ("h", "x"), ("x", "y"), ("y", "z"), ("z", "x")])
    pieces = cut_pieces(g, np.arange(1.0, 8.0)[:, None])
    found = {(g.units[v], int(size), float(sums[0])) for v, _first, sums, size in pieces}
    # DFS from h (the root, left out): x cuts off y and z (6 + 7)
    assert ("x", 2, 13.0) in found
    assert all(v in ("h", "x") for v, _, _ in found)


@pytest.mark.parametrize(
    "mutate, k, kind, message",
    [
        (lambda u: pd.concat([u, u.iloc[[0]]]), 2, InputError, "duplicate unit_id values 'u00'"),
        (lambda u: u.assign(x=[np.nan] + [1.0] * 8), 2, InputError, "missing or non-numeric coordinates in column 'x' for unit_id 'u00'"),
        (lambda u: u.drop(columns=["x", "y"]), 2, InputError, "no coordinates; expected columns 'lat' and 'lon'"),
        (lambda u: u.assign(potential=[-1.0] + [1.0] * 8), 2, InputError, "column 'potential' has negative values for unit_id 'u00'"),
        (lambda u: u.drop(columns=["potential"]), 2, InputError, "no column 'potential' to balance on"),
        (lambda u: u, 10, ParamsError, "The 'k' parameter of design must be at most the number of units (9). Got 10 instead."),
        (lambda u: u, 0, ParamsError, "The 'k' parameter of design must be at least 1. Got 0 instead."),
        (lambda u: u, 2.5, ParamsError, "The 'k' parameter of design must be a whole number"),
    ],
)
def test_bad_input_is_a_clear_error(mutate, k, kind, message):
    units = mutate(grid(3))
    with pytest.raises(kind) as err:
        design(units, k, balance_on={"potential": 0.5})
    assert message in str(err.value)


def test_edge_to_unknown_unit():
    units = grid(2)
    with pytest.raises(InputError, match=r"edges: unit ids not among the units: 'zz'"):
        adjacency(units, method="given", edges=[("u00", "zz")])


def test_bad_parameters():
    """Each refusal names the argument and carries the value (read as data, not as wording)."""
    units = grid(3)
    for kwargs, param, value in [
        ({"balance_on": {"potential": 1.5}}, "balance_on", {"potential": 1.5}),
        ({"balance_on": {"potential": 0.5}, "method": "fast"}, "method", "fast"),
        ({"balance_on": {"potential": 0.5}, "max_disruption": 0.1}, "max_disruption", 0.1),  # no 'current' to measure against
        ({"balance_on": {"potential": 0.5}, "seeds": ["u00"]}, "seeds", ["u00"]),
    ]:
        with pytest.raises(ParamsError) as caught:
            design(units, 2, **kwargs)
        assert (caught.value.param, caught.value.func, caught.value.value) == (param, "design", value), kwargs
    other = adjacency(grid(2), method="given", edges=[("u00", "u10")])
    with pytest.raises(InputError, match="the graph was built for other units"):
        design(units, 2, balance_on={"potential": 0.5}, adjacency=other)


def test_evaluate_bad_assignment():
    units = grid(2)
    with pytest.raises(InputError, match="no territory for unit_id 'u11'"):
        evaluate(units, {"u00": "A", "u10": "A", "u01": "B"}, balance_on={"potential": 0.1})
    with pytest.raises(InputError, match="unit_id not among the units: 'zz'"):
        evaluate(units, {"u00": "A", "u10": "A", "u01": "B", "u11": "B", "zz": "B"}, balance_on={"potential": 0.1})


def test_evaluate_scores_todays_territories():
    units = grid(4)
    graph = grid_graph(units)
    today = pd.Series(np.where(units["x"] < 2, "west", np.where(units["y"] == 0, "south", "east")), index=units["unit_id"])
    plan = evaluate(units, today, adjacency=graph, balance_on={"potential": 0.1})
    assert isinstance(plan, TerritoryPlan)
    m = plan.metrics.set_index("territory")
    assert m.loc["west", "potential"] == 8 and m.loc["south", "potential"] == 2
    assert m.loc["west", "potential_dev"] == pytest.approx(8 / (16 / 3) - 1)
    assert not plan.feasible and plan.status == "evaluated"
    assert m["contiguous"].all()


def test_flow_and_cut_formulations_agree():
    from salesmodel.domain.territory._design import solve_exact
    from salesmodel.domain.territory._units import prepare_units

    measure = [3, 1, 1, 2, 1, 4, 1, 1, 2, 1, 1, 3, 1, 1, 2, 1]
    units = grid(4, measure=[float(v) for v in measure])
    graph = grid_graph(units)
    u = prepare_units(units, {"potential": 0.25}, func="test")
    results = {}
    for formulation in ("cuts", "flow"):
        res = solve_exact(u, 4, graph=graph, contiguous=True, current_codes=None, n_labels=0, disruption_measure=None,
                          max_disruption=None, time_limit=30, formulation=formulation)
        assert res["status_code"] == 0
        results[formulation] = res["milp_objective"]
    assert results["cuts"] == pytest.approx(results["flow"], rel=1e-9)
    assert results["cuts"] == pytest.approx(brute_force_optimum(units, 4, 0.25), rel=1e-9)


def test_cut_loop_separates_pieces_of_two_or_more():
    # Along the chain a-b-c-d-e-f-g-h, the two squares {a,b,e,f} and {c,d,g,h} are the
    # cheapest split but each is two pieces of two: only the separation cuts exclude them.
    units = pd.DataFrame({"unit_id": list("abcdefgh"), "x": [0, 1, 10, 11, 0, 1, 10, 11],
                          "y": [0, 0, 0, 0, 1, 1, 1, 1], "potential": 1.0})
    chain = adjacency(units, method="given", edges=list(zip("abcdefg", "bcdefgh")))
    loose = design(units, 2, adjacency=chain, balance_on={"potential": 0.0}, contiguous=False, method="exact")
    assert set(loose.assignment.groupby("territory")["unit_id"].apply(frozenset)) == {frozenset("abef"), frozenset("cdgh")}
    from salesmodel.domain.territory._design import solve_exact
    from salesmodel.domain.territory._units import prepare_units

    res = solve_exact(prepare_units(units, {"potential": 0.0}, func="test"), 2, graph=chain, contiguous=True,
                      current_codes=None, n_labels=0, disruption_measure=None, max_disruption=None, time_limit=30)
    assert res["rounds"] >= 2
    plan = design(units, 2, adjacency=chain, balance_on={"potential": 0.0}, method="exact")
    assert set(plan.assignment.groupby("territory")["unit_id"].apply(frozenset)) == {frozenset("abcd"), frozenset("efgh")}
    assert plan.status == "optimal" and plan.metrics["contiguous"].all()


def test_graph_built_on_another_row_order_is_carried_over():
    units = grid(3)
    graph = grid_graph(units)
    shuffled = units.sample(frac=1.0, random_state=0).reset_index(drop=True)
    a = design(units, 3, adjacency=graph, balance_on={"potential": 0.0}, method="exact")
    b = design(shuffled, 3, adjacency=graph, balance_on={"potential": 0.0}, method="exact")
    assert a.objective == pytest.approx(b.objective)
    assert b.metrics["contiguous"].all()


def test_knn_adjacency_adds_nearest_neighbours_to_the_triangulation():
    units = synthetic(200, seed=4)
    tri = adjacency(units, prune_factor=None)
    knn = adjacency(units, method="knn", neighbours=6, prune_factor=None)
    pairs = set(map(tuple, tri.edges.tolist()))
    assert pairs <= set(map(tuple, knn.edges.tolist()))
    assert len(knn.edges) > len(tri.edges) and knn.method == "knn" and knn.connected
    # Every unit is joined to its six nearest units.
    from scipy.spatial import cKDTree

    from salesmodel.domain.territory._units import prepare_units

    plane = prepare_units(units, None, func="test").plane
    _, idx = cKDTree(plane).query(plane, 7)
    neighbours = [set(nb.tolist()) for nb in knn.neighbours]
    assert all(set(idx[i, 1:]) <= neighbours[i] for i in range(len(units)))
    with pytest.raises(ParamsError, match="The 'neighbours' parameter of adjacency must be a whole number >= 1"):
        adjacency(units, method="knn", neighbours=0)
    with pytest.raises(ParamsError, match="must be 'delaunay', 'knn' or 'given'"):
        adjacency(units, method="voronoi")


@pytest.mark.parametrize("k", [4, 6])
def test_heuristic_with_disruption_limit_when_the_number_of_territories_changes(k):
    units = synthetic(300, seed=6)
    graph = adjacency(units)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = design(units, 5, adjacency=graph, method="heuristic", time_limit=20, seed=1,
                      balance_on={"potential": 0.2, "workload": 0.3})
        plan = design(units, k, adjacency=graph, current=base.assignment[["unit_id", "territory"]], max_disruption=0.6,
                      method="heuristic", time_limit=20, seed=1, balance_on={"potential": 0.2, "workload": 0.3})
    names = set(plan.metrics["territory"])
    assert len(names) == k and plan.metrics["contiguous"].all()
    old = set(base.metrics["territory"])
    if k < 5:
        assert names < old
    else:
        assert old < names
    assert plan.disruption["potential"] <= 0.6 + 1e-9 or not plan.feasible


# ---------------------------------------------------------------------------
# the disruption-balance frontier
# ---------------------------------------------------------------------------


def test_frontier_replays_keeps_each_limit_and_names_the_smallest_that_meets():
    from salesmodel.domain.territory import frontier, smallest_meeting

    units = synthetic(150, seed=4)
    graph = adjacency(units)
    # today's territories: five vertical stripes of very unequal potential
    share = units["lon"].rank(pct=True)
    current = pd.Series(np.searchsorted([0.1, 0.2, 0.3, 0.5], share.to_numpy()), index=units["unit_id"]).map(lambda i: f"R{i}")
    kw = dict(adjacency=graph, current=current, limits=[0.4, 0.0, 0.1], balance_on={"potential": 0.10},
              method="heuristic", seed=3, max_sweeps=6, anneal_steps=3_000)
    a, plans = frontier(units, 5, **kw)
    b, _ = frontier(units, 5, **kw)
    pd.testing.assert_frame_equal(a, b)  # counts end every search: the frontier replays
    assert a["max_disruption"].tolist() == [0.0, 0.1, 0.4]  # sorted
    # (the limit binds the search; repairing today's disconnected territories may move a little more)
    for limit, plan in plans.items():
        assert plan.max_disruption == limit
        assert a.loc[a["max_disruption"] == limit, "moved_share"].iloc[0] == pytest.approx(plan.disruption["potential"])
        assert a.loc[a["max_disruption"] == limit, "max_potential_dev"].iloc[0] == pytest.approx(
            plan.metrics["potential_dev"].abs().max())
    met = smallest_meeting(a)
    assert met == (a.loc[a["within_tolerance"], "max_disruption"].min() if a["within_tolerance"].any() else None)
    with pytest.raises(ParamsError, match="'limits'"):
        frontier(units, 5, current=current, limits=[1.5])


def test_frontier_points_come_from_the_unconstrained_plan_sent_back_to_each_limit():
    from salesmodel.domain.territory import design, frontier
    from salesmodel.domain.territory._frontier import _balance_key

    units = synthetic(150, seed=4)
    graph = adjacency(units)
    share = units["lon"].rank(pct=True)
    current = pd.Series(np.searchsorted([0.1, 0.2, 0.3, 0.5], share.to_numpy()), index=units["unit_id"]).map(lambda i: f"R{i}")
    common = dict(adjacency=graph, current=current, balance_on={"potential": 0.05}, method="heuristic", seed=3)
    free = design(units, 5, max_disruption=None, max_sweeps=50, **common)
    free_moved = free.disruption["potential"]
    assert free.feasible and free_moved > 0.3  # today's stripes are far off: balance needs many moves
    limits = [0.0, 0.1, 0.2, 0.3, round(free_moved + 0.05, 2)]
    points, plans = frontier(units, 5, limits=limits, unconstrained=free, max_sweeps=6, anneal_steps=3_000, **common)
    # a limit the unconstrained plan fits under takes it whole
    top = plans[limits[-1]]
    assert top.assignment["territory"].tolist() == free.assignment["territory"].tolist()
    assert bool(points["within_tolerance"].iloc[-1])
    # every other point moves no more than its limit (apart from repairing today's split territories)
    for limit in limits[1:-1]:
        assert plans[limit].disruption["potential"] <= limit + 1e-9
    # and each point is at least as balanced as the one before
    keys = [_balance_key(plans[x]) for x in limits]
    assert all(later[:2] <= earlier[:2] for earlier, later in zip(keys, keys[1:]))
    # the unconstrained plan as a start under a small limit: its moves are sent back to fit
    back = design(units, 5, max_disruption=0.1, max_sweeps=6, anneal_steps=3_000,
                  start=free.assignment[["unit_id", "territory"]], **common)
    assert back.disruption["potential"] <= 0.1 + 1e-9
    assert any("sent back" in note or "could not be sent back" in note for note in back.notes), back.notes


def test_consistency_the_auto_proposal_is_the_chosen_frontier_point():
    from salesmodel.schema import consistency

    frontier_table = pd.DataFrame({"max_disruption": [0.0, 1.0], "moved_share": [0.0, 0.3], "moved_units": [0, 9],
                                   "max_potential_dev": [0.5, 0.04], "within_tolerance": [False, True],
                                   "status": ["tolerance_not_met", "feasible"], "stopped_by": ["converged"] * 2,
                                   "chosen": [False, True]})
    summary = pd.DataFrame({"plan": ["today", "proposed"], "k": [2, 2], "method": ["evaluate", "heuristic"],
                            "status": ["evaluated", "feasible"], "stopped_by": ["evaluated", "converged"],
                            "max_potential_dev": [0.5, 0.04], "within_tolerance": [False, True],
                            "moved_units": [0, 9], "moved_share": [0.0, 0.3], "objective": [1.0, 1.0]})
    rules = lambda broken: [b for b in broken if b.rule == "one proposal"]  # noqa: E731
    assert not rules(consistency.check({"territory_frontier": frontier_table, "territory_summary": summary}))
    summary.loc[1, "max_potential_dev"] = 0.05
    assert rules(consistency.check({"territory_frontier": frontier_table, "territory_summary": summary}))
    fixed = frontier_table.assign(chosen=False)  # a fixed max_disruption: the rule does not apply
    assert not rules(consistency.check({"territory_frontier": fixed, "territory_summary": summary}))


def test_tree_construction_is_contiguous_balanced_and_replays():
    units = synthetic(300, seed=5)
    graph = adjacency(units, prune_factor=None)  # strict Delaunay
    kw = dict(adjacency=graph, balance_on={"potential": 0.10, "workload": 0.30}, method="heuristic", seed=4,
              construction="tree", anneal_steps=20_000)
    a = design(units, 6, **kw)
    b = design(units, 6, **kw)
    pd.testing.assert_frame_equal(a.assignment, b.assignment)
    assert any("spanning trees" in n for n in a.notes)
    assert a.metrics["contiguous"].all()
    assert a.feasible, a.metrics[["potential_dev", "workload_dev"]]
    with pytest.raises(ParamsError, match="'construction'"):
        design(units, 6, adjacency=graph, construction="bisect")


def test_the_frontier_is_the_same_on_a_slow_machine(monkeypatch):
    from salesmodel.domain.territory import _design, _heuristic, _search, frontier

    units = synthetic(150, seed=4)
    graph = adjacency(units)
    current = pd.Series([f"R{i % 5}" for i in range(150)], index=units["unit_id"])
    kw = dict(adjacency=graph, current=current, limits=[0.0, 0.1, 1.0], balance_on={"potential": 0.02, "workload": 0.10},
              method="heuristic", seed=3, max_sweeps=4, anneal_steps=5_000, time_limit=1e9)
    reference, plans = frontier(units, 5, **kw)
    monkeypatch.setattr(_heuristic, "time", _FastClock())  # a thousand times slower
    monkeypatch.setattr(_search, "time", _FastClock())
    monkeypatch.setattr(_design, "time", _FastClock())
    slow, slow_plans = frontier(units, 5, **kw)
    pd.testing.assert_frame_equal(slow, reference)
    assert (reference["stopped_by"] != "time_limit").all()
    for limit in plans:
        pd.testing.assert_frame_equal(slow_plans[limit].assignment, plans[limit].assignment)


def test_every_rep_of_today_keeps_a_territory_name_when_k_matches():
    from salesmodel.domain.territory import design

    units = synthetic(150, seed=4)
    graph = adjacency(units)
    share = units["lon"].rank(pct=True)
    current = pd.Series(np.searchsorted([0.1, 0.2, 0.3, 0.5], share.to_numpy()), index=units["unit_id"]).map(lambda i: f"R{i}")
    plan = design(units, 5, adjacency=graph, current=current, balance_on={"potential": 0.05}, method="heuristic", seed=3)
    # the balanced plan shares nothing with some stripe, yet no territory is left without today's rep
    assert sorted(plan.assignment["territory"].unique()) == ["R0", "R1", "R2", "R3", "R4"]


def test_map_colours_differ_between_neighbouring_territories():
    from salesmodel.report.page_base import _neighbour_colours

    rng = np.random.default_rng(0)
    points = rng.uniform(0, 10, size=(400, 2))
    territories = np.array([f"T{int(x // 2.5)}{int(y // 2.5)}" for x, y in points])  # a 4 x 4 grid of territories
    colour = _neighbour_colours(points, territories)
    for a in range(4):
        for b in range(4):
            for da, db in ((1, 0), (0, 1)):
                if a + da < 4 and b + db < 4:
                    assert colour[f"T{a}{b}"] != colour[f"T{a + da}{b + db}"]


def test_province_outlines_cover_every_province_of_the_shipped_table():
    from importlib import resources

    from salesmodel.report.page_base import _province_outlines

    provinces = pd.read_csv(resources.files("salesmodel") / "data" / "provinces.csv")
    outlines = _province_outlines()
    assert set(outlines) == set(provinces["province_id"])
    for pid, rings in outlines.items():
        ring = np.asarray(rings[0])
        lon, lat = provinces.set_index("province_id").loc[pid, ["lon", "lat"]]
        # the capital lies inside the province's bounding box
        assert ring[:, 0].min() - 0.5 <= lon <= ring[:, 0].max() + 0.5 and ring[:, 1].min() - 0.5 <= lat <= ring[:, 1].max() + 0.5
        assert len(ring) >= 10
