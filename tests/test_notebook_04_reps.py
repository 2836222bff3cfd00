"""Notebook 04 with territories around reps (method 'reps', the default): today and the proposal
side by side, travel, the hand-over list; keep_whole province; replay; bad input refused."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import compute_step, execute_notebook, write_params

from salesmodel.errors import InputError
from salesmodel.schema import tables as declared

TERRITORY = {"method": "reps", "balance_on": {"potential": 0.25, "workload": 0.30}, "max_disruption": 0.15,
             "max_distance_km": 900, "keep_whole": "province", "locked_tiers": ["VIP"]}
NEW_TABLES = ("territory_travel", "territory_comparison", "territory_handover", "territory_beyond_limit")


@pytest.fixture(scope="module")
def reps_run(tmp_path_factory, small_company_dir):
    tmp = tmp_path_factory.mktemp("nb04reps")
    params = write_params(tmp / "params.yaml", small_company_dir, territory=TERRITORY, report={"language": "zh"})
    run_dir = tmp / "run"
    execute_notebook("04_territories.ipynb", params, run_dir)
    return run_dir


def _table(run_dir, name):
    return pd.read_parquet(run_dir / "tables" / f"{name}.parquet")


def test_tables_declared_and_the_proposal_keeps_its_limits(reps_run, small_company):
    for name in (*NEW_TABLES, "territory_assignment", "territory_frontier", "territory_summary", "territory_metrics"):
        declared.check(name, _table(reps_run, name))
    assignment = _table(reps_run, "territory_assignment")
    reps = small_company["reps"].set_index("rep_id")
    customers = small_company["customers"].set_index("customer_id")
    # every territory is an active rep's or (organisation 'planned', the default) a planned hire's; no account
    # proposed beyond the limit unless it was there today
    hires = _table(reps_run, "staffing_hires").set_index("hire_id")
    assert set(assignment["territory"]) <= set(reps.index[reps["leave_date"].isna()]) | set(hires.index)
    moved = assignment[assignment["moved"]]
    assert (moved["distance_to_centre"] <= TERRITORY["max_distance_km"] + 1e-9).all()
    # keep_whole province: nobody is served from another province (a hire's province is its base city's)
    prov = assignment["customer_id"].map(customers["province_id"])
    holder_province = pd.concat([reps["province_id"], hires["province_id"]])
    assert (assignment["territory"].map(holder_province) == prov).all()
    # locked tier stays
    vip = assignment["customer_id"].map(customers["tier"]).eq("VIP")
    assert (assignment.loc[vip, "territory"] == assignment.loc[vip, "current"]).all()
    comp = _table(reps_run, "territory_comparison").set_index("measure")
    assert comp.loc["cross_province", "proposed"] == 0
    assert comp.loc["accounts_moved", "proposed"] == len(moved)
    assert comp.loc["potential_moved", "proposed"] <= 0.15 + 1e-9
    assert comp.loc["median_km", "proposed"] <= comp.loc["median_km", "today"] + 1e-9
    assert comp.loc["p95_km", "proposed"] <= comp.loc["p95_km", "today"] + 1e-9


def test_handover_lists_each_move_both_ways_by_money(reps_run):
    hand = _table(reps_run, "territory_handover")
    moves = _table(reps_run, "territory_moves")
    assert len(hand) == 2 * len(moves)
    gained = hand[hand["direction"] == "gained"].set_index("customer_id")
    assert set(gained.index) == set(moves["customer_id"])
    assert (gained["rep_id"] == gained["to_rep"]).all()
    assert hand["last_year_sales"].is_monotonic_decreasing


def test_page_shows_the_comparison_and_the_handover_in_words(reps_run):
    import nbformat

    nb = nbformat.read(reps_run / "04_territories.ipynb", as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert "路程:客户到负责人驻地距离的中位数(公里)" in html  # the comparison, in the reader's language
    assert "交接清单" in html
    assert "Objective" not in html and "objective" not in html


def test_same_params_same_tables(tmp_path, small_company_dir):
    params = write_params(tmp_path / "params.yaml", small_company_dir, territory=TERRITORY)
    compute_step("territory", params, tmp_path / "a")
    compute_step("territory", params, tmp_path / "b")
    for name in (*NEW_TABLES, "territory_assignment", "territory_frontier"):
        pd.testing.assert_frame_equal(_table(tmp_path / "a", name), _table(tmp_path / "b", name))


def test_rep_without_base_refused_naming_the_rep(tmp_path, small_company_dir):
    data = tmp_path / "data"
    shutil.copytree(small_company_dir, data)
    reps = pd.read_csv(data / "reps.csv")
    reps.loc[reps["rep_id"] == "R003", "base_lat"] = np.nan
    reps.to_csv(data / "reps.csv", index=False)
    params = write_params(tmp_path / "params.yaml", data, territory=TERRITORY)
    with pytest.raises(InputError, match="R003"):
        compute_step("territory", params, tmp_path / "run")


def test_validate_refuses_a_lock_on_a_departed_rep_before_any_search(tmp_path, small_company_dir, capsys):
    from salesmodel.cli import main

    data = tmp_path / "data"
    shutil.copytree(small_company_dir, data)
    reps = pd.read_csv(data / "reps.csv")
    gone = reps.loc[reps["leave_date"].notna(), "rep_id"].iloc[0]
    customer = pd.read_csv(data / "customers.csv")["customer_id"].iloc[0]
    pd.DataFrame({"customer_id": [customer], "rep_id": [gone]}).to_csv(data / "key_accounts.csv", index=False)
    params = write_params(tmp_path / "params.yaml", data, territory=TERRITORY,
                          data={"dir": str(data), "territory_locks": "key_accounts.csv"})
    assert main(["validate", str(params)]) == 2
    err = capsys.readouterr().err
    assert customer in err and gone in err and "has left" in err


def test_explorer_opens_on_the_run_s_territories_and_re_runs_the_rep_design(tmp_path, small_company_dir):
    from salesmodel.run.workspace import Workspace
    from salesmodel.schema.params import load_params
    from salesmodel.widgets import TerritoryExplorer

    params = write_params(tmp_path / "params.yaml", small_company_dir, territory=TERRITORY)
    ws = Workspace(load_params(params), tmp_path / "run", params, lab=True)
    ex = TerritoryExplorer.from_workspace(ws)
    assert ex.level == "customer" and ex.k.disabled
    run = ws.step("territory").tables["territory_assignment"].set_index("customer_id")["territory"]
    shown = ex.result.assignment.set_index("unit_id")["territory"].astype(str)
    assert shown.reindex(run.index).tolist() == run.tolist()
    assert "Travel: median km" in ex.summary.value  # the same travel measures as the page
    ex.limit_disruption.value = True
    ex.disruption.value = 0.0
    assert ex.result.disruption["potential"] == 0.0  # nothing moves at a 0% limit
    ex.disruption.value = 0.3
    assert set(ex.result.assignment["territory"]) <= set(ex.reps["bases"]["rep_id"])  # reps and planned hires
    assert ex.k.value == len(ex.reps["bases"]) == len(ex.result.metrics)  # a hire with no account still counts


def test_auto_takes_the_frontier_knee_and_the_proposal_is_that_point(tmp_path, small_company_dir):
    from salesmodel.pipeline.territory import knee
    from salesmodel.schema import consistency

    params = write_params(tmp_path / "params.yaml", small_company_dir, territory={**TERRITORY, "max_disruption": "auto"})
    step = compute_step("territory", params, tmp_path / "run")
    points = step.tables["territory_frontier"]
    assert points["chosen"].sum() == 1
    chosen = float(points.loc[points["chosen"], "max_disruption"].iloc[0])
    assert chosen == knee(points, list(TERRITORY["balance_on"]), 0.003)
    assert not [b for b in consistency.check(step.tables) if b.rule == "one proposal"]
