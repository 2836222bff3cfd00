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
from salesmodel.pipeline.run_folder import ADJUSTMENTS, INPUTS, MANIFEST, PARAMS_FILE, TABLES, read_run_inputs
from salesmodel.run import audit
from salesmodel.run.audit import (
    frame_hash,
    output_hashes,
    package_versions,
    read_manifest,
    sha256_file,
    source_hash,
)
from salesmodel.run.language import reader_language
from salesmodel.schema import consistency
from salesmodel.schema import tables as declared
from salesmodel.schema.params import load_params, params_hash
from salesmodel.schema.vocabulary import word

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
    language: str = "en"  # the reader's: every line is said from the vocabulary in it

    def say(self, key: str, /, **fields: Any) -> str:
        """A line of the report in the reader's language (:mod:`salesmodel.schema.vocabulary`)."""
        return word(key, self.language).format(**fields)

    @property
    def problems(self) -> list[str]:
        """One line per problem, naming the file."""
        return (
            [self.say("verify_changed", path=p) for p in self.changed]
            + [self.say("verify_missing", path=p) for p in self.missing]
            + [self.say("verify_extra", path=p) for p in self.extra]
            + [self.say("verify_rerun_differs", difference=d) for d in self.table_differences]
            + [self.say("verify_inconsistent", difference=d) for d in self.inconsistent]
            + self.other
        )

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """A short text for the command line."""
        head = f"{self.run_dir}: "
        if self.ok:
            head += self.say("verify_ok", n=self.files_checked)
            if self.log_line is not None:
                head += self.say("verify_log_line", line=self.log_line)
            if self.rules_checked:
                head += self.say("verify_rules", n=self.rules_checked)
            if self.rerun:
                head += self.say("verify_reran", n=self.tables_compared)
        else:
            head += self.say("verify_failed", n=len(self.problems))
        lines = ([head] + [self.say("verify_environment", line=e) for e in self.environment]
                 + [f"  - {p}" for p in self.problems] + [self.say("verify_note", note=n) for n in self.notes])
        return "\n".join(lines)


def _keys(name: str, df: pd.DataFrame) -> list[str]:
    """Columns that name a row of a table: its id and period columns, as declared."""
    spec = declared.TABLES.get(name)
    text = [c.name for c in spec.columns if c.kind == "text"] if spec else []
    ids = [c for c in text if c in df.columns and (c.endswith("_id") or c in ("period", "level", "plan", "scenario",
                                                                          "figure", "step", "fact", "grain"))]
    return ids[:3] or list(df.columns[:1])


def table_difference(name: str, original: pd.DataFrame, again: pd.DataFrame, language: str = "en") -> str | None:
    """In plain words, how two versions of a table differ (None when identical)."""
    if list(original.columns) != list(again.columns):
        gone = [c for c in original.columns if c not in again.columns]
        new = [c for c in again.columns if c not in original.columns]
        none = word("verify_none", language)
        return word("verify_columns_differ", language).format(name=name, gone=", ".join(gone) or none,
                                                             new=", ".join(new) or none)
    if len(original) != len(again):
        return word("verify_rows_count", language).format(name=name, before=len(original), now=len(again))
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
    where = (word("verify_first_rows", language).format(rows=", ".join(first), keys="/".join(keys)) if first
             else word("verify_types_differ", language))
    columns = f"{', '.join(map(str, differing_cols[:6]))}{'…' if len(differing_cols) > 6 else ''}"
    return word("verify_rows_differ", language).format(name=name, n=int(rows.sum()), total=len(original), columns=columns,
                                                       where=where)


def _compare_tables(run_dir: Path, tables: dict[str, pd.DataFrame], report: VerifyReport) -> None:
    folder = run_dir / TABLES
    recorded = {p.stem for p in folder.glob("*.parquet")}
    for name in sorted(recorded - set(tables)):
        report.table_differences.append(report.say("verify_not_rerun", name=name))
    for name in sorted(set(tables) - recorded):
        report.table_differences.append(report.say("verify_rerun_only", name=name))
    with tempfile.TemporaryDirectory(prefix="salesmodel-rerun-") as tmp:
        for name in sorted(recorded & set(tables)):
            report.tables_compared += 1
            paths = io.write_table(tables[name], tmp, name)
            again = pd.read_parquet(paths[0])
            difference = table_difference(name, pd.read_parquet(folder / f"{name}.parquet"), again, report.language)
            if difference is not None:
                report.table_differences.append(difference)
                continue
            for path in paths:
                if sha256_file(path) != sha256_file(folder / path.name):
                    report.table_differences.append(report.say("verify_written_differently", name=name, file=path.name))


def environment_differences(run_dir: Path, manifest: dict[str, Any], language: str = "en") -> list[str]:
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
                out.append(word("verify_pkg_not_here", language).format(name=name, was=was))
            elif was is None:
                out.append(word("verify_pkg_only_here", language).format(name=name, now=is_))
            else:
                out.append(word("verify_pkg_differs", language).format(name=name, was=was, now=is_))
        return out
    recorded_versions = manifest.get("packages", {}) or {}
    return [word("verify_pkg_differs", language).format(name=k, was=v, now=now) if now
            else word("verify_pkg_not_here", language).format(name=k, was=v)
            for k, v in recorded_versions.items() if (now := package_versions((k,))[k]) != v]


