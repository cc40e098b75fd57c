"""The profile form's autosave (the form keeper's endpoint): the typed draft saved, the time and
version answered; refusals answered in JSON with nothing saved; chosen photos left alone."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.models import AuditLog, Photo
from pinmap.services import profiles as svc

from ..signin import sign_in
from ..support.portal import World
from ..support.profiles import krabi_point, profile_form
from ..support.profiles import wired as wired  # autouse: blueprints registered, CSRF off

URL = "/portal/offices/spp-krabi/profile/autosave"


def _audits(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditLog)) or 0


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return buf.getvalue()


def test_autosave_saves_the_profile_draft(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    r = client.post(
        URL,
        data={
            **profile_form(lon, lat, address="ที่อยู่ร่าง"),
            "office_photo": (io.BytesIO(_png()), "o.png"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert re.fullmatch(r"\d\d:\d\d", body["saved_at"])
    session.expire_all()
    current = svc.current_revision(session, world.own.id)
    assert current is not None and current.data["address"] == "ที่อยู่ร่าง"
    assert current.version == body["version"] and current.state == "draft"
    # A chosen photo waits for the save button: the autosave stores none.
    assert session.scalar(select(func.count()).select_from(Photo)) == 0
    again = client.post(
        URL, data=profile_form(lon, lat, address="ร่าง 2", version=str(body["version"]))
    )
    assert again.status_code == 200 and again.get_json()["version"] > body["version"]


def test_autosave_refusals_answer_json_and_save_nothing(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    before = _audits(session)
    bad = client.post(URL, data=profile_form(lon, lat, staff_count="many"))
    assert bad.status_code == 400 and "Staff count" in bad.get_json()["error"]
    stale = client.post(URL, data=profile_form(lon, lat, version="7"))
    assert stale.status_code == 409 and bad.is_json and stale.get_json()["error"]
    sign_in(client, world.users["other_editor"], lang="en")
    assert client.post(URL, data=profile_form(lon, lat)).status_code == 403
    session.expire_all()
    assert _audits(session) == before and svc.current_revision(session, world.own.id) is None


def test_the_review_desk_lists_a_sent_profile_with_its_day(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_director"], lang="en")
    r = client.post(
        "/portal/offices/spp-krabi/profile/submit",
        data=profile_form(lon, lat, action="submit"),
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    sign_in(client, world.users["reviewer"], lang="en")
    page = client.get("/review/profiles")
    assert page.status_code == 200
    assert world.own.name_th in page.get_data(as_text=True)
