"""change events: audience; the entry → revision foreign keys the portal migration missed

Revision ID: d2440adec750
Revises: b708a89ba299
Create Date: 2026-11-21 05:46:36.757136
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "d2440adec750"
down_revision: str | None = "b708a89ba299"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "change_events",
        sa.Column("audience", sa.String(length=10), server_default="public", nullable=False),
    )
    op.add_column("change_events", sa.Column("office_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "fk_change_events_office", "change_events", "offices", ["office_id"], ["id"]
    )
    op.create_check_constraint(
        "ck_audience_allowed", "change_events", "audience IN ('public', 'office')"
    )
    op.create_foreign_key(
        "fk_entry_current_revision",
        "progress_entries",
        "progress_revisions",
        ["current_revision_id"],
        ["id"],
        use_alter=True,
    )
    op.create_foreign_key(
        "fk_entry_approved_revision",
        "progress_entries",
        "progress_revisions",
        ["approved_revision_id"],
        ["id"],
        use_alter=True,
    )


def downgrade() -> None:
    op.drop_constraint("fk_entry_approved_revision", "progress_entries", type_="foreignkey")
    op.drop_constraint("fk_entry_current_revision", "progress_entries", type_="foreignkey")
    op.drop_constraint("ck_audience_allowed", "change_events", type_="check")
    op.drop_constraint("fk_change_events_office", "change_events", type_="foreignkey")
    op.drop_column("change_events", "office_id")
    op.drop_column("change_events", "audience")
