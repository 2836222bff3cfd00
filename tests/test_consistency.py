"""The consistency rules across a run's tables (salesmodel.schema.consistency).

The small company's plan up to staffing (a fast forecast) holds every rule; with one number of one
table changed, the rule that watches it breaks under its own name. The tests read the broken rule's
name and the tables it names, never its wording.
"""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from conftest import write_params

from salesmodel.pipeline import run_plan
from salesmodel.schema import consistency
from salesmodel.schema.consistency import RULES, check
from salesmodel.schema.params import load_params
from salesmodel.schema.tables import TABLES


@pytest.fixture(scope="module")
def tables(small_company_dir, tmp_path_factory) -> dict[str, pd.DataFrame]:
    params = write_params(tmp_path_factory.mktemp("consistency") / "params.yaml", small_company_dir,
                          forecast={"models": ["SeasonalNaive"], "n_windows": 1, "calibration_sample": 30})
    return dict(run_plan(load_params(params), upto="staffing").tables)


def _changed(tables: dict[str, pd.DataFrame], name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = dict(tables)
    out[name] = change(tables[name].copy())
    return out


def _add(column: str, amount: float, row: int = 0) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[df.index[row], column] = df.loc[df.index[row], column] + amount
        return df

    return change


def test_every_rule_holds_on_a_plan(tables):
    assert check(tables) == []
    # the plan's tables are the ones the rules read: most rules apply
    applied = [r for r in RULES if all(t in tables for s in (r.left, r.right) for t in (s.table, *s.needs))]
    assert len(applied) >= 20


@pytest.mark.parametrize(("table", "change", "rules"), [
    # a target off its own explanation (the ledger) and off the totals above and below it
    ("targets_region", _add("target", 100.0), {"company target", "parent = sum of children", "product and channel margins", "ledger"}),
    ("targets_province", _add("target", -100.0), {"company target", "parent = sum of children", "ledger"}),
    ("plan_customer_dekad", _add("target", 1.0), {"company target", "parent = sum of children"}),
    ("targets_total", _add("last_year", 5.0), set()),  # last year is checked against the key figures (not in this plan)
    ("forecast_weights", _add("weight", -0.5), {"forecast weights"}),
    ("capacity_plan", _add("people_start", 1, row=1), {"one headcount"}),
])
def test_a_changed_number_breaks_the_named_rule(tables, table, change, rules):
    broken = check(_changed(tables, table, change))
    assert {b.rule for b in broken} == rules
    for b in broken:
        assert table in f"{b.left} {b.right}"  # the broken rule names the table that changed


def test_money_within_half_a_cent_holds(tables):
    half = consistency.MONEY_TOLERANCE / 2
    assert check(_changed(tables, "targets_total", _add("target", half))) == []
    # the company target is also the chance curve's target at the plan
    assert {b.rule for b in check(_changed(tables, "targets_total", _add("target", 3 * half)))} == {"company target", "chance curve"}


def test_hires_are_people(tables):
    hires = tables["staffing_hires"]
    if hires.empty:
        pytest.skip("this plan hires nobody")
    broken = check(_changed(tables, "staffing_hires", lambda df: df.iloc[1:]))
    assert "hires are people" in {b.rule for b in broken}


def test_a_table_off_its_declaration_breaks_declared_columns(tables):
    broken = check(_changed(tables, "targets_region", lambda df: df.assign(region_id=range(len(df)))))
    declared = [b for b in broken if b.rule == "declared columns"]
    assert [b.left for b in declared] == ["targets_region"]


def test_rules_whose_tables_are_missing_are_skipped(tables):
    assert check({}) == []
    assert check({"targets_total": tables["targets_total"]}) == []


def test_every_rule_names_declared_tables():
    for rule in RULES:
        for side in (rule.left, rule.right):
            for table in (side.table, *side.needs):
                assert table in TABLES, (rule.name, table)
        assert rule.tolerance >= 0
