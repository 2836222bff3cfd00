"""The Dask engine: statsforecast's distributed backend on a LocalCluster gives the local result."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from salesmodel.domain import forecast as F
from salesmodel.errors import ParamsError

distributed = pytest.importorskip("distributed")
pytest.importorskip("fugue_dask")


def _series(n_series=12, n=40):
    rng = np.random.default_rng(5)
    t = np.arange(n)
    frames = []
    for i in range(n_series):
        y = 100 + 5 * i + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 3, n)
        if i == 0:
            y = np.where(rng.random(n) < 0.6, 0.0, y)  # intermittent
        frames.append(pd.DataFrame({"unique_id": f"u{i:02d}", "ds": pd.date_range("2022-01-01", periods=n, freq="MS"), "y": y}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        yield c


def test_dask_engine_matches_local(cluster):
    df = _series()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = F.baseline(df, h=6, freq="MS", return_components=True)
        on_dask = F.baseline(df, h=6, freq="MS", engine="dask", scheduler=cluster.scheduler_address, return_components=True)
    assert on_dask["model"].str.startswith("weighted").sum() > 0
    # Same series, same models, same weights, the same numbers: the workers' forecasts come back in
    # float64 (statsforecast's backend declares float32, which would round them to seven digits).
    pd.testing.assert_frame_equal(local, on_dask, check_exact=True)
    assert (local["model"] == on_dask["model"]).all()


def test_dask_engine_without_a_cluster_says_what_to_set():
    with pytest.raises(ParamsError, match="forecast.scheduler"):
        F.baseline(_series(2), h=3, freq="MS", engine="dask")
