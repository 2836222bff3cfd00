"""The declared output tables (salesmodel.schema.tables): declarations, and the check every saved table passes.

The tests read the error's table, column and problem code, never its wording.
"""
from __future__ import annotations

import pandas as pd
import pytest

from salesmodel.schema import tables as declared
from salesmodel.schema.tables import KINDS, PROBLEMS, TABLES, UNITS, TableError, check, columns_with_unit
from salesmodel.schema.vocabulary import has_word


def _frame(name: str) -> pd.DataFrame:
    """Two rows of the right kinds for every required, non-family column of table ``name``."""
    values = {"text": ["a", "b"], "number": [1.5, 2.5], "integer": [1, 2], "bool": [True, False],
              "date": pd.to_datetime(["2027-01-01", "2027-01-02"])}
    spec = TABLES[name]
    return pd.DataFrame({c.name: values[c.kind] for c in spec.columns if c.required and not c.name.endswith("*")})


def test_declarations_are_well_formed():
    assert len(TABLES) >= 60
    for name, spec in TABLES.items():
        assert spec.name == name and spec.step and spec.meaning, name
        names = [c.name for c in spec.columns]
        assert len(names) == len(set(names)), name
        for col in spec.columns:
            assert col.kind in KINDS and (col.unit is None or col.unit in UNITS), (name, col.name)
            assert col.name == col.name.lower() and " " not in col.name, (name, col.name)  # tidy: lower_snake_case


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_table_of_its_declared_columns_passes(name):
    assert check(name, _frame(name)) is TABLES[name]


@pytest.mark.parametrize(("name", "frame", "problem", "column"), [
    ("no_such_table", pd.DataFrame({"x": [1]}), "undeclared_table", None),
    ("targets_region", _frame("targets_region").drop(columns="target"), "missing_column", "target"),
    ("targets_region", _frame("targets_region").assign(surprise=1.0), "undeclared_column", "surprise"),
    ("targets_region", _frame("targets_region").assign(target=["a", "b"]), "wrong_kind", "target"),
    ("targets_region", _frame("targets_region").assign(region_id=[1.0, 2.0]), "wrong_kind", "region_id"),
])
def test_a_table_off_its_declaration_is_refused(name, frame, problem, column):
    with pytest.raises(TableError) as caught:
        check(name, frame)
    err = caught.value
    assert (err.table, err.problem, err.column) == (name, problem, column)
    assert err.problem in PROBLEMS and err.exit_code == 1  # a developer's error, not the planner's


def test_empty_and_all_missing_columns_pass_any_kind():
    frame = _frame("targets_region").iloc[:0]
    assert check("targets_region", frame) is TABLES["targets_region"]
    frame = _frame("targets_region").assign(target=[None, None])
    assert check("targets_region", frame) is TABLES["targets_region"]


def test_column_families_and_units():
    spec = TABLES["baseline_forecast"]
    lo = spec.column("yhat_lo_80")
    assert lo.name == "yhat_lo_*" and lo.unit == "yuan"
    with pytest.raises(TableError) as caught:
        spec.column("no_such_column")
    assert (caught.value.table, caught.value.column, caught.value.problem) == ("baseline_forecast", "no_such_column",
                                                                              "undeclared_column")
    assert "target" in columns_with_unit("targets_region", "yuan")
    assert "region_id" not in columns_with_unit("targets_region", "yuan")
    assert columns_with_unit("baseline_forecast", "yuan", ["yhat", "yhat_lo_80", "unique_id"]) == ["yhat", "yhat_lo_80"]


def test_a_column_word_is_a_vocabulary_key():
    for spec in TABLES.values():
        for col in spec.columns:
            assert col.word is None or has_word(col.word), (spec.name, col.name)
    assert TABLES["targets_region"].column("target").word == "target"


def test_declared_kinds_and_units_are_closed_lists():
    with pytest.raises(ValueError):
        declared._c("x:float")
    with pytest.raises(ValueError):
        declared._c("x:number:dollars")
    assert declared._c("x:number:yuan").unit == "yuan" and declared._c("x:text").unit is None
