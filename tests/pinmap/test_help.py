"""The help centre: news (who sees which item when, refusals keeping what was typed, line breaks
kept and text escaped), the document library (uploads checked, links validated, versions kept
on replace, retire instead of delete), the contact page, and the same audience rules in the
API. Browser checks are in tests/browser/test_help_e2e.py."""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.fiscal import today_bangkok
from pinmap.models import HelpDocument, HelpDocumentVersion, NewsItem
from pinmap.services import contact as contact_svc
from pinmap.services import documents as doc_svc
from pinmap.services import news as news_svc
from pinmap.services.audit import Actor
from pinmap.services.errors import ServiceError
from pinmap.services.uploads import (
    UploadRejected,
    clean_upload,
    orphan_files,
    referenced_names,
    resolve,
)

from ..signin import sign_in
from ..support.portal import OWN, World, no_csrf
from ..support.sample_files import OOXML, office_bytes, pdf_bytes, xlsx_bytes

EVIL = '<script>alert("x")</script>'
JS_LINK = "javascript:alert(1)"


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary formats and encrypted Office files
NOISE = os.urandom(2 * 1024 * 1024)  # does not compress


def zip_bomb() -> bytes:
    """A few hundred KB that unpacks to more than the library allows (zeros compress ~1000:1)."""
    buf = io.BytesIO(office_bytes())
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("word/media/padding.bin", "w", force_zip64=True) as fh:
            chunk = bytes(1024 * 1024)
            for _ in range(110):
                fh.write(chunk)
    return buf.getvalue()


def _news(session: Session, title: str, **kw: object) -> NewsItem:
    today = today_bangkok()
    data = {
        "title": title,
        "body": "บรรทัดแรก\nบรรทัดที่สอง",
        "audience": "public",
        "publish_from": today,
        "publish_until": None,
        "pinned": False,
    }
    data.update(kw)
    return news_svc.create(session, Actor(None), news_svc.NewsInput(**data))  # type: ignore[arg-type]


def _storage(tmp_path: Path) -> doc_svc.Storage:
    return doc_svc.Storage(tmp_path, 10 * 1024 * 1024)


def _doc(
    session: Session, tmp_path: Path, title: str, audience: str = "public", **content: object
) -> HelpDocument:
    data = doc_svc.DocumentInput(title, "", "forms", 2568, audience)
    if not content:
        content = {"upload": doc_svc.Upload(io.BytesIO(pdf_bytes()), "แบบฟอร์ม.pdf")}
    return doc_svc.create(
        session,
        Actor(None),
        data,
        doc_svc.Content(**content),
        _storage(tmp_path),  # type: ignore[arg-type]
    )


# --- services --------------------------------------------------------------------------------


def test_news_shows_by_audience_dates_and_pin(session: Session) -> None:
    today = today_bangkok()
    _news(session, "เก่า", publish_from=today - dt.timedelta(days=9))
    _news(session, "ปักหมุด", publish_from=today - dt.timedelta(days=30), pinned=True)
    _news(session, "สมาชิก", audience="signed_in")
    _news(session, "อนาคต", publish_from=today + dt.timedelta(days=1))
    _news(
        session,
        "หมดแล้ว",
        publish_from=today - dt.timedelta(days=5),
        publish_until=today - dt.timedelta(days=1),
    )
    _news(session, "วันนี้")
    anonymous = [row.title for row in news_svc.latest(session, False, today)]
    assert anonymous == ["ปักหมุด", "วันนี้", "เก่า"]
    member = [row.title for row in news_svc.latest(session, True, today)]
    assert member[0] == "ปักหมุด" and "สมาชิก" in member and len(member) == 3
    every = {n.title for n in news_svc.listing(session, False, today, manager=True)}
    assert {"อนาคต", "หมดแล้ว", "สมาชิก"} <= every


