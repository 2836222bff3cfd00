"""The ``salesmodel`` command: parse, call the API, map errors to exit codes.

Exit status: 0 on success; 2 for bad input, params or an infeasible request
(``InputError``, ``ParamsError``, ``InfeasibleError``); 3 when a run completed
but could not meet a requirement it was given (each one is printed); 1 for
anything else; 130 after Ctrl-C and 143 after SIGTERM.
Errors print one message to stderr, bounded in length, without a traceback
unless ``--debug``.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from salesmodel import __version__
from salesmodel.errors import InfeasibleError, InputError, ParamsError, SalesmodelError

__all__ = ["build_parser", "main"]

_INPUT_KINDS = (InputError, ParamsError, InfeasibleError)
EXIT_UNMET = 3  # the run completed, but a requirement it was given is not met
_MAX_MESSAGE = 2000  # characters of one error message on the terminal


def _bounded(text: str, limit: int = _MAX_MESSAGE) -> str:
    """A message cut to ``limit`` characters (the start and the end kept), so a refusal stays readable."""
    text = str(text)
    if len(text) <= limit:
        return text
    head = text[: limit * 3 // 4].rstrip()
    tail = text[-limit // 5:].lstrip()
    return f"{head}\n  ... ({len(text) - len(head) - len(tail):,} characters left out) ...\n{tail}"


def _print_unmet(unmet: list[dict], where: str) -> None:
    print(f"completed with {len(unmet)} unmet requirement(s) ({where}):", file=sys.stderr)
    for item in unmet[:20]:
        step = f"[{item['step']}] " if item.get("step") else ""
        print(f"  - {step}{_bounded(str(item.get('message', '')), 300)}", file=sys.stderr)
    if len(unmet) > 20:
        print(f"  (and {len(unmet) - 20} more; see unmet.json in the run folder)", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salesmodel",
        description="Sales planning that adds up: run, verify and inspect scenario runs.",
        epilog="Exit status: 0 success, 2 bad input or params, 3 completed with unmet requirements, "
        "1 anything else.",
    )
    parser.add_argument("--version", action="version", version=f"salesmodel {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # --debug is accepted before or after the command
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    run = sub.add_parser("run", parents=[common], help="run the whole plan for one scenario")
    run.add_argument("params", type=Path, help="the scenario's params YAML")
    run.add_argument(
        "--out", type=Path, default=Path("outputs"),
        help="folder for run folders (default: ./outputs, relative to the current directory); "
        "runs land in OUT/runs/, failed notebooks in OUT/failed/",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    batch = sub.add_parser("batch", parents=[common], help="run many scenarios (files, or a grid) in parallel")
    batch.add_argument("params", type=Path, nargs="+", help="params YAML files; a file with a grid: section expands")
    batch.add_argument("--out", type=Path, default=Path("outputs"),
                       help="folder for run folders and OUT/batches/ (default: ./outputs)")
    batch.add_argument("--workers", type=int, default=2, help="local worker processes (default: 2)")
    batch.add_argument("--scheduler", default=None, help="Dask scheduler address, e.g. tcp://host:8786")
    batch.add_argument("--quiet", action="store_true", help="no progress bar")
    batch.add_argument("--reference", default="",
                       help="the scenario the others are compared with (default: the first)")

    verify = sub.add_parser("verify", parents=[common], help="check a run folder against its manifest")
    verify.add_argument("run_dir", type=Path, help="a run folder printed by `salesmodel run`")
    verify.add_argument("--rerun", action="store_true", help="also execute the run again and compare every table exactly")
    verify.add_argument("--log", type=Path, default=None, dest="run_log",
                        help="the run log to check the manifest against (default: OUT/runs.log beside OUT/runs/)")

    sample = sub.add_parser("sample", parents=[common], help="write the demo company's data files")
    sample.add_argument("dir", type=Path, help="folder to write into (created if missing)")
    sample.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    sample.add_argument("--customers", type=int, default=3000, help="number of customers (default: 3000)")
    sample.add_argument("--reps", type=int, default=60, help="number of sales reps (default: 60)")
    sample.add_argument("--start", default="2023-01-01", help="first day of history (default: 2023-01-01)")
    sample.add_argument("--end", default="2026-10-31", help="last day of history (default: 2026-10-31)")
    sample.add_argument("--actuals-to", default="auto", metavar="DATE",
                        help="also write the plan year's sales from 1 January to DATE (actuals.parquet) and a stock "
                             "count (stock.csv), which params/default.yaml tracks; default 'auto': the end of the "
                             "fifth month after --end (2027-03-31 for the default history); 'none': neither")

    validate = sub.add_parser("validate", parents=[common], help="check params and inputs, run nothing")
    validate.add_argument("params", type=Path, help="the scenario's params YAML")

    lab = sub.add_parser("lab", parents=[common], help="open JupyterLab on the notebooks, the latest run loaded")
    lab.add_argument("params", type=Path, nargs="?", default=Path("params/default.yaml"),
                     help="the scenario's params YAML (default: params/default.yaml)")
    lab.add_argument("--out", type=Path, default=Path("outputs"), help="the outputs folder (default: ./outputs)")
    lab.add_argument("--port", type=int, default=8888,
                     help="port on 127.0.0.1 (default: 8888; when it is in use, the next free one)")
    lab.add_argument("--no-start", action="store_true", help="prepare the workspace, do not start JupyterLab")

    notebooks = sub.add_parser("notebooks", parents=[common],
                               help="copy the notebooks and a params file into a folder to open in JupyterLab")
    notebooks.add_argument("dir", type=Path, help="folder to copy into (created if missing; nothing in it is overwritten)")

    edits = sub.add_parser("import-edits", parents=[common], help="read a planner's edited plan workbook back")
    edits.add_argument("run_dir", type=Path, help="the run folder the workbook came from")
    edits.add_argument("workbook", type=Path, help="the edited plan.xlsx")
    edits.add_argument("--out", type=Path, default=None, help="folder to hold the edited run's folder (default: edits/ in the run's outputs folder)")
    return parser


def _cmd_import_edits(args: argparse.Namespace) -> int:
    from salesmodel.run.edits import import_edits

    folder = import_edits(args.run_dir, args.workbook, args.out)
    print(f"re-balanced plan and adjustments: {folder}")
    print(f"  the edited plan flowed through (customer × dekad plan, staffing, summary, pages, plan.xlsx); "
          f"check it with: salesmodel verify {folder}")
    from salesmodel.run import audit

    unmet = audit.read_unmet(folder)
    if unmet:  # as for a run: the edited plan completed, a requirement it was given is not met
        _print_unmet(unmet, str(folder))
        return EXIT_UNMET
    return 0


def _say(key: str, language: str = "en", **fields: object) -> str:
    """A sentence of the command line from the vocabulary."""
    from salesmodel.schema.vocabulary import word

    return word(key, language).format(**fields)


_PORT_TRIES = 50  # ports tried after the one asked for before giving up


def _free_port(port: int, host: str = "127.0.0.1") -> int:
    """``port`` when nothing listens on it, else the next free one (a second lab, a notebook server left running)."""
    import socket

    for candidate in range(port, min(port + _PORT_TRIES, 65535) + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, candidate))
            except OSError:
                continue
            return candidate
    raise ParamsError(_say("cli_no_free_port", port=port, last=min(port + _PORT_TRIES, 65535)))


def _cmd_notebooks(args: argparse.Namespace) -> int:
    """Copy the notebooks and the default params into DIR, laid out as the checkout (notebooks/, params/)."""
    import shutil

    from salesmodel.run.notebooks import default_params_file, notebook_dirs

    target = args.dir
    if target.exists() and not target.is_dir():
        raise ParamsError(_say("cli_notebooks_not_dir", dir=target))
    source = next((d for d in notebook_dirs() if d.is_dir() and any(d.glob("*.ipynb"))), None)
    params_src = default_params_file()
    if source is None or params_src is None:
        where = ", ".join(str(d) for d in notebook_dirs())
        raise ParamsError(_say("cli_notebooks_missing", where=where))
    params_rel = Path("params") / "default.yaml"
    copies = {Path("notebooks") / nb.name: nb for nb in sorted(source.glob("*.ipynb"))}
    present = [str(rel) for rel in [*copies, params_rel] if (target / rel).exists()]
    if present:  # all or nothing: a planner's edited notebook is never replaced
        from salesmodel.errors import short_list

        raise ParamsError(_say("cli_notebooks_exist", dir=target, files=short_list(present)))
    (target / "notebooks").mkdir(parents=True, exist_ok=True)
    (target / "params").mkdir(exist_ok=True)
    for rel, src in copies.items():
        shutil.copyfile(src, target / rel)
    # The shipped default.yaml reads ../data/demo (relative to itself), so the layout keeps it valid;
    # the header says how to point it at a company's own data.
    (target / params_rel).write_text(_say("params_copied_header") + params_src.read_text(encoding="utf-8"),
                                     encoding="utf-8")
    print(_say("cli_notebooks_copied", count=len(copies) + 1, dir=target, params=params_rel))
    print(_say("cli_notebooks_next", dir=target, params=params_rel))
    return 0


def _cmd_lab(args: argparse.Namespace) -> int:
    """Prepare the scenario's interactive workspace from its latest run, then start JupyterLab on 127.0.0.1."""
    import os
    import shutil

    from salesmodel.run.notebooks import notebook_dirs
    from salesmodel.run.workspace import WORKSPACE_ENV, latest_run, open_run, seed_from_run
    from salesmodel.schema.params import load_params

    scenario = load_params(args.params)
    os.environ[WORKSPACE_ENV] = str((args.out / "lab").resolve())
    ws = open_run(args.params, "")
    run = latest_run(args.out, scenario.scenario)
    if run is not None:
        kept = seed_from_run(ws, run)
        print(f"workspace {ws.run_dir}: tables of {run.name} ({len(kept)} of the steps current for these params)")
    else:
        print(f"workspace {ws.run_dir}: no run of '{scenario.scenario}' in {args.out / 'runs'} yet; "
              "the notebooks compute each step when opened")
    # the planner's own copy (`salesmodel notebooks DIR`, or the checkout) before the installed one
    notebooks = next((d for d in [Path.cwd() / "notebooks", *notebook_dirs()] if d.is_dir()), None)
    _save_widget_state_setting()
    port = _free_port(args.port)
    if port != args.port:
        print(_say("cli_port_taken", port=args.port, free=port))
    if args.no_start:
        return 0
    if shutil.which("jupyter-lab") is None and not (Path(sys.executable).parent / "jupyter-lab").exists():
        raise ParamsError("JupyterLab is not installed in this environment; `make demo` installs it (extra 'lab').")
    cmd = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0", "--no-browser",
           f"--ServerApp.root_dir={notebooks}"]
    if os.name == "posix":
        # kernels on local sockets: nothing on a TCP port, and no "running over TCP" warning in the planner's terminal
        cmd.append("--KernelManager.transport=ipc")
        from jupyter_core.paths import jupyter_runtime_dir

        # a socket's path may not exceed 107 bytes: a deep runtime folder gets a short one of its own
        if len(jupyter_runtime_dir()) > 50:
            import tempfile

            os.environ["JUPYTER_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="salesmodel-lab-")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI machines and containers run as root
    print(_say("cli_lab_port", port=port), flush=True)
    os.execv(sys.executable, cmd)
    return 0  # pragma: no cover - execv does not return


def _save_widget_state_setting() -> None:
    """JupyterLab saves the explorers' widget state with the notebook (an override in this environment)."""
    import json

    path = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    try:
        current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        current = {}
    current.setdefault("@jupyter-widgets/jupyterlab-manager:plugin", {})["saveState"] = True
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2), encoding="utf-8")


