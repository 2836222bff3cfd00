"""Workload: visits per month from each customer's tier and type, then hours and
full-time equivalents (FTE) per rep, territory, role or region.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.staffing._checks import _bad, _check_positive, _check_rate, _require_columns
from salesmodel.errors import InputError, short_list

__all__ = ["DEFAULT_VISIT_STANDARDS", "WORKDAYS_PER_MONTH", "default_visit_standards", "travel_minutes_per_visit", "workload"]


# ---------------------------------------------------------------------------
# workload
# ---------------------------------------------------------------------------

#: Working days in an average month (21.75 = 261 working days / 12).
WORKDAYS_PER_MONTH = 21.75

_VISIT_ROWS = [
    # customer_type, tier, visits a month, the seed's words behind it
    ("wholesaler", "VIP", 15.0, "city sub-wholesalers every 1-2 days (城市市场分管二批商1-2天走访一次): 21.75/1.5"),
    ("wholesaler", "first", 6.0, "every 旬 plus a mid-旬 call (每旬8、9日走访所有的二批商) ~ twice a 旬"),
    ("wholesaler", "second", 4.5, "rural wholesalers 1-2 times a week (乡镇市场每周走访1-2次): 1 a week"),
    ("wholesaler", "other", 3.0, "once a 旬 (每旬走访)"),
    ("retailer", "VIP", 8.7, "city retailers every 2-3 days (零售商2-3天走访一次): 21.75/2.5"),
    ("retailer", "first", 4.35, "weekly"),
    ("retailer", "second", 2.0, "every other week (50-100 retailer visits a month per person)"),
    ("retailer", "other", 1.0, "monthly"),
    ("supermarket", "VIP", 21.75, "each store daily (每天对分管超市拜访一次)"),
    ("supermarket", "first", 8.7, "every 2-3 days"),
    ("supermarket", "second", 4.35, "weekly"),
    ("supermarket", "other", 2.0, "every other week"),
    ("online_store", "VIP", 1.0, "VIP customers visited monthly (VIP客户每月拜访一次)"),
    ("online_store", "first", 0.5, "first-level customers every two months (一级客户每两月拜访一次)"),
    ("online_store", "second", 0.25, "second-level as needed (根据实际状况另行安排): quarterly"),
    ("online_store", "other", 0.0, "no field visits"),
]

DEFAULT_VISIT_STANDARDS = pd.DataFrame(_VISIT_ROWS, columns=["customer_type", "tier", "visits_per_month", "basis"])
"""Visits per month by customer type and tier, from the seeds' standards (DOMAIN.md §3).

