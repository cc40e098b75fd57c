"""The progress form in real Chromium keeps what was typed on every refusal the server can redraw:
a disguised or oversized upload, a link that is not one, a stale version (409), a window that
closed while the page was open. The evidence buttons are in the report's form, so adding
evidence saves the typed text with it.

Set PINMAP_SCREENSHOTS=<dir> to keep each refused page at 1366×900 and 390×844.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import Browser, Locator, Page
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.models import PolicyItem
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, sign_in_page, submit
from ..support.factories import UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "progress refusal e2e password 3"
EMAIL = "progress-refusal-director@example.go.th"
OFFICE = "spm-bangkok-1"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
TEXTS = {
    "what": "อบรมครูแกนนำด้านการอ่าน 60 คน",
    "where": "หอประชุมเขต",
    "how": "ลงมือปฏิบัติและติดตามในห้องเรียน",
    "result": "ครูร้อยละ 90 นำไปใช้",
}


@dataclass
class Setup:
    url: str
    database_url: str
    items: list[tuple[int, str, str]]  # id, set code, number: one item per test


@pytest.fixture(scope="module")
def setup(live_server: LiveServer) -> Iterator[Setup]:
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        UserFactory.create(
            session=session,
            actor=Actor(None),
            email=EMAIL,
            name="director",
            password=PASSWORD,
            role="office_director",
            office_code=OFFICE,
        )
        items = session.scalars(
            select(PolicyItem).filter_by(fiscal_year=2567, kind="policy").order_by(PolicyItem.no)
        ).all()[:6]
        assert len(items) == 6
        found = Setup(
            live_server.url, live_server.database_url, [(i.id, i.kind, i.no) for i in items]
        )
    engine.dispose()
    yield found


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    yield page
    context.close()


def _sql(setup: Setup, statement: str, **params: object) -> None:
    engine = make_engine(setup.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement), params)
    finally:
        engine.dispose()


def _open(page: Page, setup: Setup, n: int, round_no: int = 1) -> Locator:
    sign_in_page(page, setup.url, EMAIL, PASSWORD)
    _id, kind, no = setup.items[n]
    page.goto(f"{setup.url}/portal/offices/{OFFICE}/entries/2567/{round_no}/{kind}/{no}")
    return page.locator("form.entry-form")


def _type(form: Locator, tag: str) -> None:
    form.locator("select[name=status]").select_option("on_plan")
    for name, text in TEXTS.items():
        form.locator(f"textarea[name={name}]").fill(f"{text} {tag}")


def _press(page: Page, button: Locator, status: int) -> None:
    answer = submit(page, button)
    assert answer == status, (answer, page.url)


def _assert_kept(page: Page, tag: str) -> None:
    form = page.locator("form.entry-form")
    for name, text in TEXTS.items():
        assert form.locator(f"textarea[name={name}]").input_value() == f"{text} {tag}", name
    assert form.locator("select[name=status]").input_value() == "on_plan"


def _screenshots(page: Page, name: str) -> None:
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.locator("p.error").first.scroll_into_view_if_needed()
        page.screenshot(path=f"{folder}/{name}-{label}.png")
    page.set_viewport_size({"width": 1366, "height": 900})


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "green").save(buf, "PNG")
    return buf.getvalue()


def test_a_disguised_upload_keeps_the_unsaved_text(setup: Setup, page: Page) -> None:
    form = _open(page, setup, 0)
    _type(form, "disguised")
    form.locator("input[name=file]").set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": b"MZ\x90\x00 a program"}
    )
    form.locator("input[name=file_title]").fill("ภาพกิจกรรม")
    _press(page, form.locator("button[value=upload]"), 400)
    assert page.locator("p.error").is_visible()
    _assert_kept(page, "disguised")
    assert page.locator("form.entry-form input[name=file_title]").input_value() == "ภาพกิจกรรม"
    _screenshots(page, "progress-upload-refused")


def test_an_oversized_upload_keeps_the_unsaved_text(setup: Setup, page: Page) -> None:
    form = _open(page, setup, 1)
    _type(form, "oversized")
    # Past the file limit (10 MiB) but within the request's: the page is drawn again.
    big = _png() + b"\0" * (10 * 1024 * 1024)
    form.locator("input[name=file]").set_input_files(
        {"name": "big.png", "mimeType": "image/png", "buffer": big}
    )
    _press(page, form.locator("button[value=upload]"), 400)
    _assert_kept(page, "oversized")


def test_a_refused_link_keeps_the_unsaved_text_and_a_good_one_saves_it(
    setup: Setup, page: Page
) -> None:
    form = _open(page, setup, 2)
    _type(form, "link")
    form.locator("input[name=link_url]").fill("ftp://example.go.th/report")
    _press(page, form.locator("button[value=add_link]"), 400)
    _assert_kept(page, "link")
    form = page.locator("form.entry-form")
    assert form.locator("input[name=link_url]").input_value() == "ftp://example.go.th/report"
    form.locator("input[name=link_url]").fill("https://example.go.th/report")
    _press(page, form.locator("button[value=add_link]"), 302)
    # Drawn again from the database: the link and the text typed before adding it.
    _assert_kept(page, "link")
    assert page.locator("ul.evidence a[href='https://example.go.th/report']").count() == 1
    # Removing it keeps text typed since.
    page.locator("form.entry-form textarea[name=what]").fill(f"{TEXTS['what']} removed")
    _press(page, page.locator("ul.evidence button[value=remove_evidence]"), 302)
    assert page.locator("ul.evidence a[href='https://example.go.th/report']").count() == 0
    assert page.locator("form.entry-form textarea[name=what]").input_value() == (
        f"{TEXTS['what']} removed"
    )


def test_a_stale_version_keeps_the_unsaved_text(setup: Setup, page: Page) -> None:
    form = _open(page, setup, 3)
    _type(form, "first")
    _press(page, form.locator("button[value=save]"), 302)
    # Someone else saves the report meanwhile.
    _sql(
        setup,
        "UPDATE workflow_revisions SET version = version + 1 WHERE report_id ="
        " (SELECT id FROM workflow_reports WHERE kind = 'progress' AND subject_id = :i"
        " AND period = 1 AND office_id = (SELECT id FROM offices WHERE code = :o))",
        i=setup.items[3][0],
        o=OFFICE,
    )
    form = page.locator("form.entry-form")
    _type(form, "stale")
    _press(page, form.locator("button[value=save]"), 409)
    _assert_kept(page, "stale")
    _screenshots(page, "progress-stale")


def test_a_window_closed_while_typing_keeps_the_unsaved_text(setup: Setup, page: Page) -> None:
    _sql(
        setup,
        "UPDATE reporting_windows SET opens_on = current_date - 1, closes_on = current_date + 1"
        " WHERE fiscal_year = 2567 AND round_no = 2",
    )
    try:
        form = _open(page, setup, 4, round_no=2)
        _type(form, "closing")
        _sql(
            setup,
            "UPDATE reporting_windows SET opens_on = current_date - 9,"
            " closes_on = current_date - 2 WHERE fiscal_year = 2567 AND round_no = 2",
        )
        _press(page, form.locator("button[value=submit]"), 409)
        _assert_kept(page, "closing")
        _screenshots(page, "progress-window-closed")
    finally:
        _sql(
            setup,
            "UPDATE reporting_windows SET opens_on = '2024-04-18', closes_on = '2024-08-31'"
            " WHERE fiscal_year = 2567 AND round_no = 2",
        )


def test_an_expired_form_keeps_the_text_through_the_form_keeper(setup: Setup, page: Page) -> None:
    """The one refusal the server cannot redraw (its CSRF check runs before the page): the
    form keeper's copy puts the text back when the report is opened again."""
    form = _open(page, setup, 5, round_no=2)
    # The session's token no longer matches (as after a sign-in elsewhere or a restart).
    page.evaluate("document.querySelector('form.entry-form [name=csrf_token]').value = 'expired'")
    _type(form, "expired")
    _press(page, form.locator("button[value=save]"), 400)
    assert page.locator("form.entry-form").count() == 0  # the error page, not the form
    _id, kind, no = setup.items[5]
    page.goto(f"{setup.url}/portal/offices/{OFFICE}/entries/2567/2/{kind}/{no}")
    page.wait_for_selector("form.entry-form[data-keep-restored]")
    _assert_kept(page, "expired")
