"""Bulk work in Chromium: the director certifies and sends every complete quarterly report at
once (the incomplete one says why), and a reviewer returns a selection with one comment; each
report gets its own result on the page.

PINMAP_SCREENSHOTS=<folder> saves the pages at 1366×900 and 390×844.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.fiscal import fiscal_year_of, today_bangkok
from pinmap.models import Office, User
from pinmap.services import projects as svc
from pinmap.services.accounts import create_user
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, sign_in_page, submit

pytestmark = pytest.mark.browser

PASSWORD = "bulk e2e password 3"
OFFICE = "spp-kanchanaburi-3"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
COMPLETE = {
    "activity_progress": "อบรมครู 2 รุ่น",
    "budget_disbursed": "1000",
    "target_progress": "ร้อยละ 50",
    "master_plan": "แผนแม่บท",
    "nesdp13": "หมุดหมาย 12",
    "problems_suggestions": "ไม่มี",
}


@pytest.fixture(scope="module")
def quarter(live_server: LiveServer) -> tuple[int, int]:
    """Three projects of the office with this quarter saved: two complete, one not."""
    fy = fiscal_year_of(today_bangkok())
    q = next(q for q in (4, 3, 2, 1) if svc.quarter_bounds(fy, q)[0] <= today_bangkok())
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        for who, role, office in (
            ("director", "office_director", OFFICE),
            ("reviewer", "reviewer", None),
        ):
            create_user(
                session,
                Actor(None),
                email=f"bulk-{who}@example.go.th",
                name=f"ทดสอบ {who}",
                password=PASSWORD,
                role=role,
                office_code=office,
            )
        office = session.scalars(select(Office).filter_by(code=OFFICE)).one()
        director = session.scalars(
            select(User).filter_by(email="bulk-director@example.go.th")
        ).one()
        actor = Actor(director)
        for name, data in (
            ("โครงการอ่านคล่อง", COMPLETE),
            ("โครงการคณิตคิดเร็ว", COMPLETE),
            ("โครงการยังไม่ครบ", {"target_progress": "เริ่มแล้ว"}),
        ):
            project = svc.save_project(
                session, actor, office, fy, {"name": name, "budget_planned": "5000"}
            )
            svc.save_quarter(session, actor, project, q, data, 0)
    engine.dispose()
    return fy, q


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    page = context.new_page()
    page.on("pageerror", lambda e: pytest.fail(f"page error: {e}"))
    yield page
    context.close()


def _sign_in(page: Page, url: str, who: str) -> None:
    sign_in_page(page, url, f"bulk-{who}@example.go.th", PASSWORD)


def _shots(page: Page, name: str) -> None:
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{folder}/{name}-{label}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_certify_and_send_then_return_a_selection(
    live_server: LiveServer, quarter: tuple[int, int], page: Page
) -> None:
    url = live_server.url
    fy, q = quarter
    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    _sign_in(page, url, "director")
    page.goto(f"{url}/portal/offices/{OFFICE}/projects?fiscal_year={fy}")
    with page.expect_navigation():
        page.get_by_role("link", name=f"ไตรมาสที่ {q}", exact=True).last.click()
    rows = page.locator("table.grid tbody tr")
    assert rows.count() == 3
    ready = page.locator("tr.is-ready input[type=checkbox]")
    assert ready.count() == 2
    assert all(ready.nth(i).is_checked() for i in range(2))
    waiting = page.locator("tr.is-incomplete")
    assert waiting.locator("input[type=checkbox]").is_disabled()
    assert "ยังไม่ครบ" in waiting.inner_text() or "กรอก" in waiting.inner_text()
    _shots(page, "bulk-send")
    submit(page, page.locator("button[value=send]"))
    assert len(questions) == 1  # data-confirm asked first
    results = page.locator(".bulk-results li")
    assert results.count() == 2
    assert page.locator(".bulk-results li.is-done").count() == 2
    # The incomplete one is still listed, still with its reason.
    assert page.locator("tr.is-incomplete").count() == 1
    _shots(page, "bulk-send-results")

    _sign_in(page, url, "reviewer")
    page.goto(f"{url}/review/projects")
    mine = page.locator("table.grid tbody tr", has_text="กาญจนบุรี เขต 3")
    assert mine.count() == 2
    for i in range(2):
        mine.nth(i).locator("input[type=checkbox]").check()
    page.fill("textarea[name=comment]", "แนบภาพกิจกรรมเพิ่มเติม")
    _shots(page, "bulk-review-queue")
    submit(page, page.locator("button[value=return]"))
    assert page.locator(".bulk-results li.is-done").count() == 2
    assert page.locator(".bulk-results li.is-refused").count() == 0
    _shots(page, "bulk-review-results")

    _sign_in(page, url, "director")
    page.goto(f"{url}/portal/offices/{OFFICE}/send/quarterly_project/{fy}?period={q}")
    # Returned reports wait to be sent again, and say so.
    assert page.locator("tr.is-ready").count() == 2
    assert "ส่งคืน" in page.locator("tr.is-ready").first.inner_text()
