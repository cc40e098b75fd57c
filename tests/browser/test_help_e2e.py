"""The help centre in real Chromium: the news strip on the map page (the map still fills the
screen, the list opens over it, a hostile title stays text), news and library refusals that keep
what was typed (a macro-enabled Word form too), replacing a document keeps its earlier version, a
Word form listed and downloaded, office staff's way to ask a question, and the contact page.

Set PINMAP_SCREENSHOTS=<dir> to keep each page at 1366×900 and 390×844.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.fiscal import today_bangkok
from pinmap.services import contact as contact_svc
from pinmap.services import documents as doc_svc
from pinmap.services import news as news_svc
from pinmap.services.audit import Actor

from ..support.browser import WAIT_MS, LiveServer, sign_in_page, submit
from ..support.factories import UserFactory
from ..support.sample_files import office_bytes, pdf_bytes

pytestmark = pytest.mark.browser

PASSWORD = "help e2e password 5"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
EVIL = '<img src=x onerror="window.__pwned=1">'
JS_LINK = "javascript:window.__pwned=1"
OFFICE = "spp-krabi"


@dataclass
class Setup:
    url: str
    doc_id: int


@pytest.fixture(scope="module")
def setup(live_server: LiveServer) -> Iterator[Setup]:
    engine = make_engine(live_server.database_url)
    today = today_bangkok()
    with sessionmaker(bind=engine).begin() as session:
        UserFactory.create(
            session=session,
            actor=Actor(None),
            email="help-e2e-admin@example.go.th",
            name="help admin",
            password=PASSWORD,
            role="admin",
        )
        UserFactory.create(
            session=session,
            actor=Actor(None),
            email="help-e2e-editor@example.go.th",
            name="help editor",
            password=PASSWORD,
            role="office_editor",
            office_code=OFFICE,
        )
        for title, days, pinned in (
            ("เปิดระบบรายงานรอบ 6 เดือน ตั้งแต่ 1 เมษายน", 0, True),
            (f"คู่มือการรายงานฉบับใหม่ {EVIL}", 2, False),
            ("ประชุมชี้แจงออนไลน์ผ่านวีดิทัศน์ทุกภาค", 5, False),
            ("ข่าวเก่าที่ไม่อยู่ในแถบ", 9, False),
        ):
            news_svc.create(
                session,
                Actor(None),
                news_svc.NewsInput(
                    title, "รายละเอียด", "public", today - dt.timedelta(days=days), None, pinned
                ),
            )
        doc = doc_svc.create(
            session,
            Actor(None),
            doc_svc.DocumentInput(f"แบบฟอร์ม {EVIL}", f"คำอธิบาย\n{EVIL}", "forms", 2569, "public"),
            doc_svc.Content(url="https://example.go.th/form", note=f"หมายเหตุ {EVIL}"),
            doc_svc.Storage(Path("/nonexistent"), 1),
        )
        doc_id = doc.id
        contact_svc.save(
            session,
            Actor(None),
            contact_svc.ContactDetails(
                office_name=f"สตพ. {EVIL}",
                address=f"ถนน\n{EVIL}",
                hours=EVIL,
                groups=[{"region": f"ภาคใต้ {EVIL}", "url": "https://line.me/R/ti/g/x"}],
            ),
        )
    engine.dispose()
    yield Setup(live_server.url, doc_id)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    yield context.new_page()
    context.close()


def _screenshots(page: Page, name: str, full_page: bool = True) -> None:
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(0)
        page.screenshot(path=f"{folder}/help-{name}-{label}.png", full_page=full_page)
    page.set_viewport_size({"width": 1366, "height": 900})


def _sign_in(page: Page, url: str, who: str = "admin") -> None:
    sign_in_page(page, url, f"help-e2e-{who}@example.go.th", PASSWORD)


MAP_FILLS = """() => {
  const map = document.querySelector('.map-wrap').getBoundingClientRect();
  const strip = document.querySelector('.news-strip').getBoundingClientRect();
  return {bottom: map.bottom, top: map.top, strip_bottom: strip.bottom, height: innerHeight,
          scroll: document.scrollingElement.scrollHeight};
}"""


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_news_strip_leaves_the_map_the_screen(setup: Setup, page: Page, viewport: str) -> None:
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(setup.url + "/")
    strip = page.locator("details.news-strip")
    strip.wait_for(timeout=WAIT_MS)
    # Pinned first, then the newest; three at most; the old one waits on the news page.
    assert "เปิดระบบรายงานรอบ 6 เดือน" in strip.locator("summary").inner_text()
    assert strip.locator(".news-list li").count() == 3
    box = page.evaluate(MAP_FILLS)
    # The map starts below the strip and ends at the bottom of the window: nothing scrolls.
    assert box["top"] >= box["strip_bottom"] - 1 and abs(box["bottom"] - height) <= 1, box
    assert box["scroll"] <= height, box
    page.locator("details.news-strip > summary").click()
    assert strip.locator(".news-list").is_visible()
    assert EVIL in strip.inner_text() and page.evaluate("window.__pwned") is None
    # Opening it lays the list over the map: the map keeps its size.
    assert page.evaluate(MAP_FILLS)["top"] == box["top"]
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/help-map-news-open-{viewport}.png")
        page.locator("details.news-strip > summary").click()
        page.screenshot(path=f"{folder}/help-map-news-{viewport}.png")


def test_news_refusal_keeps_what_was_typed(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url)
    page.goto(setup.url + "/help/news/new")
    page.fill("input[name=title]", f"ประกาศเลื่อนกำหนดส่ง {EVIL}")
    page.fill("textarea[name=body]", "บรรทัดแรก\nบรรทัดที่สอง")
    page.fill("input[name=publish_from]", "10/12/2569")
    page.fill("input[name=publish_until]", "01/12/2569")
    page.locator("input[name=audience][value=signed_in]").check()
    assert submit(page, page.locator("main form button[type=submit]")) == 400
    assert "ก่อนวันแรกที่แสดง" in page.locator(".error").inner_text()
    assert page.input_value("input[name=title]") == f"ประกาศเลื่อนกำหนดส่ง {EVIL}"
    assert page.input_value("textarea[name=body]") == "บรรทัดแรก\nบรรทัดที่สอง"
    assert page.input_value("input[name=publish_from]") == "10/12/2569"
    assert page.input_value("input[name=publish_until]") == "01/12/2569"
    assert page.locator("input[name=audience][value=signed_in]").is_checked()
    _screenshots(page, "news-refused")
    page.fill("input[name=publish_until]", "31/12/2569")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("main h1").inner_text() == f"ประกาศเลื่อนกำหนดส่ง {EVIL}"
    assert page.locator(".news-text br").count() == 1
    assert page.evaluate("window.__pwned") is None


def test_library_refuses_bad_links_and_keeps_versions(
    setup: Setup, page: Page, tmp_path: Path
) -> None:
    _sign_in(page, setup.url)
    page.goto(setup.url + "/help/documents/new")
    page.fill("input[name=title]", "วีดิทัศน์ชี้แจงการรายงาน")
    page.select_option("select[name=category]", "videos")
    page.fill("input[name=url]", JS_LINK)
    page.fill("input[name=note]", "ฉบับแรก")
    assert submit(page, page.locator("main form button[type=submit]")) == 400
    assert "http://" in page.locator(".error").inner_text()
    assert page.input_value("input[name=url]") == JS_LINK
    assert page.input_value("input[name=title]") == "วีดิทัศน์ชี้แจงการรายงาน"
    assert page.locator("select[name=category]").input_value() == "videos"
    assert page.locator("a[href^='javascript']").count() == 0
    page.fill("input[name=url]", "https://www.youtube.com/watch?v=abc")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    doc_url = page.url
    # A file that is not what its name says is refused; the note stays.
    fake = tmp_path / "แบบฟอร์ม.pdf"
    fake.write_bytes(b"GIF89a not a pdf")
    page.goto(doc_url + "/replace")
    page.set_input_files("input[name=file]", str(fake))
    page.fill("input[name=note]", "แบบฟอร์มฉบับปรับปรุง")
    assert submit(page, page.locator("main form button[type=submit]")) == 400
    assert page.locator(".error").is_visible()
    assert page.input_value("input[name=note]") == "แบบฟอร์มฉบับปรับปรุง"
    real = tmp_path / "แบบฟอร์มรายงาน.pdf"
    real.write_bytes(pdf_bytes())
    page.set_input_files("input[name=file]", str(real))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    rows = page.locator("table.help-versions tbody tr")
    assert rows.count() == 2
    assert "แบบฟอร์มรายงาน.pdf" in rows.nth(0).inner_text()
    assert "youtube.com" in rows.nth(1).inner_text()
    _screenshots(page, "document")
    page.goto(setup.url + "/help/documents")
    _screenshots(page, "library")
    page.goto(setup.url + "/help/")
    _screenshots(page, "index")
    page.goto(setup.url + "/help/contact")
    assert "ยังไม่ได้รับการยืนยัน" in page.locator(".callout").inner_text()
    _screenshots(page, "contact")


def test_library_refuses_a_macro_form_and_keeps_what_was_typed(
    setup: Setup, page: Page, tmp_path: Path
) -> None:
    _sign_in(page, setup.url)
    page.goto(setup.url + "/help/documents/new")
    title = f"แบบรายงานผลการดำเนินงาน (Word) {EVIL}"
    page.fill("input[name=title]", title)
    page.fill("textarea[name=description]", "ดาวน์โหลด กรอก แล้วแนบกลับในระบบ")
    page.select_option("select[name=category]", "forms")
    page.fill("input[name=note]", "ฉบับปีงบประมาณ 2569")
    macro = tmp_path / "แบบรายงาน.docm"
    macro.write_bytes(office_bytes("docm"))
    page.set_input_files("input[name=file]", str(macro))
    assert submit(page, page.locator("main form button[type=submit]")) == 400
    assert "แมโคร" in page.locator(".error").inner_text()
    assert page.input_value("input[name=title]") == title
    assert page.input_value("textarea[name=description]") == "ดาวน์โหลด กรอก แล้วแนบกลับในระบบ"
    assert page.locator("select[name=category]").input_value() == "forms"
    assert page.input_value("input[name=note]") == "ฉบับปีงบประมาณ 2569"
    _screenshots(page, "document-refused", full_page=False)
    form = tmp_path / "แบบรายงานผลการดำเนินงาน.docx"
    form.write_bytes(office_bytes("docx"))
    page.set_input_files("input[name=file]", str(form))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("main h1").inner_text() == title
    page.goto(setup.url + "/help/documents")
    row = page.locator("table.help-docs tr", has_text="แบบรายงานผลการดำเนินงาน")
    assert "Word" in row.inner_text()
    with page.expect_download() as got:
        row.get_by_role("link", name="ดาวน์โหลด").click()
    assert got.value.suggested_filename == "แบบรายงานผลการดำเนินงาน.docx"
    assert page.evaluate("window.__pwned") is None
    _screenshots(page, "library-word")


def test_office_staff_can_ask_from_their_office_page(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "editor")
    page.goto(f"{setup.url}/portal/offices/{OFFICE}")
    ask = page.get_by_role("link", name="ถามคำถาม สพฐ.")
    assert ask.is_visible()
    _screenshots(page, "office-ask", full_page=False)
    with page.expect_navigation():
        ask.click()
    assert page.url.endswith("/help/questions")
    assert page.locator("form.question-form").is_visible()


def test_library_and_contact_texts_stay_text(setup: Setup, page: Page) -> None:
    for path, where in (
        ("/help/documents", "table.help-docs"),
        (f"/help/documents/{setup.doc_id}", "main"),
        ("/help/contact", "main"),
        ("/help/", "main"),
    ):
        page.goto(setup.url + path)
        if path != "/help/":
            assert EVIL in page.locator(where).inner_text(), path
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("a[href^='javascript'], [onerror]").count() == 0, path
