"""Customers as territory units: the demo company's accounts with potential and workload."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.staffing import workload as staffing_workload
from salesmodel.errors import InputError, short_list

UNASSIGNED = None


def customer_units(
    customers: pd.DataFrame,
    reps: pd.DataFrame,
    *,
    workload: pd.Series | None = None,
    workload_measure: str = "hours",
    include_churned: bool = False,
) -> pd.DataFrame:
    """One unit per active customer, ready for :func:`design` and :func:`evaluate`.

    Parameters
    ----------
    customers : DataFrame
        ``customer_id, rep_id, lat, lon, potential`` (plus ``tier``,
        ``customer_type`` for the default workload, and ``churn_date``).
    reps : DataFrame
        ``rep_id`` and ``leave_date`` (empty while the rep is active).
    workload : Series, optional
        Workload per customer (indexed by customer_id). Default: the monthly visit
        hours (or visits, see ``workload_measure``) of the visit standards,
        :func:`salesmodel.domain.staffing.workload` with one row per customer.
    workload_measure : {"hours", "visits"}, default="hours"
    include_churned : bool, default=False
        Keep customers with a churn date.

    Returns
    -------
    DataFrame
        ``unit_id`` (the customer id), ``lat``, ``lon``, ``potential``, ``workload`` and
        ``current``: the customer's rep if that rep is active, else empty (accounts of
        reps who left have no territory today). Other customer columns follow.
    """
    need = ["customer_id", "rep_id", "lat", "lon", "potential"]
    missing = [c for c in need if c not in customers.columns]
    if missing:
        raise InputError(f"customers: missing columns {short_list(missing)} needed for territories")
    if "rep_id" not in reps.columns:
        raise InputError("reps: missing column 'rep_id' needed for territories")
    df = customers.copy()
    if not include_churned and "churn_date" in df.columns:
        df = df[df["churn_date"].isna()]
    if workload is None:
        if workload_measure not in ("hours", "visits"):
            raise InputError(f"The 'workload_measure' parameter must be 'hours' or 'visits'. Got {workload_measure!r} instead.")
        per_customer = staffing_workload(df, by=None)
        workload = per_customer.groupby("customer_id")[workload_measure].sum()
    values = pd.Series(workload).reindex(df["customer_id"])
    if values.isna().any():
        raise InputError(
            f"workload: no value for customer_id {short_list(df['customer_id'][values.isna().to_numpy()].tolist())}"
        )
    active: Any = reps["rep_id"]
    if "leave_date" in reps.columns:
        active = reps.loc[reps["leave_date"].isna(), "rep_id"]
    active = set(active)
    out = df.rename(columns={"customer_id": "unit_id"})
    out["workload"] = values.to_numpy(dtype=float)
    out["current"] = np.where(out["rep_id"].isin(active), out["rep_id"], None)
    first = ["unit_id", "lat", "lon", "potential", "workload", "current"]
    return out[first + [c for c in out.columns if c not in first]].reset_index(drop=True)
