"""The progress migration carries reports in every state into workflow reports, and back.

Run on a database of its own: down to the revision before, progress written as the old service
and ingestion wrote it (not started, draft, submitted, returned, approved with a note, approved
then revised, approved then revised and sent again, returned twice then approved, an ingested
approved report with evidence, a conflict and bookkeeping), then up; then down and up again.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from sqlalchemy.orm import Session

from alembic import command
from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.localdb import Cluster
from pinmap.models import WorkflowReport
from pinmap.services import workflow as wf

from ..support.databases import drop_database, prepared_database

BEFORE = "9a3e5b7d2f46"
T0 = "2024-03-20T03:00:00+00:00"
T1 = "2024-03-21T03:00:00+00:00"
T2 = "2024-03-22T03:00:00+00:00"
T3 = "2024-03-23T03:00:00+00:00"


def _alembic(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _content(tag: str, status: str = "on_plan") -> dict[str, Any]:
    return {
        "status": status,
        "what": f"<p>ทำ {tag}</p>",
        "where": f"ที่ {tag}",
        "how": f"อย่างไร {tag}",
        "result": f"ผล {tag}",
        "indicator_value": 80.0,
        "indicator_target": 75.0,
        "indicator_unit": "percent",
        "indicator_achieved": True,
        "problems": f"ปัญหา {tag}",
        "likely_success": "on_track",
        "served_goal": f"เป้า {tag}",
        "no_activity_reason": "",
        "no_activity_when": "",
    }


# tag -> revisions (state, content tag, review comment kept on the row, comments), and which
# revision is approved (1-based) or None. Comments are review_comments rows, oldest first.
CASES: dict[str, tuple[list[tuple[str, str, str, list[str]]], int | None]] = {
    "notstarted": ([("draft", "notstarted", "", [])], None),
    "draft": ([("draft", "draft", "", [])], None),
    "sent": ([("submitted", "sent", "", [])], None),
    "back": ([("returned", "back", "เพิ่มภาพ", ["เพิ่มภาพ"])], None),
    "ok": ([("approved", "ok", "ดีมาก", ["ดีมาก"])], 1),
    "revised": ([("approved", "revised-1", "", []), ("draft", "revised", "", [])], 1),
    "resent": ([("approved", "resent-1", "", []), ("submitted", "resent", "", [])], 1),
    "twice": ([("approved", "twice", "", ["ข้อ 1", "ข้อ 2"])], 1),
    "ingested": ([("approved", "ingested", "", [])], 1),
}


def _insert(conn: sa.Connection) -> dict[str, dict[str, int]]:
    offices = conn.execute(sa.text("SELECT id FROM offices ORDER BY id LIMIT 3")).scalars().all()
    items = (
        conn.execute(
            sa.text("SELECT id FROM policy_items WHERE fiscal_year = 2567 ORDER BY id LIMIT 3")
        )
        .scalars()
        .all()
    )
    user = conn.execute(
        sa.text(
            "INSERT INTO users (email, name, password_hash, role, active, session_epoch)"
            " VALUES ('rev@example.go.th', 'rev', 'x', 'reviewer', true, 1) RETURNING id"
        )
    ).scalar_one()
    source = conn.execute(
        sa.text(
            "INSERT INTO ingest_sources (name, kind, url, credentials_env, cron,"
            " timeout_seconds, options, pre_approved, enabled) VALUES ('emes', 'progress-json',"
            " 'https://example.go.th/feed', '', '', 30, '{}', true, true) RETURNING id"
        )
    ).scalar_one()
    run = conn.execute(
        sa.text(
            "INSERT INTO ingest_runs (source_id, started_at, outcome, fetched, inserted, updated,"
            " unchanged, quarantined, conflicts, error) VALUES (:s, now(), 'ok', 1, 1, 0, 0, 0,"
            " 0, '') RETURNING id"
        ),
        {"s": source},
    ).scalar_one()
    where: dict[str, dict[str, int]] = {}
    for n, (tag, (revs, approved)) in enumerate(CASES.items()):
        office, item = offices[n % 3], items[n // 3]
        entry = conn.execute(
            sa.text(
                "INSERT INTO progress_entries (office_id, fiscal_year, item_id, round_no,"
                " created_at) VALUES (:o, 2567, :i, 1, :t) RETURNING id"
            ),
            {"o": office, "i": item, "t": T0},
        ).scalar_one()
        ids = []
        for no, (state, ctag, kept, comments) in enumerate(revs, start=1):
            content = _content(ctag, "not_started" if tag == "notstarted" else "on_plan")
            if tag == "notstarted":
                content.update(no_activity_reason="รองบ", no_activity_when="ไตรมาส 3")
            rid = conn.execute(
                sa.text(
                    "INSERT INTO progress_revisions (entry_id, revision_no, state, status, what,"
                    ' "where", how, result, indicator_value, indicator_target, indicator_unit,'
                    " indicator_achieved, problems, likely_success, served_goal,"
                    " no_activity_reason, no_activity_when, source, submitted_by_id,"
                    " submitted_at, reviewed_by_id, reviewed_at, review_comment, created_at,"
                    " updated_at, version) VALUES (:e, :no, :state, :status, :what, :where,"
                    " :how, :result, :indicator_value, :indicator_target, :indicator_unit,"
                    " :indicator_achieved, :problems, :likely_success, :served_goal,"
                    " :no_activity_reason, :no_activity_when, :source, NULL, :sat, :rby, :rat,"
                    " :kept, :t0, :t3, :version) RETURNING id"
                ),
                {
                    "e": entry,
                    "no": no,
                    "state": state,
                    **content,
                    "source": "ingest:emes" if tag == "ingested" else "manual",
                    "sat": T1 if state in ("submitted", "approved") else None,
                    "rby": user if state in ("approved", "returned") else None,
                    "rat": T2 if state in ("approved", "returned") else None,
                    "kept": kept,
                    "t0": T0,
                    "t3": T3,
                    "version": no * 3,
                },
            ).scalar_one()
            for body in comments:
                conn.execute(
                    sa.text(
                        "INSERT INTO review_comments (revision_id, author_id, body, created_at)"
                        " VALUES (:r, :u, :b, :t)"
                    ),
                    {"r": rid, "u": user, "b": body, "t": T2},
                )
            ids.append(rid)
        conn.execute(
            sa.text(
                "UPDATE progress_entries SET current_revision_id = :c, approved_revision_id = :a"
                " WHERE id = :e"
            ),
            {"c": ids[-1], "a": ids[approved - 1] if approved else None, "e": entry},
        )
        conn.execute(
            sa.text(
                "INSERT INTO evidence (revision_id, kind, title, url) VALUES (:r, 'link', :t, :u)"
            ),
            {"r": ids[-1], "t": f"หลักฐาน {tag}", "u": f"https://example.go.th/{tag}"},
        )
        if tag == "ingested":
            conn.execute(
                sa.text(
                    "INSERT INTO ingest_conflicts (source_id, source_record_id, entry_id, run_id,"
                    " source_payload) VALUES (:s, 'r-1', :e, :run, '{}')"
                ),
                {"s": source, "e": entry, "run": run},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO ingest_records (source_id, source_record_id, payload_sha256,"
                    " target, target_id) VALUES (:s, 'r-1', 'ab', 'progress_revision', :r)"
                ),
                {"s": source, "r": ids[-1]},
            )
        where[tag] = {"office": office, "item": item, "entry": entry}
    return where


def _reports(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        sa.text(
            "SELECT r.id, r.office_id, r.subject, r.subject_id, r.period, c.id AS cid, c.state,"
            " c.level, c.data, c.version, c.revision_no, c.source, a.id AS aid,"
            " a.data AS approved "
            "FROM workflow_reports r JOIN workflow_revisions c ON c.id = r.current_revision_id "
            "LEFT JOIN workflow_revisions a ON a.id = r.approved_revision_id "
            "WHERE r.kind = 'progress'"
        )
    ).mappings()
    return {row["data"]["where"].removeprefix("ที่ "): dict(row) for row in rows}


def _old(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        sa.text(
            "SELECT v.*, e.office_id, e.item_id, (e.approved_revision_id IS NOT NULL) AS public,"
            " (SELECT string_agg(c.body, '|' ORDER BY c.id) FROM review_comments c"
            " WHERE c.revision_id = v.id) AS comments,"
            " (SELECT string_agg(x.url, '|') FROM evidence x WHERE x.revision_id = v.id)"
            " AS evidence "
            "FROM progress_entries e JOIN progress_revisions v ON v.id = e.current_revision_id"
        )
    ).mappings()
    return {row["where"].removeprefix("ที่ "): dict(row) for row in rows}


def test_progress_in_every_state_is_carried_over_and_back(pg_cluster: Cluster) -> None:
    url = prepared_database(pg_cluster, "pinmap_progress_migration")
    engine = make_engine(url)
    try:
        command.downgrade(_alembic(url), BEFORE)
        with engine.begin() as conn:
            where = _insert(conn)
            before = _old(conn)
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for table in ("progress_entries", "progress_revisions", "review_comments"):
                assert not inspector.has_table(table), table
            got = _reports(conn)
            assert set(got) == set(CASES)
            for tag, (revs, approved) in CASES.items():
                r = got[tag]
                state, ctag, _kept, comments = revs[-1]
                expected = _content(ctag, "not_started" if tag == "notstarted" else "on_plan")
                if tag == "notstarted":
                    expected.update(no_activity_reason="รองบ", no_activity_when="ไตรมาส 3")
                assert r["data"] == expected, tag
                assert (r["state"], r["revision_no"], r["version"]) == (
                    state,
                    len(revs),
                    len(revs) * 3,
                ), tag
                assert r["level"] == {"submitted": 1, "approved": 2}.get(state, 0), tag
                assert (r["office_id"], r["subject_id"], r["period"]) == (
                    where[tag]["office"],
                    where[tag]["item"],
                    1,
                ), tag
                assert r["subject"] == f"item:{where[tag]['item']}:round:1", tag
                assert r["source"] == ("ingest:emes" if tag == "ingested" else "manual"), tag
                if approved is None:
                    assert r["aid"] is None, tag
                else:
                    assert r["approved"]["where"] == f"ที่ {revs[approved - 1][1]}", tag
                # The evidence follows its revision.
                urls = conn.execute(
                    sa.text("SELECT url FROM evidence WHERE revision_id = :r"), {"r": r["cid"]}
                ).scalars()
                assert list(urls) == [f"https://example.go.th/{tag}"], tag
                # Every return's comment is on the trail, in order; an approval's note too.
                trail = conn.execute(
                    sa.text(
                        "SELECT action, comment FROM workflow_events WHERE revision_id = :r"
                        " ORDER BY id"
                    ),
                    {"r": r["cid"]},
                ).all()
                returns = [c for a, c in trail if a == "return"]
                if tag == "ok":
                    assert returns == [] and trail[-1] == ("approve", "ดีมาก")
                else:
                    assert returns == comments, tag
                assert trail[0][0] == ("create" if len(revs) == 1 else "revise"), tag
                if state in ("submitted", "approved"):
                    assert "submit" in [a for a, _c in trail], tag
            # Every revision has a trail; conflicts and bookkeeping follow their report.
            assert (
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM workflow_revisions v WHERE NOT EXISTS "
                        "(SELECT 1 FROM workflow_events e WHERE e.revision_id = v.id)"
                    )
                ).scalar()
                == 0
            )
            assert (
                conn.execute(sa.text("SELECT entry_id FROM ingest_conflicts")).scalar()
                == (got["ingested"]["id"])
            )
            assert (
                conn.execute(sa.text("SELECT target_id FROM ingest_records")).scalar()
                == (got["ingested"]["cid"])
            )
        # The engine reads the carried reports: where they stand and who may act next.
        with Session(engine) as session:
            for tag, (revs, _approved) in CASES.items():
                report = session.get_one(WorkflowReport, got[tag]["id"])
                state = revs[-1][0]
                assert wf.status(report) == {"draft": "saved", "submitted": "sent"}.get(
                    state, state
                ), tag
            waiting = wf.waiting_level(session.get_one(WorkflowReport, got["resent"]["id"]))
            assert waiting is not None and waiting.key == "review"
            back = wf.last_comment(session, session.get_one(WorkflowReport, got["back"]["id"]))
            assert back is not None and back.comment == "เพิ่มภาพ"
        # Down: the old tables come back holding the same reports; up again: the same reports.
        command.downgrade(_alembic(url), BEFORE)
        with engine.connect() as conn:
            after = _old(conn)
            assert set(after) == set(before)
            for tag, old in before.items():
                new = after[tag]
                for key in (
                    "revision_no",
                    "state",
                    "status",
                    "what",
                    "where",
                    "how",
                    "result",
                    "indicator_value",
                    "indicator_target",
                    "indicator_unit",
                    "indicator_achieved",
                    "problems",
                    "likely_success",
                    "served_goal",
                    "no_activity_reason",
                    "no_activity_when",
                    "source",
                    "version",
                    "office_id",
                    "item_id",
                    "public",
                    "comments",
                    "evidence",
                ):
                    assert new[key] == old[key], (tag, key, new[key], old[key])
            assert (
                conn.execute(
                    sa.text("SELECT count(*) FROM workflow_reports WHERE kind = 'progress'")
                ).scalar()
                == 0
            )
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            assert set(_reports(conn)) == set(CASES)
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
