"""The targets explorer: the run's own cascade (targets.plan.allocate) with changed settings."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import pandas as pd

from salesmodel.domain import targets
from salesmodel.domain.targets.plan import allocate, baseline_total
from salesmodel.errors import ParamsError, short_list
from salesmodel.pipeline import targets as step
from salesmodel.schema.params import slider_range
from salesmodel.widgets._base import _attach, _bad, _context, _esc, _Explorer, _region_names, _require, _slider_style
from salesmodel.widgets.targets_drawing import TargetDrawing

# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------
_ROUNDING_NOTE = "is not a multiple of round_to"


class TargetExplorer(TargetDrawing, _Explorer):
    """Explore a company total shared among units by :func:`salesmodel.domain.targets.decompose`.

    Parameters
    ----------
    units : DataFrame
        One row per unit (usually a customer): key column(s), ``reference``
        (last year's sales), the basis columns and ``group_col``
        (e.g. :func:`salesmodel.domain.targets.plan_units`).
    total : float, optional
        The task (the company total before stretch). When given, the explorer has
        a ``total`` box instead of a ``growth`` slider.
    reference : str, default="last_year"
        Column the growth bounds are measured against.
    basis_columns : sequence of str, default=("last_year", "potential")
        Columns that can be blended into the shares, one weight slider each. The
        weights are re-normalised to sum to 1 (the blend used is shown).
    group_col : str, default="region_id"
        Column the table and chart sum by.
    round_to : float, default=100
        Rounding step of the targets; they add up exactly.
    keys : str or list of str, optional
        Columns naming a unit (default: the index).
    growth : float, default=0.12
        Start value of the growth slider (growth over ``growth_over``).
    growth_over : {"last_year", "baseline"}, default="last_year"
        What the growth applies to (see :func:`salesmodel.domain.targets.company_total`);
        "baseline" needs ``baseline``.
    baseline : float, optional
        The baseline forecast's total for the plan year.
    stretch : float, default=1.0
        Start value of the stretch slider (targets add up to task x stretch).
    weights : mapping, optional
        Start weights per basis column (default: equal).
    growth_bounds : (float, float) or None, default=(-0.10, 0.40)
        Start value of the bounds slider; None starts with bounds switched off.
    potential_col : str or None, default="potential"
        Column shown beside last year in the table and chart (when present).
    group_labels : mapping, optional
        Group id -> display name (e.g. region names in the report language).
    top_n : int, default=10
        Units listed in the table of largest targets.
    language : {"en", "zh", "es"}, default="en"
    money_unit : {"yuan", "wan"}, default="wan"

    Attributes
    ----------
    growth, total, stretch, weights, bounds, use_bounds : ipywidgets controls
        (``growth`` is None when a total is given, ``total`` None otherwise;
        ``weights`` maps basis column -> slider).
    result : DataFrame
        The last result of ``decompose`` (``target``, ``growth``, ``bound_applied`` ...).
    by_group : DataFrame
        ``result`` summed by ``group_col``.
    task : float
        The last total asked (before stretch).

    Examples
    --------
    >>> ex = TargetExplorer(units, keys="customer_id", round_to=100)  # doctest: +SKIP
    >>> ex.growth.value = 0.20
    >>> float(ex.result["target"].sum()) == ex.result.attrs["total"]
    True
    """

    _title_key = "targets_explorer"

    def __init__(
        self,
        units: pd.DataFrame,
        *,
        total: float | None = None,
        reference: str = "last_year",
        basis_columns: Sequence[str] = ("last_year", "potential"),
        group_col: str = "region_id",
        round_to: float = 100,
        keys: str | Sequence[str] | None = None,
        growth: float = 0.12,
        growth_over: str = "last_year",
        baseline: float | None = None,
        stretch: float = 1.0,
        weights: Mapping[str, float] | None = None,
        growth_bounds: tuple[float, float] | None = (-0.10, 0.40),
        potential_col: str | None = "potential",
        group_labels: Mapping[Any, str] | None = None,
        top_n: int = 10,
        language: str = "en",
        money_unit: str = "wan",
        allocation: Mapping[str, Any] | None = None,
    ) -> None:
        func = "TargetExplorer"
        # allocation: the arguments of salesmodel.domain.targets.plan.allocate (the targets step's own);
        # the explorer then cascades down the levels exactly as the run does.
        self.allocation = dict(allocation) if allocation is not None else None
        self.by_level: dict[str, pd.DataFrame] = {}
        basis_columns = [basis_columns] if isinstance(basis_columns, str) else list(basis_columns)
        if not basis_columns:
            raise _bad("basis_columns", func, "at least one column to share by", basis_columns)
        key_list = [keys] if isinstance(keys, str) else list(keys or [])
        needed = [reference, group_col, *basis_columns, *key_list]
        if total is None:
            needed.append("last_year")
        _require(units, list(dict.fromkeys(needed)), "units", func)
        if growth_over not in ("last_year", "baseline"):
            raise _bad("growth_over", func, "'last_year' or 'baseline'", growth_over)
        if growth_over == "baseline" and baseline is None:
            raise _bad("baseline", func, "the baseline forecast's plan-year total when growth_over='baseline'", baseline)
        if weights is not None:
            unknown = [c for c in weights if c not in basis_columns]
            if unknown:
                raise _bad("weights", func, f"weights for the basis columns {short_list(basis_columns)}", dict(weights))
        if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
            raise _bad("top_n", func, "a whole number >= 1", top_n)
        super().__init__(language=language, money_unit=money_unit, figsize=(9.5, 3.2))
        self.units = units
        self.reference = reference
        self.basis_columns = basis_columns
        self.group_col = group_col
        self.round_to = round_to
        self.keys = key_list or None
        self.growth_over = growth_over
        self.baseline = baseline
        self.potential_col = potential_col if potential_col and potential_col in units.columns else None
        self.group_labels = dict(group_labels or {})
        self.top_n = top_n
        self.task: float | None = None
        self._bars: Any = None
        self.by_group: pd.DataFrame | None = None
        # what the growth slider applies to (None when a total is given)
        self.base: float | None = None
        if total is None:
            self.base = float(baseline) if growth_over == "baseline" else float(pd.to_numeric(units["last_year"]).sum())

        st = _slider_style()
        if total is None:
            lo, hi = min(-0.5, growth - 0.1), max(1.0, growth + 0.1)
            self.growth: widgets.FloatSlider | None = widgets.FloatSlider(
                value=growth, min=lo, max=hi, step=0.01, readout_format=".0%", description=self.w("growth"), **st)
            self.total: widgets.FloatText | None = None
            top = [self.growth]
        else:
            self.growth = None
            # A plain number box: a bounded one would clamp a typed value silently; _compute refuses instead.
            self.total = widgets.FloatText(value=float(total), step=round_to, description=self.w("task"), **st)
            top = [self.total]
        self.stretch = widgets.FloatSlider(value=stretch, min=slider_range("targets.stretch")[0], max=slider_range("targets.stretch")[1], step=0.01,
                                           readout_format=".2f", description=self.w("stretch"), **st)
        start_w = dict(weights) if weights is not None else {c: 1.0 / len(basis_columns) for c in basis_columns}
        self.weights = {
            c: widgets.FloatSlider(value=float(start_w.get(c, 0.0)), min=0.0, max=1.0, step=0.05, readout_format=".2f",
                                   description=self.w(c), **st)
            for c in basis_columns
        }
        self.blend_label = widgets.HTML()
        b = growth_bounds if growth_bounds is not None else (-0.10, 0.40)
        self.bounds = widgets.FloatRangeSlider(value=(float(b[0]), float(b[1])), min=min(-0.9, b[0]), max=max(2.0, b[1]),
                                               step=0.01, readout_format=".0%", description=self.w("growth_bounds"), **st)
        self.use_bounds = widgets.Checkbox(value=growth_bounds is not None, description=self.w("apply_bounds"), indent=False)
        self._watch(*top, self.stretch, *self.weights.values(), self.bounds, self.use_bounds)
        weights_box = widgets.VBox([widgets.HTML(f"<i>{_esc(self.w('basis_weights'))}</i>"), *self.weights.values(), self.blend_label])
        controls = [widgets.HBox([widgets.VBox([*top, self.stretch, self.bounds, self.use_bounds]), weights_box])]
        self.widget = self._compose(controls)
        self.update()

    # -- programmatic helpers ------------------------------------------------
    def blend(self) -> dict[str, float]:
        """The basis blend the sliders ask for, re-normalised to sum to 1 (zero weights left out)."""
        raw = {c: float(s.value) for c, s in self.weights.items()}
        if self.allocation is not None and isinstance(self.allocation.get("basis"), Mapping) and all(
                abs(raw.get(c, 0.0) - float(w)) < 1e-12 for c, w in self.allocation["basis"].items()):
            return dict(self.allocation["basis"])  # unchanged sliders: exactly the run's blend
        total = sum(raw.values())
        if total <= 0:
            raise ParamsError(
                "Every basis weight is zero, so there is nothing to share the total by. "
                "Give at least one basis a weight above zero."
            )
        return {c: v / total for c, v in raw.items() if v > 0}

    def _keep_warning(self, text: str) -> bool:
        # The summary shows the total actually shared, so decompose's rounding note is redundant here.
        return _ROUNDING_NOTE not in text

    def _compute(self) -> tuple[pd.DataFrame, list[str]]:
        blend = self.blend()
        self.blend_label.value = f"{_esc(self.w('blend'))}: " + ", ".join(
            f"{_esc(self.w(c))} {blend.get(c, 0.0):.0%}" for c in self.basis_columns)
        if self.total is not None:
            task = float(self.total.value)
            if not (math.isfinite(task) and task > 0):
                raise ParamsError(self.w("total_not_positive").format(name=self.total.description, value=self.money(task)))
        else:
            got = targets.company_total(self.units, growth=float(self.growth.value), growth_over=self.growth_over,
                                        baseline=self.baseline, round_to=self.round_to)
            task = got["total"]
        bounds = tuple(self.bounds.value) if self.use_bounds.value else None
        if self.allocation is not None:
            return self._allocate(blend, bounds), []
        result = targets.decompose(
            task, self.units, basis=blend, reference=self.reference, growth_bounds=bounds,
            round_to=self.round_to, stretch=float(self.stretch.value), keys=self.keys,
        )
        self.task = task
        return result, []

    def _allocate(self, blend: dict[str, float], bounds: tuple[float, float] | None) -> pd.DataFrame:
        """The run's own cascade (salesmodel.domain.targets.plan.allocate) with the explorer's settings."""
        args = dict(self.allocation or {})
        if self.total is not None:
            args["total"] = float(self.total.value)
        else:
            args["growth"] = float(self.growth.value)
        args.update(stretch=float(self.stretch.value), basis=blend, growth_bounds=bounds)
        tot, named = allocate(self.units, **args)
        self.task = float(tot["total"])
        self.by_level = named
        result = named[list(named)[-1]].copy()
        result.attrs["total"] = float(result["target"].sum())
        return result

    def headline(self) -> float:
        return float(self.result["target"].sum())

    def _format_headline(self, value: float) -> str:
        return self.money(value)

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.total is not None:
            out["targets.total"] = float(self.total.value)
        else:
            out["targets.growth"] = round(float(self.growth.value), 6)
        out["targets.stretch"] = round(float(self.stretch.value), 6)
        out["targets.basis"] = {k: round(v, 6) for k, v in self.blend().items()}
        out["targets.growth_bounds"] = [float(b) for b in self.bounds.value] if self.use_bounds.value else None
        return out

    # -- from a run --------------------------------------------------------
    @classmethod
    def from_workspace(cls, ws: Any, **overrides: Any) -> TargetExplorer:
        """An explorer on the run's customers, started from the run's targets params.

        Units come from :func:`salesmodel.domain.targets.plan_units` (active customers with
        last year, potential and forecast, and their region); the growth base is the
        baseline forecast when the run has the table ``baseline_forecast`` and the
        params ask for it, else last year. ``overrides`` replace any argument.
        """
        ctx = _context(ws, "targets")
        units = step.allocation_units(ctx)
        allocation = step.allocation_arguments(ctx)
        baseline = baseline_total(allocation["baseline"], allocation["plan_year"])
        # every setting from the targets step's own arguments (plan_arguments), never read from the params here
        basis = {c: w for c, w in allocation["basis"].items() if c in units.columns}
        kwargs: dict[str, Any] = {
            # the task as the run made it: an amount, or the one {chance: p} asks (issue 24)
            "total": allocation["total"],
            "reference": "last_year",
            "basis_columns": list(basis) or ["last_year"],
            "weights": basis or None,
            "group_col": "region_id",
            "round_to": allocation["round_to"],
            "keys": "customer_id",
            "growth": allocation["growth"],
            "growth_over": "baseline" if (allocation["growth_over"] == "baseline" and baseline is not None) else "last_year",
            "baseline": baseline,
            "stretch": allocation["stretch"],
            "growth_bounds": allocation["growth_bounds"],
            "group_labels": _region_names(ws.input("org"), ws.language),
            "language": ws.language,
            "money_unit": ws.params.report.money_unit,
            "allocation": allocation,
        }
        kwargs.update(overrides)
        return _attach(cls(units, **kwargs), ws)
