"""Requests that cannot be met, found before anything runs.

Called by :func:`salesmodel.run.runner.check_scenario` (so by ``salesmodel run`` and
``salesmodel validate``) once params and inputs are valid. Each check refuses
only where a short argument proves the request impossible, and the message
gives the feasible range; everything subtler is for the run to find, which then
completes with status 3 (see ``salesmodel.run.audit.read_unmet``).

- the plan year must follow the sales history (no month planned that is already history);
- locked targets (`data.locks`): units the plan has, multiples of the rounding, no level or
  locked parent asking more than there is;
- territories: more territories than active customers; a balance tolerance on potential
  that one customer alone breaks (with the smallest workable tolerance and the largest
  workable k); with contiguity, a customer graph whose disconnected parts cannot hold the
  territories;
- with ``staffing.max_hires_per_month: 0`` a target above what every current rep could
  sell at full productivity all year cannot be staffed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesmodel import io
from salesmodel.domain import staffing, territory
from salesmodel.domain.constraints import largest_over_mean, within_tolerance
from salesmodel.domain.territory._feasible import check_feasible as check_units
from salesmodel.domain.territory._units import prepare_units
from salesmodel.errors import InfeasibleError, InputError, ParamsError, short_list
from salesmodel.io import orderlines

__all__ = ["check_feasible", "check_hiring", "check_locks", "check_plan_year", "check_territory_balance",
           "check_territory_first", "check_territory_graph", "check_territory_reps"]

# The no-hire capacity bound is exact only when seasonal indices average 1; refuse only
# beyond this margin so a rounding of the indices can never refuse a feasible request.
_CAPACITY_MARGIN = 1.02


def check_plan_year(scenario: Any, sales: pd.DataFrame | orderlines.StoredLines | None, source: str = "the sales history") -> None:
    """ParamsError when the plan year starts before the sales history ends, naming the overlapping months."""
    if isinstance(sales, orderlines.StoredLines):  # lines kept on disk: their days, summed
        sales = orderlines.history(sales).days
    if sales is None or "date" not in sales or sales["date"].isna().all():
        return
    plan_year = int(scenario.calendar.plan_year)
    last = pd.Timestamp(sales["date"].max())
    if last.year < plan_year:
        return
    first_overlap = max(pd.Timestamp(f"{plan_year}-01-01"), pd.Timestamp(sales["date"].min()))
    months = pd.period_range(first_overlap.to_period("M"), last.to_period("M"), freq="M")
    raise ParamsError(
        f"calendar.plan_year {plan_year} lies inside the history: {source} has sales up to {last:%Y-%m-%d}, "
        f"so {len(months)} month(s) overlap ({months[0]} to {months[-1]}); plan a year after the history "
        f"(calendar.plan_year: {last.year + 1} or later)"
    )


def check_territory_balance(scenario: Any, customers: pd.DataFrame, reps: pd.DataFrame) -> None:
    """InfeasibleError when one active customer alone breaks the potential tolerance of every plan."""
    tp = scenario.territory
    tol = (tp.balance_on or {}).get("potential")
    if tol is None or customers is None or "potential" not in customers:
        return
    active = customers
    if "churn_date" in customers:
        active = customers[customers["churn_date"].isna()]
    if reps is not None and "leave_date" in reps:
        n_reps = int(reps["leave_date"].isna().sum())
    else:
        n_reps = len(reps) if reps is not None else 0
    k = int(tp.k or n_reps)
    if k > len(active) > 0:
        raise InfeasibleError(
            f"territory.k: {k} territories cannot be made from {len(active)} active customers (each territory "
            f"needs at least one); feasible: territory.k of at most {len(active)}",
            feasible={"k": (1, len(active))},
        )
    potential = active["potential"].to_numpy(dtype=float)
    total = float(np.nansum(potential))
    largest = largest_over_mean(potential, k)
    if largest is None:
        return
    i, over, mean = largest
    if not within_tolerance(over, tol):
        need = np.ceil(over * 1000) / 1000
        # the largest k at which that customer fits: potential <= (1 + tol) * total / k
        k_max = int(np.floor(total * (1 + float(tol)) / potential[i] + 1e-9))
        raise InfeasibleError(
            f"territory.balance_on.potential: a tolerance of ±{float(tol):.2%} cannot be met: customer "
            f"{short_list([str(active['customer_id'].iloc[i])])} alone has potential {potential[i]:,.0f}, "
            f"{over:.1%} above the mean of {k} territories ({mean:,.0f}); feasible: a tolerance of at least "
            f"±{need:.1%}, or at most {k_max} territories (territory.k: {k_max})",
            feasible={"potential": float(need), "k": (1, k_max)},
        )
    if tp.contiguous and tp.method != "reps" and {"lat", "lon", "customer_id"} <= set(active.columns):
        check_territory_graph(scenario, active, k, float(tol))


def check_territory_reps(scenario: Any, inputs: dict[str, pd.DataFrame]) -> None:
    """Method 'reps': a rep without a base, a max_distance_km under which an account without a rep
    has none, a lock naming a departed rep or an unknown account, keep_whole 'city' with accounts
    lacking a city, refused before any search (InputError naming the rows)."""
    tp = scenario.territory
    customers, reps = inputs.get("customers"), inputs.get("reps")
    if tp.method != "reps" or customers is None or reps is None or "lat" not in customers:
        return
    active = customers[customers["churn_date"].isna()] if "churn_date" in customers else customers
    staying = reps[reps["leave_date"].isna()] if "leave_date" in reps else reps
    units = active.rename(columns={"customer_id": "unit_id"}).reset_index(drop=True)
    units["current"] = units["rep_id"].where(units["rep_id"].isin(set(staying["rep_id"])), None)
    locks_table = inputs.get("territory_locks")
    locks = None
    if locks_table is not None and len(locks_table):
        locks = dict(zip(locks_table["customer_id"].astype(str), locks_table["rep_id"].astype(str)))
    road = tp.road_factor if tp.road_factor is not None else scenario.staffing.travel_circuity
    territory.check_rep_inputs(units, staying.sort_values("rep_id").reset_index(drop=True),
                               max_distance_km=tp.max_distance_km, road_factor=road, keep_whole=tp.keep_whole,
                               locks=locks, departed=set(reps["rep_id"]) - set(staying["rep_id"]))


def check_territory_graph(scenario: Any, active: pd.DataFrame, k: int, tol: float) -> None:
    """InfeasibleError when the customers' contiguity graph (as the territory step builds it) has more
    disconnected parts than territories, parts that cannot hold a whole number of territories
    within the potential tolerance, or a piece hanging on one customer that can neither be
    whole territories nor join that customer's."""
    tp = scenario.territory
    units = active[["customer_id", "lat", "lon", "potential"]].rename(columns={"customer_id": "unit_id"})
    units = units.assign(potential=units["potential"].astype(float).fillna(0.0)).reset_index(drop=True)
    graph = territory.adjacency(units, method=tp.graph, prune_factor=tp.prune_factor, neighbours=tp.neighbours)
    try:
        check_units(prepare_units(units, {"potential": tol}, func="design"), k, graph, True)
    except InfeasibleError as exc:
        if graph.n_components <= 1:  # a piece that hangs on one customer
            raise InfeasibleError(f"territory (contiguous, {tp.graph} graph of the customers): {exc}",
                                  feasible=getattr(exc, "feasible", None)) from None
        sizes = sorted((len(c) for c in graph.components), reverse=True)
        raise InfeasibleError(
            f"territory (contiguous): the customers' {tp.graph} graph has {graph.n_components} disconnected parts "
            f"(sizes {short_list([str(x) for x in sizes])}): {exc}", feasible=getattr(exc, "feasible", None),
        ) from None


