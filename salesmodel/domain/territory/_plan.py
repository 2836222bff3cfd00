"""Scoring an assignment, and the plan object design and evaluate return."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from salesmodel.domain.constraints import within_tolerance
from salesmodel.domain.territory._graph import Graph
from salesmodel.domain.territory._units import Units

# Deviation checks allow this relative slack for floating-point sums.
_EPS = 1e-9
# Medoids of very large territories are searched among this many central candidates.
_MEDOID_CANDIDATES = 1500


@dataclass(eq=False)
class TerritoryPlan:
    """Territories and the evidence for them.

    Attributes
    ----------
    assignment : DataFrame
        One row per unit: ``unit_id``, ``territory``, ``centre`` (the unit at the
        territory's centre), ``distance`` (to the centre; km for lat/lon), and when a
        current assignment was given ``current`` and ``moved``.
    metrics : DataFrame
        One row per territory: ``territory``, ``centre``, ``units``, for each balanced
        measure ``<m>`` its total and ``<m>_dev`` (relative deviation from the mean
        territory), ``compactness`` (measure-weighted mean distance to the centre) and
        ``contiguous``.
    objective : float
        Sum over units of weight x distance to the territory centre (what design minimises).
    status : str
        ``"optimal"`` (proven), ``"feasible"`` (tolerances met, optimality not proven),
        ``"tolerance_not_met"`` (best found breaks a tolerance, contiguity or the
        disruption limit) or ``"evaluated"`` (scored, not designed).
    bound, gap : float or None
        The solver's proven lower bound on the objective and the relative gap
        ``(objective - bound) / objective``; None for the heuristic.
    feasible : bool
        Every measure within tolerance, territories contiguous when asked, the
        disruption within its limit.
    disruption : dict or None
        Against ``current``: ``units`` (share of units that change territory) and the
        share of each measure that changes territory.
    runtime : float
        Seconds spent.
    method : str
        ``"exact"``, ``"heuristic"`` or ``"evaluate"``.
    stopped_by : str
        What ended the search: ``"optimal"`` (the exact solver proved its optimum),
        ``"converged"`` (the heuristic's phases ended on their own), ``"max_sweeps"`` or
        ``"anneal_steps"`` (a count ended a phase), ``"evaluated"``, or ``"time_limit"``:
        the safety time limit stopped the search, so the plan depends on the machine's
        speed and load and may not replay (see :attr:`replayable`).
    """

    assignment: pd.DataFrame
    metrics: pd.DataFrame
    objective: float
    status: str
    bound: float | None
    gap: float | None
    feasible: bool
    disruption: dict | None
    runtime: float
    method: str
    k: int
    balance_on: dict
    contiguous_required: bool
    max_disruption: float | None = None
    notes: list = field(default_factory=list)
    stopped_by: str = "converged"

    @property
    def replayable(self) -> bool:
        """True when the same inputs, params and seed give this plan again on any machine:
        every search stopped on a count or on its own, not on the clock."""
        return self.stopped_by != "time_limit"

    @property
    def moves(self) -> pd.DataFrame:
        """Units whose territory changes against the current assignment."""
        if "moved" not in self.assignment.columns:
            return self.assignment.iloc[0:0]
        return self.assignment.loc[self.assignment["moved"]].reset_index(drop=True)

    def max_deviation(self) -> dict[str, float]:
        """Largest absolute relative deviation from the mean territory, per measure."""
        return {m: float(self.metrics[f"{m}_dev"].abs().max()) for m in self.balance_on}

    def summary(self) -> pd.Series:
        """Headline figures in one Series."""
        out: dict[str, Any] = {
            "method": self.method,
            "status": self.status,
            "feasible": self.feasible,
            "territories": self.k,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "runtime_s": self.runtime,
            "stopped_by": self.stopped_by,
            "all_contiguous": bool(self.metrics["contiguous"].all()),
            "mean_compactness": float(self.metrics["compactness"].mean()),
        }
        for m, dev in self.max_deviation().items():
            out[f"max_{m}_dev"] = dev
            out[f"{m}_tolerance"] = self.balance_on[m]
        if self.disruption is not None:
            for key, value in self.disruption.items():
                out[f"moved_{key}_share"] = value
        return pd.Series(out)

    def __repr__(self) -> str:
        devs = ", ".join(f"{m} {d:.1%}" for m, d in self.max_deviation().items())
        gap = "" if self.gap is None else f", gap={self.gap:.2%}"
        return (
            f"TerritoryPlan(k={self.k}, method={self.method!r}, status={self.status!r}, "
            f"objective={self.objective:.6g}{gap}, max deviation: {devs or 'none'})"
        )


def medoid(units: Units, members: np.ndarray) -> int:
    """The member minimising the weighted distance to the other members (first on ties)."""
    if len(members) == 1:
        return int(members[0])
    w = units.weights[members]
    if w.sum() <= 0:
        w = np.ones(len(members))
    cand = members
    if len(members) > _MEDOID_CANDIDATES:
        mean = (units.points[members] * w[:, None]).sum(0) / w.sum()
        near = np.argsort(np.linalg.norm(units.points[members] - mean, axis=1), kind="stable")
        cand = np.sort(members[near[:_MEDOID_CANDIDATES]])
    cost = w @ units.dist_matrix(members, cand)
    return int(cand[np.flatnonzero(cost <= cost.min() * (1 + 1e-12) + 1e-12)[0]])


def medoids(units: Units, codes: np.ndarray, k: int) -> np.ndarray:
    """The medoid of each territory 0..k-1 (-1 for an empty one); deterministic."""
    centres = np.full(k, -1, dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(k + 1))
    for t in range(k):
        members = order[bounds[t] : bounds[t + 1]]
        if len(members):
            centres[t] = medoid(units, members)
    return centres


def territory_parts(graph: Graph, codes: np.ndarray, k: int) -> np.ndarray:
    """Number of connected pieces of each territory in the graph."""
    e = graph.edges
    same = codes[e[:, 0]] == codes[e[:, 1]]
    kept = e[same]
    n = len(codes)
    m = sparse.csr_array((np.ones(len(kept)), (kept[:, 0], kept[:, 1])), shape=(n, n))
    _, comp = csgraph.connected_components(m, directed=False)
    parts = np.zeros(k, dtype=np.int64)
    pairs = np.unique(np.column_stack([codes, comp]), axis=0)
    np.add.at(parts, pairs[:, 0], 1)
    return parts


def score(
    units: Units,
    labels: np.ndarray,
    *,
    graph: Graph | None,
    contiguous: bool,
    current: np.ndarray | None = None,
    max_disruption: float | None = None,
    disruption_on: str | None = None,
    label_order: list | None = None,
) -> dict[str, Any]:
    """Metrics of an assignment (labels per unit); the one place metrics are computed."""
    if label_order is None:
        label_order = sorted(pd.unique(labels).tolist(), key=lambda v: (str(type(v)), v))
    lookup = {lab: c for c, lab in enumerate(label_order)}
    codes = np.array([lookup[lab] for lab in labels], dtype=np.int64)
    k = len(label_order)
    centres = medoids(units, codes, k)
    dist = np.empty(units.n)
    for t in range(k):
        members = np.flatnonzero(codes == t)
        if len(members):  # a territory with no units (e.g. a planned hire's before any move) has no centre
            dist[members] = units.dist(centres[t], members)
    wd = units.weights * dist
    objective = float(wd.sum())

    counts = np.bincount(codes, minlength=k)
    centre_ids = units.ids[np.maximum(centres, 0)] if units.n else np.array([None] * k, dtype=object)
    if (centres < 0).any():
        centre_ids = np.where(centres >= 0, centre_ids, None)
    metrics = pd.DataFrame({"territory": label_order, "centre": centre_ids, "units": counts})
    ok = True
    for c, name in enumerate(units.measure_names):
        totals = np.bincount(codes, weights=units.measures[:, c], minlength=k)
        mean = units.measures[:, c].sum() / k
        dev = (totals - mean) / mean if mean > 0 else np.zeros(k)
        metrics[name] = totals
        metrics[f"{name}_dev"] = dev
        ok &= bool(np.all(within_tolerance(np.abs(dev), units.tolerances[c])))
    wsum = np.bincount(codes, weights=units.weights, minlength=k)
    wdsum = np.bincount(codes, weights=wd, minlength=k)
    plain = np.bincount(codes, weights=dist, minlength=k) / np.maximum(counts, 1)
    metrics["compactness"] = np.where(wsum > 0, wdsum / np.where(wsum > 0, wsum, 1), plain)
    if graph is not None:
        parts = territory_parts(graph, codes, k)
        metrics["contiguous"] = parts == 1
        metrics["parts"] = parts
        if contiguous:
            ok &= bool(np.all(parts == 1))
    else:
        metrics["contiguous"] = pd.array([pd.NA] * k, dtype="boolean")
        metrics["parts"] = pd.array([pd.NA] * k, dtype="Int64")

    assignment = pd.DataFrame(
        {"unit_id": units.ids, "territory": labels, "centre": units.ids[centres[codes]], "distance": dist}
    )
    disruption = None
    if current is not None:
        has = np.array([c is not None for c in current])
        moved = np.array([has[i] and current[i] != labels[i] for i in range(units.n)], dtype=bool)
        assignment["current"] = current
        assignment["moved"] = moved
        disruption = {"units": float(moved.sum() / has.sum()) if has.any() else 0.0}
        for c, name in enumerate(units.measure_names):
            base = units.measures[has, c].sum()
            disruption[name] = float(units.measures[moved, c].sum() / base) if base > 0 else 0.0
        if max_disruption is not None:
            ok &= disruption[disruption_on] <= max_disruption + _EPS
    return {
        "assignment": assignment,
        "metrics": metrics,
        "objective": objective,
        "feasible": ok,
        "disruption": disruption,
        "codes": codes,
        "centres": centres,
    }
