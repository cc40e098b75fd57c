"""Notifications in real Chromium: the header's unread count, the inbox showing a hostile title
as text, marking read, the settings form, and the admins' undelivered messages.

Set PINMAP_SCREENSHOTS=<dir> to keep each page at 1366×900 and 390×844.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.models import NotificationDelivery, User
from pinmap.services import notify
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, sign_in_page
from ..support.factories import UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "notify e2e password 7"
OFFICE = "spp-chiangmai-1"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
EVIL = '<img src=x onerror="window.__pwned=1">'


@dataclass
class Setup:
    url: str


@pytest.fixture(scope="module")
def setup(live_server: LiveServer) -> Iterator[Setup]:
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        for who, role, office in (("admin", "admin", None), ("editor", "office_editor", OFFICE)):
            UserFactory.create(
                session=session,
                actor=Actor(None),
                email=f"nt-e2e-{who}@example.go.th",
                name=f"nt {who}",
                password=PASSWORD,
                role=role,
                office_code=office,
            )
        editor = session.scalars(select(User).filter_by(email="nt-e2e-editor@example.go.th")).one()
        for i, kind in enumerate(("report_returned", "question_answered")):
            notify.record(
                session,
                [editor.id],
                kind,
                f"e2e:{i}",
                "once",
                {"title": f"รายงานไตรมาส 2 {EVIL}", "comment": f"แนบภาพถ่ายกิจกรรม {EVIL}"},
                "/portal/",
            )
        session.flush()
        session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.channel == "email")
            .values(
                status="failed", attempts=8, last_error=f"[Errno 111] Connection refused {EVIL}"
            )
        )
    engine.dispose()
    yield Setup(live_server.url)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    yield context.new_page()
    context.close()


def _screenshots(page: Page, name: str) -> None:
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{folder}/notify-{name}-{label}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def _sign_in(page: Page, url: str, who: str) -> None:
    sign_in_page(page, url, f"nt-e2e-{who}@example.go.th", PASSWORD)


def test_the_inbox_shows_texts_as_text_and_marks_read(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "editor")
    badge = page.locator("header a[href='/portal/inbox'] .badge")
    assert badge.inner_text() == "2"
    page.goto(setup.url + "/portal/inbox")
    items = page.locator(".inbox-list li.unread")
    assert items.count() == 2
    assert EVIL in page.locator(".inbox-list").inner_text()  # shown, not run
    assert page.evaluate("window.__pwned") is None
    _screenshots(page, "inbox")
    with page.expect_navigation():
        items.first.locator("button").click()
    assert page.locator(".inbox-list li.unread").count() == 1
    assert page.locator("header a[href='/portal/inbox'] .badge").inner_text() == "1"
    page.goto(setup.url + "/portal/inbox/settings")
    page.locator("input[name=email][value=question_answered]").uncheck()
    page.locator("input[name=digest]").check()
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert not page.locator("input[name=email][value=question_answered]").is_checked()
    assert page.locator("input[name=digest]").is_checked()
    _screenshots(page, "settings")


def test_admins_see_undelivered_messages(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "admin")
    page.goto(setup.url + "/admin/outbox")
    table = page.locator("table.grid")
    assert f"Connection refused {EVIL}" in table.inner_text()
    assert page.evaluate("window.__pwned") is None
    _screenshots(page, "outbox")
    with page.expect_navigation():
        table.locator("tbody tr").first.locator("button").click()
    assert "ภายในหนึ่งนาที" in page.locator(".flashes").inner_text()