def check_hiring(scenario: Any, inputs: dict[str, pd.DataFrame]) -> None:
    """InfeasibleError when hires are capped at 0 and the target exceeds what today's reps could sell."""
    sp, tp = scenario.staffing, scenario.targets
    if sp.max_hires_per_month != 0:
        return
    sales, customers, reps = inputs.get("sales"), inputs.get("customers"), inputs.get("reps")
    if sales is None or reps is None or customers is None or not len(sales):
        return
    plan_year = int(scenario.calendar.plan_year)
    history = orderlines.history(sales)  # the history as the plan's steps read it
    if isinstance(tp.total, (int, float)):  # a total by chance is made (and checked) in the targets step
        target, what = float(tp.total), f"targets.total {tp.total:,.0f}"
    elif tp.growth_over == "last_year":
        last_year = history.days[history.days["date"].dt.year == plan_year - 1]
        if last_year.empty or last_year["date"].min() > pd.Timestamp(f"{plan_year - 1}-01-07") \
                or last_year["date"].max() < pd.Timestamp(f"{plan_year - 1}-12-24"):
            return  # last year is not complete in the history: no simple argument
        base = float(last_year["amount"].sum())
        target, what = base * (1 + tp.growth), f"targets.growth {tp.growth:+.0%} over last year ({base:,.0f})"
    else:
        return  # growth over the baseline forecast: known only after the forecast runs
    end = history.days["date"].max()
    hire = pd.to_datetime(reps["hire_date"])
    leave = pd.to_datetime(reps["leave_date"]) if "leave_date" in reps else pd.Series(pd.NaT, index=reps.index)
    active = (hire <= end) & (leave.isna() | (leave > end))
    headcount = int(active.sum())
    productivity = sp.productivity
    volumes = None
    if productivity is None:
        try:  # each current rep's volume calibrated so that last year's team replays last year (as the plan does)
            volumes = _calibrated_volumes(history.months, customers, reps, sp)
        except Exception:  # noqa: BLE001 - no history etc.: the run will say so; no argument here
            return
        volumes = volumes.reindex(reps.loc[active, "rep_id"]).dropna()
        if volumes.empty:
            return
        productivity = float(volumes.mean())
    if not productivity or not np.isfinite(productivity) or productivity <= 0:
        return
    peak = max(1.0, max(sp.ramp or [1.0]))
    # Every current rep at full productivity every month, nobody leaving: more than any plan without hires.
    bound = (float(volumes.sum()) if volumes is not None else headcount * productivity) * sp.attainment * peak * 12
    if target > bound * _CAPACITY_MARGIN:
        raise InfeasibleError(
            f"staffing.max_hires_per_month is 0, but {what} asks for {target:,.0f}; the {headcount} current reps "
            f"can sell at most {bound:,.0f} in {plan_year} even at full productivity ({productivity:,.0f} a month) "
            f"with nobody leaving; feasible: a target of at most {bound:,.0f}, or allow hires",
            feasible={"target": (0.0, float(bound))},
        )


