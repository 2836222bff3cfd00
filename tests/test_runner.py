"""Runner: a whole run folder appears atomically; failures keep only the failed notebook."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from conftest import write_params
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from salesmodel.errors import InputError, ParamsError, RunError
from salesmodel.run import notebooks, runner

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|<script[^>]*\bsrc=""", re.IGNORECASE)


def _notebook(path: Path, *cells: str) -> Path:
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# Test notebook"),
        new_code_cell('params_file = ""\nrun_dir = ""', metadata={"tags": ["parameters"]}),
        *[new_code_cell(c) for c in cells],
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _leftovers(out: Path) -> list[str]:
    runs = out / "runs"
    return sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, small_company_dir):
    base = tmp_path_factory.mktemp("runner")
    params = write_params(base / "params.yaml", small_company_dir, report={"language": "zh"})
    return run_scenario_module(params, base / "out")


def run_scenario_module(params, out):
    return runner.run_scenario(params, out, notebooks=["00_data_overview.ipynb"], progress=False)


def test_run_folder_layout(demo_run):
    rd = demo_run.run_dir
    assert rd.parent.name == "runs"
    assert re.fullmatch(r"\d{8}T\d{6}Z-test-[0-9a-f]{8}", rd.name)
    assert (rd / "params.yaml").is_file()
    assert (rd / "notebooks" / "00_data_overview.ipynb").is_file()
    assert demo_run.leadership_html == rd / "html" / "00_data_overview.html"
    assert demo_run.leadership_html.is_file()
    assert (rd / "tables" / "sales_by_month_region.parquet").is_file()
    assert (rd / "tables" / "sales_by_month_region.csv").is_file()
    assert demo_run.manifest == rd / "manifest.json"
    assert not [p for p in rd.parent.iterdir() if p.name.startswith(".building")]


def test_notebooks_receive_the_resolved_params_copy(demo_run):
    nb = nbformat.read(demo_run.run_dir / "notebooks" / "00_data_overview.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "params.yaml" in injected.source
    params = nb.metadata["papermill"]["parameters"]
    # the executed notebook names the finished folder, so it can be re-run from there
    assert Path(params["run_dir"]) == demo_run.run_dir
    assert Path(params["params_file"]) == demo_run.run_dir / "params.yaml"
    assert ".building" not in injected.source and str(demo_run.run_dir) in injected.source


def test_leadership_html_is_offline_with_embedded_charts_and_no_code(demo_run):
    html = demo_run.leadership_html.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not EXTERNAL.search(html)
    assert "http" not in html
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) >= 2
    assert "open_run(" not in html  # code cells hidden
    assert "大区" in html  # zh labels
    assert '<html lang="zh">' in html


def test_broken_notebook_leaves_no_run_folder_and_keeps_the_failed_notebook(tmp_path, small_params):
    broken = _notebook(tmp_path / "broken.ipynb", "x = 1", "ratio = 1 / 0")
    out = tmp_path / "out"
    with pytest.raises(RunError) as err:
        runner.run_scenario(small_params, out, notebooks=[broken], progress=False)
    exc = err.value
    assert exc.notebook == "broken.ipynb"
    assert exc.ename == "ZeroDivisionError"
    assert "division by zero" in exc.evalue
    assert exc.cell_index is not None
    assert "broken.ipynb" in str(exc) and "ZeroDivisionError" in str(exc) and "cell" in str(exc)
    assert _leftovers(out) == []  # not even a .building folder
    kept = Path(exc.kept_at)
    assert kept.parent.parent == out / "failed" and kept.name == "broken.ipynb"
    nb = nbformat.read(kept, as_version=4)
    assert any("papermill-error-cell-tag" in c.metadata.get("tags", []) for c in nb.cells)  # papermill's banner
    record = json.loads((kept.parent / "run.json").read_text())
    assert record["error"]["ename"] == "ZeroDivisionError" and record["duration_s"] >= 0
    assert exc.exit_code == 1