def test_news_refuses_bad_input(session: Session) -> None:
    today = today_bangkok()
    with pytest.raises(ServiceError, match="before the first"):
        _news(session, "x", publish_until=today - dt.timedelta(days=1))
    with pytest.raises(ServiceError, match="title"):
        _news(session, "  \n ")
    with pytest.raises(ServiceError, match="read it"):
        _news(session, "x", audience="everyone")


def test_links_must_be_web_addresses() -> None:
    assert doc_svc.check_link(" https://youtu.be/abc ") == "https://youtu.be/abc"
    for bad in (
        JS_LINK,
        "JaVaScRiPt:alert(1)",
        "data:text/html,<b>x</b>",
        "//evil.example/x",
        "ftp://example.go.th/f",
        "https://",
        'https://a.go.th/"onmouseover=x',
        "https://user:pw@example.go.th/",
        "https://a.go.th/ x",
        "x" * 3000,
    ):
        with pytest.raises(ServiceError):
            doc_svc.check_link(bad)


def test_replacing_keeps_versions_and_retiring_hides(session: Session, tmp_path: Path) -> None:
    doc = _doc(session, tmp_path, "แบบรายงาน")
    first = doc.current
    assert first is not None and first.stored_name and first.version_no == 1
    doc_svc.replace(
        session,
        Actor(None),
        doc,
        doc_svc.Content(url="https://www.youtube.com/watch?v=x", note="เป็นวีดิทัศน์"),
        _storage(tmp_path),
    )
    session.refresh(doc)
    assert [v.version_no for v in doc.versions] == [2, 1]
    assert doc.current is not None and doc.current.url
    # The first version's file is still there, and the orphan sweep knows it is in use.
    assert (tmp_path / first.stored_name).is_file()
    assert first.stored_name in referenced_names(session)
    doc_svc.set_retired(session, Actor(None), doc, True)
    assert doc_svc.listing(session, True) == []
    assert doc_svc.listing(session, True, manager=True) == [doc]
    with pytest.raises(ServiceError):
        doc_svc.replace(
            session, Actor(None), doc, doc_svc.Content(url="https://a.go.th"), _storage(tmp_path)
        )
    with pytest.raises(ServiceError):
        doc_svc.visible_or_404(session, doc.id, True)
    doc_svc.set_retired(session, Actor(None), doc, False)
    assert doc_svc.listing(session, False) == [doc]


def test_uploads_are_checked(session: Session, tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="does not match"):
        _doc(session, tmp_path, "x", upload=doc_svc.Upload(io.BytesIO(b"MZ\x90\x00"), "a.pdf"))
    # The library's own list of types (it also takes Word, Excel and PowerPoint files).
    with pytest.raises(ServiceError, match="Only PDF documents, JPEG, PNG and WebP images"):
        _doc(session, tmp_path, "x", upload=doc_svc.Upload(io.BytesIO(b"<html>"), "a.html"))
    with pytest.raises(ServiceError, match="either a file or a link"):
        _doc(
            session,
            tmp_path,
            "x",
            upload=doc_svc.Upload(io.BytesIO(pdf_bytes()), "a.pdf"),
            url="https://a.go.th",
        )
    assert session.scalar(select(HelpDocumentVersion.id)) is None


