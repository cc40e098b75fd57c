"""Sign-in, sessions, bearer tokens and redirects, as an attacker would try them.

Every test here signs in through the real sign-in form (CSRF token and all), so what it proves
holds for a browser, not for a session faked into the cookie.
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pinmap import create_app
from pinmap.db import make_engine
from pinmap.localdb import Cluster
from pinmap.models import ApiToken, LoginAttempt

from ..support.app import TEST_CONFIG
from ..support.databases import prepared_database
from ..support.factories import UserFactory
from ..support.portal import PASSWORD, World, full_report
from ..support.serving import make_test_server

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ENTRIES = "/api/v1/portal/offices/spp-krabi/entries?fiscal_year=2567"  # Krabi's drafts


def _token(client: FlaskClient, url: str = "/portal/login") -> str:
    page = client.get(url).get_data(as_text=True)
    match = CSRF.search(page)
    assert match, page[:500]
    return match.group(1)


def _sign_in(client: FlaskClient, who: str, next_: str | None = None):  # type: ignore[no-untyped-def]
    url = "/portal/login" + (f"?{urllib.parse.urlencode({'next': next_})}" if next_ else "")
    return client.post(
        url,
        data={"email": f"{who}@example.go.th", "password": PASSWORD, "csrf_token": _token(client)},
    )


def _signed_in(client: FlaskClient) -> bool:
    """Whether the portal treats this browser as signed in (else it sends it to sign in)."""
    r = client.get("/portal/offices/spp-krabi")
    return r.status_code == 200


# --- open redirects ---------------------------------------------------------------------------

HOSTILE_NEXT = [
    "/\t/evil.example/",  # browsers drop the tab: //evil.example/
    "/\n/evil.example/",
    "/\r/evil.example/",
    "/\\evil.example/",  # browsers read the backslash as a slash
    "/\\\t\\evil.example/",
    "//evil.example/",
    "https://evil.example/",
    "/\r\nSet-Cookie: stolen=1",  # header injection, was a 500
    "/\x00/evil.example/",
    "/\x7f/evil.example/",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_language_switch_never_redirects_off_site(client: FlaskClient, target: str) -> None:
    r = client.get("/lang/en", query_string={"next": target})
    if "\x00" in target:  # refused before any view by the app-wide NUL guard (pinmap/inputs.py)
        assert r.status_code == 400
        return
    assert r.status_code == 302
    assert r.headers["Location"] == "/"
    assert "stolen" not in r.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_sign_in_never_redirects_off_site(client: FlaskClient, world: World, target: str) -> None:
    r = _sign_in(client, "own_editor", target)
    if "\x00" in target:  # refused before any view by the app-wide NUL guard (pinmap/inputs.py)
        assert r.status_code == 400
        assert "Location" not in r.headers
        return
    assert r.status_code == 302
    assert r.headers["Location"] == "/portal/"


def test_local_next_paths_still_work(client: FlaskClient, world: World) -> None:
    r = client.get("/lang/en", query_string={"next": "/offices/spp-krabi?fiscal_year=2567"})
    assert r.headers["Location"] == "/offices/spp-krabi?fiscal_year=2567"
    r = _sign_in(client, "own_editor", "/portal/offices/spp-krabi")
    assert r.headers["Location"] == "/portal/offices/spp-krabi"


# --- sessions end on the server ---------------------------------------------------------------


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_a_cookie_captured_before_sign_out_is_refused_afterwards(app: Flask, world: World) -> None:
    browser = app.test_client()
    _sign_in(browser, "own_editor")
    captured = _cookie(browser)
    r = browser.post("/portal/logout", data={"csrf_token": _token(browser, "/portal/password")})
    assert r.status_code == 302
    attacker = app.test_client()
    attacker.set_cookie("session", captured)
    assert not _signed_in(attacker)
    assert not _signed_in(browser)


def test_signing_out_ends_only_that_session(app: Flask, world: World) -> None:
    phone, desk = app.test_client(), app.test_client()
    _sign_in(phone, "own_editor")
    _sign_in(desk, "own_editor")
    phone.post("/portal/logout", data={"csrf_token": _token(phone, "/portal/password")})
    assert not _signed_in(phone)
    assert _signed_in(desk)


def test_signing_in_again_replaces_the_browsers_session(app: Flask, world: World) -> None:
    browser = app.test_client()
    _sign_in(browser, "own_editor")
    captured = _cookie(browser)
    _sign_in(browser, "reviewer")
    assert _signed_in(browser)
    replay = app.test_client()
    replay.set_cookie("session", captured)
    assert not _signed_in(replay)


def test_a_password_change_ends_other_sessions_and_revokes_api_tokens(
    app: Flask, world: World, session: Session
) -> None:
    mine, other = app.test_client(), app.test_client()
    _sign_in(mine, "own_editor")
    _sign_in(other, "own_editor")
    captured = _cookie(other)
    headers = world.headers("own_editor")
    assert app.test_client().get(ENTRIES, headers=headers).status_code == 200
    mine.set_cookie("pinmap_lang", "en")
    r = mine.post(
        "/portal/password",
        data={
            "old": PASSWORD,
            "new": "another secret 99",
            "repeat": "another secret 99",
            "csrf_token": _token(mine, "/portal/password"),
        },
        follow_redirects=True,
    )
    assert r.status_code == 200
    assert "1 API tokens of yours were revoked" in r.get_data(as_text=True)
    assert _signed_in(mine)
    replay = app.test_client()
    replay.set_cookie("session", captured)
    assert not _signed_in(replay)
    assert app.test_client().get(ENTRIES, headers=headers).status_code == 401
    user = world.users["own_editor"]
    revoked = session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_not(None))
    )
    assert revoked == 1


def _admin_form(admin: FlaskClient, url: str, **data: str):  # type: ignore[no-untyped-def]
    return admin.post(url, data={"csrf_token": _token(admin, "/admin/users"), **data})


def test_deactivation_and_a_new_office_end_sessions(app: Flask, world: World) -> None:
    admin, editor, director = app.test_client(), app.test_client(), app.test_client()
    _sign_in(admin, "admin")
    _sign_in(editor, "own_editor")
    _sign_in(director, "own_director")
    captured = _cookie(editor)
    r = _admin_form(admin, f"/admin/users/{world.users['own_editor'].id}/active")
    assert r.status_code == 302
    assert not _signed_in(editor)
    r = _admin_form(admin, f"/admin/users/{world.users['own_editor'].id}/active")  # back on
    assert r.status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", captured)
    assert not _signed_in(replay), "reactivation must not revive an old session"
    r = _admin_form(
        admin,
        f"/admin/users/{world.users['own_director'].id}",
        name="d",
        role="office_director",
        office_code="spp-bangkok",
    )
    assert r.status_code == 302
    assert director.get("/portal/offices/spp-bangkok").status_code == 302  # to sign in


# --- bearer tokens and CSRF -------------------------------------------------------------------


def test_a_garbage_bearer_header_does_not_switch_csrf_off_for_a_cookie_session(
    app: Flask, world: World
) -> None:
    browser = app.test_client()
    _sign_in(browser, "own_editor")
    bad = {"Authorization": "Bearer garbage", "Accept-Language": "en"}
    # A page form without its CSRF token stays refused; the cookie does not act.
    r = browser.post(
        "/portal/password",
        headers=bad,
        data={"old": PASSWORD, "new": "another secret 99", "repeat": "another secret 99"},
    )
    assert r.status_code in (400, 401, 302)
    assert r.status_code != 302 or "/portal/login" in r.headers["Location"]
    assert _signed_in(browser)  # the password did not change: the session is still there
    # The API: an invalid token is a 401, whatever cookie rides along.
    r = browser.put(world.entry_url(), json=full_report(), headers=bad)
    assert r.status_code == 401
    r = browser.get(ENTRIES, headers=bad)
    assert r.status_code == 401
    for header in ("Bearer", "Bearer ", "bearer pm_nothing"):
        r = browser.get(ENTRIES, headers={"Authorization": header})
        assert r.status_code == 401, header


def test_with_a_valid_bearer_token_the_cookie_is_ignored(app: Flask, world: World) -> None:
    browser = app.test_client()
    _sign_in(browser, "own_editor")  # may read Krabi's drafts
    other = world.headers("other_editor")  # Bangkok's editor: may not
    assert browser.get(ENTRIES).status_code == 200
    assert browser.get(ENTRIES, headers=other).status_code == 403


# --- the throttle under parallel attempts -----------------------------------------------------


@pytest.fixture(scope="module")
def real_server(pg_cluster: Cluster) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """The app on a real socket and a real database, one thread per request."""
    url = prepared_database(pg_cluster, "pinmap_signin")
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_URL": url})
    server = make_test_server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    factory = sessionmaker(bind=make_engine(url))
    yield f"http://127.0.0.1:{server.server_port}", factory
    server.shutdown()
    server.server_close()
    factory.kw["bind"].dispose()
    app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()


def _form_browser(base: str) -> tuple[urllib.request.OpenerDirector, str]:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/portal/login") as r:
        token = CSRF.search(r.read().decode())
    assert token
    return opener, token.group(1)


def test_parallel_wrong_passwords_are_counted_atomically(
    real_server: tuple[str, sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    from pinmap.services import accounts

    # Production cost: each check takes long enough for every guess to be in flight at once.
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher())
    base, factory = real_server
    email = "race@example.go.th"
    with factory.begin() as s:
        UserFactory.create(session=s, email=email, name="race", password=PASSWORD, role="reviewer")
    opener, token = _form_browser(base)
    body = urllib.parse.urlencode(
        {"email": email, "password": "wrong guess 1", "csrf_token": token}
    ).encode()
    n = 9
    start = threading.Barrier(n)
    codes: list[int] = []

    def guess() -> None:
        start.wait()
        try:
            with opener.open(base + "/portal/login", data=body, timeout=30) as r:
                codes.append(r.status)
        except urllib.error.HTTPError as err:
            codes.append(err.code)
            err.close()

    threads = [threading.Thread(target=guess) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(codes) == [401] * accounts.MAX_FAILURES_PER_ACCOUNT + [429] * (
        n - accounts.MAX_FAILURES_PER_ACCOUNT
    ), codes
    with factory() as s:
        counted = s.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.email == email)
        )
        assert counted == accounts.MAX_FAILURES_PER_ACCOUNT
    # The right password is refused too now: the account waits out its window.
    opener2, token2 = _form_browser(base)
    right = urllib.parse.urlencode(
        {"email": email, "password": PASSWORD, "csrf_token": token2}
    ).encode()
    with pytest.raises(urllib.error.HTTPError) as info:
        opener2.open(base + "/portal/login", data=right, timeout=30)
    info.value.close()
    assert info.value.code == 429
