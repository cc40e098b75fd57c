"""A new version of an approved best practice: the approved one stays public until it is approved."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import BestPractice, ChangeEvent

from ..signin import sign_in, sign_out
from ..support.portal import World
from ..support.profiles import wired as wired  # autouse: blueprints registered, CSRF off


def _form(world: World, **extra: str) -> dict[str, object]:
    return {
        "title": "ห้องเรียนคุณภาพ",
        "owner": "กลุ่มนิเทศ",
        "fiscal_year": str(world.fy),
        "dimensions": ["คุณภาพ"],
        "item_ids": [str(world.item.id)],
        "background": "ที่มา",
        "objectives": "วัตถุประสงค์",
        "process": "ขั้นตอน",
        "results": "ผลฉบับแรก",
        "success_factors": "ปัจจัย",
        "version": "0",
        "action": "save",
        **extra,
    }


def _approve(client: FlaskClient, world: World, session: Session, bp: BestPractice) -> None:
    sign_in(client, world.users["own_director"], lang="en")
    r = client.post(
        f"/portal/offices/spp-krabi/best-practices/{bp.id}/submit",
        data=_form(world, version=str(bp.version), action="submit", results=bp.results),
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    submitted = session.get_one(BestPractice, int(r.headers["Location"].rsplit("/", 1)[1]))
    session.refresh(submitted)
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
    session.refresh(original)
    assert original.state == "approved"
    public_url, api = (
        f"/best-practices/{original.id}",
        (f"/api/v1/best-practices/offices?fiscal_year={world.fy}&item_kind=policy&item_no=1"),
    )

    sign_in(client, world.users["own_editor"], lang="en")
    r = client.post(
        f"/portal/offices/spp-krabi/best-practices/{original.id}",
        data=_form(world, version=str(original.version), results="ผลฉบับใหม่"),
    )
    assert r.status_code == 302
    copy = session.scalars(select(BestPractice).filter_by(replaces_id=original.id)).one()
    assert copy.state == "draft" and copy.results == "ผลฉบับใหม่"
    # A second edit of the approved one would fork again: it is sent to the copy instead.
    again = client.post(
        f"/portal/offices/spp-krabi/best-practices/{original.id}",
        data=_form(world, version=str(original.version), results="อีก"),
    )
    assert again.status_code == 409
    sign_out(client)
    page = client.get(public_url).get_data(as_text=True)
    assert "ผลฉบับแรก" in page and "ผลฉบับใหม่" not in page
    assert client.get(api).get_json()["offices"] == ["spp-krabi"]
    assert client.get(f"/best-practices/{copy.id}").status_code == 404  # not public

    before = session.scalar(select(ChangeEvent.id).order_by(ChangeEvent.id.desc()).limit(1))
    session.refresh(copy)
    _approve(client, world, session, copy)
    sign_out(client)
    session.expire_all()
    assert session.scalars(select(BestPractice)).all() == [original]  # the copy is folded in
    assert original.results == "ผลฉบับใหม่" and original.state == "approved"
    assert "ผลฉบับใหม่" in client.get(public_url).get_data(as_text=True)
    events = session.scalars(select(ChangeEvent).where(ChangeEvent.id > before)).all()
    assert [e.payload["id"] for e in events if e.kind == "best_practice.approved"] == [original.id]
    assert not [e for e in events if e.kind == "best_practice.withdrawn"]
