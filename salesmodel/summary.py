"""The plan in five numbers, its main risks, and scenarios side by side.

Reads the tables a run's notebooks saved (``targets_region``, ``achievability``,
``capacity_plan``, ``workload``, ``pay_cost``, ``territory_metrics``, ``pacing``)
and condenses them for leadership. Every figure is traceable to one table and
one column; a figure whose table the run did not produce is ``None`` and is
said to be missing, never invented.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.errors import InputError

__all__ = [
    "KeyFigures",
    "key_figures",
    "risks",
    "load_run_tables",
    "compare_runs",
    "diff_params",
    "FIGURE_SOURCES",
]

# Where each figure comes from: (table, column, how) — shown in the report's notes.
FIGURE_SOURCES: dict[str, str] = {
    "total_target": "targets_region.target (sum)",
    "last_year": "targets_region.last_year (sum)",
    "growth_over_last_year": "total_target / last_year - 1",
    "baseline": "achievability.baseline (company row, else sum of regions)",
    "growth_over_baseline": "total_target / baseline - 1",
    "probability_of_meeting": "achievability.probability (company row, else target-weighted mean of regions)",
    "units_at_risk": "achievability.flag (count of flagged rows at the finest level)",
    "headcount_needed": "capacity_plan.headcount_end (last month, summed over teams)",
    "hires": "capacity_plan.hires_decided (sum)",
    "staffing_shortfall_months": "capacity_plan.shortfall (count of team-months)",
    "pay_cost": "pay_cost.total_pay (sum, 100% achievement scenario when present)",
    "cost_share": "pay_cost / total_target",
    "territory_max_deviation": "territory_metrics deviation columns (largest absolute value)",
}


@dataclass(frozen=True)
class KeyFigures:
    """Headline numbers of one run; ``None`` where the run lacks the table."""

    total_target: float | None
    last_year: float | None
    growth_over_last_year: float | None
    baseline: float | None
    growth_over_baseline: float | None
    probability_of_meeting: float | None
    units_at_risk: int | None
    headcount_needed: float | None
    hires: float | None
    staffing_shortfall_months: int | None
    pay_cost: float | None
    cost_share: float | None
    territory_max_deviation: float | None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return float(num) / float(den) - 1.0


def _finest(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of the finest organisation level present in an achievability table."""
    if "level" not in df.columns:
        return df
    order = ["customer", "rep", "province", "region", "company"]
    present = [lv for lv in order if lv in set(df["level"])]
    return df[df["level"] == present[0]] if present else df


def key_figures(tables: Mapping[str, pd.DataFrame]) -> KeyFigures:
    """Condense a run's tables into the headline numbers.

    >>> t = {"targets_region": pd.DataFrame({"target": [60.0, 50.0], "last_year": [50.0, 50.0]})}
    >>> key_figures(t).growth_over_last_year
    0.1
    """
    total = last = baseline = prob = None
    at_risk = None
    tr = tables.get("targets_region")
    if tr is not None and "target" in tr:
        total = float(tr["target"].sum())
        if "last_year" in tr:
            last = float(tr["last_year"].sum())
    ach = tables.get("achievability")
    if ach is not None and not ach.empty:
        company = ach[ach["level"] == "company"] if "level" in ach else ach.iloc[0:0]
        regions = ach[ach["level"] == "region"] if "level" in ach else ach
        if len(company) == 1:
            baseline = float(company["baseline"].iloc[0])
            prob = float(company["probability"].iloc[0])
        elif not regions.empty:
            baseline = float(regions["baseline"].sum())
            w = regions["target"].to_numpy(dtype=float)
            prob = float(np.average(regions["probability"], weights=w)) if w.sum() > 0 else None
        if "flag" in ach:
            at_risk = int(_finest(ach)["flag"].astype(bool).sum())
    cap = tables.get("capacity_plan")
    headcount = hires = None
    shortfall_months = None
    if cap is not None and not cap.empty:
        month_col = "month" if "month" in cap else cap.columns[0]
        last_month = cap[month_col].astype(str).max()
        headcount = float(cap.loc[cap[month_col].astype(str) == last_month, "headcount_end"].sum())
        hires = float(cap["hires_decided"].sum())
        if "shortfall" in cap:
            shortfall_months = int(cap["shortfall"].astype(bool).sum())
    pay = tables.get("pay_cost")
    pay_total = None
    if pay is not None and not pay.empty and "total_pay" in pay:
        if "scenario" in pay and "100%" in set(pay["scenario"].astype(str)):
            pay = pay[pay["scenario"].astype(str) == "100%"]
        elif "scenario" in pay:
            pay = pay[pay["scenario"] == pay["scenario"].iloc[0]]
        rep_rows = pay[pay["rep_id"].astype(str).str.lower() != "total"] if "rep_id" in pay else pay
        pay_total = float(rep_rows["total_pay"].sum())
    terr = tables.get("territory_metrics")
    max_dev = None
    if terr is not None and not terr.empty:
        dev_cols = [c for c in terr.columns if c.endswith("_deviation") or c.startswith("deviation_")]
        if dev_cols:
            max_dev = float(terr[dev_cols].abs().to_numpy().max())
    return KeyFigures(
        total_target=total,
        last_year=last,
        growth_over_last_year=_ratio(total, last),
        baseline=baseline,
        growth_over_baseline=_ratio(total, baseline),
        probability_of_meeting=prob,
        units_at_risk=at_risk,
        headcount_needed=headcount,
        hires=hires,
        staffing_shortfall_months=shortfall_months,
        pay_cost=pay_total,
        cost_share=(pay_total / total) if pay_total is not None and total else None,
        territory_max_deviation=max_dev,
    )


