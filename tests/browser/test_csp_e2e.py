"""Every HTML page in real Chromium under our Content-Security-Policy: no violation, no inline
handler, every security header; the map still draws its pins and the live stream connects.

The pages come from the app's URL map, so a new page fails here until it has sample values
(PAGES) or a reason it is not a page (NOT_PAGES). Each is opened anonymously, as the office's
director, as a reviewer and as an admin, on real sample data: an office with a submitted
report, profile, operating plan and best practice, a visit plan, and an ingestion run.
"""

from __future__ import annotations

import datetime as dt
import http.server
import io
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from geoalchemy2.shape import to_shape
from PIL import Image
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pinmap import create_app
from pinmap.config import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.localdb import free_port
from pinmap.models import (
    IngestRun,
    IngestSource,
    MonitoringRound,
    Office,
    PolicyItem,
    Quarantine,
)
from pinmap.services import best_practices, plans, profiles, progress, projects
from pinmap.services import coaching as coaching_svc
from pinmap.services import questions as questions_svc
from pinmap.services import workflow as wf
from pinmap.services.accounts import request_reset
from pinmap.services.audit import Actor, utcnow
from pinmap.services.progress import fiscal_year_of

from ..support.app import TEST_CONFIG
from ..support.browser import WAIT_MS, LiveServer, settled, sign_in_page
from ..support.factories import UserFactory
from ..support.help_sample import help_sample
from ..support.serving import make_test_server

pytestmark = pytest.mark.browser

PASSWORD = "csp e2e password 1"
OFFICE = "spp-lampang-1"
FREE_OFFICE = "spp-lampang-2"
WHO = ("anonymous", "director", "reviewer", "admin")

