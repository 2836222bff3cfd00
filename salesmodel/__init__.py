"""salesmodel: sales planning that adds up.

Targets split down the organisation and the calendar, baseline forecasts,
staffing, territories and tracking, as a pure core with thin edges.

The main verbs are available from the package itself and are imported on first
use, so ``import salesmodel`` stays quick::

    import salesmodel as sm
    plan = sm.decompose(10_000_000, regions, basis="last_year", round_to=1000)
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from salesmodel.errors import (  # noqa: E402
    InfeasibleError,
    InputError,
    ParamsError,
    RunError,
    SalesmodelError,
)

# verb -> module that defines it (imported lazily, PEP 562)
_VERBS = {
    "periods": "salesmodel.calendar",
    "plan_year_periods": "salesmodel.calendar",
    "working_days": "salesmodel.calendar",
    "assign_period": "salesmodel.calendar",
    "spring_festival": "salesmodel.calendar",
    "baseline": "salesmodel.forecast",
    "backtest": "salesmodel.forecast",
    "decompose": "salesmodel.targets",
    "cascade": "salesmodel.targets",
    "split_over_time": "salesmodel.targets",
    "rake": "salesmodel.targets",
    "achievability": "salesmodel.targets",
    "reconcile": "salesmodel.targets",
    "reconcile_commitments": "salesmodel.targets",
    "budget_totals": "salesmodel.targets",
    "expense_budget": "salesmodel.targets",
    "achievement_rate": "salesmodel.tracking",
    "pacing": "salesmodel.tracking",
    "period_report": "salesmodel.tracking",
    "declining_customers": "salesmodel.tracking",
    "stock_cover": "salesmodel.tracking",
    "capacity_plan": "salesmodel.staffing",
    "workload": "salesmodel.staffing",
    "funnel": "salesmodel.staffing",
    "pay": "salesmodel.staffing",
    "design": "salesmodel.territory",
    "evaluate": "salesmodel.territory",
    "make_company": "salesmodel.sample",
    "write_company": "salesmodel.sample",
    "read_inputs": "salesmodel.io",
    "load_params": "salesmodel.params",
    "open_run": "salesmodel.workspace",
}

__all__ = [
    "__version__",
    "SalesmodelError",
    "InputError",
    "ParamsError",
    "InfeasibleError",
    "RunError",
    *_VERBS,
]


def __getattr__(name: str) -> Any:
    module = _VERBS.get(name)
    if module is None:
        raise AttributeError(f"module 'salesmodel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_VERBS))
