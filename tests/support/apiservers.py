"""App servers over real HTTP on one committed database, standing in for processes or hosts:
each has its own API cache and its own live-change listener (tests of pinmap.apicache and of
the map page's cache)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from pinmap import create_app
from pinmap.apicache import ApiCache
from pinmap.db import make_engine
from pinmap.localdb import Cluster

from .app import TEST_CONFIG
from .databases import prepared_database
from .httpget import Answer, get
from .serving import make_test_server

# A listener whose connection was cut tries again within a fifth of a second (the product's
# default starts at half a second): the tests that cut it wait for that.
QUICK_RETRY = {"PINMAP_LISTEN_RETRY": 0.05, "PINMAP_LISTEN_RETRY_MAX": 0.2}


@dataclass
class Server:
    app: Flask
    base: str
    stop: Callable[[], None]

    @property
    def cache(self) -> ApiCache:
        return self.app.extensions["pinmap"]["api_cache"]  # type: ignore[no-any-return]

    def listening(self) -> None:
        """Start the listener (the first API request does) and wait until it hears changes."""
        get(self.base, "/api/v1/clusters")
        assert self.cache.broker.connected.wait(10), "the listener did not connect"

    def cached(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        """`path` as served from the cache (asserted: a second read is a hit)."""
        self.listening()
        first = get(self.base, path, headers)
        hits = self.cache.hits
        again = get(self.base, path, headers)
        assert self.cache.hits == hits + 1, f"{path} was not served from the cache"
        assert again.body == first.body
        return again


def serve(database_url: str, **config: Any) -> Server:
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_URL": database_url, **QUICK_RETRY, **config})
    server = make_test_server(app)
    # shutdown() returns when the loop next looks (every half second by default).
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()

    def stop() -> None:
        if "api_cache" in app.extensions["pinmap"]:
            app.extensions["pinmap"]["api_cache"].close()
        server.shutdown()
        server.server_close()
        app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()

    return Server(app, f"http://127.0.0.1:{server.server_port}", stop)


@dataclass
class World:
    url: str
    factory: sessionmaker[Session]
    a: Server
    b: Server
    plain: Server  # PINMAP_API_CACHE off: today's answers

    def write(self, sql: str, **params: Any) -> None:
        """Commit one statement from outside the servers, as psql or another host would."""
        with self.factory.begin() as session:
            session.execute(text(sql), params)


@contextmanager
def servers_world(pg_cluster: Cluster, name: str) -> Iterator[World]:
    """A database `name` made by `pinmap setup`, two caching servers and one without a cache."""
    url = prepared_database(pg_cluster, name)
    servers = [serve(url), serve(url), serve(url, PINMAP_API_CACHE=False)]
    factory = sessionmaker(bind=make_engine(url), expire_on_commit=False)
    try:
        yield World(url, factory, *servers)
    finally:
        for server in servers:
            server.stop()
        factory.kw["bind"].dispose()
