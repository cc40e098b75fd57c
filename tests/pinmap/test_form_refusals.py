"""Each form's refusal of bad input: a 4xx naming the field (and the limit), the form shown again
with everything that was typed, and nothing changed (no audit record, no row)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from markupsafe import escape

from ..support import authz_matrix as m
from ..support.portal import OWN
from ..support.progress_sql import REVISIONS

TYPED = "ข้อความที่พิมพ์ไว้ 42"  # what the user typed into a field the refusal is not about
LONG_REASON = "ก" * 2_001


@dataclass(frozen=True)
class Case:
    name: str
    who: str
    url: Callable[[m.Ctx, Any], str]
    form: Callable[[m.Ctx, Any], dict[str, Any]]
    message: tuple[str, ...]  # parts of the refusal, in Thai (the default language)
    kept: tuple[str, ...] = (TYPED,)
    prepare: Callable[[m.Ctx], Any] = m._nothing
    status: int = 400


def _entry(c: m.Ctx, _p: Any) -> str:
    return m._entry_page(c)


CASES = [
    # Was cut to 2,000 characters and saved.
    Case(
        "report: over-long reason for no activity",
        "own_editor",
        _entry,
        lambda c, p: {
            **m._form(),
            "where": TYPED,
            "status": "not_started",
            "version": "0",
            "no_activity_reason": LONG_REASON,
            "action": "save",
        },
        ("ยาวเกิน 2000",),
    ),
    # Was an empty 400 page: the report's text was gone.
    Case(
        "report: unknown button",
        "own_editor",
        _entry,
        lambda c, p: {**m._form(), "what": TYPED, "version": "0", "action": "publish"},
        ("ไม่รู้จักปุ่ม",),
    ),
    # Was cut to 300 characters and saved; the typed link was not shown again on refusals.
    Case(
        "report: over-long link title",
        "own_editor",
        lambda c, p: _entry(c, p) + "/links",
        lambda c, p: {
            "action": "add_link",
            "version": str(p["version"]),
            "link_url": "https://example.go.th/ข่าว",
            "link_title": "ล" * 301,
        },
        ("ยาวเกิน 300",),
        kept=("https://example.go.th/ข่าว",),
        prepare=m.draft,
    ),
    # The evidence buttons sit in the report's form: a refused upload, link or removal
    # shows the report's unsaved text again (an upload used to redraw the saved report).
    Case(
        "report: disguised upload with unsaved text",
        "own_editor",
        lambda c, p: _entry(c, p) + "/files",
        lambda c, p: {
            **m._form(),
            "what": TYPED,
            "action": "upload",
            "version": str(p["version"]),
            "file": (io.BytesIO(b"MZ\x90\x00 not a picture"), "photo.png"),
            "file_title": "ภาพกิจกรรม",
        },
        ("ไฟล์",),
        kept=(TYPED, "ภาพกิจกรรม"),
        prepare=m.draft,
    ),
    Case(
        "report: link that is not one, with unsaved text",
        "own_editor",
        lambda c, p: _entry(c, p) + "/links",
        lambda c, p: {
            **m._form(),
            "how": TYPED,
            "action": "add_link",
            "version": str(p["version"]),
            "link_url": "ftp://example.go.th/x",
        },
        ("http",),
        kept=(TYPED, "ftp://example.go.th/x"),
        prepare=m.draft,
    ),
    Case(
        "report: stale removal of evidence, with unsaved text",
        "own_editor",
        lambda c, p: _entry(c, p) + f"/evidence/remove?evidence_id={p[1]}",
        lambda c, p: {
            **m._form(),
            "result": TYPED,
            "action": "remove_evidence",
            "version": str(p[0] - 1),
        },
        ("โหลด",),
        kept=(TYPED,),
        prepare=m.with_link,
        status=409,
    ),
    # Was a 302 with a flashed message: the reason was lost.
    Case(
        "review desk: reopening until a date that is not one",
        "reviewer",
        lambda c, p: f"/review/entries/{m._entry_id(c)}/reopen",
        lambda c, p: {"until": "2024-02-30", "reason": TYPED},
        ("วัน/เดือน/ปี", "01/09/2569"),
        prepare=m.draft,
    ),
    # Was cut to 4,000 characters and saved.
    Case(
        "review desk: over-long comment",
        "reviewer",
        lambda c, p: f"/review/entries/{m._entry_id(c)}",
        lambda c, p: {
            "decision": "return",
            "comment": TYPED + "ค" * 4_000,
            "version": str(p["version"]),
        },
        ("ยาวเกิน 4000",),
        prepare=m.submitted,
    ),
    # A superscript digit passed isdigit() and crashed int(): a 500.
    Case(
        "profile: staff count ²",
        "own_editor",
        lambda c, p: f"/portal/offices/{OWN}/profile",
        lambda c, p: m.profile_form(c, address=TYPED, staff_count="²"),
        ("จำนวนบุคลากร", "จำนวนเต็ม"),
    ),
    # A kept photo id past the integer column: a database error, a 500.
    Case(
        "profile: photo id past the column",
        "own_editor",
        lambda c, p: f"/portal/offices/{OWN}/profile",
        lambda c, p: m.profile_form(c, address=TYPED, p0_photo_id="99999999999"),
        ("2147483647",),
    ),
    # Was a 500 (int("²")).
    Case(
        "school counts: ² teachers",
        "own_editor",
        lambda c, p: f"/portal/offices/{OWN}/schools/counts",
        lambda c, p: {
            "action": "stats",
            "version": "0",
            "as_of": "2024-06-10",
            "teachers": "²",
            "students": "12345",
        },
        ("ครู", "จำนวนเต็ม"),
        kept=("2024-06-10", "12345"),
    ),
    # Was a 500 (int("²")).
    Case(
        "best practice: item id ²",
        "own_editor",
        lambda c, p: f"/portal/offices/{OWN}/best-practices/new",
        lambda c, p: m.bp_form(c, title=TYPED, item_ids=["²"]),
        ("จำนวนเต็ม",),
    ),
    # Visit plan: the typed team was replaced by the stored one.
    Case(
        "visit plan: a visit date that is not one",
        "coach",
        lambda c, p: f"/coaching/plans/{p['id']}",
        lambda c, p: {
            "action": "save",
            "version": str(p["version"]),
            "team": TYPED,
            "visit_date": "31/02/2567",
        },
        ("วันลงพื้นที่", "วัน/เดือน/ปี", "31/02/2567"),
        prepare=m.visit_plan,
    ),
    # Was cut to 10,000 characters and saved; the record form was always empty again.
    Case(
        "visit record: over-long notes",
        "coach",
        lambda c, p: f"/coaching/plans/{p['id']}/records",
        lambda c, p: {
            "action": "record",
            "visited_on": "2024-03-20",
            "team": TYPED,
            "notes": "น" * 10_001,
        },
        ("ยาวเกิน 10000",),
        prepare=lambda c: m.visit_plan(c, publish=True),
    ),
    # Was a 500 (date of year -539).
    Case(
        "monitoring round: fiscal year +5",
        "admin",
        lambda c, p: "/coaching/rounds",
        lambda c, p: {
            "fiscal_year": "+5",
            "round_no": "2",
            "kind": "onsite_coaching",
            "starts_on": "2024-03-04",
            "ends_on": "2024-04-26",
        },
        ("ปีงบประมาณ", "2400", "2800"),
        kept=("2024-03-04", "2024-04-26"),
    ),
    # A refusal showed the stored time and link again, not the typed ones.
    Case(
        "cluster session: over-long link",
        "admin",
        lambda c, p: f"/coaching/rounds/{c.round_id(3)}/sessions",
        lambda c, p: {
            "cluster": "13",
            "starts_at": "2024-06-12T09:00",
            "link": "https://" + "a" * 2_001,
        },
        ("ยาวเกิน 2000",),
        kept=("2024-06-12T09:00",),
    ),
    # Was cut to 2,000 characters and saved, then a redirect.
    Case(
        "round status: over-long note",
        "reviewer",
        lambda c, p: f"/coaching/rounds/{c.round_id(1)}/statuses",
        lambda c, p: {"office": OWN, "status": "received", "note": TYPED + LONG_REASON},
        ("ยาวเกิน 2000",),
        kept=(TYPED,),
    ),
    # Was cut to 1,000 characters and saved.
    Case(
        "cluster move: over-long reason",
        "admin",
        lambda c, p: "/coaching/clusters/2/members",
        lambda c, p: {"office": OWN, "reason": TYPED + "ร" * 1_000},
        ("ยาวเกิน 1000",),
    ),
    # The typed name was replaced by the stored one.
    Case(
        "user edit: unknown role",
        "admin",
        lambda c, p: f"/admin/users/{c.user_id('other_editor')}",
        lambda c, p: {"name": TYPED, "role": "superuser", "office_code": OWN},
        (),
    ),
    # Was a 500 (value too long for varchar(200)).
    Case(
        "reporting window: over-long Thai label",
        "admin",
        lambda c, p: "/admin/windows",
        lambda c, p: {
            "fiscal_year": "2567",
            "round_no": "3",
            "label_th": "ร" * 201,
            "label_en": TYPED,
            "opens_on": "2024-09-01",
            "closes_on": "2024-09-20",
        },
        ("ยาวเกิน 200",),
    ),
    # Was a 500 (integer out of range).
    Case(
        "ingest source: interval past the column",
        "admin",
        lambda c, p: "/admin/ingest",
        lambda c, p: {
            "name": "refused-feed",
            "kind": "progress-json",
            "url": "https://example.go.th/" + TYPED,
            "interval_seconds": "99999999999",
            "timeout_seconds": "30",
            "options": "{}",
            "enabled": "on",
        },
        ("31622400",),
        kept=("https://example.go.th/" + TYPED,),
    ),
]


def _counts(c: m.Ctx) -> tuple[int, ...]:
    return tuple(
        int(c.scalar(f"SELECT count(*) FROM {t}"))  # noqa: S608 (fixed table names below)
        for t in (
            "audit_log",
            "workflow_revisions",
            "evidence",
            "window_reopenings",
            "workflow_revisions",
            "best_practices",
            "visit_plans",
            "visit_records",
            "monitoring_rounds",
            "cluster_sessions",
            "round_statuses",
            "cluster_moves",
            "reporting_windows",
            "ingest_sources",
            "photos",
        )
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_refusal_keeps_what_was_typed(ctx: m.Ctx, case: Case) -> None:  # noqa: F811
    c = ctx
    prepared = case.prepare(c)
    before = _counts(c)
    versions = c.scalar(f"SELECT coalesce(sum(version), 0) FROM {REVISIONS}")  # noqa: S608 (a fixed row source, no input)
    r = c.page(case.who).post(
        case.url(c, prepared), data=case.form(c, prepared), content_type="multipart/form-data"
    )
    html = r.get_data(as_text=True)
    assert r.status_code == case.status, html[:1500]
    assert 'class="error"' in html, "the refusal is not shown beside the form"
    for part in case.message:
        assert part in html, f"{part!r} missing from the message"
    for value in case.kept:
        assert str(escape(value)) in html, f"typed {value[:40]!r} lost"
    assert "<form" in html
    assert _counts(c) == before, "a refused request changed something"
    assert c.scalar(f"SELECT coalesce(sum(version), 0) FROM {REVISIONS}") == versions  # noqa: S608 (a fixed row source, no input)


def test_the_reopening_form_is_shown_again_filled_in(ctx: m.Ctx) -> None:  # noqa: F811
    c = ctx
    m.draft(c)
    until = (dt.date.today() - dt.timedelta(days=3)).isoformat()  # in the past: refused
    r = c.page("reviewer").post(
        f"/review/entries/{m._entry_id(c)}/reopen", data={"until": until, "reason": TYPED}
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert f'value="{until}"' in html and f'value="{TYPED}"' in html


def test_new_visit_plan_with_an_infinite_k_is_a_400(ctx: m.Ctx) -> None:  # noqa: F811
    # Was a 500: float("-Infinity") reached int().
    c = ctx
    r = c.page("coach").post(
        "/coaching/plans/new",
        data={"cluster": "13", "round_id": str(c.round_id(2)), "k": "-Infinity"},
    )
    assert r.status_code == 400
    assert "32767" in r.get_data(as_text=True)


def test_cluster_session_for_a_cluster_past_the_column_is_a_400(ctx: m.Ctx) -> None:  # noqa: F811
    # Was a 500: smallint out of range.
    c = ctx
    r = c.page("admin").post(
        f"/coaching/rounds/{c.round_id(3)}/sessions",
        data={"cluster": "99999", "starts_at": "2024-06-12T09:00", "link": "https://zoom.us/j/1"},
    )
    assert r.status_code == 400
    assert "32767" in r.get_data(as_text=True)
