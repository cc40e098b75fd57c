"""Performance levels in Chromium: the admin scale form keeps what was typed when it is refused
and saves once fixed; the office page's levels section; the public shares page (chart, table,
exact 98.77 %) — at desktop and phone sizes (screenshots when PINMAP_SCREENSHOTS is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.models import Office, ResultRecord
from pinmap.services import levels
from pinmap.services.accounts import create_user
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, Watched, sign_in_page, submit

pytestmark = pytest.mark.browser

EMAIL, PASSWORD = "levels-admin@example.go.th", "levels password 123"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
INDICATOR = "ร้อยละของนักเรียนที่อ่านออกเขียนได้"
SCALE = [("ดีเยี่ยม", "Excellent", "90"), ("ดี", "Good", "75"), ("พอใช้", "Fair", "50")]
SCALE += [("ปรับปรุง", "Needs improvement", "0")]
# Level names are people's text: shown as text everywhere, never run.
HOSTILE = ('<img src=x onerror="alert(1)">ผ่าน', "${alert(2)}`Pass", "50")
HOSTILE_LOW = ('"><svg onload=alert(3)>ไม่ผ่าน', "Fail", "0")


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> str:
    """An admin; a four-level policy scale in 2565 and 2566; every office's result in both
    years, 242 of 245 at ดี or above in 2566. The office whose page is shown is returned."""
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        admin = create_user(
            session, Actor(None), email=EMAIL, name="ผู้ดูแล", password=PASSWORD, role="admin"
        )
        for year in (2565, 2566):
            levels.save_scale(
                session,
                Actor(admin),
                levels.ScaleInput(
                    year,
                    "policy",
                    "",
                    "0",
                    "100",
                    [levels.LevelInput(th, en, b, n) for n, (th, en, b) in enumerate(SCALE, 1)],
                    "ตัวอย่างสำหรับการทดสอบ",
                ),
            )
        offices = session.scalars(select(Office).order_by(Office.code)).all()
        for n, office in enumerate(offices):
            for year, value in ((2565, 70.0 + n % 25), (2566, 40.0 if n < 3 else 76.0 + n % 20)):
                session.add(
                    ResultRecord(
                        office_id=office.id,
                        fiscal_year=year,
                        category="policy",
                        indicator=INDICATOR,
                        value=value,
                        unit="%",
                    )
                )
        levels.save_scale(
            session,
            Actor(admin),
            levels.ScaleInput(
                2566,
                "drugs",
                "",
                "0",
                "100",
                [levels.LevelInput(*lv, n) for n, lv in enumerate((HOSTILE, HOSTILE_LOW), 1)],
            ),
        )
        for n, office in enumerate(offices):
            session.add(
                ResultRecord(
                    office_id=office.id,
                    fiscal_year=2566,
                    category="drugs",
                    indicator="<b>ยาเสพติด</b>",
                    value=float(n % 100),
                )
            )
        shown = offices[10].code
    engine.dispose()
    return shown


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    yield context.new_page()
    context.close()


def _sign_in(page: Page, base: str) -> None:
    sign_in_page(page, base, EMAIL, PASSWORD)


def _shots(page: Page, name: str, selector: str | None = None) -> None:
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        if selector:
            page.locator(selector).evaluate("e => e.scrollIntoView({block: 'start'})")
        page.screenshot(path=f"{folder}/{name}-{label}.png", full_page=False)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_admin_form_keeps_typed_values_when_refused(
    live_server: LiveServer, page: Page, world: str
) -> None:
    _sign_in(page, live_server.url)
    page.goto(live_server.url + "/admin/levels?fiscal_year=2567")
    expect(page.locator("h1")).to_contain_text("2567")
    form = page.locator("#level-scale-form")
    form.locator("select[name=category]").select_option("action_plan")
    form.locator("input[name=indicator]").fill("<b>ตัวชี้วัด</b> 1")
    typed = {
        "name_th_1": "ดีเยี่ยม",
        "name_en_1": "Excellent",
        "min_value_1": "80",
        "name_th_2": "ดี",
        "name_en_2": "Good",
        "min_value_2": "85",  # not below the level above: refused
        "name_th_3": "ปรับปรุง",
        "name_en_3": "Needs improvement",
        "min_value_3": "0",
    }
    for name, value in typed.items():
        form.locator(f"input[name={name}]").fill(value)
    submit(page, form.locator("button[type=submit]"))
    problems = page.locator("#level-problems")
    expect(problems).to_be_visible()
    expect(problems).to_contain_text("ระดับที่ 2")
    expect(problems).to_contain_text("ตั้งแต่ (รวมค่านี้)")
    form = page.locator("#level-scale-form")
    for name, value in typed.items():
        expect(form.locator(f"input[name={name}]")).to_have_value(value)
    expect(form.locator("input[name=indicator]")).to_have_value("<b>ตัวชี้วัด</b> 1")
    expect(form.locator("select[name=category]")).to_have_value("action_plan")
    expect(form.locator("input[name=min_value_2]")).to_have_attribute("aria-invalid", "true")
    _shots(page, "levels-admin-refused", "#level-problems")
    form.locator("input[name=min_value_2]").fill("60")
    submit(page, form.locator("button[type=submit]"))
    expect(page.locator("#level-problems")).to_have_count(0)
    scale = page.locator("article.level-scale").first
    expect(scale).to_contain_text("<b>ตัวชี้วัด</b> 1")  # shown as text, not markup
    expect(scale.locator("b")).to_have_count(0)
    _shots(page, "levels-admin")
    _shots(page, "levels-admin-form", "#scale-form")


def test_office_section_and_shares_page(live_server: LiveServer, page: Page, world: str) -> None:
    page.goto(f"{live_server.url}/offices/{world}")
    section = page.locator("#levels")
    expect(section).to_be_visible()
    expect(section.locator("th")).to_contain_text(["2565", "2566"])
    expect(section.locator(".level-badge").first).to_be_visible()
    _shots(page, "levels-office", "#levels")
    page.goto(
        f"{live_server.url}/results/levels?fiscal_year=2566&category=policy"
        f"&indicator={INDICATOR}&level=2"
    )
    expect(page.locator("#levels-headline")).to_contain_text("242")
    expect(page.locator("#levels-headline")).to_contain_text("98.77")
    national = page.locator("#levels-table tbody tr").first
    expect(national).to_contain_text("98.77 %")
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.locator("#levels-years tbody tr")).to_have_count(2)
    _shots(page, "levels-shares")
    _shots(page, "levels-shares-table", "#levels-table")
    # The filters live in the URL: choosing another level reloads with it.
    page.locator("select[name=level]").select_option("1")
    page.wait_for_url("**level=1**")
    expect(page.locator("#levels-headline")).to_contain_text("ดีเยี่ยม")


def test_level_names_are_text_on_every_page(
    live_server: LiveServer, watched: Watched, world: str
) -> None:
    page = watched.page
    for url, scope, name in (
        (f"/offices/{world}", "#levels", HOSTILE_LOW[0]),  # this office's result is below 50
        (
            "/results/levels?fiscal_year=2566&category=drugs&indicator=<b>ยาเสพติด</b>&level=1",
            "main",
            HOSTILE[0],
        ),
    ):
        page.goto(live_server.url + url)
        area = page.locator(scope)
        assert name in area.inner_text(), url
        assert "<b>ยาเสพติด</b>" in area.inner_text(), url
        assert area.locator("img[src='x'], svg[onload], b").count() == 0, url
    expect(page.locator("select[name=level] option").first).to_have_text(HOSTILE[0])
    # No element was injected, so no handler can fire later: nothing to wait for.
    assert watched.dialogs == []
    assert watched.errors == []
