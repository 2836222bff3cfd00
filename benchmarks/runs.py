"""Benchmark: the demo company end to end through the command line.

Times `salesmodel sample`, `validate`, `run`, `verify` and `verify --rerun`
on the full-size demo company, as a user runs them (one process per command),
and writes the table to benchmarks/results/runs.md with machine, versions and date.

    .venv/bin/python benchmarks/runs.py                    # params/default.yaml
    .venv/bin/python benchmarks/runs.py --all-notebooks    # every numbered scenario notebook

Goal (issue 11): `salesmodel run params/default.yaml` in at most 30 s on 2 quiet cores. The table
also shows each pipeline step's seconds (the plan run once, in one process) and the load average.
"""
from __future__ import annotations

import sys
from pathlib import Path

# a script beside this one must never shadow a standard-library module (calendar.py once did)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import platform
import re
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata

import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "runs.md"
EXE = Path(sys.executable).with_name("salesmodel")


def timed(args: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([str(EXE), *args], cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 3):  # 3: completed, with unmet requirements it names
        raise SystemExit(f"`salesmodel {' '.join(args)}` failed ({done.returncode}):\n{done.stderr}")
    return seconds, done.stdout


def scenario_notebooks() -> list[str]:
    """Numbered notebooks that take a scenario (a `parameters` cell with params_file), in order."""
    import nbformat

    names = []
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any("parameters" in c.metadata.get("tags", []) and "params_file" in c.source for c in nb.cells):
            names.append(path.name)
    return names


def step_seconds(params: Path) -> list[tuple[str, float, str]]:
    """Each pipeline step's seconds, the plan run in this process as the runner runs it."""
    from salesmodel import io
    from salesmodel.pipeline import STEPS, run_step
    from salesmodel.schema.params import load_params

    scenario = load_params(params)
    started = time.perf_counter()
    inputs = io.read_inputs(scenario.data)
    out = [("  reading and validating the inputs (once per run)", time.perf_counter() - started, "")]
    tables: dict = {}
    for name in STEPS:
        started = time.perf_counter()
        result = run_step(name, scenario, inputs, tables)
        tables.update(result.tables)
        out.append((f"  pipeline step {name}", time.perf_counter() - started, f"{len(result.tables)} tables"))
    return out


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
        return re.search(r"model name\s*:\s*(.+)", text).group(1).strip()
    except (OSError, AttributeError):
        return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=REPO / "params" / "default.yaml")
    parser.add_argument("--all-notebooks", action="store_true",
                        help="run every numbered scenario notebook in notebooks/ (not only the default list)")
    parser.add_argument("--no-rerun", action="store_true", help="skip `verify --rerun`")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the table (Markdown)")
    args = parser.parse_args()

    rows: list[tuple[str, float, str]] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="salesmodel-bench-") as tmp:
        tmp = Path(tmp)
        seconds, _ = timed(["sample", str(tmp / "demo")], REPO)
        rows.append(("salesmodel sample (full demo company)", seconds, ""))
        raw = yaml.safe_load(args.params.read_text(encoding="utf-8")) or {}
        raw.setdefault("data", {})["dir"] = str(tmp / "demo")
        if args.all_notebooks:
            raw["notebooks"] = scenario_notebooks()
        params = tmp / "params.yaml"
        params.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        from salesmodel.schema.params import load_params

        notebooks = ", ".join(Path(n).name.split("_")[0] for n in load_params(params).notebooks)
        seconds, out = timed(["validate", str(params)], REPO)
        sales_rows = re.search(r"sales\s+([\d,]+) rows", out).group(1)
        rows.append(("salesmodel validate", seconds, f"{sales_rows} sales rows"))
        seconds, out = timed(["run", str(params), "--out", str(tmp / "out"), "--quiet"], REPO)
        run_dir = Path(re.search(r"run folder:\s+(.+)", out).group(1).strip())
        files = [p for p in run_dir.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files) / 1e6
        rows.append((f"salesmodel run (notebooks {notebooks})", seconds, f"{len(files)} files, {size:.1f} MB"))
        seconds, _ = timed(["verify", str(run_dir)], REPO)
        rows.append(("salesmodel verify", seconds, "hashes of every file"))
        rows += step_seconds(params)
        if not args.no_rerun:
            seconds, out = timed(["verify", str(run_dir), "--rerun"], REPO)
            rows.append(("salesmodel verify --rerun", seconds, out.strip().splitlines()[0].split(": ", 1)[-1]))

    versions = {n: metadata.version(n) for n in ("salesmodel", "pandas", "numpy", "papermill", "nbconvert", "statsforecast")}
    lines = [
        "# Runs: the demo company end to end",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        f"- params: {args.params.name}" + (" with every numbered notebook" if args.all_notebooks else ""),
        "- wall-clock seconds of each command as a separate process (kernel start-up included).",
        f"- load average (1 min) before: {load_before[0]:.2f}, after: {os.getloadavg()[0]:.2f}"
        " (2 cores: above about 1 the machine was shared and figures are upper bounds).",
        "",
        "| command | seconds | note |",
        "|---|---:|---|",
        *[f"| {name} | {seconds:.1f} | {note} |" for name, seconds, note in rows],
        "",
        "Goal: `salesmodel run params/default.yaml` in at most 30 s on 2 quiet cores (it was 49 s).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
