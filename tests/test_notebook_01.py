"""Notebook 01 (baseline forecast) runs on the small company and saves its tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import execute_notebook, write_params


@pytest.fixture(scope="module")
def run(tmp_path_factory, small_company_dir):
    tmp = tmp_path_factory.mktemp("nb01")
    params = write_params(tmp / "params.yaml", small_company_dir,
                          forecast={"grain": ["region", "product"], "n_windows": 1, "top_n_charts": 2,
                                    "spring_festival": True})
    run_dir = tmp / "run"
    execute_notebook("01_baseline_forecast.ipynb", params, run_dir)
    return run_dir


def test_baseline_forecast_table(run):
    fc = pd.read_parquet(run / "tables" / "baseline_forecast.parquet")
    assert list(fc.columns) == ["region_id", "product", "unique_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80",
                                "yhat_lo_95", "yhat_hi_95", "model"]
    assert fc["region_id"].nunique() == 5 and set(fc["product"]) == {"A", "B", "C"}
    # The history ends in October 2026: the forecast covers the whole plan year 2027.
    assert pd.Timestamp("2027-12-01") in set(pd.to_datetime(fc["ds"]))
    assert (fc[["yhat", "yhat_lo_80", "yhat_hi_95"]] >= 0).all().all()
    assert fc["model"].notna().all()


def test_levels_add_up_and_backtest_saved(run):
    levels = pd.read_parquet(run / "tables" / "baseline_forecast_levels.parquet")
    total = levels[levels["level"] == "total"].set_index("ds")["yhat"]
    bottom = levels[levels["level"] == "region_id/product"].groupby("ds")["yhat"].sum()
    np.testing.assert_allclose(total.sort_index(), bottom.sort_index(), rtol=1e-9)
    bt = pd.read_parquet(run / "tables" / "backtest.parquet")
    assert {"unique_id", "smape", "mase", "coverage_80", "coverage_95", "model", "level"} <= set(bt.columns)
    assert bt["unique_id"].nunique() == 1 + 5 + 3 + 15
    summary = pd.read_parquet(run / "tables" / "backtest_summary.parquet")
    assert summary["smape"].between(0, 200).all()
