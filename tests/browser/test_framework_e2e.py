"""The admin framework page in Chromium: a year with a framework and sub-items, the current
year without one (and starting it from the year before), at desktop and phone sizes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.fiscal import current_fiscal_year
from pinmap.services import framework
from pinmap.services.accounts import create_user
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, sign_in_page, submit

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "framework-admin@example.go.th", "framework password 123"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def admin_with_sub_items(live_server: LiveServer) -> None:
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        create_user(session, Actor(None), email=EMAIL, name="ผู้ดูแล", password=PASSWORD, role="admin")
        for no in ("9.1", "9.2"):
            framework.save_item(
                session,
                Actor(None),
                2567,
                kind="policy",
                no=no,
                title_th=f"ประเด็นย่อย {no}",
                title_en=f"Sub-item {no}",
                fields=["narrative", "problems", "likely_success"],
                rounds=["2"],
            )
    engine.dispose()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    yield context.new_page()
    context.close()


def _sign_in(page: Page, base: str) -> None:
    sign_in_page(page, base, EMAIL, PASSWORD)


def _shots(page: Page, name: str) -> None:
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{folder}/{name}-{label}.png", full_page=False)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_framework_page_and_starting_the_current_year(
    live_server: LiveServer, page: Page, admin_with_sub_items: None
) -> None:
    _sign_in(page, live_server.url)
    page.goto(live_server.url + "/admin/framework?fiscal_year=2567")
    assert page.locator("h1").inner_text().endswith("2567")
    sub = page.locator("td.item-depth-1", has_text="9.1")
    assert sub.count() == 1
    # The phone width scrolls the table, not the page.
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    page.set_viewport_size({"width": 1366, "height": 900})
    _shots(page, "framework-2567")

    year = current_fiscal_year()
    page.goto(f"{live_server.url}/admin/framework?fiscal_year={year}")
    assert page.locator(".callout").count() == 1
    _shots(page, f"framework-{year}-empty")
    if year > 2567:  # started from 2567, the latest year with a framework
        submit(page, page.locator(".callout form button"))
        assert page.locator("td.item-depth-1", has_text="9.1").count() == 1
        _shots(page, f"framework-{year}-started")
