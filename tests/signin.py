"""The one way tests sign a client in.

`sign_in` does what the sign-in page does once the password is right: a server-side session row,
its key in the (signed) cookie. The row goes through the app's own session factory, so it lives
in whatever transaction the app under test sees. `sign_in_through_page` posts the real form, for
the tests of the page itself (throttling, next=, CSRF).
"""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from pinmap.models import User
from pinmap.services.accounts import start_session

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(client: FlaskClient, user: User | int, *, lang: str | None = None) -> str:
    """Sign `client` in as `user` (or the user with this id); returns the session key.

    `lang="en"` also picks the English pages, for assertions that read English messages."""
    user_id = user if isinstance(user, int) else user.id
    factory = client.application.extensions["pinmap"]["session_factory"]
    with factory() as session:
        found = session.get(User, user_id)
        assert found is not None, f"no user {user_id}"
        key = start_session(session, found, "127.0.0.1")
        session.commit()
    with client.session_transaction() as s:
        s["_user_id"] = key
        s["_fresh"] = True
    if lang is not None:
        client.set_cookie("pinmap_lang", lang)
    return key


def sign_out(client: FlaskClient) -> None:
    """Forget the client's session cookie contents (the server-side row stays)."""
    with client.session_transaction() as s:
        s.clear()


def sign_in_through_page(
    client: FlaskClient, email: str, password: str, url: str = "/portal/login"
) -> TestResponse:
    """Post the sign-in form with the CSRF token the page handed out; the page's answer."""
    page = client.get(url).get_data(as_text=True)
    found = _CSRF.search(page)
    assert found, page[:500]
    return client.post(
        url, data={"email": email, "password": password, "csrf_token": found.group(1)}
    )
