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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

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

ROLES = ("office_editor", "office_director", "reviewer", "admin", "coach")
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
    # Bumped on a password change or a new role or office (sessions themselves end through
    # their UserSession rows).
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
        # Flask-Login puts this in the cookie: the key of the server-side session that
        # security.sign_in started (UserSession), never the user id itself.
        key = self.__dict__.get("session_key")
        if not key:
            raise RuntimeError("start a session with pinmap.security.sign_in")
        return str(key)


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


class ReviewTrailMixin:
    """Who created, submitted and reviewed a revision and when, and its optimistic version."""

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
    # Every UPDATE bumps it; an edit based on an older value fails (409), never overwrites.
    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 (declarative class attribute)
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


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


# --- Office profiles (issue: profiles in full) ------------------------------------------------


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
        _enum_check("state", REVIEW_STATES),
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
        _enum_check("category", RESULT_CATEGORIES),
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
    __table_args__ = (_enum_check("state", REVIEW_STATES),)

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


class OperatingPlan(Base):
    """An office's operating plan for a fiscal year (checked in the 3-month round); reviewed."""

    __tablename__ = "operating_plans"
    __table_args__ = (
        UniqueConstraint("office_id", "fiscal_year"),
        _enum_check("state", REVIEW_STATES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)
    problem: Mapped[str] = mapped_column(Text, default="")
    approach: Mapped[str] = mapped_column(Text, default="")
    targets: Mapped[str] = mapped_column(Text, default="")
    timeline: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="draft")
    review_comment: Mapped[str] = mapped_column(Text, default="")
    approved_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


# --- Clusters and the coaching year (issue: clusters and coaching) -----------------------------

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
    __table_args__ = (UniqueConstraint("fiscal_year", "round_no"), _enum_check("kind", ROUND_KINDS))

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
    __table_args__ = (_enum_check("state", ("draft", "published")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("monitoring_rounds.id", ondelete="CASCADE"))
    cluster_no: Mapped[int] = mapped_column(ForeignKey("clusters.no"), index=True)
    host_office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    radius_km: Mapped[float | None]
    nearest_k: Mapped[int | None] = mapped_column(SmallInteger)
    visit_date: Mapped[dt.date | None] = mapped_column(Date)
    team: Mapped[str] = mapped_column(Text, default="")
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
    __table_args__ = (_enum_check("role", ("host", "invited", "visit")),)

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


# --- Ingestion (issue: scheduled ingestion) --------------------------------------------------

SOURCE_KINDS = ("progress-json", "quarterly-json", "stats-csv")


class IngestSource(TimestampMixin, Base):
    """A reporting endpoint pinmap pulls on a schedule; configuration, not code."""

    __tablename__ = "ingest_sources"
    __table_args__ = (_enum_check("kind", SOURCE_KINDS),)

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
    __table_args__ = (_enum_check("outcome", ("running", "ok", "partial", "failed")),)

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
    target: Mapped[str] = mapped_column(String(50))  # e.g. progress_revision, quarterly_report
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
    run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id", ondelete="CASCADE"))
    source_payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    entry: Mapped[ProgressEntry | None] = relationship()


class QuarterlyReport(Base):
    """An eMENSCR-style quarterly project report (six points, budget planned vs disbursed)."""

    __tablename__ = "quarterly_reports"
    __table_args__ = (UniqueConstraint("source_id", "source_record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("ingest_sources.id"))
    source_record_id: Mapped[str] = mapped_column(String(200))
    fiscal_year: Mapped[int] = mapped_column(SmallInteger)
    quarter: Mapped[int] = mapped_column(SmallInteger)
    project: Mapped[str] = mapped_column(Text)
    points: Mapped[dict[str, Any]] = mapped_column(JSONB)
    budget_planned: Mapped[float | None]
    budget_disbursed: Mapped[float | None]
    source_updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# --- Server-side sign-in sessions (issue: hardening) ------------------------------------------


class UserSession(Base):
    """One signed-in browser. The cookie carries a random key whose SHA-256 is stored here.

    Every request looks the row up, so revoking it (sign-out, password change, deactivation,
    a new role or office) ends the session on every host at once, and a copy of the cookie
    taken before is worthless afterwards.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    ip: Mapped[str | None] = mapped_column(String(45))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Why it ended: sign-out, password, deactivated, rights (role or office), reset.
    revoked_reason: Mapped[str | None] = mapped_column(String(20))

    user: Mapped[User] = relationship()
