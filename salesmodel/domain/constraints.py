"""Declared constraints of arguments, and the one message template (scikit-learn's model).

A rule about an argument is stated once, as data: an :class:`Interval` (``Interval(float, 1,
3)``), the :class:`Options` of a word or of a list of words, a :class:`Mapping` of names to
values under a constraint. Core functions check their arguments against the declarations
with :func:`check` (or :func:`validate`, several at once); the params schema
(``salesmodel.schema.params``) takes its bounds and its choices from the same declarations, so
a range is written in one place and a parameter's message has one shape::

    The 'stretch' parameter of decompose must be a number in [1, 3]. Got 0 instead.

Every refusal is made by :func:`param_error`, which carries the data (``param``, ``func``,
``expected``, ``value``) so callers read attributes, never the text.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any

import numpy as np

from salesmodel.errors import ParamsError

__all__ = [
    "ACHIEVABILITY_THRESHOLD",
    "CHANCE",
    "Boolean",
    "Constraint",
    "DESIGN",
    "DISTRIBUTIONS",
    "Interval",
    "LEVELS",
    "Levels",
    "MIX_OWN_WEIGHT",
    "Mapping",
    "OrNone",
    "Options",
    "PHASING",
    "PHASING_BLEND",
    "ROUND_TO",
    "STRETCH",
    "TIME_GRAINS",
    "TOLERANCE",
    "TOLERANCES",
    "check",
    "largest_over_mean",
    "param_error",
    "validate",
    "within_tolerance",
]

_MISSING = object()

# Deviations within this much of a tolerance meet it (a rounding of the measures never breaks one).
TOLERANCE_SLACK = 1e-9


def param_error(param: str, func: str, expected: str, value: Any = _MISSING, *, shown: str | None = None,
                after: str = "", kind: type[Exception] = ParamsError) -> Exception:
    """The one message template: ``The 'x' parameter of f must be … Got … instead.``

    ``expected`` completes "must be"; the value is shown as ``repr(value)`` unless ``shown`` gives
    the text; ``after`` continues the sentence (a hint). The error carries ``param``, ``func``,
    ``expected`` and ``value`` as attributes.
    """
    text = shown if shown is not None else repr(None if value is _MISSING else value)
    err = kind(f"The '{param}' parameter of {func} must be {expected}. Got {text} instead{after}.")
    err.param, err.func, err.expected = param, func, expected
    err.value = None if value is _MISSING else value
    return err


class Constraint:
    """A declared rule about one value: ``describe()`` completes "must be", ``satisfied(v)`` tests it."""

    def describe(self) -> str:  # pragma: no cover - every constraint says what it wants
        raise NotImplementedError

    def satisfied(self, value: Any) -> bool:  # pragma: no cover
        raise NotImplementedError

    def coerce(self, value: Any) -> Any:
        return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (numbers.Real, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Interval(Constraint):
    """A number between ``low`` and ``high`` (None: unbounded); ``closed`` says which ends belong.

    ``kind`` is ``float`` (any real number) or ``int`` (a whole number).
    """

    kind: type
    low: float | None
    high: float | None
    closed: str = "both"  # both | left | right | neither
    noun: str = ""  # what the number is ("a whole year"); default "a number" / "an integer"

    def satisfied(self, value: Any) -> bool:
        if not _is_number(value) or (self.kind is int and not isinstance(value, (numbers.Integral, np.integer))):
            return False
        v = float(value)
        if not math.isfinite(v):
            return False
        if self.low is not None and (v < self.low or (v == self.low and self.closed in ("right", "neither"))):
            return False
        return not (self.high is not None and (v > self.high or (v == self.high and self.closed in ("left", "neither"))))

    def coerce(self, value: Any) -> Any:
        return int(value) if self.kind is int else float(value)

    def describe(self) -> str:
        noun = self.noun or ("an integer" if self.kind is int else "a number")
        if self.low is not None and self.high is not None:
            left = "[" if self.closed in ("both", "left") else "("
            right = "]" if self.closed in ("both", "right") else ")"
            return f"{noun} in {left}{self.low:g}, {self.high:g}{right}"
        if self.low is not None:
            return f"{noun} {'>=' if self.closed in ('both', 'left') else '>'} {self.low:g}"
        if self.high is not None:
            return f"{noun} {'<=' if self.closed in ('both', 'right') else '<'} {self.high:g}"
        return f"{noun}"

    def field_bounds(self) -> dict[str, float]:
        """The bounds as pydantic ``Field`` keywords (``ge``/``gt``/``le``/``lt``)."""
        out: dict[str, float] = {}
        if self.low is not None:
            out["ge" if self.closed in ("both", "left") else "gt"] = self.low
        if self.high is not None:
            out["le" if self.closed in ("both", "right") else "lt"] = self.high
        return out


@dataclass(frozen=True)
class Options(Constraint):
    """One of a few words (``many=False``) or a non-empty list of them (``many=True``)."""

    values: tuple[str, ...]
    many: bool = False

    def satisfied(self, value: Any) -> bool:
        if self.many:
            if isinstance(value, str) or not isinstance(value, Iterable):
                return False
            items = list(value)
            return all(isinstance(v, str) and v in self.values for v in items)
        return isinstance(value, str) and value in self.values

    def coerce(self, value: Any) -> Any:
        return list(value) if self.many else value

    def describe(self) -> str:
        words = ", ".join(repr(v) for v in self.values)
        return f"a list of values among {words}" if self.many else f"one of {words}"


@dataclass(frozen=True)
class Boolean(Constraint):
    """True or False (numpy's too)."""

    def satisfied(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def coerce(self, value: Any) -> Any:
        return bool(value)

    def describe(self) -> str:
        return "True or False"


@dataclass(frozen=True)
class OrNone(Constraint):
    """``constraint``, or None."""

    constraint: Constraint

    def satisfied(self, value: Any) -> bool:
        return value is None or self.constraint.satisfied(value)

    def coerce(self, value: Any) -> Any:
        return None if value is None else self.constraint.coerce(value)

    def describe(self) -> str:
        return f"{self.constraint.describe()} or None"


@dataclass(frozen=True)
class Mapping(Constraint):
    """A mapping of names (text) to values that each meet ``values``."""

    values: Constraint
    example: str = ""

    def satisfied(self, value: Any) -> bool:
        return isinstance(value, MappingABC) and all(isinstance(k, str) for k in value) and all(
            self.values.satisfied(v) for v in value.values())

    def coerce(self, value: Any) -> Any:
        return {k: self.values.coerce(v) for k, v in value.items()}

    def describe(self) -> str:
        like = f", such as {self.example}" if self.example else ""
        return f"a mapping of names to values, each {self.values.describe()}{like}"


def check(value: Any, constraint: Constraint, param: str, func: str, *, allow_none: bool = False) -> Any:
    """``value`` (coerced: a float, an int, a list, a dict) when it meets ``constraint``, else the one
    template's ParamsError. ``allow_none``: None is accepted and returned."""
    if value is None and allow_none:
        return None
    if not constraint.satisfied(value):
        expected = constraint.describe() + (" or None" if allow_none else "")
        if isinstance(constraint, Mapping) and isinstance(value, MappingABC):
            bad = {k: v for k, v in value.items() if not constraint.values.satisfied(v)}
            if bad:
                shown = ", ".join(f"{k!r}: {v!r}" for k, v in list(bad.items())[:8])
                raise param_error(param, func, expected, value, shown="{" + shown + ("" if len(bad) <= 8 else ", ...") + "}")
        raise param_error(param, func, expected, value)
    return constraint.coerce(value)


def validate(func: str, constraints: MappingABC[str, Constraint], **values: Any) -> dict[str, Any]:
    """Check several arguments of ``func`` at once against their declared constraints; returns them coerced."""
    return {name: check(value, constraints[name], name, func) for name, value in values.items()}


# ---------------------------------------------------------------------------
# the declarations the params schema and the core share (each range stated once)
# ---------------------------------------------------------------------------

#: Over-assignment: the parts of a target add up to total x stretch.
STRETCH = Interval(float, 1.0, 3.0, closed="both")
#: A territory balance tolerance: the largest deviation from the mean share (0.05 = within 5%).
TOLERANCE = Interval(float, 0.0, 1.0, closed="left")
#: ``balance_on``: measure -> tolerance.
TOLERANCES = Mapping(TOLERANCE, example="{'potential': 0.05}")
@dataclass(frozen=True)
class Levels(Options):
    """A plan's organisation levels: words among ``values``, in their order (top down), each once,
    including every word of ``required`` and ending with ``last``."""

    required: tuple[str, ...] = ()
    last: str | None = None

    def satisfied(self, value: Any) -> bool:
        if not super().satisfied(value) or not list(value):
            return False
        items = list(value)
        order = [self.values.index(v) for v in items]
        return (order == sorted(set(order)) and all(r in items for r in self.required)
                and (self.last is None or items[-1] == self.last))

    def describe(self) -> str:
        need = "".join(f", including {r!r}" for r in self.required)
        end = f" and ending with {self.last!r}" if self.last else ""
        return f"organisation levels among {', '.join(repr(v) for v in self.values)}, top down, each once{need}{end}"


#: The organisation levels a plan may have, top down (a plan's levels include rep and end with customer).
LEVELS = Levels(("region", "province", "rep", "customer"), many=True, required=("rep",), last="customer")
#: The calendar grains targets are phased over (each sums from dekads).
TIME_GRAINS = Options(("year", "half", "quarter", "month", "dekad"), many=True)
#: How months' shares of the targets are set.
PHASING = Options(("baseline", "last_year", "blend"))
#: A share between 0 and 1 (the blend of the baseline's shape, a threshold of chance).
PHASING_BLEND = Interval(float, 0.0, 1.0, closed="both")
ACHIEVABILITY_THRESHOLD = Interval(float, 0.0, 1.0, closed="both")
#: A unit of rounding: targets, the phased plan and the budget are whole multiples of it.
ROUND_TO = Interval(float, 0.0, None, closed="neither")
#: The weight of a customer's own product x channel mix against its segment's.
MIX_OWN_WEIGHT = Interval(float, 0.0, 1.0, closed="both")
#: How the chance of meeting a target is modelled.
DISTRIBUTIONS = Options(("normal", "lognormal"))
#: The territory design's arguments (``design``, ``frontier``, the explorer): the params' territory
#: section takes the same ranges. Searches stop on counts, so the counts are bounded, not the clock.
DESIGN: dict[str, Constraint] = {
    "method": Options(("auto", "exact", "heuristic")),
    "time_limit": Interval(float, 0.0, None, closed="neither", noun="a number of seconds"),
    "seed": Interval(int, 0, None, noun="a whole number"),
    "contiguous": Boolean(),
    "max_disruption": OrNone(Interval(float, 0.0, 1.0, noun="a share")),
    "max_sweeps": Interval(int, 1, 100_000, noun="a whole number"),
    "anneal_steps": OrNone(Interval(int, 1, 1_000_000_000, noun="a whole number")),
    "construction": Options(("grow", "tree")),
}
#: A chance strictly between 0 and 1.
CHANCE = Interval(float, 0.0, 1.0, closed="neither")


def within_tolerance(deviation: Any, tolerance: float) -> Any:
    """Whether a deviation from the mean share meets its tolerance: the one judgement of "tolerance met"
    (a number or an array of them; an array answers element by element)."""
    return np.asarray(deviation, dtype=float) <= float(tolerance) + TOLERANCE_SLACK


def largest_over_mean(values: Any, k: int) -> tuple[int, float, float] | None:
    """The one-unit pre-check: ``(position of the largest value, how far it is above the mean of k
    territories, that mean)``, or None when there is nothing to share. A tolerance below the share
    above the mean cannot be met by any plan, whatever the others do."""
    arr = np.asarray(values, dtype=float)
    total = float(np.nansum(arr))
    if k <= 0 or total <= 0 or not arr.size:
        return None
    mean = total / k
    i = int(np.nanargmax(arr))
    return i, float(arr[i] / mean - 1.0), mean
