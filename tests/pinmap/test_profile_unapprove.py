"""Un-approving an approved profile puts back the previously approved public state: the pin,
the counts, the school list and every profile field, in one transaction, announced live."""

from __future__ import annotations

import csv
import io

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.models import ChangeEvent, Office, OfficeStats, School
from pinmap.services import profiles as svc
from pinmap.services.audit import Actor
from pinmap.services.errors import ServiceError

from ..signin import sign_in, sign_out
from ..support.portal import World
from ..support.profiles import (
    SCHOOLS_OK,
    _upload,
    approve_current,
    krabi_point,
    latest_revision,
    profile_form,
    profile_version,
    refreshed,
    save_profile,
)
from ..support.profiles import wired as wired

URL = "/portal/offices/spp-krabi/schools"
COUNTS = {"action": "stats", "as_of": "2024-06-10", "teachers": "917", "students": "12,345"}
OTHER_SCHOOLS = (
    "code,name_th,amphoe_th,level,lat,lon\n"
    "1081010009,โรงเรียนบ้านใหม่ทดสอบ,เหนือคลอง,มัธยมศึกษา,8.10,98.95\n"
)


def _public(client: FlaskClient, session: Session) -> dict[str, object]:
    """What an anonymous reader sees of Krabi's office: page, API, export and tables."""
    sign_out(client)
    session.expire_all()
    office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
    api = client.get("/api/v1/offices/spp-krabi/profile").get_json()
    feature = client.get("/api/v1/offices/spp-krabi").get_json()
    text = client.get("/exports/offices.csv").get_data(as_text=True).lstrip("\ufeff")
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["code"] == "spp-krabi")
    return {
        "pin": tuple(round(c, 6) for c in feature["geometry"]["coordinates"]),
        "precision": office.location_precision,
        "phone": (api["profile"] or {}).get("data", {}).get("phone") if api["profile"] else None,
        "stats": api["stats"],
        "schools": api["schools"],
        "export": (row["teachers"], row["students"], row["schools_listed"]),
        "school_codes": sorted(session.scalars(select(School.code))),
        "stats_rows": sorted(
            (s.as_of.isoformat(), s.teachers, s.students)
            for s in session.scalars(select(OfficeStats))
        ),
    }


def _stage(
    client: FlaskClient,
    world: World,
    session: Session,
    lon: float,
    lat: float,
    phone: str,
    counts: dict[str, str],
    schools: str,
) -> None:
    sign_in(client, world.users["own_editor"], lang="en")
    form = profile_form(lon, lat, phone=phone, version=profile_version(session))
    assert save_profile(client, form).status_code == 302
    r = client.post(URL + "/counts", data={**counts, "version": profile_version(session)})
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    r = _upload(
        client,
        URL + "/import",
        "s.csv",
        schools.encode(),
        action="import",
        version=profile_version(session),
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]


def _unapprove(session: Session, world: World) -> svc.ProfileRevision:
    rev = latest_revision(session)
    assert rev is not None and rev.state == "approved"
    found = svc.review(
        session,
        Actor(world.users["reviewer"], "127.0.0.1"),
        rev,
        "unapprove",
        "ตำแหน่งหมุดไม่ถูกต้อง",
        rev.version,
    )
    session.commit()
    return found


def _last_change(session: Session) -> ChangeEvent:
    return session.scalars(select(ChangeEvent).order_by(ChangeEvent.id.desc()).limit(1)).one()


