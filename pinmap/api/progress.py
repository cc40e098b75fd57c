"""/api/v1 routes for progress: public approved data, the office portal and the review queue."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ..auth import can_read_office_work
from ..db import get_session
from ..errors import abort_json
from ..evidence import file_evidence
from ..inputs import PG_INT_MAX, PG_INT_MIN, Blueprint, Int, StrictFloat
from ..models import (
    ITEM_NO_PATTERN,
    LIKELY_SUCCESS,
    PROGRESS_STATUSES,
    REVIEW_STATES,
    SET_CODE_PATTERN,
    Evidence,
    Office,
    PolicyItem,
)
from ..security import current_actor, require
from ..services import offices
from ..services import progress as svc
from ..services.errors import ServiceError
from ..services.review import MAX_COMMENT

bp = Blueprint("progress_api", __name__, url_prefix="/api/v1", description="Progress and review")


class FiscalYearQuery(Schema):
    fiscal_year = Int(strict=False, required=True, validate=validate.Range(2500, 2700))
    # An item set's code (policy, quick_win, ...) and the item's number in it ("4", "4.1").
    item_kind = fields.String(validate=validate.Regexp(f"^{SET_CODE_PATTERN}$"))
    item_no = fields.String(validate=validate.Regexp(f"^{ITEM_NO_PATTERN}$"))


class SummaryQuery(FiscalYearQuery):
    # A reporting round of the year: the summary then covers that round only (the map's
    # round selector); any round number is accepted, one with no items reads as empty.
    round_no = Int(strict=False, data_key="round", validate=validate.Range(1, 12))


def _narrative() -> fields.String:
    return fields.String(validate=validate.Length(max=svc.MAX_NARRATIVE))


class EntryBody(Schema):
    version = Int(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "Version you edited; omit for a new report"},
    )
    status = fields.String(validate=validate.OneOf(PROGRESS_STATUSES))
    what = _narrative()
    where = _narrative()
    how = _narrative()
    result = _narrative()
    indicator_value = StrictFloat(allow_none=True, validate=validate.Range(min=0))
    indicator_target = StrictFloat(allow_none=True, validate=validate.Range(min=0))
    indicator_unit = fields.String(allow_none=True, validate=validate.OneOf(["number", "percent"]))
    no_activity_reason = fields.String(validate=validate.Length(max=svc.MAX_NO_ACTIVITY))
    no_activity_when = fields.String(validate=validate.Length(max=svc.MAX_NO_ACTIVITY))
    # Fields an item may ask for besides the narrative (its `fields` in the framework).
    problems = _narrative()
    served_goal = _narrative()
    likely_success = fields.String(allow_none=True, validate=validate.OneOf(LIKELY_SUCCESS))


class VersionBody(Schema):
    version = Int(strict=True, required=True)


class VersionQuery(Schema):
    version = Int(strict=False, required=True)


class DecisionBody(Schema):
    version = Int(strict=True, required=True)
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "return"]))
    comment = fields.String(load_default="", validate=validate.Length(max=MAX_COMMENT))


class LinkBody(Schema):
    version = Int(strict=True, load_default=None, allow_none=True)
    url = fields.Url(required=True, schemes={"http", "https"}, validate=validate.Length(max=2000))
    title = fields.String(load_default="", validate=validate.Length(max=300))


class ReopenBody(Schema):
    office = fields.String(required=True, validate=validate.Length(max=60))
    fiscal_year = Int(strict=True, small=True, required=True)
    round_no = Int(strict=True, small=True, required=True)
    until = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.Length(max=svc.MAX_REASON))


def _office(code: str) -> Office:
    return offices.office_or_404(get_session(), code)


def _item(fiscal_year: int, kind: str, no: str) -> PolicyItem:
    return svc.item_or_404(get_session(), fiscal_year, kind, no)


def public_revision(rev: dict[str, Any] | None) -> dict[str, Any] | None:
    """A revision as the public may read it: a reviewer's note is for the office, not the web."""
    if rev is None:
        return None
    return {k: v for k, v in rev.items() if k != "review_comment"}


def _entry_json(entry: Any, *, public: bool) -> dict[str, Any]:
    if public:
        revision = public_revision(svc.revision_dict(entry.approved))
    else:
        revision = svc.revision_dict(entry.current)
    return {
        "id": entry.id,
        "office": entry.office.code,
        "fiscal_year": entry.fiscal_year,
        "round_no": entry.round_no,
        "item": {"kind": entry.item.kind, "no": entry.item.no, "id": entry.item_id},
        "revision": revision,
        **({} if public else {"approved": svc.revision_dict(entry.approved)}),
    }


@bp.route("/progress")
@bp.arguments(FiscalYearQuery, location="query", as_kwargs=True)
@bp.response(200)
def public_progress(
    fiscal_year: int, item_kind: str | None = None, item_no: str | None = None
) -> dict[str, Any]:
    """Approved progress of every office for a fiscal year (the public sees nothing else)."""
    session = get_session()
    item_id = _item(fiscal_year, item_kind, item_no).id if item_kind and item_no else None
    entries = svc.approved_entries(session, fiscal_year, item_id)
    return {"fiscal_year": fiscal_year, "entries": [_entry_json(e, public=True) for e in entries]}