def _rerun(run_dir: Path, manifest: dict[str, Any], report: VerifyReport,
           log: Callable[[str], None] | None = None) -> None:
    """Run the plan again in this process from the run's own params and inputs; compare every table."""
    made_by = manifest.get("salesmodel", {}).get("version")
    if made_by and made_by != salesmodel.__version__:
        report.other.append(report.say("verify_other_version", made_by=made_by, version=salesmodel.__version__))
        return
    recorded_source = manifest.get("salesmodel", {}).get("source_sha256")
    if recorded_source and recorded_source != source_hash():
        report.notes.append(report.say("verify_code_changed"))
    # Name the packages at other versions first: a difference below may come from them.
    report.environment = environment_differences(run_dir, manifest, report.language)
    if log is not None:
        for line in report.environment[:20]:
            log(report.say("verify_log_environment", line=line))
        if len(report.environment) > 20:
            log(report.say("verify_log_more_packages", n=len(report.environment) - 20))
        log(report.say("verify_log_running"))
    for key, record in manifest.get("inputs", {}).items():
        path, recorded = record.get("path"), record.get("sha256")
        if path and recorded and (not Path(path).is_file() or sha256_file(path) != recorded):
            report.notes.append(report.say("verify_input_moved", key=key, path=path))
    inputs = read_run_inputs(run_dir)
    if inputs is None:
        report.other.append(report.say("verify_no_inputs", path=run_dir / INPUTS))
        return
    for key, record in manifest.get("inputs", {}).items():
        if key not in inputs:
            report.other.append(report.say("verify_input_missing", path=f"{INPUTS}/{key}.parquet", key=key))
            return
        if record.get("content_sha256") and frame_hash(inputs[key]) != record["content_sha256"]:
            report.other.append(report.say("verify_input_differs", path=f"{INPUTS}/{key}.parquet", key=key))
            return
    with tempfile.TemporaryDirectory(prefix="salesmodel-rerun-") as tmp:
        params_file = Path(tmp) / "params.yaml"
        params_file.write_text(yaml.safe_dump(manifest["params"], allow_unicode=True, sort_keys=False), encoding="utf-8")
        params = load_params(params_file)
    if params_hash(params) != manifest["params_sha256"]:
        report.other.append(report.say("verify_params_schema"))
        return
    try:
        plan = run_plan(params, inputs)
        if manifest.get("edited_from"):
            plan = _replay_edits(run_dir, params, inputs, plan, report.language)
    except SalesmodelError as exc:
        report.other.append(report.say("verify_rerun_failed", error=exc))
        return
    _compare_tables(run_dir, plan.tables, report)


def _replay_edits(run_dir: Path, params: Any, inputs: dict[str, pd.DataFrame], plan: Any, language: str = "en") -> Any:
    """A folder written by ``import-edits``: apply its recorded adjustments to the re-run plan, as it did."""
    path = run_dir / ADJUSTMENTS
    if not path.is_file():
        raise InputError(word("verify_no_adjustments", language).format(path=path))
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
           log: Callable[[str], None] | None = None, language: str | None = None) -> VerifyReport:
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
    language : {"en", "zh", "es"}, optional
        The reader's language of every line; default: the run's ``report.language``, else the
        environment's (:func:`salesmodel.run.language.reader_language`).

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
        raise InputError(word("verify_not_our_run_id", reader_language(language, manifest.get("params"))).format(
            path=run_dir / MANIFEST, run_id=shorten(run_id)))
    report = VerifyReport(run_dir=run_dir, rerun=rerun, language=reader_language(language, manifest.get("params")))
    log_path = Path(run_log) if run_log is not None else _find_run_log(run_dir)
    manifest_sha = sha256_file(run_dir / MANIFEST)
    if log_path is None:
        report.notes.append(report.say("verify_no_run_log", log=audit.RUN_LOG))
    elif not log_path.is_file():
        report.other.append(report.say("verify_run_log_missing", path=log_path))
    else:
        check = audit.check_run_log(log_path, run_id, manifest_sha, report.language)
        report.other.extend(check.problems)
        report.notes.extend(check.notes)
        report.log_line = check.line if not check.problems else None
    recorded: dict[str, str] = manifest["outputs"]
    actual = output_hashes(run_dir)
    report.files_checked = len(recorded)
    report.missing = sorted(set(recorded) - set(actual))
    report.extra = sorted(set(actual) - set(recorded))
    report.changed = sorted(p for p in set(recorded) & set(actual) if recorded[p] != actual[p])
    params_path = run_dir / PARAMS_FILE
    if params_path.is_file() and PARAMS_FILE not in report.changed:
        try:
            if params_hash(load_params(params_path)) != manifest["params_sha256"]:
                report.other.append(report.say("verify_params_hash"))
        except SalesmodelError as exc:
            report.other.append(report.say("verify_params_load", error=exc))
    if (run_dir / TABLES).is_dir():
        _consistency(run_dir, report)
    if rerun:
        _rerun(run_dir, manifest, report, log)
    return report
