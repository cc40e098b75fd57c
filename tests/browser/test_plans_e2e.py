"""Operating plans in Chromium: enter, refuse keeping the text, certify, approve, revise while
the approved plan stays public, un-approve from OBEC.

PINMAP_SCREENSHOTS=<folder> saves each page at 1366×900 and 390×844.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from ..support.browser import LiveServer, add_people, screenshots, sign_in_page, submit, thai_page

pytestmark = pytest.mark.browser

OFFICE = "spp-krabi"
TEXTS = {
    "problem": "ผลสัมฤทธิ์คณิตศาสตร์ต่ำกว่าค่าเฉลี่ยประเทศ",
    "approach": "นิเทศแบบคู่พัฒนาทุกโรงเรียน",
    "targets": "ร้อยละ 80 ของโรงเรียนผ่านเกณฑ์",
    "timeline": "ตุลาคม – กันยายน",
}


@pytest.fixture(scope="module")
def people(live_server: LiveServer) -> None:
    add_people(
        live_server.database_url,
        "plan",
        (
            ("editor", "office_editor", OFFICE),
            ("director", "office_director", OFFICE),
            ("reviewer", "reviewer", None),
        ),
    )


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from thai_page(browser)


def _sign_in(page: Page, url: str, who: str) -> None:
    sign_in_page(page, url, f"plan-{who}@example.go.th")


_shots = screenshots


def _press(page: Page, value: str) -> None:
    submit(page, page.locator(f"button[value={value}]"))


def _no_error(page: Page) -> None:
    assert page.locator("p.error").count() == 0, page.locator("p.error").inner_text()


def test_a_plan_from_the_portal_to_the_office_page_and_back(
    live_server: LiveServer, people: None, page: Page
) -> None:
    url = live_server.url
    _sign_in(page, url, "editor")
    page.goto(f"{url}/portal/offices/{OFFICE}/plan")
    plan_url = page.url
    for name, text in TEXTS.items():
        page.fill(f"[name={name}]", text)
    page.fill("[name=problem]", "ก" * 10_001)  # over the limit: refused, the rest kept
    _press(page, "save")
    assert page.locator("p.error").is_visible()
    for name in ("approach", "targets", "timeline"):
        assert page.locator(f"[name={name}]").input_value() == TEXTS[name]
    _shots(page, "plan-refused")
    page.fill("[name=problem]", TEXTS["problem"])
    _press(page, "save")
    _no_error(page)
    _sign_in(page, url, "director")
    page.goto(plan_url)
    _press(page, "submit")
    _no_error(page)
    _shots(page, "plan-sent")
    _sign_in(page, url, "reviewer")
    page.goto(f"{url}/review/profiles")
    # Other tests' offices may have plans waiting too: take this office's.
    with page.expect_navigation():
        page.locator("a[href*='/review/plans/']", has_text="กระบี่").first.click()
    desk = page.url
    _shots(page, "plan-review")
    _press(page, "approve")
    _no_error(page)
    page.context.clear_cookies()
    page.goto(f"{url}/offices/{OFFICE}")
    assert TEXTS["approach"] in page.locator("section.plan").inner_text()
    # A new revision: the approved plan stays on the office page until it is approved.
    _sign_in(page, url, "editor")
    page.goto(plan_url)
    page.fill("[name=approach]", "ชุมชนแห่งการเรียนรู้ทางวิชาชีพ")
    _press(page, "save")
    _no_error(page)
    _shots(page, "plan-revised")
    page.context.clear_cookies()
    page.goto(f"{url}/offices/{OFFICE}")
    assert TEXTS["approach"] in page.locator("section.plan").inner_text()
    page.locator("section.plan").scroll_into_view_if_needed()
    _shots(page, "plan-office-page")
    # OBEC un-approves the public revision; a refusal (no comment) keeps nothing half-done.
    _sign_in(page, url, "reviewer")
    page.goto(desk)
    assert page.locator("button[value=unapprove]").count() == 0  # revision 2 is a draft
    _sign_in(page, url, "director")
    page.goto(plan_url)
    _press(page, "submit")
    _no_error(page)
    _sign_in(page, url, "reviewer")
    page.goto(desk)
    page.fill("[name=comment]", "ระบุตัวชี้วัดรายไตรมาส")
    submit(page, page.locator("button[value=approve]"))
    page.goto(desk)
    page.fill("[name=comment]", "ปีงบประมาณไม่ตรง")
    page.once("dialog", lambda dialog: dialog.accept())  # un-approving asks first
    _press(page, "unapprove")
    _no_error(page)
    page.goto(desk)
    assert "ปีงบประมาณไม่ตรง" in page.locator("table.grid").inner_text()
    _shots(page, "plan-unapproved")
    page.context.clear_cookies()
    page.goto(f"{url}/offices/{OFFICE}")
    # Revision 2 went back to level 1; the public sees revision 1 again.
    assert TEXTS["approach"] in page.locator("section.plan").inner_text()