_RISK_TEXT = {
    "growth": {
        "en": "{unit} is asked to grow {growth:.0%} over the baseline; chance of meeting it {prob:.0%}.",
        "zh": "{unit} 需比基线增长 {growth:.0%},达成概率 {prob:.0%}。",
        "es": "A {unit} se le pide crecer {growth:.0%} sobre la línea base; probabilidad de lograrlo {prob:.0%}.",
    },
    "shortfall": {
        "en": "Capacity falls short of the target in {n} team-months (first: {first}), even with the fewest hires that can start in time.",
        "zh": "即使按时招聘,仍有 {n} 个团队月产能不足(最早:{first})。",
        "es": "La capacidad no alcanza el objetivo en {n} meses-equipo (el primero: {first}), aun con las contrataciones posibles a tiempo.",
    },
    "territory": {
        "en": "Territory balance: the largest deviation from the mean is {dev:.1%}.",
        "zh": "区域均衡:与平均值的最大偏差为 {dev:.1%}。",
        "es": "Equilibrio territorial: la mayor desviación respecto a la media es {dev:.1%}.",
    },
    "none": {
        "en": "No unit is below the achievability threshold.",
        "zh": "没有单位低于可达成性阈值。",
        "es": "Ninguna unidad está por debajo del umbral de alcanzabilidad.",
    },
}


def risks(
    tables: Mapping[str, pd.DataFrame],
    *,
    language: str = "en",
    top: int = 5,
    names: Mapping[str, str] | None = None,
) -> list[str]:
    """The main risks in plain sentences, most serious first.

    ``names`` maps unit ids (region, rep...) to the names readers know.
    """
    names = names or {}
    lang = language if language in ("en", "zh", "es") else "en"
    out: list[str] = []
    ach = tables.get("achievability")
    if ach is not None and not ach.empty and "flag" in ach:
        flagged = ach[ach["flag"].astype(bool)]
        coarse = flagged[flagged["level"].isin(["company", "region"])] if "level" in flagged else flagged
        pick = (coarse if not coarse.empty else flagged).sort_values("probability").head(top)
        for row in pick.itertuples(index=False):
            out.append(_RISK_TEXT["growth"][lang].format(unit=names.get(row.unit_id, row.unit_id), growth=row.growth_asked, prob=row.probability))
        if flagged.empty:
            out.append(_RISK_TEXT["none"][lang])
    cap = tables.get("capacity_plan")
    if cap is not None and "shortfall" in cap and cap["shortfall"].astype(bool).any():
        short = cap[cap["shortfall"].astype(bool)]
        month_col = "month" if "month" in cap else cap.columns[0]
        out.append(_RISK_TEXT["shortfall"][lang].format(n=len(short), first=str(short[month_col].astype(str).min())))
    fig = key_figures(tables)
    if fig.territory_max_deviation is not None:
        out.append(_RISK_TEXT["territory"][lang].format(dev=fig.territory_max_deviation))
    return out


