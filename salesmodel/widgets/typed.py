"""Typed values: a slider's exact value typed into a box beside it, refused with a message when it is
outside the slider's range (the slider's own readout would clamp it silently)."""
from __future__ import annotations

import html
import math
import re
from typing import Any

import ipywidgets as widgets


class TypedValues:
    """The text boxes beside an explorer's sliders (mixed into :class:`salesmodel.widgets._base._Explorer`)."""

    def typed_box(self, control: widgets.Widget) -> widgets.Text:
        """The text box beside ``control`` (a slider) where a value can be typed."""
        return self._typed[id(control)]

    @staticmethod
    def _shown(control: Any, value: Any) -> str:
        if isinstance(value, (tuple, list)):  # a range slider: "low, high"
            return ", ".join(format(v, control.readout_format) for v in value)
        return format(value, control.readout_format)

    def _with_typed_box(self, control: Any) -> widgets.Widget:
        """The slider and a text box showing its value; the slider's own readout would clamp a typed
        value silently, so the box takes typed values instead and refuses those outside the range."""
        box = widgets.Text(value=self._shown(control, control.value), placeholder=self.w("typed_hint"),
                           tooltip=self.w("typed_hint"), continuous_update=False, layout=widgets.Layout(width="84px"))
        control.readout = False
        widgets.dlink((control, "disabled"), (box, "disabled"))
        self._typed[id(control)] = box

        def show(change: Any) -> None:
            self._set_quietly(box, self._shown(control, change["new"]))

        control.observe(show, names="value")
        box.observe(lambda change: self._on_typed(control, box, change["new"]), names="value")
        return widgets.HBox([control, box])

    def _set_quietly(self, box: widgets.Text, text: str) -> None:
        self._syncing = True
        try:
            box.value = text
        finally:
            self._syncing = False

    def _on_typed(self, control: Any, box: widgets.Text, text: str) -> None:
        if self._syncing:
            return
        got = self._read_typed(control, text)
        if isinstance(got, str):  # refused: nothing is recomputed, the setting stays
            self.message = got
            self.status.value = f'<div class="sm-err">{html.escape(got)}</div>'
            self._set_quietly(box, self._shown(control, control.value))
            return
        if got == control.value:
            self._set_quietly(box, self._shown(control, control.value))
        control.value = got  # recomputes through the slider's observer

    def _read_typed(self, control: Any, text: str) -> Any:
        """The typed value as the slider's number (a range slider's: low and high), or the message refusing it."""
        raw = text.strip()
        fields = {"name": control.description, "value": raw, "current": self._shown(control, control.value),
                  "low": self._shown(control, control.min), "high": self._shown(control, control.max)}
        if isinstance(control, (widgets.FloatRangeSlider, widgets.IntRangeSlider)):
            parts = [p for p in re.split(r"\s*(?:[,;~～–—]|\bto\b|至|\ba\b)\s*", raw) if p]
            if len(parts) != 2:
                return self.w("typed_not_range").format(**fields)
            got = [self._read_number(control, part, fields) for part in parts]
            for g in got:
                if isinstance(g, str):
                    return g
            if got[0] > got[1]:
                return self.w("typed_range_order").format(**fields)
            return (got[0], got[1])
        return self._read_number(control, raw, fields)

    def _read_number(self, control: Any, raw: str, fields: dict[str, str]) -> float | int | str:
        fields = {**fields, "value": raw}  # a range's messages name the end that is wrong
        percent = "%" in control.readout_format  # the slider shows percents: "15" and "15%" both mean 0.15
        try:
            number = float(raw.replace("％", "%").rstrip("%").replace(" ", "").replace(",", "").replace("−", "-"))
        except ValueError:
            return self.w("typed_not_number").format(**fields)
        if not math.isfinite(number):
            return self.w("typed_not_number").format(**fields)
        if percent:
            number /= 100
        if isinstance(control, (widgets.IntSlider, widgets.IntRangeSlider)):
            if not float(number).is_integer():
                return self.w("typed_not_whole").format(**fields)
            number = int(number)
        slack = 1e-9 * max(1.0, abs(control.max - control.min))  # "60%" of a 0.6 maximum is 0.6000000000000001
        if number < control.min - slack or number > control.max + slack:
            return self.w("typed_out_of_range").format(**fields)
        return min(max(number, control.min), control.max)

    def _typed_boxes(self, widget: widgets.Widget) -> widgets.Widget:
        if isinstance(widget, (widgets.IntSlider, widgets.FloatSlider, widgets.FloatRangeSlider, widgets.IntRangeSlider)):
            return self._with_typed_box(widget)
        if isinstance(widget, widgets.Box):
            widget.children = tuple(self._typed_boxes(child) for child in widget.children)
        return widget
