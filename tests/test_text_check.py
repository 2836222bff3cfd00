"""The text check over every page a run renders, in English, Chinese and Spanish (tests/textcheck.py),
and over a batch's scenario comparison: no machine text (identifiers, params keys, name=value, reprs,
e-notation, -0, file paths), one money unit per page, and no English word on a Chinese page outside
the names of the data (and the scenarios' names, a user's own)."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import write_params
from textcheck import check_page, findings, visible_text

# Latin words a zh page may show: acronyms, the workbook's file name, units of the forecast backtest
ALLOWED_LATIN = {"sMAPE", "MASE", "SHA", "VIP", "FTE", "plan", "xlsx", "salesmodel", "git", "ETS", "CES", "AutoETS",
                 "AutoCES", "Theta", "SeasonalNaive", "AutoETSLog", "km", "A", "B", "C", "D", "E", "N", "S"}


@pytest.fixture(scope="module", params=["en", "zh", "es"])
def pages(request, tmp_path_factory, small_company_dir):
    from salesmodel.run.runner import run_scenario

    lang = request.param
    tmp = tmp_path_factory.mktemp(f"text-{lang}")
    params = write_params(tmp / "params.yaml", small_company_dir, report={"language": lang},
                          data={"dir": str(small_company_dir)}, description=DESCRIPTION)
    result = run_scenario(params, tmp / "out", progress=False)
    return lang, result.run_dir


# the shipped params describe their scenario in every language; pages show the reader's
DESCRIPTION = {"en": "Small company, plan year 2027.", "zh": "小型公司,2027 计划年度。",
               "es": "Empresa pequeña, año del plan 2027."}


def _data_words(run_dir) -> set[str]:
    words: set[str] = set()
    for p in (run_dir / "inputs").glob("*.parquet"):
        df = pd.read_parquet(p)
        for col in df.columns:
            if df[col].dtype == object or str(df[col].dtype) == "category":
                for v in pd.Series(df[col].dropna().astype(str).unique()[:5000]):
                    words.update(re.findall(r"[A-Za-z]+", v))
    return words


def test_every_page_is_free_of_machine_text(pages):
    lang, run_dir = pages
    found = {page.name: check_page(page) for page in sorted((run_dir / "html").glob("*.html"))}
    assert len(found) >= 7
    assert {name: hits for name, hits in found.items() if hits} == {}
    leadership = visible_text((run_dir / "html" / "10_leadership_summary.html").read_text(encoding="utf-8"))
    assert DESCRIPTION[lang] in leadership  # the description in the reader's language


def test_chinese_pages_have_no_english_outside_data_names(pages):
    lang, run_dir = pages
    if lang != "zh":
        pytest.skip("the Chinese pages only")
    allowed = ALLOWED_LATIN | _data_words(run_dir)
    english = {}
    for page in sorted((run_dir / "html").glob("*.html")):
        words = _english_words(page) - allowed
        if words:
            english[page.name] = sorted(words)[:15]
    assert english == {}


def _english_words(page) -> set[str]:
    """Latin words on a page, but for the hashes and run ids of the provenance (not words) and the workbook's file name."""
    lines = [re.sub(r"\b[0-9a-f]{7,}\b|\b\d{8}T\d{6}Z\S*|\bplan\.xlsx\b", " ", line)
             for line in visible_text(page.read_text(encoding="utf-8"))]
    return {w for line in lines for w in re.findall(r"[A-Za-z]{2,}", line)}


def test_the_check_finds_params_keys_and_identifiers():
    """What the pages showed before labels came from the vocabulary: each line is found."""
    lines = ["The params set the company target by its chance: 50% (targets.total.chance).",
             "本计划未设置费用预算(参数 budget.categories)。", "Setting | territory.max_disruption | 0.15",
             "How each level's target is shared | equal_chance", "参数budget.categories中"]
    assert [check for check, _ in findings(lines)] == ["params key", "params key", "params key",
                                                       "snake_case identifier", "params key"]
    assert findings(["the full table is in the workbook plan.xlsx, e.g. sheet 'Targets by rep'."]) == []


