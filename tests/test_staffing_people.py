"""Staffing as one organisation: productivity that replays last year, hires as people, whole
headcount, pay of a hire from the start month, no start in a blocked month, bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesmodel.domain.staffing import (
    calibrate_productivity,
    capacity_plan,
    hire_reasons,
    pay,
    people_months,
    plan_hires,
    replay,
    replay_window,
    team_months,
    whole_headcount,
)
from salesmodel.errors import ParamsError

WINDOW = pd.period_range("2026-01", "2026-12", freq="M")
RAMP = [0.25, 0.5, 0.75, 1.0]
SEASON = pd.Series([1.4, 0.5, 0.9, 0.9, 0.9, 1.0, 1.0, 1.0, 1.2, 1.0, 1.0, 1.25], index=range(1, 13))
SEASON = SEASON / SEASON.mean()


def _company() -> tuple[pd.DataFrame, dict[str, float]]:
    """Two regions with known mature volumes; a rep hired mid-year, a leaver, a province manager."""
    reps = pd.DataFrame([
        # North: 100 a month each (season index 1)
        ("n1", "N", "account_manager", "2018-03-01", None),
        ("n2", "N", "account_manager", "2019-06-01", None),
        ("n3", "N", "account_manager", "2026-05-01", None),   # new: ramps May..Aug
        ("n4", "N", "account_manager", "2017-01-01", "2026-06-30"),  # left at the end of June
        # South: 250 a month each
        ("s1", "S", "province_manager", "2015-01-01", None),
        ("s2", "S", "account_manager", "2020-01-01", None),
        ("s3", "S", "account_manager", "2026-09-01", None),
    ], columns=["rep_id", "region_id", "role", "hire_date", "leave_date"])
    reps["hire_date"] = pd.to_datetime(reps["hire_date"])
    reps["leave_date"] = pd.to_datetime(reps["leave_date"])
    return reps, {"N": 100.0, "S": 250.0}


def _sales(reps: pd.DataFrame, level: dict[str, float], *, leaver_to: dict[str, str] | None = None) -> pd.DataFrame:
    """Sales exactly as the model says: volume x share of the month employed x ramp x season; a leaver's
    book is credited to a colleague (the data hold only the customer's current rep)."""
    tm = team_months(reps, WINDOW, RAMP)
    region = reps.set_index("rep_id")["region_id"]
    tm["amount"] = tm["rep_id"].map(region).map(level) * tm["employed"] * tm["ramp"] * SEASON.reindex(tm["month"].dt.month).to_numpy()
    if leaver_to:
        tm["rep_id"] = tm["rep_id"].replace(leaver_to)
    return tm[["rep_id", "month", "amount"]]


def test_team_months_share_employed_and_ramp():
    reps, _ = _company()
    tm = team_months(reps, WINDOW, RAMP).set_index(["rep_id", "month"])
    assert tm.loc[("n3", pd.Period("2026-05", "M")), "ramp"] == 0.25
    assert tm.loc[("n3", pd.Period("2026-08", "M")), "ramp"] == 1.0
    assert ("n3", pd.Period("2026-04", "M")) not in tm.index
    assert tm.loc[("n4", pd.Period("2026-06", "M")), "employed"] == 1.0
    assert ("n4", pd.Period("2026-07", "M")) not in tm.index
    half = reps.assign(hire_date=pd.to_datetime(["2018-03-01", "2019-06-01", "2026-05-16", "2017-01-01",
                                                 "2015-01-01", "2020-01-01", "2026-09-01"]))
    got = team_months(half, WINDOW, RAMP).set_index(["rep_id", "month"]).loc[("n3", pd.Period("2026-05", "M")), "employed"]
    assert got == pytest.approx(16 / 31)


def test_replay_of_a_company_with_known_productivity():
    """Sales made by the model itself: the calibration finds the volumes and the replay meets every month."""
    reps, level = _company()
    sales = _sales(reps, level)
    cal = calibrate_productivity(sales, reps, months=WINDOW, ramp=RAMP, season=SEASON, shrink_months=6)
    got = cal.regions.set_index("region_id")["productivity"]
    assert got["N"] == pytest.approx(100.0)
    assert got["S"] == pytest.approx(250.0)
    assert cal.role_factors["province_manager"] == pytest.approx(1.0)
    per_rep = cal.reps.set_index("rep_id")["productivity"]
    assert per_rep[["n1", "n2", "n3", "n4"]].to_numpy() == pytest.approx([100.0] * 4)
    actual = sales.assign(region_id=sales["rep_id"].map(reps.set_index("rep_id")["region_id"]))
    out = replay(cal.reps, reps, months=WINDOW, ramp=RAMP, season=SEASON, actual=actual)
    assert out["difference"].abs().max() < 1e-9
    assert len(out) == 24 and set(out["month"]) == {str(m) for m in WINDOW}


def test_replay_with_a_leaver_and_a_strong_rep_stays_within_tolerance():
    """A leaver's book credited to a colleague and one rep 30% above the region: the region level still
    replays the region exactly, the strong rep stays above it, and the replay meets each region's year."""
    reps, level = _company()
    sales = _sales(reps, level, leaver_to={"n4": "n1"})
    strong = sales["rep_id"] == "s2"
    sales.loc[strong, "amount"] *= 1.3
    cal = calibrate_productivity(sales, reps, months=WINDOW, ramp=RAMP, season=SEASON, shrink_months=12)
    per_rep = cal.reps.set_index("rep_id")
    assert per_rep.loc["n4", "source"] == "region"  # left: no book of their own
    assert per_rep.loc["s2", "productivity"] > per_rep.loc["s3", "productivity"]
    actual = sales.assign(region_id=sales["rep_id"].map(reps.set_index("rep_id")["region_id"]))
    out = replay(cal.reps, reps, months=WINDOW, ramp=RAMP, season=SEASON, actual=actual)
    year = out.groupby("region_id")[["modelled", "actual"]].sum()
    assert (year["modelled"] / year["actual"] - 1).abs().max() < 1e-9
    # the region level alone (everyone at it) replays the region too: sales over weighted FTE-months
    tm = team_months(reps, WINDOW, RAMP)
    tm["w"] = tm["employed"] * tm["ramp"] * SEASON.reindex(tm["month"].dt.month).to_numpy()
    tm["f"] = tm["rep_id"].map(reps.set_index("rep_id")["role"]).map(cal.role_factors)
    w = (tm["w"] * tm["f"]).groupby(tm["rep_id"].map(reps.set_index("rep_id")["region_id"])).sum()
    level_got = cal.regions.set_index("region_id")["productivity"]
    assert (level_got * w).to_numpy() == pytest.approx(year["actual"].to_numpy())


def test_a_role_without_history_is_named_and_assumed_at_the_base_level():
    reps, level = _company()
    cal = calibrate_productivity(_sales(reps, level), reps, months=WINDOW, ramp=RAMP, season=SEASON,
                                 roles=["key_account_manager"])
    assert cal.roles_without_history == ["key_account_manager"]
    assert cal.role_factors["key_account_manager"] == 1.0


def test_replay_window_is_the_last_twelve_complete_months():
    assert str(replay_window("2026-10-31")[0]) == "2025-11" and str(replay_window("2026-10-31")[-1]) == "2026-10"
    assert str(replay_window("2026-10-15")[-1]) == "2026-09"


def test_calibrated_reps_above_the_team_need_fewer_hires():
    """start_weight: the same team, each person at 1.5 x the region's level, covers more of the target."""
    t = pd.Series([1500.0] * 12, index=pd.period_range("2027-01", periods=12, freq="M"))
    base = dict(productivity=100, ramp=[0.5, 1.0], attrition=0.0, hire_lead_months=0, start_headcount=10, min_reach=0.0)
    plain = capacity_plan(t, **base)
    strong = capacity_plan(t, **base, start_weight=[1.5] * 10)
    assert plain.attrs["total_hires"] > 0 and strong.attrs["total_hires"] == 0
    with pytest.raises(ParamsError, match="start_weight"):
        capacity_plan(t, **base, start_weight=[1.0] * 3)


def test_no_start_in_a_blocked_month():
    """Without a rule the plan starts people in February; with February blocked nobody starts then,
    they start in January (before it) or March (after it), and the hires table says which."""
    months = pd.period_range("2027-01", periods=6, freq="M")
    target = pd.DataFrame({"team": "N", "month": months, "target": [1000.0, 1000.0, 1400.0, 1400.0, 1400.0, 1400.0]})
    args = dict(productivity=100, ramp=[1.0], attrition=0.0, hire_lead_months=0, start_headcount={"N": 10},
                min_reach=0.0)
    free = capacity_plan(target, **args)
    assert free["hires_starting"].tolist() == [0, 0, 4, 0, 0, 0]
    target2 = target.assign(target=[1000.0, 1200.0, 1400.0, 1400.0, 1400.0, 1400.0])
    free2 = capacity_plan(target2, **args)
    assert free2["hires_starting"].iloc[1] == 2
    blocked = capacity_plan(target2, **args, blocked_months=["2027-02"])
    assert blocked["hires_starting"].iloc[1] == 0
    assert blocked["hires_starting"].iloc[0] == 2  # before: February still needs them
    assert not blocked["shortfall"].any()
    plan = blocked.rename(columns={"team": "region_id"}).assign(month=lambda d: d["month"].astype(str))
    hires = plan_hires(plan, ramp=[1.0], role="account_manager", hire_lead_months=0, blocked_months=["2027-02"])
    assert hires["hire_id"].tolist() == ["H001", "H002", "H003", "H004"]
    assert (hires["start_month"] != "2027-02").all()
    first = hires[hires["start_month"] == "2027-01"]
    assert (first["start_side"] == "before").all() and (first["blocked_month"] == "2027-02").all()
    later = hires[hires["start_month"] == "2027-03"]
    assert (later["start_side"] == "after").all()


def test_hires_replace_the_expected_leavers_first_and_the_rest_are_new_positions():
    """A region expected to lose 2 people with 3 hires: the last 2 (people leave through the year) replace them
    and the first is a new position; a region losing more than it hires only replaces; a region losing
    nobody only grows."""
    hires = pd.DataFrame({"hire_id": ["H001", "H002", "H003", "H004", "H005", "H006"],
                          "region_id": ["E", "N", "E", "E", "S", "N"],
                          "start_month": ["2027-01", "2027-01", "2027-03", "2027-09", "2027-05", "2027-02"]})
    reason = hire_reasons(hires, {"E": 2, "N": 5})
    assert reason.tolist() == ["growth", "replacement", "replacement", "replacement", "growth", "replacement"]
    # plan_hires says the same from the capacity plan's whole leavers
    plan = pd.DataFrame({"region_id": ["E", "E", "E"], "month": ["2027-01", "2027-03", "2027-09"],
                         "hires_starting": [1, 1, 1]})
    listed = plan_hires(plan, ramp=[1.0], role="account_manager", hire_lead_months=1, leavers={"E": 2})
    assert listed["reason"].tolist() == ["growth", "replacement", "replacement"]
    assert plan_hires(plan, ramp=[1.0], role="account_manager", hire_lead_months=1)["reason"].eq("growth").all()
    with pytest.raises(ParamsError, match=r"leavers\[E\]"):
        hire_reasons(hires, {"E": -1})


def test_whole_headcount_carries_from_month_to_month():
    t = pd.DataFrame({"team": ["N"] * 12 + ["S"] * 12,
                      "month": list(pd.period_range("2027-01", periods=12, freq="M")) * 2,
                      "target": [1200.0] * 12 + [700.0] * 12})
    plan = capacity_plan(t, productivity=100, ramp=[0.5, 1.0], attrition=0.25, hire_lead_months=1,
                         start_headcount={"N": 11, "S": 7}, min_reach=0.0).rename(columns={"team": "region_id"})
    plan["month"] = plan["month"].astype(str)
    whole = whole_headcount(plan)
    for _, g in whole.groupby("region_id"):
        start, end = g["people_start"].to_numpy(), g["people_end"].to_numpy()
        assert (start[1:] == end[:-1] + g["hires_starting"].to_numpy()[1:]).all()
        assert (end == start - g["leavers"].to_numpy()).all()
        assert abs(end[-1] - g["headcount_end"].iloc[-1]) <= 0.5 + 1e-9
    assert whole["people_end"].dtype.kind == "i"


def test_pay_for_a_hire_starting_mid_year():
    """A hire starting in July is paid from July only, with the ramp in the standard volume."""
    months = pd.period_range("2027-01", periods=12, freq="M")
    people = pd.DataFrame({"person_id": ["R1", "H001"], "region_id": ["N", "N"], "productivity": [100_000.0, 80_000.0],
                           "start_month": [None, "2027-07"], "tenure_months": [40, 0]})
    rows = people_months(people, months, ramp=[0.5, 1.0])
    hire = rows[rows["person_id"] == "H001"]
    assert hire["month"].tolist() == [str(m) for m in months[6:]]
    assert hire["standard"].tolist() == [40_000.0] + [80_000.0] * 5
    assert (rows[rows["person_id"] == "R1"]["standard"] == 100_000.0).all()
    cost = pay(hire.assign(target=hire["standard"], sales=hire["standard"]), plan={"base_salary": 5000})
    assert len(cost) == 6
    assert cost["base_pay"].tolist() == pytest.approx([5000.0] * 6)
    assert cost["commission"].tolist() == pytest.approx([400.0] + [800.0] * 5)


def test_hiring_rules_no_month_can_satisfy_are_bad_params():
    from salesmodel.schema.params import StaffingParams

    with pytest.raises(ValueError, match="no_start_months"):
        StaffingParams(no_start_months=list(range(1, 13)))
    with pytest.raises(ValueError, match="no_start_months"):
        StaffingParams(no_start_months=[13])
    with pytest.raises(ValueError, match="ramp"):
        StaffingParams(ramp=[0.5, 0.25, 1.0])
    with pytest.raises(ValueError, match="ramp"):
        StaffingParams(ramp=[0.5, 1.5])
    assert np.isclose(StaffingParams().replay_tolerance, 0.03)


def test_most_starts_per_month_across_the_company():
    """Two teams that each want 3 starters in March: with the company's limit of 4 a month, at most 4 start
    in any month and every month is still met (some start earlier)."""
    months = pd.period_range("2027-01", periods=6, freq="M")
    target = pd.DataFrame({"team": np.repeat(["N", "S"], 6), "month": list(months) * 2,
                           "target": [1000.0, 1000.0, 1300.0, 1300.0, 1300.0, 1300.0] * 2})
    args = dict(productivity=100, ramp=[1.0], attrition=0.0, hire_lead_months=0, start_headcount={"N": 10, "S": 10},
                min_reach=0.0)
    free = capacity_plan(target, **args)
    assert free.groupby("month")["hires_starting"].sum().max() == 6
    limited = capacity_plan(target, **args, max_starts_per_month=4)
    by_month = limited.groupby("month")["hires_starting"].sum()
    assert by_month.max() <= 4 and by_month.sum() == 6
    assert not limited["shortfall"].any()
    assert limited.attrs["teams"]["N"]["method"] == "milp (company limit)"
