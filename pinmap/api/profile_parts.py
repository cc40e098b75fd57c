"""/api/v1 routes for an office's profile and its people: the approved profile for everyone, the
working revision for the office and OBEC, saving, submitting and OBEC's decision (the same
services and rules as the portal's profile page and the profile review desk)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from .. import forms
from ..auth import can_read_office_work
from ..db import get_session
from ..errors import abort_json
from ..inputs import Blueprint, Int, StrictFloat
from ..models import Office
from ..security import current_actor, require
from ..services import offices
from ..services import photos as photo_svc
from ..services import profiles as svc
from ..services.errors import N_, ServiceError
from ..services.profile_revisions import ProfileRevision
from ..services.review import MAX_COMMENT, ensure_can
from ..services.uploads import UploadRejected

bp = Blueprint(
    "profile_parts_api",
    __name__,
    url_prefix="/api/v1",
    description="Office profiles and their people: drafts, submission and review",
)

VIEWS = ("approved", "working")


class ViewQuery(Schema):
    view = fields.String(
        load_default="approved",
        validate=validate.OneOf(VIEWS),
        metadata={
            "description": "approved: what the public sees; working: the revision being "
            "edited or reviewed (the office's staff and OBEC only)"
        },
    )


def office(code: str) -> Office:
    return offices.office_or_404(get_session(), code)


def may_read_work(office_id: int) -> bool:
    """Whether the caller may read the office's unapproved work (its staff and OBEC)."""
    user = current_user if current_user.is_authenticated else None
    return can_read_office_work(user, office_id)


def require_work_reader(office_id: int) -> None:
    """401 for anonymous callers, 403 for others who may not read the office's drafts."""
    if not current_user.is_authenticated:
        abort(401, description=_("Sign in or send an API token."))
    if not may_read_work(office_id):
        abort(403, description=_("You may not see this office's unpublished work."))


def wants_work(found: Office, view: str) -> bool:
    """True when the caller asked for (and may read) the working revision."""
    if view == "working":
        require_work_reader(found.id)
        return True
    return False


# --- schemas ------------------------------------------------------------------------------------


class LonLatSchema(Schema):
    lon = StrictFloat(required=True, validate=validate.Range(-180, 180))
    lat = StrictFloat(required=True, validate=validate.Range(-90, 90))


class PersonSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(svc.PERSON_ROLES))
    name = fields.String(load_default="", validate=validate.Length(max=200))
    position = fields.String(load_default="", validate=validate.Length(max=200))
    photo_id = Int(strict=True, load_default=None, allow_none=True)


class PersonOut(PersonSchema):
    photo_url = fields.String(allow_none=True)


class ProfileBody(Schema):
    """The whole profile form: a field left out is saved empty, as on the page."""

    version = Int(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "Version you edited; omit or 0 for the first draft"},
    )
    address = fields.String(load_default="", validate=validate.Length(max=500))
    phone = fields.String(load_default="", validate=validate.Length(max=100))
    email = fields.String(load_default="", validate=validate.Length(max=254))
    website = fields.String(load_default="", validate=validate.Length(max=300))
    staff_count = Int(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(0, svc.MAX_STAFF)
    )
    people = fields.List(
        fields.Nested(PersonSchema),
        load_default=list,
        validate=validate.Length(max=svc.MAX_PEOPLE),
        metadata={"description": "Director first (role director), then deputies"},
    )
    office_photo_id = Int(strict=True, load_default=None, allow_none=True)
    location = fields.Nested(
        LonLatSchema,
        load_default=None,
        allow_none=True,
        metadata={"description": "The office's pin, inside its province; null keeps none"},
    )


class PartVersionBody(Schema):
    version = Int(strict=True, required=True)


class PartDecisionBody(Schema):
    version = Int(strict=True, required=True)
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "return"]))
    comment = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_COMMENT),
        metadata={"description": "Required to return"},
    )


class RevisionSchema(Schema):
    id = fields.Integer()
    revision_no = fields.Integer()
    state = fields.String()
    data = fields.Dict(metadata={"description": "The profile's fields as the page saves them"})
    location = fields.Nested(LonLatSchema, allow_none=True)
    review_comment = fields.String(allow_none=True)
    version = fields.Integer()


class WorkingProfileSchema(Schema):
    office = fields.String()
    revision = fields.Nested(RevisionSchema, allow_none=True)
    approved = fields.Nested(RevisionSchema, allow_none=True)
    missing = fields.List(
        fields.String(), metadata={"description": "What must be filled in before submitting"}
    )


class PeopleSchema(Schema):
    office = fields.String()
    view = fields.String(validate=validate.OneOf(VIEWS))
    revision_no = fields.Integer(allow_none=True)
    people = fields.List(fields.Nested(PersonOut))


class QueuedProfileSchema(RevisionSchema):
    office = fields.String()


class ProfileQueueSchema(Schema):
    profiles = fields.List(fields.Nested(QueuedProfileSchema))


# --- helpers ------------------------------------------------------------------------------------


def revision_json(rev: ProfileRevision | None) -> dict[str, Any] | None:
    found = svc.revision_dict(rev)
    return None if found is None or rev is None else {"id": rev.id, **found}


def _working(found: Office) -> dict[str, Any]:
    session = get_session()
    current = svc.current_revision(session, found.id)
    return {
        "office": found.code,
        "revision": revision_json(current),
        "approved": revision_json(svc.approved_revision(session, found.id)),
        "missing": svc.missing_for_submission(current) if current else [],
    }


