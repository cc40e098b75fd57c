"""Report documents (/reports/…): each PDF rendered by WeasyPrint and read back with pypdfium2
(Thai words and numbers intact), the same data as XLSX, progress exports as CSV/XLSX, who may
read unapproved reports, and refusals (404/400 in the reader's language, never a 5xx)."""

from __future__ import annotations

import csv
import io
import os
import unicodedata
from pathlib import Path
from typing import Any

import openpyxl
import pypdfium2 as pdfium
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from pinmap.models import Office, PolicyItem, ResultRecord, WorkflowReport, WorkflowRevision
from pinmap.services.audit import utcnow

from ..signin import sign_in
from ..support.authz_matrix_documents import ROWS, ReadRow
from ..support.portal import ROLES, World

FY = 2567
ROUND = 1
OWN = "spp-krabi"
# A long narrative: the PDF must wrap it at word boundaries and keep it intact.
NARRATIVE = "สำนักงานเขตพื้นที่การศึกษาดำเนินการติดตามและประเมินผลอย่างต่อเนื่อง"


def _report(session: Session, office: Office, item: PolicyItem, state: str, status: str) -> None:
    report = WorkflowReport(
        kind="progress",
        office_id=office.id,
        fiscal_year=FY,
        subject=f"item:{item.id}:round:{ROUND}",
        subject_id=item.id,
        period=ROUND,
    )
    session.add(report)
    session.flush()
    rev = WorkflowRevision(
        report_id=report.id,
        revision_no=1,
        state=state,
        level=2 if state == "approved" else 0,
        data={"status": status, "what": f"<p>{NARRATIVE} &amp; =SUM(A1)</p>", "where": "กระบี่"},
        approved_at=utcnow() if state == "approved" else None,
    )
    session.add(rev)
    session.flush()
    report.current_revision_id = rev.id
    if state == "approved":
        report.approved_revision_id = rev.id
    session.flush()


@pytest.fixture
def reports(session: Session, world: World) -> dict[str, Any]:
    """Krabi: every item of FY2567 round 1 approved but one, which is a draft; Bangkok: one
    submitted report. The world's own users sign in as each role."""
    items = list(
        session.scalars(select(PolicyItem).filter_by(fiscal_year=FY).order_by(PolicyItem.id))
    )
    own = session.scalars(select(Office).filter_by(code=OWN)).one()
    other = session.scalars(select(Office).filter_by(code="spp-bangkok")).one()
    for item in items[:-1]:
        _report(session, own, item, "approved", "on_plan")
    _report(session, own, items[-1], "draft", "not_started")
    _report(session, other, items[0], "submitted", "output_achieved")
    for year, value in ((2565, 61.5), (2566, 64.25), (2567, 70.0)):
        session.add(
            ResultRecord(
                office_id=own.id,
                fiscal_year=year,
                category="onet_rt_nt",
                indicator="คะแนนเฉลี่ย O-NET ป.6 ภาษาไทย",
                value=value,
                unit="คะแนน",
            )
        )
    session.commit()
    return {"items": items, "own": own}


