"""Office counts and school lists go through the profile review; results are OBEC's to load."""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.models import ChangeEvent, Office, OfficeStats, ResultRecord, School
from pinmap.services.ingest_status import disagreements

from ..signin import sign_in, sign_out
from ..support.portal import World
from ..support.profiles import (
    RESULTS_OK,
    SCHOOLS_OK,
    _upload,
    approve_current,
    krabi_point,
    one_revision,
    profile_form,
    profile_revisions,
    profile_version,
    refreshed,
    save_profile,
)
from ..support.profiles import wired as wired

URL = "/portal/offices/spp-krabi/schools"
COUNTS = {
    "action": "stats",
    "as_of": "2024-06-10",
    "teachers": "917",
    "students": "12,345",
    "staff": "83",
}


def _krabi_export(client: FlaskClient) -> dict[str, str]:
    text = client.get("/exports/offices.csv").get_data(as_text=True).lstrip("\ufeff")
    return next(row for row in csv.DictReader(io.StringIO(text)) if row["code"] == "spp-krabi")


def _stage_all(client: FlaskClient, world: World, session: Session) -> None:
    """As the office editor: a profile draft, counts and a school list, nothing approved."""
    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    assert save_profile(client, profile_form(lon, lat)).status_code == 302
    r = client.post(URL + "/counts", data={**COUNTS, "version": profile_version(session)})
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    r = _upload(
        client,
        URL + "/import",
        "schools.csv",
        SCHOOLS_OK.encode(),
        action="import",
        version=profile_version(session),
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]


def _assert_not_public(client: FlaskClient, session: Session) -> None:
    sign_out(client)
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert "12,345" not in html and "โรงเรียนบ้านทดสอบ" not in html
    api = client.get("/api/v1/offices/spp-krabi/profile").get_json()
    assert api["stats"] is None and api["schools"] == 0
    row = _krabi_export(client)
    assert row["teachers"] == "" and row["students"] == "" and row["schools_listed"] == "0"
    assert session.scalar(select(func.count()).select_from(School)) == 0
    assert session.scalar(select(func.count()).select_from(OfficeStats)) == 0


def test_staged_counts_and_schools_are_public_only_after_approval(
    client: FlaskClient, world: World, session: Session
) -> None:
    before_events = session.scalar(select(func.max(ChangeEvent.id))) or 0
    _stage_all(client, world, session)
    # Staging announces itself to the office and OBEC only.
    events = session.scalars(select(ChangeEvent).where(ChangeEvent.id > before_events)).all()
    assert events and {e.audience for e in events} == {"office"}
    # The office sees what waits, marked as such.
    html = client.get(URL).get_data(as_text=True)
    assert "Waiting for review" in html and "12345" in html and "โรงเรียนบ้านทดสอบ" in html
    assert "2 added, 0 removed, 0 changed" in html
    profile_page = client.get("/portal/offices/spp-krabi/profile").get_data(as_text=True)
    assert "Waiting for review" in profile_page
    _assert_not_public(client, session)
    # Submitted: still private; the reviewer sees the counts and what the list changes.
    rev = one_revision(session)
    sign_in(client, world.users["own_director"], lang="en")
    r = client.post(
        "/portal/offices/spp-krabi/profile/submit",
        data={
            **profile_form(*krabi_point(session)),
            "action": "submit",
            "version": profile_version(session),
        },
    )
    assert r.status_code == 302
    _assert_not_public(client, session)
    sign_in(client, world.users["reviewer"], lang="en")
    review = client.get(f"/review/profiles/{rev.id}").get_data(as_text=True)
    assert "12,345" in review and "917" in review and "2024-06-10" in review
    assert "2 schools (2 added, 0 removed, 0 changed" in review
    before_events = session.scalar(select(func.max(ChangeEvent.id))) or 0
    r = client.post(
        f"/review/profiles/{rev.id}",
        data={"decision": "approve", "version": profile_version(session)},
    )
    assert r.status_code == 302
    published = session.scalars(
        select(ChangeEvent).where(
            ChangeEvent.id > before_events,
            ChangeEvent.audience == "public",
            ChangeEvent.kind == "office.updated",
        )
    ).all()
    assert any({"stats", "schools"} <= set(e.payload.get("fields", [])) for e in published)
    sign_out(client)
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert "12,345" in html and "โรงเรียนบ้านทดสอบ" in html
    api = client.get("/api/v1/offices/spp-krabi/profile").get_json()
    assert api["schools"] == 2 and api["stats"]["teachers"] == 917
    assert api["stats"]["as_of"] == "2024-06-10" and api["stats"]["source"] == "manual"
    assert api["profile"]["data"]["schools"] == 2  # the approved list's size, not its rows
    row = _krabi_export(client)
    assert (row["teachers"], row["students"], row["schools_listed"]) == ("917", "12345", "2")


