"""Per-process cache of the public API bodies everyone gets alike, answered before Flask runs.

A GET view marked `@public` (offices, clusters, their regions and labels, province outlines, the
catalogue) answers the same bytes to every reader: the body may depend only on the path, the
query string and the language. Its first 200 answer is built once, through the whole Flask
stack but as an anonymous request (no cookie, no token: no one's rights can leak into it, and
anonymous readers see approved data only), and kept with a gzip copy and its ETag. Later
requests for the same (path, query string, Accept-Language, scheme) are answered from those
bytes by a WSGI middleware, with the headers the app set on the built answer (security headers
included): no session lookup, no CSRF or CSP nonce, no database, and a `304` costs a header
comparison. The ETag is a hash of the body, so every process and host sends the same one.

Correctness rests on one rule: an entry serves only while the cache's generation is the one it
was built under, and the generation moves on whenever the data may have changed:
- statement triggers NOTIFY `pinmap_public_data` on every write to the tables the bodies read
  (any process, any host, psql included), which this process's listener hears (pinmap.live);
- a commit in this process that wrote those tables moves it at once (read-your-writes: the
  notification takes a moment to come back);
- the listener losing or regaining its connection moves it (notifications may have been
  missed), and while it is not connected nothing is cached at all.
A build reads the generation before its first query, so a change that commits during the build
leaves the new entry already stale. Concurrent misses on one key wait for a single build.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, sessionmaker
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header, parse_etags

from .live import Broker, shared_broker
from .models import (
    Amphoe,
    Cluster,
    ItemSet,
    Office,
    OfficeProvince,
    PolicyDimension,
    PolicyItem,
    Province,
    ReportingWindow,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC_MARK = "_pinmap_public"
# The models whose tables the public bodies read (the migration `public_data_notify` puts a
# NOTIFY trigger on each of their tables; tests check the two lists agree).
TRACKED = (
    Office,
    OfficeProvince,
    Cluster,
    Province,
    Amphoe,
    PolicyDimension,
    PolicyItem,
    ItemSet,
    ReportingWindow,  # the map's round selector (public/map_page.py)
)
MAX_ENTRIES = 512
MAX_BYTES = 64 * 1024 * 1024
GZIP_MIN_BYTES = 500  # flask-compress's threshold: smaller bodies go as they are
BUILD_WAIT_SECONDS = 30.0
STARTUP_WAIT_SECONDS = 5.0
# Request headers a build drops: it is anonymous, unconditional and uncompressed.
_BUILD_DROPS = (
    "HTTP_COOKIE",
    "HTTP_AUTHORIZATION",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE",
    "HTTP_RANGE",
    "HTTP_ACCEPT_ENCODING",
)
# Response headers the cache writes itself (or that are per response) rather than replays.
_OWN_HEADERS = {"content-length", "etag", "content-encoding", "vary", "date", "server"}
_NOT_ON_304 = {"content-type", "content-length", "content-encoding"}
_VARY = ("Vary", "Accept-Encoding, Accept-Language")
_FLAG = "pinmap_public_data_written"

Key = tuple[str, str, str, str]


def public(view: F) -> F:
    """Mark a GET view whose answer is the same for every reader, so it is cached for everyone.

    Only for bodies that depend on nothing but the path, the query string, the language and
    rows of the TRACKED models; put it directly above the function (below the route).
    """
    setattr(view, PUBLIC_MARK, True)
    return view


@dataclass(frozen=True)
class Entry:
    generation: int
    headers: list[tuple[str, str]]
    body: bytes
    gzipped: bytes | None
    etag: str  # unquoted; the gzip variant's is etag + ":gzip" (as flask-compress names it)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")


class ApiCache:
    """The middleware and its store; one per app (so one per worker process)."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication, broker: Broker) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.broker = broker
        self.generation = 0
        self.builds = 0  # bodies built and stored (tests and the benchmark read it)
        self.hits = 0
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._bytes = 0
        self._building: dict[Key, threading.Event] = {}
        self._lock = threading.Lock()
        self._watching = False
        self._started_at = 0.0
        self._was_connected = False  # the listener has been seen connected since start()
        self._public_paths: dict[str, bool] = {}
        self._gzip_ok: dict[str, bool] = {}

    # -- versions ----------------------------------------------------------------------------

    def invalidate(self) -> None:
        """The data may have changed: no entry built so far serves again."""
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self._bytes = 0

    def start(self) -> None:
        """Follow changes: starts the process's listener (on the first API request, so CLI
        commands, which build the app too, never start one)."""
        if not self._watching:
            self._watching = True
            self._started_at = time.monotonic()
            self._was_connected = False
            self.broker.watch(self.invalidate)

    def version(self) -> int | None:
        """The generation to build or serve under, or None while changes could go unheard."""
        self.start()
        connected = self.broker.connected
        if not connected.is_set():
            # A fresh worker's first crowd waits for the listener (it connects in milliseconds)
            # rather than each request building every body itself; after a lost connection
            # requests go straight to the app until it is back, even in the first seconds.
            if self._was_connected:
                return None
            startup_left = self._started_at + STARTUP_WAIT_SECONDS - time.monotonic()
            if startup_left <= 0 or not connected.wait(startup_left):
                return None
        self._was_connected = True
        return self.generation

    def close(self) -> None:
        """Stop following changes (the listener then stops once no stream needs it)."""
        self.broker.unwatch(self.invalidate)
        self._watching = False
        self.invalidate()

    def _fresh(self, key: Key, version: int) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.generation != version:
                return None
            self._entries.move_to_end(key)
            return entry

    def _store(self, key: Key, entry: Entry) -> None:
        if entry.size > MAX_BYTES // 4:
            return
        with self._lock:
            if entry.generation != self.generation:
                return  # the data changed while it was built
            old = self._entries.pop(key, None)
            self._bytes -= old.size if old else 0
            self._entries[key] = entry
            self._bytes += entry.size
            self.builds += 1
            while len(self._entries) > MAX_ENTRIES or self._bytes > MAX_BYTES:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size

    # -- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        if method not in ("GET", "HEAD") or not path.startswith("/api/"):
            return self.wsgi_app(environ, start_response)
        version = self.version()
        if version is None:
            return self.wsgi_app(environ, start_response)
        key = (
            path,
            environ.get("QUERY_STRING", ""),
            environ.get("HTTP_ACCEPT_LANGUAGE", ""),
            # HTTPS answers carry HSTS when PINMAP_SECURE_COOKIES is on; plain HTTP ones do not.
            environ.get("HTTP_X_FORWARDED_PROTO") or environ.get("wsgi.url_scheme", ""),
        )
        entry = self._fresh(key, version)
        if entry is None:
            if not self._is_public(path, environ):
                return self.wsgi_app(environ, start_response)
            built = self._build(key, version, environ)
            if not isinstance(built, Entry):
                return built(start_response)
            entry = built
        else:
            self.hits += 1
        return self._serve(entry, environ, start_response)

    def _is_public(self, path: str, environ: WSGIEnvironment) -> bool:
        known = self._public_paths.get(path)
        if known is not None:
            return known
        try:
            endpoint, _args = self.app.url_map.bind_to_environ(environ).match(method="GET")
        except HTTPException:
            return False  # 404, 405 or a redirect: Flask answers it
        found = bool(getattr(self.app.view_functions.get(endpoint), PUBLIC_MARK, False))
        if len(self._public_paths) >= 4096:
            self._public_paths.clear()
        self._public_paths[path] = found
        return found

    def _build(
        self, key: Key, version: int, environ: WSGIEnvironment
    ) -> Entry | Callable[[StartResponse], Iterable[bytes]]:
        with self._lock:
            waiting = self._building.get(key)
            mine = None
            if waiting is None:
                mine = self._building[key] = threading.Event()
        if waiting is not None:
            # Another request builds this body: wait for it rather than build it again.
            waiting.wait(BUILD_WAIT_SECONDS)
            entry = self._fresh(key, version)
            if entry is not None:
                return entry
        try:
            return self._build_now(key, version, environ)
        finally:
            if mine is not None:
                with self._lock:
                    self._building.pop(key, None)
                mine.set()

    def _build_now(
        self, key: Key, version: int, environ: WSGIEnvironment
    ) -> Entry | Callable[[StartResponse], Iterable[bytes]]:
        env = {k: v for k, v in environ.items() if k not in _BUILD_DROPS}
        env["REQUEST_METHOD"] = "GET"
        status, headers, body = _run(self.wsgi_app, env)
        if not status.startswith("200 ") or any(n.lower() == "set-cookie" for n, _ in headers):
            if status.startswith("200 "):
                # Not the same for everyone after all: answer this request the ordinary way.
                return lambda start_response: self.wsgi_app(environ, start_response)
            # An error (a bad query, an unknown code) is the same for every reader of this key.
            return lambda start_response: _replay(environ, start_response, status, headers, body)
        gzipped = (
            gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
        )
        kept = [(n, v) for n, v in headers if n.lower() not in _OWN_HEADERS]
        if not any(n.lower() == "cache-control" for n, _ in kept):
            # Served with an ETag: clients keep the body but ask again each time (as the
            # offices view says itself), a 304 being nearly free now.
            kept.append(("Cache-Control", "no-cache"))
        entry = Entry(
            generation=version,
            headers=kept,
            body=body,
            gzipped=gzipped,
            etag=hashlib.sha1(body, usedforsecurity=False).hexdigest(),
        )
        self._store(key, entry)
        return entry

    def _accepts_gzip(self, header: str) -> bool:
        ok = self._gzip_ok.get(header)
        if ok is None:
            ok = parse_accept_header(header)["gzip"] > 0
            if len(self._gzip_ok) >= 256:
                self._gzip_ok.clear()
            self._gzip_ok[header] = ok
        return ok

    def _serve(
        self, entry: Entry, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        gz = entry.gzipped is not None and self._accepts_gzip(
            environ.get("HTTP_ACCEPT_ENCODING", "")
        )
        etag = entry.etag + ":gzip" if gz else entry.etag
        asked = environ.get("HTTP_IF_NONE_MATCH")
        if asked:
            tags = parse_etags(asked)
            if tags.contains_weak(entry.etag) or tags.contains_weak(entry.etag + ":gzip"):
                start_response(
                    "304 Not Modified",
                    [
                        *(h for h in entry.headers if h[0].lower() not in _NOT_ON_304),
                        ("ETag", f'"{etag}"'),
                        _VARY,
                    ],
                )
                return []
        body = entry.gzipped if gz and entry.gzipped is not None else entry.body
        headers = [
            *entry.headers,
            ("ETag", f'"{etag}"'),
            _VARY,
            ("Content-Length", str(len(body))),
        ]
        if gz:
            headers.append(("Content-Encoding", "gzip"))
        start_response("200 OK", headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def _run(
    app: WSGIApplication, environ: WSGIEnvironment
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Call a WSGI app and collect its whole answer."""
    got: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        got["status"], got["headers"] = status, headers
        return chunks.append

    result = app(environ, start)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return got["status"], list(got["headers"]), b"".join(chunks)


def _replay(
    environ: WSGIEnvironment,
    start_response: StartResponse,
    status: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> Iterator[bytes]:
    start_response(status, headers)
    return iter([] if environ.get("REQUEST_METHOD") == "HEAD" else [body])


def _track_writes(factory: sessionmaker[Session], cache: ApiCache) -> None:
    """A commit of this process that wrote a tracked table moves the generation at once."""

    @event.listens_for(factory, "after_flush")
    def _flushed(session: Session, _ctx: UOWTransaction) -> None:
        if any(isinstance(o, TRACKED) for o in chain(session.new, session.dirty, session.deleted)):
            session.info[_FLAG] = True

    @event.listens_for(factory, "do_orm_execute")
    def _bulk(state: ORMExecuteState) -> None:
        if (state.is_insert or state.is_update or state.is_delete) and any(
            issubclass(m.class_, TRACKED) for m in state.all_mappers
        ):
            state.session.info[_FLAG] = True

    @event.listens_for(factory, "after_commit")
    def _committed(session: Session) -> None:
        if session.info.pop(_FLAG, False):
            cache.invalidate()

    @event.listens_for(factory, "after_rollback")
    def _rolled_back(session: Session) -> None:
        session.info.pop(_FLAG, None)


def init_app(app: Flask, factory: sessionmaker[Session]) -> ApiCache | None:
    """Put the cache in front of the app (unless PINMAP_API_CACHE=0)."""
    url = str(app.config.get("SQLALCHEMY_URL") or "")
    # Made here, with or without the cache, so the streams' broker (api/live.py) gets the
    # app's retry intervals too: it is the same one (nothing runs until it is first used).
    broker = shared_broker(app.extensions["pinmap"], url, app.config)
    if not app.config.get("PINMAP_API_CACHE", True):
        return None
    cache = ApiCache(app, app.wsgi_app, broker)
    _track_writes(factory, cache)
    app.extensions["pinmap"]["api_cache"] = cache
    app.wsgi_app = cache  # type: ignore[method-assign]
    return cache
