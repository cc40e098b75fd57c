"""/api/v1 routes for an office's best practices: approved ones for everyone, drafts and working
copies for the office and OBEC, writing, submitting and OBEC's decision (the same services and
rules as the portal's best-practice pages and the profile review desk)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from .. import forms
from ..db import get_session
from ..errors import abort_json
from ..inputs import PG_INT_MAX, PG_INT_MIN, Blueprint, Int
from ..models import Office, Photo
from ..public.photos import photo_url
from ..security import current_actor, require
from ..services import best_practices as svc
from ..services.best_practices import Practice
from ..services.errors import N_, ServiceError
from ..services.lookups import get_or_404
from ..services.review import MAX_COMMENT, ensure_can
from ..services.uploads import UploadRejected, clean_upload, store
from .profile_parts import (
    VIEWS,
    PartDecisionBody,
    PartVersionBody,
    ViewQuery,
    may_read_work,
    office,
    require_work_reader,
    wants_work,
)

bp = Blueprint(
    "best_practices_api",
    __name__,
    url_prefix="/api/v1",
    description="Offices' best practices: drafts, submission and review",
)

MAX_ITEMS = 200
MAX_DIMENSIONS = 20


class BestPracticeBody(Schema):
    """The whole form: a field left out is saved empty, as on the page."""

    version = Int(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "Version you edited (omit when creating)"},
    )
    fiscal_year = Int(strict=True, required=True, validate=validate.Range(2400, 2800))
    title = fields.String(required=True, validate=validate.Length(1, 300))
    owner = fields.String(load_default="", validate=validate.Length(max=300))
    dimensions = fields.List(
        fields.String(validate=validate.Length(max=100)),
        load_default=list,
        validate=validate.Length(max=MAX_DIMENSIONS),
        metadata={"description": "Keys of policy dimensions"},
    )
    item_ids = fields.List(
        Int(strict=True, validate=validate.Range(1, None)),
        load_default=list,
        validate=validate.Length(max=MAX_ITEMS),
        metadata={"description": "Ids of policy items of the same fiscal year"},
    )
    background = fields.String(load_default="", validate=validate.Length(max=svc.MAX_RICH))
    objectives = fields.String(load_default="", validate=validate.Length(max=svc.MAX_RICH))
    process = fields.String(load_default="", validate=validate.Length(max=svc.MAX_RICH))
    results = fields.String(load_default="", validate=validate.Length(max=svc.MAX_RICH))
    success_factors = fields.String(load_default="", validate=validate.Length(max=svc.MAX_RICH))


class AttachmentOut(Schema):
    title = fields.String(allow_none=True)
    original_name = fields.String(allow_none=True)
    mime = fields.String(allow_none=True)
    size_bytes = fields.Integer(allow_none=True)


class BestPracticeOut(Schema):
    id = fields.Integer()
    office = fields.String()
    fiscal_year = fields.Integer()
    title = fields.String()
    owner = fields.String(allow_none=True)
    dimensions = fields.List(fields.String())
    items = fields.List(fields.Integer(), metadata={"description": "Ids of policy items"})
    background = fields.String(allow_none=True, metadata={"description": "Sanitised HTML"})
    objectives = fields.String(allow_none=True)
    process = fields.String(allow_none=True)
    results = fields.String(allow_none=True)
    success_factors = fields.String(allow_none=True)
    infographic_photo_id = fields.Integer(allow_none=True)
    infographic_url = fields.String(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentOut))
    state = fields.String()
    review_comment = fields.String(
        allow_none=True, metadata={"description": "For the office and OBEC only"}
    )
    version = fields.Integer()
    replaces_id = fields.Integer(
        allow_none=True,
        metadata={
            "description": "Set (to the practice's own id) when this is a new revision of an "
            "approved practice, whose approved revision stays public until this one is approved"
        },
    )
    revision_no = fields.Integer(metadata={"description": "1 for the first revision"})
    level = fields.Integer(
        metadata={"description": "Approval levels passed: 1 certified by the director, 2 approved"}
    )


class BestPracticeDecisionBody(PartDecisionBody):
    decision = fields.String(
        required=True, validate=validate.OneOf(["approve", "return", "unapprove"])
    )
    comment = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_COMMENT),
        metadata={"description": "Required to return or un-approve"},
    )


class BestPracticeList(Schema):
    office = fields.String()
    view = fields.String(validate=validate.OneOf(VIEWS))
    best_practices = fields.List(fields.Nested(BestPracticeOut))


class BestPracticeQueue(Schema):
    best_practices = fields.List(fields.Nested(BestPracticeOut))


def _json(found: Practice, code: str, *, private: bool) -> dict[str, Any]:
    out = {
        **svc.bp_dict(get_session(), found),
        "office": code,
        "infographic_url": photo_url(found.infographic_photo_id),
    }
    if not private:
        # A reviewer's note is for the office, not the web.
        out.pop("review_comment", None)
    return out


def _readable(bp_id: int) -> tuple[Practice, Office, bool]:
    """The practice and its office: the revision being worked on for the office and OBEC, the
    approved one for everyone else (a practice never approved is for the office and OBEC)."""
    session = get_session()
    try:
        row = svc.row_or_404(session, bp_id)
    except ServiceError as err:
        abort_json(err)
    owner = session.get_one(Office, row.office_id)
    private = may_read_work(owner.id)
    shown = None if private else svc.public(session, row)
    if shown is None:
        require_work_reader(owner.id)
        shown = svc.working(session, row)
    return shown, owner, private


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    """The service reads the form's field names (fiscal_year as typed, item_ids)."""
    return {**body, "fiscal_year": str(body["fiscal_year"])}


