"""Fitting the model pool: routing each series to the models its history can serve (seasonal,
non-seasonal, intermittent), fitting them with statsforecast (ETS structures searched or fixed),
and the combination of their forecasts by given weights (see :mod:`salesmodel.domain.forecast.models`).
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.forecast.engine import dask_frame
from salesmodel.domain.forecast.models import (
    ABSTAINING,
    DEFAULT_SHRINKAGE,
    INTERMITTENT_MODELS,
    MIN_OBS,
    NONSEASONAL_MODELS,
    _ets_spec,
    _Failed,
    _log_or_none,
    _LogSearchETS,
    _model_factory,
    _SearchETS,
)


# ----------------------------------------------------------------------------- routing and fitting
@dataclass(frozen=True)
class _Plan:
    season_length: int
    models: tuple[str, ...]
    combine: str
    intermittent_threshold: float
    n_jobs: int
    shrinkage: float = DEFAULT_SHRINKAGE
    engine: str = "local"


def _label(combine: str, names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{combine}({', '.join(names)})"


def _families(plan: _Plan) -> dict[str, tuple[tuple[str, ...], str, int]]:
    """family -> (model names, combine, season length used)."""
    sl = plan.season_length
    return {
        "seasonal": (plan.models, plan.combine, sl),
        "nonseasonal": (NONSEASONAL_MODELS, plan.combine, 1),
        "intermittent": (INTERMITTENT_MODELS, plan.combine, 1),
        "too_short": (("Naive",), "mean", 1),
    }


def _route(train: pd.DataFrame, plan: _Plan) -> pd.Series:
    """Family of each series (index unique_id) from its length and share of zero periods."""
    ids = train["unique_id"].to_numpy()
    is_zero = pd.Series((train["y"].to_numpy() == 0).astype(float))
    n = train.groupby("unique_id", sort=True).size()
    zero_share = is_zero.groupby(ids, sort=True).mean().reindex(n.index)
    all_zero = zero_share >= 1.0
    sl = plan.season_length
    fam = pd.Series("seasonal", index=n.index, dtype=object)
    if sl <= 1:
        fam[:] = "nonseasonal"
    else:
        fam[n < 2 * sl + 2] = "nonseasonal"
    fam[zero_share > plan.intermittent_threshold] = "intermittent"
    fam[(n < MIN_OBS) | all_zero] = "too_short"
    return fam


#: Models that search ETS structures: searched once per series at the forecast origin (the
#: structure travels in a ``spec_<name>`` column), refitted at the backtest origins.
_SEARCHERS: dict[str, type[_SearchETS]] = {"AutoETS": _SearchETS, "AutoETSLog": _LogSearchETS}


def _searchers(names: Sequence[str], sl: int) -> list[str]:
    """The family's models that search seasonal ETS structures (the costly searches worth reusing)."""
    return [n for n in names if n in _SEARCHERS] if sl > 1 else []


def _sf_forecast(train: pd.DataFrame, names: Sequence[str], sl: int, h: int, freq: str, n_jobs: int, engine: str = "local",
                 specs: pd.DataFrame | None = None) -> pd.DataFrame:
    """statsforecast's forecast of each model for every series, on this machine or on Dask.

    Each model of the family that searches ETS structures gets a ``spec_<model>`` column (the
    structure chosen for each series) when ``specs`` is None; given ``specs`` (unique_id x
    ``spec_<model>`` structure codes, from a later origin), those models refit each series'
    structure instead of searching (series without one search as usual).
    """
    searchers = _searchers(names, sl)
    if not searchers:
        return _sf_call(train, names, sl, h, freq, n_jobs, engine)
    if specs is None:
        reporting = {n: _SEARCHERS[n](sl, report_spec=True) for n in searchers}
        fc = _sf_call(train, names, sl, h + 1, freq, n_jobs, engine, reporting)
        last = fc.groupby("unique_id", sort=False).cumcount(ascending=False).to_numpy() == 0
        codes = fc.loc[last].set_index("unique_id")
        fc = fc.loc[~last].reset_index(drop=True)
        for n in searchers:
            fc[f"spec_{n}"] = fc["unique_id"].map(codes[n]).to_numpy(float)
        return fc
    others = [n for n in names if n not in searchers]
    out = _sf_call(train, others, sl, h, freq, n_jobs, engine) if others else None
    ids = train["unique_id"].to_numpy()
    for n in searchers:
        col = f"spec_{n}"
        code = pd.Series(ids).map(specs[col]).to_numpy(float) if col in specs.columns else np.full(len(ids), np.nan)
        parts = []
        for c in pd.unique(code[np.isfinite(code)]).tolist() + ([np.nan] if (~np.isfinite(code)).any() else []):
            rows = np.isnan(code) if np.isnan(c) else code == c
            # Series without a structure (no search at the later origin, or it failed there) search here.
            model = _SEARCHERS[n](sl) if np.isnan(c) else _FixedETS(c, sl, log=_SEARCHERS[n].log)
            parts.append(_sf_call(train[rows], [n], sl, h, freq, n_jobs, engine, {n: model}))
        fitted = pd.concat(parts, ignore_index=True)[["unique_id", "ds", n]]
        out = fitted if out is None else out.merge(fitted, on=["unique_id", "ds"], how="left")
    return out.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)[["unique_id", "ds", *names]]


