"""Offices' school lists (read by pinmap.tables) and teacher, student and staff counts.

An office's school list and counts are part of its profile: they are staged in the profile
revision's data (`schools`, `schools_file`, `counts`) and written to the public tables
(schools, office_stats with source "manual") only when a reviewer approves that revision.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Final

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from geo.validate import in_thailand

from ..models import Office, OfficeStats, School
from ..shapes import point_of
from ..tables import (
    MAX_ROWS,
    MAX_TABLE_BYTES,
    ImportRejected,
    Problem,
    Table,
    parse_number,
    read_table,
)
from .audit import Actor, emit_change, record
from .errors import N_, ServiceError
from .profile_revisions import ProfileRevision, editable_revision
from .review import ensure_can
from .sanitize import clean_text

SCHOOL_COLUMNS: Final = ("code", "name_th", "amphoe_th", "level", "lat", "lon")
SCHOOL_REQUIRED: Final = ("code", "name_th")
_SCHOOL_CODE = re.compile(r"[0-9A-Za-z-]{1,20}")

__all__ = [
    "MAX_ROWS",
    "MAX_TABLE_BYTES",
    "ImportRejected",
    "Problem",
    "Table",
    "parse_number",
    "read_table",
]


# --- schools ---------------------------------------------------------------------------------


@dataclass
class SchoolDiff:
    """A staged school list against the public one."""

    count: int
    added: int
    removed: int
    changed: int

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def _school_row(number: int, row: dict[str, str], problems: list[Problem]) -> dict[str, Any]:
    code = row.get("code", "")
    if not _SCHOOL_CODE.fullmatch(code):
        problems.append(Problem(number, "code", N_("A school code is 1 to 20 letters or digits.")))
    out: dict[str, Any] = {"code": code}
    for col, limit in (("name_th", 300), ("amphoe_th", 100), ("level", 100)):
        value = clean_text(row.get(col, ""), max_length=limit * 4)
        if len(value) > limit:
            problems.append(Problem(number, col, N_("Longer than %(n)s characters."), {"n": limit}))
        out[col] = value
    if not out["name_th"]:
        problems.append(Problem(number, "name_th", N_("The school's name is missing.")))
    lat_s, lon_s = row.get("lat", ""), row.get("lon", "")
    out["point"] = None
    if lat_s or lon_s:
        try:
            lat, lon = parse_number(lat_s), parse_number(lon_s)
        except ValueError:
            lat = lon = None
            bad = "lat" if not _is_number(lat_s) else "lon"
            problems.append(Problem(number, bad, N_("Not a number in decimal degrees.")))
        else:
            if lat is None or lon is None:
                problems.append(
                    Problem(
                        number,
                        "lat" if lat is None else "lon",
                        N_("Give both lat and lon, or neither."),
                    )
                )
            elif not in_thailand(lon, lat):
                problems.append(
                    Problem(
                        number,
                        "lat",
                        N_("(%(lat)s, %(lon)s) is outside Thailand; are lat and lon swapped?"),
                        {"lat": lat, "lon": lon},
                    )
                )
            else:
                out["point"] = (lon, lat)
    return out


def _is_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True


def parse_schools(
    session: Session, office: Office, filename: str, data: bytes
) -> tuple[str, list[dict[str, Any]]]:
    """The file's complete school list as staged rows, or ImportRejected naming row and column."""
    table = read_table(data, filename, SCHOOL_COLUMNS, SCHOOL_REQUIRED)
    problems: list[Problem] = []
    parsed: dict[str, dict[str, Any]] = {}
    first_seen: dict[str, int] = {}
    for number, row in table.rows:
        school = _school_row(number, row, problems)
        code = school["code"]
        if code in first_seen:
            problems.append(
                Problem(
                    number,
                    "code",
                    N_("Code %(code)s is also on row %(row)s."),
                    {"code": code, "row": first_seen[code]},
                )
            )
            continue
        first_seen[code] = number
        parsed[code] = school
    for code, other in _held_elsewhere(session, office, list(parsed)).items():
        problems.append(
            Problem(
                first_seen[code],
                "code",
                N_("School %(code)s belongs to office %(office)s."),
                {"code": code, "office": other},
            )
        )
    if not parsed and not problems:
        problems.append(Problem(2, "", N_("The file has no school rows.")))
    if problems:
        raise ImportRejected(table.filename, sorted(problems, key=lambda p: (p.row, p.column)))
    rows = []
    for code in sorted(parsed):
        school = parsed[code]
        lon, lat = school["point"] if school["point"] else (None, None)
        rows.append(
            {
                "code": code,
                "name_th": school["name_th"],
                "amphoe_th": school["amphoe_th"],
                "level": school["level"],
                "lon": lon,
                "lat": lat,
            }
        )
    return table.filename, rows


