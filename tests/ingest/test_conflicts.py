"""A reviewer decides a conflict: keep the manual report, or take the source's version."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from ingest.jobs import resolve_conflict, run_source
from pinmap import create_app
from pinmap.db import make_engine
from pinmap.localdb import Cluster
from pinmap.models import (
    Evidence,
    IngestConflict,
    Office,
    PolicyItem,
    User,
    WorkflowEvent,
    WorkflowReport,
)
from pinmap.services import progress
from pinmap.services.audit import Actor
from pinmap.services.errors import ServiceError
from tools.reference_endpoint import serve

from ..signin import sign_in
from ..support.app import TEST_CONFIG
from ..support.databases import (
    clone,
    database_name,
    drop_database,
    prepared_database,
    rolled_back,
)
from ..support.factories import UserFactory
from ..support.ingest import ALL, IngestDB, Routes, page, progress_record, without_autovacuum
from ..support.progress_sql import REVISIONS

_counter = count(1)


# Every test that clones the template runs on one xdist worker, so it is built once per run.
pytestmark = pytest.mark.xdist_group("conflict_template")


# Session scope, not module: an xdist worker that runs out of queued tests tears down module
# fixtures, and this one was then built a second time (two more national syncs).
@pytest.fixture(scope="session")
def conflict_template(pg_cluster: Cluster) -> Iterator[str]:
    """Built once (two national syncs take a while), cloned per test: a source sync, a manual
    edit on spp-krabi policy 1, then a source update dated before that edit."""
    template_url = prepared_database(pg_cluster, "pinmap_conflict_template")
    engine = make_engine(template_url)
    db = IngestDB(template_url, sessionmaker(bind=engine, expire_on_commit=False))
    first, url = serve()
    second, url2 = serve(seed=7, updated_at="2024-03-26T09:00:00+07:00")
    try:
        db.add_source("demo-p", url=f"{url}/progress", options={"demo": True})
        run_source(db.factory, "demo-p")
        with db.factory.begin() as s:
            editor = UserFactory.create(
                session=s,
                email="e@x.go.th",
                name="e",
                password="long password 1",
                role="office_editor",
                office_code="spp-krabi",
            )
            reviewer = UserFactory.create(
                session=s,
                email="r@x.go.th",
                name="r",
                password="long password 1",
                role="reviewer",
            )
            entry = _entry(s)
            rev = progress.review(
                s, Actor(reviewer), entry, "return", "แก้ไขผลลัพธ์", entry.current.version
            )
            progress.save_draft(
                s, Actor(editor), entry.office, entry.item, 1, {"result": "แก้ด้วยมือ"}, rev.version
            )
        db.add_source("demo-p", url=f"{url2}/progress", options={"demo": True})
        assert run_source(db.factory, "demo-p").counts["conflicts"] >= 1
        engine.dispose()
        yield database_name(template_url)  # the second server stays up: a test may run it again
    finally:
        engine.dispose()
        for server in (first, second):
            server.shutdown()
            server.server_close()
        drop_database(pg_cluster, template_url)


def _open_conflict(db: IngestDB) -> int:
    with db.factory() as s:
        return s.scalars(
            select(IngestConflict.id).filter_by(entry_id=_entry(s).id, resolved_at=None)
        ).one()


@pytest.fixture
def conflicted_clone(pg_cluster: Cluster, conflict_template: str) -> Iterator[tuple[IngestDB, int]]:
    """A clone of the template of the test's own, for a test that needs real commits (another
    connection, here the app's, must see what it wrote)."""
    url = clone(pg_cluster, conflict_template, f"pinmap_conflict_{next(_counter)}")
    engine = make_engine(url)
    db = IngestDB(url, sessionmaker(bind=engine, expire_on_commit=False))
    yield db, _open_conflict(db)
    engine.dispose()
    drop_database(pg_cluster, url)


@pytest.fixture(scope="session")
def _conflict_copy(pg_cluster: Cluster, conflict_template: str) -> Iterator[tuple[str, Engine]]:
    # One clone for the run (the template itself cannot be cloned while connected to); like
    # conftest.py's shared database, left for the run's cluster to take away.
    url = clone(pg_cluster, conflict_template, "pinmap_conflict_shared")
    without_autovacuum(pg_cluster, url)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


@pytest.fixture
def conflicted(_conflict_copy: tuple[str, Engine]) -> Iterator[tuple[IngestDB, int]]:
    """The template's state in a transaction rolled back after the test: each commit of the code
    under test releases a savepoint (as tests/conftest.py's `session_factory` does)."""
    url, engine = _conflict_copy
    with rolled_back(engine) as (_conn, factory):
        db = IngestDB(url, factory)
        yield db, _open_conflict(db)


def _entry(s, no: int = 1):  # type: ignore[no-untyped-def]
    office = s.scalars(select(Office).filter_by(code="spp-krabi")).one()
    item = s.scalars(select(PolicyItem).filter_by(fiscal_year=2567, kind="policy", no=no)).one()
    return progress.Entry(
        s.scalars(
            select(WorkflowReport).filter_by(
                kind="progress", office_id=office.id, subject_id=item.id
            )
        ).one()
    )


