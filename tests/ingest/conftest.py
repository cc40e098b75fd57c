"""Fixtures of the ingestion tests: a fresh database per test (cloned from a prepared template),
feeds of fixed bodies, the reference endpoint, and one database in which a manual edit already
blocked a source update (built once per worker: two national syncs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.localdb import Cluster
from tools.reference_endpoint import ReferenceServer, serve

from ..support.databases import drop_database, fresh_database
from ..support.ingest import FixedServer, IngestDB, Routes, serve_fixed


@pytest.fixture
def ingest_db(pg_cluster: Cluster) -> Iterator[IngestDB]:
    url = fresh_database(pg_cluster, "pinmap_ingest")
    engine = make_engine(url)
    yield IngestDB(url, sessionmaker(bind=engine, expire_on_commit=False))
    engine.dispose()
    drop_database(pg_cluster, url)


@pytest.fixture
def fixed_server() -> Iterator[Callable[[Routes], FixedServer]]:
    """Serve exact bodies by path (a `(status, body)` pair for another status); returns the
    server (its `url`, and its `hold` gate)."""
    servers: list[FixedServer] = []

    def start(routes: Routes) -> FixedServer:
        servers.append(serve_fixed(routes))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def fixed_feed(fixed_server: Callable[[Routes], FixedServer]) -> Callable[[Routes], str]:
    """Serve exact bodies by path (a `(status, body)` pair for another status); returns the URL."""
    return lambda routes: fixed_server(routes).url


@pytest.fixture
def reference_server() -> Iterator[Callable[..., ReferenceServer]]:
    """Start the reference endpoint with the given fault switches; returns the server (its
    `url`, and its `hold` gate for a test that must act while a run waits on a page)."""
    servers: list[ReferenceServer] = []

    def start(**kw: object) -> ReferenceServer:
        server, _url = serve(**kw)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture
def endpoint(reference_server: Callable[..., ReferenceServer]) -> Callable[..., str]:
    """Start the reference endpoint with the given fault switches; returns its URL."""
    return lambda **kw: reference_server(**kw).url
