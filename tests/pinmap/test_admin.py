"""Admin pages: users, reporting windows, the item catalogue CSV and the audit log."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.admin import bp as admin_bp
from pinmap.models import (
    AuditLog,
    FiscalYear,
    Office,
    PolicyDimension,
    PolicyItem,
    ProgressEntry,
    ReportingWindow,
    User,
)
from pinmap.services import catalogue
from pinmap.services.audit import Actor, record

from ..signin import sign_in
from ..support.factories import UserFactory

PASSWORD = "correct-horse-42"
# Stands in for the portal's sign-in page until that blueprint exists.
portal_stub = Blueprint("portal", __name__)


@portal_stub.route("/portal/login")
def login() -> str:
    return "sign in"


@pytest.fixture
def admin_app(app: Flask) -> Flask:
    if "admin" not in app.blueprints:
        app.register_blueprint(admin_bp)
    if "portal.login" not in app.view_functions:
        app.register_blueprint(portal_stub)
    return app


@pytest.fixture
def web(admin_app: Flask) -> FlaskClient:
    client = admin_app.test_client()
    client.set_cookie("pinmap_lang", "en")  # assertions below read the English messages
    return client


def _office(session: Session) -> Office:
    return session.scalars(select(Office).order_by(Office.code)).first()  # type: ignore[return-value]


def _user(session: Session, email: str, role: str = "admin") -> User:
    office = _office(session).code if role in ("office_editor", "office_director") else None
    user = UserFactory(
        session=session, email=email, password=PASSWORD, role=role, office_code=office
    )
    session.commit()
    return user


def _token(client: FlaskClient, url: str = "/admin/users") -> str:
    page = client.get(url)
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found
    return found.group(1)


def _signed_token(client: FlaskClient) -> str:
    """A valid CSRF token for users who may not open any page with a form."""
    raw = "test-csrf-secret"
    with client.session_transaction() as s:
        s["csrf_token"] = raw
    secret = client.application.config["SECRET_KEY"]
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


@pytest.fixture
def admin(session: Session, web: FlaskClient) -> User:
    user = _user(session, "boss@obec.go.th")
    sign_in(web, user)
    return user


def _catalogue_state(session: Session, year: int = 2567) -> tuple[list[tuple], list[tuple]]:
    session.expire_all()
    dims = session.execute(
        select(
            PolicyDimension.id,
            PolicyDimension.no,
            PolicyDimension.key,
            PolicyDimension.title_th,
            PolicyDimension.title_en,
        )
        .filter_by(fiscal_year=year)
        .order_by(PolicyDimension.id)
    ).all()
    items = session.execute(
        select(
            PolicyItem.id,
            PolicyItem.kind,
            PolicyItem.no,
            PolicyItem.title_th,
            PolicyItem.title_en,
            PolicyItem.dimension_id,
            PolicyItem.verified,
            PolicyItem.source_note,
        )
        .filter_by(fiscal_year=year)
        .order_by(PolicyItem.id)
    ).all()
    return [tuple(d) for d in dims], [tuple(i) for i in items]


def _upload(client: FlaskClient, text: str | bytes, token: str) -> object:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.post(
        "/admin/catalogue/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "items.csv")},
        content_type="multipart/form-data",
    )


# --- Access ---------------------------------------------------------------------------------

ADMIN_PAGES = [
    "/admin/users",
    "/admin/windows",
    "/admin/deadlines",
    "/admin/workflow",
    "/admin/catalogue",
    "/admin/audit",
    "/admin/catalogue/export.csv?fiscal_year=2567",
]


@pytest.mark.parametrize("role", ["office_editor", "office_director", "reviewer"])
def test_other_roles_get_403(session: Session, web: FlaskClient, role: str) -> None:
    sign_in(web, _user(session, f"{role}@example.org", role))
    for url in ADMIN_PAGES:
        assert web.get(url).status_code == 403, url
    resp = web.post("/admin/users", data={"csrf_token": _signed_token(web), "email": "x@a.org"})
    assert resp.status_code == 403
    assert (
        web.post("/admin/catalogue/import", data={"csrf_token": _signed_token(web)}).status_code
        == 403
    )


def test_anonymous_is_refused(web: FlaskClient) -> None:
    for url in ADMIN_PAGES:
        resp = web.get(url)
        assert resp.status_code in (302, 401), url
        if resp.status_code == 302:
            assert "login" in resp.headers["Location"]


def test_deactivated_admin_is_refused(session: Session, web: FlaskClient, admin: User) -> None:
    admin.active = False
    session.commit()
    assert web.get("/admin/users").status_code in (302, 401)


# --- Users ----------------------------------------------------------------------------------


def test_admin_lists_and_creates_users(session: Session, web: FlaskClient, admin: User) -> None:
    _user(session, "<b>odd</b>@example.org", "reviewer")
    page = web.get("/admin/users")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "boss@obec.go.th" in html
    assert "&lt;b&gt;odd&lt;/b&gt;@example.org" in html and "<b>odd" not in html

    office = _office(session)
    resp = web.post(
        "/admin/users",
        data={
            "csrf_token": _token(web),
            "email": "Editor@Example.org",
            "name": "Somchai",
            "role": "office_editor",
            "office_code": office.code,
            "password": PASSWORD,
        },
    )
    assert resp.status_code == 302
    created = session.scalars(select(User).filter_by(email="editor@example.org")).one()
    assert created.office_id == office.id and created.role == "office_editor"
    log = session.scalars(
        select(AuditLog).filter_by(action="user.create", entity_id=str(created.id))
    ).one()
    assert log.user_id == admin.id
    assert "editor@example.org" in web.get("/admin/users").get_data(as_text=True)


def test_duplicate_email_keeps_typed_values(
    session: Session, web: FlaskClient, admin: User
) -> None:
    resp = web.post(
        "/admin/users",
        data={
            "csrf_token": _token(web),
            "email": "boss@obec.go.th",
            "name": "Second boss",
            "role": "reviewer",
            "office_code": "",
            "password": "secret-typed-99",
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "exists already" in html
    assert 'value="boss@obec.go.th"' in html and 'value="Second boss"' in html
    assert "secret-typed-99" not in html
    assert session.scalar(select(func.count()).select_from(User)) == 1


def test_create_user_validation_error_is_400(
    session: Session, web: FlaskClient, admin: User
) -> None:
    resp = web.post(
        "/admin/users",
        data={
            "csrf_token": _token(web),
            "email": "new@example.org",
            "name": "N",
            "role": "office_editor",
            "office_code": "spp-nowhere",
            "password": PASSWORD,
        },
    )
    assert resp.status_code == 400
    assert "No office with code spp-nowhere" in resp.get_data(as_text=True)
    assert session.scalars(select(User).filter_by(email="new@example.org")).first() is None


def test_toggle_active_is_audited(session: Session, web: FlaskClient, admin: User) -> None:
    other = _user(session, "editor@example.org", "office_editor")
    token = _token(web)
    assert (
        web.post(f"/admin/users/{other.id}/active", data={"csrf_token": token}).status_code == 302
    )
    session.expire_all()
    assert session.get(User, other.id).active is False  # type: ignore[union-attr]
    log = session.scalars(select(AuditLog).filter_by(action="user.deactivate")).one()
    assert (log.before, log.after) == ({"active": True}, {"active": False})
    assert log.office_id == other.office_id

    assert (
        web.post(f"/admin/users/{other.id}/active", data={"csrf_token": token}).status_code == 302
    )
    session.expire_all()
    assert session.get(User, other.id).active is True  # type: ignore[union-attr]


def test_admin_cannot_deactivate_self(session: Session, web: FlaskClient, admin: User) -> None:
    resp = web.post(f"/admin/users/{admin.id}/active", data={"csrf_token": _token(web)})
    assert resp.status_code == 400
    assert "your own account" in resp.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, admin.id).active is True  # type: ignore[union-attr]
    assert not session.scalars(select(AuditLog).filter_by(action="user.deactivate")).first()


def test_post_without_csrf_token_is_refused(
    session: Session, web: FlaskClient, admin: User
) -> None:
    web.application.config["WTF_CSRF_ENABLED"] = True
    resp = web.post(
        "/admin/users",
        data={
            "email": "sneaky@example.org",
            "name": "S",
            "role": "reviewer",
            "password": PASSWORD,
        },
    )
    assert resp.status_code == 400
    assert session.scalars(select(User).filter_by(email="sneaky@example.org")).first() is None


# --- Reporting windows ----------------------------------------------------------------------


def _window_form(token: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "fiscal_year": "2567",
        "round_no": "3",
        "label_th": "ระยะที่ 3",
        "label_en": "Phase 3",
        "opens_on": "2024-09-01",
        "closes_on": "2024-09-20",
    }
    form.update(changes)
    return form


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"closes_on": "2024-08-01"}, "on or before the day it closes"),
        ({"closes_on": "2024-10-05"}, "inside fiscal year 2567"),
        ({"opens_on": "2023-09-30"}, "inside fiscal year 2567"),
        ({"opens_on": "1 Sep 2024"}, "must be a date"),
        ({"round_no": "0"}, "from 1 to 12"),
        ({"label_en": ""}, "English label"),
        ({"fiscal_year": "67"}, "Buddhist Era year"),
    ],
)
def test_window_validation(
    session: Session, web: FlaskClient, admin: User, changes: dict[str, str], message: str
) -> None:
    resp = web.post("/admin/windows", data=_window_form(_token(web, "/admin/windows"), **changes))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert message in html
    assert 'value="Phase 3"' in html or changes.get("label_en") == ""
    assert session.scalars(select(ReportingWindow).filter_by(round_no=3)).first() is None
    assert not session.scalars(select(AuditLog).filter(AuditLog.action.like("window.%"))).first()


def test_window_create_and_update(session: Session, web: FlaskClient, admin: User) -> None:
    token = _token(web, "/admin/windows")
    resp = web.post("/admin/windows", data=_window_form(token))
    assert resp.status_code == 302
    window = session.scalars(select(ReportingWindow).filter_by(fiscal_year=2567, round_no=3)).one()
    assert window.opens_on == dt.date(2024, 9, 1)

    resp = web.post("/admin/windows", data=_window_form(token, closes_on="2024-09-30"))
    assert resp.status_code == 302
    session.expire_all()
    assert window.closes_on == dt.date(2024, 9, 30)
    logs = session.scalars(
        select(AuditLog).filter(AuditLog.action.like("window.%")).order_by(AuditLog.id)
    ).all()
    assert [log.action for log in logs] == ["window.create", "window.update"]
    assert logs[1].before["closes_on"] == "2024-09-20"  # type: ignore[index]
    assert logs[1].after["closes_on"] == "2024-09-30"  # type: ignore[index]
    page = web.get("/admin/windows?fiscal_year=2567").get_data(as_text=True)
    assert "Phase 3" in page and "30 Sep 2567 BE" in page  # Buddhist Era dates


def test_window_creates_missing_fiscal_year(
    session: Session, web: FlaskClient, admin: User
) -> None:
    form = _window_form(
        _token(web, "/admin/windows"),
        fiscal_year="2569",
        round_no="1",
        opens_on="2025-10-01",
        closes_on="2025-12-31",
    )
    assert web.post("/admin/windows", data=form).status_code == 302
    year = session.get(FiscalYear, 2569)
    assert year is not None and (year.starts_on, year.ends_on) == (
        dt.date(2025, 10, 1),
        dt.date(2026, 9, 30),
    )


# --- Catalogue ------------------------------------------------------------------------------


def test_catalogue_page_shows_items(web: FlaskClient, admin: User) -> None:
    html = web.get("/admin/catalogue?fiscal_year=2567").get_data(as_text=True)
    assert "ด้านความปลอดภัย" in html and "MOE Safety Center" in html


def test_export_import_round_trip(session: Session, web: FlaskClient, admin: User) -> None:
    before = _catalogue_state(session)
    resp = web.get("/admin/catalogue/export.csv?fiscal_year=2567")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers["Content-Disposition"]
    body = resp.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(catalogue.CSV_COLUMNS)
    assert len(text.splitlines()) == 1 + 4 + 10 + 11

    resp = _upload(web, body, _token(web, "/admin/catalogue"))
    assert resp.status_code == 302
    assert _catalogue_state(session) == before
    assert web.get("/admin/catalogue/export.csv?fiscal_year=2567").get_data() == body
    # Nothing changed, so nothing to audit.
    assert not session.scalars(select(AuditLog).filter_by(action="catalogue.import")).first()


def test_export_escapes_formulas(session: Session, web: FlaskClient, admin: User) -> None:
    item = session.scalars(
        select(PolicyItem).filter_by(fiscal_year=2567, kind="policy", no=1)
    ).one()
    item.title_en = '=HYPERLINK("http://evil.example","x")'
    item.source_note = "@SUM(A1)"
    session.commit()
    before = _catalogue_state(session)
    body = web.get("/admin/catalogue/export.csv?fiscal_year=2567").get_data()
    text = body.decode("utf-8-sig")
    assert '"\'=HYPERLINK(""http://evil.example"",""x"")"' in text
    assert "'@SUM(A1)" in text
    assert not any(
        cell.startswith(("=", "+", "-", "@"))
        for line in text.splitlines()
        for cell in line.split(",")
    )
    # Importing the escaped file gives back the original text.
    assert _upload(web, body, _token(web, "/admin/catalogue")).status_code == 302
    assert _catalogue_state(session) == before


def test_bad_import_reports_line_and_changes_nothing(
    session: Session, web: FlaskClient, admin: User
) -> None:
    before = _catalogue_state(session)
    text = catalogue.export_catalogue(session, 2567)
    lines = text.splitlines()
    lines[2] = lines[2].replace(",dimension,", ",bogus,", 1)  # line 3 of the file
    lines[6] = lines[6].replace("Safety of learners", "CHANGED")  # a valid change, not applied
    resp = _upload(web, "\r\n".join(lines) + "\r\n", _token(web, "/admin/catalogue"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "line 3: unknown kind “bogus”" in html
    assert "nothing was changed" in html
    assert _catalogue_state(session) == before


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda ls: [ls[0].replace(",verified", ",checked")] + ls[1:], "line 1: missing column"),
        (lambda ls: ls + [ls[5]], "line 27: duplicate policy 1"),
        (
            lambda ls: ls[:5] + [ls[5].replace("ความปลอดภัย,no", "nowhere,no")] + ls[6:],
            "line 6: unknown dimension “nowhere”",
        ),
        (
            lambda ls: ls[:5] + [ls[5].replace("ความปลอดภัย,no", "ความปลอดภัย,maybe")] + ls[6:],
            "line 6: verified must be yes or no",
        ),
        (
            lambda ls: ls + [ls[-1].replace("2567,", "2568,", 1).replace(",11,", ",12,")],
            "line 27: the file holds more than one fiscal year (2567, 2568)",
        ),
        (lambda ls: ls + ["2567,policy,11,x"], "line 27: wrong number of fields"),
    ],
)
def test_import_validation(
    session: Session, web: FlaskClient, admin: User, edit: object, expected: str
) -> None:
    before = _catalogue_state(session)
    lines = catalogue.export_catalogue(session, 2567).splitlines()
    resp = _upload(web, "\n".join(edit(lines)) + "\n", _token(web, "/admin/catalogue"))  # type: ignore[operator]
    assert resp.status_code == 400
    assert expected in resp.get_data(as_text=True)
    assert _catalogue_state(session) == before


def test_import_updates_adds_and_removes(session: Session, web: FlaskClient, admin: User) -> None:
    lines = catalogue.export_catalogue(session, 2567).splitlines()
    lines = [line for line in lines if not line.startswith("2567,quick_win,11,")]
    lines[5] = lines[5].replace("MOE Safety Center)", "MOE Safety Centre)")
    lines.append("2567,quick_win,12,ใหม่,New <item>,,no,added in a test")
    assert _upload(web, "\n".join(lines), _token(web, "/admin/catalogue")).status_code == 302
    session.expire_all()
    items = {
        (i.kind, i.no): i for i in session.scalars(select(PolicyItem).filter_by(fiscal_year=2567))
    }
    # An item's number is text ("4", "4.1") since the framework has sub-items.
    assert ("quick_win", "11") not in items
    assert items[("quick_win", "12")].title_en == "New <item>"
    assert items[("policy", "1")].title_en.endswith("MOE Safety Centre)")
    log = session.scalars(select(AuditLog).filter_by(action="catalogue.import")).one()
    assert log.after == {
        "created": ["quick_win 12"],
        "updated": ["policy 1"],
        "deleted": ["quick_win 11"],
    }
    html = web.get("/admin/catalogue?fiscal_year=2567").get_data(as_text=True)
    assert "New &lt;item&gt;" in html


def test_import_refuses_to_drop_reported_items(
    session: Session, web: FlaskClient, admin: User
) -> None:
    item = session.scalars(
        select(PolicyItem).filter_by(fiscal_year=2567, kind="quick_win", no=11)
    ).one()
    session.add(
        ProgressEntry(office_id=_office(session).id, fiscal_year=2567, item_id=item.id, round_no=1)
    )
    session.commit()
    before = _catalogue_state(session)
    lines = catalogue.export_catalogue(session, 2567).splitlines()
    lines = [line for line in lines if not line.startswith("2567,quick_win,11,")]
    lines[5] = lines[5].replace("MOE Safety Center)", "MOE Safety Centre)")
    resp = _upload(web, "\n".join(lines), _token(web, "/admin/catalogue"))
    assert resp.status_code == 409
    assert "quick_win 11" in resp.get_data(as_text=True)
    assert _catalogue_state(session) == before


def test_import_rejects_non_utf8(session: Session, web: FlaskClient, admin: User) -> None:
    text = catalogue.export_catalogue(session, 2567).removeprefix("\ufeff")
    resp = _upload(web, text.encode("cp874"), _token(web, "/admin/catalogue"))
    assert resp.status_code == 400
    assert "not UTF-8" in resp.get_data(as_text=True)


def test_import_into_new_year_creates_it(session: Session) -> None:
    text = catalogue.export_catalogue(session, 2567).replace("2567,", "2568,")
    summary = catalogue.import_catalogue(session, Actor(None), text)
    assert summary.fiscal_year == 2568 and len(summary.created) == 25
    assert session.get(FiscalYear, 2568) is not None
    dims, items = _catalogue_state(session, 2568)
    assert len(dims) == 4 and len(items) == 21


# --- Audit log ------------------------------------------------------------------------------


def test_audit_filters_and_escaping(session: Session, web: FlaskClient, admin: User) -> None:
    other = _user(session, "editor@example.org", "office_editor")
    token = _token(web)
    web.post(f"/admin/users/{other.id}/active", data={"csrf_token": token})
    record(session, Actor(admin), "test.note", "thing", 1, after={"note": "<script>x</script>"})
    session.commit()

    html = web.get("/admin/audit").get_data(as_text=True)
    assert "<td>user.deactivate</td>" in html and "<td>user.create</td>" in html
    assert "&lt;script&gt;" in html and "<script>x" not in html
    assert html.index("<td>test.note") < html.index("<td>user.deactivate")  # newest first

    html = web.get("/admin/audit?action=user.deactivate").get_data(as_text=True)
    assert "<td>user.deactivate</td>" in html and "<td>test.note</td>" not in html
    assert "{&#34;active&#34;:true}" in html  # compact JSON, escaped

    code = _office(session).code
    html = web.get(f"/admin/audit?office={code}").get_data(as_text=True)
    assert "<td>user.deactivate</td>" in html and "<td>test.note</td>" not in html

    html = web.get("/admin/audit?user=BOSS@obec.go.th&entity=thing").get_data(as_text=True)
    assert "<td>test.note</td>" in html and "<td>user.deactivate</td>" not in html

    html = web.get("/admin/audit?user=nobody@example.org").get_data(as_text=True)
    assert "No entries match" in html

    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date().isoformat()
    assert "No entries match" in web.get(f"/admin/audit?from={tomorrow}").get_data(as_text=True)
    html = web.get(f"/admin/audit?to={tomorrow}&action=test.note").get_data(as_text=True)
    assert "<td>test.note</td>" in html
    assert web.get("/admin/audit?from=yesterday").status_code == 400


def test_audit_is_paginated(session: Session, web: FlaskClient, admin: User) -> None:
    for n in range(60):
        record(session, Actor(admin), "test.bulk", "thing", n)
    session.commit()
    first = web.get("/admin/audit?entity=thing").get_data(as_text=True)
    assert first.count("<td>test.bulk</td>") == 50
    assert "Page 1 of 2" in first and "page=2" in first and "entity=thing" in first
    second = web.get("/admin/audit?entity=thing&page=2").get_data(as_text=True)
    assert second.count("<td>test.bulk</td>") == 10


def test_a_source_url_query_never_reaches_the_audit_log(web: FlaskClient, session: Session) -> None:
    admin = _user(session, "src-admin@obec.go.th")
    sign_in(web, admin)
    resp = web.post(
        "/admin/ingest",
        data={
            "csrf_token": _token(web, "/admin/ingest"),
            "name": "feed-q",
            "kind": "progress-json",
            "url": "https://example.go.th/feed?api_key=TOPSECRET",
            "interval_seconds": "3600",
            "timeout_seconds": "30",
            "options": "{}",
            "enabled": "on",
        },
    )
    assert resp.status_code == 302
    entry = session.scalars(select(AuditLog).filter_by(action="ingest.source.save")).one()
    assert "TOPSECRET" not in str(entry.after) and entry.after["url"].endswith("/feed?…")


def test_admin_changes_a_users_office_and_role_and_the_old_session_ends(
    web: FlaskClient, admin_app: Flask, session: Session
) -> None:
    admin = _user(session, "boss@obec.go.th")
    editor = _user(session, "ed@office.go.th", role="office_editor")
    other_office = session.scalars(select(Office).order_by(Office.code.desc())).first()
    assert other_office is not None and other_office.id != editor.office_id
    theirs = admin_app.test_client()
    sign_in(theirs, editor)
    assert theirs.get("/portal/password").status_code == 200
    sign_in(web, admin)
    token = _token(web)
    r = web.post(
        f"/admin/users/{editor.id}",
        data={
            "csrf_token": token,
            "name": "Ed",
            "role": "office_director",
            "office_code": other_office.code,
        },
    )
    assert r.status_code == 302
    session.refresh(editor)
    assert (editor.role, editor.office_id) == ("office_director", other_office.id)
    assert theirs.get("/portal/password").status_code == 302  # signed out by the change
    log = session.scalars(select(AuditLog).filter_by(action="user.update")).one()
    assert log.before["role"] == "office_editor" and log.after["office"] == other_office.code
    # Bad combinations are refused with a message, and change nothing.
    for data, words in (
        ({"role": "office_editor", "office_code": ""}, "needs an office"),
        ({"role": "reviewer", "office_code": other_office.code}, "OBEC roles"),
        ({"role": "wizard", "office_code": ""}, "Unknown role"),
    ):
        r = web.post(f"/admin/users/{editor.id}", data={"csrf_token": token, **data})
        assert r.status_code == 400 and words in r.get_data(as_text=True)
    r = web.post(f"/admin/users/{admin.id}", data={"csrf_token": token, "role": "reviewer"})
    assert r.status_code == 400 and "own role" in r.get_data(as_text=True)


def test_admin_sets_a_new_password(web: FlaskClient, admin_app: Flask, session: Session) -> None:
    from pinmap.services.accounts import authenticate

    admin = _user(session, "boss2@obec.go.th")
    editor = _user(session, "forgot@office.go.th", role="office_editor")
    sign_in(web, admin)
    token = _token(web)
    weak = web.post(
        f"/admin/users/{editor.id}/password", data={"csrf_token": token, "password": "short"}
    )
    assert weak.status_code == 400
    r = web.post(
        f"/admin/users/{editor.id}/password",
        data={"csrf_token": token, "password": "a brand new secret 7"},
    )
    assert r.status_code == 302
    session.expire_all()  # the request changed the row through its own session
    assert authenticate(session, "forgot@office.go.th", "a brand new secret 7", "127.0.0.1")
    assert session.scalars(select(AuditLog).filter_by(action="user.password_reset")).one()


# --- Quarter deadlines (quarterly project reports) --------------------------------------------


def test_quarter_deadlines_page_sets_and_shows_be_dates(
    session: Session, web: FlaskClient, admin: User
) -> None:
    page = web.get("/admin/deadlines?fiscal_year=2567").get_data(as_text=True)
    # Q1 is October-December 2566 BE; with no deadline set it is 15 days after the quarter.
    assert "31 Dec 2566 BE" in page and "15 Jan 2567 BE" in page and "(default)" in page
    token = _token(web, "/admin/deadlines")
    form = {"csrf_token": token, "fiscal_year": "2567", "quarter": "2", "due_on": "2024-04-30"}
    assert web.post("/admin/deadlines", data=form).status_code == 302
    assert session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "project_deadline.set")
    )
    page = web.get("/admin/deadlines?fiscal_year=2567").get_data(as_text=True)
    assert "30 Apr 2567 BE" in page
    web.set_cookie("pinmap_lang", "th")
    assert "30 เม.ย. 2567" in web.get("/admin/deadlines?fiscal_year=2567").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"due_on": "2024-03-01"}, "cannot fall before the quarter ends"),
        ({"due_on": "1 Apr 2024"}, "must be a date"),
        ({"quarter": "5"}, "Quarter"),
        ({"fiscal_year": "67"}, "Fiscal year"),
    ],
)
def test_quarter_deadline_refusals_keep_the_form(
    session: Session, web: FlaskClient, admin: User, changes: dict[str, str], message: str
) -> None:
    token = _token(web, "/admin/deadlines")
    form = {"fiscal_year": "2567", "quarter": "2", "due_on": "2024-04-30", **changes}
    resp = web.post("/admin/deadlines", data={"csrf_token": token, **form})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400, html[:300]
    assert message in html and f'value="{form["due_on"]}"' in html
    assert not session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "project_deadline.set")
    )


# --- Approval levels per report kind ------------------------------------------------------------


def test_workflow_levels_page_switches_the_second_level(
    session: Session, web: FlaskClient, admin: User
) -> None:
    from pinmap.services import workflow as wf

    page = web.get("/admin/workflow").get_data(as_text=True)
    assert "Quarterly project reports (eMENSCR)" in page and "Operating plans" in page
    assert "quarterly_project" not in page.replace('value="quarterly_project"', "")
    token = _token(web, "/admin/workflow")
    form = {
        "csrf_token": token,
        "kind": "quarterly_project",
        "version": "0",
        "review_roles": ["reviewer", "admin"],
        "accept_roles": ["admin"],
    }  # accept_enabled unticked: the second OBEC level is switched off
    assert web.post("/admin/workflow", data=form).status_code == 302
    session.expire_all()
    assert len(wf.levels_of(session, "quarterly_project")) == 2
    # Stale page: refused with the choice kept on the page.
    resp = web.post("/admin/workflow", data={**form, "accept_enabled": "1"})
    assert resp.status_code == 409 and "reload the page" in resp.get_data(as_text=True)
    resp = web.post("/admin/workflow", data={**form, "version": "1", "review_roles": []})
    assert resp.status_code == 400 and "at least one role" in resp.get_data(as_text=True)
    session.expire_all()
    assert len(wf.levels_of(session, "quarterly_project")) == 2
