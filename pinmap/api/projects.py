"""/api/v1 routes for quarterly project reports: read (approved to everyone, drafts to the office
and OBEC), write (the same services and rules as the portal pages), decide, and deadlines."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from ..auth import can_read_office_work
from ..db import get_session
from ..errors import abort_json
from ..inputs import Blueprint, Int, StrictFloat
from ..models import Office, Project
from ..security import current_actor, require
from ..services import offices
from ..services import projects as svc
from ..services import workflow as wf
from ..services.errors import N_, ServiceError
from ..services.review import MAX_COMMENT

bp = Blueprint(
    "projects_api",
    __name__,
    url_prefix="/api/v1",
    description="Quarterly project reports (eMENSCR) and their review",
)


class ProjectYearQuery(Schema):
    fiscal_year = Int(strict=False, required=True, validate=validate.Range(2500, 2700))


def _amount() -> StrictFloat:
    return StrictFloat(allow_none=True, validate=validate.Range(0, svc.MAX_AMOUNT))


def _point() -> fields.String:
    return fields.String(validate=validate.Length(max=svc.MAX_POINT))


class ProjectBody(Schema):
    version = Int(strict=True, load_default=None, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(1, svc.MAX_NAME))
    budget_planned = _amount()


class NewProjectBody(ProjectBody):
    fiscal_year = Int(strict=True, required=True, validate=validate.Range(2500, 2700))


class ProjectQuarterBody(Schema):
    version = Int(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "Version you edited; omit or 0 for a new report"},
    )
    target_progress = _point()
    activity_progress = _point()
    budget_disbursement = _point()
    master_plan = _point()
    nesdp13 = _point()
    problems_suggestions = _point()
    budget_planned_to_date = _amount()
    budget_disbursed = _amount()
    extra_allocation = _amount()
    extra_allocation_from = _point()
    project_status = fields.String(validate=validate.OneOf(svc.PROJECT_STATUSES))
    status_note = _point()


class ProjectVersionBody(Schema):
    version = Int(strict=True, required=True)


class ProjectDecisionBody(Schema):
    version = Int(strict=True, required=True)
    decision = fields.String(required=True, validate=validate.OneOf(wf.DECISIONS))
    comment = fields.String(load_default="", validate=validate.Length(max=MAX_COMMENT))


class ProjectDeadlineBody(Schema):
    due_on = fields.Date(required=True)


def _office(code: str) -> Office:
    return offices.office_or_404(get_session(), code)


def _project(project_id: int) -> Project:
    try:
        return svc.project_or_404(get_session(), project_id)
    except ServiceError as err:
        abort_json(err)


def _private(office_id: int) -> bool:
    """Whether the reader may see the office's unapproved work (its staff and OBEC)."""
    return can_read_office_work(current_actor().user, office_id)


def _project_json(project: Project, private: bool) -> dict[str, Any]:
    session = get_session()
    quarters = []
    for q in svc.QUARTERS:
        report = svc.report_of(session, project, q)
        quarters.append(
            {
                "quarter": q,
                "due_on": svc.deadline(session, project.fiscal_year, q).isoformat(),
                "status": wf.status(report) if private else None,
                "report": svc.report_dict(report, approved=not private),
                **({"approved": svc.report_dict(report, approved=True)} if private else {}),
            }
        )
    return {**svc.project_dict(project), "quarters": quarters}


@bp.route("/offices/<code>/projects")
@bp.arguments(ProjectYearQuery, location="query", as_kwargs=True)
@bp.response(200)
def office_projects(code: str, fiscal_year: int) -> dict[str, Any]:
    """An office's projects of a year with each quarter's report. Anonymous readers and other
    offices see approved reports only; the office's staff and OBEC also see drafts."""
    office = _office(code)
    private = _private(office.id)
    return {
        "office": office.code,
        "fiscal_year": fiscal_year,
        "projects": [
            _project_json(p, private)
            for p in svc.projects_of(get_session(), office.id, fiscal_year)
        ],
    }


