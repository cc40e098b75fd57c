"""coaching reaches the office: plan agenda, published visit records, follow-ups with each
office's acknowledgement and later-round reports, evaluation findings sent to offices

Revision ID: e3c7a1f5b920
Revises: e3a7c5d9b214
Create Date: 2026-11-30 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "e3c7a1f5b920"
down_revision: str | None = "e3a7c5d9b214"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.add_column("visit_plans", sa.Column("agenda", sa.Text(), server_default="", nullable=False))
    op.add_column(
        "visit_records", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("visit_records", sa.Column("published_by_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "visit_records_published_by_id_fkey", "visit_records", "users", ["published_by_id"], ["id"]
    )
    op.create_table(
        "visit_follow_ups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "record_id",
            sa.Integer(),
            sa.ForeignKey("visit_records.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.UniqueConstraint("record_id", "position"),
    )
    op.create_index("ix_visit_follow_ups_record_id", "visit_follow_ups", ["record_id"])
    op.create_table(
        "follow_up_acks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "follow_up_id",
            sa.Integer(),
            sa.ForeignKey("visit_follow_ups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("office_id", sa.Integer(), sa.ForeignKey("offices.id"), nullable=False),
        sa.Column("by_user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.UniqueConstraint("follow_up_id", "office_id"),
    )
    op.create_index("ix_follow_up_acks_follow_up_id", "follow_up_acks", ["follow_up_id"])
    op.create_index("ix_follow_up_acks_office_id", "follow_up_acks", ["office_id"])
    op.create_table(
        "follow_up_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "follow_up_id",
            sa.Integer(),
            sa.ForeignKey("visit_follow_ups.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("office_id", sa.Integer(), sa.ForeignKey("offices.id"), nullable=False),
        sa.Column(
            "round_id",
            sa.Integer(),
            sa.ForeignKey("monitoring_rounds.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.UniqueConstraint("follow_up_id", "office_id", "round_id"),
    )
    op.create_index("ix_follow_up_reports_follow_up_id", "follow_up_reports", ["follow_up_id"])
    op.create_index("ix_follow_up_reports_office_id", "follow_up_reports", ["office_id"])
    op.create_table(
        "evaluation_findings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "round_id",
            sa.Integer(),
            sa.ForeignKey("monitoring_rounds.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("office_id", sa.Integer(), sa.ForeignKey("offices.id"), nullable=False),
        sa.Column("rows", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.UniqueConstraint("round_id", "office_id"),
    )
    op.create_index("ix_evaluation_findings_office_id", "evaluation_findings", ["office_id"])


def downgrade() -> None:
    op.drop_table("evaluation_findings")
    op.drop_table("follow_up_reports")
    op.drop_table("follow_up_acks")
    op.drop_table("visit_follow_ups")
    op.drop_constraint("visit_records_published_by_id_fkey", "visit_records", type_="foreignkey")
    op.drop_column("visit_records", "published_by_id")
    op.drop_column("visit_records", "published_at")
    op.drop_column("visit_plans", "agenda")