@bp.route("/offices/<code>/best-practices")
@bp.arguments(ViewQuery, location="query", as_kwargs=True)
@bp.response(200, BestPracticeList)
def office_best_practices(code: str, view: str) -> dict[str, Any]:
    """The office's approved best practices, or (view=working) the revision being worked on of
    each (draft, submitted, returned, approved, or a new revision of an approved one), newest
    year first."""
    found = office(code)
    private = wants_work(found, view)
    practices = svc.of_office(get_session(), found.id, approved_only=not private)
    return {
        "office": found.code,
        "view": view,
        "best_practices": [_json(p, found.code, private=private) for p in practices],
    }


@bp.route("/offices/<code>/best-practices", methods=["POST"])
@require("edit_profile")
@bp.arguments(BestPracticeBody)
@bp.response(201, BestPracticeOut)
def create_best_practice(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Write a new best practice (a draft of the office's staff)."""
    session = get_session()
    found = office(code)
    body.pop("version")
    try:
        saved = svc.save(session, current_actor(), found, None, _fields(body), None)
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return _json(saved, found.code, private=True)


@bp.route("/best-practices/<int:bp_id>")
@bp.response(200, BestPracticeOut)
def best_practice(bp_id: int) -> dict[str, Any]:
    """One best practice: approved ones for everyone, others for the office and OBEC."""
    found, owner, private = _readable(bp_id)
    return _json(found, owner.code, private=private)


@bp.route("/best-practices/<int:bp_id>", methods=["PUT"])
@require("edit_profile")
@bp.arguments(BestPracticeBody)
@bp.response(200, BestPracticeOut)
def save_best_practice(body: dict[str, Any], bp_id: int) -> dict[str, Any]:
    """Save the text (the whole form). Editing an approved practice opens a new revision of it
    (answered here: the same id, `replaces_id` set, the next `revision_no`) while the approved
    revision stays public; 409 if `version` is stale or it was submitted."""
    session = get_session()
    try:
        found = svc.bp_or_404(session, bp_id)
        owner = session.get_one(Office, found.office_id)
        version = body.pop("version")
        saved = svc.save(session, current_actor(), owner, found, _fields(body), version)
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return _json(saved, owner.code, private=True)


@bp.route("/best-practices/<int:bp_id>/submit", methods=["POST"])
@require("submit_profile")
@bp.arguments(PartVersionBody)
@bp.response(200, BestPracticeOut)
def submit_best_practice(body: dict[str, Any], bp_id: int) -> dict[str, Any]:
    """Certify and submit a best practice for review (the office director)."""
    session = get_session()
    try:
        found = svc.bp_or_404(session, bp_id)
        owner = session.get_one(Office, found.office_id)
        found = svc.submit(session, current_actor(), found, body["version"])
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return _json(found, owner.code, private=True)


@bp.route("/review/best-practices")
@require("review_profile")
@bp.response(200, BestPracticeQueue)
def best_practice_queue() -> dict[str, Any]:
    """Submitted best practices waiting for OBEC, oldest first."""
    session = get_session()
    queue = svc.submitted(session, current_actor().user)
    wanted = {p.office_id for p in queue}
    codes = dict(session.execute(select(Office.id, Office.code).where(Office.id.in_(wanted))).all())
    return {"best_practices": [_json(p, codes[p.office_id], private=True) for p in queue]}


@bp.route("/review/best-practices/<int:bp_id>/decision", methods=["POST"])
@require("review_profile")
@bp.arguments(BestPracticeDecisionBody)
@bp.response(200, BestPracticeOut)
def decide_best_practice(body: dict[str, Any], bp_id: int) -> dict[str, Any]:
    """approve (public; the approved revision replaces the one shown before), return (comment
    required) or unapprove an approved one (comment required; the previous approved revision,
    if any, is public again); 409 if `version` is stale or the state does not allow it."""
    session = get_session()
    try:
        found = svc.bp_or_404(session, bp_id)
        owner = session.get_one(Office, found.office_id)
        found = svc.review(
            session, current_actor(), found, body["decision"], body["comment"], body["version"]
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return _json(found, owner.code, private=True)


# --- attachments and the infographic -----------------------------------------------------------

ATTACHMENT_BODY = {
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
                        "description": "JPEG, PNG, WebP or PDF",
                    },
                    "title": {"type": "string", "maxLength": 300},
                    "version": {"type": "integer", "minimum": PG_INT_MIN, "maximum": PG_INT_MAX},
                },
            }
        }
    },
}


