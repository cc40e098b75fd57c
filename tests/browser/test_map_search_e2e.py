"""The map's search, filters in the address, back button, English names and export links, in
real Chromium. With PINMAP_SCREENSHOTS=<folder>, screenshots of each step are saved there."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Page

from ..support.browser import WAIT_MS, LiveServer, Watched, snap

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1366, 900), "phone": (390, 844)}


def _ready(page: Page) -> None:
    page.wait_for_selector("html[data-pins-ready='1']", timeout=WAIT_MS)


def _shown(page: Page, n: int) -> None:
    page.wait_for_function(f"() => PinMap.state.shown === {n}", timeout=WAIT_MS)


def _results(page: Page) -> list[str]:
    return page.locator("#results li a").all_inner_texts()


def _args(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def _search(page: Page, text: str, n: int) -> list[str]:
    page.fill("#f-q", text)
    page.wait_for_function(
        "q => PinMap.filterValues().q === q && PinMap.state.searches && PinMap.state.searches[q]"
        " && document.documentElement.getAttribute('data-filters-applied')"
        "    === JSON.stringify(PinMap.filterValues())",
        arg=text.strip(),
        timeout=WAIT_MS,
    )
    _shown(page, n)
    return _results(page)


def test_search_finds_what_people_type(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live_server.url + "/")
    _ready(page)
    assert _search(page, "เชียงใหม่ 2", 1) == ["สพป.เชียงใหม่ เขต 2"]
    assert _args(page)["q"] == ["เชียงใหม่ 2"]
    assert _search(page, "เชียงใหม่2", 1) == ["สพป.เชียงใหม่ เขต 2"]
    assert _search(page, "chiang mai 2", 1) == ["สพป.เชียงใหม่ เขต 2"]
    assert _search(page, "เขต 2 เชียงใหม่", 1) == ["สพป.เชียงใหม่ เขต 2"]
    bangkok = _search(page, "กทม", 3)
    assert set(bangkok) == {
        "สพป.กรุงเทพมหานคร",
        "สพม.กรุงเทพมหานคร เขต 1",
        "สพม.กรุงเทพมหานคร เขต 2",
    }
    assert len(_search(page, "โคราช", 8)) == 8
    chiang_mai = _search(page, "50", 7)
    assert all("เชียงใหม่" in name for name in chiang_mai)
    # The exact name is listed first.
    assert _search(page, "สพม.ตรัง กระบี่", 1)[0] == "สพม.ตรัง กระบี่"
    _search(page, "เชียงใหม่", 7)
    snap(page, "map-search-desktop.png")
    # A result opens its office's popup on the map.
    page.locator("#results li a", has_text="เขต 3").click()
    title = page.locator(".leaflet-popup-content .popup-title")
    title.wait_for(timeout=WAIT_MS)
    assert title.inner_text() == "สพป.เชียงใหม่ เขต 3"
    assert _search(page, "zzz", 0) == []
    assert page.locator("#result-count").inner_text() == "ไม่พบ สพท. ตามเงื่อนไขที่เลือก"
    assert watched.errors == []


def test_kind_filter_lists_and_pages_results(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    page.goto(live_server.url + "/")
    _ready(page)
    assert len(_results(page)) == 20  # listed even with no filter, a page at a time
    page.check("input[name=kind][value=secondary]")
    _shown(page, 62)
    first = _results(page)
    assert len(first) == 20
    assert page.locator("#results-page").inner_text() == "หน้า 1 จาก 4"
    page.click("#results-next")
    page.wait_for_function("() => PinMap.state.page === 2")
    second = _results(page)
    assert len(second) == 20 and not set(first) & set(second)
    assert all(name.startswith("สพม.") for name in first + second)
    page.click("#results-next")
    page.click("#results-next")
    page.wait_for_function("() => PinMap.state.page === 4")
    assert len(_results(page)) == 2
    assert page.locator("#results-next").is_disabled()
    assert watched.errors == []


def test_filters_live_in_the_address(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    page.goto(live_server.url + "/")
    _ready(page)
    page.select_option("#f-cluster", "15")
    page.wait_for_function("() => location.search === '?cluster=15'")
    # The province list follows the cluster: only cluster 15's provinces are offered.
    offered = page.eval_on_selector_all(
        "#f-province option:not([hidden])", "os => os.map(o => o.value).filter(Boolean)"
    )
    assert "50" in offered and "10" not in offered and len(offered) < 10
    page.select_option("#f-province", "50")
    page.check("input[name=kind][value=primary]")
    _shown(page, 6)
    assert _args(page) == {"cluster": ["15"], "province": ["50"], "kind": ["primary"]}
    # The export links carry the same filters.
    href = page.get_attribute("#export-csv", "href") or ""
    assert parse_qs(urlparse(href).query) == _args(page)
    # A reload (or a shared link) shows the same view.
    page.reload()
    _ready(page)
    _shown(page, 6)
    assert page.input_value("#f-cluster") == "15" and page.input_value("#f-province") == "50"
    # Back undoes one change at a time.
    page.go_back()
    page.wait_for_function("() => !location.search.includes('kind=')")
    _shown(page, 7)
    assert page.input_value("#f-province") == "50"
    assert page.locator("input[name=kind][value='']").is_checked()
    page.go_back()
    page.wait_for_function("() => location.search === '?cluster=15'")
    assert page.input_value("#f-province") == ""
    # A cluster that does not hold the chosen province lets it go.
    page.select_option("#f-province", "50")
    page.select_option("#f-cluster", "1")
    page.wait_for_function("() => location.search === '?cluster=1'")
    assert page.input_value("#f-province") == ""
    # Following an export link downloads the offices shown.
    page.check("input[name=kind][value=secondary]")
    page.wait_for_function("() => location.search.includes('kind=secondary')")
    shown = page.evaluate("PinMap.state.shown")
    with page.expect_download() as download:
        page.click("#export-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == shown and all(r["kind"] == "secondary" for r in rows)
    assert {r["cluster_no"] for r in rows} == {"1"}
    snap(page, "map-filters-desktop.png")
    assert watched.errors == []


def test_unknown_values_in_the_address_are_named_not_a_blank_map(
    live_server: LiveServer, watched: Watched
) -> None:
    page = watched.page
    page.goto(live_server.url + "/?cluster=99&kind=tertiary&province=50&colour=rainbow")
    _ready(page)
    _shown(page, 7)  # the known filter (province 50) applies; the rest is left out
    notice = page.locator("#filters-ignored")
    assert notice.is_visible()
    for named in ("cluster=99", "kind=tertiary", "colour=rainbow"):
        assert named in notice.inner_text()
    page.wait_for_function("() => location.search === '?province=50'")
    snap(page, "map-ignored-desktop.png")
    assert watched.errors == []


def test_english_names_everywhere(live_server: LiveServer, watched: Watched) -> None:
    page = watched.page
    page.goto(live_server.url + "/?lang=en")
    _ready(page)
    assert _search(page, "Korat 3", 1) == [
        "Nakhon Ratchasima Primary Educational Service Area Office 3"
    ]
    assert "lang=en" in page.url
    page.locator("#results li a").first.click()
    popup = page.locator(".leaflet-popup-content .popup")
    popup.wait_for(timeout=WAIT_MS)
    assert popup.locator(".popup-title").inner_text().startswith("Nakhon Ratchasima Primary")
    assert "Provinces covered: Nakhon Ratchasima" in popup.inner_text()
    assert "Inspection Region" in popup.inner_text()
    cluster_15 = page.locator("#f-cluster option[value='15']").inner_text()
    assert "Chiang Mai" in cluster_15 and "เชียงใหม่" not in cluster_15
    provinces = page.eval_on_selector_all("#f-province option", "os => os.map(o => o.text)")
    assert provinces[1] == "Amnat Charoen" and "Bangkok" in provinces
    assert _search(page, "กทม", 3)[0].startswith("Bangkok")
    snap(page, "map-english-desktop.png")
    assert watched.errors == []


@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_screenshots_of_a_filtered_map(
    browser: Browser, live_server: LiveServer, size: str
) -> None:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="th-TH")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(live_server.url + "/?q=" + "เชียงใหม่" + "&kind=primary")
        _ready(page)
        _shown(page, 6)
        assert len(_results(page)) == 6
        if os.environ.get("PINMAP_SCREENSHOTS"):
            page.wait_for_timeout(300)  # markercluster's fade; the picture only, nothing asserted
            snap(page, f"map-search-{size}-{width}x{height}.png")
            snap(page, f"map-search-{size}-{width}x{height}-full.png", full_page=True)
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_office_and_cluster_pages_link_their_exports(
    browser: Browser, live_server: LiveServer, size: str
) -> None:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="th-TH")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        for name, path, link, expected in (
            ("office", "/offices/spp-krabi", "#export-office-csv", {"spp-krabi"}),
            ("cluster", "/coaching/clusters/13", "#export-cluster-csv", None),
        ):
            page.goto(live_server.url + path)
            page.locator("#downloads").scroll_into_view_if_needed()
            snap(page, f"{name}-downloads-{size}-{width}x{height}.png")
            with page.expect_download() as download:
                page.click(link)
            text = Path(download.value.path()).read_text(encoding="utf-8-sig")
            rows = list(csv.DictReader(io.StringIO(text)))
            if expected is not None:
                assert {r["code"] for r in rows} == expected
            else:
                assert len(rows) == 21 and {r["cluster_no"] for r in rows} == {"13"}
        assert errors == []
    finally:
        context.close()
