"""Seasonal indices, same-period shares, dekad/weekday profiles, Spring Festival alignment."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmodel.domain import seasonality as S
from salesmodel.errors import InputError, ParamsError

PATTERN = np.array([0.8, 0.7, 0.9, 1.0, 1.0, 1.1, 1.0, 1.0, 1.1, 1.1, 1.1, 1.2])


def monthly(pattern=PATTERN, years=4, level=1000.0, noise=0.0, seed=0, start="2021-01-01"):
    rng = np.random.default_rng(seed)
    ds = pd.date_range(start, periods=12 * years, freq="MS")
    y = level * np.tile(pattern, years) * (1 + noise * rng.standard_normal(ds.size))
    return pd.DataFrame({"date": ds, "amount": np.maximum(y, 0)})


@pytest.mark.parametrize("method", ["ratio_to_ma", "stl"])
def test_indices_recover_a_known_pattern_and_mean_one(method):
    idx = S.seasonal_indices(monthly(), method=method)
    assert list(idx.columns) == ["period_of_cycle", "index", "share", "shrink_weight"]
    assert idx["period_of_cycle"].tolist() == list(range(1, 13))
    assert idx["index"].mean() == pytest.approx(1.0)
    assert idx["share"].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(idx["index"], PATTERN / PATTERN.mean(), atol=0.02)


def test_quarter_indices():
    idx = S.seasonal_indices(monthly(), cycle="quarter")
    q = PATTERN.reshape(4, 3).sum(axis=1)
    np.testing.assert_allclose(idx["index"], q / q.mean(), atol=0.02)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(0.2, 3.0), min_size=12, max_size=12), st.floats(0.0, 0.2), st.integers(0, 10))
def test_indices_mean_one_for_any_pattern(pattern, noise, seed):
    idx = S.seasonal_indices(monthly(np.array(pattern), years=3, noise=noise, seed=seed))
    assert idx["index"].mean() == pytest.approx(1.0)
    assert (idx["index"] >= 0).all()


def _units(long_years: int = 5, short_years: int = 1, noise: float = 0.3):
    """Two regions; each has a long steady unit and a short noisy one."""
    frames = []
    for region, pattern in [("N", PATTERN), ("S", PATTERN[::-1])]:
        a = monthly(pattern, years=long_years, noise=0.02, seed=1).assign(region=region, province=f"{region}1")
        b = monthly(pattern, years=long_years, noise=0.02, seed=2).assign(region=region, province=f"{region}2")
        c = monthly(pattern, years=short_years, noise=noise, seed=3, start=f"{2021 + long_years - short_years}-01-01")
        frames += [a, b, c.assign(region=region, province=f"{region}3")]
    return pd.concat(frames, ignore_index=True)


def test_short_noisy_units_shrink_toward_their_group():
    data = _units(short_years=2)
    idx = S.seasonal_indices(data, unit_cols="province", group_cols="region")
    w = idx.groupby("province")["shrink_weight"].first()
    assert w["N3"] < w["N1"] and w["S3"] < w["S1"]
    assert ((w >= 0) & (w <= 1)).all()
    # The shrunk short unit is closer to the truth than its raw history.
    raw = S.seasonal_indices(data, unit_cols="province", group_cols="region", shrink=False)
    truth = PATTERN / PATTERN.mean()
    err_shrunk = np.abs(idx.loc[idx.province == "N3", "index"].to_numpy() - truth).mean()
    err_raw = np.abs(raw.loc[raw.province == "N3", "index"].to_numpy() - truth).mean()
    assert err_shrunk < err_raw
    assert idx.groupby("province")["index"].mean().to_numpy() == pytest.approx(np.ones(6))


def test_unit_too_short_for_its_own_profile_takes_the_group_profile():
    data = _units(short_years=1)
    idx = S.seasonal_indices(data, unit_cols="province", group_cols="region")
    n3 = idx[idx.province == "N3"]
    assert (n3["shrink_weight"] == 0).all()
    n_group = S.seasonal_indices(data[data.region == "N"])
    np.testing.assert_allclose(n3["index"], n_group["index"], atol=1e-9)


def test_unit_in_two_groups_is_an_input_error():
    data = _units()
    data.loc[data.index[:3], "region"] = "S"
    with pytest.raises(InputError, match="more than one group"):
        S.seasonal_indices(data, unit_cols="province", group_cols="region")


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ParamsError, match="'cycle' parameter"):
        S.seasonal_indices(monthly(), cycle="week")
    with pytest.raises(ParamsError, match="'method' parameter"):
        S.seasonal_indices(monthly(), method="x11")
    with pytest.raises(InputError, match="lacks column"):
        S.seasonal_indices(monthly(), value_col="units")


def test_same_period_shares_last_year_and_average():
    d = monthly(years=2)
    d.loc[d.date.dt.year == 2022, "amount"] *= np.r_[2.0, np.ones(11)]  # January doubled in 2022
    last = S.same_period_shares(d, years=1)
    assert last["years"].iloc[0] == "2022"
    jan22 = PATTERN[0] * 2 / (PATTERN.sum() + PATTERN[0])
    assert last.loc[0, "share"] == pytest.approx(jan22)
    avg = S.same_period_shares(d, years=2)
    assert avg.loc[0, "share"] == pytest.approx((jan22 + PATTERN[0] / PATTERN.sum()) / 2)
    assert avg["share"].sum() == pytest.approx(1.0)
    with pytest.raises(InputError, match="does not cover"):
        S.same_period_shares(d, years=[2019])


def test_same_period_shares_ignore_an_incomplete_year():
    d = monthly(years=3).iloc[:-2]  # the last year ends in October
    assert S.same_period_shares(d)["years"].iloc[0] == "2022"


def test_dekad_profile_shows_the_month_end_push():
    ds = pd.date_range("2025-01-01", "2025-12-31", freq="D")
    d = pd.DataFrame({"date": ds, "amount": np.where(ds.day > 20, 3.0, 1.0)})
    p = S.dekad_profile(d)
    assert p["period_of_cycle"].tolist() == [1, 2, 3]
    days = np.array([120, 120, 125])  # days per dekad in 2025
    expected = days * np.array([1, 1, 3]) / (days * np.array([1, 1, 3])).sum()
    np.testing.assert_allclose(p["share"], expected)
    assert p["index"].mean() == pytest.approx(1.0)


def test_weekday_profile_example_e():
    """DOMAIN example E: shares are each weekday's takings / 87,000."""
    takings = np.array([9654, 9687, 11654, 10625, 11687, 17110, 16583], dtype=float)
    assert takings.sum() == 87000
    # Three weeks whose weekday sums are the example's figures.
    weeks = np.stack([takings * 0.3, takings * 0.3, takings * 0.4])
    ds = pd.date_range("2026-10-12", periods=21, freq="D")  # Monday
    d = pd.DataFrame({"date": ds, "amount": weeks.ravel()})
    p = S.weekday_profile(d, weeks=3)
    assert p["period_of_cycle"].tolist() == list(range(7))
    np.testing.assert_allclose(p["share"], takings / 87000)
    # A partial week around it changes nothing.
    extra = pd.DataFrame({"date": pd.to_datetime(["2026-10-10", "2026-11-02"]), "amount": [5e5, 5e5]})
    np.testing.assert_allclose(S.weekday_profile(pd.concat([d, extra])).share, takings / 87000)


