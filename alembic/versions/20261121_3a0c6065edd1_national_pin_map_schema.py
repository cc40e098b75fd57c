"""national pin map schema

Revision ID: 3a0c6065edd1
Revises:
Create Date: 2026-11-21 05:18:59.011111
"""

from collections.abc import Sequence

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "3a0c6065edd1"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A no-op where PostGIS exists already; elsewhere it needs a role allowed to create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "boundary_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("source_name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source_crs", sa.String(length=100), nullable=True),
        sa.Column("feature_count", sa.Integer(), nullable=False),
        sa.Column("repaired_count", sa.Integer(), nullable=False),
        sa.Column("simplify_tolerance_deg", sa.Double(), nullable=False),
        sa.Column("attribution", sa.Text(), nullable=False),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("level IN ('province', 'amphoe')", name="ck_level_allowed"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "clusters",
        sa.Column("no", sa.SmallInteger(), nullable=False),
        sa.Column("name_th", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("no"),
    )
    op.create_table(
        "data_loads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("files", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "fiscal_years",
        sa.Column("year_be", sa.SmallInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("year_be"),
    )
    op.create_table(
        "policy_dimensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("no", sa.SmallInteger(), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("title_th", sa.String(length=300), nullable=False),
        sa.Column("title_en", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["fiscal_year"], ["fiscal_years.year_be"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fiscal_year", "key"),
        sa.UniqueConstraint("fiscal_year", "no"),
    )
    op.create_geospatial_table(
        "provinces",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("name_th", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("cluster_no", sa.SmallInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "geom_web",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("boundary_import_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["boundary_import_id"],
            ["boundary_imports.id"],
        ),
        sa.ForeignKeyConstraint(
            ["cluster_no"],
            ["clusters.no"],
        ),
        sa.PrimaryKeyConstraint("code"),
        sa.UniqueConstraint("name_th"),
    )
    op.create_geospatial_index(
        "idx_provinces_geom",
        "provinces",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_index(
        "idx_provinces_geom_web",
        "provinces",
        ["geom_web"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_table(
        "amphoes",
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("name_th", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "geom_web",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("boundary_import_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["boundary_import_id"],
            ["boundary_imports.id"],
        ),
        sa.ForeignKeyConstraint(
            ["province_code"],
            ["provinces.code"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_geospatial_index(
        "idx_amphoes_geom",
        "amphoes",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_index(
        "idx_amphoes_geom_web",
        "amphoes",
        ["geom_web"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_amphoes_province_code"), "amphoes", ["province_code"], unique=False)
    op.create_geospatial_table(
        "offices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name_th", sa.String(length=200), nullable=False),
        sa.Column("name_full_th", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("office_province_code", sa.String(length=2), nullable=False),
        sa.Column("office_amphoe_th", sa.String(length=100), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("location_precision", sa.String(length=10), nullable=False),
        sa.Column("location_note", sa.Text(), nullable=False),
        sa.Column("cluster_no", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('primary', 'secondary')", name="ck_kind_allowed"),
        sa.CheckConstraint(
            "location_precision IN ('office', 'amphoe', 'province')",
            name="ck_location_precision_allowed",
        ),
        sa.ForeignKeyConstraint(
            ["cluster_no"],
            ["clusters.no"],
        ),
        sa.ForeignKeyConstraint(
            ["office_province_code"],
            ["provinces.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("name_th"),
    )
    op.create_geospatial_index(
        "idx_offices_geom",
        "offices",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_offices_cluster_no"), "offices", ["cluster_no"], unique=False)
    op.create_index(
        op.f("ix_offices_office_province_code"), "offices", ["office_province_code"], unique=False
    )
    op.create_table(
        "policy_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("no", sa.SmallInteger(), nullable=False),
        sa.Column("title_th", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("dimension_id", sa.Integer(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("source_note", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('policy', 'quick_win')", name="ck_kind_allowed"),
        sa.ForeignKeyConstraint(
            ["dimension_id"],
            ["policy_dimensions.id"],
        ),
        sa.ForeignKeyConstraint(["fiscal_year"], ["fiscal_years.year_be"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fiscal_year", "kind", "no"),
    )
    op.create_table(
        "office_provinces",
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["office_id"], ["offices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["province_code"],
            ["provinces.code"],
        ),
        sa.PrimaryKeyConstraint("office_id", "province_code"),
    )


def downgrade() -> None:
    op.drop_table("office_provinces")
    op.drop_table("policy_items")
    op.drop_index(op.f("ix_offices_office_province_code"), table_name="offices")
    op.drop_index(op.f("ix_offices_cluster_no"), table_name="offices")
    op.drop_geospatial_index(
        "idx_offices_geom", table_name="offices", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("offices")
    op.drop_index(op.f("ix_amphoes_province_code"), table_name="amphoes")
    op.drop_geospatial_index(
        "idx_amphoes_geom_web",
        table_name="amphoes",
        postgresql_using="gist",
        column_name="geom_web",
    )
    op.drop_geospatial_index(
        "idx_amphoes_geom", table_name="amphoes", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("amphoes")
    op.drop_geospatial_index(
        "idx_provinces_geom_web",
        table_name="provinces",
        postgresql_using="gist",
        column_name="geom_web",
    )
    op.drop_geospatial_index(
        "idx_provinces_geom", table_name="provinces", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("provinces")
    op.drop_table("policy_dimensions")
    op.drop_table("fiscal_years")
    op.drop_table("data_loads")
    op.drop_table("clusters")
    op.drop_table("boundary_imports")
