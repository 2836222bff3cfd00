"""Checking a run folder: hashes against the manifest, and re-execution.

This sits above :mod:`salesmodel.audit` (manifests and hashes) and
:mod:`salesmodel.runner` (executing a scenario), so neither imports the other
in a circle.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

import numpy as np

from salesmodel import tables as declared
from salesmodel.audit import frame_hash, output_hashes, package_versions, read_manifest, sha256_file, source_hash
from salesmodel.errors import SalesmodelError
from salesmodel.workspace import INPUTS, TABLES
from salesmodel.params import load_params, params_hash

__all__ = ["VerifyReport", "verify"]


@dataclass
class VerifyReport:
    """What :func:`verify` found. ``ok`` is True only when there are no problems."""

    run_dir: Path
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    table_differences: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files_checked: int = 0
    tables_compared: int = 0
    rules_checked: int = 0
    rerun: bool = False

    @property
    def problems(self) -> list[str]:
        """One line per problem, naming the file."""
        return (
            [f"changed: {p} (its sha256 differs from the manifest)" for p in self.changed]
            + [f"missing: {p} (listed in the manifest, not in the folder)" for p in self.missing]
            + [f"extra: {p} (in the folder, not in the manifest)" for p in self.extra]
            + [f"rerun differs: {d}" for d in self.table_differences]
            + [f"inconsistent: {d}" for d in self.inconsistent]
            + self.other
        )

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """A short text for the command line."""
        head = f"{self.run_dir}: "
        if self.ok:
            head += f"OK, {self.files_checked} files match the manifest"
            if self.rules_checked:
                head += f"; the tables agree ({self.rules_checked} consistency rules)"
            if self.rerun:
                head += f"; the rerun reproduced all {self.tables_compared} tables exactly"
        else:
            head += f"FAILED, {len(self.problems)} problem(s)"
        lines = [head] + [f"  - {p}" for p in self.problems] + [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _keys(name: str, df: pd.DataFrame) -> list[str]:
    """Columns that name a row of a table: its id and period columns, as declared."""
    spec = declared.TABLES.get(name)
    text = [c.name for c in spec.columns if c.kind == "text"] if spec else []
    ids = [c for c in text if c in df.columns and (c.endswith("_id") or c in ("period", "level", "plan", "scenario",
                                                                          "figure", "step", "fact", "grain"))]
    return ids[:3] or list(df.columns[:1])


def table_difference(name: str, original: pd.DataFrame, again: pd.DataFrame) -> str | None:
    """In plain words, how two versions of a table differ (None when identical)."""
    if list(original.columns) != list(again.columns):
        gone = [c for c in original.columns if c not in again.columns]
        new = [c for c in again.columns if c not in original.columns]
        return f"table {name}: columns differ (only in the run: {', '.join(gone) or 'none'}; only now: {', '.join(new) or 'none'})"
    if len(original) != len(again):
        return f"table {name}: {len(original):,} rows in the run, {len(again):,} now"
    differing_cols, rows = [], np.zeros(len(original), dtype=bool)
    for column in original.columns:
        a, b = original[column], again[column]
        same = (a.astype(object).to_numpy() == b.astype(object).to_numpy()) | (a.isna().to_numpy() & b.isna().to_numpy())
        if not same.all() or a.dtype != b.dtype:
            differing_cols.append(column)
            rows |= ~same
    if not differing_cols:
        return None
    keys = _keys(name, original)
    first = original.loc[rows, keys].head(3).astype(str).agg("/".join, axis=1).tolist()
    where = f"; first rows: {', '.join(first)} ({'/'.join(keys)})" if first else " (the column types differ)"
    return (f"table {name}: {int(rows.sum()):,} of {len(original):,} rows differ in "
            f"{', '.join(map(str, differing_cols[:6]))}{'…' if len(differing_cols) > 6 else ''}{where}")


def _compare_tables(run_dir: Path, tables: dict[str, pd.DataFrame], report: VerifyReport) -> None:
    from salesmodel import io

    folder = run_dir / TABLES
    recorded = {p.stem for p in folder.glob("*.parquet")}
    for name in sorted(recorded - set(tables)):
        report.table_differences.append(f"table {name} was not produced by the rerun")
    for name in sorted(set(tables) - recorded):
        report.table_differences.append(f"table {name} was produced by the rerun only")
    with tempfile.TemporaryDirectory(prefix="salesmodel-rerun-") as tmp:
        for name in sorted(recorded & set(tables)):
            report.tables_compared += 1
            paths = io.write_table(tables[name], tmp, name)
            again = pd.read_parquet(paths[0])
            difference = table_difference(name, pd.read_parquet(folder / f"{name}.parquet"), again)
            if difference is not None:
                report.table_differences.append(difference)
                continue
            for path in paths:
                if sha256_file(path) != sha256_file(folder / path.name):
                    report.table_differences.append(
                        f"table {name}: the values are equal but {path.name} is written differently "
                        "(a library writes the file format differently)")


def _rerun(run_dir: Path, manifest: dict[str, Any], report: VerifyReport) -> None:
    """Run the plan again in this process from the run's own params and inputs; compare every table."""
    import salesmodel
    from salesmodel.pipeline import run_plan
    from salesmodel.workspace import read_run_inputs

    made_by = manifest.get("salesmodel", {}).get("version")
    if made_by and made_by != salesmodel.__version__:
        report.other.append(f"the run was made by salesmodel {made_by} and this is salesmodel {salesmodel.__version__}: "
                            f"a rerun cannot prove it; install salesmodel {made_by} to rerun")
        return
    recorded_source = manifest.get("salesmodel", {}).get("source_sha256")
    if recorded_source and recorded_source != source_hash():
        report.notes.append("the salesmodel code has changed since the run (source_sha256 differs); "
                            "differences below may come from the code, not the data")
    changed = [f"{k} {v} -> {now}" for k, v in manifest.get("packages", {}).items()
               if (now := package_versions((k,))[k]) != v]
    if changed:
        report.notes.append("package versions changed since the run: " + ", ".join(changed))
    for key, record in manifest.get("inputs", {}).items():
        path, recorded = record.get("path"), record.get("sha256")
        if path and recorded and (not Path(path).is_file() or sha256_file(path) != recorded):
            report.notes.append(f"input {key}: the original source {path} has changed or gone since the run; "
                                "the rerun uses the run's own copy")
    inputs = read_run_inputs(run_dir)
    if inputs is None:
        report.other.append(f"{run_dir / INPUTS}: the run keeps no copy of its inputs, so it cannot be replayed")
        return
    for key, record in manifest.get("inputs", {}).items():
        if key not in inputs:
            report.other.append(f"{INPUTS}/{key}.parquet: the run's copy of input {key} is missing")
            return
        if record.get("content_sha256") and frame_hash(inputs[key]) != record["content_sha256"]:
            report.other.append(f"{INPUTS}/{key}.parquet: the run's copy of input {key} differs from the data "
                                "the run read (content hash)")
            return
    with tempfile.TemporaryDirectory(prefix="salesmodel-rerun-") as tmp:
        params_file = Path(tmp) / "params.yaml"
        params_file.write_text(yaml.safe_dump(manifest["params"], allow_unicode=True, sort_keys=False), encoding="utf-8")
        params = load_params(params_file)
    if params_hash(params) != manifest["params_sha256"]:
        report.other.append("the recorded params no longer load to the same hash (params schema changed?)")
        return
    try:
        plan = run_plan(params, inputs)
    except SalesmodelError as exc:
        report.other.append(f"the rerun failed: {exc}")
        return
    _compare_tables(run_dir, plan.tables, report)


