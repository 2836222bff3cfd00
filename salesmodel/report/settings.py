"""Params settings in words: a label for every params key and its value in the reader's style.

A page never shows a params key (``targets.total.chance``) or a code value (``equal_chance``):
the label comes from the vocabulary (``setting_<path>``, ``setval_<value>``, ``setkey_<key>``),
shares show as percentages, money in the page's unit, numbers with the reader's separators.

>>> setting_label("targets.total.chance", "en")
'Company target by its chance of being met'
>>> setting_value("territory.max_disruption", 0.15, "es")
'15%'
>>> setting_label("budget.categories.promotion.share", "zh")
'预算占目标比例:促销费'
"""
from __future__ import annotations

import datetime as _dt
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from salesmodel.report import format_money, format_number
from salesmodel.schema.params import Scenario
from salesmodel.schema.vocabulary import has_word, word

__all__ = ["MONEY", "PERCENTS", "SHARES", "TEXTS", "choice_values", "setting_label", "setting_paths", "setting_value",
           "setting_values"]

# settings that are shares of one (0.15 → 15%), including every value of a map or list setting
SHARES = frozenset({
    "targets.total.chance", "targets.growth", "targets.bound_risk_share", "targets.basis", "targets.growth_bounds",
    "targets.achievability_threshold", "targets.level_basis", "targets.mix_own_weight", "targets.phasing_blend",
    "targets.commitments.weight", "targets.commitments.bounds", "forecast.shrinkage", "staffing.ramp",
    "staffing.attrition", "staffing.min_reach", "staffing.attainment", "staffing.tier_cuts", "staffing.selling_share",
    "staffing.pay_scenarios", "staffing.replay_tolerance", "territory.balance_on", "territory.max_disruption",
    "territory.frontier", "tracking.growth", "budget.categories.share", "budget.cap_share",
    "staffing.pay_plan.commission_rate", "staffing.pay_plan.threshold", "staffing.pay_plan.weights",
    "staffing.funnel.sources", "staffing.funnel.stages",
})
# settings in yuan, shown in the page's money unit
MONEY = frozenset({"targets.total", "targets.overrides", "staffing.productivity", "budget.categories.amount",
                   "budget.categories.cap", "staffing.pay_plan.base_salary"})
# settings in percent already (80 → 80%)
PERCENTS = frozenset({"forecast.level"})
# free text and file names: shown as written
TEXTS = frozenset({"scenario", "description", "notebooks", "data", "calendar.holiday_overrides", "forecast.scheduler",
                   "targets.mix_segment", "staffing.funnel.unit_of_sale", "staffing.funnel.channel"})


