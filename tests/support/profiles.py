"""Office-profile helpers shared by the profile, school/result, staged-profile, best-practice,
table and download tests: the blueprints wired in, a profile form, its approval."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import to_shape
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import Office, WorkflowReport, WorkflowRevision
from pinmap.services.profile_revisions import ProfileRevision

from ..signin import sign_in, sign_out
from .portal import World


@pytest.fixture(autouse=True)
def wired(app: Flask) -> Flask:
    """Register the profiles blueprints until create_app does it (idempotent once it does)."""
    from pinmap.api.profiles import bp as api_bp
    from pinmap.portal import bp

    if "portal" not in app.blueprints:
        app.register_blueprint(bp)
    if "profiles_api" not in app.blueprints:
        api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
        api.register_blueprint(api_bp)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def krabi_point(session: Session) -> tuple[float, float]:
    office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
    point = to_shape(office.geom)
    return point.x, point.y


def profile_revisions(session: Session) -> list[ProfileRevision]:
    """Every office's profile revisions, oldest first (the rows of the old profile_revisions
    table, now the revisions of the offices' "profile" workflow reports)."""
    session.expire_all()
    rows = session.execute(
        select(WorkflowReport.office_id, WorkflowRevision)
        .join(WorkflowRevision, WorkflowRevision.report_id == WorkflowReport.id)
        .where(WorkflowReport.kind == "profile")
        .order_by(WorkflowRevision.id)
    ).all()
    return [ProfileRevision(rev, office_id) for office_id, rev in rows]


def one_revision(session: Session) -> ProfileRevision:
    """The only profile revision (as `select(ProfileRevision)).one()` read it)."""
    (found,) = profile_revisions(session)
    return found


def latest_revision(session: Session) -> ProfileRevision | None:
    found = profile_revisions(session)
    return found[-1] if found else None


def refreshed(session: Session, rev: ProfileRevision) -> ProfileRevision:
    """`rev` read again, with the reviewer's last word on it."""
    from pinmap.services.profile_revisions import revision_or_404

    session.expire_all()
    return revision_or_404(session, rev.id)


def profile_form(lon: float, lat: float, **extra: Any) -> dict[str, Any]:
    form = {
        "address": "ถนนอุตรกิจ อ.เมืองกระบี่",
        "phone": "0 7561 1234 ต่อ 12",
        "email": "saraban@krabi.go.th",
        "website": "https://www.krabi.go.th",
        "staff_count": "85",
        "lat": f"{lat:.6f}",
        "lon": f"{lon:.6f}",
        "p0_name": "นายผู้อำนวยการ ทดสอบ",
        "p0_position": "ผู้อำนวยการ",
        "p1_name": "นางรอง ทดสอบ",
        "p1_position": "รองผู้อำนวยการ",
        "version": "0",
        "action": "save",
    }
    form.update(extra)
    return form


def save_profile(client: FlaskClient, form: dict[str, Any]) -> Any:
    return client.post(
        "/portal/offices/spp-krabi/profile", data=form, content_type="multipart/form-data"
    )


def approve_current(client: FlaskClient, world: World, session: Session) -> ProfileRevision:
    rev = latest_revision(session)
    assert rev is not None
    sign_in(client, world.users["own_director"], lang="en")
    r = client.post(
        "/portal/offices/spp-krabi/profile/submit",
        data={**_current_form(rev), "action": "submit", "version": str(rev.version)},
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    rev = refreshed(session, rev)
    assert rev.state == "submitted"
    sign_in(client, world.users["reviewer"], lang="en")
    r = client.post(
        f"/review/profiles/{rev.id}", data={"decision": "approve", "version": str(rev.version)}
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    rev = refreshed(session, rev)
    assert rev.state == "approved"
    sign_out(client)
    return rev


def _current_form(rev: ProfileRevision) -> dict[str, Any]:
    data = rev.data
    where = data.get("location")
    point = Point(*where) if where else None
    form = {k: data.get(k) or "" for k in ("address", "phone", "email", "website")}
    form["staff_count"] = "" if data.get("staff_count") is None else str(data["staff_count"])
    if point is not None:
        form.update(lat=str(point.y), lon=str(point.x))
    for i, person in enumerate(data.get("people") or []):
        form[f"p{i}_name"], form[f"p{i}_position"] = person["name"], person["position"]
        if person.get("photo_id"):
            form[f"p{i}_photo_id"] = str(person["photo_id"])
    if data.get("office_photo_id"):
        form["office_photo_id"] = str(data["office_photo_id"])
    return form


SCHOOLS_OK = (
    "code,name_th,amphoe_th,level,lat,lon\n"
    "1081010001,โรงเรียนบ้านทดสอบ,เมืองกระบี่,ประถมศึกษา,8.07,98.91\n"
    "1081010002,โรงเรียนวัดทดสอบ,อ่าวลึก,ขยายโอกาส,,\n"
)


def _upload(client: FlaskClient, url: str, name: str, data: bytes, **form: str):  # type: ignore[no-untyped-def]
    return client.post(
        url, data={**form, "file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def profile_version(session: Session) -> str:
    """The version the office's pages hold for the current profile revision ("0": none yet)."""
    session.expire_all()
    rev = latest_revision(session)
    return str(rev.version) if rev else "0"


RESULTS_OK = (
    "office_code,fiscal_year,category,indicator,value,unit,office_target,obec_target\n"
    "spp-krabi,2562,onet_rt_nt,O-NET ป.6 <b>ภาษาไทย</b>,45.5,คะแนน,50,50\n"
    "spp-krabi,2563,onet_rt_nt,O-NET ป.6 <b>ภาษาไทย</b>,48.25,คะแนน,50,50\n"
    "spp-bangkok,2563,onet_rt_nt,O-NET ป.6 <b>ภาษาไทย</b>,52,คะแนน,50,50\n"
)


def staged_codes(session: Session) -> list[str]:
    session.expire_all()
    rev = latest_revision(session)
    return [row["code"] for row in (rev.data.get("schools") or [])] if rev else []
