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
from salesmodel.errors import InfeasibleError, InputError, ParamsError, SalesmodelError, short_list
from salesmodel.pipeline.run_folder import PARAMS_FILE
from salesmodel.run import audit, batch, notebooks, runner, verify, workspace
from salesmodel.run.edits import import_edits
from salesmodel.run.language import reader_language
from salesmodel.run.machine import available_memory
from salesmodel.sample import MAX_REPS, estimated_peak_bytes, write_company
from salesmodel.schema.params import load_params, params_hash
from salesmodel.schema.vocabulary import LANGUAGES, has_word, word

__all__ = ["build_parser", "main"]

_INPUT_KINDS = (InputError, ParamsError, InfeasibleError)
EXIT_UNMET = 3  # the run completed, but a requirement it was given is not met
_MAX_MESSAGE = 2000  # characters of one error message on the terminal


# The reader's language of everything printed: set by main() from --lang, the params, the environment.
_LANG = ["en"]


def _say(key: str, /, **fields: object) -> str:
    """A sentence of the command line from the vocabulary, in the reader's language."""
    return word(key, _LANG[0]).format(**fields)


def _bounded(text: str, limit: int = _MAX_MESSAGE) -> str:
    """A message cut to ``limit`` characters (the start and the end kept), so a refusal stays readable."""
    text = str(text)
    if len(text) <= limit:
        return text
    head = text[: limit * 3 // 4].rstrip()
    tail = text[-limit // 5:].lstrip()
    return f"{head}\n{_say('cli_left_out', n=len(text) - len(head) - len(tail))}\n{tail}"


def _unmet_text(item: dict) -> str:
    """One unmet requirement in words, from its codes and values (the recorded message when it has none)."""
    requirement, asked, achieved = str(item.get("requirement", "")), item.get("asked"), item.get("achieved")
    sentence = None
    if isinstance(asked, (int, float)) and isinstance(achieved, (int, float)):
        if requirement.startswith("territory.balance_on."):
            measure = requirement.rsplit(".", 1)[1]
            measure = _say(measure) if has_word(measure) else measure
            sentence = _say("cli_unmet_territory", measure=measure, achieved=achieved, asked=asked)
        elif requirement == "staffing.max_hires_per_month":
            sentence = _say("risk_unmet_staffing", asked=asked, n=int(achieved))
        elif requirement == "staffing.max_starts_per_month":
            sentence = _say("cli_unmet_starts", asked=asked, n=int(achieved))
    if sentence is None:
        sentence = _bounded(str(item.get("message", "")), 300)
    return f"[{requirement}] {sentence}" if requirement else sentence


def _print_unmet(unmet: list[dict], where: str) -> None:
    print(_say("cli_unmet_head", n=len(unmet), where=where), file=sys.stderr)
    for item in unmet[:20]:
        print(f"  - {_unmet_text(item)}", file=sys.stderr)
    if len(unmet) > 20:
        print(_say("cli_unmet_more", n=len(unmet) - 20), file=sys.stderr)


def build_parser(language: str = "en") -> argparse.ArgumentParser:
    """The command line's parser; its help in ``language``."""
    def h(key: str) -> str:
        return word(f"cli_help_{key}", language)

    parser = argparse.ArgumentParser(prog="salesmodel", description=h("description"), epilog=h("epilog"))
    parser.add_argument("--version", action="version", version=f"salesmodel {__version__}")
    parser.add_argument("--debug", action="store_true", help=h("debug"))
    parser.add_argument("--lang", choices=LANGUAGES, default=None, help=h("lang"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # --debug and --lang are accepted before or after the command
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    run = sub.add_parser("run", parents=[common], help=h("run"))
    run.add_argument("params", type=Path, help=h("params"))
    run.add_argument("--out", type=Path, default=Path("outputs"), help=h("run_out"))
    run.add_argument("--scheduler", default=None, metavar="ADDRESS", help=h("run_scheduler"))
    run.add_argument("--quiet", action="store_true", help=h("quiet"))

    batch = sub.add_parser("batch", parents=[common], help=h("batch"))
    batch.add_argument("params", type=Path, nargs="+", help=h("batch_params"))
    batch.add_argument("--out", type=Path, default=Path("outputs"), help=h("batch_out"))
    batch.add_argument("--workers", type=int, default=2, help=h("workers"))
    batch.add_argument("--scheduler", default=None, help=h("scheduler"))
    batch.add_argument("--quiet", action="store_true", help=h("quiet"))
    batch.add_argument("--reference", default="", help=h("reference"))

    verify = sub.add_parser("verify", parents=[common], help=h("verify"))
    verify.add_argument("run_dir", type=Path, help=h("verify_run_dir"))
    verify.add_argument("--rerun", action="store_true", help=h("rerun"))
    verify.add_argument("--log", type=Path, default=None, dest="run_log", help=h("log"))

    sample = sub.add_parser("sample", parents=[common], help=h("sample"))
    sample.add_argument("dir", type=Path, help=h("sample_dir"))
    sample.add_argument("--seed", type=int, default=42, help=h("seed"))
    sample.add_argument("--customers", type=int, default=3000, help=h("customers"))
    sample.add_argument("--reps", type=int, default=60, help=h("reps"))
    sample.add_argument("--start", default="2023-01-01", help=h("start"))
    sample.add_argument("--end", default="2026-10-31", help=h("end"))
    sample.add_argument("--actuals-to", default="auto", metavar="DATE", help=h("actuals_to"))

    validate = sub.add_parser("validate", parents=[common], help=h("validate"))
    validate.add_argument("params", type=Path, help=h("params"))

    lab = sub.add_parser("lab", parents=[common], help=h("lab"))
    lab.add_argument("params", type=Path, nargs="?", default=Path("params/default.yaml"), help=h("lab_params"))
    lab.add_argument("--out", type=Path, default=Path("outputs"), help=h("lab_out"))
    lab.add_argument("--port", type=int, default=8888, help=h("port"))
    lab.add_argument("--no-start", action="store_true", help=h("no_start"))

    notebooks = sub.add_parser("notebooks", parents=[common], help=h("notebooks"))
    notebooks.add_argument("dir", type=Path, help=h("notebooks_dir"))

    edits = sub.add_parser("import-edits", parents=[common], help=h("edits"))
    edits.add_argument("run_dir", type=Path, help=h("edits_run_dir"))
    edits.add_argument("workbook", type=Path, help=h("edits_workbook"))
    edits.add_argument("--out", type=Path, default=None, help=h("edits_out"))
    return parser


def _cmd_import_edits(args: argparse.Namespace) -> int:
    folder = import_edits(args.run_dir, args.workbook, args.out)
    print(_say("cli_edits_done", folder=folder))
    print(_say("cli_edits_next", folder=folder))
    unmet = audit.read_unmet(folder)
    if unmet:  # as for a run: the edited plan completed, a requirement it was given is not met
        _print_unmet(unmet, str(folder))
        return EXIT_UNMET
    return 0


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

    target = args.dir
    if target.exists() and not target.is_dir():
        raise ParamsError(_say("cli_notebooks_not_dir", dir=target))
    source = next((d for d in notebooks.notebook_dirs() if d.is_dir() and any(d.glob("*.ipynb"))), None)
    params_src = notebooks.default_params_file()
    if source is None or params_src is None:
        where = ", ".join(str(d) for d in notebooks.notebook_dirs())
        raise ParamsError(_say("cli_notebooks_missing", where=where))
    params_rel = Path("params") / "default.yaml"
    copies = {Path("notebooks") / nb.name: nb for nb in sorted(source.glob("*.ipynb"))}
    present = [str(rel) for rel in [*copies, params_rel] if (target / rel).exists()]
    if present:  # all or nothing: a planner's edited notebook is never replaced
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

    scenario = load_params(args.params)
    os.environ[workspace.WORKSPACE_ENV] = str((args.out / "lab").resolve())
    ws = workspace.open_run(args.params, "")
    run = workspace.latest_run(args.out, scenario.scenario)
    if run is not None:
        kept = workspace.seed_from_run(ws, run)
        print(_say("cli_lab_seeded", ws=ws.run_dir, run=run.name, kept=len(kept)))
    else:
        print(_say("cli_lab_empty", ws=ws.run_dir, scenario=scenario.scenario, runs=args.out / "runs"))
    # the planner's own copy (`salesmodel notebooks DIR`, or the checkout) before the installed one
    folder = next((d for d in [Path.cwd() / "notebooks", *notebooks.notebook_dirs()] if d.is_dir()), None)
    _save_widget_state_setting()
    port = _free_port(args.port)
    if port != args.port:
        print(_say("cli_port_taken", port=args.port, free=port))
    if args.no_start:
        return 0
    if shutil.which("jupyter-lab") is None and not (Path(sys.executable).parent / "jupyter-lab").exists():
        raise ParamsError(_say("cli_lab_missing"))
    cmd = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0", "--no-browser",
           f"--ServerApp.root_dir={folder}"]
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
    result = runner.run_scenario(args.params, args.out, progress=not args.quiet, scheduler=args.scheduler,
                                 language=_LANG[0])
    print(_say("cli_run_folder", path=result.run_dir))
    print(_say("cli_run_html", path=result.leadership_html))
    print(_say("cli_run_manifest", sha=result.manifest_sha256, log=Path(args.out) / audit.RUN_LOG))
    if result.unmet:
        _print_unmet(result.unmet, str(result.run_dir))
        return EXIT_UNMET
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise ParamsError(_say("cli_workers_min", n=args.workers))
    result = batch.run_batch(args.params, args.out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet,
                       reference=args.reference)
    print(_say("cli_batch_folder", path=result.batch_dir))
    if result.comparison_html is not None:
        print(_say("cli_batch_comparison", path=result.comparison_html, reference=result.reference))
    for outcome in result.outcomes:
        where = outcome.run_dir if outcome.status in ("ok", "unmet") else _bounded(outcome.error or "", 300)
        status = _say(f"cli_status_{outcome.status}") if has_word(f"cli_status_{outcome.status}") else outcome.status
        print(f"  {status:<6} {outcome.name}: {where}")
        for item in getattr(outcome, "unmet", None) or []:
            print(_say("cli_batch_unmet_item", message=_unmet_text(item)))
    if result.ok:
        unmet = [o for o in result.outcomes if o.status == "unmet"]
        if unmet:
            print(_say("cli_batch_unmet", n=len(unmet), total=len(result.outcomes)), file=sys.stderr)
            return EXIT_UNMET
        return 0
    print(_say("cli_batch_failed", n=len(result.failed), total=len(result.outcomes)), file=sys.stderr)
    input_kinds = {k.__name__ for k in _INPUT_KINDS}
    return 2 if all(o.error_kind in input_kinds for o in result.failed) else 1


def _cmd_verify(args: argparse.Namespace) -> int:
    report = verify.verify(args.run_dir, rerun=args.rerun, run_log=args.run_log, language=_LANG[0],
                           log=lambda line: print(line, file=sys.stderr, flush=True))
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def _check_sample_size(args: argparse.Namespace, *, with_actuals: bool) -> None:
    """Refuse, in seconds and naming the options, a company the machine cannot hold while it is written."""
    if not 5 <= args.reps <= MAX_REPS:
        raise ParamsError(_say("cli_sample_reps", max=MAX_REPS, n=args.reps))
    if not args.reps <= args.customers <= 5_000_000:
        raise ParamsError(_say("cli_sample_customers", reps=args.reps, n=args.customers))
    available = available_memory()
    try:
        need = estimated_peak_bytes(args.customers, args.start, args.end, with_actuals=with_actuals)
    except ValueError:
        return  # a bad date: make_company names it
    if available is None or need <= 0.8 * available:
        return
    per_customer = (estimated_peak_bytes(1000, args.start, args.end, with_actuals=with_actuals)
                    - estimated_peak_bytes(0, args.start, args.end, with_actuals=with_actuals)) / 1000
    fits = int((0.8 * available - estimated_peak_bytes(0, args.start, args.end)) / per_customer) // 1000 * 1000
    raise ParamsError(_say("cli_sample_memory", n=args.customers, need=need / 1e9, available=available / 1e9,
                           fits=max(fits, 0)))


def _cmd_sample(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    actuals_to = args.actuals_to
    if actuals_to == "none":
        actuals_to = None
    elif actuals_to == "auto":  # the default params track January to March of the plan year
        import pandas as pd

        try:
            actuals_to = (pd.Timestamp(args.end) + pd.offsets.MonthEnd(5)).date().isoformat()
        except ValueError:
            raise ParamsError(_say("cli_sample_end", value=args.end)) from None
    _check_sample_size(args, with_actuals=actuals_to is not None)
    paths = write_company(
        args.dir, seed=args.seed, n_customers=args.customers, n_reps=args.reps, start=args.start, end=args.end,
        actuals_to=actuals_to,
    )
    for key, path in paths.items():
        size = Path(path).stat().st_size / 1e6 if Path(path).is_file() else 0.0
        print(_say("cli_sample_file", key=key, path=path, size=size))
    print(_say("cli_sample_done", dir=args.dir, seconds=time.perf_counter() - started))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    checked = runner.check_scenario(args.params)
    scenario, nb_paths, inputs = checked.scenario, checked.notebooks, checked.inputs
    data = scenario.data
    print(_say("cli_validate_params", file=args.params, scenario=scenario.scenario, hash=params_hash(scenario)[:8]))
    print(_say("cli_validate_data", where=_say("cli_validate_sql") if data.sql_url else data.dir))
    for key, frame in inputs.items():
        line = _say("cli_validate_rows", key=key, rows=len(frame))
        if "date" in getattr(frame, "columns", []) and len(frame):
            line += _say("cli_validate_dates", first=f"{frame['date'].min():%Y-%m-%d}", last=f"{frame['date'].max():%Y-%m-%d}")
        print(line)
    cal = scenario.calendar
    print(_say("cli_validate_plan_year", year=cal.plan_year, country=cal.country, status=checked.holiday_status)
          + (_say("cli_validate_overrides", n=len(checked.holiday_overrides)) if checked.holiday_overrides is not None else ""))
    if checked.holiday_status in ("estimated", "unconfirmed", "unsupported"):
        print(_say("cli_validate_estimated", country=cal.country, year=cal.plan_year))
    print(_say("cli_validate_notebooks", names=", ".join(nb.name for nb in nb_paths)))
    print(_say("cli_validate_ok"))
    return 0


def _missing_data_hint(args: argparse.Namespace) -> str:
    """When a scenario's data folder holds none of its files, say how to get the demo company."""
    params = getattr(args, "params", None)
    if not isinstance(params, Path):
        return ""
    try:
        scenario = load_params(params)
    except SalesmodelError:
        return ""
    if scenario.data.sql_url or audit.input_files(scenario):
        return ""
    return "\n" + _say("cli_hint_sample", dir=scenario.data.dir)


def _language(args: argparse.Namespace) -> str:
    """The reader's language: --lang, else the params' report.language (the scenario's, the batch's first, or
    the run folder's for verify and import-edits), else the environment's, else en."""
    params = getattr(args, "params", None)
    if isinstance(params, list):
        params = params[0] if params else None
    if params is None and isinstance(getattr(args, "run_dir", None), Path):
        params = args.run_dir / PARAMS_FILE
    return reader_language(getattr(args, "lang", None), params)


_COMMANDS = {"run": _cmd_run, "batch": _cmd_batch, "verify": _cmd_verify, "sample": _cmd_sample, "validate": _cmd_validate,
             "import-edits": _cmd_import_edits, "lab": _cmd_lab, "notebooks": _cmd_notebooks}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``salesmodel`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # the help is said before the params are read: --lang, else the environment's
    asked = [a.split("=", 1)[1] for a in argv if a.startswith("--lang=")]
    asked += [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--lang"]
    parser = build_parser(reader_language(asked[-1] if asked else None))
    args = parser.parse_args(argv)
    _LANG[0] = _language(args)
    try:
        return _COMMANDS[args.command](args)
    except _INPUT_KINDS as exc:
        hint = _missing_data_hint(args) if isinstance(exc, InputError) else ""
        print(_say("cli_error", message=f"{_bounded(str(exc))}{hint}"), file=sys.stderr)
        return 2
    except SalesmodelError as exc:
        print(_say("cli_error", message=_bounded(str(exc))), file=sys.stderr)
        return int(getattr(exc, "exit_code", 1)) if getattr(exc, "exit_code", 1) in (1, 2) else 1
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", None)
        print(_say("cli_terminated" if signum else "cli_interrupted"), file=sys.stderr)
        return 128 + int(signum) if signum else 130
    except Exception as exc:  # noqa: BLE001 - the one place unexpected errors become an exit code
        if args.debug:
            import traceback

            traceback.print_exc()
        else:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            print(_say("cli_unexpected", kind=type(exc).__name__, message=_bounded(first, 300)), file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
