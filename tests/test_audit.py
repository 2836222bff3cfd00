"""Audit: run ids, safe names, the manifest's record, tamper detection, re-execution."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import holidays
import pandas as pd
import pytest
from conftest import write_params
from hypothesis import given
from hypothesis import strategies as st

import salesmodel
from salesmodel import io
from salesmodel.errors import InputError
from salesmodel.run import audit
from salesmodel.run.runner import run_scenario
from salesmodel.run.verify import verify
from salesmodel.schema.params import load_params, params_from_dict, params_hash


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, small_company_dir):
    """One real run of notebook 00 on the small company (copied by tests that change it)."""
    base = tmp_path_factory.mktemp("audit")
    params = write_params(base / "params.yaml", small_company_dir)
    return run_scenario(params, base / "out", notebooks=["00_data_overview.ipynb"], progress=False)


@pytest.fixture
def run_copy(finished_run, tmp_path):
    dest = tmp_path / finished_run.run_dir.name
    shutil.copytree(finished_run.run_dir, dest)
    return dest


@given(st.text(max_size=120))
def test_sanitised_names_stay_inside_their_folder(name):
    safe = audit.sanitise_name(name)
    assert safe and len(safe) <= 40
    assert "/" not in safe and "\\" not in safe and not safe.startswith(".")
    base = Path("/runs").resolve()
    assert (base / safe).resolve().parent == base


@pytest.mark.parametrize(
    ("name", "expected"),
    [("../../etc", "etc"), ("华东 冲刺/2027", "华东-冲刺-2027"), ("..", "scenario"), ("Plan B (v2)", "Plan-B-v2")],
)
def test_sanitise_examples(name, expected):
    assert audit.sanitise_name(name) == expected


def test_run_id_has_utc_time_scenario_and_short_hash():
    from datetime import datetime, timedelta, timezone

    when = datetime(2026, 11, 23, 17, 5, 9, tzinfo=timezone(timedelta(hours=8)))
    assert audit.make_run_id("../East", "abcdef0123456789", when) == "20261123T090509Z-East-abcdef01"


def test_manifest_records_what_proves_the_run(finished_run, small_company_dir):
    m = json.loads(finished_run.manifest.read_text())
    run_dir = finished_run.run_dir
    assert m["run_id"] == run_dir.name
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["created_utc"])
    assert m["duration_s"] > 0
    assert m["salesmodel"]["version"] == salesmodel.__version__
    git = m["salesmodel"]["git"]
    if git is not None:  # in a checkout
        assert re.fullmatch(r"[0-9a-f]{40}", git["commit"]) and isinstance(git["dirty"], bool)
    assert m["salesmodel"]["source_sha256"] == audit.source_hash()
    assert m["python"]["version"].count(".") == 2
    assert set(audit.KEY_PACKAGES) <= set(m["packages"]) and m["packages"]["pandas"] == pd.__version__
    assert m["calendar"]["version"] == holidays.__version__
    assert m["calendar"]["plan_year"] == 2027 and m["calendar"]["plan_year_status"] == "estimated"
    assert m["seeds"] == {"seed": 1}
    sc = load_params(run_dir / "params.yaml")
    assert m["params_sha256"] == params_hash(sc) == params_hash(params_from_dict(m["params"]))
    assert m["params"]["data"]["dir"] == str(small_company_dir.resolve())
    sales = m["inputs"]["sales"]
    assert sales["sha256"] == audit.sha256_file(small_company_dir / "sales.parquet")
    assert sales["rows"] == len(pd.read_parquet(small_company_dir / "sales.parquet"))
    # hashed when read (the run lets the order lines go before its workbook): the content as validated
    assert sales["content_sha256"] == audit.frame_hash(io.read_inputs(sc.data)["sales"])
    assert set(m["inputs"]) == {"sales", "customers", "reps", "org", "provinces", "adjacency"}
    assert [nb["name"] for nb in m["notebooks"]] == ["00_data_overview.ipynb"]
    assert len(m["notebooks"][0]["sha256"]) == 64
    files = {p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()}
    assert set(m["outputs"]) == files - {"manifest.json"}
    assert {"params.yaml", "notebooks/00_data_overview.ipynb", "html/00_data_overview.html",
            "tables/sales_by_year.parquet", "tables/sales_by_year.csv"} <= set(m["outputs"])


def test_unchanged_run_verifies(finished_run):
    report = verify(finished_run.run_dir)
    assert report.ok, report.summary()
    assert report.files_checked == len(json.loads(finished_run.manifest.read_text())["outputs"])


def test_one_changed_byte_in_any_output_is_named(run_copy):
    outputs = json.loads((run_copy / "manifest.json").read_text())["outputs"]
    assert len(outputs) > 10
    for rel in outputs:
        path = run_copy / rel
        original = path.read_bytes()
        middle = len(original) // 2
        path.write_bytes(original[:middle] + bytes([original[middle] ^ 1]) + original[middle + 1:])
        report = verify(run_copy)
        assert not report.ok
        assert report.changed == [rel], rel
        assert any(rel in p for p in report.problems)
        path.write_bytes(original)
    assert verify(run_copy).ok


def test_missing_and_extra_files_are_named(run_copy):
    (run_copy / "tables" / "sales_by_year.csv").unlink()
    (run_copy / "tables" / "smuggled.csv").write_text("a\n1\n")
    report = verify(run_copy)
    assert report.missing == ["tables/sales_by_year.csv"]
    assert report.extra == ["tables/smuggled.csv"]
    text = report.summary()
    assert "missing: tables/sales_by_year.csv" in text and "extra: tables/smuggled.csv" in text


def test_verify_of_a_folder_without_manifest_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not a run folder"):
        verify(tmp_path)


def test_damaged_manifest_is_an_input_error(run_copy):
    (run_copy / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="manifest was damaged"):
        verify(run_copy)


@pytest.mark.slow
def test_rerun_reproduces_every_table_exactly(finished_run):
    report = verify(finished_run.run_dir, rerun=True)
    assert report.ok, report.summary()
    assert report.tables_compared >= 5


@pytest.mark.slow
def test_rerun_catches_a_table_changed_with_its_hash(run_copy):
    # change a value and re-record the hashes: only re-execution can tell
    table = run_copy / "tables" / "sales_by_year.parquet"
    df = pd.read_parquet(table)
    df.loc[0, "amount"] += 0.01
    df.to_parquet(table, index=False)
    manifest = json.loads((run_copy / "manifest.json").read_text())
    manifest["outputs"]["tables/sales_by_year.parquet"] = audit.sha256_file(table)
    (run_copy / "manifest.json").write_text(json.dumps(manifest))
    assert verify(run_copy).ok  # no consistency rule reads sales_by_year
    report = verify(run_copy, rerun=True)
    assert not report.ok
    assert report.table_differences == [
        "table sales_by_year: 1 of 4 rows differ in amount; first rows: 2023 (year)"
    ] or all("table sales_by_year: 1 of 4 rows differ in amount" in d for d in report.table_differences)


def test_consistency_catches_a_plan_table_changed_with_its_hash(run_copy):
    table = run_copy / "tables" / "targets_rep.parquet"
    df = pd.read_parquet(table)
    df.loc[0, "target"] += 100.0
    df.to_parquet(table, index=False)
    manifest = json.loads((run_copy / "manifest.json").read_text())
    manifest["outputs"]["tables/targets_rep.parquet"] = audit.sha256_file(table)
    (run_copy / "manifest.json").write_text(json.dumps(manifest))
    report = verify(run_copy)
    assert not report.ok and report.changed == []
    text = "\n".join(report.inconsistent)
    assert "company target" in text and "targets_total" in text and "targets_rep" in text
    assert "parent = sum of children" in text and "difference -100.0000" in text


def test_source_hash_changes_with_any_module(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    before = audit.source_hash(pkg)
    (pkg / "sub" / "b.py").write_text("y = 3\n")
    assert audit.source_hash(pkg) != before
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    assert audit.source_hash(pkg) == before


def test_rerun_never_executes_a_notebook_the_manifest_points_at(run_copy, tmp_path):
    """The rerun runs the pipeline in-process: no notebook, least of all one a manifest names."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    marker = tmp_path / "ran"
    evil = tmp_path / "evil.ipynb"
    nb = new_notebook(cells=[new_code_cell(f"open({str(marker)!r}, 'w').write('x')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, evil)
    manifest = json.loads((run_copy / "manifest.json").read_text())
    manifest["notebooks"] = [{"name": "evil.ipynb", "source": str(evil), "sha256": audit.sha256_file(evil)}]
    (run_copy / "manifest.json").write_text(json.dumps(manifest))
    verify(run_copy, rerun=True)
    assert not marker.exists()


def test_rerun_of_a_run_by_another_version_names_both(run_copy):
    manifest = json.loads((run_copy / "manifest.json").read_text())
    manifest["salesmodel"]["version"] = "0.0.1"
    (run_copy / "manifest.json").write_text(json.dumps(manifest))
    report = verify(run_copy, rerun=True)
    assert not report.ok and report.tables_compared == 0
    assert any("salesmodel 0.0.1" in p and "this is salesmodel" in p for p in report.problems)


def test_rerun_names_an_altered_copy_of_the_inputs(run_copy):
    kept = run_copy / "inputs" / "reps.parquet"
    reps = pd.read_parquet(kept)
    reps.loc[0, "rep_name"] = "someone else"
    reps.to_parquet(kept, index=False)
    report = verify(run_copy, rerun=True)
    assert "inputs/reps.parquet" in report.changed
    assert any("inputs/reps.parquet" in p and "differs from the data" in p for p in report.problems)


def test_git_commit_only_from_the_checkout_holding_the_package(tmp_path):
    import subprocess

    outside = tmp_path / "site-packages" / "salesmodel"
    outside.mkdir(parents=True)
    (outside / "__init__.py").write_text("")
    assert audit.git_info(outside) is None  # not in any checkout
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    assert audit.git_info(outside) is None  # a checkout with a commit, but of something else
    inside = tmp_path / "salesmodel"
    inside.mkdir()
    (inside / "__init__.py").write_text("")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "y"], check=True)
    info = audit.git_info(inside)
    assert info is not None and len(info["commit"]) == 40 and info["dirty"] is False
    (inside / "__init__.py").write_text("x = 1\n")
    assert audit.git_info(inside)["dirty"] is True


def test_frame_hash_sees_values_order_and_types():
    a = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    assert audit.frame_hash(a) == audit.frame_hash(a.copy())
    assert audit.frame_hash(a) != audit.frame_hash(a.assign(x=[1, 3]))
    assert audit.frame_hash(a) != audit.frame_hash(a.iloc[::-1].reset_index(drop=True))
    assert audit.frame_hash(a) != audit.frame_hash(a.astype({"x": "float64"}))


@pytest.mark.parametrize("language", ["zh", "es"])
def test_verify_speaks_the_readers_language(run_copy, language):
    from salesmodel.schema.vocabulary import word

    ok = verify(run_copy, language=language)
    assert ok.summary().splitlines()[0].endswith(word("verify_ok", language).format(n=ok.files_checked)
                                                 + word("verify_rules", language).format(n=ok.rules_checked))
    (run_copy / "params.yaml").write_text("changed", encoding="utf-8")
    changed = verify(run_copy, language=language)
    assert word("verify_changed", language).format(path="params.yaml") in changed.problems
