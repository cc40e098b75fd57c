"""Error responses: JSON under /api/ and /healthz, HTML elsewhere, in the user's language."""

from __future__ import annotations

from flask import Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .services.errors import ServiceError


def _default_message(code: int) -> str:
    messages = {
        400: _("The request is not valid."),
        401: _("Please sign in first."),
        403: _("You may not do this."),
        409: _("This conflicts with the current state; reload and try again."),
        413: _("The upload is too large."),
        429: _("Too many requests; wait a moment and try again."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        500: _("Something went wrong on our side."),
        503: _("The service is unavailable right now."),
    }
    return messages.get(code, _("The request could not be completed."))


def json_error(status: int, message: str, **extra: object) -> Response:
    resp = jsonify({"status": status, "message": message, **extra})
    resp.status_code = status
    return resp


def handle_http_exception(exc: HTTPException) -> Response | tuple[str, int]:
    code = exc.code or 500
    data = getattr(exc, "data", None) or {}
    message = data.get("message") if isinstance(data.get("message"), str) else None
    if message is None and exc.description != type(exc).description:
        message = exc.description  # set by our own abort(..., description=...)
    extra: dict[str, object] = {}
    if code == 422:
        # webargs reports unparsable query arguments as 422; for a query string that is a 400.
        code = 400
        errors = data.get("messages") or data.get("errors") or {}
        fields = sorted({name for loc in errors.values() for name in loc}) if errors else []
        message = _("Invalid parameter(s): %(names)s", names=", ".join(fields))
        extra["errors"] = errors
    message = message or _default_message(code)
    if request.path.startswith("/api/") or request.path == "/healthz":
        return json_error(code, message, **extra)
    return render_template("error.html", code=code, message=message), code


def handle_service_error(exc: ServiceError) -> Response | tuple[str, int]:
    message = _(exc.msgid, **exc.params)
    if request.path.startswith("/api/"):
        return json_error(exc.status, message)
    return render_template("error.html", code=exc.status, message=message), exc.status


def handle_csrf_error(exc: CSRFError) -> Response | tuple[str, int]:
    message = _("The form expired or did not come from this site. Reload the page and try again.")
    if request.path.startswith("/api/"):
        return json_error(400, message)
    return render_template("error.html", code=400, message=message), 400
