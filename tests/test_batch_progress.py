"""Batch progress: scenarios done / failed / running with elapsed time, and what each running one is doing."""
from __future__ import annotations

import json
import re

import pytest
import yaml
from conftest import write_params

from salesmodel.pipeline import STEPS
from salesmodel.run import runner
from salesmodel.run.batch import PROGRESS, ScenarioOutcome, ScenarioSpec, _progress_writer, progress_lines, run_batch


def _spec(tmp_path, name: str) -> ScenarioSpec:
    return ScenarioSpec(name=name, params_file=str(tmp_path / "scenarios" / f"{name}.yaml"), params_hash="0")


def test_progress_lines_count_and_name_what_each_running_scenario_does(tmp_path):
    specs = [_spec(tmp_path, n) for n in ("a", "b", "c", "d", "e")]
    folder = tmp_path / PROGRESS
    folder.mkdir()
    _progress_writer(folder / "b.json", "b")("notebook:02_targets.ipynb")
    _progress_writer(folder / "c.json", "c")("step:territory")
    # a scenario that finished keeps its last record until the end: it counts as done, not running
    _progress_writer(folder / "a.json", "a")("finish")
    for name, record in (("b", (100.0, 130.0)), ("c", (110.0, 138.0))):
        data = json.loads((folder / f"{name}.json").read_text())
        data["started"], data["since"] = record
        (folder / f"{name}.json").write_text(json.dumps(data))
    outcomes = {"a": ScenarioOutcome("a", "", "", "ok", seconds=12.0),
                "e": ScenarioOutcome("e", "", "", "failed", error="boom")}
    lines, state = progress_lines(specs, outcomes, folder, 42.4, now=140.0)
    assert lines == [
        "1 done, 1 failed, 2 running, 1 waiting (42 s)",
        "  b: notebook 02_targets.ipynb for 10 s (40 s in all)",
        "  c: step territory for 2 s (30 s in all)",
    ]
    later, same = progress_lines(specs, outcomes, folder, 50.0, now=150.0)
    assert same == state and later[0].endswith("(50 s)")  # only the times moved
    _progress_writer(folder / "b.json", "b")("notebook:10_leadership_summary.ipynb")
    assert progress_lines(specs, outcomes, folder, 51.0)[1] != state
    zh, _ = progress_lines(specs, outcomes, folder, 42.0, language="zh", now=140.0)
    assert zh[0] == "完成 1,失败 1,运行中 2,等待 1(已用 42 秒)"


@pytest.mark.slow
def test_a_run_reports_each_step_and_notebook_as_it_starts(tmp_path, small_company_dir):
    params = write_params(tmp_path / "params.yaml", small_company_dir)
    seen: list[str] = []
    runner.run_scenario(params, tmp_path / "out", notebooks=["00_data_overview.ipynb", "02_targets.ipynb"],
                        progress=False, notebook_workers=1, on_progress=seen.append)
    steps = [f"step:{s}" for s in STEPS]
    # each notebook starts once the step it shows has written its tables, before the next step
    expected = ["start", steps[0], "notebook:00_data_overview.ipynb", *steps[1:3], "notebook:02_targets.ipynb",
                *steps[3:], "finish"]
    assert seen == expected


@pytest.mark.slow
def test_batch_prints_plain_progress_lines_with_the_current_notebook(tmp_path, small_company_dir, capfd):
    raw = yaml.safe_load(write_params(tmp_path / "base.yaml", small_company_dir).read_text())
    raw.update(scenario="sweep", notebooks=["00_data_overview.ipynb", "02_targets.ipynb"],
               grid={"targets.growth": [0.1, 0.15]})
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = run_batch([grid], tmp_path / "out", workers=2, progress=True)
    assert result.ok
    err = capfd.readouterr().err
    stamped = re.compile(r"^\[\s*\d+\.\d s\] ")
    counts = [line for line in err.splitlines() if stamped.match(line) and " done, " in line]
    assert counts, err
    assert re.search(r"\] 0 done, 0 failed, [0-2] running, [0-2] waiting \(\d+ s\)$", counts[0]), err
    assert any(" 0 done, 0 failed, 2 running, 0 waiting (" in line for line in counts), err
    assert re.search(r"\] 2 done, 0 failed, 0 running, 0 waiting \(\d+ s\)$", counts[-1]), err
    # a running scenario with its current notebook and its times
    assert re.search(r"^  sweep__growth=0\.[12]: notebook 0[02]_\w+\.ipynb for \d+ s \(\d+ s in all\)$", err, re.M), err
    assert re.search(r"^  sweep__growth=0\.[12]: step \w+ for \d+ s", err, re.M), err
    assert re.search(r"\] sweep__growth=0\.1: ok in \d+ s$", err, re.M), err
    assert not (result.batch_dir / PROGRESS).exists()  # the progress records go with the batch's end
    assert "running over TCP" not in err and "Traceback" not in err
    print(err)  # shown with -s: what a planner's log gets
