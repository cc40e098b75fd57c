"""Authorization-matrix rows of the help centre's write pages: news, the document library and
the contact details. authz_matrix adds these rows to ROWS."""

from __future__ import annotations

from .authz_matrix import ADMIN, OBEC, Ctx, Row

NEWS_FORM = {
    "title": "ประกาศ",
    "body": "เนื้อหา",
    "audience": "public",
    "publish_from": "01/12/2569",
    "publish_until": "",
}


def _news(c: Ctx) -> int:
    return int(
        c.scalar(
            "INSERT INTO help_news (title, body, audience, publish_from) "
            "VALUES ('ข่าว', '', 'public', '2026-12-01') RETURNING id"
        )
    )


def _document(c: Ctx, retired: bool = False) -> int:
    doc_id = int(
        c.scalar(
            "INSERT INTO help_documents (title, description, category, fiscal_year, audience, "
            "retired_at) VALUES ('คู่มือ', '', 'manuals', 2569, 'public', "
            "CASE WHEN :retired THEN now() END) RETURNING id",
            retired=retired,
        )
    )
    c.scalar(
        "INSERT INTO help_document_versions (document_id, version_no, url, original_name, mime, "
        "size_bytes, sha256, note) VALUES (:d, 1, 'https://youtu.be/x', '', '', 0, '', '') "
        "RETURNING id",
        d=doc_id,
    )
    return doc_id


ROWS: list[Row] = [
    Row(
        "page write news",
        "POST",
        "/help/news/new",
        OBEC,
        act=lambda c, who, _: c.page(who).post("/help/news/new", data=NEWS_FORM),
    ),
    Row(
        "page edit news",
        "POST",
        "/help/news/<int:news_id>/edit",
        OBEC,
        prepare=_news,
        act=lambda c, who, nid: c.page(who).post(f"/help/news/{nid}/edit", data=NEWS_FORM),
    ),
    Row(
        "page add a document",
        "POST",
        "/help/documents/new",
        OBEC,
        act=lambda c, who, _: c.page(who).post(
            "/help/documents/new",
            data={
                "title": "วีดิทัศน์ชี้แจง",
                "category": "videos",
                "fiscal_year": "2569",
                "audience": "public",
                "url": "https://youtu.be/x",
            },
        ),
    ),
    Row(
        "page replace a document",
        "POST",
        "/help/documents/<int:doc_id>/replace",
        OBEC,
        prepare=_document,
        act=lambda c, who, did: c.page(who).post(
            f"/help/documents/{did}/replace", data={"url": "https://youtu.be/y", "note": "ใหม่"}
        ),
    ),
    Row(
        "page retire a document",
        "POST",
        "/help/documents/<int:doc_id>/retire",
        OBEC,
        prepare=_document,
        act=lambda c, who, did: c.page(who).post(f"/help/documents/{did}/retire"),
    ),
    Row(
        "page bring back a retired document",
        "POST",
        "/help/documents/<int:doc_id>/restore",
        OBEC,
        prepare=lambda c: _document(c, retired=True),
        act=lambda c, who, did: c.page(who).post(f"/help/documents/{did}/restore"),
    ),
    Row(
        "page edit the contact details",
        "POST",
        "/help/contact/edit",
        ADMIN,
        act=lambda c, who, _: c.page(who).post(
            "/help/contact/edit", data={"office_name": "สตพ.", "region_0": "ภาคใต้"}
        ),
    ),
]


def sample(c: Ctx) -> None:
    """The help centre in the states its pages show (the crawler's sample data): news for
    everyone (pinned, with line breaks) and for the signed-in, a document with two versions,
    one for the signed-in and a retired one."""
    c.scalar(
        "INSERT INTO help_news (title, body, audience, publish_from, pinned) VALUES "
        "('ประกาศปฏิทินการรายงาน', E'บรรทัดแรก\\nบรรทัดที่สอง <b>ไม่ใช่ HTML</b>', 'public', "
        "current_date - 3, true), ('ข่าวสำหรับผู้เข้าสู่ระบบ', '', 'signed_in', current_date, "
        "false) RETURNING id"
    )
    doc_id = _document(c)
    c.scalar(
        "INSERT INTO help_document_versions (document_id, version_no, url, original_name, mime, "
        "size_bytes, sha256, note) VALUES (:d, 2, 'https://youtu.be/y', '', '', 0, '', "
        "'ฉบับปรับปรุง') RETURNING id",
        d=doc_id,
    )
    c.scalar(
        "UPDATE help_documents SET audience = 'signed_in' WHERE id = :d RETURNING id",
        d=_document(c),
    )
    _document(c, retired=True)
