"""The staffing explorer: the run's capacity plan (staffing.capacity_plan) with changed settings."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from salesmodel import report
from salesmodel.domain import staffing
from salesmodel.pipeline import staffing as step
from salesmodel.schema.params import StaffingParams, slider_range
from salesmodel.schema.vocabulary import word
from salesmodel.widgets._base import (
    RAMP_SHAPES,
    _attach,
    _bad,
    _context,
    _esc,
    _Explorer,
    _html_table,
    _require,
    _slider_style,
    ramp_curve,
)


# ---------------------------------------------------------------------------
# Staffing
# ---------------------------------------------------------------------------
class StaffingExplorer(_Explorer):
    """Explore the hires a monthly target needs with :func:`salesmodel.domain.staffing.capacity_plan`.

    Parameters
    ----------
    monthly_targets : Series or DataFrame
        A monthly Series (index of months), or a long table ``team, month, target``
        solved team by team (an optional boolean ``lead_in`` column marks months
        before the plan year, shaded in the chart).
    productivity : float or mapping team -> float
        A mature rep's standard monthly volume.
    start_headcount : float or mapping team -> float
        People on the payroll at the start.
    ramp : list of float, default=[0.25, 0.5, 0.75, 1.0]
        The ramp to start from (shape "as given"; the sliders reshape it).
    attrition, hire_lead_months, max_hires_per_month, attainment, start_tenure, min_reach
        Start values and fixed inputs, as in ``capacity_plan``.
    team_col, month_col, target_col : str
        Column names of a long ``monthly_targets`` table.
    team_label : str, default="team"
        What a team is, for the table header (e.g. "region").
    language, money_unit
        Display language and money unit.

    Attributes
    ----------
    ramp_months, ramp_shape, attrition, lead_time, limit_hires, max_hires : ipywidgets controls
    result : DataFrame
        The last capacity plan (one row per team and month).
    ramp : list of float
        The ramp used by the last update.
    """

    _title_key = "staffing_explorer"

    def __init__(
        self,
        monthly_targets: pd.Series | pd.DataFrame,
        *,
        productivity: float | Mapping[Any, float],
        start_headcount: float | Mapping[Any, float],
        ramp: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
        attrition: float = 0.20,
        hire_lead_months: int = 2,
        max_hires_per_month: int | None = None,
        attainment: float = 1.0,
        start_tenure: Any = None,
        seasonality: pd.Series | None = None,
        min_reach: float | None = None,
        start_weight: Any = None,
        blocked_months: Sequence[Any] = (),
        max_starts_per_month: int | None = None,
        team_col: str = "team",
        month_col: str = "month",
        target_col: str = "target",
        team_label: str = "team",
        language: str = "en",
        money_unit: str = "wan",
    ) -> None:
        func = "StaffingExplorer"
        if isinstance(monthly_targets, pd.DataFrame):
            _require(monthly_targets, [team_col, month_col, target_col], "monthly_targets", func)
        elif not isinstance(monthly_targets, pd.Series):
            raise _bad("monthly_targets", func, "a monthly Series or a long DataFrame (team, month, target)",
                       type(monthly_targets).__name__)
        given = [float(v) for v in ramp]
        ramp_curve(len(given), "as_given", given)  # checks it is a usable curve
        super().__init__(language=language, money_unit=money_unit, figsize=(9.5, 3.0))
        self.monthly_targets = monthly_targets
        self.productivity = productivity
        self.start_headcount = start_headcount
        self.attainment = attainment
        self.start_tenure = start_tenure
        self.seasonality = seasonality
        self.start_weight = start_weight  # calibrated reps' volumes relative to their region's level
        self.blocked_months = list(blocked_months)  # months nobody starts in (the Spring Festival month)
        self.max_starts_per_month = max_starts_per_month  # the company's limit across teams
        # the policy's one default is the params schema's
        self.min_reach = StaffingParams.model_fields["min_reach"].default if min_reach is None else min_reach
        self.given_ramp = given
        self.team_col, self.month_col, self.target_col = team_col, month_col, target_col
        self.team_label = team_label
        self.ramp: list[float] = given
        self._artists: dict[str, Any] = {}

        st = _slider_style()
        self.ramp_months = widgets.IntSlider(value=len(given), min=1, max=max(18, len(given)), description=self.w("ramp_months"), **st)
        shapes = [(self.w(s), s) for s in ("as_given", *RAMP_SHAPES)]
        self.ramp_shape = widgets.Dropdown(options=shapes, value="as_given", description=self.w("ramp_shape"),
                                           style=st["style"], layout=st["layout"])
        self.ramp_label = widgets.HTML()
        self.attrition = widgets.FloatSlider(value=attrition, min=slider_range("staffing.attrition")[0], max=slider_range("staffing.attrition")[1],
                                             step=0.01, readout_format=".0%",
                                             description=self.w("attrition"), **st)
        self.lead_time = widgets.IntSlider(value=hire_lead_months, min=int(slider_range("staffing.hire_lead_months")[0]),
                                           max=int(slider_range("staffing.hire_lead_months")[1]),
                                           description=self.w("lead_time"), **st)
        self.limit_hires = widgets.Checkbox(value=max_hires_per_month is not None, description=self.w("limit_hires"), indent=False)
        self.max_hires = widgets.IntSlider(value=5 if max_hires_per_month is None else max_hires_per_month, min=0,
                                           max=max(30, max_hires_per_month or 0), description=self.w("max_hires"), **st)
        self._watch(self.ramp_months, self.ramp_shape, self.attrition, self.lead_time, self.limit_hires, self.max_hires)
        controls = [widgets.HBox([
            widgets.VBox([self.ramp_months, self.ramp_shape, self.ramp_label]),
            widgets.VBox([self.attrition, self.lead_time, self.max_hires, self.limit_hires]),
        ])]
        self.widget = self._compose(controls)
        self.update()

    def _compute(self) -> tuple[pd.DataFrame, list[str]]:
        ramp = ramp_curve(int(self.ramp_months.value), self.ramp_shape.value, self.given_ramp)
        self.ramp_label.value = f"{_esc(self.w('ramp'))}: " + ", ".join(f"{v:.0%}" for v in ramp)
        plan = staffing.capacity_plan(
            self.monthly_targets,
            productivity=self.productivity,
            ramp=ramp,
            attrition=float(self.attrition.value),
            hire_lead_months=int(self.lead_time.value),
            start_headcount=self.start_headcount,
            max_hires_per_month=int(self.max_hires.value) if self.limit_hires.value else None,
            attainment=self.attainment,
            start_tenure=self.start_tenure,
            seasonality=self.seasonality,
            min_reach=self.min_reach,
            start_weight=self.start_weight,
            blocked_months=self.blocked_months,
            max_starts_per_month=self.max_starts_per_month,
            team_col=self.team_col,
            month_col=self.month_col,
            target_col=self.target_col,
        )
        self.ramp = ramp
        notes = []
        if plan.attrs.get("status") == "shortfall":
            months = plan.attrs.get("short_months", [])
            shown = [report.month_label(m, self.language, with_year=True) for m in sorted(set(map(str, months)))]
            more = "…" if len(shown) > 6 else ""
            notes.append(f"{self.w('months_short')}: {', '.join(shown[:6])}{more}")
        return plan, notes

    def headline(self) -> float:
        return float(self.result["hires_starting"].sum())

    def settings(self) -> dict[str, Any]:
        return {"staffing.ramp": [round(v, 6) for v in self.ramp], "staffing.attrition": round(float(self.attrition.value), 6),
                "staffing.hire_lead_months": int(self.lead_time.value),
                "staffing.max_hires_per_month": int(self.max_hires.value) if self.limit_hires.value else None}

    def _lead_in(self) -> np.ndarray | None:
        mt = self.monthly_targets
        if isinstance(mt, pd.DataFrame) and "lead_in" in mt.columns:
            return mt.groupby(pd.PeriodIndex(pd.to_datetime(mt[self.month_col].astype(str), format="mixed"), freq="M"))["lead_in"].all().to_numpy()
        return None

    def _render(self) -> None:
        plan = self.result
        by_team = self.team_col in plan.columns
        month = plan["month"].astype(str)
        monthly = plan.groupby(month.to_numpy(), sort=True)[["target", "capacity", "hires_starting", "shortfall_amount"]].sum()
        shortfall_months = int(plan.groupby(month.to_numpy())["shortfall"].any().sum())
        if by_team:
            g = plan.groupby(self.team_col, sort=True)
            table = pd.DataFrame({
                "headcount_start": g["headcount_start"].first(),
                "hires": g["hires_starting"].sum(),
                "headcount_end": g["headcount_end"].last(),
                "months_short": g["shortfall"].sum(),
                "shortfall": g["shortfall_amount"].sum(),
            })
            total = table.sum().to_frame().T
            total["months_short"] = shortfall_months  # months in which any team falls short
            total.index = [self.w("total")]
            table = pd.concat([table, total])
            table.index.name = "team"
            table = table.reset_index()
        else:
            table = pd.DataFrame({
                "team": [self.w("total")],
                "headcount_start": [plan["headcount_start"].iloc[0]],
                "hires": [plan["hires_starting"].sum()],
                "headcount_end": [plan["headcount_end"].iloc[-1]],
                "months_short": [int(plan["shortfall"].sum())],
                "shortfall": [plan["shortfall_amount"].sum()],
            })
        end_heads = float(table["headcount_end"].iloc[-1])
        self.summary.value = " · ".join([
            f"<b>{_esc(self.w('total_hires'))}: {int(plan.attrs.get('total_hires', plan['hires_starting'].sum()))}</b>",
            f"{_esc(self.w('headcount_end'))}: {end_heads:,.1f}",
            f"{_esc(self.w('months_short'))}: {shortfall_months}",
            f"{_esc(self.w('shortfall'))}: {_esc(self.money(float(monthly['shortfall_amount'].sum())))}",
            f"{_esc(self.w('status'))}: {_esc(plan.attrs.get('status', ''))}",
        ])
        headers = {"team": self.w(self.team_label), "headcount_start": self.w("headcount_start"),
                   "hires": self.w("hires"), "headcount_end": self.w("headcount_end"), "months_short": self.w("months_short"),
                   "shortfall": self.w("shortfall")}
        def one(v):
            return f"{v:,.1f}"
        self.table.value = _html_table(
            table, {"headcount_start": one, "headcount_end": one, "hires": lambda v: f"{int(v):,}",
                    "months_short": lambda v: f"{int(v)}", "shortfall": self._money_cell},
            headers, total_last=by_team)
        self._draw_chart(monthly)

    def _draw_chart(self, monthly: pd.DataFrame) -> None:
        a = self._artists
        x = np.arange(len(monthly))
        full = False
        if not a:
            fig = self._figure
            unit = report.money_unit_label(self.money_unit, self.language)
            ax = fig.add_axes((0.08, 0.2, 0.56, 0.68))
            ax.plot(x, monthly["target"], color="#555555", marker="o", ms=3, label=self.w("target"))
            (a["capacity"],) = ax.plot(x, monthly["capacity"], color="#2f6db5", marker="s", ms=3, label=self.w("capacity"))
            lead = self._lead_in()
            if lead is not None and lead.size == len(x) and lead.any():
                ax.axvspan(-0.5, int(lead.sum()) - 0.5, color="#eeeeee", zorder=0)
            ax.yaxis.set_major_formatter(report.money_formatter(self.money_unit))
            ax.set_ylabel(unit)
            step = max(1, len(x) // 8)
            ax.set_xticks(x[::step], [str(m) for m in monthly.index[::step]], rotation=30, fontsize=8)
            a["legend"] = ax.legend(loc="upper left", fontsize=8, ncol=2)
            ax.set_title(f"{self.w('capacity')} / {self.w('target')}", fontsize=10)
            bx = fig.add_axes((0.72, 0.2, 0.26, 0.68))
            a["hires"] = bx.bar(x, monthly["hires_starting"], color="#d98c1f")
            bx.set_xticks(x[::step * 2], [str(m) for m in monthly.index[::step * 2]], rotation=30, fontsize=8)
            bx.set_title(self.w("hires"), fontsize=10)
            a["ax"], a["bx"] = ax, bx
            full = True
        else:
            a["capacity"].set_ydata(monthly["capacity"].to_numpy())
            for bar, h in zip(a["hires"], monthly["hires_starting"].to_numpy()):
                bar.set_height(h)
        top = max(float(monthly["capacity"].max()), float(monthly["target"].max()))
        _, ylim = a["ax"].get_ylim()
        if full or top > ylim or top < 0.5 * ylim:
            a["ax"].set_ylim(0, top * 1.25 if top > 0 else 1.0)
            full = True
        hires_top = float(monthly["hires_starting"].max())
        _, hlim = a["bx"].get_ylim()
        if full or hires_top > hlim or hires_top < 0.4 * hlim:
            a["bx"].set_ylim(0, max(hires_top * 1.2, 1.0))
            full = True
        self._show([a["capacity"], *a["hires"], a["legend"]], full)

    @classmethod
    def from_workspace(cls, ws: Any, *, by: str = "region", **overrides: Any) -> StaffingExplorer:
        """An explorer on the run's monthly targets, started from the staffing params.

        Targets are the run's ``plan_rep_month`` summed by region and month when the
        targets notebook has written it, else last year's same-month sales x
        (1 + growth) (:func:`salesmodel.domain.staffing.monthly_targets_from_history`);
        months from the end of the history to the plan year are the lead-in
        (:func:`salesmodel.domain.staffing.with_lead_in`). Headcount and tenure are the
        current staff's, productivity the params' or the history's.

        ``by="region"`` (default) plans each region's team on its own, as the
        staffing notebook does; ``by="company"`` plans one company-wide team (one
        solve instead of five: faster, and people count as movable between regions).
        """
        if by not in ("region", "company"):
            raise _bad("by", "StaffingExplorer.from_workspace", "'region' or 'company'", by)
        kwargs = step.capacity_arguments(_context(ws, "staffing"), by=by)
        if by == "company":
            kwargs["monthly_targets"] = kwargs["monthly_targets"].assign(team=word("company", ws.language))
            kwargs["start_headcount"] = {word("company", ws.language): v for v in kwargs["start_headcount"].values()}
            kwargs["start_tenure"] = {word("company", ws.language): v for v in kwargs["start_tenure"].values()}
            if kwargs.get("start_weight") is not None:
                kwargs["start_weight"] = {word("company", ws.language): v for v in kwargs["start_weight"].values()}
        kwargs.update(team_label=by, language=ws.language, money_unit=ws.params.report.money_unit)
        kwargs.update(overrides)
        targets = kwargs.pop("monthly_targets")
        return _attach(cls(targets, **kwargs), ws)
