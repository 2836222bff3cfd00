"""Batches: grid expansion, a local pool, a Dask LocalCluster, and failures that do not stop the rest."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from salesmodel.errors import ParamsError
from salesmodel.run.batch import ScenarioSpec, _is_kernel_race, expand, run_batch, run_one


def _grid_file(path, data_dir, grid, **extra):
    raw = {"scenario": "sweep", "data": {"dir": str(data_dir)}, "notebooks": ["00_data_overview.ipynb"], "grid": grid,
           "territory": {"balance_on": {"potential": 0.5, "workload": 0.5}, "max_disruption": None,
                         "method": "heuristic"}, **extra}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_grid_expands_to_every_combination_with_validated_params(tmp_path, small_company_dir):
    pf = _grid_file(tmp_path / "grid.yaml", small_company_dir, {"targets.growth": [0.08, 0.12, 0.15], "targets.stretch": [1.0, 1.1]})
    specs = expand([pf], tmp_path / "scenarios")
    assert len(specs) == 6
    assert specs[0].name == "sweep__growth=0.08_stretch=1.0"
    resolved = yaml.safe_load(Path(specs[-1].params_file).read_text(encoding="utf-8"))
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


def _umask():
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_an_unknown_reference_scenario_lists_the_scenarios_before_anything_runs(tmp_path, small_company_dir):
    pf = _grid_file(tmp_path / "grid.yaml", small_company_dir, {"targets.growth": [0.1, 0.15]})
    with pytest.raises(ParamsError, match=r"one of the batch's scenarios: sweep__growth=0.1, sweep__growth=0.15\. "
                                          r"Got 'base' instead"):
        run_batch([pf], tmp_path / "out", workers=1, progress=False, reference="base")
    assert not list((tmp_path / "out").glob("runs/*")) and not list((tmp_path / "out").glob("batches/*"))


def test_a_batch_refused_for_bad_yaml_leaves_no_folder_behind(tmp_path):
    from salesmodel.errors import SalesmodelError

    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: x\n  bad: [\n", encoding="utf-8")
    with pytest.raises(SalesmodelError, match="not valid YAML"):
        run_batch([bad], tmp_path / "out", workers=1, progress=False)
    assert not (tmp_path / "out").exists()  # not even the empty out and batches folders it would have made
    kept = tmp_path / "existing" / "batches" / "earlier"
    kept.mkdir(parents=True)
    with pytest.raises(SalesmodelError):
        run_batch([bad], tmp_path / "existing", workers=1, progress=False)
    assert [p.name for p in (tmp_path / "existing" / "batches").iterdir()] == ["earlier"]  # folders it did not make stay


def test_readable_comparison_shows_values_and_differences_from_the_reference():
    from salesmodel.report.comparison import readable_comparison, readable_params_diff

    cmp = pd.DataFrame({"scenario": ["a", "b"], "is_reference": [True, False], "total_target": [1e8, 1.1e8],
                        "total_target_vs_reference": [0.0, 1e7], "headcount_needed": [75.5, 75.4],
                        "headcount_needed_vs_reference": [0.0, -0.1], "probability_of_meeting": [0.5, 0.4],
                        "probability_of_meeting_vs_reference": [0.0, -0.1]})
    out = readable_comparison(cmp, language="en", money_unit="million")
    assert list(out.columns) == ["Figure", "a (reference)", "b", "b − reference"]
    assert out.iloc[0].tolist() == ["Plan total (million yuan)", "100.0", "110.0", "+10.0"]
    assert out.iloc[2, 1:].tolist() == ["76", "75", "0"]  # whole people, no "-0"
    assert out.iloc[1, 3] == "-10.0 percentage points"
    diff = readable_params_diff({"scenario": "a", "description": "x" * 120, "t": {"g": [1, 2]}},
                                {"scenario": "b", "description": "y", "t": {"g": [1, 3]}}, "a", "b")
    assert diff.to_dict("list") == {"Setting": ["Description", "t: g"], "a": ["x" * 120, "1, 2"], "b": ["y", "1, 3"]}
    diff = readable_params_diff({"scenario": "a", "description": {"en": "Base", "zh": "基准"}, "territory": {"max_disruption": 0.15}},
                                {"scenario": "b", "description": "Mine", "territory": {"max_disruption": 0.2}}, "a", "b",
                                language="zh")
    assert diff.to_dict("list") == {"参数": ["说明", "最多调整的潜力占比"], "a": ["基准", "15%"], "b": ["Mine", "20%"]}


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
    grid = _grid_file(tmp_path / "grid.yaml", small_company_dir, {"targets.growth": [0.1, 0.15]})
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"scenario": "broken-data", "data": {"dir": str(tmp_path / "no-such-folder")},
                                   "notebooks": ["00_data_overview.ipynb"]}), encoding="utf-8")
    result = run_batch([grid, bad], tmp_path / "out", workers=2, progress=False, reference="sweep__growth=0.15")
    status = {o.name: o.status for o in result.outcomes}
    assert status == {"sweep__growth=0.1": "ok", "sweep__growth=0.15": "ok", "broken-data": "failed"}
    failed = result.failed[0]
    assert failed.error_kind == "InputError" and "no-such-folder" in failed.error
    manifest = json.loads((result.batch_dir / "batch_manifest.json").read_text())
    assert [s["status"] for s in manifest["scenarios"]] == ["ok", "ok", "failed"]
    assert all(len(s["params_hash"]) == 64 for s in manifest["scenarios"])
    for o in result.outcomes:
        if o.status == "ok":
            assert (o.run_dir and json.loads(Path(o.run_dir, "manifest.json").read_text())["scenario"] == o.name)
    comparison = pd.read_parquet(result.batch_dir / "comparison.parquet")
    assert comparison["scenario"].tolist() == ["sweep__growth=0.1", "sweep__growth=0.15"]
    # one plan, one set of numbers: every run of the batch is consistent, and the comparison
    # shows exactly the figures of each run's tables
    from salesmodel.pipeline.key_figures import KeyFigures
    from salesmodel.schema import consistency

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
    # against the reference scenario named (the second): values and differences, by region and by month
    assert result.reference == manifest["reference"] == "sweep__growth=0.15"
    assert comparison["is_reference"].tolist() == [False, True]
    assert comparison["total_target_vs_reference"].tolist() == [
        comparison["total_target"].iloc[0] - comparison["total_target"].iloc[1], 0.0]
    runs = {o.name: Path(o.run_dir) for o in result.outcomes if o.status == "ok"}
    for by, table, key in (("region", "targets_region", "region_id"), ("month", "plan_company_month", "period")):
        cmp = pd.read_parquet(result.batch_dir / f"comparison_{by}.parquet")
        ref = pd.read_parquet(runs["sweep__growth=0.15"] / "tables" / f"{table}.parquet").set_index(key)["target"]
        for name, run in runs.items():
            own = pd.read_parquet(run / "tables" / f"{table}.parquet").set_index(key)["target"]
            rows = cmp[cmp["scenario"] == name].set_index(key)
            assert rows["target"].to_dict() == own.to_dict()  # read from the run's table, not recomputed
            assert (rows["difference"] == own - ref).all()
        low = cmp[cmp["scenario"] == "sweep__growth=0.1"]
        assert low["difference"].sum() == comparison["total_target_vs_reference"].iloc[0]
        assert len(low) == (12 if by == "month" else len(ref)) and (low["difference"] < 0).any()
    for f in result.batch_dir.glob("comparison*"):
        assert f.stat().st_mode & 0o777 == 0o644 & ~_umask(), f  # as readable as the rest of the run
    html = (result.batch_dir / "html" / "06_scenario_comparison.html").read_text(encoding="utf-8")
    from textcheck import check_page, visible_text

    assert "Growth" in visible_text(html)  # the params diff between the two scenarios, in words
    assert "sweep: growth 10% − reference" in html and "Target by region" in html and "Target by month" in html
    assert not any("sweep__" in line for line in visible_text(html))  # scenarios by their settings in words
    assert check_page(result.batch_dir / "html" / "06_scenario_comparison.html") == []
    assert "East" in html and "Dec 2027" in html  # region names and months as readers know them


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
