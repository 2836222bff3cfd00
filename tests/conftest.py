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
    raw = {"scenario": "test", "seed": 1, "data": {"dir": str(data_dir)}}
    for key, value in sections.items():
        raw[key] = value
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def small_params(tmp_path, small_company_dir):
    """A params file for the small company with test-sized settings."""
    return write_params(tmp_path / "params.yaml", small_company_dir)


def execute_notebook(name: str, params_file: Path, run_dir: Path, **extra) -> Path:
    """Execute notebooks/<name> through papermill into run_dir; returns the executed copy."""
    import papermill as pm

    run_dir.mkdir(parents=True, exist_ok=True)
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
