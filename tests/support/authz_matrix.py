"""The authorization matrix's rows: every write route and state transition × every kind of user.

One row per write (route + state it acts on), one cell per user: anonymous, the other office's
editor, our own office's editor and director, a reviewer, an admin and a coach. Only the cells
in the row's `allowed` set may succeed; every other cell must be refused and change nothing (no
audit record). The tests are in tests/pinmap/test_authorization_matrix.py; the form fuzzer and
the form-refusal tests reuse these rows and their states.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from pinmap.config import PROJECT_ROOT
from pinmap.services import coaching as coaching_svc

from ..signin import sign_in
from .best_practices import practice_form
from .portal import OWN, PASSWORD, ROLES, World, add_coach, full_report, no_csrf
from .progress_sql import ENTRIES

ALL: tuple[str, ...] = (*ROLES, "coach")
OFFICE = frozenset({"own_editor", "own_director"})
DIRECTOR = frozenset({"own_director"})
OBEC = frozenset({"reviewer", "admin"})
ADMIN = frozenset({"admin"})
PLANNERS = frozenset({"coach", "admin"})
SIGNED_IN = frozenset(ALL) - {"anonymous"}
NON_PLANNERS = {who: 404 for who in SIGNED_IN - PLANNERS}
NEW_PASSWORD = "another secret 99"

# Write routes that need no authorization, each with the reason.
NO_AUTHZ_NEEDED: dict[tuple[str, str], str] = {
    # Signing in is what anonymous visitors do (CSRF-checked and throttled; test_portal_pages).
    ("POST", "/portal/login"): "sign-in form",
    # Signing out only ends the caller's own session; harmless for anyone.
    ("POST", "/portal/logout"): "sign-out",
    # Asking for a reset link is for people who cannot sign in (throttled, same answer for every
    # address; test_accounts_selfservice).
    ("POST", "/portal/forgot"): "password-reset request",
    # The secret token in the address is the authorization (single-use, expiring, hashed).
    ("POST", "/portal/reset/<token>"): "password reset by e-mailed link",
}


# --- the world of one row --------------------------------------------------------------------


@dataclass
class Ctx:
    app: Flask
    w: World
    conn: Connection
    epochs: dict[str, tuple[int, int]]  # who -> (user id, session epoch) when the row started
    lonlat: tuple[float, float]  # the own office's pin

    @property
    def fy(self) -> int:
        return self.w.fy

    def h(self, who: str) -> dict[str, str]:
        return self.w.headers(who)

    def api(self) -> FlaskClient:
        """A client with no cookie: API calls carry their bearer token in headers."""
        return self.app.test_client()

    def page(self, who: str) -> FlaskClient:
        """A browser signed in as `who` (or nobody); CSRF is off for the whole app."""
        client = self.app.test_client()
        if who != "anonymous":
            sign_in(client, self.epochs[who][0])
        return client

    def scalar(self, sql: str, **params: Any) -> Any:
        return self.conn.execute(text(sql), params).scalar()

    def audit_count(self) -> int:
        return int(self.scalar("SELECT count(*) FROM audit_log"))

    def round_id(self, no: int) -> int:
        return int(
            self.scalar(
                "SELECT id FROM monitoring_rounds WHERE fiscal_year = 2567 AND round_no = :no",
                no=no,
            )
        )

    def user_id(self, who: str) -> int:
        return self.epochs[who][0]


@pytest.fixture
def ctx(app: Flask, world: World, session: Session, connection: Connection) -> Iterator[Ctx]:
    add_coach(world, session)
    coaching_svc.load_rounds(session, PROJECT_ROOT / "data" / "monitoring_rounds.csv")
    session.commit()
    epochs = {who: (u.id, u.session_epoch) for who, u in world.users.items()}
    # Cells talk to the database through the app and raw SQL only: the ORM session must hold
    # no savepoint of its own when a cell's savepoint is rolled back.
    session.close()
    point = connection.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM offices WHERE code = :c"), {"c": OWN}
    ).one()
    yield Ctx(no_csrf(app), world, connection, epochs, (float(point[0]), float(point[1])))


# --- building blocks for the states a write acts on -------------------------------------------


def _ok(r: TestResponse, *codes: int) -> TestResponse:
    assert r.status_code in (codes or (200, 201, 302)), (
        r.status_code,
        r.get_data(as_text=True)[:800],
    )
    return r


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return buf.getvalue()


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(buf, "JPEG")
    return buf.getvalue()


def _entry_page(c: Ctx) -> str:
    return f"/portal/offices/{OWN}/entries/{c.fy}/1/{c.w.item.kind}/{c.w.item.no}"


def _form() -> dict[str, str]:
    return {k: str(v) for k, v in full_report().items() if v is not None}


def _entry_id(c: Ctx) -> int:
    return int(c.scalar(f"SELECT max(id) FROM {ENTRIES}"))  # noqa: S608 (a fixed row source, no input)


def draft(c: Ctx) -> dict[str, Any]:
    r = _ok(c.api().put(c.w.entry_url(), json=full_report(), headers=c.h("own_editor")), 200)
    return r.get_json()


def submitted(c: Ctx) -> dict[str, Any]:
    rev = draft(c)
    r = c.api().post(
        c.w.entry_url(suffix="/submit"),
        json={"version": rev["version"]},
        headers=c.h("own_director"),
    )
    return _ok(r, 200).get_json()


def decided(c: Ctx, rev: dict[str, Any], decision: str) -> dict[str, Any]:
    r = c.api().post(
        f"/api/v1/review/entries/{_entry_id(c)}/decision",
        headers=c.h("reviewer"),
        json={"version": rev["version"], "decision": decision, "comment": "แนบภาพกิจกรรม"},
    )
    return _ok(r, 200).get_json()


def returned(c: Ctx) -> dict[str, Any]:
    return decided(c, submitted(c), "return")


def resubmitted(c: Ctx) -> dict[str, Any]:
    rev = returned(c)
    r = c.api().post(
        c.w.entry_url(suffix="/submit"),
        json={"version": rev["version"]},
        headers=c.h("own_director"),
    )
    return _ok(r, 200).get_json()


def with_link(c: Ctx) -> tuple[int, int]:
    """A draft with one link; (its version, the evidence id)."""
    r = c.api().post(
        c.w.entry_url(suffix="/evidence"),
        headers=c.h("own_editor"),
        json={"url": "https://example.go.th/x", "title": "x"},
    )
    return _ok(r, 201).get_json()["version"], int(c.scalar("SELECT max(id) FROM evidence"))


def profile_form(c: Ctx, **extra: str) -> dict[str, str]:
    lon, lat = c.lonlat
    form = {
        "address": "ถนนอุตรกิจ อ.เมืองกระบี่",
        "phone": "0 7561 1234",
        "staff_count": "85",
        "email": "saraban@krabi.go.th",
        "lat": f"{lat:.6f}",
        "lon": f"{lon:.6f}",
        "p0_name": "นายผู้อำนวยการ ทดสอบ",
        "p0_position": "ผู้อำนวยการ",
        "version": "0",
        "action": "save",
    }
    return {**form, **extra}


# Profiles are workflow reports: (the working revision's id, its version).
LATEST = {
    "profile_revisions": text(
        "SELECT v.id, v.version FROM workflow_reports r "
        "JOIN workflow_revisions v ON v.id = r.current_revision_id "
        "WHERE r.kind = 'profile' ORDER BY v.id DESC LIMIT 1"
    )
}
# Best practices are workflow reports: (the practice's id, its working revision's version).
LATEST["best_practices"] = text(
    "SELECT b.id, v.version FROM best_practices b "
    "JOIN workflow_reports r ON r.id = b.report_id "
    "JOIN workflow_revisions v ON v.id = r.current_revision_id ORDER BY b.id DESC LIMIT 1"
)
# Operating plans are workflow reports: (report id, its working revision's version).
LATEST["operating_plans"] = text(
    "SELECT r.id, v.version FROM workflow_reports r "
    "JOIN workflow_revisions v ON v.id = r.current_revision_id "
    "WHERE r.kind = 'operating_plan' ORDER BY r.id DESC LIMIT 1"
)


def _latest(c: Ctx, table: str) -> tuple[int, int]:
    """(id, version) of the newest row of a fixed table."""
    row = c.conn.execute(LATEST[table]).one()
    return int(row[0]), int(row[1])


def profile_draft(c: Ctx) -> tuple[int, int]:
    _ok(c.page("own_editor").post(f"/portal/offices/{OWN}/profile", data=profile_form(c)), 302)
    return _latest(c, "profile_revisions")


def profile_submitted(c: Ctx) -> tuple[int, int]:
    _rev_id, version = profile_draft(c)
    r = c.page("own_director").post(
        f"/portal/offices/{OWN}/profile/submit",
        data=profile_form(c, action="submit", version=str(version)),
    )
    _ok(r, 302)
    return _latest(c, "profile_revisions")


def bp_form(c: Ctx, **extra: str) -> dict[str, Any]:
    return practice_form(c.w, **extra)


def bp_draft(c: Ctx) -> tuple[int, int]:
    r = c.page("own_editor").post(f"/portal/offices/{OWN}/best-practices/new", data=bp_form(c))
    _ok(r, 302)
    return _latest(c, "best_practices")


def bp_submitted(c: Ctx) -> tuple[int, int]:
    bp_id, version = bp_draft(c)
    r = c.page("own_director").post(
        f"/portal/offices/{OWN}/best-practices/{bp_id}/submit",
        data=bp_form(c, version=str(version), action="submit"),
    )
    _ok(r, 302)
    return _latest(c, "best_practices")


def bp_with_file(c: Ctx) -> tuple[int, int]:
    """A draft best practice with one attached file; (its id, version)."""
    bp_id, version = bp_draft(c)
    r = _multipart(
        c.page("own_editor"),
        f"/portal/offices/{OWN}/best-practices/{bp_id}/attachments",
        {"version": str(version), "file": (io.BytesIO(_png()), "a.png")},
    )
    _ok(r, 302)
    return _latest(c, "best_practices")


PLAN_FIELDS = {
    "problem": "ปัญหา",
    "approach": "แนวทาง",
    "targets": "เป้าหมาย",
    "timeline": "ต.ค.–ธ.ค.",
}


def _op_plan_url(c: Ctx) -> str:
    return f"/portal/offices/{OWN}/plan/{c.fy}"


def op_plan_draft(c: Ctx) -> tuple[int, int]:
    r = c.page("own_editor").post(
        _op_plan_url(c), data={**PLAN_FIELDS, "version": "0", "action": "save"}
    )
    _ok(r, 302)
    return _latest(c, "operating_plans")


def op_plan_submitted(c: Ctx) -> tuple[int, int]:
    _plan_id, version = op_plan_draft(c)
    r = c.page("own_director").post(
        _op_plan_url(c) + "/submit",
        data={**PLAN_FIELDS, "action": "submit", "version": str(version)},
    )
    _ok(r, 302)
    return _latest(c, "operating_plans")


# --- quarterly project reports (the workflow engine) -------------------------------------------

QUARTER_FIELDS = {
    "target_progress": "ร้อยละ 60",
    "activity_progress": "อบรมครู",
    "budget_disbursement": "",
    "master_plan": "แผนแม่บท",
    "nesdp13": "หมุดหมาย 12",
    "problems_suggestions": "ไม่มี",
    "budget_disbursed": "100",
}


def open_quarter(c: Ctx) -> int:
    """The quarter of the world's fiscal year that is open for sending today."""
    from pinmap.services.projects import quarter_bounds

    day = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)).date()
    return next(q for q in (4, 3, 2, 1) if quarter_bounds(c.fy, q)[0] <= day)


