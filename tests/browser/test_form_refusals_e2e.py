"""A refused form in real Chromium: the message is in Thai beside the form, and every field still
holds what the user typed (the progress report, the office profile, the coaching visit plan).

Set PINMAP_SCREENSHOTS=<dir> to keep each refused page at 1366×900 and 390×844.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.models import MonitoringRound, PolicyItem, User
from pinmap.services import coaching
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, sign_in_page, submit
from ..support.factories import UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "refusal e2e password 7"
OFFICE = "spp-bangkok"
TYPED = "อบรมครูแกนนำ 45 คน ที่ห้องประชุม"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}


@dataclass
class Setup:
    url: str
    item_kind: str
    item_no: str
    plan_id: int


@pytest.fixture(scope="module")
def setup(live_server: LiveServer) -> Iterator[Setup]:
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        actor = Actor(None)
        for email, role, office in (
            ("refusal-director@example.go.th", "office_director", OFFICE),
            ("refusal-coach@example.go.th", "coach", None),
        ):
            UserFactory.create(
                session=session,
                actor=actor,
                email=email,
                name=role,
                password=PASSWORD,
                role=role,
                office_code=office,
            )
        item = session.scalars(
            select(PolicyItem)
            .filter_by(fiscal_year=2567, kind="policy")
            .order_by(PolicyItem.no.desc())
        ).first()
        assert item is not None
        if session.scalars(select(MonitoringRound)).first() is None:
            coaching.load_rounds(session, PROJECT_ROOT / "data" / "monitoring_rounds.csv")
        rnd = session.scalars(select(MonitoringRound).filter_by(fiscal_year=2567, round_no=2)).one()
        coach = session.scalars(select(User).filter_by(email="refusal-coach@example.go.th")).one()
        plan = coaching.create_plan(session, Actor(coach), rnd.id, 13, radius_km=60)
        found = Setup(live_server.url, item.kind, item.no, plan.id)
    engine.dispose()
    yield found


def _sign_in(page: Page, url: str, email: str) -> None:
    sign_in_page(page, url, email, PASSWORD)


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


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    yield context.new_page()
    context.close()


def test_progress_report_refusal_keeps_the_report(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "refusal-director@example.go.th")
    url = f"{setup.url}/portal/offices/{OFFICE}/entries/2567/1/{setup.item_kind}/{setup.item_no}"
    page.goto(url)
    form = page.locator("form.entry-form")
    form.locator("select[name=status]").select_option("not_started")
    form.locator("textarea[name=what]").fill(TYPED)
    form.locator("textarea[name=where]").fill("อ.เมือง")
    form.locator("input[name=no_activity_when]").fill("ไตรมาส 3")
    form.locator("input[name=no_activity_reason]").fill("ก" * 2_001)  # the limit is 2,000
    assert submit(page, form.locator("button[value=save]")) == 400
    error = page.locator("p.error")
    assert "ยาวเกิน 2000" in error.inner_text()
    form = page.locator("form.entry-form")
    assert form.locator("textarea[name=what]").input_value() == TYPED
    assert form.locator("textarea[name=where]").input_value() == "อ.เมือง"
    assert form.locator("select[name=status]").input_value() == "not_started"
    assert form.locator("input[name=no_activity_when]").input_value() == "ไตรมาส 3"
    assert form.locator("input[name=no_activity_reason]").input_value() == "ก" * 2_001
    _screenshots(page, "entry-refused")


def test_profile_refusal_keeps_the_profile(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "refusal-director@example.go.th")
    page.goto(f"{setup.url}/portal/offices/{OFFICE}/profile")
    form = page.locator("form").filter(has=page.locator("[name=address]"))
    form.locator("[name=address]").fill(TYPED)
    form.locator("[name=phone]").fill("0 2123 4567")
    form.locator("[name=staff_count]").fill("๘๕")  # Thai digits: refused, not a crash
    assert submit(page, form.locator("button[value=save]")) == 400
    assert "จำนวนบุคลากร" in page.locator("p.error").inner_text()
    form = page.locator("form").filter(has=page.locator("[name=address]"))
    assert form.locator("[name=address]").input_value() == TYPED
    assert form.locator("[name=phone]").input_value() == "0 2123 4567"
    assert form.locator("[name=staff_count]").input_value() == "๘๕"
    _screenshots(page, "profile-refused")


def test_visit_plan_refusal_keeps_the_plan(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "refusal-coach@example.go.th")
    page.goto(f"{setup.url}/coaching/plans/{setup.plan_id}")
    form = page.locator("form").filter(has=page.locator("textarea[name=visits]"))
    form.locator("input[name=team]").fill(TYPED)
    form.locator("input[name=visit_date]").fill("20/03/2567")
    visits = form.locator("textarea[name=visits]").input_value() + "spp-nowhere\n"
    form.locator("textarea[name=visits]").fill(visits)
    assert submit(page, form.locator("button[type=submit]")) == 400
    assert "spp-nowhere" in page.locator("p.error").inner_text()
    form = page.locator("form").filter(has=page.locator("textarea[name=visits]"))
    assert form.locator("input[name=team]").input_value() == TYPED
    assert form.locator("input[name=visit_date]").input_value() == "20/03/2567"
    assert form.locator("textarea[name=visits]").input_value().split() == visits.split()
    _screenshots(page, "plan-refused")
