"""Office profiles: cleaning, and their revisions' review through the one workflow engine.

A profile is a workflow report of kind "profile" (services/profile_revisions.py); this module
checks the form, saves drafts, and on approval publishes what the revision staged (counts,
the school list) and moves the pin."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Office, Photo, WorkflowReport, WorkflowRevision
from ..shapes import point_of
from . import workflow as wf
from .audit import Actor, emit_change, record
from .errors import N_, Collector, Labels, RowLabel, ServiceError
from .offices import check_in_province, move_office_pin
from .profile_revisions import (
    KIND,
    REPLACED_KEY,
    SUBJECT,
    YEAR,
    ProfileRevision,
    comments_of,
    current_revision,
    missing,
    report_of,
    wrap,
)
from .profile_revisions import approved_revision as approved_revision
from .profile_revisions import revision_or_404 as revision_or_404
from .review import ensure_can
from .sanitize import clean_text
from .schools import publish_staged, restore_published
from .schools import replaced_by as publish_replaces

TEXT_FIELDS = ("address", "phone", "email", "website")
PERSON_ROLES = ("director", "deputy")
MAX_PEOPLE = 8
# How a field of one person row is named in messages ("Person 2: Name").
PERSON_FIELD = N_("Person %(n)s: %(field)s")
MAX_STAFF = 100_000
# Keys of a revision's data staged outside the profile form (services/schools.py).
STAGED_KEYS = ("counts", "schools", "schools_file")

_EMAIL = re.compile(r"[^@\s<>\"'(),;:]+@[^@\s<>\"'(),;:]+\.[^@\s<>\"'(),;:]+")
_PHONE_CHARS = re.compile(r"[0-9+()\-\s,/.]+")
_PHONE_WORDS = re.compile(r"ต่อ|ext\.?|โทรสาร|fax", re.IGNORECASE)


# --- reading ---------------------------------------------------------------------------------


def revisions(session: Session, office_id: int) -> list[ProfileRevision]:
    """Every revision of the office's profile, newest first, with the reviewer's last word."""
    report = report_of(session, office_id)
    if report is None:
        return []
    revs = wf.revisions(session, report)
    said = comments_of(session, [r.id for r in revs])
    return [ProfileRevision(r, office_id, said.get(r.id, "")) for r in reversed(revs)]


def approved_revisions(session: Session) -> dict[int, ProfileRevision]:
    """{office_id: approved revision} for every office that has one (exports)."""
    rows = session.execute(
        select(WorkflowReport.office_id, WorkflowRevision)
        .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.approved_revision_id)
        .where(WorkflowReport.kind == KIND)
    )
    return {office_id: ProfileRevision(rev, office_id) for office_id, rev in rows}


def offices_with_approved_pin(session: Session) -> set[int]:
    """Offices whose approved profile placed the pin (the data load leaves those alone)."""
    return set(
        session.scalars(
            select(WorkflowReport.office_id)
            .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.approved_revision_id)
            .where(
                WorkflowReport.kind == KIND,
                func.jsonb_typeof(WorkflowRevision.data["location"]) == "array",
            )
        )
    )


def lonlat(rev: ProfileRevision | None) -> tuple[float, float] | None:
    """The pin the revision proposes, (lon, lat), or None."""
    where = (rev.data or {}).get("location") if rev is not None else None
    if not isinstance(where, list) or len(where) != 2:
        return None
    return round(float(where[0]), 6), round(float(where[1]), 6)


def photo_ids(data: dict[str, Any]) -> set[int]:
    ids = {p.get("photo_id") for p in data.get("people") or []}
    ids.add(data.get("office_photo_id"))
    return {i for i in ids if isinstance(i, int)}


def revision_dict(rev: ProfileRevision | None) -> dict[str, Any] | None:
    """A revision as stored in the audit log and served by the API."""
    if rev is None:
        return None
    point = lonlat(rev)
    data = {k: v for k, v in (rev.data or {}).items() if k not in ("location", REPLACED_KEY)}
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
    return missing(rev.data or {})


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
    """Validate and save the office's draft; `point` is (lon, lat) or None to keep none.

    An approved profile is locked: the engine opens a new revision and the approved one stays
    public until the new one is approved."""
    ensure_can(actor, "edit_profile", office.id)
    cleaned = clean_profile(session, office, data)
    if point is not None:
        check_point(session, office, *point)
    current = current_revision(session, office.id)
    # Counts and the school list are staged from the schools page; the profile form keeps them.
    staged = {k: v for k, v in (current.data if current else {}).items() if k in STAGED_KEYS}
    stored = {**staged, **cleaned, "location": list(point) if point else None}
    report = wf.save(session, actor, KIND, office, YEAR, SUBJECT, stored, expected_version)
    found = wrap(session, report, report.current)
    assert found is not None  # noqa: S101 (save leaves a working revision)
    return found


def submit(
    session: Session, actor: Actor, office: Office, expected_version: int | None
) -> ProfileRevision:
    """The office director certifies the profile and sends it to OBEC."""
    ensure_can(actor, "submit_profile", office.id)
    report = report_of(session, office.id)
    if report is None or report.current is None:
        raise ServiceError(409, N_("There is nothing to submit yet."))
    report = wf.submit(session, actor, report, expected_version)
    found = wrap(session, report, report.current)
    assert found is not None  # noqa: S101 (a sent report has a working revision)
    return found


def review(
    session: Session,
    actor: Actor,
    rev: ProfileRevision,
    decision: str,
    comment: str,
    expected_version: int | None,
) -> ProfileRevision:
    """Approve (the public sees it and the pin moves), return, or un-approve (from above).

    Approving publishes what the revision staged (counts, school list) and moves the pin, and
    keeps with the revision what that replaced; un-approving a finally approved revision puts
    exactly that back, so the public sees the previously approved profile again, pin included.
    """
    ensure_can(actor, "review_profile")
    report = session.get_one(WorkflowReport, rev.report_id)
    if report.current_revision_id != rev.id:
        raise ServiceError(409, N_("This profile was changed by someone else; reload the page."))
    was_public = rev.state == "approved"
    report = wf.decide(session, actor, report, decision, expected_version, comment)
    found = wrap(session, report, report.current)
    assert found is not None  # noqa: S101 (a decided report has a working revision)
    office = session.get(Office, found.office_id)
    assert office is not None  # noqa: S101 - a foreign key guarantees it
    if found.state == "approved" and decision == "approve":
        _publish(session, actor, office, found)
    elif was_public and found.state != "approved":
        _withdraw(session, actor, office, found, report)
    return found


def _publish(session: Session, actor: Actor, office: Office, found: ProfileRevision) -> None:
    replaced: dict[str, Any] = publish_replaces(session, office, found)
    published = publish_staged(session, actor, office, found)
    point = lonlat(found)
    if point is not None and point != lonlat_of_office(office):
        replaced["pin"] = {
            "lonlat": list(lonlat_of_office(office)),
            "precision": office.location_precision,
        }
        # move_office_pin checks the province again (boundaries may have arrived since the
        # draft was saved), audits the move and announces it.
        move_office_pin(session, actor, office.code, point[0], point[1], precision="office")
    # The revision is locked from here on; this key is the engine's record of what it replaced.
    found.data = {**found.data, REPLACED_KEY: replaced}
    session.flush()
    emit_change(
        session,
        "office.updated",
        office.code,
        {"fields": ["profile", *published], "revision_no": found.revision_no},
    )


def _withdraw(
    session: Session,
    actor: Actor,
    office: Office,
    found: ProfileRevision,
    report: WorkflowReport,
) -> None:
    """Un-approved: put back the public counts, schools and pin the approval replaced."""
    replaced = found.data.get(REPLACED_KEY)
    previous = wrap(session, report, report.approved)
    fields: list[str] = []
    if isinstance(replaced, dict):
        fields += restore_published(session, actor, office, found, replaced)
        pin = replaced.get("pin")
        target = (
            (float(pin["lonlat"][0]), float(pin["lonlat"][1]), str(pin["precision"]))
            if isinstance(pin, dict)
            else None
        )
    else:
        # Approved before approvals kept what they replaced: the previous approved revision's
        # own counts, school list and pin are the best knowledge of the earlier public state.
        if previous is not None:
            fields += publish_staged(session, actor, office, previous)
        point = lonlat(previous)
        target = (point[0], point[1], "office") if point is not None else None
    if target is not None and (target[0], target[1]) != lonlat_of_office(office):
        _put_pin_back(session, actor, office, target)
        fields.append("geom")
    found.data = {k: v for k, v in found.data.items() if k != REPLACED_KEY}
    session.flush()
    emit_change(
        session,
        "office.updated",
        office.code,
        {
            "fields": ["profile", *fields],
            "revision_no": previous.revision_no if previous is not None else None,
        },
    )


def _put_pin_back(
    session: Session, actor: Actor, office: Office, target: tuple[float, float, str]
) -> None:
    # No province check: this is where the pin was publicly, approved or loaded, before.
    before = {"type": "Point", "coordinates": list(lonlat_of_office(office))}
    office.geom = from_shape(Point(target[0], target[1]), srid=4326)
    office.location_precision = target[2]
    session.flush()
    record(
        session,
        actor,
        "office.move",
        "office",
        office.code,
        before=before,
        after={"type": "Point", "coordinates": [target[0], target[1]], "reason": "unapprove"},
        office_id=office.id,
    )


def lonlat_of_office(office: Office) -> tuple[float, float]:
    point = point_of(office.geom)
    return round(point.x, 6), round(point.y, 6)


def submitted(session: Session, user: Any = None) -> list[ProfileRevision]:
    """Profiles waiting for a level `user` may pass (every sent one without a user)."""
    if user is not None:
        reports = wf.waiting_for(session, KIND, user)
    else:
        reports = list(
            session.scalars(
                select(WorkflowReport)
                .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.current_revision_id)
                .where(WorkflowReport.kind == KIND, WorkflowRevision.state == "submitted")
                .order_by(WorkflowRevision.updated_at)
            )
        )
    out = [wrap(session, r, r.current) for r in reports]
    return [r for r in out if r is not None]


# The old name, which profiles/views.py still calls as svc.require (pinmap.security.require is
# the view decorator); remove once the views call ensure_can.
require = ensure_can
