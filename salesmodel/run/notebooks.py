"""The notebooks of a run: where they are found, and executing one into a run folder.

Notebooks are looked for in ``$SALESMODEL_NOTEBOOKS``, the checkout, the wheel's data files and the
current folder (:func:`notebook_dirs`). Each executes with papermill in a worker process
(:mod:`salesmodel.run.workers`) with the run's params injected, then is pointed at the finished folder
and rendered as leadership HTML; :class:`NotebookPool` starts each as soon as the step it shows has
written its tables.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import site
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import salesmodel
from salesmodel.errors import ParamsError
from salesmodel.pipeline import STEPS as STEP_NAMES
from salesmodel.report import edited_banner, export_html
from salesmodel.run import workers
from salesmodel.run.workers import InProcess, worker_pool

__all__ = ["KERNEL", "KERNEL_ARGS", "NOTEBOOKS_ENV", "NotebookFailure", "NotebookPool", "default_params_file",
           "execute_notebook", "kernel_environment", "notebook_dirs", "resolve_notebooks"]

KERNEL = "python3"


NOTEBOOKS_ENV = "SALESMODEL_NOTEBOOKS"


# The kernel's own start-up chatter (e.g. "running over TCP") is not for planners; cell errors still surface.
KERNEL_ARGS = ["--IPKernelApp.log_level=CRITICAL"]


def _shared_dirs(kind: str) -> list[Path]:
    """``share/salesmodel/<kind>`` where an installed wheel puts its data files: the environment's
    prefix (a venv, conda), then the user scheme (``pip install --user``)."""
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


@contextlib.contextmanager
def kernel_environment() -> Iterator[None]:
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


class NotebookFailure(Exception):
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


def execute_notebook(*args: str) -> dict:
    """Execute one notebook and render its HTML (in a worker process); errors come back as plain values."""
    with workers.busy():
        return _execute_and_render(*args)


def _execute_and_render(nb: str, out_nb: str, params_file: str, building: str, final: str, kernel_name: str,
                        language: str) -> dict:
    import papermill as pm

    try:
        # shutdown_kernel="immediate": every output is in once the last cell is idle; a graceful
        # shutdown only waits ~0.6 s for the kernel to exit, on the run's critical path
        pm.execute_notebook(nb, out_nb, parameters={"params_file": params_file, "run_dir": building},
                            kernel_name=kernel_name, progress_bar=False, cwd=building, extra_arguments=KERNEL_ARGS,
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


class NotebookPool:
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

    def __enter__(self) -> NotebookPool:
        import multiprocessing

        from tqdm.auto import tqdm

        if self.workers > 1 and not multiprocessing.current_process().daemon:
            self.pool: Any = worker_pool(self.workers)
        else:
            self.pool = InProcess()
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
                future = self.pool.submit(execute_notebook, str(nb), str(out_nb), *self.args)
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
