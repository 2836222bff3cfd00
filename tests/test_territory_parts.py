"""Territories designed region by region (issue 27): parts no move can cross are designed on their
own against the company's mean territory; the same plan one after the other, in a process pool or
in a thread pool; parts that share an account are joined."""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from salesmodel.domain.territory import (
    adjacency,
    base_distances,
    design_parts,
    drivable,
    rep_design,
    rep_design_in_parts,
    rep_frontier_in_parts,
)

BALANCE = {"potential": 0.05, "workload": 0.30}


@pytest.fixture(scope="module")
def company():
    """Four provinces in two regions (North: AA, BB; South: CC, DD), two or three reps in each; today
    the first rep of each province holds most accounts."""
    rng = np.random.default_rng(11)
    rows, reps = [], []
    centres = {"AA": (40.0, 110.0), "BB": (40.0, 112.6), "CC": (25.0, 110.0), "DD": (25.0, 112.6)}
    n_reps = {"AA": 2, "BB": 3, "CC": 2, "DD": 3}
    for p, (lat, lon) in centres.items():
        for j in range(n_reps[p]):
            reps.append({"rep_id": f"R{p}{j}", "province_id": p, "region_id": "N" if lat > 30 else "S",
                         "base_lat": lat + 0.3 * j, "base_lon": lon - 0.3 * j})
        for i in range(50):
            rep = f"R{p}0" if i < 38 else f"R{p}{1 + i % (n_reps[p] - 1)}"
            rows.append({"unit_id": f"{p}{i:03d}", "lat": lat + rng.normal(0, 0.5), "lon": lon + rng.normal(0, 0.5),
                         "potential": float(rng.integers(50, 500)), "workload": float(rng.integers(2, 20)),
                         "current": rep, "province_id": p, "city_en": f"{p}c{i % 2}"})
    return pd.DataFrame(rows), pd.DataFrame(reps).sort_values("rep_id").reset_index(drop=True)


def _kwargs(units):
    graph = drivable(adjacency(units[["unit_id", "lon", "lat"]]), units, 150.0, 1.3)
    return {"balance_on": BALANCE, "max_distance_km": 300, "keep_whole": "province", "max_disruption": 0.15,
            "graph": graph, "near_km": 150.0}


def test_one_part_is_the_plain_design(company):
    units, reps = company
    whole = rep_design(units, reps, **_kwargs(units))
    one = rep_design_in_parts(units, reps, base_part=None, **_kwargs(units))
    assert whole.assignment.tolist() == one.assignment.tolist() and whole.steps == one.steps > 0
    assert whole.moved_share == pytest.approx(one.moved_share)


def test_regions_designed_apart_against_the_company_mean(company):
    units, reps = company
    # without the contiguity graph: a region's own graph differs from the company's restricted to it
    # (and without the travel quantiles, which a region holds at the company's distances: next test)
    plain = {**{k: v for k, v in _kwargs(units).items() if k not in ("graph", "near_km")}, "hold_quantiles": None}
    res = rep_design_in_parts(units, reps, base_part=reps["region_id"].tolist(), **plain)
    mean = units[list(BALANCE)].to_numpy().sum(axis=0) / len(reps)
    for region in ("N", "S"):  # each region alone, measured against the company's mean territory
        b = reps[reps["region_id"] == region].reset_index(drop=True)
        rows = units["province_id"].isin(set(b["province_id"])).to_numpy()
        sub = units[rows].reset_index(drop=True)
        alone = rep_design(sub, b, mean=mean, **plain)
        assert alone.assignment.tolist() == res.assignment[rows].tolist()
        assert alone.moved_share["potential"] <= 0.15 + 1e-9  # the limit holds in each region
    assert res.moved_accounts == int(res.moved.sum()) > 0
    moved_pot = units.loc[res.moved, "potential"].sum() / units["potential"].sum()
    assert res.moved_share["potential"] == pytest.approx(moved_pot) and moved_pot <= 0.15 + 1e-9


def test_the_company_s_median_and_p95_travel_do_not_get_worse(company):
    units, reps = company
    res = rep_design_in_parts(units, reps, base_part=reps["region_id"].tolist(),
                              **{**_kwargs(units), "max_disruption": None})
    assert res.moved_accounts > 0
    dist = base_distances(units, reps, 1.3)
    rix = {r: i for i, r in enumerate(reps["rep_id"])}
    today = dist[np.arange(len(units)), [rix[r] for r in units["current"]]]
    for q in (0.5, 0.95):
        assert np.quantile(res.distance_km, q) <= np.quantile(today, q) + 1e-9


