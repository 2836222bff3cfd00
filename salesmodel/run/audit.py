"""Run folders that prove how they were made: names, manifests, verification.

A run folder holds the executed notebooks, their leadership HTML, the tables
and ``manifest.json``. The manifest records what is needed to prove a result
later: the resolved params and their hash, every input file's hash and row
count, every output file's hash, the notebook sources' hashes, versions of
Python, salesmodel (and its git commit) and the key libraries, the seeds and
the holiday-calendar version. :mod:`salesmodel.run.verify` checks a folder against it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import platform
import re
import subprocess
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

import salesmodel
from salesmodel.errors import InputError
from salesmodel.io.orderlines import StoredLines
from salesmodel.io.writers import content_sha256
from salesmodel.pipeline.run_folder import MANIFEST
from salesmodel.schema.params import Scenario, params_hash
from salesmodel.schema.vocabulary import word

__all__ = [
    "INPUT_KEYS",
    "KEY_PACKAGES",
    "LOCK_FILE",
    "MANIFEST",
    "MANIFEST_VERSION",
    "RUN_LOG",
    "RUN_LOG_KEY_ENV",
    "UNMET",
    "LogCheck",
    "append_run_log",
    "check_run_log",
    "environment_lock",
    "frame_hash",
    "git_info",
    "input_contents",
    "input_files",
    "make_run_id",
    "provenance",
    "output_hashes",
    "package_versions",
    "read_lock",
    "read_manifest",
    "read_unmet",
    "sanitise_name",
    "sha256_file",
    "source_hash",
    "write_manifest",
]

MANIFEST_VERSION = 1
KEY_PACKAGES = (
    "pandas", "numpy", "scipy", "statsforecast", "statsmodels", "holidays", "papermill",
    "pydantic", "pyarrow", "matplotlib", "nbconvert", "openpyxl",
)
# The input tables a scenario reads, by the DataParams field naming each file.
INPUT_KEYS = ("sales", "customers", "reps", "org", "provinces", "adjacency")
_TIME_FORMAT = "%Y%m%dT%H%M%SZ"


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sanitise_name(text: str, *, max_length: int = 40, fallback: str = "scenario") -> str:
    """A label safe to use as one path component.

    Keeps letters (any script) and digits, turns everything else into single
    dashes, and never returns '', '.', '..' or a name starting with a dot, so
    ``../../etc`` becomes ``etc`` and can only land inside the folder it is
    joined to.

    >>> sanitise_name("../../etc")
    'etc'
    >>> sanitise_name("华东 冲刺/2027")
    '华东-冲刺-2027'
    """
    text = unicodedata.normalize("NFKC", str(text))
    kept = "".join(c if (c.isalnum() or c in "_-") else "-" for c in text)
    kept = re.sub(r"-{2,}", "-", kept).strip("-_")
    kept = kept[:max_length].strip("-_")
    return kept or fallback


def make_run_id(scenario: str, phash: str, when: datetime) -> str:
    """``<UTC time>-<sanitised scenario>-<8 hex of the params hash>``."""
    stamp = when.astimezone(UTC).strftime(_TIME_FORMAT)
    return f"{stamp}-{sanitise_name(scenario)}-{phash[:8]}"


def git_info(package_dir: Path | None = None) -> dict[str, Any] | None:
    """Commit and dirty flag of the checkout salesmodel runs from, or None outside one.

    Only a checkout that contains this very package counts: an installed copy
    inside some other repository must not report that repository's commit.
    """
    pkg = Path(package_dir or Path(salesmodel.__file__).resolve().parent)

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(pkg), *args], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if not top or (Path(top) / pkg.name / "__init__.py").resolve() != (pkg / "__init__.py").resolve():
        return None
    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


def source_hash(package_dir: Path | None = None) -> str:
    """sha256 over the salesmodel package's Python sources (path and bytes, in a fixed order).

    Proves which code produced a run even outside a git checkout, and tells
    ``verify --rerun`` whether the code changed since.
    """
    pkg = Path(package_dir or Path(salesmodel.__file__).resolve().parent)
    digest = hashlib.sha256()
    for path in sorted(pkg.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(pkg).as_posix().encode("utf-8") + b"\0")
        digest.update(sha256_file(path).encode("ascii") + b"\n")
    return digest.hexdigest()


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (None when not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def input_files(scenario: Scenario) -> dict[str, Path]:
    """The files a scenario reads, by kind (only those that exist; SQL tables have none)."""
    files: dict[str, Path] = {}
    data = scenario.data
    if not data.sql_url:
        for key in INPUT_KEYS:
            path = Path(data.dir) / getattr(data, key)
            if path.is_file():
                files[key] = path
    if scenario.calendar.holiday_overrides is not None and Path(scenario.calendar.holiday_overrides).is_file():
        files["holiday_overrides"] = Path(scenario.calendar.holiday_overrides)
    return files


def frame_hash(df: pd.DataFrame | StoredLines) -> str:
    """sha256 of a table's validated content: column names, dtypes and every value, in order.

    Proves what was read whatever the source (a file, Excel, a database table).
    """
    if isinstance(df, StoredLines):  # order lines validated part by part: hashed as they were read
        return df.content_sha256
    return content_sha256([df])


def input_contents(inputs: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Per validated input: its rows and :func:`frame_hash`, as the manifest records them.

    >>> input_contents({"reps": pd.DataFrame({"rep_id": ["R1"]})})["reps"]["rows"]
    1
    """
    return {key: {"rows": len(df), "content_sha256": frame_hash(df)} for key, df in inputs.items()}


