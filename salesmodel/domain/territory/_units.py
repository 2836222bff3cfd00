"""Checked units: ids, coordinates, measures, weights and distances as arrays.

Every public verb of the territory package validates its ``units`` table once,
here, and works on the arrays afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import TOLERANCES, check, param_error
from salesmodel.errors import InputError, short_list

EARTH_RADIUS_KM = 6371.0088

DEFAULT_BALANCE = {"potential": 0.05, "workload": 0.10}


@dataclass(frozen=True)
class Units:
    """The units of one call, checked and turned into arrays."""

    ids: np.ndarray  # unit ids as given (object array), in input order
    kind: str  # "latlon" or "xy"
    coords: np.ndarray  # n x 2: (lat, lon) or (x, y) as given
    plane: np.ndarray  # n x 2 planar coordinates (km for lat/lon) for triangulation
    points: np.ndarray  # n x 3 unit vectors (lat/lon) or n x 2 (x/y) for distances
    measures: np.ndarray  # n x q, the measures to balance
    measure_names: tuple[str, ...]
    tolerances: np.ndarray  # q
    weights: np.ndarray  # n, weight of a unit in the compactness objective

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def position(self) -> dict[Any, int]:
        return {u: i for i, u in enumerate(self.ids)}

    @property
    def distance_unit(self) -> str:
        return "km" if self.kind == "latlon" else "coordinate units"

    def dist(self, i: int, others: np.ndarray | int) -> np.ndarray:
        """Distances from unit ``i`` to ``others`` (haversine km for lat/lon)."""
        diff = self.points[others] - self.points[i]
        chord = np.sqrt(np.sum(diff * diff, axis=-1))
        if self.kind == "latlon":
            return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, chord / 2.0))
        return chord

    def dist_matrix(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Distance matrix between two sets of units."""
        a = self.points[rows]
        b = self.points[cols]
        sq = np.sum(a * a, 1)[:, None] + np.sum(b * b, 1)[None, :] - 2.0 * a @ b.T
        chord = np.sqrt(np.maximum(sq, 0.0))
        if self.kind == "latlon":
            return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, chord / 2.0))
        return chord


