"""The help centre: OBEC's news, the document library (each document's versions kept when it is
replaced; documents are retired, never deleted) and the monitoring office's contact details."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .base import TimestampMixin, enum_check

# Who reads an item: everyone, or only people signed in (office staff, OBEC, coaches).
AUDIENCES = ("public", "signed_in")


class NewsItem(TimestampMixin, Base):
    """One announcement, shown from `publish_from` to `publish_until` (Bangkok days, inclusive)."""

    __tablename__ = "help_news"
    __table_args__ = (
        enum_check("audience", AUDIENCES),
        CheckConstraint(
            "publish_until IS NULL OR publish_until >= publish_from", name="ck_news_dates"
        ),
        # The map page's strip: the latest visible items, newest first.
        Index("ix_help_news_shown", "publish_from", "publish_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # plain lines; shown with line breaks
    audience: Mapped[str] = mapped_column(String(10), default="public")
    publish_from: Mapped[dt.date] = mapped_column(Date)
    publish_until: Mapped[dt.date | None] = mapped_column(Date)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class HelpDocument(TimestampMixin, Base):
    """A form, manual, template or video in the library; its content is its latest version."""

    __tablename__ = "help_documents"
    __table_args__ = (enum_check("audience", AUDIENCES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(30), index=True)  # data/help_categories.csv
    fiscal_year: Mapped[int] = mapped_column(SmallInteger, index=True)  # Buddhist Era
    audience: Mapped[str] = mapped_column(String(10), default="public")
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    versions: Mapped[list[HelpDocumentVersion]] = relationship(
        back_populates="document",
        order_by="HelpDocumentVersion.version_no.desc()",
        cascade="all, delete-orphan",
    )

    @property
    def current(self) -> HelpDocumentVersion | None:
        return self.versions[0] if self.versions else None


class HelpDocumentVersion(Base):
    """One version of a document: an uploaded file (checked like evidence) or a web link."""

    __tablename__ = "help_document_versions"
    __table_args__ = (
        UniqueConstraint("document_id", "version_no", name="uq_help_document_version"),
        CheckConstraint("(url IS NULL) <> (stored_name IS NULL)", name="ck_file_or_link"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("help_documents.id", ondelete="CASCADE"))
    version_no: Mapped[int] = mapped_column(Integer)
    url: Mapped[str | None] = mapped_column(String(2000))
    stored_name: Mapped[str | None] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(255), default="")
    mime: Mapped[str] = mapped_column(String(100), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(500), default="")  # what changed in this version
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    document: Mapped[HelpDocument] = relationship(back_populates="versions")


class HelpContact(Base):
    """The monitoring office's contact details: one row, written when an admin saves them (until
    then the page shows the unconfirmed defaults of data/help_contact.json)."""

    __tablename__ = "help_contact"
    __table_args__ = (CheckConstraint("id = 1", name="ck_help_contact_one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    office_name: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    hours: Mapped[str] = mapped_column(String(300), default="")
    # [{"region": "...", "url": "https://..."}], the four regions' help groups.
    groups: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