def project(c: Ctx) -> tuple[int, int]:
    """A project of the own office; (its id, version)."""
    r = c.api().post(
        f"/api/v1/offices/{OWN}/projects",
        headers=c.h("own_editor"),
        json={"fiscal_year": c.fy, "name": "โครงการทดสอบ", "budget_planned": 1000},
    )
    body = _ok(r, 201).get_json()
    return body["id"], body["version"]


def quarter_draft(c: Ctx) -> tuple[int, int, int]:
    """A saved quarter of a project; (project id, quarter, version)."""
    project_id, _version = project(c)
    q = open_quarter(c)
    r = c.api().put(
        f"/api/v1/projects/{project_id}/quarters/{q}",
        headers=c.h("own_editor"),
        json={"version": 0, **QUARTER_FIELDS, "budget_disbursed": 100},
    )
    return project_id, q, _ok(r, 200).get_json()["version"]


def quarter_sent(c: Ctx) -> tuple[int, int]:
    """A quarter certified and sent (level 1); (report id, version)."""
    project_id, q, version = quarter_draft(c)
    r = c.api().post(
        f"/api/v1/projects/{project_id}/quarters/{q}/submit",
        headers=c.h("own_director"),
        json={"version": version},
    )
    body = _ok(r, 200).get_json()
    return body["id"], body["version"]


def quarter_reviewed(c: Ctx) -> tuple[int, int]:
    """A quarter OBEC reviewed (level 2), waiting for acceptance; (report id, version)."""
    report_id, version = quarter_sent(c)
    r = c.api().post(
        f"/api/v1/review/project-reports/{report_id}/decision",
        headers=c.h("reviewer"),
        json={"version": version, "decision": "approve"},
    )
    return report_id, _ok(r, 200).get_json()["version"]


def _quarter_url(p: tuple[int, int, int]) -> str:
    return f"/portal/offices/{OWN}/projects/{p[0]}/quarters/{p[1]}"


