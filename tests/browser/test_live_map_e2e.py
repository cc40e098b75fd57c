"""Live changes on the public map: popups, reconnects, failed fetches and filters stay current.

The app runs in this process on its own database, so a test can cut its event streams (as a
worker restart or a proxy timeout would) and move offices without disturbing other tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pinmap import create_app
from pinmap.db import make_engine
from pinmap.live import Broker
from pinmap.localdb import Cluster
from pinmap.models import ChangeEvent, Office, User
from pinmap.services import coaching
from pinmap.services.audit import Actor, emit_change

from ..support.app import TEST_CONFIG
from ..support.browser import WAIT_MS, Watched, settled, sign_in_page
from ..support.databases import prepared_database
from ..support.factories import UserFactory
from ..support.serving import make_test_server

pytestmark = pytest.mark.browser


@dataclass
class MapServer:
    url: str
    app: Flask
    factory: sessionmaker[Session]
    # path -> how many more requests for it are answered 503 (see _flaky)
    failing: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def broker(self) -> Broker | None:
        return self.app.extensions["pinmap"].get("broker")  # type: ignore[no-any-return]

    def streams(self) -> list[object]:
        """The broker's subscribers now (objects, so a later one is never mistaken for them)."""
        b = self.broker()
        if b is None:
            return []
        with b._lock:
            return list(b._subs)

    def wait_for_streams(
        self, count: int = 1, timeout: float = 30.0, before: list[object] | None = None
    ) -> None:
        """Until `count` streams opened since `before` are subscribed and the listener is up.

        Counting only new streams matters: a page of an earlier test may still be subscribed
        (its stream ends when a write to it fails), and an event emitted before *this* page
        subscribes is never sent to it (a first stream starts at the newest change)."""
        old = before or []
        deadline = time.monotonic() + timeout
        while True:
            b = self.broker()
            new = [s for s in self.streams() if all(s is not o for o in old)]
            if b is not None and len(new) >= count and b.connected.is_set():
                return
            assert time.monotonic() < deadline, "the map never opened its event stream"
            time.sleep(0.05)

    def cut_streams(self) -> None:
        """End every open stream from the server side, as a restarted worker would."""
        b = self.broker()
        assert b is not None
        with b._lock:
            subs = list(b._subs)
        for sub in subs:
            sub.dropped = True  # the broker skips it from now on
            sub.queue.put_nowait(None)  # wakes the stream, which then ends

    def emit(self, code: str, payload: dict[str, object]) -> int:
        with self.factory.begin() as session:
            return emit_change(session, "office.updated", code, payload).id  # type: ignore[return-value]


