"""Importing a planner's edited workbook: the edited plan flows through the pipeline again and is
written, with its pages, as a new run folder (``salesmodel import-edits``)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from salesmodel.errors import InputError, RunError
from salesmodel.io import write_table
from salesmodel.paths import child, is_run_id, shorten
from salesmodel.pipeline import run_edited
from salesmodel.pipeline.edits import Edits, apply_edits, read_edits
from salesmodel.pipeline.run_folder import MANIFEST, PARAMS_FILE, TABLES, load_run_tables, read_run_inputs, read_table, write_inputs
from salesmodel.report.workbook import build_workbook, company_name, plan_labels
from salesmodel.report.workbook_cells import sheet_title
from salesmodel.run import audit
from salesmodel.run.notebooks import KERNEL, execute_notebook, kernel_environment, resolve_notebooks
from salesmodel.schema.params import load_params

__all__ = ["import_edits"]


def import_edits(
    run_dir: str | Path,
    edited_path: str | Path,
    out_dir: str | Path | None = None,
    *,
    pages: bool = True,
) -> Path:
    """Read a planner's edited workbook back against its run; write the edited plan as a new run folder.

    The edited rep × month cells are kept as typed (rounded to the plan's unit,
    ``targets.plan_round_to``) and each edited rep's other months absorb the change, so
    every rep keeps its year. Then the plan flows through
    (:func:`salesmodel.pipeline.run_edited`): the customer × 旬 and rep × product × month
    plans are re-phased to the edited months (each customer and product keeps its year),
    the company's months follow, and staffing, territories and the summary run again.
    The new folder ``<out_dir>/<run id>/`` (default ``<outputs>/edits/<run id>/``) is a run folder: ``params.yaml``, the
    inputs copy, every table, the ``adjustments`` (old, new, comment, author), a new
    ``plan.xlsx``, the pages (with ``pages``) and a ``manifest.json`` whose ``edited_from``
    links the run it came from and the edited workbook's sha256; ``salesmodel verify``
    checks it. It is built in ``<out_dir>/.staging`` and renamed, so it appears whole or
    not at all. The source run folder is never changed.

    A rep whose every month was edited to a different year is refused (its year comes from
    the allocation: change it with ``targets.overrides``), as are the workbook errors
    :func:`read_edits` names.
    """
    started = datetime.now(UTC)
    run_dir = Path(run_dir)
    manifest = audit.read_manifest(run_dir)
    run_id = manifest["run_id"]
    if not is_run_id(run_id):
        raise InputError(
            f"{run_dir / MANIFEST}: run_id {shorten(run_id)} is not a run id salesmodel writes "
            "(expected <UTC time>-<scenario>-<8 hex>); the manifest was altered, so nothing was imported"
        )
    plan = read_table(run_dir, "plan_rep_month")
    if plan is None:
        raise InputError(f"{run_dir}: no plan_rep_month table in this run folder; give the run the workbook came from")
    edits = read_edits(edited_path, plan, run_id=run_id)
    if edits.adjustments.empty:
        raise InputError(f"{edited_path}: no month cell of the plan was changed; nothing to import")
    params_file = run_dir / PARAMS_FILE
    inputs = read_run_inputs(run_dir)
    if not params_file.is_file() or inputs is None:
        raise InputError(f"{run_dir}: the run folder keeps no params.yaml or no inputs/ copy, so the edited plan "
                         "cannot flow through; give a folder written by `salesmodel run`")
    params = load_params(params_file)
    unit = float(params.targets.plan_round_to)
    adj = edits.adjustments.copy()
    adj["new"] = np.round(adj["new"] / unit) * unit
    adj["delta"] = adj["new"] - adj["old"]
    edits = Edits(sheet=edits.sheet, adjustments=adj)
    balanced = apply_edits(plan, edits, round_to=unit)
    year_before = plan.groupby("rep_id", observed=True)["target"].sum()
    year_after = balanced.groupby("rep_id", observed=True)["target"].sum()
    moved = year_after.sub(year_before).abs() > unit / 2
    if moved.any():
        rep = str(moved[moved].index[0])
        raise InputError(
            f"{edited_path}: sheet '{sheet_title('plan_rep_month', params.report.language)}': every month of rep "
            f"{shorten(rep, 40)} was edited and its year became {year_after[rep]:,.0f} yuan instead of "
            f"{year_before[rep]:,.0f}; expected the same year (the workbook moves money between months; a rep's year "
            "comes from the allocation: change it with targets.overrides and run again)"
        )
    tables = load_run_tables(run_dir)
    result = run_edited(params, inputs, tables, balanced.drop(columns="edited"))
    workbook_sha = audit.sha256_file(edited_path)
    new_id = audit.make_run_id(f"{params.scenario}-edited",
                               hashlib.sha256(f"{run_id}|{workbook_sha}".encode()).hexdigest(), started)
    # --out DIR: the new run folder is DIR/<id>; by default it goes beside the runs, in <outputs>/edits/<id>
    base = Path(out_dir) if out_dir else run_dir.parent.parent
    try:
        edits_dir = base if out_dir else base / "edits"
        edits_dir.mkdir(parents=True, exist_ok=True)
        staging = base / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        n = 1
        name = new_id
        while (edits_dir / name).exists() or (staging / f"edits-{name}").exists():
            n += 1
            name = f"{new_id}-{n}"
        final = child(edits_dir, name, what="edits folder")
        building = child(staging, f"edits-{name}", what="staging folder")
    except OSError as exc:
        raise RunError(f"Cannot write the edits folder under {base}: {exc.strerror or exc}; nothing was written.") from None
    try:
        building.mkdir()
        shutil.copyfile(params_file, building / PARAMS_FILE)
        write_inputs(building, inputs)
        for table_name, df in sorted(result.tables.items()):
            write_table(df, building / TABLES, table_name)
        recorded = edits.adjustments.assign(source_run_id=run_id)  # the pages and workbook name the source run
        write_table(recorded, building, "adjustments")
        unmet = result.tables.get("unmet_requirements")
        if unmet is not None and len(unmet):
            items = [{k: (v if not isinstance(v, float) else round(v, 6)) for k, v in row.items()}
                     for row in unmet.to_dict(orient="records")]
            (building / audit.UNMET).write_text(json.dumps({"unmet": items}, indent=1, ensure_ascii=False),
                                                encoding="utf-8")
        lang = params.report.language
        build_workbook(result.tables, building / "plan.xlsx", params=params.to_jsonable(), run_id=name,
                       language=lang, money_unit=params.report.money_unit, labels=plan_labels(inputs, lang),
                       title={"company": company_name(inputs, lang), "scenario": params.scenario,
                              "plan_year": params.calendar.plan_year}, adjustments=recorded)
        nb_paths = _render_pages(manifest, params, building, final) if pages else []
        audit.write_manifest(
            building, run_id=name, scenario=params, inputs=inputs, notebooks=nb_paths, started=started,
            finished=datetime.now(UTC), holiday_status=(manifest.get("calendar") or {}).get("plan_year_status"),
            extra={"edited_from": {
                "run_id": run_id,
                "params_sha256": manifest.get("params_sha256"),
                "manifest_sha256": audit.sha256_file(run_dir / MANIFEST),
                "edited_workbook": Path(edited_path).name,
                "edited_workbook_sha256": workbook_sha,
                "adjustments": int(len(edits.adjustments)),
                "steps_run_again": [s for s in result.steps if s != "targets"],
            }},
        )
        os.rename(building, final)
    except OSError as exc:
        raise RunError(f"Cannot write the edits folder {final}: {exc.strerror or exc}; nothing was kept.") from None
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return final


def _render_pages(manifest: Mapping[str, Any], params: Any, building: Path, final: Path) -> list[Path]:
    """Execute the source run's notebooks on the edited folder's tables (the pages read the tables)."""
    names = [nb["name"] for nb in manifest.get("notebooks", []) if isinstance(nb, dict) and nb.get("name")]
    if not names:
        return []
    nb_paths = resolve_notebooks(names)
    (building / "notebooks").mkdir(exist_ok=True)
    with kernel_environment():
        for nb in nb_paths:
            outcome = execute_notebook(str(nb), str(building / "notebooks" / nb.name), str(building / PARAMS_FILE),
                                        str(building), str(final), KERNEL, params.report.language)
            if not outcome["ok"]:
                raise RunError(f"Notebook {nb.name} failed on the edited plan in cell {outcome.get('cell_index')}: "
                               f"{outcome.get('ename')}: {outcome.get('evalue')}; nothing was written.")
    return nb_paths
