"""Is the demo plan one a CEO would sign? The chance of meeting it, before and after issue 24.

    python benchmarks/targets_chance.py [--params params/default.yaml] [--run RUN_DIR]

Runs the targets step of the demo company under several target settings (the old default:
+12% over the baseline shared by last year and potential; the momentum basis; equal chance;
the new default: the company target at a 50% chance with equal chance down to the reps) and
reports, for each, the company target and its chance (the company's reconciled baseline
series, as the key figures have it), the target at 50%, the reps' chances, each region's
growth over last year and chance, and the customers at a growth bound. The forecast is
made once (or read from RUN_DIR's tables, a run of the same data).

Writes benchmarks/results/targets_chance.md.
"""
from __future__ import annotations

import os
import sys

# benchmarks/ holds scripts named like stdlib modules (calendar.py): keep it off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

RESULTS = Path(_HERE) / "results" / "targets_chance.md"
OLD = {"total": None, "growth": 0.12, "allocation": "basis", "level_basis": {},
       "basis": {"last_year": 0.5, "potential": 0.2, "forecast": 0.3}}
CASES = {
    "old default: +12% over the baseline, by last year 0.5 / potential 0.2 / forecast 0.3": OLD,
    "the same total, regions and reps by momentum (6 months)": {
        **OLD, "basis": {"momentum": 1.0}, "level_basis": {"customer": {"last_year": 0.8, "potential": 0.2}}},
    "the same total, equal chance at region, province and rep": {**OLD, "allocation": "equal_chance"},
    "chance 0.4, equal chance, customers by last year 0.9 / potential 0.1": {
        "total": {"chance": 0.4}, "allocation": "equal_chance", "level_basis": {"customer": {"last_year": 0.9, "potential": 0.1}}},
    "new default (params/default.yaml)": {},
}


def measure(params, inputs, forecast: dict[str, pd.DataFrame]) -> dict:
    from salesmodel.pipeline import run_step
    from salesmodel.pipeline.key_figures import company_probability

    t = run_step("targets", params, inputs, forecast).tables
    total = float(t["targets_total"]["target"].iloc[0])
    last_year = float(t["targets_total"]["last_year"].iloc[0])
    prob, _ = company_probability(forecast["baseline_forecast_levels"], total, params.calendar.plan_year)
    curve = t["chance_curve"]
    half = float(curve[(curve["level"] == "company") & (curve["point"] == "median")]["target"].iloc[0])
    ach = t["achievability"]
    reps = ach[ach["level"] == "rep"]["probability"]
    regions = ach[ach["level"] == "region"].set_index("unit_id")["probability"]
    growth = t["targets_region"].set_index("region_id")["growth"]
    cust = t["targets_customer"]
    at_bound = cust["bound_applied"].isin(["upper", "lower", "floor"])
    return {
        "target (M)": total / 1e6, "growth over last year": total / last_year - 1, "company chance": prob,
        "target at 50% (M)": half / 1e6, "rep chance min": reps.min(), "rep chance median": reps.median(),
        "rep chance max": reps.max(), "reps below 30%": int((reps < 0.3).sum()), "reps": len(reps),
        "regions (growth, chance)": "; ".join(f"{r} {growth[r]:+.1%} {regions[r]:.0%}" for r in growth.index),
        "customers at +cap": int((cust["bound_applied"] == "upper").sum()),
        "customers at a bound": int(at_bound.sum()), "customers": len(cust),
        "target at a bound": float(cust.loc[at_bound, "target"].sum()) / total,
    }


def _markdown(df: pd.DataFrame) -> str:
    """A plain markdown table (no optional dependency): the cases as columns, the measures as rows."""
    head = "| | " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|---|" + "---|" * len(df.columns)
    body = ["| " + str(i) + " | " + " | ".join(str(v) for v in row) + " |" for i, row in zip(df.index, df.to_numpy())]
    return "\n".join([head, rule, *body])


def main(argv: list[str] | None = None) -> int:
    from salesmodel import io
    from salesmodel.pipeline import run_plan
    from salesmodel.schema.params import load_params, params_from_dict

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params/default.yaml")
    parser.add_argument("--run", default="", help="a run folder of the same data whose forecast tables are reused")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    base = load_params(args.params)
    inputs = io.read_inputs(base.data)
    started = time.perf_counter()
    if args.run:
        from salesmodel.pipeline.run_folder import load_run_tables

        forecast = load_run_tables(args.run, ["baseline_forecast", "baseline_forecast_levels", "forecast_history"])
    else:
        forecast = run_plan(base, inputs, upto="forecast").tables
    rows = []
    for name, change in CASES.items():
        raw = base.model_dump(mode="json")
        raw["targets"].update(change)
        rows.append({"case": name, **measure(params_from_dict(raw), inputs, forecast)})
    table = pd.DataFrame(rows)
    shown = table.copy()
    for col in ("growth over last year", "company chance", "rep chance min", "rep chance median", "rep chance max",
                "target at a bound"):
        shown[col] = shown[col].map(lambda v: f"{v:.1%}")
    for col in ("target (M)", "target at 50% (M)"):
        shown[col] = shown[col].map(lambda v: f"{v:,.1f}")
    text = "\n".join([
        "# The demo plan's chance of being met (issue 24)", "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `python benchmarks/targets_chance.py`, "
        f"{time.perf_counter() - started:.0f} s. Chances if sales follow the baseline forecast "
        "(the company from its reconciled series, as the key figures; regions and reps as achievability).", "",
        _markdown(shown.set_index("case").T), ""])
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
