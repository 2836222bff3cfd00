"""Interactive explorers for targets, staffing and territories (ipywidgets 8, matplotlib).

An edge module: it holds UI state and draws, and leaves every number to the core.
Each explorer wraps one core verb and re-runs it on every change of a control:

- :class:`TargetExplorer` -> :func:`salesmodel.domain.targets.decompose`
  (growth or total, stretch, a blend of share bases, growth bounds);
- :class:`StaffingExplorer` -> :func:`salesmodel.domain.staffing.capacity_plan`
  (ramp length and shape, attrition, hiring lead time, hiring limit);
- :class:`TerritoryExplorer` -> :func:`salesmodel.domain.territory.design`
  (number of territories, balance tolerances, disruption limit; heuristic with a
  short time limit).

Every explorer has the same programmatic face: its controls are attributes
(``ex.growth``, ``ex.stretch`` ...), ``ex.result`` is the last good result,
``ex.update()`` recomputes now, ``ex.message`` holds the plain-words reason when
the last change could not be computed (the previous result is kept),
``ex.widget`` is the box to display and ``ex.last_update_seconds`` says how long
the last update took (computation, table and chart). ``with ex.hold(): ...``
changes several controls with one recomputation at the end.

>>> ex = TargetExplorer(units, keys="customer_id")      # doctest: +SKIP
>>> ex.growth.value = 0.20                              # recomputes
>>> ex.result["target"].sum()                           # doctest: +SKIP
>>> ex.widget                                           # display in JupyterLab
"""
from __future__ import annotations

from salesmodel.widgets._base import RAMP_SHAPES, ramp_curve
from salesmodel.widgets.staffing import StaffingExplorer
from salesmodel.widgets.targets import TargetExplorer
from salesmodel.widgets.territory import TerritoryExplorer

__all__ = [
    "RAMP_SHAPES",
    "StaffingExplorer",
    "TargetExplorer",
    "TerritoryExplorer",
    "ramp_curve",
]
