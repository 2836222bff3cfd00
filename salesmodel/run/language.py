"""The reader's language on the command line and in ``salesmodel verify``: ``--lang``, else the params'
``report.language`` (as the pages read it), else the environment (``$SALESMODEL_LANG``, then the locale:
``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else English."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from salesmodel.schema.vocabulary import LANGUAGES

__all__ = ["LANG_ENV", "environment_language", "params_language", "reader_language"]

LANG_ENV = "SALESMODEL_LANG"


def environment_language() -> str | None:
    """The language the environment asks for, when it is one of ours (``zh_CN.UTF-8`` is zh)."""
    for name in (LANG_ENV, "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").strip()
        if value:
            code = value.split("_")[0].split(".")[0].split("-")[0].lower()
            return code if code in LANGUAGES else None
    return None


def params_language(params: str | Path | Mapping[str, Any] | None) -> str | None:
    """``report.language`` of a params file (or of already read params), None when it gives none or cannot be read."""
    raw: Any = params
    if isinstance(params, (str, Path)):
        try:
            raw = yaml.safe_load(Path(params).read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):
            return None
    report = raw.get("report") if isinstance(raw, Mapping) else None
    language = report.get("language") if isinstance(report, Mapping) else None
    return language if language in LANGUAGES else None


def reader_language(explicit: str | None = None, params: str | Path | Mapping[str, Any] | None = None) -> str:
    """The language to speak: ``explicit`` (``--lang``), else the params', else the environment's, else en."""
    if explicit in LANGUAGES:
        return explicit
    return params_language(params) or environment_language() or "en"
