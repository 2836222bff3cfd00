"""The report's charts that are not one page's: the headline tiles and the batch comparison's charts.

matplotlib is imported when a chart is drawn (a run that draws none never loads it).
"""
from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.pipeline.comparison import TARGET_COMPARISONS
from salesmodel.pipeline.key_figures import KeyFigures
from salesmodel.report import format_money, format_number, money_formatter, money_scale, money_unit_label, month_label
from salesmodel.report.comparison import COMPARISON_COLUMNS, reference_of
from salesmodel.schema.vocabulary import word

__all__ = ["comparison_chart", "headline_tiles", "target_difference_chart"]


def headline_tiles(figures: KeyFigures, *, language: str = "en", money_unit: str = "wan"):
    """The plan in five numbers, drawn as tiles (a matplotlib Figure)."""
    import matplotlib.pyplot as plt

    missing = word("not_in_run", language)

    def pct(v: float | None) -> str:
        return missing if v is None else f"{0.0 if abs(v) < 5e-4 else v:+.1%}"  # no "-0.0%"

    people = missing
    if figures.headcount_needed is not None:
        people = word("tiles_hires", language).format(people=figures.headcount_needed, hires=figures.hires or 0)
    tiles = [
        (word("plan_total", language), missing if figures.total_target is None else format_money(figures.total_target, money_unit, language)),
        (word("vs_last_year", language), pct(figures.growth_over_last_year)),
        (word("vs_baseline", language), pct(figures.growth_over_baseline)),
        (word("chance_of_meeting_plan", language), missing if figures.probability_of_meeting is None else f"{figures.probability_of_meeting:.0%}"),
        (word("people_needed", language), people),
    ]
    fig, axes = plt.subplots(1, len(tiles), figsize=(3.0 * len(tiles), 1.9))
    for ax, (title, value) in zip(axes, tiles):
        ax.set_axis_off()
        ax.add_patch(plt.Rectangle((0.02, 0.04), 0.96, 0.92, transform=ax.transAxes, color="#EEF2F8", zorder=0))
        ax.text(0.5, 0.70, title, ha="center", va="center", fontsize=10, color="#44546A", transform=ax.transAxes, wrap=True)
        # a long value ("62, de ellas 21 contrataciones") wraps onto two lines instead of leaving its box
        lines = [value] if len(value) <= 20 else textwrap.wrap(value, width=max(12, len(value) // 2 + 3))
        size = 18 if len(value) < 14 else 13 if len(lines) == 1 else 12
        ax.text(0.5, 0.30 if len(lines) > 1 else 0.34, "\n".join(lines), ha="center", va="center", fontsize=size,
                color="#1F3864", transform=ax.transAxes, linespacing=1.2)
    fig.tight_layout()
    return fig


def comparison_chart(comparison: pd.DataFrame, *, language: str = "en", money_unit: str = "wan"):
    """Small multiples: one bar chart per headline figure, scenarios side by side (the reference darker)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    cols = [c for c in COMPARISON_COLUMNS if c in comparison and comparison[c].notna().any()]
    n = max(1, len(cols))
    ncols = min(3, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 2.8 * nrows), squeeze=False)
    labels = comparison["scenario"].astype(str).str.replace(": ", "\n", regex=False).str.replace("__", "\n", regex=False)
    ref = reference_of(comparison)
    colors = ["#1F3864" if sc == ref else "#8FAADC" for sc in comparison["scenario"]]
    for ax, col in zip(axes.ravel(), cols):
        key, kind = COMPARISON_COLUMNS[col]
        values = pd.to_numeric(comparison[col], errors="coerce")
        suffix = ""
        if kind == "money":
            values = values / money_scale(money_unit)
            suffix = f" ({money_unit_label(money_unit, language)})"
        elif kind == "pct":
            values = values * 100
            suffix = " (%)"
        ax.bar(range(len(values)), values, color=colors)
        whole = kind == "people" or float(np.nanmax(np.abs(values))) >= 10 if values.notna().any() else True
        ax.yaxis.set_major_formatter(FuncFormatter(  # separators, never an offset such as "1e6"; one decimals rule an axis
            lambda v, _p, whole=whole: format_number(v, 0 if whole else 1, language)))
        ax.set_title(word(key, language) + suffix, fontsize=10)
        ax.set_xticks(range(len(values)), labels, fontsize=7, rotation=30, ha="right")
    for ax in axes.ravel()[len(cols):]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def target_difference_chart(by_month: pd.DataFrame, by_region: pd.DataFrame, *, language: str = "en",
                            money_unit: str = "wan", names: Mapping[Any, str] | None = None):
    """The target's difference from the reference: by month (a line per scenario) and by region (bars)."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8))
    unit = money_unit_label(money_unit, language)
    for ax, table, by in ((left, by_month, "month"), (right, by_region, "region")):
        key = TARGET_COMPARISONS[by][1]
        scenarios = list(dict.fromkeys(table["scenario"])) if not table.empty else []
        others = [sc for sc in scenarios if (table.loc[table["scenario"] == sc, "difference"] != 0).any()]
        keys = list(dict.fromkeys(table[key])) if not table.empty else []
        labels = [month_label(k, language) if by == "month" else (names or {}).get(k, k) for k in keys]
        width = 0.8 / max(1, len(others))
        for i, sc in enumerate(others):
            diff = table[table["scenario"] == sc].set_index(key)["difference"].reindex(keys)
            if by == "month":
                ax.plot(range(len(keys)), diff.to_numpy(), marker="o", label=sc)
            else:
                ax.bar(np.arange(len(keys)) + (i - (len(others) - 1) / 2) * width, diff.to_numpy(), width=width, label=sc)
        ax.axhline(0, color="#44546A", linewidth=0.8)
        ax.set_xticks(range(len(keys)), labels, fontsize=8)
        ax.yaxis.set_major_formatter(money_formatter(money_unit, language))
        ax.set_ylabel(unit)
        ax.set_title(f"{word('cmp_by_month' if by == 'month' else 'cmp_by_region', language)}: "
                     f"{word('cmp_difference', language).lower()}",
                     fontsize=10)
        if others:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
