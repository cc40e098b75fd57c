"""Public HTML pages: Thai first, escaped user text, no external asset URLs."""

import os
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from pinmap.models import Office
from pinmap.public.mapview import MAP_BUNDLE, MAP_BUNDLE_CSS, MAP_BUNDLE_SOURCES

EXTERNAL = re.compile(r"""(?:src|href)=["'](?:https?:)?//""")


def test_map_page_is_thai_and_uses_only_local_assets(app: Flask, client: FlaskClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert '<html lang="th">' in html
    assert "ระบบปักหมุดสารสนเทศงานติดตามและประเมินผล สพฐ." in html
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "cdn" not in html.lower()
    bundle = Path(app.static_folder or "") / MAP_BUNDLE
    if f"/static/{MAP_BUNDLE}?v=" in html:
        # One minified script (make install builds it) in place of the separate ones.
        code = bundle.read_text(encoding="utf-8")
        for part in ("leafletjs.com", "MarkerClusterGroup", "topojson", "PinBasemap", "PinMap"):
            assert part in code
        assert f"/static/{MAP_BUNDLE_CSS}" in html
        assert "/static/vendor/leaflet/leaflet.js" not in html
    else:
        assets = (
            "vendor/leaflet/leaflet.js",
            "vendor/leaflet.markercluster/leaflet.markercluster.js",
        )
        for asset in (*assets, "js/pinmap.js"):
            assert f"/static/{asset}" in html
    assert "jquery" not in html  # folium's popups need it; this map builds its own
    # The map page draws Thai in the system's fonts (the webfont outweighed the map's data);
    # the other pages still take the webfont from our own copy.
    assert "sarabun" not in html.lower()
    office = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert "/static/vendor/sarabun/sarabun.css" in office
    assert not EXTERNAL.search(office)


def test_map_page_takes_its_scripts_apart_when_a_source_is_newer_than_the_bundle(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    static = tmp_path / "static"
    for name in (MAP_BUNDLE, MAP_BUNDLE_CSS, *MAP_BUNDLE_SOURCES):
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_text("/* */\n")
    app.static_folder = str(static)
    sources = [static / name for name in MAP_BUNDLE_SOURCES]
    for path in sources:
        os.utime(path, (1_000_000, 1_000_000))
    assert f"/static/{MAP_BUNDLE}?v=" in client.get("/").get_data(as_text=True)
    os.utime(sources[1], None)  # pinmap.js edited after the bundle was built
    html = client.get("/").get_data(as_text=True)
    assert MAP_BUNDLE not in html and MAP_BUNDLE_CSS not in html
    for asset in (
        "vendor/leaflet/leaflet.js",
        "vendor/leaflet.markercluster/leaflet.markercluster.js",
        "vendor/leaflet.markercluster/MarkerCluster.css",
        "vendor/leaflet/leaflet.css",
        "js/basemap.js",
        "js/pinmap.js",
        "js/map-filters.js",
    ):
        assert f"/static/{asset}" in html


def test_map_page_carries_its_offices_and_fetches_no_outlines_up_front(
    client: FlaskClient,
) -> None:
    html = client.get("/").get_data(as_text=True)
    assert '"offices":{"code":["sp' in html
    assert 'rel="preload" href="/api/v1/offices"' not in html


def test_english_switch_sets_a_cookie(client: FlaskClient) -> None:
    r = client.get("/lang/en?next=/offices/spp-krabi")
    assert r.status_code == 302 and r.headers["Location"] == "/offices/spp-krabi"
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert '<html lang="en">' in html and "Approximate location" in html
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"


def test_map_popups_name_clusters_in_the_page_language(client: FlaskClient) -> None:
    assert "เขตตรวจราชการที่ 2 (กลุ่มจังหวัดภาคกลางตอนบน 2)" in client.get("/").get_data(as_text=True)
    client.get("/lang/en?next=/")
    html = client.get("/").get_data(as_text=True)
    assert "Inspection Region 2 (Upper Central 2)" in html
    assert "เขตตรวจราชการที่ 2 (กลุ่มจังหวัดภาคกลางตอนบน 2)" not in html


def test_office_page_shows_basic_profile(client: FlaskClient) -> None:
    html = client.get("/offices/spp-nakhonpathom-1").get_data(as_text=True)
    assert "สพป.นครปฐม เขต 1" in html
    assert "ที่ตั้งอาคารสำนักงาน" in html  # precision: the building itself
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert "ตำแหน่งโดยประมาณ" in html  # amphoe centroid, not the building
    assert not EXTERNAL.search(html)


def test_office_page_shows_buddhist_era_date(client: FlaskClient) -> None:
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert re.search(r"\d{1,2} [ก-๙.]+ 25[6-9]\d", html)


def test_unknown_office_page_is_404_in_thai(client: FlaskClient) -> None:
    r = client.get("/offices/nope")
    assert r.status_code == 404
    assert "ไม่พบ สพท. รหัส nope" in r.get_data(as_text=True)


PAYLOAD = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.mark.parametrize("url", ["/offices/spp-krabi", "/offices", "/"])
def test_user_text_is_escaped_in_pages(client: FlaskClient, session: Session, url: str) -> None:
    office = session.query(Office).filter_by(code="spp-krabi").one()
    office.name_th = PAYLOAD
    office.location_note = PAYLOAD
    session.commit()
    html = client.get(url).get_data(as_text=True)
    assert "<script>alert(2)" not in html
    assert '<img src=x onerror="alert(1)">' not in html


def test_all_offices_listing(client: FlaskClient) -> None:
    html = client.get("/offices").get_data(as_text=True)
    assert html.count('href="/offices/sp') == 245


def test_office_page_lists_quarterly_reports_and_labels_demo_data(
    client: FlaskClient, session: Session
) -> None:
    from pinmap.models import IngestSource
    from pinmap.services.projects import ingest_quarterly

    source = IngestSource(
        name="demo-quarterly",
        kind="quarterly-json",
        url="http://127.0.0.1/q",
        interval_seconds=3600,
        options={"demo": True},
        pre_approved=True,  # public at once, as the retired quarterly_reports rows were
    )
    session.add(source)
    session.flush()
    office = session.query(Office).filter_by(code="spp-krabi").one()
    ingest_quarterly(
        session,
        source,
        office,
        2567,
        2,
        "โครงการ <b>ทดสอบ</b>",
        {"target_progress": "ร้อยละ 60"},
        budget_planned=1000,
        budget_disbursed=550,
    )
    session.commit()
    html = client.get("/offices/spp-krabi").get_data(as_text=True)
    assert "โครงการ &lt;b&gt;ทดสอบ&lt;/b&gt;" in html
    assert "ร้อยละ 60" in html and "550" in html
    assert "ข้อมูลสาธิต" in html  # generated data is labelled as such
