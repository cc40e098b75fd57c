"""The plan migration carries operating plans in every state into workflow reports, and back.

Run on a database of its own: down to the revision before, plans written as the old service
wrote them (draft, submitted, returned, approved, and each of the first three after an earlier
approval), then up again; then down and up once more.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy.orm import Session

from alembic import command
from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.localdb import Cluster
from pinmap.models import WorkflowReport
from pinmap.services import plans
from pinmap.services import workflow as wf

from ..support.databases import drop_database, prepared_database

BEFORE = "b7e2c4a9d1f0"
APPROVED_AT = "2026-03-01T04:05:06.123456+00:00"


def _alembic(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _texts(tag: str) -> dict[str, str]:
    return {
        "problem": f"<p>ปัญหา {tag}</p>",
        "approach": f"แนวทาง {tag}",
        "targets": f"เป้าหมาย {tag}",
        "timeline": f"ต.ค.–ธ.ค. {tag}",
    }


# (tag, state, review comment, approved snapshot's tag or None, version)
PLANS: list[tuple[str, str, str, str | None, int]] = [
    ("draft", "draft", "", None, 1),
    ("sent", "submitted", "", None, 2),
    ("back", "returned", "เพิ่มตัวชี้วัด", None, 3),
    ("ok", "approved", "ดีมาก", "ok", 4),
    ("redraft", "draft", "", "old-redraft", 6),
    ("resent", "submitted", "", "old-resent", 7),
    ("reback", "returned", "ระบุงบประมาณ", "old-reback", 8),
    ("fixing", "draft", "แก้ระยะเวลา", None, 4),
]


def _insert_plans(conn: sa.Connection) -> dict[str, int]:
    offices = conn.execute(sa.text("SELECT id FROM offices ORDER BY id LIMIT 4")).scalars().all()
    where: dict[str, int] = {}
    for n, (tag, state, comment, snap, version) in enumerate(PLANS):
        office, fy = offices[n % 4], 2569 + n // 4
        where[tag] = office
        snapshot = (
            json.dumps({**_texts(snap), "approved_at": APPROVED_AT}, ensure_ascii=False)
            if snap
            else None
        )
        conn.execute(
            sa.text(
                "INSERT INTO operating_plans (office_id, fiscal_year, problem, approach, targets, "
                "timeline, state, review_comment, approved_snapshot, updated_at, version) VALUES "
                "(:o, :fy, :problem, :approach, :targets, :timeline, :state, :comment, "
                "CAST(:snap AS jsonb), '2026-05-02T03:00:00+00:00', :version)"
            ),
            {
                "o": office,
                "fy": fy,
                **_texts(tag),
                "state": state,
                "comment": comment,
                "snap": snapshot,
                "version": version,
            },
        )
    return where


def _reports(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        sa.text(
            "SELECT r.id, r.office_id, r.fiscal_year, r.subject, c.state, c.level, c.data, "
            "c.version, c.revision_no, a.data AS approved, a.approved_at, a.state AS a_state "
            "FROM workflow_reports r JOIN workflow_revisions c ON c.id = r.current_revision_id "
            "LEFT JOIN workflow_revisions a ON a.id = r.approved_revision_id "
            "WHERE r.kind = 'operating_plan'"
        )
    ).mappings()
    return {row["data"]["approach"].removeprefix("แนวทาง "): dict(row) for row in rows}


def test_plans_in_every_state_are_carried_over_and_back(pg_cluster: Cluster) -> None:
    url = prepared_database(pg_cluster, "pinmap_plan_migration")
    engine = make_engine(url)
    try:
        command.downgrade(_alembic(url), BEFORE)
        with engine.begin() as conn:
            _insert_plans(conn)
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            assert not sa.inspect(conn).has_table("operating_plans")
            got = _reports(conn)
            assert set(got) == {p[0] for p in PLANS}
            for tag, state, comment, snap, version in PLANS:
                r = got[tag]
                # The working revision: the plan's texts, state, level and version, unchanged.
                assert r["data"] == _texts(tag), tag
                assert (r["state"], r["version"], r["subject"]) == (state, version, "plan"), tag
                assert r["level"] == {"submitted": 1, "approved": 2}.get(state, 0), tag
                # What the public sees: the snapshot, or the plan itself once approved.
                if state == "approved":
                    assert r["approved"] == _texts(tag) and r["revision_no"] == 1
                elif snap:
                    assert r["approved"] == _texts(snap) and r["a_state"] == "approved", tag
                    assert r["revision_no"] == 2, tag
                else:
                    assert r["approved"] is None, tag
                if snap:
                    assert r["approved_at"].isoformat() == APPROVED_AT, tag
                # The reviewer's comment is on the trail.
                comments = conn.execute(
                    sa.text(
                        "SELECT action, comment FROM workflow_events WHERE report_id = :r "
                        "AND comment <> '' ORDER BY id"
                    ),
                    {"r": r["id"]},
                ).all()
                if comment:
                    assert [c[1] for c in comments] == [comment], tag
                    if state == "returned" or snap is None:
                        assert comments[0][0] == "return", tag
                else:
                    assert comments == [], tag
            # Every revision has a trail.
            assert (
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM workflow_revisions v WHERE NOT EXISTS "
                        "(SELECT 1 FROM workflow_events e WHERE e.revision_id = v.id)"
                    )
                ).scalar()
                == 0
            )
        # The engine reads the carried plans as the old pages did.
        with Session(engine) as session:
            for tag, state, _comment, snap, _version in PLANS:
                report = session.get_one(WorkflowReport, got[tag]["id"])
                assert wf.status(report) == {"draft": "saved", "submitted": "sent"}.get(
                    state, state
                )
                assert plans.plan_dict(report)["approach"] == f"แนวทาง {tag}"
                if snap or state == "approved":
                    shown = plans.approved_latest(session, report.office_id)
                    assert shown is not None and shown.approved is not None
            waiting = wf.waiting_level(session.get_one(WorkflowReport, got["resent"]["id"]))
            assert waiting is not None and waiting.key == "review"
        # Down: the table comes back with the same plans; up again: the same reports.
        command.downgrade(_alembic(url), BEFORE)
        with engine.connect() as conn:
            back = {
                row["approach"].removeprefix("แนวทาง "): row
                for row in conn.execute(sa.text("SELECT * FROM operating_plans")).mappings()
            }
            assert set(back) == {p[0] for p in PLANS}
            for tag, state, comment, snap, version in PLANS:
                row = back[tag]
                assert {k: row[k] for k in plans.FIELDS} == _texts(tag)
                assert (row["state"], row["version"], row["review_comment"]) == (
                    state,
                    version,
                    comment,
                ), tag
                snapshot = row["approved_snapshot"]
                if snap or state == "approved":
                    assert {k: snapshot[k] for k in plans.FIELDS} == _texts(snap or tag), tag
                    assert snapshot["approved_at"] == APPROVED_AT, tag
                else:
                    assert snapshot is None, tag
            assert (
                conn.execute(
                    sa.text("SELECT count(*) FROM workflow_reports WHERE kind = 'operating_plan'")
                ).scalar()
                == 0
            )
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            assert set(_reports(conn)) == {p[0] for p in PLANS}
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
