"""The territory maps page's drawing: what its notebook shows, from the step's tables."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from salesmodel.report.page_base import _MAP_COLOURS, PageBase, _neighbour_colours, _province_outlines


class TerritoryMapPage(PageBase):
    """The territory maps page."""

    def territory_map(self, assignment: pd.DataFrame, metrics: pd.DataFrame) -> Any:
        """The proposed territories on the map: neighbouring territories in different colours,
        each rep's name at the territory's centre, accounts that change territory marked,
        province outlines (China's, shipped in salesmodel/data) or else neighbours joined as
        in the adjacency table."""
        import matplotlib.patheffects as pe
        import matplotlib.pyplot as plt
        from matplotlib.patches import Polygon

        customers = self.ws.input("customers").set_index("customer_id")[["lat", "lon"]]
        provinces = self.ws.input("provinces").set_index("province_id")
        edges = self.ws.input("adjacency")
        names = self.province_names
        where = customers.reindex(assignment["customer_id"])
        fig, ax = plt.subplots(figsize=(10, 8))
        # frame the customers (far provinces without accounts would shrink them to a dot)
        lon_lo, lon_hi = where["lon"].min(), where["lon"].max()
        lat_lo, lat_hi = where["lat"].min(), where["lat"].max()
        pad_lon, pad_lat = 0.04 * (lon_hi - lon_lo) + 0.5, 0.04 * (lat_hi - lat_lo) + 0.5
        ax.set_xlim(lon_lo - pad_lon, lon_hi + pad_lon)
        ax.set_ylim(lat_lo - pad_lat, lat_hi + pad_lat)
        ax.set_aspect(1 / np.cos(np.radians((lat_lo + lat_hi) / 2)))  # a degree of longitude is shorter
        outlines = _province_outlines()
        if set(provinces.index) <= set(outlines):
            for pid in provinces.index:
                for ring in outlines[pid]:
                    ax.add_patch(Polygon(ring, closed=True, facecolor="0.97", edgecolor="0.75", lw=0.6, zorder=0))
        else:  # provinces the shipped outlines do not know: join neighbours as in the adjacency table
            for a, b in edges[["province_a", "province_b"]].itertuples(index=False):
                ax.plot([provinces.loc[a, "lon"], provinces.loc[b, "lon"]], [provinces.loc[a, "lat"], provinces.loc[b, "lat"]],
                        color="0.88", lw=0.8, zorder=1)
        for pid, row in provinces.iterrows():
            ax.annotate(names.get(pid, pid), (row["lon"], row["lat"]), fontsize=7, color="0.55", ha="center",
                        va="center", zorder=2, annotation_clip=True)
        territories = assignment["territory"].astype(str).to_numpy()
        proposed = metrics[metrics["plan"] == "proposed"]
        centres = customers.reindex(proposed["centre"])
        bases = self.territory_bases()
        around_reps = bool(centres["lat"].isna().all()) and {"base_lat", "base_lon"} <= set(bases.columns)
        if around_reps and "region_id" in provinces.columns:
            # the national view by region (each region's territories are on the region maps)
            region = assignment["customer_id"].map(self.ws.input("customers").set_index("customer_id")["province_id"]) \
                .map(provinces["region_id"]).astype(str).to_numpy()
            regions = sorted(set(region))
            region_names = self.region_names
            for i, r in enumerate(regions):
                here = region == r
                ax.scatter(where["lon"].to_numpy()[here], where["lat"].to_numpy()[here], s=14, zorder=3, linewidths=0,
                           c=_MAP_COLOURS[i % len(_MAP_COLOURS)], label=str(region_names.get(r, r)))
        else:
            colour_of = _neighbour_colours(where[["lon", "lat"]].to_numpy(), territories)
            ax.scatter(where["lon"], where["lat"], c=[colour_of[t] for t in territories], s=14, zorder=3, linewidths=0)
        moved = assignment["moved"].astype(bool).to_numpy()
        if moved.any():
            ax.scatter(where["lon"].to_numpy()[moved], where["lat"].to_numpy()[moved], s=1.5, c="k", linewidths=0,
                       zorder=4, label=f"{self.w('accounts_moved')} ({int(moved.sum()):,})")
        if around_reps:  # territories around reps: each rep's base
            centres = bases.reindex(proposed["territory"].astype(str))[["base_lat", "base_lon"]].set_axis(
                ["lat", "lon"], axis=1).apply(pd.to_numeric, errors="coerce")
            ax.scatter(centres["lon"], centres["lat"], marker="^", s=28, c="white", edgecolors="k", linewidths=0.8,
                       zorder=5, label=self.w("col_base_city"))
            proposed, centres = proposed.iloc[0:0], centres.iloc[0:0]  # names on the region maps, not over the provinces' here
        reps = self.territory_names(short=True)
        outline = [pe.withStroke(linewidth=2, foreground="white")]
        # rep names at the centres, largest territories first; a name that would sit on another is left
        # out (every territory is in the tables)
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        placed: list[tuple[float, float]] = []
        order = proposed.assign(lat=centres["lat"].to_numpy(), lon=centres["lon"].to_numpy())
        order = order.sort_values(["units", "territory"], ascending=[False, True])
        for territory, lat, lon in order[["territory", "lat", "lon"]].itertuples(index=False):
            fx, fy = (lon - x0) / (x1 - x0), (lat - y0) / (y1 - y0)
            if any(abs(fx - px) < 0.05 and abs(fy - py) < 0.018 for px, py in placed):
                continue
            placed.append((fx, fy))
            ax.annotate(reps.get(str(territory), str(territory)), (lon, lat), fontsize=6.5, ha="center", va="center",
                        zorder=5, path_effects=outline, annotation_clip=True)
        ax.set_xlabel(self.w("longitude"))
        ax.set_ylabel(self.w("latitude"))
        ax.set_title(f"{self.w('proposed_territories')} ({len(metrics[metrics['plan'] == 'proposed'])})")
        if around_reps:  # beside the map: it would cover accounts in the south-east
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, markerscale=1.5, frameon=False)
            fig.tight_layout()
        elif moved.any():
            ax.legend(loc="lower right", fontsize=8, markerscale=4)
        ax.grid(False)
        return fig

    def territory_region_maps(self, assignment: pd.DataFrame, metrics: pd.DataFrame) -> Any:  # noqa: ARG002
        """One map per region (small multiples): each territory's accounts in a colour that differs from its
        neighbours', each rep's base marked with the rep's name (above the mark; province names below their
        capitals, in grey), province outlines, accounts that change rep ringed in black without hiding them."""
        import math

        import matplotlib.patheffects as pe
        import matplotlib.pyplot as plt
        from matplotlib.patches import Polygon

        customers = self.ws.input("customers").set_index("customer_id")
        provinces = self.ws.input("provinces").set_index("province_id")
        reps = self.territory_bases()
        if not {"base_lat", "base_lon"} <= set(reps.columns) or "region_id" not in provinces.columns:
            return None
        bases = reps[["base_lat", "base_lon"]].apply(pd.to_numeric, errors="coerce")
        region_of = provinces["region_id"]
        a = assignment.join(customers[["lat", "lon", "province_id"]], on="customer_id")
        a["region"] = a["province_id"].map(region_of)
        regions = sorted(a["region"].dropna().unique().tolist())
        if not regions:
            return None
        cols = 3 if len(regions) > 4 else min(2, len(regions))
        rows = math.ceil(len(regions) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(5.4 * cols, 4.8 * rows), squeeze=False)
        outlines = _province_outlines()
        names, rep_names, region_names = self.province_names, self.territory_names(short=True), self.region_names
        outline = [pe.withStroke(linewidth=2.2, foreground="white")]
        for ax, region in zip(axes.flat, regions):
            part = a[a["region"] == region]
            lon_lo, lon_hi, lat_lo, lat_hi = part["lon"].min(), part["lon"].max(), part["lat"].min(), part["lat"].max()
            pad_lon, pad_lat = 0.06 * (lon_hi - lon_lo) + 0.4, 0.06 * (lat_hi - lat_lo) + 0.4
            ax.set_xlim(lon_lo - pad_lon, lon_hi + pad_lon)
            ax.set_ylim(lat_lo - pad_lat, lat_hi + pad_lat)
            ax.set_aspect(1 / np.cos(np.radians((lat_lo + lat_hi) / 2)))
            for pid in provinces.index:
                inside = region_of.get(pid) == region
                for ring in outlines.get(pid, []):
                    ax.add_patch(Polygon(ring, closed=True, facecolor="0.96" if inside else "0.99",
                                         edgecolor="0.6" if inside else "0.85", lw=0.6, zorder=0))
                if inside:
                    ax.annotate(names.get(pid, pid), (provinces.loc[pid, "lon"], provinces.loc[pid, "lat"]),
                                xytext=(0, -10), textcoords="offset points", fontsize=6.5, color="0.5", ha="center",
                                va="top", zorder=2, annotation_clip=True)  # no italic: CJK fonts have none
            territories = part["territory"].astype(str).to_numpy()
            colour_of = _neighbour_colours(part[["lon", "lat"]].to_numpy(), territories, spread=True)
            ax.scatter(part["lon"], part["lat"], c=[colour_of[t] for t in territories], s=12, zorder=3, linewidths=0)
            moved = part["moved"].astype(bool).to_numpy()
            if moved.any():
                ax.scatter(part["lon"].to_numpy()[moved], part["lat"].to_numpy()[moved], s=24, facecolors="none",
                           edgecolors="0.1", linewidths=0.45, zorder=4)
            here = bases.reindex(sorted(set(territories))).dropna()
            (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
            inside = here[(here["base_lon"].between(x0, x1)) & (here["base_lat"].between(y0, y1))]
            ax.scatter(inside["base_lon"], inside["base_lat"], marker="^", s=46,
                       c=[colour_of.get(r, "white") for r in inside.index], edgecolors="k", linewidths=0.8, zorder=5)
            placed: list[tuple[float, float]] = []
            for rep, row in inside.sort_index().iterrows():
                fx, fy = (row["base_lon"] - x0) / (x1 - x0), (row["base_lat"] - y0) / (y1 - y0)
                shift = sum(abs(fx - px) < 0.12 and abs(fy - py) < 0.04 for px, py in placed)
                placed.append((fx, fy))
                ax.annotate(rep_names.get(rep, rep), (row["base_lon"], row["base_lat"]), xytext=(0, 6 + 9 * shift),
                            textcoords="offset points", fontsize=7.5, ha="center", va="bottom", zorder=6,
                            path_effects=outline, annotation_clip=True)
            ax.set_title(f"{region_names.get(region, region)} ({len(set(territories))})", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in list(axes.flat)[len(regions):]:
            ax.set_visible(False)
        moved_n = int(a["moved"].astype(bool).sum())
        fig.suptitle(f"{self.w('proposed_territories')}: {self.w('region')} · ▲ {self.w('col_base_city')}"
                     + (f" · ○ {self.w('accounts_moved')} ({moved_n:,})" if moved_n else ""), fontsize=11)
        fig.tight_layout()
        return fig
