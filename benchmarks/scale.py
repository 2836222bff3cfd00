"""Benchmark: the whole plan at 1x, 10x, 30x and 100x the demo company.

Each size is written with `salesmodel sample DIR --customers N --reps R` and planned with
`salesmodel run` (the default params, territory tolerances the size can meet), each command a
process of its own, timed end to end with its peak memory (the memory of the process and its
children, shared pages counted once (PSS), sampled every 0.2 s); per-step seconds come from the run's record.
A size the machine cannot hold is refused by `sample` in seconds: the table says so and gives
the size that fits. Results go to benchmarks/results/scale.md with machine, date and load.

    .venv/bin/python benchmarks/scale.py                 # 1x and 10x
    .venv/bin/python benchmarks/scale.py --sizes 1 10 30 100 --engines local dask --dask-max-size 10 --limit-minutes 40

With ``--engines dask`` each size is also planned with `salesmodel run --scheduler` on a
2-worker `distributed.LocalCluster` started by this script (the tables are compared with the
local run's). A run longer than ``--limit-minutes`` is stopped; the table says in which step
(the steps whose tables were written by then) and after how long.
"""
from __future__ import annotations

import sys
from pathlib import Path

# a script beside this one must never shadow a standard-library module (calendar.py once did)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
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
RESULTS = REPO / "benchmarks" / "results" / "scale.md"
EXE = Path(sys.executable).with_name("salesmodel")
DEMO = {"customers": 3000, "reps": 60}
SEEN: list[str] = []  # the steps a watched run has written so far


def _resident(process: psutil.Process) -> int:
    """Memory a process holds, its pages shared with others (a forked worker's with its parent)
    counted once over all of them (PSS); the resident set where the system does not give it."""
    try:
        return int(process.memory_full_info().pss)
    except (AttributeError, psutil.AccessDenied):
        return int(process.memory_info().rss)


