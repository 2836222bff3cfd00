"""Targets people can meet (issue 24): the chance curve, equal-chance allocation, momentum,
the growth bounds, months against the year before, and tracking's projection."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmodel.domain.targets.allocation import cascade
from salesmodel.domain.targets.chance import chance_curve, chance_of, momentum, target_for_chance
from salesmodel.errors import InputError, ParamsError
from tests.conftest import SMALL_COMPANY, write_params


# ---- the core ------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.01, 0.99), mu=st.floats(1e3, 1e9), rel=st.floats(0.001, 2.0))
def test_target_for_chance_inverts_chance_of(p, mu, rel):
    t = target_for_chance(p, mu, mu * rel)
    assert abs(float(chance_of(t, mu, mu * rel)) - p) < 1e-9


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_equal_chance_cascade_adds_up_and_asks_one_chance_per_parent(data):
    n_parents = data.draw(st.integers(1, 4))
    sizes = [data.draw(st.integers(1, 6)) for _ in range(n_parents)]
    rows = []
    for g, size in enumerate(sizes):
        for i in range(size):
            mean = data.draw(st.floats(1e4, 1e6))
            rows.append({"p": f"P{g}", "u": f"P{g}U{i}", "ly": mean * data.draw(st.floats(0.8, 1.2)),
                         "mean": mean, "sd": mean * data.draw(st.floats(0.02, 0.4))})
    units = pd.DataFrame(rows)
    total = float(np.rint(units["mean"].sum() * data.draw(st.floats(0.9, 1.2)) / 100) * 100)
    spread = units.set_index("u")[["mean", "sd"]]
    out = cascade(total, units[["p", "u", "ly"]], ["p", "u"], basis="ly", round_to=100,
                  options={"u": {"spread": spread}})
    kids = out["u"]
    assert kids["target"].sum() == pytest.approx(total, abs=1e-6)
    parents = out["p"].set_index("p")["target"]
    assert kids.groupby("p")["target"].sum().to_dict() == pytest.approx(parents.to_dict(), abs=1e-6)
    # every child of a parent has the parent's one chance (before rounding: exactly)
    exact = kids["target"] - kids["rounding_adjustment"]
    got = chance_of(exact.to_numpy(), spread.loc[kids["u"], "mean"].to_numpy(), spread.loc[kids["u"], "sd"].to_numpy())
    free = kids["bound_applied"].to_numpy() == "none"
    for p, part in pd.Series(got[free]).groupby(kids["p"].to_numpy()[free]):
        assert part.max() - part.min() < 1e-6, p
    assert np.allclose(got[free], kids["chance"].to_numpy()[free], atol=1e-6)
    # the ledger rebuilds every target
    ledger = kids[["target_before_bounds", "bound_adjustment", "redistribution", "rounding_adjustment"]].sum(axis=1)
    assert np.allclose(ledger, kids["target"], atol=1e-6)


def test_equal_chance_holds_the_growth_bounds():
    units = pd.DataFrame({"p": ["A"] * 3, "u": ["a", "b", "c"], "ly": [100.0, 100.0, 100.0]})
    spread = pd.DataFrame({"mean": [100.0, 100.0, 100.0], "sd": [5.0, 10.0, 60.0]}, index=["a", "b", "c"])
    out = cascade(390, units, ["p", "u"], basis="ly", reference="ly", growth_bounds=(-0.1, 0.4), round_to=1,
                  options={"u": {"spread": spread}})["u"].set_index("u")
    assert out.loc["c", "target"] == 140.0 and out.loc["c", "bound_applied"] == "upper"
    assert out["target"].sum() == 390
    assert out.loc["a", "chance"] == pytest.approx(out.loc["b", "chance"])


def test_chance_curve_points():
    units = pd.DataFrame({"level": ["company"], "unit_id": ["company"], "baseline": [1000.0], "baseline_sd": [100.0],
                          "target": [1100.0], "last_year": [900.0]})
    c = chance_curve(units)
    plan = c[c["point"] == "plan"].iloc[0]
    assert plan["probability"] == pytest.approx(float(chance_of(1100.0, 1000.0, 100.0)))
    median = c[c["point"] == "median"].iloc[0]
    assert median["target"] == 1000.0 and median["growth_over_last_year"] == pytest.approx(1000 / 900 - 1)
    curve = c[c["point"] == "curve"].sort_values("probability")
    assert (np.diff(curve["target"].to_numpy()) < 0).all()  # a higher chance, a lower target


def test_momentum_adds_up_and_refuses_a_window_longer_than_the_history():
    months = pd.date_range("2024-01-01", "2026-10-01", freq="MS")
    rows = [{"month": m, "customer_id": c, "rep_id": r, "amount": a * (1.2 if m >= pd.Timestamp("2026-05-01") else 1.0)}
            for m in months for c, r, a in (("c1", "r1", 10.0), ("c2", "r1", 30.0), ("c3", "r2", 5.0))]
    monthly = pd.DataFrame(rows)
    by_customer = momentum(monthly, "customer_id", 2027, 6)
    by_rep = momentum(monthly, "rep_id", 2027, 6)
    assert by_customer.groupby(monthly.drop_duplicates("customer_id").set_index("customer_id")["rep_id"]).sum().to_dict() \
        == pytest.approx(by_rep.to_dict())
    # last year (Nov 2025 - Oct 2026) plus 6 months of +20% year on year, at an annual rate
    last_year = 10.0 * 6 + 12.0 * 6
    assert by_customer["c1"] == pytest.approx(last_year + (12.0 - 10.0) * 6 * 2)
    with pytest.raises(InputError, match="feasible windows: 1 to 22"):
        momentum(monthly, "customer_id", 2027, 23)


def test_equal_chance_on_a_generated_company_gives_every_rep_one_chance(small_company):
    from salesmodel.domain import calendar
    from salesmodel.domain.targets import build_plan

    c = small_company
    dekads = calendar.plan_year_periods(2027, "dekad", country="CN")
    plan = build_plan(c["sales"], c["customers"], c["reps"], dekads, plan_year=2027, growth=0.08,
                      growth_over="last_year", basis={"last_year": 0.8, "potential": 0.2},
                      growth_bounds=(-0.5, 1.0), round_to=100,
                      allocation={"region": "equal_chance", "province": "equal_chance", "rep": "equal_chance"})
    reps = plan.achievability[plan.achievability["level"] == "rep"]
    free = plan.targets["rep"].set_index("rep_id")["bound_applied"] == "none"
    p = reps.set_index("unit_id")["probability"][free[free].index.astype(str)]
    assert len(p) >= 0.9 * len(reps)
    assert p.max() - p.min() <= 0.01
    total = plan.total["total"]
    for lv in ("region", "province", "rep", "customer"):
        assert plan.targets[lv]["target"].sum() == pytest.approx(total, abs=1e-6)
    assert plan.plan_customer_dekad["target"].sum() == pytest.approx(total, abs=1e-6)


# ---- the pipeline on the small company -------------------------------------------------------
@pytest.fixture(scope="module")
def forecast_tables(tmp_path_factory):
    from salesmodel.sample import write_company
    from tests.conftest import compute_step

    root = tmp_path_factory.mktemp("chance")
    data = root / "data"
    write_company(data, **SMALL_COMPANY)
    params = write_params(root / "params.yaml", data)
    tables = compute_step("forecast", params, root / "run").tables
    return data, tables


def _targets(tmp_path, forecast_tables, **targets):
    from salesmodel import io
    from salesmodel.pipeline import run_step
    from salesmodel.schema.params import load_params

    data, tables = forecast_tables
    params = load_params(write_params(tmp_path / "p.yaml", data, targets=targets))
    return params, run_step("targets", params, io.read_inputs(params.data), tables), tables


def test_total_by_chance_sits_on_the_curve_and_the_key_figures_agree(tmp_path, forecast_tables):
    from salesmodel.pipeline.key_figures import company_probability, key_figures
    from salesmodel.schema import consistency

    params, result, fc = _targets(tmp_path, forecast_tables, total={"chance": 0.6},
                                  allocation="equal_chance", growth_bounds=[-0.5, 1.0])
    t = result.tables
    curve = t["chance_curve"]
    plan = curve[(curve["level"] == "company") & (curve["point"] == "plan")].iloc[0]
    assert plan["probability"] == pytest.approx(0.6, abs=0.005)
    assert plan["target"] == float(t["targets_total"]["target"].iloc[0])
    prob, _ = company_probability(fc["baseline_forecast_levels"], plan["target"], 2027)
    assert plan["probability"] == pytest.approx(prob, abs=1e-12)
    tables = {**fc, **t}
    tables["key_figures"] = key_figures(tables, 2027).as_table()
    assert [b.message for b in consistency.check(tables)] == []
    # the consistency rule breaks when the curve's plan point moves
    moved = curve.copy()
    moved.loc[(moved["level"] == "company") & (moved["point"] == "plan"), "probability"] += 0.01
    broken = consistency.check({**tables, "chance_curve": moved})
    assert any(b.rule == "chance curve" for b in broken)
    # every rep the same chance (within a point), the totals exact
    ach = t["achievability"]
    reps = ach[ach["level"] == "rep"]
    free = set(t["targets_rep"].loc[t["targets_rep"]["bound_applied"] == "none", "rep_id"].astype(str))
    p = reps[reps["unit_id"].isin(free)]["probability"]
    assert len(p) >= len(reps) - 1 and p.max() - p.min() <= 0.01
    assert t["targets_customer"]["target"].sum() == pytest.approx(plan["target"], abs=1e-6)


def test_bounds_table_and_months_against_the_year_before(tmp_path, forecast_tables):
    _, result, _ = _targets(tmp_path, forecast_tables)
    t = result.tables
    b, cust = t["targets_bounds"], t["targets_customer"]
    assert int(b["at_upper"].sum()) == int((cust["bound_applied"] == "upper").sum())
    assert b["customers"].sum() == len(cust)
    months = t["plan_company_month"].set_index("period")
    # the history ends in October 2026: November and December 2026 come from the baseline
    assert months.loc["2027-11", "year_before_source"] == "baseline"
    assert months.loc["2027-10", "year_before_source"] == "actual"
    assert months["year_before"].notna().all()


@pytest.mark.parametrize("targets, key, feasible", [
    ({"total": {"chance": 0.999}}, "targets.total.chance", "feasible: a chance from"),
    ({"basis": {"last_year": 0.5, "momentum": 0.5}, "momentum_months": 40}, "targets.momentum_months", "feasible: 1 to"),
])
def test_bad_chance_params_name_the_key_the_value_and_the_range(tmp_path, forecast_tables, targets, key, feasible):
    with pytest.raises(ParamsError) as err:
        _targets(tmp_path, forecast_tables, **targets)
    text = str(err.value)
    assert key in text and feasible in text


@pytest.mark.parametrize("targets, text", [
    ({"total": {"chance": 1.5}}, "targets.total.chance is 1.5; feasible: a chance strictly between 0 and 1"),
    ({"total": {"chance": 0}}, "targets.total.chance is 0; feasible"),
    ({"allocation": {"customer": "equal_chance"}}, "feasible levels for equal_chance: region, province, rep"),
])
def test_bad_chance_params_are_refused_when_loaded(targets, text):
    from salesmodel.schema.params import params_from_dict

    with pytest.raises(ParamsError, match=text.replace(".", r"\.")):
        params_from_dict({"targets": targets})


def test_cli_exit_2_for_a_chance_outside_the_bounds(tmp_path, small_company_dir, capsys):
    from salesmodel.cli import main

    params = write_params(tmp_path / "p.yaml", small_company_dir, targets={"total": {"chance": 1.5}})
    assert main(["validate", str(params)]) == 2
    assert "targets.total.chance is 1.5" in capsys.readouterr().err


def test_tracking_projection_is_a_projection():
    from salesmodel.domain.tracking import pacing

    days = pd.date_range("2027-01-01", "2027-12-31", freq="D")
    plan = pd.DataFrame({"customer_id": "c", "start": days, "end": days, "target": 10.0, "baseline": 9.0})
    actuals = pd.DataFrame({"customer_id": "c", "date": days[:90], "amount": 8.0})
    out = pacing(actuals, plan, "2027-03-31", levels={"company": []}, working_days=None, baseline="baseline")
    row = out.iloc[0]
    assert row["achievement"] == pytest.approx(0.8)
    assert row["projection"] == pytest.approx(8.0 * 90 + 9.0 * (365 - 90))
    assert row["projected_achievement"] != pytest.approx(row["achievement"])


def test_to_date_figures_are_pacings_company_row():
    from salesmodel.pipeline.key_figures import key_figures
    from salesmodel.schema import consistency

    pace = pd.DataFrame({"level": ["company"], "unit_id": ["company"], "target_full": [1000.0],
                         "target_to_date": [300.0], "actual_to_date": [270.0], "achievement": [0.9],
                         "projection": [950.0], "run_rate_projection": [900.0]})
    figures = key_figures({"pacing": pace}).as_table()
    kf = figures.set_index("figure")["value"]
    assert kf["achievement_to_date"] == 0.9 and kf["projection"] == 950.0 and kf["actual_to_date"] == 270.0
    rules = [r for r in consistency.RULES if r.name == "to date" and r.right.table == "key_figures"]
    assert len(rules) == 4
    for r in rules:
        assert consistency._compare(r, r.left.value(pace), r.right.value(figures)) is None
    figures.loc[figures["figure"] == "projection", "value"] = 951.0
    broken = [consistency._compare(r, r.left.value(pace), r.right.value(figures)) for r in rules]
    assert [b is not None for b in broken] == [False, False, False, True]


def test_pacing_by_product_and_channel_adds_up_to_the_company():
    from salesmodel.domain.tracking import pacing_by_mix

    pace = pd.DataFrame({"customer_id": ["a", "b"], "target_to_date": [30.0, 50.0]})
    mix = pd.DataFrame({"customer_id": ["a", "a", "b"], "product": ["P", "Q", "P"], "channel": ["on", "off", "off"],
                        "target": [60.0, 40.0, 200.0]})
    actuals = pd.DataFrame({"customer_id": ["a", "b"], "product": ["P", "P"], "channel": ["on", "off"],
                            "amount": [20.0, 40.0]})
    out = pacing_by_mix(pace, mix, actuals)
    for dim in ("product", "channel"):
        part = out[out["dimension"] == dim]
        assert part["target_to_date"].sum() == pytest.approx(80.0)
        assert part["target_full"].sum() == pytest.approx(300.0)
    p = out[(out["dimension"] == "product")].set_index("key")
    assert p.loc["P", "target_to_date"] == pytest.approx(30 * 0.6 + 50) and p.loc["P", "achievement"] == pytest.approx(60 / 68)
    assert p.loc["Q", "actual_to_date"] == 0.0


def test_target_explorer_starts_from_a_total_by_chance_and_equal_chance(tmp_path, small_company_dir):
    from salesmodel.run.workspace import Workspace
    from salesmodel.schema.params import load_params
    from salesmodel.widgets.targets import TargetExplorer

    params = write_params(tmp_path / "params.yaml", small_company_dir,
                          targets={"total": {"chance": 0.55}, "allocation": "equal_chance", "growth_bounds": [-0.5, 1.0]})
    ws = Workspace(load_params(params), tmp_path / "run", params, lab=True)
    ex = TargetExplorer.from_workspace(ws)
    assert ex.message == ""
    run_total = float(ws.step("targets").tables["targets_total"]["target"].iloc[0])
    assert ex.result["target"].sum() == pytest.approx(run_total)
    reps = ex.by_level["rep"]
    assert (reps["allocation"] == "equal_chance").all()


def test_equal_chance_keeps_locked_units_and_shares_the_rest():
    units = pd.DataFrame({"r": ["E", "E", "E"], "c": ["a", "b", "c"], "ly": [100.0, 300.0, 250.0]})
    spread = pd.DataFrame({"mean": [110.0, 290.0, 260.0], "sd": [20.0, 40.0, 30.0]}, index=["a", "b", "c"])
    out = cascade(741, units, ["r", "c"], basis="ly", round_to=1, options={"c": {"spread": spread}},
                  locks={"c": {"b": 300}})["c"].set_index("c")
    assert out.loc["b", "target"] == 300 and out.loc["b", "bound_applied"] == "locked"
    assert out["target"].sum() == 741
    assert out.loc["a", "chance"] == pytest.approx(out.loc["c", "chance"])


def test_the_plan_leaning_on_its_caps_is_a_risk_in_every_language():
    from salesmodel.pipeline.key_figures import key_figures
    from salesmodel.pipeline.risks import risk_table
    from salesmodel.report.risks import risks

    bounds = pd.DataFrame({"region_id": ["N", "S"], "customers": [60, 40], "at_upper": [20, 5], "at_lower": [0, 0],
                           "share_at_bound": [1 / 3, 0.125], "target": [600.0, 400.0],
                           "target_at_bound": [150.0, 20.0], "money_share_at_bound": [0.25, 0.05]})
    cust = pd.DataFrame({"bound_applied": ["upper", "none"], "growth": [0.4, 0.1]})
    tables = {"targets_bounds": bounds, "targets_customer": cust}
    figures = key_figures(tables)
    assert figures.customers_at_bound == 25 and figures.share_at_bound == pytest.approx(0.25)
    table = risk_table(tables, figures, bound_share=0.10)
    row = table[table["kind"] == "bounds"].iloc[0]
    assert row["value"] == 25
    assert risk_table(tables, figures, bound_share=0.30)["kind"].eq("bounds").sum() == 0
    for lang in ("en", "zh", "es"):
        text = risks(table[table["kind"] == "bounds"], language=lang)[0]
        assert "25" in text and "+40%" in text and "100" in text
