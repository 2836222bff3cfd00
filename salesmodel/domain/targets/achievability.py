"""Achievability: the chance of meeting each target, from the baseline forecast
and its prediction intervals.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from salesmodel.domain.constraints import ACHIEVABILITY_THRESHOLD, DISTRIBUTIONS, check, param_error
from salesmodel.domain.targets.rounding import _as_list, _check_keys, _numeric_column, _unit_labels
from salesmodel.errors import InputError, short_list

__all__ = ["achievability"]

# ---------------------------------------------------------------------------
# Achievability
# ---------------------------------------------------------------------------
_Z = {80: stats.norm.ppf(0.9), 95: stats.norm.ppf(0.975), 90: stats.norm.ppf(0.95), 50: stats.norm.ppf(0.75)}


def _interval_columns(forecast: pd.DataFrame, mean: str) -> dict[int, tuple[str, str]]:
    found: dict[int, tuple[str, str]] = {}
    for level in (50, 80, 90, 95):
        for lo, hi in ((f"{mean}-lo-{level}", f"{mean}-hi-{level}"), (f"{mean}_lo_{level}", f"{mean}_hi_{level}"),
                       (f"lo_{level}", f"hi_{level}"), (f"lo-{level}", f"hi-{level}")):
            if lo in forecast.columns and hi in forecast.columns:
                found[level] = (lo, hi)
                break
    return found


def achievability(
    targets: pd.DataFrame,
    forecast: pd.DataFrame,
    *,
    keys: str | Sequence[str],
    target: str = "target",
    mean: str = "yhat",
    threshold: float = 0.3,
    correlation: float = 0.5,
    distribution: str = "normal",
) -> pd.DataFrame:
    """The growth each target asks over the baseline and the chance of meeting it.

    ``forecast`` has one or more rows per unit (e.g. per month) with the
    baseline mean ``mean`` and interval columns (``yhat-lo-80``/``yhat-hi-80``,
    ``yhat_lo_95``..., or ``lo_80``/``hi_80``). Each row's spread is read from its
    intervals (sigma = width / (2 z), averaged over the levels given); rows are
    added up per unit with the given ``correlation`` between periods
    (0 = independent, 1 = fully correlated). The unit's outcome is taken as
    normal (or log-normal with the same mean and spread), and
    ``probability = P(outcome >= target)``; ``flag`` is True below ``threshold``.

    Returns the units with ``baseline``, ``baseline_sd``, ``target``,
    ``growth_asked`` (target / baseline - 1), ``probability`` and ``flag``.
    """
    func = "achievability"
    key_list = _as_list(keys)
    threshold = check(threshold, ACHIEVABILITY_THRESHOLD, "threshold", func)
    if not -1e-12 <= correlation <= 1:
        raise param_error("correlation", func, "a number between 0 and 1", correlation)
    check(distribution, DISTRIBUTIONS, "distribution", func)
    _check_keys(targets, key_list, func, table="targets")
    for k in key_list:
        if k not in forecast.columns:
            raise InputError(f"{func}: the forecast has no key column '{k}'.")
    if mean not in forecast.columns:
        raise InputError(f"{func}: the forecast has no mean column '{mean}' (columns: {short_list(list(forecast.columns))}).")
    cols = _interval_columns(forecast, mean)
    if not cols:
        raise InputError(f"{func}: the forecast has no interval columns such as '{mean}-lo-80'/'{mean}-hi-80' or 'lo_80'/'hi_80'.")
    f = forecast[key_list].copy()
    f["_mean"] = forecast[mean].astype(float).to_numpy()
    sds = []
    for level, (lo, hi) in cols.items():
        sds.append((forecast[hi].astype(float) - forecast[lo].astype(float)).clip(lower=0).to_numpy() / (2 * _Z[level]))
    f["_sd"] = np.mean(sds, axis=0)
    g = f.groupby(key_list, sort=False)
    agg = pd.DataFrame({
        "baseline": g["_mean"].sum(),
        "_sd_sum": g["_sd"].sum(),
        "_sd_sq": g["_sd"].apply(lambda s: float((s ** 2).sum())),
    }).reset_index()
    agg["baseline_sd"] = np.sqrt((1 - correlation) * agg["_sd_sq"] + correlation * agg["_sd_sum"] ** 2)
    out = targets[key_list].copy()
    out["target"] = _numeric_column(targets, target, func, "target", key_list)
    out = out.merge(agg[key_list + ["baseline", "baseline_sd"]], on=key_list, how="left")
    no_fc = out["baseline"].isna()
    if no_fc.any():
        raise InputError(f"{func}: no forecast rows for units {short_list(_unit_labels(out, key_list, no_fc.to_numpy()))}.")
    mu = out["baseline"].to_numpy()
    sd = out["baseline_sd"].to_numpy()
    t = out["target"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["growth_asked"] = np.where(mu > 0, t / np.where(mu > 0, mu, 1.0) - 1.0, np.nan)
        if distribution == "normal":
            z = (t - mu) / np.where(sd > 0, sd, np.nan)
            p = stats.norm.sf(z)
        else:
            s2 = np.log1p((sd / np.where(mu > 0, mu, np.nan)) ** 2)
            m = np.log(np.where(mu > 0, mu, np.nan)) - s2 / 2
            p = stats.norm.sf((np.log(np.where(t > 0, t, np.nan)) - m) / np.sqrt(np.where(s2 > 0, s2, np.nan)))
            p = np.where(t <= 0, 1.0, p)
    # No spread: certain either way.
    p = np.where(sd > 0, p, (mu >= t).astype(float))
    out["probability"] = np.nan_to_num(p, nan=0.0)
    out["flag"] = out["probability"] < threshold
    return out