@bp.route("/offices/<code>/projects", methods=["POST"])
@require("edit_report")
@bp.arguments(NewProjectBody)
@bp.response(201)
def create_project(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Add a project to an office's fiscal year (office staff)."""
    session = get_session()
    try:
        project = svc.save_project(
            session, current_actor(), _office(code), body["fiscal_year"], body
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return svc.project_dict(project)


@bp.route("/projects/<int:project_id>", methods=["PUT"])
@require("edit_report")
@bp.arguments(ProjectBody)
@bp.response(200)
def update_project(body: dict[str, Any], project_id: int) -> dict[str, Any]:
    """Rename a project or change its planned budget; 409 if `version` is stale."""
    session = get_session()
    project = _project(project_id)
    office = session.get(Office, project.office_id)
    assert office is not None  # noqa: S101 (foreign key)
    try:
        project = svc.save_project(
            session, current_actor(), office, project.fiscal_year, body, project, body["version"]
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return svc.project_dict(project)


QUARTER = "/projects/<int:project_id>/quarters/<int:quarter>"


@bp.route(QUARTER)
@bp.response(200)
def quarter_report(project_id: int, quarter: int) -> dict[str, Any]:
    """One quarter's report: the working revision for the office and OBEC, else the approved."""
    project = _project(project_id)
    if quarter not in svc.QUARTERS:
        abort(404, message=_("A fiscal year has quarters 1 to 4."))
    private = _private(project.office_id)
    report = svc.report_of(get_session(), project, quarter)
    found = svc.report_dict(report, approved=not private)
    if found is None:
        abort(404, message=_("This quarter has no report yet."))
    return found


@bp.route(QUARTER, methods=["PUT"])
@require("edit_report")
@bp.arguments(ProjectQuarterBody)
@bp.response(200)
def save_quarter(body: dict[str, Any], project_id: int, quarter: int) -> dict[str, Any]:
    """Save a quarter's report (the whole form); 409 if `version` is stale or it was sent."""
    session = get_session()
    project = _project(project_id)
    version = body.pop("version", None)
    try:
        report = svc.save_quarter(session, current_actor(), project, quarter, body, version)
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return svc.report_dict(report) or {}


@bp.route(QUARTER + "/submit", methods=["POST"])
@require("certify_report")
@bp.arguments(ProjectVersionBody)
@bp.response(200)
def submit_quarter(body: dict[str, Any], project_id: int, quarter: int) -> dict[str, Any]:
    """Certify and send a quarter's report (the office director, before the deadline)."""
    session = get_session()
    project = _project(project_id)
    report = svc.report_of(session, project, quarter) if quarter in svc.QUARTERS else None
    if report is None:
        abort(404, message=_("There is nothing to send yet."))
    try:
        report = wf.submit(session, current_actor(), report, body["version"])
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return svc.report_dict(report) or {}


@bp.route("/review/project-reports")
@require("review_report")
@bp.response(200)
def review_queue() -> dict[str, Any]:
    """Quarterly reports waiting for a level the caller may pass, oldest first."""
    reports = svc.review_queue(get_session(), current_actor().user)
    return {"reports": [svc.report_dict(r) for r in reports]}


@bp.route("/review/project-reports/<int:report_id>/decision", methods=["POST"])
@require("review_report")
@bp.arguments(ProjectDecisionBody)
@bp.response(200)
def decide(body: dict[str, Any], report_id: int) -> dict[str, Any]:
    """approve (to the next level), return (to the office, comment required) or unapprove
    (undo the last level, from a higher one; comment required)."""
    session = get_session()
    try:
        report = wf.report_or_404(session, report_id)
        if report.kind != svc.KIND:
            raise ServiceError(404, N_("No such report."))
        report = wf.decide(
            session, current_actor(), report, body["decision"], body["version"], body["comment"]
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return svc.report_dict(report) or {}


@bp.route("/project-deadlines/<int:fiscal_year>/<int:quarter>", methods=["PUT"])
@require("manage_windows")
@bp.arguments(ProjectDeadlineBody)
@bp.response(200)
def set_deadline(body: dict[str, Any], fiscal_year: int, quarter: int) -> dict[str, Any]:
    """Move a quarter's deadline for every office (administrators)."""
    session = get_session()
    try:
        svc.check_year(fiscal_year)
        row = svc.set_deadline(session, current_actor(), fiscal_year, quarter, body["due_on"])
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return {"fiscal_year": fiscal_year, "quarter": quarter, "due_on": row.due_on.isoformat()}
