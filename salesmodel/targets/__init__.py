"""Targets: exact, explainable decomposition down the organisation and the calendar,
and tracking against it.

``core`` holds the verbs (decompose, cascade, split_over_time, rake, reconcile,
achievability, pacing ...); ``plan`` assembles them into the plan tables the
notebooks save (units from the inputs, the company total, the cascade, the phased
plans). Both are pure: DataFrames and plain values in, DataFrames out.
"""
from __future__ import annotations

from salesmodel.targets.core import (
    RakeResult,
    achievability,
    achievement_rate,
    cascade,
    declining_customers,
    decompose,
    largest_remainder,
    pacing,
    period_report,
    rake,
    reconcile,
    split_over_time,
    weekday_weights,
)
from salesmodel.targets.plan import (
    LABELS,
    LEVEL_COLUMNS,
    Plan,
    build_plan,
    company_total,
    monthly_history,
    naive_forecast,
    plan_units,
    rollup,
    seasonal_month_weights,
    word,
)

__all__ = [
    "LABELS",
    "LEVEL_COLUMNS",
    "Plan",
    "RakeResult",
    "achievability",
    "achievement_rate",
    "build_plan",
    "cascade",
    "company_total",
    "declining_customers",
    "decompose",
    "largest_remainder",
    "monthly_history",
    "naive_forecast",
    "pacing",
    "period_report",
    "plan_units",
    "rake",
    "reconcile",
    "rollup",
    "seasonal_month_weights",
    "split_over_time",
    "weekday_weights",
    "word",
]
