"""/portal/offices/<code>/coaching: what coaching brought the office (published visit plans,
visit records and their follow-ups, each acknowledged and reported on in a later round; its
cluster's online sessions and their calendar file; the 12-month findings), and the summary
the office's portal page includes."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import forms
from ..auth import can
from ..db import get_session
from ..downloads import content_disposition
from ..errors import service_message
from ..fiscal import BANGKOK
from ..models import Office, User
from ..security import current_actor, require
from ..services import coaching as svc
from ..services import results as result_svc
from ..services.errors import N_, ServiceError
from . import bp
from .common import readable_office

PAGE = "/offices/<code>/coaching"
LIMITS = {"report": svc.REPORT_MAX, "round_id": 20}


def _page(
    office: Office, error: str | None = None, status: int = 200, typed: dict[str, str] | None = None
) -> Any:
    session = get_session()
    now = current_actor().now
    records = svc.office_records(session, office)
    plans = svc.office_plans(session, office)
    rounds_for = {
        plan.id: svc.report_rounds(session, plan, current_actor().today_bangkok)
        for _row, plan in records
    }
    views = svc.follow_up_views(session, [row for row, _plan in records], office.id)
    # A refused report shows beside its form when the follow-up is still on the page.
    shown = {str(v.follow_up.id) for vs in views.values() for v in vs}
    error_at = (typed or {}).get("follow_up") if (typed or {}).get("follow_up") in shown else None
    return render_template(
        "portal/coaching.html",
        office=office,
        plans=plans,
        data={plan.id: svc.plan_dict(session, plan) for plan, _role in plans},
        records=records,
        follow_ups=views,
        error_at=error_at,
        rounds_for=rounds_for,
        sessions=svc.office_sessions(session, office),
        findings=svc.office_findings(session, office),
        category_labels=result_svc.CATEGORY_LABELS,
        can_answer=can(current_user, "edit_report", office.id),
        now=now,
        tz=BANGKOK,
        error=error,
        typed=typed or {},
    ), status


@bp.get(PAGE)
@require("view_portal")
def coaching(code: str) -> Any:
    return _page(readable_office(code))


def _press(code: str, follow_up_id: int, action: str) -> Any:
    """One follow-up button: check, write, commit once; else the page with what was typed."""
    session = get_session()
    office = readable_office(code)
    typed = {
        "action": action,
        "follow_up": str(follow_up_id),
        "report": request.form.get("report", ""),
        "round_id": request.form.get("round_id", ""),
    }
    try:
        forms.check_text(request.form, LIMITS, default_limit=40)
        if action == "acknowledge":
            svc.acknowledge(session, current_actor(), office, follow_up_id)
            message = _("Follow-up acknowledged.")
        else:
            round_id = forms.whole(typed["round_id"], "round_id", *forms.ID_RANGE)
            svc.report_follow_up(
                session, current_actor(), office, follow_up_id, round_id, typed["report"]
            )
            message = _("Report saved.")
        session.commit()
    except ServiceError as err:
        session.rollback()
        if err.status == 403:
            abort(403, description=service_message(err))
        return _page(office, service_message(err), err.status, typed)
    flash(message)
    return redirect(url_for("portal.coaching", code=office.code) + f"#follow-up-{follow_up_id}")


@bp.post(PAGE + "/follow-ups/<int:follow_up_id>/acknowledge")
@require("view_portal")
def acknowledge_follow_up(code: str, follow_up_id: int) -> Any:
    return _press(code, follow_up_id, "acknowledge")


@bp.post(PAGE + "/follow-ups/<int:follow_up_id>/report")
@require("view_portal")
def report_follow_up(code: str, follow_up_id: int) -> Any:
    return _press(code, follow_up_id, "report")


@bp.get(PAGE + "/sessions.ics")
@require("view_portal")
def coaching_sessions_ics(code: str) -> Response:
    office = readable_office(code)
    body = svc.office_sessions_ics(get_session(), office, request.host, current_actor().now)
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": content_disposition(f"cluster-{office.cluster_no}-sessions.ics")
        },
    )


@bp.app_template_global("coaching_summary")
def coaching_summary(office: Office) -> svc.Summary | None:
    """For the office's portal page: the next visit and session, open follow-ups."""
    user: User | Any = current_user
    if not user.is_authenticated:
        return None
    return svc.summary(get_session(), office, current_actor().now)


# Used in the template's labels.
ROLE_LABELS = {
    "host": N_("Host"),
    "invited": N_("Invited"),
    "visit": N_("Visited on the trip"),
}


@bp.app_template_global("visit_role_label")
def visit_role_label(role: str) -> str:
    return _(ROLE_LABELS[role]) if role in ROLE_LABELS else role