def visit_plan(c: Ctx, *, publish: bool = False) -> dict[str, Any]:
    r = c.api().post(
        "/api/v1/plans",
        headers=c.h("coach"),
        json={"round_id": c.round_id(2), "cluster": 13, "radius_km": 60},
    )
    plan = _ok(r, 201).get_json()
    # Publishing needs a visit date (inside round 2: Mar–Apr 2024).
    r = c.api().put(
        f"/api/v1/plans/{plan['id']}",
        headers=c.h("coach"),
        json={"version": plan["version"], "visit_date": "2024-03-20"},
    )
    plan = _ok(r, 200).get_json()
    if publish:
        r = c.api().post(
            f"/api/v1/plans/{plan['id']}/publish",
            headers=c.h("coach"),
            json={"version": plan["version"]},
        )
        plan = _ok(r, 200).get_json()
    return plan


def ingest_conflict(c: Ctx) -> tuple[int, int]:
    """A source's record that clashed with a newer manual draft; (conflict id, draft version)."""
    rev = draft(c)
    source = c.scalar(
        "INSERT INTO ingest_sources (name, kind, url, credentials_env, cron, "
        "timeout_seconds, options, pre_approved, enabled, created_at, updated_at) "
        "VALUES ('authz-source', 'progress-json', 'https://example.go.th/feed', "
        "'', '0 6 * * *', 30, '{}', false, true, now(), now()) RETURNING id"
    )
    run = c.scalar(
        "INSERT INTO ingest_runs (source_id, started_at, outcome, fetched, inserted, "
        "updated, unchanged, quarantined, conflicts, error) VALUES "
        "(:s, now(), 'ok', 1, 0, 0, 0, 0, 1, '') RETURNING id",
        s=source,
    )
    conflict = c.scalar(
        "INSERT INTO ingest_conflicts (source_id, source_record_id, entry_id, "
        "run_id, source_payload) VALUES (:s, 'r1', :e, :r, "
        "'{\"record\": {}}') RETURNING id",
        s=source,
        e=_entry_id(c),
        r=run,
    )
    return int(conflict), rev["version"]


def catalogue_csv(c: Ctx) -> bytes:
    """The FY2567 catalogue as exported, with one English title changed."""
    r = _ok(c.page("admin").get("/admin/catalogue/export.csv?fiscal_year=2567"), 200)
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    rows[0]["title_en"] = (rows[0]["title_en"] or "x") + " (revised)"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def framework_csv(c: Ctx) -> bytes:
    """The FY2567 framework as exported, with one item's English title changed."""
    r = _ok(c.page("admin").get("/admin/framework/2567.csv"), 200)
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    item = next(row for row in rows if row["kind"] == "policy")
    item["title_en"] += " (revised)"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def framework_item(c: Ctx) -> int:
    """An FY2567 item nobody reported on, added by an admin (so any role may delete it)."""
    _ok(
        c.page("admin").post(
            "/admin/framework/2567/items",
            data={
                "kind": "quick_win",
                "no": "12",
                "title_th": "ข้อใหม่",
                "title_en": "New item",
                "fields": ["narrative"],
            },
        )
    )
    return int(
        c.scalar(
            "SELECT id FROM policy_items WHERE fiscal_year = 2567 AND kind = 'quick_win' "
            "AND no = '12'"
        )
    )


SCHOOLS_CSV = (
    "code,name_th,amphoe_th,level,lat,lon\n"
    "1081010001,โรงเรียนบ้านทดสอบ,เมืองกระบี่,ประถมศึกษา,8.07,98.91\n"
).encode()
ROUNDS_CSV = (
    b"fiscal_year,round_no,kind,starts_on,ends_on,source_note\n"
    b"2567,2,onsite_coaching,2024-03-04,2024-04-26,\n"
)
RESULTS_CSV = (
    "office_code,fiscal_year,category,indicator,value,unit,office_target,obec_target\n"
    "spp-krabi,2563,onet_rt_nt,O-NET ป.6 ภาษาไทย,48.25,คะแนน,50,50\n"
).encode()


def _multipart(client: FlaskClient, url: str, data: dict[str, Any], **kw: Any) -> TestResponse:
    return client.post(url, data=data, content_type="multipart/form-data", **kw)


# --- the rows ----------------------------------------------------------------------------------

Prepare = Callable[[Ctx], Any]
Act = Callable[[Ctx, str, Any], TestResponse]


def _nothing(c: Ctx) -> None:
    return None


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    rule: str  # as in app.url_map, for the completeness check
    allowed: frozenset[str]
    act: Act
    prepare: Prepare = _nothing  # builds the state the write acts on (not part of the check)
    api: bool = False
    # Refusals other than the default (API: 401 anonymous, 403 others; pages: sign-in redirect
    # for anonymous, 403 others), each one deliberate and explained where the row is defined.
    refused: Mapping[str, int] = field(default_factory=dict)
    verify: Callable[[Ctx, str], None] | None = None  # extra check of an allowed cell


ENTRY_API = "/api/v1/portal/offices/<code>/entries/<int:fiscal_year>/<int:round_no>/<kind>/<no>"
# An item's number is text ("4", "4.1") on the page addresses since the framework has sub-items.
ENTRY_PAGE = "/portal/offices/<code>/entries/<int:fiscal_year>/<int:round_no>/<kind>/<no>"


def _only_own_password_changed(c: Ctx, who: str) -> None:
    for other, (uid, epoch) in c.epochs.items():
        now = c.scalar("SELECT session_epoch FROM users WHERE id = :id", id=uid)
        assert now == epoch + (1 if other == who else 0), (who, "changed the password of", other)


