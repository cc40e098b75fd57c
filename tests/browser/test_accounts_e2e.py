"""Account self-service in real Chromium: where each role lands, the refusal pages and what they
offer next, the admin's users list with a refused import and a refused new user, a refused
window edit, a wrong current password, used and expired reset links, and a refused visit record.

Set PINMAP_SCREENSHOTS=<dir> to keep each page at 1366×900 and 390×844.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page
from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.models import MonitoringRound, PasswordReset, ReportingWindow, User
from pinmap.services import coaching
from pinmap.services.accounts import request_reset
from pinmap.services.audit import Actor, utcnow

from ..support.browser import LiveServer, sign_in_page
from ..support.factories import UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "accounts e2e password 7"
OFFICE = "spp-chiangmai-1"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
TYPED = "นางสาวทดสอบ <b>พิมพ์</b> ไว้"


@dataclass
class Setup:
    url: str
    database_url: str
    plan_id: int
    window_id: int


@pytest.fixture(scope="module")
def setup(live_server: LiveServer) -> Iterator[Setup]:
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        actor = Actor(None)
        for who, role, office in (
            ("admin", "admin", None),
            ("director", "office_director", OFFICE),
            ("editor", "office_editor", OFFICE),
            ("coach", "coach", None),
            ("reviewer", "reviewer", None),
            ("resetme", "office_editor", OFFICE),
            ("leaver", "office_editor", OFFICE),
        ):
            UserFactory.create(
                session=session,
                actor=actor,
                email=f"acc-{who}@example.go.th",
                name=f"acc {who}",
                password=PASSWORD,
                role=role,
                office_code=office,
            )
        if session.scalars(select(MonitoringRound)).first() is None:
            coaching.load_rounds(session, PROJECT_ROOT / "data" / "monitoring_rounds.csv")
        rnd = session.scalars(select(MonitoringRound).filter_by(fiscal_year=2567, round_no=2)).one()
        coach = session.scalars(select(User).filter_by(email="acc-coach@example.go.th")).one()
        plan = coaching.create_plan(session, Actor(coach), rnd.id, 1, radius_km=60)
        window = session.scalars(
            select(ReportingWindow).filter_by(fiscal_year=2567).order_by(ReportingWindow.round_no)
        ).first()
        assert window is not None
        found = Setup(live_server.url, live_server.database_url, plan.id, window.id)
    engine.dispose()
    yield found


def _screenshots(page: Page, name: str, focus: str = "main") -> None:
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.locator(focus).first.scroll_into_view_if_needed()
        page.screenshot(path=f"{folder}/accounts-{name}-{label}.png")
    page.set_viewport_size({"width": 1366, "height": 900})


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    yield context.new_page()
    context.close()


def _sign_in(page: Page, url: str, who: str, password: str = PASSWORD) -> None:
    sign_in_page(page, url, f"acc-{who}@example.go.th", password)


@pytest.mark.parametrize(
    ("who", "lands", "heading"),
    [
        ("director", f"/portal/offices/{OFFICE}", None),
        ("reviewer", "/review/", None),
        ("coach", "/coaching/plans", None),
        ("admin", "/admin/", "เรื่องที่ต้องดำเนินการ"),
    ],
)
def test_each_role_lands_on_its_home(
    setup: Setup, page: Page, who: str, lands: str, heading: str | None
) -> None:
    _sign_in(page, setup.url, who)
    assert page.url == setup.url + lands
    assert page.locator("h1").first.inner_text() != "403"
    # The password change is in the header for everyone signed in.
    assert page.locator("header a[href='/portal/password']").count() == 1
    if heading:
        assert page.locator("h1").first.inner_text() == heading
        _screenshots(page, f"home-{who}")


def test_forbidden_page_says_what_to_do(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "editor")
    answer = page.goto(setup.url + "/admin/users")
    assert answer is not None and answer.status == 403
    steps = page.locator("ul.next-steps")
    assert "ผู้ดูแลระบบ" in steps.inner_text()
    assert steps.locator("a[href='/portal/']").count() == 1
    _screenshots(page, "403", "ul.next-steps")


def test_refused_import_and_new_user_keep_what_was_typed(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "admin")
    page.goto(setup.url + "/admin/users?q=acc-&active=yes")
    assert page.locator("input[name=q]").input_value() == "acc-"
    assert page.locator("button[data-confirm]").count() >= 1  # deactivate asks first
    bad = (
        "email,name,role,office_code\n"
        "ok@example.go.th,ดี,office_editor,spp-chiangmai-1\n"
        "not-an-email,ผิด,office_editor,spp-chiangmai-1\n"
        "x@example.go.th,ผิด,boss,\n"
    ).encode()
    form = page.locator("form[action='/admin/users/import']")
    form.locator("input[type=file]").set_input_files(
        {"name": "users.csv", "mimeType": "text/csv", "buffer": bad}
    )
    with page.expect_navigation() as answer:  # the refusal page, loaded
        form.locator("button[type=submit]").click()
    assert answer.value.status == 400
    assert "ไม่มีการเปลี่ยนแปลง" in page.locator("p.error").inner_text()
    report = page.locator("table.import-report").inner_text()
    assert "email" in report and "role" in report and "3" in report and "4" in report
    _screenshots(page, "import-refused", "table.import-report")
    # A new user with an e-mail that exists: refused, the name typed is still in the form.
    form = page.locator("form[action='/admin/users'][method=post]")
    form.locator("input[name=email]").fill("acc-editor@example.go.th")
    form.locator("input[name=name]").fill(TYPED)
    form.locator("select[name=role]").select_option("reviewer")
    form.locator("input[name=password]").fill("one time pass 1")
    with page.expect_navigation() as answer:  # the refusal page, loaded
        form.locator("button[type=submit]").click()
    assert answer.value.status == 409
    form = page.locator("form[action='/admin/users'][method=post]")
    assert form.locator("input[name=name]").input_value() == TYPED
    assert form.locator("input[name=email]").input_value() == "acc-editor@example.go.th"
    assert form.locator("select[name=role]").input_value() == "reviewer"
    _screenshots(page, "new-user-refused", "p.error")


def test_refused_window_edit_keeps_what_was_typed(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "admin")
    page.goto(setup.url + "/admin/windows?fiscal_year=2567")
    row = page.locator(f"form[action='/admin/windows/{setup.window_id}']")
    page.locator("details", has=row).locator("summary").click()
    row.locator("input[name=label_th]").fill(TYPED)
    row.locator("input[name=opens_on]").fill("31/08/2567")
    row.locator("input[name=closes_on]").fill("01/08/2567")
    with page.expect_navigation() as answer:  # the refusal page, loaded
        row.locator("button[type=submit]").click()
    assert answer.value.status == 400
    row = page.locator(f"form[action='/admin/windows/{setup.window_id}']")
    assert row.is_visible()  # its details stay open
    assert row.locator("input[name=label_th]").input_value() == TYPED
    assert row.locator("input[name=opens_on]").input_value() == "31/08/2567"
    assert page.locator("button.danger[data-confirm]").count() >= 1
    _screenshots(page, "window-refused", "p.error")


def test_wrong_current_password_is_refused(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "reviewer")
    page.locator("header a[href='/portal/password']").click()
    page.fill("input[name=old]", "not the password")
    page.fill("input[name=new]", "brand new secret 9")
    page.fill("input[name=repeat]", "brand new secret 9")
    with page.expect_navigation() as answer:  # the refusal page, loaded
        page.locator("main form button[type=submit]").click()
    assert answer.value.status == 400
    assert "ไม่ถูกต้อง" in page.locator("p.error").inner_text()
    # Passwords are never written back into a page; the fields are empty to type again.
    assert page.locator("input[name=old]").input_value() == ""
    _screenshots(page, "password-refused", "p.error")


def _reset_link(setup: Setup, who: str) -> str:
    engine = make_engine(setup.database_url)
    with sessionmaker(bind=engine).begin() as session:
        found = request_reset(session, f"acc-{who}@example.go.th", "127.0.0.9", utcnow())
        assert found is not None
        token = found[1]
    engine.dispose()
    return f"{setup.url}/portal/reset/{token}"


def test_reset_link_works_once_and_then_says_what_to_do(setup: Setup, page: Page) -> None:
    page.goto(setup.url + "/portal/forgot")
    assert "ผู้ดูแลระบบ" in page.locator("main").inner_text()  # no mail here: ask an admin
    _screenshots(page, "forgot-no-mail")
    link = _reset_link(setup, "resetme")
    page.goto(link)
    page.fill("input[name=new]", "short")
    page.fill("input[name=repeat]", "short")
    page.locator("input[name=new]").evaluate("e => e.removeAttribute('minlength')")
    page.locator("input[name=repeat]").evaluate("e => e.removeAttribute('minlength')")
    with page.expect_navigation() as answer:  # the refusal page, loaded
        page.locator("main form button[type=submit]").click()
    assert answer.value.status == 400
    assert page.locator("input[name=new]").is_visible()  # the link still works after that
    page.fill("input[name=new]", "my own secret 2026")
    page.fill("input[name=repeat]", "my own secret 2026")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url.endswith("/portal/login")
    answer = page.goto(link)
    assert answer is not None and answer.status == 400
    assert page.locator("a[href='/portal/forgot']").count() >= 1
    _screenshots(page, "reset-used", "p.error")
    _sign_in(page, setup.url, "resetme", "my own secret 2026")


def test_expired_reset_link_is_refused(setup: Setup, page: Page) -> None:
    link = _reset_link(setup, "editor")
    engine = make_engine(setup.database_url)
    with sessionmaker(bind=engine).begin() as session:
        session.execute(update(PasswordReset).values(expires_at=utcnow() - dt.timedelta(minutes=1)))
    engine.dispose()
    answer = page.goto(link)
    assert answer is not None and answer.status == 400
    assert "หมดอายุ" in page.locator("p.error").inner_text()
    assert page.locator("input[name=new]").count() == 0


def test_refused_visit_record_shows_beside_its_form(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "coach")
    page.goto(f"{setup.url}/coaching/plans/{setup.plan_id}")
    form = page.locator("form[action$='/records']")
    form.locator("input[name=visited_on]").fill("2024-03-20")
    form.locator("textarea[name=notes]").fill(TYPED)
    form.locator("textarea[name=attendees]").evaluate("e => e.removeAttribute('maxlength')")
    form.locator("textarea[name=attendees]").fill("ก" * 5_001)  # over the limit
    with page.expect_navigation() as answer:  # the refusal page, loaded
        form.locator("button[type=submit]").click()
    assert answer.value.status == 400
    # Red, beside the record form, not in the green bar; what was typed is still there.
    assert page.locator(".flashes").count() == 0
    record_error = page.locator("h2 + p.error")
    assert record_error.count() == 1
    form = page.locator("form[action$='/records']")
    assert form.locator("textarea[name=notes]").input_value() == TYPED
    _screenshots(page, "plan-record-refused", "form[action$='/records']")


def test_deactivation_asks_first(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "admin")
    page.goto(setup.url + "/admin/users?q=acc-leaver")
    button = page.locator("button.danger[data-confirm]")
    assert button.count() == 1
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    button.click()
    assert asked and "acc-leaver@example.go.th" in asked[0]
    # Dismissed: nothing was sent, the account is still active.
    assert page.locator("button.danger[data-confirm]").count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.locator("button.danger[data-confirm]").click()
    assert "acc-leaver@example.go.th" in page.locator(".flashes").inner_text()
    page.goto(setup.url + "/admin/users?q=acc-leaver&active=no")
    assert "acc-leaver@example.go.th" in page.locator("table").inner_text()
