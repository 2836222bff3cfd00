"""The batch comparison's data: each scenario's key figures and targets against the reference's.

Read from the runs' declared tables (``key_figures``, ``targets_region``, ``plan_company_month``) and
manifests through :mod:`salesmodel.pipeline.run_folder`, never recomputed; :func:`salesmodel.run.batch.run_batch`
writes the results into the batch folder and the comparison page reads them back.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.errors import InputError, ParamsError
from salesmodel.pipeline import run_folder
from salesmodel.pipeline.key_figures import FIGURE_SOURCES, KeyFigures

__all__ = ["TARGET_COMPARISONS", "compare_runs", "compare_targets", "diff_params", "reference_name"]


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def reference_name(names: list[str], wanted: str | None = "") -> str:
    """The reference scenario of a comparison: the one named, else the first.

    >>> reference_name(["base", "high"], "")
    'base'
    """
    if not names:
        raise InputError("no scenario finished; there is nothing to compare")
    if not wanted:
        return names[0]
    if wanted not in names:
        raise ParamsError(f"The reference scenario must be one of the batch's scenarios: {', '.join(names)}. "
                          f"Got {wanted!r} instead.")
    return wanted


def _scenario_of(run_dir: Path) -> tuple[str, dict[str, Any]]:
    manifest = run_folder.read_manifest(run_dir)
    return str(manifest.get("params", {}).get("scenario", run_dir.name)), manifest


def compare_runs(run_dirs: list[str | Path], reference: str | None = "") -> pd.DataFrame:
    """One row per run: scenario, params hash, the key figures and their difference from the reference.

    The figures are read from each run's ``key_figures`` table (never recomputed); the
    reference is the scenario named, else the first. ``<figure>_vs_reference`` is the
    figure minus the reference's (money in yuan, people in people, shares in points of 1).
    """
    rows = []
    for rd in run_dirs:
        rd = Path(rd)
        scenario, manifest = _scenario_of(rd)
        # A run that saved no tables still ran: its figures are simply missing.
        figures = KeyFigures.from_table(run_folder.read_table(rd, "key_figures"))
        rows.append({
            "scenario": scenario,
            "run_id": manifest.get("run_id", rd.name),
            "params_sha256": manifest.get("params_sha256"),
            **figures.as_dict(),
        })
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    ref = reference_name(list(out["scenario"]), reference)
    out.insert(1, "is_reference", out["scenario"] == ref)
    ref_row = out[out["is_reference"]].iloc[0]
    for figure in FIGURE_SOURCES:
        values = pd.to_numeric(out[figure], errors="coerce").astype(float)
        base = pd.to_numeric(pd.Series([ref_row[figure]]), errors="coerce").astype(float).iloc[0]
        out[figure] = values
        out[f"{figure}_vs_reference"] = values - base
    return out


# the declared table and key column each target comparison reads
TARGET_COMPARISONS: dict[str, tuple[str, str]] = {"region": ("targets_region", "region_id"),
                                                  "month": ("plan_company_month", "period")}


def compare_targets(run_dirs: list[str | Path], by: str, reference: str | None = "") -> pd.DataFrame:
    """Each scenario's target by region (``targets_region``) or by month (``plan_company_month``)
    against the reference scenario's: ``scenario, <key>, target, reference_target, difference,
    difference_share`` (difference / reference target). Read from the runs' tables, not recomputed.
    """
    if by not in TARGET_COMPARISONS:
        raise ParamsError(f"The 'by' parameter must be one of {', '.join(TARGET_COMPARISONS)}. Got {by!r} instead.")
    table, key = TARGET_COMPARISONS[by]
    frames = []
    for rd in run_dirs:
        rd = Path(rd)
        scenario, _ = _scenario_of(rd)
        t = run_folder.read_table(rd, table, columns=[key, "target"])
        if t is None:
            continue
        t[key] = t[key].astype(str)
        t.insert(0, "scenario", scenario)
        frames.append(t)
    cols = ["scenario", key, "target", "reference_target", "difference", "difference_share"]
    if not frames:
        return pd.DataFrame(columns=cols)
    long = pd.concat(frames, ignore_index=True)
    ref = reference_name(list(dict.fromkeys(long["scenario"])), reference)
    base = long[long["scenario"] == ref].set_index(key)["target"]
    long["reference_target"] = long[key].map(base).astype(float)
    long["difference"] = long["target"] - long["reference_target"]
    with np.errstate(divide="ignore", invalid="ignore"):
        long["difference_share"] = np.where(long["reference_target"] != 0,
                                            long["difference"] / long["reference_target"], np.nan)
    return long[cols]


def diff_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> pd.DataFrame:
    """The params that differ between two scenarios, one row per dotted key.

    >>> diff_params({"targets": {"growth": 0.1}}, {"targets": {"growth": 0.15}})
                  key    a     b
    0  targets.growth  0.1  0.15
    """
    fa: dict[str, Any] = {}
    fb: dict[str, Any] = {}
    _flatten("", dict(a), fa)
    _flatten("", dict(b), fb)
    keys = sorted(set(fa) | set(fb))
    rows = [(k, fa.get(k), fb.get(k)) for k in keys if fa.get(k) != fb.get(k)]
    return pd.DataFrame(rows, columns=["key", "a", "b"])
