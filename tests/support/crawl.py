"""The page crawler's parts: sample data in every state, every GET page's addresses from the URL
map, and the checks each page's HTML must pass (tests/pinmap/test_crawl.py runs them).

What a page must not show is derived from the code where it can be: every value a CHECK
constraint allows (roles, states, outcomes, kinds, …) and every tuple of identifiers the models
declare are internal identifiers, never visible text.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import lxml.html
from flask import Flask
from sqlalchemy import text
from werkzeug.routing import Rule

from pinmap.db import Base
from pinmap.services import workflow
from pinmap.services.accounts import request_reset
from pinmap.services.audit import utcnow

from . import authz_matrix as m
from . import authz_matrix_help as help_rows
from .authz_matrix import Ctx
from .authz_matrix_levels import sample_levels
from .factories import PolicyItemFactory
from .portal import OTHER, OWN

# GET endpoints that serve no HTML page, each with the reason it is not crawled. Everything else
# in the URL map is visited; a new page is crawled without anyone adding it here.
NOT_PAGES: dict[str, str] = {
    "static": "files of static/",
    "live.stream": "an endless event stream (tests/pinmap/test_live.py)",
    "public.set_language": "sets the language cookie and redirects; the crawl picks the language",
    "public.basemap": "TopoJSON of the embedded basemap (test_basemap_route.py)",
    "public.photo": "image bytes (test_photos)",
    "public.best_practice_file": "an attached file's bytes (test_downloads.py)",
    "portal.evidence_file": "an evidence file's bytes (test_downloads.py)",
    "public.export_table": "CSV/XLSX downloads (test_export_filters.py)",
    "public.export_geojson": "a GeoJSON download (test_export_filters.py)",
    "admin.catalogue_export": "a CSV download (test_admin.py)",
    "admin.framework_export": "a CSV/XLSX download (test_framework.py)",
    "admin.levels_export": "a CSV/XLSX download of level scales (test_levels.py)",
    "public.level_shares_export": "a CSV/XLSX download of level shares (test_levels.py)",
    "coaching.plan_export": "a plan's CSV/XLSX/ICS download (test_plans.py)",
    "reports.office_document": "a PDF/XLSX download (test_reports_documents.py)",
    "reports.cluster_document": "a PDF/XLSX download (test_reports_documents.py)",
    "reports.national_document": "a PDF/XLSX download (test_reports_documents.py)",
    "reports.progress_export": "a CSV/XLSX download (test_reports_documents.py)",
    "coaching.dashboard_export": "the dashboard's CSV/XLSX downloads (test_dashboard.py)",
    "coaching.round_sessions_ics": "an iCalendar download (test_calendar_export.py)",
    "portal.coaching_sessions_ics": "an office's iCalendar download (test_coaching_offices.py)",
    "health.healthz": "JSON health check",
    "public.map_bundle_file": "the map page's script (test_pages.py, test_map_page_cache.py)",
    "public.evidence_preview": "a PNG preview of an evidence file (test_review_changes.py)",
    "public.best_practice_preview": "a PNG preview of an attachment (test_review_changes.py)",
    "help.document_file": "a library document's file (test_help.py)",
}
API_PREFIX = "/api/"  # JSON, not pages: the API tests and test_every_page.py cover its routes

# A sample value meant to be refused (its page says what to do next, and is checked as well).
REFUSED_SAMPLE = "no-such-token"

# The crawl's roles, as the issue names them: world users, and the coach.
CRAWL_ROLES = ("anonymous", "own_editor", "own_director", "reviewer", "coach", "admin")
# Public pages look the same to everyone but for the header (which every other page shows):
# they are crawled as these roles only, to keep the crawl within its time.
PUBLIC_ROLES = ("anonymous", "own_director")

# A moment no stored time may show as: 17:41 UTC is 00:41 in Bangkok (the next day).
UTC_MARK = dt.datetime(2024, 3, 4, 17, 41, tzinfo=dt.UTC)
UTC_MARK_TEXT = "17:41"


# --- the sample data --------------------------------------------------------------------------


def _with_item(c: Ctx, no: int, build: Any) -> Any:
    """Run a progress-report state builder on its own new item (one entry per state)."""
    saved = c.w.item
    session_factory = c.app.extensions["pinmap"]["session_factory"]
    with session_factory() as s:
        item = PolicyItemFactory(session=s, fiscal_year=c.fy, no=no)
        s.commit()
        c.w.item = item
    try:
        return build(c)
    finally:
        c.w.item = saved


def build_world(c: Ctx) -> None:
    """Sample data in every state the pages show: progress reports draft, submitted, returned
    and approved; a profile, a best practice (with a file) and an operating plan sent for
    review; quarterly project reports saved, sent and reviewed; visit plans draft and published;
    an ingestion source with a run and a conflict; people with Thai names; and every stored
    moment at UTC_MARK, so a time shown in UTC is seen."""
    m.ingest_conflict(c)  # a draft of the world's item, and the conflict on it
    _with_item(c, 2, m.submitted)
    _with_item(c, 3, m.returned)
    _with_item(c, 4, lambda c: m.decided(c, m.submitted(c), "approve"))
    _with_item(c, 5, m.with_link)
    m.profile_submitted(c)
    m.bp_with_file(c)
    m.bp_submitted(c)
    m.op_plan_submitted(c)
    m.quarter_reviewed(c)
    c.api().post(  # a second project, nothing reported yet
        f"/api/v1/offices/{OWN}/projects",
        headers=c.h("own_editor"),
        json={"fiscal_year": c.fy, "name": "โครงการที่สอง", "budget_planned": 500},
    )
    m.visit_plan(c)
    m.visit_plan(c, publish=True)
    # Every item given to the office's editor, due three days ago (late: "my items", who is late).
    c.conn.execute(
        text(
            "INSERT INTO item_assignments (office_id, item_id, round_no, user_id, due_on, note, "
            "assigned_by_id) SELECT o.id, i.id, 1, :ed, CURRENT_DATE - 3, 'ส่งก่อนประชุม', :dr "
            "FROM offices o, policy_items i WHERE o.code = :own AND i.fiscal_year = :fy"
        ),
        {"ed": c.user_id("own_editor"), "dr": c.user_id("own_director"), "own": OWN, "fy": c.fy},
    )
    help_rows.sample(c)  # news for everyone and for the signed-in, a document and a retired one
    sample_levels(c)
    # A question answered and published in the FAQ, and one still open (typed in lines).
    for title in ("ส่งหลักฐานอย่างไร", "ยังไม่มีคำตอบ"):
        c.page("own_editor").post(
            "/help/questions",
            data={"category": "reporting", "title": title, "body": "บรรทัดแรก\n<b>บรรทัดสอง</b>"},
        )
    first = c.scalar("SELECT min(id) FROM questions")
    c.page("reviewer").post(f"/help/questions/{first}/answer", data={"answer": "แนบไฟล์\nแล้วส่ง"})
    c.page("reviewer").post(
        f"/help/questions/{first}/faq",
        data={
            "faq_category": "reporting",
            "faq_question": "ส่งหลักฐานอย่างไร",
            "faq_answer": "แนบไฟล์",
        },
    )
    # Multi-line text as people type it.
    c.conn.execute(
        text(
            "UPDATE workflow_revisions SET data = jsonb_set(data, '{background}', to_jsonb(CAST(:t AS text)))"
            " WHERE report_id IN (SELECT id FROM workflow_reports WHERE kind = 'best_practice')"
        ),
        {"t": "บรรทัดแรก\nบรรทัดที่สอง <b>ไม่ใช่ HTML</b>"},
    )
    for who, name in {
        "own_editor": "นางสาวกรอก ข้อมูล",
        "own_director": "นายผู้อำนวยการ ทดสอบ",
        "other_editor": "นายอีกเขต หนึ่ง",
        "reviewer": "นางตรวจ ทาน",
        "admin": "นายดูแล ระบบ",
        "coach": "นางนิเทศ ติดตาม",
    }.items():
        c.conn.execute(
            text("UPDATE users SET name = :n WHERE id = :id"), {"n": name, "id": c.user_id(who)}
        )
    c.conn.execute(text("UPDATE ingest_sources SET name = 'ระบบรายงานผลกลาง'"))
    with c.app.extensions["pinmap"]["session_factory"]() as s:
        found = request_reset(s, "own_editor@example.go.th", "127.0.0.2", utcnow())
        assert found is not None
        c.reset_token = found[1]  # type: ignore[attr-defined]  # a live link, for /portal/reset
        s.commit()
    _stamp_moments(c)


# Times people typed or that decide what is open; the crawl must not move them.
_KEEP_MOMENTS = {
    "users",
    "api_tokens",
    "user_sessions",
    "login_attempts",
    "cluster_sessions",
    "password_resets",
}


def _stamp_moments(c: Ctx) -> None:
    # The audit log is append-only (a trigger refuses updates): one more record at the mark.
    c.conn.execute(
        text(
            "INSERT INTO audit_log (at, user_id, action, entity, entity_id) "
            "VALUES (:mark, :uid, 'window.update', 'reporting_window', '1')"
        ),
        {"mark": UTC_MARK, "uid": c.user_id("admin")},
    )
    for table in Base.metadata.sorted_tables:
        if table.name in _KEEP_MOMENTS or table.name == "audit_log":
            continue
        cols = [
            col.name
            for col in table.columns
            if getattr(col.type, "timezone", False) and col.type.python_type is dt.datetime
        ]
        if cols:
            sets = ", ".join(f"{col} = :mark" for col in cols)
            c.conn.execute(text(f"UPDATE {table.name} SET {sets}"), {"mark": UTC_MARK})  # noqa: S608


# --- addresses --------------------------------------------------------------------------------

_SQL: dict[str, str] = {
    "bp_id": "SELECT id FROM best_practices ORDER BY id",
    "plan_id": "SELECT id FROM visit_plans ORDER BY id",
    "round_id": "SELECT id FROM monitoring_rounds ORDER BY (id IN (SELECT round_id FROM "
    "visit_plans)) DESC, fiscal_year DESC, round_no LIMIT 2",
    "entry_id": "SELECT id FROM workflow_reports WHERE kind = 'progress' ORDER BY id",
    "rev_id": "SELECT v.id FROM workflow_revisions v JOIN workflow_reports r ON r.id = v.report_id "
    "WHERE r.kind = 'profile' ORDER BY v.id",
    "report_id": "SELECT id FROM workflow_reports WHERE kind = 'quarterly_project' ORDER BY id",
    "run_id": "SELECT id FROM ingest_runs ORDER BY id",
    "project_id": "SELECT id FROM projects ORDER BY id",
    "news_id": "SELECT id FROM help_news ORDER BY id",
    "doc_id": "SELECT id FROM help_documents ORDER BY id",
    "question_id": "SELECT id FROM questions ORDER BY id",
}
# Endpoints whose arguments come from one row together (an entry's address, a report's quarter).
_ROWS_SQL: dict[str, str] = {
    "portal.entry": "SELECT o.code, e.fiscal_year, e.period AS round_no, i.kind, i.no "
    "FROM workflow_reports e JOIN offices o ON o.id = e.office_id "
    "JOIN policy_items i ON i.id = e.subject_id WHERE e.kind = 'progress' ORDER BY e.id",
    "portal.quarter_report": "SELECT o.code, p.id AS project_id, q.quarter "
    "FROM projects p JOIN offices o ON o.id = p.office_id "
    "CROSS JOIN (VALUES (1), (4)) AS q(quarter) ORDER BY p.id",
    "review.review_plan": "SELECT id AS plan_id FROM workflow_reports "
    "WHERE kind = 'operating_plan' ORDER BY id",
    "portal.best_practice_edit": "SELECT o.code, b.id AS bp_id FROM best_practices b "
    "JOIN offices o ON o.id = b.office_id ORDER BY b.id",
    "portal.project": "SELECT o.code, p.id AS project_id FROM projects p "
    "JOIN offices o ON o.id = p.office_id ORDER BY p.id",
}


def _values(c: Ctx, name: str, rule: Rule) -> list[Any]:
    if name in _SQL:
        return list(c.conn.execute(text(_SQL[name])).scalars())
    if name == "code":
        return [OWN, OTHER]
    if name == "fiscal_year":
        return [c.fy, 2567] if c.fy != 2567 else [c.fy]
    if name == "no":  # a cluster: the one the visit plans are in
        return [13]
    if name == "rest":
        return ["13"]
    if name == "quarter":
        return [1]
    if name == "kind":  # a kind of report the workflow engine knows (the bulk pages)
        return sorted(workflow.KINDS)
    if name == "token":  # a password-reset link: live, and one that is not (its refusal page)
        return [c.reset_token, REFUSED_SAMPLE]
    raise AssertionError(f"the crawler has no sample value for <{name}> of {rule.rule}")


def addresses(app: Flask, c: Ctx) -> Iterator[tuple[str, str]]:
    """(endpoint, URL) of every GET page of the URL map, with every sample value."""
    seen: set[str] = set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or rule.endpoint in NOT_PAGES:
            continue
        if rule.rule.startswith(API_PREFIX):
            continue
        args = sorted(rule.arguments)
        if rule.endpoint in _ROWS_SQL:
            rows = [dict(r._mapping) for r in c.conn.execute(text(_ROWS_SQL[rule.endpoint]))]
            combos = [{k: r[k] for k in args} for r in rows if set(args) <= set(r)]
        else:
            lists = [_values(c, name, rule) for name in args]
            combos = [dict(zip(args, vals, strict=True)) for vals in itertools.product(*lists)]
        for combo in combos:
            with app.test_request_context():
                url = app.url_for(rule.endpoint, **combo)
            if url not in seen:
                seen.add(url)
                yield rule.endpoint, url


# --- what a page must not show ----------------------------------------------------------------


IDENT = re.compile(r"[a-z][a-z0-9_\-]*[a-z0-9]")


def identifiers() -> set[str]:
    """Every value a CHECK constraint allows and every identifier tuple the models declare."""
    found: set[str] = set()
    for table in Base.metadata.tables.values():
        for con in table.constraints:
            sql = str(getattr(con, "sqltext", ""))
            if " IN (" in sql:
                found.update(re.findall(r"'([a-z][a-z0-9_\-]*)'", sql))
    # Identifier tuples of every module of the app (the models', the services' statuses, …).
    for name, module in list(sys.modules.items()):
        if name != "pinmap" and not name.startswith("pinmap."):
            continue
        for value in vars(module).values():
            if isinstance(value, tuple | frozenset) and value:
                if all(isinstance(v, str) for v in value):
                    found.update(v for v in value if IDENT.fullmatch(v))
    return found


SNAKE = re.compile(r"(?<![\w@./:-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@/-])")
URLISH = re.compile(
    r"\S+@\S+|https?://\S*|\.(?:ics|csv|xlsx|pdf|png|jpg)\b|\b[\w-]+\.(?:go\.th|ac\.th|com|org|th)\S*"
)
ISO_DAY = re.compile(r"\b(?:19|20|25|26)\d\d-\d\d-\d\d\b")
CE_YEAR = re.compile(r"(?<![\d.,/-])(?:19[5-9]\d|20\d\d)(?![\d.,])")
# A Latin gloss in brackets after a Thai term: "กลุ่ม (Cluster)", "เส้นตรง (great-circle)".
GLOSS = re.compile(r"\([A-Za-z][A-Za-z0-9 .,'’\-]*\)")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
# Latin words a Thai page may show: product and format names, people's and programmes' own names.
THAI_PAGE_LATIN = {
    "pinmap",
    "English",
    "Quick",
    "Win",
    "Zoom",
    "Google",
    "Meet",
    "Microsoft",
    "Teams",
    "Leaflet",
    "OpenStreetMap",
    "Natural",
    "Earth",
    "GeoJSON",
    "Excel",
    "Line",
    "Facebook",
    "TopoJSON",
    "ThaiSchool",
    "eMENSCR",
    "WebP",
    "Zero",
    "Dropout",
    "Active",
    "Learning",
    "Safety",
    "Center",
    "Anywhere",
    "Anytime",
}
# A control whose label starts with one of these verbs destroys or undoes something. Thai has no
# spaces between words, so the Thai verbs are matched at the start of the label only.
DESTRUCTIVE = re.compile(
    r"\b(delete|remove|deactivate|unapprove|revoke|discard|withdraw|reset)\b"
    r"|^\s*(ลบ|นำออก|ปิดการใช้งาน|ระงับ|เพิกถอน|ยกเลิกการอนุมัติ|ถอน)",
    re.IGNORECASE,
)
# Not visible text: scripts, code and what a field holds (a <textarea> is a field's value).
_HIDDEN_TEXT = ("script", "style", "template", "noscript", "code", "pre", "kbd", "samp", "textarea")
_LABEL_FREE_TYPES = {"hidden", "submit", "button", "image", "reset"}


@dataclass
class Finding:
    url: str
    who: str
    lang: str
    what: str
    endpoint: str = ""

    def __str__(self) -> str:
        return f"[{self.who} {self.lang}] {self.url}: {self.what}"

    @property
    def key(self) -> tuple[str, str]:
        """(endpoint, what was found without the text it was found in): ids and years in the
        address change from run to run."""
        return self.endpoint, self.what.split(" in '")[0]


@dataclass
class PageChecks:
    vocabulary: set[str] = field(default_factory=identifiers)

    def check(self, html: str, url: str, who: str, lang: str, endpoint: str) -> list[Finding]:
        doc = lxml.html.document_fromstring(html)
        out: list[str] = []
        texts = [t for t, declared_en in _visible_texts(doc) if not (lang == "th" and declared_en)]
        out += self._text(texts, lang)
        out += _destructive_without_confirm(doc)
        out += _unlabelled(doc)
        return [Finding(url, who, lang, what, endpoint) for what in dict.fromkeys(out)]

    def _text(self, texts: Iterable[str], lang: str) -> list[str]:
        out = []
        for raw in texts:
            chunk = URLISH.sub(" ", raw)
            for token in SNAKE.findall(chunk):
                out.append(f"identifier {token!r} in {raw.strip()[:80]!r}")
            if UTC_MARK_TEXT in chunk:
                out.append(f"a UTC time in {raw.strip()[:80]!r}")
            if lang != "th":
                continue
            for word in re.findall(r"(?<![\w-])[a-z][a-z0-9\-]*(?![\w-])", chunk):
                if word in self.vocabulary:
                    out.append(f"identifier {word!r} in {raw.strip()[:80]!r}")
            if ISO_DAY.search(chunk):
                out.append(f"ISO date in {raw.strip()[:80]!r}")
            elif CE_YEAR.search(chunk):
                out.append(f"Christian-era year in {raw.strip()[:80]!r}")
            english = [w for w in LATIN_WORD.findall(GLOSS.sub(" ", chunk)) if _is_english(w)]
            if english:
                out.append(
                    f"English on a Thai page: {' '.join(english)[:60]!r} in {raw.strip()[:80]!r}"
                )
        return out


def _is_english(word: str) -> bool:
    if word in THAI_PAGE_LATIN or len(word) < 2:
        return False
    # Acronyms and codes (O-NET, CSV, PDF, ICS, API) are written in capitals in Thai text too.
    return not word.isupper()


def _visible_texts(doc: Any) -> Iterator[tuple[str, bool]]:
    """Each visible text, and whether it sits in an element declared English (lang="en").

    One walk in document order that carries down what the ancestors decide (hidden; declared
    English), instead of climbing to the root again from every element."""
    stack: list[tuple[Any, bool]] = [(doc, False)]
    while stack:
        el, declared_en = stack.pop()
        if not isinstance(el.tag, str) or el.tag in _HIDDEN_TEXT or el.get("hidden") is not None:
            continue  # and so is everything inside it
        declared_en = declared_en or el.get("lang") == "en"
        if el.text and el.text.strip():
            yield el.text, declared_en
        for attr in ("title", "placeholder", "aria-label", "alt"):
            if el.get(attr):
                yield el.get(attr), declared_en
        if el.tag == "input" and el.get("type") in ("submit", "button") and el.get("value"):
            yield el.get("value"), declared_en
        # Text after a child belongs to this element (the child may be <code>).
        for child in el:
            if child.tail and child.tail.strip():
                yield child.tail, declared_en
        stack.extend((child, declared_en) for child in reversed(el))


def _control_text(el: Any) -> str:
    if el.tag == "input":
        return el.get("value") or ""
    return el.text_content()


def _destructive_without_confirm(doc: Any) -> list[str]:
    out = []
    for el in doc.iter("button", "input", "a"):
        if el.tag == "input" and el.get("type") not in ("submit", "button"):
            continue
        label = " ".join(
            x for x in (_control_text(el), el.get("aria-label") or "", el.get("title") or "") if x
        )
        if not DESTRUCTIVE.search(label):
            continue
        form = next((a for a in el.iterancestors("form")), None)
        confirmed = el.get("data-confirm") or (form is not None and form.get("data-confirm"))
        if not confirmed:
            out.append(f"destructive control without data-confirm: {label.strip()[:60]!r}")
    return out


def _unlabelled(doc: Any) -> list[str]:
    labelled_ids = {lab.get("for") for lab in doc.iter("label") if lab.get("for")}
    out = []
    for el in doc.iter("input", "select", "textarea"):
        if el.tag == "input" and (el.get("type") or "text").lower() in _LABEL_FREE_TYPES:
            continue
        if el.get("aria-label") or el.get("aria-labelledby") or el.get("title"):
            continue
        if el.get("id") and el.get("id") in labelled_ids:
            continue
        if any(True for _ in el.iterancestors("label")):
            continue
        out.append(f"form control without a label: <{el.tag} name={el.get('name')!r}>")
    return out
