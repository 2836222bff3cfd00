"""The territory explorer's drawing: the summary line, the territories' table, travel from the reps'
bases, and the map with the balance chart (updated in place, see ``_Explorer._show``)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps

from salesmodel.domain import territory
from salesmodel.widgets._base import _esc, _html_table

# measures in money: shown in the reader's unit
MONEY_MEASURES = ("potential", "last_year", "sales", "target")


class TerritoryDrawing:
    """What :class:`salesmodel.widgets.territory.TerritoryExplorer` shows of its result."""

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
            formats[m] = self._money_cell if m in MONEY_MEASURES else ",.1f"
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
        table, bases = self.reps["table"], self.reps["bases"]
        road = self.reps["arguments"].get("road_factor", 1.3)

        def km(labels: Any) -> dict[str, float]:
            to = territory.km_to(table, bases, [str(r) if isinstance(r, str) else None for r in labels], road)
            return territory.travel_overall(to[~np.isnan(to)])
        labels = plan.assignment.set_index("unit_id")["territory"].reindex(table["unit_id"]).to_numpy()
        new, old = km(labels), km(table["current"].to_numpy())
        return " · ".join(f"{_esc(self.w(f'code_{k}'))}: {new[k]:,.0f} ({_esc(self.w('today'))} {old[k]:,.0f})"
                          for k in ("median_km", "p95_km"))

    def _draw_chart(self, plan: Any) -> None:
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
