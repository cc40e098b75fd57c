"""help centre: news, the document library (with its versions) and the contact details

Revision ID: e3b7c1d5a902
Revises: e5b1c7d9a2f4
Create Date: 2026-11-30 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "e3b7c1d5a902"
down_revision: str | None = "e5b1c7d9a2f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIENCE = "audience IN ('public', 'signed_in')"


def _stamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _user(column: str) -> sa.Column:
    return sa.Column(column, sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"))


def upgrade() -> None:
    op.create_table(
        "help_news",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(10), nullable=False),
        sa.Column("publish_from", sa.Date(), nullable=False),
        sa.Column("publish_until", sa.Date()),
        sa.Column("pinned", sa.Boolean(), server_default=sa.false(), nullable=False),
        _user("created_by_id"),
        *_stamps(),
        sa.CheckConstraint(AUDIENCE, name="ck_audience_allowed"),
        sa.CheckConstraint(
            "publish_until IS NULL OR publish_until >= publish_from", name="ck_news_dates"
        ),
    )
    op.create_index("ix_help_news_shown", "help_news", ["publish_from", "publish_until"])
    op.create_table(
        "help_documents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("audience", sa.String(10), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        _user("created_by_id"),
        *_stamps(),
        sa.CheckConstraint(AUDIENCE, name="ck_audience_allowed"),
    )
    op.create_index("ix_help_documents_category", "help_documents", ["category"])
    op.create_index("ix_help_documents_fiscal_year", "help_documents", ["fiscal_year"])
    op.create_table(
        "help_document_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "document_id",
            sa.Integer(),
            sa.ForeignKey("help_documents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(2000)),
        sa.Column("stored_name", sa.String(100)),
        sa.Column("original_name", sa.String(255), nullable=False),
        sa.Column("mime", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _user("created_by_id"),
        sa.UniqueConstraint("document_id", "version_no", name="uq_help_document_version"),
        sa.CheckConstraint("(url IS NULL) <> (stored_name IS NULL)", name="ck_file_or_link"),
    )
    op.create_table(
        "help_contact",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("office_name", sa.String(300), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(100), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("hours", sa.String(300), nullable=False),
        sa.Column("groups", postgresql.JSONB(), nullable=False),
        sa.Column("confirmed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _user("updated_by_id"),
        sa.CheckConstraint("id = 1", name="ck_help_contact_one_row"),
    )


def downgrade() -> None:
    op.drop_table("help_contact")
    op.drop_table("help_document_versions")
    op.drop_table("help_documents")
    op.drop_table("help_news")
