"""The app served over HTTP in a thread of the test process (werkzeug's development server).

werkzeug's handler closes a response's body only after draining what is left of the request;
when the browser has already dropped the connection (it navigated on while a static file was
being sent), that read raises first and the file stays open. Its ResourceWarning then surfaces
later, in whatever test is running. Here the handler closes the body itself when the connection
drops.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from pinmap.localdb import free_port

_BODY = "pinmap.tests.body"


class _Body:
    """A response body that can be closed twice (by werkzeug, and again when the client left)."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self._body = body
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            close = getattr(self._body, "close", None)
            if close is not None:
                close()


class _Handler(WSGIRequestHandler):
    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        body = environ.get(_BODY) if environ is not None else None
        if body is not None:
            body.close()


def _keeping_body(app: Any) -> Any:
    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = _Body(app(environ, start_response))
        environ[_BODY] = body
        return body

    return wsgi


def make_test_server(app: Any) -> BaseWSGIServer:
    """A threaded server for `app` on a free loopback port (not yet serving)."""
    return make_server(
        "127.0.0.1", free_port(), _keeping_body(app), threaded=True, request_handler=_Handler
    )