ROWS: list[Row] = [
    # --- progress API: files, evidence removal, resubmission, editing an approved report ----
    Row(
        "api upload file evidence",
        "POST",
        ENTRY_API + "/evidence",
        OFFICE,
        api=True,
        act=lambda c, who, _: _multipart(
            c.api(),
            c.w.entry_url(suffix="/evidence"),
            {"file": (io.BytesIO(_png()), "p.png"), "title": "ภาพ"},
            headers=c.h(who),
        ),
    ),
    Row(
        "api delete evidence",
        "DELETE",
        ENTRY_API + "/evidence/<int:evidence_id>",
        OFFICE,
        api=True,
        prepare=with_link,
        act=lambda c, who, p: c.api().delete(
            c.w.entry_url(suffix=f"/evidence/{p[1]}") + f"?version={p[0]}", headers=c.h(who)
        ),
    ),
    Row(
        "api resubmit a returned report",
        "POST",
        ENTRY_API + "/submit",
        DIRECTOR,
        api=True,
        prepare=returned,
        act=lambda c, who, rev: c.api().post(
            c.w.entry_url(suffix="/submit"), headers=c.h(who), json={"version": rev["version"]}
        ),
    ),
    Row(
        "api edit an approved report (new revision)",
        "PUT",
        ENTRY_API,
        OFFICE,
        api=True,
        prepare=lambda c: decided(c, submitted(c), "approve"),
        act=lambda c, who, rev: c.api().put(
            c.w.entry_url(), headers=c.h(who), json={"version": rev["version"], "result": "ใหม่"}
        ),
    ),
    Row(
        "api approve a resubmitted report",
        "POST",
        "/api/v1/review/entries/<int:entry_id>/decision",
        OBEC,
        api=True,
        prepare=resubmitted,
        act=lambda c, who, rev: c.api().post(
            f"/api/v1/review/entries/{_entry_id(c)}/decision",
            headers=c.h(who),
            json={"version": rev["version"], "decision": "approve"},
        ),
    ),
    Row(
        "api reopen a window",
        "POST",
        "/api/v1/review/reopen",
        OBEC,
        api=True,
        act=lambda c, who, _: c.api().post(
            "/api/v1/review/reopen",
            headers=c.h(who),
            json={
                "office": OWN,
                "fiscal_year": c.fy,
                "round_no": 1,
                "reason": "ไฟดับ",
                "until": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
            },
        ),
    ),
    # --- the report form --------------------------------------------------------------------
    Row(
        "page save a report",
        "POST",
        ENTRY_PAGE,
        OFFICE,
        act=lambda c, who, _: c.page(who).post(
            _entry_page(c), data={**_form(), "version": "0", "action": "save"}
        ),
    ),
    Row(
        "page autosave a report",
        "POST",
        ENTRY_PAGE + "/autosave",
        OFFICE,
        act=lambda c, who, _: c.page(who).post(
            _entry_page(c) + "/autosave", data={**_form(), "version": "0"}
        ),
    ),
    Row(
        "page submit a report",
        "POST",
        ENTRY_PAGE + "/submit",
        DIRECTOR,
        prepare=draft,
        act=lambda c, who, rev: c.page(who).post(
            _entry_page(c) + "/submit",
            data={**_form(), "version": str(rev["version"]), "action": "submit"},
        ),
    ),
    Row(
        "page resubmit a returned report",
        "POST",
        ENTRY_PAGE + "/submit",
        DIRECTOR,
        prepare=returned,
        act=lambda c, who, rev: c.page(who).post(
            _entry_page(c) + "/submit",
            data={**_form(), "version": str(rev["version"]), "action": "submit"},
        ),
    ),
    Row(
        "page add a file",
        "POST",
        ENTRY_PAGE + "/files",
        OFFICE,
        act=lambda c, who, _: _multipart(
            c.page(who),
            _entry_page(c) + "/files",
            {
                "action": "upload",
                "version": "0",
                "file": (io.BytesIO(_png()), "p.png"),
                "file_title": "ภาพ",
            },
        ),
    ),
    Row(
        "page add a link",
        "POST",
        ENTRY_PAGE + "/links",
        OFFICE,
        act=lambda c, who, _: c.page(who).post(
            _entry_page(c) + "/links",
            data={"action": "add_link", "version": "0", "link_url": "https://example.go.th/y"},
        ),
    ),
    Row(
        "page remove evidence",
        "POST",
        ENTRY_PAGE + "/evidence/remove",
        OFFICE,
        prepare=with_link,
        act=lambda c, who, p: c.page(who).post(
            _entry_page(c) + "/evidence/remove",
            data={"action": "remove_evidence", "version": str(p[0]), "evidence_id": str(p[1])},
        ),
    ),
    Row(
        "page edit an approved report",
        "POST",
        ENTRY_PAGE,
        OFFICE,
        prepare=lambda c: decided(c, submitted(c), "approve"),
        act=lambda c, who, rev: c.page(who).post(
            _entry_page(c),
            data={**_form(), "result": "ใหม่", "version": str(rev["version"]), "action": "save"},
        ),
    ),
    # --- the review desk --------------------------------------------------------------------
    Row(
        "page approve a report",
        "POST",
        "/review/entries/<int:entry_id>",
        OBEC,
        prepare=submitted,
        act=lambda c, who, rev: c.page(who).post(
            f"/review/entries/{_entry_id(c)}",
            data={"decision": "approve", "version": str(rev["version"])},
        ),
    ),
    Row(
        "page return a report",
        "POST",
        "/review/entries/<int:entry_id>",
        OBEC,
        prepare=submitted,
        act=lambda c, who, rev: c.page(who).post(
            f"/review/entries/{_entry_id(c)}",
            data={"decision": "return", "comment": "แนบภาพ", "version": str(rev["version"])},
        ),
    ),
    # The page redirects back to the report whether or not the reopening worked: the audit
    # check below is what tells success from a flashed refusal.
    Row(
        "page reopen a window",
        "POST",
        "/review/entries/<int:entry_id>/reopen",
        OBEC,
        prepare=draft,
        act=lambda c, who, _: c.page(who).post(
            f"/review/entries/{_entry_id(c)}/reopen",
            data={
                "until": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
                "reason": "น้ำท่วม",
            },
        ),
    ),
    # Any signed-in user, for their own account only (there is no field naming the account).
    Row(
        "page change own password",
        "POST",
        "/portal/password",
        SIGNED_IN,
        verify=_only_own_password_changed,
        act=lambda c, who, _: c.page(who).post(
            "/portal/password",
            data={
                "old": PASSWORD,
                "new": NEW_PASSWORD,
                "repeat": NEW_PASSWORD,
                "user_id": str(c.user_id("admin")),
            },
        ),
    ),
    # --- admin ------------------------------------------------------------------------------
    Row(
        "admin create a user",
        "POST",
        "/admin/users",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            "/admin/users",
            data={
                "email": "new-user@example.go.th",
                "name": "ใหม่",
                "role": "office_editor",
                "office_code": OWN,
                "password": NEW_PASSWORD,
            },
        ),
    ),
    Row(
        "admin deactivate a user",
        "POST",
        "/admin/users/<int:user_id>/active",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(f"/admin/users/{c.user_id('other_editor')}/active"),
    ),
    Row(
        "admin edit a user",
        "POST",
        "/admin/users/<int:user_id>",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            f"/admin/users/{c.user_id('other_editor')}",
            data={"name": "แก้ชื่อ", "role": "office_editor", "office_code": OWN},
        ),
    ),
    Row(
        "admin set a user's password",
        "POST",
        "/admin/users/<int:user_id>/password",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            f"/admin/users/{c.user_id('other_editor')}/password", data={"password": NEW_PASSWORD}
        ),
    ),
    Row(
        "admin save a reporting window",
        "POST",
        "/admin/windows",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            "/admin/windows",
            data={
                "fiscal_year": "2567",
                "round_no": "3",
                "label_th": "ระยะที่ 3",
                "label_en": "Phase 3",
                "opens_on": "2024-09-01",
                "closes_on": "2024-09-20",
            },
        ),
    ),
    Row(
        "admin set a quarter's deadline",
        "POST",
        "/admin/deadlines",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            "/admin/deadlines",
            data={"fiscal_year": "2567", "quarter": "2", "due_on": "2024-04-30"},
        ),
    ),
    Row(
        "admin set a report kind's approval levels",
        "POST",
        "/admin/workflow",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            "/admin/workflow",
            data={
                "kind": "quarterly_project",
                "version": "0",
                "review_roles": ["reviewer", "admin"],
                "accept_enabled": "1",
                "accept_roles": ["admin"],
            },
        ),
    ),
    Row(
        "admin import the catalogue",
        "POST",
        "/admin/catalogue/import",
        ADMIN,
        prepare=catalogue_csv,
        act=lambda c, who, body: _multipart(
            c.page(who), "/admin/catalogue/import", {"file": (io.BytesIO(body), "items.csv")}
        ),
    ),
    Row(
        "admin import a framework file",
        "POST",
        "/admin/framework/import",
        ADMIN,
        prepare=framework_csv,
        act=lambda c, who, body: _multipart(
            c.page(who), "/admin/framework/import", {"file": (io.BytesIO(body), "fw.csv")}
        ),
    ),
    Row(
        "admin save an item set",
        "POST",
        "/admin/framework/<int:fiscal_year>/sets",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            "/admin/framework/2567/sets",
            data={"code": "kpi", "position": "7", "title_th": "ตัวชี้วัด", "title_en": "KPI"},
        ),
    ),
    Row(
        "admin save a framework item",
        "POST",
        "/admin/framework/<int:fiscal_year>/items",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            "/admin/framework/2567/items",
            data={
                "kind": "policy",
                "no": "4.1",
                "title_th": "สำรวจรายการประเมิน",
                "title_en": "Survey of assessments",
                "fields": ["narrative", "problems"],
                "rounds": ["2"],
            },
        ),
    ),
    Row(
        "admin retire a framework item",
        "POST",
        "/admin/framework/items/<int:item_id>/retire",
        ADMIN,
        prepare=framework_item,
        act=lambda c, who, item: c.page(who).post(
            f"/admin/framework/items/{item}/retire", data={"retired": "yes"}
        ),
    ),
    Row(
        "admin delete a framework item",
        "POST",
        "/admin/framework/items/<int:item_id>/delete",
        ADMIN,
        prepare=framework_item,
        act=lambda c, who, item: c.page(who).post(f"/admin/framework/items/{item}/delete"),
    ),
    Row(
        "admin start a fiscal year from the one before",
        "POST",
        "/admin/framework/<int:fiscal_year>/start",
        ADMIN,
        act=lambda c, who, _: c.page(who).post("/admin/framework/2568/start"),
    ),
    # Reviewers may read /admin/ingest (view_ingest); saving a source is the admin's alone.
    Row(
        "admin save an ingest source",
        "POST",
        "/admin/ingest",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            "/admin/ingest",
            data={
                "name": "authz-feed",
                "kind": "progress-json",
                "url": "https://example.go.th/feed",
                "interval_seconds": "3600",
                "timeout_seconds": "30",
                "options": "{}",
                "enabled": "on",
            },
        ),
    ),
    Row(
        "resolve an ingest conflict",
        "POST",
        "/admin/ingest/conflicts",
        OBEC,
        prepare=ingest_conflict,
        act=lambda c, who, p: c.page(who).post(
            "/admin/ingest/conflicts",
            data={"decision": "keep", "conflict_id": str(p[0]), "version": str(p[1])},
        ),
    ),
    # --- office profile, schools, results, best practices, operating plan ----------------------
    Row(
        "profile save",
        "POST",
        "/portal/offices/<code>/profile",
        OFFICE,
        act=lambda c, who, _: _multipart(
            c.page(who), f"/portal/offices/{OWN}/profile", profile_form(c)
        ),
    ),
    Row(
        "profile submit",
        "POST",
        "/portal/offices/<code>/profile/submit",
        DIRECTOR,
        prepare=profile_draft,
        act=lambda c, who, p: _multipart(
            c.page(who),
            f"/portal/offices/{OWN}/profile/submit",
            profile_form(c, action="submit", version=str(p[1])),
        ),
    ),
    Row(
        "schools import",
        "POST",
        "/portal/offices/<code>/schools/import",
        OFFICE,
        act=lambda c, who, _: _multipart(
            c.page(who),
            f"/portal/offices/{OWN}/schools/import",
            {"action": "import", "version": "0", "file": (io.BytesIO(SCHOOLS_CSV), "schools.csv")},
        ),
    ),
    Row(
        "school counts save",
        "POST",
        "/portal/offices/<code>/schools/counts",
        OFFICE,
        act=lambda c, who, _: c.page(who).post(
            f"/portal/offices/{OWN}/schools/counts",
            data={
                "action": "stats",
                "version": "0",
                "as_of": "2024-06-10",
                "teachers": "917",
                "students": "12345",
                "staff": "83",
            },
        ),
    ),
    # Five-year results are OBEC's to load, even on an office's own page.
    Row(
        "results import on an office page",
        "POST",
        "/portal/offices/<code>/results",
        OBEC,
        act=lambda c, who, _: _multipart(
            c.page(who),
            f"/portal/offices/{OWN}/results",
            {"file": (io.BytesIO(RESULTS_CSV), "results.csv")},
        ),
    ),
    # Office staff posting to the national import are sent to their own office's results page
    # (302, nothing loaded) rather than refused: the audit check proves nothing was written.
    Row(
        "results import (national)",
        "POST",
        "/portal/results",
        OBEC,
        refused={"other_editor": 302, "own_editor": 302, "own_director": 302},
        act=lambda c, who, _: _multipart(
            c.page(who), "/portal/results", {"file": (io.BytesIO(RESULTS_CSV), "results.csv")}
        ),
    ),
    Row(
        "best practice create",
        "POST",
        "/portal/offices/<code>/best-practices/new",
        OFFICE,
        act=lambda c, who, _: c.page(who).post(
            f"/portal/offices/{OWN}/best-practices/new", data=bp_form(c)
        ),
    ),
    Row(
        "best practice submit",
        "POST",
        "/portal/offices/<code>/best-practices/<int:bp_id>/submit",
        DIRECTOR,
        prepare=bp_draft,
        act=lambda c, who, p: c.page(who).post(
            f"/portal/offices/{OWN}/best-practices/{p[0]}/submit",
            data=bp_form(c, version=str(p[1]), action="submit"),
        ),
    ),
    Row(
        "best practice attach a file",
        "POST",
        "/portal/offices/<code>/best-practices/<int:bp_id>/attachments",
        OFFICE,
        prepare=bp_draft,
        act=lambda c, who, p: _multipart(
            c.page(who),
            f"/portal/offices/{OWN}/best-practices/{p[0]}/attachments",
            {"action": "attach", "version": str(p[1]), "file": (io.BytesIO(_png()), "a.png")},
        ),
    ),
    Row(
        "best practice infographic",
        "POST",
        "/portal/offices/<code>/best-practices/<int:bp_id>/infographic",
        OFFICE,
        prepare=bp_draft,
        act=lambda c, who, p: _multipart(
            c.page(who),
            f"/portal/offices/{OWN}/best-practices/{p[0]}/infographic",
            {
                "action": "infographic",
                "version": str(p[1]),
                "infographic": (io.BytesIO(_jpeg()), "i.jpg"),
            },
        ),
    ),
    Row(
        "best practice save",
        "POST",
        "/portal/offices/<code>/best-practices/<int:bp_id>",
        OFFICE,
        prepare=bp_draft,
        act=lambda c, who, p: c.page(who).post(
            f"/portal/offices/{OWN}/best-practices/{p[0]}",
            data=bp_form(c, version=str(p[1]), title="ห้องเรียนคุณภาพ 2"),
        ),
    ),
    Row(
        "profile autosave",
        "POST",
        "/portal/offices/<code>/profile/autosave",
        OFFICE,
        act=lambda c, who, p: c.page(who).post(
            f"/portal/offices/{OWN}/profile/autosave", data=profile_form(c)
        ),
    ),
    Row(
        "best practice autosave",
        "POST",
        "/portal/offices/<code>/best-practices/<int:bp_id>/autosave",
        OFFICE,
        prepare=bp_draft,
        act=lambda c, who, p: c.page(who).post(
            f"/portal/offices/{OWN}/best-practices/{p[0]}/autosave",
            data=bp_form(c, version=str(p[1]), title="ห้องเรียนคุณภาพ 3"),
        ),
    ),
    Row(
        "best practice create and submit",
        "POST",
        "/portal/offices/<code>/best-practices/new/submit",
        DIRECTOR,
        act=lambda c, who, _: c.page(who).post(
            f"/portal/offices/{OWN}/best-practices/new/submit", data=bp_form(c, action="submit")
        ),
    ),
    Row(
        "best practice remove a file",
        "POST",
        "/portal/offices/<code>/best-practices/<int:bp_id>/attachments/remove",
        OFFICE,
        prepare=bp_with_file,
        act=lambda c, who, p: c.page(who).post(
            f"/portal/offices/{OWN}/best-practices/{p[0]}/attachments/remove",
            data={"action": "detach", "version": str(p[1]), "index": "0"},
        ),
    ),
    Row(
        "best practice remove the infographic",
        "POST",
        "/portal/offices/<code>/best-practices/<int:bp_id>/infographic/remove",
        OFFICE,
        prepare=bp_draft,
        act=lambda c, who, p: c.page(who).post(
            f"/portal/offices/{OWN}/best-practices/{p[0]}/infographic/remove",
            data={"action": "drop_infographic", "version": str(p[1])},
        ),
    ),
    Row(
        "operating plan save",
        "POST",
        "/portal/offices/<code>/plan/<int:fiscal_year>",
        OFFICE,
        act=lambda c, who, _: c.page(who).post(
            _op_plan_url(c), data={**PLAN_FIELDS, "version": "0", "action": "save"}
        ),
    ),
    Row(
        "operating plan submit",
        "POST",
        "/portal/offices/<code>/plan/<int:fiscal_year>/submit",
        DIRECTOR,
        prepare=op_plan_draft,
        act=lambda c, who, p: c.page(who).post(
            _op_plan_url(c) + "/submit",
            data={**PLAN_FIELDS, "version": str(p[1]), "action": "submit"},
        ),
    ),
    Row(
        "review a profile",
        "POST",
        "/review/profiles/<int:rev_id>",
        OBEC,
        prepare=profile_submitted,
        act=lambda c, who, p: c.page(who).post(
            f"/review/profiles/{p[0]}", data={"decision": "approve", "version": str(p[1])}
        ),
    ),
    Row(
        "review a best practice",
        "POST",
        "/review/best-practices/<int:bp_id>",
        OBEC,
        prepare=bp_submitted,
        act=lambda c, who, p: c.page(who).post(
            f"/review/best-practices/{p[0]}",
            data={"decision": "return", "comment": "เพิ่มผล", "version": str(p[1])},
        ),
    ),
    Row(
        "review an operating plan",
        "POST",
        "/review/plans/<int:plan_id>",
        OBEC,
        prepare=op_plan_submitted,
        act=lambda c, who, p: c.page(who).post(
            f"/review/plans/{p[0]}", data={"decision": "approve", "version": str(p[1])}
        ),
    ),
    # --- quarterly project reports (the workflow engine) --------------------------------------
    Row(
        "project add",
        "POST",
        "/portal/offices/<code>/projects/new/<int:fiscal_year>",
        OFFICE,
        act=lambda c, who, _: c.page(who).post(
            f"/portal/offices/{OWN}/projects/new/{c.fy}",
            data={"name": "โครงการใหม่", "budget_planned": "5000", "action": "add"},
        ),
    ),
    Row(
        "project save",
        "POST",
        "/portal/offices/<code>/projects/<int:project_id>",
        OFFICE,
        prepare=project,
        act=lambda c, who, p: c.page(who).post(
            f"/portal/offices/{OWN}/projects/{p[0]}",
            data={"name": "ชื่อใหม่", "version": str(p[1]), "action": "save"},
        ),
    ),
    Row(
        "project quarter save",
        "POST",
        "/portal/offices/<code>/projects/<int:project_id>/quarters/<int:quarter>",
        OFFICE,
        prepare=quarter_draft,
        act=lambda c, who, p: c.page(who).post(
            _quarter_url(p), data={**QUARTER_FIELDS, "version": str(p[2]), "action": "save"}
        ),
    ),
    Row(
        "project quarter certify and send",
        "POST",
        "/portal/offices/<code>/projects/<int:project_id>/quarters/<int:quarter>/send",
        DIRECTOR,
        prepare=quarter_draft,
        act=lambda c, who, p: c.page(who).post(
            _quarter_url(p) + "/send",
            data={**QUARTER_FIELDS, "version": str(p[2]), "action": "send"},
        ),
    ),
    Row(
        "review a quarterly project report: approve",
        "POST",
        "/review/projects/<int:report_id>/approve",
        OBEC,
        prepare=quarter_sent,
        act=lambda c, who, p: c.page(who).post(
            f"/review/projects/{p[0]}/approve", data={"action": "approve", "version": str(p[1])}
        ),
    ),
    Row(
        "review a quarterly project report: return",
        "POST",
        "/review/projects/<int:report_id>/return",
        OBEC,
        prepare=quarter_sent,
        act=lambda c, who, p: c.page(who).post(
            f"/review/projects/{p[0]}/return",
            data={"action": "return", "version": str(p[1]), "comment": "เพิ่มข้อ 4"},
        ),
    ),
    # OBEC's review (level 2) is undone only by the level above it: acceptance (admins).
    Row(
        "review a quarterly project report: un-approve",
        "POST",
        "/review/projects/<int:report_id>/unapprove",
        ADMIN,
        prepare=quarter_reviewed,
        act=lambda c, who, p: c.page(who).post(
            f"/review/projects/{p[0]}/unapprove",
            data={"action": "unapprove", "version": str(p[1]), "comment": "ตรวจใหม่"},
        ),
    ),
    Row(
        "api add a project",
        "POST",
        "/api/v1/offices/<code>/projects",
        OFFICE,
        api=True,
        act=lambda c, who, _: c.api().post(
            f"/api/v1/offices/{OWN}/projects",
            headers=c.h(who),
            json={"fiscal_year": c.fy, "name": "โครงการ API"},
        ),
    ),
    Row(
        "api save a project",
        "PUT",
        "/api/v1/projects/<int:project_id>",
        OFFICE,
        api=True,
        prepare=project,
        act=lambda c, who, p: c.api().put(
            f"/api/v1/projects/{p[0]}",
            headers=c.h(who),
            json={"version": p[1], "name": "ชื่อใหม่", "budget_planned": 2000},
        ),
    ),
    Row(
        "api save a project quarter",
        "PUT",
        "/api/v1/projects/<int:project_id>/quarters/<int:quarter>",
        OFFICE,
        api=True,
        prepare=quarter_draft,
        act=lambda c, who, p: c.api().put(
            f"/api/v1/projects/{p[0]}/quarters/{p[1]}",
            headers=c.h(who),
            json={"version": p[2], "activity_progress": "เพิ่มเติม", "budget_disbursed": 150},
        ),
    ),
    Row(
        "api certify and send a project quarter",
        "POST",
        "/api/v1/projects/<int:project_id>/quarters/<int:quarter>/submit",
        DIRECTOR,
        api=True,
        prepare=quarter_draft,
        act=lambda c, who, p: c.api().post(
            f"/api/v1/projects/{p[0]}/quarters/{p[1]}/submit",
            headers=c.h(who),
            json={"version": p[2]},
        ),
    ),
    Row(
        "api decide on a quarterly project report",
        "POST",
        "/api/v1/review/project-reports/<int:report_id>/decision",
        OBEC,
        api=True,
        prepare=quarter_sent,
        act=lambda c, who, p: c.api().post(
            f"/api/v1/review/project-reports/{p[0]}/decision",
            headers=c.h(who),
            json={"version": p[1], "decision": "approve"},
        ),
    ),
    Row(
        "api save an operating plan",
        "PUT",
        "/api/v1/offices/<code>/operating-plans/<int:fiscal_year>",
        OFFICE,
        api=True,
        act=lambda c, who, _: c.api().put(
            f"/api/v1/offices/{OWN}/operating-plans/{c.fy}",
            headers=c.h(who),
            json={"version": 0, **PLAN_FIELDS},
        ),
    ),
    Row(
        "api certify and send an operating plan",
        "POST",
        "/api/v1/offices/<code>/operating-plans/<int:fiscal_year>/submit",
        DIRECTOR,
        api=True,
        prepare=op_plan_draft,
        act=lambda c, who, p: c.api().post(
            f"/api/v1/offices/{OWN}/operating-plans/{c.fy}/submit",
            headers=c.h(who),
            json={"version": p[1]},
        ),
    ),
    Row(
        "api decide on an operating plan",
        "POST",
        "/api/v1/review/operating-plans/<int:plan_id>/decision",
        OBEC,
        api=True,
        prepare=op_plan_submitted,
        act=lambda c, who, p: c.api().post(
            f"/api/v1/review/operating-plans/{p[0]}/decision",
            headers=c.h(who),
            json={"version": p[1], "decision": "approve"},
        ),
    ),
    Row(
        "api set a quarter's deadline",
        "PUT",
        "/api/v1/project-deadlines/<int:fiscal_year>/<int:quarter>",
        ADMIN,
        api=True,
        act=lambda c, who, _: c.api().put(
            f"/api/v1/project-deadlines/{c.fy}/4",
            headers=c.h(who),
            json={"due_on": f"{c.fy - 543}-10-20"},
        ),
    ),
    # --- the coaching year --------------------------------------------------------------------
    Row(
        "page create a visit plan",
        "POST",
        "/coaching/plans/new",
        PLANNERS,
        act=lambda c, who, _: c.page(who).post(
            "/coaching/plans/new", data={"cluster": "13", "round_id": str(c.round_id(2)), "k": "3"}
        ),
    ),
    # A draft plan does not exist for anyone who may not plan visits (anonymous included).
    Row(
        "page save a draft visit plan",
        "POST",
        "/coaching/plans/<int:plan_id>",
        PLANNERS,
        prepare=visit_plan,
        refused={**NON_PLANNERS, "anonymous": 404},
        act=lambda c, who, plan: c.page(who).post(
            f"/coaching/plans/{plan['id']}",
            data={"action": "save", "version": str(plan["version"]), "team": "ทีมนิเทศ"},
        ),
    ),
    # A published plan is public; writing to it needs signing in like any other page.
    Row(
        "page record a visit on a published plan",
        "POST",
        "/coaching/plans/<int:plan_id>/records",
        PLANNERS,
        prepare=lambda c: visit_plan(c, publish=True),
        act=lambda c, who, plan: c.page(who).post(
            f"/coaching/plans/{plan['id']}/records",
            data={"action": "record", "visited_on": "2024-03-20", "team": "ทีมนิเทศ"},
        ),
    ),
    # Like saving: a draft plan does not exist for anyone who may not plan visits.
    Row(
        "page publish a visit plan",
        "POST",
        "/coaching/plans/<int:plan_id>/publish",
        PLANNERS,
        prepare=visit_plan,
        refused={**NON_PLANNERS, "anonymous": 404},
        act=lambda c, who, plan: c.page(who).post(
            f"/coaching/plans/{plan['id']}/publish",
            data={"action": "publish", "version": str(plan["version"])},
        ),
    ),
    Row(
        "page withdraw a published visit plan",
        "POST",
        "/coaching/plans/<int:plan_id>/unpublish",
        PLANNERS,
        prepare=lambda c: visit_plan(c, publish=True),
        act=lambda c, who, plan: c.page(who).post(
            f"/coaching/plans/{plan['id']}/unpublish",
            data={"action": "unpublish", "version": str(plan["version"])},
        ),
    ),
    Row(
        "api create a visit plan",
        "POST",
        "/api/v1/plans",
        PLANNERS,
        api=True,
        act=lambda c, who, _: c.api().post(
            "/api/v1/plans",
            headers=c.h(who),
            json={"round_id": c.round_id(2), "cluster": 13, "radius_km": 60},
        ),
    ),
    Row(
        "api save a visit plan",
        "PUT",
        "/api/v1/plans/<int:plan_id>",
        PLANNERS,
        api=True,
        prepare=visit_plan,
        act=lambda c, who, plan: c.api().put(
            f"/api/v1/plans/{plan['id']}",
            headers=c.h(who),
            json={"version": plan["version"], "team": "ทีม"},
        ),
    ),
    Row(
        "api publish a visit plan",
        "POST",
        "/api/v1/plans/<int:plan_id>/publish",
        PLANNERS,
        api=True,
        prepare=visit_plan,
        act=lambda c, who, plan: c.api().post(
            f"/api/v1/plans/{plan['id']}/publish",
            headers=c.h(who),
            json={"version": plan["version"]},
        ),
    ),
    Row(
        "api record a visit",
        "POST",
        "/api/v1/plans/<int:plan_id>/records",
        PLANNERS,
        api=True,
        prepare=lambda c: visit_plan(c, publish=True),
        act=lambda c, who, plan: c.api().post(
            f"/api/v1/plans/{plan['id']}/records",
            headers=c.h(who),
            json={"visited_on": "2024-03-20"},
        ),
    ),
    Row(
        "page move an office between clusters",
        "POST",
        "/coaching/clusters/<int:no>/members",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            "/coaching/clusters/2/members", data={"office": OWN, "reason": "ทดสอบ"}
        ),
    ),
    Row(
        "api move an office between clusters",
        "POST",
        "/api/v1/clusters/<int:no>/members",
        ADMIN,
        api=True,
        act=lambda c, who, _: c.api().post(
            "/api/v1/clusters/2/members", headers=c.h(who), json={"office": OWN, "reason": "ทดสอบ"}
        ),
    ),
    Row(
        "page save a monitoring round",
        "POST",
        "/coaching/rounds",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            "/coaching/rounds",
            data={
                "fiscal_year": "2567",
                "round_no": "2",
                "kind": "onsite_coaching",
                "starts_on": "2024-03-04",
                "ends_on": "2024-04-26",
            },
        ),
    ),
    Row(
        "page load monitoring rounds from CSV",
        "POST",
        "/coaching/rounds/import",
        ADMIN,
        act=lambda c, who, _: _multipart(
            c.page(who), "/coaching/rounds/import", {"file": (io.BytesIO(ROUNDS_CSV), "rounds.csv")}
        ),
    ),
    # Redirects whether or not the status was set: the audit check tells them apart.
    Row(
        "page set an office's round status",
        "POST",
        "/coaching/rounds/<int:round_id>/statuses",
        OBEC,
        act=lambda c, who, _: c.page(who).post(
            f"/coaching/rounds/{c.round_id(1)}/statuses", data={"office": OWN, "status": "received"}
        ),
    ),
    Row(
        "page set a cluster session",
        "POST",
        "/coaching/rounds/<int:round_id>/sessions",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            f"/coaching/rounds/{c.round_id(3)}/sessions",
            data={"cluster": "13", "starts_at": "2024-06-12T09:00", "link": "https://zoom.us/j/1"},
        ),
    ),
    Row(
        "api set a cluster session",
        "PUT",
        "/api/v1/rounds/<int:round_id>/sessions/<int:cluster_no>",
        ADMIN,
        api=True,
        act=lambda c, who, _: c.api().put(
            f"/api/v1/rounds/{c.round_id(3)}/sessions/13",
            headers=c.h(who),
            json={"starts_at": "2024-06-12T09:00:00+07:00", "link": "https://zoom.us/j/1"},
        ),
    ),
]


