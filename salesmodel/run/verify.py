"""Checking a run folder: hashes against the manifest, and re-execution.

This sits above :mod:`salesmodel.run.audit` (manifests and hashes) and
:mod:`salesmodel.run.runner` (executing a scenario), so neither imports the other
in a circle.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

import salesmodel
from salesmodel import io
from salesmodel.errors import InputError, SalesmodelError
from salesmodel.paths import is_run_id, shorten
from salesmodel.pipeline import run_edited, run_plan
from salesmodel.pipeline.edits import Edits, apply_edits
from salesmodel.pipeline.run_folder import ADJUSTMENTS, INPUTS, MANIFEST, TABLES, read_run_inputs
from salesmodel.run import audit
from salesmodel.run.audit import (
    frame_hash,
    output_hashes,
    package_versions,
    read_manifest,
    sha256_file,
    source_hash,
)
from salesmodel.schema import consistency
from salesmodel.schema import tables as declared
from salesmodel.schema.params import load_params, params_hash

__all__ = ["VerifyReport", "environment_differences", "verify"]


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
    environment: list[str] = field(default_factory=list)
    log_line: int | None = None
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
            if self.log_line is not None:
                head += f", and the manifest matches line {self.log_line} of the run log"
            if self.rules_checked:
                head += f"; the tables agree ({self.rules_checked} consistency rules)"
            if self.rerun:
                head += f"; the rerun reproduced all {self.tables_compared} tables exactly"
        else:
            head += f"FAILED, {len(self.problems)} problem(s)"
        lines = ([head] + [f"  environment: {e}" for e in self.environment]
                 + [f"  - {p}" for p in self.problems] + [f"  note: {n}" for n in self.notes])
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


def environment_differences(run_dir: Path, manifest: dict[str, Any]) -> list[str]:
    """Packages whose installed version differs from the run's (its lock file, else the manifest).

    One line per package: ``numpy 1.26.4 in the run, 2.1.0 here`` (or missing here / new here).
    """
    lock = run_dir / audit.LOCK_FILE
    if lock.is_file():
        recorded = audit.read_lock(lock)
        now = audit.installed_versions()
        names = sorted(set(recorded) | set(now))
        out = []
        for name in names:
            was, is_ = recorded.get(name), now.get(name)
            if was == is_:
                continue
            if is_ is None:
                out.append(f"{name} {was} in the run, not installed here")
            elif was is None:
                out.append(f"{name} {is_} installed here, not in the run's environment")
            else:
                out.append(f"{name} {was} in the run, {is_} here")
        return out
    recorded_versions = manifest.get("packages", {}) or {}
    return [f"{k} {v} in the run, {now or 'not installed'} here"
            for k, v in recorded_versions.items() if (now := package_versions((k,))[k]) != v]


def _rerun(run_dir: Path, manifest: dict[str, Any], report: VerifyReport,
           log: Callable[[str], None] | None = None) -> None:
    """Run the plan again in this process from the run's own params and inputs; compare every table."""
    made_by = manifest.get("salesmodel", {}).get("version")
    if made_by and made_by != salesmodel.__version__:
        report.other.append(f"the run was made by salesmodel {made_by} and this is salesmodel {salesmodel.__version__}: "
                            f"a rerun cannot prove it; install salesmodel {made_by} to rerun")
        return
    recorded_source = manifest.get("salesmodel", {}).get("source_sha256")
    if recorded_source and recorded_source != source_hash():
        report.notes.append("the salesmodel code has changed since the run (source_sha256 differs); "
                            "differences below may come from the code, not the data")
    # Name the packages at other versions first: a difference below may come from them.
    report.environment = environment_differences(run_dir, manifest)
    if log is not None:
        for line in report.environment[:20]:
            log(f"environment differs: {line}")
        if len(report.environment) > 20:
            log(f"environment differs: (and {len(report.environment) - 20} more packages)")
        log("running the plan again to compare every table ...")
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
        if manifest.get("edited_from"):
            plan = _replay_edits(run_dir, params, inputs, plan)
    except SalesmodelError as exc:
        report.other.append(f"the rerun failed: {exc}")
        return
    _compare_tables(run_dir, plan.tables, report)


