"""Issue 28's figures, measured by reading the code (ast): run from the repository root.

    python tools/measure_core.py [FOLDER ...]      # default: salesmodel

Prints hand-written check functions, implementations and inline copies of the parameter-message
template, function-level ``salesmodel`` imports, language branches outside the vocabulary, and
files over 600 lines / classes over 300 lines.
"""
from __future__ import annotations

import ast
import re
import sys
from collections import Counter
from pathlib import Path

CHECK_NAME = re.compile(r"^_?(check|require|validate|ensure)(_|$)|^_?(bad|param_error)$")
TEMPLATE = re.compile(r"parameter of")
LANGS = {"en", "zh", "es"}
VOCABULARY = "salesmodel/schema/vocabulary.py"


def _strings(node: ast.AST) -> str:
    return "".join(n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str))


def _is_lang_branch(node: ast.AST) -> bool:
    if isinstance(node, ast.Compare):
        parts = [node.left, *node.comparators]
        for p in parts:
            if isinstance(p, ast.Constant) and p.value in LANGS:
                return True
            if isinstance(p, (ast.Tuple, ast.List, ast.Set)) and p.elts and all(
                    isinstance(e, ast.Constant) and e.value in LANGS for e in p.elts):
                return True
    if isinstance(node, ast.Dict):
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        return len(keys & LANGS) >= 2
    return False


def measure(folders: list[str]) -> dict[str, Counter]:
    out = {k: Counter() for k in ("check_functions", "template_impls", "template_inline", "function_imports",
                                  "language_branches", "files_over_600", "classes_over_300")}
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            name = path.as_posix()
            tree = ast.parse(text)
            in_fstrings = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in ast.walk(n)}
            lines = len(text.splitlines())
            if lines > 600 and name != VOCABULARY:
                out["files_over_600"][f"{name} ({lines})"] += 1
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 300:
                    out["classes_over_300"][f"{name}:{node.name} ({node.end_lineno - node.lineno + 1})"] += 1
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    if CHECK_NAME.search(node.name):
                        out["check_functions"][name] += 1
                    for sub in ast.walk(node):
                        if isinstance(sub, (ast.Import, ast.ImportFrom)) and sub is not node:
                            mod = sub.module if isinstance(sub, ast.ImportFrom) else sub.names[0].name
                            if (mod or "").startswith("salesmodel") or (isinstance(sub, ast.ImportFrom) and sub.level):
                                out["function_imports"][name] += 1
                if isinstance(node, ast.JoinedStr) and TEMPLATE.search(_strings(node)):
                    fields = [v for v in node.values if isinstance(v, ast.FormattedValue)]
                    names = {v.value.id for v in fields if isinstance(v.value, ast.Name)}
                    kind = "template_impls" if {"expected"} <= names else "template_inline"
                    out[kind][name] += 1
                elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in in_fstrings
                      and TEMPLATE.search(node.value)):
                    out["template_inline"][name] += 1
                if name != VOCABULARY and _is_lang_branch(node):
                    out["language_branches"][f"{name}:{node.lineno}"] += 1
    return out


def main(argv: list[str]) -> None:
    folders = argv or ["salesmodel"]
    for kind, counts in measure(folders).items():
        print(f"{kind}: {sum(counts.values())} in {len(counts)} places")
        for where, n in counts.most_common():
            print(f"    {n:4d}  {where}")


if __name__ == "__main__":
    main(sys.argv[1:])
