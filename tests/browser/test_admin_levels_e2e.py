"""The admin pages for quarter deadlines and approval levels in Chromium, in Thai, at desktop and
phone sizes: a deadline set through the form reads in พ.ศ.; the second OBEC level switched off."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.services.accounts import create_user
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, sign_in_page, submit

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "levels-admin@example.go.th", "levels password 123"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def admin(live_server: LiveServer) -> None:
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        create_user(session, Actor(None), email=EMAIL, name="ผู้ดูแล", password=PASSWORD, role="admin")
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
        page.screenshot(path=f"{folder}/{name}-{label}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_deadlines_and_levels_pages(live_server: LiveServer, page: Page, admin: None) -> None:
    _sign_in(page, live_server.url)
    page.goto(live_server.url + "/admin/deadlines?fiscal_year=2567")
    assert "31 ธ.ค. 2566" in page.locator("table").inner_text()
    page.fill("input[name=fiscal_year]", "2567")
    page.select_option("select[name=quarter]", "2")
    page.fill("input[name=due_on]", "2024-04-30")
    submit(page, page.locator("form.admin-form button"))
    assert "30 เม.ย. 2567" in page.locator("table").inner_text()
    _shots(page, "admin-deadlines")

    page.goto(live_server.url + "/admin/workflow")
    form = page.locator("form.levels", has=page.locator("input[value=quarterly_project]"))
    accept = form.locator("input[name=accept_enabled]")
    assert accept.is_checked()
    accept.uncheck()
    submit(page, form.locator("button"))
    form = page.locator("form.levels", has=page.locator("input[value=quarterly_project]"))
    assert not form.locator("input[name=accept_enabled]").is_checked()
    _shots(page, "admin-workflow")
