"""Bad input in the planner's lab: a port in use, a value typed outside a control's range."""
from __future__ import annotations

import html
import re
import socket

import numpy as np
import pandas as pd
import pytest
from conftest import eight_customers, write_params

from salesmodel.cli import main
from salesmodel.schema.vocabulary import word
from salesmodel.widgets import StaffingExplorer, TargetExplorer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ---------------------------------------------------------------------------
# `salesmodel lab` when the port is taken
# ---------------------------------------------------------------------------
def test_lab_takes_the_next_free_port_and_says_which(tmp_path, small_company_dir, monkeypatch, capsys):
    monkeypatch.setenv("SALESMODEL_WORKSPACE", str(tmp_path / "lab"))
    params = write_params(tmp_path / "params.yaml", small_company_dir)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["lab", str(params), "--out", str(tmp_path / "out"), "--port", str(port), "--no-start"]) == 0
        out = capsys.readouterr().out
    said = [line for line in out.splitlines() if line.startswith(f"Port {port} is in use")]
    assert said, out
    free = int(re.search(r"takes port (\d+)", said[0]).group(1))
    assert free > port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", free))  # the port it names is free indeed


def test_lab_keeps_a_free_port_without_a_word(tmp_path, small_company_dir, monkeypatch, capsys):
    monkeypatch.setenv("SALESMODEL_WORKSPACE", str(tmp_path / "lab"))
    params = write_params(tmp_path / "params.yaml", small_company_dir)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["lab", str(params), "--out", str(tmp_path / "out"), "--port", str(port), "--no-start"]) == 0
    assert "in use" not in capsys.readouterr().out


# ---------------------------------------------------------------------------
# A value typed into an explorer's box
# ---------------------------------------------------------------------------
@pytest.fixture
def units():
    return eight_customers()


@pytest.mark.parametrize("language", ["en", "zh", "es"])
def test_a_typed_value_outside_the_range_is_refused_and_nothing_recomputed(units, language):
    ex = TargetExplorer(units, keys="customer_id", money_unit="yuan", growth=0.12, language=language)
    box = ex.typed_box(ex.growth)
    assert box.value == "12%" and not ex.growth.readout  # the box shows the value the slider would
    result, headline, shown = ex.result, ex.headline(), ex.versus.value
    seconds = ex.last_update_seconds

    box.value = "500%"
    expected = word("typed_out_of_range", language).format(
        name=word("growth", language), value="500%", low="-50%", high="100%", current="12%")
    assert ex.message == expected
    assert f'<div class="sm-err">{html.escape(expected)}</div>' in ex.status.value  # in the message area
    # nothing was computed from the bad value: the same result object, headline and timing
    assert ex.result is result and ex.headline() == headline and ex.versus.value == shown
    assert ex.last_update_seconds == seconds
    assert ex.growth.value == 0.12 and box.value == "12%"  # the box shows the setting in force again

    box.value = "not a number"
    assert ex.message == word("typed_not_number", language).format(
        name=word("growth", language), value="not a number", current="12%")
    assert ex.result is result

    box.value = "20"  # the slider shows percents: 20 is 20%
    assert ex.growth.value == pytest.approx(0.20)
    assert ex.message == "" and ex.result is not result
    assert ex.headline() == pytest.approx(headline * 1.20 / 1.12, rel=0.01)
    assert box.value == "20%"


@pytest.mark.parametrize("language", ["en", "zh", "es"])
def test_the_growth_bounds_range_takes_typed_ends_and_refuses_bad_ones(units, language):
    ex = TargetExplorer(units, keys="customer_id", money_unit="yuan", growth=0.12, growth_bounds=(-0.1, 0.4), language=language)
    box = ex.typed_box(ex.bounds)
    assert box.value == "-10%, 40%" and not ex.bounds.readout
    result = ex.result
    for typed, key in (("40%, -10%", "typed_range_order"), ("15%", "typed_not_range"), ("-10%, 400%", "typed_out_of_range"),
                       ("-10%, lots", "typed_not_number")):
        box.value = typed
        fields = dict(name=word("growth_bounds", language), current="-10%, 40%", low="-90%", high="200%",
                      value={"typed_out_of_range": "400%", "typed_not_number": "lots"}.get(key, typed))
        assert ex.message == word(key, language).format(**fields), typed
        assert ex.result is result and ex.bounds.value == (-0.1, 0.4) and box.value == "-10%, 40%"
    box.value = "-5 to 30"  # percents, as the slider shows them; "to", ";" or "~" also separate the ends
    assert ex.bounds.value == pytest.approx((-0.05, 0.30)) and ex.message == "" and ex.result is not result
    assert box.value == "-5%, 30%"
    assert ex.settings()["targets.growth_bounds"] == pytest.approx([-0.05, 0.30])


def test_a_company_total_that_is_not_positive_is_refused_not_clamped(units):
    ex = TargetExplorer(units, keys="customer_id", money_unit="yuan", total=1_000_000.0)
    result = ex.result
    ex.total.value = -5.0
    assert ex.message.startswith(word("total_not_positive").format(name=word("task"), value=ex.money(-5.0))[:40])
    assert word("total_not_positive").split("{value}")[1][:20] in ex.message
    assert ex.result is result and ex.total.value == -5.0  # shown as typed, not clamped; the result kept
    ex.total.value = 2_000_000.0
    assert ex.message == "" and ex.headline() == pytest.approx(2_000_000.0)


def test_a_whole_number_control_refuses_a_fraction_and_takes_a_whole_number():
    monthly = pd.Series(np.linspace(1000.0, 1600.0, 12), index=pd.period_range("2027-01", periods=12, freq="M"))
    ex = StaffingExplorer(monthly, productivity=100.0, start_headcount=10, attrition=0.1, hire_lead_months=1,
                          money_unit="yuan")
    box = ex.typed_box(ex.lead_time)
    before = ex.result
    box.value = "2.5"
    assert ex.message == word("typed_not_whole").format(name=ex.lead_time.description, value="2.5", current="1")
    assert ex.result is before and ex.lead_time.value == 1
    box.value = str(ex.lead_time.max + 1)
    assert ex.message == word("typed_out_of_range").format(
        name=ex.lead_time.description, value=str(ex.lead_time.max + 1), low="0", high=str(ex.lead_time.max), current="1")
    assert ex.result is before
    box.value = "3"
    assert ex.lead_time.value == 3 and ex.message == "" and ex.result is not before
    # moving the slider shows its value in the box; disabling it disables the box
    ex.attrition.value = 0.25
    assert ex.typed_box(ex.attrition).value == "25%"
    ex.max_hires.disabled = True
    assert ex.typed_box(ex.max_hires).disabled


def test_lab_starts_jupyterlab_on_the_free_port_and_the_planners_notebooks(tmp_path, small_company_dir, monkeypatch,
                                                                           capsys):
    """What `salesmodel lab` hands to JupyterLab (os.execv replaced, so nothing starts)."""
    import os

    monkeypatch.setenv("SALESMODEL_WORKSPACE", str(tmp_path / "lab"))
    params = write_params(tmp_path / "params.yaml", small_company_dir)
    (tmp_path / "notebooks").mkdir()  # a planner's copy (`salesmodel notebooks`) in the current folder
    monkeypatch.chdir(tmp_path)
    started: list[list[str]] = []
    monkeypatch.setattr(os, "execv", lambda exe, cmd: started.append(cmd))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["lab", str(params), "--out", str(tmp_path / "out"), "--port", str(port)]) == 0
    out = capsys.readouterr().out
    free = int(re.search(r"takes port (\d+)", out).group(1))
    (cmd,) = started
    assert cmd[1:3] == ["-m", "jupyterlab"] and "--ip=127.0.0.1" in cmd
    assert f"--port={free}" in cmd and "--port-retries=0" in cmd  # JupyterLab takes exactly the port announced
    assert f"--ServerApp.root_dir={tmp_path / 'notebooks'}" in cmd
    if os.name == "posix":
        assert "--KernelManager.transport=ipc" in cmd  # no kernel on TCP, no TCP warning
    assert f"http://127.0.0.1:{free}/" in out
