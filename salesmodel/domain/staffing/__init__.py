"""Staffing: the people a plan needs.

Five verbs, all pure (DataFrames and plain values in, DataFrames out):

- :func:`capacity_plan` - the fewest hires, month by month, so that ramped
  capacity meets each month's target given attrition and hiring lead time
  (an integer programme solved by HiGHS through ``scipy.optimize.milp``).
- :func:`tier_customers` - VIP / first / second / other tiers by last year's
  sales (share of revenue, ABC style, or rank).
- :func:`workload` - visits per month from each customer's tier and type,
  then hours and full-time equivalents (FTE) per rep, territory, role or region.
- :func:`funnel` - a 4S-dealership funnel: deliveries <- orders <- signed
  drafts <- opportunities <- leads by source (example F of DOMAIN.md), backward
  from a delivery target or forward from the leads available.
- :func:`pay` - a pay plan's cost: base salary split into weighted, pro-rated
  components (example H) plus commission with a threshold, accelerators and a cap.

Helpers that derive defaults from history: :func:`mature_productivity`,
:func:`current_staff`, :func:`monthly_targets_from_history`, :func:`with_lead_in`,
:func:`monthly_orders_from_history`.

One module per noun: ``capacity`` (capacity_plan, project_capacity), ``tiers``,
``workload``, ``funnel``, ``pay``, ``history``; every name is importable from here.

Conventions
-----------
Attrition is an annual rate applied monthly: the monthly survival is
``(1 - attrition) ** (1 / 12)``, so 20% a year is 1.842% a month. Leavers are
*expected* values (fractional people). Hires start on the first day of a month
and work the whole month; leavers leave at the end of a month, so a month is
worked by the people present at its start (including that month's starters).
A hire in their k-th month (k = 1 in the start month) delivers ``ramp[k-1]`` of
a mature rep's productivity, and all of it once the ramp list is exhausted.
"""
from __future__ import annotations

from salesmodel.domain.staffing.calibration import Calibration, calibrate_productivity, replay, replay_window, team_months
from salesmodel.domain.staffing.capacity import capacity_plan, project_capacity
from salesmodel.domain.staffing.funnel import EXAMPLE_F_SOURCES, EXAMPLE_F_STAGES, funnel
from salesmodel.domain.staffing.hires import base_cities, hire_reasons, people_months, plan_hires, whole_headcount
from salesmodel.domain.staffing.history import (
    current_staff,
    last_full_year,
    mature_productivity,
    monthly_orders_from_history,
    monthly_targets_from_history,
    with_lead_in,
)
from salesmodel.domain.staffing.pay import PayPlan, pay
from salesmodel.domain.staffing.tiers import TIERS, TierScheme, tier_customers  # noqa: F401 (TIERS: kept importable from here)
from salesmodel.domain.staffing.workload import (
    DEFAULT_VISIT_STANDARDS,
    WORKDAYS_PER_MONTH,  # noqa: F401 (kept importable from here)
    default_visit_standards,
    travel_minutes_per_visit,
    workload,
)

__all__ = [
    "Calibration",
    "DEFAULT_VISIT_STANDARDS",
    "EXAMPLE_F_SOURCES",
    "EXAMPLE_F_STAGES",
    "PayPlan",
    "TierScheme",
    "base_cities",
    "calibrate_productivity",
    "capacity_plan",
    "current_staff",
    "default_visit_standards",
    "funnel",
    "hire_reasons",
    "mature_productivity",
    "last_full_year",
    "monthly_orders_from_history",
    "monthly_targets_from_history",
    "pay",
    "people_months",
    "plan_hires",
    "project_capacity",
    "replay",
    "replay_window",
    "team_months",
    "tier_customers",
    "travel_minutes_per_visit",
    "whole_headcount",
    "with_lead_in",
    "workload",
]