def test_a_later_draft_leaves_the_public_values_until_it_is_approved(
    client: FlaskClient, world: World, session: Session
) -> None:
    _stage_all(client, world, session)
    approve_current(client, world, session)
    sign_in(client, world.users["own_editor"], lang="en")
    one_school = SCHOOLS_OK.splitlines()[0] + "\n" + SCHOOLS_OK.splitlines()[1] + "\n"
    r = _upload(
        client,
        URL + "/import",
        "fewer.csv",
        one_school.encode(),
        action="import",
        version=profile_version(session),
    )
    assert r.status_code == 302
    r = client.post(
        URL + "/counts", data={**COUNTS, "teachers": "1000", "version": profile_version(session)}
    )
    assert r.status_code == 302
    assert "0 added, 1 removed, 0 changed" in client.get(URL).get_data(as_text=True)
    sign_out(client)
    api = client.get("/api/v1/offices/spp-krabi/profile").get_json()
    assert api["schools"] == 2 and api["stats"]["teachers"] == 917
    approve_current(client, world, session)
    api = client.get("/api/v1/offices/spp-krabi/profile").get_json()
    assert api["schools"] == 1 and api["stats"]["teachers"] == 1000
    # A profile-only revision keeps the approved list and counts as they are.
    sign_in(client, world.users["own_editor"], lang="en")
    r = save_profile(
        client,
        profile_form(*krabi_point(session), phone="0 7561 9999", version=profile_version(session)),
    )
    assert r.status_code == 302
    assert "Waiting for review" not in client.get(URL).get_data(as_text=True)
    approve_current(client, world, session)
    assert session.scalar(select(func.count()).select_from(School)) == 1


def test_a_returned_revision_keeps_its_counts_and_schools_editable(
    client: FlaskClient, world: World, session: Session
) -> None:
    _stage_all(client, world, session)
    rev = one_revision(session)
    sign_in(client, world.users["own_director"], lang="en")
    r = client.post(
        "/portal/offices/spp-krabi/profile/submit",
        data={
            **profile_form(*krabi_point(session)),
            "action": "submit",
            "version": profile_version(session),
        },
    )
    assert r.status_code == 302
    # Waiting for review: nobody changes it.
    sign_in(client, world.users["own_editor"], lang="en")
    r = client.post(
        URL + "/counts", data={**COUNTS, "teachers": "5", "version": profile_version(session)}
    )
    assert r.status_code == 409
    sign_in(client, world.users["reviewer"], lang="en")
    r = client.post(
        f"/review/profiles/{rev.id}",
        data={
            "decision": "return",
            "comment": "Teachers look low",
            "version": profile_version(session),
        },
    )
    assert r.status_code == 302
    sign_in(client, world.users["own_editor"], lang="en")
    html = client.get(URL).get_data(as_text=True)
    assert "Teachers look low" in html and "Waiting for review" in html
    r = client.post(
        URL + "/counts", data={**COUNTS, "teachers": "1017", "version": profile_version(session)}
    )
    assert r.status_code == 302
    r = _upload(
        client,
        URL + "/import",
        "schools.csv",
        SCHOOLS_OK.replace("ประถมศึกษา", "มัธยม").encode(),
        action="import",
        version=profile_version(session),
    )
    assert r.status_code == 302
    rev = refreshed(session, rev)
    assert rev.state == "returned" and rev.data["counts"]["teachers"] == 1017
    assert rev.data["schools"][0]["level"] == "มัธยม"
    # A stale page is refused, not silently applied.
    r = client.post(URL + "/counts", data={**COUNTS, "version": "1"})
    assert r.status_code == 409
    _assert_not_public(client, session)


