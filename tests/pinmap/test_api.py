"""/api/v1 and /healthz against the real PostGIS test database."""

import gzip
import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from pinmap import create_app
from pinmap.models import Office


def test_offices_is_a_geojson_collection_of_245(client: FlaskClient) -> None:
    r = client.get("/api/v1/offices")
    assert r.status_code == 200
    assert r.mimetype == "application/geo+json"
    fc = r.get_json(force=True)
    assert fc["type"] == "FeatureCollection"
    assert len(fc["features"]) == 245
    f = next(f for f in fc["features"] if f["id"] == "spm-lampang-lamphun")
    assert f["geometry"]["type"] == "Point"
    lon, lat = f["geometry"]["coordinates"]
    assert 97 < lon < 106 and 5 < lat < 21  # lon/lat order
    props = f["properties"]
    for key in (
        "code",
        "kind",
        "name_th",
        "name_en",
        "province_th",
        "cluster_no",
        "location_precision",
    ):
        assert key in props
    assert props["provinces_th"] == ["ลำปาง", "ลำพูน"]
    assert props["kind"] == "secondary"


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("cluster=13", 21),
        ("kind=secondary", 62),
        ("kind=primary&cluster=1", 9),
        ("province=50", 7),
        ("q=เชียงใหม่", 7),
        ("q=SPP-CHIANGMAI", 6),
        ("q=zzz", 0),
    ],
)
def test_office_filters(client: FlaskClient, query: str, count: int) -> None:
    fc = client.get(f"/api/v1/offices?{query}").get_json(force=True)
    assert len(fc["features"]) == count


def test_office_detail_and_unknown_code(client: FlaskClient) -> None:
    r = client.get("/api/v1/offices/spp-chiangmai-2")
    assert r.status_code == 200
    p = r.get_json(force=True)["properties"]
    assert p["name_th"] == "สพป.เชียงใหม่ เขต 2"
    assert p["cluster_no"] == 15 and p["cluster_name_en"].startswith("Inspection Region 15")
    r = client.get("/api/v1/offices/nope", headers={"Accept-Language": "en"})
    assert r.status_code == 404
    assert r.get_json() == {"status": 404, "message": "No office with code nope."}
    r = client.get("/api/v1/offices/nope", headers={"Accept-Language": "th-TH,th;q=0.9"})
    assert r.get_json()["message"] == "ไม่พบ สพท. รหัส nope"


@pytest.mark.parametrize(
    ("query", "field"),
    [("kind=tertiary", "kind"), ("cluster=abc", "cluster"), ("province=Bangkok", "province")],
)
def test_bad_query_is_400_json_naming_the_parameter(
    client: FlaskClient, query: str, field: str
) -> None:
    r = client.get(f"/api/v1/offices?{query}", headers={"Accept-Language": "th"})
    assert r.status_code == 400
    body = r.get_json()
    assert body["message"] == f"พารามิเตอร์ไม่ถูกต้อง: {field}"
    assert field in body["errors"]["query"]


def test_validation_details_are_in_the_readers_language(client: FlaskClient) -> None:
    th = client.get("/api/v1/offices?kind=tertiary", headers={"Accept-Language": "th"})
    assert th.get_json()["errors"]["query"]["kind"] == ["ต้องเป็นค่าใดค่าหนึ่งต่อไปนี้: primary, secondary"]
    en = client.get("/api/v1/offices?kind=tertiary", headers={"Accept-Language": "en"})
    assert en.get_json()["errors"]["query"]["kind"] == ["Must be one of: primary, secondary."]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-GB,th;q=0.5", "en"),
        ("th-TH,en;q=0.8", "th"),
        ("en-US", "en"),
        ("fr-FR", "th"),
        ("", "th"),
    ],
)
def test_api_language_follows_preference_order_by_language(
    client: FlaskClient, header: str, expected: str
) -> None:
    r = client.get("/api/v1/offices/nope", headers={"Accept-Language": header})
    message = r.get_json()["message"]
    assert message == ("No office with code nope." if expected == "en" else "ไม่พบ สพท. รหัส nope")


