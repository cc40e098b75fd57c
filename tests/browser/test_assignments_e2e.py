"""Work inside an office in real Chromium, at 1366×900 and at 390×844: the director assigns an
item from the office's year page, a due date after OBEC's window closes is refused with every
typed value kept (a hostile note shown as text), the corrected one is saved; the assignee finds
it under "My items" with its dates and a working link; the director sees who is late.

Set PINMAP_SCREENSHOTS=<dir> to keep each page at both sizes.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.fiscal import fiscal_year_bounds, fiscal_year_of
from pinmap.models import FiscalYear, ItemAssignment, Office, ReportingWindow
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, sign_in_page
from ..support.factories import PolicyItemFactory, ReportingWindowFactory, UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "assign e2e password 3"
OFFICE = "spp-phuket"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
EVIL = '<img src=x onerror="window.__pwned=1">'


@dataclass
class Setup:
    url: str
    fy: int
    closes: dt.date
    items: dict[str, int]  # viewport (or "late") -> item id
    editor_name: str


def _be(day: dt.date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year + 543}"


@pytest.fixture(scope="module")
def setup(live_server: LiveServer) -> Iterator[Setup]:
    today = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)).date()
    fy = fiscal_year_of(today)
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        if session.get(FiscalYear, fy) is None:
            starts, ends = fiscal_year_bounds(fy)
            session.add(FiscalYear(year_be=fy, starts_on=starts, ends_on=ends))
            session.flush()
        window = session.scalars(
            select(ReportingWindow).filter_by(fiscal_year=fy, round_no=1)
        ).first()
        if window is None:
            window = ReportingWindowFactory(session=session, fiscal_year=fy, today=today)
        items = {
            key: PolicyItemFactory(
                session=session, fiscal_year=fy, no=str(80 + n), title_th=f"ประเด็นทดสอบ {key}"
            ).id
            for n, key in enumerate(("desktop", "phone", "late"))
        }
        people = {}
        for who, role, name in (
            ("director", "office_director", "นายผู้อำนวยการ ภูเก็ต"),
            ("editor", "office_editor", "นางสาวผู้รับผิดชอบ งานติดตาม"),
        ):
            people[who] = UserFactory.create(
                session=session,
                actor=Actor(None),
                email=f"as-e2e-{who}@example.go.th",
                name=name,
                password=PASSWORD,
                role=role,
                office_code=OFFICE,
            )
        # An item given a week ago, due two days ago, not reported: late.
        office = session.scalars(select(Office).filter_by(code=OFFICE)).one()
        session.add(
            ItemAssignment(
                office_id=office.id,
                item_id=items["late"],
                round_no=1,
                user_id=people["editor"].id,
                due_on=today - dt.timedelta(days=2),
                note="",
                assigned_by_id=people["director"].id,
            )
        )
        closes = window.closes_on
        editor_name = people["editor"].name
    engine.dispose()
    yield Setup(live_server.url, fy, closes, items, editor_name)


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
    size = page.viewport_size
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{folder}/assign-{name}-{label}.png", full_page=True)
    if size:
        page.set_viewport_size(size)


def _sign_in(page: Page, url: str, who: str) -> None:
    sign_in_page(page, url, f"as-e2e-{who}@example.go.th", PASSWORD)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_director_assigns_and_a_too_late_date_keeps_what_was_typed(
    setup: Setup, page: Page, viewport: str
) -> None:
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    _sign_in(page, setup.url, "director")
    page.goto(f"{setup.url}/portal/offices/{OFFICE}?fiscal_year={setup.fy}")
    with page.expect_navigation():
        page.locator("main a", has_text="มอบหมายผู้รับผิดชอบ").first.click()
    assert "/assignments" in page.url

    item = setup.items[viewport]
    row = page.locator(f"#assign-{item}")
    row.locator(f"select[name=user_{item}]").select_option(label=setup.editor_name)
    too_late = _be(setup.closes + dt.timedelta(days=1))
    row.locator(f"input[name=due_{item}]").fill(too_late)
    row.locator(f"input[name=note_{item}]").fill(f"ส่งก่อนประชุม {EVIL}")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    error = page.locator("#assign-error")
    assert "หลังวันปิดรับรายงาน" in error.inner_text()
    # OBEC's closing day, named in the Thai calendar ("10 ธ.ค. 2569").
    assert f"({setup.closes.day} " in error.inner_text()
    assert f"{setup.closes.year + 543})" in error.inner_text()
    row = page.locator(f"#assign-{item}")
    assert row.get_attribute("aria-invalid") == "true"
    assert row.locator(f"input[name=due_{item}]").input_value() == too_late
    assert row.locator(f"input[name=note_{item}]").input_value() == f"ส่งก่อนประชุม {EVIL}"
    chosen = row.locator(f"select[name=user_{item}] option:checked").inner_text()
    assert chosen == setup.editor_name
    assert page.evaluate("window.__pwned") is None
    # The row is readable and usable at this size: nothing hidden off the right edge.
    box = row.locator(f"input[name=due_{item}]").bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
    _screenshots(page, f"refused-{viewport}")

    row.locator(f"input[name=due_{item}]").fill(_be(setup.closes))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator(".flashes").is_visible()
    assert page.locator(f"#assign-{item} input[name=due_{item}]").input_value() == _be(setup.closes)

    page.goto(f"{setup.url}/portal/offices/{OFFICE}?fiscal_year={setup.fy}")
    assert setup.editor_name in page.locator("main").inner_text()
    _screenshots(page, f"year-{viewport}")


def test_my_items_and_who_is_late(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "editor")
    page.goto(setup.url + "/portal/")
    with page.expect_navigation():
        page.locator("header a", has_text="งานที่ฉันรับผิดชอบ").click()
    table = page.locator("table.my-items")
    text = table.inner_text()
    assert "ประเด็นทดสอบ late" in text
    assert "ล่าช้า 2 วัน" in text
    assert "ยังไม่รายงาน" in text
    _screenshots(page, "my-items")
    with page.expect_navigation():
        table.locator("tr", has_text="ประเด็นทดสอบ late").locator("a").click()
    assert f"/portal/offices/{OFFICE}/entries/{setup.fy}/1/" in page.url
    assert page.locator("main form").count() > 0

    # The editor cannot assign; the director sees who is late.
    assert page.goto(f"{setup.url}/portal/offices/{OFFICE}/assignments").status == 403  # type: ignore[union-attr]
    page.context.clear_cookies()
    _sign_in(page, setup.url, "director")
    page.goto(f"{setup.url}/portal/offices/{OFFICE}/assignments/late?fiscal_year={setup.fy}")
    main = page.locator("main").inner_text()
    assert setup.editor_name in main and "ประเด็นทดสอบ late" in main
    late_row = page.locator("table.late-items tr", has_text="ประเด็นทดสอบ late")
    assert late_row.locator("td").nth(3).inner_text().strip() == "2"
    _screenshots(page, "late")
