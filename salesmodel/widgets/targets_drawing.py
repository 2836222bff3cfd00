"""The targets explorer's drawing: the summary line, the groups' and the largest units' tables, and the
bar chart of target against the reference by group (updated in place, see ``_Explorer._show``)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesmodel import report
from salesmodel.widgets._base import _esc, _html_table


class TargetDrawing:
    """What :class:`salesmodel.widgets.targets.TargetExplorer` shows of its result."""

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

        def pct(v: float) -> str:
            return f"{v:+.1%}"

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
        self.table.value = (f'<div style="display:flex;flex-wrap:wrap"><div><b>{_esc(self.w(self.group_col.removesuffix("_id")))}</b> '
                            f'({_esc(unit)}){t1}</div>'
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