def _held_elsewhere(session: Session, office: Office, codes: list[str]) -> dict[str, str]:
    """{school code: other office's code} for codes another office's public list holds."""
    if not codes:
        return {}
    return dict(
        session.execute(
            select(School.code, Office.code)
            .join(Office, Office.id == School.office_id)
            .where(School.code.in_(codes), School.office_id != office.id)
        ).all()
    )


def _public_schools(session: Session, office_id: int) -> dict[str, School]:
    return {s.code: s for s in session.scalars(select(School).filter_by(office_id=office_id))}


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)


def _same(school: School, row: dict[str, Any]) -> bool:
    point = point_of(school.geom) if school.geom is not None else None
    where = (_rounded(point.x), _rounded(point.y)) if point is not None else (None, None)
    return (school.name_th, school.amphoe_th, school.level, where) == (
        row["name_th"],
        row["amphoe_th"],
        row["level"],
        (_rounded(row["lon"]), _rounded(row["lat"])),
    )


def school_diff(session: Session, office_id: int, staged: list[dict[str, Any]]) -> SchoolDiff:
    public = _public_schools(session, office_id)
    codes = {row["code"] for row in staged}
    changed = sum(
        1 for row in staged if row["code"] in public and not _same(public[row["code"]], row)
    )
    return SchoolDiff(
        count=len(staged),
        added=len(codes - set(public)),
        removed=len(set(public) - codes),
        changed=changed,
    )


def _office_event(session: Session, office: Office, rev: ProfileRevision, field: str) -> None:
    """A private change record: a staged value is not public, so only the office and OBEC hear."""
    emit_change(
        session,
        "profile.saved",
        office.code,
        {
            "revision_no": rev.revision_no,
            "state": rev.state,
            "version": rev.version,
            "fields": [field],
        },
        audience="office",
        office_id=office.id,
    )


def stage_schools(
    session: Session,
    actor: Actor,
    office: Office,
    filename: str,
    data: bytes,
    expected_version: int | None,
) -> tuple[ProfileRevision, SchoolDiff]:
    """Put the file's school list into the office's editable profile revision, all or nothing.

    The public list changes only when a reviewer approves that revision (publish_staged).
    """
    ensure_can(actor, "edit_profile", office.id)
    name, rows = parse_schools(session, office, filename, data)
    rev = editable_revision(session, actor, office, expected_version)
    before = staged_summary(rev)
    rev.data = {**(rev.data or {}), "schools": rows, "schools_file": name}
    rev.updated_at = actor.now  # always an UPDATE, so the version moves on every save
    session.flush()
    diff = school_diff(session, office.id, rows)
    record(
        session,
        actor,
        "schools.stage",
        "profile_revision",
        rev.id,
        office_id=office.id,
        before=before,
        after={"file": name, "revision_no": rev.revision_no, **diff.__dict__},
    )
    _office_event(session, office, rev, "schools")
    return rev, diff


def staged_summary(rev: ProfileRevision | None) -> dict[str, Any] | None:
    """What a revision stages besides the profile fields, small enough for the audit log."""
    data = (rev.data if rev else None) or {}
    if "counts" not in data and "schools" not in data:
        return None
    schools = data.get("schools")
    return {
        "counts": data.get("counts"),
        "schools_file": data.get("schools_file"),
        "schools": None if schools is None else len(schools),
    }


def _publish_schools(
    session: Session, actor: Actor, office: Office, rev: ProfileRevision, rows: list[dict[str, Any]]
) -> bool:
    """Make the approved list the public one; False when nothing changed."""
    diff = school_diff(session, office.id, rows)
    if not diff.any:
        return False
    # Another office's approval may have taken a code since this list was staged.
    taken = _held_elsewhere(session, office, [row["code"] for row in rows])
    if taken:
        code, other = sorted(taken.items())[0]
        raise ServiceError(
            409,
            N_(
                "School %(code)s now belongs to office %(office)s; return "
                "the profile so the office can correct its list."
            ),
            code=code,
            office=other,
        )
    existing = _public_schools(session, office.id)
    wanted = {row["code"] for row in rows}
    removed = [code for code in existing if code not in wanted]
    if removed:
        session.execute(
            delete(School).where(School.office_id == office.id, School.code.in_(removed))
        )
        session.flush()
    for row in rows:
        school = existing.get(row["code"])
        if school is not None and _same(school, row):
            continue
        if school is None:
            school = School(office_id=office.id, code=row["code"])
            session.add(school)
        school.name_th, school.amphoe_th, school.level = (
            row["name_th"],
            row["amphoe_th"],
            row["level"],
        )
        has_point = row["lon"] is not None and row["lat"] is not None
        school.geom = from_shape(Point(row["lon"], row["lat"]), srid=4326) if has_point else None
    session.flush()
    record(
        session,
        actor,
        "schools.publish",
        "office",
        office.code,
        office_id=office.id,
        after={
            "revision_no": rev.revision_no,
            "file": (rev.data or {}).get("schools_file"),
            **diff.__dict__,
        },
    )
    return True