@pytest.mark.parametrize("pool", [ThreadPoolExecutor, ProcessPoolExecutor])
def test_the_same_plan_in_a_pool(company, pool):
    units, reps = company
    serial = rep_design_in_parts(units, reps, base_part=reps["region_id"].tolist(), **_kwargs(units))
    with pool(max_workers=2) as ex:
        pooled = rep_design_in_parts(units, reps, base_part=reps["region_id"].tolist(), runner=ex.map, **_kwargs(units))
    assert serial.assignment.tolist() == pooled.assignment.tolist()
    np.testing.assert_array_equal(serial.distance_km, pooled.distance_km)
    assert serial.steps == pooled.steps


def test_parts_that_share_an_account_are_joined(company):
    units, reps = company
    kinds = reps["region_id"].tolist()
    part, base_part = design_parts(units, reps, kinds, max_distance_km=300, keep_whole="province")
    assert set(part) == {"N", "S"} and base_part.tolist() == kinds
    # an account of AA locked to a southern rep ties the two regions together
    part, base_part = design_parts(units, reps, kinds, max_distance_km=300, keep_whole="province",
                                   locks={"AA000": "RCC0"})
    assert set(part) == {"N"} and set(base_part) == {"N"}
    # without keep_whole, reps within reach of each other's accounts make one part
    part, _ = design_parts(units, reps, kinds, max_distance_km=3000)
    assert set(part) == {"N"}


def test_the_territory_step_gives_the_same_tables_with_its_regions_in_processes(tmp_path, small_company_dir,
                                                                              monkeypatch):
    """The step's regions one after the other, and in a pool of processes (as for a company of 20,000
    accounts or more): the same territory tables."""
    from conftest import compute_step, write_params

    from salesmodel.pipeline import territory as step_module

    settings = {"method": "reps", "balance_on": {"potential": 0.25, "workload": 0.30}, "max_disruption": 0.15,
                "max_distance_km": 900, "keep_whole": "province", "locked_tiers": ["VIP"]}
    params = write_params(tmp_path / "params.yaml", small_company_dir, territory=settings)
    serial = compute_step("territory", params, tmp_path / "serial")
    monkeypatch.setattr(step_module, "PARALLEL_FROM", 0)
    pooled = compute_step("territory", params, tmp_path / "pooled")
    names = [n for n in serial.tables if n.startswith(("territory_", "targets_person"))]
    assert "territory_assignment" in names and "territory_frontier" in names
    for name in names:
        pd.testing.assert_frame_equal(serial.tables[name], pooled.tables[name])


def test_a_frontier_is_the_searches_of_each_limit_from_scratch(company):
    """Limits from small to none in one search per region (each resumed where the smaller limit first
    changed a choice): every point equal to a search from scratch, steps included; the regions are
    handed out once, the largest first."""
    units, reps = company
    parts = reps["region_id"].tolist()
    limits = [0.0, 0.02, 0.05, 0.15, 0.4, None]
    calls = []

    def counting(function, tasks):
        tasks = list(tasks)
        calls.append([len(t[0]) for t in tasks])
        return map(function, tasks)

    kw = {k: v for k, v in _kwargs(units).items() if k != "max_disruption"}
    together = rep_frontier_in_parts(units, reps, base_part=parts, limits=limits, runner=counting, **kw)
    assert len(calls) == 1 and len(calls[0]) == 2 and calls[0] == sorted(calls[0], reverse=True)
    bound = []
    for limit, found in zip(limits, together):
        fresh = rep_design_in_parts(units, reps, base_part=parts, max_disruption=limit, **kw)
        assert fresh.assignment.tolist() == found.assignment.tolist()
        assert (fresh.steps, fresh.limit_bound) == (found.steps, found.limit_bound)
        bound.append(fresh.limit_bound)
    assert bound[0] and not bound[-1] and len({f.moved_accounts for f in together}) > 2
    assert rep_design(units, reps, **{**_kwargs(units), "max_disruption": 0.0}).steps == 0