def _cmd_run(args: argparse.Namespace) -> int:
    from salesmodel.run.runner import run_scenario

    result = run_scenario(args.params, args.out, progress=not args.quiet)
    print(f"run folder:      {result.run_dir}")
    print(f"leadership HTML: {result.leadership_html}")
    print(f"manifest sha256: {result.manifest_sha256} (recorded in {Path(args.out) / 'runs.log'})")
    if result.unmet:
        _print_unmet(result.unmet, str(result.run_dir))
        return EXIT_UNMET
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from salesmodel.run.batch import run_batch

    if args.workers < 1:
        raise ParamsError(f"The '--workers' option must be at least 1. Got {args.workers} instead.")
    result = run_batch(args.params, args.out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet,
                       reference=args.reference)
    print(f"batch folder: {result.batch_dir}")
    if result.comparison_html is not None:
        print(f"comparison page: {result.comparison_html} (reference: {result.reference})")
    for outcome in result.outcomes:
        where = outcome.run_dir if outcome.status in ("ok", "unmet") else _bounded(outcome.error or "", 300)
        print(f"  {outcome.status:<6} {outcome.name}: {where}")
        for item in getattr(outcome, "unmet", None) or []:
            print(f"         unmet: {_bounded(str(item.get('message', '')), 300)}")
    if result.ok:
        unmet = [o for o in result.outcomes if o.status == "unmet"]
        if unmet:
            print(f"{len(unmet)} of {len(result.outcomes)} scenario(s) completed with unmet requirements",
                  file=sys.stderr)
            return EXIT_UNMET
        return 0
    print(f"{len(result.failed)} of {len(result.outcomes)} scenario(s) failed", file=sys.stderr)
    input_kinds = {k.__name__ for k in _INPUT_KINDS}
    return 2 if all(o.error_kind in input_kinds for o in result.failed) else 1


