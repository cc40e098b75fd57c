"""An approved profile full of markup payloads, in real Chromium: shown as text, nothing runs."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from pinmap import create_app
from pinmap.db import make_engine
from pinmap.models import Office
from pinmap.services import profiles
from pinmap.services.audit import Actor

from ..support.app import TEST_CONFIG
from ..support.browser import LiveServer, Watched
from ..support.factories import UserFactory
from ..support.serving import make_test_server

pytestmark = pytest.mark.browser

CODE = "spm-phangnga-phuket-ranong"
PAYLOADS = {
    "address": '<img src=x onerror="alert(1)">ถนนเทพกระษัตรี',
    "phone": "0 7621 1234",
    "email": "office@example.go.th",
    "website": "https://example.go.th/?q=<script>alert(2)</script>",
}
PERSON = '"><svg onload=alert(3)>${alert(4)}`นายทดสอบ'


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> Iterator[str]:
    """The shared e2e database, served by an app that has the profiles blueprint for sure."""
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        office = session.scalars(select(Office).filter_by(code=CODE)).first()
        if office is None:
            office = session.scalars(select(Office).order_by(Office.code.desc())).first()
        assert office is not None
        director = UserFactory.create(
            session=session,
            email="e2e-profile-dir@example.go.th",
            name="ผอ.",
            password="e2e password 123",
            role="office_director",
            office_code=office.code,
        )
        reviewer = UserFactory.create(
            session=session,
            email="e2e-profile-rev@example.go.th",
            name="ผู้ตรวจ",
            password="e2e password 123",
            role="reviewer",
        )
        point = to_shape(office.geom)
        people = [
            {"role": "director", "name": PERSON, "position": PERSON},
            {"role": "deputy", "name": PERSON, "position": "รอง <i>ผอ.</i>"},
        ]
        rev = profiles.save_draft(
            session,
            Actor(director),
            office,
            {**PAYLOADS, "people": people},
            (point.x, point.y),
            None,
        )
        profiles.submit(session, Actor(director), office, rev.version)
        profiles.review(session, Actor(reviewer), rev, "approve", "", rev.version)
        code = office.code
    engine.dispose()
    app = create_app(
        {
            **TEST_CONFIG,
            "SQLALCHEMY_URL": live_server.database_url,
            "PINMAP_UPLOAD_DIR": tempfile.mkdtemp(prefix="pinmap-e2e-up-"),
        }
    )
    if "portal" not in app.blueprints:
        from pinmap.portal import bp

        app.register_blueprint(bp)
    srv = make_test_server(app)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}/offices/{code}"
    finally:
        srv.shutdown()
        srv.server_close()
        app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()


def test_profile_payloads_are_text_on_the_page_and_in_the_popup(
    server: str, watched: Watched
) -> None:
    page = watched.page
    page.goto(server)
    article = page.locator("article")
    text = article.inner_text()
    assert PAYLOADS["address"] in text and "${alert(4)}" in text
    assert page.locator("article img[src='x'], article svg[onload], article script").count() == 0
    assert page.locator(".person-position i").count() == 0  # plain text fields keep no tags
    assert watched.errors == []
    # The pin is folium's circle marker; open its popup as a click would.
    opened = page.evaluate("""() => {
        const name = Object.keys(window).find(k => k.startsWith("circle_marker_"));
        if (!name) { return false; }
        window[name].openPopup();
        return true;
    }""")
    assert opened
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert PAYLOADS["address"] in popup.inner_text() and "${alert(4)}" in popup.inner_text()
    assert popup.locator("img, svg, script").count() == 0
    # Nothing in the popup can run later either: no element carries an event-handler attribute.
    handlers = popup.evaluate(
        "p => [p, ...p.querySelectorAll('*')]"
        ".flatMap(e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on'))"
    )
    assert handlers == []
    assert watched.dialogs == []
    assert watched.errors == []