def test_unknown_api_route_is_json(client: FlaskClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.is_json


def test_clusters_cover_all_offices(client: FlaskClient) -> None:
    clusters = client.get("/api/v1/clusters").get_json()
    assert len(clusters) == 18
    codes = [c for cl in clusters for c in cl["office_codes"]]
    assert len(codes) == len(set(codes)) == 245
    assert sum(len(c["province_codes"]) for c in clusters) == 77


def test_cluster_regions_fall_back_to_the_basemap(client: FlaskClient) -> None:
    # No boundaries imported: the embedded basemap's provinces (issue 13), no longer pin hulls.
    fc = client.get("/api/v1/clusters/regions").get_json(force=True)
    assert len(fc["features"]) == 18
    assert {f["properties"]["basis"] for f in fc["features"]} == {"basemap"}


def test_policy_items_2567(client: FlaskClient) -> None:
    cat = client.get("/api/v1/policy-items?fiscal_year=2567").get_json()
    assert len(cat["dimensions"]) == 4
    assert sum(i["kind"] == "policy" for i in cat["items"]) == 10
    assert sum(i["kind"] == "quick_win" for i in cat["items"]) == 11
    assert client.get("/api/v1/policy-items?fiscal_year=1999").status_code == 400


def test_etag_and_304_with_and_without_gzip(client: FlaskClient) -> None:
    plain = client.get("/api/v1/offices")
    etag = plain.headers["ETag"]
    assert client.get("/api/v1/offices", headers={"If-None-Match": etag}).status_code == 304
    zipped = client.get("/api/v1/offices", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.data)) == plain.get_json(force=True)
    assert len(zipped.data) < len(plain.data) / 4
    again = client.get(
        "/api/v1/offices",
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]},
    )
    assert again.status_code == 304


def test_etag_changes_when_data_changes(client: FlaskClient, session: Session) -> None:
    before = client.get("/api/v1/offices").headers["ETag"]
    office = session.query(Office).filter_by(code="spp-krabi").one()
    office.name_en = "Krabi PESAO"
    session.commit()
    assert client.get("/api/v1/offices").headers["ETag"] != before


def test_healthz_ok(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok", "db": "ok"}


def test_healthz_503_when_database_is_down() -> None:
    from pinmap.db import make_engine, make_session_factory

    # Nothing listens on port 1: the same failure as a stopped database.
    factory = make_session_factory(
        make_engine(
            "postgresql+psycopg://x:y@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
        )
    )
    app = create_app({"TESTING": True}, session_factory=factory)
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["db"] == "unreachable"


def test_a_database_outage_is_503_with_retry_after_not_500() -> None:
    from pinmap.db import make_engine, make_session_factory

    factory = make_session_factory(
        make_engine(
            "postgresql+psycopg://x:y@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
        )
    )
    client = create_app({"TESTING": True}, session_factory=factory).test_client()
    api = client.get("/api/v1/offices/spp-krabi", headers={"Accept-Language": "th"})
    assert api.status_code == 503 and api.headers["Retry-After"] == "5"
    assert api.get_json()["message"] == "ฐานข้อมูลไม่พร้อมใช้งานในขณะนี้ โปรดลองใหม่อีกครั้ง"
    page = client.get("/offices/spp-krabi")
    assert page.status_code == 503 and "<html" in page.get_data(as_text=True)


def test_openapi_document_lists_the_routes(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/offices", "/api/v1/offices/{code}", "/api/v1/clusters", "/healthz"):
        assert path in spec["paths"], path
    params = {p["name"] for p in spec["paths"]["/api/v1/offices"]["get"]["parameters"]}
    assert {"cluster", "province", "kind", "q"} <= params


def test_openapi_marks_the_operations_that_need_a_token(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    ops = {
        (path, method): op
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict)
    }
    secured = {key for key, op in ops.items() if op.get("security")}
    assert ("/api/v1/offices", "get") not in secured
    assert any(path.endswith("/submit") for path, _m in secured)
    assert any("/review/" in path for path, _m in secured)
