"""Scenario parameters: one pydantic schema, loaded safely from YAML.

Every field has a default and a description; unknown or misspelt keys are
rejected by name; file paths are resolved relative to the params file.

The sections (one class each, with every key's range) are :mod:`salesmodel.schema.sections`'s;
they are importable from here as before.
"""
from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from salesmodel.errors import ParamsError
from salesmodel.paths import clip, shorten
from salesmodel.schema.sections import (
    DESCRIPTION_LANGUAGES,
    BudgetCategory,
    BudgetParams,
    CalendarParams,
    CommitmentParams,
    DataParams,
    ForecastParams,
    FunnelParams,
    ReportParams,
    StaffingParams,
    TargetsParams,
    TerritoryParams,
    TotalByChance,
    TrackingParams,
)
from salesmodel.schema.vocabulary import FALLBACK_LANGUAGE

__all__ = [
    "DEFAULT_NOTEBOOKS",
    "DESCRIPTION_LANGUAGES",
    "BudgetCategory",
    "BudgetParams",
    "CalendarParams",
    "CommitmentParams",
    "DataParams",
    "ForecastParams",
    "FunnelParams",
    "ReportParams",
    "Scenario",
    "StaffingParams",
    "TargetsParams",
    "TerritoryParams",
    "TotalByChance",
    "TrackingParams",
    "description_text",
    "load_params",
    "params_from_dict",
    "params_hash",
    "params_reference",
    "slider_range",
]


# Notebooks of a full run, in order (each is added here once it runs green).
DEFAULT_NOTEBOOKS = [
    "00_data_overview.ipynb",
    "01_baseline_forecast.ipynb",
    "02_targets.ipynb",
    "03_staffing.ipynb",
    "04_territories.ipynb",
    "05_tracking.ipynb",
    "10_leadership_summary.ipynb",
]


