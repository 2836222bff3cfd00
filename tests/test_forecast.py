"""Baseline forecasts, backtests and reconciliation (few short series: fast)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmodel.domain import forecast as F
from salesmodel.errors import InputError, ParamsError

COLS = ["unique_id", "ds", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95", "model"]


def seasonal(uid, n=48, level=100.0, amp=20.0, noise=3.0, seed=0, start="2022-01-01", trend=0.0):
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=n, freq="MS")
    t = np.arange(n)
    y = level + trend * t + amp * np.sin(2 * np.pi * t / 12) + noise * rng.standard_normal(n)
    return pd.DataFrame({"unique_id": uid, "ds": ds, "y": y})


@pytest.fixture(scope="module")
def batch():
    """Three seasonal series, one short, one intermittent, one nearly all zeros."""
    rng = np.random.default_rng(3)
    inter = seasonal("inter", seed=4)
    inter["y"] = np.where(rng.random(len(inter)) < 0.6, 0.0, inter["y"])
    zeros = seasonal("zeros", n=20)
    zeros["y"] = 0.0
    frames = [seasonal(f"s{i}", seed=i, level=100 + 50 * i) for i in range(3)]
    frames += [seasonal("short", n=14, seed=9, start="2024-11-01"), inter, zeros]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def forecast(batch):
    return F.baseline(batch, h=12, freq="MS", return_components=True)


def test_columns_shape_and_order(forecast, batch):
    assert list(forecast.columns[: len(COLS)]) == COLS
    assert any(c.startswith("comp_") for c in forecast.columns)
    assert len(forecast) == 12 * batch["unique_id"].nunique()
    assert forecast["unique_id"].is_monotonic_increasing
    last = batch.groupby("unique_id")["ds"].max()
    first_fc = forecast.groupby("unique_id")["ds"].min()
    assert ((first_fc - last).dt.days.between(28, 31)).all()


def test_never_below_zero_and_intervals_nest(forecast):
    num = forecast[COLS[2:7]]
    assert (num >= 0).all().all()
    assert (forecast.yhat_lo_95 <= forecast.yhat_lo_80 + 1e-9).all()
    assert (forecast.yhat_lo_80 <= forecast.yhat + 1e-9).all()
    assert (forecast.yhat <= forecast.yhat_hi_80 + 1e-9).all()
    assert (forecast.yhat_hi_80 <= forecast.yhat_hi_95 + 1e-9).all()


def test_routing_says_which_model_served_each_series(forecast):
    model = forecast.groupby("unique_id")["model"].first()
    assert model["s0"] == "weighted(AutoETS, AutoETSLog, AutoCES, Theta, SeasonalNaive)"
    assert "Croston" in model["inter"] and "ADIDA" in model["inter"]
    assert model["short"] == "weighted(AutoETS, Theta)"  # 14 months: too short for a seasonal model
    assert model["zeros"] == "Naive"
    assert (forecast.loc[forecast.unique_id == "zeros", "yhat"] == 0).all()


def test_seasonal_series_forecast_follows_the_season(forecast):
    s0 = forecast[forecast.unique_id == "s0"]
    t = np.arange(48, 60)
    truth = 100 + 20 * np.sin(2 * np.pi * t / 12)
    assert np.abs(s0["yhat"].to_numpy() - truth).mean() < 5


def test_deterministic_bit_identical(batch, forecast):
    again = F.baseline(batch, h=12, freq="MS", return_components=True)
    pd.testing.assert_frame_equal(forecast, again, check_exact=True)
    shuffled = batch.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(forecast, F.baseline(shuffled, h=12, freq="MS", return_components=True), check_exact=True)


def test_gaps_raise_naming_series_and_dates_or_fill_with_zeros():
    df = seasonal("a", n=30)
    df = df.drop(index=[5, 6]).reset_index(drop=True)
    with pytest.raises(InputError, match=r"'a': '2022-06-01', '2022-07-01'.*fill_gaps=True"):
        F.baseline(df, h=3, freq="MS")
    filled = F.check_series(df, "MS", fill_gaps=True)
    assert len(filled) == 30 and filled.loc[5, "y"] == 0 and filled.loc[6, "y"] == 0
    fc = F.baseline(df, h=3, freq="MS", fill_gaps=True)
    assert len(fc) == 3


def test_input_errors_are_clear():
    df = seasonal("a", n=30)
    with pytest.raises(InputError, match="repeat a"):
        F.baseline(pd.concat([df, df.head(2)]), h=3, freq="MS")
    with pytest.raises(InputError, match="not on the 'MS' grid"):
        F.baseline(df.assign(ds=df.ds + pd.Timedelta(days=3)), h=3, freq="MS")
    with pytest.raises(InputError, match="lacks column"):
        F.baseline(df.rename(columns={"y": "sales"}), h=3, freq="MS")
    with pytest.raises(ParamsError, match="The 'h' parameter of baseline must be a positive integer"):
        F.baseline(df, h=0, freq="MS")
    with pytest.raises(ParamsError, match="'models' parameter"):
        F.baseline(df, h=3, freq="MS", models=["Prophet"])
    with pytest.raises(ParamsError, match="'level' parameter"):
        F.baseline(df, h=3, freq="MS", level=(80, 100))


def test_a_bad_series_gets_a_fallback_and_one_warning():
    good = seasonal("good", n=36)
    bad = seasonal("bad", n=36)
    bad.loc[bad.index[10], "y"] = np.inf
    with pytest.warns(RuntimeWarning, match=r"1 series.*'bad'"):
        fc = F.baseline(pd.concat([good, bad]), h=6, freq="MS")
    assert np.isfinite(fc[COLS[2:7]].to_numpy()).all()
    assert set(fc.unique_id) == {"good", "bad"}


def test_failed_models_fall_back_and_are_listed(monkeypatch):
    """A model raising on one series: the batch goes on, the series is listed once."""
    from statsforecast.models import Theta

    real = F._model_factory

    class Fragile(Theta):
        def forecast(self, y, h, X=None, X_future=None, level=None, fitted=False):
            if y[0] == 777:
                raise RuntimeError("boom")
            return super().forecast(y=y, h=h, X=X, X_future=X_future, level=level, fitted=fitted)

    monkeypatch.setattr(F.fitting, "_model_factory", lambda name, sl: Fragile(season_length=sl) if name == "Theta" else real(name, sl))
    df = pd.concat([seasonal("ok", n=36), seasonal("fragile", n=36).assign(y=lambda d: d.y.where(d.index > 0, 777.0))])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fc = F.baseline(df, h=6, freq="MS", models=["AutoCES", "Theta"])
    msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning) and "failed" in str(w.message)]
    assert len(msgs) == 1 and "'fragile'" in msgs[0] and "'ok'" not in msgs[0]
    model = fc.groupby("unique_id")["model"].first()
    assert model["fragile"] == "AutoCES" and model["ok"] == "weighted(AutoCES, Theta)"


def test_season_length_detection():
    assert F.season_length_for("MS") == 12 and F.season_length_for("QS") == 4
    assert F.season_length_for("W-MON") == 52 and F.season_length_for("D") == 7
    df = seasonal("a", n=60, noise=1.0)
    assert F.detect_season_length(df) == 12
    flat = df.assign(y=np.random.default_rng(0).normal(100, 5, len(df)))
    assert F.detect_season_length(flat) == 1


def test_backtest_on_a_perfectly_seasonal_series_is_nearly_exact():
    df = seasonal("p", n=72, noise=0.0)
    bt = F.backtest(df, h=6, n_windows=2, freq="MS", models=["SeasonalNaive"])
    assert isinstance(bt, F.BacktestResult)
    assert bt.summary()["smape"] < 1e-6
    assert bt.per_series.loc[0, "mase"] < 1e-6
    assert set(bt.forecasts["window"]) == {0, 1}
    assert list(bt.per_series.columns) == ["unique_id", "model", "family", "n_windows", "smape", "mase", "coverage_80", "coverage_95"]


def test_backtest_metrics_match_a_hand_computation():
    df = seasonal("p", n=40, noise=4.0, seed=5)
    bt = F.backtest(df, h=4, n_windows=1, freq="MS", models=["Naive"])
    f = bt.forecasts
    y, yhat = f["y"].to_numpy(), f["yhat"].to_numpy()
    assert np.allclose(yhat, df["y"].iloc[-5])  # naive: the last value before the cutoff
    smape = np.mean(200 * np.abs(y - yhat) / (np.abs(y) + np.abs(yhat)))
    assert bt.per_series.loc[0, "smape"] == pytest.approx(smape)
    train = df["y"].to_numpy()[:-4]
    scale = np.mean(np.abs(train[12:] - train[:-12]))
    assert bt.per_series.loc[0, "mase"] == pytest.approx(np.mean(np.abs(y - yhat)) / scale)


def test_intervals_cover_near_nominal_on_noisy_series():
    """Pooled conformal intervals: coverage over many windows near the nominal level."""
    df = pd.concat([seasonal(f"n{i}", n=60, noise=8.0, seed=i, amp=0) for i in range(40)])
    bt = F.backtest(df, h=3, n_windows=3, freq="MS", models=["HistoricAverage"], calibration_windows=2)
    s = bt.summary()
    assert 0.70 <= s["coverage_80"] <= 0.92
    assert 0.86 <= s["coverage_95"] <= 1.0


# ----------------------------------------------------------------------------- reconciliation
def _tree():
    keys = pd.DataFrame({
        "region": ["N", "N", "N", "S", "S"],
        "rep": ["a", "a", "b", "c", "c"],
        "product": ["A", "B", "A", "A", "B"],
    })
    return keys, F.hierarchy_from_frame(keys, [[], ["region"], ["product"], ["region", "rep"], ["region", "rep", "product"]])


def _check_adds_up(rec, hier):
    wide = rec.pivot(index="ds", columns="unique_id", values="yhat")[hier.nodes["unique_id"]]
    bottom = wide[hier.bottom].to_numpy()
    np.testing.assert_allclose((hier.S @ bottom.T).T, wide.to_numpy(), rtol=1e-10, atol=1e-8)


def test_hierarchy_structure():
    keys, hier = _tree()
    assert hier.S.shape == (1 + 2 + 2 + 3 + 5, 5)
    assert hier.nodes["unique_id"].iloc[0] == "total"
    assert "region=N/rep=a/product=B" in hier.bottom
    bad = pd.concat([keys, pd.DataFrame({"region": ["S"], "rep": ["a"], "product": ["A"]})])  # a/A in two regions
    with pytest.raises(InputError, match="does not identify one series"):
        F.hierarchy_from_frame(bad, [[], ["region"], ["rep", "product"]])
    # Upper levels may use attributes of the bottom series (region of a rep).
    ok = F.hierarchy_from_frame(keys, [[], ["region"], ["rep", "product"]])
    assert ok.S.shape == (1 + 2 + 5, 5)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(-50, 500), min_size=13 * 2, max_size=13 * 2),
    st.sampled_from(["bottom_up", "wls_struct", "mint_shrink"]),
    st.integers(0, 1000),
)
def test_reconciled_forecasts_add_up_at_every_level_and_are_non_negative(values, method, seed):
    _, hier = _tree()
    ds = pd.date_range("2027-01-01", periods=2, freq="MS")
    ids = hier.nodes["unique_id"].tolist()
    fc = pd.DataFrame({"unique_id": np.repeat(ids, 2), "ds": np.tile(ds, len(ids)), "yhat": values})
    fc["yhat_lo_80"] = fc["yhat"] - 10
    fc["yhat_hi_80"] = fc["yhat"] + 10
    rng = np.random.default_rng(seed)
    res = pd.DataFrame({
        "unique_id": np.repeat(ids, 12), "ds": np.tile(pd.date_range("2025-01-01", periods=12, freq="MS"), len(ids)),
        "y": rng.normal(100, 10, 12 * len(ids)), "yhat": 100.0,
    })
    rec = F.reconcile(fc, hier, method, residuals=res)
    _check_adds_up(rec, hier)
    assert (rec[["yhat", "yhat_lo_80", "yhat_hi_80"]] >= 0).all().all()
    assert len(rec) == len(fc)


def test_mint_matches_the_textbook_formula():
    """MinT's constraint form equals S (S'W^-1 S)^-1 S'W^-1 y."""
    _, hier = _tree()
    rng = np.random.default_rng(0)
    n = hier.S.shape[0]
    yhat = rng.uniform(100, 200, (2, n))
    R = rng.normal(0, 1, (30, n)) * np.arange(1, n + 1)
    W = F._shrunk_covariance(R)
    got = F._mint_bottom(yhat, hier.S, hier.is_bottom, W, None)
    S = hier.S.toarray()
    Wi = np.linalg.inv(W)
    expected = np.linalg.solve(S.T @ Wi @ S, S.T @ Wi @ yhat.T).T
    np.testing.assert_allclose(got, expected, rtol=1e-8)
    # Diagonal weights (the large-hierarchy path) agree with the same formula.
    w = np.diag(W)
    got_d = F._mint_bottom(yhat, hier.S, hier.is_bottom, None, w)
    Wd = np.diag(1 / w)
    np.testing.assert_allclose(got_d, np.linalg.solve(S.T @ Wd @ S, S.T @ Wd @ yhat.T).T, rtol=1e-8)