class _FixedETS:
    """One ETS structure (a structure code), fitted as statsforecast's AutoETS fits it; on the
    log scale (abstaining on series with values <= 0) for AutoETSLog."""

    uses_exog = False

    def __init__(self, code: float, season_length: int, log: bool = False, alias: str = "AutoETS") -> None:
        self.code, self.season_length, self.log, self.alias = code, season_length, log, alias

    def new(self) -> _FixedETS:
        return _FixedETS(self.code, self.season_length, self.log, self.alias)

    def __repr__(self) -> str:
        return self.alias

    def forecast(self, y, h, X=None, X_future=None, level=None, fitted=False):
        from statsforecast.models import AutoETS

        y = _log_or_none(y) if self.log else np.asarray(y, float)
        if y is None:
            return {"mean": np.full(h, np.nan)}
        spec, damped = _ets_spec(self.code)
        mean = np.asarray(AutoETS(season_length=self.season_length, model=spec, damped=damped).forecast(y, h)["mean"], float)
        return {"mean": np.exp(mean) if self.log else mean}

    def fit(self, y, X=None):
        self._y = y
        return self

    def predict(self, h, X=None, level=None):
        return self.forecast(self._y, h)


def _sf_call(train: pd.DataFrame, names: Sequence[str], sl: int, h: int, freq: str, n_jobs: int, engine: str,
             replace: dict | None = None) -> pd.DataFrame:
    from statsforecast import StatsForecast

    models = [(replace or {}).get(n) or _model_factory(n, sl) for n in names]
    for name, model in zip(names, models):
        model.alias = name
    n_series = train["unique_id"].nunique()
    jobs = 1 if n_series < 200 or engine == "dask" else n_jobs
    sf = StatsForecast(models=models, freq=freq, n_jobs=jobs, fallback_model=_Failed())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if engine == "dask":
            # statsforecast's own distributed backend (fugue on Dask): each series is fitted
            # on a worker exactly as it would be here, and handed back in float64, so the result is the same.
            fc = _on_dask(sf, dask_frame(train), h).compute()
            fc["ds"] = pd.to_datetime(fc["ds"])
            fc["unique_id"] = fc["unique_id"].astype(train["unique_id"].dtype)  # Dask hands back strings
            for name in names:  # and nullable floats (Float32 for some models): plain float64 here
                fc[name] = pd.array(fc[name], dtype="Float64").to_numpy(dtype=float, na_value=np.nan)
        else:
            fc = sf.forecast(df=train, h=h)
    fc = fc.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)
    return fc


def _on_dask(sf: Any, df: Any, h: int) -> Any:
    """``sf.forecast(df=df, h=h)`` on statsforecast's Dask backend (fugue), with the forecasts kept in float64.

    The backend declares its output columns float32, which rounds every forecast to seven digits
    and would make a cluster's tables differ from this machine's; the same backend with the
    declared columns widened to float64 hands back the workers' numbers as they are.
    """
    from fugue import make_execution_engine

    backend = _float64_backend()(make_execution_engine(infer_by=[df]))
    return backend.forecast(df=df, freq=sf.freq, models=sf.models, fallback_model=sf.fallback_model, X_df=None, h=h,
                            level=None, fitted=False, prediction_intervals=None, id_col="unique_id", time_col="ds",
                            target_col="y")


@functools.cache
def _float64_backend() -> type:
    """statsforecast's FugueBackend whose declared float32 columns are float64 (built once, on first use)."""
    import pyarrow as pa
    from statsforecast.distributed.fugue import FugueBackend
    from triad import Schema

    class Float64Backend(FugueBackend):
        def _get_output_schema(self, **kwargs: Any) -> Schema:
            schema = super()._get_output_schema(**kwargs)
            return Schema([pa.field(f.name, pa.float64()) if pa.types.is_float32(f.type) else f for f in schema.fields])

    return Float64Backend


