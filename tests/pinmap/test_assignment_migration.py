"""The item-assignment migration goes down and up again on a database of its own; up, the table
matches the model, keeps one assignee per (office, item), and deleting the assignee's account
takes their rows along."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

import pinmap.models  # noqa: F401 (registers every table on Base.metadata)
from alembic import command
from pinmap.config import PROJECT_ROOT
from pinmap.db import Base, make_engine
from pinmap.localdb import Cluster

from ..support.databases import drop_database, prepared_database

BEFORE = "d8f4a2b6c913"
INSERT = sa.text(
    "INSERT INTO item_assignments (office_id, item_id, round_no, user_id, due_on, note) "
    "VALUES (:office, :item, 1, :user, '2026-12-01', '')"
)


def _alembic(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def test_down_and_up_and_one_assignee_per_office_item(pg_cluster: Cluster) -> None:
    url = prepared_database(pg_cluster, "pinmap_assignment_migration")
    engine = make_engine(url)
    try:
        command.downgrade(_alembic(url), BEFORE)
        with engine.connect() as conn:
            assert not sa.inspect(conn).has_table("item_assignments")
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            diff = [
                d for d in compare_metadata(context, Base.metadata) if "item_assignments" in repr(d)
            ]
            assert diff == []
        with engine.begin() as conn:
            office = conn.execute(sa.text("SELECT id FROM offices ORDER BY id LIMIT 1")).scalar()
            item = conn.execute(sa.text("SELECT id FROM policy_items ORDER BY id LIMIT 1")).scalar()
            user = conn.execute(
                sa.text(
                    "INSERT INTO users (email, name, password_hash, role, office_id, active, "
                    "session_epoch, must_change_password, created_at, updated_at) VALUES "
                    "('m@example.go.th', 'm', 'x', 'office_editor', :o, true, 1, false, now(), "
                    "now()) RETURNING id"
                ),
                {"o": office},
            ).scalar()
            ids = {"office": office, "item": item, "user": user}
            conn.execute(INSERT, ids)
        with engine.begin() as conn, conn.begin_nested() as second:
            try:
                conn.execute(INSERT, ids)
                raise AssertionError("a second assignee of the same item was accepted")
            except sa.exc.IntegrityError:
                second.rollback()
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM users WHERE id = :u"), {"u": user})
            assert conn.execute(sa.text("SELECT count(*) FROM item_assignments")).scalar() == 0
        command.downgrade(_alembic(url), BEFORE)
        command.upgrade(_alembic(url), "head")
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
