"""The progress review desk's un-approve: a button on an approved report, comment required."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from pinmap.models import WorkflowReport
from pinmap.services import progress as svc
from pinmap.services.audit import Actor

from ..signin import sign_in
from ..support.portal import World, full_report, no_csrf


def _approved(session: Session, w: World) -> WorkflowReport:
    def who(name: str) -> Actor:
        return Actor(w.users[name], "127.0.0.1")

    rev = svc.save_draft(session, who("own_editor"), w.own, w.item, w.round_no, full_report(), None)
    entry = svc.find_entry(session, w.own.id, w.item.id, w.round_no)
    assert entry is not None
    rev = svc.submit(session, who("own_director"), entry, rev.version)
    svc.review(session, who("reviewer"), entry, "approve", "", rev.version)
    session.commit()
    return entry.report


def _state(session: Session, report_id: int) -> str:
    session.expire_all()
    report = session.get(WorkflowReport, report_id)
    assert report is not None and report.current is not None
    return report.current.state


def test_the_reviewer_un_approves_with_a_comment_only(
    app: Flask, session: Session, world: World
) -> None:
    report = _approved(session, world)
    assert report.current is not None
    version = report.current.version
    client = no_csrf(app).test_client()
    sign_in(client, world.users["reviewer"])
    url = f"/review/entries/{report.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="unapprove"' in page and "data-confirm=" in page
    refused = client.post(url, data={"decision": "unapprove", "comment": " ", "version": version})
    assert refused.status_code == 400
    assert 'role="alert"' in refused.get_data(as_text=True)
    assert _state(session, report.id) == "approved"
    done = client.post(
        url, data={"decision": "unapprove", "comment": "ตัวเลขไม่ตรงกับหลักฐาน", "version": version}
    )
    assert done.status_code == 302
    assert _state(session, report.id) != "approved"
    # The office's editor sees no such button on its own report's desk (it has no desk at all).
    editor = no_csrf(app).test_client()
    sign_in(editor, world.users["own_editor"])
    assert editor.get(url).status_code in (302, 403)
