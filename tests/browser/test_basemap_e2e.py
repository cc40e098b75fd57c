"""The embedded basemap in Chromium, on a server with no imported boundaries and no internet:
every map draws land, neighbours and the 77 provinces, with names in the page language.

Screenshots (1366×900 and 390×844) go to $PINMAP_SCREENSHOTS when set (none are taken
otherwise: they are pictures to look at and assert nothing).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import sessionmaker

from pinmap import create_app
from pinmap.db import make_engine
from pinmap.localdb import Cluster
from pinmap.services.accounts import create_user
from pinmap.services.audit import Actor

from ..support.app import TEST_CONFIG
from ..support.browser import sign_in_page
from ..support.databases import prepared_database
from ..support.serving import make_test_server

OFFICE = "spp-chiangmai-1"
PASSWORD = "basemap-editor-password-1"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
WAIT_MS = 20_000
READY = ".leaflet-container[data-basemap-ready='1']"
# Pixels of the provinces' canvas that are painted (alpha > 0), and the total.
PAINTED_JS = """() => {
  const c = document.querySelector('.leaflet-basemapProvinces-pane canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return [n, c.width * c.height];
}"""


@dataclass
class BareServer:
    url: str
    editor_email: str


@pytest.fixture(scope="module")
def bare_server(pg_cluster: Cluster) -> Iterator[BareServer]:
    """The app as a fresh clone runs it: data loaded, no boundaries imported, no tiles."""
    url = prepared_database(pg_cluster, "pinmap_e2e_basemap")
    engine = make_engine(url)
    email = "basemap-editor@example.go.th"
    with sessionmaker(bind=engine).begin() as session:
        create_user(
            session,
            Actor(None),
            email=email,
            name="editor",
            password=PASSWORD,
            role="office_editor",
            office_code=OFFICE,
        )
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_URL": url})
    server = make_test_server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield BareServer(f"http://127.0.0.1:{server.server_port}", email)
    finally:
        server.shutdown()
        server.server_close()
        app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()
        engine.dispose()


def _shot(page: Page, name: str) -> None:
    """With PINMAP_SCREENSHOTS=<folder>, the page as it is now, saved there as `name`.png."""
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{name}.png")


def _page(browser: Browser, size: tuple[int, int], locale: str = "th-TH") -> Iterator[Page]:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale=locale)
    page = context.new_page()
    page.outside = []  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("request", lambda r: r.url.startswith("http://127.0.0.1") or page.outside.append(r.url))  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


def _drawn(page: Page) -> None:
    page.wait_for_selector(READY, timeout=WAIT_MS)
    container = page.locator(".leaflet-container").first
    assert container.get_attribute("data-basemap-provinces") == "77"
    assert int(container.get_attribute("data-basemap-countries") or 0) >= 5
    # Leaflet's canvas repaints in the next animation frame after a view change (the pins'
    # framing, now as soon as the page's inline offices are read).
    page.wait_for_function(
        f"() => {{ const [n, t] = ({PAINTED_JS})(); return n > t * 0.02; }}", timeout=WAIT_MS
    )
    painted, total = page.evaluate(PAINTED_JS)
    assert painted > total * 0.02, (painted, total)  # provinces are on the canvas


def _clean(page: Page) -> None:
    assert page.outside == []  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", list(VIEWPORTS.values()), ids=list(VIEWPORTS))
def test_national_and_office_maps_draw_the_basemap_offline(
    browser: Browser, bare_server: BareServer, size: tuple[int, int]
) -> None:
    for page in _page(browser, size):
        page.goto(bare_server.url + "/")
        page.wait_for_selector("html[data-pins-ready='1']", timeout=WAIT_MS)
        _drawn(page)
        # The provinces fill the national map's "Provinces" layer, for the layer control.
        assert page.evaluate("PinMap.layers.provinces.getLayers()[0].getLayers().length") == 77
        # No names at the national zoom; Thai names once zoomed in.
        assert page.locator(".basemap-label-province").count() == 0
        _shot(page, f"basemap-map-{size[0]}x{size[1]}")
        # (In a function returning nothing: evaluating the call itself would send the whole map
        # object, layers and outlines, back to Python: seconds of CPU on both sides.)
        page.evaluate("() => { PinMap.layers.map.setView([18.79, 98.98], 8, {animate: false}); }")
        page.wait_for_selector(".basemap-label-province >> text=เชียงใหม่", timeout=WAIT_MS)
        _shot(page, f"basemap-map-zoom8-{size[0]}x{size[1]}")
        # Unticking "Provinces" hides the provinces' names too.
        page.evaluate("() => { PinMap.layers.map.removeLayer(PinMap.layers.provinces); }")
        page.wait_for_selector(".basemap-label-province", state="detached", timeout=WAIT_MS)

        page.goto(f"{bare_server.url}/offices/{OFFICE}")
        _drawn(page)
        page.locator(".leaflet-container").scroll_into_view_if_needed()
        _shot(page, f"basemap-office-{size[0]}x{size[1]}")

        page.goto(f"{bare_server.url}/coaching/clusters/15")
        _drawn(page)
        page.locator(".leaflet-container").scroll_into_view_if_needed()
        _shot(page, f"basemap-cluster-{size[0]}x{size[1]}")
        _clean(page)


def test_english_pages_name_provinces_in_english(browser: Browser, bare_server: BareServer) -> None:
    for page in _page(browser, VIEWPORTS["desktop"], locale="en-GB"):
        page.goto(f"{bare_server.url}/offices/{OFFICE}?lang=en")
        _drawn(page)
        page.wait_for_selector(".basemap-label-province >> text=Chiang Mai", timeout=WAIT_MS)
        assert page.locator(".basemap-label-province >> text=เชียงใหม่").count() == 0
        _clean(page)


def test_profile_editor_pin_sits_on_the_basemap(browser: Browser, bare_server: BareServer) -> None:
    for page in _page(browser, VIEWPORTS["desktop"]):
        sign_in_page(page, bare_server.url, bare_server.editor_email, PASSWORD)
        page.goto(f"{bare_server.url}/portal/offices/{OFFICE}/profile")
        _drawn(page)
        # Without tiles, zoomed out to 9 around the pin: its province and name are in view.
        assert (
            page.evaluate(
                "window[document.querySelector('script[data-marker]').dataset.marker]._map.getZoom()"
            )
            == 9
        )
        page.wait_for_selector(".basemap-label-province >> text=เชียงใหม่", timeout=WAIT_MS)
        page.locator(".leaflet-container").scroll_into_view_if_needed()
        _shot(page, "basemap-profile-1366x900")
        _clean(page)
