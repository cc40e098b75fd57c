"""Fixtures of the ingestion tests: a fresh database per test (cloned from a prepared template)
for tests whose runs need real commits (other processes, other threads), a transaction rolled
back after the test for the others, feeds of fixed bodies, the reference endpoint, and one
database in which a manual edit already blocked a source update (built once per worker: two
national syncs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.localdb import Cluster
from tools.reference_endpoint import ReferenceServer, serve

from ..support.databases import drop_database, fresh_database, rolled_back
from ..support.ingest import FixedServer, IngestDB, Routes, serve_fixed, without_autovacuum


@pytest.fixture
def ingest_db(pg_cluster: Cluster) -> Iterator[IngestDB]:
    url = fresh_database(pg_cluster, "pinmap_ingest")
    engine = make_engine(url)
    yield IngestDB(url, sessionmaker(bind=engine, expire_on_commit=False))
    engine.dispose()
    drop_database(pg_cluster, url)


@pytest.fixture(scope="session")
def _shared_ingest_database(pg_cluster: Cluster) -> Iterator[tuple[str, Engine]]:
    # Session scope: a module-scoped fixture would keep the module on one xdist worker. Not
    # dropped at the end (the run's cluster goes with everything in it): dropping a database
    # full of rolled-back rows waits on a checkpoint, about 4 s at the end of each worker.
    url = fresh_database(pg_cluster, "pinmap_ingest_shared")
    without_autovacuum(pg_cluster, url)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


@pytest.fixture
def rollback_db(_shared_ingest_database: tuple[str, Engine]) -> Iterator[IngestDB]:
    """Like `ingest_db`, in one database per worker: the test runs in a transaction rolled back
    after it, each commit of the code under test releasing a savepoint (as tests/conftest.py's
    `session_factory` does). Only for runs in the test's own thread, read in that thread: no
    other process or connection sees what they wrote."""
    url, engine = _shared_ingest_database
    with rolled_back(engine) as (_conn, factory):
        yield IngestDB(url, factory)


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
