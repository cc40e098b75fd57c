"""What every request must satisfy before a view sees it, so that no input reaches the database
in a form it refuses (which would be a 500): numbers beyond PostgreSQL's integer, NUL bytes,
unparsable or abusive JSON, bodies that are not JSON where JSON is expected.

Refusals are 4xx with a message in the reader's language, raised before any row is touched.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Request, abort, request
from flask_babel import gettext as _
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import fields, validate
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.routing import IntegerConverter

# PostgreSQL `integer` (int4): every id, year, round and count column the routes look up.
PG_INT_MIN = -(2**31)
PG_INT_MAX = 2**31 - 1
# PostgreSQL `smallint`: years, round, cluster and item numbers. `<int(max=SMALL):…>` in paths.
PG_SMALLINT_MAX = 2**15 - 1
SMALL = PG_SMALLINT_MAX
MAX_JSON_DEPTH = 32
# A JSON body is text typed by a person or a script; files go through multipart uploads, which
# keep MAX_CONTENT_LENGTH (the upload limit).
MAX_JSON_BYTES = 1024 * 1024


class JSONRefused(ValueError):
    """A JSON body we will not process; `message` is already in the reader's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DbIntConverter(IntegerConverter):
    """`<int:…>` bounded to PostgreSQL's integer: a longer number is simply no such page (404)."""

    def __init__(
        self,
        map: Any,
        fixed_digits: int = 0,
        min: int | None = None,  # noqa: A002
        max: int | None = None,
        signed: bool = False,  # noqa: A002
    ) -> None:
        low = (PG_INT_MIN if signed else 0) if min is None else min
        super().__init__(map, fixed_digits, low, PG_INT_MAX if max is None else max, signed)


def _refuse_constant(name: str) -> Any:
    raise JSONRefused(_("%(name)s is not a JSON number; send a finite number.", name=name))


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise JSONRefused(_("Text may not contain NUL characters (\\u0000)."))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise JSONRefused(
                _("Text may not contain a lone UTF-16 surrogate (\\ud800–\\udfff).")
            ) from exc


def strict_loads(data: str | bytes) -> Any:
    """json.loads that refuses NaN/Infinity, nesting deeper than MAX_JSON_DEPTH, NUL characters
    and lone surrogates (PostgreSQL can store neither), raising JSONRefused."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except JSONRefused:
        raise
    except RecursionError as exc:
        raise JSONRefused(_too_deep()) from exc
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, too many digits
        raise JSONRefused(_("The body is not valid JSON: %(reason)s", reason=str(exc))) from exc
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise JSONRefused(_too_deep())
            if isinstance(node, dict):
                for key, child in node.items():
                    _check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in node)
    return value


def _too_deep() -> str:
    return _("The JSON body is nested too deeply (at most %(n)s levels).", n=MAX_JSON_DEPTH)


def _refuse_nul() -> None:
    abort(400, description=_("Text may not contain NUL characters (\\u0000)."))


def _has_nul(*texts: object) -> bool:
    # A multipart part may come without a name or a value (None), never an error of its own.
    return any(isinstance(t, str) and "\x00" in t for t in texts)


def check_request() -> None:
    """before_request: refuse NUL anywhere in the URL or form, and bad or oversized JSON."""
    if "\x00" in request.path:
        _refuse_nul()
    if any(_has_nul(key, value) for key, value in request.args.items(multi=True)):
        _refuse_nul()
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if is_json_request(request):
        # 413 before anything is read: Flask stops reading the stream at this limit.
        limit = min(MAX_JSON_BYTES, request.max_content_length or MAX_JSON_BYTES)
        request.max_content_length = limit
        if request.content_length is not None and request.content_length > limit:
            abort(413, description=_("The body is larger than %(n)s KiB.", n=limit // 1024))
        data = request.get_data(cache=True)
        if data:
            try:
                strict_loads(data)
            except JSONRefused as exc:
                abort(400, description=exc.message)
    elif request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        if any(_has_nul(key, value) for key, value in request.form.items(multi=True)):
            _refuse_nul()
        if any(_has_nul(upload.filename) for upload in request.files.values()):
            _refuse_nul()


class StrictParser(FlaskParser):
    """webargs parser for our API: a JSON body must be sent as JSON (415 otherwise, never read
    as empty) and is parsed by `strict_loads`; a bad argument is a 400 (not webargs' 422), and
    the OpenAPI document says so."""

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            abort(415, description=_("Send the body as JSON (Content-Type: application/json)."))
        try:
            return strict_loads(req.get_data(cache=True))
        except JSONRefused as exc:
            abort(400, description=exc.message)


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint with the strict JSON parser."""

    ARGUMENTS_PARSER = StrictParser()


def Int(*, strict: bool, small: bool = False, **kwargs: Any) -> fields.Integer:  # noqa: N802
    """An integer field the database can hold (`small`: a smallint column). `strict`: refuse
    "12" (JSON bodies); query strings are text, so their numbers are parsed from it."""
    given = kwargs.pop("validate", None)
    checks = list(given) if isinstance(given, list | tuple) else [given] if given else []
    bounds = (
        validate.Range(-PG_SMALLINT_MAX - 1, PG_SMALLINT_MAX)
        if small
        else validate.Range(PG_INT_MIN, PG_INT_MAX)
    )
    return fields.Integer(strict=strict, validate=[*checks, bounds], **kwargs)


class StrictFloat(fields.Float):
    """A finite number from a JSON number only: "80" (text) and true are refused."""

    def _validated(self, value: Any) -> Any:
        if isinstance(value, str | bool):
            raise self.make_error("invalid")
        return super()._validated(value)


def init_app(app: Flask) -> None:
    # Before any route is added: the converter is bound when a rule is compiled.
    app.url_map.converters["int"] = DbIntConverter
    app.before_request(check_request)
