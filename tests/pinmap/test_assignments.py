"""Work inside an office (issue #14, requirement 3): the director gives items to staff with
internal due dates on or before OBEC's window close; refusals; who is late, with fixed dates;
"my items"; the pages and the API over the same service."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.models import AuditLog, ItemAssignment, ReportingWindow, User
from pinmap.services import assignments as svc
from pinmap.services import progress
from pinmap.services.audit import Actor
from pinmap.services.errors import ServiceError

from ..signin import sign_in
from ..support.factories import PolicyItemFactory, ReportFactory, UserFactory
from ..support.portal import OWN, World, no_csrf


def _actor(user: User, today: dt.date) -> Actor:
    # Noon in Bangkok on `today`: the service reads the Thai calendar day from `now`.
    return Actor(user, "test", dt.datetime.combine(today, dt.time(5, 0), dt.UTC))


def _window(session: Session, w: World) -> ReportingWindow:
    window = progress.get_window(session, w.fy, w.round_no)
    assert window is not None
    return window


def _today(session: Session, w: World) -> dt.date:
    return _window(session, w).opens_on + dt.timedelta(days=1)


def _row(w: World, who: str, due: dt.date, note: str = "") -> svc.RowInput:
    return svc.RowInput(w.item.id, w.users[who].id, w.round_no, due, note)


def _audit(session: Session, action: str) -> list[AuditLog]:
    return list(session.scalars(select(AuditLog).filter_by(action=action)))


def test_director_assigns_and_reassigning_replaces_with_audit(session: Session, world: World):
    today = _today(session, world)
    director = _actor(world.users["own_director"], today)
    due = today + dt.timedelta(days=2)
    assert (
        svc.save(session, director, world.own, world.fy, [_row(world, "own_editor", due, "ส่งก่อน")])
        == 1
    )
    a = svc.of_office(session, world.own.id, world.fy)[world.item.id]
    assert (a.user_id, a.round_no, a.due_on, a.note) == (
        world.users["own_editor"].id,
        1,
        due,
        "ส่งก่อน",
    )
    assert a.assigned_by_id == world.users["own_director"].id
    assert len(_audit(session, "assignment.create")) == 1

    # The same row again changes nothing and writes nothing.
    assert (
        svc.save(session, director, world.own, world.fy, [_row(world, "own_editor", due, "ส่งก่อน")])
        == 0
    )

    # Reassigning keeps one row per (office, item) and the audit log keeps who had it.
    assert svc.save(session, director, world.own, world.fy, [_row(world, "own_director", due)]) == 1
    count = session.scalar(
        select(func.count()).select_from(ItemAssignment).filter_by(office_id=world.own.id)
    )
    assert count == 1
    (moved,) = _audit(session, "assignment.reassign")
    assert moved.before is not None and moved.after is not None
    assert moved.before["user_id"] == world.users["own_editor"].id
    assert moved.after["user_id"] == world.users["own_director"].id

    # Nobody chosen: the item is taken back, and that is audited too.
    nobody = svc.RowInput(world.item.id, None, None, None)
    assert svc.save(session, director, world.own, world.fy, [nobody]) == 1
    assert svc.of_office(session, world.own.id, world.fy) == {}
    assert len(_audit(session, "assignment.remove")) == 1


def test_admin_may_assign_staff_may_not(session: Session, world: World):
    today = _today(session, world)
    due = today + dt.timedelta(days=1)
    svc.save(
        session,
        _actor(world.users["admin"], today),
        world.own,
        world.fy,
        [_row(world, "own_editor", due)],
    )
    for who in ("own_editor", "other_editor", "reviewer"):
        with pytest.raises(ServiceError) as err:
            svc.save(
                session,
                _actor(world.users[who], today),
                world.own,
                world.fy,
                [_row(world, "own_director", due)],
            )
        assert err.value.status == 403


def _refusal(session: Session, world: World, row: svc.RowInput, today: dt.date) -> ServiceError:
    with pytest.raises(ServiceError) as err:
        svc.save(session, _actor(world.users["own_director"], today), world.own, world.fy, [row])
    return err.value


def test_refusals(session: Session, world: World):
    today = _today(session, world)
    closes = _window(session, world).closes_on
    # On OBEC's last day is allowed; a day later is not, and nothing is saved.
    svc.save(
        session,
        _actor(world.users["own_director"], today),
        world.own,
        world.fy,
        [_row(world, "own_editor", closes)],
    )
    late = _refusal(
        session, world, _row(world, "own_director", closes + dt.timedelta(days=1)), today
    )
    assert late.status == 400 and "after OBEC's window" in late.msgid
    assert late.params["closes"] == closes
    # Past dates on creation.
    svc.save(
        session,
        _actor(world.users["own_director"], today),
        world.own,
        world.fy,
        [svc.RowInput(world.item.id, None, None, None)],
    )
    past = _refusal(session, world, _row(world, "own_editor", today - dt.timedelta(days=1)), today)
    assert past.status == 400 and "already passed" in past.msgid
    # Someone of another office, an account switched off, an unknown item, a round the item is
    # not reported in, no date.
    other = _refusal(session, world, _row(world, "other_editor", today), today)
    assert other.status == 400 and "not on this office's staff" in other.msgid
    obec = _refusal(session, world, _row(world, "reviewer", today), today)
    assert obec.status == 400
    gone = UserFactory(session=session, role="office_editor", office_code=OWN)
    gone.active = False
    session.flush()
    off = _refusal(session, world, svc.RowInput(world.item.id, gone.id, 1, today), today)
    assert off.status == 400 and "switched off" in off.msgid
    unknown = _refusal(session, world, svc.RowInput(2**31 - 1, gone.id, 1, today), today)
    assert unknown.status == 404
    only_round_2 = PolicyItemFactory(session=session, fiscal_year=world.fy, rounds=[2])
    bad_round = svc.RowInput(only_round_2.id, world.users["own_editor"].id, 1, today)
    assert _refusal(session, world, bad_round, today).status == 400
    no_date = svc.RowInput(world.item.id, world.users["own_editor"].id, 1, None)
    assert _refusal(session, world, no_date, today).status == 400
    assert svc.of_office(session, world.own.id, world.fy) == {}


def test_a_past_due_date_kept_as_it_was_may_stay(session: Session, world: World):
    """Changing the note (or the person) of a late item keeps its due date; a new past date is
    refused."""
    today = _today(session, world)
    due = today + dt.timedelta(days=1)
    director = world.users["own_director"]
    svc.save(
        session, _actor(director, today), world.own, world.fy, [_row(world, "own_editor", due)]
    )
    later = today + dt.timedelta(days=4)
    svc.save(
        session,
        _actor(director, later),
        world.own,
        world.fy,
        [_row(world, "own_director", due, "ช่วยด้วย")],
    )
    with pytest.raises(ServiceError):
        svc.save(
            session,
            _actor(director, later),
            world.own,
            world.fy,
            [_row(world, "own_director", due + dt.timedelta(days=1))],
        )


def test_late_and_my_items_with_fixed_dates(session: Session, world: World):
    today = _today(session, world)
    director = world.users["own_director"]
    editor = world.users["own_editor"]
    second = PolicyItemFactory(session=session, fiscal_year=world.fy)
    rows = [
        _row(world, "own_editor", today),
        svc.RowInput(second.id, editor.id, 1, today + dt.timedelta(days=2)),
    ]
    svc.save(session, _actor(director, today), world.own, world.fy, rows)

    # On the due day nobody is late yet.
    assert svc.late(session, world.own.id, world.fy, today) == []
    # Five days on: both items of the editor are late, the longest late first.
    five = today + dt.timedelta(days=5)
    ((user, late),) = svc.late(session, world.own.id, world.fy, five)
    assert user.id == editor.id
    assert [(r.item.id, r.days_late, r.state) for r in late] == [
        (world.item.id, 5, None),
        (second.id, 3, None),
    ]
    mine = svc.my_items(session, editor, five)
    assert [r.item.id for r in mine] == [world.item.id, second.id]
    assert (
        mine[0].window is not None and mine[0].window.closes_on == _window(session, world).closes_on
    )
    assert svc.my_items(session, director, five) == []

    # A draft is still late; once the director certifies and sends it, it is not.
    actor = _actor(editor, today)
    progress.save_draft(session, actor, world.own, world.item, 1, dict(ReportFactory()), None)
    ((_, late),) = svc.late(session, world.own.id, world.fy, five)
    assert late[0].state == "draft" and late[0].days_late == 5
    entry = progress.find_entry(session, world.own.id, world.item.id, 1)
    assert entry is not None and entry.current is not None
    progress.submit(session, _actor(director, today), entry, entry.current.version)
    ((_, late),) = svc.late(session, world.own.id, world.fy, five)
    assert [r.item.id for r in late] == [second.id]
    assert svc.my_items(session, editor, five)[0].state == "submitted"


def test_pages_and_api(app: Flask, session: Session, world: World):
    """The director's page saves every row in one go; a too-late date redraws the form with
    what was typed; my items and who is late show the rows; the API reads and writes the same."""
    no_csrf(app)
    today = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)).date()
    closes = _window(session, world).closes_on
    director = app.test_client()
    sign_in(director, world.users["own_director"].id)
    page = director.get(f"/portal/offices/{OWN}/assignments?fiscal_year={world.fy}")
    assert page.status_code == 200
    assert f'name="user_{world.item.id}"' in page.get_data(as_text=True)

    too_late = closes + dt.timedelta(days=1)
    form = {
        "fiscal_year": str(world.fy),
        f"user_{world.item.id}": str(world.users["own_editor"].id),
        f"round_{world.item.id}": "1",
        f"due_{world.item.id}": f"{too_late.day:02d}/{too_late.month:02d}/{too_late.year + 543}",
        f"note_{world.item.id}": "<b>ด่วน</b>",
    }
    r = director.post(f"/portal/offices/{OWN}/assignments", data=form)
    body = r.get_data(as_text=True)
    assert r.status_code == 400
    assert form[f"due_{world.item.id}"] in body
    assert "&lt;b&gt;ด่วน&lt;/b&gt;" in body and "<b>ด่วน" not in body
    assert svc.of_office(session, world.own.id, world.fy) == {}

    form[f"due_{world.item.id}"] = f"{today.day:02d}/{today.month:02d}/{today.year + 543}"
    r = director.post(f"/portal/offices/{OWN}/assignments", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    year = director.get(f"/portal/offices/{OWN}?fiscal_year={world.fy}").get_data(as_text=True)
    assert "own_editor" in year

    editor = app.test_client()
    sign_in(editor, world.users["own_editor"].id)
    mine = editor.get("/portal/my-items").get_data(as_text=True)
    assert "&lt;b&gt;ด่วน&lt;/b&gt;" in mine
    assert f"/portal/offices/{OWN}/entries/{world.fy}/1/" in mine
    assert editor.get(f"/portal/offices/{OWN}/assignments").status_code == 403
    assert editor.get(f"/portal/offices/{OWN}/assignments/late").status_code == 403
    assert director.get(f"/portal/offices/{OWN}/assignments/late").status_code == 200

    api = app.test_client()
    listed = api.get(
        f"/api/v1/offices/{OWN}/assignments/{world.fy}", headers=world.headers("own_editor")
    ).get_json()
    assert listed["assignments"][0]["assignee"]["id"] == world.users["own_editor"].id
    assert listed["assignments"][0]["window_closes_on"] == closes.isoformat()
    other = api.get(
        f"/api/v1/offices/{OWN}/assignments/{world.fy}", headers=world.headers("other_editor")
    )
    assert other.status_code == 403
    url = f"/api/v1/offices/{OWN}/assignments/{world.fy}/{world.item.kind}/{world.item.no}"
    body = {
        "user_id": world.users["own_director"].id,
        "round_no": 1,
        "due_on": too_late.isoformat(),
    }
    refused = api.put(url, json=body, headers=world.headers("own_director"))
    assert refused.status_code == 400 and refused.get_json()["message"]
    body["due_on"] = today.isoformat()
    assert api.put(url, json=body, headers=world.headers("own_editor")).status_code == 403
    done = api.put(url, json=body, headers=world.headers("own_director"))
    assert done.status_code == 200 and done.get_json()["assignee"]["id"] == body["user_id"]
    mine_api = api.get("/api/v1/my-items", headers=world.headers("own_director")).get_json()
    assert len(mine_api["assignments"]) == 1
    assert api.delete(url, headers=world.headers("own_director")).status_code == 204
    assert api.delete(url, headers=world.headers("own_director")).status_code == 404
    spec = api.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/my-items" in spec["paths"]
