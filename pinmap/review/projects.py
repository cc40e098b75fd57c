"""The quarterly project desk: reports waiting for a level the reviewer may pass, and decisions.

/review/projects (the queue), /review/projects/<id> (a report, its history and buttons), and
one address per button: …/approve, …/return, …/unapprove.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import forms
from ..db import get_session
from ..errors import service_message
from ..fiscal import to_bangkok
from ..models import Office, Project, WorkflowReport
from ..security import current_actor, require
from ..services import projects as svc
from ..services import workflow as wf
from ..services.errors import ServiceError
from . import bp

DECISION_LIMITS = {"comment": 4_000 * 4, "decision": 20}


@bp.get("/projects")
@require("review_report")
def project_queue() -> Any:
    session = get_session()
    reports = svc.review_queue(session, current_user)
    ids = {r.subject_id for r in reports}
    projects = {p.id: p for p in session.scalars(select(Project).where(Project.id.in_(ids)))}
    return render_template(
        "review/projects.html",
        reports=reports,
        projects=projects,
        waiting={r.id: wf.waiting_level(r) for r in reports},
    )


def _report(report_id: int) -> WorkflowReport:
    session = get_session()
    forms.path_in_range(report_id, *forms.ID_RANGE)
    report = session.get(WorkflowReport, report_id)
    if report is None or report.kind != svc.KIND:
        abort(404, description=_("No such report."))
    return report


def _report_page(
    report: WorkflowReport, error: str | None = None, status: int = 200, comment: str = ""
) -> Any:
    session = get_session()
    rev = report.current
    return render_template(
        "review/projects_report.html",
        report=report,
        rev=rev,
        office=session.get(Office, report.office_id),
        project=session.get(Project, report.subject_id) if report.subject_id else None,
        status=wf.status(report),
        waiting=wf.waiting_level(report),
        level=wf.level_label(report),
        levels=wf.report_levels(report),
        trail=wf.trail(session, report),
        due=svc.deadline(session, report.fiscal_year, report.period or 1),
        labels=svc.LABELS,
        points=svc.POINTS,
        project_statuses=svc.STATUS_LABELS,
        status_labels=svc.REPORT_STATUS_LABELS,
        gap=svc.has_gap(rev.data) if rev else False,
        may={d: wf.may_decide(current_user, report, d) for d in wf.DECISIONS},
        error=error,
        comment=comment,
        bkk=to_bangkok,
    ), status


@bp.get("/projects/<int:report_id>")
@require("review_report")
def project_report(report_id: int) -> Any:
    return _report_page(_report(report_id))


def _decide(decision: str, report_id: int) -> Any:
    session = get_session()
    report = _report(report_id)
    comment = request.form.get("comment", "")
    try:
        forms.same_button(decision)
        forms.check_text(request.form, DECISION_LIMITS, default_limit=100)
        wf.decide(
            session,
            current_actor(),
            report,
            decision,
            request.form.get("version", type=int),
            comment,
        )
        session.commit()
    except ServiceError as err:
        session.rollback()
        return _report_page(_report(report_id), service_message(err), err.status, comment)
    flash(
        {
            "approve": _("Approved."),
            "return": _("Returned to the office."),
            "unapprove": _("Approval undone."),
        }[decision]
    )
    return redirect(url_for("review.project_report", report_id=report_id))


@bp.post("/projects/<int:report_id>/approve")
@require("review_report")
def approve_project_report(report_id: int) -> Any:
    return _decide("approve", report_id)


@bp.post("/projects/<int:report_id>/return")
@require("review_report")
def return_project_report(report_id: int) -> Any:
    return _decide("return", report_id)


@bp.post("/projects/<int:report_id>/unapprove")
@require("review_report")
def unapprove_project_report(report_id: int) -> Any:
    return _decide("unapprove", report_id)
