"""Test fixtures: a throwaway PostGIS cluster for the run, a rolled-back transaction per test.

The cluster is our own (pinmap.localdb) in a temporary directory on a free port, never the
`make run` one, started once by the controlling process and shared by every xdist worker
(tests/support/databases.py). Its template database is made by `pinmap setup`; each worker's
databases are clones of it.
"""

from __future__ import annotations

import os
import runpy
from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest.nodeid import coerce_node_id
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from pinmap.db import make_engine
from pinmap.localdb import Cluster

from .support import databases
from .support.app import TEST_CONFIG, shared_app
from .support.databases import prepared_database
from .support.paths import AMPHOE_SCRIPT, PROVINCE_FILE
from .support.portal import WorldRows, commit_world

__all__ = ["PROVINCE_FILE", "TEST_CONFIG"]

# Debian's headless build of Chromium (the same engine without the desktop browser around it):
# about a third less CPU per page than /usr/bin/chromium, measured on the map and office pages.
# Where a system has only the full browser, that one is used.
HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")
CHROMIUM = HEADLESS_SHELL if HEADLESS_SHELL.exists() else Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Every host but loopback is unresolvable: the page must need nothing from outside.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


_started: list[Cluster] = []


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    # Before xdist spawns its workers (they inherit the environment that names the cluster).
    config = session.config
    if _is_worker(config) or config.option.collectonly or databases.ENV in os.environ:
        return
    _started.append(databases.start_cluster())


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _is_worker(session.config):
        while _started:
            databases.stop_cluster(_started.pop())


# The longest units of work (a test, or a module kept on one worker), longest first, as measured
# with `--durations` on 2026-11-30: they start first, so that no worker ends the run alone on one
# of them while the other has nothing left. Everything else follows in collection order, the
# biggest groups first (what xdist's own reordering did; `make test` turns that off).
RUN_FIRST = (
    "tests/browser/test_csp_e2e.py",
    "tests/pinmap/test_api_fuzz.py",
    "tests/pinmap/test_live.py",
    "tests/browser/test_basemap_e2e.py",
    "tests/pinmap/test_apicache.py",
    "tests/ingest/test_conflicts.py",
    "tests/ingest/test_jobs.py",
    "tests/browser/test_plans_e2e.py",
    "tests/browser/test_projects_e2e.py",
)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (--dist loadgroup)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep together on one xdist worker each module whose module-scoped fixtures are costly (a
    live server, a database made by two national syncs), and hand out the longest work first.

    Each worker has its own Chromium (session scope) and each browser module its own live server
    and database (tests/browser/conftest.py), so browser modules spread over both workers."""
    groups: dict[pytest.Item, str] = {}
    for item in items:
        defs = getattr(item, "_fixtureinfo", None)
        scopes = {d.scope for ds in (defs.name2fixturedefs.values() if defs else ()) for d in ds}
        if "module" in scopes:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
        marks = [m.args[0] if m.args else "" for m in item.iter_markers("xdist_group")]
        groups[item] = marks[0] if marks else item.nodeid
    sizes: dict[str, int] = {}
    for group in groups.values():
        sizes[group] = sizes.get(group, 0) + 1

    def rank(item: pytest.Item) -> tuple[int, int]:
        first = next((n for n, p in enumerate(RUN_FIRST) if item.nodeid.startswith(p)), None)
        return (first, 0) if first is not None else (len(RUN_FIRST), -sizes[groups[item]])

    items.sort(key=rank)  # stable: a module's tests keep their order


class _XdistGroups:
    """Make `--dist loadgroup` group again under pytest 9.

    pytest-xdist 3.8 marks a test's group by assigning `item._nodeid`, which pytest 9 no longer
    reads (the id lives in `item._id`): every group was silently ignored, so each worker started
    its own Chromium and live server, and built each module's costly fixtures again. This puts
    the same `@group` suffix where pytest 9 keeps the id, after xdist's own hook has run.
    """

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        if not getattr(config.option, "loadgroup", False):
            return
        for item in items:
            names = sorted(
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            )
            if names and "@" not in item.nodeid.rsplit("]", 1)[-1]:
                item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(sorted(set(names)))}")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_XdistGroups(), "pinmap-xdist-groups")


@pytest.fixture(scope="session")
def pg_cluster() -> Cluster:
    return databases.shared_cluster()


@pytest.fixture(scope="session")
def database_url(pg_cluster: Cluster) -> str:
    """Migrated database with the reference data loaded; tests roll back what they change."""
    return prepared_database(pg_cluster, "pinmap_test")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def world_database(pg_cluster: Cluster) -> WorldRows:
    """A database of this process with the portal world committed (tests/support/portal.py)."""
    return commit_world(prepared_database(pg_cluster, "pinmap_world"))


@pytest.fixture(scope="session")
def world_engine(world_database: WorldRows) -> Iterator[Engine]:
    eng = make_engine(world_database.url)
    yield eng
    eng.dispose()


def _uses_world(request: pytest.FixtureRequest) -> bool:
    return "world_database" in request.fixturenames


@pytest.fixture
def connection(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Connection]:
    """A transaction rolled back after the test, in the world's database for the tests that take
    the portal world, in the plain one for the others."""
    if _uses_world(request):
        engine = request.getfixturevalue("world_engine")
    with databases.rolled_back(engine) as (conn, _factory):
        yield conn


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return databases.savepoint_factory(connection)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def app(
    request: pytest.FixtureRequest,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    database_url: str,
) -> Flask:
    # The URL only serves the live-change listener; requests use the rolled-back session.
    # One app per process, handed from test to test (tests/support/app.py says when it is not).
    config = {
        **TEST_CONFIG,
        "PINMAP_UPLOAD_DIR": str(tmp_path / "uploads"),
        "SQLALCHEMY_URL": (
            request.getfixturevalue("world_database").url if _uses_world(request) else database_url
        ),
    }
    return shared_app(config, session_factory)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def province_file() -> Path:
    return PROVINCE_FILE


@pytest.fixture(scope="session")
def amphoe_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """928 synthetic district polygons cut from the province fixture (see its README)."""
    out = tmp_path_factory.mktemp("amphoe") / "amphoes.geojson"
    runpy.run_path(str(AMPHOE_SCRIPT))["main"](out)
    return out


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole run (a second sync Playwright cannot start
    while one runs, so every test that needs a browser shares this one)."""
    assert CHROMIUM.exists(), "Debian chromium is missing: `make test` installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
