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

import salesmodel
from salesmodel.errors import ParamsError, RunError, SalesmodelError
from salesmodel.paths import child, inside
from salesmodel.pipeline import STEPS as STEP_NAMES
from salesmodel.pipeline import PlanResult, run_plan
from salesmodel.pipeline.run_folder import write_inputs
from salesmodel.run import audit
from salesmodel.schema import consistency
from salesmodel.schema.params import Scenario, load_params, params_hash

__all__ = [
    "STAGING",
    "CheckedScenario",
    "RunResult",
    "Terminated",
    "check_scenario",
    "clean_stale_staging",
    "default_params_file",
    "notebook_dirs",
    "resolve_notebooks",
    "run_scenario",
]

KERNEL = "python3"
NOTEBOOKS_ENV = "SALESMODEL_NOTEBOOKS"
DEFAULT_OUT = Path("outputs")
# The kernel's own start-up chatter (e.g. "running over TCP") is not for planners; cell errors still surface.
_KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL"]
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


def _shared_dirs(kind: str) -> list[Path]:
    """``share/salesmodel/<kind>`` where an installed wheel puts its data files: the environment's
    prefix (a venv, conda), then the user scheme (``pip install --user``)."""
    import site
    import sysconfig

    bases = [Path(sysconfig.get_path("data")), Path(sys.prefix)]
    with contextlib.suppress(Exception):  # some embedded interpreters have no user site
        bases.append(Path(site.getuserbase()))
    return [base / "share" / "salesmodel" / kind for base in bases]


def _unique(dirs: list[Path]) -> list[Path]:
    seen, out = set(), []
    for d in dirs:
        key = d.resolve()
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def notebook_dirs() -> list[Path]:
    """Where notebooks are looked for, in order.

    ``$SALESMODEL_NOTEBOOKS``, then ``notebooks/`` of the checkout the package
    lives in (an editable install), then ``<prefix>/share/salesmodel/notebooks``
    (where the wheel installs them as data files; also the user scheme's), then
    ``notebooks/`` in the current folder.
    """
    dirs = []
    if os.environ.get(NOTEBOOKS_ENV):
        dirs.append(Path(os.environ[NOTEBOOKS_ENV]))
    dirs.append(Path(salesmodel.__file__).resolve().parents[1] / "notebooks")
    dirs.extend(_shared_dirs("notebooks"))
    dirs.append(Path.cwd() / "notebooks")
    return _unique(dirs)


def default_params_file() -> Path | None:
    """The shipped ``default.yaml``: beside the notebooks of ``$SALESMODEL_NOTEBOOKS`` or the checkout
    (``../params/``), else where the wheel installs it (``<prefix>/share/salesmodel/params``)."""
    dirs = [Path(os.environ[NOTEBOOKS_ENV]).parent / "params"] if os.environ.get(NOTEBOOKS_ENV) else []
    dirs.append(Path(salesmodel.__file__).resolve().parents[1] / "params")
    dirs.extend(_shared_dirs("params"))
    return next((d / "default.yaml" for d in _unique(dirs) if (d / "default.yaml").is_file()), None)


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
    :func:`salesmodel.domain.calendar.holiday_calendar_status`).

    Raises ParamsError, InputError or InfeasibleError (a request that cannot
    be met, with the feasible range; see :mod:`salesmodel.pipeline.feasibility`) with
    the one message a planner needs.
    """
    from salesmodel import io
    from salesmodel.domain import calendar
    from salesmodel.pipeline.feasibility import check_feasible, check_territory_first

    scenario = load_params(params_file)
    nb_paths = resolve_notebooks(list(notebooks) if notebooks else scenario.notebooks)
    territory_checked = check_territory_first(scenario)  # seconds, before the sales history is read
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


def _peak_memory_mb() -> dict[str, float] | None:
    """Peak resident memory of this process and of its largest child (the notebook workers), in MB."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 2**20  # Linux: KB, macOS: bytes
    return {"run": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale, 1),
            "largest_worker": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale, 1)}


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