def _more_rows() -> list[Row]:
    """Rows kept in their own modules, built on the pieces above (hence imported here)."""
    from .authz_matrix_accounts import ROWS as ACCOUNT_ROWS
    from .authz_matrix_assignments import ROWS as ASSIGNMENT_ROWS
    from .authz_matrix_coaching_office import ROWS as COACHING_OFFICE_ROWS
    from .authz_matrix_help import ROWS as HELP_ROWS
    from .authz_matrix_levels import ROWS as LEVEL_ROWS
    from .authz_matrix_notify import ROWS as NOTIFY_ROWS
    from .authz_matrix_parts import ROWS as PROFILE_PART_API_ROWS
    from .authz_matrix_questions import ROWS as QUESTION_ROWS
    from .authz_matrix_reports import ROWS as REPORT_ROWS

    return [
        *PROFILE_PART_API_ROWS,
        *ACCOUNT_ROWS,
        *REPORT_ROWS,
        *NOTIFY_ROWS,
        *ASSIGNMENT_ROWS,
        *HELP_ROWS,
        *LEVEL_ROWS,
        *COACHING_OFFICE_ROWS,
        *QUESTION_ROWS,
    ]


ROWS.extend(_more_rows())
BY_NAME = {row.name: row for row in ROWS}
assert len(BY_NAME) == len(ROWS), "row names must be unique"


