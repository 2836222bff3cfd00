"""Interactive explorers for targets, staffing and territories (ipywidgets 8, matplotlib).

An edge module: it holds UI state and draws, and leaves every number to the core.
Each explorer wraps one core verb and re-runs it on every change of a control:

- :class:`TargetExplorer` -> :func:`salesmodel.targets.decompose`
  (growth or total, stretch, a blend of share bases, growth bounds);
- :class:`StaffingExplorer` -> :func:`salesmodel.staffing.capacity_plan`
  (ramp length and shape, attrition, hiring lead time, hiring limit);
- :class:`TerritoryExplorer` -> :func:`salesmodel.territory.design`
  (number of territories, balance tolerances, disruption limit; heuristic with a
  short time limit).

Every explorer has the same programmatic face: its controls are attributes
(``ex.growth``, ``ex.stretch`` ...), ``ex.result`` is the last good result,
``ex.update()`` recomputes now, ``ex.message`` holds the plain-words reason when
the last change could not be computed (the previous result is kept),
``ex.widget`` is the box to display and ``ex.last_update_seconds`` says how long
the last update took (computation, table and chart). ``with ex.hold(): ...``
changes several controls with one recomputation at the end.

>>> ex = TargetExplorer(units, keys="customer_id")      # doctest: +SKIP
>>> ex.growth.value = 0.20                              # recomputes
>>> ex.result["target"].sum()                           # doctest: +SKIP
>>> ex.widget                                           # display in JupyterLab
"""
from __future__ import annotations

import html
import io
import math
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from salesmodel import report
from salesmodel.errors import InputError, ParamsError, SalesmodelError, short_list
from salesmodel.vocabulary import word
from salesmodel.params import StaffingParams

__all__ = [
    "RAMP_SHAPES",
    "StaffingExplorer",
    "TargetExplorer",
    "TerritoryExplorer",
    "ramp_curve",
]

def _bad(param: str, func: str, expected: str, got: Any) -> ParamsError:
    return ParamsError(f"The '{param}' parameter of {func} must be {expected}. Got {got!r} instead.")


def _esc(value: Any) -> str:
    return html.escape(str(value))


# ---------------------------------------------------------------------------
# Ramp shapes (a UI choice: how a curve of n months looks)
# ---------------------------------------------------------------------------
RAMP_SHAPES = ("linear", "fast_start", "slow_start")


def ramp_curve(months: int, shape: str = "linear", given: Sequence[float] | None = None) -> list[float]:
    """Fractions of a mature rep's volume in a new hire's months 1..``months``.

    ``linear``: 1/n, 2/n, ..., 1. ``fast_start``: the square root of that (most of
    the ramp early), ``slow_start``: its square (most of it late). ``as_given``
    stretches or squeezes the curve ``given`` to ``months`` months by linear
    interpolation, keeping its shape. Every curve is non-decreasing and ends at 1,
    as :func:`salesmodel.staffing.capacity_plan` requires.

    >>> ramp_curve(4)
    [0.25, 0.5, 0.75, 1.0]
    >>> ramp_curve(2, "as_given", [0.25, 0.5, 0.75, 1.0])
    [0.5, 1.0]
    """
    func = "ramp_curve"
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise _bad("months", func, "a whole number >= 1", months)
    x = np.arange(1, months + 1) / months
    if shape == "linear":
        y = x
    elif shape == "fast_start":
        y = np.sqrt(x)
    elif shape == "slow_start":
        y = x**2
    elif shape == "as_given":
        if given is None or len(given) == 0:
            raise _bad("given", func, "the ramp to reshape when shape='as_given'", given)
        g = np.asarray(list(given), dtype=float)
        gx = np.arange(0, g.size + 1) / g.size
        y = np.interp(x, gx, np.concatenate(([0.0], g)))
    else:
        raise _bad("shape", func, f"one of {', '.join(RAMP_SHAPES + ('as_given',))}", shape)
    y = np.round(y, 4)
    y[-1] = 1.0
    return [float(v) for v in y]


# ---------------------------------------------------------------------------
# The shared machinery
# ---------------------------------------------------------------------------
_STYLE = (
    "<style>.sm-w table{border-collapse:collapse;font-size:12px;margin:2px 12px 6px 0}"
    ".sm-w th,.sm-w td{padding:2px 8px;text-align:right;border-bottom:1px solid #ddd}"
    ".sm-w th:first-child,.sm-w td:first-child{text-align:left}"
    ".sm-w tr.sm-total td{font-weight:bold;border-top:1px solid #888}"
    ".sm-err{color:#a40000;background:#fff0f0;padding:6px;border-left:3px solid #a40000}"
    ".sm-note{color:#6b4e00}</style>"
)


