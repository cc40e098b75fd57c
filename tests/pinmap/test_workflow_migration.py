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
        command.upgrade(_alembic(url), "head")
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
        # Down and up again: the tables go, and come back with the same content.
        command.downgrade(_alembic(url), BEFORE)
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM workflow_reports")).scalar() == 3
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