@pytest.mark.parametrize(
    ("name", "make", "mime"),
    [
        ("แบบฟอร์มรายงาน.docx", lambda: office_bytes("docx"), "wordprocessingml.document"),
        ("ตารางสรุป.XLSX", xlsx_bytes, "spreadsheetml.sheet"),
        ("ชี้แจง.pptx", lambda: office_bytes("pptx"), "presentationml.presentation"),
    ],
)
def test_library_accepts_office_files(
    session: Session, tmp_path: Path, name: str, make: Callable[[], bytes], mime: str
) -> None:
    data = make()
    doc = _doc(session, tmp_path, "แบบฟอร์ม", upload=doc_svc.Upload(io.BytesIO(data), name))
    version = doc.current
    assert version is not None and version.mime == OOXML + mime
    assert version.stored_name is not None
    assert version.stored_name.endswith(name.rsplit(".", 1)[1].lower())
    assert (tmp_path / version.stored_name).read_bytes() == data  # kept as sent
    assert version.stored_name in referenced_names(session)  # the orphan sweep keeps it
    assert resolve(tmp_path, version.stored_name).is_file()


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("macro.docm", lambda: office_bytes("docm"), "macros"),
        # A macro-enabled package renamed .docx, and macros hidden in a plain one.
        ("macro.docx", lambda: office_bytes("docm"), "macros"),
        ("macro.xlsx", lambda: office_bytes(extra={"xl/vbaProject.bin": bytes(64)}), "macros"),
        ("old.doc", lambda: OLE + bytes(512), "Old-format"),
        ("locked.docx", lambda: OLE + bytes(512), "password"),
        ("report.docx", pdf_bytes, "does not match"),
        ("form.docx", lambda: office_bytes("pptx"), "does not match"),  # a deck named .docx
        ("form.docx", lambda: office_bytes(content_types=False), "damaged"),
        ("form.docx", lambda: b"PK\x03\x04 not really a zip", "damaged"),
        ("form.docx", zip_bomb, "unpacks to more"),
        ("form.docx", lambda: office_bytes(extra={"pad.bin": NOISE}), "larger than"),
        ("setup.exe", lambda: b"MZ\x90\x00", "Word, Excel and PowerPoint"),
        ("form.pdf", lambda: office_bytes(), "does not match"),
        (
            "entity.docx",
            lambda: office_bytes(types_head='<!DOCTYPE Types [<!ENTITY e "x">]>'),
            "damaged",
        ),
    ],
)
def test_library_refuses_unsafe_office_files(
    session: Session, tmp_path: Path, name: str, make: Callable[[], bytes], message: str
) -> None:
    data = make()
    storage = doc_svc.Storage(tmp_path, 1024 * 1024)
    with pytest.raises(ServiceError, match=message):
        doc_svc.create(
            session,
            Actor(None),
            doc_svc.DocumentInput("แบบฟอร์ม", "", "forms", 2568, "public"),
            doc_svc.Content(upload=doc_svc.Upload(io.BytesIO(data), name)),
            storage,
        )
    assert session.scalar(select(HelpDocumentVersion.id)) is None
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_stray_office_files_are_swept(session: Session, tmp_path: Path) -> None:
    doc = _doc(
        session,
        tmp_path,
        "แบบฟอร์ม",
        upload=doc_svc.Upload(io.BytesIO(office_bytes()), "form.docx"),
    )
    kept = doc.current.stored_name if doc.current else None
    stray = tmp_path / "ab" / "cd" / "abcdEFGHIJKLMNOPQRSTuv.xlsx"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(xlsx_bytes())
    old = 1_000_000_000
    for path in (stray, tmp_path / str(kept)):
        os.utime(path, (old, old))
    assert orphan_files(session, tmp_path, 3600) == [stray]


def test_evidence_still_refuses_office_files() -> None:
    with pytest.raises(UploadRejected, match="Only JPEG"):
        clean_upload(io.BytesIO(office_bytes()), "form.docx")


def test_contact_defaults_are_marked_and_saving_checks_links(session: Session) -> None:
    shown = contact_svc.current(session)
    assert not shown.confirmed and "สำนักติดตาม" in shown.office_name
    assert shown.phone == "" and len(shown.groups) == 4
    details = contact_svc.ContactDetails(
        office_name="สตพ.", groups=[{"region": "ภาคใต้", "url": JS_LINK}]
    )
    with pytest.raises(ServiceError):
        contact_svc.save(session, Actor(None), details)
    details.groups = [{"region": "ภาคใต้", "url": "https://line.me/R/ti/g/abc"}]
    details.confirmed = True
    contact_svc.save(session, Actor(None), details)
    again = contact_svc.current(session)
    assert again.confirmed and again.groups == details.groups


