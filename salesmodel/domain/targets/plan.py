"""From the company's inputs to the plan tables: units, total, cascade, phasing.

The notebooks stay thin by calling :func:`build_plan`, which strings the core
verbs together the way a year-start plan is made:

1. :func:`plan_units`: one row per active customer with its place in the
   organisation (region, province and rep from the rep's record) and the share
   bases: ``last_year`` (the last twelve full months of history before the plan
   year: the calendar year before it when complete, otherwise the latest twelve
   months), ``potential`` and ``forecast`` (the baseline forecast of the
   customer's region for the plan year, shared within the region by last year).
2. :func:`company_total`: a given total, or growth over the baseline forecast
   (over last year when there is no baseline).
3. :func:`~salesmodel.domain.targets.allocation.cascade` region -> province -> rep -> customer.
4. Phasing: each customer's target over the plan year's dekads, weighted by the
   company's seasonal month shares (:func:`seasonal_month_weights`) times each
   dekad's share of its month's working days; every other plan table (rep x
   month, rep x quarter ...) is a sum of that one, so all of them agree exactly.
5. Achievability per region, province and rep, from the baseline forecast when
   it has the unit's grain, else from a seasonal-naive forecast of the unit's
   own history (:func:`naive_forecast`, seasonal naive with drift), scaled so each region's units add up to
   the region's baseline when there is one.

Everything is pure: DataFrames in, DataFrames out.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import LEVELS, TIME_GRAINS, check, param_error
from salesmodel.domain.targets.allocation import cascade
from salesmodel.domain.targets.mix import controlled_round, mix_shares, split_by_mix, split_weights
from salesmodel.domain.targets.month_shares import baseline_month_weights, dekad_weights, phasing_weights, seasonal_month_weights
from salesmodel.domain.targets.phasing import split_over_time
from salesmodel.domain.targets.rounding import _round_grouped
from salesmodel.domain.targets.spreads import _achievability_table, level_spreads
from salesmodel.domain.targets.units import LEVEL_COLUMNS, baseline_total, company_total, monthly_history, naive_forecast, plan_units
from salesmodel.errors import ParamsError, short_list

__all__ = [
    "LEVEL_COLUMNS",
    "Plan",
    "baseline_total",
    "build_plan",
    "baseline_month_weights",
    "company_total",
    "dekad_weights",
    "phasing_weights",
    "monthly_history",
    "naive_forecast",
    "plan_units",
    "rollup",
    "seasonal_month_weights",
]


_NESTED_GRAINS = TIME_GRAINS.values


@dataclass
class Plan:
    """A year's plan: units, total, targets per level, phased plans, achievability."""

    plan_year: int
    units: pd.DataFrame
    total: dict[str, Any]
    targets: dict[str, pd.DataFrame]
    plan_customer_dekad: pd.DataFrame
    plan_rep_month: pd.DataFrame
    month_weights: pd.Series
    achievability: pd.DataFrame
    by_grain: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: Product and channel tables (empty when the sales have no product and channel).
    mix: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: How the months were phased: ``phasing`` and the Spring Festival factor by month (1..12)
    #: that moved the festival to the plan year's date (all 1 when not moved).
    phasing: str = "last_year"
    festival_factor: pd.Series | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables a run saves, by their contract names."""
        out = {f"targets_{lv}": t for lv, t in self.targets.items()}
        out["plan_rep_month"] = self.plan_rep_month
        out["plan_customer_dekad"] = self.plan_customer_dekad
        out["achievability"] = self.achievability
        out.update(self.mix)
        return out


def _grain_label(start: pd.Series, grain: str) -> pd.Series:
    s = pd.to_datetime(start)
    if grain == "year":
        return s.dt.year.astype(str)
    if grain == "half":
        return s.dt.year.astype(str) + "-H" + ((s.dt.month - 1) // 6 + 1).astype(str)
    if grain == "quarter":
        return s.dt.year.astype(str) + "-Q" + s.dt.quarter.astype(str)
    if grain == "month":
        return s.dt.strftime("%Y-%m")
    raise ParamsError(f"time grain {grain!r} cannot be summed from dekads; use one of {list(_NESTED_GRAINS)}.")


def rollup(plan: pd.DataFrame, by: Sequence[str], grain: str) -> pd.DataFrame:
    """Sum a dekad plan to coarser periods (year, half, quarter, month) per ``by``.

    Returns ``by``, ``period``, ``start``, ``end``, ``target``; exact because
    dekads nest in every coarser grain.
    """
    by = list(by)
    if grain == "dekad":
        g = plan.groupby(by + ["period"], observed=True, sort=False).agg(start=("start", "first"), end=("end", "first"), target=("target", "sum"))
        return g.reset_index().sort_values(by + ["start"]).reset_index(drop=True)
    per = plan[["period", "start", "end"]].drop_duplicates("period")
    lab = _grain_label(per["start"], grain)
    spans = per.assign(_g=lab.to_numpy()).groupby("_g").agg(start=("start", "min"), end=("end", "max"))
    mapping = pd.Series(lab.to_numpy(), index=per["period"].astype(str).to_numpy())
    p = plan[by + ["target"]].copy()
    p["period"] = mapping.reindex(plan["period"].astype(str).to_numpy()).to_numpy()
    out = p.groupby(by + ["period"], observed=True, sort=True)["target"].sum().reset_index()
    out = out.merge(spans, left_on="period", right_index=True, how="left")
    return out[by + ["period", "start", "end", "target"]]


def allocate(
    units: pd.DataFrame,
    *,
    plan_year: int,
    baseline: pd.DataFrame | None,
    total: float | None,
    growth: float,
    growth_over: str,
    stretch: float,
    basis: Mapping[str, float] | str,
    level_basis: Mapping[str, Mapping[str, float] | str] | None,
    growth_bounds: tuple[float, float] | None,
    levels: Sequence[str],
    round_to: float,
    overrides: Mapping[str, Mapping[str, float]] | None = None,
    allocation: Mapping[str, str] | None = None,
    monthly: pd.DataFrame | None = None,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The company total and its split down the organisation levels (no calendar).

    :func:`build_plan` calls this; so does the targets explorer, which therefore
    shows the run's targets at unchanged settings. Returns the company figure
    (:func:`company_total`) and the targets of each level. ``overrides`` fixes units'
    targets by level (``{"region": {"E": 3_000_000}}``): locked, out of the sharing.
    """
    tot = company_total(units, total=total, growth=growth, growth_over=growth_over,
                        baseline=baseline_total(baseline, plan_year), round_to=round_to)
    cols = [LEVEL_COLUMNS[lv] for lv in levels]
    options = {LEVEL_COLUMNS[lv]: {"basis": dict(b) if isinstance(b, Mapping) else b} for lv, b in (level_basis or {}).items()}
    basis_arg = dict(basis) if isinstance(basis, Mapping) else basis
    chance_levels = [lv for lv in levels if (allocation or {}).get(lv, "basis") == "equal_chance"]
    bad = {lv: a for lv, a in (allocation or {}).items() if a not in ("basis", "equal_chance") or lv not in levels}
    if bad:
        raise ParamsError(f"targets.allocation must map levels among {list(levels)} to 'basis' or 'equal_chance'; "
                          f"got {dict(bad)}.")
    if chance_levels:
        if monthly is None:
            raise ParamsError("allocate: equal-chance allocation needs the monthly history (monthly=).")
        for lv, spread in level_spreads(units, chance_levels, monthly, baseline, plan_year).items():
            options.setdefault(LEVEL_COLUMNS[lv], {})["spread"] = spread
    targets = cascade(tot["total"], units, cols, basis=basis_arg, reference="last_year",
                      growth_bounds=tuple(growth_bounds) if growth_bounds is not None else None,
                      round_to=round_to, stretch=stretch, options=options,
                      locks=_level_locks(overrides, levels))
    return tot, {lv: targets[LEVEL_COLUMNS[lv]] for lv in levels}


