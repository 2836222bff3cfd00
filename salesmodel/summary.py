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
from salesmodel.vocabulary import word

__all__ = [
    "KeyFigures",
    "key_figures",
    "risks",
    "risk_table",
    "unmet_requirements",
    "load_run_tables",
    "compare_runs",
    "diff_params",
    "FIGURE_SOURCES",
    "FIGURE_UNITS",
]

# Where each figure comes from: (table, column, how) — shown in the report's notes and
# written into the ``key_figures`` table beside each value.
FIGURE_SOURCES: dict[str, str] = {
    "total_target": "targets_total.target",
    "last_year": "targets_total.last_year",
    "growth_over_last_year": "total_target / last_year - 1",
    "baseline": "achievability.baseline (company row, else sum of regions)",
    "growth_over_baseline": "total_target / baseline - 1",
    "probability_of_meeting": "P(company sales >= target) from the company-level series of baseline_forecast_levels "
                              "(the reconciled total, so the correlation between units is the history's own); its "
                              "months are combined with correlation 0.5 between months (as achievability)",
    "units_at_risk": "flagged_units (reps below the achievability threshold, the five with most money at risk)",
    "headcount_needed": "capacity_plan.headcount_end (last month, summed over teams)",
    "hires": "capacity_plan.hires_starting (sum)",
    "staffing_shortfall_months": "capacity_plan.shortfall (count of team-months)",
    "pay_cost": "pay_cost.total_pay (100% scenario, a month, summed over reps) x 12",
    "cost_share": "pay_cost.total_pay / pay_cost.target (100% scenario, summed over reps)",
    "territory_max_deviation": "territory_summary.max_*_dev (proposed, largest)",
}
FIGURE_UNITS: dict[str, str] = {
    "total_target": "yuan", "last_year": "yuan", "growth_over_last_year": "share", "baseline": "yuan",
    "growth_over_baseline": "share", "probability_of_meeting": "probability", "units_at_risk": "count",
    "headcount_needed": "people", "hires": "people", "staffing_shortfall_months": "count", "pay_cost": "yuan",
    "cost_share": "share", "territory_max_deviation": "share",
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

    def as_table(self) -> pd.DataFrame:
        """The ``key_figures`` table: figure, value, unit, source."""
        return pd.DataFrame({
            "figure": list(FIGURE_SOURCES),
            "value": [np.nan if getattr(self, k) is None else float(getattr(self, k)) for k in FIGURE_SOURCES],
            "unit": [FIGURE_UNITS[k] for k in FIGURE_SOURCES],
            "source": list(FIGURE_SOURCES.values()),
        })

    @classmethod
    def from_table(cls, table: pd.DataFrame | None) -> KeyFigures:
        """Read the ``key_figures`` table a run's summary step wrote (missing figures are None)."""
        values = {} if table is None else dict(zip(table["figure"], table["value"]))

        def get(k: str) -> Any:
            v = values.get(k)
            if v is None or pd.isna(v):
                return None
            return int(v) if k in ("units_at_risk", "staffing_shortfall_months") else float(v)

        return cls(**{k: get(k) for k in FIGURE_SOURCES})


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return float(num) / float(den) - 1.0


def _finest(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of the finest organisation level present in an achievability table."""
    order = ["customer", "rep", "province", "region", "company"]
    present = [lv for lv in order if lv in set(df["level"])]
    return df[df["level"] == present[0]] if present else df


# Correlation between the months of a unit's year when monthly spreads are added up (the
# achievability default of salesmodel.targets): stated on the leadership page.
MONTH_CORRELATION = 0.5
# How many units the leadership page flags: the ones with most money at risk.
FLAG_TOP = 5


def company_probability(levels: pd.DataFrame | None, target: float | None, plan_year: int | None) -> tuple[float, float] | None:
    """The chance that the company meets ``target``, and the baseline, from the company-level forecast.

    The reconciled company series of ``baseline_forecast_levels`` (level ``total``) carries
    the whole company's spread, so units that move together are not treated as
    independent; its plan-year months are added up with :data:`MONTH_CORRELATION`
    between months, and the year's outcome is taken as normal (as
    :func:`salesmodel.targets.achievability`, which computes it).
    """
    from salesmodel.targets.achievability import achievability

    if levels is None or target is None or plan_year is None or "level" not in levels:
        return None
    total = levels[(levels["level"] == "total") & (pd.to_datetime(levels["ds"]).dt.year == int(plan_year))]
    if total.empty or not [c for c in total.columns if c.startswith("yhat_lo_")]:
        return None
    fc = total.assign(unit="company")
    out = achievability(pd.DataFrame({"unit": ["company"], "target": [float(target)]}), fc, keys="unit",
                        correlation=MONTH_CORRELATION)
    return float(out["probability"].iloc[0]), float(out["baseline"].iloc[0])


def money_at_risk(target: Any, baseline: Any, sd: Any) -> np.ndarray:
    """Expected shortfall E[max(target - X, 0)] for X normal with the baseline's mean and spread."""
    from scipy.stats import norm

    t, m, s = (np.asarray(v, dtype=float) for v in (target, baseline, sd))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (t - m) / s, np.inf * np.sign(t - m))
        es = np.where(s > 0, (t - m) * norm.cdf(z) + s * norm.pdf(z), np.maximum(t - m, 0.0))
    return np.maximum(es, 0.0)


