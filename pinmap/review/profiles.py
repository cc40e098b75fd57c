"""The profile desk: submitted profiles, best practices and operating plans, and decisions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import forms
from ..db import get_session
from ..errors import service_message
from ..fiscal import to_bangkok
from ..models import Office, WorkflowReport
from ..public.photos import photo_url
from ..security import current_actor, require
from ..services import best_practices as bps
from ..services import old_ids
from ..services import plans as plan_svc
from ..services import profiles as svc
from ..services import schools as school_svc
from ..services import workflow as wf
from ..services.errors import ServiceError
from . import bp

DECISION_LIMITS = {"comment": 4_000, "decision": 20}


@bp.route("/profiles")
@require("review_profile")
def profile_queue() -> Any:
    session = get_session()
    offices = {o.id: o for o in session.scalars(select(Office))}
    return render_template(
        "review/profile_queue.html",
        offices=offices,
        profiles=svc.submitted(session, current_user),
        practices=bps.submitted(session, current_user),
        plans=plan_svc.submitted(session, current_user),
    )


def _extra(kind: str, obj: Any, office: Office) -> dict[str, Any]:
    """What each kind of work is read beside: the public profile and pin, the aligned items."""
    session = get_session()
    if kind == "profile":
        staged_schools = (obj.data or {}).get("schools")
        return {
            "approved": svc.approved_revision(session, obj.office_id),
            "location": svc.lonlat(obj),
            "may_unapprove": wf.may_decide(
                current_user, get_session().get_one(WorkflowReport, obj.report_id), "unapprove"
            ),
            "office_location": svc.lonlat_of_office(office),
            "counts": (obj.data or {}).get("counts"),
            "school_diff": school_svc.school_diff(session, obj.office_id, staged_schools)
            if staged_schools is not None
            else None,
        }
    if kind == "best_practice":
        report = session.get_one(WorkflowReport, obj.report_id)
        return {
            "items": bps.items_of(session, obj),
            "may_unapprove": wf.may_decide(current_user, report, "unapprove"),
        }
    return {}


def _decide(
    kind: str, obj: Any, decide: Callable[..., Any], reload: Callable[[], Any] | None = None
) -> Any:
    session = get_session()
    error, status, comment = None, 200, ""
    if request.method == "POST":
        comment = request.form.get("comment", "")
        try:
            forms.check_text(request.form, DECISION_LIMITS, default_limit=100)
            decide(
                session,
                current_actor(),
                obj,
                request.form.get("decision", ""),
                comment,
                request.form.get("version", type=int),
            )
            session.commit()
            flash(_("Decision saved."))
            return redirect(url_for("review.profile_queue"))
        except ServiceError as err:
            session.rollback()
            error, status = service_message(err), err.status
            if reload is not None:
                obj = reload()
            else:
                session.refresh(obj)
    office = session.get_one(Office, obj.office_id)
    return render_template(
        "review/decision.html",
        kind=kind,
        obj=obj,
        office=office,
        error=error,
        comment=comment,
        photo_url=photo_url,
        rich_fields=bps.RICH_FIELDS,
        **_extra(kind, obj, office),
    ), status


def _moved(new_url: str | None) -> Any:
    """An old id: a permanent redirect (GET and POST alike) to its new address when the old id
    is known, else a 404 in the reader's language that links to the queue."""
    if new_url is not None:
        return redirect(new_url, code=308)
    return render_template(
        "error.html",
        code=404,
        message=_(
            "This review page no longer exists: the item was moved when reviews were brought "
            "together, or it was deleted. Find it in the review queue."
        ),
        queue_url=url_for("review.profile_queue"),
    ), 404


@bp.route("/profiles/<int:rev_id>", methods=["GET", "POST"])
@require("review_profile")
def review_profile(rev_id: int) -> Any:
    forms.path_in_range(rev_id, *forms.ID_RANGE)

    def reload() -> svc.ProfileRevision:
        return svc.revision_or_404(get_session(), rev_id)

    try:
        found = reload()
    except ServiceError as err:
        if err.status != 404:
            raise
        # An id from before profiles moved onto the workflow engine (links in old e-mails).
        new_id = old_ids.profile_revision_now(get_session(), rev_id)
        known = new_id is not None and new_id != rev_id
        return _moved(url_for("review.review_profile", rev_id=new_id) if known else None)
    return _decide("profile", found, svc.review, reload)


@bp.route("/best-practices/<int:bp_id>", methods=["GET", "POST"])
@require("review_profile")
def review_best_practice(bp_id: int) -> Any:
    """A best practice's working revision: approve or return it when it waits for review, or
    un-approve it (with a comment) from a higher level."""
    forms.path_in_range(bp_id, *forms.ID_RANGE)

    def reload() -> bps.Practice:
        return bps.bp_or_404(get_session(), bp_id)

    try:
        found = reload()
    except ServiceError as err:
        if err.status != 404:
            raise
        # A working copy's id from before best practices moved onto the engine.
        new_id = old_ids.practice_of_copy(get_session(), bp_id)
        return _moved(
            url_for("review.review_best_practice", bp_id=new_id) if new_id is not None else None
        )
    return _decide("best_practice", found, bps.review, reload)


def _plan_page(
    plan: WorkflowReport, error: str | None = None, status: int = 200, comment: str = ""
) -> Any:
    session = get_session()
    return render_template(
        "review/plan.html",
        plan=plan,
        rev=plan.current,
        approved=plan.approved,
        office=session.get_one(Office, plan.office_id),
        fields=plan_svc.FIELDS,
        labels=plan_svc.LABELS,
        waiting=wf.waiting_level(plan),
        level=wf.level_label(plan),
        levels=wf.report_levels(plan),
        trail=wf.trail(session, plan),
        may={d: wf.may_decide(current_user, plan, d) for d in wf.DECISIONS},
        error=error,
        comment=comment,
        bkk=to_bangkok,
    ), status


@bp.route("/plans/<int:plan_id>", methods=["GET", "POST"])
@require("review_profile")
def review_plan(plan_id: int) -> Any:
    """An operating plan, its history, and the decisions the reviewer's level allows."""
    session = get_session()
    forms.path_in_range(plan_id, *forms.ID_RANGE)
    plan = plan_svc.plan_or_404(session, plan_id)
    if request.method != "POST":
        return _plan_page(plan)
    comment = request.form.get("comment", "")
    try:
        forms.check_text(request.form, DECISION_LIMITS, default_limit=100)
        plan_svc.review(
            session,
            current_actor(),
            plan,
            request.form.get("decision", ""),
            comment,
            request.form.get("version", type=int),
        )
        session.commit()
    except ServiceError as err:
        session.rollback()
        plan = plan_svc.plan_or_404(session, plan_id)
        return _plan_page(plan, service_message(err), err.status, comment)
    flash(_("Decision saved."))
    return redirect(url_for("review.profile_queue"))
