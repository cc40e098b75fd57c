"""best practices: a working copy of an approved practice (replaces_id)

Revision ID: 5c1f0e2b7a91
Revises: 703107f23c0d
Create Date: 2026-11-21 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "5c1f0e2b7a91"
down_revision: str | None = "703107f23c0d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("best_practices", sa.Column("replaces_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("best_practices_replaces_id_fkey"),
        "best_practices",
        "best_practices",
        ["replaces_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_unique_constraint(
        op.f("best_practices_replaces_id_key"), "best_practices", ["replaces_id"]
    )


def downgrade() -> None:
    op.drop_constraint(op.f("best_practices_replaces_id_key"), "best_practices", type_="unique")
    op.drop_constraint(
        op.f("best_practices_replaces_id_fkey"), "best_practices", type_="foreignkey"
    )
    op.drop_column("best_practices", "replaces_id")
