"""Many scenarios in one command: a list of params files, or a grid sweep.

Each scenario becomes a normal run folder (with its own manifest); the batch
folder holds ``batch_manifest.json`` (every scenario's params hash, status,
run folder or error) and the comparison table. Scenarios run in parallel on a
local process pool or on a Dask cluster (``distributed.Client`` used as a
``concurrent.futures`` executor). One failing scenario never stops the others.

A grid file is a normal params file with a ``grid:`` section::

    scenario: growth-sweep
    grid:
      targets.growth: [0.08, 0.12, 0.15]
      targets.stretch: [1.0, 1.1]
      staffing.attrition: [0.15, 0.25]

which expands to 12 scenarios named ``growth-sweep__growth=0.08_stretch=1.0_...``.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import itertools
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from salesmodel.errors import ParamsError, SalesmodelError
from salesmodel.io import write_table
from salesmodel.pipeline import run_folder
from salesmodel.pipeline.comparison import compare_runs, compare_targets, reference_name
from salesmodel.report import export_html, resolve_money_unit
from salesmodel.run.notebooks import KERNEL_ARGS, kernel_environment, resolve_notebooks
from salesmodel.run.runner import run_scenario
from salesmodel.run.workers import worker_pool
from salesmodel.schema.params import params_from_dict, params_hash
from salesmodel.schema.vocabulary import LANGUAGES, word

__all__ = ["KERNEL_RACE_PATTERNS", "BatchResult", "ScenarioOutcome", "ScenarioSpec", "expand", "progress_lines", "run_batch"]

# Messages of the kernel start-up races parallel papermill runs are known for
# (two kernels taking the same port, a kernel dying before it answers).
KERNEL_RACE_PATTERNS = (
    "Address already in use",
    "Kernel died before replying to kernel_info",
    "Kernel didn't respond",
    "ZMQError",
    "kernel_info",
    "Kernel does not exist",
)
MAX_ATTEMPTS = 3
# <batch>/progress/<scenario file stem>.json: what each running scenario is doing now, written by the
# worker running it (a file, so processes and Dask workers on this machine can all report); removed at the end.
PROGRESS = "progress"
HEARTBEAT_S = 30.0  # without a terminal, a line at least this often while nothing changes


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario of a batch: its name and a resolved params file to run."""

    name: str
    params_file: str
    params_hash: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScenarioOutcome:
    name: str
    params_file: str
    params_hash: str
    status: str  # ok | unmet (completed, a requirement not met: exit 3) | failed
    run_dir: str | None = None
    error: str | None = None
    error_kind: str | None = None
    attempts: int = 1
    seconds: float = 0.0
    unmet: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BatchResult:
    batch_dir: Path
    outcomes: list[ScenarioOutcome]
    comparison_html: Path | None = None
    reference: str | None = None

    @property
    def failed(self) -> list[ScenarioOutcome]:
        return [o for o in self.outcomes if o.status not in ("ok", "unmet")]

    @property
    def ok(self) -> bool:
        return not self.failed


def _dotted_to_nested(dotted: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cur = out
    parts = dotted.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return out


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "-", text).strip("-.")[:80] or "scenario"


