"""The plan as a pipeline of declared steps: the only place params become arguments.

``overview → forecast → targets → staffing → tracking → territory → summary``

(tracking reads the targets step's phased plan when it tracks the plan year; it runs before the
territory search, the longest step, so its page can be drawn while territories are designed.)

Each step module has ``run(ctx) -> StepResult``, ``NEEDS`` (the steps whose
tables it reads) and ``PARAMS`` (the params sections it reads; :func:`params_sections`). :func:`run_plan`
runs the whole plan, up to a step, or from a step with changed params reusing
the tables before it, in one process. The runner, the tests, the explorers and
a plain Python user call it; each notebook shows one step's tables.

>>> from salesmodel.schema.params import load_params            # doctest: +SKIP
>>> plan = run_plan(load_params("params/default.yaml"))  # doctest: +SKIP
>>> plan.tables["targets_region"]["target"].sum()        # doctest: +SKIP
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType

import pandas as pd

from salesmodel import io
from salesmodel.errors import ClusterLostError, ParamsError, RunError, SalesmodelError
from salesmodel.pipeline import cluster
from salesmodel.pipeline._base import Context, StepResult
from salesmodel.pipeline.targets import rephased
from salesmodel.schema.params import Scenario

__all__ = ["STEPS", "Context", "PlanResult", "StepResult", "params_sections", "run_edited", "run_plan", "run_step", "step_module",
           "steps_between"]

STEPS: tuple[str, ...] = ("overview", "forecast", "targets", "staffing", "tracking", "territory", "summary")


def step_module(name: str) -> ModuleType:
    """The module of step ``name``."""
    if name not in STEPS:
        raise ParamsError(f"There is no pipeline step {name!r}; the steps are {', '.join(STEPS)}.")
    return importlib.import_module(f"salesmodel.pipeline.{name}")


def params_sections(name: str, params: Scenario) -> tuple[str, ...]:
    """The params sections the tables of step ``name`` depend on: its ``PARAMS``, or what its
    ``params_sections(params)`` says when that depends on the settings (e.g. the targets step's
    budget reads the staffing section only when a category is the staffing pay plan)."""
    module = step_module(name)
    return tuple(module.params_sections(params)) if hasattr(module, "params_sections") else tuple(module.PARAMS)


def upstream(name: str) -> list[str]:
    """Every step ``name`` needs, directly or through others, in run order."""
    seen: set[str] = set()

    def visit(step: str) -> None:
        for need in step_module(step).NEEDS:
            if need not in seen:
                seen.add(need)
                visit(need)

    visit(name)
    return [s for s in STEPS if s in seen]


def steps_between(start: str | None = None, upto: str | None = None) -> list[str]:
    """The steps from ``start`` to ``upto`` inclusive, in run order."""
    lo = STEPS.index(start) if start else 0
    hi = STEPS.index(upto) if upto else len(STEPS) - 1
    for given in (start, upto):
        if given is not None:
            step_module(given)
    return list(STEPS[lo:hi + 1])


def run_step(name: str, params: Scenario, inputs: Mapping[str, pd.DataFrame],
             tables: Mapping[str, pd.DataFrame] | None = None) -> StepResult:
    """Run one step on the inputs and the tables of the steps before it."""
    return step_module(name).run(Context(params=params, inputs=inputs, tables=dict(tables or {})))


@dataclass
class PlanResult:
    """The tables of a plan, the steps that made them, and each step's facts and notes."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    steps: dict[str, StepResult] = field(default_factory=dict)

    def facts(self) -> pd.DataFrame:
        """The ``run_facts`` table: every step's facts and notes."""
        frames = [r.facts_frame() for r in self.steps.values()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["step", "fact", "value"])