def test_bottom_up_sums_the_bottom_forecasts():
    _, hier = _tree()
    fc = pd.DataFrame({"unique_id": hier.bottom, "ds": pd.Timestamp("2027-01-01"), "yhat": [1.0, 2.0, 3.0, 4.0, 5.0]})
    rec = F.reconcile(fc, hier, "bottom_up").set_index("unique_id")["yhat"]
    assert rec["total"] == 15 and rec["region=N"] == 6 and rec["product=B"] == 2 + 5


def test_reconcile_errors():
    _, hier = _tree()
    fc = pd.DataFrame({"unique_id": hier.bottom, "ds": pd.Timestamp("2027-01-01"), "yhat": 1.0})
    with pytest.raises(InputError, match="missing for"):
        F.reconcile(fc, hier, "wls_struct")
    with pytest.raises(ParamsError, match="'method' parameter"):
        F.reconcile(fc, hier, "ols")


def test_aggregate_levels_and_reconcile_end_to_end():
    _, hier = _tree()
    frames = [seasonal(b, n=40, seed=i, level=50 + 10 * i) for i, b in enumerate(hier.bottom)]
    bottom = pd.concat(frames, ignore_index=True)
    allv = F.aggregate_levels(bottom, hier)
    assert allv["unique_id"].nunique() == hier.S.shape[0]
    tot = allv[allv.unique_id == "total"]["y"].to_numpy()
    np.testing.assert_allclose(tot, bottom.groupby("ds")["y"].sum().to_numpy())
    bt = F.backtest(allv, h=6, n_windows=1, freq="MS", models=["Theta"])
    fc = F.baseline(allv, h=6, freq="MS", models=["Theta"])
    rec = F.reconcile(fc, hier, "mint_shrink", residuals=bt.forecasts)
    _check_adds_up(rec, hier)


