"""Run folders that prove how they were made: names, manifests, verification.

A run folder holds the executed notebooks, their leadership HTML, the tables
and ``manifest.json``. The manifest records what is needed to prove a result
later: the resolved params and their hash, every input file's hash and row
count, every output file's hash, the notebook sources' hashes, versions of
Python, salesmodel (and its git commit) and the key libraries, the seeds and
the holiday-calendar version. :mod:`salesmodel.verify` checks a folder against it.
"""
from __future__ import annotations

import hashlib
import json
import platform
import re
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

import salesmodel
from salesmodel.errors import InputError, RunError, SalesmodelError
from salesmodel.params import Scenario, load_params, params_hash

__all__ = [
    "INPUT_KEYS",
    "KEY_PACKAGES",
    "MANIFEST",
    "MANIFEST_VERSION",
    "frame_hash",
    "git_info",
    "input_files",
    "make_run_id",
    "output_hashes",
    "package_versions",
    "read_manifest",
    "sanitise_name",
    "sha256_file",
    "source_hash",
    "write_manifest",
]

MANIFEST = "manifest.json"
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


def frame_hash(df: pd.DataFrame) -> str:
    """sha256 of a table's validated content: column names, dtypes and every value, in order.

    Proves what was read whatever the source (a file, Excel, a database table).
    """
    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return digest.hexdigest()


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

    Examples
    --------
    >>> write_manifest(run_dir, run_id=rid, scenario=sc, inputs=frames)  # doctest: +SKIP
    """
    run_dir = Path(run_dir)
    jsonable = scenario.to_jsonable()
    files = input_files(scenario)
    input_records: dict[str, Any] = {}
    for key in sorted(set(files) | set(inputs or {})):
        record: dict[str, Any] = {}
        if key in files:
            record["path"] = str(Path(files[key]).resolve())
            record["sha256"] = sha256_file(files[key])
        elif scenario.data.sql_url:
            record["source"] = f"{_redact_url(scenario.data.sql_url)} table {key}"
        if inputs is not None and key in inputs:
            record["rows"] = len(inputs[key])
            record["content_sha256"] = frame_hash(inputs[key])
        input_records[key] = record
    versions = package_versions()
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
        "outputs": output_hashes(run_dir),
    }
    if extra:
        manifest.update(extra)
    path = run_dir / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    return path


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
