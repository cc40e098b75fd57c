"""Bulk work: a director certifies and sends many reports, a reviewer approves or returns many;
each report its own transaction with its own result (pages and API), for every engine kind."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import AuditLog, Project, WorkflowReport
from pinmap.services import bulk
from pinmap.services import plans as plans_svc
from pinmap.services import progress as progress_svc
from pinmap.services import projects as svc
from pinmap.services.bulk import Item

from ..signin import sign_in
from ..support.factories import PolicyItemFactory
from ..support.portal import OWN, World, full_report, no_csrf
from ..support.projects import actor, form, open_quarter

KIND = svc.KIND


def _projects(session: Session, w: World, n: int) -> list[Project]:
    fy, _q = open_quarter()
    made = [
        svc.save_project(
            session,
            actor(w, "own_editor"),
            w.own,
            fy,
            {"name": f"โครงการ {i}", "budget_planned": "1"},
        )
        for i in range(n)
    ]
    session.commit()
    return made


def _quarters(session: Session, w: World, complete: int, incomplete: int) -> list[WorkflowReport]:
    """Saved quarter reports of the open quarter: `complete` ready to send, then the others."""
    _fy, q = open_quarter()
    reports = []
    for i, project in enumerate(_projects(session, w, complete + incomplete)):
        data = form() if i < complete else {"target_progress": "ยังไม่ครบ"}
        reports.append(svc.save_quarter(session, actor(w, "own_editor"), project, q, data, 0))
    session.commit()
    return reports


def _client(app: Flask, w: World, who: str) -> FlaskClient:
    client = no_csrf(app).test_client()
    sign_in(client, w.users[who])
    return client


def _state(session: Session, report_id: int) -> tuple[str, int]:
    session.expire_all()
    report = session.get(WorkflowReport, report_id)
    assert report is not None and report.current is not None
    return report.current.state, report.current.level


def _checkbox(html: str, report_id: int) -> str:
    found = re.search(rf'<input type="checkbox" name="report" id="report-{report_id}"[^>]*>', html)
    assert found, f"no checkbox for report {report_id}"
    return found.group(0)


# --- the service -------------------------------------------------------------------------------


def test_sendable_says_which_reports_are_complete_and_why_not(
    app: Flask, session: Session, world: World
) -> None:
    reports = _quarters(session, world, complete=2, incomplete=1)
    fy, q = open_quarter()
    with app.test_request_context():
        found = bulk.sendable(session, actor(world, "own_director"), KIND, world.own.id, fy, q)
        assert [c.report.id for c in found] == [r.id for r in reports]
        assert [c.complete for c in found] == [True, True, False]
        refusal = found[2].refusal
        assert refusal is not None and refusal.status == 400
        assert "activity_progress" not in str(refusal)  # fields by their names, not keys
        assert found[0].title == "โครงการ 0"


def test_each_report_is_its_own_transaction(app: Flask, session: Session, world: World) -> None:
    reports = _quarters(session, world, complete=3, incomplete=0)
    items = [Item(r.id, r.current.version if r.current else None) for r in reports]
    items[1] = Item(items[1].report_id, 999)  # stale: refused, the others go on
    director = actor(world, "own_director")
    results = []
    with app.test_request_context():
        for outcome in bulk.submit_each(session, director, KIND, items, office_id=world.own.id):
            if outcome.ok:
                session.commit()
            else:
                session.rollback()
            results.append(outcome)
    assert [o.ok for o in results] == [True, False, True]
    assert results[1].error is not None and results[1].error.status == 409
    assert _state(session, reports[0].id) == ("submitted", 1)
    assert _state(session, reports[1].id) == ("draft", 0)
    assert _state(session, reports[2].id) == ("submitted", 1)


def test_a_whole_request_is_refused_before_any_report(
    app: Flask, session: Session, world: World
) -> None:
    director = actor(world, "own_director")
    reviewer = actor(world, "reviewer")
    for call, status in (
        (lambda: bulk.submit_each(session, director, KIND, []), 400),
        (lambda: bulk.submit_each(session, director, KIND, [Item(1, 1)] * 501), 400),
        (lambda: bulk.submit_each(session, director, "no_such_kind", [Item(1, 1)]), 404),
        (lambda: bulk.decide_each(session, reviewer, KIND, [Item(1, 1)], "return", " "), 400),
        (lambda: bulk.decide_each(session, reviewer, KIND, [Item(1, 1)], "unapprove", "x"), 400),
    ):
        try:
            call()
        except bulk.ServiceError as err:
            assert err.status == status
        else:
            raise AssertionError("not refused")


# --- the portal page ---------------------------------------------------------------------------


def test_the_director_sends_every_complete_report_of_a_quarter(
    app: Flask, session: Session, world: World
) -> None:
    reports = _quarters(session, world, complete=2, incomplete=1)
    fy, q = open_quarter()
    client = _client(app, world, "own_director")
    url = f"/portal/offices/{OWN}/send/{KIND}/{fy}?period={q}"
    html = client.get(url).get_data(as_text=True)
    assert "checked" in _checkbox(html, reports[0].id)
    assert "checked" in _checkbox(html, reports[1].id)
    incomplete = _checkbox(html, reports[2].id)
    assert "disabled" in incomplete and "checked" not in incomplete
    assert "ยังไม่ครบ" not in html  # the list names projects, not their text
    # What the browser sends: the preselected boxes, one of them read before a change.
    chosen = [f"{r.id}:{r.current.version if r.current else 0}" for r in reports[:2]]
    svc.save_quarter(
        session,
        actor(world, "own_editor"),
        session.get(Project, reports[1].subject_id),
        q,
        form(activity_progress="แก้ไขโดยผู้อื่น"),
        reports[1].current.version if reports[1].current else 0,
    )
    session.commit()
    r = client.post(url, data={"report": chosen, "action": "send"})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert 'class="is-done"' in page and 'class="is-refused"' in page
    assert "เวอร์ชัน" in page  # why the second was refused, in Thai
    assert _state(session, reports[0].id) == ("submitted", 1)
    assert _state(session, reports[1].id) == ("draft", 0)
    assert _state(session, reports[2].id) == ("draft", 0)


def test_only_the_director_sends_and_only_the_office_s_reports(
    app: Flask, session: Session, world: World
) -> None:
    reports = _quarters(session, world, complete=1, incomplete=0)
    fy, q = open_quarter()
    chosen = {"report": f"{reports[0].id}:1", "action": "send"}
    url = f"/portal/offices/{OWN}/send/{KIND}/{fy}"
    before = session.scalar(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(1))
    assert _client(app, world, "own_editor").post(url, data=chosen).status_code == 403
    # Another office's director cannot send ours through their own office's page.
    other = _client(app, world, "other_editor")
    assert (
        other.post(f"/portal/offices/spp-bangkok/send/{KIND}/{fy}", data=chosen).status_code == 403
    )
    assert (
        _client(app, world, "own_director")
        .get(f"/portal/offices/{OWN}/send/nothing/{fy}")
        .status_code
        == 404
    )
    for bad in ("x:1", "1:²", "9" * 50, "-1:0"):
        r = _client(app, world, "own_director").post(url, data={"report": bad, "action": "send"})
        assert r.status_code == 400, bad
    session.expire_all()
    assert session.scalar(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(1)) == before


# --- the review desk ---------------------------------------------------------------------------


def _sent(session: Session, w: World, n: int) -> list[WorkflowReport]:
    reports = _quarters(session, w, complete=n, incomplete=0)
    director = actor(w, "own_director")
    for report in reports:
        assert report.current is not None
        bulk.wf.submit(session, director, report, report.current.version)
    session.commit()
    return reports


def _chosen(reports: list[WorkflowReport]) -> list[str]:
    return [f"{r.id}:{r.current.version if r.current else 0}" for r in reports]


def test_the_reviewer_approves_and_returns_a_selection(
    app: Flask, session: Session, world: World
) -> None:
    reports = _sent(session, world, 3)
    client = _client(app, world, "reviewer")
    queue = client.get("/review/projects").get_data(as_text=True)
    for report in reports:
        assert f'value="{report.id}:' in queue
    url = f"/review/bulk/{KIND}"
    # A return needs the comment: refused whole, the choice and the comment kept.
    r = client.post(url, data={"report": _chosen(reports[:2]), "action": "return", "comment": ""})
    assert r.status_code == 400
    assert all(_state(session, x.id) == ("submitted", 1) for x in reports)
    r = client.post(url, data={"report": _chosen(reports[:2]), "action": "approve"})
    assert r.status_code == 200 and r.get_data(as_text=True).count('class="is-done"') == 2
    assert _state(session, reports[0].id) == ("submitted", 2)
    assert _state(session, reports[1].id) == ("submitted", 2)
    session.expire_all()
    r = client.post(
        url,
        data={"report": _chosen([reports[2]]), "action": "return", "comment": "เพิ่มข้อ 4"},
    )
    assert r.status_code == 200
    assert _state(session, reports[2].id) == ("returned", 0)
    # The reviewer cannot pass the acceptance level: refused per report, and said why.
    session.expire_all()
    r = client.post(url, data={"report": _chosen(reports[:1]), "action": "approve"})
    assert r.status_code == 200 and 'class="is-refused"' in r.get_data(as_text=True)
    assert _state(session, reports[0].id) == ("submitted", 2)


def test_operating_plans_plug_in_by_kind(app: Flask, session: Session, world: World) -> None:
    fy = open_quarter()[0]
    plan = plans_svc.save(
        session,
        actor(world, "own_editor"),
        world.own,
        fy,
        {k: "ข้อความ" for k in plans_svc.FIELDS},
        0,
    )
    session.commit()
    client = _client(app, world, "own_director")
    url = f"/portal/offices/{OWN}/send/{plans_svc.KIND}/{fy}"
    assert "checked" in _checkbox(client.get(url).get_data(as_text=True), plan.id)
    r = client.post(url, data={"report": _chosen([plan]), "action": "send"})
    assert r.status_code == 200 and 'class="is-done"' in r.get_data(as_text=True)
    assert _state(session, plan.id) == ("submitted", 1)
    session.expire_all()
    plan = session.get(WorkflowReport, plan.id)
    assert plan is not None
    reviewer = _client(app, world, "reviewer")
    assert f'value="{plan.id}:' in reviewer.get(f"/review/bulk/{plans_svc.KIND}").get_data(
        as_text=True
    )
    r = reviewer.post(
        f"/review/bulk/{plans_svc.KIND}", data={"report": _chosen([plan]), "action": "approve"}
    )
    assert r.status_code == 200
    assert _state(session, plan.id) == ("approved", 2)


# --- the API -----------------------------------------------------------------------------------


def _items(reports: list[WorkflowReport]) -> list[dict[str, Any]]:
    return [{"id": r.id, "version": r.current.version if r.current else 0} for r in reports]


def test_the_api_sends_and_decides_in_bulk(app: Flask, session: Session, world: World) -> None:
    reports = _quarters(session, world, complete=2, incomplete=1)
    api = app.test_client()
    r = api.post(
        f"/api/v1/bulk/{KIND}/submit",
        json={"items": _items(reports)},
        headers=world.headers("own_director"),
    )
    assert r.status_code == 200, r.get_json()
    results = r.get_json()["results"]
    assert [x["ok"] for x in results] == [True, True, False]
    assert results[2]["status"] == 400 and results[2]["message"]
    session.expire_all()
    r = api.post(
        f"/api/v1/bulk/{KIND}/decide",
        json={"decision": "return", "comment": "แนบหลักฐาน", "items": _items(reports[:2])},
        headers=world.headers("reviewer"),
    )
    assert r.status_code == 200, r.get_json()
    assert [x["ok"] for x in r.get_json()["results"]] == [True, True]
    assert _state(session, reports[0].id) == ("returned", 0)
    for body, status in (
        ({"items": []}, 400),
        ({"items": [{"id": 1, "version": 1}] * 501}, 400),
        ({"items": [{"id": "1", "version": 1}]}, 400),
    ):
        r = api.post(
            f"/api/v1/bulk/{KIND}/submit", json=body, headers=world.headers("own_director")
        )
        assert r.status_code == status, r.get_json()
    r = api.post(
        "/api/v1/bulk/nothing/submit",
        json={"items": [{"id": 1, "version": 1}]},
        headers=world.headers("own_director"),
    )
    assert r.status_code == 404
    r = api.post(
        f"/api/v1/bulk/{KIND}/decide",
        json={"decision": "return", "items": [{"id": 1, "version": 1}]},
        headers=world.headers("reviewer"),
    )
    assert r.status_code == 400 and r.get_json()["message"]


def test_the_openapi_document_has_the_bulk_routes(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/bulk/{kind}/submit"]
    assert "post" in paths["/api/v1/bulk/{kind}/decide"]


# --- progress reports: the same bulk pages, by kind ---------------------------------------------


def _progress(session: Session, w: World, complete: int, incomplete: int) -> list[WorkflowReport]:
    """Saved progress drafts of the world's open round: `complete` ready to send, then others."""
    reports = []
    for i in range(complete + incomplete):
        item = w.item if i == 0 else PolicyItemFactory(session=session, fiscal_year=w.fy, no=40 + i)
        data = full_report() if i < complete else {"what": "ยังเขียนไม่จบ"}
        progress_svc.save_draft(
            session, actor(w, "own_editor"), w.own, item, w.round_no, data, None
        )
        entry = progress_svc.find_entry(session, w.own.id, item.id, w.round_no)
        assert entry is not None
        reports.append(entry.report)
    session.commit()
    return reports


