"""Benchmark: the whole plan at 1x, 10x, 30x and 100x the demo company.

Each size is written with `salesmodel sample DIR --customers N --reps R` and planned with
`salesmodel run` (the default params, territory tolerances the size can meet), each command a
process of its own, timed end to end with its peak memory (the largest resident set of the
process and its children, sampled every 0.2 s); per-step seconds come from the run's record.
A size the machine cannot hold is refused by `sample` in seconds: the table says so and gives
the size that fits. Results go to benchmarks/results/scale.md with machine, date and load.

    .venv/bin/python benchmarks/scale.py                 # 1x and 10x
    .venv/bin/python benchmarks/scale.py --sizes 1 10 30 100
"""
from __future__ import annotations

import sys
from pathlib import Path

# a script beside this one must never shadow a standard-library module (calendar.py once did)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import platform
import subprocess
import tempfile
import time
from datetime import UTC, datetime

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "scale.md"
EXE = Path(sys.executable).with_name("salesmodel")
DEMO = {"customers": 3000, "reps": 60}


def measured(args: list[str], cwd: Path) -> tuple[int, float, float, str]:
    """Exit status, seconds, peak resident GB (the process and its children) and stderr of one command."""
    started = time.perf_counter()
    # output to a file, not a pipe: a full pipe would stall the command being timed
    err_file = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([str(EXE), *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=err_file, text=True)
    peak = 0
    while proc.poll() is None:
        try:
            family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in family if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    err_file.seek(0)
    err = err_file.read()
    err_file.close()
    return proc.returncode, time.perf_counter() - started, peak / 1e9, err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10])
    args = parser.parse_args()
    rows = []
    load_before = os.getloadavg()
    for size in args.sizes:
        customers, reps = DEMO["customers"] * size, DEMO["reps"] * size
        with tempfile.TemporaryDirectory(prefix="salesmodel-scale-") as tmp:
            tmp = Path(tmp)
            code, s_sample, gb_sample, err = measured(
                ["sample", str(tmp / "data"), "--customers", str(customers), "--reps", str(reps)], REPO)
            if code != 0:
                rows.append((size, customers, reps, f"sample refused ({code}) in {s_sample:.1f} s: {err.strip()[:200]}"))
                print(rows[-1], flush=True)
                continue
            raw = yaml.safe_load((REPO / "params" / "default.yaml").read_text(encoding="utf-8"))
            raw["data"]["dir"] = str(tmp / "data")
            if size > 1:  # a tolerance a larger generated company can meet
                raw.setdefault("territory", {})["balance_on"] = {"potential": 0.6, "workload": 0.6}
            params = tmp / "params.yaml"
            params.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
            code, s_run, gb_run, err = measured(["run", str(params), "--out", str(tmp / "out"), "--quiet"], REPO)
            steps = ""
            runs = sorted((tmp / "out" / "runs").glob("*"))
            if runs:  # the run's record: each step's seconds and the peak memory
                import json

                resources = json.loads((runs[-1] / "manifest.json").read_text()).get("resources", {})
                steps = ", ".join(f"{k} {v:.0f}" for k, v in resources.get("step_seconds", {}).items())
            status = "ok" if code in (0, 3) else f"failed ({code}): {err.strip().splitlines()[-1][:160] if err.strip() else ''}"
            rows.append((size, customers, reps, f"sample {s_sample:.0f} s / {gb_sample:.1f} GB; run {s_run:.0f} s / "
                                                f"{gb_run:.1f} GB, {status}" + (f"; steps (s): {steps}" if steps else "")))
            print(rows[-1], flush=True)
    lines = [
        "# Scale: the whole plan at multiples of the demo company",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 1e9:.0f} GB; load average {load_before[0]:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after (2 cores: above about 1 the machine was shared).",
        "",
        "| size | customers | reps | measured |",
        "|---:|---:|---:|---|",
        *[f"| {s}x | {c:,} | {r:,} | {m} |" for s, c, r, m in rows],
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
