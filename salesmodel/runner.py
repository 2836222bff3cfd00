"""Executing a scenario's notebooks with papermill into a run folder.

One run is one folder ``<out>/runs/<UTC time>-<scenario>-<hash8>/``::

    params.yaml          the resolved params every notebook received
    notebooks/*.ipynb    the executed notebooks (with outputs)
    html/*.html          leadership rendering: no code, images embedded, offline
    tables/*.parquet|csv the tables the notebooks saved
    manifest.json        hashes and versions (see salesmodel.audit)

The folder is built aside (``<out>/runs/.building-<id>``) and renamed when
complete, so it appears whole or not at all. When a notebook fails, the
partial folder is removed; the failed notebook, with papermill's error banner,
is kept at ``<out>/failed/<id>/`` for reading, and :class:`RunError` names the
notebook, the cell and the error.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import yaml

import salesmodel
from salesmodel import audit
from salesmodel.errors import ParamsError, RunError, SalesmodelError
from salesmodel.params import Scenario, load_params, params_hash
from salesmodel.pipeline import PlanResult, run_plan
from salesmodel.workspace import write_inputs

__all__ = ["CheckedScenario", "RunResult", "check_scenario", "notebook_dirs", "resolve_notebooks", "run_scenario"]

KERNEL = "python3"
NOTEBOOKS_ENV = "SALESMODEL_NOTEBOOKS"
DEFAULT_OUT = Path("outputs")
# The kernel's own start-up chatter (e.g. "running over TCP") is not for planners; cell errors still surface.
_KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL"]
# Error names raised inside a notebook that mean "fix your input or params" (exit status 2).
_INPUT_ERRORS = {"InputError", "ParamsError", "InfeasibleError"}


@dataclass
class RunResult:
    """A finished run: its folder and the files a reader wants first."""

    run_id: str
    run_dir: Path
    notebooks: list[Path] = field(default_factory=list)
    html: list[Path] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)
    manifest: Path | None = None
    duration_s: float = 0.0

    @property
    def leadership_html(self) -> Path | None:
        """The HTML of the last notebook: the one leadership opens."""
        return self.html[-1] if self.html else None


def notebook_dirs() -> list[Path]:
    """Where notebooks are looked for, in order.

    ``$SALESMODEL_NOTEBOOKS``, then ``notebooks/`` of the checkout the package
    lives in (an editable install), then ``<prefix>/share/salesmodel/notebooks``
    (where a wheel may install them as data files), then ``notebooks/`` in the
    current folder.
    """
    dirs = []
    if os.environ.get(NOTEBOOKS_ENV):
        dirs.append(Path(os.environ[NOTEBOOKS_ENV]))
    dirs.append(Path(salesmodel.__file__).resolve().parents[1] / "notebooks")
    dirs.append(Path(sys.prefix) / "share" / "salesmodel" / "notebooks")
    dirs.append(Path.cwd() / "notebooks")
    seen, out = set(), []
    for d in dirs:
        key = d.resolve()
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def resolve_notebooks(entries: Sequence[str | Path]) -> list[Path]:
    """Turn notebook names (``00_data_overview.ipynb``) or paths into existing files.

    Raises ParamsError naming every notebook that cannot be found and where it was looked for.
    """
    if not entries:
        raise ParamsError("The 'notebooks' parameter must list at least one notebook. Got an empty list instead.")
    found, missing = [], []
    dirs = notebook_dirs()
    for entry in entries:
        path = Path(entry)
        if path.suffix != ".ipynb":
            raise ParamsError(f"The 'notebooks' parameter must list .ipynb files. Got {str(entry)!r} instead.")
        if path.is_absolute() or len(path.parts) > 1:
            if path.is_file():
                found.append(path.resolve())
                continue
            missing.append(str(entry))
            continue
        hit = next((d / path for d in dirs if (d / path).is_file()), None)
        if hit is None:
            missing.append(str(entry))
        else:
            found.append(hit.resolve())
    if missing:
        where = ", ".join(str(d) for d in dirs)
        raise ParamsError(f"Notebook(s) not found: {', '.join(missing)} (looked in {where}; set ${NOTEBOOKS_ENV} to another folder)")
    return found


class CheckedScenario(NamedTuple):
    """What :func:`check_scenario` found valid."""

    scenario: Scenario
    notebooks: list[Path]
    inputs: dict[str, pd.DataFrame]
    holiday_overrides: pd.DataFrame | None
    holiday_status: str


def check_scenario(params_file: str | Path, *, notebooks: Sequence[str | Path] | None = None) -> CheckedScenario:
    """Load params, find the notebooks, read and validate the inputs; run nothing.

    Also reads the company's holiday overrides (when given) and says how far
    the holiday calendar of the plan year can be trusted (see
    :func:`salesmodel.calendar.holiday_calendar_status`).

    Raises ParamsError or InputError with the one message a planner needs.
    """
    from salesmodel import calendar, io

    scenario = load_params(params_file)
    nb_paths = resolve_notebooks(list(notebooks) if notebooks else scenario.notebooks)
    inputs = io.read_inputs(scenario.data)
    overrides = None
    if scenario.calendar.holiday_overrides is not None:
        overrides = io.read_holiday_overrides(scenario.calendar.holiday_overrides)
    status = calendar.holiday_calendar_status(
        scenario.calendar.plan_year, scenario.calendar.country, overrides=overrides
    )
    return CheckedScenario(scenario, nb_paths, inputs, overrides, status)


def _inside(child: Path, parent: Path) -> Path:
    child, parent = child.resolve(), parent.resolve()
    if child != parent and parent not in child.parents:
        raise ParamsError(f"Run folder {child} would be outside {parent}; refusing to write there")
    return child


@contextlib.contextmanager
def _kernel_environment() -> Iterator[None]:
    """Kernels inherit this process's environment: inline charts and a fixed hash seed."""
    wanted = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONHASHSEED": "0"}
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _point_at_final(nb_path: Path, building: Path, final: Path) -> None:
    """Make an executed notebook's parameters name the finished folder, not the one it was built in,
    so it can be opened and re-run from the run folder."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    old, new = str(building), str(final)
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = cell.source.replace(old, new)
    params = nb.metadata.get("papermill", {}).get("parameters", {})
    for key, value in list(params.items()):
        if isinstance(value, str):
            params[key] = value.replace(old, new)
    nbformat.write(nb, nb_path)


def _unique_final(runs: Path, run_id: str) -> tuple[str, Path]:
    candidate, n = run_id, 1
    while (runs / candidate).exists() or (runs / f".building-{candidate}").exists():
        n += 1
        candidate = f"{run_id}-{n}"
    return candidate, runs / candidate


def _failure_message(nb_name: str, exc: BaseException, kept: Path | None) -> tuple[str, dict]:
    cell = getattr(exc, "cell_index", None)
    count = getattr(exc, "exec_count", None)
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = getattr(exc, "evalue", None) if hasattr(exc, "ename") else str(exc)
    where = f" in cell {cell}" if cell is not None else ""
    if count is not None:
        where += f" (execution count {count})"
    msg = f"Notebook {nb_name} failed{where}: {ename}: {evalue}"
    if kept is not None:
        msg += f". The notebook with the error is kept at {kept}"
    return msg, {"notebook": nb_name, "cell_index": cell, "ename": ename, "evalue": evalue}


def _run_pipeline(scenario: Scenario, inputs: dict[str, pd.DataFrame], building: Path, run_id: str, *,
                  progress: bool) -> PlanResult:
    """Run every step of the plan once, in this process, and write the declared tables and the workbook."""
    from salesmodel import io, workbook

    plan = run_plan(scenario, inputs, progress=progress)
    for name, df in plan.tables.items():
        io.write_table(df, building / "tables", name)
    workbook.build_workbook(plan.tables, building / "plan.xlsx", params=scenario.to_jsonable(), run_id=run_id,
                            language=scenario.report.language, money_unit=scenario.report.money_unit)
    return plan


def run_scenario(
    params_file: str | Path,
    out_dir: str | Path = DEFAULT_OUT,
    *,
    notebooks: Sequence[str | Path] | None = None,
    progress: bool = True,
    kernel_name: str = KERNEL,
) -> RunResult:
    """Execute a scenario's notebooks into a new run folder under ``out_dir/runs``.

    Params, notebooks and inputs are all checked before anything executes:
    bad ones raise ParamsError or InputError and no folder is created.

    Parameters
    ----------
    params_file : path
        The scenario's YAML.
    out_dir : path, default="outputs"
        Folder holding ``runs/`` (and ``failed/`` after a failure). Relative
        to the current directory.
    notebooks : list of str or path, optional
        Notebooks to run instead of the scenario's ``notebooks`` list; names are
        looked up in :func:`notebook_dirs`, paths are used as they are.
    progress : bool, default=True
        Show one progress bar over the notebooks (on a terminal).
    kernel_name : str, default="python3"
        Jupyter kernel that executes the notebooks.

    Returns
    -------
    RunResult

    Raises
    ------
    ParamsError, InputError
        Before anything runs.
    RunError
        A notebook failed; names the notebook, cell and error, and where the
        failed notebook is kept.

    Examples
    --------
    >>> result = run_scenario("params/default.yaml")  # doctest: +SKIP
    >>> result.leadership_html  # doctest: +SKIP
    PosixPath('outputs/runs/20261123T090000Z-default-1a2b3c4d/html/10_leadership_summary.html')
    """
    import papermill as pm
    from tqdm.auto import tqdm

    from salesmodel.report import export_html

    params_file = Path(params_file)
    checked = check_scenario(params_file, notebooks=notebooks)
    scenario, nb_paths, inputs = checked.scenario, checked.notebooks, checked.inputs
    started = datetime.now(UTC)
    phash = params_hash(scenario)
    out = Path(out_dir).resolve()
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    run_id, final = _unique_final(runs, audit.make_run_id(scenario.scenario, phash, started))
    final = _inside(final, runs)
    building = _inside(runs / f".building-{run_id}", runs)
    failure: dict | None = None
    current_nb: Path | None = None
    stage: str | None = None
    try:
        (building / "notebooks").mkdir(parents=True)
        resolved = building / "params.yaml"
        resolved.write_text(
            "# The resolved params of this run (paths absolute); `salesmodel verify --rerun` uses them.\n"
            + yaml.safe_dump(scenario.to_jsonable(), allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )
        stage = "reading the inputs"
        write_inputs(building, inputs)
        plan = _run_pipeline(scenario, inputs, building, run_id, progress=progress)
        stage = None
        executed: list[Path] = []
        bar = tqdm(nb_paths, desc=f"run {scenario.scenario}", unit="notebook", disable=None if progress else True)
        with _kernel_environment():
            for nb in bar:
                bar.set_postfix_str(nb.name)
                current_nb = building / "notebooks" / nb.name
                pm.execute_notebook(
                    str(nb),
                    str(current_nb),
                    parameters={"params_file": str(resolved), "run_dir": str(building)},
                    kernel_name=kernel_name,
                    progress_bar=False,
                    cwd=str(building),
                    extra_arguments=_KERNEL_ARGS,
                )
                executed.append(current_nb)
        bar.close()
        current_nb = None
        for nb in executed:
            _point_at_final(nb, building, final)
            export_html(nb, building / "html" / f"{nb.stem}.html", language=scenario.report.language)
        finished = datetime.now(UTC)
        audit.write_manifest(
            building, run_id=run_id, scenario=scenario, inputs=inputs, notebooks=nb_paths,
            started=started, finished=finished, holiday_status=checked.holiday_status,
        )
        os.rename(building, final)
    except Exception as exc:
        if isinstance(exc, SalesmodelError) and current_nb is None:
            raise
        kept = None
        if current_nb is not None and current_nb.is_file():
            kept_dir = _inside(out / "failed" / run_id, out)
            kept_dir.mkdir(parents=True, exist_ok=True)
            kept = kept_dir / current_nb.name
            shutil.move(str(current_nb), kept)
        name = current_nb.name if current_nb is not None else (stage or "(after the notebooks)")
        msg, failure = _failure_message(name, exc, kept)
        failure["traceback"] = traceback.format_exception_only(type(exc), exc)[-1].strip()
        error = RunError(msg, notebook=name, cell_index=failure["cell_index"], ename=failure["ename"],
                         evalue=failure["evalue"], kept_at=str(kept) if kept else None)
        if failure["ename"] in _INPUT_ERRORS:
            error.exit_code = 2  # the notebook refused the data or params: a planner's fix
        raise error from exc
    finally:
        ended = datetime.now(UTC)
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
        if failure is not None:
            record_dir = out / "failed" / run_id
            record_dir.mkdir(parents=True, exist_ok=True)
            (record_dir / "run.json").write_text(
                json.dumps(
                    {
                        "run_id": run_id,
                        "scenario": scenario.scenario,
                        "params_sha256": phash,
                        "started_utc": started.isoformat(timespec="seconds"),
                        "finished_utc": ended.isoformat(timespec="seconds"),
                        "duration_s": round((ended - started).total_seconds(), 3),
                        "error": failure,
                    },
                    indent=2,
                    ensure_ascii=False,
                ),
                encoding="utf-8",
            )
    tables = sorted((final / "tables").glob("*")) if (final / "tables").is_dir() else []
    return RunResult(
        run_id=run_id,
        run_dir=final,
        notebooks=[final / "notebooks" / nb.name for nb in nb_paths],
        html=[final / "html" / f"{nb.stem}.html" for nb in nb_paths],
        tables=tables,
        manifest=final / audit.MANIFEST,
        duration_s=round((ended - started).total_seconds(), 3),
    )