def _cmd_verify(args: argparse.Namespace) -> int:
    from salesmodel.run.verify import verify

    report = verify(args.run_dir, rerun=args.rerun, run_log=args.run_log,
                    log=lambda line: print(line, file=sys.stderr, flush=True))
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def _available_memory() -> float | None:
    """Bytes of memory this machine can give a new process now (Linux: MemAvailable), else None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _check_sample_size(args: argparse.Namespace, *, with_actuals: bool) -> None:
    """Refuse, in seconds and naming the options, a company the machine cannot hold while it is written."""
    from salesmodel.sample import MAX_REPS, estimated_peak_bytes

    if not 5 <= args.reps <= MAX_REPS:
        raise ParamsError(f"sample --reps: expected a number of reps from 5 to {MAX_REPS:,}, got {args.reps:,}")
    if not args.reps <= args.customers <= 5_000_000:
        raise ParamsError(f"sample --customers: expected at least as many customers as reps ({args.reps:,}) and at "
                          f"most 5,000,000, got {args.customers:,}")
    available = _available_memory()
    try:
        need = estimated_peak_bytes(args.customers, args.start, args.end, with_actuals=with_actuals)
    except ValueError:
        return  # a bad date: make_company names it
    if available is None or need <= 0.8 * available:
        return
    per_customer = (estimated_peak_bytes(1000, args.start, args.end, with_actuals=with_actuals)
                    - estimated_peak_bytes(0, args.start, args.end, with_actuals=with_actuals)) / 1000
    fits = int((0.8 * available - estimated_peak_bytes(0, args.start, args.end)) / per_customer) // 1000 * 1000
    raise ParamsError(f"sample --customers {args.customers:,}: writing this company needs about {need / 1e9:,.1f} GB "
                      f"of memory and this machine has {available / 1e9:,.1f} GB available; --customers "
                      f"{max(fits, 0):,} fits (nothing was written)")


def _cmd_sample(args: argparse.Namespace) -> int:
    from salesmodel.sample import write_company

    started = time.perf_counter()
    actuals_to = args.actuals_to
    if actuals_to == "none":
        actuals_to = None
    elif actuals_to == "auto":  # the default params track January to March of the plan year
        import pandas as pd

        try:
            actuals_to = (pd.Timestamp(args.end) + pd.offsets.MonthEnd(5)).date().isoformat()
        except ValueError:
            raise ParamsError(f"sample --end: expected a date such as 2026-10-31, got {args.end!r}") from None
    _check_sample_size(args, with_actuals=actuals_to is not None)
    paths = write_company(
        args.dir, seed=args.seed, n_customers=args.customers, n_reps=args.reps, start=args.start, end=args.end,
        actuals_to=actuals_to,
    )
    for key, path in paths.items():
        size = Path(path).stat().st_size / 1e6 if Path(path).is_file() else 0.0
        print(f"{key:<10} {path} ({size:.1f} MB)")
    print(f"demo company written to {args.dir} in {time.perf_counter() - started:.1f} s")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from salesmodel.run.runner import check_scenario
    from salesmodel.schema.params import params_hash

    checked = check_scenario(args.params)
    scenario, notebooks, inputs = checked.scenario, checked.notebooks, checked.inputs
    data = scenario.data
    print(f"params:    {args.params} (scenario '{scenario.scenario}', params hash {params_hash(scenario)[:8]})")
    print(f"data:      {data.sql_url and 'SQL database' or data.dir}")
    for key, frame in inputs.items():
        line = f"  {key:<10} {len(frame):>10,} rows"
        if "date" in getattr(frame, "columns", []) and len(frame):
            line += f"   {frame['date'].min():%Y-%m-%d} … {frame['date'].max():%Y-%m-%d}"
        print(line)
    cal = scenario.calendar
    print(f"plan year: {cal.plan_year}, {cal.country} holidays: {checked.holiday_status}"
          + (f" (company overrides: {len(checked.holiday_overrides)} days)" if checked.holiday_overrides is not None else ""))
    if checked.holiday_status in ("estimated", "unconfirmed", "unsupported"):
        print(f"  note: the installed holidays package has no official {cal.country} schedule for {cal.plan_year}; "
              "working days are estimated until the make-up days are added to calendar.holiday_overrides")
    print(f"notebooks: {', '.join(nb.name for nb in notebooks)}")
    print("OK: params and inputs are valid; nothing was run.")
    return 0


def _missing_data_hint(args: argparse.Namespace) -> str:
    """When a scenario's data folder holds none of its files, say how to get the demo company."""
    params = getattr(args, "params", None)
    if not isinstance(params, Path):
        return ""
    try:
        from salesmodel.run.audit import input_files
        from salesmodel.schema.params import load_params

        scenario = load_params(params)
    except SalesmodelError:
        return ""
    if scenario.data.sql_url or input_files(scenario):
        return ""
    return f"\nhint: `salesmodel sample {scenario.data.dir}` writes the demo company there (or `make demo`)"


_COMMANDS = {"run": _cmd_run, "batch": _cmd_batch, "verify": _cmd_verify, "sample": _cmd_sample, "validate": _cmd_validate,
             "import-edits": _cmd_import_edits, "lab": _cmd_lab, "notebooks": _cmd_notebooks}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``salesmodel`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except _INPUT_KINDS as exc:
        hint = _missing_data_hint(args) if isinstance(exc, InputError) else ""
        print(f"error: {_bounded(str(exc))}{hint}", file=sys.stderr)
        return 2
    except SalesmodelError as exc:
        print(f"error: {_bounded(str(exc))}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 1)) if getattr(exc, "exit_code", 1) in (1, 2) else 1
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", None)
        print("terminated; nothing was left half-written" if signum else "interrupted", file=sys.stderr)
        return 128 + int(signum) if signum else 130
    except Exception as exc:  # noqa: BLE001 - the one place unexpected errors become an exit code
        if args.debug:
            import traceback

            traceback.print_exc()
        else:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            print(f"unexpected error: {type(exc).__name__}: {_bounded(first, 300)} (run with --debug for the traceback)",
                  file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
