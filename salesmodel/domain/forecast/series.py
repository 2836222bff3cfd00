"""The long format ``unique_id, ds, y``: checks, season lengths, series from sales lines, grains."""
from __future__ import annotations

import os
import reprlib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.errors import InputError, ParamsError, short_list

_short_ids = reprlib.Repr()
_short_ids.maxlist = 6
_short_ids.maxstring = 40
_short_ids.maxother = 40

_FREQ_SEASON = {
    "MS": 12, "M": 12, "ME": 12, "SMS": 24,
    "QS": 4, "Q": 4, "QE": 4, "BQS": 4, "BQ": 4,
    "W": 52, "D": 7, "B": 5, "h": 24, "H": 24,
    "YS": 1, "Y": 1, "YE": 1, "AS": 1, "A": 1,
}


# ----------------------------------------------------------------------------- season length
def season_length_for(freq: str) -> int | None:
    """The usual season length of a pandas frequency: MS→12, QS→4, W→52, D→7 (None if unknown).

    >>> season_length_for("MS"), season_length_for("QS-JAN"), season_length_for("W-MON")
    (12, 4, 52)
    """
    if not isinstance(freq, str) or not freq:
        return None
    base = freq.split("-")[0]
    base = base.lstrip("0123456789") or base
    return _FREQ_SEASON.get(base)


def detect_season_length(
    df: pd.DataFrame, freq: str | None = None, *, candidates: Sequence[int] = (4, 7, 12, 24, 52), min_acf: float = 0.3
) -> int:
    """Season length from ``freq`` when known, else the lag with the strongest autocorrelation.

    The autocorrelation of the (differenced) series is averaged over all series,
    weighting each by its length; a candidate lag must reach ``min_acf`` and the
    series must cover two cycles, otherwise the data is taken as non-seasonal (1).
    """
    known = season_length_for(freq) if freq else None
    if known is not None:
        return known
    best, best_acf = 1, min_acf
    groups = [g.to_numpy(float) for _, g in df.sort_values(["unique_id", "ds"]).groupby("unique_id", sort=True)["y"]]
    for lag in candidates:
        num = den = 0.0
        for y in groups:
            y = y[np.isfinite(y)]
            if y.size < 2 * lag + 2:
                continue
            d = np.diff(y)
            d = d - d.mean()
            var = float(d @ d)
            if var <= 0:
                continue
            num += float(d[lag:] @ d[:-lag]) / var * d.size
            den += d.size
        if den and num / den > best_acf:
            best, best_acf = lag, num / den
    return best


# ----------------------------------------------------------------------------- input checks
def _check_frame(df: pd.DataFrame, who: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise param_error("df", who, "a pandas DataFrame", shown=f"{type(df).__name__}")
    missing = [c for c in ("unique_id", "ds", "y") if c not in df.columns]
    if missing:
        raise InputError(
            f"{who}: the series table lacks column(s) {short_list(missing)}; expected the long format "
            f"unique_id, ds, y (got columns {short_list(list(df.columns))})."
        )
    out = df[["unique_id", "ds", "y"]].copy()
    if not pd.api.types.is_datetime64_any_dtype(out["ds"]):
        try:
            out["ds"] = pd.to_datetime(out["ds"])
        except (TypeError, ValueError):
            raise InputError(f"{who}: column 'ds' must hold dates; got values such as {short_list(out['ds'].head(3).tolist())}.") from None
    if not pd.api.types.is_numeric_dtype(out["y"]):
        raise InputError(f"{who}: column 'y' must be numeric; got dtype {out['y'].dtype}.")
    out["y"] = out["y"].astype("float64")
    if out["unique_id"].isna().any():
        raise InputError(f"{who}: column 'unique_id' has {int(out['unique_id'].isna().sum())} empty value(s).")
    if out["ds"].isna().any():
        bad = out.loc[out["ds"].isna(), "unique_id"].unique()
        raise InputError(f"{who}: column 'ds' has empty dates in series {short_list(bad)}.")
    dup = out.duplicated(["unique_id", "ds"], keep=False)
    if dup.any():
        ex = out.loc[dup, ["unique_id", "ds"]].drop_duplicates().head(5)
        pairs = [f"{u} {d:%Y-%m-%d}" for u, d in ex.itertuples(index=False)]
        raise InputError(
            f"{who}: {int(dup.sum())} rows repeat a (unique_id, ds) pair, e.g. {short_list(pairs)}; "
            "expected one row per series and period (aggregate first)."
        )
    return out.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)


