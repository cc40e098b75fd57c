"""The report documents in real Chromium: the public office page's PDF link downloads a PDF
(beside the print button), the cluster page links its report, and the OBEC dashboard links the
national summary of each round.

Set PINMAP_SCREENSHOTS=<dir> to keep the three pages at 1366×900 and 390×844.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import sessionmaker

from pinmap.db import make_engine
from pinmap.services.audit import Actor

from ..support.browser import LiveServer, screenshots, sign_in_page
from ..support.factories import UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "reports e2e password 7"
EMAIL = "reports-reviewer@example.go.th"


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> Iterator[LiveServer]:
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        UserFactory.create(
            session=session,
            actor=Actor(None),
            email=EMAIL,
            name="ผู้ตรวจ",
            password=PASSWORD,
            role="reviewer",
        )
    engine.dispose()
    yield live_server


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1366, "height": 900}, locale="th-TH", accept_downloads=True
    )
    page = context.new_page()
    yield page
    context.close()


def test_office_page_downloads_its_pdf(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/offices/spp-krabi?fiscal_year=2567")
    link = page.locator(".print-actions a", has_text="รายงาน PDF")
    assert link.count() == 1
    assert page.locator(".print-actions button[data-print]").count() == 1
    screenshots(page, "reports-office-page")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "pinmap-spp-krabi-2567.pdf"
    path = download.path()
    assert path is not None and path.read_bytes()[:5] == b"%PDF-"


def test_cluster_page_and_dashboard_link_their_reports(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/coaching/clusters/6?fiscal_year=2567")
    href = page.locator("a", has_text="รายงานกลุ่ม (PDF)").get_attribute("href")
    assert href is not None and href.startswith("/reports/clusters/6.pdf")
    screenshots(page, "reports-cluster-page")
    sign_in_page(page, server.url, EMAIL, PASSWORD)
    # The dashboard shows one round at a time (its round selector): the link follows it.
    for round_no in (1, 2):
        page.goto(server.url + f"/coaching/dashboard?fiscal_year=2567&round={round_no}")
        links = page.locator("a", has_text="สรุปผลระดับประเทศ (PDF)")
        assert links.count() == 1
        assert links.first.get_attribute("href") == f"/reports/national/2567/{round_no}.pdf"
    page.goto(server.url + "/coaching/dashboard?fiscal_year=2567&cluster=6")
    href = page.locator("a", has_text="รายงานกลุ่ม (PDF)").get_attribute("href")
    assert href is not None and href.startswith("/reports/clusters/6.pdf")
    screenshots(page, "reports-dashboard")
    response = page.request.get(server.url + "/reports/national/2567/1.xlsx")
    assert response.status == 200 and response.body()[:2] == b"PK"