def _grid_points(grid: dict[str, Any], source: str) -> list[dict[str, Any]]:
    if not isinstance(grid, dict) or not grid:
        raise ParamsError(f"{source}: 'grid' must map dotted field names to lists of values, e.g. targets.growth: [0.08, 0.12]")
    names = list(grid)
    for name in names:
        values = grid[name]
        if not isinstance(values, list) or not values:
            raise ParamsError(f"{source}: grid field '{name}' must be a non-empty list of values. Got {values!r} instead.")
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def expand(params_files: Sequence[str | Path], work_dir: str | Path) -> list[ScenarioSpec]:
    """Turn params files (some with a ``grid:`` section) into validated scenarios.

    Every scenario is validated before anything runs (a bad grid value is an error
    naming the scenario). Each is written as a resolved params file into
    ``work_dir`` so a run can be repeated from it alone.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    specs: list[ScenarioSpec] = []
    seen: set[str] = set()
    for pf in params_files:
        pf = Path(pf)
        if not pf.is_file():
            raise ParamsError(f"{pf}: params file not found")
        try:
            raw = yaml.safe_load(pf.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ParamsError(f"{pf}: not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise ParamsError(f"{pf}: expected a mapping at the top level")
        grid = raw.pop("grid", None)
        points = _grid_points(grid, str(pf)) if grid is not None else [{}]
        base_name = str(raw.get("scenario", pf.stem))
        for point in points:
            overrides: dict[str, Any] = {}
            for dotted, value in point.items():
                overrides = _merge(overrides, _dotted_to_nested(dotted, value))
            label = "_".join(f"{k.split('.')[-1]}={v}" for k, v in point.items())
            name = f"{base_name}__{label}" if label else base_name
            overrides = _merge(overrides, {"scenario": name[:80]})
            # Validate against the original file so relative paths resolve from it.
            try:
                sc = params_from_dict(_merge(raw, overrides), base_dir=pf.resolve().parent, source=str(pf))
            except ParamsError as exc:
                raise ParamsError(f"scenario '{name}': {exc}") from None
            slug = _slug(name)
            if slug in seen:
                slug = f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
            seen.add(slug)
            resolved = work_dir / f"{slug}.yaml"
            resolved.write_text(
                yaml.safe_dump(sc.to_jsonable(), allow_unicode=True, sort_keys=False), encoding="utf-8"
            )
            specs.append(ScenarioSpec(name=sc.scenario, params_file=str(resolved), params_hash=params_hash(sc), overrides=point))
    if not specs:
        raise ParamsError("no scenarios to run: give at least one params file")
    return specs


def _is_kernel_race(exc: BaseException) -> bool:
    text = f"{type(exc).__name__}: {exc}"
    return any(p in text for p in KERNEL_RACE_PATTERNS)


def _progress_file(progress_dir: str | Path, spec: ScenarioSpec) -> Path:
    return Path(progress_dir) / f"{Path(spec.params_file).stem}.json"


def _progress_writer(path: Path, name: str) -> Callable[[str], None]:
    """Record what the scenario is doing (``runner.run_scenario``'s ``on_progress``) for the batch to show."""
    started = time.time()  # wall clock: the batch reads it in another process

    def write(doing: str) -> None:
        record = {"name": name, "started": started, "doing": doing, "since": time.time()}
        with contextlib.suppress(OSError):  # progress is a courtesy: a scenario never fails for it
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(record), encoding="utf-8")
            os.replace(tmp, path)  # whole or not at all for the reader

    return write


def run_one(spec: ScenarioSpec, out_dir: str, log: Callable[[str], None] | None = None,
            progress_dir: str | None = None) -> ScenarioOutcome:
    """Run one scenario, retrying only the kernel start-up races; never raises."""
    started = time.perf_counter()
    attempt = 0
    on_progress = _progress_writer(_progress_file(progress_dir, spec), spec.name) if progress_dir else None
    while True:
        attempt += 1
        try:
            result = run_scenario(spec.params_file, out_dir, progress=False, notebook_workers=1,  # scenarios run in parallel
                                  on_progress=on_progress)
            run_dir = getattr(result, "run_dir", result)
            unmet = list(getattr(result, "unmet", None) or [])
            return ScenarioOutcome(
                spec.name, spec.params_file, spec.params_hash, "unmet" if unmet else "ok", run_dir=str(run_dir),
                attempts=attempt, seconds=round(time.perf_counter() - started, 3), unmet=unmet,
            )
        except BaseException as exc:  # noqa: BLE001 - one scenario must never stop the batch
            if attempt < MAX_ATTEMPTS and _is_kernel_race(exc):
                msg = f"scenario '{spec.name}': kernel start-up race ({type(exc).__name__}: {exc}); retrying ({attempt}/{MAX_ATTEMPTS - 1})"
                (log or (lambda m: print(m, flush=True)))(msg)
                time.sleep(0.5 * attempt)
                continue
            kind = type(exc).__name__ if isinstance(exc, SalesmodelError) else f"unexpected {type(exc).__name__}"
            return ScenarioOutcome(
                spec.name, spec.params_file, spec.params_hash, "failed", error=str(exc).strip()[:2000],
                error_kind=kind, attempts=attempt, seconds=round(time.perf_counter() - started, 3),
            )