def load_run_tables(run_dir: str | Path, names: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The Parquet tables of a run folder (``tables/*.parquet``), by name."""
    tables_dir = Path(run_dir) / "tables"
    if not tables_dir.is_dir():
        raise InputError(f"{run_dir}: not a run folder (no tables/ inside)")
    wanted = set(names) if names else None
    return {
        p.stem: pd.read_parquet(p)
        for p in sorted(tables_dir.glob("*.parquet"))
        if wanted is None or p.stem in wanted
    }


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def _run_params(run_dir: Path) -> dict[str, Any]:
    manifest = run_dir / "manifest.json"
    if not manifest.is_file():
        raise InputError(f"{run_dir}: no manifest.json; not a finished run folder")
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return data


def compare_runs(run_dirs: list[str | Path]) -> pd.DataFrame:
    """One row per run: scenario, params hash and the key figures side by side."""
    rows = []
    for rd in run_dirs:
        rd = Path(rd)
        manifest = _run_params(rd)
        params = manifest.get("params", {})
        # A run that saved no tables still ran: its figures are simply missing.
        tables = load_run_tables(rd) if (rd / "tables").is_dir() else {}
        figures = key_figures(tables)
        rows.append({
            "scenario": params.get("scenario", rd.name),
            "run_id": manifest.get("run_id", rd.name),
            "params_sha256": manifest.get("params_sha256"),
            **figures.as_dict(),
        })
    return pd.DataFrame(rows)


def diff_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> pd.DataFrame:
    """The params that differ between two scenarios, one row per dotted key.

    >>> diff_params({"targets": {"growth": 0.1}}, {"targets": {"growth": 0.15}})
                  key    a     b
    0  targets.growth  0.1  0.15
    """
    fa: dict[str, Any] = {}
    fb: dict[str, Any] = {}
    _flatten("", dict(a), fa)
    _flatten("", dict(b), fb)
    keys = sorted(set(fa) | set(fb))
    rows = [(k, fa.get(k), fb.get(k)) for k in keys if fa.get(k) != fb.get(k)]
    return pd.DataFrame(rows, columns=["key", "a", "b"])


# Words of the leadership page (report.LABELS holds the shared ones).
LEADERSHIP_TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Year-start plan: executive summary", "zh": "年度销售计划:摘要", "es": "Plan anual: resumen ejecutivo"},
    "plan_total": {"en": "Plan total", "zh": "计划总额", "es": "Total del plan"},
    "vs_last_year": {"en": "Growth over last year", "zh": "较去年增长", "es": "Crecimiento sobre el año anterior"},
    "vs_baseline": {"en": "Growth over the baseline", "zh": "较基线增长", "es": "Crecimiento sobre la línea base"},
    "probability": {"en": "Chance of meeting the plan", "zh": "达成概率", "es": "Probabilidad de cumplir el plan"},
    "people": {"en": "People needed (hires)", "zh": "所需人数(招聘)", "es": "Personas necesarias (contrataciones)"},
    "pay_share": {"en": "Pay as a share of target", "zh": "薪酬占目标比例", "es": "Coste salarial sobre el objetivo"},
    "risks": {"en": "Main risks", "zh": "主要风险", "es": "Riesgos principales"},
    "not_in_run": {"en": "not in this run", "zh": "本次未计算", "es": "no incluido"},
    "provenance": {"en": "Provenance", "zh": "数据来源与可追溯性", "es": "Procedencia"},
    "plan_by_month": {"en": "Plan by month against the baseline", "zh": "月度计划与基线对比", "es": "Plan mensual frente a la línea base"},
    "target_by_region": {"en": "Target by region against last year", "zh": "各大区目标与去年对比", "es": "Objetivo por región frente al año anterior"},
    "capacity_vs_target": {"en": "Sales capacity against the target", "zh": "销售产能与目标对比", "es": "Capacidad de ventas frente al objetivo"},
    "territory_balance": {"en": "Territory balance", "zh": "区域均衡", "es": "Equilibrio territorial"},
    "capacity": {"en": "Capacity", "zh": "产能", "es": "Capacidad"},
}


def text(key: str, language: str = "en") -> str:
    """A leadership-page phrase in ``language`` (English when missing)."""
    entry = LEADERSHIP_TEXT[key]
    return entry.get(language) or entry["en"]


def headline_tiles(figures: KeyFigures, *, language: str = "en", money_unit: str = "wan"):
    """The plan in five numbers, drawn as tiles (a matplotlib Figure)."""
    import matplotlib.pyplot as plt

    from salesmodel.report import format_money

    missing = text("not_in_run", language)

    def pct(v: float | None) -> str:
        return missing if v is None else f"{v:+.1%}"

    people = missing
    if figures.headcount_needed is not None:
        people = f"{figures.headcount_needed:,.0f} ({figures.hires or 0:,.0f})"
    tiles = [
        (text("plan_total", language), missing if figures.total_target is None else format_money(figures.total_target, money_unit, language)),
        (text("vs_last_year", language), pct(figures.growth_over_last_year)),
        (text("vs_baseline", language), pct(figures.growth_over_baseline)),
        (text("probability", language), missing if figures.probability_of_meeting is None else f"{figures.probability_of_meeting:.0%}"),
        (text("people", language), people),
    ]
    fig, axes = plt.subplots(1, len(tiles), figsize=(3.0 * len(tiles), 1.9))
    for ax, (title, value) in zip(axes, tiles):
        ax.set_axis_off()
        ax.add_patch(plt.Rectangle((0.02, 0.04), 0.96, 0.92, transform=ax.transAxes, color="#EEF2F8", zorder=0))
        ax.text(0.5, 0.70, title, ha="center", va="center", fontsize=10, color="#44546A", transform=ax.transAxes, wrap=True)
        ax.text(0.5, 0.34, value, ha="center", va="center", fontsize=18, color="#1F3864", transform=ax.transAxes)
    fig.tight_layout()
    return fig


def provenance(scenario: Any, run_dir: str | Path) -> dict[str, Any]:
    """What a reader needs to trace this page: run id, params hash, data hashes, version.

    Computed while the run is still being built, so it does not need the manifest;
    ``salesmodel verify`` checks the same hashes afterwards.
    """
    import salesmodel
    from salesmodel import audit
    from salesmodel.params import params_hash

    run_dir = Path(run_dir)
    run_id = run_dir.name.removeprefix(".building-")
    inputs = {}
    for key, path in audit.input_files(scenario).items():
        inputs[key] = audit.sha256_file(path)[:16]
    git = audit.git_info() or {}
    return {
        "run_id": run_id,
        "scenario": scenario.scenario,
        "params_sha256": params_hash(scenario),
        "salesmodel": salesmodel.__version__,
        "git_commit": (git.get("commit") or "")[:12] or None,
        "inputs_sha256": inputs,
    }


def baseline_by_month(forecast: pd.DataFrame, periods: pd.Series | list[str] | None = None) -> pd.DataFrame:
    """The company baseline per month (``period`` as YYYY-MM) from a forecast table.

    Uses the company-level series when the forecast holds one (its intervals are
    then valid); otherwise sums ``yhat`` over the series and leaves the intervals
    out, because a sum of quantiles is not a quantile of the sum.
    """
    fc = forecast.copy()
    fc["period"] = pd.to_datetime(fc["ds"]).dt.strftime("%Y-%m")
    company = pd.DataFrame()
    for col in ("level", "unique_id"):
        if col in fc:
            company = fc[fc[col].astype(str).str.lower().isin(["company", "total"])]
            if not company.empty:
                break
    if not company.empty:
        cols = [c for c in ("yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95") if c in company]
        out = company.groupby("period", as_index=False)[cols].sum()
    else:
        out = fc.groupby("period", as_index=False)["yhat"].sum()
    if periods is not None:
        out = out[out["period"].isin(set(pd.Series(periods).astype(str)))]
    return out.reset_index(drop=True)


# ---- batches -------------------------------------------------------------------------

_COMPARISON_COLUMNS = {
    "total_target": ("plan_total", "money"),
    "growth_over_last_year": ("vs_last_year", "pct"),
    "growth_over_baseline": ("vs_baseline", "pct"),
    "probability_of_meeting": ("probability", "pct"),
    "headcount_needed": ("people", "num"),
    "hires": ("hires", "num"),
    "pay_cost": ("pay_cost", "money"),
    "territory_max_deviation": ("territory_balance", "pct"),
}
LEADERSHIP_TEXT.update({
    "hires": {"en": "Hires", "zh": "招聘人数", "es": "Contrataciones"},
    "pay_cost": {"en": "Pay cost", "zh": "薪酬成本", "es": "Coste salarial"},
    "scenario": {"en": "Scenario", "zh": "方案", "es": "Escenario"},
})


def read_batch_manifest(batch_dir: str | Path) -> dict[str, Any]:
    """The batch manifest written by :func:`salesmodel.batch.run_batch`."""
    path = Path(batch_dir) / "batch_manifest.json"
    if not path.is_file():
        raise InputError(f"{batch_dir}: not a batch folder (no batch_manifest.json)")
    return json.loads(path.read_text(encoding="utf-8"))


def batch_comparison(batch_dir: str | Path) -> pd.DataFrame:
    """The batch's comparison table (one row per scenario that finished)."""
    path = Path(batch_dir) / "comparison.parquet"
    if not path.is_file():
        return pd.DataFrame(columns=["scenario", *FIGURE_SOURCES])
    return pd.read_parquet(path)


def readable_comparison(comparison: pd.DataFrame, *, language: str = "en", money_unit: str = "wan") -> pd.DataFrame:
    """The comparison for reading: scenarios down, headline figures across, formatted."""
    from salesmodel.report import money_scale, money_unit_label

    scale = money_scale(money_unit)
    out = pd.DataFrame({text("scenario", language): comparison["scenario"]})
    for col, (key, kind) in _COMPARISON_COLUMNS.items():
        if col not in comparison:
            continue
        values = pd.to_numeric(comparison[col], errors="coerce")
        if kind == "money":
            out[f"{text(key, language)} ({money_unit_label(money_unit, language)})"] = (values / scale).round(1)
        elif kind == "pct":
            out[text(key, language)] = values.map(lambda v: "–" if pd.isna(v) else f"{v:+.1%}" if "growth" in col else f"{v:.1%}")
        else:
            out[text(key, language)] = values.round(1)
    return out.set_index(text("scenario", language))


def comparison_chart(comparison: pd.DataFrame, *, language: str = "en", money_unit: str = "wan"):
    """Small multiples: one bar chart per headline figure, scenarios side by side."""
    import matplotlib.pyplot as plt

    from salesmodel.report import money_scale

    cols = [c for c in _COMPARISON_COLUMNS if c in comparison and comparison[c].notna().any()]
    n = max(1, len(cols))
    ncols = min(3, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 2.8 * nrows), squeeze=False)
    labels = comparison["scenario"].astype(str).str.replace("__", "\n", regex=False)
    for ax, col in zip(axes.ravel(), cols):
        key, kind = _COMPARISON_COLUMNS[col]
        values = pd.to_numeric(comparison[col], errors="coerce")
        if kind == "money":
            values = values / money_scale(money_unit)
        elif kind == "pct":
            values = values * 100
        ax.bar(range(len(values)), values, color="#2F5597")
        ax.set_title(text(key, language) + (" (%)" if kind == "pct" else ""), fontsize=10)
        ax.set_xticks(range(len(values)), labels, fontsize=7, rotation=30, ha="right")
    for ax in axes.ravel()[len(cols):]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def scenario_params(batch_dir: str | Path, name: str) -> dict[str, Any]:
    """The resolved params of one scenario of a batch."""
    import yaml

    manifest = read_batch_manifest(batch_dir)
    for s in manifest["scenarios"]:
        if s["name"] == name:
            return yaml.safe_load(Path(s["params_file"]).read_text(encoding="utf-8"))
    raise InputError(f"{batch_dir}: no scenario named {name!r}; scenarios: {[s['name'] for s in manifest['scenarios']]}")


def pick_pair(manifest: Mapping[str, Any], a: str = "", b: str = "") -> tuple[str, str]:
    """Two scenario names for a params diff: the ones asked for, else the first and last."""
    names = [s["name"] for s in manifest["scenarios"]]
    if not names:
        raise InputError("the batch has no scenarios")
    return (a or names[0], b or names[-1])
