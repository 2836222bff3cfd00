"""Benchmark: one full run of the demo plan, and a batch of 8 scenarios on 2 workers.

Goal (issue 8): a batch of 8 with --workers 2 takes under 1.6 x (8/2) x one scenario's time.
Writes benchmarks/results/batch.md. Run from the repository root after `make demo`
(needs data/demo): python benchmarks/batch.py [--scenarios 8] [--workers 2]
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

import salesmodel
from salesmodel.run.batch import run_batch
from salesmodel.run.runner import run_scenario

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenarios", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    default = ROOT / "params" / "default.yaml"
    with tempfile.TemporaryDirectory(prefix="sm-bench-") as tmp:
        out = Path(tmp) / "out"
        t0 = time.perf_counter()
        run_scenario(default, out, progress=False)
        single = time.perf_counter() - t0
        raw = yaml.safe_load(default.read_text(encoding="utf-8"))
        raw["data"]["dir"] = str((default.parent / raw["data"]["dir"]).resolve())
        growths = [0.06 + 0.02 * i for i in range(args.scenarios)]
        raw["grid"] = {"targets.growth": growths}
        grid = Path(tmp) / "grid.yaml"
        grid.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        t0 = time.perf_counter()
        result = run_batch([grid], out, workers=args.workers, progress=True)
        batch = time.perf_counter() - t0
    budget = 1.6 * (args.scenarios / args.workers) * single
    rows = [
        ("one scenario (salesmodel run params/default.yaml)", f"{single:.1f} s", "< 180 s", "yes" if single < 180 else "NO"),
        (f"batch of {args.scenarios}, {args.workers} workers", f"{batch:.1f} s", f"< {budget:.1f} s (1.6 x {args.scenarios}/{args.workers} x one)",
         "yes" if batch < budget else "NO"),
        ("scenarios failed", str(len(result.failed)), "0", "yes" if not result.failed else "NO"),
    ]
    lines = [
        "# Batch benchmark",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; salesmodel {salesmodel.__version__}; Python {platform.python_version()}; "
        f"{os.cpu_count()} cores; {platform.machine()}",
        "",
        "| case | measured | goal | met |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "benchmarks" / "results" / "batch.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
