"""Conformal prediction intervals calibrated on rolling-origin backtest errors."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from salesmodel.domain.forecast.models import MIN_POOL_PER_STEP


def _scales(train: pd.DataFrame, sl: int) -> pd.Series:
    """In-sample mean absolute seasonal-naive error of each series (the MASE scale).

    Lag 1 for series no longer than a season; a perfectly repeating series is scaled by its level.
    """
    y = train["y"].where(np.isfinite(train["y"]))
    g = y.groupby(train["unique_id"].to_numpy(), sort=True)
    n = g.count()
    d1 = (y - g.shift(1)).abs().groupby(train["unique_id"].to_numpy(), sort=True).mean()
    if sl > 1:
        ds = (y - g.shift(sl)).abs().groupby(train["unique_id"].to_numpy(), sort=True).mean()
        sc = ds.where(n > sl, d1)
    else:
        sc = d1
    level = y.abs().groupby(train["unique_id"].to_numpy(), sort=True).mean().fillna(0.0)
    sc = sc.fillna(0.0)
    sc = sc.where(sc > 1e-9 * level, level)
    return sc.where(sc > 0, 1.0).astype(float)


def _conformal_quantile(values: np.ndarray, q: float) -> float:
    """Split-conformal quantile: the ceil((n+1) q)-th smallest value (the max when n is small)."""
    v = np.sort(values[np.isfinite(values)])
    if v.size == 0:
        return float("nan")
    k = min(math.ceil((v.size + 1) * q), v.size) - 1
    return float(v[max(k, 0)])


def _isotonic(v: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence closest to ``v`` in squared error (pool adjacent violators)."""
    means: list[float] = []
    sizes: list[int] = []
    for x in v.tolist():
        means.append(x)
        sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            n = sizes[-2] + sizes[-1]
            means[-2] = (means[-2] * sizes[-2] + means[-1] * sizes[-1]) / n
            sizes[-2] = n
            means.pop()
            sizes.pop()
    return np.repeat(means, sizes)


def _calibrate(windows: pd.DataFrame, h: int, levels: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Per family: array (len(levels), 2, h) of scaled-error quantiles (lower, upper) per step."""
    out: dict[str, np.ndarray] = {}
    if windows.empty:
        return out
    w = windows[np.isfinite(windows["y"]) & (windows["scale"] > 0)]
    err = ((w["y"] - w["yhat"]) / w["scale"]).to_numpy()
    fam_all = w["family_final"].to_numpy()
    steps = w["step"].to_numpy()

    def table(mask: np.ndarray) -> np.ndarray | None:
        e, st = err[mask], steps[mask]
        if e.size == 0:
            return None
        res = np.full((len(levels), 2, h), np.nan)
        per_step = np.bincount(st, minlength=h + 1)[1:]
        pooled = per_step.min() < MIN_POOL_PER_STEP
        for i, lv in enumerate(levels):
            a = (1 - lv / 100) / 2
            for k in range(1, h + 1):
                if pooled:
                    # Few errors per step: pool the steps, errors grow like sqrt(step).
                    z = e / np.sqrt(st)
                    lo, hi = -_conformal_quantile(-z, 1 - a), _conformal_quantile(z, 1 - a)
                    res[i, :, k - 1] = (lo * math.sqrt(k), hi * math.sqrt(k))
                else:
                    ek = e[st == k]
                    res[i, :, k - 1] = (-_conformal_quantile(-ek, 1 - a), _conformal_quantile(ek, 1 - a))
            # Intervals never narrow with the horizon, and always contain the point forecast. The
            # closest non-narrowing curve (isotonic fit), not the running maximum: each step's
            # quantile is noisy, and the running maximum of noisy values drifts upward (Tourism
            # monthly, 24 steps: 80% intervals covered 88%).
            res[i, 0] = np.minimum(-_isotonic(-res[i, 0]), 0.0)
            res[i, 1] = np.maximum(_isotonic(res[i, 1]), 0.0)
        return res

    overall = table(np.ones(err.size, bool))
    for fam in sorted(set(fam_all)):
        mask = fam_all == fam
        t = table(mask) if mask.sum() >= 30 else None
        out[fam] = t if t is not None else overall
    out["_all"] = overall
    return out


def _apply_intervals(fc: pd.DataFrame, scales: pd.Series, q: dict[str, np.ndarray], levels: tuple[int, ...], h: int) -> pd.DataFrame:
    step = fc.groupby("unique_id", sort=False).cumcount().to_numpy()
    scale = fc["unique_id"].map(scales).to_numpy(float)
    yhat = fc["yhat"].to_numpy(float)
    fam = fc["family"].to_numpy()
    for i, lv in enumerate(levels):
        lo = np.full(len(fc), np.nan)
        hi = np.full(len(fc), np.nan)
        for f in np.unique(fam):
            table = q.get(f, q.get("_all"))
            m = fam == f
            if table is None:
                # No backtest was possible (every series too short): a naive random-walk band.
                z = _normal_z(lv)
                width = z * np.sqrt(step[m] + 1)
                lo[m], hi[m] = -width, width
            else:
                lo[m] = table[i, 0, np.minimum(step[m], h - 1)]
                hi[m] = table[i, 1, np.minimum(step[m], h - 1)]
        fc[f"yhat_lo_{lv}"] = np.maximum(yhat + lo * scale, 0.0)
        fc[f"yhat_hi_{lv}"] = np.maximum(yhat + hi * scale, 0.0)
    return fc


def _normal_z(level: int) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 200))
