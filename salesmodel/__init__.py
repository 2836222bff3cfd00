"""salesmodel: sales planning that adds up.

Targets split down the organisation and the calendar, baseline forecasts,
staffing, territories and tracking, as a pure core with thin edges.
"""
from __future__ import annotations

__version__ = "0.1.0"

from salesmodel.errors import (  # noqa: E402
    InfeasibleError,
    InputError,
    ParamsError,
    RunError,
    SalesmodelError,
)

__all__ = [
    "__version__",
    "SalesmodelError",
    "InputError",
    "ParamsError",
    "InfeasibleError",
    "RunError",
]
