"""reporting windows notify public data: the map's round selector is kept with the office data

The national map keeps the reporting rounds it offers (one per reporting window of a year with
a framework) per process, under the public data's generation; a write to reporting_windows
must move that generation on every process and host, as writes to the framework's tables do.

Revision ID: e3a7c5d9b214
Revises: e5b1c7d3a920
Create Date: 2026-11-30 16:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e3a7c5d9b214"
down_revision: str | None = "e5b1c7d3a920"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE TRIGGER reporting_windows_public_data "
        "AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON reporting_windows "
        "FOR EACH STATEMENT EXECUTE FUNCTION pinmap_notify_public_data()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER reporting_windows_public_data ON reporting_windows")