def test_staging_needs_the_office_rights(
    client: FlaskClient, world: World, session: Session
) -> None:
    for who in ("other_editor", "reviewer"):
        sign_in(client, world.users[who], lang="en")
        r = client.post(URL + "/counts", data={**COUNTS, "version": "0"})
        assert r.status_code == 403, who
        r = _upload(
            client,
            URL + "/import",
            "schools.csv",
            SCHOOLS_OK.encode(),
            action="import",
            version="0",
        )
        assert r.status_code == 403, who
    assert profile_revisions(session) == []


def test_office_staff_cannot_import_results(
    client: FlaskClient, world: World, session: Session
) -> None:
    for who in ("own_editor", "own_director"):
        sign_in(client, world.users[who], lang="en")
        page = client.get("/portal/offices/spp-krabi/results")
        assert page.status_code == 200 and 'type="file"' not in page.get_data(as_text=True)
        r = _upload(client, "/portal/offices/spp-krabi/results", "r.csv", RESULTS_OK.encode())
        assert r.status_code == 403, who
        r = _upload(client, "/portal/results", "r.csv", RESULTS_OK.encode())
        assert r.status_code in (302, 403) and "loaded" not in r.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(ResultRecord)) == 0
    sign_in(client, world.users["reviewer"], lang="en")
    assert _upload(client, "/portal/results", "r.csv", RESULTS_OK.encode()).status_code == 302
    assert session.scalar(select(func.count()).select_from(ResultRecord)) == 3


def test_consistency_check_compares_approved_office_counts_with_the_stats_source(
    client: FlaskClient, world: World, session: Session
) -> None:
    krabi = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
    session.add(
        OfficeStats(
            office_id=krabi.id,
            source="demo-stats",
            as_of=dt.date(2024, 6, 1),
            teachers=900,
            students=12_345,
        )
    )
    session.commit()
    _stage_all(client, world, session)
    assert [d for d in disagreements(session, krabi.id) if d.measure == "teachers"] == []
    approve_current(client, world, session)
    session.expire_all()
    found = {d.measure: d.values for d in disagreements(session, krabi.id)}
    assert found["teachers"] == {"manual": 917, "demo-stats": 900}
    assert "students" not in found  # they agree


def test_an_approval_is_refused_when_another_office_took_a_school_meanwhile(
    world: World, session: Session
) -> None:
    from pinmap.services import profiles as profile_svc
    from pinmap.services import schools as school_svc
    from pinmap.services.audit import Actor
    from pinmap.services.errors import ServiceError

    reviewer = Actor(world.users["reviewer"])
    staged = {}
    for who in ("own_editor", "other_editor"):
        user = world.users[who]
        office = session.get(Office, user.office_id)
        assert office is not None
        staged[who], _diff = school_svc.stage_schools(
            session, Actor(user), office, "schools.csv", SCHOOLS_OK.encode(), None
        )
        # What the director's submission does (the engine's revision: state and level).
        staged[who].rev.state, staged[who].rev.level = "submitted", 1
        session.flush()
    profile_svc.review(
        session, reviewer, staged["other_editor"], "approve", "", staged["other_editor"].version
    )
    rev = staged["own_editor"]
    try:
        profile_svc.review(session, reviewer, rev, "approve", "", rev.version)
    except ServiceError as err:
        assert err.status == 409 and "now belongs to office" in err.msgid
    else:
        raise AssertionError("the approval published a school another office holds")
    session.rollback()
