"""The office-profile form in real Chromium: a disguised photo, a stale version, a profile
sent since the page opened and an expired form are refused, and every typed field survives
(redrawn by the server, or put back by the form keeper when the server could not redraw it; a
field refused by validation: test_form_refusals_e2e).

Set PINMAP_SCREENSHOTS=<dir> to keep each refused page at 1366×900 and 390×844.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.models import Office, User
from pinmap.services import profiles as svc
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, sign_in_page, submit
from ..support.factories import UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "profile refusal e2e password 7"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
TYPED = "99 ถนนราชดำเนิน ตำบลในเมือง"


@dataclass
class Setup:
    url: str
    database_url: str
    codes: list[str]


@pytest.fixture(scope="module")
def setup(live_server: LiveServer) -> Iterator[Setup]:
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        # Offices of their own (one per test), far down the list the other tests use.
        codes = list(
            session.scalars(select(Office.code).order_by(Office.code.desc()).offset(3).limit(4))
        )
        for code in codes:
            for role in ("office_editor", "office_director"):
                UserFactory.create(
                    session=session,
                    actor=Actor(None),
                    email=f"pr-{role}-{code}@example.go.th",
                    name=role,
                    password=PASSWORD,
                    role=role,
                    office_code=code,
                )
    engine.dispose()
    yield Setup(live_server.url, live_server.database_url, codes)


def _draft(setup: Setup, code: str) -> None:
    """A complete profile draft of the office, saved through the service."""
    engine = make_engine(setup.database_url)
    try:
        with sessionmaker(bind=engine).begin() as session:
            user = session.scalars(
                select(User).filter_by(email=f"pr-office_editor-{code}@example.go.th")
            ).one()
            office = session.scalars(select(Office).filter_by(code=code)).one()
            data = {
                "address": "ที่อยู่เดิม",
                "phone": "02 111 2222",
                "people": [{"role": "director", "name": "ผอ. เดิม", "position": ""}],
            }
            svc.save_draft(session, Actor(user), office, data, None, None)
    finally:
        engine.dispose()


def _behind_the_page(setup: Setup, code: str, what: str) -> None:
    engine = make_engine(setup.database_url)
    try:
        with sessionmaker(bind=engine).begin() as session:
            role = "office_editor" if what == "save" else "office_director"
            user = session.scalars(
                select(User).filter_by(email=f"pr-{role}-{code}@example.go.th")
            ).one()
            office = session.scalars(select(Office).filter_by(code=code)).one()
            current = svc.current_revision(session, office.id)
            assert current is not None
            if what == "save":
                data = {**current.data, "phone": "02 999 9999"}
                svc.save_draft(session, Actor(user), office, data, None, current.version)
            else:
                svc.submit(session, Actor(user), office, current.version)
    finally:
        engine.dispose()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    yield context.new_page()
    context.close()


def _open(page: Page, setup: Setup, code: str, *, sign_in: bool = True) -> Locator:
    if sign_in:
        sign_in_page(page, setup.url, f"pr-office_editor-{code}@example.go.th", PASSWORD)
    page.goto(f"{setup.url}/portal/offices/{code}/profile")
    form = page.locator("form.profile-form")
    assert form.get_attribute("data-keep") is not None
    assert form.get_attribute("data-autosave") == f"/portal/offices/{code}/profile/autosave"
    if sign_in:
        form.locator("[name=address]").fill(TYPED)
        form.locator("[name=p1_name]").fill("นางรอง พิมพ์ไว้")
        form.locator("[name=staff_count]").fill("77")
    return form


def _press(page: Page, form: Locator, status: int) -> None:
    assert submit(page, form.locator("button[value=save]")) == status


def _kept(page: Page, *, redrawn: bool = True) -> None:
    form = page.locator("form.profile-form")
    assert form.locator("[name=address]").input_value() == TYPED
    assert form.locator("[name=p1_name]").input_value() == "นางรอง พิมพ์ไว้"
    assert form.locator("[name=staff_count]").input_value() == "77"
    if redrawn:
        assert page.locator("p.error").inner_text()


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


def test_a_disguised_photo_keeps_the_profile(setup: Setup, page: Page) -> None:
    code = setup.codes[0]
    _draft(setup, code)
    form = _open(page, setup, code)
    form.locator("input[name=office_photo]").set_input_files(
        {"name": "office.jpg", "mimeType": "image/jpeg", "buffer": b"MZ\x90\x00 not an image"}
    )
    _press(page, form, 400)
    _kept(page)
    _screenshots(page, "profile-bad-photo")


def test_a_stale_version_keeps_the_profile(setup: Setup, page: Page) -> None:
    code = setup.codes[1]
    _draft(setup, code)
    form = _open(page, setup, code)
    _behind_the_page(setup, code, "save")
    _press(page, form, 409)
    _kept(page)


def test_a_profile_sent_since_the_page_opened_keeps_the_profile(setup: Setup, page: Page) -> None:
    code = setup.codes[2]
    _draft(setup, code)
    form = _open(page, setup, code)
    _behind_the_page(setup, code, "submit")
    _press(page, form, 409)
    _kept(page)


def test_an_expired_form_gets_its_profile_back(setup: Setup, page: Page) -> None:
    code = setup.codes[3]
    _draft(setup, code)
    form = _open(page, setup, code)
    form.locator("input[name=csrf_token]").evaluate("el => { el.value = 'expired'; }")
    _press(page, form, 400)
    assert page.locator("form.profile-form").count() == 0  # the server could not redraw it
    _open(page, setup, code, sign_in=False)
    page.wait_for_selector("form.profile-form[data-keep-restored]")
    _kept(page, redrawn=False)