# --- checking one cell -------------------------------------------------------------------------


def _expected_refusal(row: Row, who: str) -> int:
    if who in row.refused:
        return row.refused[who]
    if who == "anonymous":
        return 401 if row.api else 302
    return 403


def check_cell(c: Ctx, row: Row, who: str, prepared: Any) -> None:
    """One cell, on the state `row.prepare` built (and returned `prepared` for)."""
    before = c.audit_count()
    r = row.act(c, who, prepared)
    body = r.get_data(as_text=True)[:300]
    location = r.headers.get("Location", "")
    r.close()
    after = c.audit_count()
    if who in row.allowed:
        assert 200 <= r.status_code < 400, f"allowed cell refused: {r.status_code} {body!r}"
        assert "/portal/login" not in location, "allowed cell sent to sign in"
        assert after > before, f"allowed cell wrote nothing ({r.status_code} {location})"
        if row.verify is not None:
            row.verify(c, who)
        return
    expected = _expected_refusal(row, who)
    assert r.status_code == expected, f"refused cell answered {r.status_code}, not {expected}"
    if expected == 302 and who == "anonymous":
        assert "/portal/login" in location, f"anonymous redirected to {location!r}, not sign-in"
    elif expected == 302:
        assert "/portal/login" not in location and location, location
    if row.api:
        assert r.is_json and r.get_json().get("message"), body
    assert after == before, f"refused cell wrote {after - before} audit record(s)"


def _run_cell(c: Ctx, row: Row, who: str, prepared: Any) -> None:
    savepoint = c.conn.begin_nested()
    try:
        check_cell(c, row, who, prepared)
    finally:
        savepoint.rollback()


def run_row(c: Ctx, row: Row) -> list[str]:
    """Every cell of `row`; the failing ones, a line each.

    The state the row acts on is built once, in a savepoint of its own, and each cell runs in a
    savepoint inside it that is rolled back: every cell starts from the same rows, as if the
    state had been built again for it (uploaded files are not removed when a savepoint is
    rolled back, in either case: the app only removes files whose own transaction failed)."""
    state = c.conn.begin_nested()
    try:
        prepared = row.prepare(c)
        failures = []
        for who in ALL:
            try:
                _run_cell(c, row, who, prepared)
            except AssertionError as err:
                failures.append(f"{who}: {err}".splitlines()[0])
        return failures
    finally:
        state.rollback()