class Scenario(BaseModel):
    """One planning scenario: everything a run needs besides the data."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    scenario: str = Field("default", min_length=1, max_length=80, description="Scenario name (used, sanitised, in the run folder name).")
    description: str | dict[str, str] = Field("", description="Free text shown in reports: one text, shown as written to every reader, or one per language, e.g. {en: ..., zh: ..., es: ...}; a reader whose language is missing reads the English text (else the first given) and is told which language it is.")
    seed: int = Field(0, ge=0, description="Seed for every random step.")
    data: DataParams = Field(default_factory=DataParams)
    calendar: CalendarParams = Field(default_factory=CalendarParams)
    forecast: ForecastParams = Field(default_factory=ForecastParams)
    targets: TargetsParams = Field(default_factory=TargetsParams)
    staffing: StaffingParams = Field(default_factory=StaffingParams)
    territory: TerritoryParams = Field(default_factory=TerritoryParams)
    tracking: TrackingParams = Field(default_factory=TrackingParams)
    budget: BudgetParams = Field(default_factory=BudgetParams)
    report: ReportParams = Field(default_factory=ReportParams)
    notebooks: list[str] = Field(default_factory=lambda: list(DEFAULT_NOTEBOOKS), description="Notebooks to run, in order.")

    @field_validator("scenario")
    @classmethod
    def _printable(cls, v: str) -> str:
        if not v.strip() or any(ord(c) < 32 for c in v):
            raise ValueError("must be a printable, non-blank name")
        return v

    @field_validator("description", mode="before")
    @classmethod
    def _description_languages(cls, v: Any) -> Any:
        if isinstance(v, dict):
            unknown = [str(k) for k in v if k not in DESCRIPTION_LANGUAGES]
            if unknown:
                raise ValueError(f"a description per language takes the keys {', '.join(DESCRIPTION_LANGUAGES)}; "
                                 f"got {', '.join(repr(k) for k in unknown)}")
            bad = [str(k) for k, text in v.items() if not isinstance(text, str)]
            if bad:
                raise ValueError(f"the description in {', '.join(bad)} must be a text")
        return v

    def description_in(self, language: str) -> tuple[str, str | None]:
        """The description a reader of ``language`` reads, and its language (see :func:`description_text`)."""
        return description_text(self.description, language)

    def to_jsonable(self) -> dict[str, Any]:
        """Plain JSON-able dict (paths as strings, dates ISO)."""
        return json.loads(self.model_dump_json())


def description_text(description: Any, language: str) -> tuple[str, str | None]:
    """A scenario's description for a reader of ``language``: ``(text, its language)``.

    One text is the user's own and is shown as written (its language None: nothing to say about it).
    Given per language, the reader's text, else the English one, else the first given in
    en, zh, es order; the language returned tells the page when it is not the reader's.

    >>> description_text({"en": "Demo", "zh": "示例"}, "es")
    ('Demo', 'en')
    """
    if not isinstance(description, dict):
        return ("" if description is None else str(description)).strip(), None
    texts = {k: str(v).strip() for k, v in description.items() if v is not None and str(v).strip()}
    for lang in (language, FALLBACK_LANGUAGE, *DESCRIPTION_LANGUAGES):
        if lang in texts:
            return texts[lang], lang
    return "", None


def slider_range(key: str, *, step: float = 0.01) -> tuple[float, float]:
    """The range a control of the params key ``key`` (``"targets.stretch"``) may take, from the schema's
    bounds: ``(low, high)``, an open end moved in by ``step``. A mapping's values (``territory.balance_on``)
    take the bounds declared for each value. Explorers' sliders read their ranges here.

    >>> slider_range("targets.stretch")
    (1.0, 3.0)
    """
    section, name = key.split(".")
    field = Scenario.model_fields[section].default_factory().__class__.model_fields[name]
    metadata = list(field.metadata)
    args = getattr(field.annotation, "__args__", ())
    if args and getattr(field.annotation, "__origin__", None) is dict:
        metadata = [m for a in getattr(args[1], "__metadata__", ()) for m in getattr(a, "metadata", [a])]
    low = high = None
    for m in metadata:
        if getattr(m, "ge", None) is not None:
            low = float(m.ge)
        elif getattr(m, "gt", None) is not None:
            low = float(m.gt) + step
        if getattr(m, "le", None) is not None:
            high = float(m.le)
        elif getattr(m, "lt", None) is not None:
            high = float(m.lt) - step
    if low is None or high is None:
        raise KeyError(f"{key} has no bounded range in the params schema")
    return low, high


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names valid at a location, for 'did you mean' hints."""
    current: Any = model
    for part in loc[:-1]:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
    return list(getattr(current, "model_fields", {}))


_MAX_PROBLEMS = 12  # lines of one params message; the rest are counted


def _explain(exc: ValidationError, source: str) -> str:
    lines = []
    errors = exc.errors()
    for err in errors[:_MAX_PROBLEMS]:
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            known = _known_keys(Scenario, loc)
            hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
            msg = f"unknown key '{where}'"
            msg += f" (did you mean '{hint[0]}'?)" if hint else f" (allowed here: {', '.join(known)})"
        else:
            got = err.get("input")
            text = str(err["msg"]).removeprefix("Value error, ")
            msg = f"'{where}': {clip(text, 300)}"
            if got is not None and not isinstance(got, dict) and err["type"] != "value_error":
                msg += f" (got {shorten(got)})"
        lines.append("  - " + msg)
    if len(errors) > _MAX_PROBLEMS:
        lines.append(f"  (and {len(errors) - _MAX_PROBLEMS} more problems)")
    return f"{source}: invalid parameters:\n" + "\n".join(lines)


def _resolve_paths(sc: Scenario, base: Path) -> Scenario:
    data = sc.data
    if not data.dir.is_absolute():
        data = data.model_copy(update={"dir": (base / data.dir).resolve()})
    cal = sc.calendar
    if cal.holiday_overrides is not None and not cal.holiday_overrides.is_absolute():
        cal = cal.model_copy(update={"holiday_overrides": (base / cal.holiday_overrides).resolve()})
    return sc.model_copy(update={"data": data, "calendar": cal})


