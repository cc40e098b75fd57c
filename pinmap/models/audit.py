"""The append-only audit log and the change events behind the live stream."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .base import enum_check

# Names for the annotations only: SQLAlchemy resolves them through its class registry.
if TYPE_CHECKING:
    from .accounts import User


class AuditLog(Base):
    """Append-only record of every change: who, when, from where, what, before → after.

    A trigger (see the migration) refuses UPDATE and DELETE on this table.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(50), index=True)
    entity: Mapped[str] = mapped_column(String(50), index=True)
    entity_id: Mapped[str] = mapped_column(String(100))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    user: Mapped[User | None] = relationship()


class ChangeEvent(Base):
    """A committed change (monotonic id, in commit order) for live updates and polling clients.

    `audience` is `public` (approved data, anyone) or `office` (drafts and review steps: only
    that office's staff and OBEC may receive it).
    """

    __tablename__ = "change_events"
    __table_args__ = (enum_check("audience", ("public", "office")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    kind: Mapped[str] = mapped_column(String(50))
    office_code: Mapped[str | None] = mapped_column(String(60), index=True)
    audience: Mapped[str] = mapped_column(String(10), default="public", server_default="public")
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
