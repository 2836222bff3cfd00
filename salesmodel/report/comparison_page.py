"""The batch's scenario comparison page."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from salesmodel.pipeline import run_folder
from salesmodel.pipeline.comparison import reference_name
from salesmodel.report import (
    heading,
    setup_fonts,
)
from salesmodel.report.charts import comparison_chart, target_difference_chart
from salesmodel.report.comparison import (
    pick_pair,
    readable_comparison,
    readable_params_diff,
    readable_targets,
    region_names,
    scenario_label,
)
from salesmodel.schema.vocabulary import word


class ComparisonPage:
    """The scenario comparison of a batch: headline figures and targets against a reference, failures, settings.

    Everything shown comes from the batch's comparison tables (``run_folder.batch_comparison``),
    themselves read from each run's declared tables.
    """

    def __init__(self, batch_dir: Any, *, language: str, money_unit: str, reference: str = "",
                 scenario_a: str = "", scenario_b: str = "") -> None:
        setup_fonts()
        self.lang, self.unit = language, money_unit
        self.batch = Path(batch_dir)
        self.manifest = run_folder.read_batch_manifest(self.batch)
        self.comparison = run_folder.batch_comparison(self.batch)
        self.reference = reference_name(list(self.comparison["scenario"]),
                                        reference or self.manifest.get("reference") or "")
        ref_run = self.comparison.loc[self.comparison["scenario"] == self.reference, "run_id"].iloc[0]
        ref_dir = next(s["run_dir"] for s in self.manifest["scenarios"]
                       if s.get("run_dir") and Path(s["run_dir"]).name == ref_run)
        self.names = region_names(ref_dir, language)
        self.scenario_a, self.scenario_b = scenario_a, scenario_b
        # what readers see: each scenario by its settings in words ("sweep: growth 6%"), never a code name
        self.label = {s["name"]: scenario_label(s["name"], language) for s in self.manifest["scenarios"]}
        self.comparison = self._relabel(self.comparison)
        self.reference = self.label.get(self.reference, self.reference)

    def _relabel(self, table: pd.DataFrame) -> pd.DataFrame:
        if "scenario" not in table.columns:
            return table
        return table.assign(scenario=table["scenario"].map(lambda n: self.label.get(n, n)))

    def _w(self, key: str) -> str:
        return word(key, self.lang)

    @staticmethod
    def _plain(df: pd.DataFrame, caption: str = "") -> Any:
        styler = df.style.hide(axis="index")
        return styler.set_caption(caption) if caption else styler

    def headline(self) -> list[Any]:
        scenarios = self.manifest["scenarios"]
        failed = sum(s["status"] not in ("ok", "unmet") for s in scenarios)
        counts = self._w("cmp_counts").format(n=len(scenarios), failed=failed, reference=self.reference)
        table = readable_comparison(self.comparison, language=self.lang, money_unit=self.unit)
        return [heading(self._w("cmp_title"), 1), heading(self._w("cmp_intro"), 6), heading(counts, 4),
                heading(self._w("cmp_headline"), 3), self._plain(table, self._w("cmp_pay_share_note")),
                comparison_chart(self.comparison, language=self.lang, money_unit=self.unit)]

    def targets(self) -> list[Any]:
        by_region = self._relabel(run_folder.batch_comparison(self.batch, "region"))
        by_month = self._relabel(run_folder.batch_comparison(self.batch, "month"))
        opts = {"language": self.lang, "money_unit": self.unit}
        return [heading(self._w("cmp_by_region"), 3),
                self._plain(readable_targets(by_region, "region", self.reference, names=self.names, **opts)),
                heading(self._w("cmp_by_month"), 3),
                self._plain(readable_targets(by_month, "month", self.reference, **opts)),
                target_difference_chart(by_month, by_region, names=self.names, **opts)]

    def failures(self) -> list[Any]:
        return [heading(self._w("cmp_failed").format(name=self.label.get(s["name"], s["name"]), error=s["error"]), 5)
                for s in self.manifest["scenarios"] if s["status"] not in ("ok", "unmet")]

    def settings(self) -> list[Any]:
        """The settings that differ between two scenarios (default: the reference and the last other one)."""
        raw_of = {v: k for k, v in self.label.items()}
        a, b = pick_pair(self.manifest, raw_of.get(self.scenario_a or self.reference, self.scenario_a or self.reference),
                                 raw_of.get(self.scenario_b, self.scenario_b))
        if a == b and len(self.manifest["scenarios"]) > 1:
            b = next(s["name"] for s in self.manifest["scenarios"] if s["name"] != a)
        diff = readable_params_diff(run_folder.scenario_params(self.batch, a), run_folder.scenario_params(self.batch, b),
                                    self.label.get(a, a), self.label.get(b, b), language=self.lang,
                                    money_unit=self.unit, names=self.names)
        a, b = self.label.get(a, a), self.label.get(b, b)
        return [heading(self._w("cmp_params").format(a=a, b=b), 3),
                self._plain(diff) if len(diff) else heading(self._w("cmp_no_params"), 5)]

