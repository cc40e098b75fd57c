"""/api/v1/faq (the public FAQ: by category, searched by keyword, paged) and /api/v1/questions
(the signed-in office's own questions and their answers), see services/questions.py."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from marshmallow import Schema, fields, validate

from ..db import get_session
from ..errors import abort_json
from ..inputs import Blueprint, Int
from ..models import QUESTION_CATEGORIES, FaqEntry, Question
from ..security import require
from ..services import questions as svc
from ..services.errors import ServiceError

bp = Blueprint("questions_api", __name__, url_prefix="/api/v1", description="Questions and FAQ")


class FaqQuery(Schema):
    q = fields.String(
        load_default="",
        validate=validate.Length(max=svc.MAX_QUERY),
        metadata={"description": "Keywords; each must appear in the question or its answer"},
    )
    category = fields.String(load_default="", validate=validate.OneOf(["", *QUESTION_CATEGORIES]))
    page = Int(strict=False, load_default=1, validate=validate.Range(1, 100_000))


class FaqEntrySchema(Schema):
    id = fields.Integer()
    category = fields.String()
    question = fields.String()
    answer = fields.String(metadata={"description": "Plain text; lines end with \\n"})
    published_at = fields.DateTime()


class FaqPageSchema(Schema):
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()
    per_page = fields.Integer()
    entries = fields.List(fields.Nested(FaqEntrySchema))


class QuestionSchema(Schema):
    id = fields.Integer()
    category = fields.String()
    title = fields.String()
    body = fields.String()
    status = fields.String(metadata={"description": "open or answered"})
    answer = fields.String()
    answer_version = fields.Integer(metadata={"description": "0 until answered; +1 per change"})
    created_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)


def _entry(e: FaqEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "category": e.category,
        "question": e.question,
        "answer": e.answer,
        "published_at": e.published_at,
    }


@bp.route("/faq")
@bp.arguments(FaqQuery, location="query", as_kwargs=True)
@bp.response(200, FaqPageSchema)
def faq(q: str = "", category: str = "", page: int = 1) -> dict[str, Any]:
    """The published questions and answers (public; never naming who asked), newest first."""
    try:
        result = svc.faq(get_session(), q, category, page)
    except ServiceError as err:
        abort_json(err)
    return {
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "per_page": svc.FAQ_PAGE,
        "entries": [_entry(e) for e in result.entries],
    }


def _question(q: Question) -> dict[str, Any]:
    return {
        "id": q.id,
        "category": q.category,
        "title": q.title,
        "body": q.body,
        "status": q.status,
        "answer": q.answer,
        "answer_version": q.answer_version,
        "created_at": q.created_at,
        "answered_at": q.answered_at,
    }


@bp.route("/questions")
@require("ask_question")
@bp.response(200, QuestionSchema(many=True))
def own_questions() -> list[dict[str, Any]]:
    """The signed-in office user's office's questions, newest first (the latest 200)."""
    return [_question(q) for q in svc.office_questions(get_session(), current_user.office_id)]
