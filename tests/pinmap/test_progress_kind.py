"""Progress reports as a kind of the one workflow engine: its checks, its two levels, its window."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from pinmap.models import ReportingWindow, WorkflowReport
from pinmap.services import progress
from pinmap.services import workflow as wf
from pinmap.services.audit import Actor, utcnow
from pinmap.services.errors import ServiceError

from ..support.portal import World, full_report


def _actor(w: World, who: str) -> Actor:
    return Actor(w.users[who], "127.0.0.1", utcnow())


def _save(s: Session, w: World, data: dict[str, Any], version: int | None = 0) -> WorkflowReport:
    subject = progress.subject_of(w.item.id, w.round_no)
    return wf.save(
        s,
        _actor(w, "own_editor"),
        progress.KIND,
        w.own,
        w.fy,
        subject,
        data,
        version,
        subject_id=w.item.id,
        period=w.round_no,
    )


def _v(report: WorkflowReport) -> int:
    assert report.current is not None
    return report.current.version


def test_the_kind_is_registered_with_the_old_two_levels() -> None:
    spec = wf.spec_of("progress")
    assert [lv.action for lv in spec.levels] == ["certify_report", "review_report"]
    assert spec.edit_action == "edit_entry"


def test_a_report_goes_through_the_engine(session: Session, world: World) -> None:
    w = world
    data = {k: v for k, v in full_report().items() if k != "version"}
    report = _save(session, w, data)
    assert report.subject == f"item:{w.item.id}:round:{w.round_no}"
    assert report.current is not None
    stored = report.current.data
    assert set(stored) == set(progress.DATA_KEYS)
    assert stored["what"] == data["what"]
    # Derived, never typed, as before the engine.
    assert stored["indicator_achieved"] == (data["indicator_value"] >= data["indicator_target"])
    report = wf.submit(session, _actor(w, "own_director"), report, _v(report))
    assert wf.waiting_level(report) == wf.REVIEW
    report = wf.decide(session, _actor(w, "reviewer"), report, "return", _v(report), "เพิ่มภาพ")
    assert wf.status(report) == "returned"
    assert wf.last_comment(session, report) is not None
    report = wf.submit(session, _actor(w, "own_director"), report, _v(report))
    report = wf.decide(session, _actor(w, "reviewer"), report, "approve", _v(report))
    assert wf.status(report) == "approved" and report.approved is not None
    # A change after approval is a new revision; the approved one stays public.
    approved_id = report.approved_revision_id
    report = _save(session, w, {"what": "แก้ไขหลังอนุมัติ"}, _v(report))
    assert report.current is not None and report.current.revision_no == 2
    assert report.approved_revision_id == approved_id
    assert report.current.data["where"] == data["where"]  # the other points carried over


def test_the_form_checks_apply(session: Session, world: World) -> None:
    with pytest.raises(ServiceError) as err:
        _save(session, world, {"what": "ก" * (progress.MAX_NARRATIVE + 1)})
    assert err.value.status == 400
    with pytest.raises(ServiceError) as err:
        _save(session, world, {"indicator_unit": "percent", "indicator_value": 120})
    assert err.value.status == 400


def test_an_incomplete_report_or_a_closed_window_is_not_certified(
    session: Session, world: World
) -> None:
    w = world
    report = _save(session, w, {"status": "on_plan", "what": "บางส่วน"})
    with pytest.raises(ServiceError) as err:
        wf.submit(session, _actor(w, "own_director"), report, _v(report))
    assert err.value.status == 400
    data = {k: v for k, v in full_report().items() if k != "version"}
    report = _save(session, w, data, _v(report))
    window = session.query(ReportingWindow).filter_by(fiscal_year=w.fy, round_no=w.round_no).one()
    window.opens_on = window.closes_on = dt.date(2001, 1, 1)
    session.flush()
    with pytest.raises(ServiceError) as err:
        wf.submit(session, _actor(w, "own_director"), report, _v(report))
    assert err.value.status == 409
