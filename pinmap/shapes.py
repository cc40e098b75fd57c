"""Shapely shapes of PostGIS columns, typed by what the column holds."""

from __future__ import annotations

from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import to_shape
from shapely.geometry import Point


def point_of(element: WKBElement) -> Point:
    """The point of a POINT column (geoalchemy2 types its shapes as any geometry)."""
    shape = to_shape(element)
    if not isinstance(shape, Point):
        raise TypeError(f"a {shape.geom_type} where a point column was read")
    return shape
