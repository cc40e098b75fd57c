"""Account self-service: each role's home, the header's password link, reset by e-mail through a
real SMTP server, one-time passwords set by an admin, and the admin's user list and import."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from pinmap.models import AuditLog, PasswordReset, ReportingWindow, User

from ..signin import sign_in, sign_in_through_page
from ..support.mail import Inbox
from ..support.portal import OWN, PASSWORD, World, add_coach, full_report

NEW = "a fresh secret 2026"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(client: FlaskClient, url: str) -> str:
    found = _CSRF.search(client.get(url).get_data(as_text=True))
    assert found
    return found.group(1)


def _en(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.set_cookie("pinmap_lang", "en")
    return client


# --- where each role lands -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "lands"),
    [
        ("own_editor", f"/portal/offices/{OWN}"),
        ("own_director", f"/portal/offices/{OWN}"),
        ("reviewer", "/review/"),
        ("coach", "/coaching/plans"),
        ("admin", "/admin/"),
    ],
)
def test_every_role_lands_on_its_own_home(
    app: Flask, world: World, session: Session, who: str, lands: str
) -> None:
    add_coach(world, session)
    session.commit()
    client = _en(app)
    r = sign_in_through_page(client, f"{who}@example.go.th", PASSWORD)
    assert r.status_code == 302
    page = client.get(r.headers["Location"], follow_redirects=True)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    assert page.request.path == lands
    # Every signed-in user finds the password change in the header.
    assert 'href="/portal/password"' in page.get_data(as_text=True)


def test_admin_home_lists_what_needs_attention(app: Flask, world: World) -> None:
    client = _en(app)
    sign_in(client, world.users["admin"])
    body = client.get("/admin/").get_data(as_text=True)
    assert "What needs attention" in body
    assert "Progress reports waiting for review" in body
    assert 'href="/review/"' in body


def test_refusal_pages_say_what_to_do_next(app: Flask, world: World) -> None:
    client = _en(app)
    sign_in(client, world.users["own_editor"])
    r = client.get("/admin/users")
    assert r.status_code == 403
    body = r.get_data(as_text=True)
    assert "ask an admin of OBEC" in body
    assert 'href="/portal/"' in body  # their own home
    missing = client.get("/admin/nowhere")
    assert missing.status_code == 404
    assert "Check the address" in missing.get_data(as_text=True)


# --- changing one's password -----------------------------------------------------------------


def test_wrong_current_password_is_refused_and_nothing_changes(
    app: Flask, world: World, session: Session
) -> None:
    client = _en(app)
    sign_in(client, world.users["own_editor"])
    r = client.post(
        "/portal/password",
        data={
            "csrf_token": _token(client, "/portal/password"),
            "old": "not my password",
            "new": NEW,
            "repeat": NEW,
        },
    )
    assert r.status_code == 400
    assert "The current password is wrong." in r.get_data(as_text=True)
    assert sign_in_through_page(_en(app), "own_editor@example.go.th", PASSWORD).status_code == 302


# --- reset by e-mail -------------------------------------------------------------------------


def _ask(client: FlaskClient, email: str) -> str:
    r = client.post(
        "/portal/forgot", data={"csrf_token": _token(client, "/portal/forgot"), "email": email}
    )
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return r.get_data(as_text=True)


def test_reset_by_mail_works_once(app: Flask, world: World, session: Session, inbox: Inbox) -> None:
    app.config.update(inbox.config())
    client = _en(app)
    assert 'href="/portal/forgot"' in client.get("/portal/login").get_data(as_text=True)
    answer = _ask(client, "Own_Editor@example.go.th ")
    (message,) = inbox.wait_for(1)
    assert message["To"] == "own_editor@example.go.th"
    link = inbox.link(message)
    assert link.startswith("http://pinmap.test/portal/reset/")
    path = link.removeprefix("http://pinmap.test")
    token = path.rsplit("/", 1)[1]
    # Only the token's hash is kept.
    stored = session.scalars(select(PasswordReset.token_sha256)).all()
    assert token not in stored and len(stored) == 1
    # The answer reads the same for an address with no account, and nothing is sent for it.
    other = _ask(client, "nobody@example.go.th")
    assert other.replace("nobody@example.go.th", "X") == answer.replace(
        "Own_Editor@example.go.th", "X"
    )
    assert client.get(path).status_code == 200
    differ = client.post(
        path, data={"csrf_token": _token(client, path), "new": NEW, "repeat": NEW + "x"}
    )
    assert differ.status_code == 400
    done = client.post(path, data={"csrf_token": _token(client, path), "new": NEW, "repeat": NEW})
    assert done.status_code == 302 and done.headers["Location"].endswith("/portal/login")
    assert sign_in_through_page(_en(app), "own_editor@example.go.th", NEW).status_code == 302
    again = client.get(path)
    assert again.status_code == 400
    assert "expired or was used already" in again.get_data(as_text=True)
    reused = client.post(path, data={"csrf_token": "x", "new": NEW, "repeat": NEW})
    assert reused.status_code == 400
    assert len(inbox.messages) == 1
    session.expire_all()
    assert session.scalar(
        select(func.count()).select_from(AuditLog).filter_by(action="user.password_reset_by_mail")
    )


def test_expired_and_superseded_links_do_not_work(
    app: Flask, world: World, session: Session, inbox: Inbox
) -> None:
    app.config.update(inbox.config())
    client = _en(app)
    _ask(client, "own_editor@example.go.th")
    _ask(client, "own_editor@example.go.th")
    first, second = inbox.wait_for(2)
    old_path = inbox.link(first).removeprefix("http://pinmap.test")
    new_path = inbox.link(second).removeprefix("http://pinmap.test")
    assert client.get(old_path).status_code == 400  # only the newest link works
    assert client.get(new_path).status_code == 200
    session.execute(update(PasswordReset).values(expires_at=func.now() - dt.timedelta(seconds=1)))
    session.commit()
    expired = client.post(
        new_path, data={"csrf_token": _token(client, "/portal/forgot"), "new": NEW, "repeat": NEW}
    )
    assert expired.status_code == 400
    assert "Ask for a new link" in expired.get_data(as_text=True)


def test_reset_requests_are_throttled_like_sign_in(app: Flask, world: World, inbox: Inbox) -> None:
    app.config.update(inbox.config())
    client = _en(app)
    for _ in range(5):
        _ask(client, "own_editor@example.go.th")
    r = client.post(
        "/portal/forgot",
        data={"csrf_token": _token(client, "/portal/forgot"), "email": "own_editor@example.go.th"},
    )
    assert r.status_code == 429
    assert 'value="own_editor@example.go.th"' in r.get_data(as_text=True)
    assert len(inbox.wait_for(5)) == 5


def test_without_mail_the_page_sends_people_to_an_admin(app: Flask, world: World) -> None:
    client = _en(app)
    body = client.get("/portal/forgot").get_data(as_text=True)
    assert "Ask an admin" in body
    r = client.post("/portal/forgot", data={"csrf_token": _token(client, "/portal/login")})
    assert r.status_code == 200 and "Ask an admin" in r.get_data(as_text=True)


# --- one-time passwords ----------------------------------------------------------------------


def test_one_time_password_must_be_changed_first(
    app: Flask, world: World, session: Session
) -> None:
    admin = _en(app)
    sign_in(admin, world.users["admin"])
    editor_id = world.users["own_editor"].id
    r = admin.post(
        f"/admin/users/{editor_id}/password",
        data={"csrf_token": _token(admin, "/admin/users"), "password": "temporary pass 1"},
    )
    assert r.status_code == 302
    user = _en(app)
    assert sign_in_through_page(user, "own_editor@example.go.th", "temporary pass 1").status_code
    blocked = user.get(f"/portal/offices/{OWN}")
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/portal/password")
    same = user.post(
        "/portal/password",
        data={
            "csrf_token": _token(user, "/portal/password"),
            "old": "temporary pass 1",
            "new": "temporary pass 1",
            "repeat": "temporary pass 1",
        },
    )
    assert same.status_code == 400
    ok = user.post(
        "/portal/password",
        data={
            "csrf_token": _token(user, "/portal/password"),
            "old": "temporary pass 1",
            "new": NEW,
            "repeat": NEW,
        },
    )
    assert ok.status_code == 302
    assert user.get(f"/portal/offices/{OWN}").status_code == 200


# --- the users list and bulk import ----------------------------------------------------------


def _import(client: FlaskClient, body: bytes, name: str = "users.csv") -> tuple[int, str]:
    r = client.post(
        "/admin/users/import",
        data={"csrf_token": _token(client, "/admin/users"), "file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )
    return r.status_code, r.get_data(as_text=True)


def _users(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def test_bad_import_names_rows_and_columns_and_changes_nothing(
    app: Flask, world: World, session: Session
) -> None:
    client = _en(app)
    sign_in(client, world.users["admin"])
    before = _users(session)
    rows = (
        "email,name,role,office_code\n"
        "ok1@example.go.th,<b>หนึ่ง</b>,office_editor,spp-krabi\n"
        "not-an-email,สอง,office_editor,spp-krabi\n"
        "ok3@example.go.th,สาม,boss,\n"
        "ok4@example.go.th,สี่,office_director,no-such-office\n"
        "own_editor@example.go.th,ซ้ำ,reviewer,\n"
        "ok1@example.go.th,ซ้ำในไฟล์,reviewer,\n"
    )
    status, body = _import(client, rows.encode())
    assert status == 400
    assert "Nothing was changed" in body
    for row, column in ((3, "email"), (4, "role"), (5, "office_code"), (6, "email"), (7, "email")):
        assert re.search(rf"<td>{row}</td><td><code>{column}</code></td>", body), (row, column)
    assert "Same e-mail as row 2." in body
    assert _users(session) == before
    status, body = _import(client, b"email,password\nx@example.go.th,secret\n")
    assert status == 400 and "Unknown column" in body and "Required column is missing." in body


def test_import_of_a_thousand_users_and_the_list_filters(
    app: Flask, world: World, session: Session
) -> None:
    client = _en(app)
    sign_in(client, world.users["admin"])
    codes = [c for (c,) in session.execute(text("SELECT code FROM offices ORDER BY code"))]
    assert len(codes) == 245
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["email", "name", "role", "office_code"])
    for code in codes:
        for n in range(4):
            role = "office_director" if n == 0 else "office_editor"
            ws.append([f"{code}.{n}@example.go.th", f"<i>{code}</i> {n}", role, code])
    buf = io.BytesIO()
    wb.save(buf)
    before = _users(session)
    status, body = _import(client, buf.getvalue(), "users.xlsx")
    assert status == 302, body[:2000]
    assert _users(session) == before + 980
    # An imported account has no password that works yet.
    r = sign_in_through_page(_en(app), f"{codes[0]}.1@example.go.th", "")
    assert r.status_code in (400, 401)
    page = client.get("/admin/users?q=.1@example&role=office_editor&active=yes")
    listing = page.get_data(as_text=True)
    assert "Users (245)" in listing
    assert "Page 1 of 5" in listing
    assert "&lt;i&gt;" in listing and "<i>spp" not in listing  # names are escaped
    assert 'data-confirm="Deactivate' in listing
    second = client.get("/admin/users?q=.1@example&role=office_editor&active=yes&page=2")
    assert "Page 2 of 5" in second.get_data(as_text=True)
    one = client.get(f"/admin/users?office={codes[3]}").get_data(as_text=True)
    assert "Users (4)" in one
    literal = client.get("/admin/users?q=%25").get_data(as_text=True)
    assert "Users (0)" in literal  # % is matched as itself, not as a wildcard
    odd = client.get("/admin/users?role=nope&active=maybe&page=-3")
    assert odd.status_code == 200


# --- reporting windows -----------------------------------------------------------------------


def test_windows_are_edited_and_deleted_unless_reported_in(
    app: Flask, world: World, session: Session
) -> None:
    client = _en(app)
    sign_in(client, world.users["admin"])
    window = session.scalars(select(ReportingWindow).filter_by(fiscal_year=world.fy)).first()
    assert window is not None
    url = f"/admin/windows/{window.id}"
    bad = client.post(
        url,
        data={
            "csrf_token": _token(client, "/admin/windows"),
            "label_th": "รอบแก้ <script>",
            "label_en": "Edited",
            "opens_on": window.closes_on.isoformat(),
            "closes_on": window.opens_on.isoformat(),
        },
    )
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "must open on or before" in page
    assert 'value="รอบแก้ &lt;script&gt;"' in page  # typed text kept, escaped
    ok = client.post(
        url,
        data={
            "csrf_token": _token(client, "/admin/windows"),
            "label_th": "รอบแก้",
            "label_en": "Edited",
            "opens_on": window.opens_on.isoformat(),
            "closes_on": window.closes_on.isoformat(),
        },
    )
    assert ok.status_code == 302
    # A report in the round: deleting is refused with the reason, nothing removed.
    r = client.put(world.entry_url(), json=full_report(), headers=world.headers("own_editor"))
    assert r.status_code == 200, r.get_data(as_text=True)
    refused = client.post(url + "/delete", data={"csrf_token": _token(client, "/admin/windows")})
    assert refused.status_code == 409
    assert "cannot be deleted" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(ReportingWindow, window.id) is not None
    # A round nobody reported in goes.
    starts = dt.date(world.fy - 543, 9, 1)
    added = client.post(
        "/admin/windows",
        data={
            "csrf_token": _token(client, "/admin/windows"),
            "fiscal_year": str(world.fy),
            "round_no": "9",
            "label_th": "รอบเก้า",
            "label_en": "Nine",
            "opens_on": starts.isoformat(),
            "closes_on": (starts + dt.timedelta(days=5)).isoformat(),
        },
    )
    assert added.status_code == 302, added.get_data(as_text=True)[:1500]
    nine = session.scalars(
        select(ReportingWindow).filter_by(fiscal_year=world.fy, round_no=9)
    ).one()
    nine_id = nine.id
    gone = client.post(
        f"/admin/windows/{nine_id}/delete", data={"csrf_token": _token(client, "/admin/windows")}
    )
    assert gone.status_code == 302
    session.expire_all()
    assert session.scalar(select(func.count()).where(ReportingWindow.id == nine_id)) == 0
    assert session.scalar(
        select(func.count()).select_from(AuditLog).filter_by(action="window.delete")
    )
    again = client.post(
        f"/admin/windows/{nine_id}/delete", data={"csrf_token": _token(client, "/admin/windows")}
    )
    assert again.status_code == 404


def test_open_round_is_listed_above_a_closed_one_with_whom_to_ask(
    app: Flask, world: World, session: Session
) -> None:
    opened = session.scalars(select(ReportingWindow).filter_by(fiscal_year=world.fy)).one()
    session.add(
        ReportingWindow(
            fiscal_year=world.fy,
            round_no=2,
            label_th="รอบที่ปิดแล้ว",
            label_en="Closed round",
            opens_on=opened.opens_on - dt.timedelta(days=30),
            closes_on=opened.opens_on - dt.timedelta(days=20),
        )
    )
    session.commit()
    client = _en(app)
    sign_in(client, world.users["own_director"])
    body = client.get(f"/portal/offices/{OWN}").get_data(as_text=True)
    assert body.index(opened.label_en) < body.index("Closed round")
    assert "ask OBEC (your reviewer) to reopen it" in body