def _shot(pdf: bytes, name: str) -> None:
    """With PINMAP_SCREENSHOTS=<folder>, the first pages as PNG there (as tests/support/browser)."""
    folder = os.environ.get("PINMAP_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        doc = pdfium.PdfDocument(pdf)
        for n in range(min(3, len(doc))):
            doc[n].render(scale=1.5).to_pil().save(f"{folder}/report-{name}-{n + 1}.png")


def _text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    # Sara am extracts as its two canonical parts (see pinmap/reports/pdf.py): compare under
    # NFKC, and without the line breaks the layout put between words.
    return unicodedata.normalize("NFKC", text).replace("\r\n", "").replace("\n", "")


def _norm(words: str) -> str:
    return unicodedata.normalize("NFKC", words)


def _as(app: Flask, world: World, who: str) -> FlaskClient:
    client = app.test_client()
    if who != "anonymous":
        sign_in(client, world.users[who].id)
    return client


def test_office_pdf_has_thai_words_numbers_date_and_url(
    client: FlaskClient, reports: dict[str, Any]
) -> None:
    r = client.get(f"/reports/offices/{OWN}.pdf?fiscal_year={FY}")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert r.mimetype == "application/pdf" and r.data[:5] == b"%PDF-"
    _shot(r.data, "office")
    text = _text(r.data)
    n = len(reports["items"])
    assert _norm(reports["own"].name_th) in text
    assert _norm("รายงานความก้าวหน้า") in text  # the Thai heading "Progress reports"
    assert _norm("เป็นไปตามแผน") in text  # a status, in words
    assert f"{n - 1} / {n}" in text  # the draft is not counted for the public
    assert f"{(n - 1) * 10000 // n / 100:.2f} %" in text
    assert "http://localhost/reports/offices/spp-krabi.pdf" in text
    assert _norm("พิมพ์เมื่อ") in text and "25" in text  # printed on … (Buddhist Era)
    assert _norm("ยังไม่ดำเนินการ") not in text  # the draft's status stays unpublished
    assert _norm("คะแนนเฉลี่ย O-NET ป.6 ภาษาไทย") in text and "64.25" in text


def test_cluster_and_national_pdfs(client: FlaskClient, reports: dict[str, Any]) -> None:
    n = len(reports["items"])
    r = client.get(f"/reports/clusters/{reports['own'].cluster_no}.pdf?fiscal_year={FY}&round=1")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    _shot(r.data, "cluster")
    text = _text(r.data)
    assert _norm(reports["own"].name_th) in text and _norm("ความครบถ้วน") in text
    assert f"{n - 1} / {n}" in text
    r = client.get(f"/reports/national/{FY}/1.pdf")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    _shot(r.data, "national")
    text = _text(r.data)
    assert _norm("สรุปผลระดับประเทศ") in text
    assert "245" in text
    assert _norm("ครบถ้วนรายกลุ่ม") in text or _norm("รายกลุ่ม") in text
    assert f"{n - 1} / {245 * n}" in text.replace(",", "")  # approved only, nationally


def test_long_thai_text_wraps_at_word_boundaries(
    app: Flask, client: FlaskClient, reports: dict[str, Any]
) -> None:
    """A visible check of the layout: no line of the office PDF starts inside a Thai word
    taken from the profile names (each name is on one line or broken between words)."""
    r = client.get(f"/reports/offices/{OWN}.pdf?fiscal_year={FY}")
    doc = pdfium.PdfDocument(r.data)
    lines = doc[0].get_textpage().get_text_range().splitlines()
    # Thai has no spaces: a line starting with a combining vowel or tone mark was cut
    # inside a syllable.
    assert not [ln for ln in lines if ln and unicodedata.category(ln[0]) == "Mn"], lines


def test_xlsx_documents(client: FlaskClient, reports: dict[str, Any]) -> None:
    n = len(reports["items"])
    for url in (
        f"/reports/offices/{OWN}.xlsx?fiscal_year={FY}",
        f"/reports/clusters/{reports['own'].cluster_no}.xlsx?fiscal_year={FY}&round=1",
        f"/reports/national/{FY}/1.xlsx",
    ):
        r = client.get(url)
        assert r.status_code == 200 and r.data[:2] == b"PK", url
        book = openpyxl.load_workbook(io.BytesIO(r.data), read_only=True)
        cells = [
            str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row
        ]
        assert any("เป็นไปตามแผน" in c for c in cells) or any(f"{n - 1}" == c for c in cells), url
    r = client.get(f"/reports/national/{FY}/1.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(r.data), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "กลุ่ม (Cluster)" and len(rows) == 19  # a header and 18 clusters


def _csv(r: Any) -> list[dict[str, str]]:
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    body = r.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


def test_progress_csv_public_is_approved_only_and_formula_safe(
    client: FlaskClient, reports: dict[str, Any]
) -> None:
    n = len(reports["items"])
    rows = _csv(client.get(f"/reports/progress.csv?fiscal_year={FY}&round=1"))
    assert len(rows) == n - 1
    assert {r["รหัส"] for r in rows} == {OWN}
    assert "สถานะรายงาน" not in rows[0]
    what = rows[0]["สิ่งที่ดำเนินการ"]
    assert what.startswith(NARRATIVE) and "&amp;" not in what and "<p>" not in what
    # Filters: an item, a cluster without Krabi, an office.
    item = reports["items"][0].id
    assert len(_csv(client.get(f"/reports/progress.csv?fiscal_year={FY}&item={item}"))) == 1
    assert _csv(client.get(f"/reports/progress.csv?fiscal_year={FY}&cluster=1")) == []
    assert len(_csv(client.get(f"/reports/progress.csv?fiscal_year={FY}&office={OWN}"))) == n - 1
    r = client.get(f"/reports/progress.xlsx?fiscal_year={FY}&office={OWN}")
    book = openpyxl.load_workbook(io.BytesIO(r.data), read_only=True)
    cells = [c for row in book.worksheets[0].iter_rows(values_only=True) for c in row]
    assert not any(isinstance(c, str) and c.startswith("=") for c in cells)


@pytest.mark.parametrize(
    ("who", "query", "status", "rows"),
    [
        ("anonymous", "", 302, None),  # to sign in
        ("other_editor", "", 403, None),
        ("other_editor", f"&office={OWN}", 403, None),
        ("own_editor", "", 403, None),  # their own office only, named
        ("own_editor", f"&office={OWN}", 200, "own"),
        ("own_director", f"&office={OWN}", 200, "own"),
        ("reviewer", "", 200, "all"),
        ("admin", f"&office={OWN}", 200, "own"),
    ],
)
def test_drafts_only_for_obec_and_the_office_itself(
    app: Flask,
    world: World,
    reports: dict[str, Any],
    who: str,
    query: str,
    status: int,
    rows: str | None,
) -> None:
    n = len(reports["items"])
    r = _as(app, world, who).get(f"/reports/progress.csv?fiscal_year={FY}&drafts=1{query}")
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    if status == 302:
        assert "/portal/login" in r.headers["Location"]
    if rows is None:
        return
    got = _csv(r)
    states = {x["สถานะรายงาน"] for x in got}
    assert "ฉบับร่าง" in states and "อนุมัติแล้ว" in states
    assert len(got) == (n if rows == "own" else n + 1)


def test_drafts_in_documents_only_for_obec(
    app: Flask, world: World, reports: dict[str, Any]
) -> None:
    n = len(reports["items"])
    url = f"/reports/national/{FY}/1.pdf?drafts=1"
    assert _as(app, world, "own_editor").get(url).status_code == 403
    r = _as(app, world, "reviewer").get(url)
    assert r.status_code == 200
    text = _text(r.data)
    assert f"{n} / {245 * n}" in text.replace(",", "")  # the submitted one counts for OBEC
    r = _as(app, world, "own_editor").get(f"/reports/offices/{OWN}.pdf?fiscal_year={FY}&drafts=1")
    assert r.status_code == 200 and _norm("ฉบับร่าง") in _text(r.data)


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/reports/offices/nope.pdf", 404, "nope"),
        ("/reports/offices/nope.xlsx", 404, "nope"),
        ("/reports/clusters/99.pdf", 404, "99"),
        ("/reports/clusters/99999999999.pdf", 404, None),
        (f"/reports/clusters/1.pdf?fiscal_year={FY}&round=9", 404, "9"),
        (f"/reports/national/{FY}/9.pdf", 404, "9"),
        ("/reports/national/99999/1.xlsx", 404, None),
        ("/reports/national/2567/70000.pdf", 404, None),
        (f"/reports/progress.csv?fiscal_year={FY}&round=9", 404, None),
        (f"/reports/progress.csv?fiscal_year={FY}&office=nope", 404, "nope"),
        (f"/reports/progress.csv?fiscal_year={FY}&item=999999999999", 404, None),
        (f"/reports/progress.csv?fiscal_year={FY}&cluster=abc", 400, None),
        (f"/reports/progress.csv?fiscal_year={FY}&cluster=77", 404, None),
        ("/reports/clusters/6.xlsx?round=99999999999", 404, None),
        (f"/reports/progress.csv?fiscal_year={FY}&cluster=99999999999", 404, None),
        (f"/reports/progress.csv?fiscal_year={FY}&office={'x' * 500}", 404, None),
    ],
)
def test_refusals_are_4xx_in_thai(
    client: FlaskClient, url: str, status: int, words: str | None
) -> None:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code)
    body = r.get_data(as_text=True)
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in body), body[:300]
    if words:
        assert words in body


@pytest.mark.parametrize("row", ROWS, ids=[r.url for r in ROWS])
def test_read_matrix(app: Flask, world: World, row: ReadRow) -> None:
    failures = []
    for who in ROLES:
        r = _as(app, world, who).get(row.url)
        if r.status_code != row.expected(who):
            failures.append(f"{who}: {r.status_code}, not {row.expected(who)}")
    assert not failures, f"{row.url}:\n" + "\n".join(failures)


def test_every_reports_route_has_a_row(app: Flask) -> None:
    rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/reports/")}
    assert rules == {row.rule for row in ROWS}


def test_making_pdfs_leaves_truncated_images_refused() -> None:
    """WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on when imported; the upload checks of the
    same worker must still refuse a truncated image (test_uploads, test_thumbnails)."""
    import sys

    from PIL import ImageFile

    from pinmap.reports import pdf

    pdf._own_files()  # what the first document does: WeasyPrint is imported on first use
    assert "weasyprint" in sys.modules
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
