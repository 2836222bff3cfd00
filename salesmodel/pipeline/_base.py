"""What every step shares: the context it reads and the result it returns."""
from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from salesmodel.errors import InputError
from salesmodel.io import orderlines
from salesmodel.schema import tables as declared
from salesmodel.schema.params import Scenario

__all__ = ["Context", "History", "StepResult", "collect_notes"]

History = orderlines.History

# warnings raised inside Dask's own packages and the event loops under it: where the plan ran, never what it says
_MACHINERY = re.compile(r"[\\/](distributed|dask|tornado|asyncio)[\\/]")
# an unclosed socket or file found by the garbage collector while a step runs: when it is found depends on the machine's load
_NOT_THE_PLAN = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, ResourceWarning)


@dataclass
class Context:
    """What a step reads: the params, the validated inputs and the tables of earlier steps."""

    params: Scenario
    inputs: Mapping[str, pd.DataFrame]
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    #: the history already summed (a plan remade on part of it); default: summed from ``inputs["sales"]``
    summed: History | None = None

    def table(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            raise InputError(f"table '{name}' is needed but no earlier step of this plan produced it")
        return self.tables[name]

    def has(self, name: str) -> bool:
        return name in self.tables

    def history(self) -> History:
        """The sales history summed by month, by day and by day and product (once per order-lines frame)."""
        if self.summed is not None:
            return self.summed
        if "sales" not in self.inputs:
            raise InputError("the sales history is needed but the inputs have none")
        return orderlines.history(self.inputs["sales"])


@dataclass
class StepResult:
    """What a step returns: declared tables, scalar facts for its page, and notes for the reader."""

    step: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, df: pd.DataFrame) -> None:
        """Add a table after checking it against its declaration (salesmodel.schema.tables)."""
        declared.check(name, df)
        self.tables[name] = df.reset_index(drop=True)

    def facts_frame(self) -> pd.DataFrame:
        rows = [(self.step, k, _text(v)) for k, v in self.facts.items()]
        rows += [(self.step, f"note_{i + 1}", n) for i, n in enumerate(self.notes)]
        return pd.DataFrame(rows, columns=["step", "fact", "value"], dtype=object)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return "" if value is None else str(value)


@contextmanager
def collect_notes(result: StepResult) -> Iterator[None]:
    """Record the warnings of the core as notes of the step (a reader sees them on the page)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if issubclass(w.category, _NOT_THE_PLAN):
            continue
        if _MACHINERY.search(w.filename or ""):  # about the cluster's transport (a large graph sent), not the plan
            continue
        text = str(w.message)
        if text not in result.notes:
            result.notes.append(text)
