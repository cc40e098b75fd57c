"""The dashboard read-model: backfilled on upgrade, kept by its triggers, gone on downgrade.

Run on a database of its own: down to the revision before, reports written as the workflow
engine writes them, up (backfill), then every write the triggers follow, then down and up.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.localdb import Cluster

from ..support.databases import drop_database, prepared_database

BEFORE = "e3c7a1f5b920"


def _alembic(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _report(conn: sa.Connection, office: int, item: int, state: str, kind: str = "progress") -> int:
    rid = conn.scalar(
        sa.text(
            "INSERT INTO workflow_reports (kind, office_id, fiscal_year, subject, subject_id, period)"
            " VALUES (:k, :o, 2567, :s, :i, 1) RETURNING id"
        ),
        {"k": kind, "o": office, "s": f"item:{item}:round:1", "i": item},
    )
    vid = conn.scalar(
        sa.text(
            "INSERT INTO workflow_revisions (report_id, revision_no, state, level, data, source,"
            " version) VALUES (:r, 1, :st, 0, '{}', 'manual', 1) RETURNING id"
        ),
        {"r": rid, "st": state},
    )
    approved = vid if state == "approved" else None
    conn.execute(
        sa.text(
            "UPDATE workflow_reports SET current_revision_id = :v, approved_revision_id = :a"
            " WHERE id = :r"
        ),
        {"v": vid, "a": approved, "r": rid},
    )
    return int(rid)


def _cells(conn: sa.Connection) -> dict[int, str]:
    return dict(conn.execute(sa.text("SELECT report_id, status FROM dashboard_cells")).all())  # type: ignore[arg-type]


def test_read_model_backfills_follows_every_write_and_goes(pg_cluster: Cluster) -> None:
    url = prepared_database(pg_cluster, "pinmap_dashboard_cells")
    engine = make_engine(url)
    try:
        command.downgrade(_alembic(url), BEFORE)
        with engine.begin() as conn:
            assert conn.scalar(sa.text("SELECT to_regclass('dashboard_cells')")) is None
            offices = list(conn.scalars(sa.text("SELECT id FROM offices ORDER BY id LIMIT 3")))
            item = conn.scalar(sa.text("SELECT id FROM policy_items ORDER BY id LIMIT 1"))
            draft = _report(conn, offices[0], item, "draft")
            approved = _report(conn, offices[1], item, "approved")
            other_kind = _report(conn, offices[2], item, "submitted", kind="plan")
        command.upgrade(_alembic(url), "head")
        with engine.begin() as conn:
            assert _cells(conn) == {draft: "draft", approved: "approved"}  # progress only
            row = conn.execute(
                sa.text(
                    "SELECT fiscal_year, office_id, item_id, round_no FROM dashboard_cells"
                    " WHERE report_id = :r"
                ),
                {"r": draft},
            ).one()
            assert tuple(row) == (2567, offices[0], item, 1)
            # A new report, a state change, a new current revision over an approved one.
            new = _report(conn, offices[2], item, "submitted")
            conn.execute(
                sa.text("UPDATE workflow_revisions SET state = 'returned' WHERE report_id = :r"),
                {"r": draft},
            )
            vid = conn.scalar(
                sa.text(
                    "INSERT INTO workflow_revisions (report_id, revision_no, state, level, data,"
                    " source, version) VALUES (:r, 2, 'draft', 0, '{}', 'manual', 1) RETURNING id"
                ),
                {"r": approved},
            )
            conn.execute(
                sa.text("UPDATE workflow_reports SET current_revision_id = :v WHERE id = :r"),
                {"v": vid, "r": approved},
            )
            assert _cells(conn) == {draft: "returned", approved: "approved", new: "submitted"}
            # Un-approved: the draft is what stands.
            conn.execute(
                sa.text("UPDATE workflow_reports SET approved_revision_id = NULL WHERE id = :r"),
                {"r": approved},
            )
            conn.execute(sa.text("DELETE FROM workflow_reports WHERE id = :r"), {"r": new})
            assert _cells(conn) == {draft: "returned", approved: "draft"}
            assert other_kind not in _cells(conn)
        command.downgrade(_alembic(url), BEFORE)
        with engine.begin() as conn:
            assert conn.scalar(sa.text("SELECT to_regclass('dashboard_cells')")) is None
            # Writes work without the triggers' functions.
            conn.execute(sa.text("UPDATE workflow_revisions SET state = 'submitted'"))
        command.upgrade(_alembic(url), "head")
        with engine.begin() as conn:
            assert _cells(conn) == {draft: "submitted", approved: "submitted"}
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
