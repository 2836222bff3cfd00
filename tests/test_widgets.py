"""The explorers, driven programmatically: set a control, check the result changed correctly."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from conftest import eight_customers
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmodel.domain import staffing, targets, territory
from salesmodel.errors import InputError, ParamsError
from salesmodel.schema.vocabulary import word
from salesmodel.widgets import (
    RAMP_SHAPES,
    StaffingExplorer,
    TargetExplorer,
    TerritoryExplorer,
    ramp_curve,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PNG = b"\x89PNG"


def _multiple(value: float, step: float) -> float:
    return float(np.rint(value / step) * step)


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------
@pytest.fixture
def units():
    """Eight customers in two regions; C8 is new (no last year)."""
    return eight_customers()


def _explorer(units, **kw):
    kw.setdefault("keys", "customer_id")
    kw.setdefault("money_unit", "yuan")
    return TargetExplorer(units, **kw)


def test_growth_change_sets_the_total_exactly(units):
    ex = _explorer(units, growth=0.12, weights={"last_year": 0.7, "potential": 0.3})
    base = units["last_year"].sum()
    assert ex.result["target"].sum() == _multiple(base * 1.12, 100)
    ex.growth.value = 0.20
    assert ex.message == ""
    assert ex.result["target"].sum() == _multiple(base * 1.20, 100)
    ex.stretch.value = 1.25
    expected = _multiple(_multiple(base * 1.20, 100) * 1.25, 100)
    assert ex.result["target"].sum() == expected
    assert ex.result.attrs["total"] == expected
    assert (ex.result["target"] % 100 == 0).all()
    # the explorer is the core verb, nothing more
    direct = targets.decompose(_multiple(base * 1.20, 100), units, basis={"last_year": 0.7, "potential": 0.3},
                               reference="last_year", growth_bounds=(-0.10, 0.40), round_to=100, stretch=1.25,
                               keys="customer_id")
    pd.testing.assert_frame_equal(ex.result, direct)
    assert ex.last_update_seconds is not None and ex.last_update_seconds > 0


def test_bound_slider_is_respected(units):
    ex = _explorer(units, growth=0.20, weights={"last_year": 0.2, "potential": 0.8}, growth_bounds=(-0.5, 1.0))
    wide = ex.result.set_index("customer_id")["growth"]
    assert wide.max() > 0.30  # potential pulls some customers far above +30%
    ex.bounds.value = (0.05, 0.30)
    g = ex.result.set_index("customer_id")
    bounded = g[g["last_year"] > 0]
    step = 100 / bounded["last_year"]  # one rounding step of slack
    assert (bounded["growth"] <= 0.30 + step + 1e-12).all()
    assert (bounded["growth"] >= 0.05 - step - 1e-12).all()
    assert (g["bound_applied"] == "upper").any()
    assert g["target"].sum() == _multiple(units["last_year"].sum() * 1.20, 100)
    # switching the bounds off gives the unbounded split back
    ex.use_bounds.value = False
    assert (ex.result["bound_applied"] == "none").all()


def test_infeasible_bounds_show_the_message_and_keep_the_result(units):
    ex = _explorer(units, growth=0.10)
    before = ex.result
    ex.bounds.value = (0.30, 0.50)  # everyone must grow 30%, the total grows 10%
    assert ex.result is before
    assert "feasible range" in ex.message
    assert "Traceback" not in ex.status.value
    assert "feasible range" in ex.status.value and "previous result is kept" in ex.status.value
    # raising the growth into the feasible range recovers
    ex.growth.value = 0.35
    assert ex.message == ""
    assert ex.result is not before
    assert ex.result["target"].sum() == _multiple(units["last_year"].sum() * 1.35, 100)


def test_weights_are_renormalised_and_all_zero_is_refused(units):
    ex = _explorer(units, weights={"last_year": 0.6, "potential": 0.6})
    assert ex.blend() == pytest.approx({"last_year": 0.5, "potential": 0.5})
    assert "50%" in ex.blend_label.value
    ex.weights["potential"].value = 0.0
    assert ex.blend() == {"last_year": 1.0}
    assert "share_potential" not in ex.result.columns
    kept = ex.result
    ex.weights["last_year"].value = 0.0
    assert ex.result is kept
    assert "weight above zero" in ex.message


def test_total_mode(units):
    ex = _explorer(units, total=50_000, growth_bounds=None)
    assert ex.growth is None
    assert ex.result["target"].sum() == 50_000
    ex.total.value = 61_000
    assert ex.result["target"].sum() == 61_000
    assert ex.task == 61_000


def test_hold_recomputes_once(units):
    ex = _explorer(units)
    calls = []
    compute = ex._compute
    ex._compute = lambda: (calls.append(1), compute())[1]
    with ex.hold():
        ex.growth.value = 0.25
        ex.stretch.value = 1.1
        ex.bounds.value = (-0.2, 0.8)
    assert len(calls) == 1
    assert ex.result["target"].sum() == _multiple(_multiple(units["last_year"].sum() * 1.25, 100) * 1.1, 100)


def test_table_and_chart_follow_the_result(units):
    ex = _explorer(units, group_labels={"N": "North", "S": "<South>"})
    first_chart = bytes(ex.chart.value)
    assert first_chart.startswith(PNG)
    by = ex.by_group.set_index("region_id")
    assert by.loc["Total", "target"] == ex.result["target"].sum()
    assert by.loc["N", "target"] == ex.result.loc[ex.result["region_id"] == "N", "target"].sum()
    assert "&lt;South&gt;" in ex.table.value and "<South>" not in ex.table.value
    ex.growth.value = 0.4
    assert bytes(ex.chart.value).startswith(PNG) and bytes(ex.chart.value) != first_chart
    assert f"{ex.result['target'].sum():,.0f}" in ex.summary.value


def test_target_explorer_bad_input(units):
    with pytest.raises(InputError, match="'potential'"):
        TargetExplorer(units.drop(columns="potential"), keys="customer_id")
    with pytest.raises(ParamsError, match="The 'weights' parameter of TargetExplorer"):
        TargetExplorer(units, keys="customer_id", weights={"forecast": 1.0})
    with pytest.raises(ParamsError, match="language"):
        TargetExplorer(units, keys="customer_id", language="fr")


def test_words_in_three_languages():
    assert word("target", "zh") == "目标"
    assert word("stretch", "zh") == "目标系数"  # one catalogue: the explorer says what the targets page says
    assert word("attrition", "es") == "Rotación anual"
    with pytest.raises(ParamsError):
        word("stretch", "de")


def test_chinese_labels(units):
    ex = _explorer(units, language="zh")
    assert ex.growth.description == "增长率"
    assert "合计" in ex.table.value


# ---------------------------------------------------------------------------
# Staffing
# ---------------------------------------------------------------------------
@pytest.fixture
def monthly():
    months = pd.period_range("2027-01", periods=12, freq="M")
    return pd.Series(np.linspace(1000.0, 1600.0, 12), index=months)


def _staffing(monthly, **kw):
    kw.setdefault("productivity", 100.0)
    kw.setdefault("start_headcount", 10)
    kw.setdefault("attrition", 0.1)
    kw.setdefault("hire_lead_months", 1)
    kw.setdefault("money_unit", "yuan")
    return StaffingExplorer(monthly, **kw)


def test_more_attrition_never_fewer_hires(monthly):
    ex = _staffing(monthly)
    hires = []
    for rate in (0.0, 0.1, 0.2, 0.35, 0.5):
        ex.attrition.value = rate
        hires.append(ex.result.attrs["total_hires"])
    assert hires == sorted(hires)
    assert hires[-1] > hires[0]


def test_staffing_result_is_capacity_plan(monthly):
    ex = _staffing(monthly)
    with ex.hold():
        ex.ramp_months.value = 3
        ex.ramp_shape.value = "linear"
        ex.lead_time.value = 2
    assert ex.ramp == [0.3333, 0.6667, 1.0]
    direct = staffing.capacity_plan(monthly, productivity=100.0, ramp=ex.ramp, attrition=0.1, hire_lead_months=2,
                                    start_headcount=10, min_reach=ex.min_reach)
    pd.testing.assert_frame_equal(ex.result, direct)
    assert (ex.result["hires_starting"].iloc[:2] == 0).all()
    assert "Hires in total" in ex.summary.value
    assert bytes(ex.chart.value).startswith(PNG)


def test_hiring_limit_and_shortfall_note(monthly):
    jump = pd.Series([1000.0] * 3 + [2000.0] * 9, index=monthly.index)
    ex = _staffing(jump, hire_lead_months=0)
    unlimited = ex.result.attrs["total_hires"]
    assert ex.result["hires_starting"].max() > 1
    ex.max_hires.value = 1
    assert ex.result.attrs["total_hires"] == unlimited  # the limit is off until switched on
    ex.limit_hires.value = True
    assert (ex.result["hires_starting"] <= 1).all()
    assert ex.result.attrs["status"] == "shortfall"
    assert any("Months short" in n for n in ex.notes)


def test_slower_ramp_needs_no_fewer_hires(monthly):
    ex = _staffing(monthly, ramp=[0.5, 1.0])
    fast = ex.result.attrs["total_hires"]
    ex.ramp_months.value = 8
    ex.ramp_shape.value = "slow_start"
    assert ex.result.attrs["total_hires"] >= fast
    assert ex.ramp[-1] == 1.0 and len(ex.ramp) == 8


def test_staffing_by_team():
    months = pd.period_range("2027-01", periods=6, freq="M").astype(str)
    long = pd.DataFrame({"team": ["A"] * 6 + ["B"] * 6, "month": list(months) * 2,
                         "target": [500.0] * 6 + [900.0] * 6})
    ex = StaffingExplorer(long, productivity=100.0, start_headcount={"A": 5, "B": 5}, attrition=0.0,
                          hire_lead_months=0, ramp=[1.0], money_unit="yuan")
    plan = ex.result
    assert plan.groupby("team")["hires_starting"].sum().to_dict() == {"A": 0, "B": 4}
    assert ">B<" in ex.table.value and "Total" in ex.table.value


@given(st.integers(1, 24), st.sampled_from(RAMP_SHAPES))
@settings(max_examples=60, deadline=None)
def test_ramp_curves_are_usable(months, shape):
    curve = ramp_curve(months, shape)
    assert len(curve) == months and curve[-1] == 1.0
    assert all(0 <= v <= 1 for v in curve)
    assert all(b >= a for a, b in itertools.pairwise(curve))
    staffing.project_capacity([0], productivity=1.0, ramp=curve, attrition=0.0, start_headcount=1)


def test_ramp_as_given_keeps_the_shape():
    assert ramp_curve(4, "as_given", [0.25, 0.5, 0.75, 1.0]) == [0.25, 0.5, 0.75, 1.0]
    assert ramp_curve(2, "as_given", [0.25, 0.5, 0.75, 1.0]) == [0.5, 1.0]
    with pytest.raises(ParamsError, match="'shape'"):
        ramp_curve(3, "zigzag")


# ---------------------------------------------------------------------------
# Territories
# ---------------------------------------------------------------------------
@pytest.fixture
def grid():
    """A 6 x 4 grid of equal units; today: left half 'W', right half 'E'."""
    xs, ys = np.meshgrid(np.arange(6.0), np.arange(4.0))
    u = pd.DataFrame({"unit_id": [f"u{i:02d}" for i in range(24)], "x": xs.ravel(), "y": ys.ravel()})
    u["potential"] = 100.0
    u["workload"] = 10.0 + (u["x"] % 2)
    current = pd.Series(np.where(u["x"] < 3, "W", "E"), index=u["unit_id"])
    return u, current


def test_k_change_gives_k_territories(grid):
    u, _current = grid
    ex = TerritoryExplorer(u, balance_on={"potential": 0.0}, time_limit=0.2)
    assert ex.result.k == 5
    for k in (2, 3, 4):
        ex.k.value = k
        assert ex.message == ""
        assert ex.result.k == k
        assert ex.result.assignment["territory"].nunique() == k
        assert len(ex.result.metrics) == k
    ex.tolerance.value = 0.5
    assert ex.result.balance_on == {"potential": 0.5}


def test_infeasible_territories_keep_the_plan(grid):
    u, _ = grid
    u = u.copy()
    u.loc[0, "potential"] = 5_000.0  # one unit larger than any territory may be
    ex = TerritoryExplorer(u, balance_on={"potential": 0.9}, k=2, time_limit=0.2)
    before = ex.result
    ex.k.value = 4
    assert ex.result is before
    assert "smallest tolerance" in ex.message
    assert "previous result is kept" in ex.status.value


def test_disruption_limit_and_current_names(grid):
    u, current = grid
    ex = TerritoryExplorer(u, current=current, balance_on={"potential": 0.0}, max_disruption=0.2, time_limit=0.2)
    assert ex.k.value == 2
    plan = ex.result
    assert set(plan.assignment["territory"]) == {"W", "E"}
    assert plan.max_disruption == 0.2
    assert plan.disruption["potential"] <= 0.2 + 1e-9
    ex.k.value = 3
    assert ex.result.max_disruption is None
    assert any("disruption limit is not applied" in n for n in ex.notes)
    assert bytes(ex.chart.value).startswith(PNG)
    with pytest.raises(ParamsError, match="'max_disruption'"):
        TerritoryExplorer(u, max_disruption=0.1)


def test_a_changed_limit_or_tolerance_starts_from_the_plan_shown(grid):
    u, current = grid
    ex = TerritoryExplorer(u, current=current, balance_on={"potential": 0.0}, max_disruption=0.1, time_limit=5)
    first = ex.result
    assert not any("given plan" in n for n in first.notes)
    ex.disruption.value = 0.3  # warm start: the plan shown moves less than the new limit allows
    assert any("given plan" in n for n in ex.result.notes)
    assert ex.result.disruption["potential"] <= 0.3 + 1e-9
    ex.disruption.value = 0.0  # the plan shown moves more than 0%: its moves are sent back
    assert ex.result.disruption["potential"] <= 1e-9
    assert any("sent back" in n for n in ex.result.notes) or first.disruption["potential"] == 0
    ex.limit_disruption.value = False  # no limit: still from the plan shown
    assert any("given plan" in n for n in ex.result.notes)


def test_territory_explorer_updates_are_bounded_by_counts_and_replay(grid, monkeypatch):
    from salesmodel.domain.territory import _heuristic

    u, current = grid
    runs = []
    for slow in (False, True):
        if slow:  # a slow machine: the clock runs ten times faster than the search
            real = _heuristic.time.perf_counter
            monkeypatch.setattr(_heuristic.time, "perf_counter", lambda real=real: real() * 10)
        ex = TerritoryExplorer(u, current=current, balance_on={"potential": 0.05}, max_disruption=0.2, time_limit=60)
        ex.tolerance.value = 0.08
        ex.disruption.value = 0.4
        runs.append(ex.result.assignment["territory"].tolist())
        assert ex.result.stopped_by != "time_limit"
    assert runs[0] == runs[1]


# ---------------------------------------------------------------------------
# From a run's workspace (the small demo company)
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workspace(tmp_path_factory, small_company_dir):
    from conftest import write_params

    from salesmodel.run.workspace import Workspace
    from salesmodel.schema.params import load_params

    tmp = tmp_path_factory.mktemp("widgets")
    params = write_params(tmp / "params.yaml", small_company_dir, report={"language": "zh", "money_unit": "wan"},
                          targets={"growth": 0.1, "growth_over": "last_year", "stretch": 1.05,
                                   "growth_bounds": [-0.3, 0.6]})
    # an interactive workspace: the explorers compute the steps they need on demand
    return Workspace(load_params(params), tmp / "run", params, lab=True)


def test_target_explorer_from_workspace(workspace):
    ex = TargetExplorer.from_workspace(workspace)
    assert ex.message == ""
    units = ex.units
    assert {"customer_id", "region_id", "last_year", "potential", "forecast"} <= set(units.columns)
    expected = _multiple(_multiple(units["last_year"].sum() * 1.10, 100) * 1.05, 100)
    assert ex.result["target"].sum() == expected
    assert ex.language == "zh" and "东北" in ex.table.value + "".join(ex.group_labels.values())
    ex.growth.value = 0.2
    assert ex.result["target"].sum() == _multiple(_multiple(units["last_year"].sum() * 1.20, 100) * 1.05, 100)


def test_staffing_explorer_from_workspace(workspace, small_company):
    ex = StaffingExplorer.from_workspace(workspace)
    assert ex.message == ""
    plan = ex.result
    assert set(plan["team"]) <= set(small_company["reps"]["region_id"])
    low = plan.attrs["total_hires"]
    ex.attrition.value = 0.5
    assert ex.result.attrs["total_hires"] >= low
    assert "大区" in ex.table.value  # the teams are regions, labelled in the run's language
    company = StaffingExplorer.from_workspace(workspace, by="company")
    whole = company.result
    assert whole["team"].nunique() == 1
    assert whole["target"].sum() == pytest.approx(plan["target"].sum())
    assert whole["headcount_start"].iloc[0] == plan.groupby("team")["headcount_start"].first().sum()
    with pytest.raises(ParamsError, match="'by'"):
        StaffingExplorer.from_workspace(workspace, by="province")


def test_territory_explorer_from_workspace(workspace, small_company):
    ex = TerritoryExplorer.from_workspace(workspace, time_limit=0.2)
    assert ex.message == ""
    plan = ex.result
    assert len(plan.assignment) == 31
    assert plan.k == small_company["provinces"]["region_id"].nunique()
    assert set(plan.balance_on) == {"potential", "workload"}
    units = ex.units.set_index("unit_id")
    assert units["potential"].sum() == pytest.approx(
        small_company["customers"].loc[small_company["customers"]["churn_date"].isna(), "potential"].sum())
    ex.k.value = 4
    assert ex.message.startswith("No plan") or ex.result.k == 4
    # a province graph is what design was given: every province touches another (Hainan by sea)
    assert isinstance(ex.adjacency, territory.Graph)


# ---------------------------------------------------------------------------
# notebooks/explore.ipynb (not in the default run, but it must execute)
# ---------------------------------------------------------------------------
def test_explore_notebook_runs(small_params, tmp_path):
    import nbformat
    from conftest import execute_notebook

    out = execute_notebook("explore.ipynb", small_params, tmp_path / "run")
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 3  # the three explorers are displayed
    # saved or exported, the notebook still shows each explorer: its widget state, and a static snapshot
    assert all('src="data:image/png;base64,' in v["data"]["text/html"] for v in views)
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    assert len(state) > 20
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "Targets add up to" in text and "hires, status" in text and "territories, status" in text


def test_target_explorer_grows_over_the_baseline_when_the_run_has_one(tmp_path, small_company_dir):
    from conftest import write_params

    from salesmodel.run.workspace import open_run

    params = write_params(tmp_path / "params.yaml", small_company_dir, targets={"growth": 0.1, "growth_bounds": None})
    ws = open_run(params, tmp_path / "run")
    months = pd.date_range("2027-01-01", periods=12, freq="MS")
    regions = sorted(ws.inputs()["reps"]["region_id"].unique())
    baseline = pd.DataFrame([(r, f"{r}", m, 1_000_000.0, "test") for r in regions for m in months],
                            columns=["region_id", "unique_id", "ds", "yhat", "model"])
    ws.save("baseline_forecast", baseline)
    ex = TargetExplorer.from_workspace(ws)
    assert ex.growth_over == "baseline"
    assert ex.base == pytest.approx(12_000_000.0 * len(regions))
    assert ex.result["target"].sum() == _multiple(ex.base * 1.1, 100)
    assert not ex.use_bounds.value


def test_explorers_at_unchanged_settings_show_the_runs_numbers(workspace):
    """Targets by region and customer, hires by month and the territory plan equal the run's tables."""
    ws = workspace
    targets_ex = TargetExplorer.from_workspace(ws)
    run_customers = ws.step("targets").tables["targets_customer"].set_index("customer_id")["target"]
    shown = targets_ex.result.set_index("customer_id")["target"].reindex(run_customers.index)
    assert (shown == run_customers).all()
    run_regions = ws.table("targets_region").set_index("region_id")["target"]
    assert targets_ex.by_level["region"].set_index("region_id")["target"].reindex(run_regions.index).equals(run_regions)
    targets_ex.growth.value = 0.2
    assert targets_ex.result["target"].sum() != run_customers.sum()  # and it does move

    staffing_ex = StaffingExplorer.from_workspace(ws)
    run_plan = ws.step("staffing").tables["capacity_plan"].set_index(["region_id", "month"])["hires_starting"]
    shown = staffing_ex.result.assign(month=staffing_ex.result["month"].astype(str)).set_index(["team", "month"])
    assert shown["hires_starting"].reindex(run_plan.index).tolist() == run_plan.tolist()

    territory_ex = TerritoryExplorer.from_workspace(ws, level="customer")
    run_assignment = ws.table("territory_assignment").set_index("customer_id")["territory"]
    proposed = territory_ex.result.assignment.set_index("unit_id")["territory"].astype(str)
    assert proposed.reindex(run_assignment.index).tolist() == run_assignment.tolist()


