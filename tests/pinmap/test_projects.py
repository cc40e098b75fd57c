"""Quarterly project reports through the workflow engine: rules, pages, API, ingestion."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.fiscal import fiscal_year_of, today_bangkok
from pinmap.models import AuditLog, IngestSource, Project, QuarterDeadline
from pinmap.services import projects as svc
from pinmap.services import workflow as wf
from pinmap.services.audit import utcnow

from ..signin import sign_in
from ..support.asserts import refused
from ..support.portal import OWN, World, no_csrf
from ..support.projects import SIX, actor, form, open_quarter


@pytest.fixture
def project(session: Session, world: World) -> Project:
    fy, _q = open_quarter()
    made = svc.save_project(
        session,
        actor(world, "own_editor"),
        world.own,
        fy,
        {"name": "โครงการพัฒนาครู", "budget_planned": "250000"},
    )
    session.commit()
    return made


# --- rules -------------------------------------------------------------------------------------


def test_quarters_and_default_deadlines(session: Session) -> None:
    assert svc.quarter_bounds(2570, 1) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert svc.quarter_bounds(2570, 2) == (dt.date(2027, 1, 1), dt.date(2027, 3, 31))
    assert svc.quarter_bounds(2570, 4) == (dt.date(2027, 7, 1), dt.date(2027, 9, 30))
    assert svc.deadline(session, 2570, 1) == dt.date(2027, 1, 15)
    session.add(QuarterDeadline(fiscal_year=2570, quarter=1, due_on=dt.date(2027, 1, 31)))
    session.flush()
    assert svc.deadline(session, 2570, 1) == dt.date(2027, 1, 31)


def test_clean_checks_every_field_at_once(session: Session, world: World, project: Project) -> None:
    err = refused(
        400,
        svc.save_quarter,
        session,
        actor(world, "own_editor"),
        project,
        1,
        form(budget_disbursed="lots", extra_allocation="-5", project_status="gone"),
        0,
    )
    assert "Please correct these 3 fields" in str(err)
    err = refused(
        400,
        svc.save_quarter,
        session,
        actor(world, "own_editor"),
        project,
        1,
        form(extra_allocation="5000"),
        0,
    )
    assert "extra allocation needs both" in str(err)
    report = svc.save_quarter(
        session,
        actor(world, "own_editor"),
        project,
        1,
        form(extra_allocation="5,000.50", extra_allocation_from="โครงการ ก"),
        0,
    )
    assert report.current is not None
    assert report.current.data["extra_allocation"] == 5000.5
    assert report.current.data["budget_disbursed"] == 400.0


def test_q4_must_answer_all_six_points(session: Session, world: World, project: Project) -> None:
    data = {"activity_progress": "ทำแล้ว", "budget_disbursed": 10}
    q1 = svc.save_quarter(session, actor(world, "own_editor"), project, 1, data, 0)
    q4 = svc.save_quarter(session, actor(world, "own_editor"), project, 4, data, 0)
    assert svc.missing(q1, q1.current.data) == []  # type: ignore[union-attr]
    assert set(svc.missing(q4, q4.current.data)) == {  # type: ignore[union-attr]
        "target_progress",
        "master_plan",
        "nesdp13",
        "problems_suggestions",
    }
    # A gap against the plan needs its reason; a terminated project says what happened.
    gap = {"activity_progress": "x", "budget_disbursed": 10, "budget_planned_to_date": 50}
    assert svc.missing(q1, gap) == ["budget_disbursement"]
    assert svc.missing(
        q1, {**gap, "budget_disbursement": "ล่าช้า", "project_status": "terminated"}
    ) == ["status_note"]


def test_sending_window(session: Session, world: World) -> None:
    past_fy = fiscal_year_of(today_bangkok()) - 1
    old = svc.save_project(session, actor(world, "own_editor"), world.own, past_fy, {"name": "เก่า"})
    report = svc.save_quarter(session, actor(world, "own_editor"), old, 4, form(), 0)
    err = refused(
        409, wf.submit, session, actor(world, "own_director"), report, report.current.version
    )  # type: ignore[union-attr]
    assert "deadline for quarter 4 was" in str(err)
    # OBEC extends the deadline; then it can be sent.
    due = today_bangkok() + dt.timedelta(days=3)
    refused(403, svc.set_deadline, session, actor(world, "reviewer"), past_fy, 4, due)
    refused(400, svc.set_deadline, session, actor(world, "admin"), past_fy, 4, dt.date(2000, 1, 1))
    svc.set_deadline(session, actor(world, "admin"), past_fy, 4, due)
    report = wf.submit(session, actor(world, "own_director"), report, report.current.version)  # type: ignore[union-attr]
    assert wf.status(report) == "sent"
    future = svc.save_project(
        session,
        actor(world, "own_editor"),
        world.own,
        fiscal_year_of(today_bangkok()) + 1,
        {"name": "ใหม่"},
    )
    report = svc.save_quarter(session, actor(world, "own_editor"), future, 1, form(), 0)
    err = refused(
        409, wf.submit, session, actor(world, "own_director"), report, report.current.version
    )  # type: ignore[union-attr]
    assert "opens for sending on" in str(err)


def test_project_names_are_unique_per_year_and_versions_checked(
    session: Session, world: World, project: Project
) -> None:
    err = refused(
        409,
        svc.save_project,
        session,
        actor(world, "own_editor"),
        world.own,
        project.fiscal_year,
        {"name": "โครงการพัฒนาครู"},
    )
    assert "already has a project" in str(err)
    refused(
        400,
        svc.save_project,
        session,
        actor(world, "own_editor"),
        world.own,
        project.fiscal_year,
        {"name": ""},
    )
    refused(
        403,
        svc.save_project,
        session,
        actor(world, "other_editor"),
        world.own,
        project.fiscal_year,
        {"name": "x"},
    )
    v = project.version
    svc.save_project(
        session,
        actor(world, "own_editor"),
        world.own,
        project.fiscal_year,
        {"name": "โครงการพัฒนาครู 2", "budget_planned": ""},
        project,
        v,
    )
    refused(
        409,
        svc.save_project,
        session,
        actor(world, "own_editor"),
        world.own,
        project.fiscal_year,
        {"name": "y"},
        project,
        v,
    )


# --- ingestion ---------------------------------------------------------------------------------


def test_ingestion_writes_through_the_engine(session: Session, world: World) -> None:
    fy, q = open_quarter()
    source = IngestSource(
        name="demo-q", kind="quarterly-json", url="http://127.0.0.1/q", interval_seconds=60
    )
    session.add(source)
    session.flush()
    report = svc.ingest_quarterly(
        session, source, world.own, fy, q, "โครงการจากระบบ", SIX, 1000, 300
    )
    assert wf.status(report) == "sent" and report.current is not None
    assert report.current.level == 1 and report.current.source == "ingest:demo-q"
    project = session.get(Project, report.subject_id)
    assert (
        project is not None and project.budget_planned == 1000 and project.source == "ingest:demo-q"
    )
    # While it waits for review a new version of the record is refused (a conflict for the caller).
    refused(
        409,
        svc.ingest_quarterly,
        session,
        source,
        world.own,
        fy,
        q,
        "โครงการจากระบบ",
        SIX,
        1000,
        350,
    )
    source.pre_approved = True
    other = svc.ingest_quarterly(session, source, world.own, fy, q, "โครงการที่สอง", SIX, None, 10)
    assert (
        wf.status(other) == "approved" and other.approved_revision_id == other.current_revision_id
    )
    assert [p.project.name for p in svc.public_reports(session, world.own.id)] == ["โครงการที่สอง"]


# --- pages -------------------------------------------------------------------------------------


def _page(app: Flask, w: World, who: str) -> FlaskClient:
    client = no_csrf(app).test_client()
    sign_in(client, w.users[who], lang="en")
    return client


def _quarter_url(p: Project, q: int) -> str:
    return f"/portal/offices/{OWN}/projects/{p.id}/quarters/{q}"


def test_pages_from_entry_to_public(
    app: Flask, client: FlaskClient, world: World, project: Project, session: Session
) -> None:
    _fy, q = open_quarter()
    editor = _page(app, world, "own_editor")
    board = editor.get(f"/portal/offices/{OWN}/projects?fiscal_year={project.fiscal_year}")
    assert board.status_code == 200 and "โครงการพัฒนาครู" in board.get_data(as_text=True)
    r = editor.post(_quarter_url(project, q), data={**form(), "version": "0", "action": "save"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    page = editor.get(_quarter_url(project, q)).get_data(as_text=True)
    assert "อบรมครู 3 รุ่น" in page and "Certify and send" not in page  # editors cannot send
    report = svc.report_of(session, project, q)
    assert report is not None and report.current is not None
    director = _page(app, world, "own_director")
    r = director.post(
        _quarter_url(project, q) + "/send",
        data={**form(), "version": str(report.current.version), "action": "send"},
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    session.expire_all()
    # Nothing public yet: anonymous readers see approved reports only.
    assert "อบรมครู 3 รุ่น" not in client.get(f"/offices/{OWN}").get_data(as_text=True)
    reviewer = _page(app, world, "reviewer")
    queue = reviewer.get("/review/projects").get_data(as_text=True)
    assert "โครงการพัฒนาครู" in queue
    report = svc.report_of(session, project, q)
    assert report is not None and report.current is not None
    r = reviewer.post(
        f"/review/projects/{report.id}/approve",
        data={"version": str(report.current.version), "action": "approve"},
    )
    assert r.status_code == 302
    session.expire_all()
    # The reviewer cannot pass the third level; the page says so and offers no approve button.
    report = svc.report_of(session, project, q)
    page = reviewer.get(f"/review/projects/{report.id}").get_data(as_text=True)  # type: ignore[union-attr]
    assert 'value="approve"' not in page
    r = reviewer.post(
        f"/review/projects/{report.id}/approve",  # type: ignore[union-attr]
        data={"version": str(report.current.version), "action": "approve", "comment": "ดีมาก"},  # type: ignore[union-attr]
    )
    assert r.status_code == 403 and "ดีมาก" in r.get_data(as_text=True)
    admin = _page(app, world, "admin")
    r = admin.post(
        f"/review/projects/{report.id}/approve",  # type: ignore[union-attr]
        data={"version": str(report.current.version), "action": "approve"},  # type: ignore[union-attr]
    )
    assert r.status_code == 302
    session.expire_all()
    done = svc.report_of(session, project, q)
    assert done is not None and wf.status(done) == "approved", wf.status(done)
    assert svc.public_reports(session, world.own.id)
    html = client.get(f"/offices/{OWN}").get_data(as_text=True)
    for text in SIX.values():
        assert text in html
    assert session.scalar(select(AuditLog.id).where(AuditLog.action == "quarterly_report.approve"))


def test_page_refusals_keep_what_was_typed(
    app: Flask, world: World, project: Project, session: Session
) -> None:
    _fy, q = open_quarter()
    editor = _page(app, world, "own_editor")
    typed = form(budget_disbursed="lots", problems_suggestions="ข้อความที่พิมพ์ไว้")
    r = editor.post(_quarter_url(project, q), data={**typed, "version": "0", "action": "save"})
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "ข้อความที่พิมพ์ไว้" in body and 'value="lots"' in body
    assert "amount in baht" in body
    assert (
        editor.post(
            _quarter_url(project, q), data={**form(), "version": "0", "action": "save"}
        ).status_code
        == 302
    )
    # Stale version.
    r = editor.post(
        _quarter_url(project, q),
        data={**form(problems_suggestions="ฉบับที่สอง"), "version": "0", "action": "save"},
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 409 and "ฉบับที่สอง" in body and "changed by someone else" in body
    # Incomplete quarter 4, and a closed window, refused with the text kept.
    director = _page(app, world, "own_director")
    r = director.post(
        _quarter_url(project, 4) + "/send",
        data={
            "activity_progress": "เฉพาะข้อ 2",
            "budget_disbursed": "1",
            "version": "0",
            "action": "send",
        },
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "เฉพาะข้อ 2" in body and "all six points" in body
    old = svc.save_project(
        session, actor(world, "own_editor"), world.own, project.fiscal_year - 1, {"name": "ปีก่อน"}
    )
    session.commit()
    r = director.post(
        _quarter_url(old, 4) + "/send",
        data={**form(nesdp13="ยังอยู่"), "version": "0", "action": "send"},
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 409 and "ยังอยู่" in body and "deadline" in body
    # Another office's project is not found from this office's address.
    other = _page(app, world, "other_editor")
    assert other.get(_quarter_url(project, q)).status_code == 403
    assert editor.get(f"/portal/offices/{OWN}/projects/{project.id}/quarters/5").status_code == 404


# --- API ---------------------------------------------------------------------------------------


def test_api_reads_and_writes_with_the_page_rules(
    app: Flask, world: World, project: Project
) -> None:
    _fy, q = open_quarter()
    api = app.test_client()
    h = world.headers
    url = f"/api/v1/projects/{project.id}/quarters/{q}"
    r = api.put(url, json={"version": 0, **SIX, "budget_disbursed": 10}, headers=h("own_editor"))
    assert r.status_code == 200, r.get_json()
    saved = r.get_json()
    assert saved["status"] == "saved" and saved["target_progress"] == SIX["target_progress"]
    assert api.put(url, json={"version": 0, **SIX}, headers=h("own_editor")).status_code == 409
    assert (
        api.put(url, json={"version": saved["version"]}, headers=h("other_editor")).status_code
        == 403
    )
    assert api.put(url, json={"budget_disbursed": -1}, headers=h("own_editor")).status_code == 400
    # Drafts are for the office and OBEC; anonymous readers get only what was approved.
    listing = f"/api/v1/offices/{OWN}/projects?fiscal_year={project.fiscal_year}"
    anon = api.get(listing).get_json()
    assert anon["projects"][0]["quarters"][q - 1]["report"] is None
    own = api.get(listing, headers=h("own_editor")).get_json()
    assert own["projects"][0]["quarters"][q - 1]["status"] == "saved"
    assert api.get(url).status_code == 404
    r = api.post(url + "/submit", json={"version": saved["version"]}, headers=h("own_director"))
    assert r.status_code == 200, r.get_json()
    sent = r.get_json()
    queue = api.get("/api/v1/review/project-reports", headers=h("reviewer")).get_json()
    assert [x["id"] for x in queue["reports"]] == [sent["id"]]
    decision = f"/api/v1/review/project-reports/{sent['id']}/decision"
    r = api.post(
        decision, json={"version": sent["version"], "decision": "approve"}, headers=h("reviewer")
    )
    assert r.status_code == 200 and r.get_json()["level"] == 2
    stale = api.post(
        decision,
        json={"version": sent["version"], "decision": "approve"},
        headers={**h("admin"), "Accept-Language": "en"},
    )
    assert stale.status_code == 409 and "changed by someone else" in stale.get_json()["message"]
    r = api.post(
        decision,
        json={"version": r.get_json()["version"], "decision": "approve"},
        headers=h("admin"),
    )
    assert r.status_code == 200 and r.get_json()["status"] == "approved"
    assert api.get(url).get_json()["problems_suggestions"] == SIX["problems_suggestions"]
    spec = api.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/projects/{project_id}/quarters/{quarter}" in spec["paths"]


def test_review_desk_refusals_keep_the_comment(
    app: Flask, world: World, project: Project, session: Session
) -> None:
    _fy, q = open_quarter()
    report = svc.save_quarter(session, actor(world, "own_editor"), project, q, form(), 0)
    report = wf.submit(session, actor(world, "own_director"), report, report.current.version)  # type: ignore[union-attr]
    session.commit()
    reviewer = _page(app, world, "reviewer")
    url = f"/review/projects/{report.id}"
    version = str(report.current.version)  # type: ignore[union-attr]
    r = reviewer.post(url + "/return", data={"version": version, "action": "return", "comment": ""})
    assert r.status_code == 400 and "comment is required" in r.get_data(as_text=True)
    r = reviewer.post(url + "/approve", data={"version": version, "action": "approve"})
    assert r.status_code == 302
    # Undoing OBEC's review belongs to the level above it; the typed reason survives the refusal.
    r = reviewer.post(
        url + "/unapprove",
        data={"version": str(int(version) + 1), "action": "unapprove", "comment": "เหตุผลที่พิมพ์"},
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 403 and "เหตุผลที่พิมพ์" in body and "higher approval level" in body
    # A stale version is a 409 that keeps the comment too.
    r = reviewer.post(
        url + "/return", data={"version": version, "action": "return", "comment": "ช้าไป"}
    )
    assert r.status_code == 409 and "ช้าไป" in r.get_data(as_text=True)
    admin = _page(app, world, "admin")
    r = admin.post(
        url + "/unapprove",
        data={"version": str(int(version) + 1), "action": "unapprove", "comment": "ตรวจใหม่"},
    )
    assert r.status_code == 302
    session.expire_all()
    again = svc.report_of(session, project, q)
    assert again is not None and again.current is not None and again.current.level == 1
    assert reviewer.get("/review/projects/999999").status_code == 404


def test_a_quarterly_conflict_on_the_admin_page_is_decided(
    app: Flask, world: World, project: Project, session: Session
) -> None:
    """A conflict ingestion recorded on a quarterly report is listed with its project and
    quarter, and the reviewer's "keep" resolves it (ingest/write_quarterly.py writes them)."""
    from pinmap.models import IngestConflict, IngestRun

    _fy, q = open_quarter()
    report = svc.save_quarter(session, actor(world, "own_editor"), project, q, form(), 0)
    source = IngestSource(
        name="demo-q", kind="quarterly-json", url="http://127.0.0.1/q", interval_seconds=60
    )
    session.add(source)
    session.flush()
    run = IngestRun(source_id=source.id, started_at=utcnow())
    session.add(run)
    session.flush()
    record = {
        "office_code": OWN,
        "project": project.name,
        "quarter": q,
        "points": {"target_progress": "จากระบบต้นทาง"},
        "updated_at": str(utcnow()),
    }
    conflict = IngestConflict(
        source_id=source.id,
        source_record_id="rec-1",
        report_id=report.id,
        run_id=run.id,
        source_payload={"sha256": "0" * 64, "record": record},
    )
    session.add(conflict)
    session.commit()
    reviewer = _page(app, world, "reviewer")
    page = reviewer.get("/admin/ingest/conflicts").get_data(as_text=True)
    assert project.name in page and "จากระบบต้นทาง" in page and SIX["target_progress"] in page
    assert report.current is not None
    r = reviewer.post(
        "/admin/ingest/conflicts",
        data={
            "conflict_id": str(conflict.id),
            "decision": "keep",
            "version": report.current.version,
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    session.expire_all()
    assert session.get_one(IngestConflict, conflict.id).resolved_at is not None