class VersionQuery(Schema):
    version = Int(strict=False, required=True)


class InfographicBody(Schema):
    version = Int(strict=True, required=True)
    photo_id = Int(
        strict=True,
        required=True,
        allow_none=True,
        metadata={"description": "A photo of the office (POST /offices/{code}/photos); null drops"},
    )


def _attachment() -> dict[str, Any]:
    """The multipart `file` checked and stored (deleted again unless the request commits)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ServiceError(400, N_("Choose a file to upload."))
    name = forms.file_name(upload.filename)
    title = request.form.get("title", "")
    if len(title) > 300:
        raise ServiceError(
            400, N_("%(field)s is longer than %(n)s characters."), field=_("Title"), n=300
        )
    try:
        clean = clean_upload(
            upload.stream, name, max_bytes=current_app.config["PINMAP_MAX_UPLOAD_BYTES"]
        )
    except UploadRejected as exc:
        raise ServiceError(
            400,
            N_("%(field)s (%(file)s): %(reason)s"),
            field=_("Attachment"),
            file=name,
            reason=_(exc.message_en),
        ) from exc
    return {
        "stored_name": store(current_app.config["PINMAP_UPLOAD_DIR_PATH"], clean, get_session()),
        "original_name": name,
        "title": title,
        "mime": clean.mime,
        "size_bytes": len(clean.data),
        "sha256": clean.sha256,
    }


@bp.route("/best-practices/<int:bp_id>/attachments", methods=["POST"])
@require("edit_profile")
@bp.doc(requestBody=ATTACHMENT_BODY)
@bp.response(201, BestPracticeOut)
def attach(bp_id: int) -> dict[str, Any]:
    """Attach a file (multipart `file`, `title`, `version`); at most 10 per practice."""
    session = get_session()
    try:
        found = svc.bp_or_404(session, bp_id)
        owner = session.get_one(Office, found.office_id)
        version = forms.whole(request.form.get("version"), "version", *forms.INTEGER)
        # The right to edit first: nobody else's file is stored, even for a moment.
        ensure_can(current_actor(), "edit_profile", owner.id)
        found = svc.add_attachment(session, current_actor(), found, version, _attachment())
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return _json(found, owner.code, private=True)


@bp.route("/best-practices/<int:bp_id>/attachments/<int:index>", methods=["DELETE"])
@require("edit_profile")
@bp.arguments(VersionQuery, location="query", as_kwargs=True)
@bp.response(200, BestPracticeOut)
def detach(bp_id: int, index: int, version: int) -> dict[str, Any]:
    """Remove the attachment at `index` (0 first, as listed); 409 if `version` is stale."""
    session = get_session()
    try:
        found = svc.bp_or_404(session, bp_id)
        owner = session.get_one(Office, found.office_id)
        found = svc.remove_attachment(session, current_actor(), found, version, index)
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return _json(found, owner.code, private=True)


@bp.route("/best-practices/<int:bp_id>/infographic", methods=["PUT"])
@require("edit_profile")
@bp.arguments(InfographicBody)
@bp.response(200, BestPracticeOut)
def set_infographic(body: dict[str, Any], bp_id: int) -> dict[str, Any]:
    """Show a photo of the office as the practice's infographic, or none (`photo_id` null)."""
    session = get_session()
    try:
        found = svc.bp_or_404(session, bp_id)
        owner = session.get_one(Office, found.office_id)
        photo = None
        if body["photo_id"] is not None:
            photo = get_or_404(session, Photo, body["photo_id"], N_("Not found."))
        found = svc.set_infographic(session, current_actor(), found, body["version"], photo)
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return _json(found, owner.code, private=True)
