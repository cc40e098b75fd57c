"""Nothing typed is lost, in Chromium, on the report forms of the workflow engine (a quarterly
project report and an operating plan): every refusal keeps the text (validation, a stale
version, a report locked for review, a closed window, an expired CSRF token, an expired
session), drafts autosave and say when, and leaving with unsaved changes asks first.

PINMAP_SCREENSHOTS=<folder> saves the pages at 1366×900 and 390×844.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pinmap.db import make_engine
from pinmap.fiscal import fiscal_year_of
from pinmap.models import Office, Project, User
from pinmap.services import plans as plans_svc
from pinmap.services import projects as projects_svc
from pinmap.services import workflow as wf
from pinmap.services.accounts import create_user, end_sessions
from pinmap.services.audit import Actor, utcnow

from ..support.browser import WAIT_MS, LiveServer, sign_in_page, submit

pytestmark = pytest.mark.browser

PASSWORD = "keeper e2e password 5"
OFFICE = "spp-kanchanaburi-1"
# Plans are one per office and year (the running one, or one either side): more offices.
PLAN_OFFICE = "spp-kanchanaburi-2"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
TYPED = "อบรมครูแกนนำ 45 คน ที่ห้องประชุมเขต"
OTHER = "ข้อความที่ผู้อื่นบันทึกไว้"
AUTOSAVE_DELAY_MS = 2_000  # formkeeper.js's default (no form sets data-autosave-delay)


def _today() -> dt.date:
    return (utcnow() + dt.timedelta(hours=7)).date()


def _open_quarter(fy: int) -> int:
    return next(q for q in (4, 3, 2, 1) if projects_svc.quarter_bounds(fy, q)[0] <= _today())


@dataclass
class Form:
    """One report form: where it is, what to type, and how the server changes it meanwhile."""

    name: str
    office: str
    path: str  # the form page, from the server's root
    field: str  # a text field to type into
    second: str  # another one
    invalid: dict[str, str]  # fields whose values the server refuses (400)
    send_button: str  # the value of the certify-and-send button
    # Saves OTHER as someone else would (the version moves on), in its own transaction.
    save_elsewhere: Callable[[], None]
    # Certifies and sends it (the director), so it is locked for review.
    lock: Callable[[], None]


@dataclass
class World:
    url: str
    engine_url: str
    fy: int
    forms: dict[str, Form]


def _users(session: Session) -> None:
    for who, role, office in (
        ("editor", "office_editor", OFFICE),
        ("director", "office_director", OFFICE),
        ("editor", "office_editor", PLAN_OFFICE),
        ("director", "office_director", PLAN_OFFICE),
    ):
        create_user(
            session,
            Actor(None),
            email=f"keep-{who}-{office}@example.go.th",
            name=f"ทดสอบ {who}",
            password=PASSWORD,
            role=role,
            office_code=office,
        )

    create_user(
        session,
        Actor(None),
        email="keep-admin-obec@example.go.th",
        name="ทดสอบ admin",
        password=PASSWORD,
        role="admin",
        office_code=None,
    )


def _user(session: Session, who: str, office: str = OFFICE) -> User:
    email = f"keep-{who}-{office}@example.go.th"
    return session.scalars(select(User).filter_by(email=email)).one()


def _office(session: Session, code: str = OFFICE) -> Office:
    return session.scalars(select(Office).filter_by(code=code)).one()


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> Iterator[World]:
    engine = make_engine(live_server.database_url)
    factory = sessionmaker(bind=engine)
    fy = fiscal_year_of(_today())
    with factory.begin() as session:
        _users(session)
        editor = Actor(_user(session, "editor"))
        office = _office(session)
        # One project per test below that needs a fresh quarter, and one of next year (whose
        # quarters are not open yet: the closed-window refusal).
        projects = {
            name: projects_svc.save_project(
                session, editor, office, year, {"name": f"โครงการ {name}", "budget_planned": "1000"}
            ).id
            for name, year in (
                ("validation", fy),
                ("stale", fy),
                ("locked", fy),
                ("closed", fy + 1),
                ("csrf", fy),
                ("session", fy),
                ("autosave", fy),
                ("warning", fy),
            )
        }
    q = _open_quarter(fy)

    def quarter_form(name: str) -> Form:
        project_id = projects[name]
        quarter = 1 if name == "closed" else q

        def save_elsewhere() -> None:
            with factory.begin() as session:
                project = session.get(Project, project_id)
                assert project is not None
                report = projects_svc.report_of(session, project, quarter)
                version = report.current.version if report and report.current else 0
                projects_svc.save_quarter(
                    session,
                    Actor(_user(session, "editor")),
                    project,
                    quarter,
                    {"activity_progress": OTHER, "budget_disbursed": "10"},
                    version,
                )

        def lock() -> None:
            save_elsewhere()
            with factory.begin() as session:
                project = session.get(Project, project_id)
                assert project is not None
                report = projects_svc.report_of(session, project, quarter)
                assert report is not None and report.current is not None
                wf.submit(
                    session, Actor(_user(session, "director")), report, report.current.version
                )

        return Form(
            name=f"quarter-{name}",
            office=OFFICE,
            path=f"/portal/offices/{OFFICE}/projects/{project_id}/quarters/{quarter}",
            field="activity_progress",
            second="problems_suggestions",
            invalid={"budget_disbursed": "มาก"},
            send_button="send",
            save_elsewhere=save_elsewhere,
            lock=lock,
        )

    def plan_form(name: str, code: str, year: int) -> Form:
        def save_elsewhere() -> None:
            with factory.begin() as session:
                report = plans_svc.get(session, _office(session, code).id, year)
                version = report.current.version if report and report.current else 0
                plans_svc.save(
                    session,
                    Actor(_user(session, "editor", code)),
                    _office(session, code),
                    year,
                    {k: OTHER for k in plans_svc.FIELDS},
                    version,
                )

        def lock() -> None:
            save_elsewhere()
            with factory.begin() as session:
                report = plans_svc.get(session, _office(session, code).id, year)
                assert report is not None and report.current is not None
                plans_svc.submit(
                    session,
                    Actor(_user(session, "director", code)),
                    report,
                    report.current.version,
                )

        return Form(
            name=f"plan-{name}",
            office=code,
            path=f"/portal/offices/{code}/plan/{year}",
            field="approach",
            second="targets",
            invalid={"problem": "ก" * (plans_svc.MAX_TEXT + 1)},
            send_button="submit",
            save_elsewhere=save_elsewhere,
            lock=lock,
        )

    forms = {f"quarter-{name}": quarter_form(name) for name in projects}
    # Plans have one form per office and year: a test that saves takes its own; the tests that
    # save nothing (refused, expired session, left unsaved) share one.
    homes = {
        "stale": (OFFICE, fy - 1),
        "locked": (OFFICE, fy),
        "csrf": (OFFICE, fy + 1),
        "autosave": (PLAN_OFFICE, fy - 1),
        "validation": (PLAN_OFFICE, fy),
        "session": (PLAN_OFFICE, fy),
        "warning": (PLAN_OFFICE, fy),
    }
    for name, (code, year) in homes.items():
        forms[f"plan-{name}"] = plan_form(name, code, year)
    yield World(live_server.url, live_server.database_url, fy, forms)
    engine.dispose()  # the forms' helpers used it until now


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    page = context.new_page()
    page.on("pageerror", lambda e: pytest.fail(f"page error: {e}"))
    yield page
    context.close()


def _sign_in(page: Page, url: str, who: str, office: str = OFFICE) -> None:
    sign_in_page(page, url, f"keep-{who}-{office}@example.go.th", PASSWORD)


def _shots(page: Page, name: str) -> None:
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{folder}/{name}-{label}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def _type(page: Page, form: Form) -> None:
    page.fill(f"[name={form.field}]", TYPED)
    page.fill(f"[name={form.second}]", TYPED + " (2)")


def _press(page: Page, button: str) -> int:
    return submit(page, page.locator(f"form[data-keep] button[value={button}]"))


def _autosave_delay_passes(page: Page) -> None:
    """The page's clock (installed before it loaded) jumps past formkeeper.js's autosave delay
    after the last edit (2 s, its default), so the timer fires now instead of in 2 s of real
    time; the request and its answer still take what they take."""
    page.clock.fast_forward(AUTOSAVE_DELAY_MS)


def _kept(page: Page, form: Form) -> None:
    assert page.locator(f"[name={form.field}]").input_value() == TYPED
    assert page.locator(f"[name={form.second}]").input_value() == TYPED + " (2)"


QUARTER_AND_PLAN = ["quarter", "plan"]


@pytest.mark.parametrize("kind", QUARTER_AND_PLAN)
def test_a_refused_value_keeps_the_text(world: World, page: Page, kind: str) -> None:
    form = world.forms[f"{kind}-validation"]
    _sign_in(page, world.url, "editor", form.office)
    page.goto(world.url + form.path)
    _type(page, form)
    for name, value in form.invalid.items():
        page.fill(f"[name={name}]", value)
    assert _press(page, "save") == 400
    assert page.locator("p.error").is_visible()
    _kept(page, form)
    for name, value in form.invalid.items():
        assert page.locator(f"[name={name}]").input_value() == value
    _shots(page, f"keep-{form.name}")


@pytest.mark.parametrize("kind", QUARTER_AND_PLAN)
def test_a_stale_version_keeps_the_text(world: World, page: Page, kind: str) -> None:
    form = world.forms[f"{kind}-stale"]
    _sign_in(page, world.url, "editor", form.office)
    page.goto(world.url + form.path)
    _type(page, form)
    form.save_elsewhere()
    assert _press(page, "save") == 409
    assert "เวอร์ชัน" in page.locator("p.error").inner_text()
    _kept(page, form)
    _shots(page, f"keep-{form.name}")


@pytest.mark.parametrize("kind", QUARTER_AND_PLAN)
def test_a_report_locked_for_review_keeps_the_text(world: World, page: Page, kind: str) -> None:
    form = world.forms[f"{kind}-locked"]
    _sign_in(page, world.url, "editor", form.office)
    page.goto(world.url + form.path)
    _type(page, form)
    form.lock()
    assert _press(page, "save") == 409
    assert page.locator("p.error").is_visible()
    _kept(page, form)


def test_a_closed_window_keeps_the_text(world: World, page: Page) -> None:
    form = world.forms["quarter-closed"]
    _sign_in(page, world.url, "director", form.office)
    page.goto(world.url + form.path)
    _type(page, form)
    page.fill("[name=budget_disbursed]", "500")
    assert _press(page, form.send_button) == 409
    assert "ไตรมาสที่ 1" in page.locator("p.error").inner_text()
    _kept(page, form)
    _shots(page, "keep-quarter-closed")


@pytest.mark.parametrize("kind", QUARTER_AND_PLAN)
def test_an_expired_csrf_token_keeps_the_text(world: World, page: Page, kind: str) -> None:
    form = world.forms[f"{kind}-csrf"]
    _sign_in(page, world.url, "editor", form.office)
    page.goto(world.url + form.path)
    _type(page, form)
    # A token from before the server's key changed (or a form left open for days).
    page.evaluate(
        "() => document.querySelectorAll('input[name=csrf_token]')"
        ".forEach(i => { i.value = 'expired'; })"
    )
    assert _press(page, "save") == 400
    assert page.locator("form[data-keep]").count() == 0  # the error page: nothing redrawn
    page.goto(world.url + form.path)
    page.wait_for_selector("form[data-keep][data-keep-restored]", timeout=WAIT_MS)
    _kept(page, form)
    _shots(page, f"keep-{form.name}")
    # Saved now, the copy is done with: the next visit shows what the server holds.
    assert _press(page, "save") < 400
    assert page.locator("p.error").count() == 0
    page.goto(world.url + form.path)
    _kept(page, form)
    assert page.locator("form[data-keep][data-keep-restored]").count() == 0
    assert page.evaluate("() => sessionStorage.length") == 0


@pytest.mark.parametrize("kind", QUARTER_AND_PLAN)
def test_an_expired_session_keeps_the_text(
    world: World, live_server: LiveServer, page: Page, kind: str
) -> None:
    form = world.forms[f"{kind}-session"]
    _sign_in(page, world.url, "editor", form.office)
    page.goto(world.url + form.path)
    _type(page, form)
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        end_sessions(session, _user(session, "editor", form.office), "expired")
    engine.dispose()
    _press(page, "save")
    assert "/portal/login" in page.url
    _sign_in(page, world.url, "editor", form.office)
    page.goto(world.url + form.path)
    page.wait_for_selector("form[data-keep][data-keep-restored]", timeout=WAIT_MS)
    _kept(page, form)


@pytest.mark.parametrize("kind", QUARTER_AND_PLAN)
def test_a_draft_saves_itself(world: World, page: Page, kind: str) -> None:
    form = world.forms[f"{kind}-autosave"]
    _sign_in(page, world.url, "editor", form.office)
    page.clock.install()
    page.goto(world.url + form.path)
    version = page.locator("form[data-keep] input[name=version]").input_value()
    _type(page, form)
    _autosave_delay_passes(page)
    status = page.locator("form[data-keep] [data-autosave-status]")
    page.wait_for_function(
        "() => /บันทึกอัตโนมัติเมื่อ \\d\\d:\\d\\d/.test("
        "document.querySelector('[data-autosave-status]').textContent)",
        timeout=WAIT_MS,
    )
    assert "is-error" not in (status.get_attribute("class") or "")
    assert page.locator("form[data-keep] input[name=version]").input_value() != version
    _shots(page, f"keep-{form.name}")
    page.reload()  # nothing unsaved: no question on leaving
    _kept(page, form)
    assert page.locator("form[data-keep][data-keep-restored]").count() == 0
    # The autosaved version is the one the page now holds: saving by hand is not stale.
    page.fill(f"[name={form.field}]", TYPED + " แก้ไข")
    assert _press(page, "save") < 400
    assert page.locator(f"[name={form.field}]").input_value() == TYPED + " แก้ไข"


@pytest.mark.parametrize("kind", QUARTER_AND_PLAN)
def test_an_autosave_refusal_is_shown_and_the_text_stays(
    world: World, page: Page, kind: str
) -> None:
    form = world.forms[f"{kind}-autosave"]
    _sign_in(page, world.url, "editor", form.office)
    page.clock.install()
    page.goto(world.url + form.path)
    form.save_elsewhere()  # the page's version is stale now
    page.fill(f"[name={form.field}]", TYPED)
    _autosave_delay_passes(page)
    page.wait_for_selector("[data-autosave-status].is-error", timeout=WAIT_MS)
    assert "เวอร์ชัน" in page.locator("[data-autosave-status]").inner_text()
    assert page.locator(f"[name={form.field}]").input_value() == TYPED


@pytest.mark.parametrize("kind", QUARTER_AND_PLAN)
def test_leaving_with_unsaved_changes_asks_first(world: World, page: Page, kind: str) -> None:
    form = world.forms[f"{kind}-warning"]
    _sign_in(page, world.url, "editor", form.office)
    page.goto(world.url + form.path)
    # Autosave would make the form clean again before the click: not here.
    page.evaluate(
        "() => document.querySelector('form[data-keep]').removeAttribute('data-autosave')"
    )
    page.click(f"[name={form.field}]")
    page.keyboard.type("พิมพ์ค้างไว้")
    shown: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        shown.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", on_dialog)
    page.locator("nav#site-nav a").first.click()
    page.wait_for_function("() => document.readyState === 'complete'")
    assert shown == ["beforeunload"]
    assert form.path in page.url
    assert page.locator(f"[name={form.field}]").input_value().endswith("พิมพ์ค้างไว้")


def test_every_post_form_with_text_warns_but_no_password_is_kept(world: World, page: Page) -> None:
    """Not only data-keep forms: an admin form without the attribute warns too, and the
    sign-in form (a password) leaves nothing in sessionStorage."""
    _sign_in(page, world.url, "admin", "obec")
    assert PASSWORD not in page.evaluate("() => JSON.stringify(sessionStorage)")
    page.goto(world.url + f"/admin/framework?fiscal_year={world.fy}")
    title = page.locator("form:has([name=code]) [name=title_th]")
    assert title.evaluate("el => el.form.hasAttribute('data-keep')") is False
    title.click()
    page.keyboard.type("ชุดตัวชี้วัดใหม่")
    shown: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        shown.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", on_dialog)
    page.locator("nav#site-nav a").first.click()
    page.wait_for_function("() => document.readyState === 'complete'")
    assert shown == ["beforeunload"]
    assert "/admin/framework" in page.url
    assert title.input_value() == "ชุดตัวชี้วัดใหม่"
