"""Offices' approved profiles and results as CSV, XLSX and GeoJSON, safe to open in Excel, and
the map's filters (read from a query string) that choose which offices they hold."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..models import (
    ITEM_NO_PATTERN,
    OFFICE_KINDS,
    SET_CODE_PATTERN,
    Cluster,
    Office,
    PolicyItem,
    Province,
    ResultRecord,
)
from ..shapes import point_of
from ..tables import csv_bytes, xlsx_bytes
from . import search
from .best_practices import offices_with_approved
from .errors import N_, ServiceError
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


# The map's filters, in the order the map writes them into its address.
FILTER_NAMES: Final = ("q", "cluster", "province", "kind", "bp", "office")
_BP = re.compile(f"^({SET_CODE_PATTERN}):({ITEM_NO_PATTERN})$")
_SMALL_NUMBER = re.compile(r"^\d{1,2}$")


@dataclass(frozen=True)
class Filters:
    """Which offices: what was typed, a cluster, a province, a kind, a best practice's item
    (of `fiscal_year`), one office. Unset filters are None (q: empty)."""

    q: str = ""
    cluster: int | None = None
    province: str | None = None
    kind: str | None = None
    bp: tuple[str, str] | None = None
    office: str | None = None
    fiscal_year: int | None = None

    @property
    def any(self) -> bool:
        return bool(self.q.strip()) or any(
            v is not None for v in (self.cluster, self.province, self.kind, self.bp, self.office)
        )

    def as_args(self) -> dict[str, str]:
        """The filters as query-string arguments (unset ones left out)."""
        args = {
            "q": self.q.strip(),
            "cluster": "" if self.cluster is None else str(self.cluster),
            "province": self.province or "",
            "kind": self.kind or "",
            "bp": f"{self.bp[0]}:{self.bp[1]}" if self.bp else "",
            "office": self.office or "",
            # An item belongs to one fiscal year: a link with one must say which.
            "fiscal_year": str(self.fiscal_year) if self.bp and self.fiscal_year else "",
        }
        return {k: v for k, v in args.items() if v}


def read_filters(
    session: Session, args: Mapping[str, str], fiscal_year: int | None
) -> tuple[Filters, dict[str, str]]:
    """The known filters in `args` whose values exist, and apart from them the refused ones
    (name → value as given). Other arguments (lang, …) are not filters and are left alone."""
    bad: dict[str, str] = {}
    got: dict[str, Any] = {}
    raw = {name: (args.get(name) or "").strip() for name in FILTER_NAMES}
    if len(raw["q"]) > search.MAX_QUERY_CHARS:
        bad["q"] = raw["q"]
    else:
        got["q"] = raw["q"]
    if raw["cluster"]:
        found = _SMALL_NUMBER.match(raw["cluster"]) and session.get(Cluster, int(raw["cluster"]))
        if found:
            got["cluster"] = int(raw["cluster"])
        else:
            bad["cluster"] = raw["cluster"]
    if raw["province"]:
        if _SMALL_NUMBER.match(raw["province"]) and session.get(Province, raw["province"]):
            got["province"] = raw["province"]
        else:
            bad["province"] = raw["province"]
    if raw["kind"]:
        if raw["kind"] in OFFICE_KINDS:
            got["kind"] = raw["kind"]
        else:
            bad["kind"] = raw["kind"]
    if raw["bp"]:
        item = _BP.match(raw["bp"])
        exists = (
            item is not None
            and fiscal_year is not None
            and session.scalar(
                select(PolicyItem.id).filter_by(
                    fiscal_year=fiscal_year, kind=item.group(1), no=item.group(2)
                )
            )
        )
        if item and exists:
            got["bp"] = (item.group(1), item.group(2))
        else:
            bad["bp"] = raw["bp"]
    if raw["office"]:
        if len(raw["office"]) <= 60 and session.scalar(
            select(Office.id).filter_by(code=raw["office"])
        ):
            got["office"] = raw["office"]
        else:
            bad["office"] = raw["office"]
    return Filters(**got, fiscal_year=fiscal_year), bad


def filters_or_400(session: Session, args: Mapping[str, str], fiscal_year: int | None) -> Filters:
    """The filters of a download; any refused value is a 400 that names the filter."""
    chosen, bad = read_filters(session, args, fiscal_year)
    if bad:
        # Echo at most 40 characters of what was sent: enough to recognise it.
        named = ", ".join(f"{k}={v[:40]}" for k, v in bad.items())
        raise ServiceError(400, N_("Not a valid filter value: %(filters)s."), filters=named)
    return chosen


def chosen_codes(session: Session, filters: Filters) -> list[str] | None:
    """Codes of the offices the filters choose (best match first), or None: every office."""
    if not filters.any:
        return None
    only = None
    if filters.office:
        only = frozenset({filters.office})
    if filters.bp and filters.fiscal_year:
        with_bp = frozenset(offices_with_approved(session, filters.fiscal_year, *filters.bp))
        only = with_bp if only is None else only & with_bp
    hits = search.search(
        session,
        filters.q,
        cluster_no=filters.cluster,
        province_code=filters.province,
        kind=filters.kind,
        codes=only,
    )
    return [h.code for h in hits]


def office_rows(session: Session, codes: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per office (by code); only `codes` when given."""
    stmt = select(Office).options(joinedload(Office.office_province)).order_by(Office.code)
    if codes is not None:
        stmt = stmt.where(Office.code.in_(codes))
    offices = session.scalars(stmt).unique()
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


def result_rows(session: Session, codes: list[str] | None = None) -> list[dict[str, Any]]:
    stmt = (
        select(ResultRecord, Office.code)
        .join(Office, Office.id == ResultRecord.office_id)
        .order_by(
            Office.code, ResultRecord.fiscal_year, ResultRecord.category, ResultRecord.indicator
        )
    )
    if codes is not None:
        stmt = stmt.where(Office.code.in_(codes))
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


def offices_geojson(session: Session, codes: list[str] | None = None) -> dict[str, Any]:
    features = []
    for row in office_rows(session, codes):
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
