"""Read-side queries for offices, clusters, provinces and the catalogue, shaped as GeoJSON dicts."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import Text, func, or_, select, text
from sqlalchemy.orm import Session, joinedload, lazyload

from geo.regions import hull_of_points
from geo.validate import in_thailand

from ..models import Cluster, Office, OfficeProvince, PolicyDimension, PolicyItem, Province
from ..shapes import point_of
from . import boundaries, search
from .audit import Actor, emit_change, record
from .errors import N_, ServiceError
from .lookups import first_or_404, or_404


def list_offices(
    session: Session,
    *,
    cluster_no: int | None = None,
    province_code: str | None = None,
    kind: str | None = None,
    q: str | None = None,
    codes: list[str] | None = None,
) -> list[Office]:
    stmt = (
        select(Office)
        .options(joinedload(Office.cluster), joinedload(Office.office_province))
        .order_by(Office.code)
    )
    if codes is not None:
        stmt = stmt.where(Office.code.in_(codes))
    if cluster_no is not None:
        stmt = stmt.where(Office.cluster_no == cluster_no)
    if kind is not None:
        stmt = stmt.where(Office.kind == kind)
    if province_code is not None:
        covered = select(OfficeProvince.office_id).where(
            OfficeProvince.province_code == province_code
        )
        stmt = stmt.where(or_(Office.id.in_(covered), Office.office_province_code == province_code))
    if q and q.strip():
        # The same reading of the query as the map's search box (services/search.py).
        found = [h.code for h in search.search(session, q)]
        stmt = stmt.where(Office.code.in_(found))
    return list(session.scalars(stmt).unique())


def get_office(session: Session, code: str) -> Office | None:
    return session.scalars(
        select(Office)
        .options(joinedload(Office.cluster), joinedload(Office.office_province))
        .where(Office.code == code)
    ).first()


def office_or_404(session: Session, code: str) -> Office:
    """The office with `code`, or a 404 ServiceError naming the code.

    Its covered provinces load when first read, not with it: most callers only check the reader
    may see the office (every page under /portal/offices/<code>/), and the eager load cost each
    of those requests a second query. Lists of offices still load them in one query for all."""
    stmt = select(Office).filter_by(code=code).options(lazyload(Office.covered))
    return first_or_404(session, stmt, N_("No office with code %(code)s."), code=code)


def office_properties(office: Office, *, detail: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {
        "code": office.code,
        "kind": office.kind,
        "name_th": office.name_th,
        "name_en": office.name_en,
        "province_th": office.office_province.name_th,
        "province_code": office.office_province_code,
        "provinces_th": office.provinces_th,
        "province_codes": [c.province_code for c in office.covered],
        "cluster_no": office.cluster_no,
        "location_precision": office.location_precision,
    }
    if detail:
        props.update(
            name_full_th=office.name_full_th,
            amphoe_th=office.office_amphoe_th,
            province_en=office.office_province.name_en,
            cluster_name_th=office.cluster.name_th,
            cluster_name_en=office.cluster.name_en,
            location_note=office.location_note,
            updated_at=office.updated_at.isoformat() if office.updated_at else None,
        )
    return props


def office_feature(office: Office, *, detail: bool = False) -> dict[str, Any]:
    point = point_of(office.geom)
    return {
        "type": "Feature",
        "id": office.code,
        "geometry": {"type": "Point", "coordinates": [round(point.x, 6), round(point.y, 6)]},
        "properties": office_properties(office, detail=detail),
    }


def feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def list_clusters(session: Session) -> list[dict[str, Any]]:
    clusters = session.scalars(select(Cluster).order_by(Cluster.no)).all()
    offices = session.execute(select(Office.cluster_no, Office.code).order_by(Office.code)).all()
    provinces = session.execute(
        select(Province.cluster_no, Province.code, Province.name_th).order_by(Province.code)
    ).all()
    return [
        {
            "no": c.no,
            "name_th": c.name_th,
            "name_en": c.name_en,
            "office_codes": [code for no, code in offices if no == c.no],
            "province_codes": [code for no, code, _ in provinces if no == c.no],
            "provinces_th": [name for no, _, name in provinces if no == c.no],
        }
        for c in clusters
    ]


def has_province_outlines(session: Session) -> bool:
    """Whether any province outline was imported (the basemap's are drawn otherwise)."""
    found = select(Province.code).where(Province.geom_web.is_not(None)).limit(1)
    return session.scalar(found) is not None


def province_boundaries(session: Session) -> dict[str, Any]:
    """Simplified province outlines for the web map (empty when none were imported)."""
    rows = session.execute(
        select(
            Province.code,
            Province.name_th,
            Province.name_en,
            Province.cluster_no,
            func.ST_AsGeoJSON(Province.geom_web, 5, type_=Text),
        )
        .where(Province.geom_web.is_not(None))
        .order_by(Province.code)
    ).all()
    return feature_collection(
        [
            {
                "type": "Feature",
                "id": code,
                "geometry": json.loads(geojson),
                "properties": {
                    "code": code,
                    "name_th": th,
                    "name_en": en,
                    "cluster_no": cluster_no,
                },
            }
            for code, th, en, cluster_no, geojson in rows
        ]
    )


def cluster_regions(session: Session) -> dict[str, Any]:
    """One polygon per cluster, drawn from its current member offices (Office.cluster_no).

    The union of the provinces its offices sit in or cover: imported outlines (`basis`
    "provinces"), else the embedded basemap's ("basemap"); a buffered hull of its pins ("pins")
    only for provinces neither knows. Regions follow membership, not Province.cluster_no,
    so moving an office between clusters redraws both; each feature lists its `office_codes`
    so the body (and its ETag) changes with membership even when an outline does not.
    """
    members: dict[int, list[str]] = defaultdict(list)
    pins: dict[int, list[Point]] = defaultdict(list)
    provinces: dict[int, set[str]] = defaultdict(set)
    for no, code, province_code, geom in session.execute(
        select(Office.cluster_no, Office.code, Office.office_province_code, Office.geom).order_by(
            Office.code
        )
    ):
        members[no].append(code)
        pins[no].append(point_of(geom))
        provinces[no].add(province_code)
    for no, province_code in session.execute(
        select(Office.cluster_no, OfficeProvince.province_code).join(
            Office, Office.id == OfficeProvince.office_id
        )
    ):
        provinces[no].add(province_code)
    outlines = boundaries.province_outlines(session)
    features = []
    for cluster in session.scalars(select(Cluster).order_by(Cluster.no)):
        # Sorted, so the union (and the response's ETag) does not depend on row order.
        codes = sorted(c for c in provinces[cluster.no] if c in outlines.shapes)
        if codes:
            basis, region = outlines.basis, boundaries.dissolve(outlines, codes)
        elif pins[cluster.no]:
            basis, region = "pins", hull_of_points(pins[cluster.no])
        else:
            continue
        features.append(
            {
                "type": "Feature",
                "id": cluster.no,
                "geometry": region.__geo_interface__,
                "properties": {
                    "no": cluster.no,
                    "name_th": cluster.name_th,
                    "name_en": cluster.name_en,
                    "basis": basis,
                    "office_codes": members[cluster.no],
                    "province_codes": codes,
                },
            }
        )
    return feature_collection(features)


def list_provinces(session: Session) -> list[Province]:
    return list(session.scalars(select(Province).order_by(Province.name_th)))


def policy_catalogue(session: Session, fiscal_year: int) -> dict[str, Any]:
    dims = session.scalars(
        select(PolicyDimension).filter_by(fiscal_year=fiscal_year).order_by(PolicyDimension.no)
    ).all()
    items = session.scalars(
        select(PolicyItem)
        .filter_by(fiscal_year=fiscal_year)
        .order_by(PolicyItem.kind, PolicyItem.no)
    ).all()
    return {
        "fiscal_year": fiscal_year,
        "dimensions": [
            {"no": d.no, "key": d.key, "title_th": d.title_th, "title_en": d.title_en} for d in dims
        ],
        "items": [
            {
                "kind": i.kind,
                "no": i.no,
                "title_th": i.title_th,
                "title_en": i.title_en,
                "dimension_no": i.dimension.no if i.dimension else None,
                "verified": i.verified,
                "source_note": i.source_note,
            }
            for i in items
        ],
    }


def check_in_province(session: Session, office: Office, lon: float, lat: float) -> None:
    """Refuse a pin outside Thailand, or outside the office's province once boundaries exist."""
    if not in_thailand(lon, lat):
        raise ServiceError(
            400,
            N_("The pin (%(lat)s, %(lon)s) is outside Thailand."),
            lat=round(lat, 5),
            lon=round(lon, 5),
        )
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    outside = session.scalar(
        select(~func.ST_Intersects(Province.geom, point)).where(
            Province.code == office.office_province_code, Province.geom.is_not(None)
        )
    )
    if outside:
        raise ServiceError(
            400,
            N_(
                "The pin (%(lat)s, %(lon)s) is outside %(province)s, the office's province. "
                "Drag it onto the office building."
            ),
            lat=round(lat, 5),
            lon=round(lon, 5),
            province=office.office_province.name_th,
        )


def move_office_pin(
    session: Session, actor: Actor, code: str, lon: float, lat: float, precision: str = "office"
) -> Office:
    """Set an office's map point (EPSG:4326) and announce it; refused outside its province."""
    office = get_office(session, code)
    office = or_404(office, N_("No office with code %(code)s."), code=code)
    check_in_province(session, office, lon, lat)
    before = office_feature(office)["geometry"]
    office.geom = from_shape(Point(lon, lat), srid=4326)
    office.location_precision = precision
    session.flush()
    after = {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}
    record(
        session,
        actor,
        "office.move",
        "office",
        code,
        before=before,
        after=after,
        office_id=office.id,
    )
    emit_change(session, "office.updated", code, {"fields": ["geom", "location_precision"]})
    return office


def office_codes_by_name(session: Session, lang: str) -> list[str] | None:
    """Office codes by their name in `lang` (English: name_en, else name_th) as ICU collates
    them, which is how browsers sort them; None when PostgreSQL has no ICU collation for it."""
    collation = "th-x-icu" if lang == "th" else "en-x-icu"
    known = session.scalar(
        select(func.count()).select_from(text("pg_collation")).where(text("collname = :c")),
        {"c": collation},
    )
    if not known:
        return None
    name = (
        Office.name_th
        if lang == "th"
        else func.coalesce(func.nullif(Office.name_en, ""), Office.name_th)
    )
    return list(session.scalars(select(Office.code).order_by(name.collate(collation), Office.code)))
