"""The best-practice migration carries practices in every state into workflow reports, and back.

Run on a database of its own: down to the revision before, practices written as the old service
wrote them (draft, submitted, returned, approved, a returned one edited since, one sent again
after a return, and an approved one with a working copy in each of draft, submitted and
returned), with items, dimensions, an infographic and attachments; then up again; then down
(the rows, working copies and items come back) and up once more.
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
from pinmap.services import best_practices as svc
from pinmap.services import workflow as wf
from pinmap.services.uploads import referenced_names

from ..support.databases import drop_database, prepared_database

BEFORE = "8a3f6c2d1e47"
RICH = ("background", "objectives", "process", "results", "success_factors")

# (tag, state, review comment, working copy: (tag, state, comment) or None, version)
PRACTICES: list[tuple[str, str, str, tuple[str, str, str] | None, int]] = [
    ("draft", "draft", "", None, 1),
    ("sent", "submitted", "", None, 2),
    ("back", "returned", "เพิ่มผลลัพธ์", None, 3),
    ("ok", "approved", "ดีมาก", None, 4),
    ("edited", "draft", "แก้ขั้นตอน", None, 5),
    ("resent", "submitted", "ระบุปัจจัย", None, 6),
    ("ok-redraft", "approved", "", ("redraft", "draft", ""), 4),
    ("ok-resent", "approved", "ผ่าน", ("resent2", "submitted", ""), 3),
    ("ok-reback", "approved", "", ("reback", "returned", "ขาดหลักฐาน"), 2),
]


def _alembic(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _texts(tag: str) -> dict[str, str]:
    return {k: f"<p>{k} {tag}</p>" for k in RICH}


def _attachment(tag: str) -> dict[str, Any]:
    return {
        "stored_name": f"ab/cd/{tag}.pdf",
        "original_name": f"{tag}.pdf",
        "title": f"ไฟล์ {tag}",
        "mime": "application/pdf",
        "size_bytes": 1234,
        "sha256": "0" * 64,
    }


def _insert(conn: sa.Connection) -> dict[str, Any]:
    offices = conn.execute(sa.text("SELECT id FROM offices ORDER BY id LIMIT 3")).scalars().all()
    items = conn.execute(
        sa.text("SELECT id, fiscal_year FROM policy_items ORDER BY id LIMIT 2")
    ).all()
    fy = items[0].fiscal_year
    photo = conn.execute(
        sa.text(
            "INSERT INTO photos (office_id, stored_name, thumb_name, mime, width, height, "
            "sha256) VALUES (:o, 'p/h/photo.webp', 'p/h/thumb.webp', 'image/webp', 10, 10, "
            ":sha) RETURNING id"
        ),
        {"o": offices[0], "sha": "1" * 64},
    ).scalar_one()

    def row(tag: str, state: str, comment: str, version: int, office: int, replaces: Any) -> int:
        bp_id = conn.execute(
            sa.text(
                "INSERT INTO best_practices (office_id, fiscal_year, title, owner, dimensions, "
                "background, objectives, process, results, success_factors, "
                "infographic_photo_id, attachments, state, replaces_id, review_comment, "
                "reviewed_at, created_at, updated_at, version) VALUES (:o, :fy, :title, "
                ":owner, :dims, :background, :objectives, :process, :results, "
                ":success_factors, :photo, CAST(:att AS jsonb), :state, :replaces, :comment, "
                ":reviewed, '2026-04-01T03:00:00+00:00', '2026-05-02T03:00:00+00:00', "
                ":version) RETURNING id"
            ),
            {
                "o": office,
                "fy": fy,
                "title": f"เรื่อง {tag}",
                "owner": f"กลุ่ม {tag}",
                "dims": ["คุณภาพ", tag],
                **_texts(tag),
                "photo": photo if office == offices[0] else None,
                "att": json.dumps([_attachment(tag)], ensure_ascii=False),
                "state": state,
                "replaces": replaces,
                "comment": comment,
                "reviewed": "2026-05-01T03:00:00+00:00" if comment or state == "approved" else None,
                "version": version,
            },
        ).scalar_one()
        for item in items[: 1 + len(tag) % 2]:
            conn.execute(
                sa.text("INSERT INTO best_practice_items VALUES (:b, :i)"),
                {"b": bp_id, "i": item.id},
            )
        return int(bp_id)

    made: dict[str, Any] = {"photo": photo, "items": [i.id for i in items], "fy": fy}
    for n, (tag, state, comment, copy, version) in enumerate(PRACTICES):
        office = offices[n % 3]
        made[tag] = row(tag, state, comment, version, office, None)
        if copy is not None:
            ctag, cstate, ccomment = copy
            made[ctag] = row(ctag, cstate, ccomment, 7, office, made[tag])
    return made


def _old_rows(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute(sa.text("SELECT * FROM best_practices ORDER BY id")).mappings()
    out = {}
    for r in rows:
        items = conn.execute(
            sa.text("SELECT item_id FROM best_practice_items WHERE best_practice_id = :b"),
            {"b": r["id"]},
        ).scalars()
        out[r["title"].removeprefix("เรื่อง ")] = {**dict(r), "items": sorted(items)}
    return out


def _compare(before: dict[str, Any], after: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        assert before[key] == after[key], (before["title"], key)


KEPT = (
    "office_id",
    "fiscal_year",
    "title",
    "owner",
    "dimensions",
    *RICH,
    "infographic_photo_id",
    "attachments",
    "state",
    "review_comment",
    "items",
)


def test_best_practices_in_every_state_are_carried_over_and_back(pg_cluster: Cluster) -> None:
    url = prepared_database(pg_cluster, "pinmap_bp_migration")
    engine = make_engine(url)
    try:
        command.downgrade(_alembic(url), BEFORE)
        with engine.begin() as conn:
            made = _insert(conn)
            old = _old_rows(conn)
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            cols = {c["name"] for c in sa.inspect(conn).get_columns("best_practices")}
            assert cols == {"id", "office_id", "report_id", "created_by_id", "created_at"}
            # Working copies' rows are gone; every practice kept its id.
            ids = set(conn.execute(sa.text("SELECT id FROM best_practices")).scalars())
            assert ids == {made[p[0]] for p in PRACTICES}
        with Session(engine) as session:
            for tag, state, comment, copy, version in PRACTICES:
                shown = svc.bp_or_404(session, made[tag])
                public = svc.public_or_none(session, made[tag])
                if copy is None:
                    want, want_state, want_version = tag, state, version
                else:
                    want, want_state, want_version = copy[0], copy[1], 7
                # The working revision: the copy's (or the practice's) content, state, version.
                assert shown.title == f"เรื่อง {want}", tag
                assert {k: getattr(shown, k) for k in RICH} == _texts(want), tag
                assert shown.dimensions == ["คุณภาพ", want], tag
                assert shown.items == old[want]["items"], tag
                assert shown.attachments == [_attachment(want)], tag
                assert (shown.state, shown.version) == (want_state, want_version), tag
                assert shown.level == {"submitted": 1, "approved": 2}.get(want_state, 0), tag
                assert shown.infographic_photo_id == old[want]["infographic_photo_id"], tag
                # What the public sees: the approved practice, whatever is pending.
                if state == "approved":
                    assert public is not None and public.title == f"เรื่อง {tag}", tag
                    assert public.state == "approved" and public.approved_at is not None, tag
                    assert shown.pending == (copy is not None), tag
                    if copy is not None:
                        assert shown.revision_no == 2 and shown.replaces_id == made[tag], tag
                else:
                    assert public is None, tag
                # A returned practice shows the reviewer's comment to its office.
                if want_state == "returned":
                    assert shown.review_comment == (copy[2] if copy else comment), tag
                report = session.get_one(WorkflowReport, shown.report_id)
                assert wf.status(report) == {"draft": "saved", "submitted": "sent"}.get(
                    want_state, want_state
                )
                # Every reviewer's comment is on the trail.
                said = [e.comment for e in wf.trail(session, report) if e.comment]
                assert said == [c for c in (comment, copy[2] if copy else "") if c], tag
            # Searching and the map's filter read approved revisions (with their items).
            codes = svc.offices_with_approved(session, made["fy"])
            assert len(codes) == 3
            found = svc.search(session, item_id=made["items"][0], fiscal_year=made["fy"])
            assert {p.title for p, _o in found} <= {f"เรื่อง {p[0]}" for p in PRACTICES}
            assert svc.infographic_is_public(session, made["photo"])
            # Attachments of every revision stay referenced (the orphan sweep keeps them).
            names = referenced_names(session)
            for tag in old:
                assert f"ab/cd/{tag}.pdf" in names, tag
            waiting = svc.submitted(session)
            assert {p.id for p in waiting} == {made["sent"], made["resent"], made["ok-resent"]}
        # Every revision has a trail.
        with engine.connect() as conn:
            assert (
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM workflow_revisions v WHERE NOT EXISTS "
                        "(SELECT 1 FROM workflow_events e WHERE e.revision_id = v.id)"
                    )
                ).scalar()
                == 0
            )
        # Down: the rows, the working copies and their items come back as they were.
        command.downgrade(_alembic(url), BEFORE)
        with engine.connect() as conn:
            back = _old_rows(conn)
            assert set(back) == set(old)
            for tag, row in old.items():
                _compare(row, back[tag], KEPT)
                assert back[tag]["version"] == max(row["version"], 1), tag
                if row["replaces_id"] is not None:
                    original = next(k for k, v in old.items() if v["id"] == row["replaces_id"])
                    assert back[tag]["replaces_id"] == back[original]["id"], tag
                else:
                    assert back[tag]["id"] == row["id"] and back[tag]["replaces_id"] is None
            assert (
                conn.execute(
                    sa.text("SELECT count(*) FROM workflow_reports WHERE kind = 'best_practice'")
                ).scalar()
                == 0
            )
        command.upgrade(_alembic(url), "head")
        with Session(engine) as session:
            for tag, *_rest in PRACTICES:
                assert svc.bp_or_404(session, made[tag]).office_id == old[tag]["office_id"]
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