def _doing(doing: str, language: str) -> str:
    kind, _, what = doing.partition(":")
    if kind == "notebook":
        return word("batch_doing_notebook", language).format(notebook=what)
    if kind == "step":
        return word("batch_doing_step", language).format(step=what)
    return word("batch_doing_finish" if kind == "finish" else "batch_doing_start", language)


def progress_lines(specs: Sequence[ScenarioSpec], outcomes: dict[str, ScenarioOutcome], progress_dir: str | Path,
                   elapsed: float, *, language: str = "en", now: float | None = None) -> tuple[list[str], tuple]:
    """The batch's state as lines: scenarios done / failed / running / waiting with the elapsed time,
    then each running scenario with what it is doing (its step or notebook) and for how long.

    Also returns the state without the times, so a caller prints only when it changed.
    """
    now = time.time() if now is None else now
    running = []
    for spec in specs:
        if spec.name in outcomes:
            continue
        with contextlib.suppress(OSError, ValueError, TypeError):
            record = json.loads(_progress_file(progress_dir, spec).read_text(encoding="utf-8"))
            running.append(record)
    failed = sum(o.status not in ("ok", "unmet") for o in outcomes.values())
    counts = {"done": len(outcomes) - failed, "failed": failed, "running": len(running),
              "waiting": len(specs) - len(outcomes) - len(running)}
    lines = [word("batch_progress", language).format(elapsed=elapsed, **counts)]
    for record in running:
        lines.append("  " + word("batch_running", language).format(
            name=record.get("name", "?"), doing=_doing(str(record.get("doing", "")), language),
            since=max(0.0, now - float(record.get("since", now))), elapsed=max(0.0, now - float(record.get("started", now)))))
    state = (tuple(counts.values()), tuple((r.get("name"), r.get("doing")) for r in running))
    return lines, state


def _report_language(params_file: str) -> str:
    with contextlib.suppress(OSError, yaml.YAMLError, AttributeError):
        language = (yaml.safe_load(Path(params_file).read_text(encoding="utf-8")) or {}).get("report", {}).get("language")
        if language in LANGUAGES:
            return language
    return "en"


def _executor(workers: int, scheduler: str | None):
    if scheduler:
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - depends on the install
            raise ParamsError("--scheduler needs the 'distributed' extra: pip install 'salesmodel[distributed]'") from None
        client = Client(scheduler) if isinstance(scheduler, str) else scheduler
        return client.get_executor(), client
    return worker_pool(max(1, workers)), None


