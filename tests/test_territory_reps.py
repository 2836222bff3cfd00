"""Rep-centred territories (method 'reps'): distance limit, keep_whole, key-account locks,
disruption budget, travel held, determinism, bad input refused before any search."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from salesmodel.domain.territory import base_distances, check_rep_inputs, rep_design, travel_overall
from salesmodel.domain.territory._descent import cut_accounts
from salesmodel.domain.territory._descent import pieces as _pieces
from salesmodel.errors import InputError, ParamsError

BALANCE = {"potential": 0.05, "workload": 0.30}


@pytest.fixture(scope="module")
def company():
    """Three provinces side by side (about 250 km apart), two or three reps in each; today's
    assignment is lopsided: the first rep of each province holds most accounts."""
    rng = np.random.default_rng(7)
    rows, reps = [], []
    centres = {"AA": (30.0, 110.0), "BB": (30.0, 112.6), "CC": (30.0, 115.2)}
    cities = {"AA": ["a1", "a2"], "BB": ["b1", "b2", "b3"], "CC": ["c1"]}
    n_reps = {"AA": 2, "BB": 3, "CC": 2}
    for p, (lat, lon) in centres.items():
        for j in range(n_reps[p]):
            reps.append({"rep_id": f"R{p}{j}", "rep_name": f"rep {p}{j}", "province_id": p,
                         "base_lat": lat + 0.3 * j, "base_lon": lon - 0.3 * j})
        for i in range(60):
            rep = f"R{p}0" if i < 45 else f"R{p}{1 + i % (n_reps[p] - 1)}"
            rows.append({"unit_id": f"{p}{i:03d}", "lat": lat + rng.normal(0, 0.5), "lon": lon + rng.normal(0, 0.5),
                         "potential": float(rng.integers(50, 500)), "workload": float(rng.integers(2, 20)),
                         "current": rep, "province_id": p, "city_en": cities[p][i % len(cities[p])],
                         "tier": "VIP" if i % 10 == 0 else "other"})
    return pd.DataFrame(rows), pd.DataFrame(reps).sort_values("rep_id").reset_index(drop=True)


def _devs(units, labels):
    t = pd.DataFrame({"r": labels, "p": units["potential"], "w": units["workload"]}).groupby("r")[["p", "w"]].sum()
    return (t / t.mean() - 1).abs().max()


def test_moves_improve_balance_within_the_budget_and_the_distance_limit(company):
    units, reps = company
    res = rep_design(units, reps, balance_on=BALANCE, max_distance_km=300, max_disruption=0.15)
    before, after = _devs(units, units["current"]), _devs(units, res.assignment)
    assert after["p"] < before["p"] and after["w"] < before["w"]
    assert 0 < res.moved_accounts <= 0.15 * len(units) + 1e-9
    assert res.moved_share["potential"] <= 0.15 + 1e-9 and res.moved_share["units"] <= 0.15 + 1e-9
    dist = base_distances(units, reps, 1.3)
    rix = {r: i for i, r in enumerate(reps["rep_id"])}
    new = dist[np.arange(len(units)), [rix[r] for r in res.assignment]]
    moved = res.moved
    assert (new[moved] <= 300 + 1e-9).all()  # nobody is proposed to a rep based beyond the limit
    np.testing.assert_allclose(res.distance_km, new)


def test_accounts_already_beyond_the_limit_stay_and_are_listed(company):
    units, reps = company
    far = units.copy()
    far.loc[0, ["lat", "lon"]] = (36.0, 110.0)  # about 870 road km north of every base
    res = rep_design(far, reps, balance_on=BALANCE, max_distance_km=300, max_disruption=0.2)
    assert res.beyond == [far.loc[0, "unit_id"]]
    assert res.assignment[0] == far.loc[0, "current"]


def test_travel_median_and_p95_not_worse_than_today(company):
    units, reps = company
    dist = base_distances(units, reps, 1.3)
    rix = {r: i for i, r in enumerate(reps["rep_id"])}
    today = travel_overall(dist[np.arange(len(units)), [rix[r] for r in units["current"]]])
    res = rep_design(units, reps, balance_on=BALANCE, max_distance_km=400, max_disruption=None)
    new = travel_overall(res.distance_km)
    assert new["median_km"] <= today["median_km"] + 1e-9
    assert new["p95_km"] <= today["p95_km"] + 1e-9


def test_keep_whole_province_serves_no_account_from_another_province(company):
    units, reps = company
    res = rep_design(units, reps, balance_on=BALANCE, max_distance_km=600, keep_whole="province", max_disruption=None)
    prov = dict(zip(reps["rep_id"], reps["province_id"]))
    assert res.moved_accounts > 0
    assert all(prov[r] == p for r, p in zip(res.assignment, units["province_id"]))
    free = rep_design(units, reps, balance_on=BALANCE, max_distance_km=600, keep_whole="none", max_disruption=None,
                      hold_quantiles=None)
    assert any(prov[r] != p for r, p in zip(free.assignment, units["province_id"]))  # the limit does bind


def test_keep_whole_city_moves_a_rep_s_city_together(company):
    units, reps = company
    res = rep_design(units, reps, balance_on=BALANCE, max_distance_km=600, keep_whole="city", max_disruption=None,
                     hold_quantiles=None)
    assert res.moved_accounts > 0
    pieces = pd.DataFrame({"city": units["province_id"] + units["city_en"], "cur": units["current"],
                           "new": res.assignment})
    assert (pieces.groupby(["city", "cur"])["new"].nunique() == 1).all()


def test_locked_tiers_and_locks_file(company):
    units, reps = company
    vip = units["tier"].eq("VIP").to_numpy()
    target = units.loc[1, "unit_id"]
    res = rep_design(units, reps, balance_on=BALANCE, max_distance_km=600, max_disruption=None, hold_quantiles=None,
                     locked=vip, locks={target: "RAA1"})
    assert (res.assignment[vip] == units.loc[vip, "current"].to_numpy()).all()
    assert res.assignment[1] == "RAA1"
    with pytest.raises(InputError, match="RGONE.*not an active rep"):
        rep_design(units, reps, balance_on=BALANCE, max_distance_km=600, locks={target: "RGONE"})
    with pytest.raises(InputError, match=f"{target}.*RGONE.*has left"):
        check_rep_inputs(units, reps, max_distance_km=600, locks={target: "RGONE"}, departed={"RGONE"})
    with pytest.raises(InputError, match="unknown"):
        rep_design(units, reps, balance_on=BALANCE, max_distance_km=600, locks={"NOPE": "RAA1"})


def test_same_inputs_same_plan(company):
    units, reps = company
    a = rep_design(units, reps, balance_on=BALANCE, max_distance_km=300, max_disruption=0.1, keep_whole="city")
    b = rep_design(units, reps, balance_on=BALANCE, max_distance_km=300, max_disruption=0.1, keep_whole="city")
    assert a.assignment.tolist() == b.assignment.tolist() and a.steps == b.steps
    few = rep_design(units, reps, balance_on=BALANCE, max_distance_km=300, max_disruption=0.1, max_moves=2)
    assert few.steps == 2 and few.stopped_by == "max_moves"


def test_bad_input_refused_with_the_rows_named(company):
    units, reps = company
    no_base = reps.copy()
    no_base.loc[1, "base_lat"] = np.nan
    no_base.loc[2, "base_lon"] = 500.0
    with pytest.raises(InputError, match=r"RAA1.*RBB0|RBB0.*RAA1"):
        rep_design(units, no_base, balance_on=BALANCE, max_distance_km=300)
    orphan = units.copy()
    orphan.loc[5, "current"] = None
    orphan.loc[5, ["lat", "lon"]] = (31.5, 110.0)
    need = int(np.ceil(base_distances(orphan.loc[[5]], reps, 1.3).min()))
    with pytest.raises(InputError, match=rf"{orphan.loc[5, 'unit_id']}.*smallest limit that works is {need} km"):
        rep_design(orphan, reps, balance_on=BALANCE, max_distance_km=need - 1)
    assert rep_design(orphan, reps, balance_on=BALANCE, max_distance_km=need).assignment[5] is not None
    no_city = units.copy()
    no_city.loc[3, "city_en"] = None
    with pytest.raises(InputError, match=no_city.loc[3, "unit_id"]):
        rep_design(no_city, reps, balance_on=BALANCE, max_distance_km=300, keep_whole="city")


def test_unmet_tolerance_says_what_meeting_it_costs():
    from salesmodel.pipeline.requirements import _frontier_cost

    points = pd.DataFrame({"max_disruption": [0.0, 0.15, 1.0], "moved_share": [0.0, 0.12, 0.3],
                           "moved_units": [0, 40, 120], "max_potential_dev": [0.9, 0.4, 0.04]})
    assert "30.0% of potential (120 accounts)" in _frontier_cost(points, "potential", 0.05)
    assert "no point of the frontier meets it" in _frontier_cost(points, "potential", 0.01)
    assert _frontier_cost(None, "potential", 0.05) == ""


def test_auto_picks_the_knee_not_the_no_limit_point():
    from salesmodel.pipeline.territory import knee

    points = pd.DataFrame({"max_disruption": [0.0, 0.05, 0.10, 0.20, 1.0], "moved_share": [0.0, 0.05, 0.10, 0.20, 0.5],
                           "spread_potential": [0.60, 0.40, 0.30, 0.29, 0.25], "spread_workload": [0.5, 0.4, 0.3, 0.3, 0.28]})
    # 0 -> 5%: 3 points of spread per point moved; 5 -> 10%: 2; 10 -> 20%: 0.1 -> the knee is 10%
    assert knee(points, ["potential", "workload"], 0.003) == 0.10
    assert knee(points, ["potential", "workload"], 0.05) == 0.0
    assert knee(points, ["potential", "workload"], 1e-9) == 1.0


def test_neighbours_only_within_a_drive(company):
    from salesmodel.domain.territory import adjacency, drivable, great_circle_km

    units, _ = company
    graph = adjacency(units, method="knn", neighbours=8)
    short = drivable(graph, units, 60, road_factor=1.3)
    assert 0 < len(short.edges) < len(graph.edges)
    lat, lon = units["lat"].to_numpy(), units["lon"].to_numpy()
    e = short.edges
    assert (great_circle_km(lat[e[:, 0]], lon[e[:, 0]], lat[e[:, 1]], lon[e[:, 1]]) * 1.3 <= 60 + 1e-9).all()
    assert drivable(graph, units, None) is graph


def test_with_a_graph_no_move_starts_a_new_piece(company):
    from salesmodel.domain.territory import adjacency, drivable
    from salesmodel.domain.territory._plan import territory_parts

    units, reps = company
    graph = drivable(adjacency(units, method="knn", neighbours=8), units, 80)
    rix = {r: i for i, r in enumerate(reps["rep_id"])}
    res = rep_design(units, reps, balance_on=BALANCE, max_distance_km=600, max_disruption=None, hold_quantiles=None,
                     graph=graph, near_km=None)
    assert res.moved_accounts > 0
    labels = pd.Series(res.assignment, index=units["unit_id"])
    for i in np.flatnonzero(res.moved):  # every moved account touches an account of its new rep
        nbrs = graph.units[graph.neighbours[i]]
        assert (labels.loc[nbrs] == res.assignment[i]).any()
    today = territory_parts(graph, np.array([rix[r] for r in units["current"]]), len(rix))
    after = territory_parts(graph, np.array([rix[r] for r in res.assignment]), len(rix))
    assert (after <= np.maximum(today, 1)).all()  # no territory is left in more pieces than today


def test_consistency_handover_and_comparison_follow_the_assignment():
    from salesmodel.schema import consistency

    assignment = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "territory": ["R1", "R2", "R2"],
                               "centre": ["x"] * 3, "distance_to_centre": [1.0] * 3, "current": ["R1", "R1", "R2"],
                               "moved": [False, True, False], "potential": [1.0] * 3, "workload": [1.0] * 3})
    hand = pd.DataFrame({"rep_id": ["R2", "R1"], "rep_name": ["b", "a"], "direction": ["gained", "lost"],
                         "customer_id": ["C2", "C2"], "customer_name": ["c", "c"], "from_rep": ["R1", "R1"],
                         "to_rep": ["R2", "R2"], "last_year_sales": [5.0, 5.0], "potential": [1.0, 1.0],
                         "distance_km": [3.0, 3.0]})
    comp = pd.DataFrame({"measure": ["accounts_moved"], "unit": ["count"], "today": [0.0], "proposed": [1.0],
                         "change": [1.0], "verdict": ["cost"]})

    def broken(**tables):
        return [b for b in consistency.check(tables) if b.rule == "one proposal"]
    assert not broken(territory_assignment=assignment, territory_handover=hand, territory_comparison=comp)
    assert broken(territory_assignment=assignment, territory_handover=hand.assign(to_rep="R3"))
    assert broken(territory_assignment=assignment, territory_comparison=comp.assign(proposed=2.0))


def test_handover_sheet_prints_on_a_few_pages(tmp_path):
    """The workbook's hand-over sheet (one row per account that changes rep) rendered by LibreOffice."""
    import re
    import shutil
    import subprocess

    from openpyxl import load_workbook

    from salesmodel.report.workbook import build_workbook

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is missing")
    n = 250  # the demo's proposal moves about this many accounts
    gained = pd.DataFrame({"rep_id": [f"R{i % 40:03d}" for i in range(n)], "rep_name": [f"代表{i % 40}" for i in range(n)],
                           "direction": "gained", "customer_id": [f"C{i:05d}" for i in range(n)],
                           "customer_name": [f"某某商贸有限公司{i}" for i in range(n)],
                           "from_rep": [f"R{(i + 1) % 40:03d}" for i in range(n)],
                           "to_rep": [f"R{i % 40:03d}" for i in range(n)],
                           "last_year_sales": np.linspace(2e6, 1e4, n), "potential": np.linspace(4e6, 1e5, n),
                           "distance_km": np.linspace(5, 390, n)})
    hand = pd.concat([gained, gained.assign(direction="lost", rep_id=gained["from_rep"])], ignore_index=True)
    assignment = pd.DataFrame({"customer_id": gained["customer_id"], "territory": gained["to_rep"], "centre": "x",
                               "distance_to_centre": 1.0, "current": gained["from_rep"], "moved": True,
                               "potential": 1.0, "workload": 1.0})
    path = build_workbook({"territory_assignment": assignment, "territory_handover": hand}, tmp_path / "plan.xlsx",
                          language="zh", money_unit="wan")
    wb = load_workbook(path)
    assert "交接清单" in wb.sheetnames and "区域划分" not in wb.sheetnames  # replaces the raw territories sheet
    sheet = wb["交接清单"]
    assert sheet.max_row == n + 2  # each move once, and a total row
    for name in list(wb.sheetnames):
        if name != "交接清单":
            del wb[name]
    only = tmp_path / "handover.xlsx"
    wb.save(only)
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(only)], check=True, capture_output=True, timeout=240)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", (tmp_path / "handover.pdf").read_bytes()))
    print(f"hand-over list: {n} moves on {pages} PDF page(s)")
    assert 1 <= pages <= 6


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(2, 14), st.lists(st.tuples(st.integers(0, 13), st.integers(0, 13)), max_size=40),
       st.lists(st.booleans(), min_size=14, max_size=14))
