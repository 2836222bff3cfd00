"""Soak and load check: nothing grows when plans run back to back or batches run side by side.

1. ``--plans N`` plans (default 20) back to back in one process through ``run_plan``: the
   process's resident memory, open files and child processes after each.
2. ``--batches N`` batches (default 3) started at once into one output folder, each of two
   scenarios: after them, every run is in the run log, the log's chain is intact, and no
   process of the batches is left.

    .venv/bin/python benchmarks/soak.py                 # the small test company (240 customers, 12 reps)
    .venv/bin/python benchmarks/soak.py --plans 5 --batches 2

Writes benchmarks/results/soak.md (machine, date, load average).
"""
from __future__ import annotations

import sys
from pathlib import Path

# a script beside this one must never shadow a standard-library module (calendar.py once did)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import gc
import json
import os
import platform
import subprocess
import tempfile
import time
from datetime import UTC, datetime

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "soak.md"
EXE = Path(sys.executable).with_name("salesmodel")
SMALL_COMPANY = dict(seed=7, n_customers=240, n_reps=12, start="2023-01-01", end="2026-10-31")


def write_params(path: Path, data_dir: Path, scenario: str) -> Path:
    raw = {"scenario": scenario, "seed": 1, "data": {"dir": str(data_dir)},
           "territory": {"balance_on": {"potential": 0.5, "workload": 0.5}, "max_disruption": None}}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def soak_plans(params_file: Path, n: int) -> list[dict]:
    from salesmodel import io
    from salesmodel.pipeline import run_plan
    from salesmodel.run import audit
    from salesmodel.schema.params import load_params

    me = psutil.Process()
    rows = []
    first_tables = None
    for i in range(1, n + 1):
        params = load_params(params_file)
        started = time.perf_counter()
        result = run_plan(params, io.read_inputs(params.data))
        seconds = time.perf_counter() - started
        hashes = {k: audit.frame_hash(v) for k, v in result.tables.items()}
        first_tables = first_tables or hashes
        del result
        gc.collect()
        rows.append({"plan": i, "seconds": round(seconds, 2), "rss_mb": round(me.memory_info().rss / 2**20, 1),
                     "open_files": len(me.open_files()), "fds": me.num_fds(),
                     "children": len(me.children(recursive=True)), "threads": me.num_threads(),
                     "same_tables": hashes == first_tables})
        print(rows[-1], flush=True)
    return rows


def concurrent_batches(data_dir: Path, work: Path, n: int) -> dict:
    from salesmodel.run import audit

    out = work / "out"
    procs = []
    for b in range(n):
        folder = work / f"batch{b}"
        folder.mkdir()
        files = [str(write_params(folder / f"s{s}.yaml", data_dir, f"b{b}s{s}")) for s in range(2)]
        procs.append(subprocess.Popen([str(EXE), "batch", *files, "--out", str(out), "--workers", "1", "--quiet"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    family = [c for p in procs for c in psutil.Process(p.pid).children(recursive=True)]
    started = time.perf_counter()
    codes = [p.wait() for p in procs]
    seconds = time.perf_counter() - started
    time.sleep(2)
    left = [c.pid for c in family if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    runs = sorted((out / "runs").iterdir())
    log = out / audit.RUN_LOG
    problems = []
    for run in runs:
        sha = audit.sha256_file(run / audit.MANIFEST)
        problems += audit.check_run_log(log, run.name, sha).problems
    return {"batches": n, "exit_codes": codes, "seconds": round(seconds, 1), "runs": len(runs),
            "log_lines": len(log.read_text().splitlines()), "chain_problems": len(problems),
            "processes_left": len(left)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=20)
    parser.add_argument("--batches", type=int, default=3)
    args = parser.parse_args()
    from salesmodel.sample import write_company

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "company"
        write_company(data, **SMALL_COMPANY)
        plans = soak_plans(write_params(work / "soak.yaml", data, "soak"), args.plans)
        batches = concurrent_batches(data, work, args.batches)
    load_after = os.getloadavg()
    grew = plans[-1]["rss_mb"] - plans[1]["rss_mb"] if len(plans) > 1 else 0.0
    lines = [
        "# Soak and load check",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load_before[0]:.1f} before and {load_after[0]:.1f} after; the small test company "
        f"({SMALL_COMPANY['n_customers']} customers, {SMALL_COMPANY['n_reps']} reps).",
        "",
        f"## {len(plans)} plans back to back in one process (`run_plan`)",
        "",
        "| plan | seconds | RSS MB | open files | fds | child processes | threads | same tables |",
        "|---:|---:|---:|---:|---:|---:|---:|:---|",
        *[f"| {r['plan']} | {r['seconds']} | {r['rss_mb']} | {r['open_files']} | {r['fds']} | {r['children']} | "
          f"{r['threads']} | {'yes' if r['same_tables'] else 'NO'} |" for r in plans],
        "",
        f"Resident memory from plan 2 to plan {len(plans)}: {grew:+.1f} MB; open files and child processes "
        f"{'constant' if len({(r['open_files'], r['children']) for r in plans}) == 1 else 'CHANGED'}.",
        "",
        f"## {batches['batches']} batches at once into one folder (two scenarios each)",
        "",
        "```",
        json.dumps(batches, indent=2),
        "```",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
