"""Workspace: what a notebook sees of its run."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import write_params

from salesmodel.errors import InputError
from salesmodel.workspace import open_run


def test_save_then_table_round_trips_in_the_run(tmp_path, small_company_dir):
    params = write_params(tmp_path / "p.yaml", small_company_dir, report={"language": "es"})
    ws = open_run(params, tmp_path / "run")
    df = pd.DataFrame({"region_id": ["E", "N"], "amount": [1.25, 2.5]})
    paths = ws.save("targets_region", df)
    assert sorted(p.name for p in paths) == ["targets_region.csv", "targets_region.parquet"]
    assert all(p.parent == tmp_path / "run" / "tables" for p in paths)
    assert ws.has_table("targets_region") and not ws.has_table("pacing")
    pd.testing.assert_frame_equal(ws.table("targets_region"), df)
    assert ws.language == "es"
    assert ws.params.scenario == "test"


def test_missing_table_says_which_tables_exist(tmp_path, small_company_dir):
    ws = open_run(write_params(tmp_path / "p.yaml", small_company_dir), tmp_path / "run")
    ws.save("baseline_forecast", pd.DataFrame({"x": [1]}))
    with pytest.raises(InputError, match=r"'targets_rep' has not been written.*baseline_forecast"):
        ws.table("targets_rep")


def test_inputs_are_read_once_and_validated(tmp_path, small_company_dir):
    ws = open_run(write_params(tmp_path / "p.yaml", small_company_dir), tmp_path / "run")
    first = ws.inputs()
    assert set(first) == {"sales", "customers", "reps", "org", "provinces", "adjacency"}
    assert ws.inputs() is first


def test_empty_run_dir_is_a_scratch_folder(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ws = open_run(None, "")
    assert ws.run_dir.is_dir() and ws.run_dir.parent == tmp_path and "salesmodel-scratch-" in ws.run_dir.name
    assert ws.params.scenario == "default"
