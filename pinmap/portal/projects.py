"""An office's quarterly project reports (eMENSCR): its projects, and each quarter's six points.

/portal/offices/<code>/projects (the year's projects and quarters, adding a project),
…/projects/<id> (a project: name and planned budget), …/projects/<id>/quarters/<q> (a
quarter's report: save, certify and send). Every refusal redraws the form with what was typed.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session

from .. import forms
from ..auth import can
from ..db import get_session
from ..errors import service_message
from ..fiscal import fiscal_year_of
from ..models import Office, Project, WorkflowReport
from ..security import current_actor, require
from ..services import projects as svc
from ..services import workflow as wf
from ..services.audit import Actor
from ..services.errors import ServiceError
from . import bp, report_form
from .common import readable_office
from .report_form import ReportForm

BOARD = "/offices/<code>/projects"
PROJECT = BOARD + "/<int:project_id>"
QUARTER = PROJECT + "/quarters/<int:quarter>"
# Generous bounds on what is read at all; the service refuses past its limits with the field's
# own name (a refusal here would name the field as forms.LABELS does, so they are added there).
QUARTER_LIMITS = {
    **dict.fromkeys(svc.TEXTS, svc.MAX_POINT * 4),
    **dict.fromkeys(svc.NUMBERS, 40),
    "project_status": 20,
}
PROJECT_LIMITS = {"name": svc.MAX_NAME * 4, "budget_planned": 40}
for _key, _msgid in svc.LABELS.items():
    forms.LABELS.setdefault(_key, _msgid)


def _year() -> int:
    wanted = request.args.get("fiscal_year", type=int)
    if wanted is not None and 2500 <= wanted <= 2700:
        return wanted
    return fiscal_year_of(current_actor().today_bangkok)


def _board(
    office: Office,
    fiscal_year: int,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, Any] | None = None,
) -> Any:
    session = get_session()
    return render_template(
        "portal/projects.html",
        office=office,
        fiscal_year=fiscal_year,
        rows=svc.board(session, office.id, fiscal_year),
        error=error,
        form=typed or {},
        can_edit=can(current_user, "edit_report", office.id),
        status_labels=svc.REPORT_STATUS_LABELS,
    ), status


@bp.get(BOARD)
@require("view_portal")
def projects(code: str) -> Any:
    return _board(readable_office(code), _year())


@bp.post(BOARD + "/new/<int:fiscal_year>")
@require("view_portal")
def add_project(code: str, fiscal_year: int) -> Any:
    session = get_session()
    office = readable_office(code)
    forms.path_in_range(fiscal_year, 0, forms.SMALLINT[1])
    typed = request.form.to_dict()
    try:
        forms.same_button("add")
        forms.check_text(request.form, PROJECT_LIMITS, default_limit=100)
        project = svc.save_project(session, current_actor(), office, fiscal_year, typed)
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _board(office, fiscal_year, service_message(err), err.status, typed)
    flash(_("Project added."))
    return redirect(url_for("portal.project", code=office.code, project_id=project.id))


def _project(office: Office, project_id: int) -> Project:
    project = get_session().get(Project, project_id) if project_id <= 2**31 - 1 else None
    if project is None or project.office_id != office.id:
        abort(404, description=_("No such project."))
    return project


def _project_page(
    office: Office,
    project: Project,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, Any] | None = None,
) -> Any:
    session = get_session()
    row = next(
        r for r in svc.board(session, office.id, project.fiscal_year) if r.project.id == project.id
    )
    return render_template(
        "portal/projects_project.html",
        office=office,
        project=project,
        row=row,
        error=error,
        form=typed if typed is not None else svc.project_dict(project),
        can_edit=can(current_user, "edit_report", office.id),
        status_labels=svc.REPORT_STATUS_LABELS,
    ), status


@bp.get(PROJECT)
@require("view_portal")
def project(code: str, project_id: int) -> Any:
    office = readable_office(code)
    return _project_page(office, _project(office, project_id))


@bp.post(PROJECT)
@require("view_portal")
def save_project(code: str, project_id: int) -> Any:
    session = get_session()
    office = readable_office(code)
    project = _project(office, project_id)
    typed = request.form.to_dict()
    try:
        forms.same_button("save")
        forms.check_text(request.form, PROJECT_LIMITS, default_limit=100)
        svc.save_project(
            session,
            current_actor(),
            office,
            project.fiscal_year,
            typed,
            project,
            request.form.get("version", type=int),
        )
        session.commit()
    except ServiceError as err:
        session.rollback()
        project = _project(office, project_id)
        return _project_page(office, project, service_message(err), err.status, typed)
    flash(_("Saved."))
    return redirect(url_for("portal.project", code=office.code, project_id=project.id))


def _quarter_page(
    office: Office,
    project: Project,
    quarter: int,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, Any] | None = None,
) -> Any:
    session = get_session()
    report = svc.report_of(session, project, quarter)
    rev = report.current if report else None
    if typed is not None:
        form = typed
    else:
        form = {**(rev.data if rev else {}), "version": rev.version if rev else 0}
    return render_template(
        "portal/projects_quarter.html",
        office=office,
        project=project,
        quarter=quarter,
        report=report,
        rev=rev,
        status=wf.status(report),
        level=wf.level_label(report) if report else None,
        returned=wf.last_comment(session, report) if report else None,
        due=svc.deadline(session, project.fiscal_year, quarter),
        bounds=svc.quarter_bounds(project.fiscal_year, quarter),
        form=form,
        error=error,
        labels=svc.LABELS,
        points=svc.POINTS,
        project_statuses=svc.STATUS_LABELS,
        status_labels=svc.REPORT_STATUS_LABELS,
        can_edit=can(current_user, "edit_report", office.id),
        can_send=can(current_user, "certify_report", office.id),
    ), status


def _quarter_of(quarter: int) -> int:
    if quarter not in svc.QUARTERS:
        abort(404, description=_("A fiscal year has quarters 1 to 4."))
    return quarter


@bp.get(QUARTER)
@require("view_portal")
def quarter_report(code: str, project_id: int, quarter: int) -> Any:
    office = readable_office(code)
    return _quarter_page(office, _project(office, project_id), _quarter_of(quarter))


def _quarter_form(office: Office, project_id: int, quarter: int) -> ReportForm:
    _quarter_of(quarter)

    def save(session: Session, actor: Actor, typed: dict[str, Any], version: int | None) -> Any:
        return svc.save_quarter(
            session, actor, _project(office, project_id), quarter, typed, version
        )

    def send(session: Session, actor: Actor, report: WorkflowReport) -> object:
        assert report.current is not None  # noqa: S101 (saving made one)
        return wf.submit(session, actor, report, report.current.version)

    def redraw(error: str, status: int, typed: dict[str, Any]) -> Any:
        return _quarter_page(office, _project(office, project_id), quarter, error, status, typed)

    return ReportForm(QUARTER_LIMITS, save, send, redraw)


def _press(button: str, code: str, project_id: int, quarter: int) -> Any:
    office = readable_office(code)
    _project(office, project_id)
    done = url_for(
        "portal.quarter_report", code=office.code, project_id=project_id, quarter=quarter
    )
    return report_form.press(
        _quarter_form(office, project_id, quarter),
        button,
        "send",
        done,
        _("Saved."),
        _("Certified and sent for review."),
    )


@bp.post(QUARTER + "/autosave")
@require("view_portal")
def autosave_quarter(code: str, project_id: int, quarter: int) -> Any:
    """Save a draft of the quarter's report as it is typed (formkeeper.js), answering JSON."""
    office = readable_office(code)
    _project(office, project_id)
    return report_form.autosave(_quarter_form(office, project_id, quarter))


@bp.post(QUARTER)
@require("view_portal")
def save_quarter(code: str, project_id: int, quarter: int) -> Any:
    return _press("save", code, project_id, quarter)


@bp.post(QUARTER + "/send")
@require("view_portal")
def send_quarter(code: str, project_id: int, quarter: int) -> Any:
    """Save what was typed, then certify it (office director) and send it up for review."""
    return _press("send", code, project_id, quarter)
