"""Authorization-matrix rows of the /api/v1 profile-part routes (people, schools and counts,
five-year results, best practices): the same allowed sets as their portal pages' rows. Built on
authz_matrix's pieces; authz_matrix adds these rows to ROWS."""

from __future__ import annotations

import io
from typing import Any

from .authz_matrix import (
    DIRECTOR,
    OBEC,
    OFFICE,
    RESULTS_CSV,
    SCHOOLS_CSV,
    Ctx,
    Row,
    _multipart,
    _ok,
    _png,
    bp_draft,
    bp_submitted,
    bp_with_file,
    profile_draft,
    profile_submitted,
)
from .portal import OWN

PROFILE_API = f"/api/v1/offices/{OWN}/profile"


def profile_body(c: Ctx, version: int = 0) -> dict[str, Any]:
    lon, lat = c.lonlat
    return {
        "version": version,
        "address": "ถนนอุตรกิจ อ.เมืองกระบี่",
        "phone": "0 7561 1234",
        "staff_count": 85,
        "people": [{"role": "director", "name": "นายผู้อำนวยการ ทดสอบ"}],
        "location": {"lon": round(lon, 6), "lat": round(lat, 6)},
    }


def bp_body(c: Ctx, **extra: Any) -> dict[str, Any]:
    body = {
        "title": "ห้องเรียนคุณภาพ",
        "fiscal_year": c.fy,
        "item_ids": [c.w.item.id],
        "background": "ที่มา",
        "objectives": "วัตถุประสงค์",
        "process": "ขั้นตอน",
        "results": "ผล",
    }
    return {**body, **extra}


def bp_and_photo(c: Ctx) -> tuple[int, int, int]:
    """A draft best practice and a photo of the office: (its id, its version, the photo id)."""
    bp_id, version = bp_draft(c)
    r = _multipart(
        c.api(),
        f"/api/v1/offices/{OWN}/photos",
        {"file": (io.BytesIO(_png()), "p.png")},
        headers=c.h("own_editor"),
    )
    return bp_id, version, _ok(r, 201).get_json()["id"]


ROWS: list[Row] = [
    Row(
        "api profile save",
        "PUT",
        "/api/v1/offices/<code>/profile/working",
        OFFICE,
        api=True,
        act=lambda c, who, _: c.api().put(
            PROFILE_API + "/working", headers=c.h(who), json=profile_body(c)
        ),
    ),
    Row(
        "api profile submit",
        "POST",
        "/api/v1/offices/<code>/profile/submit",
        DIRECTOR,
        api=True,
        prepare=profile_draft,
        act=lambda c, who, p: c.api().post(
            PROFILE_API + "/submit", headers=c.h(who), json={"version": p[1]}
        ),
    ),
    Row(
        "api review a profile",
        "POST",
        "/api/v1/review/profiles/<int:rev_id>/decision",
        OBEC,
        api=True,
        prepare=profile_submitted,
        act=lambda c, who, p: c.api().post(
            f"/api/v1/review/profiles/{p[0]}/decision",
            headers=c.h(who),
            json={"version": p[1], "decision": "approve"},
        ),
    ),
    Row(
        "api schools import",
        "POST",
        "/api/v1/offices/<code>/schools/import",
        OFFICE,
        api=True,
        act=lambda c, who, _: _multipart(
            c.api(),
            f"/api/v1/offices/{OWN}/schools/import",
            {"version": "0", "file": (io.BytesIO(SCHOOLS_CSV), "schools.csv")},
            headers=c.h(who),
        ),
    ),
    Row(
        "api school counts save",
        "PUT",
        "/api/v1/offices/<code>/school-counts",
        OFFICE,
        api=True,
        act=lambda c, who, _: c.api().put(
            f"/api/v1/offices/{OWN}/school-counts",
            headers=c.h(who),
            json={"version": 0, "as_of": "2024-06-10", "teachers": 917, "students": 12345},
        ),
    ),
    # Five-year results are OBEC's to load, as on the portal page.
    Row(
        "api results import for an office",
        "POST",
        "/api/v1/offices/<code>/results/import",
        OBEC,
        api=True,
        act=lambda c, who, _: _multipart(
            c.api(),
            f"/api/v1/offices/{OWN}/results/import",
            {"file": (io.BytesIO(RESULTS_CSV), "results.csv")},
            headers=c.h(who),
        ),
    ),
    Row(
        "api best practice create",
        "POST",
        "/api/v1/offices/<code>/best-practices",
        OFFICE,
        api=True,
        act=lambda c, who, _: c.api().post(
            f"/api/v1/offices/{OWN}/best-practices", headers=c.h(who), json=bp_body(c)
        ),
    ),
    Row(
        "api best practice save",
        "PUT",
        "/api/v1/best-practices/<int:bp_id>",
        OFFICE,
        api=True,
        prepare=bp_draft,
        act=lambda c, who, p: c.api().put(
            f"/api/v1/best-practices/{p[0]}",
            headers=c.h(who),
            json=bp_body(c, version=p[1], title="ห้องเรียนคุณภาพ 2"),
        ),
    ),
    Row(
        "api best practice submit",
        "POST",
        "/api/v1/best-practices/<int:bp_id>/submit",
        DIRECTOR,
        api=True,
        prepare=bp_draft,
        act=lambda c, who, p: c.api().post(
            f"/api/v1/best-practices/{p[0]}/submit", headers=c.h(who), json={"version": p[1]}
        ),
    ),
    Row(
        "api review a best practice",
        "POST",
        "/api/v1/review/best-practices/<int:bp_id>/decision",
        OBEC,
        api=True,
        prepare=bp_submitted,
        act=lambda c, who, p: c.api().post(
            f"/api/v1/review/best-practices/{p[0]}/decision",
            headers=c.h(who),
            json={"version": p[1], "decision": "approve"},
        ),
    ),
    Row(
        "api photo upload",
        "POST",
        "/api/v1/offices/<code>/photos",
        OFFICE,
        api=True,
        act=lambda c, who, _: _multipart(
            c.api(),
            f"/api/v1/offices/{OWN}/photos",
            {"file": (io.BytesIO(_png()), "p.png")},
            headers=c.h(who),
        ),
    ),
    Row(
        "api best practice attach a file",
        "POST",
        "/api/v1/best-practices/<int:bp_id>/attachments",
        OFFICE,
        api=True,
        prepare=bp_draft,
        act=lambda c, who, p: _multipart(
            c.api(),
            f"/api/v1/best-practices/{p[0]}/attachments",
            {"version": str(p[1]), "file": (io.BytesIO(_png()), "a.png")},
            headers=c.h(who),
        ),
    ),
    Row(
        "api best practice remove a file",
        "DELETE",
        "/api/v1/best-practices/<int:bp_id>/attachments/<int:index>",
        OFFICE,
        api=True,
        prepare=bp_with_file,
        act=lambda c, who, p: c.api().delete(
            f"/api/v1/best-practices/{p[0]}/attachments/0?version={p[1]}", headers=c.h(who)
        ),
    ),
    Row(
        "api best practice infographic",
        "PUT",
        "/api/v1/best-practices/<int:bp_id>/infographic",
        OFFICE,
        api=True,
        prepare=bp_and_photo,
        act=lambda c, who, p: c.api().put(
            f"/api/v1/best-practices/{p[0]}/infographic",
            headers=c.h(who),
            json={"version": p[1], "photo_id": p[2]},
        ),
    ),
]
