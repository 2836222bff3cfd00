"""The command line: exit codes 0/1/2, one message, no traceback, no half run folder."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import write_params

from salesmodel import cli
from salesmodel.errors import InfeasibleError, RunError
from salesmodel.run import runner

REPO = Path(__file__).resolve().parents[1]


def _run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def bad_company(tmp_path, small_company_dir):
    """The small company with negative amounts in sales."""
    data = tmp_path / "bad"
    shutil.copytree(small_company_dir, data)
    sales = pd.read_parquet(data / "sales.parquet")
    sales.loc[[3, 7], "amount"] = -5.0
    sales.to_parquet(data / "sales.parquet", index=False)
    return data


def test_validate_prints_a_summary_and_runs_nothing(small_params, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(["validate", small_params], capsys)
    assert code == 0, err
    assert "sales" in out and "rows" in out and "2023-01-01" in out and "2026-10-31" in out
    assert "nothing was run" in out
    assert not (tmp_path / "outputs").exists()


def test_bad_input_file_exits_2_with_one_message_and_no_run_folder(bad_company, tmp_path, capsys):
    params = write_params(tmp_path / "p.yaml", bad_company)
    out_dir = tmp_path / "out"
    code, out, err = _run(["run", params, "--out", out_dir], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert "sales.parquet" in err and "amount" in err
    assert "Traceback" not in err
    assert not out_dir.exists()
    code, _, err = _run(["validate", params], capsys)
    assert code == 2 and "sales.parquet" in err


def test_bad_params_exit_2(tmp_path, small_company_dir, capsys):
    params = write_params(tmp_path / "p.yaml", small_company_dir, calendar={"plan_yr": 2027})
    code, _, err = _run(["run", params, "--out", tmp_path / "out"], capsys)
    assert code == 2
    assert "did you mean 'plan_year'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_missing_params_file_exits_2(tmp_path, capsys):
    code, _, err = _run(["validate", tmp_path / "none.yaml"], capsys)
    assert code == 2 and "params file not found" in err


def test_infeasible_exits_2_and_run_error_exits_1(monkeypatch, tmp_path, capsys):
    def infeasible(*a, **k):
        raise InfeasibleError("total 9 is above the most the reps can sell (5)")

    monkeypatch.setattr(runner, "run_scenario", infeasible)
    code, _, err = _run(["run", tmp_path / "p.yaml"], capsys)
    assert (code, err.strip()) == (2, "error: total 9 is above the most the reps can sell (5)")

    def failed(*a, **k):
        raise RunError("Notebook 02_targets.ipynb failed in cell 4: KeyError: 'x'")

    monkeypatch.setattr(runner, "run_scenario", failed)
    code, _, err = _run(["run", tmp_path / "p.yaml"], capsys)
    assert code == 1 and "02_targets.ipynb" in err and "Traceback" not in err


def test_unexpected_error_is_one_line_unless_debug(monkeypatch, tmp_path, capsys):
    def boom(*a, **k):
        raise ValueError("something odd\nsecond line")

    monkeypatch.setattr(runner, "run_scenario", boom)
    code, _, err = _run(["run", tmp_path / "p.yaml"], capsys)
    assert code == 1
    assert err.strip() == "unexpected error: ValueError: something odd (run with --debug for the traceback)"
    code, _, err = _run(["run", tmp_path / "p.yaml", "--debug"], capsys)
    assert code == 1 and "Traceback" in err


def test_run_then_verify_then_tamper(small_company_dir, tmp_path, capsys):
    params = write_params(tmp_path / "p.yaml", small_company_dir, notebooks=["00_data_overview.ipynb"])
    out_dir = tmp_path / "out"
    code, out, err = _run(["run", params, "--out", out_dir, "--quiet"], capsys)
    assert code == 0, err
    lines = dict(line.split(":", 1) for line in out.strip().splitlines())
    run_dir, html = Path(lines["run folder"].strip()), Path(lines["leadership HTML"].strip())
    assert run_dir.parent == (out_dir / "runs").resolve() and run_dir.is_dir()
    assert html.is_file() and html.parent == run_dir / "html"
    assert json.loads((run_dir / "manifest.json").read_text())["run_id"] == run_dir.name
    code, out, _ = _run(["verify", run_dir], capsys)
    assert code == 0 and "OK" in out
    target = run_dir / "tables" / "sales_by_year.csv"
    target.write_text(target.read_text() + "2099,1,1,1,1\n")
    code, _, err = _run(["verify", run_dir], capsys)
    assert code == 1
    assert "changed: tables/sales_by_year.csv" in err


def test_verify_of_something_that_is_not_a_run_exits_2(tmp_path, capsys):
    code, _, err = _run(["verify", tmp_path], capsys)
    assert code == 2 and "not a run folder" in err


def test_sample_writes_the_company(tmp_path, capsys):
    code, out, err = _run(["sample", tmp_path / "co", "--customers", "40", "--reps", "5", "--seed", "3",
                           "--start", "2025-01-01"], capsys)
    assert code == 0, err
    assert "demo company written to" in out
    for name in ("sales.parquet", "customers.csv", "reps.csv", "org.csv", "provinces.csv", "province_adjacency.csv"):
        assert (tmp_path / "co" / name).is_file()
    assert len(pd.read_csv(tmp_path / "co" / "customers.csv")) == 40


def test_console_script_exit_code_for_bad_params(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("scenario: x\nreport:\n  languge: zh\n", encoding="utf-8")
    exe = Path(sys.executable).with_name("salesmodel")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "salesmodel.cli"]
    done = subprocess.run([*cmd, "validate", str(params)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=120, check=False)
    assert done.returncode == 2
    assert "did you mean 'language'" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "verify", "sample", "validate"):
        assert command in out



def test_batch_runs_a_grid_and_reports_each_scenario(tmp_path, small_company_dir, capsys):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    def notebook(name, source):
        nb = new_notebook(cells=[new_code_cell('params_file = ""\nrun_dir = ""', metadata={"tags": ["parameters"]}),
                                 new_code_cell(source)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, tmp_path / name)
        return str(tmp_path / name)

    ok = notebook("ok.ipynb", "import pandas as pd\nfrom salesmodel.run.workspace import open_run\n"
                  "ws = open_run(params_file, run_dir)\nassert ws.params.scenario.startswith('sweep')\n"
                  "assert ws.table('targets_total')['target'].iloc[0] > 0")
    params = write_params(tmp_path / "grid.yaml", small_company_dir, notebooks=[ok],
                          grid={"targets.growth": [0.05, 0.10]}, scenario="sweep")
    code, out, err = _run(["batch", params, "--out", tmp_path / "out", "--workers", "1", "--quiet"], capsys)
    assert code == 0, err + out
    assert "batch folder:" in out
    assert out.count("ok     sweep__growth=") == 2
    page = next(line for line in out.splitlines() if line.startswith("comparison page: "))
    assert Path(page.split(": ", 1)[1].split(" (reference")[0]).is_file()
    assert "(reference: sweep__growth=0.05)" in page

    code, out, err = _run(["batch", params, "--out", tmp_path / "out", "--reference", "sweep__growth=0.5", "--quiet"],
                          capsys)
    assert code == 2 and out == ""
    assert "sweep__growth=0.05, sweep__growth=0.1" in err and "'sweep__growth=0.5'" in err

    bad = write_params(tmp_path / "bad.yaml", small_company_dir, notebooks=[notebook("bad.ipynb", "1 / 0")], scenario="broken")
    code, out, err = _run(["batch", bad, "--out", tmp_path / "out", "--workers", "1", "--quiet"], capsys)
    assert code == 1
    assert "failed broken:" in out and "ZeroDivisionError" in out
    assert "1 of 1 scenario(s) failed" in err


def test_validate_reads_the_holiday_overrides(tmp_path, small_company_dir, capsys):
    good = tmp_path / "holidays.csv"
    good.write_text("date,kind,name\n2027-02-20,workday,Spring Festival make-up day\n2027-02-06,holiday,\n", encoding="utf-8")
    params = write_params(tmp_path / "p.yaml", small_company_dir, calendar={"holiday_overrides": "holidays.csv"})
    code, out, err = _run(["validate", params], capsys)
    assert code == 0, err
    assert "company overrides: 2 days" in out
    good.write_text("date,kind,name\n2027-02-30,workday,x\n", encoding="utf-8")
    code, _, err = _run(["validate", params], capsys)
    assert code == 2
    assert "holidays.csv" in err and "Traceback" not in err


def test_missing_data_folder_hints_at_the_sample_command(tmp_path, capsys):
    params = tmp_path / "p.yaml"
    params.write_text("data:\n  dir: nowhere\n", encoding="utf-8")
    code, _, err = _run(["run", params, "--out", tmp_path / "out"], capsys)
    assert code == 2
    assert "sales.parquet: file not found" in err
    assert f"salesmodel sample {tmp_path / 'nowhere'}" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("sections, said", [
    ({"territory": {"balance_on": {"potential": 0.0001, "workload": 0.5}, "max_disruption": None}},
     "territory.balance_on.potential"),
    ({"targets": {"growth": 0.8, "growth_over": "last_year", "growth_bounds": None},
      "staffing": {"max_hires_per_month": 0}}, "staffing.max_hires_per_month"),
])
def test_a_requirement_the_plan_cannot_meet_completes_with_exit_3(tmp_path, small_company_dir, capsys, sections, said):
    """Infeasible is never 'success': the run completes, names the requirement, and exits 3."""
    params = write_params(tmp_path / "p.yaml", small_company_dir, notebooks=["00_data_overview.ipynb"], **sections)
    code = cli.main(["run", str(params), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    if code == 2:  # refused before running, with the feasible range: also never a false success
        assert "feasible" in err or "workable" in err
        return
    assert code == 3, err
    assert said in err
    (run_dir,) = (tmp_path / "out" / "runs").iterdir()
    unmet = pd.read_parquet(run_dir / "tables" / "unmet_requirements.parquet")
    assert said in set(unmet["requirement"])  # the requirement's code, said in the reader's words


def test_run_prints_progress_lines_without_a_terminal(tmp_path, small_company_dir, capsys):
    """No terminal: one plain line per step and per notebook, with the elapsed time; --quiet: none."""
    params = write_params(tmp_path / "p.yaml", small_company_dir, notebooks=["00_data_overview.ipynb"])
    assert cli.main(["run", str(params), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert any(line.endswith("step overview done") for line in lines)
    assert any("notebook 00_data_overview.ipynb started" in line for line in lines)
    assert any("notebook 00_data_overview.ipynb finished in" in line for line in lines)
    assert sum("step " in line for line in lines) == 7 and "Traceback" not in err and "TCP" not in err
    assert cli.main(["run", str(params), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert "step overview done" not in capsys.readouterr().err


def test_sample_refuses_a_company_the_machine_cannot_hold_in_seconds_naming_what_fits(tmp_path, monkeypatch, capsys):
    import time

    from salesmodel import cli

    monkeypatch.setattr(cli, "available_memory", lambda: 8e9)  # an 8 GB machine
    started = time.perf_counter()
    assert cli.main(["sample", str(tmp_path / "big"), "--customers", "300000", "--reps", "6000"]) == 2
    err = capsys.readouterr().err
    assert time.perf_counter() - started < 5
    assert "sample --customers 300,000" in err and "8.0 GB available" in err
    fits = int(err.split("--customers ")[-1].split(" fits")[0].replace(",", ""))
    assert 0 < fits < 300_000 and not (tmp_path / "big").exists()
    assert cli.main(["sample", str(tmp_path / "few"), "--customers", "1000", "--reps", "30000"]) == 2
    assert "sample --reps: expected a number of reps from 5 to 20,000, got 30,000" in capsys.readouterr().err


def test_the_reader_language_comes_from_lang_then_params_then_environment(tmp_path, monkeypatch):
    from salesmodel.run.language import LANG_ENV, reader_language

    zh_params = tmp_path / "zh.yaml"
    zh_params.write_text("report:\n  language: zh\n", encoding="utf-8")
    plain = tmp_path / "plain.yaml"
    plain.write_text("scenario: plain\n", encoding="utf-8")
    monkeypatch.setenv(LANG_ENV, "es")
    assert reader_language("en", zh_params) == "en"  # --lang first
    assert reader_language(None, zh_params) == "zh"  # then the params' report.language
    assert reader_language(None, plain) == "es"  # then the environment
    monkeypatch.delenv(LANG_ENV)
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    assert reader_language(None, None) == "zh"  # the locale
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    assert reader_language(None, None) == "en"  # a locale that is not one of ours: English


@pytest.mark.parametrize("language", ["zh", "es"])
def test_validate_and_errors_speak_the_language_asked(tmp_path, small_company_dir, capsys, language):
    from salesmodel.schema.vocabulary import word

    params = write_params(tmp_path / "p.yaml", small_company_dir, notebooks=["00_data_overview.ipynb"])
    code, out, _ = _run(["--lang", language, "validate", params], capsys)
    assert code == 0 and out.strip().splitlines()[-1] == word("cli_validate_ok", language)
    code, _, err = _run(["validate", tmp_path / "missing.yaml", "--lang", language], capsys)
    assert code == 2 and err.startswith(word("cli_error", language).format(message=""))
