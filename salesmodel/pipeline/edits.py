"""Reading a planner's edits back from the plan workbook, and re-balancing the plan to them.

``read_edits`` compares a planner's edited copy with the run's plan: changed cells become recorded
adjustments (with the cell comment and its author), and ``apply_edits`` re-balances the plan so each
rep's annual total and the company total still hold exactly. The layout both sides keep (the hidden
marker sheet, the plan pivot, the ``SUM`` totals, the money units) is stated here once; the writer,
:mod:`salesmodel.report.workbook`, uses it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from salesmodel.domain.targets import decompose
from salesmodel.errors import InputError
from salesmodel.io.readers import check_archive
from salesmodel.paths import shorten
from salesmodel.schema.tables import MONEY_UNITS

__all__ = ["META_SHEET", "Edits", "Formula", "apply_edits", "column_total", "pivot_plan", "read_edits",
           "row_total"]


# The largest amount one plan cell may hold, in yuan (the input ceiling of salesmodel.io).
MAX_CELL = 1e13


# Hidden marker cells so an edited copy can be matched to its run and pivot layout.
META_SHEET = "_salesmodel"


class Formula(str):
    """A formula the workbook writes on purpose (its totals); every other text is written as text."""


def row_total(first_col: int, last_col: int, row: int) -> Formula:
    return Formula(f"=SUM({get_column_letter(first_col)}{row}:{get_column_letter(last_col)}{row})")


def column_total(col: int, total_row: int) -> Formula:
    letter = get_column_letter(col)
    return Formula(f"=SUM({letter}2:{letter}{total_row - 1})")


def pivot_plan(plan: pd.DataFrame, unit_cols: list[str], period_col: str, value_col: str) -> pd.DataFrame:
    missing = [c for c in [*unit_cols, period_col, value_col] if c not in plan.columns]
    if missing:
        raise InputError(
            f"plan table: columns {missing} not found; expected {[*unit_cols, period_col, value_col]}, "
            f"found {list(plan.columns)}"
        )
    wide = plan.pivot_table(index=unit_cols, columns=period_col, values=value_col, aggfunc="sum", sort=True, observed=True)
    wide = wide.fillna(0.0)
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index()


@dataclass(frozen=True)
class Edits:
    """Cells a planner changed in a handed-out workbook."""

    sheet: str
    adjustments: pd.DataFrame  # unit cols, period, old, new, delta, comment, author


def _workbook_meta(wb, edited_path: Path) -> dict[str, Any]:
    """The hidden marker of a plan workbook, checked; InputError when missing or damaged."""
    if META_SHEET not in wb.sheetnames:
        raise InputError(f"{edited_path}: not a salesmodel plan workbook (the hidden '{META_SHEET}' sheet is missing)")
    damaged = (f"{edited_path}: the hidden '{META_SHEET}' sheet (cell A1) is damaged, so the workbook cannot be "
               "matched to its run; import the workbook as it was handed out, with only plan cells edited")
    raw = wb[META_SHEET]["A1"].value
    try:
        meta = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or not isinstance(meta.get("sheets"), dict) or meta.get("money_unit") not in MONEY_UNITS:
        raise InputError(damaged)
    for info in meta["sheets"].values():
        if not (isinstance(info, dict) and isinstance(info.get("title"), str)
                and all(isinstance(info.get(k), list) for k in ("unit_cols", "label_cols", "periods"))
                and isinstance(info.get("period_col"), str) and isinstance(info.get("value_col"), str)):
            raise InputError(damaged)
    return meta


def _same_formula(value: Any, expected: str) -> bool:
    return isinstance(value, str) and value.replace(" ", "").upper() == expected.upper()


def read_edits(edited_path: str | Path, plan: pd.DataFrame, *, sheet: str = "plan_rep_month",
               run_id: str | None = None) -> Edits:
    """Compare an edited workbook's plan sheet with the run's plan table.

    Returns one row per changed cell with the old and new value (in yuan),
    the cell comment and its author. Labels are ignored. The layout must be as
    handed out: a deleted sheet, a damaged hidden marker, a workbook of another
    run (when ``run_id`` is given), deleted, added or repeated unit rows, and
    edits to total cells (totals are computed) are refused with InputError.
    """
    edited_path = Path(edited_path)
    check_archive(edited_path)
    try:
        wb = load_workbook(edited_path, data_only=False)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise InputError(f"{edited_path}: not a readable Excel workbook (.xlsx); save it from Excel as a workbook") from None
    meta = _workbook_meta(wb, edited_path)
    if run_id is not None and meta.get("run_id") != run_id:
        raise InputError(
            f"{edited_path}: this workbook belongs to run {shorten(meta.get('run_id') or '(none)')}, not to run "
            f"{shorten(run_id)}; import it against the run it came from"
        )
    info = meta["sheets"].get(sheet)
    if info is None:
        raise InputError(f"{edited_path}: the workbook has no '{sheet}' sheet; it has {sorted(meta['sheets'])}")
    if info["title"] not in wb.sheetnames:
        raise InputError(
            f"{edited_path}: the plan sheet '{shorten(info['title'], 40)}' was deleted or renamed; "
            "import the workbook with its sheets as handed out"
        )
    ws = wb[info["title"]]
    scale = MONEY_UNITS[meta["money_unit"]]
    unit_cols, label_cols, periods = info["unit_cols"], info["label_cols"], info["periods"]
    header = [c.value for c in ws[1]]
    expected_header = info.get("header") or (label_cols + periods)
    if header[: len(expected_header)] != expected_header:
        raise InputError(
            f"{edited_path}: sheet '{ws.title}' header changed; expected {shorten(expected_header[:6])}..., "
            f"found {shorten(header[:6])}...; edit values only, not the layout"
        )
    wide = pivot_plan(plan, unit_cols, info["period_col"], info["value_col"]).set_index(unit_cols)
    n_units = len(wide)
    first_col, last_col = len(label_cols) + 1, len(label_cols) + len(periods)
    total_col = last_col + 1
    total_row = n_units + 2
    # Rows: the unit rows must be the plan's units, each once, above the total row.
    seen: dict[Any, int] = {}
    unknown: list[str] = []
    for r in range(2, total_row):
        key = tuple(str(ws.cell(row=r, column=i + 1).value) for i in range(len(unit_cols)))
        key_idx = key[0] if len(key) == 1 else key
        if key_idx in seen:
            raise InputError(f"{edited_path}: sheet '{ws.title}' rows {seen[key_idx]} and {r} are both unit "
                             f"{shorten(key_idx, 40)}; each unit has one row")
        seen[key_idx] = r
        if key_idx not in wide.index:
            unknown.append(f"row {r} ({shorten(key_idx, 40)})")
    missing = [k for k in wide.index if k not in seen]
    if missing:
        raise InputError(
            f"{edited_path}: sheet '{ws.title}': the rows of {len(missing)} unit(s) of the plan were deleted or "
            f"changed ({', '.join(shorten(k, 40) for k in missing[:5])}{' and more' if len(missing) > 5 else ''}); "
            "units cannot be removed in the workbook, only their month values edited"
        )
    if unknown:
        raise InputError(f"{edited_path}: sheet '{ws.title}': {', '.join(unknown[:5])} not in the plan; "
                         "rows cannot be added or renamed in the workbook")
    # Totals are computed: a total cell that is not its SUM formula any more was edited.
    edited_totals = [
        ws.cell(row=r, column=total_col).coordinate for r in range(2, total_row)
        if not _same_formula(ws.cell(row=r, column=total_col).value, row_total(first_col, last_col, r))
    ] + [
        ws.cell(row=total_row, column=c).coordinate for c in range(first_col, total_col + 1)
        if not _same_formula(ws.cell(row=total_row, column=c).value, column_total(c, total_row))
    ]
    if edited_totals:
        raise InputError(
            f"{edited_path}: sheet '{ws.title}': total cells {', '.join(edited_totals[:8])}"
            f"{' and more' if len(edited_totals) > 8 else ''} were edited; totals are computed from the months, "
            "so edit the month cells instead"
        )
    records = []
    bad_cells = []
    for key_idx, r in seen.items():
        key = key_idx if isinstance(key_idx, tuple) else (key_idx,)
        for j, period in enumerate(periods):
            cell = ws.cell(row=r, column=first_col + j)
            value = cell.value
            if isinstance(value, str) and value.startswith("="):
                bad_cells.append(f"{cell.coordinate} (a formula)")
                continue
            try:
                new = float(value) * scale if value is not None else 0.0
            except (TypeError, ValueError):
                bad_cells.append(f"{cell.coordinate} ({shorten(value, 30)})")
                continue
            if not np.isfinite(new) or new < 0 or new > MAX_CELL:
                bad_cells.append(f"{cell.coordinate} (not a plausible amount: {shorten(value, 30)})")
                continue
            old = float(wide.at[key_idx, period])
            # Compare at the display precision so untouched cells never count as edits.
            if round(new / scale, 2) != round(old / scale, 2):
                comment = cell.comment.text.strip() if cell.comment else ""
                author = cell.comment.author if cell.comment else ""
                records.append((*key, period, old, new, new - old, comment, author or ""))
    if bad_cells:
        raise InputError(
            f"{edited_path}: sheet '{ws.title}': cells must hold non-negative numbers; "
            f"found {', '.join(bad_cells[:8])}{' and more' if len(bad_cells) > 8 else ''}"
        )
    adj = pd.DataFrame(records, columns=[*unit_cols, info["period_col"], "old", "new", "delta", "comment", "author"])
    return Edits(sheet=sheet, adjustments=adj)


def apply_edits(
    plan: pd.DataFrame,
    edits: Edits,
    *,
    unit_cols: list[str] = ("rep_id",),  # type: ignore[assignment]
    period_col: str = "period",
    value_col: str = "target",
    round_to: float = 1.0,
) -> pd.DataFrame:
    """Re-balance a plan after edits so each unit's total and the grand total hold.

    Edited cells are kept as typed. Within each edited unit, the unedited periods
    absorb the difference in proportion to their planned values. When every period
    of a unit was edited (so its total changed on purpose), the other units absorb
    the change in proportion to their totals, period by period. Results are rounded
    to ``round_to`` with largest remainders so the totals stay exact.
    """
    unit_cols = list(unit_cols)
    out = plan.copy()
    key = out[unit_cols].astype(str).agg("|".join, axis=1)
    adj = edits.adjustments
    adj_key = adj[unit_cols].astype(str).agg("|".join, axis=1)
    edited = pd.Series(False, index=out.index)
    for (k, period), new in zip(zip(adj_key, adj[period_col].astype(str)), adj["new"]):
        mask = (key == k) & (out[period_col].astype(str) == period)
        out.loc[mask, value_col] = new
        edited |= mask
    out["edited"] = edited
    grand_total = float(plan[value_col].sum())
    changed_totals: dict[str, float] = {}
    for k in adj_key.unique():
        rows = key == k
        unit_total = float(plan.loc[rows, value_col].sum())
        free = rows & ~edited
        locked_sum = float(out.loc[rows & edited, value_col].sum())
        if free.any():
            remaining = unit_total - locked_sum
            if remaining < 0:
                raise InputError(
                    f"edits to unit {k!r} add up to {locked_sum:,.0f}, more than its total {unit_total:,.0f}; "
                    "lower an edited month or edit every month to change the total on purpose"
                )
            part = out.loc[free, [value_col]].copy()
            basis = part[value_col] if part[value_col].sum() > 0 else pd.Series(1.0, index=part.index)
            res = decompose(remaining, part.assign(basis=basis.to_numpy()), basis="basis", round_to=round_to)
            out.loc[free, value_col] = res["target"].to_numpy()
        else:
            changed_totals[k] = locked_sum - unit_total
    if changed_totals:
        others = ~key.isin(list(changed_totals)) & ~edited
        remaining = grand_total - float(out.loc[~others, value_col].sum())
        if remaining < 0 or not others.any():
            raise InputError(
                "edits raise the plan above its company total and no other unit can absorb it: "
                f"units changed {sorted(changed_totals)}"
            )
        part = out.loc[others, [value_col]].copy()
        res = decompose(remaining, part.assign(basis=part[value_col].to_numpy()), basis="basis", round_to=round_to)
        out.loc[others, value_col] = res["target"].to_numpy()
    return out