def check_series(df: pd.DataFrame, freq: str, *, fill_gaps: bool = False, who: str = "forecast") -> pd.DataFrame:
    """Validate the long frame and make each series a complete run of periods.

    Dates must sit on the ``freq`` grid (e.g. month starts for ``"MS"``).
    Missing periods inside a series raise :class:`InputError` listing the series and
    dates, unless ``fill_gaps`` is true, in which case they are filled with zeros.
    Returns a copy sorted by ``unique_id, ds``.
    """
    out = _check_frame(df, who)
    if out.empty:
        raise InputError(f"{who}: the series table is empty; expected at least one row of unique_id, ds, y.")
    try:
        grid = pd.date_range(out["ds"].min(), out["ds"].max(), freq=freq)
    except (ValueError, TypeError):
        raise param_error("freq", who, "a pandas frequency such as 'MS', 'QS', 'W-MON' or 'D'", freq) from None
    pos = grid.get_indexer(out["ds"])
    if (pos < 0).any():
        bad = out.loc[pos < 0]
        ex = [f"{u} {d:%Y-%m-%d}" for u, d in bad[["unique_id", "ds"]].head(5).itertuples(index=False)]
        raise InputError(
            f"{who}: {len(bad)} date(s) in column 'ds' are not on the {freq!r} grid, e.g. {short_list(ex)}; "
            f"expected period starts of frequency {freq!r} (aggregate the data to that frequency first)."
        )
    out["_pos"] = pos
    g = out.groupby("unique_id", sort=False)["_pos"]
    span = g.transform("max") - g.transform("min") + 1
    count = g.transform("size")
    gappy = out.loc[span != count, "unique_id"].unique()
    if len(gappy):
        if not fill_gaps:
            missing_rows = []
            for uid in gappy[:5]:
                have = out.loc[out["unique_id"] == uid, "_pos"].to_numpy()
                full = np.arange(have.min(), have.max() + 1)
                miss = np.setdiff1d(full, have)
                missing_rows.append(f"{uid!r}: {short_list([f'{d:%Y-%m-%d}' for d in grid[miss]], 4)}")
            raise InputError(
                f"{who}: {len(gappy)} series have missing periods: {'; '.join(missing_rows)}"
                + (f" (and {len(gappy) - 5} more series)" if len(gappy) > 5 else "")
                + ". Expected one row per period from each series' first to last date; "
                "pass fill_gaps=True to fill missing periods with zeros."
            )
        lo = out.groupby("unique_id", sort=True)["_pos"].agg(["min", "max"])
        lengths = (lo["max"] - lo["min"] + 1).to_numpy()
        ids = np.repeat(lo.index.to_numpy(), lengths)
        starts = np.repeat(lo["min"].to_numpy(), lengths)
        offs = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        full = pd.DataFrame({"unique_id": ids, "_pos": starts + offs})
        full = full.merge(out[["unique_id", "_pos", "y"]], on=["unique_id", "_pos"], how="left")
        full["y"] = full["y"].fillna(0.0)
        full["ds"] = grid[full["_pos"].to_numpy()]
        out = full
    return out[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)


def _check_common(h: int, level: Iterable[int], who: str) -> tuple[int, ...]:
    if not isinstance(h, (int, np.integer)) or isinstance(h, bool) or h < 1:
        raise param_error("h", who, "a positive integer", h)
    levels = tuple(int(v) for v in level)
    if any(not 0 < v < 100 for v in levels):
        raise param_error("level", who, "percentages strictly between 0 and 100", list(level))
    return tuple(sorted(set(levels)))