def _unique_final(runs: Path, run_id: str, staging: Path | None = None) -> tuple[str, Path]:
    candidate, n = run_id, 1
    while (runs / candidate).exists() or (staging is not None and (staging / candidate).exists()):
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
    if nb_name.endswith(".ipynb"):
        msg = f"Notebook {nb_name} failed{where}: {ename}: {evalue}"
    else:  # not in a notebook: say which stage of the run, and where the detail is
        msg = f"The run failed in {nb_name}: {ename}: {evalue} (run again with --debug for the traceback)"
    if kept is not None:
        msg += f". The notebook with the error is kept at {kept}"
    return msg, {"notebook": nb_name, "cell_index": cell, "ename": ename, "evalue": evalue}


class _NotebookFailure(Exception):
    """A notebook failed in a worker process (its papermill error, as plain values)."""

    def __init__(self, outcome: dict) -> None:
        super().__init__(f"{outcome.get('ename')}: {outcome.get('evalue')}")
        self.cell_index = outcome.get("cell_index")
        self.exec_count = outcome.get("exec_count")
        self.ename = outcome.get("ename")
        self.evalue = outcome.get("evalue")


def _notebook_step(nb: Path) -> str | None:
    """The pipeline step a notebook shows (its ``salesmodel.step`` metadata); None: after the whole plan."""
    try:
        meta = json.loads(nb.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return None
    step = meta.get("salesmodel", {}).get("step")
    return step if isinstance(step, str) else None


def _execute_notebook(*args: str) -> dict:
    """Execute one notebook and render its HTML (in a worker process); errors come back as plain values."""
    global _busy
    _busy = True
    try:
        return _execute_and_render(*args)
    finally:
        _busy = False


def _execute_and_render(nb: str, out_nb: str, params_file: str, building: str, final: str, kernel_name: str,
                        language: str) -> dict:
    import papermill as pm

    from salesmodel.report import edited_banner, export_html

    try:
        # shutdown_kernel="immediate": every output is in once the last cell is idle; a graceful
        # shutdown only waits ~0.6 s for the kernel to exit, on the run's critical path
        pm.execute_notebook(nb, out_nb, parameters={"params_file": params_file, "run_dir": building},
                            kernel_name=kernel_name, progress_bar=False, cwd=building, extra_arguments=_KERNEL_ARGS,
                            shutdown_kernel="immediate")
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which names the notebook
        return {"ok": False, "cell_index": getattr(exc, "cell_index", None),
                "exec_count": getattr(exc, "exec_count", None),
                "ename": getattr(exc, "ename", None) or type(exc).__name__,
                "evalue": getattr(exc, "evalue", None) if hasattr(exc, "ename") else str(exc)}
    _point_at_final(Path(out_nb), Path(building), Path(final))
    export_html(Path(out_nb), Path(building) / "html" / f"{Path(out_nb).stem}.html", language=language,
                banner=edited_banner(building, language))
    return {"ok": True}


class _InProcess:
    """An executor that runs each call at once, in this process (inside a daemonic batch worker,
    which may not start processes of its own, or when one notebook at a time is asked)."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        from concurrent.futures import Future

        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever reads the result
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        return None


# True while a worker executes a notebook: SIGINT then stops the notebook; an idle worker leaves quietly.
_busy = False


def _worker_sigint(signum: int, frame: Any) -> None:  # noqa: ARG001 - signal handler signature
    if _busy:
        raise KeyboardInterrupt
    os._exit(128 + signum)  # idle, waiting for work: nothing to stop and nothing to print


def _die_with_parent(parent_pid: int) -> None:
    """Stop this worker at once when the process that started it dies, even by ``kill -9``.

    On Linux the kernel sends SIGKILL (``PR_SET_PDEATHSIG``); everywhere a daemon thread also
    watches the parent's pid, which covers other systems and a parent that died before prctl.
    The notebook kernels a worker starts follow it: jupyter_client gives them ``JPY_PARENT_PID``
    and ipykernel's parent poller ends a kernel whose parent is gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # no libc prctl (musl without it, a sandbox): the thread remains
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="salesmodel-parent-watch", daemon=True).start()


