"""Workspace: what a notebook sees of its run, and the interactive workspace of a scenario."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import write_params

from salesmodel.errors import InputError
from salesmodel.run.workspace import Workspace, open_run
from salesmodel.schema.tables import TableError

REGION_TARGETS = pd.DataFrame({"region_id": ["E", "N"], "last_year": [1.0, 2.0], "potential": [1.0, 2.0],
                               "forecast": [1.0, 2.0], "parent_target": [3.0, 3.0], "blended_share": [0.5, 0.5],
                               "target_before_bounds": [1.5, 1.5], "bound_applied": ["none", "none"],
                               "rounding_adjustment": [0.0, 0.0], "target": [1.5, 1.5], "share": [0.5, 0.5],
                               "growth": [0.5, -0.25]})


def test_save_then_table_round_trips_in_the_run(tmp_path, small_company_dir):
    params = write_params(tmp_path / "p.yaml", small_company_dir, report={"language": "es"})
    ws = open_run(params, tmp_path / "run")
    paths = ws.save("targets_region", REGION_TARGETS)
    assert sorted(p.name for p in paths) == ["targets_region.csv", "targets_region.parquet"]
    assert all(p.parent == tmp_path / "run" / "tables" for p in paths)
    assert ws.has_table("targets_region") and not ws.has_table("pacing")
    pd.testing.assert_frame_equal(ws.table("targets_region"), REGION_TARGETS)
    assert ws.language == "es"
    assert ws.params.scenario == "test"


def test_save_refuses_undeclared_tables_and_missing_columns(tmp_path, small_company_dir):
    ws = open_run(write_params(tmp_path / "p.yaml", small_company_dir), tmp_path / "run")
    with pytest.raises(TableError, match="'scratchpad' is not declared"):
        ws.save("scratchpad", pd.DataFrame({"x": [1]}))
    with pytest.raises(TableError, match="'targets_region' lacks the declared column.*target"):
        ws.save("targets_region", REGION_TARGETS.drop(columns=["target"]))
    with pytest.raises(TableError, match="'targets_region' has column 'target_deviation'"):
        ws.save("targets_region", REGION_TARGETS.assign(target_deviation=0.0))
    with pytest.raises(TableError, match="column 'target': expected number"):
        ws.save("targets_region", REGION_TARGETS.assign(target="lots"))
    assert not ws.has_table("scratchpad") and not ws.has_table("targets_region")


def test_missing_table_says_which_tables_exist(tmp_path, small_company_dir):
    ws = open_run(write_params(tmp_path / "p.yaml", small_company_dir), tmp_path / "run")
    ws.save("targets_region", REGION_TARGETS)
    with pytest.raises(InputError, match=r"'targets_rep' has not been written.*targets_region"):
        ws.table("targets_rep")


def test_a_run_folder_without_a_step_says_so(tmp_path, small_company_dir):
    ws = open_run(write_params(tmp_path / "p.yaml", small_company_dir), tmp_path / "run")
    with pytest.raises(InputError, match="no tables of step 'staffing'"):
        ws.step("staffing")


def test_inputs_are_read_once_and_validated(tmp_path, small_company_dir):
    ws = open_run(write_params(tmp_path / "p.yaml", small_company_dir), tmp_path / "run")
    first = ws.inputs()
    assert set(first) == {"sales", "customers", "reps", "org", "provinces", "adjacency"}
    assert ws.inputs() is first


def test_empty_run_dir_opens_the_scenarios_workspace_and_computes_on_demand(tmp_path, small_company_dir, monkeypatch):
    monkeypatch.setenv("SALESMODEL_WORKSPACE", str(tmp_path / "lab"))
    params = write_params(tmp_path / "p.yaml", small_company_dir, targets={"growth": 0.1})
    ws = open_run(params, "")
    assert ws.lab and ws.run_dir == tmp_path / "lab" / "test"
    step = ws.step("staffing")  # needs targets, which needs the forecast: computed on demand
    assert {"capacity_plan", "workload", "pay_cost"} <= set(step.tables)
    assert ws.has_table("baseline_forecast") and ws.has_table("plan_rep_month")
    again = open_run(params, "")  # a second notebook finds the same tables, computes nothing
    assert again.run_dir == ws.run_dir
    first = again.table("capacity_plan")
    pd.testing.assert_frame_equal(again.step("staffing").tables["capacity_plan"], first)
    # changed params: the step and those after it are made again, the forecast is kept
    stamp = (ws.run_dir / "tables" / "baseline_forecast.parquet").stat().st_mtime_ns
    changed = write_params(tmp_path / "p.yaml", small_company_dir, targets={"growth": 0.15})
    later = open_run(changed, "").step("staffing").tables["capacity_plan"]
    assert later["target"].sum() > first["target"].sum()
    assert (ws.run_dir / "tables" / "baseline_forecast.parquet").stat().st_mtime_ns == stamp


def test_a_run_folder_reads_its_own_copy_of_the_inputs(tmp_path, small_company_dir):
    from salesmodel.pipeline.run_folder import read_run_inputs, write_inputs

    ws = open_run(write_params(tmp_path / "p.yaml", small_company_dir), tmp_path / "run")
    write_inputs(ws.run_dir, ws.inputs())
    copy = Workspace(ws.params, ws.run_dir)
    kept = read_run_inputs(ws.run_dir)
    assert set(kept) == set(ws.inputs())
    pd.testing.assert_frame_equal(copy.input("reps"), ws.inputs()["reps"])


def test_lab_command_seeds_the_workspace_from_the_latest_run(tmp_path, small_company_dir, monkeypatch):
    """`salesmodel lab --no-start`: the scenario's workspace holds the latest run's tables, current for its params."""
    import shutil

    from salesmodel.cli import main
    from salesmodel.run.workspace import lab_folder, latest_run, seed_from_run
    from salesmodel.schema.params import load_params

    out = tmp_path / "out"
    params = write_params(tmp_path / "p.yaml", small_company_dir)
    run = out / "runs" / "20261130T000000Z-test-00000000"
    ws_run = Workspace(load_params(params), run, params, lab=True)
    ws_run.step("summary")  # a finished plan, as a run folder holds it
    (run / "manifest.json").write_text('{"scenario": "test"}')
    shutil.copy(params, run / "params.yaml")
    assert latest_run(out, "test") == run and latest_run(out, "other") is None
    monkeypatch.delenv("SALESMODEL_WORKSPACE", raising=False)
    assert main(["lab", str(params), "--out", str(out), "--no-start"]) == 0
    lab = out / "lab" / "test"
    assert (lab / "tables" / "targets_region.parquet").is_file()
    ws = Workspace(load_params(params), lab, params, lab=True)
    before = (lab / "tables" / "capacity_plan.parquet").stat().st_mtime_ns
    ws.step("staffing")  # current: read, not computed
    assert (lab / "tables" / "capacity_plan.parquet").stat().st_mtime_ns == before
    changed = Workspace(load_params(write_params(tmp_path / "q.yaml", small_company_dir, staffing={"attrition": 0.3})),
                        tmp_path / "lab2", params, lab=True)
    assert seed_from_run(changed, run) == ["overview", "forecast", "targets", "tracking"]  # staffing and after: again
    shutil.rmtree(run)
    assert lab_folder(load_params(params), params).name == "test"


def test_jupyterlab_is_installed_with_the_project():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "jupyterlab", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().split(".")[0] >= "4"
