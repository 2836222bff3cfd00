"""The batch comparison for reading: scenarios' labels, figures and targets side by side, and the
settings that differ, in the reader's words and money unit (from the batch's comparison tables)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain import overview
from salesmodel.errors import InputError
from salesmodel.pipeline import run_folder
from salesmodel.pipeline.comparison import TARGET_COMPARISONS
from salesmodel.report import MONEY_DECIMALS, money_scale, money_unit_label, month_label
from salesmodel.report.settings import setting_label, setting_value, setting_values
from salesmodel.schema.params import description_text
from salesmodel.schema.vocabulary import has_word, number_style, word

__all__ = ["COMPARISON_COLUMNS", "pick_pair", "readable_comparison", "readable_params_diff", "readable_targets",
           "reference_of", "region_names", "scenario_label"]

# ---- batches -------------------------------------------------------------------------

COMPARISON_COLUMNS = {
    "total_target": ("plan_total", "money"),
    "growth_over_last_year": ("vs_last_year", "pct"),
    "growth_over_baseline": ("vs_baseline", "pct"),
    "probability_of_meeting": ("chance_of_meeting_plan", "pct"),
    "headcount_needed": ("cmp_people", "people"),
    "hires": ("hires", "people"),
    "pay_cost": ("pay_cost", "money"),
    "cost_share": ("pay_share", "pct"),
    "territory_max_deviation": ("territory_balance", "pct"),
    "budget": ("kf_budget", "money"),
}
# Figures a plan may not have at all (no budget in any scenario): their row is left out, not shown empty.
_OPTIONAL_COMPARISON = ("budget",)


def reference_of(comparison: pd.DataFrame) -> str:
    if "is_reference" in comparison and comparison["is_reference"].any():
        return str(comparison.loc[comparison["is_reference"].astype(bool), "scenario"].iloc[0])
    return str(comparison["scenario"].iloc[0])


def _fmt_value(v: Any, kind: str, scale: float, *, signed: bool = False, growth: bool = False,
               language: str = "en", money_digits: int = 1) -> str:
    if v is None or pd.isna(v):
        return "–"
    text = _fmt_number(float(v), kind, scale, signed=signed, growth=growth, money_digits=money_digits)
    return number_style(text, language)  # es: 1.615,2


def _fmt_number(v: float, kind: str, scale: float, *, signed: bool, growth: bool, money_digits: int) -> str:
    if signed:  # no "-0": a difference that rounds to nothing is shown as 0
        digits = {"money": money_digits, "people": 0}.get(kind, 1)
        v = v / scale if kind == "money" else v * 100 if kind == "pct" else v
        v = round(v, digits) + 0.0
        if v == 0:
            return f"{0:.{digits}f}"
        return f"{v:+,.{digits}f}"
    if kind == "money":
        return f"{v / scale:,.{money_digits}f}"
    if kind == "people":
        return f"{v:,.0f}"
    v = 0.0 if round(v * 100, 1) == 0 else v  # a share that rounds to nothing: 0.0%, never -0.0%
    return f"{v:+.1%}" if growth else f"{v:.1%}"


_GRID_SETTING = re.compile(r"([a-z][a-z0-9_]*)=([^_]*)(?:_|$)")
# grid settings that are shares: shown as percentages
_SHARE_SETTINGS = {"growth", "max_disruption", "chance", "cap_share", "shrinkage", "potential", "workload"}


def scenario_label(name: str, language: str = "en") -> str:
    """A scenario's name as readers read it: a grid point's settings in words, not code.

    >>> scenario_label("sweep__growth=0.06_stretch=1.1")
    'sweep: growth 6%, stretch 1.1'
    """
    base, sep, point = str(name).partition("__")
    if not sep:
        return str(name)
    parts = []
    for key, value in _GRID_SETTING.findall(point):
        label = word(f"grid_{key}", language) if has_word(f"grid_{key}") else key.replace("_", " ")
        try:
            number = float(value)
        except ValueError:
            parts.append(f"{label} {value}")
            continue
        if key in _SHARE_SETTINGS and abs(number) <= 1:
            shown = f"{number:.0%}" if round(number * 100, 6) == round(number * 100) else f"{number:.1%}"
        else:
            shown = f"{number:g}"
        parts.append(f"{label} {number_style(shown, language)}")
    return f"{base}: {', '.join(parts)}" if parts else str(name)


def readable_comparison(comparison: pd.DataFrame, *, language: str = "en", money_unit: str = "wan") -> pd.DataFrame:
    """The comparison for reading: figures down (unit in the label), each scenario's value across,
    then each scenario's difference from the reference (money in the unit, people whole, shares in points)."""
    scale = money_scale(money_unit)
    digits = MONEY_DECIMALS[money_unit]  # the pages' decimals for the unit (thousands whole, 万元 one)
    ref = reference_of(comparison)
    ref_label = f"{ref} ({word('cmp_reference', language)})"
    others = [sc for sc in comparison["scenario"] if sc != ref]
    rows = []
    for col, (key, kind) in COMPARISON_COLUMNS.items():
        if col not in comparison or (col in _OPTIONAL_COMPARISON and comparison[col].isna().all()):
            continue
        name = word(key, language)
        row = {word("cmp_figure", language): f"{name} ({money_unit_label(money_unit, language)})" if kind == "money" else name}
        by_scenario = dict(zip(comparison["scenario"], comparison[col]))
        row[ref_label] = _fmt_value(by_scenario[ref], kind, scale, growth="growth" in col, language=language,
                                    money_digits=digits)
        for sc in others:
            row[sc] = _fmt_value(by_scenario[sc], kind, scale, growth="growth" in col, language=language,
                                 money_digits=digits)
        diff_col = f"{col}_vs_reference"
        diffs = dict(zip(comparison["scenario"], comparison[diff_col])) if diff_col in comparison else {}
        for sc in others:
            d = diffs.get(sc)
            text = _fmt_value(d, kind, scale, signed=True, language=language, money_digits=digits)
            if kind == "pct" and text != "–":
                text = f"{text} {word('cmp_points', language)}"
            row[word("cmp_vs_reference", language).format(scenario=sc)] = text
        rows.append(row)
    return pd.DataFrame(rows)