def test_large_hierarchy_path_diagonal_and_sparse(monkeypatch):
    """Above MAX_DENSE_NODES, MinT uses the residual variances and a sparse solve: same formula."""
    _, hier = _tree()
    monkeypatch.setattr(F.reconciliation, "MAX_DENSE_NODES", 2)
    rng = np.random.default_rng(2)
    ids = hier.nodes["unique_id"].tolist()
    yhat = rng.uniform(100, 200, len(ids))
    fc = pd.DataFrame({"unique_id": ids, "ds": pd.Timestamp("2027-01-01"), "yhat": yhat})
    e = rng.normal(0, 1, (30, len(ids))) * np.arange(1, len(ids) + 1)
    res = pd.DataFrame({"unique_id": np.tile(ids, 30), "ds": np.repeat(pd.date_range("2020-01-01", periods=30, freq="MS"), len(ids)),
                        "y": e.ravel(), "yhat": 0.0})
    rec = F.reconcile(fc, hier, "mint_shrink", residuals=res).set_index("unique_id").loc[ids, "yhat"].to_numpy()
    w = np.nanmean((e - e.mean(axis=0)) ** 2, axis=0)
    S = hier.S.toarray()
    Wi = np.diag(1 / w)
    expected = S @ np.linalg.solve(S.T @ Wi @ S, S.T @ Wi @ yhat)
    assert (expected >= 0).all()  # so the non-negativity step leaves it unchanged
    np.testing.assert_allclose(rec, expected, rtol=1e-8)
    _check_adds_up(F.reconcile(fc, hier, "mint_shrink", residuals=res), hier)