The field standards of the second-level account managers (city wholesalers
every 1-2 days, retailers every 2-3 days, rural outlets 1-2 times a week,
supermarkets daily) set the frequency for the top tier of each type; lower
tiers step down; online stores follow the key-account rule (VIP monthly,
first-level every two months, second-level as needed). The ``basis`` column
keeps the words each number comes from. Override per company.
"""


def default_visit_standards() -> pd.DataFrame:
    """A copy of :data:`DEFAULT_VISIT_STANDARDS` (customer_type, tier, visits_per_month, basis)."""
    return DEFAULT_VISIT_STANDARDS.copy()


def _standards_frame(visit_standards: Any, func: str) -> pd.DataFrame:
    if visit_standards is None:
        return DEFAULT_VISIT_STANDARDS
    if isinstance(visit_standards, pd.DataFrame):
        std = visit_standards
    elif isinstance(visit_standards, Mapping):
        rows = []
        for ctype, tiers in visit_standards.items():
            if not isinstance(tiers, Mapping):
                raise _bad("visit_standards", func, "a table or a mapping customer_type -> {tier: visits per month}", visit_standards)
            rows += [(ctype, t, v) for t, v in tiers.items()]
        std = pd.DataFrame(rows, columns=["customer_type", "tier", "visits_per_month"])
    else:
        raise _bad("visit_standards", func, "a table or a mapping customer_type -> {tier: visits per month}", type(visit_standards).__name__)
    _require_columns(std, ["customer_type", "tier", "visits_per_month"], "the visit standards", func)
    v = pd.to_numeric(std["visits_per_month"], errors="coerce")
    if v.isna().any() or (v < 0).any():
        raise _bad("visit_standards", func, "visits per month >= 0", list(std["visits_per_month"][v.isna() | (v < 0)]))
    keys = ["customer_type", "tier"] + (["role"] if "role" in std.columns else [])
    if std.duplicated(keys).any():
        raise _bad("visit_standards", func, f"one row per {'/'.join(keys)}", std.loc[std.duplicated(keys), keys].values.tolist()[:5])
    return std


def travel_minutes_per_visit(
    customers: pd.DataFrame,
    visits: pd.Series | np.ndarray,
    *,
    territory: str,
    speed_kmh: float = 40.0,
    circuity: float = 1.3,
    lat_col: str = "lat",
    lon_col: str = "lon",
) -> pd.Series:
    """Travel minutes per visit from each territory's geometry.

    Routes are planned, so a month's N visits in a territory form one tour
    through it; a tour through N stops spread over an area A is about
    ``0.7124 * sqrt(N * A)`` long (Beardwood-Halton-Hammersley), so a visit costs
    ``0.7124 * sqrt(A / N)`` km, times a road ``circuity``, at ``speed_kmh``.
    A is the territory's spread, ``12 * sd(x) * sd(y)`` in km (the area of a
    uniform rectangle with those standard deviations; robust to one far
    customer), at least 1 km2. Returns one value per customer (its territory's).

    Examples
    --------
    Four customers at the corners of a 0.9 x 1 degree box on the equator (sd 50.0 x
    55.6 km, A = 33,387 km2), 100 visits a month: 0.7124 x sqrt(333.9) x 1.3 = 16.9 km,
    25.4 minutes at 40 km/h.

    >>> c = pd.DataFrame({"rep_id": ["r"] * 4, "lat": [0.0, 0.0, 0.9, 0.9], "lon": [114.0, 115.0, 114.0, 115.0]})
    >>> round(float(travel_minutes_per_visit(c, [25.0] * 4, territory="rep_id").iloc[0]), 1)
    25.4
    """
    func = "travel_minutes_per_visit"
    _require_columns(customers, [territory, lat_col, lon_col], "the customers table", func)
    speed_kmh = _check_positive(speed_kmh, "speed_kmh", func)
    circuity = _check_positive(circuity, "circuity", func)
    lat = customers[lat_col].to_numpy(dtype=float)
    lon = customers[lon_col].to_numpy(dtype=float)
    if np.isnan(lat).any() or np.isnan(lon).any():
        rows = customers.index[np.isnan(lat) | np.isnan(lon)]
        raise InputError(f"the customers table passed to {func} lacks coordinates ({lat_col}, {lon_col}) in rows {short_list(list(rows))}.")
    frame = pd.DataFrame({"g": customers[territory].to_numpy(), "lat": lat, "lon": lon, "v": np.asarray(visits, dtype=float)})
    grouped = frame.groupby("g", sort=False)
    # degrees to km: 111.2 km a degree of latitude; longitude shrinks with the territory's latitude
    sd = grouped[["lat", "lon"]].std(ddof=0).fillna(0.0)
    mid = np.deg2rad(grouped["lat"].mean())
    area = np.maximum(12.0 * (sd["lat"] * 111.2) * (sd["lon"] * 111.2 * np.cos(mid)), 1.0)
    stops = np.maximum(grouped["v"].sum(), 1.0)
    km = 0.7124 * np.sqrt(area / stops) * circuity
    minutes = km / speed_kmh * 60.0
    return pd.Series(minutes.reindex(frame["g"]).to_numpy(), index=customers.index, name="travel_minutes")


def workload(
    customers: pd.DataFrame,
    *,
    visit_standards: pd.DataFrame | Mapping[str, Mapping[str, float]] | None = None,
    minutes_per_visit: float | Mapping[str, float] = 30.0,
    travel_minutes: float | str | pd.Series | None = None,
    hours_per_month: float = 174.0,
    selling_share: float = 0.6,
    by: str | Sequence[str] | None = "rep_id",
    territory: str = "rep_id",
    speed_kmh: float = 40.0,
    circuity: float = 1.3,
) -> pd.DataFrame:
    """Visits, hours and FTE a customer base needs, per rep, territory, role or region.

    visits per month come from each customer's ``tier`` and ``customer_type``
    (``visit_standards``; default :data:`DEFAULT_VISIT_STANDARDS`, the seeds'
    standards). hours = visits x (minutes per visit + travel minutes) / 60.
    FTE = hours / (hours_per_month x selling_share): the share of paid time a
    rep spends with customers or on the road.

    Parameters
    ----------
    customers : DataFrame
        ``tier``, ``customer_type`` and the ``by`` columns (merge the rep's role
        and region in first to group by them).
    visit_standards : table or mapping, optional
        ``customer_type, tier, visits_per_month`` (and optionally ``role``: one
        row per role that visits, for teams where several roles call on the
        same customer) or ``{customer_type: {tier: visits}}``.
    minutes_per_visit : float or mapping customer_type -> minutes, default=30
    travel_minutes : None, float, column name, Series, or "geometry"
        Travel per visit: none, a constant, a per-customer column or Series,
        or "geometry" to estimate it per ``territory`` from the customers'
        coordinates (:func:`travel_minutes_per_visit`).
    hours_per_month : float, default=174 (21.75 days x 8 hours)
    selling_share : float in (0, 1], default=0.6
    by : column name(s) or None, default="rep_id"
        Group the result; None gives one row per customer (and role).

    Returns
    -------
    DataFrame
        The ``by`` columns (and ``role`` when the standards have one), then
        ``customers, visits, visit_hours, travel_hours, hours, fte``.

    Examples
    --------
    >>> c = pd.DataFrame({"rep_id": ["r1", "r1"], "tier": ["VIP", "other"],
    ...                   "customer_type": ["online_store", "retailer"]})
    >>> workload(c, minutes_per_visit=60, hours_per_month=10, selling_share=0.5)["fte"].tolist()
    [0.4]
    """
    func = "workload"
    hours_per_month = _check_positive(hours_per_month, "hours_per_month", func)
    selling_share = _check_rate(selling_share, "selling_share", func)
    if selling_share <= 0:
        raise _bad("selling_share", func, "a number in (0, 1]", selling_share)
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    std = _standards_frame(visit_standards, func)
    has_role = "role" in std.columns
    # with roles in the standards, "role" comes from them; otherwise it is a customer column
    _require_columns(customers, ["tier", "customer_type", *[c for c in by_cols if c != "role" or not has_role]],
                     "the customers table", func)

    # join through integer codes: fast for hundreds of thousands of customers
    types = pd.Index(pd.unique(std["customer_type"]))
    tiers = pd.Index(pd.unique(std["tier"]))
    ti = types.get_indexer(customers["customer_type"])
    ri = tiers.get_indexer(customers["tier"])
    roles = pd.Index(pd.unique(std["role"])) if has_role else pd.Index([None])
    table = np.full((len(roles), len(types), len(tiers)), np.nan)
    table[
        roles.get_indexer(std["role"]) if has_role else np.zeros(len(std), dtype=int),
        types.get_indexer(std["customer_type"]),
        tiers.get_indexer(std["tier"]),
    ] = std["visits_per_month"].to_numpy(dtype=float)
    unknown = (ti < 0) | (ri < 0)
    if not unknown.any():
        visits = table[:, ti, ri]  # roles x customers
        unknown = np.isnan(visits).all(axis=0)
    if unknown.any():
        combos = customers.loc[unknown, ["customer_type", "tier"]].drop_duplicates().astype(str).agg("/".join, axis=1)
        raise InputError(
            f"the customers table passed to {func} has customer_type/tier pairs with no visit standard: "
            f"{short_list(list(combos))} ({int(unknown.sum())} customers); add them to visit_standards."
        )
    visits = np.nan_to_num(visits)

    if isinstance(minutes_per_visit, Mapping):
        mins = pd.Series(minutes_per_visit, dtype=float)
        miss = sorted(set(customers["customer_type"].unique()) - set(mins.index))
        if miss or (mins < 0).any():
            raise _bad("minutes_per_visit", func, "minutes >= 0 for every customer_type", dict(minutes_per_visit))
        minutes = customers["customer_type"].map(mins).to_numpy(dtype=float)
    else:
        minutes = np.full(len(customers), _check_rate(minutes_per_visit, "minutes_per_visit", func, high=1e4))

    all_visits = visits.sum(axis=0)
    if travel_minutes is None:
        travel = np.zeros(len(customers))
    elif isinstance(travel_minutes, str) and travel_minutes == "geometry":
        travel = travel_minutes_per_visit(customers, all_visits, territory=territory, speed_kmh=speed_kmh, circuity=circuity).to_numpy()
    elif isinstance(travel_minutes, str):
        _require_columns(customers, [travel_minutes], "the customers table", func)
        travel = pd.to_numeric(customers[travel_minutes], errors="coerce").to_numpy(dtype=float)
    elif isinstance(travel_minutes, pd.Series):
        travel = travel_minutes.reindex(customers.index).to_numpy(dtype=float)
    else:
        travel = np.full(len(customers), _check_rate(travel_minutes, "travel_minutes", func, high=1e4))
    if np.isnan(travel).any() or (travel < 0).any():
        raise InputError(f"travel minutes passed to {func} must be numbers >= 0 for every customer; rows "
                         f"{short_list(list(customers.index[np.isnan(travel) | (travel < 0)]))}.")

    n_roles = visits.shape[0]
    keep = {c: np.tile(customers[c].to_numpy(), n_roles) for c in by_cols if c != "role" or not has_role}
    rows = pd.DataFrame(keep)
    if has_role:
        rows["role"] = np.repeat(roles.to_numpy(), len(customers))
    flat = visits.reshape(-1)
    rows["customers"] = (flat > 0).astype(np.int64) if has_role else 1
    rows["visits"] = flat
    rows["visit_hours"] = flat * np.tile(minutes, n_roles) / 60.0
    rows["travel_hours"] = flat * np.tile(travel, n_roles) / 60.0
    if by is None:
        ids = customers["customer_id"].to_numpy() if "customer_id" in customers else customers.index.to_numpy()
        rows.insert(0, "customer_id", np.tile(ids, n_roles))
        out = rows
    else:
        keys = by_cols + (["role"] if has_role and "role" not in by_cols else [])
        out = rows.groupby(keys, sort=True, dropna=False)[["customers", "visits", "visit_hours", "travel_hours"]].sum().reset_index()
    out["hours"] = out["visit_hours"] + out["travel_hours"]
    out["fte"] = out["hours"] / (hours_per_month * selling_share)
    return out
