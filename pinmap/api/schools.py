"""/api/v1 routes for an office's school list and its teacher/student/staff counts: the public
(approved) ones for everyone, the ones staged in the profile draft for the office and OBEC, and
staging new ones (the same services and rules as the portal's schools page)."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from .. import forms
from ..db import get_session
from ..errors import abort_json, json_error, service_message
from ..inputs import PG_INT_MAX, PG_INT_MIN, Blueprint, Int
from ..models import Office, School
from ..security import current_actor, require
from ..services import profiles as profile_svc
from ..services import schools as svc
from ..services.errors import N_, ServiceError
from ..shapes import point_of
from .profile_parts import VIEWS, ViewQuery, office, wants_work

bp = Blueprint(
    "schools_api",
    __name__,
    url_prefix="/api/v1",
    description="Offices' school lists and counts, public and staged for review",
)

MAX_PER_PAGE = 500
MAX_PROBLEMS = 100


class SchoolListQuery(ViewQuery):
    page = Int(strict=False, load_default=1, validate=validate.Range(1, 100_000))
    per_page = Int(strict=False, load_default=100, validate=validate.Range(1, MAX_PER_PAGE))


class SchoolOut(Schema):
    code = fields.String()
    name_th = fields.String()
    amphoe_th = fields.String()
    level = fields.String()
    lon = fields.Float(allow_none=True)
    lat = fields.Float(allow_none=True)


class SchoolListSchema(Schema):
    office = fields.String()
    view = fields.String(validate=validate.OneOf(VIEWS))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    schools = fields.List(fields.Nested(SchoolOut))
    staged = fields.Boolean(
        metadata={"description": "working: the draft holds a list of its own (else the public)"}
    )
    schools_file = fields.String(allow_none=True)
    revision_no = fields.Integer(allow_none=True)
    version = fields.Integer(allow_none=True)


class CountsOut(Schema):
    as_of = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    schools = fields.Integer(allow_none=True)
    teachers = fields.Integer(allow_none=True)
    students = fields.Integer(allow_none=True)
    staff = fields.Integer(allow_none=True)


class CountsSchema(Schema):
    office = fields.String()
    view = fields.String(validate=validate.OneOf(VIEWS))
    school_count = fields.Integer(metadata={"description": "Schools on the public list"})
    counts = fields.Nested(CountsOut, allow_none=True)
    revision_no = fields.Integer(allow_none=True)
    version = fields.Integer(allow_none=True)


def _count() -> fields.Integer:
    return Int(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(0, svc.MAX_COUNT)
    )


class CountsBody(Schema):
    version = Int(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "Version of the profile draft you edited; omit or 0 if none"},
    )
    as_of = fields.Date(required=True)
    schools = _count()
    teachers = _count()
    students = _count()
    staff = _count()


_IMPORT_BODY = {
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
                        "description": "CSV or XLSX with columns " + ", ".join(svc.SCHOOL_COLUMNS),
                    },
                    "version": {"type": "integer", "minimum": PG_INT_MIN, "maximum": PG_INT_MAX},
                },
            }
        }
    },
}


class ImportedSchema(Schema):
    office = fields.String()
    schools_file = fields.String()
    count = fields.Integer()
    added = fields.Integer()
    removed = fields.Integer()
    changed = fields.Integer()
    revision_no = fields.Integer()
    version = fields.Integer()


# --- helpers ------------------------------------------------------------------------------------


def _public_page(found: Office, page: int, per_page: int) -> tuple[int, list[dict[str, Any]]]:
    session = get_session()
    total = session.scalar(select(func.count()).where(School.office_id == found.id)) or 0
    rows = session.scalars(
        select(School)
        .filter_by(office_id=found.id)
        .order_by(School.amphoe_th, School.name_th, School.code)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    out = []
    for s in rows:
        point = point_of(s.geom) if s.geom is not None else None
        out.append(
            {
                "code": s.code,
                "name_th": s.name_th,
                "amphoe_th": s.amphoe_th,
                "level": s.level,
                "lon": point.x if point else None,
                "lat": point.y if point else None,
            }
        )
    return total, out


def _staged_row(row: dict[str, Any]) -> dict[str, Any]:
    point = row.get("point")
    return {
        **{k: row.get(k, "") for k in ("code", "name_th", "amphoe_th", "level")},
        "lon": point[0] if point else None,
        "lat": point[1] if point else None,
    }


def _stats_json(stats: Any) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {
        "as_of": stats.as_of.isoformat(),
        "source": stats.source,
        **{k: getattr(stats, k) for k in svc.STAT_FIELDS},
    }


def import_refusal(err: ServiceError) -> Any:
    """An import refused row by row: each problem named (row, column, reason), as on the page."""
    found = [
        {"row": p.row, "column": p.column, "reason": _(p.msgid, **p.params)}
        for p in getattr(err, "problems", [])[:MAX_PROBLEMS]
    ]
    abort(json_error(err.status, service_message(err), errors={"file": found}))


# --- routes -------------------------------------------------------------------------------------


@bp.route("/offices/<code>/schools")
@bp.arguments(SchoolListQuery, location="query", as_kwargs=True)
@bp.response(200, SchoolListSchema)
def school_list(code: str, view: str, page: int, per_page: int) -> dict[str, Any]:
    """The office's schools, a page at a time: the public list, or (view=working) the list
    staged in the profile draft when it holds one."""
    session = get_session()
    found = office(code)
    out: dict[str, Any] = {"office": found.code, "view": view, "page": page, "per_page": per_page}
    rev = profile_svc.current_revision(session, found.id) if wants_work(found, view) else None
    staged = (rev.data or {}).get("schools") if rev is not None else None
    if isinstance(staged, list):
        start = (page - 1) * per_page
        rows = [_staged_row(r) for r in staged[start : start + per_page]]
        out.update(total=len(staged), schools=rows, staged=True)
        out["schools_file"] = (rev.data or {}).get("schools_file") if rev else None
    else:
        total, rows = _public_page(found, page, per_page)
        out.update(total=total, schools=rows, staged=False, schools_file=None)
    out["revision_no"] = rev.revision_no if rev else None
    out["version"] = rev.version if rev else None
    return out


@bp.route("/offices/<code>/schools/import", methods=["POST"])
@require("edit_profile")
@bp.doc(requestBody=_IMPORT_BODY)
@bp.response(200, ImportedSchema)
def import_schools(code: str) -> dict[str, Any]:
    """Stage a school list (CSV or XLSX) in the profile draft, all or nothing; it becomes the
    public list when OBEC approves the profile. 409 if `version` is stale."""
    session = get_session()
    found = office(code)
    try:
        upload = request.files.get("file")
        if upload is None:
            raise ServiceError(400, N_("Choose a file to upload."))
        filename = forms.file_name(upload.filename or "upload")
        data = upload.stream.read(svc.MAX_TABLE_BYTES + 1)
        version = forms.whole(request.form.get("version"), "version", *forms.INTEGER)
        rev, diff = svc.stage_schools(session, current_actor(), found, filename, data, version)
        session.commit()
    except svc.ImportRejected as err:
        import_refusal(err)
    except ServiceError as err:
        abort_json(err)
    return {
        "office": found.code,
        "schools_file": (rev.data or {}).get("schools_file"),
        "count": diff.count,
        "added": diff.added,
        "removed": diff.removed,
        "changed": diff.changed,
        "revision_no": rev.revision_no,
        "version": rev.version,
    }


@bp.route("/offices/<code>/school-counts")
@bp.arguments(ViewQuery, location="query", as_kwargs=True)
@bp.response(200, CountsSchema)
def school_counts(code: str, view: str) -> dict[str, Any]:
    """Teachers, students, staff and schools as of a date: the latest public figures, or
    (view=working) the ones staged in the profile draft."""
    session = get_session()
    found = office(code)
    out: dict[str, Any] = {
        "office": found.code,
        "view": view,
        "school_count": svc.school_count(session, found.id),
        "revision_no": None,
        "version": None,
    }
    if wants_work(found, view):
        rev = profile_svc.current_revision(session, found.id)
        counts = (rev.data or {}).get("counts") if rev else None
        out["counts"] = {"source": svc.OFFICE_SOURCE, **counts} if counts else None
        out["revision_no"] = rev.revision_no if rev else None
        out["version"] = rev.version if rev else None
    else:
        out["counts"] = _stats_json(svc.latest_stats(session, found.id))
    return out


@bp.route("/offices/<code>/school-counts", methods=["PUT"])
@require("edit_profile")
@bp.arguments(CountsBody)
@bp.response(200, CountsSchema)
def save_counts(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Stage the counts in the profile draft; public when OBEC approves the profile. 409 if
    `version` is stale or the profile was submitted."""
    session = get_session()
    found = office(code)
    counts = {k: "" if body.get(k) is None else str(body[k]) for k in svc.STAT_FIELDS}
    try:
        rev = svc.stage_counts(
            session, current_actor(), found, body["as_of"].isoformat(), counts, body["version"]
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return {
        "office": found.code,
        "view": "working",
        "school_count": svc.school_count(session, found.id),
        "counts": {"source": svc.OFFICE_SOURCE, **(rev.data or {}).get("counts", {})},
        "revision_no": rev.revision_no,
        "version": rev.version,
    }
