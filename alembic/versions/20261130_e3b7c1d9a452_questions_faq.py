"""questions and the FAQ; notification language and daily-digest deliveries

Revision ID: e3b7c1d9a452
Revises: f2c8d4a6b190
Create Date: 2026-11-30 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "e3b7c1d9a452"
down_revision: str | None = "f2c8d4a6b190"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = ("reporting", "system", "indicators", "documents", "coaching", "other")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    # Trusted since PostgreSQL 13: the database's owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("asker_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answer_version", sa.Integer(), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(_in("category", CATEGORIES), name="ck_category_allowed"),
        sa.CheckConstraint(_in("status", ("open", "answered")), name="ck_status_allowed"),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("questions_office_id_fkey")
        ),
        sa.ForeignKeyConstraint(
            ["asker_id"], ["users.id"], name=op.f("questions_asker_id_fkey"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["users.id"],
            name=op.f("questions_answered_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("questions_pkey")),
    )
    op.create_index("ix_questions_office_id", "questions", ["office_id"])
    op.create_index(
        "ix_questions_open",
        "questions",
        ["created_at"],
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "faq_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "published_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(_in("category", CATEGORIES), name="ck_category_allowed"),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("faq_entries_question_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["users.id"],
            name=op.f("faq_entries_published_by_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("faq_entries_pkey")),
        sa.UniqueConstraint("question_id", name=op.f("faq_entries_question_id_key")),
    )
    op.create_index("ix_faq_entries_category", "faq_entries", ["category"])
    op.create_index(
        "ix_faq_entries_search",
        "faq_entries",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.add_column(
        "notification_preferences",
        sa.Column("language", sa.String(length=2), server_default="th", nullable=False),
    )
    op.create_check_constraint(
        "ck_language_allowed", "notification_preferences", _in("language", ("th", "en"))
    )
    op.add_column(
        "notification_deliveries",
        sa.Column("digest", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        "ix_notification_deliveries_digest",
        "notification_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending' AND digest"),
    )


def downgrade() -> None:
    op.drop_index("ix_notification_deliveries_digest", table_name="notification_deliveries")
    op.drop_column("notification_deliveries", "digest")
    op.drop_constraint("ck_language_allowed", "notification_preferences", type_="check")
    op.drop_column("notification_preferences", "language")
    op.drop_table("faq_entries")
    op.drop_table("questions")