def flagged_units(tables: Mapping[str, pd.DataFrame], *, top: int = FLAG_TOP) -> pd.DataFrame:
    """The few units that matter: below the achievability threshold, most money at risk first (at most ``top``).

    Units are reps when the run has them (else the finest level); money at risk is the
    expected amount by which the unit misses its target if sales follow the baseline.
    """
    cols = ["level", "unit_id", "target", "baseline", "growth_asked", "probability", "money_at_risk", "rank"]
    ach = tables.get("achievability")
    if ach is None or ach.empty:
        return pd.DataFrame(columns=cols)
    level = "rep" if "rep" in set(ach["level"]) else _finest(ach)["level"].iloc[0]
    rows = ach[(ach["level"] == level) & ach["flag"].astype(bool)].copy()
    rows["money_at_risk"] = money_at_risk(rows["target"], rows["baseline"], rows.get("baseline_sd", 0.0))
    rows = rows.sort_values(["money_at_risk", "unit_id"], ascending=[False, True]).head(top)
    rows["rank"] = np.arange(1, len(rows) + 1, dtype="int64")
    return rows[cols].reset_index(drop=True)


def key_figures(tables: Mapping[str, pd.DataFrame], plan_year: int | None = None) -> KeyFigures:
    """Condense a run's declared tables into the headline numbers (the summary step calls this once).

    >>> t = {"targets_total": pd.DataFrame({"target": [110.0], "last_year": [100.0]})}
    >>> round(key_figures(t).growth_over_last_year, 3)
    0.1
    """
    total = last = baseline = prob = None
    at_risk = None
    tt = tables.get("targets_total")
    if tt is not None and len(tt):
        total, last = float(tt["target"].iloc[0]), float(tt["last_year"].iloc[0])
    ach = tables.get("achievability")
    if ach is not None and not ach.empty:
        company = ach[ach["level"] == "company"]
        regions = ach[ach["level"] == "region"]
        if len(company) == 1:
            baseline = float(company["baseline"].iloc[0])
            prob = float(company["probability"].iloc[0])
        elif not regions.empty:
            baseline = float(regions["baseline"].sum())
        at_risk = int(len(flagged_units(tables)))
    company_level = company_probability(tables.get("baseline_forecast_levels"), total, plan_year)
    if company_level is not None:
        prob, baseline = company_level
    cap = tables.get("capacity_plan")
    headcount = hires = None
    shortfall_months = None
    if cap is not None and not cap.empty:
        last_month = cap["month"].astype(str).max()
        headcount = float(cap.loc[cap["month"].astype(str) == last_month, "headcount_end"].sum())
        hires = float(cap["hires_starting"].sum())
        shortfall_months = int(cap["shortfall"].astype(bool).sum())
    pay = tables.get("pay_cost")
    pay_total = cost_share = None
    if pay is not None and not pay.empty:
        scenario = "100%" if "100%" in set(pay["scenario"]) else pay["scenario"].iloc[0]
        at_plan = pay[pay["scenario"] == scenario]
        # pay_cost is a month of pay against a month of target: the share needs no scaling
        pay_total = 12.0 * float(at_plan["total_pay"].sum())
        month_target = float(at_plan["target"].sum())
        cost_share = float(at_plan["total_pay"].sum()) / month_target if month_target else None
    terr = tables.get("territory_summary")
    max_dev = None
    if terr is not None and not terr.empty:
        proposed = terr[terr["plan"] == "proposed"]
        dev_cols = [c for c in proposed.columns if c.startswith("max_") and c.endswith("_dev")]
        values = proposed[dev_cols].to_numpy(dtype=float)
        if values.size and not np.isnan(values).all():
            max_dev = float(np.nanmax(np.abs(values)))
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
        cost_share=cost_share,
        territory_max_deviation=max_dev,
    )


RISK_COLUMNS = ["kind", "unit_id", "value", "probability", "money", "asked", "detail"]