@bp.route("/progress/summary")
@bp.arguments(SummaryQuery, location="query", as_kwargs=True)
@bp.response(200)
def progress_summary(
    fiscal_year: int,
    item_kind: str | None = None,
    item_no: str | None = None,
    round_no: int | None = None,
) -> dict[str, Any]:
    """Per office: share of items approved and approved statuses (or one item's status), for
    the year or, with `round`, for that reporting round only. Approved reports only."""
    session = get_session()
    if item_kind and item_no:
        item = _item(fiscal_year, item_kind, item_no)
        statuses = svc.approved_status_by_office(session, fiscal_year, item.id, round_no)
        return {
            "fiscal_year": fiscal_year,
            "round": round_no,
            "item": {"kind": item_kind, "no": item_no},
            "offices": {code: s.get(item.id) for code, s in statuses.items()},
        }
    return {
        "fiscal_year": fiscal_year,
        "round": round_no,
        "offices": {
            p.code: {
                "items_total": p.items_total,
                "approved": p.approved,
                "share_approved": round(p.share_approved, 4),
                "by_status": p.by_status,
            }
            for p in svc.progress_summary(session, fiscal_year, round_no)
        },
    }


@bp.route("/portal/offices/<code>/entries")
@require("view_portal")
@bp.arguments(FiscalYearQuery, location="query", as_kwargs=True)
@bp.response(200)
def office_entries(code: str, fiscal_year: int, **_ignored: Any) -> dict[str, Any]:
    """An office's reports for a year including drafts (its own staff and OBEC only)."""
    try:
        entries = svc.office_work(get_session(), current_actor(), _office(code), fiscal_year)
    except ServiceError as err:
        abort_json(err)
    return {
        "office": code,
        "fiscal_year": fiscal_year,
        "entries": [_entry_json(e, public=False) for e in entries],
    }


class QueueQuery(Schema):
    fiscal_year = fields.Integer(required=True, validate=validate.Range(2500, 2700))
    state = fields.String(load_default="submitted", validate=validate.OneOf(REVIEW_STATES))
    cluster = fields.Integer(load_default=None, validate=validate.Range(1, 18))
    item_kind = fields.String(validate=validate.Regexp(f"^{SET_CODE_PATTERN}$"))
    item_no = fields.String(validate=validate.Regexp(f"^{ITEM_NO_PATTERN}$"))


@bp.route("/review/queue")
@require("review_entry")
@bp.arguments(QueueQuery, location="query", as_kwargs=True)
@bp.response(200)
def review_queue(
    fiscal_year: int,
    state: str,
    cluster: int | None,
    item_kind: str | None = None,
    item_no: str | None = None,
) -> dict[str, Any]:
    """The reviewers' queue (what the review desk lists): oldest submission first."""
    item_id = _item(fiscal_year, item_kind, item_no).id if item_kind and item_no else None
    entries = svc.review_queue(
        get_session(), fiscal_year, state, cluster_no=cluster, item_id=item_id
    )
    return {
        "fiscal_year": fiscal_year,
        "state": state,
        "entries": [_entry_json(e, public=False) for e in entries],
    }


@bp.route("/reporting-windows")
@bp.arguments(FiscalYearQuery, location="query", as_kwargs=True)
@bp.response(200)
def reporting_windows(fiscal_year: int, **_ignored: Any) -> dict[str, Any]:
    """When each round of a fiscal year may be submitted (dates inclusive, Bangkok time)."""
    return {
        "fiscal_year": fiscal_year,
        "windows": [
            {
                "round_no": w.round_no,
                "label_th": w.label_th,
                "label_en": w.label_en,
                "opens_on": w.opens_on.isoformat(),
                "closes_on": w.closes_on.isoformat(),
            }
            for w in svc.windows(get_session(), fiscal_year)
        ],
    }


# <no> is the item's number in its set: "4", or "4.1" for a sub-item.
ENTRY = "/portal/offices/<code>/entries/<int:fiscal_year>/<int:round_no>/<kind>/<no>"


@bp.route(ENTRY + "/revisions")
@require("view_portal")
@bp.response(200)
def entry_revisions(
    code: str, fiscal_year: int, round_no: int, kind: str, no: str
) -> dict[str, Any]:
    """Every revision of one report, newest first (its office's staff and OBEC only)."""
    session = get_session()
    office, item = _office(code), _item(fiscal_year, kind, no)
    if not can_read_office_work(current_actor().user, office.id):
        abort(403, message=_("You may not see this office's unpublished reports."))
    entry = svc.find_entry(session, office.id, item.id, round_no)
    if entry is None:
        abort(404, message=_("No such report."))
    return {
        "entry_id": entry.id,
        "revisions": [svc.revision_dict(r) for r in svc.revisions(session, entry)],
    }