def _calibrated_volumes(sales: pd.DataFrame, customers: pd.DataFrame, reps: pd.DataFrame, sp: Any) -> pd.Series:
    """Each rep's mature monthly volume calibrated on the last 12 months (no season: a year's average);
    ``sales`` summed by month (:func:`salesmodel.io.orderlines.months`) or order lines."""
    window = staffing.replay_window(sales["date"].max())
    dates = pd.to_datetime(sales["date"])
    keep = dates.dt.to_period("M").isin(window)
    rep = sales.loc[keep, "customer_id"].map(customers.set_index("customer_id")["rep_id"])
    book = pd.DataFrame({"rep_id": rep.to_numpy(), "month": dates[keep].dt.to_period("M").to_numpy(),
                         "amount": sales.loc[keep, "amount"].to_numpy()})
    cal = staffing.calibrate_productivity(book, reps, months=window, ramp=list(sp.ramp), shrink_months=sp.shrink_months)
    return cal.reps.set_index("rep_id")["productivity"]


def _lock_units(inputs: dict[str, pd.DataFrame], plan_year: int) -> dict[str, tuple[set[str], dict[str, str]]]:
    """The plan's units of each level (active customers and the organisation above them), each with its parent."""
    customers, reps = inputs["customers"], inputs["reps"]
    active = customers
    if "churn_date" in customers:
        churn = pd.to_datetime(customers["churn_date"])
        active = customers[churn.isna() | (churn >= pd.Timestamp(f"{plan_year}-01-01"))]
    chain = active[["customer_id", "rep_id"]].merge(reps[["rep_id", "province_id", "region_id"]], on="rep_id")
    out: dict[str, tuple[set[str], dict[str, str]]] = {}
    for level, col, parent in (("region", "region_id", None), ("province", "province_id", "region_id"),
                               ("rep", "rep_id", "province_id"), ("customer", "customer_id", "rep_id")):
        ids = chain[col].astype(str)
        ups = dict(zip(ids, chain[parent].astype(str))) if parent else {}
        out[level] = (set(ids), ups)
    return out


def _failures(source: str, column: str, check: str, rows: list[int], values: np.ndarray, expected: str) -> pd.DataFrame:
    """The failure case of a locks file in io's shape (file, column, check, 1-based rows, count, expected, found)."""
    return pd.DataFrame({"file": [source], "column": [column], "check": [check], "rows": [[i + 1 for i in rows]],
                         "count": [len(rows)], "expected": [expected], "found": [[values[i] for i in rows]]})


