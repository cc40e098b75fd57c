"""Approval levels configured per report kind (/admin/workflow): the second OBEC level switched
on and off with reports in flight, roles named per level, a higher level un-approving a lower
one, and the refusals of the setting itself."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import AuditLog, WorkflowEvent
from pinmap.services import workflow as wf

from ..support.asserts import refused
from ..support.portal import World
from ..support.workflow import actor, sent_report, version_of, where


@pytest.fixture
def w(world: World) -> World:
    return world


def _set(s: Session, w: World, kind: str, review: list[str], accept: list[str] | None) -> None:
    wf.set_levels(s, actor(w, "admin"), kind, review, accept is not None, accept or [], None)


def test_second_level_switched_on_then_off_with_reports_in_flight(
    session: Session, w: World
) -> None:
    # Approved under two levels before the change.
    done = sent_report(session, w, kind="test_two")
    done = wf.decide(session, actor(w, "reviewer"), done, "approve", version_of(done))
    assert where(done) == ("approved", 2)
    _set(session, w, "test_two", ["reviewer", "admin"], ["admin"])
    assert [lv.key for lv in wf.levels_of(session, "test_two")] == ["certify", "review", "accept"]
    # Still approved and public: it passed every level in force when it was decided.
    session.refresh(done)
    assert wf.status(done) == "approved" and wf.level_label(done) == wf.REVIEW.label
    # A report sent now waits for the new level after the review.
    report = wf.save(
        session,
        actor(w, "own_editor"),
        "test_two",
        w.own,
        w.fy,
        "subject:2",
        {"text": "x"},
        0,
    )
    report = wf.submit(session, actor(w, "own_director"), report, version_of(report))
    report = wf.decide(session, actor(w, "reviewer"), report, "approve", version_of(report))
    assert where(report) == ("submitted", 2) and wf.waiting_level(report) is not None
    assert [r.id for r in wf.waiting_for(session, "test_two", w.users["admin"])] == [report.id]
    # Switched off: the report that waited for it is finally approved, and says why.
    _set(session, w, "test_two", ["reviewer", "admin"], None)
    session.refresh(report)
    assert where(report) == ("approved", 2)
    assert report.approved_revision_id == report.current_revision_id
    last = session.scalars(
        select(WorkflowEvent)
        .where(WorkflowEvent.report_id == report.id)
        .order_by(WorkflowEvent.id.desc())
    ).first()
    assert last is not None and last.action == "approve" and "removed" in last.comment
    assert wf.waiting_for(session, "test_two", w.users["admin"]) == []
    actions = session.scalars(
        select(AuditLog.action).where(AuditLog.entity == "workflow_kind_levels")
    ).all()
    assert actions == ["workflow_levels.set", "workflow_levels.set"]


def test_roles_named_per_level_and_a_higher_level_unapproves_a_lower_one(
    session: Session, w: World
) -> None:
    # Reviewers alone review; administrators alone accept.
    _set(session, w, "test_three", ["reviewer"], ["admin"])
    report = sent_report(session, w)
    assert wf.waiting_for(session, "test_three", w.users["admin"]) == []
    assert [r.id for r in wf.waiting_for(session, "test_three", w.users["reviewer"])] == [report.id]
    err = refused(403, wf.decide, session, actor(w, "admin"), report, "approve", version_of(report))
    assert "which you may not pass" in str(err)
    report = wf.decide(session, actor(w, "reviewer"), report, "approve", version_of(report))
    assert where(report) == ("submitted", 2)
    # The reviewer cannot undo its own level; the accepting level above it can.
    refused(
        403, wf.decide, session, actor(w, "reviewer"), report, "unapprove", version_of(report), "x"
    )
    report = wf.decide(
        session, actor(w, "admin"), report, "unapprove", version_of(report), "ตรวจใหม่"
    )
    assert where(report) == ("submitted", 1)
    # Named the other way round, the roles swap.
    _set(session, w, "test_three", ["admin"], ["reviewer"])
    assert not wf.may_decide(w.users["reviewer"], report, "approve")
    report = wf.decide(session, actor(w, "admin"), report, "approve", version_of(report))
    report = wf.decide(session, actor(w, "reviewer"), report, "approve", version_of(report))
    assert where(report) == ("approved", 3)
    # The accepting level un-approves its own final step: unpublished, back to level 2.
    report = wf.decide(session, actor(w, "reviewer"), report, "unapprove", version_of(report), "ผิด")
    assert where(report) == ("submitted", 2) and report.approved_revision_id is None


def test_setting_levels_refusals(session: Session, w: World) -> None:
    refused(
        403, wf.set_levels, session, actor(w, "reviewer"), "test_two", ["admin"], False, [], None
    )
    refused(400, wf.set_levels, session, actor(w, "admin"), "test_two", [], False, [], None)
    refused(
        400, wf.set_levels, session, actor(w, "admin"), "test_two", ["reviewer"], True, [], None
    )
    refused(
        400, wf.set_levels, session, actor(w, "admin"), "test_two", ["own_editor"], False, [], None
    )
    refused(404, wf.set_levels, session, actor(w, "admin"), "nope", ["admin"], False, [], None)
    _set(session, w, "test_two", ["reviewer"], None)
    assert wf.kind_levels(session, "test_two").version == 1
    # A page read before that change is refused, not applied.
    refused(409, wf.set_levels, session, actor(w, "admin"), "test_two", ["admin"], False, [], 0)
    assert wf.kind_levels(session, "test_two").review_roles == ["reviewer"]
