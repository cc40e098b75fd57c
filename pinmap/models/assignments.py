"""Work inside an office: which staff member answers for which framework item, by when.

The director gives each item of a fiscal year to one person of the office, for one reporting
round, with an internal due date on or before OBEC's window close for that round (seed 001:
offices set their own deadlines earlier than OBEC's). One assignee per (office, item) at a
time: reassigning replaces the row, and the audit log keeps what it replaced.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base

# Names for the annotations only: SQLAlchemy resolves them through its class registry.
if TYPE_CHECKING:
    from .accounts import User
    from .reporting import PolicyItem

MAX_NOTE = 500


class ItemAssignment(Base):
    """One framework item of an office, given to one of its staff for one round."""

    __tablename__ = "item_assignments"
    __table_args__ = (UniqueConstraint("office_id", "item_id", name="uq_item_assignments_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(
        ForeignKey("policy_items.id", ondelete="CASCADE"), index=True
    )
    # The round the internal due date is for (the item's report in that round).
    round_no: Mapped[int] = mapped_column(SmallInteger)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(MAX_NOTE), default="")
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    item: Mapped[PolicyItem] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])
