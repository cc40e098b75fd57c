"""The public map's fiscal-year and round selector (pins coloured by a round's approved reports,
the choice in the address, back and forward, live approvals), and an open map moving a pin back
when an approved profile is un-approved. With PINMAP_SCREENSHOTS=<folder>, screenshots at
1366x900 and 390x844 are saved there."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pinmap import create_app
from pinmap.db import make_engine
from pinmap.localdb import Cluster
from pinmap.models import ChangeEvent, Office, PolicyItem, User
from pinmap.services import profiles as profile_svc
from pinmap.services import progress as svc
from pinmap.services.audit import Actor

from ..support.app import TEST_CONFIG
from ..support.browser import WAIT_MS, Watched, settled, snap
from ..support.databases import prepared_database
from ..support.factories import ReportingWindowFactory, UserFactory
from ..support.portal import OTHER, OWN, build_world, full_report
from ..support.serving import make_test_server

pytestmark = pytest.mark.browser


@dataclass
class Served:
    url: str
    app: Flask
    factory: sessionmaker[Session]
    users: dict[str, int]
    fy: int
    item_id: int

    def who(self, session: Session, name: str) -> Actor:
        return Actor(session.get_one(User, self.users[name]), "127.0.0.1")

    def approve(self, code: str, round_no: int, approve: bool = True) -> int:
        """A progress report of `code` for the item in `round_no`, saved, sent and approved
        (or only sent) through the services as the office and a reviewer would; the change
        record's id."""
        editor, director = "own_editor", "own_director"
        with self.factory() as session:
            office = session.scalars(select(Office).filter_by(code=code)).one()
            item = session.get_one(PolicyItem, self.item_id)
            if code != OWN:  # the world has staff of OWN only: this office's, made once
                editor, director = f"{code}-editor", f"{code}-director"
                for role, name in (("office_editor", editor), ("office_director", director)):
                    if name not in self.users:
                        user = UserFactory(
                            session=session,
                            email=f"{name}@example.go.th",
                            name=name,
                            role=role,
                            office_code=code,
                        )
                        session.flush()
                        self.users[name] = user.id
            rev = svc.save_draft(
                session, self.who(session, editor), office, item, round_no, full_report(), None
            )
            entry = svc.find_entry(session, office.id, item.id, round_no)
            assert entry is not None
            rev = svc.submit(session, self.who(session, director), entry, rev.version)
            if approve:
                svc.review(
                    session, self.who(session, "reviewer"), entry, "approve", "", rev.version
                )
            session.commit()
            return _latest(session)


def _latest(session: Session) -> int:
    found = session.scalar(select(ChangeEvent.id).order_by(ChangeEvent.id.desc()).limit(1))
    assert found is not None
    return found


@pytest.fixture(scope="module")
def served(pg_cluster: Cluster) -> Iterator[Served]:
    url = prepared_database(pg_cluster, "pinmap_map_rounds")
    engine = make_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        world = build_world(session)  # an item of this year, round 1 open, users
        ReportingWindowFactory(
            session=session, fiscal_year=world.fy, round_no=2, label_th="รอบ 12 เดือน"
        )
        session.commit()
        users = {who: u.id for who, u in world.users.items()}
        fy, item_id = world.fy, world.item.id
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_URL": url})
    server = make_test_server(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_port}", app, factory, users, fy, item_id)
    finally:
        server.shutdown()
        server.server_close()
        app.extensions["pinmap"]["session_factory"].kw["bind"].dispose()
        engine.dispose()


def _colour(page: Page, code: str) -> Any:
    return page.evaluate("(code) => PinMap.colourKey(PinMap.state.features[code].properties)", code)


def _wait_colour(page: Page, code: str, key: str) -> None:
    page.wait_for_function(
        "([code, key]) => PinMap.colourKey(PinMap.state.features[code].properties) === key",
        arg=[code, key],
        timeout=WAIT_MS,
    )