# --- pages and API ---------------------------------------------------------------------------


def test_anonymous_never_sees_signed_in_items(
    app: Flask, world: World, session: Session, tmp_path: Path
) -> None:
    _news(session, "ข่าวสาธารณะ")
    secret = _news(session, "ข่าวภายใน", audience="signed_in")
    uploads = Path(app.config["PINMAP_UPLOAD_DIR_PATH"])
    doc = _doc(session, uploads, "คู่มือภายใน", audience="signed_in")
    session.commit()
    version = doc.current
    assert version is not None
    anon = app.test_client()
    for path in (
        "/",
        "/help/",
        "/help/news",
        "/help/documents",
        "/api/v1/news",
        "/api/v1/documents",
    ):
        body = anon.get(path).get_data(as_text=True)
        assert "ข่าวภายใน" not in body and "คู่มือภายใน" not in body, path
    assert "ข่าวสาธารณะ" in anon.get("/").get_data(as_text=True)
    assert anon.get(f"/help/news/{secret.id}").status_code == 404
    assert anon.get(f"/help/documents/{doc.id}").status_code == 404
    assert anon.get(f"/help/documents/{doc.id}/versions/1").status_code == 404
    member = app.test_client()
    sign_in(member, world.users["own_editor"])
    assert "ข่าวภายใน" in member.get("/").get_data(as_text=True)
    assert "ข่าวภายใน" in member.get(f"/portal/offices/{OWN}").get_data(as_text=True)
    assert "คู่มือภายใน" in member.get("/help/documents").get_data(as_text=True)
    r = member.get(f"/help/documents/{doc.id}/versions/1")
    data = r.get_data()
    r.close()
    assert r.status_code == 200 and data.startswith(b"%PDF")
    assert "sandbox" in r.headers["Content-Security-Policy"]
    api = app.test_client().get("/api/v1/news", headers=world.headers("own_editor")).get_json()
    assert "ข่าวภายใน" in {n["title"] for n in api["items"]}


def test_office_files_are_only_ever_downloaded(app: Flask, session: Session) -> None:
    uploads = Path(app.config["PINMAP_UPLOAD_DIR_PATH"])
    data = xlsx_bytes()
    # A hostile name: path parts and a quote go, Thai stays (the service refuses control and
    # right-to-left characters before this).
    name = '..\\C:\\fakepath\\ตาราง"สรุป.xlsx'
    doc = _doc(session, uploads, "ตารางสรุป", upload=doc_svc.Upload(io.BytesIO(data), name))
    session.commit()
    r = app.test_client().get(f"/help/documents/{doc.id}/versions/1")
    body = r.get_data()
    r.close()
    assert r.status_code == 200 and body == data
    assert r.mimetype == OOXML + "spreadsheetml.sheet"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "fakepath" not in disposition and "\\" not in disposition
    assert disposition.endswith(".xlsx") and "%E0%B8%95%E0%B8%B2" in disposition  # ตา…
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    listed = app.test_client().get("/help/documents").get_data(as_text=True)
    assert "Excel" in listed


def test_questions_and_faq_are_reachable(app: Flask, world: World) -> None:
    anon = app.test_client().get("/help/").get_data(as_text=True)
    assert 'href="/help/faq"' in anon and 'href="/help/questions"' in anon
    member = app.test_client()
    sign_in(member, world.users["own_editor"])
    office = member.get(f"/portal/offices/{OWN}").get_data(as_text=True)
    assert 'href="/help/questions"' in office
    assert 'href="/help/questions"' in member.get("/help/documents").get_data(as_text=True)


