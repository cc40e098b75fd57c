"""The fiscal year's item catalogue and progress reporting: windows, entries, revisions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .base import ReviewTrailMixin, enum_check

# Names for the annotations only: SQLAlchemy resolves them through its class registry.
if TYPE_CHECKING:
    from .accounts import User
    from .offices import Office

ITEM_KINDS = ("policy", "quick_win")


class FiscalYear(Base):
    """A Thai fiscal year, numbered in the Buddhist Era; FY 2567 runs 1 Oct 2023 – 30 Sep 2024."""

    __tablename__ = "fiscal_years"

    year_be: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)


class PolicyDimension(Base):
    """One of a fiscal year's policy dimensions (safety / opportunity / quality / efficiency)."""

    __tablename__ = "policy_dimensions"
    __table_args__ = (UniqueConstraint("fiscal_year", "no"), UniqueConstraint("fiscal_year", "key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(ForeignKey("fiscal_years.year_be", ondelete="CASCADE"))
    no: Mapped[int] = mapped_column(SmallInteger)
    key: Mapped[str] = mapped_column(String(50))
    title_th: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))


class PolicyItem(Base):
    """A policy/focus item or Quick Win item of one fiscal year's catalogue."""

    __tablename__ = "policy_items"
    __table_args__ = (
        UniqueConstraint("fiscal_year", "kind", "no"),
        enum_check("kind", ITEM_KINDS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(ForeignKey("fiscal_years.year_be", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    no: Mapped[int] = mapped_column(SmallInteger)
    title_th: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    dimension_id: Mapped[int | None] = mapped_column(ForeignKey("policy_dimensions.id"))
    # False until the wording is checked against OBEC's official document for that year.
    verified: Mapped[bool]
    source_note: Mapped[str] = mapped_column(Text, default="")

    dimension: Mapped[PolicyDimension | None] = relationship()


PROGRESS_STATUSES = ("not_started", "on_plan", "plan_adjusted", "output_achieved")
REVIEW_STATES = ("draft", "submitted", "returned", "approved")
INDICATOR_UNITS = ("number", "percent")


class ReportingWindow(Base):
    """When offices may submit one reporting round of a fiscal year (dates inclusive, Bangkok)."""

    __tablename__ = "reporting_windows"
    __table_args__ = (
        UniqueConstraint("fiscal_year", "round_no"),
        CheckConstraint("opens_on <= closes_on", name="ck_window_dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(ForeignKey("fiscal_years.year_be", ondelete="CASCADE"))
    round_no: Mapped[int] = mapped_column(SmallInteger)
    label_th: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)


class WindowReopening(Base):
    """A reviewer's permission for one office to submit a round after its window closed."""

    __tablename__ = "window_reopenings"

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("reporting_windows.id", ondelete="CASCADE"))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    until: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ProgressEntry(Base):
    """One office's report on one item for one round; its content lives in revisions."""

    __tablename__ = "progress_entries"
    __table_args__ = (UniqueConstraint("office_id", "item_id", "round_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(ForeignKey("fiscal_years.year_be"))
    item_id: Mapped[int] = mapped_column(ForeignKey("policy_items.id"), index=True)
    round_no: Mapped[int] = mapped_column(SmallInteger)
    # The revision being worked on (may equal the approved one) and the one the public sees.
    current_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("progress_revisions.id", use_alter=True, name="fk_entry_current_revision")
    )
    approved_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("progress_revisions.id", use_alter=True, name="fk_entry_approved_revision")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    office: Mapped[Office] = relationship()
    item: Mapped[PolicyItem] = relationship()
    # post_update: an entry and its revisions point at each other; the pointer is set by an
    # UPDATE after both rows exist, which lets a whole page of new reports insert in bulk.
    current: Mapped[ProgressRevision | None] = relationship(
        foreign_keys=[current_revision_id], post_update=True
    )
    approved: Mapped[ProgressRevision | None] = relationship(
        foreign_keys=[approved_revision_id], post_update=True
    )


class ProgressRevision(ReviewTrailMixin, Base):
    """A version of an entry's content and its place in draft → submitted → returned → approved."""

    __tablename__ = "progress_revisions"
    __table_args__ = (
        UniqueConstraint("entry_id", "revision_no"),
        enum_check("state", REVIEW_STATES),
        enum_check("status", PROGRESS_STATUSES),
        CheckConstraint(
            "indicator_unit IS NULL OR indicator_unit IN ('number', 'percent')",
            name="ck_indicator_unit",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("progress_entries.id", ondelete="CASCADE"), index=True
    )
    revision_no: Mapped[int] = mapped_column(SmallInteger)
    state: Mapped[str] = mapped_column(String(10), default="draft")
    status: Mapped[str] = mapped_column(String(20), default="not_started")
    what: Mapped[str] = mapped_column(Text, default="")
    where: Mapped[str] = mapped_column(Text, default="")
    how: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(Text, default="")
    indicator_value: Mapped[float | None]
    indicator_target: Mapped[float | None]
    indicator_unit: Mapped[str | None] = mapped_column(String(10))
    indicator_achieved: Mapped[bool | None]
    no_activity_reason: Mapped[str] = mapped_column(Text, default="")
    no_activity_when: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(100), default="manual")

    entry: Mapped[ProgressEntry] = relationship(foreign_keys=[entry_id])
    evidence: Mapped[list[Evidence]] = relationship(
        back_populates="revision", cascade="all, delete-orphan", order_by="Evidence.id"
    )
    comments: Mapped[list[ReviewComment]] = relationship(
        back_populates="revision", order_by="ReviewComment.id"
    )


class ReviewComment(Base):
    """A reviewer's reason for returning a revision (kept for every return)."""

    __tablename__ = "review_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("progress_revisions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    revision: Mapped[ProgressRevision] = relationship(back_populates="comments")
    author: Mapped[User] = relationship()


class Evidence(Base):
    """A link or an uploaded file supporting a revision; files live outside static/."""

    __tablename__ = "evidence"
    __table_args__ = (
        enum_check("kind", ("link", "file")),
        CheckConstraint(
            "(kind = 'link') = (url IS NOT NULL) AND (kind = 'file') = (stored_name IS NOT NULL)",
            name="ck_evidence_kind_fields",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("progress_revisions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(4))
    title: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str | None] = mapped_column(Text)
    stored_name: Mapped[str | None] = mapped_column(String(100))
    original_name: Mapped[str | None] = mapped_column(String(255))
    mime: Mapped[str | None] = mapped_column(String(50))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    revision: Mapped[ProgressRevision] = relationship(back_populates="evidence")
