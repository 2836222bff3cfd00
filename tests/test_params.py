"""Params: safe YAML, unknown keys by name with a hint, types, relative paths, hashes."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from salesmodel.errors import ParamsError
from salesmodel.schema.params import Scenario, load_params, params_from_dict, params_hash

REPO = Path(__file__).resolve().parents[1]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_default_params_load_and_point_at_the_demo_data():
    sc = load_params(REPO / "params" / "default.yaml")
    assert sc.scenario == "default"
    assert sc.calendar.plan_year == 2027
    assert sc.data.dir == (REPO / "data" / "demo").resolve()
    assert sc.notebooks[0] == "00_data_overview.ipynb"


def test_unknown_nested_key_is_named_with_a_did_you_mean(tmp_path):
    p = _write(tmp_path / "p.yaml", "calendar:\n  plan_yaer: 2027\n")
    with pytest.raises(ParamsError) as err:
        load_params(p)
    msg = str(err.value)
    assert "calendar.plan_yaer" in msg
    assert "did you mean 'plan_year'" in msg
    assert str(p) in msg


def test_unknown_top_level_key_is_named_with_a_did_you_mean(tmp_path):
    p = _write(tmp_path / "p.yaml", "scenaro: x\n")
    with pytest.raises(ParamsError, match=r"unknown key 'scenaro' \(did you mean 'scenario'\?\)"):
        load_params(p)


def test_unknown_key_without_a_close_match_lists_the_allowed_keys(tmp_path):
    p = _write(tmp_path / "p.yaml", "report:\n  zzz: 1\n")
    with pytest.raises(ParamsError, match=r"allowed here: language, money_unit"):
        load_params(p)


def test_wrong_type_names_the_field_and_the_value(tmp_path):
    p = _write(tmp_path / "p.yaml", "calendar:\n  plan_year: next\n")
    with pytest.raises(ParamsError) as err:
        load_params(p)
    assert "'calendar.plan_year'" in str(err.value)
    assert "'next'" in str(err.value)


def test_out_of_range_and_bad_choice_are_both_reported(tmp_path):
    p = _write(tmp_path / "p.yaml", "seed: -1\nreport:\n  language: fr\n")
    with pytest.raises(ParamsError) as err:
        load_params(p)
    assert "'seed'" in str(err.value)
    assert "'report.language'" in str(err.value)
    assert "'fr'" in str(err.value)


def test_relative_paths_resolve_against_the_params_file_not_the_cwd(tmp_path, monkeypatch):
    p = _write(tmp_path / "scenarios" / "east.yaml", "data:\n  dir: ../company\ncalendar:\n  holiday_overrides: hol.csv\n")
    monkeypatch.chdir(REPO)
    sc = load_params(p)
    assert sc.data.dir == (tmp_path / "company").resolve()
    assert sc.calendar.holiday_overrides == (tmp_path / "scenarios" / "hol.csv").resolve()


def test_absolute_paths_are_kept(tmp_path):
    target = (tmp_path / "elsewhere").resolve()
    p = _write(tmp_path / "p.yaml", yaml.safe_dump({"data": {"dir": str(target)}}))
    assert load_params(p).data.dir == target


def test_yaml_is_loaded_safely(tmp_path):
    marker = tmp_path / "pwned"
    p = _write(tmp_path / "p.yaml", f"scenario: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(p)
    assert not marker.exists()


def test_invalid_yaml_says_where(tmp_path):
    p = _write(tmp_path / "p.yaml", "scenario: a\ncalendar: [1, 2\n")
    with pytest.raises(ParamsError, match=r"not valid YAML at line \d+, column \d+"):
        load_params(p)


def test_top_level_must_be_a_mapping(tmp_path):
    p = _write(tmp_path / "p.yaml", "- a\n- b\n")
    with pytest.raises(ParamsError, match="expected a mapping"):
        load_params(p)


def test_missing_params_file(tmp_path):
    with pytest.raises(ParamsError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")


def test_empty_file_gives_the_defaults(tmp_path):
    sc = load_params(_write(tmp_path / "p.yaml", ""))
    assert sc.scenario == "default"
    assert sc.data.dir == (tmp_path / "../data/demo").resolve()


def test_scenario_name_must_be_printable():
    with pytest.raises(ParamsError, match="'scenario'"):
        params_from_dict({"scenario": "bad\nname"})


def test_overrides_merge_into_nested_sections(tmp_path):
    p = _write(tmp_path / "p.yaml", "calendar:\n  country: CN\n  plan_year: 2027\n")
    sc = load_params(p, overrides={"calendar": {"plan_year": 2028}})
    assert sc.calendar.plan_year == 2028
    assert sc.calendar.country == "CN"


def test_params_hash_is_stable_and_sensitive(tmp_path):
    a = _write(tmp_path / "a.yaml", "scenario: x\nseed: 3\ncalendar:\n  plan_year: 2027\n")
    b = _write(tmp_path / "b.yaml", "calendar:\n  plan_year: 2027\nseed: 3\nscenario: x\n")
    c = _write(tmp_path / "c.yaml", "scenario: x\nseed: 4\ncalendar:\n  plan_year: 2027\n")
    ha, hb, hc = (params_hash(load_params(p)) for p in (a, b, c))
    assert ha == hb  # key order does not matter
    assert ha != hc  # any value does
    assert len(ha) == 64


def test_resolved_params_round_trip_to_the_same_hash(tmp_path):
    sc = load_params(_write(tmp_path / "p.yaml", "scenario: 华东 冲刺\ndata:\n  dir: data\n"))
    again = _write(tmp_path / "resolved" / "params.yaml", yaml.safe_dump(sc.to_jsonable(), allow_unicode=True))
    assert params_hash(load_params(again)) == params_hash(sc)


def test_every_field_is_documented():
    def walk(model):
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and hasattr(ann, "model_fields"):
                assert ann.__doc__, f"section {name} has no docstring"
                walk(ann)
            else:
                assert field.description, f"{model.__name__}.{name} has no description"

    walk(Scenario)


def test_reference_lists_every_key_with_its_default():
    from salesmodel.schema.params import params_reference

    text = params_reference()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert all(line.count(" | ") == 3 for line in rows)  # no stray '|' breaks the table
    assert "| `calendar.plan_year` | int | `2027` |" in text
    assert "| `report.money_unit` |" in text and '`"auto"`' in text
    def leaves(model) -> int:  # sections nest (targets.commitments): count their keys, not the section
        fields = getattr(model, "model_fields", None)
        if not isinstance(model, type) or not fields:
            return 1
        return sum(leaves(f.annotation) for f in fields.values())

    assert len(rows) == leaves(Scenario)


def test_a_description_is_one_text_or_one_per_language(tmp_path):
    from salesmodel.schema.params import description_text

    sc = load_params(REPO / "params" / "default.yaml")
    assert {lang: sc.description_in(lang)[1] for lang in ("en", "zh", "es")} == {"en": "en", "zh": "zh", "es": "es"}
    assert sc.description_in("zh")[0] != sc.description_in("en")[0]
    # a language missing: the English text, and the page is told its language; else the first given
    assert description_text({"en": "Demo", "zh": "示例"}, "es") == ("Demo", "en")
    assert description_text({"zh": "示例", "es": "Demo"}, "en") == ("示例", "zh")
    # one text is the user's own: shown as written to every reader, nothing to say about its language
    assert params_from_dict({"description": "Plan 2027"}).description_in("zh") == ("Plan 2027", None)
    p = _write(tmp_path / "p.yaml", "description:\n  en: Plan\n  fr: Plan\n")
    with pytest.raises(ParamsError, match=r"'description': a description per language takes the keys en, zh, es; got 'fr'"):
        load_params(p)


def test_a_territory_design_needs_a_measure_to_balance():
    """An empty balance_on is refused at once, naming it (it used to fail at the end of the territory step)."""
    with pytest.raises(ParamsError, match="balance_on: name at least one measure"):
        params_from_dict({"territory": {"balance_on": {}}})
    assert params_from_dict({"territory": {"balance_on": {"workload": 0.2}}}).territory.balance_on == {"workload": 0.2}
