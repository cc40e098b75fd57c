"""Cluster regions drawn from member provinces or, without boundaries, from member pins.

Input and output are EPSG:4326 (lon, lat). Buffers are computed in UTM zone 47N (EPSG:32647,
metres), which covers Thailand with acceptable distortion for a display outline.
"""

from __future__ import annotations

import shapely
from shapely.geometry import MultiPoint, Point
from shapely.geometry.base import BaseGeometry

from .validate import to_multipolygon

METRIC_CRS = 32647


def union_of(polygons: list[BaseGeometry]) -> BaseGeometry:
    """Dissolve member polygons into one valid (Multi)Polygon."""
    return to_multipolygon(shapely.union_all(polygons))


def hull_of_points(
    points: list[Point], buffer_m: float = 15_000, concave_ratio: float = 0.5
) -> BaseGeometry:
    """A concave hull of the pins, buffered by `buffer_m` metres so one or two pins still show."""
    # geopandas (and pandas) take about a quarter second to import: imported where used, so
    # every app process and CLI command that never reads a boundary file starts without them.
    import geopandas as gpd

    series = gpd.GeoSeries([MultiPoint(points)], crs=4326).to_crs(METRIC_CRS)
    hull = shapely.concave_hull(series.iloc[0], ratio=concave_ratio)
    region = gpd.GeoSeries([hull.buffer(buffer_m)], crs=METRIC_CRS).to_crs(4326).iloc[0]
    return to_multipolygon(region)
