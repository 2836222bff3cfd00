"""The pipeline's own tests: each step's declared tables, partial runs reusing earlier tables, and
each step's params -> arguments function as the only way its core function is called (issue 28)."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import write_params

from salesmodel import io
from salesmodel.domain import targets as core_targets
from salesmodel.domain.targets import plan as plan_module
from salesmodel.errors import InfeasibleError
from salesmodel.pipeline import STEPS, Context, StepResult, run_plan, run_step
from salesmodel.pipeline import targets as targets_step
from salesmodel.pipeline import tracking as tracking_step
from salesmodel.run.audit import frame_hash
from salesmodel.schema import tables as declared
from salesmodel.schema.params import load_params

PAST_YEAR, PAST_GROWTH = 2025, 0.08
# China, and a baseline that does not move the Spring Festival: the targets step moves it itself.
FESTIVAL = {"calendar": {"country": "CN"}, "forecast": {"spring_festival": False},
            "targets": {"phasing_spring_festival": True}}


def _hashes(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    return {name: frame_hash(t) for name, t in tables.items()}


@pytest.fixture(scope="module")
def plan_params(tmp_path_factory, small_company_dir):
    path = tmp_path_factory.mktemp("pipeline") / "p.yaml"
    return load_params(write_params(path, small_company_dir, territory={
        "balance_on": {"potential": 0.5, "workload": 0.5}, "max_disruption": None, "method": "heuristic",
        "anneal_steps": 2000}, budget={"categories": {"people": {"basis": "pay"}, "travel": {"share": 0.004}}}))


@pytest.fixture(scope="module")
def full_plan(plan_params):
    inputs = io.read_inputs(plan_params.data)
    return inputs, run_plan(plan_params, inputs)


# --- each step's declared tables -------------------------------------------------------------------------------

def test_every_step_writes_only_tables_declared_as_its_own(full_plan):
    _, plan = full_plan
    assert list(plan.steps) == list(STEPS)
    for step, result in plan.steps.items():
        assert result.tables, step
        for name, table in result.tables.items():
            spec = declared.check(name, table)  # the declared columns, kinds and units
            assert spec.step == step, (name, spec.step, step)
    assert set(plan.tables) == {n for r in plan.steps.values() for n in r.tables} | {"run_facts"}


# --- partial runs ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("start", ["targets", "tracking"])
def test_a_run_from_a_step_reusing_earlier_tables_gives_the_full_runs_tables(full_plan, plan_params, start):
    inputs, plan = full_plan
    before = STEPS[:STEPS.index(start)]
    earlier = {n: t for s in before for n, t in plan.steps[s].tables.items()}
    part = run_plan(plan_params, inputs, start=start, upto="tracking", tables=earlier)
    made = [n for s in STEPS[STEPS.index(start):STEPS.index("tracking") + 1] for n in plan.steps[s].tables]
    assert made and list(part.steps) == list(STEPS[STEPS.index(start):STEPS.index("tracking") + 1])
    assert _hashes({n: part.tables[n] for n in made}) == _hashes({n: plan.tables[n] for n in made})


def test_a_run_up_to_a_step_gives_the_full_runs_tables_of_its_steps(full_plan, plan_params):
    inputs, plan = full_plan
    part = run_plan(plan_params, inputs, upto="targets")
    assert list(part.steps) == ["overview", "forecast", "targets"]
    made = [n for s in part.steps for n in plan.steps[s].tables]
    assert _hashes({n: part.tables[n] for n in made}) == _hashes({n: plan.tables[n] for n in made})


def test_each_step_reads_only_the_params_sections_it_declares(full_plan, plan_params, monkeypatch):
    """A step's PARAMS (with those of the steps before it) say what its tables depend on: the lab workspace
    recomputes a step when they change, so a section read but not declared would leave its tables stale."""
    from salesmodel.pipeline import params_sections, upstream
    from salesmodel.schema.params import Scenario

    inputs, plan = full_plan
    fields, seen = set(Scenario.model_fields), set()
    real = Scenario.__getattribute__

    def recording(self, name):
        if name in fields:
            seen.add(name)
        return real(self, name)

    monkeypatch.setattr(Scenario, "__getattribute__", recording)
    read = {}
    for step in STEPS:
        seen.clear()
        run_step(step, plan_params, inputs, _earlier(plan, step))
        read[step] = set(seen)
    monkeypatch.undo()
    assert "staffing" in read["targets"]  # the budget's people line is the staffing pay plan
    for step, sections in read.items():
        declared_sections = {p for s in [*upstream(step), step] for p in params_sections(s, plan_params)}
        assert sections <= declared_sections, (step, sections - declared_sections)


# --- params -> arguments: one function per step, the only caller path -----------------------------------------

def _calls_of(monkeypatch, module, name):
    calls: list[dict] = []
    real = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def _plain(args: dict) -> dict:
    """The arguments without their frames (pinned by value)."""
    return {k: v for k, v in args.items() if not isinstance(v, pd.DataFrame)}


# The targets step's arguments of build_plan for the small company at the test params. A change to
# plan_arguments (a setting added, dropped or made differently) changes this and must be made here on purpose.
PINNED_TARGETS_ARGUMENTS = {
    "plan_year": 2027, "total": None, "growth": 0.12, "growth_over": "baseline", "stretch": 1.0,
    "basis": {"last_year": 0.5, "potential": 0.2, "forecast": 0.3}, "level_basis": {},
    "growth_bounds": (-0.1, 0.4), "levels": ["region", "province", "rep", "customer"],
    "time_grains": ["quarter", "month", "dekad"], "round_to": 100.0, "plan_round_to": 1.0,
    "achievability_threshold": 0.3, "product_split": None, "channel_split": None, "mix_own_weight": 0.7,
    "mix_segment": "customer_type", "overrides": {}, "phasing": "baseline", "phasing_blend": 0.5,
    "phasing_spring_festival": False, "allocation": {"region": "basis", "province": "basis", "rep": "basis",
                                                      "customer": "basis"},
    "momentum_months": None, "monthly": None,
}


def test_the_targets_step_calls_build_plan_with_plan_arguments_only(full_plan, plan_params, monkeypatch):
    inputs, plan = full_plan
    earlier = {n: t for s in ("overview", "forecast") for n, t in plan.steps[s].tables.items()}
    calls = _calls_of(monkeypatch, core_targets, "build_plan")
    run_step("targets", plan_params, inputs, earlier)
    assert len(calls) == 1
    args = targets_step.plan_arguments(Context(plan_params, inputs, earlier))
    # the company's days are data (the history summed once for every step), not a setting
    assert calls[0].pop("daily") is Context(plan_params, inputs, earlier).history().days
    assert set(calls[0]) == set(args) and calls[0]["baseline"] is earlier["baseline_forecast"]
    assert _plain(calls[0]) == _plain(args)
    got = {k: (tuple(v) if k == "growth_bounds" else v) for k, v in _plain(calls[0]).items()}
    assert got == PINNED_TARGETS_ARGUMENTS


def test_the_targets_step_runs_the_cascade_once_with_commitments_top_down(tmp_path, small_company_dir, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(small_company_dir, data)
    pd.DataFrame({"rep_id": ["R003", "R004", "R011"], "amount": [1_000_000.0, 5_000_000.0, 100_000.0]}).to_csv(
        data / "commitments.csv", index=False)
    for policy, cascades in (("top_down", 1), ("blend", 2)):
        sc = load_params(write_params(tmp_path / f"{policy}.yaml", data, data={"dir": str(data), "commitments": "commitments.csv"},
                                      targets={"growth_over": "last_year",
                                               "commitments": {"policy": policy, "within": "region"}}))
        calls = _calls_of(monkeypatch, plan_module, "cascade")
        result = run_step("targets", sc, io.read_inputs(sc.data), {})
        monkeypatch.undo()
        assert len(calls) == cascades, policy
        table = result.tables["targets_commitments"]
        assert (table["policy"] == policy).all() and table["has_commitment"].sum() == 3


def _same(a, b) -> bool:
    if isinstance(a, (pd.DataFrame, pd.Series)):
        return isinstance(b, type(a)) and a.equals(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _earlier(plan, step: str) -> dict[str, pd.DataFrame]:
    return {n: t for s in STEPS[:STEPS.index(step)] for n, t in plan.steps[s].tables.items()}


# The settings each step passes its core function for the test params (the other arguments are the data).
PINNED_FORECAST_ARGUMENTS = {"h": 14, "backtest_h": 12, "freq": "MS", "n_windows": 2, "models": None, "level": [80, 95],
                             "combine": "weighted", "shrinkage": 0.0, "calibration_sample": 2000, "engine": "local",
                             "scheduler": None, "n_jobs": None, "plan_year": 2027, "return_components": True}
PINNED_CAPACITY_ARGUMENTS = {"ramp": [0.25, 0.5, 0.75, 1.0], "attrition": 0.2, "hire_lead_months": 2,
                             "max_hires_per_month": None, "attainment": 1.0, "min_reach": 1.0,
                             "blocked_months": ["2027-02"], "max_starts_per_month": None}
PINNED_DESIGN_ARGUMENTS = {"k": 11, "balance_on": {"potential": 0.5, "workload": 0.5}, "max_disruption": None,
                           "contiguous": True, "method": "heuristic", "time_limit": 600.0, "seed": 1, "max_sweeps": 100,
                           "anneal_steps": 2000, "construction": "grow"}


def test_the_forecast_step_passes_its_settings_unchanged(full_plan, plan_params, monkeypatch):
    from salesmodel.domain import forecast

    inputs, plan = full_plan
    calls = _calls_of(monkeypatch, forecast, "baseline_and_backtest")
    run_step("forecast", plan_params, inputs, {})
    assert len(calls) == 1
    assert {k: v for k, v in calls[0].items() if k in PINNED_FORECAST_ARGUMENTS} == PINNED_FORECAST_ARGUMENTS
    assert set(calls[0]) == set(PINNED_FORECAST_ARGUMENTS) | {"calendar_factors"}


def test_the_staffing_step_calls_capacity_plan_with_capacity_arguments_only(full_plan, plan_params, monkeypatch):
    from salesmodel.domain import staffing
    from salesmodel.pipeline import staffing as staffing_step

    inputs, plan = full_plan
    earlier = _earlier(plan, "staffing")
    calls = _calls_of(monkeypatch, staffing, "capacity_plan")
    run_step("staffing", plan_params, inputs, earlier)
    assert len(calls) == 1
    args = staffing_step.capacity_arguments(Context(plan_params, inputs, earlier))
    args.pop("monthly_targets")
    assert _same(calls[0], args)
    assert {k: calls[0][k] for k in PINNED_CAPACITY_ARGUMENTS} == PINNED_CAPACITY_ARGUMENTS


def test_the_territory_step_calls_design_with_design_arguments_only(full_plan, plan_params, monkeypatch):
    from salesmodel.domain import territory
    from salesmodel.pipeline import territory as territory_step

    inputs, plan = full_plan
    earlier = _earlier(plan, "territory")
    calls = _calls_of(monkeypatch, territory, "design")
    run_step("territory", plan_params, inputs, earlier)
    ctx = Context(plan_params, inputs, earlier)
    args = territory_step.design_arguments(ctx, territory_step.units(ctx))
    assert calls and all(set(c) == set(args) for c in calls)
    graph = args.pop("adjacency")
    assert repr(calls[0]["adjacency"]) == repr(graph)
    assert _same({k: v for k, v in calls[0].items() if k != "adjacency"}, args)
    assert {k: calls[0][k] for k in PINNED_DESIGN_ARGUMENTS} == PINNED_DESIGN_ARGUMENTS


# --- a past year's plan remade by tracking is the targets step's -----------------------------------------------

@pytest.fixture(scope="module")
def festival_params(tmp_path_factory, small_company_dir):
    path = tmp_path_factory.mktemp("festival") / "p.yaml"
    return load_params(write_params(path, small_company_dir, tracking={"plan_year": PAST_YEAR, "growth": PAST_GROWTH},
                                    **FESTIVAL))


def test_a_past_years_plan_remade_by_tracking_is_the_targets_steps_plan(tmp_path, small_company_dir, festival_params,
                                                                       monkeypatch):
    """The same function, the same arguments, the same tables as the targets step run for that year with
    the same settings (its total the tracked growth over the year before), Spring Festival included."""
    inputs = io.read_inputs(festival_params.data)
    calls = _calls_of(monkeypatch, core_targets, "build_plan")
    remade, dekads = tracking_step.tracked_plan(Context(festival_params, inputs, {}), StepResult("tracking"))
    # the targets step for that year: its own params file saying those settings, the history before the year
    settings = {**FESTIVAL, "calendar": {"country": "CN", "plan_year": PAST_YEAR},
                "targets": {**FESTIVAL["targets"], "total": None, "growth": PAST_GROWTH, "growth_over": "last_year",
                            "allocation": "basis"}}
    past = load_params(write_params(tmp_path / "past.yaml", small_company_dir, **settings))
    sales = inputs["sales"]
    history = {**{k: v for k, v in inputs.items() if k != "sales"},
               "sales": sales[pd.to_datetime(sales["date"]) < pd.Timestamp(PAST_YEAR, 1, 1)]}
    step = run_step("targets", past, history, {})
    assert len(calls) == 2
    assert _plain(calls[0]) == _plain(calls[1])
    assert calls[0]["phasing_spring_festival"] is True and calls[0]["plan_year"] == PAST_YEAR
    assert calls[0]["growth"] == PAST_GROWTH and calls[0]["growth_over"] == "last_year" and calls[0]["total"] is None
    mine = remade.tables()
    assert mine and _hashes(mine) == _hashes({n: step.tables[n] for n in mine})
    # the Spring Festival moved to the tracked year's date: the months' shares are the seasonal indices with the
    # festival where it fell that year, not the plain mean of the years before
    monthly = core_targets.monthly_history(history["sales"], inputs["customers"], inputs["reps"])
    plain = core_targets.seasonal_month_weights(monthly, PAST_YEAR)
    assert np.allclose(remade.month_weights.to_numpy(), core_targets.seasonal_month_weights(
        monthly, PAST_YEAR, sales=history["sales"]).to_numpy())
    assert not np.allclose(remade.month_weights.loc[[1, 2]].to_numpy(), plain.loc[[1, 2]].to_numpy(), atol=1e-3)
    assert set(dekads["period"]) == set(remade.plan_customer_dekad["period"])


def test_the_tracking_step_tracks_the_past_year_against_the_targets_steps_plan(festival_params):
    inputs = io.read_inputs(festival_params.data)
    result = run_step("tracking", festival_params, inputs, {})
    remade = targets_step.build(targets_step.as_made_in(Context(festival_params, inputs, {}), PAST_YEAR,
                                                        growth=PAST_GROWTH), StepResult("targets"))
    assert result.facts["mode"] == "history_year" and result.facts["plan_year"] == PAST_YEAR
    assert result.facts["plan_total"] == pytest.approx(float(remade.plan_customer_dekad["target"].sum()))
    company = result.tables["pacing"].query("level == 'company'").iloc[0]
    assert company["target_to_date"] > 0


# --- errors carry data ----------------------------------------------------------------------------------------

def test_a_lock_that_cannot_hold_carries_its_level_units_and_rows(tmp_path, small_company_dir):
    data = tmp_path / "data"
    shutil.copytree(small_company_dir, data)
    reps = pd.read_csv(data / "reps.csv")
    region = str(reps["region_id"].iloc[0])
    pd.DataFrame({"level": ["region"], "unit_id": [region], "target": [9e9]}).to_csv(data / "locks.csv", index=False)
    sc = load_params(write_params(tmp_path / "p.yaml", data, data={"dir": str(data), "locks": "locks.csv"},
                                  targets={"growth_over": "last_year"}))
    with pytest.raises(InfeasibleError) as err:
        run_step("targets", sc, io.read_inputs(sc.data), {})
    e = err.value
    assert e.locked and e.level == "region_id" and e.units == ({},) and e.rows == (1,)
    assert e.feasible[0] == pytest.approx(9e9)


def test_a_past_years_plan_remade_by_tracking_holds_the_locks_the_targets_step_holds(tmp_path, small_company_dir):
    data = tmp_path / "data"
    shutil.copytree(small_company_dir, data)
    pd.DataFrame({"level": ["customer"], "unit_id": ["C00001"], "target": [50_000.0],
                  "reason": ["contract"]}).to_csv(data / "locks.csv", index=False)
    sc = load_params(write_params(tmp_path / "p.yaml", data, data={"dir": str(data), "locks": "locks.csv"},
                                  tracking={"plan_year": PAST_YEAR, "growth": PAST_GROWTH}))
    inputs = io.read_inputs(sc.data)
    remade, _ = tracking_step.tracked_plan(Context(sc, inputs, {}), StepResult("tracking"))
    customer = remade.targets["customer"].set_index("customer_id")
    assert customer.loc["C00001", "target"] == 50_000.0 and customer.loc["C00001", "bound_applied"] == "locked"
    past = targets_step.as_made_in(Context(sc, inputs, {}), PAST_YEAR, growth=PAST_GROWTH)
    made = targets_step.build(past, StepResult("targets"))
    assert _hashes(remade.tables()) == _hashes(made.tables())
    # the locks are the targets step's; the reps' commitments (the plan year's own numbers) are not remade
    assert "locks" in past.inputs and "commitments" not in past.inputs
    assert sc.calendar.plan_year == 2027 and past.params.targets.growth_over == "last_year"


def test_the_cascades_refusals_carry_the_level_and_the_parent_units():
    from salesmodel.domain.targets.allocation import cascade

    units = pd.DataFrame({"region_id": ["N", "N", "S", "S"], "rep_id": ["R1", "R2", "R3", "R4"],
                          "customer_id": ["C1", "C2", "C3", "C4"], "last_year": [100.0, 100.0, 100.0, 100.0]})
    levels = ["region_id", "rep_id", "customer_id"]
    # growth bounds: a total of 1,000 cannot be shared among customers of last year 400 at +10% at most
    with pytest.raises(InfeasibleError) as err:
        cascade(1_000.0, units, levels, basis="last_year", reference="last_year", growth_bounds=(-0.1, 0.1), round_to=1)
    e = err.value
    assert e.level == "region_id" and e.units == ({},) and not e.locked
    assert e.feasible == pytest.approx((360.0, 440.0))
    # a rep locked at 150 of its region's 200: its neighbour's 50 breaks the bounds (90 at least)
    with pytest.raises(InfeasibleError) as err:
        cascade(400.0, units, levels, basis="last_year", reference="last_year", growth_bounds=(-0.1, 0.1), round_to=1,
                locks={"rep_id": {"R3": 150.0}})
    e = err.value
    assert e.level == "rep_id" and e.units == ({"region_id": "S"},) and not e.locked
    # locks above their parent: marked as locked, with every parent they break
    with pytest.raises(InfeasibleError) as err:
        cascade(400.0, units, levels, basis="last_year", round_to=1, locks={"region_id": {"N": 300.0, "S": 300.0}})
    e = err.value
    assert e.locked and e.level == "region_id" and e.units == ({},) and e.feasible[0] == pytest.approx(600.0)


def test_notes_keep_the_core_warnings_and_drop_the_machinerys():
    """A step's notes are what the core warns about; an unclosed socket found by the garbage collector (when
    depends on the load) or a warning of Dask's own packages is not a note, or runs would differ."""
    import warnings

    from salesmodel.pipeline._base import StepResult, collect_notes

    result = StepResult("x")
    with collect_notes(result):
        warnings.warn("tolerances not met", UserWarning, stacklevel=1)
        warnings.warn("unclosed <socket.socket fd=12>", ResourceWarning, stacklevel=1)
        warnings.warn_explicit("Sending large graph", UserWarning, "/venv/site-packages/distributed/client.py", 1)
        warnings.warn_explicit("coroutine was never awaited", RuntimeWarning, "/usr/lib/python3.11/asyncio/base.py", 1)
    assert result.notes == ["tolerances not met"]