def worker_setup(parent_pid: int) -> None:
    """Initializer of every worker process (run, batch): it dies with its parent, Ctrl-C stops the
    notebook it is running, and a stop never prints a worker's traceback."""
    import logging

    _die_with_parent(parent_pid)
    # a notebook stopped by Ctrl-C leaves nbclient's tasks to end with "Kernel died": the stop, not an error
    logging.getLogger("asyncio").disabled = True
    signal.signal(signal.SIGINT, _worker_sigint)
    for name in ("SIGTERM", "SIGHUP"):  # the parent stops its workers itself; their own default is silent
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


def quiet_resource_tracker() -> None:
    """After ``kill -9`` of a run, multiprocessing's resource tracker removes the pool's semaphores
    itself and warns about them on the caller's terminal; the warning reports the kill, not a leak.
    The tracker takes this process's ``-W`` options when it starts (with the first pool)."""
    option = "ignore:resource_tracker:UserWarning"
    if option not in sys.warnoptions:
        sys.warnoptions.append(option)


def worker_pool(workers: int) -> Any:
    """A pool of ``workers`` spawned processes set up by :func:`worker_setup` (run and batch)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    quiet_resource_tracker()
    # spawn: a clean interpreter per worker (no forked threads or open solver state)
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=worker_setup, initargs=(os.getpid(),))


class _NotebookPool:
    """Notebooks executed two at a time in worker processes, each once its step's tables are written."""

    def __init__(self, notebooks: Sequence[Path], building: Path, final: Path, params_file: Path, kernel_name: str,
                 language: str, progress: bool, workers: int = 2,
                 on_progress: Callable[[str], None] | None = None) -> None:
        self.workers = workers
        self.on_progress = on_progress or (lambda _doing: None)
        self.waiting = [(nb, _notebook_step(nb)) for nb in notebooks]
        self.order = list(notebooks)
        self.args = (str(params_file), str(building), str(final), kernel_name, language)
        self.building = building
        self.done: set[str] = set()
        self.futures: dict[Path, Any] = {}
        self.progress = progress
        self.bar: Any = None

    def __enter__(self) -> _NotebookPool:
        import multiprocessing

        from tqdm.auto import tqdm

        if self.workers > 1 and not multiprocessing.current_process().daemon:
            self.pool: Any = worker_pool(self.workers)
        else:
            self.pool = _InProcess()
        self.started = time.perf_counter()
        # a bar on a terminal; plain lines otherwise (a log, CI, a notebook's output); nothing when quiet
        self.lines = self.progress and not sys.stderr.isatty()
        self.bar = tqdm(total=len(STEP_NAMES) + len(self.order), desc="plan", unit="part",
                        disable=not self.progress or self.lines)
        return self

    def _submit(self, ready: Callable[[str | None], bool]) -> None:
        for nb, step in list(self.waiting):
            if ready(step):
                self.waiting.remove((nb, step))
                out_nb = self.building / "notebooks" / nb.name
                self.on_progress(f"notebook:{nb.name}")  # in one process (a batch) it runs inside submit
                future = self.pool.submit(_execute_notebook, str(nb), str(out_nb), *self.args)
                self._say(f"notebook {nb.name} started")
                submitted = time.perf_counter()
                future.add_done_callback(lambda _f, name=nb.name, t0=submitted: self._tick(
                    name, f"notebook {name} finished in {time.perf_counter() - t0:.1f} s"))
                self.futures[nb] = future

    def _say(self, line: str) -> None:
        if self.lines:
            print(f"[{time.perf_counter() - self.started:6.1f} s] {line}", file=sys.stderr, flush=True)

    def _tick(self, label: str, line: str) -> None:
        self._say(line)
        if self.bar is not None and not self.bar.disable:
            self.bar.set_postfix_str(label)
            self.bar.update(1)

    def step_done(self, name: str) -> None:
        self.done.add(name)
        self._tick(name, f"step {name} done")
        self._submit(lambda step: step is not None and step in self.done)
        following = [s for s in STEP_NAMES if s not in self.done]
        if following:
            self.on_progress(f"step:{following[0]}")

    def all_steps_done(self) -> None:
        self._submit(lambda step: True)

    def results(self) -> Iterator[tuple[Path, dict]]:
        for nb in self.order:
            yield nb, self.futures[nb].result()

    def __exit__(self, kind: Any, *exc: Any) -> None:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            # Ctrl-C or SIGTERM: stop the notebooks running in the workers as Ctrl-C stops a kernel.
            for process in list(getattr(self.pool, "_processes", {}).values()):
                with contextlib.suppress(OSError):
                    os.kill(process.pid, signal.SIGINT)
        # Wait for notebooks still running, so nothing writes into a folder that is about
        # to be removed; those not started are cancelled.
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.bar is not None:
            self.bar.close()