def _consistency(run_dir: Path, report: VerifyReport) -> None:
    from salesmodel import consistency

    tables = {}
    for path in sorted((run_dir / TABLES).glob("*.parquet")):
        try:
            tables[path.stem] = pd.read_parquet(path)
        except Exception:  # noqa: BLE001 - a damaged file is already named by its hash; the rules skip it
            continue
    report.rules_checked = len(consistency.RULES)
    for broken in consistency.check(tables):
        report.inconsistent.append(broken.message)


def verify(run_dir: str | Path, *, rerun: bool = False) -> VerifyReport:
    """Check a run folder: hashes against its manifest, tables against each other, and optionally a rerun.

    Every file's sha256 is compared with the manifest; each changed, missing
    or extra file is named. The consistency rules (:mod:`salesmodel.consistency`)
    are applied to the run's tables. With ``rerun=True`` the plan is run again
    in this process from the recorded params and the run's own copy of its
    inputs, and every table is compared exactly (values, then file bytes).

    Parameters
    ----------
    run_dir : path
        A folder written by ``salesmodel run``.
    rerun : bool, default=False
        Also run the plan again and compare every table.

    Returns
    -------
    VerifyReport
        ``report.ok`` is True when everything matches; ``report.problems``
        lists what does not.

    Examples
    --------
    >>> report = verify("outputs/runs/20261123T090000Z-default-1a2b3c4d")  # doctest: +SKIP
    >>> report.ok
    True
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    report = VerifyReport(run_dir=run_dir, rerun=rerun)
    recorded: dict[str, str] = manifest["outputs"]
    actual = output_hashes(run_dir)
    report.files_checked = len(recorded)
    report.missing = sorted(set(recorded) - set(actual))
    report.extra = sorted(set(actual) - set(recorded))
    report.changed = sorted(p for p in set(recorded) & set(actual) if recorded[p] != actual[p])
    params_path = run_dir / "params.yaml"
    if params_path.is_file() and "params.yaml" not in report.changed:
        try:
            if params_hash(load_params(params_path)) != manifest["params_sha256"]:
                report.other.append("params.yaml does not hash to the manifest's params_sha256")
        except SalesmodelError as exc:
            report.other.append(f"params.yaml no longer loads: {exc}")
    if (run_dir / TABLES).is_dir():
        _consistency(run_dir, report)
    if rerun:
        _rerun(run_dir, manifest, report)
    return report
