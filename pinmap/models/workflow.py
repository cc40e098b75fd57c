"""The one review workflow: a report, its revisions, its review trail; and quarterly projects.

A report is one office's answer to one subject of one fiscal year (a quarter of a project, an
item in a round, a profile, a plan). Its content lives in revisions: the one being worked on
(`current`) and the last one finally approved (`approved`, what the public sees). A revision's
content is a JSON document checked by its kind's service, so one pair of tables carries every
kind; kinds that need typed rows (a project) keep them beside it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .base import enum_check

if TYPE_CHECKING:
    from .accounts import User
    from .offices import Office

# draft and returned are editable; submitted carries the number of levels passed so far;
# approved is the last level passed, and locked.
WORKFLOW_STATES = ("draft", "submitted", "returned", "approved")
TRAIL_ACTIONS = ("create", "save", "submit", "approve", "return", "unapprove", "revise")


class WorkflowReport(Base):
    """One office's report of one kind on one subject of a fiscal year."""

    __tablename__ = "workflow_reports"
    __table_args__ = (UniqueConstraint("kind", "office_id", "fiscal_year", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)
    # What within the year: "project:12:q3", "item:policy:4:round:2", "profile", …
    subject: Mapped[str] = mapped_column(String(100))
    # The typed row the subject names, when it has one (a project's id), and its period.
    subject_id: Mapped[int | None] = mapped_column(Integer, index=True)
    period: Mapped[int | None] = mapped_column(SmallInteger)
    current_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_revisions.id", use_alter=True, name="fk_wf_report_current")
    )
    approved_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_revisions.id", use_alter=True, name="fk_wf_report_approved")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    office: Mapped[Office] = relationship()
    current: Mapped[WorkflowRevision | None] = relationship(
        foreign_keys=[current_revision_id], post_update=True
    )
    approved: Mapped[WorkflowRevision | None] = relationship(
        foreign_keys=[approved_revision_id], post_update=True
    )


class WorkflowRevision(Base):
    """A version of a report's content and where it stands: state and approval level."""

    __tablename__ = "workflow_revisions"
    __table_args__ = (
        UniqueConstraint("report_id", "revision_no"),
        enum_check("state", WORKFLOW_STATES),
        CheckConstraint("level >= 0", name="ck_wf_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_reports.id", ondelete="CASCADE"), index=True
    )
    revision_no: Mapped[int] = mapped_column(SmallInteger)
    state: Mapped[str] = mapped_column(String(10), default="draft")
    # Approval levels passed: 1 once the office certified (submitted), N when finally approved.
    level: Mapped[int] = mapped_column(SmallInteger, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # "manual", or "ingest:<source name>" for a revision written by ingestion.
    source: Mapped[str] = mapped_column(String(120), default="manual")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    # Every UPDATE bumps it; a write based on an older value is refused (409), never applied.
    version: Mapped[int] = mapped_column(Integer, default=1)

    report: Mapped[WorkflowReport] = relationship(foreign_keys=[report_id])
    trail: Mapped[list[WorkflowEvent]] = relationship(
        back_populates="revision", order_by="WorkflowEvent.id"
    )

    __mapper_args__ = {"version_id_col": version}


class WorkflowEvent(Base):
    """The review trail: who did what to which revision, when, with which comment."""

    __tablename__ = "workflow_events"
    __table_args__ = (enum_check("action", TRAIL_ACTIONS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_reports.id", ondelete="CASCADE"), index=True
    )
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_revisions.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(10))
    from_state: Mapped[str] = mapped_column(String(10), default="")
    from_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    to_state: Mapped[str] = mapped_column(String(10))
    to_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    comment: Mapped[str] = mapped_column(Text, default="")

    revision: Mapped[WorkflowRevision] = relationship(back_populates="trail")
    user: Mapped[User | None] = relationship()


class WorkflowKindLevels(Base):
    """An administrator's choice of a report kind's OBEC levels (else the kind's defaults in
    code): the review level's roles, and whether a second OBEC level accepts, by which roles.
    The office director's certification is always level 1."""

    __tablename__ = "workflow_kind_levels"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    review_roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    accept_enabled: Mapped[bool] = mapped_column(default=False)
    accept_roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Project(Base):
    """An office's project of a fiscal year, reported on each quarter (eMENSCR)."""

    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("office_id", "fiscal_year", "name"),
        CheckConstraint("budget_planned IS NULL OR budget_planned >= 0", name="ck_budget"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(String(500))
    budget_planned: Mapped[float | None] = mapped_column(Numeric(14, 2, asdecimal=False))
    # "manual", or "ingest:<source name>" when ingestion named the project first.
    source: Mapped[str] = mapped_column(String(120), default="manual")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    office: Mapped[Office] = relationship()

    __mapper_args__ = {"version_id_col": version}


class QuarterDeadline(Base):
    """The day a fiscal year's quarter must be reported by (else the default in the service)."""

    __tablename__ = "project_quarter_deadlines"
    __table_args__ = (
        UniqueConstraint("fiscal_year", "quarter"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="ck_quarter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)
    quarter: Mapped[int] = mapped_column(SmallInteger)
    due_on: Mapped[dt.date] = mapped_column(Date)
