"""Territories for the planned organisation (territory.organisation: planned, the default): today's
active reps plus each planned hire, based at the hire's proposed city and starting with no accounts;
accounts move to a hire under the same limits as any move and count as disruption."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from conftest import compute_step, write_params

from salesmodel.domain import territory
from salesmodel.schema import consistency
from salesmodel.schema import tables as declared

TERRITORY = {"method": "reps", "balance_on": {"potential": 0.25, "workload": 0.30}, "max_disruption": 0.15,
             "max_distance_km": 900, "keep_whole": "province", "locked_tiers": ["VIP"]}


# ---- the core: a hire is a rep with a base and no accounts --------------------------------------

def _line(n_old: int = 12):
    """Accounts along a line of latitude: R1 holds them all, R2 (far away) none, H1 is based among them."""
    units = pd.DataFrame({"unit_id": [f"c{i:02d}" for i in range(n_old)], "lat": 30.0 + 0.05 * np.arange(n_old),
                          "lon": [120.0] * n_old, "potential": 1.0, "workload": 1.0, "current": "R1"})
    bases = pd.DataFrame({"rep_id": ["R1", "R2", "H1"], "base_lat": [30.0, 45.0, 30.55], "base_lon": [120.0] * 3})
    return units, bases


def test_a_hire_is_given_accounts_near_its_base_out_of_the_overloaded_territory():
    units, bases = _line()
    found = territory.rep_design(units, bases, balance_on={"potential": 0.1, "workload": 0.1}, max_distance_km=100,
                                 travel_weight=10.0, hold_quantiles=None)  # the demo's weight on added travel
    lab = pd.Series(found.assignment, index=units["unit_id"])
    assert (lab == "H1").sum() >= 3  # carved out of R1 (R2 is beyond the limit)
    assert (lab == "R2").sum() == 0
    km = territory.base_distances(units, bases, 1.3)
    hire = (lab == "H1").to_numpy()
    assert (km[hire, 2] <= 100 + 1e-9).all()
    # the accounts the hire takes are those nearer its base than R1's
    assert (km[hire, 2] <= km[hire, 0]).all()
    assert found.moved_accounts == hire.sum()  # a move to a hire is a hand-over: it counts as disruption


def test_no_account_goes_to_a_hire_beyond_the_distance_limit():
    units, bases = _line()
    far = bases.assign(base_lat=[30.0, 45.0, 33.0])  # the hire based 270+ road km from every account
    found = territory.rep_design(units, far, balance_on={"potential": 0.1, "workload": 0.1}, max_distance_km=100,
                                 hold_quantiles=None)
    assert "H1" not in set(found.assignment)


def test_a_hire_counts_in_the_disruption_budget():
    units, bases = _line()
    found = territory.rep_design(units, bases, balance_on={"potential": 0.1, "workload": 0.1}, max_distance_km=100,
                                 max_disruption=0.1, travel_weight=0.0, hold_quantiles=None)
    assert found.moved_accounts <= 0.1 * len(units) + 1e-9
    assert found.moved_accounts == int((found.assignment == "H1").sum())


def test_evaluate_keeps_a_territory_with_no_account_in_the_mean():
    units, _ = _line(4)
    labels = pd.Series(["R1"] * 4, index=units["unit_id"])
    plan = territory.evaluate(units, labels, balance_on={"potential": 0.1}, contiguous=False, territories=["R1", "H1"])
    m = plan.metrics.set_index("territory")
    assert plan.k == 2 and m.loc["H1", "units"] == 0
    assert m.loc["H1", "potential_dev"] == pytest.approx(-1.0) and m.loc["R1", "potential_dev"] == pytest.approx(1.0)
    assert m.loc["H1", "centre"] is None
    without = territory.evaluate(units, labels, balance_on={"potential": 0.1}, contiguous=False)
    assert without.k == 1  # default: the territories the assignment names (as before)


# ---- the step on the small company -----------------------------------------------------------------

@pytest.fixture(scope="module")
def planned(tmp_path_factory, small_company_dir):
    tmp = tmp_path_factory.mktemp("planned")
    params = write_params(tmp / "params.yaml", small_company_dir, territory=TERRITORY)
    step = compute_step("territory", params, tmp / "run")
    hires = pd.read_parquet(tmp / "run" / "tables" / "staffing_hires.parquet")
    staff = pd.read_parquet(tmp / "run" / "tables" / "staff_now.parquet")
    return step, hires, staff, tmp


def test_planned_organisation_is_today_s_reps_plus_the_new_positions(planned, small_company):
    step, hires, staff, tmp = planned
    growth = hires[hires["reason"] == "growth"]
    assert len(growth) > 0 and (hires["reason"] == "replacement").any()
    summary = step.tables["territory_summary"].set_index("plan")
    reps = small_company["reps"]
    active = reps.loc[reps["leave_date"].isna(), "rep_id"]
    assert summary.loc["proposed", "k"] == len(active) + len(growth) == staff["headcount"].sum() + len(growth)
    metrics = step.tables["territory_metrics"]
    # a replacement takes over the territory of the person it replaces: no territory of its own
    assert set(metrics.loc[metrics["plan"] == "proposed", "territory"]) == set(active) | set(growth["hire_id"])
    assert step.facts["organisation"] == "planned" and step.facts["organisation_month"] == "2027-12"
    assert step.facts["territory_hires"] == len(growth)
    # every region replaces the whole people it is expected to lose before it adds positions, so the
    # territories are the people at the year's end
    plan = pd.read_parquet(tmp / "run" / "tables" / "capacity_plan.parquet")
    by_region = plan.groupby("region_id").agg(leavers=("leavers", "sum"), hires=("hires_starting", "sum"))
    replaced = hires[hires["reason"] == "replacement"].groupby("region_id").size()
    pd.testing.assert_series_equal(replaced.reindex(by_region.index, fill_value=0),
                                   by_region[["leavers", "hires"]].min(axis=1), check_names=False, check_dtype=False)
    if (by_region["hires"] >= by_region["leavers"]).all():
        assert summary.loc["proposed", "k"] == plan.loc[plan["month"] == plan["month"].max(), "people_end"].sum()
    for name in ("territory_assignment", "territory_metrics", "territory_summary", "territory_handover",
                 "territory_comparison", "territory_travel", "staffing_hires"):
        declared.check(name, step.tables.get(name, hires))


def test_hires_get_accounts_near_their_base_within_the_limit(planned, small_company):
    step, hires, _, _ = planned
    a = step.tables["territory_assignment"]
    given = a[a["territory"].isin(hires["hire_id"])]
    assert len(given) > 0 and given["moved"].all()
    assert set(given["territory"]) <= set(hires.loc[hires["reason"] == "growth", "hire_id"])  # every account a hire holds was handed over
    customers = small_company["customers"].set_index("customer_id")
    h = hires.set_index("hire_id")
    km = territory.great_circle_km(customers.loc[given["customer_id"], "lat"], customers.loc[given["customer_id"], "lon"],
                                   h.loc[given["territory"], "base_lat"], h.loc[given["territory"], "base_lon"]) * 1.3
    np.testing.assert_allclose(km, given["distance_to_centre"].to_numpy(), rtol=1e-6)  # measured from the hire's base
    assert (given["distance_to_centre"] <= TERRITORY["max_distance_km"] + 1e-9).all()
    # near their base: closer to the hire's base than to the base of the rep who held them
    assert given["distance_to_centre"].median() < a.loc[a["moved"], "distance_to_centre"].max() + 1e-9
    today_km = step.tables["territory_comparison"].set_index("measure").loc["median_km", "today"]
    assert given["distance_to_centre"].median() <= today_km
    # keep_whole province: a hire serves its own province only
    assert (given["customer_id"].map(customers["province_id"]).to_numpy()
            == given["territory"].map(h["province_id"]).to_numpy()).all()
    # the hand-over list names the hire as the new holder; the disruption counts those accounts
    hand = step.tables["territory_handover"]
    assert set(given["customer_id"]) <= set(hand.loc[hand["direction"] == "gained", "customer_id"])
    comp = step.tables["territory_comparison"].set_index("measure")
    assert comp.loc["potential_moved", "proposed"] <= TERRITORY["max_disruption"] + 1e-9


def test_rule_territories_equal_planned_headcount(planned):
    step, hires, staff, tmp = planned
    tables = {**step.tables, "staffing_hires": hires, "staff_now": staff,
              "run_facts": pd.read_parquet(tmp / "run" / "tables" / "run_facts.parquet")}
    assert not [b for b in consistency.check(tables) if b.rule == "territories = planned headcount"]
    short = tables["territory_summary"].copy()
    short.loc[short["plan"] == "proposed", "k"] -= 1
    broken = [b for b in consistency.check({**tables, "territory_summary": short}) if b.rule == "territories = planned headcount"]
    assert broken and "staffing_hires" in broken[0].message


def test_same_params_same_planned_tables(planned, small_company_dir, tmp_path):
    step, *_ = planned
    params = write_params(tmp_path / "params.yaml", small_company_dir, territory=TERRITORY)
    again = compute_step("territory", params, tmp_path / "run")
    for name in ("territory_assignment", "territory_metrics", "territory_summary", "territory_frontier",
                 "territory_handover", "territory_comparison", "territory_travel"):
        pd.testing.assert_frame_equal(step.tables[name].reset_index(drop=True), again.tables[name].reset_index(drop=True))


# ---- organisation 'today': today's result unchanged ------------------------------------------------

# The territory tables of the small company with TERRITORY, computed by the code before territory.organisation
# existed (commit 1d7d740). Regenerate only for a deliberate change of the design: `_fingerprint` of the step's tables.
# territory_comparison since: a change that does not show at the reader's precision is "same"
BEFORE = {"territory_assignment": "c5003ddffcfabca2", "territory_beyond_limit": "4fbfa72ae480a05c",
          "territory_comparison": "efafe2aa2fe466e5", "territory_frontier": "b5b5de1582bb24c1",
          "territory_handover": "411cabe99c71cac2", "territory_metrics": "e387f16c6a88ab0e",
          "territory_moves": "190e30108652d3d4", "territory_summary": "d07358e6d5466acf",
          "territory_travel": "f9dc46ee3071fcc3"}


def _fingerprint(tables):
    out = {}
    for name in sorted(n for n, t in declared.TABLES.items() if t.step == "territory" and n in tables):
        text = tables[name].reset_index(drop=True).round(6).to_csv(index=False, float_format="%.6f")
        out[name] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return out


def test_organisation_today_gives_today_s_result_unchanged(tmp_path, small_company_dir):
    params = write_params(tmp_path / "params.yaml", small_company_dir, territory={**TERRITORY, "organisation": "today"})
    step = compute_step("territory", params, tmp_path / "run")
    # the tables there were before (targets_person came after: with 'today' it has no hire)
    assert {k: v for k, v in _fingerprint(step.tables).items() if k in BEFORE} == BEFORE
    assert set(step.tables["targets_person"]["kind"]) == {"rep"}
    assert step.facts["organisation"] == "today"
    assert not any(t.startswith("H") for t in step.tables["territory_assignment"]["territory"])


# ---- words: a hire's territory in the reader's language --------------------------------------------

@pytest.mark.parametrize(("language", "expected"), [("en", "New hire H001 (starts "), ("zh", "新招聘 H001("),
                                                     ("es", "Nueva contratación H001 (empieza en ")])
def test_pages_name_a_hire_s_territory(planned, language, expected):
    from salesmodel.report.pages import Page
    from salesmodel.run.workspace import Workspace
    from salesmodel.schema.params import load_params

    _, hires, _, tmp = planned
    params = load_params(tmp / "params.yaml")
    params = params.model_copy(update={"report": params.report.model_copy(update={"language": language})})
    page = Page(Workspace(params, tmp / "run", tmp / "params.yaml", lab=True))
    names = page.territory_names()
    assert names["H001"].startswith(expected)
    assert set(hires["hire_id"]) <= set(names)
    assert {"base_lat", "base_lon"} <= set(page.territory_bases().loc["H001"].index)
    assert page.organisation_sentence({})  # the page says which organisation the territories are for


def test_workbook_handover_sheet_names_a_hire(planned):
    from openpyxl import Workbook

    from salesmodel.report.workbook_sheets import handover_sheet

    step, hires, _, _ = planned
    hand = step.tables["territory_handover"]
    to_hire = hand[(hand["direction"] == "gained") & hand["to_rep"].isin(hires["hire_id"])]
    assert len(to_hire)
    wb = Workbook()
    handover_sheet(wb.active, hand, money_unit="thousand", language="en", hires=hires)
    cells = [str(c.value) for row in wb.active.iter_rows() for c in row if c.value is not None]
    hire = str(to_hire["to_rep"].iloc[0])
    assert any(c.startswith(f"New hire {hire} (starts ") for c in cells)


def test_a_hire_without_a_proposed_base_is_refused_naming_it(planned):
    from salesmodel.errors import InputError
    from salesmodel.pipeline import territory as step_module
    from salesmodel.pipeline._base import Context
    from salesmodel.run.workspace import Workspace
    from salesmodel.schema.params import load_params

    _, hires, _, tmp = planned
    ws = Workspace(load_params(tmp / "params.yaml"), tmp / "run", tmp / "params.yaml", lab=True)
    growth = sorted(hires.loc[hires["reason"] == "growth", "hire_id"])
    bad = hires.copy()
    bad.loc[bad["hire_id"] == growth[-1], ["base_lat", "base_lon"]] = np.nan
    ctx = Context(params=ws.params, inputs=ws.inputs(), tables={"staffing_hires": bad})
    with pytest.raises(InputError, match=growth[-1]):
        step_module.design_bases(ctx)
    ok = step_module.design_bases(Context(params=ws.params, inputs=ws.inputs(), tables={"staffing_hires": hires}))
    assert ok["rep_id"].tolist()[-len(growth):] == growth  # the new positions, after today's reps