def test_un_approving_the_second_approval_restores_the_first(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    loaded = _public(client, session)
    _stage(client, world, session, lon + 0.01, lat + 0.01, "0 7561 1111", COUNTS, SCHOOLS_OK)
    approve_current(client, world, session)
    first = _public(client, session)
    assert first["schools"] == 2 and first["pin"] != loaded["pin"]
    # The second revision moves the pin again, changes the same date's counts, adds a date, and
    # replaces the school list.
    _stage(
        client,
        world,
        session,
        lon + 0.02,
        lat + 0.02,
        "0 7561 2222",
        {**COUNTS, "teachers": "1000"},
        OTHER_SCHOOLS,
    )
    sign_in(client, world.users["own_editor"], lang="en")
    r = client.post(
        URL + "/counts",
        data={
            **COUNTS,
            "as_of": "2025-01-15",
            "teachers": "5",
            "version": profile_version(session),
        },
    )
    assert r.status_code == 302
    approve_current(client, world, session)
    second = _public(client, session)
    assert second["pin"] != first["pin"] and second["school_codes"] == ["1081010009"]
    assert second["phone"] == "0 7561 2222"
    before_id = _last_change(session).id

    found = _unapprove(session, world)
    assert found.state == "submitted"
    assert _public(client, session) == first
    # One change record tells open maps to fetch the office again (its pin moved back).
    changes = session.scalars(
        select(ChangeEvent).where(
            ChangeEvent.id > before_id,
            ChangeEvent.kind == "office.updated",
            ChangeEvent.audience == "public",
        )
    ).all()
    fields = {f for c in changes for f in c.payload.get("fields", [])}
    assert {"geom", "stats", "schools", "profile"} <= fields
    # What the approval replaced is not public and not carried into the next revision.
    api = client.get("/api/v1/offices/spp-krabi/profile").get_json()
    assert "_replaced" not in api["profile"]["data"]
    # Approving it again publishes it again, and un-approving again restores the first again.
    sign_in(client, world.users["reviewer"], lang="en")
    rev = refreshed(session, found)
    assert (
        client.post(
            f"/review/profiles/{rev.id}", data={"decision": "approve", "version": str(rev.version)}
        ).status_code
        == 302
    )
    assert _public(client, session) == second
    _unapprove(session, world)
    assert _public(client, session) == first


def test_un_approving_the_only_approval_restores_the_loaded_office(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    loaded = _public(client, session)
    _stage(client, world, session, lon + 0.01, lat - 0.01, "0 7561 1111", COUNTS, SCHOOLS_OK)
    approve_current(client, world, session)
    assert _public(client, session) != loaded
    _unapprove(session, world)
    assert _public(client, session) == loaded
    assert session.scalar(select(func.count()).select_from(School)) == 0


def test_a_refused_un_approval_changes_nothing(
    client: FlaskClient, world: World, session: Session
) -> None:
    lon, lat = krabi_point(session)
    _stage(client, world, session, lon + 0.01, lat + 0.01, "0 7561 1111", COUNTS, SCHOOLS_OK)
    approve_current(client, world, session)
    first = _public(client, session)
    _stage(client, world, session, lon + 0.02, lat + 0.02, "0 7561 2222", COUNTS, OTHER_SCHOOLS)
    approve_current(client, world, session)
    second = _public(client, session)
    # Meanwhile another office took one of the schools the first approval had published.
    session.add(
        School(
            office_id=world.own.id
            if world.own.code != "spp-krabi"
            else session.scalars(select(Office.id).where(Office.code != "spp-krabi")).first(),
            code="1081010001",
            name_th="โรงเรียนอื่น",
        )
    )
    session.commit()
    rev = latest_revision(session)
    assert rev is not None
    try:
        svc.review(
            session,
            Actor(world.users["reviewer"], "127.0.0.1"),
            rev,
            "unapprove",
            "ผิด",
            rev.version,
        )
    except ServiceError as err:
        assert err.status == 409
        session.rollback()
    else:
        raise AssertionError("the un-approval should have been refused")
    now = _public(client, session)
    assert now["pin"] == second["pin"] and now["stats_rows"] == second["stats_rows"]
    assert refreshed(session, rev).state == "approved"
    assert first != second


def test_a_revision_approved_before_approvals_kept_what_they_replaced(
    client: FlaskClient, world: World, session: Session
) -> None:
    """Revisions approved before this change hold no record of what they replaced: the
    previous approved revision's own pin, counts and school list are put back."""
    lon, lat = krabi_point(session)
    _stage(client, world, session, lon + 0.01, lat + 0.01, "0 7561 1111", COUNTS, SCHOOLS_OK)
    approve_current(client, world, session)
    first = _public(client, session)
    _stage(
        client,
        world,
        session,
        lon + 0.02,
        lat + 0.02,
        "0 7561 2222",
        {**COUNTS, "teachers": "1000"},
        OTHER_SCHOOLS,
    )
    approve_current(client, world, session)
    rev = latest_revision(session)
    assert rev is not None and "_replaced" in rev.data
    rev.data = {k: v for k, v in rev.data.items() if k != "_replaced"}
    session.commit()
    _unapprove(session, world)
    after = _public(client, session)
    assert after["pin"] == first["pin"] and after["phone"] == first["phone"]
    assert after["stats"] == first["stats"] and after["school_codes"] == first["school_codes"]
