"""Executing a scenario's notebooks with papermill into a run folder.

One run is one folder ``<out>/runs/<UTC time>-<scenario>-<hash8>/``::

    params.yaml          the resolved params every notebook received
    notebooks/*.ipynb    the executed notebooks (with outputs)
    html/*.html          leadership rendering: no code, images embedded, offline
    tables/*.parquet|csv the tables the notebooks saved
    manifest.json        hashes and versions (see salesmodel.run.audit)

The folder is built in a staging area outside ``runs/`` (``<out>/.staging/<id>``)
and renamed into ``runs/`` when complete, so it appears whole or not at all, even
after ``kill -9``; the staging folders of processes that are no longer alive are
removed when the next run starts (one line says so). SIGTERM is handled like
Ctrl-C. When a notebook fails, the partial folder is removed; the failed
notebook, with papermill's error banner, is kept at ``<out>/failed/<id>/`` for
reading, and :class:`RunError` names the notebook, the cell and the error.

Each finished run is appended to the chained run log ``<out>/runs.log`` with the
sha256 of its manifest (see :func:`salesmodel.run.audit.append_run_log`). A run
whose steps recorded unmet requirements (``unmet.json``) completes, and
``RunResult.unmet`` lists them; the command line then exits with status 3.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import yaml

from salesmodel import io
from salesmodel.domain import calendar
from salesmodel.errors import ClusterLostError, InputError, RunError, SalesmodelError
from salesmodel.io.orderlines import ORDER_KINDS
from salesmodel.paths import child, inside
from salesmodel.pipeline import STEPS as STEP_NAMES
from salesmodel.pipeline import PlanResult, cluster, run_plan
from salesmodel.pipeline.feasibility import check_feasible, check_territory_first
from salesmodel.pipeline.run_folder import MANIFEST, PARAMS_FILE, TABLES, held_from_copy, write_inputs
from salesmodel.report import workbook
from salesmodel.run import audit
from salesmodel.run.language import reader_language
from salesmodel.run.machine import check_memory, give_back_memory
from salesmodel.run.notebooks import KERNEL, NotebookFailure, NotebookPool, kernel_environment, resolve_notebooks
from salesmodel.run.scheduler import cluster_record, scheduler_client
from salesmodel.schema import consistency
from salesmodel.schema.params import Scenario, load_params, params_hash
from salesmodel.schema.vocabulary import word

__all__ = [
    "STAGING",
    "CheckedScenario",
    "RunResult",
    "Terminated",
    "check_scenario",
    "clean_stale_staging",
    "run_scenario",
]

DEFAULT_OUT = Path("outputs")
# Error names raised inside a notebook that mean "fix your input or params" (exit status 2).
_INPUT_ERRORS = {"InputError", "ParamsError", "InfeasibleError"}
# Run folders are built here, outside runs/, so a crash can never leave a half folder in runs/.
STAGING = ".staging"
# OS errors that mean "the folder cannot be written": named with the folder, never as a notebook failure.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EPERM, errno.EDQUOT, errno.EFBIG, errno.EIO,
                 errno.ENOTDIR}


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: the run stops and cleans up exactly as after Ctrl-C."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


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
    manifest_sha256: str = ""
    unmet: list[dict] = field(default_factory=list)

    @property
    def leadership_html(self) -> Path | None:
        """The HTML of the last notebook: the one leadership opens."""
        return self.html[-1] if self.html else None


class CheckedScenario(NamedTuple):
    """What :func:`check_scenario` found valid."""

    scenario: Scenario
    notebooks: list[Path]
    inputs: dict[str, pd.DataFrame]
    holiday_overrides: pd.DataFrame | None
    holiday_status: str


def check_scenario(params_file: str | Path, *, notebooks: Sequence[str | Path] | None = None,
                   language: str | None = None) -> CheckedScenario:
    """Load params, find the notebooks, read and validate the inputs; run nothing.

    Also reads the company's holiday overrides (when given) and says how far
    the holiday calendar of the plan year can be trusted (see
    :func:`salesmodel.domain.calendar.holiday_calendar_status`).

    Raises ParamsError, InputError or InfeasibleError (a request that cannot
    be met, with the feasible range; see :mod:`salesmodel.pipeline.feasibility`) with
    the one message a planner needs.
    """
    scenario = load_params(params_file)
    nb_paths = resolve_notebooks(list(notebooks) if notebooks else scenario.notebooks)
    territory_checked = check_territory_first(scenario)  # seconds, before the sales history is read
    check_memory(scenario, language or reader_language(None, params_file))  # a company too large to hold
    inputs = io.read_inputs(scenario.data)
    # Requests a short argument proves impossible are refused here, with the feasible range.

    check_feasible(scenario, inputs, io.input_sources(scenario.data), territory_checked=territory_checked)
    overrides = None
    if scenario.calendar.holiday_overrides is not None:
        overrides = io.read_holiday_overrides(scenario.calendar.holiday_overrides)
    status = calendar.holiday_calendar_status(
        scenario.calendar.plan_year, scenario.calendar.country, overrides=overrides
    )
    return CheckedScenario(scenario, nb_paths, inputs, overrides, status)


def _inside(path: Path, parent: Path) -> Path:
    return inside(path, parent, what="run folder")


def _process_start(pid: int) -> str | None:
    """The start time of a process (Linux /proc), to tell a live owner from a reused pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _owner_alive(owner: dict) -> bool:
    if owner.get("host") != socket.gethostname():
        return True  # another machine's run: not ours to judge
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    started = owner.get("started")
    return started is None or _process_start(pid) in (None, started)