# Pages by URL rule, filled in from Sample's fields.
PAGES = {
    "/": "/",
    "/offices": "/offices",
    "/offices/<code>": "/offices/{code}",
    "/coaching/clusters/<int:no>": "/coaching/clusters/{cluster_no}",
    "/best-practices": "/best-practices",
    "/best-practices/<int:bp_id>": "/best-practices/{bp_id}",
    "/coaching/plans": "/coaching/plans",
    "/coaching/plans/new": "/coaching/plans/new?cluster={cluster_no}&radius_km=80",
    "/coaching/plans/<int:plan_id>": "/coaching/plans/{visit_plan_id}",
    "/coaching/plans/<int:plan_id>/print": "/coaching/plans/{visit_plan_id}/print",
    "/coaching/rounds": "/coaching/rounds",
    "/coaching/rounds/<int:round_id>/evaluation": "/coaching/rounds/{round_id}/evaluation",
    "/coaching/rounds/<int:round_id>/sessions": "/coaching/rounds/{round_id}/sessions",
    "/coaching/rounds/<int:round_id>/statuses": "/coaching/rounds/{round_id}/statuses",
    "/coaching/dashboard": "/coaching/dashboard",
    "/coaching/dashboard/offices": "/coaching/dashboard/offices?cluster={cluster_no}&state=all",
    "/portal/login": "/portal/login",
    "/portal/": "/portal/",
    "/portal/password": "/portal/password",
    "/portal/inbox": "/portal/inbox",
    "/portal/inbox/settings": "/portal/inbox/settings",
    "/portal/my-items": "/portal/my-items",
    "/portal/offices/<code>/assignments": "/portal/offices/{code}/assignments?fiscal_year={fy}",
    "/portal/offices/<code>/assignments/late": "/portal/offices/{code}/assignments/late?fiscal_year={fy}",
    "/portal/forgot": "/portal/forgot",
    "/portal/reset/<token>": "/portal/reset/{reset_token}",
    "/portal/results": "/portal/results",
    "/portal/offices/<code>": "/portal/offices/{code}",
    "/portal/offices/<code>/entries/<int:fiscal_year>/<int:round_no>/<kind>/<no>": "/portal/offices/{code}/entries/{fy}/{round_no}/{item_kind}/{item_no}",
    "/portal/offices/<code>/profile": "/portal/offices/{code}/profile",
    "/portal/offices/<code>/schools": "/portal/offices/{code}/schools",
    "/portal/offices/<code>/results": "/portal/offices/{code}/results",
    "/portal/offices/<code>/coaching": "/portal/offices/{code}/coaching",
    "/portal/offices/<code>/plan": "/portal/offices/{code}/plan",
    "/portal/offices/<code>/plan/<int:fiscal_year>": "/portal/offices/{code}/plan/{plan_fy}",
    "/portal/offices/<code>/best-practices": "/portal/offices/{code}/best-practices",
    "/portal/offices/<code>/best-practices/new": "/portal/offices/{code}/best-practices/new",
    "/portal/offices/<code>/best-practices/<int:bp_id>": "/portal/offices/{code}/best-practices/{bp_id}",
    "/review/": "/review/",
    "/review/entries/<int:entry_id>": "/review/entries/{entry_id}",
    "/review/profiles": "/review/profiles",
    "/review/profiles/<int:rev_id>": "/review/profiles/{profile_rev_id}",
    "/review/plans/<int:plan_id>": "/review/plans/{operating_plan_id}",
    "/portal/offices/<code>/projects": "/portal/offices/{code}/projects",
    "/portal/offices/<code>/projects/<int:project_id>": "/portal/offices/{code}/projects/{project_id}",
    "/portal/offices/<code>/projects/<int:project_id>/quarters/<int:quarter>": "/portal/offices/{code}/projects/{project_id}/quarters/{quarter}",
    "/review/projects": "/review/projects",
    "/review/bulk/<kind>": "/review/bulk/quarterly_project",
    "/portal/offices/<code>/send/<kind>/<int:fiscal_year>": "/portal/offices/{code}/send/quarterly_project/{plan_fy}",
    "/review/projects/<int:report_id>": "/review/projects/{project_report_id}",
    "/review/best-practices/<int:bp_id>": "/review/best-practices/{bp_id}",
    "/admin/": "/admin/",
    "/admin/users": "/admin/users",
    "/admin/outbox": "/admin/outbox",
    "/admin/windows": "/admin/windows",
    "/admin/catalogue": "/admin/catalogue",
    "/admin/framework": "/admin/framework",
    "/admin/deadlines": "/admin/deadlines",
    "/admin/workflow": "/admin/workflow",
    "/admin/audit": "/admin/audit",
    "/admin/ingest": "/admin/ingest",
    "/admin/ingest/runs": "/admin/ingest/runs",
    "/admin/ingest/runs/<int:run_id>/quarantine": "/admin/ingest/runs/{run_id}/quarantine",
    "/admin/ingest/conflicts": "/admin/ingest/conflicts",
    "/admin/ingest/consistency": "/admin/ingest/consistency",
    "/help/": "/help/",
    "/help/news": "/help/news",
    "/help/news/<int:news_id>": "/help/news/{news_id}",
    "/help/news/new": "/help/news/new",
    "/help/news/<int:news_id>/edit": "/help/news/{news_id}/edit",
    "/help/documents": "/help/documents",
    "/help/documents/<int:doc_id>": "/help/documents/{doc_id}",
    "/help/documents/new": "/help/documents/new",
    "/help/documents/<int:doc_id>/replace": "/help/documents/{doc_id}/replace",
    "/help/contact": "/help/contact",
    "/help/contact/edit": "/help/contact/edit",
    "/admin/levels": "/admin/levels",
    "/results/levels": "/results/levels",
    "/help/questions": "/help/questions",
    "/help/questions/<int:question_id>": "/help/questions/{question_id}",
    "/help/faq": "/help/faq?q=MES&category=reporting",
}

# Pages that send each visitor on to the page for them (a portal home, this year's plan).
REDIRECTS = {"/portal/", "/portal/offices/<code>/plan"}

