"""What a notebook sees of its run: the params, the inputs, and the tables of the steps.

Every notebook starts the same way::

    from salesmodel.run.workspace import open_run
    ws = open_run(params_file, run_dir)
    step = ws.step("targets")          # the step's tables (computed when the workspace lacks them)
    step.tables["targets_region"]

In a run folder the runner has already run the whole plan, so ``ws.step`` only
reads the step's declared tables. With an empty ``run_dir`` (interactive use in
JupyterLab) the workspace is a persistent folder of the scenario,
``outputs/lab/<scenario>/`` beside the params' folder, and ``ws.step`` computes
the step, and any step it needs, on demand through :mod:`salesmodel.pipeline`;
a step whose params changed is computed again. Notebooks can so be opened in
any order.
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from salesmodel import io
from salesmodel.errors import InputError, ParamsError
from salesmodel.pipeline import STEPS, StepResult, params_sections, run_step, step_module, upstream
from salesmodel.pipeline.run_folder import INPUTS, MANIFEST, PARAMS_FILE, STEP_STATE, TABLES, read_run_inputs
from salesmodel.run import audit, runner
from salesmodel.schema import tables as declared
from salesmodel.schema.params import Scenario, load_params

__all__ = ["WORKSPACE_ENV", "Workspace", "lab_folder", "latest_run", "open_run", "seed_from_run"]

WORKSPACE_ENV = "SALESMODEL_WORKSPACE"


def _fingerprint(params: Scenario, step: str) -> str:
    """What a step's tables depend on: the params sections it reads and those of the steps before it."""
    data = params.to_jsonable()
    parts = {}
    for name in [*upstream(step), step]:
        for section in params_sections(name, params):
            parts[section] = data.get(section)
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Workspace:
    """A run's params, inputs and tables, as one object for notebooks and explorers."""

    def __init__(self, params: Scenario, run_dir: Path, params_file: Path | None = None, *, lab: bool = False) -> None:
        self.params = params
        self.run_dir = run_dir
        self.params_file = params_file
        self.lab = lab
        self.tables_dir = run_dir / TABLES
        self.tables_dir.mkdir(parents=True, exist_ok=True)

    @cached_property
    def _inputs(self) -> dict[str, pd.DataFrame]:
        kept = None if self.lab else read_run_inputs(self.run_dir)
        if kept is not None:
            return kept
        return io.read_inputs(self.params.data)

    def inputs(self) -> dict[str, pd.DataFrame]:
        """The validated input tables by kind (the run's own copy when it keeps one)."""
        return self._inputs

    def input(self, kind: str) -> pd.DataFrame:
        """One validated input table; a run folder's copy is read alone (quick for the small ones)."""
        path = self.run_dir / INPUTS / f"{kind}.parquet"
        if not self.lab and path.is_file() and "_inputs" not in self.__dict__:
            return pd.read_parquet(path)
        return self.inputs()[kind]

    def save(self, name: str, df: pd.DataFrame) -> list[Path]:
        """Write a declared table into the run as Parquet and CSV; returns the paths."""
        declared.check(name, df)
        return io.write_table(df, self.tables_dir, name)

    def table(self, name: str) -> pd.DataFrame:
        """Read a table of this run."""
        path = self.tables_dir / f"{name}.parquet"
        if not path.is_file():
            have = sorted(p.stem for p in self.tables_dir.glob("*.parquet"))
            raise InputError(
                f"{path}: table '{name}' has not been written in this run "
                f"(tables so far: {', '.join(have) or 'none'}); run the step that makes it first"
            )
        return pd.read_parquet(path)

    def has_table(self, name: str) -> bool:
        return (self.tables_dir / f"{name}.parquet").is_file()

    def tables(self, names: list[str] | None = None) -> dict[str, pd.DataFrame]:
        """Every table of the run (or those named), by name."""
        paths = sorted(self.tables_dir.glob("*.parquet"))
        return {p.stem: pd.read_parquet(p) for p in paths if names is None or p.stem in names}

    # ---- steps -------------------------------------------------------------------
    def _state(self) -> dict[str, str]:
        path = self.run_dir / STEP_STATE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def _step_tables(self, step: str) -> list[str]:
        return [name for name, spec in declared.TABLES.items() if spec.step == step]

    def _is_current(self, step: str) -> bool:
        have = [n for n in self._step_tables(step) if self.has_table(n)]
        if not have:
            return False
        return not self.lab or self._state().get(step) == _fingerprint(self.params, step)

    def _load(self, step: str) -> StepResult:
        result = StepResult(step, tables={n: self.table(n) for n in self._step_tables(step) if self.has_table(n)})
        if self.has_table("run_facts"):
            facts = self.table("run_facts")
            for row in facts[facts["step"] == step].itertuples(index=False):
                if row.fact.startswith("note_"):
                    result.notes.append(row.value)
                else:
                    result.facts[row.fact] = row.value
        return result

    def _compute(self, step: str) -> StepResult:
        for need in upstream(step):
            if not self._is_current(need):
                self._compute(need)
        earlier = self.tables([n for s in upstream(step) for n in self._step_tables(s)])
        result = run_step(step, self.params, self.inputs(), earlier)
        for name, df in result.tables.items():
            self.save(name, df)
        facts = self.table("run_facts") if self.has_table("run_facts") else None
        kept = facts[facts["step"] != step] if facts is not None else None
        frames = [f for f in (kept, result.facts_frame()) if f is not None and len(f)]
        self.save("run_facts", pd.concat(frames, ignore_index=True) if frames else result.facts_frame())
        state = self._state()
        state[step] = _fingerprint(self.params, step)
        (self.run_dir / STEP_STATE).write_text(json.dumps(state, indent=1), encoding="utf-8")
        return result

    def step(self, name: str) -> StepResult:
        """The tables, facts and notes of step ``name``: read when present, else computed."""
        step_module(name)
        if self._is_current(name):
            return self._load(name)
        if not self.lab:
            missing = [n for n in self._step_tables(name) if not self.has_table(n)]
            raise InputError(f"{self.run_dir}: the run has no tables of step '{name}' "
                             f"({', '.join(missing)}); run the scenario with `salesmodel run` first")
        return self._compute(name)

    @property
    def language(self) -> str:
        return self.params.report.language

    @property
    def money_unit(self) -> str:
        return self.params.report.money_unit

    # ---- scenarios made from this one (the explorers' "save as scenario" and "run it") -------------
    def save_scenario(self, name: str, settings: dict[str, Any], folder: str | Path | None = None) -> Path:
        """Write these params with ``settings`` (dotted params keys, e.g. ``{"targets.growth": 0.15}``)
        as a new scenario file beside the params file (or in ``folder``); return its path.

        The scenario name is sanitised; an existing file is never overwritten; what was saved must load.
        """
        safe = audit.sanitise_name(name or f"{self.params.scenario}-explored")
        raw = self.params.to_jsonable()
        for dotted, value in settings.items():
            section, key = dotted.split(".", 1)
            raw.setdefault(section, {})[key] = value
        raw["scenario"] = safe
        raw["description"] = f"{self.params.scenario} explored: " + ", ".join(f"{k} = {v}" for k, v in settings.items())
        where = Path(folder) if folder is not None else (Path(self.params_file).parent if self.params_file else Path.cwd())
        path = where / f"{safe}.yaml"
        if path.exists():
            raise ParamsError(f"{path} exists already; give the scenario another name (nothing was overwritten).")
        path.write_text("# Saved from an explorer; `salesmodel run` runs it.\n"
                        + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
        load_params(path)  # what was saved must load: one clear message now, not at run time
        return path

    def run_scenario(self, params_file: str | Path) -> Any:
        """Run a scenario file as ``salesmodel run`` does (into the default outputs folder)."""
        return runner.run_scenario(params_file, progress=True)

    def provenance(self) -> dict[str, Any]:
        """What a reader needs to trace this run's pages (:func:`salesmodel.run.audit.provenance`)."""
        return audit.provenance(self.params, self.run_dir)

    def __repr__(self) -> str:  # pragma: no cover - display only
        return f"Workspace(scenario={self.params.scenario!r}, run_dir='{self.run_dir}')"


def lab_folder(params: Scenario, params_file: Path | None) -> Path:
    """The persistent interactive workspace of a scenario: ``$SALESMODEL_WORKSPACE`` or
    ``outputs/lab/<scenario>`` beside the params' folder (the current folder without params)."""
    if os.environ.get(WORKSPACE_ENV):
        root = Path(os.environ[WORKSPACE_ENV])
    else:
        base = params_file.resolve().parent.parent if params_file else Path.cwd()
        root = base / "outputs" / "lab"
    return root / audit.sanitise_name(params.scenario)


def latest_run(out_dir: Path, scenario: str) -> Path | None:
    """The newest finished run folder of ``scenario`` under ``out_dir/runs`` (None when there is none)."""
    runs = Path(out_dir) / "runs"
    found = []
    for folder in sorted(runs.glob("*")) if runs.is_dir() else []:
        manifest = folder / MANIFEST
        if folder.is_dir() and manifest.is_file():
            try:
                if json.loads(manifest.read_text(encoding="utf-8")).get("scenario") == scenario:
                    found.append(folder)
            except ValueError:
                continue
    return found[-1] if found else None


def seed_from_run(ws: Workspace, run_dir: Path) -> list[str]:
    """Start an interactive workspace from a finished run: its tables, marked current for the run's params.

    Steps whose params sections differ between the run and the workspace's params are
    computed again when a notebook asks for them. Returns the steps taken over.
    """
    import shutil

    run_params = load_params(Path(run_dir) / PARAMS_FILE)
    ws.tables_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted((Path(run_dir) / TABLES).glob("*")):
        shutil.copy2(path, ws.tables_dir / path.name)
    state = {step: _fingerprint(run_params, step) for step in STEPS}
    (ws.run_dir / STEP_STATE).write_text(json.dumps(state, indent=1), encoding="utf-8")
    return [step for step in STEPS if state[step] == _fingerprint(ws.params, step)]


def open_run(params_file: str | Path | None = None, run_dir: str | Path | None = None, **_: Any) -> Workspace:
    """Open the workspace of a run, or the scenario's interactive workspace when ``run_dir`` is empty."""
    params = load_params(params_file) if params_file else Scenario()
    pf = Path(params_file) if params_file else None
    if run_dir:
        return Workspace(params, Path(run_dir), pf)
    return Workspace(params, lab_folder(params, pf), pf, lab=True)

