"""Coaching reaches the office (issue 14, requirement 4): a published plan and its messages,
a published visit record whose follow-ups each office acknowledges and reports on in a later
round, the office's own cluster sessions and calendar, and the 12-month findings sent back."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from pinmap.models import (
    AuditLog,
    FollowUpAck,
    FollowUpReport,
    Notification,
    Office,
    ResultRecord,
    VisitPlan,
    VisitRecord,
)
from pinmap.services import coaching as svc
from pinmap.services.audit import Actor
from pinmap.services.errors import ServiceError

from ..signin import sign_in
from ..support.coaching import _round
from ..support.portal import OTHER, OWN, World, no_csrf

NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
# Krabi (cluster 6) hosts; a neighbour of its cluster is invited; Bangkok (cluster 1) is not.
NEIGHBOUR = "spp-phangnga"
AGENDA = "1. ทบทวนแผน <b>ปฏิบัติการ</b>\n2. เยี่ยมโรงเรียน & ถอดบทเรียน"
FOLLOW_UPS = "ส่งแผนปรับปรุง <script>alert(1)</script>\n\n- จัดอบรมครูคณิตศาสตร์"


def _office(session: Session, code: str) -> Office:
    return session.scalars(select(Office).filter_by(code=code)).one()


def _actor(w: World, who: str) -> Actor:
    return Actor(w.users[who], "127.0.0.1", NOW)


def _messages(session: Session, kind: str, subject: str | None = None) -> int:
    stmt = select(func.count()).select_from(Notification).where(Notification.kind == kind)
    if subject is not None:
        stmt = stmt.where(Notification.subject == subject)
    return int(session.scalar(stmt) or 0)


def _plan(session: Session, w: World, *, publish: bool = True) -> VisitPlan:
    coach = _actor(w, "coach")
    plan = svc.create_plan(session, coach, _round(session, 2).id, 6, host_code=OWN, k=1)
    svc.save_plan(
        session,
        coach,
        plan,
        plan.version,
        invited=[NEIGHBOUR],
        visit_date=dt.date(2024, 3, 20),
        agenda=AGENDA,
    )
    if publish:
        svc.publish_plan(session, coach, plan, plan.version)
    session.commit()
    return plan


def _record(session: Session, w: World, plan: VisitPlan, *, publish: bool = True) -> VisitRecord:
    coach = _actor(w, "coach")
    row = svc.record_visit(
        session,
        coach,
        plan,
        visited_on=dt.date(2024, 3, 20),
        team="ทีมนิเทศ",
        notes="พบว่า <i>ครู</i> ขาดสื่อ\nควรเร่งพัฒนา",
        follow_ups=FOLLOW_UPS,
    )
    if publish:
        svc.publish_record(session, coach, plan, row)
    session.commit()
    return row


@pytest.fixture(autouse=True)
def _forms_without_csrf(capp: Flask) -> None:
    no_csrf(capp)  # the CSRF check has its own tests; these post forms as a browser would


@pytest.fixture
def other_neighbour_user(w: World, session: Session) -> None:
    """An editor of the invited neighbour, so messages reach two offices."""
    from ..support.factories import UserFactory

    w.users["neighbour"] = UserFactory(
        session=session,
        email="neighbour@example.go.th",
        name="neighbour",
        role="office_editor",
        office_code=NEIGHBOUR,
    )
    session.commit()


# --- the plan ---------------------------------------------------------------------------------


def test_publishing_a_plan_tells_host_and_invited_offices_once_per_date(
    w: World, session: Session, other_neighbour_user: None
) -> None:
    plan = _plan(session, w, publish=False)
    assert _messages(session, "visit_planned") == 0  # a draft tells nobody
    coach = _actor(w, "coach")
    svc.publish_plan(session, coach, plan, plan.version)
    session.commit()
    told = {
        n.user_id: n for n in session.scalars(select(Notification).filter_by(kind="visit_planned"))
    }
    # The host's editor and director and the neighbour's editor; not Bangkok's editor.
    assert set(told) == {
        w.users["own_editor"].id,
        w.users["own_director"].id,
        w.users["neighbour"].id,
    }
    one = next(iter(told.values()))
    assert one.params["date"] == "2024-03-20" and one.params["agenda"] == AGENDA
    # Withdrawn and published again on the same date: nobody is told twice.
    svc.publish_plan(session, coach, plan, plan.version, False)
    svc.publish_plan(session, coach, plan, plan.version, True)
    session.commit()
    assert _messages(session, "visit_planned") == 3
    # A new date is a new message.
    svc.save_plan(session, coach, plan, plan.version, visit_date=dt.date(2024, 3, 27))
    session.commit()
    assert _messages(session, "visit_planned") == 6


def test_the_office_page_shows_published_plans_of_its_own_only(
    c: FlaskClient, w: World, session: Session
) -> None:
    draft = _plan(session, w, publish=False)
    sign_in(c, w.users["own_editor"], lang="en")
    page = c.get(f"/portal/offices/{OWN}/coaching").get_data(as_text=True)
    assert f'data-plan="{draft.id}"' not in page  # a draft stays with the coaches
    svc.publish_plan(session, _actor(w, "coach"), draft, draft.version)
    session.commit()
    page = c.get(f"/portal/offices/{OWN}/coaching").get_data(as_text=True)
    assert f'data-plan="{draft.id}"' in page
    # The agenda keeps its lines, escaped.
    assert "1. ทบทวนแผน &lt;b&gt;ปฏิบัติการ&lt;/b&gt;<br>\n2. เยี่ยมโรงเรียน &amp; ถอดบทเรียน" in page
    assert "20 Mar 2567 BE" in page
    # The office's portal page says what is next and links here.
    home = c.get(f"/portal/offices/{OWN}").get_data(as_text=True)
    assert f"/portal/offices/{OWN}/coaching" in home
    # Bangkok is not part of the plan: its page does not show it, and Krabi's is not its own.
    sign_in(c, w.users["other_editor"], lang="en")
    assert f'data-plan="{draft.id}"' not in c.get(f"/portal/offices/{OTHER}/coaching").get_data(
        as_text=True
    )
    assert c.get(f"/portal/offices/{OWN}/coaching").status_code == 403


# --- the record and its follow-ups -----------------------------------------------------------


def test_a_record_is_published_once_and_each_office_told_once(
    w: World, session: Session, other_neighbour_user: None
) -> None:
    plan = _plan(session, w)
    row = _record(session, w, plan, publish=False)
    follow_ups = svc.follow_up_views(session, [row])[row.id]
    assert [v.follow_up.text for v in follow_ups] == [
        "ส่งแผนปรับปรุง <script>alert(1)</script>",
        "จัดอบรมครูคณิตศาสตร์",
    ]
    assert _messages(session, "feedback_published") == 0
    coach = _actor(w, "coach")
    assert svc.publish_record(session, coach, plan, row) == 3
    session.commit()
    notes = list(session.scalars(select(Notification).filter_by(subject=f"visit-record:{row.id}")))
    assert len(notes) == 3
    assert {n.link for n in notes} == {
        f"/portal/offices/{OWN}/coaching",
        f"/portal/offices/{NEIGHBOUR}/coaching",
    }
    with pytest.raises(ServiceError) as err:
        svc.publish_record(session, coach, plan, row)
    assert err.value.status == 409
    session.rollback()
    assert _messages(session, "feedback_published") == 3
    # Only coaches and admins publish.
    with pytest.raises(ServiceError) as err:
        svc.publish_record(session, _actor(w, "reviewer"), plan, row)
    assert err.value.status == 403


def test_a_record_of_a_draft_plan_cannot_be_published(w: World, session: Session) -> None:
    plan = _plan(session, w, publish=False)
    row = _record(session, w, plan, publish=False)
    with pytest.raises(ServiceError) as err:
        svc.publish_record(session, _actor(w, "coach"), plan, row)
    assert err.value.status == 400


def test_each_follow_up_is_acknowledged_by_the_office_with_who_and_when(
    w: World, session: Session
) -> None:
    plan = _plan(session, w)
    row = _record(session, w, plan)
    own = _office(session, OWN)
    first, second = svc.follow_up_views(session, [row])[row.id]
    ack = svc.acknowledge(session, _actor(w, "own_editor"), own, first.follow_up.id)
    session.commit()
    assert ack.by_user_id == w.users["own_editor"].id and ack.at == NOW
    # Pressed again: nothing changes, no second audit record.
    audits = session.scalar(select(func.count()).select_from(AuditLog))
    svc.acknowledge(session, _actor(w, "own_director"), own, first.follow_up.id)
    assert session.scalar(select(func.count()).select_from(AuditLog)) == audits
    views = svc.follow_up_views(session, [row], own.id)[row.id]
    assert own.id in views[0].acks and own.id not in views[1].acks
    assert svc.summary(session, own, NOW).open_follow_ups == 1
    # Another office's staff, or OBEC, cannot acknowledge for Krabi; Bangkok was not told.
    other = _office(session, OTHER)
    for who, office, status in (
        ("other_editor", own, 403),
        ("reviewer", own, 403),
        ("coach", own, 403),
        ("other_editor", other, 404),
    ):
        with pytest.raises(ServiceError) as err:
            svc.acknowledge(session, _actor(w, who), office, second.follow_up.id)
        assert err.value.status == status, who
        session.rollback()
    assert session.scalar(select(func.count()).select_from(FollowUpAck)) == 1


def test_an_unpublished_record_has_nothing_to_acknowledge(w: World, session: Session) -> None:
    plan = _plan(session, w)
    row = _record(session, w, plan, publish=False)
    fu = svc.follow_up_views(session, [row])[row.id][0].follow_up
    with pytest.raises(ServiceError) as err:
        svc.acknowledge(session, _actor(w, "own_editor"), _office(session, OWN), fu.id)
    assert err.value.status == 404


def test_the_office_reports_on_a_follow_up_in_a_later_round(w: World, session: Session) -> None:
    plan = _plan(session, w)
    row = _record(session, w, plan)
    own = _office(session, OWN)
    fu = svc.follow_up_views(session, [row])[row.id][0].follow_up
    editor = _actor(w, "own_editor")
    later = [r.round_no for r in svc.report_rounds(session, plan, NOW.date())]
    assert later == [3, 4]  # the plan is in round 2
    for round_no, typed, status in (
        (2, "ทำแล้ว", 400),  # the plan's own round is not a later one
        (3, "   ", 400),  # nothing written
        (3, "x" * (svc.REPORT_MAX + 1), 400),
    ):
        with pytest.raises(ServiceError) as err:
            svc.report_follow_up(session, editor, own, fu.id, _round(session, round_no).id, typed)
        assert err.value.status == status
        session.rollback()
    svc.report_follow_up(session, editor, own, fu.id, _round(session, 3).id, "ส่งแผนแล้ว\nรอผล")
    svc.report_follow_up(session, editor, own, fu.id, _round(session, 4).id, "ได้ผลดี")
    # Written again in the same round: replaced, the round keeps one report.
    svc.report_follow_up(
        session, editor, own, fu.id, _round(session, 3).id, "ส่งแผนแล้ว\nรอผลการพิจารณา"
    )
    session.commit()
    reports = svc.follow_up_views(session, [row])[row.id][0].reports[own.id]
    assert [(rnd.round_no, rep.text) for rep, rnd, _who in reports] == [
        (3, "ส่งแผนแล้ว\nรอผลการพิจารณา"),
        (4, "ได้ผลดี"),
    ]
    assert session.scalar(select(func.count()).select_from(FollowUpReport)) == 2
    # Before a later round starts there is nothing to report in.
    assert svc.report_rounds(session, plan, dt.date(2024, 4, 1)) == []


def test_the_coaches_see_the_history_and_offices_never_see_another_offices_record(
    c: FlaskClient, w: World, session: Session
) -> None:
    plan = _plan(session, w)
    row = _record(session, w, plan)
    own = _office(session, OWN)
    fu = svc.follow_up_views(session, [row])[row.id][0].follow_up
    svc.acknowledge(session, _actor(w, "own_editor"), own, fu.id)
    svc.report_follow_up(
        session, _actor(w, "own_editor"), own, fu.id, _round(session, 3).id, "รายงาน <u>แล้ว</u>"
    )
    session.commit()
    sign_in(c, w.users["coach"], lang="en")
    page = c.get(f"/coaching/plans/{plan.id}").get_data(as_text=True)
    assert "follow-up-history" in page and "รายงาน &lt;u&gt;แล้ว&lt;/u&gt;" in page
    assert "own_editor" in page  # who acknowledged
    sign_in(c, w.users["own_editor"], lang="en")
    page = c.get(f"/portal/offices/{OWN}/coaching").get_data(as_text=True)
    assert f'data-record="{row.id}"' in page
    assert "ส่งแผนปรับปรุง &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "พบว่า &lt;i&gt;ครู&lt;/i&gt; ขาดสื่อ<br>\nควรเร่งพัฒนา" in page
    # Bangkok sees no record of a plan it is not part of, and cannot write to one.
    sign_in(c, w.users["other_editor"], lang="en")
    assert f'data-record="{row.id}"' not in c.get(f"/portal/offices/{OTHER}/coaching").get_data(
        as_text=True
    )
    r = c.post(f"/portal/offices/{OTHER}/coaching/follow-ups/{fu.id}/acknowledge")
    assert r.status_code == 404
    r = c.post(f"/portal/offices/{OWN}/coaching/follow-ups/{fu.id}/acknowledge")
    assert r.status_code == 403


def test_a_refused_report_redraws_the_page_with_what_was_typed(
    c: FlaskClient, w: World, session: Session
) -> None:
    plan = _plan(session, w)
    row = _record(session, w, plan)
    fu = svc.follow_up_views(session, [row])[row.id][0].follow_up
    sign_in(c, w.users["own_editor"], lang="en")
    typed = "ดำเนินการแล้ว <b>บางส่วน</b>"
    r = c.post(
        f"/portal/offices/{OWN}/coaching/follow-ups/{fu.id}/report",
        data={"action": "report", "round_id": str(_round(session, 2).id), "report": typed},
    )
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "Choose one of the later monitoring rounds." in page
    assert "ดำเนินการแล้ว &lt;b&gt;บางส่วน&lt;/b&gt;</textarea>" in page
    assert session.scalar(select(func.count()).select_from(FollowUpReport)) == 0


# --- sessions and the calendar ---------------------------------------------------------------


def test_an_office_sees_and_downloads_its_own_clusters_sessions_only(
    c: FlaskClient, w: World, session: Session
) -> None:
    rnd = _round(session, 3)
    admin = _actor(w, "admin")
    when = dt.datetime(2024, 6, 12, 9, 0, tzinfo=svc.BANGKOK)
    svc.set_cluster_session(session, admin, rnd, 6, when, "https://zoom.us/j/6")
    svc.set_cluster_session(session, admin, rnd, 1, when, "https://zoom.us/j/1")
    session.commit()
    sign_in(c, w.users["own_director"], lang="en")
    page = c.get(f"/portal/offices/{OWN}/coaching").get_data(as_text=True)
    assert "https://zoom.us/j/6" in page and "https://zoom.us/j/1" not in page
    r = c.get(f"/portal/offices/{OWN}/coaching/sessions.ics")
    assert r.status_code == 200 and r.mimetype == "text/calendar"
    cal = Calendar.from_ical(r.get_data())
    events = [e for e in cal.walk("VEVENT")]
    assert [str(e["url"]) for e in events] == ["https://zoom.us/j/6"]
    assert events[0].decoded("dtstart") == when.astimezone(dt.UTC)
    # Another cluster's office: not its calendar, and the coaches' one stays closed to it.
    assert c.get(f"/portal/offices/{OTHER}/coaching/sessions.ics").status_code == 403
    assert c.get(f"/coaching/rounds/{rnd.id}/sessions.ics").status_code == 403


# --- the 12-month findings -------------------------------------------------------------------


def _results(session: Session) -> None:
    for code, value in ((OWN, 55.0), (OTHER, 80.0)):
        session.add(
            ResultRecord(
                office_id=_office(session, code).id,
                fiscal_year=2567,
                category="onet_rt_nt",
                indicator=f"O-NET ป.6 <{code}>",
                value=value,
                unit="%",
                office_target=60.0,
                obec_target=50.0,
            )
        )
    session.flush()


def test_findings_are_sent_back_to_each_office_which_sees_its_own(
    c: FlaskClient, w: World, session: Session
) -> None:
    _results(session)
    session.commit()
    with pytest.raises(ServiceError) as err:  # only the evaluation round has findings
        svc.send_findings(session, _actor(w, "coach"), _round(session, 3))
    assert err.value.status == 400
    session.rollback()
    with pytest.raises(ServiceError) as err:
        svc.send_findings(session, _actor(w, "reviewer"), _round(session, 4))
    assert err.value.status == 403
    session.rollback()
    sign_in(c, w.users["coach"], lang="en")
    rnd = _round(session, 4)
    r = c.post(f"/coaching/rounds/{rnd.id}/evaluation/send", data={"cluster": "6"})
    assert r.status_code == 302
    sent = svc.findings_sent(session, rnd)
    assert set(sent) == {_office(session, OWN).id}  # cluster 6 only
    told = _messages(session, "feedback_published", f"evaluation:{rnd.id}")
    assert told == 2  # Krabi's editor and director
    # Sent again (every office): Krabi is not told twice, Bangkok is told once.
    r = c.post(f"/coaching/rounds/{rnd.id}/evaluation/send")
    assert r.status_code == 302
    assert _messages(session, "feedback_published", f"evaluation:{rnd.id}") == 3
    sign_in(c, w.users["own_editor"], lang="en")
    page = c.get(f"/portal/offices/{OWN}/coaching").get_data(as_text=True)
    assert "O-NET ป.6 &lt;spp-krabi&gt;" in page and "spp-bangkok&gt;" not in page
    assert "not met" in page  # 55 against the office's 60
    # An office may not send findings.
    assert c.post(f"/coaching/rounds/{rnd.id}/evaluation/send").status_code == 403
    count = session.execute(text("SELECT count(*) FROM evaluation_findings")).scalar()
    assert count == 2


def test_an_over_long_agenda_is_refused_with_the_plan_form_as_typed(
    c: FlaskClient, w: World, session: Session
) -> None:
    plan = _plan(session, w, publish=False)
    sign_in(c, w.users["coach"], lang="en")
    r = c.post(
        f"/coaching/plans/{plan.id}",
        data={
            "action": "save",
            "version": str(plan.version),
            "team": "ทีม <b>นิเทศ</b> 42",
            "agenda": "ว" * 5_001,
        },
    )
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "Agenda is longer than 5000 characters." in page
    assert 'value="ทีม &lt;b&gt;นิเทศ&lt;/b&gt; 42"' in page
    assert "ว" * 5_001 + "</textarea>" in page
    session.expire_all()
    found = session.get(VisitPlan, plan.id)
    assert found is not None and found.agenda == AGENDA
