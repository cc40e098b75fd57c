"""A fresh database per ingestion test (cloned from a prepared template) and the reference
endpoint, so jobs run with their own sessions and commits exactly as in production."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.orm import Session, sessionmaker

from ingest.sources import upsert
from pinmap.db import make_engine
from pinmap.devdb import prepared_database
from pinmap.localdb import Cluster

_counter = iter(range(1, 10_000))


@pytest.fixture(scope="session")
def ingest_template(pg_cluster: Cluster) -> str:
    url = prepared_database(pg_cluster, "pinmap_ingest_template")
    return url.rsplit("/", 1)[0]


@dataclass
class IngestDB:
    url: str
    factory: sessionmaker[Session]

    def add_source(self, name: str, **spec: object) -> None:
        defaults: dict[str, object] = {"kind": "progress-json", "interval_seconds": 3600,
                                       "timeout_seconds": 60}  # fmt: skip
        with self.factory.begin() as session:
            upsert(session, name, {**defaults, **spec})

    def scalar(self, query: str, **params: object) -> object:
        from sqlalchemy import text

        with self.factory() as session:
            return session.execute(text(query), params).scalar()


@pytest.fixture
def ingest_db(pg_cluster: Cluster, ingest_template: str) -> Iterator[IngestDB]:
    name = f"pinmap_ingest_{next(_counter)}"
    with psycopg.connect(pg_cluster.superuser_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE pinmap_ingest_template OWNER pinmap")
                     .format(sql.Identifier(name)))  # fmt: skip
    engine = make_engine(f"{ingest_template}/{name}")
    yield IngestDB(f"{ingest_template}/{name}", sessionmaker(bind=engine, expire_on_commit=False))
    engine.dispose()
    with psycopg.connect(pg_cluster.superuser_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
