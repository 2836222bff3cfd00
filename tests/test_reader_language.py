"""Pages in the reader's language: the leadership page and a stage page rendered in zh and es
in headless Chromium carry no English outside names, codes and an allow-list; no raw output
(reprs, scientific notation, midnight timestamps, snake_case headers); no blank chart.
The workbook prints to a reasonable number of pages (LibreOffice headless)."""
from __future__ import annotations

import base64
import html as html_lib
import io
import re
import shutil
import subprocess
from pathlib import Path

import browser
import pandas as pd
import pytest
from conftest import write_params

PAGES = ["03_staffing.ipynb", "10_leadership_summary.ipynb"]

# Words a zh/es page may show in Latin letters: technical acronyms, file names, the package.
ALLOWED = {"sMAPE", "MASE", "SHA", "VIP", "git", "salesmodel", "plan", "xlsx", "tables", "csv", "FTE"}


@pytest.fixture(scope="module", params=["zh", "es"])
def rendered(request, tmp_path_factory, small_company_dir):
    from salesmodel.run.runner import run_scenario

    lang = request.param
    tmp = tmp_path_factory.mktemp(f"reader-{lang}")
    params = write_params(tmp / "params.yaml", small_company_dir, report={"language": lang})
    result = run_scenario(params, tmp / "out", notebooks=PAGES, progress=False)
    return lang, result.run_dir


def _data_words(run_dir) -> set[str]:
    """Latin words that come from the data (names, codes): allowed on any page."""
    words: set[str] = set()
    for p in (run_dir / "inputs").glob("*"):
        try:
            df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p)
        except Exception:  # noqa: BLE001 - an input kept in another format is not needed here
            continue
        for col in df.columns:
            if df[col].dtype == object:
                for v in df[col].dropna().astype(str).unique()[:5000]:
                    words.update(re.findall(r"[A-Za-z]+", v))
    return words


def _visible_text(dom: str) -> str:
    body = re.sub(r"<(style|script|title)[^>]*>.*?</\1>", " ", dom, flags=re.S | re.I)
    body = re.sub(r"<code>.*?</code>", " ", body, flags=re.S)  # hashes and run ids in the provenance
    body = re.sub(r'src="data:[^"]*"', "", body)
    return html_lib.unescape(re.sub(r"<[^>]+>", "\n", body))


@pytest.mark.parametrize("page", PAGES)
def test_page_has_no_english_and_no_raw_output(rendered, page):
    if browser.chromium_path() is None:
        pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
    lang, run_dir = rendered
    html_file = run_dir / "html" / page.replace(".ipynb", ".html")
    dom = browser.dump_dom(html_file)
    text = _visible_text(dom)
    allowed = ALLOWED | _data_words(run_dir)
    tokens = re.findall(r"[A-Za-z][A-Za-z_]*", text)
    if lang == "es":
        from salesmodel.schema.vocabulary import WORDS

        spanish = {w for entry in WORDS.values() for w in re.findall(r"[A-Za-zÀ-ÿ]+", entry["es"])}
        allowed |= spanish
        tokens = re.findall(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ_]*", text)
    english = sorted({t for t in tokens if t not in allowed and len(t) > 1})
    assert not english, f"{page} ({lang}) shows words outside the reader's language: {english[:30]}"
    assert not re.search(r"\d\.\d+e[+-]\d\d", text), "scientific notation"
    assert "00:00:00" not in text, "a date printed as a timestamp"
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", re.sub(r"tables/\S+", "", text)), "a snake_case name"
    assert not re.search(r"\w+\([a-z_]+=", text), "a repr"
    # every chart has something drawn: not one flat colour
    import matplotlib.image as mpimg

    images = re.findall(r'src="data:image/png;base64,([^"]+)"', dom)
    assert images, "no chart"
    for b64 in images:
        pixels = mpimg.imread(io.BytesIO(base64.b64decode(b64)), format="png")[..., :3]
        assert pixels.std() > 0.02, f"{page}: a blank chart"


def test_leadership_figures_tell_the_truth(rendered):
    """The company chance is the company forecast's; a handful of reps are flagged; every risk kind from the tables."""
    lang, run_dir = rendered
    t = {p.stem: pd.read_parquet(p) for p in (run_dir / "tables").glob("*.parquet")}
    figures = dict(zip(t["key_figures"]["figure"], t["key_figures"]["value"]))
    from salesmodel.pipeline.key_figures import company_probability

    prob, _ = company_probability(t["baseline_forecast_levels"], t["targets_total"]["target"].iloc[0],
                                  int(t["run_facts"].query("fact == 'plan_year'")["value"].iloc[0]))
    assert figures["probability_of_meeting"] == pytest.approx(prob)
    assert 0 < len(t["flagged_units"]) <= 5
    assert t["flagged_units"]["money_at_risk"].is_monotonic_decreasing
    kinds = set(t["risks"]["kind"])
    assert len(t["unmet_requirements"]) == 0 or "unmet" in kinds
    if (t["capacity_plan"]["shortfall"] & ~t["capacity_plan"]["lead_in"]).any():
        assert "shortfall" in kinds


def _printed_sizes(pdf: Path) -> list[float]:
    """Each printed page's median word height in points (pdftotext's boxes: about the font size at print)."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    sizes = []
    for page in out.split("<page ")[1:]:
        heights = sorted(float(b) - float(a) for a, b in
                         re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', page))
        sizes.append(heights[len(heights) // 2] if heights else 0.0)
    return sizes


def test_workbook_prints_what_people_read(rendered, tmp_path):
    """plan.xlsx printed by LibreOffice: the rep x month plan first, each region's customers on their own
    pages, data sheets one page each; a few pages in all, none printed small."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.fail("LibreOffice is missing: make test installs libreoffice-calc (tools/system_packages.sh)")
    lang, run_dir = rendered
    if lang != "zh":
        pytest.skip("one language is enough for the print check")
    from openpyxl import load_workbook

    from salesmodel.report.workbook_cells import PRINTED_ROWS_PER_PAGE, REGION_PRINTED_PAGES

    wb = load_workbook(run_dir / "plan.xlsx")
    assert wb.sheetnames[0].startswith("月销售计划表")
    regions = [n for n in wb.sheetnames if n.startswith("客户计划")]
    assert len(regions) == 5 and wb.sheetnames[1:6] == regions
    for name in regions:  # the printed part of a region's plan: its header, total and largest customers
        area = wb[name].print_area
        last = int(re.search(r"(\d+)$", area).group(1))
        assert last <= min(wb[name].max_row, 1 + REGION_PRINTED_PAGES * PRINTED_ROWS_PER_PAGE)
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(run_dir / "plan.xlsx")], check=True, capture_output=True, timeout=240)
    sizes = _printed_sizes(tmp_path / "plan.pdf")
    print(f"plan.xlsx: {len(sizes)} printed pages, median text {min(sizes):.1f}-{max(sizes):.1f} pt")
    assert len(sizes) <= 30
    assert min(sizes) >= 8.0, sizes
