"""The OBEC dashboard: exact numbers on a known fixture, its SVG, URL filters and exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET

import pytest
from defusedxml import ElementTree as DET
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.charts import percent_of
from pinmap.fiscal import BANGKOK
from pinmap.models import Office, WorkflowReport, WorkflowRevision
from pinmap.services.audit import utcnow
from pinmap.services.coaching import dashboard as dsvc

from ..signin import sign_in
from ..support.portal import World


def _report(session: Session, w: World, office: Office, state: str, approved: bool) -> None:
    report = WorkflowReport(
        kind="progress",
        office_id=office.id,
        fiscal_year=w.fy,
        subject=f"item:{w.item.id}:round:{w.round_no}",
        subject_id=w.item.id,
        period=w.round_no,
    )
    session.add(report)
    session.flush()
    revision = WorkflowRevision(report_id=report.id, revision_no=1, state=state)
    session.add(revision)
    session.flush()
    report.current_revision_id = revision.id
    if approved:
        report.approved_revision_id = revision.id
    session.flush()


@pytest.fixture
def known(w: World, session: Session) -> World:
    """245 offices, one item, round 1: 200 submitted, 44 approved, one (the own office) a draft."""
    offices = session.scalars(select(Office).order_by(Office.code)).all()
    assert len(offices) == 245
    others = [o for o in offices if o.id != w.own.id]
    for n, office in enumerate(others):
        approved = n < 44
        _report(session, w, office, "approved" if approved else "submitted", approved)
    _report(session, w, w.own, "draft", False)
    session.commit()
    return w


def test_service_numbers_on_a_known_fixture(known: World, session: Session) -> None:
    w = known
    d = dsvc.dashboard(session, dsvc.Filters(w.fy), dt_today(w))
    r = d.rounds[w.round_no]
    assert (r.cells.n, r.cells.d) == (244, 245)
    assert (r.complete.n, r.complete.d) == (244, 245)
    assert r.statuses == {"missing": 0, "draft": 1, "returned": 0, "submitted": 200, "approved": 44}
    assert percent_of(r.cells.n, r.cells.d) == "99.59 %"
    assert percent_of(242, 245) == "98.77 %"
    share = d.by_item[w.item.id][w.round_no]
    assert (share.n, share.d) == (244, 245)
    assert sum(v[w.round_no].d for v in d.by_cluster.values()) == 245
    assert sum(v[w.round_no].n for v in d.by_province.values()) == 244
    assert d.trend[w.fy][w.round_no].n == 244
    # A cluster: the own office's (Krabi, cluster 6) has one office short.
    own = dsvc.dashboard(session, dsvc.Filters(w.fy, cluster_no=w.own.cluster_no), dt_today(w))
    c = own.rounds[w.round_no]
    assert c.cells.d == session.scalar(
        select(func.count()).select_from(Office).filter_by(cluster_no=w.own.cluster_no)
    )
    assert c.cells.d - c.cells.n == 1
    # The status filter lists the one office with a draft.
    drafts = dsvc.dashboard(session, dsvc.Filters(w.fy, status="draft"), dt_today(w))
    assert [o.code for o in drafts.shown_offices()] == [w.own.code]

    # Complete: 245 / 245 is the only way to read 100 %.
    revision = session.scalars(
        select(WorkflowRevision)
        .join(WorkflowReport, WorkflowReport.current_revision_id == WorkflowRevision.id)
        .where(WorkflowReport.office_id == w.own.id, WorkflowReport.kind == "progress")
    ).one()
    revision.state = "submitted"
    session.commit()
    r = dsvc.dashboard(session, dsvc.Filters(w.fy), dt_today(w)).rounds[w.round_no]
    assert (r.cells.n, r.cells.d, percent_of(r.cells.n, r.cells.d)) == (245, 245, "100.00 %")


def dt_today(w: World) -> dt.date:
    return utcnow().astimezone(BANGKOK).date()


def _svgs(page: str) -> list[ET.Element]:
    return [DET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", page, flags=re.S)]


def test_page_shows_exact_shares_charts_and_map(c: FlaskClient, known: World) -> None:
    w = known
    sign_in(c, w.users["reviewer"])
    page = c.get(f"/coaching/dashboard?fiscal_year={w.fy}").get_data(as_text=True)
    assert "99.59 %" in page
    assert "244" in page and "245" in page
    # The map's legend names the "100 %" class; nothing else says a rounded 100.
    outside_map = re.sub(r'<svg[^>]*class="chart choropleth".*?</svg>', "", page, flags=re.S)
    assert "100 %" not in outside_map
    # Every n, d, share triple in the tables is exact: 100.00 % only when n == d.
    triples = re.findall(r"<td>(\d+)</td><td>(\d+)</td><td>([\d.]+) %</td>", outside_map)
    assert len(triples) > 18
    for n, d, share in triples:
        assert share == percent_of(int(n), int(d)).removesuffix(" %")
        assert (share == "100.00") == (n == d)
    svgs = _svgs(page)
    assert len(svgs) >= 5  # rounds, statuses, statuses by cluster, items, trend, map
    ids = {s.get("aria-labelledby") for s in svgs}
    assert "chart-map-t" in ids and "chart-rounds-t" in ids
    # Statuses in words, never keys.
    assert "submitted" not in re.sub(r"<[^>]+>", " ", page).lower().split()
    assert "ส่งแล้ว" in page or "Submitted" in page


def test_labels_in_the_svg_are_escaped(c: FlaskClient, known: World, session: Session) -> None:
    w = known
    w.own.name_th = 'สพป.<b>"x"</b> & co'
    session.commit()
    sign_in(c, w.users["reviewer"])
    page = c.get(f"/coaching/dashboard?fiscal_year={w.fy}&office={w.own.code}").get_data(
        as_text=True
    )
    assert "<b>" not in page and "&lt;b&gt;" in page
    for svg in _svgs(page):  # well-formed XML, every one
        assert svg.tag.endswith("svg")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("round=99", 400),
        ("round=x", 400),
        ("cluster=999", 404),
        ("cluster=99999999", 400),
        ("item=abc", 400),
        ("item=999999", 400),
        ("status=bogus", 400),
        ("office=nope", 404),
        ("office=" + "x" * 500, 404),
    ],
)
def test_bad_filters_are_refused_clearly(c: FlaskClient, w: World, query: str, status: int) -> None:
    sign_in(c, w.users["reviewer"])
    assert c.get(f"/coaching/dashboard?fiscal_year={w.fy}&{query}").status_code == status
    assert (
        c.get(f"/coaching/dashboard/export.csv?table=rounds&fiscal_year={w.fy}&{query}").status_code
        == status
    )


def test_filters_in_the_url_drive_the_page(c: FlaskClient, known: World) -> None:
    w = known
    sign_in(c, w.users["reviewer"])
    base = f"/coaching/dashboard?fiscal_year={w.fy}&round={w.round_no}"
    page = c.get(f"{base}&cluster={w.own.cluster_no}").get_data(as_text=True)
    assert f"cluster={w.own.cluster_no}" in page  # links keep the filter
    assert w.own.name_th in page
    page = c.get(f"{base}&status=draft").get_data(as_text=True)
    offices = page.split('id="offices"')[1]
    table = offices.split("</table>")[0]
    assert w.own.name_th in table and table.count('<th scope="row">') == 1
    page = c.get(f"{base}&item={w.item.id}&office={w.own.code}").get_data(as_text=True)
    assert w.own.name_th in page and "0 / 1" in page


def test_exports_respect_filters_and_escape_formulas(
    c: FlaskClient, known: World, session: Session
) -> None:
    w = known
    w.own.name_th = "=HYPERLINK(1)"
    session.commit()
    sign_in(c, w.users["reviewer"])
    q = f"fiscal_year={w.fy}&round={w.round_no}"
    r = c.get(f"/coaching/dashboard/export.csv?table=rounds&{q}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1][1:4] == ["244", "245", "99.59 %"]
    r = c.get(f"/coaching/dashboard/export.csv?table=offices&{q}&cluster={w.own.cluster_no}")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert all(row[1] == str(w.own.cluster_no) for row in rows[1:])
    assert ["'=HYPERLINK(1)"] == [row[0] for row in rows[1:] if "HYPERLINK" in row[0]]
    r = c.get(f"/coaching/dashboard/export.csv?table=offices&{q}&status=draft")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2
    r = c.get(f"/coaching/dashboard/export.xlsx?table=all&{q}")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.get_data()), read_only=True)
    assert len(book.sheetnames) == 6
    first = list(book[book.sheetnames[0]].iter_rows(values_only=True))
    assert list(first[1][1:4]) == [244, 245, "99.59 %"]
    assert c.get(f"/coaching/dashboard/export.csv?table=all&{q}").status_code == 400
    assert c.get(f"/coaching/dashboard/export.pdf?table=rounds&{q}").status_code == 404
    sign_in(c, w.users["own_editor"])
    assert c.get(f"/coaching/dashboard/export.csv?table=rounds&{q}").status_code == 403
