"""The questions migration: down to the notifications revision and up again keeps existing
preferences and deliveries (Thai and no digest by default), and the FAQ's trigram index serves
a substring search; then down and up once more.

Run on a database of its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.localdb import Cluster

from ..support.databases import drop_database, prepared_database

BEFORE = "f2c8d4a6b190"


def _alembic(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def test_preferences_and_deliveries_survive_and_the_faq_is_indexed(pg_cluster: Cluster) -> None:
    url = prepared_database(pg_cluster, "pinmap_questions_migration")
    engine = make_engine(url)
    try:
        command.downgrade(_alembic(url), BEFORE)
        with engine.begin() as conn:
            uid = conn.execute(
                sa.text(
                    "INSERT INTO users (email, name, password_hash, role, active, session_epoch, "
                    "must_change_password) VALUES ('mig@example.go.th', 'm', 'x', 'admin', true, "
                    "1, false) RETURNING id"
                )
            ).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO notification_preferences (user_id, email_off, daily_digest) "
                    "VALUES (:u, '[]', true)"
                ),
                {"u": uid},
            )
            nid = conn.execute(
                sa.text(
                    "INSERT INTO notifications (user_id, kind, subject, occasion, params, link) "
                    "VALUES (:u, 'question_answered', 'question:1', 'answered', '{}', '') "
                    "RETURNING id"
                ),
                {"u": uid},
            ).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO notification_deliveries (notification_id, channel, status, "
                    "attempts, last_error) VALUES (:n, 'email', 'pending', 0, '')"
                ),
                {"n": nid},
            )
        for _ in range(2):
            command.upgrade(_alembic(url), "head")
            with engine.begin() as conn:
                assert conn.execute(
                    sa.text("SELECT language, daily_digest FROM notification_preferences")
                ).one() == ("th", True)
                assert (
                    conn.execute(sa.text("SELECT digest FROM notification_deliveries")).scalar_one()
                    is False
                )
                with conn.begin_nested():
                    conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
                    plan = "\n".join(
                        conn.execute(
                            sa.text(
                                "EXPLAIN SELECT id FROM faq_entries "
                                "WHERE search_text LIKE '%รายงาน%'"
                            )
                        ).scalars()
                    )
                assert "ix_faq_entries_search" in plan, plan
            command.downgrade(_alembic(url), BEFORE)
            with engine.connect() as conn:
                tables = set(sa.inspect(conn).get_table_names())
                assert "questions" not in tables and "faq_entries" not in tables
        command.upgrade(_alembic(url), "head")
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
