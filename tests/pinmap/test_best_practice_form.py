"""The best-practice form on the workflow engine: autosave (the form keeper's endpoint), files
posted with the typed text (nothing typed is lost), refusals that keep it, un-approving."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.models import AuditLog
from pinmap.services import best_practices as svc

from ..signin import sign_in, sign_out
from ..support.best_practices import BASE, made_practice, practice_form
from ..support.portal import World
from ..support.profiles import wired as wired  # autouse: blueprints registered, CSRF off


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return buf.getvalue()


def _audits(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditLog)) or 0


def test_autosave_saves_the_draft_and_answers_the_time_and_version(
    client: FlaskClient, world: World, session: Session
) -> None:
    bp = made_practice(client, world, session)
    r = client.post(
        f"{BASE}/{bp.id}/autosave",
        data=practice_form(world, version=str(bp.version), results="ร่าง"),
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert re.fullmatch(r"\d\d:\d\d", body["saved_at"]) and body["version"] == bp.version + 1
    session.expire_all()
    saved = svc.bp_or_404(session, bp.id)
    assert (saved.results, saved.state, saved.version) == ("ร่าง", "draft", body["version"])
    # The next autosave carries the version the script wrote into the form.
    again = client.post(
        f"{BASE}/{bp.id}/autosave",
        data=practice_form(world, version=str(body["version"]), results="ร่าง 2"),
    )
    assert again.status_code == 200 and again.get_json()["version"] == body["version"] + 1


def test_autosave_refusals_answer_json_and_change_nothing(
    client: FlaskClient, world: World, session: Session
) -> None:
    bp = made_practice(client, world, session)
    before = _audits(session)
    stale = client.post(
        f"{BASE}/{bp.id}/autosave", data=practice_form(world, version="99", results="x")
    )
    assert stale.status_code == 409 and "version" in stale.get_json()["error"]
    empty = client.post(
        f"{BASE}/{bp.id}/autosave", data=practice_form(world, version="1", title="")
    )
    assert empty.status_code == 400 and "Title" in empty.get_json()["error"]
    sign_in(client, world.users["other_editor"], lang="en")
    other = client.post(f"{BASE}/{bp.id}/autosave", data=practice_form(world, version="1"))
    assert other.status_code == 403
    session.expire_all()
    assert _audits(session) == before and svc.bp_or_404(session, bp.id).version == bp.version
    # A sent practice is locked until the reviewer decides: the autosave says so.
    sign_in(client, world.users["own_director"], lang="en")
    assert (
        client.post(
            f"{BASE}/{bp.id}/submit",
            data=practice_form(world, version=str(bp.version), action="submit"),
        ).status_code
        == 302
    )
    session.expire_all()
    sent = svc.bp_or_404(session, bp.id)
    locked = client.post(
        f"{BASE}/{bp.id}/autosave", data=practice_form(world, version=str(sent.version))
    )
    assert locked.status_code == 409 and "waits for review" in locked.get_json()["error"]


def test_a_file_button_saves_the_typed_text_with_the_file(
    client: FlaskClient, world: World, session: Session
) -> None:
    bp = made_practice(client, world, session)
    r = client.post(
        f"{BASE}/{bp.id}/attachments",
        data={
            **practice_form(world, version=str(bp.version), action="attach", results="พิมพ์ค้างไว้"),
            "file": (io.BytesIO(_png()), "a.png"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    session.expire_all()
    saved = svc.bp_or_404(session, bp.id)
    assert saved.results == "พิมพ์ค้างไว้" and len(saved.attachments) == 1
    r = client.post(
        f"{BASE}/{saved.id}/attachments/remove?index=0",
        data=practice_form(world, version=str(saved.version), action="detach", results="แก้อีก"),
    )
    assert r.status_code == 302
    session.expire_all()
    saved = svc.bp_or_404(session, bp.id)
    assert saved.results == "แก้อีก" and saved.attachments == []


def test_a_refused_upload_keeps_the_typed_text_and_saves_nothing(
    client: FlaskClient, world: World, session: Session
) -> None:
    bp = made_practice(client, world, session)
    before = _audits(session)
    r = client.post(
        f"{BASE}/{bp.id}/attachments",
        data={
            **practice_form(world, version=str(bp.version), action="attach", results="ข้อความที่พิมพ์"),
            "file": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "report.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "ข้อความที่พิมพ์" in page and "report.pdf" in page
    session.expire_all()
    assert _audits(session) == before and svc.bp_or_404(session, bp.id).results == "ผล"


def test_unapprove_from_the_review_desk_takes_it_off_the_public_pages(
    client: FlaskClient, world: World, session: Session
) -> None:
    bp = made_practice(client, world, session)
    sign_in(client, world.users["own_director"], lang="en")
    r = client.post(
        f"{BASE}/{bp.id}/submit",
        data=practice_form(world, version=str(bp.version), action="submit"),
    )
    assert r.status_code == 302

    def version() -> str:
        session.expire_all()
        return str(svc.bp_or_404(session, bp.id).version)

    sign_in(client, world.users["reviewer"], lang="en")
    assert (
        client.post(
            f"/review/best-practices/{bp.id}", data={"decision": "approve", "version": version()}
        ).status_code
        == 302
    )
    sign_out(client)
    assert client.get(f"/best-practices/{bp.id}").status_code == 200
    sign_in(client, world.users["reviewer"], lang="en")
    page = client.get(f"/review/best-practices/{bp.id}").get_data(as_text=True)
    assert 'value="unapprove"' in page
    no_comment = client.post(
        f"/review/best-practices/{bp.id}", data={"decision": "unapprove", "version": version()}
    )
    assert no_comment.status_code == 400
    r = client.post(
        f"/review/best-practices/{bp.id}",
        data={"decision": "unapprove", "version": version(), "comment": "ข้อมูลผิด"},
    )
    assert r.status_code == 302
    sign_out(client)
    assert client.get(f"/best-practices/{bp.id}").status_code == 404
    session.expire_all()
    shown = svc.bp_or_404(session, bp.id)
    assert shown.state == "submitted" and shown.level == 1  # back to the director's level
