"""Re-phasing a plan after a planner moves money between months.

When a unit's months change (an edited rep × month plan), the finer plans under it
must follow: each customer keeps its year, each rep × month cell gets exactly its
new value, and ten-day periods keep their shape inside a month. That is a two-way
table per unit (items × months) with both margins fixed: raked from the old cells
(iterative proportional fitting) and rounded with a controlled rounding that keeps
every row and column total exact.

>>> import pandas as pd
>>> detail = pd.DataFrame({"rep_id": ["R"] * 4, "customer_id": ["a", "a", "b", "b"],
...                        "month": ["01", "02", "01", "02"], "target": [60.0, 40.0, 40.0, 60.0]})
>>> new = pd.DataFrame({"rep_id": ["R", "R"], "month": ["01", "02"], "target": [120.0, 80.0]})
>>> rephase(detail, new, group="rep_id", item="customer_id", month="month")["target"].tolist()
[70.0, 30.0, 50.0, 50.0]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from salesmodel.domain.targets.allocation import largest_remainder
from salesmodel.domain.targets.mix import controlled_round
from salesmodel.domain.targets.raking import _ipf
from salesmodel.errors import InputError

__all__ = ["rephase", "split_within"]


def rephase(detail: pd.DataFrame, totals: pd.DataFrame, *, group: str, item: str, month: str,
            value: str = "target", round_to: float = 1.0) -> pd.DataFrame:
    """``detail`` (one row per group, item and month) re-spread so that each group's months sum to
    ``totals`` (group, month, value) while each item's total over the months holds.

    Only groups whose month totals changed are touched. Within a changed group the old cells
    are raked to the new margins (a small seed lets a month that was empty receive money) and
    rounded to ``round_to`` keeping every margin exact.
    """
    out = detail.copy()
    old = out.groupby([group, month], sort=False, observed=True)[value].sum()
    new = totals.set_index([group, month])[value]
    new = new.reindex(old.index)
    if new.isna().any():
        missing = new[new.isna()].index[:3].tolist()
        raise InputError(f"the new month totals lack {missing}: every group and month of the plan needs one")
    changed = sorted({g for (g, _m), a, b in zip(old.index, old.to_numpy(), new.to_numpy()) if a != b})
    for g in changed:
        rows = out.index[out[group] == g]
        part = out.loc[rows]
        items = pd.Index(pd.unique(part[item]))
        months = pd.Index(pd.unique(part[month]))
        r = items.get_indexer(part[item])
        c = months.get_indexer(part[month])
        cells = np.zeros((len(items), len(months)))
        np.add.at(cells, (r, c), part[value].to_numpy(dtype=float))
        row_t = cells.sum(axis=1)
        col_t = new.loc[g].reindex(months).to_numpy(dtype=float)
        if abs(row_t.sum() - col_t.sum()) > 1e-6 * max(1.0, abs(row_t.sum())):
            raise InputError(f"{group} {g}: the new months add up to {col_t.sum():,.2f}, its year is "
                             f"{row_t.sum():,.2f}; re-phasing keeps each year's total")
        seed = cells + (row_t[:, None] > 0) * 1e-6 * (row_t[:, None] / len(months) + 1.0)
        fit = _ipf(seed, [((0,), row_t), ((1,), col_t)], tol=1e-13, max_iter=2000).array
        ii, jj = np.meshgrid(np.arange(len(items)), np.arange(len(months)), indexing="ij")
        rounded = controlled_round(fit.ravel(), ii.ravel(), jj.ravel(), row_t, col_t, unit=round_to,
                                   what=f"the re-phased plan of {g}").reshape(fit.shape)
        # one row per (item, month) in detail: write the rounded cell back
        out.loc[rows, value] = rounded[r, c]
    return out


def split_within(detail: pd.DataFrame, totals: pd.DataFrame, *, keys: list[str], value: str = "target",
                 round_to: float = 1.0) -> pd.DataFrame:
    """``detail`` (finer rows under ``keys``, e.g. a customer's ten-day periods in a month) scaled so each
    key's rows sum to ``totals`` (keys, value), in proportion to the old rows (equally when they were
    all zero), rounded to ``round_to`` by largest remainder. Keys whose total did not change are kept."""
    out = detail.copy()
    old = out.groupby(keys, sort=False, observed=True)[value].sum()
    new = totals.set_index(keys)[value].reindex(old.index)
    changed = old.index[(new.to_numpy() != old.to_numpy())]
    if not len(changed):
        return out
    key_of = pd.MultiIndex.from_frame(out[keys]) if len(keys) > 1 else pd.Index(out[keys[0]])
    want = set(changed)
    mask = np.array([k in want for k in key_of])
    for k, idx in out[mask].groupby(keys, sort=False, observed=True).groups.items():
        base = out.loc[idx, value].to_numpy(dtype=float)
        basis = base if base.sum() > 0 else np.ones(len(base))
        total = float(new.loc[k])
        out.loc[idx, value] = largest_remainder(basis, total, round_to)
    return out
