"""A live pinmap server on loopback and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from sqlalchemy.orm import sessionmaker

from geo.boundaries import read_boundaries
from pinmap import create_app
from pinmap.db import make_engine
from pinmap.localdb import Cluster
from pinmap.services.boundaries import import_boundaries

from ..support.app import TEST_CONFIG
from ..support.browser import LiveServer, Watched
from ..support.databases import clone, database_name, drop_database, prepared_database
from ..support.passwords import cheap_hashing
from ..support.paths import PROVINCE_FILE
from ..support.serving import make_test_server


@pytest.fixture(scope="session")
def e2e_template(pg_cluster: Cluster) -> Iterator[str]:
    """A database for this worker's live servers to copy: what `pinmap setup` leaves, plus the
    province outlines (imported once, not once per module)."""
    url = prepared_database(pg_cluster, "pinmap_e2e_template")
    if PROVINCE_FILE.exists():
        engine = make_engine(url)
        with sessionmaker(bind=engine).begin() as session:
            bset = read_boundaries(PROVINCE_FILE, "province")
            import_boundaries(session, bset, "province", source_name="adm1", sha256="0" * 64)
        engine.dispose()  # a template must have no open connection to be copied
    yield database_name(url)
    drop_database(pg_cluster, url)


@pytest.fixture(scope="module", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Users made and signed in at the test cost of argon2id (tests/support/passwords.py): ~190
    hashes and checks in the browser tests, 0.13 s of CPU each at the production cost. Before
    every other fixture of the module, and undone after it."""
    with cheap_hashing():
        yield


@pytest.fixture(scope="module")
def live_server(
    pg_cluster: Cluster, e2e_template: str, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    """The app on a database of this module's own (committed data, province outlines when
    available): what one module's tests commit, another module's never sees."""
    url = clone(
        pg_cluster, e2e_template, f"pinmap_e2e_{request.module.__name__.rsplit('.', 1)[-1]}"
    )
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_URL": url})
    server = make_test_server(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", url, PROVINCE_FILE.exists())
    finally:
        server.shutdown()
        server.server_close()
        app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()
        # A live-change listener keeps retrying its database forever (it has no stop): leave
        # that one to go with the cluster rather than fill the log with its retries.
        if "broker" not in app.extensions["pinmap"]:
            drop_database(pg_cluster, url)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="th-TH")
    page = context.new_page()
    w = Watched(page)
    page.on("request", lambda r: w.requests.append(r.url))
    page.on("console", lambda m: m.type == "error" and w.errors.append(m.text))
    page.on("pageerror", lambda e: w.errors.append(str(e)))
    # Leaving a page aborts its open event stream; that is not a failure of the page.
    page.on(
        "requestfailed",
        lambda r: (
            r.failure != "net::ERR_ABORTED" and w.errors.append(f"failed: {r.url} {r.failure}")
        ),
    )

    def on_dialog(d):  # type: ignore[no-untyped-def]
        w.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    yield w
    context.close()