def school_count(session: Session, office_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(School).where(School.office_id == office_id)
        )
        or 0
    )


def school_counts(session: Session) -> dict[int, int]:
    return dict(
        session.execute(select(School.office_id, func.count()).group_by(School.office_id)).all()
    )


def schools_of(session: Session, office_id: int) -> list[School]:
    return list(
        session.scalars(
            select(School).filter_by(office_id=office_id).order_by(School.amphoe_th, School.name_th)
        )
    )


# --- teacher, student and staff counts ---------------------------------------------------------

STAT_FIELDS: Final = ("schools", "teachers", "students", "staff")
OFFICE_SOURCE: Final = "manual"  # OfficeStats.source of the counts an office's profile reports


MAX_COUNT: Final = 10_000_000  # above any office's students; keeps the integer column safe


def _clean_counts(actor: Actor, as_of: str, counts: dict[str, Any]) -> dict[str, Any]:
    try:
        day = dt.date.fromisoformat(str(as_of or "").strip())
    except ValueError as exc:
        raise ServiceError(400, N_("As of: give a date such as 2024-06-10.")) from exc
    if day > actor.today_bangkok:
        raise ServiceError(400, N_("As of: the date is in the future."))
    values: dict[str, int | None] = {}
    for key in STAT_FIELDS:
        text = str(counts.get(key) or "").replace(",", "").strip()
        if text and not text.isdigit():
            raise ServiceError(
                400, N_("%(field)s must be a whole number, zero or more."), field=key
            )
        value = int(text) if text else None
        if value is not None and value > MAX_COUNT:
            raise ServiceError(400, N_("%(field)s must be at most %(n)s."), field=key, n=MAX_COUNT)
        values[key] = value
    if all(v is None for v in values.values()):
        raise ServiceError(400, N_("Give at least one count."))
    return {"as_of": day.isoformat(), **values}


def stage_counts(
    session: Session,
    actor: Actor,
    office: Office,
    as_of: str,
    counts: dict[str, Any],
    expected_version: int | None,
) -> ProfileRevision:
    """Put the office's counts into its editable profile revision; public once approved."""
    ensure_can(actor, "edit_profile", office.id)
    cleaned = _clean_counts(actor, as_of, counts)
    rev = editable_revision(session, actor, office, expected_version)
    before = (rev.data or {}).get("counts")
    rev.data = {**(rev.data or {}), "counts": cleaned}
    rev.updated_at = actor.now
    session.flush()
    record(
        session,
        actor,
        "stats.stage",
        "profile_revision",
        rev.id,
        office_id=office.id,
        before=before,
        after={"revision_no": rev.revision_no, **cleaned},
    )
    _office_event(session, office, rev, "counts")
    return rev


def _manual_stats(session: Session, office_id: int, day: dt.date) -> OfficeStats | None:
    return session.scalars(
        select(OfficeStats).filter_by(office_id=office_id, source=OFFICE_SOURCE, as_of=day)
    ).first()


def _counts_pending(session: Session, office_id: int, counts: dict[str, Any]) -> bool:
    row = _manual_stats(session, office_id, dt.date.fromisoformat(counts["as_of"]))
    return row is None or any(getattr(row, k) != counts.get(k) for k in STAT_FIELDS)


def _publish_counts(
    session: Session, actor: Actor, office: Office, rev: ProfileRevision, counts: dict[str, Any]
) -> bool:
    """Write the approved counts as the office's own (source "manual"); the same date overwrites.

    Kept as an OfficeStats row beside the stats sources' rows, so the consistency check goes on
    comparing what the office reported (now: approved) with what the sources say.
    """
    if not _counts_pending(session, office.id, counts):
        return False
    day = dt.date.fromisoformat(counts["as_of"])
    row = _manual_stats(session, office.id, day)
    before = {k: getattr(row, k) for k in STAT_FIELDS} if row else None
    if row is None:
        row = OfficeStats(office_id=office.id, source=OFFICE_SOURCE, as_of=day)
        session.add(row)
    for key in STAT_FIELDS:
        setattr(row, key, counts.get(key))
    session.flush()
    record(
        session,
        actor,
        "stats.publish",
        "office_stats",
        row.id,
        office_id=office.id,
        before=before,
        after={"revision_no": rev.revision_no, **counts},
    )
    return True


