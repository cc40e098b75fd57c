"""The national map's look in Chromium: status bubbles, area shading, and the phone layout.

With PINMAP_SCREENSHOTS=<folder>, screenshots (1366x900 and 390x844) are saved there, to be
looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from ..support.browser import WAIT_MS, LiveServer, settled, snap

pytestmark = pytest.mark.browser

KIND = {"#1f6fb2", "#c0392b"}
PROGRESS = {"#b8c0ca", "#f2c14e", "#7cc36b", "#1b7a3a"}
AREA_RAMP = {"#edf8fb", "#bfd3e6", "#9ebcda", "#8c96c6", "#88419d"}
# What the existing map tests count: every bubble's number plus every single pin.
COUNT_JS = """() => {
  let n = 0;
  document.querySelectorAll('.marker-cluster span').forEach(s => { n += parseInt(s.textContent, 10); });
  return n + document.querySelectorAll('.leaflet-marker-icon.pin-icon').length;
}"""
RING_COLOURS_JS = """() => [...new Set([...document.querySelectorAll('.pm-bubble svg circle[fill=none]')]
  .map(c => c.getAttribute('stroke')))]"""


OpenPage = Callable[[int, int], tuple[Page, list[str]]]


@pytest.fixture
def page_at(browser: Browser) -> Iterator[OpenPage]:
    """Opens a page of the given viewport; the list collects its script errors."""
    contexts: list[BrowserContext] = []

    def open_page(width: int, height: int) -> tuple[Page, list[str]]:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="th-TH")
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        return page, errors

    yield open_page
    for c in contexts:
        c.close()


def _open(page: Page, server: LiveServer, query: str = "") -> None:
    page.goto(server.url + "/" + query)
    page.wait_for_selector("html[data-pins-ready='1']", timeout=WAIT_MS)
    settled(page, COUNT_JS)


def test_bubbles_ring_the_shares_of_pin_colours(live_server: LiveServer, page_at: OpenPage) -> None:
    page, errors = page_at(1366, 900)
    _open(page, live_server)
    assert page.evaluate(COUNT_JS) == 245
    # Markercluster's own size colours (green/yellow/orange) are gone: they read as progress.
    assert (
        page.locator(".marker-cluster-small, .marker-cluster-medium, .marker-cluster-large").count()
        == 0
    )
    bubbles = page.locator(".leaflet-marker-icon.pm-bubble")
    assert bubbles.count() > 5
    assert set(page.evaluate(RING_COLOURS_JS)) == KIND  # kind mode: the kinds' own colours
    # A bubble says what it holds, for a pointer and for a screen reader's title.
    title = bubbles.first.locator(".pm-bubble-inner").get_attribute("title") or ""
    number = int(bubbles.first.locator("span").inner_text())
    assert title.startswith(f"{number}: ")
    assert "สพป." in title or "สพม." in title
    # The legend explains bubbles and the dashed ring.
    legend = page.locator(".legend")
    assert legend.locator("#legend-bubble svg").count() == 1
    assert "วงกลมมีตัวเลข" in legend.inner_text()
    assert "ขอบประ" in legend.inner_text()

    page.select_option("#f-colour", "progress")
    page.wait_for_selector("html[data-colour-mode='progress']")
    settled(page, RING_COLOURS_JS)
    assert set(page.evaluate(RING_COLOURS_JS)) <= PROGRESS
    assert page.evaluate(COUNT_JS) == 245
    snap(page, "map-bubbles-progress-1366x900.png")
    assert errors == []


def test_areas_are_shaded_by_reporting(live_server: LiveServer, page_at: OpenPage) -> None:
    page, errors = page_at(1366, 900)
    # The sample reports are FY2567's; the map opens on the current year, which has no framework.
    _open(page, live_server, "?fiscal_year=2567")
    page.select_option("#f-areas", "cluster:reported")
    page.wait_for_selector("html[data-areas-shaded='cluster:reported']", timeout=WAIT_MS)
    fills = page.evaluate(
        """() => { const out = [];
             PinMap.areaLayers(PinMap.layers.clusters, l => out.push(l.options.fillColor));
             return out; }"""
    )
    assert fills and set(fills) <= AREA_RAMP
    assert page.is_visible("#legend-areas")
    assert "%" in page.locator("#legend-areas").inner_text()
    snap(page, "map-areas-clusters-1366x900.png")
    # The aggregation: two of cluster 13's offices with approved items (all of one's, a third
    # of the other's) make 2 of n offices reporting and 28 of all their items approved.
    got = page.evaluate(
        """() => {
          const A = PinMap.state.areaData, S = A.offices, saved = JSON.stringify(S);
          const f = PinMap.state.features, ratio = (v) => v[0] / v[1];  // shares are [part, whole]
          const codes = Object.keys(f).filter(c => f[c].properties.cluster_no === 13).sort();
          S[codes[0]] = {...S[codes[0]], approved: 21};
          S[codes[1]] = {...S[codes[1]], approved: 7};
          const r = {reported: ratio(PinMap.areaShares('cluster:reported')['13']),
                     approved: ratio(PinMap.areaShares('cluster:approved')['13']), n: codes.length,
                     items: codes.reduce((a, c) => a + S[c].items_total, 0)};
          A.offices = JSON.parse(saved);
          return r;
        }"""
    )
    assert got["n"] == 21
    assert got["reported"] == pytest.approx(2 / 21)
    assert got["approved"] == pytest.approx(28 / got["items"])
    if live_server.boundaries:
        page.select_option("#f-areas", "province:approved")
        page.wait_for_selector("html[data-areas-shaded='province:approved']", timeout=WAIT_MS)
        fills = page.evaluate(
            """() => { const out = [];
                 PinMap.areaLayers(PinMap.layers.provinces, l => out.push(l.options.fillColor));
                 return out; }"""
        )
        assert len(fills) >= 77 and AREA_RAMP & set(fills)
    # No shading puts every area back as it was.
    page.select_option("#f-areas", "")
    page.wait_for_selector("html[data-area-mode='none']")
    assert page.is_hidden("#legend-areas")
    assert errors == []


def test_phone_layout(live_server: LiveServer, page_at: OpenPage) -> None:
    page, errors = page_at(390, 844)
    _open(page, live_server)
    header = page.locator("header.topbar").bounding_box()
    assert header and header["height"] <= 56  # one line, not 150 px
    box = page.locator(".folium-map").bounding_box()
    assert box and box["height"] >= 844 - header["height"] - 2 and box["width"] >= 388
    # The layer control is folded to its button; the site links hide behind "Menu".
    assert page.locator(".leaflet-control-layers-expanded").count() == 0
    assert page.is_hidden("#site-nav")
    assert page.is_hidden("#map-panel")
    snap(page, "map-phone-390x844.png")

    toggle = page.locator("#drawer-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    page.wait_for_function(
        "() => document.getElementById('map-panel').getBoundingClientRect().left >= 0"
    )
    assert toggle.get_attribute("aria-expanded") == "true"
    assert page.is_visible("#f-q")
    snap(page, "map-phone-drawer-390x844.png")
    page.keyboard.press("Escape")
    page.wait_for_selector("#map-panel", state="hidden")
    assert toggle.get_attribute("aria-expanded") == "false"

    # A result chosen in the drawer closes it and opens the office's popup on the map.
    toggle.click()
    page.fill("#f-q", "spp-chiangmai-2")
    page.wait_for_function("() => PinMap.state.shown === 1")
    page.locator("#results li a").first.click()
    page.wait_for_selector("#map-panel", state="hidden")
    popup = page.locator(".leaflet-popup")
    popup.wait_for(timeout=WAIT_MS)
    settled(
        page, "JSON.stringify(document.querySelector('.leaflet-popup').getBoundingClientRect())"
    )
    pbox = popup.bounding_box()
    assert pbox and pbox["x"] >= 0 and pbox["x"] + pbox["width"] <= 390
    snap(page, "map-phone-popup-390x844.png")

    page.locator(".nav-toggle").click()
    assert page.is_visible("#site-nav")
    assert page.locator(".nav-toggle").get_attribute("aria-expanded") == "true"
    snap(page, "map-phone-menu-390x844.png")
    assert errors == []


def test_desktop_layout(live_server: LiveServer, page_at: OpenPage) -> None:
    page, errors = page_at(1366, 900)
    _open(page, live_server)
    assert page.is_visible("#map-panel") and page.is_hidden("#drawer-toggle")
    assert page.is_visible("#site-nav") and page.is_hidden(".nav-toggle")
    assert page.locator(".leaflet-control-layers-expanded").count() == 1
    header = page.locator("header.topbar").bounding_box()
    box = page.locator(".folium-map").bounding_box()
    assert header and box and box["y"] + box["height"] >= 900 - 1
    snap(page, "map-desktop-1366x900.png")
    assert errors == []
