"""What a notebook sees of its run: the params, the inputs, and the run's tables.

Every notebook starts the same way::

    from salesmodel.workspace import open_run
    ws = open_run(params_file, run_dir)
    sales = ws.inputs()["sales"]
    ws.save("forecast", forecast_df)        # tables/forecast.parquet + .csv
    fc = ws.table("forecast")               # read a table an earlier notebook saved

``run_dir`` empty means a scratch folder (interactive use in JupyterLab).
"""
from __future__ import annotations

import tempfile
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from salesmodel.errors import InputError
from salesmodel.params import Scenario, load_params

__all__ = ["Workspace", "open_run"]

TABLES = "tables"


class Workspace:
    """A run's params, inputs and tables, as one object for notebooks."""

    def __init__(self, params: Scenario, run_dir: Path, params_file: Path | None = None) -> None:
        self.params = params
        self.run_dir = run_dir
        self.params_file = params_file
        self.tables_dir = run_dir / TABLES
        self.tables_dir.mkdir(parents=True, exist_ok=True)

    @cached_property
    def _inputs(self) -> dict[str, pd.DataFrame]:
        from salesmodel import io

        return io.read_inputs(self.params.data)

    def inputs(self) -> dict[str, pd.DataFrame]:
        """The validated input tables by kind (sales, customers, reps, org, provinces, adjacency)."""
        return self._inputs

    def save(self, name: str, df: pd.DataFrame) -> list[Path]:
        """Write a table into the run as Parquet and CSV; returns the paths."""
        from salesmodel import io

        return io.write_table(df, self.tables_dir, name)

    def table(self, name: str) -> pd.DataFrame:
        """Read a table an earlier notebook of this run saved."""
        path = self.tables_dir / f"{name}.parquet"
        if not path.is_file():
            have = sorted(p.stem for p in self.tables_dir.glob("*.parquet"))
            raise InputError(
                f"{path}: table '{name}' has not been written in this run "
                f"(tables so far: {', '.join(have) or 'none'}); run the notebook that makes it first"
            )
        return pd.read_parquet(path)

    def has_table(self, name: str) -> bool:
        return (self.tables_dir / f"{name}.parquet").is_file()

    @property
    def language(self) -> str:
        return self.params.report.language

    def __repr__(self) -> str:  # pragma: no cover - display only
        return f"Workspace(scenario={self.params.scenario!r}, run_dir='{self.run_dir}')"


def open_run(params_file: str | Path | None = None, run_dir: str | Path | None = None, **_: Any) -> Workspace:
    """Open the workspace of a run (or a scratch one when ``run_dir`` is empty)."""
    params = load_params(params_file) if params_file else Scenario()
    if run_dir:
        rd = Path(run_dir)
    else:
        rd = Path(tempfile.mkdtemp(prefix="salesmodel-scratch-"))
    return Workspace(params, rd, Path(params_file) if params_file else None)
