"""Territory design and evaluation: balanced, compact, contiguous sales territories.

Exact where it can be proven (a p-median MILP with rooted-flow contiguity on HiGHS),
fast where it cannot (balanced region growing plus contiguity-keeping local search).

>>> from salesmodel.domain.territory import adjacency, design, evaluate
>>> graph = adjacency(provinces.rename(columns={"province_id": "unit_id"}),  # doctest: +SKIP
...                   method="given", edges=province_adjacency)
>>> plan = design(units, 5, adjacency=graph, balance_on={"population": 0.02})  # doctest: +SKIP
>>> plan.status, plan.gap  # doctest: +SKIP
('optimal', 0.0)
"""
from __future__ import annotations

from salesmodel.domain.territory._customers import customer_units
from salesmodel.domain.territory._design import design, evaluate
from salesmodel.domain.territory._frontier import DEFAULT_FRONTIER, frontier, smallest_meeting
from salesmodel.domain.territory._graph import Graph, adjacency
from salesmodel.domain.territory._parts import design_parts, rep_design_in_parts, rep_frontier_in_parts
from salesmodel.domain.territory._plan import TerritoryPlan
from salesmodel.domain.territory._reps import (
    KEEP_WHOLE,
    NEAREST_REPS,
    RepDesign,
    base_distances,
    check_rep_inputs,
    drivable,
    great_circle_km,
    km_to,
    rep_design,
    rep_frontier,
    travel_overall,
    travel_table,
)
from salesmodel.domain.territory._units import EARTH_RADIUS_KM

__all__ = ["DEFAULT_FRONTIER", "EARTH_RADIUS_KM", "KEEP_WHOLE", "NEAREST_REPS", "Graph", "RepDesign", "TerritoryPlan", "adjacency",
           "base_distances", "check_rep_inputs", "customer_units", "design", "design_parts", "drivable", "evaluate", "frontier", "great_circle_km",
           "km_to", "rep_design", "rep_design_in_parts", "rep_frontier", "rep_frontier_in_parts", "smallest_meeting", "travel_overall",
           "travel_table"]