def check_locks(scenario: Any, inputs: dict[str, pd.DataFrame], source: str = "the locks file") -> None:
    """InputError or InfeasibleError when the locked targets of ``data.locks`` cannot all hold.

    Refused before anything runs: a lock on a unit the plan does not have (a churned customer, a rep
    without customers), a lock that is not a multiple of ``targets.round_to``, locks at one level adding
    up to more than a given company target (``targets.total`` x ``stretch``), and locks below a locked
    unit adding up to more than its lock. Totals known only after the forecast are checked by the
    targets step, which names the same file.
    """
    locks = inputs.get("locks")
    if locks is None or not len(locks):
        return
    tp = scenario.targets
    units = _lock_units(inputs, int(scenario.calendar.plan_year))
    level = locks["level"].astype(str).to_numpy()
    unit = locks["unit_id"].astype(str).to_numpy()
    value = locks["target"].astype(float).to_numpy()
    unknown = [i for i in range(len(locks)) if unit[i] not in units[level[i]][0]]
    if unknown:
        shown = short_list([f"row {i + 1} ({level[i]} {unit[i]})" for i in unknown])
        raise InputError(f"{source}: column 'unit_id': {len(unknown)} locked unit(s) the plan does not have, at {shown}; "
                         "expected a region, province, rep or active customer of the plan year (a rep with customers, "
                         "a customer not churned before the plan year)",
                         failures=_failures(source, "unit_id", "unit_of_the_plan", unknown, unit, "a unit of the plan"))
    step = float(tp.round_to)
    off = [i for i in range(len(locks)) if abs(value[i] / step - round(value[i] / step)) > 1e-7]
    if off:
        shown = short_list([f"row {i + 1} ({value[i]:,.2f})" for i in off])
        raise InputError(f"{source}: column 'target': {len(off)} locked target(s) are not multiples of targets.round_to "
                         f"({step:g}), at {shown}; expected multiples of {step:g}",
                         failures=_failures(source, "target", "multiple_of_round_to", off, value, f"a multiple of {step:g}"))
    if isinstance(tp.total, (int, float)):  # a total by chance is known only in the targets step
        top = float(tp.total) * float(tp.stretch)
        for lv in ("region", "province", "rep", "customer"):
            rows = np.flatnonzero(level == lv)
            if len(rows) and value[rows].sum() > top + 1e-6:
                raise InfeasibleError(
                    f"{source}: the {lv} locks at row(s) {short_list([int(i) + 1 for i in rows])} add up to "
                    f"{value[rows].sum():,.0f}, more than the company target {top:,.0f} (targets.total x stretch); "
                    f"feasible: {lv} locks adding up to at most {top:,.0f}", feasible=(0.0, top))
    locked = {(lv, u): (i, v) for i, (lv, u, v) in enumerate(zip(level, unit, value))}
    below = {"region": "province", "province": "rep", "rep": "customer"}
    for (lv, u), (i, v) in locked.items():
        child = below.get(lv)
        if child is None:
            continue
        rows = [j for j in np.flatnonzero(level == child) if units[child][1].get(unit[j]) == u]
        if rows and value[rows].sum() > v + 1e-6:
            raise InfeasibleError(
                f"{source}: the {child} locks at row(s) {short_list([int(j) + 1 for j in rows])} add up to "
                f"{value[rows].sum():,.0f}, more than the lock of their {lv} {u} at row {i + 1} ({v:,.0f}); feasible: "
                f"{child} locks adding up to at most {v:,.0f}, or a {lv} lock of at least {value[rows].sum():,.0f}",
                feasible=(float(value[rows].sum()), float("inf")))


def check_territory_first(scenario: Any) -> bool:
    """The territory checks on the customers and reps alone, before the (large) sales history is
    read, so a request one customer makes impossible is refused in seconds. Tables that cannot be
    read or break their schema are left to the full read, which names every problem. Returns
    whether the checks ran (then :func:`check_feasible` need not repeat them)."""
    data = scenario.data
    try:
        if data.sql_url:
            customers, reps = io.read_table(data.sql_url, "customers"), io.read_table(data.sql_url, "reps")
        else:
            customers = io.read_table(Path(data.dir) / data.customers, "customers")
            reps = io.read_table(Path(data.dir) / data.reps, "reps")
    except InputError:
        return False
    check_territory_balance(scenario, customers, reps)
    return True


def check_feasible(scenario: Any, inputs: dict[str, pd.DataFrame], sources: dict[str, str] | None = None, *,
                   territory_checked: bool = False) -> None:
    """Run every pre-run check; the first impossible request raises (exit status 2).
    ``territory_checked``: :func:`check_territory_first` already ran them on the same tables."""
    sources = sources or {}
    check_locks(scenario, inputs, sources.get("locks", "the locks file"))
    check_plan_year(scenario, inputs.get("sales"), sources.get("sales", "the sales history"))
    if not territory_checked:
        check_territory_balance(scenario, inputs.get("customers"), inputs.get("reps"))
    check_territory_reps(scenario, inputs)
    check_hiring(scenario, inputs)