def _open(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("html[data-pins-ready='1']", timeout=WAIT_MS)


def _wait_stream(page: Page) -> None:
    # The live stream is open once the page's EventSource reports it (readyState 1).
    page.wait_for_function("() => PinMap.source && PinMap.source.readyState === 1", timeout=WAIT_MS)


def test_choosing_a_round_recolours_the_pins_and_the_address_follows(
    served: Served, watched: Watched
) -> None:
    served.approve(OWN, 1)
    page = watched.page
    page.set_viewport_size({"width": 1366, "height": 900})
    _open(page, served.url + "/")
    assert _colour(page, OWN) == "primary"  # the default view: colour by kind
    page.select_option("#f-round", f"{served.fy}:1")
    _wait_colour(page, OWN, "share-all")
    assert _colour(page, OTHER) == "share-0"
    assert f"fy={served.fy}" in page.url and "round=1" in page.url
    legend = page.locator("#legend-colours .legend-round")
    assert legend.inner_text() == f"ปีงบประมาณ {served.fy} · ระยะที่ 1"
    snap(page, "map_rounds-round1_1366x900.png")

    page.select_option("#f-round", f"{served.fy}:2")
    _wait_colour(page, OWN, "share-0")  # nothing approved in round 2 yet
    assert "round=2" in page.url
    page.go_back()
    _wait_colour(page, OWN, "share-all")
    assert "round=1" in page.url and page.input_value("#f-round") == f"{served.fy}:1"
    page.go_back()
    _wait_colour(page, OWN, "primary")
    assert "round=" not in page.url and page.input_value("#f-round") == ""

    # A reload keeps the choice; an address naming no round shows the default and says so.
    _open(page, served.url + f"/?fy={served.fy}&round=2")
    assert page.input_value("#f-round") == f"{served.fy}:2"
    _wait_colour(page, OWN, "share-0")
    for bad in ("fy=abc&round=1", "fy=2569&round=99", f"fy={served.fy}&round=-1", "round=x"):
        r = page.goto(served.url + "/?" + bad)
        assert r is not None and r.status == 200
        page.wait_for_selector("html[data-pins-ready='1']", timeout=WAIT_MS)
        assert page.input_value("#f-round") == ""
        assert page.locator("#filters-ignored").is_visible()
    assert watched.errors == []


def test_a_live_approval_recolours_only_in_its_own_round(served: Served, watched: Watched) -> None:
    page = watched.page
    page.set_viewport_size({"width": 390, "height": 844})
    _open(page, served.url + f"/?fy={served.fy}&round=1")
    _wait_stream(page)
    _wait_colour(page, OTHER, "share-0")
    other_round = served.approve(OTHER, 2)
    page.wait_for_function(
        "(id) => Number(document.documentElement.getAttribute('data-last-change') || 0) >= id",
        arg=other_round,
        timeout=WAIT_MS,
    )
    assert _colour(page, OTHER) == "share-0"  # round 2's approval leaves round 1's colours
    served.approve(OTHER, 1)
    _wait_colour(page, OTHER, "share-all")
    snap(page, "map_rounds-round1_390x844.png")
    # On a phone the selector is in the drawer, which leaves the map alone until opened.
    box = page.locator("#f-round").bounding_box()
    assert box is None or not page.locator("#f-round").is_visible()
    page.click("#drawer-toggle")
    page.locator("#f-round").wait_for(state="visible")
    # The drawer slides in: the screenshot once it stands still.
    settled(page, "document.getElementById('map-panel').getBoundingClientRect().left")
    snap(page, "map_rounds-drawer_390x844.png")
    assert watched.errors == []


def test_an_open_map_moves_the_pin_back_when_a_profile_is_un_approved(
    served: Served, watched: Watched
) -> None:
    page = watched.page
    page.set_viewport_size({"width": 1366, "height": 900})
    _open(page, served.url + "/")
    _wait_stream(page)
    where = "(code) => { const p = PinMap.state.markers[code].getLatLng(); return [p.lng, p.lat]; }"
    before = page.evaluate(where, OWN)
    with served.factory() as session:
        office = session.scalars(select(Office).filter_by(code=OWN)).one()
        form = {
            "address": "ถนนอุตรกิจ",
            "phone": "0 7561 1234",
            "people": [{"role": "director", "name": "ผู้อำนวยการ ทดสอบ", "position": ""}],
        }
        moved = (round(before[0] + 0.02, 6), round(before[1] + 0.02, 6))
        rev = profile_svc.save_draft(
            session, served.who(session, "own_editor"), office, form, moved, None
        )
        rev = profile_svc.submit(session, served.who(session, "own_director"), office, rev.version)
        rev = profile_svc.review(
            session, served.who(session, "reviewer"), rev, "approve", "", rev.version
        )
        session.commit()
    page.wait_for_function(
        f"([code, x]) => Math.abs(({where})(code)[0] - x) < 1e-5",
        arg=[OWN, moved[0]],
        timeout=WAIT_MS,
    )
    with served.factory() as session:
        rev = profile_svc.revision_or_404(session, rev.id)
        profile_svc.review(
            session, served.who(session, "reviewer"), rev, "unapprove", "ผิดที่", rev.version
        )
        session.commit()
    # Back where it was (the page's inline pins are rounded to 4-5 decimals, the API's not).
    page.wait_for_function(
        f"([code, x]) => Math.abs(({where})(code)[0] - x) < 1e-4",
        arg=[OWN, before[0]],
        timeout=WAIT_MS,
    )
    assert abs(page.evaluate(where, OWN)[1] - before[1]) < 1e-4
    assert watched.errors == []


_TIP = """(code) => {
  let found = null;
  PinMap.areaLayers(PinMap.layers.provinces, (l) => {
    if (l.feature.properties.code === code) found = l;
  });
  const c = found && found.getTooltip().getContent();
  return c ? (c.textContent === undefined ? String(c) : c.textContent) : null;
}"""


def _province_offices(served: Served) -> tuple[str, list[str], int]:
    """A province no office of the other tests covers, three offices in it, and how many offices
    cover it (an office counts in every province it covers, as the shading counts it)."""
    with served.factory() as session:
        busy = {
            c.province_code
            for o in session.scalars(select(Office).where(Office.code.in_([OWN, OTHER])))
            for c in o.covered
        }
        offices = session.scalars(select(Office).order_by(Office.code)).all()
        by_province: dict[str, list[str]] = {}
        for o in offices:
            by_province.setdefault(o.office_province_code, []).append(o.code)
        code = next(
            p for p, codes in sorted(by_province.items()) if len(codes) >= 3 and p not in busy
        )
        covering = sum(1 for o in offices if code in {c.province_code for c in o.covered})
        return code, by_province[code][:3], covering


def _share(k: int, n: int) -> str:
    return f"{(k * 10000 // n) / 100:.2f} % ({k} / {n})"


def test_the_area_shading_follows_the_chosen_round(served: Served, watched: Watched) -> None:
    province, (first, sent, late), n = _province_offices(served)
    served.approve(first, 2)
    served.approve(sent, 2, approve=False)  # sent, not approved: the public does not count it
    page = watched.page
    page.set_viewport_size({"width": 1366, "height": 900})
    _open(page, served.url + "/")
    _wait_stream(page)
    page.wait_for_selector(".leaflet-container[data-basemap-ready='1']", timeout=WAIT_MS)
    page.select_option("#f-areas", "province:reported")
    page.wait_for_selector("html[data-areas-shaded='province:reported']", timeout=WAIT_MS)
    name = page.evaluate("(c) => PinMap.config.province_names[c]", province)
    assert page.evaluate(_TIP, province) == f"{name} · {_share(1, n)}"  # the year: round 2's
    heading = page.locator("#legend-areas .legend-heading")
    assert heading.inner_text() == (f"จังหวัด: สัดส่วน สพท. ที่มีรายงานผ่านการอนุมัติ (ปีงบประมาณ {served.fy})")

    page.select_option("#f-round", f"{served.fy}:1")
    page.wait_for_selector("html[data-areas-shaded='province:reported@1']", timeout=WAIT_MS)
    assert page.evaluate(_TIP, province) == f"{name} · {_share(0, n)}"
    round_one = f"ปีงบประมาณ {served.fy} · ระยะที่ 1"
    assert heading.inner_text() == f"จังหวัด: สัดส่วน สพท. ที่มีรายงานผ่านการอนุมัติ ({round_one})"
    assert page.evaluate(
        "() => document.querySelector('#f-colour option[value=progress]').label"
    ) == (f"ความก้าวหน้า {round_one} (รายงานที่อนุมัติแล้ว)")

    page.select_option("#f-round", f"{served.fy}:2")
    page.wait_for_selector("html[data-areas-shaded='province:reported@2']", timeout=WAIT_MS)
    assert page.evaluate(_TIP, province) == f"{name} · {_share(1, n)}"
    assert "รอบ 12 เดือน" in heading.inner_text()
    snap(page, "map_rounds-areas_round2_1366x900.png")
    # The province's tooltip open over the map, the legend scrolled into view.
    page.evaluate(
        """(code) => PinMap.areaLayers(PinMap.layers.provinces, (l) => {
          if (l.feature.properties.code === code) l.openTooltip(l.getCenter());
        })""",
        province,
    )
    page.locator("#legend-areas").scroll_into_view_if_needed()
    snap(page, "map_rounds-areas_legend_tooltip_1366x900.png")

    # Live: an approval in another round leaves the shading; one in the chosen round moves it.
    other_round = served.approve(late, 1)
    page.wait_for_function(
        "(id) => Number(document.documentElement.getAttribute('data-last-change') || 0) >= id",
        arg=other_round,
        timeout=WAIT_MS,
    )
    assert page.evaluate(_TIP, province) == f"{name} · {_share(1, n)}"
    served.approve(late, 2)
    page.wait_for_function(
        f"([code, want]) => ({_TIP})(code) === want",
        arg=[province, f"{name} · {_share(2, n)}"],
        timeout=WAIT_MS,
    )

    # Back to every round: the labels name the year again.
    page.select_option("#f-round", "")
    page.wait_for_selector("html[data-areas-shaded='province:reported']", timeout=WAIT_MS)
    assert heading.inner_text().endswith(f"(ปีงบประมาณ {served.fy})")

    # Bad values: the default view (no round, the year's labels), no 5xx.
    for bad in (f"fy={served.fy}&round=42", "fy=x&round=2", f"fy={served.fy}&round=2.5"):
        r = page.goto(served.url + "/?" + bad)
        assert r is not None and r.status == 200
        page.wait_for_selector("html[data-pins-ready='1']", timeout=WAIT_MS)
        page.select_option("#f-areas", "cluster:approved")
        page.wait_for_selector("html[data-areas-shaded='cluster:approved']", timeout=WAIT_MS)
        assert heading.inner_text().endswith(f"(ปีงบประมาณ {served.fy})")

    # Floored to hundredths: never 100 % before every office has reported.
    percent = "([k, n]) => PinMap.percent(k, n)"
    assert page.evaluate(percent, [2, 3]) == "66.66 %"
    assert page.evaluate(percent, [29, 100]) == "29.00 %"
    assert page.evaluate(percent, [199999, 200000]) == "99.99 %"
    assert page.evaluate(percent, [7, 7]) == "100.00 %"
    assert page.evaluate(percent, [0, 0]) == "0.00 %"

    # A phone: chosen in the drawer, seen on the map once the drawer is closed.
    page.set_viewport_size({"width": 390, "height": 844})
    _open(page, served.url + f"/?fy={served.fy}&round=2")
    page.wait_for_selector(".leaflet-container[data-basemap-ready='1']", timeout=WAIT_MS)
    page.click("#drawer-toggle")
    page.locator("#f-areas").wait_for(state="visible")
    page.select_option("#f-areas", "province:approved")
    page.wait_for_selector("html[data-areas-shaded='province:approved@2']", timeout=WAIT_MS)
    settled(page, "document.getElementById('map-panel').getBoundingClientRect().left")
    snap(page, "map_rounds-areas_drawer_390x844.png")
    page.click("#drawer-close")
    settled(page, "document.getElementById('map-panel').getBoundingClientRect().left")
    snap(page, "map_rounds-areas_round2_390x844.png")
    assert watched.errors == []
