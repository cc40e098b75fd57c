"""The portal and review desk as a person uses them: forms, CSRF, messages, kept input."""

from __future__ import annotations

import io
import re

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.models import Evidence, LoginAttempt

from ..signin import sign_in_through_page
from ..support.portal import PASSWORD, World, full_report

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(client: FlaskClient, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    match = CSRF.search(page)
    assert match, page[:500]
    return match.group(1)


def _entry_page(w: World) -> str:
    return f"/portal/offices/spp-krabi/entries/{w.fy}/1/{w.item.kind}/{w.item.no}"


def test_sign_in_wrong_password_keeps_email_and_throttles(
    client: FlaskClient, world: World, session: Session
) -> None:
    r = sign_in_through_page(client, "own_editor@example.go.th", "wrong password 1")
    assert r.status_code == 401
    html = r.get_data(as_text=True)
    assert 'value="own_editor@example.go.th"' in html
    assert "อีเมลหรือรหัสผ่านไม่ถูกต้อง" in html or "Wrong e-mail or password" in html
    for _ in range(4):
        sign_in_through_page(client, "own_editor@example.go.th", "wrong password 1")
    r = sign_in_through_page(
        client, "own_editor@example.go.th", PASSWORD
    )  # right password, but the account is throttled now
    assert r.status_code == 429
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 5


def test_sign_in_takes_office_staff_to_their_office(client: FlaskClient, world: World) -> None:
    r = sign_in_through_page(client, "own_editor@example.go.th", PASSWORD)
    assert r.status_code == 302
    r = client.get("/portal/")
    assert r.headers["Location"].endswith("/portal/offices/spp-krabi")
    assert "สพป.กระบี่" in client.get("/portal/offices/spp-krabi").get_data(as_text=True)
    assert client.get("/portal/offices/spp-bangkok").status_code == 403


def test_sign_in_without_csrf_token_is_refused(client: FlaskClient, world: World) -> None:
    r = client.post(
        "/portal/login", data={"email": "own_editor@example.go.th", "password": PASSWORD}
    )
    assert r.status_code == 400


def test_bad_value_keeps_what_was_typed(client: FlaskClient, world: World) -> None:
    sign_in_through_page(client, "own_editor@example.go.th", PASSWORD)
    token = _token(client, _entry_page(world))
    form = {k: str(v) for k, v in full_report().items() if v is not None}
    form.update(
        csrf_token=token,
        version="0",
        action="save",
        indicator_value="เยอะมาก",
        what="ข้อความยาวที่พิมพ์ไว้",
    )
    r = client.post(_entry_page(world), data=form)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "ข้อความยาวที่พิมพ์ไว้" in html and "เยอะมาก" in html
    assert 'role="alert"' in html


def test_save_submit_return_and_see_the_comment(app: Flask, world: World, session: Session) -> None:
    editor, director, reviewer = app.test_client(), app.test_client(), app.test_client()
    sign_in_through_page(editor, "own_editor@example.go.th", PASSWORD)
    sign_in_through_page(director, "own_director@example.go.th", PASSWORD)
    sign_in_through_page(reviewer, "reviewer@example.go.th", PASSWORD)
    form = {k: str(v) for k, v in full_report().items() if v is not None}
    r = editor.post(
        _entry_page(world),
        data={
            **form,
            "version": "0",
            "action": "save",
            "csrf_token": _token(editor, _entry_page(world)),
        },
    )
    assert r.status_code == 302
    page = director.get(_entry_page(world)).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    r = director.post(
        _entry_page(world) + "/submit",
        data={
            **form,
            "version": version,
            "action": "submit",
            "csrf_token": _token(director, _entry_page(world)),
        },
    )
    assert r.status_code == 302
    queue = reviewer.get(f"/review/?fiscal_year={world.fy}").get_data(as_text=True)
    link = re.search(r'href="(/review/entries/\d+)"', queue).group(1)  # type: ignore[union-attr]
    page = reviewer.get(link).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    r = reviewer.post(
        link,
        data={
            "decision": "return",
            "comment": "แนบภาพกิจกรรม",
            "version": version,
            "csrf_token": CSRF.search(page).group(1),
        },
    )  # type: ignore[union-attr]
    assert r.status_code == 302
    dashboard = editor.get("/portal/offices/spp-krabi").get_data(as_text=True)
    assert "แนบภาพกิจกรรม" in dashboard


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return buf.getvalue()


def test_upload_evidence_and_who_can_fetch_it(
    app: Flask, client: FlaskClient, world: World, session: Session
) -> None:
    sign_in_through_page(client, "own_editor@example.go.th", PASSWORD)
    r = client.post(
        _entry_page(world) + "/files",
        data={
            "action": "upload",
            "version": "0",
            "csrf_token": _token(client, _entry_page(world)),
            "file": (io.BytesIO(_png()), "photo.png"),
            "file_title": "ภาพ",
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    ev = session.scalars(select(Evidence)).one()
    assert ev.mime == "image/png" and ev.stored_name and "photo" not in ev.stored_name
    served = client.get(f"/portal/evidence/{ev.id}")
    assert served.status_code == 200 and served.data.startswith(b"\x89PNG")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    served.close()
    # Not public until approved; unknown to outsiders.
    assert app.test_client().get(f"/portal/evidence/{ev.id}").status_code == 404


def test_disguised_upload_is_refused_with_a_message(client: FlaskClient, world: World) -> None:
    sign_in_through_page(client, "own_editor@example.go.th", PASSWORD)
    r = client.post(
        _entry_page(world) + "/files",
        data={
            "action": "upload",
            "version": "0",
            "csrf_token": _token(client, _entry_page(world)),
            "file": (io.BytesIO(b"<html><script>alert(1)</script></html>"), "x.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    assert 'role="alert"' in r.get_data(as_text=True)


def test_oversize_upload_is_refused(app: Flask, client: FlaskClient, world: World) -> None:
    app.config["PINMAP_MAX_UPLOAD_BYTES"] = 1000
    sign_in_through_page(client, "own_editor@example.go.th", PASSWORD)
    big = io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 5000)
    r = client.post(
        _entry_page(world) + "/files",
        data={
            "action": "upload",
            "version": "0",
            "csrf_token": _token(client, _entry_page(world)),
            "file": (big, "b.png"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 400


def test_password_change_signs_out_other_sessions(app: Flask, world: World) -> None:
    first, second = app.test_client(), app.test_client()
    sign_in_through_page(first, "own_editor@example.go.th", PASSWORD)
    sign_in_through_page(second, "own_editor@example.go.th", PASSWORD)
    r = first.post(
        "/portal/password",
        data={
            "old": PASSWORD,
            "new": "another secret 99",
            "repeat": "another secret 99",
            "csrf_token": _token(first, "/portal/password"),
        },
    )
    assert r.status_code == 302
    assert first.get("/portal/offices/spp-krabi").status_code == 200
    assert second.get("/portal/offices/spp-krabi").status_code == 302  # back to sign-in


def test_public_office_page_shows_only_approved_progress_escaped(
    client: FlaskClient, world: World
) -> None:
    h = world.headers
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    rev = client.put(
        world.entry_url(),
        headers=h("own_editor"),
        json={**full_report(), "what": "กิจกรรม " + payload},
    ).get_json()
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert "กิจกรรม" not in html  # a draft is not public
    rev = client.post(
        world.entry_url(suffix="/submit"),
        headers=h("own_director"),
        json={"version": rev["version"]},
    ).get_json()
    eid = client.get(
        f"/api/v1/portal/offices/spp-krabi/entries?fiscal_year={world.fy}", headers=h("reviewer")
    ).get_json()["entries"][0]["id"]
    client.post(
        f"/api/v1/review/entries/{eid}/decision",
        headers=h("reviewer"),
        json={"version": rev["version"], "decision": "approve"},
    )
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert "กิจกรรม" in html
    assert "<script>alert" not in html and "onerror" not in html