def task_split(named: dict[str, pd.DataFrame], levels: Sequence[str], task: float, round_to: float | None) -> dict[str, pd.DataFrame]:
    """Add each unit's share of the assigned task (``task``) beside its stretched target.

    The task is shared down the same tree in proportion to the targets (so a unit's task is
    its target / stretch), rounded by largest remainder within each parent: every level's
    tasks add up exactly to the task, and each parent's task to its children's.
    """
    out: dict[str, pd.DataFrame] = {}
    parent_task: pd.Series | None = None
    cols = [LEVEL_COLUMNS[lv] for lv in levels]
    for depth, lv in enumerate(levels):
        t = named[lv].copy()
        path = cols[: depth + 1]
        target = t["target"].to_numpy(dtype=float)
        if depth == 0:
            group = np.zeros(len(t), dtype=np.int64)
            totals = np.array([float(task)])
        else:
            idx = pd.MultiIndex.from_frame(t[cols[:depth]])
            codes, uniq = pd.factorize(idx)
            group = codes.astype(np.int64)
            totals = parent_task.reindex(uniq).to_numpy(dtype=float)
        tsum = np.bincount(group, weights=target, minlength=totals.size)
        share = np.where(tsum[group] > 0, target / np.where(tsum[group] > 0, tsum[group], 1.0), 0.0)
        exact = share * totals[group]
        t["task"] = (_round_grouped(exact, group, np.rint(totals / round_to).astype(np.int64), round_to)
                     if round_to else exact)
        out[lv] = t
        parent_task = pd.Series(t["task"].to_numpy(), index=pd.MultiIndex.from_frame(t[path]))
    return out


