"""The drawing of each page: charts and readable tables from a step's declared tables.

Notebooks stay thin: a ``parameters`` cell, ``ws.step(...)``, then calls of the
functions here. Nothing here computes a plan figure; it selects, labels, scales
money to the reader's unit and draws. Units come from the table declarations
(:mod:`salesmodel.schema.tables`), words from :mod:`salesmodel.schema.vocabulary`.

>>> page = Page(open_run(params_file, run_dir))          # doctest: +SKIP
>>> show(page.table("targets_region", step.tables["targets_region"]))  # doctest: +SKIP

``Page`` is every page's drawing in one reader (the notebooks make one per page); each page's
methods live in a module of their own (``overview_page`` ... ``leadership_page``) on ``page_base.PageBase``.
"""
from __future__ import annotations

from salesmodel.report.chance_pages import ChancePage
from salesmodel.report.forecast_page import ForecastPage
from salesmodel.report.leadership_page import LeadershipPage
from salesmodel.report.overview_page import OverviewPage
from salesmodel.report.page_base import show
from salesmodel.report.plan_pages import PlanPage
from salesmodel.report.staffing_page import StaffingPage
from salesmodel.report.targets_page import TargetsPage
from salesmodel.report.territory_map_page import TerritoryMapPage
from salesmodel.report.territory_page import TerritoryPage
from salesmodel.report.tracking_page import TrackingPage

__all__ = ["Page", "show"]


class Page(OverviewPage, ForecastPage, TargetsPage, StaffingPage, TerritoryPage, TerritoryMapPage, ChancePage, TrackingPage,
           PlanPage, LeadershipPage):
    """A notebook page's reader: language, money unit, the names readers know ids by, and every page's drawing."""
