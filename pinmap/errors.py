"""Error responses: JSON under /api/ and /healthz, HTML elsewhere, in the user's language."""

from __future__ import annotations

import datetime as dt
import re
from typing import NoReturn

from flask import Response, current_app, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_smorest import abort as smorest_abort
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from psycopg import errors as pg_errors
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException

from .i18n import format_date_be
from .services.errors import N_, ServiceError

# marshmallow's own messages, which it cannot translate, rendered in the reader's language.
_VALIDATION_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), msgid)
    for pattern, msgid in (
        (r"Missing data for required field\.", N_("This field is required.")),
        (r"Unknown field\.", N_("This field is not accepted here.")),
        (r"Field may not be null\.", N_("This field may not be empty.")),
        (r"Not a valid integer\.", N_("Not a whole number.")),
        (r"Not a valid number\.", N_("Not a number.")),
        (
            r"Special numeric values \(nan or infinity\) are not permitted\.",
            N_("Not a finite number."),
        ),
        (r"Not a valid string\.", N_("Not text.")),
        (r"Not a valid boolean\.", N_("Not true or false.")),
        (r"Not a valid date\.", N_("Not a date (YYYY-MM-DD).")),
        (r"Not a valid datetime\.", N_("Not a date and time (ISO 8601).")),
        (r"Not a valid URL\.", N_("Not a web address (http:// or https://).")),
        (r"Not a valid email address\.", N_("Not an e-mail address.")),
        (r"Invalid input type\.", N_("Wrong type of value.")),
        (r"Must be one of: (?P<choices>.*)\.", N_("Must be one of: %(choices)s.")),
        (
            r"Must be greater than or equal to (?P<min>\S+) "
            r"and less than or equal to (?P<max>\S+)\.",
            N_("Must be from %(min)s to %(max)s."),
        ),
        (r"Must be greater than or equal to (?P<min>\S+)\.", N_("Must be at least %(min)s.")),
        (r"Must be less than or equal to (?P<max>\S+)\.", N_("Must be at most %(max)s.")),
        (
            r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.",
            N_("Length must be %(min)s to %(max)s characters."),
        ),
        (r"Shorter than minimum length (?P<min>\d+)\.", N_("Shorter than %(min)s characters.")),
        (r"Longer than maximum length (?P<max>\d+)\.", N_("Longer than %(max)s characters.")),
    )
)


