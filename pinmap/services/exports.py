"""All offices' approved profiles and results as CSV, XLSX and GeoJSON, safe to open in Excel."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..models import Office, ResultRecord
from ..shapes import point_of
from ..tables import csv_bytes, xlsx_bytes
from .profiles import approved_revisions
from .results import RESULT_COLUMNS as IMPORT_COLUMNS
from .schools import latest_stats_all, school_counts

OFFICE_COLUMNS: Final = (
    "code",
    "kind",
    "name_th",
    "name_en",
    "province_code",
    "province_th",
    "provinces_th",
    "cluster_no",
    "lon",
    "lat",
    "location_precision",
    "address",
    "phone",
    "email",
    "website",
    "staff_count",
    "director_name",
    "director_position",
    "deputies",
    "schools_listed",
    "stats_as_of",
    "stats_source",
    "stats_schools",
    "teachers",
    "students",
    "staff",
    "profile_revision",
)
# The import's columns, and where each row came from.
RESULT_COLUMNS: Final = (*IMPORT_COLUMNS, "source")


def office_rows(session: Session) -> list[dict[str, Any]]:
    offices = session.scalars(
        select(Office).options(joinedload(Office.office_province)).order_by(Office.code)
    ).unique()
    profiles = approved_revisions(session)
    stats = latest_stats_all(session)
    schools = school_counts(session)
    rows = []
    for office in offices:
        point = point_of(office.geom)
        rev = profiles.get(office.id)
        data = rev.data if rev else {}
        people = data.get("people") or []
        director: dict[str, Any] = next((p for p in people if p.get("role") == "director"), {})
        st = stats.get(office.id)
        rows.append(
            {
                "code": office.code,
                "kind": office.kind,
                "name_th": office.name_th,
                "name_en": office.name_en,
                "province_code": office.office_province_code,
                "province_th": office.office_province.name_th,
                "provinces_th": "; ".join(office.provinces_th),
                "cluster_no": office.cluster_no,
                "lon": round(point.x, 6),
                "lat": round(point.y, 6),
                "location_precision": office.location_precision,
                "address": data.get("address", ""),
                "phone": data.get("phone", ""),
                "email": data.get("email", ""),
                "website": data.get("website", ""),
                "staff_count": data.get("staff_count"),
                "director_name": director.get("name", ""),
                "director_position": director.get("position", ""),
                "deputies": "; ".join(
                    p.get("name", "") for p in people if p.get("role") == "deputy"
                ),
                "schools_listed": schools.get(office.id, 0),
                "stats_as_of": st.as_of.isoformat() if st else None,
                "stats_source": st.source if st else "",
                "stats_schools": st.schools if st else None,
                "teachers": st.teachers if st else None,
                "students": st.students if st else None,
                "staff": st.staff if st else None,
                "profile_revision": rev.revision_no if rev else None,
            }
        )
    return rows


def result_rows(session: Session) -> list[dict[str, Any]]:
    stmt = (
        select(ResultRecord, Office.code)
        .join(Office, Office.id == ResultRecord.office_id)
        .order_by(
            Office.code, ResultRecord.fiscal_year, ResultRecord.category, ResultRecord.indicator
        )
    )
    return [
        {
            "office_code": code,
            "fiscal_year": r.fiscal_year,
            "category": r.category,
            "indicator": r.indicator,
            "value": r.value,
            "unit": r.unit,
            "office_target": r.office_target,
            "obec_target": r.obec_target,
            "source": r.source,
        }
        for r, code in session.execute(stmt)
    ]


def to_csv(columns: Iterable[str], rows: Iterable[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows Thai text correctly."""
    cols = list(columns)
    return csv_bytes(cols, ([row.get(c) for c in cols] for row in rows))


def to_xlsx(sheets: dict[str, tuple[Iterable[str], Iterable[dict[str, Any]]]]) -> bytes:
    as_lists = {}
    for title, (columns, rows) in sheets.items():
        cols = list(columns)
        as_lists[title] = (cols, [[row.get(c) for c in cols] for row in rows])
    return xlsx_bytes(as_lists)


def offices_geojson(session: Session) -> dict[str, Any]:
    features = []
    for row in office_rows(session):
        props = {k: v for k, v in row.items() if k not in ("lon", "lat")}
        features.append(
            {
                "type": "Feature",
                "id": row["code"],
                "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}
