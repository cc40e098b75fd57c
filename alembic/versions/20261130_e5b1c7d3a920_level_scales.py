"""level scales: performance levels per fiscal year and result category or indicator

Revision ID: e5b1c7d3a920
Revises: e3b7c1d5a902
Create Date: 2026-11-30 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "e5b1c7d3a920"
down_revision: str | None = "e3b7c1d5a902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = ("policy", "action_plan", "office_standards", "onet_rt_nt", "drugs")


def upgrade() -> None:
    allowed = ", ".join(f"'{c}'" for c in CATEGORIES)
    op.create_table(
        "level_scales",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("indicator", sa.String(length=200), nullable=False),
        sa.Column("range_min", sa.Float(), nullable=False),
        sa.Column("range_max", sa.Float(), nullable=False),
        sa.Column("source_note", sa.String(length=500), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
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
        sa.CheckConstraint(f"category IN ({allowed})", name="ck_category_allowed"),
        sa.CheckConstraint("range_min < range_max", name="ck_level_scales_range"),
        sa.PrimaryKeyConstraint("id", name=op.f("level_scales_pkey")),
        sa.UniqueConstraint("fiscal_year", "category", "indicator", name="uq_level_scales_key"),
    )
    op.create_index("ix_level_scales_fiscal_year", "level_scales", ["fiscal_year"])
    op.create_table(
        "performance_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scale_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("name_th", sa.String(length=60), nullable=False),
        sa.Column("name_en", sa.String(length=60), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=False),
        sa.CheckConstraint("position BETWEEN 1 AND 10", name="ck_performance_levels_position"),
        sa.ForeignKeyConstraint(
            ["scale_id"],
            ["level_scales.id"],
            name=op.f("performance_levels_scale_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("performance_levels_pkey")),
        sa.UniqueConstraint("scale_id", "position", name="uq_performance_levels_position"),
    )
    op.create_index("ix_performance_levels_scale_id", "performance_levels", ["scale_id"])


def downgrade() -> None:
    op.drop_index("ix_performance_levels_scale_id", table_name="performance_levels")
    op.drop_table("performance_levels")
    op.drop_index("ix_level_scales_fiscal_year", table_name="level_scales")
    op.drop_table("level_scales")