# GET routes that answer with something other than a page (they get the generic headers only).
NOT_PAGES = {
    "/healthz": "JSON",
    "/basemap/<fingerprint>.topo.json": "the basemap's TopoJSON data",
    "/map-bundle/<fingerprint>.js": "the national map's one script",
    "/lang/<locale>": "sets a cookie and redirects back to the page",
    "/exports/<any(offices, results):what>.<any(csv, xlsx):fmt>": "data export",
    "/exports/offices.geojson": "data export",
    "/admin/catalogue/export.csv": "CSV download",
    "/admin/users/template.csv": "CSV download",
    "/admin/framework/<int:fiscal_year>.<fmt>": "framework download (CSV, XLSX)",
    "/coaching/plans/<int:plan_id>.<fmt>": "plan export (CSV, XLSX, GeoJSON, iCalendar)",
    "/reports/offices/<code>.<any(pdf, xlsx):fmt>": "office report (PDF, XLSX)",
    "/reports/clusters/<int:no>.<any(pdf, xlsx):fmt>": "cluster report (PDF, XLSX)",
    "/reports/national/<int:fiscal_year>/<int:round_no>.<any(pdf, xlsx):fmt>": "national report",
    "/reports/progress.<any(csv, xlsx):fmt>": "progress reports (CSV, XLSX)",
    "/coaching/dashboard/export.<fmt>": "dashboard tables as CSV / XLSX",
    "/coaching/rounds/<int:round_id>/sessions.ics": "iCalendar",
    "/portal/offices/<code>/coaching/sessions.ics": "iCalendar",
    "/photos/<int:photo_id>/<any(full, thumb):size>": "image file",
    "/portal/evidence/<int:evidence_id>": "evidence file",
    "/best-practices/<int:bp_id>/files/<int:index>": "attachment file",
    "/previews/evidence/<int:evidence_id>.png": "preview image of an evidence file",
    "/previews/best-practices/<int:bp_id>/<int:index>.png": "preview image of an attachment",
    "/help/documents/<int:doc_id>/versions/<int:version_no>": "library document file",
    "/clusters": "moved: redirects to /coaching/clusters",
    "/clusters/<path:rest>": "moved: redirects to /coaching/clusters/…",
    "/dashboard": "moved: redirects to /coaching/dashboard",
    "/dashboard/<path:rest>": "moved: redirects to /coaching/dashboard/…",
    "/plans": "moved: redirects to /coaching/plans",
    "/plans/<path:rest>": "moved: redirects to /coaching/plans/…",
    "/rounds": "moved: redirects to /coaching/rounds",
    "/rounds/<path:rest>": "moved: redirects to /coaching/rounds/…",
    "/admin/levels/<int:fiscal_year>.<fmt>": "level scales download (CSV, XLSX)",
    "/results/levels.<any(csv, xlsx):fmt>": "level shares download (CSV, XLSX)",
}

# Runs before any script of the page: collects violations the page could otherwise hide, and
# counts print dialogues (the real one still opens).
WATCH_JS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} `
                    + `at ${e.sourceFile}:${e.lineNumber} ${e.sample}`);
}, true);
window.__printed = 0;
const realPrint = window.print.bind(window);
window.print = () => { window.__printed += 1; return realPrint(); };
"""

INLINE_CODE_JS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll("*")) {
    for (const a of el.attributes) {
      const url = ["href", "src", "action", "formaction"].includes(a.name)
        && a.value.trim().toLowerCase().startsWith("javascript:");
      if (a.name.startsWith("on") || url) bad.push(`<${el.localName} ${a.name}="${a.value}">`);
    }
  }
  return bad;
}"""

AFTER_A_TASK_TURN_JS = """() => new Promise(done => setTimeout(() => setTimeout(done, 0), 0))
  .then(() => location.pathname + location.search)"""

# No zoom animation running, every tile loaded, and the tiles of one zoom level at most left
# (Leaflet prunes the others once the current ones are loaded and faded in).
TILES_SETTLED_JS = """() => !document.querySelector(".leaflet-zoom-anim")
  && [...document.querySelectorAll("img.leaflet-tile")].every(i => i.complete)
  && [...document.querySelectorAll(".leaflet-tile-container")]
       .filter(c => c.querySelector("img.leaflet-tile")).length <= 1"""

COUNT_PINS_JS = """() => {
  let n = 0;
  document.querySelectorAll('.marker-cluster span').forEach(s => { n += parseInt(s.textContent, 10); });
  return n + document.querySelectorAll('.leaflet-marker-icon.pin-icon').length;
}"""


@dataclass
class Sample:
    code: str
    cluster_no: int
    fy: int
    round_no: int
    item_kind: str
    item_no: str
    entry_id: int
    bp_id: int
    profile_rev_id: int
    plan_fy: int
    operating_plan_id: int
    visit_plan_id: int
    round_id: int
    run_id: int
    project_id: int
    quarter: int
    project_report_id: int
    reset_token: str
    news_id: int = 0  # the help centre's news item and library document
    doc_id: int = 0
    question_id: int = 0

    def url(self, rule: str) -> str:
        return PAGES[rule].format(**self.__dict__)


def _reset_token(session: Session) -> str:
    """A live reset link's token (opening the page does not spend it)."""
    found = request_reset(session, "csp-editor@example.go.th", "127.0.0.2", utcnow())
    assert found is not None
    return found[1]


@pytest.fixture(scope="module")
def sample(live_server: LiveServer) -> Sample:
    engine = make_engine(live_server.database_url)
    when = dt.datetime(2024, 3, 20, 3, 0, tzinfo=dt.UTC)  # inside FY2567 phase 1
    with sessionmaker(bind=engine).begin() as session:
        office = session.scalars(select(Office).filter_by(code=OFFICE)).one()
        users = {
            who: UserFactory.create(
                session=session,
                email=f"csp-{who}@example.go.th",
                name=who,
                password=PASSWORD,
                role=role,
                office_code=OFFICE if role.startswith("office") else None,
            )
            for who, role in (
                ("director", "office_director"),
                ("reviewer", "reviewer"),
                ("admin", "admin"),
            )
        }
        # An office with nothing submitted, whose profile form is open for editing.
        UserFactory.create(
            session=session,
            email="csp-editor@example.go.th",
            name="editor",
            password=PASSWORD,
            role="office_editor",
            office_code=FREE_OFFICE,
        )
        director = users["director"]
        item = session.scalars(
            select(PolicyItem).filter_by(fiscal_year=2567, kind="policy", no=3)
        ).one()
        rev = progress.save_draft(
            session,
            Actor(director, now=when),
            office,
            item,
            1,
            {
                "status": "on_plan",
                "what": "อบรมครู",
                "where": "ลำปาง",
                "how": "ออนไลน์",
                "result": "ครบ",
            },
            None,
        )
        entry = progress.find_entry(session, office.id, item.id, 1)
        assert entry is not None
        progress.submit(session, Actor(director, now=when), entry, rev.version)

        point = to_shape(office.geom)
        prof = profiles.save_draft(
            session,
            Actor(director),
            office,
            {
                "address": "ถนนพหลโยธิน อ.เมืองลำปาง",
                "phone": "0 5422 1234",
                "email": "saraban@lampang1.go.th",
                "website": "https://lampang1.go.th",
                "staff_count": "80",
                "people": [{"role": "director", "name": "นายทดสอบ ระบบ", "position": "ผู้อำนวยการ"}],
            },
            (point.x, point.y),
            None,
        )
        profiles.submit(session, Actor(director), office, prof.version)

        plan_fy = fiscal_year_of(Actor(director).today_bangkok)
        op = plans.save(
            session,
            Actor(director),
            office,
            plan_fy,
            {
                "problem": "ผลสัมฤทธิ์ต่ำ",
                "approach": "นิเทศ",
                "targets": "ร้อยละ 80",
                "timeline": "ตลอดปี",
            },
            None,
        )
        assert op.current is not None
        plans.submit(session, Actor(director), op, op.current.version)

        # A quarterly project report sent for review, in the quarter that is open today.
        today = Actor(director).today_bangkok
        quarter = next(
            q
            for q in projects.QUARTERS
            if projects.quarter_bounds(plan_fy, q)[0]
            <= today
            <= projects.quarter_bounds(plan_fy, q)[1]
        )
        project = projects.save_project(
            session,
            Actor(director),
            office,
            plan_fy,
            {"name": "โครงการพัฒนาครู", "budget_planned": "250000"},
        )
        quarterly = projects.save_quarter(
            session,
            Actor(director),
            project,
            quarter,
            {
                "target_progress": "ร้อยละ 60",
                "activity_progress": "อบรมครู 3 รุ่น",
                "budget_disbursement": "รอเบิก",
                "master_plan": "แผนแม่บท",
                "nesdp13": "หมุดหมายที่ 12",
                "problems_suggestions": "งบล่าช้า",
                "budget_planned_to_date": "1000",
                "budget_disbursed": "400",
            },
            None,
        )
        assert quarterly.current is not None
        wf.submit(session, Actor(director), quarterly, quarterly.current.version)

        bp = best_practices.save(
            session,
            Actor(director),
            office,
            None,
            {
                "title": "ห้องเรียนคุณภาพ",
                "owner": "กลุ่มนิเทศ",
                "fiscal_year": "2567",
                "item_ids": [item.id],
                "background": "<p>ที่มา</p>",
                "objectives": "<p>เป้า</p>",
                "process": "<p>วิธี</p>",
                "results": "<p>ผล</p>",
                "success_factors": "<p>ปัจจัย</p>",
            },
            None,
        )
        best_practices.submit(session, Actor(director), bp, bp.version)

        if session.scalars(select(MonitoringRound)).first() is None:
            coaching_svc.load_rounds(session, PROJECT_ROOT / "data" / "monitoring_rounds.csv")
        rnd = session.scalars(select(MonitoringRound).filter_by(fiscal_year=2567, round_no=2)).one()
        visit = coaching_svc.create_plan(
            session, Actor(users["admin"]), rnd.id, office.cluster_no, radius_km=80
        )

        source = IngestSource(
            name="demo-csp", kind="progress-json", url="http://127.0.0.1:9/x", interval_seconds=3600
        )
        session.add(source)
        session.flush()
        run = IngestRun(
            source_id=source.id,
            started_at=utcnow(),
            finished_at=utcnow(),
            outcome="ok",
            fetched=1,
            quarantined=1,
        )
        session.add(run)
        session.flush()
        session.add(
            Quarantine(
                run_id=run.id,
                source_id=source.id,
                source_record_id="r1",
                field="status",
                reason="unknown status",
                raw='{"status": "x"}',
            )
        )
        session.flush()
        found = Sample(
            code=OFFICE,
            cluster_no=office.cluster_no,
            fy=2567,
            round_no=1,
            item_kind=item.kind,
            item_no=item.no,
            entry_id=entry.id,
            bp_id=bp.id,
            profile_rev_id=prof.id,
            plan_fy=plan_fy,
            operating_plan_id=op.id,
            visit_plan_id=visit.id,
            round_id=rnd.id,
            run_id=run.id,
            project_id=project.id,
            quarter=quarter,
            project_report_id=quarterly.id,
            reset_token=_reset_token(session),
            **help_sample(session),
            question_id=questions_svc.ask(session, Actor(director), "reporting", "ถาม", "คำถาม").id,
        )
    engine.dispose()
    return found


@pytest.fixture(scope="module")
def html_rules(live_server: LiveServer) -> list[str]:
    """Every GET rule of the app that serves a page (not the API, not static files)."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_URL": live_server.database_url})
    rules = sorted(
        {
            r.rule
            for r in app.url_map.iter_rules()
            if "GET" in (r.methods or ())
            and r.endpoint != "static"
            and not r.rule.startswith("/api/")
        }
    )
    app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()
    return [r for r in rules if r not in NOT_PAGES]


@dataclass
class Visitor:
    who: str
    page: Page
    console: list[str]

    def open(self, url: str) -> tuple[int, str, dict[str, str]]:
        """Go to `url`; (status, final path, response headers)."""
        response = self.page.goto(url, wait_until="load")
        assert response is not None, url
        # Violations are reported in a task of their own after the offending script: the
        # address is read once the page's event loop has turned after its load event.
        path = self.page.evaluate(AFTER_A_TASK_TURN_JS)
        return response.status, path, response.all_headers()

    def problems(self) -> list[str]:
        violations, inline = self.page.evaluate(f"() => [window.__csp, ({INLINE_CODE_JS})()]")
        found = [f"violation: {v}" for v in violations]
        found += [f"inline code: {x}" for x in inline]
        found += [f"console: {m}" for m in self.console]
        self.console.clear()
        return found


def _visitor(browser: Browser, server: LiveServer, who: str, **context: Any) -> Iterator[Visitor]:
    ctx = browser.new_context(locale="th-TH", **context)
    ctx.add_init_script(WATCH_JS)
    page = ctx.new_page()
    visitor = Visitor(who, page, [])

    def on_console(message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            visitor.console.append(f"{message.type}: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: visitor.console.append(f"page error: {e}"))
    if who != "anonymous":
        sign_in_page(page, server.url, f"csp-{who}@example.go.th", PASSWORD)
    yield visitor
    ctx.close()


@pytest.fixture
def visitor(browser: Browser, live_server: LiveServer, sample: Sample) -> Iterator[Visitor]:
    yield from _visitor(browser, live_server, "admin", viewport={"width": 1366, "height": 900})


def header_problems(url: str, headers: dict[str, str]) -> list[str]:
    csp = {}
    for part in headers.get("content-security-policy", "").split(";"):
        words = part.split()
        if words:
            csp[words[0]] = words[1:]
    expected = {
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "default-src": ["'self'"],
        "connect-src": ["'self'"],
    }
    found = [f"{url}: {d} is {csp.get(d)}" for d, v in expected.items() if csp.get(d) != v]
    script = csp.get("script-src", [])
    if "'unsafe-inline'" in script or not any(s.startswith("'nonce-") for s in script):
        found.append(f"{url}: script-src is {script}")
    for name, value in (
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
    ):
        if headers.get(name) != value:
            found.append(f"{url}: {name} is {headers.get(name)!r}")
    return found


def test_every_page_runs_under_the_policy_for_every_kind_of_visitor(
    browser: Browser, live_server: LiveServer, sample: Sample, html_rules: list[str]
) -> None:
    unknown = [r for r in html_rules if r not in PAGES]
    assert unknown == [], "give these pages sample values in PAGES (or a reason in NOT_PAGES)"
    rendered: dict[str, list[str]] = {rule: [] for rule in html_rules}
    answers: dict[str, list[tuple[str, int, str]]] = {rule: [] for rule in html_rules}
    problems: list[str] = []
    for who in WHO:
        for visitor in _visitor(browser, live_server, who):
            for rule in html_rules:
                url = sample.url(rule)
                status, path, headers = visitor.open(live_server.url + url)
                problems += header_problems(f"{who} {url}", headers)
                problems += [f"{who} {url}: {p}" for p in visitor.problems()]
                answers[rule].append((who, status, path))
                if status == 200 and (path == url or rule in REDIRECTS):
                    rendered[rule].append(who)
    assert problems == []
    # Each page was really shown (not only a sign-in page or a 404) to someone it is for.
    unseen = {rule: answers[rule] for rule, seen in rendered.items() if not seen}
    assert not unseen, f"never shown (who, status, final URL): {unseen}"
    staff_pages = [r for r in html_rules if r.startswith("/portal/offices/")]
    assert [r for r in staff_pages if "director" not in rendered[r]] == []
    review_pages = [r for r in html_rules if r.startswith("/review/")]
    assert [r for r in review_pages if "reviewer" not in rendered[r]] == []
    assert [r for r in html_rules if r.startswith("/admin/") and "admin" not in rendered[r]] == []


def test_the_map_draws_every_pin_and_listens_live_under_the_policy(
    visitor: Visitor, live_server: LiveServer
) -> None:
    page = visitor.page
    streams: list[tuple[int, str]] = []
    page.on(
        "response",
        lambda r: (
            "/api/v1/stream" in r.url
            and streams.append((r.status, r.headers.get("content-type", "")))
        ),
    )
    status, _, headers = visitor.open(live_server.url + "/")
    assert status == 200 and header_problems("/", headers) == []
    page.wait_for_selector("html[data-pins-ready='1']", timeout=WAIT_MS)
    settled(page, COUNT_PINS_JS)  # markercluster animates its first layout
    assert page.evaluate(COUNT_PINS_JS) == 245
    open_stream = "() => PinMap.source && PinMap.source.readyState === EventSource.OPEN"
    page.wait_for_function(open_stream, timeout=5_000)
    assert streams and streams[0][0] == 200 and streams[0][1].startswith("text/event-stream")
    # The filter form applies as it changes; Enter in the search box must not reload the page.
    # (The filters are written into the address by the history API, so the address is no
    # longer "/": a mark left on the window shows that the page was not loaded again.)
    page.evaluate("window.__notReloaded = true")
    page.fill("#f-q", "ลำปาง")
    page.press("#f-q", "Enter")
    page.wait_for_function("() => PinMap.state.shown > 0 && PinMap.state.shown < 245")
    assert page.evaluate("location.pathname") == "/"
    assert page.evaluate("decodeURIComponent(location.search)") == "?q=ลำปาง"
    assert page.evaluate("window.__notReloaded === true")
    assert visitor.problems() == []


def test_moved_handlers_still_work(
    visitor: Visitor, live_server: LiveServer, sample: Sample
) -> None:
    page = visitor.page
    visitor.open(f"{live_server.url}/offices/{sample.code}")
    page.click("button[data-print]")
    page.wait_for_function("() => window.__printed === 1")
    visitor.open(f"{live_server.url}/coaching/plans/{sample.visit_plan_id}/print")
    page.click("button[data-print]")
    page.wait_for_function("() => window.__printed === 1")

    visitor.open(live_server.url + "/admin/windows")
    years = page.eval_on_selector_all(
        "select[name=fiscal_year] option", "os => os.map(o => o.value)"
    )
    page.select_option("select[name=fiscal_year]", years[-1])
    page.wait_for_url(f"**/admin/windows?fiscal_year={years[-1]}")

    assert visitor.problems() == []


def test_profile_editor_pin_follows_the_inputs_and_back(
    browser: Browser, live_server: LiveServer, sample: Sample
) -> None:
    for visitor in _visitor(browser, live_server, "editor"):
        page = visitor.page
        visitor.open(f"{live_server.url}/portal/offices/{FREE_OFFICE}/profile")
        marker = "window[document.querySelector('script[data-marker]').dataset.marker]"
        page.fill("#f-lat", "18.3")
        page.fill("#f-lon", "99.5")
        page.dispatch_event("#f-lon", "change")
        assert page.evaluate(f"{marker}.getLatLng().lat") == pytest.approx(18.3)
        assert page.evaluate(f"{marker}.getLatLng().lng") == pytest.approx(99.5)
        # A drag ends with the inputs set from the pin.
        page.evaluate(f"() => {{ {marker}.setLatLng([18.25, 99.45]).fire('dragend'); }}")
        assert page.input_value("#f-lat") == "18.250000"
        assert page.input_value("#f-lon") == "99.450000"
        assert visitor.problems() == []


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_screenshots_of_the_map_pages(
    browser: Browser, live_server: LiveServer, sample: Sample, size: tuple[int, int]
) -> None:
    """The map pages at both sizes draw their maps under the policy, and, with
    $PINMAP_SCREENSHOTS set, pictures of them to look at (the policy must not change how a page
    looks). Without it no picture is taken: a picture asserts nothing."""
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    for visitor in _visitor(
        browser, live_server, "admin", viewport={"width": size[0], "height": size[1]}
    ):
        page = visitor.page
        for name, url in (
            ("map", "/"),
            ("office", f"/offices/{sample.code}"),
            ("plan", f"/coaching/plans/{sample.visit_plan_id}"),
        ):
            visitor.open(live_server.url + url)
            if name == "map":
                page.wait_for_selector("html[data-pins-ready='1']", timeout=15_000)
            page.wait_for_selector(".leaflet-interactive")  # the map's own layers are drawn
            if folder:
                # The picture once the basemap is drawn and the pins' first layout has ended.
                page.wait_for_selector(".leaflet-container[data-basemap-ready='1']")
                if name == "map":
                    settled(page, COUNT_PINS_JS)
                Path(folder).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{folder}/{name}-{size[0]}x{size[1]}.png", full_page=False)
            assert visitor.problems() == []


class _TileHandler(http.server.BaseHTTPRequestHandler):
    """A tile host of another origin: one grey PNG for every /z/x/y.png."""

    tile = b""

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.tile)))
        self.end_headers()
        self.wfile.write(self.tile)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def tiled_server(live_server: LiveServer) -> Iterator[str]:
    """The app with PINMAP_TILES pointing at a tile server on another port (another origin)."""
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 210, 220)).save(buf, "PNG")
    _TileHandler.tile = buf.getvalue()
    tiles = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _TileHandler)
    threading.Thread(target=tiles.serve_forever, daemon=True).start()
    app = create_app(
        {
            **TEST_CONFIG,
            "SQLALCHEMY_URL": live_server.database_url,
            "PINMAP_UPLOAD_DIR": tempfile.mkdtemp(prefix="pinmap-e2e-up-"),
            "PINMAP_TILES": f"http://127.0.0.1:{tiles.server_port}/{{z}}/{{x}}/{{y}}.png",
            "PINMAP_TILES_ATTRIBUTION": "test tiles",
        }
    )
    srv = make_test_server(app)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        srv.server_close()
        tiles.shutdown()
        tiles.server_close()
        app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()


def test_a_configured_tile_host_draws_under_the_policy(
    browser: Browser, tiled_server: str, sample: Sample
) -> None:
    server = LiveServer(tiled_server, "", False)
    for visitor in _visitor(browser, server, "anonymous", viewport={"width": 1366, "height": 900}):
        page = visitor.page
        for url in ("/", f"/offices/{sample.code}"):
            status, _, headers = visitor.open(tiled_server + url)
            assert status == 200 and header_problems(url, headers) == []
            page.wait_for_function(
                "() => [...document.querySelectorAll('img.leaflet-tile')]"
                ".some(i => i.complete && i.naturalWidth === 256)"
            )
            # Zooming while tiles load makes Leaflet cancel them (it points them at a data: GIF).
            # The wheel turns are paced like a hand's (each its own zoom, not one merged one).
            page.mouse.move(800, 450)
            for _ in range(4):
                page.mouse.wheel(0, -300)
                page.wait_for_timeout(60)
            # Then every zoom has ended and the tiles of other levels are gone (a pruned tile is
            # pointed at the GIF too), and a task has passed for any violation to be reported.
            page.wait_for_function(TILES_SETTLED_JS)
            page.evaluate(AFTER_A_TASK_TURN_JS)
            assert visitor.problems() == []