@bp.route(ENTRY, methods=["PUT"])
@require("edit_entry")
@bp.arguments(EntryBody)
@bp.response(200)
def save_entry(
    body: dict[str, Any], code: str, fiscal_year: int, round_no: int, kind: str, no: str
) -> dict[str, Any]:
    """Save the office's draft of one report; 409 if `version` is stale."""
    session = get_session()
    version = body.pop("version", None)
    try:
        rev = svc.save_draft(
            session,
            current_actor(),
            _office(code),
            _item(fiscal_year, kind, no),
            round_no,
            body,
            version,
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return svc.revision_dict(rev) or {}


@bp.route(ENTRY + "/submit", methods=["POST"])
@require("submit_entry")
@bp.arguments(VersionBody)
@bp.response(200)
def submit_entry(
    body: dict[str, Any], code: str, fiscal_year: int, round_no: int, kind: str, no: str
) -> dict[str, Any]:
    """Certify and submit a report (office director, inside the reporting window)."""
    session = get_session()
    office, item = _office(code), _item(fiscal_year, kind, no)
    entry = svc.find_entry(session, office.id, item.id, round_no)
    if entry is None:
        abort(404, message=_("There is nothing to submit yet."))
    try:
        rev = svc.submit(session, current_actor(), entry, body["version"])
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return svc.revision_dict(rev) or {}


_EVIDENCE_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": LinkBody},
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
        },
    },
}


@bp.route(ENTRY + "/evidence", methods=["POST"])
@require("edit_entry")
@bp.doc(requestBody=_EVIDENCE_BODY)
@bp.response(201)
def add_evidence(code: str, fiscal_year: int, round_no: int, kind: str, no: str) -> Any:
    """Add a link (JSON `url`, `title`) or a file (multipart `file`) to the draft."""
    session = get_session()
    office, item = _office(code), _item(fiscal_year, kind, no)
    if request.files.get("file") is not None:
        version = request.form.get("version", type=int)
        title = request.form.get("title", "")
        if len(title) > 300:
            abort(
                400,
                message=_("%(field)s is longer than %(n)s characters.", field=_("Title"), n=300),
            )
        try:
            upload = request.files["file"]
            name = (upload.filename or "")[:255]
            evidence = file_evidence(session, upload, title, name)
        except ServiceError as err:
            abort_json(err)
    else:
        body = LinkBody().load(bp.ARGUMENTS_PARSER.load_json(request, LinkBody()))
        version = body["version"]
        evidence = Evidence(kind="link", url=body["url"], title=body["title"])
    try:
        rev = svc.add_evidence(session, current_actor(), office, item, round_no, version, evidence)
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return svc.revision_dict(rev) or {}


@bp.route(ENTRY + "/evidence/<int:evidence_id>", methods=["DELETE"])
@require("edit_entry")
@bp.arguments(VersionQuery, location="query")
@bp.response(200)
def remove_evidence(
    query: dict[str, Any],
    code: str,
    fiscal_year: int,
    round_no: int,
    kind: str,
    no: str,
    evidence_id: int,
) -> dict[str, Any]:
    session = get_session()
    try:
        rev = svc.remove_evidence(
            session,
            current_actor(),
            _office(code),
            _item(fiscal_year, kind, no),
            round_no,
            query["version"],
            evidence_id,
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return svc.revision_dict(rev) or {}


@bp.route("/review/entries/<int:entry_id>/decision", methods=["POST"])
@require("review_entry")
@bp.arguments(DecisionBody)
@bp.response(200)
def decide(body: dict[str, Any], entry_id: int) -> dict[str, Any]:
    """Approve, or return with a comment, a submitted report (reviewers)."""
    session = get_session()
    entry = svc.entry_by_id(session, entry_id)
    if entry is None:
        abort(404, message=_("No such report."))
    try:
        rev = svc.review(
            session, current_actor(), entry, body["decision"], body["comment"], body["version"]
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return svc.revision_dict(rev) or {}


@bp.route("/review/reopen", methods=["POST"])
@require("reopen_window")
@bp.arguments(ReopenBody)
@bp.response(201)
def reopen(body: dict[str, Any]) -> dict[str, Any]:
    """Let one office submit a round after its window closed."""
    session = get_session()
    window = svc.get_window(session, body["fiscal_year"], body["round_no"])
    if window is None:
        abort(404, message=_("No such reporting round."))
    try:
        row = svc.reopen(
            session, current_actor(), _office(body["office"]), window, body["until"], body["reason"]
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return {"office": body["office"], "until": row.until.isoformat()}


@bp.route("/ingest/runs")
@require("view_ingest")
@bp.response(200)
def ingest_runs() -> dict[str, Any]:
    """The ingestion run log, newest first (reviewers and admins)."""
    from ..models import IngestSource
    from ..services import ingest_status

    session = get_session()
    names = dict(session.execute(select(IngestSource.id, IngestSource.name)).all())
    source = request.args.get("source") or None
    return {
        "runs": [
            ingest_status.run_dict(r, names[r.source_id])
            for r in ingest_status.runs(session, source=source, limit=200)
        ]
    }
