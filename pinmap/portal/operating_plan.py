"""An office's operating plan for a fiscal year: the form, saving and submitting it.

Every refusal (a field too long, a stale version, a year outside the window, a plan waiting
for review) redraws the form with what was typed.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session

from .. import forms
from ..auth import can
from ..db import get_session
from ..fiscal import fiscal_year_of, to_bangkok
from ..models import Office, WorkflowReport
from ..security import current_actor, require
from ..services import plans as svc
from ..services import workflow as wf
from ..services.audit import Actor
from . import bp, report_form
from .common import readable_office
from .report_form import ReportForm

PLAN = "/offices/<code>/plan/<int:fiscal_year>"
PLAN_LIMITS = dict.fromkeys(svc.FIELDS, svc.MAX_TEXT)


def _plan_page(
    office: Office,
    fiscal_year: int,
    error: str | None = None,
    status: int = 200,
    typed: dict[str, Any] | None = None,
) -> Any:
    session = get_session()
    plan = svc.get(session, office.id, fiscal_year)
    form = typed if typed is not None else (svc.plan_dict(plan) if plan else {})
    rev = plan.current if plan else None
    return render_template(
        "portal/operating_plan.html",
        office=office,
        plan=plan,
        rev=rev,
        form=form,
        error=error,
        fiscal_year=fiscal_year,
        fields=svc.FIELDS,
        labels=svc.LABELS,
        status=wf.status(plan),
        level=wf.level_label(plan) if plan else None,
        waiting=wf.waiting_level(plan) if plan else None,
        levels=svc.SPEC.levels,
        comment=wf.last_comment(session, plan) if plan else None,
        trail=wf.trail(session, plan) if plan else [],
        bkk=to_bangkok,
        can_edit=can(current_user, "edit_profile", office.id),
        can_submit=can(current_user, "submit_profile", office.id),
    ), status


@bp.get("/offices/<code>/plan", defaults={"fiscal_year": None})
@bp.get(PLAN)
@require("view_portal")
def plan_edit(code: str, fiscal_year: int | None) -> Any:
    office = readable_office(code)
    if fiscal_year is None:  # this year's plan
        fy = fiscal_year_of(current_actor().today_bangkok)
        return redirect(url_for("portal.plan_edit", code=office.code, fiscal_year=fy))
    forms.path_in_range(fiscal_year, 0, forms.SMALLINT[1])
    return _plan_page(office, fiscal_year)


def _plan_form(office: Office, fiscal_year: int) -> ReportForm:
    forms.path_in_range(fiscal_year, 0, forms.SMALLINT[1])

    def save(session: Session, actor: Actor, typed: dict[str, Any], version: int | None) -> Any:
        return svc.save(session, actor, office, fiscal_year, typed, version)

    def send(session: Session, actor: Actor, report: WorkflowReport) -> object:
        assert report.current is not None  # noqa: S101 (save made the working revision)
        return svc.submit(session, actor, report, report.current.version)

    def redraw(error: str, status: int, typed: dict[str, Any]) -> Any:
        return _plan_page(office, fiscal_year, error, status, typed)

    return ReportForm(PLAN_LIMITS, save, send, redraw)


def _press(button: str, code: str, fiscal_year: int) -> Any:
    office = readable_office(code)
    form = _plan_form(office, fiscal_year)
    done = url_for("portal.plan_edit", code=office.code, fiscal_year=fiscal_year)
    return report_form.press(form, button, "submit", done, _("Saved."), _("Submitted for review."))


@bp.post(PLAN + "/autosave")
@require("view_portal")
def autosave_plan(code: str, fiscal_year: int) -> Any:
    """Save a draft of the plan as it is typed (formkeeper.js), answering JSON."""
    return report_form.autosave(_plan_form(readable_office(code), fiscal_year))


@bp.post(PLAN)
@require("view_portal")
def save_plan(code: str, fiscal_year: int) -> Any:
    return _press("save", code, fiscal_year)


@bp.post(PLAN + "/submit")
@require("view_portal")
def submit_plan(code: str, fiscal_year: int) -> Any:
    """Save what was typed, then certify and submit it for review."""
    return _press("submit", code, fiscal_year)
