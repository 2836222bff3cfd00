"""Notebook 00 (the history at a glance) executed through papermill on the small company."""
from __future__ import annotations

import nbformat
import pandas as pd
import pytest
from conftest import NOTEBOOKS, execute_notebook, write_params

TABLES = [
    "sales_by_year", "sales_by_region_year", "sales_by_product_year", "sales_by_channel_year",
    "same_period_last_year", "monthly_pattern", "sales_by_month_region", "sales_by_province_year",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory, small_company_dir):
    import os

    base = tmp_path_factory.mktemp("nb00")
    params = write_params(base / "params.yaml", small_company_dir, report={"language": "zh", "money_unit": "wan"})
    run_dir = base / "run"
    # draw the charts for real (the kernel inherits the environment): glyph problems only show when drawn
    saved = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        nb_path = execute_notebook("00_data_overview.ipynb", params, run_dir)
    finally:
        if saved is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = saved
    return nbformat.read(nb_path, as_version=4), run_dir


def _outputs(nb):
    for cell in nb.cells:
        yield from cell.get("outputs", [])


def test_source_notebook_is_stored_without_outputs_and_has_a_parameters_cell():
    nb = nbformat.read(NOTEBOOKS / "00_data_overview.ipynb", as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    assert 'params_file = "../params/default.yaml"' in params[0].source and 'run_dir = ""' in params[0].source


def test_saves_its_tables(executed):
    _, run_dir = executed
    for name in TABLES:
        assert (run_dir / "tables" / f"{name}.parquet").is_file(), name
        assert (run_dir / "tables" / f"{name}.csv").is_file(), name


def test_totals_match_the_history(executed, small_company_dir):
    _, run_dir = executed
    sales = pd.read_parquet(small_company_dir / "sales.parquet")
    total_cents = round(sales["amount"].sum() * 100)
    for name in ("sales_by_year", "sales_by_region_year", "sales_by_product_year", "sales_by_channel_year",
                 "sales_by_month_region", "sales_by_province_year"):
        table = pd.read_parquet(run_dir / "tables" / f"{name}.parquet")
        assert round(table["amount"].sum() * 100) == total_cents, name
        assert table["units"].sum() == sales["units"].sum(), name
    by_year = pd.read_parquet(run_dir / "tables" / "sales_by_year.parquet")
    assert list(by_year["year"]) == [2023, 2024, 2025, 2026]
    regions = pd.read_parquet(run_dir / "tables" / "sales_by_month_region.parquet")
    assert set(regions["region_id"]) <= {"NE", "N", "E", "S", "C"}
    assert regions["month"].nunique() == 46  # Jan 2023 .. Oct 2026


def test_same_period_last_year_covers_january_to_the_last_day(executed, small_company_dir):
    _, run_dir = executed
    ytd = pd.read_parquet(run_dir / "tables" / "same_period_last_year.parquet")
    total = ytd[ytd["dimension"] == "total"].iloc[0]
    assert total["period_start"] == pd.Timestamp("2026-01-01") and total["period_end"] == pd.Timestamp("2026-10-31")
    assert total["last_end"] == pd.Timestamp("2025-10-31")
    sales = pd.read_parquet(small_company_dir / "sales.parquet")
    last = sales[(sales["date"] >= "2025-01-01") & (sales["date"] <= "2025-10-31")]["amount"].sum()
    assert total["amount_last_year"] == pytest.approx(last, abs=0.01)
    for dim in ("region_id", "product", "channel"):
        part = ytd[ytd["dimension"] == dim]
        assert part["amount"].sum() == pytest.approx(total["amount"], abs=0.05), dim
        assert part["amount_last_year"].sum() == pytest.approx(last, abs=0.05), dim
    assert set(ytd.loc[ytd["dimension"] == "region_id", "key"]) <= {"NE", "N", "E", "S", "C"}


def test_charts_are_drawn_with_chinese_names_and_no_missing_glyphs(executed):
    nb, _ = executed
    images = [o for o in _outputs(nb) if "image/png" in o.get("data", {})]
    assert len(images) >= 2
    text = "\n".join(
        o.get("text", "") if o.get("output_type") == "stream" else str(o.get("data", {}).get("text/plain", ""))
        for o in _outputs(nb)
    )
    assert "missing from font" not in text and "Glyph" not in text
    html = "\n".join(str(o.get("data", {}).get("text/html", "")) for o in _outputs(nb))
    assert "华东" in html or "华北" in html  # region names in Chinese
    assert "去年同期" in html  # labels in the chosen language
