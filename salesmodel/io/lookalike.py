"""Ids that look alike: Unicode's confusables (TR39) and mixed scripts.

``C00002`` and ``С00002`` (the second with a Cyrillic Es) are two keys to a computer and one to
a reader: every page and sheet would show two customers with the same-looking id. Ids pasted
from other systems mix scripts this way. The confusables data is the Unicode Consortium's
``confusables.txt`` as the ``confusable_homoglyphs`` package ships it.
"""
from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Iterable
from importlib import resources

# Scripts that may share an id (TR39's "highly restrictive" level): Latin with the Han and Japanese
# or Korean scripts; digits and punctuation belong to every script.
_NEUTRAL = {"COMMON", "INHERITED"}
_ALLOWED_WITH_LATIN = {"HAN", "CJK", "HIRAGANA", "KATAKANA", "HANGUL"}


@functools.lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    """Each confusable character -> the one character that stands for its class (ASCII where the
    class has one, else the smallest code point), so two ids that look alike share a skeleton."""
    data = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    out: dict[str, str] = {}
    for char, entries in data.items():
        if len(char) != 1:
            continue
        alike = [char] + [e["c"] for e in entries if len(e["c"]) == 1]
        ascii_ = [c for c in alike if c.isascii() and c.isprintable()]
        out[char] = min(ascii_) if ascii_ else min(alike)
    return out


def script(char: str) -> str:
    """The script of a character as Unicode names it ('LATIN', 'CYRILLIC', 'CJK', 'COMMON' ...)."""
    if char.isdigit() or not char.isalpha():
        return "COMMON"
    name = unicodedata.name(char, "")
    first = name.split(" ", 1)[0]
    return first or "COMMON"


def skeleton(text: str) -> str:
    """The TR39 skeleton: decompose, map every character to its class's prototype, decompose again.

    >>> skeleton("С00002") == skeleton("C00002")
    True
    """
    table = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in decomposed))


def mixed_scripts(text: str) -> list[str]:
    """The scripts of ``text`` when they may not share an id (Latin with Cyrillic, Greek ...), else []."""
    found = {script(c) for c in text} - _NEUTRAL
    if len(found) <= 1:
        return []
    if found <= {"LATIN"} | _ALLOWED_WITH_LATIN:
        return []
    return sorted(found)


def lookalike_groups(values: Iterable[str]) -> list[list[str]]:
    """Groups of distinct ids that share a skeleton (each group of two or more, in first-seen order).

    Only ids beyond ASCII are compared: code systems hold ASCII pairs such as ``R01`` / ``R0l``
    on purpose, and those differ on every screen; a Cyrillic or full-width letter does not.

    >>> lookalike_groups(["C00002", "С00002", "C00003"])
    [['C00002', 'С00002']]
    """
    distinct = [v for v in dict.fromkeys(values) if isinstance(v, str)]
    odd = {skeleton(v) for v in distinct if not v.isascii()}
    if not odd:
        return []
    by_skeleton: dict[str, list[str]] = {}
    for v in distinct:
        key = skeleton(v)
        if key in odd:
            by_skeleton.setdefault(key, []).append(v)
    return [group for group in by_skeleton.values() if len(group) > 1]


def describe(value: str) -> str:
    """An id with its characters outside ASCII spelled out: "'С00002' (С = CYRILLIC CAPITAL LETTER ES)"."""
    odd = [f"{c} = {unicodedata.name(c, hex(ord(c)))}" for c in dict.fromkeys(value) if not c.isascii()]
    return f"'{value}'" + (f" ({'; '.join(odd)})" if odd else "")