def _level_locks(overrides: Mapping[str, Mapping[str, float]] | None, levels: Sequence[str]) -> dict | None:
    if not overrides:
        return None
    bad = [lv for lv in overrides if lv not in levels]
    if bad:
        raise ParamsError(f"targets.overrides must be keyed by the plan's levels {list(levels)}; got {short_list(bad)}.")
    return {LEVEL_COLUMNS[lv]: dict(v) for lv, v in overrides.items() if v}


def build_plan(
    sales: pd.DataFrame,
    customers: pd.DataFrame,
    reps: pd.DataFrame,
    dekads: pd.DataFrame,
    *,
    plan_year: int,
    total: float | None = None,
    growth: float = 0.12,
    growth_over: str = "baseline",
    stretch: float = 1.0,
    basis: Mapping[str, float] | str = "last_year",
    level_basis: Mapping[str, Mapping[str, float] | str] | None = None,
    growth_bounds: tuple[float, float] | None = None,
    levels: Sequence[str] = ("region", "province", "rep", "customer"),
    time_grains: Sequence[str] = ("quarter", "month", "dekad"),
    round_to: float = 100,
    plan_round_to: float = 1,
    achievability_threshold: float = 0.3,
    baseline: pd.DataFrame | None = None,
    monthly: pd.DataFrame | None = None,
    product_split: Mapping[str, float] | None = None,
    channel_split: Mapping[str, float] | None = None,
    mix_own_weight: float = 0.7,
    mix_segment: str | None = "customer_type",
    overrides: Mapping[str, Mapping[str, float]] | None = None,
    phasing: str = "baseline",
    phasing_blend: float = 0.5,
    phasing_spring_festival: bool = True,
    allocation: Mapping[str, str] | None = None,
    momentum_months: int | None = None,
    daily: pd.DataFrame | None = None,
) -> Plan:
    """Make a year's plan from the inputs (the names follow ``TargetsParams``).

    Parameters
    ----------
    sales, customers, reps : DataFrame
        The validated inputs (history before ``plan_year`` is used). ``sales`` may be the order
        lines or the lines summed by month (:func:`salesmodel.io.orderlines.months`, with a
        ``lines`` column); then ``daily`` must be given.
    dekads : DataFrame
        The plan year's dekad period table (``calendar.plan_year_periods(year, "dekad")``).
    total, growth, growth_over, stretch
        The company total (:func:`company_total`) and the over-assignment.
    basis, level_basis
        The share basis blend for every level, and per-level overrides
        (``{"customer": {"last_year": 0.7, "potential": 0.3}}``).
    growth_bounds
        Growth bounds over last year at every level.
    levels
        Organisation levels top down, among region, province, rep, customer;
        must include rep and end with customer.
    time_grains
        Grains of the rep plans in ``Plan.by_grain`` (year, half, quarter, month, dekad).
    round_to, plan_round_to
        Rounding of the targets and of the phased plan (must divide ``round_to``).
    phasing, phasing_blend, phasing_spring_festival
        The months' shares (:func:`phasing_weights`): ``"baseline"`` (the baseline
        forecast's month shape by region, the Spring Festival on the plan year's date),
        ``"last_year"`` (the company's seasonal month shares) or ``"blend"``
        (``phasing_blend`` x baseline + the rest x last year).
    product_split, channel_split, mix_own_weight, mix_segment
        Products and channels (:mod:`salesmodel.domain.targets.mix`): the company's split by
        product and by channel (weights; default: what the customers' mixes add up to),
        and how much of each customer's own mix is blended with its segment's.
    daily : DataFrame, optional
        The company's sales by day (``date``, ``amount``) that the season and the Spring Festival
        are measured on; default: the order lines of ``sales``.

    Returns
    -------
    Plan
        ``targets`` per level (tidy, with the explanation columns),
        ``plan_customer_dekad`` and ``plan_rep_month`` (long: ids, period,
        start, end, target), ``achievability`` and ``by_grain``. Every table adds
        up exactly: customers to reps to provinces to regions to the total, and
        dekads to months to the year.
    """
    levels = check(levels, LEVELS, "levels", "build_plan")
    time_grains = check(time_grains, TIME_GRAINS, "time_grains", "build_plan")
    if round_to % plan_round_to > 1e-9 * round_to and plan_round_to - round_to % plan_round_to > 1e-9 * round_to:
        raise param_error("plan_round_to", "build_plan", f"a divisor of round_to={round_to:g}", plan_round_to, shown=f"{plan_round_to:g}")
    if any(lv not in levels for lv in (level_basis or {})):
        raise param_error("level_basis", "build_plan", f"keyed by levels among {levels}", list(level_basis))
    if daily is None and "lines" in sales.columns:
        raise param_error("daily", "build_plan", "the company's sales by day when sales are summed by month", None, shown="None")
    days = sales[["date", "amount"]] if daily is None else daily
    monthly = monthly_history(sales, customers, reps) if monthly is None else monthly
    units = plan_units(sales, customers, reps, plan_year=plan_year, baseline=baseline, monthly=monthly,
                       momentum_months=momentum_months)
    tot, named = allocate(units, plan_year=plan_year, baseline=baseline, total=total, growth=growth,
                          growth_over=growth_over, stretch=stretch, basis=basis, level_basis=level_basis,
                          growth_bounds=growth_bounds, levels=levels, round_to=round_to, overrides=overrides,
                          allocation=allocation, monthly=monthly)
    cols = [LEVEL_COLUMNS[lv] for lv in levels]
    named = task_split(named, levels, tot["total"], round_to)

    month_w = seasonal_month_weights(monthly, plan_year, sales=days)
    cust = named["customer"]
    weights, month_w = phasing_weights(cust, dekads, month_w, baseline, plan_year, sales=days, phasing=phasing,
                                       phasing_blend=phasing_blend, spring_festival=phasing_spring_festival)
    festival = weights.attrs.get("festival_factor") if isinstance(weights, pd.DataFrame) else None
    used = phasing if isinstance(weights, pd.DataFrame) else "last_year"
    phased = split_over_time(cust[["customer_id", "target"]], dekads, weights, keys="customer_id", round_to=plan_round_to)
    m = len(dekads)
    for c in reversed(cols[:-1]):
        phased.insert(0, c, np.repeat(cust[c].to_numpy(), m))
    by_grain = {g: rollup(phased, ["rep_id"], g) for g in time_grains}
    rep_month = by_grain.get("month")
    if rep_month is None:
        rep_month = rollup(phased, ["rep_id"], "month")

    ach = _achievability_table(named, monthly, baseline, plan_year, achievability_threshold)
    mix: dict[str, pd.DataFrame] = {}
    if {"product", "channel"} <= set(sales.columns):
        mix = plan_mix(sales, customers, cust, cols, rep_month, first=units.attrs["last_year_first"],
                       last=units.attrs["last_year_last"], round_to=round_to, plan_round_to=plan_round_to,
                       product_split=product_split, channel_split=channel_split, own_weight=mix_own_weight,
                       segment=mix_segment)
    return Plan(plan_year, units, tot, named, phased, rep_month, month_w, ach, by_grain, mix, used, festival)


