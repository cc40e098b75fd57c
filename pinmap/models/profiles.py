"""Office profiles and what hangs on them: photos, schools, statistics, results and best
practices (operating plans are workflow reports: pinmap.services.plans)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry, WKBElement
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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from .base import ReviewTrailMixin, enum_check
from .reporting import REVIEW_STATES


class Photo(Base):
    """An uploaded, re-encoded photo (people, office building, infographics) and its thumbnail."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(100))
    thumb_name: Mapped[str] = mapped_column(String(100))
    mime: Mapped[str] = mapped_column(String(50))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ProfileRevision(ReviewTrailMixin, Base):
    """A version of an office's profile in the review workflow (draft → … → approved).

    `data` holds the text fields (address, phone, email, website, staff_count, people:
    [{role: director|deputy, name, position, photo_id}], office_photo_id); `geom` a proposed
    pin. The office's approved revision is what the public sees.
    """

    __tablename__ = "profile_revisions"
    __table_args__ = (
        UniqueConstraint("office_id", "revision_no"),
        enum_check("state", REVIEW_STATES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    revision_no: Mapped[int] = mapped_column(SmallInteger)
    state: Mapped[str] = mapped_column(String(10), default="draft")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    geom: Mapped[WKBElement | None] = mapped_column(Geometry("POINT", srid=4326))


class School(Base):
    """A school under an office (imported from CSV/XLSX); location optional."""

    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_th: Mapped[str] = mapped_column(String(300))
    amphoe_th: Mapped[str] = mapped_column(String(100), default="")
    level: Mapped[str] = mapped_column(String(100), default="")
    geom: Mapped[WKBElement | None] = mapped_column(Geometry("POINT", srid=4326))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class OfficeStats(Base):
    """Counts of schools, teachers, students and staff as of a date, from a named source."""

    __tablename__ = "office_stats"
    __table_args__ = (UniqueConstraint("office_id", "source", "as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(100))  # e.g. "manual", "import", source name
    ingest_source_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_sources.id"))
    schools: Mapped[int | None] = mapped_column(Integer)
    teachers: Mapped[int | None] = mapped_column(Integer)
    students: Mapped[int | None] = mapped_column(Integer)
    staff: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


RESULT_CATEGORIES = ("policy", "action_plan", "office_standards", "onet_rt_nt", "drugs")


class ResultRecord(Base):
    """One indicator's result for an office and fiscal year (five-year history, evaluation)."""

    __tablename__ = "result_records"
    __table_args__ = (
        UniqueConstraint("office_id", "fiscal_year", "category", "indicator"),
        enum_check("category", RESULT_CATEGORIES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(SmallInteger, index=True)
    category: Mapped[str] = mapped_column(String(20))
    indicator: Mapped[str] = mapped_column(String(200))
    value: Mapped[float | None]
    unit: Mapped[str] = mapped_column(String(20), default="")
    office_target: Mapped[float | None]
    obec_target: Mapped[float | None]
    source: Mapped[str] = mapped_column(String(100), default="import")


class BestPractice(Base):
    """An office's best practice, aligned to policy items and dimensions; reviewed before public."""

    __tablename__ = "best_practices"
    __table_args__ = (enum_check("state", REVIEW_STATES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(300), default="")
    dimensions: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    background: Mapped[str] = mapped_column(Text, default="")
    objectives: Mapped[str] = mapped_column(Text, default="")
    process: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[str] = mapped_column(Text, default="")
    success_factors: Mapped[str] = mapped_column(Text, default="")
    infographic_photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id"))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    state: Mapped[str] = mapped_column(String(10), default="draft")
    # A new version of an approved practice is written in a row of its own, so the approved
    # one stays public; approving it copies it over the original (same id) and drops the copy.
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("best_practices.id", ondelete="CASCADE"), unique=True
    )
    review_comment: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class BestPracticeItem(Base):
    """A policy or Quick Win item a best practice aligns with."""

    __tablename__ = "best_practice_items"

    best_practice_id: Mapped[int] = mapped_column(
        ForeignKey("best_practices.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("policy_items.id"), primary_key=True)
