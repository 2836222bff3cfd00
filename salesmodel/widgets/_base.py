"""What every explorer shares: controls that recompute, a table, a chart, messages in plain words."""
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
from salesmodel.domain import overview
from salesmodel.errors import InputError, ParamsError, SalesmodelError, short_list
from salesmodel.pipeline import Context, upstream
from salesmodel.schema.tables import TABLES
from salesmodel.schema.vocabulary import word
from salesmodel.widgets.typed import TypedValues


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
    as :func:`salesmodel.domain.staffing.capacity_plan` requires.

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


class _Explorer(TypedValues):
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
        self.versus = widgets.HTML()  # the headline figure against the run the explorer started from
        self.workspace: Any = None  # set by from_workspace: where "save as scenario" starts from
        self.start_headline: float | None = None
        self._typed: dict[int, widgets.Text] = {}  # slider id -> the box a value can be typed into
        self._syncing = False

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
            self._show_versus()
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

    # -- against the run, and saving the settings as a scenario --------------------
    def headline(self) -> float:
        """The one figure a change moves (targets: the total, staffing: hires, territories: worst deviation)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _format_headline(self, value: float) -> str:
        return f"{value:,.0f}"

    def _show_versus(self) -> None:
        value = self.headline()
        if self.start_headline is None:
            self.start_headline = value  # the run's figure: the explorer starts at the run's settings
        diff = value - self.start_headline
        text = f"{_esc(self.w('headline_' + self._title_key))}: {_esc(self._format_headline(value))}"
        if self.workspace is not None:
            text += (f" · {_esc(self.w('versus_run'))}: {_esc(self._format_headline(self.start_headline))}"
                     f" ({'+' if diff >= 0 else '−'}{_esc(self._format_headline(abs(diff)))})")
        self.versus.value = f"<b>{text}</b>"

    def settings(self) -> dict[str, Any]:
        """The explored settings as params keys (dotted), e.g. ``{"targets.growth": 0.15}``."""
        raise NotImplementedError  # pragma: no cover - abstract

    def save_scenario(self, name: str, folder: str | Any = None) -> Any:
        """Write the run's params with the explored settings as a new scenario file; return its path.

        The file lands beside the params file the explorer started from (or in
        ``folder``); ``salesmodel run`` runs it. The scenario name is sanitised
        (:meth:`salesmodel.run.workspace.Workspace.save_scenario` writes it).
        """
        if self.workspace is None:
            raise ParamsError("This explorer was not opened on a run (from_workspace), so there are no params to save.")
        return self.workspace.save_scenario(name, self.settings(), folder)

    def _save_controls(self) -> widgets.Widget:
        name = widgets.Text(value="", placeholder=self.w("scenario_name"), layout=widgets.Layout(width="260px"))
        save = widgets.Button(description=self.w("save_as_scenario"), layout=widgets.Layout(width="200px"))
        run = widgets.Button(description=self.w("run_it"), layout=widgets.Layout(width="120px"), disabled=True)
        said = widgets.HTML()
        saved: dict[str, Any] = {}

        def on_save(_b: Any) -> None:
            try:
                saved["path"] = self.save_scenario(name.value)
            except SalesmodelError as exc:
                said.value = f'<span class="sm-err">{_esc(str(exc))}</span>'
                return
            run.disabled = False
            said.value = f"{_esc(self.w('saved_to'))} <code>{_esc(str(saved['path']))}</code>"

        def on_run(_b: Any) -> None:
            said.value = _esc(self.w("computing"))
            try:
                result = self.workspace.run_scenario(saved["path"])
            except SalesmodelError as exc:
                said.value = f'<span class="sm-err">{_esc(str(exc))}</span>'
                return
            said.value = f"{_esc(self.w('run_folder'))} <code>{_esc(str(result.run_dir))}</code>"

        save.on_click(on_save)
        run.on_click(on_run)
        return widgets.HBox([name, save, run, said])

    def _compose(self, controls: list[widgets.Widget]) -> widgets.Box:
        controls = [self._typed_boxes(c) for c in controls]
        title = widgets.HTML(f"{_STYLE}<b>{_esc(self.w(self._title_key))}</b>")
        self.save_box = widgets.VBox([])  # filled by from_workspace (saving needs the run's params)
        out = widgets.VBox(
            [title, widgets.VBox(controls), self.status, self.versus, self.summary, self.chart, self.table, self.save_box],
        )
        out.add_class("sm-w")
        return out

    def snapshot_html(self) -> str:
        """The explorer as it stands, as static HTML (chart as an embedded PNG): what a saved or
        exported notebook shows where the widgets cannot run."""
        import base64

        png = base64.b64encode(self.chart.value or b"").decode("ascii")
        title = f"<b>{_esc(self.w(self._title_key))}</b>"
        return (f'<div class="sm-w">{_STYLE}{title}{self.status.value}{self.versus.value}{self.summary.value}'
                f'<img src="data:image/png;base64,{png}" style="max-width:100%">{self.table.value}</div>')

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data["text/html"] = self.snapshot_html()
        return bundle

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


def _attach(explorer: Any, ws: Any) -> Any:
    """Tie an explorer to the workspace it started from: the difference from the run, and saving."""
    explorer.workspace = ws
    explorer.save_box.children = [explorer._save_controls()]
    explorer._show_versus()
    return explorer


def _context(ws: Any, step: str) -> Any:
    """The pipeline context of a step on a workspace: its params, inputs and the tables of the steps before it."""
    needed = [n for s in upstream(step) for n in TABLES if TABLES[n].step == s]
    for s in upstream(step):
        if not any(ws.has_table(n) for n in needed if TABLES[n].step == s):
            ws.step(s)  # an interactive workspace computes what is missing
    return Context(params=ws.params, inputs=ws.inputs(), tables=ws.tables([n for n in needed if ws.has_table(n)]))


def _region_names(org: pd.DataFrame | None, language: str) -> dict[Any, str]:
    """Region id -> name in the report language, from the org table."""
    if org is None or not {"unit_id", "level"} <= set(org.columns):
        return {}
    if "name_en" not in org.columns:
        return {}
    return overview.unit_names(org.loc[org["level"] == "region"], "unit_id", language).to_dict()