# ----------------------------------------------------------------------------- Spring Festival
def _festival_daily(years=range(2021, 2027), dip=0.4, surge=1.3):
    """Daily sales: a monthly pattern, a pre-festival surge and a post-festival dip."""
    ds = pd.date_range(f"{min(years) - 1}-12-01", f"{max(years)}-12-31", freq="D")
    y = 100 * PATTERN[ds.month - 1]
    sf = S.spring_festival_dates(range(min(years), max(years) + 2))
    eff = np.ones(ds.size)
    for d in sf.values():
        off = (ds - pd.Timestamp(d)).days.to_numpy()
        eff[(off >= -10) & (off < 0)] = surge
        eff[(off >= 0) & (off < 14)] = dip
    return pd.DataFrame({"date": ds, "amount": y * eff})


def _jan_feb_ratio_by_year(d):
    m = d.groupby([d.date.dt.year, d.date.dt.month])["amount"].sum().unstack()
    m = m / d.date.dt.days_in_month.groupby([d.date.dt.year, d.date.dt.month]).first().unstack()  # per day
    return (m[1] / m[2]).loc[2021:2026]


def test_spring_festival_alignment_makes_january_february_stable():
    d = _festival_daily()
    raw = _jan_feb_ratio_by_year(d)
    assert raw.std() > 0.1  # the festival moves the Jan/Feb balance from year to year
    effect = S.spring_festival_effect(d)
    assert effect["years"].iloc[0] == 6
    assert effect.loc[effect.day_offset == 3, "effect"].iloc[0] == pytest.approx(0.4, rel=0.05)
    aligned = _jan_feb_ratio_by_year(S.remove_spring_festival(d, effect))
    assert aligned.std() < 0.02
    assert aligned.mean() == pytest.approx(PATTERN[0] / PATTERN[1], rel=0.03)


