"""Hires are people: one row per planned hire (id, region, role, decision and start month,
ramp, proposed base city), and whole people month by month (:func:`whole_headcount`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.staffing._checks import _check_int, _check_ramp, _require_columns

__all__ = ["base_cities", "hire_reasons", "people_months", "plan_hires", "whole_headcount"]


def base_cities(demand: pd.DataFrame, staff: pd.DataFrame, hires_per_region: Mapping[Any, int]) -> dict[Any, list[dict]]:
    """Proposed base city of each hire of each region, in order.

    ``demand``: ``region_id, province_id, city_zh, city_en, lat, lon, amount`` (e.g. last
    year's sales of the region's active accounts by city, with the city's coordinates);
    ``staff``: ``region_id, base_city_en`` of the reps now. Each hire in turn goes to the
    city with the most sales per person based there (today's reps and hires placed before),
    ties to the bigger city, then by name: the hires go where the accounts are and the
    people are fewest.
    """
    _require_columns(demand, ["region_id", "province_id", "city_zh", "city_en", "lat", "lon", "amount"],
                     "the demand table", "base_cities")
    out: dict[Any, list[dict]] = {}
    for region, n in hires_per_region.items():
        n = int(n)
        if n <= 0:
            continue
        cities = demand[demand["region_id"] == region].sort_values(["amount", "city_en"], ascending=[False, True],
                                                                   kind="mergesort").reset_index(drop=True)
        if cities.empty:
            out[region] = [dict.fromkeys(("province_id", "city_zh", "city_en", "lat", "lon"))] * n
            continue
        people = staff[staff["region_id"] == region]["base_city_en"].value_counts()
        count = cities["city_en"].map(people).fillna(0).to_numpy(dtype=float)
        amount = cities["amount"].to_numpy(dtype=float)
        chosen = []
        for _ in range(n):
            i = int(np.argmax(amount / (count + 1.0)))  # first of the best: the bigger city, then the name
            count[i] += 1
            row = cities.iloc[i]
            chosen.append({k: row[k] for k in ("province_id", "city_zh", "city_en", "lat", "lon")})
        out[region] = chosen
    return out


def plan_hires(
    plan: pd.DataFrame,
    *,
    ramp: Sequence[float],
    role: str,
    hire_lead_months: int,
    blocked_months: Sequence[Any] = (),
    productivity: Mapping[Any, float] | None = None,
    cities: Mapping[Any, list[dict]] | None = None,
    leavers: Mapping[Any, int] | None = None,
    team_col: str = "region_id",
) -> pd.DataFrame:
    """One row per planned hire from a capacity plan (``team_col, month, hires_starting``).

    Ids ``H001...`` in order of start month, then team. A hire starting in the month just
    before or just after a blocked month is marked with that month and the side
    (``before`` / ``after``): the plan moved it around the month nobody starts in.
    ``leavers``: whole people each team is expected to lose over the plan; ``reason`` says
    which hires replace them and which are new positions (:func:`hire_reasons`).

    >>> plan = pd.DataFrame({"region_id": ["E", "E"], "month": ["2027-01", "2027-06"], "hires_starting": [1, 1]})
    >>> plan_hires(plan, ramp=[0.5, 1.0], role="account_manager", hire_lead_months=2,
    ...            leavers={"E": 1})[["hire_id", "start_month", "reason"]].to_records(index=False).tolist()
    [('H001', '2027-01', 'growth'), ('H002', '2027-06', 'replacement')]
    """
    func = "plan_hires"
    _require_columns(plan, [team_col, "month", "hires_starting"], "the capacity plan", func)
    ramp_arr = _check_ramp(ramp, func)
    lead = _check_int(hire_lead_months, "hire_lead_months", func)
    blocked = sorted({pd.Period(str(m), freq="M") for m in blocked_months})
    starts = plan[plan["hires_starting"] > 0].copy()
    starts["_m"] = pd.PeriodIndex(pd.to_datetime(starts["month"].astype(str), format="mixed"), freq="M")
    starts = starts.sort_values(["_m", team_col], kind="mergesort")
    rows = []
    taken: dict[Any, int] = {}
    ramp_text = "/".join(f"{v:g}" for v in ramp_arr)
    for _, r in starts.iterrows():
        for _ in range(int(r["hires_starting"])):
            team = r[team_col]
            k = taken.get(team, 0)
            taken[team] = k + 1
            city = (cities or {}).get(team, [])
            c = city[k] if k < len(city) else dict.fromkeys(("province_id", "city_zh", "city_en", "lat", "lon"))
            side, near = "", ""
            for b in blocked:
                if r["_m"] == b - 1:
                    side, near = "before", str(b)
                elif r["_m"] == b + 1:
                    side, near = "after", str(b)
            rows.append({
                team_col: team, "role": role, "reason": "", "decision_month": str(r["_m"] - lead), "start_month": str(r["_m"]),
                "ramp": ramp_text,
                "productivity": float((productivity or {}).get(team, np.nan)),
                "province_id": c["province_id"], "base_city_zh": c["city_zh"], "base_city_en": c["city_en"],
                "base_lat": c["lat"], "base_lon": c["lon"], "blocked_month": near, "start_side": side,
            })
    cols = ["hire_id", team_col, "role", "reason", "decision_month", "start_month", "ramp", "productivity", "province_id",
            "base_city_zh", "base_city_en", "base_lat", "base_lon", "blocked_month", "start_side"]
    out = pd.DataFrame(rows, columns=cols[1:])
    out.insert(0, "hire_id", [f"H{i + 1:03d}" for i in range(len(out))])
    for c in ("base_lat", "base_lon", "productivity"):
        out[c] = out[c].astype(float)
    out["reason"] = hire_reasons(out, leavers or {}, team_col=team_col)
    return out[cols]


def hire_reasons(hires: pd.DataFrame, leavers: Mapping[Any, int], *, team_col: str = "region_id") -> pd.Series:
    """``replacement`` or ``growth`` for each hire (``hire_id, team_col, start_month``).

    A team expected to lose ``L`` whole people replaces them with its last ``min(L, hires)`` hires
    (people leave through the year, their replacements follow); its first hires are new positions
    (``growth``): only these add a territory, a replacement takes over the territory of the person
    who left. Expected leavers are not named, so neither is whom a replacement follows.

    >>> h = pd.DataFrame({"hire_id": ["H1", "H2", "H3"], "region_id": ["N", "N", "S"],
    ...                   "start_month": ["2027-01", "2027-05", "2027-03"]})
    >>> hire_reasons(h, {"N": 1, "S": 2}).tolist()
    ['growth', 'replacement', 'replacement']
    """
    _require_columns(hires, ["hire_id", team_col, "start_month"], "the hires table", "hire_reasons")
    reason = pd.Series("growth", index=hires.index, dtype=object)
    order = hires.assign(_m=hires["start_month"].astype(str)).sort_values(["_m", "hire_id"], kind="mergesort")
    for team, g in order.groupby(team_col, sort=False):
        n = min(_check_int(leavers.get(team, 0), f"leavers[{team}]", "hire_reasons"), len(g))
        if n > 0:
            reason.loc[g.index[len(g) - n:]] = "replacement"
    return reason


def whole_headcount(plan: pd.DataFrame, *, team_col: str = "region_id") -> pd.DataFrame:
    """Whole people month by month: expected leavers counted as whole people.

    A team's cumulative expected leavers are rounded (half up), and each month's whole
    leavers are the steps of that rounded sum; so ``people_start`` of a month is the last
    month's ``people_end`` plus the month's starters, every figure an integer, and the
    company's figure is the sum of the teams'. Adds ``people_start, leavers, people_end``.
    """
    _require_columns(plan, [team_col, "month", "headcount_start", "hires_starting", "leavers_expected"],
                     "the capacity plan", "whole_headcount")
    out = plan.copy()
    out["_o"] = np.arange(len(out))
    out = out.sort_values([team_col, "month"], kind="mergesort")
    parts = []
    for _, g in out.groupby(team_col, sort=False):
        first = int(np.floor(float(g["headcount_start"].iloc[0]) - float(g["hires_starting"].iloc[0]) + 0.5))
        cum = np.floor(np.cumsum(g["leavers_expected"].to_numpy(dtype=float)) + 0.5).astype(np.int64)
        leavers = np.diff(np.concatenate([[0], cum]))
        hires = np.cumsum(g["hires_starting"].to_numpy(dtype=np.int64))
        end = first + hires - cum
        start = end + leavers
        parts.append(g.assign(people_start=start.astype(np.int64), leavers=leavers.astype(np.int64),
                              people_end=end.astype(np.int64)))
    return pd.concat(parts).sort_values("_o").drop(columns="_o")


def people_months(people: pd.DataFrame, months: pd.PeriodIndex, *, ramp: Sequence[float],
                  season: Mapping[int, float] | pd.Series | None = None) -> pd.DataFrame:
    """Every person of the plan in every month they are on it, with their ramped standard volume.

    ``people``: ``person_id, region_id, productivity`` (mature volume at season index 1) and
    ``start_month`` (a month label, or empty/None for someone already on the payroll) and
    ``tenure_months`` (completed months of service at the first of ``months``; ignored for
    people with a start month). A hire is on the plan from the start month; month k of
    service delivers ``ramp[k-1]``. Returns ``person_id, region_id, month, service_month,
    ramp, standard`` (``productivity x season x ramp``).
    """
    func = "people_months"
    _require_columns(people, ["person_id", "region_id", "productivity", "start_month", "tenure_months"],
                     "the people table", func)
    ramp_arr = _check_ramp(ramp, func)
    season_of = np.ones(len(months))
    if season is not None:
        s = pd.Series(season, dtype=float)
        s.index = s.index.astype(int)
        season_of = s.reindex(months.month).fillna(1.0).to_numpy(dtype=float)
    rows = []
    for r in people.itertuples(index=False):
        start = r.start_month
        if start is None or (isinstance(start, float) and np.isnan(start)) or start == "":
            service = np.arange(len(months)) + int(r.tenure_months) + 1
            on = np.ones(len(months), dtype=bool)
        else:
            s0 = pd.Period(str(start), freq="M")
            service = (months.asi8 - s0.ordinal) + 1
            on = service >= 1
        frac = np.where(service <= ramp_arr.size, ramp_arr[np.clip(service - 1, 0, ramp_arr.size - 1)], 1.0)
        for j in np.nonzero(on)[0]:
            rows.append((r.person_id, r.region_id, str(months[j]), int(service[j]), float(frac[j]),
                         float(r.productivity) * season_of[j] * float(frac[j])))
    return pd.DataFrame(rows, columns=["person_id", "region_id", "month", "service_month", "ramp", "standard"])
