"""The territory step's hand-over: who gains and loses which accounts, and the targets that follow them
(each account's monthly target to the person who holds it after the hand-over, a new position's ramped
from its start, the vacancy holder carrying the rest)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain import staffing
from salesmodel.domain.targets.quotas import LEDGER, person_targets
from salesmodel.errors import ParamsError
from salesmodel.pipeline._base import Context

__all__ = ["handover", "last_year_sales", "targets_after_handover", "vacancy_holders"]


def handover(table: pd.DataFrame, labels: Any, km_new: Any, bases: pd.DataFrame,
             last_year: pd.Series) -> pd.DataFrame:
    """For each rep, the accounts gained and lost, by money (last year's sales, then potential)."""
    import numpy as np

    cur = table["current"].to_numpy(dtype=object)
    lab = np.asarray(labels, dtype=object)
    moved = np.array([isinstance(c, str) and c != x for c, x in zip(cur, lab)])
    named = table if "customer_name" in table.columns else table.assign(customer_name=table["unit_id"])
    m = named.loc[moved, ["unit_id", "customer_name", "potential"]].rename(columns={"unit_id": "customer_id"})
    m["from_rep"] = cur[moved].astype(str)
    m["to_rep"] = lab[moved].astype(str)
    m["distance_km"] = np.asarray(km_new, dtype=float)[moved]
    m["last_year_sales"] = m["customer_id"].map(last_year).fillna(0.0).astype(float)
    names = dict(zip(bases["rep_id"], bases["rep_name"].astype(str))) if "rep_name" in bases.columns else {}
    gained = m.assign(rep_id=m["to_rep"], direction="gained")
    lost = m.assign(rep_id=m["from_rep"], direction="lost")
    out = pd.concat([gained, lost], ignore_index=True)
    out["rep_name"] = out["rep_id"].map(names).fillna("").astype(str)
    out["customer_name"] = out["customer_name"].astype(str)
    out = out.sort_values(["last_year_sales", "potential", "customer_id", "direction"],
                          ascending=[False, False, True, True], kind="stable")
    return out[["rep_id", "rep_name", "direction", "customer_id", "customer_name", "from_rep", "to_rep",
                "last_year_sales", "potential", "distance_km"]].reset_index(drop=True)


def last_year_sales(ctx: Context) -> pd.Series:
    """Each customer's sales of the last twelve months (the staffing step's tiers), for the hand-over list."""
    sp = ctx.params.staffing
    tiers = staffing.tier_customers(ctx.history().months, by="last_year",
                                    scheme={"method": sp.tier_method, "cuts": sp.tier_cuts},
                                    customers=ctx.inputs["customers"]["customer_id"])
    return tiers.set_index("customer_id")["sales"].astype(float)


# ---- targets follow the territories ----------------------------------------------------------------

def vacancy_holders(ctx: Context) -> dict[str, str]:
    """``territory.vacancy_holders``, checked: each a province manager, active today, of the region named."""
    given = dict(ctx.params.territory.vacancy_holders)
    reps = ctx.inputs["reps"].set_index("rep_id")
    regions = set(ctx.inputs["reps"]["region_id"].astype(str))
    for region, rep in given.items():
        where = f"territory.vacancy_holders {region}: {rep}"
        if region not in regions:
            raise ParamsError(f"{where}: there is no region {region!r} with reps (regions: {', '.join(sorted(regions))})")
        if rep not in reps.index:
            raise ParamsError(f"{where}: there is no rep {rep!r} in reps.csv")
        row = reps.loc[rep]
        managers = reps[(reps["region_id"] == region) & (reps["role"] == "province_manager") & reps["leave_date"].isna()]
        if str(row["region_id"]) != region or row["role"] != "province_manager" or pd.notna(row["leave_date"]):
            named = ", ".join(managers.index) if len(managers) else "none: leave the region out"
            raise ParamsError(f"{where}: the vacancy holder must be an active province manager of region {region} "
                              f"(its province managers: {named})")
    return given


def targets_after_handover(ctx: Context, assignment: pd.DataFrame, bases: pd.DataFrame,
                           hires: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each account's monthly target goes to the person the proposal gives it (a hire's ramped from
    the start month, the vacancy holder carrying the rest): ``targets_person_month`` and ``targets_person``."""
    dekads = ctx.table("plan_customer_dekad")
    plan = dekads.assign(period=dekads["period"].astype(str).str[:7], customer_id=dekads["customer_id"].astype(str))
    plan = plan.groupby(["customer_id", "rep_id", "region_id", "period"], observed=True, as_index=False)["target"].sum()
    hire_ids = set(bases["rep_id"]) & set(hires["hire_id"].astype(str))
    hires = hires[hires["hire_id"].astype(str).isin(hire_ids)]
    starts = dict(zip(hires["hire_id"].astype(str), hires["start_month"].astype(str)))
    ramps = {h: [float(x) for x in str(r).split("/")] for h, r in zip(hires["hire_id"].astype(str), hires["ramp"])}
    holders = dict(zip(assignment["customer_id"].astype(str), assignment["territory"].astype(str)))
    months, accounts = person_targets(plan, holders=holders, hire_starts=starts, hire_ramps=ramps,
                              vacancy_holders=vacancy_holders(ctx))
    reps = ctx.inputs["reps"].set_index("rep_id")
    region = {**reps["region_id"].astype(str).to_dict(), **dict(zip(hires["hire_id"].astype(str), hires["region_id"].astype(str)))}
    role = {**reps["role"].astype(str).to_dict(), **dict(zip(hires["hire_id"].astype(str), hires["role"].astype(str)))}
    count = accounts.groupby(["person_id", "period"]).size()
    months["accounts"] = [int(count.get((p, m), 0)) for p, m in zip(months["person_id"], months["period"])]
    months.insert(1, "kind", months["person_id"].map(lambda p: "hire" if p in starts else "rep"))
    months.insert(2, "region_id", months["person_id"].map(region).fillna("").astype(str))
    people = months.groupby(["person_id", "kind", "region_id"], as_index=False)[[*LEDGER, "target"]].sum()
    idle = sorted(set(bases["rep_id"].astype(str)) - set(people["person_id"]))  # designed for, given nothing: a zero target
    if idle:
        people = pd.concat([people, pd.DataFrame({"person_id": idle, "kind": ["hire" if p in starts else "rep" for p in idle],
                                                  "region_id": [region.get(p, "") for p in idle]})], ignore_index=True)
        people[[*LEDGER, "target"]] = people[[*LEDGER, "target"]].fillna(0.0)
    last = months["period"].max()
    at_end = months[months["period"] == last].set_index("person_id")["accounts"]
    people.insert(1, "person_name", people["person_id"].map(reps["rep_name"].astype(str)).fillna("").astype(str))
    people.insert(4, "role", people["person_id"].map(role).fillna("").astype(str))
    people.insert(5, "start_month", people["person_id"].map(starts).fillna("").astype(str))
    first = people["first_allocation"].to_numpy(dtype=float)
    people["change"] = pd.Series(people["target"].to_numpy(dtype=float) / np.where(first > 0, first, 1.0) - 1).where(first > 0)
    people["accounts_end"] = people["person_id"].map(at_end).fillna(0).astype(int)
    return months, people.sort_values(["region_id", "kind", "person_id"]).reset_index(drop=True)
