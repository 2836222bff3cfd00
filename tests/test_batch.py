"""Batches: grid expansion, a local pool, a Dask LocalCluster, and failures that do not stop the rest."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from pathlib import Path

from salesmodel.batch import ScenarioSpec, _is_kernel_race, expand, run_batch, run_one
from salesmodel.errors import ParamsError


def _grid_file(path, data_dir, grid, **extra):
    raw = {"scenario": "sweep", "data": {"dir": str(data_dir)}, "notebooks": ["00_data_overview.ipynb"], "grid": grid,
           "territory": {"balance_on": {"potential": 0.5, "workload": 0.5}, "max_disruption": None}, **extra}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_grid_expands_to_every_combination_with_validated_params(tmp_path, small_company_dir):
    pf = _grid_file(tmp_path / "grid.yaml", small_company_dir, {"targets.growth": [0.08, 0.12, 0.15], "targets.stretch": [1.0, 1.1]})
    specs = expand([pf], tmp_path / "scenarios")
    assert len(specs) == 6
    assert specs[0].name == "sweep__growth=0.08_stretch=1.0"
    resolved = yaml.safe_load(open(specs[-1].params_file))
    assert resolved["targets"]["growth"] == 0.15 and resolved["targets"]["stretch"] == 1.1
    assert resolved["data"]["dir"] == str(small_company_dir)  # paths resolved from the grid file
    assert len({s.params_hash for s in specs}) == 6


def test_a_bad_grid_value_names_the_scenario(tmp_path, small_company_dir):
    pf = _grid_file(tmp_path / "grid.yaml", small_company_dir, {"targets.stretch": [1.0, 0.5]})
    with pytest.raises(ParamsError, match=r"(?s)scenario 'sweep__stretch=0.5'.*targets.stretch"):
        expand([pf], tmp_path / "scenarios")


def test_a_misspelt_grid_field_is_rejected(tmp_path, small_company_dir):
    pf = _grid_file(tmp_path / "grid.yaml", small_company_dir, {"targets.grwth": [0.1]})
    with pytest.raises(ParamsError, match="did you mean 'growth'"):
        expand([pf], tmp_path / "scenarios")


def test_kernel_races_are_recognised_and_other_errors_are_not():
    assert _is_kernel_race(RuntimeError("Kernel died before replying to kernel_info"))
    assert _is_kernel_race(OSError("ZMQError: Address already in use"))
    assert not _is_kernel_race(ValueError("column 'amount' not found"))


def test_run_one_never_raises(tmp_path):
    spec = ScenarioSpec(name="missing", params_file=str(tmp_path / "nope.yaml"), params_hash="0")
    outcome = run_one(spec, str(tmp_path))
    assert outcome.status == "failed" and "not found" in outcome.error and outcome.error_kind == "ParamsError"


@pytest.mark.slow
def test_batch_on_a_local_pool_finishes_despite_a_failing_scenario(tmp_path, small_company_dir):
    grid = _grid_file(tmp_path / "grid.yaml", small_company_dir, {"targets.growth": [0.1, 0.2]})
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"scenario": "broken-data", "data": {"dir": str(tmp_path / "no-such-folder")},
                                   "notebooks": ["00_data_overview.ipynb"]}), encoding="utf-8")
    result = run_batch([grid, bad], tmp_path / "out", workers=2, progress=False)
    status = {o.name: o.status for o in result.outcomes}
    assert status == {"sweep__growth=0.1": "ok", "sweep__growth=0.2": "ok", "broken-data": "failed"}
    failed = result.failed[0]
    assert failed.error_kind == "InputError" and "no-such-folder" in failed.error
    manifest = json.loads((result.batch_dir / "batch_manifest.json").read_text())
    assert [s["status"] for s in manifest["scenarios"]] == ["ok", "ok", "failed"]
    assert all(len(s["params_hash"]) == 64 for s in manifest["scenarios"])
    for o in result.outcomes:
        if o.status == "ok":
            assert (o.run_dir and json.loads(open(f"{o.run_dir}/manifest.json").read())["scenario"] == o.name)
    comparison = pd.read_parquet(result.batch_dir / "comparison.parquet")
    assert comparison["scenario"].tolist() == ["sweep__growth=0.1", "sweep__growth=0.2"]
    # one plan, one set of numbers: every run of the batch is consistent, and the comparison
    # shows exactly the figures of each run's tables
    from salesmodel import consistency
    from salesmodel.summary import KeyFigures

    for outcome, row in zip([o for o in result.outcomes if o.status == "ok"], comparison.itertuples(index=False)):
        tables = {p.stem: pd.read_parquet(p) for p in (Path(outcome.run_dir) / "tables").glob("*.parquet")}
        assert consistency.check(tables) == []
        figures = KeyFigures.from_table(tables["key_figures"])
        assert row.total_target == tables["targets_total"]["target"].iloc[0] == figures.total_target
        assert row.hires == tables["capacity_plan"]["hires_starting"].sum()
        pay = tables["pay_cost"].query("scenario == '100%'")
        assert row.cost_share == pytest.approx(pay["total_pay"].sum() / pay["target"].sum(), rel=1e-12)
        assert row.territory_max_deviation == figures.territory_max_deviation
    assert comparison["total_target"].iloc[1] > comparison["total_target"].iloc[0]
    html = (result.batch_dir / "html" / "06_scenario_comparison.html").read_text(encoding="utf-8")
    assert "targets.growth" in html  # the params diff between the two scenarios


@pytest.mark.slow
def test_batch_on_a_dask_local_cluster(tmp_path, small_company_dir):
    distributed = pytest.importorskip("distributed")
    pf = _grid_file(tmp_path / "grid.yaml", small_company_dir, {"seed": [1, 2]})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        result = run_batch([pf], tmp_path / "out", scheduler=client, progress=False)
    assert result.ok and len(result.outcomes) == 2
    manifest = json.loads((result.batch_dir / "batch_manifest.json").read_text())
    assert manifest["scheduler"] == "client"
