"""Storing imported boundaries in PostGIS, answering questions that need them, and the province
outlines maps and cluster regions draw (imported, else the embedded basemap)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Float, delete, func, select
from sqlalchemy.orm import Session

from geo import basemap
from geo.boundaries import BoundaryFileError, BoundarySet, simplify_for_web
from geo.regions import union_of

from ..models import Amphoe, BoundaryImport, Office, Province

if TYPE_CHECKING:
    import geopandas as gpd  # annotations only: importing it costs every process (geo.boundaries)

WEB_TOLERANCE_DEG = {"province": 0.005, "amphoe": 0.002}


@dataclass
class ImportResult:
    import_id: int
    matched: int
    unchanged: bool = False
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def already_imported(session: Session, level: str, sha256: str) -> bool:
    """True when the newest import of `level` came from a file with this content hash."""
    latest = session.scalars(
        select(BoundaryImport).filter_by(level=level).order_by(BoundaryImport.id.desc()).limit(1)
    ).first()
    if latest is None or latest.sha256 != sha256:
        return False
    if level == "province":
        return bool(session.scalar(select(func.count()).where(Province.geom.is_not(None))))
    return bool(session.scalar(select(func.count()).select_from(Amphoe)))


def import_boundaries(
    session: Session,
    bset: BoundarySet,
    level: str,
    *,
    source_name: str,
    sha256: str,
    attribution: str = "",
) -> ImportResult:
    """Match features to provinces (by DOPA code, else Thai name) and store both geometries.

    Raises BoundaryFileError naming the feature when a feature matches no known province.
    """
    frame = bset.frame
    provinces = {p.code: p for p in session.scalars(select(Province))}
    by_name = {p.name_th: p for p in provinces.values()}
    tolerance = WEB_TOLERANCE_DEG[level]
    frame = frame.assign(geom_web=simplify_for_web(frame.geometry, tolerance))

    record = BoundaryImport(
        level=level,
        source_name=source_name,
        sha256=sha256,
        source_crs=bset.source_crs,
        feature_count=len(frame),
        repaired_count=bset.repaired,
        simplify_tolerance_deg=tolerance,
        attribution=attribution,
    )
    session.add(record)
    session.flush()

    matched = 0
    if level == "province":
        seen: set[str] = set()
        for i, row in enumerate(_features(frame), start=1):
            prov = provinces.get(row.code) if row.code else by_name.get(row.name_th)
            if prov is None:
                raise BoundaryFileError(
                    f"{source_name}: feature {i} (code={row.code!r}, name={row.name_th!r}) "
                    "matches no province in data/provinces.csv"
                )
            prov.geom = from_shape(row.geometry, srid=4326)
            prov.geom_web = from_shape(row.geom_web, srid=4326)
            prov.boundary_import_id = record.id
            seen.add(prov.code)
            matched += 1
        missing = sorted(set(provinces) - seen)
    else:
        if frame["code"].isna().any():
            raise BoundaryFileError(f"{source_name}: amphoe import needs a 4-digit code field")
        session.execute(delete(Amphoe))
        for i, row in enumerate(_features(frame), start=1):
            if row.code is None or row.code[:2] not in provinces:
                raise BoundaryFileError(
                    f"{source_name}: feature {i} (code={row.code!r}) is in no known province"
                )
            session.add(
                Amphoe(
                    code=row.code,
                    province_code=row.code[:2],
                    name_th=row.name_th,
                    name_en=row.name_en,
                    geom=from_shape(row.geometry, srid=4326),
                    geom_web=from_shape(row.geom_web, srid=4326),
                    boundary_import_id=record.id,
                )
            )
            matched += 1
        missing = []
    session.flush()
    return ImportResult(
        import_id=record.id, matched=matched, missing=missing, warnings=list(bset.warnings)
    )


class _Feature(NamedTuple):
    code: str | None  # None when the file has no code field
    name_th: str
    name_en: str
    geometry: MultiPolygon
    geom_web: MultiPolygon


def _features(frame: gpd.GeoDataFrame) -> Iterator[_Feature]:
    """The frame's rows with their columns by name (pandas types a row as any scalars)."""
    columns = (frame[name] for name in _Feature._fields)
    for values in zip(*columns, strict=True):
        yield _Feature(*values)


@dataclass(frozen=True)
class Misplaced:
    code: str
    name_th: str
    province_th: str
    distance_km: float


def offices_outside_province(session: Session) -> list[Misplaced]:
    """Offices whose pin is not inside their office province's polygon, with distance to it."""
    stmt = (
        select(
            Office.code,
            Office.name_th,
            Province.name_th,
            func.ST_Distance(
                func.Geography(Office.geom), func.Geography(Province.geom), type_=Float
            ),
        )
        .join(Province, Province.code == Office.office_province_code)
        .where(Province.geom.is_not(None))
        .where(~func.ST_Intersects(Office.geom, Province.geom))
        .order_by(Office.code)
    )
    return [Misplaced(c, n, p, round(d / 1000, 2)) for c, n, p, d in session.execute(stmt)]


@dataclass(frozen=True)
class Outlines:
    """Province outlines for display and cluster regions: the imported ones (`basis`
    "provinces") when an import filled every province it matched, else the embedded basemap's
    ("basemap", Natural Earth). `version` changes whenever the shapes do."""

    basis: str
    version: str
    shapes: Mapping[str, BaseGeometry]


# Imported outlines and dissolved regions, per process: each import has its own id, so a
# version never names two different sets of shapes. Kept small: the newest import only, and
# the regions of a few hundred memberships.
_imported: dict[str, dict[str, BaseGeometry]] = {}
_unions: dict[tuple[str, tuple[str, ...]], BaseGeometry] = {}
_MAX_UNIONS = 512


def province_outlines(session: Session) -> Outlines:
    newest, count = session.execute(
        select(func.max(Province.boundary_import_id), func.count()).where(
            Province.geom_web.is_not(None)
        )
    ).one()
    if not count:
        return Outlines("basemap", "basemap", basemap.province_polygons())
    version = f"import-{newest}-{count}"
    if version not in _imported:
        shapes = {
            code: to_shape(geom)
            for code, geom in session.execute(
                select(Province.code, Province.geom_web).where(Province.geom_web.is_not(None))
            )
            if geom is not None
        }
        _imported.clear()
        _imported[version] = shapes
    return Outlines("provinces", version, _imported[version])


def dissolve(outlines: Outlines, codes: list[str]) -> BaseGeometry:
    """The union of these provinces (all must be in `outlines`), computed once per process."""
    key = (outlines.version, tuple(sorted(codes)))
    if key not in _unions:
        if len(_unions) >= _MAX_UNIONS:
            _unions.clear()
        _unions[key] = union_of([outlines.shapes[c] for c in key[1]])
    return _unions[key]
