"""What a submission changes against what the public sees: pin, school rows, text fields.

The diff functions are pure (dicts and tuples in, dataclasses out) so the review desks and the
tests read the same answer; `public_school_rows` and `waiting_counts` are the only readers of
the database here, each one query.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..auth import can
from ..models import School, WorkflowReport, WorkflowRevision
from ..shapes import point_of
from . import plans as plan_svc

LonLat = tuple[float, float]

# The fields of a school row a reviewer compares, in the order the table shows them.
SCHOOL_FIELDS: tuple[str, ...] = ("name_th", "amphoe_th", "level", "lon", "lat")
# A desk lists at most this many rows per group; the rest is counted, so a 5,000-row file
# cannot make a page of megabytes.
ROW_LIMIT = 300
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class PinChange:
    old: LonLat | None
    new: LonLat | None
    distance_m: float | None

    @property
    def moved(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class ChangedRow:
    code: str
    before: dict[str, Any]
    after: dict[str, Any]
    fields: tuple[str, ...]


@dataclass
class SchoolRowsDiff:
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[ChangedRow] = field(default_factory=list)
    unchanged: int = 0
    # How many rows of each group were left off the lists above (ROW_LIMIT).
    more: dict[str, int] = field(default_factory=lambda: {"added": 0, "removed": 0, "changed": 0})

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class FieldChange:
    key: str
    before: Any
    after: Any


def distance_m(a: LonLat, b: LonLat) -> float:
    """Great-circle distance in metres (haversine; plenty for "moved 3.2 km")."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _lonlat(value: Any) -> LonLat | None:
    if value is None:
        return None
    try:
        lon, lat = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    return round(lon, 6), round(lat, 6)


def pin_change(old: Any, new: Any) -> PinChange:
    """The public pin and the proposed one, (lon, lat) each or None."""
    a, b = _lonlat(old), _lonlat(new)
    return PinChange(a, b, distance_m(a, b) if a and b else None)


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if value is None:
        return ""
    return value


def _row(raw: Mapping[str, Any]) -> dict[str, Any]:
    row = {k: _norm(raw.get(k)) for k in SCHOOL_FIELDS}
    row["code"] = str(raw.get("code") or "")
    return row


def school_rows(
    old: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]], limit: int = ROW_LIMIT
) -> SchoolRowsDiff:
    """Rows added, removed and changed (by school code), each list in code order."""
    before = {r["code"]: r for r in map(_row, old) if r["code"]}
    after = {r["code"]: r for r in map(_row, new) if r["code"]}
    diff = SchoolRowsDiff()
    added = [after[c] for c in sorted(set(after) - set(before))]
    removed = [before[c] for c in sorted(set(before) - set(after))]
    changed = []
    for code in sorted(set(before) & set(after)):
        fields = tuple(k for k in SCHOOL_FIELDS if before[code][k] != after[code][k])
        if fields:
            changed.append(ChangedRow(code, before[code], after[code], fields))
        else:
            diff.unchanged += 1
    diff.added, diff.more["added"] = added[:limit], max(0, len(added) - limit)
    diff.removed, diff.more["removed"] = removed[:limit], max(0, len(removed) - limit)
    diff.changed, diff.more["changed"] = changed[:limit], max(0, len(changed) - limit)
    return diff


def field_changes(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, keys: Sequence[str]
) -> list[FieldChange]:
    """The plain fields among `keys` whose value differs (None and "" read the same)."""
    old, new = old or {}, new or {}
    return [
        FieldChange(k, old.get(k), new.get(k))
        for k in keys
        if _norm(old.get(k)) != _norm(new.get(k))
    ]


def public_school_rows(session: Session, office_id: int) -> list[dict[str, Any]]:
    """The office's public school list as rows of the same shape a staged list has."""
    rows = []
    for s in session.scalars(select(School).filter_by(office_id=office_id).order_by(School.code)):
        point = point_of(s.geom) if s.geom is not None else None
        rows.append(
            {
                "code": s.code,
                "name_th": s.name_th,
                "amphoe_th": s.amphoe_th,
                "level": s.level,
                "lon": point.x if point is not None else None,
                "lat": point.y if point is not None else None,
            }
        )
    return rows


def waiting_counts(session: Session, user: Any, fiscal_year: int) -> dict[str, int]:
    """What waits for `user` on each review desk, in one query: progress reports of the year
    the progress queue opens on, and profiles + best practices + plans at a level they pass."""

    def sent(kind: str, *where: Any) -> Any:
        return (
            select(func.count())
            .select_from(WorkflowReport)
            .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.current_revision_id)
            .where(WorkflowReport.kind == kind, WorkflowRevision.state == "submitted", *where)
            .scalar_subquery()
        )

    # Kind names as the services register them (importing those services here would cycle).
    progress = sent("progress", WorkflowReport.fiscal_year == fiscal_year)
    profiles = sent("profile")
    practices = sent("best_practice")
    levels = [n for n, lv in enumerate(plan_svc.SPEC.levels) if n > 0 and can(user, lv.action)]
    plans = (
        select(func.count())
        .select_from(WorkflowReport)
        .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.current_revision_id)
        .where(
            WorkflowReport.kind == plan_svc.KIND,
            WorkflowRevision.state == "submitted",
            WorkflowRevision.level.in_(levels or [-1]),
        )
        .scalar_subquery()
    )
    row = session.execute(select(progress, profiles, practices, plans)).one()
    return {"progress": int(row[0]), "profiles": int(row[1] + row[2] + row[3])}