def publish_staged(
    session: Session, actor: Actor, office: Office, rev: ProfileRevision
) -> list[str]:
    """On approval: the revision's counts and school list become the public ones.

    Returns the public fields that changed, for the change record the approval emits.
    """
    data = rev.data or {}
    fields = []
    if data.get("counts") and _publish_counts(session, actor, office, rev, data["counts"]):
        fields.append("stats")
    if data.get("schools") is not None and _publish_schools(
        session, actor, office, rev, data["schools"]
    ):
        fields.append("schools")
    return fields


@dataclass
class Staged:
    """What an unapproved revision holds that the public does not see yet."""

    rev: ProfileRevision
    counts: dict[str, Any] | None
    schools: list[dict[str, Any]] | None
    diff: SchoolDiff | None


def staged(session: Session, rev: ProfileRevision | None) -> Staged | None:
    """The counts and school list waiting for review in `rev`, or None when nothing waits."""
    if rev is None or rev.state == "approved":
        return None
    data = rev.data or {}
    counts = data.get("counts")
    if counts and not _counts_pending(session, rev.office_id, counts):
        counts = None
    schools, diff = data.get("schools"), None
    if schools is not None:
        diff = school_diff(session, rev.office_id, schools)
        if not diff.any:
            schools, diff = None, None
    if counts is None and schools is None:
        return None
    return Staged(rev, counts, schools, diff)


def latest_stats(session: Session, office_id: int) -> OfficeStats | None:
    return session.scalars(
        select(OfficeStats)
        .filter_by(office_id=office_id)
        .order_by(OfficeStats.as_of.desc(), OfficeStats.id.desc())
        .limit(1)
    ).first()


def latest_stats_all(session: Session) -> dict[int, OfficeStats]:
    out: dict[int, OfficeStats] = {}
    for row in session.scalars(select(OfficeStats).order_by(OfficeStats.as_of, OfficeStats.id)):
        out[row.office_id] = row  # later dates overwrite earlier ones
    return out


# --- un-approving: putting back what an approval published ------------------------------------


def _public_rows(session: Session, office_id: int) -> list[dict[str, Any]]:
    """The office's public school list in the staged rows' shape (so it can be published back)."""
    rows = []
    for school in sorted(_public_schools(session, office_id).values(), key=lambda s: s.code):
        point = point_of(school.geom) if school.geom is not None else None
        rows.append(
            {
                "code": school.code,
                "name_th": school.name_th,
                "amphoe_th": school.amphoe_th,
                "level": school.level,
                "lon": _rounded(point.x) if point is not None else None,
                "lat": _rounded(point.y) if point is not None else None,
            }
        )
    return rows


def replaced_by(session: Session, office: Office, rev: ProfileRevision) -> dict[str, Any]:
    """Before publish_staged: the public counts and school list the revision is about to replace.

    Kept with the approved revision, so un-approving it puts exactly these back."""
    data = rev.data or {}
    out: dict[str, Any] = {}
    counts = data.get("counts")
    if counts and _counts_pending(session, office.id, counts):
        row = _manual_stats(session, office.id, dt.date.fromisoformat(counts["as_of"]))
        out["counts"] = {
            "as_of": counts["as_of"],
            "row": {k: getattr(row, k) for k in STAT_FIELDS} if row is not None else None,
        }
    if data.get("schools") is not None and school_diff(session, office.id, data["schools"]).any:
        out["schools"] = _public_rows(session, office.id)
    return out


def restore_published(
    session: Session,
    actor: Actor,
    office: Office,
    rev: ProfileRevision,
    replaced: dict[str, Any],
) -> list[str]:
    """Un-approving `rev`: the counts and school list its approval replaced are public again.

    Returns the public fields that changed."""
    fields = []
    counts = replaced.get("counts")
    if counts:
        day = dt.date.fromisoformat(counts["as_of"])
        row = _manual_stats(session, office.id, day)
        before = {k: getattr(row, k) for k in STAT_FIELDS} if row is not None else None
        if counts["row"] is None and row is not None:
            # The approval added this date's counts: the public loses them again.
            session.delete(row)
        elif counts["row"] is not None:
            if row is None:
                row = OfficeStats(office_id=office.id, source=OFFICE_SOURCE, as_of=day)
                session.add(row)
            for key in STAT_FIELDS:
                setattr(row, key, counts["row"].get(key))
        session.flush()
        record(
            session,
            actor,
            "stats.restore",
            "office",
            office.code,
            office_id=office.id,
            before=before,
            after={
                "revision_no": rev.revision_no,
                "as_of": counts["as_of"],
                **(counts["row"] or {}),
            },
        )
        fields.append("stats")
    schools = replaced.get("schools")
    if schools is not None and _publish_schools(session, actor, office, rev, schools):
        fields.append("schools")
    return fields