def test_nodes_without_residuals_get_a_warning_not_an_error():
    _, hier = _tree()
    ids = hier.nodes["unique_id"].tolist()
    fc = pd.DataFrame({"unique_id": ids, "ds": pd.Timestamp("2027-01-01"), "yhat": 100.0})
    rng = np.random.default_rng(0)
    res = pd.DataFrame({"unique_id": np.tile(ids[:-1], 12), "ds": np.repeat(pd.date_range("2025-01-01", periods=12, freq="MS"), len(ids) - 1),
                        "y": rng.normal(0, 1, 12 * (len(ids) - 1)), "yhat": 0.0})
    with pytest.warns(RuntimeWarning, match="no residuals for 1 node"):
        rec = F.reconcile(fc, hier, "mint_shrink", residuals=res)
    _check_adds_up(rec, hier)


def test_calendar_factors_divide_the_history_and_multiply_the_forecast():
    """A holiday effect that moves between months: removed before fitting, re-applied after."""
    df = seasonal("a", n=48, noise=0.0, amp=0.0)  # flat 100 a month
    ds = df["ds"]
    factors = pd.DataFrame({"ds": pd.date_range("2022-01-01", periods=60, freq="MS")})
    # The holiday halves January in even years and February in odd years.
    factors["factor"] = np.where((factors.ds.dt.month == 1) & (factors.ds.dt.year % 2 == 0), 0.5,
                                 np.where((factors.ds.dt.month == 2) & (factors.ds.dt.year % 2 == 1), 0.5, 1.0))
    df["y"] = df["y"] * ds.map(factors.set_index("ds")["factor"]).to_numpy()
    fc = F.baseline(df, h=12, freq="MS", models=["SeasonalNaive"], calendar_factors=factors)
    got = fc.set_index("ds")["yhat"]
    assert got[pd.Timestamp("2026-01-01")] == pytest.approx(50.0)  # 2026: January halved
    assert got[pd.Timestamp("2026-02-01")] == pytest.approx(100.0)
    plain = F.baseline(df, h=12, freq="MS", models=["SeasonalNaive"]).set_index("ds")["yhat"]
    assert plain[pd.Timestamp("2026-02-01")] == pytest.approx(50.0)  # without: last year's February
    bt = F.backtest(df, h=12, n_windows=1, freq="MS", models=["SeasonalNaive"], calendar_factors=factors)
    assert bt.summary()["smape"] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ParamsError, match="calendar_factors"):
        F.baseline(df, h=3, freq="MS", calendar_factors=factors.assign(factor=0.0))