def _people(rev: ProfileRevision | None) -> list[dict[str, Any]]:
    from ..public.photos import photo_url

    people = ((rev.data or {}).get("people") if rev else None) or []
    return [
        {
            "role": p.get("role"),
            "name": p.get("name", ""),
            "position": p.get("position", ""),
            "photo_id": p.get("photo_id"),
            "photo_url": photo_url(p.get("photo_id")),
        }
        for p in people
    ]


# --- routes -------------------------------------------------------------------------------------

WORKING = "/offices/<code>/profile/working"


@bp.route(WORKING)
@bp.response(200, WorkingProfileSchema)
def working_profile(code: str) -> dict[str, Any]:
    """The revision being edited or reviewed, beside the approved one (office staff and OBEC;
    the public reads GET /offices/{code}/profile)."""
    found = office(code)
    require_work_reader(found.id)
    return _working(found)


@bp.route(WORKING, methods=["PUT"])
@require("edit_profile")
@bp.arguments(ProfileBody)
@bp.response(200, WorkingProfileSchema)
def save_profile(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Save the profile draft (the whole form); 409 if `version` is stale or it was submitted.
    Photos are referenced by id (uploaded on the profile page)."""
    session = get_session()
    found = office(code)
    point = body.pop("location")
    version = body.pop("version")
    try:
        svc.save_draft(
            session,
            current_actor(),
            found,
            body,
            (point["lon"], point["lat"]) if point else None,
            version,
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return _working(found)


@bp.route("/offices/<code>/profile/submit", methods=["POST"])
@require("submit_profile")
@bp.arguments(PartVersionBody)
@bp.response(200, WorkingProfileSchema)
def submit_profile(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Certify and submit the profile draft for review (the office director)."""
    session = get_session()
    found = office(code)
    try:
        svc.submit(session, current_actor(), found, body["version"])
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return _working(found)


@bp.route("/offices/<code>/people")
@bp.arguments(ViewQuery, location="query", as_kwargs=True)
@bp.response(200, PeopleSchema)
def people(code: str, view: str) -> dict[str, Any]:
    """The director and deputies: of the approved profile, or (view=working) of the draft."""
    session = get_session()
    found = office(code)
    if wants_work(found, view):
        rev = svc.current_revision(session, found.id)
    else:
        rev = svc.approved_revision(session, found.id)
    return {
        "office": found.code,
        "view": view,
        "revision_no": rev.revision_no if rev else None,
        "people": _people(rev),
    }


@bp.route("/review/profiles")
@require("review_profile")
@bp.response(200, ProfileQueueSchema)
def profile_queue() -> dict[str, Any]:
    """Submitted profiles waiting for OBEC, oldest first."""
    session = get_session()
    queue = svc.submitted(session, current_actor().user)
    wanted = {r.office_id for r in queue}
    codes = dict(session.execute(select(Office.id, Office.code).where(Office.id.in_(wanted))).all())
    return {
        "profiles": [{**(revision_json(r) or {}), "office": codes.get(r.office_id)} for r in queue]
    }


@bp.route("/review/profiles/<int:rev_id>/decision", methods=["POST"])
@require("review_profile")
@bp.arguments(PartDecisionBody)
@bp.response(200, RevisionSchema)
def decide_profile(body: dict[str, Any], rev_id: int) -> dict[str, Any]:
    """approve (the public sees it; staged schools and counts are published; the pin moves) or
    return (comment required); 409 if `version` is stale or it is not submitted."""
    session = get_session()
    try:
        rev = svc.revision_or_404(session, rev_id)
        rev = svc.review(
            session, current_actor(), rev, body["decision"], body["comment"], body["version"]
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return revision_json(rev) or {}


# --- photos -------------------------------------------------------------------------------------

PHOTO_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "JPEG, PNG or WebP",
                    }
                },
            }
        }
    },
}


class PhotoOut(Schema):
    id = fields.Integer()
    url = fields.String()
    thumb_url = fields.String()


def stored_photo(found: Office, field: str, label: str) -> Any:
    """The multipart `field` checked as an image and stored as a photo of the office (the
    caller commits; the files go again if it does not)."""
    session, actor = get_session(), current_actor()
    ensure_can(actor, "edit_profile", found.id)
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise ServiceError(400, N_("Choose a file to upload."))
    forms.file_name(upload.filename)
    max_bytes = int(
        current_app.config.get("PINMAP_MAX_PHOTO_BYTES", photo_svc.DEFAULT_MAX_PHOTO_BYTES)
    )
    try:
        clean = photo_svc.clean_photo(upload.stream, upload.filename, max_bytes=max_bytes)
    except UploadRejected as exc:
        raise ServiceError(
            400,
            N_("%(field)s (%(file)s): %(reason)s"),
            field=label,
            file=upload.filename,
            reason=_(exc.message_en),
        ) from exc
    return photo_svc.add_photo(
        session, actor, found.id, current_app.config["PINMAP_UPLOAD_DIR_PATH"], clean
    )


@bp.route("/offices/<code>/photos", methods=["POST"])
@require("edit_profile")
@bp.doc(requestBody=PHOTO_BODY)
@bp.response(201, PhotoOut)
def add_photo(code: str) -> dict[str, Any]:
    """Upload a photo of the office (multipart `file`); use its `id` as a person's `photo_id`,
    the `office_photo_id` of the profile or a best practice's infographic."""
    from ..public.photos import photo_url

    session = get_session()
    found = office(code)
    try:
        photo = stored_photo(found, "file", _("Photo"))
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return {
        "id": photo.id,
        "url": photo_url(photo.id),
        "thumb_url": photo_url(photo.id, thumb=True),
    }
