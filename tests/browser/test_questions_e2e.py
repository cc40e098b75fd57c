"""Questions and answers in real Chromium: a refused question keeps what was typed, hostile
text in a question, an answer and an FAQ entry is shown as text and never runs, the asker
finds the answer through the inbox link, and the public FAQ is searched in Thai.

Set PINMAP_SCREENSHOTS=<dir> to keep each page at 1366×900 and 390×844.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, screenshots, sign_in_page
from ..support.factories import UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "questions e2e password 7"
OFFICE = "spp-chiangmai-1"
EVIL = '<img src=x onerror="window.__pwned=1">'


@dataclass
class Setup:
    url: str


@pytest.fixture(scope="module")
def setup(live_server: LiveServer) -> Iterator[Setup]:
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        for who, role, office in (
            ("reviewer", "reviewer", None),
            ("editor", "office_editor", OFFICE),
        ):
            UserFactory.create(
                session=session,
                actor=Actor(None),
                email=f"qa-e2e-{who}@example.go.th",
                name=f"qa {who}",
                password=PASSWORD,
                role=role,
                office_code=office,
            )
    engine.dispose()
    yield Setup(live_server.url)


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[tuple[Browser, Page]]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    yield browser, context.new_page()
    context.close()


def _screenshots(page: Page, name: str) -> None:
    screenshots(page, f"qa-{name}")


def _sign_in(page: Page, url: str, who: str) -> None:
    sign_in_page(page, url, f"qa-e2e-{who}@example.go.th", PASSWORD)


def _submit(page: Page, form: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").click()


def test_a_question_is_refused_kept_answered_published_and_shown_as_text(
    setup: Setup, browser_page: tuple[Browser, Page]
) -> None:
    browser, page = browser_page
    _sign_in(page, setup.url, "editor")
    page.goto(setup.url + "/help/questions")
    form = "form.question-form"
    page.select_option(f"{form} select[name=category]", "reporting")
    page.fill(f"{form} input[name=title]", f"ส่งหลักฐานรอบที่สองอย่างไร {EVIL}")
    page.fill(f"{form} textarea[name=body]", "   ")  # blank: refused by the server
    _submit(page, form)
    assert "โปรดเขียนคำถาม" in page.locator("p.error").inner_text()
    # The refused form comes back with what was typed.
    assert page.input_value(f"{form} input[name=title]") == f"ส่งหลักฐานรอบที่สองอย่างไร {EVIL}"
    assert page.input_value(f"{form} select[name=category]") == "reporting"
    _screenshots(page, "ask-refused")
    page.fill(f"{form} textarea[name=body]", f"บรรทัดหนึ่ง {EVIL}\nบรรทัดสอง")
    _submit(page, form)
    question_url = page.url
    assert "/help/questions/" in question_url
    assert EVIL in page.locator(".question-body").inner_text()  # shown, not run
    assert page.locator(".question-body br").count() == 1  # its line break kept
    assert page.evaluate("window.__pwned") is None

    # OBEC answers, in a context of its own.
    obec_ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    obec = obec_ctx.new_page()
    try:
        _sign_in(obec, setup.url, "reviewer")
        obec.goto(setup.url + "/help/questions")
        assert "ส่งหลักฐานรอบที่สองอย่างไร" in obec.locator("main").inner_text()
        _screenshots(obec, "queue")
        obec.goto(question_url)
        obec.fill("form.answer-form textarea[name=answer]", f"ให้แนบไฟล์ {EVIL}\nแล้วกดส่ง")
        _submit(obec, "form.answer-form")
        assert EVIL in obec.locator(".question-answer").inner_text()
        assert obec.evaluate("window.__pwned") is None
        # Publishing with an empty public answer is refused and keeps the public wording.
        obec.fill("form.faq-form textarea[name=faq_question]", "ส่งหลักฐานรอบที่สองอย่างไร")
        obec.fill("form.faq-form textarea[name=faq_answer]", " ")
        _submit(obec, "form.faq-form")
        assert obec.locator("p.error").is_visible()
        wording = obec.input_value("form.faq-form textarea[name=faq_question]")
        assert wording == "ส่งหลักฐานรอบที่สองอย่างไร"
        obec.fill("form.faq-form textarea[name=faq_answer]", f"แนบไฟล์หลักฐาน {EVIL}\nแล้วกดส่ง")
        _submit(obec, "form.faq-form")
        _screenshots(obec, "question-obec")
    finally:
        obec_ctx.close()

    # The asker's inbox links to the question.
    page.goto(setup.url + "/portal/inbox")
    link = page.locator(".inbox-list a").first
    assert link.get_attribute("href") == question_url.removeprefix(setup.url)
    _screenshots(page, "inbox")
    with page.expect_navigation():
        link.click()
    assert "ให้แนบไฟล์" in page.locator(".question-answer").inner_text()
    _screenshots(page, "question-office")
    page.goto(setup.url + "/portal/inbox/settings")
    page.locator("input[name=language][value=en]").check()
    _submit(page, "form.notify-settings")
    assert page.locator("input[name=language][value=en]").is_checked()
    _screenshots(page, "settings")

    # The public FAQ, searched by a Thai word inside Thai text, shows no asker.
    public_ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    public = public_ctx.new_page()
    try:
        public.goto(setup.url + "/help/faq")
        public.fill("input[name=q]", "หลักฐานรอบ")
        _submit(public, "form.faq-search")
        entries = public.locator(".faq-entry")
        assert entries.count() == 1
        assert EVIL in entries.first.inner_text()
        assert public.evaluate("window.__pwned") is None
        assert "qa editor" not in public.locator("main").inner_text()
        _screenshots(public, "faq")
        public.fill("input[name=q]", "งบประมาณ")
        _submit(public, "form.faq-search")
        assert public.locator(".faq-entry").count() == 0
    finally:
        public_ctx.close()
