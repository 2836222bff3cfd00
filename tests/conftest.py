"""Shared fixtures: a small demo company on disk and a notebook runner.

Tests use a small company (few customers, short history) so the suite stays fast;
the full-size company is for `make demo` and the benchmarks.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"

# Charts drawn by tests themselves (not in notebooks) need no screen.
os.environ.setdefault("MPLBACKEND", "Agg")
# The command line speaks the environment's language when neither --lang nor the params choose one:
# the suite reads it in English whatever the developer's locale (tests of the choice set their own).
os.environ["SALESMODEL_LANG"] = "en"

# In CI (CI set, as .ci/run and the usual CI services do) property tests draw the same
# examples on every run and keep no example database, so a red build can be replayed and is
# never random. Locally hypothesis keeps exploring new examples.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
    settings.load_profile("ci")

SMALL_COMPANY = dict(seed=7, n_customers=240, n_reps=12, start="2023-01-01", end="2026-10-31")


@pytest.fixture(scope="session")
def small_company():
    """The demo company at a small size, as a dict of DataFrames."""
    from salesmodel.sample import make_company

    return make_company(**SMALL_COMPANY)


@pytest.fixture(scope="session")
def small_company_dir(tmp_path_factory):
    """The small demo company written to a folder (same files as `salesmodel sample`)."""
    from salesmodel.sample import write_company

    out = tmp_path_factory.mktemp("company")
    write_company(out, **SMALL_COMPANY)
    return out


def write_params(path: Path, data_dir: Path, **sections) -> Path:
    """Write a params YAML for tests: the small company plus section overrides."""
    # The small company cannot be balanced to the default tolerances (its run would end with exit
    # status 3, unmet requirements); tests that are not about that ask for loose ones.
    # Territories redrawn from scratch (method 'heuristic') can meet loose tolerances on the small company;
    # the rep-centred default (method 'reps', few short moves) cannot, so tests not about it ask for the former.
    raw = {"scenario": "test", "seed": 1, "data": {"dir": str(data_dir)},
           "territory": {"balance_on": {"potential": 0.5, "workload": 0.5}, "max_disruption": None,
                         "method": "heuristic"}}
    for key, value in sections.items():
        raw[key] = value
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def small_params(tmp_path, small_company_dir):
    """A params file for the small company with test-sized settings."""
    return write_params(tmp_path / "params.yaml", small_company_dir)


NOTEBOOK_STEPS = {
    "00_data_overview.ipynb": "overview", "01_baseline_forecast.ipynb": "forecast", "02_targets.ipynb": "targets",
    "03_staffing.ipynb": "staffing", "04_territories.ipynb": "territory", "05_tracking.ipynb": "tracking",
    "10_leadership_summary.ipynb": "summary", "explore.ipynb": "summary",
}


def compute_step(step: str, params_file: Path, run_dir: Path):
    """Run a pipeline step (and the steps it needs) in this process into run_dir's tables."""
    from salesmodel.run.workspace import Workspace
    from salesmodel.schema.params import load_params

    ws = Workspace(load_params(params_file), run_dir, params_file, lab=True)
    return ws.step(step)


def execute_notebook(name: str, params_file: Path, run_dir: Path, **extra) -> Path:
    """Compute the notebook's step into run_dir (as the runner does), then execute notebooks/<name>
    through papermill into run_dir; returns the executed copy."""
    import papermill as pm

    run_dir.mkdir(parents=True, exist_ok=True)
    if name in NOTEBOOK_STEPS:
        compute_step(NOTEBOOK_STEPS[name], params_file, run_dir)
    out = run_dir / name
    # The kernel inherits this environment: charts inline (as in `salesmodel run`), not Agg.
    saved = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        pm.execute_notebook(
            str(NOTEBOOKS / name),
            str(out),
            parameters={"params_file": str(params_file), "run_dir": str(run_dir), **extra},
            kernel_name="python3",
            progress_bar=False,
            cwd=str(NOTEBOOKS),
        )
    finally:
        if saved is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = saved
    return out


def eight_customers():
    """Eight customers in two regions for the targets explorer; C8 is new (no last year)."""
    import pandas as pd

    return pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(1, 9)],
        "region_id": ["N", "N", "N", "N", "S", "S", "S", "S"],
        "last_year": [12_000.0, 8_000.0, 5_000.0, 3_000.0, 20_000.0, 7_000.0, 4_000.0, 0.0],
        "potential": [30_000.0, 10_000.0, 20_000.0, 5_000.0, 25_000.0, 9_000.0, 12_000.0, 8_000.0],
    })
