"""The sales expense budget (销售费用预算), decomposed with the targets.

Each category (activities, promotion, people, travel, ...) is a share of the target or a fixed
amount for the year, optionally capped; the whole budget may be capped as a share of the target.
Each category's year is split down region -> rep -> month in proportion to the targets (or evenly
per rep, for costs that follow headcount), rounded by largest remainder at each level so every
part adds up exactly to its whole.

Pure: DataFrames and plain values in, DataFrames out.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.domain.targets.rounding import _check_round_to, _round_grouped, _to_quanta
from salesmodel.errors import InputError, ParamsError, short_list

__all__ = ["BASES", "budget_totals", "expense_budget"]

BASES = ("target", "reps", "pay")


def budget_totals(target: float, categories: Mapping[str, Mapping[str, Any]], *, cap_share: float | None = None,
                  round_to: float = 100) -> pd.DataFrame:
    """Each category's year: ``share`` x target or a fixed ``amount``, at most its ``cap``; all of them
    scaled down together (largest remainder) when they pass ``cap_share`` x target.

    Returns one row per category: ``category``, ``basis``, ``share`` (asked, NaN for a fixed
    amount), ``amount`` (asked, NaN for a share), ``cap``, ``asked`` (before the caps), ``budget``
    (rounded to ``round_to``) and ``capped`` (which cap applied: none, category or overall).

    Examples
    --------
    >>> cats = {"activities": {"share": 0.02}, "promotion": {"share": 0.03, "cap": 250_000},
    ...         "people": {"amount": 600_000, "basis": "reps"}, "travel": {"share": 0.01}}
    >>> out = budget_totals(10_000_000, cats, round_to=100)
    >>> out["budget"].tolist()      # 2%, 3% capped at 250,000, the fixed 600,000, 1%
    [200000.0, 250000.0, 600000.0, 100000.0]
    >>> budget_totals(10_000_000, cats, cap_share=0.1, round_to=100)["budget"].tolist()
    [173900.0, 217400.0, 521700.0, 87000.0]
    """
    func = "budget_totals"
    _check_round_to(round_to, func)
    if not categories:
        raise param_error("categories", func, "at least one category", categories)
    shares = [float(c.get("share") or 0.0) for c in categories.values()]
    if sum(shares) > 1 + 1e-12:
        raise ParamsError(f"budget: the categories' shares of the target add up to {sum(shares):.1%}, over 100% "
                          f"({short_list([f'{k} {s:.1%}' for k, s in zip(categories, shares)])}); "
                          "feasible: shares adding up to at most 100%")
    rows = []
    for name, c in categories.items():
        share, amount, cap = c.get("share"), c.get("amount"), c.get("cap")
        if (share is None) == (amount is None):
            raise ParamsError(f"budget.categories.{name}: give either a share of the target or a fixed amount; got "
                              f"share {share!r} and amount {amount!r}")
        basis = c.get("basis", "target")
        if basis not in BASES:
            raise ParamsError(f"budget.categories.{name}.basis must be one of {', '.join(BASES)}; got {basis!r}")
        asked = float(share) * target if share is not None else float(amount)
        value = min(asked, float(cap)) if cap is not None else asked
        rows.append({"category": str(name), "basis": basis, "share": np.nan if share is None else float(share),
                     "amount": np.nan if amount is None else float(amount), "cap": np.nan if cap is None else float(cap),
                     "asked": asked, "value": value, "capped": "category" if value < asked else "none"})
    out = pd.DataFrame(rows)
    total = float(out["value"].sum())
    limit = float(cap_share) * target if cap_share is not None else np.inf
    if total > limit:
        whole = np.floor(limit / round_to + 1e-9) * round_to
        out["budget"] = _round_grouped(out["value"].to_numpy() / total * whole, np.zeros(len(out), dtype=np.int64),
                                       _to_quanta([whole], round_to), round_to)
        out["capped"] = "overall"
    else:
        whole = float(np.round(total / round_to)) * round_to
        out["budget"] = _round_grouped(out["value"].to_numpy(), np.zeros(len(out), dtype=np.int64),
                                       _to_quanta([whole], round_to), round_to)
    return out.drop(columns="value")


def _split(values: np.ndarray, group: np.ndarray, totals: np.ndarray, unit: float) -> np.ndarray:
    """Share each group's total over its rows in proportion to ``values`` (evenly when all are 0), exactly."""
    n_groups = totals.size
    sums = np.bincount(group, weights=values, minlength=n_groups)
    sizes = np.bincount(group, minlength=n_groups)
    share = np.where(sums[group] > 0, values / np.where(sums[group] > 0, sums[group], 1.0), 1.0 / sizes[group])
    return _round_grouped(share * totals[group], group, _to_quanta(totals, unit), unit)