def test_cut_accounts_are_those_whose_removal_leaves_more_pieces(n, pairs, member):
    """The contiguity check of a move (a one-account group): the cut vertices of the territory agree
    with counting its pieces with and without the account."""
    edges = np.array([(a, b) for a, b in pairs if a < n and b < n and a != b], dtype=np.int64).reshape(-1, 2)
    adj = sparse.csr_array((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    sym = (adj + adj.T).tocsr()
    neighbours = [sym.indices[sym.indptr[i]:sym.indptr[i + 1]].tolist() for i in range(n)]
    members = [i for i in range(n) if member[i]]
    cuts = set(cut_accounts(members, neighbours))
    for v in members:
        rest = np.array([m for m in members if m != v], dtype=np.int64)
        splits = len(rest) > 0 and _pieces(adj, rest) > _pieces(adj, np.array(members))
        assert (v in cuts) == splits, (v, members, edges.tolist())


def test_an_account_is_offered_only_to_its_nearest_reps(company):
    """With ``nearest_reps`` k an account goes only to one of its k nearest reps within the limit (ties to
    the first rep) or back to its rep today; k at least the reps within reach is no cap at all."""
    units, reps = company
    kw = dict(balance_on=BALANCE, max_distance_km=600, max_disruption=None)
    dist = base_distances(units, reps, 1.3)
    capped = rep_design(units, reps, nearest_reps=2, **kw)
    rix = {r: i for i, r in enumerate(reps["rep_id"])}
    assert capped.moved_accounts > 0
    for i in np.flatnonzero(capped.moved):
        allowed = np.flatnonzero(dist[i] <= 600 + 1e-9)
        nearest = allowed[np.lexsort((allowed, dist[i, allowed]))[:2]]
        assert rix[capped.assignment[i]] in nearest
    free = rep_design(units, reps, nearest_reps=None, **kw)
    wide = rep_design(units, reps, nearest_reps=len(reps), **kw)
    assert free.assignment.tolist() == wide.assignment.tolist() and free.steps == wide.steps
    assert capped.assignment.tolist() != free.assignment.tolist()  # the cap did bind here
    for bad in (0, 2.5, "3"):
        with pytest.raises(ParamsError, match="nearest_reps"):
            rep_design(units, reps, nearest_reps=bad, **kw)


def test_distances_in_small_blocks_give_the_same_plan(company, monkeypatch):
    """The distances are computed block by block (never every account against every rep): any block size
    gives every account once, with the full table's km, and the same plan."""
    from salesmodel.domain.territory import _descent, _reps, adjacency, drivable

    units, reps = company
    graph = drivable(adjacency(units, method="knn", neighbours=8), units, 150)
    runs = [dict(keep_whole="province"), dict(keep_whole="city", hold_quantiles=None), dict(graph=graph, near_km=60.0)]
    before = [rep_design(units, reps, balance_on=BALANCE, max_distance_km=400, max_disruption=0.2, **kw) for kw in runs]
    monkeypatch.setattr(_reps, "BLOCK_CELLS", 7)
    full = base_distances(units, reps, 1.3)
    seen = np.zeros(len(units), dtype=int)
    for at, cols, km in _reps.reach_blocks(units, reps, keep_whole="province"):
        seen[at] += 1
        assert km.size <= 7 * 2 and (units["province_id"].to_numpy()[at, None] == reps["province_id"].to_numpy()[cols]).all()
        np.testing.assert_array_equal(km, full[np.ix_(at, cols)])
    assert (seen == 1).all()
    # the search's pick looks at the best values first; looking at all of them at once chooses the same
    monkeypatch.setattr(_descent.Descent._pick, "__defaults__", (0,))
    after = [rep_design(units, reps, balance_on=BALANCE, max_distance_km=400, max_disruption=0.2, **kw) for kw in runs]
    for a, b in zip(before, after):
        assert a.assignment.tolist() == b.assignment.tolist() and a.steps == b.steps and a.steps > 0
        np.testing.assert_array_equal(a.distance_km, b.distance_km)
