"""/api/v1 work inside an office: who answers for each item with which internal due date (read by
the office and OBEC, written by the office's director or an admin), who is late, and the
caller's own items — the same service and rules as the portal pages."""

from __future__ import annotations

import re
from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import Schema, fields, validate

from ..db import get_session
from ..errors import abort_json
from ..inputs import Blueprint, Int
from ..models import ITEM_NO_PATTERN, MAX_ASSIGNMENT_NOTE, SET_CODE_PATTERN, Office
from ..security import current_actor, require
from ..services import assignments as svc
from ..services import progress
from ..services.errors import ServiceError
from .profile_parts import office

bp = Blueprint(
    "assignments_api",
    __name__,
    url_prefix="/api/v1",
    description="Work inside an office: items given to staff with internal due dates",
)

ITEM = "/offices/<code>/assignments/<int(max=32767):fiscal_year>/<kind>/<no>"


class AssignedItemRef(Schema):
    kind = fields.String(metadata={"description": "The item's set code"})
    no = fields.String(metadata={"description": "The item's number in its set (4, 4.1)"})
    fiscal_year = fields.Integer()


class AssigneeSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class AssignmentSchema(Schema):
    item = fields.Nested(AssignedItemRef)
    round_no = fields.Integer()
    assignee = fields.Nested(AssigneeSchema)
    due_on = fields.Date(metadata={"description": "The office's internal due date"})
    note = fields.String()
    window_closes_on = fields.Date(
        allow_none=True, metadata={"description": "The day OBEC's window for the round closes"}
    )
    report_state = fields.String(
        allow_none=True, metadata={"description": "The report's state; null: not reported"}
    )
    days_late = fields.Integer(metadata={"description": "0 unless past due and not yet sent"})
    assigned_at = fields.DateTime()


class AssignmentListSchema(Schema):
    assignments = fields.List(fields.Nested(AssignmentSchema))


class LateGroupSchema(Schema):
    assignee = fields.Nested(AssigneeSchema)
    items = fields.List(fields.Nested(AssignmentSchema))


class LateListSchema(Schema):
    late = fields.List(fields.Nested(LateGroupSchema))


class AssignBody(Schema):
    user_id = Int(strict=True, required=True, metadata={"description": "A member of the staff"})
    round_no = Int(strict=True, small=True, required=True)
    due_on = fields.Date(
        required=True, metadata={"description": "On or before OBEC's close of that round"}
    )
    note = fields.String(load_default="", validate=validate.Length(max=MAX_ASSIGNMENT_NOTE))


def _office_to_read(code: str) -> Office:
    found = office(code)
    try:
        svc.check_can_read(current_actor(), found.id)
    except ServiceError as err:
        abort_json(err)
    return found


def _row_of(found: Office, fiscal_year: int, item_id: int) -> dict[str, Any]:
    today = current_actor().today_bangkok
    for row in svc.office_items(get_session(), found.id, fiscal_year, today):
        if row.item.id == item_id:
            return svc.assignment_dict(row)
    abort(404)


def _item_id(fiscal_year: int, kind: str, no: str) -> int:
    if not re.fullmatch(SET_CODE_PATTERN, kind) or not re.fullmatch(ITEM_NO_PATTERN, no):
        abort(404)
    try:
        return progress.item_or_404(get_session(), fiscal_year, kind, no).id
    except ServiceError as err:
        abort_json(err)


@bp.route("/offices/<code>/assignments/<int(max=32767):fiscal_year>")
@require("view_portal")
@bp.response(200, AssignmentListSchema)
def office_assignments(code: str, fiscal_year: int) -> dict[str, Any]:
    """The office's items given to its staff in a fiscal year (its staff and OBEC)."""
    found = _office_to_read(code)
    rows = svc.office_items(get_session(), found.id, fiscal_year, current_actor().today_bangkok)
    return {"assignments": [svc.assignment_dict(r) for r in rows]}


@bp.route("/offices/<code>/assignments/<int(max=32767):fiscal_year>/late")
@require("view_portal")
@bp.response(200, LateListSchema)
def office_late(code: str, fiscal_year: int) -> dict[str, Any]:
    """Items past their internal due date whose report is not yet sent, by person (the office's
    director and admins)."""
    found = office(code)
    try:
        svc.check_can_assign(current_actor(), found.id)
    except ServiceError as err:
        abort_json(err)
    groups = svc.late(get_session(), found.id, fiscal_year, current_actor().today_bangkok)
    return {
        "late": [
            {
                "assignee": {"id": user.id, "name": user.name},
                "items": [svc.assignment_dict(r) for r in rows],
            }
            for user, rows in groups
        ]
    }


@bp.route(ITEM, methods=["PUT"])
@require("view_portal")
@bp.arguments(AssignBody)
@bp.response(200, AssignmentSchema)
def assign(body: dict[str, Any], code: str, fiscal_year: int, kind: str, no: str) -> Any:
    """Give the item to a member of the office's staff (replacing whoever had it), for a round,
    with an internal due date (the office's director or an admin)."""
    found = office(code)
    item_id = _item_id(fiscal_year, kind, no)
    session = get_session()
    row = svc.RowInput(item_id, body["user_id"], body["round_no"], body["due_on"], body["note"])
    try:
        svc.save(session, current_actor(), found, fiscal_year, [row])
    except ServiceError as err:
        session.rollback()
        abort_json(err)
    session.commit()
    return _row_of(found, fiscal_year, item_id)


@bp.route(ITEM, methods=["DELETE"])
@require("view_portal")
@bp.response(204)
def unassign(code: str, fiscal_year: int, kind: str, no: str) -> Any:
    """Take the item back from whoever had it (the office's director or an admin)."""
    found = office(code)
    item_id = _item_id(fiscal_year, kind, no)
    session = get_session()
    try:
        changed = svc.save(
            session, current_actor(), found, fiscal_year, [svc.RowInput(item_id, None, None, None)]
        )
    except ServiceError as err:
        session.rollback()
        abort_json(err)
    if not changed:
        abort(404, description=_("Nobody has this item."))
    session.commit()
    return ""


@bp.route("/my-items")
@require("view_own_items")
@bp.response(200, AssignmentListSchema)
def my_items() -> dict[str, Any]:
    """The items given to the caller (office staff), the earliest due first."""
    rows = svc.my_items(get_session(), current_user, current_actor().today_bangkok)
    return {"assignments": [svc.assignment_dict(r) for r in rows]}
