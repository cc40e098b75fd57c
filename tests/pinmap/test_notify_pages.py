"""The notification pages: the header's unread count, the inbox (escaped texts, marking read),
the settings form (its refusals in Thai), and the admins' undelivered messages."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import Notification, NotificationDelivery
from pinmap.services import notify

from ..signin import sign_in
from ..support.portal import World, no_csrf

EVIL = '<script>alert("x")</script>'


def _message(session: Session, world: World, title: str = EVIL) -> Notification:
    notify.record(
        session,
        [world.users["own_editor"].id],
        "report_returned",
        "report:1",
        f"return:{title[:10]}",
        {"title": title, "comment": f"แก้ไข {EVIL}"},
        "/portal/",
    )
    session.commit()
    return session.scalars(select(Notification).order_by(Notification.id.desc())).first()  # type: ignore[return-value]


def test_the_inbox_counts_shows_escaped_and_marks_read(
    app: Flask, world: World, session: Session
) -> None:
    no_csrf(app)
    n = _message(session, world)
    client = app.test_client()
    sign_in(client, world.users["own_editor"])
    home = client.get("/portal/inbox").get_data(as_text=True)
    assert 'class="badge"' in home and ">1</span>" in home
    assert EVIL not in home and "&lt;script&gt;" in home
    assert "ส่งคืนรายงาน" in home and "ปิดการส่งอีเมล" in home  # Thai, mail is off here
    # Someone else's message is not theirs to mark.
    other = app.test_client()
    sign_in(other, world.users["own_director"])
    assert other.post(f"/portal/inbox/{n.id}/read").status_code == 404
    assert client.post(f"/portal/inbox/{n.id}/read").status_code == 302
    after = client.get("/portal/inbox").get_data(as_text=True)
    assert 'class="badge"' not in after
    session.expire_all()
    assert session.get(Notification, n.id).read_at is not None  # type: ignore[union-attr]


def test_settings_save_and_refuse_an_unknown_kind_in_thai(
    app: Flask, world: World, session: Session
) -> None:
    no_csrf(app)
    client = app.test_client()
    sign_in(client, world.users["own_director"])
    assert client.get("/portal/inbox/settings").status_code == 200
    r = client.post("/portal/inbox/settings", data={"email": ["report_returned"], "digest": "on"})
    assert r.status_code == 302
    prefs = notify.preferences(session, world.users["own_director"].id)
    assert prefs.daily_digest and "report_returned" not in prefs.email_off
    assert "window_open" in prefs.email_off
    bad = client.post("/portal/inbox/settings", data={"email": [EVIL]})
    assert bad.status_code == 400
    assert "โปรดเลือก" in bad.get_data(as_text=True) and EVIL not in bad.get_data(as_text=True)


def test_admins_see_failed_deliveries_with_their_errors(
    app: Flask, world: World, session: Session
) -> None:
    no_csrf(app)
    n = _message(session, world)
    d = session.scalars(
        select(NotificationDelivery).where(
            NotificationDelivery.notification_id == n.id, NotificationDelivery.channel == "email"
        )
    ).one()
    d.status, d.attempts, d.last_error = "failed", 8, f"550 refused {EVIL}"
    session.commit()
    client = app.test_client()
    sign_in(client, world.users["admin"])
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "550 refused &lt;script&gt;" in page and EVIL not in page
    assert client.post(f"/admin/outbox/{d.id}/retry").status_code == 302
    session.expire_all()
    assert session.get(NotificationDelivery, d.id).status == "pending"  # type: ignore[union-attr]
    assert client.post("/admin/outbox/999999/retry").status_code == 404
    reviewer = app.test_client()
    sign_in(reviewer, world.users["reviewer"])
    assert reviewer.get("/admin/outbox").status_code == 403


def test_a_report_message_links_to_the_page_of_that_report(
    app: Flask, world: World, session: Session
) -> None:
    from pinmap.models import WorkflowReport

    office = world.own
    cases = {
        "progress": ("portal.entry", {"subject_id": world.item.id, "period": world.round_no}),
        "quarterly_project": ("portal.quarter_report", {"subject_id": 5, "period": 2}),
        "operating_plan": ("portal.plan_edit", {}),
        "profile": ("portal.profile", {}),
        "best_practice": ("portal.best_practice_edit", {"subject_id": 9}),
        "some_new_kind": ("portal.office", {}),
    }
    adapter = app.url_map.bind("pinmap.test")
    for kind, (endpoint, fields) in cases.items():
        report = WorkflowReport(
            kind=kind, office_id=office.id, fiscal_year=world.fy, subject=kind, **fields
        )
        link = notify.report_link(session, report)
        assert link.startswith(f"/portal/offices/{office.code}"), link
        found, _args = adapter.match(link, method="GET")
        assert found == endpoint, (kind, link, found)
    assert notify.report_link(session, WorkflowReport(kind="progress", office_id=office.id)) == (
        f"/portal/offices/{office.code}"
    )


def test_the_settings_keep_a_language_and_refuse_an_unknown_one(
    app: Flask, world: World, session: Session
) -> None:
    no_csrf(app)
    client = app.test_client()
    sign_in(client, world.users["own_editor"])
    form = client.get("/portal/inbox/settings").get_data(as_text=True)
    assert 'name="language" value="th" checked' in form  # Thai unless chosen
    ok = client.post(
        "/portal/inbox/settings", data={"email": ["report_returned"], "language": "en"}
    )
    assert ok.status_code == 302
    assert notify.preferences(session, world.users["own_editor"].id).language == "en"
    bad = client.post(
        "/portal/inbox/settings", data={"email": ["window_open"], "digest": "on", "language": EVIL}
    )
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "ภาษาอังกฤษ" in page and EVIL not in page
    # The refused form shows what was chosen, not what was saved before.
    assert 'value="window_open" checked' in page and 'name="digest" checked' in page
    assert notify.preferences(session, world.users["own_editor"].id).language == "en"


def test_the_inbox_shows_english_names_in_english(
    app: Flask, world: World, session: Session
) -> None:
    notify.record(
        session,
        [world.users["own_editor"].id],
        "report_approved",
        "report:2",
        "approve:1",
        {"title": "แผนปฏิบัติการ ปีงบประมาณ 2570", "title_en": "Operating plan fiscal year 2570"},
        "/portal/offices/spp-krabi/plan/2570",
    )
    session.commit()
    client = app.test_client()
    sign_in(client, world.users["own_editor"])
    thai = client.get("/portal/inbox").get_data(as_text=True)
    assert "แผนปฏิบัติการ ปีงบประมาณ 2570" in thai and "Operating plan" not in thai
    client.get("/lang/en")
    english = client.get("/portal/inbox").get_data(as_text=True)
    assert "Report approved: Operating plan fiscal year 2570" in english
    assert 'href="/portal/offices/spp-krabi/plan/2570"' in english
