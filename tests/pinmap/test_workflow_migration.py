"""The workflow migration carries ingested quarterly reports into projects and approved reports.

Run on a database of its own: down to the revision before, ingested reports written as
ingestion wrote them, then up again.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.localdb import Cluster

from ..support.databases import drop_database, prepared_database

BEFORE = "9e4d7a1c2b30"
WORKFLOW = "4b7e2f9a1c58"
RETIRE_BEFORE = "c3a9d5e1f7b2"


def _alembic(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def test_ingested_quarterly_reports_are_carried_over(pg_cluster: Cluster) -> None:
    url = prepared_database(pg_cluster, "pinmap_wf_migration")
    engine = make_engine(url)
    try:
        command.downgrade(_alembic(url), BEFORE)
        with engine.begin() as conn:
            q = conn.execute
            office = q(sa.text("SELECT id FROM offices WHERE code = 'spp-krabi'")).scalar_one()
            source = q(
                sa.text(
                    "INSERT INTO ingest_sources (name, kind, url, credentials_env, cron, "
                    "timeout_seconds, options, pre_approved, enabled, created_at, updated_at) "
                    "VALUES ('demo-q', 'quarterly-json', 'http://127.0.0.1/q', '', '', 30, "
                    "'{}', false, true, now(), now()) RETURNING id"
                )
            ).scalar_one()
            rows: list[dict[str, Any]] = [
                # Two quarters of one project, a second project, and the same quarter twice
                # (two source records): the newer one wins.
                {
                    "rid": "a1",
                    "q": 1,
                    "p": "โครงการ ก",
                    "planned": 1000,
                    "done": 100,
                    "at": "2024-01-10",
                },
                {
                    "rid": "a2",
                    "q": 2,
                    "p": "โครงการ ก",
                    "planned": 1200,
                    "done": 400,
                    "at": "2024-04-10",
                },
                {
                    "rid": "b1",
                    "q": 1,
                    "p": "โครงการ ข",
                    "planned": None,
                    "done": None,
                    "at": "2024-01-11",
                },
                {
                    "rid": "b1-old",
                    "q": 1,
                    "p": "โครงการ ข",
                    "planned": None,
                    "done": None,
                    "at": "2023-12-01",
                },
            ]
            for r in rows:
                q(
                    sa.text(
                        "INSERT INTO quarterly_reports (office_id, source_id, source_record_id, "
                        "fiscal_year, quarter, project, points, budget_planned, budget_disbursed, "
                        "source_updated_at) VALUES (:o, :s, :rid, 2567, :q, :p, "
                        "CAST(:points AS jsonb), :planned, :done, CAST(:at AS timestamptz))"
                    ),
                    {
                        "o": office,
                        "s": source,
                        **r,
                        "points": json.dumps({"target_progress": r["rid"], "nesdp13": "หมุด"}),
                    },
                )
        command.upgrade(_alembic(url), WORKFLOW)
        with engine.connect() as conn:
            projects = conn.execute(
                sa.text("SELECT name, budget_planned, source FROM projects ORDER BY name")
            ).all()
            assert [(p[0], p[1] and float(p[1]), p[2]) for p in projects] == [
                ("โครงการ ก", 1200.0, "ingest:demo-q"),
                ("โครงการ ข", None, "ingest:demo-q"),
            ]
            reports = conn.execute(
                sa.text(
                    "SELECT p.name, r.period, v.state, v.level, v.data->>'target_progress', "
                    "v.data->>'nesdp13', (v.data->>'budget_disbursed')::float, "
                    "r.approved_revision_id = v.id "
                    "FROM workflow_reports r JOIN projects p ON p.id = r.subject_id "
                    "JOIN workflow_revisions v ON v.id = r.current_revision_id "
                    "ORDER BY p.name, r.period"
                )
            ).all()
            assert [tuple(r) for r in reports] == [
                ("โครงการ ก", 1, "approved", 3, "a1", "หมุด", 100.0, True),
                ("โครงการ ก", 2, "approved", 3, "a2", "หมุด", 400.0, True),
                ("โครงการ ข", 1, "approved", 3, "b1", "หมุด", None, True),
            ]
            trail = conn.execute(
                sa.text("SELECT action, to_state, comment FROM workflow_events ORDER BY id")
            ).all()
            assert len(trail) == 3 and all(t[0] == "approve" for t in trail)
            assert trail[0][2] == "carried over from ingest:demo-q"
            # The old table stays for ingestion; the carried rows are linked, so nothing shows twice.
            assert conn.execute(sa.text("SELECT count(*) FROM quarterly_reports")).scalar() == 4
        command.upgrade(_alembic(url), "head")
        # Down and up again: the tables go, and come back with the same content.
        command.downgrade(_alembic(url), BEFORE)
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM workflow_reports")).scalar() == 3
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)


def _quarterly_row(conn: sa.Connection, office: int, source: int, r: dict[str, Any]) -> int:
    return int(
        conn.execute(
            sa.text(
                "INSERT INTO quarterly_reports (office_id, source_id, source_record_id, "
                "fiscal_year, quarter, project, points, budget_planned, budget_disbursed, "
                "source_updated_at) VALUES (:o, :s, :rid, 2567, :q, :p, CAST(:points AS jsonb), "
                ":planned, :done, CAST(:at AS timestamptz)) RETURNING id"
            ),
            {
                "o": office,
                "s": source,
                **r,
                "points": json.dumps({"target_progress": r["rid"], "nesdp13": "หมุด"}),
            },
        ).scalar_one()
    )


def _remember(conn: sa.Connection, source: int, rid: str, target_id: int, at: str) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO ingest_records (source_id, source_record_id, source_updated_at, "
            "payload_sha256, target, target_id) VALUES (:s, :rid, CAST(:at AS timestamptz), "
            ":sha, 'quarterly_report', :t)"
        ),
        {"s": source, "rid": rid, "at": at, "sha": "0" * 64, "t": target_id},
    )


def test_quarterly_reports_table_is_retired_into_the_engine(pg_cluster: Cluster) -> None:
    """Rows ingested after the workflow migration are carried too, bookkeeping follows them,
    and the table goes; downgrade rebuilds it from the ingested revisions."""
    url = prepared_database(pg_cluster, "pinmap_q_retire")
    engine = make_engine(url)
    try:
        command.downgrade(_alembic(url), BEFORE)
        with engine.begin() as conn:
            office = conn.execute(
                sa.text("SELECT id FROM offices WHERE code = 'spp-krabi'")
            ).scalar_one()
            source = conn.execute(
                sa.text(
                    "INSERT INTO ingest_sources (name, kind, url, credentials_env, cron, "
                    "timeout_seconds, options, pre_approved, enabled, created_at, updated_at) "
                    "VALUES ('demo-q', 'quarterly-json', 'http://127.0.0.1/q', '', '', 30, "
                    "'{}', false, true, now(), now()) RETURNING id"
                )
            ).scalar_one()
            a1 = {"rid": "a1", "q": 1, "p": "โครงการ ก", "planned": 1000, "done": 100}
            first = _quarterly_row(conn, office, source, {**a1, "at": "2024-01-10"})
            _remember(conn, source, "a1", first, "2024-01-10")
        command.upgrade(_alembic(url), RETIRE_BEFORE)  # a1 carried by the workflow migration
        with engine.begin() as conn:
            # Ingested afterwards: a newer version of a1's quarter, and a new project.
            newer = _quarterly_row(
                conn, office, source, {**a1, "rid": "a1-v2", "done": 300, "at": "2024-02-01"}
            )
            _remember(conn, source, "a1-v2", newer, "2024-02-01")
            b = {"rid": "b2", "q": 2, "p": "โครงการ ข", "planned": None, "done": 5}
            new = _quarterly_row(conn, office, source, {**b, "at": "2024-04-01"})
            _remember(conn, source, "b2", new, "2024-04-01")
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT to_regclass('quarterly_reports') IS NULL")).scalar()
            reports = conn.execute(
                sa.text(
                    "SELECT p.name, r.period, v.revision_no, v.state, v.level, "
                    "(v.data->>'budget_disbursed')::float, v.data->>'target_progress', "
                    "r.approved_revision_id = v.id "
                    "FROM workflow_reports r JOIN projects p ON p.id = r.subject_id "
                    "JOIN workflow_revisions v ON v.id = r.current_revision_id "
                    "ORDER BY p.name, r.period"
                )
            ).all()
            assert [tuple(r) for r in reports] == [
                ("โครงการ ก", 1, 2, "approved", 3, 300.0, "a1-v2", True),
                ("โครงการ ข", 2, 1, "approved", 3, 5.0, "b2", True),
            ]
            # The earlier approved revision stays in the history.
            assert conn.execute(sa.text("SELECT count(*) FROM workflow_revisions")).scalar() == 3
            # Bookkeeping points at the approved revision of each record's quarter.
            kept = conn.execute(
                sa.text(
                    "SELECT i.source_record_id, i.target, v.data->>'target_progress' "
                    "FROM ingest_records i JOIN workflow_revisions v ON v.id = i.target_id "
                    "ORDER BY 1"
                )
            ).all()
            assert [tuple(k) for k in kept] == [
                ("a1", "workflow_revision", "a1-v2"),
                ("a1-v2", "workflow_revision", "a1-v2"),
                ("b2", "workflow_revision", "b2"),
            ]
            trail = conn.execute(
                sa.text("SELECT count(*) FROM workflow_events WHERE action = 'approve'")
            ).scalar()
            assert trail == 3
        command.downgrade(_alembic(url), RETIRE_BEFORE)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT source_record_id, quarter, project, points->>'target_progress' "
                    "FROM quarterly_reports ORDER BY 1"
                )
            ).all()
            assert [tuple(r) for r in rows] == [
                ("a1", 1, "โครงการ ก", "a1-v2"),
                ("a1-v2", 1, "โครงการ ก", "a1-v2"),
                ("b2", 2, "โครงการ ข", "b2"),
            ]
            assert (
                conn.execute(
                    sa.text("SELECT count(*) FROM ingest_records WHERE target = 'quarterly_report'")
                ).scalar()
                == 3
            )
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM workflow_reports")).scalar() == 2
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
