"""Funnel: a 4S-dealership funnel, deliveries <- orders <- signed drafts <-
opportunities <- leads by source (example F of DOMAIN.md), backward from a delivery
target or forward from the leads available.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.staffing._checks import _bad, _check_positive, _check_rate, _require_columns

__all__ = ["EXAMPLE_F_SOURCES", "EXAMPLE_F_STAGES", "funnel"]


# ---------------------------------------------------------------------------
# funnel
# ---------------------------------------------------------------------------

#: Example F's lead sources: conversion to an opportunity (商机) and, an
#: assumption of ours (the seed gives none), the mix of opportunities by source.
#: ``showroom`` marks sources that walk into the showroom (traffic).
EXAMPLE_F_SOURCES: dict[str, dict[str, Any]] = {
    "trade_in_repurchase": {"to_opportunity": 0.85, "mix": 0.15, "showroom": False},
    "walk_in": {"to_opportunity": 0.15, "mix": 0.30, "showroom": True},
    "phone": {"to_opportunity": 0.30, "mix": 0.15, "showroom": False},
    "web": {"to_opportunity": 0.05, "mix": 0.15, "showroom": False},
    "referral": {"to_opportunity": 0.60, "mix": 0.15, "showroom": False},
    "reactivated": {"to_opportunity": 0.70, "mix": 0.10, "showroom": False},
}

#: Example F's stages after the opportunity, with the seed's ranges as
#: low / mid / high scenarios (opportunity -> signed draft 30-80%,
#: draft -> order 35-60%, order -> delivery 95%).
EXAMPLE_F_STAGES: dict[str, Any] = {
    "signed_draft": {"low": 0.30, "mid": 0.55, "high": 0.80},
    "order": {"low": 0.35, "mid": 0.475, "high": 0.60},
    "delivery": 0.95,
}


def _ceil(x: np.ndarray | float) -> np.ndarray:
    # round up, but 12.0000000001 from float division stays 12
    return np.ceil(np.asarray(x, dtype=float) - 1e-9).astype(np.int64)


def funnel(  # noqa: C901 - stages, sources, scenarios and the consultants, one worked example (F)
    target: float | Mapping[str, float],
    *,
    stages: Mapping[str, float | Mapping[str, float]] | None = None,
    sources: Mapping[str, Mapping[str, Any]] | pd.DataFrame | None = None,
    consultant_lead_capacity: float | None = None,
    direction: str = "backward",
) -> pd.DataFrame:
    """A sales funnel from leads by source to deliveries (example F), either way.

    Backward (``direction="backward"``, ``target`` = deliveries): deliveries
    <- orders <- signed drafts <- opportunities, then opportunities split by
    each source's ``mix`` and divided by its ``to_opportunity`` rate give the
    leads needed per source; showroom traffic is the leads of the sources
    marked ``showroom`` (walk-ins). Forward (``direction="forward"``,
    ``target`` = leads available per source): the deliveries to expect.

    ``needed`` is the exact expected number; ``whole`` rounds it to whole
    people, leads and cars: UP when working backward (you need at least that
    many) and DOWN when working forward (you can count on that many).

    Parameters
    ----------
    target : float or mapping source -> leads
        Deliveries (backward) or leads available by source (forward).
    stages : mapping, default=EXAMPLE_F_STAGES
        Stage -> conversion from the previous stage, in order after the
        opportunity; a rate or ``{scenario: rate}`` (e.g. low/mid/high). The
        last stage is the delivery.
    sources : mapping or table, default=EXAMPLE_F_SOURCES
        Source -> ``to_opportunity`` rate, ``mix`` (share of opportunities,
        adding up to 1; only needed backward) and ``showroom`` flag.
    consultant_lead_capacity : float, optional
        Leads one sales consultant can work in a month: adds the consultants
        needed (backward) or busy (forward).

    Returns
    -------
    DataFrame
        ``scenario, step, stage, source, rate, needed, whole`` (``source`` is
        "all" for the totals of a stage; ``rate`` converts this row into the
        next stage).

    Examples
    --------
    >>> f = funnel(100, stages={"signed_draft": 0.5, "order": 0.5, "delivery": 0.95},
    ...            sources={"walk_in": {"to_opportunity": 0.15, "mix": 1.0, "showroom": True}})
    >>> f.query("stage == 'lead' and source == 'all'")["whole"].item()
    2808
    """
    func = "funnel"
    if direction not in ("backward", "forward"):
        raise _bad("direction", func, "'backward' or 'forward'", direction)
    stages = dict(EXAMPLE_F_STAGES if stages is None else stages)
    if not stages:
        raise _bad("stages", func, "at least one stage after the opportunity", stages)
    if sources is None:
        sources = EXAMPLE_F_SOURCES
    if isinstance(sources, pd.DataFrame):
        _require_columns(sources, ["source", "to_opportunity"], "the sources table", func)
        sources = {r["source"]: r for r in sources.to_dict("records")}
    if not sources:
        raise _bad("sources", func, "at least one lead source", sources)
    src = pd.DataFrame(
        {
            "to_opportunity": [_check_rate(s.get("to_opportunity"), f"sources[{k!r}].to_opportunity", func) for k, s in sources.items()],
            "mix": [float(s.get("mix", np.nan)) for s in sources.values()],
            "showroom": [bool(s.get("showroom", False)) for s in sources.values()],
        },
        index=pd.Index(list(sources), name="source"),
    )
    # scenarios: the union of scenario names in the stages; a plain rate is in all of them
    names: list[str] = []
    for rate in stages.values():
        if isinstance(rate, Mapping):
            names += [n for n in rate if n not in names]
    scenarios = names or ["base"]
    rates: dict[str, list[float]] = {}
    for sc in scenarios:
        row = []
        for stage, rate in stages.items():
            if isinstance(rate, Mapping):
                if sc not in rate:
                    raise _bad(f"stages[{stage!r}]", func, f"a rate or a rate for every scenario ({', '.join(scenarios)})", dict(rate))
                rate = rate[sc]
            row.append(_check_rate(rate, f"stages[{stage!r}]", func))
        rates[sc] = row
    if consultant_lead_capacity is not None:
        consultant_lead_capacity = _check_positive(consultant_lead_capacity, "consultant_lead_capacity", func)

    stage_names = list(stages)
    records: list[tuple] = []
    if direction == "backward":
        deliveries = float(target) if not isinstance(target, Mapping) else math.nan
        if not (deliveries >= 0):
            raise _bad("target", func, "a number of deliveries >= 0 when direction='backward'", target)
        mix = src["mix"]
        if deliveries > 0:
            if mix.isna().any() or (mix < 0).any() or abs(mix.sum() - 1) > 1e-6:
                raise _bad("sources", func, "a 'mix' for every source: shares of opportunities >= 0 adding up to 1", mix.to_dict())
            zero = src.index[(mix > 0) & (src["to_opportunity"] == 0)]
            if len(zero):
                raise _bad("sources", func, "a to_opportunity rate above 0 for every source with a share of the mix", {k: 0.0 for k in zero})
        for sc in scenarios:
            r = rates[sc]
            if deliveries > 0 and min(r) == 0:
                zero_stage = stage_names[r.index(0)]
                raise _bad(f"stages[{zero_stage!r}]", func, "a rate above 0 on the path to a positive delivery target", 0.0)
            count = deliveries
            chain = [(stage_names[-1], "all", math.nan, count)]
            for i in range(len(stage_names) - 1, -1, -1):
                count = count / r[i] if count > 0 else 0.0
                chain.append((stage_names[i - 1] if i > 0 else "opportunity", "all", r[i], count))
            opportunities = count
            chain.reverse()
            step = 0
            opp_by = mix.fillna(0.0) * opportunities
            leads_by = (opp_by / src["to_opportunity"].where(src["to_opportunity"] > 0)).fillna(0.0)
            for s in src.index:
                records.append((sc, step, "lead", s, src.at[s, "to_opportunity"], leads_by[s]))
            records.append((sc, step, "lead", "all", math.nan, float(leads_by.sum())))
            step += 1
            records.append((sc, step, "showroom_traffic", "all", math.nan, float(leads_by[src["showroom"]].sum())))
            step += 1
            for s in src.index:
                records.append((sc, step, "opportunity", s, chain[0][2], opp_by[s]))
            for stage, source, rate, cnt in chain:
                records.append((sc, step, stage, source, rate, cnt))
                step += 1
            if consultant_lead_capacity is not None:
                records.append((sc, step, "consultants", "all", math.nan, float(leads_by.sum()) / consultant_lead_capacity))
    else:
        if not isinstance(target, Mapping):
            raise _bad("target", func, "a mapping source -> leads available when direction='forward'", target)
        unknown = sorted(set(target) - set(src.index))
        if unknown:
            raise _bad("target", func, f"leads for known sources ({', '.join(src.index)})", unknown)
        leads = pd.Series({s: float(target.get(s, 0.0)) for s in src.index})
        if (leads < 0).any() or leads.isna().any():
            raise _bad("target", func, "leads >= 0 for every source", dict(target))
        opp_by = leads * src["to_opportunity"]
        for sc in scenarios:
            r = rates[sc]
            step = 0
            for s in src.index:
                records.append((sc, step, "lead", s, src.at[s, "to_opportunity"], leads[s]))
            records.append((sc, step, "lead", "all", math.nan, float(leads.sum())))
            step += 1
            records.append((sc, step, "showroom_traffic", "all", math.nan, float(leads[src["showroom"]].sum())))
            step += 1
            count = float(opp_by.sum())
            for s in src.index:
                records.append((sc, step, "opportunity", s, r[0], opp_by[s]))
            records.append((sc, step, "opportunity", "all", r[0], count))
            for i, stage in enumerate(stage_names):
                step += 1
                count = count * r[i]
                records.append((sc, step, stage, "all", r[i + 1] if i + 1 < len(r) else math.nan, count))
            if consultant_lead_capacity is not None:
                records.append((sc, step + 1, "consultants", "all", math.nan, float(leads.sum()) / consultant_lead_capacity))
    out = pd.DataFrame(records, columns=["scenario", "step", "stage", "source", "rate", "needed"])
    if direction == "backward":
        out["whole"] = _ceil(out["needed"])
    else:
        out["whole"] = np.floor(out["needed"].to_numpy() + 1e-9).astype(np.int64)
        # consultants busy with the leads are still whole people: round up
        cons = out["stage"] == "consultants"
        out.loc[cons, "whole"] = _ceil(out.loc[cons, "needed"])
    # per-source rows are rounded one by one; their totals are the sums, so the table adds up
    for _key, rows in out[out["stage"].isin(["lead", "opportunity"])].groupby(["scenario", "stage"], sort=False):
        per = rows["source"] != "all"
        out.loc[rows.index[~per], "whole"] = int(rows.loc[per, "whole"].sum())
    walk = out["stage"] == "lead"
    for sc in out["scenario"].unique():
        shown = out.loc[walk & (out["scenario"] == sc) & out["source"].isin(src.index[src["showroom"]]), "whole"].sum()
        out.loc[(out["stage"] == "showroom_traffic") & (out["scenario"] == sc), "whole"] = int(shown)
    out["direction"] = direction
    return out
