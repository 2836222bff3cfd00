"""The territory explorer: territory.design on provinces or customers with changed settings."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from salesmodel.errors import ParamsError
from salesmodel.schema.params import slider_range
from salesmodel.widgets._base import _attach, _bad, _context, _esc, _Explorer, _html_table, _require, _slider_style

# ---------------------------------------------------------------------------
# Territories
# ---------------------------------------------------------------------------
_MONEY_MEASURES = ("potential", "last_year", "sales", "target")


class TerritoryExplorer(_Explorer):
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
        from salesmodel.domain import territory

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
        from salesmodel.domain import territory

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

    def _render(self) -> None:
        plan = self.result
        metrics = plan.metrics
        measures = list(plan.balance_on)
        devs = plan.max_deviation()
        parts = [f"<b>{_esc(self.w('feasible' if plan.feasible else 'not_feasible'))}</b>",
                 f"{_esc(self.w('territories'))}: {plan.k}"]
        parts += [f"{_esc(self.w(m))} ±{devs[m]:.1%} ({_esc(self.w('tolerance'))} {plan.balance_on[m]:.0%})" for m in measures]
        if plan.disruption is not None:
            first = measures[0]
            parts.append(f"{_esc(self.w('moved'))}: {plan.disruption['units']:.0%} {_esc(self.w('units'))}, "
                         f"{plan.disruption[first]:.0%} {_esc(self.w(first))}")
        if self.reps is not None:
            parts.append(self._travel_line(plan))
        parts.append(f"{plan.method}, {plan.runtime:.2f} s")
        self.summary.value = " · ".join(parts)
        formats: dict[str, Any] = {"units": lambda v: f"{int(v)}", "compactness": ",.0f", "contiguous": lambda v: "✓" if v else "✗"}
        for m in measures:
            formats[m] = self._money_cell if m in _MONEY_MEASURES else ",.1f"
            formats[f"{m}_dev"] = lambda v: f"{v:+.1%}"
        cols = ["territory", "centre", "units", *[c for m in measures for c in (m, f"{m}_dev")], "compactness", "contiguous"]
        headers = {"territory": self.w("territories"), "centre": self.w("centre"), "units": self.w("units"),
                   "compactness": self.w("distance"), "contiguous": self.w("contiguous")}
        headers.update({m: self.w(m) for m in measures})
        headers.update({f"{m}_dev": f"± {self.w(m)}" for m in measures})
        self.table.value = _html_table(metrics[[c for c in cols if c in metrics.columns]], formats, headers)
        self._draw_chart(plan)

    def _travel_line(self, plan: Any) -> str:
        """Travel from each rep's base, this plan against today (territories around reps)."""
        from salesmodel.domain import territory

        table, bases = self.reps["table"], self.reps["bases"]
        if not hasattr(self, "_km_all"):
            self._km_all = territory.base_distances(table, bases, self.reps["arguments"].get("road_factor", 1.3))
            self._rix = {r: i for i, r in enumerate(bases["rep_id"])}
        rows = np.arange(len(table))

        def km(labels: Any) -> dict[str, float]:
            cols = np.array([self._rix.get(str(r), -1) for r in labels])
            keep = cols >= 0
            return territory.travel_overall(self._km_all[rows[keep], cols[keep]])
        labels = plan.assignment.set_index("unit_id")["territory"].reindex(table["unit_id"]).to_numpy()
        new, old = km(labels), km(table["current"].to_numpy())
        return " · ".join(f"{_esc(self.w(f'code_{k}'))}: {new[k]:,.0f} ({_esc(self.w('today'))} {old[k]:,.0f})"
                          for k in ("median_km", "p95_km"))

    def _draw_chart(self, plan: Any) -> None:
        from matplotlib import colormaps

        a = self._artists
        metrics = plan.metrics
        names = metrics["territory"].tolist()
        code = {t: i for i, t in enumerate(names)}
        codes = plan.assignment["territory"].map(code).to_numpy()
        # tab10 while it has a colour per territory; tab20 with its pale shades last beyond that
        colors = colormaps["tab10"](codes % 10) if len(names) <= 10 else colormaps["tab20"]((2 * codes + (codes % 20 >= 10)) % 20)
        pos = pd.Series(np.arange(len(self.units)), index=self.units["unit_id"].to_numpy())
        xs = self.units[self.xy[0]].to_numpy(dtype=float)
        ys = self.units[self.xy[1]].to_numpy(dtype=float)
        centre_idx = pos.reindex(metrics["centre"].to_numpy()).dropna().to_numpy(dtype=np.int64)  # an empty territory has none
        measures = list(plan.balance_on)
        k = len(names)
        full = False
        if not a:
            fig = self._figure
            ax = fig.add_axes((0.03, 0.05, 0.42, 0.85))
            first = self.units[measures[0]].to_numpy(dtype=float)
            size = 12.0 if len(xs) > 200 else 15.0 + 150.0 * first / max(float(first.max()), 1e-12)
            a["points"] = ax.scatter(xs, ys, s=size, c=colors, linewidths=0)
            a["centres"] = ax.scatter(xs[centre_idx], ys[centre_idx], s=30, marker="x", c="black", linewidths=1.2)
            if len(xs) <= 40:  # few units (provinces): name them
                for uid, x0, y0 in zip(self.units["unit_id"], xs, ys):
                    ax.annotate(str(uid), (x0, y0), fontsize=6, color="0.4", ha="center", va="bottom",
                                xytext=(0, 3), textcoords="offset points")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal", adjustable="datalim")
            ax.grid(False)
            ax.set_title(self.w("map"), fontsize=10)
            bx = fig.add_axes((0.55, 0.2, 0.43, 0.68))
            bx.axhline(0, color="#888888", lw=0.8)
            bx.set_title(self.w("deviation"), fontsize=10)
            bx.yaxis.set_major_formatter(lambda v, _p: f"{v:+.0%}")
            a["ax"], a["bx"] = ax, bx
            a["k"] = None
            full = True
        else:
            a["points"].set_facecolors(colors)
            a["centres"].set_offsets(np.column_stack([xs[centre_idx], ys[centre_idx]]))
        bx = a["bx"]
        for artist in a.get("balance", []):
            artist.remove()
        width = 0.8 / len(measures)
        palette = ["#2f6db5", "#d98c1f", "#5a9e4b", "#8e5ba8"]
        dynamic: list[Any] = []
        x = np.arange(k)
        for j, m in enumerate(measures):
            bars = bx.bar(x - 0.4 + width * (j + 0.5), metrics[f"{m}_dev"].to_numpy(), width=width,
                          color=palette[j % len(palette)], label=self.w(m))
            dynamic += list(bars)
            tol = plan.balance_on[m]
            dynamic += [bx.axhline(tol, color=palette[j % len(palette)], ls="--", lw=0.8),
                        bx.axhline(-tol, color=palette[j % len(palette)], ls="--", lw=0.8)]
        if a["k"] != k:
            bx.set_xlim(-0.6, k - 0.4)
            step = max(1, k // 12)
            bx.set_xticks(x[::step], [str(t) for t in names[::step]], rotation=45 if k > 8 else 0, fontsize=8)
            a["k"] = k
            full = True
        top = max(0.05, *(max(float(metrics[f"{m}_dev"].abs().max()), plan.balance_on[m]) for m in measures))
        _, ylim = bx.get_ylim()
        if full or top > ylim or top < 0.4 * ylim:
            bx.set_ylim(-top * 1.3, top * 1.3)
            full = True
        legend = bx.legend(handles=[b for b in bx.containers[-len(measures):]], labels=[self.w(m) for m in measures],
                           loc="upper right", fontsize=8, ncol=len(measures))
        dynamic.append(legend)
        a["balance"] = [d for d in dynamic if d is not legend]
        self._show([a["points"], a["centres"], *dynamic], full)

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
    from salesmodel.domain import territory

    if level not in ("province", "customer"):
        raise _bad("level", "TerritoryExplorer.from_workspace", "'province' or 'customer'", level)
    from salesmodel.pipeline import territory as step

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