def plan_mix(sales: pd.DataFrame, customers: pd.DataFrame, cust: pd.DataFrame, cols: Sequence[str],
             rep_month: pd.DataFrame, *, first: str, last: str, round_to: float, plan_round_to: float,
             product_split: Mapping[str, float] | None, channel_split: Mapping[str, float] | None,
             own_weight: float, segment: str | None) -> dict[str, pd.DataFrame]:
    """The product and channel tables of a plan, every margin exact.

    ``targets_customer_mix`` (customer x product x channel), ``targets_region_mix``
    (region x product x channel) and ``plan_rep_product_month`` (rep x product x month,
    adding up to ``plan_rep_month`` by month and to the customers' product targets by rep).
    """
    cols = list(cols)
    ids = set(cust["customer_id"])
    shares = mix_shares(sales.loc[sales["customer_id"].isin(ids)], customers.loc[customers["customer_id"].isin(ids)],
                        first=first, last=last, own_weight=own_weight, segment=segment)
    products = sorted(shares["product"].unique())
    channels = sorted(shares["channel"].unique())
    long, _company = split_by_mix(cust[cols + ["target"]].reset_index(drop=True), shares, round_to=round_to,
                                  product_split=split_weights(product_split, products, "product_split"),
                                  channel_split=split_weights(channel_split, channels, "channel_split"))
    ly = shares.set_index(["customer_id", "product", "channel"])["last_year"]
    long["last_year"] = ly.reindex(pd.MultiIndex.from_frame(long[["customer_id", "product", "channel"]])).fillna(0.0).to_numpy()
    long = long[cols + ["product", "channel", "last_year", "mix_share", "target"]]
    top = [c for c in cols if c == "region_id"] or []
    region = long.groupby(top + ["product", "channel"], as_index=False)[["last_year", "target"]].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        for t in (long, region):
            t["growth"] = np.where(t["last_year"] > 0, t["target"] / t["last_year"].where(t["last_year"] > 0, 1.0) - 1.0, np.nan)
    out = {"targets_customer_mix": long, "targets_region_mix": region}
    out["plan_rep_product_month"] = _rep_product_month(long, rep_month, plan_round_to)
    return out


