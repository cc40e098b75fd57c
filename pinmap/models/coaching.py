"""Clusters and the coaching year: cluster moves, monitoring rounds, sessions, visit plans,
and what reaches the offices (published records, follow-ups, evaluation findings)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .base import enum_check

ROUND_KINDS = ("online_plan_check", "onsite_coaching", "online_cluster", "online_evaluation")


class ClusterMove(Base):
    """History of an office moving between clusters (who, when, why)."""

    __tablename__ = "cluster_moves"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    from_cluster: Mapped[int] = mapped_column(ForeignKey("clusters.no"))
    to_cluster: Mapped[int] = mapped_column(ForeignKey("clusters.no"))
    reason: Mapped[str] = mapped_column(Text, default="")
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MonitoringRound(Base):
    """One of the year's four monitoring rounds (3/6/9/12 months) and its dates."""

    __tablename__ = "monitoring_rounds"
    __table_args__ = (UniqueConstraint("fiscal_year", "round_no"), enum_check("kind", ROUND_KINDS))

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(ForeignKey("fiscal_years.year_be", ondelete="CASCADE"))
    round_no: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(30))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)


class RoundStatus(Base):
    """An office's status in a monitoring round (e.g. plan received / checked / coached)."""

    __tablename__ = "round_statuses"
    __table_args__ = (UniqueConstraint("round_id", "office_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("monitoring_rounds.id", ondelete="CASCADE"))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    status: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ClusterSession(Base):
    """The 9-month round's online meeting for one cluster (one cluster per session)."""

    __tablename__ = "cluster_sessions"
    __table_args__ = (UniqueConstraint("round_id", "cluster_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("monitoring_rounds.id", ondelete="CASCADE"))
    cluster_no: Mapped[int] = mapped_column(ForeignKey("clusters.no"))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    link: Mapped[str] = mapped_column(Text, default="")


class VisitPlan(Base):
    """A coaching team's plan for a cluster in a round: host, invitees, visit order."""

    __tablename__ = "visit_plans"
    __table_args__ = (enum_check("state", ("draft", "published")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("monitoring_rounds.id", ondelete="CASCADE"))
    cluster_no: Mapped[int] = mapped_column(ForeignKey("clusters.no"), index=True)
    host_office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    radius_km: Mapped[float | None]
    nearest_k: Mapped[int | None] = mapped_column(SmallInteger)
    visit_date: Mapped[dt.date | None] = mapped_column(Date)
    team: Mapped[str] = mapped_column(Text, default="")
    agenda: Mapped[str] = mapped_column(Text, default="", server_default="")
    state: Mapped[str] = mapped_column(String(10), default="draft")
    distance_basis: Mapped[str] = mapped_column(String(20), default="great_circle")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class VisitStop(Base):
    """An office in a visit plan: the host, an invitee, or a stop on a multi-office trip."""

    __tablename__ = "visit_stops"
    __table_args__ = (enum_check("role", ("host", "invited", "visit")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("visit_plans.id", ondelete="CASCADE"), index=True
    )
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    role: Mapped[str] = mapped_column(String(10))
    position: Mapped[int | None] = mapped_column(SmallInteger)
    distance_km: Mapped[float | None]


class VisitRecord(Base):
    """What happened on a visit: date, team, attendees, notes, follow-ups."""

    __tablename__ = "visit_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("visit_plans.id", ondelete="CASCADE"), index=True
    )
    visited_on: Mapped[dt.date] = mapped_column(Date)
    team: Mapped[str] = mapped_column(Text, default="")
    attendees: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    follow_ups: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Set when the coach publishes the record to the plan's offices (None: coaches only).
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class VisitFollowUp(Base):
    """One follow-up of a visit record (a line of its follow-ups), acknowledged and reported on
    by each office of the plan."""

    __tablename__ = "visit_follow_ups"
    __table_args__ = (UniqueConstraint("record_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("visit_records.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(Text)


class FollowUpAck(Base):
    """An office's acknowledgement of a follow-up: who, when (once per office)."""

    __tablename__ = "follow_up_acks"
    __table_args__ = (UniqueConstraint("follow_up_id", "office_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(
        ForeignKey("visit_follow_ups.id", ondelete="CASCADE"), index=True
    )
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FollowUpReport(Base):
    """An office's short report on a follow-up in a later round (one per office and round)."""

    __tablename__ = "follow_up_reports"
    __table_args__ = (UniqueConstraint("follow_up_id", "office_id", "round_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(
        ForeignKey("visit_follow_ups.id", ondelete="CASCADE"), index=True
    )
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("monitoring_rounds.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EvaluationFindings(Base):
    """The 12-month round's findings as sent to one office: a snapshot of its results against
    the targets, so what the office reads is what was sent."""

    __tablename__ = "evaluation_findings"
    __table_args__ = (UniqueConstraint("round_id", "office_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("monitoring_rounds.id", ondelete="CASCADE"))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    rows: Mapped[list[dict[str, object]]] = mapped_column(JSONB)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
