"""Step ``summary``: the plan's headline figures and main risks, each traced to its table."""
from __future__ import annotations

from salesmodel import summary
from salesmodel.pipeline._base import Context, StepResult

NEEDS: tuple[str, ...] = ("targets", "staffing", "territory")
PARAMS: tuple[str, ...] = ("territory", "staffing")


def run(ctx: Context) -> StepResult:
    """Key figures (figure, value, unit, source) and the risks table, from the declared tables."""
    result = StepResult("summary")
    figures = summary.key_figures(ctx.tables)
    result.add("key_figures", figures.as_table())
    result.add("risks", summary.risk_table(ctx.tables, figures))
    result.add("unmet_requirements", summary.unmet_requirements(ctx.tables, ctx.params))
    return result