def _reviewer(s):  # type: ignore[no-untyped-def]
    return Actor(s.scalars(select(User).filter_by(email="r@x.go.th")).one())


def test_taking_the_source_version_adds_a_revision_and_settles_the_record(
    conflicted: tuple[IngestDB, int],
) -> None:
    db, conflict_id = conflicted
    with db.factory.begin() as s:
        entry = _entry(s)
        manual = entry.current
        conflict = s.get_one(IngestConflict, conflict_id)
        source_result = conflict.source_payload["record"]["narrative"]["result"]
        resolve_conflict(s, _reviewer(s), conflict_id, "accept", manual.version)
    with db.factory() as s:
        entry = _entry(s)
        assert entry.current.revision_no == manual.revision_no + 1
        assert entry.current.state == "submitted" and entry.current.source == "ingest:demo-p"
        assert entry.current.result == source_result != "แก้ด้วยมือ"
        assert s.get_one(IngestConflict, conflict_id).resolved_at is not None
    kept = db.scalar(f"SELECT count(*) FROM {REVISIONS} WHERE result = 'แก้ด้วยมือ'")  # noqa: S608 (a fixed row source, no input)
    assert kept == 1  # the manual revision stays in the history
    audit = db.scalar("SELECT count(*) FROM audit_log WHERE action = 'ingest.accept'")
    assert audit == 1
    # The same source version again: the entry is the source's own now, so nothing changes.
    again = run_source(db.factory, "demo-p")
    with db.factory() as s:
        assert _entry(s).current.revision_no == manual.revision_no + 1
        open_for_entry = s.scalars(
            select(IngestConflict).filter_by(entry_id=_entry(s).id, resolved_at=None)
        ).all()
    assert open_for_entry == [] and again.outcome == "ok"


def test_a_newer_manual_edit_is_never_overwritten(conflicted: tuple[IngestDB, int]) -> None:
    # The template's second sync (a changed version dated before the manual edit) recorded a
    # conflict, asserted where the template is built; the manual report stayed.
    db, _conflict_id = conflicted
    with db.factory() as s:
        assert _entry(s).current.result == "แก้ด้วยมือ"
    conflicts = db.scalar("SELECT count(*) FROM ingest_conflicts")
    again = run_source(db.factory, "demo-p")
    # Still blocked by the conflict already on record: unchanged, not counted as a new conflict.
    assert again.counts["conflicts"] == 0
    assert again.counts["unchanged"] == again.counts["fetched"] == ALL
    assert db.scalar("SELECT count(*) FROM ingest_conflicts") == conflicts  # recorded once


def test_keeping_the_manual_report_changes_no_report(conflicted: tuple[IngestDB, int]) -> None:
    db, conflict_id = conflicted
    revisions = db.scalar(f"SELECT count(*) FROM {REVISIONS}")  # noqa: S608 (a fixed row source, no input)
    with db.factory.begin() as s:
        resolve_conflict(s, _reviewer(s), conflict_id, "keep", _entry(s).current.version)
    assert db.scalar(f"SELECT count(*) FROM {REVISIONS}") == revisions  # noqa: S608 (a fixed row source, no input)
    with db.factory() as s:
        assert _entry(s).current.result == "แก้ด้วยมือ"
    # The same source version again: decided already, so nobody is asked twice.
    conflicts = db.scalar("SELECT count(*) FROM ingest_conflicts")
    again = run_source(db.factory, "demo-p")
    assert again.outcome == "ok" and again.counts["conflicts"] == 0
    assert db.scalar("SELECT count(*) FROM ingest_conflicts") == conflicts


@pytest.mark.parametrize(
    ("decision", "version_delta", "status"), [("accept", -1, 409), ("maybe", 0, 400)]
)
def test_stale_or_unknown_decisions_are_refused_and_change_nothing(
    conflicted: tuple[IngestDB, int], decision: str, version_delta: int, status: int
) -> None:
    db, conflict_id = conflicted
    revisions = db.scalar(f"SELECT count(*) FROM {REVISIONS}")  # noqa: S608 (a fixed row source, no input)
    with db.factory() as s, pytest.raises(ServiceError) as info:
        resolve_conflict(
            s, _reviewer(s), conflict_id, decision, _entry(s).current.version + version_delta
        )
    assert info.value.status == status
    assert db.scalar(f"SELECT count(*) FROM {REVISIONS}") == revisions  # noqa: S608 (a fixed row source, no input)
    assert db.scalar("SELECT count(*) FROM ingest_conflicts WHERE resolved_at IS NULL") >= 1


