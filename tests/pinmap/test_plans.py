"""Operating plans through the workflow engine: the approved revision stays public while a new
one is worked on, OBEC un-approves with a comment on the trail, and every refusal of the
portal form and the review desk keeps what was typed."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from pinmap.models import WorkflowReport
from pinmap.services import plans

from ..signin import sign_in, sign_out
from ..support.portal import World
from ..support.profiles import wired as wired  # autouse: blueprints registered, CSRF off

TEXTS = {
    "problem": "ผลสัมฤทธิ์คณิตศาสตร์ต่ำ",
    "approach": "นิเทศแบบคู่พัฒนา",
    "targets": "ร้อยละ 80 ผ่านเกณฑ์",
    "timeline": "ต.ค. 2569 – ก.ย. 2570",
}


def _url(world: World) -> str:
    return f"/portal/offices/spp-krabi/plan/{world.fy}"


def _plan(session: Session, world: World) -> WorkflowReport:
    session.expire_all()
    plan = plans.get(session, world.own.id, world.fy)
    assert plan is not None and plan.current is not None
    return plan


def _version(session: Session, world: World) -> str:
    rev = _plan(session, world).current
    assert rev is not None
    return str(rev.version)


def _save(client: FlaskClient, world: World, version: str, **texts: str) -> int:
    sign_in(client, world.users["own_editor"], lang="en")
    r = client.post(_url(world), data={**TEXTS, **texts, "version": version, "action": "save"})
    return r.status_code


def _send(client: FlaskClient, world: World, session: Session, **texts: str) -> None:
    sign_in(client, world.users["own_director"], lang="en")
    r = client.post(
        _url(world) + "/submit",
        data={**TEXTS, **texts, "version": _version(session, world), "action": "submit"},
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]


def _decide(
    client: FlaskClient, world: World, session: Session, decision: str, comment: str = ""
) -> int:
    sign_in(client, world.users["reviewer"], lang="en")
    plan = _plan(session, world)
    r = client.post(
        f"/review/plans/{plan.id}",
        data={"decision": decision, "comment": comment, "version": _version(session, world)},
    )
    return r.status_code


def _public(client: FlaskClient) -> str:
    sign_out(client)
    return client.get("/offices/spp-krabi").get_data(as_text=True)


def test_the_approved_plan_stays_public_while_a_new_revision_is_worked_on(
    client: FlaskClient, world: World, session: Session
) -> None:
    assert _save(client, world, "0") == 302
    _send(client, world, session)
    assert _decide(client, world, session, "approve") == 302
    assert "นิเทศแบบคู่พัฒนา" in _public(client)
    # The approved revision is locked: saving opens revision 2, and the public keeps revision 1.
    assert _save(client, world, _version(session, world), approach="ชุมชนแห่งการเรียนรู้") == 302
    plan = _plan(session, world)
    assert plan.current is not None and plan.current.revision_no == 2
    assert plan.approved is not None and plan.approved.revision_no == 1
    page = client.get(_url(world)).get_data(as_text=True)
    assert "The approved plan stays public until this one is approved." in page
    html = _public(client)
    assert "นิเทศแบบคู่พัฒนา" in html and "ชุมชนแห่งการเรียนรู้" not in html
    _send(client, world, session, approach="ชุมชนแห่งการเรียนรู้")
    assert _decide(client, world, session, "approve") == 302
    html = _public(client)
    assert "ชุมชนแห่งการเรียนรู้" in html and "นิเทศแบบคู่พัฒนา" not in html


def test_obec_unapproves_with_a_comment_and_the_trail_shows_it(
    client: FlaskClient, world: World, session: Session
) -> None:
    assert _save(client, world, "0") == 302
    _send(client, world, session)
    assert _decide(client, world, session, "approve") == 302
    assert "นิเทศแบบคู่พัฒนา" in _public(client)
    # Un-approving needs a comment, and the refusal keeps nothing half-done.
    assert _decide(client, world, session, "unapprove") == 400
    assert _decide(client, world, session, "unapprove", "ปีงบประมาณไม่ตรง") == 302
    plan = _plan(session, world)
    assert plan.current is not None
    assert (plan.current.state, plan.current.level, plan.approved_revision_id) == (
        "submitted",
        1,
        None,
    )
    assert "นิเทศแบบคู่พัฒนา" not in _public(client)
    sign_in(client, world.users["reviewer"], lang="en")
    desk = client.get(f"/review/plans/{plan.id}").get_data(as_text=True)
    assert "Approval undone" in desk and "ปีงบประมาณไม่ตรง" in desk
    assert "Certified by the office director" in desk
    # Back at level 1, OBEC returns it; the office reads why, and the trail has every step.
    assert _decide(client, world, session, "return", "ระบุตัวชี้วัด") == 302
    sign_in(client, world.users["own_editor"], lang="en")
    page = client.get(_url(world)).get_data(as_text=True)
    assert "Returned by the reviewer:" in page and "ระบุตัวชี้วัด" in page
    assert page.index("Returned") < page.index("Approval undone")  # newest first
    # The queue lists plans waiting for the reviewer's level.
    _send(client, world, session)
    sign_in(client, world.users["reviewer"], lang="en")
    queue = client.get("/review/profiles").get_data(as_text=True)
    assert f"/review/plans/{plan.id}" in queue


def test_every_refusal_of_the_plan_form_keeps_what_was_typed(
    client: FlaskClient, world: World, session: Session
) -> None:
    typed = "แนวทางที่พิมพ์ไว้แต่ยังไม่ได้บันทึก"

    def refused(status: int, url: str, version: str, action: str = "save", **texts: str) -> None:
        r = client.post(url, data={**TEXTS, **texts, "version": version, "action": action})
        html = r.get_data(as_text=True)
        assert r.status_code == status, html[:1500]
        assert typed in html and 'role="alert"' in html

    url = _url(world)
    sign_in(client, world.users["own_editor"], lang="en")
    # Validation: a text over the limit.
    refused(400, url, "0", approach=typed, problem="ก" * (plans.MAX_TEXT + 1))
    # A closed window: a year plans cannot be written for.
    far = f"/portal/offices/spp-krabi/plan/{world.fy + 5}"
    refused(400, far, "0", approach=typed)
    assert _save(client, world, "0") == 302
    # A stale version.
    refused(409, url, "0", approach=typed)
    # Certifying an incomplete plan.
    sign_in(client, world.users["own_director"], lang="en")
    refused(400, url + "/submit", _version(session, world), "submit", approach=typed, timeline="")
    _send(client, world, session)
    # Editing a plan that waits for review.
    sign_in(client, world.users["own_editor"], lang="en")
    refused(409, url, _version(session, world), approach=typed)
    assert _plan(session, world).current.data["approach"] == TEXTS["approach"]  # type: ignore[union-attr]


def test_a_refused_decision_keeps_the_reviewers_comment(
    client: FlaskClient, world: World, session: Session
) -> None:
    assert _save(client, world, "0") == 302
    _send(client, world, session)
    plan = _plan(session, world)
    sign_in(client, world.users["reviewer"], lang="en")
    comment = "โปรดเพิ่มตัวชี้วัดรายไตรมาส"
    r = client.post(
        f"/review/plans/{plan.id}",
        data={"decision": "return", "comment": comment, "version": "1"},
    )
    assert r.status_code == 409 and comment in r.get_data(as_text=True)
    r = client.post(
        f"/review/plans/{plan.id}",
        data={"decision": "shred", "comment": comment, "version": _version(session, world)},
    )
    assert r.status_code == 400 and comment in r.get_data(as_text=True)
    assert client.get("/review/plans/999999").status_code == 404
