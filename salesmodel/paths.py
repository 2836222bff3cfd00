"""Paths built only from our own names: one helper for "this name stays inside its folder".

Every folder or file name that comes from a manifest, params, a workbook or data
goes through :func:`child` (or :func:`inside` for a path already joined), so a
hostile ``../../tmp/x`` or an absolute path can never make salesmodel write
outside the folder it meant.
"""
from __future__ import annotations

import os
import re
import reprlib
from pathlib import Path

from salesmodel.errors import ParamsError

__all__ = ["RUN_ID_PATTERN", "child", "clip", "inside", "is_run_id", "shorten"]

# What runner/audit.make_run_id writes: <UTC time>-<sanitised scenario>-<8 hex>[-n].
# The scenario part is letters/digits of any script, '_' and '-', at most 40 characters.
RUN_ID_PATTERN = re.compile(r"\d{8}T\d{6}Z-[^\W_](?:[\w-]{0,38}[^\W_])?-[0-9a-f]{8}(?:-\d{1,4})?")

_short = reprlib.Repr()
_short.maxstring = 200
_short.maxother = 80
_short.maxlevel = 3


def shorten(value: object, limit: int = 80) -> str:
    """``repr`` of a value, cut in the middle when long (messages stay one readable line).

    Uses :mod:`reprlib`, so even a huge nested value (a YAML alias bomb) is never rendered whole.
    """
    text = _short.repr(value)
    if len(text) <= limit:
        return text
    keep = max(limit - 5, 10) // 2
    return f"{text[:keep]}...{text[-keep:]}"


def clip(text: str, limit: int = 300) -> str:
    """Plain text cut in the middle to at most about ``limit`` characters."""
    text = str(text)
    if len(text) <= limit:
        return text
    keep = max(limit - 5, 10) // 2
    return f"{text[:keep]} ... {text[-keep:]}"


def is_run_id(text: object) -> bool:
    """True when ``text`` is a run id of the shape the runner writes (and nothing else)."""
    return isinstance(text, str) and RUN_ID_PATTERN.fullmatch(text) is not None


def inside(path: str | os.PathLike, parent: str | os.PathLike, *, what: str = "folder") -> Path:
    """``path`` resolved, after checking it lies inside ``parent`` (symlinks followed).

    Raises ParamsError naming both when it would land outside.
    """
    resolved, base = Path(path).resolve(), Path(parent).resolve()
    if resolved == base or base not in resolved.parents:
        raise ParamsError(
            f"The {what} {shorten(str(path))} would be outside {base}; refusing to write there."
        )
    return resolved


def child(parent: str | os.PathLike, name: str, *, what: str = "folder") -> Path:
    """``parent / name`` where ``name`` must be one plain path component that stays inside ``parent``."""
    if (
        not isinstance(name, str)
        or not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\0" in name
        or any(ord(c) < 32 for c in name)
    ):
        raise ParamsError(f"The {what} name {shorten(name)} is not one plain folder name; refusing to use it.")
    return inside(Path(parent) / name, parent, what=what)
