"""The text check over every page a run renders, in English, Chinese and Spanish (tests/textcheck.py):
no machine text (identifiers, name=value, reprs, e-notation, -0, file paths), one money unit per page,
and no English word on a Chinese page outside the names of the data."""
from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import write_params
from textcheck import check_page, visible_text

# Latin words a zh page may show: acronyms, the workbook's file name, units of the forecast backtest
ALLOWED_LATIN = {"sMAPE", "MASE", "SHA", "VIP", "FTE", "plan", "xlsx", "salesmodel", "git", "ETS", "CES", "AutoETS",
                 "AutoCES", "Theta", "SeasonalNaive", "AutoETSLog", "km", "A", "B", "C", "D", "E", "N", "S"}


@pytest.fixture(scope="module", params=["en", "zh", "es"])
def pages(request, tmp_path_factory, small_company_dir):
    from salesmodel.run.runner import run_scenario

    lang = request.param
    tmp = tmp_path_factory.mktemp(f"text-{lang}")
    params = write_params(tmp / "params.yaml", small_company_dir, report={"language": lang},
                          data={"dir": str(small_company_dir)})
    result = run_scenario(params, tmp / "out", progress=False)
    return lang, result.run_dir


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


def test_chinese_pages_have_no_english_outside_data_names(pages):
    lang, run_dir = pages
    if lang != "zh":
        pytest.skip("the Chinese pages only")
    allowed = ALLOWED_LATIN | _data_words(run_dir)
    english = {}
    for page in sorted((run_dir / "html").glob("*.html")):
        # a setting's key (data.locks, budget.categories) is what the planner types in params.yaml: allowed
        # and hashes and run ids of the provenance are not words
        lines = [re.sub(r"\b[a-z_]+(?:\.[a-z_]+)+\b|\b[0-9a-f]{7,}\b|\b\d{8}T\d{6}Z\S*", " ", line)
                 for line in visible_text(page.read_text(encoding="utf-8"))]
        words = {w for line in lines for w in re.findall(r"[A-Za-z]{2,}", line)} - allowed
        if words:
            english[page.name] = sorted(words)[:15]
    assert english == {}
