"""A visit plan as CSV, XLSX, GeoJSON and iCalendar."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ...tables import csv_text, safe_cell, xlsx_bytes
from .. import offices as offices_svc
from .calendar import ics_calendar

EXPORT_HEADER = [
    "order",
    "role",
    "office_code",
    "office_name_th",
    "cluster_no",
    "lat",
    "lon",
    "distance_km",
    "distance_basis",
]


# The old name; tables.safe_cell is what every export uses.
csv_safe = safe_cell


def export_rows(data: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    stops = ([data["host"]] if data["host"] else []) + data["visits"] + data["invited"]
    for s in stops:
        rows.append(
            [
                s["position"] if s["role"] != "invited" else "",
                s["role"],
                s["office"],
                s["name_th"],
                s["cluster_no"],
                s["lat"],
                s["lon"],
                s["distance_km"],
                "great_circle",
            ]
        )
    return [[csv_safe(v) for v in row] for row in rows]


def plan_csv(data: dict[str, Any]) -> str:
    return csv_text(EXPORT_HEADER, export_rows(data))


def xlsx_available() -> bool:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        return False
    return True


def plan_xlsx(data: dict[str, Any]) -> bytes | None:
    """XLSX bytes, or None when openpyxl is not installed."""
    if not xlsx_available():
        return None
    return xlsx_bytes({f"plan {data['id']}": (EXPORT_HEADER, export_rows(data))})


def plan_geojson(data: dict[str, Any]) -> dict[str, Any]:
    stops = ([data["host"]] if data["host"] else []) + data["visits"] + data["invited"]
    return offices_svc.feature_collection(
        [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                "properties": {
                    "order": s["position"] if s["role"] != "invited" else None,
                    "role": s["role"],
                    "office": s["office"],
                    "name_th": s["name_th"],
                    "cluster_no": s["cluster_no"],
                    "distance_km": s["distance_km"],
                },
            }
            for s in stops
        ]
    )


def plan_ics(data: dict[str, Any], host: str, now: dt.datetime) -> str:
    events = []
    if data["visit_date"] and data["host"]:
        h = data["host"]
        others = ", ".join(s["name_th"] for s in data["visits"])
        events.append(
            {
                "uid": f"visit-plan-{data['id']}@{host}",
                "summary": f"Coaching · Cluster {data['cluster_no']} · {h['name_th']}",
                "date": dt.date.fromisoformat(data["visit_date"]),
                "location": h["name_th"],
                "description": "\n".join(filter(None, [data["team"], others])),
            }
        )
    return ics_calendar(events, f"pinmap visit plan {data['id']}", now)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
