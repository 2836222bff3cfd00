"""The spread of each unit's baseline (what equal-chance sharing and achievability judge targets by):
the levels that have one, each unit's forecast and the achievability table of a plan
(see :mod:`salesmodel.domain.targets.plan`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesmodel.domain.targets.achievability import achievability
from salesmodel.domain.targets.units import LEVEL_COLUMNS, _baseline_by, _baseline_column, naive_forecast
from salesmodel.errors import ParamsError


def _unit_forecast(table: pd.DataFrame, lv: str, monthly: pd.DataFrame, baseline: pd.DataFrame | None,
                   plan_year: int) -> tuple[pd.DataFrame, str]:
    """The monthly forecast (with intervals) of each unit of level ``lv`` that its chance is judged on.

    ``table`` holds the level's units (its id column, ``region_id`` below the regions, and
    ``forecast``: the baseline the target is set against). The baseline forecast when it
    has the unit's grain, else a seasonal-naive forecast of the unit's own history scaled
    so each region's units add up to the region's baseline; then scaled to each unit's
    ``forecast`` (one baseline per unit). Returns the forecast and where it came from.
    """
    col = LEVEL_COLUMNS[lv]
    ids = set(table[col])
    fc, source = None, "seasonal naive"
    if baseline is not None and _baseline_column(baseline, col) is not None and any(
            c.startswith("yhat_lo_") for c in baseline.columns):
        bcol = _baseline_column(baseline, col)
        fc = baseline.loc[pd.to_datetime(baseline["ds"]).dt.year == plan_year].rename(columns={bcol: col})
        fc = fc if not fc.empty and ids <= set(fc[col]) else None
        source = "baseline forecast"
    if fc is None:
        fc = naive_forecast(monthly, col, plan_year)
        source = "seasonal naive"
        region_base = _baseline_by(baseline, plan_year, "region_id")
        if region_base is not None and "region_id" in table.columns:
            # Lower levels: the naive forecast scaled so each region's units add
            # up to the region's baseline (a coherent top-down baseline).
            region_of = (pd.Series(table[col].to_numpy(), index=table[col].to_numpy()) if col == "region_id"
                         else table.drop_duplicates(col).set_index(col)["region_id"])
            fc_region = fc[col].map(region_of)
            naive_sum = fc.groupby(fc_region)["yhat"].sum()
            factor = (region_base / naive_sum).replace([np.inf, -np.inf], np.nan).fillna(1.0)
            f = fc_region.map(factor).fillna(1.0).to_numpy()
            for c in [c for c in fc.columns if c.startswith("yhat")]:
                fc[c] = fc[c].to_numpy() * f
            source = "seasonal naive scaled to the baseline by region"
    # One baseline per unit: the forecast the target was set against (targets_<level>.forecast);
    # the forecast's months give its shape and spread.
    if "forecast" in table.columns:
        want = table.groupby(col)["forecast"].sum()
        have = fc.groupby(col)["yhat"].sum()
        scale = (want / have.reindex(want.index)).replace([np.inf, -np.inf], np.nan)
        f = fc[col].map(scale).to_numpy(dtype=float)
        ok = np.isfinite(f)
        fc = fc.loc[ok].copy()
        for c in [c for c in fc.columns if c.startswith("yhat")]:
            fc[c] = fc[c].to_numpy() * f[ok]
        if np.nanmax(np.abs(scale.to_numpy(dtype=float) - 1.0), initial=0.0) > 1e-9:
            source = f"{source}, scaled to the unit's forecast"
    return fc, source


#: Levels whose units have a baseline with a spread (the achievability levels); equal chance needs one.
CHANCE_LEVELS = ("region", "province", "rep")


def level_spreads(units: pd.DataFrame, levels: Sequence[str], monthly: pd.DataFrame, baseline: pd.DataFrame | None,
                  plan_year: int) -> dict[str, pd.DataFrame]:
    """Each unit's baseline mean and spread for the given levels, as achievability judges them.

    ``units`` are the plan's customers (:func:`plan_units`); returns, per level, a table
    indexed by the unit id with ``mean`` and ``sd`` (the year's outcome, months correlated as
    :func:`~salesmodel.domain.targets.achievability.achievability` adds them). The finest level
    given keeps its own spread; each level above it takes the sum of its finest units'
    spreads, so equal-chance shares at every level give all the finest units one chance.
    """
    out: dict[str, pd.DataFrame] = {}
    levels = [lv for lv in CHANCE_LEVELS if lv in levels] + [lv for lv in levels if lv not in CHANCE_LEVELS]
    for lv in levels:
        if lv not in CHANCE_LEVELS:
            raise ParamsError(f"equal chance needs a baseline with a spread for each unit; level '{lv}' has none "
                              f"(levels with one: {', '.join(CHANCE_LEVELS)}).")
        col = LEVEL_COLUMNS[lv]
        keep = list(dict.fromkeys(c for c in ("region_id", col) if c in units.columns))
        table = units.groupby(keep, as_index=False, sort=True)["forecast"].sum()
        fc, _ = _unit_forecast(table, lv, monthly, baseline, plan_year)
        a = achievability(table[[col]].assign(target=0.0).drop_duplicates(col), fc, keys=col)
        out[lv] = pd.DataFrame({"mean": a["baseline"].to_numpy(), "sd": a["baseline_sd"].to_numpy()},
                               index=pd.Index(a[col].astype(str).to_numpy(), name=col))
    # One chance for the finest equal-chance level: a level above it shares by the sum of its
    # finest units' spreads, so one z, and the same chance, reaches every finest unit (its own
    # chance, with the diversification of its units, is then higher or lower than theirs).
    finest = levels[-1]
    fcol = LEVEL_COLUMNS[finest]
    pairs = units.drop_duplicates(fcol)
    for lv in levels[:-1]:
        col = LEVEL_COLUMNS[lv]
        sd = pairs[fcol].astype(str).map(out[finest]["sd"]).groupby(pairs[col].astype(str).to_numpy()).sum()
        out[lv]["sd"] = sd.reindex(out[lv].index).to_numpy(dtype=float)
    return out


def _achievability_table(named: dict[str, pd.DataFrame], monthly: pd.DataFrame, baseline: pd.DataFrame | None,
                         plan_year: int, threshold: float) -> pd.DataFrame:
    rows = []
    for lv in ("region", "province", "rep"):
        if lv not in named:
            continue
        col = LEVEL_COLUMNS[lv]
        t = named[lv].groupby(col, as_index=False)["target"].sum()
        fc, source = _unit_forecast(named[lv], lv, monthly, baseline, plan_year)
        a = achievability(t, fc, keys=col, threshold=threshold)
        a.insert(0, "unit_id", a.pop(col).astype(str))
        a.insert(0, "level", lv)
        a["forecast_source"] = source
        rows.append(a)
    return pd.concat(rows, ignore_index=True)
