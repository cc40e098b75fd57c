"""public data notify: statement triggers NOTIFY pinmap_public_data on writes to map tables

Every process caches the public API bodies built from these tables (pinmap.apicache) and drops
them when its listener hears this channel. A trigger catches every write path (the app, the
CLI's data load and boundary import, a psql session), on every host, at commit.

Revision ID: 4b8e2f6a1d57
Revises: 4b7e2f9a1c58
Create Date: 2026-11-30 10:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4b8e2f6a1d57"
down_revision: str | None = "4b7e2f9a1c58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies: a migration must not change when the app's constants do.
CHANNEL = "pinmap_public_data"
TABLES = (
    "offices",
    "office_provinces",
    "clusters",
    "provinces",
    "amphoes",
    "policy_dimensions",
    "policy_items",
)


def upgrade() -> None:
    # NOTIFY within one transaction folds identical payloads, so a bulk load sends one per table.
    op.execute(
        f"""
        CREATE FUNCTION pinmap_notify_public_data() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
            RETURN NULL;
        END
        $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_public_data "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION pinmap_notify_public_data()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_public_data ON {table}")
    op.execute("DROP FUNCTION pinmap_notify_public_data()")