def run_batch(
    params_files: Sequence[str | Path],
    out_dir: str | Path = "outputs",
    *,
    workers: int = 2,
    scheduler: Any = None,
    progress: bool = True,
    reference: str = "",
) -> BatchResult:
    """Run every scenario; the batch finishes even when some fail.

    ``scheduler`` is a Dask scheduler address (``tcp://host:8786``) or a
    ``distributed.Client``; without it a local pool of ``workers`` processes runs
    the scenarios. Returns the outcomes; the batch folder holds the manifest and
    the comparison of the scenarios that ran against ``reference`` (a scenario's
    name; default the first): ``comparison``, ``comparison_region``,
    ``comparison_month`` and the comparison page.

    >>> res = run_batch(["params/grid.yaml"], "outputs", workers=2)  # doctest: +SKIP
    >>> [o.status for o in res.outcomes]  # doctest: +SKIP
    ['ok', 'ok', ...]
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir).resolve()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    names_hash = hashlib.sha256("|".join(map(str, params_files)).encode()).hexdigest()[:8]
    batch_dir = out_dir / "batches" / f"{stamp}-{names_hash}"
    made = [d for d in (out_dir, out_dir / "batches") if not d.exists()]  # folders a refused batch must not leave
    try:
        specs = expand(params_files, batch_dir / "scenarios")
        reference = reference_name([s.name for s in specs], reference)
    except Exception:
        # a batch refused before it ran (bad YAML or params, an unknown reference) leaves nothing behind
        shutil.rmtree(batch_dir, ignore_errors=True)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if still empty
        raise
    started_at = datetime.now(UTC).isoformat()
    t0 = time.perf_counter()
    outcomes: dict[str, ScenarioOutcome] = {}
    executor, client = _executor(workers, scheduler)
    progress_dir = batch_dir / PROGRESS
    progress_dir.mkdir(parents=True, exist_ok=True)
    language = _report_language(specs[0].params_file)
    # a bar on a terminal; plain lines otherwise (a log, CI), printed when the state changes
    lines = progress and not sys.stderr.isatty()
    bar = tqdm(total=len(specs), desc="scenarios", unit="scenario", disable=not progress or lines)
    shown: tuple | None = None
    shown_at = 0.0

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - t0:6.1f} s] {text}", file=sys.stderr, flush=True)

    try:
        futures = {executor.submit(run_one, spec, str(out_dir), None, str(progress_dir)): spec for spec in specs}
        pending = set(futures)
        while pending:
            done, pending = cf.wait(pending, timeout=1.0, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                spec = futures[fut]
                try:
                    outcomes[spec.name] = fut.result()
                except BaseException as exc:  # noqa: BLE001 - a dead worker is a failed scenario
                    outcomes[spec.name] = ScenarioOutcome(
                        spec.name, spec.params_file, spec.params_hash, "failed",
                        error=f"worker failed: {type(exc).__name__}: {exc}", error_kind="worker",
                    )
                bar.update(1)
                if lines:
                    outcome = outcomes[spec.name]
                    say(word("batch_finished", language).format(name=spec.name, status=outcome.status,
                                                                 seconds=outcome.seconds))
            elapsed = time.perf_counter() - t0
            report, state = progress_lines(specs, outcomes, progress_dir, elapsed, language=language)
            if lines and (state != shown or elapsed - shown_at >= HEARTBEAT_S):
                say("\n".join(report))
                shown, shown_at = state, elapsed
            bar.set_postfix_str("; ".join(line.strip() for line in report), refresh=False)
    finally:
        bar.close()
        shutil.rmtree(progress_dir, ignore_errors=True)
        executor.shutdown(wait=True)
        if client is not None and isinstance(scheduler, str):
            client.close()
        ordered = [outcomes[s.name] for s in specs if s.name in outcomes]
        manifest = {
            "batch_id": batch_dir.name,
            "started_at": started_at,
            "finished_at": datetime.now(UTC).isoformat(),
            "seconds": round(time.perf_counter() - t0, 3),
            "workers": workers,
            "scheduler": scheduler if isinstance(scheduler, str) else (None if scheduler is None else "client"),
            "params_files": [str(p) for p in params_files],
            "reference": reference,
            "scenarios": [asdict(o) for o in ordered],
        }
        batch_dir.mkdir(parents=True, exist_ok=True)
        (batch_dir / run_folder.BATCH_MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    result = BatchResult(batch_dir=batch_dir, outcomes=ordered)
    finished = [o for o in result.outcomes if o.status in ("ok", "unmet") and o.run_dir]
    if finished:
        # the reference named, else (when it did not finish) the first scenario that did
        names = [o.name for o in finished]
        result.reference = reference if reference in names else names[0]
        ok_runs = [Path(o.run_dir) for o in finished]
        write_table(compare_runs(ok_runs, result.reference), batch_dir, "comparison")
        for by in ("region", "month"):
            write_table(compare_targets(ok_runs, by, result.reference), batch_dir, f"comparison_{by}")
        result.comparison_html = _render_comparison(batch_dir, specs[0].params_file, result.reference)
    return result


COMPARISON_NOTEBOOK = "06_scenario_comparison.ipynb"


def _render_comparison(batch_dir: Path, first_params: str, reference: str = "") -> Path:
    """Execute the comparison notebook into the batch folder and render its HTML."""
    import papermill as pm

    report_params = (yaml.safe_load(Path(first_params).read_text(encoding="utf-8")) or {}).get("report", {})
    language = report_params.get("language", "en")
    (nb,) = resolve_notebooks([COMPARISON_NOTEBOOK])
    out = batch_dir / COMPARISON_NOTEBOOK
    with kernel_environment():
        pm.execute_notebook(
            str(nb), str(out), kernel_name="python3", progress_bar=False, cwd=str(batch_dir),
            extra_arguments=KERNEL_ARGS,  # as in a run: no kernel start-up chatter (the TCP warning)
            parameters={
                "batch_dir": str(batch_dir),
                "language": language,
                "money_unit": resolve_money_unit(report_params.get("money_unit", "auto"), language),
                "reference": reference,
            },
        )
    return export_html(out, batch_dir / "html" / f"{Path(COMPARISON_NOTEBOOK).stem}.html", language=language)