def prepare_units(units: Any, balance_on: Any, *, func: str, need_measures: bool = True) -> Units:
    """Validate a units table and return its arrays.

    Raises ``InputError`` for duplicate ids, missing or non-numeric coordinates and
    negative or missing measures; ``ParamsError`` for a malformed ``balance_on``.
    """
    if not isinstance(units, pd.DataFrame):
        raise param_error("units", func, "a DataFrame with a 'unit_id' column, coordinates and measures", shown=f"{type(units).__name__}")
    tolerances = {} if balance_on is None else check(balance_on, TOLERANCES, "balance_on", func)
    if "unit_id" not in units.columns:
        raise InputError(
            f"units: no 'unit_id' column; expected one row per unit with 'unit_id', "
            f"'lat'/'lon' or 'x'/'y' and the measures (columns: {short_list(units.columns)})"
        )
    if len(units) == 0:
        raise InputError("units: the table is empty; expected at least one unit")
    ids = units["unit_id"].to_numpy(dtype=object)
    missing_id = pd.isna(units["unit_id"]).to_numpy()
    if missing_id.any():
        rows = np.flatnonzero(missing_id)
        raise InputError(f"units: column 'unit_id' is empty in rows {short_list(rows.tolist())}")
    dup = units["unit_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError(
            f"units: duplicate unit_id values {short_list(pd.unique(ids[dup]).tolist())}; "
            f"each unit must appear once"
        )
    if {"lat", "lon"} <= set(units.columns):
        kind, cols = "latlon", ("lat", "lon")
    elif {"x", "y"} <= set(units.columns):
        kind, cols = "xy", ("x", "y")
    else:
        raise InputError(
            f"units: no coordinates; expected columns 'lat' and 'lon' (degrees) or 'x' and 'y' "
            f"(columns: {short_list(units.columns)})"
        )
    coords = np.empty((len(units), 2))
    for c, col in enumerate(cols):
        values = pd.to_numeric(units[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            raise InputError(
                f"units: missing or non-numeric coordinates in column '{col}' for unit_id "
                f"{short_list(ids[bad].tolist())}; every unit needs both '{cols[0]}' and '{cols[1]}'"
            )
        coords[:, c] = values
    if kind == "latlon":
        bad = (np.abs(coords[:, 0]) > 90) | (np.abs(coords[:, 1]) > 180)
        if bad.any():
            raise InputError(
                f"units: coordinates out of range for unit_id {short_list(ids[bad].tolist())}; "
                f"expected lat in [-90, 90] and lon in [-180, 180] degrees"
            )
        lat = np.radians(coords[:, 0])
        lon = np.radians(coords[:, 1])
        points = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
        # Local equirectangular plane around the centre of the units, in km.
        lat0 = np.radians(np.mean(coords[:, 0]))
        lon0 = np.radians(np.mean(coords[:, 1]))
        dlon = (lon - lon0 + np.pi) % (2 * np.pi) - np.pi
        plane = np.column_stack([EARTH_RADIUS_KM * dlon * np.cos(lat0), EARTH_RADIUS_KM * (lat - lat0)])
    else:
        points = coords.copy()
        plane = coords.copy()

    names = tuple(tolerances)
    measures = np.zeros((len(units), len(names)))
    for c, name in enumerate(names):
        if name not in units.columns:
            raise InputError(
                f"units: no column '{name}' to balance on; the measures named in 'balance_on' must "
                f"be columns of units (columns: {short_list(units.columns)})"
            )
        values = pd.to_numeric(units[name], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            raise InputError(
                f"units: column '{name}' is missing or not a number for unit_id "
                f"{short_list(ids[bad].tolist())}; measures to balance must be numbers >= 0"
            )
        neg = values < 0
        if neg.any():
            raise InputError(
                f"units: column '{name}' has negative values for unit_id "
                f"{short_list(ids[neg].tolist())}; measures to balance must be >= 0"
            )
        measures[:, c] = values
    # A unit's weight in the compactness objective: the mean of its measures, each
    # scaled to a mean of 1, so every balanced measure counts equally.
    if names:
        col_means = measures.mean(axis=0)
        scaled = np.divide(measures, col_means, out=np.zeros_like(measures), where=col_means > 0)
        weights = scaled.mean(axis=1)
    else:
        weights = np.ones(len(units))
    return Units(
        ids=ids,
        kind=kind,
        coords=coords,
        plane=plane,
        points=points,
        measures=measures,
        measure_names=names,
        tolerances=np.array([tolerances[n] for n in names], dtype=float),
        weights=weights,
    )


def check_k(k: Any, n: int, func: str) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise param_error("k", func, "a whole number of territories", k)
    if k < 1:
        raise param_error("k", func, "at least 1", shown=f"{k}")
    if k > n:
        raise param_error("k", func, f"at most the number of units ({n})", shown=f"{k}")
    return int(k)


def labels_for(units: Units, assignment: Any, *, name: str, func: str, allow_missing: bool) -> np.ndarray:
    """Territory label of each unit (object array, None when unassigned) from a Series or table.

    Accepts a Series indexed by unit_id, a mapping, or a DataFrame with 'unit_id' and
    'territory' columns.
    """
    if isinstance(assignment, pd.DataFrame):
        if not {"unit_id", "territory"} <= set(assignment.columns):
            raise InputError(
                f"{name}: expected columns 'unit_id' and 'territory' "
                f"(columns: {short_list(assignment.columns)})"
            )
        dup = assignment["unit_id"].duplicated(keep=False)
        if dup.any():
            raise InputError(
                f"{name}: unit_id assigned more than once: "
                f"{short_list(pd.unique(assignment.loc[dup, 'unit_id']).tolist())}"
            )
        series = pd.Series(assignment["territory"].to_numpy(), index=assignment["unit_id"].to_numpy())
    elif isinstance(assignment, pd.Series):
        if assignment.index.has_duplicates:
            raise InputError(
                f"{name}: unit_id assigned more than once: "
                f"{short_list(assignment.index[assignment.index.duplicated()].unique().tolist())}"
            )
        series = assignment
    elif isinstance(assignment, dict):
        series = pd.Series(assignment, dtype=object)
    else:
        raise param_error(
            name,
            func,
            "a Series indexed by unit_id, a dict, or a DataFrame with 'unit_id' and 'territory'",
            shown=f"{type(assignment).__name__}",
        )
    pos = units.position
    unknown = [u for u in series.index if u not in pos]
    if unknown:
        raise InputError(f"{name}: unit_id not among the units: {short_list(unknown)}")
    labels = np.full(units.n, None, dtype=object)
    for u, t in series.items():
        labels[pos[u]] = None if pd.isna(t) else t
    if not allow_missing:
        missing = np.array([lab is None for lab in labels])
        if missing.any():
            raise InputError(
                f"{name}: no territory for unit_id {short_list(units.ids[missing].tolist())}; "
                f"every unit must be assigned exactly once"
            )
    return labels