def run_plan(params: Scenario, inputs: Mapping[str, pd.DataFrame] | None = None, *,
             start: str | None = None, upto: str | None = None,
             tables: Mapping[str, pd.DataFrame] | None = None, progress: bool = False,
             after_step: Callable[[str, PlanResult], None] | None = None) -> PlanResult:
    """Run the plan's steps in one process and return their tables.

    Parameters
    ----------
    params : Scenario
        The scenario (``salesmodel.schema.params.load_params``).
    inputs : mapping, optional
        Validated input tables by kind; default: read from ``params.data``.
    start, upto : str, optional
        Run only the steps from ``start`` to ``upto``; the tables of steps before
        ``start`` come from ``tables`` (e.g. an earlier run's, with changed params after).
    tables : mapping, optional
        Tables already made (reused as the earlier steps' output).
    progress : bool
        Show a progress bar (tqdm) by step.
    after_step : callable, optional
        Called with the step's name and the plan so far after each step (the runner
        writes the step's tables then, so its notebook can start).
    """
    if inputs is None:
        inputs = io.read_inputs(params.data)
    names = steps_between(start, upto)
    result = PlanResult(tables=dict(tables or {}))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(names, desc="plan", unit="step", leave=False)
    for name in names:
        if bar is not None:
            bar.set_postfix_str(name)
        try:
            step = run_step(name, params, inputs, result.tables)
        except SalesmodelError:
            raise
        except Exception as exc:  # a bug, not bad input: say which step, keep the cause for --debug
            if cluster.current().client is not None and cluster.cluster_lost(exc):
                raise ClusterLostError(f"The Dask cluster lost a worker or its connection in pipeline step '{name}': "
                                       f"{type(exc).__name__}: {exc}", step=name, ename=type(exc).__name__,
                                       evalue=str(exc)) from exc
            raise RunError(f"pipeline step '{name}' failed: {type(exc).__name__}: {exc}") from exc
        result.steps[name] = step
        result.tables.update(step.tables)
        if after_step is not None:
            after_step(name, result)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    result.tables["run_facts"] = result.facts()
    return result


def run_edited(params: Scenario, inputs: Mapping[str, pd.DataFrame], tables: Mapping[str, pd.DataFrame],
               plan_rep_month: pd.DataFrame) -> PlanResult:
    """A run's plan after a planner re-phased the rep × month plan (``salesmodel import-edits``).

    ``tables`` are the run's tables. The targets step re-phases its finer plans to the edited
    months (:func:`salesmodel.pipeline.targets.rephased`); every later step that depends on the
    targets (staffing, tracking, territory, summary) runs again on them, exactly as in a run; the steps
    that do not (overview, forecast) keep their tables. ``run_facts`` keeps the facts of the
    steps kept and holds the new facts of the steps run again.
    """
    result = PlanResult(tables=dict(tables))
    targets_ctx = Context(params=params, inputs=inputs, tables=dict(tables))
    edited = StepResult("targets", tables=rephased(targets_ctx, plan_rep_month))
    edited.facts["edited_months"] = int(
        (plan_rep_month.set_index(["rep_id", "period"])["target"]
         != tables["plan_rep_month"].set_index(["rep_id", "period"])["target"]).sum())
    result.tables.update(edited.tables)
    result.steps["targets"] = edited
    for name in STEPS[STEPS.index("targets") + 1:]:
        if "targets" not in upstream(name):
            continue
        try:
            step = run_step(name, params, inputs, result.tables)
        except SalesmodelError:
            raise
        except Exception as exc:  # a bug, not bad input: say which step
            raise RunError(f"pipeline step '{name}' failed on the edited plan: {type(exc).__name__}: {exc}") from exc
        result.steps[name] = step
        result.tables.update(step.tables)
    facts = tables.get("run_facts")
    rerun = [s for s in result.steps if s != "targets"]
    kept = facts[~facts["step"].isin(rerun)] if facts is not None else None
    frames = [f for f in (kept, edited.facts_frame(), *(result.steps[s].facts_frame() for s in rerun))
              if f is not None and len(f)]
    result.tables["run_facts"] = pd.concat(frames, ignore_index=True) if frames else result.facts()
    return result
