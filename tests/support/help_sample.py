"""A news item and a library document for the pages that show one (the CSP browser test)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from pinmap.fiscal import today_bangkok
from pinmap.services import documents, news
from pinmap.services.audit import Actor


def help_sample(session: Session) -> dict[str, int]:
    item = news.create(
        session,
        Actor(None),
        news.NewsInput("ประกาศ", "บรรทัดแรก\nบรรทัดที่สอง", "public", today_bangkok(), None, True),
    )
    doc = documents.create(
        session,
        Actor(None),
        documents.DocumentInput("วีดิทัศน์ชี้แจง", "", "videos", 2569, "public"),
        documents.Content(url="https://www.youtube.com/watch?v=x"),
        documents.Storage(Path("/nonexistent"), 1),
    )
    return {"news_id": item.id, "doc_id": doc.id}