def _html_table(df: pd.DataFrame, formats: Mapping[str, Any], headers: Mapping[str, str], *, total_last: bool = False) -> str:
    """A small, escaped HTML table (faster than Styler; cells formatted by column)."""
    cols = list(df.columns)
    head = "".join(f"<th>{_esc(headers.get(c, c))}</th>" for c in cols)
    rows = []
    values = {c: df[c].tolist() for c in cols}
    n = len(df)
    for i in range(n):
        cells = []
        for c in cols:
            v = values[c][i]
            fmt = formats.get(c)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                text = "–"
            elif fmt is None:
                text = str(v)
            elif callable(fmt):
                text = fmt(v)
            else:
                text = format(v, fmt)
            cells.append(f"<td>{_esc(text)}</td>")
        cls = ' class="sm-total"' if total_last and i == n - 1 else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


class _Explorer:
    """UI state, error display, timing and the chart canvas shared by the explorers."""

    _title_key = ""
    # Updates that take long enough for a "computing" line to be worth a message to the browser.
    _slow = False

    def __init__(self, *, language: str, money_unit: str, figsize: tuple[float, float], dpi: int = 80) -> None:
        report.label("total", language)  # one clear message for an unknown language
        report.money_scale(money_unit)
        self.language = language
        self.money_unit = money_unit
        self.result: Any = None
        self.message = ""
        self.notes: list[str] = []
        self.last_update_seconds: float | None = None
        self.last_compute_seconds: float | None = None
        self._held = 0
        self._dirty = False
        report.setup_fonts()
        self._figure = Figure(figsize=figsize, dpi=dpi)
        self._background: Any = None
        FigureCanvasAgg(self._figure)
        self.chart = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.summary = widgets.HTML()
        self.table = widgets.HTML()
        self.status = widgets.HTML()

    # -- words and formats --------------------------------------------------
    def w(self, key: str) -> str:
        # id columns are headed by what they name ("region_id" -> "Region")
        return word(key.removesuffix("_id") if key.endswith("_id") else key, self.language)

    def money(self, value: float) -> str:
        return report.format_money(value, self.money_unit, self.language)

    def _money_cell(self, value: float) -> str:
        scale = report.money_scale(self.money_unit)
        return f"{value / scale:,.{2 if self.money_unit == 'wan' else 0}f}"

    # -- wiring -------------------------------------------------------------
    def _watch(self, *controls: widgets.Widget) -> None:
        for control in controls:
            control.observe(self._on_change, names="value")

    def _on_change(self, _change: Any = None) -> None:
        if self._held:
            self._dirty = True
            return
        self.update()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Change several controls and recompute once, when the block ends."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if not self._held and self._dirty:
                self._dirty = False
                self.update()

    def update(self) -> Any:
        """Recompute from the controls now; show the result, or why it cannot be computed.

        A planner's impossible request (infeasible bounds, a blend with no weight ...)
        is not an exception here: its message is shown in the widget and kept in
        ``message``, and ``result`` keeps the previous good result.
        """
        t0 = time.perf_counter()
        if self._slow:
            self.status.value = f'<div style="color:#888">{_esc(self.w("computing"))}</div>'
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result, notes = self._compute()
            self.last_compute_seconds = time.perf_counter() - t0
        except SalesmodelError as exc:
            self.last_compute_seconds = time.perf_counter() - t0
            self.message = str(exc)
            self.status.value = (
                f'<div class="sm-err">{_esc(self.w("cannot"))} {_esc(self.message)}<br>{_esc(self.w("kept"))}</div>'
            )
        else:
            self.result = result
            self.message = ""
            self.notes = notes + [str(c.message) for c in caught if self._keep_warning(str(c.message))]
            self._render()
            self.status.value = "".join(
                f'<div class="sm-note">{_esc(self.w("note"))}: {_esc(n)}</div>' for n in self.notes
            )
        self.last_update_seconds = time.perf_counter() - t0
        self.status.value += f'<div style="color:#888;font-size:11px">{_esc(self.w("updated_in"))} {self.last_update_seconds * 1000:.0f} ms</div>'
        return self.result

    def _keep_warning(self, text: str) -> bool:
        return True

    def _show(self, dynamic: Sequence[Any], full: bool) -> None:
        """Draw the chart into the image widget.

        The axes, ticks and static series are drawn only when ``full`` (first time,
        or a scale or a layout change); otherwise the saved background is restored
        and only the ``dynamic`` artists are drawn on it (blitting), which keeps an
        update to a few milliseconds instead of a full matplotlib redraw.
        """
        canvas = self._figure.canvas
        if full or self._background is None:
            for artist in dynamic:
                artist.set_animated(True)
            canvas.draw()
            self._background = canvas.copy_from_bbox(self._figure.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in dynamic:
            artist.axes.draw_artist(artist)
        width, height = canvas.get_width_height(physical=True)
        buf = io.BytesIO()
        Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(
            buf, format="png", compress_level=1)
        self.chart.value = buf.getvalue()

    def _compose(self, controls: list[widgets.Widget]) -> widgets.Box:
        title = widgets.HTML(f"{_STYLE}<b>{_esc(self.w(self._title_key))}</b>")
        out = widgets.VBox(
            [title, widgets.VBox(controls), self.status, self.summary, self.chart, self.table],
        )
        out.add_class("sm-w")
        return out

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # subclasses
    def _compute(self) -> tuple[Any, list[str]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _render(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _slider_style() -> dict[str, Any]:
    return {"style": {"description_width": "150px"}, "layout": widgets.Layout(width="420px"), "continuous_update": False}


def _require(df: Any, cols: Sequence[str], table: str, func: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise _bad(table, func, "a DataFrame", type(df).__name__)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(
            f"{func}: the {table} table lacks the column(s) {short_list(missing)}; "
            f"it has {short_list(list(df.columns))}."
        )


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------
_ROUNDING_NOTE = "is not a multiple of round_to"


class TargetExplorer(_Explorer):
    """Explore a company total shared among units by :func:`salesmodel.targets.decompose`.

    Parameters
    ----------
    units : DataFrame
        One row per unit (usually a customer): key column(s), ``reference``
        (last year's sales), the basis columns and ``group_col``
        (e.g. :func:`salesmodel.targets.plan_units`).
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
        What the growth applies to (see :func:`salesmodel.targets.company_total`);
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
        # allocation: the arguments of salesmodel.targets.plan.allocate (the targets step's own);
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
            self.total: widgets.BoundedFloatText | None = None
            top = [self.growth]
        else:
            self.growth = None
            self.total = widgets.BoundedFloatText(value=float(total), min=0.0, max=1e15, step=round_to,
                                                  description=self.w("task"), **st)
            top = [self.total]
        self.stretch = widgets.FloatSlider(value=stretch, min=1.0, max=max(2.0, stretch), step=0.01,
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
        from salesmodel import targets

        blend = self.blend()
        self.blend_label.value = f"{_esc(self.w('blend'))}: " + ", ".join(
            f"{_esc(self.w(c))} {blend.get(c, 0.0):.0%}" for c in self.basis_columns)
        if self.total is not None:
            task = float(self.total.value)
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
        """The run's own cascade (salesmodel.targets.plan.allocate) with the explorer's settings."""
        from salesmodel.targets.plan import allocate

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

    # -- drawing -----------------------------------------------------------
    def _bound_word(self, kind: str) -> str:
        key = {"lower": "at_lower", "upper": "at_upper", "floor": "at_lower"}.get(kind)
        return self.w(key) if key else ("–" if kind == "none" else kind)

    def _group_table(self) -> pd.DataFrame:
        r = self.result
        cols = [self.reference] + ([self.potential_col] if self.potential_col and self.potential_col != self.reference else [])
        flags = pd.DataFrame({
            self.group_col: r[self.group_col].to_numpy(),
            "at_lower": (r["bound_applied"] == "lower").to_numpy(dtype=np.int64),
            "at_upper": (r["bound_applied"] == "upper").to_numpy(dtype=np.int64),
        })
        out = r.groupby(self.group_col, sort=True, observed=True)[cols + ["target"]].sum()
        out = out.join(flags.groupby(self.group_col, sort=True, observed=True).sum())
        total = out.sum(numeric_only=True).to_frame().T
        total.index = [self.w("total")]
        out = pd.concat([out, total])
        out[["at_lower", "at_upper"]] = out[["at_lower", "at_upper"]].astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["growth"] = np.where(out[self.reference] > 0, out["target"] / out[self.reference] - 1.0, np.nan)
        out.index.name = self.group_col
        return out.reset_index()

    def _render(self) -> None:
        r = self.result
        shared = float(r.attrs.get("total", r["target"].sum()))
        self.by_group = self._group_table()
        pct = lambda v: f"{v:+.1%}"
        m = self._money_cell
        n_low = int((r["bound_applied"] == "lower").sum())
        n_up = int((r["bound_applied"] == "upper").sum())
        parts = []
        if self.base is not None:
            parts.append(f"{self.w('base')} ({self.w(self.growth_over)}): {self.money(self.base)}")
        parts += [
            f"{self.w('task')}: {self.money(self.task)}",
            f"{self.w('stretch')} × {self.stretch.value:.2f}",
            f"<b>{self.w('shared')}: {self.money(shared)}</b>",
            f"{self.w('at_lower')}: {n_low}, {self.w('at_upper')}: {n_up}",
        ]
        self.summary.value = " · ".join(parts)

        groups = self.by_group.iloc[:-1]
        labels = [self.group_labels.get(g, g) for g in groups[self.group_col]]
        headers = {c: self.w(c) for c in self.by_group.columns}
        headers[self.group_col] = self.w(self.group_col.removesuffix("_id"))
        display = self.by_group.copy()
        display[self.group_col] = labels + [self.w("total")]
        money_cols = {c: m for c in (self.reference, self.potential_col, "target") if c}
        t1 = _html_table(display, {**money_cols, "growth": pct}, headers, total_last=True)
        top = r.nlargest(self.top_n, "target")
        key_cols = self.keys or []
        show = top[[*key_cols, self.group_col, self.reference, "target", "growth" if "growth" in top else "share", "bound_applied"]].copy()
        if not key_cols:
            show.insert(0, "unit", top.index.astype(str))
        show[self.group_col] = [self.group_labels.get(g, g) for g in show[self.group_col]]
        show["bound_applied"] = [self._bound_word(b) for b in show["bound_applied"]]
        t2 = _html_table(show, {**money_cols, "growth": pct, "share": ".2%"},
                         {**headers, "customer_id": self.w("customer"), "unit": self.w("customer")})
        unit = report.money_unit_label(self.money_unit, self.language)
        self.table.value = (f'<div style="display:flex;flex-wrap:wrap"><div><b>{_esc(self.w(self.group_col.removesuffix("_id")))}</b> ({_esc(unit)}){t1}</div>'
                            f"<div><b>{_esc(self.w('top_units'))}</b> ({_esc(unit)}){t2}</div></div>")

        self._draw_chart(groups)

    def _draw_chart(self, groups: pd.DataFrame) -> None:
        # Axes and the static series are made once; each update only moves the target bars.
        if self._bars is None:
            labels = [str(self.group_labels.get(g, g)) for g in groups[self.group_col]]
            unit = report.money_unit_label(self.money_unit, self.language)
            ax = self._figure.add_axes((0.08, 0.17, 0.8, 0.7))
            x = np.arange(len(groups))
            ax.bar(x - 0.2, groups[self.reference], width=0.4, color="#b9c6d6", label=self.w(self.reference))
            self._bars = ax.bar(x + 0.2, groups["target"], width=0.4, color="#2f6db5", label=self.w("target"))
            ax.set_xticks(x, labels)
            ax.yaxis.set_major_formatter(report.money_formatter(self.money_unit))
            ax.set_ylabel(unit)
            handles, names = ax.get_legend_handles_labels()
            on_top: list[Any] = []
            if self.potential_col and self.potential_col != self.reference:
                ax2 = ax.twinx()
                on_top += ax2.plot(x, groups[self.potential_col], "D", color="#d98c1f", label=self.w(self.potential_col))
                ax2.yaxis.set_major_formatter(report.money_formatter(self.money_unit))
                ax2.set_ylim(0, float(groups[self.potential_col].max()) * 1.15 or 1.0)
                ax2.grid(False)
                h2, n2 = ax2.get_legend_handles_labels()
                handles, names = handles + h2, names + n2
            # drawn after the moving bars so that the bars never cover them
            self._on_top = [*on_top, ax.legend(handles, names, loc="upper left", fontsize=8, ncol=3)]
            ax.set_title(f"{self.w('target')} / {self.w(self.reference)} · {self.w(self.group_col.removesuffix('_id'))}", fontsize=10)
            self._ax = ax
            full = True
        else:
            for bar, h in zip(self._bars, groups["target"].to_numpy()):
                bar.set_height(h)
            full = False
        top = max(float(groups["target"].max()), float(groups[self.reference].max()))
        _, ylim = self._ax.get_ylim()
        if full or top > ylim or top < 0.5 * ylim:
            self._ax.set_ylim(0, top * 1.25 if top > 0 else 1.0)
            full = True
        self._show([*self._bars, *self._on_top], full)

    # -- from a run --------------------------------------------------------
    @classmethod
    def from_workspace(cls, ws: Any, **overrides: Any) -> TargetExplorer:
        """An explorer on the run's customers, started from the run's targets params.

        Units come from :func:`salesmodel.targets.plan_units` (active customers with
        last year, potential and forecast, and their region); the growth base is the
        baseline forecast when the run has the table ``baseline_forecast`` and the
        params ask for it, else last year. ``overrides`` replace any argument.
        """
        from salesmodel.pipeline import targets as step
        from salesmodel.targets.plan import baseline_total

        tp = ws.params.targets
        ctx = _context(ws, "targets")
        units = step.allocation_units(ctx)
        allocation = step.allocation_arguments(ctx)
        baseline = baseline_total(allocation["baseline"], allocation["plan_year"])
        basis = {c: w for c, w in tp.basis.items() if c in units.columns}
        kwargs: dict[str, Any] = {
            "total": tp.total,
            "reference": "last_year",
            "basis_columns": list(basis) or ["last_year"],
            "weights": basis or None,
            "group_col": "region_id",
            "round_to": tp.round_to,
            "keys": "customer_id",
            "growth": tp.growth,
            "growth_over": "baseline" if (tp.growth_over == "baseline" and baseline is not None) else "last_year",
            "baseline": baseline,
            "stretch": tp.stretch,
            "growth_bounds": tp.growth_bounds,
            "group_labels": _region_names(ws.input("org"), ws.language),
            "language": ws.language,
            "money_unit": ws.params.report.money_unit,
            "allocation": allocation,
        }
        kwargs.update(overrides)
        return cls(units, **kwargs)


def _context(ws: Any, step: str) -> Any:
    """The pipeline context of a step on a workspace: its params, inputs and the tables of the steps before it."""
    from salesmodel.pipeline import Context, upstream
    from salesmodel.tables import TABLES

    needed = [n for s in upstream(step) for n in TABLES if TABLES[n].step == s]
    for s in upstream(step):
        if not any(ws.has_table(n) for n in needed if TABLES[n].step == s):
            ws.step(s)  # an interactive workspace computes what is missing
    return Context(params=ws.params, inputs=ws.inputs(), tables=ws.tables([n for n in needed if ws.has_table(n)]))


def _region_names(org: pd.DataFrame | None, language: str) -> dict[Any, str]:
    """Region id -> name in the report language, from the org table."""
    if org is None or not {"unit_id", "level"} <= set(org.columns):
        return {}
    col = "name_zh" if language == "zh" else "name_en"
    if col not in org.columns:
        return {}
    regions = org.loc[org["level"] == "region"]
    return dict(zip(regions["unit_id"], regions[col]))


# ---------------------------------------------------------------------------
# Staffing
# ---------------------------------------------------------------------------
class StaffingExplorer(_Explorer):
    """Explore the hires a monthly target needs with :func:`salesmodel.staffing.capacity_plan`.

    Parameters
    ----------
    monthly_targets : Series or DataFrame
        A monthly Series (index of months), or a long table ``team, month, target``
        solved team by team (an optional boolean ``lead_in`` column marks months
        before the plan year, shaded in the chart).
    productivity : float or mapping team -> float
        A mature rep's standard monthly volume.
    start_headcount : float or mapping team -> float
        People on the payroll at the start.
    ramp : list of float, default=[0.25, 0.5, 0.75, 1.0]
        The ramp to start from (shape "as given"; the sliders reshape it).
    attrition, hire_lead_months, max_hires_per_month, attainment, start_tenure, min_reach
        Start values and fixed inputs, as in ``capacity_plan``.
    team_col, month_col, target_col : str
        Column names of a long ``monthly_targets`` table.
    team_label : str, default="team"
        What a team is, for the table header (e.g. "region").
    language, money_unit
        Display language and money unit.

    Attributes
    ----------
    ramp_months, ramp_shape, attrition, lead_time, limit_hires, max_hires : ipywidgets controls
    result : DataFrame
        The last capacity plan (one row per team and month).
    ramp : list of float
        The ramp used by the last update.
    """

    _title_key = "staffing_explorer"

    def __init__(
        self,
        monthly_targets: pd.Series | pd.DataFrame,
        *,
        productivity: float | Mapping[Any, float],
        start_headcount: float | Mapping[Any, float],
        ramp: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
        attrition: float = 0.20,
        hire_lead_months: int = 2,
        max_hires_per_month: int | None = None,
        attainment: float = 1.0,
        start_tenure: Any = None,
        seasonality: pd.Series | None = None,
        min_reach: float | None = None,
        team_col: str = "team",
        month_col: str = "month",
        target_col: str = "target",
        team_label: str = "team",
        language: str = "en",
        money_unit: str = "wan",
    ) -> None:
        func = "StaffingExplorer"
        if isinstance(monthly_targets, pd.DataFrame):
            _require(monthly_targets, [team_col, month_col, target_col], "monthly_targets", func)
        elif not isinstance(monthly_targets, pd.Series):
            raise _bad("monthly_targets", func, "a monthly Series or a long DataFrame (team, month, target)",
                       type(monthly_targets).__name__)
        given = [float(v) for v in ramp]
        ramp_curve(len(given), "as_given", given)  # checks it is a usable curve
        super().__init__(language=language, money_unit=money_unit, figsize=(9.5, 3.0))
        self.monthly_targets = monthly_targets
        self.productivity = productivity
        self.start_headcount = start_headcount
        self.attainment = attainment
        self.start_tenure = start_tenure
        self.seasonality = seasonality
        # the policy's one default is the params schema's
        self.min_reach = StaffingParams.model_fields["min_reach"].default if min_reach is None else min_reach
        self.given_ramp = given
        self.team_col, self.month_col, self.target_col = team_col, month_col, target_col
        self.team_label = team_label
        self.ramp: list[float] = given
        self._artists: dict[str, Any] = {}

        st = _slider_style()
        self.ramp_months = widgets.IntSlider(value=len(given), min=1, max=max(18, len(given)), description=self.w("ramp_months"), **st)
        shapes = [(self.w(s), s) for s in ("as_given", *RAMP_SHAPES)]
        self.ramp_shape = widgets.Dropdown(options=shapes, value="as_given", description=self.w("ramp_shape"),
                                           style=st["style"], layout=st["layout"])
        self.ramp_label = widgets.HTML()
        self.attrition = widgets.FloatSlider(value=attrition, min=0.0, max=max(0.6, attrition), step=0.01, readout_format=".0%",
                                             description=self.w("attrition"), **st)
        self.lead_time = widgets.IntSlider(value=hire_lead_months, min=0, max=max(12, hire_lead_months),
                                           description=self.w("lead_time"), **st)
        self.limit_hires = widgets.Checkbox(value=max_hires_per_month is not None, description=self.w("limit_hires"), indent=False)
        self.max_hires = widgets.IntSlider(value=5 if max_hires_per_month is None else max_hires_per_month, min=0,
                                           max=max(30, max_hires_per_month or 0), description=self.w("max_hires"), **st)
        self._watch(self.ramp_months, self.ramp_shape, self.attrition, self.lead_time, self.limit_hires, self.max_hires)
        controls = [widgets.HBox([
            widgets.VBox([self.ramp_months, self.ramp_shape, self.ramp_label]),
            widgets.VBox([self.attrition, self.lead_time, self.max_hires, self.limit_hires]),
        ])]
        self.widget = self._compose(controls)
        self.update()

    def _compute(self) -> tuple[pd.DataFrame, list[str]]:
        from salesmodel import staffing

        ramp = ramp_curve(int(self.ramp_months.value), self.ramp_shape.value, self.given_ramp)
        self.ramp_label.value = f"{_esc(self.w('ramp'))}: " + ", ".join(f"{v:.0%}" for v in ramp)
        plan = staffing.capacity_plan(
            self.monthly_targets,
            productivity=self.productivity,
            ramp=ramp,
            attrition=float(self.attrition.value),
            hire_lead_months=int(self.lead_time.value),
            start_headcount=self.start_headcount,
            max_hires_per_month=int(self.max_hires.value) if self.limit_hires.value else None,
            attainment=self.attainment,
            start_tenure=self.start_tenure,
            seasonality=self.seasonality,
            min_reach=self.min_reach,
            team_col=self.team_col,
            month_col=self.month_col,
            target_col=self.target_col,
        )
        self.ramp = ramp
        notes = []
        if plan.attrs.get("status") == "shortfall":
            months = plan.attrs.get("short_months", [])
            notes.append(f"{self.w('months_short')}: {short_list(sorted(set(months)), 6)}")
        return plan, notes

    def _lead_in(self) -> np.ndarray | None:
        mt = self.monthly_targets
        if isinstance(mt, pd.DataFrame) and "lead_in" in mt.columns:
            return mt.groupby(pd.PeriodIndex(pd.to_datetime(mt[self.month_col].astype(str), format="mixed"), freq="M"))["lead_in"].all().to_numpy()
        return None

    def _render(self) -> None:
        plan = self.result
        by_team = self.team_col in plan.columns
        month = plan["month"].astype(str)
        monthly = plan.groupby(month.to_numpy(), sort=True)[["target", "capacity", "hires_starting", "shortfall_amount"]].sum()
        shortfall_months = int(plan.groupby(month.to_numpy())["shortfall"].any().sum())
        if by_team:
            g = plan.groupby(self.team_col, sort=True)
            table = pd.DataFrame({
                "headcount_start": g["headcount_start"].first(),
                "hires": g["hires_starting"].sum(),
                "headcount_end": g["headcount_end"].last(),
                "months_short": g["shortfall"].sum(),
                "shortfall": g["shortfall_amount"].sum(),
            })
            total = table.sum().to_frame().T
            total["months_short"] = shortfall_months  # months in which any team falls short
            total.index = [self.w("total")]
            table = pd.concat([table, total])
            table.index.name = "team"
            table = table.reset_index()
        else:
            table = pd.DataFrame({
                "team": [self.w("total")],
                "headcount_start": [plan["headcount_start"].iloc[0]],
                "hires": [plan["hires_starting"].sum()],
                "headcount_end": [plan["headcount_end"].iloc[-1]],
                "months_short": [int(plan["shortfall"].sum())],
                "shortfall": [plan["shortfall_amount"].sum()],
            })
        end_heads = float(table["headcount_end"].iloc[-1])
        self.summary.value = " · ".join([
            f"<b>{_esc(self.w('total_hires'))}: {int(plan.attrs.get('total_hires', plan['hires_starting'].sum()))}</b>",
            f"{_esc(self.w('headcount_end'))}: {end_heads:,.1f}",
            f"{_esc(self.w('months_short'))}: {shortfall_months}",
            f"{_esc(self.w('shortfall'))}: {_esc(self.money(float(monthly['shortfall_amount'].sum())))}",
            f"{_esc(self.w('status'))}: {_esc(plan.attrs.get('status', ''))}",
        ])
        headers = {"team": self.w(self.team_label), "headcount_start": self.w("headcount_start"),
                   "hires": self.w("hires"), "headcount_end": self.w("headcount_end"), "months_short": self.w("months_short"),
                   "shortfall": self.w("shortfall")}
        one = lambda v: f"{v:,.1f}"
        self.table.value = _html_table(
            table, {"headcount_start": one, "headcount_end": one, "hires": lambda v: f"{int(v):,}",
                    "months_short": lambda v: f"{int(v)}", "shortfall": self._money_cell},
            headers, total_last=by_team)
        self._draw_chart(monthly)

    def _draw_chart(self, monthly: pd.DataFrame) -> None:
        a = self._artists
        x = np.arange(len(monthly))
        full = False
        if not a:
            fig = self._figure
            unit = report.money_unit_label(self.money_unit, self.language)
            ax = fig.add_axes((0.08, 0.2, 0.56, 0.68))
            ax.plot(x, monthly["target"], color="#555555", marker="o", ms=3, label=self.w("target"))
            (a["capacity"],) = ax.plot(x, monthly["capacity"], color="#2f6db5", marker="s", ms=3, label=self.w("capacity"))
            lead = self._lead_in()
            if lead is not None and lead.size == len(x) and lead.any():
                ax.axvspan(-0.5, int(lead.sum()) - 0.5, color="#eeeeee", zorder=0)
            ax.yaxis.set_major_formatter(report.money_formatter(self.money_unit))
            ax.set_ylabel(unit)
            step = max(1, len(x) // 8)
            ax.set_xticks(x[::step], [str(m) for m in monthly.index[::step]], rotation=30, fontsize=8)
            a["legend"] = ax.legend(loc="upper left", fontsize=8, ncol=2)
            ax.set_title(f"{self.w('capacity')} / {self.w('target')}", fontsize=10)
            bx = fig.add_axes((0.72, 0.2, 0.26, 0.68))
            a["hires"] = bx.bar(x, monthly["hires_starting"], color="#d98c1f")
            bx.set_xticks(x[::step * 2], [str(m) for m in monthly.index[::step * 2]], rotation=30, fontsize=8)
            bx.set_title(self.w("hires"), fontsize=10)
            a["ax"], a["bx"] = ax, bx
            full = True
        else:
            a["capacity"].set_ydata(monthly["capacity"].to_numpy())
            for bar, h in zip(a["hires"], monthly["hires_starting"].to_numpy()):
                bar.set_height(h)
        top = max(float(monthly["capacity"].max()), float(monthly["target"].max()))
        _, ylim = a["ax"].get_ylim()
        if full or top > ylim or top < 0.5 * ylim:
            a["ax"].set_ylim(0, top * 1.25 if top > 0 else 1.0)
            full = True
        hires_top = float(monthly["hires_starting"].max())
        _, hlim = a["bx"].get_ylim()
        if full or hires_top > hlim or hires_top < 0.4 * hlim:
            a["bx"].set_ylim(0, max(hires_top * 1.2, 1.0))
            full = True
        self._show([a["capacity"], *a["hires"], a["legend"]], full)

    @classmethod
    def from_workspace(cls, ws: Any, *, by: str = "region", **overrides: Any) -> StaffingExplorer:
        """An explorer on the run's monthly targets, started from the staffing params.

        Targets are the run's ``plan_rep_month`` summed by region and month when the
        targets notebook has written it, else last year's same-month sales x
        (1 + growth) (:func:`salesmodel.staffing.monthly_targets_from_history`);
        months from the end of the history to the plan year are the lead-in
        (:func:`salesmodel.staffing.with_lead_in`). Headcount and tenure are the
        current staff's, productivity the params' or the history's.

        ``by="region"`` (default) plans each region's team on its own, as the
        staffing notebook does; ``by="company"`` plans one company-wide team (one
        solve instead of five: faster, and people count as movable between regions).
        """
        from salesmodel.pipeline import staffing as step

        if by not in ("region", "company"):
            raise _bad("by", "StaffingExplorer.from_workspace", "'region' or 'company'", by)
        kwargs = step.capacity_arguments(_context(ws, "staffing"), by=by)
        if by == "company":
            kwargs["monthly_targets"] = kwargs["monthly_targets"].assign(team=word("company", ws.language))
            kwargs["start_headcount"] = {word("company", ws.language): v for v in kwargs["start_headcount"].values()}
            kwargs["start_tenure"] = {word("company", ws.language): v for v in kwargs["start_tenure"].values()}
        kwargs.update(team_label=by, language=ws.language, money_unit=ws.params.report.money_unit)
        kwargs.update(overrides)
        targets = kwargs.pop("monthly_targets")
        return cls(targets, **kwargs)


# ---------------------------------------------------------------------------
# Territories
# ---------------------------------------------------------------------------
_MONEY_MEASURES = ("potential", "last_year", "sales", "target")


class TerritoryExplorer(_Explorer):
    """Explore territory designs with :func:`salesmodel.territory.design` (heuristic, short time limit).

    Parameters
    ----------
    units : DataFrame
        One row per basic unit: ``unit_id``, ``lat``/``lon`` (or ``x``/``y``) and the
        measures to balance (e.g. provinces with their customers' potential and workload).
    adjacency : territory.Graph, optional
        The contiguity graph; default: built once from the coordinates
        (:func:`salesmodel.territory.adjacency`), so updates do not rebuild it.
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
        language: str = "en",
        money_unit: str = "wan",
        run_assignment: pd.Series | None = None,
    ) -> None:
        from salesmodel import territory

        func = "TerritoryExplorer"
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
        self._artists: dict[str, Any] = {}

        st = _slider_style()
        self.k = widgets.IntSlider(value=int(k), min=1, max=int(min(n, max(40, k))), description=self.w("territories"), **st)
        self.tolerances = {
            m: widgets.FloatSlider(value=float(t), min=0.0, max=max(0.5, float(t)), step=0.01, readout_format=".0%",
                                   description=f"{self.w('tolerance')}: {self.w(m)}", **st)
            for m, t in balance.items()
        }
        self.limit_disruption = widgets.Checkbox(value=max_disruption is not None, description=self.w("limit_disruption"),
                                                 indent=False, disabled=current is None)
        self.disruption = widgets.FloatSlider(value=0.10 if max_disruption is None else float(max_disruption), min=0.0, max=1.0,
                                              step=0.01, readout_format=".0%", description=self.w("disruption"),
                                              disabled=current is None, **st)
        self._watch(self.k, *self.tolerances.values(), self.limit_disruption, self.disruption)
        controls = [widgets.HBox([widgets.VBox([self.k, *self.tolerances.values()]),
                                  widgets.VBox([self.disruption, self.limit_disruption])])]
        self.widget = self._compose(controls)
        self._start_settings = self._settings()
        self.update()

    def _settings(self) -> tuple:
        return (int(self.k.value), tuple((m, float(s.value)) for m, s in self.tolerances.items()),
                bool(self.limit_disruption.value), float(self.disruption.value))

    @property
    def tolerance(self) -> widgets.FloatSlider:
        """The tolerance slider of the first balanced measure."""
        return next(iter(self.tolerances.values()))

    def _compute(self) -> tuple[Any, list[str]]:
        from salesmodel import territory

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
                                      contiguous=self.contiguous)
            return plan, notes
        plan = territory.design(
            self.units, k, adjacency=self.adjacency, balance_on={m: float(s.value) for m, s in self.tolerances.items()},
            current=self.current, max_disruption=limit, contiguous=self.contiguous, method="heuristic",
            time_limit=self.time_limit, seed=self.seed,
        )
        return plan, notes

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
        centre_idx = pos.reindex(metrics["centre"].to_numpy()).to_numpy()
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
    def from_workspace(cls, ws: Any, *, level: str = "province", **overrides: Any) -> TerritoryExplorer:
        """An explorer on the run's geography, started from the territory params.

        ``level="province"`` (default, the reduced problem that updates quickly):
        the 31 provinces with their customers' potential and workload (visit
        hours from :func:`salesmodel.staffing.workload`), the given province
        adjacency, and today's regions as the current territories (k = number of
        regions): how the country is divided into sales regions.
        ``level="customer"``: every active customer, today's active reps as the
        current territories (k = the params' ``territory.k``, else the number of
        today's territories); slower (thousands of units).
        """
        kwargs = dict(_territory_inputs(ws, level))
        kwargs.update(overrides)
        units = kwargs.pop("units")
        return cls(units, **kwargs)


def _territory_inputs(ws: Any, level: str) -> dict[str, Any]:
    """The arguments of a TerritoryExplorer for a run, at province or customer level.

    Customers come from :func:`salesmodel.territory.customer_units` (active customers
    with potential, workload and today's rep), as in the territories notebook.
    """
    from salesmodel import territory

    if level not in ("province", "customer"):
        raise _bad("level", "TerritoryExplorer.from_workspace", "'province' or 'customer'", level)
    from salesmodel.pipeline import territory as step

    tp = ws.params.territory
    inputs = ws.inputs()
    customers = step.units(_context(ws, "territory"))
    measures = {m: t for m, t in tp.balance_on.items() if m in ("potential", "workload")} or {"potential": 0.05}
    common = {"balance_on": measures, "max_disruption": tp.max_disruption, "contiguous": tp.contiguous,
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
    return {"units": units, "adjacency": args["adjacency"], "current": args["current"], "k": args["k"],
            "run_assignment": run, **common}