def test_every_setting_and_choice_has_words_in_every_language():
    """Any params key can differ between two scenarios of a batch: each has a label, each choice a word."""
    from salesmodel.report.settings import choice_values, setting_label, setting_paths, setting_value
    from salesmodel.schema.vocabulary import LANGUAGES, has_word

    assert [p for p in setting_paths() if not has_word("setting_" + p.replace(".", "_"))] == []
    assert sorted(v for v in choice_values() if not has_word(f"setval_{v}")) == []
    for lang in LANGUAGES:
        shown = [setting_label(p, lang) for p in setting_paths()]
        assert findings(shown) == []
    assert setting_label("budget.categories.promotion.share", "zh") == "预算占目标比例:促销费"
    assert setting_value("budget.categories.promotion.share", 0.015, "es") == "1,5%"
    assert setting_value("targets.allocation.region", "equal_chance", "zh") == "等概率"
    assert setting_value("budget.categories.promotion.cap", 25_000_000, "zh", money_unit="wan") == "2,500.0 万元"
    assert setting_value("staffing.pay_plan.tiers", [[0.0, 1.0], [1.0, 1.5]], "es") == "(0; 1); (1; 1,5)"


def test_a_description_missing_in_the_readers_language_says_which_it_is():
    from types import SimpleNamespace

    from salesmodel.report.pages import Page
    from salesmodel.schema.params import params_from_dict

    params = params_from_dict({"description": {"en": "Plan 2027", "es": "Plan 2027 (es)"}, "report": {"language": "zh"}})
    shown = Page(SimpleNamespace(params=params)).description().data
    assert "Plan 2027" in shown and "此说明为英文" in shown
    params = params_from_dict({"description": DESCRIPTION, "report": {"language": "zh"}})
    assert Page(SimpleNamespace(params=params)).description().data == f"<h5>{DESCRIPTION['zh']}</h5>"
    assert Page(SimpleNamespace(params=params_from_dict({}))).description() is None


@pytest.fixture(scope="module")
def comparison(tmp_path_factory, small_company_dir):
    """A two-scenario batch of the small company (the overview notebook only: the comparison reads the
    runs' tables), its comparison page rendered in en, zh and es."""
    import shutil

    from salesmodel.run.batch import _render_comparison, run_batch

    tmp = tmp_path_factory.mktemp("text-batch")
    base = write_params(tmp / "base.yaml", small_company_dir, scenario="base", notebooks=["00_data_overview.ipynb"],
                        description=DESCRIPTION)
    high = write_params(tmp / "high.yaml", small_company_dir, scenario="high", notebooks=["00_data_overview.ipynb"],
                        description={"en": "Higher growth.", "zh": "更高增长。", "es": "Más crecimiento."},
                        targets={"growth": 0.15, "growth_over": "last_year", "allocation": {"region": "basis"}},
                        staffing={"attrition": 0.25})
    result = run_batch([base, high], tmp / "out", workers=2, progress=False)
    assert result.ok and result.comparison_html is not None
    pages = {"en": result.comparison_html}
    for lang in ("zh", "es"):  # the same batch read in another language
        folder = tmp / f"batch-{lang}"
        shutil.copytree(result.batch_dir, folder)
        pages[lang] = _render_comparison(folder, str(write_params(tmp / f"{lang}.yaml", small_company_dir,
                                                                   report={"language": lang})), result.reference)
    return pages, [Path(o.run_dir) for o in result.outcomes]


@pytest.mark.parametrize("lang", ["en", "zh", "es"])
def test_the_scenario_comparison_is_free_of_machine_text(comparison, lang):
    pages, runs = comparison
    page = pages[lang]
    assert check_page(page) == []
    text = "\n".join(visible_text(page.read_text(encoding="utf-8")))
    from salesmodel.report.settings import setting_label

    for key in ("targets.growth", "targets.growth_over", "staffing.attrition", "description"):
        assert setting_label(key, lang) in text  # the settings that differ, in words
    assert "15%" in text and DESCRIPTION[lang] in text
    if lang == "zh":
        words = _english_words(page) - ALLOWED_LATIN - _data_words(runs[0]) - {"base", "high"}  # scenario names: the user's
        assert words == set()