def _run_pipeline(scenario: Scenario, inputs: dict[str, pd.DataFrame], building: Path, run_id: str, *,
                  progress: bool, on_step: Callable[[str], None] | None = None) -> PlanResult:
    """Run every step of the plan once, in this process, and write the declared tables and the workbook.

    Each step's tables (and the facts so far) are written as soon as the step ends, then
    ``on_step(name)`` is called, so a notebook showing that step can start.
    """
    from salesmodel import io
    from salesmodel.report import workbook

    def written(name: str, done: PlanResult) -> None:
        for table, df in done.steps[name].tables.items():
            io.write_table(df, building / "tables", table)
        io.write_table(done.facts(), building / "tables", "run_facts")
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
    io.write_table(plan.tables["run_facts"], building / "tables", "run_facts")
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
    params_file = Path(params_file)
    progressed = on_progress or (lambda _doing: None)
    progressed("start")
    checked = check_scenario(params_file, notebooks=notebooks)
    scenario, nb_paths, inputs = checked.scenario, checked.notebooks, checked.inputs
    started = datetime.now(UTC)
    phash = params_hash(scenario)
    out = Path(out_dir).resolve()
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
            resolved = building / "params.yaml"
            resolved.write_text(
                "# The resolved params of this run (paths absolute); `salesmodel verify --rerun` uses them.\n"
                + yaml.safe_dump(scenario.to_jsonable(), allow_unicode=True, sort_keys=False),
                encoding="utf-8",
            )
            stage = "reading the inputs"
            write_inputs(building, inputs)
            stage = "the pipeline"
            # The plan runs once in this process; each notebook starts (two at a time, in worker
            # processes) as soon as the step it shows has written its tables.
            with _kernel_environment(), _NotebookPool(nb_paths, building, final, resolved, kernel_name,
                                                      scenario.report.language, progress,
                                                      notebook_workers, progressed) as pool:
                progressed(f"step:{STEP_NAMES[0]}")
                step_started = time.perf_counter()

                def step_done(name: str) -> None:  # the step's seconds go into the run's record
                    nonlocal step_started
                    now = time.perf_counter()
                    step_seconds[name] = round(now - step_started, 2)
                    step_started = now
                    pool.step_done(name)

                _run_pipeline(scenario, inputs, building, run_id, progress=False, on_step=step_done)
                stage = None
                pool.all_steps_done()
                for nb, outcome in pool.results():
                    if not outcome["ok"]:
                        current_nb = building / "notebooks" / nb.name
                        raise _NotebookFailure(outcome)
            current_nb = None
            progressed("finish")
            finished = datetime.now(UTC)
            unmet = audit.read_unmet(building)
            manifest_path = audit.write_manifest(
                building, run_id=run_id, scenario=scenario, inputs=inputs, notebooks=nb_paths,
                started=started, finished=finished, holiday_status=checked.holiday_status,
                extra={"resources": {"step_seconds": step_seconds, "peak_memory_mb": _peak_memory_mb()}},
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
    tables = sorted((final / "tables").glob("*")) if (final / "tables").is_dir() else []
    return RunResult(
        run_id=run_id,
        run_dir=final,
        notebooks=[final / "notebooks" / nb.name for nb in nb_paths],
        html=[final / "html" / f"{nb.stem}.html" for nb in nb_paths],
        tables=tables,
        manifest=final / audit.MANIFEST,
        duration_s=round((ended - started).total_seconds(), 3),
        manifest_sha256=manifest_sha,
        unmet=unmet,
    )
