"""The run folder's layout, and reading it: the one module that knows where a run keeps what.

A run folder (``outputs/runs/<run id>/``) holds ``params.yaml``, ``manifest.json``, ``inputs/`` (the
validated inputs, Parquet), ``tables/`` (the declared tables, Parquet and CSV), ``adjustments.parquet``
(an edited plan's adjustments), ``notebooks/``, ``html/`` and the workbook; a lab workspace also keeps
``steps.json``. A batch folder holds ``batch_manifest.json`` and the comparison tables
(``comparison.parquet``, ``comparison_<by>.parquet``). Views, the runner and ``verify`` read them
through the functions here.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from salesmodel import io
from salesmodel.errors import InputError
from salesmodel.io import orderlines
from salesmodel.pipeline.key_figures import FIGURE_SOURCES

__all__ = [
    "ADJUSTMENTS",
    "BATCH_MANIFEST",
    "INPUTS",
    "MANIFEST",
    "PARAMS_FILE",
    "STEP_STATE",
    "TABLES",
    "batch_comparison",
    "load_run_tables",
    "read_batch_manifest",
    "read_input",
    "read_manifest",
    "read_run_inputs",
    "read_table",
    "scenario_params",
    "write_inputs",
]

TABLES = "tables"
INPUTS = "inputs"
MANIFEST = "manifest.json"
PARAMS_FILE = "params.yaml"
ADJUSTMENTS = "adjustments.parquet"
STEP_STATE = "steps.json"  # lab workspaces: the params fingerprint each step's tables were made with
BATCH_MANIFEST = "batch_manifest.json"


def write_inputs(run_dir: Path, inputs: dict[str, pd.DataFrame | orderlines.StoredLines]) -> list[Path]:
    """Keep the validated inputs in the run folder (Parquet) so the run replays from its own copy (order
    lines validated part by part: their validated file, copied)."""
    paths: list[Path] = []
    for kind, df in sorted(inputs.items()):
        if isinstance(df, orderlines.StoredLines):
            target = Path(run_dir) / INPUTS / f"{kind}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(df.path, target)
            paths.append(target)
        else:
            paths += io.write_table(df, run_dir / INPUTS, kind, with_csv=False)
    return paths


def held_from_copy(run_dir: Path, inputs: dict[str, pd.DataFrame | orderlines.StoredLines]) -> None:
    """The sales history, once copied to the run folder, held as that copy and its sums (the steps read
    the sums and, line by line, a few windows from the copy): the lines in memory, if any, are let go."""
    sales = inputs.get("sales")
    if sales is None:
        return
    path = Path(run_dir) / INPUTS / "sales.parquet"
    inputs["sales"] = sales.moved(path) if isinstance(sales, orderlines.StoredLines) else orderlines.stored(sales, path)


def read_run_inputs(run_dir: Path) -> dict[str, pd.DataFrame | orderlines.StoredLines] | None:
    """The validated inputs a run folder keeps, or None when it keeps none (a sales history too large to
    hold, as its run held it: the copy, its sums and its content hash)."""
    import pyarrow.parquet as pq

    from salesmodel.io.readers import STREAM_FROM_LINES

    folder = Path(run_dir) / INPUTS
    if not folder.is_dir():
        return None
    out: dict[str, pd.DataFrame | orderlines.StoredLines] = {}
    for p in sorted(folder.glob("*.parquet")):
        large = p.stem == "sales" and pq.ParquetFile(p).metadata.num_rows >= STREAM_FROM_LINES
        out[p.stem] = orderlines.stored_file(p) if large else pd.read_parquet(p)
    return out


def read_input(run_dir: str | Path, kind: str) -> pd.DataFrame | None:
    """One validated input a run folder keeps (``inputs/<kind>.parquet``), None when it has none."""
    path = Path(run_dir) / INPUTS / f"{kind}.parquet"
    return pd.read_parquet(path) if path.is_file() else None


def load_run_tables(run_dir: str | Path, names: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The Parquet tables of a run folder (``tables/*.parquet``), by name."""
    tables_dir = Path(run_dir) / TABLES
    if not tables_dir.is_dir():
        raise InputError(f"{run_dir}: not a run folder (no tables/ inside)")
    wanted = set(names) if names else None
    return {
        p.stem: pd.read_parquet(p)
        for p in sorted(tables_dir.glob("*.parquet"))
        if wanted is None or p.stem in wanted
    }


def read_table(run_dir: str | Path, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
    """One declared table of a run folder (``tables/<name>.parquet``), None when the run did not save it."""
    path = Path(run_dir) / TABLES / f"{name}.parquet"
    return pd.read_parquet(path, columns=columns) if path.is_file() else None


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    """The manifest of a finished run folder, as written (InputError when the folder has none)."""
    manifest = Path(run_dir) / MANIFEST
    if not manifest.is_file():
        raise InputError(f"{run_dir}: no manifest.json; not a finished run folder")
    return json.loads(manifest.read_text(encoding="utf-8"))


def read_batch_manifest(batch_dir: str | Path) -> dict[str, Any]:
    """The batch manifest written by :func:`salesmodel.run.batch.run_batch`."""
    path = Path(batch_dir) / BATCH_MANIFEST
    if not path.is_file():
        raise InputError(f"{batch_dir}: not a batch folder (no batch_manifest.json)")
    return json.loads(path.read_text(encoding="utf-8"))


def batch_comparison(batch_dir: str | Path, by: str | None = None) -> pd.DataFrame:
    """The batch's comparison table (one row per scenario that finished); ``by="region"`` or
    ``"month"``: the target comparison by region or month (``comparison_region``, ``comparison_month``)."""
    name = "comparison" if by is None else f"comparison_{by}"
    path = Path(batch_dir) / f"{name}.parquet"
    if not path.is_file():
        return pd.DataFrame(columns=["scenario", *FIGURE_SOURCES])
    return pd.read_parquet(path)


def scenario_params(batch_dir: str | Path, name: str) -> dict[str, Any]:
    """The resolved params of one scenario of a batch."""
    manifest = read_batch_manifest(batch_dir)
    for s in manifest["scenarios"]:
        if s["name"] == name:
            return yaml.safe_load(Path(s["params_file"]).read_text(encoding="utf-8"))
    raise InputError(f"{batch_dir}: no scenario named {name!r}; scenarios: {[s['name'] for s in manifest['scenarios']]}")