def _translated(errors: object) -> object:
    """The same nested errors structure, each known marshmallow message translated."""
    if isinstance(errors, dict):
        return {key: _translated(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [_translated(value) for value in errors]
    if isinstance(errors, str):
        for pattern, msgid in _VALIDATION_MESSAGES:
            match = pattern.fullmatch(errors)
            if match:
                return _(msgid, **match.groupdict())
    return errors


def _default_message(code: int) -> str:
    messages = {
        400: _("The request is not valid."),
        401: _("Please sign in first."),
        403: _("You may not do this."),
        409: _("This conflicts with the current state; reload and try again."),
        413: _("The upload is too large."),
        415: _("This type of request body is not accepted here."),
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
    if code == 422 or (code == 400 and isinstance(data.get("messages"), dict)):
        # webargs' report of arguments that did not validate (422 unless the parser says 400).
        code = 400
        errors = data.get("messages") or data.get("errors") or {}
        fields = sorted({name for loc in errors.values() for name in loc}) if errors else []
        message = _("Invalid parameter(s): %(names)s", names=", ".join(fields))
        extra["errors"] = _translated(errors)
    message = message or _default_message(code)
    if request.path.startswith("/api/") or request.path == "/healthz":
        return json_error(code, message, **extra)
    return render_template("error.html", code=code, message=message), code


def service_message(err: ServiceError) -> str:
    """A service's refusal in the reader's language (services cannot know it; the web can)."""
    # A day in a refusal reads as the page's dates do ("30 ก.ย. 2568"), never as ISO.
    params = {k: format_date_be(v) if isinstance(v, dt.date) else v for k, v in err.params.items()}
    return _(err.msgid, **params)


def abort_json(err: ServiceError) -> NoReturn:
    """End an API request with the refusal as `{"status", "message"}` JSON."""
    smorest_abort(err.status, message=service_message(err))


def handle_service_error(exc: ServiceError) -> Response | tuple[str, int]:
    message = service_message(exc)
    if request.path.startswith("/api/"):
        return json_error(exc.status, message)
    return render_template("error.html", code=exc.status, message=message), exc.status


def handle_csrf_error(exc: CSRFError) -> Response | tuple[str, int]:
    message = _("The form expired or did not come from this site. Reload the page and try again.")
    if request.path.startswith("/api/"):
        return json_error(400, message)
    return render_template("error.html", code=400, message=message), 400


def _error_response(code: int, message: str, **extra: object) -> Response:
    if request.path.startswith("/api/") or request.path == "/healthz":
        return json_error(code, message, **extra)
    return make_response(render_template("error.html", code=code, message=message), code)


def _discard_failed_transaction() -> None:
    # The session's transaction failed in the database; rendering the error page may read
    # (the signed-in user), which a failed transaction would refuse.
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def handle_concurrent_write(exc: Exception) -> Response:
    """Backstop for two writes of one row at the same moment (the services lock rows first, so
    this should not happen): the loser gets the 409 a stale version gets, never a 500."""
    _discard_failed_transaction()
    current_app.logger.warning("concurrent write refused on %s: %s", request.path, exc)
    return _error_response(
        409,
        _("Someone else saved this at the same moment. Reload it, then apply your changes again."),
    )


def handle_integrity_error(exc: IntegrityError) -> Response:
    """A duplicate or a vanished reference is a race (409); any other constraint the input
    broke is a 400. Both are logged: the services should have said it more clearly first."""
    orig = exc.orig
    if isinstance(
        orig,
        pg_errors.UniqueViolation | pg_errors.ForeignKeyViolation | pg_errors.ExclusionViolation,
    ):
        return handle_concurrent_write(exc)
    _discard_failed_transaction()
    current_app.logger.error("constraint refused input on %s: %s", request.path, exc)
    return _error_response(400, _("A value is not allowed here."))


def handle_data_error(exc: DataError) -> Response:
    """The database refused a value (out of range, malformed): the input's fault, a 400."""
    _discard_failed_transaction()
    current_app.logger.error("database refused a value on %s: %s", request.path, exc)
    return _error_response(400, _("A value is out of range or not valid."))


def handle_validation_error(exc: ValidationError) -> Response:
    """A schema loaded by hand (not through @arguments) refused the body: 400 naming fields."""
    errors = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    message = _("Invalid parameter(s): %(names)s", names=", ".join(sorted(map(str, errors))))
    return _error_response(400, message, errors=_translated(errors))


def handle_database_down(exc: Exception) -> Response | tuple[str, int]:
    """The database is unreachable (restarting, failing over): a 503 the client may retry."""
    if isinstance(getattr(exc, "orig", None), pg_errors.TransactionRollback):
        # A deadlock or serialization failure is a lost race, not an outage.
        return handle_concurrent_write(exc)
    current_app.logger.warning("database unavailable: %s", exc)
    message = _("The database is unavailable right now; try again in a moment.")
    if request.path.startswith("/api/") or request.path == "/healthz":
        resp = json_error(503, message)
    else:
        resp = make_response(render_template("error.html", code=503, message=message), 503)
    resp.headers["Retry-After"] = "5"
    return resp


def handle_pool_timeout(exc: Exception) -> Response:
    """No database connection came free in PINMAP_DB_POOL_TIMEOUT seconds: the server is
    overloaded, not broken. A 503 the client may retry (never a 500)."""
    current_app.logger.warning("no database connection free for %s: %s", request.path, exc)
    resp = _error_response(503, _default_message(503))
    resp.headers["Retry-After"] = "5"
    return resp
