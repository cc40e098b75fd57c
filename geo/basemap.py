"""The embedded basemap (data/basemap/thailand.topo.json) read into shapely geometries.

The file is TopoJSON (quantized, delta-encoded arcs) written by scripts/build_basemap.mjs from
Natural Earth; EPSG:4326, (lon, lat). Only polygon objects are used, so this decoder handles
Polygon and MultiPolygon geometries (and null ones, which it skips).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, Polygon

from .validate import to_multipolygon

BASEMAP_FILE = Path(__file__).resolve().parent.parent / "data" / "basemap" / "thailand.topo.json"

Ring = list[tuple[float, float]]


@dataclass(frozen=True)
class BasemapFeature:
    """One feature of an object: its properties and its geometry as a valid MultiPolygon."""

    properties: dict[str, Any]
    geometry: MultiPolygon


def _decode_arcs(topology: dict[str, Any]) -> list[Ring]:
    transform = topology.get("transform")
    arcs: list[Ring] = []
    for arc in topology["arcs"]:
        if transform is None:
            arcs.append([(float(x), float(y)) for x, y, *_ in arc])
            continue
        (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
        x = y = 0
        points: Ring = []
        for dx, dy, *_ in arc:  # delta-encoded integers
            x += dx
            y += dy
            # Six decimals (0.1 m): the grid is ~50 m, and shorter numbers make smaller JSON.
            points.append((round(x * sx + tx, 6), round(y * sy + ty, 6)))
        arcs.append(points)
    return arcs


def _ring(arcs: list[Ring], indexes: list[int]) -> Ring:
    """Join arcs into a ring; a negative index ~i is arc i reversed, and each arc after the
    first repeats the previous arc's last point, which is dropped."""
    ring: Ring = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        ring.extend(arc[1:] if ring else arc)
    return ring


def _polygon(arcs: list[Ring], rings: list[list[int]]) -> Polygon | None:
    coords = [_ring(arcs, r) for r in rings]
    if len(coords[0]) < 4:
        return None
    return Polygon(coords[0], [c for c in coords[1:] if len(c) >= 4])


def _geometry(arcs: list[Ring], geometry: dict[str, Any]) -> MultiPolygon | None:
    if geometry.get("type") == "Polygon":
        parts = [_polygon(arcs, geometry["arcs"])]
    elif geometry.get("type") == "MultiPolygon":
        parts = [_polygon(arcs, rings) for rings in geometry["arcs"]]
    else:
        return None
    polygons = [p for p in parts if p is not None]
    return to_multipolygon(MultiPolygon(polygons)) if polygons else None


def read_topojson(text: str) -> dict[str, list[BasemapFeature]]:
    """Every object of a TopoJSON document as its list of polygon features."""
    topology = json.loads(text)
    if topology.get("type") != "Topology":
        raise ValueError("not a TopoJSON Topology")
    arcs = _decode_arcs(topology)
    objects: dict[str, list[BasemapFeature]] = {}
    for name, obj in topology["objects"].items():
        features = []
        for geometry in obj.get("geometries", [obj]):
            shape = _geometry(arcs, geometry)
            if shape is not None:
                features.append(BasemapFeature(dict(geometry.get("properties") or {}), shape))
        objects[name] = features
    return objects


@cache
def basemap(path: Path = BASEMAP_FILE) -> dict[str, list[BasemapFeature]]:
    """The committed basemap, decoded once per process."""
    return read_topojson(path.read_text(encoding="utf-8"))


def province_polygons(path: Path = BASEMAP_FILE) -> dict[str, MultiPolygon]:
    """Province code (DOPA, two digits) → its outline."""
    return {f.properties["code"]: f.geometry for f in basemap(path)["provinces"]}
