"""The plan's risks in plain sentences of the reader's language (the ``risks`` table said)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from salesmodel.report import format_money, month_label
from salesmodel.schema.vocabulary import has_word, word

__all__ = ["risks"]


def risks(
    table: pd.DataFrame,
    *,
    language: str = "en",
    names: Mapping[str, str] | None = None,
    money_unit: str = "wan",
) -> list[str]:
    """The ``risks`` table in plain sentences of the reader's language.

    ``names`` maps unit ids (region, rep...) to the names readers know.
    """
    names = names or {}
    out: list[str] = []

    def money(v: Any) -> str:
        return format_money(float(v), money_unit, language, decimals=0 if money_unit in ("yuan", "thousand", "wan") else 1)

    def listed(ids: str, n: int = 6) -> str:
        items = [names.get(i, i) for i in str(ids).split(",") if i]
        return word("sep_list", language).join(items[:n]) + ("…" if len(items) > n else "")

    for row in table.itertuples(index=False):
        template = word(f"risk_{row.kind}", language) if row.kind not in ("unmet", "budget") else ""
        if row.kind == "growth":
            out.append(template.format(unit=names.get(row.unit_id, row.unit_id), growth=row.value, prob=row.probability,
                                       money=money(getattr(row, "money", 0.0) or 0.0)))
        elif row.kind == "shortfall":
            months = [m for m in str(row.detail).split(",") if m]
            shown = [month_label(m, language, with_year=True) for m in months[:4]]
            out.append(template.format(n=int(row.value), months=word("sep_list", language).join(shown) + ("…" if len(months) > 4 else ""),
                                       money=money(row.money), teams=listed(row.unit_id)))
        elif row.kind == "unmet":
            req = str(row.detail)
            if req.startswith("territory.balance_on."):
                measure = req.rsplit(".", 1)[1]
                measure = word(measure, language) if measure in ("potential", "workload") else word("last_year", language)
                out.append(word("risk_unmet_territory", language).format(measure=measure, achieved=row.value, asked=row.asked))
            else:
                out.append(word("risk_unmet_staffing", language).format(asked=row.asked, n=int(row.value)))
        elif row.kind == "territory":
            out.append(template.format(dev=row.value))
        elif row.kind == "disruption":
            out.append(template.format(share=row.value, n=int(row.detail)))
        elif row.kind == "hires_accounts":
            out.append(template.format(hires=int(row.detail), quota=money(row.value), counted=money(row.asked),
                                       gap=money(row.money)))
        elif row.kind == "calendar":
            country = str(row.detail).split(":")[0]
            country = word(f"code_{country}", language) if has_word(f"code_{country}") else country
            out.append(template.format(year=int(row.value), country=country))
        elif row.kind == "decline":
            out.append(template.format(n=int(row.value), units=listed(row.unit_id), money=money(row.money)))
        elif row.kind == "budget":
            cats = [word(f"code_{c}", language) if has_word(f"code_{c}") else c for c in str(row.unit_id).split(",") if c]
            out.append(word(f"risk_budget_{row.detail}", language).format(
                asked=money(row.asked), budget=money(row.money), share=row.value,
                units=word("sep_list", language).join(cats)))
        elif row.kind == "stock":
            above = int(row.detail or 0)
            if int(row.value):
                out.append(template.format(below=int(row.value), above=above, units=listed(row.unit_id, 5)))
            else:
                out.append(word("risk_stock_above", language).format(above=above))
        elif row.kind == "bounds":
            upper, total, cap = (str(row.detail).split(":") + ["", "", "nan"])[:3]
            out.append(template.format(n=int(row.value), upper=int(upper or 0), total=int(total or 0),
                                       share=row.probability, money_share=row.asked, cap=float(cap)))
        elif row.kind == "commitments":
            policy, _, reps = str(row.detail).partition(":")
            gap = float(row.money)
            signed = ("+" if gap > 0 else "−" if gap < 0 else "") + money(abs(gap))
            out.append(template.format(n=int(row.value), reps=int(reps or 0), gap=signed,
                                       policy=word(f"code_{policy}", language) if has_word(f"code_{policy}") else policy))
        else:
            out.append(template)
    return out
