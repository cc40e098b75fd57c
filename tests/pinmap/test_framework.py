"""The reporting framework as data: migration of existing items and reports, the admin page,
CSV/XLSX round trips, refusals by row and column, starting the next year, retired items,
the progress form's fields, and pages that follow the current fiscal year."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from alembic import command
from pinmap.cli import PROJECT_ROOT
from pinmap.db import make_engine
from pinmap.localdb import Cluster
from pinmap.models import (
    AuditLog,
    ItemSet,
    PolicyItem,
    ReportingWindow,
    WorkflowReport,
)
from pinmap.services import framework
from pinmap.services import progress as progress_svc
from pinmap.services.audit import Actor
from pinmap.services.dataload import DataFileError, parse_data_dir
from pinmap.services.errors import ServiceError

from ..signin import sign_in
from ..support import databases
from ..support.factories import PolicyItemFactory, ReportFactory
from ..support.portal import OWN, World
from ..support.progress_sql import ENTRIES, REVISIONS, bare_report

FY = 2567


def _state(session: Session, year: int = FY) -> list[tuple]:
    session.expire_all()
    sets = session.execute(
        select(ItemSet.id, ItemSet.code, ItemSet.position, ItemSet.title_th, ItemSet.title_en)
        .filter_by(fiscal_year=year)
        .order_by(ItemSet.id)
    ).all()
    items = session.execute(
        select(
            PolicyItem.id,
            PolicyItem.set_id,
            PolicyItem.parent_id,
            PolicyItem.kind,
            PolicyItem.no,
            PolicyItem.title_th,
            PolicyItem.title_en,
            PolicyItem.fields,
            PolicyItem.rounds,
            PolicyItem.retired,
            PolicyItem.verified,
            PolicyItem.source_note,
        )
        .filter_by(fiscal_year=year)
        .order_by(PolicyItem.id)
    ).all()
    return [tuple(r) for r in sets] + [tuple(r) for r in items]


def _upload(web: FlaskClient, body: bytes, name: str) -> object:
    return web.post(
        "/admin/framework/import",
        data={"csrf_token": _token(web), "file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )


def _token(web: FlaskClient, url: str = "/admin/framework?fiscal_year=2567") -> str:
    html = web.get(url).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


@pytest.fixture
def admin_web(client: FlaskClient, world: World) -> FlaskClient:
    sign_in(client, world.users["admin"], lang="en")
    return client


def _with_sub_items(session: Session) -> None:
    """Policy 4 gets sub-items 4.1–4.3 (seed 003), one of them asked in round 2 only."""
    actor = Actor(None)
    for no, th in (("4.1", "สำรวจ"), ("4.2", "จัดทำรูปแบบ"), ("4.3", "ติดตามผล")):
        framework.save_item(
            session,
            actor,
            FY,
            kind="policy",
            no=no,
            title_th=th,
            title_en=f"Sub-item {no}",
            fields=["narrative", "problems", "likely_success"],
            rounds=["2"] if no == "4.3" else [],
        )
    session.flush()


# --- migration ---------------------------------------------------------------------------------


@pytest.fixture
def old_database(pg_cluster: Cluster) -> Iterator[str]:
    url = databases.clone(pg_cluster, databases.TEMPLATE, "framework_migration")
    yield url
    databases.drop_database(pg_cluster, url)


def _alembic(conn: object, target: str, down: bool = False) -> None:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    cfg.attributes["connection"] = conn
    (command.downgrade if down else command.upgrade)(cfg, target)


def test_migration_keeps_reports_on_their_items(old_database: str) -> None:
    """Down to the schema before, with reports there; up again: each report keeps its item,
    which now belongs to the set its kind named, asks the old fields in every round."""
    engine = make_engine(old_database)
    try:
        with engine.begin() as conn:
            _alembic(conn, "9e4d7a1c2b30", down=True)
            assert conn.scalar(text("SELECT to_regclass('item_sets')")) is None
            office = conn.scalar(text("SELECT id FROM offices ORDER BY id LIMIT 1"))
            items = conn.execute(
                text(
                    "SELECT id, kind, no FROM policy_items WHERE fiscal_year = 2567 "
                    "AND ((kind = 'policy' AND no = 10) OR (kind = 'quick_win' AND no = 2))"
                )
            ).all()
            assert len(items) == 2
            reports = {}
            for item_id, _kind, _no in items:
                entry = conn.scalar(
                    text(
                        "INSERT INTO progress_entries (office_id, fiscal_year, item_id, round_no,"
                        " created_at) VALUES (:o, 2567, :i, 1, now()) RETURNING id"
                    ),
                    {"o": office, "i": item_id},
                )
                rev = conn.scalar(
                    text(
                        "INSERT INTO progress_revisions (entry_id, revision_no, state, status,"
                        ' what, "where", how, result, no_activity_reason, no_activity_when,'
                        " source, review_comment, created_at, updated_at, version) VALUES"
                        " (:e, 1, 'approved', 'on_plan', 'ทำแล้ว', 'ที่เขต', 'อบรม', 'ผ่าน',"
                        " '', '', 'manual', '', now(), now(), 1) RETURNING id"
                    ),
                    {"e": entry},
                )
                conn.execute(
                    text(
                        "UPDATE progress_entries SET current_revision_id = :r,"
                        " approved_revision_id = :r WHERE id = :e"
                    ),
                    {"r": rev, "e": entry},
                )
                reports[entry] = item_id
            _alembic(conn, "head")

            # The reports now live in the workflow engine (7d2a9c4e1b63), each still on its item.
            for _entry, item_id in reports.items():
                entry = conn.scalar(
                    text(
                        f"SELECT id FROM {ENTRIES} WHERE office_id = :o AND item_id = :i"  # noqa: S608 (a fixed row source, no input)
                        " AND round_no = 1"
                    ),
                    {"o": office, "i": item_id},
                )
                assert (
                    conn.scalar(text(f"SELECT item_id FROM {ENTRIES} WHERE id = :e"), {"e": entry})  # noqa: S608 (a fixed row source, no input)
                    == item_id
                )
                what, problems = conn.execute(
                    text(
                        f"SELECT r.what, r.problems FROM {REVISIONS.removesuffix(' AS progress_revisions')} r JOIN"  # noqa: S608 (a fixed row source, no input)
                        f" {ENTRIES.removesuffix(' AS progress_entries')} e"
                        " ON e.approved_revision_id = r.id WHERE e.id = :e"
                    ),
                    {"e": entry},
                ).one()
                assert (what, problems) == ("ทำแล้ว", "")
            rows = conn.execute(
                text(
                    "SELECT i.kind, i.no, s.code, i.fields, i.rounds, i.retired FROM policy_items i"
                    " JOIN item_sets s ON s.id = i.set_id WHERE i.id = ANY(:ids)"
                    " ORDER BY i.kind"
                ),
                {"ids": list(reports.values())},
            ).all()
            assert [tuple(r) for r in rows] == [
                ("policy", "10", "policy", ["narrative", "indicator", "evidence"], [], False),
                ("quick_win", "2", "quick_win", ["narrative", "indicator", "evidence"], [], False),
            ]
            assert conn.scalar(text("SELECT count(*) FROM policy_items WHERE set_id IS NULL")) == 0
            # Numbers sort as numbers: policy 10 comes after policy 9.
            nos = conn.scalars(
                text(
                    "SELECT no FROM policy_items WHERE kind = 'policy' AND fiscal_year = 2567"
                    " ORDER BY no"
                )
            ).all()
            assert nos == [str(n) for n in range(1, 11)]
    finally:
        engine.dispose()


# --- the admin page ----------------------------------------------------------------------------


def test_page_shows_sets_and_items(admin_web: FlaskClient) -> None:
    html = admin_web.get("/admin/framework?fiscal_year=2567").get_data(as_text=True)
    assert "นโยบายและจุดเน้น สพฐ." in html and "ตัวชี้วัดแผนปฏิบัติการ สพฐ." in html
    assert "MOE Safety Center" in html or "MOE Safety Center" in html.replace("&amp;", "&")


def test_page_of_a_year_without_framework_offers_to_start_it(
    session: Session, admin_web: FlaskClient, world: World
) -> None:
    html = admin_web.get("/admin/framework?fiscal_year=2568").get_data(as_text=True)
    assert "2568" in html and "no reporting framework yet" in html
    assert "/admin/framework/2568/start" in html


def test_add_set_item_and_sub_item_through_forms(session: Session, admin_web: FlaskClient) -> None:
    token = _token(admin_web)
    resp = admin_web.post(
        "/admin/framework/2567/sets",
        data={
            "csrf_token": token,
            "code": "inspection",
            "position": "5",
            "title_th": "ประเด็นการตรวจราชการ",
            "title_en": "Inspection topic",
        },
    )
    assert resp.status_code == 302
    for no in ("1", "1.1", "1.1.1"):
        resp = admin_web.post(
            "/admin/framework/2567/items",
            data={
                "csrf_token": token,
                "kind": "inspection",
                "no": no,
                "title_th": f"ข้อ {no}",
                "title_en": f"Topic {no}",
                "fields": ["narrative", "served_goal", "story_image"],
                "rounds": ["1"],
            },
        )
        assert resp.status_code == 302, resp.get_data(as_text=True)
    session.expire_all()
    deep = session.scalars(select(PolicyItem).filter_by(fiscal_year=FY, no="1.1.1")).one()
    parent = session.get(PolicyItem, deep.parent_id)
    assert parent is not None and parent.no == "1.1"
    assert deep.fields == ["narrative", "served_goal", "story_image"] and deep.rounds == [1]
    assert deep.item_set.code == "inspection"
    # A sub-item without its parent is refused, with what was typed kept.
    resp = admin_web.post(
        "/admin/framework/2567/items",
        data={
            "csrf_token": token,
            "kind": "inspection",
            "no": "7.1",
            "title_th": "ย่อยกำพร้า",
            "title_en": "Orphan",
            "fields": ["narrative"],
        },
    )
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "ย่อยกำพร้า" in body


# --- import and export -------------------------------------------------------------------------


def test_csv_round_trip_changes_nothing(session: Session, admin_web: FlaskClient) -> None:
    _with_sub_items(session)
    session.commit()
    before = _state(session)
    body = admin_web.get("/admin/framework/2567.csv").get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text_ = body.decode("utf-8-sig")
    assert text_.splitlines()[0] == ",".join(framework.COLUMNS)
    assert "2567,policy,4.1," in text_
    resp = _upload(admin_web, body, "framework.csv")
    assert resp.status_code == 302
    assert _state(session) == before
    assert admin_web.get("/admin/framework/2567.csv").get_data() == body
    assert not session.scalars(select(AuditLog).filter_by(action="framework.import")).first()


def test_xlsx_round_trip_changes_nothing(session: Session, admin_web: FlaskClient) -> None:
    _with_sub_items(session)
    session.commit()
    before = _state(session)
    resp = admin_web.get("/admin/framework/2567.xlsx")
    assert resp.status_code == 200
    book = load_workbook(io.BytesIO(resp.get_data()), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert tuple(rows[0]) == framework.COLUMNS
    assert any(r[1] == "policy" and r[2] == "4.2" for r in rows)
    assert _upload(admin_web, resp.get_data(), "framework.xlsx").status_code == 302
    assert _state(session) == before


def test_import_adds_changes_and_removes(session: Session, admin_web: FlaskClient) -> None:
    lines = framework.export_csv(session, FY).decode("utf-8-sig").splitlines()
    lines = [ln for ln in lines if not ln.startswith("2567,quick_win,11,")]
    lines.append("2567,set,6,kpi,ตัวชี้วัดใหม่,New KPI,,,,,,")
    lines.append("2567,kpi,1,,ตัวชี้วัด 1,KPI 1,,indicator evidence,1 2,no,no,test")
    lines.append("2567,kpi,1.1,,ตัวชี้วัดย่อย,KPI 1.1,,indicator,2,no,no,test")
    resp = _upload(admin_web, "\n".join(lines).encode(), "framework.csv")
    assert resp.status_code == 302
    session.expire_all()
    sub = session.scalars(select(PolicyItem).filter_by(fiscal_year=FY, kind="kpi", no="1.1")).one()
    assert sub.rounds == [2] and sub.fields == ["indicator"]
    assert session.get(PolicyItem, sub.parent_id).no == "1"  # type: ignore[union-attr]
    assert not session.scalars(
        select(PolicyItem).filter_by(fiscal_year=FY, kind="quick_win", no="11")
    ).first()
    log = session.scalars(select(AuditLog).filter_by(action="framework.import")).one()
    assert "kpi 1.1" in log.after["created"] and "quick_win 11" in log.after["deleted"]


@pytest.mark.parametrize(
    ("edit", "row", "column", "reason"),
    [
        (lambda ls: ls + ["2567,policy,4.9.1,,ย่อย,Sub,,,,,no,"], "31", "no", "parent item 4.9"),
        (
            lambda ls: ls + ["2567,policy,11,,x,y,,narrative colour,,,no,"],
            "31",
            "fields",
            "Unknown field",
        ),
        (lambda ls: ls + ["2567,policy,11,,x,y,,,13,,no,"], "31", "rounds", "Rounds are numbers"),
        (lambda ls: ls + ["2567,nosuchset,1,,x,y,,,,,no,"], "31", "kind", "No set nosuchset"),
        (lambda ls: ls + ["2567,policy,1.0,,x,y,,,,,no,"], "31", "no", "An item&#39;s number"),
        (lambda ls: ls + ["2568,policy,11,,x,y,,,,,no,"], "31", "fiscal_year", "more than one"),
        (lambda ls: ls + ["2567,policy,11,,x,y,,,,maybe,no,"], "31", "retired", "Write yes or no"),
    ],
)
def test_bad_import_names_file_row_and_column_and_changes_nothing(
    session: Session, admin_web: FlaskClient, edit: object, row: str, column: str, reason: str
) -> None:
    before = _state(session)
    lines = framework.export_csv(session, FY).decode("utf-8-sig").splitlines()
    assert len(lines) == 30  # header, 4 sets, 4 dimensions, 10 policy, 11 Quick Win
    # A valid change too, which must not be applied either.
    lines[9] = lines[9].replace("Safety of learners", "CHANGED")
    resp = _upload(admin_web, "\n".join(edit(lines)).encode(), "my-framework.csv")  # type: ignore[operator]
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "my-framework.csv" in html
    assert f"<td>{row}</td><td>{column}</td>" in html
    assert reason in html
    assert _state(session) == before


def test_import_refuses_to_drop_a_reported_item(
    session: Session, admin_web: FlaskClient, world: World
) -> None:
    item = session.scalars(
        select(PolicyItem).filter_by(fiscal_year=FY, kind="quick_win", no="11")
    ).one()
    session.add(bare_report(world.own.id, FY, item.id, 1))
    session.commit()
    before = _state(session)
    lines = framework.export_csv(session, FY).decode("utf-8-sig").splitlines()
    lines = [ln for ln in lines if not ln.startswith("2567,quick_win,11,")]
    resp = _upload(admin_web, "\n".join(lines).encode(), "framework.csv")
    assert resp.status_code == 409
    assert "quick_win 11" in resp.get_data(as_text=True)
    assert _state(session) == before


def test_unreadable_upload_is_refused(session: Session, admin_web: FlaskClient) -> None:
    before = _state(session)
    resp = _upload(admin_web, b"PK\x03\x04not a zip", "framework.xlsx")
    assert resp.status_code == 400 and "framework.xlsx" in resp.get_data(as_text=True)
    resp = _upload(admin_web, b"a,b\n1,2\n", "framework.txt")
    assert resp.status_code == 400
    assert _state(session) == before


# --- retiring and deleting ---------------------------------------------------------------------


def test_reported_item_cannot_be_deleted_only_retired_and_stays_readable(
    session: Session, client: FlaskClient, world: World
) -> None:
    item = world.item
    svc_actor = Actor(world.users["own_editor"])
    progress_svc.save_draft(
        session, svc_actor, world.own, item, 1, {**ReportFactory(), "problems": "ขาดงบ"}, None
    )
    session.commit()
    sign_in(client, world.users["admin"], lang="en")
    token = _token(client)
    resp = client.post(f"/admin/framework/items/{item.id}/delete", data={"csrf_token": token})
    assert resp.status_code == 409 and "retire it instead" in resp.get_data(as_text=True)
    resp = client.post(
        f"/admin/framework/items/{item.id}/retire", data={"csrf_token": token, "retired": "yes"}
    )
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(PolicyItem, item.id).retired  # type: ignore[union-attr]
    assert item.id not in {i.id for i in progress_svc.items_asked(session, world.fy, 1)}

    sign_in(client, world.users["own_editor"], lang="en")
    url = f"/portal/offices/{OWN}/entries/{world.fy}/1/{item.kind}/{item.no}"
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "This item is retired" in html
    assert "อบรมครู" in html  # the report's narrative is still there
    office = client.get(f"/portal/offices/{OWN}?fiscal_year={world.fy}").get_data(as_text=True)
    assert "Policy 1. Test" in office and "(retired)" in office  # it has a report in round 1


def test_unreported_item_can_be_deleted(session: Session, admin_web: FlaskClient) -> None:
    extra = PolicyItemFactory(session=session, fiscal_year=FY, kind="quick_win", no="12").id
    session.commit()
    token = _token(admin_web)
    resp = admin_web.post(f"/admin/framework/items/{extra}/delete", data={"csrf_token": token})
    assert resp.status_code == 302
    session.expire_all()
    assert session.get(PolicyItem, extra) is None


# --- a new year --------------------------------------------------------------------------------


def test_start_next_year_copies_framework_not_reports(
    session: Session, admin_web: FlaskClient, world: World
) -> None:
    _with_sub_items(session)
    retired = session.scalars(
        select(PolicyItem).filter_by(fiscal_year=FY, kind="quick_win", no="11")
    ).one()
    retired.retired = True
    session.commit()
    source = framework.items_of(session, FY)
    token = _token(admin_web)
    resp = admin_web.post("/admin/framework/2568/start", data={"csrf_token": token})
    assert resp.status_code == 302
    session.expire_all()
    copied = framework.items_of(session, 2568)
    assert [(i.kind, i.no) for i in copied] == [(i.kind, i.no) for i in source if not i.retired]
    sub = next(i for i in copied if i.no == "4.3")
    assert sub.rounds == [2] and sub.fields == ["narrative", "problems", "likely_success"]
    assert session.get(PolicyItem, sub.parent_id).fiscal_year == 2568  # type: ignore[union-attr]
    assert not any(i.verified for i in copied)
    assert [s.code for s in framework.sets_of(session, 2568)] == [
        s.code for s in framework.sets_of(session, FY)
    ]
    windows = session.scalars(select(ReportingWindow).filter_by(fiscal_year=2568)).all()
    assert sorted(w.opens_on.isoformat() for w in windows) == ["2025-03-18", "2025-04-18"]
    assert not session.scalars(
        select(WorkflowReport).filter_by(kind="progress", fiscal_year=2568)
    ).first()
    # Once started, it cannot be started again over the edits.
    resp = admin_web.post("/admin/framework/2568/start", data={"csrf_token": token})
    assert resp.status_code == 409


def test_start_a_year_from_the_latest_one_with_a_framework(
    session: Session, admin_web: FlaskClient
) -> None:
    """2569 has none, nor has 2568: it starts from 2567, its windows two years on."""
    html = admin_web.get("/admin/framework?fiscal_year=2569").get_data(as_text=True)
    assert "Start fiscal year 2569 from 2567" in html
    resp = admin_web.post("/admin/framework/2569/start", data={"csrf_token": _token(admin_web)})
    assert resp.status_code == 302
    session.expire_all()
    assert len(framework.items_of(session, 2569)) == len(framework.items_of(session, FY))
    windows = session.scalars(select(ReportingWindow).filter_by(fiscal_year=2569)).all()
    assert sorted(w.closes_on.isoformat() for w in windows) == ["2026-04-05", "2026-08-31"]
    assert framework.source_year(session, 2567) is None


def test_start_year_refuses_without_a_source(session: Session) -> None:
    with pytest.raises(ServiceError) as err:
        framework.start_year(session, Actor(None), 2590)
    assert err.value.status == 404


# --- the progress form -------------------------------------------------------------------------


def test_form_shows_and_stores_the_fields_the_item_asks(
    session: Session, client: FlaskClient, world: World
) -> None:
    item = world.item
    item.fields = ["narrative", "problems", "likely_success", "indicator", "served_goal"]
    session.commit()
    sign_in(client, world.users["own_director"], lang="en")
    url = f"/portal/offices/{OWN}/entries/{world.fy}/1/{item.kind}/{item.no}"
    html = client.get(url).get_data(as_text=True)
    for name in ("problems", "served_goal", "likely_success", "indicator_value", "what"):
        assert f'name="{name}"' in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    data = {
        **ReportFactory(),
        "csrf_token": token,
        "version": "0",
        "problems": "งบประมาณล่าช้า",
        "served_goal": "ครูมีเวลาสอนมากขึ้น",
        "likely_success": "at_risk",
    }
    data.pop("version", None)
    data["version"] = "0"
    assert client.post(url, data=data).status_code == 302
    entry = progress_svc.find_entry(session, world.own.id, item.id, 1)
    session.refresh(entry.current)  # type: ignore[union-attr]
    rev = entry.current  # type: ignore[union-attr]
    assert (rev.problems, rev.served_goal, rev.likely_success) == (
        "งบประมาณล่าช้า",
        "ครูมีเวลาสอนมากขึ้น",
        "at_risk",
    )
    # An item that stops asking for a field keeps what was stored in it.
    item.fields = ["narrative"]
    session.commit()
    html = client.get(url).get_data(as_text=True)
    assert 'name="problems"' not in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    data = {k: v for k, v in data.items() if k not in ("problems", "served_goal", "likely_success")}
    data.update(csrf_token=token, version=str(rev.version), what="แก้ไข")
    assert client.post(url, data=data).status_code == 302
    session.expire_all()
    rev = progress_svc.find_entry(session, world.own.id, item.id, 1).current  # type: ignore[union-attr]
    assert rev.what == "แก้ไข" and rev.problems == "งบประมาณล่าช้า"  # type: ignore[union-attr]


def test_bad_likely_success_is_refused(session: Session, world: World) -> None:
    with pytest.raises(ServiceError):
        progress_svc.save_draft(
            session,
            Actor(world.users["own_editor"]),
            world.own,
            world.item,
            1,
            {"likely_success": "certain"},
            None,
        )


def test_sub_item_address_and_round_plan(
    session: Session, client: FlaskClient, world: World
) -> None:
    parent = world.item
    sub = PolicyItemFactory(
        session=session,
        fiscal_year=world.fy,
        kind=parent.kind,
        no=f"{parent.no}.1",
        parent_id=parent.id,
        rounds=[2],
    )
    only_one = PolicyItemFactory(
        session=session, fiscal_year=world.fy, kind="quick_win", rounds=[1]
    )
    session.commit()
    sign_in(client, world.users["own_editor"], lang="en")
    url = f"/portal/offices/{OWN}/entries/{world.fy}/1/{sub.kind}/{sub.no}"
    assert client.get(url).status_code == 200
    assert client.get(f"/portal/offices/{OWN}/entries/{world.fy}/1/policy/4..1").status_code == 404
    asked = {i.id for i in progress_svc.items_asked(session, world.fy, 1)}
    assert only_one.id in asked and sub.id not in asked and parent.id in asked


# --- the current fiscal year ------------------------------------------------------------------


def test_portal_follows_current_year_and_says_when_it_has_no_framework(
    session: Session, client: FlaskClient, world: World
) -> None:
    # world made an item in the current year: remove it to see a year with no framework.
    session.delete(world.item)
    session.commit()
    sign_in(client, world.users["own_editor"], lang="en")
    html = client.get(f"/portal/offices/{OWN}").get_data(as_text=True)
    assert f"{world.fy} has no reporting framework yet" in html
    assert "/admin/framework" not in html  # the start link is an admin's
    # An earlier year stays open.
    html = client.get(f"/portal/offices/{OWN}?fiscal_year=2567").get_data(as_text=True)
    assert "MOE Safety Center" in html
    sign_in(client, world.users["admin"], lang="en")
    html = client.get(f"/portal/offices/{OWN}").get_data(as_text=True)
    assert f"/admin/framework?fiscal_year={world.fy}" in html


def test_public_pages_follow_current_year(
    session: Session, client: FlaskClient, world: World
) -> None:
    session.delete(world.item)
    session.commit()
    html = client.get("/").get_data(as_text=True)
    # The map's item filters list the current year's items: none, not FY2567's.
    assert "MOE Safety Center" not in html
    office = client.get(f"/offices/{OWN}").get_data(as_text=True)
    assert "MOE Safety Center" not in office


def test_public_pages_say_the_year_has_no_framework(
    session: Session, client: FlaskClient, world: World
) -> None:
    session.delete(world.item)
    session.commit()
    client.get("/lang/en")
    html = client.get("/").get_data(as_text=True)
    assert f"Fiscal year {world.fy} has no reporting framework yet." in html
    office = client.get(f"/offices/{OWN}").get_data(as_text=True)
    assert f"Fiscal year {world.fy} has no reporting framework yet." in office


# --- FY2567 from data/ -------------------------------------------------------------------------


def test_fy2567_sets_come_from_data_with_unverified_items_flagged(session: Session) -> None:
    sets = framework.sets_of(session, FY)
    assert [s.code for s in sets] == ["policy", "quick_win", "action_plan", "office_standard"]
    items = framework.items_of(session, FY)
    assert len(items) == 21 and not any(i.verified for i in items)
    placeholder = next(i for i in items if i.kind == "quick_win" and i.no == "11")
    assert placeholder.source_note.startswith("PLACEHOLDER")


def test_bad_item_sets_file_names_file_and_line(tmp_path: Path) -> None:
    for f in (PROJECT_ROOT / "data").glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    path = tmp_path / "item_sets.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace("2567,action_plan,3", "2567,Action Plan,3"),
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as err:
        parse_data_dir(tmp_path)
    assert any(e.file == "item_sets.csv" and e.line == 4 for e in err.value.errors)


def test_api_names_sub_items_and_other_sets(session: Session, client: FlaskClient) -> None:
    """The map colours pins by "item:<kind>:<no>" through this API: a sub-item's number and
    a new set's code must pass, a malformed one is a 400, never a 5xx."""
    _with_sub_items(session)
    framework.save_set(
        session, Actor(None), FY, code="kpi", title_th="ตัวชี้วัด", title_en="KPI", position=6
    )
    framework.save_item(
        session,
        Actor(None),
        FY,
        kind="kpi",
        no="1",
        title_th="ก",
        title_en="A",
        fields=["indicator"],
        rounds=[],
    )
    session.commit()
    base = "/api/v1/progress/summary?fiscal_year=2567"
    resp = client.get(base + "&item_kind=policy&item_no=4.2")
    assert resp.status_code == 200 and resp.get_json()["item"] == {"kind": "policy", "no": "4.2"}
    assert client.get(base + "&item_kind=kpi&item_no=1").status_code == 200
    assert client.get(base + "&item_kind=policy&item_no=4..2").status_code == 400
    assert client.get(base + "&item_kind=policy&item_no=9.9").status_code == 404
    items = client.get("/api/v1/policy-items?fiscal_year=2567").get_json()["items"]
    assert {"policy:4.1", "kpi:1"} <= {f"{i['kind']}:{i['no']}" for i in items}


def test_api_writes_and_reads_the_new_fields(world: World, client: FlaskClient) -> None:
    body = {**ReportFactory(), "problems": "ขาดงบ", "served_goal": "ลดภาระครู"}
    body["likely_success"] = "on_track"
    resp = client.put(world.entry_url(), json=body, headers=world.headers("own_editor"))
    assert resp.status_code == 200, resp.get_json()
    revs = client.get(world.entry_url(suffix="/revisions"), headers=world.headers("own_editor"))
    latest = revs.get_json()["revisions"][0]
    assert (latest["problems"], latest["served_goal"], latest["likely_success"]) == (
        "ขาดงบ",
        "ลดภาระครู",
        "on_track",
    )
    bad = {**ReportFactory(), "likely_success": "certain"}
    assert (
        client.put(world.entry_url(), json=bad, headers=world.headers("own_editor")).status_code
        == 400
    )
