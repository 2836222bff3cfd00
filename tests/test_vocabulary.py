"""The vocabulary (salesmodel.schema.vocabulary): every word in en, zh and es, every key used, the only
place the package's words and language choices live.
"""
from __future__ import annotations

import ast
import fnmatch
import json
import re
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from salesmodel.errors import ParamsError
from salesmodel.schema import vocabulary
from salesmodel.schema.params import Scenario
from salesmodel.schema.tables import TABLES
from salesmodel.schema.vocabulary import (
    DEFAULT_MONEY_UNIT,
    FALLBACK_LANGUAGE,
    LANGUAGES,
    WORDS,
    has_word,
    local_column,
    number_style,
    word,
)

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "salesmodel"
VOCABULARY = PACKAGE / "schema" / "vocabulary.py"


def _sources() -> list[tuple[str, str]]:
    """(where, code) of every package module but the vocabulary, and of every notebook code cell."""
    out = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py")) if p != VOCABULARY]
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for i, cell in enumerate(json.loads(nb.read_text(encoding="utf-8"))["cells"]):
            if cell["cell_type"] == "code":
                code = "\n".join(line for line in "".join(cell["source"]).splitlines() if not line.lstrip().startswith(("%", "!")))
                out.append((f"{nb.name}[{i}]", code))
    return out


def _params_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        keys.add(prefix + name)
        for t in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(t, type) and issubclass(t, BaseModel):
                keys |= _params_keys(t, f"{prefix}{name}.")
    return keys


def _runtime_codes() -> set[str]:
    """Codes that reach ``code_<value>`` from the data a run reads, not from the code: the default
    scenario's budget categories, and the forecast's bottom level (the grain's key columns joined by '/')."""
    params = yaml.safe_load((ROOT / "params" / "default.yaml").read_text(encoding="utf-8"))
    categories = set((params.get("budget") or {}).get("categories") or {})
    return categories | {"region_id/product"}


def test_every_word_has_english_chinese_and_spanish():
    assert LANGUAGES == ("en", "zh", "es") and FALLBACK_LANGUAGE in LANGUAGES
    for key, texts in WORDS.items():
        assert set(texts) == set(LANGUAGES), key
        # a separator may be blank (Chinese joins words with nothing), every other text may not
        assert all(isinstance(t, str) and (t.strip() or key.startswith("sep_")) for t in texts.values()), key
    assert word("sep_words", "zh") == "" and word("sep_list", "zh") == "、" and word("sep_values", "es") == "; "
    assert number_style("1,615.2", "es") == "1.615,2" and local_column("city", "zh") == "city_zh"
    assert set(DEFAULT_MONEY_UNIT) == set(LANGUAGES)


def test_templates_take_the_same_fields_in_every_language():
    field = re.compile(r"(?<!\{)\{([a-z_0-9]*)(?:[:!][^{}]*)?\}(?!\})")
    for key, texts in WORDS.items():
        fields = {lang: set(field.findall(text)) for lang, text in texts.items()}
        assert fields["zh"] == fields["en"] == fields["es"], (key, fields)


def test_every_key_is_used_by_the_package_or_a_notebook():
    literals: set[str] = set()
    prefixes: set[str] = set()
    for _where, code in _sources():
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
            elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                prefixes.add(node.values[0].value)  # f"col_{name}": a family of keys
            elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and isinstance(node.left, ast.Constant)
                  and isinstance(node.left.value, str)):
                prefixes.add(node.left.value)
    prefixes = {p for p in prefixes if re.fullmatch(r"[a-z0-9_]+_", p)}
    names = literals | set(TABLES) | _params_keys(Scenario) | _runtime_codes()
    names |= {c.name for t in TABLES.values() for c in t.columns if not c.name.endswith("*")}
    names |= {n.replace(".", "_") for n in names}
    families = [c.name for t in TABLES.values() for c in t.columns if c.name.endswith("*")]

    def known(rest: str) -> bool:
        return rest in names or any(fnmatch.fnmatchcase(rest, f) for f in families)

    unused = [k for k in WORDS if k not in literals and not any(k.startswith(p) and known(k[len(p):]) for p in prefixes)]
    assert unused == []


def test_no_language_branches_outside_the_vocabulary():
    """No code compares a language code or keys a table by languages outside the vocabulary (the views'
    own branches are counted by tools/measure_core.py; the core, schema, pipeline and sample have none)."""
    langs = set(LANGUAGES)
    core = ("salesmodel/domain/", "salesmodel/pipeline/", "salesmodel/schema/", "salesmodel/sample/")
    # the holidays package names holidays in its own locales: the one map from our languages to them
    allowed = {"salesmodel/domain/holiday_calendar.py"}
    found = []
    for where, code in _sources():
        if not where.startswith(core) or where in allowed:
            continue
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Compare):
                for part in (node.left, *node.comparators):
                    if isinstance(part, ast.Constant) and part.value in langs:
                        found.append((where, node.lineno))
            if isinstance(node, ast.Dict) and len({k.value for k in node.keys if isinstance(k, ast.Constant)} & langs) >= 2:
                found.append((where, node.lineno))
    assert found == []


def test_word_reads_the_catalogue():
    assert word("target", "zh") == WORDS["target"]["zh"]
    assert has_word("target") and not has_word("no_such_word")
    with pytest.raises(KeyError):
        word("no_such_word", "en")
    with pytest.raises(ParamsError):
        word("target", "de")


def test_the_params_take_their_languages_from_the_vocabulary():
    from salesmodel.schema.params import DESCRIPTION_LANGUAGES, params_from_dict

    assert DESCRIPTION_LANGUAGES == vocabulary.LANGUAGES
    for lang in LANGUAGES:
        report = params_from_dict({"report": {"language": lang}}).report
        assert report.money_unit == DEFAULT_MONEY_UNIT[lang]
    with pytest.raises(ParamsError):
        params_from_dict({"report": {"language": "de"}})
