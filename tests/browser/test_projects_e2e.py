"""Quarterly project reports in Chromium: enter, refuse keeping the text, send, review, publish.

PINMAP_SCREENSHOTS=<folder> saves each page at 1366×900 and 390×844.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from pinmap.fiscal import fiscal_year_of
from pinmap.services import projects as svc
from pinmap.services.audit import utcnow

from ..support.browser import LiveServer, add_people, screenshots, sign_in_page, submit, thai_page

pytestmark = pytest.mark.browser

OFFICE = "spp-krabi"


def _quarter() -> tuple[int, int]:
    day = (utcnow() + dt.timedelta(hours=7)).date()
    fy = fiscal_year_of(day)
    return fy, next(q for q in (4, 3, 2, 1) if svc.quarter_bounds(fy, q)[0] <= day)


@pytest.fixture(scope="module")
def people(live_server: LiveServer) -> None:
    add_people(
        live_server.database_url,
        "proj",
        (
            ("editor", "office_editor", OFFICE),
            ("director", "office_director", OFFICE),
            ("reviewer", "reviewer", None),
            ("admin", "admin", None),
        ),
    )


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from thai_page(browser)


def _sign_in(page: Page, url: str, who: str) -> None:
    sign_in_page(page, url, f"proj-{who}@example.go.th")


_shots = screenshots


def test_a_quarter_from_the_portal_to_the_office_page(
    live_server: LiveServer, people: None, page: Page
) -> None:
    url = live_server.url
    fy, q = _quarter()
    _sign_in(page, url, "editor")
    page.goto(f"{url}/portal/offices/{OFFICE}/projects")
    page.fill("input[name=name]", "โครงการยกระดับคุณภาพการอ่าน")
    page.fill("input[name=budget_planned]", "250000")
    submit(page, page.get_by_role("button", name="เพิ่มโครงการ"))
    page.goto(page.url + f"/quarters/{q}")
    points = {
        "target_progress": "นักเรียนอ่านคล่องร้อยละ 70",
        "activity_progress": "อบรมครูภาษาไทย 2 รุ่น",
        "master_plan": "แผนแม่บทการพัฒนาการเรียนรู้",
        "nesdp13": "หมุดหมายที่ 12",
        "problems_suggestions": "ควรเพิ่มสื่อการอ่าน",
        "budget_disbursement": "รอเบิกค่าวัสดุ",
    }
    for name, text in points.items():
        page.fill(f"[name={name}]", text)
    page.fill("input[name=budget_planned_to_date]", "100000")
    page.fill("input[name=budget_disbursed]", "มาก")  # not an amount: refused, text kept
    submit(page, page.get_by_role("button", name="บันทึกฉบับร่าง"))
    assert page.locator("p.error").is_visible()
    for name, text in points.items():
        assert page.locator(f"[name={name}]").input_value() == text
    _shots(page, "projects-quarter-refused")
    page.fill("input[name=budget_disbursed]", "80000")
    submit(page, page.get_by_role("button", name="บันทึกฉบับร่าง"))
    assert page.locator("p.error").count() == 0
    _sign_in(page, url, "director")
    page.goto(f"{url}/portal/offices/{OFFICE}/projects?fiscal_year={fy}")
    _shots(page, "projects-board")
    with page.expect_navigation():
        page.get_by_role("link", name="โครงการยกระดับคุณภาพการอ่าน").click()
    page.goto(page.url + f"/quarters/{q}")
    submit(page, page.get_by_role("button", name="รับรองและส่ง"))
    assert page.locator("p.error").count() == 0, page.locator("p.error").inner_text()
    _shots(page, "projects-quarter-sent")
    for who in ("reviewer", "admin"):
        _sign_in(page, url, who)
        page.goto(f"{url}/review/projects")
        if who == "reviewer":
            _shots(page, "projects-review-queue")
        # Other tests' offices may have reports waiting too: take this office's.
        with page.expect_navigation():
            page.locator("table.grid a", has_text="กระบี่").first.click()
        if who == "admin":
            _shots(page, "projects-review-report")
        submit(page, page.get_by_role("button", name="อนุมัติ", exact=True))
        assert page.locator("p.error").count() == 0
    page.context.clear_cookies()
    page.goto(f"{url}/offices/{OFFICE}")
    section = page.locator("section.projects")
    for text in points.values():
        assert text in section.inner_text()
    section.scroll_into_view_if_needed()
    _shots(page, "projects-office-page")
