"""Signing in: server-side sessions for people, bearer tokens for machines, CSRF for forms.

Flask-Login keeps the signed-in user in Flask's signed session cookie; what it stores there is
the random key of a `user_sessions` row (services.accounts), looked up on every request. Ending
that row (sign-out, password change, deactivation, a new role or office) ends the session on
every host, and a cookie copied earlier no longer signs anyone in.

A request that carries `Authorization: Bearer …` is judged by that token alone: a valid token
acts as its user and needs no CSRF token (it is no ambient browser credential); an invalid one
leaves the request anonymous, whatever cookie comes with it. Every other state-changing request
with a session cookie must carry a CSRF token (form field or X-CSRFToken header).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, abort, g, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .auth import can
from .db import get_session
from .extensions import csrf, login_manager
from .models import User
from .services.accounts import end_session, session_for_key, start_session, token_for_secret
from .services.audit import Actor, utcnow

F = TypeVar("F", bound=Callable[..., Any])


def _bearer_credentials() -> str | None:
    """The credentials of an `Authorization: Bearer` header (maybe empty), or None without one."""
    scheme, _sep, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":  # auth schemes are case-insensitive (RFC 9110)
        return None
    return credentials.strip()


def _load_user(key: str) -> User | None:
    # With a bearer header the cookie is ignored: a bad token must not fall back to the
    # browser's session (nor, through it, switch CSRF checking off or on).
    if _bearer_credentials() is not None:
        return None
    found = session_for_key(get_session(), key)
    if found is None:
        return None
    g.user_session_id = found.id
    return found.user


def _load_user_from_request(req: Any) -> User | None:
    credentials = _bearer_credentials()
    if not credentials:
        return None
    token = token_for_secret(get_session(), credentials, utcnow())
    if token is None:
        return None
    g.api_token_id = token.id
    return token.user


def token_request() -> bool:
    """True when a valid bearer token (not a cookie) authenticated this request."""
    return current_user.is_authenticated and g.get("api_token_id") is not None


def current_session_id() -> int | None:
    """The `user_sessions` row of a cookie-signed-in request, else None."""
    return g.get("user_session_id") if current_user.is_authenticated else None


def sign_in(user: User) -> None:
    """Start a server-side session for `user` and put its key in the cookie (caller commits)."""
    db = get_session()
    previous = current_session_id()
    if previous is not None:
        # Signing in again (maybe as someone else) replaces this browser's session: the old
        # key must not stay valid in a copy of the old cookie.
        end_session(db, previous, "replaced")
    key = start_session(db, user, request.remote_addr)
    session.clear()
    # Flask-Login stores `user.get_id()`; ours is the session key, not the user id.
    user.__dict__["session_key"] = key  # where User.get_id reads it; no column
    login_user(user)
    g.pop("user_session_id", None)  # the loader sets it from the new key on the next request


def sign_out() -> None:
    """End this browser's session on the server as well as in its cookie (caller commits)."""
    sid = current_session_id()
    if sid is not None:
        end_session(get_session(), sid)
    logout_user()
    session.clear()


def safe_next(target: str | None, fallback: str | None = None) -> str:
    """`target` if it is a path on this site, else `fallback` (the portal home by default).

    Only "/path…" is local. Browsers drop tabs and newlines inside URLs and read a backslash
    as a slash, so a slash, a tab and "/evil.example" would leave the site as "//evil.example";
    any control character, a backslash, or a second leading slash is refused (a CR or LF would
    also break the Location header).
    """
    default = fallback or url_for("portal.home")
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if any(c == "\\" or unicodedata.category(c) == "Cc" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.request_loader(_load_user_from_request)
    login_manager.login_view = "portal.login"
    login_manager.login_message = None
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)

    @app.before_request
    def protect_against_csrf() -> None:
        if not app.config.get("WTF_CSRF_ENABLED", True):
            return
        if request.method in ("GET", "HEAD", "OPTIONS") or token_request():
            return
        # An API call with no signed-in session has no cookie authority to abuse; it gets the
        # clearer 401 from the view. Pages (the sign-in form included) are always checked.
        if request.path.startswith("/api/") and not current_user.is_authenticated:
            return
        csrf.protect()


def current_actor() -> Actor:
    user = current_user if current_user.is_authenticated else None
    # Behind a load balancer, ProxyFix (PINMAP_PROXIES) makes remote_addr the client's.
    return Actor(user=user, ip=request.remote_addr)


API_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"sessionCookie": []}]
SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `pinmap tokens create`, acting as its user.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "A signed-in browser; writes also need an X-CSRFToken "
        "header (the csrf_token of any of our forms).",
    },
}


def require(action: str) -> Callable[[F], F]:
    """Refuse with 401 (not signed in) or 403 unless the user may do `action` at all."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if request.path.startswith("/api/"):
                    abort(401, description=_("Sign in or send an API token."))
                return login_manager.unauthorized()
            if not can(current_user, action, current_user.office_id):
                if action in ("edit_entry", "submit_entry") and current_user.office_id is None:
                    abort(403, description=_("This page is for office staff."))
                abort(403, description=_("You may not do this."))
            return view(*args, **kwargs)

        # The OpenAPI document shows which operations need a token (flask-smorest reads
        # `_apidoc` when the route registers; copied, so the view's own doc stays as it was).
        apidoc = deepcopy(getattr(wrapped, "_apidoc", {}))
        apidoc.setdefault("manual_doc", {})["security"] = API_SECURITY
        # flask-smorest reads a view's documentation from this function attribute.
        wrapped._apidoc = apidoc  # type: ignore[attr-defined]
        # functools.wraps keeps the view's signature, which F names.
        return cast(F, wrapped)

    return decorator
