"""Levers of the plan (issue 12): locked targets and the reps' commitments, through the targets step."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import write_params

from salesmodel import cli, io
from salesmodel.domain.targets.commitments import reconcile_commitments
from salesmodel.errors import InfeasibleError, InputError
from salesmodel.pipeline import run_step
from salesmodel.schema import consistency
from salesmodel.schema.params import load_params


# ---- the core: worked numbers -------------------------------------------------------------------
def test_reconcile_commitments_worked_numbers():
    """Region N: a (600) commits 500, b (400) commits nothing; region S: c (500) commits 800.

    bottom_up, bounds -10%/+10%: a wants max(500, 540) = 540, b 400, c min(800, 550) = 550.
    N keeps 1,000: a 540/940 x 1,000 = 574.47 -> 570 (round_to 10), b 425.53 -> 430; S keeps 500.
    """
    td = pd.DataFrame({"region_id": ["N", "N", "S"], "rep_id": ["a", "b", "c"], "target": [600.0, 400.0, 500.0]})
    bu = pd.DataFrame({"rep_id": ["a", "c"], "amount": [500.0, 800.0]})
    out = reconcile_commitments(td, bu, policy="bottom_up", bounds=(-0.1, 0.1), within="region_id", round_to=10)
    assert out["wanted"].tolist() == [540.0, 400.0, 550.0]
    assert out["target"].tolist() == [570.0, 430.0, 500.0]
    assert out["gap"].tolist() == [-100.0, 0.0, 300.0]
    assert out["change"].tolist() == [-30.0, 30.0, 0.0]
    assert out["has_commitment"].tolist() == [True, False, True]
    # the whole company as one unit: a 540, b 400, c 550 (1,490) share 1,500: 543.62, 402.68, 553.69;
    # floors 543 + 402 + 553 = 1,498, the two largest remainders (c .69, b .68) get one more
    company = reconcile_commitments(td, bu, policy="bottom_up", bounds=(-0.1, 0.1), within=None, round_to=1)
    assert company["target"].tolist() == [543.0, 403.0, 554.0]
    assert company["target"].sum() == 1500.0
    # blend 50/50 (within the bounds): a (600 + 500) / 2 = 550, c (500 + 800) / 2 = 650 held at 550
    blend = reconcile_commitments(td, bu, policy="blend", weight=0.5, within="region_id", round_to=10)
    assert blend["wanted"].tolist() == [550.0, 400.0, 550.0]
    # top-down wins: targets unchanged, the gap still shown
    top = reconcile_commitments(td, bu, policy="top_down", within="region_id", round_to=10)
    assert top["target"].tolist() == [600.0, 400.0, 500.0] and top["gap"].sum() == 200.0
    # within what each rep's customers allow: a commits 900 (wanted 900 within +-50%) but can take at most 610,
    # b commits 100 (held at 200): proportional sharing would give a 753; water-filling gives a 610, b 390
    capped = td.assign(upper=[610.0, 1e9, 1e9])
    bu2 = pd.DataFrame({"rep_id": ["a", "b"], "amount": [900.0, 100.0]})
    out2 = reconcile_commitments(capped, bu2, policy="bottom_up", bounds=(-0.5, 0.5), within="region_id", round_to=10,
                                 upper="upper")
    assert out2["wanted"].tolist() == [610.0, 200.0, 500.0] and out2["target"].tolist() == [610.0, 390.0, 500.0]
    # a locked rep keeps its target; the others share the rest
    locked = reconcile_commitments(td, bu, policy="bottom_up", within="region_id", round_to=10, locked=["b"])
    assert locked["target"].tolist() == [600.0, 400.0, 500.0]


# ---- through the step ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lever_company(tmp_path_factory, small_company_dir):
    data = tmp_path_factory.mktemp("levers")
    shutil.copytree(small_company_dir, data, dirs_exist_ok=True)
    pd.DataFrame({"rep_id": ["R003", "R004", "R011"], "amount": [1_000_000.0, 5_000_000.0, 100_000.0],
                  "note": ["<script>alert(1)</script>", None, "lost a key account"]}).to_csv(data / "commitments.csv", index=False)
    pd.DataFrame({"level": ["customer"], "unit_id": ["C00001"], "target": [50_000.0],
                  "reason": ["contract"]}).to_csv(data / "locks.csv", index=False)
    return data


def _step(tmp_path, data, policy, **data_extra):
    params = write_params(tmp_path / f"{policy}.yaml", data,
                          data={"dir": str(data), "commitments": "commitments.csv", "locks": "locks.csv", **data_extra},
                          targets={"growth_over": "last_year", "commitments": {"policy": policy, "within": "region"}})
    sc = load_params(params)
    return run_step("targets", sc, io.read_inputs(sc.data), {})


def test_commitments_move_reps_inside_their_region_and_locks_hold(tmp_path, lever_company):
    top = _step(tmp_path, lever_company, "top_down").tables
    low = _step(tmp_path, lever_company, "bottom_up").tables
    c = low["targets_commitments"].set_index("rep_id")
    # top-down: nothing moves; the gap is the commitment minus the top-down target
    t = top["targets_commitments"].set_index("rep_id")
    assert (t["target"] == t["top_down"]).all()
    assert t.loc["R003", "gap"] == 1_000_000.0 - t.loc["R003", "top_down"]
    # bottom_up: R003 committed far below: held at -10% of its top-down target before its region is kept
    assert c.loc["R003", "wanted"] == pytest.approx(0.9 * c.loc["R003", "top_down"])
    assert c.loc["R004", "wanted"] == pytest.approx(1.1 * c.loc["R004", "top_down"])
    assert c.loc["R003", "target"] < c.loc["R003", "top_down"] and c.loc["R004", "target"] > c.loc["R004", "top_down"]
    # the regions keep their targets exactly; the reps' targets are the reconciled ones
    regions = top["targets_region"].set_index("region_id")["target"]
    assert low["targets_region"].set_index("region_id")["target"].equals(regions)
    assert c.groupby("region_id")["target"].sum().equals(c.groupby("region_id")["top_down"].sum())
    rep = low["targets_rep"].set_index("rep_id")["target"]
    assert (rep.reindex(c.index) == c["target"]).all()
    assert (np.mod(c["target"], 100) == 0).all()
    # R011 is alone in region S: its region's target cannot move, so neither can it
    assert c.loc["R011", "change"] == 0.0
    # the locked customer keeps its lock in both plans
    for tables in (top, low):
        cust = tables["targets_customer"].set_index("customer_id")
        assert cust.loc["C00001", "target"] == 50_000.0 and cust.loc["C00001", "bound_applied"] == "locked"
        assert tables["targets_locks"]["target"].tolist() == [50_000.0]
        assert consistency.check(tables) == []


def test_the_page_shows_the_gap_with_the_notes_escaped(tmp_path, lever_company):
    from salesmodel.report.plan_pages import PlanPage

    tables = _step(tmp_path, lever_company, "bottom_up").tables

    class _Ws:  # what a Page reads of a workspace: params and inputs
        params = load_params(write_params(tmp_path / "p.yaml", lever_company))
        language = "en"

        def input(self, kind):
            return io.read_inputs(self.params.data)[kind]

    page = PlanPage(_Ws())
    html = page.commitments_table(tables["targets_commitments"]).to_html()
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "Top-down target" in html and "Commitment" in html
    assert "3 of 11 sales reps committed" in page.commitments_sentence(tables["targets_commitments"]).data


# ---- bad input: one message naming the file, rows and the feasible range; exit 2, nothing written -----
def _company_with(tmp_path, small_company_dir, name, frame):
    data = tmp_path / "data"
    shutil.copytree(small_company_dir, data)
    frame.to_csv(data / name, index=False)
    return data


def test_commitments_for_unknown_reps_are_refused(tmp_path, small_company_dir, capsys):
    data = _company_with(tmp_path, small_company_dir, "commitments.csv",
                         pd.DataFrame({"rep_id": ["R001", "R999"], "amount": [10.0, 20.0]}))
    params = write_params(tmp_path / "p.yaml", data, data={"dir": str(data), "commitments": "commitments.csv"})
    code = cli.main(["run", str(params), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "commitments.csv" in err and "rep_id" in err and "R999" in err and "row 2" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "runs").exists() or not any((tmp_path / "out" / "runs").iterdir())


def test_commitments_for_a_rep_without_customers_name_the_file(tmp_path, small_company_dir):
    reps = pd.read_csv(small_company_dir / "reps.csv")
    customers = pd.read_csv(small_company_dir / "customers.csv")
    idle = sorted(set(reps["rep_id"]) - set(customers["rep_id"]))[0]
    data = _company_with(tmp_path, small_company_dir, "commitments.csv",
                         pd.DataFrame({"rep_id": ["R001", idle], "amount": [10.0, 20.0]}))
    sc = load_params(write_params(tmp_path / "p.yaml", data, data={"dir": str(data), "commitments": "commitments.csv"},
                                  targets={"growth_over": "last_year"}))
    with pytest.raises(InputError, match=rf"commitments.csv: column 'rep_id'.*row\(s\) 2 \(rep_id '{idle}'\)"):
        run_step("targets", sc, io.read_inputs(sc.data), {})


@pytest.mark.parametrize("locks, said", [
    (pd.DataFrame({"level": ["region", "region"], "unit_id": ["E", "S"], "target": [6e8, 5e8]}),
     "the region locks at row(s) 1, 2 add up to 1,100,000,000, more than the company target 1,000,000,000"),
    (pd.DataFrame({"level": ["region", "province", "province"], "unit_id": ["E", "JS", "ZJ"],
                   "target": [1e6, 8e5, 4e5]}),
     "the province locks at row(s) 2, 3 add up to 1,200,000, more than the lock of their region E at row 1"),
    (pd.DataFrame({"level": ["customer"], "unit_id": ["NOPE"], "target": [100.0]}), "row 1 (customer NOPE)"),
    (pd.DataFrame({"level": ["rep"], "unit_id": ["R001"], "target": [150.0]}), "not multiples of targets.round_to"),
])
def test_locks_that_cannot_hold_are_refused_before_the_run(tmp_path, small_company_dir, capsys, locks, said):
    data = _company_with(tmp_path, small_company_dir, "locks.csv", locks)
    params = write_params(tmp_path / "p.yaml", data, data={"dir": str(data), "locks": "locks.csv"},
                          targets={"total": 1e9})
    code = cli.main(["run", str(params), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "locks.csv" in err and said in err, err
    assert not (tmp_path / "out" / "runs").exists() or not any((tmp_path / "out" / "runs").iterdir())


def test_locks_over_a_total_known_only_after_the_forecast_name_the_file(tmp_path, small_company_dir):
    """Growth over last year: the total is known in the step; the cascade's refusal names the locks file."""
    data = _company_with(tmp_path, small_company_dir, "locks.csv",
                         pd.DataFrame({"level": ["region"], "unit_id": ["E"], "target": [9e9]}))
    sc = load_params(write_params(tmp_path / "p.yaml", data, data={"dir": str(data), "locks": "locks.csv"},
                                  targets={"growth_over": "last_year"}))
    with pytest.raises(InfeasibleError, match=r"locks.csv: the locked targets at row\(s\) 1 cannot all hold") as err:
        run_step("targets", sc, io.read_inputs(sc.data), {})
    assert err.value.feasible is not None


def test_overrides_in_the_params_that_cannot_hold_are_named(tmp_path, small_company_dir):
    sc = load_params(write_params(tmp_path / "p.yaml", small_company_dir,
                                  targets={"growth_over": "last_year", "overrides": {"region": {"E": 9e9}}}))
    with pytest.raises(InfeasibleError, match=r"^targets.overrides: the fixed targets cannot all hold .*locked targets "
                                              r"add up to 9,000,000,000.00, more than the total"):
        run_step("targets", sc, io.read_inputs(sc.data), {})
