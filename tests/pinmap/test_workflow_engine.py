"""The workflow engine's one state machine: every transition, every refusal, levels, locking."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.models import AuditLog, ChangeEvent, Office, WorkflowEvent
from pinmap.services import workflow as wf
from pinmap.services.audit import Actor

from ..support.asserts import refused
from ..support.portal import World
from ..support.workflow import (
    actor,
    clean_text,
    missing_text,
    save_report,
    sent_report,
    version_of,
    where,
)


@pytest.fixture
def w(world: World) -> Iterator[World]:
    yield world


def test_save_creates_then_updates_in_place(session: Session, w: World) -> None:
    report = save_report(session, w, "first")
    assert where(report) == ("draft", 0) and wf.status(report) == "saved"
    v = version_of(report)
    again = save_report(session, w, "second", version=v)
    assert again.id == report.id and again.current is not None
    assert again.current.revision_no == 1 and again.current.data == {"text": "second"}
    assert version_of(again) == v + 1
    actions = [e.action for e in wf.trail(session, report)]
    assert actions == ["create", "save"]
    assert wf.status(None) == "not_reported"


def test_full_chain_to_final_approval_locks_and_publishes(session: Session, w: World) -> None:
    report = sent_report(session, w)
    assert where(report) == ("submitted", 1) and wf.status(report) == "sent"
    assert wf.waiting_level(report) == wf.REVIEW
    report = wf.decide(session, actor(w, "reviewer"), report, "approve", version_of(report))
    assert where(report) == ("submitted", 2) and report.approved_revision_id is None
    assert wf.waiting_level(report) == wf.ACCEPT
    report = wf.decide(session, actor(w, "admin"), report, "approve", version_of(report))
    assert where(report) == ("approved", 3) and wf.status(report) == "approved"
    assert report.approved_revision_id == report.current_revision_id
    trail = wf.trail(session, report)
    assert [(e.action, e.from_level, e.to_level) for e in trail] == [
        ("create", 0, 0),
        ("submit", 0, 1),
        ("approve", 1, 2),
        ("approve", 2, 3),
    ]
    assert trail[-1].user_id == w.users["admin"].id
    kinds = session.scalars(select(ChangeEvent.kind).order_by(ChangeEvent.id)).all()
    assert "office.updated" in kinds and kinds.count("report.changed") == 4
    audit = session.scalars(
        select(AuditLog.action).where(AuditLog.entity == "test_report").order_by(AuditLog.id)
    ).all()
    assert audit == [
        "test_report.create",
        "test_report.submit",
        "test_report.approve",
        "test_report.approve",
    ]
    # Locked: no decision moves it further, and saving opens a new revision.
    refused(409, wf.decide, session, actor(w, "admin"), report, "approve", version_of(report))
    refused(
        409, wf.decide, session, actor(w, "reviewer"), report, "return", version_of(report), "x"
    )
    refused(409, wf.submit, session, actor(w, "own_director"), report, version_of(report))


def test_two_level_kind_is_final_after_review(session: Session, w: World) -> None:
    report = sent_report(session, w, kind="test_two")
    report = wf.decide(session, actor(w, "reviewer"), report, "approve", version_of(report))
    assert where(report) == ("approved", 2)


def test_approved_changes_only_through_a_new_revision(session: Session, w: World) -> None:
    report = sent_report(session, w, kind="test_two", text="approved text")
    report = wf.decide(session, actor(w, "reviewer"), report, "approve", version_of(report))
    approved_id = report.approved_revision_id
    v = version_of(report)
    report = save_report(session, w, "new text", version=v, kind="test_two")
    assert report.current is not None and report.current.revision_no == 2
    assert where(report) == ("draft", 0) and version_of(report) > v
    # The approved revision stays public, unchanged.
    assert report.approved_revision_id == approved_id
    assert report.approved is not None and report.approved.data == {"text": "approved text"}
    assert wf.trail(session, report)[-1].action == "revise"
    report = wf.submit(session, actor(w, "own_director"), report, version_of(report))
    report = wf.decide(session, actor(w, "reviewer"), report, "approve", version_of(report))
    assert report.approved_revision_id == report.current_revision_id != approved_id


def test_return_and_resubmit(session: Session, w: World) -> None:
    report = sent_report(session, w)
    err = refused(
        400, wf.decide, session, actor(w, "reviewer"), report, "return", version_of(report)
    )
    assert "comment is required" in str(err)
    report = wf.decide(
        session, actor(w, "reviewer"), report, "return", version_of(report), "เพิ่มหลักฐาน"
    )
    assert where(report) == ("returned", 0) and wf.status(report) == "returned"
    last = wf.last_comment(session, report)
    assert last is not None and last.comment == "เพิ่มหลักฐาน"
    # Saving keeps it "returned" (the office still owes an answer) until it is sent again.
    report = save_report(session, w, "fixed", version=version_of(report))
    assert where(report) == ("returned", 0)
    report = wf.submit(session, actor(w, "own_director"), report, version_of(report))
    assert where(report) == ("submitted", 1)


def test_a_higher_level_returns_from_level_two(session: Session, w: World) -> None:
    report = sent_report(session, w)
    report = wf.decide(session, actor(w, "reviewer"), report, "approve", version_of(report))
    report = wf.decide(session, actor(w, "admin"), report, "return", version_of(report), "ทบทวน")
    assert where(report) == ("returned", 0)


def test_unapprove_goes_one_level_down_and_only_from_above(session: Session, w: World) -> None:
    report = sent_report(session, w)
    report = wf.decide(session, actor(w, "reviewer"), report, "approve", version_of(report))
    # Level 2 (review) can be undone only by the level above it (accept: admins).
    err = refused(
        403, wf.decide, session, actor(w, "reviewer"), report, "unapprove", version_of(report), "x"
    )
    assert "higher approval level" in str(err)
    refused(400, wf.decide, session, actor(w, "admin"), report, "unapprove", version_of(report), "")
    report = wf.decide(
        session, actor(w, "admin"), report, "unapprove", version_of(report), "ตรวจใหม่"
    )
    assert where(report) == ("submitted", 1)
    # Level 1 (the certification) undone by OBEC: back to the office.
    report = wf.decide(
        session, actor(w, "reviewer"), report, "unapprove", version_of(report), "แก้ไข"
    )
    assert where(report) == ("returned", 0)
    refused(
        409, wf.decide, session, actor(w, "admin"), report, "unapprove", version_of(report), "x"
    )


def test_unapproving_the_final_level_unpublishes(session: Session, w: World) -> None:
    report = sent_report(session, w, kind="test_two", text="one")
    report = wf.decide(session, actor(w, "reviewer"), report, "approve", version_of(report))
    first = report.approved_revision_id
    report = save_report(session, w, "two", version=version_of(report), kind="test_two")
    report = wf.submit(session, actor(w, "own_director"), report, version_of(report))
    report = wf.decide(session, actor(w, "reviewer"), report, "approve", version_of(report))
    assert report.approved_revision_id != first
    # The top level undoes its own final approval: the previous approved revision is public again.
    report = wf.decide(
        session, actor(w, "admin"), report, "unapprove", version_of(report), "ผิดพลาด"
    )
    assert where(report) == ("submitted", 1)
    assert report.approved_revision_id == first
    assert report.current is not None and report.current.approved_at is None


def test_rights_of_each_step(session: Session, w: World) -> None:
    refused(403, save_report, session, w, who="other_editor")
    refused(403, save_report, session, w, who="reviewer")
    report = save_report(session, w)
    err = refused(403, wf.submit, session, actor(w, "own_editor"), report, version_of(report))
    assert "director" in str(err)
    refused(403, wf.submit, session, actor(w, "reviewer"), report, version_of(report))
    report = wf.submit(session, actor(w, "own_director"), report, version_of(report))
    for who in ("own_editor", "own_director", "other_editor"):
        refused(403, wf.decide, session, actor(w, who), report, "approve", version_of(report))
    report = wf.decide(session, actor(w, "reviewer"), report, "approve", version_of(report))
    err = refused(
        403, wf.decide, session, actor(w, "reviewer"), report, "approve", version_of(report)
    )
    assert "which you may not pass" in str(err)
    assert wf.may_decide(w.users["admin"], report, "approve")
    assert not wf.may_decide(w.users["reviewer"], report, "approve")
    assert [r.id for r in wf.waiting_for(session, "test_three", w.users["admin"])] == [report.id]
    assert wf.waiting_for(session, "test_three", w.users["reviewer"]) == []
    assert wf.waiting_for(session, "test_three", w.users["own_director"]) == []


def test_state_refusals(session: Session, w: World) -> None:
    report = save_report(session, w, text="")
    err = refused(400, wf.submit, session, actor(w, "own_director"), report, version_of(report))
    assert "incomplete" in str(err)
    refused(409, wf.decide, session, actor(w, "reviewer"), report, "approve", version_of(report))
    refused(
        409, wf.decide, session, actor(w, "reviewer"), report, "unapprove", version_of(report), "x"
    )
    refused(400, wf.decide, session, actor(w, "reviewer"), report, "publish", version_of(report))
    report = save_report(session, w, text="ok", version=version_of(report))
    report = wf.submit(session, actor(w, "own_director"), report, version_of(report))
    # Sent: not editable, not sendable again.
    err = refused(409, save_report, session, w, text="change", version=version_of(report))
    assert "waits for review" in str(err)
    refused(409, wf.submit, session, actor(w, "own_director"), report, version_of(report))
    refused(400, save_report, session, w, text="x" * 51, version=0, kind="test_two")


def test_stale_versions_are_refused_and_change_nothing(session: Session, w: World) -> None:
    report = save_report(session, w, "first")
    stale = version_of(report)
    report = save_report(session, w, "second", version=stale)
    err = refused(409, save_report, session, w, "third", version=stale)
    assert "changed by someone else" in str(err)
    refused(409, wf.submit, session, actor(w, "own_director"), report, stale)
    refused(409, save_report, session, w, "again", version=None)
    report = wf.submit(session, actor(w, "own_director"), report, version_of(report))
    refused(409, wf.decide, session, actor(w, "reviewer"), report, "approve", stale)
    assert report.current is not None and report.current.data == {"text": "second"}
    # A report that does not exist yet is not "version 5" of anything.
    refused(
        409,
        wf.save,
        session,
        actor(w, "own_editor"),
        "test_three",
        w.own,
        w.fy,
        "subject:2",
        {"text": "x"},
        5,
    )


def test_unknown_kind_and_report(session: Session, w: World) -> None:
    refused(404, wf.spec_of, "nope")
    refused(404, wf.report_or_404, session, 2**31)
    with pytest.raises(ValueError):
        wf.register(wf.KindSpec("bad", "bad", (wf.REVIEW,), clean_text, missing_text))


def test_ingestion_writes_without_a_user(session: Session, w: World) -> None:
    robot = Actor(None, None)
    report = wf.save(
        session,
        robot,
        "test_two",
        w.own,
        w.fy,
        "subject:9",
        {"text": "feed"},
        None,
        source="ingest:demo",
        authorized=True,
    )
    report = wf.submit(session, robot, report, version_of(report), authorized=True)
    assert where(report) == ("submitted", 1)
    assert report.current is not None and report.current.source == "ingest:demo"
    assert session.scalar(select(func.count()).select_from(WorkflowEvent)) == 2
    assert session.get(Office, report.office_id) is not None
