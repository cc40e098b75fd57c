"""The embedded basemap projected to SVG path data, for maps drawn on the server.

Equirectangular with the x axis scaled by cos(mid-latitude): across Thailand's 15 degrees of
latitude that distorts area by under 4 %, less than Natural Earth's 1:10m detail shows, and it
keeps the arithmetic trivially reproducible. Outlines are simplified to about half a pixel at
the requested width (Douglas-Peucker on each province; the sub-pixel gaps this opens between
neighbours vanish under the stroke). Everything is cached per width: a map is a dict lookup
and string formatting after the first call.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from .basemap import BASEMAP_FILE, basemap
from .validate import to_multipolygon

PAD_PX = 4.0


@dataclass(frozen=True)
class Frame:
    """Degrees → pixels: x = (lon - west) * kx + pad, y = (north - lat) * ky + pad."""

    west: float
    north: float
    kx: float
    ky: float
    width: float
    height: float

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.west) * self.kx + PAD_PX, (self.north - lat) * self.ky + PAD_PX


def fit(bounds: tuple[float, float, float, float], width: int) -> Frame:
    """A frame `width` pixels wide showing `bounds` (west, south, east, north) undistorted."""
    west, south, east, north = bounds
    ky = (width - 2 * PAD_PX) / ((east - west) * math.cos(math.radians((south + north) / 2)))
    kx = ky * math.cos(math.radians((south + north) / 2))
    return Frame(west, north, kx, ky, float(width), (north - south) * ky + 2 * PAD_PX)


def _ring_d(coords: Iterable[tuple[float, ...]], frame: Frame) -> str:
    out: list[str] = []
    last = ""
    for lon, lat, *_ in coords:
        x, y = frame.xy(lon, lat)
        point = f"{x:.1f} {y:.1f}"
        if point != last:  # consecutive points within a tenth of a pixel add nothing
            out.append(point)
            last = point
    return ("M" + "L".join(out) + "Z") if len(out) >= 3 else ""


def path_d(geometry: BaseGeometry, frame: Frame) -> str:
    """SVG path data for a (Multi)Polygon; holes are separate subpaths (fill-rule evenodd)."""
    polygons: list[Polygon] = list(getattr(geometry, "geoms", [geometry]))
    parts: list[str] = []
    for polygon in polygons:
        if not isinstance(polygon, Polygon) or polygon.is_empty:
            continue
        parts.append(_ring_d(polygon.exterior.coords, frame))
        parts.extend(_ring_d(ring.coords, frame) for ring in polygon.interiors)
    return "".join(parts)


@dataclass(frozen=True)
class ProvinceShape:
    code: str
    name_th: str
    name_en: str
    d: str
    label_xy: tuple[float, float]


@dataclass(frozen=True)
class ProjectedBasemap:
    frame: Frame
    provinces: dict[str, ProvinceShape]
    neighbours: str  # one path: every neighbouring country within the frame
    simplified: dict[str, MultiPolygon]  # the provinces as drawn, for unions (cluster outlines)


@cache
def projected_basemap(width: int) -> ProjectedBasemap:
    """Thailand's provinces (and its neighbours, clipped) projected to a `width`-pixel frame."""
    objects = basemap(BASEMAP_FILE)
    provinces = objects["provinces"]
    bounds = shapely.union_all([f.geometry for f in provinces]).bounds
    frame = fit(bounds, width)
    tolerance = 0.5 / frame.ky  # half a pixel, in degrees
    shapes: dict[str, ProvinceShape] = {}
    simplified: dict[str, MultiPolygon] = {}
    for feature in provinces:
        props = feature.properties
        geom = to_multipolygon(feature.geometry.simplify(tolerance, preserve_topology=True))
        simplified[props["code"]] = geom
        label = props.get("label") or list(geom.representative_point().coords[0])
        shapes[props["code"]] = ProvinceShape(
            props["code"],
            str(props.get("name_th", "")),
            str(props.get("name_en", "")),
            path_d(geom, frame),
            frame.xy(float(label[0]), float(label[1])),
        )
    margin = 2 * PAD_PX / frame.ky
    box = (bounds[0] - margin, bounds[1] - margin, bounds[2] + margin, bounds[3] + margin)
    neighbours = "".join(
        path_d(shapely.clip_by_rect(f.geometry, *box).simplify(tolerance), frame)
        for f in objects.get("countries", [])
    )
    return ProjectedBasemap(frame, shapes, neighbours, simplified)


@cache
def group_outlines(
    width: int, groups: tuple[tuple[str, tuple[str, ...]], ...]
) -> dict[str, tuple[str, tuple[float, float]]]:
    """Each group of province codes (a cluster) as one outline path and a label point.

    Unknown codes are skipped; a group with none known is left out.
    """
    projected = projected_basemap(width)
    out: dict[str, tuple[str, tuple[float, float]]] = {}
    for key, codes in groups:
        members = [projected.simplified[c] for c in codes if c in projected.simplified]
        if not members:
            continue
        # A tiny buffer closes the sub-pixel gaps simplification left between neighbours, so
        # the union has no slivers inside a cluster.
        eps = 0.6 / projected.frame.ky
        union = to_multipolygon(shapely.union_all([m.buffer(eps) for m in members]).buffer(-eps))
        point = union.representative_point()
        out[key] = (path_d(union, projected.frame), projected.frame.xy(point.x, point.y))
    return out
