"""Office profiles: cleaning, revisions and their review (steps shared via services.review)."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Office, Photo, ProfileRevision
from ..shapes import point_of
from .audit import Actor, emit_change, record
from .errors import N_, Collector, Labels, RowLabel, ServiceError
from .offices import check_in_province, move_office_pin
from .profile_revisions import current_revision, editable_revision
from .review import (
    check_version,
    ensure_can,
    lock_office_work,
    mark_reviewed,
    mark_submitted,
    require_complete,
)
from .sanitize import clean_text
from .schools import publish_staged

TEXT_FIELDS = ("address", "phone", "email", "website")
PERSON_ROLES = ("director", "deputy")
MAX_PEOPLE = 8
# How a field of one person row is named in messages ("Person 2: Name").
PERSON_FIELD = N_("Person %(n)s: %(field)s")
MAX_STAFF = 100_000
REQUIRED_FOR_SUBMISSION = ("address", "phone", "director")
# Keys of a revision's data staged outside the profile form (services/schools.py).
STAGED_KEYS = ("counts", "schools", "schools_file")

_EMAIL = re.compile(r"[^@\s<>\"'(),;:]+@[^@\s<>\"'(),;:]+\.[^@\s<>\"'(),;:]+")
_PHONE_CHARS = re.compile(r"[0-9+()\-\s,/.]+")
_PHONE_WORDS = re.compile(r"ต่อ|ext\.?|โทรสาร|fax", re.IGNORECASE)


# --- reading ---------------------------------------------------------------------------------


def revisions(session: Session, office_id: int) -> list[ProfileRevision]:
    return list(
        session.scalars(
            select(ProfileRevision)
            .filter_by(office_id=office_id)
            .order_by(ProfileRevision.revision_no.desc())
        )
    )


def approved_revision(session: Session, office_id: int) -> ProfileRevision | None:
    """What the public sees: the office's latest approved revision."""
    return session.scalars(
        select(ProfileRevision)
        .filter_by(office_id=office_id, state="approved")
        .order_by(ProfileRevision.revision_no.desc())
        .limit(1)
    ).first()


def approved_revisions(session: Session) -> dict[int, ProfileRevision]:
    """{office_id: latest approved revision} for every office that has one (exports)."""
    latest = (
        select(ProfileRevision.office_id, func.max(ProfileRevision.revision_no).label("no"))
        .where(ProfileRevision.state == "approved")
        .group_by(ProfileRevision.office_id)
        .subquery()
    )
    rows = session.scalars(
        select(ProfileRevision).join(
            latest,
            (ProfileRevision.office_id == latest.c.office_id)
            & (ProfileRevision.revision_no == latest.c.no),
        )
    )
    return {r.office_id: r for r in rows}


def lonlat(rev: ProfileRevision | None) -> tuple[float, float] | None:
    if rev is None or rev.geom is None:
        return None
    point = point_of(rev.geom)
    return round(point.x, 6), round(point.y, 6)


def photo_ids(data: dict[str, Any]) -> set[int]:
    ids = {p.get("photo_id") for p in data.get("people") or []}
    ids.add(data.get("office_photo_id"))
    return {i for i in ids if isinstance(i, int)}


def revision_dict(rev: ProfileRevision | None) -> dict[str, Any] | None:
    """A revision as stored in the audit log and served by the API."""
    if rev is None:
        return None
    point = lonlat(rev)
    data = dict(rev.data or {})
    if isinstance(data.get("schools"), list):
        # The staged school list can run to hundreds of rows; its count is enough here.
        data["schools"] = len(data["schools"])
    return {
        "revision_no": rev.revision_no,
        "state": rev.state,
        "data": data,
        "location": {"lon": point[0], "lat": point[1]} if point else None,
        "review_comment": rev.review_comment,
        "version": rev.version,
    }


def missing_for_submission(rev: ProfileRevision) -> list[str]:
    data = rev.data or {}
    missing = [k for k in ("address", "phone") if not data.get(k)]
    if not any(p.get("role") == "director" and p.get("name") for p in data.get("people") or []):
        missing.append("director")
    return missing


# --- validation ------------------------------------------------------------------------------


