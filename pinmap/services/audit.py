"""The actor behind a change, the append-only audit log, and public change records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import AuditLog, ChangeEvent, User

CHANGE_CHANNEL = "pinmap_changes"
# Held from the change record's insert to commit, so change ids commit in increasing order and a
# reader resuming "after id N" can never miss a record that committed late with a smaller id.
CHANGE_ORDER_LOCK = 0x70696E6D  # "pinm"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Actor:
    """Who acts, from where, and when (tests pin `now`)."""

    user: User | None
    ip: str | None = None
    now: dt.datetime = field(default_factory=utcnow)

    @property
    def today_bangkok(self) -> dt.date:
        # Reporting deadlines are Thai calendar days (UTC+7, no daylight saving).
        return (self.now + dt.timedelta(hours=7)).date()


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    office_id: int | None = None,
) -> None:
    session.add(
        AuditLog(
            at=actor.now,
            user_id=actor.user.id if actor.user else None,
            ip=actor.ip,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            office_id=office_id,
            before=before,
            after=after,
        )
    )


def emit_change(
    session: Session,
    kind: str,
    office_code: str | None,
    payload: dict[str, Any],
    *,
    audience: str = "public",
    office_id: int | None = None,
) -> ChangeEvent:
    """Write a change record in the caller's transaction; NOTIFY is delivered only at commit.

    `audience="office"` records (drafts, review steps) reach only that office and OBEC.
    """
    session.execute(select(func.pg_advisory_xact_lock(CHANGE_ORDER_LOCK)))
    event = ChangeEvent(
        kind=kind, office_code=office_code, payload=payload, audience=audience, office_id=office_id
    )
    session.add(event)
    session.flush()
    session.execute(select(func.pg_notify(CHANGE_CHANNEL, str(event.id))))
    return event