def readable_targets(table: pd.DataFrame, by: str, reference: str, *, language: str = "en", money_unit: str = "wan",
                     names: Mapping[Any, str] | None = None) -> pd.DataFrame:
    """A target comparison (:func:`compare_targets`) for reading: regions or months down, the reference's
    target, each scenario's target, its difference and the difference in percent; a total row last."""
    scale = money_scale(money_unit)
    key = TARGET_COMPARISONS[by][1]
    if table.empty:
        return pd.DataFrame()
    ref = reference
    scenarios = list(dict.fromkeys(table["scenario"]))
    if ref in scenarios:
        scenarios.remove(ref)
    unit = money_unit_label(money_unit, language)
    keys = list(dict.fromkeys(table[key]))
    wide = table.pivot_table(index=key, columns="scenario", values="target", aggfunc="sum", sort=False).reindex(keys)
    ref_target = table.drop_duplicates(key).set_index(key)["reference_target"].reindex(keys)
    label_of = (lambda k: month_label(k, language, with_year=True)) if by == "month" else \
        (lambda k: (names or {}).get(k, k))
    first = word("month" if by == "month" else "region", language)
    out = pd.DataFrame({first: [label_of(k) for k in keys] + [word("total", language)]})

    def money(values: pd.Series, signed: bool = False) -> list[str]:
        vals = list(values) + [float(np.nansum(values))]
        return [_fmt_value(v, "money", scale, signed=signed, language=language, money_digits=MONEY_DECIMALS[money_unit])
                for v in vals]

    out[f"{ref} ({word('cmp_reference', language)}, {unit})"] = money(ref_target)
    for sc in scenarios:
        values = wide[sc] if sc in wide else pd.Series(np.nan, index=keys)
        diff = values - ref_target
        out[f"{sc} ({unit})"] = money(values)
        out[word("cmp_vs_reference", language).format(scenario=sc) + f" ({unit})"] = money(diff, signed=True)
        total_ref = float(np.nansum(ref_target))
        shares = list(diff / ref_target.replace(0, np.nan)) + [float(np.nansum(diff)) / total_ref if total_ref else np.nan]
        out[word("cmp_vs_reference", language).format(scenario=sc) + " (%)"] = [
            "–" if pd.isna(v) else _fmt_value(v, "pct", 1.0, growth=round(v * 100, 1) != 0, language=language)  # 0.0%
            for v in shares]
    return out


def readable_params_diff(a: Mapping[str, Any], b: Mapping[str, Any], name_a: str, name_b: str, *,
                         language: str = "en", money_unit: str = "thousand",
                         names: Mapping[Any, str] | None = None) -> pd.DataFrame:
    """The settings that differ between two scenarios, in words: each setting's label from the vocabulary
    (never its params key), its values in the reader's style (shares as percentages, money in the page's
    unit, choices in words), nothing cut; a description given per language in the reader's."""
    def readable(params: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in params.items() if k != "scenario"}
        if "description" in out:
            out["description"] = description_text(out["description"], language)[0]
        return out

    rows = setting_values(readable(a), readable(b))
    opts = {"money_unit": money_unit, "names": names}
    return pd.DataFrame({word("cmp_setting", language): [setting_label(k, language, names) for k, _, _ in rows],
                         name_a: [setting_value(k, v, language, **opts) for k, v, _ in rows],
                         name_b: [setting_value(k, v, language, **opts) for k, _, v in rows]})


def region_names(run_dir: str | Path, language: str = "en") -> dict[Any, str]:
    """Region id → name in the reader's language, from a run's copy of the org input (ids if it has none)."""
    org = run_folder.read_input(run_dir, "org")
    if org is None:
        return {}
    if not {"name_en", "name"} & set(org.columns):
        return {}
    return {str(k): v for k, v in overview.unit_names(org, "unit_id", language).items()}


def pick_pair(manifest: Mapping[str, Any], a: str = "", b: str = "") -> tuple[str, str]:
    """Two scenario names for a params diff: the ones asked for, else the first and last."""
    names = [s["name"] for s in manifest["scenarios"]]
    if not names:
        raise InputError("the batch has no scenarios")
    return (a or names[0], b or names[-1])
