"""Targets: exact, explainable decomposition down the organisation and the calendar.

This module gathers the verbs of the modules that hold them (allocation, phasing,
raking, commitments, achievability; tracking lives in :mod:`salesmodel.domain.tracking`),
so ``from salesmodel.domain.targets.core import decompose`` keeps working.

The verbs (all pure: DataFrames and plain values in, DataFrames or small result
objects out):

- :func:`decompose` shares a total among units by a basis (or a blend of bases),
  within growth bounds, floors and locked values, with exact rounding.
- :func:`cascade` repeats that top-down through several levels
  (region -> province -> rep -> customer), every parent equal to the sum of its
  children.
- :func:`split_over_time` phases each unit's target over a period table
  (quarters, months, dekads, weeks, days), exact per unit and per period.
- :func:`rake` fits a table to several margins at once (iterative proportional
  fitting).
- :func:`reconcile` sets reps' own commitments beside the top-down targets.
- :func:`achievability` gives the chance of meeting each target from the
  baseline forecast and its intervals.
Tracking actuals against the phased plan (pacing, period reports, achievement rates,
declining customers) is :mod:`salesmodel.domain.tracking`.

How a share becomes a number
----------------------------
1. Each basis column is normalised to shares within its parent (``share_<col>``),
   the shares are blended by the weights (``blended_share``), and the total to
   share is ``total x stretch`` less the locked targets.
2. ``target_before_bounds = blended_share x free total``.
3. Bounds: every unit gets a lower bound ``max(reference x (1 + lo), floor, 0)``
   and an upper bound ``reference x (1 + hi)`` (never below the lower one: a floor
   wins over a growth cap). The solution is the *proportional one subject to the
   bounds*: ``target_i = clip(lambda x before_i, lower_i, upper_i)`` with the one
   ``lambda`` that makes the parts add up to the total (water-filling). What a cap
   cuts therefore goes to the uncapped units in proportion to their basis, and a
   unit is never moved past a bound it does not touch. ``lambda`` is found exactly
   from the breakpoints of the piecewise-linear sum (no iteration). A request
   outside ``[sum of lower bounds, sum of upper bounds]`` raises
   :class:`~salesmodel.errors.InfeasibleError` with that range. Units whose
   reference is zero or missing (new customers) are not growth-bounded; a unit
   whose basis is zero stays on its lower bound (its upper bound counts as its
   lower one in the feasible range).
4. Rounding to ``round_to`` by largest remainder: every unit gets the multiple
   just below its exact target, and the units with the largest fractional parts
   get one more step until the parts add up (ties: larger fractional part first,
   then the order of the units). The total itself must be a multiple of
   ``round_to``; when it is not, it is rounded to the nearest multiple first, a
   warning says so, and ``df.attrs["total"]`` holds the total actually shared.
   After rounding a unit may sit up to one rounding step outside a bound.
"""
from __future__ import annotations

from salesmodel.domain.targets.achievability import achievability
from salesmodel.domain.targets.allocation import cascade, decompose, largest_remainder
from salesmodel.domain.targets.commitments import reconcile
from salesmodel.domain.targets.phasing import split_over_time, weekday_weights
from salesmodel.domain.targets.raking import RakeResult, rake

__all__ = [
    "RakeResult",
    "achievability",
    "cascade",
    "decompose",
    "largest_remainder",
    "rake",
    "reconcile",
    "split_over_time",
    "weekday_weights",
]
