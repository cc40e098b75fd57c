"""/api/v1 route for reading an office's operating plan of a fiscal year (a workflow report):
the approved revision for everyone, the working one for the office and OBEC."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from ..db import get_session
from ..inputs import Blueprint
from ..services import plans as svc
from .profile_parts import VIEWS, ViewQuery, office, wants_work

bp = Blueprint(
    "operating_plans_api",
    __name__,
    url_prefix="/api/v1",
    description="Offices' operating plans (read)",
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