def _resolve_jobs(n_jobs: int | None, n_series: int) -> int:
    if n_jobs is None:
        # Process start-up costs more than it saves on small batches.
        return 1 if n_series < 200 else max(os.cpu_count() or 1, 1)
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise param_error("n_jobs", "baseline", "a positive integer, -1 (all cores) or None", n_jobs)
    return max(os.cpu_count() or 1, 1) if n_jobs == -1 else int(n_jobs)



def _node_id(cols: Sequence[str], values: Sequence[Any]) -> str:
    if not cols:
        return "total"
    return "/".join(f"{c}={v}" for c, v in zip(cols, values))


# ----------------------------------------------------------------------------- from sales lines to series
#: Grain names accepted in params and the sales column they mean.
GRAIN_ALIASES = {"region": "region_id", "province": "province_id", "rep": "rep_id", "customer": "customer_id"}


def grain_columns(grain: Sequence[str]) -> list[str]:
    """Sales columns of a grain given in params (``region`` → ``region_id``; others as given)."""
    if isinstance(grain, str):
        grain = [grain]
    cols = [GRAIN_ALIASES.get(g, g) for g in grain]
    if not cols or len(set(cols)) != len(cols):
        raise ParamsError(f"The 'grain' parameter must list distinct key columns, e.g. ['region', 'product']. Got {list(grain)!r} instead.")
    return cols


def grain_levels(cols: Sequence[str]) -> list[list[str]]:
    """Reconciliation levels for a grain: the total, each key alone, then the grain itself."""
    cols = list(cols)
    singles = [[c] for c in cols] if len(cols) > 1 else []
    return [[], *singles, cols]


def series_from_sales(
    sales: pd.DataFrame,
    keys: Sequence[str],
    *,
    freq: str = "MS",
    date_col: str = "date",
    value_col: str = "amount",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sum sales lines to one series per key combination and period.

    Each series runs from its first period with sales to the last period of the data
    (periods without sales are zero); a last period the data covers only in part is dropped,
    since a partial month would look like a collapse.

    Returns
    -------
    (series, keys)
        ``unique_id, ds, y`` and ``unique_id`` with the key columns (ids as in
        :func:`hierarchy_from_frame`: ``"col=value/col=value"``).
    """
    keys = list(keys)
    missing = [c for c in [date_col, value_col, *keys] if c not in sales.columns]
    if missing:
        raise InputError(f"series_from_sales: the sales table lacks column(s) {short_list(missing)} (has {short_list(list(sales.columns))}).")
    dates = pd.to_datetime(sales[date_col])
    if freq not in ("MS", "QS"):
        raise param_error("freq", "series_from_sales", "'MS' or 'QS'", freq)
    period = dates.dt.to_period("M" if freq == "MS" else "Q")
    start = period.dt.start_time
    frame = pd.DataFrame({**{k: sales[k].to_numpy() for k in keys}, "ds": start.to_numpy(), "y": sales[value_col].to_numpy(float)})
    last_period_end = period.max().end_time.normalize()
    grid_end = period.max().start_time if dates.max() >= last_period_end else (period.max() - 1).start_time
    frame = frame[frame["ds"] <= grid_end]
    g = frame.groupby([*keys, "ds"], sort=True)["y"].sum().reset_index()
    g["unique_id"] = [_node_id(keys, v) for v in g[keys].itertuples(index=False)] if keys else "total"
    first = g.groupby("unique_id", sort=True)["ds"].min()
    grid = pd.date_range(first.min(), grid_end, freq=freq)
    pos = pd.Series(np.arange(len(grid)), index=grid)
    n = len(grid) - first.map(pos).to_numpy()
    ids = np.repeat(first.index.to_numpy(), n)
    ds = grid[np.concatenate([np.arange(len(grid) - k, len(grid)) for k in n])]
    full = pd.DataFrame({"unique_id": ids, "ds": ds}).merge(g[["unique_id", "ds", "y"]], on=["unique_id", "ds"], how="left")
    full["y"] = full["y"].fillna(0.0)
    key_table = g.drop_duplicates("unique_id")[["unique_id", *keys]].sort_values("unique_id").reset_index(drop=True)
    return full.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True), key_table
