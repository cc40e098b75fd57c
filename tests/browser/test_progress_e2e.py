"""Approved progress in the browser: escaped narrative on the office page, pins coloured by it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.models import Office, PolicyItem
from pinmap.services import progress
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, Watched
from ..support.factories import UserFactory

pytestmark = pytest.mark.browser

PAYLOAD = '<img src=x onerror="alert(1)"><script>alert(2)</script>ครูได้รับการอบรม <b>120</b> คน'
NO_ACTIVITY = '"><svg onload=alert(3)>'


@pytest.fixture(scope="module")
def approved_report(live_server: LiveServer) -> None:
    engine = make_engine(live_server.database_url)
    # Inside FY2567's phase 1 window, so submission is allowed.
    when = dt.datetime(2024, 3, 20, 3, 0, tzinfo=dt.UTC)
    with sessionmaker(bind=engine).begin() as session:
        editor = UserFactory.create(
            session=session,
            email="e2e-director@example.go.th",
            name="ผอ.ทดสอบ",
            password="e2e password 123",
            role="office_director",
            office_code="spp-krabi",
        )
        reviewer = UserFactory.create(
            session=session,
            email="e2e-reviewer@example.go.th",
            name="ผู้ตรวจ",
            password="e2e password 123",
            role="reviewer",
        )
        office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
        item = session.scalars(
            select(PolicyItem).filter_by(fiscal_year=2567, kind="policy", no=1)
        ).one()
        rev = progress.save_draft(
            session,
            Actor(editor, now=when),
            office,
            item,
            1,
            {
                "status": "output_achieved",
                "what": PAYLOAD,
                "where": "อ.เมืองกระบี่",
                "how": "อบรมเชิงปฏิบัติการ",
                "result": "ครูผ่านการอบรมครบ",
                "no_activity_reason": NO_ACTIVITY,
            },
            None,
        )
        entry = progress.find_entry(session, office.id, item.id, 1)
        progress.submit(session, Actor(editor, now=when), entry, rev.version)
        progress.review(session, Actor(reviewer, now=when), entry, "approve", "", rev.version)
    engine.dispose()


def test_narrative_payload_is_shown_as_text_on_the_office_page(
    live_server: LiveServer, watched: Watched, approved_report: None
) -> None:
    page = watched.page
    # FY2567 is an earlier year now: its approved reports are one ?fiscal_year= away.
    page.goto(live_server.url + "/offices/spp-krabi?fiscal_year=2567")
    # The office's other sections (its plan) show rich text too: read the progress reports'.
    page.locator("section.progress details summary").first.click()
    rich = page.locator("section.progress dd.rich").first
    assert "ครูได้รับการอบรม" in rich.inner_text()
    # The allowlist kept <b>, dropped <img>/<script>; nothing executed.
    assert page.locator("dd.rich img, dd.rich script").count() == 0
    assert page.locator("section.progress dd.rich b").inner_text() == "120"
    assert page.locator("svg[onload]").count() == 0
    assert NO_ACTIVITY in page.locator("article").inner_text()
    assert watched.dialogs == []
    assert watched.errors == []


def test_pins_colour_by_one_items_approved_status(
    live_server: LiveServer, watched: Watched, approved_report: None
) -> None:
    page = watched.page
    page.goto(live_server.url + "/?fiscal_year=2567")
    page.wait_for_selector("html[data-pins-ready='1']")
    page.select_option("#f-colour", "item:policy:1")
    page.wait_for_selector("html[data-colour-mode='item:policy:1']")
    classes = page.evaluate("PinMap.state.markers['spp-krabi'].options.icon.options.html")
    assert "pin-status-output_achieved" in classes
    others = page.evaluate("PinMap.state.markers['spp-bangkok'].options.icon.options.html")
    assert "pin-status-none" in others
    assert page.locator("#legend-colours p").count() == 5
    page.select_option("#f-colour", "progress")
    page.wait_for_selector("html[data-colour-mode='progress']")
    assert "pin-share-low" in page.evaluate(
        "PinMap.state.markers['spp-krabi'].options.icon.options.html"
    )
    assert watched.errors == []
