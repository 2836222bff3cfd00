"""The weights a series' models are combined by: trend strength and its groups, each model's weight
from its errors on the series' own latest backtest window times its weight among series of similar trend,
shrunk toward the group's weights (see :mod:`salesmodel.domain.forecast.models`).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from salesmodel.domain.forecast.fitting import _combine, _families, _Plan, _served_weights
from salesmodel.domain.forecast.models import GROUP_POWER, TREND_BANDS


def trend_strength(y: np.ndarray, season_length: int) -> float:
    """Strength of a series' trend, from 0 (none) to 1: ``1 - var(R) / var(T + R)`` of a
    classical additive decomposition (centred moving-average trend T, mean seasonal index,
    remainder R), over the periods where the centred average is defined; NaN when too short.

    >>> t = np.arange(48.0)
    >>> round(trend_strength(100 + 2 * t + 10 * np.sin(2 * np.pi * t / 12), 12), 3)
    1.0
    >>> trend_strength(np.tile([1.0, 5.0, 3.0, 2.0], 6), 4)
    0.0
    """
    y = np.asarray(y, float)
    m = max(int(season_length), 1)
    kernel = np.r_[0.5, np.ones(m - 1), 0.5] / m if m > 1 and m % 2 == 0 else np.ones(m) / m
    if len(y) < len(kernel) + 2 or not np.isfinite(y).all():
        return float("nan")
    trend = np.convolve(y, kernel, mode="valid")
    at = np.arange(len(trend)) + (len(kernel) - 1) // 2
    detrended = y[at] - trend
    pos = at % m
    season = np.bincount(pos, detrended, minlength=m) / np.maximum(np.bincount(pos, minlength=m), 1)
    rest = detrended - (season - season.mean())[pos]
    spread = np.var(trend + rest)
    return float(max(0.0, 1.0 - np.var(rest) / spread)) if spread > 0 else 0.0


def trend_groups(train: pd.DataFrame, season_length: int) -> pd.Series:
    """unique_id -> trend group (0, 1, ...: the band of ``TREND_BANDS`` its trend strength falls in)."""
    ids = train["unique_id"].to_numpy()
    y = train["y"].to_numpy(float)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    strength = np.array([trend_strength(y[a:b], season_length) for a, b in zip(starts, ends)])
    return pd.Series(np.digitize(np.nan_to_num(strength), TREND_BANDS), index=ids[starts])


def _series_weights(window: pd.DataFrame, plan: _Plan, groups: pd.Series | None = None,
                    route: pd.Series | None = None) -> dict[str, pd.DataFrame]:
    """Per family, unique_id x model weights from one backtest window's raw forecasts.

    A model's error on the window is its scaled mean absolute error (MASE) relative to the
    pool's average on that series, plus its sMAPE relative to the pool's average: a model is
    judged on level errors and on percentage errors alike, and neither measure's scale
    matters. A series' own weight of a model is the inverse of that error; its trend group's
    weight is the inverse of the group's mean error to the power ``GROUP_POWER`` (``groups``:
    unique_id -> group, from :func:`trend_groups`). A series weighs a model by the product of
    the two, mixed with the group's weights by ``plan.shrinkage``. Series of the family
    (``route``: unique_id -> family) without a window of their own take their group's weights.
    """
    out: dict[str, pd.DataFrame] = {}
    if window.empty or plan.combine != "weighted":
        return out
    for fam, (names, _, _) in _families(plan).items():
        w = window[window["family"] == fam]
        cols = [f"comp_{n}" for n in names]
        if w.empty or len(names) < 2 or not set(cols) <= set(w.columns):
            continue
        comp = w[cols].to_numpy(float)
        y = w["y"].to_numpy(float)[:, None]
        ids = w["unique_id"].to_numpy()
        scaled = np.abs(comp - y) / w["scale"].to_numpy(float)[:, None]
        den = np.abs(comp) + np.abs(y)
        pct = np.where(den > 0, 200 * np.abs(comp - y) / np.where(den > 0, den, 1.0), 0.0)
        pct = np.where(np.isnan(comp), np.nan, pct)
        mase = pd.DataFrame(scaled, columns=list(names)).groupby(ids, sort=True).mean()
        smape = pd.DataFrame(pct, columns=list(names)).groupby(ids, sort=True).mean()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rel = (mase.to_numpy() / np.maximum(np.nanmean(mase.to_numpy(), axis=1, keepdims=True), 1e-12)
                   + smape.to_numpy() / np.maximum(np.nanmean(smape.to_numpy(), axis=1, keepdims=True), 1e-12))
            # A model that failed or abstained on the window gets no weight from it.
            own = _normalised(np.where(np.isfinite(rel), 1.0 / np.maximum(rel, 1e-9), 0.0))
            group_of = (groups.reindex(mase.index) if groups is not None else pd.Series(0, index=mase.index)).fillna(-1)
            by_group = {}
            for g in np.unique(group_of.to_numpy()):
                in_g = group_of.to_numpy() == g
                by_group[g] = _normalised(1.0 / np.maximum(np.nanmean(np.where(np.isfinite(rel[in_g]), rel[in_g], np.nan), axis=0),
                                                            1e-9) ** GROUP_POWER)
            prior = np.stack([by_group[g] for g in group_of.to_numpy()])
            weights = (1 - plan.shrinkage) * _normalised(own * prior) + plan.shrinkage * prior
        frame = pd.DataFrame(weights, index=mase.index, columns=list(names))
        if route is not None and groups is not None:
            # Series without a window of their own (not sampled, too short then): their group's.
            rest = route.index[(route == fam).to_numpy() & ~route.index.isin(frame.index)]
            overall = frame.mean().to_numpy()
            fill = [by_group.get(g, overall) for g in groups.reindex(rest).fillna(-1).to_numpy()]
            if len(rest):
                frame = pd.concat([frame, pd.DataFrame(np.stack(fill), index=rest, columns=list(names))])
        out[fam] = frame
    return out


def combination_weights(fc: pd.DataFrame) -> pd.DataFrame:
    """How each series' forecast was combined, from a forecast with components
    (``baseline(..., return_components=True)``): one row per series and model that served it,
    ``unique_id, served_by, model, weight`` (+ ``trend_group`` when given). The weights are
    those applied (:func:`_served_weights`, as the combination applies them): a model that failed
    or abstained has none and the others share its weight, so a series' weights add up to 1 and
    ``sum(weight * comp_<model>)`` is its forecast before the floor at zero. A median combination
    (``combine="median"``) lists the models it took the median of, with equal shares.

    >>> ds = pd.date_range("2020-01-01", periods=48, freq="MS")
    >>> y = 100 + 20 * np.sin(2 * np.pi * np.arange(48) / 12)
    >>> from salesmodel.domain.forecast import baseline
    >>> fc = baseline(pd.DataFrame({"unique_id": "a", "ds": ds, "y": y}), h=6, freq="MS", return_components=True)
    >>> w = combination_weights(fc)
    >>> round(float(w["weight"].sum()), 12), sorted(w["model"]) == sorted(DEFAULT_MODELS)
    (1.0, True)
    """
    first = fc.drop_duplicates("unique_id").reset_index(drop=True)
    comps = [c for c in first.columns if c.startswith("comp_")]
    names = [c.removeprefix("comp_") for c in comps]
    comp = first[comps].to_numpy(float)
    served = ~np.isnan(comp)
    given = first.reindex(columns=[f"weight_{n}" for n in names]).to_numpy(float)  # none: a mean (or no window)
    w, tot = _served_weights(comp, given)
    w = np.where(tot[:, None] > 0, w / np.where(tot > 0, tot, 1.0)[:, None], served / np.maximum(served.sum(axis=1), 1)[:, None])
    rows, cols = np.nonzero(served)
    out = pd.DataFrame({"unique_id": first["unique_id"].to_numpy()[rows], "served_by": first["model"].to_numpy()[rows],
                        "model": np.asarray(names, dtype=object)[cols], "weight": w[rows, cols]})
    # A series no component served (the last value, or every model failed): its label, weight 1.
    bare = ~served.any(axis=1)
    if bare.any():
        out = pd.concat([out, pd.DataFrame({"unique_id": first.loc[bare, "unique_id"].to_numpy(),
                                            "served_by": first.loc[bare, "model"].to_numpy(),
                                            "model": first.loc[bare, "model"].to_numpy(), "weight": 1.0})], ignore_index=True)
    if "trend_group" in first.columns:
        out["trend_group"] = out["unique_id"].map(first.set_index("unique_id")["trend_group"]).astype("Int64")
    return out.sort_values(["unique_id", "model"], kind="mergesort").reset_index(drop=True)


def _normalised(w: np.ndarray) -> np.ndarray:
    """Rows (or a vector) scaled to sum to 1; all-zero or non-finite rows become equal weights."""
    w = np.where(np.isfinite(w), w, 0.0)
    tot = w.sum(axis=-1, keepdims=True)
    n = w.shape[-1]
    return np.where(tot > 0, w / np.where(tot > 0, tot, 1.0), 1.0 / n)


def _recombine(fc: pd.DataFrame, plan: _Plan, weights: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``fc`` (raw forecasts with comp_ columns) with ``yhat`` the weighted combination of each family."""
    if plan.combine != "weighted" or not weights:
        return fc
    fc = fc.copy()
    yhat = fc["yhat"].to_numpy(float).copy()
    fam_col = fc["family"].to_numpy()
    for fam, (names, _, _) in _families(plan).items():
        m = fam_col == fam
        cols = [f"comp_{n}" for n in names]
        if not m.any() or fam not in weights or not set(cols) <= set(fc.columns):
            continue
        comp = fc.loc[m, cols].to_numpy(float)
        comp[~np.isfinite(comp)] = np.nan
        new = _combine(comp, fc.loc[m, "unique_id"].to_numpy(), names, "weighted", weights[fam])
        # A series whose every model failed keeps its fallback value.
        yhat[m] = np.where(np.isfinite(new), new, yhat[m])
    fc["yhat"] = yhat
    return fc
