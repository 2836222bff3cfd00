"""The leadership page: five numbers, risks, charts, provenance, and a real browser check."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from conftest import execute_notebook, write_params
from salesmodel import summary
from salesmodel.report import export_html

import browser


@pytest.fixture(scope="module")
def leadership_run(tmp_path_factory, small_company_dir):
    tmp = tmp_path_factory.mktemp("leadership")
    params = write_params(tmp / "params.yaml", small_company_dir, report={"language": "zh", "money_unit": "wan"})
    run_dir = tmp / "run"
    for nb in ("02_targets.ipynb", "03_staffing.ipynb", "10_leadership_summary.ipynb"):
        execute_notebook(nb, params, run_dir)
    html = export_html(run_dir / "10_leadership_summary.ipynb", run_dir / "html" / "10_leadership_summary.html")
    return run_dir, html


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
    from salesmodel.params import load_params, params_hash

    assert params_hash(load_params(run_dir.parent / "params.yaml")) in text
    from openpyxl import load_workbook

    wb = load_workbook(run_dir / "plan.xlsx")
    assert "月销售计划表" in wb.sheetnames
    plan = pd.read_parquet(run_dir / "tables" / "plan_rep_month.parquet")
    ws = wb["月销售计划表"]
    n_reps = plan["rep_id"].nunique()
    first_value = ws.cell(row=2, column=3).value
    assert ws.cell(row=n_reps + 2, column=1).value == "合计"
    assert isinstance(first_value, float)


def test_key_figures_from_hand_made_tables():
    tables = {
        "targets_region": pd.DataFrame({"region_id": ["E", "N"], "target": [660.0, 440.0], "last_year": [600.0, 400.0]}),
        "achievability": pd.DataFrame({
            "level": ["company", "region", "region"], "unit_id": ["company", "E", "N"],
            "target": [1100.0, 660.0, 440.0], "baseline": [1000.0, 600.0, 400.0],
            "growth_asked": [0.1, 0.1, 0.1], "probability": [0.4, 0.5, 0.2], "flag": [False, False, True],
        }),
        "capacity_plan": pd.DataFrame({
            "region_id": ["E", "E", "N", "N"], "month": ["2027-01", "2027-02"] * 2,
            "headcount_end": [5.0, 6.0, 3.0, 3.5], "hires_decided": [1, 0, 0, 1], "shortfall": [False, True, False, False],
        }),
    }
    fig = summary.key_figures(tables)
    assert fig.total_target == 1100.0
    assert fig.growth_over_last_year == pytest.approx(0.1)
    assert fig.growth_over_baseline == pytest.approx(0.1)
    assert fig.probability_of_meeting == 0.4  # the company row, not an average
    assert fig.units_at_risk == 1  # N, at the finest level present (region)
    assert fig.headcount_needed == 9.5  # last month, summed over teams
    assert fig.hires == 2 and fig.staffing_shortfall_months == 1
    assert fig.pay_cost is None and fig.territory_max_deviation is None  # not in this run: None, not 0
    risks = summary.risks(tables, language="en", names={"N": "North"})
    assert risks[0].startswith("North is asked to grow 10%")
    assert any("2027-02" in r for r in risks)


def test_diff_params_lists_only_the_changes():
    a = {"targets": {"growth": 0.12, "stretch": 1.0}, "seed": 1}
    b = {"targets": {"growth": 0.15, "stretch": 1.0}, "seed": 1, "staffing": {"attrition": 0.25}}
    diff = summary.diff_params(a, b)
    assert diff["key"].tolist() == ["staffing.attrition", "targets.growth"]
    assert diff.loc[diff.key == "targets.growth", "b"].item() == 0.15


def test_baseline_by_month_uses_the_company_series_for_intervals():
    ds = pd.date_range("2027-01-01", periods=2, freq="MS")
    fc = pd.DataFrame({
        "unique_id": ["company", "company", "E", "E"], "ds": list(ds) * 2,
        "yhat": [10.0, 12.0, 6.0, 7.0], "yhat_lo_80": [8.0, 9.0, 5.0, 6.0], "yhat_hi_80": [12.0, 15.0, 7.0, 8.0],
    })
    out = summary.baseline_by_month(fc)
    assert out["yhat"].tolist() == [10.0, 12.0] and out["yhat_lo_80"].tolist() == [8.0, 9.0]
    no_company = summary.baseline_by_month(fc[fc.unique_id == "E"])
    assert "yhat_lo_80" not in no_company and np.allclose(no_company["yhat"], [6.0, 7.0])
