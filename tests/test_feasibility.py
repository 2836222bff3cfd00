"""Requests refused before anything runs (salesmodel.pipeline.feasibility).

Hand-made customers, reps, sales and locks whose feasible ranges are known by arithmetic; the tests
read the errors' data (feasible ranges, failure rows), never their wording.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salesmodel.errors import InfeasibleError, InputError, ParamsError
from salesmodel.pipeline import feasibility as F
from salesmodel.schema.params import params_from_dict


def _scenario(**sections):
    return params_from_dict(sections)


def _customers(potentials, *, churned=()) -> pd.DataFrame:
    n = len(potentials)
    return pd.DataFrame({
        "customer_id": [f"C{i:03d}" for i in range(n)], "potential": [float(p) for p in potentials],
        "rep_id": [f"R{i % 2}" for i in range(n)], "lat": np.linspace(30, 31, n), "lon": np.linspace(120, 121, n),
        "churn_date": [pd.Timestamp("2026-01-01") if i in churned else pd.NaT for i in range(n)],
    })


def _reps(n: int, *, left=()) -> pd.DataFrame:
    return pd.DataFrame({
        "rep_id": [f"R{i}" for i in range(n)], "province_id": ["P1"] * n, "region_id": ["E"] * n,
        "hire_date": [pd.Timestamp("2020-01-01")] * n,
        "leave_date": [pd.Timestamp("2025-06-30") if i in left else pd.NaT for i in range(n)],
    })


# ---------------------------------------------------------------------------------- plan year

def test_a_plan_year_inside_the_history_is_refused():
    sales = pd.DataFrame({"date": pd.to_datetime(["2025-01-01", "2026-03-31"])})
    F.check_plan_year(_scenario(calendar={"plan_year": 2027}), sales)  # after the history: fine
    with pytest.raises(ParamsError):
        F.check_plan_year(_scenario(calendar={"plan_year": 2026}), sales)
    F.check_plan_year(_scenario(calendar={"plan_year": 2026}), None)  # no history: nothing to argue


# ---------------------------------------------------------------------------------- territories

def test_one_customer_above_the_tolerance_gives_the_smallest_tolerance_and_the_largest_k():
    potentials = [100.0] * 9 + [700.0]  # total 1,600; 4 territories: mean 400; C009 is 75% above it
    scenario = _scenario(territory={"k": 4, "balance_on": {"potential": 0.05}, "method": "heuristic", "contiguous": False})
    with pytest.raises(InfeasibleError) as caught:
        F.check_territory_balance(scenario, _customers(potentials), _reps(4))
    over = 700 / 400 - 1
    k_max = math.floor(1600 * 1.05 / 700)
    assert caught.value.feasible == {"potential": math.ceil(over * 1000) / 1000, "k": (1, k_max)}
    assert caught.value.exit_code == 2


def test_a_tolerance_the_largest_customer_fits_passes():
    scenario = _scenario(territory={"k": 4, "balance_on": {"potential": 0.80}, "method": "heuristic", "contiguous": False})
    F.check_territory_balance(scenario, _customers([100.0] * 9 + [700.0]), _reps(4))


def test_more_territories_than_active_customers():
    scenario = _scenario(territory={"k": 5, "balance_on": {"potential": 0.5}, "method": "heuristic", "contiguous": False})
    with pytest.raises(InfeasibleError) as caught:
        F.check_territory_balance(scenario, _customers([1.0] * 6, churned=(0, 1)), _reps(5))
    assert caught.value.feasible == {"k": (1, 4)}


def test_k_defaults_to_the_reps_who_stay():
    # potential 6 in all, the largest customer 3: two territories (mean 3) hold it exactly, three (mean 2) cannot
    scenario = _scenario(territory={"balance_on": {"potential": 0.04}, "method": "heuristic", "contiguous": False})
    customers = _customers([1.0, 1.0, 1.0, 3.0])
    F.check_territory_balance(scenario, customers, _reps(3, left=(2,)))  # one of the three reps has left: k = 2
    with pytest.raises(InfeasibleError) as caught:
        F.check_territory_balance(scenario, customers, _reps(3))
    assert caught.value.feasible == {"potential": 0.5, "k": (1, math.floor(6 * 1.04 / 3))}


def test_no_potential_tolerance_no_argument():
    scenario = _scenario(territory={"k": 4, "balance_on": {"workload": 0.01}, "method": "heuristic", "contiguous": False})
    F.check_territory_balance(scenario, _customers([100.0] * 9 + [700.0]), _reps(4))


# ---------------------------------------------------------------------------------- hiring

def _sales_last_year(total: float) -> pd.DataFrame:
    days = pd.date_range("2026-01-01", "2026-12-31", freq="D")
    return pd.DataFrame({"date": days, "customer_id": "C000", "product": "A", "channel": "offline",
                         "amount": total / len(days), "units": 1})


def test_no_hires_and_a_target_above_what_the_team_can_sell():
    # 2 reps at 1,000 a month, full attainment: at most 24,000 in the plan year
    staffing = {"max_hires_per_month": 0, "productivity": 1000.0, "attainment": 1.0}
    inputs = {"sales": _sales_last_year(20_000), "customers": _customers([1.0]), "reps": _reps(2)}
    with pytest.raises(InfeasibleError) as caught:
        F.check_hiring(_scenario(staffing=staffing, targets={"total": 30_000}), inputs)
    assert caught.value.feasible == {"target": (0.0, 24_000.0)}
    F.check_hiring(_scenario(staffing=staffing, targets={"total": 24_000}), inputs)  # within the margin
    F.check_hiring(_scenario(staffing={**staffing, "max_hires_per_month": 1}, targets={"total": 30_000}), inputs)


def test_no_hires_and_growth_over_a_complete_last_year():
    staffing = {"max_hires_per_month": 0, "productivity": 1000.0, "attainment": 1.0}
    inputs = {"sales": _sales_last_year(20_000), "customers": _customers([1.0]), "reps": _reps(2)}
    targets = {"growth_over": "last_year", "growth": 0.5}  # 30,000 asked of a team that can sell 24,000
    with pytest.raises(InfeasibleError) as caught:
        F.check_hiring(_scenario(staffing=staffing, targets=targets), inputs)
    assert caught.value.feasible == {"target": (0.0, 24_000.0)}


# ---------------------------------------------------------------------------------- locks

def _lock_inputs(locks: pd.DataFrame) -> dict[str, pd.DataFrame]:
    customers = _customers([1.0, 1.0, 1.0, 1.0])  # C000, C002 with R0; C001, C003 with R1
    reps = _reps(2)
    return {"customers": customers, "reps": reps, "locks": locks}


def _locks(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["level", "unit_id", "target"])


def test_locks_the_plan_does_not_have_name_their_rows():
    locks = _locks([("rep", "R0", 500.0), ("customer", "C999", 100.0), ("region", "W", 100.0)])
    with pytest.raises(InputError) as caught:
        F.check_locks(_scenario(), _lock_inputs(locks), "locks.csv")
    failure = caught.value.failures.iloc[0]
    assert (failure["file"], failure["column"], failure["check"], failure["rows"], failure["count"]) == (
        "locks.csv", "unit_id", "unit_of_the_plan", [2, 3], 2)


def test_locks_off_the_rounding_name_their_rows():
    locks = _locks([("rep", "R0", 500.0), ("rep", "R1", 550.0)])
    with pytest.raises(InputError) as caught:
        F.check_locks(_scenario(targets={"round_to": 100}), _lock_inputs(locks))
    failure = caught.value.failures.iloc[0]
    assert (failure["column"], failure["check"], failure["rows"], failure["found"]) == ("target", "multiple_of_round_to", [2], [550.0])


def test_locks_above_the_company_target():
    locks = _locks([("rep", "R0", 600.0), ("rep", "R1", 500.0)])
    with pytest.raises(InfeasibleError) as caught:
        F.check_locks(_scenario(targets={"total": 1000, "stretch": 1.0}), _lock_inputs(locks))
    assert caught.value.feasible == (0.0, 1000.0)
    F.check_locks(_scenario(targets={"total": 1000, "stretch": 1.1}), _lock_inputs(locks))  # 1,100 holds them


def test_child_locks_above_their_parent_lock():
    locks = _locks([("rep", "R0", 300.0), ("customer", "C000", 200.0), ("customer", "C002", 200.0)])
    with pytest.raises(InfeasibleError) as caught:
        F.check_locks(_scenario(), _lock_inputs(locks))
    assert caught.value.feasible == (400.0, float("inf"))
    F.check_locks(_scenario(), _lock_inputs(_locks([("rep", "R0", 400.0), ("customer", "C000", 200.0),
                                                    ("customer", "C002", 200.0)])))


def test_no_locks_no_check():
    F.check_locks(_scenario(), {"customers": _customers([1.0]), "reps": _reps(1)})
    F.check_locks(_scenario(), _lock_inputs(_locks([])))


def test_check_feasible_runs_every_check(monkeypatch):
    called = []
    for name in ("check_locks", "check_plan_year", "check_territory_balance", "check_territory_reps", "check_hiring"):
        monkeypatch.setattr(F, name, lambda *a, _n=name, **k: called.append(_n))
    F.check_feasible(_scenario(), {})
    assert called == ["check_locks", "check_plan_year", "check_territory_balance", "check_territory_reps", "check_hiring"]
    called.clear()
    F.check_feasible(_scenario(), {}, territory_checked=True)
    assert "check_territory_balance" not in called