def _redact_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def output_hashes(run_dir: str | Path) -> dict[str, str]:
    """sha256 of every file in the run folder except the manifest, by POSIX relative path."""
    run_dir = Path(run_dir)
    out = {}
    for path in sorted(run_dir.rglob("*")):
        if path.is_file() and path.relative_to(run_dir).as_posix() != MANIFEST:
            out[path.relative_to(run_dir).as_posix()] = sha256_file(path)
    return out


def _seeds(obj: Any, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(obj, dict):
        for key, value in obj.items():
            where = f"{prefix}.{key}" if prefix else str(key)
            if "seed" in str(key).lower() and not isinstance(value, (dict, list)):
                found[where] = value
            else:
                found.update(_seeds(value, where))
    return found


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if when else None


def write_manifest(
    run_dir: str | Path,
    *,
    run_id: str,
    scenario: Scenario,
    inputs: dict[str, pd.DataFrame] | None = None,
    notebooks: list[Path] | None = None,
    started: datetime | None = None,
    finished: datetime | None = None,
    holiday_status: str | None = None,
    extra: dict[str, Any] | None = None,
    contents: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write ``manifest.json`` for a finished run folder; returns its path.

    Call it last: every other file in ``run_dir`` is hashed as an output.

    Parameters
    ----------
    run_dir : path
        The run folder (its outputs are already written).
    run_id : str
        The run's id (the folder's final name).
    scenario : Scenario
        The resolved params the run used.
    inputs : dict of DataFrame, optional
        The validated input tables, for row counts.
    notebooks : list of Path, optional
        The notebook sources executed, in order.
    started, finished : datetime, optional
        When the run started and finished (UTC).
    holiday_status : str, optional
        How far the plan year's holiday calendar can be trusted ("official",
        "estimated", ...; see ``calendar.holiday_calendar_status``).
    contents : dict, optional
        The inputs' rows and content hashes as :func:`input_contents` gave them when they were read,
        instead of hashing ``inputs`` now (a run lets the order lines go once its plan is made).

    Examples
    --------
    >>> write_manifest(run_dir, run_id=rid, scenario=sc, inputs=frames)  # doctest: +SKIP
    """
    run_dir = Path(run_dir)
    jsonable = scenario.to_jsonable()
    files = input_files(scenario)
    input_records: dict[str, Any] = {}
    read = dict(contents) if contents is not None else input_contents(inputs or {})
    for key in sorted(set(files) | set(read)):
        record: dict[str, Any] = {}
        if key in files:
            record["path"] = str(Path(files[key]).resolve())
            record["sha256"] = sha256_file(files[key])
        elif scenario.data.sql_url:
            record["source"] = f"{_redact_url(scenario.data.sql_url)} table {key}"
        record.update(read.get(key, {}))
        input_records[key] = record
    versions = package_versions()
    # The whole environment, so an auditor can rebuild it a year later (README: audit levels).
    lock = environment_lock()
    (run_dir / LOCK_FILE).write_text(lock, encoding="utf-8")
    unmet = read_unmet(run_dir)
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_id,
        "scenario": scenario.scenario,
        "created_utc": _iso(finished or datetime.now(UTC)),
        "started_utc": _iso(started),
        "finished_utc": _iso(finished),
        "duration_s": round((finished - started).total_seconds(), 3) if started and finished else None,
        "salesmodel": {"version": salesmodel.__version__, "git": git_info(), "source_sha256": source_hash()},
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation()},
        "platform": platform.platform(),
        "packages": versions,
        "calendar": {
            "library": "holidays",
            "version": versions.get("holidays"),
            "country": scenario.calendar.country,
            "plan_year": scenario.calendar.plan_year,
            "plan_year_status": holiday_status,
            "overrides_sha256": (
                sha256_file(files["holiday_overrides"]) if "holiday_overrides" in files else None
            ),
        },
        "seeds": _seeds(jsonable),
        "params": jsonable,
        "params_sha256": params_hash(scenario),
        "inputs": input_records,
        "notebooks": [
            {"name": Path(nb).name, "source": str(Path(nb).resolve()), "sha256": sha256_file(nb)}
            for nb in (notebooks or [])
        ],
        "environment": {"lock_file": LOCK_FILE, "distributions": sum(1 for ln in lock.splitlines() if "==" in ln)},
        "unmet": unmet,
        "outputs": output_hashes(run_dir),
    }
    if extra:
        manifest.update(extra)
    path = run_dir / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# The whole environment, as a lock file in the run folder
# ---------------------------------------------------------------------------

LOCK_FILE = "requirements.lock"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions() -> dict[str, str]:
    """Every installed distribution (canonical name) and its version."""
    out: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name") if dist.metadata else None
        if name and dist.version:
            out.setdefault(_canonical(name), dist.version)
    return dict(sorted(out.items()))


def environment_lock() -> str:
    """A pip requirements file pinning every installed distribution (``name==version``).

    A new environment is built from it with ``pip install -r requirements.lock``
    (offline: ``pip download -r requirements.lock -d wheels`` once where the
    registry is reachable, then ``pip install --no-index --find-links wheels
    -r requirements.lock``).
    """
    lines = [
        "# Every distribution installed in the environment that made this run.",
        f"# python {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}",
        "# salesmodel itself is pinned too: install it from the source of the recorded commit.",
    ]
    lines += [f"{name}=={version}" for name, version in installed_versions().items()]
    return "\n".join(lines) + "\n"


def read_lock(path: str | Path) -> dict[str, str]:
    """The pins of a lock file written by :func:`environment_lock` (canonical name -> version)."""
    pins: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            pins[_canonical(name.strip())] = version.strip()
    return pins


# ---------------------------------------------------------------------------
# The run log: a chained, optionally signed record outside the run folders
# ---------------------------------------------------------------------------

RUN_LOG = "runs.log"
RUN_LOG_KEY_ENV = "SALESMODEL_RUNLOG_KEY"
_GENESIS = "0" * 64


def _line_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def _signature(entry: dict[str, Any], key: str) -> str:
    body = json.dumps({k: v for k, v in entry.items() if k != "hmac"}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key.encode("utf-8"), body.encode("utf-8"), hashlib.sha256).hexdigest()


def append_run_log(out_dir: str | Path, run_id: str, manifest_sha256: str) -> dict[str, Any]:
    """Append one run to ``<out_dir>/runs.log``; returns the entry written.

    Each line is a JSON object holding the run id, the sha256 of its
    ``manifest.json``, the time, and the sha256 of the previous line, so a line
    cannot be changed or removed without breaking every line after it. When
    ``$SALESMODEL_RUNLOG_KEY`` is set, each line is also signed (HMAC-SHA256).
    Concurrent runs append under a file lock.
    """
    import fcntl

    path = Path(out_dir) / RUN_LOG
    with open(path, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(0)
            lines = [ln for ln in fh.read().splitlines() if ln.strip()]
            entry: dict[str, Any] = {
                "seq": len(lines) + 1,
                "run_id": run_id,
                "manifest_sha256": manifest_sha256,
                "recorded_utc": _iso(datetime.now(UTC)),
                "prev_sha256": _line_hash(lines[-1]) if lines else _GENESIS,
            }
            key = os.environ.get(RUN_LOG_KEY_ENV)
            if key:
                entry["hmac"] = _signature(entry, key)
            fh.seek(0, os.SEEK_END)
            fh.write(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return entry


@dataclass
class LogCheck:
    """What :func:`check_run_log` found: problems (verification fails) and notes."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    line: int | None = None


