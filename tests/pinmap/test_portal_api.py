"""The portal's rules through the API: who may do what, the workflow, versions, windows."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from pinmap.models import AuditLog, ChangeEvent, ReportingWindow

from ..signin import sign_in
from ..support.portal import ROLES, World, full_report
from ..support.progress_sql import ENTRIES, REVISIONS


def _draft(client: FlaskClient, w: World, who: str = "own_editor", **extra: object) -> dict:
    r = client.put(w.entry_url(), json={**full_report(), **extra}, headers=w.headers(who))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _submitted(client: FlaskClient, w: World) -> dict:
    rev = _draft(client, w)
    r = client.post(
        w.entry_url(suffix="/submit"),
        json={"version": rev["version"]},
        headers=w.headers("own_director"),
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _entry_id(session: Session) -> int:
    return session.execute(text(f"SELECT max(id) FROM {ENTRIES}")).scalar_one()  # noqa: S608 (a fixed row source, no input)


# Who may do each write: every other role must be refused (401 anonymous, 403 otherwise).
MATRIX = {
    "save_draft": {"own_editor", "own_director"},
    "submit": {"own_director"},
    "approve": {"reviewer", "admin"},
    "return": {"reviewer", "admin"},
    "add_link": {"own_editor", "own_director"},
    "reopen": {"reviewer", "admin"},
    "read_drafts": {"own_editor", "own_director", "reviewer", "admin"},
}


def _attempt(action: str, client: FlaskClient, w: World, session: Session, who: str):  # type: ignore[no-untyped-def]
    h = w.headers(who)
    if action == "save_draft":
        return client.put(w.entry_url(), json=full_report(), headers=h)
    if action == "add_link":
        return client.post(
            w.entry_url(suffix="/evidence"),
            headers=h,
            json={"url": "https://example.go.th/x", "title": "x"},
        )
    if action == "read_drafts":
        return client.get(
            f"/api/v1/portal/offices/{w.own.code}/entries?fiscal_year={w.fy}", headers=h
        )
    if action == "submit":
        rev = _draft(client, w)
        return client.post(
            w.entry_url(suffix="/submit"), json={"version": rev["version"]}, headers=h
        )
    if action in ("approve", "return"):
        rev = _submitted(client, w)
        return client.post(
            f"/api/v1/review/entries/{_entry_id(session)}/decision",
            headers=h,
            json={"version": rev["version"], "decision": action, "comment": "เพิ่มหลักฐาน"},
        )
    if action == "reopen":
        return client.post(
            "/api/v1/review/reopen",
            headers=h,
            json={
                "office": w.own.code,
                "fiscal_year": w.fy,
                "round_no": 1,
                "until": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
                "reason": "ไฟดับ",
            },
        )
    raise AssertionError(action)


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("action", sorted(MATRIX))
def test_authorization_matrix(
    client: FlaskClient,
    world: World,
    session: Session,
    action: str,
    who: str,
) -> None:
    r = _attempt(action, client, world, session, who)
    if who in MATRIX[action]:
        assert r.status_code in (200, 201), (action, who, r.get_json())
    else:
        assert r.status_code == (401 if who == "anonymous" else 403), (action, who, r.status_code)
        assert r.is_json and r.get_json()["message"]


def test_other_office_editor_cannot_touch_our_entry_even_by_url(
    client: FlaskClient,
    world: World,
) -> None:
    r = client.put(
        world.entry_url(code="spp-krabi"), json=full_report(), headers=world.headers("other_editor")
    )
    assert r.status_code == 403


def test_full_workflow_with_return_and_resubmit(
    client: FlaskClient,
    world: World,
    session: Session,
) -> None:
    rev = _submitted(client, world)
    assert rev["state"] == "submitted"
    eid = _entry_id(session)
    # Not public yet.
    pub = client.get(f"/api/v1/progress?fiscal_year={world.fy}").get_json()
    assert pub["entries"] == []
    # Return needs a comment.
    r = client.post(
        f"/api/v1/review/entries/{eid}/decision",
        headers=world.headers("reviewer"),
        json={"version": rev["version"], "decision": "return", "comment": " "},
    )
    assert r.status_code == 400
    r = client.post(
        f"/api/v1/review/entries/{eid}/decision",
        headers=world.headers("reviewer"),
        json={
            "version": rev["version"],
            "decision": "return",
            "comment": "ตัวเลขไม่ตรงกับรายงานไตรมาส",
        },
    )
    assert r.get_json()["state"] == "returned"
    # The office sees the comment; edits and resubmits.
    entries = client.get(
        f"/api/v1/portal/offices/spp-krabi/entries?fiscal_year={world.fy}",
        headers=world.headers("own_editor"),
    ).get_json()["entries"]
    assert entries[0]["revision"]["review_comment"] == "ตัวเลขไม่ตรงกับรายงานไตรมาส"
    rev = client.put(
        world.entry_url(),
        headers=world.headers("own_editor"),
        json={"version": r.get_json()["version"], "result": "ครู 118 คน"},
    ).get_json()
    rev = client.post(
        world.entry_url(suffix="/submit"),
        json={"version": rev["version"]},
        headers=world.headers("own_director"),
    ).get_json()
    r = client.post(
        f"/api/v1/review/entries/{eid}/decision",
        headers=world.headers("reviewer"),
        json={"version": rev["version"], "decision": "approve"},
    )
    assert r.get_json()["state"] == "approved"
    pub = client.get(f"/api/v1/progress?fiscal_year={world.fy}").get_json()["entries"]
    assert [e["revision"]["result"] for e in pub] == ["ครู 118 คน"]
    summary = client.get(f"/api/v1/progress/summary?fiscal_year={world.fy}").get_json()
    assert summary["offices"]["spp-krabi"]["by_status"]["on_plan"] == 1
    # A change record for the approval, and the audit trail of every step.
    public = select(ChangeEvent.kind).where(
        ChangeEvent.office_code == "spp-krabi", ChangeEvent.audience == "public"
    )
    assert session.scalars(public).all() == ["progress.approved"]
    private = select(ChangeEvent.kind).where(
        ChangeEvent.audience == "office", ChangeEvent.office_id == world.own.id
    )
    assert len(session.scalars(private).all()) == 6  # 2 saves, 2 submits, 2 reviews
    actions = session.scalars(
        select(AuditLog.action).where(AuditLog.office_id == world.own.id).order_by(AuditLog.id)
    ).all()
    assert actions == [
        "progress.save",
        "progress.submit",
        "progress.return",
        "progress.save",
        "progress.submit",
        "progress.approve",
    ]


def test_editing_approved_starts_a_new_revision_and_keeps_the_public_one(
    client: FlaskClient,
    world: World,
    session: Session,
) -> None:
    rev = _submitted(client, world)
    eid = _entry_id(session)
    approved = client.post(
        f"/api/v1/review/entries/{eid}/decision",
        headers=world.headers("reviewer"),
        json={"version": rev["version"], "decision": "approve"},
    ).get_json()
    new = client.put(
        world.entry_url(),
        headers=world.headers("own_editor"),
        json={"version": approved["version"], "result": "แก้ไขใหม่"},
    ).get_json()
    assert new["revision_no"] == approved["revision_no"] + 1 and new["state"] == "draft"
    pub = client.get(f"/api/v1/progress?fiscal_year={world.fy}").get_json()["entries"]
    assert pub[0]["revision"]["result"] == "ครู 120 คน"  # the approved text stays public
    revs = session.execute(text(f"SELECT count(*) FROM {REVISIONS}")).scalar_one()  # noqa: S608 (a fixed row source, no input)
    assert revs == 2


@pytest.mark.parametrize(
    ("state_setup", "actor", "request_"),
    [
        ("submitted", "own_editor", "save"),  # cannot edit while waiting for review
        ("draft", "reviewer", "approve"),  # cannot approve a draft
        ("submitted", "own_director", "submit"),
    ],  # cannot submit twice
)
def test_no_skipped_steps(
    client: FlaskClient,
    world: World,
    session: Session,
    state_setup: str,
    actor: str,
    request_: str,
) -> None:
    rev = _submitted(client, world) if state_setup == "submitted" else _draft(client, world)
    h, v = world.headers(actor), rev["version"]
    if request_ == "save":
        r = client.put(world.entry_url(), headers=h, json={"version": v, "what": "x"})
    elif request_ == "approve":
        r = client.post(
            f"/api/v1/review/entries/{_entry_id(session)}/decision",
            headers=h,
            json={"version": v, "decision": "approve"},
        )
    else:
        r = client.post(world.entry_url(suffix="/submit"), headers=h, json={"version": v})
    assert r.status_code == 409, r.get_json()


def test_stale_version_is_409_and_loses_nothing(
    client: FlaskClient,
    world: World,
) -> None:
    first = _draft(client, world)
    mine = client.put(
        world.entry_url(),
        headers=world.headers("own_editor"),
        json={"version": first["version"], "what": "ฉบับของฉัน"},
    ).get_json()
    theirs = client.put(
        world.entry_url(),
        headers=world.headers("own_director"),
        json={"version": first["version"], "what": "ฉบับของเขา"},  # stale
        environ_base={"HTTP_ACCEPT_LANGUAGE": "th"},
    )
    assert theirs.status_code == 409
    assert "เวอร์ชัน" in theirs.get_json()["message"]
    current = client.get(
        f"/api/v1/portal/offices/spp-krabi/entries?fiscal_year={world.fy}",
        headers=world.headers("own_editor"),
    ).get_json()
    assert current["entries"][0]["revision"]["what"] == "ฉบับของฉัน"
    assert current["entries"][0]["revision"]["version"] == mine["version"]


def test_no_version_seen_before_a_new_revision_matches_it(
    client: FlaskClient, world: World, session: Session
) -> None:
    # Each revision counting from 1 let a page opened on an early draft save over a later
    # revision whose count happened to match: every version the report ever had must fail.
    seen = [_draft(client, world)["version"]]
    for text_ in ("สอง", "สาม", "สี่"):
        seen.append(
            client.put(
                world.entry_url(),
                headers=world.headers("own_editor"),
                json={"version": seen[-1], "what": text_},
            ).get_json()["version"]
        )
    sub = client.post(
        world.entry_url(suffix="/submit"),
        json={"version": seen[-1]},
        headers=world.headers("own_director"),
    ).get_json()
    approved = client.post(
        f"/api/v1/review/entries/{_entry_id(session)}/decision",
        headers=world.headers("reviewer"),
        json={"version": sub["version"], "decision": "approve"},
    ).get_json()
    seen += [sub["version"], approved["version"]]
    new = client.put(
        world.entry_url(),
        headers=world.headers("own_editor"),
        json={"version": approved["version"], "what": "ใหม่"},
    ).get_json()
    assert new["revision_no"] == 2 and new["version"] > max(seen)
    for stale in seen:
        r = client.put(
            world.entry_url(),
            headers=world.headers("own_director"),
            json={"version": stale, "what": "ทับ"},
        )
        assert r.status_code == 409, (stale, r.get_json())


def test_an_incomplete_report_names_its_fields_in_the_readers_language(
    client: FlaskClient, world: World
) -> None:
    rev = _draft(client, world, where="", how="", indicator_target=None)
    r = client.post(
        world.entry_url(suffix="/submit"),
        json={"version": rev["version"]},
        headers={**world.headers("own_director"), "Accept-Language": "th"},
    )
    assert r.status_code == 400
    message = r.get_json()["message"]
    assert "พื้นที่ดำเนินการ" in message and "วิธีดำเนินการ" in message
    assert "ค่าเป้าหมาย" in message and "where" not in message and "indicator" not in message
    bad = client.put(
        world.entry_url(),
        json={"version": rev["version"], "indicator_value": "x"},
        headers={**world.headers("own_editor"), "Accept-Language": "en"},
    )
    assert bad.status_code == 400
    assert bad.get_json()["errors"]["json"]["indicator_value"] == ["Not a number."]


def test_queue_history_and_windows_are_in_the_api(
    client: FlaskClient, world: World, session: Session
) -> None:
    sub = _submitted(client, world)
    q = f"/api/v1/review/queue?fiscal_year={world.fy}&item_kind=policy&item_no=1"
    queue = client.get(q, headers=world.headers("reviewer")).get_json()
    assert [(e["office"], e["revision"]["state"]) for e in queue["entries"]] == [
        ("spp-krabi", "submitted")
    ]
    assert (
        client.get(q + "&cluster=1", headers=world.headers("reviewer")).get_json()["entries"] == []
    )
    assert client.get(q, headers=world.headers("own_director")).status_code == 403
    assert client.get(q).status_code == 401
    assert client.get(q + "&state=bogus", headers=world.headers("reviewer")).status_code == 400
    client.post(
        f"/api/v1/review/entries/{_entry_id(session)}/decision",
        headers=world.headers("reviewer"),
        json={"version": sub["version"], "decision": "return", "comment": "เพิ่มภาพ"},
    )
    history = world.entry_url(suffix="/revisions")
    revs = client.get(history, headers=world.headers("own_editor")).get_json()["revisions"]
    assert [(r["revision_no"], r["state"], r["review_comment"]) for r in revs] == [
        (1, "returned", "เพิ่มภาพ")
    ]
    assert client.get(history, headers=world.headers("other_editor")).status_code == 403
    assert client.get(history).status_code == 401
    windows = client.get(f"/api/v1/reporting-windows?fiscal_year={world.fy}").get_json()
    assert windows["windows"] and {"round_no", "opens_on", "closes_on"} <= set(
        windows["windows"][0]
    )


def test_submission_outside_the_window_is_refused_until_reopened(
    client: FlaskClient,
    world: World,
    session: Session,
) -> None:
    window = session.scalars(select(ReportingWindow).filter_by(fiscal_year=world.fy)).one()
    today = window.opens_on + dt.timedelta(days=3)
    window.closes_on = today - dt.timedelta(days=1)
    session.commit()
    rev = _draft(client, world)
    r = client.post(
        world.entry_url(suffix="/submit"),
        json={"version": rev["version"]},
        headers={**world.headers("own_director"), "Accept-Language": "th"},
    )
    assert r.status_code == 409
    assert "ขอให้ผู้ตรวจสอบเปิดรับ" in r.get_json()["message"]
    r = client.post(
        "/api/v1/review/reopen",
        headers=world.headers("reviewer"),
        json={
            "office": "spp-krabi",
            "fiscal_year": world.fy,
            "round_no": 1,
            "until": (today + dt.timedelta(days=5)).isoformat(),
            "reason": "น้ำท่วม",
        },
    )
    assert r.status_code == 201
    r = client.post(
        world.entry_url(suffix="/submit"),
        json={"version": rev["version"]},
        headers=world.headers("own_director"),
    )
    assert r.status_code == 200


def test_incomplete_report_cannot_be_submitted(
    client: FlaskClient,
    world: World,
) -> None:
    rev = client.put(
        world.entry_url(),
        headers=world.headers("own_editor"),
        json={"status": "on_plan", "what": "อบรม"},
    ).get_json()
    r = client.post(
        world.entry_url(suffix="/submit"),
        json={"version": rev["version"]},
        headers=world.headers("own_director"),
    )
    assert r.status_code == 400
    assert "พื้นที่ดำเนินการ, วิธีดำเนินการ, ผลการดำเนินงาน" in r.get_json()["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "done"),
        ("indicator_value", "many"),
        ("indicator_unit", "kg"),
        ("indicator_value", -1),
    ],
)
def test_bad_values_are_400(client: FlaskClient, world: World, field: str, value: object) -> None:
    r = client.put(world.entry_url(), headers=world.headers("own_editor"), json={field: value})
    assert r.status_code == 400


def test_percent_over_100_and_achieved_is_derived(
    client: FlaskClient,
    world: World,
) -> None:
    r = client.put(
        world.entry_url(),
        headers=world.headers("own_editor"),
        json={"indicator_value": 120, "indicator_unit": "percent"},
    )
    assert r.status_code == 400
    rev = _draft(client, world, indicator_value=70, indicator_target=75)
    assert rev["indicator"]["achieved"] is False


def test_office_user_cannot_set_approval_fields(
    client: FlaskClient,
    world: World,
) -> None:
    r = client.put(
        world.entry_url(),
        headers=world.headers("own_director"),
        json={**full_report(), "state": "approved", "reviewed_by_id": 1},
    )
    assert r.status_code == 400  # unknown fields are refused, never applied
    rev = _draft(client, world)
    assert rev["state"] == "draft"


def test_rich_text_is_sanitised(client: FlaskClient, world: World) -> None:
    rev = _draft(
        client,
        world,
        what='<p onclick="x()">ok <script>alert(1)</script><b>b</b></p>'
        '<a href="javascript:alert(1)">j</a>',
    )
    assert "script" not in rev["what"] and "onclick" not in rev["what"]
    assert "javascript:" not in rev["what"]
    assert "<b>b</b>" in rev["what"]


def test_audit_log_is_append_only(
    client: FlaskClient,
    world: World,
    session: Session,
) -> None:
    _draft(client, world)
    for statement in (
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        savepoint = session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        savepoint.rollback()


def test_session_write_without_csrf_is_refused(
    app,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    client = app.test_client()
    sign_in(client, world.users["own_editor"].id)
    r = client.put(world.entry_url(), json=full_report(), headers={"Accept-Language": "en"})
    assert r.status_code == 400
    assert "form expired" in r.get_json()["message"]


def test_revoked_or_unknown_token_is_401(client: FlaskClient, world: World) -> None:
    r = client.put(
        world.entry_url(),
        json=full_report(),
        headers={"Authorization": "Bearer pm_not-a-real-token"},
    )
    assert r.status_code == 401


def test_tokens_are_listed_and_revoked_from_the_cli(app, client: FlaskClient, world: World) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    email = world.users["own_editor"].email
    listed = runner.invoke(args=["tokens", "list", "--email", email])
    assert listed.exit_code == 0 and "active" in listed.output
    prefix = listed.output.split("\t", 1)[0]
    assert world.tokens["own_editor"].startswith(prefix)
    assert (
        client.put(
            world.entry_url(), json=full_report(), headers=world.headers("own_editor")
        ).status_code
        == 200
    )
    done = runner.invoke(args=["tokens", "revoke", prefix])
    assert done.exit_code == 0, done.output
    assert (
        client.put(
            world.entry_url(), json=full_report(), headers=world.headers("own_editor")
        ).status_code
        == 401
    )
    assert "revoked" in runner.invoke(args=["tokens", "list", "--email", email]).output
    unknown = runner.invoke(args=["tokens", "revoke", "pm_nothing"])
    assert unknown.exit_code != 0 and "No token starts with pm_nothing" in unknown.output