# ----------------------------------------------------------------------------- issue 16
def test_core_defaults_agree_with_the_params_schema():
    """Defaults live in the params schema; the core's keyword defaults must not disagree."""
    import inspect

    from salesmodel.schema.params import ForecastParams

    fp = ForecastParams()
    for verb in (F.baseline, F.backtest, F.baseline_and_backtest):
        sig = inspect.signature(verb).parameters
        assert sig["combine"].default == fp.combine
        assert sig["shrinkage"].default == fp.shrinkage
        assert sig["engine"].default == fp.engine
        assert sig["scheduler"].default == fp.scheduler
        assert sig["calibration_sample"].default == fp.calibration_sample
        assert sig["models"].default is None and fp.models is None


def test_weights_favour_the_model_that_did_best_on_the_series_own_window(batch):
    fc = F.baseline(batch[batch.unique_id.isin(["s0", "s1", "s2"])], h=12, freq="MS", return_components=True)
    wcols = [c for c in fc.columns if c.startswith("weight_")]
    assert wcols == ["weight_AutoCES", "weight_AutoETS", "weight_AutoETSLog", "weight_SeasonalNaive", "weight_Theta"]
    w = fc.groupby("unique_id")[wcols].first()
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert (w.max(axis=1) > 1 / 5 + 0.01).all()  # the weights are not the plain mean
    comps = fc[[c.replace("weight_", "comp_") for c in wcols]].to_numpy()
    np.testing.assert_allclose(fc["yhat"], np.maximum((comps * fc[wcols].to_numpy()).sum(axis=1), 0), rtol=1e-9)
    # shrinkage 1: every series of a trend group takes the group's weights
    groups = F.trend_groups(batch[batch.unique_id.isin(["s0", "s1", "s2"])], 12)
    assert groups.nunique() == 1  # three stable seasonal series: one group
    shared = F.baseline(batch[batch.unique_id.isin(["s0", "s1", "s2"])], h=12, freq="MS", shrinkage=1.0, return_components=True)
    sw = shared.groupby("unique_id")[wcols].first().to_numpy()
    np.testing.assert_allclose(sw, np.tile(sw[0], (3, 1)), rtol=1e-12)
    assert not np.allclose(w.to_numpy(), np.tile(w.to_numpy()[0], (3, 1)))  # at 0 each series has its own


