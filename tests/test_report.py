"""Report helpers: labels, money, CJK fonts, and the offline, escaped leadership HTML."""
from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from salesmodel import report
from salesmodel.errors import ParamsError

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|<script[^>]*\bsrc=|\bimport\s*\(""", re.IGNORECASE)


def test_labels_in_three_languages():
    assert report.label("region", "en") == "Region"
    assert report.label("region", "zh") == "大区"
    assert report.label("region", "es") == "Región"
    assert report.label("third_dekad", "zh") == "下旬"


def test_every_label_has_english_and_chinese():
    # separators may be blank in a language (Chinese joins words with nothing)
    missing = [k for k, v in report.LABELS.items() if not k.startswith("sep_") and (not v.get("en") or not v.get("zh"))]
    assert missing == []


def test_every_word_is_in_three_languages():
    from salesmodel.schema.vocabulary import LANGUAGES, WORDS

    incomplete = [k for k, v in WORDS.items() if set(v) != set(LANGUAGES)
                  or not (k.startswith("sep_") or all(v[lang].strip() for lang in LANGUAGES))]
    assert incomplete == []


def test_unknown_label_suggests_the_close_one():
    with pytest.raises(KeyError, match="did you mean 'region'"):
        report.label("regoin")


def test_unknown_language_is_a_params_error():
    with pytest.raises(ParamsError, match="'language' parameter must be one of en, zh, es. Got 'fr'"):
        report.label("region", "fr")


@pytest.mark.parametrize(
    ("value", "unit", "language", "expected"),
    [
        (1_234_567, "wan", "zh", "123.5 万元"),
        (1_234_567.4, "yuan", "zh", "1,234,567 元"),
        (50_000, "wan", "en", "5.0 ×10k yuan"),
        (1_615_234_000, "million", "es", "1.615,2 millones de yuanes"),
        (-300, "thousand", "en", "0 thousand yuan"),
        (float("nan"), "wan", "en", "–"),
    ],
)
def test_format_money(value, unit, language, expected):
    assert report.format_money(value, unit, language) == expected


def test_money_unit_is_checked():
    with pytest.raises(ParamsError, match="'unit' parameter must be one of yuan, thousand, wan"):
        report.format_money(1, "usd")


def test_money_formatter_scales_ticks():
    assert report.money_formatter("wan")(1_250_000, 0) == "125"


def _draw_chinese() -> list[str]:
    """Draw Chinese text; return the missing-glyph complaints matplotlib made."""
    messages: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    handler = Catch()
    logging.getLogger("matplotlib").addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig, ax = plt.subplots()
            ax.bar(["华东", "华北", "东北"], [3, 2, -1])
            ax.set_title("各大区销售额 (万元) 上旬/中旬/下旬")
            fig.canvas.draw()
            plt.close(fig)
    finally:
        logging.getLogger("matplotlib").removeHandler(handler)
    messages += [str(w.message) for w in caught]
    return [m for m in messages if "missing from font" in m or "Glyph" in m]


def test_without_the_cjk_font_chinese_glyphs_are_missing():
    # proves the check below can fail: DejaVu Sans has no Chinese glyphs
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        assert _draw_chinese()


def test_setup_fonts_draws_chinese_and_is_idempotent():
    with matplotlib.rc_context():
        assert report.setup_fonts() == "Noto Sans CJK SC"
        report.setup_fonts()
        families = matplotlib.rcParams["font.sans-serif"]
        assert families[0] == "Noto Sans CJK SC"
        assert families.count("Noto Sans CJK SC") == 1
        assert not {"SimHei", "Microsoft YaHei"} & set(families[:1])
        assert _draw_chinese() == []


def _notebook_with_outputs(tmp_path: Path) -> Path:
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# Region report"),
        new_code_cell("print('x')", outputs=[new_output("stream", name="stdout", text="visible text\n"),
                                             new_output("stream", name="stderr", text="UserWarning: noisy\n")]),
        new_code_cell(
            "HTML(...)",
            outputs=[
                new_output(
                    "display_data",
                    data={
                        "text/html": '<style>.x {color: red}</style><table class="dataframe"><thead><tr><th>name</th></tr></thead>'
                        '<tbody><tr><td onclick="evil()">ok</td></tr></tbody></table>'
                        '<script>alert(2)</script><img src="https://example.com/x.png" onerror="alert(3)">'
                        '<style>body {background: url(https://example.com/t.png)}</style>',
                        "text/plain": "<HTML>",
                    },
                ),
                new_output("display_data", data={"text/markdown": "Customer **<script>alert(4)</script>**"}),
                new_output("display_data", data={"application/javascript": "alert(5)", "text/plain": "js"}),
            ],
        ),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "report.ipynb"
    nbformat.write(nb, path)
    return path


def test_export_html_drops_live_content_and_keeps_tables(tmp_path):
    html = report.export_html(_notebook_with_outputs(tmp_path), tmp_path / "out" / "report.html").read_text()
    assert "<title>Region report</title>" in html
    assert '<table class="dataframe"><thead><tr><th>name</th>' in html
    assert ".x {color: red}" in html  # harmless table style kept
    for live in ("<script>alert", "onclick", "onerror", "alert(5)", "example.com"):
        assert live not in html, live
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in html  # data text shown, not run
    assert "visible text" in html
    assert "noisy" not in html  # stderr is for the analyst
    assert "print(&#39;x&#39;)" not in html and "print('x')" not in html  # no code
    assert not EXTERNAL.search(html)
    assert "<script" not in html.lower()
    assert "http" not in html  # no address of any kind, not even in comments


def test_escaped_customer_name_in_an_executed_notebook(tmp_path, monkeypatch):
    import papermill as pm

    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# Customers"),
        new_code_cell(
            "import pandas as pd, matplotlib.pyplot as plt\n"
            "from salesmodel.report import setup_fonts\n"
            "setup_fonts()\n"
            "customers = pd.DataFrame({'customer_name': ['<script>alert(1)</script>', '北京客户'], 'amount': [1.0, 2.0]})\n"
            "display(customers)\n"
            "plt.bar(customers['customer_name'], customers['amount']); plt.show()"
        ),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src, done = tmp_path / "c.ipynb", tmp_path / "c.out.ipynb"
    nbformat.write(nb, src)
    pm.execute_notebook(str(src), str(done), kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
    html = report.export_html(done, tmp_path / "c.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "北京客户" in html
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html)  # chart embedded
    assert "customers = pd.DataFrame" not in html
    assert "<script" not in html.lower()
    assert not EXTERNAL.search(html)


def test_display_table_scales_money_names_ids_and_labels_columns():
    import pandas as pd

    t = pd.DataFrame({"year": [2025, 2026], "region_id": ["E", "N"], "amount": [123_456.0, 10_000.0],
                      "units": [3, 4], "growth": [0.1234, float("nan")]})
    shown = report.display_table(t, "zh", "wan", names={"region_id": {"E": "华东"}}, index="year")
    assert list(shown.columns) == ["大区", "金额 (万元)", "数量", "增长率"]
    assert shown.index.name == "年"
    assert list(shown["大区"]) == ["华东", "N"]  # unknown ids stay visible, never dropped
    assert list(shown["金额 (万元)"]) == [12.3, 1.0]
    assert list(shown["增长率"]) == ["+12.3%", "–"]
    assert t["amount"].iloc[0] == 123_456.0  # the tidy table is untouched


def test_money_pivot_adds_up_and_labels_the_unit():
    import pandas as pd

    t = pd.DataFrame({"year": [2025, 2025, 2026], "product": ["A", "B", "A"], "amount": [10_000.0, 20_000.0, 5_000.0]})
    wide = report.money_pivot(t, "product", "year", "en", "wan")
    assert wide.loc["A", 2025] == 1.0 and wide.loc["B", 2026] == 0.0 and wide.loc["A", 2026] == 0.5
    assert wide.columns.name == "Year (×10k yuan)" and wide.index.name == "Product"


def test_heading_escapes_text_from_data():
    h = report.heading("<script>alert(1)</script> 华东", level=3)
    assert h.data == "<h3>&lt;script&gt;alert(1)&lt;/script&gt; 华东</h3>"