def test_news_form_refusals_keep_typed_text_and_texts_are_escaped(
    app: Flask, world: World, session: Session
) -> None:
    no_csrf(app)
    client = app.test_client()
    sign_in(client, world.users["reviewer"])
    typed = {
        "title": f"ประกาศ {EVIL}",
        "body": f"บรรทัดหนึ่ง\nบรรทัดสอง {EVIL}",
        "audience": "public",
        "publish_from": "10/12/2569",
        "publish_until": "01/12/2569",
    }
    bad = client.post("/help/news/new", data=typed)
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "ก่อนวันแรก" in page
    assert "&lt;script&gt;" in page and EVIL not in page
    assert 'value="10/12/2569"' in page and 'value="01/12/2569"' in page
    bad_day = client.post("/help/news/new", data={**typed, "publish_from": "31/02/2569"})
    assert bad_day.status_code == 400 and 'value="31/02/2569"' in bad_day.get_data(as_text=True)
    ok = client.post(
        "/help/news/new", data={**typed, "publish_from": "01/01/2500", "publish_until": ""}
    )
    assert ok.status_code == 302
    item = session.scalars(select(NewsItem).order_by(NewsItem.id.desc())).first()
    assert item is not None and item.publish_from == dt.date(1957, 1, 1)
    shown = app.test_client().get(f"/help/news/{item.id}").get_data(as_text=True)
    assert "บรรทัดหนึ่ง<br>" in shown and "&lt;script&gt;" in shown and EVIL not in shown


def test_document_pages_refuse_bad_links_and_never_link_javascript(
    app: Flask, world: World, session: Session
) -> None:
    no_csrf(app)
    client = app.test_client()
    sign_in(client, world.users["admin"])
    form = {
        "title": f"วีดิทัศน์ {EVIL}",
        "description": EVIL,
        "category": "videos",
        "fiscal_year": "2568",
        "audience": "public",
        "url": JS_LINK,
        "note": EVIL,
    }
    bad = client.post("/help/documents/new", data=form)
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'href="javascript' not in page.lower()
    assert f'value="{JS_LINK}"' in page and "&lt;script&gt;" in page and EVIL not in page
    ok = client.post("/help/documents/new", data={**form, "url": "https://youtu.be/x"})
    assert ok.status_code == 302
    doc_page = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert EVIL not in doc_page and 'href="https://youtu.be/x"' in doc_page
    upload = client.post(
        ok.headers["Location"] + "/replace",
        data={"url": "", "note": "ฉบับใหม่", "file": (io.BytesIO(b"GIF89a"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 400 and "ฉบับใหม่" in upload.get_data(as_text=True)
    good = client.post(
        ok.headers["Location"] + "/replace",
        data={"url": "", "note": "ฉบับใหม่", "file": (io.BytesIO(pdf_bytes()), "ฟอร์ม.pdf")},
        content_type="multipart/form-data",
    )
    assert good.status_code == 302
    listed = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "ฟอร์ม.pdf" in listed and "youtu.be/x" in listed  # both versions listed


def test_contact_page_says_to_be_confirmed_and_admins_edit_it(
    app: Flask, world: World, session: Session
) -> None:
    no_csrf(app)
    page = app.test_client().get("/help/contact").get_data(as_text=True)
    assert "ยังไม่ได้รับการยืนยัน" in page and "สำนักติดตามและประเมินผล" in page
    client = app.test_client()
    sign_in(client, world.users["admin"])
    form = {
        "office_name": f"สตพ. {EVIL}",
        "email": "x",
        "region_0": "ภาคเหนือ",
        "group_url_0": JS_LINK,
    }
    bad = client.post("/help/contact/edit", data=form)
    assert bad.status_code == 400 and f'value="{JS_LINK}"' in bad.get_data(as_text=True)
    form.update(
        email="monitor@example.go.th", group_url_0="https://line.me/R/ti/g/x", confirmed="on"
    )
    assert client.post("/help/contact/edit", data=form).status_code == 302
    shown = app.test_client().get("/help/contact").get_data(as_text=True)
    assert "ยังไม่ได้รับการยืนยัน" not in shown and EVIL not in shown
    assert 'href="https://line.me/R/ti/g/x"' in shown
