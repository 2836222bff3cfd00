"""Issue 12: the plan a sales director issues (products and channels, levers, ledger, ...)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesmodel.domain.targets.mix import controlled_round, split_by_mix
from salesmodel.pipeline import run_plan
from salesmodel.schema import consistency
from salesmodel.schema.params import params_from_dict

REGIONS = {"NE": 1_500_000, "N": 2_000_000, "E": 3_000_000, "S": 2_500_000, "C": 1_000_000}
PRODUCTS = {"A": 3_000_000, "B": 4_000_000, "C": 3_000_000}
CHANNELS = {"online": 3_000_000, "offline": 4_000_000, "partner": 3_000_000}


def targets_run(company, **targets):
    """The targets step on the small company, without a baseline (fast)."""
    params = params_from_dict({"targets": targets})
    return run_plan(params, company, start="targets", upto="targets")


@pytest.fixture(scope="module")
def example_c(small_company):
    return targets_run(small_company, total=10_000_000, growth_bounds=None, overrides={"region": REGIONS},
                       product_split={"A": 3.0, "B": 4.0, "C": 3.0},
                       channel_split={"online": 3.0, "offline": 4.0, "partner": 3.0})


def test_example_c_through_the_pipeline(example_c):
    t = example_c.tables
    assert t["targets_region"].set_index("region_id")["target"].to_dict() == REGIONS
    mix = t["targets_region_mix"]
    assert mix.groupby("region_id")["target"].sum().to_dict() == REGIONS
    assert mix.groupby("product")["target"].sum().to_dict() == PRODUCTS
    assert mix.groupby("channel")["target"].sum().to_dict() == CHANNELS
    cust = t["targets_customer_mix"]
    by_customer = cust.groupby("customer_id")["target"].sum()
    assert by_customer.equals(t["targets_customer"].set_index("customer_id")["target"].sort_index())
    assert (cust["target"] % 100 == 0).all() and (cust["target"] >= 0).all()
    assert consistency.check(t) == []


def test_every_margin_of_the_default_plan_ties(small_company):
    t = targets_run(small_company).tables
    assert consistency.check(t) == []
    rpm = t["plan_rep_product_month"]
    assert rpm["target"].sum() == t["targets_total"]["target"].iloc[0]
    by_rep_month = rpm.groupby(["rep_id", "period"])["target"].sum()
    assert (by_rep_month == t["plan_rep_month"].set_index(["rep_id", "period"])["target"].reindex(by_rep_month.index)).all()
    # the default splits follow the customers' own mix: products within a point of last year's
    mix = t["targets_region_mix"]
    share_t = mix.groupby("product")["target"].sum() / mix["target"].sum()
    share_ly = mix.groupby("product")["last_year"].sum() / mix["last_year"].sum()
    assert (share_t - share_ly).abs().max() < 0.03


def test_a_broken_margin_is_named_by_verify(example_c):
    t = dict(example_c.tables)
    bad = t["targets_customer_mix"].copy()
    bad.loc[bad.index[0], "target"] += 100
    t["targets_customer_mix"] = bad
    rules = {b.rule for b in consistency.check(t)}
    assert "product and channel margins" in rules


def test_controlled_round_keeps_rows_and_columns():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, (40, 7))
    rows = np.round(x.sum(axis=1))
    x *= (rows / x.sum(axis=1))[:, None]
    cols = x.sum(axis=0)
    cols_int = np.floor(cols)
    short = int(rows.sum() - cols_int.sum())
    cols_int[np.argsort(-(cols - cols_int))[:short]] += 1
    from salesmodel.domain.targets.raking import _ipf
    x = _ipf(x, [((0,), rows), ((1,), cols_int)], 1e-13, 1000).array
    r, c = np.divmod(np.arange(x.size), 7)
    y = controlled_round(x.ravel(), r, c, rows, cols_int).reshape(40, 7)
    assert (y.sum(axis=1) == rows).all() and (y.sum(axis=0) == cols_int).all()
    assert np.abs(y - x).max() < 1


def test_split_by_mix_every_margin_exact_at_demo_size():
    rng = np.random.default_rng(1)
    n = 3000
    t = pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(n)], "target": np.round(rng.uniform(1e4, 1e6, n), -2)})
    grid = pd.MultiIndex.from_product([t["customer_id"], list("ABC"), ["offline", "online", "partner"]],
                                      names=["customer_id", "product", "channel"]).to_frame(index=False)
    grid["share"] = rng.uniform(0, 1, len(grid)) ** 3
    long, company = split_by_mix(t, grid, round_to=100, product_split=pd.Series({"A": .3, "B": .4, "C": .3}))
    grand = t["target"].sum()
    assert (long.groupby("customer_id")["target"].sum().reindex(t["customer_id"]).to_numpy() == t["target"]).all()
    got = long.groupby("product")["target"].sum().to_numpy()
    assert got.sum() == grand and np.abs(got - np.array([0.3, 0.4, 0.3]) * grand).max() <= 100
    assert company["target"].sum() == grand
    assert (long.groupby("channel")["target"].sum() == company.groupby("channel")["target"].sum()).all()


# ---- phasing on the season -----------------------------------------------------------
def _baseline_for(company, plan_year=2027):
    """A baseline by region for the plan year: last year's months, grown along a trend (so its shape is not last year's)."""
    s = company["sales"].merge(company["customers"][["customer_id", "rep_id"]], on="customer_id") \
        .merge(company["reps"][["rep_id", "region_id"]], on="rep_id")
    ly = s[(s["date"] >= "2025-11-01") & (s["date"] <= "2026-10-31")]
    m = ly.groupby(["region_id", ly["date"].dt.month])["amount"].sum().rename("y").reset_index()
    m["ds"] = pd.to_datetime({"year": plan_year, "month": m["date"], "day": 1})
    m["yhat"] = m["y"] * (1.0 + 0.02 * m["date"])
    return m[["region_id", "ds", "yhat"]]


@pytest.mark.parametrize("festival", [False, True])
def test_baseline_phasing_asks_level_growth_across_months(small_company, festival):
    from salesmodel.domain import calendar
    from salesmodel.domain.targets import build_plan

    c = small_company
    base = _baseline_for(c)
    dek = calendar.plan_year_periods(2027, "dekad", country="CN")
    kw = dict(plan_year=2027, growth=0.12, baseline=base, growth_bounds=None, phasing_spring_festival=festival)
    old = build_plan(c["sales"], c["customers"], c["reps"], dek, phasing="last_year", **kw)
    new = build_plan(c["sales"], c["customers"], c["reps"], dek, phasing="baseline", **kw)
    company_base = base.groupby(base["ds"].dt.month)["yhat"].sum().to_numpy()

    def growth(plan, against):
        months = plan.plan_rep_month.groupby("period")["target"].sum().to_numpy()
        return months / against - 1.0

    spread_old = np.ptp(growth(old, company_base))
    if festival:
        f = new.festival_factor.to_numpy()
        moved = company_base * f * company_base.sum() / (company_base * f).sum()
        assert f[1] < 1 < f[0]  # 2027: the festival (6 Feb) pulls buying into January
        assert np.ptp(growth(new, moved)) < 0.005
    else:
        assert new.festival_factor is not None and (new.festival_factor == 1).all()
        assert np.ptp(growth(new, company_base)) < 0.005
    assert spread_old > 0.05


def test_phasing_last_year_is_the_old_plan(small_company):
    from salesmodel.domain import calendar
    from salesmodel.domain.targets import build_plan

    c = small_company
    dek = calendar.plan_year_periods(2027, "dekad", country="CN")
    a = build_plan(c["sales"], c["customers"], c["reps"], dek, plan_year=2027, phasing="last_year")
    b = build_plan(c["sales"], c["customers"], c["reps"], dek, plan_year=2027)  # no baseline: last year's shares
    assert a.plan_customer_dekad.equals(b.plan_customer_dekad) and b.phasing == "last_year"


# ---- task and target, the ledger, one baseline, last year of the books --------------------------
def test_example_j_task_and_target_at_every_level(small_company):
    t = targets_run(small_company, total=5_600_000, stretch=1.25, growth_bounds=None).tables
    assert t["targets_total"]["task"].iloc[0] == 5_600_000 and t["targets_total"]["target"].iloc[0] == 7_000_000
    for lv in ("region", "province", "rep", "customer"):
        tab = t[f"targets_{lv}"]
        assert tab["task"].sum() == 5_600_000 and tab["target"].sum() == 7_000_000
        assert (tab["task"] % 100 == 0).all()
        assert np.abs(tab["task"] - tab["target"] / 1.25).max() <= 100
    assert consistency.check(t) == []


def test_the_ledger_rebuilds_every_unit_of_the_demo_plan():
    """Demo size (3,000 customers), bounds binding for hundreds of them, stretch 1.1."""
    from salesmodel.sample import make_company

    company = make_company()
    t = targets_run(company, stretch=1.1, growth=0.2, growth_over="last_year").tables
    capped = 0
    for lv in ("region", "province", "rep", "customer"):
        tab = t[f"targets_{lv}"]
        rebuilt = tab["target_before_bounds"] + tab["bound_adjustment"] + tab["redistribution"] + tab["rounding_adjustment"]
        assert np.abs(rebuilt - tab["target"]).max() < 1e-6
        capped += int((tab["bound_applied"] != "none").sum())
    assert capped > 100  # the bounds bind, and where their money went is recorded
    cust = t["targets_customer"]
    # what the bounded units gave up is what the others received, within each parent
    by_rep = (cust["bound_adjustment"] + cust["redistribution"]).groupby(cust["rep_id"]).sum()
    assert np.abs(by_rep).max() < 1e-4
    assert consistency.check(t) == []


def test_last_year_is_the_books_and_the_baseline_is_the_targets(small_company):
    t = targets_run(small_company).tables
    tot = t["targets_total"].iloc[0]
    s = small_company["sales"]
    window = s[(s["date"] >= "2025-11-01") & (s["date"] <= "2026-10-31")]["amount"].sum()
    assert tot["last_year"] == pytest.approx(window, abs=0.01)
    assert tot["last_year_active"] == pytest.approx(t["targets_region"]["last_year"].sum(), abs=0.01)
    assert tot["last_year_churned"] == pytest.approx(window - tot["last_year_active"], abs=0.01)
    a = t["achievability"]
    for lv in ("region", "province", "rep"):
        base = a[a["level"] == lv].set_index("unit_id")["baseline"]
        fc = t[f"targets_{lv}"].groupby(f"{lv}_id")["forecast"].sum()
        assert np.abs(base.reindex(fc.index) - fc).max() < 0.01


# ---- levers: bad input ------------------------------------------------------------------------
def test_overrides_that_cannot_hold_or_name_unknown_units_are_input_errors(small_company):
    from salesmodel.errors import InfeasibleError, InputError, ParamsError

    with pytest.raises(InfeasibleError, match="locked targets add up to 11,000,000.00, more than the total") as exc:
        targets_run(small_company, total=10_000_000, growth_bounds=None, overrides={"region": {"E": 6_000_000, "S": 5_000_000}})
    assert exc.value.exit_code == 2 and exc.value.feasible[0] == 11_000_000
    with pytest.raises(InputError, match="XX"):
        targets_run(small_company, total=10_000_000, growth_bounds=None, overrides={"region": {"XX": 1_000_000}})
    with pytest.raises(ParamsError, match="targets.overrides"):
        targets_run(small_company, overrides={"team": {"E": 1_000_000}})