def clean_stale_staging(out: Path, *, notice: bool = True) -> list[str]:
    """Remove staging folders whose process is no longer alive; say so in one line.

    Returns the names removed. A folder without an owner record is removed
    only when it is older than a day (a run that crashed before writing it).
    """
    import time

    staging = out / STAGING
    if not staging.is_dir():
        return []
    removed = []
    for folder in sorted(p for p in staging.iterdir() if p.is_dir()):
        owner_file = staging / f"{folder.name}.owner"
        try:
            owner = json.loads(owner_file.read_text(encoding="utf-8"))
            stale = not _owner_alive(owner if isinstance(owner, dict) else {})
        except (OSError, ValueError):
            stale = time.time() - folder.stat().st_mtime > 86_400
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            owner_file.unlink(missing_ok=True)
            removed.append(folder.name)
    for owner_file in staging.glob("*.owner"):  # records whose folder is already gone
        if not (staging / owner_file.stem).exists():
            owner_file.unlink(missing_ok=True)
    if removed and notice:
        print(f"note: removed {len(removed)} unfinished run folder(s) of stopped runs from {staging}", file=sys.stderr)
    return removed


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` (a KeyboardInterrupt), so the same clean-up runs
    (a SIGHUP ignored by the caller, as under ``nohup``, stays ignored)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        raise Terminated(signum)

    caught = [signal.SIGTERM]
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        caught.append(signal.SIGHUP)
    previous = {signum: signal.signal(signum, handler) for signum in caught}
    try:
        yield
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)


def _write_error(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc`` when it is a failure to write (disk full, read-only, no permission)."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _cannot_write(folder: Path, exc: OSError) -> RunError:
    cause = exc.strerror or str(exc)
    what = f" (writing {Path(exc.filename).name})" if getattr(exc, "filename", None) else ""
    return RunError(f"Cannot write the run folder {folder}: {cause}{what}; nothing was kept.",
                    ename="write failure", evalue=cause)


def _peak_memory_mb() -> dict[str, float] | None:
    """Peak resident memory of this process and of its largest child (the notebook workers), in MB."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 2**20  # Linux: KB, macOS: bytes
    return {"run": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale, 1),
            "largest_worker": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale, 1)}


def _unique_final(runs: Path, run_id: str, staging: Path | None = None) -> tuple[str, Path]:
    candidate, n = run_id, 1
    while (runs / candidate).exists() or (staging is not None and (staging / candidate).exists()):
        n += 1
        candidate = f"{run_id}-{n}"
    return candidate, runs / candidate


def _check_space(out: Path, scenario: Scenario, inputs: dict[str, pd.DataFrame], language: str) -> None:
    """Refuse, before anything is written, inputs larger than the free space where the run folder goes.

    The run keeps a copy of its inputs: their files' sizes (a database's tables: their size in memory)
    must fit in the free space of the folder ``out`` is (or will be) in."""
    sizes = {path.name: path.stat().st_size for path in audit.input_files(scenario).values()}
    if not sizes:
        sizes = {key: int(df.memory_usage(index=False, deep=True).sum()) for key, df in inputs.items()}
    need = sum(sizes.values())
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return  # cannot tell: writing will say so if it fails
    if need <= free:
        return
    largest = max(sizes, key=sizes.__getitem__)
    raise InputError(word("run_no_space", language).format(
        folder=out, free=free / 1e6, need=need / 1e6, file=largest, size=sizes[largest] / 1e6))


def _failure_message(nb_name: str, exc: BaseException, kept: Path | None) -> tuple[str, dict]:
    cell = getattr(exc, "cell_index", None)
    count = getattr(exc, "exec_count", None)
    ename = getattr(exc, "ename", None) or type(exc).__name__
    evalue = getattr(exc, "evalue", None) if hasattr(exc, "ename") else str(exc)
    where = f" in cell {cell}" if cell is not None else ""
    if count is not None:
        where += f" (execution count {count})"
    if nb_name.endswith(".ipynb"):
        msg = f"Notebook {nb_name} failed{where}: {ename}: {evalue}"
    else:  # not in a notebook: say which stage of the run, and where the detail is
        msg = f"The run failed in {nb_name}: {ename}: {evalue} (run again with --debug for the traceback)"
    if kept is not None:
        msg += f". The notebook with the error is kept at {kept}"
    return msg, {"notebook": nb_name, "cell_index": cell, "ename": ename, "evalue": evalue}


def _run_pipeline(scenario: Scenario, inputs: dict[str, pd.DataFrame], building: Path, run_id: str, *,
                  progress: bool, on_step: Callable[[str], None] | None = None) -> PlanResult:
    """Run every step of the plan once, in this process, and write the declared tables and the workbook.

    Each step's tables (and the facts so far) are written as soon as the step ends, then
    ``on_step(name)`` is called, so a notebook showing that step can start. Once the plan is made the
    order lines (``sales``, ``actuals``) are let go from ``inputs``: the run folder keeps their copy and
    the workbook, built last, needs only the names of places and people.
    """
    def written(name: str, done: PlanResult) -> None:
        for table, df in done.steps[name].tables.items():
            io.write_table(df, building / TABLES, table)
        io.write_table(done.facts(), building / TABLES, "run_facts")
        if on_step is not None:
            on_step(name)

    plan = run_plan(scenario, inputs, progress=progress, after_step=written)
    # the tables must agree with each other before the run is recorded (the rules verify applies later)
    broken = consistency.check(plan.tables)
    if broken:
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        raise RunError(f"The plan's tables disagree, so the run is not kept: {broken[0].message}{more}",
                       ename="inconsistent tables", evalue=broken[0].rule)
    unmet = plan.tables.get("unmet_requirements")
    if unmet is not None and len(unmet):  # the contract of exit status 3 (audit.read_unmet)
        items = [{k: (v if not isinstance(v, float) else round(v, 6)) for k, v in row.items()}
                 for row in unmet.to_dict(orient="records")]
        (building / audit.UNMET).write_text(json.dumps({"unmet": items}, indent=1, ensure_ascii=False), encoding="utf-8")
    io.write_table(plan.tables["run_facts"], building / TABLES, "run_facts")
    for kind in ORDER_KINDS:  # the workbook is the largest thing a run builds: not beside the order lines
        inputs.pop(kind, None)
    lang = scenario.report.language
    workbook.build_workbook(plan.tables, building / "plan.xlsx", params=scenario.to_jsonable(), run_id=run_id,
                            language=lang, money_unit=scenario.report.money_unit,
                            labels=workbook.plan_labels(inputs, lang),
                            title={"company": workbook.company_name(inputs, lang), "scenario": scenario.scenario,
                                   "plan_year": scenario.calendar.plan_year})
    return plan


def run_scenario(
    params_file: str | Path,
    out_dir: str | Path = DEFAULT_OUT,
    *,
    notebooks: Sequence[str | Path] | None = None,
    progress: bool = True,
    kernel_name: str = KERNEL,
    notebook_workers: int = 2,
    on_progress: Callable[[str], None] | None = None,
    scheduler: Any = None,
    language: str | None = None,
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
    notebook_workers : int, default=2
        Notebooks executed at the same time (each in a worker process); 1 executes
        them one after another in this process (as a batch of scenarios does).
    on_progress : callable, optional
        Called with what the run is doing now: ``"start"`` (reading the inputs),
        ``"step:<name>"``, ``"notebook:<file>"``, ``"finish"`` (writing the folder);
        a batch shows it for each running scenario.
    scheduler : str or distributed.Client, optional
        A Dask scheduler's address (``tcp://host:8786``) or a connected client: the forecast
        (statsforecast on Dask) and the territory step's regions run on that cluster, with the
        same tables as here; the manifest records the scheduler. An address that does not answer
        is refused before anything runs (ParamsError).
    language : str, optional
        The reader's language of the refusals (default: the params', else the environment's).

    Returns
    -------
    RunResult

    Raises
    ------
    ParamsError, InputError
        Before anything runs (also: a scheduler that does not answer, inputs larger than the free
        space of ``out_dir``).
    ClusterLostError
        The cluster lost a worker or its connection; names the step, keeps nothing.
    RunError
        A notebook failed; names the notebook, cell and error, and where the
        failed notebook is kept.

    Examples
    --------
    >>> result = run_scenario("params/default.yaml")  # doctest: +SKIP
    >>> result.leadership_html  # doctest: +SKIP
    PosixPath('outputs/runs/20261123T090000Z-default-1a2b3c4d/html/10_leadership_summary.html')
    """
    language = language or reader_language(None, params_file)
    client, opened = scheduler_client(scheduler, language) if scheduler is not None else (None, False)
    try:
        with contextlib.ExitStack() as stack:
            if client is not None and not opened:
                stack.enter_context(client.as_current())  # a client given: the steps' default while the run lasts
            stack.enter_context(cluster.running(client, progress=progress))
            return _run(Path(params_file), out_dir, notebooks=notebooks, progress=progress, kernel_name=kernel_name,
                        notebook_workers=notebook_workers, on_progress=on_progress, language=language)
    except ClusterLostError as exc:
        address = getattr(client, "scheduler", None) and client.scheduler.address
        raise ClusterLostError(word("run_cluster_lost", language).format(step=exc.step, scheduler=address,
                                                                         error=f"{exc.ename}: {exc.evalue}"),
                               step=exc.step, ename=exc.ename, evalue=exc.evalue) from exc
    finally:
        if opened:
            with contextlib.suppress(Exception):  # a cluster already gone: the run's own error is the one to show
                client.close()


def _run(params_file: Path, out_dir: str | Path, *, notebooks: Sequence[str | Path] | None, progress: bool,
         kernel_name: str, notebook_workers: int, on_progress: Callable[[str], None] | None,
         language: str) -> RunResult:
    """:func:`run_scenario` once its cluster (if any) is connected (:func:`salesmodel.pipeline.cluster.current`)."""
    params_file = Path(params_file)
    progressed = on_progress or (lambda _doing: None)
    progressed("start")
    checked = check_scenario(params_file, notebooks=notebooks, language=language)
    scenario, nb_paths, inputs = checked.scenario, checked.notebooks, checked.inputs
    started = datetime.now(UTC)
    phash = params_hash(scenario)
    out = Path(out_dir).resolve()
    _check_space(out, scenario, inputs, language)  # before anything is written
    runs = out / "runs"
    staging_root = out / STAGING
    try:
        runs.mkdir(parents=True, exist_ok=True)
        staging_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(runs, exc) from None
    clean_stale_staging(out)
    base_id = audit.make_run_id(scenario.scenario, phash, started)
    while True:  # two runs may pick the same id in the same second: the first mkdir wins
        run_id, final = _unique_final(runs, base_id, staging_root)
        final = _inside(final, runs)
        building = child(staging_root, run_id, what="staging folder")
        try:
            building.mkdir()
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise _cannot_write(staging_root, exc) from None
    owner_file = staging_root / f"{run_id}.owner"
    # papermill runs each notebook with the staging folder as the working directory; a signal
    # can land before it changes back, and the folder is about to be removed.
    cwd_before = os.getcwd()
    step_seconds: dict[str, float] = {}
    failure: dict | None = None
    current_nb: Path | None = None
    stage: str | None = None
    unmet: list[dict] = []
    manifest_sha = ""
    try:
        with _sigterm_as_interrupt():
            owner_file.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                              "started": _process_start(os.getpid())}), encoding="utf-8")
            (building / "notebooks").mkdir(parents=True)
            resolved = building / PARAMS_FILE
            resolved.write_text(
                "# The resolved params of this run (paths absolute); `salesmodel verify --rerun` uses them.\n"
                + yaml.safe_dump(scenario.to_jsonable(), allow_unicode=True, sort_keys=False),
                encoding="utf-8",
            )
            stage = "reading the inputs"
            write_inputs(building, inputs)
            contents = audit.input_contents(inputs)  # the manifest's record of what was read, before it is let go
            held_from_copy(building, inputs)  # the steps read the history's sums and a few windows of the copy
            stage = "the pipeline"
            # The plan runs once in this process; each notebook starts (two at a time, in worker
            # processes) as soon as the step it shows has written its tables.
            with kernel_environment(), NotebookPool(nb_paths, building, final, resolved, kernel_name,
                                                      scenario.report.language, progress,
                                                      notebook_workers, progressed) as pool:
                progressed(f"step:{STEP_NAMES[0]}")
                step_started = time.perf_counter()

                def step_done(name: str) -> None:  # the step's seconds go into the run's record
                    nonlocal step_started
                    now = time.perf_counter()
                    step_seconds[name] = round(now - step_started, 2)
                    give_back_memory()  # before the step's notebook starts beside the next step
                    step_started = time.perf_counter()
                    pool.step_done(name)

                _run_pipeline(scenario, inputs, building, run_id, progress=False, on_step=step_done)
                stage = None
                pool.all_steps_done()
                for nb, outcome in pool.results():
                    if not outcome["ok"]:
                        current_nb = building / "notebooks" / nb.name
                        raise NotebookFailure(outcome)
            current_nb = None
            progressed("finish")
            finished = datetime.now(UTC)
            unmet = audit.read_unmet(building)
            manifest_path = audit.write_manifest(
                building, run_id=run_id, scenario=scenario, contents=contents, notebooks=nb_paths,
                started=started, finished=finished, holiday_status=checked.holiday_status,
                extra={"resources": {"step_seconds": step_seconds, "peak_memory_mb": _peak_memory_mb(),
                                     "cluster": cluster_record()}},
            )
            manifest_sha = audit.sha256_file(manifest_path)
            try:
                os.rename(building, final)
            except OSError as exc:  # the runs folder refuses the finished run: name it, not the staging folder
                if exc.errno not in _WRITE_ERRNOS:
                    raise
                raise _cannot_write(runs, OSError(exc.errno, exc.strerror, str(final))) from None
            try:
                audit.append_run_log(out, run_id, manifest_sha)
            except OSError as exc:
                # A run that is not in the log cannot be proved: it does not stay.
                shutil.rmtree(final, ignore_errors=True)
                raise _cannot_write(out / audit.RUN_LOG, exc) from None
    except KeyboardInterrupt:
        # The interrupted notebook's task ends with "kernel died" when it is collected; that is
        # the stop the user asked for, not an error to print as a traceback.
        import logging

        logging.getLogger("asyncio").disabled = True
        raise
    except Exception as exc:
        if isinstance(exc, SalesmodelError) and current_nb is None:
            raise
        written = _write_error(exc)
        if written is not None:
            raise _cannot_write(building, written) from None
        kept = None
        if current_nb is not None and current_nb.is_file():
            with contextlib.suppress(OSError):
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
        with contextlib.suppress(OSError):
            os.chdir(cwd_before)
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
        owner_file.unlink(missing_ok=True)
        if failure is not None:
            with contextlib.suppress(OSError):  # an unwritable out folder must not hide the real error
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
    tables = sorted((final / TABLES).glob("*")) if (final / TABLES).is_dir() else []
    return RunResult(
        run_id=run_id,
        run_dir=final,
        notebooks=[final / "notebooks" / nb.name for nb in nb_paths],
        html=[final / "html" / f"{nb.stem}.html" for nb in nb_paths],
        tables=tables,
        manifest=final / MANIFEST,
        duration_s=round((ended - started).total_seconds(), 3),
        manifest_sha256=manifest_sha,
        unmet=unmet,
    )