def expense_budget(plan_rep_month: pd.DataFrame, reps: pd.DataFrame, totals: pd.DataFrame, *,
                   round_to: float = 100, pay: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each category's budget by region, rep and month, exact at every level.

    ``plan_rep_month`` is the plan's rep x month targets (``rep_id``, ``period``, ``start``, ``end``,
    ``target``); ``reps`` gives each rep's ``region_id`` (and ``province_id``); ``totals`` is
    :func:`budget_totals`. A category with basis ``target`` goes to regions, then reps, then months by
    their targets; basis ``reps`` goes to regions by their reps, evenly to each rep and evenly to
    each month; basis ``pay`` goes to regions as ``pay`` (``rep_id, region_id, period, amount``: the
    pay plan of every person, hires included) falls, and within a region to its reps and months in
    proportion to their own pay (evenly without a pay table). Largest remainder at each level: months add up to their rep, reps to their region,
    regions to the category's year.

    Returns one row per category, rep and month: ``category``, ``region_id``, ``province_id``,
    ``rep_id``, ``period``, ``start``, ``end``, ``target`` and ``budget``.

    Examples
    --------
    >>> plan = pd.DataFrame({"rep_id": ["a", "a", "b", "b"], "period": ["2027-01", "2027-02"] * 2,
    ...                      "start": pd.to_datetime(["2027-01-01", "2027-02-01"] * 2),
    ...                      "end": pd.to_datetime(["2027-01-31", "2027-02-28"] * 2),
    ...                      "target": [300.0, 100.0, 400.0, 200.0]})
    >>> reps = pd.DataFrame({"rep_id": ["a", "b"], "region_id": ["N", "S"], "province_id": ["BJ", "GD"]})
    >>> totals = budget_totals(1000.0, {"promotion": {"share": 0.1}}, round_to=1)
    >>> expense_budget(plan, reps, totals, round_to=1)["budget"].tolist()
    [30.0, 10.0, 40.0, 20.0]
    """
    func = "expense_budget"
    _check_round_to(round_to, func)
    missing = sorted(set(plan_rep_month["rep_id"]) - set(reps["rep_id"]))
    if missing:
        raise InputError(f"{func}: reps of the plan without a region: {short_list(missing)}.")
    cells = plan_rep_month[["rep_id", "period", "start", "end", "target"]].merge(
        reps[["rep_id", "province_id", "region_id"]], on="rep_id", how="left")
    cells = cells.sort_values(["region_id", "rep_id", "start"], kind="stable").reset_index(drop=True)
    target = cells["target"].to_numpy(dtype=float)
    region_codes, regions = pd.factorize(cells["region_id"], sort=True)
    rep_codes, rep_ids = pd.factorize(cells["rep_id"], sort=False)
    rep_region = pd.Series(region_codes).groupby(rep_codes).first().to_numpy()
    frames = []
    for row in totals.itertuples(index=False):
        budget = float(row.budget)
        if row.basis == "target":
            region_w = np.bincount(region_codes, weights=target, minlength=len(regions))
            rep_w = np.bincount(rep_codes, weights=target, minlength=len(rep_ids))
            cell_w = target
        elif row.basis == "pay" and pay is not None:
            region_w = pay.groupby("region_id")["amount"].sum().reindex(regions).fillna(0.0).to_numpy(dtype=float)
            own = pay.groupby(["rep_id", pay["period"].astype(str)])["amount"].sum()
            cell_w = own.reindex(pd.MultiIndex.from_arrays([cells["rep_id"], cells["period"].astype(str)])).fillna(0.0)
            cell_w = cell_w.to_numpy(dtype=float)
            rep_w = np.bincount(rep_codes, weights=cell_w, minlength=len(rep_ids))
        else:
            region_w = np.bincount(rep_region, minlength=len(regions)).astype(float)
            rep_w = np.ones(len(rep_ids))
            cell_w = np.ones(len(cells))
        region_b = _split(region_w, np.zeros(len(regions), dtype=np.int64), np.array([budget]), round_to)
        rep_b = _split(rep_w, rep_region, region_b, round_to)
        cell_b = _split(cell_w, rep_codes, rep_b, round_to)
        frames.append(cells.assign(category=row.category, budget=cell_b))
    out = pd.concat(frames, ignore_index=True)
    return out[["category", "region_id", "province_id", "rep_id", "period", "start", "end", "target", "budget"]]
