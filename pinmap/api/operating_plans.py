"""/api/v1 routes for an office's operating plan of a fiscal year (a workflow report): read (the
approved revision for everyone, the working one for the office and OBEC), save, certify and
send, and OBEC's queue and decisions — the same services and rules as the portal pages."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from ..db import get_session
from ..errors import abort_json
from ..inputs import Blueprint, Int
from ..security import current_actor, require
from ..services import plans as svc
from ..services import workflow as wf
from ..services.errors import ServiceError
from ..services.review import MAX_COMMENT
from .profile_parts import VIEWS, ViewQuery, office, wants_work

bp = Blueprint(
    "operating_plans_api",
    __name__,
    url_prefix="/api/v1",
    description="Offices' operating plans: read, write, send, review",
)


class PlanSchema(Schema):
    office = fields.String()
    fiscal_year = fields.Integer()
    view = fields.String(validate=validate.OneOf(VIEWS))
    problem = fields.String(allow_none=True, metadata={"description": "Sanitised HTML"})
    approach = fields.String(allow_none=True)
    targets = fields.String(allow_none=True)
    timeline = fields.String(allow_none=True)
    approved_at = fields.String(allow_none=True, metadata={"description": "approved view only"})
    state = fields.String(allow_none=True, metadata={"description": "working view only"})
    review_comment = fields.String(allow_none=True, metadata={"description": "working view only"})
    version = fields.Integer(allow_none=True, metadata={"description": "working view only"})


@bp.route("/offices/<code>/operating-plans/<int:fiscal_year>")
@bp.arguments(ViewQuery, location="query", as_kwargs=True)
@bp.response(200, PlanSchema)
def operating_plan(code: str, fiscal_year: int, view: str) -> dict[str, Any]:
    """The plan as last approved, or (view=working) as being written or reviewed."""
    found = office(code)
    private = wants_work(found, view)
    plan = svc.get(get_session(), found.id, fiscal_year)
    head = {"office": found.code, "fiscal_year": fiscal_year, "view": view}
    if private:
        if plan is None:
            abort(404, message=_("This office has no plan for this fiscal year yet."))
        return {**head, **svc.plan_dict(plan)}
    if plan is None or plan.approved is None:
        abort(404, message=_("This office has no approved plan for this fiscal year."))
    approved = svc.plan_dict(plan, approved=True)
    return {**head, **{k: approved[k] for k in (*svc.FIELDS, "approved_at")}}


def _text() -> fields.String:
    # The service cleans the HTML and refuses an over-long field with the field named.
    return fields.String(
        load_default="",
        validate=validate.Length(max=svc.MAX_TEXT * 4),
        metadata={"description": "HTML"},
    )


class PlanBody(Schema):
    version = Int(
        strict=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "Version you edited; omit or 0 for a new plan"},
    )
    problem = _text()
    approach = _text()
    targets = _text()
    timeline = _text()


class PlanVersionBody(Schema):
    version = Int(strict=True, required=True)


class PlanDecisionBody(Schema):
    version = Int(strict=True, required=True)
    decision = fields.String(required=True, validate=validate.OneOf(wf.DECISIONS))
    comment = fields.String(load_default="", validate=validate.Length(max=MAX_COMMENT))


class WorkingPlanSchema(Schema):
    id = fields.Integer()
    office = fields.String()
    fiscal_year = fields.Integer()
    problem = fields.String(metadata={"description": "Sanitised HTML"})
    approach = fields.String()
    targets = fields.String()
    timeline = fields.String()
    status = fields.String(metadata={"description": "saved, sent, returned or approved"})
    state = fields.String(allow_none=True)
    level = fields.Integer(metadata={"description": "approval levels passed"})
    version = fields.Integer()
    approved_at = fields.String(allow_none=True)


class PlanQueueSchema(Schema):
    plans = fields.List(fields.Nested(WorkingPlanSchema))


PLAN = "/offices/<code>/operating-plans/<int:fiscal_year>"


def _json(plan: Any) -> dict[str, Any]:
    from ..models import Office

    found = get_session().get(Office, plan.office_id)
    return {**svc.plan_dict(plan), "office": found.code if found else None}


@bp.route(PLAN, methods=["PUT"])
@require("edit_profile")
@bp.arguments(PlanBody)
@bp.response(200, WorkingPlanSchema)
def save_plan(body: dict[str, Any], code: str, fiscal_year: int) -> dict[str, Any]:
    """Save the plan's working revision (the whole form); 409 if `version` is stale or the plan
    waits for review. An approved plan stays public until the new revision is approved."""
    session = get_session()
    found = office(code)
    version = body.pop("version", None)
    try:
        plan = svc.save(session, current_actor(), found, fiscal_year, body, version)
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return _json(plan)


@bp.route(PLAN + "/submit", methods=["POST"])
@require("certify_report")
@bp.arguments(PlanVersionBody)
@bp.response(200, WorkingPlanSchema)
def submit_plan(body: dict[str, Any], code: str, fiscal_year: int) -> dict[str, Any]:
    """The office director certifies the plan and sends it to OBEC (it must be complete)."""
    session = get_session()
    found = office(code)
    plan = svc.get(session, found.id, fiscal_year)
    if plan is None:
        abort(404, message=_("There is nothing to send yet."))
    try:
        plan = svc.submit(session, current_actor(), plan, body["version"])
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return _json(plan)


@bp.route("/review/operating-plans")
@require("review_profile")
@bp.response(200, PlanQueueSchema)
def plan_queue() -> dict[str, Any]:
    """Plans waiting for a level the caller may pass, oldest first."""
    plans = svc.submitted(get_session(), current_actor().user)
    return {"plans": [_json(p) for p in plans]}


@bp.route("/review/operating-plans/<int:plan_id>/decision", methods=["POST"])
@require("review_profile")
@bp.arguments(PlanDecisionBody)
@bp.response(200, WorkingPlanSchema)
def decide_plan(body: dict[str, Any], plan_id: int) -> dict[str, Any]:
    """approve (to the next level), return (to the office, comment required) or unapprove
    (undo the last level, from a higher one; comment required)."""
    session = get_session()
    try:
        plan = svc.plan_or_404(session, plan_id)
        plan = svc.review(
            session, current_actor(), plan, body["decision"], body["comment"], body["version"]
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return _json(plan)
