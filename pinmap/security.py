"""Signing in: Flask-Login sessions for people, bearer tokens for machines, CSRF for forms.

Every state-changing request made with a session cookie must carry a CSRF token (form field or
X-CSRFToken header); requests with `Authorization: Bearer` carry no cookie and need none.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, g, request
from flask_babel import gettext as _
from flask_login import current_user

from .auth import can
from .db import get_session
from .extensions import csrf, login_manager
from .models import User
from .services.accounts import user_for_token
from .services.audit import Actor, utcnow

F = TypeVar("F", bound=Callable[..., Any])


def _load_user(user_id: str) -> User | None:
    try:
        uid, epoch = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    user = get_session().get(User, uid)
    # A password change bumps the epoch and so ends every older session.
    if user is None or user.session_epoch != epoch or not user.active:
        return None
    return user


def _load_user_from_request(req: Any) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    user = user_for_token(get_session(), header[7:].strip(), utcnow())
    if user is not None:
        g.token_auth = True
    return user


def bearer_request() -> bool:
    return request.headers.get("Authorization", "").startswith("Bearer ")


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
        if request.method in ("GET", "HEAD", "OPTIONS") or bearer_request():
            return
        # An API call with no signed-in session has no cookie authority to abuse; it gets the
        # clearer 401 from the view. Pages (the sign-in form included) are always checked.
        if request.path.startswith("/api/") and not current_user.is_authenticated:
            return
        csrf.protect()


def current_actor() -> Actor:
    user = current_user if current_user.is_authenticated else None
    # Behind a load balancer, ProxyFix (PINMAP_PROXIES) makes remote_addr the client's.
    return Actor(user=user, ip=request.remote_addr)  # type: ignore[arg-type]


API_SECURITY = [{"bearerAuth": []}, {"sessionCookie": []}]
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "A token from `pinmap tokens create`, acting as its user."},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                      "description": "A signed-in browser; writes also need an X-CSRFToken "
                                     "header (the csrf_token of any of our forms)."},
}  # fmt: skip


def require(action: str) -> Callable[[F], F]:
    """Refuse with 401 (not signed in) or 403 unless the user may do `action` at all."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if request.path.startswith("/api/"):
                    abort(401, description=_("Sign in or send an API token."))
                return login_manager.unauthorized()
            if not can(current_user, action, current_user.office_id):  # type: ignore[arg-type]
                if action in ("edit_entry", "submit_entry") and current_user.office_id is None:
                    abort(403, description=_("This page is for office staff."))
                abort(403, description=_("You may not do this."))
            return view(*args, **kwargs)

        # The OpenAPI document shows which operations need a token (flask-smorest reads
        # `_apidoc` when the route registers; copied, so the view's own doc stays as it was).
        apidoc = deepcopy(getattr(wrapped, "_apidoc", {}))
        apidoc.setdefault("manual_doc", {})["security"] = API_SECURITY
        wrapped._apidoc = apidoc  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator
