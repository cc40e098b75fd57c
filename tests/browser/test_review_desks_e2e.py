"""Review desks show what changed, and forms put labels beside their controls, in Chromium.

Every page is taken at 1366x900 and 390x844 (PINMAP_SCREENSHOTS=<folder> keeps the PNGs) and
its geometry is asserted: each checkbox or radio is on the same line as its label's text, left
of it; each text area sits right under its own label; previews and the pin map are drawn.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from pinmap.config import PROJECT_ROOT, from_env
from pinmap.db import make_engine
from pinmap.models import (
    Evidence,
    MonitoringRound,
    Office,
    PolicyItem,
    User,
)
from pinmap.services import coaching, progress
from pinmap.services.audit import Actor
from pinmap.services.uploads import clean_upload, store

from ..support.browser import LiveServer, sign_in_page, submit
from ..support.factories import UserFactory, revisions_of

pytestmark = pytest.mark.browser

PASSWORD = "review desks e2e 42"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
OFFICE = "spp-krabi"
SCHOOLS = (
    "code,name_th,amphoe_th,level,lat,lon\n"
    "1081019901,โรงเรียนบ้าน<ทดสอบ>,เมืองกระบี่,ประถมศึกษา,8.07,98.91\n"
    "1081019902,โรงเรียนวัดทดสอบ,อ่าวลึก,ขยายโอกาส,8.35,98.72\n"
)


_PROFILE_REVISIONS = revisions_of("profile")


@dataclass
class Setup:
    url: str
    entry_id: int
    plan_id: int


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 200), "#2a6f97").save(buf, "PNG")
    return buf.getvalue()


def _pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.pages[0].Contents = pdf.make_stream(
        b"0.1 0.3 0.7 rg 40 600 515 200 re f 0 g 40 560 300 12 re f"
    )
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def setup(live_server: LiveServer) -> Iterator[Setup]:
    engine = make_engine(live_server.database_url)
    when = dt.datetime(2024, 3, 20, 3, 0, tzinfo=dt.UTC)  # inside FY2567's first window
    upload_dir = Path(from_env()["PINMAP_UPLOAD_DIR"])
    with sessionmaker(bind=engine).begin() as session:
        users = {}
        for who, role, office in (
            ("editor", "office_editor", OFFICE),
            ("reviewer", "reviewer", None),
            ("admin", "admin", None),
            ("coach", "coach", None),
        ):
            users[who] = UserFactory.create(
                session=session,
                email=f"desk-{who}@example.go.th",
                name=f"ทดสอบ {who}",
                password=PASSWORD,
                role=role,
                office_code=office,
            )
        office = session.scalars(select(Office).filter_by(code=OFFICE)).one()
        item = session.scalars(
            select(PolicyItem).filter_by(fiscal_year=2567, kind="policy").order_by(PolicyItem.no)
        ).first()
        assert item is not None
        editor = Actor(users["editor"], now=when)
        rev = progress.save_draft(
            session, editor, office, item, 2, {"status": "on_plan", "what": "อบรมครู"}, None
        )
        clean = clean_upload(io.BytesIO(_pdf()), "สรุปผล.pdf")
        stored = store(upload_dir, clean, session)
        ev = Evidence(
            kind="file",
            title="สรุปผล <การอบรม>",
            stored_name=stored,
            original_name="สรุปผล.pdf",
            mime=clean.mime,
            size_bytes=len(clean.data),
            sha256=clean.sha256,
        )
        rev = progress.add_evidence(session, editor, office, item, 2, rev.version, ev)
        entry_id = rev.entry.id
        if session.scalars(select(MonitoringRound)).first() is None:
            coaching.load_rounds(session, PROJECT_ROOT / "data" / "monitoring_rounds.csv")
        rnd = session.scalars(select(MonitoringRound).filter_by(fiscal_year=2567, round_no=2)).one()
        coach = session.scalars(select(User).filter_by(email="desk-coach@example.go.th")).one()
        plan = coaching.create_plan(session, Actor(coach), rnd.id, 13, radius_km=60)
        found = Setup(live_server.url, entry_id, plan.id)
    engine.dispose()
    yield found


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="th-TH")
    yield context.new_page()
    context.close()


def _sign_in(page: Page, url: str, who: str) -> None:
    sign_in_page(page, url, f"desk-{who}@example.go.th", PASSWORD)


# For each label holding a checkbox or radio: the box's rectangle and its text's first line.
CHECK_GEOMETRY = """() => [...document.querySelectorAll(
    'main label:has(> input[type=checkbox]), main label:has(> input[type=radio])')]
  .filter(l => l.offsetParent !== null)
  .map(l => {
    const box = l.querySelector('input').getBoundingClientRect();
    const range = document.createRange();
    const texts = [...l.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim());
    range.setStart(texts[0], texts[0].textContent.search(/\\S/));
    range.setEnd(texts[0], texts[0].textContent.search(/\\S/) + 1);
    const first = range.getBoundingClientRect();
    return {text: l.textContent.trim().slice(0, 40), box: [box.left, box.top, box.right, box.bottom],
            line: [first.left, first.top, first.right, first.bottom]};
  })"""

# For each label holding a text area: its text's last line and the nearest text area below.
TEXTAREA_GEOMETRY = """() => {
  const areas = [...document.querySelectorAll('main textarea')].filter(t => t.offsetParent !== null);
  return [...document.querySelectorAll('main label:has(> textarea)')].filter(l => l.offsetParent !== null)
    .map(l => {
      const own = l.querySelector('textarea');
      const range = document.createRange();
      range.selectNodeContents(l.firstChild);
      const rects = range.getClientRects();
      const text = rects[rects.length - 1];
      const below = areas.map(a => [a, a.getBoundingClientRect().top - text.bottom])
        .filter(([, gap]) => gap >= -2).sort((a, b) => a[1] - b[1]);
      return {text: l.textContent.trim().slice(0, 30), nearestIsOwn: below.length > 0 && below[0][0] === own,
              gap: below.length ? below[0][1] : null};
    });
}"""


def _check_forms(page: Page, what: str) -> int:
    checks = page.evaluate(CHECK_GEOMETRY)
    for c in checks:
        box, line = c["box"], c["line"]
        # On the same line: the box and the first line of the text overlap vertically...
        assert box[1] < line[3] and line[1] < box[3], (what, c)
        # ...and the box is just left of its text.
        assert box[2] <= line[0] + 1 and line[0] - box[2] < 24, (what, c)
    areas = page.evaluate(TEXTAREA_GEOMETRY)
    for a in areas:
        assert a["nearestIsOwn"] and a["gap"] < 30, (what, a)
    return len(checks) + len(areas)


def _shots(page: Page, name: str, check: bool = True) -> None:
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    for label, (w, h) in VIEWPORTS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_load_state()
        if check:
            assert _check_forms(page, f"{name} {label}") > 0, name
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{folder}/{name}-{label}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_forms_put_labels_beside_their_controls(page: Page, setup: Setup) -> None:
    url = setup.url
    _sign_in(page, url, "editor")
    page.goto(f"{url}/portal/offices/{OFFICE}/best-practices/new")
    assert page.locator("input[name=item_ids]").count() > 5
    _shots(page, "best-practice-form")
    _sign_in(page, url, "admin")
    page.goto(f"{url}/admin/ingest")
    _shots(page, "ingest-sources")
    page.goto(f"{url}/admin/framework?fiscal_year=2567")  # the year the sample framework is for
    assert page.locator("main input[type=checkbox][name=fields]").count() > 3
    _shots(page, "framework")
    _sign_in(page, url, "coach")
    page.goto(f"{url}/coaching/plans/{setup.plan_id}")
    assert page.locator("textarea[name=notes]").count() == 1
    _shots(page, "coach-plan")


def _profile_change(page: Page, url: str, live_server: LiveServer) -> int:
    """As the office editor: a pin moved 5 km east and a school list; submitted for review."""
    _sign_in(page, url, "editor")
    page.goto(f"{url}/portal/offices/{OFFICE}/profile")
    lon = float(page.input_value("input[name=lon]") or "98.9")
    page.fill("input[name=lon]", f"{lon + 0.045:.6f}")
    page.set_input_files(
        "input[name=office_photo]",
        {"name": "office.png", "mimeType": "image/png", "buffer": _png()},
    )
    if not page.input_value("input[name=lat]"):
        page.fill("input[name=lat]", "8.05")
    submit(
        page,
        page.locator(
            "form.profile-form button[name=action][value=save], "
            "form.profile-form button[type=submit]"
        ).first,
    )
    # With an office photo, the form has its "remove" box: beside its label, measured and shot.
    page.goto(f"{url}/portal/offices/{OFFICE}/profile")
    assert page.locator("input[name=drop_office_photo]").count() == 1
    _shots(page, "profile-form")
    page.goto(f"{url}/portal/offices/{OFFICE}/schools")
    page.set_input_files(
        "input[type=file]",
        {"name": "schools.csv", "mimeType": "text/csv", "buffer": SCHOOLS.encode()},
    )
    submit(
        page,
        page.locator("input[type=file]").locator("xpath=ancestor::form").locator("button").first,
    )
    engine = make_engine(live_server.database_url)
    with sessionmaker(bind=engine).begin() as session:
        rev = session.scalars(_PROFILE_REVISIONS).first()
        assert rev is not None and (rev.data or {}).get("schools"), "the school list was not staged"
        rev.state, rev.level = "submitted", 1  # the director's button; its own tests cover it
        rev_id = rev.id
    engine.dispose()
    return rev_id


def test_review_desks_show_the_pin_move_school_rows_and_previews(
    page: Page, setup: Setup, live_server: LiveServer
) -> None:
    url = setup.url
    rev_id = _profile_change(page, url, live_server)
    _sign_in(page, url, "reviewer")
    page.goto(f"{url}/review/profiles/{rev_id}")
    svg = page.locator("svg.diff-map")
    assert svg.count() == 1 and svg.locator("circle.dm-new").count() == 1
    box = svg.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100
    added = page.locator("table.diff-added tbody tr")
    assert added.count() == 2
    assert "โรงเรียนบ้าน<ทดสอบ>" in added.first.inner_text()
    # The navigation counts the waiting profile (the nav folds behind "Menu" on a phone).
    count = page.locator("#site-nav a[href$='/review/profiles'] .nav-count")
    assert count.inner_text().strip() not in ("", "0")
    _shots(page, "review-profile", check=False)

    page.goto(f"{url}/review/entries/{setup.entry_id}")
    img = page.locator(".preview-list img").first
    img.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('.preview-list img'); return i && i.complete && i.naturalWidth > 0; }"
    )
    assert page.evaluate("document.querySelector('.preview-list img').naturalWidth") == 240
    assert "สรุปผล <การอบรม>" in page.locator(".preview-list").inner_text()
    _shots(page, "review-entry", check=False)
