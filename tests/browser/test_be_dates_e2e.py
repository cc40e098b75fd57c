"""Dates typed and shown in Buddhist Era years in real Chromium: an admin types a reporting
window's days as 1/10/2589 and 2590-01-31 (BE), the field shows them as 01/10/2589, the database
holds 2046-10-01, and the page lists them in Thai; a refused form keeps what was typed; a day
that does not exist is stopped in the page with the Thai message.

Set PINMAP_SCREENSHOTS=<dir> to keep the form at 1366×900 and 390×844.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.models import ReportingWindow
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, sign_in_page, submit
from ..support.factories import UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "be dates e2e password 5"
EMAIL = "be-dates-admin@example.go.th"
YEAR = 2590  # a fiscal year no other test uses (1 Oct 2589 – 30 Sep 2590 BE)


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> Iterator[LiveServer]:
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        UserFactory.create(
            session=session,
            actor=Actor(None),
            email=EMAIL,
            name="ผู้ดูแล",
            password=PASSWORD,
            role="admin",
        )
    engine.dispose()
    yield live_server


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    page = context.new_page()
    sign_in_page(page, server.url, EMAIL, PASSWORD)
    yield page
    context.close()


def _stored(server: LiveServer) -> ReportingWindow | None:
    engine = make_engine(server.database_url)
    with sessionmaker(bind=engine)() as session:
        found = session.scalars(
            select(ReportingWindow).filter_by(fiscal_year=YEAR, round_no=1)
        ).first()
    engine.dispose()
    return found


# The new-window form (each listed window has an edit form of its own with the same fields).
NEW_WINDOW = "form.admin-form[action$='/admin/windows']"


def _fill_window(page: Page, opens: str, closes: str) -> None:
    form = page.locator(NEW_WINDOW)
    form.locator("[name=fiscal_year]").fill(str(YEAR))
    form.locator("[name=round_no]").fill("1")
    form.locator("[name=label_th]").fill("ระยะที่ 1")
    form.locator("[name=label_en]").fill("Phase 1")
    form.locator("[name=opens_on]").fill(opens)
    form.locator("[name=closes_on]").fill(closes)
    form.locator("[name=label_th]").click()  # leaves the date field: the page rewrites it


def _screenshots(page: Page, name: str) -> None:
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in {"desktop": (1366, 900), "phone": (390, 844)}.items():
        page.set_viewport_size({"width": width, "height": height})
        page.locator(NEW_WINDOW + " [name=opens_on]").scroll_into_view_if_needed()
        page.screenshot(path=f"{folder}/{name}-{label}.png")
    page.set_viewport_size({"width": 1366, "height": 900})


def test_a_window_typed_in_buddhist_era_is_stored_iso_and_shown_back(
    page: Page, server: LiveServer
) -> None:
    page.goto(server.url + "/admin/windows")
    _fill_window(page, "1/10/2589", "2590-01-31")
    assert page.locator(NEW_WINDOW + " [name=opens_on]").input_value() == "01/10/2589"
    assert page.locator(NEW_WINDOW + " [name=closes_on]").input_value() == "31/01/2590"
    _screenshots(page, "be-date-typed")
    with page.expect_navigation():
        page.locator(NEW_WINDOW + " button[type=submit]").click()
    stored = _stored(server)
    assert stored is not None, page.locator("main").inner_text()[:600]
    assert (stored.opens_on, stored.closes_on) == (dt.date(2046, 10, 1), dt.date(2047, 1, 31))
    table = page.locator("table").first.inner_text()
    assert "1 ต.ค. 2589" in table and "31 ม.ค. 2590" in table, table
    assert "2046" not in page.locator("main").inner_text()


def test_a_refused_window_keeps_the_buddhist_era_days_typed(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/admin/windows")
    _fill_window(page, "01/01/2580", "31/01/2590")  # opens before the fiscal year starts
    assert submit(page, page.locator(NEW_WINDOW + " button[type=submit]")) == 400
    error = page.locator("p.error").inner_text()
    assert "2590" in error and "1 ต.ค. 2589" in error and "2046" not in error, error
    assert page.locator(NEW_WINDOW + " [name=opens_on]").input_value() == "01/01/2580"
    assert page.locator(NEW_WINDOW + " [name=closes_on]").input_value() == "31/01/2590"
    assert page.locator(NEW_WINDOW + " [name=label_th]").input_value() == "ระยะที่ 1"
    _screenshots(page, "be-date-refused")


def test_a_day_that_does_not_exist_is_stopped_in_the_page(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/admin/windows")
    _fill_window(page, "31/02/2590", "31/03/2590")
    field = page.locator(NEW_WINDOW + " [name=opens_on]")
    assert field.input_value() == "31/02/2590"
    assert "วัน/เดือน/ปี" in field.evaluate("e => e.validationMessage")
    page.locator(NEW_WINDOW + " button[type=submit]").click()
    assert page.url.endswith("/admin/windows")  # not sent: the browser showed the message
