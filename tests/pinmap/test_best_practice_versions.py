"""A new version of an approved best practice: the approved one stays public until it is approved.

On the workflow engine the new version is a new revision of the same practice (same id), no
longer a working-copy row; the checks are those of the working-copy days, read through it."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import BestPractice, ChangeEvent
from pinmap.services import best_practices as svc

from ..signin import sign_in, sign_out
from ..support.best_practices import practice_form
from ..support.portal import World
from ..support.profiles import wired as wired  # autouse: blueprints registered, CSRF off


def _form(world: World, **extra: str) -> dict[str, object]:
    return practice_form(world, **{"results": "ผลฉบับแรก", **extra})


def _approve(
    client: FlaskClient, world: World, session: Session, bp: BestPractice | svc.Practice
) -> None:
    session.expire_all()
    sign_in(client, world.users["own_director"], lang="en")
    r = client.post(
        f"/portal/offices/spp-krabi/best-practices/{bp.id}/submit",
        data=_form(world, version=str(bp.version), action="submit", results=bp.results),
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    session.expire_all()
    submitted = session.get_one(BestPractice, int(r.headers["Location"].rsplit("/", 1)[1]))
    sign_in(client, world.users["reviewer"], lang="en")
    r = client.post(
        f"/review/best-practices/{submitted.id}",
        data={"decision": "approve", "version": str(submitted.version)},
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]


def test_editing_an_approved_practice_keeps_it_public_until_the_new_version_is_approved(
    client: FlaskClient, world: World, session: Session
) -> None:
    sign_in(client, world.users["own_editor"], lang="en")
    assert (
        client.post("/portal/offices/spp-krabi/best-practices/new", data=_form(world)).status_code
        == 302
    )
    original = session.scalars(select(BestPractice)).one()
    _approve(client, world, session, original)
    session.expire_all()
    assert original.state == "approved"
    public_url, api = (
        f"/best-practices/{original.id}",
        (f"/api/v1/best-practices/offices?fiscal_year={world.fy}&item_kind=policy&item_no=1"),
    )

    approved_version = original.version  # what a page opened on the approved practice holds
    sign_in(client, world.users["own_editor"], lang="en")
    r = client.post(
        f"/portal/offices/spp-krabi/best-practices/{original.id}",
        data=_form(world, version=str(approved_version), results="ผลฉบับใหม่"),
    )
    assert r.status_code == 302
    session.expire_all()
    copy = svc.bp_or_404(session, original.id)  # the new revision of the same practice
    assert copy.replaces_id == original.id and copy.revision_no == 2
    assert copy.state == "draft" and copy.results == "ผลฉบับใหม่"
    # A second edit of the approved one would fork again: it is sent to the copy instead.
    again = client.post(
        f"/portal/offices/spp-krabi/best-practices/{original.id}",
        data=_form(world, version=str(approved_version), results="อีก"),
    )
    assert again.status_code == 409
    sign_out(client)
    page = client.get(public_url).get_data(as_text=True)
    assert "ผลฉบับแรก" in page and "ผลฉบับใหม่" not in page
    assert client.get(api).get_json()["offices"] == ["spp-krabi"]
    # The new revision is not public: not even to be asked for.
    assert "ผลฉบับใหม่" not in client.get(f"/best-practices/{copy.id}?working=1").get_data(
        as_text=True
    )

    before = session.scalar(select(ChangeEvent.id).order_by(ChangeEvent.id.desc()).limit(1))
    session.expire_all()
    copy = svc.bp_or_404(session, original.id)
    _approve(client, world, session, copy)
    sign_out(client)
    session.expire_all()
    assert session.scalars(select(BestPractice)).all() == [original]  # the copy is folded in
    assert original.results == "ผลฉบับใหม่" and original.state == "approved"
    assert "ผลฉบับใหม่" in client.get(public_url).get_data(as_text=True)
    events = session.scalars(select(ChangeEvent).where(ChangeEvent.id > before)).all()
    assert [e.payload["id"] for e in events if e.kind == "best_practice.approved"] == [original.id]
    assert not [e for e in events if e.kind == "best_practice.withdrawn"]
