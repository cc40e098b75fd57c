"""the reporting framework as data: item sets, sub-items, fields and rounds per item

Revision ID: b7e2c4a9d1f0
Revises: 4b8e2f6a1d57
Create Date: 2026-11-30 10:30:00

Existing items become items of two sets per fiscal year (policy, quick_win: the codes their
`kind` already holds), ask for what the progress form asked so far (the four-part narrative,
the indicator, evidence) in every round, and keep their ids, so every report keeps its item.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "b7e2c4a9d1f0"
down_revision: str | None = "4b8e2f6a1d57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: the migration must not change when the application's defaults do.
_SETS = (
    ("policy", 1, "นโยบายและจุดเน้น", "Policy and focus"),
    ("quick_win", 2, "นโยบายเร่งด่วน (Quick Win)", "Quick Win"),
)
_NO = r"^[1-9][0-9]{0,2}(\.[1-9][0-9]{0,2}){0,7}$"


def upgrade() -> None:
    # "2" < "4.1" < "10": item numbers compare as numbers wherever they are sorted.
    op.execute(
        "CREATE COLLATION IF NOT EXISTS item_number (provider = icu, locale = 'und-u-kn-true')"
    )
    op.create_table(
        "item_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("title_th", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.CheckConstraint("code ~ '^[a-z][a-z0-9_]{1,29}$'", name="ck_item_set_code"),
        sa.ForeignKeyConstraint(["fiscal_year"], ["fiscal_years.year_be"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fiscal_year", "code"),
    )
    op.drop_constraint("ck_kind_allowed", "policy_items", type_="check")
    op.alter_column("policy_items", "kind", type_=sa.String(length=30))
    op.alter_column(
        "policy_items",
        "no",
        type_=sa.String(length=40, collation="item_number"),
        postgresql_using="no::text",
    )
    op.add_column("policy_items", sa.Column("set_id", sa.Integer(), nullable=True))
    op.add_column("policy_items", sa.Column("parent_id", sa.Integer(), nullable=True))
    op.add_column(
        "policy_items",
        sa.Column(
            "fields",
            postgresql.ARRAY(sa.String(length=20)),
            nullable=False,
            server_default="{narrative,indicator,evidence}",
        ),
    )
    op.add_column(
        "policy_items",
        sa.Column(
            "rounds", postgresql.ARRAY(sa.SmallInteger()), nullable=False, server_default="{}"
        ),
    )
    op.add_column(
        "policy_items",
        sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_foreign_key(
        "policy_items_set_id_fkey", "policy_items", "item_sets", ["set_id"], ["id"]
    )
    op.create_foreign_key(
        "policy_items_parent_id_fkey", "policy_items", "policy_items", ["parent_id"], ["id"]
    )
    op.create_index(op.f("ix_policy_items_set_id"), "policy_items", ["set_id"])
    op.create_index(op.f("ix_policy_items_parent_id"), "policy_items", ["parent_id"])
    op.create_check_constraint("ck_item_no", "policy_items", f"no ~ '{_NO}'")

    conn = op.get_bind()
    for code, position, title_th, title_en in _SETS:
        conn.execute(
            sa.text(
                "INSERT INTO item_sets (fiscal_year, code, position, title_th, title_en) "
                "SELECT DISTINCT fiscal_year, :code, :position, :th, :en FROM policy_items "
                "WHERE kind = :code"
            ),
            {"code": code, "position": position, "th": title_th, "en": title_en},
        )
    conn.execute(
        sa.text(
            "UPDATE policy_items i SET set_id = s.id FROM item_sets s "
            "WHERE s.fiscal_year = i.fiscal_year AND s.code = i.kind"
        )
    )
    op.alter_column("policy_items", "set_id", nullable=False)
    for column in ("fields", "rounds", "retired"):
        op.alter_column("policy_items", column, server_default=None)

    op.add_column(
        "progress_revisions",
        sa.Column("problems", sa.Text(), nullable=False, server_default=""),
    )
    op.add_column(
        "progress_revisions", sa.Column("likely_success", sa.String(length=10), nullable=True)
    )
    op.add_column(
        "progress_revisions",
        sa.Column("served_goal", sa.Text(), nullable=False, server_default=""),
    )
    for column in ("problems", "served_goal"):
        op.alter_column("progress_revisions", column, server_default=None)
    op.create_check_constraint(
        "ck_likely_success",
        "progress_revisions",
        "likely_success IS NULL OR likely_success IN ('on_track', 'at_risk', 'off_track')",
    )
    # Public API bodies are cached per process and dropped on this NOTIFY (public_data_notify).
    op.execute(
        "CREATE TRIGGER item_sets_public_data "
        "AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON item_sets "
        "FOR EACH STATEMENT EXECUTE FUNCTION pinmap_notify_public_data()"
    )


def downgrade() -> None:
    # Only a framework of top-level policy and Quick Win items fits the old schema.
    conn = op.get_bind()
    left = conn.scalar(
        sa.text(
            "SELECT count(*) FROM policy_items WHERE kind NOT IN ('policy', 'quick_win') "
            "OR no !~ '^[0-9]{1,4}$'"
        )
    )
    if left:
        raise RuntimeError(
            f"{left} item(s) are sub-items or belong to other sets; delete them first"
        )
    op.drop_constraint("ck_likely_success", "progress_revisions", type_="check")
    for column in ("served_goal", "likely_success", "problems"):
        op.drop_column("progress_revisions", column)
    op.drop_constraint("ck_item_no", "policy_items", type_="check")
    op.drop_index(op.f("ix_policy_items_parent_id"), table_name="policy_items")
    op.drop_index(op.f("ix_policy_items_set_id"), table_name="policy_items")
    op.drop_constraint("policy_items_parent_id_fkey", "policy_items", type_="foreignkey")
    op.drop_constraint("policy_items_set_id_fkey", "policy_items", type_="foreignkey")
    for column in ("retired", "rounds", "fields", "parent_id", "set_id"):
        op.drop_column("policy_items", column)
    op.alter_column("policy_items", "no", type_=sa.SmallInteger(), postgresql_using="no::smallint")
    op.alter_column("policy_items", "kind", type_=sa.String(length=10))
    op.create_check_constraint("ck_kind_allowed", "policy_items", "kind IN ('policy', 'quick_win')")
    op.drop_table("item_sets")
    op.execute("DROP COLLATION IF EXISTS item_number")