def measured(args: list[str], cwd: Path, limit_s: float | None = None,
             watch: Path | None = None) -> tuple[int, float, float, str]:
    """Exit status, seconds, peak resident GB (the process and its children) and stderr of one command
    (stopped with SIGTERM after ``limit_s`` seconds); ``watch``: a run's out folder, whose steps done so far
    are kept in ``SEEN`` (a stopped run removes its staging folder)."""
    started = time.perf_counter()
    # output to a file, not a pipe: a full pipe would stall the command being timed
    with tempfile.TemporaryFile(mode="w+") as err_file:
        proc = subprocess.Popen([str(EXE), *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=err_file, text=True)
        peak = 0
        while proc.poll() is None:
            try:
                family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
                peak = max(peak, sum(_resident(p) for p in family if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.2)
            if watch is not None and int(time.perf_counter() - started) % 5 == 0:
                SEEN[:] = steps_written(watch) or SEEN
            if limit_s is not None and time.perf_counter() - started > limit_s and proc.poll() is None:
                proc.terminate()
                proc.wait()
        err_file.seek(0)
        err = err_file.read()
    return proc.returncode, time.perf_counter() - started, peak / 1e9, err


def steps_written(out: Path) -> list[str]:
    """The steps whose tables a run (finished or still building) has written, in the plan's order."""
    from salesmodel.pipeline import STEPS
    from salesmodel.schema.tables import TABLES

    names = {p.stem for p in out.rglob("tables/*.parquet")}
    return [step for step in STEPS if any(spec.step == step and name in names for name, spec in TABLES.items())]


def plan(size: int, data: Path, tmp: Path, engine: str, scheduler: str | None,
         limit_s: float | None) -> tuple[str, Path]:
    """One run of the plan; its line in the table and its run folder."""
    raw = yaml.safe_load((REPO / "params" / "default.yaml").read_text(encoding="utf-8"))
    raw["data"]["dir"] = str(data)
    if size > 1:  # a tolerance a larger generated company can meet (up to 30x)
        # at 100x one account alone is 129% above a territory's mean potential (6,000 territories): no
        # tolerance the params take can be met, and the run is refused in seconds with what would work
        raw.setdefault("territory", {})["balance_on"] = {"potential": 0.6, "workload": 0.6}
    params = tmp / "params.yaml"
    params.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = tmp / f"out-{engine}"
    extra = ["--scheduler", scheduler] if scheduler else []
    SEEN.clear()
    code, s_run, gb_run, err = measured(["run", str(params), "--out", str(out), "--quiet", *extra], REPO, limit_s,
                                        watch=out)
    steps = ""
    runs = sorted((out / "runs").glob("*"))
    if runs:  # the run's record: each step's seconds and the peak memory
        resources = json.loads((runs[-1] / "manifest.json").read_text()).get("resources", {})
        steps = ", ".join(f"{k} {v:.0f}" for k, v in resources.get("step_seconds", {}).items())
    if code in (-15, 143) and limit_s is not None and s_run >= limit_s:  # stopped by the limit (SIGTERM)
        done = steps_written(out) or SEEN
        status = (f"stopped after {s_run / 60:.0f} min, steps done: {', '.join(done) or 'none'}"
                  f" (then {'the notebooks and the workbook' if len(done) == 7 else 'the next step'} were running)")
    else:
        status = "ok" if code in (0, 3) else f"failed ({code}): {err.strip().splitlines()[-1][:400] if err.strip() else ''}"
    line = f"{engine}: run {s_run:.0f} s / {gb_run:.1f} GB, {status}" + (f"; steps (s): {steps}" if steps else "")
    return line, runs[-1] if runs else out


def same_tables(a: Path, b: Path) -> str:
    """Whether two runs wrote the same tables, byte for byte (CSV)."""
    names = sorted(p.name for p in (a / "tables").glob("*.csv"))
    differ = [n for n in names if (a / "tables" / n).read_bytes() != (b / "tables" / n).read_bytes()]
    return f"tables identical to the local run's ({len(names)})" if not differ else f"tables differ: {differ[:5]}"


def write(rows: dict[int, tuple[int, int, str]], load_before: tuple[float, ...]) -> str:
    """``scale.md`` with this invocation's sizes, keeping the rows of sizes it did not measure
    (each row says when it was measured)."""
    kept: dict[int, str] = {}
    if RESULTS.exists():
        for line in RESULTS.read_text(encoding="utf-8").splitlines():
            if line.startswith("| ") and "x |" in line.split("|")[1] + "|":
                size = line.split("|")[1].strip().removesuffix("x")
                if size.isdigit() and int(size) not in rows:
                    kept[int(size)] = line
    now = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    table = {**kept, **{s: f"| {s}x | {c:,} | {r:,} | {now}: {m} |" for s, (c, r, m) in rows.items()}}
    lines = [
        "# Scale: the whole plan at multiples of the demo company",
        "",
        f"Last written {now}, {platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 1e9:.0f} GB; load average {load_before[0]:.1f} before, "
        f"{os.getloadavg()[0]:.1f} now (2 cores: above about 1 the machine was shared). Rows of sizes not measured "
        "in the last invocation are kept from earlier ones, with their own date.",
        "",
        "| size | customers | reps | measured |",
        "|---:|---:|---:|---|",
        *[table[s] for s in sorted(table)],
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--engines", nargs="+", default=["local"], choices=["local", "dask"])
    parser.add_argument("--dask-max-size", type=int, default=None,
                        help="plan on the Dask cluster only the sizes up to this one (default: every size)")
    parser.add_argument("--limit-minutes", type=float, default=None)
    args = parser.parse_args()
    limit_s = args.limit_minutes * 60 if args.limit_minutes else None
    rows: dict[int, tuple[int, int, str]] = {}
    load_before = os.getloadavg()
    for size in args.sizes:
        customers, reps = DEMO["customers"] * size, DEMO["reps"] * size
        with tempfile.TemporaryDirectory(prefix="salesmodel-scale-") as tmp:
            tmp = Path(tmp)
            code, s_sample, gb_sample, err = measured(
                ["sample", str(tmp / "data"), "--customers", str(customers), "--reps", str(reps)], REPO)
            if code != 0:
                rows[size] = (customers, reps, f"sample refused ({code}) in {s_sample:.1f} s: {err.strip()[:200]}")
                print(size, rows[size][-1], flush=True)
                write(rows, load_before)
                continue
            parts, folders = [f"sample {s_sample:.0f} s / {gb_sample:.1f} GB"], {}
            for engine in args.engines:
                if engine == "dask" and args.dask_max_size is not None and size > args.dask_max_size:
                    continue
                if engine == "dask":
                    from distributed import LocalCluster

                    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
                        line, folders[engine] = plan(size, tmp / "data", tmp, engine, cluster.scheduler_address,
                                                     limit_s)
                else:
                    line, folders[engine] = plan(size, tmp / "data", tmp, engine, None, limit_s)
                if engine == "dask" and "local" in folders and (folders["local"] / "tables").is_dir() \
                        and (folders["dask"] / "tables").is_dir():
                    line += "; " + same_tables(folders["local"], folders["dask"])
                parts.append(line)
                print(size, line, flush=True)
                rows[size] = (customers, reps, "<br>".join(parts))
                write(rows, load_before)  # after each run: a benchmark stopped later keeps what it measured
    print(write(rows, load_before))


if __name__ == "__main__":
    main()