def _field_of(model: Any, name: str) -> Any:
    fields = getattr(model, "model_fields", None)
    return None if fields is None else fields.get(name)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (``X | None``, ``dict[str, X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _walk(dotted: str) -> tuple[str, list[str]]:
    """A flattened params key → (its field's path, the map keys along it).

    ``budget.categories.promotion.share`` → (``budget.categories.share``, [``promotion``]);
    ``targets.basis.last_year`` → (``targets.basis``, [``last_year``]).
    """
    model: Any = Scenario
    path: list[str] = []
    keys: list[str] = []
    for part in dotted.split("."):
        field = _field_of(model, part) if model is not None else None
        if field is not None:
            path.append(part)
            models = _models_in(field.annotation)
            model = models[0] if models else None
        else:  # a map's own key (budget.categories.<name>): a map of sections keeps its section's fields next
            keys.append(part)
    return ".".join(path), keys


def _key_word(key: str, language: str, names: Mapping[Any, str] | None = None) -> str:
    """A map setting's key in words: the catalogue's word, else the data's name, else the key as written."""
    for candidate in (f"setkey_{key}", key, f"code_{key}", f"col_{key}"):
        if has_word(candidate):
            return word(candidate, language)
    if names and key in names:
        return str(names[key])
    return key.replace("_", " ")


def setting_label(dotted: str, language: str = "en", names: Mapping[Any, str] | None = None) -> str:
    """The words for a flattened params key; a map's keys follow the setting's label
    (``targets.level_basis.customer.last_year`` → 'Weight of the share basis by level: Customer, Last year')."""
    path, keys = _walk(dotted)
    while path and not has_word(f"setting_{path.replace('.', '_')}"):  # a field without its own label: its section's
        path, _, last = path.rpartition(".")
        keys.insert(0, last)
    if path:
        label = word(f"setting_{path.replace('.', '_')}", language)
    else:  # not a params key at all: its parts in words
        label, keys = _key_word(keys[0], language, names), keys[1:]
    if not keys:
        return label
    sep = word("sep_list", language)
    return word("setting_with_keys", language).format(
        setting=label, keys=sep.join(_key_word(k, language, names) for k in keys))


def _kind(dotted: str) -> str:
    path, keys = _walk(dotted)
    if path in TEXTS or path.partition(".")[0] in TEXTS:
        return "text"
    for candidate in (".".join([path, *keys]), path, ".".join([path, *keys[:1]])):
        if candidate in SHARES:
            return "share"
        if candidate in MONEY:
            return "money"
        if candidate in PERCENTS:
            return "percent"
    return "plain"


def _percent(value: float, language: str, *, scale: float = 100.0) -> str:
    shown = value * scale
    decimals = 0 if round(shown, 6) == round(shown) else 1 if round(shown, 6) == round(shown, 1) else 2
    return f"{format_number(shown, decimals, language)}%"


def setting_value(dotted: str, value: Any, language: str = "en", *, money_unit: str = "thousand",
                  names: Mapping[Any, str] | None = None) -> str:
    """A setting's value for a reader: shares as percentages, money in ``money_unit``, choices in words,
    numbers with the reader's separators, lists joined; nothing as Python prints it."""
    kind = _kind(dotted)
    sep = word("sep_values", language)  # es: 1,5; 2,5

    def one(v: Any) -> str:
        if v is None:
            return "–"
        if isinstance(v, bool):
            return word("code_true" if v else "code_false", language)
        if isinstance(v, (int, float)):
            if kind == "share":
                return _percent(float(v), language)
            if kind == "percent":
                return _percent(float(v), language, scale=1.0)
            if kind == "money":
                return format_money(float(v), money_unit, language)
            digits = f"{float(v):.6f}".rstrip("0").partition(".")[2]
            return format_number(float(v), len(digits), language)
        if isinstance(v, (list, tuple)):
            if not v:
                return "–"
            return sep.join(f"({one(x)})" if isinstance(x, (list, tuple)) else one(x) for x in v)
        if isinstance(v, Mapping):
            if not v:
                return "–"
            return sep.join(f"{_key_word(str(k), language, names)} {one(x)}" for k, x in v.items())
        if isinstance(v, (_dt.date, _dt.datetime)):
            return v.isoformat()[:10]
        text = str(v)
        if kind == "text":
            return text
        for key in (f"setval_{text}", f"code_{text}"):  # a choice, or a code of the data (a role)
            if has_word(key):
                return word(key, language)
        return text

    return one(value)


def setting_values(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """The flattened settings that differ between two params mappings: (dotted key, a's value, b's value)."""
    fa: dict[str, Any] = {}
    fb: dict[str, Any] = {}
    _flatten("", a, fa)
    _flatten("", b, fb)
    return [(k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping) and value:
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def setting_paths() -> list[str]:
    """Every params field's dotted path (a map of sections as ``<path>.<field>``): what needs a label."""
    paths: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            paths.append(prefix + name)
            for sub in _models_in(field.annotation):
                walk(sub, f"{prefix}{name}.")

    walk(Scenario, "")
    return paths


def choice_values() -> set[str]:
    """Every value a choice setting (a ``Literal``) can take: what needs a word."""
    values: set[str] = set()

    def literals(annotation: Any) -> None:
        if typing.get_origin(annotation) is typing.Literal:
            values.update(str(v) for v in typing.get_args(annotation))
        for arg in typing.get_args(annotation):
            literals(arg)

    def walk(model: type[BaseModel]) -> None:
        for field in model.model_fields.values():
            literals(field.annotation)
            for sub in _models_in(field.annotation):
                walk(sub)

    walk(Scenario)
    return values