def test_trend_groups_keep_seasonal_naive_out_of_trending_series():
    """SeasonalNaive repeats last year: good on a stable season, poor on a trend. The group weights
    learn that from the backtest, so it weighs little where the trend is strong."""
    stable = [seasonal(f"flat{i}", n=60, seed=i, noise=6.0) for i in range(8)]
    rising = [seasonal(f"up{i}", n=60, seed=20 + i, trend=4.0 + i, noise=6.0) for i in range(8)]
    df = pd.concat(stable + rising, ignore_index=True)
    groups = F.trend_groups(df, 12)
    assert (groups[[f"up{i}" for i in range(8)]] == len(F.TREND_BANDS)).all()
    assert (groups[[f"flat{i}" for i in range(8)]] == 0).all()
    assert F.trend_strength(df.loc[df.unique_id == "up0", "y"].to_numpy(), 12) > 0.95
    fc = F.baseline(df, h=12, freq="MS", return_components=True)
    sn = fc.groupby("unique_id")["weight_SeasonalNaive"].first()
    assert sn[[f"up{i}" for i in range(8)]].max() < 0.05
    assert sn[[f"flat{i}" for i in range(8)]].mean() > 5 * sn[[f"up{i}" for i in range(8)]].mean()


def test_log_ets_abstains_on_series_with_zeros_without_a_failure():
    with_zero = seasonal("z", n=48)
    with_zero.loc[5, "y"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "the models failed" warning
        fc = F.baseline(pd.concat([with_zero, seasonal("p", n=48, seed=2)]), h=6, freq="MS", return_components=True)
    by = fc.groupby("unique_id")
    assert by["model"].first()["z"] == "weighted(AutoETS, AutoCES, Theta, SeasonalNaive)"
    assert by["comp_AutoETSLog"].apply(lambda s: s.isna().all())["z"]
    assert by["comp_AutoETSLog"].apply(lambda s: s.notna().all())["p"]
    assert np.isfinite(fc["yhat"]).all()


def test_bad_series_are_named_with_what_was_done():
    good = seasonal("good", n=36)
    tiny = seasonal("tiny", n=3, start="2024-10-01")
    zeros = seasonal("zero", n=24).assign(y=0.0)
    neg = seasonal("returns", n=36).assign(y=lambda d: d.y - 150)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fc = F.baseline(pd.concat([good, tiny, zeros, neg]), h=6, freq="MS")
    msgs = " | ".join(str(w.message) for w in caught if issubclass(w.category, RuntimeWarning))
    assert "1 series have fewer than 4 periods of history ['tiny']" in msgs and "last value" in msgs
    assert "1 series have only zero sales ['zero']" in msgs
    assert "negative sales" in msgs and "'returns'" in msgs
    assert set(fc.unique_id) == {"good", "tiny", "zero", "returns"}  # nothing dropped
    assert (fc[fc.unique_id == "zero"].yhat == 0).all() and (fc.yhat >= 0).all()


def test_a_horizon_short_of_the_plan_year_names_the_series():
    df = pd.concat([seasonal("a", n=36), seasonal("b", n=30)])  # b ends 2024-06
    with pytest.raises(ParamsError) as caught:
        F.baseline(df, h=12, freq="MS", plan_year=2025)
    assert (caught.value.param, caught.value.value) == ("h", 12)
    assert "at least 18" in caught.value.expected and "['b']" in str(caught.value)
    assert len(F.baseline(df, h=18, freq="MS", plan_year=2025)) == 36


def test_engine_and_combine_are_checked():
    """Each refusal names the argument and carries the value (read as data, not as wording)."""
    df = seasonal("a", n=30)
    for kwargs, param, value in [
        ({"engine": "spark"}, "engine", "spark"),
        ({"scheduler": "tcp://127.0.0.1:1"}, "scheduler", "tcp://127.0.0.1:1"),  # a scheduler without engine 'dask'
        ({"combine": "best"}, "combine", "best"),
        ({"shrinkage": 1.5}, "shrinkage", 1.5),
    ]:
        with pytest.raises(ParamsError) as caught:
            F.baseline(df, h=3, freq="MS", **kwargs)
        assert (caught.value.param, caught.value.func, caught.value.value) == (param, "baseline", value), kwargs


def test_baseline_and_backtest_equal_the_two_verbs(batch):
    sub = batch[batch.unique_id.isin(["s0", "s1", "inter"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc, bt = F.baseline_and_backtest(sub, h=6, freq="MS", n_windows=2)
        pd.testing.assert_frame_equal(fc, F.baseline(sub, h=6, freq="MS"))
        alone = F.backtest(sub, h=6, freq="MS", n_windows=2)
    pd.testing.assert_frame_equal(bt.forecasts, alone.forecasts)
    pd.testing.assert_frame_equal(bt.overall, alone.overall)


def test_calendar_factors_help_a_moving_festival_and_mase_uses_the_real_history():
    """A dip that moves between January and February: with the factors the backtest's Jan/Feb
    errors fall, and MASE is scaled by the history as it was, so both runs are comparable."""
    ds = pd.date_range("2019-01-01", periods=84, freq="MS")
    rng = np.random.default_rng(7)
    jan_share = np.array([0.2, 0.8, 0.3, 0.9, 0.1, 0.7, 0.4])  # how much of the dip falls in January, by year
    factor = np.ones(len(ds))
    for i, year in enumerate(range(2019, 2026)):
        factor[(ds.year == year) & (ds.month == 1)] = 1 - 0.5 * jan_share[i]
        factor[(ds.year == year) & (ds.month == 2)] = 1 - 0.5 * (1 - jan_share[i])
    frames = [pd.DataFrame({"unique_id": f"u{k}", "ds": ds,
                            "y": (100 + 10 * k + 15 * np.sin(2 * np.pi * np.arange(84) / 12) + rng.normal(0, 1, 84)) * factor})
              for k in range(3)]
    df = pd.concat(frames, ignore_index=True)
    cal = pd.DataFrame({"ds": ds, "factor": factor})
    kw = {"h": 12, "n_windows": 2, "freq": "MS", "models": ["Theta", "SeasonalNaive"]}
    off, on = F.backtest(df, **kw), F.backtest(df, calendar_factors=cal, **kw)
    pd.testing.assert_series_equal(off.forecasts["y"], on.forecasts["y"])  # actuals as they were

    def janfeb(bt):
        f = bt.forecasts[bt.forecasts.ds.dt.month.isin([1, 2])]
        return float((np.abs(f.y - f.yhat) / f.y).mean())

    assert janfeb(on) < 0.5 * janfeb(off)
    # MASE scaled by the seasonal-naive error of the real (unadjusted) history before each origin
    f = on.forecasts[on.forecasts.unique_id == "u0"]
    y0 = df[df.unique_id == "u0"].set_index("ds")["y"]
    ratios = []
    for _, w in f.groupby("window"):
        hist = y0[y0.index <= w["cutoff"].iloc[0]].to_numpy()
        ratios.append(np.abs(w.y - w.yhat).to_numpy() / np.mean(np.abs(hist[12:] - hist[:-12])))
    assert on.per_series.set_index("unique_id").loc["u0", "mase"] == pytest.approx(np.concatenate(ratios).mean())


def test_components_when_the_window_served_a_series_by_another_family():
    """30 months: seasonal now, but only 18 at the backtest origin (non-seasonal there)."""
    fc = F.baseline(seasonal("a", n=30), h=12, freq="MS", models=["AutoCES", "DynamicOptimizedTheta"], return_components=True)
    assert fc["model"].iloc[0] == "weighted(AutoCES, DynamicOptimizedTheta)"
    assert not [c for c in fc.columns if c.startswith("weight_")]  # no window of its own family: equal weights
    np.testing.assert_allclose(fc["yhat"], np.maximum(fc[["comp_AutoCES", "comp_DynamicOptimizedTheta"]].mean(axis=1), 0))


def test_a_large_family_backtests_a_sample_and_the_rest_take_their_groups_weights():
    df = pd.concat([seasonal(f"s{i}", seed=i, level=100 + 10 * i) for i in range(6)], ignore_index=True)
    assert F.trend_groups(df, 12).nunique() == 1
    fc = F.baseline(df, h=6, freq="MS", calibration_sample=3, return_components=True)
    w = fc.groupby("unique_id")[[c for c in fc.columns if c.startswith("weight_")]].first()
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    own = w.drop_duplicates()
    assert len(own) == 4  # three sampled series with their own weights, and the group's
    group = F.baseline(df, h=6, freq="MS", calibration_sample=3, shrinkage=1.0, return_components=True)
    group_w = group.groupby("unique_id")[list(w.columns)].first()
    np.testing.assert_allclose(group_w.to_numpy(), np.tile(group_w.loc["s1"].to_numpy(), (6, 1)), rtol=1e-12)
    for uid in ("s1", "s3", "s4"):  # not sampled (the sample is evenly spread over the sorted ids)
        np.testing.assert_allclose(w.loc[uid], group_w.loc[uid], rtol=1e-12)
    assert not np.allclose(w.loc["s0"], group_w.loc["s0"])


def test_combination_weights_say_exactly_how_each_forecast_was_made(batch):
    """An auditor's table: per series, the models that served it and the weights applied."""
    with_zero = seasonal("z", n=48)
    with_zero.loc[5, "y"] = 0.0
    df = pd.concat([batch, with_zero], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = F.baseline(df, h=12, freq="MS", return_components=True)
    w = F.combination_weights(fc)
    assert set(w["unique_id"]) == set(fc["unique_id"])
    np.testing.assert_allclose(w.groupby("unique_id")["weight"].sum(), 1.0, rtol=1e-12)
    assert "AutoETSLog" not in set(w.loc[w.unique_id == "z", "model"])  # it abstained: no weight
    assert set(w.loc[w.unique_id == "s0", "model"]) == set(F.DEFAULT_MODELS)
    assert w.loc[w.unique_id == "zeros", ["model", "weight"]].values.tolist() == [["Naive", 1.0]]
    # recombining the components with these weights gives the forecast (before the floor at zero)
    wide = w.pivot(index="unique_id", columns="model", values="weight").fillna(0.0)
    for uid, g in fc.groupby("unique_id"):
        comps = {m: g[f"comp_{m}"].to_numpy() for m in wide.columns if f"comp_{m}" in g and wide.loc[uid, m] > 0}
        if not comps:
            continue
        again = sum(wide.loc[uid, m] * np.nan_to_num(v) for m, v in comps.items())
        np.testing.assert_allclose(np.maximum(again, 0), g["yhat"].to_numpy(), rtol=1e-9, atol=1e-9)
    assert w["trend_group"].notna().all()
