"""The OBEC dashboard in Chromium: charts and map drawn, summaries first (not a 12,600 px page),
the map's clusters drill down, the round selector drives the URL, nothing wider than a phone.

PINMAP_SCREENSHOTS=<folder> saves each page at 1366×900 and 390×844.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text

from pinmap.db import make_engine

from ..support.browser import LiveServer, add_people, screenshots, sign_in_page, thai_page
from ..support.dashboard_seed import seed_progress

pytestmark = pytest.mark.browser

FY = 2567


@pytest.fixture(scope="module")
def seeded(live_server: LiveServer) -> LiveServer:
    add_people(live_server.database_url, "dash", (("reviewer", "reviewer", None),))
    engine = make_engine(live_server.database_url)
    with engine.begin() as conn:
        assert conn.scalar(
            text("SELECT count(*) FROM policy_items WHERE fiscal_year = :y"), {"y": FY}
        )
        assert seed_progress(conn, FY) > 1000
    engine.dispose()
    return live_server


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from thai_page(browser)


def _no_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.clientWidth")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + '.'"
        " + e.className + ' ' + (e.textContent || '').slice(0, 40))"
    )
    assert scroll <= width + 1, (scroll, width, wide)


def _phone_parts(page: Page, name: str) -> None:
    """The phone screenshot cut into screen-high parts too, readable one by one."""
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if not folder:
        return
    page.set_viewport_size({"width": 390, "height": 844})
    height = page.evaluate("document.documentElement.scrollHeight")
    for n, top in enumerate(range(0, min(height, 6 * 1200), 1200)):
        clip = {"x": 0, "y": top, "width": 390, "height": min(1200, height - top)}
        page.screenshot(path=f"{folder}/{name}-phone-{n}.png", full_page=True, clip=clip)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_dashboard_draws_charts_and_map_and_drills_down(seeded: LiveServer, page: Page) -> None:
    url = seeded.url
    sign_in_page(page, url, "dash-reviewer@example.go.th")
    page.goto(f"{url}/coaching/dashboard?fiscal_year={FY}&round=1")
    assert page.locator("svg.choropleth").is_visible()
    assert page.locator("svg.chart").count() >= 5
    # Summaries first: the page is a few screens, not 12,600 px.
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4000, height
    assert "%" in page.locator(".summary-cards").inner_text()
    screenshots(page, "dashboard-nation")
    _phone_parts(page, "dashboard-nation")

    page.set_viewport_size({"width": 390, "height": 844})
    _no_overflow(page)
    page.set_viewport_size({"width": 1366, "height": 900})

    # A cluster on the map opens that cluster's dashboard.
    page.locator('svg.choropleth a g[data-key="6"] path').first.click()
    page.wait_for_url("**cluster=6**")
    assert "round=1" in page.url
    assert page.locator("svg.choropleth").is_visible()
    screenshots(page, "dashboard-cluster")

    # The round selector: the charts and the map follow the chosen round.
    page.select_option("select[name=round]", "2")
    page.locator("form.filters-row button[type=submit]").click()
    page.wait_for_url("**round=2**")
    assert "cluster=6" in page.url
    assert (page.locator("#chart-map-t").text_content() or "").endswith("2")

    # An office: its reports item by item, in words.
    page.locator("#offices + details summary").click()
    page.locator("#offices + details tbody th a").first.click()
    page.wait_for_url("**office=**")
    body = page.locator("main").inner_text()
    assert "submitted" not in body and "approved" not in body
    screenshots(page, "dashboard-office")
    _phone_parts(page, "dashboard-office")
    page.set_viewport_size({"width": 390, "height": 844})
    _no_overflow(page)
