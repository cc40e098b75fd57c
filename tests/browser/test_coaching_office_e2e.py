"""Coaching reaches the office, in real Chromium as an office editor: the portal page's summary,
the coaching page with a hostile agenda and follow-up shown as text, acknowledging a follow-up,
a refused report keeping what was typed, then the report saved; the cluster's calendar file.

Set PINMAP_SCREENSHOTS=<dir> to keep each page at 1366×900 and 390×844.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pinmap.db import make_engine
from pinmap.models import MonitoringRound, Office, ResultRecord, User
from pinmap.services import coaching as svc
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, screenshots, sign_in_page
from ..support.factories import UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "coaching office e2e 3"
OFFICE = "spp-krabi"
NEIGHBOUR = "spp-phangnga"
EVIL = '<img src=x onerror="window.__pwned=1">'
NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)


@dataclass
class Setup:
    url: str
    plan_id: int


def _round(session: Session, no: int) -> MonitoringRound:
    return session.scalars(select(MonitoringRound).filter_by(fiscal_year=2567, round_no=no)).one()


@pytest.fixture(scope="module")
def setup(live_server: LiveServer) -> Iterator[Setup]:
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        users = {}
        for who, role, office in (
            ("coach", "coach", None),
            ("admin", "admin", None),
            ("editor", "office_editor", OFFICE),
        ):
            UserFactory.create(
                session=session,
                actor=Actor(None),
                email=f"co-e2e-{who}@example.go.th",
                name=f"ผู้ใช้ {who}",
                password=PASSWORD,
                role=role,
                office_code=office,
            )
            users[who] = session.scalars(
                select(User).filter_by(email=f"co-e2e-{who}@example.go.th")
            ).one()
        coach, admin = Actor(users["coach"], None, NOW), Actor(users["admin"], None, NOW)
        plan = svc.create_plan(session, coach, _round(session, 2).id, 6, host_code=OFFICE, k=1)
        svc.save_plan(
            session,
            coach,
            plan,
            plan.version,
            invited=[NEIGHBOUR],
            visit_date=dt.date(2024, 3, 20),
            agenda=f"1. ทบทวนแผนปฏิบัติการ {EVIL}\n2. เยี่ยมโรงเรียนต้นแบบ",
            team="ทีมนิเทศ สทพ.",
        )
        svc.publish_plan(session, coach, plan, plan.version)
        row = svc.record_visit(
            session,
            coach,
            plan,
            visited_on=dt.date(2024, 3, 20),
            notes=f"พบว่าครูขาดสื่อการสอนคณิตศาสตร์ {EVIL}\nควรจัดหาสื่อภายในไตรมาสถัดไป",
            follow_ups=f"ส่งแผนพัฒนาครูคณิตศาสตร์ {EVIL}\nรายงานผลการใช้สื่อในรอบ 9 เดือน",
        )
        svc.publish_record(session, coach, plan, row)
        svc.set_cluster_session(
            session,
            admin,
            _round(session, 3),
            6,
            dt.datetime(2024, 6, 12, 9, 0, tzinfo=svc.BANGKOK),
            "https://zoom.us/j/6000",
        )
        office = session.scalars(select(Office).filter_by(code=OFFICE)).one()
        session.add(
            ResultRecord(
                office_id=office.id,
                fiscal_year=2567,
                category="onet_rt_nt",
                indicator=f"O-NET ป.6 คณิตศาสตร์ {EVIL}",
                value=35.5,
                unit="คะแนน",
                office_target=40.0,
                obec_target=33.0,
            )
        )
        session.flush()
        svc.send_findings(session, coach, _round(session, 4), 6)
        plan_id = plan.id
    engine.dispose()
    yield Setup(live_server.url, plan_id)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    yield context.new_page()
    context.close()


def _screenshots(page: Page, name: str) -> None:
    screenshots(page, f"coaching-office-{name}")


def _sign_in(page: Page, url: str, who: str) -> None:
    sign_in_page(page, url, f"co-e2e-{who}@example.go.th", PASSWORD)


def test_an_office_acknowledges_and_reports_on_its_follow_ups(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "editor")
    page.goto(f"{setup.url}/portal/offices/{OFFICE}")
    summary = page.locator(".coaching-summary")
    assert "2 เรื่อง" in summary.inner_text()  # two follow-ups to acknowledge
    _screenshots(page, "portal")
    with page.expect_navigation():
        summary.locator("a").click()
    assert page.url.endswith(f"/portal/offices/{OFFICE}/coaching")
    main = page.locator("main")
    text = main.inner_text()
    # Hostile texts are shown as text, never run; the agenda keeps its two lines.
    assert f"1. ทบทวนแผนปฏิบัติการ {EVIL}\n2. เยี่ยมโรงเรียนต้นแบบ" in text
    assert f"ส่งแผนพัฒนาครูคณิตศาสตร์ {EVIL}" in text
    assert f"O-NET ป.6 คณิตศาสตร์ {EVIL}" in text
    assert "20 มี.ค. 2567" in text  # the visit date in the Buddhist Era
    assert page.locator("a.session-link").get_attribute("href") == "https://zoom.us/j/6000"
    assert page.evaluate("window.__pwned") is None
    _screenshots(page, "page")

    first = page.locator("li.follow-up").nth(0)
    with page.expect_navigation():
        first.locator("button", has_text="รับทราบ").click()
    first = page.locator("li.follow-up").nth(0)
    assert "รับทราบโดย ผู้ใช้ editor" in first.inner_text()
    assert page.locator("li.follow-up.open").count() == 1

    # A report longer than the limit (an old browser ignoring maxlength) is refused, and the
    # page comes back with the round and the text as typed.
    second = page.locator("li.follow-up").nth(1)
    typed = "จัดหาสื่อแล้ว " + "ก" * 2000
    second.locator("textarea[name=report]").evaluate("el => el.removeAttribute('maxlength')")
    second.locator("textarea[name=report]").fill(typed)
    with page.expect_navigation():
        second.locator("form.follow-up-report button").click()
    second = page.locator("li.follow-up").nth(1)
    assert second.locator("[role=alert]").count() == 1
    assert page.locator("main [role=alert]").count() == 1  # beside its form, once
    assert second.locator("textarea[name=report]").input_value() == typed
    _screenshots(page, "refused")
    report = "จัดหาสื่อแล้ว 12 ชุด\nครูใช้ครบทุกห้อง <b>ตามแผน</b>"
    second.locator("textarea[name=report]").fill(report)
    with page.expect_navigation():
        second.locator("form.follow-up-report button").click()
    second = page.locator("li.follow-up").nth(1)
    assert "ครูใช้ครบทุกห้อง <b>ตามแผน</b>" in second.locator(".report-text").inner_text()
    assert "จัดหาสื่อแล้ว 12 ชุด\nครูใช้ครบทุกห้อง" in second.locator(".report-text").inner_text()
    _screenshots(page, "reported")

    # The coaches see who acknowledged and what was reported, on the plan's page.
    page.context.clear_cookies()
    _sign_in(page, setup.url, "coach")
    page.goto(f"{setup.url}/coaching/plans/{setup.plan_id}")
    history = page.locator("table.follow-up-history")
    assert "ผู้ใช้ editor" in history.inner_text()
    assert "ครูใช้ครบทุกห้อง <b>ตามแผน</b>" in history.inner_text()
    _screenshots(page, "coach")


def test_the_office_downloads_its_clusters_calendar(setup: Setup, page: Page) -> None:
    _sign_in(page, setup.url, "editor")
    r = page.request.get(f"{setup.url}/portal/offices/{OFFICE}/coaching/sessions.ics")
    assert r.status == 200 and r.headers["content-type"].startswith("text/calendar")
    assert "https://zoom.us/j/6000" in r.text()
    assert page.request.get(f"{setup.url}/portal/offices/spp-bangkok/coaching").status == 403