def risk_table(tables: Mapping[str, pd.DataFrame], figures: KeyFigures, *, top: int = 5,
               calendar_status: tuple[str, int, str] | None = None,
               unmet: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every risk the run's tables show, most money first, then the rest (the ``risks`` table).

    Kinds: ``growth`` (regions below the achievability threshold, by money at risk),
    ``shortfall`` (capacity short of the target, with its months and amount), ``unmet``
    (a requirement of the params the plan does not meet, e.g. a territory tolerance),
    ``calendar`` (the plan year's holidays are not officially announced), ``decline``
    (units asked to sell less than last year), ``none`` (no unit below the threshold).
    """
    rows: list[dict[str, Any]] = []
    nan = np.nan

    def add(kind: str, unit_id: str = "", value: float = nan, probability: float = nan, money: float = nan,
            asked: float = nan, detail: str = "") -> None:
        rows.append({"kind": kind, "unit_id": unit_id, "value": value, "probability": probability, "money": money,
                     "asked": asked, "detail": detail})

    ach = tables.get("achievability")
    if ach is not None and not ach.empty:
        flagged = ach[ach["flag"].astype(bool)].copy()
        coarse = flagged[flagged["level"].isin(["company", "region"])].copy()
        pick = coarse if not coarse.empty else flagged
        pick = pick.assign(money=money_at_risk(pick["target"], pick["baseline"], pick.get("baseline_sd", 0.0)))
        for row in pick.sort_values(["money", "unit_id"], ascending=[False, True]).head(top).itertuples(index=False):
            add("growth", str(row.unit_id), float(row.growth_asked), float(row.probability), float(row.money),
                detail=str(row.level))
        if flagged.empty:
            add("none")
    cap = tables.get("capacity_plan")
    if cap is not None and len(cap):
        lead_in = cap["lead_in"].astype(bool) if "lead_in" in cap else False
        short = cap[cap["shortfall"].astype(bool) & ~lead_in]
        if len(short):
            months = sorted(short["month"].astype(str).unique())
            add("shortfall", ",".join(sorted(short["region_id"].astype(str).unique())), float(len(short)),
                money=float(short["shortfall_amount"].sum()) if "shortfall_amount" in short else nan,
                detail=",".join(months))
    for row in (unmet if unmet is not None else pd.DataFrame(columns=["requirement"])).itertuples(index=False):
        add("unmet", value=float(row.achieved), asked=float(row.asked), detail=str(row.requirement))
    if unmet is None or not len(unmet):
        if figures.territory_max_deviation is not None:
            add("territory", value=figures.territory_max_deviation)
    if calendar_status is not None:
        status, year, country = calendar_status
        if status in ("estimated", "unconfirmed", "unsupported"):
            add("calendar", value=float(year), detail=f"{country}:{status}")
    for level in ("region", "province"):
        t = tables.get(f"targets_{level}")
        if t is not None and len(t):
            down = t[t["growth"] < 0].sort_values("growth")
            if len(down):
                add("decline", ",".join(down[f"{level}_id"].astype(str)), float(len(down)),
                    money=float((down["last_year"] - down["target"]).sum()), detail=level)
    return pd.DataFrame(rows, columns=RISK_COLUMNS)


def unmet_requirements(tables: Mapping[str, pd.DataFrame], params: Any) -> pd.DataFrame:
    """Requirements the params asked for that the plan does not meet (the ``unmet_requirements`` table).

    Territory tolerances that the proposed design breaks, and months the capacity
    plan leaves short when a hiring cap was given. Each row names the params key,
    what was asked and what was achieved.
    """
    rows: list[dict[str, Any]] = []
    terr = tables.get("territory_summary")
    if terr is not None and not terr.empty:
        proposed = terr[terr["plan"] == "proposed"].iloc[0]
        for measure, tolerance in params.territory.balance_on.items():
            achieved = float(proposed.get(f"max_{measure}_dev", np.nan))
            if achieved > tolerance + 1e-9:
                rows.append({"step": "territory", "requirement": f"territory.balance_on.{measure}",
                             "asked": float(tolerance), "achieved": achieved,
                             "message": f"territory balance on {measure}: the proposed territories are up to "
                                        f"{achieved:.1%} off the mean, the tolerance is ±{tolerance:.1%}"})
    cap = tables.get("capacity_plan")
    cap_limit = params.staffing.max_hires_per_month
    if cap is not None and cap_limit is not None:
        short = cap[cap["shortfall"].astype(bool) & ~cap["lead_in"].astype(bool)]
        if len(short):
            rows.append({"step": "staffing", "requirement": "staffing.max_hires_per_month", "asked": float(cap_limit),
                         "achieved": float(len(short)),
                         "message": f"capacity: with at most {cap_limit} hire(s) a month, {len(short)} team-month(s) of "
                                    f"the plan year stay short of the target (first {short['month'].min()})"})
    return pd.DataFrame(rows, columns=["step", "requirement", "asked", "achieved", "message"])


def risks(
    table: pd.DataFrame,
    *,
    language: str = "en",
    names: Mapping[str, str] | None = None,
    money_unit: str = "wan",
) -> list[str]:
    """The ``risks`` table in plain sentences of the reader's language.

    ``names`` maps unit ids (region, rep...) to the names readers know.
    """
    from salesmodel.report import format_money, month_label

    names = names or {}
    out: list[str] = []

    def money(v: Any) -> str:
        return format_money(float(v), money_unit, language, decimals=0 if money_unit in ("yuan", "thousand", "wan") else 1)

    def listed(ids: str, n: int = 6) -> str:
        items = [names.get(i, i) for i in str(ids).split(",") if i]
        sep = "、" if language == "zh" else ", "
        return sep.join(items[:n]) + ("…" if len(items) > n else "")

    for row in table.itertuples(index=False):
        template = word(f"risk_{row.kind}", language) if row.kind != "unmet" else ""
        if row.kind == "growth":
            out.append(template.format(unit=names.get(row.unit_id, row.unit_id), growth=row.value, prob=row.probability,
                                       money=money(getattr(row, "money", 0.0) or 0.0)))
        elif row.kind == "shortfall":
            months = [m for m in str(row.detail).split(",") if m]
            shown = [month_label(m, language, with_year=True) for m in months[:4]]
            sep = "、" if language == "zh" else ", "
            out.append(template.format(n=int(row.value), months=sep.join(shown) + ("…" if len(months) > 4 else ""),
                                       money=money(row.money), teams=listed(row.unit_id)))
        elif row.kind == "unmet":
            req = str(row.detail)
            if req.startswith("territory.balance_on."):
                measure = req.rsplit(".", 1)[1]
                measure = word(measure, language) if measure in ("potential", "workload") else word("last_year", language)
                out.append(word("risk_unmet_territory", language).format(measure=measure, achieved=row.value, asked=row.asked))
            else:
                out.append(word("risk_unmet_staffing", language).format(asked=row.asked, n=int(row.value)))
        elif row.kind == "territory":
            out.append(template.format(dev=row.value))
        elif row.kind == "calendar":
            from salesmodel.vocabulary import has_word

            country = str(row.detail).split(":")[0]
            country = word(f"code_{country}", language) if has_word(f"code_{country}") else country
            out.append(template.format(year=int(row.value), country=country))
        elif row.kind == "decline":
            out.append(template.format(n=int(row.value), units=listed(row.unit_id), money=money(row.money)))
        else:
            out.append(template)
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
        kf = rd / "tables" / "key_figures.parquet"
        figures = KeyFigures.from_table(pd.read_parquet(kf) if kf.is_file() else None)
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


def headline_tiles(figures: KeyFigures, *, language: str = "en", money_unit: str = "wan"):
    """The plan in five numbers, drawn as tiles (a matplotlib Figure)."""
    import matplotlib.pyplot as plt

    from salesmodel.report import format_money

    missing = word("not_in_run", language)

    def pct(v: float | None) -> str:
        return missing if v is None else f"{v:+.1%}"

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
        ax.text(0.5, 0.34, value, ha="center", va="center", fontsize=18 if len(value) < 14 else 13, color="#1F3864",
                transform=ax.transAxes)
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


# ---- batches -------------------------------------------------------------------------

_COMPARISON_COLUMNS = {
    "total_target": ("plan_total", "money"),
    "growth_over_last_year": ("vs_last_year", "pct"),
    "growth_over_baseline": ("vs_baseline", "pct"),
    "probability_of_meeting": ("chance_of_meeting_plan", "pct"),
    "cost_share": ("pay_share", "pct"),
    "headcount_needed": ("people", "num"),
    "hires": ("hires", "num"),
    "pay_cost": ("pay_cost", "money"),
    "territory_max_deviation": ("territory_balance", "pct"),
}


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
    out = pd.DataFrame({word("scenario", language): comparison["scenario"]})
    for col, (key, kind) in _COMPARISON_COLUMNS.items():
        if col not in comparison:
            continue
        values = pd.to_numeric(comparison[col], errors="coerce")
        if kind == "money":
            out[f"{word(key, language)} ({money_unit_label(money_unit, language)})"] = (values / scale).round(1)
        elif kind == "pct":
            out[word(key, language)] = values.map(lambda v: "–" if pd.isna(v) else f"{v:+.1%}" if "growth" in col else f"{v:.1%}")
        else:
            out[word(key, language)] = values.round(1)
    return out.set_index(word("scenario", language))


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
        ax.set_title(word(key, language) + (" (%)" if kind == "pct" else ""), fontsize=10)
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
