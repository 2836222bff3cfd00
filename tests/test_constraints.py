"""The declared constraints: one declaration, read by the params schema and the core, one template.

The tests read the errors' data (param, func, value), never their wording.
"""
from __future__ import annotations

import pandas as pd
import pytest

from salesmodel.domain import constraints as c
from salesmodel.domain.targets import decompose
from salesmodel.errors import ParamsError
from salesmodel.schema.params import TargetsParams, TerritoryParams, params_from_dict, slider_range


def _units() -> pd.DataFrame:
    return pd.DataFrame({"unit": ["a", "b", "c"], "basis": [1.0, 2.0, 3.0]})


@pytest.mark.parametrize(("constraint", "good", "bad"), [
    (c.STRETCH, [1, 1.25, 3.0], [0, 0.99, 3.01, float("nan"), "1.2", True, None]),
    (c.TOLERANCE, [0, 0.05, 0.999], [-0.01, 1, 1.5, float("nan"), False]),
    (c.CHANCE, [0.01, 0.6], [0, 1, -1]),
    (c.PHASING, ["baseline", "last_year", "blend"], ["Baseline", "", None, ["blend"]]),
    (c.TIME_GRAINS, [[], ["quarter", "month", "dekad"], ("year",)], [["iso_week"], "month", [1]]),
    (c.LEVELS, [["region", "province", "rep", "customer"], ["rep", "customer"]],
     [["region", "customer"], ["rep", "region", "customer"], ["rep", "rep", "customer"], [], ["rep", "customer", "x"]]),
    (c.TOLERANCES, [{}, {"potential": 0.05, "workload": 0.1}], [{"potential": 1.0}, {1: 0.1}, [("potential", 0.1)]]),
])
def test_declarations_accept_and_refuse(constraint, good, bad):
    for value in good:
        assert constraint.satisfied(value), value
    for value in bad:
        assert not constraint.satisfied(value), value


def test_one_template_carries_its_data():
    with pytest.raises(ParamsError) as caught:
        c.check(0.5, c.STRETCH, "stretch", "decompose")
    err = caught.value
    assert (err.param, err.func, err.value, err.expected) == ("stretch", "decompose", 0.5, c.STRETCH.describe())
    assert err.exit_code == 2


def test_check_coerces():
    assert c.check(2, c.STRETCH, "stretch", "f") == 2.0 and isinstance(c.check(2, c.STRETCH, "stretch", "f"), float)
    assert c.check({"potential": 0}, c.TOLERANCES, "balance_on", "f") == {"potential": 0.0}
    assert c.check(None, c.STRETCH, "stretch", "f", allow_none=True) is None


@pytest.mark.parametrize("stretch", [0, 0.5, 0.999, 3.5])
def test_stretch_one_range_in_the_core_and_the_params(stretch):
    with pytest.raises(ParamsError) as caught:
        decompose(1000, _units(), basis="basis", keys="unit", stretch=stretch)
    assert (caught.value.param, caught.value.value) == ("stretch", stretch)
    with pytest.raises(ParamsError):
        params_from_dict({"targets": {"stretch": stretch}})


def test_stretch_in_range_passes_both():
    out = decompose(1000, _units(), basis="basis", keys="unit", stretch=1.5, round_to=1)
    assert out["target"].sum() == 1500
    assert params_from_dict({"targets": {"stretch": 1.5}}).targets.stretch == 1.5


def test_params_bounds_are_the_declarations():
    stretch = TargetsParams.model_fields["stretch"]
    bounds = {type(m).__name__.lower(): getattr(m, type(m).__name__.lower()) for m in stretch.metadata}
    assert bounds == {"ge": c.STRETCH.low, "le": c.STRETCH.high}
    assert slider_range("targets.stretch") == (c.STRETCH.low, c.STRETCH.high)
    assert slider_range("territory.balance_on")[1] < c.TOLERANCE.high
    assert TerritoryParams().balance_on  # the default tolerances meet the declaration
    assert c.TOLERANCES.satisfied(TerritoryParams().balance_on)
    assert c.LEVELS.satisfied(TargetsParams().levels) and c.TIME_GRAINS.satisfied(TargetsParams().time_grains)


@pytest.mark.parametrize(("section", "value"), [
    ({"targets": {"levels": ["region", "customer"]}}, "levels"),
    ({"targets": {"levels": ["rep", "region", "customer"]}}, "levels"),
    ({"targets": {"time_grains": ["iso_week"]}}, "time_grains"),
    ({"territory": {"balance_on": {"potential": 1.0}}}, "balance_on"),
    ({"targets": {"phasing_blend": 1.5}}, "phasing_blend"),
])
def test_params_refuse_by_key(section, value):
    with pytest.raises(ParamsError) as caught:
        params_from_dict(section)
    # one message, naming the key
    assert f"{next(iter(section))}.{value}" in str(caught.value)


def test_tolerance_met_is_one_judgement():
    assert bool(c.within_tolerance(0.05, 0.05)) and bool(c.within_tolerance(0.05 + 1e-12, 0.05))
    assert not bool(c.within_tolerance(0.0501, 0.05))
    assert c.within_tolerance([0.01, 0.2], 0.1).tolist() == [True, False]


def test_largest_over_mean():
    assert c.largest_over_mean([1.0, 1.0, 4.0], 2) == (2, pytest.approx(4 / 3 - 1), 3.0)
    assert c.largest_over_mean([0.0, 0.0], 2) is None
    assert c.largest_over_mean([1.0], 0) is None
