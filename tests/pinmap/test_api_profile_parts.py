"""/api/v1 for profile parts (issue #12, API parity): people, schools and counts, five-year
results, best practices and operating plans. Who reads what (approved for everyone, drafts for
the office and OBEC), writes that match the portal pages, stale versions and bad input."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import AuditLog, BestPractice, ProfileRevision
from pinmap.services import plans as plan_svc
from pinmap.services.audit import Actor

from ..signin import sign_in
from ..support.portal import OTHER, OWN, World
from ..support.profiles import RESULTS_OK, SCHOOLS_OK, krabi_point, profile_form

API = "/api/v1"
WORK_READERS = ("own_editor", "own_director", "reviewer", "admin")


@pytest.fixture
def api(app: Flask) -> FlaskClient:
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


def call(api: FlaskClient, w: World, who: str, method: str, url: str, **kw: Any) -> Any:
    headers = {**w.headers(who), "Accept-Language": "en", **kw.pop("headers", {})}
    return api.open(API + url, method=method, headers=headers, **kw)


def ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:1000])
    return r.get_json()  # type: ignore[no-any-return]


def refused(r: Any, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:1000])
    body = r.get_json()
    assert body["status"] == status and body["message"], body
    return str(body["message"])


def profile_body(session: Session, **extra: Any) -> dict[str, Any]:
    lon, lat = krabi_point(session)
    body: dict[str, Any] = {
        "version": 0,
        "address": "ถนนอุตรกิจ อ.เมืองกระบี่",
        "phone": "0 7561 1234 ต่อ 12",
        "email": "saraban@krabi.go.th",
        "website": "https://www.krabi.go.th",
        "staff_count": 85,
        "people": [
            {"role": "director", "name": "นายผู้อำนวยการ ทดสอบ", "position": "ผู้อำนวยการ"},
            {"role": "deputy", "name": "นางรอง ทดสอบ", "position": "รองผู้อำนวยการ"},
        ],
        "location": {"lon": round(lon, 6), "lat": round(lat, 6)},
    }
    return {**body, **extra}


def audit_count(session: Session) -> int:
    session.expire_all()
    return len(session.scalars(select(AuditLog.id)).all())


# --- profile and people -----------------------------------------------------------------------


def test_profile_draft_is_for_the_office_and_obec_only(
    api: FlaskClient, world: World, session: Session
) -> None:
    saved = ok(
        call(
            api,
            world,
            "own_editor",
            "PUT",
            f"/offices/{OWN}/profile/working",
            json=profile_body(session),
        )
    )
    assert saved["revision"]["state"] == "draft"
    assert saved["revision"]["data"]["address"] == "ถนนอุตรกิจ อ.เมืองกระบี่"
    assert saved["missing"] == []
    # The draft: the office and OBEC read it; anonymous callers must sign in; others may not.
    for who in WORK_READERS:
        body = ok(call(api, world, who, "GET", f"/offices/{OWN}/profile/working"))
        assert body["revision"]["version"] == saved["revision"]["version"]
        people = ok(call(api, world, who, "GET", f"/offices/{OWN}/people?view=working"))
        assert [p["role"] for p in people["people"]] == ["director", "deputy"]
    refused(call(api, world, "anonymous", "GET", f"/offices/{OWN}/profile/working"), 401)
    refused(call(api, world, "other_editor", "GET", f"/offices/{OWN}/profile/working"), 403)
    refused(call(api, world, "anonymous", "GET", f"/offices/{OWN}/people?view=working"), 401)
    refused(call(api, world, "other_editor", "GET", f"/offices/{OWN}/people?view=working"), 403)
    # The approved view is everyone's, and nothing is approved yet.
    for who in ("anonymous", "other_editor", "own_editor"):
        public = ok(call(api, world, who, "GET", f"/offices/{OWN}/people"))
        assert public == {"office": OWN, "view": "approved", "revision_no": None, "people": []}
    # Office staff write only their own office's profile; OBEC does not write profiles.
    for who, status in (("other_editor", 403), ("reviewer", 403), ("anonymous", 401)):
        refused(
            call(
                api,
                world,
                who,
                "PUT",
                f"/offices/{OWN}/profile/working",
                json=profile_body(session),
            ),
            status,
        )


def test_api_save_stores_what_the_page_stores(
    api: FlaskClient, app: Flask, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    page = app.test_client()
    sign_in(page, world.users["own_editor"], lang="en")
    r = page.post(
        f"/portal/offices/{OWN}/profile",
        data=profile_form(lon, lat),
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1000]
    session.expire_all()
    by_page = session.scalars(select(ProfileRevision)).one()
    page_data, page_version = dict(by_page.data), by_page.version
    body = profile_body(session, version=page_version, location={"lon": lon, "lat": lat})
    saved = ok(call(api, world, "own_editor", "PUT", f"/offices/{OWN}/profile/working", json=body))
    session.expire_all()
    by_api = session.scalars(select(ProfileRevision)).one()  # the same draft, saved again
    assert by_api.data == page_data
    assert saved["revision"]["location"] == {
        "lon": round(lon, 6),
        "lat": round(lat, 6),
    }
    assert saved["revision"]["version"] > page_version


def test_profile_submit_review_and_publish(
    api: FlaskClient, world: World, session: Session
) -> None:
    url = f"/offices/{OWN}/profile"
    draft = ok(call(api, world, "own_editor", "PUT", url + "/working", json=profile_body(session)))
    version = draft["revision"]["version"]
    # Only the director certifies and submits, with the version read.
    refused(call(api, world, "own_editor", "POST", url + "/submit", json={"version": version}), 403)
    refused(
        call(api, world, "own_director", "POST", url + "/submit", json={"version": version - 1}),
        409,
    )
    sent = ok(call(api, world, "own_director", "POST", url + "/submit", json={"version": version}))
    assert sent["revision"]["state"] == "submitted"
    # A submitted profile is no longer editable.
    refused(
        call(
            api,
            world,
            "own_editor",
            "PUT",
            url + "/working",
            json=profile_body(session, version=sent["revision"]["version"]),
        ),
        409,
    )
    # The review desk.
    refused(call(api, world, "own_editor", "GET", "/review/profiles"), 403)
    queue = ok(call(api, world, "reviewer", "GET", "/review/profiles"))["profiles"]
    assert [(q["office"], q["id"]) for q in queue] == [(OWN, sent["revision"]["id"])]
    decide = f"/review/profiles/{sent['revision']['id']}/decision"
    now = sent["revision"]["version"]
    refused(
        call(
            api, world, "own_director", "POST", decide, json={"version": now, "decision": "approve"}
        ),
        403,
    )
    message = refused(
        call(api, world, "reviewer", "POST", decide, json={"version": now, "decision": "return"}),
        400,
    )
    assert "comment" in message
    refused(
        call(
            api, world, "reviewer", "POST", decide, json={"version": now - 1, "decision": "approve"}
        ),
        409,
    )
    approved = ok(
        call(
            api,
            world,
            "reviewer",
            "POST",
            decide,
            json={"version": now, "decision": "approve", "comment": "ดี"},
        )
    )
    assert approved["state"] == "approved"
    # Now everyone reads the people; the reviewer's note stays out of the public profile.
    people = ok(call(api, world, "anonymous", "GET", f"/offices/{OWN}/people"))
    assert [p["name"] for p in people["people"]] == ["นายผู้อำนวยการ ทดสอบ", "นางรอง ทดสอบ"]
    public = ok(call(api, world, "anonymous", "GET", f"/offices/{OWN}/profile"))
    assert public["profile"]["data"]["phone"] == "0 7561 1234 ต่อ 12"
    assert "review_comment" not in public["profile"]


def test_profile_bad_input_is_refused_in_the_readers_language(
    api: FlaskClient, world: World, session: Session
) -> None:
    url = f"/offices/{OWN}/profile/working"
    before = audit_count(session)
    director = {"role": "director", "name": "ก"}
    cases: list[tuple[dict[str, Any], int]] = [
        (profile_body(session, staff_count="85"), 400),  # text for a number
        (profile_body(session, staff_count=10**9), 400),
        (profile_body(session, people=[director] * 9), 400),
        (profile_body(session, people=[director, director]), 400),  # two directors (service)
        (profile_body(session, people=[{"role": "janitor", "name": "x"}]), 400),
        (profile_body(session, location={"lon": 500, "lat": 8}), 400),
        (profile_body(session, email="not-an-address"), 400),
        (profile_body(session, address="ก" * 501), 400),
        (profile_body(session, office_photo_id=2**31), 400),
        (profile_body(session, office_photo_id=12345), 400),  # no such photo of this office
        (profile_body(session, surprise=1), 400),
        (profile_body(session, version=7), 409),  # no draft yet: a stale version
    ]
    for body, status in cases:
        refused(call(api, world, "own_editor", "PUT", url, json=body), status)
    r = call(api, world, "own_editor", "PUT", url, data="{", content_type="application/json")
    refused(r, 400)
    assert audit_count(session) == before, "a refused write wrote something"
    th = call(
        api,
        world,
        "own_editor",
        "PUT",
        url,
        headers={"Accept-Language": "th"},
        json=profile_body(session, email="not-an-address"),
    )
    assert th.status_code == 400 and any(
        "\u0e00" <= ch <= "\u0e7f" for ch in th.get_json()["message"]
    )
    refused(call(api, world, "anonymous", "GET", "/offices/nope/people"), 404)
    refused(call(api, world, "anonymous", "GET", f"/offices/{OWN}/people?view=all"), 400)


# --- schools and counts -------------------------------------------------------------------------


def _import(
    api: FlaskClient, w: World, who: str, data: bytes, name: str = "s.csv", **form: str
) -> Any:
    return call(
        api,
        w,
        who,
        "POST",
        f"/offices/{OWN}/schools/import",
        data={**form, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_schools_are_staged_then_public(api: FlaskClient, world: World, session: Session) -> None:
    refused(_import(api, world, "other_editor", SCHOOLS_OK.encode()), 403)
    refused(_import(api, world, "reviewer", SCHOOLS_OK.encode()), 403)
    staged = ok(_import(api, world, "own_editor", SCHOOLS_OK.encode(), version="0"))
    assert (staged["count"], staged["added"]) == (2, 2)
    # Staged: the office and OBEC see the draft's list; the public list is still empty.
    for who in ("anonymous", "other_editor", "own_editor"):
        public = ok(call(api, world, who, "GET", f"/offices/{OWN}/schools"))
        assert (public["total"], public["staged"]) == (0, False)
    refused(call(api, world, "other_editor", "GET", f"/offices/{OWN}/schools?view=working"), 403)
    refused(call(api, world, "anonymous", "GET", f"/offices/{OWN}/schools?view=working"), 401)
    working = ok(call(api, world, "reviewer", "GET", f"/offices/{OWN}/schools?view=working"))
    assert working["staged"] and working["total"] == 2
    assert working["schools"][0]["code"] == "1081010001"
    paged = ok(
        call(
            api,
            world,
            "own_editor",
            "GET",
            f"/offices/{OWN}/schools?view=working&per_page=1&page=2",
        )
    )
    assert [s["code"] for s in paged["schools"]] == ["1081010002"]
    refused(call(api, world, "own_editor", "GET", f"/offices/{OWN}/schools?per_page=501"), 400)
    # Counts go into the same draft; a stale version is refused.
    version = staged["version"]
    counts = {"version": version, "as_of": "2024-06-10", "teachers": 917, "students": 12345}
    refused(
        call(
            api,
            world,
            "own_editor",
            "PUT",
            f"/offices/{OWN}/school-counts",
            json={**counts, "version": version - 1},
        ),
        409,
    )
    saved = ok(call(api, world, "own_editor", "PUT", f"/offices/{OWN}/school-counts", json=counts))
    assert saved["counts"]["teachers"] == 917 and saved["version"] > version
    assert (
        ok(call(api, world, "anonymous", "GET", f"/offices/{OWN}/school-counts"))["counts"] is None
    )
    mine = ok(call(api, world, "own_director", "GET", f"/offices/{OWN}/school-counts?view=working"))
    assert mine["counts"]["students"] == 12345
    # Approval (profile fields first, as the page requires) publishes both.
    body = profile_body(session, version=saved["version"])
    draft = ok(call(api, world, "own_editor", "PUT", f"/offices/{OWN}/profile/working", json=body))
    assert draft["revision"]["data"]["counts"]["teachers"] == 917  # the form keeps staged data
    sent = ok(
        call(
            api,
            world,
            "own_director",
            "POST",
            f"/offices/{OWN}/profile/submit",
            json={"version": draft["revision"]["version"]},
        )
    )
    ok(
        call(
            api,
            world,
            "admin",
            "POST",
            f"/review/profiles/{sent['revision']['id']}/decision",
            json={"version": sent["revision"]["version"], "decision": "approve"},
        )
    )
    public = ok(call(api, world, "anonymous", "GET", f"/offices/{OWN}/schools"))
    by_code = {s["code"]: s for s in public["schools"]}
    assert public["total"] == 2 and by_code["1081010001"]["lat"] == pytest.approx(8.07)
    assert by_code["1081010002"]["lat"] is None
    stats = ok(call(api, world, "anonymous", "GET", f"/offices/{OWN}/school-counts"))
    assert (stats["counts"]["teachers"], stats["school_count"]) == (917, 2)


def test_school_import_and_counts_refuse_bad_input(
    api: FlaskClient, world: World, session: Session
) -> None:
    before = audit_count(session)
    bad = SCHOOLS_OK + "x!,,,,,\n"
    body = refused(_import(api, world, "own_editor", bad.encode()), 400)
    assert body
    r = _import(api, world, "own_editor", bad.encode())
    problems = r.get_json()["errors"]["file"]
    assert problems and problems[0]["row"] and problems[0]["reason"]
    refused(
        call(
            api,
            world,
            "own_editor",
            "POST",
            f"/offices/{OWN}/schools/import",
            data={"version": "0"},
            content_type="multipart/form-data",
        ),
        400,
    )
    refused(_import(api, world, "own_editor", SCHOOLS_OK.encode(), version="x"), 400)
    refused(_import(api, world, "own_editor", b"\x00\x01garbage", name="s.xlsx"), 400)
    url = f"/offices/{OWN}/school-counts"
    for counts in (
        {"as_of": "2024-06-10"},  # no count at all (service)
        {"as_of": "2999-01-01", "teachers": 1},  # in the future (service)
        {"as_of": "10/06/2024", "teachers": 1},
        {"as_of": "2024-06-10", "teachers": -1},
        {"as_of": "2024-06-10", "teachers": "917"},
        {"as_of": "2024-06-10", "teachers": 10**12},
    ):
        refused(call(api, world, "own_editor", "PUT", url, json=counts), 400)
    assert audit_count(session) == before


# --- five-year results ----------------------------------------------------------------------------


def test_results_are_public_and_loaded_by_obec(
    api: FlaskClient, world: World, session: Session
) -> None:
    url = f"/offices/{OWN}/results/import"

    def upload(who: str, data: str) -> Any:
        return call(
            api,
            world,
            who,
            "POST",
            url,
            data={"file": (io.BytesIO(data.encode()), "r.csv")},
            content_type="multipart/form-data",
        )

    krabi_only = "\n".join(line for line in RESULTS_OK.splitlines() if OTHER not in line) + "\n"
    for who, status in (("own_editor", 403), ("own_director", 403), ("anonymous", 401)):
        refused(upload(who, krabi_only), status)
    # Rows of another office are refused on an office's import, row by row.
    other = refused(upload("reviewer", RESULTS_OK), 400)
    assert other
    loaded = ok(upload("reviewer", krabi_only))
    assert (loaded["rows"], loaded["offices"]) == (2, [OWN])
    series = ok(call(api, world, "anonymous", "GET", f"/offices/{OWN}/results"))["series"]
    assert len(series) == 1
    assert series[0]["office"] == {"2562": 45.5, "2563": 48.25}
    assert series[0]["category"] == "onet_rt_nt"


# --- best practices -------------------------------------------------------------------------------


def bp_body(w: World, **extra: Any) -> dict[str, Any]:
    body = {
        "title": "ห้องเรียนคุณภาพ",
        "owner": "กลุ่มนิเทศ",
        "fiscal_year": w.fy,
        "dimensions": [],
        "item_ids": [w.item.id],
        "background": "<p>ที่มา</p>",
        "objectives": "วัตถุประสงค์",
        "process": "ขั้นตอน",
        "results": "ผล",
        "success_factors": "ปัจจัย",
    }
    return {**body, **extra}


def test_best_practice_round_trip(api: FlaskClient, world: World, session: Session) -> None:
    made = ok(
        call(
            api, world, "own_editor", "POST", f"/offices/{OWN}/best-practices", json=bp_body(world)
        ),
        201,
    )
    assert (made["state"], made["items"], made["office"]) == ("draft", [world.item.id], OWN)
    one = f"/best-practices/{made['id']}"
    refused(call(api, world, "anonymous", "GET", one), 401)
    refused(call(api, world, "other_editor", "GET", one), 403)
    for who in WORK_READERS:
        assert ok(call(api, world, who, "GET", one))["title"] == "ห้องเรียนคุณภาพ"
    assert (
        ok(call(api, world, "anonymous", "GET", f"/offices/{OWN}/best-practices"))["best_practices"]
        == []
    )
    refused(
        call(api, world, "other_editor", "GET", f"/offices/{OWN}/best-practices?view=working"), 403
    )
    mine = ok(call(api, world, "own_editor", "GET", f"/offices/{OWN}/best-practices?view=working"))
    assert [p["id"] for p in mine["best_practices"]] == [made["id"]]
    # Writing: stale versions and other offices are refused.
    refused(
        call(
            api, world, "own_editor", "PUT", one, json=bp_body(world, version=made["version"] - 1)
        ),
        409,
    )
    refused(
        call(api, world, "other_editor", "PUT", one, json=bp_body(world, version=made["version"])),
        403,
    )
    saved = ok(
        call(
            api,
            world,
            "own_editor",
            "PUT",
            one,
            json=bp_body(world, version=made["version"], title="ห้องเรียนคุณภาพ 2"),
        )
    )
    # Submit and review.
    refused(
        call(api, world, "own_editor", "POST", one + "/submit", json={"version": saved["version"]}),
        403,
    )
    sent = ok(
        call(
            api, world, "own_director", "POST", one + "/submit", json={"version": saved["version"]}
        )
    )
    assert sent["state"] == "submitted"
    queue = ok(call(api, world, "reviewer", "GET", "/review/best-practices"))["best_practices"]
    assert [p["id"] for p in queue] == [made["id"]]
    decide = f"/review/best-practices/{made['id']}/decision"
    refused(
        call(
            api,
            world,
            "reviewer",
            "POST",
            decide,
            json={"version": sent["version"] - 1, "decision": "approve"},
        ),
        409,
    )
    ok(
        call(
            api,
            world,
            "reviewer",
            "POST",
            decide,
            json={"version": sent["version"], "decision": "approve", "comment": "ดีมาก"},
        )
    )
    public = ok(call(api, world, "anonymous", "GET", one))
    assert public["title"] == "ห้องเรียนคุณภาพ 2" and "review_comment" not in public
    # Editing the approved practice makes a working copy; the approved text stays public.
    copy = ok(
        call(
            api,
            world,
            "own_editor",
            "PUT",
            one,
            json=bp_body(world, version=public["version"], title="ฉบับใหม่"),
        )
    )
    assert copy["replaces_id"] == made["id"] and copy["id"] != made["id"]
    listed = ok(call(api, world, "anonymous", "GET", f"/offices/{OWN}/best-practices"))
    assert [p["title"] for p in listed["best_practices"]] == ["ห้องเรียนคุณภาพ 2"]
    refused(call(api, world, "anonymous", "GET", f"/best-practices/{copy['id']}"), 401)


def test_best_practice_bad_input(api: FlaskClient, world: World, session: Session) -> None:
    url = f"/offices/{OWN}/best-practices"
    before = audit_count(session)
    for body in (
        bp_body(world, title=""),
        bp_body(world, fiscal_year=str(world.fy)),
        bp_body(world, fiscal_year=2400),  # before the first year (service)
        bp_body(world, item_ids=["1"]),
        bp_body(world, item_ids=[2**31]),
        bp_body(world, dimensions=["no such dimension"]),  # service
        bp_body(world, background="ก" * 10_001),
        {"title": "x"},
    ):
        refused(call(api, world, "own_editor", "POST", url, json=body), 400)
    refused(call(api, world, "own_editor", "GET", "/best-practices/999999"), 404)
    refused(
        call(
            api,
            world,
            "own_editor",
            "PUT",
            f"/best-practices/{2**31 - 1}",
            json=bp_body(world, version=1),
        ),
        404,
    )
    assert audit_count(session) == before
    assert session.scalars(select(BestPractice)).all() == []


# --- operating plans ------------------------------------------------------------------------------


def test_operating_plan_reads(api: FlaskClient, world: World, session: Session) -> None:
    url = f"/offices/{OWN}/operating-plans/{world.fy}"
    refused(call(api, world, "anonymous", "GET", url), 404)
    refused(call(api, world, "own_editor", "GET", url + "?view=working"), 404)
    fields = {"problem": "ปัญหา", "approach": "แนวทาง", "targets": "เป้าหมาย", "timeline": "ต.ค."}
    plan = plan_svc.save(
        session, Actor(world.users["own_editor"], "127.0.0.1"), world.own, world.fy, fields, None
    )
    plan_svc.submit(
        session, Actor(world.users["own_director"], "127.0.0.1"), plan, plan.current.version
    )
    session.commit()
    refused(call(api, world, "anonymous", "GET", url), 404)
    refused(call(api, world, "other_editor", "GET", url + "?view=working"), 403)
    refused(call(api, world, "anonymous", "GET", url + "?view=working"), 401)
    working = ok(call(api, world, "reviewer", "GET", url + "?view=working"))
    assert (working["state"], working["problem"]) == ("submitted", "ปัญหา")
    plan_svc.review(
        session,
        Actor(world.users["reviewer"], "127.0.0.1"),
        plan,
        "approve",
        "",
        plan.current.version,
    )
    session.commit()
    public = ok(call(api, world, "anonymous", "GET", url))
    assert public["targets"] == "เป้าหมาย" and public["approved_at"]
    assert "review_comment" not in public or public["review_comment"] is None


def test_operating_plan_writes_with_the_pages_rules(
    api: FlaskClient, world: World, session: Session
) -> None:
    url = f"/offices/{OWN}/operating-plans/{world.fy}"
    fields = {"problem": "<b>ปัญหา</b><script>x</script>", "approach": "แนวทาง", "targets": ""}
    refused(call(api, world, "anonymous", "PUT", url, json={"version": 0, **fields}), 401)
    refused(call(api, world, "other_editor", "PUT", url, json={"version": 0, **fields}), 403)
    refused(call(api, world, "reviewer", "PUT", url, json={"version": 0, **fields}), 403)
    saved = ok(call(api, world, "own_editor", "PUT", url, json={"version": 0, **fields}))
    assert saved["status"] == "saved" and saved["office"] == OWN
    assert "<script>" not in saved["problem"] and "ปัญหา" in saved["problem"]
    # A stale version is refused and changes nothing.
    stale = call(api, world, "own_editor", "PUT", url, json={"version": 0, "problem": "ทับ"})
    assert "reload" in refused(stale, 409).lower()
    # Incomplete: the director's send is refused with the missing fields named.
    msg = refused(
        call(
            api, world, "own_director", "POST", url + "/submit", json={"version": saved["version"]}
        ),
        400,
    )
    assert "incomplete" in msg
    full = {**fields, "targets": "เป้าหมาย", "timeline": "ต.ค.", "version": saved["version"]}
    saved = ok(call(api, world, "own_editor", "PUT", url, json=full))
    refused(
        call(api, world, "own_editor", "POST", url + "/submit", json={"version": saved["version"]}),
        403,
    )
    sent = ok(
        call(
            api, world, "own_director", "POST", url + "/submit", json={"version": saved["version"]}
        )
    )
    assert sent["status"] == "sent" and sent["level"] == 1
    queue = ok(call(api, world, "reviewer", "GET", "/review/operating-plans"))
    assert [p["id"] for p in queue["plans"]] == [sent["id"]]
    refused(call(api, world, "own_editor", "GET", "/review/operating-plans"), 403)
    decision = f"/review/operating-plans/{sent['id']}/decision"
    back = {"version": sent["version"], "decision": "return"}
    assert "comment" in refused(call(api, world, "reviewer", "POST", decision, json=back), 400)
    refused(call(api, world, "own_director", "POST", decision, json=back), 403)
    done = ok(
        call(
            api,
            world,
            "reviewer",
            "POST",
            decision,
            json={"version": sent["version"], "decision": "approve"},
        )
    )
    assert done["status"] == "approved"
    public = ok(call(api, world, "anonymous", "GET", url))
    assert public["targets"] == "เป้าหมาย"
    # Approved plans are locked: saving again opens a new revision, the approved one stays public.
    again = ok(
        call(
            api,
            world,
            "own_editor",
            "PUT",
            url,
            json={**full, "version": done["version"], "targets": "ใหม่"},
        )
    )
    assert again["status"] == "saved"
    assert ok(call(api, world, "anonymous", "GET", url))["targets"] == "เป้าหมาย"
    assert session.scalar(select(AuditLog.id).where(AuditLog.action == "plan.approve"))


def test_operating_plan_writes_are_in_the_openapi_document(api: FlaskClient) -> None:
    doc = api.get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    assert "put" in paths["/api/v1/offices/{code}/operating-plans/{fiscal_year}"]
    assert "post" in paths["/api/v1/offices/{code}/operating-plans/{fiscal_year}/submit"]
    assert "post" in paths["/api/v1/review/operating-plans/{plan_id}/decision"]


# --- photos, attachments and the infographic -----------------------------------------------------


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return buf.getvalue()


def _upload(
    api: FlaskClient, w: World, who: str, url: str, data: bytes, name: str, **form: str
) -> Any:
    return call(
        api,
        w,
        who,
        "POST",
        url,
        data={**form, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_photos_attachments_and_infographic(
    api: FlaskClient, world: World, session: Session
) -> None:
    photos = f"/offices/{OWN}/photos"
    refused(_upload(api, world, "other_editor", photos, _png(), "p.png"), 403)
    refused(_upload(api, world, "reviewer", photos, _png(), "p.png"), 403)
    refused(_upload(api, world, "own_editor", photos, b"<html>not an image", "p.png"), 400)
    photo = ok(_upload(api, world, "own_editor", photos, _png(), "p.png"), 201)
    assert photo["url"] and photo["thumb_url"]
    # The photo serves as a person's photo in the profile.
    people = [{"role": "director", "name": "ผอ.", "photo_id": photo["id"]}]
    saved = ok(
        call(
            api,
            world,
            "own_editor",
            "PUT",
            f"/offices/{OWN}/profile/working",
            json=profile_body(session, people=people),
        )
    )
    assert saved["revision"]["data"]["people"][0]["photo_id"] == photo["id"]
    # ... and as a best practice's infographic; files attach and detach.
    made = ok(
        call(
            api, world, "own_editor", "POST", f"/offices/{OWN}/best-practices", json=bp_body(world)
        ),
        201,
    )
    one = f"/best-practices/{made['id']}"
    refused(
        call(
            api,
            world,
            "own_editor",
            "PUT",
            one + "/infographic",
            json={"version": made["version"], "photo_id": 2**31 - 1},
        ),
        404,
    )
    shown = ok(
        call(
            api,
            world,
            "own_editor",
            "PUT",
            one + "/infographic",
            json={"version": made["version"], "photo_id": photo["id"]},
        )
    )
    assert shown["infographic_photo_id"] == photo["id"] and shown["infographic_url"]
    refused(
        _upload(
            api,
            world,
            "other_editor",
            one + "/attachments",
            _png(),
            "a.png",
            version=str(shown["version"]),
        ),
        403,
    )
    refused(
        _upload(
            api,
            world,
            "own_editor",
            one + "/attachments",
            _png(),
            "a.png",
            version=str(shown["version"] - 1),
        ),
        409,
    )
    refused(
        _upload(
            api,
            world,
            "own_editor",
            one + "/attachments",
            b"MZ\x90\x00",
            "a.exe",
            version=str(shown["version"]),
        ),
        400,
    )
    attached = ok(
        _upload(
            api,
            world,
            "own_editor",
            one + "/attachments",
            _png(),
            "a.png",
            version=str(shown["version"]),
            title="ภาพกิจกรรม",
        ),
        201,
    )
    assert [a["title"] for a in attached["attachments"]] == ["ภาพกิจกรรม"]
    v = attached["version"]
    refused(call(api, world, "own_editor", "DELETE", one + f"/attachments/3?version={v}"), 404)
    refused(call(api, world, "own_editor", "DELETE", one + f"/attachments/0?version={v - 1}"), 409)
    detached = ok(call(api, world, "own_editor", "DELETE", one + f"/attachments/0?version={v}"))
    assert detached["attachments"] == []
    dropped = ok(
        call(
            api,
            world,
            "own_editor",
            "PUT",
            one + "/infographic",
            json={"version": detached["version"], "photo_id": None},
        )
    )
    assert dropped["infographic_photo_id"] is None
