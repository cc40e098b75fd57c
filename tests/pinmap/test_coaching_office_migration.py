"""The coaching-to-office migration: plans and visit records made before it keep their rows (an
empty agenda, records not yet published), and it goes down and up again cleanly.

Run on a database of its own."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.localdb import Cluster

from ..support.databases import drop_database, prepared_database

BEFORE = "e3a7c5d9b214"
TABLES = ("visit_follow_ups", "follow_up_acks", "follow_up_reports", "evaluation_findings")


def _alembic(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _insert_plan_and_record(conn: sa.Connection) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO visit_plans (round_id, cluster_no, host_office_id, state, team, "
            "distance_basis, version) SELECT r.id, o.cluster_no, o.id, 'published', 'ทีม', "
            "'great_circle', 1 FROM monitoring_rounds r, offices o "
            "WHERE r.fiscal_year = 2567 AND r.round_no = 2 AND o.code = 'spp-krabi'"
        )
    )
    conn.execute(
        sa.text(
            "INSERT INTO visit_records (plan_id, visited_on, team, attendees, notes, follow_ups) "
            "SELECT max(id), '2024-03-20', '', '', 'พบว่า', 'ส่งแผน' FROM visit_plans"
        )
    )


def test_old_plans_and_records_survive_and_the_migration_goes_down_and_up(
    pg_cluster: Cluster,
) -> None:
    url = prepared_database(pg_cluster, "pinmap_coaching_office_migration")
    engine = make_engine(url)
    try:
        command.downgrade(_alembic(url), BEFORE)
        with engine.begin() as conn:
            assert not any(sa.inspect(conn).has_table(t) for t in TABLES)
            _insert_plan_and_record(conn)
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            assert all(sa.inspect(conn).has_table(t) for t in TABLES)
            plan = conn.execute(sa.text("SELECT agenda FROM visit_plans")).one()
            assert plan.agenda == ""
            row = conn.execute(
                sa.text("SELECT notes, published_at, published_by_id FROM visit_records")
            ).one()
            assert row.notes == "พบว่า" and row.published_at is None
        command.downgrade(_alembic(url), BEFORE)
        with engine.connect() as conn:
            assert not any(sa.inspect(conn).has_table(t) for t in TABLES)
            cols = {c["name"] for c in sa.inspect(conn).get_columns("visit_records")}
            assert "published_at" not in cols
            assert conn.execute(sa.text("SELECT count(*) FROM visit_records")).scalar() == 1
        command.upgrade(_alembic(url), "head")
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
