"""Coordinate checks and geometry repair. Coordinates are EPSG:4326, (lon, lat) order."""

from __future__ import annotations

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

# Thailand with a margin for islands: (lon_min, lat_min, lon_max, lat_max).
THAILAND_BBOX = (97.3, 5.5, 105.7, 20.5)


def in_thailand(lon: float, lat: float) -> bool:
    """True if (lon, lat) in degrees lies inside Thailand's bounding box."""
    lon_min, lat_min, lon_max, lat_max = THAILAND_BBOX
    return lon_min <= lon <= lon_max and lat_min <= lat <= lat_max


def to_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Repair `geom` (make_valid) and keep only its polygonal parts, as one MultiPolygon.

    Raises ValueError when nothing polygonal is left (a line or point where an area was due).
    """
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    polys: list[Polygon] = []
    stack = [geom]
    while stack:
        g = stack.pop()
        if isinstance(g, Polygon):
            if not g.is_empty:
                polys.append(g)
        elif isinstance(g, MultiPolygon):
            polys.extend(p for p in g.geoms if not p.is_empty)
        elif hasattr(g, "geoms"):
            stack.extend(g.geoms)
    if not polys:
        raise ValueError(f"no polygon in a {geom.geom_type}")
    result = MultiPolygon(polys)
    if not result.is_valid:
        # Overlapping parts from a repaired collection: dissolving them makes them valid.
        merged = shapely.union_all(polys)
        if isinstance(merged, Polygon):
            merged = MultiPolygon([merged])
        if not isinstance(merged, MultiPolygon):
            raise ValueError(f"the polygons dissolve into a {merged.geom_type}")
        result = merged
    return result