def test_the_director_sends_every_complete_progress_report_of_a_round(
    app: Flask, session: Session, world: World
) -> None:
    reports = _progress(session, world, complete=2, incomplete=1)
    client = _client(app, world, "own_director")
    office = client.get(f"/portal/offices/{OWN}?fiscal_year={world.fy}").get_data(as_text=True)
    url = f"/portal/offices/{OWN}/send/progress/{world.fy}?period={world.round_no}"
    assert url in office  # linked from the open round
    html = client.get(url).get_data(as_text=True)
    assert "checked" in _checkbox(html, reports[0].id)
    assert "checked" in _checkbox(html, reports[1].id)
    incomplete = _checkbox(html, reports[2].id)
    assert "disabled" in incomplete and "checked" not in incomplete
    assert "รายงานยังไม่ครบ" in html  # why it cannot go, in Thai
    assert f"item:{world.item.id}:round" not in html  # named in words, never by subject key
    assert f"{world.item.no}. {world.item.title_th}" in html
    chosen = [f"{r.id}:{r.current.version if r.current else 0}" for r in reports]
    r = client.post(url, data={"report": chosen, "action": "send"})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert page.count('class="is-done"') == 2 and page.count('class="is-refused"') == 1
    assert _state(session, reports[0].id) == ("submitted", 1)
    assert _state(session, reports[1].id) == ("submitted", 1)
    assert _state(session, reports[2].id) == ("draft", 0)


def test_the_reviewer_approves_a_selection_of_progress_reports(
    app: Flask, session: Session, world: World
) -> None:
    reports = _progress(session, world, complete=3, incomplete=0)
    director = actor(world, "own_director")
    for report in reports:
        assert report.current is not None
        bulk.wf.submit(session, director, report, report.current.version)
    session.commit()
    client = _client(app, world, "reviewer")
    assert "/review/bulk/progress" in client.get("/review/").get_data(as_text=True)
    page = client.get("/review/bulk/progress").get_data(as_text=True)
    for report in reports:
        assert f'value="{report.id}:' in page
    r = client.post(
        "/review/bulk/progress", data={"report": _chosen(reports[:2]), "action": "approve"}
    )
    assert r.status_code == 200 and r.get_data(as_text=True).count('class="is-done"') == 2
    assert _state(session, reports[0].id)[0] == "approved"
    assert _state(session, reports[1].id)[0] == "approved"
    assert _state(session, reports[2].id) == ("submitted", 1)
