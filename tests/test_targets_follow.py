"""Targets follow the territories: each account's target goes to the person who holds it after the
hand-over; a planned hire carries a ramped quota from its start month and the account's vacancy holder
the rest; nothing is created or lost."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import compute_step, write_params
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmodel.domain.targets.quotas import LEDGER, person_targets, ramp_of
from salesmodel.errors import ParamsError
from salesmodel.schema import consistency

MONTHS = [f"2027-{m:02d}" for m in range(1, 13)]


def _plan(accounts: dict[str, tuple[str, str, float]]) -> pd.DataFrame:
    """customer -> (first rep, region, monthly target), the same target every month."""
    rows = [(c, rep, region, m, t) for c, (rep, region, t) in accounts.items() for m in MONTHS]
    return pd.DataFrame(rows, columns=["customer_id", "rep_id", "region_id", "period", "target"])


def test_a_hire_starting_in_april_carries_a_ramped_quota_and_the_old_rep_the_rest():
    plan = _plan({"C1": ("R1", "E", 1000.0), "C2": ("R1", "E", 400.0)})
    months, accounts = person_targets(plan, holders={"C1": "H001"}, hire_starts={"H001": "2027-04"},
                                      hire_ramps={"H001": [0.25, 0.5, 0.75]})
    hire = months[months["person_id"] == "H001"].set_index("period")["target"]
    # nothing before April; 250, 500, 750 in the ramp's three months; the whole account after
    assert hire.index.min() == "2027-04"
    assert hire.loc["2027-04":"2027-06"].tolist() == [250.0, 500.0, 750.0]
    assert (hire.loc["2027-07":] == 1000.0).all()
    assert hire.sum() == 250 + 500 + 750 + 6 * 1000
    rep = months[months["person_id"] == "R1"].set_index("period")
    # R1 keeps C2, holds C1 until April and the part of it the ramp leaves
    assert rep.loc["2027-01", "target"] == 1400.0 and rep.loc["2027-04", "target"] == 400 + 750
    assert rep.loc["2027-12", "target"] == 400.0
    assert rep["handed_over"].sum() == -12 * 1000.0
    assert rep["vacancy_held"].sum() == 3 * 1000.0 and rep["ramp_held"].sum() == 750 + 500 + 250
    assert months["target"].sum() == plan["target"].sum()
    c1 = accounts[(accounts["customer_id"] == "C1") & (accounts["period"] == "2027-04")].set_index("person_id")["share"]
    assert c1.to_dict() == {"H001": 0.25, "R1": 0.75}


def test_a_region_manager_holds_the_vacancy_and_the_rep_who_hands_over_sees_a_lower_target():
    plan = _plan({"C1": ("R1", "E", 1200.0), "C2": ("R1", "E", 300.0), "C3": ("R2", "E", 500.0)})
    months, _ = person_targets(plan, holders={"C1": "H001", "C3": "R1"}, hire_starts={"H001": "2027-07"},
                               hire_ramps={"H001": [0.5]}, vacancy_holders={"E": "M1"})
    year = months.groupby("person_id")[[*LEDGER, "target"]].sum()
    assert year.loc["R1", "target"] == 12 * (300 + 500)  # lost C1, took C3 over
    assert year.loc["R1", "taken_over"] == 12 * 500 and year.loc["R2", "target"] == 0
    assert year.loc["M1", "vacancy_held"] == 6 * 1200 and year.loc["M1", "ramp_held"] == 600
    assert year.loc["H001", "ramped_quota"] == 600 + 5 * 1200
    assert year["target"].sum() == plan["target"].sum()
    assert (year[list(LEDGER)].sum(axis=1) == year["target"]).all()


def test_rounding_keeps_whole_units_and_exact_totals():
    plan = _plan({"C1": ("R1", "N", 333.0)})
    months, _ = person_targets(plan, holders={"C1": "H1"}, hire_starts={"H1": "2027-01"}, hire_ramps={"H1": [1 / 3, 2 / 3]})
    by = months.pivot(index="period", columns="person_id", values="target")
    assert by.loc["2027-01"].tolist() == [111.0, 222.0] and by.loc["2027-02"].tolist() == [222.0, 111.0]
    assert (by.sum(axis=1) == 333.0).all()
    assert ramp_of([0.5], 0) == 0.0 and ramp_of([0.5], 1) == 0.5 and ramp_of([0.5], 2) == 1.0


@settings(max_examples=60, deadline=None)
@given(targets=st.lists(st.integers(0, 10**7), min_size=1, max_size=8),
       moves=st.lists(st.sampled_from(["keep", "R2", "H1", "H2"]), min_size=8, max_size=8),
       start_h1=st.integers(1, 12), start_h2=st.integers(1, 12),
       ramp=st.lists(st.floats(0.0, 1.0), min_size=0, max_size=4).map(sorted),
       manager=st.booleans())
def test_every_month_adds_up_whatever_the_hand_over(targets, moves, start_h1, start_h2, ramp, manager):
    accounts = {f"C{i}": ("R1" if i % 2 else "R2", "E", float(t)) for i, t in enumerate(targets)}
    plan = _plan(accounts)
    holders = {c: m for c, m in zip(accounts, moves) if m != "keep"}
    months, accounts_held = person_targets(
        plan, holders=holders, hire_starts={"H1": f"2027-{start_h1:02d}", "H2": f"2027-{start_h2:02d}"},
        hire_ramps={"H1": ramp or [1.0], "H2": [0.5]}, vacancy_holders={"E": "M"} if manager else None)
    by_month = months.groupby("period")["target"].sum()
    assert (by_month == plan.groupby("period")["target"].sum()).all()
    assert np.allclose(months[list(LEDGER)].sum(axis=1), months["target"])
    assert (months["target"] % 1 == 0).all()  # whole units
    shares = accounts_held.groupby(["period", "customer_id"])["share"].sum()
    assert np.allclose(shares, 1.0)  # every account-month is carried, in full


# ---- the step on the small company -----------------------------------------------------------------

TERRITORY = {"method": "reps", "balance_on": {"potential": 0.25, "workload": 0.30}, "max_disruption": 0.15,
             "max_distance_km": 900, "keep_whole": "province"}


@pytest.fixture(scope="module")
def followed(tmp_path_factory, small_company_dir):
    tmp = tmp_path_factory.mktemp("follow")
    params = write_params(tmp / "params.yaml", small_company_dir, territory=TERRITORY)
    compute_step("territory", params, tmp / "run")
    tables = {p.stem: pd.read_parquet(p) for p in (tmp / "run" / "tables").glob("*.parquet")}
    return tables, tmp


def test_the_step_gives_every_person_of_the_planned_organisation_a_target_that_adds_up(followed):
    tables, _ = followed
    people = tables["targets_person"]
    total = float(tables["targets_total"]["target"].iloc[0])
    assert people["target"].sum() == pytest.approx(total, abs=0.5)
    proposed_k = int(tables["territory_summary"].set_index("plan").loc["proposed", "k"])
    assert len(people) == proposed_k
    hires = people[people["kind"] == "hire"]
    listed = tables["staffing_hires"]
    assert len(hires) == (listed["reason"] == "growth").sum() > 0  # the new positions; replacements take over a territory
    assert set(hires["person_id"]) == set(listed.loc[listed["reason"] == "growth", "hire_id"])
    assert (hires["first_allocation"] == 0).all() and (hires["target"] == hires["ramped_quota"]).all()
    given_accounts = set(tables["territory_assignment"]["territory"])
    for _, hire in hires.iterrows():  # a hire with accounts has a quota; a later start, less of the year
        assert (hire["target"] > 0) == (hire["person_id"] in given_accounts)
    gave = people[people["handed_over"] < 0]
    assert len(gave) > 0 and (gave["target"] < gave["first_allocation"] + gave["taken_over"] + 1e-9).all()
    # the step's tables pass every rule, and each rule bites
    assert consistency.check(tables) == []
    broken = dict(tables, targets_person=people.drop(index=people["target"].idxmax()))
    assert any(b.rule == "company target" for b in consistency.check(broken))


def test_a_vacancy_holder_who_is_not_a_manager_of_the_region_is_refused(followed, small_company_dir):
    tables, tmp = followed
    reps = pd.read_csv(small_company_dir / "reps.csv")
    account_manager = reps[(reps["role"] == "account_manager") & reps["leave_date"].isna()].iloc[0]
    bad = dict(TERRITORY, vacancy_holders={str(account_manager["region_id"]): str(account_manager["rep_id"])})
    params = write_params(tmp / "bad.yaml", small_company_dir, territory=bad)
    with pytest.raises(ParamsError, match=rf"territory.vacancy_holders {account_manager['region_id']}: "
                                          rf"{account_manager['rep_id']}.*province manager"):
        compute_step("territory", params, tmp / "bad_run")
