"""Scheduled ingestion: sources, runs, records, quarantine, conflicts."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .base import TimestampMixin, enum_check

# Names for the annotations only: SQLAlchemy resolves them through its class registry.
if TYPE_CHECKING:
    from .reporting import ProgressEntry
    from .workflow import WorkflowReport

SOURCE_KINDS = ("progress-json", "quarterly-json", "stats-csv")


class IngestSource(TimestampMixin, Base):
    """A reporting endpoint pinmap pulls on a schedule; configuration, not code."""

    __tablename__ = "ingest_sources"
    __table_args__ = (enum_check("kind", SOURCE_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    # Name of an environment variable holding the credential; the secret is never stored.
    credentials_env: Mapped[str] = mapped_column(String(100), default="")
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    cron: Mapped[str] = mapped_column(String(100), default="")
    timeout_seconds: Mapped[float] = mapped_column(default=30.0)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    pre_approved: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)


class IngestRun(Base):
    """One run of one source, with its counts and outcome."""

    __tablename__ = "ingest_runs"
    __table_args__ = (enum_check("outcome", ("running", "ok", "partial", "failed")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("ingest_sources.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(10), default="running")
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")


class IngestRecord(Base):
    """The last accepted version of one source record (idempotent upsert key)."""

    __tablename__ = "ingest_records"
    __table_args__ = (UniqueConstraint("source_id", "source_record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("ingest_sources.id"))
    source_record_id: Mapped[str] = mapped_column(String(200))
    source_updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(50))  # progress_revision, workflow_revision, …
    target_id: Mapped[int | None] = mapped_column(Integer)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_runs.id"))


class Quarantine(Base):
    """A source record refused by validation, with the reason and the field at fault."""

    __tablename__ = "ingest_quarantine"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("ingest_runs.id", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("ingest_sources.id"), index=True)
    source_record_id: Mapped[str] = mapped_column(String(200), default="")
    field: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class IngestConflict(Base):
    """A source update that would have overwritten a newer manual edit; shown to reviewers."""

    __tablename__ = "ingest_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("ingest_sources.id"), index=True)
    source_record_id: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("progress_entries.id"))
    # A conflict on a workflow report (a quarterly project report) names the report instead.
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_reports.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id", ondelete="CASCADE"))
    source_payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    entry: Mapped[ProgressEntry | None] = relationship()
    report: Mapped[WorkflowReport | None] = relationship()
