"""The public map in real headless Chromium with every non-loopback host unresolvable."""

from __future__ import annotations

import time

import psycopg
import pytest

from ..support.browser import WAIT_MS, LiveServer, Watched, settled

pytestmark = pytest.mark.browser

COUNT_JS = """() => {
  let n = 0;
  document.querySelectorAll('.marker-cluster span').forEach(s => { n += parseInt(s.textContent, 10); });
  n += document.querySelectorAll('.leaflet-marker-icon.pin-icon').length;
  return n;
}"""


def _open_map(w: Watched, server: LiveServer, path: str = "/") -> None:
    w.page.goto(server.url + path)
    w.page.wait_for_selector("html[data-pins-ready='1']", timeout=WAIT_MS)
    settled(w.page, COUNT_JS)  # markercluster animates its first layout


def test_map_shows_all_245_offices_offline(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    _open_map(watched, live_server)
    assert page.evaluate(COUNT_JS) == 245
    assert page.evaluate("PinMap.state.shown") == 245
    assert page.locator("#result-count").inner_text() == "แสดง 245 จาก 245 เขต"
    # The basemap draws the provinces; imported outlines are fetched once zoomed in.
    outlines = "/api/v1/boundaries/provinces"
    assert not [u for u in watched.requests if u.endswith(outlines)]
    if live_server.boundaries:
        # (In a function returning nothing: evaluating the call itself would send the whole map
        # object, layers and outlines, back to Python: seconds of CPU on both sides.)
        page.evaluate("() => { PinMap.layers.map.setZoom(8, {animate: false}); }")
        page.wait_for_selector("html[data-provinces-imported='77']", timeout=WAIT_MS)
        assert page.locator("path.leaflet-interactive").count() >= 77
    assert page.locator(".leaflet-control-layers-overlays label").count() == 3
    outside = [u for u in watched.requests if not u.startswith(live_server.url)]
    assert outside == []
    assert watched.errors == []


def test_popup_opens_and_links_to_the_office_page(
    live_server: LiveServer, watched: Watched
) -> None:
    page = watched.page
    _open_map(watched, live_server)
    page.locator(".leaflet-marker-icon.pin-icon").first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content .popup")
    popup.wait_for(timeout=5_000)
    title = popup.locator(".popup-title").inner_text()
    assert title.startswith("สพ")
    link = popup.locator("a.popup-link")
    href = link.get_attribute("href")
    assert href and href.startswith("/offices/sp")
    link.click()
    page.wait_for_url(f"**{href}")
    assert page.locator("h1").inner_text() == title
    page.wait_for_selector(".leaflet-container")
    assert [u for u in watched.requests if not u.startswith(live_server.url)] == []
    assert watched.errors == []


STATIC_ENTRIES_JS = """() => performance.getEntriesByType('resource')
  .filter(e => new URL(e.name).pathname.startsWith('/static/'))
  .map(e => [new URL(e.name).pathname + new URL(e.name).search, e.transferSize])"""


def test_a_second_page_takes_its_static_files_from_the_browser_cache(
    live_server: LiveServer, watched: Watched
) -> None:
    """Pages name static files by content (`?v=`): the next page asks the server for none of
    them again (transfer size 0: not even a revalidation). Fonts, which the stylesheet names
    by relative URLs, are revalidated as before."""
    page = watched.page

    def named_by_content() -> dict[str, int]:
        return {u: size for u, size in page.evaluate(STATIC_ENTRIES_JS) if "?v=" in u}

    page.goto(f"{live_server.url}/offices/spp-krabi")
    first = named_by_content()
    assert len(first) >= 8 and all(size > 0 for size in first.values())
    page.goto(f"{live_server.url}/offices/spp-lampang-1")
    again = named_by_content()
    assert set(again) == set(first)
    assert {u: size for u, size in again.items() if size != 0} == {}
    assert watched.errors == []


def test_filters_and_search(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    _open_map(watched, live_server)
    page.select_option("#f-cluster", "13")
    page.wait_for_function("() => PinMap.state.shown === 21")
    # Markercluster fades old clusters out over a few hundred ms; wait for the settled view.
    page.wait_for_function(f"() => ({COUNT_JS})() === 21", timeout=5_000)
    page.select_option("#f-cluster", "")
    page.check("input[name=kind][value=secondary]")
    page.wait_for_function("() => PinMap.state.shown === 62")
    page.check("input[name=kind][value='']")
    page.fill("#f-q", "spp-chiangmai-2")
    page.wait_for_function("() => PinMap.state.shown === 1")
    results = page.locator("#results li a")
    assert results.count() == 1
    results.first.click()
    page.locator(".leaflet-popup-content .popup-title").wait_for(timeout=5_000)
    assert page.locator(".leaflet-popup-content .popup-title").inner_text() == "สพป.เชียงใหม่ เขต 2"


def test_coincident_pins_can_each_be_reached(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    _open_map(watched, live_server)
    # spp-lampang-1 and spm-lampang-lamphun share one point: markercluster must spiderfy them.
    page.evaluate(
        """() => new Promise(done => {
             const m = PinMap.state.markers['spm-lampang-lamphun'];
             PinMap.layers.offices.zoomToShowLayer(m, () => { m.openPopup(); done(); });
           })"""
    )
    page.locator(".leaflet-popup-content .popup-title").wait_for(timeout=5_000)
    assert page.locator(".leaflet-popup-content .popup-title").inner_text() == "สพม.ลำปาง ลำพูน"
    assert page.evaluate("!!PinMap.state.markers['spp-lampang-1']._icon")


PAYLOAD = '<img src=x onerror="alert(1)">สพป.<b>ทดสอบ</b>'
KRABI_NAME_JS = "PinMap.state.features['spp-krabi'].properties.name_th"


def test_office_names_are_escaped_in_popup_and_tooltip(
    live_server: LiveServer, watched: Watched
) -> None:
    page = watched.page
    sql_url = live_server.database_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(sql_url, autocommit=True) as conn:
        original = conn.execute("SELECT name_th FROM offices WHERE code = 'spp-krabi'").fetchone()
        conn.execute("UPDATE offices SET name_th = %s WHERE code = 'spp-krabi'", [PAYLOAD])
    try:
        # The server hears of a write made outside it (psql here) by a notification a moment
        # later, and serves its cached offices until then: open the map until it has heard.
        deadline = time.monotonic() + WAIT_MS / 1000
        _open_map(watched, live_server)
        while page.evaluate(KRABI_NAME_JS) != PAYLOAD:
            assert time.monotonic() < deadline, "the server never heard of the new name"
            _open_map(watched, live_server)
        page.evaluate(
            """() => new Promise(done => {
                 const m = PinMap.state.markers['spp-krabi'];
                 PinMap.layers.offices.zoomToShowLayer(m, () => { m.openPopup(); done(); });
               })"""
        )
        title = page.locator(".leaflet-popup-content .popup-title")
        title.wait_for(timeout=5_000)
        assert title.inner_text() == PAYLOAD  # shown as text, not markup
        assert page.locator(".leaflet-popup-content img, .leaflet-popup-content b").count() == 0
        page.evaluate("() => { PinMap.state.markers['spp-krabi'].openTooltip(); }")
        assert page.locator(".leaflet-tooltip img").count() == 0
        page.goto(live_server.url + "/offices/spp-krabi")
        assert page.locator("h1").inner_text() == PAYLOAD
        assert page.locator("main img[src=x]").count() == 0
        assert watched.dialogs == []
    finally:
        with psycopg.connect(sql_url, autocommit=True) as conn:
            conn.execute("UPDATE offices SET name_th = %s WHERE code = 'spp-krabi'", original)


def test_english_ui(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    _open_map(watched, live_server, "/?lang=en")
    assert page.locator("#result-count").inner_text() == "Showing 245 of 245 offices"
    page.locator(".leaflet-marker-icon.pin-icon").first.dispatch_event("click")
    assert page.locator(".popup-link").inner_text() == "Open office page →"
    assert page.locator(".popup-link").get_attribute("href").endswith("?lang=en")


def test_cluster_layer_has_labels_linking_to_cluster_pages(
    live_server: LiveServer, watched: Watched
) -> None:
    page = watched.page
    _open_map(watched, live_server)
    page.locator(".leaflet-control-layers-overlays label", has_text="กลุ่ม").locator("input").check()
    page.wait_for_function("() => document.querySelectorAll('.cluster-label').length === 18")
    page.locator(".cluster-label-icon").first.dispatch_event("click")
    link = page.locator(".leaflet-popup-content a.popup-link")
    link.wait_for(timeout=5_000)
    assert (link.get_attribute("href") or "").startswith("/coaching/clusters/")
    assert watched.errors == []
