"""OBEC's news: who sees which item when, and writing items (checked, audited, never committed)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from ..models import AUDIENCES, NewsItem
from . import audit
from .audit import Actor
from .errors import N_, ServiceError
from .lookups import get_or_404
from .sanitize import clean_text

MAX_TITLE = 200
MAX_BODY = 10_000
# How many items the map page and the portal home show.
LATEST = 3


@dataclass(frozen=True)
class NewsInput:
    title: str
    body: str
    audience: str
    publish_from: dt.date
    publish_until: dt.date | None
    pinned: bool


def audiences_for(signed_in: bool) -> tuple[str, ...]:
    """The audiences a reader belongs to: anonymous readers see public items only."""
    return AUDIENCES if signed_in else ("public",)


def _shown(signed_in: bool, today: dt.date) -> ColumnElement[bool]:
    return and_(
        NewsItem.audience.in_(audiences_for(signed_in)),
        NewsItem.publish_from <= today,
        or_(NewsItem.publish_until.is_(None), NewsItem.publish_until >= today),
    )


def _order() -> tuple[Any, ...]:
    return (NewsItem.pinned.desc(), NewsItem.publish_from.desc(), NewsItem.id.desc())


def latest(session: Session, signed_in: bool, today: dt.date, limit: int = LATEST) -> list[Any]:
    """The newest items the reader may see today, pinned first: one query on an index, only the
    columns the strip shows (the map page is measured)."""
    stmt = (
        select(NewsItem.id, NewsItem.title, NewsItem.publish_from, NewsItem.pinned)
        .where(_shown(signed_in, today))
        .order_by(*_order())
        .limit(limit)
    )
    return list(session.execute(stmt).all())


def listing(
    session: Session, signed_in: bool, today: dt.date, *, manager: bool = False
) -> list[NewsItem]:
    """What the news page lists: the visible items, or every item for those who write them."""
    stmt = select(NewsItem).order_by(*_order())
    if not manager:
        stmt = stmt.where(_shown(signed_in, today))
    return list(session.scalars(stmt.limit(500)))


def is_shown(item: NewsItem, signed_in: bool, today: dt.date) -> bool:
    return (
        item.audience in audiences_for(signed_in)
        and item.publish_from <= today
        and (item.publish_until is None or item.publish_until >= today)
    )


def get(session: Session, news_id: int) -> NewsItem:
    return get_or_404(session, NewsItem, news_id, N_("No such news item."))


def visible_or_404(
    session: Session, news_id: int, signed_in: bool, today: dt.date, *, manager: bool = False
) -> NewsItem:
    """The item, if this reader may see it today (a hidden item does not exist for them)."""
    item = get(session, news_id)
    if not manager and not is_shown(item, signed_in, today):
        raise ServiceError(404, N_("No such news item."))
    return item


def check(data: NewsInput) -> NewsInput:
    """The input cleaned, or a 400 naming what is wrong."""
    title = clean_text(data.title, max_length=MAX_TITLE + 1).replace("\n", " ")
    body = clean_text(data.body, max_length=MAX_BODY + 1)
    if not title:
        raise ServiceError(400, N_("Give the news a title."))
    if len(title) > MAX_TITLE:
        raise ServiceError(400, N_("The title is longer than %(n)s characters."), n=MAX_TITLE)
    if len(body) > MAX_BODY:
        raise ServiceError(400, N_("The text is longer than %(n)s characters."), n=MAX_BODY)
    if data.audience not in AUDIENCES:
        raise ServiceError(400, N_("Choose who may read it."))
    if data.publish_until is not None and data.publish_until < data.publish_from:
        raise ServiceError(
            400,
            N_("The last day shown (%(until)s) is before the first (%(since)s)."),
            until=data.publish_until,
            since=data.publish_from,
        )
    return NewsInput(
        title, body, data.audience, data.publish_from, data.publish_until, bool(data.pinned)
    )


def _snapshot(item: NewsItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "audience": item.audience,
        "publish_from": item.publish_from.isoformat(),
        "publish_until": item.publish_until.isoformat() if item.publish_until else None,
        "pinned": item.pinned,
    }


def create(session: Session, actor: Actor, data: NewsInput) -> NewsItem:
    data = check(data)
    item = NewsItem(
        title=data.title,
        body=data.body,
        audience=data.audience,
        publish_from=data.publish_from,
        publish_until=data.publish_until,
        pinned=data.pinned,
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(item)
    session.flush()
    audit.record(session, actor, "create", "news", item.id, after=_snapshot(item))
    return item


def update(session: Session, actor: Actor, item: NewsItem, data: NewsInput) -> NewsItem:
    data = check(data)
    before = _snapshot(item)
    item.title = data.title
    item.body = data.body
    item.audience = data.audience
    item.publish_from = data.publish_from
    item.publish_until = data.publish_until
    item.pinned = data.pinned
    session.flush()
    audit.record(session, actor, "update", "news", item.id, before=before, after=_snapshot(item))
    return item
