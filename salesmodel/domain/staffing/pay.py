"""Pay: a pay plan's cost, base salary split into weighted, pro-rated components
(example H) plus commission with a threshold, accelerators and a cap.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.staffing._checks import _bad, _check_positive, _check_rate, _require_columns
from salesmodel.errors import InputError, short_list

__all__ = ["PayPlan", "pay"]


# ---------------------------------------------------------------------------
# pay
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PayPlan:
    """A monthly pay plan: base salary components (example H) plus commission.

    Base salary ``base_salary`` is split by ``weights``:

    - ``sales`` (60%): pro-rated by sales / standard volume, capped at 100%
      ("若完成销售业务量,则可获得全部底薪的60%;若没有完成...依据所完成的业务量占标准销售业务量
      的比例计算底薪": full share when the standard is met, proportional below;
      the seed pays nothing extra above it - that is the commission's job);
    - ``records`` (20%): customer records collected / standard, capped at 100%;
    - ``market_analysis`` (10%): a score in [0, 1] from the competitor analysis;
    - ``satisfaction`` (10%): all of it with no complaints ("考核标准为无投诉"),
      nothing otherwise.

    Commission: ``commission_rate`` x sales, paid only when achievement of the
    target reaches ``threshold``; each slice of achievement is paid at the
    multiplier of its tier (``tiers``: (from achievement, multiplier), so the
    defaults pay 1x on sales up to the target and 1.5x on sales above it), and
    sales above ``cap`` x target earn nothing more.
    """

    base_salary: float = 5000.0
    weights: Mapping[str, float] = field(
        default_factory=lambda: {"sales": 0.6, "records": 0.2, "market_analysis": 0.1, "satisfaction": 0.1}
    )
    records_standard: float = 30.0
    commission_rate: float = 0.01
    threshold: float = 0.8
    tiers: Sequence[tuple[float, float]] = ((0.0, 1.0), (1.0, 1.5))
    cap: float | None = 1.5

    def __post_init__(self) -> None:
        func = "pay"
        _check_rate(self.base_salary, "plan.base_salary", func, high=1e9)
        known = {"sales", "records", "market_analysis", "satisfaction"}
        if not isinstance(self.weights, Mapping) or set(self.weights) - known:
            raise _bad("plan.weights", func, f"a mapping with keys among {sorted(known)}", self.weights)
        for k, w in self.weights.items():
            _check_rate(w, f"plan.weights[{k!r}]", func)
        if abs(sum(self.weights.values()) - 1.0) > 1e-9:
            raise _bad("plan.weights", func, "weights adding up to 1", dict(self.weights))
        _check_positive(self.records_standard, "plan.records_standard", func)
        _check_rate(self.commission_rate, "plan.commission_rate", func)
        _check_rate(self.threshold, "plan.threshold", func, high=10.0)
        tiers = [tuple(map(float, t)) for t in self.tiers]
        if not tiers or tiers[0][0] != 0.0 or any(b[0] <= a[0] for a, b in itertools.pairwise(tiers)) or any(m < 0 for _, m in tiers):
            raise _bad("plan.tiers", func, "(from achievement, multiplier) pairs starting at 0, increasing, multipliers >= 0", list(self.tiers))
        if self.cap is not None:
            _check_positive(self.cap, "plan.cap", func)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> PayPlan:
        """Build from a params mapping (unknown keys are an error)."""
        raw = dict(raw or {})
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise _bad("plan", "pay", f"keys among {sorted(cls.__dataclass_fields__)}", sorted(unknown))
        if "tiers" in raw:
            raw["tiers"] = tuple(tuple(t) for t in raw["tiers"])
        return cls(**raw)


def pay(achievement: pd.DataFrame, *, plan: PayPlan | Mapping[str, Any] | None = None) -> pd.DataFrame:
    """A pay plan's monthly cost per rep, and cost of sales as a share of target.

    Parameters
    ----------
    achievement : DataFrame
        One row per rep (and month, if you like): ``sales`` (the month's
        volume), ``target`` (the rep's target; commission thresholds use
        sales / target), ``standard`` (the standard volume for the base; the
        target when missing), and optionally ``records`` (customer records
        collected; default the standard), ``market_analysis`` (score 0-1;
        default 1) and ``complaints`` (default 0). Other columns (rep_id ...)
        are kept.
    plan : PayPlan or mapping, default=PayPlan() (example H)

    Returns
    -------
    DataFrame
        The input columns plus ``achievement, base_sales, base_records,
        base_market_analysis, base_satisfaction, base_pay, commission,
        total_pay, cost_share`` (total pay / target). ``attrs["totals"]``
        holds the sums and the overall cost share.

    Examples
    --------
    >>> a = pd.DataFrame({"rep_id": ["r1"], "sales": [90_000.0], "target": [100_000.0]})
    >>> row = pay(a, plan={"base_salary": 5000}).iloc[0]
    >>> float(row["base_sales"]), float(row["commission"]), float(row["total_pay"])
    (2700.0, 900.0, 5600.0)
    """
    func = "pay"
    if plan is None:
        plan = PayPlan()
    elif isinstance(plan, Mapping):
        plan = PayPlan.from_dict(plan)
    _require_columns(achievement, ["sales", "target"], "the achievement table", func)
    out = achievement.copy()
    sales = pd.to_numeric(out["sales"], errors="coerce").to_numpy(dtype=float)
    target = pd.to_numeric(out["target"], errors="coerce").to_numpy(dtype=float)
    standard = pd.to_numeric(out["standard"], errors="coerce").to_numpy(dtype=float) if "standard" in out else target
    bad = np.isnan(sales) | (sales < 0) | np.isnan(target) | (target <= 0) | np.isnan(standard) | (standard <= 0)
    if bad.any():
        raise InputError(
            f"the achievement table passed to {func} needs sales >= 0 and target (and standard) > 0; "
            f"rows {short_list(list(out.index[bad]))}."
        )
    records = out["records"].to_numpy(dtype=float) if "records" in out else np.full(len(out), plan.records_standard)
    market = out["market_analysis"].to_numpy(dtype=float) if "market_analysis" in out else np.ones(len(out))
    complaints = out["complaints"].to_numpy(dtype=float) if "complaints" in out else np.zeros(len(out))
    if (records < 0).any() or (market < 0).any() or (market > 1).any() or (complaints < 0).any():
        raise InputError(f"the achievement table passed to {func}: records and complaints must be >= 0 and market_analysis in [0, 1].")
    w = {k: float(plan.weights.get(k, 0.0)) for k in ("sales", "records", "market_analysis", "satisfaction")}
    b = float(plan.base_salary)
    ach = sales / target
    out["achievement"] = ach
    out["base_sales"] = b * w["sales"] * np.minimum(sales / standard, 1.0)
    out["base_records"] = b * w["records"] * np.minimum(records / plan.records_standard, 1.0)
    out["base_market_analysis"] = b * w["market_analysis"] * market
    out["base_satisfaction"] = b * w["satisfaction"] * (complaints == 0)
    out["base_pay"] = out[["base_sales", "base_records", "base_market_analysis", "base_satisfaction"]].sum(axis=1)
    paid_ach = np.minimum(ach, plan.cap) if plan.cap is not None else ach
    starts = np.array([t[0] for t in plan.tiers] + [np.inf])
    mult = np.array([t[1] for t in plan.tiers])
    slices = np.clip(paid_ach[:, None] - starts[None, :-1], 0, None) - np.clip(paid_ach[:, None] - starts[None, 1:], 0, None)
    weighted = (slices * mult[None, :]).sum(axis=1)  # achievement-weighted multiplier
    out["commission"] = np.where(ach >= plan.threshold - 1e-12, plan.commission_rate * target * weighted, 0.0)
    out["total_pay"] = out["base_pay"] + out["commission"]
    out["cost_share"] = out["total_pay"] / target
    totals = {
        "reps": len(out),
        "sales": float(sales.sum()),
        "target": float(target.sum()),
        "base_pay": float(out["base_pay"].sum()),
        "commission": float(out["commission"].sum()),
        "total_pay": float(out["total_pay"].sum()),
    }
    totals["cost_share"] = totals["total_pay"] / totals["target"] if totals["target"] else math.nan
    out.attrs["totals"] = totals
    return out
