"""/api/v1/stream (Server-Sent Events) and /api/v1/changes (polling) over the change records."""

from __future__ import annotations

import os
import queue
import re
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from ..auth import OFFICE_READ_ROLES
from ..db import get_session
from ..live import (
    Broker,
    BrokerUnavailable,
    Change,
    Grant,
    Subscriber,
    shared_broker,
    sse_format,
)
from ..models import ChangeEvent
from ..security import current_session_id

bp = Blueprint("live", __name__, url_prefix="/api/v1", description="Live changes")

HEARTBEAT_SECONDS = 15.0
REPLAY_LIMIT = 1000
_ID = re.compile(r"\d{1,18}")
MAX_CHANGE_ID = 2**31 - 1  # change_events.id is an integer column


def broker() -> Broker:
    url = str(current_app.config.get("SQLALCHEMY_URL") or "")
    return shared_broker(current_app.extensions["pinmap"], url)


def _visible_offices() -> frozenset[int] | None:
    """None: every office's private changes (OBEC); a set: those offices'; empty: public only."""
    if not current_user.is_authenticated:
        return frozenset()
    if current_user.role in OFFICE_READ_ROLES:
        return None
    return frozenset({current_user.office_id}) if current_user.office_id else frozenset()


def _grant() -> Grant | None:
    """What the stream's right to private changes rests on; the broker re-checks it."""
    if not current_user.is_authenticated:
        return None
    return Grant(
        current_user.id,
        current_user.role,
        current_user.office_id,
        session_id=current_session_id(),
        token_id=g.get("api_token_id"),
    )


def _visible(stmt: Any, offices: frozenset[int] | None) -> Any:
    if offices is None:
        return stmt
    return stmt.where(
        (ChangeEvent.audience == "public") | ChangeEvent.office_id.in_(list(offices) or [-1])
    )


def _parse_id(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not _ID.fullmatch(raw.strip()) or int(raw.strip()) > MAX_CHANGE_ID:
        abort(
            400,
            message=_(
                "%(name)s must be a change id (a whole number), not %(value)s.",
                name=name,
                value=raw[:40],
            ),
        )
    return int(raw.strip())


def _newest() -> int:
    return int(get_session().scalar(select(func.coalesce(func.max(ChangeEvent.id), 0))) or 0)


def _changes_after(last_id: int, offices: frozenset[int] | None, limit: int) -> list[Change]:
    stmt = _visible(
        select(
            ChangeEvent.id,
            ChangeEvent.at,
            ChangeEvent.kind,
            ChangeEvent.office_code,
            ChangeEvent.audience,
            ChangeEvent.office_id,
            ChangeEvent.payload,
        )
        .where(ChangeEvent.id > last_id)
        .order_by(ChangeEvent.id)
        .limit(limit),
        offices,
    )
    return [Change.from_row(tuple(row)) for row in get_session().execute(stmt)]


class ChangesQuery(Schema):
    since = fields.String(load_default=None, metadata={"description": "Last change id seen"})
    limit = fields.Integer(load_default=500, validate=validate.Range(1, REPLAY_LIMIT))


@bp.route("/changes")
@bp.arguments(ChangesQuery, location="query", as_kwargs=True)
@bp.response(200)
def changes(since: str | None, limit: int) -> dict[str, Any]:
    """Changes after `since` in id order (the polling form of /stream).

    A `since` beyond the newest change (a restored database, or a made-up id) answers no
    changes, `last_id` = the newest and `reset: true`: reload, then poll from there.
    """
    after = _parse_id(since, "since")
    offices = _visible_offices()
    newest = _newest()
    if after is None:
        return {"changes": [], "last_id": newest}
    if after > newest:
        return {"changes": [], "last_id": newest, "more": False, "reset": True}
    rows = _changes_after(after, offices, limit)
    return {
        "changes": [c.public_dict() for c in rows],
        "last_id": rows[-1].id if rows else after,
        "more": len(rows) == limit,
    }


@bp.route("/stream")
@bp.response(200, content_type="text/event-stream")
def stream() -> Response:
    """Server-Sent Events: `event: change` with `id:` = change id; send Last-Event-ID to resume.

    The stream opens with a block holding only `retry:` and `id:` (the point it starts after),
    so even a client that has seen no change yet resumes exactly. A Last-Event-ID beyond the
    newest change starts from the newest, with `event: reset` (reload your data).

    Anonymous clients receive public changes only; office staff also their office's drafts;
    OBEC staff every office's. A signed-in stream ends when its session or token ends, or the
    user is deactivated or gets another role or office.
    """
    # Everything about the cursor is settled before anything is registered.
    requested = _parse_id(
        request.headers.get("Last-Event-ID") or request.args.get("last_event_id"), "Last-Event-ID"
    )
    offices, grant = _visible_offices(), _grant()
    session = get_session()
    newest = _newest()
    ahead = requested is not None and requested > newest
    last_id = newest if requested is None or ahead else requested
    b = broker()
    try:
        sub = b.subscribe(offices, grant)
    except BrokerUnavailable:
        session.close()
        abort(503, message=_("Live updates are unavailable right now; try again shortly."))
    try:
        # After subscribing: whatever commits in between is in the backlog or the queue, and
        # the stream skips what it already sent.
        backlog = _changes_after(last_id, offices, REPLAY_LIMIT)
    except BaseException:
        b.unsubscribe(sub)
        raise
    finally:
        session.close()  # no database connection is held while the stream is open
    overflow = ahead or len(backlog) == REPLAY_LIMIT
    response = Response(
        _events(b, sub, backlog, last_id, overflow),
        mimetype="text/event-stream",
        # X-Served-By names the process, so operators (and tests) can see the fan-out spread.
        headers={
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            "X-Served-By": str(os.getpid()),
        },
    )
    # A generator that never started does not run its `finally`; the server's close() does.
    response.call_on_close(lambda: b.unsubscribe(sub))
    return response


def _events(
    b: Broker, sub: Subscriber, backlog: list[Change], after: int, overflow: bool
) -> Iterator[str]:
    try:
        # The resume point goes first, as the stream's id: without it a client that drops
        # before its first change reconnects with no Last-Event-ID and starts from the
        # newest change, missing whatever committed while it was away.
        yield sse_format(retry_ms=3000, last_id=after)
        for missed in backlog:
            yield sse_format(missed)
        if overflow:
            # Too far behind to replay (or ahead of us): the client reloads its data instead.
            yield "event: reset\ndata: {}\n\n"
        last = backlog[-1].id if backlog else after
        while sub.open:
            try:
                change = sub.queue.get(timeout=HEARTBEAT_SECONDS)
            except queue.Empty:
                yield sse_format(comment="keep-alive")
                continue
            if change is None or change.id <= last or not sub.open:
                continue  # already sent from the backlog, or the stream just ended
            last = change.id
            yield sse_format(change)
    finally:
        b.unsubscribe(sub)