def test_explored_settings_are_saved_as_a_scenario_that_loads(workspace, tmp_path):
    """An explorer says how far it moved from the run, and its settings become a params file."""
    from salesmodel.schema.params import load_params

    ex = StaffingExplorer.from_workspace(workspace)
    run_hires = ex.headline()
    assert "(+0)" in ex.versus.value  # at the run's settings: no difference
    ex.attrition.value = 0.5
    assert ex.headline() >= run_hires and "+" in ex.versus.value
    path = ex.save_scenario("../more attrition", folder=tmp_path)
    assert path.parent == tmp_path and path.name == "more-attrition.yaml"  # names are sanitised
    saved = load_params(path)
    assert saved.staffing.attrition == 0.5 and saved.scenario == "more-attrition"
    assert saved.targets == workspace.params.targets  # everything else is the run's
    with pytest.raises(ParamsError, match="exists already"):
        ex.save_scenario("more-attrition", folder=tmp_path)  # never overwritten silently
    targets_ex = TargetExplorer.from_workspace(workspace)
    targets_ex.stretch.value = 1.2
    assert load_params(targets_ex.save_scenario("stretched", folder=tmp_path)).targets.stretch == 1.2
    with pytest.raises(ParamsError, match="province level"):
        TerritoryExplorer.from_workspace(workspace).settings()
