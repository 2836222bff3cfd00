"""Step ``summary``: the plan's headline figures and main risks, each traced to its table."""
from __future__ import annotations

from salesmodel.domain.calendar import holiday_calendar_status
from salesmodel.pipeline._base import Context, StepResult
from salesmodel.pipeline.key_figures import MONTH_CORRELATION, flagged_units, key_figures
from salesmodel.pipeline.requirements import unmet_requirements
from salesmodel.pipeline.risks import risk_table

NEEDS: tuple[str, ...] = ("targets", "staffing", "tracking", "territory")  # tracking: the stock figures
PARAMS: tuple[str, ...] = ("territory", "staffing", "calendar", "targets")


def run(ctx: Context) -> StepResult:
    """Key figures (figure, value, unit, source) and the risks table, from the declared tables."""
    result = StepResult("summary")
    cal = ctx.params.calendar
    figures = key_figures(ctx.tables, plan_year=cal.plan_year)
    sp = ctx.params.staffing
    unmet = unmet_requirements(ctx.tables, balance_on=dict(ctx.params.territory.balance_on),
                               max_hires_per_month=sp.max_hires_per_month, max_starts_per_month=sp.max_starts_per_month)
    status = holiday_calendar_status(cal.plan_year, cal.country, overrides=ctx.inputs.get("holiday_overrides"))
    result.add("key_figures", figures.as_table())
    result.add("flagged_units", flagged_units(ctx.tables))
    result.add("risks", risk_table(ctx.tables, figures, calendar_status=(status, cal.plan_year, cal.country),
                                   unmet=unmet, bound_share=ctx.params.targets.bound_risk_share))
    result.add("unmet_requirements", unmet)
    result.facts.update(probability_method="company_series" if figures.probability_of_meeting is not None else "none",
                        month_correlation=MONTH_CORRELATION, holiday_status=status)
    return result
