"""ORM models for pinmap; must not import flask, so that ingest/ and the CLI can share them.

Geometry is PostGIS geometry in EPSG:4326 (lon/lat axis order), each column with a GiST index.
Codes: provinces use the 2-digit DOPA code, amphoes the 4-digit DOPA code, offices the
stable ASCII code from data/offices.csv (e.g. `spp-chiangmai-2`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry, WKBElement
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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base

OFFICE_KINDS = ("primary", "secondary")
LOCATION_PRECISIONS = ("office", "amphoe", "province")
ITEM_KINDS = ("policy", "quick_win")


def _enum_check(column: str, values: tuple[str, ...]) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"ck_{column}_allowed")


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Cluster(TimestampMixin, Base):
    """One of the 18 monitoring clusters (inspection regions)."""

    __tablename__ = "clusters"

    no: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    name_th: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))

    provinces: Mapped[list[Province]] = relationship(
        back_populates="cluster", order_by="Province.code"
    )
    offices: Mapped[list[Office]] = relationship(back_populates="cluster", order_by="Office.code")


class Province(TimestampMixin, Base):
    """A province (changwat); its boundary is filled by `pinmap boundaries import`."""

    __tablename__ = "provinces"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name_th: Mapped[str] = mapped_column(String(100), unique=True)
    name_en: Mapped[str] = mapped_column(String(100))
    cluster_no: Mapped[int] = mapped_column(ForeignKey("clusters.no"))
    geom: Mapped[WKBElement | None] = mapped_column(Geometry("MULTIPOLYGON", srid=4326))
    # Simplified for the web map (tolerance recorded on the import); never used for analysis.
    geom_web: Mapped[WKBElement | None] = mapped_column(Geometry("MULTIPOLYGON", srid=4326))
    boundary_import_id: Mapped[int | None] = mapped_column(ForeignKey("boundary_imports.id"))

    cluster: Mapped[Cluster] = relationship(back_populates="provinces")


class Amphoe(TimestampMixin, Base):
    """A district (amphoe / khet); rows come only from an amphoe-level boundary import."""

    __tablename__ = "amphoes"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"), index=True)
    name_th: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    geom: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326))
    geom_web: Mapped[WKBElement] = mapped_column(Geometry("MULTIPOLYGON", srid=4326))
    boundary_import_id: Mapped[int] = mapped_column(ForeignKey("boundary_imports.id"))


class BoundaryImport(Base):
    """Provenance of an imported boundary file: which file, when, how it was processed."""

    __tablename__ = "boundary_imports"
    __table_args__ = (_enum_check("level", ("province", "amphoe")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    source_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    source_crs: Mapped[str | None] = mapped_column(String(100))
    feature_count: Mapped[int] = mapped_column(Integer)
    repaired_count: Mapped[int] = mapped_column(Integer)
    simplify_tolerance_deg: Mapped[float]
    attribution: Mapped[str] = mapped_column(Text, default="")
    imported_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class OfficeProvince(Base):
    """A province an office's area covers (secondary areas may cover several)."""

    __tablename__ = "office_provinces"

    office_id: Mapped[int] = mapped_column(
        ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True
    )
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger)

    province: Mapped[Province] = relationship(lazy="joined")


class Office(TimestampMixin, Base):
    """An Educational Service Area office (สพป. primary or สพม. secondary)."""

    __tablename__ = "offices"
    __table_args__ = (
        _enum_check("kind", OFFICE_KINDS),
        _enum_check("location_precision", LOCATION_PRECISIONS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    name_th: Mapped[str] = mapped_column(String(200), unique=True)
    name_full_th: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    office_province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"), index=True)
    office_amphoe_th: Mapped[str] = mapped_column(String(100), default="")
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, nullable=False))
    location_precision: Mapped[str] = mapped_column(String(10))
    location_note: Mapped[str] = mapped_column(Text, default="")
    cluster_no: Mapped[int] = mapped_column(ForeignKey("clusters.no"), index=True)
    # Optimistic-concurrency counter for edits through the portal (409 on a stale version).
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    cluster: Mapped[Cluster] = relationship(back_populates="offices")
    office_province: Mapped[Province] = relationship()
    covered: Mapped[list[OfficeProvince]] = relationship(
        order_by=OfficeProvince.position, cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def provinces_th(self) -> list[str]:
        return [c.province.name_th for c in self.covered]


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
        _enum_check("kind", ITEM_KINDS),
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


class DataLoad(Base):
    """One run of `pinmap data load`: which files (by hash) went in and what they changed."""

    __tablename__ = "data_loads"

    id: Mapped[int] = mapped_column(primary_key=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    files: Mapped[dict[str, Any]] = mapped_column(JSONB)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB)


# --- Accounts -------------------------------------------------------------------------------

ROLES = ("office_editor", "office_director", "reviewer", "admin")
OFFICE_ROLES = ("office_editor", "office_director")


class User(TimestampMixin, Base):
    """A person who signs in: office staff (office_id set) or OBEC staff (office_id NULL)."""

    __tablename__ = "users"
    __table_args__ = (
        _enum_check("role", ROLES),
        # Office roles belong to an office; OBEC roles to none.
        CheckConstraint(
            "(role IN ('office_editor', 'office_director')) = (office_id IS NOT NULL)",
            name="ck_users_office_matches_role",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change: sessions signed with an older value stop working.
    session_epoch: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    office: Mapped[Office | None] = relationship()

    # Flask-Login protocol, kept here so models stay free of Flask imports.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}"


class ApiToken(Base):
    """A bearer token for machine clients; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Failed sign-ins, counted per account and per address to slow down guessing."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(45), index=True)
    at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


# --- Reporting ------------------------------------------------------------------------------

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
    current: Mapped[ProgressRevision | None] = relationship(foreign_keys=[current_revision_id])
    approved: Mapped[ProgressRevision | None] = relationship(foreign_keys=[approved_revision_id])


class ProgressRevision(Base):
    """A version of an entry's content and its place in draft → submitted → returned → approved."""

    __tablename__ = "progress_revisions"
    __table_args__ = (
        UniqueConstraint("entry_id", "revision_no"),
        _enum_check("state", REVIEW_STATES),
        _enum_check("status", PROGRESS_STATUSES),
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
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    review_comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

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
        _enum_check("kind", ("link", "file")),
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


# --- Audit and change records ----------------------------------------------------------------


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
    __table_args__ = (_enum_check("audience", ("public", "office")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    kind: Mapped[str] = mapped_column(String(50))
    office_code: Mapped[str | None] = mapped_column(String(60), index=True)
    audience: Mapped[str] = mapped_column(String(10), default="public", server_default="public")
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