def _flaky(server: MapServer, wsgi_app: Any) -> Any:
    """Answer 503 where the test asks for it, as a briefly overloaded server would."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if server.failing.get(path, 0) > 0:
            server.failing[path] -= 1
            server.failed.append(path)
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"busy"]
        return wsgi_app(environ, start_response)

    return app


@pytest.fixture(scope="module")
def map_server(pg_cluster: Cluster) -> Iterator[MapServer]:
    url = prepared_database(pg_cluster, "pinmap_live_map")
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_URL": url})
    server = make_test_server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    engine = make_engine(url)
    served = MapServer(f"http://127.0.0.1:{server.server_port}", app, sessionmaker(bind=engine))
    app.wsgi_app = _flaky(served, app.wsgi_app)  # type: ignore[method-assign]
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()
        engine.dispose()


def _open_map(page: Page, server: MapServer) -> None:
    before = server.streams()
    page.goto(server.url + "/?fiscal_year=2567")  # the reports' (earlier) year
    page.wait_for_selector("html[data-pins-ready='1']", timeout=WAIT_MS)
    server.wait_for_streams(before=before)


def _wait_for_change(page: Page, change_id: int, timeout: float = WAIT_MS) -> None:
    page.wait_for_selector(
        f"html[data-last-change='{change_id}']", state="attached", timeout=timeout
    )


def test_a_popup_opened_after_a_live_change_shows_the_new_data(
    map_server: MapServer, watched: Watched
) -> None:
    page = watched.page
    _open_map(page, map_server)
    page.fill("#f-q", "spp-krabi")
    # The list shows every office until the search answers; then only the one found.
    page.wait_for_function("() => PinMap.state.shown === 1")
    link = page.locator("#results a")
    link.wait_for()
    old = link.inner_text()

    new = "สพป.กระบี่ (ชื่อใหม่ <b>&amp;</b>)"
    with map_server.factory.begin() as session:
        session.scalars(select(Office).filter_by(code="spp-krabi")).one().name_th = new
    _wait_for_change(page, map_server.emit("spp-krabi", {"source": "data load"}))

    link.click()
    title = page.locator(".leaflet-popup-content .popup-title")
    title.wait_for()
    assert title.inner_text() == new != old  # text, not markup
    assert link.inner_text() == new  # the result list follows the data too
    marker = "PinMap.state.markers['spp-krabi']"
    assert page.evaluate(f"{marker}.getElement().title") == new
    page.evaluate(f"() => {{ {marker}.closePopup(); {marker}.openTooltip(); }}")
    assert page.locator(".leaflet-tooltip").inner_text() == new
    assert watched.errors == []


def test_a_map_cut_off_before_its_first_change_resumes_exactly(
    map_server: MapServer, watched: Watched
) -> None:
    page = watched.page
    streams: list[Request] = []
    page.on("request", lambda r: "/api/v1/stream" in r.url and streams.append(r))
    _open_map(page, map_server)
    assert page.get_attribute("html", "data-last-change") is None  # no event seen yet
    with map_server.factory() as session:
        latest = session.scalar(select(func.coalesce(func.max(ChangeEvent.id), 0)))

    map_server.cut_streams()
    missed = map_server.emit("spp-phuket", {"fields": ["stats"]})  # while the map is away
    _wait_for_change(page, missed)  # the browser retries after 3 s

    assert len(streams) >= 2
    resumed_from = streams[1].all_headers().get("last-event-id")
    assert resumed_from == str(latest)  # where the first stream started, not "now"
    assert watched.errors == []


def test_a_failed_follow_up_fetch_is_retried(map_server: MapServer, watched: Watched) -> None:
    page = watched.page
    _open_map(page, map_server)
    map_server.failed.clear()
    map_server.failing["/api/v1/offices/spp-phangnga"] = 2
    change_id = map_server.emit("spp-phangnga", {"fields": ["stats"]})
    _wait_for_change(page, change_id)
    assert map_server.failed == ["/api/v1/offices/spp-phangnga"] * 2
    # Chromium reports each refused response on the console; nothing else may fail.
    assert [e for e in watched.errors if "503" not in e] == []


def test_a_live_cluster_move_re_applies_the_filters(
    map_server: MapServer, watched: Watched
) -> None:
    with map_server.factory.begin() as session:
        admin = UserFactory.create(
            session=session,
            email="live-map-admin@example.go.th",
            name="admin",
            password="live map password 1",
            role="admin",
        )
        admin_id = admin.id

    def move(to: int) -> int:
        with map_server.factory.begin() as session:
            actor = Actor(session.get(User, admin_id))
            coaching.move_office(session, actor, "spp-bangkok", to, "live map test")
            return session.scalar(select(func.max(ChangeEvent.id)))  # type: ignore[return-value]

    page = watched.page
    _open_map(page, map_server)
    page.select_option("#f-cluster", "1")
    page.check("#filters input[name='kind'][value='primary']")
    page.select_option("#f-colour", "progress")
    page.wait_for_selector("html[data-colour-mode='progress']")
    shown = page.evaluate("PinMap.state.shown")
    in_group = "PinMap.layers.offices.hasLayer(PinMap.state.markers['spp-bangkok'])"
    assert page.evaluate(in_group)
    name = page.evaluate("PinMap.state.features['spp-bangkok'].properties.name_th")
    assert name in page.locator("#results a").all_inner_texts()
    view = "(m => [m.getCenter().lat, m.getCenter().lng, m.getZoom()])(PinMap.layers.map)"
    before = settled(page, view)  # the filter's fitBounds animation has ended

    cluster_layers = "PinMap.layers.clusters.getLayers().length"
    # The cluster layer is fetched when first shown: show it, so the move must redraw it.
    # (In a function returning nothing: evaluating the call itself would send the whole map
    # object, layers and outlines, back to Python: seconds of CPU on both sides.)
    page.evaluate("() => { PinMap.layers.map.addLayer(PinMap.layers.clusters); }")
    page.evaluate("PinMap.loadClusters().then(() => true)")
    layers_before = page.evaluate(cluster_layers)
    _wait_for_change(page, move(2))
    # The cluster outlines are redrawn from the server (they follow membership), not added twice.
    page.wait_for_selector("html[data-clusters-drawn='1']")
    assert page.evaluate(cluster_layers) == layers_before
    assert page.evaluate("PinMap.state.shown") == shown - 1
    assert not page.evaluate(in_group)
    assert "pin-share-" in page.evaluate(
        "PinMap.state.markers['spp-bangkok'].options.icon.options.html"
    )
    assert name not in page.locator("#results a").all_inner_texts()

    _wait_for_change(page, move(1))
    assert page.evaluate("PinMap.state.shown") == shown
    assert page.evaluate(in_group)
    # The user's selections and view are kept: a live change does not refocus the map.
    assert page.input_value("#f-cluster") == "1"
    assert page.is_checked("#filters input[name='kind'][value='primary']")
    assert page.input_value("#f-colour") == "progress"
    assert page.evaluate(view) == before
    assert watched.errors == []


def test_the_portal_dashboard_refreshes_live_and_retries_a_failed_fetch(
    map_server: MapServer, watched: Watched
) -> None:
    from pinmap.models import PolicyItem
    from pinmap.services import progress

    with map_server.factory.begin() as session:
        editor = UserFactory.create(
            session=session,
            email="live-portal@example.go.th",
            name="editor",
            password="live portal password 1",
            role="office_editor",
            office_code="spp-krabi",
        )
        editor_id = editor.id
    page = watched.page
    sign_in_page(page, map_server.url, "live-portal@example.go.th", "live portal password 1")
    before = map_server.streams()
    page.goto(map_server.url + "/portal/offices/spp-krabi?fiscal_year=2567")
    assert page.locator(".state-draft").count() == 0
    map_server.wait_for_streams(before=before)
    map_server.failed.clear()
    map_server.failing["/portal/offices/spp-krabi"] = 2
    with map_server.factory.begin() as session:
        office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
        item = session.scalars(
            select(PolicyItem).filter_by(fiscal_year=2567, kind="policy", no=1)
        ).one()
        progress.save_draft(
            session, Actor(session.get(User, editor_id)), office, item, 1, {"what": "อบรมครู"}, None
        )
        change_id = session.scalar(select(func.max(ChangeEvent.id)))
    _wait_for_change(page, change_id)  # type: ignore[arg-type]
    assert map_server.failed == ["/portal/offices/spp-krabi"] * 2
    assert page.locator(".state-draft").count() == 1
    assert [e for e in watched.errors if "503" not in e] == []