def check_point(session: Session, office: Office, lon: float, lat: float) -> None:
    """Refuse a pin outside Thailand, or outside the office's province once boundaries exist."""
    check_in_province(session, office, lon, lat)


def parse_point(lat: Any, lon: Any) -> tuple[float, float] | None:
    """(lon, lat) from two form values; both empty means no proposed pin."""
    lat_s, lon_s = str(lat or "").strip(), str(lon or "").strip()
    if not lat_s and not lon_s:
        return None
    message = N_("Latitude and longitude must both be decimal degrees, e.g. 8.0863 and 98.9063.")
    try:
        lat_f, lon_f = float(lat_s), float(lon_s)
    except ValueError as exc:
        raise ServiceError(400, message) from exc
    if not (math.isfinite(lat_f) and math.isfinite(lon_f)):  # "nan", "inf" parse as floats
        raise ServiceError(400, message)
    return lon_f, lat_f


def _text(data: dict[str, Any], key: str, label: object, max_length: int) -> str:
    value = clean_text(str(data.get(key) or ""), max_length=max_length * 4)
    if len(value) > max_length:
        raise ServiceError(
            400, N_("%(field)s is longer than %(n)s characters."), field=label, n=max_length
        )
    return value


def _website(value: str) -> str:
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", value):
        raise ServiceError(
            400,
            N_(
                "Website must be a web address starting with http:// or "
                "https://, e.g. https://www.example.go.th."
            ),
        )
    return value


def _phone(value: str) -> str:
    if value and not _PHONE_CHARS.fullmatch(_PHONE_WORDS.sub(" ", value)):
        raise ServiceError(
            400,
            N_("Phone may hold only digits, spaces and + - ( ) , / . (and ต่อ for an extension)."),
        )
    return value


def _count(value: Any, label: object) -> int | None:
    text = str(value if value is not None else "").strip().replace(",", "")
    if not text:
        return None
    if not text.isdigit():
        raise ServiceError(400, N_("%(field)s must be a whole number, zero or more."), field=label)
    number = int(text)
    if number > MAX_STAFF:
        raise ServiceError(400, N_("%(field)s must be at most %(n)s."), field=label, n=MAX_STAFF)
    return number


def _email(value: str) -> str:
    if value and not _EMAIL.fullmatch(value):
        raise ServiceError(400, N_("E-mail must look like name@example.go.th."))
    return value


def _person(n: int, person: dict[str, Any]) -> dict[str, Any] | None:
    """One row of the people form; None for an empty row."""
    role = person.get("role")
    if role not in PERSON_ROLES:
        raise ServiceError(400, N_("Person %(n)s: the role must be director or deputy."), n=n)
    name = _text(person, "name", RowLabel(PERSON_FIELD, n, "name"), 200)
    position = _text(person, "position", RowLabel(PERSON_FIELD, n, "position"), 200)
    photo_id = person.get("photo_id")
    if not name and not position and photo_id is None:
        return None
    if not name:
        raise ServiceError(400, N_("Person %(n)s: give the name."), n=n)
    return {"role": role, "name": name, "position": position, "photo_id": photo_id}


def clean_profile(session: Session, office: Office, data: dict[str, Any]) -> dict[str, Any]:
    """Validate the editable profile fields; the result is what a revision's `data` holds."""
    c = Collector()
    out: dict[str, Any] = {
        "address": c.check(_text, data, "address", Labels("address"), 500, default=""),
        "phone": c.check(lambda: _phone(_text(data, "phone", Labels("phone"), 100)), default=""),
        "email": c.check(lambda: _email(_text(data, "email", Labels("email"), 254)), default=""),
        "website": c.check(
            lambda: _website(_text(data, "website", Labels("website"), 300)), default=""
        ),
        "staff_count": c.check(
            _count, data.get("staff_count"), Labels("staff_count"), default=None
        ),
    }
    people = []
    for n, person in enumerate(data.get("people") or [], start=1):
        row = c.check(_person, n, person, default=None)
        if row is not None:
            people.append(row)
    if sum(p["role"] == "director" for p in people) > 1:
        c.errors.append(
            ServiceError(400, N_("An office has one director; list the others as deputies."))
        )
    if len(people) > MAX_PEOPLE:
        c.errors.append(ServiceError(400, N_("List at most %(n)s people."), n=MAX_PEOPLE))
    c.raise_any()
    out["people"] = people
    out["office_photo_id"] = data.get("office_photo_id")
    wanted = photo_ids(out)
    if wanted:
        own = set(
            session.scalars(
                select(Photo.id).where(Photo.id.in_(wanted), Photo.office_id == office.id)
            )
        )
        if wanted - own:
            raise ServiceError(400, N_("A photo does not belong to this office; upload it again."))
    return out


