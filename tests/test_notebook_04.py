"""Notebook 04 (territories) runs through papermill on the small company and saves its tables."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import execute_notebook, write_params

TOLERANCES = {"potential": 0.25, "workload": 0.30}


@pytest.fixture(scope="module")
def territory_run(tmp_path_factory, small_company_dir):
    tmp = tmp_path_factory.mktemp("nb04")
    params = write_params(
        tmp / "params.yaml",
        small_company_dir,
        territory={"balance_on": TOLERANCES, "max_disruption": 0.5, "method": "heuristic", "time_limit": 15},
        report={"language": "zh"},
    )
    run_dir = tmp / "run"
    execute_notebook("04_territories.ipynb", params, run_dir)
    return run_dir


def _table(run_dir, name):
    return pd.read_parquet(run_dir / "tables" / f"{name}.parquet")


def _active(small_company):
    customers, reps = small_company["customers"], small_company["reps"]
    active_customers = customers[customers["churn_date"].isna()]
    active_reps = reps.loc[reps["leave_date"].isna(), "rep_id"]
    return active_customers, active_reps


def test_every_active_customer_assigned_once(territory_run, small_company):
    assignment = _table(territory_run, "territory_assignment")
    customers, reps = _active(small_company)
    assert assignment["customer_id"].is_unique
    assert set(assignment["customer_id"]) == set(customers["customer_id"])
    assert assignment["territory"].notna().all()
    # One territory per active rep, named after the rep it continues.
    assert assignment["territory"].nunique() == len(reps)
    assert set(assignment["territory"]) <= set(reps) | {f"T{i:02d}" for i in range(1, 100)}


def test_metrics_match_the_assignment(territory_run):
    assignment = _table(territory_run, "territory_assignment")
    metrics = _table(territory_run, "territory_metrics")
    metrics = metrics[metrics["plan"] == "proposed"]
    summary = _table(territory_run, "territory_summary").set_index("plan")
    totals = assignment.groupby("territory")[["potential", "workload"]].sum()
    m = metrics.set_index("territory")
    pd.testing.assert_series_equal(m.loc[totals.index, "potential"], totals["potential"], check_names=False)
    assert m["units"].sum() == len(assignment)
    assert summary.loc["proposed", "stopped_by"] != "time_limit"  # stopped on a count: it replays
    if summary.loc["proposed", "status"] != "tolerance_not_met":
        for measure, tol in TOLERANCES.items():
            assert (m[f"{measure}_dev"].abs() <= tol + 1e-9).all()
        assert m["contiguous"].all()


def test_moves_are_the_changed_accounts(territory_run):
    assignment = _table(territory_run, "territory_assignment")
    moves = _table(territory_run, "territory_moves")
    changed = assignment[assignment["current"].notna() & (assignment["current"] != assignment["territory"])]
    assert set(moves["customer_id"]) == set(changed["customer_id"])
    moved_share = changed["potential"].sum() / assignment.loc[assignment["current"].notna(), "potential"].sum()
    assert moved_share <= 0.5 + 1e-9
    assert (moves["from_territory"] != moves["to_territory"]).all()


def test_executed_notebook_shows_the_map_and_charts(territory_run):
    import nbformat

    nb = nbformat.read(territory_run / "04_territories.ipynb", as_version=4)
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    assert images >= 2
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


@pytest.fixture(scope="module")
def auto_run(tmp_path_factory, small_company_dir):
    tmp = tmp_path_factory.mktemp("nb04auto")
    params = write_params(
        tmp / "params.yaml",
        small_company_dir,
        territory={"balance_on": TOLERANCES, "max_disruption": "auto", "method": "heuristic", "time_limit": 15,
                   "frontier": [0.0, 0.2, 1.0]},
        report={"language": "es"},
    )
    run_dir = tmp / "run"
    execute_notebook("04_territories.ipynb", params, run_dir)
    return run_dir


def test_auto_picks_a_point_of_the_frontier_and_the_page_says_which(auto_run):
    from salesmodel.schema import tables as declared

    points = _table(auto_run, "territory_frontier")
    declared.check("territory_frontier", points)
    assert points["max_disruption"].tolist() == [0.0, 0.2, 1.0]
    assert points["chosen"].sum() == 1
    chosen = points[points["chosen"]].iloc[0]
    if points["within_tolerance"].any():  # the smallest limit that meets the tolerances
        assert chosen["max_disruption"] == points.loc[points["within_tolerance"], "max_disruption"].min()
    summary = _table(auto_run, "territory_summary").set_index("plan")
    for measure in TOLERANCES:  # the proposal is the chosen point
        assert summary.loc["proposed", f"max_{measure}_dev"] == pytest.approx(chosen[f"max_{measure}_dev"])
    assert bool(summary.loc["proposed", "within_tolerance"]) == bool(chosen["within_tolerance"])
    from salesmodel.schema import consistency

    tables = {p.stem: pd.read_parquet(p) for p in (auto_run / "tables").glob("*.parquet")}
    assert not [b.message for b in consistency.check(tables) if b.rule == "one proposal"]
    assert summary.loc["proposed", "moved_share"] == pytest.approx(chosen["moved_share"])  # potential moved, both
    import nbformat

    nb = nbformat.read(auto_run / "04_territories.ipynb", as_version=4)
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert "Límite de cambio de la propuesta" in html
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
