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
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .base import enum_check
from .workflow import WorkflowReport


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
    """An office's best practice: its lasting id (addresses, links) and its workflow report.

    The content lives in the report's revisions (kind "best_practice", services/best_practices):
    the one being worked on and the last one approved, which is what the public sees.
    """

    __tablename__ = "best_practices"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_reports.id", ondelete="CASCADE"), unique=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    report: Mapped[WorkflowReport | None] = relationship()

    # The revision being worked on, read as the row's old columns were (scripts, tests); the
    # service's Practice is what pages and the API read.
    def _data(self, key: str) -> Any:
        rev = self.report.current if self.report is not None else None
        return (rev.data or {}).get(key) if rev is not None else None

    @property
    def state(self) -> str | None:
        rev = self.report.current if self.report is not None else None
        return rev.state if rev is not None else None

    @property
    def version(self) -> int | None:
        rev = self.report.current if self.report is not None else None
        return rev.version if rev is not None else None

    @property
    def fiscal_year(self) -> int | None:
        return self._data("fiscal_year")

    @property
    def title(self) -> str:
        return str(self._data("title") or "")

    @property
    def owner(self) -> str:
        return str(self._data("owner") or "")

    @property
    def dimensions(self) -> list[str]:
        return list(self._data("dimensions") or [])

    @property
    def background(self) -> str:
        return str(self._data("background") or "")

    @property
    def objectives(self) -> str:
        return str(self._data("objectives") or "")

    @property
    def process(self) -> str:
        return str(self._data("process") or "")

    @property
    def results(self) -> str:
        return str(self._data("results") or "")

    @property
    def success_factors(self) -> str:
        return str(self._data("success_factors") or "")

    @property
    def infographic_photo_id(self) -> int | None:
        return self._data("infographic_photo_id")

    @property
    def attachments(self) -> list[dict[str, Any]]:
        return list(self._data("attachments") or [])


class BestPracticeItem(Base):
    """A policy or Quick Win item one revision of a best practice aligns with (for searching
    and for the framework, which keeps an item that has reports from being deleted)."""

    __tablename__ = "best_practice_items"

    revision_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_revisions.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("policy_items.id"), primary_key=True)
