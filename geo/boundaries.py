"""Reading administrative boundary files into EPSG:4326 GeoDataFrames and simplifying them.

Input may be any format GDAL reads (through pyogrio). Output geometries are valid MultiPolygons in
EPSG:4326 with (lon, lat) axis order; a file with no CRS is taken to be EPSG:4326, as RFC 7946
GeoJSON is. Simplification tolerances are in degrees (0.005° ≈ 550 m at Thailand's latitudes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import shapely

from .validate import to_multipolygon

if TYPE_CHECKING:
    import geopandas as gpd

# Field names seen in Thai boundary sets (OCHA COD-AB, DOPA/GISTDA shapefiles); matched
# case-insensitively, first found wins. The user can name the field instead.
CODE_FIELDS = {
    "province": ["ADM1_PCODE", "PROV_CODE", "P_CODE", "PRO_CODE", "CHANGWAT_CODE", "CODE"],
    "amphoe": ["ADM2_PCODE", "AMP_CODE", "AMPHOE_CODE", "A_CODE", "DIST_CODE", "CODE"],
}
NAME_FIELDS = {
    "province": ["ADM1_TH", "PROV_NAMT", "PROV_NAM_T", "NAME_TH", "CHANGWAT_T", "PROVINCE"],
    "amphoe": ["ADM2_TH", "AMP_NAMT", "AMP_NAM_T", "NAME_TH", "AMPHOE_T"],
}
NAME_EN_FIELDS = {
    "province": ["ADM1_EN", "PROV_NAMEE", "PROV_NAM_E", "NAME_EN", "CHANGWAT_E"],
    "amphoe": ["ADM2_EN", "AMP_NAMEE", "AMP_NAM_E", "NAME_EN", "AMPHOE_E"],
}
CODE_DIGITS = {"province": 2, "amphoe": 4}


class BoundaryFileError(ValueError):
    """A boundary file cannot be used; the message names the file and, where known, the feature."""


@dataclass
class BoundarySet:
    """Features of one level, normalised: columns code, name_th, name_en, geometry (EPSG:4326)."""

    frame: gpd.GeoDataFrame
    source_crs: str | None
    repaired: int
    warnings: list[str] = field(default_factory=list)


def _pick(columns: list[str], wanted: list[str], given: str | None) -> str | None:
    if given:
        if given not in columns:
            raise BoundaryFileError(f"field {given!r} not in file (fields: {', '.join(columns)})")
        return given
    upper = {c.upper(): c for c in columns}
    return next((upper[w] for w in wanted if w in upper), None)


def normalise_code(value: object, level: str) -> str | None:
    """'TH47' / '47' / 47 → '47' for provinces; 'TH4711' → '4711' for amphoes; else None."""
    if value is None:
        return None
    text = str(value).strip().upper().removeprefix("TH")
    if text.endswith(".0"):
        text = text[:-2]
    digits = CODE_DIGITS[level]
    if re.fullmatch(r"\d+", text) and len(text) <= digits:
        return text.zfill(digits)
    return None


def read_boundaries(
    path: Path,
    level: str,
    *,
    code_field: str | None = None,
    name_field: str | None = None,
) -> BoundarySet:
    """Read `path`, reproject to EPSG:4326, repair geometries and normalise the attributes.

    Each feature gets `code` (DOPA code as text, or None when the file has no code field) and
    `name_th`. Features sharing a code are dissolved into one MultiPolygon.
    """
    if level not in CODE_DIGITS:
        raise BoundaryFileError(f"level must be province or amphoe, not {level!r}")
    # geopandas (and pandas) take about a quarter second to import: imported where used, so
    # every app process and CLI command that never reads a boundary file starts without them.
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable input
        raise BoundaryFileError(f"{path}: cannot be read as a vector file: {exc}") from exc
    if gdf.empty:
        raise BoundaryFileError(f"{path}: has no features")
    source_crs = gdf.crs.to_string() if gdf.crs is not None else None
    warnings: list[str] = []
    if gdf.crs is None:
        warnings.append(f"{path}: no CRS declared; taken as EPSG:4326 (lon/lat)")
        gdf = gdf.set_crs(4326)
    elif gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)

    columns = [c for c in gdf.columns if c != "geometry"]
    code_col = _pick(columns, CODE_FIELDS[level], code_field)
    name_col = _pick(columns, NAME_FIELDS[level], name_field)
    name_en_col = _pick(columns, NAME_EN_FIELDS[level], None)
    if code_col is None and name_col is None:
        raise BoundaryFileError(
            f"{path}: no code or Thai name field found for level {level} "
            f"(fields: {', '.join(columns)}); name one with --code-field or --name-field"
        )

    rows = []
    repaired = 0
    # read_file numbers the features 0, 1, ...: the label counts them from 1.
    for number, (_, feat) in enumerate(gdf.iterrows(), start=1):
        label = f"{path}: feature {number}"
        geom = feat.geometry
        if geom is None or geom.is_empty:
            raise BoundaryFileError(f"{label}: has no geometry")
        if not geom.is_valid:
            repaired += 1
        try:
            geom = to_multipolygon(geom)
        except ValueError as exc:
            raise BoundaryFileError(f"{label}: {exc}") from exc
        code = None
        if code_col is not None:
            code = normalise_code(feat[code_col], level)
            if code is None:
                raise BoundaryFileError(
                    f"{label}: {code_col}={feat[code_col]!r} is not a {level} code "
                    f"({CODE_DIGITS[level]} digits, optional TH prefix)"
                )
        rows.append(
            {
                "code": code,
                "name_th": str(feat[name_col]).strip() if name_col else "",
                "name_en": str(feat[name_en_col]).strip() if name_en_col else "",
                "geometry": geom,
            }
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    key = "code" if code_col is not None else "name_th"
    if frame[key].duplicated().any():
        frame = frame.dissolve(by=key, as_index=False, aggfunc="first")
        frame["geometry"] = frame.geometry.map(to_multipolygon)
    return BoundarySet(frame=frame, source_crs=source_crs, repaired=repaired, warnings=warnings)


def simplify_for_web(geoms: gpd.GeoSeries, tolerance_deg: float) -> gpd.GeoSeries:
    """Simplify a set of adjoining polygons so shared borders stay shared (coverage simplify).

    Falls back to per-polygon topology-preserving simplification when the set is not a clean
    coverage (overlaps or gaps), which coverage simplification requires.
    """
    import geopandas as gpd  # imported where used, see read_boundaries

    arr = geoms.values
    try:
        if not shapely.coverage_is_valid(arr):
            raise ValueError("not a coverage")
        simplified = shapely.coverage_simplify(arr, tolerance_deg)
    except (ValueError, shapely.errors.GEOSException):
        simplified = shapely.simplify(arr, tolerance_deg, preserve_topology=True)
    return gpd.GeoSeries([to_multipolygon(g) for g in simplified], index=geoms.index, crs=geoms.crs)