def check_run_log(log_path: str | Path, run_id: str, manifest_sha256: str, language: str = "en") -> LogCheck:
    """Check the chain (and signatures, when a key is set) of a run log and find one run in it
    (problems and notes said in ``language``)."""
    def say(key: str, /, **fields: Any) -> str:
        return word(key, language).format(log=log_path.name, env=RUN_LOG_KEY_ENV, run_id=run_id, **fields)

    check = LogCheck()
    log_path = Path(log_path)
    key = os.environ.get(RUN_LOG_KEY_ENV)
    prev = _GENESIS
    hits: list[tuple[int, dict[str, Any]]] = []
    signed = 0
    for n, line in enumerate(log_path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError
        except ValueError:
            check.problems.append(say("log_not_entry", n=n))
            prev = _line_hash(line)
            continue
        if entry.get("prev_sha256") != prev:
            check.problems.append(say("log_not_chained", n=n))
        prev = _line_hash(line)
        if "hmac" in entry:
            signed += 1
        if key:
            if "hmac" not in entry:
                check.problems.append(say("log_not_signed", n=n))
            elif not hmac.compare_digest(str(entry["hmac"]), _signature(entry, key)):
                check.problems.append(say("log_bad_signature", n=n))
        if entry.get("run_id") == run_id:
            hits.append((n, entry))
    if signed and not key:
        check.notes.append(say("log_signed_no_key"))
    if not hits:
        check.problems.append(say("log_not_recorded", path=log_path))
        return check
    if len(hits) > 1:
        check.problems.append(say("log_recorded_twice", lines=", ".join(str(n) for n, _ in hits)))
    n, entry = hits[0]
    check.line = n
    if entry.get("manifest_sha256") != manifest_sha256:
        check.problems.append(say("log_manifest_changed", n=n, recorded=str(entry.get("manifest_sha256"))[:12],
                                  now=manifest_sha256[:12]))
    return check


# ---------------------------------------------------------------------------
# Unmet requirements: a run that completed but could not meet what it was asked
# ---------------------------------------------------------------------------

UNMET = "unmet.json"


def read_unmet(run_dir: str | Path, manifest: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The unmet requirements a run recorded (``unmet.json`` in the folder, or the manifest's ``unmet``).

    Each item is a mapping with at least ``message`` (one sentence for the
    terminal); ``step``, ``requirement``, ``asked`` and ``achieved`` are kept
    when given. A file that cannot be read counts as one unmet requirement:
    a run is never called a success on a damaged record.
    """
    path = Path(run_dir) / UNMET
    raw: Any = None
    if path.is_file():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            return [{"message": f"{UNMET} of this run could not be read, so its requirements cannot be shown as met"}]
    elif manifest is not None:
        raw = manifest.get("unmet")
    if raw is None:
        return []
    if isinstance(raw, dict):
        raw = raw.get("unmet", [])
    if not isinstance(raw, list):
        return [{"message": f"{UNMET} of this run is not a list of requirements"}]
    items: list[dict[str, Any]] = []
    for item in raw:
        if isinstance(item, dict) and str(item.get("message", "")).strip():
            items.append({k: item[k] for k in ("step", "requirement", "asked", "achieved", "message") if k in item})
        else:
            items.append({"message": f"an unmet requirement without a message: {str(item)[:120]}"})
    return items


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    """The manifest of a run folder; InputError when the folder is not a run folder."""
    run_dir = Path(run_dir)
    path = run_dir / MANIFEST
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: run folder not found")
    if not path.is_file():
        raise InputError(f"{run_dir}: not a run folder (no {MANIFEST}); give the folder `salesmodel run` printed")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc}); the manifest was damaged") from None
    missing = [k for k in ("run_id", "params", "params_sha256", "outputs") if k not in manifest]
    if missing:
        raise InputError(f"{path}: manifest lacks the keys {', '.join(missing)}")
    return manifest


def provenance(scenario: Scenario, run_dir: str | Path) -> dict[str, Any]:
    """What a reader needs to trace a page: run id, params hash, data hashes, version.

    Computed while the run is still being built, so it does not need the manifest;
    ``salesmodel verify`` checks the same hashes afterwards.
    """
    run_dir = Path(run_dir)
    run_id = run_dir.name.removeprefix(".building-").removeprefix("edits-")  # the name the folder will have
    inputs = {}
    for key, path in input_files(scenario).items():
        inputs[key] = sha256_file(path)[:16]
    git = git_info() or {}
    return {
        "run_id": run_id,
        "scenario": scenario.scenario,
        "params_sha256": params_hash(scenario),
        "salesmodel": salesmodel.__version__,
        "git_commit": (git.get("commit") or "")[:12] or None,
        "inputs_sha256": inputs,
    }
