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
    "periods": "salesmodel.domain.calendar",
    "plan_year_periods": "salesmodel.domain.calendar",
    "working_days": "salesmodel.domain.holiday_calendar",
    "assign_period": "salesmodel.domain.calendar",
    "spring_festival": "salesmodel.domain.calendar",
    "baseline": "salesmodel.domain.forecast",
    "backtest": "salesmodel.domain.forecast",
    "decompose": "salesmodel.domain.targets",
    "cascade": "salesmodel.domain.targets",
    "split_over_time": "salesmodel.domain.targets",
    "rake": "salesmodel.domain.targets",
    "achievability": "salesmodel.domain.targets",
    "reconcile": "salesmodel.domain.targets",
    "reconcile_commitments": "salesmodel.domain.targets",
    "budget_totals": "salesmodel.domain.targets",
    "expense_budget": "salesmodel.domain.targets",
    "achievement_rate": "salesmodel.domain.tracking",
    "pacing": "salesmodel.domain.tracking",
    "period_report": "salesmodel.domain.tracking",
    "declining_customers": "salesmodel.domain.tracking",
    "stock_cover": "salesmodel.domain.tracking",
    "capacity_plan": "salesmodel.domain.staffing",
    "workload": "salesmodel.domain.staffing",
    "funnel": "salesmodel.domain.staffing",
    "pay": "salesmodel.domain.staffing",
    "design": "salesmodel.domain.territory",
    "evaluate": "salesmodel.domain.territory",
    "make_company": "salesmodel.sample",
    "write_company": "salesmodel.sample",
    "read_inputs": "salesmodel.io",
    "load_params": "salesmodel.schema.params",
    "open_run": "salesmodel.run.workspace",
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