def _rep_product_month(long: pd.DataFrame, rep_month: pd.DataFrame, unit: float) -> pd.DataFrame:
    """Rep x product x month: each rep's months shared by its product targets, rounded so both margins hold."""
    rp = long.groupby(["rep_id", "product"], sort=True)["target"].sum()
    rm = rep_month.set_index(["rep_id", "period"])["target"]
    reps = rp.index.get_level_values(0).unique()
    products = sorted(long["product"].unique())
    periods = rep_month.drop_duplicates("period").sort_values("start")
    grid = pd.MultiIndex.from_product([reps, products, periods["period"]], names=["rep_id", "product", "period"])
    frame = grid.to_frame(index=False)
    rp_v = rp.reindex(pd.MultiIndex.from_frame(frame[["rep_id", "product"]])).fillna(0.0).to_numpy()
    rm_v = rm.reindex(pd.MultiIndex.from_frame(frame[["rep_id", "period"]])).fillna(0.0).to_numpy()
    rep_total = frame["rep_id"].map(rp.groupby(level=0).sum()).to_numpy()
    exact = np.where(rep_total > 0, rp_v * rm_v / np.where(rep_total > 0, rep_total, 1.0), 0.0)
    row_codes, row_keys = pd.factorize(pd.MultiIndex.from_frame(frame[["rep_id", "product"]]))
    col_codes, col_keys = pd.factorize(pd.MultiIndex.from_frame(frame[["rep_id", "period"]]))
    row_tot = rp.reindex(row_keys).fillna(0.0).to_numpy()
    col_tot = rm.reindex(col_keys).fillna(0.0).to_numpy()
    frame["target"] = controlled_round(exact, row_codes, col_codes, row_tot, col_tot, unit=unit,
                                       what="the rep x product x month plan")
    frame = frame.merge(periods[["period", "start", "end"]], on="period", how="left")
    return frame[["rep_id", "product", "period", "start", "end", "target"]]
