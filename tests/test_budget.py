"""The sales expense budget (issue 12): categories, caps, exact down to region, rep and month."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import write_params

from salesmodel import cli, io
from salesmodel.domain.targets.budget import budget_totals, expense_budget
from salesmodel.errors import ParamsError
from salesmodel.pipeline import run_step
from salesmodel.schema import consistency
from salesmodel.schema.params import load_params

CATEGORIES = {"activities": {"share": 0.01}, "promotion": {"share": 0.02, "cap": 1_500_000},
              "people": {"amount": 2_400_000, "basis": "reps"}, "travel": {"share": 0.005}}


def test_budget_totals_worked_numbers():
    """Target 100,000,000: activities 1% = 1,000,000; promotion 2% = 2,000,000 capped at 1,500,000;
    people 2,400,000 fixed; travel 0.5% = 500,000; 5,400,000 in all. Capped at 5% (5,000,000), each is
    scaled by 5/5.4: 925,925.9 -> 925,900; 1,388,888.9 -> 1,388,900; 2,222,222.2 -> 2,222,200;
    462,963.0 -> 463,000 (largest remainder: 5,000,000 exactly)."""
    free = budget_totals(100_000_000, CATEGORIES, round_to=100)
    assert free["budget"].tolist() == [1_000_000, 1_500_000, 2_400_000, 500_000]
    assert free["capped"].tolist() == ["none", "category", "none", "none"]
    capped = budget_totals(100_000_000, CATEGORIES, cap_share=0.05, round_to=100)
    assert capped["budget"].tolist() == [925_900, 1_388_900, 2_222_200, 463_000]
    assert capped["budget"].sum() == 5_000_000 and set(capped["capped"]) == {"overall"}


def test_expense_budget_is_exact_at_every_level():
    """Two regions, three reps, two months; promotion 10% of 1,000 by target, people 90 evenly per rep."""
    plan = pd.DataFrame({"rep_id": ["a", "a", "b", "b", "c", "c"], "period": ["2027-01", "2027-02"] * 3,
                         "start": pd.to_datetime(["2027-01-01", "2027-02-01"] * 3),
                         "end": pd.to_datetime(["2027-01-31", "2027-02-28"] * 3),
                         "target": [300.0, 100.0, 200.0, 100.0, 150.0, 150.0]})
    reps = pd.DataFrame({"rep_id": ["a", "b", "c"], "region_id": ["N", "N", "S"], "province_id": ["BJ", "BJ", "GD"]})
    totals = budget_totals(1000.0, {"promotion": {"share": 0.1}, "people": {"amount": 90.0, "basis": "reps"}}, round_to=1)
    out = expense_budget(plan, reps, totals, round_to=1)
    promo = out[out["category"] == "promotion"].set_index(["rep_id", "period"])["budget"]
    # regions N 700 -> 70, S 300 -> 30; a 40 (30 + 10), b 30 (20 + 10), c 30 (15 + 15)
    assert promo.tolist() == [30.0, 10.0, 20.0, 10.0, 15.0, 15.0]
    people = out[out["category"] == "people"].groupby("rep_id")["budget"].sum()
    assert people.tolist() == [30.0, 30.0, 30.0]  # N has two reps (60), S one (30), each month 15
    assert out.groupby("category")["budget"].sum().to_dict() == {"people": 90.0, "promotion": 100.0}


def test_the_budget_through_the_targets_step(tmp_path, small_company_dir):
    params = write_params(tmp_path / "p.yaml", small_company_dir,
                          targets={"total": 100_000_000, "growth_bounds": None},
                          budget={"categories": CATEGORIES, "cap_share": 0.05})
    sc = load_params(params)
    tables = run_step("targets", sc, io.read_inputs(sc.data), {}).tables
    totals = tables["budget_total"].set_index("category")
    assert totals["budget"].to_dict() == {"activities": 925_900, "promotion": 1_388_900, "people": 2_222_200,
                                          "travel": 463_000}
    cells = tables["budget_rep_month"]
    assert (np.mod(cells["budget"], 100) == 0).all() and len(cells) == 4 * len(tables["plan_rep_month"])
    # promotion follows the targets: a rep's year is its target's share of the company's, within one step of 100
    promo = cells[cells["category"] == "promotion"].groupby("rep_id")["budget"].sum()
    share = tables["targets_rep"].set_index("rep_id")["target"] / 100_000_000
    assert (promo - share.reindex(promo.index) * 1_388_900).abs().max() <= 100
    # people: evenly per rep, whatever the target
    people = cells[cells["category"] == "people"].groupby("rep_id")["budget"].sum()
    assert people.max() - people.min() <= 100 and people.sum() == 2_222_200
    regions = tables["budget_region"]
    assert regions.groupby("category")["budget"].sum().to_dict() == totals["budget"].to_dict()
    assert consistency.check(tables) == []


def test_shares_over_100_percent_are_refused(tmp_path, small_company_dir, capsys):
    params = write_params(tmp_path / "p.yaml", small_company_dir,
                          budget={"categories": {"promotion": {"share": 0.7}, "travel": {"share": 0.4}}})
    with pytest.raises(ParamsError, match=r"shares of the target add up to 110.0%, over 100%"):
        load_params(params)
    assert cli.main(["validate", str(params)]) == 2
    err = capsys.readouterr().err
    assert "budget.categories" in err and "110.0%" in err and "Traceback" not in err


def test_a_category_needs_a_share_or_an_amount(tmp_path, small_company_dir):
    params = write_params(tmp_path / "p.yaml", small_company_dir,
                          budget={"categories": {"promotion": {"share": 0.1, "amount": 5.0}}})
    with pytest.raises(ParamsError, match=r"budget.categories.promotion.*either a share of the target or a fixed amount"):
        load_params(params)


def test_expense_budget_pay_basis_follows_the_pay_plan():
    """basis pay: regions get what their people's pay plan costs (hires included), reps and months as their pay falls."""
    plan = pd.DataFrame({"rep_id": ["a", "a", "b", "b"], "period": ["2027-01", "2027-02"] * 2,
                         "start": pd.to_datetime(["2027-01-01", "2027-02-01"] * 2),
                         "end": pd.to_datetime(["2027-01-31", "2027-02-28"] * 2), "target": [100.0] * 4})
    reps = pd.DataFrame({"rep_id": ["a", "b"], "region_id": ["N", "S"], "province_id": ["BJ", "GD"]})
    pay = pd.DataFrame({"rep_id": ["a", "a", "b", "b", "H001"], "region_id": ["N", "N", "S", "S", "S"],
                        "period": ["2027-01", "2027-02", "2027-01", "2027-02", "2027-02"],
                        "amount": [10.0, 20.0, 10.0, 10.0, 30.0]})
    totals = budget_totals(1000.0, {"people": {"amount": 80.0, "basis": "pay"}}, round_to=1)
    out = expense_budget(plan, reps, totals, round_to=1, pay=pay).set_index(["rep_id", "period"])["budget"]
    assert out.groupby(level=0).sum().to_dict() == {"a": 30.0, "b": 50.0}  # S: b's 20 and the hire's 30
    assert out[("a", "2027-02")] == 20.0


def test_the_people_line_is_the_pay_plan_unless_an_amount_is_given(tmp_path, small_company_dir):
    from salesmodel.pipeline import run_plan

    cats = {"activities": {"share": 0.01}, "people": {"basis": "pay"}}
    params = write_params(tmp_path / "p.yaml", small_company_dir, budget={"categories": cats})
    sc = load_params(params)
    tables = run_plan(sc, io.read_inputs(sc.data), upto="staffing").tables
    totals = tables["budget_total"].set_index("category")
    pay = tables["pay_cost"].query("scenario == '100%'")
    assert totals.loc["people", "asked"] == pytest.approx(pay["expected_pay"].sum())
    assert bool(totals.loc["people", "from_pay"]) and not bool(totals.loc["activities", "from_pay"])
    assert [b.message for b in consistency.check(tables)] == []
    fixed = load_params(write_params(tmp_path / "q.yaml", small_company_dir,
                                     budget={"categories": {"people": {"basis": "pay", "amount": 1_000_000}}}))
    fixed_tables = run_step("targets", fixed, io.read_inputs(fixed.data), tables).tables
    assert fixed_tables["budget_total"].set_index("category").loc["people", "budget"] == 1_000_000
