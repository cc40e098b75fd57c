"""Browser-test helpers: waiting on the page for conditions (not for fixed times a busy machine
can outrun), and the people, pages and screenshots of the end-to-end journeys."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.services.accounts import create_user
from pinmap.services.audit import Actor


@dataclass
class LiveServer:
    """The app served on its own database for the browser tests (tests/browser/conftest.py)."""

    url: str
    database_url: str
    boundaries: bool


@dataclass
class Watched:
    """A page with what it requested and the errors and dialogues it showed."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


# Milliseconds. Every wait returns as soon as its condition holds; the limit only has to outlast
# a machine busy with other work (Chromium then needs seconds for what takes milliseconds idle).
WAIT_MS = 30_000


def settled(page: Page, expression: str, timeout_ms: float = WAIT_MS) -> Any:
    """The value of `expression` once two reads 200 ms apart agree (an animation has ended)."""
    deadline = time.monotonic() + timeout_ms / 1000
    last = page.evaluate(expression)
    while True:
        page.wait_for_timeout(200)
        now = page.evaluate(expression)
        if now == last:
            return now
        assert time.monotonic() < deadline, f"{expression} never settled"
        last = now


def stream_open(page: Page, timeout_ms: float = WAIT_MS) -> None:
    """Until the page's live event stream is open."""
    page.wait_for_function(
        "() => window.PinMap && PinMap.source && PinMap.source.readyState === EventSource.OPEN",
        timeout=timeout_ms,
    )


# --- people and pages of the end-to-end journeys (operating plans, quarterly projects) ---------

E2E_PASSWORD = "e2e password 123"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}


def add_people(
    database_url: str, prefix: str, people: Iterable[tuple[str, str, str | None]]
) -> None:
    """Commit a user `<prefix>-<who>@example.go.th` (password E2E_PASSWORD) per (who, role,
    office) on the live server's database."""
    engine = make_engine(database_url)
    with sessionmaker(bind=engine).begin() as session:
        for who, role, office in people:
            create_user(
                session,
                Actor(None),
                email=f"{prefix}-{who}@example.go.th",
                name=f"ทดสอบ {who}",
                password=E2E_PASSWORD,
                role=role,
                office_code=office,
            )
    engine.dispose()


def thai_page(browser: Browser) -> Iterator[Page]:
    """A page of its own context at 1366×900 in Thai (a fixture's body: `yield from`)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    yield context.new_page()
    context.close()


def sign_in_page(page: Page, url: str, email: str, password: str = E2E_PASSWORD) -> None:
    """Sign in through the sign-in page of the server at `url`, from a clean cookie jar; the
    page is left on the home the server sends this person to."""
    page.context.clear_cookies()
    page.goto(url + "/portal/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    submit(page, page.locator("main form button[type=submit]"))
    assert "/portal/login" not in page.url, page.content()[:500]


def screenshots(page: Page, name: str) -> None:
    """With PINMAP_SCREENSHOTS=<folder>, save the page at each of VIEWPORTS there."""
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{folder}/{name}-{label}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def snap(page: Page, filename: str, full_page: bool = False) -> None:
    """With PINMAP_SCREENSHOTS=<folder>, save the page as it is now (its current viewport) there
    as `filename`; without it, nothing: pictures are for people to look at, and cost CPU."""
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{filename}", full_page=full_page)


def submit(page: Page, button: Locator) -> int:
    """Press `button` to send its form and wait until the page that answers has loaded; the
    HTTP status of the form's own request (a redirect's 302/303, not the page it leads to).
    Waiting for that response alone is not enough: it arrives before the browser has replaced
    the old page, whose fields then still answer."""
    with page.expect_navigation() as navigation:
        button.click()
    loaded = navigation.value
    assert loaded is not None, "the form did not load a page"
    sent = loaded.request
    while sent.redirected_from is not None:
        sent = sent.redirected_from
    answer = sent.response()
    assert answer is not None
    return answer.status
