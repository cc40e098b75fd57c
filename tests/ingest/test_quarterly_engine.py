"""Quarterly project reports ingested through the workflow engine, in bulk: what lands, the
replacement of the source's own unreviewed version, conflicts with the office's work, the
reviewer's decision, pre-approved sources and the engine's own refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from ingest.jobs import resolve_conflict, run_source
from pinmap.models import (
    AuditLog,
    IngestConflict,
    Office,
    Project,
    Quarantine,
    WorkflowEvent,
    WorkflowReport,
)
from pinmap.services import projects as project_svc
from pinmap.services import workflow as wf
from pinmap.services.audit import Actor
from pinmap.services.errors import ServiceError

from ..support.ingest import IngestDB, Routes, page

SIX = {k: f"{k} text" for k in project_svc.POINTS}


def record(id_: str = "krabi/p1/q1", **changes: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": id_,
        "updated_at": "2024-01-10T09:00:00+07:00",
        "office_code": "spp-krabi",
        "fiscal_year": 2567,
        "quarter": 1,
        "project": "โครงการพัฒนาครู",
        "points": dict(SIX),
        "budget": {"planned": 1000, "disbursed": 250},
    }
    rec.update(changes)
    return rec


def _feed(fixed_feed: Callable[[Routes], str], routes: dict[str, bytes]) -> tuple[Routes, str]:
    table: Routes = dict(routes)
    return table, fixed_feed(table)


def _report(db: IngestDB, quarter: int = 1, name: str = "โครงการพัฒนาครู") -> WorkflowReport:
    with db.factory() as s:
        report = s.scalars(
            select(WorkflowReport)
            .join(Project, Project.id == WorkflowReport.subject_id)
            .where(WorkflowReport.kind == project_svc.KIND, WorkflowReport.period == quarter)
            .where(Project.name == name)
        ).one()
        assert report.current is not None
        s.expunge_all()
        return report


def test_a_page_lands_as_sent_reports_with_trail_and_audit(
    rollback_db: IngestDB, fixed_feed: Callable[[Routes], str]
) -> None:
    records = [record(), record("krabi/p1/q2", quarter=2), record("krabi/p2/q1", project="อื่น")]
    routes, url = _feed(fixed_feed, {"/q": page(*records)})
    rollback_db.add_source("demo-q", kind="quarterly-json", url=f"{url}/q")
    result = run_source(rollback_db.factory, "demo-q")
    reasons = rollback_db.scalar("SELECT string_agg(reason, ' | ') FROM ingest_quarantine")
    assert result.outcome == "ok" and result.counts["inserted"] == 3, (result, reasons)
    with rollback_db.factory() as s:
        projects = s.scalars(select(Project).order_by(Project.name)).all()
        assert [(p.name, p.budget_planned, p.source) for p in projects] == [
            ("อื่น", 1000.0, "ingest:demo-q"),
            ("โครงการพัฒนาครู", 1000.0, "ingest:demo-q"),
        ]
        reports = s.scalars(select(WorkflowReport).order_by(WorkflowReport.id)).all()
        assert [wf.status(r) for r in reports] == ["sent"] * 3
        rev = reports[0].current
        assert rev is not None and rev.level == 1 and rev.source == "ingest:demo-q"
        assert rev.data["target_progress"] == SIX["target_progress"]
        assert rev.data["budget_disbursed"] == 250 and rev.data["project_status"] == "ongoing"
        actions = s.scalars(
            select(WorkflowEvent.action)
            .where(WorkflowEvent.report_id == reports[0].id)
            .order_by(WorkflowEvent.id)
        ).all()
        assert actions == ["create", "submit"]
        assert s.scalar(select(func.count()).where(AuditLog.action == "ingest.inserted")) == 3
    # A replay changes nothing.
    again = run_source(rollback_db.factory, "demo-q")
    assert again.counts["unchanged"] == 3 and again.counts["inserted"] == 0
    # A newer version replaces the source's own unreviewed revision (a fresh review).
    before = _report(rollback_db)
    assert before.current is not None
    changed = record(updated_at="2024-01-20T09:00:00+07:00", budget={"planned": 1200})
    routes["/q"] = page(changed)
    third = run_source(rollback_db.factory, "demo-q")
    assert third.counts["updated"] == 1, third
    after = _report(rollback_db)
    assert after.current is not None and after.current_revision_id == before.current_revision_id
    assert after.current.version == before.current.version + 1
    assert after.current.data["budget_disbursed"] is None
    assert (
        rollback_db.scalar("SELECT budget_planned FROM projects WHERE name = 'โครงการพัฒนาครู'")
        == 1200
    )


def test_the_offices_own_work_is_a_conflict_not_an_overwrite(
    rollback_db: IngestDB, fixed_feed: Callable[[Routes], str]
) -> None:
    routes, url = _feed(fixed_feed, {"/q": page()})
    rollback_db.add_source("demo-q", kind="quarterly-json", url=f"{url}/q")
    # The office entered the quarter by hand first (a draft, its own work in progress).
    with rollback_db.factory.begin() as s:
        office = s.scalars(select(Office).filter_by(code="spp-krabi")).one()
        actor = Actor(None, None)
        project = project_svc.save_project(
            s, actor, office, 2567, {"name": "โครงการพัฒนาครู"}, authorized=True
        )
        project_svc.save_quarter(
            s,
            actor,
            project,
            1,
            {**SIX, "target_progress": "แก้โดยเขต", "budget_disbursed": 260},
            None,
            authorized=True,
        )
    newer = record(updated_at="2024-02-01T09:00:00+07:00", points={**SIX, "nesdp13": "ใหม่"})
    routes["/q"] = page(newer)
    result = run_source(rollback_db.factory, "demo-q")
    assert result.counts["conflicts"] == 1, result
    report = _report(rollback_db)
    assert report.current is not None and report.current.data["target_progress"] == "แก้โดยเขต"
    # A different version is a conflict of its own; the same version again (below) is not.
    routes["/q"] = page({**newer, "budget": {"planned": 1000, "disbursed": 270}})
    assert run_source(rollback_db.factory, "demo-q").counts["conflicts"] == 1
    with rollback_db.factory() as s:
        conflicts = s.scalars(select(IngestConflict).order_by(IngestConflict.id)).all()
        assert len(conflicts) == 2 and all(c.report_id == report.id for c in conflicts)
        assert conflicts[0].entry_id is None
        first_id, second_id = conflicts[0].id, conflicts[1].id
    routes["/q"] = page(newer)
    assert run_source(rollback_db.factory, "demo-q").counts["unchanged"] == 1
    # The reviewer keeps the manual report for one, takes the source's version for the other.
    with rollback_db.factory.begin() as s:
        version = _report(rollback_db).current.version  # type: ignore[union-attr]
        resolve_conflict(s, Actor(None, None), first_id, "keep", version)
    with rollback_db.factory.begin() as s:
        resolve_conflict(s, Actor(None, None), second_id, "accept", version)
    report = _report(rollback_db)
    assert report.current is not None and report.current.data["nesdp13"] == "ใหม่"
    assert wf.status(report) == "sent" and report.current.source == "ingest:demo-q"
    with rollback_db.factory.begin() as s:
        try:
            resolve_conflict(s, Actor(None, None), second_id, "accept", None)
        except ServiceError as err:
            assert err.status == 409
        else:
            raise AssertionError("a resolved conflict was resolved again")


def test_pre_approved_source_publishes_and_an_approved_report_gets_a_new_revision(
    rollback_db: IngestDB, fixed_feed: Callable[[Routes], str]
) -> None:
    routes, url = _feed(fixed_feed, {"/q": page(record())})
    rollback_db.add_source("demo-q", kind="quarterly-json", url=f"{url}/q", pre_approved=True)
    assert run_source(rollback_db.factory, "demo-q").counts["inserted"] == 1
    first = _report(rollback_db)
    assert first.current is not None and wf.status(first) == "approved"
    assert first.current.level == wf.spec_of(project_svc.KIND).final
    assert first.approved_revision_id == first.current_revision_id
    with rollback_db.factory() as s:
        actions = s.scalars(select(WorkflowEvent.action).order_by(WorkflowEvent.id)).all()
        assert actions == ["create", "submit", "approve", "approve"]
        office = s.scalars(select(Office).filter_by(code="spp-krabi")).one()
        assert [p.project.name for p in project_svc.public_reports(s, office.id)] == [
            "โครงการพัฒนาครู"
        ]
    routes["/q"] = page(record(updated_at="2024-02-01T09:00:00+07:00"))
    assert run_source(rollback_db.factory, "demo-q").counts["updated"] == 1
    second = _report(rollback_db)
    assert second.current is not None and second.current.revision_no == 2
    assert second.approved_revision_id == second.current_revision_id
    assert first.current is not None and second.current.version == first.current.version + 1


def test_what_the_engine_refuses_is_quarantined(
    rollback_db: IngestDB, fixed_feed: Callable[[Routes], str]
) -> None:
    # A name of control characters only is empty once cleaned: the engine wants a name.
    bad = record("bad", project="\u0007\u0008")
    routes, url = _feed(fixed_feed, {"/q": page(bad, record())})
    rollback_db.add_source("demo-q", kind="quarterly-json", url=f"{url}/q")
    result = run_source(rollback_db.factory, "demo-q")
    assert result.counts["quarantined"] == 1 and result.counts["inserted"] == 1
    with rollback_db.factory() as s:
        row = s.scalars(select(Quarantine)).one()
        assert row.source_record_id == "bad" and "name" in row.reason
        assert json.loads(json.dumps(row.field)) == "points"
