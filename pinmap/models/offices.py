"""Offices and geography: clusters, provinces, amphoes, boundary imports, data loads.

Geometry is PostGIS geometry in EPSG:4326 (lon/lat axis order), each column with a GiST index.
Codes: provinces use the 2-digit DOPA code, amphoes the 4-digit DOPA code, offices the
stable ASCII code from data/offices.csv (e.g. `spp-chiangmai-2`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from .base import TimestampMixin, enum_check

OFFICE_KINDS = ("primary", "secondary")
LOCATION_PRECISIONS = ("office", "amphoe", "province")


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
    __table_args__ = (enum_check("level", ("province", "amphoe")),)

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
        enum_check("kind", OFFICE_KINDS),
        enum_check("location_precision", LOCATION_PRECISIONS),
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


class DataLoad(Base):
    """One run of `pinmap data load`: which files (by hash) went in and what they changed."""

    __tablename__ = "data_loads"

    id: Mapped[int] = mapped_column(primary_key=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    files: Mapped[dict[str, Any]] = mapped_column(JSONB)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB)
