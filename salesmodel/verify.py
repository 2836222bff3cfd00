"""Checking a run folder: hashes against the manifest, and re-execution.

This sits above :mod:`salesmodel.audit` (manifests and hashes) and
:mod:`salesmodel.runner` (executing a scenario), so neither imports the other
in a circle.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from collections.abc import Callable

from salesmodel import audit
from salesmodel.audit import MANIFEST, output_hashes, package_versions, read_manifest, sha256_file, source_hash
from salesmodel.errors import InputError, RunError, SalesmodelError
from salesmodel.params import load_params, params_hash
from salesmodel.paths import is_run_id, shorten

__all__ = ["VerifyReport", "environment_differences", "verify"]


@dataclass
class VerifyReport:
    """What :func:`verify` found. ``ok`` is True only when there are no problems."""

    run_dir: Path
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    table_differences: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    environment: list[str] = field(default_factory=list)
    log_line: int | None = None
    files_checked: int = 0
    tables_compared: int = 0
    rerun: bool = False

    @property
    def problems(self) -> list[str]:
        """One line per problem, naming the file."""
        return (
            [f"changed: {p} (its sha256 differs from the manifest)" for p in self.changed]
            + [f"missing: {p} (listed in the manifest, not in the folder)" for p in self.missing]
            + [f"extra: {p} (in the folder, not in the manifest)" for p in self.extra]
            + [f"rerun differs: {d}" for d in self.table_differences]
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
            if self.rerun:
                head += f"; re-execution reproduced all {self.tables_compared} tables exactly"
        else:
            head += f"FAILED, {len(self.problems)} problem(s)"
        lines = ([head] + [f"  environment: {e}" for e in self.environment]
                 + [f"  - {p}" for p in self.problems] + [f"  note: {n}" for n in self.notes])
        return "\n".join(lines)


def _compare_tables(original: Path, again: Path, report: VerifyReport) -> None:
    a_tables = {p.name for p in (original / "tables").glob("*") if p.is_file()}
    b_tables = {p.name for p in (again / "tables").glob("*") if p.is_file()}
    for name in sorted(a_tables - b_tables):
        report.table_differences.append(f"tables/{name} was not produced by the re-execution")
    for name in sorted(b_tables - a_tables):
        report.table_differences.append(f"tables/{name} was produced by the re-execution only")
    for name in sorted(a_tables & b_tables):
        a, b = original / "tables" / name, again / "tables" / name
        if name.endswith(".parquet"):
            report.tables_compared += 1
            left, right = pd.read_parquet(a), pd.read_parquet(b)
            try:
                pd.testing.assert_frame_equal(left, right, check_exact=True)
            except AssertionError as exc:
                first = " ".join(str(exc).split())[:300]
                report.table_differences.append(f"tables/{name}: values differ ({first})")
                continue
        if sha256_file(a) != sha256_file(b):
            report.table_differences.append(f"tables/{name}: same values but the file bytes differ")


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
    from salesmodel.runner import run_scenario

    for key, record in manifest.get("inputs", {}).items():
        path, recorded = record.get("path"), record.get("sha256")
        if not path or not recorded:
            continue
        if not Path(path).is_file():
            report.other.append(f"input {key}: {path} no longer exists, the run cannot be repeated")
            return
        if sha256_file(path) != recorded:
            report.other.append(f"input {key}: {path} changed since the run (sha256 differs)")
    # Only notebooks from the notebook folders are executed (by name), never a path a
    # manifest names: a folder handed over for checking must not choose what code runs.
    from salesmodel.runner import resolve_notebooks

    sources = []
    for nb in manifest.get("notebooks", []):
        name = Path(str(nb.get("name", ""))).name
        try:
            (src,) = resolve_notebooks([name])
        except SalesmodelError as exc:
            report.other.append(f"notebook {name}: cannot re-execute it ({exc})")
            return
        if sha256_file(src) != nb.get("sha256"):
            report.notes.append(f"notebook {name} has changed since the run; re-executing the current version")
        sources.append(src)
    if not sources:
        report.other.append("the manifest lists no notebooks, so there is nothing to re-execute")
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
        log("re-executing the run to compare every table ...")
    with tempfile.TemporaryDirectory(prefix="salesmodel-rerun-") as tmp:
        params_file = Path(tmp) / "params.yaml"
        params_file.write_text(yaml.safe_dump(manifest["params"], allow_unicode=True, sort_keys=False), encoding="utf-8")
        if params_hash(load_params(params_file)) != manifest["params_sha256"]:
            report.other.append("the recorded params no longer load to the same hash (params schema changed?)")
        try:
            result = run_scenario(params_file, Path(tmp) / "out", notebooks=sources, progress=False)
        except SalesmodelError as exc:
            report.other.append(f"re-execution failed: {exc}")
            return
        again = json.loads((result.run_dir / MANIFEST).read_text(encoding="utf-8"))
        for key, record in manifest.get("inputs", {}).items():
            now = again.get("inputs", {}).get(key, {}).get("content_sha256")
            if record.get("content_sha256") and now and now != record["content_sha256"]:
                report.other.append(f"input {key}: the data read now differs from the data of the run")
        _compare_tables(run_dir, result.run_dir, report)


def _find_run_log(run_dir: Path) -> Path | None:
    """``OUT/runs.log`` for a folder at ``OUT/runs/<id>``."""
    if run_dir.resolve().parent.name == "runs":
        candidate = run_dir.resolve().parent.parent / audit.RUN_LOG
        if candidate.is_file():
            return candidate
    return None


def verify(run_dir: str | Path, *, rerun: bool = False, run_log: str | Path | None = None,
           log: Callable[[str], None] | None = None) -> VerifyReport:
    """Check a run folder against its manifest; optionally execute it again.

    Every file's sha256 is compared with the manifest; each changed, missing
    or extra file is named. With ``rerun=True`` the run is executed again
    from the recorded params into a temporary folder and every table is
    compared exactly (values with pandas, and the Parquet/CSV bytes).

    Parameters
    ----------
    run_dir : path
        A folder written by ``salesmodel run``.
    rerun : bool, default=False
        Also re-execute the notebooks and compare the tables. Packages whose
        version differs from the run's lock file are named first.
    run_log : path, optional
        The chained run log to check the manifest against (default:
        ``OUT/runs.log`` beside ``OUT/runs/<id>``). A manifest whose sha256
        differs from the one recorded when the run finished is a problem.
    log : callable, optional
        Receives progress lines (the environment differences, before re-execution).

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
    if rerun:
        try:
            _rerun(run_dir, manifest, report, log)
        except RunError as exc:  # pragma: no cover - run_scenario errors are caught above
            report.other.append(f"re-execution failed: {exc}")
    return report
