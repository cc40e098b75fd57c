"""One PostGIS cluster for the whole run, shared by every xdist worker, and databases cloned on it.

The controller process (or the only process, without xdist) starts the cluster and builds one
template database with `pinmap setup` (tools.devdb); every database a test needs is then a
`CREATE DATABASE … TEMPLATE`, which takes a fraction of a second instead of a migration and a
data load. Names carry the xdist worker id, so two workers never touch the same database.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from pinmap.localdb import Cluster, free_port
from tools.devdb import prepared_database as _setup_database

TEMPLATE = "pinmap_template"
OWNER = "pinmap"
# The controller hands the cluster to the workers through the environment they inherit.
ENV = "PINMAP_TEST_CLUSTER"
_serial = count(1)


def start_cluster() -> Cluster:
    """Start a cluster in a temporary directory on a free port, with the template database."""
    os.environ["PINMAP_PG_FSYNC"] = "off"
    tmp = Path(tempfile.mkdtemp(prefix="pinmap-test-pg-"))
    cluster = Cluster(tmp / "data", free_port())
    cluster.init()
    cluster.start()
    _setup_database(cluster, TEMPLATE)
    os.environ[ENV] = json.dumps({"datadir": str(cluster.datadir), "port": cluster.port})
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    tmp = cluster.datadir.parent
    cluster.destroy()
    for leftover in tmp.iterdir():
        leftover.unlink()
    tmp.rmdir()


def shared_cluster() -> Cluster:
    """The cluster the controller started (see tests/conftest.py)."""
    spec = json.loads(os.environ[ENV])
    return Cluster(Path(spec["datadir"]), int(spec["port"]))


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _owner_url(cluster: Cluster, dbname: str) -> str:
    password = (cluster.datadir.parent / f"{cluster.datadir.name}.{OWNER}.password").read_text()
    return f"postgresql+psycopg://{OWNER}:{password.strip()}@127.0.0.1:{cluster.port}/{dbname}"


def prepared_database(cluster: Cluster, name: str) -> str:
    """A new database `name` (made unique to this worker) holding exactly what `pinmap setup`
    leaves: schema at head and data/ loaded. Returns its URL; an older one of that name goes.

    On a cluster of the test's own (one it restarts, say) there is no template: `pinmap setup`
    builds the database there."""
    if os.environ.get(ENV) is None or cluster.port != shared_cluster().port:
        return _setup_database(cluster, name)
    return clone(cluster, TEMPLATE, name)


def clone(cluster: Cluster, template: str, name: str) -> str:
    """A new database `name` (made unique to this worker) copied from the database `template`;
    its URL. An older one of that name goes first."""
    dbname = f"{name}_{worker_id()}"
    with psycopg.connect(cluster.superuser_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(template), sql.Identifier(OWNER)
            )
        )
    return _owner_url(cluster, dbname)


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def fresh_database(cluster: Cluster, prefix: str) -> str:
    """Like prepared_database, under a name never used before in this process."""
    return prepared_database(cluster, f"{prefix}_{next(_serial)}")


def drop_database(cluster: Cluster, url: str) -> None:
    dbname = database_name(url)
    with psycopg.connect(cluster.superuser_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))


def savepoint_factory(conn: Connection) -> sessionmaker[Session]:
    """Sessions on `conn`, inside its transaction: code under test may commit, and each commit
    only releases a savepoint, so rolling that transaction back undoes everything."""
    return sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)


@contextmanager
def rolled_back(engine: Engine) -> Iterator[tuple[Connection, sessionmaker[Session]]]:
    """A connection in a transaction rolled back at the end, and savepoint_factory's sessions
    on it."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            yield conn, savepoint_factory(conn)
        finally:
            trans.rollback()
