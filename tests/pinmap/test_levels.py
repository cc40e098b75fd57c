"""Performance levels: threshold checks, levels at the boundaries, exact shares (242 of 245 is
98.77 %), the all-or-nothing import (row and column named), copying a year, the pages and API."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pinmap.models import AuditLog, LevelScale, Office, PerformanceLevel, ResultRecord, User
from pinmap.services import levels as svc
from pinmap.services.accounts import create_user
from pinmap.services.audit import Actor
from pinmap.tables import ImportRejected

from ..signin import sign_in

YEAR = 2566
LEVELS = [("ดีเยี่ยม", "Excellent", "90"), ("ดี", "Good", "75"), ("พอใช้", "Fair", "50")]
LEVELS += [("ปรับปรุง", "Needs improvement", "0")]


def _input(levels: list[tuple[str, str, str]] = LEVELS, **kw: object) -> svc.ScaleInput:
    base: dict[str, object] = {
        "fiscal_year": YEAR,
        "category": "policy",
        "indicator": "",
        "range_min": "0",
        "range_max": "100",
        "levels": [svc.LevelInput(th, en, b, n) for n, (th, en, b) in enumerate(levels, 1)],
    }
    base.update(kw)
    return svc.ScaleInput(**base)  # type: ignore[arg-type]


@pytest.fixture
def admin(session: Session) -> User:
    user = create_user(
        session,
        Actor(None),
        email="levels@example.go.th",
        name="ผู้ดูแล",
        password="levels password 123",
        role="admin",
    )
    session.commit()
    return user


@pytest.fixture
def page(app: Flask, client: FlaskClient, admin: User) -> FlaskClient:
    app.config["WTF_CSRF_ENABLED"] = False
    sign_in(client, admin, lang="en")
    return client


def _problems(data: svc.ScaleInput) -> set[tuple[int, str]]:
    checked, problems = svc.check_scale(data)
    assert (checked is None) == bool(problems)
    return {(p.row, p.column) for p in problems}


def test_a_good_scale_passes_and_bad_thresholds_name_the_level_and_field() -> None:
    assert _problems(_input()) == set()
    swapped = [LEVELS[0], LEVELS[2], LEVELS[1], LEVELS[3]]  # 90, 50, 75: 75 is not below 50
    assert _problems(_input(swapped)) == {(3, "min_value")}
    same = [LEVELS[0], ("ดี", "Good", "90"), *LEVELS[2:]]  # an empty level (overlap)
    assert _problems(_input(same)) == {(2, "min_value")}
    outside = [("ดีเยี่ยม", "Excellent", "101"), *LEVELS[1:]]
    assert _problems(_input(outside)) == {(1, "min_value")}
    gap = [*LEVELS[:3], ("ปรับปรุง", "Needs improvement", "10")]  # 0–10 would have no level
    assert _problems(_input(gap)) == {(4, "min_value")}
    assert _problems(_input([*LEVELS[:3], ("ดี", "Other", "0")])) == {(4, "name_th")}
    assert _problems(_input([*LEVELS[:3], ("ต่ำ", "Low", "abc")])) == {(4, "min_value")}
    assert _problems(_input(LEVELS[:1])) == {(0, "position")}
    assert (0, "range_max") in _problems(_input(range_min="100", range_max="0"))
    assert _problems(_input(category="nope")) == {(0, "category")}
    # The lowest level starts at the bottom of another range: 1 to 5 scores.
    five = [("ดีเยี่ยม", "Excellent", "4.5"), ("ดี", "Good", "3.5"), ("พอใช้", "Fair", "1")]
    assert _problems(_input(five, range_min="1", range_max="5")) == set()


def test_levels_at_the_boundaries(session: Session, admin: User) -> None:
    scale = svc.save_scale(session, Actor(admin), _input())
    expect = {
        100.0: 1,
        90.0: 1,
        89.99: 2,
        75.0: 2,
        74.999: 3,
        50.0: 3,
        49.99: 4,
        0.0: 4,
    }
    for value, position in expect.items():
        found = svc.level_of(scale, value)
        assert found is not None and found.position == position, value
    for outside in (100.01, -0.01, None):
        assert svc.level_of(scale, outside) is None


def test_exact_percentages_are_cut_never_rounded_up() -> None:
    assert svc.percent(242, 245) == Decimal("98.77")
    assert svc.percent(244, 245) == Decimal("99.59")
    assert svc.percent(245, 245) == Decimal("100.00")
    assert svc.percent(99_999, 100_000) == Decimal("99.99")
    assert svc.percent(1, 100_000) == Decimal("0.01")
    assert svc.percent(0, 245) == Decimal("0.00")
    assert svc.percent(0, 0) == Decimal("0.00")


def _results(session: Session, values: dict[int, float | None], indicator: str = "QP") -> None:
    for office_id, value in values.items():
        session.add(
            ResultRecord(
                office_id=office_id,
                fiscal_year=YEAR,
                category="policy",
                indicator=indicator,
                value=value,
            )
        )
    session.flush()


def test_share_of_offices_at_or_above_a_level_is_242_of_245(session: Session, admin: User) -> None:
    svc.save_scale(session, Actor(admin), _input())
    ids = list(session.scalars(select(Office.id).order_by(Office.code)))
    assert len(ids) == 245
    values: dict[int, float | None] = dict.fromkeys(ids, 80.0)  # ดี for most
    values[ids[0]] = 74.99  # below ดี
    values[ids[1]] = 12.0
    values[ids[2]] = 90.0  # exactly ดีเยี่ยม
    del values[ids[3]]  # no result: not at the level
    values[ids[4]] = 75.0  # exactly ดี
    _results(session, values)
    report = svc.shares(session, YEAR, "policy", "QP", 2)
    national = report.national
    assert national is not None and report.level is not None
    assert report.level.name_th == "ดี"
    assert (national.offices, national.with_result, national.at_or_above) == (245, 244, 242)
    assert (national.below, national.no_result, national.out_of_range) == (2, 1, 0)
    assert national.percent == Decimal("98.77")
    assert sum(c.offices for c in report.clusters) == 245
    assert sum(c.at_or_above for c in report.clusters) == 242
    top = svc.shares(session, YEAR, "policy", "QP", 1).national
    assert top is not None and top.at_or_above == 1
    # An indicator's own scale comes before its category's.
    svc.save_scale(
        session,
        Actor(admin),
        _input([("ผ่าน", "Pass", "80"), ("ไม่ผ่าน", "Fail", "0")], indicator="QP"),
    )
    own = svc.shares(session, YEAR, "policy", "QP", 1).national
    assert own is not None and own.at_or_above == 241  # 240 at 80, one at 90


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(svc.COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode()


def _row(position: int, th: str, en: str, bound: str, indicator: str = "") -> list[str]:
    return [str(YEAR), "policy", indicator, "0", "100", str(position), th, en, bound, "no", ""]


def test_import_refusal_names_row_and_column_and_changes_nothing(
    session: Session, admin: User
) -> None:
    svc.save_scale(session, Actor(admin), _input())
    session.commit()
    before = svc.export_rows(session, YEAR)
    audits = session.scalar(select(func.count()).select_from(AuditLog))
    data = _csv(
        [
            _row(1, "ผ่าน", "Pass", "60"),
            _row(2, "ไม่ผ่าน", "Fail", "0"),
            _row(1, "สูง", "High", "70", "O-NET"),
            _row(2, "ต่ำ", "Low", "80", "O-NET"),  # row 5: above the level above it
        ]
    )
    with pytest.raises(ImportRejected) as refused:
        svc.import_upload(session, Actor(admin), data, "levels.csv")
    assert [(p.row, p.column) for p in refused.value.problems] == [(5, "min_value")]
    # Nothing was written, not even inside the transaction the caller would roll back.
    session.expire_all()
    assert svc.export_rows(session, YEAR) == before
    assert session.scalar(select(func.count()).select_from(AuditLog)) == audits
    # The same file, fixed, replaces the category's scale and adds O-NET's.
    fixed = data.replace(b"80,no", b"0,no")
    summary = svc.import_upload(session, Actor(admin), fixed, "levels.csv")
    assert (summary.scales, summary.levels) == (2, 4)
    names = session.scalars(
        select(PerformanceLevel.name_en).join(LevelScale).where(LevelScale.fiscal_year == YEAR)
    ).all()
    assert sorted(names) == ["Fail", "High", "Low", "Pass"]


def test_export_then_import_gives_the_same_scales_and_a_year_copies(
    session: Session, admin: User
) -> None:
    svc.save_scale(session, Actor(admin), _input(source_note="=cmd|' /C calc'!A0"))
    text = svc.export_csv(session, YEAR)
    assert "'=cmd" in text  # a formula is neutralised in the file
    svc.import_upload(session, Actor(admin), text.encode(), "levels.csv")
    assert svc.scales_of(session, YEAR)[0].source_note == "=cmd|' /C calc'!A0"
    book = load_workbook(io.BytesIO(svc.export_xlsx(session, YEAR)))
    assert book.active is not None and book.active.max_row == 5
    copied = svc.copy_year(session, Actor(admin), YEAR, YEAR + 1)
    assert (copied.copied, copied.kept) == (1, 0)
    again = svc.copy_year(session, Actor(admin), YEAR, YEAR + 1)
    assert (again.copied, again.kept) == (0, 1)
    assert [lv.name_th for lv in svc.scales_of(session, YEAR + 1)[0].levels] == [
        "ดีเยี่ยม",
        "ดี",
        "พอใช้",
        "ปรับปรุง",
    ]


def test_admin_form_refusal_keeps_what_was_typed(page: FlaskClient, session: Session) -> None:
    form = {
        "category": "policy",
        "indicator": "<b>QP</b>",
        "range_min": "0",
        "range_max": "100",
        "name_th_1": "ดีเยี่ยม",
        "name_en_1": "<script>alert(1)</script>",
        "min_value_1": "60",
        "name_th_2": "ดี",
        "name_en_2": "Good",
        "min_value_2": "70",
    }
    r = page.post(f"/admin/levels/{YEAR}/scales", data=form)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "Level 2" in html and "From (inclusive)" in html
    assert 'value="70"' in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert session.scalar(select(func.count()).select_from(LevelScale)) == 0
    form["min_value_2"] = "0"
    r = page.post(f"/admin/levels/{YEAR}/scales", data=form)
    assert r.status_code == 302
    listing = page.get(f"/admin/levels?fiscal_year={YEAR}").get_data(as_text=True)
    assert "&lt;script&gt;" in listing and "<script>alert" not in listing
    assert "alert(1)" in page.get(f"/admin/levels/{YEAR}.csv").get_data(as_text=True)
    # Editing fills the form with the stored scale.
    scale_id = session.scalar(select(LevelScale.id))
    edit = page.get(f"/admin/levels?edit={scale_id}").get_data(as_text=True)
    assert re.search(r'name="min_value_2"[^>]* value="0"', edit)
    assert 'value="&lt;b&gt;QP&lt;/b&gt;"' in edit
    assert page.get("/admin/levels?edit=999999").status_code == 404
    assert page.get("/admin/levels?edit=abc").status_code == 404


def test_admin_import_page_lists_problems_and_others_are_refused(
    page: FlaskClient, app: Flask, session: Session
) -> None:
    data = _csv([_row(1, "ผ่าน", "Pass", "60"), _row(2, "ไม่ผ่าน", "Fail", "x")])
    r = page.post(
        "/admin/levels/import",
        data={"file": (io.BytesIO(data), "levels.csv"), "fiscal_year": str(YEAR)},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "<td>3</td><td>From (inclusive)</td>" in html
    assert session.scalar(select(func.count()).select_from(LevelScale)) == 0
    anonymous = app.test_client()
    assert anonymous.get("/admin/levels").status_code in (302, 303)


def test_public_pages_and_api_show_levels_and_shares(
    page: FlaskClient, app: Flask, session: Session, admin: User
) -> None:
    svc.save_scale(
        session,
        Actor(admin),
        _input([("ดี<i>เยี่ยม</i>", "Top", "80"), ("ต่ำ", "Low", "0")]),
    )
    ids = list(session.scalars(select(Office.id).order_by(Office.code)))
    _results(session, {i: (90.0 if n < 242 else 10.0) for n, i in enumerate(ids)})
    session.commit()
    public = app.test_client()
    r = public.get(f"/results/levels?fiscal_year={YEAR}&category=policy&indicator=QP&level=1")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    national = re.search(r'<tr class="total">(.*?)</tr>', html, re.S)
    assert national is not None and '<td class="share">98.77 %</td>' in national.group(1)
    assert "ดี&lt;i&gt;เยี่ยม&lt;/i&gt;" in html and "<i>เยี่ยม" not in html
    assert "<svg" in html
    assert public.get("/results/levels?fiscal_year=abc").status_code == 400
    assert public.get("/results/levels?fiscal_year=2400").status_code == 404
    # Another year's indicator (the year was changed): the page shows the year's first one;
    # a download names exactly what it exports, so there it is a 404.
    other = f"fiscal_year={YEAR}&category=drugs&indicator=gone&fmt=x"
    fallback = public.get(f"/results/levels?{other}")
    assert fallback.status_code == 200 and "98.77 %" in fallback.get_data(as_text=True)
    assert public.get(f"/results/levels.csv?{other}").status_code == 404
    exported = public.get(
        f"/results/levels.csv?fiscal_year={YEAR}&category=policy&indicator=QP&level=1"
    ).get_data(as_text=True)
    assert "98.77" in exported and "242" in exported
    office_code = session.scalar(select(Office.code).where(Office.id == ids[0]))
    office_html = public.get(f"/offices/{office_code}").get_data(as_text=True)
    assert 'id="levels"' in office_html and "ดี&lt;i&gt;เยี่ยม" in office_html
    api = public.get(f"/api/v1/levels/shares?fiscal_year={YEAR}&category=policy&indicator=QP")
    body = api.get_json()
    assert api.status_code == 200, body
    assert body["national"]["percent"] == "98.77" and body["national"]["at_or_above"] == 242
    assert public.get(f"/api/v1/levels/scales?fiscal_year={YEAR}").get_json()["scales"]
    mine = public.get(f"/api/v1/offices/{office_code}/levels").get_json()
    assert mine["indicators"][0]["years"][0]["level"] == 1
    spec = public.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/levels/shares" in spec["paths"]