def _fit_raw(train: pd.DataFrame, h: int, freq: str, plan: _Plan, specs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Point forecasts of every series: unique_id, ds, yhat, model, family, failed + component columns.

    A "weighted" combination is the mean here; :func:`_recombine` applies the weights.
    ``specs`` (unique_id x ``spec_<model>`` ETS structure codes) refits those structures
    instead of searching; without it, the structures chosen are in ``spec_<model>`` columns.
    """
    fams = _families(plan)
    route = _route(train, plan)
    parts = []
    for fam, (names, combine, sl) in fams.items():
        ids = route.index[route == fam]
        if len(ids) == 0:
            continue
        sub = train[train["unique_id"].isin(ids)]
        fc = _sf_forecast(sub, names, sl, h, freq, plan.n_jobs, plan.engine, specs)
        comp = fc[list(names)].to_numpy(float)
        comp[~np.isfinite(comp)] = np.nan
        ok = ~np.isnan(comp)
        fc["yhat"] = _combine(comp, fc["unique_id"].to_numpy(), names, combine, None)
        # A series is degraded when a component failed at any step; label what served it.
        per_series_ok = pd.DataFrame(ok, columns=list(names)).groupby(fc["unique_id"].to_numpy(), sort=False).all()
        code = per_series_ok.to_numpy() @ (1 << np.arange(len(names)))
        labels = {}
        for c in np.unique(code):
            used = [n for i, n in enumerate(names) if c >> i & 1]
            labels[c] = _label(combine, used) if used else ""
        # A model that abstains (AutoETSLog on a series with zeros) is no failure.
        must = sum(1 << i for i, n in enumerate(names) if n not in ABSTAINING)
        fc["model"] = fc["unique_id"].map(pd.Series([labels[c] for c in code], index=per_series_ok.index))
        fc["failed"] = fc["unique_id"].map(pd.Series((code & must) != must, index=per_series_ok.index)).astype(bool)
        fc["family"] = fam
        fc = fc.rename(columns={n: f"comp_{n}" for n in names})
        parts.append(fc)
    out = pd.concat(parts, ignore_index=True)
    # Series whose every component failed: the last value serves them.
    dead = out.loc[out["model"] == "", "unique_id"].unique()
    if len(dead):
        last = train[train["unique_id"].isin(dead)].groupby("unique_id", sort=True)["y"].agg(
            lambda s: float(s[np.isfinite(s)].iloc[-1]) if np.isfinite(s).any() else 0.0
        )
        mask = out["unique_id"].isin(dead)
        out.loc[mask, "yhat"] = out.loc[mask, "unique_id"].map(last).to_numpy()
        out.loc[mask, "model"] = "Naive (fallback)"
    out["yhat"] = out["yhat"].fillna(0.0)
    return out.sort_values(["unique_id", "ds"], kind="mergesort").reset_index(drop=True)


def _combine(comp: np.ndarray, ids: np.ndarray, names: Sequence[str], combine: str, weights: pd.DataFrame | None) -> np.ndarray:
    """Rows x models -> one forecast per row: weighted (per series), mean or median of the models that worked."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if combine == "median":
            return np.nanmedian(comp, axis=1)
        if combine == "mean" or weights is None or len(names) == 1:
            return np.nanmean(comp, axis=1)
        w = weights.reindex(columns=list(names))
        # A series without a window of its own (not sampled, or too short then) takes the
        # family's average weights.
        w = w.reindex(index=pd.unique(ids)).fillna(w.mean()).reindex(ids).to_numpy(float)
        w, tot = _served_weights(comp, w)
        out = np.nansum(np.where(np.isnan(comp), 0.0, comp) * w, axis=1) / np.where(tot > 0, tot, 1.0)
        return np.where(tot > 0, out, np.nanmean(comp, axis=1))


def _served_weights(comp: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Rows x models: the weights a weighted combination applies before it divides by their row
    total (also returned): a model with no forecast (failed, abstained, another family's) weighs 0,
    so the others share its weight; a missing weight counts 1. A row whose total is 0 is the mean
    of the models that served it (see :func:`_combine`)."""
    w = np.ones(comp.shape) if weights is None else np.where(np.isfinite(weights), weights, 1.0)
    w = np.where(np.isnan(comp), 0.0, w)
    return w, w.sum(axis=1)