# --- editing ---------------------------------------------------------------------------------


def save_draft(
    session: Session,
    actor: Actor,
    office: Office,
    data: dict[str, Any],
    point: tuple[float, float] | None,
    expected_version: int | None,
) -> ProfileRevision:
    """Validate and save the office's draft; `point` is (lon, lat) or None to keep none."""
    cleaned = clean_profile(session, office, data)
    if point is not None:
        check_point(session, office, *point)
    rev = editable_revision(session, actor, office, expected_version)
    before = revision_dict(rev)
    # Counts and the school list are staged from the schools page; the profile form keeps them.
    rev.data = {**{k: v for k, v in (rev.data or {}).items() if k in STAGED_KEYS}, **cleaned}
    rev.geom = from_shape(Point(*point), srid=4326) if point else None
    rev.updated_at = actor.now  # always an UPDATE, so the version moves on every save
    session.flush()
    record(
        session,
        actor,
        "profile.save",
        "profile_revision",
        rev.id,
        before=before,
        after=revision_dict(rev),
        office_id=office.id,
    )
    return rev


def submit(
    session: Session, actor: Actor, office: Office, expected_version: int | None
) -> ProfileRevision:
    ensure_can(actor, "submit_profile", office.id)
    lock_office_work(session, office.id)
    rev = current_revision(session, office.id)
    if rev is None:
        raise ServiceError(409, N_("There is nothing to submit yet."))
    check_version(rev, expected_version)
    require_complete(
        rev, missing_for_submission(rev), N_("The profile is incomplete: fill in %(fields)s.")
    )
    before = revision_dict(rev)
    mark_submitted(rev, actor)
    session.flush()
    record(
        session,
        actor,
        "profile.submit",
        "profile_revision",
        rev.id,
        before=before,
        after=revision_dict(rev),
        office_id=office.id,
    )
    return rev


def review(
    session: Session,
    actor: Actor,
    rev: ProfileRevision,
    decision: str,
    comment: str,
    expected_version: int | None,
) -> ProfileRevision:
    """Approve (the public sees it and the pin moves) or return a submitted revision."""
    ensure_can(actor, "review_profile")
    lock_office_work(session, rev.office_id)
    check_version(rev, expected_version)
    before = revision_dict(rev)
    mark_reviewed(rev, actor, decision, comment)
    session.flush()
    record(
        session,
        actor,
        f"profile.{decision}",
        "profile_revision",
        rev.id,
        before=before,
        after=revision_dict(rev),
        office_id=rev.office_id,
    )
    if rev.state == "approved":
        office = session.get(Office, rev.office_id)
        assert office is not None  # noqa: S101 - a foreign key guarantees it
        published = publish_staged(session, actor, office, rev)
        point = lonlat(rev)
        if point is not None and point != lonlat_of_office(office):
            # move_office_pin checks the province again (boundaries may have arrived since the
            # draft was saved), audits the move and announces it.
            move_office_pin(session, actor, office.code, point[0], point[1], precision="office")
        emit_change(
            session,
            "office.updated",
            office.code,
            {"fields": ["profile", *published], "revision_no": rev.revision_no},
        )
    return rev


def lonlat_of_office(office: Office) -> tuple[float, float]:
    point = point_of(office.geom)
    return round(point.x, 6), round(point.y, 6)


def submitted(session: Session) -> list[ProfileRevision]:
    return list(
        session.scalars(
            select(ProfileRevision)
            .where(ProfileRevision.state == "submitted")
            .order_by(ProfileRevision.submitted_at.asc().nulls_last())
        )
    )


# The old name, which profiles/views.py still calls as svc.require (pinmap.security.require is
# the view decorator); remove once the views call ensure_can.
require = ensure_can