def params_from_dict(raw: dict[str, Any] | None, *, base_dir: Path | str = ".", source: str = "params") -> Scenario:
    """Validate a params mapping; relative paths resolve against ``base_dir``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping of keys to values at the top level, got {type(raw).__name__}")
    try:
        sc = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(_explain(exc, source)) from None
    return _resolve_paths(sc, Path(base_dir))


MAX_YAML_VALUES = 100_000  # values a params file may expand to through aliases (an alias bomb is refused)


class _YamlRefusal(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class _ParamsLoader(yaml.SafeLoader):
    """The safe loader, refusing keys given twice and alias bombs."""

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expansion(node)
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = key_node.value
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise _YamlRefusal(f"key '{clip(key, 60)}' is given twice, at lines "
                                       f"{seen[key]} and {line}; keep one of them")
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand it past MAX_YAML_VALUES values (or refer to themselves)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _YamlRefusal("an alias refers to the value that contains it; write the values out")
        active.add(key)
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(n) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            total = 1
        active.discard(key)
        if total > MAX_YAML_VALUES:
            raise _YamlRefusal(f"its aliases (*name) expand it to more than {MAX_YAML_VALUES:,} values; "
                               "a params file is a few hundred values, so write them out")
        sizes[key] = total
        return total

    size(root)


def load_params(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load a scenario from YAML (safe loader) and validate it.

    ``overrides`` is a nested mapping merged over the file's content
    (used by batch grids).

    >>> sc = load_params("params/default.yaml")  # doctest: +SKIP
    >>> sc.calendar.plan_year
    2027
    """
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ParamsError(f"{path}: not UTF-8 text (byte {exc.start}); save the params file as UTF-8") from None
    except OSError as exc:
        raise ParamsError(f"{path}: cannot read the params file: {exc.strerror or exc}") from None
    try:
        raw = yaml.load(text, Loader=_ParamsLoader)  # noqa: S506 - a SafeLoader subclass
    except _YamlRefusal as exc:
        raise ParamsError(f"{path}: {exc.text}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "the text is not YAML"
        raise ParamsError(f"{path}: not valid YAML{where}: {clip(str(problem), 200)}") from None
    except RecursionError:
        raise ParamsError(f"{path}: nested too deeply to be a params file") from None
    if overrides:
        raw = _deep_merge(raw or {}, overrides)
    return params_from_dict(raw, base_dir=path.resolve().parent, source=str(path))


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def params_hash(sc: Scenario) -> str:
    """sha256 of the resolved params as canonical JSON."""
    blob = json.dumps(sc.to_jsonable(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def params_reference() -> str:
    """Every params key with its type, default and description, as Markdown.

    Generated from the schema, so it is always current::

        python -c "from salesmodel.schema.params import params_reference; print(params_reference())"
    """
    from pydantic_core import PydanticUndefined

    def default_of(field: Any) -> str:
        if field.default_factory is not None:
            value = field.default_factory()
        elif field.default is PydanticUndefined:
            return "(required)"
        else:
            value = field.default
        if isinstance(value, BaseModel):
            return "(section)"
        return json.dumps(value, default=str, ensure_ascii=False)

    def type_of(field: Any) -> str:
        text = str(field.annotation).replace("typing.", "").replace("pathlib.", "").replace("datetime.", "")
        return text.replace("<class '", "").replace("'>", "").replace("|", "or")

    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                lines.append(f"| **{prefix}{name}** | section | | {(ann.__doc__ or '').strip()} |")
                walk(ann, f"{prefix}{name}.")
            else:
                desc = (field.description or "").replace("|", "\\|")
                lines.append(f"| `{prefix}{name}` | {type_of(field)} | `{default_of(field)}` | {desc} |")

    walk(Scenario, "")
    return "\n".join(lines) + "\n"