def _replay_edits(run_dir: Path, params: Any, inputs: dict[str, pd.DataFrame], plan: Any) -> Any:
    """A folder written by ``import-edits``: apply its recorded adjustments to the re-run plan, as it did."""
    path = run_dir / ADJUSTMENTS
    if not path.is_file():
        raise InputError(f"{path}: an edited plan keeps its adjustments; the file is missing")
    edits = Edits(sheet="plan_rep_month", adjustments=pd.read_parquet(path))
    balanced = apply_edits(plan.tables["plan_rep_month"], edits, round_to=float(params.targets.plan_round_to))
    return run_edited(params, inputs, plan.tables, balanced.drop(columns="edited"))


def _consistency(run_dir: Path, report: VerifyReport) -> None:
    tables = {}
    for path in sorted((run_dir / TABLES).glob("*.parquet")):
        try:
            tables[path.stem] = pd.read_parquet(path)
        except Exception:  # noqa: BLE001 - a damaged file is already named by its hash; the rules skip it
            continue
    report.rules_checked = len(consistency.RULES)
    for broken in consistency.check(tables):
        report.inconsistent.append(broken.message)


def _find_run_log(run_dir: Path) -> Path | None:
    """``OUT/runs.log`` for a folder at ``OUT/runs/<id>``."""
    if run_dir.resolve().parent.name == "runs":
        candidate = run_dir.resolve().parent.parent / audit.RUN_LOG
        if candidate.is_file():
            return candidate
    return None


def verify(run_dir: str | Path, *, rerun: bool = False, run_log: str | Path | None = None,
           log: Callable[[str], None] | None = None) -> VerifyReport:
    """Check a run folder: hashes against its manifest, tables against each other, and optionally a rerun.

    Every file's sha256 is compared with the manifest; each changed, missing
    or extra file is named. The consistency rules (:mod:`salesmodel.schema.consistency`)
    are applied to the run's tables. With ``rerun=True`` the plan is run again
    in this process from the recorded params and the run's own copy of its
    inputs, and every table is compared exactly (values, then file bytes).

    Parameters
    ----------
    run_dir : path
        A folder written by ``salesmodel run``.
    rerun : bool, default=False
        Also run the plan again and compare every table. Packages whose
        version differs from the run's lock file are named first.
    run_log : path, optional
        The chained run log to check the manifest against (default:
        ``OUT/runs.log`` beside ``OUT/runs/<id>``). A manifest whose sha256
        differs from the one recorded when the run finished is a problem.
    log : callable, optional
        Receives progress lines (the environment differences, before the rerun).

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
    run_id = manifest["run_id"]
    if not is_run_id(run_id):
        # Ids name folders (edits/, re-runs): only the shape the runner writes is trusted.
        raise InputError(
            f"{run_dir / MANIFEST}: run_id {shorten(run_id)} is not a run id salesmodel writes "
            f"(expected <UTC time>-<scenario>-<8 hex>, e.g. 20261123T090000Z-default-1a2b3c4d); the manifest was altered"
        )
    report = VerifyReport(run_dir=run_dir, rerun=rerun)
    log_path = Path(run_log) if run_log is not None else _find_run_log(run_dir)
    manifest_sha = sha256_file(run_dir / MANIFEST)
    if log_path is None:
        report.notes.append(f"no {audit.RUN_LOG} beside the runs folder: the manifest was checked only against "
                            "itself (see the README on audit levels)")
    elif not log_path.is_file():
        report.other.append(f"run log {log_path} not found")
    else:
        check = audit.check_run_log(log_path, run_id, manifest_sha)
        report.other.extend(check.problems)
        report.notes.extend(check.notes)
        report.log_line = check.line if not check.problems else None
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
        _rerun(run_dir, manifest, report, log)
    return report
