"""/api/v1 bulk work on workflow reports of any kind: certify and send many, decide on many.

Each report is its own transaction (one refused report undoes nothing of the others) and the
answer lists every report's result: `ok`, the HTTP status it would have had alone, the new
version, and the refusal's message in the reader's language. The request itself is refused
(4xx, nothing done) only when it is malformed: an unknown kind, no reports, too many, or a
return without a comment.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from ..bulkwork import commit_each, outcome_dict
from ..db import get_session
from ..errors import abort_json
from ..inputs import Blueprint, Int
from ..security import current_actor, require
from ..services import bulk
from ..services.bulk import Item
from ..services.errors import ServiceError
from ..services.review import MAX_COMMENT

bp = Blueprint(
    "bulk_api",
    __name__,
    url_prefix="/api/v1",
    description="Bulk work on reports of any kind: certify and send many, approve or return many",
)


class BulkItem(Schema):
    id = Int(strict=True, required=True, metadata={"description": "The report's id"})
    version = Int(strict=True, required=True, metadata={"description": "The version you read"})


def _items() -> fields.List:
    return fields.List(
        fields.Nested(BulkItem),
        required=True,
        validate=validate.Length(1, bulk.MAX_ITEMS),
    )


class BulkSubmitBody(Schema):
    items = _items()


class BulkDecideBody(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(bulk.BULK_DECISIONS))
    comment = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_COMMENT),
        metadata={"description": "Required to return; sent with every returned report"},
    )
    items = _items()


class BulkResult(Schema):
    id = fields.Integer()
    ok = fields.Boolean()
    status = fields.Integer(metadata={"description": "The status this report alone would get"})
    version = fields.Integer(allow_none=True)
    message = fields.String(allow_none=True)


class BulkResults(Schema):
    results = fields.List(fields.Nested(BulkResult))


def _as_items(body: dict[str, Any]) -> list[Item]:
    return [Item(i["id"], i["version"]) for i in body["items"]]


@bp.route("/bulk/<kind>/submit", methods=["POST"])
@require("certify_report")
@bp.arguments(BulkSubmitBody)
@bp.response(200, BulkResults)
def bulk_submit(body: dict[str, Any], kind: str) -> dict[str, Any]:
    """Certify and send each report (the office director); each one its own transaction.

    `kind` is a report kind of the workflow engine: `quarterly_project`, `operating_plan`, and
    every kind moved onto the engine since."""
    session = get_session()
    try:
        outcomes = bulk.submit_each(session, current_actor(), kind, _as_items(body))
    except ServiceError as err:
        abort_json(err)
    return {"results": [outcome_dict(o) for o in commit_each(session, outcomes)]}


@bp.route("/bulk/<kind>/decide", methods=["POST"])
@require("review_report")
@bp.arguments(BulkDecideBody)
@bp.response(200, BulkResults)
def bulk_decide(body: dict[str, Any], kind: str) -> dict[str, Any]:
    """Approve or return each report (OBEC's levels); each one its own transaction.

    `kind` as for bulk submit; a return needs a comment, which every returned report gets."""
    session = get_session()
    try:
        outcomes = bulk.decide_each(
            session, current_actor(), kind, _as_items(body), body["decision"], body["comment"]
        )
    except ServiceError as err:
        abort_json(err)
    return {"results": [outcome_dict(o) for o in commit_each(session, outcomes)]}
