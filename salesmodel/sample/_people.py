"""The demo company's organisation, reps and customers: reps placed in provinces by population,
names, customers near real cities with their types, tiers, channels and lifecycles
(see :mod:`salesmodel.sample`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from salesmodel.sample._world import (
    _GIVEN,
    _REGION_GROWTH,
    _SHOP_WORDS,
    _SURNAMES,
    _TYPE_MIX,
    _TYPE_ORDERS,
    _TYPE_SCALE,
    _TYPE_SHARE,
    _TYPE_SUFFIX,
    COMPANY,
    CUSTOMER_TYPES,
    REGIONS,
)


def _allocate_reps(provinces: pd.DataFrame, market: np.ndarray, n_reps: int) -> np.ndarray:
    """Reps per province in proportion to market size (D'Hondt, deterministic).

    With at least 31 reps every province gets one; with fewer, the largest
    market of each region gets one first and the rest go by market.
    """
    n = len(provinces)
    alloc = np.zeros(n, dtype=np.int64)
    if n_reps >= n:
        alloc[:] = 1
    else:
        for region in REGIONS:
            members = np.flatnonzero(provinces["region_id"].to_numpy() == region)
            alloc[members[np.argmax(market[members])]] = 1
    for _ in range(n_reps - int(alloc.sum())):
        alloc[np.argmax(market / (alloc + 1))] += 1  # argmax takes the first on ties
    return alloc


def _largest_remainder(weights: np.ndarray, total: int, minimum: np.ndarray) -> np.ndarray:
    """Integers >= minimum, adding up to total, in proportion to weights (ties to the first)."""
    free = total - int(minimum.sum())
    quota = weights / weights.sum() * free
    base = np.floor(quota).astype(np.int64)
    rest = free - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:rest]] += 1
    return minimum + base


def _unique_names(rng: np.random.Generator, make, n: int) -> list[str]:
    """n distinct names from make(rng); retries, then numbers the rare leftovers."""
    seen: set[str] = set()
    names = []
    for i in range(n):
        for _ in range(8):
            name = make(rng, i)
            if name not in seen:
                break
        else:
            base, k = name, 2
            while f"{base}{k}号" in seen:
                k += 1
            name = f"{base}{k}号"
        seen.add(name)
        names.append(name)
    return names


def _person_name(rng: np.random.Generator, _i: int) -> str:
    # Indexing the lists by drawn integers is much faster than rng.choice on a list.
    given = "".join(_GIVEN[k] for k in rng.integers(len(_GIVEN), size=int(rng.integers(1, 3))))
    return _SURNAMES[int(rng.integers(len(_SURNAMES)))] + given


def _haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


def _build_org(provinces: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {
            "unit_id": COMPANY[0],
            "parent_id": np.nan,
            "level": "company",
            "name_en": COMPANY[1],
            "name_zh": COMPANY[2],
            "name_es": COMPANY[3],
        }
    ]
    for region, (en, zh, es) in REGIONS.items():
        rows.append(
            {
                "unit_id": region,
                "parent_id": COMPANY[0],
                "level": "region",
                "name_en": en,
                "name_zh": zh,
                "name_es": es,
            }
        )
    for p in provinces.itertuples():
        rows.append(
            {
                "unit_id": p.province_id,
                "parent_id": p.region_id,
                "level": "province",
                "name_en": p.name_en,
                "name_zh": p.name_zh,
                "name_es": p.name_es,
            }
        )
    return pd.DataFrame(rows, columns=["unit_id", "parent_id", "level", "name_en", "name_zh", "name_es"])


def _make_reps(rng, provinces, cities, market, n_reps, end_ts) -> pd.DataFrame:
    alloc = _allocate_reps(provinces, market, n_reps)
    rows = []
    for p, k in zip(provinces.itertuples(), alloc):
        # Bases: the capital first, then the biggest cities; big provinces put
        # several reps in one city.
        own = cities[cities["province_id"] == p.province_id].sort_values(
            ["is_capital", "population"], ascending=False
        )
        n_bases = min(len(own), k - k // 3)
        for i in range(k):
            c = own.iloc[i % n_bases]
            rows.append(
                {
                    "province_id": p.province_id,
                    "region_id": p.region_id,
                    "base_city_zh": c.city_zh,
                    "base_city_en": c.city_en,
                    "base_lat": float(c.lat),
                    "base_lon": float(c.lon),
                }
            )
    reps = pd.DataFrame(rows)
    n = len(reps)
    reps.insert(0, "rep_id", [f"R{i + 1:03d}" for i in range(n)])
    reps.insert(1, "rep_name", _unique_names(rng, _person_name, n))

    end_day = np.datetime64(end_ts.date(), "D")
    tenure_days = np.where(
        rng.random(n) < 0.15, rng.integers(30, 365, n), rng.integers(365, 365 * 12, n)
    )
    hire = end_day - tenure_days
    # A few reps left during the last ten months; their customers went to colleagues.
    leave = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    counts = reps["province_id"].map(reps["province_id"].value_counts()).to_numpy()
    can_leave = np.flatnonzero((counts >= 2) & (tenure_days > 400))
    n_leave = min(len(can_leave), round(0.05 * n))
    leavers = (
        np.sort(rng.choice(can_leave, size=n_leave, replace=False))
        if n_leave
        else np.array([], int)
    )
    has_leaver: set[str] = set()
    for i in leavers:  # at most one leaver per province, so every staffed province keeps a rep
        if reps.at[i, "province_id"] in has_leaver:
            continue
        has_leaver.add(reps.at[i, "province_id"])
        leave[i] = end_day - int(rng.integers(20, 300))
    reps["role"] = "account_manager"
    reps["hire_date"] = pd.to_datetime(hire).astype("datetime64[ns]")
    reps["leave_date"] = pd.to_datetime(leave).astype("datetime64[ns]")
    reps["_active"] = reps["leave_date"].isna()
    # The longest-serving active rep of a province with three or more reps manages it.
    for _, group in reps[reps["_active"]].groupby("province_id", sort=False):
        if len(reps[reps["province_id"] == group["province_id"].iloc[0]]) >= 3:
            reps.loc[group["hire_date"].idxmin(), "role"] = "province_manager"
    return reps[
        [
            "rep_id",
            "rep_name",
            "province_id",
            "region_id",
            "role",
            "hire_date",
            "leave_date",
            "base_city_zh",
            "base_city_en",
            "base_lat",
            "base_lon",
            "_active",
        ]
    ]


def _make_customers(rng, provinces, cities, market, reps, n_customers, start_ts, end_ts):
    active = reps[reps["_active"]]
    staffed = provinces["province_id"].isin(active["province_id"]).to_numpy()
    min_per_province = np.where(
        staffed, provinces["province_id"].map(active["province_id"].value_counts()).fillna(0), 0
    )
    per_province = _largest_remainder(
        np.where(staffed, market, 0.0), n_customers, min_per_province.astype(np.int64)
    )

    prov_idx = np.repeat(np.arange(len(provinces)), per_province)
    n = len(prov_idx)
    pid = provinces["province_id"].to_numpy()[prov_idx]
    region = provinces["region_id"].to_numpy()[prov_idx]
    gdp = provinces["gdp_per_capita"].to_numpy(float)[prov_idx]

    # City: in proportion to population (damped), the capital counts extra.
    city_idx = np.empty(n, dtype=np.int64)
    for p, rows in pd.Series(np.arange(n)).groupby(prov_idx):
        own = np.flatnonzero(cities["province_id"].to_numpy() == provinces["province_id"].iloc[p])
        w = cities["population"].to_numpy(float)[own] ** 0.8 * np.where(
            cities["is_capital"].to_numpy()[own] == 1, 1.6, 1.0
        )
        city_idx[rows.to_numpy()] = rng.choice(own, size=len(rows), p=w / w.sum())
    city = cities.iloc[city_idx]
    city_pop = city["population"].to_numpy(float)
    spread = 0.03 + 0.025 * np.sqrt(city_pop / 1e6)  # degrees: bigger cities sprawl further
    lat = city["lat"].to_numpy() + np.clip(rng.normal(0, 1, n), -2.5, 2.5) * spread
    lon = city["lon"].to_numpy() + np.clip(rng.normal(0, 1, n), -2.5, 2.5) * spread / np.cos(
        np.radians(city["lat"].to_numpy())
    )

    # Type: online stores and supermarkets are more common in big cities.
    big = (city_pop > 8e6).astype(float)
    type_w = _TYPE_SHARE[None, :] * np.column_stack(
        [np.ones(n), 1 - 0.2 * big, 1 + 0.3 * big, 1 + 0.3 * big]
    )
    type_w /= type_w.sum(axis=1, keepdims=True)
    ctype = (rng.random(n)[:, None] > np.cumsum(type_w, axis=1)).sum(axis=1)

    # Nearest active rep of the province (several reps in one city share it at random).
    rep_id = np.empty(n, dtype=object)
    for p, rows in pd.Series(np.arange(n)).groupby(prov_idx):
        rows = rows.to_numpy()
        mine = active[active["province_id"] == provinces["province_id"].iloc[p]]
        dist = _haversine_km(
            lat[rows, None],
            lon[rows, None],
            mine["base_lat"].to_numpy()[None, :],
            mine["base_lon"].to_numpy()[None, :],
        )
        dist = (
            dist + rng.random(dist.shape) * 1e-3 + (dist < 60) * rng.random(dist.shape) * 60
        )  # same city: random
        pick = dist.argmin(axis=1)
        # Every active rep has at least one customer: an empty book gets the nearest
        # customer of a fuller one.
        for j in range(len(mine)):
            if (pick == j).any():
                continue
            counts = np.bincount(pick, minlength=len(mine))
            donors = np.flatnonzero(counts[pick] > 1)
            pick[donors[np.argmin(dist[donors, j])]] = j
        rep_id[rows] = mine["rep_id"].to_numpy()[pick]

    # Dynamics: who was there before the history, who is new, who churns or declines.
    days = int((end_ts - start_ts).days) + 1
    new = rng.random(n) < 0.22
    start_day = np.where(new, rng.integers(30, max(31, days - 30), n), 0)
    since = rng.integers(60, 365 * 12, n)  # existing customers' years with the company
    churn = (rng.random(n) < 0.15) & (start_day + 150 < days - 30)
    churn_day = np.where(
        churn,
        [int(rng.integers(s + 150, days - 30)) if c else days for s, c in zip(start_day, churn)],
        days,
    )
    decline = (~churn) & (rng.random(n) < 0.12)
    decline_from = np.where(decline, rng.integers(0, max(1, days // 2), n), days)
    decline_rate = np.where(decline, rng.uniform(-0.60, -0.25, n), 0.0)

    rep_skill = pd.Series(np.exp(rng.normal(0, 0.12, len(reps))), index=reps["rep_id"])
    scale = (
        _TYPE_SCALE[ctype]
        * np.exp(rng.normal(-0.245, 0.7, n))
        * (city_pop / 3e6) ** 0.25
        * (gdp / 80_000) ** 0.6
        * rep_skill.reindex(rep_id).to_numpy()
    )
    orders_per_month = _TYPE_ORDERS[ctype] * np.exp(rng.normal(-0.045, 0.3, n))
    wallet_share = rng.beta(2.0, 4.0, n) * 0.8 + 0.05
    potential = np.round(scale / wallet_share * np.exp(rng.normal(0, 0.15, n)), -2)

    mix = np.vstack([rng.dirichlet(_TYPE_MIX[t] * 20) for t in ctype])
    channel_w = _channel_weights(rng, ctype)
    growth = np.array([_REGION_GROWTH[r] for r in region]) + rng.normal(0, 0.05, n)

    customers = pd.DataFrame(
        {
            "customer_id": [f"C{i + 1:05d}" for i in range(n)],
            "customer_name": _customer_names(rng, city["city_zh"].to_numpy(), ctype),
            "rep_id": rep_id.astype(str),
            "province_id": pid,
            "city_zh": city["city_zh"].to_numpy(),
            "city_en": city["city_en"].to_numpy(),
            "lat": np.round(lat, 4),
            "lon": np.round(lon, 4),
            "customer_type": np.array(CUSTOMER_TYPES, dtype=object)[ctype],
            "potential": potential,
        }
    )
    drivers = {
        "ctype": ctype,
        "start_day": start_day,
        "since": since,
        "new": new,
        "churn": churn,
        "churn_day": churn_day,
        "decline_from": decline_from,
        "decline_rate": decline_rate,
        "scale": scale,
        "orders_per_month": orders_per_month,
        "mix": mix,
        "channel_w": channel_w,
        "growth": growth,
    }
    return customers, drivers


def _channel_weights(rng, ctype) -> np.ndarray:
    """Share of a customer's orders by channel: one main channel, sometimes a second."""
    n = len(ctype)
    w = np.zeros((n, 3))
    u, share = rng.random(n), rng.uniform(0.15, 0.55, n)
    on, off, par = 0, 1, 2
    # Per type: chance that partners (not the offline sales force) are the main
    # channel, the second channel, and the chance of having that second channel.
    plans = {0: (0.5, None, 0.6), 1: (0.3, on, 0.25), 2: (0.0, par, 0.6), 3: (0.0, par, 0.3)}
    for t, (p_partner_main, second, p_second) in plans.items():
        rows = ctype == t
        main = np.where(rng.random(n) < p_partner_main, par, on if t == 3 else off)
        other = np.full(n, second if second is not None else -1)
        other = np.where(other < 0, np.where(main == par, off, par), other)
        two = rows & (u < p_second) & (other != main)
        w[rows, main[rows]] = 1.0
        w[two, main[two]] = 1 - share[two]
        w[two, other[two]] = share[two]
    return w


def _customer_names(rng, city_zh, ctype) -> list[str]:
    def make(r, i):
        suffixes = _TYPE_SUFFIX[ctype[i]]
        word = _SHOP_WORDS[int(r.integers(len(_SHOP_WORDS)))]
        suffix = suffixes[int(r.integers(len(suffixes)))]
        return f"{word}{suffix}" if ctype[i] == 3 else f"{city_zh[i]}{word}{suffix}"

    return _unique_names(rng, make, len(ctype))


def _sales_summary(chunks, end_ts) -> tuple[pd.Series, pd.Series]:
    """Each customer's last twelve months' sales and first order day, from the order lines in
    date order (one frame or chunks of it: the same sums, added in the same order)."""
    cutoff = end_ts - pd.Timedelta(days=364)
    recent, firsts = [], []
    for chunk in chunks:
        recent.append(chunk.loc[chunk["date"] >= cutoff, ["customer_id", "amount"]])
        firsts.append(chunk.groupby("customer_id")["date"].min())
    last_year = pd.concat(recent, ignore_index=True).groupby("customer_id")["amount"].sum()
    first_seen = pd.concat(firsts).groupby(level=0).min()
    return last_year, first_seen


def _finish_customers(customers, drivers, sales, start_ts, end_ts) -> pd.DataFrame:
    """Tiers by the last twelve months' sales; first order and churn dates (``sales``: the order
    lines, or their :func:`_sales_summary`)."""
    d = drivers
    start_day = np.datetime64(start_ts.date(), "D")
    ids = customers["customer_id"]
    last_year, first_seen = sales if isinstance(sales, tuple) else _sales_summary([sales], end_ts)
    value = last_year.reindex(ids).fillna(0.0).to_numpy()
    # Rank by value (ties by id), then VIP top 5%, first next 15%, second next 30%.
    order = np.lexsort((np.arange(len(ids)), -value))
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    share = rank / len(ids)
    tier = np.select(
        [share < 0.05, share < 0.20, share < 0.50], ["VIP", "first", "second"], "other"
    )
    tier = np.where(value > 0, tier, "other")

    first_seen = first_seen.reindex(ids)
    first_order = np.where(
        d["new"], first_seen.to_numpy(dtype="datetime64[D]"), start_day - d["since"]
    )
    churn = np.where(d["churn"], start_day + d["churn_day"], np.datetime64("NaT"))

    out = customers.copy()
    out.insert(8, "tier", tier.astype(object))
    out["first_order_date"] = pd.to_datetime(first_order).astype("datetime64[ns]")
    out["churn_date"] = pd.to_datetime(churn).astype("datetime64[ns]")
    return out