def test_second_notebook_failing_removes_the_first_ones_outputs(tmp_path, small_params):
    good = _notebook(tmp_path / "a_good.ipynb", "import pandas as pd\nfrom salesmodel.run.workspace import open_run\n"
                     "ws = open_run(params_file, run_dir)\n"
                     "ws.save('risks', pd.DataFrame({'kind': ['none'], 'unit_id': [''], 'value': [0.0], 'probability': [0.0],"
                     " 'money': [0.0], 'asked': [0.0], 'detail': ['']}))")
    bad = _notebook(tmp_path / "b_bad.ipynb", "raise KeyError('region')")
    out = tmp_path / "out"
    with pytest.raises(RunError, match="b_bad.ipynb"):
        runner.run_scenario(small_params, out, notebooks=[good, bad], progress=False)
    assert _leftovers(out) == []
    assert sorted(p.name for p in (out / "failed").iterdir() for p in p.iterdir()) == ["b_bad.ipynb", "run.json"]


def test_salesmodel_input_error_inside_a_notebook_exits_2(tmp_path, small_params):
    nb = _notebook(tmp_path / "refuse.ipynb", "from salesmodel.errors import InfeasibleError\n"
                   "raise InfeasibleError('total 9 is above the most the reps can sell (5)')")
    with pytest.raises(RunError) as err:
        runner.run_scenario(small_params, tmp_path / "out", notebooks=[nb], progress=False)
    assert err.value.ename == "InfeasibleError"
    assert err.value.exit_code == 2


def test_bad_input_fails_before_anything_runs(tmp_path, small_company_dir):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(small_company_dir, data)
    lines = (data / "reps.csv").read_text(encoding="utf-8").splitlines()
    (data / "reps.csv").write_text("\n".join([lines[0].replace("rep_id", "rep_idd")] + lines[1:]) + "\n", encoding="utf-8")
    params = write_params(tmp_path / "p.yaml", data)
    out = tmp_path / "out"
    with pytest.raises(InputError, match="reps.csv"):
        runner.run_scenario(params, out, progress=False)
    assert not out.exists()


def test_missing_notebook_is_a_params_error(tmp_path, small_params):
    with pytest.raises(ParamsError, match="99_nothing.ipynb"):
        runner.run_scenario(small_params, tmp_path / "out", notebooks=["99_nothing.ipynb"], progress=False)
    assert not (tmp_path / "out").exists()


def test_scenario_name_cannot_escape_the_out_folder(tmp_path, small_company_dir):
    params = tmp_path / "p.yaml"
    params.write_text(f"scenario: ../../etc\ndata:\n  dir: {small_company_dir}\n", encoding="utf-8")
    nb = _notebook(tmp_path / "noop.ipynb", "x = 1")
    out = tmp_path / "out"
    result = runner.run_scenario(params, out, notebooks=[nb], progress=False)
    assert result.run_dir.parent == (out / "runs").resolve()
    assert "-etc-" in result.run_dir.name and ".." not in result.run_dir.name


def test_two_runs_in_the_same_second_get_different_folders(tmp_path, small_params):
    nb = _notebook(tmp_path / "noop.ipynb", "x = 1")
    a = runner.run_scenario(small_params, tmp_path / "out", notebooks=[nb], progress=False)
    b = runner.run_scenario(small_params, tmp_path / "out", notebooks=[nb], progress=False)
    assert a.run_dir != b.run_dir and a.run_dir.is_dir() and b.run_dir.is_dir()


def test_notebooks_are_found_by_name_in_the_repository():
    (path,) = notebooks.resolve_notebooks(["00_data_overview.ipynb"])
    assert path.is_file() and path.parent.name == "notebooks"


def test_notebook_folder_can_be_set_by_environment(tmp_path, monkeypatch):
    _notebook(tmp_path / "77_custom.ipynb", "x = 1")
    monkeypatch.setenv("SALESMODEL_NOTEBOOKS", str(tmp_path))
    assert notebooks.resolve_notebooks(["77_custom.ipynb"]) == [(tmp_path / "77_custom.ipynb").resolve()]


def test_only_ipynb_files_are_run():
    with pytest.raises(ParamsError, match="must list .ipynb files"):
        notebooks.resolve_notebooks(["script.py"])
