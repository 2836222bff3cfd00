"""The text check: what a reader sees on a page or a printed sheet holds no machine text.

No snake_case identifiers, no dotted params keys (``targets.total.chance``), no ``name=value``
titles, no reprs (Python lists, quotes around values, ``Timestamp(``), no e-notation, no ``-0``,
and at most one money unit per page. Used by
the page and workbook tests; ``python tests/textcheck.py RUN_DIR`` prints what it finds.
"""
from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

# Words of the data that are not machine text although they look like it.
ALLOWED = {"e.g", "i.e"}
# a file's name is what a reader looks for on disk (the workbook plan.xlsx): not a params key
FILE_TYPES = ("xlsx", "csv", "parquet", "html", "json", "yaml", "yml", "ipynb", "pdf", "png")

# identifiers are ASCII; the boundaries are too, so a key run into Chinese text (参数budget.categories) is found
CHECKS: dict[str, re.Pattern[str]] = {
    "snake_case identifier": re.compile(r"(?<![A-Za-z0-9_./\\-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![A-Za-z0-9_(])"),
    "params key": re.compile(r"(?<![A-Za-z0-9_./\\@-])[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+(?![A-Za-z0-9_(])"),
    "name=value": re.compile(r"\b[a-z_]+=[\w.'\"-]+"),
    "repr": re.compile(r"\[\s*'[^']*'\s*,|np\.\w+\(|Timestamp\(|\bnan\b|\bNone\b|<object |dtype:"),
    "e-notation": re.compile(r"(?<![\w.])\d+(?:\.\d+)?e[+-]?\d+\b|\b1e\d\b"),
    "minus zero": re.compile(r"(?<![\w.,])[-−]0(?:[.,]0+)?(?![\w.,]*[1-9])(?![\d])"),
    "file path": re.compile(r"\btables/\w+\.(?:csv|parquet)\b"),
}

MONEY_UNITS = {
    "yuan": re.compile(r"(?<!thousand )(?<!million )\byuan\b(?! \()"),
    "thousand": re.compile(r"thousand yuan|miles de yuanes|千元"),
    "million": re.compile(r"million yuan|millones de yuanes|百万元"),
    "wan": re.compile(r"万元"),
    "yi": re.compile(r"亿元"),
}


class _Text(HTMLParser):
    """Visible text of an HTML page (no scripts, styles or the hidden parts of the template)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:  # noqa: ANN001 - HTMLParser's signature
        if tag in ("script", "style", "head", "template"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.parts


# run ids and hashes (the provenance's) are identifiers on purpose: a reader quotes them to an auditor
_PROVENANCE = re.compile(r"\b\d{8}T\d{6}Z-\S+|\b[0-9a-f]{7,}\b")


def findings(lines: list[str]) -> list[tuple[str, str]]:
    """(check, the line) for every line that breaks a check."""
    out = []
    for line in (_PROVENANCE.sub(" ", raw) for raw in lines):
        for name, pattern in CHECKS.items():
            hits = [m.group(0) for m in pattern.finditer(line)
                    if m.group(0) not in ALLOWED and not m.group(0).endswith(tuple(f".{t}" for t in FILE_TYPES))]
            if hits:
                out.append((name, f"{hits[0]!s} in: {line[:120]}"))
    return out


def money_units(lines: list[str]) -> set[str]:
    text = "\n".join(lines)
    return {unit for unit, pattern in MONEY_UNITS.items() if pattern.search(text)}


def check_page(path: Path) -> list[tuple[str, str]]:
    lines = visible_text(path.read_text(encoding="utf-8"))
    found = findings(lines)
    units = money_units(lines)
    if len(units) > 1:
        found.append(("money units mixed", ", ".join(sorted(units))))
    return found


if __name__ == "__main__":
    for page in sorted(Path(sys.argv[1]).glob("html/*.html")):
        for check, where in check_page(page):
            print(f"{page.name}: {check}: {where}")
