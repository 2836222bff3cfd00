"""The leadership page: five numbers, risks, charts, provenance, and a real browser check."""
from __future__ import annotations

import re

import browser
import pandas as pd
import pytest
from conftest import write_params

from salesmodel.pipeline.comparison import compare_runs, diff_params
from salesmodel.pipeline.key_figures import KeyFigures, key_figures
from salesmodel.pipeline.risks import risk_table
from salesmodel.report.risks import risks as risk_sentences


@pytest.fixture(scope="module")
def leadership_run(tmp_path_factory, small_company_dir):
    from salesmodel.run.runner import run_scenario

    tmp = tmp_path_factory.mktemp("leadership")
    params = write_params(tmp / "params.yaml", small_company_dir, report={"language": "zh", "money_unit": "wan"})
    result = run_scenario(params, tmp / "out", notebooks=["10_leadership_summary.ipynb"], progress=False)
    return result.run_dir, result.leadership_html


def test_leadership_page_renders_in_chromium_without_code(leadership_run, tmp_path):
    if browser.chromium_path() is None:
        pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
    run_dir, html = leadership_run
    dom = browser.dump_dom(html)
    assert "摘要" in dom  # the Chinese title rendered as text
    assert len(re.findall(r'<img[^>]+src="data:image/png', dom)) >= 3  # tiles, region chart, months...
    assert "open_run(" not in dom and "import matplotlib" not in dom  # no code cells
    assert not re.search(r'<script[^>]+src=', dom)  # nothing fetched from the internet
    png = browser.screenshot(html, tmp_path / "page.png")
    import matplotlib.image as mpimg

    pixels = mpimg.imread(png)
    assert pixels.shape[0] > 1000
    # A blank page is one colour; a page with charts and text has many dark pixels.
    dark = (pixels[..., :3].mean(axis=2) < 0.5).mean()
    assert dark > 0.005


def test_page_carries_the_workbook_and_provenance(leadership_run):
    run_dir, html = leadership_run
    text = html.read_text(encoding="utf-8")
    from salesmodel.schema.params import load_params, params_hash

    assert params_hash(load_params(run_dir / "params.yaml")) in text
    from openpyxl import load_workbook

    wb = load_workbook(run_dir / "plan.xlsx")
    assert "月销售计划表" in wb.sheetnames
    plan = pd.read_parquet(run_dir / "tables" / "plan_rep_month.parquet")
    ws = wb["月销售计划表"]
    n_reps = plan["rep_id"].nunique()
    first_value = ws.cell(row=2, column=5).value  # id, name, region, province, then the months
    assert ws.cell(row=n_reps + 2, column=1).value == "合计"
    assert isinstance(first_value, float)


def test_territory_balance_chart_and_comparison_columns_read_the_run(leadership_run):
    """The leadership page's territory chart and the figures come from the declared tables."""
    import nbformat

    run_dir, _ = leadership_run
    tables = {p.stem: pd.read_parquet(p) for p in (run_dir / "tables").glob("*.parquet")}
    figures = KeyFigures.from_table(tables["key_figures"])
    proposed = tables["territory_metrics"].query("plan == 'proposed'")
    assert figures.territory_max_deviation == pytest.approx(
        proposed[["potential_dev", "workload_dev"]].abs().to_numpy().max())
    pay = tables["pay_cost"].query("scenario == '100%'")
    assert figures.cost_share == pytest.approx(pay["total_pay"].sum() / pay["target"].sum())
    assert figures.hires == tables["capacity_plan"]["hires_starting"].sum()
    nb = nbformat.read(run_dir / "notebooks" / "10_leadership_summary.ipynb", as_version=4)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 5  # tiles, regions, months, capacity, territory balance (not empty)
    comparison = compare_runs([run_dir])
    assert comparison.loc[0, "territory_max_deviation"] == pytest.approx(figures.territory_max_deviation)
    assert comparison.loc[0, "cost_share"] == pytest.approx(figures.cost_share)


def test_key_figures_from_hand_made_tables():
    tables = {
        "targets_total": pd.DataFrame({"target": [1100.0], "last_year": [1000.0]}),
        "achievability": pd.DataFrame({
            "level": ["company", "region", "region"], "unit_id": ["company", "E", "N"],
            "target": [1100.0, 660.0, 440.0], "baseline": [1000.0, 600.0, 400.0],
            "growth_asked": [0.1, 0.1, 0.1], "probability": [0.4, 0.5, 0.2], "flag": [False, False, True],
        }),
        "capacity_plan": pd.DataFrame({
            "region_id": ["E", "E", "N", "N"], "month": ["2027-01", "2027-02"] * 2,
            "headcount_end": [5.0, 6.0, 3.0, 3.5], "hires_starting": [1, 0, 0, 1], "shortfall": [False, True, False, False],
        }),
        "pay_cost": pd.DataFrame({"scenario": ["100%", "100%", "120%"], "total_pay": [10.0, 20.0, 40.0],
                                  "target": [1000.0, 2000.0, 1000.0]}),
    }
    fig = key_figures(tables)
    assert fig.total_target == 1100.0
    assert fig.growth_over_last_year == pytest.approx(0.1)
    assert fig.growth_over_baseline == pytest.approx(0.1)
    assert fig.probability_of_meeting == 0.4  # the company row, not an average
    assert fig.units_at_risk == 1  # N, at the finest level present (region)
    assert fig.headcount_needed == 9.5  # last month, summed over teams
    assert fig.hires == 2 and fig.staffing_shortfall_months == 1
    assert fig.pay_cost == 12 * 30.0  # a month of pay at 100%, for a year
    assert fig.cost_share == pytest.approx(0.01)  # a month of pay against a month of target
    assert fig.territory_max_deviation is None  # not in this run: None, not 0
    assert KeyFigures.from_table(fig.as_table()) == fig
    risks = risk_sentences(risk_table(tables, fig), language="en", names={"N": "North"})
    assert risks[0].startswith("North is asked to grow +10%")
    assert any("Feb 2027" in r for r in risks)


def test_risks_name_the_territory_hand_over_when_the_proposal_moves_accounts():
    terr = pd.DataFrame({"plan": ["today", "proposed"], "moved_units": [0, 1415], "moved_share": [0.0, 0.5438],
                         "max_potential_dev": [2.3, 0.049]})
    table = risk_table({"territory_summary": terr}, _figures_with_territory(0.049))
    assert table.loc[table["kind"] == "disruption", "value"].item() == pytest.approx(0.5438)
    said = risk_sentences(table, language="en")
    assert "moves 54% of potential (1,415 accounts)" in " ".join(said)
    assert any(r.startswith("Territory balance: every tolerance is met") for r in said)
    zh = " ".join(risk_sentences(table, language="zh"))
    assert "1,415 个客户" in zh


def _figures_with_territory(dev: float):
    import dataclasses

    fields = {f.name: None for f in dataclasses.fields(KeyFigures)}
    return KeyFigures(**{**fields, "territory_max_deviation": dev})


def test_diff_params_lists_only_the_changes():
    a = {"targets": {"growth": 0.12, "stretch": 1.0}, "seed": 1}
    b = {"targets": {"growth": 0.15, "stretch": 1.0}, "seed": 1, "staffing": {"attrition": 0.25}}
    diff = diff_params(a, b)
    assert diff["key"].tolist() == ["staffing.attrition", "targets.growth"]
    assert diff.loc[diff.key == "targets.growth", "b"].item() == 0.15