def test_spring_festival_reapplied_for_the_plan_year():
    d = _festival_daily()
    f27 = S.spring_festival_factors(S.spring_festival_effect(d), 2027)  # festival 2027-02-06
    f23 = S.spring_festival_factors(S.spring_festival_effect(d), 2023)  # festival 2023-01-22
    assert f27.loc[1, "factor"] < f27.loc[0, "factor"]  # the dip falls in February 2027
    assert f23.loc[0, "factor"] < f23.loc[1, "factor"]  # and mostly in January 2023
    assert (f27.loc[3:10, "factor"] == 1).all()  # December may feel next year's early stocking
    i27 = S.seasonal_indices(d[d.date >= "2021-01-01"], spring_festival=True, plan_year=2027)
    i23 = S.seasonal_indices(d[d.date >= "2021-01-01"], spring_festival=True, plan_year=2023)
    assert i27["index"].mean() == pytest.approx(1.0)
    assert i27.loc[1, "index"] < i23.loc[1, "index"] and i27.loc[0, "index"] > i23.loc[0, "index"]
    with pytest.raises(ParamsError, match="'plan_year'"):
        S.seasonal_indices(d, spring_festival=True)


def test_spring_festival_needs_daily_data():
    with pytest.raises(InputError, match="daily sales"):
        S.spring_festival_effect(monthly(years=4))


def test_spring_festival_period_factors_are_forecast_calendar_factors():
    effect = S.spring_festival_effect(_festival_daily())
    f = S.spring_festival_period_factors(effect, [2026, 2027])
    assert list(f.columns) == ["ds", "factor"] and len(f) == 24
    assert f.loc[f.ds == "2027-02-01", "factor"].iloc[0] < 1
    assert (f.loc[f.ds.dt.month.between(4, 11), "factor"] == 1).all()


def test_spring_festival_effect_is_not_blurred_by_the_weekly_rhythm():
    """B2B sales stop at weekends: the effect per festival day must still come out clean."""
    d = _festival_daily()
    weekly = np.array([1.2, 1.1, 1.1, 1.1, 1.2, 0.3, 0.2])[d.date.dt.dayofweek.to_numpy()]
    effect = S.spring_festival_effect(d.assign(amount=d.amount * weekly)).set_index("day_offset")["effect"]
    np.testing.assert_allclose(effect.loc[0:13], 0.4, rtol=0.05)
    np.testing.assert_allclose(effect.loc[-10:-1], 1.3, rtol=0.05)
    np.testing.assert_allclose(effect.loc[15:28], 1.0, rtol=0.05)
