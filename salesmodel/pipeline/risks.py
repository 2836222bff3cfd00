"""The plan's risks: the ``risks`` table of the summary step, every risk the run's tables show.

Each row is a kind and its numbers (codes and values); :func:`salesmodel.report.risks.risks` says them
in the reader's language.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.tracking import out_of_band_first
from salesmodel.pipeline.key_figures import KeyFigures, hires_part, money_at_risk

__all__ = ["HIRE_ACCOUNTS_SHORT", "RISK_COLUMNS", "STOCK_NAMED", "risk_table"]

# How many stores below the stock band the risks table names (most urgent first).
STOCK_NAMED = 20

RISK_COLUMNS = ["kind", "unit_id", "value", "probability", "money", "asked", "detail"]


# the hires' accounts may fall this far short of what the staffing plan counts on them selling before it is a risk
HIRE_ACCOUNTS_SHORT = 0.10


def risk_table(tables: Mapping[str, pd.DataFrame], figures: KeyFigures, *, top: int = 5,
               calendar_status: tuple[str, int, str] | None = None,
               unmet: pd.DataFrame | None = None, bound_share: float | None = None) -> pd.DataFrame:
    """Every risk the run's tables show, most money first, then the rest (the ``risks`` table).

    Kinds: ``growth`` (regions below the achievability threshold, by money at risk),
    ``shortfall`` (capacity short of the target, with its months and amount), ``unmet``
    (a requirement of the params the plan does not meet, e.g. a territory tolerance),
    ``territory`` (every tolerance met: the largest deviation), ``disruption`` (the share of
    potential and the accounts the proposal moves to other reps),
    ``calendar`` (the plan year's holidays are not officially announced), ``decline``
    (units asked to sell less than last year), ``budget`` (a cap cut the expense budget: the
    budget, what was asked, the categories or ``overall``), ``stock`` (store-products out of the
    stock band: how many below, the stores below most urgent first, how many above),
    ``commitments`` (the reps' commitments against their top-down targets: the gap, how many
    committed, the policy), ``none`` (no unit below the threshold).
    """
    rows: list[dict[str, Any]] = []
    nan = np.nan

    def add(kind: str, unit_id: str = "", value: float = nan, probability: float = nan, money: float = nan,
            asked: float = nan, detail: str = "") -> None:
        rows.append({"kind": kind, "unit_id": unit_id, "value": value, "probability": probability, "money": money,
                     "asked": asked, "detail": detail})

    ach = tables.get("achievability")
    if ach is not None and not ach.empty:
        flagged = ach[ach["flag"].astype(bool)].copy()
        coarse = flagged[flagged["level"].isin(["company", "region"])].copy()
        pick = coarse if not coarse.empty else flagged
        pick = pick.assign(money=money_at_risk(pick["target"], pick["baseline"], pick.get("baseline_sd", 0.0)))
        for row in pick.sort_values(["money", "unit_id"], ascending=[False, True]).head(top).itertuples(index=False):
            add("growth", str(row.unit_id), float(row.growth_asked), float(row.probability), float(row.money),
                detail=str(row.level))
        if flagged.empty:
            add("none")
    cap = tables.get("capacity_plan")
    if cap is not None and len(cap):
        lead_in = cap["lead_in"].astype(bool) if "lead_in" in cap else False
        short = cap[cap["shortfall"].astype(bool) & ~lead_in]
        if len(short):
            months = sorted(short["month"].astype(str).unique())
            add("shortfall", ",".join(sorted(short["region_id"].astype(str).unique())), float(len(short)),
                money=float(short["shortfall_amount"].sum()) if "shortfall_amount" in short else nan,
                detail=",".join(months))
    for row in (unmet if unmet is not None else pd.DataFrame(columns=["requirement"])).itertuples(index=False):
        add("unmet", value=float(row.achieved), asked=float(row.asked), detail=str(row.requirement))
    if (unmet is None or not len(unmet)) and figures.territory_max_deviation is not None:
        add("territory", value=figures.territory_max_deviation)
    terr = tables.get("territory_summary")
    if terr is not None and len(terr) and (terr["plan"] == "proposed").any():
        proposed = terr[terr["plan"] == "proposed"].iloc[0]
        if int(proposed["moved_units"]) > 0:
            add("disruption", value=float(proposed["moved_share"]), detail=str(int(proposed["moved_units"])))
    part = hires_part(tables)
    # the hires' accounts against what the staffing plan counts on them to sell: today's reps carry the difference
    if part is not None and part.counted > 0 and part.quota < (1 - HIRE_ACCOUNTS_SHORT) * part.counted:
        add("hires_accounts", value=part.quota, money=part.counted - part.quota, asked=part.counted,
            detail=str(part.hires))
    if calendar_status is not None:
        status, year, country = calendar_status
        if status in ("estimated", "unconfirmed", "unsupported"):
            add("calendar", value=float(year), detail=f"{country}:{status}")
    for level in ("region", "province"):
        t = tables.get(f"targets_{level}")
        if t is not None and len(t):
            down = t[t["growth"] < 0].sort_values("growth")
            if len(down):
                add("decline", ",".join(down[f"{level}_id"].astype(str)), float(len(down)),
                    money=float((down["last_year"] - down["target"]).sum()), detail=level)
    bt = tables.get("budget_total")
    if bt is not None and len(bt) and figures.budget is not None and (bt["capped"] != "none").any():
        capped = bt[bt["capped"] != "none"]
        overall = (capped["capped"] == "overall").any()
        add("budget", "" if overall else ",".join(capped["category"].astype(str)),
            value=np.nan if figures.budget_share_of_target is None else figures.budget_share_of_target,
            money=figures.budget, asked=np.nan if figures.budget_asked is None else figures.budget_asked,
            detail="overall" if overall else "category")
    cover = tables.get("stock_cover")
    if cover is not None and figures.stock_below is not None and (figures.stock_below or figures.stock_above):
        below = out_of_band_first(cover)
        below = below.loc[below["status"] == "below", "customer_id"].astype(str).drop_duplicates()
        # the stores that run out first (the workbook's stock sheet lists every one)
        add("stock", ",".join(below.head(STOCK_NAMED)), float(figures.stock_below),
            detail=str(figures.stock_above or 0))
    commitments = tables.get("targets_commitments")
    if commitments is not None and len(commitments) and figures.commitment_gap is not None:
        committed = int(commitments["has_commitment"].astype(bool).sum())
        if committed:
            add("commitments", value=float(committed), money=figures.commitment_gap,
                detail=f"{commitments['policy'].iloc[0]}:{len(commitments)}")
    bounds = tables.get("targets_bounds")
    if bound_share is not None and bounds is not None and len(bounds) and figures.share_at_bound is not None:
        # the plan leans on its caps: more customers (or money) at a growth bound than targets.bound_risk_share
        money_share = figures.money_share_at_bound or 0.0
        if figures.share_at_bound > bound_share or money_share > bound_share:
            upper = int(bounds["at_upper"].sum())
            cust = tables.get("targets_customer")
            cap = (float(cust.loc[cust["bound_applied"] == "upper", "growth"].median())
                   if cust is not None and upper else float("nan"))
            add("bounds", value=float(figures.customers_at_bound or 0), probability=float(figures.share_at_bound),
                money=float(bounds["target_at_bound"].sum()), asked=money_share,
                detail=f"{upper}:{int(bounds['customers'].sum())}:{cap:.4f}")
    return pd.DataFrame(rows, columns=RISK_COLUMNS)
