"""Performance level scales: per fiscal year, a result category (or one of its indicators) read
as ordered levels (ดีเยี่ยม / ดี / …), each with an inclusive lower bound."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .base import TimestampMixin, enum_check
from .profiles import RESULT_CATEGORIES


class LevelScale(TimestampMixin, Base):
    """The levels of one category (indicator "" = every indicator of the category that has no
    scale of its own) in one fiscal year, within the indicator's range [range_min, range_max]."""

    __tablename__ = "level_scales"
    __table_args__ = (
        UniqueConstraint("fiscal_year", "category", "indicator", name="uq_level_scales_key"),
        enum_check("category", RESULT_CATEGORIES),
        CheckConstraint("range_min < range_max", name="ck_level_scales_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(SmallInteger, index=True)
    category: Mapped[str] = mapped_column(String(20))
    indicator: Mapped[str] = mapped_column(String(200), default="")
    range_min: Mapped[float] = mapped_column(Float, default=0.0)
    range_max: Mapped[float] = mapped_column(Float, default=100.0)
    source_note: Mapped[str] = mapped_column(String(500), default="")
    # False until someone checks the thresholds against OBEC's own document.
    verified: Mapped[bool] = mapped_column(Boolean, default=False)

    levels: Mapped[list[PerformanceLevel]] = relationship(
        back_populates="scale",
        order_by="PerformanceLevel.position",
        cascade="all, delete-orphan",
    )


class PerformanceLevel(Base):
    """One level of a scale; position 1 is the highest. A value is at this level when it is at
    least `min_value` and below the next higher level's `min_value`."""

    __tablename__ = "performance_levels"
    __table_args__ = (
        UniqueConstraint("scale_id", "position", name="uq_performance_levels_position"),
        CheckConstraint("position BETWEEN 1 AND 10", name="ck_performance_levels_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[int] = mapped_column(
        ForeignKey("level_scales.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    name_th: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    min_value: Mapped[float] = mapped_column(Float)

    scale: Mapped[LevelScale] = relationship(back_populates="levels")
