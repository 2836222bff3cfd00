"""The territory explorer: territory.design on provinces or customers with changed settings."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from salesmodel.domain import territory
from salesmodel.errors import ParamsError
from salesmodel.pipeline import territory as step
from salesmodel.schema.params import slider_range
from salesmodel.widgets._base import _attach, _bad, _context, _Explorer, _require, _slider_style
from salesmodel.widgets.territory_drawing import TerritoryDrawing

# ---------------------------------------------------------------------------
# Territories
# ---------------------------------------------------------------------------


class TerritoryExplorer(TerritoryDrawing, _Explorer):
    """Explore territory designs with :func:`salesmodel.domain.territory.design` (heuristic, short time limit).

    Parameters
    ----------
    units : DataFrame
        One row per basic unit: ``unit_id``, ``lat``/``lon`` (or ``x``/``y``) and the
        measures to balance (e.g. provinces with their customers' potential and workload).
    adjacency : territory.Graph, optional
        The contiguity graph; default: built once from the coordinates
        (:func:`salesmodel.domain.territory.adjacency`), so updates do not rebuild it.
    current : Series, dict or DataFrame, optional
        Today's territory of each unit; enables the disruption limit and keeps
        territory names stable.
    k : int, optional
        Start number of territories (default: the current number, else 5).
    balance_on : dict, default={"potential": 0.05, "workload": 0.10}
        Measure -> start tolerance (one slider per measure).
    max_disruption : float, optional
        Start value of the disruption limit (share of the first measure that may move);
        None starts with the limit switched off.
    contiguous : bool, default=True
    time_limit : float, default=0.15
        Seconds for the local search (the heuristic may use its own minimum).
    seed : int, default=0
    language, money_unit
        Display language and money unit.

    Attributes
    ----------
    k, tolerances, limit_disruption, disruption : ipywidgets controls
        (``tolerances`` maps measure -> slider; ``tolerance`` is the first one).
    result : TerritoryPlan
        The last plan (``assignment``, ``metrics``, ``status``, ``disruption`` ...).
    """

    _title_key = "territory_explorer"
    _slow = True

    def __init__(
        self,
        units: pd.DataFrame,
        *,
        adjacency: Any = None,
        current: Any = None,
        k: int | None = None,
        balance_on: Mapping[str, float] | None = None,
        max_disruption: float | None = None,
        contiguous: bool = True,
        time_limit: float = 0.15,
        seed: int = 0,
        max_sweeps: int = 3,
        anneal_steps: int | None = None,
        language: str = "en",
        money_unit: str = "wan",
        run_assignment: pd.Series | None = None,
        reps: Mapping[str, Any] | None = None,
    ) -> None:
        func = "TerritoryExplorer"
        # Territories around reps (method 'reps'): {"table", "bases", "arguments"} of
        # salesmodel.domain.territory.rep_design; the sliders change its tolerances and disruption limit.
        self.reps = reps
        # The run's proposal (unit -> territory): shown, scored, while the settings are the run's,
        # since the territory step is deterministic and would return exactly this again.
        self.run_assignment = run_assignment
        balance = dict(balance_on) if balance_on is not None else {"potential": 0.05, "workload": 0.10}
        if not balance:
            raise _bad("balance_on", func, "at least one measure to balance, e.g. {'potential': 0.05}", balance_on)
        _require(units, ["unit_id", *balance], "units", func)
        n = len(units)
        self.xy = ("lon", "lat") if {"lat", "lon"} <= set(units.columns) else ("x", "y")
        if adjacency is None:
            adjacency = territory.adjacency(units[["unit_id", *self.xy]])
        self.current_names: list[Any] = []
        if current is not None:
            cur = current.set_index("unit_id")["territory"] if isinstance(current, pd.DataFrame) else pd.Series(current)
            self.current_names = sorted(pd.unique(cur.dropna()).tolist(), key=str)
        if k is None:
            k = len(self.current_names) or min(5, n)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
            raise _bad("k", func, f"a whole number of territories between 1 and the number of units ({n})", k)
        if max_disruption is not None and current is None:
            raise _bad("max_disruption", func, "None unless 'current' (today's assignment) is given", max_disruption)
        super().__init__(language=language, money_unit=money_unit, figsize=(9.5, 3.6))
        self.units = units
        self.adjacency = adjacency
        self.current = current
        self.contiguous = contiguous
        self.time_limit = time_limit
        self.seed = seed
        # Counts, not the clock, bound each update's search (so an update replays): a few sweeps
        # and a short annealing from the plan shown, enough to follow a slider within the goal.
        self.max_sweeps = int(max_sweeps)
        self.anneal_steps = int(anneal_steps if anneal_steps is not None else max(200, 4 * n))
        self._artists: dict[str, Any] = {}

        st = _slider_style()
        self.k = widgets.IntSlider(value=int(k), min=1, max=int(min(n, max(40, k))), description=self.w("territories"), **st)
        self.tolerances = {
            m: widgets.FloatSlider(value=float(t), min=slider_range("territory.balance_on")[0], max=slider_range("territory.balance_on")[1],
                                   step=0.01, readout_format=".0%",
                                   description=f"{self.w('tolerance')}: {self.w(m)}", **st)
            for m, t in balance.items()
        }
        self.limit_disruption = widgets.Checkbox(value=max_disruption is not None, description=self.w("limit_disruption"),
                                                 indent=False, disabled=current is None)
        self.disruption = widgets.FloatSlider(value=0.10 if max_disruption is None else float(max_disruption), min=0.0, max=1.0,
                                              step=0.01, readout_format=".0%", description=self.w("disruption"),
                                              disabled=current is None, **st)
        if reps is not None:
            self.k.disabled = True  # one territory per rep
        self._watch(self.k, *self.tolerances.values(), self.limit_disruption, self.disruption)
        controls = [widgets.HBox([widgets.VBox([self.k, *self.tolerances.values()]),
                                  widgets.VBox([self.disruption, self.limit_disruption])])]
        self.widget = self._compose(controls)
        self._start_settings = self._settings()
        self.update()

    def _settings(self) -> tuple:
        return (int(self.k.value), tuple((m, float(s.value)) for m, s in self.tolerances.items()),
                bool(self.limit_disruption.value), float(self.disruption.value))

    level = "units"

    def headline(self) -> float:
        return float(max(self.result.metrics[f"{m}_dev"].abs().max() for m in self.tolerances))

    def _format_headline(self, value: float) -> str:
        return f"{value:.1%}"

    def settings(self) -> dict[str, Any]:
        if self.level != "customer":
            raise ParamsError("Only the customer-level territory explorer explores the territory params; "
                              "the province level groups provinces into regions, which no params key holds.")
        limit = float(self.disruption.value) if self.limit_disruption.value else None
        return {"territory.k": int(self.k.value),
                "territory.balance_on": {m: round(float(s.value), 6) for m, s in self.tolerances.items()},
                "territory.max_disruption": limit}

    @property
    def tolerance(self) -> widgets.FloatSlider:
        """The tolerance slider of the first balanced measure."""
        return next(iter(self.tolerances.values()))

    def _compute(self) -> tuple[Any, list[str]]:
        k = int(self.k.value)
        notes: list[str] = []
        limit = float(self.disruption.value) if (self.current is not None and self.limit_disruption.value) else None
        if limit is not None and k != len(self.current_names):
            notes.append(
                f"The disruption limit is not applied: it needs the current number of territories "
                f"({len(self.current_names)}), and {k} are asked."
            )
            limit = None
        balance = {m: float(s.value) for m, s in self.tolerances.items()}
        if self.run_assignment is not None and self._settings() == self._start_settings:
            assignment = pd.DataFrame({"unit_id": self.units["unit_id"].to_numpy(),
                                       "territory": self.run_assignment.reindex(self.units["unit_id"]).to_numpy()})
            plan = territory.evaluate(self.units, assignment, adjacency=self.adjacency, balance_on=balance,
                                      contiguous=self.contiguous, territories=self._every())
            return plan, notes
        if self.reps is not None:
            limit = float(self.disruption.value) if self.limit_disruption.value else None
            found = territory.rep_design_in_parts(self.reps["table"], self.reps["bases"], balance_on=balance,
                                                  max_disruption=limit, **self.reps["arguments"])
            assignment = pd.DataFrame({"unit_id": self.reps["table"]["unit_id"].to_numpy(), "territory": found.assignment})
            plan = territory.evaluate(self.units, assignment, adjacency=self.adjacency, balance_on=balance,
                                      contiguous=False, current=self.current, territories=self._every())
            return plan, notes
        plan = territory.design(
            self.units, k, adjacency=self.adjacency, balance_on={m: float(s.value) for m, s in self.tolerances.items()},
            current=self.current, max_disruption=limit, contiguous=self.contiguous, method="heuristic",
            time_limit=self.time_limit, seed=self.seed, start=self._warm_start(k, limit),
            max_sweeps=self.max_sweeps, anneal_steps=self.anneal_steps,
        )
        return plan, notes

    def _every(self) -> list | None:
        """Every territory holder (territories around reps): a planned hire given no account still counts."""
        return None if self.reps is None else self.reps["bases"]["rep_id"].tolist()

    def _warm_start(self, k: int, limit: float | None) -> pd.DataFrame | None:  # noqa: ARG002 - limit: see below
        """The plan shown, as the start of the next search, when it has the same k. A start that
        moves more than a new disruption limit allows has its extra moves sent back by the search."""
        prev = getattr(self, "result", None)
        if prev is None or prev.k != k:
            return None
        return prev.assignment[["unit_id", "territory"]]

    @classmethod
    def from_workspace(cls, ws: Any, *, level: str | None = None, **overrides: Any) -> TerritoryExplorer:
        """An explorer on the run's geography, started from the territory params.

        ``level="province"`` (default, the reduced problem that updates quickly):
        the 31 provinces with their customers' potential and workload (visit
        hours from :func:`salesmodel.domain.staffing.workload`), the given province
        adjacency, and today's regions as the current territories (k = number of
        regions): how the country is divided into sales regions.
        ``level="customer"``: every active customer, today's active reps as the
        current territories (k = the params' ``territory.k``, else the number of
        today's territories); slower (thousands of units). With ``territory.method: reps``
        (the default) the explorer opens at customer level on the run's own territories and
        its sliders re-run the rep-centred design (one territory per rep).
        """
        if level is None:
            level = "customer" if ws.params.territory.method == "reps" else "province"
        kwargs = dict(_territory_inputs(ws, level))
        kwargs.update(overrides)
        units = kwargs.pop("units")
        explorer = cls(units, **kwargs)
        explorer.level = level
        return _attach(explorer, ws)


def _territory_inputs(ws: Any, level: str) -> dict[str, Any]:
    """The arguments of a TerritoryExplorer for a run, at province or customer level.

    Customers come from :func:`salesmodel.domain.territory.customer_units` (active customers
    with potential, workload and today's rep), as in the territories notebook.
    """
    if level not in ("province", "customer"):
        raise _bad("level", "TerritoryExplorer.from_workspace", "'province' or 'customer'", level)

    tp = ws.params.territory
    inputs = ws.inputs()
    customers = step.units(_context(ws, "territory"))
    measures = {m: t for m, t in tp.balance_on.items() if m in ("potential", "workload")} or {"potential": 0.05}
    limit = tp.max_disruption
    if limit == "auto":  # the limit the run's frontier picked
        limit = step.chosen_disruption(ws.step("territory").tables)
    common = {"balance_on": measures, "max_disruption": limit, "contiguous": tp.contiguous,
              "seed": ws.params.seed, "language": ws.language, "money_unit": ws.params.report.money_unit}
    if level == "province":
        provinces = inputs["provinces"]
        sums = customers.groupby("province_id")[["potential", "workload"]].sum()
        units = provinces[["province_id", "lat", "lon"]].rename(columns={"province_id": "unit_id"})
        units = units.join(sums, on="unit_id").fillna({"potential": 0.0, "workload": 0.0})
        edges = inputs["adjacency"][["province_a", "province_b"]]
        graph = territory.adjacency(units[["unit_id", "lat", "lon"]], method="given", edges=edges)
        current = provinces.set_index("province_id")["region_id"]
        return {"units": units, "adjacency": graph, "current": current, **common}
    ctx = _context(ws, "territory")
    args = step.design_arguments(ctx, customers)
    units = customers[["unit_id", "lat", "lon", "potential", "workload"]]
    # the territory step's proposal (read from the run, or computed once in an interactive workspace)
    run = ws.step("territory").tables["territory_assignment"].set_index("customer_id")["territory"]
    reps = None
    k = args["k"]
    if tp.method == "reps":
        bases = step.design_bases(ctx)  # today's reps, and the planned hires with territory.organisation 'planned'
        k = len(bases)
        arguments = step.rep_arguments(ctx, customers, bases)
        arguments.pop("balance_on")
        arguments.update(step.contiguity_arguments(ctx, step.drivable_graph(ctx, customers, arguments["road_factor"])))
        reps = {"table": customers, "bases": bases, "arguments": arguments}
        common["contiguous"] = False
    return {"units": units, "adjacency": args["adjacency"], "current": args["current"], "k": k,
            "run_assignment": run, "reps": reps, **common}
