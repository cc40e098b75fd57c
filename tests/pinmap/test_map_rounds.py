"""The map's round selector on the server: the summary API per round (approved reports only),
the page's options and its validation of ?fy= and ?round= (bad values: the default, no 5xx)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from pinmap.services import progress as svc
from pinmap.services.audit import Actor

from ..support.factories import ReportingWindowFactory
from ..support.portal import OTHER, OWN, World, full_report, no_csrf


def _report(session: Session, w: World, round_no: int, approve: bool) -> None:
    def who(name: str) -> Actor:
        return Actor(w.users[name], "127.0.0.1")

    rev = svc.save_draft(session, who("own_editor"), w.own, w.item, round_no, full_report(), None)
    entry = svc.find_entry(session, w.own.id, w.item.id, round_no)
    assert entry is not None
    rev = svc.submit(session, who("own_director"), entry, rev.version)
    if approve:
        svc.review(session, who("reviewer"), entry, "approve", "", rev.version)
    session.commit()


def test_the_summary_counts_one_rounds_approved_reports(
    app: Flask, session: Session, world: World
) -> None:
    ReportingWindowFactory(session=session, fiscal_year=world.fy, round_no=2)
    session.commit()
    _report(session, world, 1, approve=True)
    _report(session, world, 2, approve=False)  # sent, not approved: not public
    client = app.test_client()
    base = f"/api/v1/progress/summary?fiscal_year={world.fy}"
    one = client.get(base + "&round=1").get_json()
    two = client.get(base + "&round=2").get_json()
    assert one["round"] == 1 and one["offices"][OWN]["approved"] == 1
    assert one["offices"][OWN]["items_total"] == 1
    assert two["offices"][OWN]["approved"] == 0
    assert one["offices"][OTHER]["approved"] == 0
    assert client.get(base).get_json()["offices"][OWN]["approved"] == 1
    item = f"&item_kind={world.item.kind}&item_no={world.item.no}"
    assert client.get(base + "&round=2" + item).get_json()["offices"].get(OWN) is None
    assert client.get(base + "&round=1" + item).get_json()["offices"][OWN] == "on_plan"
    for bad in ("0", "13", "x", "1e9"):
        assert client.get(base + "&round=" + bad).status_code == 400


def test_the_page_offers_the_rounds_and_ignores_bad_choices(
    app: Flask, session: Session, world: World
) -> None:
    ReportingWindowFactory(
        session=session, fiscal_year=world.fy, round_no=2, label_th="รอบ 12 เดือน"
    )
    session.commit()
    client = no_csrf(app).test_client()
    client.set_cookie("pinmap_lang", "th")
    html = client.get("/").get_data(as_text=True)
    assert f'<option value="{world.fy}:2">ปีงบประมาณ {world.fy} · รอบ 12 เดือน</option>' in html
    chosen = client.get(f"/?fy={world.fy}&round=2").get_data(as_text=True)
    assert f'<option value="{world.fy}:2" selected>' in chosen
    assert '"round": 2' in chosen or '"round":2' in chosen
    for bad in (
        "fy=abc&round=1",
        "fy=2569&round=2",
        f"fy={world.fy}&round=99",
        f"fy={world.fy}&round=" + "9" * 5000,
        "fy=" + "9" * 40 + "&round=1",
        "round=%E0%B8%81",  # (a NUL is refused before any page: 400 site-wide)
    ):
        r = client.get("/?" + bad)
        assert r.status_code == 200, bad
        page = r.get_data(as_text=True)
        assert 'id="filters-ignored"' in page and " selected>ปีงบประมาณ" not in page


def test_with_a_round_chosen_the_colour_and_shading_labels_name_it(
    app: Flask, session: Session, world: World
) -> None:
    ReportingWindowFactory(
        session=session, fiscal_year=world.fy, round_no=2, label_th="รอบ <12> เดือน"
    )
    session.commit()
    client = no_csrf(app).test_client()
    client.set_cookie("pinmap_lang", "th")
    year = f"ความก้าวหน้า ปีงบประมาณ {world.fy} (รายงานที่อนุมัติแล้ว)"
    named = f"ความก้าวหน้า ปีงบประมาณ {world.fy} · รอบ &lt;12&gt; เดือน (รายงานที่อนุมัติแล้ว)"
    plain = client.get("/").get_data(as_text=True)
    # The default view names the year; the page carries the round's wording for the selector.
    assert f">{year}</option>" in plain and named not in plain
    assert 'data-round="ความก้าวหน้า %(round)s (รายงานที่อนุมัติแล้ว)"' in plain
    assert "data-year=" not in plain
    chosen = client.get(f"/?fy={world.fy}&round=2").get_data(as_text=True)
    assert f">{named}</option>" in chosen  # the round's label, escaped
    assert f'data-year="{year}"' in chosen  # what choosing no round puts back
    area = f"จังหวัด: สัดส่วนรายการที่อนุมัติแล้ว (ปีงบประมาณ {world.fy} · รอบ &lt;12&gt; เดือน)"
    assert f">{area}</option>" in chosen
    assert "<12>" not in chosen
    assert f'label="รายการเดียว ปีงบประมาณ {world.fy} · รอบ &lt;12&gt; เดือน"' in chosen
    for bad in (f"fy={world.fy}&round=7", "fy=x&round=2", f"fy={world.fy}&round=2%00"):
        r = client.get("/?" + bad)
        assert r.status_code in (200, 400), bad  # a NUL is refused site-wide, never a 5xx
        if r.status_code == 200:
            page = r.get_data(as_text=True)
            assert f">{year}</option>" in page and "data-year=" not in page