def test_the_conflicts_page_offers_both_decisions_and_refuses_a_second_one(
    conflicted_clone: tuple[IngestDB, int],
) -> None:
    db, conflict_id = conflicted_clone
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_URL": db.url, "WTF_CSRF_ENABLED": False})
    try:
        client = app.test_client()
        with db.factory() as s:
            reviewer = s.scalars(select(User).filter_by(email="r@x.go.th")).one()
            version = _entry(s).current.version
        sign_in(client, reviewer.id)
        with db.factory() as s:
            entry_id = _entry(s).id
        review = client.get(f"/review/entries/{entry_id}").get_data(as_text=True)
        assert 'id="ingest-conflict"' in review and "/admin/ingest/conflicts" in review
        page = client.get("/admin/ingest/conflicts", headers={"Accept-Language": "th"})
        assert page.status_code == 200
        assert 'value="accept"' in page.text and 'value="keep"' in page.text
        form = {"conflict_id": conflict_id, "version": version, "decision": "accept"}
        assert client.post("/admin/ingest/conflicts", data=form).status_code == 302
        again = client.post("/admin/ingest/conflicts", data=form)
        assert again.status_code == 409
        assert "ข้อขัดแย้งนี้มีผู้จัดการไปแล้ว" in again.text
        assert 'id="ingest-conflict"' not in client.get(f"/review/entries/{entry_id}").text
    finally:
        app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()


# The template's last sync dated the source's versions 2024-03-26; people edit "now".
BETWEEN = "2024-03-27T09:00:00+07:00"


def _one_record_feed(db: IngestDB, feed: Callable[[Routes], str], no: int) -> None:
    """Point demo-p at a feed of one newer version of spp-krabi policy `no` (no national sync)."""
    record = progress_record(
        f"spp-krabi/policy-{no}/r1", item={"kind": "policy", "no": no}, updated_at=BETWEEN
    )
    url = feed({"/p": page(record)})
    db.add_source("demo-p", url=f"{url}/p", options={"demo": True})


def test_evidence_an_office_added_is_a_manual_edit_the_source_cannot_overwrite(
    conflicted: tuple[IngestDB, int], fixed_feed: Callable[[Routes], str]
) -> None:
    db, _conflict_id = conflicted
    link = "https://office.example.go.th/photo/1"
    with db.factory.begin() as s:
        entry = _entry(s, no=2)
        assert entry.current.source == "ingest:demo-p"
        editor = Actor(s.scalars(select(User).filter_by(email="e@x.go.th")).one())
        rev = progress.review(
            s, _reviewer(s), entry, "return", "ขอภาพกิจกรรม", entry.current.version
        )
        progress.add_evidence(
            s,
            editor,
            entry.office,
            entry.item,
            1,
            rev.version,
            Evidence(kind="link", url=link, title="ภาพกิจกรรม"),
        )
    _one_record_feed(db, fixed_feed, no=2)
    result = run_source(db.factory, "demo-p")
    assert (result.counts["conflicts"], result.counts["updated"]) == (1, 0), result
    with db.factory() as s:
        entry = _entry(s, no=2)
        assert link in [e.url for e in entry.current.evidence]
        assert entry.current.source == "manual" and entry.current.state == "returned"
        conflict = s.scalars(select(IngestConflict).filter_by(entry_id=entry.id)).one()
        assert conflict.resolved_at is None
        assert conflict.source_payload["record"]["updated_at"].startswith("2024-03-27")
    # Replayed, the record is still blocked by the same open conflict: unchanged, not new.
    again = run_source(db.factory, "demo-p")
    assert (again.counts["conflicts"], again.counts["unchanged"]) == (0, 1), again
    assert (
        db.scalar(
            "SELECT count(*) FROM ingest_conflicts WHERE source_record_id = 'spp-krabi/policy-2/r1'"
        )
        == 1
    )


def test_a_newer_source_version_of_a_returned_report_is_resubmitted_without_the_old_review(
    conflicted: tuple[IngestDB, int], fixed_feed: Callable[[Routes], str]
) -> None:
    db, _conflict_id = conflicted
    with db.factory.begin() as s:
        entry = _entry(s, no=3)
        progress.review(s, _reviewer(s), entry, "return", "ขอรายละเอียดเพิ่ม", entry.current.version)
        returned_no = entry.current.revision_no
    _one_record_feed(db, fixed_feed, no=3)
    result = run_source(db.factory, "demo-p")
    assert result.counts["updated"] == 1, result
    with db.factory() as s:
        rev = _entry(s, no=3).current
        # Still the source's own revision, replaced in place, now waiting for a fresh review.
        assert rev.revision_no == returned_no and rev.source == "ingest:demo-p"
        assert rev.state == "submitted" and rev.result == "ครู 120 คน"
        assert (rev.review_comment, rev.reviewed_at, rev.reviewed_by_id) == ("", None, None)
        # The reviewer's comment stays in the history.
        comments = s.scalars(
            select(WorkflowEvent.comment).where(
                WorkflowEvent.revision_id == rev.id, WorkflowEvent.comment != ""
            )
        ).all()
        assert comments == ["ขอรายละเอียดเพิ่ม"]
