"""The profile migration carries every office's profile revisions, in every state, into workflow
reports, and back.

Run on a database of its own: down to the revision before, revisions written as the old service
wrote them (a draft; submitted; returned; approved; approved then a draft, a submitted or a
returned change; two approvals; a returned one edited since), with pins, people and staged
counts and school lists; then up, down (the rows come back) and up once more.
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
from pinmap.services import profiles as svc
from pinmap.services import workflow as wf

from ..support.databases import drop_database, prepared_database

BEFORE = "8d2f4a6c1e35"

# Per office: its revisions in order, as (state, review comment, version).
OFFICES: dict[str, list[tuple[str, str, int]]] = {
    "draft": [("draft", "", 1)],
    "sent": [("submitted", "", 2)],
    "back": [("returned", "ใส่เบอร์โทร", 3)],
    "ok": [("approved", "เรียบร้อย", 4)],
    "redraft": [("approved", "", 3), ("draft", "", 4)],
    "resent": [("approved", "", 3), ("submitted", "", 5)],
    "reback": [("approved", "ดี", 2), ("returned", "รูปไม่ชัด", 4)],
    "twice": [("approved", "", 2), ("approved", "ครบ", 5)],
    "edited": [("draft", "แก้ที่อยู่", 3)],
}


def _alembic(url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _data(tag: str, n: int) -> dict[str, Any]:
    return {
        "address": f"ที่อยู่ {tag} {n}",
        "phone": "075 611 000",
        "email": "",
        "website": "",
        "staff_count": 10 + n,
        "people": [{"role": "director", "name": f"ผอ. {tag}", "position": "", "photo_id": None}],
        "office_photo_id": None,
        "counts": {"as_of": "2026-06-10", "schools": 3, "teachers": 40, "students": None},
        "schools": [{"code": f"10{n}", "name_th": f"โรงเรียน {tag}"}],
        "schools_file": "schools.csv",
    }


def _insert(conn: sa.Connection) -> dict[str, int]:
    ids = conn.execute(sa.text("SELECT id FROM offices ORDER BY id LIMIT :n"), {"n": len(OFFICES)})
    offices = dict(zip(OFFICES, ids.scalars(), strict=True))
    for tag, revs in OFFICES.items():
        for n, (state, comment, version) in enumerate(revs, start=1):
            conn.execute(
                sa.text(
                    "INSERT INTO profile_revisions (office_id, revision_no, state, data, geom, "
                    "submitted_at, reviewed_at, review_comment, created_at, updated_at, version) "
                    "VALUES (:o, :n, :state, CAST(:data AS jsonb), CASE WHEN :pin THEN "
                    "ST_SetSRID(ST_MakePoint(100.5 + :n, 13.75), 4326) END, :sent, :reviewed, "
                    ":comment, '2026-04-01T03:00:00+00:00', '2026-05-02T03:00:00+00:00', :v)"
                ),
                {
                    "o": offices[tag],
                    "n": n,
                    "state": state,
                    "data": json.dumps(_data(tag, n), ensure_ascii=False),
                    "pin": n % 2 == 1,
                    "sent": "2026-04-20T03:00:00+00:00" if state != "draft" or comment else None,
                    "reviewed": "2026-05-01T03:00:00+00:00"
                    if comment or state == "approved"
                    else None,
                    "comment": comment,
                    "v": version,
                },
            )
    return offices


ROW = (
    "office_id",
    "revision_no",
    "state",
    "data",
    "lon",
    "lat",
    "review_comment",
    "version",
    "submitted_at",
)


def _rows(conn: sa.Connection) -> list[tuple[Any, ...]]:
    found = conn.execute(
        sa.text(
            "SELECT *, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM profile_revisions "
            "ORDER BY office_id, revision_no"
        )
    ).mappings()
    return [tuple(r[k] for k in ROW) for r in found]


def test_profiles_in_every_state_are_carried_over_and_back(pg_cluster: Cluster) -> None:
    url = prepared_database(pg_cluster, "pinmap_profile_migration")
    engine = make_engine(url)
    try:
        command.downgrade(_alembic(url), BEFORE)
        with engine.begin() as conn:
            offices = _insert(conn)
            old = _rows(conn)
        command.upgrade(_alembic(url), "head")
        with engine.connect() as conn:
            assert not sa.inspect(conn).has_table("profile_revisions")
        with Session(engine) as session:
            for tag, revs in OFFICES.items():
                office_id = offices[tag]
                history = svc.revisions(session, office_id)
                assert [r.revision_no for r in history] == list(range(len(revs), 0, -1)), tag
                for rev, (state, comment, version) in zip(reversed(history), revs, strict=True):
                    n = rev.revision_no
                    want = _data(tag, n)
                    assert {k: rev.data[k] for k in want} == want, tag
                    assert svc.lonlat(rev) == ((100.5 + n, 13.75) if n % 2 == 1 else None), tag
                    assert (rev.state, rev.version, rev.review_comment) == (
                        state,
                        version,
                        comment,
                    ), tag
                    assert rev.level == {"submitted": 1, "approved": 2}.get(state, 0), tag
                current = svc.current_revision(session, office_id)
                assert current is not None and current.revision_no == len(revs), tag
                approved = svc.approved_revision(session, office_id)
                approved_nos = [n for n, r in enumerate(revs, start=1) if r[0] == "approved"]
                if approved_nos:
                    assert approved is not None and approved.revision_no == approved_nos[-1], tag
                else:
                    assert approved is None, tag
                report = session.get_one(WorkflowReport, current.report_id)
                assert wf.status(report) == {"draft": "saved", "submitted": "sent"}.get(
                    revs[-1][0], revs[-1][0]
                ), tag
            queue = {r.office_id for r in svc.submitted(session)}
            assert queue == {offices["sent"], offices["resent"]}
            assert svc.offices_with_approved_pin(session) == {
                offices[t] for t in ("ok", "redraft", "resent", "reback")
            }
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
        command.downgrade(_alembic(url), BEFORE)
        with engine.connect() as conn:
            assert _rows(conn) == old
            assert (
                conn.execute(
                    sa.text("SELECT count(*) FROM workflow_reports WHERE kind = 'profile'")
                ).scalar()
                == 0
            )
        command.upgrade(_alembic(url), "head")
        with Session(engine) as session:
            assert len(svc.revisions(session, offices["twice"])) == 2
    finally:
        engine.dispose()
        drop_database(pg_cluster, url)
