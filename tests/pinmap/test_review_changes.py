"""The review desks show what changed: pin map, school rows, previews of evidence files (real
PDF, then the same file broken on disk), and the counts of waiting work in the navigation."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pikepdf
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import Evidence, WorkflowRevision

from ..signin import sign_in
from ..support.factories import revisions_of
from ..support.portal import World
from ..support.profiles import (
    SCHOOLS_OK,
    _upload,
    krabi_point,
    profile_form,
    profile_version,
    save_profile,
)
from ..support.profiles import wired as wired

SCHOOLS = "/portal/offices/spp-krabi/schools"


_PROFILE_REVISIONS = revisions_of("profile")


def _pdf_bytes() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(300, 400))
    pdf.pages[0].Contents = pdf.make_stream(b"0 0 1 rg 0 200 300 200 re f")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _entry(w: World) -> str:
    return f"/portal/offices/spp-krabi/entries/{w.fy}/1/{w.item.kind}/{w.item.no}"


def _upload_evidence(client: FlaskClient, w: World, session: Session, name: str) -> Evidence:
    r = client.post(
        _entry(w) + "/files",
        data={
            "action": "upload",
            "version": str(_entry_version(session)),
            "file": (io.BytesIO(_pdf_bytes()), name),
            "file_title": "รายงาน <b>ผล</b>",
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    session.expire_all()
    return session.scalars(select(Evidence).order_by(Evidence.id.desc())).first()  # type: ignore[return-value]


def _entry_version(session: Session) -> int:
    rev = session.scalars(revisions_of("progress")).first()
    return rev.version if rev else 0


def test_pdf_evidence_preview_and_a_broken_file(
    app: Flask, client: FlaskClient, world: World, session: Session
) -> None:
    sign_in(client, world.users["own_editor"], lang="en")
    ev = _upload_evidence(client, world, session, "report.pdf")
    assert ev.mime == "application/pdf"
    r = client.get(f"/previews/evidence/{ev.id}.png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert r.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    with Image.open(io.BytesIO(r.data)) as img:
        assert img.width == 240 and img.getpixel((120, 20))[2] > 200  # the blue top half
    r.close()
    # Not public until approved; unknown to outsiders, like the file itself.
    assert app.test_client().get(f"/previews/evidence/{ev.id}.png").status_code == 404
    assert client.get("/previews/evidence/999999.png").status_code == 404

    # A second file damaged on disk after it was accepted: a placeholder, never a 5xx.
    ev2 = _upload_evidence(client, world, session, "second.pdf")
    stored = Path(app.config["PINMAP_UPLOAD_DIR_PATH"]) / ev2.stored_name
    stored.write_bytes(b"%PDF-1.7\nnot really\n%%EOF")
    r = client.get(f"/previews/evidence/{ev2.id}.png")
    assert r.status_code == 200 and r.data.startswith(b"\x89PNG")
    assert r.headers["Cache-Control"].startswith("private")
    stored.unlink()
    assert client.get(f"/previews/evidence/{ev2.id}.png").status_code == 200

    # The office's own report page is not a review desk; the review desk shows the previews.
    sign_in(client, world.users["reviewer"], lang="en")
    page = client.get(f"/review/entries/{ev.revision.report_id}").get_data(as_text=True)
    assert f'src="/previews/evidence/{ev.id}.png"' in page
    assert "รายงาน &lt;b&gt;ผล&lt;/b&gt;" in page and "<b>ผล</b>" not in page


def _submitted_profile(client: FlaskClient, world: World, session: Session) -> WorkflowRevision:
    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    form = profile_form(lon + 0.05, lat, address="<script>x</script> ถนนใหม่")
    assert save_profile(client, form).status_code == 302
    r = _upload(
        client,
        SCHOOLS + "/import",
        "schools.csv",
        SCHOOLS_OK.encode(),
        action="import",
        version=profile_version(session),
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    session.expire_all()
    rev = session.scalars(_PROFILE_REVISIONS).one()
    rev.state, rev.level = (
        "submitted",
        1,
    )  # what the director's submit does; its own tests cover the button
    session.commit()
    return rev


def test_profile_desk_shows_pin_map_and_school_rows_and_nav_counts(
    client: FlaskClient, world: World, session: Session
) -> None:
    rev = _submitted_profile(client, world, session)
    sign_in(client, world.users["reviewer"], lang="en")
    page = client.get(f"/review/profiles/{rev.id}").get_data(as_text=True)
    svg = re.search(r'<svg class="diff-map".*?</svg>', page, re.S)
    assert svg, page[:2000]
    assert svg.group(0).count("<circle") == 2 and "dm-move" in svg.group(0)
    assert "<path" in svg.group(0)  # the basemap's land and provinces around the pins
    assert re.search(r"The pin moves [\d.,]+ km", page)
    # Both rows of the staged list are new against an empty public list, listed by code.
    added = re.search(r'<table class="diff-table diff-added">.*?</table>', page, re.S)
    assert added and "1081010001" in added.group(0) and "โรงเรียนวัดทดสอบ" in added.group(0)
    assert "Added schools (2)" in page
    # The navigation counts what waits for this reviewer.
    nav = re.search(r'<nav id="site-nav".*?</nav>', page, re.S)
    assert nav and re.search(
        r'Profiles to review <span class="nav-count"[^>]*>1</span>', nav.group(0)
    )
    assert "<script>x</script>" not in page


def test_no_counts_for_office_staff(client: FlaskClient, world: World) -> None:
    sign_in(client, world.users["own_editor"], lang="en")
    assert "nav-count" not in client.get("/portal/").get_data(as_text=True)


def test_best_practice_attachment_previews_follow_the_attachment_rights(
    app: Flask, client: FlaskClient, world: World, session: Session
) -> None:
    from pinmap.services import best_practices as bp_svc
    from pinmap.services.audit import Actor
    from pinmap.services.uploads import clean_upload, store

    clean = clean_upload(io.BytesIO(_pdf_bytes()), "แผ่นพับ.pdf")
    stored = store(Path(app.config["PINMAP_UPLOAD_DIR_PATH"]), clean)
    editor = Actor(session.merge(world.users["own_editor"]))
    found = bp_svc.save(
        session,
        editor,
        session.merge(world.own),
        None,
        {"title": "แนวปฏิบัติ", "fiscal_year": str(world.fy)},
        None,
    )
    rev = session.scalars(revisions_of("best_practice")).first()
    assert rev is not None
    # Attachments as the upload route stores them, one of them naming no stored file; sent.
    rev.data = {
        **rev.data,
        "attachments": [
            {
                "stored_name": stored,
                "original_name": "แผ่นพับ.pdf",
                "title": "แผ่นพับ <1>",
                "mime": clean.mime,
                "size_bytes": len(clean.data),
                "sha256": clean.sha256,
            },
            {"stored_name": "not/a/stored/name.pdf", "mime": "application/pdf", "title": "x"},
        ],
    }
    rev.state, rev.level = "submitted", 1
    session.commit()
    url = f"/previews/best-practices/{found.id}/0.png"
    assert app.test_client().get(url).status_code == 404  # not public before approval
    sign_in(client, world.users["reviewer"], lang="en")
    r = client.get(url)
    assert r.status_code == 200 and r.data.startswith(b"\x89PNG")
    r.close()
    # A row naming no stored file: a placeholder; an index past the list: 404.
    assert client.get(f"/previews/best-practices/{found.id}/1.png").status_code == 200
    assert client.get(f"/previews/best-practices/{found.id}/2.png").status_code == 404
    page = client.get(f"/review/best-practices/{found.id}").get_data(as_text=True)
    assert f'src="{url}"' in page and "แผ่นพับ &lt;1&gt;" in page
    rev.state, rev.level = "approved", 2  # the reviewer's approval; its own tests cover it
    rev.report.approved_revision_id = rev.id
    session.commit()
    public = app.test_client().get(url)
    assert public.status_code == 200
    public.close()


def test_profile_desk_lists_changed_fields_against_the_approved_profile(
    client: FlaskClient, world: World, session: Session
) -> None:
    from ..support.profiles import approve_current

    lon, lat = krabi_point(session)
    sign_in(client, world.users["own_editor"], lang="en")
    assert save_profile(client, profile_form(lon, lat)).status_code == 302
    approve_current(client, world, session)
    sign_in(client, world.users["own_editor"], lang="en")
    form = profile_form(
        lon, lat, address="<script>x</script> ถนนใหม่", version=profile_version(session)
    )
    assert save_profile(client, form).status_code == 302
    session.expire_all()
    rev = session.scalars(_PROFILE_REVISIONS).first()
    assert rev is not None and rev.state == "draft"
    rev.state, rev.level = "submitted", 1
    session.commit()
    sign_in(client, world.users["reviewer"], lang="en")
    page = client.get(f"/review/profiles/{rev.id}").get_data(as_text=True)
    fields = re.search(r'<table class="diff-table diff-fields">.*?</table>', page, re.S)
    assert fields, page[:3000]
    assert "ถนนอุตรกิจ อ.เมืองกระบี่" in fields.group(0)  # what the public sees now
    assert "&lt;script&gt;x&lt;/script&gt; ถนนใหม่" in fields.group(0)
    assert "Phone" not in fields.group(0)  # unchanged fields are not listed
    assert "The pin does not move." in page
    assert "<script>x</script>" not in page
