"""The best-practice form in real Chromium: every refusal keeps what was typed (a field too
long, a disguised upload, a stale version, a practice locked since the page opened, an
expired form the server cannot redraw: the form keeper puts the text back), and a file added
or removed saves the typed text with it.

Set PINMAP_SCREENSHOTS=<dir> to keep each refused page at 1366×900 and 390×844.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Locator, Page
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.models import Office, PolicyItem, User
from pinmap.services import best_practices as svc
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, sign_in_page, submit
from ..support.factories import UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "bp refusal e2e password 7"
EDITOR = "bp-refusal-editor@example.go.th"
DIRECTOR = "bp-refusal-director@example.go.th"
TYPED = "ครูแกนนำ 45 คน ร่วมออกแบบกิจกรรม"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}


@dataclass
class Setup:
    url: str
    database_url: str
    code: str
    item_id: int


@pytest.fixture(scope="module")
def setup(live_server: LiveServer) -> Iterator[Setup]:
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        code = session.scalars(select(Office.code).order_by(Office.code.desc()).limit(1)).one()
        for email, role in ((EDITOR, "office_editor"), (DIRECTOR, "office_director")):
            UserFactory.create(
                session=session,
                actor=Actor(None),
                email=email,
                name=role,
                password=PASSWORD,
                role=role,
                office_code=code,
            )
        item = session.scalars(select(PolicyItem).filter_by(fiscal_year=2567)).first()
        assert item is not None
        found = Setup(live_server.url, live_server.database_url, code, item.id)
    engine.dispose()
    yield found


def _practice(setup: Setup, title: str) -> int:
    """A draft best practice of the office, written through the service (as the page would)."""
    engine = make_engine(setup.database_url)
    try:
        with sessionmaker(bind=engine).begin() as session:
            editor = session.scalars(select(User).filter_by(email=EDITOR)).one()
            office = session.scalars(select(Office).filter_by(code=setup.code)).one()
            data = {
                "title": title,
                "fiscal_year": "2567",
                "item_ids": [setup.item_id],
                **{k: f"{k} เดิม" for k in svc.RICH_FIELDS},
            }
            return svc.save(session, Actor(editor), office, None, data, None).id
    finally:
        engine.dispose()


def _behind_the_page(setup: Setup, bp_id: int, what: str) -> None:
    """Someone else changes the practice after the page opened: saves it, or sends it."""
    engine = make_engine(setup.database_url)
    try:
        with sessionmaker(bind=engine).begin() as session:
            who = EDITOR if what == "save" else DIRECTOR
            user = session.scalars(select(User).filter_by(email=who)).one()
            office = session.scalars(select(Office).filter_by(code=setup.code)).one()
            found = svc.bp_or_404(session, bp_id)
            if what == "save":
                data = {**svc.bp_dict(session, found), "item_ids": found.items}
                data["fiscal_year"] = str(found.fiscal_year)
                data["owner"] = "คนอื่นแก้"
                svc.save(session, Actor(user), office, found, data, found.version)
            else:
                svc.submit(session, Actor(user), found, found.version)
    finally:
        engine.dispose()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    yield context.new_page()
    context.close()


def _sign_in(page: Page, url: str, email: str) -> None:
    sign_in_page(page, url, email, PASSWORD)


def _screenshots(page: Page, name: str) -> None:
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.locator("p.error, h1").first.scroll_into_view_if_needed()
        page.screenshot(path=f"{folder}/{name}-{label}.png", full_page=False)
    page.set_viewport_size({"width": 1366, "height": 900})


def _open(page: Page, setup: Setup, bp_id: int) -> Locator:
    page.goto(f"{setup.url}/portal/offices/{setup.code}/best-practices/{bp_id}")
    return page.locator("form.bp-form")


def _type(form: Locator) -> None:
    form.locator("[name=owner]").fill("กลุ่มนิเทศ")
    form.locator("textarea[name=process]").fill(TYPED)
    form.locator("textarea[name=results]").fill("ผลที่พิมพ์ไว้")


def _kept(page: Page) -> None:
    form = page.locator("form.bp-form")
    assert form.locator("[name=owner]").input_value() == "กลุ่มนิเทศ"
    assert form.locator("textarea[name=process]").input_value() == TYPED
    assert form.locator("textarea[name=results]").input_value() == "ผลที่พิมพ์ไว้"


def _press(page: Page, form: Locator, button: str, status: int) -> None:
    assert submit(page, form.locator(f"button[value={button}]")) == status


def test_a_field_too_long_keeps_the_text(setup: Setup, page: Page) -> None:
    bp_id = _practice(setup, "ยาวเกิน")
    _sign_in(page, setup.url, EDITOR)
    form = _open(page, setup, bp_id)
    _type(form)
    form.locator("textarea[name=objectives]").fill("ก" * 10_001)  # the limit is 10,000
    _press(page, form, "save", 400)
    assert "10000" in page.locator("p.error").inner_text()
    _kept(page)
    assert page.locator("textarea[name=objectives]").input_value() == "ก" * 10_001
    _screenshots(page, "bp-too-long")


def test_a_disguised_upload_keeps_the_text(setup: Setup, page: Page) -> None:
    bp_id = _practice(setup, "ไฟล์ปลอม")
    _sign_in(page, setup.url, EDITOR)
    form = _open(page, setup, bp_id)
    _type(form)
    form.locator("input[name=file]").set_input_files(
        {"name": "report.pdf", "mimeType": "application/pdf", "buffer": b"MZ\x90\x00 no pdf"}
    )
    _press(page, form, "attach", 400)
    assert "report.pdf" in page.locator("p.error").inner_text()
    _kept(page)
    _screenshots(page, "bp-bad-upload")


def test_a_stale_version_keeps_the_text(setup: Setup, page: Page) -> None:
    bp_id = _practice(setup, "ฉบับเก่า")
    _sign_in(page, setup.url, EDITOR)
    form = _open(page, setup, bp_id)
    _type(form)
    _behind_the_page(setup, bp_id, "save")
    _press(page, form, "save", 409)
    _kept(page)
    _screenshots(page, "bp-stale")


def test_a_practice_sent_since_the_page_opened_keeps_the_text(setup: Setup, page: Page) -> None:
    bp_id = _practice(setup, "ส่งแล้ว")
    _sign_in(page, setup.url, EDITOR)
    form = _open(page, setup, bp_id)
    _type(form)
    _behind_the_page(setup, bp_id, "submit")
    _press(page, form, "save", 409)
    _kept(page)


def test_adding_and_removing_a_file_saves_the_typed_text(setup: Setup, page: Page) -> None:
    bp_id = _practice(setup, "แนบไฟล์")
    _sign_in(page, setup.url, EDITOR)
    form = _open(page, setup, bp_id)
    _type(form)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    form.locator("input[name=file]").set_input_files(
        {"name": "plan.png", "mimeType": "image/png", "buffer": buf.getvalue()}
    )
    _press(page, form, "attach", 302)
    _kept(page)
    assert page.locator("ul.evidence a").count() == 1
    form = page.locator("form.bp-form")
    form.locator("textarea[name=process]").fill(TYPED + " (แก้)")
    page.once("dialog", lambda d: d.accept())
    _press(page, form, "detach", 302)
    assert page.locator("textarea[name=process]").input_value() == TYPED + " (แก้)"
    assert page.locator("ul.evidence a").count() == 0


def test_an_expired_form_gets_its_text_back(setup: Setup, page: Page) -> None:
    bp_id = _practice(setup, "หมดอายุ")
    _sign_in(page, setup.url, EDITOR)
    form = _open(page, setup, bp_id)
    _type(form)
    form.locator("input[name=csrf_token]").evaluate("el => { el.value = 'expired'; }")
    _press(page, form, "save", 400)
    assert page.locator("form.bp-form").count() == 0  # the server could not redraw the form
    _open(page, setup, bp_id)
    page.wait_for_selector("form.bp-form[data-keep-restored]")
    _kept(page)
