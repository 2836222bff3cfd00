"""Targets follow the territories: each account's monthly target goes to the person who holds it.

The targets step allocates every customer's target to the rep who serves it today (the rep's
*first allocation*). The territory design then hands accounts over, to other reps and to planned
hires. :func:`person_targets` follows every account-month of the plan to its new holder:

- an account moved to another rep of today's team is that rep's from the plan year's start;
- an account given to a planned hire is held, until the hire starts, by the account's *vacancy
  holder* (a region's manager when given, else the rep who holds it today); from the start month
  the hire carries ``ramp[k]`` of it in the k-th month of service (a ramped quota, rounded to
  whole units) and the vacancy holder the rest, until the ramp ends.

Nothing is created or lost: each account-month's target is split, whole units, between at most two
people, so every total (company, region, province, month) is the targets step's exactly. The ledger
columns say where each person's target came from::

    target = first_allocation + handed_over + taken_over + vacancy_held + ramp_held + ramped_quota

>>> import pandas as pd
>>> plan = pd.DataFrame({"customer_id": ["C1", "C1", "C2", "C2"], "rep_id": ["R1", "R1", "R1", "R1"],
...                      "region_id": "E", "period": ["2027-01", "2027-02"] * 2, "target": [100.0, 100, 50, 50]})
>>> months, _ = person_targets(plan, holders={"C2": "H001"}, hire_starts={"H001": "2027-02"},
...                            hire_ramps={"H001": [0.5, 1.0]})
>>> months.groupby("person_id")["target"].sum().to_dict()
{'H001': 25.0, 'R1': 275.0}
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["LEDGER", "person_targets", "ramp_of"]

# The ledger's parts, in the order a reader follows them (their sum is the person's target)
LEDGER: tuple[str, ...] = ("first_allocation", "handed_over", "taken_over", "vacancy_held", "ramp_held", "ramped_quota")


def ramp_of(ramp: Sequence[float], service_month: int) -> float:
    """The share of a mature rep's volume in month ``service_month`` (1 = the start month) of service.

    >>> ramp_of([0.25, 0.5], 1), ramp_of([0.25, 0.5], 3)
    (0.25, 1.0)
    """
    return float(ramp[service_month - 1]) if 1 <= service_month <= len(ramp) else (1.0 if service_month > 0 else 0.0)


def person_targets(plan: pd.DataFrame, *, holders: Mapping[str, str], hire_starts: Mapping[str, str],
                   hire_ramps: Mapping[str, Sequence[float]],
                   vacancy_holders: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each person's monthly target after the hand-over, with the ledger of where it came from.

    Parameters
    ----------
    plan : DataFrame
        ``customer_id, rep_id, region_id, period, target``: each customer's target by month and the
        rep it was first allocated to (the targets step's; whole units).
    holders : mapping
        customer_id -> the person proposed to hold the account (a rep id or a planned hire's id);
        customers not in it stay with their first rep.
    hire_starts : mapping
        planned hire id -> start month (``YYYY-MM``); every id here is a hire.
    hire_ramps : mapping
        planned hire id -> the hire's ramp (share of a mature rep's volume in months 1, 2, ...).
    vacancy_holders : mapping, optional
        region_id -> the person who holds a region's accounts given to a hire until the hire starts,
        and the part of them the hire's ramp leaves; regions not in it: the account's first rep.

    Returns
    -------
    (months, accounts)
        ``months``: ``person_id, period`` with the :data:`LEDGER` columns and ``target`` (their sum);
        ``accounts``: ``person_id, period, customer_id, share`` - who carries which account in each month.
    """
    missing = {"customer_id", "rep_id", "region_id", "period", "target"} - set(plan.columns)
    if missing:
        raise ValueError(f"person_targets: plan lacks the columns {sorted(missing)}")
    vacancy_holders = dict(vacancy_holders or {})
    customer = plan["customer_id"].astype(str).to_numpy()
    first = plan["rep_id"].astype(str).to_numpy()
    region = plan["region_id"].astype(str).to_numpy()
    period = plan["period"].astype(str).to_numpy()
    target = plan["target"].to_numpy(dtype=float)
    new = np.array([holders.get(c, f) for c, f in zip(customer, first)], dtype=object)
    vacancy = np.array([vacancy_holders.get(r, f) for r, f in zip(region, first)], dtype=object)
    month = pd.PeriodIndex(period, freq="M")
    is_hire = np.array([n in hire_starts for n in new])
    service = np.zeros(len(plan), dtype=int)
    share = np.ones(len(plan))
    if is_hire.any():
        start = pd.PeriodIndex([hire_starts[n] for n in new[is_hire]], freq="M")
        served = np.asarray((month[is_hire].year - start.year) * 12 + (month[is_hire].month - start.month) + 1)
        service[is_hire] = served
        share[is_hire] = [ramp_of(hire_ramps[n], s) for n, s in zip(new[is_hire], served)]
    # the hire's whole units of the month; the vacancy holder the rest (0 before the start)
    hire_part = np.where(is_hire, np.floor(target * share + 0.5), 0.0)
    hire_part = np.minimum(hire_part, target)
    moved = new != first
    entries = [
        pd.DataFrame({"person_id": first, "period": period, "customer_id": customer, "part": "first_allocation", "amount": target}),
        pd.DataFrame({"person_id": first[moved], "period": period[moved], "customer_id": customer[moved],
                      "part": "handed_over", "amount": -target[moved]}),
    ]
    to_rep = moved & ~is_hire
    entries.append(pd.DataFrame({"person_id": new[to_rep], "period": period[to_rep], "customer_id": customer[to_rep],
                                 "part": "taken_over", "amount": target[to_rep]}))
    before = is_hire & (service <= 0)
    entries.append(pd.DataFrame({"person_id": vacancy[before], "period": period[before], "customer_id": customer[before],
                                 "part": "vacancy_held", "amount": target[before]}))
    after = is_hire & (service > 0)
    rest = target - hire_part
    held = after & (rest != 0)
    entries.append(pd.DataFrame({"person_id": vacancy[held], "period": period[held], "customer_id": customer[held],
                                 "part": "ramp_held", "amount": rest[held]}))
    entries.append(pd.DataFrame({"person_id": new[after], "period": period[after], "customer_id": customer[after],
                                 "part": "ramped_quota", "amount": hire_part[after]}))
    flows = pd.concat(entries, ignore_index=True)
    months = (flows.pivot_table(index=["person_id", "period"], columns="part", values="amount", aggfunc="sum",
                                fill_value=0.0, observed=True)
              .reindex(columns=list(LEDGER), fill_value=0.0).reset_index())
    months.columns.name = None
    months["target"] = months[list(LEDGER)].sum(axis=1)
    # who carries which account in each month: every part but the first allocation of an account handed over
    gave_up = np.concatenate([moved, np.zeros(len(flows) - len(plan), dtype=bool)])  # flows start with the first allocations
    carries = flows[~gave_up & (flows["part"] != "handed_over")]
    accounts = carries.groupby(["person_id", "period", "customer_id"], observed=True)["amount"].sum().reset_index()
    totals = pd.Series(target, index=pd.MultiIndex.from_arrays([period, customer])).groupby(level=[0, 1]).sum()
    whole = totals.reindex(pd.MultiIndex.from_frame(accounts[["period", "customer_id"]])).to_numpy()
    accounts["share"] = np.divide(accounts["amount"].to_numpy(dtype=float), whole, out=np.ones(len(accounts)), where=whole != 0)
    accounts = accounts[["person_id", "period", "customer_id", "share"]]
    return (months.sort_values(["person_id", "period"]).reset_index(drop=True),
            accounts.sort_values(["person_id", "period", "customer_id"]).reset_index(drop=True))
