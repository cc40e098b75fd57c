"""Sign a test client in the way the sign-in page does: a server-side session row, its key in
the (signed) cookie. The row goes through the app's own session factory, so it lives in
whatever transaction the app under test sees."""

from __future__ import annotations

from flask.testing import FlaskClient

from pinmap.models import User
from pinmap.services.accounts import start_session


def sign_in(client: FlaskClient, user_id: int) -> str:
    """Sign `client` in as the user with this id; returns the session key."""
    factory = client.application.extensions["pinmap"]["session_factory"]
    with factory() as session:
        user = session.get(User, user_id)
        assert user is not None, f"no user {user_id}"
        key = start_session(session, user, "127.0.0.1")
        session.commit()
    with client.session_transaction() as s:
        s["_user_id"] = key
        s["_fresh"] = True
    return key
