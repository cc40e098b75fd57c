"""/api/v1 read routes of the help centre: the news and the document library as the caller may
see them (anonymous callers: public items only; a token or a signed-in browser: also the items
for signed-in users), by the same services as the /help pages."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_login import current_user
from marshmallow import Schema, fields, validate

from ..db import get_session
from ..fiscal import today_bangkok
from ..inputs import Blueprint, Int
from ..services import documents as doc_svc
from ..services import news as news_svc

bp = Blueprint(
    "help_api",
    __name__,
    url_prefix="/api/v1",
    description="The help centre: OBEC's news and the document library (read)",
)


def _signed_in() -> bool:
    return bool(current_user.is_authenticated and getattr(current_user, "active", False))


class NewsOut(Schema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String(metadata={"description": "Plain text; line breaks are the author's"})
    audience = fields.String(metadata={"description": "public or signed_in"})
    publish_from = fields.Date()
    publish_until = fields.Date(allow_none=True)
    pinned = fields.Boolean()
    url = fields.String(metadata={"description": "The item's page"})


class NewsList(Schema):
    items = fields.List(fields.Nested(NewsOut))


class VersionOut(Schema):
    version_no = fields.Integer()
    kind = fields.String(metadata={"description": "file or link"})
    url = fields.String(metadata={"description": "The file's download address, or the link"})
    original_name = fields.String()
    mime = fields.String()
    size_bytes = fields.Integer()
    note = fields.String()
    created_at = fields.DateTime()


class DocumentOut(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String()
    category = fields.String()
    fiscal_year = fields.Integer()
    audience = fields.String()
    versions = fields.List(fields.Nested(VersionOut), metadata={"description": "Newest first"})


class DocumentList(Schema):
    items = fields.List(fields.Nested(DocumentOut))


class DocumentQuery(Schema):
    category = fields.String(validate=validate.Length(max=40))
    fiscal_year = Int(strict=False, small=True, validate=validate.Range(2400, 2800))


@bp.route("/news")
@bp.response(200, NewsList)
def news() -> dict[str, Any]:
    """The news shown today to the caller, pinned first, newest first."""
    items = news_svc.listing(get_session(), _signed_in(), today_bangkok())
    return {
        "items": [
            {
                "id": n.id,
                "title": n.title,
                "body": n.body,
                "audience": n.audience,
                "publish_from": n.publish_from,
                "publish_until": n.publish_until,
                "pinned": n.pinned,
                "url": url_for("help.news_item", news_id=n.id, _external=True),
            }
            for n in items
        ]
    }


@bp.route("/documents")
@bp.arguments(DocumentQuery, location="query")
@bp.response(200, DocumentList)
def documents(query: dict[str, Any]) -> dict[str, Any]:
    """The library's documents the caller may see (retired ones are not listed), each with
    every version."""
    docs = doc_svc.listing(
        get_session(),
        _signed_in(),
        category=query.get("category") or None,
        fiscal_year=query.get("fiscal_year"),
    )
    return {
        "items": [
            {
                "id": d.id,
                "title": d.title,
                "description": d.description,
                "category": d.category,
                "fiscal_year": d.fiscal_year,
                "audience": d.audience,
                "versions": [
                    {
                        "version_no": v.version_no,
                        "kind": "link" if v.url else "file",
                        "url": v.url
                        or url_for(
                            "help.document_file",
                            doc_id=d.id,
                            version_no=v.version_no,
                            _external=True,
                        ),
                        "original_name": v.original_name,
                        "mime": v.mime,
                        "size_bytes": v.size_bytes,
                        "note": v.note,
                        "created_at": v.created_at,
                    }
                    for v in d.versions
                ],
            }
            for d in docs
        ]
    }
