"""The fiscal year's item catalogue and progress reporting: windows, reopenings, evidence.

A progress report itself is a workflow report of kind "progress" (models/workflow.py)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from ..db import Base
from .base import enum_check

# Names for the annotations only: SQLAlchemy resolves them through its class registry.
if TYPE_CHECKING:
    from .workflow import WorkflowRevision

# The two item sets every year before FY2570 had; an item's `kind` is its set's code, and these
# two codes keep the map's "item:<kind>:<no>" keys and the API's item_kind working.
ITEM_KINDS = ("policy", "quick_win")
# The sets a new framework starts from (seed 001 §6.2, seed 000); an admin may add others.
STANDARD_SETS: tuple[tuple[str, str, str], ...] = (
    ("policy", "นโยบายและจุดเน้น", "Policy and focus"),
    ("quick_win", "นโยบายเร่งด่วน (Quick Win)", "Quick Win"),
    ("action_plan", "ตัวชี้วัดแผนปฏิบัติราชการ สพฐ.", "OBEC action-plan indicator"),
    ("office_standard", "มาตรฐานสำนักงานเขตพื้นที่การศึกษา", "ESA office standard"),
    ("inspection", "ประเด็นการตรวจราชการ", "Inspection topic"),
)
SET_CODE_PATTERN = r"[a-z][a-z0-9_]{1,29}"
# An item's number within its set: "4", and its sub-items "4.1", "4.1.2", ... (any depth).
ITEM_NO_PATTERN = r"[1-9][0-9]{0,2}(\.[1-9][0-9]{0,2}){0,7}"
# What a report on an item may carry; an item asks for a subset, in this order on the form.
ITEM_FIELDS = (
    "narrative",  # what / where / how / result (the four-part narrative)
    "problems",  # problems, obstacles, suggestions
    "likely_success",  # on track / at risk / off track
    "indicator",  # value vs target, unit, achieved
    "served_goal",  # how the work served the goal
    "evidence",  # links and files
    "story_image",  # a story or summary infographic (as an evidence file)
)
DEFAULT_FIELDS = ("narrative", "indicator", "evidence")
LIKELY_SUCCESS = ("on_track", "at_risk", "off_track")
# Numbers sort as numbers ("2" < "4.1" < "10"): an ICU collation created by migration b7e2c4a9d1f0.
ITEM_NO_COLLATION = "item_number"


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


class ItemNumber(TypeDecorator[str]):
    """An item's number as text; an int given where a number is compared or stored (the API's
    item_no, older callers) is taken as its text, so "no = 4" still finds item "4"."""

    impl = String(40, collation=ITEM_NO_COLLATION)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else str(value)


class ItemSet(Base):
    """A set of items in one fiscal year's framework (policy & focus, Quick Win, standards, ...)."""

    __tablename__ = "item_sets"
    __table_args__ = (
        UniqueConstraint("fiscal_year", "code"),
        CheckConstraint(f"code ~ '^{SET_CODE_PATTERN}$'", name="ck_item_set_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(ForeignKey("fiscal_years.year_be", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(30))
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
    title_th: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)

    items: Mapped[list[PolicyItem]] = relationship(
        back_populates="item_set", order_by="PolicyItem.no"
    )


class PolicyItem(Base):
    """An item (or sub-item) of a set in one fiscal year's framework: what offices report on.

    `kind` repeats the set's code and `no` is the number within the set ("4", "4.1"), so
    (fiscal_year, kind, no) names an item in addresses, the map and the API.
    """

    __tablename__ = "policy_items"
    __table_args__ = (
        UniqueConstraint("fiscal_year", "kind", "no"),
        CheckConstraint(f"no ~ '^{ITEM_NO_PATTERN}$'", name="ck_item_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(ForeignKey("fiscal_years.year_be", ondelete="CASCADE"))
    set_id: Mapped[int] = mapped_column(ForeignKey("item_sets.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("policy_items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    no: Mapped[str] = mapped_column(ItemNumber())
    # The report fields this item asks for (ITEM_FIELDS), and the rounds it is reported in
    # (empty: every round of the year).
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list(DEFAULT_FIELDS))
    rounds: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), default=list)
    # A retired item is asked no more; its reports stay readable (an item with reports is
    # never deleted).
    retired: Mapped[bool] = mapped_column(default=False)
    title_th: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    dimension_id: Mapped[int | None] = mapped_column(ForeignKey("policy_dimensions.id"))
    # False until the wording is checked against OBEC's official document for that year.
    verified: Mapped[bool]
    source_note: Mapped[str] = mapped_column(Text, default="")

    dimension: Mapped[PolicyDimension | None] = relationship()
    item_set: Mapped[ItemSet] = relationship(back_populates="items")

    @property
    def depth(self) -> int:
        return self.no.count(".")

    @property
    def parent_no(self) -> str | None:
        return self.no.rsplit(".", 1)[0] if "." in self.no else None

    def asked_in(self, round_no: int) -> bool:
        """Whether offices report on this item in `round_no` (never once retired)."""
        return not self.retired and (not self.rounds or round_no in self.rounds)

    def asks(self, field: str) -> bool:
        return field in (self.fields or ())


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


class Evidence(Base):
    """A link or an uploaded file supporting a progress report's workflow revision (a new
    revision starts with copies of its predecessor's); files live outside static/."""

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
        ForeignKey("workflow_revisions.id", ondelete="CASCADE", name="fk_evidence_revision_id"),
        index=True,
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

    # The workflow model stays kind-neutral: the evidence list is added to it from here.
    revision: Mapped[WorkflowRevision] = relationship(
        backref=backref("evidence", order_by="Evidence.id", cascade="all, delete-orphan")
    )
