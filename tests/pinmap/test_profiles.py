"""Office profiles: workflow and rights, the pin inside the province, photos, escaping, plans."""

from __future__ import annotations

import io
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import to_shape
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.models import ChangeEvent, Office, Photo, WorkflowReport
from pinmap.services.boundaries import import_boundaries

from ..signin import sign_in, sign_out
from ..support.portal import World
from ..support.profiles import (
    approve_current,
    krabi_point,
    latest_revision,
    one_revision,
    profile_form,
    profile_revisions,
    save_profile,
)
from ..support.profiles import wired as wired  # autouse: blueprints registered, CSRF off

PAYLOAD = "<img src=x onerror=alert(1)>${alert(2)}`\\u0041</script><b>x</b>"


def status_of(client: FlaskClient, url: str) -> int:
    """GET and close: a served file stays open until its response is closed."""
    with client.get(url) as r:
        r.get_data()
        return r.status_code


def jpeg(size: tuple[int, int] = (800, 600), colour: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="JPEG")
    return buf.getvalue()


# --- workflow and rights -----------------------------------------------------------------------


def test_edit_submit_approve_then_the_public_sees_it_and_the_pin_moves(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    new_lon, new_lat = lon + 0.0021, lat - 0.0013
    sign_in(client, world.users["own_editor"], lang="en")
    r = save_profile(client, profile_form(new_lon, new_lat))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    # A draft is not public.
    sign_out(client)
    assert "ถนนอุตรกิจ" not in client.get("/offices/spp-krabi").get_data(as_text=True)
    # An editor may not submit; only the director.
    sign_in(client, world.users["own_editor"], lang="en")
    rev = one_revision(session)
    r = client.post(
        "/portal/offices/spp-krabi/profile/submit",
        data={**profile_form(new_lon, new_lat), "action": "submit", "version": str(rev.version)},
    )
    assert r.status_code == 403
    before_events = session.scalar(select(func.max(ChangeEvent.id))) or 0
    approve_current(client, world, session)
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert "ถนนอุตรกิจ" in html and "นายผู้อำนวยการ ทดสอบ" in html and "0 7561 1234" in html
    office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
    session.refresh(office)
    moved = to_shape(office.geom)
    assert (round(moved.x, 6), round(moved.y, 6)) == (round(new_lon, 6), round(new_lat, 6))
    assert office.location_precision == "office"
    kinds = session.scalars(select(ChangeEvent.kind).where(ChangeEvent.id > before_events)).all()
    assert kinds.count("office.updated") >= 2  # the pin move and the profile
    api = client.get("/api/v1/offices/spp-krabi/profile").get_json()
    assert api["profile"]["data"]["address"].startswith("ถนนอุตรกิจ")


def test_a_new_profile_revision_numbers_its_version_on(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    assert save_profile(client, profile_form(lon, lat)).status_code == 302
    approved = approve_current(client, world, session)
    sign_in(client, world.users["own_editor"], lang="en")
    form = profile_form(lon, lat, version=str(approved.version), phone="0 7561 9999")
    assert save_profile(client, form).status_code == 302
    new = latest_revision(session)
    assert new is not None and new.revision_no == 2 and new.version > approved.version
    for stale in range(1, approved.version + 1):
        r = save_profile(client, profile_form(lon, lat, version=str(stale), phone="0 1"))
        assert r.status_code == 409, stale


def test_other_offices_staff_and_the_public_are_refused(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    sign_in(client, world.users["other_editor"], lang="en")
    assert client.get("/portal/offices/spp-krabi/profile").status_code == 403
    assert save_profile(client, profile_form(lon, lat)).status_code == 403
    assert client.get("/portal/offices/spp-krabi/schools").status_code == 403
    assert client.get("/portal/offices/spp-krabi/best-practices").status_code == 403
    assert profile_revisions(session) == []
    sign_out(client)
    r = client.get("/portal/offices/spp-krabi/profile")
    assert r.status_code == 302 and "/portal/login" in r.headers["Location"]
    sign_in(client, world.users["own_editor"], lang="en")
    assert client.get("/review/profiles").status_code == 403


def test_bad_fields_are_named_and_what_was_typed_is_kept(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    for field, value, words in (
        ("website", "javascript:alert(1)", "http"),
        ("email", "not-an-email", "E-mail"),
        ("staff_count", "many", "Staff count"),
        ("phone", "call <me>", "Phone"),
    ):
        r = save_profile(client, profile_form(lon, lat, **{field: value}))
        assert r.status_code == 400, field
        html = r.get_data(as_text=True)
        assert words in html and 'role="alert"' in html
        assert "ถนนอุตรกิจ อ.เมืองกระบี่" in html  # kept
    assert profile_revisions(session) == []


# --- the pin --------------------------------------------------------------------------------------


def test_pin_outside_the_province_is_refused_with_boundaries(
    client: FlaskClient, world: World, session: Session, province_file: Path
) -> None:
    from geo.boundaries import read_boundaries

    import_boundaries(
        session,
        read_boundaries(province_file, "province"),
        "province",
        source_name=province_file.name,
        sha256="x" * 64,
    )
    session.commit()
    sign_in(client, world.users["own_editor"], lang="en")
    r = save_profile(client, profile_form(100.5, 13.75))  # Bangkok
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "outside กระบี่" in html and "ถนนอุตรกิจ" in html and 'value="13.750000"' in html
    assert profile_revisions(session) == []
    lon, lat = krabi_point(session)
    assert save_profile(client, profile_form(lon + 0.001, lat)).status_code == 302


def test_pin_outside_thailand_is_refused_without_boundaries(
    client: FlaskClient, world: World, session: Session
) -> None:
    sign_in(client, world.users["own_editor"], lang="en")
    r = save_profile(client, profile_form(139.69, 35.68))  # Tokyo
    assert r.status_code == 400 and "outside Thailand" in r.get_data(as_text=True)
    r = save_profile(client, {**profile_form(98.9, 8.0), "lat": "north"})
    assert r.status_code == 400 and "decimal degrees" in r.get_data(as_text=True)
    assert profile_revisions(session) == []


def test_edit_page_has_a_draggable_marker_wired_to_the_inputs(
    client: FlaskClient, world: World
) -> None:
    sign_in(client, world.users["own_editor"], lang="en")
    html = client.get("/portal/offices/spp-krabi/profile").get_data(as_text=True)
    name = re.search(r"var (marker_[0-9a-f]+) = L\.marker", html)
    assert name and '"draggable": true' in html
    # The wiring is static/js/profile-map.js (no inline script under the CSP), told the name.
    wiring = re.search(
        r'<script src="[^"]*/js/profile-map\.js\?v=[0-9a-f]+" data-marker="([^"]+)">', html
    )
    assert wiring and wiring.group(1) == name.group(1) and 'id="f-lat"' in html


# --- photos ------------------------------------------------------------------------------------


def test_photos_are_checked_reencoded_thumbnailed_and_private_until_approved(
    client: FlaskClient, world: World, session: Session, app: Flask
) -> None:
    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    png = io.BytesIO()
    Image.new("RGB", (10, 10)).save(png, format="PNG")
    cases = [
        ((io.BytesIO(pdf), "cv.pdf"), "Only JPEG, PNG and WebP"),
        ((io.BytesIO(png.getvalue()), "face.jpg"), "does not match"),  # disguised
        ((io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100), "face.jpg"), "does not match"),
        ((io.BytesIO(b""), "face.jpg"), "empty"),
    ]
    for upload, words in cases:
        r = save_profile(client, profile_form(lon, lat, p0_photo=upload))
        assert r.status_code == 400, words
        html = r.get_data(as_text=True)
        assert words in html and "Director" in html and "ถนนอุตรกิจ" in html
    app.config["PINMAP_MAX_PHOTO_BYTES"] = 50_000
    r = save_profile(
        client,
        profile_form(lon, lat, p0_photo=(io.BytesIO(b"\xff\xd8\xff" + b"0" * 60_000), "big.jpg")),
    )
    assert r.status_code == 400 and "larger than the upload limit" in r.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Photo)) == 0
    assert profile_revisions(session) == []

    r = save_profile(
        client,
        profile_form(
            lon,
            lat,
            p0_photo=(io.BytesIO(jpeg()), "d.jpg"),
            office_photo=(io.BytesIO(jpeg(colour="blue")), "o.JPG"),
        ),
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    photo = session.scalars(select(Photo).order_by(Photo.id)).first()
    assert (
        photo is not None
        and photo.mime == "image/jpeg"
        and (photo.width, photo.height) == (800, 600)
    )
    with client.get(f"/photos/{photo.id}/thumb") as thumb:
        assert thumb.status_code == 200 and thumb.headers["X-Content-Type-Options"] == "nosniff"
        with Image.open(io.BytesIO(thumb.get_data())) as im:
            assert max(im.size) <= 320 and im.format == "JPEG"
    sign_out(client)
    assert status_of(client, f"/photos/{photo.id}/full") == 404  # not approved yet
    sign_in(client, world.users["other_editor"], lang="en")
    assert status_of(client, f"/photos/{photo.id}/full") == 404
    approve_current(client, world, session)
    assert status_of(client, f"/photos/{photo.id}/full") == 200
    assert f"/photos/{photo.id}/" in client.get("/offices/spp-krabi").get_data(as_text=True)


# --- escaping ----------------------------------------------------------------------------------


def test_every_profile_text_is_escaped_on_the_page_and_in_the_popup(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    form = profile_form(
        lon,
        lat,
        address=PAYLOAD,
        phone="0 7561 1234",
        p0_name=PAYLOAD,
        p0_position=PAYLOAD,
        p1_name=PAYLOAD,
        p1_position=PAYLOAD,
    )
    assert save_profile(client, form).status_code == 302
    approve_current(client, world, session)
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert "<img src=x" not in html and "<b>x</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # The popup lives in a JS template literal: no raw ${ or backtick from the user survives.
    script = html[html.rindex("<script nonce=") :]  # the inline map script (CSP nonce)
    assert "${alert(2)}" not in script and "&#36;{alert(2)}" in script
    assert "`\\u0041" not in script


# --- operating plans ---------------------------------------------------------------------------


def test_plan_is_reviewed_and_its_approved_snapshot_is_public(
    client: FlaskClient, world: World, session: Session
) -> None:
    url = f"/portal/offices/spp-krabi/plan/{world.fy}"
    sign_in(client, world.users["own_editor"], lang="en")
    fields = {
        "problem": "ปัญหา <script>x</script>",
        "approach": "แนวทาง",
        "targets": "เป้าหมาย",
        "timeline": "ต.ค.–ธ.ค.",
    }
    r = client.post(url, data={**fields, "version": "0", "action": "save"})
    assert r.status_code == 302
    plan = session.scalars(select(WorkflowReport).filter_by(kind="operating_plan")).one()
    assert plan.current is not None
    sign_in(client, world.users["own_director"], lang="en")
    r = client.post(
        url + "/submit", data={**fields, "version": str(plan.current.version), "action": "submit"}
    )
    assert r.status_code == 302
    sign_in(client, world.users["reviewer"], lang="en")
    session.expire_all()
    r = client.post(
        f"/review/plans/{plan.id}",
        data={"decision": "return", "version": str(plan.current.version + 1)},
    )
    assert r.status_code in (400, 409)
    session.expire_all()
    r = client.post(
        f"/review/plans/{plan.id}",
        data={"decision": "approve", "version": str(plan.current.version)},
    )
    assert r.status_code == 302
    sign_out(client)
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert "แนวทาง" in html and "<script>x</script>" not in html


def test_every_bad_field_is_named_at_once_in_the_readers_language(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    client.set_cookie("pinmap_lang", "th")
    r = save_profile(
        client,
        profile_form(
            lon,
            lat,
            website="javascript:x",
            email="nope",
            staff_count="many",
            p1_position="ก" * 201,
        ),
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "4" in html and "อีเมล" in html and "เว็บไซต์" in html and "จำนวนบุคลากร" in html
    assert "บุคคลที่ 2: ตำแหน่ง" in html
    assert "Staff count" not in html and "ถนนอุตรกิจ อ.เมืองกระบี่" in html  # typed text kept
    assert profile_revisions(session) == []


def test_an_incomplete_profile_names_what_is_missing_in_the_readers_language(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    empty = {"address": "", "phone": "", "p0_name": "", "p0_position": ""}
    assert save_profile(client, profile_form(lon, lat, **empty)).status_code == 302
    rev = one_revision(session)
    sign_in(client, world.users["own_director"], lang="en")
    client.set_cookie("pinmap_lang", "th")
    r = client.post(
        "/portal/offices/spp-krabi/profile/submit",
        data={**profile_form(lon, lat, **empty), "action": "submit", "version": str(rev.version)},
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "ที่อยู่, โทรศัพท์, ผู้อำนวยการ" in html and "address" not in html.split("<form")[0]
